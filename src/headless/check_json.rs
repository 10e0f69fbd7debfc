//! `corstop check --format json`: one object per check, with the exchange as sent (redacted)
//! and as received.

use serde::Serialize;

use crate::cors::{RawRequest, RawResponse};
use crate::sources::event::ProbeResult;
use crate::sources::probe::security::{self, Severity};

#[derive(Serialize)]
struct JsonWarning<'a> {
    code: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonTransport<'a> {
    kind: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonCheck<'a> {
    url: &'a str,
    origin: &'a str,
    shape: &'a str,
    method: &'a str,
    credentials: &'a str,
    critical: bool,
    preflight_sent: bool,
    actual_sent: bool,
    allowed: bool,
    stage: &'a str,
    code: &'a str,
    chrome_message: Option<&'a str>,
    firefox_message: Option<&'a str>,
    preflight_status: Option<u16>,
    actual_status: Option<u16>,
    hidden_status: Option<u16>,
    www_authenticate: Option<&'a str>,
    hypothesis: Option<&'a str>,
    hypothesis_title: Option<&'a str>,
    severity: Option<&'a str>,
    warnings: Vec<JsonWarning<'a>>,
    request_headers: Vec<[&'a str; 2]>,
    response_headers: Vec<[&'a str; 2]>,
    actual_request_headers: Vec<[&'a str; 2]>,
    actual_response_headers: Vec<[&'a str; 2]>,
    instance: Option<&'a str>,
    transport_error: Option<JsonTransport<'a>>,
    max_age: Option<u32>,
    max_age_firefox: Option<u32>,
    elapsed_ms: Option<u32>,
    /// Each followed redirect of the actual request, in order.
    redirects: Vec<JsonHop<'a>>,
}

#[derive(Serialize)]
struct JsonHop<'a> {
    url: &'a str,
    origin: &'a str,
    method: &'a str,
    preflight_status: Option<u16>,
    status: Option<u16>,
    preflight_request_headers: Vec<[&'a str; 2]>,
    preflight_response_headers: Vec<[&'a str; 2]>,
    request_headers: Vec<[&'a str; 2]>,
    response_headers: Vec<[&'a str; 2]>,
}

fn pairs(h: &[(String, String)]) -> Vec<[&str; 2]> {
    h.iter().map(|(n, v)| [n.as_str(), v.as_str()]).collect()
}

fn req_pairs(r: Option<&RawRequest>) -> Vec<[&str; 2]> {
    r.map(|r| pairs(&r.headers)).unwrap_or_default()
}

fn resp_pairs(r: Option<&RawResponse>) -> Vec<[&str; 2]> {
    r.map(|r| pairs(&r.headers)).unwrap_or_default()
}

/// JSON array, one object per check. `request_headers` / `response_headers` are the preflight
/// exchange (or the actual one when no preflight was sent), as sent (redacted) and as received
/// (in order, duplicates kept).
pub fn render_json(results: &[ProbeResult]) -> anyhow::Result<String> {
    let checks: Vec<JsonCheck<'_>> = results
        .iter()
        .map(|r| {
            let v = &r.verdict;
            let (req, resp) = if r.preflight_request.is_some() {
                (r.preflight_request.as_ref(), r.preflight.as_ref())
            } else {
                (r.actual_request.as_ref(), r.actual.as_ref())
            };
            let severity = if is_security(r) {
                Some(security::severity_of(r).unwrap_or(Severity::Info).as_str())
            } else {
                None
            };
            JsonCheck {
                url: &r.url,
                origin: &r.origin,
                shape: &r.shape.name,
                method: &r.shape.method,
                credentials: r.shape.credentials.as_str(),
                critical: r.critical,
                preflight_sent: r.preflight_request.is_some(),
                actual_sent: r.actual_request.is_some(),
                allowed: v.allowed,
                stage: v.stage.as_str(),
                code: v.code,
                chrome_message: v.chrome_message.as_deref(),
                firefox_message: v.firefox_message.as_deref(),
                preflight_status: r.preflight.as_ref().map(|p| p.status),
                actual_status: r.actual.as_ref().map(|a| a.status),
                hidden_status: v.hidden_status,
                www_authenticate: v.www_authenticate.as_deref(),
                hypothesis: v.hypothesis.map(crate::model::hypothesis::Hypothesis::id),
                hypothesis_title: v
                    .hypothesis
                    .map(crate::model::hypothesis::Hypothesis::title),
                severity,
                warnings: v
                    .warnings
                    .iter()
                    .map(|w| JsonWarning {
                        code: w.code,
                        message: &w.message,
                    })
                    .collect(),
                request_headers: req_pairs(req),
                response_headers: resp_pairs(resp),
                actual_request_headers: if r.preflight_request.is_some() {
                    req_pairs(r.actual_request.as_ref())
                } else {
                    Vec::new()
                },
                actual_response_headers: if r.preflight_request.is_some() {
                    resp_pairs(r.actual.as_ref())
                } else {
                    Vec::new()
                },
                instance: r.instance.as_deref(),
                transport_error: r.transport.as_ref().map(|t| JsonTransport {
                    kind: t.kind.as_str(),
                    message: &t.message,
                }),
                max_age: v.max_age_chrome,
                max_age_firefox: v.max_age_firefox,
                elapsed_ms: resp.map(|r| r.elapsed_ms),
                redirects: r
                    .redirects
                    .iter()
                    .map(|h| JsonHop {
                        url: &h.url,
                        origin: &h.origin,
                        method: &h.method,
                        preflight_status: h.preflight.as_ref().map(|p| p.status),
                        status: h.response.as_ref().map(|p| p.status),
                        preflight_request_headers: req_pairs(h.preflight_request.as_ref()),
                        preflight_response_headers: resp_pairs(h.preflight.as_ref()),
                        request_headers: req_pairs(h.request.as_ref()),
                        response_headers: resp_pairs(h.response.as_ref()),
                    })
                    .collect(),
            }
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&checks)?;
    s.push('\n');
    Ok(s)
}

/// Security probes are named `security:...`; their findings carry a severity.
pub(super) fn is_security(r: &ProbeResult) -> bool {
    r.shape.name.starts_with("security:")
}
