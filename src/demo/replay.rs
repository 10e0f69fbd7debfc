//! The demo incident replayed in virtual time: the same script, the same server decisions
//! ([`demo::server::decide`]), the same log lines and the same verdicts as `corstop demo`, but
//! with no sockets, no real clock and one seeded random generator, so the store it fills is the
//! same on every run. Screenshots and the render benchmark are drawn from it.
//!
//! The log lines go through the real format detection and parsers, so the store holds exactly
//! what tailing the demo's files would have put there.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::cors::{RawResponse, RequestShape, judge};
use crate::demo::browser::{Browser, Outgoing, population};
use crate::demo::logs::{self, HttpLogEntry};
use crate::demo::server::{self, Counters, Incoming, Route};
use crate::demo::{ALLOWED_ORIGINS, Script, UNLISTED_ORIGIN};
use crate::model::time::{EpochMs, MINUTE, SECOND};
use crate::sources::event::{ProbeResult, RecordRef, SourceBatch, SourceId, VecSink};
use crate::sources::formats::{self, Fed, FormatOptions, LogParser};
use crate::sources::probe::client::{USER_AGENT, preflight_headers};
use crate::sources::probe::instance_fingerprint;
use crate::store::{Store, TimeMode};

/// 2026-04-04T10:00:00Z: where the replayed script starts.
pub const REPLAY_START: EpochMs = 1_775_296_800_000;
/// Default seed of the replay's random generator.
pub const REPLAY_SEED: u64 = 0x00c0_4570;
/// The default replay runs the incident from its start (healthy, H2, the three H3 expiry
/// waves) and stops 25 minutes into the doubled header (H4), so the six-hour views show every
/// fault and the fifteen-minute ones an ongoing page.
pub const REPLAY_SPAN: EpochMs = 305 * MINUTE;

/// Where the API lives in the replay; nothing listens there.
const BASE: &str = "https://contoso-api.azurewebsites.net";
const HOST: &str = "contoso-api.azurewebsites.net";
/// Demo time between one simulated browser's actions (the live demo: 220-560 ms real at 60x).
const STEP_MS: std::ops::RangeInclusive<i64> = 13 * SECOND..=34 * SECOND;
const PROBE_EVERY: EpochMs = MINUTE;
/// Log lines are handed to the store in batches covering this much demo time.
const BATCH_MS: EpochMs = 5 * SECOND;

/// Probed endpoints and whether each is critical, as `corstop demo` configures its prober.
const PROBED: [(&str, bool); 4] = [
    ("/api/orders", true),
    ("/api/orders/1042", true),
    ("/api/profile", true),
    ("/api/products", false),
];

