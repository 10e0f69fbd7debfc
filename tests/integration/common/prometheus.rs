//! A real Prometheus and a real Alertmanager for the fleet tests, each in its own temporary
//! directory on a loopback port, stopped when dropped; a loopback webhook that records what
//! Alertmanager sends; and the HTTP API calls the tests need (instant queries, targets,
//! alerts), with polling helpers that wait on a condition rather than sleep.
//!
//! The binaries are Debian's `prometheus` and `prometheus-alertmanager` packages (`.ci/run`
//! installs them). When they are missing, [`available`] says so and the test skips; with
//! `CORSTOP_REQUIRE_PROMETHEUS=1` a missing binary fails the test instead.
//!
//! Past the usual 700 lines: the two servers, their HTTP APIs and the webhook are one harness
//! that the fleet tests use together.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a wait on Prometheus or Alertmanager may take before the test fails: generous,
/// because the machine running the tests may be busy building.
pub const DEADLINE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(200);

/// Finds an executable by name on `PATH`, then in the usual system directories.
pub fn find_tool(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .chain(["/usr/bin", "/usr/local/bin", "/usr/sbin"].map(PathBuf::from))
        .collect();
    names.iter().find_map(|name| {
        dirs.iter()
            .map(|d| d.join(name))
            .find(|p| p.is_file() && is_executable(p))
    })
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

pub fn prometheus_bin() -> Option<PathBuf> {
    find_tool(&["prometheus"])
}
pub fn alertmanager_bin() -> Option<PathBuf> {
    find_tool(&["prometheus-alertmanager", "alertmanager"])
}
pub fn promtool_bin() -> Option<PathBuf> {
    find_tool(&["promtool"])
}
pub fn amtool_bin() -> Option<PathBuf> {
    find_tool(&["amtool"])
}

/// True when every named tool is installed. Otherwise prints why `test` is skipped and
/// returns false, or panics when `CORSTOP_REQUIRE_PROMETHEUS=1` (CI, once it has installed the
/// packages), so the test never passes without having run.
pub fn available(test: &str, tools: &[(&str, Option<PathBuf>)]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .filter(|(_, p)| p.is_none())
        .map(|(n, _)| *n)
        .collect();
    if missing.is_empty() {
        return true;
    }
    let required = std::env::var("CORSTOP_REQUIRE_PROMETHEUS").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{test}: {} not installed, and CORSTOP_REQUIRE_PROMETHEUS=1 requires it \
         (apt-get install prometheus prometheus-alertmanager)",
        missing.join(", ")
    );
    eprintln!(
        "{test}: SKIPPED ({} not installed; apt-get install prometheus prometheus-alertmanager)",
        missing.join(", ")
    );
    false
}

/// [`available`] for the two servers, Prometheus and Alertmanager.
pub fn servers_available(test: &str) -> bool {
    available(
        test,
        &[
            ("prometheus", prometheus_bin()),
            ("prometheus-alertmanager", alertmanager_bin()),
        ],
    )
}

/// A port on 127.0.0.1 that was free a moment ago. The servers are started on it by another
/// process, so a race with some other program is possible; the starters retry on a new port.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// One sample of an instant vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).map_or("", String::as_str)
    }
}

/// An alert as Prometheus (`/api/v1/alerts`) or Alertmanager (`/api/v2/alerts`) lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertInfo {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// Prometheus: `pending` or `firing`. Alertmanager: `active`, `suppressed` or
    /// `unprocessed`.
    pub state: String,
    /// Alertmanager only: the alerts that inhibit this one.
    pub inhibited_by: Vec<String>,
}

impl AlertInfo {
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).map_or("", String::as_str)
    }
    pub fn name(&self) -> &str {
        self.label("alertname")
    }
}

fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .expect("http client")
}

async fn get_json(client: &reqwest::Client, url: &str) -> Result<Value, String> {
    let resp = client.get(url).send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{url}: HTTP {status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("{url}: {e}: {text}"))
}

