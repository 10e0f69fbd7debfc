//! UI state and input handling as pure functions: a key or mouse event and the state in, the
//! new state and an [`Action`] for the terminal loop out. Nothing here touches the terminal.

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};

use super::keys::{KeyAction, KeyBindings};
use crate::analysis::TimeRange;
use crate::analysis::series::OriginSort;

/// The views, in tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum View {
    #[default]
    Overview,
    Trend,
    Origins,
    Auth,
    Probes,
    Triage,
    Log,
}

impl View {
    pub const ALL: [View; 7] = [
        View::Overview,
        View::Trend,
        View::Origins,
        View::Auth,
        View::Probes,
        View::Triage,
        View::Log,
    ];

    pub fn title(self) -> &'static str {
        match self {
            View::Overview => "Overview",
            View::Trend => "OPTIONS trend",
            View::Origins => "Origins",
            View::Auth => "Auth",
            View::Probes => "Probes",
            View::Triage => "Triage",
            View::Log => "Log",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    fn offset(self, by: isize) -> View {
        let n = View::ALL.len() as isize;
        View::ALL[(self as isize + by).rem_euclid(n) as usize]
    }
}

/// What the terminal loop should do after an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing changed.
    None,
    /// The state changed: draw again.
    Redraw,
    Quit,
    /// Run the probes now.
    ProbeNow,
    /// Fleet: narrow the panels to the next instance (or back to all).
    NextInstance,
}

/// Screen areas recorded while drawing, so mouse clicks can be mapped back to tabs and rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HitAreas {
    pub tabs: Vec<(Rect, View)>,
    /// The visible table body and the row index shown on its first line.
    pub rows: Option<(Rect, usize)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct UiState {
    pub view: View,
    previous: Option<View>,
    /// Selected row per view (the log view uses it as the scroll offset from the newest line).
    pub selected: [usize; View::ALL.len()],
    pub range: TimeRange,
    pub frozen: bool,
    pub help: bool,
    /// Lines the help overlay is scrolled by.
    pub help_scroll: u16,
    /// Detail pane open: a probe's, a hypothesis's, or the selected log line's raw text.
    pub detail: bool,
    pub detail_scroll: u16,
    pub log_paused: bool,
    /// Newest line shown while paused, so arriving lines do not move the view.
    pub log_anchor: Option<u64>,
    pub log_filter: String,
    pub filter_editing: bool,
    /// Columns the log's scrolling part is moved left by.
    pub log_hscroll: u16,
    /// The selected log line (set while drawing), which Enter opens.
    pub log_selected: Option<u64>,
    pub origin_sort: OriginSort,
    /// Order of the fleet overview's instances.
    pub instance_sort: crate::analysis::fleet::InstanceSort,
    pub mode_label: &'static str,
    pub ascii: bool,
    /// A route another view asked the trend view to select (resolved when drawing).
    pub focus_route: Option<String>,
    /// Names of the routes in the current table, in display order (set while drawing).
    pub row_routes: Vec<String>,
    pub hit: HitAreas,
    /// The key bindings in effect (the help overlay lists these).
    pub keys: KeyBindings,
    /// A line under the status line: the demo's phase and what the board should show, or
    /// settings corrected at start. Set by whoever runs the UI; views only show it.
    pub header_note: Option<String>,
}

impl UiState {
    pub fn new(mode_label: &'static str, ascii: bool) -> UiState {
        UiState {
            view: View::Overview,
            previous: None,
            selected: [0; View::ALL.len()],
            range: TimeRange::M15,
            frozen: false,
            help: false,
            help_scroll: 0,
            detail: false,
            detail_scroll: 0,
            log_paused: false,
            log_anchor: None,
            log_filter: String::new(),
            filter_editing: false,
            log_hscroll: 0,
            log_selected: None,
            origin_sort: OriginSort::Failures,
            instance_sort: crate::analysis::fleet::InstanceSort::Worst,
            mode_label,
            ascii,
            focus_route: None,
            row_routes: Vec::new(),
            hit: HitAreas::default(),
            keys: KeyBindings::default(),
            header_note: None,
        }
    }

    /// The same state with other key bindings.
    pub fn with_keys(mut self, keys: KeyBindings) -> UiState {
        self.keys = keys;
        self
    }

    pub fn selection(&self) -> usize {
        self.selected[self.view.index()]
    }

