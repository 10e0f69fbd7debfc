//! `corstop check`: one probe round from the command line (curl-style flags) or the config,
//! printed as a table, JSON or JUnit XML, with an exit code CI can gate on.
//!
//! Exit codes returned by [`run`]: `0` every required check passed, `1` at least one required
//! check failed, `2` usage or configuration error (the message is already on stderr).
//! A check is required when its endpoint is `critical` (every `--url` endpoint is); when a
//! config marks no endpoint critical, every check is required. Security probes fail the run
//! when a finding is rated high or critical.

use std::io::Write;

use crate::cors::{Credentials, RequestShape, Stage};
use crate::model::text::{self, fit, wrap};
use crate::model::time::parse_duration;
use crate::sources::event::ProbeResult;
use crate::sources::probe::security::{self, Severity};
use crate::sources::probe::settings::{
    DurationSetting, ProbeSettings, normalize_method, parse_header_line,
};

use super::check_json::is_security;
pub use super::check_json::render_json;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CheckFormat {
    #[default]
    Table,
    Json,
    Junit,
}

#[derive(Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CredentialsArg {
    /// Cookies and HTTP auth sent cross-origin (cookie-based pages).
    Include,
    Omit,
    /// `fetch`'s default: nothing sent cross-origin (bearer-token SPAs).
    SameOrigin,
    /// Every shape twice: as `same-origin` and as `include`.
    Both,
}

/// Flags of `corstop check`. `--config` is handled by the caller, which passes the config's
/// `[probe]` table to [`run`].
#[derive(Clone, Debug, Default, clap::Args)]
pub struct CheckArgs {
    /// API URL to probe (repeatable). Replaces the config's endpoints.
    #[arg(long = "url", value_name = "URL")]
    pub url: Vec<String>,
    /// Page origin the request comes from, e.g. https://app.contoso.com (repeatable).
    #[arg(long = "origin", value_name = "ORIGIN")]
    pub origin: Vec<String>,
    /// Method of the page's request. Without --method and -H the probe uses the usual SPA
    /// request: PUT with Authorization and Content-Type: application/json.
    #[arg(short = 'X', long = "method", value_name = "METHOD")]
    pub method: Option<String>,
    /// Header of the page's request, 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub header: Vec<String>,
    /// The request's credentials mode [default: same-origin, as fetch sends; the config's
    /// shapes keep their own unless this is given].
    #[arg(long, value_enum)]
    pub credentials: Option<CredentialsArg>,
    /// Also send the actual request after a passing preflight.
    #[arg(long)]
    pub actual: bool,
    /// Allow the actual request to use PUT/POST/DELETE/PATCH.
    #[arg(long)]
    pub allow_unsafe_actual: bool,
    /// Probe lookalike and arbitrary origins for over-broad trust.
    #[arg(long)]
    pub security: bool,
    /// Probe each check N times over fresh connections to catch instances that disagree.
    #[arg(long, value_name = "N")]
    pub repeat: Option<u32>,
    /// Per-request timeout, e.g. 5s or 800ms.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Accept invalid TLS certificates.
    #[arg(long)]
    pub insecure: bool,
    #[arg(long, value_enum, default_value_t = CheckFormat::Table)]
    pub format: CheckFormat,
}

/// The default request shape, written as a config's `[[probe.shape]]` would be.
fn spa_default_spec() -> crate::sources::probe::ShapeSpec {
    let d = RequestShape::spa_default();
    crate::sources::probe::ShapeSpec {
        name: d.name,
        method: d.method,
        headers: d.headers.iter().map(|(n, v)| format!("{n}: {v}")).collect(),
        credentials: d.credentials.as_str().to_string(),
    }
}

