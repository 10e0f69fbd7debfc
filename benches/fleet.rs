//! A fleet on one machine: N `corstop agent` processes (50 by default), each following its own
//! small generated log (a few thousand lines over the last hour, a dozen routes and origins)
//! and probing a loopback CORS server, scraped by a real Prometheus (Debian's `prometheus`)
//! loading the shipped rules. After a few scrape rounds it prints the scrape duration per agent
//! (Prometheus's own `scrape_duration_seconds`), the series per agent
//! (`scrape_samples_scraped`), each agent's RSS and CPU (from /proc), Prometheus's RSS and CPU,
//! and what the figures imply for 1,000 agents on one Prometheus.
//!
//! ```text
//! cargo bench --bench fleet                       # 50 agents, 5 s scrape interval, 4 rounds
//! cargo bench --bench fleet -- --agents 20 --rounds 6
//! ```
//!
//! Linux only (/proc). It prints figures and asserts nothing; the exit status is non-zero only
//! when the fleet could not be started or measured.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use corstop::headless::agent::Caps;
use corstop::headless::agent::metrics::worst_case_series;
use corstop::model::time::now_ms;
use serde_json::Value;

#[allow(dead_code)] // each benchmark uses part of the shared measurements
#[path = "support/measure.rs"]
mod measure;
use measure::load_average;

// ---------------------------------------------------------------------------------------------
// Arguments

struct Args {
    agents: usize,
    interval_s: u64,
    rounds: u64,
    lines: usize,
    probe_interval_s: u64,
}

fn usage() -> &'static str {
    "cargo bench --bench fleet -- [options]\n\
     \n  --agents N          agents started on this machine (default 50)\
     \n  --interval S        Prometheus's scrape interval in seconds (default 5)\
     \n  --rounds N          scrape rounds measured, after the first one (default 4)\
     \n  --lines N           lines in each agent's log, over the last hour (default 3000)\
     \n  --probe-interval S  each agent's probe interval in seconds (default 10)\
     \n\nNeeds Debian's prometheus package (apt-get install prometheus). Files go to a temporary\
     \ndirectory under $CORSTOP_BENCH_DIR (default the system's).\n"
}

const HELP: &str = "\u{0}help";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        agents: 50,
        interval_s: 5,
        rounds: 4,
        lines: 3_000,
        probe_interval_s: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            let v = it.next().ok_or_else(|| format!("{name} needs a value"))?;
            match v.parse::<u64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!("{name}: '{v}' is not a positive number")),
            }
        };
        match arg.as_str() {
            // cargo bench passes --bench to harness-less benchmarks.
            "--bench" => {}
            "--agents" => a.agents = number("--agents")? as usize,
            "--interval" => a.interval_s = number("--interval")?,
            "--rounds" => a.rounds = number("--rounds")?,
            "--lines" => a.lines = number("--lines")? as usize,
            "--probe-interval" => a.probe_interval_s = number("--probe-interval")?,
            "-h" | "--help" => return Err(HELP.to_string()),
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    Ok(a)
}

// ---------------------------------------------------------------------------------------------
// Processes

fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/usr/local/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// One agent: its process, its address and the log it follows.
struct Agent {
    child: Child,
    addr: String,
    log: PathBuf,
}

/// The processes started, killed when the benchmark ends however it ends.
#[derive(Default)]
struct Fleet {
    agents: Vec<Agent>,
    prometheus: Option<Child>,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let children = self
            .agents
            .iter_mut()
            .map(|a| &mut a.child)
            .chain(self.prometheus.as_mut());
        for c in children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// User plus system CPU seconds a process has used (/proc/PID/stat).
fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it are fixed.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / clock_ticks())
}

#[allow(unsafe_code)] // sysconf reads a constant of the system
fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions; _SC_CLK_TCK is a valid name.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// Resident set size in MB (/proc/PID/status VmRSS).
fn rss_mb(pid: u32) -> Option<f64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
}

// ---------------------------------------------------------------------------------------------
// What the agents read and probe

/// The nginx `log_format` of the generated logs.
const NGINX: &str = "$remote_addr [$time_iso8601] \"$request\" $status \"$http_origin\" \"$sent_http_access_control_allow_origin\"";

