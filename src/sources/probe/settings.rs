//! Prober settings as the `[probe]` table of the config file describes them:
//!
//! ```toml
//! [probe]
//! interval = "30s"          # between rounds, moved by up to ±jitter of itself
//! jitter = 0.1
//! timeout = "5s"            # per request, connect included
//! concurrency = 4
//! repeat = 3                # fresh connections per target, to catch instances that disagree
//! actual = true             # send the real request after a passing preflight
//! security = true           # lookalike / arbitrary / null origin probes
//! token-file = "/run/secrets/api-token"   # or token-env = "API_TOKEN"
//! origins = ["https://app.contoso.com"]
//!
//! [[probe.endpoint]]
//! url = "https://api.contoso.com/api/orders/1"
//! critical = true
//! allow-unsafe-actual = false   # PUT/POST/DELETE/PATCH actual requests only when true
//!
//! [[probe.shape]]
//! name = "PUT auth+json"
//! method = "PUT"
//! headers = ["Authorization: Bearer <token>", "Content-Type: application/json"]
//! credentials = "same-origin"  # fetch's default; "include" for cookie-based pages
//! ```

use serde::{Deserialize, Serialize};

use crate::cors::{Credentials, RequestShape};
use crate::model::time::parse_duration;

pub use crate::model::time::DurationSetting;

/// One API URL to probe (`[[probe.endpoint]]`).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EndpointSpec {
    pub url: String,
    /// Failures on critical endpoints are what `check` exits non-zero for and what the
    /// dashboard highlights first.
    #[serde(default)]
    pub critical: bool,
    /// Page origins for this endpoint only; the global `origins` otherwise.
    #[serde(default)]
    pub origins: Option<Vec<String>>,
    /// Names of `[[probe.shape]]` entries; all shapes otherwise.
    #[serde(default)]
    pub shapes: Option<Vec<String>>,
    /// Lets the actual request use PUT/POST/DELETE/PATCH against this endpoint. Off by
    /// default: a probe must not change data unless someone said it may.
    #[serde(default)]
    pub allow_unsafe_actual: bool,
}

/// A request the page makes (`[[probe.shape]]`).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ShapeSpec {
    pub name: String,
    pub method: String,
    /// `"Name: value"` lines, as curl's `-H` takes them.
    #[serde(default)]
    pub headers: Vec<String>,
    #[serde(default = "default_credentials")]
    pub credentials: String,
}

fn default_credentials() -> String {
    Credentials::default().as_str().into()
}

/// The `[probe]` table.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct ProbeSettings {
    pub interval: DurationSetting,
    /// Fraction of the interval each round is moved by at random, so many corstops do not
    /// probe in lockstep.
    pub jitter: f64,
    pub timeout: DurationSetting,
    pub concurrency: usize,
    /// How many times each target is probed per round, each over a fresh connection.
    pub repeat: u32,
    /// Send the actual request after a passing preflight.
    pub actual: bool,
    /// Run the origin-trust probes (reflection, `null`, lookalikes).
    pub security: bool,
    /// File holding the token for the actual request's `Authorization` header.
    pub token_file: Option<String>,
    /// Environment variable holding that token.
    pub token_env: Option<String>,
    /// Accept invalid TLS certificates. Must be asked for explicitly.
    pub insecure: bool,
    pub origins: Vec<String>,
    pub endpoint: Vec<EndpointSpec>,
    pub shape: Vec<ShapeSpec>,
}

impl Default for ProbeSettings {
    fn default() -> Self {
        ProbeSettings {
            interval: DurationSetting(30_000),
            jitter: 0.1,
            timeout: DurationSetting(5_000),
            concurrency: 4,
            repeat: 1,
            actual: false,
            security: false,
            token_file: None,
            token_env: None,
            insecure: false,
            origins: Vec::new(),
            endpoint: Vec::new(),
            shape: Vec::new(),
        }
    }
}

