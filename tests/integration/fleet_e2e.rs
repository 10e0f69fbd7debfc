//! A fleet end to end: three real `corstop agent` processes on loopback, each following its own
//! log written by the test (one with preflights refused by auth in front of CORS on a critical
//! route, one healthy, one answering with a doubled `Access-Control-Allow-Origin`), scraped by a
//! real Prometheus that loads the shipped rules, which sends to a real Alertmanager running the
//! shipped alertmanager.yml, which posts to a loopback webhook.
//!
//! It checks through the Prometheus HTTP API that the fleet-wide figures are the sums of what
//! the test wrote, that the page alert fires and reaches the paging receiver while the incident
//! goes on, and that the receiver is told it resolved once the failing lines stop.
//!
//! Skipped, saying so, when Prometheus or Alertmanager is not installed; with
//! `CORSTOP_REQUIRE_PROMETHEUS=1` their absence fails instead.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corstop::model::time::now_ms;

use crate::common::prometheus::{
    self as prom, Alertmanager, Prometheus, PrometheusSetup, Sample, Target, Webhook,
};

const X: &str = "https://app.example";
const PAGE: &str = "CorstopCrossOriginFailuresPage";
/// The critical route: the probe endpoint `/api/orders/7` covers it.
const ORDERS: &str = "/api/orders/{id}";

/// The nginx `log_format` of the generated logs: client, time, request, status, `Origin` and
/// `Access-Control-Allow-Origin` (comma-joined when doubled).
const NGINX: &str = "$remote_addr [$time_iso8601] \"$request\" $status \"$http_origin\" \"$sent_http_access_control_allow_origin\"";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped page condition averages over 10 minutes, checks the last 2 and waits 10 minutes
/// before it fires; a test cannot wait that long. The rules Prometheus loads here are the
/// shipped files with only these durations shortened, so the expressions under test are the
/// shipped ones (promtool's unit tests in deploy/prometheus/tests run them at their real
/// durations, in virtual time):
///
/// - range `[10m]` → `[20s]` and `[2m]` → `[6s]` (the page's two windows, in the recording
///   rules; the scrape and evaluation intervals are 1 s, so 6 s still holds several samples);
/// - `* 600 >= 10` → `* 20 >= 10`: "10 requests in the long window", with the window's new
///   length in seconds;
/// - `for: 10m` → `for: 4s`, on the page alert only.
///
/// Every other rule keeps its windows (5 minutes to 3 days) and `for:` (2 to 15 minutes), so
/// within this test's minute none of them can fire and the page is the only alert sent.
const WINDOWS: [(&str, &str); 3] = [
    ("[10m]", "[20s]"),
    ("[2m]", "[6s]"),
    ("* 600 >= 10", "* 20 >= 10"),
];

/// The shipped rule files with [`WINDOWS`] applied: (file name, text).
fn faster_rules() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut found = [0usize; WINDOWS.len()];
    for name in ["corstop-recording.rules.yml", "corstop-alerts.rules.yml"] {
        let mut text = std::fs::read_to_string(repo().join("deploy/prometheus").join(name))
            .unwrap_or_else(|e| panic!("deploy/prometheus/{name}: {e}"));
        for (i, (from, to)) in WINDOWS.iter().enumerate() {
            found[i] += text.matches(from).count();
            text = text.replace(from, to);
        }
        if name == "corstop-alerts.rules.yml" {
            let start = text
                .find(&format!("- alert: {PAGE}\n"))
                .unwrap_or_else(|| panic!("no {PAGE} in the shipped alerts"));
            let end = text[start + 1..]
                .find("- alert: ")
                .map_or(text.len(), |e| start + 1 + e);
            let block = &text[start..end];
            assert_eq!(
                block.matches("for: 10m\n").count(),
                1,
                "the page alert's `for:` changed:\n{block}"
            );
            let faster = block.replace("for: 10m\n", "for: 4s\n");
            text.replace_range(start..end, &faster);
        }
        out.push((name.to_string(), text));
    }
    for ((from, _), n) in WINDOWS.iter().zip(found) {
        assert!(n > 0, "the shipped rules no longer have `{from}`");
    }
    out
}

