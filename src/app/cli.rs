//! Command-line interface. Every flag that makes sense in a container also reads a `CORSTOP_*`
//! environment variable; flags win over the environment, the environment over the file.

use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "corstop",
    version,
    about = "Live dashboard for CORS and token incidents: tails access and auth logs, probes \
             preflights as a browser judges them, and ranks the likely causes.",
    after_help = "Examples:\n  corstop demo\n  corstop --log /var/log/nginx/access.log --probe https://api.example.com/api/orders --origin https://app.example.com\n  az webapp log tail -n api -g rg | corstop --log -\n  corstop report --log-format combined --format table access.log\n  corstop check --url https://api.example.com/api/orders --origin https://app.example.com"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub dashboard: DashboardArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the dashboard on a built-in incident: a local API that moves through CORS and token
    /// failures, real traffic against it, and its logs.
    Demo(DemoArgs),
    /// Read log sources to their end and print what they hold (for postmortems and CI).
    Report(ReportArgs),
    /// Probe once and exit: 0 when every check passes, 1 when any fails, 2 on usage errors.
    Check(crate::headless::check::CheckArgs),
    /// Run headless for a server or a container: the same sources, probes and analysis as the
    /// dashboard, exported to Prometheus on /metrics (with /healthz and /readyz).
    Agent(AgentArgs),
    /// Regenerate the SVG screenshots of every view and theme from a replay of the demo.
    #[command(hide = true)]
    Screenshots(ScreenshotsArgs),
}

#[derive(Debug, Args, Clone)]
pub struct ScreenshotsArgs {
    /// Directory the SVG files are written to.
    #[arg(long, value_name = "DIR", default_value = "screenshots")]
    pub out: PathBuf,
}

/// Settings shared by the dashboard and the demo.
#[derive(Debug, Args, Clone, Default)]
pub struct DashboardArgs {
    /// Configuration file (default: ./corstop.toml, then ~/.config/corstop/corstop.toml).
    #[arg(long, short = 'c', env = "CORSTOP_CONFIG", global = true)]
    pub config: Option<PathBuf>,

    /// Print a commented configuration template and exit.
    #[arg(long)]
    pub print_config: bool,

    /// Log file, glob, or - for standard input (repeatable).
    #[arg(
        long = "log",
        short = 'l',
        value_name = "PATH",
        env = "CORSTOP_LOG",
        value_delimiter = ','
    )]
    pub logs: Vec<String>,

    /// Log format of the --log sources (default: detected from the first lines).
    #[arg(long, value_name = "NAME", env = "CORSTOP_LOG_FORMAT")]
    pub log_format: Option<String>,

    /// The former name of --log-format: refused with a pointer to the new name, because
    /// `--format` now only ever names an output format.
    #[arg(long = "format", value_name = "NAME", hide = true)]
    pub old_format: Option<String>,

    /// nginx log_format string, for --log-format nginx.
    #[arg(long, value_name = "FORMAT", env = "CORSTOP_NGINX_FORMAT")]
    pub nginx_format: Option<String>,

    /// Endpoint URL to probe with synthetic preflights (repeatable).
    #[arg(
        long = "probe",
        short = 'p',
        value_name = "URL",
        env = "CORSTOP_PROBE",
        value_delimiter = ','
    )]
    pub probes: Vec<String>,

    /// Page origin the probes send, e.g. https://app.example.com (repeatable).
    #[arg(
        long = "origin",
        short = 'o',
        value_name = "ORIGIN",
        env = "CORSTOP_ORIGIN",
        value_delimiter = ','
    )]
    pub origins: Vec<String>,

    /// Fleet view: fill the panels from this Prometheus server's corstop agents instead of
    /// local logs, e.g. http://prometheus:9090.
    #[arg(long, value_name = "URL", env = "CORSTOP_PROMETHEUS")]
    pub prometheus: Option<String>,

    /// Zone times are shown in: local (TZ or the system's zone), utc, or an IANA name such as
    /// Europe/Paris. Event times are kept in UTC.
    #[arg(long, value_name = "ZONE", env = "CORSTOP_TZ", global = true)]
    pub tz: Option<String>,

    /// Replay logs from their beginning; the view follows event time.
    #[arg(long, env = "CORSTOP_FROM_START")]
    pub from_start: bool,

    /// Follow files from their end, without reading the last hours (the retention) first.
    #[arg(long, env = "CORSTOP_NO_HISTORY")]
    pub no_history: bool,

    /// Poll files instead of relying on filesystem events (NFS, some container mounts).
    #[arg(long, env = "CORSTOP_POLL")]
    pub poll: bool,

    /// How long a rotated-away log keeps being read after it last grew, e.g. 2m (default 30s).
    #[arg(long, value_name = "DURATION")]
    pub rotation_grace: Option<String>,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub view: ViewArgs,

    /// Where diagnostics are written (never to the terminal the dashboard owns).
    #[arg(long, value_name = "PATH", env = "CORSTOP_LOG_FILE", global = true)]
    pub log_file: Option<PathBuf>,

    /// Where each value given came from, by argument id: `--origin` or `CORSTOP_ORIGIN`
    /// (see [`parse_from`]), so errors name what the user wrote.
    #[arg(skip)]
    pub given_as: std::collections::BTreeMap<String, String>,
}

