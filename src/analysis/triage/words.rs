//! The wording the rules share: times, shares, probe lines, route lists and the `curl`
//! that reproduces a preflight.

use super::*;

pub(super) fn at(t: EpochMs) -> String {
    format_clock(t)
}

pub(super) fn pct(x: f64) -> String {
    format!("{:.0}%", (x * 100.0).clamp(0.0, 100.0))
}

pub(super) fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

pub(super) fn probe_line(f: &ProbeFact) -> String {
    let mut s = format!(
        "probe {} {} from {}: {} ({})",
        f.shape,
        f.url,
        f.origin,
        f.code,
        if f.allowed { "allowed" } else { "blocked" }
    );
    if let Some(st) = f.hidden_status {
        s.push_str(&format!(", hidden status {st}"));
    }
    if let Some(w) = &f.www_authenticate {
        s.push_str(&format!(", WWW-Authenticate: {w}"));
    }
    if let Some(m) = &f.chrome_message {
        s.push_str(&format!(" — Chrome: \"{m}\""));
    }
    s
}

pub(super) fn probes_for(e: &Evidence, h: Hypothesis) -> Vec<&ProbeFact> {
    e.probes
        .facts
        .iter()
        .filter(|f| f.implicated() == Some(h))
        .collect()
}

pub(super) fn refused_origins(probes: &[&ProbeFact]) -> String {
    let mut origins: Vec<&str> = Vec::new();
    for f in probes {
        if !origins.contains(&f.origin.as_str()) {
            origins.push(&f.origin);
        }
    }
    let more = origins.len().saturating_sub(3);
    let mut s = origins
        .iter()
        .take(3)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if more > 0 {
        s.push_str(&format!(" and {more} more"));
    }
    s
}

pub(super) fn routes_list(routes: &[(&RouteEvidence, u64)]) -> String {
    routes
        .iter()
        .take(3)
        .map(|(r, n)| format!("{} ({n})", r.route))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Follow-up rows whose successful preflights were mostly not followed.
pub(super) fn unfollowed_rows(e: &Evidence) -> Vec<&FollowupRow> {
    e.followup
        .iter()
        .filter(|r| {
            r.preflight_2xx >= FOLLOWUP_MIN_PREFLIGHTS && r.unfollowed_share() >= FOLLOWUP_LOW_SHARE
        })
        .collect()
}

pub(super) fn followup_line(r: &FollowupRow) -> String {
    format!(
        "{} on {}: {} preflights answered 2xx, only {} requests followed ({} followed{})",
        r.origin,
        r.route,
        r.preflight_2xx,
        r.actual,
        pct(r.followed_share),
        if r.origin_derived {
            "; origin from Referer"
        } else {
            ""
        }
    )
}

pub(super) fn sample_for(e: &Evidence, classes: &[AuthClass]) -> Option<String> {
    e.auth_samples
        .iter()
        .rev()
        .find(|s| classes.contains(&s.class))
        .map(|s| format!("auth log {}: {}", at(s.time), s.message))
}

/// A URL and origin to put in a suggested command: a failing probe of the hypothesis if any,
/// else the worst log route, else placeholders.
pub(super) fn target(e: &Evidence, h: Hypothesis, worst_route: Option<&str>) -> (String, String) {
    if let Some(f) = probes_for(e, h).first() {
        return (f.url.clone(), f.origin.clone());
    }
    let origin = e
        .origins
        .iter()
        .find(|o| o.options_failed + o.actual_failed > 0)
        .or(e.origins.first())
        .map_or_else(|| "https://<spa-origin>".to_string(), |o| o.origin.clone());
    let route = worst_route
        .map(str::to_string)
        .or_else(|| e.routes.first().map(|r| r.route.clone()))
        .unwrap_or_else(|| "/<route>".into());
    let base = e
        .probes
        .facts
        .first()
        .map(|f| {
            let scheme = f.url.split_once("://").map_or("https", |(s, _)| s);
            format!("{scheme}://{}", f.host)
        })
        .unwrap_or_else(|| "https://<api-host>".into());
    (format!("{base}{route}"), origin)
}

pub(super) fn worst_options_route(
    e: &Evidence,
    f: impl Fn(&RouteEvidence) -> u64,
) -> Option<String> {
    e.routes_by(f).next().map(|(r, _)| r.route.clone())
}

pub(super) fn preflight_curl(url: &str, origin: &str, method: &str) -> String {
    format!(
        "curl -si -X OPTIONS '{url}' -H 'Origin: {origin}' -H 'Access-Control-Request-Method: {method}' -H 'Access-Control-Request-Headers: authorization,content-type'"
    )
}