/// What went wrong while replaying: only a parser refusing the demo's own lines can.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no log format recognised the replayed {0}")]
    Undetected(&'static str),
    #[error(transparent)]
    Format(#[from] formats::FormatError),
}

/// A log file being "tailed": lines waiting for the next batch, and the parser once detected.
struct Feed {
    label: &'static str,
    source: SourceId,
    parser: Option<Box<dyn LogParser>>,
    pending: Vec<String>,
    /// Lines flushed so far, which number the raw lines of each batch.
    raw_count: u64,
}

impl Feed {
    fn push(&mut self, text: &str) {
        // Multi-line entries (exception stacks) arrive as separate lines, as in the file.
        self.pending.extend(text.split('\n').map(str::to_string));
    }

    fn flush(&mut self, store: &mut Store, wall: EpochMs) -> Result<(), ReplayError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut detected = None;
        if self.parser.is_none() {
            let first: Vec<&[u8]> = self
                .pending
                .iter()
                .map(std::string::String::as_bytes)
                .collect();
            let name = formats::detect(&first).ok_or(ReplayError::Undetected(self.label))?;
            self.parser = Some(formats::parser(name, &FormatOptions::default())?);
            detected = Some(name);
        }
        let Some(parser) = self.parser.as_mut() else {
            return Ok(());
        };
        let mut sink = VecSink::default();
        let mut parse_errors = 0;
        let mut last_error = None;
        let mut bytes = 0;
        // Each record beside the line that began its entry, as the live sources do.
        let mut links: Vec<(usize, RecordRef)> = Vec::new();
        let mut open: Option<usize> = None;
        let mut link = |sink: &VecSink, before: (usize, usize), line: Option<usize>, held| {
            let first = if sink.http.len() > before.0 {
                Some(RecordRef::Http(before.0 as u32))
            } else if sink.auth.len() > before.1 {
                Some(RecordRef::Auth(before.1 as u32))
            } else {
                None
            };
            if let Some(rec) = first
                && let Some(at) = open.take().or(line)
            {
                links.push((at, rec));
            }
            open = if held { open.or(line) } else { None };
        };
        for (i, line) in self.pending.iter().enumerate() {
            bytes += line.len() as u64 + 1;
            let before = (sink.http.len(), sink.auth.len());
            let fed = parser.feed(line.as_bytes(), &mut sink);
            let held = matches!(fed, Ok(Fed::Buffered)) || parser.entry_open();
            link(&sink, before, Some(i), held);
            if let Err(e) = fed {
                parse_errors += 1;
                last_error = Some((line.clone(), e.to_string()));
            }
        }
        // Continuation lines belong to the entry before them; the next batch would tell, but
        // the demo's entries never straddle a batch, so close them here.
        let before = (sink.http.len(), sink.auth.len());
        let _ = parser.finish(&mut sink);
        link(&sink, before, None, false);
        let ring = store.config().raw_lines_per_source.max(1);
        let skip = self.pending.len().saturating_sub(ring);
        // The demo's entries never straddle a batch: every link is to a line of this one.
        let raw_first = self.raw_count + skip as u64;
        let raw_links = links
            .into_iter()
            .filter(|(at, _)| *at >= skip)
            .map(|(at, rec)| (self.raw_count + at as u64, rec))
            .collect();
        self.raw_count += self.pending.len() as u64;
        let lines = self.pending.len() as u64;
        let events = (sink.http.len() + sink.auth.len()) as u64;
        let batch = SourceBatch {
            source: self.source,
            http: sink.http,
            auth: sink.auth,
            raw_tail: self.pending.drain(..).skip(skip).collect(),
            raw_first,
            raw_links,
            lines,
            bytes,
            skipped: lines.saturating_sub(events + parse_errors),
            parse_errors,
            last_error,
            format: detected,
        };
        store.apply_batch(batch, wall);
        Ok(())
    }
}

/// The simulated world: server state, the log files and the random generator.
struct World {
    script: Script,
    counters: Counters,
    requests: u64,
    rng: fastrand::Rng,
    http: Feed,
    auth: Feed,
}

impl World {
    /// Serves one request at demo time `now`: the server's decision, its log lines, and the
    /// response as a client receives it.
    fn serve(&mut self, req: &Outgoing, now: EpochMs) -> RawResponse {
        self.serve_with_body(req, now).0
    }

