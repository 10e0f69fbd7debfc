//! The server behaviours and request shapes the browsers and corstop are compared on, and the
//! loopback servers that play them: the API on one origin and the page on another.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use corstop::cors::{Credentials, RequestShape};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// `{O}` in a header value is replaced by the request's `Origin`, `{OU}` by it in upper case.
pub struct Behaviour {
    pub name: &'static str,
    pub preflight_status: u16,
    pub preflight: Vec<(&'static str, &'static str)>,
    pub actual_status: u16,
    pub actual: Vec<(&'static str, &'static str)>,
    /// Where the actual request's 3xx points (`Location` is added), and what answers there.
    pub redirect: Option<Redirect>,
}

/// The second hop of a redirected actual request: `/f/<case>` on this server (same origin)
/// or on the other loopback name (another origin).
pub struct Redirect {
    pub cross_origin: bool,
    pub preflight: Vec<(&'static str, &'static str)>,
    pub status: u16,
    pub headers: Vec<(&'static str, &'static str)>,
}

const ACAO: &str = "Access-Control-Allow-Origin";
const ACAC: &str = "Access-Control-Allow-Credentials";
const ACAM: &str = "Access-Control-Allow-Methods";
const ACAH: &str = "Access-Control-Allow-Headers";
const METHODS: &str = "GET, PUT, POST, DELETE, PATCH, HEAD";
const HEADERS: &str = "authorization, content-type, x-trace, accept-language";

fn b(
    name: &'static str,
    preflight_status: u16,
    preflight: &[(&'static str, &'static str)],
    actual_status: u16,
    actual: &[(&'static str, &'static str)],
) -> Behaviour {
    Behaviour {
        name,
        preflight_status,
        preflight: preflight.to_vec(),
        actual_status,
        actual: actual.to_vec(),
        redirect: None,
    }
}

/// A behaviour whose actual request is answered `status` with `hop` headers and a `Location`
/// to the second hop.
fn redirecting(
    name: &'static str,
    status: u16,
    hop: &[(&'static str, &'static str)],
    cross_origin: bool,
    then: &[(&'static str, &'static str)],
) -> Behaviour {
    Behaviour {
        redirect: Some(Redirect {
            cross_origin,
            preflight: ok_pre(&[]),
            status: 200,
            headers: then.to_vec(),
        }),
        ..b(name, 204, &ok_pre(&[]), status, hop)
    }
}

/// A preflight answer that lets every shape through, with `extra` lines after it.
fn ok_pre(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![
        (ACAO, "{O}"),
        (ACAC, "true"),
        (ACAM, METHODS),
        (ACAH, HEADERS),
        ("Vary", "Origin"),
    ];
    v.extend_from_slice(extra);
    v
}

/// `ok_pre` with the lines named `without` left out and `with` added.
fn pre_with(
    without: &[&str],
    with: &[(&'static str, &'static str)],
) -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<_> = ok_pre(&[])
        .into_iter()
        .filter(|(n, _)| !without.contains(n))
        .collect();
    v.extend_from_slice(with);
    v
}

const OK_ACT: &[(&str, &str)] = &[(ACAO, "{O}"), (ACAC, "true"), ("Vary", "Origin")];

