//! The triage board: every hypothesis scored from the [`Evidence`], with the facts behind the
//! score, the check that would settle it, the immediate mitigation, and the places where the
//! logs and the probes disagree.
//!
//! # Rules
//!
//! All scoring lives in the rule functions of this module, listed in [`RULES`]. Each adds
//! points for supporting signals and removes points for weakening signals (domain notes §2);
//! the score is clamped to 0–100. An entry is *Supported* at [`SUPPORTED_MIN`] points or more,
//! *Weakened* when weakening signals pulled it below that, and *No evidence* otherwise.
//!
//! | id | supporting (points) | weakening (points) |
//! |----|---------------------|--------------------|
//! | H1 | probe refused for origin/method/header (+45, +5 per extra probe up to +15); OPTIONS 2xx logged without ACAO (+25); 2xx preflights mostly not followed and no doubled ACAO anywhere (+15) | every probe passes (−25); every logged OPTIONS 2xx had one ACAO (−10) |
//! | H2 | OPTIONS 401/403 in logs (+30, up to +30 more by share of OPTIONS); real requests on those routes succeed (+10); probe preflight hidden 401/403 (+30); auth-log token challenges in the same buckets (+10) | OPTIONS consistently 2xx (−30); with one ACAO logged (−10); probes pass their preflight (−10) |
//! | H3 | 401/403 bursts on real requests (+15); period matches a token lifetime (+35) or any period (+15); bursts matched by `expired` signatures ≥50 % (+25) or any `expired` (+10); failure and `expired` series correlate (+5); probe request answered 401 naming the token (+15); nonce/state losses (+5) | steady failures without bursts (−15); bursts without periodicity (−10); auth log without `expired` (−10); 401s mostly on OPTIONS (−15) |
//! | H4 | probe sees several ACAO values (+55); logs show several ACAO values (+45); 2xx preflights not followed (+10, +15 more with doubled-header evidence) | one ACAO line consistently in logs (−25); probes see one line (−15) |
//! | H5 | audience/issuer failures (+40, up to +20 by count); a default-domain origin failing (+20); default and custom domains mixed (+10) | auth log without audience/issuer errors (−15) |
//! | REDIR | OPTIONS 3xx in logs (+50, up to +20 by share); probe preflight redirected (+45) | OPTIONS logged, none 3xx (−10) |
//! | NOROUTE | OPTIONS 404/405 in logs (+50, up to +20 by share); probe preflight hidden 404/405 (+45) | OPTIONS logged, none 404/405 (−10) |
//! | VARY | probe warning `missing-vary-origin` (+45); several origins served one ACAO (+10) | — |
//! | INST | probe warning `inconsistent-instances` (+50); a probe's verdict flips between runs (+30); several instance fingerprints (+5) | — |
//! | ERRCORS | errors logged without ACAO while successes carry it (+45); probe refused on an error response without ACAO, whatever caused the error (+40) | errors logged with ACAO (−15) |
//! | KEYS | `key-not-found` failures (+50, up to +20 by count); bad signatures (+15) | — |
//! | SKEW | `not-yet-valid` failures (+50, up to +20 by count) | — |
//!
//! Probes are only as complete as the configured endpoints; logs only show what their format
//! logs (most formats do not log response headers). Both limits are why disagreements are
//! listed rather than resolved.

use serde::Serialize;

use crate::analysis::evidence::{Evidence, ProbeFact, RouteEvidence};
use crate::analysis::followup::FollowupRow;
use crate::event::{AuthClass, Hypothesis};
use crate::time::{EpochMs, format_hms};

/// Points at which a hypothesis counts as supported.
pub const SUPPORTED_MIN: u8 = 35;
/// Successful preflights a follow-up row needs before its share means anything.
pub const FOLLOWUP_MIN_PREFLIGHTS: u64 = 10;
/// Unfollowed share of 2xx preflights that counts as "the browser refused them".
pub const FOLLOWUP_LOW_SHARE: f64 = 0.5;
/// Evidence lines kept per entry.
const MAX_LINES: usize = 8;

/// How the evidence stands on one hypothesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Supported,
    Weakened,
    NoEvidence,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Supported => "supported",
            State::Weakened => "weakened",
            State::NoEvidence => "no evidence",
        }
    }
}

/// One row of the board.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Entry {
    pub hypothesis: Hypothesis,
    pub id: &'static str,
    pub title: &'static str,
    pub state: State,
    /// 0–100.
    pub score: u8,
    /// Supporting facts: counts, times, routes, origins, probe verdicts, log samples.
    pub evidence: Vec<String>,
    /// Facts that count against it.
    pub weakening: Vec<String>,
    /// The check that would confirm or rule it out.
    pub next_check: String,
    /// What to do right now if it holds.
    pub mitigation: String,
    /// Where logs and probes tell different stories.
    pub disagreements: Vec<String>,
    /// Earliest and latest time its supporting signals were seen (when known).
    pub first_seen: Option<EpochMs>,
    pub last_seen: Option<EpochMs>,
}

/// All hypotheses, highest score first.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Board {
    pub now: EpochMs,
    pub span_ms: EpochMs,
    pub entries: Vec<Entry>,
}

impl Board {
    /// The leading hypothesis, if anything scored at all.
    pub fn top(&self) -> Option<&Entry> {
        self.entries.first().filter(|e| e.score > 0)
    }

