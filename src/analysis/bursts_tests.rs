use super::*;

const W: EpochMs = MINUTE;

/// Poisson counts at `rate` per bucket (Knuth's method: rates here are small).
fn poisson(rng: &mut fastrand::Rng, rate: f64) -> u32 {
    let l = (-rate).exp();
    let (mut k, mut p) = (0u32, 1.0);
    loop {
        p *= rng.f64();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

fn random_series(len: usize, rate: f64, seed: u64) -> Vec<u32> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..len).map(|_| poisson(&mut rng, rate)).collect()
}

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
fn poisson_tail_matches_closed_forms() {
    // P(X ≥ 1) = 1 − e^−μ; P(X ≥ 2) = 1 − e^−μ(1 + μ).
    for mu in [0.01f64, 0.5, 1.0, 3.0, 20.0] {
        let p1 = 1.0 - (-mu).exp();
        let p2 = 1.0 - (-mu).exp() * (1.0 + mu);
        assert!((poisson_tail(1.0, mu) - p1).abs() < 1e-9, "{mu}");
        assert!((poisson_tail(2.0, mu) - p2).abs() < 1e-9, "{mu}");
    }
    assert_eq!(poisson_tail(0.0, 3.0), 1.0);
    assert_eq!(poisson_tail(3.0, 0.0), 0.0);
    // Far tail: 40 at a mean of 1 is about 1/40! (≈ 1.2e-48).
    let far = poisson_tail(40.0, 1.0);
    assert!(far > 0.0 && far < 1e-45, "{far}");
    // Mean 100, at least 130: about 0.0023 (normal approximation 0.0014–0.003).
    let mid = poisson_tail(130.0, 100.0);
    assert!((0.001..0.004).contains(&mid), "{mid}");
}

/// The false-positive budget: Poisson noise at every rate gives a burst in at most 1 of 50
/// seeds (the test level is α = 0.001 per series, so the expected count is about 0.05).
#[test]
fn random_failures_make_no_bursts_in_nearly_all_seeds() {
    struct Case {
        rate: f64,
        len: usize,
    }
    let cases = [
        Case {
            rate: 0.02,
            len: 720,
        },
        Case {
            rate: 0.1,
            len: 720,
        },
        Case {
            rate: 0.3,
            len: 720,
        },
        Case {
            rate: 0.5,
            len: 720,
        },
        Case {
            rate: 1.0,
            len: 360,
        },
        Case {
            rate: 2.0,
            len: 720,
        },
        Case {
            rate: 8.0,
            len: 720,
        },
        Case {
            rate: 40.0,
            len: 90,
        },
    ];
    for c in cases {
        let mut with_bursts = 0;
        for seed in 0..50 {
            let s = random_series(c.len, c.rate, seed);
            let b = detect_bursts(&s, 0, W, &BurstParams::default());
            if !b.is_empty() {
                with_bursts += 1;
            }
            let starts: Vec<EpochMs> = b.iter().map(|b| b.start).collect();
            assert!(
                estimate_period(&starts, W, &[60 * MINUTE]).is_none(),
                "rate {} seed {seed}: a period from {b:?}",
                c.rate
            );
        }
        assert!(
            with_bursts <= 1,
            "rate {}: {with_bursts} of 50 seeds had bursts",
            c.rate
        );
    }
}

#[test]
fn real_bursts_are_found_table() {
    struct Case {
        name: &'static str,
        rate: f64,
        /// (bucket, extra failures)
        add: Vec<(usize, u32)>,
        want_firsts: Vec<usize>,
    }
    let hourly = |h: u32| (0..6).map(move |k| (30 + 60 * k, h)).collect::<Vec<_>>();
    let cases = [
        Case {
            name: "40 in a minute every hour over 1/min",
            rate: 1.0,
            add: hourly(40),
            want_firsts: vec![30, 90, 150, 210, 270, 330],
        },
        Case {
            name: "6 in a minute over a near-zero baseline",
            rate: 0.01,
            add: hourly(6),
            want_firsts: vec![30, 90, 150, 210, 270, 330],
        },
        Case {
            name: "a burst in the very first bucket",
            rate: 0.05,
            add: vec![(0, 8)],
            want_firsts: vec![0],
        },
        Case {
            name: "a burst in the last bucket",
            rate: 0.5,
            add: vec![(359, 15)],
            want_firsts: vec![359],
        },
        Case {
            name: "4 in a minute is below the minimum count",
            rate: 0.0,
            add: vec![(100, 4)],
            want_firsts: vec![],
        },
    ];
    for c in cases {
        for seed in 0..10 {
            let mut s = random_series(360, c.rate, seed);
            for &(at, h) in &c.add {
                s[at] += h;
            }
            let got = detect_bursts(&s, 0, W, &BurstParams::default());
            assert_eq!(
                got.len(),
                c.want_firsts.len(),
                "{} (seed {seed}): {got:?}",
                c.name
            );
            // A noisy bucket just before a burst may join it (it is part of the excess).
            for (b, &at) in got.iter().zip(&c.want_firsts) {
                assert!(
                    b.first <= at && at <= b.last && b.first + 2 >= at,
                    "{} (seed {seed}): {b:?}",
                    c.name
                );
            }
        }
    }
}