pub fn behaviours() -> Vec<Behaviour> {
    let moved = [("Location", "/moved")];
    vec![
        b("reflect-creds", 204, &ok_pre(&[]), 200, OK_ACT),
        b(
            "reflect-no-acac",
            204,
            &pre_with(&[ACAC], &[]),
            200,
            &[(ACAO, "{O}")],
        ),
        b(
            "wildcard-all",
            204,
            &[(ACAO, "*"), (ACAM, "*"), (ACAH, "*")],
            200,
            &[(ACAO, "*")],
        ),
        b(
            "wildcard-with-acac",
            204,
            &[(ACAO, "*"), (ACAC, "true"), (ACAM, "*"), (ACAH, "*")],
            200,
            &[(ACAO, "*"), (ACAC, "true")],
        ),
        b(
            "no-cors-headers",
            204,
            &[(ACAM, METHODS), (ACAH, HEADERS)],
            200,
            &[],
        ),
        b(
            "acao-missing-on-actual",
            204,
            &ok_pre(&[]),
            200,
            &[(ACAC, "true")],
        ),
        b(
            "acao-doubled-same",
            204,
            &ok_pre(&[(ACAO, "{O}")]),
            200,
            &[(ACAO, "{O}"), (ACAO, "{O}"), (ACAC, "true")],
        ),
        b(
            "acao-doubled-different",
            204,
            &ok_pre(&[(ACAO, "https://other.example")]),
            200,
            &[
                (ACAO, "{O}"),
                (ACAO, "https://other.example"),
                (ACAC, "true"),
            ],
        ),
        b(
            "acao-comma-list",
            204,
            &pre_with(&[ACAO], &[(ACAO, "{O}, https://other.example")]),
            200,
            &[(ACAO, "{O}, https://other.example"), (ACAC, "true")],
        ),
        b(
            "acao-empty",
            204,
            &pre_with(&[ACAO], &[(ACAO, "")]),
            200,
            &[(ACAO, ""), (ACAC, "true")],
        ),
        b(
            "acao-padded",
            204,
            &pre_with(&[ACAO], &[(ACAO, "   {O}   ")]),
            200,
            &[(ACAO, "  {O}  "), (ACAC, "true")],
        ),
        b(
            "acao-upper-case",
            204,
            &pre_with(&[ACAO], &[(ACAO, "{OU}")]),
            200,
            &[(ACAO, "{OU}"), (ACAC, "true")],
        ),
        b(
            "acao-trailing-slash",
            204,
            &pre_with(&[ACAO], &[(ACAO, "{O}/")]),
            200,
            &[(ACAO, "{O}/"), (ACAC, "true")],
        ),
        b(
            "acao-null",
            204,
            &pre_with(&[ACAO], &[(ACAO, "null")]),
            200,
            &[(ACAO, "null"), (ACAC, "true")],
        ),
        b(
            "acao-other-origin",
            204,
            &pre_with(&[ACAO], &[(ACAO, "https://other.example")]),
            200,
            &[(ACAO, "https://other.example"), (ACAC, "true")],
        ),
        b(
            "acao-star-and-origin",
            204,
            &ok_pre(&[(ACAO, "*")]),
            200,
            &[(ACAO, "{O}"), (ACAO, "*"), (ACAC, "true")],
        ),
        b(
            "acac-upper-case",
            204,
            &pre_with(&[ACAC], &[(ACAC, "TRUE")]),
            200,
            &[(ACAO, "{O}"), (ACAC, "TRUE")],
        ),
        b(
            "acac-false",
            204,
            &pre_with(&[ACAC], &[(ACAC, "false")]),
            200,
            &[(ACAO, "{O}"), (ACAC, "false")],
        ),
        b(
            "acac-doubled",
            204,
            &ok_pre(&[(ACAC, "true")]),
            200,
            &[(ACAO, "{O}"), (ACAC, "true"), (ACAC, "true")],
        ),
        b("methods-missing", 204, &pre_with(&[ACAM], &[]), 200, OK_ACT),
        b(
            "methods-lower-case",
            204,
            &pre_with(&[ACAM], &[(ACAM, "get, put, post, delete, patch, head")]),
            200,
            OK_ACT,
        ),
        b(
            "methods-star-with-acac",
            204,
            &pre_with(&[ACAM], &[(ACAM, "*")]),
            200,
            OK_ACT,
        ),
        b(
            "methods-odd-separators",
            204,
            &pre_with(&[ACAM], &[(ACAM, "GET,,PUT ,POST,  DELETE,PATCH,")]),
            200,
            OK_ACT,
        ),
        b(
            "methods-invalid-token",
            204,
            &pre_with(&[ACAM], &[(ACAM, "GET, PU T, DELETE")]),
            200,
            OK_ACT,
        ),
        b(
            "methods-split-lines",
            204,
            &pre_with(&[ACAM], &[(ACAM, "GET, PUT"), (ACAM, "DELETE, PATCH")]),
            200,
            OK_ACT,
        ),
        b("headers-missing", 204, &pre_with(&[ACAH], &[]), 200, OK_ACT),
        b(
            "headers-star",
            204,
            &pre_with(&[ACAH], &[(ACAH, "*")]),
            200,
            OK_ACT,
        ),
        b(
            "headers-star-no-acac",
            204,
            &pre_with(&[ACAH, ACAC], &[(ACAH, "*")]),
            200,
            &[(ACAO, "{O}")],
        ),
        b(
            "headers-star-and-authorization",
            204,
            &pre_with(&[ACAH], &[(ACAH, "*, Authorization")]),
            200,
            OK_ACT,
        ),
        b(
            "headers-upper-case",
            204,
            &pre_with(
                &[ACAH],
                &[(
                    ACAH,
                    "AUTHORIZATION, CONTENT-TYPE, X-TRACE, ACCEPT-LANGUAGE",
                )],
            ),
            200,
            OK_ACT,
        ),
        b(
            "headers-invalid-token",
            204,
            &pre_with(&[ACAH], &[(ACAH, "authorization, content type")]),
            200,
            OK_ACT,
        ),
        b(
            "headers-content-type-only",
            204,
            &pre_with(&[ACAH], &[(ACAH, "content-type")]),
            200,
            OK_ACT,
        ),
        b("preflight-200", 200, &ok_pre(&[]), 200, OK_ACT),
        b("preflight-206", 206, &ok_pre(&[]), 200, OK_ACT),
        b("preflight-401-with-cors", 401, &ok_pre(&[]), 200, OK_ACT),
        b(
            "preflight-401-bare",
            401,
            &[("WWW-Authenticate", "Bearer")],
            200,
            OK_ACT,
        ),
        b("preflight-403-with-cors", 403, &ok_pre(&[]), 200, OK_ACT),
        b("preflight-404-with-cors", 404, &ok_pre(&[]), 200, OK_ACT),
        b("preflight-405-bare", 405, &[("Allow", "GET")], 200, OK_ACT),
        b("preflight-500-with-cors", 500, &ok_pre(&[]), 200, OK_ACT),
        b("preflight-503-bare", 503, &[], 200, OK_ACT),
        b("preflight-301", 301, &ok_pre(&moved), 200, OK_ACT),
        b("preflight-302", 302, &ok_pre(&moved), 200, OK_ACT),
        b("preflight-307", 307, &ok_pre(&moved), 200, OK_ACT),
        b(
            "actual-401-bare",
            204,
            &ok_pre(&[]),
            401,
            &[("WWW-Authenticate", "Bearer")],
        ),
        b("actual-500-bare", 204, &ok_pre(&[]), 500, &[]),
        b("actual-401-with-cors", 204, &ok_pre(&[]), 401, OK_ACT),
        b("actual-403-with-cors", 204, &ok_pre(&[]), 403, OK_ACT),
        b(
            "no-vary",
            204,
            &pre_with(&["Vary"], &[]),
            200,
            &[(ACAO, "{O}"), (ACAC, "true")],
        ),
        redirecting("redirect-302-same-origin", 302, OK_ACT, false, OK_ACT),
        redirecting("redirect-307-same-origin", 307, OK_ACT, false, OK_ACT),
        redirecting("redirect-303-same-origin", 303, OK_ACT, false, OK_ACT),
        redirecting("redirect-301-same-origin", 301, OK_ACT, false, OK_ACT),
        redirecting("redirect-without-cors-on-3xx", 302, &[], false, OK_ACT),
        redirecting("redirect-cross-origin-echo", 302, OK_ACT, true, OK_ACT),
        redirecting(
            "redirect-cross-origin-page-only",
            302,
            OK_ACT,
            true,
            &[(ACAO, "{PAGE}"), (ACAC, "true")],
        ),
        redirecting(
            "redirect-cross-origin-wildcard",
            307,
            OK_ACT,
            true,
            &[(ACAO, "*")],
        ),
        redirecting("redirect-to-login-without-cors", 302, OK_ACT, true, &[]),
    ]
}

