//! The typed events every source produces and the store consumes.
//!
//! Parsers hand out borrowed records (`HttpRecord<'a>`) so the replay path never allocates per
//! line; live sources turn them into owned `'static` records to cross a channel.

use std::borrow::Cow;
use std::fmt;

pub use crate::model::hypothesis::Hypothesis;
use crate::model::time::EpochMs;
pub use crate::model::transport::{TransportError, TransportKind};

/// HTTP method, closed set: anything else folds into `Other` so the store's keys stay small.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(u8)]
pub enum Method {
    #[default]
    Get,
    Head,
    Post,
    Put,
    Delete,
    Patch,
    Options,
    Connect,
    Trace,
    Other,
}

impl Method {
    pub const ALL: [Method; 10] = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Delete,
        Method::Patch,
        Method::Options,
        Method::Connect,
        Method::Trace,
        Method::Other,
    ];

    /// Methods are case-sensitive on the wire, but logs of some stacks lowercase them; both are
    /// accepted here because the store counts requests, it does not judge them.
    pub fn parse(b: &[u8]) -> Method {
        // Logs write methods in upper case; only the rest pay for the case folding.
        match b {
            b"GET" => return Method::Get,
            b"POST" => return Method::Post,
            b"OPTIONS" => return Method::Options,
            b"PUT" => return Method::Put,
            b"DELETE" => return Method::Delete,
            b"PATCH" => return Method::Patch,
            b"HEAD" => return Method::Head,
            _ => {}
        }
        let mut buf = [0u8; 8];
        if b.is_empty() || b.len() > buf.len() {
            return Method::Other;
        }
        for (d, s) in buf.iter_mut().zip(b) {
            *d = s.to_ascii_uppercase();
        }
        match &buf[..b.len()] {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"DELETE" => Method::Delete,
            b"PATCH" => Method::Patch,
            b"OPTIONS" => Method::Options,
            b"CONNECT" => Method::Connect,
            b"TRACE" => Method::Trace,
            _ => Method::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Patch => "PATCH",
            Method::Options => "OPTIONS",
            Method::Connect => "CONNECT",
            Method::Trace => "TRACE",
            Method::Other => "OTHER",
        }
    }

    pub fn from_index(i: u8) -> Method {
        Method::ALL
            .get(i as usize)
            .copied()
            .unwrap_or(Method::Other)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the log says about the response's `Access-Control-Allow-Origin`, when it logs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(u8)]
pub enum AcaoSeen {
    /// The format does not log the header.
    #[default]
    NotLogged,
    /// Logged, and absent from the response.
    Missing,
    /// Exactly one value.
    Single,
    /// More than one value (comma-joined lines): the doubled-header failure.
    Multiple,
}

impl AcaoSeen {
    /// Classifies a logged header value (`-` and empty mean absent, as nginx writes them).
    pub fn classify(value: Option<&str>) -> AcaoSeen {
        match value.map(str::trim) {
            None => AcaoSeen::NotLogged,
            Some("" | "-") => AcaoSeen::Missing,
            Some(v) if v.contains(',') => AcaoSeen::Multiple,
            Some(_) => AcaoSeen::Single,
        }
    }
}

/// One HTTP request as a log line describes it.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct HttpRecord<'a> {
    pub time: EpochMs,
    pub method: Method,
    /// Raw path as logged; may still carry a query string (the store templates it).
    pub path: Cow<'a, str>,
    pub status: u16,
    pub latency_ms: Option<u32>,
    pub host: Option<Cow<'a, str>>,
    /// `scheme://host[:port]` of the calling page.
    pub origin: Option<Cow<'a, str>>,
    /// True when `origin` was derived from the Referer because the log has no Origin field.
    pub origin_derived: bool,
    /// The response's `Access-Control-Allow-Origin` as logged (comma-joined when doubled).
    pub acao: Option<Cow<'a, str>>,
    /// Which instance served it (App Service `ComputerName`, upstream address, ...).
    pub instance: Option<Cow<'a, str>>,
    /// Client address, used to pair a preflight with the request that follows it.
    pub client: Option<Cow<'a, str>>,
}

fn own(c: &Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
    c.as_ref().map(|s| Cow::Owned(s.to_string()))
}

impl HttpRecord<'_> {
    pub fn into_owned(&self) -> HttpRecord<'static> {
        HttpRecord {
            time: self.time,
            method: self.method,
            path: Cow::Owned(self.path.to_string()),
            status: self.status,
            latency_ms: self.latency_ms,
            host: own(&self.host),
            origin: own(&self.origin),
            origin_derived: self.origin_derived,
            acao: own(&self.acao),
            instance: own(&self.instance),
            client: own(&self.client),
        }
    }

    pub fn acao_seen(&self) -> AcaoSeen {
        AcaoSeen::classify(self.acao.as_deref())
    }
}

