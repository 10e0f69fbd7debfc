//! The incident script: which fault the demo API shows at a given demo time, and when the
//! token-expiry waves of the H3 phase hit. Pure arithmetic on demo milliseconds so the server,
//! the traffic generator and the tests all agree on the same timeline.

use serde::Serialize;

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
    fn phase_parse() {
        for p in Phase::ALL {
            assert_eq!(Phase::parse(p.id()), Some(p));
        }
        assert_eq!(Phase::parse("H3"), Some(Phase::TokenExpiry));
        assert_eq!(Phase::parse("nope"), None);
    }
}