/// A request the page makes: the `fetch` init in JavaScript and the same request for corstop.
pub struct Shape {
    pub name: &'static str,
    pub method: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<&'static str>,
    pub credentials: Credentials,
}

impl Shape {
    pub fn request_shape(&self) -> RequestShape {
        RequestShape {
            name: self.name.to_string(),
            method: self.method.to_string(),
            headers: self
                .headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.clone()))
                .collect(),
            credentials: self.credentials,
        }
    }

    /// The second argument of `fetch`, as a JavaScript object literal.
    pub fn fetch_init(&self) -> String {
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(n, v)| format!("{}: {}", js_string(n), js_string(v)))
            .collect();
        let mut init = format!(
            "{{method: {}, credentials: {}, headers: {{{}}}",
            js_string(self.method),
            js_string(self.credentials.as_str()),
            headers.join(", ")
        );
        if let Some(body) = self.body {
            init.push_str(&format!(", body: {}", js_string(body)));
        }
        init.push('}');
        init
    }
}

fn js_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

pub fn shapes() -> Vec<Shape> {
    let auth = || ("Authorization", "Bearer t0k3n".to_string());
    let json = || ("Content-Type", "application/json".to_string());
    vec![
        Shape {
            name: "put-auth-json",
            method: "PUT",
            headers: vec![auth(), json()],
            body: Some("{}"),
            credentials: Credentials::SameOrigin,
        },
        Shape {
            name: "put-auth-json-include",
            method: "PUT",
            headers: vec![auth(), json()],
            body: Some("{}"),
            credentials: Credentials::Include,
        },
        Shape {
            name: "delete-auth",
            method: "DELETE",
            headers: vec![auth()],
            body: None,
            credentials: Credentials::Omit,
        },
        Shape {
            name: "patch-json-include",
            method: "PATCH",
            headers: vec![json()],
            body: Some("{}"),
            credentials: Credentials::Include,
        },
        Shape {
            name: "get",
            method: "GET",
            headers: vec![],
            body: None,
            credentials: Credentials::SameOrigin,
        },
        Shape {
            name: "get-include",
            method: "GET",
            headers: vec![],
            body: None,
            credentials: Credentials::Include,
        },
        Shape {
            name: "post-text-include",
            method: "POST",
            headers: vec![("Content-Type", "text/plain".into())],
            body: Some("x"),
            credentials: Credentials::Include,
        },
        Shape {
            name: "head",
            method: "HEAD",
            headers: vec![],
            body: None,
            credentials: Credentials::SameOrigin,
        },
        Shape {
            name: "post-xml",
            method: "POST",
            headers: vec![("Content-Type", "application/xml".into())],
            body: Some("<a/>"),
            credentials: Credentials::SameOrigin,
        },
        Shape {
            name: "get-custom-header",
            method: "GET",
            headers: vec![("X-Trace", "1".into())],
            body: None,
            credentials: Credentials::SameOrigin,
        },
        Shape {
            name: "get-long-accept-language",
            method: "GET",
            // Safelisted by name, but over 128 bytes: it needs a preflight.
            headers: vec![("Accept-Language", "en-US,en;q=0.9,".repeat(10))],
            body: None,
            credentials: Credentials::SameOrigin,
        },
    ]
}

