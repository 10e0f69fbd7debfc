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
            if t[sp..].starts_with(b"  ") {
                return Some(("kudu", false));
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
