//! The demo incident stepped through one whole cycle (Healthy → H2 → H3 → H4 → Recovery) in
//! virtual time: the deterministic replay (`corstop::demo::replay`, fixed start and seed, no
//! sockets, no clock) is sampled every demo minute, and at each sample the status and the
//! triage board are computed exactly as the dashboard computes them.
//!
//! - Status: never OK while the latest verdict of any probe is blocked, and never OK while a
//!   hypothesis is supported and failing now (the status then names it).
//! - Board: what the demo's header says the board should show ([`Script::narrate`]) is what it
//!   shows. The top supported hypothesis names the phase's fault after a short settling time:
//!   H2 in the H2 phase and H4 in the H4 phase from two minutes in; H3 from two minutes after
//!   each token-expiry wave to the end of its refresh outage, and neither H2 nor H4 in between;
//!   none of H2, H3, H4 in Healthy and Recovery from three minutes in.

use corstop::analysis::status::{self, Status, StatusSummary};
use corstop::analysis::triage::State;
use corstop::analysis::{self, AnalysisConfig};
use corstop::demo::narration::{Expect, Settled};
use corstop::demo::replay::{REPLAY_SEED, REPLAY_START, demo_replay_sampled};
use corstop::demo::{Phase, Script};
use corstop::model::time::{EpochMs, MINUTE};
use corstop::sources::event::Hypothesis;
use corstop::store::Store;
use corstop::ui::{Theme, UiState, draw};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

struct Sample {
    now: EpochMs,
    phase: Phase,
    into_phase: EpochMs,
    since_wave: Option<EpochMs>,
    /// What the demo's header says the board should show now.
    expect: Expect,
    blocked_probes: usize,
    status: StatusSummary,
    /// The top of the "now" board when it is supported (what the header's `top:` shows).
    top: Option<Hypothesis>,
    board: String,
}

