//! Placeholder-free minimal verdict: origin check only. The full Chromium algorithm (steps 0-12)
//! replaces this module.

use super::{Credentials, RawResponse, RequestShape, Stage, Verdict};
use crate::event::Hypothesis;

const SAFELISTED_METHODS: [&str; 3] = ["GET", "HEAD", "POST"];

/// The `Access-Control-Request-Headers` list for a shape: unsafe names lowercased, sorted,
/// de-duplicated, comma-joined.
pub fn preflight_request_headers(shape: &RequestShape) -> (bool, String) {
    let mut names: Vec<String> = shape
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .filter(|n| {
            !matches!(
                n.as_str(),
                "accept" | "accept-language" | "content-language"
            )
        })
        .collect();
    names.sort();
    names.dedup();
    let needed = !SAFELISTED_METHODS.contains(&shape.method.as_str()) || !names.is_empty();
    (needed, names.join(","))
}

/// Judges a probe exchange as a browser would.
pub fn judge(
    origin: &str,
    url: &str,
    shape: &RequestShape,
    preflight: Option<&RawResponse>,
    actual: Option<&RawResponse>,
) -> Verdict {
    let (needed, list) = preflight_request_headers(shape);
    let mut v = Verdict {
        allowed: true,
        stage: Stage::None,
        code: "ok",
        chrome_message: None,
        firefox_message: None,
        preflight_needed: needed,
        request_headers: list,
        hidden_status: None,
        www_authenticate: None,
        max_age_chrome: None,
        max_age_firefox: None,
        warnings: Vec::new(),
        hypothesis: None,
    };
    let check = |resp: &RawResponse, stage: Stage, v: &mut Verdict| {
        let acao: Vec<&str> = resp.all("access-control-allow-origin").collect();
        let fail = if acao.is_empty() {
            Some("acao-missing")
        } else if acao.len() > 1 {
            Some("acao-multiple")
        } else if acao[0] != origin
            && !(acao[0] == "*" && shape.credentials != Credentials::Include)
        {
            Some("acao-mismatch")
        } else if stage == Stage::Preflight && !(200..300).contains(&resp.status) {
            Some("preflight-status")
        } else {
            None
        };
        if let Some(code) = fail {
            v.allowed = false;
            v.stage = stage;
            v.code = code;
            v.hidden_status = Some(resp.status);
            v.chrome_message = Some(format!(
                "Access to fetch at '{url}' from origin '{origin}' has been blocked by CORS policy"
            ));
            v.hypothesis = Some(match (code, resp.status) {
                ("acao-multiple", _) => Hypothesis::H4,
                (_, 401 | 403) if stage == Stage::Preflight => Hypothesis::H2,
                _ => Hypothesis::H1,
            });
        }
    };
    if let Some(p) = preflight {
        check(p, Stage::Preflight, &mut v);
    }
    if v.allowed {
        if let Some(a) = actual {
            check(a, Stage::Actual, &mut v);
        }
    }
    v
}
