//! The incident script: which fault the demo API shows at a given demo time, and when the
//! token-expiry waves of the H3 phase hit. Pure arithmetic on demo milliseconds so the server,
//! the traffic generator and the tests all agree on the same timeline.

use serde::Serialize;

use crate::model::hypothesis::Hypothesis;
use crate::model::time::{EpochMs, HOUR, MINUTE};

/// One stage of the scripted incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Everything answers correctly.
    Healthy,
    /// H2: the auth middleware runs before CORS for preflights on `/api/orders*`.
    PreflightAuth,
    /// H3: access tokens expire together in waves and refresh fails for a few minutes.
    TokenExpiry,
    /// H4: two layers both add `Access-Control-Allow-Origin` on `/api/orders*`.
    DoubleAcao,
    /// Fault removed; traffic settles back.
    Recovery,
}

impl Phase {
    pub const ALL: [Phase; 5] = [
        Phase::Healthy,
        Phase::PreflightAuth,
        Phase::TokenExpiry,
        Phase::DoubleAcao,
        Phase::Recovery,
    ];

    /// Short stable identifier (`healthy`, `preflight-auth`, ...).
    pub fn id(self) -> &'static str {
        match self {
            Phase::Healthy => "healthy",
            Phase::PreflightAuth => "preflight-auth",
            Phase::TokenExpiry => "token-expiry",
            Phase::DoubleAcao => "double-acao",
            Phase::Recovery => "recovery",
        }
    }

    /// Short name for the demo's header (`H3 token expiry`).
    pub fn short(self) -> &'static str {
        match self {
            Phase::Healthy => "healthy",
            Phase::PreflightAuth => "H2 preflight auth",
            Phase::TokenExpiry => "H3 token expiry",
            Phase::DoubleAcao => "H4 double ACAO",
            Phase::Recovery => "recovery",
        }
    }

    /// What the phase does, for status lines.
    pub fn title(self) -> &'static str {
        match self {
            Phase::Healthy => "no fault",
            Phase::PreflightAuth => "H2: preflight challenged by auth on /api/orders*",
            Phase::TokenExpiry => "H3: tokens expire in waves, refresh fails",
            Phase::DoubleAcao => "H4: doubled Access-Control-Allow-Origin on /api/orders*",
            Phase::Recovery => "fault removed, traffic settling",
        }
    }

    /// The change that starts the phase, phrased as it would appear in a deployment or
    /// configuration history (for a "recent changes" panel).
    pub fn change_note(self) -> &'static str {
        match self {
            Phase::Healthy => "steady state: app CORS policy only, auth after CORS",
            Phase::PreflightAuth => {
                "deploy api 2026.4.2: authentication middleware registered ahead of CORS"
            }
            Phase::TokenExpiry => {
                "identity provider: session store failover; token lifetime policy re-applied"
            }
            Phase::DoubleAcao => {
                "config change: platform CORS enabled in the portal alongside the app's policy"
            }
            Phase::Recovery => "rollback: platform CORS cleared, middleware order restored",
        }
    }

    pub fn parse(s: &str) -> Option<Phase> {
        let s = s.trim().to_ascii_lowercase();
        Phase::ALL.into_iter().find(|p| {
            p.id() == s
                || match p {
                    Phase::PreflightAuth => s == "h2",
                    Phase::TokenExpiry => s == "h3",
                    Phase::DoubleAcao => s == "h4",
                    _ => false,
                }
        })
    }
}

/// Upper bound on script cycles examined by one query, so degenerate durations (a cycle of a
/// few milliseconds and an hour-long token) cannot turn a lookup into a long loop.
const MAX_CYCLES_SCANNED: i64 = 64;

/// The timeline. Phases run in the order of [`Phase::ALL`] starting at `start_ms`, then repeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Script {
    /// Demo time at which the first Healthy phase begins.
    pub start_ms: EpochMs,
    pub healthy_ms: EpochMs,
    pub preflight_auth_ms: EpochMs,
    pub token_expiry_ms: EpochMs,
    pub double_acao_ms: EpochMs,
    pub recovery_ms: EpochMs,
    /// Lifetime of an access token issued by the demo identity provider.
    pub token_lifetime_ms: EpochMs,
    /// Offset of the first expiry wave from the start of the H3 phase.
    pub first_wave_ms: EpochMs,
    /// Interval between expiry waves inside the H3 phase.
    pub wave_period_ms: EpochMs,
    /// How long the token endpoint refuses grants after each wave.
    pub refresh_outage_ms: EpochMs,
    /// When set, this phase holds forever (phase start = `start_ms`); used by tests and
    /// `corstop demo --phase P --hold`.
    pub forced: Option<Phase>,
}

