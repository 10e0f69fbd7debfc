//! The HTTP side of a probe: sends exactly what a browser sends, keeps exactly what came back,
//! and hands both to the verdict.
//!
//! Response headers are taken from `reqwest`'s `HeaderMap`, which keeps every value of a
//! repeated header but groups values by name in first-seen order (`a: 1`, `b: 2`, `a: 3` comes
//! out as `a: 1`, `a: 3`, `b: 2`) and lower-cases names. CORS judgement only depends on the
//! values of each name in order, which the grouping preserves.

use std::error::Error as StdError;
use std::fmt;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::fingerprint::instance_fingerprint;
use super::settings::{ProbeSettings, ProbeTarget};
use crate::cors::{self, RawRequest, RawResponse, RequestShape, Stage, Verdict, Warning};
use crate::event::{ProbeResult, TransportError, TransportKind};
use crate::redact;
use crate::time::Clock;

/// What the prober calls itself: a current desktop Chrome, so CDNs and WAFs treat the probe as
/// they treat the page's own requests, with a suffix so operators can find it in their logs.
pub const USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 corstop-probe";

/// A bearer token for the actual request. Never printed: `Debug` and `Display` redact it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a raw token; a value already carrying a scheme (`Bearer x`, `Basic y`) is kept.
    pub fn new(raw: &str) -> Option<Token> {
        let t = raw.trim();
        if t.is_empty() {
            return None;
        }
        if t.contains(' ') {
            Some(Token(t.to_string()))
        } else {
            Some(Token(format!("Bearer {t}")))
        }
    }
    fn header_value(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(redact::REDACTED)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read token file '{path}': {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("token environment variable '{0}' is not set or empty")]
    Env(String),
}

/// Reads the token for actual requests from `token-file` (first) or `token-env`. Called once
/// per round so a rotated token file is picked up without a restart.
pub fn load_token(settings: &ProbeSettings) -> Result<Option<Token>, TokenError> {
    if let Some(path) = &settings.token_file {
        let text = std::fs::read_to_string(path).map_err(|source| TokenError::File {
            path: path.clone(),
            source,
        })?;
        return Ok(Token::new(&text));
    }
    if let Some(var) = &settings.token_env {
        return match std::env::var(var).ok().and_then(|v| Token::new(&v)) {
            Some(t) => Ok(Some(t)),
            None => Err(TokenError::Env(var.clone())),
        };
    }
    Ok(None)
}

/// The HTTP client and the options every probe of a round shares.
#[derive(Clone, Debug)]
pub struct ProbeClient {
    http: Result<reqwest::Client, String>,
    timeout: Duration,
    actual: bool,
}

impl ProbeClient {
    /// Redirects are never followed (a browser fails a redirected preflight, and the prober
    /// must see the 3xx itself). Idle connections are not kept, so every request, repeats
    /// included, opens a fresh connection and may land on another instance.
    pub fn new(settings: &ProbeSettings) -> ProbeClient {
        let timeout = settings.timeout.as_std();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .pool_max_idle_per_host(0)
            .danger_accept_invalid_certs(settings.insecure)
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| chain_message(&e));
        if let Err(e) = &http {
            tracing::warn!(error = %e, "probe client could not be built");
        }
        ProbeClient {
            http,
            timeout,
            actual: settings.actual,
        }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// Methods a probe may always send for real: they change nothing on a well-behaved server.
fn is_safe_method(m: &str) -> bool {
    m == "GET" || m == "HEAD"
}

/// The headers of the browser's preflight, in the order Chrome writes them.
pub fn preflight_headers(origin: &str, shape: &RequestShape) -> Vec<(String, String)> {
    let (_, request_headers) = cors::preflight_request_headers(shape);
    let mut h = vec![
        ("Accept".to_string(), "*/*".to_string()),
        (
            "Access-Control-Request-Method".to_string(),
            shape.method.clone(),
        ),
    ];
    if !request_headers.is_empty() {
        h.push((
            "Access-Control-Request-Headers".to_string(),
            request_headers,
        ));
    }
    h.push(("Origin".to_string(), origin.to_string()));
    h.push(("Sec-Fetch-Mode".to_string(), "cors".to_string()));
    h.push(("Sec-Fetch-Site".to_string(), "cross-site".to_string()));
    h.push(("Sec-Fetch-Dest".to_string(), "empty".to_string()));
    h.push(("User-Agent".to_string(), USER_AGENT.to_string()));
    h
}

/// The headers of the actual request: the shape's own headers (Authorization from the token
/// when one is configured), then what the browser adds. Cookies are never sent.
pub fn actual_headers(
    origin: &str,
    shape: &RequestShape,
    token: Option<&Token>,
) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = Vec::with_capacity(shape.headers.len() + 5);
    for (name, value) in &shape.headers {
        if name.eq_ignore_ascii_case("cookie") {
            continue;
        }
        let value = match token {
            Some(t) if name.eq_ignore_ascii_case("authorization") => t.header_value().to_string(),
            _ => value.clone(),
        };
        h.push((name.clone(), value));
    }
    if !h.iter().any(|(n, _)| n.eq_ignore_ascii_case("accept")) {
        h.push(("Accept".to_string(), "*/*".to_string()));
    }
    h.push(("Origin".to_string(), origin.to_string()));
    h.push(("Sec-Fetch-Mode".to_string(), "cors".to_string()));
    h.push(("Sec-Fetch-Site".to_string(), "cross-site".to_string()));
    h.push(("Sec-Fetch-Dest".to_string(), "empty".to_string()));
    h.push(("User-Agent".to_string(), USER_AGENT.to_string()));
    h
}

