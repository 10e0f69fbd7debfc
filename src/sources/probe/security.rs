//! Origin-trust probes: does the API hand its CORS permission to origins it should not trust?
//!
//! The candidates are the ones CORS scanners send (reflection, `null`, prefix and suffix
//! lookalikes, scheme downgrade, subdomains, unescaped dots, special characters). Each is sent
//! as a plain credentialed `GET` with that `Origin`, like a page on the attacker's origin would,
//! and the answer is judged by the browser verdict and rated here.

use serde::Serialize;

use crate::cors::{self, Credentials, RawResponse, RequestShape, Warning};
use crate::sources::event::ProbeResult;

/// Which trust mistake a candidate origin tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecurityKind {
    /// Any origin at all is echoed back.
    Arbitrary,
    /// `null` (sandboxed iframes, `data:` and `file:` pages) is trusted.
    NullOrigin,
    /// `https://app.contoso.com.evil.example`: a "starts with" check.
    Prefix,
    /// `https://evilapp.contoso.com`: an "ends with" check.
    Suffix,
    /// `http://` variant of an `https://` origin: a network attacker can inject scripts there.
    HttpScheme,
    /// Any subdomain is trusted: a takeover or XSS on one subdomain reaches the API.
    Subdomain,
    /// A regex with an unescaped `.` (`app-contoso.com`).
    UnescapedDot,
    /// Characters some parsers stop at (`app.contoso.com_.evil.example`).
    SpecialChar,
}

impl SecurityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityKind::Arbitrary => "arbitrary",
            SecurityKind::NullOrigin => "null",
            SecurityKind::Prefix => "prefix",
            SecurityKind::Suffix => "suffix",
            SecurityKind::HttpScheme => "http-scheme",
            SecurityKind::Subdomain => "subdomain",
            SecurityKind::UnescapedDot => "unescaped-dot",
            SecurityKind::SpecialChar => "special-char",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
    /// The warning code a finding of this severity carries on its probe result.
    pub fn warning_code(self) -> &'static str {
        match self {
            Severity::Info => "security-info",
            Severity::Low => "security-low",
            Severity::Medium => "security-medium",
            Severity::High => "security-high",
            Severity::Critical => "security-critical",
        }
    }
}

/// One candidate origin to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityCandidate {
    pub kind: SecurityKind,
    pub origin: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SecurityFinding {
    pub origin_sent: String,
    pub kind: SecurityKind,
    pub severity: Severity,
    /// The response's `Access-Control-Allow-Origin` equals the origin sent.
    pub reflected: bool,
    /// `Access-Control-Allow-Credentials: true` came with it.
    pub credentials: bool,
    pub vary_origin: bool,
    pub message: String,
}

/// The origin that stands for "anyone" in the arbitrary-origin probe.
pub const ARBITRARY_ORIGIN: &str = "https://corstop-probe.example";

/// Splits a serialized origin into scheme, host and `:port` suffix (empty when absent).
fn split_origin(origin: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = origin.split_once("://")?;
    if rest.is_empty() {
        return None;
    }
    // IPv6 literals keep their brackets; the port follows the closing bracket.
    let (host, port) = if rest.starts_with('[') {
        let end = rest.find(']')? + 1;
        (&rest[..end], &rest[end..])
    } else {
        match rest.rfind(':') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        }
    };
    Some((scheme, host, port))
}

/// The lookalike origins for one trusted origin. `nonce` labels the random subdomain so
/// repeated rounds do not hit a cached answer.
pub fn candidates(origin: &str, nonce: &str) -> Vec<SecurityCandidate> {
    let mut out = vec![
        SecurityCandidate {
            kind: SecurityKind::Arbitrary,
            origin: ARBITRARY_ORIGIN.to_string(),
        },
        SecurityCandidate {
            kind: SecurityKind::NullOrigin,
            origin: "null".to_string(),
        },
    ];
    let Some((scheme, host, port)) = split_origin(origin) else {
        return out;
    };
    let mut push = |kind, o: String| {
        if o != origin && !out.iter().any(|c| c.origin == o) {
            out.push(SecurityCandidate { kind, origin: o });
        }
    };
    push(
        SecurityKind::Prefix,
        format!("{scheme}://{host}.evil.example{port}"),
    );
    push(SecurityKind::Suffix, format!("{scheme}://evil{host}{port}"));
    if scheme.eq_ignore_ascii_case("https") {
        push(SecurityKind::HttpScheme, format!("http://{host}{port}"));
    }
    push(
        SecurityKind::Subdomain,
        format!("{scheme}://{nonce}.{host}{port}"),
    );
    if let Some(i) = host.find('.') {
        let mut dashed = host.to_string();
        dashed.replace_range(i..i + 1, "-");
        push(
            SecurityKind::UnescapedDot,
            format!("{scheme}://{dashed}{port}"),
        );
    }
    push(
        SecurityKind::SpecialChar,
        format!("{scheme}://{host}_.evil.example{port}"),
    );
    out
}