impl DashboardArgs {
    /// How the user gave the value of argument `id`: its flag, or its environment variable
    /// when the value came from there.
    pub fn given_as(&self, id: &str) -> String {
        self.given_as
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("--{}", id.replace('_', "-")))
    }
}

/// Flags of the screen: the dashboard and the demo take them; headless commands do not.
#[derive(Debug, Args, Clone, Default)]
pub struct ViewArgs {
    /// Most frames per second (default 10).
    #[arg(long, env = "CORSTOP_FPS")]
    pub fps: Option<u32>,

    /// Theme name (default, light, high-contrast, colorblind, monochrome) or path.
    #[arg(long, env = "CORSTOP_THEME")]
    pub theme: Option<String>,

    /// ASCII instead of braille and box-drawing glyphs.
    #[arg(long, env = "CORSTOP_ASCII")]
    pub ascii: bool,
}

/// Time buckets: the dashboard and `report` take them.
#[derive(Debug, Args, Clone, Default)]
pub struct StoreArgs {
    /// Time bucket width, e.g. 10s.
    #[arg(long, value_name = "DURATION", env = "CORSTOP_BUCKET")]
    pub bucket: Option<String>,

    /// How long buckets are kept, e.g. 6h.
    #[arg(long, value_name = "DURATION", env = "CORSTOP_RETENTION")]
    pub retention: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    /// Run only the demo API and its log writers; print the URL and log paths.
    #[arg(long)]
    pub serve_only: bool,

    /// Demo seconds per real second (60: one real second is one demo minute).
    #[arg(long, default_value_t = 60.0)]
    pub speed: f64,

    /// Directory for the demo's log files (default: a temporary directory).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Start at this phase, then go on through the cycle: healthy, h2 (preflight-auth),
    /// h3 (token-expiry), h4 (double-acao) or recovery.
    #[arg(long, value_name = "PHASE", value_parser = parse_phase)]
    pub phase: Option<crate::demo::Phase>,

    /// Stay in the --phase phase instead of going on through the cycle.
    #[arg(long, requires = "phase")]
    pub hold: bool,

    #[command(flatten)]
    pub view: ViewArgs,
}

/// How the agent writes its diagnostics on standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogOutput {
    /// One `key=value` line per event.
    #[default]
    Logfmt,
    /// One JSON object per line.
    Json,
}

/// `corstop agent`: the dashboard's source, probe and bucket flags, and where to serve.
#[derive(Debug, Args, Clone)]
pub struct AgentArgs {
    /// Address /metrics, /healthz and /readyz are served on (default 127.0.0.1:9464, or the
    /// configuration's [agent] listen).
    #[arg(long, value_name = "ADDR", env = "CORSTOP_LISTEN")]
    pub listen: Option<String>,

