//! Cumulative probe counts since start: runs by result and durations by stage, per endpoint ×
//! origin × shape. The probe ring keeps only the latest results, and a Prometheus counter must
//! never go down, so these are kept apart from it.
//!
//! Memory bound: [`MAX_PROBE_KEYS`] keys of three short strings (URL without its query,
//! origin, shape name, each cut to [`MAX_LABEL`] bytes) and about 250 bytes of counters: under
//! 40 KB. Results past the cap are counted under one `(other)` key.

use rustc_hash::FxHashMap;

use crate::sources::event::ProbeResult;

/// Distinct endpoint × origin × shape keys counted apart; the rest share `(other)`.
pub const MAX_PROBE_KEYS: usize = 32;
/// Longest label kept, in bytes.
pub const MAX_LABEL: usize = 200;
/// Upper bounds of the duration buckets, in seconds (`+Inf` follows).
pub const DURATION_BUCKETS_S: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Where the browser's judgement of one probe ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeOutcome {
    Allowed,
    Blocked,
    /// No response to judge (connection failure, or corstop's own limit stopped it).
    Error,
}

impl ProbeOutcome {
    pub const ALL: [ProbeOutcome; 3] = [
        ProbeOutcome::Allowed,
        ProbeOutcome::Blocked,
        ProbeOutcome::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProbeOutcome::Allowed => "allowed",
            ProbeOutcome::Blocked => "blocked",
            ProbeOutcome::Error => "error",
        }
    }

    pub fn of(r: &ProbeResult) -> ProbeOutcome {
        let not_judged_locally = r
            .verdict
            .warnings
            .iter()
            .any(|w| w.code == crate::cors::codes::W_NOT_JUDGED_LOCALLY);
        if r.transport.is_some() || not_judged_locally {
            ProbeOutcome::Error
        } else if r.verdict.allowed {
            ProbeOutcome::Allowed
        } else {
            ProbeOutcome::Blocked
        }
    }
}

/// A fixed-bucket histogram of durations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Durations {
    /// Per bucket (not cumulative), the last one `+Inf`.
    pub buckets: [u64; DURATION_BUCKETS_S.len() + 1],
    pub sum_s: f64,
    pub count: u64,
}

impl Durations {
    pub fn observe(&mut self, seconds: f64) {
        let i = DURATION_BUCKETS_S
            .iter()
            .position(|&le| seconds <= le)
            .unwrap_or(DURATION_BUCKETS_S.len());
        self.buckets[i] += 1;
        self.sum_s += seconds;
        self.count += 1;
    }
}

/// The labels of one probe key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProbeKey {
    /// The URL without query string or fragment.
    pub endpoint: String,
    pub origin: String,
    pub shape: String,
}

impl ProbeKey {
    pub fn of(r: &ProbeResult) -> ProbeKey {
        let url = r.url.split(['?', '#']).next().unwrap_or_default();
        ProbeKey {
            endpoint: label(url),
            origin: label(&r.origin),
            shape: label(&r.shape.name),
        }
    }

    pub fn other() -> ProbeKey {
        ProbeKey {
            endpoint: "(other)".into(),
            origin: "(other)".into(),
            shape: "(other)".into(),
        }
    }
}

fn label(s: &str) -> String {
    let s = crate::model::text::inert(s);
    let mut cut = s.len().min(MAX_LABEL);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s[..cut].to_string()
}

/// Counts of one key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProbeCounts {
    /// By [`ProbeOutcome`], in [`ProbeOutcome::ALL`] order.
    pub runs: [u64; 3],
    pub preflight: Durations,
    pub actual: Durations,
}

/// Every probe result counted since start, bounded by [`MAX_PROBE_KEYS`].
#[derive(Clone, Debug, Default)]
pub struct ProbeTotals {
    index: FxHashMap<ProbeKey, usize>,
    cells: Vec<(ProbeKey, ProbeCounts)>,
    /// Results counted under `(other)` because the cap was reached.
    pub folded: u64,
}

impl ProbeTotals {
    pub fn record(&mut self, r: &ProbeResult) {
        let key = ProbeKey::of(r);
        let at = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                let key = if self.cells.len() >= MAX_PROBE_KEYS {
                    self.folded += 1;
                    ProbeKey::other()
                } else {
                    key
                };
                match self.index.get(&key) {
                    Some(&i) => i,
                    None => {
                        self.index.insert(key.clone(), self.cells.len());
                        self.cells.push((key, ProbeCounts::default()));
                        self.cells.len() - 1
                    }
                }
            }
        };
        let counts = &mut self.cells[at].1;
        let outcome = ProbeOutcome::of(r);
        counts.runs[ProbeOutcome::ALL
            .iter()
            .position(|o| *o == outcome)
            .unwrap_or(2)] += 1;
        if let Some(p) = &r.preflight {
            counts.preflight.observe(p.elapsed_ms as f64 / 1000.0);
        }
        if let Some(a) = &r.actual {
            counts.actual.observe(a.elapsed_ms as f64 / 1000.0);
        }
    }

    /// Adds what another store counted (the parallel reader's per-thread stores).
    pub fn merge(&mut self, other: ProbeTotals) {
        self.folded += other.folded;
        for (key, counts) in other.cells {
            let at = match self.index.get(&key) {
                Some(&i) => i,
                None if self.cells.len() < MAX_PROBE_KEYS => {
                    self.index.insert(key.clone(), self.cells.len());
                    self.cells.push((key, ProbeCounts::default()));
                    self.cells.len() - 1
                }
                None => {
                    self.folded += counts.runs.iter().sum::<u64>();
                    let other = ProbeKey::other();
                    match self.index.get(&other) {
                        Some(&i) => i,
                        None => {
                            self.index.insert(other.clone(), self.cells.len());
                            self.cells.push((other, ProbeCounts::default()));
                            self.cells.len() - 1
                        }
                    }
                }
            };
            let mine = &mut self.cells[at].1;
            for (a, b) in mine.runs.iter_mut().zip(counts.runs) {
                *a += b;
            }
            for (a, b) in [
                (&mut mine.preflight, counts.preflight),
                (&mut mine.actual, counts.actual),
            ] {
                for (x, y) in a.buckets.iter_mut().zip(b.buckets) {
                    *x += y;
                }
                a.sum_s += b.sum_s;
                a.count += b.count;
            }
        }
    }

    /// Every key with its counts, in first-seen order.
    pub fn cells(&self) -> &[(ProbeKey, ProbeCounts)] {
        &self.cells
    }

    /// Whether a key is counted under its own labels (not folded into `(other)`).
    pub fn has(&self, key: &ProbeKey) -> bool {
        self.index.contains_key(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_fall_in_the_first_bucket_that_holds_them() {
        let mut d = Durations::default();
        for s in [0.001, 0.005, 0.006, 3.0, 11.0] {
            d.observe(s);
        }
        assert_eq!(d.buckets[0], 2);
        assert_eq!(d.buckets[1], 1);
        assert_eq!(d.buckets[9], 1);
        assert_eq!(d.buckets[11], 1);
        assert_eq!(d.count, 5);
        assert!((d.sum_s - 14.012).abs() < 1e-9);
    }
}