    pub fn get(&self, h: Hypothesis) -> Option<&Entry> {
        self.entries.iter().find(|e| e.hypothesis == h)
    }

    /// 1-based rank of a hypothesis on the board.
    pub fn rank(&self, h: Hypothesis) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.hypothesis == h)
            .map(|i| i + 1)
    }
}

/// What one rule found, before it becomes an [`Entry`].
#[derive(Debug, Default)]
pub struct Tally {
    points: i32,
    supported: bool,
    weakened: bool,
    evidence: Vec<String>,
    weakening: Vec<String>,
    disagreements: Vec<String>,
    first_seen: Option<EpochMs>,
    last_seen: Option<EpochMs>,
}

impl Tally {
    fn support(&mut self, points: i32, why: String) {
        self.points += points;
        self.supported = true;
        if self.evidence.len() < MAX_LINES {
            self.evidence.push(why);
        }
    }

    /// A fact that backs the entry without adding points of its own.
    fn note(&mut self, why: String) {
        if self.evidence.len() < MAX_LINES {
            self.evidence.push(why);
        }
    }

    fn weaken(&mut self, points: i32, why: String) {
        self.points -= points;
        self.weakened = true;
        if self.weakening.len() < MAX_LINES {
            self.weakening.push(why);
        }
    }

    fn disagree(&mut self, why: String) {
        if self.disagreements.len() < MAX_LINES && !self.disagreements.contains(&why) {
            self.disagreements.push(why);
        }
    }

    fn seen(&mut self, t: Option<EpochMs>) {
        if let Some(t) = t {
            self.first_seen = Some(self.first_seen.map_or(t, |f| f.min(t)));
            self.last_seen = Some(self.last_seen.map_or(t, |l| l.max(t)));
        }
    }
}

/// One rule: how to assess a hypothesis, what to check next, what to do now.
pub struct Rule {
    pub hypothesis: Hypothesis,
    pub assess: fn(&Evidence) -> Tally,
    pub next_check: fn(&Evidence) -> String,
    pub mitigation: &'static str,
}

/// The rule table, in [`Hypothesis::ALL`] order (which is also the tie-break order).
pub const RULES: [Rule; 12] = [
    Rule {
        hypothesis: Hypothesis::H1,
        assess: h1_cors_config,
        next_check: check_h1,
        mitigation: "Allow the exact origin (scheme, host and port, no trailing slash) in the API's CORS settings; list the method and every request header (Authorization is never covered by '*' in Chrome); never answer '*' to credentialed requests and send 'Access-Control-Allow-Credentials: true' with them.",
    },
    Rule {
        hypothesis: Hypothesis::H2,
        assess: h2_preflight_auth,
        next_check: check_h2,
        mitigation: "Let OPTIONS bypass authentication: App Service Authentication 'allow unauthenticated requests' (or exclude OPTIONS), CORS middleware before auth middleware (ASP.NET Core: UseCors before UseAuthentication), or answer preflights at the proxy.",
    },
    Rule {
        hypothesis: Hypothesis::H3,
        assess: h3_token_expiry,
        next_check: check_h3,
        mitigation: "Renew tokens before expiry (MSAL acquireTokenSilent on every call, refresh ahead of 'exp'), retry once on 401 with a fresh token, and send CORS headers on 401 responses so the app sees the 401 instead of a CORS error.",
    },
    Rule {
        hypothesis: Hypothesis::H4,
        assess: h4_double_headers,
        next_check: check_h4,
        mitigation: "Keep exactly one CORS layer: either the platform's (App Service CORS, API gateway, nginx add_header) or the application's middleware. On App Service, remove all allowed origins from the portal CORS blade to let the app handle CORS.",
    },
    Rule {
        hypothesis: Hypothesis::H5,
        assess: h5_domain_mismatch,
        next_check: check_h5,
        mitigation: "Align the token with the host the SPA calls: request the API's Application ID URI as scope, accept both the custom domain and the default host as audiences if both are used, match the issuer (v1 vs v2 endpoint, tenant), and add the custom-domain origin to CORS and redirect URIs.",
    },
    Rule {
        hypothesis: Hypothesis::PreflightRedirect,
        assess: redirect_rule,
        next_check: check_redirect,
        mitigation: "Call the final URL directly (https, exact trailing slash, public host); do not redirect OPTIONS at the load balancer or app (exempt OPTIONS from HTTPS/trailing-slash redirects).",
    },
    Rule {
        hypothesis: Hypothesis::OptionsNotRouted,
        assess: not_routed_rule,
        next_check: check_not_routed,
        mitigation: "Route OPTIONS to the CORS handler: a global preflight handler or CORS middleware ahead of routing; on IIS remove the OPTIONSVerbHandler or let the app handle OPTIONS.",
    },
    Rule {
        hypothesis: Hypothesis::MissingVary,
        assess: vary_rule,
        next_check: check_vary,
        mitigation: "Send 'Vary: Origin' on every response whose Access-Control-Allow-Origin depends on the request's Origin, then purge CDN and proxy caches.",
    },
    Rule {
        hypothesis: Hypothesis::InconsistentInstances,
        assess: instances_rule,
        next_check: check_instances,
        mitigation: "Take the odd instance out of rotation (restart or redeploy it), make CORS settings identical across instances and slots; disable ARR affinity while reproducing.",
    },
    Rule {
        hypothesis: Hypothesis::ErrorWithoutCors,
        assess: error_without_cors_rule,
        next_check: check_error_without_cors,
        mitigation: "Emit CORS headers on error responses too (nginx: add_header ... always; register CORS before exception and auth handlers) so the browser shows the real 401/500 instead of a CORS error.",
    },
    Rule {
        hypothesis: Hypothesis::KeyRollover,
        assess: key_rollover_rule,
        next_check: check_keys,
        mitigation: "Refresh the validator's signing keys (restart or lower the metadata refresh interval); never pin signing keys; make sure the validator reads the tenant's current JWKS.",
    },
    Rule {
        hypothesis: Hypothesis::ClockSkew,
        assess: clock_skew_rule,
        next_check: check_skew,
        mitigation: "Sync the validator's clock (NTP) and allow the usual 5 minutes of clock skew in token validation.",
    },
];