/// What is wrong with a `[probe]` table.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SettingsError {
    #[error("probe endpoint url '{0}' is not an absolute http(s) URL")]
    BadUrl(String),
    #[error("origin '{0}' must look like scheme://host[:port] with no path or trailing slash")]
    BadOrigin(String),
    #[error("endpoint '{url}' has no origins (set probe.origins or the endpoint's origins)")]
    NoOrigins { url: String },
    #[error("shape '{shape}': header '{line}' must be written as 'Name: value'")]
    BadHeader { shape: String, line: String },
    #[error("shape '{shape}': credentials '{value}' is not include, omit or same-origin")]
    BadCredentials { shape: String, value: String },
    #[error("shape '{shape}': method '{method}' is not an HTTP token")]
    BadMethod { shape: String, method: String },
    #[error("shape name '{0}' is used twice")]
    DuplicateShape(String),
    #[error("endpoint '{url}' names shape '{shape}', which is not defined")]
    UnknownShape { url: String, shape: String },
    #[error("probe.{field} must be {what}")]
    OutOfRange {
        field: &'static str,
        what: &'static str,
    },
}

/// One (url, origin, shape) combination the prober judges.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeTarget {
    pub url: String,
    pub origin: String,
    pub shape: RequestShape,
    pub critical: bool,
    pub allow_unsafe_actual: bool,
}

/// `true` for a token as RFC 9110 defines it (methods and header names).
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// `fetch` upper-cases only these methods; `patch` stays `patch` and then fails a preflight
/// that lists `PATCH`, a real-world surprise the prober must reproduce.
pub fn normalize_method(m: &str) -> String {
    let m = m.trim();
    for known in ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"] {
        if m.eq_ignore_ascii_case(known) {
            return known.to_string();
        }
    }
    m.to_string()
}

/// Parses a `Name: value` header line.
pub fn parse_header_line(line: &str) -> Option<(String, String)> {
    let (name, value) = line.split_once(':')?;
    let name = name.trim();
    if !is_token(name) {
        return None;
    }
    Some((name.to_string(), value.trim().to_string()))
}

/// Checks that an origin is a serialized origin: `scheme://host[:port]` or `null`.
pub fn valid_origin(o: &str) -> bool {
    if o == "null" {
        return true;
    }
    let Some((scheme, rest)) = o.split_once("://") else {
        return false;
    };
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'+')
    {
        return false;
    }
    !rest.is_empty()
        && !rest.contains('/')
        && !rest.contains('?')
        && !rest.contains('#')
        && !rest.contains(char::is_whitespace)
}

/// The origin meant by a URL-style origin with a trailing slash (`https://app.example.com/`,
/// as copied from an address bar); `None` when `o` is not of that shape.
pub fn origin_from_slashed(o: &str) -> Option<&str> {
    let trimmed = o.strip_suffix('/')?;
    (trimmed != "null" && valid_origin(trimmed)).then_some(trimmed)
}

/// Replaces each origin written with a trailing slash by the origin it means, adding a note
/// (`given_as` names where the list came from: a flag, a variable, a key); an error saying what
/// to write instead for anything else that is not an origin.
pub fn normalize_origins(
    origins: &mut [String],
    given_as: &str,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    for o in origins.iter_mut() {
        if valid_origin(o) {
            continue;
        }
        let meant = origin_from_slashed(o).ok_or_else(|| origin_problem(o))?;
        notes.push(format!(
            "{given_as}: '{o}' read as '{meant}' (an origin has no trailing slash)"
        ));
        *o = meant.to_string();
    }
    Ok(())
}

/// Why `o` is not an origin, saying what to write instead.
pub fn origin_problem(o: &str) -> String {
    let shown = crate::model::redact::text(o);
    if let Some((scheme, rest)) = o.split_once("://")
        && let Some(i) = rest.find(['/', '?', '#'])
    {
        let origin = format!("{scheme}://{}", &rest[..i]);
        if valid_origin(&origin) {
            return format!(
                "'{shown}' has a path; an origin is scheme://host[:port] only, here '{}'",
                crate::model::redact::text(&origin)
            );
        }
    }
    format!("'{shown}' is not an origin: write scheme://host[:port], e.g. https://app.example.com")
}