fn sample(store: &Store, script: &Script) -> Sample {
    let now = store.now();
    let (phase, since) = script.phase_at(now);
    let v = analysis::verdicts(store, &AnalysisConfig::default());
    let board = v.now.as_ref().unwrap_or(&v.triage);
    Sample {
        now,
        phase,
        into_phase: now - since,
        since_wave: script.waves_between(since, now).last().map(|&w| now - w),
        expect: script.narrate(now).expect,
        blocked_probes: status::probe_inputs(store)
            .iter()
            .filter(|p| !p.allowed)
            .count(),
        status: status::of_store(store, &v.alerts, board),
        top: board
            .top()
            .filter(|e| e.state == State::Supported)
            .map(|e| e.hypothesis),
        board: board
            .entries
            .iter()
            .take(4)
            .map(|e| format!("{}:{}:{}", e.id, e.state.as_str(), e.score))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// The header badge of the dashboard drawn from the whole view model of `store`.
fn badge(store: &Store) -> (StatusSummary, String) {
    let model = analysis::snapshot(store, store.now());
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut state = UiState::new("REPLAY", false);
    let theme = Theme::builtin("default").unwrap();
    terminal
        .draw(|f| draw(f, &mut state, &model, &theme))
        .unwrap();
    let buf = terminal.backend().buffer().clone();
    let header: String = (0..buf.area.width).map(|x| buf[(x, 1)].symbol()).collect();
    (model.status, header)
}

fn one_cycle() -> Vec<Sample> {
    let script = Script::new(REPLAY_START);
    let span = script.cycle_ms();
    let mut samples: Vec<Sample> = Vec::new();
    demo_replay_sampled(span, REPLAY_SEED, MINUTE, |store| {
        let s = sample(store, &script);
        // Every ten minutes the whole dashboard is drawn: its badge is this status.
        if samples.len().is_multiple_of(10) {
            let (status, header) = badge(store);
            assert_eq!(status, s.status, "{}", describe(&s));
            assert!(
                header.contains(&format!(" {} ", s.status.level.label())),
                "{}: {header}",
                describe(&s)
            );
        }
        samples.push(s);
    })
    .expect("the replay runs");
    samples
}

fn describe(s: &Sample) -> String {
    format!(
        "{:?}+{:.1}min{} expect {:?} status {} {:?} top {:?} board {}",
        s.phase,
        s.into_phase as f64 / MINUTE as f64,
        s.since_wave.map_or_else(String::new, |w| format!(
            " (wave+{:.1}min)",
            w as f64 / MINUTE as f64
        )),
        s.expect,
        s.status.level.label(),
        s.status.reasons.iter().map(|r| &r.text).collect::<Vec<_>>(),
        s.top,
        s.board
    )
}

#[test]
fn status_is_never_ok_while_a_probe_is_blocked_or_a_hypothesis_fails() {
    let samples = one_cycle();
    let script = Script::new(REPLAY_START);
    // One sample per demo minute over the whole cycle, every phase visited.
    assert!(
        samples.len() as i64 >= script.cycle_ms() / MINUTE - 2,
        "{}",
        samples.len()
    );
    for phase in [
        Phase::Healthy,
        Phase::PreflightAuth,
        Phase::TokenExpiry,
        Phase::DoubleAcao,
        Phase::Recovery,
    ] {
        assert!(
            samples.iter().any(|s| s.phase == phase),
            "{phase:?} never sampled"
        );
    }
    let mut blocked_seen = 0;
    for s in &samples {
        assert!(s.now > REPLAY_START);
        if s.blocked_probes > 0 {
            blocked_seen += 1;
            assert_ne!(s.status.level, Status::Ok, "{}", describe(s));
            assert!(
                s.status
                    .reasons
                    .iter()
                    .any(|r| r.key == "probes"
                        && r.text.contains(&format!("{} of ", s.blocked_probes))),
                "{}",
                describe(s)
            );
        }
        if let Some(h) = s.top {
            assert_ne!(s.status.level, Status::Ok, "{}", describe(s));
            assert!(
                s.status
                    .reasons
                    .iter()
                    .any(|r| r.key == format!("hypothesis:{}", h.id())),
                "{}",
                describe(s)
            );
        }
        if s.status.level == Status::Ok {
            assert!(s.status.reasons.is_empty(), "{}", describe(s));
        }
    }
    // The H4 phase blocks probes: the test must have seen them.
    assert!(
        samples
            .iter()
            .any(|s| s.phase == Phase::DoubleAcao && s.blocked_probes > 0),
        "no blocked probe in the H4 phase"
    );
    assert!(blocked_seen > 10, "{blocked_seen}");
}

#[derive(Default)]
struct Group {
    pass: usize,
    total: usize,
    failures: Vec<String>,
}

impl Group {
    fn check(&mut self, ok: bool, s: &Sample) {
        self.total += 1;
        if ok {
            self.pass += 1;
        } else if self.failures.len() < 12 {
            self.failures.push(describe(s));
        }
    }

    /// The replay is deterministic, so every sample of a group must hold.
    fn assert(&self, name: &str, min_samples: usize) -> Result<(), String> {
        println!("{name}: {} of {} samples hold", self.pass, self.total);
        if self.total < min_samples {
            return Err(format!(
                "{name}: only {} samples (want {min_samples})",
                self.total
            ));
        }
        if self.pass < self.total {
            return Err(format!(
                "{name}: {} of {} samples hold; failing:\n{}",
                self.pass,
                self.total,
                self.failures.join("\n")
            ));
        }
        Ok(())
    }
}

/// Groups the samples by what the header says the board must show; see the module doc.
fn board_groups(samples: &[Sample], outage: EpochMs) -> [(&'static str, Group, usize); 5] {
    let faults = [Hypothesis::H2, Hypothesis::H3, Hypothesis::H4];
    let mut h2 = Group::default();
    let mut h3_waves = Group::default();
    let mut h3_between = Group::default();
    let mut h4 = Group::default();
    let mut calm = Group::default();
    for s in samples {
        // The header's expectation is the script's truth as the module doc states it.
        let settled = |after: EpochMs| s.into_phase >= after;
        match s.expect {
            Expect::Top(Hypothesis::H2) => {
                assert!(
                    s.phase == Phase::PreflightAuth && settled(2 * MINUTE),
                    "{}",
                    describe(s)
                );
                h2.check(s.top == Some(Hypothesis::H2), s);
            }
            Expect::Top(Hypothesis::H4) => {
                assert!(
                    s.phase == Phase::DoubleAcao && settled(2 * MINUTE),
                    "{}",
                    describe(s)
                );
                h4.check(s.top == Some(Hypothesis::H4), s);
            }
            Expect::Top(Hypothesis::H3) => {
                assert!(
                    s.phase == Phase::TokenExpiry
                        && s.since_wave
                            .is_some_and(|w| (2 * MINUTE..=outage).contains(&w)),
                    "{}",
                    describe(s)
                );
                h3_waves.check(s.top == Some(Hypothesis::H3), s);
            }
            Expect::BetweenWaves { .. } => {
                assert!(
                    s.phase == Phase::TokenExpiry
                        && settled(2 * MINUTE)
                        && s.since_wave.is_none_or(|w| w > outage),
                    "{}",
                    describe(s)
                );
                h3_between.check(!matches!(s.top, Some(Hypothesis::H2 | Hypothesis::H4)), s);
            }
            Expect::Calm => {
                assert!(
                    matches!(s.phase, Phase::Healthy | Phase::Recovery) && settled(3 * MINUTE),
                    "{}",
                    describe(s)
                );
                calm.check(!s.top.is_some_and(|h| faults.contains(&h)), s);
            }
            Expect::Settling { then, .. } => {
                let fault = matches!(then, Settled::Top(_)) || then == Settled::BetweenWaves;
                assert!(!settled(3 * MINUTE) || fault, "{}", describe(s));
            }
            Expect::Top(other) => panic!("the demo never expects {other:?}: {}", describe(s)),
        }
    }
    [
        ("H2 phase: top is H2", h2, 20),
        ("H3 waves: top is H3", h3_waves, 5),
        ("H3 between waves: top is neither H2 nor H4", h3_between, 20),
        ("H4 phase: top is H4", h4, 20),
        ("Healthy and Recovery: top is none of H2, H3, H4", calm, 10),
    ]
}

#[test]
fn board_names_each_phase_fault() {
    let samples = one_cycle();
    let outage = Script::new(REPLAY_START).refresh_outage_ms;
    let errors: Vec<String> = board_groups(&samples, outage)
        .iter()
        .filter_map(|(name, g, min)| g.assert(name, *min).err())
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n\n"));
}