/// Polls `probe` until it returns `Some`, failing the test with `what` and `context()` (the
/// servers' logs) at the deadline.
pub async fn wait_for<T, F, Fut>(what: &str, context: impl Fn() -> String, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "timed out after {DEADLINE:?} waiting for {what}\n{}",
            context()
        );
        tokio::time::sleep(POLL).await;
    }
}

/// A child process with its temporary directory and log; killed and reaped when dropped.
struct Server {
    child: Child,
    dir: tempfile::TempDir,
    log: PathBuf,
}

impl Server {
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `bin` in a new temporary directory with the arguments `prepare(dir, port)` returns
/// (after writing what it needs there), until it answers `/-/ready` on its port. A process that
/// exits first (the port was taken meanwhile) is retried on another port.
async fn start_server(
    name: &str,
    bin: &Path,
    prepare: impl Fn(&Path, u16) -> Vec<String>,
) -> (Server, SocketAddr) {
    let client = http_client();
    let mut last_log = String::new();
    for _ in 0..3 {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let args = prepare(dir.path(), port);
        let log = dir.path().join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new(bin)
            .args(args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut server = Server { child, dir, log };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let start = Instant::now();
        while !matches!(server.child.try_wait(), Ok(Some(_))) {
            // Its own log must say it listens there: a server of another test that took the
            // port meanwhile would answer /-/ready too.
            let listening = std::fs::read_to_string(&server.log).is_ok_and(|l| {
                l.lines()
                    .any(|l| l.contains("Listening on") && l.contains(&format!("address={addr}")))
            });
            let ready = listening
                && client
                    .get(format!("http://{addr}/-/ready"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
            if ready {
                return (server, addr);
            }
            assert!(
                start.elapsed() < DEADLINE,
                "{name} not ready after {DEADLINE:?}\n{}",
                server.log_tail()
            );
            tokio::time::sleep(POLL).await;
        }
        last_log = server.log_tail();
    }
    panic!("{name} exited before it was ready, three times\n{last_log}");
}

/// A target address standing for the Prometheus being configured (it scrapes its own
/// /metrics), since its port is chosen when it starts.
pub const SELF: &str = "{self}";

/// One scrape target and the labels its series get (an `instance` label overrides the
/// address Prometheus would use).
#[derive(Clone, Debug)]
pub struct Target {
    pub address: String,
    pub labels: Vec<(String, String)>,
}

impl Target {
    pub fn new(address: impl Into<String>) -> Target {
        Target {
            address: address.into(),
            labels: Vec::new(),
        }
    }
    pub fn label(mut self, name: &str, value: &str) -> Target {
        self.labels.push((name.to_string(), value.to_string()));
        self
    }
}

/// What the test Prometheus scrapes and evaluates.
#[derive(Clone, Debug)]
pub struct PrometheusSetup {
    pub job: String,
    pub targets: Vec<Target>,
    pub scrape_interval: Duration,
    pub evaluation_interval: Duration,
    /// Absolute paths of rule files to load.
    pub rule_files: Vec<PathBuf>,
    /// Rule files written for the test: (file name, YAML text).
    pub extra_rules: Vec<(String, String)>,
    pub alertmanager: Option<SocketAddr>,
}

impl Default for PrometheusSetup {
    fn default() -> Self {
        PrometheusSetup {
            job: "corstop".to_string(),
            targets: Vec::new(),
            scrape_interval: Duration::from_secs(1),
            evaluation_interval: Duration::from_secs(1),
            rule_files: Vec::new(),
            extra_rules: Vec::new(),
            alertmanager: None,
        }
    }
}

fn yaml_str(s: &str) -> String {
    // JSON strings are valid YAML double-quoted scalars.
    serde_json::to_string(s).expect("string")
}

fn secs(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

impl PrometheusSetup {
    /// The prometheus.yml for this setup; `self_addr` is this Prometheus's own address.
    pub fn config(&self, self_addr: &str, dir: &Path) -> String {
        let mut y = String::new();
        let _ = writeln!(
            y,
            "global:\n  scrape_interval: {}\n  scrape_timeout: {}\n  evaluation_interval: {}",
            secs(self.scrape_interval),
            secs(self.scrape_interval),
            secs(self.evaluation_interval)
        );
        y.push_str("rule_files:\n");
        for f in &self.rule_files {
            let _ = writeln!(y, "  - {}", yaml_str(&f.display().to_string()));
        }
        for (name, _) in &self.extra_rules {
            let _ = writeln!(y, "  - {}", yaml_str(&dir.join(name).display().to_string()));
        }
        if let Some(am) = self.alertmanager {
            let _ = writeln!(
                y,
                "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [{}]",
                yaml_str(&am.to_string())
            );
        }
        y.push_str("scrape_configs:\n");
        if !self.targets.is_empty() {
            let _ = writeln!(
                y,
                "  - job_name: {}\n    static_configs:",
                yaml_str(&self.job)
            );
            for t in &self.targets {
                let address = if t.address == SELF {
                    self_addr
                } else {
                    &t.address
                };
                let _ = writeln!(y, "      - targets: [{}]", yaml_str(address));
                if !t.labels.is_empty() {
                    y.push_str("        labels:\n");
                    for (k, v) in &t.labels {
                        let _ = writeln!(y, "          {k}: {}", yaml_str(v));
                    }
                }
            }
        }
        y
    }
}

/// A running Prometheus.
pub struct Prometheus {
    server: Server,
    pub addr: SocketAddr,
    client: reqwest::Client,
}

impl Prometheus {
    /// Starts Prometheus with `setup` and waits until it is ready.
    pub async fn start(setup: &PrometheusSetup) -> Prometheus {
        let bin = prometheus_bin().expect("prometheus is installed (checked with `available`)");
        let (server, addr) = start_server("prometheus", &bin, |dir, port| {
            // The configuration names this Prometheus's own address, so it is written for
            // each attempt.
            let config = setup.config(&format!("127.0.0.1:{port}"), dir);
            std::fs::write(dir.join("prometheus.yml"), config).expect("write prometheus.yml");
            for (name, text) in &setup.extra_rules {
                std::fs::write(dir.join(name), text).expect("write rules");
            }
            vec![
                format!("--web.listen-address=127.0.0.1:{port}"),
                "--config.file=prometheus.yml".to_string(),
                "--storage.tsdb.path=data".to_string(),
                // Alerts that fire before Prometheus has discovered Alertmanager (a few
                // seconds after start) are dropped and only sent again after this delay,
                // one minute by default.
                "--rules.alert.resend-delay=1s".to_string(),
            ]
        })
        .await;
        Prometheus {
            server,
            addr,
            client: http_client(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The last lines Prometheus logged, for failure messages.
    pub fn log(&self) -> String {
        format!("--- prometheus log ---\n{}", self.server.log_tail())
    }

    pub fn dir(&self) -> &Path {
        self.server.dir.path()
    }

    /// Runs an instant query and returns its vector (a scalar comes back as one sample
    /// without labels).
    pub async fn query(&self, promql: &str) -> Result<Vec<Sample>, String> {
        let mut url = url::Url::parse(&self.url("/api/v1/query")).expect("url");
        url.query_pairs_mut().append_pair("query", promql);
        let v = get_json(&self.client, url.as_str()).await?;
        let data = &v["data"];
        let value_of = |pair: &Value| -> f64 {
            pair[1]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(f64::NAN)
        };
        match data["resultType"].as_str() {
            Some("vector") => Ok(data["result"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|s| Sample {
                            labels: string_map(&s["metric"]),
                            value: value_of(&s["value"]),
                        })
                        .collect()
                })
                .unwrap_or_default()),
            Some("scalar") => Ok(vec![Sample {
                labels: BTreeMap::new(),
                value: value_of(&data["result"]),
            }]),
            other => Err(format!("{promql}: unexpected result type {other:?}: {v}")),
        }
    }

    /// Polls `promql` until `accept` is true of its vector, and returns that vector.
    pub async fn wait_query(
        &self,
        promql: &str,
        accept: impl Fn(&[Sample]) -> bool,
    ) -> Vec<Sample> {
        let last = Arc::new(Mutex::new(String::new()));
        let seen = last.clone();
        wait_for(
            &format!("`{promql}` to give the expected vector"),
            || format!("last result: {}\n{}", seen.lock().unwrap(), self.log()),
            || {
                let last = last.clone();
                let accept = &accept;
                async move {
                    let r = self.query(promql).await;
                    *last.lock().unwrap() = format!("{r:?}");
                    r.ok().filter(|v| accept(v))
                }
            },
        )
        .await
    }

    /// The health (`up`, `down`, `unknown`) of every active target, by its `instance` label.
    pub async fn targets(&self) -> Result<BTreeMap<String, String>, String> {
        let v = get_json(&self.client, &self.url("/api/v1/targets?state=active")).await?;
        Ok(v["data"]["activeTargets"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|t| {
                        (
                            t["labels"]["instance"].as_str().unwrap_or("").to_string(),
                            t["health"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Waits until the target whose `instance` label is `instance` has been scraped
    /// successfully.
    pub async fn wait_target_up(&self, instance: &str) {
        wait_for(
            &format!("target {instance} to be up"),
            || self.log(),
            || async { (self.targets().await.ok()?.get(instance)? == "up").then_some(()) },
        )
        .await;
    }

    /// The alerts Prometheus holds now, pending and firing.
    pub async fn alerts(&self) -> Result<Vec<AlertInfo>, String> {
        let v = get_json(&self.client, &self.url("/api/v1/alerts")).await?;
        Ok(v["data"]["alerts"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| AlertInfo {
                        labels: string_map(&x["labels"]),
                        annotations: string_map(&x["annotations"]),
                        state: x["state"].as_str().unwrap_or("").to_string(),
                        inhibited_by: Vec::new(),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Waits until an alert named `name` is firing, and returns it.
    pub async fn wait_firing(&self, name: &str) -> AlertInfo {
        wait_for(
            &format!("alert {name} to fire"),
            || self.log(),
            || async {
                self.alerts()
                    .await
                    .ok()?
                    .into_iter()
                    .find(|a| a.name() == name && a.state == "firing")
            },
        )
        .await
    }

    /// Waits until no alert named `name` is pending or firing (the incident has ended).
    pub async fn wait_no_alert(&self, name: &str) {
        wait_for(
            &format!("alert {name} to resolve"),
            || self.log(),
            || async {
                let alerts = self.alerts().await.ok()?;
                (!alerts.iter().any(|a| a.name() == name)).then_some(())
            },
        )
        .await;
    }

    /// The rule groups Prometheus loaded: (group, rule name, health, last error).
    pub async fn rules(&self) -> Result<Vec<(String, String, String, String)>, String> {
        let v = get_json(&self.client, &self.url("/api/v1/rules")).await?;
        let mut out = Vec::new();
        for g in v["data"]["groups"].as_array().into_iter().flatten() {
            for r in g["rules"].as_array().into_iter().flatten() {
                out.push((
                    g["name"].as_str().unwrap_or("").to_string(),
                    r["name"].as_str().unwrap_or("").to_string(),
                    r["health"].as_str().unwrap_or("").to_string(),
                    r["lastError"].as_str().unwrap_or("").to_string(),
                ));
            }
        }
        Ok(out)
    }
}

/// Label or annotation names with their values.
pub type Pairs<'a> = Vec<(&'a str, &'a str)>;

/// A running Alertmanager.
pub struct Alertmanager {
    server: Server,
    pub addr: SocketAddr,
    client: reqwest::Client,
}

/// An Alertmanager configuration that sends every alert, at once and when resolved, to
/// `webhook` (a URL).
pub fn webhook_config(webhook: &str) -> String {
    format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 0s\n  \
         group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    \
         webhook_configs:\n      - url: {}\n        send_resolved: true\n",
        yaml_str(webhook)
    )
}

impl Alertmanager {
    /// Starts Alertmanager with the configuration `config` (YAML), clustering off, and waits
    /// until it is ready.
    pub async fn start(config: &str) -> Alertmanager {
        let bin = alertmanager_bin().expect("alertmanager is installed (checked with `available`)");
        let (server, addr) = start_server("alertmanager", &bin, |dir, port| {
            std::fs::write(dir.join("alertmanager.yml"), config).expect("write config");
            vec![
                "--config.file=alertmanager.yml".to_string(),
                "--storage.path=data".to_string(),
                format!("--web.listen-address=127.0.0.1:{port}"),
                // An empty address turns the gossip cluster off.
                "--cluster.listen-address=".to_string(),
            ]
        })
        .await;
        Alertmanager {
            server,
            addr,
            client: http_client(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn log(&self) -> String {
        format!("--- alertmanager log ---\n{}", self.server.log_tail())
    }

    /// The alerts Alertmanager holds, with their state (`active`, `suppressed`) and what
    /// inhibits them.
    pub async fn alerts(&self) -> Result<Vec<AlertInfo>, String> {
        let v = get_json(&self.client, &self.url("/api/v2/alerts")).await?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .map(|x| AlertInfo {
                        labels: string_map(&x["labels"]),
                        annotations: string_map(&x["annotations"]),
                        state: x["status"]["state"].as_str().unwrap_or("").to_string(),
                        inhibited_by: x["status"]["inhibitedBy"]
                            .as_array()
                            .map(|v| {
                                v.iter()
                                    .filter_map(|s| s.as_str().map(str::to_string))
                                    .collect()
                            })
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Posts alerts the way Prometheus does (`/api/v2/alerts`): each a set of labels and
    /// annotations, starting now, without an end.
    pub async fn post_alerts(&self, alerts: &[(Pairs<'_>, Pairs<'_>)]) -> Result<(), String> {
        let body: Vec<Value> = alerts
            .iter()
            .map(|(labels, annotations)| {
                let obj = |kv: &[(&str, &str)]| {
                    Value::Object(
                        kv.iter()
                            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                            .collect(),
                    )
                };
                serde_json::json!({ "labels": obj(labels), "annotations": obj(annotations) })
            })
            .collect();
        let resp = self
            .client
            .post(self.url("/api/v2/alerts"))
            .header("content-type", "application/json")
            .body(Value::Array(body).to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {}", resp.status()))
        }
    }
}

/// A notification Alertmanager posted to the webhook.
#[derive(Clone, Debug)]
pub struct Notification {
    /// The request path (a receiver can be told apart by its URL's path).
    pub path: String,
    pub body: Value,
}

impl Notification {
    /// `firing` or `resolved`.
    pub fn status(&self) -> &str {
        self.body["status"].as_str().unwrap_or("")
    }
    /// (alertname, status) of each alert it carries.
    pub fn alerts(&self) -> Vec<(String, String)> {
        self.body["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                (
                    a["labels"]["alertname"].as_str().unwrap_or("").to_string(),
                    a["status"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }
    pub fn label_of_each(&self, name: &str) -> Vec<String> {
        self.body["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| a["labels"][name].as_str().unwrap_or("").to_string())
            .collect()
    }
}

/// An HTTP server on 127.0.0.1 that records every POST (as JSON) and answers 200.
pub struct Webhook {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Notification>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Webhook {
    pub async fn start() -> Webhook {
        use axum::body::Bytes;
        use axum::extract::State;
        use axum::http::Uri;
        let seen: Arc<Mutex<Vec<Notification>>> = Arc::default();
        let app = axum::Router::new()
            .fallback(
                |State(seen): State<Arc<Mutex<Vec<Notification>>>>, uri: Uri, body: Bytes| async move {
                    let body = serde_json::from_slice(&body)
                        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
                    seen.lock().unwrap().push(Notification {
                        path: uri.path().to_string(),
                        body,
                    });
                    "ok"
                },
            )
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Webhook { addr, seen, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn received(&self) -> Vec<Notification> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits until a notification satisfies `accept`, and returns it.
    pub async fn wait(
        &self,
        what: &str,
        context: impl Fn() -> String,
        accept: impl Fn(&Notification) -> bool,
    ) -> Notification {
        wait_for(
            what,
            || format!("received: {:#?}\n{}", self.received(), context()),
            || async { self.received().into_iter().find(|n| accept(n)) },
        )
        .await
    }
}