/// A dozen routes (`#` is replaced by an id, which the agent templates away).
const ROUTES: [&str; 12] = [
    "/api/orders/#",
    "/api/orders",
    "/api/users/#",
    "/api/cart",
    "/api/reports/#",
    "/api/search",
    "/api/auth/token",
    "/api/products/#",
    "/api/invoices/#",
    "/api/profile",
    "/api/settings",
    "/api/notifications",
];

/// A dozen origins; the first three are the ones the probe target allows.
const ORIGINS: [&str; 12] = [
    "https://app.example",
    "https://admin.example",
    "https://m.example",
    "https://partner-a.example",
    "https://partner-b.example",
    "https://staging.example",
    "https://eu.app.example",
    "https://us.app.example",
    "https://beta.example",
    "https://docs.example",
    "https://status.example",
    "https://legacy.example",
];

/// Appends `n` lines spread over `[from, to)`, seeded by `seed`: preflights and their
/// requests, a few hundred 401s and 5xx, an occasional doubled `Access-Control-Allow-Origin`,
/// and requests without an origin.
fn write_lines(path: &Path, n: usize, from: i64, to: i64, seed: u64) -> std::io::Result<()> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let mut w = BufWriter::new(file);
    let step = ((to - from) / n.max(1) as i64).max(1);
    for i in 0..n {
        let t = from + i as i64 * step;
        let time = chrono::DateTime::from_timestamp_millis(t)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%S+00:00");
        let route = ROUTES[rng.usize(..ROUTES.len())].replace('#', &rng.u32(1..5000).to_string());
        let origin = if rng.u8(..10) == 0 {
            "-"
        } else {
            ORIGINS[rng.usize(..ORIGINS.len())]
        };
        let method = match rng.u8(..3) {
            0 => "OPTIONS",
            1 => "GET",
            _ => "PUT",
        };
        let (status, acao) = match rng.u8(..100) {
            0..=7 => (401, "-".to_string()),
            8..=9 => (503, "-".to_string()),
            10 if origin != "-" => (200, format!("{origin}, {origin}")),
            _ if method == "OPTIONS" => (204, origin.to_string()),
            _ => (200, origin.to_string()),
        };
        writeln!(
            w,
            "10.{}.{}.{} [{time}] \"{method} {route} HTTP/1.1\" {status} \"{origin}\" \"{acao}\"",
            rng.u8(..8),
            rng.u8(..),
            rng.u8(1..255)
        )?;
    }
    w.flush()
}

/// A loopback API whose `/api/orders/{id}` allows the first three origins, as the agents'
/// probes see it.
async fn probe_target() -> std::io::Result<String> {
    use axum::http::{HeaderValue, Method, header};
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(
            ORIGINS[..3]
                .iter()
                .map(|o| HeaderValue::from_static(o))
                .collect::<Vec<_>>(),
        )
        .allow_methods([Method::GET, Method::PUT])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
    let app = axum::Router::new()
        .route("/api/orders/{id}", axum::routing::get(|| async { "{}" }))
        .layer(cors);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}/api/orders/7"))
}

// ---------------------------------------------------------------------------------------------
// Prometheus's HTTP API

struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    async fn get(&self, url: &str) -> Result<String, String> {
        let r = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status();
        let text = r.text().await.map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(text)
        } else {
            Err(format!("{url}: HTTP {status}: {text}"))
        }
    }

    /// An instant query: every value of its vector, or of every series of its matrix.
    async fn values(&self, promql: &str) -> Result<Vec<f64>, String> {
        let mut url = url::Url::parse(&format!("{}/api/v1/query", self.base)).unwrap();
        url.query_pairs_mut().append_pair("query", promql);
        let v: Value = serde_json::from_str(&self.get(url.as_str()).await?)
            .map_err(|e| format!("{promql}: {e}"))?;
        let num = |p: &Value| p[1].as_str().and_then(|s| s.parse::<f64>().ok());
        let result = v["data"]["result"].as_array().cloned().unwrap_or_default();
        Ok(match v["data"]["resultType"].as_str() {
            Some("matrix") => result
                .iter()
                .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
                .filter_map(|p| num(&p))
                .collect(),
            _ => result.iter().filter_map(|s| num(&s["value"])).collect(),
        })
    }

    /// An instant query's vector as (value of `label`, value) pairs.
    async fn by_label(&self, promql: &str, label: &str) -> Result<Vec<(String, f64)>, String> {
        let mut url = url::Url::parse(&format!("{}/api/v1/query", self.base)).unwrap();
        url.query_pairs_mut().append_pair("query", promql);
        let v: Value = serde_json::from_str(&self.get(url.as_str()).await?)
            .map_err(|e| format!("{promql}: {e}"))?;
        Ok(v["data"]["result"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| {
                let value = s["value"][1].as_str()?.parse::<f64>().ok()?;
                Some((s["metric"][label].as_str().unwrap_or("").to_string(), value))
            })
            .collect())
    }

    async fn scalar(&self, promql: &str) -> Result<f64, String> {
        self.values(promql)
            .await?
            .first()
            .copied()
            .ok_or_else(|| format!("{promql}: empty result"))
    }
}