/// The shipped alertmanager.yml with the webhook's URLs, and with its waits shortened: the
/// first notification of a group after 1 s rather than 10 or 30, and the next one (the
/// resolution) after 1 s rather than the 5 minutes of `group_interval`.
fn alertmanager_config(hook: &Webhook) -> String {
    let mut config =
        std::fs::read_to_string(repo().join("deploy/alertmanager/alertmanager.yml")).unwrap();
    for (from, to) in [
        ("http://127.0.0.1:5001/page", hook.url("/page")),
        ("http://127.0.0.1:5001/tickets", hook.url("/tickets")),
        ("group_wait: 30s", "group_wait: 1s".to_string()),
        ("group_wait: 10s", "group_wait: 1s".to_string()),
        ("group_interval: 5m", "group_interval: 1s".to_string()),
    ] {
        assert!(
            config.contains(from),
            "alertmanager.yml no longer has {from}"
        );
        config = config.replace(from, &to);
    }
    config
}

/// What the test wrote into one log, counted as the agent's metrics label it.
#[derive(Clone, Debug, Default, PartialEq)]
struct Tally {
    /// (method_class, status) → requests.
    requests: BTreeMap<(String, String), u64>,
    /// reason → failed requests.
    failed: BTreeMap<String, u64>,
    lines: u64,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        for (k, v) in &other.requests {
            *self.requests.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.failed {
            *self.failed.entry(k.clone()).or_default() += v;
        }
        self.lines += other.lines;
    }
}

/// One log being written, with its tally.
struct Log {
    path: PathBuf,
    text: String,
    tally: Tally,
}

impl Log {
    fn new(path: PathBuf) -> Log {
        Log {
            path,
            text: String::new(),
            tally: Tally::default(),
        }
    }

    /// Adds one request; `origin` and `acao` are `-` when absent. `failed` is why the page
    /// counts it failed (as the metrics name it), if it does.
    #[allow(clippy::too_many_arguments)]
    fn request(
        &mut self,
        t: i64,
        method: &str,
        path: &str,
        origin: &str,
        acao: &str,
        status: u16,
        failed: Option<&str>,
    ) {
        let time = chrono::DateTime::from_timestamp_millis(t)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S+00:00");
        let client = format!("10.0.{}.{}", self.tally.lines % 7, self.tally.lines % 200);
        self.text += &format!(
            "{client} [{time}] \"{method} {path} HTTP/1.1\" {status} \"{origin}\" \"{acao}\"\n"
        );
        let (class, code) = if method == "OPTIONS" {
            ("preflight", status.to_string())
        } else {
            ("actual", String::new())
        };
        *self
            .tally
            .requests
            .entry((class.to_string(), code))
            .or_default() += 1;
        if let Some(reason) = failed {
            *self.tally.failed.entry(reason.to_string()).or_default() += 1;
        }
        self.tally.lines += 1;
    }

    /// A preflight accepted and its PUT.
    fn ok_pair(&mut self, t: i64, id: u64) {
        let path = format!("/api/orders/{id}");
        self.request(t, "OPTIONS", &path, X, X, 204, None);
        self.request(t + 1, "PUT", &path, X, X, 200, None);
    }

    /// A preflight refused by the authentication in front of CORS (H2): 401, no CORS headers.
    fn refused_preflight(&mut self, t: i64, id: u64) {
        let path = format!("/api/orders/{id}");
        self.request(t, "OPTIONS", &path, X, "-", 401, Some("status"));
    }

    /// A request without an origin (a health check): counted, never failed.
    fn health(&mut self, t: i64) {
        self.request(t, "GET", "/health", "-", "-", 200, None);
    }

    /// Writes what was added since the last flush at the end of the file.
    fn flush(&mut self) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .unwrap();
        f.write_all(self.text.as_bytes()).unwrap();
        self.text.clear();
    }
}

