//! Token-expiry burst analysis: bursts of 401/403 that are statistically distinct from their
//! baseline ([`detect_bursts`]: a minimum count and a Poisson upper-tail test corrected for
//! every bucket examined), their overlap with `expired` signatures (each event counted once,
//! [`expired_windows`]), their recurrence period with a confidence, claimed only from three or
//! more bursts whose intervals agree ([`estimate_period`]), and each client's own recurrence at
//! a token lifetime ([`client_periods`]).
//!
//! Everything here is a pure function of per-bucket series so that live data and replayed
//! history give the same answers, and fixtures give deterministic ones.
//!
//! One file, past the usual 700 lines: burst detection, period fitting and client recurrences
//! share their statistics helpers and thresholds, and are read together when a finding is
//! questioned.

use serde::Serialize;

use crate::model::time::{EpochMs, MINUTE, format_duration};

/// How strict burst detection is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurstParams {
    /// Quiet buckets of history the local baseline rate is taken over.
    pub baseline_buckets: usize,
    /// Family-wise false-positive rate: the chance that a series of pure (Poisson) noise shows
    /// any burst at all. Each candidate is tested at `alpha / buckets examined` (Bonferroni).
    pub alpha: f64,
    /// Least failures a burst holds, whatever its p-value: below this a "burst" cannot be
    /// told from a user retrying a few times.
    pub min_count: u64,
    /// Quiet buckets allowed inside one burst before it is split in two.
    pub max_gap: usize,
}

impl Default for BurstParams {
    fn default() -> Self {
        BurstParams {
            baseline_buckets: 30,
            alpha: 0.001,
            min_count: 5,
            max_gap: 1,
        }
    }
}

/// One burst: an interval of buckets whose failures are far more than the baseline rate
/// explains.
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
    /// Failures above the baseline inside the burst (`count` − baseline × buckets).
    pub excess: f64,
    /// Baseline failures per bucket just before the burst.
    pub baseline: f64,
    /// Chance of at least `count` failures in the burst's buckets at the baseline rate.
    pub p_value: f64,
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7; relative error below 1e-13).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularised lower incomplete gamma P(a, x): series below a + 1, continued fraction above.
fn gamma_p(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let lead = a * x.ln() - x - ln_gamma(a);
    if x < a + 1.0 {
        let (mut sum, mut term, mut n) = (1.0 / a, 1.0 / a, a);
        for _ in 0..500 {
            n += 1.0;
            term *= x / n;
            sum += term;
            if term.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        (sum.ln() + lead).exp().min(1.0)
    } else {
        // Lentz's method for the upper tail Q(a, x).
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..500 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-15 {
                break;
            }
        }
        (1.0 - (lead.exp() * h)).clamp(0.0, 1.0)
    }
}

/// P(X ≥ k) for X ~ Poisson(mean). `k` may be fractional (the overdispersed case scales both
/// by the dispersion), through the continuous extension P(X ≥ k) = P(k, mean).
pub fn poisson_tail(k: f64, mean: f64) -> f64 {
    if k <= 0.0 {
        return 1.0;
    }
    if mean <= 0.0 {
        return 0.0;
    }
    gamma_p(k, mean)
}

/// Tail probability of `count` failures against `mean` expected, with the series' dispersion
/// (variance / mean, at least 1): a quasi-Poisson test, exact Poisson when the noise is Poisson.
fn tail(count: f64, mean: f64, dispersion: f64) -> f64 {
    poisson_tail(count / dispersion, mean / dispersion)
}

