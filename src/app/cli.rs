//! Command-line interface. Every flag that makes sense in a container also reads a `CORSTOP_*`
//! environment variable; flags win over the environment, the environment over the file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "corstop",
    version,
    about = "Live dashboard for CORS and token incidents: tails access and auth logs, probes \
             preflights as a browser judges them, and ranks the likely causes.",
    after_help = "Examples:\n  corstop demo\n  corstop --log /var/log/nginx/access.log --probe https://api.example.com/api/orders --origin https://app.example.com\n  az webapp log tail -n api -g rg | corstop --log -\n  corstop report --format table access.log\n  corstop check --url https://api.example.com/api/orders --origin https://app.example.com"
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

    /// Log format for the --log sources (default: detected from the first lines).
    #[arg(long, value_name = "NAME", env = "CORSTOP_FORMAT")]
    pub format: Option<String>,

    /// nginx log_format string, for --format nginx.
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

    /// Most frames per second (default 10).
    #[arg(long, env = "CORSTOP_FPS", global = true)]
    pub fps: Option<u32>,

    /// Time bucket width, e.g. 10s.
    #[arg(long, value_name = "DURATION", env = "CORSTOP_BUCKET")]
    pub bucket: Option<String>,

    /// How long buckets are kept, e.g. 6h.
    #[arg(long, value_name = "DURATION", env = "CORSTOP_RETENTION")]
    pub retention: Option<String>,

    /// Theme name (default, light, high-contrast, colorblind, monochrome) or path.
    #[arg(long, env = "CORSTOP_THEME", global = true)]
    pub theme: Option<String>,

    /// ASCII instead of braille and box-drawing glyphs.
    #[arg(long, env = "CORSTOP_ASCII", global = true)]
    pub ascii: bool,

    /// Where diagnostics are written (never to the terminal the dashboard owns).
    #[arg(long, value_name = "PATH", env = "CORSTOP_LOG_FILE", global = true)]
    pub log_file: Option<PathBuf>,
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

    /// Output format.
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
}
