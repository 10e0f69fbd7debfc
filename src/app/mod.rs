//! Wiring: resolves settings, starts producers, the ingest task and the dashboard. Shared by the
//! binary, the demo and the headless tests, so all of them run the same pipeline.
//!
//! - [`cli`]: flags and environment variables; [`config`]: the TOML file and its template.

pub mod agent;
pub mod cli;
pub mod config;
mod fleet;
pub mod usage;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use crate::app::cli::{Command, DashboardArgs, DemoArgs, ReportArgs, ReportFormat};
use crate::app::config::{ConfigError, FileConfig};
use crate::model::time::{Clock, EpochMs, MINUTE, SECOND, now_ms, wall_clock};
use crate::sources::event::Event;
use crate::sources::formats::FormatOptions;
use crate::sources::live::LogSourceSpec;
use crate::sources::probe::{DurationSetting, ProbeSettings};
use crate::store::{Store, StoreConfig, TimeMode};

/// The store as every task shares it. Locks are held only to apply a batch or to build a
/// frame's view model, never across I/O.
pub type SharedStore = Arc<Mutex<Store>>;

/// Capacity of the producer → store channel, in events (each is a batch of at most 4,096 lines
/// or 1 MB of input, or one probe). Full, it holds producers back (files wait on disk), so the
/// queue stays within about 32 MB plus the batches' raw-line tails whatever the line length.
pub const CHANNEL_CAPACITY: usize = 32;

/// Everything resolved from flags, environment, file and defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    pub logs: Vec<LogSourceSpec>,
    pub format_opts: FormatOptions,
    pub probe: Option<ProbeSettings>,
    pub store: StoreConfig,
    pub from_start: bool,
    pub fps: u32,
    pub theme: String,
    pub ascii: bool,
    pub log_file: PathBuf,
    pub token_lifetimes_ms: Vec<i64>,
    pub slo_percent: f64,
    pub notify: Option<crate::alerting::NotifySettings>,
    /// The file the settings came from, if any.
    pub config_path: Option<PathBuf>,
    pub keys: crate::ui::KeyBindings,
    /// The zone displayed times are in.
    pub zone: crate::model::zone::Zone,
    /// Where the theme name came from (`--theme`, `CORSTOP_THEME`, the file), for errors.
    pub theme_given_as: String,
    /// Values corrected on the way in (an origin's trailing slash), said on stderr and on
    /// the dashboard.
    pub notes: Vec<String>,
    /// The fleet view's Prometheus, when the panels come from it.
    pub fleet: Option<crate::sources::fleet::FleetSettings>,
}

fn default_log_file() -> PathBuf {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|d| !d.is_empty())
                .map(|h| PathBuf::from(h).join(".local/state"))
        });
    match state {
        Some(dir) => dir.join("corstop").join("corstop.log"),
        None => std::env::temp_dir().join("corstop.log"),
    }
}

fn load_file(args: &DashboardArgs) -> Result<(FileConfig, Option<PathBuf>), ConfigError> {
    if let Some(path) = &args.config {
        return Ok((config::load(path)?, Some(path.clone())));
    }
    for path in config::default_locations() {
        if path.is_file() {
            return Ok((config::load(&path)?, Some(path)));
        }
    }
    Ok((FileConfig::default(), None))
}

/// Resolves settings: flags and environment (already merged by clap) over the file over
/// defaults.
pub fn resolve(args: &DashboardArgs) -> Result<Settings, ConfigError> {
    resolve_with(args, true)
}

