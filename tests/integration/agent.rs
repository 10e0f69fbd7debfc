//! `corstop agent` as a process: real log files, a real probe target on loopback, /metrics
//! scraped over HTTP and checked against what the log holds, readiness, SIGHUP reload, SIGTERM,
//! usage errors, the series bound on an adversarial log; and, when Debian's `prometheus` is
//! installed (required with `CORSTOP_REQUIRE_PROMETHEUS=1`), `promtool check metrics` on the real
//! output and a real Prometheus scraping it as OpenMetrics.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corstop::headless::agent::Caps;
use corstop::headless::agent::metrics::worst_case_series;
use corstop::model::time::now_ms;

use super::common;

const X: &str = "https://app.example";
const EVIL: &str = "https://evil.example";
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A running agent; killed when dropped, however the test ends.
struct Agent {
    child: Child,
    stderr: Arc<Mutex<String>>,
    base: String,
}

impl Agent {
    fn start(dir: &Path, args: &[&str]) -> Agent {
        Agent::start_with(dir, args, &[])
    }

    fn start_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Agent {
        let mut all = vec!["--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let (child, stderr) = common::agent::spawn(dir, all, env);
        let mut agent = Agent {
            child,
            stderr,
            base: String::new(),
        };
        // logfmt writes `address=127.0.0.1:PORT`, JSON `"address":"127.0.0.1:PORT"`.
        let text = agent.wait_stderr("address", Duration::from_secs(20));
        let addr = text
            .split("address")
            .nth(1)
            .and_then(|rest| {
                let rest = rest.trim_start_matches(['=', '"', ':']);
                rest.split(|c: char| c.is_whitespace() || c == '"').next()
            })
            .unwrap()
            .to_string();
        agent.base = format!("http://{addr}");
        agent
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stderr holds `what` (counting from the start), returning all of it.
    fn wait_stderr(&mut self, what: &str, cap: Duration) -> String {
        let deadline = Instant::now() + cap;
        loop {
            let text = self.stderr();
            if text.contains(what) {
                return text;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the agent exited ({status}) before saying '{what}':\n{text}");
            }
            assert!(Instant::now() < deadline, "no '{what}' in:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn get(&self, path: &str, accept: Option<&str>) -> (u16, String, String) {
        let url = format!("{}{path}", self.base);
        common::runtime().block_on(async {
            let mut req = reqwest::Client::new().get(&url);
            if let Some(a) = accept {
                req = req.header("accept", a);
            }
            let resp = req.send().await.expect("request");
            let status = resp.status().as_u16();
            let ct = resp
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            (status, ct, resp.text().await.unwrap())
        })
    }

    fn metrics(&self) -> Metrics {
        let (status, ct, body) = self.get("/metrics", None);
        assert_eq!(status, 200);
        assert_eq!(ct, "text/plain; version=0.0.4; charset=utf-8");
        Metrics::parse(&body)
    }

    /// Scrapes until `ok` holds on the metrics.
    fn metrics_until(&self, what: &str, mut ok: impl FnMut(&Metrics) -> bool) -> Metrics {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let m = self.metrics();
            if ok(&m) {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "never {what}:\n{}\n{}",
                m.text,
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_ready(&self) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, ct, body) = self.get("/readyz", None);
            assert_eq!(ct, "application/json");
            let json: serde_json::Value = serde_json::from_str(&body).unwrap();
            if status == 200 {
                assert_eq!(json["ready"], true);
                return json;
            }
            assert_eq!(status, 503, "{body}");
            assert!(json["reason"].is_string(), "{body}");
            assert!(Instant::now() < deadline, "never ready: {body}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), sig)
            .expect("signal");
    }

    fn wait_exit(&mut self, cap: Duration) -> ExitStatus {
        let deadline = Instant::now() + cap;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "still running:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The samples of one exposition, by `name{labels}` as written.
struct Metrics {
    text: String,
    samples: BTreeMap<String, f64>,
}

impl Metrics {
    fn parse(text: &str) -> Metrics {
        let samples = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let (series, value) = l.rsplit_once(' ').expect(l);
                (series.to_string(), value.parse::<f64>().expect(l))
            })
            .collect();
        Metrics {
            text: text.to_string(),
            samples,
        }
    }

    fn get(&self, series: &str) -> Option<f64> {
        self.samples.get(series).copied()
    }

    fn value(&self, series: &str) -> f64 {
        self.get(series)
            .unwrap_or_else(|| panic!("no {series} in:\n{}", self.text))
    }

    /// Every sample of `name` whose labels include all of `labels` (`key="value"` each).
    fn matching(&self, name: &str, labels: &[&str]) -> Vec<(&str, f64)> {
        self.samples
            .iter()
            .filter(|(s, _)| {
                s.strip_prefix(name)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('{'))
                    && labels.iter().all(|l| s.contains(l))
            })
            .map(|(s, v)| (s.as_str(), *v))
            .collect()
    }

    fn sum(&self, name: &str, labels: &[&str]) -> f64 {
        self.matching(name, labels).iter().map(|(_, v)| v).sum()
    }
}

/// The nginx `log_format` the test logs are written in: client, time, request, status,
/// `Origin` and `Access-Control-Allow-Origin` (comma-joined when doubled).
const NGINX: &str = "$remote_addr [$time_iso8601] \"$request\" $status \"$http_origin\" \"$sent_http_access_control_allow_origin\"";

/// The flags that read [`NGINX`] lines.
fn nginx_flags() -> [&'static str; 4] {
    ["--log-format", "nginx", "--nginx-format", NGINX]
}

/// One log line: `origin` and `acao` `-` when absent.
fn line(
    t: i64,
    method: &str,
    path: &str,
    client: &str,
    origin: &str,
    acao: &str,
    status: u16,
) -> String {
    let time = chrono::DateTime::from_timestamp_millis(t)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S+00:00");
    format!("{client} [{time}] \"{method} {path} HTTP/1.1\" {status} \"{origin}\" \"{acao}\"\n")
}

/// The incident log: what each assertion below counts, written over the last few minutes.
struct Traffic {
    text: String,
    lines: usize,
}

fn traffic(start: i64) -> Traffic {
    let mut text = String::new();
    let mut t = start;
    let mut tick = || {
        t += 500;
        t
    };
    // 37 accepted preflights on /api/orders from X, each followed by its request.
    for i in 0..37 {
        let client = format!("10.0.0.{}", i % 9);
        text += &line(tick(), "OPTIONS", "/api/orders", &client, X, X, 204);
        text += &line(tick(), "PUT", "/api/orders", &client, X, X, 200);
    }
    // 5 preflights refused by auth in front of CORS.
    for _ in 0..5 {
        text += &line(tick(), "OPTIONS", "/api/orders", "10.0.1.1", X, "-", 401);
    }
    // 4 answers with a doubled Access-Control-Allow-Origin.
    for i in 0..4 {
        let doubled = format!("{X}, {X}");
        text += &line(
            tick(),
            "GET",
            &format!("/api/orders/{}", 100 + i),
            "10.0.2.1",
            X,
            &doubled,
            200,
        );
    }
    // 3 requests without an origin (health checks).
    for _ in 0..3 {
        text += &line(tick(), "GET", "/health", "10.0.3.1", "-", "-", 200);
    }
    let lines = text.lines().count();
    Traffic { text, lines }
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// A probe target: `/api/orders/{id}` allowing X only (tower-http answers other origins
/// without `Access-Control-Allow-Origin`).
fn probe_target(rt: &tokio::runtime::Runtime) -> String {
    use axum::http::{HeaderValue, Method, header};
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(HeaderValue::from_static(X))
        .allow_methods([Method::GET, Method::PUT])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
    rt.block_on(common::serve_orders(cors)).0
}

/// Probes of every URL (critical) from every origin, every second.
fn probe_config(dir: &Path, urls: &[&str], origins: &[String]) -> PathBuf {
    let origins: Vec<String> = origins.iter().map(|o| format!("\"{o}\"")).collect();
    let mut text = format!(
        "[probe]\ninterval = \"1s\"\ntimeout = \"2s\"\norigins = [{}]\n",
        origins.join(", ")
    );
    for url in urls {
        text += &format!("\n[[probe.endpoint]]\nurl = \"{url}\"\ncritical = true\n");
    }
    let path = dir.join("agent.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `promtool check metrics` on `text`: `None` when promtool is not installed (and not
/// required), else its verdict and output.
fn promtool_check(text: &str) -> Option<(bool, String)> {
    let required = std::env::var("CORSTOP_REQUIRE_PROMETHEUS").is_ok_and(|v| v == "1");
    let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"]
        .into_iter()
        .find(|p| Path::new(p).is_file());
    let Some(promtool) = promtool else {
        assert!(
            !required,
            "CORSTOP_REQUIRE_PROMETHEUS=1 but promtool is not installed (apt-get install -y prometheus)"
        );
        eprintln!(
            "promtool check metrics: SKIPPED (promtool not installed: apt-get install -y prometheus)"
        );
        return None;
    };
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), said))
}

#[test]
fn counters_equal_what_the_log_holds_and_probes_name_chromiums_reason() {
    let rt = common::runtime();
    let url = probe_target(&rt);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let start = now_ms() - 5 * 60_000;
    let first = traffic(start);
    std::fs::write(&log, &first.text).unwrap();
    // A second endpoint where nothing listens: no answer at all.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/api/closed", l.local_addr().unwrap())
    };
    let config = probe_config(
        dir.path(),
        &[&url, &closed],
        &[X.to_string(), EVIL.to_string()],
    );
    let mut agent = Agent::start(
        dir.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
        ]
        .iter()
        .chain(&nginx_flags())
        .copied()
        .collect::<Vec<_>>(),
    );
    let ready = agent.wait_ready();
    assert_eq!(ready["sources"][0]["state"], "following", "{ready}");
    let (status, _, health) = agent.get("/healthz", None);
    assert_eq!(status, 200);
    assert!(health.contains("\"following\""), "{health}");

    let source = format!("source=\"{}\"", log.display());
    let lines_of = |m: &Metrics| m.sum("corstop_source_lines_total", &[&source]);
    let m = agent.metrics_until("read the whole log and probed both origins", |m| {
        lines_of(m) == first.lines as f64 && m.matching("corstop_probe_success", &[]).len() == 4
    });
    let req = |route: &str, origin: &str, mc: &str, sc: &str, status: &str| {
        format!(
            "corstop_http_requests_total{{route=\"{route}\",origin=\"{origin}\",method_class=\"{mc}\",status_class=\"{sc}\",status=\"{status}\"}}"
        )
    };
    assert_eq!(
        m.value(&req("/api/orders", X, "preflight", "2xx", "204")),
        37.0
    );
    assert_eq!(m.value(&req("/api/orders", X, "actual", "2xx", "")), 37.0);
    assert_eq!(
        m.value(&req("/api/orders", X, "preflight", "4xx", "401")),
        5.0
    );
    assert_eq!(
        m.value(&req("/api/orders/{id}", X, "actual", "2xx", "")),
        4.0
    );
    assert_eq!(m.value(&req("/health", "(none)", "actual", "2xx", "")), 3.0);
    assert_eq!(
        m.sum("corstop_http_requests_total", &[]),
        first.lines as f64,
        "every request once"
    );
    let failed = |route: &str, mc: &str, reason: &str| {
        format!(
            "corstop_http_failed_total{{route=\"{route}\",origin=\"{X}\",method_class=\"{mc}\",reason=\"{reason}\"}}"
        )
    };
    assert_eq!(m.value(&failed("/api/orders", "preflight", "status")), 5.0);
    assert_eq!(
        m.value(&failed("/api/orders/{id}", "actual", "acao_multiple")),
        4.0
    );
    assert_eq!(m.sum("corstop_http_failed_total", &[]), 9.0);
    assert_eq!(
        m.value(&format!("corstop_source_parse_errors_total{{{source}}}")),
        0.0
    );
    assert_eq!(m.value(&format!("corstop_source_up{{{source}}}")), 1.0);

    // The probes: X allowed; the other origin refused, the header naming X.
    let endpoint = format!("endpoint=\"{url}\"");
    let ok = m.matching(
        "corstop_probe_success",
        &[&endpoint, &format!("origin=\"{X}\"")],
    );
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].1, 1.0);
    let refused = m.matching(
        "corstop_probe_success",
        &[&endpoint, &format!("origin=\"{EVIL}\"")],
    );
    assert_eq!(refused[0].1, 0.0);
    let reasons = m.matching(
        "corstop_probe_cors_error",
        &[&endpoint, &format!("origin=\"{EVIL}\"")],
    );
    assert_eq!(reasons.len(), 1, "{}", m.text);
    assert!(
        reasons[0]
            .0
            .contains("reason=\"PreflightAllowOriginMismatch\""),
        "{}",
        reasons[0].0
    );
    assert!(m.sum("corstop_probe_runs_total", &["result=\"allowed\""]) >= 1.0);
    assert!(m.sum("corstop_probe_runs_total", &["result=\"blocked\""]) >= 1.0);
    // Unreachable: failing (0) with no CORS reason, counted as an error.
    let unreachable = format!("endpoint=\"{closed}\"");
    let down = m.matching("corstop_probe_success", &[&unreachable]);
    assert_eq!(down.iter().map(|(_, v)| *v).collect::<Vec<_>>(), [0.0, 0.0]);
    assert!(
        m.matching("corstop_probe_cors_error", &[&unreachable])
            .is_empty()
    );
    assert!(
        m.sum(
            "corstop_probe_runs_total",
            &[&unreachable, "result=\"error\""]
        ) >= 2.0
    );
    assert_eq!(
        m.sum(
            "corstop_probe_runs_total",
            &[&unreachable, "result=\"blocked\""]
        ),
        0.0
    );
    assert!(
        m.sum(
            "corstop_probe_duration_seconds_count",
            &["stage=\"preflight\""]
        ) >= 2.0
    );
    assert_eq!(
        m.value("corstop_route_critical{route=\"/api/orders/{id}\"}"),
        1.0
    );
    assert_eq!(
        m.matching("corstop_status", &[])
            .iter()
            .map(|(_, v)| v)
            .sum::<f64>(),
        1.0,
        "one-hot"
    );
    assert_eq!(m.matching("corstop_hypothesis_score", &[]).len(), 5);
    assert!(m.text.contains("corstop_build_info{version=\""));