    /// Format of the diagnostics written to standard error.
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        env = "CORSTOP_LOG_OUTPUT",
        default_value_t
    )]
    pub log_output: LogOutput,

    /// Log file, glob, or - for standard input (repeatable).
    #[arg(
        long = "log",
        short = 'l',
        value_name = "PATH",
        env = "CORSTOP_LOG",
        value_delimiter = ','
    )]
    pub logs: Vec<String>,

    /// Log format of the --log sources (default: detected from the first lines).
    #[arg(long, value_name = "NAME", env = "CORSTOP_LOG_FORMAT")]
    pub log_format: Option<String>,

    /// nginx log_format string, for --log-format nginx.
    #[arg(long, value_name = "FORMAT", env = "CORSTOP_NGINX_FORMAT")]
    pub nginx_format: Option<String>,

    /// Endpoint URL to probe with synthetic preflights (repeatable).
    #[arg(
        long = "probe",
        short = 'p',
        value_name = "URL",
        env = "CORSTOP_PROBE",
        value_delimiter = ','
    )]
    pub probes: Vec<String>,

    /// Page origin the probes send, e.g. https://app.example.com (repeatable).
    #[arg(
        long = "origin",
        short = 'o',
        value_name = "ORIGIN",
        env = "CORSTOP_ORIGIN",
        value_delimiter = ','
    )]
    pub origins: Vec<String>,

    /// Replay logs from their beginning; the analysis follows event time.
    #[arg(long, env = "CORSTOP_FROM_START")]
    pub from_start: bool,

    /// Follow files from their end, without reading the last hours (the retention) first.
    #[arg(long, env = "CORSTOP_NO_HISTORY")]
    pub no_history: bool,

    /// Poll files instead of relying on filesystem events (NFS, some container mounts).
    #[arg(long, env = "CORSTOP_POLL")]
    pub poll: bool,

    /// How long a rotated-away log keeps being read after it last grew, e.g. 2m (default 30s).
    #[arg(long, value_name = "DURATION")]
    pub rotation_grace: Option<String>,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// The agent's flags that the dashboard also has, by argument id.
const AGENT_SHARED: &[&str] = &[
    "logs",
    "log_format",
    "nginx_format",
    "probes",
    "origins",
    "from_start",
    "no_history",
    "poll",
    "rotation_grace",
    "bucket",
    "retention",
];

fn parse_phase(text: &str) -> Result<crate::demo::Phase, String> {
    crate::demo::Phase::parse(text).ok_or_else(|| {
        "expected healthy, h2, h3, h4, recovery (or preflight-auth, token-expiry, double-acao)"
            .to_string()
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ReportFormat {
    #[default]
    Table,
    Json,
    /// An incident summary to paste into a postmortem.
    Markdown,
}

#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// Log files, globs, or - for standard input.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<String>,

    /// Output format (the inputs' format is --log-format).
    #[arg(long = "format", short = 'f', value_enum, default_value_t = ReportFormat::Table)]
    pub output: ReportFormat,

    /// Log format of the inputs (default: detected per source).
    #[arg(long = "log-format", value_name = "NAME")]
    pub log_format: Option<String>,

    /// Accepted for symmetry with the dashboard: a report always reads its sources whole.
    #[arg(long)]
    pub from_start: bool,

    /// nginx log_format string, for --log-format nginx.
    #[arg(long, value_name = "FORMAT")]
    pub nginx_format: Option<String>,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// Top-level flags a subcommand also uses when they are given before it
/// (`corstop --theme light demo`); any other top-level flag with a subcommand is refused.
fn shared_with(command: &Command) -> &'static [&'static str] {
    match command {
        Command::Demo(_) => &["fps", "theme", "ascii"],
        Command::Report(_) => &["bucket", "retention"],
        Command::Agent(_) => AGENT_SHARED,
        Command::Check(_) | Command::Screenshots(_) => &[],
    }
}

fn subcommand_name(command: &Command) -> &'static str {
    match command {
        Command::Demo(_) => "demo",
        Command::Report(_) => "report",
        Command::Check(_) => "check",
        Command::Agent(_) => "agent",
        Command::Screenshots(_) => "screenshots",
    }
}

/// Notes, for each argument of `cmd` that has a value in `m`, how it was given: `--flag` or
/// the environment variable. A value typed on the command line replaces an earlier note.
fn record_given(
    given: &mut std::collections::BTreeMap<String, String>,
    cmd: &clap::Command,
    m: &ArgMatches,
) {
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        let Some(long) = arg.get_long() else { continue };
        match m.value_source(id) {
            Some(ValueSource::CommandLine) => {
                given.insert(id.to_string(), format!("--{long}"));
            }
            Some(ValueSource::EnvVariable) => {
                if let Some(env) = arg.get_env() {
                    given
                        .entry(id.to_string())
                        .or_insert_with(|| env.to_string_lossy().into_owned());
                }
            }
            _ => {}
        }
    }
}

/// The value typed after the subcommand wins; otherwise the top level's (typed before the
/// subcommand, or from the environment, which both levels read alike).
fn typed_after<T: Clone>(sub: &ArgMatches, id: &str, after: &T, before: &T) -> T {
    if sub.value_source(id) == Some(ValueSource::CommandLine) {
        after.clone()
    } else {
        before.clone()
    }
}

