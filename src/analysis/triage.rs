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
//! | H1 | probe refused for origin/method/header (+30, +30 × share of probes refused); OPTIONS 2xx logged without ACAO (+10, +20 × share of logged OPTIONS 2xx); 2xx preflights mostly not followed and no doubled ACAO anywhere (+15) | every probe passes (−25); every logged OPTIONS 2xx had one ACAO (−10) |
//! | H2 | OPTIONS 401/403 in logs (+30, up to +30 more by share of OPTIONS; the evidence names only the origins whose preflights were denied); real requests on those routes succeed (+10); probe preflight hidden 401/403 (+30); auth-log token challenges in the same buckets (+10) | OPTIONS consistently 2xx (−30); with one ACAO logged (−10); probes pass their preflight (−10) |
//! | H3 | 401/403 bursts on real requests, each significant against its baseline (+15); a period from ≥3 bursts with agreeing intervals, claimed at ≥80 % confidence, matching a token lifetime (+35), else clients recurring at a token lifetime beyond chance (≥95 % confidence, +30), else any claimed period (+15); bursts matched by `expired` signatures ≥50 % (+25) or any `expired` (+10); 401/403 on real requests and `expired` signatures in the same buckets, ≥50 % of those buckets (+30); failure and `expired` series correlate (+5); probe request answered 401 naming the token (+15); nonce/state losses (+5) | steady failures without bursts or client recurrences, on a window of 10 min or more (−15); bursts without periodicity or client recurrences (−10); auth log without `expired` (−10); 401s mostly on OPTIONS (−15) |
//! | H4 | probe sees several ACAO values (+55); logs show several ACAO values (+45); 2xx preflights not followed (+10, +15 more with doubled-header evidence) | one ACAO line consistently in logs (−25); probes see one line (−15) |
//! | H5 | audience/issuer failures (+40, up to +20 by count); a default-domain origin failing (+20); default and custom domains mixed (+10) | auth log without audience/issuer errors (−15) |
//! | REDIR | OPTIONS 3xx in logs (+50, up to +20 by share); probe preflight redirected (+45) | OPTIONS logged, none 3xx (−10) |
//! | NOROUTE | OPTIONS 404/405 in logs (+50, up to +20 by share); probe preflight hidden 404/405 (+45) | OPTIONS logged, none 404/405 (−10) |
//! | VARY | probe warning `missing-vary-origin` (+45); several origins served one ACAO (+10) | — |
//! | INST | probe warning `inconsistent-instances` (+50); a probe's verdict flips and flips back between runs in the window (+30; a single change is a deployment, not a disagreement); several instance fingerprints (+5) | — |
//! | ERRCORS | cross-origin errors (Origin sent, or taken from the Referer and said so) logged without ACAO while cross-origin successes carry it (+45; requests without any origin are server-to-server calls and never count); probe refused on an error response without ACAO, whatever caused the error (+40) | errors logged with ACAO (−15) |
//! | KEYS | `key-not-found` failures (+50, up to +20 by count); bad signatures (+15) | — |
//! | SKEW | `not-yet-valid` failures (+50, up to +20 by count) | — |
//!
//! Impact matters: a refusal that hits one origin of several scores lower than one that hits
//! every probe, so a long-standing partner misconfiguration does not outrank an outage.
//!
//! # Ongoing or ended
//!
//! The board scores the whole window: a score is the impact of everything the window holds.
//! Whether a supported hypothesis is still happening is decided apart from its score, by how
//! long its failures have been silent compared with how often they occurred:
//!
//! - *failures*: the logged failures the hypothesis rests on ([`logged_failures`]), with the
//!   time of the first and the last of them;
//! - *expected gap* ([`expected_gap`]): the mean time between those failures, (last − first +
//!   one bucket) ÷ count, never shorter than the mean time between any two logged events of
//!   the window (the traffic the sources actually carry), nor than one bucket; for token
//!   expiry with a recurring period, never shorter than the period (quiet between two bursts
//!   is not an end);
//! - *silence*: the time from the last failure to the end of the window;
//! - [`standing`]: **ended** when the silence exceeds [`ENDED_AFTER_GAPS`] expected gaps and
//!   [`ENDED_MIN_SILENCE_MS`], and the sources logged something after the last failure (a
//!   source that went quiet altogether does not show an end); **ongoing** otherwise. A
//!   failing latest probe verdict keeps a hypothesis ongoing: the probes repeat.
//!
//! At 300 requests a minute failing throughout, the expected gap is one bucket and a fault
//! that stopped two minutes ago is ended; at 5 requests a minute the gap is 12 s and a fault
//! still failing in the last bucket is ongoing however few events the last minutes hold; one
//! failure in every fifty requests at 5 a minute (a gap of 10 min) is ended only after 50 min
//! of silence. The table of cases is in the tests of this module.
//!
//! When an incident in the window ended, each hypothesis still failing is also scored on the
//! evidence since that end, keeping the higher score ([`rank_phases`]): what an incident
//! that is over left in the counters (401s on preflights) does not weaken what followed it.
//!
//! A supported hypothesis whose failures ended is in state *Ended* with the time of its last
//! failure ([`Entry::ended_at`]). [`Ranking::Now`] (the live board) puts the supported
//! hypotheses that are failing now first, then the ended ones, whatever their scores, then the
//! rest by score; [`Ranking::Impact`] (`report`) ranks by score alone, so a finished incident
//! is the report's top finding, "ended at T".
//!
//! Probes are only as complete as the configured endpoints; logs only show what their format
//! logs (most formats do not log response headers). Both limits are why disagreements are
//! listed rather than resolved.