/// A usage or configuration problem: reported on stderr, exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Applies the flags over the config's `[probe]` table (flags win), with a note for each value
/// corrected on the way (an `--origin` written with a trailing slash is read as the origin).
pub fn settings_from(
    args: &CheckArgs,
    from_config: Option<ProbeSettings>,
) -> Result<(ProbeSettings, Vec<String>), UsageError> {
    let mut s = from_config.unwrap_or_default();
    let mut notes = Vec::new();
    let mut origins = args.origin.clone();
    crate::sources::probe::settings::normalize_origins(&mut origins, "--origin", &mut notes)
        .map_err(|e| UsageError(format!("--origin: {e}")))?;
    s.apply_flags(&args.url, &origins);
    if args.allow_unsafe_actual {
        for e in &mut s.endpoint {
            e.allow_unsafe_actual = true;
        }
    }
    let both = args.credentials == Some(CredentialsArg::Both);
    let credentials = args.credentials.as_ref().and_then(|c| match c {
        CredentialsArg::Include => Some(Credentials::Include),
        CredentialsArg::Omit => Some(Credentials::Omit),
        CredentialsArg::SameOrigin => Some(Credentials::SameOrigin),
        CredentialsArg::Both => None,
    });
    if args.method.is_some() || !args.header.is_empty() {
        let method = normalize_method(args.method.as_deref().unwrap_or("GET"));
        let mut names: Vec<String> = Vec::new();
        for line in &args.header {
            let (name, _) = parse_header_line(line).ok_or_else(|| {
                UsageError(format!(
                    "header '{}' must be written as 'Name: value'",
                    crate::model::redact::text(line)
                ))
            })?;
            names.push(name.to_ascii_lowercase());
        }
        let name = if names.is_empty() {
            method.clone()
        } else {
            format!("{method} {}", names.join(","))
        };
        s.shape = vec![crate::sources::probe::ShapeSpec {
            name,
            method,
            headers: args.header.clone(),
            credentials: credentials.unwrap_or_default().as_str().to_string(),
        }];
        for e in &mut s.endpoint {
            e.shapes = None;
        }
    } else if let Some(c) = credentials {
        if s.shape.is_empty() {
            s.shape = vec![spa_default_spec()];
        }
        for shape in &mut s.shape {
            shape.credentials = c.as_str().to_string();
        }
    }
    if both {
        if s.shape.is_empty() {
            s.shape = vec![spa_default_spec()];
        }
        // Shape names are how endpoints pick shapes, so the included twin keeps the name
        // with a suffix and every endpoint that asked for the original gets both.
        let mut doubled = Vec::with_capacity(s.shape.len() * 2);
        for shape in std::mem::take(&mut s.shape) {
            let twin = crate::sources::probe::ShapeSpec {
                name: format!("{} +cred", shape.name),
                credentials: Credentials::Include.as_str().to_string(),
                ..shape.clone()
            };
            doubled.push(crate::sources::probe::ShapeSpec {
                credentials: Credentials::SameOrigin.as_str().to_string(),
                ..shape
            });
            doubled.push(twin);
        }
        for e in &mut s.endpoint {
            if let Some(names) = &mut e.shapes {
                let twins: Vec<String> = names.iter().map(|n| format!("{n} +cred")).collect();
                names.extend(twins);
            }
        }
        s.shape = doubled;
    }
    if args.actual {
        s.actual = true;
    }
    if args.security {
        s.security = true;
    }
    if args.insecure {
        s.insecure = true;
    }
    if let Some(n) = args.repeat {
        s.repeat = n;
    }
    if let Some(t) = &args.timeout {
        let ms = parse_duration(t).filter(|ms| *ms > 0).ok_or_else(|| {
            UsageError(format!(
                "--timeout '{t}' is not a duration (examples: {})",
                crate::model::time::DURATION_EXAMPLES
            ))
        })?;
        s.timeout = DurationSetting(ms);
    }
    if s.endpoint.is_empty() {
        return Err(UsageError(
            "nothing to check: give --url (or [[probe.endpoint]] in the config)".into(),
        ));
    }
    if s.origins.is_empty() && s.endpoint.iter().any(|e| e.origins.is_none()) {
        return Err(UsageError(
            "no origin: give --origin (or probe.origins in the config)".into(),
        ));
    }
    s.validate().map_err(|e| match e {
        // Named by the flag when the flag set it, by the config key otherwise.
        crate::sources::probe::SettingsError::OutOfRange {
            field: "repeat",
            what,
        } if args.repeat.is_some() => UsageError(format!("--repeat must be {what}")),
        e => UsageError(e.to_string()),
    })?;
    Ok((s, notes))
}

/// How one result counts for the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub failed: bool,
    pub required: bool,
    pub severity: Option<Severity>,
}

/// Pass/fail of each result. `all_required` is true when no endpoint is marked critical.
pub fn outcome(r: &ProbeResult, all_required: bool) -> Outcome {
    if is_security(r) {
        let severity = security::severity_of(r);
        return Outcome {
            failed: severity.is_some_and(|s| s >= Severity::High),
            required: true,
            severity: Some(severity.unwrap_or(Severity::Info)),
        };
    }
    Outcome {
        failed: !r.verdict.allowed,
        required: r.critical || all_required,
        severity: None,
    }
}

/// The exit code for a set of results.
pub fn exit_code(results: &[ProbeResult], all_required: bool) -> i32 {
    let failed = results.iter().any(|r| {
        let o = outcome(r, all_required);
        o.failed && o.required
    });
    i32::from(failed)
}