/// [`resolve`]; `probe_complete` says whether the probe settings must be whole here, or are
/// completed later by the command's own flags (`check --url/--origin`), which checks them.
pub fn resolve_with(args: &DashboardArgs, probe_complete: bool) -> Result<Settings, ConfigError> {
    let (file, config_path) = load_file(args)?;
    let origin_of_file = config_path
        .as_ref()
        .map_or("configuration".to_string(), |p| p.display().to_string());

    let from_start = args.from_start || file.from_start.unwrap_or(false);
    let history = !args.no_history && file.history.unwrap_or(true);
    let grace_flag = usage::flag_duration(args, "rotation_grace", &args.rotation_grace)?
        .map(|ms| std::time::Duration::from_millis(ms.max(0) as u64));
    let grace_of = |entry: Option<&DurationSetting>| {
        grace_flag
            .or(entry.map(|d| std::time::Duration::from_millis(d.0.max(0) as u64)))
            .unwrap_or(crate::sources::live::ROTATION_GRACE)
    };
    let mut logs: Vec<LogSourceSpec> = file
        .log
        .iter()
        .map(|e| LogSourceSpec {
            path: e.path.clone(),
            label: e.label.clone(),
            format: e.format.clone(),
            from_start,
            history,
            poll: e.poll || args.poll,
            rotation_grace: grace_of(e.rotation_grace.as_ref()),
        })
        .collect();
    if !args.logs.is_empty() {
        // Flags replace the file's sources rather than adding to them, like every other key.
        logs = args
            .logs
            .iter()
            .map(|p| LogSourceSpec {
                path: p.clone(),
                label: None,
                format: args.log_format.clone(),
                from_start,
                history,
                poll: args.poll,
                rotation_grace: grace_of(None),
            })
            .collect();
    }

    let format_opts = FormatOptions {
        nginx_format: args
            .nginx_format
            .clone()
            .or(file.formats.nginx_format.clone()),
        json_fields: file.formats.json_fields.clone(),
    };
    if let Some(name) = &args.log_format {
        usage::check_log_format(name, &args.given_as("log_format"), &format_opts)?;
    }
    for entry in file.log.iter().filter(|_| args.logs.is_empty()) {
        if let Some(name) = &entry.format {
            let key = format!("{origin_of_file}: [[log]] path = '{}': format", entry.path);
            usage::check_log_format(name, &key, &format_opts)?;
        }
    }

    let store = usage::resolve_store(
        args,
        file.store.apply(StoreConfig::default()),
        &origin_of_file,
    )?;

    let mut notes = Vec::new();
    let probe = usage::resolve_probe(
        args,
        file.probe.clone(),
        &origin_of_file,
        probe_complete,
        &mut notes,
    )?;

    let fps = args.view.fps.or(file.fps).unwrap_or(10);
    if !(1..=60).contains(&fps) {
        return Err(ConfigError::Invalid {
            origin: if args.view.fps.is_some() {
                args.given_as("fps")
            } else {
                format!("{origin_of_file}: fps")
            },
            message: format!("must be between 1 and 60, got {fps}"),
        });
    }

    let keys = file.keys.clone().unwrap_or_default();
    keys.validate().map_err(|e| ConfigError::Invalid {
        origin: format!("{origin_of_file}: [keys]"),
        message: e.to_string(),
    })?;

    let zone = usage::zone(args, file.tz.as_deref())?;
    let fleet = usage::fleet_settings(args, file.fleet.as_ref());

    Ok(Settings {
        zone,
        keys,
        logs,
        format_opts,
        probe,
        store,
        from_start,
        fps,
        theme: args
            .view
            .theme
            .clone()
            .or(file.theme.clone())
            .unwrap_or_else(|| "default".into()),
        theme_given_as: if args.view.theme.is_some() {
            args.given_as("theme")
        } else {
            format!("{origin_of_file}: theme")
        },
        notes,
        ascii: args.view.ascii || file.ascii.unwrap_or(false),
        log_file: args
            .log_file
            .clone()
            .or(file.log_file.clone())
            .unwrap_or_else(default_log_file),
        token_lifetimes_ms: file
            .analysis
            .token_lifetimes
            .as_ref()
            .map(|v| v.iter().map(|d| d.0).collect())
            .unwrap_or_else(|| vec![60 * MINUTE]),
        slo_percent: file.analysis.slo.unwrap_or(99.9),
        notify: file.notify.clone(),
        config_path,
        fleet,
    })
}

/// A running pipeline: producers → channel → ingest task → store.
pub struct Pipeline {
    pub store: SharedStore,
    pub probe_now: Arc<Notify>,
    tx: Option<mpsc::Sender<Event>>,
    tasks: Vec<JoinHandle<()>>,
    ingest: Option<JoinHandle<()>>,
}

impl Pipeline {
    /// Starts the ingest task on an empty store.
    pub fn new(store_cfg: StoreConfig, mode: TimeMode) -> Pipeline {
        let store: SharedStore = Arc::new(Mutex::new(Store::new(store_cfg, mode)));
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let ingest = spawn_ingest(store.clone(), rx);
        Pipeline {
            store,
            probe_now: Arc::new(Notify::new()),
            tx: Some(tx),
            tasks: Vec::new(),
            ingest: Some(ingest),
        }
    }

    fn sender(&self) -> mpsc::Sender<Event> {
        match &self.tx {
            Some(tx) => tx.clone(),
            None => mpsc::channel(1).0,
        }
    }

