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
use crate::model::time::{EpochMs, MINUTE, format_clock};
use crate::sources::event::{AuthClass, Hypothesis};

mod hypotheses;
mod signals;
mod words;

use hypotheses::*;
use signals::*;
use words::*;

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

#[cfg(test)]
mod tests;
