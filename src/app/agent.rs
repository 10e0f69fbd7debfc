//! `corstop agent`: the dashboard's pipeline without a screen, for a server or a container. It
//! serves what the store holds to Prometheus (`headless::agent`), writes its diagnostics to
//! standard error, stops on SIGTERM or SIGINT and re-reads its configuration on SIGHUP.

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;

use crate::app::cli::{AgentArgs, DashboardArgs, LogOutput};
use crate::app::{EXIT_USAGE, Pipeline, Settings, alert_config, config};
use crate::headless::agent::{AgentState, Caps};
use crate::model::time::wall_clock;
use crate::sources::live::LogSourceSpec;
use crate::sources::probe::ProbeSettings;
use crate::store::TimeMode;

/// Where the agent listens unless told otherwise: loopback, so that nothing is exposed until
/// asked for, on a port in the range Prometheus exporters use.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";

/// Diagnostics to standard error: the agent has no terminal of its own to protect.
pub fn init_tracing(output: LogOutput) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CORSTOP_TRACE")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::io::stderr);
    let _ = match output {
        LogOutput::Logfmt => builder.compact().try_init(),
        LogOutput::Json => builder.json().try_init(),
    };
}

/// The agent's own settings, from its flags and the configuration's `[agent]`.
#[derive(PartialEq)]
struct AgentSettings {
    listen: SocketAddr,
    caps: Caps,
}

fn agent_settings(
    args: &AgentArgs,
    dashboard: &DashboardArgs,
    settings: &Settings,
) -> Result<AgentSettings, String> {
    let file = match &settings.config_path {
        Some(path) => config::load(path).map_err(|e| e.to_string())?.agent,
        None => config::AgentSection::default(),
    };
    let (text, given_as) = match (&args.listen, &file.listen) {
        (Some(l), _) => (l.clone(), dashboard.given_as("listen")),
        (None, Some(l)) => (
            l.clone(),
            format!(
                "{}: [agent] listen",
                settings
                    .config_path
                    .as_ref()
                    .map_or(String::new(), |p| p.display().to_string())
            ),
        ),
        (None, None) => (DEFAULT_LISTEN.to_string(), "--listen".to_string()),
    };
    let listen = text
        .parse::<SocketAddr>()
        .ok()
        .or_else(|| text.to_socket_addrs().ok().and_then(|mut a| a.next()))
        .ok_or_else(|| {
            format!("{given_as}: '{text}' is not an address to listen on (e.g. 127.0.0.1:9464 or 0.0.0.0:9464)")
        })?;
    let defaults = Caps::default();
    Ok(AgentSettings {
        listen,
        caps: Caps {
            routes: file.max_route_labels.unwrap_or(defaults.routes),
            origins: file.max_origin_labels.unwrap_or(defaults.origins),
        },
    })
}

/// The producers the agent runs, so that a reload can stop only those that changed.
struct Producers {
    logs: Vec<(LogSourceSpec, JoinHandle<()>)>,
    probe: Option<(ProbeSettings, JoinHandle<()>)>,
}

impl Producers {
    /// Starts what `settings` configures and is not running yet, and stops what it no longer
    /// configures. A source the store knew before does not read its history again: its lines
    /// are counted already.
    fn apply(&mut self, pipeline: &mut Pipeline, settings: &Settings) {
        let (keep, stop): (Vec<_>, Vec<_>) = std::mem::take(&mut self.logs)
            .into_iter()
            .partition(|(spec, _)| settings.logs.contains(spec));
        for (spec, task) in stop {
            tracing::info!(source = %spec.display_label(), "source removed");
            task.abort();
        }
        self.logs = keep;
        for spec in &settings.logs {
            if self.logs.iter().any(|(s, _)| s == spec) {
                continue;
            }
            let label = spec.display_label();
            let known = crate::app::lock(&pipeline.store)
                .sources()
                .iter()
                .any(|s| s.label == label);
            let mut started = spec.clone();
            started.history &= !known;
            pipeline.add_log(started, &settings.format_opts);
            if let Some(task) = pipeline.tasks.pop() {
                tracing::info!(source = %label, "source started");
                self.logs.push((spec.clone(), task));
            }
        }
        if self.probe.as_ref().map(|(p, _)| p) != settings.probe.as_ref() {
            if let Some((_, task)) = self.probe.take() {
                task.abort();
            }
            if let Some(p) = &settings.probe {
                pipeline.add_prober(p.clone(), wall_clock());
                if let Some(task) = pipeline.tasks.pop() {
                    tracing::info!(endpoints = p.endpoint.len(), "probes started");
                    self.probe = Some((p.clone(), task));
                }
            }
        }
    }

    fn stop(self) {
        for (_, task) in self.logs {
            task.abort();
        }
        if let Some((_, task)) = self.probe {
            task.abort();
        }
    }
}

