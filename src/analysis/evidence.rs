//! The facts the triage board reasons over, gathered from the store in one pass per source of
//! evidence: log counters over a window, the auth log's failure classes, the expiry analysis,
//! preflight follow-up, and the latest probe verdicts.
//!
//! Gathering is separate from scoring so that the rules in [`crate::analysis::triage`] are
//! plain functions of this struct and can be tested on hand-built evidence as well as on a
//! store. Every list here is capped.
//!
//! One file, past the usual 700 lines: the struct and the one pass over the store that fills it
//! must change together, field by field.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::analysis::bursts::BurstParams;
use crate::analysis::expiry::{ExpiryReport, analyse_expiry};
use crate::analysis::followup::{FollowupRow, preflight_followup};
use crate::cors::Stage;
use crate::model::time::EpochMs;
use crate::sources::event::{AcaoSeen, AuthClass, Hypothesis, Method, ProbeResult};
use crate::store::route;
use crate::store::{HttpKey, NO_ORIGIN, Store};

/// Routes kept in the evidence (by volume of OPTIONS and failures).
pub const MAX_ROUTES: usize = 32;
/// Origins kept in the evidence.
pub const MAX_ORIGINS: usize = 16;
/// Probe facts kept (failing first).
pub const MAX_PROBES: usize = 24;
/// Auth samples kept (newest).
pub const MAX_AUTH_SAMPLES: usize = 8;
/// Distinct instance fingerprints kept.
pub const MAX_INSTANCES: usize = 8;
/// Origins named per route as having their preflights denied.
pub const MAX_DENIED_ORIGINS: usize = 4;
/// Distinct keys in the small count tables (codes, warnings, statuses).
const MAX_COUNTED: usize = 16;

/// Suffixes of platform default host names (the "default domain" of H5).
pub const DEFAULT_DOMAIN_SUFFIXES: [&str; 2] = [".azurewebsites.net", ".azurestaticapps.net"];

/// Responses by status for one method group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    pub total: u64,
    pub s2xx: u64,
    pub s3xx: u64,
    pub s401: u64,
    pub s403: u64,
    pub s404: u64,
    pub s405: u64,
    /// 4xx other than 401, 403, 404, 405.
    pub s4xx_other: u64,
    pub s5xx: u64,
}

impl StatusCounts {
    fn add(&mut self, status: u16, c: u64) {
        self.total += c;
        match status {
            200..=299 => self.s2xx += c,
            300..=399 => self.s3xx += c,
            401 => self.s401 += c,
            403 => self.s403 += c,
            404 => self.s404 += c,
            405 => self.s405 += c,
            400..=499 => self.s4xx_other += c,
            500..=599 => self.s5xx += c,
            _ => {}
        }
    }

    fn merge(&mut self, o: &StatusCounts) {
        self.total += o.total;
        self.s2xx += o.s2xx;
        self.s3xx += o.s3xx;
        self.s401 += o.s401;
        self.s403 += o.s403;
        self.s404 += o.s404;
        self.s405 += o.s405;
        self.s4xx_other += o.s4xx_other;
        self.s5xx += o.s5xx;
    }

    /// Responses that are not 2xx (for OPTIONS: every one of them fails the preflight).
    pub fn non_2xx(&self) -> u64 {
        self.total - self.s2xx
    }

    pub fn auth(&self) -> u64 {
        self.s401 + self.s403
    }

    pub fn errors(&self) -> u64 {
        self.s401 + self.s403 + self.s404 + self.s405 + self.s4xx_other + self.s5xx
    }
}

/// What the log says about `Access-Control-Allow-Origin` on a group of responses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AcaoCounts {
    pub not_logged: u64,
    pub missing: u64,
    pub single: u64,
    pub multiple: u64,
}

impl AcaoCounts {
    fn add(&mut self, a: AcaoSeen, c: u64) {
        match a {
            AcaoSeen::NotLogged => self.not_logged += c,
            AcaoSeen::Missing => self.missing += c,
            AcaoSeen::Single => self.single += c,
            AcaoSeen::Multiple => self.multiple += c,
        }
    }

    fn merge(&mut self, o: &AcaoCounts) {
        self.not_logged += o.not_logged;
        self.missing += o.missing;
        self.single += o.single;
        self.multiple += o.multiple;
    }