    // Followed lines add to the counters, once each.
    let more = line(
        now_ms() - 1000,
        "OPTIONS",
        "/api/orders",
        "10.0.0.1",
        X,
        X,
        204,
    )
    .repeat(6);
    append(&log, &more);
    let m = agent.metrics_until("counted the appended lines", |m| {
        lines_of(m) == (first.lines + 6) as f64
    });
    assert_eq!(
        m.value(&req("/api/orders", X, "preflight", "2xx", "204")),
        43.0
    );

    // Prometheus asks for OpenMetrics and gets it; curl and promtool get the classic format.
    let (status, ct, om) = agent.get(
        "/metrics",
        Some("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
    );
    assert_eq!((status, ct.as_str()), (200, OPENMETRICS));
    assert!(om.ends_with("# EOF\n"));
    assert!(om.contains("# TYPE corstop_http_requests counter\n"));
    assert!(om.contains(&format!(
        "{} 43\n",
        req("/api/orders", X, "preflight", "2xx", "204")
    )));
    let (_, _, classic) = agent.get("/metrics", None);
    if let Some((ok, said)) = promtool_check(&classic) {
        assert!(
            ok,
            "promtool check metrics refused the output:\n{said}\n{classic}"
        );
        eprintln!(
            "promtool check metrics: passed ({} series)",
            Metrics::parse(&classic).samples.len()
        );
    }

    agent.signal(nix::sys::signal::Signal::SIGTERM);
    let status = agent.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", agent.stderr());
    assert!(
        agent.stderr().contains("stopped signal=\"SIGTERM\""),
        "{}",
        agent.stderr()
    );
}

#[test]
fn sighup_reloads_the_configuration_and_keeps_it_when_the_new_one_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    let t = now_ms() - 60_000;
    let body = |n: usize| -> String {
        let mut s = String::new();
        for i in 0..n {
            s += &line(
                t + i as i64 * 100,
                "OPTIONS",
                "/api/orders",
                "10.0.0.1",
                X,
                X,
                204,
            );
        }
        s
    };
    std::fs::write(&a, body(3)).unwrap();
    std::fs::write(&b, body(5)).unwrap();
    let config = dir.path().join("corstop.toml");
    let logs = |paths: &[&Path]| -> String {
        paths
            .iter()
            .map(|p| format!("[[log]]\npath = \"{}\"\nformat = \"nginx\"\n", p.display()))
            .fold(
                format!("[formats]\nnginx-format = '{NGINX}'\n\n"),
                |a, b| a + &b,
            )
    };
    std::fs::write(&config, logs(&[&a])).unwrap();
    let mut agent = Agent::start(dir.path(), &["--config", config.to_str().unwrap()]);
    agent.wait_ready();
    let lines = |m: &Metrics, p: &Path| {
        m.get(&format!(
            "corstop_source_lines_total{{source=\"{}\"}}",
            p.display()
        ))
    };
    agent.metrics_until("read a.log", |m| lines(m, &a) == Some(3.0));