fn valid_url(u: &str) -> bool {
    match reqwest::Url::parse(u) {
        Ok(url) => matches!(url.scheme(), "http" | "https") && url.host().is_some(),
        Err(_) => false,
    }
}

impl ShapeSpec {
    /// Turns the config entry into the shape the verdict judges.
    pub fn to_shape(&self) -> Result<RequestShape, SettingsError> {
        let method = normalize_method(&self.method);
        if !is_token(&method) {
            return Err(SettingsError::BadMethod {
                shape: self.name.clone(),
                method: self.method.clone(),
            });
        }
        let mut headers = Vec::with_capacity(self.headers.len());
        for line in &self.headers {
            headers.push(
                parse_header_line(line).ok_or_else(|| SettingsError::BadHeader {
                    shape: self.name.clone(),
                    line: crate::model::redact::text(line).into_owned(),
                })?,
            );
        }
        let credentials =
            Credentials::parse(&self.credentials).ok_or_else(|| SettingsError::BadCredentials {
                shape: self.name.clone(),
                value: self.credentials.clone(),
            })?;
        Ok(RequestShape {
            name: self.name.clone(),
            method,
            headers,
            credentials,
        })
    }
}

impl ProbeSettings {
    /// Reads the `[probe]` table of an already-parsed config file.
    pub fn from_table(table: toml::Table) -> Result<ProbeSettings, toml::de::Error> {
        table.try_into()
    }

    /// Applies `--probe URL` / `--origin ORIGIN` style flags: URLs replace the endpoints (as
    /// critical ones: someone asked for them by name), origins replace the origins everywhere.
    pub fn apply_flags(&mut self, urls: &[String], origins: &[String]) {
        if !urls.is_empty() {
            self.endpoint = urls
                .iter()
                .map(|u| EndpointSpec {
                    url: u.clone(),
                    critical: true,
                    origins: None,
                    shapes: None,
                    allow_unsafe_actual: false,
                })
                .collect();
        }
        if !origins.is_empty() {
            self.origins = origins.to_vec();
            for e in &mut self.endpoint {
                e.origins = None;
            }
        }
    }

    /// Sets the interval from text like `30s`; keeps the old value (and says so in the log)
    /// when the text is not a duration. Returns whether it was applied.
    pub fn set_interval_text(&mut self, text: &str) -> bool {
        match parse_duration(text) {
            Some(ms) if ms > 0 => {
                self.interval = DurationSetting(ms);
                true
            }
            _ => {
                tracing::warn!(value = text, "probe interval is not a duration; kept");
                false
            }
        }
    }

    /// Sets the per-request timeout from text like `2s`; see [`ProbeSettings::set_interval_text`].
    pub fn set_timeout_text(&mut self, text: &str) -> bool {
        match parse_duration(text) {
            Some(ms) if ms > 0 => {
                self.timeout = DurationSetting(ms);
                true
            }
            _ => {
                tracing::warn!(value = text, "probe timeout is not a duration; kept");
                false
            }
        }
    }

