//! Format detection from a source's first lines. Each line votes for the format its shape
//! says; some shapes (W3C directives, JSON keys, Kudu banners) are decisive on their own.

use memchr::memmem;

use super::appservice::parse_http_line;
use super::common::{Cursor, prepare};
use crate::model::time::parse_rfc3339;

const MAX_LINES: usize = 20;

/// Formats in tie-break order (more specific first).
const ORDER: &[&str] = &[
    "w3c",
    "kudu",
    "azure-json",
    "caddy",
    "traefik",
    "envoy",
    "ingress-nginx",
    "combined",
    "appservice-http",
    "appservice-auth",
    "json",
];

pub fn detect(first_lines: &[&[u8]]) -> Option<&'static str> {
    let mut votes = [0u32; ORDER.len()];
    let mut seen = 0;
    for raw in first_lines {
        let Ok(line) = prepare(raw, 1 << 20) else {
            continue;
        };
        if line.trim_ascii().is_empty() {
            continue;
        }
        seen += 1;
        if seen > MAX_LINES {
            break;
        }
        if let Some((name, decisive)) = classify_line(line) {
            if decisive {
                return Some(name);
            }
            if let Some(i) = ORDER.iter().position(|n| *n == name) {
                votes[i] += 1;
            }
        }
    }
    let (best, &n) = votes
        .iter()
        .enumerate()
        .max_by(|(ia, a), (ib, b)| a.cmp(b).then(ib.cmp(ia)))?;
    (n > 0).then(|| ORDER[best])
}

fn has(line: &[u8], needle: &str) -> bool {
    memmem::find(line, needle.as_bytes()).is_some()
}

/// What one line looks like, and whether that alone settles it.
fn classify_line(line: &[u8]) -> Option<(&'static str, bool)> {
    let t = line.trim_ascii();
    if t.starts_with(b"#Software:")
        || t.starts_with(b"#Fields:")
        || t.starts_with(b"#Version:")
        || t.starts_with(b"#Date:")
    {
        return Some(("w3c", true));
    }
    if t.starts_with(b"Welcome, you are now connected to log-streaming service")
        || t.starts_with(b"Starting Log Tail")
        || t.starts_with(b"No new trace in the past")
    {
        return Some(("kudu", true));
    }
    let json_array =
        t.starts_with(b"[") && matches!(t[1..].trim_ascii().first(), None | Some(b'{'));
    if t.starts_with(b"{") || t.starts_with(b"\"") || t.starts_with(b"}") || json_array {
        return json_shape(t);
    }
    // Envoy: `[2026-04-04T10:31:02.123Z] "GET ...`.
    if let Some(rest) = t.strip_prefix(b"[")
        && let Some(end) = memchr::memchr(b']', rest)
        && parse_rfc3339(&rest[..end]).is_some()
    {
        return Some(("envoy", false));
    }
    // Timestamp-first lines: Kudu (two spaces), App Service HTTP and auth text, W3C data.
    if let Some(sp) = memchr::memchr(b' ', t) {
        if parse_rfc3339(&t[..sp]).is_some() {
            if let Some(text) = t[sp..].strip_prefix(b"  ") {
                return Some(two_space_shape(text.trim_ascii_start()));
            }
            if parse_http_line(t).is_ok() {
                return Some(("appservice-http", false));
            }
            return Some(("appservice-auth", false));
        }
        // `2026-04-04 10:31:02 ...`: App Service text printed with a space for the `T`, or
        // W3C data without its header. W3C times carry neither zone nor fraction.
        if t.len() > 19 && parse_rfc3339(&t[..19]).is_some() && t[10] == b' ' {
            if parse_http_line(t).is_ok() {
                return Some(("appservice-http", false));
            }
            if matches!(t[19], b'Z' | b'z' | b'.' | b'+' | b'-') {
                return Some(("appservice-auth", false));
            }
            return Some(("w3c", false));
        }
    }
    clf_shape(t)
}

/// Severity words an auth log writes after its timestamp (`2026-12-05T10:00:00  WARN ...`).
const LEVELS: &[&[u8]] = &[
    b"TRACE",
    b"DEBUG",
    b"INFO",
    b"INFORMATION",
    b"WARN",
    b"WARNING",
    b"ERROR",
    b"FATAL",
    b"CRITICAL",
];

/// The text after `<timestamp>` and two spaces. The Kudu log stream writes its banners, the
/// web server's W3C lines, App Service HTTP lines and application output (`PID[4312]
/// Information ...`, `info: Microsoft...`) there; an auth log aligned with two spaces writes a
/// level in capitals and then its message.
fn two_space_shape(text: &[u8]) -> (&'static str, bool) {
    const BANNERS: &[&[u8]] = &[
        b"Welcome, you are now connected to log-streaming service",
        b"Starting Log Tail",
        b"No new trace in the past",
        b"Stopping Log Tail",
    ];
    if BANNERS.iter().any(|b| text.starts_with(b)) {
        return ("kudu", true);
    }
    let word = text.split(|b| *b == b' ').next().unwrap_or_default();
    let level = word.strip_suffix(b":").unwrap_or(word);
    if LEVELS.contains(&level) && text.len() > word.len() + 1 {
        return ("appservice-auth", false);
    }
    ("kudu", false)
}

