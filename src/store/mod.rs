//! The one state store: time-bucketed counters, probe history and raw-line rings, all bounded
//! by construction.
//!
//! Memory bound (defaults): 2,160 buckets (6 h of 10 s) × a hash table of at most 512 keys
//! (1,024 slots of about 17 bytes) ≈ 38 MB in the worst adversarial case; 8,192 total keys;
//! 256 route and 64 origin names of at most 200 bytes, with 80 KB of lookup caches in front;
//! 512 probe results; 200 raw lines per source of at most 2 KB each, plus the route, origin and
//! `Access-Control-Allow-Origin` their record carried (200 B each); 401/403 episodes of at most
//! 4,096 clients (about 1.3 MB, `store_clients`); probe runs and durations since start for 32
//! endpoint × origin × shape keys (under 40 KB, [`totals`]).
//! Nothing in here grows with the number of lines read.
//!
//! One file, past the usual 700 lines: the bucket layout and every method that reads or writes
//! it stay beside the private state that the memory bound is computed from (merging and the
//! caches are in their own files).

pub mod clients;
pub mod fleet;
pub mod history;
pub mod logline;
pub mod reader;
pub mod route;
pub mod totals;

mod cache;

use std::collections::VecDeque;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::model::redact;
use crate::model::time::{EpochMs, MINUTE, SECOND, now_ms};
use crate::sources::event::{
    AcaoSeen, AuthClass, AuthRecord, Event, HttpRecord, Method, ProbeResult, RecordRef, Sink,
    SourceBatch, SourceId,
};
use cache::IdCache;
pub use logline::LineFields;

/// Route cache: 1,024 slots of 64 bytes.
const ROUTE_CACHE_BITS: u32 = 10;
/// Origin cache: 256 slots of 64 bytes (the origin interner holds 64 names by default).
const ORIGIN_CACHE_BITS: u32 = 8;

/// Id of the `(other)` bucket in an interner.
pub const OTHER: u16 = u16::MAX;
/// Origin id for requests whose log carries no origin at all.
pub const NO_ORIGIN: u16 = u16::MAX - 1;

pub use crate::sources::lines::MAX_RAW_LINE;

#[derive(Clone, Debug, PartialEq)]
pub struct StoreConfig {
    pub bucket_ms: EpochMs,
    pub retention_ms: EpochMs,
    pub max_routes: usize,
    pub max_origins: usize,
    pub max_keys_per_bucket: usize,
    pub max_total_keys: usize,
    pub probe_history: usize,
    pub raw_lines_per_source: usize,
    pub max_sources: usize,
    /// How far ahead of "now" an event may be stamped before it counts as bad time.
    pub future_tolerance_ms: EpochMs,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            bucket_ms: 10 * SECOND,
            retention_ms: 6 * 60 * MINUTE,
            max_routes: 256,
            max_origins: 64,
            max_keys_per_bucket: 512,
            max_total_keys: 8192,
            probe_history: 512,
            raw_lines_per_source: 200,
            max_sources: 64,
            future_tolerance_ms: 5 * MINUTE,
        }
    }
}

/// Most buckets a store keeps: 24 h at the default 10 s, 6 days at 1 min. Each bucket costs at
/// least a few hundred bytes and up to `max-keys-per-bucket` entries, so the count is what keeps
/// the memory budget whatever the retention asked for.
pub const MAX_BUCKETS: i64 = 8_640;

impl StoreConfig {
    /// Refuses a bucket and retention that would break the memory budget, saying the limit.
    pub fn check_budget(&self) -> Result<(), String> {
        let n = self.retention_ms / self.bucket_ms.max(1);
        if n > MAX_BUCKETS {
            return Err(format!(
                "{} of retention in {} buckets is {n} buckets; at most {MAX_BUCKETS} fit the \
                 memory budget (24h at 10s, 6 days at 1m): use a shorter retention or a \
                 longer bucket",
                crate::model::time::format_duration(self.retention_ms),
                crate::model::time::format_duration(self.bucket_ms),
            ));
        }
        Ok(())
    }

    pub fn bucket_count(&self) -> usize {
        ((self.retention_ms + self.bucket_ms - 1) / self.bucket_ms).max(1) as usize
    }
}

/// Where "now" comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeMode {
    /// The wall clock (tailing live logs).
    Live,
    /// The newest event time seen (replaying history, the demo's compressed clock).
    EventTime,
}

/// Names capped at a fixed count; everything past the cap is folded into `(other)`, whose size
/// is counted so the UI can show how much was folded.
#[derive(Clone, Debug, Default)]
pub struct Interner {
    names: Vec<Box<str>>,
    index: FxHashMap<Box<str>, u16>,
    cap: usize,
    /// Events that landed in `(other)`.
    pub other_events: u64,
    /// Distinct names folded into `(other)` (exact up to 4,096, then a floor).
    other_names: FxHashSet<u64>,
}

const OTHER_DISTINCT_CAP: usize = 4096;

impl Interner {
    pub fn new(cap: usize) -> Self {
        Interner {
            cap: cap.min(OTHER as usize - 2),
            ..Default::default()
        }
    }

    /// Names are kept inert (control characters escaped): they come from logs, and every
    /// output prints them.
    pub fn intern(&mut self, name: &str) -> u16 {
        let name = crate::model::text::inert(name);
        let name = name.as_ref();
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        if self.names.len() >= self.cap {
            self.other_events += 1;
            if self.other_names.len() < OTHER_DISTINCT_CAP {
                self.other_names.insert(fx_hash(name));
            }
            return OTHER;
        }
        let id = self.names.len() as u16;
        let boxed: Box<str> = name.into();
        self.names.push(boxed.clone());
        self.index.insert(boxed, id);
        id
    }