/// Single-bucket p-value below which a bucket is left out of the quiet rate and the dispersion
/// estimate: a burst must not raise the rate or widen the noise it is tested against.
const OUTLIER_P: f64 = 0.01;
/// Single-bucket p-value a burst's first and last buckets must each be below.
const EDGE_P: f64 = 0.05;
/// Longest window, in buckets, tested as one candidate; longer bursts are adjacent windows
/// joined. The test is corrected for every window length at every bucket.
const MAX_BURST_BUCKETS: usize = 12;
/// Weight, in buckets, of the series-wide quiet rate in each local baseline, so that a bucket
/// with little history (the start of the series) is not compared with nothing.
const PRIOR_BUCKETS: f64 = 20.0;
/// Weight, in buckets, of Poisson noise (dispersion 1) in the dispersion estimate.
const DISPERSION_PRIOR: f64 = 30.0;
/// Rounds of "detect, then re-estimate the baseline without the bursts found".
const ROUNDS: usize = 3;

/// Detects bursts in a per-bucket failure series. `start` is the start of bucket 0.
///
/// The test, so that random failures do not make bursts:
/// - the *baseline* of a bucket is the mean of the preceding `baseline_buckets` buckets not in
///   a burst, and never below the mean of every earlier bucket not in a burst (a few quiet
///   minutes by chance must not make noise look like a burst); both are shrunk towards the
///   series-wide quiet rate, the mean of the buckets that are no outliers against it (p < 1 %,
///   iterated), with one pseudo-event added so a silent series has a small positive rate;
/// - the *dispersion* (variance / mean, at least 1, so traffic that varies more than Poisson
///   noise needs a larger excess) comes from the buckets that are no outliers against their own
///   baseline, shrunk towards 1 with the weight of 30 buckets, so a burst that fills much of a
///   short window does not hide itself;
/// - every window of 1 to 12 buckets is a candidate: it is significant when it holds at least
///   `min_count` failures and the chance of that many at the baseline rate over its duration
///   (a Poisson upper tail, scaled by the dispersion) is below `alpha / (buckets × 12)` —
///   corrected for every window examined;
/// - the most significant windows are taken first, never overlapping, so a spike is not
///   diluted by the noise around it; windows at most `max_gap` quiet buckets apart are one
///   burst, so a long episode of a failure or two per bucket is one burst too; edge buckets
///   that do not stand out on their own (p ≥ 5 %) are trimmed while the rest stays
///   significant, so a stray failure beside a burst does not move its start;
/// - the baseline is re-estimated without the bursts found and the test repeated, so a long
///   burst does not raise its own baseline.
pub fn detect_bursts(
    series: &[u32],
    start: EpochMs,
    bucket_ms: EpochMs,
    p: &BurstParams,
) -> Vec<Burst> {
    let n = series.len();
    if n == 0 {
        return Vec::new();
    }
    let level = p.alpha / (n * MAX_BURST_BUCKETS) as f64;
    let mut hot = vec![false; n];
    let mut bursts = Vec::new();
    for _ in 0..ROUNDS {
        // The series-wide quiet rate, a prior for every baseline, from the buckets that are
        // neither in a burst nor outliers against that rate (found by iterating), so a burst
        // does not raise it.
        let mut noise: Vec<bool> = hot.iter().map(|h| !h).collect();
        let mut global = 0.0;
        for _ in 0..8 {
            let (sum, count) = (0..n)
                .filter(|&i| noise[i])
                .fold((0.0, 0.0), |(s, c), i| (s + series[i] as f64, c + 1.0));
            global = (sum + 1.0) / (count + 1.0);
            let next: Vec<bool> = (0..n)
                .map(|i| {
                    let v = series[i] as f64;
                    let outlier = v >= 2.0 && v > global && poisson_tail(v, global) < OUTLIER_P;
                    !hot[i] && !outlier
                })
                .collect();
            if next == noise {
                break;
            }
            noise = next;
        }
        // Local baselines from a rolling window of quiet buckets, never below the mean of all
        // the quiet buckets before (a few quiet minutes by chance must not make ordinary noise
        // after them look like a burst); both start from the series-wide rate as a prior.
        let mut baselines = vec![0.0; n];
        let mut window: std::collections::VecDeque<f64> =
            std::collections::VecDeque::with_capacity(p.baseline_buckets);
        let (mut wsum, mut csum, mut cn) = (0.0, 0.0, 0.0);
        for i in 0..n {
            let local = (wsum + PRIOR_BUCKETS * global) / (window.len() as f64 + PRIOR_BUCKETS);
            let past = (csum + PRIOR_BUCKETS * global) / (cn + PRIOR_BUCKETS);
            baselines[i] = local.max(past);
            if !hot[i] {
                let v = series[i] as f64;
                if p.baseline_buckets > 0 {
                    if window.len() == p.baseline_buckets {
                        wsum -= window.pop_front().unwrap_or(0.0);
                    }
                    window.push_back(v);
                    wsum += v;
                }
                csum += v;
                cn += 1.0;
            }
        }
        // Dispersion from the buckets that are plain noise against their own baseline.
        let plain = |i: usize| {
            let v = series[i] as f64;
            let outlier = v >= 2.0 && v > baselines[i] && poisson_tail(v, baselines[i]) < OUTLIER_P;
            !hot[i] && !outlier
        };
        let (m_sum, m_n) = (0..n)
            .filter(|&i| plain(i))
            .fold((0.0, 0.0), |(s, c), i| (s + series[i] as f64, c + 1.0));
        let noise_mean = m_sum / f64::max(m_n, 1.0);
        let var = (0..n)
            .filter(|&i| plain(i))
            .map(|i| (series[i] as f64 - noise_mean).powi(2))
            .sum::<f64>()
            / f64::max(m_n - 1.0, 1.0);
        // Shrunk towards Poisson noise (1) with the weight of DISPERSION_PRIOR buckets: a
        // short window says little about how its noise varies, and what it says is easily
        // the burst's own tail.
        let dispersion = if noise_mean > 0.0 {
            1.0 + ((var / noise_mean) - 1.0).max(0.0) * m_n / (m_n + DISPERSION_PRIOR)
        } else {
            1.0
        };
        // Every window of 1 to MAX_BURST_BUCKETS buckets is a candidate, tested against the
        // baseline of its first bucket; the most significant are taken first and never
        // overlap, so a spike is not diluted by the noise around it, and a long episode of a
        // failure or two per bucket is seen as a whole.
        let mut prefix = vec![0u64; n + 1];
        for i in 0..n {
            prefix[i + 1] = prefix[i] + series[i] as u64;
        }
        let mut candidates: Vec<(f64, usize, usize)> = Vec::new();
        for first in 0..n {
            if series[first] == 0 {
                continue;
            }
            for last in first..(first + MAX_BURST_BUCKETS).min(n) {
                // A window ending in a quiet bucket is never clearer than the one before it.
                if series[last] == 0 {
                    continue;
                }
                let count = prefix[last + 1] - prefix[first];
                let expected = baselines[first] * (last - first + 1) as f64;
                if count < p.min_count || (count as f64) <= expected {
                    continue;
                }
                let p_value = tail(count as f64, expected, dispersion);
                if p_value < level {
                    candidates.push((p_value, first, last));
                }
            }
        }
        candidates.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut taken = vec![false; n];
        let mut chosen: Vec<(usize, usize)> = Vec::new();
        for &(_, first, last) in &candidates {
            if taken[first..=last].iter().any(|&t| t) {
                continue;
            }
            taken[first..=last].iter_mut().for_each(|t| *t = true);
            chosen.push((first, last));
        }
        chosen.sort_unstable();
        // Windows a few quiet buckets apart are one burst.
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (first, last) in chosen {
            match merged.last_mut() {
                Some(m) if first <= m.1 + p.max_gap + 1 => m.1 = m.1.max(last),
                _ => merged.push((first, last)),
            }
        }
        // The most significant window may reach out to a stray failure or two beside the
        // burst; a burst's first and last buckets must each stand out on their own.
        let stands_out =
            |i: usize, b: f64| series[i] > 0 && tail(series[i] as f64, b, dispersion) < EDGE_P;
        let significant = |first: usize, last: usize, b: f64| {
            let count = prefix[last + 1] - prefix[first];
            let expected = b * (last - first + 1) as f64;
            count >= p.min_count && tail(count as f64, expected, dispersion) < level
        };
        let found: Vec<Burst> = merged
            .into_iter()
            .map(|(mut first, mut last)| {
                // Trimming never takes away what made the burst significant.
                let b = baselines[first];
                while first < last && !stands_out(first, b) && significant(first + 1, last, b) {
                    first += 1;
                }
                while first < last && !stands_out(last, b) && significant(first, last - 1, b) {
                    last -= 1;
                }
                (first, last, b)
            })
            .map(|(first, last, _)| (first, last))
            .map(|(first, last)| {
                let baseline = baselines[first];
                let count = prefix[last + 1] - prefix[first];
                let expected = baseline * (last - first + 1) as f64;
                let (peak_idx, peak) = series[first..=last]
                    .iter()
                    .enumerate()
                    .fold((0, 0), |a, (k, &v)| if v > a.1 { (k, v) } else { a });
                Burst {
                    first,
                    last,
                    start: start + first as EpochMs * bucket_ms,
                    end: start + (last + 1) as EpochMs * bucket_ms,
                    peak,
                    peak_at: start + (first + peak_idx) as EpochMs * bucket_ms,
                    count,
                    excess: (count as f64 - expected).max(0.0),
                    baseline,
                    p_value: tail(count as f64, expected, dispersion),
                }
            })
            .collect();
        let mut next = vec![false; n];
        for b in &found {
            for h in next.iter_mut().take(b.last + 1).skip(b.first) {
                *h = true;
            }
        }
        bursts = found;
        if next == hot {
            break;
        }
        hot = next;
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

/// The buckets whose `expired` events belong to each burst: the burst and one bucket either
/// side, never a bucket already given to an earlier burst, so an event is counted once however
/// close two bursts are. `None` for a burst outside the series.
pub fn expired_windows(bursts: &[Burst], n: usize) -> Vec<Option<(usize, usize)>> {
    let mut next_free = 0usize;
    bursts
        .iter()
        .map(|b| {
            if b.first >= n {
                return None;
            }
            let lo = b.first.saturating_sub(1).max(next_free);
            let hi = (b.last + 1).min(n - 1);
            if lo > hi {
                return None;
            }
            next_free = hi + 1;
            Some((lo, hi))
        })
        .collect()
}

/// Correlates bursts with the per-bucket `expired` signature counts.
pub fn correlate_expired(failures: &[u32], expired: &[u32], bursts: &[Burst]) -> ExpiryCorrelation {
    let n = failures.len().min(expired.len());
    let mut burst_volume = 0.0;
    let mut matched = 0.0;
    let windows = expired_windows(bursts, n);
    for (b, w) in bursts.iter().zip(&windows) {
        let Some((lo, hi)) = *w else { continue };
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
    /// Intervals that agree with the period (at least two: three bursts).
    pub intervals: usize,
    /// How sure the period is (0..=1): one minus the chance that bursts at random times would
    /// show this many intervals agreeing this closely (see [`estimate_period`]).
    pub confidence: f64,
    /// The configured token lifetime it matches, if any.
    pub matches_lifetime: Option<EpochMs>,
    /// When the next burst is due (last burst start + period).
    pub next_due: EpochMs,
}

impl Period {
    /// "bursts every 59m ±2m (confidence 97 %, 4 intervals), matches the 1h access-token
    /// lifetime"
    pub fn describe(&self) -> String {
        let mut s = format!(
            "bursts every {} ±{} (confidence {}, {} intervals)",
            format_duration(self.period_ms),
            format_duration(self.jitter_ms.max(MINUTE / 60)),
            confidence_text(self.confidence),
            self.intervals
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

impl Period {
    /// "every 1h ±1s (96 % confidence), the 1h token lifetime": the compact form for narrow
    /// places.
    pub fn short(&self) -> String {
        let life = self.matches_lifetime.map_or_else(
            || ", no token lifetime".to_string(),
            |l| format!(", the {} token lifetime", format_duration(l)),
        );
        format!(
            "every {} ±{} ({} confidence){life}",
            format_duration(self.period_ms),
            format_duration(self.jitter_ms.max(MINUTE / 60)),
            confidence_text(self.confidence)
        )
    }
}

/// "97 %"; never rounds up to a certainty the estimate does not have.
pub fn confidence_text(c: f64) -> String {
    let pct = (c * 100.0).floor().clamp(0.0, 99.0);
    format!("{pct:.0} %")
}

/// Least share of bursts a period must explain to be reported.
const MIN_SUPPORT: f64 = 0.6;
/// Least confidence at which a period is claimed.
pub const MIN_CONFIDENCE: f64 = 0.8;

/// Chance that `m` intervals between events at random (Poisson) times all lie within
/// ±`r` (relative) of their mean: the normalised intervals are uniform on the simplex, so the
/// chance is at most (m − 1)! · (2r / m)^(m − 1).
pub fn chance_of_agreement(m: usize, r: f64) -> f64 {
    if m < 2 {
        return 1.0;
    }
    let fact: f64 = (1..m).map(|k| k as f64).product();
    (fact * (2.0 * r / m as f64).powi(m as i32 - 1)).min(1.0)
}

/// Estimates the recurrence period of bursts from their start times.
///
/// Candidates are every difference between two burst starts; a candidate's support is the
/// share of bursts that have a successor one candidate later (within 5 % or two buckets). The
/// smallest candidate explaining at least [`MIN_SUPPORT`] of the bursts with at least two
/// agreeing intervals (three bursts) wins, so interleaved populations (gaps of 20m, 40m, 20m,
/// ...) give their true common period (60m) rather than either gap.
///
/// Its confidence is 1 − [`chance_of_agreement`] of the matched intervals, their spread taken
/// as the largest deviation from the period relative to it (at least half a bucket, the
/// resolution of a burst start), multiplied by the number of candidates tried (a Bonferroni
/// correction for the search). A period below [`MIN_CONFIDENCE`] is not claimed: three bursts
/// whose two intervals differ by 5 % are about 85 % sure, four agreeing to a minute an hour
/// apart are certain.
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
    let tried = candidates.len().max(1) as f64;
    let last = *starts.last()?;
    let mut best: Option<(f64, Vec<EpochMs>)> = None;
    for &cand in &candidates {
        if cand < 2 * bucket_ms {
            continue;
        }
        let tol = (cand / 20).max(2 * bucket_ms);
        let mut eligible = 0;
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
                gaps.push(next - s);
            }
        }
        if gaps.len() < 2 {
            continue;
        }
        let support = gaps.len() as f64 / eligible as f64;
        if support >= MIN_SUPPORT {
            best = Some((support, gaps));
            break;
        }
    }
    let (support, mut gaps) = best?;
    gaps.sort_unstable();
    let period = gaps[gaps.len() / 2];
    let mut dev: Vec<EpochMs> = gaps.iter().map(|g| (g - period).abs()).collect();
    dev.sort_unstable();
    let jitter = dev[dev.len() / 2];
    let widest = dev.last().copied().unwrap_or(0).max(bucket_ms / 2);
    let spread = widest as f64 / period.max(1) as f64;
    let confidence = 1.0 - (chance_of_agreement(gaps.len(), spread) * tried).min(1.0);
    if confidence < MIN_CONFIDENCE {
        return None;
    }
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
        intervals: gaps.len(),
        confidence,
        matches_lifetime,
        next_due: last + period,
    })
}

// ---------------------------------------------------------------------------------------------
// Per-client recurrence

/// Entra ID gives each access token a random lifetime between these two (75 min on average);
/// with a configured lifetime of one hour, a client's expiries may recur anywhere inside.
pub const ENTRA_LIFETIME_RANGE: (EpochMs, EpochMs) = (60 * MINUTE, 90 * MINUTE);
/// Least confidence at which per-client recurrences count as the fleet's.
pub const MIN_CLIENT_CONFIDENCE: f64 = 0.95;

/// The interval ranges a token lifetime accounts for: each configured lifetime ±10 %, and the
/// Entra ID range (±5 %, for the delay between expiry and the next call) when one hour is
/// configured.
pub fn lifetime_ranges(lifetimes: &[EpochMs]) -> Vec<(EpochMs, EpochMs)> {
    let mut v: Vec<(EpochMs, EpochMs)> = lifetimes
        .iter()
        .filter(|&&l| l > 0)
        .map(|&l| (l - l / 10, l + l / 10))
        .collect();
    if lifetimes.contains(&ENTRA_LIFETIME_RANGE.0) {
        let (a, b) = ENTRA_LIFETIME_RANGE;
        v.push((a - a / 20, b + b / 20));
    }
    v
}

/// Largest chance, at any rate, that one interval between random (Poisson) events falls in
/// `[a, b]`: e^(−ρa) − e^(−ρb), largest at ρ = ln(b/a) / (b − a).
pub fn interval_chance(a: EpochMs, b: EpochMs) -> f64 {
    if a <= 0 || b <= a {
        return 1.0;
    }
    let (a, b) = (a as f64, b as f64);
    let rho = (b / a).ln() / (b - a);
    (-rho * a).exp() - (-rho * b).exp()
}

/// One client's recurrence at a token lifetime.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientRecurrence {
    /// Median of the intervals of the chain.
    pub period_ms: EpochMs,
    /// Consecutive intervals inside one lifetime range (at least two: three episodes).
    pub intervals: usize,
    /// Chance of such a chain among this client's intervals at random times.
    pub chance: f64,
}

