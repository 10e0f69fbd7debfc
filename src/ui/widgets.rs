//! The pieces every view is built from: panels, the selectable table and its column widths,
//! the status badge, and the cut and number formats that keep cells one line.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, HighlightSpacing, Row, Table, TableState};

use crate::analysis::{Status, StatusSummary};
use crate::model::text;
use crate::model::time::format_duration;

use super::glyphs::Glyphs;
use super::legend;
use super::state::UiState;
use super::theme::Theme;

pub fn status_span(status: Status, theme: &Theme, g: &Glyphs) -> Span<'static> {
    let (sym, entry) = match status {
        Status::Ok => (g.ok, &legend::STATUS_OK),
        Status::Degraded => (g.degraded, &legend::STATUS_DEGRADED),
        Status::Page => (g.page, &legend::STATUS_PAGE),
    };
    let style = match status {
        Status::Page => theme.status_page,
        _ => entry.style_of(theme),
    };
    Span::styled(format!(" {sym} {} ", status.label()), style)
}

/// The status badge, decided by the status rule alone: PAGE reversed and bold with how long
/// it has held, so it reads without colour; DEGRADED and OK as the status badges, except that
/// an OK while history is still being read says LOADING: the store does not hold the logs yet.
pub fn status_badge(status: &StatusSummary, theme: &Theme, g: &Glyphs) -> Span<'static> {
    match status.level {
        Status::Ok if status.loading.is_some() => {
            Span::styled(" LOADING HISTORY ".to_string(), theme.status_degraded)
        }
        Status::Page => legend::STATUS_PAGE.styled(
            format!(
                " {} PAGE {} ",
                g.page,
                format_duration(status.page_for_ms().unwrap_or(0))
            ),
            theme,
        ),
        level => status_span(level, theme, g),
    }
}

/// A bordered panel with a title, in the theme's border and title styles.
pub fn panel<'a>(title: impl Into<String>, theme: &Theme, g: &Glyphs) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_set(g.border)
        .border_style(theme.border)
        .title(Span::styled(title.into(), theme.title))
        .style(theme.text)
}

/// Cuts `s` to `width` display columns, marking the cut with the glyph set's ellipsis.
pub fn fit(s: &str, width: usize, g: &Glyphs) -> String {
    if text::width(s) <= width {
        return s.to_string();
    }
    text::cut(s, width, legend::SHORTENED.mark(g))
}

/// A route or path in `width` columns, shortened by whole segments ([`text::shorten_path`]).
pub fn short_path(s: &str, width: usize, g: &Glyphs) -> String {
    if text::width(s) <= width {
        return s.to_string();
    }
    text::shorten_path(s, width, legend::SHORTENED.mark(g))
}

/// A column of origins in `width` columns ([`text::fit_origins`]).
pub fn short_origins<'a>(
    origins: impl IntoIterator<Item = &'a str>,
    width: usize,
    g: &Glyphs,
) -> Vec<String> {
    let origins: Vec<&str> = origins.into_iter().collect();
    if origins.iter().all(|o| text::width(o) <= width) {
        return origins.into_iter().map(String::from).collect();
    }
    text::fit_origins(origins, width, legend::SHORTENED.mark(g))
}

/// An endpoint (`host/path` or a URL) in `width` columns ([`text::shorten_endpoint`]).
pub fn short_endpoint(s: &str, width: usize, g: &Glyphs) -> String {
    if text::width(s) <= width {
        return s.to_string();
    }
    text::shorten_endpoint(s, width, legend::SHORTENED.mark(g))
}

/// Any other name (a source label, an instance) in `width` columns, losing its middle.
pub fn short_middle(s: &str, width: usize, g: &Glyphs) -> String {
    if text::width(s) <= width {
        return s.to_string();
    }
    text::shorten_middle(s, width, legend::SHORTENED.mark(g))
}

/// A panel title naming the window it covers: ` Routes · last 15m `.
pub fn window_title(name: &str, range: crate::analysis::TimeRange) -> String {
    format!(" {name} · last {} ", range.label())
}

/// `12`, `9999`, `12.3k`, `4.5M`.
pub fn count(n: u64) -> String {
    if n < 10_000 {
        n.to_string()
    } else if n < 1_000_000 {
        format!("{:.1}k", n as f64 / 1e3)
    } else {
        format!("{:.1}M", n as f64 / 1e6)
    }
}

