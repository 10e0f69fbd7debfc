//! The fleet's figures in the store: each refresh from Prometheus replaces the counters with
//! the fleet's per-step increases, spread over the buckets of each step, so every panel that
//! reads buckets (overview, trends, origins, auth, triage) shows the fleet unchanged.
//!
//! What the metrics do not carry is not invented: no raw lines, no client pairing of
//! preflights, no latencies. The latest per-instance table and probe rows are kept as they
//! came (bounded by [`crate::sources::fleet::MAX_INSTANCES`] and `MAX_PROBE_ROWS`).

use crate::model::time::EpochMs;
use crate::sources::event::{AcaoSeen, Method};
use crate::sources::fleet::FleetData;

use super::{HttpKey, NO_ORIGIN, Store, fold};

/// `n` split over `k` parts, the remainder going to the latest ones.
fn spread(n: u64, k: u64) -> impl Iterator<Item = u64> {
    let (each, rest) = (n / k, n % k);
    (0..k).map(move |j| each + u64::from(j >= k - rest))
}

impl Store {
    /// Replaces the counters with one refresh of the fleet's figures.
    pub fn apply_fleet(&mut self, mut data: FleetData) {
        let source = data.source;
        for b in &mut self.buckets {
            b.reset(i64::MIN);
        }
        self.totals.clear();
        self.totals_folded = 0;
        self.head = i64::MIN;
        self.hot_bucket = i64::MIN;
        self.latest_event_time = None;
        self.earliest_event_time = None;

        let w = self.cfg.bucket_ms;
        let k = (data.step_ms / w).max(1);
        let (key_cap, total_cap) = (self.cfg.max_keys_per_bucket, self.cfg.max_total_keys);
        for s in std::mem::take(&mut data.requests) {
            let route = self.routes.intern(&s.route);
            let origin = s
                .origin
                .as_deref()
                .map_or(NO_ORIGIN, |o| self.origins.intern(o));
            let key = HttpKey {
                route,
                origin,
                status: s.status,
                method: if s.preflight {
                    Method::Options
                } else {
                    Method::Get
                },
                source,
                acao: AcaoSeen::NotLogged,
                origin_derived: false,
            };
            for (t, v) in s.points {
                let n = v.round() as u64;
                if n == 0 {
                    continue;
                }
                add(&mut self.totals, key, n, total_cap);
                for (j, part) in spread(n, k as u64).enumerate() {
                    let at = bucket_time(t, data.step_ms, w, j as EpochMs);
                    if part == 0 {
                        continue;
                    }
                    self.note_event_time(at);
                    if let Some(b) = self.bucket_for(at) {
                        let before = b.http.len();
                        add_u32(&mut b.http, key, part, key_cap);
                        if b.http.len() == before && !b.http.contains_key(&key) {
                            b.folded += 1;
                        }
                    }
                }
            }
        }
        for (class, points) in std::mem::take(&mut data.auth) {
            for (t, v) in points {
                let n = v.round() as u64;
                self.source_mut(source).auth_by_class[class as usize] += n;
                for (j, part) in spread(n, k as u64).enumerate() {
                    let at = bucket_time(t, data.step_ms, w, j as EpochMs);
                    if part == 0 {
                        continue;
                    }
                    self.note_event_time(at);
                    if let Some(b) = self.bucket_for(at) {
                        b.auth[class as usize] += part as u32;
                    }
                }
            }
        }
        let stats = self.source_mut(source);
        stats.state = data.summary();
        stats.last_event_time = Some(data.at);
        self.fleet = Some(Box::new(data));
        self.generation += 1;
    }

    /// The latest fleet refresh (instances and probes; its counters are in the buckets).
    pub fn fleet(&self) -> Option<&FleetData> {
        self.fleet.as_deref()
    }
}

/// Start of the `j`th bucket of the step ending at `t`. A window ends with the bucket that
/// holds its "now", so the step's last part goes into the bucket starting at `t`.
fn bucket_time(t: EpochMs, step: EpochMs, w: EpochMs, j: EpochMs) -> EpochMs {
    (t - step).div_euclid(w) * w + (j + 1) * w
}