    pub fn lookup(&self, name: &str) -> Option<u16> {
        self.index.get(name).copied()
    }

    pub fn name(&self, id: u16) -> &str {
        match id {
            OTHER => "(other)",
            NO_ORIGIN => "(none)",
            _ => self.names.get(id as usize).map(|s| &**s).unwrap_or("(?)"),
        }
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Distinct names folded into `(other)`, counted up to a cap.
    pub fn other_distinct(&self) -> usize {
        self.other_names.len()
    }

    /// The folded names reached the counting cap: [`Interner::other_distinct`] is a floor.
    pub fn other_distinct_capped(&self) -> bool {
        self.other_names.len() >= OTHER_DISTINCT_CAP
    }

    /// The folded-name count as shown: `4096+` once the cap is reached, since it is not exact.
    pub fn other_distinct_label(&self) -> String {
        if self.other_distinct_capped() {
            format!("{}+", self.other_names.len())
        } else {
            self.other_names.len().to_string()
        }
    }

    pub fn ids(&self) -> impl Iterator<Item = u16> + '_ {
        (0..self.names.len() as u16).chain((self.other_events > 0).then_some(OTHER))
    }
}

/// Adds one to `key`'s counter, or to its folded key once `map` holds `cap` keys; true when
/// folded. Looks the key up once when it is already counted, which is nearly every line.
#[inline]
fn bump<N: Copy + From<u8> + std::ops::AddAssign>(
    map: &mut FxHashMap<HttpKey, N>,
    key: HttpKey,
    cap: usize,
) -> bool {
    if let Some(n) = map.get_mut(&key) {
        *n += N::from(1);
        return false;
    }
    if map.len() >= cap {
        *map.entry(fold(key)).or_insert(N::from(0)) += N::from(1);
        true
    } else {
        map.insert(key, N::from(1));
        false
    }
}

/// `interner.intern(name)`, answered by `cache` when it knows the name. `(other)` is not
/// cached: the interner counts every event it folds.
#[inline]
fn intern_cached(cache: &mut IdCache, interner: &mut Interner, name: &str) -> u16 {
    if let Some(id) = cache.get(name.as_bytes()) {
        return id;
    }
    let id = interner.intern(name);
    if id != OTHER {
        cache.put(name.as_bytes(), id);
    }
    id
}

fn fx_hash(s: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(s)
}

/// The counter key: one cell of the route × method × status × origin × source space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HttpKey {
    pub route: u16,
    pub origin: u16,
    pub status: u16,
    pub method: Method,
    pub source: SourceId,
    pub acao: AcaoSeen,
    pub origin_derived: bool,
}

// One word instead of seven field hashes: this key is hashed twice for every log line.
// (Equality still compares every field; the packing only has to spread keys well.)
impl std::hash::Hash for HttpKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(
            self.route as u64
                | (self.origin as u64) << 16
                | (self.status as u64) << 32
                | (self.method as u64) << 48
                | (self.acao as u64) << 52
                | (self.origin_derived as u64) << 54
                | (self.source as u64) << 56,
        );
    }
}

impl HttpKey {
    pub fn status_class(&self) -> u16 {
        self.status / 100
    }
}

/// One time bucket.
#[derive(Clone, Debug, Default)]
pub struct Bucket {
    /// Bucket number (`start / bucket_ms`); `i64::MIN` when unused.
    pub index: i64,
    pub http: FxHashMap<HttpKey, u32>,
    pub auth: [u32; AuthClass::COUNT],
    /// Auth events that were not failures.
    pub auth_ok: u32,
    pub latency_sum_ms: u64,
    pub latency_n: u32,
    /// Keys folded into `(other)` because the bucket was full.
    pub folded: u32,
    /// Accepted preflights of this bucket paired with what the same client sent next, per
    /// (route, origin): (followed by the actual request, never followed within the window).
    pub followups: FxHashMap<(u16, u16), (u32, u32)>,
}

impl Bucket {
    fn empty() -> Bucket {
        Bucket {
            index: i64::MIN,
            ..Default::default()
        }
    }

    fn reset(&mut self, index: i64) {
        self.index = index;
        self.http.clear();
        if self.http.capacity() > 1024 {
            self.http.shrink_to(64);
        }
        self.auth = [0; AuthClass::COUNT];
        self.auth_ok = 0;
        self.latency_sum_ms = 0;
        self.latency_n = 0;
        self.folded = 0;
        self.followups.clear();
    }

    pub fn http_total(&self) -> u64 {
        self.http.values().map(|&c| c as u64).sum()
    }
}

/// Per-source health and counters.
#[derive(Clone, Debug, Default)]
pub struct SourceStats {
    pub label: String,
    pub format: Option<&'static str>,
    pub state: String,
    pub lines: u64,
    pub bytes: u64,
    pub http_events: u64,
    pub auth_events: u64,
    pub skipped: u64,
    pub parse_errors: u64,
    /// Latest offending line, redacted and truncated, with the reason.
    pub last_error: Option<(String, String)>,
    /// Why the source is not reading correctly, in full; the status rule makes it a
    /// DEGRADED reason. `None` while it reads as it should.
    pub problem: Option<String>,
    pub last_event_time: Option<EpochMs>,
    /// Events older than the window when they arrived while tailing live (an old file piped on
    /// standard input), and the newest of them.
    pub skipped_historical: u64,
    pub skipped_historical_newest: Option<EpochMs>,
    /// Wall-clock time the last line arrived.
    pub last_line_wall: Option<EpochMs>,
    pub auth_by_class: [u64; AuthClass::COUNT],
    /// Lines per wall-clock second over the last seconds, for the rate shown in the UI.
    rate: RateMeter,
}