    /// Responses whose log line carried the header column at all.
    pub fn logged(&self) -> u64 {
        self.missing + self.single + self.multiple
    }
}

/// Log facts for one route template (or all routes together).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RouteEvidence {
    pub route: String,
    pub options: StatusCounts,
    /// Non-OPTIONS requests.
    pub actual: StatusCounts,
    /// ACAO as logged on OPTIONS 2xx.
    pub options_ok_acao: AcaoCounts,
    /// ACAO as logged on cross-origin non-OPTIONS 2xx (requests with an origin, sent or taken
    /// from the Referer: a server-to-server call carries none and gets no CORS headers).
    pub actual_ok_acao: AcaoCounts,
    /// ACAO as logged on cross-origin non-OPTIONS 4xx/5xx.
    pub actual_error_acao: AcaoCounts,
    /// Of `actual_error_acao.missing`, the responses whose origin was taken from the Referer.
    pub error_missing_derived: u64,
    pub first_options_failure: Option<EpochMs>,
    pub last_options_failure: Option<EpochMs>,
    pub first_actual_auth_failure: Option<EpochMs>,
    /// Origins whose OPTIONS on this route were answered 401/403, most denied first, with
    /// how many (at most [`MAX_DENIED_ORIGINS`]; a Referer-derived origin is marked).
    pub denied_origins: Vec<Counted>,
}

/// Log facts for one calling origin.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct OriginEvidence {
    pub origin: String,
    pub requests: u64,
    pub options_failed: u64,
    pub actual_failed: u64,
    /// Taken from the Referer because the log has no Origin field.
    pub derived: bool,
    /// The origin is a platform default domain (`*.azurewebsites.net`...).
    pub default_domain: bool,
}

/// A key with a count, for small tables (codes, warnings, hypotheses).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Counted {
    pub key: String,
    pub count: u64,
}

/// One probe result, reduced to what the rules and the summary use.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProbeFact {
    pub time: EpochMs,
    pub url: String,
    pub host: String,
    /// Route template of the URL path, comparable with log routes.
    pub route: String,
    pub origin: String,
    pub shape: String,
    pub critical: bool,
    pub allowed: bool,
    pub stage: Stage,
    pub code: &'static str,
    pub hypothesis: Option<Hypothesis>,
    pub hidden_status: Option<u16>,
    pub www_authenticate: Option<String>,
    pub chrome_message: Option<String>,
    pub warnings: Vec<&'static str>,
    pub instance: Option<String>,
    /// `Access-Control-Allow-Origin` header lines on the preflight response (0 when none).
    pub preflight_acao_lines: usize,
    pub transport: Option<String>,
}

impl ProbeFact {
    fn from_result(p: &ProbeResult) -> ProbeFact {
        let (host, path) = split_url(&p.url);
        ProbeFact {
            time: p.time,
            url: p.url.clone(),
            host: host.to_string(),
            route: route::template(path).into_owned(),
            origin: p.origin.clone(),
            shape: p.shape.name.clone(),
            critical: p.critical,
            allowed: p.verdict.allowed,
            stage: p.verdict.stage,
            code: p.verdict.code,
            hypothesis: p.verdict.hypothesis,
            hidden_status: p.verdict.hidden_status,
            // The verdict carries the challenge when its judge extracts it; the raw response
            // always has it.
            www_authenticate: p.verdict.www_authenticate.clone().or_else(|| {
                let resp = match p.verdict.stage {
                    Stage::Actual => p.actual.as_ref(),
                    _ => p.preflight.as_ref(),
                }?;
                resp.first("www-authenticate")
                    .map(|v| crate::model::redact::header_value("www-authenticate", v).into_owned())
            }),
            chrome_message: p.verdict.chrome_message.clone(),
            warnings: p.verdict.warnings.iter().map(|w| w.code).collect(),
            instance: p.instance.clone(),
            preflight_acao_lines: p
                .preflight
                .as_ref()
                .map_or(0, |r| r.all("access-control-allow-origin").count()),
            transport: p
                .transport
                .as_ref()
                .map(|t| format!("{}: {}", t.kind.as_str(), t.message)),
        }
    }

    /// The browser stopped at the preflight (its answer was refused or absent).
    pub fn failed_preflight(&self) -> bool {
        !self.allowed && self.stage == Stage::Preflight
    }