fn add(map: &mut rustc_hash::FxHashMap<HttpKey, u64>, key: HttpKey, n: u64, cap: usize) {
    let key = if map.len() >= cap && !map.contains_key(&key) {
        fold(key)
    } else {
        key
    };
    *map.entry(key).or_insert(0) += n;
}

fn add_u32(map: &mut rustc_hash::FxHashMap<HttpKey, u32>, key: HttpKey, n: u64, cap: usize) {
    let key = if map.len() >= cap && !map.contains_key(&key) {
        fold(key)
    } else {
        key
    };
    let slot = map.entry(key).or_insert(0);
    *slot = slot.saturating_add(n.min(u64::from(u32::MAX)) as u32);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::time::MINUTE;
    use crate::sources::event::AuthClass;
    use crate::sources::fleet::{FleetData, Instance, RequestSeries};
    use crate::store::{StoreConfig, TimeMode};

    fn series(
        route: &str,
        origin: Option<&str>,
        preflight: bool,
        status: u16,
        points: &[(EpochMs, f64)],
    ) -> RequestSeries {
        RequestSeries {
            route: route.into(),
            origin: origin.map(Into::into),
            preflight,
            status,
            points: points.to_vec(),
        }
    }

    #[test]
    fn spreading_keeps_the_count() {
        for (n, k) in [(0, 6), (5, 6), (6, 6), (61, 6), (7, 1)] {
            let parts: Vec<u64> = spread(n, k).collect();
            assert_eq!(parts.len() as u64, k);
            assert_eq!(parts.iter().sum::<u64>(), n, "{n} over {k}");
            assert!(parts.iter().max().unwrap() - parts.iter().min().unwrap() <= 1);
        }
    }

    #[test]
    fn a_refresh_replaces_the_counters_with_the_fleets() {
        let now = 1_700_000_000_000 / MINUTE * MINUTE;
        let mut store = Store::new(StoreConfig::default(), TimeMode::Live).with_now(now);
        let src = store.register_source("prometheus http://prom:9090");
        let data = |scale: f64| FleetData {
            source: src,
            server: "http://prom:9090".into(),
            at: now,
            step_ms: MINUTE,
            requests: vec![
                series(
                    "/api/orders",
                    Some("https://app.example"),
                    true,
                    403,
                    &[(now - MINUTE, 12.0 * scale), (now, 6.4 * scale)],
                ),
                series("/api/orders", None, false, 200, &[(now, 30.0 * scale)]),
            ],
            auth: vec![(AuthClass::Expired, vec![(now, 5.0 * scale)])],
            instances: vec![
                Instance {
                    instance: "a:9464".into(),
                    up: true,
                    ..Instance::default()
                },
                Instance {
                    instance: "b:9464".into(),
                    up: false,
                    ..Instance::default()
                },
            ],
            ..FleetData::default()
        };
        store.apply_fleet(data(1.0));
        let forbidden = |s: &Store, span| {
            s.sum_window(span, |k| k.method == Method::Options && k.status == 403)
        };
        assert_eq!(forbidden(&store, 15 * MINUTE), 18);
        // The last step's six went into the minute that ends with `now`'s bucket.
        assert_eq!(forbidden(&store, MINUTE), 6);
        assert_eq!(store.sum_window(15 * MINUTE, |k| k.origin == NO_ORIGIN), 30);
        let auth: u32 = store
            .window(15 * MINUTE)
            .filter_map(|(_, b)| b)
            .map(|b| b.auth[AuthClass::Expired as usize])
            .sum();
        assert_eq!(auth, 5);
        assert_eq!(store.sources()[0].state, "2 agents, 1 up");
        assert_eq!(store.totals().values().sum::<u64>(), 48);
        // A second refresh replaces, it does not add.
        store.apply_fleet(data(2.0));
        assert_eq!(forbidden(&store, 15 * MINUTE), 37);
        assert_eq!(store.totals().values().sum::<u64>(), 97);
        assert_eq!(store.fleet().unwrap().instances.len(), 2);
    }
}