#[test]
fn a_burst_filling_the_end_of_a_short_window_is_found() {
    // The last three minutes of a 15-minute window: the burst is a fifth of the series
    // and must not raise the rate it is tested against.
    let mut s = vec![0u32; 12];
    s.extend([3, 7, 5]);
    let b = detect_bursts(&s, 0, W, &BurstParams::default());
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!((b[0].first, b[0].last, b[0].count), (12, 14, 15));
    // A refresh outage four minutes in, and six minutes in.
    for tail in [&[4, 5, 3, 3][..], &[4, 5, 3, 7, 5, 2]] {
        let mut s = vec![0u32; 15 - tail.len()];
        s.extend(tail);
        let b = detect_bursts(&s, 0, W, &BurstParams::default());
        assert_eq!(b.len(), 1, "{s:?}: {b:?}");
        assert_eq!((b[0].first, b[0].last), (15 - tail.len(), 14), "{s:?}");
    }
}

#[test]
fn a_spread_out_burst_is_found_as_one() {
    // Five minutes at 4 a minute over a 0.5/min baseline: no single minute stands out
    // much, the five together do.
    let mut s = random_series(300, 0.5, 3);
    for v in s.iter_mut().skip(150).take(5) {
        *v += 4;
    }
    let b = detect_bursts(&s, 0, W, &BurstParams::default());
    assert_eq!(b.len(), 1, "{b:?}");
    assert!(b[0].first <= 151 && b[0].last >= 153, "{b:?}");
    assert!(b[0].p_value < 1e-6, "{b:?}");
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
    // A single stray 401 on a silent route is not a burst, nor are 3 together.
    let mut lone = vec![0u32; 100];
    lone[50] = 3;
    assert!(detect_bursts(&lone, 0, W, &BurstParams::default()).is_empty());
}

#[test]
fn sensitivity_is_configurable() {
    let mut s = vec![0u32; 200];
    s[100] = 6;
    let strict = BurstParams {
        min_count: 10,
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

#[test]
fn expired_windows_never_share_a_bucket() {
    let burst = |first: usize, last: usize| Burst {
        first,
        last,
        start: 0,
        end: 0,
        peak: 0,
        peak_at: 0,
        count: 0,
        excess: 0.0,
        baseline: 0.0,
        p_value: 0.0,
    };
    // Bursts two buckets apart would both claim bucket 11 with ±1 windows.
    let w = expired_windows(&[burst(8, 10), burst(12, 13), burst(40, 41)], 42);
    assert_eq!(w, vec![Some((7, 11)), Some((12, 14)), Some((39, 41))]);
    // Adjacent bursts: the second gets only what the first left.
    let w = expired_windows(&[burst(0, 3), burst(4, 4)], 10);
    assert_eq!(w, vec![Some((0, 4)), Some((5, 5))]);
    assert_eq!(expired_windows(&[burst(5, 6)], 3), vec![None]);
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
            name: "three bursts, two agreeing intervals",
            starts: starts(&[20, 80, 141]),
            want: Some((60, Some(hour))),
        },
        Case {
            name: "three bursts whose intervals disagree",
            starts: starts(&[20, 80, 170]),
            want: None,
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
                assert!(p.intervals >= 2, "{}: {p:?}", c.name);
                assert!(p.confidence >= MIN_CONFIDENCE, "{}: {p:?}", c.name);
            }
            _ => panic!("{}: got {got:?}, want {:?}", c.name, c.want),
        }
    }
}

#[test]
fn confidence_grows_with_agreement_and_number() {
    let c = |mins: &[i64]| {
        estimate_period(&starts(mins), W, &[60 * MINUTE]).map_or(0.0, |p| p.confidence)
    };
    let three_tight = c(&[0, 60, 120]);
    let three_loose = c(&[0, 60, 123]);
    let five_tight = c(&[0, 60, 120, 180, 240]);
    assert!(three_tight > three_loose, "{three_tight} {three_loose}");
    assert!(five_tight > three_tight, "{five_tight} {three_tight}");
    assert!(five_tight > 0.999, "{five_tight}");
    assert!(
        (MIN_CONFIDENCE..0.99).contains(&three_tight),
        "{three_tight}"
    );
    // Chance of agreement: two intervals within ±r of their mean happen with chance r.
    assert!((chance_of_agreement(2, 0.1) - 0.1).abs() < 1e-12);
    assert_eq!(chance_of_agreement(1, 0.0), 1.0);
    assert_eq!(confidence_text(0.9999), "99 %");
    assert_eq!(confidence_text(0.876), "87 %");
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
    assert!(d.contains("(confidence 99 %, 6 intervals)"), "{d}");
    assert!(d.ends_with("matches the 1h access-token lifetime"), "{d}");
    let short = p.short();
    assert!(short.starts_with("every 1h ±"), "{short}");
    assert!(
        short.ends_with("(99 % confidence), the 1h token lifetime"),
        "{short}"
    );
}