    /// Clamps the current view's selection to `rows` rows; returns the clamped value.
    pub fn clamp_selection(&mut self, rows: usize) -> usize {
        let s = &mut self.selected[self.view.index()];
        *s = (*s).min(rows.saturating_sub(1));
        *s
    }

    pub fn switch_to(&mut self, view: View) {
        if view != self.view {
            self.previous = Some(self.view);
            self.view = view;
            self.detail = false;
        }
    }

    fn move_selection(&mut self, by: isize) {
        if self.detail && matches!(self.view, View::Probes | View::Triage | View::Log) {
            self.detail_scroll =
                (self.detail_scroll as isize + by).clamp(0, u16::MAX as isize) as u16;
            return;
        }
        if self.view == View::Log {
            // In the log, "up" goes back in time: the offset from the newest line grows.
            let s = &mut self.selected[View::Log.index()];
            *s = (*s as isize - by).max(0) as usize;
            self.log_paused = *s > 0 || self.log_paused;
            return;
        }
        let s = &mut self.selected[self.view.index()];
        *s = (*s as isize + by).max(0) as usize;
    }

    fn drill_down(&mut self) {
        match self.view {
            View::Probes | View::Triage => {
                self.detail = true;
                self.detail_scroll = 0;
            }
            View::Overview | View::Origins => {
                if let Some(route) = self.row_routes.get(self.selection()).cloned() {
                    self.focus_route = Some(route);
                    self.switch_to(View::Trend);
                }
            }
            View::Log if self.log_selected.is_some() => {
                // The line stays where it is while its raw text is read.
                self.log_paused = true;
                self.detail = true;
                self.detail_scroll = 0;
            }
            _ => {}
        }
    }

    fn back(&mut self) -> Action {
        if self.help {
            self.help = false;
        } else if self.detail {
            self.detail = false;
        } else if self.view == View::Log && !self.log_filter.is_empty() {
            self.log_filter.clear();
        } else if let Some(prev) = self.previous.take() {
            self.view = prev;
        } else {
            return Action::None;
        }
        Action::Redraw
    }
}

/// Columns one Left or Right moves the log by.
pub const HSCROLL_STEP: u16 = 8;