use serde::Serialize;

use crate::analysis::evidence::{Evidence, ProbeFact, RouteEvidence, Seen};
use crate::analysis::followup::FollowupRow;
use crate::model::time::{EpochMs, MINUTE, format_hms};
use crate::sources::event::{AuthClass, Hypothesis};

/// Points at which a hypothesis counts as supported.
pub const SUPPORTED_MIN: u8 = 35;
/// Successful preflights a follow-up row needs before its share means anything.
pub const FOLLOWUP_MIN_PREFLIGHTS: u64 = 10;
/// Unfollowed share of 2xx preflights that counts as "the browser refused them".
pub const FOLLOWUP_LOW_SHARE: f64 = 0.5;
/// Evidence lines kept per entry.
const MAX_LINES: usize = 8;
/// Expected gaps of silence after which a hypothesis's failures count as ended.
pub const ENDED_AFTER_GAPS: EpochMs = 5;
/// Least silence that counts as ended at any traffic level: a minute or two without a failure
/// is what an intermittent fault looks like.
pub const ENDED_MIN_SILENCE_MS: EpochMs = 2 * MINUTE;

/// How the board is ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ranking {
    /// What is failing now first (the live board): ended hypotheses below every current one.
    #[default]
    Now,
    /// By impact over the whole window (the report): ended incidents rank by their score.
    Impact,
}

/// Whether a hypothesis's failures are still happening.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    Ongoing,
    Ended,
}

/// The mean time between the failures a hypothesis rests on, floored by the mean time between
/// any two logged events (`traffic`), by one bucket and, for recurring failures, by their
/// period. `None` when the window holds no failure of it.
pub fn expected_gap(
    failures: Seen,
    traffic: Seen,
    bucket_ms: EpochMs,
    period_ms: Option<EpochMs>,
) -> Option<EpochMs> {
    let mean = |s: Seen| match (s.first, s.last) {
        (Some(f), Some(l)) if s.events > 0 => Some((l - f + bucket_ms) / s.events as EpochMs),
        _ => None,
    };
    let own = mean(failures)?;
    // A single failure says nothing about its rate: only the traffic does.
    let own = if failures.events < 2 { 0 } else { own };
    Some(
        own.max(mean(traffic).unwrap_or(0))
            .max(bucket_ms)
            .max(period_ms.unwrap_or(0)),
    )
}

/// The rule of the module doc: ended once the silence since the last failure is clearly
/// longer than the expected gap between failures, and something was logged after it.
pub fn standing(silence_ms: EpochMs, expected_gap_ms: EpochMs, logged_after: bool) -> Standing {
    let limit = (ENDED_AFTER_GAPS * expected_gap_ms).max(ENDED_MIN_SILENCE_MS);
    if logged_after && silence_ms > limit {
        Standing::Ended
    } else {
        Standing::Ongoing
    }
}

/// When the logged failures of a hypothesis ended, or `None` while they are ongoing (or when
/// nothing logged supports it).
pub fn ended_at(e: &Evidence, h: Hypothesis) -> Option<EpochMs> {
    if !probes_for(e, h).is_empty() {
        return None;
    }
    let failures = logged_failures(e, h);
    let last = failures.last?;
    let bucket = e.bucket_ms.max(1);
    let period = (h == Hypothesis::H3)
        .then(|| e.expiry.period.as_ref().map(|p| p.period_ms))
        .flatten();
    let gap = expected_gap(failures, e.signals.traffic, bucket, period)?;
    let logged_after = e.signals.traffic.last.is_some_and(|t| t > last);
    // `last` is the start of the last failing bucket; silence counts from its end.
    let silence = e.now - (last + bucket);
    (standing(silence, gap, logged_after) == Standing::Ended).then_some(last)
}