/// Parses a command line (the program name first). Beyond clap's own checks: `--format` on the
/// main command points to `--log-format`; top-level flags a subcommand does not use are
/// refused with it; the screen and bucket flags a subcommand shares with the dashboard are
/// merged into [`Cli::dashboard`], so the rest of the program reads them in one place. Every
/// error is a usage error (exit code 2).
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let mut cmd = Cli::command();
    let matches = cmd.try_get_matches_from_mut(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    if cli.dashboard.old_format.is_some() {
        return Err(cmd.error(
            ErrorKind::UnknownArgument,
            "unexpected argument '--format' found\n\n  \
             tip: the format of the --log sources is '--log-format NAME'; '--format' is only \
             the output format of 'corstop report' and 'corstop check'",
        ));
    }
    let mut given = std::collections::BTreeMap::new();
    record_given(&mut given, &cmd, &matches);
    if let Some(command) = &cli.command {
        let name = subcommand_name(command);
        let shared = shared_with(command);
        let stray = cmd.get_arguments().find(|arg| {
            let id = arg.get_id().as_str();
            !arg.is_global_set()
                && !shared.contains(&id)
                && matches.value_source(id) == Some(ValueSource::CommandLine)
        });
        if let Some(arg) = stray {
            let id = arg.get_id().as_str();
            let flag = arg
                .get_long()
                .map_or_else(|| id.to_string(), |l| format!("--{l}"));
            return Err(cmd.error(
                ErrorKind::ArgumentConflict,
                format!(
                    "'{flag}' does not apply to 'corstop {name}' (see 'corstop {name} --help' \
                     for the flags it takes)"
                ),
            ));
        }
        if let Some((_, sub)) = matches.subcommand()
            && let Some(sub_cmd) = cmd.find_subcommand(name)
        {
            record_given(&mut given, sub_cmd, sub);
            let d = &mut cli.dashboard;
            match &cli.command {
                Some(Command::Demo(a)) => {
                    d.view.fps = typed_after(sub, "fps", &a.view.fps, &d.view.fps);
                    d.view.theme = typed_after(sub, "theme", &a.view.theme, &d.view.theme);
                    d.view.ascii = typed_after(sub, "ascii", &a.view.ascii, &d.view.ascii);
                }
                Some(Command::Report(a)) => {
                    d.store.bucket = typed_after(sub, "bucket", &a.store.bucket, &d.store.bucket);
                    d.store.retention =
                        typed_after(sub, "retention", &a.store.retention, &d.store.retention);
                }
                Some(Command::Agent(a)) => merge_agent(sub, a, d),
                _ => {}
            }
        }
        // Whatever the environment says about the screen or the buckets means nothing to a
        // command that has none, and must not stop it.
        let d = &mut cli.dashboard;
        if !matches!(command, Command::Demo(_)) {
            d.view = ViewArgs::default();
        }
        if !matches!(command, Command::Report(_) | Command::Agent(_)) {
            d.store = StoreArgs::default();
        }
    }
    cli.dashboard.given_as = given;
    Ok(cli)
}

/// The agent's source, probe and bucket flags over the top level's, as the rest of the program
/// reads them from [`Cli::dashboard`].
fn merge_agent(sub: &ArgMatches, a: &AgentArgs, d: &mut DashboardArgs) {
    d.logs = typed_after(sub, "logs", &a.logs, &d.logs);
    d.log_format = typed_after(sub, "log_format", &a.log_format, &d.log_format);
    d.nginx_format = typed_after(sub, "nginx_format", &a.nginx_format, &d.nginx_format);
    d.probes = typed_after(sub, "probes", &a.probes, &d.probes);
    d.origins = typed_after(sub, "origins", &a.origins, &d.origins);
    d.from_start = typed_after(sub, "from_start", &a.from_start, &d.from_start);
    d.no_history = typed_after(sub, "no_history", &a.no_history, &d.no_history);
    d.poll = typed_after(sub, "poll", &a.poll, &d.poll);
    d.rotation_grace = typed_after(sub, "rotation_grace", &a.rotation_grace, &d.rotation_grace);
    d.store.bucket = typed_after(sub, "bucket", &a.store.bucket, &d.store.bucket);
    d.store.retention = typed_after(sub, "retention", &a.store.retention, &d.store.retention);
}

/// [`parse_from`] on the process's arguments; a usage error is printed and exits with 2.
pub fn parse() -> Cli {
    parse_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
}