    /// Adds a log source (file, glob or stdin).
    pub fn add_log(&mut self, spec: LogSourceSpec, opts: &FormatOptions) {
        let label = spec.display_label();
        let id = lock(&self.store).register_source(&label);
        let task = crate::store::history::spawn_log_source(
            spec,
            id,
            opts.clone(),
            self.sender(),
            self.store.clone(),
        );
        self.tasks.push(task);
    }

    /// Starts the probe scheduler.
    pub fn add_prober(&mut self, settings: ProbeSettings, clock: Clock) {
        let task = crate::sources::probe::scheduler::spawn(
            settings,
            clock,
            self.sender(),
            self.probe_now.clone(),
        );
        self.tasks.push(task);
    }

    /// Evaluates the status rule every few seconds and hands its reasons to the webhook
    /// notifier (which de-duplicates, reminds and resolves): what is notified is what the badge
    /// shows.
    pub fn add_notifier(
        &mut self,
        settings: &crate::alerting::NotifySettings,
        analysis: crate::analysis::AnalysisConfig,
    ) -> anyhow::Result<std::sync::Arc<crate::alerting::DeliveryStatus>> {
        let (tx, rx) = mpsc::channel(4);
        let handle = crate::alerting::spawn(settings, rx).context("[notify]")?;
        let status = handle.status.clone();
        self.tasks.push(handle.task);
        let store = self.store.clone();
        self.tasks.push(tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                every.tick().await;
                let snapshot = {
                    let s = lock(&store);
                    status_snapshot(&s, &analysis)
                };
                // A full channel means the notifier is behind; the next snapshot carries the
                // whole state again, so nothing is lost by skipping this one.
                if let Err(mpsc::error::TrySendError::Closed(_)) = tx.try_send(snapshot) {
                    break;
                }
            }
        }));
        Ok(status)
    }

    /// Stops producers and waits until everything they sent has reached the store.
    pub async fn shutdown(mut self) {
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        self.tx = None;
        if let Some(ingest) = self.ingest.take() {
            let _ = ingest.await;
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        if let Some(i) = &self.ingest {
            i.abort();
        }
    }
}

/// The status of the store as the notifier takes it, decided by the status rule.
pub fn status_snapshot(
    store: &Store,
    analysis: &crate::analysis::AnalysisConfig,
) -> crate::alerting::AlertSnapshot {
    let v = crate::analysis::verdicts(store, analysis);
    let now_board = v.now.as_ref().unwrap_or(&v.triage);
    let status = crate::analysis::status::of_store(store, &v.alerts, now_board);
    crate::alerting::snapshot_of_status(&status, store.now())
}

/// Locks the store, recovering from a poisoned lock: a panic in one task must not take the
/// dashboard down with it, and the store's invariants hold between calls.
pub fn lock(store: &SharedStore) -> std::sync::MutexGuard<'_, Store> {
    store
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The ingest task: drains everything queued, then applies it under one lock.
pub fn spawn_ingest(store: SharedStore, mut rx: mpsc::Receiver<Event>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = Vec::with_capacity(256);
        while rx.recv_many(&mut buf, 256).await > 0 {
            let wall = now_ms();
            let mut s = lock(&store);
            for ev in buf.drain(..) {
                s.apply(ev, wall);
            }
        }
    })
}

fn init_tracing(path: &std::path::Path) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CORSTOP_TRACE")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
}

fn ui_options(
    settings: &Settings,
    mode_label: &'static str,
) -> anyhow::Result<crate::ui::UiOptions> {
    let theme =
        crate::ui::theme::Theme::load(&settings.theme, crate::ui::theme::Theme::no_color_env())?;
    Ok(crate::ui::UiOptions {
        fps: settings.fps,
        theme,
        ascii: settings.ascii,
        mode_label,
        analysis: crate::analysis::AnalysisConfig {
            token_lifetimes_ms: settings.token_lifetimes_ms.clone(),
            alerts: alert_config(settings),
        },
        keys: settings.keys.clone(),
        bell: None,
        notes: settings.notes.clone(),
        narrator: None,
        fleet: None,
    })
}

fn require_terminal() -> anyhow::Result<()> {
    if !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "standard output is not a terminal, so there is no dashboard to draw.\n\
             For headless use try:\n  corstop report --format json <paths...>   (what the logs hold)\n  \
             corstop check --url URL --origin ORIGIN    (one round of preflight probes)\n  \
             corstop agent --log PATH --listen ADDR     (metrics for Prometheus)"
        );
    }
    Ok(())
}

