//! The prober against a real nginx: `add_header` without `always` drops CORS headers from
//! error responses, and two `add_header` lines double the origin. Skipped, with a note, when
//! nginx is not installed.

use crate::common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use corstop::cors::Stage;
use corstop::sources::event::Hypothesis;
use corstop::sources::probe::{ProbeClient, probe_once};

const NGINX: &str = "/usr/sbin/nginx";

/// Kills the nginx it started when the test ends, however it ends.
struct Nginx {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn config(port: u16) -> String {
    format!(
        r#"
daemon off;
master_process off;
worker_processes 1;
error_log stderr error;
pid nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path tmp;
    proxy_temp_path tmp;
    fastcgi_temp_path tmp;
    uwsgi_temp_path tmp;
    scgi_temp_path tmp;
    server {{
        listen 127.0.0.1:{port};
        # The common copy-pasted block: headers on the 204 preflight, and on success only.
        location /api/ {{
            if ($request_method = OPTIONS) {{
                add_header Access-Control-Allow-Origin "{ORIGIN}";
                add_header Access-Control-Allow-Credentials "true";
                add_header Access-Control-Allow-Methods "GET, PUT, OPTIONS";
                add_header Access-Control-Allow-Headers "authorization, content-type";
                add_header Vary "Origin";
                return 204;
            }}
            add_header Access-Control-Allow-Origin "{ORIGIN}";
            add_header Access-Control-Allow-Credentials "true";
            return 401;
        }}
        # Two layers each adding the header.
        location /double/ {{
            add_header Access-Control-Allow-Origin "{ORIGIN}";
            add_header Access-Control-Allow-Origin "{ORIGIN}";
            add_header Access-Control-Allow-Credentials "true";
            add_header Access-Control-Allow-Methods "GET, PUT, OPTIONS";
            add_header Access-Control-Allow-Headers "authorization, content-type";
            return 204;
        }}
    }}
}}
"#
    )
}

async fn start() -> Option<Nginx> {
    if !Path::new(NGINX).exists() {
        eprintln!("note: {NGINX} not found; nginx probe tests skipped (apt-get install -y nginx)");
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("tmp")).expect("tmp dir");
    std::fs::create_dir_all(dir.path().join("logs")).expect("logs dir");
    let port = free_port();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, config(port)).expect("write config");
    let child = Command::new(NGINX)
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start nginx");
    let nginx = Nginx {
        child,
        port,
        _dir: dir,
    };
    // Wait until it accepts connections (bounded: 200 x 25 ms).
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(nginx);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("nginx did not start listening on {port}");
}

#[tokio::test]
async fn nginx_add_header_without_always_loses_cors_on_401() {
    let Some(nginx) = start().await else {
        return;
    };
    let url = format!("http://127.0.0.1:{}/api/orders/1", nginx.port);
    let mut s = settings(&url, ORIGIN);
    s.actual = true;
    let mut t = target(&url, ORIGIN, spa());
    t.allow_unsafe_actual = true;
    let clock: corstop::model::time::Clock = std::sync::Arc::new(|| 0);
    let r = probe_once(&ProbeClient::new(&s), &t, &clock, None).await;
    assert_eq!(r.preflight.as_ref().map(|p| p.status), Some(204));
    assert_eq!(r.actual.as_ref().map(|a| a.status), Some(401));
    assert!(!r.verdict.allowed);
    assert_eq!(r.verdict.stage, Stage::Actual);
    assert_eq!(r.verdict.code, "actual-acao-missing");
    assert!(
        chrome(&r).contains(
            "No 'Access-Control-Allow-Origin' header is present on the requested resource."
        ),
        "{}",
        chrome(&r)
    );
    assert_eq!(r.verdict.hidden_status, Some(401));
    assert!(
        r.instance
            .as_deref()
            .unwrap_or("")
            .starts_with("server=nginx"),
        "{:?}",
        r.instance
    );
}

#[tokio::test]
async fn nginx_two_add_header_lines_double_the_origin() {
    let Some(nginx) = start().await else {
        return;
    };
    let url = format!("http://127.0.0.1:{}/double/x", nginx.port);
    let s = settings(&url, ORIGIN);
    let clock: corstop::model::time::Clock = std::sync::Arc::new(|| 0);
    let r = probe_once(
        &ProbeClient::new(&s),
        &target(&url, ORIGIN, spa()),
        &clock,
        None,
    )
    .await;
    assert_eq!(r.verdict.code, "acao-multiple");
    assert_eq!(r.verdict.hypothesis, Some(Hypothesis::H4));
    assert!(
        chrome(&r).contains(&format!("contains multiple values '{ORIGIN}, {ORIGIN}'")),
        "{}",
        chrome(&r)
    );
}