/// Runs the checks and prints them. See the module docs for the exit codes.
pub async fn run(args: &CheckArgs, from_config: Option<ProbeSettings>) -> anyhow::Result<i32> {
    let settings = match settings_from(args, from_config) {
        Ok((s, notes)) => {
            for note in notes {
                eprintln!("corstop check: note: {note}");
            }
            s
        }
        Err(e) => {
            eprintln!("corstop check: {e}");
            return Ok(2);
        }
    };
    let all_required = !settings.endpoint.iter().any(|e| e.critical);
    let results =
        crate::sources::probe::run_once(&settings, crate::model::time::wall_clock()).await;
    let text = match args.format {
        CheckFormat::Table => render_table(&results, all_required),
        CheckFormat::Json => render_json(&results)?,
        CheckFormat::Junit => render_junit(&results, all_required),
    };
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a non-zero exit.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    Ok(exit_code(&results, all_required))
}

const WIDTH: usize = 80;
const INDENT: &str = "      ";
const MAX_MESSAGE_LINES: usize = 6;

fn push_wrapped(out: &mut String, prefix: &str, text: &str) {
    let width = WIDTH - INDENT.len();
    let lines = wrap(&format!("{prefix}{text}"), width);
    let total = lines.len();
    for (i, line) in lines.into_iter().enumerate() {
        if i + 1 == MAX_MESSAGE_LINES && total > MAX_MESSAGE_LINES {
            out.push_str(INDENT);
            out.push_str(&fit(&format!("{line} …"), width));
            out.push('\n');
            break;
        }
        out.push_str(INDENT);
        out.push_str(&line);
        out.push('\n');
    }
}

fn status_word(o: Outcome) -> &'static str {
    match (o.failed, o.required, o.severity) {
        (true, true, _) => "FAIL",
        (true, false, _) => "fail",
        (false, _, Some(s)) if s > Severity::Info => "WARN",
        _ => "ok",
    }
}

/// One followed redirect, for the table and JUnit: what was sent where, and what came back.
fn hop_line(h: &crate::sources::event::RedirectHop) -> String {
    let mut line = format!(
        "{} {} (Origin: {})",
        h.method,
        crate::model::redact::text(&h.url),
        h.origin
    );
    if let Some(p) = &h.preflight {
        line.push_str(&format!(", preflight {}", p.status));
    }
    match &h.response {
        Some(resp) => line.push_str(&format!(", answered {}", resp.status)),
        None => line.push_str(", no answer"),
    }
    line
}

fn statuses(r: &ProbeResult) -> String {
    let mut parts = Vec::new();
    if let Some(p) = &r.preflight {
        parts.push(format!("preflight {}", p.status));
    }
    if let Some(a) = &r.actual {
        let mut chain = format!("actual {}", a.status);
        for h in &r.redirects {
            match &h.response {
                Some(resp) => chain.push_str(&format!(" -> {}", resp.status)),
                None => chain.push_str(" -> none"),
            }
        }
        parts.push(chain);
    }
    if let Some(t) = &r.transport {
        parts.push(format!("transport {}", t.kind.as_str()));
    }
    parts.join(", ")
}

/// A check's first line in [`WIDTH`] columns: `FAIL  PUT auth+json <url> <- <origin>`. When it
/// is too long the origin stays whole as far as it can (it says which allow-list entry is
/// wrong) and loses its `https://` or its middle only after the URL has lost its scheme, its
/// host's middle and then path segments.
fn head_line(word: &str, shape: &str, url: &str, origin: &str) -> String {
    let head = format!("{word:<5} {shape} {url} <- {origin}");
    if text::width(&head) <= WIDTH {
        return head;
    }
    let fixed = text::width(&format!("{word:<5} {shape}  <- "));
    let room = WIDTH.saturating_sub(fixed);
    // The origin whole where the URL keeps at least 24 columns.
    let origin_w = text::width(origin)
        .min(
            room.saturating_sub(text::width(url))
                .max(room.saturating_sub(24)),
        )
        .max(room / 3);
    let origin = text::fit_origin(origin, origin_w, "…");
    let url = text::shorten_endpoint(url, room.saturating_sub(text::width(&origin)), "…");
    fit(&format!("{word:<5} {shape} {url} <- {origin}"), WIDTH)
}