/// The live dashboard on configured logs and probes.
pub async fn run_dashboard(settings: Settings) -> anyhow::Result<()> {
    require_terminal()?;
    if let Some(nothing) = usage::nothing_to_watch(&settings) {
        anyhow::bail!(nothing);
    }
    // The fleet is read at Prometheus's (wall-clock) times, whatever --from-start says.
    let mode = if settings.from_start && settings.fleet.is_none() {
        TimeMode::EventTime
    } else {
        TimeMode::Live
    };
    let mut pipeline = Pipeline::new(settings.store.clone(), mode);
    let fleet = pipeline.add_watched(&settings);
    if let Some(p) = &settings.probe {
        pipeline.add_prober(p.clone(), wall_clock());
    }
    let label = if settings.fleet.is_some() {
        "FLEET"
    } else if settings.from_start {
        "REPLAY"
    } else {
        "LIVE"
    };
    let mut opts = ui_options(&settings, label)?;
    opts.fleet = fleet;
    if let Some(notify) = &settings.notify {
        let delivery = pipeline.add_notifier(notify, opts.analysis.clone())?;
        opts.bell = Some(std::sync::Arc::new(move || delivery.take_bell()));
    }
    let result = crate::ui::run(pipeline.store.clone(), opts, pipeline.probe_now.clone()).await;
    pipeline.shutdown().await;
    result
}

/// The alert rules with the configured objective.
pub fn alert_config(settings: &Settings) -> crate::analysis::alerts::AlertConfig {
    crate::analysis::alerts::AlertConfig {
        objective: settings.slo_percent / 100.0,
        ..Default::default()
    }
}

/// Starts the demo's pipeline exactly as a real deployment would be watched: its log files are
/// tailed and its endpoints probed.
pub fn start_demo_pipeline(
    demo: &crate::demo::DemoHandle,
    probe_interval_real: EpochMs,
) -> anyhow::Result<Pipeline> {
    let mut pipeline = Pipeline::new(crate::demo::store_config(), TimeMode::EventTime);
    let opts = FormatOptions::default();
    for (label, path) in [("http.log", &demo.http_log), ("auth.log", &demo.auth_log)] {
        pipeline.add_log(
            LogSourceSpec {
                path: path.display().to_string(),
                label: Some(label.to_string()),
                format: None,
                from_start: true,
                history: false,
                poll: false,
                rotation_grace: crate::sources::live::ROTATION_GRACE,
            },
            &opts,
        );
    }
    let mut probe = ProbeSettings::default();
    let endpoints: Vec<String> = demo.probe_endpoints().into_iter().map(|(u, _)| u).collect();
    usage::apply_probe_flags(&mut probe, &endpoints, &demo.origins());
    for (ep, (_, critical)) in probe.endpoint.iter_mut().zip(demo.probe_endpoints()) {
        ep.critical = critical;
    }
    probe.interval = DurationSetting(probe_interval_real);
    probe.timeout = DurationSetting(2 * SECOND);
    pipeline.add_prober(probe, demo.clock.clone());
    Ok(pipeline)
}

async fn run_demo(args: &DemoArgs, settings: Settings) -> anyhow::Result<()> {
    let opts = crate::demo::DemoOptions {
        speed: args.speed,
        dir: args.dir.clone(),
        start_phase: args.phase.filter(|_| !args.hold),
        force_phase: args.phase.filter(|_| args.hold),
        ..crate::demo::DemoOptions::default()
    };
    if args.serve_only {
        return crate::demo::serve_only(opts).await;
    }
    require_terminal()?;
    let demo = crate::demo::start(opts)
        .await
        .context("starting the demo server")?;
    let pipeline = start_demo_pipeline(&demo, 5 * SECOND)?;
    let mut ui = ui_options(&settings, "DEMO")?;
    // The board is drawn at the store's time, so the script is narrated at that time too;
    // until the first lines arrive the store has no time, and the demo's start stands in.
    let script = demo.script.clone();
    let started = (demo.clock)();
    ui.narrator = Some(Arc::new(move |now| {
        script.narrate(now.max(started)).to_string()
    }));
    let result = crate::ui::run(pipeline.store.clone(), ui, pipeline.probe_now.clone()).await;
    pipeline.shutdown().await;
    demo.shutdown().await;
    result
}