    pub fn has_warning(&self, code: &str) -> bool {
        self.warnings.contains(&code)
    }

    /// The hypothesis a failing probe points to: the verdict's own when it names one, else
    /// inferred from the stage, code and hidden status. `None` for passing probes.
    pub fn implicated(&self) -> Option<Hypothesis> {
        if self.allowed {
            return None;
        }
        if let Some(h) = self.hypothesis {
            return Some(h);
        }
        if self.stage == Stage::Transport {
            return None;
        }
        let preflight = self.stage == Stage::Preflight;
        Some(match (self.code, self.hidden_status) {
            ("acao-multiple", _) => Hypothesis::H4,
            ("preflight-redirect", _) => Hypothesis::PreflightRedirect,
            (_, Some(300..=399)) if preflight => Hypothesis::PreflightRedirect,
            (_, Some(401 | 403)) if preflight => Hypothesis::H2,
            (_, Some(404 | 405)) if preflight => Hypothesis::OptionsNotRouted,
            ("acao-missing" | "actual-acao-missing", Some(400..=599)) if !preflight => {
                Hypothesis::ErrorWithoutCors
            }
            _ => Hypothesis::H1,
        })
    }
}

/// What the probes say.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProbeEvidence {
    /// Latest results considered (one per endpoint × origin × shape).
    pub total: usize,
    pub allowed: usize,
    pub failing: usize,
    pub by_hypothesis: Vec<Counted>,
    pub by_code: Vec<Counted>,
    pub warnings: Vec<Counted>,
    pub hidden_statuses: Vec<Counted>,
    /// Distinct instance fingerprints seen in the kept history.
    pub instances: Vec<String>,
    /// Failing first, then passing; capped at [`MAX_PROBES`].
    pub facts: Vec<ProbeFact>,
    /// Endpoint × origin × shape whose recent verdicts differ from one run to the next.
    pub flapping: Vec<String>,
    /// Probe URL hosts (distinct, capped).
    pub hosts: Vec<String>,
}

impl ProbeEvidence {
    pub fn count_hypothesis(&self, h: Hypothesis) -> u64 {
        self.by_hypothesis
            .iter()
            .find(|c| c.key == h.id())
            .map_or(0, |c| c.count)
    }

    pub fn count_warning(&self, code: &str) -> u64 {
        self.warnings
            .iter()
            .find(|c| c.key == code)
            .map_or(0, |c| c.count)
    }
}

/// A recent auth-log failure, already redacted by the store.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuthFact {
    pub time: EpochMs,
    pub class: AuthClass,
    pub message: String,
}

/// When one kind of failure occurred in the window: the first and the last bucket holding
/// one (bucket start times) and how many there were.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Seen {
    pub first: Option<EpochMs>,
    pub last: Option<EpochMs>,
    pub events: u64,
}

impl Seen {
    pub fn add(&mut self, at: EpochMs, count: u64) {
        if count == 0 {
            return;
        }
        self.first = Some(self.first.map_or(at, |f| f.min(at)));
        self.last = Some(self.last.map_or(at, |l| l.max(at)));
        self.events += count;
    }

    /// Both together.
    pub fn union(self, o: Seen) -> Seen {
        let pick =
            |a: Option<EpochMs>, b: Option<EpochMs>, f: fn(EpochMs, EpochMs) -> EpochMs| match (
                a, b,
            ) {
                (Some(x), Some(y)) => Some(f(x, y)),
                (x, y) => x.or(y),
            };
        Seen {
            first: pick(self.first, o.first, EpochMs::min),
            last: pick(self.last, o.last, EpochMs::max),
            events: self.events + o.events,
        }
    }
}

/// The time line of each kind of logged failure the rules read, so that every hypothesis
/// can say when its failures began and when they were last seen (domain notes §5: "first
/// seen" is the first failing event, not the start of the window).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Signals {
    /// OPTIONS answered 401/403.
    pub options_denied: Seen,
    /// OPTIONS answered 3xx.
    pub options_redirected: Seen,
    /// OPTIONS answered 404/405.
    pub options_unrouted: Seen,
    /// OPTIONS 2xx logged without `Access-Control-Allow-Origin`.
    pub options_ok_without_acao: Seen,
    /// Responses logged with several `Access-Control-Allow-Origin` values.
    pub acao_multiple: Seen,
    /// 401/403 on real (non-OPTIONS) requests.
    pub actual_auth: Seen,
    /// Cross-origin error responses logged without `Access-Control-Allow-Origin`.
    pub error_without_acao: Seen,
    /// Auth-log failures by class, in [`AuthClass::ALL`] order.
    pub auth: [Seen; AuthClass::COUNT],
    /// Every logged event (requests and auth-log lines): the traffic the sources carry.
    pub traffic: Seen,
}

