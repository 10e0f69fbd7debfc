//! Console texts, word for word as Chromium (`cors_error_string.cc`, `fetch` initiator) and
//! Firefox (`security.properties`, the `CORS*` keys) print them.
//!
//! Firefox quotes with U+2018/U+2019, not ASCII apostrophes; that is kept so a message pasted
//! from the console compares equal.

use crate::model::transport::TransportKind;

/// The reasons Chromium can give, each with the value it quotes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChromeReason {
    PreflightRedirect,
    MissingAllowOrigin,
    MultipleAllowOrigin(String),
    InvalidAllowOrigin(String),
    WildcardWithCredentials,
    AllowOriginMismatch(String),
    InvalidAllowCredentials(String),
    PreflightInvalidStatus,
    AllowMethodsUnparsable,
    AllowHeadersUnparsable,
    MethodNotAllowed(String),
    HeaderNotAllowed(String),
}

/// Chromium appends this to origin-value failures, preflight or not. (Older releases went on
/// to suggest `no-cors`; Chromium 156 does not, and neither does it after the missing-header
/// message.)
const HAVE_THE_SERVER_SEND: &str = " Have the server send the header with a valid value.";

impl ChromeReason {
    /// Whether Chromium classifies the error as a preflight error, which adds the "Response to
    /// preflight request doesn't pass access control check: " lead-in. The method, header and
    /// parse failures never get it, even though they come from the preflight.
    fn takes_preflight_lead_in(&self) -> bool {
        !matches!(
            self,
            ChromeReason::AllowMethodsUnparsable
                | ChromeReason::AllowHeadersUnparsable
                | ChromeReason::MethodNotAllowed(_)
                | ChromeReason::HeaderNotAllowed(_)
        )
    }

    fn text(&self) -> String {
        match self {
            ChromeReason::PreflightRedirect => {
                "Redirect is not allowed for a preflight request.".into()
            }
            ChromeReason::MissingAllowOrigin => {
                "No 'Access-Control-Allow-Origin' header is present on the requested resource."
                    .into()
            }
            ChromeReason::MultipleAllowOrigin(v) => format!(
                "The 'Access-Control-Allow-Origin' header contains multiple values '{v}', but only one is allowed.{HAVE_THE_SERVER_SEND}"
            ),
            ChromeReason::InvalidAllowOrigin(v) => format!(
                "The 'Access-Control-Allow-Origin' header contains the invalid value '{v}'.{HAVE_THE_SERVER_SEND}"
            ),
            ChromeReason::WildcardWithCredentials => "The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' when the request's credentials mode is 'include'.".into(),
            ChromeReason::AllowOriginMismatch(v) => format!(
                "The 'Access-Control-Allow-Origin' header has a value '{v}' that is not equal to the supplied origin.{HAVE_THE_SERVER_SEND}"
            ),
            ChromeReason::InvalidAllowCredentials(v) => format!(
                "The value of the 'Access-Control-Allow-Credentials' header in the response is '{v}' which must be 'true' when the request's credentials mode is 'include'."
            ),
            ChromeReason::PreflightInvalidStatus => "It does not have HTTP ok status.".into(),
            ChromeReason::AllowMethodsUnparsable => "Cannot parse Access-Control-Allow-Methods response header field in preflight response.".into(),
            ChromeReason::AllowHeadersUnparsable => "Cannot parse Access-Control-Allow-Headers response header field in preflight response.".into(),
            ChromeReason::MethodNotAllowed(m) => format!(
                "Method {m} is not allowed by Access-Control-Allow-Methods in preflight response."
            ),
            ChromeReason::HeaderNotAllowed(h) => format!(
                "Request header field {h} is not allowed by Access-Control-Allow-Headers in preflight response."
            ),
        }
    }
}