#[test]
fn client_recurrence_table() {
    let ranges = lifetime_ranges(&[60 * MINUTE]);
    struct Case {
        name: &'static str,
        starts: Vec<EpochMs>,
        want: Option<(i64, usize)>,
    }
    let cases = [
        Case {
            name: "Entra ID lifetimes of 63, 81, 72 min",
            starts: starts(&[10, 73, 154, 226]),
            want: Some((72, 3)),
        },
        Case {
            name: "two episodes are one interval: not enough",
            starts: starts(&[10, 80]),
            want: None,
        },
        Case {
            name: "a stray episode breaks the chain, the longest part counts",
            starts: starts(&[0, 70, 100, 175, 250, 330]),
            want: Some((75, 3)),
        },
        Case {
            name: "every 20 minutes is no token lifetime",
            starts: starts(&[0, 20, 40, 60, 80]),
            want: None,
        },
        Case {
            name: "intervals too long",
            starts: starts(&[0, 120, 240]),
            want: None,
        },
    ];
    for c in cases {
        let got = client_recurrence(&c.starts, &ranges);
        match (&got, c.want) {
            (None, None) => {}
            (Some(r), Some((mins, n))) => {
                assert_eq!(r.period_ms, mins * MINUTE, "{}", c.name);
                assert_eq!(r.intervals, n, "{}", c.name);
                assert!(r.chance < 0.2, "{}: {r:?}", c.name);
            }
            _ => panic!("{}: got {got:?}, want {:?}", c.name, c.want),
        }
    }
    // The chance of an interval in [60, 90] at the worst rate is about 0.15.
    let q = interval_chance(60 * MINUTE, 90 * MINUTE);
    assert!((0.14..0.16).contains(&q), "{q}");
}

/// A fleet whose tokens each live a random 60–90 minutes: every client recurs, the fleet
/// as a whole has no single period.
fn entra_fleet(clients: usize, hours: i64, seed: u64) -> Vec<Vec<EpochMs>> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..clients)
        .map(|_| {
            let mut t = rng.i64(0..60) * MINUTE;
            let mut v = Vec::new();
            while t < hours * 60 * MINUTE {
                v.push(t);
                t += rng.i64(60..=90) * MINUTE + rng.i64(0..3) * MINUTE;
            }
            v
        })
        .collect()
}

#[test]
fn client_periods_find_a_fleet_of_entra_tokens() {
    for seed in 0..20 {
        let fleet = entra_fleet(12, 6, seed);
        let c = client_periods(&fleet, &[60 * MINUTE]);
        assert_eq!(c.clients, 12);
        assert!(c.recurring >= 10, "seed {seed}: {c:?}");
        assert!(c.significant(), "seed {seed}: {c:?}");
        let (lo, hi) = (c.shortest_ms.unwrap(), c.longest_ms.unwrap());
        assert!(lo >= 60 * MINUTE && hi <= 93 * MINUTE, "{c:?}");
        let d = c.describe().unwrap();
        assert!(d.contains("clients with a recurring 401/403 every"), "{d}");
        assert!(
            d.contains("within the 60–90 min Entra ID token lifetime range"),
            "{d}"
        );
    }
    // The same fleet's starts pooled have no period of their own.
    let pooled: Vec<EpochMs> = entra_fleet(12, 6, 1).concat();
    assert!(
        estimate_period(&pooled, W, &[60 * MINUTE])
            .is_none_or(|p| p.period_ms < 30 * MINUTE || p.matches_lifetime.is_none())
    );
}

/// Budget: clients failing at random times give significant recurrences in at most 1 of 50
/// seeds, at every rate.
#[test]
fn random_client_failures_are_not_recurrences() {
    for mean_gap in [20, 45, 75, 120] {
        let mut significant = 0;
        for seed in 0..50 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let fleet: Vec<Vec<EpochMs>> = (0..40)
                .map(|_| {
                    let mut t = 0.0;
                    let mut v = Vec::new();
                    loop {
                        // Exponential gaps: a Poisson process of episodes.
                        t += -(1.0 - rng.f64()).ln() * mean_gap as f64;
                        if t >= 360.0 {
                            break v;
                        }
                        v.push((t * MINUTE as f64) as EpochMs);
                    }
                })
                .collect();
            if client_periods(&fleet, &[60 * MINUTE]).significant() {
                significant += 1;
            }
        }
        assert!(significant <= 1, "mean gap {mean_gap}: {significant} of 50");
    }
}