fn severity_for(kind: SecurityKind, credentials: bool) -> Severity {
    use SecurityKind::*;
    match (kind, credentials) {
        (Arbitrary | NullOrigin | Prefix | Suffix | UnescapedDot | SpecialChar, true) => {
            Severity::Critical
        }
        (HttpScheme, true) => Severity::High,
        (Subdomain, true) => Severity::Medium,
        (Arbitrary | NullOrigin | Prefix | Suffix | UnescapedDot | SpecialChar, false) => {
            Severity::Medium
        }
        (HttpScheme | Subdomain, false) => Severity::Low,
    }
}

fn vary_has_origin(resp: &RawResponse) -> bool {
    resp.all("vary").any(|v| {
        v.split(',')
            .map(str::trim)
            .any(|t| t == "*" || t.eq_ignore_ascii_case("origin"))
    })
}

/// Rates the answer to one candidate. `Info` means nothing to report.
pub fn assess(candidate: &SecurityCandidate, resp: &RawResponse) -> SecurityFinding {
    let acao: Vec<&str> = resp.all("access-control-allow-origin").collect();
    let reflected = acao.iter().any(|v| v.trim() == candidate.origin);
    let credentials = resp
        .all("access-control-allow-credentials")
        .any(|v| v.trim() == "true");
    let vary_origin = vary_has_origin(resp);
    let wildcard = acao.iter().any(|v| v.trim() == "*");
    let (severity, mut message) = if reflected {
        let sev = severity_for(candidate.kind, credentials);
        let msg = if credentials {
            format!(
                "origin '{}' is trusted with credentials: a page there can read responses \
                 with the user's cookies",
                candidate.origin
            )
        } else {
            format!(
                "origin '{}' is trusted (without credentials): a page there can read \
                 responses that need no cookies",
                candidate.origin
            )
        };
        (sev, msg)
    } else if wildcard && credentials {
        (
            Severity::Low,
            "'*' with Access-Control-Allow-Credentials: true: browsers refuse it, but the \
             configuration intends to trust everyone"
                .to_string(),
        )
    } else if wildcard {
        (
            Severity::Info,
            "'*' allows any origin to read uncredentialed responses".to_string(),
        )
    } else {
        (
            Severity::Info,
            format!("origin '{}' is not trusted", candidate.origin),
        )
    };
    let mut severity = severity;
    if reflected && !vary_origin {
        severity = severity.max(Severity::Medium);
        message.push_str(
            "; the reflected header comes without 'Vary: Origin', so a shared cache can \
             serve it to other origins (cache poisoning)",
        );
    }
    SecurityFinding {
        origin_sent: candidate.origin.clone(),
        kind: candidate.kind,
        severity,
        reflected,
        credentials,
        vary_origin,
        message,
    }
}

/// The shape used for security probes: what a page on the candidate origin sends with
/// `fetch(url, {credentials: 'include'})`.
pub fn security_shape(kind: SecurityKind) -> RequestShape {
    RequestShape {
        name: format!("security:{}", kind.as_str()),
        method: "GET".to_string(),
        headers: Vec::new(),
        credentials: Credentials::Include,
    }
}

/// Attaches a finding to the probe result it came from, as a warning the views already show.
pub fn attach(result: &mut ProbeResult, finding: &SecurityFinding) {
    if finding.severity > Severity::Info {
        result.verdict.warnings.push(Warning {
            code: finding.severity.warning_code(),
            message: format!("[{}] {}", finding.kind.as_str(), finding.message),
        });
    }
}

/// Re-reads a finding from a result's warnings (for reports built from stored results).
pub fn severity_of(result: &ProbeResult) -> Option<Severity> {
    result
        .verdict
        .warnings
        .iter()
        .filter_map(|w| match w.code {
            "security-low" => Some(Severity::Low),
            "security-medium" => Some(Severity::Medium),
            "security-high" => Some(Severity::High),
            "security-critical" => Some(Severity::Critical),
            _ => None,
        })
        .max()
}