/// The full Chrome console line. `preflight` says whether the failing response was the
/// preflight's (origin-check reasons read differently there). After a followed redirect
/// Chrome names the failing URL, then the one the page fetched, and still the page's origin
/// (not the `null` the hop sent).
pub fn chrome(
    url: &str,
    redirected_from: Option<&str>,
    origin: &str,
    preflight: bool,
    reason: &ChromeReason,
) -> String {
    let lead_in = if preflight && reason.takes_preflight_lead_in() {
        "Response to preflight request doesn't pass access control check: "
    } else {
        ""
    };
    let from = redirected_from
        .map(|first| format!(" (redirected from '{first}')"))
        .unwrap_or_default();
    format!(
        "Access to fetch at '{url}'{from} from origin '{origin}' has been blocked by CORS policy: {lead_in}{}",
        reason.text()
    )
}

/// Chrome's console line for a request that got no HTTP response. Chrome prints the request
/// line with the network error name; the page's promise rejects with
/// `TypeError: Failed to fetch`. Which `net::ERR_*` name appears depends on details a
/// [`TransportKind`] does not keep, so the most common name per kind is used.
pub fn chrome_network_error(method: &str, url: &str, kind: TransportKind) -> String {
    let name = match kind {
        TransportKind::Dns => "net::ERR_NAME_NOT_RESOLVED",
        TransportKind::Refused => "net::ERR_CONNECTION_REFUSED",
        TransportKind::Tls => "net::ERR_SSL_PROTOCOL_ERROR",
        TransportKind::Timeout => "net::ERR_TIMED_OUT",
        TransportKind::Protocol => "net::ERR_INVALID_HTTP_RESPONSE",
        TransportKind::Local | TransportKind::Other => "net::ERR_FAILED",
    };
    format!("{method} {url} {name}")
}

/// The reasons Firefox can give.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FirefoxReason {
    /// No HTTP response (`CORSDidNotSucceed2`).
    DidNotSucceed,
    ExternalRedirectNotAllowed,
    MultipleAllowOrigin,
    MissingAllowOrigin(u16),
    NotSupportingCredentials,
    AllowOriginNotMatching(String),
    MissingAllowCredentials,
    PreflightDidNotSucceed(u16),
    InvalidAllowMethod(String),
    MethodNotFound,
    InvalidAllowHeader(String),
    MissingAllowHeader(String),
}

/// The full Firefox console line.
///
/// When a preflight fails Firefox logs a second line for the request itself ("CORS request
/// did not succeed). Status code: (null)."); only the first, informative one is returned.
pub fn firefox(url: &str, reason: &FirefoxReason) -> String {
    const HEAD: &str = "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at";
    match reason {
        FirefoxReason::DidNotSucceed => {
            format!("{HEAD} {url}. (Reason: CORS request did not succeed). Status code: (null).")
        }
        FirefoxReason::ExternalRedirectNotAllowed => {
            format!("{HEAD} {url}. (Reason: CORS request external redirect not allowed).")
        }
        FirefoxReason::MultipleAllowOrigin => format!(
            "{HEAD} {url}. (Reason: Multiple CORS header \u{2018}Access-Control-Allow-Origin\u{2019} not allowed)."
        ),
        FirefoxReason::MissingAllowOrigin(status) => format!(
            "{HEAD} {url}. (Reason: CORS header \u{2018}Access-Control-Allow-Origin\u{2019} missing). Status code: {status}."
        ),
        // The one Firefox string that quotes the URL.
        FirefoxReason::NotSupportingCredentials => format!(
            "{HEAD} \u{2018}{url}\u{2019}. (Reason: Credential is not supported if the CORS header \u{2018}Access-Control-Allow-Origin\u{2019} is \u{2018}*\u{2019})."
        ),
        FirefoxReason::AllowOriginNotMatching(v) => format!(
            "{HEAD} {url}. (Reason: CORS header \u{2018}Access-Control-Allow-Origin\u{2019} does not match \u{2018}{v}\u{2019})."
        ),
        FirefoxReason::MissingAllowCredentials => format!(
            "{HEAD} {url}. (Reason: expected \u{2018}true\u{2019} in CORS header \u{2018}Access-Control-Allow-Credentials\u{2019})."
        ),
        FirefoxReason::PreflightDidNotSucceed(status) => format!(
            "{HEAD} {url}. (Reason: CORS preflight response did not succeed). Status code: {status}."
        ),
        FirefoxReason::InvalidAllowMethod(t) => format!(
            "{HEAD} {url}. (Reason: invalid token \u{2018}{t}\u{2019} in CORS header \u{2018}Access-Control-Allow-Methods\u{2019})."
        ),
        FirefoxReason::MethodNotFound => format!(
            "{HEAD} {url}. (Reason: Did not find method in CORS header \u{2018}Access-Control-Allow-Methods\u{2019})."
        ),
        FirefoxReason::InvalidAllowHeader(t) => format!(
            "{HEAD} {url}. (Reason: invalid token \u{2018}{t}\u{2019} in CORS header \u{2018}Access-Control-Allow-Headers\u{2019})."
        ),
        FirefoxReason::MissingAllowHeader(h) => format!(
            "{HEAD} {url}. (Reason: header \u{2018}{h}\u{2019} is not allowed according to header \u{2018}Access-Control-Allow-Headers\u{2019} from CORS preflight response)."
        ),
    }
}

