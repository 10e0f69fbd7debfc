//! The frame: header with tabs and status, the active view, footer with key hints, the help
//! overlay, and the "terminal too small" message.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::analysis::alerts::AlertKind;
use crate::analysis::{Status, ViewModel};
use crate::model::time::{format_clock, format_duration};

use super::glyphs::{Glyphs, glyphs};
use super::keys::{KeyAction, KeyBindings};
use super::legend;
use super::state::{UiState, View};
use super::theme::Theme;
use super::views;
use super::widgets::{fit, panel, status_badge};

pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Draws the whole screen for `model`. Also records the clickable areas in `state`.
pub fn draw(frame: &mut Frame, state: &mut UiState, model: &ViewModel, theme: &Theme) {
    let area = frame.area();
    state.hit = Default::default();
    frame.render_widget(Block::default().style(theme.text), area);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        draw_too_small(frame, area, theme);
        return;
    }
    let g = glyphs(state.ascii);
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(2 + u16::from(state.header_note.is_some())),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(frame, header, state, model, theme, g);
    match state.view {
        View::Overview => views::overview(frame, body, state, model, theme, g),
        View::Trend => views::trend(frame, body, state, model, theme, g),
        View::Origins => views::origins(frame, body, state, model, theme, g),
        View::Auth => views::auth(frame, body, state, model, theme, g),
        View::Probes => views::probes(frame, body, state, model, theme, g),
        View::Triage => views::triage(frame, body, state, model, theme, g),
        View::Log => views::log(frame, body, state, model, theme, g),
    }
    draw_footer(frame, footer, state, theme);
    if state.help {
        draw_help(frame, body, state, theme, g);
    }
}

fn draw_too_small(frame: &mut Frame, area: Rect, theme: &Theme) {
    let msg = format!(
        "terminal too small: {}x{}, need {MIN_WIDTH}x{MIN_HEIGHT}",
        area.width, area.height
    );
    let y = area.y + area.height / 2;
    let lines = vec![
        Line::styled(msg, theme.warning),
        Line::styled("resize the window, or press q to quit", theme.muted),
    ];
    let rect = Rect::new(
        area.x,
        y.saturating_sub(1).max(area.y),
        area.width,
        2.min(area.height),
    );
    frame.render_widget(Paragraph::new(lines).alignment(Alignment::Center), rect);
}

fn draw_header(
    frame: &mut Frame,
    area: Rect,
    state: &mut UiState,
    model: &ViewModel,
    theme: &Theme,
    g: &Glyphs,
) {
    let mut spans: Vec<Span> = Vec::new();
    let mut x = area.x;
    for (i, v) in View::ALL.iter().enumerate() {
        let label = format!(" {} {} ", i + 1, tab_name(*v));
        let active = *v == state.view;
        let text = if active {
            format!("[{}]", label.trim_matches(' '))
        } else {
            label
        };
        let width = crate::model::text::width(&text) as u16;
        state.hit.tabs.push((Rect::new(x, area.y, width, 1), *v));
        x += width + 1;
        spans.push(Span::styled(
            text,
            if active {
                theme.tab_active
            } else {
                theme.tab_inactive
            },
        ));
        spans.push(Span::raw(" "));
    }
    let title = Span::styled("corstop", theme.title);
    let used: usize = spans.iter().map(ratatui::prelude::Span::width).sum();
    if (area.width as usize) > used + 8 {
        spans.push(Span::raw(" ".repeat(area.width as usize - used - 7)));
        spans.push(title);
    }
    let second = status_line(area.width as usize, state, model, theme, g);
    let row = |i: u16| Rect::new(area.x, area.y + i, area.width, 1).intersection(area);
    frame.render_widget(Line::from(spans), row(0));
    frame.render_widget(Line::from(second), row(1));
    if let Some(note) = &state.header_note {
        let text = fit(note, area.width as usize, g);
        frame.render_widget(Line::styled(text, theme.text), row(2));
    }
}

