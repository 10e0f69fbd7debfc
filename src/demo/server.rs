//! The demo API: a small orders service with its own CORS handling, a bearer-token validator
//! and an identity provider endpoint, whose behaviour follows the incident [`Script`].
//!
//! The decision for a request is a plain function ([`decide`]) from the request and the demo
//! time to a [`Reply`]; the axum handler only reads the body, calls it, writes the log lines and
//! turns the reply into a response.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::logs::{self, HttpLogEntry, LogLine};
use super::script::{Phase, Script};
use crate::model::time::{Clock, EpochMs};

/// Origins the app's CORS policy admits.
pub const ALLOWED_ORIGINS: [&str; 3] = [
    "https://app.contoso.com",
    "https://admin.contoso.com",
    "https://contoso-portal.azurewebsites.net",
];
/// A partner page that calls the API but was never added to the CORS policy.
pub const UNLISTED_ORIGIN: &str = "https://partner.fabrikam.com";

const ALLOW_METHODS: &str = "GET,PUT,POST,DELETE";
const ALLOW_HEADERS: &str = "authorization,content-type";
const MAX_AGE_SECS: &str = "300";
/// Request bodies beyond this are refused (the demo only sends small JSON and forms).
const MAX_BODY: usize = 64 * 1024;
/// One successful validation in this many is written to the auth log, so the log carries
/// healthy evidence without drowning the failures.
const VALIDATED_SAMPLE: u64 = 25;

/// The API routes, by path shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Orders,
    Order,
    Products,
    Profile,
    Health,
    Token,
    Unknown,
}

impl Route {
    pub fn of(path: &str) -> Route {
        match path {
            "/api/orders" => Route::Orders,
            "/api/products" => Route::Products,
            "/api/profile" => Route::Profile,
            "/api/health" => Route::Health,
            "/auth/token" => Route::Token,
            _ => match path.strip_prefix("/api/orders/") {
                Some(id) if !id.is_empty() && !id.contains('/') => Route::Order,
                _ => Route::Unknown,
            },
        }
    }

    fn is_orders(self) -> bool {
        matches!(self, Route::Orders | Route::Order)
    }

    fn methods(self) -> &'static [&'static str] {
        match self {
            Route::Orders => &["GET", "PUT"],
            Route::Order => &["GET", "PUT", "DELETE"],
            Route::Products | Route::Profile | Route::Health => &["GET", "HEAD"],
            Route::Token => &["POST"],
            Route::Unknown => &[],
        }
    }

    fn needs_token(self) -> bool {
        matches!(self, Route::Orders | Route::Order | Route::Profile)
    }
}

/// What the server needs to know about a request.
#[derive(Clone, Debug, Default)]
pub struct Incoming<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub origin: Option<&'a str>,
    pub request_method: Option<&'a str>,
    pub authorization: Option<&'a str>,
    pub body: &'a [u8],
}

/// The server's answer plus the auth-log lines it caused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// In order; a name may repeat (that is the H4 fault).
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub auth_lines: Vec<String>,
}

impl Reply {
    fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
            auth_lines: Vec::new(),
        }
    }

    fn json(status: u16, body: String) -> Reply {
        let mut r = Reply::new(status);
        r.headers
            .push(("content-type", "application/json; charset=utf-8".into()));
        r.body = body;
        r
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

/// Per-server mutable bits the decision needs: counters for sampling and for writing the long
/// exception form once per expiry wave.
#[derive(Default)]
pub struct Counters {
    pub validated: AtomicU64,
    pub last_exception_wave: AtomicI64,
}

/// Which instance answers: the load balancer alternates.
pub fn instance_name(n: u64) -> &'static str {
    if n.is_multiple_of(2) {
        "web-1"
    } else {
        "web-2"
    }
}

fn allowed(origin: Option<&str>) -> Option<&str> {
    origin.filter(|o| ALLOWED_ORIGINS.contains(o))
}