// ---------------------------------------------------------------------------------------------
// Figures

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn row(what: &str, v: &[f64], digits: usize) {
    let v = sorted(v.to_vec());
    println!(
        "{what:<36} {:>10.digits$} {:>10.digits$} {:>10.digits$}",
        pct(&v, 50.0),
        pct(&v, 95.0),
        pct(&v, 100.0)
    );
}

fn thousands(n: f64) -> String {
    let s = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Planning figures for one Prometheus 2.x server (not measured here): RSS per active head
/// series, and the head size and ingestion rate past which one server is better split.
const KIB_PER_HEAD_SERIES: f64 = 4.0;
const COMFORTABLE_HEAD_SERIES: f64 = 2_000_000.0;
const COMFORTABLE_SAMPLES_PER_S: f64 = 500_000.0;

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) if e == HELP => {
            print!("{}", usage());
            return;
        }
        Err(e) => {
            eprintln!("fleet: {e}");
            eprint!("{}", usage());
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("fleet: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), String> {
    let prometheus = find_tool("prometheus")
        .ok_or("prometheus is not installed (apt-get install prometheus); nothing measured")?;
    let base = std::env::var_os("CORSTOP_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = tempfile::Builder::new()
        .prefix("corstop-fleet-")
        .tempdir_in(&base)
        .map_err(|e| format!("{}: {e}", base.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let target = rt.block_on(probe_target()).map_err(|e| e.to_string())?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;

    // Every agent probes the same endpoint, critical, from three allowed origins and one that
    // is refused.
    let config = dir.path().join("agent.toml");
    let origins: Vec<String> = ORIGINS[..3]
        .iter()
        .chain(&["https://evil.example"])
        .map(|o| format!("\"{o}\""))
        .collect();
    std::fs::write(
        &config,
        format!(
            "[probe]\ninterval = \"{}s\"\ntimeout = \"2s\"\norigins = [{}]\n\n\
             [[probe.endpoint]]\nurl = \"{target}\"\ncritical = true\n",
            args.probe_interval_s,
            origins.join(", ")
        ),
    )
    .map_err(|e| e.to_string())?;

    let now = now_ms();
    let started = Instant::now();
    let mut fleet = Fleet::default();
    for i in 0..args.agents {
        let log = dir.path().join(format!("agent-{i}.log"));
        write_lines(&log, args.lines, now - 3_600_000, now, i as u64)
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let agent = start_agent(dir.path(), i, &log, &config)?;
        fleet.agents.push(agent);
    }
    // Ready: every source started and read its history, the first analysis done. An agent
    // that exited (its port taken meanwhile) is started again on another.
    let deadline = Instant::now() + Duration::from_secs(60 + args.agents as u64 * 2);
    let mut ready = vec![false; args.agents];
    while ready.iter().any(|r| !r) {
        for (i, agent) in fleet.agents.iter_mut().enumerate() {
            if ready[i] {
                continue;
            }
            if let Ok(Some(status)) = agent.child.try_wait() {
                eprintln!("fleet: agent {i} exited ({status}); starting it again");
                *agent = start_agent(dir.path(), i, &agent.log.clone(), &config)?;
                continue;
            }
            let url = format!("http://{}/readyz", agent.addr);
            ready[i] = rt
                .block_on(async { client.get(&url).send().await })
                .is_ok_and(|r| r.status().is_success());
        }
        if Instant::now() > deadline {
            let n = ready.iter().filter(|r| !**r).count();
            return Err(format!(
                "{n} agents not ready after {:?} (their diagnostics: {}/agent-*.err)",
                started.elapsed(),
                dir.path().display()
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let startup = started.elapsed();

    // Prometheus scrapes the agents and itself, and evaluates the shipped rules.
    let port = free_port();
    let rules: Vec<String> = ["corstop-recording.rules.yml", "corstop-alerts.rules.yml"]
        .iter()
        .map(|f| {
            let p = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("deploy/prometheus")
                .join(f);
            format!("  - \"{}\"\n", p.display())
        })
        .collect();
    let targets: Vec<String> = fleet
        .agents
        .iter()
        .map(|a| format!("\"{}\"", a.addr))
        .collect();
    let interval = args.interval_s;
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: {interval}s\n  scrape_timeout: {interval}s\n  \
             evaluation_interval: 15s\nrule_files:\n{}scrape_configs:\n  \
             - job_name: corstop\n    static_configs:\n      - targets: [{}]\n  \
             - job_name: prometheus\n    static_configs:\n      - targets: [\"127.0.0.1:{port}\"]\n",
            rules.concat(),
            targets.join(", ")
        ),
    )
    .map_err(|e| e.to_string())?;
    let out = File::create(dir.path().join("prometheus.log")).map_err(|e| e.to_string())?;
    fleet.prometheus = Some(
        Command::new(&prometheus)
            .arg("--config.file=prometheus.yml")
            .arg("--storage.tsdb.path=data")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().map_err(|e| e.to_string())?)
            .stderr(out)
            .spawn()
            .map_err(|e| format!("{}: {e}", prometheus.display()))?,
    );
    let api = Api {
        client: client.clone(),
        base: format!("http://127.0.0.1:{port}"),
    };
    let n = args.agents as f64;
    let up = format!("count(up{{job=\"corstop\"}} == 1) == {n}");
    let deadline = Instant::now() + Duration::from_secs(60 + 3 * interval);
    while !rt.block_on(api.values(&up)).is_ok_and(|v| !v.is_empty()) {
        if Instant::now() > deadline {
            return Err(format!(
                "Prometheus never scraped all {n} agents (its log: {}/prometheus.log)",
                dir.path().display()
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }

    // The measured rounds: the agents go on following their logs (a trickle of lines a
    // second each) and probing; CPU is taken over exactly these rounds.
    let stop = Arc::new(AtomicBool::new(false));
    let trickle = {
        let stop = stop.clone();
        let logs: Vec<PathBuf> = fleet.agents.iter().map(|a| a.log.clone()).collect();
        std::thread::spawn(move || {
            let mut seed = 1_000_000;
            while !stop.load(Ordering::SeqCst) {
                let t = now_ms();
                for log in &logs {
                    seed += 1;
                    let _ = write_lines(log, 2, t - 1000, t, seed);
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };
    let pids: Vec<u32> = fleet.agents.iter().map(|a| a.child.id()).collect();
    let prom_pid = fleet.prometheus.as_ref().map_or(0, Child::id);
    let cpu0: Vec<f64> = pids.iter().map(|p| cpu_secs(*p).unwrap_or(0.0)).collect();
    let prom_cpu0 = cpu_secs(prom_pid).unwrap_or(0.0);
    let t0 = Instant::now();
    let window = args.rounds * interval;
    std::thread::sleep(Duration::from_secs(window));
    let secs = t0.elapsed().as_secs_f64();
    let cpu: Vec<f64> = pids
        .iter()
        .zip(&cpu0)
        .map(|(p, c0)| (cpu_secs(*p).unwrap_or(*c0) - c0) / secs * 100.0)
        .collect();
    let prom_cpu = (cpu_secs(prom_pid).unwrap_or(prom_cpu0) - prom_cpu0) / secs * 100.0;
    let rss: Vec<f64> = pids.iter().filter_map(|p| rss_mb(*p)).collect();
    let prom_rss = rss_mb(prom_pid).unwrap_or(f64::NAN);
    stop.store(true, Ordering::SeqCst);
    let _ = trickle.join();

    let q = |promql: &str| rt.block_on(api.values(promql));
    let scrape_ms: Vec<f64> = q(&format!(
        "scrape_duration_seconds{{job=\"corstop\"}}[{window}s]"
    ))?
    .into_iter()
    .map(|s| s * 1000.0)
    .collect();
    let series = q("scrape_samples_scraped{job=\"corstop\"}")?;
    let read_all = q(&format!(
        "count(sum by (instance) (corstop_source_lines_total{{job=\"corstop\"}}) >= {})",
        args.lines
    ))?;
    let head_series = rt.block_on(api.scalar("prometheus_tsdb_head_series{job=\"prometheus\"}"))?;
    let appended = rt.block_on(api.scalar(&format!(
        "rate(prometheus_tsdb_head_samples_appended_total{{job=\"prometheus\"}}[{window}s])"
    )))?;
    // How long the shipped rules take to evaluate: the slowest group, at its slowest in the
    // measured rounds.
    let groups = rt.block_on(api.by_label(
        &format!(
            "max by (rule_group) (max_over_time(prometheus_rule_group_last_duration_seconds{{job=\"prometheus\"}}[{window}s])) * 1000"
        ),
        "rule_group",
    ))?;
    let rules: Vec<String> = groups
        .iter()
        .map(|(g, ms)| {
            let name = g.rsplit(';').next().unwrap_or(g);
            format!("{name} {ms:.0} ms")
        })
        .collect();

    println!(
        "fleet: {} agents, {} lines each over the last hour, probes every {}s; Prometheus {}s scrape \
         interval, shipped rules; {} rounds measured ({secs:.0} s); load {}, {} cores",
        args.agents,
        args.lines,
        args.probe_interval_s,
        interval,
        args.rounds,
        load_average(),
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    println!(
        "agents ready in {:.1} s; {} of {} read every line of their log\n",
        startup.as_secs_f64(),
        read_all.first().copied().unwrap_or(0.0),
        args.agents
    );
    println!(
        "{:<36} {:>10} {:>10} {:>10}",
        "per agent", "p50", "p95", "max"
    );
    row(
        &format!("scrape duration, ms ({} scrapes)", scrape_ms.len()),
        &scrape_ms,
        1,
    );
    row("series (samples per scrape)", &series, 0);
    row("RSS, MB", &rss, 1);
    row("CPU, % of one core", &cpu, 2);
    let view = rt.block_on(fleet_view(&api.base))?;
    row(
        "fleet view: one refresh (queries), ms",
        &[view.refresh_ms],
        1,
    );
    row("fleet view: view model, ms", &view.model_ms, 2);
    for (name, frames) in &view.frames {
        row(&format!("fleet view: {name} frame 200x60, ms"), frames, 2);
    }
    println!();
    let agents_cpu: f64 = cpu.iter().sum();
    let agents_rss: f64 = rss.iter().sum();
    println!(
        "all agents: {agents_rss:.0} MB RSS, {agents_cpu:.1} % of one core; Prometheus: {prom_rss:.0} MB RSS, \
         {prom_cpu:.1} % of one core, {} head series, {} samples/s appended\nshipped rules, slowest evaluation of each group: {}",
        thousands(head_series),
        thousands(appended),
        rules.join(", ")
    );

    // 1,000 agents on one Prometheus, scaled from the median agent here.
    let per_agent = pct(&sorted(series.clone()), 50.0);
    let total = 1_000.0 * per_agent;
    let per_s = total / interval as f64;
    // The worst case per agent with the default caps and its one source.
    let bound = worst_case_series(&Caps::default(), 1) as f64;
    let worst = 1_000.0 * bound;
    println!("\n1,000 agents on one Prometheus at a {interval}s scrape interval:");
    println!(
        "  series: {} (1,000 x {per_agent:.0}); at the per-agent bound ({bound:.0}), {}",
        thousands(total),
        thousands(worst)
    );
    println!(
        "  samples/s: {} ({} at the bound); scrapes/s: {:.0}, each ~{:.1} ms of agent time (p50)",
        thousands(per_s),
        thousands(worst / interval as f64),
        1_000.0 / interval as f64,
        pct(&sorted(scrape_ms.clone()), 50.0)
    );
    println!(
        "  Prometheus head at ~{KIB_PER_HEAD_SERIES:.0} KiB per series: ~{:.1} GB ({:.0} GB at the bound)",
        total * KIB_PER_HEAD_SERIES / 1024.0 / 1024.0,
        worst * KIB_PER_HEAD_SERIES / 1024.0 / 1024.0
    );
    let verdict = if total <= COMFORTABLE_HEAD_SERIES && per_s <= COMFORTABLE_SAMPLES_PER_S {
        "fits one server"
    } else {
        "shard"
    };
    println!(
        "  {verdict} (assumed comfortable for one server: {} head series, {} samples/s); shard by \
         region or hashmod(instance) past that, and federate only the route:* recording rules \
         to a global Prometheus for the war-room view",
        thousands(COMFORTABLE_HEAD_SERIES),
        thousands(COMFORTABLE_SAMPLES_PER_S)
    );
    Ok(())
}

/// Starts agent `i` on a free loopback port, its diagnostics in `agent-I.err`.
fn start_agent(dir: &Path, i: usize, log: &Path, config: &Path) -> Result<Agent, String> {
    let addr = format!("127.0.0.1:{}", free_port());
    let err = File::create(dir.join(format!("agent-{i}.err"))).map_err(|e| e.to_string())?;
    let child = Command::new(env!("CARGO_BIN_EXE_corstop"))
        .arg("agent")
        .args(["--listen", &addr])
        .arg("--log")
        .arg(log)
        .args(["--log-format", "nginx", "--nginx-format", NGINX])
        .arg("--config")
        .arg(config)
        .current_dir(dir)
        .env("HOME", dir)
        .env_remove("XDG_CONFIG_HOME")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .map_err(|e| format!("corstop agent: {e}"))?;
    Ok(Agent {
        child,
        addr,
        log: log.to_path_buf(),
    })
}

/// What the dashboard in fleet mode costs with this fleet: one refresh's queries, the view
/// model built from what they return, and frames of the views that show the instances.
struct FleetView {
    refresh_ms: f64,
    model_ms: Vec<f64>,
    frames: Vec<(&'static str, Vec<f64>)>,
}

async fn fleet_view(base: &str) -> Result<FleetView, String> {
    use corstop::analysis::snapshot;
    use corstop::sources::fleet::{Queries, read};
    use corstop::sources::prometheus::Client;
    use corstop::store::{Store, StoreConfig, TimeMode};
    use corstop::ui::draw::draw;
    use corstop::ui::state::{UiState, View};
    use corstop::ui::theme::Theme;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    let client = Client::new(base, Duration::from_secs(30)).map_err(|e| e.to_string())?;
    let cfg = StoreConfig::default();
    let mut store = Store::new(cfg.clone(), TimeMode::Live);
    let source = store.register_source("fleet");
    let queries = Queries::new(r#"{job="corstop"}"#);
    let t = Instant::now();
    let data = read(&client, &queries, None, source, cfg.retention_ms, 60_000)
        .await
        .map_err(|e| e.to_string())?;
    let refresh_ms = t.elapsed().as_secs_f64() * 1000.0;
    store.apply_fleet(data);
    let now = now_ms();
    let model_ms = (0..20)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(snapshot(&store, now));
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    let model = snapshot(&store, now);
    let theme = Theme::builtin("default").map_err(|e| e.to_string())?;
    let mut frames = Vec::new();
    for (name, view) in [("overview", View::Overview), ("probes", View::Probes)] {
        let mut terminal = Terminal::new(TestBackend::new(200, 60)).map_err(|e| e.to_string())?;
        let mut state = UiState::new("FLEET", false);
        state.switch_to(view);
        let mut samples = Vec::new();
        for _ in 0..101 {
            let t = Instant::now();
            terminal
                .draw(|f| draw(f, &mut state, std::hint::black_box(&model), &theme))
                .map_err(|e| e.to_string())?;
            samples.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        // The first frame also allocates the buffers.
        samples.remove(0);
        frames.push((name, samples));
    }
    Ok(FleetView {
        refresh_ms,
        model_ms,
        frames,
    })
}
