//! The closed, stable set of machine-readable verdict and warning codes.
//!
//! Codes are kebab-case and never change meaning; tables, JSON reports and JUnit output key on
//! them. The stage (`preflight` / `actual`) is carried separately by [`super::Stage`]; the one
//! exception is [`ACTUAL_ACAO_MISSING`], kept distinct because "error response without CORS
//! headers" is its own incident class.

/// Nothing failed.
pub const OK: &str = "ok";
/// No response was available to judge (no preflight when one was needed and no actual response).
pub const NOT_JUDGED: &str = "not-judged";
/// Connection-level failure: DNS, refused, TLS, timeout, malformed response.
pub const NETWORK_ERROR: &str = "network-error";
/// The preflight was answered with a redirect (301/302/303/307/308 with `Location`).
pub const PREFLIGHT_REDIRECT: &str = "preflight-redirect";
/// The preflight response has no `Access-Control-Allow-Origin`.
pub const ACAO_MISSING: &str = "acao-missing";
/// The actual response has no `Access-Control-Allow-Origin` (typically an error or redirect
/// answered by a layer that adds CORS headers only on success).
pub const ACTUAL_ACAO_MISSING: &str = "actual-acao-missing";
/// `Access-Control-Allow-Origin` carries more than one value (several lines or a list).
pub const ACAO_MULTIPLE: &str = "acao-multiple";
/// `Access-Control-Allow-Origin` is neither `*`, `null` nor a parseable origin.
pub const ACAO_INVALID: &str = "acao-invalid";
/// `Access-Control-Allow-Origin: *` on a request with credentials mode `include`.
pub const ACAO_WILDCARD_CREDENTIALS: &str = "acao-wildcard-credentials";
/// `Access-Control-Allow-Origin` is a single value that differs from the page origin.
pub const ACAO_MISMATCH: &str = "acao-mismatch";
/// Credentials included and `Access-Control-Allow-Credentials` is not exactly `true`.
pub const ACAC_NOT_TRUE: &str = "acac-not-true";
/// The preflight passed the origin check but its status is not 200-299.
pub const PREFLIGHT_NOT_OK: &str = "preflight-not-ok";
/// `Access-Control-Allow-Methods` holds an item that is not an HTTP token.
pub const ALLOW_METHODS_UNPARSABLE: &str = "allow-methods-unparsable";
/// `Access-Control-Allow-Headers` holds an item that is not an HTTP token.
pub const ALLOW_HEADERS_UNPARSABLE: &str = "allow-headers-unparsable";
/// The request method is not listed in `Access-Control-Allow-Methods`.
pub const METHOD_NOT_ALLOWED: &str = "method-not-allowed";
/// A request header is not listed in `Access-Control-Allow-Headers`.
pub const HEADER_NOT_ALLOWED: &str = "header-not-allowed";

/// Every verdict code, in the order the algorithm can reach them.
pub const CODES: &[&str] = &[
    OK,
    NOT_JUDGED,
    NETWORK_ERROR,
    PREFLIGHT_REDIRECT,
    ACAO_MISSING,
    ACTUAL_ACAO_MISSING,
    ACAO_MULTIPLE,
    ACAO_INVALID,
    ACAO_WILDCARD_CREDENTIALS,
    ACAO_MISMATCH,
    ACAC_NOT_TRUE,
    PREFLIGHT_NOT_OK,
    ALLOW_METHODS_UNPARSABLE,
    ALLOW_HEADERS_UNPARSABLE,
    METHOD_NOT_ALLOWED,
    HEADER_NOT_ALLOWED,
];

/// `Access-Control-Allow-Origin` names a specific origin but `Vary` lacks `Origin`.
pub const W_MISSING_VARY_ORIGIN: &str = "missing-vary-origin";
/// `Authorization` is allowed only by `Access-Control-Allow-Headers: *`: both browsers accept
/// it today, the Fetch standard does not, so it will break when they follow the standard.
pub const W_AUTHORIZATION_WILDCARD: &str = "authorization-wildcard";
/// Firefox accepts what Chrome rejects.
pub const W_WORKS_IN_FIREFOX_NOT_CHROME: &str = "works-in-firefox-not-chrome";
/// Chrome accepts what Firefox rejects.
pub const W_WORKS_IN_CHROME_NOT_FIREFOX: &str = "works-in-chrome-not-firefox";
/// `Access-Control-Max-Age` above a browser's cap (Chromium 7200 s, Firefox 86400 s).
pub const W_MAX_AGE_CAPPED: &str = "max-age-capped";
/// `Access-Control-Allow-Origin: *` together with `Access-Control-Allow-Credentials: true`:
/// harmless without credentials, fatal as soon as the page includes them.
pub const W_WILDCARD_WITH_CREDENTIALS_HEADER: &str = "wildcard-with-credentials-header";
/// The actual response is a redirect the browser would follow; only this hop was judged.
pub const W_ACTUAL_REDIRECT: &str = "actual-redirect";
/// A preflight was needed but none was given (cached in the browser, or not probed); only the
/// actual response was judged.
pub const W_PREFLIGHT_NOT_JUDGED: &str = "preflight-not-judged";