/// Percentage with one decimal, `-` when there is nothing to divide.
pub fn percent(x: Option<f64>) -> String {
    match x {
        Some(x) => format!("{:.1}%", x * 100.0),
        None => "-".into(),
    }
}

/// Renders a selectable table and records where its rows are for mouse clicks.
#[allow(clippy::too_many_arguments)]
pub fn selectable_table(
    frame: &mut Frame,
    area: Rect,
    state: &mut UiState,
    title: String,
    header: Vec<&'static str>,
    rows: Vec<Row<'static>>,
    widths: Vec<Constraint>,
    theme: &Theme,
    g: &Glyphs,
) {
    legend::note_headers(&header);
    // A title longer than the border is shortened with a mark, not cut.
    let title = fit(&title, area.width.saturating_sub(2) as usize, g);
    let n = rows.len();
    let selected = state.clamp_selection(n);
    let empty = n == 0;
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.table_header))
        .block(panel(title, theme, g))
        .row_highlight_style(theme.row_selected)
        .highlight_symbol(Line::from(format!("{} ", legend::SELECTED.mark(g))))
        .highlight_spacing(HighlightSpacing::Always);
    let mut ts = TableState::default();
    if !empty {
        ts.select(Some(selected));
    }
    frame.render_stateful_widget(table, area, &mut ts);
    let body = Rect::new(
        area.x + 1,
        area.y + 2,
        area.width.saturating_sub(2),
        area.height.saturating_sub(3),
    );
    state.hit.rows = Some((body, ts.offset()));
    if empty {
        let msg = Rect::new(
            body.x + 2,
            body.y,
            body.width.saturating_sub(2),
            1.min(body.height),
        );
        frame.render_widget(Line::styled("no data in this range yet", theme.muted), msg);
    }
}

/// A table column: a fixed width, or text whose width follows its longest value.
#[derive(Clone, Copy)]
pub enum Col {
    Fixed(u16),
    Text { longest: usize, min: u16 },
}

pub fn longest<'a>(header: &str, values: impl Iterator<Item = &'a str>) -> usize {
    values
        .map(text::width)
        .chain(std::iter::once(text::width(header)))
        .max()
        .unwrap_or(0)
}

/// Column widths for a bordered, selectable table `area_width` wide: text columns get their
/// longest value when it fits; otherwise text columns give up width from the left (down to
/// their minimum) so the last text column, usually the most telling, stays whole. Spare width
/// stays at the right instead of pushing numbers away from names.
pub fn fit_widths(area_width: u16, cols: &[Col]) -> Vec<Constraint> {
    column_widths(area_width, cols)
        .into_iter()
        .map(Constraint::Length)
        .collect()
}

/// [`fit_widths`] as numbers, so cells can be shortened to their column.
pub fn column_widths(area_width: u16, cols: &[Col]) -> Vec<u16> {
    let spacing = cols.len().saturating_sub(1) as u16;
    let fixed: u16 = cols
        .iter()
        .map(|c| if let Col::Fixed(w) = c { *w } else { 0 })
        .sum();
    let avail = area_width.saturating_sub(2 + 2 + spacing + fixed) as usize;
    let mut widths: Vec<usize> = cols
        .iter()
        .map(|c| match c {
            Col::Fixed(w) => *w as usize,
            Col::Text { longest, min } => (*longest).max(*min as usize),
        })
        .collect();
    let mut excess = cols
        .iter()
        .zip(&widths)
        .filter(|(c, _)| matches!(c, Col::Text { .. }))
        .map(|(_, w)| *w)
        .sum::<usize>()
        .saturating_sub(avail);
    // Down to their minimums from the left; then, on a terminal too narrow even for those,
    // below them (to a few columns), so the widths returned are the ones drawn and cells can
    // be shortened to them.
    for floor in [None, Some(4usize)] {
        for (c, w) in cols.iter().zip(widths.iter_mut()) {
            if excess == 0 {
                break;
            }
            if let Col::Text { min, .. } = c {
                let give = excess.min(w.saturating_sub(floor.unwrap_or(*min as usize)));
                *w -= give;
                excess -= give;
            }
        }
    }
    widths.into_iter().map(|w| w as u16).collect()
}

/// A count cell: muted when zero, in the `bad` style when `warn`.
pub fn num(n: u64, theme: &Theme, warn: bool) -> Cell<'static> {
    let style = if n == 0 {
        theme.muted
    } else if warn {
        theme.bad
    } else {
        theme.text
    };
    Cell::from(Span::styled(count(n), style))
}