impl SourceStats {
    /// What is wrong with the source, in full: the problem its reader found, or, when most of
    /// its events were history skipped while tailing live, how to see them. `window_ms` is the
    /// store's retention.
    pub fn problem_text(&self, window_ms: EpochMs) -> Option<String> {
        if let Some(p) = &self.problem {
            return Some(p.clone());
        }
        let events = self.http_events + self.auth_events;
        if self.skipped_historical == 0 || self.skipped_historical * 2 < events {
            return None;
        }
        let newest = self
            .skipped_historical_newest
            .map(|t| format!(" (newest {})", crate::model::time::format_datetime(t)))
            .unwrap_or_default();
        Some(format!(
            "{} lines older than the {} window were skipped{newest}: run with --from-start to \
             replay them",
            self.skipped_historical,
            crate::model::time::format_duration(window_ms)
        ))
    }

    pub fn lines_per_sec(&self, wall_now: EpochMs) -> f64 {
        self.rate.per_second(wall_now)
    }
}

#[derive(Clone, Debug, Default)]
struct RateMeter {
    slots: [(i64, u64); 8],
}

impl RateMeter {
    fn add(&mut self, wall: EpochMs, n: u64) {
        let sec = wall.div_euclid(SECOND);
        let slot = &mut self.slots[(sec.rem_euclid(8)) as usize];
        if slot.0 != sec {
            *slot = (sec, 0);
        }
        slot.1 += n;
    }

    /// Average over the last five whole seconds.
    fn per_second(&self, wall: EpochMs) -> f64 {
        let sec = wall.div_euclid(SECOND);
        let sum: u64 = self
            .slots
            .iter()
            .filter(|(s, _)| *s < sec && *s >= sec - 5)
            .map(|(_, n)| n)
            .sum();
        sum as f64 / 5.0
    }
}

/// A raw line as kept for the live-log view.
#[derive(Clone, Debug, PartialEq)]
pub struct RawLine {
    pub seq: u64,
    pub source: SourceId,
    /// The source's number for the line, which a later batch's record may refer to.
    pub number: u64,
    pub wall: EpochMs,
    /// Redacted and truncated.
    pub text: String,
    /// What the line parsed into; `None` for lines without a record (headers, errors, lines
    /// of other kinds).
    pub fields: Option<LineFields>,
}

/// A recent auth failure kept as evidence.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthSample {
    pub time: EpochMs,
    pub class: AuthClass,
    pub operation: String,
    pub message: String,
}

const AUTH_SAMPLES: usize = 64;
/// How long after an accepted preflight its actual request may arrive and still count as
/// following it (browsers send it at once; the slack covers queueing and log skew).
pub const FOLLOW_WINDOW_MS: EpochMs = 10 * SECOND;
/// Accepted preflights waiting for their request; past this, new ones are not tracked.
const MAX_PENDING_PREFLIGHTS: usize = 8192;
/// (route, origin) pairs counted per bucket before folding into `(other)`.
const MAX_FOLLOWUP_KEYS: usize = 64;
const MAX_SAMPLE: usize = 400;
const MAX_PROBE_KEYS: usize = 256;

/// The store.
#[derive(Debug)]
pub struct Store {
    cfg: StoreConfig,
    mode: TimeMode,
    now: EpochMs,
    generation: u64,
    /// Highest bucket number that has been opened.
    head: i64,
    buckets: Vec<Bucket>,
    pub routes: Interner,
    pub origins: Interner,
    sources: Vec<SourceStats>,
    totals: FxHashMap<HttpKey, u64>,
    totals_folded: u64,
    pub dropped_too_old: u64,
    pub dropped_future: u64,
    pub latest_event_time: Option<EpochMs>,
    pub earliest_event_time: Option<EpochMs>,
    probes: VecDeque<ProbeResult>,
    /// Probe runs and durations since start (bounded, see [`totals`]).
    probe_totals: totals::ProbeTotals,
    probe_latest: FxHashMap<(String, String, String), usize>,
    probe_seq: usize,
    probe_latest_results: Vec<ProbeResult>,
    raw: VecDeque<RawLine>,
    raw_seq: u64,
    auth_samples: VecDeque<AuthSample>,
    /// Accepted preflights by (client, route, origin) waiting for the request they announce.
    pending_preflights: FxHashMap<(u64, u16, u16), EpochMs>,
    /// Accepted preflights not tracked because the table was full.
    pub pending_untracked: u64,
    last_pairing_sweep: EpochMs,
    /// Reused for each line's route template.
    route_scratch: String,
    /// Route id by raw path (for paths templating leaves as they are) and by template.
    route_cache: IdCache,
    /// Origin → origin id.
    origin_cache: IdCache,
    /// The bucket number [`Store::bucket_for`] returned last.
    hot_bucket: i64,
    hot_slot: usize,
    /// 401/403 episodes on real requests per client (bounded, see `store_clients`).
    client_failures: crate::store::clients::ClientFailures,
    /// Keeps a lone far-off stamp from moving the event-time clock (see [`ClockGuard`]).
    clock_guard: ClockGuard,
    /// The latest fleet refresh, when the store is filled from Prometheus.
    fleet: Option<Box<crate::sources::fleet::FleetData>>,
}

/// How many events must stand beyond the event-time clock's tolerance before it jumps to them.
pub const JUMP_CONFIRMATIONS: usize = 3;
/// Ordinary events after which events held for a jump that never came are given up.
const JUMP_PATIENCE: u32 = 64;