/// The header's second line: status, mode, time, range and the leading hypothesis (or the
/// first reason of the status). Narrow terminals get the time without its date, the bare range, and the
/// last part cut to what is left.
fn status_line(
    width: usize,
    state: &UiState,
    model: &ViewModel,
    theme: &Theme,
    g: &Glyphs,
) -> Vec<Span<'static>> {
    let narrow = width < 120;
    let mut out = vec![status_badge(&model.status, theme, g)];
    if model.status.level != Status::Page
        && let Some(p) = model
            .alerts
            .alerts
            .iter()
            .find(|a| a.kind == AlertKind::PagePending)
    {
        out.push(legend::PAGE_PENDING.styled(
            format!(" page pending {}", format_duration(p.for_ms)),
            theme,
        ));
    }
    out.push(Span::raw(" "));
    out.push(legend::MODE.styled(format!(" {} ", state.mode_label), theme));
    out.push(Span::raw(" "));
    if state.frozen {
        out.push(legend::FROZEN.styled(" FROZEN ".into(), theme));
        out.push(Span::raw(" "));
    }
    out.push(Span::styled(
        if narrow {
            format_clock(model.now)
        } else {
            header_datetime(model.now)
        },
        theme.text,
    ));
    out.push(Span::styled(
        if narrow {
            format!("  {}", state.range.label())
        } else {
            format!("  range {}", state.range.label())
        },
        theme.muted,
    ));
    if let Some(f) = &model.fleet {
        let used: usize = out.iter().map(ratatui::prelude::Span::width).sum();
        let text = if narrow {
            format!("  {}", f.summary)
        } else {
            format!("  {} · {}", f.server, f.summary)
        };
        out.push(Span::styled(
            fit(&text, width.saturating_sub(used + 2), g),
            theme.text,
        ));
    }
    let used: usize = out.iter().map(ratatui::prelude::Span::width).sum();
    let room = width.saturating_sub(used + 2);
    if let Some(loading) = &model.status.loading {
        out.push(Span::styled(
            format!("  {}", fit(loading, room, g)),
            theme.muted,
        ));
    } else if let Some(top) = model.top_entry() {
        out.push(Span::raw("  "));
        out.push(legend::TOP.styled(
            fit(
                &format!("top: {} {} ({})", top.id, top.title, top.score),
                room,
                g,
            ),
            theme,
        ));
    } else if let Some(reason) = model.status.reasons.first() {
        out.push(Span::styled(
            format!("  {}", fit(&reason.text, room, g)),
            theme.muted,
        ));
    }
    out
}

fn tab_name(v: View) -> &'static str {
    match v {
        View::Trend => "Trend",
        other => other.title(),
    }
}

fn hints(state: &UiState) -> Vec<(String, &'static str)> {
    use KeyAction as A;
    let k = &state.keys;
    let views = [
        A::Overview,
        A::Trend,
        A::Origins,
        A::Auth,
        A::Probes,
        A::Triage,
        A::Log,
    ];
    let digits = views
        .iter()
        .zip('1'..='7')
        .all(|(a, d)| k.first(*a) == Some(d.to_string()));
    // `j/k` when both have a key, as the pair reads best.
    let updown = match (k.first(A::Down), k.first(A::Up)) {
        (Some(d), Some(u)) => Some(format!("{d}/{u}")),
        (d, u) => d.or(u),
    };
    let mut wanted: Vec<(Option<String>, &'static str)> = vec![
        (k.first(A::Quit), "quit"),
        (k.first(A::Help), "help"),
        if digits {
            (Some("1-7".to_string()), "views")
        } else {
            (k.first(A::NextView), "next view")
        },
    ];
    match state.view {
        View::Overview if state.mode_label == "FLEET" => wanted.extend([
            (updown.clone(), "route"),
            (k.first(A::Select), "trend"),
            (k.first(A::Sort), "sort"),
            (k.first(A::Instance), "instance"),
        ]),
        View::Overview => wanted.extend([(updown.clone(), "route"), (k.first(A::Select), "trend")]),
        View::Trend => wanted.extend([(updown.clone(), "route"), (k.first(A::TimeRange), "range")]),
        View::Origins => wanted.extend([
            (updown.clone(), "row"),
            (k.first(A::Sort), "sort"),
            (k.first(A::TimeRange), "range"),
            (k.first(A::Select), "trend"),
        ]),
        View::Auth => wanted.extend([(updown.clone(), "sample"), (k.first(A::TimeRange), "range")]),
        View::Probes if state.detail => {
            wanted.extend([(updown.clone(), "scroll"), (k.first(A::Back), "close")]);
        }
        View::Probes => wanted.extend([
            (updown.clone(), "probe"),
            (k.first(A::Select), "detail"),
            (k.first(A::ProbeNow), "probe now"),
        ]),
        View::Log if state.detail => {
            wanted.extend([(updown.clone(), "scroll"), (k.first(A::Back), "close")]);
        }
        View::Log => wanted.extend([
            (k.first(A::Filter), "filter"),
            (k.first(A::Select), "raw"),
            (k.first(A::ScrollRight), "scroll"),
            (k.first(A::Last), "follow"),
        ]),
        View::Triage if state.detail => {
            wanted.extend([(updown.clone(), "scroll"), (k.first(A::Back), "close")]);
        }
        View::Triage => wanted.extend([
            (updown.clone(), "hypothesis"),
            (k.first(A::Select), "detail"),
        ]),
    }
    wanted.push((
        k.first(A::Freeze),
        if state.frozen { "unfreeze" } else { "freeze" },
    ));
    // An unbound action has no hint.
    wanted
        .into_iter()
        .filter_map(|(key, d)| key.map(|key| (key, d)))
        .collect()
}