fn json_shape(t: &[u8]) -> Option<(&'static str, bool)> {
    if has(t, "\"records\"")
        || has(t, "AppServiceHTTPLogs")
        || has(t, "AppServiceAuthenticationLogs")
        || has(t, "\"CsMethod\"")
        || azure_resource_id(t)
    {
        return Some(("azure-json", true));
    }
    if has(t, "\"DownstreamStatus\"") || has(t, "\"RequestMethod\"") {
        return Some(("traefik", true));
    }
    if has(t, "\"request\"") && (has(t, "\"resp_headers\"") || has(t, "\"ts\""))
        || has(t, "\"logger\":\"http.log.access")
    {
        return Some(("caddy", true));
    }
    // Caddy's own startup and TLS lines: a vote, not proof.
    if has(t, "\"ts\"") && has(t, "\"logger\"") {
        return Some(("caddy", false));
    }
    if t.starts_with(b"{") && t.ends_with(b"}") {
        return Some(("json", false));
    }
    None
}

/// Every Azure resource log carries `"resourceId": "/SUBSCRIPTIONS/..."`. In a pretty-printed
/// export whose first records are of another category (console, platform logs), it is the
/// only mark within the lines detection reads.
fn azure_resource_id(t: &[u8]) -> bool {
    has(t, "\"resourceId\"")
        && t.windows(15)
            .any(|w| w.eq_ignore_ascii_case(b"/subscriptions/"))
}

/// `addr ident user [time] "request" status bytes ...`: combined, or ingress-nginx when the
/// user agent is followed by the request length, time and `[upstream]`.
fn clf_shape(t: &[u8]) -> Option<(&'static str, bool)> {
    let mut c = Cursor::new(t);
    let _ = super::clf::parse_head(&mut c, &mut crate::model::time::TimeCache::default()).ok()?;
    // parse_head reads `$body_bytes_sent` leniently; detection insists on it.
    let before = &t[..c.i];
    let bytes = before.rsplit(|b| *b == b' ').next().unwrap_or_default();
    if !(bytes == b"-" || bytes.iter().all(u8::is_ascii_digit)) || bytes.is_empty() {
        return None;
    }
    if c.quoted().is_some() && c.quoted().is_some() {
        let _len = c.token();
        let _time = c.token();
        if c.bracketed().is_some() {
            return Some(("ingress-nginx", false));
        }
    }
    Some(("combined", false))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines as each format writes them, each alone and as a file's first lines.
    #[test]
    fn timestamp_first_lines_are_told_apart() {
        let cases: &[(&str, &str)] = &[
            // App Service auth logs: one space, or two and a level.
            (
                "2026-04-04T10:31:02Z ValidateToken IDX10223: Lifetime validation failed.",
                "appservice-auth",
            ),
            (
                "2026-12-05T10:00:00  WARN IDX10223: Lifetime validation failed. The token is expired.",
                "appservice-auth",
            ),
            (
                "2026-12-05T10:00:00Z  ERROR Bearer was not authenticated: IDX10214",
                "appservice-auth",
            ),
            (
                "2026-12-05T10:00:00.123Z  INFO: token refreshed for client spa",
                "appservice-auth",
            ),
            // The Kudu log stream: banners, W3C lines, application output.
            (
                "2026-04-04T10:31:00  Welcome, you are now connected to log-streaming service.",
                "kudu",
            ),
            (
                "2026-04-04T10:31:00  No new trace in the past 1 min(s).",
                "kudu",
            ),
            (
                "2026-04-04T10:31:02  2026-04-04 10:31:02 CONTOSO-API OPTIONS /api/orders - 443 - 203.0.113.7 Mozilla/5.0 - - contoso-api.azurewebsites.net 401 0 0 245 812 38",
                "kudu",
            ),
            (
                "2026-04-04T10:31:03.123  PID[4312] Information Request starting HTTP/1.1 GET /api/orders",
                "kudu",
            ),
            (
                "2026-04-04T10:31:04.500Z  info: Microsoft.Hosting.Lifetime[14]",
                "kudu",
            ),
            ("2026-04-04T10:31:04.500Z  WARN", "kudu"),
            (
                "2026-04-04T10:31:04.500Z  Warning from the app in its own words",
                "kudu",
            ),
            // Neighbours that must not move.
            (
                "2026-04-04T10:31:02Z OPTIONS /api/orders 401 38",
                "appservice-http",
            ),
        ];
        for (line, want) in cases {
            assert_eq!(detect(&[line.as_bytes()]), Some(*want), "{line}");
            let three: Vec<&[u8]> = std::iter::repeat_n(line.as_bytes(), 3).collect();
            assert_eq!(detect(&three), Some(*want), "{line} x3");
        }
        // The fixtures as files.
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/logs/");
        for (file, want) in [
            ("kudu.log", "kudu"),
            ("appservice-auth.log", "appservice-auth"),
        ] {
            let text = std::fs::read_to_string(format!("{dir}{file}")).unwrap();
            let lines: Vec<&[u8]> = text.lines().map(str::as_bytes).collect();
            assert_eq!(detect(&lines), Some(want), "{file}");
        }
    }
}
