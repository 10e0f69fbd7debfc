//! Log formats: detection and line parsers. Every parser yields the same typed records
//! through a [`Sink`], borrowing from the line so the replay path does not allocate per line.
//!
//! | name | reads | origin | ACAO |
//! |------|-------|--------|------|
//! | `appservice-http` | `2026-04-04T10:31:02Z OPTIONS /api/orders 401 38` | none | no |
//! | `appservice-auth` | `<time> <operation> <message>`, .NET exception blocks folded into one event | | |
//! | `azure-json` | diagnostic export: `{"records":[...]}` per line or pretty-printed (≤ 4 MB), one record per line, or one top-level array of records (read record by record); `AppServiceHTTPLogs` and `AppServiceAuthenticationLogs` | Referer | no |
//! | `w3c` | IIS / App Service web server logs, `#Fields:` re-read whenever it appears | `cs(Origin)`, else Referer | `sc(Access-Control-Allow-Origin)` |
//! | `kudu` | `az webapp log tail`: `<time>  <text>`; inner W3C / App Service lines, and token-validation signatures in application lines | as inner | as inner |
//! | `combined` | nginx/Apache combined or common, optionally `"$http_origin" "$sent_http_access_control_allow_origin" $request_time` | logged, else Referer | when logged |
//! | `ingress-nginx` | the ingress-nginx default format; instance = first upstream address | Referer | no |
//! | `nginx` | a `log_format` given with `--nginx-format` | `$http_origin`, else `$http_referer` | `$sent_http_access_control_allow_origin` |
//! | `caddy` | Caddy JSON access log | `request.headers.Origin`, else Referer | `resp_headers` (several values = doubled) |
//! | `traefik` | Traefik JSON access log with kept headers | `request_Origin`, else `request_Referer` | `downstream_Access-Control-Allow-Origin` |
//! | `envoy` | Envoy default text format (and Istio's), optional `"%REQ(ORIGIN)%"` and `%RESPONSE_CODE_DETAILS%`; `jwt_authn_access_denied{...}` also gives an auth event | when logged | no |
//! | `json` | JSON lines with a field mapping (dotted paths) | mapped | mapped |
//!
//! Conventions shared by all parsers:
//! - A line is given without its terminator; a trailing `\r` is tolerated.
//! - Only the fields a record uses are decoded; invalid UTF-8 in such a field is a
//!   [`ParseError`], elsewhere (user agents, cookies) it is ignored.
//! - When a format logs the `Origin` request header, a `-` or empty value means "no origin" and
//!   nothing is derived. Only formats without an Origin field fall back to the Referer's origin
//!   (`scheme://host[:port]`), flagged with `origin_derived`, because a same-origin request has
//!   a Referer but no Origin and deriving one there would invent cross-origin traffic.

use crate::sources::event::Sink;

mod appservice;
pub mod auth_signature;
mod azure;
mod clf;
mod common;
mod detect;
mod envoy;
mod generic_json;
mod jsonlog;
mod jsonval;
mod kudu;
mod nginx;
mod w3c;

pub use auth_signature::{classify_auth_message, classify_auth_message_with_status};

/// Why a line could not be parsed. Counted per source; never fatal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct ParseError {
    pub reason: String,
}

impl ParseError {
    pub fn new(reason: impl Into<String>) -> ParseError {
        ParseError {
            reason: reason.into(),
        }
    }
}

/// What one line turned into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fed {
    /// This many records went to the sink.
    Records(u32),
    /// A valid line that carries no event (header, comment, heartbeat, banner).
    Skipped,
    /// Kept for a record that spans lines (pretty-printed JSON, exception blocks).
    Buffered,
}