/// "ended 10:42:00Z (14m ago)"
pub fn ended_text(ended: EpochMs, now: EpochMs) -> String {
    format!(
        "ended {} ({} ago)",
        at(ended),
        crate::model::time::format_duration((now - ended).max(0))
    )
}

/// How the evidence stands on one hypothesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Supported,
    /// Supported by the window's evidence, but its failures stopped ([`Entry::ended_at`]).
    Ended,
    Weakened,
    NoEvidence,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Supported => "supported",
            State::Ended => "ended",
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
    /// When its failures stopped (the last one), if they did: see the module doc.
    pub ended_at: Option<EpochMs>,
    /// `first_seen` is the window's first bucket: the failures may have begun before it.
    pub began_before_window: bool,
}

impl Entry {
    /// "ended 10:42:00Z (14m ago)" for an ended entry, relative to `now`.
    pub fn ended_text(&self, now: EpochMs) -> Option<String> {
        self.ended_at.map(|t| ended_text(t, now))
    }
}

/// All hypotheses in [`Board::ranking`] order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Board {
    pub now: EpochMs,
    pub span_ms: EpochMs,
    pub ranking: Ranking,
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

/// Scores every hypothesis from the evidence of one window, what is failing now first.
pub fn score(e: &Evidence) -> Board {
    rank(e, Ranking::Now)
}

/// Scores every hypothesis from the evidence of one window and orders them by `ranking`.
pub fn rank(e: &Evidence, ranking: Ranking) -> Board {
    rank_phases(e, None, ranking)
}

/// The logged failures a hypothesis rests on, with the time of the first and the last of
/// them (probe-only hypotheses have none: their probes carry their own times).
pub fn logged_failures(e: &Evidence, h: Hypothesis) -> Seen {
    let s = &e.signals;
    let auth = |c: AuthClass| s.auth[c as usize];
    match h {
        Hypothesis::H1 => s.options_ok_without_acao,
        Hypothesis::H2 => s.options_denied,
        Hypothesis::H3 => s.actual_auth.union(auth(AuthClass::Expired)),
        Hypothesis::H4 => s.acao_multiple,
        Hypothesis::H5 => auth(AuthClass::Audience).union(auth(AuthClass::Issuer)),
        Hypothesis::PreflightRedirect => s.options_redirected,
        Hypothesis::OptionsNotRouted => s.options_unrouted,
        Hypothesis::MissingVary | Hypothesis::InconsistentInstances => Seen::default(),
        Hypothesis::ErrorWithoutCors => s.error_without_acao,
        Hypothesis::KeyRollover => {
            auth(AuthClass::KeyNotFound).union(auth(AuthClass::BadSignature))
        }
        Hypothesis::ClockSkew => auth(AuthClass::NotYetValid),
    }
}

fn entry(r: &Rule, e: &Evidence, mut t: Tally, points: i32) -> Entry {
    if t.supported {
        let logged = logged_failures(e, r.hypothesis);
        t.seen(logged.first);
        t.seen(logged.last);
    }
    let score = points.clamp(0, 100) as u8;
    let ended = if t.supported {
        ended_at(e, r.hypothesis)
    } else {
        None
    };
    let state = if t.supported && score >= SUPPORTED_MIN {
        if ended.is_some() {
            State::Ended
        } else {
            State::Supported
        }
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
        began_before_window: t.first_seen.is_some_and(|f| f <= e.window_start),
        first_seen: t.first_seen,
        last_seen: t.last_seen,
        ended_at: ended,
    }
}

fn board(e: &Evidence, mut entries: Vec<Entry>, ranking: Ranking) -> Board {
    // Stable sorts: equal keys keep the rule-table order.
    entries.sort_by_key(|e| std::cmp::Reverse(e.score));
    if ranking == Ranking::Now {
        // Supported and failing now, then ended incidents, then the rest by score.
        entries.sort_by_key(|e| match e.state {
            State::Supported => 0,
            State::Ended => 1,
            _ => 2,
        });
    }
    Board {
        now: e.now,
        span_ms: e.span_ms,
        ranking,
        entries,
    }
}

/// Gathers the evidence of the last `span_ms` and scores it, what is failing now first.
pub fn triage(store: &crate::store::Store, span_ms: EpochMs, lifetimes: &[EpochMs]) -> Board {
    triage_ranked(store, span_ms, lifetimes, Ranking::Now)
}