/// A report reads history at full speed, often hours of it: buckets of at least a minute keep
/// the store (and the parallel reader's per-thread stores) small, and a postmortem needs no
/// finer grain than the analysis uses.
pub fn report_store_config(mut cfg: StoreConfig) -> StoreConfig {
    cfg.bucket_ms = cfg.bucket_ms.max(MINUTE);
    cfg.retention_ms = cfg.retention_ms.max(cfg.bucket_ms);
    cfg
}

fn run_report(
    args: &ReportArgs,
    store_cfg: StoreConfig,
    configured: &FormatOptions,
    diagnosis_options: &crate::headless::report::DiagnosisOptions,
) -> anyhow::Result<ExitCode> {
    let specs: Vec<LogSourceSpec> = args
        .paths
        .iter()
        .map(|p| LogSourceSpec {
            path: p.clone(),
            label: None,
            format: args.log_format.clone(),
            from_start: true,
            history: false,
            poll: false,
            rotation_grace: crate::sources::live::ROTATION_GRACE,
        })
        .collect();
    // The configuration file's `[formats]` apply to reports too; the flag wins over it.
    let opts = FormatOptions {
        nginx_format: args
            .nginx_format
            .clone()
            .or_else(|| configured.nginx_format.clone()),
        json_fields: configured.json_fields.clone(),
    };
    let mut store = Store::new(report_store_config(store_cfg), TimeMode::EventTime);
    crate::store::reader::read_to_end(&specs, &opts, &mut store)?;
    // Preflights still waiting at the end of the logs never got their request.
    store.settle_followups();
    let diagnosis = crate::headless::report::diagnose(&store, diagnosis_options);
    let report = crate::headless::report::FullReport {
        counts: crate::headless::report::build(&store),
        diagnosis,
    };
    let out = match args.output {
        ReportFormat::Json => crate::headless::report::full_to_json(&report),
        ReportFormat::Table => crate::headless::report::full_to_table(&report),
        ReportFormat::Markdown => crate::headless::report::full_to_markdown(&report, &store),
    };
    write_stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// Prints command output; a closed pipe (`corstop report ... | head`) ends quietly.
fn write_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Exit code for usage and configuration errors (clap uses the same).
pub const EXIT_USAGE: u8 = 2;

/// The binary's whole behaviour.
pub fn main() -> ExitCode {
    let cli = cli::parse();
    if cli.dashboard.print_config {
        print!("{}", config::TEMPLATE);
        return ExitCode::SUCCESS;
    }
    let probe_complete = !matches!(cli.command, Some(Command::Check(_)));
    let settings = match resolve_with(&cli.dashboard, probe_complete)
        .map_err(|e| e.to_string())
        .and_then(|s| usage::usable_by(&cli, s))
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("corstop: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match &cli.command {
        Some(Command::Agent(args)) => agent::init_tracing(args.log_output),
        _ => init_tracing(&settings.log_file),
    }
    crate::model::zone::set_display(settings.zone);
    for note in &settings.notes {
        tracing::warn!("{note}");
        // The dashboard shows its notes in the header; on its terminal nothing else is said.
        if matches!(cli.command, Some(Command::Report(_) | Command::Check(_))) {
            eprintln!("corstop: note: {note}");
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("corstop: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match &cli.command {
        None => runtime
            .block_on(run_dashboard(settings))
            .map(|()| ExitCode::SUCCESS),
        Some(Command::Demo(args)) => runtime
            .block_on(run_demo(args, settings))
            .map(|()| ExitCode::SUCCESS),
        Some(Command::Report(args)) => {
            let opts = crate::headless::report::DiagnosisOptions {
                token_lifetimes_ms: settings.token_lifetimes_ms.clone(),
                alerts: alert_config(&settings),
            };
            run_report(args, settings.store.clone(), &settings.format_opts, &opts)
        }
        Some(Command::Check(args)) => runtime
            .block_on(crate::headless::check::run(args, settings.probe.clone()))
            .map(|code| ExitCode::from(code.clamp(0, 255) as u8)),
        Some(Command::Agent(args)) => runtime.block_on(agent::run(args, &cli.dashboard, settings)),
        Some(Command::Screenshots(args)) => {
            crate::demo::screenshots::generate(&args.out).map(|written| {
                for path in written {
                    println!("{}", path.display());
                }
                ExitCode::SUCCESS
            })
        }
    };
    // Producers may still be blocked in reads (stdin); do not wait for them.
    runtime.shutdown_background();
    match result {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("corstop: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests;
