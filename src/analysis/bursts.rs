//! Token-expiry burst analysis: bursts of 401/403 against a robust baseline, their overlap with
//! `expired` signatures, and their recurrence period compared with token lifetimes.
//!
//! Everything here is a pure function of per-bucket series so that live data and replayed
//! history give the same answers, and fixtures give deterministic ones.

use serde::Serialize;

use crate::time::{EpochMs, MINUTE, format_duration};

/// How sensitive burst detection is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurstParams {
    /// Buckets of history the baseline looks back over.
    pub baseline_buckets: usize,
    /// Robust z-score a bucket must exceed (in units of MAD scaled to a standard deviation).
    pub threshold: f64,
    /// Excess over the baseline a bucket needs at least, in counts, so that a quiet series
    /// (MAD zero) does not call every stray 401 a burst.
    pub min_excess: f64,
    /// Quiet buckets allowed inside one burst before it is split in two.
    pub max_gap: usize,
}

impl Default for BurstParams {
    fn default() -> Self {
        BurstParams {
            baseline_buckets: 30,
            threshold: 3.5,
            min_excess: 3.0,
            max_gap: 1,
        }
    }
}

/// One burst: an interval of buckets well above the baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Burst {
    /// Index of the first and last bucket of the burst in the input series.
    pub first: usize,
    pub last: usize,
    pub start: EpochMs,
    /// End of the last bucket (exclusive).
    pub end: EpochMs,
    pub peak: u32,
    pub peak_at: EpochMs,
    /// All failures inside the burst.
    pub count: u64,
    /// Failures above the baseline inside the burst.
    pub excess: f64,
    pub baseline: f64,
}

fn median(sorted: &[f64]) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Median and MAD of a window.
fn median_mad(window: &[f64], scratch: &mut Vec<f64>) -> (f64, f64) {
    scratch.clear();
    scratch.extend_from_slice(window);
    scratch.sort_by(|a, b| a.total_cmp(b));
    let med = median(scratch);
    for v in scratch.iter_mut() {
        *v = (*v - med).abs();
    }
    scratch.sort_by(|a, b| a.total_cmp(b));
    (med, median(scratch))
}

/// Detects bursts in a per-bucket failure series. `start` is the start of bucket 0.
///
/// The baseline of a bucket is the median of the preceding `baseline_buckets` buckets that
/// were not themselves part of a burst, so a long burst does not raise its own baseline.
pub fn detect_bursts(
    series: &[u32],
    start: EpochMs,
    bucket_ms: EpochMs,
    p: &BurstParams,
) -> Vec<Burst> {
    let mut hot = vec![false; series.len()];
    let mut baselines = vec![0.0; series.len()];
    let mut history: Vec<f64> = Vec::with_capacity(p.baseline_buckets);
    let mut scratch = Vec::with_capacity(p.baseline_buckets);
    for (i, &v) in series.iter().enumerate() {
        let v = v as f64;
        let (med, mad) = median_mad(&history, &mut scratch);
        baselines[i] = med;
        // 1.4826 scales the MAD to a standard deviation for normal noise.
        let spread = (mad * 1.4826).max(1.0);
        let is_hot = v - med >= p.min_excess && (v - med) / spread >= p.threshold;
        hot[i] = is_hot;
        if !is_hot {
            if history.len() == p.baseline_buckets {
                history.remove(0);
            }
            history.push(v);
        }
    }
    let mut bursts = Vec::new();
    let mut i = 0;
    while i < series.len() {
        if !hot[i] {
            i += 1;
            continue;
        }
        let first = i;
        let mut last = i;
        let mut j = i + 1;
        while j < series.len() {
            if hot[j] {
                last = j;
                j += 1;
            } else if j - last <= p.max_gap {
                j += 1;
            } else {
                break;
            }
        }
        let baseline = baselines[first];
        let mut count = 0u64;
        let mut excess = 0.0;
        let mut peak = 0;
        let mut peak_idx = first;
        for (k, &v) in series.iter().enumerate().take(last + 1).skip(first) {
            count += v as u64;
            excess += (v as f64 - baseline).max(0.0);
            if v > peak {
                peak = v;
                peak_idx = k;
            }
        }
        bursts.push(Burst {
            first,
            last,
            start: start + first as EpochMs * bucket_ms,
            end: start + (last + 1) as EpochMs * bucket_ms,
            peak,
            peak_at: start + peak_idx as EpochMs * bucket_ms,
            count,
            excess,
            baseline,
        });
        i = last + 1;
    }
    bursts
}