/// Everything the triage rules read.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evidence {
    pub now: EpochMs,
    pub span_ms: EpochMs,
    /// The store's bucket width: the resolution of every time in here.
    pub bucket_ms: EpochMs,
    /// Start of the window's first bucket: a failure first seen there may have begun earlier.
    pub window_start: EpochMs,
    /// All routes together.
    pub all: RouteEvidence,
    /// Per route, largest first (capped).
    pub routes: Vec<RouteEvidence>,
    pub origins: Vec<OriginEvidence>,
    pub followup: Vec<FollowupRow>,
    /// Auth failures in the window by class, in [`AuthClass::ALL`] order.
    pub auth: [u64; AuthClass::COUNT],
    /// Auth events that were not failures.
    pub auth_ok: u64,
    /// Buckets with OPTIONS 401/403, and of those, buckets that also hold an auth-log
    /// missing/malformed-token failure (the auth layer challenging the preflight).
    pub options_auth_buckets: u64,
    pub options_auth_with_challenge: u64,
    /// Buckets with 401/403 on real (non-OPTIONS) requests, and of those, buckets that also
    /// hold an auth-log `expired` failure: the token ran out at the moment the API refused it.
    pub actual_auth_buckets: u64,
    pub actual_auth_with_expired: u64,
    pub expiry: ExpiryReport,
    pub probes: ProbeEvidence,
    pub auth_samples: Vec<AuthFact>,
    pub signals: Signals,
}

impl Evidence {
    pub fn auth_count(&self, c: AuthClass) -> u64 {
        self.auth[c as usize]
    }

    pub fn auth_failures(&self) -> u64 {
        self.auth.iter().sum()
    }

    /// Routes whose OPTIONS failed, worst first (by failing count).
    pub fn routes_by<'a>(
        &'a self,
        f: impl Fn(&RouteEvidence) -> u64 + 'a,
    ) -> impl Iterator<Item = (&'a RouteEvidence, u64)> + 'a {
        let mut v: Vec<(&RouteEvidence, u64)> = self
            .routes
            .iter()
            .map(|r| (r, f(r)))
            .filter(|(_, n)| *n > 0)
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.route.cmp(&b.0.route)));
        v.into_iter()
    }

    pub fn route(&self, name: &str) -> Option<&RouteEvidence> {
        self.routes.iter().find(|r| r.route == name)
    }
}

/// Splits `scheme://host[:port]/path?q` into host (with port) and path (with query).
pub fn split_url(url: &str) -> (&str, &str) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.find(['/', '?', '#']) {
        Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], &rest[i..]),
        Some(i) => (&rest[..i], "/"),
        None => (rest, "/"),
    }
}

/// Host name of an origin or URL, without scheme and port, lowercased.
pub fn host_name(url_or_origin: &str) -> String {
    let (host, _) = split_url(url_or_origin);
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let bare = if host.starts_with('[') {
        host.split_once(']').map_or(host, |(h, _)| h)
    } else {
        host.split_once(':').map_or(host, |(h, _)| h)
    };
    bare.trim_start_matches('[').to_ascii_lowercase()
}

/// True for platform default host names (`*.azurewebsites.net`, `*.azurestaticapps.net`).
pub fn is_default_domain(url_or_origin: &str) -> bool {
    let h = host_name(url_or_origin);
    DEFAULT_DOMAIN_SUFFIXES.iter().any(|s| h.ends_with(s))
}

fn counted(map: BTreeMap<String, u64>) -> Vec<Counted> {
    let mut v: Vec<Counted> = map
        .into_iter()
        .map(|(key, count)| Counted { key, count })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    v.truncate(MAX_COUNTED);
    v
}