    // A broken file is refused: the running sources go on.
    std::fs::write(&config, "[[log]]\npath = 42\n").unwrap();
    agent.signal(nix::sys::signal::Signal::SIGHUP);
    agent.wait_stderr("reload refused", Duration::from_secs(10));
    append(
        &a,
        &line(t + 1000, "GET", "/api/orders", "10.0.0.1", X, X, 200),
    );
    agent.metrics_until("still following a.log", |m| lines(m, &a) == Some(4.0));

    // b.log added; the label caps cannot change under a running Prometheus: said, not applied.
    let more = format!("{}\n[agent]\nmax-origin-labels = 5\n", logs(&[&a, &b]));
    std::fs::write(&config, more).unwrap();
    agent.signal(nix::sys::signal::Signal::SIGHUP);
    let said = agent.wait_stderr("configuration reloaded", Duration::from_secs(10));
    assert!(
        said.contains("the [agent] settings change only with a restart"),
        "{said}"
    );
    let m = agent.metrics_until("read b.log", |m| lines(m, &b) == Some(5.0));
    // a.log kept running: nothing of it was counted twice.
    assert_eq!(lines(&m, &a), Some(4.0));
    assert_eq!(
        m.sum(
            "corstop_http_requests_total",
            &["method_class=\"preflight\""]
        ),
        8.0,
        "{}",
        m.text
    );