/// How well bursts line up with `expired` signatures in the auth log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpiryCorrelation {
    /// Share of burst volume matched by `expired` events within ±1 bucket (0..=1).
    pub expired_share: f64,
    /// Pearson correlation of the failure series and the `expired` series (None when flat).
    pub series_correlation: Option<f64>,
}

/// Correlates bursts with the per-bucket `expired` signature counts.
pub fn correlate_expired(failures: &[u32], expired: &[u32], bursts: &[Burst]) -> ExpiryCorrelation {
    let n = failures.len().min(expired.len());
    let mut burst_volume = 0.0;
    let mut matched = 0.0;
    for b in bursts {
        let lo = b.first.saturating_sub(1);
        let hi = (b.last + 1).min(n.saturating_sub(1));
        if lo > hi || b.first >= n {
            continue;
        }
        let exp: f64 = expired[lo..=hi].iter().map(|&v| v as f64).sum();
        let vol = b.excess.max(1.0);
        burst_volume += vol;
        matched += exp.min(vol);
    }
    let expired_share = if burst_volume > 0.0 {
        matched / burst_volume
    } else {
        0.0
    };
    ExpiryCorrelation {
        expired_share,
        series_correlation: pearson(&failures[..n], &expired[..n]),
    }
}

/// Pearson correlation; `None` when either series is constant or too short.
pub fn pearson(a: &[u32], b: &[u32]) -> Option<f64> {
    let n = a.len().min(b.len());
    if n < 3 {
        return None;
    }
    let ma = a[..n].iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    let mb = b[..n].iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let da = a[i] as f64 - ma;
        let db = b[i] as f64 - mb;
        sab += da * db;
        saa += da * da;
        sbb += db * db;
    }
    if saa == 0.0 || sbb == 0.0 {
        return None;
    }
    Some(sab / (saa * sbb).sqrt())
}

/// A recurrence period found in burst start times.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Period {
    pub period_ms: EpochMs,
    /// Spread of the matched gaps (median absolute deviation).
    pub jitter_ms: EpochMs,
    /// Share of bursts followed by another one period later (0..=1).
    pub support: f64,
    /// How many bursts the estimate rests on.
    pub bursts: usize,
    /// The configured token lifetime it matches, if any.
    pub matches_lifetime: Option<EpochMs>,
    /// When the next burst is due (last burst start + period).
    pub next_due: EpochMs,
}

impl Period {
    /// "bursts every 59m ±2m, matches the 1h access-token lifetime"
    pub fn describe(&self) -> String {
        let mut s = format!(
            "bursts every {} ±{}",
            format_duration(self.period_ms),
            format_duration(self.jitter_ms.max(MINUTE / 60))
        );
        match self.matches_lifetime {
            Some(l) => s.push_str(&format!(
                ", matches the {} access-token lifetime",
                format_duration(l)
            )),
            None => s.push_str(", matches no configured token lifetime"),
        }
        s
    }
}

/// Least share of bursts a period must explain to be reported.
const MIN_SUPPORT: f64 = 0.6;