/// The request as it is kept and shown: secret values redacted.
fn redacted_request(method: &str, url: &str, headers: &[(String, String)]) -> RawRequest {
    RawRequest {
        method: method.to_string(),
        url: url.to_string(),
        headers: headers
            .iter()
            .map(|(n, v)| (n.clone(), redact::header_value(n, v).into_owned()))
            .collect(),
    }
}

/// Header values as a browser decodes them: one byte, one code point (isomorphic decode).
fn isomorphic(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

fn raw_response(status: u16, headers: &HeaderMap, elapsed: Duration) -> RawResponse {
    let headers = headers
        .iter()
        .map(|(name, value)| {
            let name = name.as_str().to_string();
            let value = isomorphic(value.as_bytes());
            let value = if redact::is_secret_header(&name) {
                redact::header_value(&name, &value).into_owned()
            } else {
                value
            };
            (name, value)
        })
        .collect();
    RawResponse {
        status,
        headers,
        elapsed_ms: elapsed.as_millis().min(u32::MAX as u128) as u32,
    }
}

/// The full error chain as one line, secrets removed.
fn chain_message(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = e.source();
    }
    redact::text(&parts.join(": ")).into_owned()
}

/// Classifies a failed request by walking its error chain: hyper and io errors by kind,
/// the resolver and TLS layers (which do not expose typed errors through reqwest) by message.
pub fn classify_error(err: &reqwest::Error) -> TransportError {
    let message = chain_message(err);
    let mut kind = if err.is_timeout() {
        Some(TransportKind::Timeout)
    } else {
        None
    };
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let (None, Some(e)) = (kind, cur) {
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_timeout() {
                kind = Some(TransportKind::Timeout);
            } else if h.is_parse() || h.is_parse_too_large() || h.is_incomplete_message() {
                kind = Some(TransportKind::Protocol);
            }
        } else if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => kind = Some(TransportKind::Refused),
                std::io::ErrorKind::TimedOut => kind = Some(TransportKind::Timeout),
                _ => {}
            }
        }
        if kind.is_none() {
            let text = e.to_string().to_ascii_lowercase();
            if text.contains("dns error")
                || text.contains("failed to lookup address")
                || text.contains("name or service not known")
                || text.contains("no such host")
            {
                kind = Some(TransportKind::Dns);
            } else if text.contains("certificate")
                || text.contains("tls")
                || text.contains("handshake")
                || text.contains("peer sent")
            {
                kind = Some(TransportKind::Tls);
            } else if text.contains("connection refused") {
                kind = Some(TransportKind::Refused);
            }
        }
        cur = e.source();
    }
    TransportError {
        kind: kind.unwrap_or(TransportKind::Other),
        message,
    }
}

