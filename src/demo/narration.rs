//! What the demo's header says: where the script stands and what the board should show then,
//! so a viewer (and `tests/integration/demo_cycle.rs`) can check the board against the truth.
//! Pure arithmetic on demo time, like the script itself.

use crate::model::hypothesis::Hypothesis;
use crate::model::time::{EpochMs, MINUTE};

use super::script::{Phase, Script};

/// How long after a change (a phase starting, an expiry wave) the board takes to show it.
pub const SETTLE_MS: EpochMs = 2 * MINUTE;
/// The same after a fault ends: its evidence has to age out of the scored window first.
pub const CALM_SETTLE_MS: EpochMs = 3 * MINUTE;

/// What the board should show at a moment of the script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// This hypothesis supported and on top.
    Top(Hypothesis),
    /// H3 between expiry waves: neither H2 nor H4 on top; the next wave (if any this phase).
    BetweenWaves { next_wave: Option<EpochMs> },
    /// No fault: none of H2, H3, H4 on top.
    Calm,
    /// A change the board has not caught up with yet; what it shows from `at` on.
    Settling { at: EpochMs, then: Settled },
}

/// What the board shows once it has settled (see [`Expect::Settling`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    Top(Hypothesis),
    BetweenWaves,
    Calm,
}

/// Where the script stands at a moment and what the board should show then: the demo's
/// header line, so a viewer can check the board against the truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Narration {
    pub now: EpochMs,
    pub phase: Phase,
    /// Demo time since the phase began.
    pub elapsed_ms: EpochMs,
    /// Length of the phase; `None` when it is held.
    pub length_ms: Option<EpochMs>,
    /// While refresh fails after an expiry wave: when it works again.
    pub outage_until: Option<EpochMs>,
    pub expect: Expect,
}

fn minutes(ms: EpochMs) -> EpochMs {
    ms.max(0).div_euclid(MINUTE)
}

/// Minutes until `at`, rounded up, so "in 0 min" is never said of something still ahead.
fn minutes_until(now: EpochMs, at: EpochMs) -> EpochMs {
    (at - now).max(0).div_euclid(MINUTE) + i64::from((at - now).rem_euclid(MINUTE) > 0)
}

impl Settled {
    fn text(self, n: &Narration) -> String {
        match self {
            Settled::Top(Hypothesis::H3) => match n.outage_until {
                Some(until) => format!(
                    "H3 on top (tokens expired together; refresh fails for {} more min)",
                    minutes_until(n.now, until)
                ),
                None => "H3 on top".into(),
            },
            Settled::Top(Hypothesis::H2) => "H2 on top (OPTIONS /api/orders* answered 401)".into(),
            Settled::Top(Hypothesis::H4) => {
                "H4 on top (orders preflights blocked: two Access-Control-Allow-Origin)".into()
            }
            Settled::Top(h) => format!("{} on top", h.id()),
            Settled::BetweenWaves => "no H2 or H4 on top; H3 fades between waves".into(),
            Settled::Calm => "none of H2, H3, H4 on top".into(),
        }
    }
}

impl std::fmt::Display for Narration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let number = Phase::ALL
            .iter()
            .position(|p| *p == self.phase)
            .map_or(0, |i| i + 1);
        write!(
            f,
            "demo phase {number}/{} {}",
            Phase::ALL.len(),
            self.phase.short()
        )?;
        match self.length_ms {
            Some(len) => write!(f, " ({} of {} min)", minutes(self.elapsed_ms), minutes(len))?,
            None => write!(f, " (held, {} min in)", minutes(self.elapsed_ms))?,
        }
        let expect = match self.expect {
            Expect::Top(h) => Settled::Top(h).text(self),
            Expect::Calm => Settled::Calm.text(self),
            Expect::BetweenWaves { next_wave } => {
                let next = match next_wave {
                    Some(w) => format!("; next expiry wave in {} min", minutes_until(self.now, w)),
                    None => "; no more waves this phase".into(),
                };
                format!("{}{next}", Settled::BetweenWaves.text(self))
            }
            Expect::Settling { at, then } => format!(
                "in {} min: {}",
                minutes_until(self.now, at),
                then.text(self)
            ),
        };
        write!(f, " \u{b7} expect: {expect}")
    }
}

