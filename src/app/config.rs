//! Configuration: the TOML file, with errors that name the file, line and key.
//!
//! Precedence is flags > `CORSTOP_*` environment > file > defaults. Flags and environment are
//! merged by the command line parser (each flag declares its variable); this module reads the
//! file and the CLI layer overlays what was given.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::sources::formats::JsonFieldMap;
use crate::store::StoreConfig;

/// A configuration problem, always pointing at where it is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}:{line}: key `{key}`: {message}")]
    Value {
        path: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

use crate::model::time::DurationSetting;

/// The whole file. Every table denies unknown keys so a typo is an error, not a silent default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    pub from_start: Option<bool>,
    /// Read the retention window of each file before following it (default true).
    pub history: Option<bool>,
    pub fps: Option<u32>,
    pub theme: Option<String>,
    pub ascii: Option<bool>,
    /// Zone times are shown in: `local`, `utc` or an IANA name.
    pub tz: Option<String>,
    /// Where diagnostics go (the terminal belongs to the dashboard).
    pub log_file: Option<PathBuf>,
    #[serde(default)]
    pub log: Vec<LogEntry>,
    #[serde(default)]
    pub store: StoreSection,
    #[serde(default)]
    pub formats: FormatsSection,
    #[serde(default)]
    pub analysis: AnalysisSection,
    pub probe: Option<crate::sources::probe::ProbeSettings>,
    /// `[keys]`: action = ["key", ...]; unlisted actions keep their defaults.
    pub keys: Option<crate::ui::KeyBindings>,
    pub notify: Option<crate::alerting::NotifySettings>,
    /// `corstop agent`: where it serves and how many names get a label of their own.
    #[serde(default)]
    pub agent: AgentSection,
    /// The fleet view: a Prometheus server that scrapes corstop agents.
    pub fleet: Option<FleetSection>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FleetSection {
    pub prometheus: Option<String>,
    /// Label matchers added to every query, e.g. `{job="corstop"}`.
    pub selector: Option<String>,
    pub refresh: Option<DurationSetting>,
    pub timeout: Option<DurationSetting>,
    /// Time between the counter values read (default 1m).
    pub step: Option<DurationSetting>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AgentSection {
    pub listen: Option<String>,
    /// Route templates labelled by name in the metrics (critical routes always are).
    pub max_route_labels: Option<usize>,
    /// Origins labelled by name in the metrics; the rest are `(other)`.
    pub max_origin_labels: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LogEntry {
    /// A file path, a glob, or `-` for standard input.
    pub path: String,
    pub format: Option<String>,
    pub label: Option<String>,
    /// Poll instead of relying on filesystem events (NFS, some container mounts).
    #[serde(default)]
    pub poll: bool,
    /// How long a rotated-away file keeps being read after it last grew (default 30s).
    pub rotation_grace: Option<DurationSetting>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StoreSection {
    pub bucket: Option<DurationSetting>,
    pub retention: Option<DurationSetting>,
    pub max_routes: Option<usize>,
    pub max_origins: Option<usize>,
    pub max_keys_per_bucket: Option<usize>,
    pub probe_history: Option<usize>,
    pub raw_lines_per_source: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FormatsSection {
    pub nginx_format: Option<String>,
    pub json_fields: Option<JsonFieldMap>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AnalysisSection {
    /// Token lifetimes that bursts are compared against (default 60m).
    pub token_lifetimes: Option<Vec<DurationSetting>>,
    /// Preflight success objective in percent (default 99.9).
    pub slo: Option<f64>,
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(offset, |i| offset - i - 1) + 1;
    (line, col)
}

/// Pulls the key name out of serde's messages (``unknown field `fsp`, expected ...``).
fn key_from_message(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let end = start + msg[start..].find('`')?;
    Some(msg[start..end].to_string())
}

/// Parses configuration text; `path` is only used to name the file in errors.
pub fn parse(text: &str, path: &Path) -> Result<FileConfig, ConfigError> {
    match toml::from_str::<FileConfig>(text) {
        Ok(cfg) => {
            validate(&cfg, path, text)?;
            Ok(cfg)
        }
        Err(e) => {
            let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            let message = e.message().trim().to_string();
            if message.starts_with("unknown field") {
                let key = key_from_message(&message).unwrap_or_default();
                return Err(ConfigError::Value {
                    path: path.to_path_buf(),
                    line,
                    key,
                    message: format!("unknown key ({message})"),
                });
            }
            // Value errors carry the span of the value; name the key written on that line.
            let key = text
                .lines()
                .nth(line - 1)
                .and_then(|l| l.split_once('='))
                .map(|(k, _)| k.trim().to_string());
            match key {
                Some(key) if !key.is_empty() && !key.starts_with('[') => Err(ConfigError::Value {
                    path: path.to_path_buf(),
                    line,
                    key,
                    message,
                }),
                _ => Err(ConfigError::Syntax {
                    path: path.to_path_buf(),
                    line,
                    column,
                    message,
                }),
            }
        }
    }
}

/// Line of the first `key =` assignment in the text, for errors found after parsing.
fn line_of_key(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            l.split_once('=')
                .is_some_and(|(k, _)| k.trim().trim_matches('"') == key)
        })
        .map_or(1, |i| i + 1)
}

fn validate(cfg: &FileConfig, path: &Path, text: &str) -> Result<(), ConfigError> {
    let err = |key: &str, message: String| ConfigError::Value {
        path: path.to_path_buf(),
        line: line_of_key(text, key),
        key: key.to_string(),
        message,
    };
    if let Some(fps) = cfg.fps
        && !(1..=60).contains(&fps)
    {
        return Err(err("fps", format!("must be between 1 and 60, got {fps}")));
    }
    if let (Some(b), Some(r)) = (&cfg.store.bucket, &cfg.store.retention)
        && r.0 < b.0
    {
        return Err(err(
            "retention",
            "must be at least one bucket long".to_string(),
        ));
    }
    if let Some(b) = &cfg.store.bucket
        && b.0 < 1000
    {
        return Err(err("bucket", "must be at least 1s".to_string()));
    }
    if let Some(r) = &cfg.store.retention {
        let bucket = cfg
            .store
            .bucket
            .as_ref()
            .map_or(crate::store::StoreConfig::default().bucket_ms, |b| b.0);
        let probe = crate::store::StoreConfig {
            bucket_ms: bucket,
            retention_ms: r.0,
            ..Default::default()
        };
        probe.check_budget().map_err(|m| err("retention", m))?;
    }
    if let Some(slo) = cfg.analysis.slo
        && !(0.0..100.0).contains(&slo)
    {
        return Err(err(
            "slo",
            format!("must be a percentage below 100, got {slo}"),
        ));
    }
    for (key, value, most) in [
        ("max-route-labels", cfg.agent.max_route_labels, 256),
        ("max-origin-labels", cfg.agent.max_origin_labels, 64),
    ] {
        if let Some(n) = value
            && !(1..=most).contains(&n)
        {
            return Err(err(key, format!("must be between 1 and {most}, got {n}")));
        }
    }
    if let Some(tz) = &cfg.tz {
        crate::model::zone::Zone::parse(tz).map_err(|e| err("tz", e.to_string()))?;
    }
    for entry in &cfg.log {
        if entry.path.trim().is_empty() {
            return Err(err("path", "log path must not be empty".to_string()));
        }
    }
    Ok(())
}

/// Reads and parses a configuration file.
pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = crate::model::text::read_small_file(path, crate::model::text::MAX_SMALL_FILE)
        .map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    parse(&text, path)
}

/// Where a configuration file is looked for when none is named: the working directory, then
/// the user's config directory.
pub fn default_locations() -> Vec<PathBuf> {
    let mut v = vec![PathBuf::from("corstop.toml")];
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        v.push(PathBuf::from(dir).join("corstop/corstop.toml"));
    } else if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        v.push(PathBuf::from(home).join(".config/corstop/corstop.toml"));
    }
    v
}

impl StoreSection {
    /// Applies the file's store settings over defaults.
    pub fn apply(&self, mut cfg: StoreConfig) -> StoreConfig {
        if let Some(b) = &self.bucket {
            cfg.bucket_ms = b.0;
        }
        if let Some(r) = &self.retention {
            cfg.retention_ms = r.0;
        }
        if let Some(n) = self.max_routes {
            cfg.max_routes = n;
        }
        if let Some(n) = self.max_origins {
            cfg.max_origins = n;
        }
        if let Some(n) = self.max_keys_per_bucket {
            cfg.max_keys_per_bucket = n;
        }
        if let Some(n) = self.probe_history {
            cfg.probe_history = n;
        }
        if let Some(n) = self.raw_lines_per_source {
            cfg.raw_lines_per_source = n;
        }
        cfg
    }
}

/// The commented template printed by `corstop --print-config`.
pub const TEMPLATE: &str = include_str!("config_template.toml");

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> PathBuf {
        PathBuf::from("corstop.toml")
    }

    #[test]
    fn template_parses() {
        let cfg = parse(TEMPLATE, &p()).expect("template must be valid");
        assert!(cfg.log.is_empty());
    }

    /// The template with every commented setting and table header turned on, as a user who
    /// copies a block would: prose comments stay comments.
    fn template_uncommented() -> String {
        TEMPLATE
            .lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(rest)
                    if rest.starts_with('[')
                        || rest.split_once(" = ").is_some_and(|(k, _)| {
                            k.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                        }) =>
                {
                    rest
                }
                _ => line,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn every_block_of_the_template_loads_when_uncommented() {
        let text = template_uncommented();
        let cfg = parse(&text, &p()).unwrap_or_else(|e| panic!("{e}\n{text}"));
        // Every block was really turned on, not skipped.
        assert_eq!(cfg.log.len(), 1);
        assert!(cfg.probe.is_some() && cfg.notify.is_some() && cfg.keys.is_some());
        assert_eq!(cfg.fps, Some(10));
        assert_eq!(cfg.agent.max_origin_labels, Some(10));
        // The `[keys]` block lists every action with exactly its built-in keys.
        let keys = cfg.keys.unwrap();
        let defaults = crate::ui::KeyBindings::default();
        assert_eq!(keys, defaults);
        for (_, name, _) in defaults.entries() {
            assert!(
                text.lines().any(|l| l.starts_with(&format!("{name} = "))),
                "the template's [keys] block leaves out `{name}`"
            );
        }
    }

    #[test]
    fn full_file() {
        let text = r#"
fps = 5
theme = "light"

[[log]]
path = "/var/log/nginx/access.log"
format = "combined"

[[log]]
path = "-"
label = "stream"

[store]
bucket = "30s"
retention = "2h"
max-routes = 100

[analysis]
token-lifetimes = ["60m", "8h"]
"#;
        let cfg = parse(text, &p()).unwrap();
        assert_eq!(cfg.fps, Some(5));
        assert_eq!(cfg.log.len(), 2);
        assert_eq!(cfg.log[1].label.as_deref(), Some("stream"));
        let store = cfg.store.apply(StoreConfig::default());
        assert_eq!(store.bucket_ms, 30_000);
        assert_eq!(store.retention_ms, 2 * 3_600_000);
        assert_eq!(store.max_routes, 100);
        assert_eq!(cfg.analysis.token_lifetimes.unwrap()[1].0, 8 * 3_600_000);
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let text = "fps = 5\n\n[store]\nbukket = \"10s\"\n";
        let e = parse(text, &p()).unwrap_err().to_string();
        assert!(e.starts_with("corstop.toml:4: key `bukket`"), "{e}");
        assert!(e.contains("unknown key"), "{e}");
    }

    #[test]
    fn unknown_key_in_array_table() {
        let text = "[[log]]\npath = \"a.log\"\nfromat = \"w3c\"\n";
        let e = parse(text, &p()).unwrap_err().to_string();
        assert!(e.starts_with("corstop.toml:3: key `fromat`"), "{e}");
    }

    #[test]
    fn bad_values_name_the_key() {
        let text = "[store]\nbucket = \"ten seconds\"\n";
        let e = parse(text, &p()).unwrap_err().to_string();
        assert!(e.starts_with("corstop.toml:2: key `bucket`"), "{e}");
        assert!(e.contains("invalid duration"), "{e}");

        let text = "fps = 500\n";
        let e = parse(text, &p()).unwrap_err().to_string();
        assert_eq!(
            e,
            "corstop.toml:1: key `fps`: must be between 1 and 60, got 500"
        );

        let text = "fps = \"fast\"\n";
        let e = parse(text, &p()).unwrap_err().to_string();
        assert!(e.starts_with("corstop.toml:1: key `fps`"), "{e}");
    }

    #[test]
    fn probe_section() {
        let text = r#"
[probe]
interval = "10s"
origins = ["https://app.contoso.com"]

[[probe.endpoint]]
url = "https://api.contoso.com/api/orders"
critical = true

[[probe.shape]]
name = "GET json"
method = "GET"
headers = ["Accept: application/json"]
"#;
        let cfg = parse(text, &p()).unwrap();
        let probe = cfg.probe.unwrap();
        assert_eq!(probe.interval.ms(), 10_000);
        assert!(probe.endpoint[0].critical);
        assert_eq!(probe.targets().len(), 1);

        let typo = "[probe]\norigins = []\n\n[[probe.endpoint]]\nurl = \"https://a.example\"\ncritcal = true\n";
        let e = parse(typo, &p()).unwrap_err().to_string();
        assert!(e.starts_with("corstop.toml:6: key `critcal`"), "{e}");
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let text = "fps = 5\ntheme = \n";
        let e = parse(text, &p()).unwrap_err().to_string();
        assert!(e.starts_with("corstop.toml:2:"), "{e}");
    }
}
