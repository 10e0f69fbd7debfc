//! Checks of values as the user gave them, before anything runs: each error names the flag,
//! environment variable or configuration key the value came from, and is a usage error
//! (exit code 2). Small slips with one obvious meaning are corrected with a note instead.

use std::io::IsTerminal;

use crate::app::Settings;
use crate::app::cli::{Cli, Command, DashboardArgs};
use crate::app::config::ConfigError;
use crate::model::time::DurationSetting;
use crate::sources::formats::{self, FormatOptions};
use crate::sources::probe::{ProbeSettings, SettingsError};
use crate::store::StoreConfig;

fn invalid(origin: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        origin: origin.into(),
        message: message.into(),
    }
}

/// Replaces each origin written with a trailing slash by the origin it means, adding a note;
/// refuses anything else that is not an origin (a path, no scheme), naming `given_as`.
pub fn normalize_origins(
    origins: &mut [String],
    given_as: &str,
    notes: &mut Vec<String>,
) -> Result<(), ConfigError> {
    crate::sources::probe::settings::normalize_origins(origins, given_as, notes)
        .map_err(|message| invalid(given_as, message))
}

/// Where the probe settings came from, to name them in errors.
pub struct ProbeSources<'a> {
    /// `--probe` or `CORSTOP_PROBE`, when URLs came from there.
    pub urls: Option<&'a str>,
    /// `--origin` or `CORSTOP_ORIGIN`, when origins came from there.
    pub origins: Option<&'a str>,
    /// The configuration file, e.g. `corstop.toml`.
    pub file: &'a str,
}

/// Checks merged probe settings: the pair `--probe`/`--origin` is named by its flags (or
/// variables), anything else by the file's `[probe]` table.
pub fn check_probe(p: &ProbeSettings, from: &ProbeSources<'_>) -> Result<(), ConfigError> {
    if let Some(urls) = from.urls
        && p.origins.is_empty()
        && p.endpoint.iter().any(|e| e.origins.is_none())
    {
        let origin_flag = from.origins.unwrap_or("--origin");
        return Err(invalid(
            urls,
            format!(
                "no page origin to probe from: give {origin_flag} ORIGIN, e.g. {origin_flag} \
                 https://app.example.com"
            ),
        ));
    }
    if let Some(origins) = from.origins
        && p.endpoint.is_empty()
    {
        return Err(invalid(
            origins,
            "no URL to probe: give --probe URL, e.g. --probe https://api.example.com/api/orders",
        ));
    }
    p.validate().map_err(|e| {
        let origin = match (&e, from.urls, from.origins) {
            (SettingsError::BadUrl(_), Some(urls), _) => urls.to_string(),
            (SettingsError::BadOrigin(_), _, Some(origins)) => origins.to_string(),
            _ => format!("{}: [probe]", from.file),
        };
        invalid(origin, e.to_string())
    })
}

/// Checks that a log format name can be read with these options (known, and given what it
/// needs: `nginx` a log_format, `json` a field mapping).
pub fn check_log_format(
    name: &str,
    given_as: &str,
    opts: &FormatOptions,
) -> Result<(), ConfigError> {
    formats::parser(name, opts)
        .map(drop)
        .map_err(|e| invalid(given_as, e.to_string()))
}

/// A duration flag (or its variable) as milliseconds, named by how it was given when invalid.
pub fn flag_duration(
    args: &DashboardArgs,
    id: &str,
    value: &Option<String>,
) -> Result<Option<i64>, ConfigError> {
    match value {
        None => Ok(None),
        Some(v) => v
            .parse::<DurationSetting>()
            .map(|d| Some(d.0))
            .map_err(|message| ConfigError::Invalid {
                origin: args.given_as(id),
                message,
            }),
    }
}