    fn serve_with_body(&mut self, req: &Outgoing, now: EpochMs) -> (RawResponse, String) {
        let n = self.requests;
        self.requests += 1;
        let instance = server::instance_name(n);
        let incoming = Incoming {
            method: req.method,
            path: &req.path,
            origin: Some(req.origin),
            request_method: req.header("Access-Control-Request-Method"),
            authorization: req.header("Authorization"),
            body: &req.body,
        };
        let reply = server::decide(&self.script, &self.counters, &incoming, now, instance);
        for line in &reply.auth_lines {
            self.auth.push(line);
        }
        let latency = self.latency(Route::of(&req.path), req.method, reply.status);
        self.http.push(&logs::http_record(&HttpLogEntry {
            time: now,
            method: req.method,
            path: &req.path,
            query: "",
            status: reply.status,
            time_taken_ms: latency,
            host: HOST,
            referer: &req.referer,
            user_agent: req.agent,
            computer: instance,
            bytes_sent: reply.body.len() as u64,
            bytes_received: 420 + req.body.len() as u64,
            numbers_as_strings: n % 9 == 4,
        }));
        let mut headers = vec![
            ("server".to_string(), "Kestrel".to_string()),
            ("x-instance".to_string(), instance.to_string()),
        ];
        headers.extend(
            reply
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone())),
        );
        let raw = RawResponse {
            status: reply.status,
            headers,
            elapsed_ms: latency + 2,
        };
        (raw, reply.body)
    }

    fn latency(&mut self, route: Route, method: &str, status: u16) -> u32 {
        let (lo, hi) = match (route, method, status) {
            (_, "OPTIONS", _) => (1, 5),
            (_, _, 401) => (2, 9),
            (Route::Token, _, _) => (40, 160),
            (Route::Orders | Route::Order, "PUT" | "DELETE", _) => (30, 180),
            (Route::Health, _, _) => (1, 4),
            _ => (8, 70),
        };
        self.rng.u32(lo..=hi)
    }

    /// The prober's round: the SPA default shape against every endpoint from every origin.
    /// The shape is a PUT, so only its preflight is sent, exactly as the live prober does.
    fn probe_round(&mut self, now: EpochMs, store: &mut Store) {
        let shape = RequestShape::spa_default();
        let mut origins: Vec<&str> = ALLOWED_ORIGINS.to_vec();
        origins.push(UNLISTED_ORIGIN);
        for (path, critical) in PROBED {
            for origin in &origins {
                let url = format!("{BASE}{path}");
                let headers = preflight_headers(origin, &url, &shape);
                let resp = self.serve(
                    &Outgoing {
                        method: "OPTIONS",
                        path: path.to_string(),
                        origin,
                        referer: String::new(),
                        agent: USER_AGENT,
                        headers: vec![("Access-Control-Request-Method", shape.method.clone())],
                        body: Vec::new(),
                    },
                    now,
                );
                let mut verdict = judge(origin, &url, &shape, Some(&resp), None);
                if verdict.allowed {
                    verdict.warnings.push(crate::cors::Warning {
                        code: "actual-skipped",
                        message: "the actual PUT request was not sent: set allow-unsafe-actual \
                                  on this endpoint to let the probe send it"
                            .into(),
                    });
                }
                store.ingest_probe(ProbeResult {
                    time: now,
                    url: url.clone(),
                    origin: origin.to_string(),
                    shape: shape.clone(),
                    critical,
                    preflight_request: Some(crate::cors::RawRequest {
                        method: "OPTIONS".into(),
                        url,
                        headers,
                    }),
                    instance: instance_fingerprint(&resp),
                    preflight: Some(resp),
                    actual_request: None,
                    actual: None,
                    transport: None,
                    verdict,
                    redirects: Vec::new(),
                });
            }
        }
    }
}

/// One step of one browser, with the server's decision in place of the network: the
/// sign-in or refresh when due, then the app's call (preflight first when the browser sends
/// one, the actual request 20 ms later when the browser lets it go).
fn step(b: &mut Browser, w: &mut World, now: EpochMs) {
    if let Some(grant) = b.grant_request(now, &mut w.rng) {
        let (raw, body) = w.serve_with_body(&grant, now);
        b.on_grant(Some((raw.status, body.as_bytes())), now, &mut w.rng);
    }
    let now = if b.is_partner() { now } else { now + 150 };
    let call = b.choose_call(&mut w.rng);
    let fetch = b.begin(call, BASE, &mut w.rng);
    if let Some(preflight) = b.preflight(&fetch, now) {
        let raw = w.serve(&preflight, now);
        if !b.on_preflight(&fetch, &raw, now) {
            return;
        }
    }
    let raw = w.serve(&b.actual(&fetch), now + 20);
    b.on_actual(&fetch, &raw);
}

/// Replays `span` of demo time from [`REPLAY_START`] with `seed` and returns the filled store
/// (event-time mode, the demo's store configuration). The store's "now" is the last event.
pub fn demo_store(span: EpochMs, seed: u64) -> Result<Store, ReplayError> {
    demo_replay_sampled(span, seed, span.max(1), |_| {})
}