/// Judges a candidate with the browser verdict too, so the result reads like any other probe.
pub fn judge(url: &str, candidate: &SecurityCandidate, resp: &RawResponse) -> cors::Verdict {
    cors::judge(
        &candidate.origin,
        url,
        &security_shape(candidate.kind),
        None,
        Some(resp),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(headers: &[(&str, &str)]) -> RawResponse {
        RawResponse {
            status: 200,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            elapsed_ms: 1,
        }
    }

    #[test]
    fn candidate_origins() {
        let got: Vec<(SecurityKind, String)> = candidates("https://app.contoso.com", "x7k2")
            .into_iter()
            .map(|c| (c.kind, c.origin))
            .collect();
        let want = [
            (SecurityKind::Arbitrary, "https://corstop-probe.example"),
            (SecurityKind::NullOrigin, "null"),
            (SecurityKind::Prefix, "https://app.contoso.com.evil.example"),
            (SecurityKind::Suffix, "https://evilapp.contoso.com"),
            (SecurityKind::HttpScheme, "http://app.contoso.com"),
            (SecurityKind::Subdomain, "https://x7k2.app.contoso.com"),
            (SecurityKind::UnescapedDot, "https://app-contoso.com"),
            (
                SecurityKind::SpecialChar,
                "https://app.contoso.com_.evil.example",
            ),
        ];
        assert_eq!(got.len(), want.len());
        for ((gk, go), (wk, wo)) in got.iter().zip(want) {
            assert_eq!((*gk, go.as_str()), (wk, wo));
        }

        let local: Vec<String> = candidates("http://localhost:5173", "n")
            .into_iter()
            .map(|c| c.origin)
            .collect();
        assert!(local.contains(&"http://localhost.evil.example:5173".to_string()));
        assert!(local.contains(&"http://n.localhost:5173".to_string()));
        assert!(!local.iter().any(|o| o.starts_with("http://localhost:5173")));
        // Garbage in: still the origin-independent candidates, no panic.
        assert_eq!(candidates("not an origin", "n").len(), 2);
    }

    #[test]
    fn ratings() {
        let c = |kind, origin: &str| SecurityCandidate {
            kind,
            origin: origin.to_string(),
        };
        let arb = c(SecurityKind::Arbitrary, ARBITRARY_ORIGIN);
        type Case<'a> = (
            &'a SecurityCandidate,
            &'a [(&'a str, &'a str)],
            Severity,
            bool,
        );
        let cases: &[Case] = &[
            (
                &arb,
                &[
                    ("access-control-allow-origin", ARBITRARY_ORIGIN),
                    ("access-control-allow-credentials", "true"),
                    ("vary", "Origin"),
                ],
                Severity::Critical,
                true,
            ),
            (
                &arb,
                &[
                    ("access-control-allow-origin", ARBITRARY_ORIGIN),
                    ("vary", "Accept-Encoding, Origin"),
                ],
                Severity::Medium,
                true,
            ),
            (
                &arb,
                &[("access-control-allow-origin", "https://app.contoso.com")],
                Severity::Info,
                false,
            ),
            (&arb, &[], Severity::Info, false),
            (
                &arb,
                &[
                    ("access-control-allow-origin", "*"),
                    ("access-control-allow-credentials", "true"),
                ],
                Severity::Low,
                false,
            ),
        ];
        for (cand, headers, sev, reflected) in cases {
            let f = assess(cand, &resp(headers));
            assert_eq!((f.severity, f.reflected), (*sev, *reflected), "{headers:?}");
        }

        let sub = c(SecurityKind::Subdomain, "https://x.app.contoso.com");
        let f = assess(
            &sub,
            &resp(&[
                ("access-control-allow-origin", "https://x.app.contoso.com"),
                ("access-control-allow-credentials", "true"),
                ("vary", "origin"),
            ]),
        );
        assert_eq!(f.severity, Severity::Medium);
        assert!(f.vary_origin && f.credentials);

        // Reflection without Vary is at least medium and says why.
        let http = c(SecurityKind::HttpScheme, "http://app.contoso.com");
        let f = assess(
            &http,
            &resp(&[("access-control-allow-origin", "http://app.contoso.com")]),
        );
        assert_eq!(f.severity, Severity::Medium);
        assert!(f.message.contains("cache poisoning"));
    }
}