/// The store settings: the file's (already in `store`), then `--bucket`/`--retention` (or
/// their variables), checked against the memory budget.
pub fn resolve_store(
    args: &DashboardArgs,
    mut store: StoreConfig,
    origin_of_file: &str,
) -> Result<StoreConfig, ConfigError> {
    if let Some(b) = flag_duration(args, "bucket", &args.store.bucket)? {
        store.bucket_ms = b;
    }
    if let Some(r) = flag_duration(args, "retention", &args.store.retention)? {
        store.retention_ms = r;
    }
    // Named after what set them: flags or variables, else the file's [store] table.
    let store_origin = match (&args.store.bucket, &args.store.retention) {
        (None, None) => format!("{origin_of_file}: [store]"),
        (Some(_), None) => args.given_as("bucket"),
        (None, Some(_)) => args.given_as("retention"),
        (Some(_), Some(_)) => format!("{}/{}", args.given_as("bucket"), args.given_as("retention")),
    };
    if store.bucket_ms < 1000 || store.retention_ms < store.bucket_ms {
        return Err(ConfigError::Invalid {
            origin: store_origin,
            message: "bucket must be at least 1s and retention at least one bucket".into(),
        });
    }
    store
        .check_budget()
        .map_err(|message| ConfigError::Invalid {
            origin: store_origin,
            message,
        })?;
    Ok(store)
}

/// The probe settings: the file's `[probe]`, then `--probe`/`--origin` (or their variables)
/// over it; origins corrected with notes, and, when `probe_complete`, checked whole.
pub fn resolve_probe(
    args: &DashboardArgs,
    from_file: Option<ProbeSettings>,
    origin_of_file: &str,
    probe_complete: bool,
    notes: &mut Vec<String>,
) -> Result<Option<ProbeSettings>, ConfigError> {
    let mut probe = from_file;
    if let Some(p) = &mut probe {
        let key = format!("{origin_of_file}: probe.origins");
        normalize_origins(&mut p.origins, &key, notes)?;
        for e in &mut p.endpoint {
            if let Some(origins) = &mut e.origins {
                let key = format!("{origin_of_file}: endpoint '{}': origins", e.url);
                normalize_origins(origins, &key, notes)?;
            }
        }
    }
    let mut flag_origins = args.origins.clone();
    let origins_given_as = args.given_as("origins");
    normalize_origins(&mut flag_origins, &origins_given_as, notes)?;
    if !args.probes.is_empty() || !flag_origins.is_empty() {
        let p = probe.get_or_insert_with(ProbeSettings::default);
        apply_probe_flags(p, &args.probes, &flag_origins);
    }
    if let Some(p) = probe.as_ref().filter(|_| probe_complete) {
        let urls_given_as = args.given_as("probes");
        check_probe(
            p,
            &ProbeSources {
                urls: (!args.probes.is_empty()).then_some(urls_given_as.as_str()),
                origins: (!flag_origins.is_empty()).then_some(origins_given_as.as_str()),
                file: origin_of_file,
            },
        )?;
    }
    Ok(probe)
}

/// The dashboard's usage error when it has neither logs nor probes.
pub fn nothing_to_watch(settings: &Settings) -> Option<&'static str> {
    (settings.logs.is_empty() && settings.probe.is_none() && settings.fleet.is_none()).then_some(
        "nothing to watch: give --log PATH and/or --probe URL --origin ORIGIN, a [[log]] or \
         [probe] section in corstop.toml (see --print-config), --prometheus URL for the fleet \
         of agents, or try `corstop demo`",
    )
}

/// The usage errors only the command about to run can tell: a theme the dashboard cannot
/// load, a report's log format, a dashboard with nothing to watch.
pub fn usable_by(cli: &Cli, settings: Settings) -> Result<Settings, String> {
    match &cli.command {
        None | Some(Command::Demo(_)) => {
            crate::ui::theme::Theme::load(&settings.theme, false)
                .map_err(|e| format!("{}: {e}", settings.theme_given_as))?;
        }
        Some(Command::Report(args)) => {
            if let Some(name) = &args.log_format {
                let opts = FormatOptions {
                    nginx_format: args
                        .nginx_format
                        .clone()
                        .or_else(|| settings.format_opts.nginx_format.clone()),
                    json_fields: settings.format_opts.json_fields.clone(),
                };
                check_log_format(name, "--log-format", &opts).map_err(|e| e.to_string())?;
            }
        }
        Some(Command::Agent(_)) => {
            if let Some(nothing) = nothing_to_watch(&settings) {
                return Err(nothing.into());
            }
        }
        _ => {}
    }
    if cli.command.is_none() {
        if std::env::var_os("CORSTOP_FORMAT").is_some() {
            return Err(
                "CORSTOP_FORMAT is no longer read: the log format of the --log sources \
                        is CORSTOP_LOG_FORMAT (or --log-format)"
                    .into(),
            );
        }
        if std::io::stdout().is_terminal()
            && let Some(nothing) = nothing_to_watch(&settings)
        {
            return Err(nothing.into());
        }
    }
    Ok(settings)
}