fn gather_probes(store: &Store, span_ms: EpochMs) -> ProbeEvidence {
    let latest = store.probe_latest();
    let mut by_h = BTreeMap::new();
    let mut by_code = BTreeMap::new();
    let mut warnings = BTreeMap::new();
    let mut hidden = BTreeMap::new();
    let mut facts: Vec<ProbeFact> = latest.iter().map(ProbeFact::from_result).collect();
    for f in &facts {
        *by_code.entry(f.code.to_string()).or_insert(0) += 1;
        if let Some(h) = f.implicated() {
            *by_h.entry(h.id().to_string()).or_insert(0) += 1;
        }
        for w in &f.warnings {
            *warnings.entry(w.to_string()).or_insert(0) += 1;
        }
        if let Some(s) = f.hidden_status {
            *hidden.entry(s.to_string()).or_insert(0) += 1;
        }
    }
    let allowed = facts.iter().filter(|f| f.allowed).count();

    // Verdicts that go back and forth for the same endpoint × origin × shape: the intermittent
    // failure that instances behind a load balancer produce. A single change (A then B) is a
    // deployment or configuration change, not a disagreement, so only a return to an earlier
    // verdict (A, B, A) counts. Only the kept history inside the window is examined.
    type Seen<'a> = (&'static str, Option<&'a str>);
    let mut last: BTreeMap<(&str, &str, &str), (Option<&'static str>, Seen<'_>)> = BTreeMap::new();
    let mut flapping: Vec<String> = Vec::new();
    let mut instances: Vec<String> = Vec::new();
    let since = store.now() - span_ms;
    for p in store.probe_history().filter(|p| p.time > since) {
        if let Some(i) = &p.instance
            && instances.len() < MAX_INSTANCES
            && !instances.contains(i)
        {
            instances.push(i.clone());
        }
        let key = (p.url.as_str(), p.origin.as_str(), p.shape.name.as_str());
        let now: Seen<'_> = (p.verdict.code, p.instance.as_deref());
        let before = last.get(&key).copied();
        match before {
            Some((_, prev)) if prev.0 == now.0 => {
                // Same verdict again: keep the older different one, if any.
                if let Some(e) = last.get_mut(&key) {
                    e.1 = now;
                }
            }
            Some((earlier, prev)) => {
                if earlier == Some(now.0) && flapping.len() < MAX_COUNTED {
                    let line = format!(
                        "{} from {} ({}): {} on {} then {} on {}",
                        p.url,
                        p.origin,
                        p.shape.name,
                        prev.0,
                        prev.1.unwrap_or("?"),
                        now.0,
                        now.1.unwrap_or("?")
                    );
                    if !flapping.contains(&line) {
                        flapping.push(line);
                    }
                }
                last.insert(key, (Some(prev.0), now));
            }
            None => {
                last.insert(key, (None, now));
            }
        }
    }
    let mut hosts: Vec<String> = Vec::new();
    for f in &facts {
        if hosts.len() < MAX_COUNTED && !hosts.contains(&f.host) {
            hosts.push(f.host.clone());
        }
    }
    // Failing first, then critical, then by URL for a stable order.
    facts.sort_by(|a, b| {
        a.allowed
            .cmp(&b.allowed)
            .then_with(|| b.critical.cmp(&a.critical))
            .then_with(|| a.url.cmp(&b.url))
            .then_with(|| a.origin.cmp(&b.origin))
            .then_with(|| a.shape.cmp(&b.shape))
    });
    facts.truncate(MAX_PROBES);
    ProbeEvidence {
        total: latest.len(),
        allowed,
        failing: latest.len() - allowed,
        by_hypothesis: counted(by_h),
        by_code: counted(by_code),
        warnings: counted(warnings),
        hidden_statuses: counted(hidden),
        instances,
        facts,
        flapping,
        hosts,
    }
}

#[derive(Default)]
struct OriginAcc {
    requests: u64,
    options_failed: u64,
    actual_failed: u64,
    derived: bool,
}