/// One behaviour × shape, with its own path so that no preflight cache or connection is
/// shared between cases and console lines name their case.
pub struct Case {
    pub id: String,
    pub shape: usize,
}

pub fn cases(behaviours: &[Behaviour], shapes: &[Shape]) -> Vec<Case> {
    let mut out = Vec::new();
    for b in behaviours {
        for (si, s) in shapes.iter().enumerate() {
            out.push(Case {
                id: format!("{}.{}", b.name, s.name),
                shape: si,
            });
        }
    }
    out
}

/// A loopback HTTP/1.1 server answering `/c/<behaviour>.<shape>` as the behaviour says,
/// every header line written as given (duplicates, odd case and spacing kept).
pub struct ApiServer {
    pub addr: SocketAddr,
    _task: tokio::task::JoinHandle<()>,
}

/// What the API server needs to write absolute `Location`s and fixed page origins.
#[derive(Clone)]
struct Names {
    /// `http://127.0.0.1:port`: the API's origin.
    same: String,
    /// `http://localhost:port`: the same server under another origin.
    other: String,
    page: Arc<Mutex<String>>,
}

impl ApiServer {
    /// `page_origin` is what `{PAGE}` stands for in header values.
    pub async fn start(
        behaviours: Arc<Vec<Behaviour>>,
        page_origin: Arc<Mutex<String>>,
    ) -> ApiServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let names = Names {
            same: format!("http://{addr}"),
            other: format!("http://localhost:{}", addr.port()),
            page: page_origin,
        };
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let behaviours = behaviours.clone();
                let names = names.clone();
                tokio::spawn(async move {
                    let _ = serve_api(sock, &behaviours, &names).await;
                });
            }
        });
        ApiServer { addr, _task: task }
    }

    pub fn url(&self, case: &Case) -> String {
        format!("http://{}/c/{}", self.addr, case.id)
    }
}

struct Head {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
}

