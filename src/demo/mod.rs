//! The built-in demo incident: a real HTTP API on loopback whose CORS and auth behaviour moves
//! through scripted phases (healthy, H2, H3, H4, recovery), simulated browsers calling it, and
//! App Service-style log files written by the API. corstop then tails those files and probes the
//! API exactly as it would a real deployment; nothing inside the dashboard is simulated.
//!
//! Demo time is compressed: `speed` demo seconds pass per real second, and every timestamp the
//! demo writes or serves is demo time. [`DemoHandle::clock`] exposes that clock so the rest of
//! corstop can bucket and display in the same time base.

pub mod browser;
pub mod logs;
pub mod narration;
pub mod replay;
pub mod screenshots;
pub mod script;
pub mod server;
pub mod svg;
pub mod traffic;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use script::{Phase, Script};
pub use server::{ALLOWED_ORIGINS, UNLISTED_ORIGIN};
pub use traffic::TrafficStats;

use crate::model::time::{Clock, EpochMs, MINUTE, format_datetime};

/// Store settings for the demo: one bucket per demo minute (one real second at the default
/// speed), six demo hours kept.
pub fn store_config() -> crate::store::StoreConfig {
    crate::store::StoreConfig {
        bucket_ms: MINUTE,
        retention_ms: 6 * 60 * MINUTE,
        ..crate::store::StoreConfig::default()
    }
}

/// Highest accepted speed-up; beyond it the phases flash past faster than a screen refreshes.
pub const MAX_SPEED: f64 = 100_000.0;

/// How the demo runs.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Demo seconds per real second (60: one real second is one demo minute).
    pub speed: f64,
    /// Demo time at which the script starts; default: so that the demo clock reads the
    /// current minute when the demo comes up.
    pub start_ms: Option<EpochMs>,
    /// Demo time already elapsed when the demo comes up (start somewhere inside the script;
    /// added to where `start_phase` begins).
    pub skip_ms: EpochMs,
    /// Directory for `http.log` and `auth.log`; default: a temporary directory removed when
    /// the demo stops. Existing files there are truncated.
    pub dir: Option<PathBuf>,
    /// Run the simulated browsers.
    pub traffic: bool,
    /// Come up at the start of this phase, then go on through the cycle.
    pub start_phase: Option<Phase>,
    /// Hold one phase forever instead of cycling.
    pub force_phase: Option<Phase>,
    /// Phase lengths in demo milliseconds (a zero-length phase is skipped).
    pub healthy_ms: EpochMs,
    pub preflight_auth_ms: EpochMs,
    pub token_expiry_ms: EpochMs,
    pub double_acao_ms: EpochMs,
    pub recovery_ms: EpochMs,
}

impl Default for DemoOptions {
    fn default() -> DemoOptions {
        let s = Script::new(0);
        DemoOptions {
            speed: 60.0,
            start_ms: None,
            skip_ms: 0,
            dir: None,
            traffic: true,
            start_phase: None,
            force_phase: None,
            healthy_ms: s.healthy_ms,
            preflight_auth_ms: s.preflight_auth_ms,
            token_expiry_ms: s.token_expiry_ms,
            double_acao_ms: s.double_acao_ms,
            recovery_ms: s.recovery_ms,
        }
    }
}

impl DemoOptions {
    /// The script these options describe.
    pub fn script(&self, start_ms: EpochMs) -> Script {
        let mut s = Script::new(start_ms);
        s.healthy_ms = self.healthy_ms.max(0);
        s.preflight_auth_ms = self.preflight_auth_ms.max(0);
        s.token_expiry_ms = self.token_expiry_ms.max(0);
        s.double_acao_ms = self.double_acao_ms.max(0);
        s.recovery_ms = self.recovery_ms.max(0);
        s.forced = self.force_phase;
        s
    }
}

/// A clock that starts at `at` and runs `speed` times faster than real time.
pub fn compressed_clock(at: EpochMs, speed: f64) -> Clock {
    let origin = Instant::now();
    Arc::new(move || at + (origin.elapsed().as_secs_f64() * 1000.0 * speed) as EpochMs)
}

