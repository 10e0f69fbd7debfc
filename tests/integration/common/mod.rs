//! Test servers on 127.0.0.1:0: a raw HTTP/1.1 server whose every response byte the test
//! controls, and axum servers behind tower-http's `CorsLayer`. `prometheus` starts a real
//! Prometheus and Alertmanager for the fleet tests.
#![allow(dead_code)]

pub mod agent;
pub mod prometheus;
#[cfg(unix)]
pub mod pty;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use corstop::cors::{Credentials, RequestShape};
use corstop::sources::probe::{EndpointSpec, ProbeSettings, ProbeTarget};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const ORIGIN: &str = "https://app.example";

/// Serves `/api/orders/{id}` with axum: GET 200, PUT 401 (an expired token), behind `cors`.
/// Returns the URL of order 7.
pub async fn serve_orders(
    cors: tower_http::cors::CorsLayer,
) -> (String, tokio::task::JoinHandle<()>) {
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/api/orders/{id}",
            get(|| async { "{}" }).put(|| async { axum::http::StatusCode::UNAUTHORIZED }),
        )
        .layer(cors);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/api/orders/7"), task)
}

/// A one-worker runtime for tests that drive the binary while serving from this process.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A request as the raw server received it.
#[derive(Clone, Debug)]
pub struct SeenRequest {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl SeenRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the raw server does with a request.
pub enum Reply {
    /// Write these bytes and close.
    Raw(Vec<u8>),
    /// Wait, then write these bytes and close.
    Delayed(std::time::Duration, Vec<u8>),
    /// Read the request and never answer.
    Hang,
    /// A status line followed by header lines without end (until the client gives up).
    EndlessHeaders,
}

/// Builds a response from a status line and header lines; `Content-Length: 0` and
/// `Connection: close` are added.
pub fn response(status_line: &str, headers: &[(&str, &str)]) -> Reply {
    let mut s = format!("HTTP/1.1 {status_line}\r\n");
    for (n, v) in headers {
        s.push_str(&format!("{n}: {v}\r\n"));
    }
    s.push_str("Content-Length: 0\r\nConnection: close\r\n\r\n");
    Reply::Raw(s.into_bytes())
}

pub struct RawServer {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<SeenRequest>>>,
    /// Most requests being answered at the same moment.
    pub max_in_flight: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl RawServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.seen.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_head(sock: &mut TcpStream) -> Option<SeenRequest> {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 2048];
    loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let mut lines = head.split("\r\n");
            let first = lines.next()?;
            let mut parts = first.split(' ');
            let method = parts.next()?.to_string();
            let path = parts.next()?.to_string();
            let headers = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
                .collect();
            return Some(SeenRequest {
                method,
                path,
                headers,
            });
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    }
}

async fn endless_headers(sock: &mut TcpStream) {
    if sock.write_all(b"HTTP/1.1 200 OK\r\n").await.is_err() {
        return;
    }
    let filler = "x".repeat(1000);
    // Stops at 64 MB at the latest; the client is expected to hang up long before.
    for i in 0..65_536u32 {
        let line = format!("X-Filler-{i}: {filler}\r\n");
        if sock.write_all(line.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Starts a raw server; `respond(request, n)` decides the reply to the n-th request (from 0).
pub async fn raw_server<F>(respond: F) -> RawServer
where
    F: Fn(&SeenRequest, usize) -> Reply + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let respond = Arc::new(respond);
    let counter = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_in_flight = Arc::new(AtomicUsize::new(0));
    let max2 = max_in_flight.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let respond = respond.clone();
            let seen = seen2.clone();
            let counter = counter.clone();
            let in_flight = in_flight.clone();
            let max_in_flight = max2.clone();
            tokio::spawn(async move {
                let Some(req) = read_head(&mut sock).await else {
                    return;
                };
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                max_in_flight.fetch_max(now, Ordering::SeqCst);
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let reply = respond(&req, n);
                if let Ok(mut v) = seen.lock() {
                    v.push(req);
                }
                match reply {
                    Reply::Raw(bytes) => {
                        let _ = sock.write_all(&bytes).await;
                        let _ = sock.shutdown().await;
                    }
                    Reply::Delayed(pause, bytes) => {
                        tokio::time::sleep(pause).await;
                        let _ = sock.write_all(&bytes).await;
                        let _ = sock.shutdown().await;
                    }
                    Reply::Hang => {
                        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                    }
                    Reply::EndlessHeaders => endless_headers(&mut sock).await,
                }
                in_flight.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    RawServer {
        addr,
        seen,
        max_in_flight,
        task,
    }
}

/// A raw server answering OPTIONS with `preflight` and everything else with `actual`.
pub async fn split_server(preflight: Vec<(&str, &str)>, status: &str) -> RawServer {
    split_server_full(preflight, "204 No Content", Vec::new(), status).await
}

pub async fn split_server_full(
    preflight: Vec<(&str, &str)>,
    preflight_status: &str,
    actual: Vec<(&str, &str)>,
    actual_status: &str,
) -> RawServer {
    let pf: Vec<(String, String)> = preflight
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let ac: Vec<(String, String)> = actual
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let pf_status = preflight_status.to_string();
    let ac_status = actual_status.to_string();
    raw_server(move |req, _| {
        let (status, headers) = if req.method == "OPTIONS" {
            (&pf_status, &pf)
        } else {
            (&ac_status, &ac)
        };
        let h: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        response(status, &h)
    })
    .await
}

/// The CORS headers of a preflight that lets the SPA default shape through from [`ORIGIN`].
pub fn good_preflight() -> Vec<(&'static str, &'static str)> {
    vec![
        ("Access-Control-Allow-Origin", ORIGIN),
        ("Access-Control-Allow-Credentials", "true"),
        ("Access-Control-Allow-Methods", "GET, PUT, OPTIONS"),
        (
            "Access-Control-Allow-Headers",
            "authorization, content-type",
        ),
        ("Vary", "Origin"),
    ]
}

pub fn target(url: &str, origin: &str, shape: RequestShape) -> ProbeTarget {
    ProbeTarget {
        url: url.to_string(),
        origin: origin.to_string(),
        shape,
        critical: true,
        allow_unsafe_actual: false,
    }
}

/// The usual SPA request from a cookie-based page: credentials included, so the server must
/// answer `Access-Control-Allow-Credentials: true` and a specific origin.
pub fn spa() -> RequestShape {
    RequestShape {
        credentials: Credentials::Include,
        ..RequestShape::spa_default()
    }
}

pub fn shape(method: &str, headers: &[(&str, &str)], credentials: Credentials) -> RequestShape {
    RequestShape {
        name: format!("{method} test"),
        method: method.to_string(),
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        credentials,
    }
}

/// Settings with short timeouts for one URL and origin.
pub fn settings(url: &str, origin: &str) -> ProbeSettings {
    let mut s: ProbeSettings = toml_settings("timeout = \"2s\"");
    s.origins = vec![origin.to_string()];
    s.endpoint = vec![EndpointSpec {
        url: url.to_string(),
        critical: true,
        origins: None,
        shapes: None,
        allow_unsafe_actual: false,
    }];
    s
}

pub fn toml_settings(text: &str) -> ProbeSettings {
    toml::from_str(text).expect("settings")
}

/// The Chrome console text for a failure, for `contains` assertions.
pub fn chrome(r: &corstop::sources::event::ProbeResult) -> &str {
    r.verdict.chrome_message.as_deref().unwrap_or("")
}

/// A rendered buffer as text, a line per row, each cell's symbol as drawn.
pub fn buffer_text(buf: &ratatui::buffer::Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}
