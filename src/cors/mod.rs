//! The browser's CORS algorithm as a pure function: request shape and raw responses in, the
//! verdict a browser would reach (with its console messages) out.

use serde::Serialize;

use crate::model::hypothesis::Hypothesis;

/// The request's credentials mode (`fetch(..., {credentials})`).
///
/// The default is `fetch`'s own: `same-origin`, which sends no cookies or HTTP auth to another
/// origin. A bearer-token SPA (MSAL and the like) calls `fetch` this way, and its API need not
/// answer `Access-Control-Allow-Credentials`; only cookie-based pages ask for `include`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Credentials {
    Include,
    Omit,
    #[default]
    SameOrigin,
}

impl Credentials {
    pub fn as_str(self) -> &'static str {
        match self {
            Credentials::Include => "include",
            Credentials::Omit => "omit",
            Credentials::SameOrigin => "same-origin",
        }
    }
    pub fn parse(s: &str) -> Option<Credentials> {
        match s.trim().to_ascii_lowercase().as_str() {
            "include" => Some(Credentials::Include),
            "omit" => Some(Credentials::Omit),
            "same-origin" => Some(Credentials::SameOrigin),
            _ => None,
        }
    }
    /// What the mode means for a cross-origin request, for people reading a verdict.
    pub fn cross_origin_meaning(self) -> &'static str {
        match self {
            Credentials::Include => "cookies and HTTP auth sent",
            Credentials::Omit | Credentials::SameOrigin => "no cookies sent cross-origin",
        }
    }
}

/// What the page asks `fetch` to send.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct RequestShape {
    /// Short label for tables (`PUT auth+json`).
    pub name: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub credentials: Credentials,
}

impl RequestShape {
    /// What SPAs send most: PUT with a bearer token and a JSON body, in `fetch`'s default
    /// credentials mode.
    pub fn spa_default() -> RequestShape {
        RequestShape {
            name: "PUT auth+json".into(),
            method: "PUT".into(),
            headers: vec![
                ("Authorization".into(), "Bearer <token>".into()),
                ("Content-Type".into(), "application/json".into()),
            ],
            credentials: Credentials::SameOrigin,
        }
    }
}

/// A request as sent on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct RawRequest {
    pub method: String,
    pub url: String,
    /// In the order sent; secret values are redacted before this is stored.
    pub headers: Vec<(String, String)>,
}

/// A response as received: every header line in order, duplicates kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub elapsed_ms: u32,
}

impl RawResponse {
    /// All values of a header (case-insensitive name), in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn first(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Where the browser stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Nothing failed.
    None,
    /// Connection-level failure before any response.
    Transport,
    Preflight,
    Actual,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::None => "none",
            Stage::Transport => "transport",
            Stage::Preflight => "preflight",
            Stage::Actual => "actual",
        }
    }
}

/// Non-fatal findings that still matter to an on-call engineer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub code: &'static str,
    pub message: String,
}

/// The browser's conclusion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub allowed: bool,
    pub stage: Stage,
    /// Stable machine-readable reason (`ok`, `acao-missing`, `preflight-redirect`, ...).
    pub code: &'static str,
    pub chrome_message: Option<String>,
    pub firefox_message: Option<String>,
    pub preflight_needed: bool,
    /// The `Access-Control-Request-Headers` value the browser sends (empty when none).
    pub request_headers: String,
    /// Status the browser hides behind the CORS error.
    pub hidden_status: Option<u16>,
    pub www_authenticate: Option<String>,
    /// Preflight cache lifetime the browsers would apply (Chromium, Firefox), in seconds.
    pub max_age_chrome: Option<u32>,
    pub max_age_firefox: Option<u32>,
    pub warnings: Vec<Warning>,
    pub hypothesis: Option<Hypothesis>,
}

pub mod chromium;
pub mod codes;
pub mod instance;
pub mod messages;
pub mod redirect;
pub mod safelist;
pub mod verdict;
pub use codes::{CODES, WARNING_CODES};
pub use instance::{inconsistent, instance_fingerprint};
pub use verdict::{
    Hop, actual_request, judge, judge_hop, judge_transport_error, preflight_request,
    preflight_request_headers, verdict_key,
};