/// Applies one key press, through the bindings in `state.keys`.
pub fn handle_key(state: &mut UiState, key: KeyEvent) -> Action {
    if key.kind == KeyEventKind::Release {
        return Action::None;
    }
    let action = state.keys.action(&key);
    if state.filter_editing {
        // Typing goes into the filter; only a quit key with Ctrl or Alt still quits.
        let chorded = key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        if chorded && action == Some(KeyAction::Quit) {
            return Action::Quit;
        }
        match key.code {
            KeyCode::Esc => {
                state.log_filter.clear();
                state.filter_editing = false;
            }
            KeyCode::Enter => state.filter_editing = false,
            KeyCode::Backspace => {
                state.log_filter.pop();
            }
            KeyCode::Char(c) if !chorded && state.log_filter.len() < 200 => {
                state.log_filter.push(c);
            }
            _ => return Action::None,
        }
        return Action::Redraw;
    }
    let Some(action) = action else {
        if state.help && matches!(key.code, KeyCode::Esc | KeyCode::Enter) {
            // The overlay always closes on Esc and Enter, whatever they are bound to.
            state.help = false;
            return Action::Redraw;
        }
        return Action::None;
    };
    if state.help {
        let scroll = |by: i32| (state.help_scroll as i32 + by).clamp(0, u16::MAX as i32) as u16;
        state.help_scroll = match action {
            KeyAction::Quit => return Action::Quit,
            KeyAction::Help | KeyAction::Back | KeyAction::Select => {
                state.help = false;
                return Action::Redraw;
            }
            // The legend is longer than a small terminal: the overlay scrolls.
            KeyAction::Down => scroll(1),
            KeyAction::Up => scroll(-1),
            KeyAction::PageDown => scroll(10),
            KeyAction::PageUp => scroll(-10),
            KeyAction::First => 0,
            _ => return Action::None,
        };
        return Action::Redraw;
    }
    match action {
        KeyAction::Quit => return Action::Quit,
        KeyAction::Help => {
            state.help = true;
            state.help_scroll = 0;
        }
        KeyAction::NextView => state.switch_to(state.view.offset(1)),
        KeyAction::PreviousView => state.switch_to(state.view.offset(-1)),
        KeyAction::Overview => state.switch_to(View::Overview),
        KeyAction::Trend => state.switch_to(View::Trend),
        KeyAction::Origins => state.switch_to(View::Origins),
        KeyAction::Auth => state.switch_to(View::Auth),
        KeyAction::Probes => state.switch_to(View::Probes),
        KeyAction::Triage => state.switch_to(View::Triage),
        KeyAction::Log => state.switch_to(View::Log),
        KeyAction::Down => state.move_selection(1),
        KeyAction::Up => state.move_selection(-1),
        KeyAction::PageDown => state.move_selection(10),
        KeyAction::PageUp => state.move_selection(-10),
        KeyAction::First => {
            if state.view == View::Log && state.detail {
                state.detail_scroll = 0;
            } else if state.view == View::Log && state.log_hscroll > 0 {
                // Back to the first column first, as Home does in a line of text.
                state.log_hscroll = 0;
            } else if state.view == View::Log {
                state.move_selection(-(isize::MAX / 2));
            } else {
                state.selected[state.view.index()] = 0;
                state.detail_scroll = 0;
            }
        }
        KeyAction::Last => {
            if state.view == View::Log {
                state.selected[View::Log.index()] = 0;
                state.log_paused = false;
            } else {
                state.selected[state.view.index()] = usize::MAX;
            }
        }
        KeyAction::Select => state.drill_down(),
        KeyAction::Back => return state.back(),
        KeyAction::Freeze => state.frozen = !state.frozen,
        KeyAction::TimeRange => state.range = state.range.next(),
        KeyAction::ProbeNow => return Action::ProbeNow,
        KeyAction::Instance if state.mode_label == "FLEET" => return Action::NextInstance,
        KeyAction::Sort if state.view == View::Origins => {
            state.origin_sort = state.origin_sort.next();
        }
        KeyAction::Sort if state.view == View::Overview => {
            state.instance_sort = state.instance_sort.next();
        }
        KeyAction::Filter if state.view == View::Log => state.filter_editing = true,
        KeyAction::Pause if state.view == View::Log => {
            state.log_paused = !state.log_paused;
            if !state.log_paused {
                state.selected[View::Log.index()] = 0;
            }
        }
        KeyAction::ScrollLeft if state.view == View::Log => {
            state.log_hscroll = state.log_hscroll.saturating_sub(HSCROLL_STEP);
        }
        KeyAction::ScrollRight if state.view == View::Log => {
            // The view clamps it to the widest row.
            state.log_hscroll = state.log_hscroll.saturating_add(HSCROLL_STEP);
        }
        KeyAction::Sort
        | KeyAction::Instance
        | KeyAction::Filter
        | KeyAction::Pause
        | KeyAction::ScrollLeft
        | KeyAction::ScrollRight => return Action::None,
    }
    Action::Redraw
}

/// Applies one mouse event, using the areas recorded by the last draw.
pub fn handle_mouse(state: &mut UiState, ev: MouseEvent) -> Action {
    let at = Position::new(ev.column, ev.row);
    match ev.kind {
        MouseEventKind::Down(MouseButton::Left) => {
            if state.help {
                state.help = false;
                return Action::Redraw;
            }
            if let Some(view) = state
                .hit
                .tabs
                .iter()
                .find(|(r, _)| r.contains(at))
                .map(|(_, v)| *v)
            {
                state.switch_to(view);
                return Action::Redraw;
            }
            if let Some((body, first)) = state.hit.rows
                && body.contains(at)
                && state.view != View::Log
            {
                state.selected[state.view.index()] = first + (at.y - body.y) as usize;
                return Action::Redraw;
            }
            Action::None
        }
        MouseEventKind::ScrollDown if state.help => {
            state.help_scroll = state.help_scroll.saturating_add(1);
            Action::Redraw
        }
        MouseEventKind::ScrollUp if state.help => {
            state.help_scroll = state.help_scroll.saturating_sub(1);
            Action::Redraw
        }
        MouseEventKind::ScrollDown => {
            state.move_selection(1);
            Action::Redraw
        }
        MouseEventKind::ScrollUp => {
            state.move_selection(-1);
            Action::Redraw
        }
        _ => Action::None,
    }
}