impl Script {
    /// The default incident starting at `start_ms`: phases of 75 minutes (75 s at the demo's
    /// default speed), except H3, which runs three expiry waves an hour apart and the refresh
    /// outage after the last: three bursts are what it takes to show their period.
    pub fn new(start_ms: EpochMs) -> Script {
        Script {
            start_ms,
            healthy_ms: 75 * MINUTE,
            preflight_auth_ms: 75 * MINUTE,
            token_expiry_ms: 130 * MINUTE,
            double_acao_ms: 75 * MINUTE,
            recovery_ms: 75 * MINUTE,
            token_lifetime_ms: HOUR,
            // Early in the phase, so the fault shows within a couple of minutes of it starting.
            first_wave_ms: MINUTE,
            wave_period_ms: HOUR,
            refresh_outage_ms: 7 * MINUTE,
            forced: None,
        }
    }

    fn durations(&self) -> [(Phase, EpochMs); 5] {
        [
            (Phase::Healthy, self.healthy_ms.max(0)),
            (Phase::PreflightAuth, self.preflight_auth_ms.max(0)),
            (Phase::TokenExpiry, self.token_expiry_ms.max(0)),
            (Phase::DoubleAcao, self.double_acao_ms.max(0)),
            (Phase::Recovery, self.recovery_ms.max(0)),
        ]
    }

    /// Length of one full incident cycle.
    pub fn cycle_ms(&self) -> EpochMs {
        self.durations().iter().map(|(_, d)| d).sum()
    }

    /// Offset of a phase from the start of its cycle.
    pub fn phase_offset(&self, phase: Phase) -> EpochMs {
        let mut off = 0;
        for (p, d) in self.durations() {
            if p == phase {
                return off;
            }
            off += d;
        }
        off
    }

    /// The phase in force at `t` and the demo time it began.
    pub fn phase_at(&self, t: EpochMs) -> (Phase, EpochMs) {
        if let Some(p) = self.forced {
            return (p, self.start_ms);
        }
        let cycle = self.cycle_ms();
        if cycle <= 0 {
            return (Phase::Healthy, self.start_ms);
        }
        let rel = t - self.start_ms;
        let cycle_start = self.start_ms + rel.div_euclid(cycle) * cycle;
        let mut in_cycle = rel.rem_euclid(cycle);
        let mut begin = cycle_start;
        for (p, d) in self.durations() {
            if in_cycle < d {
                return (p, begin);
            }
            in_cycle -= d;
            begin += d;
        }
        (Phase::Recovery, begin)
    }

    /// When the phase after the one in force at `t` begins (`None` when a phase is forced).
    pub fn next_change(&self, t: EpochMs) -> Option<EpochMs> {
        if self.forced.is_some() || self.cycle_ms() <= 0 {
            return None;
        }
        let (phase, begin) = self.phase_at(t);
        let len = self
            .durations()
            .iter()
            .find(|(p, _)| *p == phase)
            .map(|(_, d)| *d)
            .unwrap_or(0);
        Some(begin + len)
    }

    /// Phase changes in `(from, to]`, oldest first (bounded), each with the phase it starts.
    pub fn transitions_between(&self, from: EpochMs, to: EpochMs) -> Vec<(EpochMs, Phase)> {
        let mut out = Vec::new();
        let mut t = from;
        while out.len() < 256 {
            let Some(next) = self.next_change(t) else {
                break;
            };
            if next > to || next <= t {
                break;
            }
            let (phase, _) = self.phase_at(next);
            // A script with a single non-empty phase wraps onto itself: no change to report.
            if phase != self.phase_at(t).0 {
                out.push((next, phase));
            }
            t = next;
        }
        out
    }

    /// Calls `visit` with every expiry wave in `[from, to]`, oldest first, until it returns
    /// `false`.
    fn waves_in(&self, from: EpochMs, to: EpochMs, visit: &mut dyn FnMut(EpochMs) -> bool) {
        if to < from || self.wave_period_ms <= 0 {
            return;
        }
        // Each window is one H3 phase: (phase start, phase end).
        let mut windows: Vec<(EpochMs, EpochMs)> = Vec::new();
        match self.forced {
            Some(Phase::TokenExpiry) => windows.push((self.start_ms, EpochMs::MAX)),
            Some(_) => return,
            None => {
                let cycle = self.cycle_ms();
                if cycle <= 0 || self.token_expiry_ms <= 0 {
                    return;
                }
                let off = self.phase_offset(Phase::TokenExpiry);
                // The window of cycle k covers [start + k*cycle + off, ... + token_expiry_ms).
                let first = (from - self.start_ms - off - self.token_expiry_ms).div_euclid(cycle);
                let last = (to - self.start_ms - off).div_euclid(cycle);
                let last = last.min(first + MAX_CYCLES_SCANNED);
                for k in first..=last {
                    let s = self.start_ms + k * cycle + off;
                    windows.push((s, s + self.token_expiry_ms));
                }
            }
        }
        for (begin, end) in windows {
            let base = begin + self.first_wave_ms.max(0);
            // First wave index j with base + j*period >= from.
            let j0 = if from <= base {
                0
            } else {
                (from - base + self.wave_period_ms - 1).div_euclid(self.wave_period_ms)
            };
            let mut j = j0;
            loop {
                let w = base + j * self.wave_period_ms;
                if w > to || w >= end {
                    break;
                }
                if !visit(w) {
                    return;
                }
                j += 1;
                if j - j0 > MAX_CYCLES_SCANNED * 4 {
                    break;
                }
            }
        }
    }

