//! The fleet view end to end: real `corstop agent` processes each follow their own log, a real
//! Prometheus scrapes them on loopback, and the dashboard started with `--prometheus` in a
//! pseudo-terminal shows the fleet's figures and its instances.
//!
//! Skipped, saying so, when Prometheus is not installed; failed instead with
//! `CORSTOP_REQUIRE_PROMETHEUS=1`.

#![cfg(unix)]

use std::io::Write;
use std::path::Path;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corstop::model::time::now_ms;

use crate::common;
use crate::common::prometheus::{Prometheus, PrometheusSetup, Target, available, prometheus_bin};
use crate::common::pty::{Session, screen};

const NGINX: &str = "$remote_addr [$time_iso8601] \"$request\" $status \"$http_origin\" \"$sent_http_access_control_allow_origin\"";
const APP: &str = "https://app.example";

/// A `corstop agent` following one log, stopped when dropped.
struct Agent {
    child: Child,
    stderr: Arc<Mutex<String>>,
    /// host:port of its /metrics.
    addr: String,
}

impl Agent {
    fn start(dir: &Path, log: &Path) -> Agent {
        let args = [
            "--listen".as_ref(),
            "127.0.0.1:0".as_ref(),
            "--log".as_ref(),
            log.as_os_str(),
            "--log-format".as_ref(),
            "nginx".as_ref(),
            "--nginx-format".as_ref(),
            NGINX.as_ref(),
        ];
        let (child, stderr) = common::agent::spawn(dir, args, &[]);
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            let text = stderr.lock().unwrap().clone();
            if let Some(rest) = text.split("address=").nth(1) {
                break rest.split_whitespace().next().unwrap().to_string();
            }
            assert!(
                Instant::now() < deadline,
                "the agent never listened:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        Agent {
            child,
            stderr,
            addr,
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn line(t: i64, method: &str, path: &str, client: &str, acao: &str, status: u16) -> String {
    let time = chrono::DateTime::from_timestamp_millis(t)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S+00:00");
    format!("{client} [{time}] \"{method} {path} HTTP/1.1\" {status} \"{APP}\" \"{acao}\"\n")
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// The screen once `done` holds of it, or a failure showing the last screen.
fn wait_screen(s: &mut Session, what: &str, done: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let text = screen(&s.output(), 120, 36).join("\n");
        if done(&text) {
            return text;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no {what} on the fleet screen:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_fleet_view_shows_the_agents_through_a_real_prometheus() {
    if !available("fleet view in a pty", &[("prometheus", prometheus_bin())]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (failing_log, healthy_log) = (dir.path().join("eu.log"), dir.path().join("us.log"));
    std::fs::write(&failing_log, "").unwrap();
    std::fs::write(&healthy_log, "").unwrap();
    let failing = Agent::start(dir.path(), &failing_log);
    let healthy = Agent::start(dir.path(), &healthy_log);

    let rt = common::runtime();
    let prom = rt.block_on(Prometheus::start(&PrometheusSetup {
        targets: vec![
            Target::new(failing.addr.clone()).label("region", "eu-west"),
            Target::new(healthy.addr.clone()).label("region", "us-east"),
        ],
        ..PrometheusSetup::default()
    }));
    rt.block_on(prom.wait_target_up(&failing.addr));
    rt.block_on(prom.wait_target_up(&healthy.addr));

    // One instance refuses every preflight on /api/orders; the other serves them.
    let t = now_ms() - 5_000;
    let mut bad = String::new();
    for i in 0..24 {
        bad += &line(t + i * 10, "OPTIONS", "/api/orders", "10.0.0.1", "-", 403);
    }
    let mut good = String::new();
    for i in 0..15 {
        good += &line(t + i * 10, "OPTIONS", "/api/orders", "10.0.1.1", APP, 204);
        good += &line(t + i * 10 + 5, "PUT", "/api/orders", "10.0.1.1", APP, 200);
    }
    append(&failing_log, &bad);
    append(&healthy_log, &good);
    rt.block_on(prom.wait_query("sum(corstop_http_requests_total)", |v| {
        v.first().is_some_and(|s| s.value == 54.0)
    }));

    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("corstop.toml");
    std::fs::write(&config, "[fleet]\nrefresh = \"1s\"\nstep = \"10s\"\n").unwrap();
    let args = [
        "--prometheus".into(),
        prom.url("").into(),
        "--config".into(),
        config.into_os_string(),
    ];
    let mut s = Session::start_sized(home, &args, None, 120, 36);
    s.first_frame();
    // The fleet's figures are the sum of both agents' logs: 54 requests, the 24 refused
    // preflights all from one origin, and the instances split with their own verdicts.
    let row_of = |screen: &str, needle: &str| -> String {
        screen
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_default()
            .to_string()
    };
    let overview = wait_screen(&mut s, "fleet figures and instances", |t| {
        t.contains("FLEET")
            && t.contains(&prom.url(""))
            && t.contains("2 agents, 2 up")
            && t.contains("54 requests")
            && t.contains("24/54")
            && row_of(t, "eu-west").contains("H2")
            && row_of(t, "us-east").contains("OK")
    });
    assert!(
        row_of(&overview, "eu-west").contains(&failing.addr),
        "{overview}"
    );
    assert!(
        row_of(&overview, "us-east").contains(&healthy.addr),
        "{overview}"
    );
    assert!(
        row_of(&overview, "eu-west").contains("DEGRADED"),
        "{overview}"
    );

    // `i` narrows the panels to one instance (in name order), then the next, then all again.
    let mut by_name = [(&failing.addr, 24), (&healthy.addr, 30)];
    by_name.sort();
    for (addr, n) in by_name {
        s.press(b"i");
        let showing = format!("showing {addr}");
        let requests = format!("{n} requests");
        wait_screen(&mut s, &showing, |t| {
            t.contains(&showing) && t.contains(&requests)
        });
    }
    s.press(b"i");
    wait_screen(&mut s, "the whole fleet again", |t| {
        !t.contains("showing") && t.contains("54 requests")
    });

    // The raw lines stay on the agents: the log view says where to read them.
    s.press(b"7");
    let failing_curl = format!("curl http://{}/metrics", failing.addr);
    wait_screen(&mut s, "the agents' addresses", |t| {
        t.contains("raw log lines") && t.contains(&failing_curl)
    });
    // Prometheus going away is the fleet source's error on screen, with the last figures kept.
    s.press(b"1");
    let server = prom.url("");
    drop(prom);
    let down = wait_screen(&mut s, "the fleet source's error", |t| {
        t.contains("last refresh failed") && t.contains(&server) && t.contains("54 requests")
    });
    assert!(down.contains("error") || down.contains("refused"), "{down}");
    let said = format!(
        "{}{}",
        failing.stderr.lock().unwrap(),
        healthy.stderr.lock().unwrap()
    );
    s.press(b"q");
    s.wait_exit();
    assert!(!said.contains("level=error"), "{said}");
}