/// [`triage`] in a given order. When an incident in the window ended, the hypotheses still
/// failing are scored a second time on the evidence since it ended (see [`rank_phases`]).
pub fn triage_ranked(
    store: &crate::store::Store,
    span_ms: EpochMs,
    lifetimes: &[EpochMs],
    ranking: Ranking,
) -> Board {
    let full = crate::analysis::evidence::gather(store, span_ms, lifetimes);
    let board = rank(&full, ranking);
    let Some(since) = current_phase_ms(&board, full.bucket_ms) else {
        return board;
    };
    let current = crate::analysis::evidence::gather(store, since, lifetimes);
    rank_phases(&full, Some(&current), ranking)
}

/// How far back the current phase of the window reaches: from the end of the latest ended
/// incident to now, or `None` when nothing ended (or it ended in the last bucket).
fn current_phase_ms(board: &Board, bucket_ms: EpochMs) -> Option<EpochMs> {
    let end = board.entries.iter().filter_map(|e| e.ended_at).max()?;
    let since = board.now - (end + bucket_ms);
    (since >= bucket_ms).then_some(since)
}

/// Scores the whole window (`full`) and, for each hypothesis still failing, also the part of
/// it after the latest ended incident (`current`), keeping whichever scores higher: evidence
/// of an incident that is over (preflights denied an hour ago) must not count against what is
/// failing now (token expiry since then). Times seen stay those of the whole window.
pub fn rank_phases(full: &Evidence, current: Option<&Evidence>, ranking: Ranking) -> Board {
    let entries = RULES
        .iter()
        .map(|r| {
            let t = (r.assess)(full);
            let points = t.points.clamp(0, 100);
            let whole = entry(r, full, t, points);
            let Some(cur) = current.filter(|_| whole.ended_at.is_none()) else {
                return whole;
            };
            let t = (r.assess)(cur);
            let points = t.points.clamp(0, 100);
            let mut now = entry(r, cur, t, points);
            if now.score <= whole.score || now.ended_at.is_some() {
                return whole;
            }
            now.first_seen = match (whole.first_seen, now.first_seen) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            now.last_seen = whole.last_seen.max(now.last_seen);
            now.began_before_window = whole.began_before_window;
            now
        })
        .collect();
    board(full, entries, ranking)
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

fn refused_origins(probes: &[&ProbeFact]) -> String {
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
    let n = e.probes.count_hypothesis(Hypothesis::H1);
    if n > 0 {
        // Impact: one origin refused on one route is a finding; every origin refused on every
        // route is the outage.
        let sh = share(n, e.probes.total as u64);
        t.support(
            30 + (30.0 * sh).round() as i32,
            format!(
                "{n} of {} probe(s) refused by the CORS check ({H1_CODES_HINT}); origins: {}",
                e.probes.total,
                refused_origins(&probes)
            ),
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
        let sh = share(missing, e.all.options_ok_acao.logged());
        t.support(
            10 + (20.0 * sh).round() as i32,
            format!(
                "{missing} OPTIONS answered 2xx but logged without Access-Control-Allow-Origin ({} of the logged ones): {}",
                pct(sh),
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
                if r.denied_origins.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", denied for {}",
                        r.denied_origins
                            .iter()
                            .map(|o| format!("{} ({})", o.key, o.count))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
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

/// Share of the buckets with 401/403 on real requests that must also hold an `expired`
/// signature for the two to count as one event.
const H3_TOGETHER_MIN: f64 = 0.5;
/// Length a window needs before the absence of bursts says "steady failures": a refresh
/// outage lasts minutes, so a shorter window can sit entirely inside one burst.
const H3_SHAPE_MIN_SPAN: EpochMs = 10 * MINUTE;

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
    // A period is only claimed from three or more bursts with agreeing intervals, at a
    // confidence of 80 % or more; each client's own recurrence at a token lifetime is the same
    // signal for a fleet whose tokens expire at scattered times (Entra ID: 60–90 min).
    let clients = x.clients_text.as_ref();
    let fleet = x.period.as_ref().map(|p| {
        (
            p.matches_lifetime.is_some(),
            format!("{}; next due at {}", p.describe(), at(p.next_due)),
        )
    });
    match (fleet, clients) {
        (Some((true, text)), c) => {
            t.support(35, text);
            if let Some(c) = c {
                t.note(c.clone());
            }
        }
        (f, Some(c)) => {
            t.support(30, c.clone());
            if let Some((_, text)) = f {
                t.note(text);
            }
        }
        (Some((false, text)), None) => t.support(15, text),
        (None, None) => {}
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
    // The token ran out at the moment the API refused it: strong on its own, before a second
    // burst can show a period.
    let together = share(e.actual_auth_with_expired, e.actual_auth_buckets);
    if e.actual_auth_with_expired > 0 && together >= H3_TOGETHER_MIN {
        t.support(
            30,
            format!(
                "401/403 on real requests and 'expired' signatures in the same buckets ({} of {})",
                e.actual_auth_with_expired, e.actual_auth_buckets
            ),
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
    let span = x.points as EpochMs * x.point_ms;
    if x.failures >= 10 && x.bursts.is_empty() && clients.is_none() && span >= H3_SHAPE_MIN_SPAN {
        t.weaken(
            15,
            format!(
                "{} 401/403 on real requests but no bursts: steady, not expiry-shaped",
                x.failures
            ),
        );
    }
    if x.bursts.len() >= 3 && x.period.is_none() && clients.is_none() {
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
        let derived = if e.all.error_missing_derived > 0 {
            format!(
                " ({} of them with the origin taken from the Referer)",
                e.all.error_missing_derived
            )
        } else {
            String::new()
        };
        t.support(
            45,
            format!(
                "{} cross-origin error responses logged without Access-Control-Allow-Origin{derived} while {} cross-origin successes carry it: {}",
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
    use crate::model::time::HOUR;

    #[test]
    fn rule_table_covers_every_hypothesis_in_order() {
        let ids: Vec<Hypothesis> = RULES.iter().map(|r| r.hypothesis).collect();
        assert_eq!(ids, Hypothesis::ALL.to_vec());
    }

    fn seen(first: EpochMs, last: EpochMs, events: u64) -> Seen {
        Seen {
            first: Some(first),
            last: Some(last),
            events,
        }
    }

    #[test]
    fn expected_gap_follows_the_failures_and_the_traffic() {
        const B: EpochMs = 10 * crate::model::time::SECOND;
        const S: EpochMs = crate::model::time::SECOND;
        let none = Seen::default();
        for (what, failures, traffic, period, want) in [
            (
                "300/min failing for 15 min: one bucket",
                seen(0, 890 * S, 4500),
                seen(0, 890 * S, 4500),
                None,
                Some(B),
            ),
            (
                "5/min failing for 30 min: 12 s",
                seen(0, 1790 * S, 150),
                seen(0, 1790 * S, 150),
                None,
                Some(12 * S),
            ),
            (
                "1 failure in 50 requests at 5/min: 10 min",
                seen(0, 3000 * S, 6),
                seen(0, 3590 * S, 300),
                None,
                Some((3000 * S + B) / 6),
            ),
            (
                "one failure: the traffic's gap",
                seen(600 * S, 600 * S, 1),
                seen(0, 1790 * S, 150),
                None,
                Some(12 * S),
            ),
            (
                "failures faster than the traffic on average: the traffic's gap",
                seen(0, 50 * S, 60),
                seen(0, 3590 * S, 120),
                None,
                Some(30 * S),
            ),
            (
                "recurring bursts: the period",
                seen(0, 3 * HOUR, 400),
                seen(0, 4 * HOUR, 40_000),
                Some(HOUR),
                Some(HOUR),
            ),
            ("no failure: no gap", none, seen(0, 100 * S, 10), None, None),
        ] {
            assert_eq!(expected_gap(failures, traffic, B, period), want, "{what}");
        }
    }

    #[test]
    fn ongoing_or_ended() {
        use Standing::*;
        const S: EpochMs = crate::model::time::SECOND;
        for (what, silence, gap, logged_after, want) in [
            ("failing in the last bucket", 0, 10 * S, true, Ongoing),
            ("high traffic, quiet 90 s", 90 * S, 10 * S, true, Ongoing),
            (
                "high traffic, quiet 2 min 1 s",
                121 * S,
                10 * S,
                true,
                Ended,
            ),
            (
                "high traffic, quiet 10 min",
                10 * MINUTE,
                10 * S,
                true,
                Ended,
            ),
            ("5/min, quiet 50 s", 50 * S, 12 * S, true, Ongoing),
            ("5/min, quiet 10 min", 10 * MINUTE, 12 * S, true, Ended),
            (
                "sparse failures, quiet 30 min",
                30 * MINUTE,
                10 * MINUTE,
                true,
                Ongoing,
            ),
            (
                "sparse failures, quiet 51 min",
                51 * MINUTE,
                10 * MINUTE,
                true,
                Ended,
            ),
            ("between hourly bursts", 40 * MINUTE, HOUR, true, Ongoing),
            (
                "the source went quiet altogether",
                HOUR,
                10 * S,
                false,
                Ongoing,
            ),
        ] {
            assert_eq!(standing(silence, gap, logged_after), want, "{what}");
        }
    }
}
