//! The terminal loop: one `select!` over input, a frame tick and signals.
//!
//! The store is written by the ingest task; here it is only locked briefly once per frame
//! tick to compare its generation and, when it moved, to compute a fresh view model. Drawing
//! happens with the lock released. Nothing is drawn when nothing changed, and never more
//! than `fps` times per second.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Notify;

use crate::analysis::{
    AnalysisConfig, TimeRange, ViewModel, snapshot, snapshot_parts, verdicts_for,
};
use crate::model::time::{EpochMs, SECOND, now_ms};
use crate::store::{Store, TimeMode};

use super::draw::draw;
use super::keys::KeyBindings;
use super::state::{Action, UiState, handle_key, handle_mouse};
use super::terminal::TerminalGuard;
use super::theme::Theme;

pub struct UiOptions {
    /// Most frames per second (default 10).
    pub fps: u32,
    pub theme: Theme,
    /// ASCII borders and bars instead of box drawing and block elements.
    pub ascii: bool,
    /// `LIVE`, `REPLAY` or `DEMO`.
    pub mode_label: &'static str,
    /// Token lifetimes and alert rules for the triage board, the auth view and the header.
    pub analysis: AnalysisConfig,
    /// Key bindings (validated by whoever loaded them; see [`KeyBindings::validate`]).
    pub keys: KeyBindings,
    /// Asked once per frame whether the alert notifier wants the terminal bell rung
    /// (`[notify] bell = true`); true once per request. The notifier cannot ring it itself:
    /// the terminal belongs to this loop.
    pub bell: Option<BellRequest>,
    /// Settings corrected on the way in, shown in the header's note line.
    pub notes: Vec<String>,
    /// What the header's note line says at a given store time instead (the demo's script).
    pub narrator: Option<Narrator>,
    /// The fleet source's instance filter (`i`), in fleet mode.
    pub fleet: Option<crate::sources::fleet::FleetControl>,
}

/// Text for the header's note line at a store time.
pub type Narrator = Arc<dyn Fn(EpochMs) -> String + Send + Sync>;

/// Takes (and clears) a pending request to ring the terminal bell.
pub type BellRequest = Arc<dyn Fn() -> bool + Send + Sync>;

impl Default for UiOptions {
    fn default() -> Self {
        UiOptions {
            fps: 10,
            theme: Theme::default_theme(),
            ascii: false,
            mode_label: "LIVE",
            analysis: AnalysisConfig::default(),
            keys: KeyBindings::default(),
            bell: None,
            notes: Vec::new(),
            narrator: None,
            fleet: None,
        }
    }
}

/// Least wall time between two view models.
///
/// Scoring makes several passes over the window and costs about half as much again as the
/// rest of a snapshot (`triage_cost_on_a_full_store_is_printed` prints the figures), all of
/// it under the store lock. The board and every panel are computed together from one store
/// state, so the figures they share agree within a frame; a store that keeps changing
/// therefore gets a new view model at most once per this period (a new range, unfreezing and
/// the first poll take one at once).
pub const RESCORE_EVERY_MS: EpochMs = SECOND;

/// Decides when a new view model is needed: only when the store's generation moved since the
/// last one and the last one is at least [`RESCORE_EVERY_MS`] old, and never while the screen
/// is frozen.
#[derive(Debug, Default)]
pub struct Snapshotter {
    last_generation: Option<u64>,
    config: AnalysisConfig,
    /// Wall time of the last view model.
    last_at: Option<EpochMs>,
    /// The range the board is scored over (the `t` key).
    range: TimeRange,
    /// The last view model said history was still loading: the store changes once, all at
    /// once, when it is in, and that change is shown at the next poll rather than a period
    /// later.
    loading: bool,
}

impl Snapshotter {
    pub fn new(config: AnalysisConfig) -> Snapshotter {
        Snapshotter {
            config,
            ..Default::default()
        }
    }

    /// Forces the next poll to take a snapshot (after unfreezing).
    pub fn invalidate(&mut self) {
        self.last_generation = None;
        self.last_at = None;
    }

    /// Scores the board over `range` from the next poll on; a new range takes a snapshot at
    /// once, so the board never shows another window than the header.
    pub fn set_range(&mut self, range: TimeRange) {
        if range != self.range {
            self.range = range;
            self.invalidate();
        }
    }

    /// Advances the live clock (so the window follows the wall clock), then returns a fresh
    /// view model if the store changed. The lock is held only for this call.
    pub fn poll(&mut self, store: &Mutex<Store>, frozen: bool) -> Option<ViewModel> {
        self.poll_at(store, frozen, now_ms())
    }

    /// [`Snapshotter::poll`] at a given wall time.
    pub fn poll_at(
        &mut self,
        store: &Mutex<Store>,
        frozen: bool,
        wall: EpochMs,
    ) -> Option<ViewModel> {
        if frozen {
            return None;
        }
        let mut s = match store.lock() {
            Ok(s) => s,
            // A producer panicked while holding the lock; the counters are still readable.
            Err(poisoned) => poisoned.into_inner(),
        };
        if s.mode() == TimeMode::Live {
            s.tick(wall);
        }
        let generation = s.generation();
        let too_soon = !self.loading
            && self
                .last_at
                .is_some_and(|at| (wall - at).abs() < RESCORE_EVERY_MS);
        // A change held back by the period is taken by the first poll after it.
        if self.last_generation == Some(generation) || too_soon {
            return None;
        }
        self.last_generation = Some(generation);
        self.last_at = Some(wall);
        let v = verdicts_for(&s, &self.config, self.range);
        let model = snapshot_parts(&s, wall, v);
        self.loading = model.status.loading.is_some();
        Some(model)
    }
}