/// The longest chain of consecutive intervals between `starts` (sorted episode starts) that
/// all fall in one of `ranges`; a recurrence when it has at least two intervals.
pub fn client_recurrence(
    starts: &[EpochMs],
    ranges: &[(EpochMs, EpochMs)],
) -> Option<ClientRecurrence> {
    let gaps: Vec<EpochMs> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    let mut best: Option<(usize, usize, f64)> = None;
    for &(a, b) in ranges {
        let mut run_start = 0;
        for i in 0..=gaps.len() {
            let inside = i < gaps.len() && (a..=b).contains(&gaps[i]);
            if !inside {
                let len = i - run_start;
                if len >= 2 && best.is_none_or(|(s, e, _)| len > e - s) {
                    best = Some((run_start, i, interval_chance(a, b)));
                }
                run_start = i + 1;
            }
        }
    }
    let (s, e, q) = best?;
    let mut chain = gaps[s..e].to_vec();
    chain.sort_unstable();
    let c = chain.len();
    // Union bound over where in the client's intervals a chain this long could start.
    let chance = ((gaps.len() - c + 1) as f64 * q.powi(c as i32)).min(1.0);
    Some(ClientRecurrence {
        period_ms: chain[c / 2],
        intervals: c,
        chance,
    })
}

/// What the clients' own recurrences say.
#[derive(Clone, Debug, PartialEq, Default, Serialize)]
pub struct ClientPeriods {
    /// Clients with a 401/403 on a real request in the window.
    pub clients: usize,
    /// Clients with at least three episodes (two intervals) to judge.
    pub judged: usize,
    /// Clients whose episodes recur at a token lifetime.
    pub recurring: usize,
    /// Shortest, median and longest of their periods.
    pub shortest_ms: Option<EpochMs>,
    pub median_ms: Option<EpochMs>,
    pub longest_ms: Option<EpochMs>,
    /// Recurring clients that chance alone would give, on average (Σ over judged clients of
    /// their chance of a two-interval chain).
    pub expected_by_chance: f64,
    /// 1 − the chance of this many recurring clients (or one chain this long) at random
    /// times; see [`client_periods`].
    pub confidence: f64,
    /// The lifetime ranges compared with.
    pub ranges_ms: Vec<(EpochMs, EpochMs)>,
}