fn note_route(r: &mut RouteEvidence, start: EpochMs, k: &HttpKey, c: u64) {
    if k.method == Method::Options {
        r.options.add(k.status, c);
        if (200..300).contains(&k.status) {
            r.options_ok_acao.add(k.acao, c);
        } else {
            r.first_options_failure = Some(r.first_options_failure.map_or(start, |t| t.min(start)));
            r.last_options_failure = Some(r.last_options_failure.map_or(start, |t| t.max(start)));
        }
    } else {
        r.actual.add(k.status, c);
        let cross_origin = k.origin != NO_ORIGIN;
        if cross_origin && (200..300).contains(&k.status) {
            r.actual_ok_acao.add(k.acao, c);
        } else if cross_origin && k.status >= 400 {
            r.actual_error_acao.add(k.acao, c);
            if k.origin_derived && k.acao == AcaoSeen::Missing {
                r.error_missing_derived += c;
            }
        }
        if k.status == 401 || k.status == 403 {
            r.first_actual_auth_failure =
                Some(r.first_actual_auth_failure.map_or(start, |t| t.min(start)));
        }
    }
}

fn note_signals(s: &mut Signals, start: EpochMs, k: &HttpKey, c: u64) {
    s.traffic.add(start, c);
    // The same responses the ACAO counters of `RouteEvidence` hold.
    let counted = k.method == Method::Options || k.origin != NO_ORIGIN;
    if counted && k.acao == AcaoSeen::Multiple && (200..300).contains(&k.status) {
        s.acao_multiple.add(start, c);
    }
    if k.method == Method::Options {
        match k.status {
            200..=299 if k.acao == AcaoSeen::Missing => s.options_ok_without_acao.add(start, c),
            300..=399 => s.options_redirected.add(start, c),
            401 | 403 => s.options_denied.add(start, c),
            404 | 405 => s.options_unrouted.add(start, c),
            _ => {}
        }
    } else {
        if k.status == 401 || k.status == 403 {
            s.actual_auth.add(start, c);
        }
        if k.status >= 400 && k.origin != NO_ORIGIN && k.acao == AcaoSeen::Missing {
            s.error_without_acao.add(start, c);
        }
    }
}

fn merge_route(into: &mut RouteEvidence, r: &RouteEvidence) {
    into.options.merge(&r.options);
    into.actual.merge(&r.actual);
    into.options_ok_acao.merge(&r.options_ok_acao);
    into.actual_ok_acao.merge(&r.actual_ok_acao);
    into.actual_error_acao.merge(&r.actual_error_acao);
    into.error_missing_derived += r.error_missing_derived;
    let min = |a: Option<EpochMs>, b: Option<EpochMs>| match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    let max = |a: Option<EpochMs>, b: Option<EpochMs>| match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    };
    into.first_options_failure = min(into.first_options_failure, r.first_options_failure);
    into.last_options_failure = max(into.last_options_failure, r.last_options_failure);
    into.first_actual_auth_failure =
        min(into.first_actual_auth_failure, r.first_actual_auth_failure);
}

/// Collects the evidence of the last `span_ms`. `lifetimes` are the token lifetimes the
/// expiry analysis compares burst periods with.
///
/// Cost is a few passes over the window's counters (bounded by the store's key caps); the
/// dashboard calls it at most once per refresh, not per frame.
pub fn gather(store: &Store, span_ms: EpochMs, lifetimes: &[EpochMs]) -> Evidence {
    gather_with(store, span_ms, lifetimes, &BurstParams::default())
}