/// Human table, at most 80 columns wide.
pub fn render_table(results: &[ProbeResult], all_required: bool) -> String {
    let mut out = String::new();
    let mut failed = 0;
    for r in results {
        let o = outcome(r, all_required);
        if o.failed && o.required {
            failed += 1;
        }
        let word = status_word(o);
        if is_security(r) {
            let sev = o.severity.unwrap_or(Severity::Info);
            out.push_str(&head_line(word, &r.shape.name, &r.url, &r.origin));
            out.push('\n');
            let findings: Vec<&str> = r
                .verdict
                .warnings
                .iter()
                .filter(|w| w.code.starts_with("security-"))
                .map(|w| w.message.as_str())
                .collect();
            if findings.is_empty() {
                let what = match &r.transport {
                    Some(t) => format!("not judged: {}", t.message),
                    None => "not trusted".to_string(),
                };
                push_wrapped(&mut out, &format!("{}: ", sev.as_str()), &what);
            }
            for f in findings {
                push_wrapped(&mut out, &format!("{}: ", sev.as_str()), f);
            }
            continue;
        }
        out.push_str(&head_line(word, &r.shape.name, &r.url, &r.origin));
        out.push('\n');
        let v = &r.verdict;
        let mut detail = format!(
            "{} ({}), credentials {}",
            v.code,
            statuses(r),
            r.shape.credentials.as_str()
        );
        if let Some(h) = v.hypothesis {
            detail.push_str(&format!(" [{}: {}]", h.id(), h.title()));
        }
        if let Some(i) = &r.instance {
            detail.push_str(&format!(" via {i}"));
        }
        push_wrapped(&mut out, "", &detail);
        for (i, h) in r.redirects.iter().enumerate() {
            push_wrapped(&mut out, &format!("hop {}: ", i + 1), &hop_line(h));
        }
        if v.stage != Stage::None || !v.allowed {
            if let Some(m) = &v.chrome_message {
                push_wrapped(&mut out, "Chrome: ", m);
            }
            if let Some(w) = &v.www_authenticate {
                push_wrapped(&mut out, "WWW-Authenticate: ", w);
            }
        }
        if let Some(t) = &r.transport {
            push_wrapped(&mut out, "error: ", &t.message);
        }
        for w in &v.warnings {
            push_wrapped(&mut out, &format!("! {}: ", w.code), &w.message);
        }
    }
    out.push_str(&format!("{} checks, {} failed\n", results.len(), failed));
    out
}

/// Escapes text for XML 1.0 attributes and content, dropping characters XML cannot carry.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML as CI systems read it: one testcase per check, `<failure>` for failed required
/// checks (non-required failures are reported as `<skipped>` with the reason).
pub fn render_junit(results: &[ProbeResult], all_required: bool) -> String {
    let outcomes: Vec<Outcome> = results.iter().map(|r| outcome(r, all_required)).collect();
    let failures = outcomes.iter().filter(|o| o.failed && o.required).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites tests=\"{n}\" failures=\"{failures}\">\n  <testsuite name=\"corstop check\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n",
        n = results.len(),
        skipped = outcomes.iter().filter(|o| o.failed && !o.required).count(),
    ));
    for (r, o) in results.iter().zip(&outcomes) {
        let elapsed = r
            .preflight
            .as_ref()
            .or(r.actual.as_ref())
            .map(|p| p.elapsed_ms)
            .unwrap_or(0);
        out.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{} {}\" time=\"{:.3}\">",
            xml_escape(&r.url),
            xml_escape(&r.origin),
            xml_escape(&r.shape.name),
            elapsed as f64 / 1000.0
        ));
        let mut body = format!("credentials: {}\n", r.shape.credentials.as_str());
        for (i, h) in r.redirects.iter().enumerate() {
            body.push_str(&format!("hop {}: {}\n", i + 1, hop_line(h)));
        }
        if let Some(m) = &r.verdict.chrome_message {
            body.push_str(m);
            body.push('\n');
        }
        let st = statuses(r);
        if !st.is_empty() {
            body.push_str(&st);
            body.push('\n');
        }
        if let Some(t) = &r.transport {
            body.push_str(&t.message);
            body.push('\n');
        }
        for w in &r.verdict.warnings {
            body.push_str(&format!("{}: {}\n", w.code, w.message));
        }
        if o.failed {
            let code = if is_security(r) {
                o.severity.unwrap_or(Severity::Info).warning_code()
            } else {
                r.verdict.code
            };
            let tag = if o.required { "failure" } else { "skipped" };
            out.push_str(&format!(
                "\n      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>\n    ",
                xml_escape(code),
                xml_escape(r.verdict.stage.as_str()),
                xml_escape(&body)
            ));
        } else if !r.verdict.warnings.is_empty() {
            out.push_str(&format!(
                "\n      <system-out>{}</system-out>\n    ",
                xml_escape(&body)
            ));
        }
        out.push_str("</testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