/// Failure classes of token validation, from the signatures in the auth log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum AuthClass {
    Expired,
    NotYetValid,
    Audience,
    Issuer,
    KeyNotFound,
    BadSignature,
    MalformedOrMissing,
    NonceState,
    Other,
}

impl AuthClass {
    pub const COUNT: usize = 9;
    pub const ALL: [AuthClass; AuthClass::COUNT] = [
        AuthClass::Expired,
        AuthClass::NotYetValid,
        AuthClass::Audience,
        AuthClass::Issuer,
        AuthClass::KeyNotFound,
        AuthClass::BadSignature,
        AuthClass::MalformedOrMissing,
        AuthClass::NonceState,
        AuthClass::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthClass::Expired => "expired",
            AuthClass::NotYetValid => "not-yet-valid",
            AuthClass::Audience => "audience",
            AuthClass::Issuer => "issuer",
            AuthClass::KeyNotFound => "key-not-found",
            AuthClass::BadSignature => "bad-signature",
            AuthClass::MalformedOrMissing => "malformed-or-missing",
            AuthClass::NonceState => "nonce-state",
            AuthClass::Other => "other",
        }
    }
}

impl fmt::Display for AuthClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One token-validation event from an authentication log.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthRecord<'a> {
    pub time: EpochMs,
    pub operation: Cow<'a, str>,
    /// `None` when the line is an auth event that is not a failure (a successful validation).
    pub class: Option<AuthClass>,
    pub status: Option<u16>,
    /// The message, as logged (the store redacts and truncates before keeping a sample).
    pub message: Cow<'a, str>,
}

impl AuthRecord<'_> {
    pub fn into_owned(&self) -> AuthRecord<'static> {
        AuthRecord {
            time: self.time,
            operation: Cow::Owned(self.operation.to_string()),
            class: self.class,
            status: self.status,
            message: Cow::Owned(self.message.to_string()),
        }
    }
}

/// Where parsers put what they read. The store implements it directly for replay; live sources
/// collect owned copies into batches.
pub trait Sink {
    fn http(&mut self, rec: &HttpRecord<'_>);
    fn auth(&mut self, rec: &AuthRecord<'_>);
}

/// A collecting sink for tests and live batches.
#[derive(Default, Debug)]
pub struct VecSink {
    pub http: Vec<HttpRecord<'static>>,
    pub auth: Vec<AuthRecord<'static>>,
}

impl Sink for VecSink {
    fn http(&mut self, rec: &HttpRecord<'_>) {
        self.http.push(rec.into_owned());
    }
    fn auth(&mut self, rec: &AuthRecord<'_>) {
        self.auth.push(rec.into_owned());
    }
}

/// Identifies a source (log file, stdin, prober) inside one store.
pub type SourceId = u8;

// ---------------------------------------------------------------- the fleet source
// Its answers, here beside the event that carries them (see `sources::fleet`).

/// Requests of one route × origin × method class × status over time, summed over instances.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestSeries {
    pub route: String,
    /// `None` for requests without an origin.
    pub origin: Option<String>,
    pub preflight: bool,
    /// The exact status for preflights; for actual requests a representative of the class.
    pub status: u16,
    /// What the step ending at each time added.
    pub points: Vec<(EpochMs, f64)>,
}

/// One agent as Prometheus sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Instance {
    pub instance: String,
    pub region: Option<String>,
    pub up: bool,
    /// 0 ok, 1 degraded, 2 page; `None` when the agent exported no status.
    pub status: Option<u8>,
    /// Highest-scoring hypothesis in the `supported` state, with its score.
    pub top: Option<(String, f64)>,
    /// Requests per second over the last 5 minutes.
    pub rate: f64,
    /// Failed cross-origin requests over all requests, last 5 minutes.
    pub failure_ratio: f64,
    /// Probes whose latest run was blocked.
    pub probes_failing: u32,
}

/// One probe (endpoint × origin × shape) over all instances that run it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProbeRow {
    pub endpoint: String,
    pub origin: String,
    pub shape: String,
    pub failing: u32,
    pub instances: u32,
    /// Chromium's CorsError names reported, with how many instances report each.
    pub reasons: Vec<(String, u32)>,
}

/// One refresh's answers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FleetData {
    pub source: SourceId,
    /// The server, credentials redacted.
    pub server: String,
    /// When the queries were evaluated.
    pub at: EpochMs,
    /// Width of each range point's increase.
    pub step_ms: EpochMs,
    pub requests: Vec<RequestSeries>,
    pub auth: Vec<(AuthClass, Vec<(EpochMs, f64)>)>,
    pub instances: Vec<Instance>,
    /// Instances beyond [`crate::sources::fleet::MAX_INSTANCES`].
    pub instances_omitted: usize,
    pub probes: Vec<ProbeRow>,
    /// The one instance the counters were read for, when the dashboard narrowed them.
    pub instance: Option<String>,
}