/// The URL as a browser serialises it in console messages: scheme and host lowercased, the
/// default port dropped, an empty path written as `/`. Anything that does not look like
/// `scheme://authority...` is returned unchanged.
pub fn display_url(url: &str) -> String {
    let url = url.trim();
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return url.to_string();
    }
    let scheme = scheme.to_ascii_lowercase();
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (&authority[..=i], &authority[i + 1..]),
        None => ("", authority),
    };
    // A port follows the last ':' unless that colon sits inside an IPv6 literal.
    let (host, port) = match hostport.rfind(':') {
        Some(i) if !hostport[i..].contains(']') => (&hostport[..i], Some(&hostport[i + 1..])),
        _ => (hostport, None),
    };
    let default_port = match scheme.as_str() {
        "http" | "ws" => Some("80"),
        "https" | "wss" => Some("443"),
        _ => None,
    };
    let mut out = format!("{scheme}://{userinfo}{}", host.to_ascii_lowercase());
    match port {
        Some(p) if Some(p) == default_port || p.is_empty() => {}
        Some(p) => {
            out.push(':');
            out.push_str(p);
        }
        None => {}
    }
    if !tail.starts_with('/') {
        out.push('/');
    }
    out.push_str(tail);
    out
}

/// The page origin as a browser serialises it for `Origin` and its messages:
/// `scheme://host[:port]`, lowercase, default port dropped, no path or trailing slash. `null`
/// and anything that is not `scheme://...` are returned trimmed but otherwise unchanged.
pub fn serialize_origin(origin: &str) -> String {
    let origin = origin.trim();
    if !origin.contains("://") {
        return origin.to_string();
    }
    let full = display_url(origin);
    let Some((scheme, rest)) = full.split_once("://") else {
        return full;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // Userinfo is never part of an origin.
    let hostport = authority.rsplit('@').next().unwrap_or(authority);
    format!("{scheme}://{hostport}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialize_origin_table() {
        let cases = [
            ("https://app.example.com", "https://app.example.com"),
            ("https://App.Example.com/", "https://app.example.com"),
            (
                "https://app.example.com:443/path?q",
                "https://app.example.com",
            ),
            ("http://localhost:3000", "http://localhost:3000"),
            (" null ", "null"),
            ("app.example.com", "app.example.com"),
        ];
        for (input, want) in cases {
            assert_eq!(serialize_origin(input), want, "{input}");
        }
    }

    #[test]
    fn display_url_table() {
        let cases = [
            ("https://API.Example.com", "https://api.example.com/"),
            ("https://api.example.com:443/x", "https://api.example.com/x"),
            (
                "http://api.example.com:80?q=1",
                "http://api.example.com/?q=1",
            ),
            ("http://127.0.0.1:8080/a/B", "http://127.0.0.1:8080/a/B"),
            ("HTTPS://[::1]:8443/p", "https://[::1]:8443/p"),
            ("https://[::1]/p", "https://[::1]/p"),
            ("not a url", "not a url"),
        ];
        for (input, want) in cases {
            assert_eq!(display_url(input), want, "{input}");
        }
    }
}