/// Runs the dashboard until the user quits (`q`, Ctrl-C) or SIGTERM / SIGHUP / SIGINT /
/// SIGQUIT arrives; the terminal is restored in every case, panics included. Ctrl-Z and SIGTSTP
/// suspend with the terminal restored, and `fg` redraws at once.
pub async fn run(
    store: Arc<Mutex<Store>>,
    opts: UiOptions,
    probe_now: Arc<Notify>,
) -> anyhow::Result<()> {
    let fps = opts.fps.clamp(1, 60);
    let period = Duration::from_millis(1000 / fps as u64);
    let mut sigterm = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
    let mut sighup = signal(SignalKind::hangup()).context("installing SIGHUP handler")?;
    // In raw mode Ctrl-C arrives as a key; SIGINT only comes from `kill -INT`.
    let mut sigint = signal(SignalKind::interrupt()).context("installing SIGINT handler")?;
    let mut sigquit = signal(SignalKind::quit()).context("installing SIGQUIT handler")?;
    // Job control: `kill -TSTP` (Ctrl-Z itself arrives as a key in raw mode).
    let mut sigtstp =
        signal(SignalKind::from_raw(libc::SIGTSTP)).context("installing SIGTSTP handler")?;

    let _guard = TerminalGuard::enter().context("entering the terminal UI")?;
    let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
    // No `terminal.clear()`: it queries the cursor position, which races with the event
    // stream; the alternate screen starts blank anyway.
    let mut events = EventStream::new();
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    let mut state = UiState::new(opts.mode_label, opts.ascii).with_keys(opts.keys.clone());
    state.header_note =
        (!opts.notes.is_empty()).then(|| format!("note: {}", opts.notes.join("; ")));
    let mut snapshots = Snapshotter::new(opts.analysis.clone());
    let mut model = match snapshots.poll(&store, false) {
        Some(m) => m,
        None => snapshot(
            &Store::new(Default::default(), TimeMode::EventTime),
            now_ms(),
        ),
    };
    if let Some(narrate) = &opts.narrator {
        state.header_note = Some(narrate(model.now));
    }
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    let mut was_frozen = false;

    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if opts.bell.as_ref().is_some_and(|take| take()) {
                    // Between frames, so the byte never lands inside an escape sequence.
                    use std::io::Write;
                    let mut out = std::io::stdout();
                    let _ = out.write_all(b"\x07").and_then(|()| out.flush());
                }
                if was_frozen && !state.frozen {
                    // Unfreezing takes a snapshot at once even if the store did not move.
                    snapshots.invalidate();
                }
                was_frozen = state.frozen;
                snapshots.set_range(state.range);
                if let Some(m) = snapshots.poll(&store, state.frozen) {
                    model = m;
                    if let Some(narrate) = &opts.narrator {
                        state.header_note = Some(narrate(model.now));
                    }
                    dirty = true;
                }
            }
            ev = events.next() => {
                match ev {
                    Some(Ok(TermEvent::Key(key)))
                        if key.code == crossterm::event::KeyCode::Char('z')
                            && key.modifiers.contains(crossterm::event::KeyModifiers::CONTROL) =>
                    {
                        crate::ui::terminal::suspend().context("suspending")?;
                        // A fresh terminal has no previous frame, so everything is drawn
                        // (`clear()` would ask the cursor position, racing the input stream).
                        terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
                        dirty = true;
                    }
                    Some(Ok(TermEvent::Key(key))) => match handle_key(&mut state, key) {
                        Action::Quit => break,
                        Action::ProbeNow => {
                            probe_now.notify_one();
                            dirty = true;
                        }
                        Action::NextInstance => {
                            if let (Some(control), Some(fleet)) = (&opts.fleet, &model.fleet) {
                                control.set_instance(
                                    fleet.next_instance(control.instance().as_deref()),
                                );
                            }
                        }
                        Action::Redraw => dirty = true,
                        Action::None => {}
                    },
                    Some(Ok(TermEvent::Mouse(m))) => {
                        if handle_mouse(&mut state, m) != Action::None {
                            dirty = true;
                        }
                    }
                    Some(Ok(TermEvent::Resize(w, h))) => {
                        terminal.resize(ratatui::layout::Rect::new(0, 0, w, h))?;
                        dirty = true;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e).context("reading terminal input"),
                    None => break,
                }
                // Input is answered at once unless that would exceed the frame budget; the
                // next tick catches up otherwise.
                if dirty && last_draw.is_some_and(|t| t.elapsed() < period) {
                    continue;
                }
            }
            _ = sigterm.recv() => break,
            _ = sighup.recv() => break,
            _ = sigint.recv() => break,
            _ = sigquit.recv() => break,
            _ = sigtstp.recv() => {
                crate::ui::terminal::suspend().context("suspending")?;
                terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
                dirty = true;
            }
        }
        if dirty {
            terminal.draw(|frame| draw(frame, &mut state, &model, &opts.theme))?;
            last_draw = Some(Instant::now());
            dirty = false;
        }
    }
    drop(terminal);
    Ok(())
}