fn draw_footer(frame: &mut Frame, area: Rect, state: &UiState, theme: &Theme) {
    let mut spans = Vec::new();
    for (k, d) in hints(state) {
        spans.push(Span::styled(k, theme.help_key));
        spans.push(Span::styled(format!(" {d}  "), theme.help_text));
    }
    frame.render_widget(Line::from(spans), area);
}

/// The help overlay's rows: actions shown together and what they do.
const HELP_ROWS: &[(&[KeyAction], &str)] = &[
    (&[KeyAction::Quit], "quit"),
    (&[KeyAction::Help], "this help"),
    (
        &[
            KeyAction::Overview,
            KeyAction::Trend,
            KeyAction::Origins,
            KeyAction::Auth,
            KeyAction::Probes,
            KeyAction::Triage,
            KeyAction::Log,
        ],
        "views: overview, trend, origins, auth, probes, triage, log",
    ),
    (
        &[KeyAction::NextView, KeyAction::PreviousView],
        "next / previous view",
    ),
    (
        &[KeyAction::Down, KeyAction::Up],
        "move selection; scroll log and detail",
    ),
    (&[KeyAction::PageDown, KeyAction::PageUp], "move by 10"),
    (&[KeyAction::First, KeyAction::Last], "jump to first / last"),
    (
        &[KeyAction::Select],
        "drill down: route trend, probe, hypothesis, raw log line",
    ),
    (
        &[KeyAction::Back],
        "back, close detail or help, clear filter",
    ),
    (&[KeyAction::Freeze], "freeze / unfreeze the screen"),
    (&[KeyAction::TimeRange], "time range 15m / 1h / 6h"),
    (&[KeyAction::ProbeNow], "run the probes now"),
    (
        &[KeyAction::Sort],
        "origins, fleet instances: change sort order",
    ),
    (
        &[KeyAction::Instance],
        "fleet: show one instance, the next, then all",
    ),
    (
        &[KeyAction::Filter],
        "log: filter, e.g. status:4xx origin:contoso (Esc clears)",
    ),
    (&[KeyAction::Pause], "log: pause / resume"),
    (
        &[KeyAction::ScrollLeft, KeyAction::ScrollRight],
        "log: scroll columns left / right (Home: back to the start)",
    ),
];

/// The help overlay's key column for a row: each action's keys, actions separated by ` / `
/// (` ` between single keys, as in `1 2 3 4 5 6`).
fn help_keys(keys: &KeyBindings, actions: &[KeyAction]) -> String {
    let parts: Vec<String> = actions.iter().map(|a| keys.describe(*a)).collect();
    let sep = if parts.iter().all(|p| crate::model::text::width(p) == 1) {
        " "
    } else {
        " / "
    };
    parts.join(sep)
}

/// Every binding in effect, as the help overlay lists them: (keys, description).
pub fn help_lines(keys: &KeyBindings) -> Vec<(String, &'static str)> {
    let mut rows: Vec<(String, &'static str)> = HELP_ROWS
        .iter()
        .map(|(actions, what)| (help_keys(keys, actions), *what))
        .collect();
    rows.push(("mouse".into(), "click tabs and rows, wheel scrolls"));
    rows.push(("Ctrl-Z".into(), "suspend to the shell; fg resumes"));
    rows
}

/// Widest key column in the help overlay; longer key lists are cut with an ellipsis.
const HELP_KEY_WIDTH: usize = 24;
/// Narrowest column of the help overlay when it is laid out in several.
const HELP_COLUMN_MIN: u16 = 64;

/// The help overlay's keys, as lines.
fn help_key_lines(state: &UiState, theme: &Theme, g: &Glyphs) -> Vec<Line<'static>> {
    let rows = help_lines(&state.keys);
    let key_w = rows
        .iter()
        .map(|(k, _)| crate::model::text::width(k))
        .max()
        .unwrap_or(0)
        .min(HELP_KEY_WIDTH);
    rows.into_iter()
        .map(|(k, d)| {
            let k = fit(&k, key_w, g);
            Line::from(vec![
                Span::styled(format!(" {k:>key_w$}  "), theme.help_key),
                Span::styled(d, theme.help_text),
            ])
        })
        .collect()
}