/// A running demo. Dropping it stops everything (log writers flush what they hold);
/// [`DemoHandle::shutdown`] additionally waits for that to finish.
pub struct DemoHandle {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub addr: SocketAddr,
    pub http_log: PathBuf,
    pub auth_log: PathBuf,
    /// Demo time.
    pub clock: Clock,
    pub script: Script,
    pub stats: Arc<TrafficStats>,
    state: Arc<server::ServerState>,
    stop: watch::Sender<bool>,
    stop_logs: watch::Sender<bool>,
    traffic: Vec<JoinHandle<()>>,
    server: Option<JoinHandle<()>>,
    writers: Vec<JoinHandle<()>>,
    _temp: Option<tempfile::TempDir>,
}

impl DemoHandle {
    /// The phase in force now and the demo time it began.
    pub fn phase(&self) -> (Phase, EpochMs) {
        self.script.phase_at((self.clock)())
    }

    /// Full URLs worth probing and whether each is critical to the business.
    pub fn probe_endpoints(&self) -> Vec<(String, bool)> {
        vec![
            (format!("{}/api/orders", self.url), true),
            (format!("{}/api/orders/1042", self.url), true),
            (format!("{}/api/profile", self.url), true),
            (format!("{}/api/products", self.url), false),
        ]
    }

    /// Page origins that call the API: the three in its CORS policy, then the partner origin
    /// that was never added (probing it shows a steady H1 finding).
    pub fn origins(&self) -> Vec<String> {
        ALLOWED_ORIGINS
            .iter()
            .chain(std::iter::once(&UNLISTED_ORIGIN))
            .map(std::string::ToString::to_string)
            .collect()
    }

    /// Scripted changes (deploys, configuration, identity provider events) within the last
    /// `span_ms` of demo time, oldest first, each with the phase it started.
    pub fn recent_changes(&self, span_ms: EpochMs) -> Vec<(EpochMs, Phase, &'static str)> {
        let now = (self.clock)();
        let mut out: Vec<(EpochMs, Phase, &'static str)> = self
            .script
            .transitions_between(now - span_ms.max(0), now)
            .into_iter()
            .map(|(t, p)| (t, p, p.change_note()))
            .collect();
        if out.is_empty() {
            let (phase, since) = self.phase();
            if since >= now - span_ms.max(0) {
                out.push((since, phase, phase.change_note()));
            }
        }
        out
    }

    /// Requests the server has answered.
    pub fn requests_served(&self) -> u64 {
        self.state
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Log lines dropped because a writer fell behind (expected to stay 0).
    pub fn dropped_log_lines(&self) -> u64 {
        self.state.http_log.dropped() + self.state.auth_log.dropped()
    }

    /// Stops the browsers and the server, then lets the log writers write out and finish.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        for t in self.traffic.drain(..) {
            let _ = t.await;
        }
        if let Some(mut server) = self.server.take() {
            // Graceful first; a client holding a connection open must not hold up the exit.
            if tokio::time::timeout(Duration::from_secs(2), &mut server)
                .await
                .is_err()
            {
                server.abort();
            }
        }
        self.stop_logs.send_replace(true);
        for w in self.writers.drain(..) {
            let _ = w.await;
        }
    }
}

impl Drop for DemoHandle {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        self.stop_logs.send_replace(true);
        for t in &self.traffic {
            t.abort();
        }
        if let Some(s) = &self.server {
            s.abort();
        }
    }
}

fn invalid(msg: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, msg.to_string())
}