impl ClientPeriods {
    /// True when the recurrences are too many or too regular for chance.
    pub fn significant(&self) -> bool {
        self.recurring > 0 && self.confidence >= MIN_CLIENT_CONFIDENCE
    }

    /// "12 clients with a recurring 401/403 every 1h 2m–1h 28m, median 1h 14m, within the
    /// 60–90 min Entra ID token lifetime range (confidence 99 %, 2.3 expected by chance)"
    pub fn describe(&self) -> Option<String> {
        let (lo, mid, hi) = (self.shortest_ms?, self.median_ms?, self.longest_ms?);
        let every = if lo == hi {
            format_duration(lo)
        } else {
            format!("{}–{}", format_duration(lo), format_duration(hi))
        };
        let (a, b) = ENTRA_LIFETIME_RANGE;
        let entra = (a - a / 20)..=(b + b / 20);
        let within = if self.ranges_ms.contains(&(*entra.start(), *entra.end()))
            && entra.contains(&lo)
            && entra.contains(&hi)
        {
            "within the 60–90 min Entra ID token lifetime range".to_string()
        } else {
            "at a configured token lifetime".to_string()
        };
        Some(format!(
            "{} client{} with a recurring 401/403 every {every}, median {}, {within} (confidence {}, {:.1} expected by chance)",
            self.recurring,
            if self.recurring == 1 { "" } else { "s" },
            format_duration(mid),
            confidence_text(self.confidence),
            self.expected_by_chance
        ))
    }
}