/// Estimates the recurrence period of bursts from their start times.
///
/// Candidates are every difference between two burst starts; a candidate's support is the
/// share of bursts that have a successor one candidate later (within tolerance). The smallest
/// well-supported candidate wins, so interleaved populations (gaps of 20m, 40m, 20m, ...) give
/// their true common period (60m) rather than either gap.
pub fn estimate_period(
    starts: &[EpochMs],
    bucket_ms: EpochMs,
    lifetimes: &[EpochMs],
) -> Option<Period> {
    if starts.len() < 3 {
        return None;
    }
    let mut starts = starts.to_vec();
    starts.sort_unstable();
    let mut candidates: Vec<EpochMs> = Vec::new();
    for i in 0..starts.len() {
        for j in i + 1..starts.len() {
            candidates.push(starts[j] - starts[i]);
        }
    }
    candidates.sort_unstable();
    candidates.dedup();
    let last = *starts.last()?;
    let mut best: Option<(EpochMs, f64, Vec<EpochMs>)> = None;
    for &cand in &candidates {
        if cand < 2 * bucket_ms {
            continue;
        }
        let tol = (cand / 20).max(2 * bucket_ms);
        let mut eligible = 0;
        let mut hits = 0;
        let mut gaps = Vec::new();
        for &s in &starts {
            // Only bursts that have had time to recur count against the candidate.
            if s + cand - tol > last {
                continue;
            }
            eligible += 1;
            if let Some(&next) = starts
                .iter()
                .filter(|&&t| t > s)
                .min_by_key(|&&t| (t - s - cand).abs())
                && (next - s - cand).abs() <= tol
            {
                hits += 1;
                gaps.push(next - s);
            }
        }
        // A period needs at least three observed recurrences to be more than a coincidence.
        if eligible < 3 || hits < 3 {
            continue;
        }
        let support = hits as f64 / eligible as f64;
        if support >= MIN_SUPPORT {
            // The smallest well-supported candidate wins; stop at the first.
            best = Some((cand, support, gaps));
            break;
        }
    }
    let (_, support, mut gaps) = best?;
    gaps.sort_unstable();
    let period = gaps[gaps.len() / 2];
    let mut dev: Vec<EpochMs> = gaps.iter().map(|g| (g - period).abs()).collect();
    dev.sort_unstable();
    let jitter = dev[dev.len() / 2];
    let matches_lifetime = lifetimes
        .iter()
        .copied()
        .filter(|&l| (period - l).abs() <= (l / 10).max(2 * bucket_ms))
        .min_by_key(|&l| (period - l).abs());
    Some(Period {
        period_ms: period,
        jitter_ms: jitter,
        support,
        bursts: starts.len(),
        matches_lifetime,
        next_due: last + period,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: EpochMs = MINUTE;

    /// A noisy background with bursts at the given bucket offsets.
    fn series(len: usize, bursts: &[usize], height: u32, seed: u64) -> Vec<u32> {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut s: Vec<u32> = (0..len).map(|_| rng.u32(0..4)).collect();
        for &b in bursts {
            for (k, v) in s.iter_mut().skip(b).take(4).enumerate() {
                *v += height - (k as u32) * height / 5;
            }
        }
        s
    }

    #[test]
    fn finds_bursts_in_noise() {
        let s = series(300, &[40, 100, 160, 220], 40, 1);
        let bursts = detect_bursts(&s, 0, W, &BurstParams::default());
        let firsts: Vec<usize> = bursts.iter().map(|b| b.first).collect();
        assert_eq!(firsts, vec![40, 100, 160, 220]);
        for b in &bursts {
            assert!(b.last >= b.first + 2, "{b:?}");
            assert!(b.peak >= 40);
            assert_eq!(b.start, b.first as EpochMs * W);
        }
    }

    #[test]
    fn flat_and_noisy_series_have_no_bursts() {
        let quiet = vec![0u32; 200];
        assert!(detect_bursts(&quiet, 0, W, &BurstParams::default()).is_empty());
        let noise = series(400, &[], 0, 7);
        assert!(detect_bursts(&noise, 0, W, &BurstParams::default()).is_empty());
        // A single stray 401 on a silent route is not a burst.
        let mut lone = vec![0u32; 100];
        lone[50] = 2;
        assert!(detect_bursts(&lone, 0, W, &BurstParams::default()).is_empty());
    }

    #[test]
    fn sensitivity_is_configurable() {
        let s = series(200, &[100], 8, 3);
        let strict = BurstParams {
            threshold: 10.0,
            ..Default::default()
        };
        assert!(detect_bursts(&s, 0, W, &strict).is_empty());
        assert_eq!(detect_bursts(&s, 0, W, &BurstParams::default()).len(), 1);
    }

    #[test]
    fn expired_correlation() {
        let s = series(300, &[40, 100, 160], 40, 2);
        let bursts = detect_bursts(&s, 0, W, &BurstParams::default());
        // Expired signatures in the same buckets as the bursts.
        let mut expired = vec![0u32; 300];
        for b in &bursts {
            for v in expired.iter_mut().take(b.last + 1).skip(b.first) {
                *v = 30;
            }
        }
        let c = correlate_expired(&s, &expired, &bursts);
        assert!(c.expired_share > 0.8, "{c:?}");
        assert!(c.series_correlation.unwrap() > 0.8, "{c:?}");
        // Unrelated auth failures elsewhere: little overlap.
        let mut elsewhere = vec![0u32; 300];
        for v in elsewhere.iter_mut().skip(250).take(10) {
            *v = 30;
        }
        let c = correlate_expired(&s, &elsewhere, &bursts);
        assert!(c.expired_share < 0.05, "{c:?}");
        assert!(c.series_correlation.unwrap() < 0.2, "{c:?}");
    }

    fn starts(mins: &[i64]) -> Vec<EpochMs> {
        mins.iter().map(|m| m * MINUTE).collect()
    }

    #[test]
    fn period_table() {
        let hour = 60 * MINUTE;
        struct Case {
            name: &'static str,
            starts: Vec<EpochMs>,
            want: Option<(i64, Option<EpochMs>)>,
        }
        let cases = [
            Case {
                name: "exact hourly",
                starts: starts(&[5, 65, 125, 185, 245]),
                want: Some((60, Some(hour))),
            },
            Case {
                name: "hourly with jitter",
                starts: starts(&[5, 63, 124, 186, 243, 305]),
                want: Some((61, Some(hour))),
            },
            Case {
                name: "hourly with one burst missing",
                starts: starts(&[0, 60, 180, 240, 300]),
                want: Some((60, Some(hour))),
            },
            Case {
                name: "hourly with a stray burst",
                starts: starts(&[0, 60, 97, 120, 180, 240]),
                want: Some((60, Some(hour))),
            },
            Case {
                name: "two interleaved populations",
                starts: starts(&[0, 20, 60, 80, 120, 140, 180, 200]),
                want: Some((60, Some(hour))),
            },
            Case {
                name: "eight-hour tokens",
                starts: starts(&[0, 480, 960, 1440]),
                want: Some((480, Some(8 * hour))),
            },
            Case {
                name: "periodic but no lifetime matches",
                starts: starts(&[0, 25, 50, 75, 100]),
                want: Some((25, None)),
            },
            Case {
                // Gaps that keep growing (7, 21, 35, ...): no spacing repeats.
                name: "no period",
                starts: starts(&[0, 7, 28, 63, 112, 175, 252, 343]),
                want: None,
            },
            Case {
                name: "too few bursts",
                starts: starts(&[0, 60]),
                want: None,
            },
        ];
        let lifetimes = [hour, 8 * hour];
        for c in cases {
            let got = estimate_period(&c.starts, W, &lifetimes);
            match (&got, c.want) {
                (None, None) => {}
                (Some(p), Some((mins, life))) => {
                    assert!(
                        (p.period_ms - mins * MINUTE).abs() <= 2 * MINUTE,
                        "{}: {p:?}",
                        c.name
                    );
                    assert_eq!(p.matches_lifetime, life, "{}", c.name);
                }
                _ => panic!("{}: got {got:?}, want {:?}", c.name, c.want),
            }
        }
    }

    #[test]
    fn period_from_detected_bursts_and_description() {
        let s = series(400, &[5, 64, 125, 184, 245, 305, 364], 30, 9);
        let bursts = detect_bursts(&s, 0, W, &BurstParams::default());
        let st: Vec<EpochMs> = bursts.iter().map(|b| b.start).collect();
        let p = estimate_period(&st, W, &[60 * MINUTE]).expect("period");
        assert_eq!(p.matches_lifetime, Some(60 * MINUTE));
        assert_eq!(p.next_due, st.last().unwrap() + p.period_ms);
        let d = p.describe();
        assert!(d.starts_with("bursts every "), "{d}");
        assert!(d.ends_with("matches the 1h access-token lifetime"), "{d}");
    }
}