    agent.signal(nix::sys::signal::Signal::SIGINT);
    assert_eq!(agent.wait_exit(Duration::from_secs(10)).code(), Some(0));
}

#[test]
fn usage_errors_exit_2_naming_what_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let out = Command::new(env!("CARGO_BIN_EXE_corstop"))
            .arg("agent")
            .args(args)
            .envs(env.iter().copied())
            .current_dir(dir.path())
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&[], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("nothing to watch"), "{err}");
    let (code, err) = run(&["--log", "x.log", "--listen", "nowhere"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--listen: 'nowhere' is not an address"),
        "{err}"
    );
    let (code, err) = run(&["--log", "x.log"], &[("CORSTOP_LISTEN", "300.0.0.1:1")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("CORSTOP_LISTEN: '300.0.0.1:1'"), "{err}");
    let (code, err) = run(&["--log", "x.log", "--log-output", "xml"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--log-output"), "{err}");
}

#[test]
fn json_diagnostics_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    std::fs::write(&log, line(now_ms(), "GET", "/", "10.0.0.1", "-", "-", 200)).unwrap();
    let mut agent = Agent::start(
        dir.path(),
        &[
            "--log",
            log.to_str().unwrap(),
            "--log-output",
            "json",
            "--log-format",
            "nginx",
            "--nginx-format",
            NGINX,
        ],
    );
    agent.wait_ready();
    agent.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(agent.wait_exit(Duration::from_secs(10)).code(), Some(0));
    let text = agent.stderr();
    for l in text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{l}");
    }
    assert!(text.contains("\"address\":\"127.0.0.1:"), "{text}");
}

/// Letters only, so that route templating keeps each name as it is.
fn word(mut i: usize) -> String {
    let mut s = String::new();
    loop {
        s.push((b'a' + (i % 26) as u8) as char);
        i /= 26;
        if i == 0 {
            return s;
        }
    }
}

#[test]
fn series_stay_within_the_stated_bound_on_an_adversarial_log() {
    let rt = common::runtime();
    let url = probe_target(&rt);
    let dir = tempfile::tempdir().unwrap();
    const SOURCES: usize = 6;
    let now = now_ms() - 60_000;
    let mut paths = Vec::new();
    // Every route × origin × status × method past the caps, spread over the sources; then a
    // tail of one-off routes and origins (thousands of each).
    let statuses: Vec<u16> = corstop::headless::agent::metrics::PREFLIGHT_STATUSES
        .iter()
        .copied()
        .chain([101, 206, 304, 418, 599, 0])
        .collect();
    let mut texts = vec![String::new(); SOURCES];
    let mut n = 0usize;
    let mut put = |method: &str, path: &str, origin: &str, status: u16| {
        let acao = match n % 3 {
            0 => format!("{origin}, {origin}"),
            1 => "-".to_string(),
            _ => origin.to_string(),
        };
        let client = format!("10.1.{}.{}", n % 250, n % 7);
        texts[n % SOURCES] += &line(now + n as i64, method, path, &client, origin, &acao, status);
        n += 1;
    };
    for r in 0..40 {
        for o in 0..14 {
            for &status in &statuses {
                for method in ["OPTIONS", "GET"] {
                    let origin = format!("https://{}.example", word(o));
                    put(method, &format!("/{}/x", word(r)), &origin, status);
                }
            }
        }
    }
    for i in 0..5_000 {
        let origin = format!("https://{}.example", word(1_000 + i));
        put("OPTIONS", &format!("/{}/y", word(1_000 + i)), &origin, 204);
    }
    let lines = n;
    for (s, text) in texts.iter().enumerate() {
        let path = dir.path().join(format!("s{s}.log"));
        std::fs::write(&path, text).unwrap();
        paths.push(path.display().to_string());
    }
    // More probe keys than the cap: 40 origins.
    let origins: Vec<String> = (0..40)
        .map(|i| format!("https://p{}.example", word(i)))
        .collect();
    let config = probe_config(dir.path(), &[&url], &origins);
    let agent = Agent::start(
        dir.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "--log",
            &paths.join(","),
        ]
        .iter()
        .chain(&nginx_flags())
        .copied()
        .collect::<Vec<_>>(),
    );
    agent.wait_ready();
    let m = agent.metrics_until("probed every origin", |m| {
        m.sum("corstop_source_lines_total", &[]) == lines as f64
            && m.sum("corstop_probe_runs_total", &[]) >= origins.len() as f64
    });
    let caps = Caps::default();
    let bound = worst_case_series(&caps, SOURCES);
    let series = m.samples.len();
    eprintln!("adversarial log: {series} series; bound {bound} for {SOURCES} sources");
    assert!(series <= bound, "{series} series > {bound}");
    // The store's 8,192 cumulative keys fold the rest into `(other)` before the label caps
    // multiply out, so the bound is not reached; a third of it is.
    assert!(series * 3 > bound, "{series} series: the log is too tame");
    // The caps were reached: the bound is not met by a log too tame to test it.
    let distinct = |label: &str| {
        m.samples
            .keys()
            .filter(|s| s.starts_with("corstop_http_requests_total{"))
            .filter_map(|s| s.split(&format!("{label}=\"")).nth(1)?.split('"').next())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    assert_eq!(distinct("route"), caps.routes + 1);
    assert_eq!(distinct("origin"), caps.origins + 1);
    assert!(distinct("status") >= 10);
    let probe_keys: std::collections::BTreeSet<&str> = m
        .samples
        .keys()
        .filter(|s| s.starts_with("corstop_probe_runs_total{"))
        .filter_map(|s| s.split("origin=\"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(probe_keys.len(), corstop::store::totals::MAX_PROBE_KEYS + 1);
    assert!(probe_keys.contains("(other)"));
    // Never a client address or a raw path.
    assert!(!m.text.contains("10.1."), "client addresses exported");
    if let Some((ok, said)) = promtool_check(&m.text) {
        assert!(ok, "{said}");
    }
}

/// Kills a helper process when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Prometheus itself scrapes the agent: it asks for OpenMetrics, and what it stores is what
/// the log holds.
#[test]
fn prometheus_scrapes_what_the_log_holds() {
    let required = std::env::var("CORSTOP_REQUIRE_PROMETHEUS").is_ok_and(|v| v == "1");
    let prometheus = Path::new("/usr/bin/prometheus");
    if !prometheus.is_file() {
        assert!(
            !required,
            "CORSTOP_REQUIRE_PROMETHEUS=1 but /usr/bin/prometheus is not installed"
        );
        eprintln!("Prometheus scrape: SKIPPED (apt-get install -y prometheus)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let t = now_ms() - 60_000;
    let text: String = (0..12)
        .map(|i| line(t + i * 100, "OPTIONS", "/api/orders", "10.0.0.1", X, X, 204))
        .collect();
    std::fs::write(&log, text).unwrap();
    let agent = Agent::start_with(
        dir.path(),
        &["--log", log.to_str().unwrap()]
            .iter()
            .chain(&nginx_flags())
            .copied()
            .collect::<Vec<_>>(),
        &[("CORSTOP_TRACE", "info,corstop::headless::agent=debug")],
    );
    agent.wait_ready();
    let target = agent.base.trim_start_matches("http://").to_string();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: corstop\n    \
             static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let _prometheus = Killed(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );
    let query = |q: &str| -> Option<f64> {
        let url = format!("http://127.0.0.1:{port}/api/v1/query");
        common::runtime().block_on(async {
            let resp = reqwest::Client::new()
                .get(&url)
                .query(&[("query", q)])
                .send()
                .await
                .ok()?;
            let json: serde_json::Value = serde_json::from_str(&resp.text().await.ok()?).ok()?;
            json["data"]["result"][0]["value"][1].as_str()?.parse().ok()
        })
    };
    let q = format!(
        "corstop_http_requests_total{{route=\"/api/orders\",origin=\"{X}\",status=\"204\"}}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if query(&q) == Some(12.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never stored the 12 preflights (up = {:?})",
            query("up{job=\"corstop\"}")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(query("up{job=\"corstop\"}"), Some(1.0));
    let said = agent.stderr();
    assert!(said.contains("scrape format=OpenMetrics"), "{said}");
    assert!(!said.contains("scrape format=Prometheus"), "{said}");
    assert_eq!(query("corstop_status_code"), Some(0.0));
    assert_eq!(
        query("count(corstop_hypothesis_score)"),
        Some(5.0),
        "every gauge family came through"
    );
}