/// Scores every hypothesis from the evidence.
pub fn score(e: &Evidence) -> Board {
    let mut entries: Vec<Entry> = RULES
        .iter()
        .map(|r| {
            let t = (r.assess)(e);
            let score = t.points.clamp(0, 100) as u8;
            let state = if t.supported && score >= SUPPORTED_MIN {
                State::Supported
            } else if t.weakened {
                State::Weakened
            } else if t.supported {
                // Some support, not enough: still weaker than the threshold.
                State::Weakened
            } else {
                State::NoEvidence
            };
            Entry {
                hypothesis: r.hypothesis,
                id: r.hypothesis.id(),
                title: r.hypothesis.title(),
                state,
                score,
                evidence: t.evidence,
                weakening: t.weakening,
                next_check: (r.next_check)(e),
                mitigation: r.mitigation.to_string(),
                disagreements: t.disagreements,
                first_seen: t.first_seen,
                last_seen: t.last_seen,
            }
        })
        .collect();
    // Stable sort: equal scores keep the rule-table order.
    entries.sort_by_key(|e| std::cmp::Reverse(e.score));
    Board {
        now: e.now,
        span_ms: e.span_ms,
        entries,
    }
}

/// Gathers the evidence of the last `span_ms` and scores it.
pub fn triage(store: &crate::store::Store, span_ms: EpochMs, lifetimes: &[EpochMs]) -> Board {
    score(&crate::analysis::evidence::gather(
        store, span_ms, lifetimes,
    ))
}

// ---------------------------------------------------------------------------------------------
// Formatting helpers

fn at(t: EpochMs) -> String {
    format!("{}Z", format_hms(t))
}