/// A stateful line parser for one source.
pub trait LogParser: Send {
    /// Stable format name (`appservice-http`, `combined`, ...).
    fn name(&self) -> &'static str;
    /// Parses one line (without its line terminator).
    fn feed(&mut self, line: &[u8], sink: &mut dyn Sink) -> Result<Fed, ParseError>;
    /// Flushes a record still being assembled (end of input, or idle source).
    fn finish(&mut self, sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        let _ = sink;
        Ok(Fed::Skipped)
    }
    /// For a format whose only state across lines is set by header lines (w3c `#Fields:`), how
    /// such a line starts (after an optional byte order mark). A parser fed the last header
    /// line before some point of a file then reads the lines after it exactly as one that read
    /// the file from the top, which lets a reader split the file.
    fn header_prefix(&self) -> Option<&'static [u8]> {
        None
    }
    /// Whether an entry begun on an earlier line is still held, even though the last line
    /// returned records (a format that emits an entry when the next one starts). The live log
    /// uses it to show each record beside the line that began it.
    fn entry_open(&self) -> bool {
        false
    }
}

/// Options that shape parsers (user-supplied nginx `log_format`, generic JSON field mapping).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FormatOptions {
    /// An nginx `log_format` string, e.g. `$remote_addr - $remote_user [$time_local] "$request" ...`.
    pub nginx_format: Option<String>,
    /// Generic JSON lines: which field holds what (dotted paths).
    pub json_fields: Option<JsonFieldMap>,
}

/// Field mapping for generic JSON lines (dotted paths into the object).
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct JsonFieldMap {
    pub time: String,
    pub method: String,
    pub path: String,
    pub status: String,
    pub latency_ms: Option<String>,
    pub host: Option<String>,
    pub origin: Option<String>,
    pub referer: Option<String>,
    pub acao: Option<String>,
    pub instance: Option<String>,
    pub client: Option<String>,
}

/// Every format name `--log-format` accepts.
pub const FORMAT_NAMES: &[&str] = &[
    "appservice-http",
    "appservice-auth",
    "azure-json",
    "w3c",
    "kudu",
    "combined",
    "ingress-nginx",
    "nginx",
    "caddy",
    "traefik",
    "envoy",
    "json",
];

/// Why no parser could be built for a format name and options.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("unknown log format '{name}' (known: {known})")]
    Unknown { name: String, known: String },
    #[error("format 'nginx' needs the nginx log_format string (--nginx-format)")]
    MissingNginxFormat,
    #[error("invalid nginx log_format: {0}")]
    BadNginxFormat(String),
    #[error("format 'json' needs a JSON field mapping (time, method, path, status)")]
    MissingJsonFields,
    #[error("invalid JSON field mapping: {0}")]
    BadJsonFields(String),
}

/// Former name of [`FormatError`], kept so callers written against it still compile.
pub type UnknownFormat = FormatError;

/// Guesses the format from a source's first lines; `None` when nothing matches yet.
///
/// Looks at up to the first 20 non-empty lines. `json` is returned for JSON lines that match no
/// known access-log shape (it then needs a field mapping); `nginx` is never guessed.
pub fn detect(first_lines: &[&[u8]]) -> Option<&'static str> {
    detect::detect(first_lines)
}

/// A fresh parser for a named format.
pub fn parser(name: &str, opts: &FormatOptions) -> Result<Box<dyn LogParser>, FormatError> {
    Ok(match name {
        "appservice-http" => Box::new(appservice::HttpText),
        "appservice-auth" => Box::new(appservice::AuthText::default()),
        "azure-json" => Box::new(azure::AzureJson::default()),
        "w3c" => Box::new(w3c::W3c::default()),
        "kudu" => Box::new(kudu::Kudu::default()),
        "combined" => Box::new(clf::Clf::combined()),
        "ingress-nginx" => Box::new(clf::Clf::ingress()),
        "nginx" => {
            let fmt = opts
                .nginx_format
                .as_deref()
                .ok_or(FormatError::MissingNginxFormat)?;
            Box::new(nginx::NginxCustom::compile(fmt).map_err(FormatError::BadNginxFormat)?)
        }
        "caddy" => Box::new(jsonlog::Caddy),
        "traefik" => Box::new(jsonlog::Traefik),
        "envoy" => Box::new(envoy::Envoy::default()),
        "json" => {
            let map = opts
                .json_fields
                .as_ref()
                .ok_or(FormatError::MissingJsonFields)?;
            Box::new(generic_json::GenericJson::new(map).map_err(FormatError::BadJsonFields)?)
        }
        _ => {
            return Err(FormatError::Unknown {
                name: name.to_string(),
                known: FORMAT_NAMES.join(", "),
            });
        }
    })
}