/// Summarises per-client recurrences from each client's episode starts (sorted).
///
/// Two tests, either may show the recurrences are not chance (each at half the error, so
/// together at most the error of one): the number of recurring clients against the number
/// chance would give (a Poisson upper tail on Σ (m − 1) q², m a client's intervals and q
/// [`interval_chance`] of the lifetime range), and the most regular single client against
/// the number of clients judged (Bonferroni).
pub fn client_periods(episodes: &[Vec<EpochMs>], lifetimes: &[EpochMs]) -> ClientPeriods {
    let ranges = lifetime_ranges(lifetimes);
    let q: f64 = ranges
        .iter()
        .map(|&(a, b)| interval_chance(a, b))
        .sum::<f64>()
        .min(1.0);
    let mut out = ClientPeriods {
        clients: episodes.len(),
        ranges_ms: ranges.clone(),
        ..Default::default()
    };
    let mut periods = Vec::new();
    let mut best_chance: f64 = 1.0;
    for starts in episodes {
        let m = starts.len().saturating_sub(1);
        if m < 2 {
            continue;
        }
        out.judged += 1;
        out.expected_by_chance += ((m - 1) as f64 * q * q).min(1.0);
        if let Some(r) = client_recurrence(starts, &ranges) {
            periods.push(r.period_ms);
            best_chance = best_chance.min(r.chance);
        }
    }
    out.recurring = periods.len();
    if periods.is_empty() {
        return out;
    }
    periods.sort_unstable();
    out.shortest_ms = periods.first().copied();
    out.longest_ms = periods.last().copied();
    out.median_ms = Some(periods[periods.len() / 2]);
    let p_count = poisson_tail(out.recurring as f64, out.expected_by_chance);
    let p_single = (best_chance * out.judged as f64).min(1.0);
    out.confidence = 1.0 - (2.0 * p_count.min(p_single)).min(1.0);
    out
}

#[cfg(test)]
#[path = "bursts_tests.rs"]
mod tests;