impl FleetData {
    pub fn up(&self) -> usize {
        self.instances.iter().filter(|i| i.up).count()
    }

    /// The fleet source's state line: "12 agents, 11 up".
    pub fn summary(&self) -> String {
        let total = self.instances.len() + self.instances_omitted;
        let agents = if total == 1 { "agent" } else { "agents" };
        format!("{total} {agents}, {} up", self.up())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods() {
        assert_eq!(Method::parse(b"OPTIONS"), Method::Options);
        assert_eq!(Method::parse(b"options"), Method::Options);
        assert_eq!(Method::parse(b"PROPFIND"), Method::Other);
        assert_eq!(Method::parse(b"AVERYLONGMETHOD"), Method::Other);
        for m in Method::ALL {
            assert_eq!(Method::from_index(m as u8), m);
        }
    }

    #[test]
    fn acao_classes() {
        assert_eq!(AcaoSeen::classify(None), AcaoSeen::NotLogged);
        assert_eq!(AcaoSeen::classify(Some("-")), AcaoSeen::Missing);
        assert_eq!(
            AcaoSeen::classify(Some("https://a.example")),
            AcaoSeen::Single
        );
        assert_eq!(
            AcaoSeen::classify(Some("https://a.example, https://a.example")),
            AcaoSeen::Multiple
        );
    }
}

/// One synthetic preflight (and optional actual request) with everything it saw.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ProbeResult {
    pub time: EpochMs,
    pub url: String,
    pub origin: String,
    pub shape: crate::cors::RequestShape,
    pub critical: bool,
    pub preflight_request: Option<crate::cors::RawRequest>,
    pub preflight: Option<crate::cors::RawResponse>,
    pub actual_request: Option<crate::cors::RawRequest>,
    pub actual: Option<crate::cors::RawResponse>,
    pub transport: Option<TransportError>,
    pub verdict: crate::cors::Verdict,
    /// Instance fingerprint (`Server`, `Via`, `X-Served-By`, affinity cookie name, `CF-Ray`).
    pub instance: Option<String>,
    /// The redirects the actual request followed, in order: `actual` is the first answer
    /// (the 3xx), each hop holds the next request and its answer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redirects: Vec<RedirectHop>,
}

/// One followed redirect of the actual request.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RedirectHop {
    pub url: String,
    /// The `Origin` sent: the page's, or `null` after a hop to another origin.
    pub origin: String,
    pub method: String,
    pub preflight_request: Option<crate::cors::RawRequest>,
    pub preflight: Option<crate::cors::RawResponse>,
    pub request: Option<crate::cors::RawRequest>,
    pub response: Option<crate::cors::RawResponse>,
}

/// Everything that flows from producers to the store.
#[derive(Clone, Debug)]
pub enum Event {
    /// A batch of what one log source read since its last batch.
    Batch(Box<SourceBatch>),
    Probe(Box<ProbeResult>),
    /// A source's lifecycle note (waiting for file, rotated, error...).
    SourceState {
        source: SourceId,
        state: String,
    },
    /// One refresh of the fleet's figures from Prometheus.
    Fleet(Box<FleetData>),
}

/// A record of a [`SourceBatch`], by its index in `http` or `auth`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordRef {
    Http(u32),
    Auth(u32),
}

/// What a log source read in one go. Counters are deltas since the previous batch.
#[derive(Clone, Debug, Default)]
pub struct SourceBatch {
    pub source: SourceId,
    pub http: Vec<HttpRecord<'static>>,
    pub auth: Vec<AuthRecord<'static>>,
    /// The most recent raw lines (already capped to the store's ring size).
    pub raw_tail: Vec<String>,
    /// The source's number for the first line of `raw_tail` (the others follow in order).
    pub raw_first: u64,
    /// Lines that produced a record, by number, with the first record each produced, so the
    /// live log shows the parsed fields beside the text. A number before `raw_first` is a line
    /// of an earlier batch whose entry (spanning lines) was completed in this one.
    pub raw_links: Vec<(u64, RecordRef)>,
    pub lines: u64,
    pub bytes: u64,
    /// Lines that were valid but carry no event (headers, comments, heartbeats).
    pub skipped: u64,
    pub parse_errors: u64,
    /// The latest offending line (raw; the store redacts and truncates) and why it failed.
    pub last_error: Option<(String, String)>,
    /// The format the source detected or was told, once known.
    pub format: Option<&'static str>,
}