/// Reads a request head and its body (by `Content-Length`), so that closing the connection
/// never resets it under the browser.
async fn read_request(sock: &mut TcpStream) -> Option<Head> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 {
            return None;
        }
    };
    let text = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut have = buf.len() - end;
    while have < length {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        have += n;
    }
    Some(Head {
        method,
        path,
        headers,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

async fn serve_api(
    mut sock: TcpStream,
    behaviours: &[Behaviour],
    names: &Names,
) -> std::io::Result<()> {
    let Some(req) = read_request(&mut sock).await else {
        return Ok(());
    };
    let origin = req
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("origin"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let (second_hop, case) = match (req.path.strip_prefix("/c/"), req.path.strip_prefix("/f/")) {
        (Some(case), _) => (false, case),
        (_, Some(case)) => (true, case),
        _ => (false, ""),
    };
    let name = case.split('.').next().unwrap_or("");
    let preflight = req.method == "OPTIONS";
    let behaviour = behaviours.iter().find(|b| b.name == name);
    let mut location = None;
    let (status, headers): (u16, &[(&str, &str)]) = match (behaviour, second_hop) {
        (Some(b), false) if preflight => (b.preflight_status, &b.preflight),
        (Some(b), false) => {
            if let Some(r) = &b.redirect {
                let host = if r.cross_origin {
                    &names.other
                } else {
                    &names.same
                };
                location = Some(format!("{host}/f/{case}"));
            }
            (b.actual_status, &b.actual)
        }
        (
            Some(Behaviour {
                redirect: Some(r), ..
            }),
            true,
        ) if preflight => (204, &r.preflight),
        (
            Some(Behaviour {
                redirect: Some(r), ..
            }),
            true,
        ) => (r.status, &r.headers),
        _ => (404, &[]),
    };
    let page = names.page.lock().unwrap().clone();
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (n, v) in headers {
        let v = v
            .replace("{OU}", &origin.to_ascii_uppercase())
            .replace("{O}", &origin)
            .replace("{PAGE}", &page);
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    if let Some(l) = location {
        out.push_str(&format!("Location: {l}\r\n"));
    }
    let body = if req.method == "HEAD" || status == 204 || preflight {
        ""
    } else {
        "{\"ok\":true}"
    };
    out.push_str(&format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    sock.write_all(out.as_bytes()).await?;
    sock.shutdown().await
}

/// What the page reported for each case: whether it could read the response.
pub type Readable = Arc<Mutex<HashMap<String, bool>>>;

/// Serves the page that runs every case with `fetch` and reports back to this server.
pub struct PageServer {
    pub addr: SocketAddr,
    pub readable: Readable,
    pub done: Arc<tokio::sync::Notify>,
    _task: tokio::task::JoinHandle<()>,
}

impl PageServer {
    pub async fn start(page: String) -> PageServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let readable: Readable = Arc::default();
        let done = Arc::new(tokio::sync::Notify::new());
        let page = Arc::new(page);
        let (r, d) = (readable.clone(), done.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (page, r, d) = (page.clone(), r.clone(), d.clone());
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut sock).await else {
                        return;
                    };
                    let body = if let Some(q) = req.path.strip_prefix("/r?") {
                        // `id=<case>&ok=<0|1>`
                        let mut id = None;
                        let mut ok = None;
                        for pair in q.split('&') {
                            match pair.split_once('=') {
                                Some(("id", v)) => id = Some(v.to_string()),
                                Some(("ok", v)) => ok = Some(v == "1"),
                                _ => {}
                            }
                        }
                        if let (Some(id), Some(ok)) = (id, ok) {
                            r.lock().unwrap().insert(id, ok);
                        }
                        String::new()
                    } else if req.path == "/done" {
                        d.notify_one();
                        String::new()
                    } else {
                        page.to_string()
                    };
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = sock.write_all(head.as_bytes()).await;
                    let _ = sock.write_all(body.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        PageServer {
            addr,
            readable,
            done,
            _task: task,
        }
    }
}

/// The page: every case through `fetch`, a few at a time, each result reported to the page's
/// own origin, then `/done`.
pub fn page(cases: &[Case], shapes: &[Shape], api: &ApiServer) -> String {
    let mut list = String::from("[\n");
    for c in cases {
        list.push_str(&format!(
            "[{}, {}, {}],\n",
            js_string(&c.id),
            js_string(&api.url(c)),
            shapes[c.shape].fetch_init()
        ));
    }
    list.push(']');
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>corstop oracle</title></head>
<body><script>
const cases = {list};
async function one([id, url, init]) {{
  let ok = 0;
  try {{ const r = await fetch(url, init); await r.text(); ok = 1; }} catch (e) {{ ok = 0; }}
  await fetch('/r?id=' + encodeURIComponent(id) + '&ok=' + ok);
}}
(async () => {{
  let next = 0;
  async function worker() {{ while (next < cases.length) {{ await one(cases[next++]); }} }}
  await Promise.all([worker(), worker(), worker(), worker()]);
  await fetch('/done');
}})();
</script></body></html>"#
    )
}