/// [`demo_store`], handing the store to `on_sample` every `every` of demo time (after the log
/// batches up to that moment have been ingested), so a test can step through the incident in
/// virtual time and check what the dashboard would show at each moment.
pub fn demo_replay_sampled(
    span: EpochMs,
    seed: u64,
    every: EpochMs,
    mut on_sample: impl FnMut(&Store),
) -> Result<Store, ReplayError> {
    let every = every.max(BATCH_MS);
    let mut next_sample = REPLAY_START + every;
    let mut store = Store::new(crate::demo::store_config(), TimeMode::EventTime);
    let http_source = store.register_source("http.log");
    let auth_source = store.register_source("auth.log");
    store.set_source_state(http_source, "tailing");
    store.set_source_state(auth_source, "tailing");
    let mut world = World {
        script: Script::new(REPLAY_START),
        counters: Counters::default(),
        requests: 0,
        rng: fastrand::Rng::with_seed(seed),
        http: Feed {
            label: "http.log",
            source: http_source,
            parser: None,
            pending: Vec::new(),
            raw_count: 0,
        },
        auth: Feed {
            label: "auth.log",
            source: auth_source,
            parser: None,
            pending: Vec::new(),
            raw_count: 0,
        },
    };
    let mut browsers: Vec<Browser> = population().into_iter().map(Browser::new).collect();
    let end = REPLAY_START + span.max(0);
    // Ties broken by index so the order never depends on anything but the seed.
    let mut queue: BinaryHeap<Reverse<(EpochMs, usize)>> = (0..browsers.len())
        .map(|i| Reverse((REPLAY_START + world.rng.i64(0..=20 * SECOND), i)))
        .collect();
    let mut next_probe = REPLAY_START;
    let mut next_flush = REPLAY_START + BATCH_MS;
    while let Some(Reverse((t, i))) = queue.pop() {
        if t > end {
            break;
        }
        while next_flush <= t {
            world.http.flush(&mut store, next_flush)?;
            world.auth.flush(&mut store, next_flush)?;
            if next_flush >= next_sample {
                on_sample(&store);
                next_sample += every;
            }
            next_flush += BATCH_MS;
        }
        while next_probe <= t {
            world.probe_round(next_probe, &mut store);
            next_probe += PROBE_EVERY;
        }
        if let Some(b) = browsers.get_mut(i) {
            step(b, &mut world, t);
        }
        queue.push(Reverse((t + world.rng.i64(STEP_MS), i)));
    }
    world.http.flush(&mut store, next_flush.min(end))?;
    world.auth.flush(&mut store, next_flush.min(end))?;
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::event::AuthClass;

    #[test]
    fn replay_shows_every_fault() {
        let store = demo_store(REPLAY_SPAN, REPLAY_SEED).unwrap();
        let sources = store.sources();
        assert!(sources.iter().all(|s| s.parse_errors == 0), "{sources:?}");
        assert!(sources.iter().all(|s| s.format.is_some()));
        let totals = store.totals();
        let preflight_401 = totals
            .iter()
            .filter(|(k, _)| k.status == 401 && k.method == crate::sources::event::Method::Options)
            .map(|(_, n)| *n)
            .sum::<u64>();
        assert!(preflight_401 > 0, "H2 leaves challenged preflights");
        let expired: u64 = store
            .window(6 * crate::model::time::HOUR)
            .filter_map(|(_, b)| b)
            .map(|b| u64::from(b.auth[AuthClass::Expired as usize]))
            .sum();
        assert!(expired > 0, "H3 leaves expired tokens");
        assert!(
            store
                .probe_latest()
                .iter()
                .any(|p| p.verdict.code == "acao-multiple"
                    || !p.verdict.allowed && p.url.contains("orders")),
            "H4 blocks the orders probes"
        );
    }

    #[test]
    fn same_seed_same_store() {
        let a = demo_store(30 * MINUTE, 7).unwrap();
        let b = demo_store(30 * MINUTE, 7).unwrap();
        assert_eq!(a.totals(), b.totals());
        assert_eq!(a.now(), b.now());
        let la: Vec<&str> = a.raw_lines().map(|l| l.text.as_str()).collect();
        let lb: Vec<&str> = b.raw_lines().map(|l| l.text.as_str()).collect();
        assert_eq!(la, lb);
    }
}