    /// Checks everything [`ProbeSettings::targets`] relies on; call it once after loading.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(SettingsError::OutOfRange {
                field: "jitter",
                what: "between 0 and 1",
            });
        }
        if self.interval.0 < 100 {
            return Err(SettingsError::OutOfRange {
                field: "interval",
                what: "at least 100ms",
            });
        }
        if self.timeout.0 < 1 {
            return Err(SettingsError::OutOfRange {
                field: "timeout",
                what: "positive",
            });
        }
        if !(1..=64).contains(&self.concurrency) {
            return Err(SettingsError::OutOfRange {
                field: "concurrency",
                what: "between 1 and 64",
            });
        }
        if !(1..=20).contains(&self.repeat) {
            return Err(SettingsError::OutOfRange {
                field: "repeat",
                what: "between 1 and 20",
            });
        }
        let mut names: Vec<&str> = Vec::new();
        for s in &self.shape {
            s.to_shape()?;
            if names.contains(&s.name.as_str()) {
                return Err(SettingsError::DuplicateShape(s.name.clone()));
            }
            names.push(&s.name);
        }
        for o in &self.origins {
            if !valid_origin(o) {
                return Err(SettingsError::BadOrigin(o.clone()));
            }
        }
        for e in &self.endpoint {
            if !valid_url(&e.url) {
                return Err(SettingsError::BadUrl(e.url.clone()));
            }
            let origins = e.origins.as_ref().unwrap_or(&self.origins);
            if origins.is_empty() {
                return Err(SettingsError::NoOrigins { url: e.url.clone() });
            }
            for o in origins {
                if !valid_origin(o) {
                    return Err(SettingsError::BadOrigin(o.clone()));
                }
            }
            if let Some(shapes) = &e.shapes {
                for s in shapes {
                    if !names.contains(&s.as_str()) {
                        return Err(SettingsError::UnknownShape {
                            url: e.url.clone(),
                            shape: s.clone(),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// The shapes in config order; the SPA default when none is configured.
    pub fn shapes(&self) -> Vec<RequestShape> {
        if self.shape.is_empty() {
            return vec![RequestShape::spa_default()];
        }
        self.shape
            .iter()
            .filter_map(|s| s.to_shape().ok())
            .collect()
    }

    /// Endpoints × origins × shapes. Entries that fail [`ProbeSettings::validate`] are skipped.
    pub fn targets(&self) -> Vec<ProbeTarget> {
        let shapes = self.shapes();
        let mut out = Vec::new();
        for e in &self.endpoint {
            if !valid_url(&e.url) {
                continue;
            }
            let origins = e.origins.as_ref().unwrap_or(&self.origins);
            for origin in origins.iter().filter(|o| valid_origin(o)) {
                for shape in &shapes {
                    if let Some(wanted) = &e.shapes
                        && !wanted.contains(&shape.name)
                    {
                        continue;
                    }
                    out.push(ProbeTarget {
                        url: e.url.clone(),
                        origin: origin.clone(),
                        shape: shape.clone(),
                        critical: e.critical,
                        allow_unsafe_actual: e.allow_unsafe_actual,
                    });
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Result<ProbeSettings, toml::de::Error> {
        toml::from_str(toml_text)
    }

    #[test]
    fn defaults_and_full_table() {
        let s = parse("").unwrap();
        assert_eq!(s, ProbeSettings::default());
        assert_eq!(s.interval.ms(), 30_000);
        assert_eq!(s.timeout.ms(), 5_000);

        let s = parse(
            r#"
            interval = "10s"
            jitter = 0.2
            timeout = "750ms"
            concurrency = 2
            repeat = 3
            actual = true
            security = true
            token-env = "API_TOKEN"
            origins = ["https://app.contoso.com", "http://localhost:5173"]

            [[endpoint]]
            url = "https://api.contoso.com/api/orders"
            critical = true
            allow-unsafe-actual = true

            [[endpoint]]
            url = "https://api.contoso.com/health"
            origins = ["https://admin.contoso.com"]
            shapes = ["read"]

            [[shape]]
            name = "read"
            method = "get"
            headers = ["Authorization: Bearer x"]
            credentials = "omit"

            [[shape]]
            name = "write"
            method = "patch"
            headers = ["Content-Type: application/json"]
            "#,
        )
        .unwrap();
        s.validate().unwrap();
        assert_eq!(s.interval.ms(), 10_000);
        let targets = s.targets();
        // 2 origins x 2 shapes, then 1 origin x 1 shape.
        assert_eq!(targets.len(), 5);
        assert_eq!(targets[0].shape.method, "GET");
        assert_eq!(targets[1].shape.method, "patch");
        assert_eq!(targets[0].shape.credentials, Credentials::Omit);
        assert!(targets[0].critical && targets[0].allow_unsafe_actual);
        assert_eq!(targets[4].origin, "https://admin.contoso.com");
        assert_eq!(targets[4].shape.name, "read");
        assert!(!targets[4].critical);
    }

    #[test]
    fn default_shape_is_the_spa_shape() {
        let s = ProbeSettings {
            origins: vec!["https://a.example".into()],
            endpoint: vec![EndpointSpec {
                url: "https://api.example/x".into(),
                critical: false,
                origins: None,
                shapes: None,
                allow_unsafe_actual: false,
            }],
            ..ProbeSettings::default()
        };
        s.validate().unwrap();
        let t = s.targets();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].shape, RequestShape::spa_default());
    }

    #[test]
    fn rejects_bad_input() {
        assert!(parse("intervall = \"5s\"").is_err());
        assert!(parse("interval = \"5 parsecs\"").is_err());
        assert!(parse("[[endpoint]]\nurl = \"https://x\"\nsecret = 1").is_err());

        let bad = |t: &str| parse(t).unwrap().validate().unwrap_err();
        assert_eq!(
            bad("origins=[\"https://a.example/\"]"),
            SettingsError::BadOrigin("https://a.example/".into())
        );
        assert_eq!(
            bad("[[endpoint]]\nurl = \"ftp://x.example\""),
            SettingsError::BadUrl("ftp://x.example".into())
        );
        assert!(matches!(
            bad("[[endpoint]]\nurl = \"https://x.example\""),
            SettingsError::NoOrigins { .. }
        ));
        assert!(matches!(
            bad("[[shape]]\nname=\"a\"\nmethod=\"PUT\"\nheaders=[\"NoColon\"]"),
            SettingsError::BadHeader { .. }
        ));
        assert!(matches!(
            bad("[[shape]]\nname=\"a\"\nmethod=\"PUT\"\ncredentials=\"always\""),
            SettingsError::BadCredentials { .. }
        ));
        assert!(matches!(
            bad("[[shape]]\nname=\"a\"\nmethod=\"P T\""),
            SettingsError::BadMethod { .. }
        ));
        assert!(matches!(
            bad(
                "origins=[\"https://a.example\"]\n[[endpoint]]\nurl=\"https://x.example\"\nshapes=[\"nope\"]"
            ),
            SettingsError::UnknownShape { .. }
        ));
        assert!(matches!(
            bad("jitter = 1.5"),
            SettingsError::OutOfRange {
                field: "jitter",
                ..
            }
        ));
        assert!(matches!(
            bad("repeat = 0"),
            SettingsError::OutOfRange {
                field: "repeat",
                ..
            }
        ));
    }

    #[test]
    fn table_and_flags() {
        let table: toml::Table = toml::from_str(
            "interval = \"10s\"\norigins = [\"https://a.example\"]\n\
             [[endpoint]]\nurl = \"https://api.example/x\"\norigins = [\"https://b.example\"]",
        )
        .unwrap();
        let mut s = ProbeSettings::from_table(table).unwrap();
        assert_eq!(s.interval.ms(), 10_000);
        let bad: toml::Table = toml::from_str("intervall = \"10s\"").unwrap();
        assert!(ProbeSettings::from_table(bad).is_err());

        s.apply_flags(&[], &["https://c.example".to_string()]);
        assert_eq!(s.targets()[0].origin, "https://c.example");
        s.apply_flags(&["https://api.example/y".to_string()], &[]);
        let t = s.targets();
        assert_eq!((t.len(), t[0].url.as_str()), (1, "https://api.example/y"));
        assert!(t[0].critical);

        assert!(s.set_interval_text("2s"));
        assert!(!s.set_interval_text("soon"));
        assert_eq!(s.interval.ms(), 2_000);
        assert!(s.set_timeout_text("750ms"));
        assert!(!s.set_timeout_text("0s"));
        assert_eq!(s.timeout.ms(), 750);
        s.validate().unwrap();
    }

    #[test]
    fn methods_and_headers() {
        assert_eq!(normalize_method("put"), "PUT");
        assert_eq!(normalize_method("patch"), "patch");
        assert_eq!(
            parse_header_line("X-Trace:  abc "),
            Some(("X-Trace".into(), "abc".into()))
        );
        assert_eq!(parse_header_line("Bad Name: x"), None);
        assert!(valid_origin("null"));
        assert!(valid_origin("http://localhost:5173"));
        assert!(!valid_origin("localhost:5173"));
    }
}