/// corstop's own limit or resource stopped the probe; the server is not blamed.
pub const W_NOT_JUDGED_LOCALLY: &str = "not-judged-locally";

/// Every warning code.
pub const WARNING_CODES: &[&str] = &[
    W_NOT_JUDGED_LOCALLY,
    W_MISSING_VARY_ORIGIN,
    W_AUTHORIZATION_WILDCARD,
    W_WORKS_IN_FIREFOX_NOT_CHROME,
    W_WORKS_IN_CHROME_NOT_FIREFOX,
    W_MAX_AGE_CAPPED,
    W_WILDCARD_WITH_CREDENTIALS_HEADER,
    W_ACTUAL_REDIRECT,
    W_PREFLIGHT_NOT_JUDGED,
];

/// One-line description of a verdict or warning code, for help screens and reports.
pub fn describe(code: &str) -> Option<&'static str> {
    Some(match code {
        OK => "the browser lets the page read the response",
        NOT_JUDGED => "no response to judge",
        NETWORK_ERROR => "no HTTP response at all (DNS, refused, TLS, timeout)",
        PREFLIGHT_REDIRECT => "the preflight was redirected; browsers never follow that",
        ACAO_MISSING => "the preflight response lacks Access-Control-Allow-Origin",
        ACTUAL_ACAO_MISSING => "the response lacks Access-Control-Allow-Origin",
        ACAO_MULTIPLE => "Access-Control-Allow-Origin has more than one value",
        ACAO_INVALID => "Access-Control-Allow-Origin is not a valid origin",
        ACAO_WILDCARD_CREDENTIALS => "Access-Control-Allow-Origin is * but credentials are sent",
        ACAO_MISMATCH => "Access-Control-Allow-Origin names another origin",
        ACAC_NOT_TRUE => "Access-Control-Allow-Credentials is not exactly 'true'",
        PREFLIGHT_NOT_OK => "the preflight status is not 2xx",
        ALLOW_METHODS_UNPARSABLE => "Access-Control-Allow-Methods does not parse",
        ALLOW_HEADERS_UNPARSABLE => "Access-Control-Allow-Headers does not parse",
        METHOD_NOT_ALLOWED => "the method is missing from Access-Control-Allow-Methods",
        HEADER_NOT_ALLOWED => "a request header is missing from Access-Control-Allow-Headers",
        W_AUTHORIZATION_WILDCARD => {
            "Authorization allowed only by Allow-Headers *, which the standard excludes"
        }
        W_NOT_JUDGED_LOCALLY => "corstop's own limit or resources stopped the probe",
        W_MISSING_VARY_ORIGIN => "origin-specific Access-Control-Allow-Origin without Vary: Origin",
        W_WORKS_IN_FIREFOX_NOT_CHROME => "Firefox accepts this, Chrome does not",
        W_WORKS_IN_CHROME_NOT_FIREFOX => "Chrome accepts this, Firefox does not",
        W_MAX_AGE_CAPPED => "Access-Control-Max-Age is above a browser cap",
        W_WILDCARD_WITH_CREDENTIALS_HEADER => {
            "Allow-Origin * with Allow-Credentials true fails once credentials are sent"
        }
        W_ACTUAL_REDIRECT => "the response redirects; the next hop was not judged",
        W_PREFLIGHT_NOT_JUDGED => "a preflight was needed but none was judged",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case_and_described() {
        let mut all: Vec<&str> = CODES.iter().chain(WARNING_CODES).copied().collect();
        for c in &all {
            assert!(
                c.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{c}"
            );
            assert!(describe(c).is_some(), "{c} has no description");
        }
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n, "duplicate code");
        assert_eq!(describe("no-such-code"), None);
    }
}