/// The display zone: `--tz` or `CORSTOP_TZ`, else the file's `tz` (checked when the file was
/// read), else the local zone.
pub fn zone(
    args: &DashboardArgs,
    file_tz: Option<&str>,
) -> Result<crate::model::zone::Zone, ConfigError> {
    use crate::model::zone::Zone;
    match (&args.tz, file_tz) {
        (Some(tz), _) => Zone::parse(tz).map_err(|e| invalid(args.given_as("tz"), e.to_string())),
        (None, Some(tz)) => Ok(Zone::parse(tz).unwrap_or_default()),
        (None, None) => Ok(Zone::local().zone),
    }
}

/// Flags replace the file's endpoints and origins (flags > file), keeping the rest of the
/// file's probe settings.
pub fn apply_probe_flags(p: &mut ProbeSettings, urls: &[String], origins: &[String]) {
    if !urls.is_empty() {
        p.endpoint = urls
            .iter()
            .map(|u| crate::sources::probe::EndpointSpec {
                url: u.clone(),
                critical: false,
                origins: None,
                shapes: None,
                allow_unsafe_actual: false,
            })
            .collect();
    }
    if !origins.is_empty() {
        p.origins = origins.to_vec();
    }
}

/// The fleet view's settings: `--prometheus` over `[fleet] prometheus`, the rest from the file.
pub fn fleet_settings(
    args: &DashboardArgs,
    file: Option<&crate::app::config::FleetSection>,
) -> Option<crate::sources::fleet::FleetSettings> {
    let url = args
        .prometheus
        .clone()
        .or_else(|| file.and_then(|f| f.prometheus.clone()))
        .filter(|u| !u.trim().is_empty())?;
    let mut s = crate::sources::fleet::FleetSettings {
        url,
        ..Default::default()
    };
    if let Some(f) = file {
        s.selector = f.selector.clone().unwrap_or_default();
        s.refresh_ms = f
            .refresh
            .map_or(s.refresh_ms, |d| d.ms().max(crate::model::time::SECOND));
        s.timeout_ms = f.timeout.map_or(s.timeout_ms, |d| d.ms().max(100));
        s.step_ms = f
            .step
            .map_or(s.step_ms, |d| d.ms().max(crate::model::time::SECOND));
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_slash_is_corrected_with_a_note_and_a_path_refused() {
        let mut notes = Vec::new();
        let mut origins = vec![
            "https://app.example.com/".to_string(),
            "http://localhost:5173".to_string(),
        ];
        normalize_origins(&mut origins, "--origin", &mut notes).unwrap();
        assert_eq!(
            origins,
            ["https://app.example.com", "http://localhost:5173"]
        );
        assert_eq!(
            notes,
            [
                "--origin: 'https://app.example.com/' read as 'https://app.example.com' (an origin \
              has no trailing slash)"
            ]
        );
        let cases: &[(&str, &str)] = &[
            (
                "https://app.example.com/app",
                "here 'https://app.example.com'",
            ),
            (
                "https://app.example.com//",
                "here 'https://app.example.com'",
            ),
            ("app.example.com", "is not an origin"),
            ("https:///", "is not an origin"),
        ];
        for (given, says) in cases {
            let err = normalize_origins(&mut [given.to_string()], "CORSTOP_ORIGIN", &mut notes)
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("CORSTOP_ORIGIN: "), "{err}");
            assert!(err.contains(says), "{given}: {err}");
        }
    }
}