/// Re-reads the configuration: sources and probes that changed are restarted, the analysis
/// takes the new settings; anything invalid keeps the running configuration.
/// The running process: what a reload compares the new configuration with.
struct Running<'a> {
    args: &'a AgentArgs,
    dashboard: &'a DashboardArgs,
    agent: AgentSettings,
}

fn reload(
    running: &Running<'_>,
    current: &mut Settings,
    producers: &mut Producers,
    pipeline: &mut Pipeline,
    state: &AgentState,
) {
    let fresh = crate::app::resolve(running.dashboard)
        .map_err(|e| e.to_string())
        .and_then(|s| agent_settings(running.args, running.dashboard, &s).map(|a| (s, a)));
    let (fresh, agent) = match fresh {
        Ok(both) => both,
        Err(e) => {
            tracing::error!(error = %e, "reload refused; the running configuration is kept");
            return;
        }
    };
    if fresh.store != current.store {
        tracing::warn!("the [store] settings change only with a restart; kept as they were");
    }
    if agent != running.agent {
        tracing::warn!("the [agent] settings change only with a restart; kept as they were");
    }
    producers.apply(pipeline, &fresh);
    state.set_analysis(crate::analysis::AnalysisConfig {
        token_lifetimes_ms: fresh.token_lifetimes_ms.clone(),
        alerts: alert_config(&fresh),
    });
    tracing::info!(
        sources = fresh.logs.len(),
        probes = fresh.probe.as_ref().map_or(0, |p| p.endpoint.len()),
        "configuration reloaded"
    );
    *current = fresh;
}

/// Refreshes the analysis until the agent is ready (often at first), then every few seconds
/// so that readiness and the live clock follow the sources.
fn spawn_analysis(state: Arc<AgentState>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ready = false;
        loop {
            let s = state.clone();
            let now_ready = tokio::task::spawn_blocking(move || s.refresh())
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
            match (&now_ready, ready) {
                (Ok(()), false) => tracing::info!("ready: sources read and analysed"),
                (Err(why), true) => tracing::info!(reason = %why, "not ready"),
                _ => {}
            }
            ready = now_ready.is_ok();
            let pause = if ready { 5_000 } else { 250 };
            tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
        }
    })
}

/// Runs the agent until SIGTERM or SIGINT. Usage errors exit 2, naming what was given.
pub async fn run(
    args: &AgentArgs,
    dashboard: &DashboardArgs,
    settings: Settings,
) -> anyhow::Result<ExitCode> {
    let agent = match agent_settings(args, dashboard, &settings) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("corstop: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    // Before anything is announced, so that no signal finds the default action in place.
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut settings = settings;
    let mode = if settings.from_start {
        TimeMode::EventTime
    } else {
        TimeMode::Live
    };
    let mut pipeline = Pipeline::new(settings.store.clone(), mode);
    let mut producers = Producers {
        logs: Vec::new(),
        probe: None,
    };
    producers.apply(&mut pipeline, &settings);
    let analysis = crate::analysis::AnalysisConfig {
        token_lifetimes_ms: settings.token_lifetimes_ms.clone(),
        alerts: alert_config(&settings),
    };
    if let Some(notify) = &settings.notify {
        pipeline.add_notifier(notify, analysis.clone())?;
    }
    let state = Arc::new(AgentState::new(
        pipeline.store.clone(),
        analysis,
        agent.caps,
    ));

    let listener = tokio::net::TcpListener::bind(agent.listen)
        .await
        .with_context(|| format!("cannot listen on {}", agent.listen))?;
    let address = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = crate::headless::agent::router(state.clone());
    let mut server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await
    });
    tracing::info!(%address, "serving /metrics, /healthz and /readyz");
    let running = Running {
        args,
        dashboard,
        agent,
    };
    let analysis_task = spawn_analysis(state.clone());

    let outcome = loop {
        tokio::select! {
            _ = term.recv() => break Ok("SIGTERM"),
            _ = int.recv() => break Ok("SIGINT"),
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading the configuration");
                reload(&running, &mut settings, &mut producers, &mut pipeline, &state);
            }
            ended = &mut server => break Err(match ended {
                Ok(Ok(())) => anyhow::anyhow!("the HTTP server stopped"),
                Ok(Err(e)) => anyhow::Error::from(e).context("the HTTP server failed"),
                Err(e) => anyhow::Error::from(e).context("the HTTP server failed"),
            }),
        }
    };
    analysis_task.abort();
    let _ = stop_tx.send(());
    if outcome.is_ok() {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), &mut server).await;
    }
    producers.stop();
    // A reader blocked on standard input may never return; what was queued is in by then.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), pipeline.shutdown()).await;
    let signal = outcome?;
    tracing::info!(signal, "stopped");
    Ok(ExitCode::SUCCESS)
}