/// A running `corstop agent`; killed when dropped, however the test ends.
struct Agent {
    child: Child,
    stderr: Arc<Mutex<String>>,
    addr: String,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Agent {
    /// Starts an agent on a free loopback port, following `log` and probing as `config` says;
    /// retried on another port if that one was taken meanwhile.
    async fn start(dir: &Path, log: &Path, config: &Path) -> Agent {
        let mut said = String::new();
        for _ in 0..3 {
            let addr = format!("127.0.0.1:{}", prom::free_port());
            let args = [
                "--listen",
                &addr,
                "--log",
                log.to_str().unwrap(),
                "--log-format",
                "nginx",
                "--nginx-format",
                NGINX,
                "--config",
                config.to_str().unwrap(),
            ];
            let (child, stderr) = crate::common::agent::spawn(dir, args, &[]);
            let mut agent = Agent {
                child,
                stderr,
                addr,
            };
            let client = reqwest::Client::builder().no_proxy().build().unwrap();
            let ready = prom::wait_for(
                &format!("the agent on {} to be ready or exit", agent.addr),
                || agent.stderr.lock().unwrap().clone(),
                || {
                    let exited = matches!(agent.child.try_wait(), Ok(Some(_)));
                    let url = format!("http://{}/readyz", agent.addr);
                    let client = client.clone();
                    async move {
                        if exited {
                            return Some(false);
                        }
                        let r = client.get(url).send().await.ok()?;
                        (r.status() == 200).then_some(true)
                    }
                },
            )
            .await;
            if ready {
                return agent;
            }
            said = agent.stderr.lock().unwrap().clone();
        }
        panic!("the agent exited before it was ready, three times:\n{said}");
    }
}

/// `samples` as a map from the values of `labels` to the value, zeros left out (a counter the
/// agent exports at 0 and one it does not export say the same).
fn by_labels(samples: &[Sample], labels: &[&str]) -> BTreeMap<Vec<String>, u64> {
    samples
        .iter()
        .filter(|s| s.value != 0.0)
        .map(|s| {
            (
                labels.iter().map(|l| s.label(l).to_string()).collect(),
                s.value as u64,
            )
        })
        .collect()
}

fn requests_map(t: &Tally) -> BTreeMap<Vec<String>, u64> {
    t.requests
        .iter()
        .map(|((c, s), v)| (vec![c.clone(), s.clone()], *v))
        .collect()
}

fn failed_map(t: &Tally) -> BTreeMap<Vec<String>, u64> {
    t.failed
        .iter()
        .map(|(r, v)| (vec![r.clone()], *v))
        .collect()
}

/// Waits until Prometheus's fleet-wide and per-agent figures are the sums of the tallies.
async fn assert_fleet_sums(p: &Prometheus, tallies: &[(&str, Tally)]) {
    let mut fleet = Tally::default();
    for (_, t) in tallies {
        fleet.add(t);
    }
    let want = requests_map(&fleet);
    p.wait_query(
        r#"sum by (method_class, status) (corstop_http_requests_total{job="corstop"})"#,
        |v| by_labels(v, &["method_class", "status"]) == want,
    )
    .await;
    let want = failed_map(&fleet);
    p.wait_query(
        r#"sum by (reason) (corstop_http_failed_total{job="corstop"})"#,
        |v| by_labels(v, &["reason"]) == want,
    )
    .await;
    // Each agent its own log, and the doubled ACAO from the third one only.
    let want: BTreeMap<Vec<String>, u64> = tallies
        .iter()
        .map(|(name, t)| (vec![name.to_string()], t.lines))
        .collect();
    p.wait_query(
        r#"sum by (agent) (corstop_http_requests_total{job="corstop"})"#,
        |v| by_labels(v, &["agent"]) == want,
    )
    .await;
    let want: BTreeMap<Vec<String>, u64> = tallies
        .iter()
        .filter_map(|(name, t)| Some((vec![name.to_string()], *t.failed.get("acao_multiple")?)))
        .collect();
    assert_eq!(want.len(), 1, "{tallies:?}");
    p.wait_query(
        r#"sum by (agent) (corstop_http_failed_total{job="corstop",reason="acao_multiple"})"#,
        |v| by_labels(v, &["agent"]) == want,
    )
    .await;
}

/// A probe target serving `/api/orders/{id}` that allows X.
async fn probe_target() -> (String, tokio::task::JoinHandle<()>) {
    use axum::http::{HeaderValue, Method, header};
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(HeaderValue::from_static(X))
        .allow_methods([Method::GET, Method::PUT])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
    crate::common::serve_orders(cors).await
}

/// What the writer appends: the incident's failing preflights with the rest, healthy lines
/// only, or nothing more.
const INCIDENT: u8 = 0;
const HEALTHY: u8 = 1;
const STOP: u8 = 2;

#[test]
fn fleet_sums_page_and_resolution_through_prometheus_and_alertmanager() {
    if !prom::servers_available(
        "fleet_sums_page_and_resolution_through_prometheus_and_alertmanager",
    ) {
        return;
    }
    crate::common::runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let (url, _target) = probe_target().await;
        // Every instance probes the same API; the endpoint is critical, so its route pages.
        let config = dir.path().join("agent.toml");
        std::fs::write(
            &config,
            format!(
                "[probe]\ninterval = \"2s\"\ntimeout = \"2s\"\norigins = [\"{X}\"]\n\n\
                 [[probe.endpoint]]\nurl = \"{url}\"\ncritical = true\n"
            ),
        )
        .unwrap();

        // The logs before the agents start: the last few minutes of each instance.
        let start = now_ms() - 4 * 60_000;
        let mut incident = Log::new(dir.path().join("h2-incident.log"));
        let mut healthy = Log::new(dir.path().join("healthy.log"));
        let mut doubled = Log::new(dir.path().join("acao-doubled.log"));
        for i in 0..40u64 {
            let t = start + i as i64 * 1_000;
            incident.ok_pair(t, i);
            healthy.ok_pair(t, i);
            healthy.ok_pair(t + 500, i + 1_000);
            doubled.ok_pair(t, i);
        }
        for i in 0..12u64 {
            incident.refused_preflight(start + 60_000 + i as i64 * 2_000, 500 + i);
        }
        for i in 0..7u64 {
            let t = start + 90_000 + i as i64 * 3_000;
            let path = format!("/api/reports/{i}");
            let acao = format!("{X}, {X}");
            doubled.request(t, "GET", &path, X, &acao, 200, Some("acao_multiple"));
        }
        for log in [&mut incident, &mut healthy, &mut doubled] {
            for i in 0..3 {
                log.health(start + 120_000 + i * 1_000);
            }
            log.flush();
        }

        let names = ["h2-incident", "healthy", "acao-doubled"];
        let mut agents = Vec::new();
        for log in [&incident, &healthy, &doubled] {
            agents.push(Agent::start(dir.path(), &log.path, &config).await);
        }

        let hook = Webhook::start().await;
        let am = Alertmanager::start(&alertmanager_config(&hook)).await;
        let setup = PrometheusSetup {
            targets: agents
                .iter()
                .zip(names)
                .map(|(a, name)| Target::new(a.addr.clone()).label("agent", name))
                .collect(),
            extra_rules: faster_rules(),
            alertmanager: Some(am.addr),
            ..PrometheusSetup::default()
        };
        let p = Prometheus::start(&setup).await;
        for a in &agents {
            p.wait_target_up(&a.addr).await;
        }
        let context = || format!("{}\n{}", p.log(), am.log());

        // The logs as written, summed over the fleet.
        let written: Vec<(&str, Tally)> = names
            .iter()
            .zip([&incident, &healthy, &doubled])
            .map(|(n, l)| (*n, l.tally.clone()))
            .collect();
        assert_fleet_sums(&p, &written).await;

        // Every rule, the shipped ones with shorter windows, loaded and evaluated cleanly.
        let rules = prom::wait_for("every rule to be evaluated", context, || async {
            let r = p.rules().await.ok()?;
            (!r.is_empty() && r.iter().all(|(_, _, health, _)| health != "unknown")).then_some(r)
        })
        .await;
        let bad: Vec<_> = rules.iter().filter(|r| r.2 != "ok").collect();
        assert!(bad.is_empty(), "rules in error: {bad:#?}");

        // The incident goes on: every 200 ms the first instance refuses one preflight out of
        // three on the critical route; the others answer theirs. A third of the first
        // instance's cross-origin requests fail, a seventh of the fleet's: above the 5 %.
        let phase = Arc::new(AtomicU8::new(INCIDENT));
        let logs = Arc::new(Mutex::new([incident, healthy, doubled]));
        let writer = {
            let (phase, logs) = (phase.clone(), logs.clone());
            std::thread::spawn(move || {
                let mut id = 10_000u64;
                loop {
                    let now = phase.load(Ordering::SeqCst);
                    if now == STOP {
                        return;
                    }
                    let t = now_ms();
                    let mut logs = logs.lock().unwrap();
                    for log in logs.iter_mut() {
                        id += 1;
                        log.ok_pair(t, id);
                    }
                    if now == INCIDENT {
                        logs[0].refused_preflight(t, id);
                    }
                    for log in logs.iter_mut() {
                        log.flush();
                    }
                    drop(logs);
                    std::thread::sleep(Duration::from_millis(200));
                }
            })
        };

        let fired = hook
            .wait("the page at the paging receiver", context, |n| {
                n.path == "/page" && n.alerts().iter().any(|(a, s)| a == PAGE && s == "firing")
            })
            .await;
        assert_eq!(fired.status(), "firing");
        assert_eq!(
            fired.label_of_each("route"),
            vec![ORDERS.to_string()],
            "{fired:#?}"
        );
        assert_eq!(fired.label_of_each("severity"), vec!["page".to_string()]);
        let summary = fired.body["alerts"][0]["annotations"]["summary"]
            .as_str()
            .unwrap_or_default();
        assert!(
            summary.starts_with(&format!("critical {ORDERS}: ")),
            "{summary}"
        );
        // What Prometheus holds agrees: the page, on that route only, with the fleet's ratio.
        let firing = p.wait_firing(PAGE).await;
        assert_eq!(firing.label("route"), ORDERS);
        let ratio = p
            .query(&format!(
                "route:corstop_cross_origin_failed:ratio_rate2m{{route=\"{ORDERS}\"}}"
            ))
            .await
            .unwrap();
        assert_eq!(ratio.len(), 1, "{ratio:?}");
        assert!(
            ratio[0].value > 0.05 && ratio[0].value < 0.5,
            "a seventh of the fleet's requests fail: {ratio:?}"
        );

        // The incident ends: healthy lines only. The short window empties of failures and the
        // receiver is told.
        phase.store(HEALTHY, Ordering::SeqCst);
        let resolved = hook
            .wait(
                "the page's resolution at the paging receiver",
                context,
                |n| {
                    n.path == "/page"
                        && n.alerts().iter().any(|(a, s)| a == PAGE && s == "resolved")
                },
            )
            .await;
        assert_eq!(resolved.status(), "resolved", "{resolved:#?}");
        assert_eq!(resolved.label_of_each("route"), vec![ORDERS.to_string()]);
        p.wait_no_alert(PAGE).await;

        phase.store(STOP, Ordering::SeqCst);
        writer.join().unwrap();
        // Everything written, the incident's lines included, summed over the fleet.
        let written: Vec<Tally> = logs
            .lock()
            .unwrap()
            .iter()
            .map(|l| l.tally.clone())
            .collect();
        assert!(written[0].failed["status"] > 12, "{:?}", written[0]);
        let all: Vec<(&str, Tally)> = names.iter().copied().zip(written).collect();
        assert_fleet_sums(&p, &all).await;

        // Only the page went out, and only to the paging receiver.
        for n in hook.received() {
            assert_eq!(n.path, "/page", "{n:#?}");
            for (alert, _) in n.alerts() {
                assert_eq!(alert, PAGE, "{n:#?}");
            }
        }
    });
}