/// What a browser concludes when no response arrived: a network error, not a CORS one.
fn transport_verdict(target: &ProbeTarget, err: &TransportError) -> Verdict {
    let mut v = cors::judge(&target.origin, &target.url, &target.shape, None, None);
    v.allowed = false;
    v.stage = Stage::Transport;
    v.code = "network-error";
    v.chrome_message = Some(format!(
        "Failed to fetch: net::ERR_{} ({})",
        match err.kind {
            TransportKind::Dns => "NAME_NOT_RESOLVED",
            TransportKind::Refused => "CONNECTION_REFUSED",
            TransportKind::Tls => "CERT_INVALID",
            TransportKind::Timeout => "TIMED_OUT",
            TransportKind::Protocol => "INVALID_HTTP_RESPONSE",
            TransportKind::Other => "FAILED",
        },
        err.kind.as_str()
    ));
    v.firefox_message = Some("NetworkError when attempting to fetch resource.".to_string());
    v.hypothesis = None;
    v
}

async fn send(
    http: &reqwest::Client,
    timeout: Duration,
    method: &str,
    url: &str,
    headers: &[(String, String)],
    with_body: bool,
) -> Result<RawResponse, TransportError> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| TransportError {
        kind: TransportKind::Other,
        message: format!("invalid method: {e}"),
    })?;
    let mut map = HeaderMap::with_capacity(headers.len());
    for (n, v) in headers {
        let name = HeaderName::from_bytes(n.as_bytes()).map_err(|e| TransportError {
            kind: TransportKind::Other,
            message: format!("invalid header name '{n}': {e}"),
        })?;
        let value = HeaderValue::from_str(v).map_err(|_| TransportError {
            kind: TransportKind::Other,
            message: format!("invalid value for header '{n}'"),
        })?;
        map.append(name, value);
    }
    let mut req = http.request(method, url).headers(map).timeout(timeout);
    if with_body {
        req = req.body("");
    }
    let started = Instant::now();
    match req.send().await {
        // The body is never read: the verdict needs status and headers only, and an unread body
        // cannot grow memory.
        Ok(resp) => Ok(raw_response(
            resp.status().as_u16(),
            resp.headers(),
            started.elapsed(),
        )),
        Err(e) => Err(classify_error(&e)),
    }
}

fn base_result(target: &ProbeTarget, clock: &Clock) -> ProbeResult {
    ProbeResult {
        time: clock(),
        url: target.url.clone(),
        origin: target.origin.clone(),
        shape: target.shape.clone(),
        critical: target.critical,
        preflight_request: None,
        preflight: None,
        actual_request: None,
        actual: None,
        transport: None,
        verdict: cors::judge(&target.origin, &target.url, &target.shape, None, None),
        instance: None,
    }
}

