use super::*;
use crate::model::time::HOUR;

#[test]
fn rule_table_covers_every_hypothesis_in_order() {
    let ids: Vec<Hypothesis> = RULES.iter().map(|r| r.hypothesis).collect();
    assert_eq!(ids, Hypothesis::ALL.to_vec());
}

fn seen(first: EpochMs, last: EpochMs, events: u64) -> Seen {
    Seen {
        first: Some(first),
        last: Some(last),
        events,
    }
}

#[test]
fn expected_gap_follows_the_failures_and_the_traffic() {
    const B: EpochMs = 10 * crate::model::time::SECOND;
    const S: EpochMs = crate::model::time::SECOND;
    let none = Seen::default();
    for (what, failures, traffic, period, want) in [
        (
            "300/min failing for 15 min: one bucket",
            seen(0, 890 * S, 4500),
            seen(0, 890 * S, 4500),
            None,
            Some(B),
        ),
        (
            "5/min failing for 30 min: 12 s",
            seen(0, 1790 * S, 150),
            seen(0, 1790 * S, 150),
            None,
            Some(12 * S),
        ),
        (
            "1 failure in 50 requests at 5/min: 10 min",
            seen(0, 3000 * S, 6),
            seen(0, 3590 * S, 300),
            None,
            Some((3000 * S + B) / 6),
        ),
        (
            "one failure: the traffic's gap",
            seen(600 * S, 600 * S, 1),
            seen(0, 1790 * S, 150),
            None,
            Some(12 * S),
        ),
        (
            "failures faster than the traffic on average: the traffic's gap",
            seen(0, 50 * S, 60),
            seen(0, 3590 * S, 120),
            None,
            Some(30 * S),
        ),
        (
            "recurring bursts: the period",
            seen(0, 3 * HOUR, 400),
            seen(0, 4 * HOUR, 40_000),
            Some(HOUR),
            Some(HOUR),
        ),
        ("no failure: no gap", none, seen(0, 100 * S, 10), None, None),
    ] {
        assert_eq!(expected_gap(failures, traffic, B, period), want, "{what}");
    }
}

#[test]
fn ongoing_or_ended() {
    use Standing::*;
    const S: EpochMs = crate::model::time::SECOND;
    for (what, silence, gap, logged_after, want) in [
        ("failing in the last bucket", 0, 10 * S, true, Ongoing),
        ("high traffic, quiet 90 s", 90 * S, 10 * S, true, Ongoing),
        (
            "high traffic, quiet 2 min 1 s",
            121 * S,
            10 * S,
            true,
            Ended,
        ),
        (
            "high traffic, quiet 10 min",
            10 * MINUTE,
            10 * S,
            true,
            Ended,
        ),
        ("5/min, quiet 50 s", 50 * S, 12 * S, true, Ongoing),
        ("5/min, quiet 10 min", 10 * MINUTE, 12 * S, true, Ended),
        (
            "sparse failures, quiet 30 min",
            30 * MINUTE,
            10 * MINUTE,
            true,
            Ongoing,
        ),
        (
            "sparse failures, quiet 51 min",
            51 * MINUTE,
            10 * MINUTE,
            true,
            Ended,
        ),
        ("between hourly bursts", 40 * MINUTE, HOUR, true, Ongoing),
        (
            "the source went quiet altogether",
            HOUR,
            10 * S,
            false,
            Ongoing,
        ),
    ] {
        assert_eq!(standing(silence, gap, logged_after), want, "{what}");
    }
}
