//! Merging one store into another: the headless reader parses byte ranges of a large file on
//! several threads, each into its own store, and folds them together in file order.
//!
//! Merging `b` into `a` gives the same counts as feeding `a`'s input then `b`'s input into one
//! store, as long as `b`'s input follows `a`'s (the reader merges in file order). Names are
//! interned in the same order a single store would have seen them, so the route and origin caps
//! fold the same names. Two documented approximations, both only past the caps: a name folded
//! into `(other)` by `b`'s own interner stays folded even when `a` had room for it, and
//! `(other)`'s distinct-name count is a floor.
//!
//! Both stores must share one [`StoreConfig`]; buckets of a store with a different bucket width
//! cannot be lined up and are left out (totals and per-source counters still merge).

use super::*;

/// Interns without counting an event for folded names (the caller counts the events).
fn intern_quiet(i: &mut Interner, name: &str) -> u16 {
    if let Some(&id) = i.index.get(name) {
        return id;
    }
    if i.names.len() >= i.cap {
        if i.other_names.len() < OTHER_DISTINCT_CAP {
            i.other_names.insert(fx_hash(name));
        }
        return OTHER;
    }
    let id = i.names.len() as u16;
    let boxed: Box<str> = name.into();
    i.names.push(boxed.clone());
    i.index.insert(boxed, id);
    id
}

/// Old id → new id for every name of `from`, interned into `into` in `from`'s order.
fn remap_names(into: &mut Interner, from: &Interner) -> Vec<u16> {
    let ids = from.names.iter().map(|n| intern_quiet(into, n)).collect();
    into.other_events += from.other_events;
    for h in &from.other_names {
        if into.other_names.len() >= OTHER_DISTINCT_CAP {
            break;
        }
        into.other_names.insert(*h);
    }
    ids
}

fn map_id(map: &[u16], id: u16) -> u16 {
    match id {
        OTHER | NO_ORIGIN => id,
        _ => map.get(id as usize).copied().unwrap_or(OTHER),
    }
}