    /// Expiry time of an access token issued at `issued`: its normal lifetime, cut short to
    /// the first expiry wave that falls inside it. That is what makes every client's token run
    /// out at the same moment during H3.
    pub fn token_expiry(&self, issued: EpochMs) -> EpochMs {
        let natural = issued.saturating_add(self.token_lifetime_ms.max(1));
        let mut first = None;
        self.waves_in(issued.saturating_add(1), natural, &mut |w| {
            first = Some(w);
            false
        });
        first.unwrap_or(natural)
    }

    /// The latest expiry wave at or before `t`, if it is recent enough that the identity
    /// provider is still refusing grants.
    pub fn refresh_outage(&self, t: EpochMs) -> Option<EpochMs> {
        if self.refresh_outage_ms <= 0 {
            return None;
        }
        let mut latest = None;
        self.waves_in(t - self.refresh_outage_ms + 1, t, &mut |w| {
            latest = Some(w);
            true
        });
        latest
    }

    /// Expiry waves inside `[from, to]` (bounded), for displays and tests.
    pub fn waves_between(&self, from: EpochMs, to: EpochMs) -> Vec<EpochMs> {
        let mut out = Vec::new();
        self.waves_in(from, to, &mut |w| {
            out.push(w);
            out.len() < 256
        });
        out
    }
}

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
    fn phase_boundaries_default_script() {
        let s = Script::new(T0);
        assert_eq!(s.cycle_ms(), 430 * M);
        let cases: &[(EpochMs, Phase, EpochMs)] = &[
            (0, Phase::Healthy, 0),
            (75 * M - 1, Phase::Healthy, 0),
            (75 * M, Phase::PreflightAuth, 75 * M),
            (150 * M - 1, Phase::PreflightAuth, 75 * M),
            (150 * M, Phase::TokenExpiry, 150 * M),
            (280 * M - 1, Phase::TokenExpiry, 150 * M),
            (280 * M, Phase::DoubleAcao, 280 * M),
            (355 * M, Phase::Recovery, 355 * M),
            (430 * M - 1, Phase::Recovery, 355 * M),
            (430 * M, Phase::Healthy, 430 * M),
            (506 * M, Phase::PreflightAuth, 505 * M),
            (-1, Phase::Recovery, -75 * M),
        ];
        for &(off, phase, begin) in cases {
            assert_eq!(s.phase_at(T0 + off), (phase, T0 + begin), "offset {off}");
        }
        assert_eq!(s.next_change(T0), Some(T0 + 75 * M));
        assert_eq!(s.next_change(T0 + 160 * M), Some(T0 + 280 * M));
        // Comparable lengths: none twice as long as another.
        let lengths = [
            s.healthy_ms,
            s.preflight_auth_ms,
            s.token_expiry_ms,
            s.double_acao_ms,
            s.recovery_ms,
        ];
        let (min, max) = (lengths.iter().min().unwrap(), lengths.iter().max().unwrap());
        assert!(max < &(2 * min), "{lengths:?}");
        for (p, off) in [
            (Phase::Healthy, 0),
            (Phase::PreflightAuth, 75 * M),
            (Phase::TokenExpiry, 150 * M),
            (Phase::DoubleAcao, 280 * M),
            (Phase::Recovery, 355 * M),
        ] {
            assert_eq!(s.phase_offset(p), off, "{p:?}");
        }
    }

    #[test]
    fn custom_durations_and_zero_length_phases() {
        let mut s = Script::new(T0);
        s.healthy_ms = 0;
        s.preflight_auth_ms = 10 * MINUTE;
        s.token_expiry_ms = 0;
        s.double_acao_ms = 10 * MINUTE;
        s.recovery_ms = 0;
        assert_eq!(s.phase_at(T0), (Phase::PreflightAuth, T0));
        assert_eq!(
            s.phase_at(T0 + 10 * MINUTE),
            (Phase::DoubleAcao, T0 + 10 * MINUTE)
        );
        assert_eq!(
            s.phase_at(T0 + 20 * MINUTE),
            (Phase::PreflightAuth, T0 + 20 * MINUTE)
        );
        // No H3 phase: tokens live their full lifetime, refresh never fails.
        assert_eq!(s.token_expiry(T0), T0 + HOUR);
        assert_eq!(s.refresh_outage(T0 + 3 * HOUR), None);

        let mut empty = Script::new(T0);
        empty.healthy_ms = 0;
        empty.preflight_auth_ms = 0;
        empty.token_expiry_ms = 0;
        empty.double_acao_ms = 0;
        empty.recovery_ms = 0;
        assert_eq!(empty.phase_at(T0 + 5), (Phase::Healthy, T0));
        assert_eq!(empty.next_change(T0), None);
    }

    #[test]
    fn transitions_in_order() {
        let s = Script::new(T0);
        assert_eq!(
            s.transitions_between(T0, T0 + 430 * M),
            vec![
                (T0 + 75 * M, Phase::PreflightAuth),
                (T0 + 150 * M, Phase::TokenExpiry),
                (T0 + 280 * M, Phase::DoubleAcao),
                (T0 + 355 * M, Phase::Recovery),
                (T0 + 430 * M, Phase::Healthy),
            ]
        );
        assert!(s.transitions_between(T0 + M, T0 + 74 * M).is_empty());
        // A zero-length phase is skipped, not reported.
        let mut z = Script::new(T0);
        z.preflight_auth_ms = 0;
        assert_eq!(
            z.transitions_between(T0, T0 + 80 * M),
            vec![(T0 + 75 * M, Phase::TokenExpiry)]
        );
        for p in Phase::ALL {
            assert!(!p.change_note().is_empty());
        }
    }

    #[test]
    fn forced_phase_holds() {
        let mut s = Script::new(T0);
        s.forced = Some(Phase::DoubleAcao);
        assert_eq!(s.phase_at(T0 + 7 * HOUR), (Phase::DoubleAcao, T0));
        assert_eq!(s.next_change(T0), None);
        assert!(s.waves_between(T0, T0 + 10 * HOUR).is_empty());
        s.forced = Some(Phase::TokenExpiry);
        assert_eq!(
            s.waves_between(T0, T0 + 3 * HOUR),
            vec![T0 + MINUTE, T0 + 61 * MINUTE, T0 + 121 * MINUTE]
        );
    }

    #[test]
    fn waves_inside_h3_only() {
        let s = Script::new(T0);
        let h3 = T0 + 150 * M;
        // Three waves an hour apart inside the H3 phase, none outside it.
        assert_eq!(
            s.waves_between(T0, T0 + 430 * M),
            vec![h3 + M, h3 + 61 * M, h3 + 121 * M]
        );
        // Next cycle repeats.
        assert_eq!(
            s.waves_between(T0 + 430 * M, T0 + 430 * M + 155 * M),
            vec![h3 + 430 * M + M]
        );
    }

    #[test]
    fn token_expiry_aligns_to_waves() {
        let s = Script::new(T0);
        let cases: &[(EpochMs, EpochMs)] = &[
            // Issued early in Healthy: full lifetime, no wave inside it.
            (0, 60 * M),
            // Issued in H2: cut to the first wave at 151 min.
            (100 * M, 151 * M),
            (140 * M, 151 * M),
            // Issued right at the wave: the next wave an hour later.
            (151 * M, 211 * M),
            (160 * M, 211 * M),
            // Last wave at 271 min; tokens issued after it live their full hour.
            (272 * M, 332 * M),
        ];
        for &(issued, exp) in cases {
            assert_eq!(s.token_expiry(T0 + issued), T0 + exp, "issued at +{issued}");
        }
    }

    #[test]
    fn refresh_outage_windows() {
        let s = Script::new(T0);
        let cases: &[(EpochMs, Option<EpochMs>)] = &[
            (100 * M, None),
            (151 * M - 1, None),
            (151 * M, Some(151 * M)),
            (157 * M, Some(151 * M)),
            (158 * M, None),
            (214 * M, Some(211 * M)),
            (277 * M, Some(271 * M)),
            (290 * M, None),
        ];
        for &(t, want) in cases {
            assert_eq!(s.refresh_outage(T0 + t), want.map(|w| T0 + w), "at +{t}");
        }
    }

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

    #[test]
    fn phase_parse() {
        for p in Phase::ALL {
            assert_eq!(Phase::parse(p.id()), Some(p));
        }
        assert_eq!(Phase::parse("H3"), Some(Phase::TokenExpiry));
        assert_eq!(Phase::parse("nope"), None);
    }
}
