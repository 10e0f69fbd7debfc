//! The HTTP side of a probe: sends exactly what a browser sends, keeps exactly what came back,
//! and hands both to the verdict.
//!
//! Response headers are taken from `reqwest`'s `HeaderMap`, which keeps every value of a
//! repeated header but groups values by name in first-seen order (`a: 1`, `b: 2`, `a: 3` comes
//! out as `a: 1`, `a: 3`, `b: 2`) and lower-cases names. CORS judgement only depends on the
//! values of each name in order, which the grouping preserves.
//!
//! One file, past the usual 700 lines, because sending, following redirects and classifying
//! transport failures share the request state of one probe; split, each part would take it all
//! as arguments.

use std::error::Error as StdError;
use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::fingerprint::instance_fingerprint;
use super::settings::{ProbeSettings, ProbeTarget};
use crate::cors::{self, RawRequest, RawResponse, RequestShape, Verdict, Warning};
use crate::model::redact;
use crate::model::time::Clock;
use crate::sources::event::{ProbeResult, RedirectHop, TransportError, TransportKind};

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
        // A token is a few kilobytes at most.
        let text =
            crate::model::text::read_small_file(Path::new(path), 64 << 10).map_err(|source| {
                TokenError::File {
                    path: path.clone(),
                    source,
                }
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

/// Warning code on a result whose actual request was withheld because its method is unsafe.
pub const ACTUAL_SKIPPED: &str = "actual-skipped";

/// Methods a probe may always send for real: they change nothing on a well-behaved server.
fn is_safe_method(m: &str) -> bool {
    m == "GET" || m == "HEAD"
}

/// What Chrome adds to every `fetch` besides what [`cors::preflight_request`] and
/// [`cors::actual_request`] describe. `Sec-Fetch-Site` is left out: telling same-site from
/// cross-site needs the public suffix list (`*.azurewebsites.net` siblings are cross-site), and
/// a wrong value would be worse than none.
fn browser_extras(h: &mut Vec<(String, String)>) {
    h.push(("Sec-Fetch-Dest".to_string(), "empty".to_string()));
    h.push(("User-Agent".to_string(), USER_AGENT.to_string()));
}

/// The headers of the browser's preflight, as the verdict module defines them.
pub fn preflight_headers(origin: &str, url: &str, shape: &RequestShape) -> Vec<(String, String)> {
    let mut h = cors::preflight_request(origin, url, shape).headers;
    browser_extras(&mut h);
    h
}

/// The actual request: method and headers as the verdict module defines them, Authorization
/// from the token when one is configured, and never a cookie (the prober has no user session
/// to send).
pub fn actual_request(
    origin: &str,
    url: &str,
    shape: &RequestShape,
    token: Option<&Token>,
) -> (String, Vec<(String, String)>) {
    let req = cors::actual_request(origin, url, shape);
    let mut h: Vec<(String, String)> = req
        .headers
        .into_iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("cookie"))
        .map(|(n, v)| match token {
            Some(t) if n.eq_ignore_ascii_case("authorization") => (n, t.header_value().to_string()),
            _ => (n, v),
        })
        .collect();
    browser_extras(&mut h);
    (req.method, h)
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

/// The response as received, and the instance fingerprint taken from it before secret values
/// (cookies) are redacted: affinity cookie values tell instances apart, and are only ever shown
/// hashed.
fn raw_response(
    status: u16,
    headers: &HeaderMap,
    elapsed: Duration,
) -> (RawResponse, Option<String>) {
    let mut resp = RawResponse {
        status,
        headers: headers
            .iter()
            .map(|(name, value)| (name.as_str().to_string(), isomorphic(value.as_bytes())))
            .collect(),
        elapsed_ms: elapsed.as_millis().min(u32::MAX as u128) as u32,
    };
    let fingerprint = instance_fingerprint(&resp);
    for (name, value) in &mut resp.headers {
        if redact::is_secret_header(name) {
            *value = redact::header_value(name, value).into_owned();
        }
    }
    (resp, fingerprint)
}

/// Longest value kept for headers the verdict does not read.
const MAX_KEPT_VALUE: usize = 1024;
/// Bytes of such headers kept per response.
const MAX_KEPT_OTHER: usize = 16 * 1024;

/// Headers the verdict reads: kept whole so a stored result judges the same again.
fn judged_header(name: &str) -> bool {
    name.starts_with("access-control-")
        || matches!(
            name,
            "vary" | "www-authenticate" | "location" | "cache-control"
        )
}

/// Trims what a result keeps after it was judged: the store holds hundreds of results, and a
/// server may send up to hyper's limit of headers. CORS headers stay whole; other values are
/// clipped and, past a per-response budget, dropped.
pub fn bounded_for_keeping(mut resp: RawResponse) -> RawResponse {
    let mut budget = MAX_KEPT_OTHER;
    resp.headers.retain_mut(|(name, value)| {
        if judged_header(name) {
            return true;
        }
        if value.len() > MAX_KEPT_VALUE {
            let mut end = MAX_KEPT_VALUE;
            while !value.is_char_boundary(end) {
                end -= 1;
            }
            let dropped = value.len() - end;
            value.truncate(end);
            value.push_str(&format!("…[{dropped} bytes not kept]"));
        }
        let cost = name.len() + value.len();
        if cost > budget {
            return false;
        }
        budget -= cost;
        true
    });
    resp
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

/// Looks inside an io error. `io::Error::source` skips the error it wraps, and tokio-rustls
/// nests a rustls error two io errors deep, so the wrapped errors are opened one by one.
fn inspect_io(io: &std::io::Error, depth: u8) -> Option<TransportKind> {
    // EMFILE, ENFILE, ENOMEM, ENOBUFS: corstop's own resources, not the server.
    if matches!(io.raw_os_error(), Some(24 | 23 | 12 | 105)) {
        return Some(TransportKind::Local);
    }
    match io.kind() {
        std::io::ErrorKind::ConnectionRefused => return Some(TransportKind::Refused),
        std::io::ErrorKind::TimedOut => return Some(TransportKind::Timeout),
        _ => {}
    }
    let inner = io.get_ref()?;
    if inner.is::<rustls::Error>() {
        return Some(TransportKind::Tls);
    }
    match inner.downcast_ref::<std::io::Error>() {
        Some(nested) if depth < 8 => inspect_io(nested, depth + 1),
        _ => None,
    }
}

/// Classifies a failed request by walking its error chain: hyper and io errors by kind,
/// the resolver and TLS layers (which do not expose typed errors through reqwest) by message.
pub fn classify_error(err: &reqwest::Error) -> TransportError {
    classify_chain(err, err.is_timeout())
}

/// [`classify_error`] for any error chain; `timed_out` when the caller already knows.
pub fn classify_chain(err: &(dyn StdError + 'static), timed_out: bool) -> TransportError {
    let message = chain_message(err);
    let mut kind = if timed_out {
        Some(TransportKind::Timeout)
    } else {
        None
    };
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let (None, Some(e)) = (kind, cur) {
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_timeout() {
                kind = Some(TransportKind::Timeout);
            } else if h.is_parse_too_large() {
                // hyper stops at 100 header lines (or about 400 KB); browsers read up to about
                // 256 KB of headers whatever their number, so this is corstop's limit first.
                return TransportError {
                    kind: TransportKind::Local,
                    message: format!(
                        "the response head is larger than corstop's HTTP client reads (100 \
                         header lines or about 400 KB); browsers accept more, so this is \
                         corstop's limit, not a fault of the server ({message})"
                    ),
                };
            } else if h.is_parse() || h.is_incomplete_message() {
                kind = Some(TransportKind::Protocol);
            }
        } else if e.is::<rustls::Error>() {
            kind = Some(TransportKind::Tls);
        } else if let Some(io) = e.downcast_ref::<std::io::Error>() {
            kind = inspect_io(io, 0);
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
    let kind = kind.unwrap_or(TransportKind::Other);
    let message = if kind == TransportKind::Local {
        format!("corstop ran out of its own resources, not a fault of the server: {message}")
    } else {
        message
    };
    TransportError { kind, message }
}

/// The probe ends without a judgeable answer: the verdict says why, the error is kept.
fn fail_transport(result: &mut ProbeResult, target: &ProbeTarget, err: TransportError) {
    result.verdict = transport_verdict(target, &err);
    result.transport = Some(err);
}

fn transport_verdict(target: &ProbeTarget, err: &TransportError) -> Verdict {
    cors::judge_transport_error(&target.origin, &target.url, &target.shape, err)
}

async fn send(
    http: &reqwest::Client,
    timeout: Duration,
    method: &str,
    url: &str,
    headers: &[(String, String)],
    with_body: bool,
) -> Result<(RawResponse, Option<String>), TransportError> {
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
        redirects: Vec::new(),
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
    let mut result = probe_unredacted(client, target, clock, token).await;
    redact_result(&mut result, token);
    result
}

/// Everything a result keeps, made safe to show: URLs (secret query and path parameters,
/// user passwords), request and response header values by name and by shape, the browser
/// messages and warnings that quote URLs and headers, and any echo of the probe's own token.
/// Done once here, so that every output (screen, `check`, `report`, notifier, diagnostics)
/// shows the same safe text.
fn redact_result(r: &mut ProbeResult, token: Option<&Token>) {
    // The credential itself, without a scheme the token file may carry.
    let secret = token
        .and_then(|t| t.0.split_whitespace().last())
        .filter(|t| t.len() >= 8);
    let clean = |s: &str| -> String {
        let s = redact::text(s);
        match secret {
            Some(t) if s.contains(t) => s.replace(t, redact::REDACTED),
            _ => s.into_owned(),
        }
    };
    let headers = |h: &mut Vec<(String, String)>| {
        for (n, v) in h {
            *v = clean(&redact::header_value(n, v));
        }
    };
    let request = |q: &mut RawRequest| {
        q.url = clean(&q.url);
        headers(&mut q.headers);
    };
    let response = |p: &mut RawResponse| headers(&mut p.headers);
    r.url = clean(&r.url);
    for q in [&mut r.preflight_request, &mut r.actual_request]
        .into_iter()
        .flatten()
    {
        request(q);
    }
    for p in [&mut r.preflight, &mut r.actual].into_iter().flatten() {
        response(p);
    }
    for hop in &mut r.redirects {
        hop.url = clean(&hop.url);
        for q in [&mut hop.preflight_request, &mut hop.request]
            .into_iter()
            .flatten()
        {
            request(q);
        }
        for p in [&mut hop.preflight, &mut hop.response]
            .into_iter()
            .flatten()
        {
            response(p);
        }
    }
    let v = &mut r.verdict;
    for m in [
        &mut v.chrome_message,
        &mut v.firefox_message,
        &mut v.www_authenticate,
    ]
    .into_iter()
    .flatten()
    {
        *m = clean(m);
    }
    for w in &mut v.warnings {
        w.message = clean(&w.message);
    }
    if let Some(t) = &mut r.transport {
        t.message = clean(&t.message);
    }
}

async fn probe_unredacted(
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
            fail_transport(&mut result, target, err);
            return result;
        }
    };
    let (needed, _) = cors::preflight_request_headers(&target.shape);
    if needed {
        let headers = preflight_headers(&target.origin, &target.url, &target.shape);
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
            Ok((resp, fingerprint)) => {
                result.instance = fingerprint;
                result.verdict = cors::judge(
                    &target.origin,
                    &target.url,
                    &target.shape,
                    Some(&resp),
                    None,
                );
                result.preflight = Some(bounded_for_keeping(resp));
            }
            Err(err) => {
                tracing::debug!(url = %target.url, kind = err.kind.as_str(), "preflight failed");
                fail_transport(&mut result, target, err);
                return result;
            }
        }
        if !result.verdict.allowed || !client.actual {
            return result;
        }
    }
    let (method, headers) = actual_request(&target.origin, &target.url, &target.shape, token);
    if !is_safe_method(&method) && !target.allow_unsafe_actual {
        let message = if needed {
            format!(
                "the actual {method} request was not sent: set allow-unsafe-actual on this \
                 endpoint to let the probe send it"
            )
        } else {
            format!(
                "{method} needs no preflight, so only the actual request can be judged; it was \
                 not sent: set allow-unsafe-actual on this endpoint to let the probe send it"
            )
        };
        result.verdict.warnings.push(Warning {
            code: ACTUAL_SKIPPED,
            message,
        });
        return result;
    }
    result.actual_request = Some(redacted_request(&method, &target.url, &headers));
    let with_body = !is_safe_method(&method);
    match send(
        http,
        client.timeout,
        &method,
        &target.url,
        &headers,
        with_body,
    )
    .await
    {
        Ok((resp, fingerprint)) => {
            if result.instance.is_none() {
                result.instance = fingerprint;
            }
            result.verdict = cors::judge(
                &target.origin,
                &target.url,
                &target.shape,
                result.preflight.as_ref(),
                Some(&resp),
            );
            result.actual = Some(bounded_for_keeping(resp.clone()));
            follow_redirects(
                http,
                client.timeout,
                target,
                token,
                &method,
                resp,
                &mut result,
            )
            .await;
        }
        Err(err) => {
            fail_transport(&mut result, target, err);
        }
    }
    result
}

/// Follows the actual request's redirects as the browser does (see `cors::redirect`): each
/// hop with its own preflight when its request is not simple, each answer judged, the first
/// failing hop deciding the verdict. Hops whose method is not safe are sent only where the
/// endpoint allows unsafe actual requests.
async fn follow_redirects(
    http: &reqwest::Client,
    timeout: Duration,
    target: &ProbeTarget,
    token: Option<&Token>,
    first_method: &str,
    first: RawResponse,
    result: &mut ProbeResult,
) {
    use cors::redirect::{Follow, MAX_REDIRECTS, follow, next_shape};
    let mut url = target.url.clone();
    let mut method = first_method.to_string();
    let mut shape = target.shape.clone();
    let mut tainted = false;
    let mut last = first;
    while result.verdict.allowed {
        let next = match follow(&target.origin, &url, &method, tainted, &last) {
            Follow::Final => return,
            Follow::Next(_) if result.redirects.len() >= MAX_REDIRECTS => {
                let err = TransportError {
                    kind: TransportKind::Other,
                    message: format!(
                        "more than {MAX_REDIRECTS} redirects (net::ERR_TOO_MANY_REDIRECTS)"
                    ),
                };
                fail_transport(result, target, err);
                return;
            }
            Follow::Next(n) => n,
            Follow::NetworkError(message) => {
                let err = TransportError {
                    kind: TransportKind::Other,
                    message,
                };
                fail_transport(result, target, err);
                return;
            }
        };
        let hop_shape = next_shape(&shape, &next);
        if !is_safe_method(&next.method) && !target.allow_unsafe_actual {
            result.verdict.warnings.push(Warning {
                code: ACTUAL_SKIPPED,
                message: format!(
                    "the redirect to '{}' was not followed: it would send {} again; set \
                     allow-unsafe-actual on this endpoint to let the probe follow it",
                    redact::text(&next.url),
                    next.method
                ),
            });
            return;
        }
        let origin_sent = if next.tainted {
            "null".to_string()
        } else {
            target.origin.clone()
        };
        let hop = cors::Hop {
            page_origin: &target.origin,
            origin_sent: &origin_sent,
            redirected_from: Some(&target.url),
            url: &next.url,
        };
        let mut kept = RedirectHop {
            url: next.url.clone(),
            origin: origin_sent.clone(),
            method: next.method.clone(),
            preflight_request: None,
            preflight: None,
            request: None,
            response: None,
        };
        let (needed, _) = cors::preflight_request_headers(&hop_shape);
        let mut preflight = None;
        if needed {
            let headers = preflight_headers(&origin_sent, &next.url, &hop_shape);
            kept.preflight_request = Some(redacted_request("OPTIONS", &next.url, &headers));
            match send(http, timeout, "OPTIONS", &next.url, &headers, false).await {
                Ok((resp, _)) => {
                    let v = cors::judge_hop(&hop, &hop_shape, Some(&resp), None);
                    kept.preflight = Some(bounded_for_keeping(resp.clone()));
                    preflight = Some(resp);
                    if !v.allowed {
                        result.verdict = v;
                        result.redirects.push(kept);
                        return;
                    }
                }
                Err(err) => {
                    fail_transport(result, target, err);
                    result.redirects.push(kept);
                    return;
                }
            }
        }
        let (m, headers) = actual_request(&origin_sent, &next.url, &hop_shape, token);
        kept.request = Some(redacted_request(&m, &next.url, &headers));
        let with_body = !is_safe_method(&m) && !next.body_dropped;
        match send(http, timeout, &m, &next.url, &headers, with_body).await {
            Ok((resp, _)) => {
                result.verdict = cors::judge_hop(&hop, &hop_shape, preflight.as_ref(), Some(&resp));
                kept.response = Some(bounded_for_keeping(resp.clone()));
                last = resp;
            }
            Err(err) => {
                fail_transport(result, target, err);
                result.redirects.push(kept);
                return;
            }
        }
        result.redirects.push(kept);
        url = next.url;
        method = next.method;
        shape = hop_shape;
        tainted = next.tainted;
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