fn pct(x: f64) -> String {
    format!("{:.0}%", (x * 100.0).clamp(0.0, 100.0))
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn probe_line(f: &ProbeFact) -> String {
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

fn probes_for(e: &Evidence, h: Hypothesis) -> Vec<&ProbeFact> {
    e.probes
        .facts
        .iter()
        .filter(|f| f.implicated() == Some(h))
        .collect()
}

fn routes_list(routes: &[(&RouteEvidence, u64)]) -> String {
    routes
        .iter()
        .take(3)
        .map(|(r, n)| format!("{} ({n})", r.route))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Follow-up rows whose successful preflights were mostly not followed.
fn unfollowed_rows(e: &Evidence) -> Vec<&FollowupRow> {
    e.followup
        .iter()
        .filter(|r| {
            r.preflight_2xx >= FOLLOWUP_MIN_PREFLIGHTS && r.unfollowed_share() >= FOLLOWUP_LOW_SHARE
        })
        .collect()
}

fn followup_line(r: &FollowupRow) -> String {
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

fn sample_for(e: &Evidence, classes: &[AuthClass]) -> Option<String> {
    e.auth_samples
        .iter()
        .rev()
        .find(|s| classes.contains(&s.class))
        .map(|s| format!("auth log {}: {}", at(s.time), s.message))
}

/// A URL and origin to put in a suggested command: a failing probe of the hypothesis if any,
/// else the worst log route, else placeholders.
fn target(e: &Evidence, h: Hypothesis, worst_route: Option<&str>) -> (String, String) {
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

fn worst_options_route(e: &Evidence, f: impl Fn(&RouteEvidence) -> u64) -> Option<String> {
    e.routes_by(f).next().map(|(r, _)| r.route.clone())
}

fn preflight_curl(url: &str, origin: &str, method: &str) -> String {
    format!(
        "curl -si -X OPTIONS '{url}' -H 'Origin: {origin}' -H 'Access-Control-Request-Method: {method}' -H 'Access-Control-Request-Headers: authorization,content-type'"
    )
}

// ---------------------------------------------------------------------------------------------
// H1

const H1_CODES_HINT: &str = "origin not allowed, '*' with credentials, method or header not listed";

fn h1_cors_config(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let probes = probes_for(e, Hypothesis::H1);
    let n = e.probes.count_hypothesis(Hypothesis::H1) as i32;
    if n > 0 {
        t.support(
            45 + (5 * (n - 1)).min(15),
            format!("{n} probe(s) refused by the CORS check ({H1_CODES_HINT})"),
        );
        for f in probes.iter().take(3) {
            t.note(probe_line(f));
            t.seen(Some(f.time));
        }
    }
    let firefox_only = e.probes.count_warning("works-in-firefox-not-chrome");
    if firefox_only > 0 {
        t.note(format!(
            "{firefox_only} probe(s) pass in Firefox but fail in Chrome ('Authorization' covered only by Access-Control-Allow-Headers: *)"
        ));
    }
    let missing = e.all.options_ok_acao.missing;
    if missing > 0 {
        let routes: Vec<_> = e.routes_by(|r| r.options_ok_acao.missing).collect();
        t.support(
            25,
            format!(
                "{missing} OPTIONS answered 2xx but logged without Access-Control-Allow-Origin: {}",
                routes_list(&routes)
            ),
        );
    }
    let doubled_anywhere = e.probes.count_hypothesis(Hypothesis::H4) > 0
        || e.all.options_ok_acao.multiple + e.all.actual_ok_acao.multiple > 0;
    let rows = unfollowed_rows(e);
    if !rows.is_empty() && !doubled_anywhere {
        t.support(
            15,
            format!(
                "{} origin×route pair(s) where 2xx preflights were mostly not followed by the request (the browser refused the answer)",
                rows.len()
            ),
        );
        for r in rows.iter().take(2) {
            t.note(followup_line(r));
        }
    }
    if e.probes.total > 0 && e.probes.failing == 0 {
        t.weaken(
            25,
            format!(
                "all {} probes pass: origins, methods and headers are allowed",
                e.probes.total
            ),
        );
    }
    let acao = &e.all.options_ok_acao;
    if acao.single > 0 && acao.missing == 0 && acao.multiple == 0 {
        t.weaken(
            10,
            format!(
                "every logged OPTIONS 2xx ({}) carried one Access-Control-Allow-Origin",
                acao.single
            ),
        );
    }
    // A probe refused for an origin whose real preflights are followed in the logs.
    for f in &probes {
        if let Some(row) = e
            .followup
            .iter()
            .find(|r| r.origin == f.origin && r.route == f.route && r.preflight_2xx > 0)
            && row.followed_share >= 0.9
        {
            t.disagree(format!(
                "probe from {} to {} is refused ({}), yet the logs show that origin's 2xx preflights on {} followed by requests ({}): the failing clients may send another method or headers than the probe, or the probe's shape is wrong",
                f.origin, f.url, f.code, row.route, pct(row.followed_share)
            ));
        }
    }
    if missing > 0 && e.probes.total > 0 && e.probes.failing == 0 {
        t.disagree(format!(
            "logs show {missing} OPTIONS 2xx without Access-Control-Allow-Origin, but every probe passes: the failing origins or routes are not among the probed ones"
        ));
    }
    t
}

fn check_h1(e: &Evidence) -> String {
    let (url, origin) = target(e, Hypothesis::H1, None);
    format!(
        "{} | grep -i '^access-control' — the Allow-Origin value must equal '{origin}' byte for byte (scheme, host, port) and Allow-Methods/Allow-Headers must list the method and headers; or run corstop check --url '{url}' --origin '{origin}'",
        preflight_curl(&url, &origin, "PUT")
    )
}

// ---------------------------------------------------------------------------------------------
// H2

fn h2_preflight_auth(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let opt = &e.all.options;
    let denied = opt.auth();
    if denied > 0 {
        let sh = share(denied, opt.total);
        t.support(
            30 + (30.0 * sh).round() as i32,
            format!(
                "OPTIONS answered 401 ×{} and 403 ×{} of {} preflights ({})",
                opt.s401,
                opt.s403,
                opt.total,
                pct(sh)
            ),
        );
        let routes: Vec<_> = e.routes_by(|r| r.options.auth()).collect();
        for (r, n) in routes.iter().take(3) {
            t.note(format!(
                "OPTIONS {}: {n} denied of {}, first at {}{}",
                r.route,
                r.options.total,
                r.first_options_failure.map_or_else(|| "?".into(), at),
                if r.failing_origins.is_empty() {
                    String::new()
                } else {
                    format!(", origins {}", r.failing_origins.join(", "))
                }
            ));
            t.seen(r.first_options_failure);
            t.seen(r.last_options_failure);
        }
        let fine: u64 = routes.iter().map(|(r, _)| r.actual.s2xx).sum();
        if fine > 0 {
            t.support(
                10,
                format!(
                    "real requests on the same routes succeed {fine} times: the auth layer treats the preflight (which never carries a token) differently"
                ),
            );
        }
    }
    let probes = probes_for(e, Hypothesis::H2);
    if !probes.is_empty() {
        t.support(
            30,
            format!(
                "{} probe preflight(s) answered 401/403 behind the CORS error",
                probes.len()
            ),
        );
        for f in probes.iter().take(2) {
            t.note(probe_line(f));
            t.seen(Some(f.time));
        }
    }
    if e.options_auth_with_challenge > 0 {
        t.support(
            10,
            format!(
                "the auth log reports a missing or malformed token in {} of {} buckets with OPTIONS 401/403",
                e.options_auth_with_challenge, e.options_auth_buckets
            ),
        );
        if let Some(s) = sample_for(e, &[AuthClass::MalformedOrMissing]) {
            t.note(s);
        }
    }
    if opt.total >= 5 && opt.s2xx == opt.total {
        t.weaken(
            30,
            format!("OPTIONS consistently 2xx ({} of {})", opt.s2xx, opt.total),
        );
        let acao = &e.all.options_ok_acao;
        if acao.single > 0 && acao.missing == 0 && acao.multiple == 0 {
            t.weaken(
                10,
                format!(
                    "with one Access-Control-Allow-Origin on every logged preflight ({})",
                    acao.single
                ),
            );
        }
    }
    let passing_preflights = e
        .probes
        .facts
        .iter()
        .filter(|f| f.allowed || f.stage == crate::cors::Stage::Actual)
        .count();
    if probes.is_empty() && passing_preflights > 0 {
        t.weaken(
            10,
            format!("{passing_preflights} probe(s) get through the preflight without a token"),
        );
    }
    // Logs and probes on the same route.
    for r in e.routes.iter().filter(|r| r.options.auth() > 0) {
        if let Some(f) =
            e.probes.facts.iter().find(|f| {
                f.route == r.route && (f.allowed || f.stage == crate::cors::Stage::Actual)
            })
        {
            t.disagree(format!(
                "logs: OPTIONS {} denied {} times, but the probe {} from {} passes its preflight — the failing clients use another origin, path or instance",
                r.route,
                r.options.auth(),
                f.url,
                f.origin
            ));
        }
    }
    for f in &probes {
        if let Some(r) = e.route(&f.route)
            && r.options.total > 0
            && r.options.auth() == 0
        {
            t.disagree(format!(
                "probe {} sees {} on the preflight, but the logs show OPTIONS {} answered without 401/403 ({} of {} 2xx) — the probe may reach another host or instance",
                f.url,
                f.hidden_status.map_or_else(|| "a denial".into(), |s| s.to_string()),
                r.route,
                r.options.s2xx,
                r.options.total
            ));
        }
    }
    t
}

fn check_h2(e: &Evidence) -> String {
    let worst = worst_options_route(e, |r| r.options.auth());
    let (url, origin) = target(e, Hypothesis::H2, worst.as_deref());
    format!(
        "{} (no Authorization header, as browsers send it) and look for 401/403 with WWW-Authenticate instead of 204 with Access-Control-Allow-* headers",
        preflight_curl(&url, &origin, "PUT")
    )
}

// ---------------------------------------------------------------------------------------------
// H3

fn h3_token_expiry(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let x = &e.expiry;
    if !x.bursts.is_empty() {
        let times: Vec<String> = x
            .bursts
            .iter()
            .rev()
            .take(4)
            .rev()
            .map(|b| {
                format!(
                    "{} ({}{})",
                    at(b.burst.start),
                    b.burst.count,
                    b.route
                        .as_ref()
                        .map_or_else(String::new, |r| format!(" on {r}"))
                )
            })
            .collect();
        t.support(
            15,
            format!(
                "{} bursts of 401/403 on real requests: {}",
                x.bursts.len(),
                times.join(", ")
            ),
        );
        t.seen(x.bursts.first().map(|b| b.burst.start));
        t.seen(x.bursts.last().map(|b| b.burst.end));
    }
    if let Some(p) = &x.period {
        let text = format!("{}; next due at {}", p.describe(), at(p.next_due));
        if p.matches_lifetime.is_some() {
            t.support(35, text);
        } else {
            t.support(15, text);
        }
    }
    if !x.bursts.is_empty() && x.correlation.expired_share >= 0.5 {
        t.support(
            25,
            format!(
                "{} of the burst volume is matched by 'expired' signatures in the auth log ({} in the window)",
                pct(x.correlation.expired_share),
                x.expired
            ),
        );
    } else if x.expired > 0 {
        t.support(
            10,
            format!("{} 'expired' signatures in the auth log", x.expired),
        );
    }
    if x.expired > 0
        && let Some(s) = sample_for(e, &[AuthClass::Expired])
    {
        t.note(s);
    }
    if let Some(c) = x.correlation.series_correlation
        && c > 0.5
        && x.expired > 0
    {
        t.support(
            5,
            format!("401/403 and 'expired' series correlate (r = {c:.2})"),
        );
    }
    let probes = probes_for(e, Hypothesis::H3);
    if !probes.is_empty() {
        // Weak on its own: the probe's token may be a placeholder the API rightly refuses.
        t.support(
            15,
            format!(
                "{} probe request(s) answered 401 with a challenge naming the token (invalid_token / expired); confirm with a real token",
                probes.len()
            ),
        );
        for f in probes.iter().take(2) {
            t.note(probe_line(f));
            t.seen(Some(f.time));
        }
    }
    let nonce = e.auth_count(AuthClass::NonceState);
    if nonce > 0 {
        t.support(
            5,
            format!("{nonce} lost nonce/state failures (the sign-in or refresh round trip breaks)"),
        );
    }
    if x.failures >= 10 && x.bursts.is_empty() {
        t.weaken(
            15,
            format!(
                "{} 401/403 on real requests but no bursts: steady, not expiry-shaped",
                x.failures
            ),
        );
    }
    if x.bursts.len() >= 3 && x.period.is_none() {
        t.weaken(
            10,
            format!("{} bursts without a recurring period", x.bursts.len()),
        );
    }
    let auth_logged = e.auth_failures() + e.auth_ok > 0;
    if auth_logged && x.expired == 0 && x.failures > 0 {
        t.weaken(10, "the auth log holds no 'expired' signatures".into());
    }
    let options_denied = e.all.options.auth();
    if options_denied > 0 && options_denied > x.failures {
        t.weaken(
            15,
            format!(
                "most 401/403 are on preflights ({options_denied}) rather than on real requests ({})",
                x.failures
            ),
        );
    }
    if x.period_matches_lifetime() && auth_logged && x.expired == 0 {
        t.disagree(
            "401 bursts recur at the token lifetime, yet the auth log shows no 'expired' signature: the auth log may be another instance's, or the app validates tokens itself".into(),
        );
    }
    t
}

fn check_h3(e: &Evidence) -> String {
    let due = e.expiry.next_due.map_or_else(String::new, |d| {
        format!(" Watch for the next burst around {}.", at(d))
    });
    format!(
        "Decode a failing request's token (jwt.ms, never paste production tokens elsewhere) and compare 'exp' with the 401 time; sign in fresh and retry: if a fresh token works and the failures return one lifetime later, the refresh path is broken.{due}"
    )
}

// ---------------------------------------------------------------------------------------------
// H4

fn h4_double_headers(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let probes = probes_for(e, Hypothesis::H4);
    if !probes.is_empty() {
        t.support(
            55,
            format!(
                "{} probe(s) received several Access-Control-Allow-Origin values",
                probes.len()
            ),
        );
        for f in probes.iter().take(2) {
            t.note(probe_line(f));
            t.seen(Some(f.time));
        }
    }
    let logged = e.all.options_ok_acao.multiple + e.all.actual_ok_acao.multiple;
    if logged > 0 {
        let routes: Vec<_> = e
            .routes_by(|r| r.options_ok_acao.multiple + r.actual_ok_acao.multiple)
            .collect();
        t.support(
            45,
            format!(
                "{logged} responses logged with several Access-Control-Allow-Origin values: {}",
                routes_list(&routes)
            ),
        );
    }
    let rows = unfollowed_rows(e);
    if !rows.is_empty() {
        let extra = if logged > 0 || !probes.is_empty() {
            15
        } else {
            0
        };
        t.support(
            10 + extra,
            format!(
                "{} origin×route pair(s) with 2xx preflights mostly not followed by the request",
                rows.len()
            ),
        );
        for r in rows.iter().take(2) {
            t.note(followup_line(r));
        }
    }
    let acao = &e.all.options_ok_acao;
    let single = acao.single + e.all.actual_ok_acao.single;
    if single >= 10 && logged == 0 {
        t.weaken(
            25,
            format!("{single} responses logged with exactly one Access-Control-Allow-Origin"),
        );
    }
    let with_preflight: Vec<_> = e
        .probes
        .facts
        .iter()
        .filter(|f| f.preflight_acao_lines > 0)
        .collect();
    if probes.is_empty()
        && !with_preflight.is_empty()
        && with_preflight.iter().all(|f| f.preflight_acao_lines == 1)
    {
        t.weaken(
            15,
            format!(
                "{} probe preflight(s) carried exactly one Access-Control-Allow-Origin line",
                with_preflight.len()
            ),
        );
    }
    for f in &probes {
        if let Some(r) = e.route(&f.route)
            && r.options.s2xx > 0
            && r.options_ok_acao.multiple == 0
        {
            let what = if r.options_ok_acao.logged() == 0 {
                "the log format does not record the header".to_string()
            } else {
                format!(
                    "the log records {} single value(s)",
                    r.options_ok_acao.single
                )
            };
            t.disagree(format!(
                "logs show OPTIONS {} answered 2xx ({} times) and look healthy ({what}), but the probe {} sees a doubled Access-Control-Allow-Origin the browser rejects",
                r.route, r.options.s2xx, f.url
            ));
        }
    }
    t
}

fn check_h4(e: &Evidence) -> String {
    let (url, origin) = target(e, Hypothesis::H4, None);
    format!(
        "{} | grep -ci '^access-control-allow-origin' — must print 1; then list every layer that adds CORS headers (App Service CORS blade, API Management, nginx add_header, app middleware)",
        preflight_curl(&url, &origin, "PUT")
    )
}

// ---------------------------------------------------------------------------------------------
// H5

fn h5_domain_mismatch(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let aud = e.auth_count(AuthClass::Audience);
    let iss = e.auth_count(AuthClass::Issuer);
    if aud + iss > 0 {
        t.support(
            40 + ((aud + iss) as i32 / 2).min(20),
            format!(
                "{aud} audience and {iss} issuer failures in the auth log (IDX10214 / IDX10205 family)"
            ),
        );
        if let Some(s) = sample_for(e, &[AuthClass::Audience, AuthClass::Issuer]) {
            t.note(s);
        }
        for s in &e.auth_samples {
            if matches!(s.class, AuthClass::Audience | AuthClass::Issuer) {
                t.seen(Some(s.time));
            }
        }
    }
    let default_failing: Vec<_> = e
        .origins
        .iter()
        .filter(|o| o.default_domain && o.options_failed + o.actual_failed > 0)
        .collect();
    if !default_failing.is_empty() {
        t.support(
            20,
            format!(
                "requests from default-domain origin(s) fail: {}",
                default_failing
                    .iter()
                    .take(3)
                    .map(|o| format!(
                        "{} ({} failed)",
                        o.origin,
                        o.options_failed + o.actual_failed
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    let default_origins = e.origins.iter().filter(|o| o.default_domain).count();
    let custom_origins = e.origins.len() - default_origins;
    let default_hosts = e
        .probes
        .hosts
        .iter()
        .filter(|h| crate::analysis::evidence::is_default_domain(h))
        .count();
    let custom_hosts = e.probes.hosts.len() - default_hosts;
    let mixed = (default_origins > 0 && custom_origins > 0)
        || (default_hosts > 0 && custom_hosts > 0)
        || (default_origins > 0 && custom_hosts > 0 && default_hosts == 0);
    if mixed {
        t.support(
            10,
            format!(
                "default and custom domains are both in use: {default_origins} default-domain and {custom_origins} custom origin(s); {default_hosts} default and {custom_hosts} custom API host(s) probed"
            ),
        );
    }
    if e.auth_failures() + e.auth_ok > 0 && aud + iss == 0 {
        t.weaken(15, "the auth log shows no audience or issuer errors".into());
    }
    t
}

fn check_h5(_e: &Evidence) -> String {
    "Decode a failing token and compare 'aud' and 'iss' with the API's configured audience (Application ID URI or client id) and issuer (v1 sts.windows.net vs v2 login.microsoftonline.com/<tenant>/v2.0); compare the host the SPA calls (custom domain vs *.azurewebsites.net) with the one the token was requested for.".into()
}

// ---------------------------------------------------------------------------------------------
// Extra failure modes

fn redirect_rule(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let opt = &e.all.options;
    if opt.s3xx > 0 {
        let routes: Vec<_> = e.routes_by(|r| r.options.s3xx).collect();
        t.support(
            50 + (20.0 * share(opt.s3xx, opt.total)).round() as i32,
            format!(
                "OPTIONS answered 3xx {} times of {} (a redirected preflight always fails): {}",
                opt.s3xx,
                opt.total,
                routes_list(&routes)
            ),
        );
        for (r, _) in routes.iter().take(3) {
            t.seen(r.first_options_failure);
            t.seen(r.last_options_failure);
        }
    }
    let probes = probes_for(e, Hypothesis::PreflightRedirect);
    if !probes.is_empty() {
        t.support(
            45,
            format!("{} probe preflight(s) redirected", probes.len()),
        );
        for f in probes.iter().take(2) {
            t.note(probe_line(f));
            t.seen(Some(f.time));
        }
    }
    if opt.total >= 5 && opt.s3xx == 0 && probes.is_empty() {
        t.weaken(10, format!("no OPTIONS redirected among {}", opt.total));
    }
    t
}

fn check_redirect(e: &Evidence) -> String {
    let worst = worst_options_route(e, |r| r.options.s3xx);
    let (url, origin) = target(e, Hypothesis::PreflightRedirect, worst.as_deref());
    format!(
        "{} and read the Location header: http→https, a trailing slash, or a load balancer sending the browser to a backend host",
        preflight_curl(&url, &origin, "PUT")
    )
}

fn not_routed_rule(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let opt = &e.all.options;
    let n = opt.s404 + opt.s405;
    if n > 0 {
        let routes: Vec<_> = e.routes_by(|r| r.options.s404 + r.options.s405).collect();
        t.support(
            50 + (20.0 * share(n, opt.total)).round() as i32,
            format!(
                "OPTIONS answered 404 ×{} and 405 ×{} of {}: {}",
                opt.s404,
                opt.s405,
                opt.total,
                routes_list(&routes)
            ),
        );
        for (r, _) in routes.iter().take(3) {
            t.seen(r.first_options_failure);
            t.seen(r.last_options_failure);
        }
    }
    let probes = probes_for(e, Hypothesis::OptionsNotRouted);
    if !probes.is_empty() {
        t.support(
            45,
            format!("{} probe preflight(s) answered 404/405", probes.len()),
        );
        for f in probes.iter().take(2) {
            t.note(probe_line(f));
            t.seen(Some(f.time));
        }
    }
    if opt.total >= 5 && n == 0 && probes.is_empty() {
        t.weaken(
            10,
            format!("no OPTIONS answered 404/405 among {}", opt.total),
        );
    }
    t
}

fn check_not_routed(e: &Evidence) -> String {
    let worst = worst_options_route(e, |r| r.options.s404 + r.options.s405);
    let (url, origin) = target(e, Hypothesis::OptionsNotRouted, worst.as_deref());
    format!(
        "{} — expect 200/204 with Access-Control-Allow-* headers, not 404/405; check whether the framework routes OPTIONS for this path",
        preflight_curl(&url, &origin, "PUT")
    )
}

fn vary_rule(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let n = e.probes.count_warning("missing-vary-origin");
    if n > 0 {
        t.support(
            45,
            format!("{n} probe(s) got an origin-specific Access-Control-Allow-Origin without 'Vary: Origin'"),
        );
        for f in e
            .probes
            .facts
            .iter()
            .filter(|f| f.has_warning("missing-vary-origin"))
            .take(2)
        {
            t.note(probe_line(f));
            t.seen(Some(f.time));
        }
        let origins = e
            .origins
            .iter()
            .filter(|o| o.requests > 0 && !o.derived)
            .count();
        if origins > 1 {
            t.support(
                10,
                format!(
                    "{origins} origins call the API, so a cached answer for one reaches another"
                ),
            );
        }
    }
    t
}

fn check_vary(e: &Evidence) -> String {
    let (url, _) = target(e, Hypothesis::MissingVary, None);
    format!(
        "Request '{url}' twice with two different Origin headers (through the CDN/proxy) and compare Access-Control-Allow-Origin and Vary: the second origin must not receive the first one's value"
    )
}

fn instances_rule(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let n = e.probes.count_warning("inconsistent-instances");
    if n > 0 {
        t.support(
            50,
            format!("{n} probe(s) got different answers over fresh connections"),
        );
        for f in e
            .probes
            .facts
            .iter()
            .filter(|f| f.has_warning("inconsistent-instances"))
            .take(2)
        {
            t.note(probe_line(f));
            t.seen(Some(f.time));
        }
    }
    if !e.probes.flapping.is_empty() {
        t.support(
            30,
            format!(
                "{} probe(s) changed verdict between runs",
                e.probes.flapping.len()
            ),
        );
        for f in e.probes.flapping.iter().take(3) {
            t.note(f.clone());
        }
    }
    if t.supported && e.probes.instances.len() > 1 {
        t.support(
            5,
            format!(
                "{} instance fingerprints seen: {}",
                e.probes.instances.len(),
                e.probes.instances.join("; ")
            ),
        );
    }
    t
}

fn check_instances(e: &Evidence) -> String {
    let (url, origin) = target(e, Hypothesis::InconsistentInstances, None);
    format!(
        "Repeat the preflight 10 times over fresh connections ({} , no cookie) and group the answers by Server / X-Served-By / ARRAffinity: one instance answering differently is the culprit",
        preflight_curl(&url, &origin, "PUT")
    )
}

fn error_without_cors_rule(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let err = &e.all.actual_error_acao;
    let ok = &e.all.actual_ok_acao;
    if err.missing > 0 && ok.single > 0 {
        let routes: Vec<_> = e
            .routes_by(|r| {
                if r.actual_ok_acao.single > 0 {
                    r.actual_error_acao.missing
                } else {
                    0
                }
            })
            .collect();
        t.support(
            45,
            format!(
                "{} error responses logged without Access-Control-Allow-Origin while {} successes carry it: {}",
                err.missing,
                ok.single,
                routes_list(&routes)
            ),
        );
        for (r, _) in routes.iter().take(3) {
            t.seen(r.first_actual_auth_failure);
        }
    }
    // Every refused error response counts, whatever the verdict blames for the error itself
    // (a 401 naming the token is also an H3 signal).
    let probes: Vec<&ProbeFact> = e
        .probes
        .facts
        .iter()
        .filter(|f| {
            f.implicated() == Some(Hypothesis::ErrorWithoutCors)
                || (!f.allowed
                    && f.stage == crate::cors::Stage::Actual
                    && matches!(f.code, "actual-acao-missing" | "acao-missing")
                    && f.hidden_status.is_some_and(|s| s >= 400))
        })
        .collect();
    if !probes.is_empty() {
        t.support(
            40,
            format!(
                "{} probe(s) got an error response without CORS headers",
                probes.len()
            ),
        );
        for f in probes.iter().take(2) {
            t.note(probe_line(f));
            t.seen(Some(f.time));
        }
    }
    if err.single > 0 && err.missing == 0 {
        t.weaken(
            15,
            format!(
                "{} error responses logged with Access-Control-Allow-Origin",
                err.single
            ),
        );
    }
    t
}

fn check_error_without_cors(e: &Evidence) -> String {
    let worst = e
        .routes_by(|r| r.actual.errors())
        .next()
        .map(|(r, _)| r.route.clone());
    let (url, origin) = target(e, Hypothesis::ErrorWithoutCors, worst.as_deref());
    format!(
        "curl -si '{url}' -H 'Origin: {origin}' (with an expired or no token) | grep -i '^access-control-allow-origin' — an error response must carry it too"
    )
}

fn key_rollover_rule(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let n = e.auth_count(AuthClass::KeyNotFound);
    if n > 0 {
        t.support(
            50 + (n as i32).min(20),
            format!("{n} 'signature key not found' failures (IDX10503/IDX10501 family)"),
        );
        if let Some(s) = sample_for(e, &[AuthClass::KeyNotFound]) {
            t.note(s);
        }
    }
    let bad = e.auth_count(AuthClass::BadSignature);
    if bad > 0 {
        t.support(15, format!("{bad} invalid-signature failures"));
    }
    for s in &e.auth_samples {
        if matches!(s.class, AuthClass::KeyNotFound | AuthClass::BadSignature) {
            t.seen(Some(s.time));
        }
    }
    t
}

fn check_keys(_e: &Evidence) -> String {
    "Compare the 'kid' in a failing token's header with the keys at the issuer's jwks_uri (from /.well-known/openid-configuration); a kid missing from the validator's cached keys means a rollover it has not picked up.".into()
}

fn clock_skew_rule(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let n = e.auth_count(AuthClass::NotYetValid);
    if n > 0 {
        t.support(
            50 + (n as i32).min(20),
            format!("{n} 'token not yet valid' failures (IDX10222 family)"),
        );
        if let Some(s) = sample_for(e, &[AuthClass::NotYetValid]) {
            t.note(s);
        }
        for s in &e.auth_samples {
            if s.class == AuthClass::NotYetValid {
                t.seen(Some(s.time));
            }
        }
    }
    t
}

fn check_skew(_e: &Evidence) -> String {
    "Compare 'nbf'/'iat' of a failing token with the validator's clock (date -u on the host, or the Date header of its responses); more than a few minutes apart is skew.".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_table_covers_every_hypothesis_in_order() {
        let ids: Vec<Hypothesis> = RULES.iter().map(|r| r.hypothesis).collect();
        assert_eq!(ids, Hypothesis::ALL.to_vec());
    }
}