impl Store {
    /// Adds everything `other` counted to this store. See the module documentation.
    pub fn merge(&mut self, other: Store) {
        let Store {
            cfg: other_cfg,
            now: other_now,
            generation: other_generation,
            head: other_head,
            buckets: other_buckets,
            routes: other_routes,
            origins: other_origins,
            sources: other_sources,
            totals: other_totals,
            totals_folded: other_totals_folded,
            dropped_too_old: other_dropped_too_old,
            dropped_future: other_dropped_future,
            latest_event_time: other_latest,
            earliest_event_time: other_earliest,
            probes: other_probes,
            probe_totals: other_probe_totals,
            probe_latest: _,
            probe_seq: _,
            probe_latest_results: other_probe_latest,
            raw: other_raw,
            raw_seq: _,
            auth_samples: other_auth_samples,
            mode: _,
            route_cache: _,
            origin_cache: _,
            pending_preflights: other_pending,
            pending_untracked: other_untracked,
            last_pairing_sweep: _,
            route_scratch: _,
            hot_bucket: _,
            hot_slot: _,
            client_failures: other_client_failures,
            // Events the other store still held for a jump are in its dropped-future count.
            clock_guard: _,
            // Merged stores read logs; the fleet view never merges.
            fleet: _,
        } = other;
        self.client_failures.merge(other_client_failures);

        // Sources are matched by label, so ids may differ between the two stores.
        let source_map: Vec<SourceId> = other_sources
            .iter()
            .map(|s| self.register_source(&s.label))
            .collect();
        let map_source = |s: SourceId| source_map.get(s as usize).copied().unwrap_or(s);
        let route_map = remap_names(&mut self.routes, &other_routes);
        let origin_map = remap_names(&mut self.origins, &other_origins);
        let remap = |k: HttpKey| HttpKey {
            route: map_id(&route_map, k.route),
            origin: map_id(&origin_map, k.origin),
            source: map_source(k.source),
            ..k
        };

        // Events of names that fold only now, because this store's interner was fuller.
        for (k, &c) in &other_totals {
            let m = remap(*k);
            if k.route != OTHER && m.route == OTHER {
                self.routes.other_events += c;
            }
            if k.origin != OTHER && k.origin != NO_ORIGIN && m.origin == OTHER {
                self.origins.other_events += c;
            }
        }

        for (k, c) in other_totals {
            let k = remap(k);
            if self.totals.len() >= self.cfg.max_total_keys && !self.totals.contains_key(&k) {
                self.totals_folded += c;
                *self.totals.entry(fold(k)).or_insert(0) += c;
            } else {
                *self.totals.entry(k).or_insert(0) += c;
            }
        }
        self.totals_folded += other_totals_folded;

        if other_now > self.now {
            self.now = other_now;
        }
        self.head = self.head.max(other_head);
        // Preflights still waiting in the other store (the end of its range) keep waiting here:
        // their request may be at the start of the next range.
        for ((client, route, origin), at) in other_pending {
            let key = (
                client,
                map_id(&route_map, route),
                map_id(&origin_map, origin),
            );
            self.pending_preflights.entry(key).or_insert(at);
        }
        self.pending_untracked += other_untracked;
        if other_cfg.bucket_ms == self.cfg.bucket_ms {
            self.merge_buckets(other_buckets, &remap);
        } else {
            tracing::warn!("stores with different bucket widths: buckets not merged");
        }

        for (i, os) in other_sources.into_iter().enumerate() {
            let id = source_map[i];
            let s = self.source_mut(id);
            s.lines += os.lines;
            s.bytes += os.bytes;
            s.http_events += os.http_events;
            s.auth_events += os.auth_events;
            s.skipped += os.skipped;
            s.parse_errors += os.parse_errors;
            if os.last_error.is_some() {
                s.last_error = os.last_error;
            }
            if os.problem.is_some() {
                s.problem = os.problem;
            }
            if s.format.is_none() {
                s.format = os.format;
            }
            if s.state == "starting" && os.state != "starting" {
                s.state = os.state;
            }
            s.last_event_time = max_opt(s.last_event_time, os.last_event_time);
            s.skipped_historical += os.skipped_historical;
            s.skipped_historical_newest =
                max_opt(s.skipped_historical_newest, os.skipped_historical_newest);
            s.last_line_wall = max_opt(s.last_line_wall, os.last_line_wall);
            for (a, b) in s.auth_by_class.iter_mut().zip(os.auth_by_class) {
                *a += b;
            }
            for (sec, n) in os.rate.slots {
                if n > 0 {
                    s.rate.add(sec * SECOND, n);
                }
            }
        }

        self.dropped_too_old += other_dropped_too_old;
        self.dropped_future += other_dropped_future;
        self.latest_event_time = max_opt(self.latest_event_time, other_latest);
        self.earliest_event_time = match (self.earliest_event_time, other_earliest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };

        self.probe_totals.merge(other_probe_totals);
        for result in other_probe_latest {
            let key = (
                result.url.clone(),
                result.origin.clone(),
                result.shape.name.clone(),
            );
            match self.probe_latest.get(&key) {
                Some(&i) => self.probe_latest_results[i] = result,
                None if self.probe_latest.len() < MAX_PROBE_KEYS => {
                    self.probe_latest
                        .insert(key, self.probe_latest_results.len());
                    self.probe_latest_results.push(result);
                }
                None => {}
            }
        }
        for result in other_probes {
            if self.probes.len() >= self.cfg.probe_history {
                self.probes.pop_front();
            }
            self.probe_seq += 1;
            self.probes.push_back(result);
        }

        let raw_cap = self.cfg.raw_lines_per_source * self.sources.len().max(1);
        for mut line in other_raw {
            while self.raw.len() >= raw_cap {
                self.raw.pop_front();
            }
            self.raw_seq += 1;
            line.seq = self.raw_seq;
            line.source = map_source(line.source);
            self.raw.push_back(line);
        }
        for sample in other_auth_samples {
            if self.auth_samples.len() >= AUTH_SAMPLES {
                self.auth_samples.pop_front();
            }
            self.auth_samples.push_back(sample);
        }
        self.generation += other_generation + 1;
    }

    fn merge_buckets(&mut self, other: Vec<Bucket>, remap: &dyn Fn(HttpKey) -> HttpKey) {
        let n = self.buckets.len() as i64;
        let cap = self.cfg.max_keys_per_bucket;
        for ob in other {
            if ob.index == i64::MIN {
                continue;
            }
            let slot = &mut self.buckets[ob.index.rem_euclid(n) as usize];
            if slot.index > ob.index {
                // This store already moved that slot past `ob`: ob's events are out of
                // retention, as they would have been when fed in order.
                self.dropped_too_old += ob.http_total()
                    + ob.auth.iter().map(|&c| c as u64).sum::<u64>()
                    + ob.auth_ok as u64;
                continue;
            }
            if slot.index < ob.index {
                slot.reset(ob.index);
            }
            for (k, c) in ob.http {
                let k = remap(k);
                let k = if slot.http.len() >= cap && !slot.http.contains_key(&k) {
                    slot.folded += c;
                    fold(k)
                } else {
                    k
                };
                *slot.http.entry(k).or_insert(0) += c;
            }
            for (a, b) in slot.auth.iter_mut().zip(ob.auth) {
                *a += b;
            }
            slot.auth_ok += ob.auth_ok;
            slot.latency_sum_ms += ob.latency_sum_ms;
            slot.latency_n += ob.latency_n;
            slot.folded += ob.folded;
            for ((route, origin), (followed, unfollowed)) in ob.followups {
                // Names are remapped through the same function as the counters' keys.
                let k = remap(HttpKey {
                    route,
                    origin,
                    status: 0,
                    method: Method::Get,
                    source: 0,
                    acao: AcaoSeen::NotLogged,
                    origin_derived: false,
                });
                let e = slot.followups.entry((k.route, k.origin)).or_insert((0, 0));
                e.0 += followed;
                e.1 += unfollowed;
            }
        }
    }
}

