//! Token-expiry waves on the auth view: bursts of 401/403 in an [`AuthTimeline`] and, when
//! they recur, their period and the next one due. A thin, pure layer over
//! [`super::bursts`], at the timeline's own column width.

use super::bursts::{Burst, BurstParams, Period, detect_bursts, estimate_period};
use super::series::AuthTimeline;
use crate::model::time::EpochMs;

/// Bursts found in one timeline, oldest first, with their period when one is supported.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct AuthBursts {
    pub bursts: Vec<Burst>,
    pub period: Option<Period>,
}

/// Detects bursts in the timeline's 401+403 series and estimates their recurrence against
/// `lifetimes` (configured access-token lifetimes).
pub fn auth_bursts(t: &AuthTimeline, lifetimes: &[EpochMs]) -> AuthBursts {
    if t.columns.is_empty() || t.axis.column_ms <= 0 {
        return AuthBursts::default();
    }
    let series: Vec<u32> = t
        .columns
        .iter()
        .map(|c| {
            c.status_401
                .saturating_add(c.status_403)
                .saturating_sub(c.on_options)
        })
        .collect();
    let bursts = detect_bursts(
        &series,
        t.axis.start,
        t.axis.column_ms,
        &BurstParams::default(),
    );
    let starts: Vec<EpochMs> = bursts.iter().map(|b| b.start).collect();
    let period = estimate_period(&starts, t.axis.column_ms, lifetimes);
    AuthBursts { bursts, period }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::series::{AuthColumn, Axis};
    use crate::model::time::{HOUR, MINUTE};

    fn timeline(series: &[u32], column_ms: EpochMs) -> AuthTimeline {
        AuthTimeline {
            axis: Axis {
                start: 0,
                end: series.len() as EpochMs * column_ms,
                column_ms,
                columns: series.len(),
            },
            columns: series
                .iter()
                .map(|&n| AuthColumn {
                    status_401: n,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn hourly_waves_give_a_period_and_the_next_one() {
        // Two-minute columns over six hours, a quiet baseline of 1 and a wave every 30
        // columns (one hour) starting at column 20.
        let mut s = vec![1u32; 180];
        for w in 0..5 {
            let at = 20 + w * 30;
            s[at] = 40;
            s[at + 1] = 25;
        }
        let b = auth_bursts(&timeline(&s, 2 * MINUTE), &[HOUR]);
        assert_eq!(b.bursts.len(), 5, "{:?}", b.bursts);
        assert_eq!(b.bursts[0].start, 40 * MINUTE);
        let p = b.period.expect("a period");
        assert_eq!(p.period_ms, HOUR);
        assert_eq!(p.matches_lifetime, Some(HOUR));
        assert_eq!(p.next_due, b.bursts[4].start + HOUR);
    }

    #[test]
    fn quiet_or_irregular_timelines() {
        assert_eq!(
            auth_bursts(&timeline(&[], MINUTE), &[HOUR]),
            AuthBursts::default()
        );
        assert!(
            auth_bursts(&timeline(&[2; 60], MINUTE), &[HOUR])
                .bursts
                .is_empty()
        );
        // Two bursts: marked, but two are not enough to call a period.
        let mut s = vec![0u32; 120];
        s[30] = 50;
        s[90] = 50;
        let b = auth_bursts(&timeline(&s, MINUTE), &[HOUR]);
        assert_eq!(b.bursts.len(), 2);
        assert!(b.period.is_none());
    }
}
