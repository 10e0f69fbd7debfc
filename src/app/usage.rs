//! Checks of values as the user gave them, before anything runs: each error names the flag,
//! environment variable or configuration key the value came from, and is a usage error
//! (exit code 2). Small slips with one obvious meaning are corrected with a note instead.

use crate::app::config::ConfigError;
use crate::sources::formats::{self, FormatOptions};
use crate::sources::probe::settings::{origin_from_slashed, origin_problem, valid_origin};
use crate::sources::probe::{ProbeSettings, SettingsError};

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
    for o in origins.iter_mut() {
        if valid_origin(o) {
            continue;
        }
        match origin_from_slashed(o) {
            Some(meant) => {
                notes.push(format!(
                    "{given_as}: '{o}' read as '{meant}' (an origin has no trailing slash)"
                ));
                *o = meant.to_string();
            }
            None => return Err(invalid(given_as, origin_problem(o))),
        }
    }
    Ok(())
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