fn max_opt(a: Option<EpochMs>, b: Option<EpochMs>) -> Option<EpochMs> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    const T0: EpochMs = 1_775_298_662_000;

    fn rec(i: i64) -> HttpRecord<'static> {
        let origins = ["https://app.contoso.com", "https://admin.contoso.com", "-"];
        HttpRecord {
            time: T0 + i * 700,
            method: if i % 3 == 0 {
                Method::Options
            } else {
                Method::Get
            },
            path: Cow::Owned(format!("/api/r{}/{}", i % 7, i)),
            status: [200, 204, 401, 403][(i % 4) as usize],
            latency_ms: Some((i % 50) as u32),
            origin: Some(Cow::Borrowed(origins[(i % 3) as usize])),
            ..Default::default()
        }
    }

    fn auth(i: i64) -> AuthRecord<'static> {
        AuthRecord {
            time: T0 + i * 700,
            operation: "ValidateToken".into(),
            class: (i % 2 == 0).then_some(AuthClass::Expired),
            status: Some(401),
            message: format!("IDX10223 n={i}").into(),
        }
    }

    fn feed(store: &mut Store, src: SourceId, range: std::ops::Range<i64>) {
        for i in range.clone() {
            store.ingest_http(src, &rec(i));
            if i % 5 == 0 {
                store.ingest_auth(src, &auth(i));
            }
            if i % 11 == 0 {
                store.note_parse_error(src, format!("bad {i}").as_bytes(), "nope");
            }
            store.note_raw_line(src, 0, &format!("line {i}"));
        }
        store.add_source_lines(src, range_len(&range), 10 * range_len(&range), 1);
    }

    fn range_len(r: &std::ops::Range<i64>) -> u64 {
        (r.end - r.start) as u64
    }

    /// Everything observable, by name rather than id.
    fn snapshot(s: &Store) -> Vec<String> {
        let mut out = Vec::new();
        let mut totals: Vec<String> = s
            .totals()
            .iter()
            .map(|(k, c)| {
                format!(
                    "T {} {} {} {} {} {}",
                    s.route_name(k.route),
                    s.origin_name(k.origin),
                    k.method,
                    k.status,
                    s.sources()[k.source as usize].label,
                    c
                )
            })
            .collect();
        totals.sort();
        out.extend(totals);
        for (start, b) in s.window(s.config().retention_ms) {
            let Some(b) = b else { continue };
            let mut keys: Vec<String> = b
                .http
                .iter()
                .map(|(k, c)| {
                    format!(
                        "B {start} {} {} {} {} {c}",
                        s.route_name(k.route),
                        s.origin_name(k.origin),
                        k.method,
                        k.status
                    )
                })
                .collect();
            keys.sort();
            out.extend(keys);
            out.push(format!(
                "A {start} {:?} {} {} {} {}",
                b.auth, b.auth_ok, b.latency_sum_ms, b.latency_n, b.folded
            ));
        }
        for src in s.sources() {
            out.push(format!(
                "S {} {} {} {} {} {} {} {:?} {:?} {:?}",
                src.label,
                src.lines,
                src.bytes,
                src.http_events,
                src.auth_events,
                src.skipped,
                src.parse_errors,
                src.last_error,
                src.last_event_time,
                src.auth_by_class
            ));
        }
        out.extend(s.raw_lines().map(|l| format!("R {} {}", l.source, l.text)));
        out.extend(s.auth_samples().map(|a| format!("U {}", a.message)));
        out.push(format!(
            "X {} {} {:?} {:?} {} {} {}",
            s.dropped_too_old,
            s.dropped_future,
            s.latest_event_time,
            s.earliest_event_time,
            s.now(),
            s.routes.other_events,
            s.totals_folded()
        ));
        out
    }

    fn check_split(cfg: StoreConfig, total: i64, split: i64) {
        let mut single = Store::new(cfg.clone(), TimeMode::EventTime);
        let a = single.register_source("a");
        let b = single.register_source("b");
        feed(&mut single, a, 0..total);
        feed(&mut single, b, 0..7);

        let mut first = Store::new(cfg.clone(), TimeMode::EventTime);
        let a1 = first.register_source("a");
        first.register_source("b");
        feed(&mut first, a1, 0..split);
        let mut second = Store::new(cfg, TimeMode::EventTime);
        // Registered in another order: ids differ, labels match.
        let b2 = second.register_source("b");
        let a2 = second.register_source("a");
        feed(&mut second, a2, split..total);
        // Source "b" is fed last in the single store too.
        let mut third = Store::new(second.config().clone(), TimeMode::EventTime);
        let b3 = third.register_source("b");
        feed(&mut third, b3, 0..7);
        let _ = b2;
        first.merge(second);
        first.merge(third);
        // `add_source_lines` skipped counts: single got one call per feed, as did the parts.
        let mut s1 = snapshot(&single);
        let mut s2 = snapshot(&first);
        // The single store counted one `add_source_lines` for source a, the parts two.
        s1.retain(|l| !l.starts_with("S a"));
        s2.retain(|l| !l.starts_with("S a"));
        assert_eq!(s1, s2);
        let sa = &single.sources()[0];
        let ma = &first.sources()[0];
        assert_eq!(
            (sa.lines, sa.http_events, sa.auth_events, sa.parse_errors),
            (ma.lines, ma.http_events, ma.auth_events, ma.parse_errors)
        );
        assert_eq!(sa.last_error, ma.last_error);
    }

    #[test]
    fn merge_equals_single_store() {
        check_split(StoreConfig::default(), 3000, 1234);
        // Retention shorter than the data: old buckets retire the same way.
        let cfg = StoreConfig {
            retention_ms: 300 * SECOND,
            ..Default::default()
        };
        check_split(cfg, 3000, 2100);
    }

    #[test]
    fn merge_conserves_counts_past_the_caps() {
        // With tiny caps the part stores fold different names than one store would (see the
        // module documentation), but no event is lost or counted twice.
        let cfg = StoreConfig {
            retention_ms: 120 * SECOND,
            max_routes: 4,
            max_origins: 2,
            max_keys_per_bucket: 6,
            max_total_keys: 40,
            raw_lines_per_source: 5,
            ..Default::default()
        };
        let mut single = Store::new(cfg.clone(), TimeMode::EventTime);
        let a = single.register_source("a");
        feed(&mut single, a, 0..600);
        let mut first = Store::new(cfg.clone(), TimeMode::EventTime);
        let a1 = first.register_source("a");
        feed(&mut first, a1, 0..250);
        let mut second = Store::new(cfg, TimeMode::EventTime);
        let a2 = second.register_source("a");
        feed(&mut second, a2, 250..600);
        first.merge(second);

        let sum = |s: &Store| s.totals().values().sum::<u64>();
        assert_eq!(sum(&single), 600);
        assert_eq!(sum(&first), 600);
        let series = |s: &Store| -> Vec<(EpochMs, u64, u32)> {
            s.window(s.config().retention_ms)
                .map(|(t, b)| {
                    (
                        t,
                        b.map_or(0, super::super::Bucket::http_total),
                        b.map_or(0, |b| b.auth.iter().sum()),
                    )
                })
                .collect()
        };
        assert_eq!(series(&single), series(&first));
        for (_, b) in first.window(first.config().retention_ms) {
            if let Some(b) = b {
                // Folded keys keep method and status: at most the cap plus those (2 methods × 4 statuses).
                assert!(b.http.len() <= 6 + 8);
            }
        }
        let names = |s: &Store| {
            (0..s.routes.len() as u16)
                .map(|i| s.route_name(i).to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&single), names(&first));
        assert_eq!(single.dropped_too_old, first.dropped_too_old);
        let (sa, ma) = (&single.sources()[0], &first.sources()[0]);
        assert_eq!(
            (sa.http_events, sa.auth_events, sa.parse_errors),
            (ma.http_events, ma.auth_events, ma.parse_errors)
        );
    }

    #[test]
    fn merge_into_empty_store() {
        let mut part = Store::new(StoreConfig::default(), TimeMode::EventTime);
        let src = part.register_source("x");
        feed(&mut part, src, 0..50);
        let want = snapshot(&part);
        let mut empty = Store::new(StoreConfig::default(), TimeMode::EventTime);
        empty.merge(part);
        assert_eq!(snapshot(&empty), want);
    }
}