/// Starts the demo API on `127.0.0.1:0`, its log writers and (if asked) the browsers.
pub async fn start(opts: DemoOptions) -> std::io::Result<DemoHandle> {
    if !(opts.speed.is_finite() && opts.speed > 0.0 && opts.speed <= MAX_SPEED) {
        return Err(invalid(
            "demo speed must be greater than 0 and at most 100000",
        ));
    }
    let skip = opts.skip_ms.max(0)
        + opts
            .start_phase
            .map_or(0, |p| opts.script(0).phase_offset(p));
    let (start_ms, clock_at) = match opts.start_ms {
        Some(start) => (start, start.saturating_add(skip)),
        None => {
            let now = crate::model::time::now_ms().div_euclid(MINUTE) * MINUTE;
            (now - skip, now)
        }
    };
    let script = opts.script(start_ms);
    let clock = compressed_clock(clock_at, opts.speed);

    let (temp, dir) = match &opts.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            (None, d.clone())
        }
        None => {
            let t = tempfile::Builder::new().prefix("corstop-demo-").tempdir()?;
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    };
    let http_log = dir.join("http.log");
    let auth_log = dir.join("auth.log");

    let (stop, stop_rx) = watch::channel(false);
    let (stop_logs, stop_logs_rx) = watch::channel(false);
    let (http_line, http_writer) = logs::spawn_writer(&http_log, stop_logs_rx.clone())?;
    let (auth_line, auth_writer) = logs::spawn_writer(&auth_log, stop_logs_rx)?;

    let state = Arc::new(server::ServerState {
        script: script.clone(),
        clock: clock.clone(),
        http_log: http_line,
        auth_log: auth_line,
        requests: AtomicU64::new(0),
        counters: server::Counters::default(),
    });
    let mut server_stop = stop_rx.clone();
    let stop_signal = async move {
        let _ = server_stop.wait_for(|stopped| *stopped).await;
    };
    let (addr, server_task) = server::spawn(state.clone(), stop_signal).await?;
    let url = format!("http://{addr}");

    let stats = Arc::new(TrafficStats::default());
    let traffic = if opts.traffic {
        traffic::spawn(url.clone(), clock.clone(), stats.clone(), stop_rx)
            .map_err(std::io::Error::other)?
    } else {
        Vec::new()
    };
    tracing::info!(%url, http_log = %http_log.display(), auth_log = %auth_log.display(), "demo started");

    Ok(DemoHandle {
        url,
        addr,
        http_log,
        auth_log,
        clock,
        script,
        stats,
        state,
        stop,
        stop_logs,
        traffic,
        server: Some(server_task),
        writers: vec![http_writer, auth_writer],
        _temp: temp,
    })
}

/// `corstop demo --serve-only`: runs the demo without the dashboard, printing where it is and
/// each phase change, until Ctrl-C.
pub async fn serve_only(opts: DemoOptions) -> anyhow::Result<()> {
    let demo = start(opts).await?;
    println!("demo API     {}", demo.url);
    println!("http log     {}", demo.http_log.display());
    println!("auth log     {}", demo.auth_log.display());
    println!("origins      {}", demo.origins().join(" "));
    println!("probe        {}", {
        let eps: Vec<String> = demo
            .probe_endpoints()
            .into_iter()
            .map(|(u, critical)| {
                if critical {
                    format!("{u} (critical)")
                } else {
                    u
                }
            })
            .collect();
        eps.join(" ")
    });
    let mut shown: Option<Phase> = None;
    let mut waves_until = (demo.clock)();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            _ = tick.tick() => {
                let now = (demo.clock)();
                let (phase, since) = demo.script.phase_at(now);
                if shown != Some(phase) {
                    shown = Some(phase);
                    let next = demo
                        .script
                        .next_change(now)
                        .map(|t| format!(", next change {}", format_datetime(t)))
                        .unwrap_or_default();
                    println!(
                        "{}  phase {}: {} (since {}{})  [{} requests so far]\n                      change: {}",
                        format_datetime(now),
                        phase.id(),
                        phase.title(),
                        format_datetime(since),
                        next,
                        demo.requests_served(),
                        phase.change_note(),
                    );
                }
                for wave in demo.script.waves_between(waves_until + 1, now) {
                    println!(
                        "{}  access tokens expire together; refresh fails for {}",
                        format_datetime(wave),
                        crate::model::time::format_duration(demo.script.refresh_outage_ms),
                    );
                }
                waves_until = now;
            }
        }
    }
    println!("stopping demo");
    demo.shutdown().await;
    Ok(())
}