/// In event-time mode "now" is the newest event time, so one line stamped in 2099 would put
/// every other line outside the window. The clock therefore moves further ahead than the
/// future tolerance only when [`JUMP_CONFIRMATIONS`] events agree that time went there (a log
/// that resumes after a quiet night does; a mis-stamped line does not). Events waiting for that
/// are held, counted as dropped future until they are confirmed, and given up after
/// [`JUMP_PATIENCE`] ordinary events or at the end of the input. The first event sets the
/// clock on its own, so it is checked against the second: when they disagree by more than the
/// tolerance and the first was alone, the first is taken back.
#[derive(Debug, Default)]
struct ClockGuard {
    held: Vec<HeldEvent>,
    ordinary_since_hold: u32,
    /// 1 while the clock was set by one event alone (the store's first), 2 once a second
    /// agreed; 0 when the clock was set otherwise ([`Store::with_now`], live mode).
    placed_since_start: u8,
}

#[derive(Debug)]
enum HeldEvent {
    Http(SourceId, HttpRecord<'static>, HttpKey),
    Auth(SourceId, AuthRecord<'static>),
}

impl HeldEvent {
    fn time(&self) -> EpochMs {
        match self {
            HeldEvent::Http(_, r, _) => r.time,
            HeldEvent::Auth(_, r) => r.time,
        }
    }
}

/// What the clock guard does with one event.
enum Admit {
    Place,
    Hold,
    /// Hold it, and the held events now confirm a jump.
    Confirm,
}

impl Store {
    pub fn new(cfg: StoreConfig, mode: TimeMode) -> Store {
        let n = cfg.bucket_count();
        let now = match mode {
            TimeMode::Live => now_ms(),
            TimeMode::EventTime => i64::MIN,
        };
        Store {
            routes: Interner::new(cfg.max_routes),
            origins: Interner::new(cfg.max_origins),
            buckets: (0..n).map(|_| Bucket::empty()).collect(),
            head: i64::MIN,
            mode,
            now,
            generation: 0,
            sources: Vec::new(),
            totals: FxHashMap::default(),
            totals_folded: 0,
            dropped_too_old: 0,
            dropped_future: 0,
            latest_event_time: None,
            earliest_event_time: None,
            probes: VecDeque::new(),
            probe_totals: totals::ProbeTotals::default(),
            probe_latest: FxHashMap::default(),
            probe_seq: 0,
            probe_latest_results: Vec::new(),
            raw: VecDeque::new(),
            raw_seq: 0,
            auth_samples: VecDeque::new(),
            pending_preflights: FxHashMap::default(),
            pending_untracked: 0,
            client_failures: crate::store::clients::ClientFailures::new(cfg.retention_ms),
            last_pairing_sweep: i64::MIN / 2,
            route_scratch: String::new(),
            route_cache: IdCache::new(ROUTE_CACHE_BITS),
            origin_cache: IdCache::new(ORIGIN_CACHE_BITS),
            hot_bucket: i64::MIN,
            hot_slot: 0,
            clock_guard: ClockGuard::default(),
            fleet: None,
            cfg,
        }
    }

    /// Pins "now" (tests, and the demo whose clock is compressed).
    pub fn with_now(mut self, now: EpochMs) -> Store {
        self.now = now;
        self
    }

    pub fn config(&self) -> &StoreConfig {
        &self.cfg
    }

    pub fn mode(&self) -> TimeMode {
        self.mode
    }

    /// Changes whenever the store's content changes; the UI redraws only when it moves.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The store's "now": wall clock in live mode, newest event time otherwise.
    pub fn now(&self) -> EpochMs {
        if self.now == i64::MIN {
            self.latest_event_time.unwrap_or(0)
        } else {
            self.now
        }
    }

    /// Advances the live clock. Opening a new bucket is a content change (the window moves).
    pub fn tick(&mut self, wall: EpochMs) {
        if self.mode == TimeMode::Live && wall > self.now {
            let before = self.now.div_euclid(self.cfg.bucket_ms);
            self.now = wall;
            if wall.div_euclid(self.cfg.bucket_ms) != before {
                self.generation += 1;
                // A quiet log decides its waiting preflights on the clock, not on new lines.
                self.expire_preflights(wall);
            }
        }
    }

    pub fn register_source(&mut self, label: &str) -> SourceId {
        if let Some(i) = self.sources.iter().position(|s| s.label == label) {
            return i as SourceId;
        }
        if self.sources.len() >= self.cfg.max_sources.min(255) {
            // Sources are configured, not discovered, so this only happens with absurd globs;
            // the last slot is shared.
            return (self.sources.len() - 1) as SourceId;
        }
        self.sources.push(SourceStats {
            label: label.to_string(),
            state: "starting".into(),
            ..Default::default()
        });
        self.generation += 1;
        (self.sources.len() - 1) as SourceId
    }

    pub fn sources(&self) -> &[SourceStats] {
        &self.sources
    }

    pub fn source_mut(&mut self, id: SourceId) -> &mut SourceStats {
        if self.sources.is_empty() {
            self.register_source("(unnamed)");
        }
        let i = (id as usize).min(self.sources.len() - 1);
        &mut self.sources[i]
    }

    pub fn set_source_state(&mut self, id: SourceId, state: &str) {
        self.source_mut(id).state = state.to_string();
        self.generation += 1;
    }

    /// Flags (or clears) a source that is not reading correctly.
    pub fn set_source_problem(&mut self, id: SourceId, problem: Option<String>) {
        self.source_mut(id).problem = problem;
        self.generation += 1;
    }

    pub fn set_source_format(&mut self, id: SourceId, format: &'static str) {
        self.source_mut(id).format = Some(format);
    }

    /// Finds the bucket for an event time, opening it (and retiring what falls out of
    /// retention) when needed. `None` means the event is too old or too far in the future.
    fn bucket_for(&mut self, t: EpochMs) -> Option<&mut Bucket> {
        let w = self.cfg.bucket_ms;
        let n = self.buckets.len() as i64;
        // Lines come nearly in time order, so the previous line's bucket is the likely one;
        // checking it avoids three divisions. It must be no newer than the store's clock (the
        // slow path moves the clock) and still inside retention.
        let hot_start = self.hot_bucket.saturating_mul(w);
        if t.checked_sub(hot_start)
            .is_some_and(|d| (0..w).contains(&d))
            && t <= self.now
            && hot_start > self.now.saturating_sub(n * w)
        {
            let at = self.hot_slot;
            if self.buckets[at].index == self.hot_bucket {
                return Some(&mut self.buckets[at]);
            }
        }
        let idx = t.div_euclid(w);
        if self.mode == TimeMode::EventTime && (self.now == i64::MIN || t > self.now) {
            self.now = t;
        }
        if t > self.now + self.cfg.future_tolerance_ms {
            self.dropped_future += 1;
            return None;
        }
        let now_idx = self.now.div_euclid(w);
        if idx <= now_idx - n {
            self.dropped_too_old += 1;
            return None;
        }
        if idx > self.head {
            self.head = idx;
        }
        let at = idx.rem_euclid(n) as usize;
        let slot = &mut self.buckets[at];
        if slot.index != idx {
            if slot.index > idx {
                // The slot already holds a newer bucket: this event is older than retention
                // relative to the newest data.
                self.dropped_too_old += 1;
                return None;
            }
            slot.reset(idx);
        }
        self.hot_bucket = idx;
        self.hot_slot = at;
        Some(slot)
    }

    /// Counts, per source, history that live tailing could not place, so that a source showing
    /// nothing because all it had was old says so.
    fn note_outside_window(&mut self, source: SourceId, t: EpochMs) {
        if self.mode == TimeMode::Live && t <= self.now {
            let stats = self.source_mut(source);
            stats.skipped_historical += 1;
            stats.skipped_historical_newest =
                Some(stats.skipped_historical_newest.map_or(t, |n| n.max(t)));
        }
    }

    /// The clock guard's decision for an event stamped `t` (see [`ClockGuard`]).
    fn admit(&mut self, t: EpochMs) -> Admit {
        if self.mode != TimeMode::EventTime {
            return Admit::Place;
        }
        if self.now == i64::MIN {
            self.clock_guard.placed_since_start = 1;
            return Admit::Place;
        }
        let tolerance = self.cfg.future_tolerance_ms;
        if t > self.now.saturating_add(tolerance) {
            return if self.clock_guard.held.len() + 1 >= JUMP_CONFIRMATIONS {
                Admit::Confirm
            } else {
                Admit::Hold
            };
        }
        let guard = &mut self.clock_guard;
        if !guard.held.is_empty() {
            guard.ordinary_since_hold += 1;
            if guard.ordinary_since_hold > JUMP_PATIENCE {
                // They stay counted as dropped future.
                guard.held.clear();
            }
        }
        if guard.placed_since_start == 1 {
            if t < self.now.saturating_sub(tolerance) {
                self.take_back_first_event();
            } else {
                guard.placed_since_start = 2;
            }
        }
        Admit::Place
    }

    fn hold(&mut self, event: HeldEvent) {
        if self.clock_guard.held.is_empty() {
            self.clock_guard.ordinary_since_hold = 0;
        }
        self.clock_guard.held.push(event);
        self.dropped_future += 1;
        self.generation += 1;
    }

    /// The held events confirmed a jump: they are placed in time order, except those still far
    /// beyond their median (a 2099 line among them), which stay dropped.
    fn release_held(&mut self) {
        let mut held = std::mem::take(&mut self.clock_guard.held);
        held.sort_by_key(HeldEvent::time);
        let median = held[held.len() / 2].time();
        let limit = median.saturating_add(self.cfg.future_tolerance_ms);
        for event in held {
            if event.time() > limit {
                continue;
            }
            self.dropped_future -= 1;
            match event {
                HeldEvent::Http(source, rec, key) => self.place_http(source, &rec, key),
                HeldEvent::Auth(source, rec) => self.place_auth(source, &rec),
            }
        }
    }

    /// The first event set the clock alone and the next one is far from it: the first is the
    /// odd one out (a log does not start with its only 2099 line by accident of ordering), so
    /// its counts are taken out of the window and it is counted as dropped future.
    fn take_back_first_event(&mut self) {
        for b in &mut self.buckets {
            if b.index != i64::MIN {
                b.reset(i64::MIN);
            }
        }
        self.now = i64::MIN;
        self.head = i64::MIN;
        self.hot_bucket = i64::MIN;
        self.latest_event_time = None;
        self.earliest_event_time = None;
        for s in &mut self.sources {
            s.last_event_time = None;
        }
        self.pending_preflights.clear();
        self.dropped_future += 1;
        self.clock_guard.placed_since_start = 1;
    }

    /// Events held because they would move the clock far ahead on their own.
    pub fn held_events(&self) -> usize {
        self.clock_guard.held.len()
    }

    fn note_event_time(&mut self, t: EpochMs) {
        self.latest_event_time = Some(self.latest_event_time.map_or(t, |l| l.max(t)));
        self.earliest_event_time = Some(self.earliest_event_time.map_or(t, |e| e.min(t)));
    }

    /// Counts one HTTP event.
    pub fn ingest_http(&mut self, source: SourceId, rec: &HttpRecord<'_>) {
        let admit = self.admit(rec.time);
        // Counted whatever its time: the totals hold every parsed request.
        let key = self.count_http(source, rec);
        match admit {
            Admit::Place => self.place_http(source, rec, key),
            Admit::Hold => self.hold(HeldEvent::Http(source, rec.into_owned(), key)),
            Admit::Confirm => {
                self.hold(HeldEvent::Http(source, rec.into_owned(), key));
                self.release_held();
            }
        }
    }

    fn count_http(&mut self, source: SourceId, rec: &HttpRecord<'_>) -> HttpKey {
        let route = match self.route_cache.get(rec.path.as_bytes()) {
            Some(id) => id,
            None => self.route_id(&rec.path),
        };
        let origin = match rec.origin.as_deref() {
            Some(o) if !o.is_empty() && o != "-" => {
                intern_cached(&mut self.origin_cache, &mut self.origins, o)
            }
            _ => NO_ORIGIN,
        };
        let key = HttpKey {
            route,
            origin,
            status: rec.status,
            method: rec.method,
            source,
            acao: rec.acao_seen(),
            origin_derived: rec.origin_derived && origin != NO_ORIGIN,
        };
        self.source_mut(source).http_events += 1;
        self.count_total(key);
        key
    }

    fn place_http(&mut self, source: SourceId, rec: &HttpRecord<'_>, key: HttpKey) {
        let (route, origin) = (key.route, key.origin);
        if let Some(client) = rec.client.as_deref()
            && origin != NO_ORIGIN
            && !client.is_empty()
            && client != "-"
        {
            self.pair_preflight(fx_hash(client), route, origin, rec);
        }
        if matches!(rec.status, 401 | 403)
            && rec.method != Method::Options
            && let Some(client) = rec.client.as_deref()
        {
            self.client_failures.record(client, rec.time);
        }
        self.generation += 1;
        let stats = self.source_mut(source);
        stats.last_event_time = Some(stats.last_event_time.map_or(rec.time, |t| t.max(rec.time)));
        self.note_event_time(rec.time);
        let cap = self.cfg.max_keys_per_bucket;
        let Some(bucket) = self.bucket_for(rec.time) else {
            self.note_outside_window(source, rec.time);
            return;
        };
        if let Some(ms) = rec.latency_ms {
            bucket.latency_sum_ms += ms as u64;
            bucket.latency_n += 1;
        }
        if bump(&mut bucket.http, key, cap) {
            bucket.folded += 1;
        }
    }

    /// Templates and interns a raw path the route cache did not know.
    fn route_id(&mut self, raw: &str) -> u16 {
        match route::template_into(raw, &mut self.route_scratch) {
            route::Templated::Unchanged(t) => {
                let id = self.routes.intern(t);
                // Only identifier-free paths are cached: paths with ids rarely repeat, and
                // would push the hot ones out.
                if id != OTHER {
                    self.route_cache.put(raw.as_bytes(), id);
                }
                id
            }
            // Templating leaves a template as it is, so a template is a key of its own route:
            // its id can be cached beside the raw paths.
            route::Templated::Written => {
                intern_cached(&mut self.route_cache, &mut self.routes, &self.route_scratch)
            }
        }
    }

    /// Pairs an accepted preflight with the next request of the same client, origin and route.
    /// A preflight the browser refused (origin or header not allowed, doubled ACAO) is never
    /// followed, although its log line says 204.
    fn pair_preflight(&mut self, client: u64, route: u16, origin: u16, rec: &HttpRecord<'_>) {
        let key = (client, route, origin);
        if rec.method == Method::Options {
            if (200..300).contains(&rec.status) {
                if self.pending_preflights.len() >= MAX_PENDING_PREFLIGHTS {
                    self.expire_preflights(self.now());
                }
                if self.pending_preflights.len() >= MAX_PENDING_PREFLIGHTS
                    && !self.pending_preflights.contains_key(&key)
                {
                    self.pending_untracked += 1;
                } else {
                    // A second preflight before any request: the first stays undecided
                    // (concurrent requests from one client), so it is not counted either way.
                    self.pending_preflights.insert(key, rec.time);
                }
            }
        } else if let Some(at) = self.pending_preflights.remove(&key) {
            let followed = (rec.time - at).abs() <= FOLLOW_WINDOW_MS;
            self.count_followup(at, route, origin, followed);
        }
        // Sweep once per window of store time, so waiting preflights are decided promptly
        // without scanning the table on every line.
        // This line's own time counts: the store's clock moves only after it is bucketed.
        let now = self.now().max(rec.time);
        if now - self.last_pairing_sweep >= FOLLOW_WINDOW_MS {
            self.last_pairing_sweep = now;
            self.expire_preflights(now);
        }
    }

    /// Counts preflights whose window closed without their request as not followed.
    fn expire_preflights(&mut self, now: EpochMs) {
        let cutoff = now - FOLLOW_WINDOW_MS;
        let expired: Vec<((u64, u16, u16), EpochMs)> = self
            .pending_preflights
            .iter()
            .filter(|(_, at)| **at < cutoff)
            .map(|(k, at)| (*k, *at))
            .collect();
        for (key, at) in expired {
            self.pending_preflights.remove(&key);
            self.count_followup(at, key.1, key.2, false);
        }
    }

    fn count_followup(&mut self, at: EpochMs, route: u16, origin: u16, followed: bool) {
        let w = self.cfg.bucket_ms;
        let n = self.buckets.len() as i64;
        let idx = at.div_euclid(w);
        let bucket = &mut self.buckets[idx.rem_euclid(n) as usize];
        // The preflight's bucket may have left retention meanwhile; then there is nothing to
        // count into.
        if bucket.index != idx {
            return;
        }
        let key = if bucket.followups.len() >= MAX_FOLLOWUP_KEYS
            && !bucket.followups.contains_key(&(route, origin))
        {
            (OTHER, OTHER)
        } else {
            (route, origin)
        };
        let entry = bucket.followups.entry(key).or_insert((0, 0));
        if followed {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
        self.generation += 1;
    }

    /// Closes the follow-up window of every waiting preflight older than it (for tests and the
    /// end of a headless read; live, this happens as lines arrive).
    pub fn settle_followups(&mut self) {
        let now = self.now();
        self.expire_preflights(now);
    }

    fn count_total(&mut self, key: HttpKey) {
        if bump(&mut self.totals, key, self.cfg.max_total_keys) {
            self.totals_folded += 1;
        }
    }

    /// Counts one auth event.
    pub fn ingest_auth(&mut self, source: SourceId, rec: &AuthRecord<'_>) {
        let admit = self.admit(rec.time);
        let stats = self.source_mut(source);
        stats.auth_events += 1;
        if let Some(class) = rec.class {
            stats.auth_by_class[class as usize] += 1;
        }
        match admit {
            Admit::Place => self.place_auth(source, rec),
            Admit::Hold => self.hold(HeldEvent::Auth(source, rec.into_owned())),
            Admit::Confirm => {
                self.hold(HeldEvent::Auth(source, rec.into_owned()));
                self.release_held();
            }
        }
    }

    fn place_auth(&mut self, source: SourceId, rec: &AuthRecord<'_>) {
        self.generation += 1;
        let stats = self.source_mut(source);
        stats.last_event_time = Some(stats.last_event_time.map_or(rec.time, |t| t.max(rec.time)));
        if let Some(class) = rec.class {
            if self.auth_samples.len() >= AUTH_SAMPLES {
                self.auth_samples.pop_front();
            }
            self.auth_samples.push_back(AuthSample {
                time: rec.time,
                class,
                operation: truncate(&crate::model::text::inert(&rec.operation), 80),
                message: truncate(
                    &crate::model::text::inert(&redact::text(&rec.message)),
                    MAX_SAMPLE,
                ),
            });
        }
        self.note_event_time(rec.time);
        let Some(bucket) = self.bucket_for(rec.time) else {
            self.note_outside_window(source, rec.time);
            return;
        };
        match rec.class {
            Some(c) => bucket.auth[c as usize] += 1,
            None => bucket.auth_ok += 1,
        }
    }

    /// Records a line that failed to parse: counted, and kept (redacted) as the latest sample.
    pub fn note_parse_error(&mut self, source: SourceId, sample: &[u8], reason: &str) {
        let text = sample_text(sample);
        let stats = self.source_mut(source);
        stats.parse_errors += 1;
        stats.last_error = Some((text, reason.to_string()));
        self.generation += 1;
    }

    /// Keeps a raw line in the bounded ring for the live-log view.
    pub fn note_raw_line(&mut self, source: SourceId, wall: EpochMs, line: &str) {
        self.note_raw_record(source, u64::MAX, wall, line, None);
    }

    /// Keeps a raw line, numbered by its source, with the fields its record carried.
    pub fn note_raw_record(
        &mut self,
        source: SourceId,
        number: u64,
        wall: EpochMs,
        line: &str,
        fields: Option<LineFields>,
    ) {
        let cap = self.cfg.raw_lines_per_source * self.sources.len().max(1);
        while self.raw.len() >= cap {
            self.raw.pop_front();
        }
        self.raw_seq += 1;
        self.raw.push_back(RawLine {
            seq: self.raw_seq,
            source,
            number,
            wall,
            text: truncate(
                &crate::model::text::inert(&redact::text(line)),
                MAX_RAW_LINE,
            ),
            fields,
        });
        self.generation += 1;
    }

    /// Applies one event from a producer.
    pub fn apply(&mut self, event: Event, wall: EpochMs) {
        match event {
            Event::Batch(batch) => self.apply_batch(*batch, wall),
            Event::Probe(result) => self.ingest_probe(*result),
            Event::SourceState { source, state } => self.set_source_state(source, &state),
            Event::Fleet(data) => self.apply_fleet(*data),
        }
    }

    pub fn apply_batch(&mut self, batch: SourceBatch, wall: EpochMs) {
        let src = batch.source;
        for rec in &batch.http {
            self.ingest_http(src, rec);
        }
        for rec in &batch.auth {
            self.ingest_auth(src, rec);
        }
        self.keep_raw_tail(&batch, wall);
        let stats = self.source_mut(src);
        stats.lines += batch.lines;
        stats.bytes += batch.bytes;
        stats.skipped += batch.skipped;
        stats.parse_errors += batch.parse_errors;
        if batch.lines > 0 {
            stats.last_line_wall = Some(wall);
            stats.rate.add(wall, batch.lines);
        }
        if let Some(f) = batch.format {
            stats.format = Some(f);
        }
        if let Some((sample, reason)) = batch.last_error {
            stats.last_error = Some((sample_text(sample.as_bytes()), reason));
        }
        self.generation += 1;
    }

    /// Keeps a batch's raw lines with the fields of the records they produced; a record whose
    /// entry began in an earlier batch fills in that line, if the ring still holds it.
    fn keep_raw_tail(&mut self, batch: &SourceBatch, wall: EpochMs) {
        let src = batch.source;
        let fields_of = |rec: RecordRef| match rec {
            RecordRef::Http(r) => batch.http.get(r as usize).map(LineFields::of_http),
            RecordRef::Auth(r) => batch.auth.get(r as usize).map(LineFields::of_auth),
        };
        let mut links = batch.raw_links.iter().peekable();
        while let Some(&&(at, rec)) = links.peek() {
            if at >= batch.raw_first {
                break;
            }
            links.next();
            if let Some(line) = self
                .raw
                .iter_mut()
                .rev()
                .find(|l| l.source == src && l.number == at)
            {
                line.fields = fields_of(rec);
            }
        }
        for (i, line) in batch.raw_tail.iter().enumerate() {
            let number = batch.raw_first + i as u64;
            let mut fields = None;
            while let Some(&&(at, rec)) = links.peek() {
                if at > number {
                    break;
                }
                links.next();
                if at == number {
                    fields = fields_of(rec);
                }
            }
            self.note_raw_record(src, number, wall, line, fields);
        }
    }

    /// Counts lines read by a source without events (used by the headless reader, which feeds
    /// records straight in and counts lines itself).
    pub fn add_source_lines(&mut self, source: SourceId, lines: u64, bytes: u64, skipped: u64) {
        let s = self.source_mut(source);
        s.lines += lines;
        s.bytes += bytes;
        s.skipped += skipped;
    }

    pub fn ingest_probe(&mut self, result: ProbeResult) {
        self.generation += 1;
        self.probe_totals.record(&result);
        let key = (
            result.url.clone(),
            result.origin.clone(),
            result.shape.name.clone(),
        );
        match self.probe_latest.get(&key) {
            Some(&i) => self.probe_latest_results[i] = result.clone(),
            None if self.probe_latest.len() < MAX_PROBE_KEYS => {
                self.probe_latest
                    .insert(key, self.probe_latest_results.len());
                self.probe_latest_results.push(result.clone());
            }
            None => {}
        }
        if self.probes.len() >= self.cfg.probe_history {
            self.probes.pop_front();
        }
        self.probe_seq += 1;
        self.probes.push_back(result);
    }

    /// The latest result per endpoint × origin × shape, in first-seen order.
    pub fn probe_latest(&self) -> &[ProbeResult] {
        &self.probe_latest_results
    }

    /// Probe runs and durations since start, not bound by the probe ring.
    pub fn probe_totals(&self) -> &totals::ProbeTotals {
        &self.probe_totals
    }

    /// All kept probe results, oldest first.
    pub fn probe_history(&self) -> impl DoubleEndedIterator<Item = &ProbeResult> {
        self.probes.iter()
    }

    pub fn raw_lines(&self) -> impl DoubleEndedIterator<Item = &RawLine> {
        self.raw.iter()
    }

    pub fn auth_samples(&self) -> impl DoubleEndedIterator<Item = &AuthSample> {
        self.auth_samples.iter()
    }

    /// Cumulative counts since start (not bound by retention), for reports.
    pub fn totals(&self) -> &FxHashMap<HttpKey, u64> {
        &self.totals
    }

    pub fn totals_folded(&self) -> u64 {
        self.totals_folded
    }

    /// 401/403 episodes on real requests per client.
    pub fn client_failures(&self) -> &crate::store::clients::ClientFailures {
        &self.client_failures
    }

    pub fn bucket_ms(&self) -> EpochMs {
        self.cfg.bucket_ms
    }

    /// Buckets covering `[now - span, now]`, oldest first, with empty placeholders for holes so
    /// that charts get a regular series. Yields `(bucket_start, Option<&Bucket>)`.
    pub fn window(&self, span: EpochMs) -> impl Iterator<Item = (EpochMs, Option<&Bucket>)> {
        let w = self.cfg.bucket_ms;
        let n = self.buckets.len() as i64;
        // Slightly-future events (clock skew between hosts) are shown rather than hidden.
        let now_idx = self.now().div_euclid(w).max(self.head);
        let count = ((span + w - 1) / w).clamp(1, n);
        let first = now_idx - count + 1;
        (first..=now_idx).map(move |idx| {
            let b = &self.buckets[idx.rem_euclid(n) as usize];
            (idx * w, (b.index == idx).then_some(b))
        })
    }

    /// Sums the HTTP counters of the window matching `filter`.
    pub fn sum_window(&self, span: EpochMs, mut filter: impl FnMut(&HttpKey) -> bool) -> u64 {
        self.window(span)
            .filter_map(|(_, b)| b)
            .flat_map(|b| b.http.iter())
            .filter(|(k, _)| filter(k))
            .map(|(_, &c)| c as u64)
            .sum()
    }

    pub fn route_name(&self, id: u16) -> &str {
        self.routes.name(id)
    }

    pub fn origin_name(&self, id: u16) -> &str {
        self.origins.name(id)
    }
}

/// Folds a key into the `(other)` route and origin, keeping method, status and source.
fn fold(key: HttpKey) -> HttpKey {
    HttpKey {
        route: OTHER,
        origin: OTHER,
        ..key
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &s[..cut])
}

/// Turns an offending line into a displayable, redacted, bounded sample.
fn sample_text(sample: &[u8]) -> String {
    let head = &sample[..sample.len().min(MAX_SAMPLE * 2)];
    let lossy = String::from_utf8_lossy(head);
    let printable: String = lossy
        .chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect();
    let mut out = truncate(&redact::text(&printable), MAX_SAMPLE);
    if sample.len() > head.len() && !out.ends_with('…') {
        out.push('…');
    }
    out
}

/// The store as a parser sink for one source (the headless path).
pub struct StoreSink<'s> {
    pub store: &'s mut Store,
    pub source: SourceId,
}

impl Sink for StoreSink<'_> {
    fn http(&mut self, rec: &HttpRecord<'_>) {
        self.store.ingest_http(self.source, rec);
    }
    fn auth(&mut self, rec: &AuthRecord<'_>) {
        self.store.ingest_auth(self.source, rec);
    }
}

#[cfg(test)]
mod tests;

// `Store::merge` lives in its own file but inside this module, so that it can reach the
// private state it combines.
mod merge;