/// Adds the app's CORS response headers, doubled on the orders routes during H4 where the
/// platform's CORS layer adds its own copy in front of the app's.
fn add_cors(
    mut r: Reply,
    origin: Option<&str>,
    route: Route,
    phase: Phase,
    instance: &str,
) -> Reply {
    r = r.header("vary", "Origin");
    let Some(origin) = allowed(origin) else {
        return r;
    };
    if phase == Phase::DoubleAcao && route.is_orders() {
        // One instance's platform layer was configured with `*`, the other with the list.
        let platform = if instance == "web-2" { "*" } else { origin };
        r = r.header("access-control-allow-origin", platform);
    }
    r.header("access-control-allow-origin", origin)
        .header("access-control-allow-credentials", "true")
}

/// `MM/dd/yyyy HH:mm:ss`, as the .NET bearer handler writes times into `WWW-Authenticate`.
fn dotnet_time(t: EpochMs) -> String {
    crate::model::time::to_datetime(t)
        .map(|dt| dt.format("%m/%d/%Y %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// An access token as the demo identity provider issues it: `demo.<subject>.<expiry ms>`.
pub fn issue_token(subject: &str, expires: EpochMs) -> String {
    format!("demo.{subject}.{expires}")
}

fn valid_subject(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Parses a token; `None` when it is not one of ours.
pub fn parse_token(token: &str) -> Option<(&str, EpochMs)> {
    let rest = token.strip_prefix("demo.")?;
    let (subject, exp) = rest.rsplit_once('.')?;
    if !valid_subject(subject) {
        return None;
    }
    Some((subject, exp.parse().ok()?))
}

enum TokenCheck<'a> {
    Missing,
    Malformed,
    Expired(EpochMs),
    Valid(&'a str),
}

fn check_token(authorization: Option<&str>, now: EpochMs) -> TokenCheck<'_> {
    let Some(value) = authorization else {
        return TokenCheck::Missing;
    };
    let value = value.trim();
    let token = match value.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
        _ => return TokenCheck::Malformed,
    };
    match parse_token(token) {
        None => TokenCheck::Malformed,
        Some((_, exp)) if now >= exp => TokenCheck::Expired(exp),
        Some((subject, _)) => TokenCheck::Valid(subject),
    }
}

/// Minimal `application/x-www-form-urlencoded` lookup.
fn form_value(body: &[u8], key: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn token_endpoint(
    script: &Script,
    req: &Incoming<'_>,
    now: EpochMs,
    phase: Phase,
    instance: &str,
) -> Reply {
    let grant = form_value(req.body, "grant_type").unwrap_or_default();
    let subject = match grant.as_str() {
        "password" => form_value(req.body, "username"),
        "refresh_token" => form_value(req.body, "refresh_token")
            .and_then(|rt| rt.strip_prefix("rt.").map(str::to_string)),
        _ => {
            let r = Reply::json(
                400,
                r#"{"error":"unsupported_grant_type","error_description":"Use grant_type=password or grant_type=refresh_token."}"#.into(),
            );
            return add_cors(r, req.origin, Route::Token, phase, instance);
        }
    };
    let Some(subject) = subject.filter(|s| valid_subject(s)) else {
        let r = Reply::json(
            400,
            r#"{"error":"invalid_request","error_description":"The grant is missing its subject."}"#.into(),
        );
        return add_cors(r, req.origin, Route::Token, phase, instance);
    };
    if let Some(wave) = script.refresh_outage(now) {
        let mut r = Reply::json(
            400,
            r#"{"error":"invalid_grant","error_description":"The grant could not be redeemed: the sign-in session was reset. Retry later."}"#.into(),
        );
        let op = if grant == "refresh_token" {
            "RefreshToken"
        } else {
            "SignIn"
        };
        r.auth_lines.push(logs::auth_line(
            now,
            op,
            &format!(
                "Grant rejected: invalid_grant. Session store unavailable since {}.",
                crate::model::time::format_rfc3339(wave)
            ),
        ));
        return add_cors(r, req.origin, Route::Token, phase, instance);
    }
    let expires = script.token_expiry(now);
    let body = serde_json::json!({
        "access_token": issue_token(&subject, expires),
        "token_type": "Bearer",
        "expires_in": (expires - now).max(0) / 1000,
        "refresh_token": format!("rt.{subject}"),
    })
    .to_string();
    add_cors(
        Reply::json(200, body).header("cache-control", "no-store"),
        req.origin,
        Route::Token,
        phase,
        instance,
    )
}

fn route_body(route: Route, method: &str, path: &str, subject: Option<&str>) -> Reply {
    match (route, method) {
        (Route::Health, _) => Reply::json(200, r#"{"status":"Healthy"}"#.into()),
        (Route::Products, _) => Reply::json(
            200,
            r#"[{"sku":"BK-1001","name":"Trail bike","price":849.0},{"sku":"HL-2040","name":"Helmet","price":59.5},{"sku":"LT-3310","name":"Front light","price":24.9}]"#.into(),
        ),
        (Route::Profile, _) => Reply::json(
            200,
            serde_json::json!({"subject": subject.unwrap_or("anonymous"), "tenant": "contoso"})
                .to_string(),
        ),
        (Route::Orders, "PUT") => Reply::json(200, r#"{"status":"saved"}"#.into()),
        (Route::Orders, _) => Reply::json(
            200,
            r#"[{"id":1042,"status":"open"},{"id":1043,"status":"shipped"}]"#.into(),
        ),
        (Route::Order, "DELETE") => Reply::new(204),
        (Route::Order, _) => {
            let id = path.rsplit('/').next().unwrap_or("");
            Reply::json(
                200,
                serde_json::json!({"id": id, "status": "open"}).to_string(),
            )
        }
        (Route::Token | Route::Unknown, _) => Reply::new(404),
    }
}

/// Decides the response to one request at demo time `now`, answered by `instance`.
pub fn decide(
    script: &Script,
    counters: &Counters,
    req: &Incoming<'_>,
    now: EpochMs,
    instance: &str,
) -> Reply {
    let (phase, _) = script.phase_at(now);
    let route = Route::of(req.path);
    if route == Route::Unknown {
        return Reply::new(404);
    }

    if req.method == "OPTIONS" {
        if req.origin.is_none() || req.request_method.is_none() {
            // Plain OPTIONS, not a CORS preflight.
            return Reply::new(204).header("allow", route.methods().join(", "));
        }
        if phase == Phase::PreflightAuth && route.is_orders() {
            // The auth middleware was moved in front of CORS: the browser never sends a token
            // on a preflight, so every preflight here is challenged.
            let mut r = Reply::new(401).header("www-authenticate", "Bearer");
            r.auth_lines.push(logs::auth_line(
                now,
                "ValidateToken",
                "No authorization token was found in the request.",
            ));
            return r;
        }
        let mut r = add_cors(Reply::new(204), req.origin, route, phase, instance);
        if allowed(req.origin).is_some() {
            r = r
                .header("access-control-allow-methods", ALLOW_METHODS)
                .header("access-control-allow-headers", ALLOW_HEADERS)
                .header("access-control-max-age", MAX_AGE_SECS);
        }
        return r;
    }

    if !route.methods().contains(&req.method) {
        return Reply::new(405).header("allow", route.methods().join(", "));
    }
    if route == Route::Token {
        return token_endpoint(script, req, now, phase, instance);
    }

    // Authentication runs before CORS for actual requests: its failures carry no CORS headers.
    let mut subject = None;
    if route != Route::Health {
        match check_token(req.authorization, now) {
            TokenCheck::Missing if route.needs_token() => {
                let mut r = Reply::new(401).header("www-authenticate", "Bearer");
                r.auth_lines.push(logs::auth_line(
                    now,
                    "ValidateToken",
                    "No authorization token was found in the request.",
                ));
                return r;
            }
            TokenCheck::Missing => {}
            TokenCheck::Malformed => {
                let mut r = Reply::new(401).header(
                    "www-authenticate",
                    r#"Bearer error="invalid_token", error_description="The token is malformed""#,
                );
                r.auth_lines.push(logs::auth_line(
                    now,
                    "ValidateToken",
                    "IDX14100: JWT is not well formed: the bearer value does not have the expected parts.",
                ));
                return r;
            }
            TokenCheck::Expired(valid_to) => {
                let mut r = Reply::new(401).header(
                    "www-authenticate",
                    format!(
                        r#"Bearer error="invalid_token", error_description="The token expired at '{}'""#,
                        dotnet_time(valid_to)
                    ),
                );
                // The first rejection of each expiry moment comes with the exception's stack,
                // as the .NET logger writes it; the rest are single lines.
                let previous = counters
                    .last_exception_wave
                    .fetch_max(valid_to, Ordering::Relaxed);
                r.auth_lines.push(if previous < valid_to {
                    logs::expired_exception_block(valid_to, now)
                } else {
                    logs::auth_line(now, "ValidateToken", &logs::expired_message(valid_to, now))
                });
                return r;
            }
            TokenCheck::Valid(s) => {
                subject = Some(s);
                let n = counters.validated.fetch_add(1, Ordering::Relaxed);
                if n.is_multiple_of(VALIDATED_SAMPLE) {
                    let mut r = route_body(route, req.method, req.path, subject);
                    r.auth_lines
                        .push(logs::auth_line(now, "ValidateToken", "Token validated."));
                    return add_cors(r, req.origin, route, phase, instance);
                }
            }
        }
    }
    let r = route_body(route, req.method, req.path, subject);
    add_cors(r, req.origin, route, phase, instance)
}

/// Shared by every request.
pub struct ServerState {
    pub script: Script,
    pub clock: Clock,
    pub http_log: LogLine,
    pub auth_log: LogLine,
    pub requests: AtomicU64,
    pub counters: Counters,
}

/// Synthetic server-side latency in milliseconds (the loopback round trip says nothing).
fn time_taken(route: Route, method: &str, status: u16) -> u32 {
    let (lo, hi) = match (route, method, status) {
        (_, "OPTIONS", _) => (1, 5),
        (_, _, 401) => (2, 9),
        (Route::Token, _, _) => (40, 160),
        (Route::Orders | Route::Order, "PUT" | "DELETE", _) => (30, 180),
        (Route::Health, _, _) => (1, 4),
        _ => (8, 70),
    };
    fastrand::u32(lo..=hi)
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

async fn handle(State(st): State<Arc<ServerState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let n = st.requests.fetch_add(1, Ordering::Relaxed);
    let instance = instance_name(n);
    let now = (st.clock)();
    let method = parts.method.as_str();
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or("");
    let h = &parts.headers;
    let (reply, body_len) = match to_bytes(body, MAX_BODY).await {
        Ok(bytes) => {
            let incoming = Incoming {
                method,
                path,
                origin: header_str(h, "origin"),
                request_method: header_str(h, "access-control-request-method"),
                authorization: header_str(h, "authorization"),
                body: &bytes,
            };
            (
                decide(&st.script, &st.counters, &incoming, now, instance),
                bytes.len(),
            )
        }
        Err(_) => (Reply::new(413), 0),
    };

    for line in &reply.auth_lines {
        st.auth_log.send(line.clone());
    }
    let host = header_str(h, "host").unwrap_or("127.0.0.1");
    let header_bytes: usize = h.iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum();
    st.http_log.send(logs::http_record(&HttpLogEntry {
        time: now,
        method,
        path,
        query,
        status: reply.status,
        time_taken_ms: time_taken(Route::of(path), method, reply.status),
        host,
        referer: header_str(h, "referer").unwrap_or(""),
        user_agent: header_str(h, "user-agent").unwrap_or(""),
        computer: instance,
        bytes_sent: reply.body.len() as u64,
        bytes_received: (body_len + header_bytes) as u64,
        numbers_as_strings: n % 9 == 4,
    }));

    into_response(reply, instance, parts.method == Method::HEAD)
}

fn into_response(reply: Reply, instance: &str, head: bool) -> Response {
    let mut resp = Response::new(if head {
        Body::empty()
    } else {
        Body::from(reply.body)
    });
    *resp.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    headers.append("server", HeaderValue::from_static("Kestrel"));
    headers.append(
        "x-instance",
        HeaderValue::from_str(instance).unwrap_or(HeaderValue::from_static("web")),
    );
    for (name, value) in reply.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.append(HeaderName::from_static(name), v);
        }
    }
    resp
}

/// Binds `127.0.0.1:0` and serves until `stop` resolves.
pub async fn spawn(
    state: Arc<ServerState>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let app = Router::new().fallback(handle).with_state(state);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::warn!(error = %e, "demo server stopped");
        }
    });
    Ok((addr, task))
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