impl Script {
    /// The phase in force at `t`, how far into it, and what the board should show: from the
    /// phase's start (or the latest expiry wave) on, [`SETTLE_MS`] for a fault to show and
    /// [`CALM_SETTLE_MS`] for one to clear.
    pub fn narrate(&self, t: EpochMs) -> Narration {
        let (phase, since) = self.phase_at(t);
        let length_ms = self.next_change(t).map(|end| end - since);
        let end = length_ms.map_or(EpochMs::MAX, |l| since.saturating_add(l));
        let last_wave = self.waves_between(since, t).last().copied();
        let outage_until = last_wave
            .map(|w| w + self.refresh_outage_ms)
            .filter(|until| *until >= t);
        // What the board shows once settled, and from when.
        let (settled, at) = match (phase, last_wave) {
            (Phase::Healthy | Phase::Recovery, _) => (Settled::Calm, since + CALM_SETTLE_MS),
            (Phase::PreflightAuth, _) => (Settled::Top(Hypothesis::H2), since + SETTLE_MS),
            (Phase::DoubleAcao, _) => (Settled::Top(Hypothesis::H4), since + SETTLE_MS),
            (Phase::TokenExpiry, Some(w)) if t - w <= self.refresh_outage_ms => (
                Settled::Top(Hypothesis::H3),
                (w + SETTLE_MS).max(since + SETTLE_MS),
            ),
            (Phase::TokenExpiry, _) => (Settled::BetweenWaves, since + SETTLE_MS),
        };
        let expect = if t < at {
            Expect::Settling { at, then: settled }
        } else {
            match settled {
                Settled::Top(h) => Expect::Top(h),
                Settled::Calm => Expect::Calm,
                Settled::BetweenWaves => Expect::BetweenWaves {
                    next_wave: self
                        .waves_between(t + 1, end.min(t.saturating_add(self.wave_period_ms)))
                        .first()
                        .copied()
                        .filter(|w| *w < end),
                },
            }
        };
        Narration {
            now: t,
            phase,
            elapsed_ms: t - since,
            length_ms,
            outage_until: outage_until.filter(|_| phase == Phase::TokenExpiry),
            expect,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: EpochMs = 1_775_296_800_000; // 2026-04-04T10:00:00Z
    const M: EpochMs = MINUTE;

    #[test]
    fn narration_says_phase_progress_and_what_the_board_shows() {
        let s = Script::new(T0);
        use Hypothesis::{H2, H3, H4};
        let cases: &[(EpochMs, Phase, Expect)] = &[
            (
                M,
                Phase::Healthy,
                Expect::Settling {
                    at: T0 + 3 * M,
                    then: Settled::Calm,
                },
            ),
            (30 * M, Phase::Healthy, Expect::Calm),
            (
                76 * M,
                Phase::PreflightAuth,
                Expect::Settling {
                    at: T0 + 77 * M,
                    then: Settled::Top(H2),
                },
            ),
            (77 * M, Phase::PreflightAuth, Expect::Top(H2)),
            // H3: the first wave at +1 min; settled on H3 two minutes after it.
            (
                152 * M,
                Phase::TokenExpiry,
                Expect::Settling {
                    at: T0 + 153 * M,
                    then: Settled::Top(H3),
                },
            ),
            (153 * M, Phase::TokenExpiry, Expect::Top(H3)),
            (158 * M, Phase::TokenExpiry, Expect::Top(H3)),
            (
                159 * M,
                Phase::TokenExpiry,
                Expect::BetweenWaves {
                    next_wave: Some(T0 + 211 * M),
                },
            ),
            (215 * M, Phase::TokenExpiry, Expect::Top(H3)),
            (278 * M, Phase::TokenExpiry, Expect::Top(H3)),
            (
                279 * M,
                Phase::TokenExpiry,
                Expect::BetweenWaves { next_wave: None },
            ),
            (285 * M, Phase::DoubleAcao, Expect::Top(H4)),
            (
                357 * M,
                Phase::Recovery,
                Expect::Settling {
                    at: T0 + 358 * M,
                    then: Settled::Calm,
                },
            ),
            (358 * M, Phase::Recovery, Expect::Calm),
        ];
        for &(off, phase, expect) in cases {
            let n = s.narrate(T0 + off);
            assert_eq!((n.phase, n.expect), (phase, expect), "at +{} min", off / M);
        }
        let cases: &[(EpochMs, &str)] = &[
            (
                30 * M,
                "demo phase 1/5 healthy (30 of 75 min) \u{b7} expect: none of H2, H3, H4 on top",
            ),
            (
                155 * M + 30 * crate::model::time::SECOND,
                "demo phase 3/5 H3 token expiry (5 of 130 min) \u{b7} expect: H3 on top (tokens \
                 expired together; refresh fails for 3 more min)",
            ),
            (
                180 * M,
                "demo phase 3/5 H3 token expiry (30 of 130 min) \u{b7} expect: no H2 or H4 on top; \
                 H3 fades between waves; next expiry wave in 31 min",
            ),
            (
                76 * M,
                "demo phase 2/5 H2 preflight auth (1 of 75 min) \u{b7} expect: in 1 min: H2 on top \
                 (OPTIONS /api/orders* answered 401)",
            ),
        ];
        for &(off, text) in cases {
            assert_eq!(s.narrate(T0 + off).to_string(), text);
        }
        let mut held = Script::new(T0);
        held.forced = Some(Phase::DoubleAcao);
        assert!(
            held.narrate(T0 + 500 * M)
                .to_string()
                .starts_with("demo phase 4/5 H4 double ACAO (held, 500 min in) \u{b7} expect: H4")
        );
    }
}