/// One section of the legend `width` columns wide: its title, then each mark in its own style
/// beside what it means (wrapped under itself when long).
fn legend_lines(
    section: &legend::Section,
    width: usize,
    theme: &Theme,
    g: &Glyphs,
) -> Vec<Line<'static>> {
    let text = crate::model::text::width;
    let form = |e: &legend::Entry| if g.ascii { e.ascii } else { e.glyph };
    let mark_w = section
        .entries
        .iter()
        .map(|e| text(form(e)))
        .max()
        .unwrap_or(0)
        .min(width * 2 / 5);
    let mut out = vec![Line::styled(
        format!(" {}", section.title),
        theme.table_header,
    )];
    let meaning_w = width.saturating_sub(mark_w + 3).max(10);
    for e in section.entries {
        let mark = fit(form(e), mark_w, g);
        let pad = " ".repeat(mark_w - text(&mark));
        for (i, part) in crate::model::text::wrap(e.meaning, meaning_w)
            .into_iter()
            .enumerate()
        {
            out.push(if i == 0 {
                Line::from(vec![
                    Span::raw(format!(" {pad}")),
                    Span::styled(mark.clone(), (e.style)(theme)),
                    Span::raw("  "),
                    Span::styled(part, theme.help_text),
                ])
            } else {
                Line::styled(format!(" {}  {part}", " ".repeat(mark_w)), theme.help_text)
            });
        }
    }
    out
}

/// The help overlay: the keys in effect, then the legend of every mark, abbreviation and colour
/// the views draw. Wide terminals get it in columns; whatever does not fit scrolls.
fn draw_help(frame: &mut Frame, body: Rect, state: &mut UiState, theme: &Theme, g: &Glyphs) {
    let columns = (body.width / HELP_COLUMN_MIN).clamp(1, 3);
    let col_w = (body.width.saturating_sub(2) / columns) as usize;
    let mut blocks: Vec<Vec<Line<'static>>> = vec![help_key_lines(state, theme, g)];
    blocks.extend(
        legend::SECTIONS
            .iter()
            .filter(|s| !s.entries.is_empty())
            .map(|s| legend_lines(s, col_w.saturating_sub(1), theme, g)),
    );
    // Blocks fill the columns in order, each column up to an even share of the lines.
    let total: usize = blocks.iter().map(|b| b.len() + 1).sum();
    let share = total.div_ceil(columns as usize);
    let mut cols: Vec<Vec<Line<'static>>> = vec![Vec::new()];
    for b in blocks {
        let last = cols.last_mut().expect("one column at least");
        if !last.is_empty() && last.len() + b.len() > share && cols.len() < columns as usize {
            cols.push(Vec::new());
        }
        let last = cols.last_mut().expect("one column at least");
        if !last.is_empty() {
            last.push(Line::raw(""));
        }
        last.extend(b);
    }
    let tallest = cols.iter().map(Vec::len).max().unwrap_or(0);
    let widest = cols
        .iter()
        .flat_map(|c| c.iter().map(Line::width))
        .max()
        .unwrap_or(0);
    let width = if cols.len() > 1 {
        body.width
    } else {
        (widest as u16).saturating_add(3).min(body.width)
    };
    let height = (tallest as u16 + 2).min(body.height);
    let inner_h = height.saturating_sub(2);
    let max_scroll = (tallest as u16).saturating_sub(inner_h);
    state.help_scroll = state.help_scroll.min(max_scroll);
    let rect = Rect::new(
        body.x + (body.width - width) / 2,
        body.y + (body.height - height) / 2,
        width,
        height,
    );
    let more = if max_scroll > 0 {
        let k = &state.keys;
        let keys = match (k.first(KeyAction::Down), k.first(KeyAction::Up)) {
            (Some(d), Some(u)) => format!("{d}/{u}"),
            (d, u) => d.or(u).unwrap_or_default(),
        };
        format!(
            "— {keys} scroll, line {} of {tallest} ",
            state.help_scroll + 1
        )
    } else {
        String::new()
    };
    frame.render_widget(Clear, rect);
    let block = panel(format!(" Help — keys and legend {more}"), theme, g);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let areas =
        Layout::horizontal(vec![Constraint::Ratio(1, cols.len() as u32); cols.len()]).split(inner);
    for (lines, area) in cols.into_iter().zip(areas.iter()) {
        frame.render_widget(Paragraph::new(lines).scroll((state.help_scroll, 0)), *area);
    }
}

/// The wide header's clock: the date and time with the zone's offset, and for a named zone its
/// abbreviation too, so the reader knows which zone every time on screen is in.
fn header_datetime(t: crate::model::time::EpochMs) -> String {
    let zone = crate::model::zone::display();
    match zone {
        crate::model::zone::Zone::Utc => zone.datetime(t),
        crate::model::zone::Zone::Named(_) => {
            format!("{} {}", zone.datetime(t), zone.abbreviation(t))
        }
    }
}