/// One probe: the preflight when the shape needs one, then, when it passed and `actual` is
/// on, the actual request. A shape that needs no preflight is judged on its actual request,
/// so that request is sent whenever its method is safe.
pub async fn probe_once(
    client: &ProbeClient,
    target: &ProbeTarget,
    clock: &Clock,
    token: Option<&Token>,
) -> ProbeResult {
    let mut result = base_result(target, clock);
    let http = match &client.http {
        Ok(h) => h,
        Err(e) => {
            let err = TransportError {
                kind: TransportKind::Other,
                message: e.clone(),
            };
            result.verdict = transport_verdict(target, &err);
            result.transport = Some(err);
            return result;
        }
    };
    let (needed, _) = cors::preflight_request_headers(&target.shape);
    if needed {
        let headers = preflight_headers(&target.origin, &target.shape);
        result.preflight_request = Some(redacted_request("OPTIONS", &target.url, &headers));
        match send(
            http,
            client.timeout,
            "OPTIONS",
            &target.url,
            &headers,
            false,
        )
        .await
        {
            Ok(resp) => {
                result.instance = instance_fingerprint(&resp);
                result.verdict = cors::judge(
                    &target.origin,
                    &target.url,
                    &target.shape,
                    Some(&resp),
                    None,
                );
                result.preflight = Some(resp);
            }
            Err(err) => {
                tracing::debug!(url = %target.url, kind = err.kind.as_str(), "preflight failed");
                result.verdict = transport_verdict(target, &err);
                result.transport = Some(err);
                return result;
            }
        }
        if !result.verdict.allowed || !client.actual {
            return result;
        }
    }
    if !is_safe_method(&target.shape.method) && !target.allow_unsafe_actual {
        if needed {
            result.verdict.warnings.push(Warning {
                code: "actual-skipped",
                message: format!(
                    "the actual {} request was not sent: set allow-unsafe-actual on this \
                     endpoint to let the probe send it",
                    target.shape.method
                ),
            });
        } else {
            result.verdict.warnings.push(Warning {
                code: "actual-skipped",
                message: format!(
                    "{} needs no preflight, so only the actual request can be judged; it was \
                     not sent: set allow-unsafe-actual on this endpoint to let the probe send it",
                    target.shape.method
                ),
            });
        }
        return result;
    }
    let headers = actual_headers(&target.origin, &target.shape, token);
    result.actual_request = Some(redacted_request(
        &target.shape.method,
        &target.url,
        &headers,
    ));
    let with_body = !is_safe_method(&target.shape.method);
    match send(
        http,
        client.timeout,
        &target.shape.method,
        &target.url,
        &headers,
        with_body,
    )
    .await
    {
        Ok(resp) => {
            if result.instance.is_none() {
                result.instance = instance_fingerprint(&resp);
            }
            result.verdict = cors::judge(
                &target.origin,
                &target.url,
                &target.shape,
                result.preflight.as_ref(),
                Some(&resp),
            );
            result.actual = Some(resp);
        }
        Err(err) => {
            result.verdict = transport_verdict(target, &err);
            result.transport = Some(err);
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cors::Credentials;

    #[test]
    fn preflight_never_carries_credentials() {
        let shape = RequestShape::spa_default();
        let h = preflight_headers("https://app.example", &shape);
        assert!(h.iter().all(|(n, _)| {
            !n.eq_ignore_ascii_case("authorization") && !n.eq_ignore_ascii_case("cookie")
        }));
        let get = |name: &str| h.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        assert_eq!(get("Access-Control-Request-Method"), Some("PUT"));
        assert_eq!(
            get("Access-Control-Request-Headers"),
            Some("authorization,content-type")
        );
        assert_eq!(get("Origin"), Some("https://app.example"));
        assert_eq!(get("Sec-Fetch-Mode"), Some("cors"));
        assert_eq!(get("Accept"), Some("*/*"));

        let plain = RequestShape {
            name: "delete".into(),
            method: "DELETE".into(),
            headers: vec![],
            credentials: Credentials::Omit,
        };
        let h = preflight_headers("https://app.example", &plain);
        assert!(!h.iter().any(|(n, _)| n == "Access-Control-Request-Headers"));
    }

    #[test]
    fn token_fills_authorization_and_is_redacted() {
        let shape = RequestShape {
            name: "x".into(),
            method: "GET".into(),
            headers: vec![
                ("Authorization".into(), "Bearer placeholder".into()),
                ("Cookie".into(), "a=b".into()),
            ],
            credentials: Credentials::Include,
        };
        let token = Token::new("eyJhbGciOi.secret.sig").unwrap();
        assert_eq!(format!("{token:?} {token}"), "Token([redacted]) [redacted]");
        let h = actual_headers("https://app.example", &shape, Some(&token));
        assert_eq!(h[0].1, "Bearer eyJhbGciOi.secret.sig");
        assert!(!h.iter().any(|(n, _)| n == "Cookie"));
        let kept = redacted_request("GET", "https://api.example/x", &h);
        assert_eq!(kept.headers[0].1, "Bearer [redacted]");
        assert!(!format!("{kept:?}").contains("secret"));
        assert_eq!(Token::new("Basic abc").unwrap().header_value(), "Basic abc");
        assert!(Token::new("  \n").is_none());
    }

    #[test]
    fn isomorphic_decoding_keeps_every_byte() {
        assert_eq!(isomorphic(b"a\xe9"), "a\u{e9}");
    }
}