/// [`gather`] with explicit burst-detection sensitivity.
pub fn gather_with(
    store: &Store,
    span_ms: EpochMs,
    lifetimes: &[EpochMs],
    params: &BurstParams,
) -> Evidence {
    let mut routes: BTreeMap<u16, RouteEvidence> = BTreeMap::new();
    // Bounded by the store's route and origin caps (interned ids).
    let mut denied_origins: BTreeMap<(u16, u16), (u64, bool)> = BTreeMap::new();
    let mut origins: BTreeMap<u16, OriginAcc> = BTreeMap::new();
    let mut auth = [0u64; AuthClass::COUNT];
    let mut auth_ok = 0u64;
    let mut options_auth_buckets = 0;
    let mut options_auth_with_challenge = 0;
    let mut actual_auth_buckets = 0;
    let mut actual_auth_with_expired = 0;

    let mut signals = Signals::default();
    let window_start = store.window(span_ms).next().map_or(store.now(), |(s, _)| s);
    for (start, b) in store.window(span_ms) {
        let Some(b) = b else { continue };
        for (i, &c) in b.auth.iter().enumerate() {
            auth[i] += c as u64;
            signals.auth[i].add(start, c as u64);
            signals.traffic.add(start, c as u64);
        }
        auth_ok += b.auth_ok as u64;
        signals.traffic.add(start, b.auth_ok as u64);
        let mut options_auth = false;
        let mut actual_auth = false;
        for (k, &c) in &b.http {
            let c = c as u64;
            let r = routes.entry(k.route).or_default();
            note_route(r, start, k, c);
            note_signals(&mut signals, start, k, c);
            let failed = if k.method == Method::Options {
                !(200..300).contains(&k.status)
            } else {
                k.status >= 400
            };
            if k.status == 401 || k.status == 403 {
                if k.method == Method::Options {
                    options_auth = true;
                    if k.origin != NO_ORIGIN {
                        let d = denied_origins.entry((k.route, k.origin)).or_default();
                        d.0 += c;
                        d.1 |= k.origin_derived;
                    }
                } else {
                    actual_auth = true;
                }
            }
            if k.origin != NO_ORIGIN {
                let o = origins.entry(k.origin).or_default();
                o.requests += c;
                o.derived |= k.origin_derived;
                if failed {
                    if k.method == Method::Options {
                        o.options_failed += c;
                    } else {
                        o.actual_failed += c;
                    }
                }
            }
        }
        if options_auth {
            options_auth_buckets += 1;
            if b.auth[AuthClass::MalformedOrMissing as usize] > 0 {
                options_auth_with_challenge += 1;
            }
        }
        if actual_auth {
            actual_auth_buckets += 1;
            if b.auth[AuthClass::Expired as usize] > 0 {
                actual_auth_with_expired += 1;
            }
        }
    }

    let mut all = RouteEvidence {
        route: "(all)".into(),
        ..Default::default()
    };
    let mut route_list: Vec<RouteEvidence> = routes
        .into_iter()
        .map(|(id, mut r)| {
            r.route = store.route_name(id).to_string();
            let mut denied: Vec<Counted> = denied_origins
                .range((id, 0)..=(id, u16::MAX))
                .map(|(&(_, o), &(count, derived))| Counted {
                    key: if derived {
                        format!("{} (from Referer)", store.origin_name(o))
                    } else {
                        store.origin_name(o).to_string()
                    },
                    count,
                })
                .collect();
            denied.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
            denied.truncate(MAX_DENIED_ORIGINS);
            r.denied_origins = denied;
            merge_route(&mut all, &r);
            r
        })
        .collect();
    route_list.sort_by(|a, b| {
        let va = a.options.total + a.actual.errors();
        let vb = b.options.total + b.actual.errors();
        vb.cmp(&va).then_with(|| a.route.cmp(&b.route))
    });
    route_list.truncate(MAX_ROUTES);

    let mut origin_list: Vec<OriginEvidence> = origins
        .into_iter()
        .map(|(id, o)| {
            let name = store.origin_name(id).to_string();
            OriginEvidence {
                default_domain: is_default_domain(&name),
                origin: name,
                requests: o.requests,
                options_failed: o.options_failed,
                actual_failed: o.actual_failed,
                derived: o.derived,
            }
        })
        .collect();
    origin_list.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.origin.cmp(&b.origin))
    });
    origin_list.truncate(MAX_ORIGINS);

    let mut auth_samples: Vec<AuthFact> = store
        .auth_samples()
        .rev()
        .filter(|s| s.time > store.now() - span_ms)
        .take(MAX_AUTH_SAMPLES)
        .map(|s| AuthFact {
            time: s.time,
            class: s.class,
            message: s.message.clone(),
        })
        .collect();
    auth_samples.reverse();

    Evidence {
        now: store.now(),
        span_ms,
        bucket_ms: store.bucket_ms(),
        window_start,
        all,
        routes: route_list,
        origins: origin_list,
        followup: preflight_followup(store, span_ms),
        auth,
        auth_ok,
        options_auth_buckets,
        options_auth_with_challenge,
        actual_auth_buckets,
        actual_auth_with_expired,
        expiry: analyse_expiry(store, span_ms, lifetimes, params),
        probes: gather_probes(store, span_ms),
        auth_samples,
        signals,
    }
}

#[cfg(test)]
#[path = "evidence_tests.rs"]
mod tests;
