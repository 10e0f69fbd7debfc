//! The triage board: every hypothesis ranked by score, with the selected one's evidence, the
//! places where logs and probes disagree, the check that settles it and what to do now.
//!
//! State is always written out (SUPPORTED / ended with its time / weakened / no evidence) so
//! the board reads the same in monochrome. Wide terminals show the table and the detail side by side; at 80×24 the
//! table keeps its rows and a short pane under it shows the selected entry's next check, with
//! Enter opening the full detail in place of the table.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Wrap};

use crate::analysis::ViewModel;
use crate::analysis::triage::{Entry, State};
use crate::model::time::{EpochMs, format_clock, format_duration, format_hm};

use crate::ui::glyphs::Glyphs;
use crate::ui::legend;
use crate::ui::state::UiState;
use crate::ui::theme::Theme;
use crate::ui::widgets::{Col, column_widths, fit, panel, selectable_table};

/// Width at which the detail pane goes beside the table instead of under it.
const SIDE_BY_SIDE_MIN_WIDTH: u16 = 140;
/// Widest the table gets when side by side; the detail takes the rest.
const TABLE_MAX_WIDTH: u16 = 92;
/// Rows the detail pane under the table needs to be worth drawing (border included).
const BELOW_MIN_HEIGHT: u16 = 4;

/// What the state is called on screen.
pub fn state_label(s: State) -> &'static str {
    match s {
        State::Supported => "SUPPORTED",
        State::Ended => "ENDED",
        State::Weakened => "weakened",
        State::NoEvidence => "no evidence",
    }
}

pub fn state_style(s: State, theme: &Theme) -> Style {
    match s {
        State::Supported => legend::SUPPORTED.style_of(theme),
        State::Ended => legend::ENDED.style_of(theme),
        State::Weakened => legend::WEAKENED.style_of(theme),
        State::NoEvidence => legend::NO_EVIDENCE.style_of(theme),
    }
}

/// A score bar `width` cells wide: filled cells in proportion to the 0–100 score, any score
/// above zero showing at least one.
pub fn score_bar(score: u8, width: usize, ascii: bool) -> (String, String) {
    let (full, empty) = if ascii { ('#', '.') } else { ('█', '░') };
    let score = score.min(100) as usize;
    let filled = if score == 0 || width == 0 {
        0
    } else {
        (score * width).div_ceil(100).clamp(1, width)
    };
    (
        std::iter::repeat_n(full, filled).collect(),
        std::iter::repeat_n(empty, width - filled).collect(),
    )
}

fn clock(t: Option<EpochMs>) -> String {
    t.map_or_else(|| "-".into(), format_clock)
}

fn board_row(
    rank: usize,
    e: &Entry,
    (bar_w, title_w): (usize, usize),
    g: &Glyphs,
    theme: &Theme,
) -> Row<'static> {
    let ascii = g.ascii;
    let (full, empty) = score_bar(e.score, bar_w, ascii);
    let muted_if_none = |style: Style| {
        if e.state == State::NoEvidence {
            theme.triage_none
        } else {
            style
        }
    };
    Row::new(vec![
        Cell::from(Span::styled(rank.to_string(), theme.muted)),
        Cell::from(Span::styled(e.id, muted_if_none(theme.text))),
        Cell::from(Span::styled(
            fit(e.title, title_w, g),
            muted_if_none(theme.text),
        )),
        Cell::from(Span::styled(
            match e.ended_at {
                // The time it ended says more than the word, and fits the column.
                Some(t) if e.state == State::Ended => format!("ended {}", format_hm(t)),
                _ => state_label(e.state).to_string(),
            },
            state_style(e.state, theme),
        )),
        Cell::from(Line::from(vec![
            Span::styled(full, muted_if_none(legend::SCORE_BAR.style_of(theme))),
            Span::styled(empty, theme.muted),
            Span::styled(format!(" {:>3}", e.score), muted_if_none(theme.text)),
        ])),
        Cell::from(Span::styled(
            if e.began_before_window {
                // First seen at the window's start: it may have begun before.
                legend::BEFORE_WINDOW.style_of(theme);
                format!("<{}", clock(e.first_seen))
            } else {
                clock(e.first_seen)
            },
            theme.muted,
        )),
    ])
}

/// Heading and next check first, so a pane of four lines still says what to run; then the
/// mitigation, then the facts for and against. `now` is the board's, for "ended … ago".
pub fn entry_detail_lines(
    e: &Entry,
    now: EpochMs,
    theme: &Theme,
    g: &Glyphs,
) -> Vec<Line<'static>> {
    let mut heading = vec![
        Span::styled(format!("{} {}", e.id, e.title), theme.title),
        Span::raw("  "),
        Span::styled(state_label(e.state), state_style(e.state, theme)),
        Span::styled(format!("  score {}/100", e.score), theme.text),
    ];
    if let Some(text) = e.ended_text(now) {
        heading.push(Span::styled(format!("  {text}"), theme.triage_weakened));
    }
    let mut out = vec![
        Line::from(heading),
        Line::from(vec![
            Span::styled("Next check: ", theme.table_header),
            Span::styled(e.next_check.clone(), theme.next_check),
        ]),
    ];
    let section = |out: &mut Vec<Line<'static>>, title: &str| {
        out.push(Line::raw(""));
        out.push(Line::styled(title.to_string(), theme.table_header));
    };
    section(&mut out, "Mitigation now");
    out.push(Line::styled(e.mitigation.clone(), theme.text));
    if !e.disagreements.is_empty() {
        section(&mut out, "Logs and probes disagree");
        for line in &e.disagreements {
            out.push(Line::from(vec![
                Span::raw("  "),
                legend::DISAGREE.span(g, theme),
                Span::styled(format!(" {line}"), theme.disagreement),
            ]));
        }
    }
    section(&mut out, "Evidence");
    out.push(Line::styled(
        match (e.first_seen, e.last_seen) {
            (Some(f), Some(l)) if e.began_before_window => format!(
                "  seen from before {} (the start of this window) to {}",
                clock(Some(f)),
                clock(Some(l)),
            ),
            (Some(f), Some(l)) => format!(
                "  seen {} to {} ({})",
                clock(Some(f)),
                clock(Some(l)),
                format_duration(l - f)
            ),
            (Some(f), None) => format!("  first seen {}", clock(Some(f))),
            _ => "  no time known for its signals".into(),
        },
        theme.muted,
    ));
    if e.evidence.is_empty() {
        out.push(Line::styled("  none in this window", theme.muted));
    }
    for line in &e.evidence {
        out.push(Line::styled(format!("  {} {line}", g.sep), theme.text));
    }
    if !e.weakening.is_empty() {
        section(&mut out, "Weakening signals");
        for line in &e.weakening {
            out.push(Line::styled(format!("  - {line}"), theme.triage_weakened));
        }
    }
    out
}

/// The short form for the overview, `width` columns wide: up to `evidence` evidence lines (one
/// row each, cut) and the next check over at most `next_rows` rows (the full command is in
/// the triage view).
pub fn top_summary_lines(
    e: &Entry,
    evidence: usize,
    next_rows: usize,
    width: usize,
    theme: &Theme,
    g: &Glyphs,
) -> Vec<Line<'static>> {
    let mut out: Vec<Line<'static>> = e
        .evidence
        .iter()
        .take(evidence)
        .map(|l| Line::styled(fit(&format!("- {l}"), width, g), theme.text))
        .collect();
    const LABEL: &str = "next: ";
    let first_w = width.saturating_sub(LABEL.len()).max(1);
    let chars: Vec<char> = e.next_check.chars().collect();
    let mut rows: Vec<String> = Vec::new();
    let mut at = 0;
    while at < chars.len() && rows.len() < next_rows.max(1) {
        let w = if rows.is_empty() {
            first_w
        } else {
            width.max(1)
        };
        let last_row = rows.len() + 1 == next_rows.max(1);
        let end = (at + w).min(chars.len());
        let piece: String = if last_row && end < chars.len() {
            fit(&chars[at..].iter().collect::<String>(), w, g)
        } else {
            chars[at..end].iter().collect()
        };
        rows.push(piece);
        at = end;
    }
    for (i, r) in rows.into_iter().enumerate() {
        out.push(if i == 0 {
            Line::from(vec![
                Span::styled(LABEL, theme.table_header),
                Span::styled(r, theme.next_check),
            ])
        } else {
            Line::styled(r, theme.next_check)
        });
    }
    out
}

/// The panel title for a hypothesis, cut to `width`.
pub fn entry_title(prefix: &str, e: &Entry, width: usize, g: &Glyphs) -> String {
    let t = format!(
        "{prefix}{} {} ({}, {}) ",
        e.id,
        e.title,
        state_label(e.state),
        e.score
    );
    fit(&t, width, g)
}

pub fn triage(
    frame: &mut Frame,
    area: Rect,
    state: &mut UiState,
    model: &ViewModel,
    theme: &Theme,
    g: &Glyphs,
) {
    let board = &model.triage;
    state.row_routes.clear();
    let selected = state.clamp_selection(board.entries.len());
    let entry = board.entries.get(selected);
    let side_by_side = area.width >= SIDE_BY_SIDE_MIN_WIDTH;

    if state.detail && !side_by_side {
        if let Some(e) = entry {
            draw_detail(
                frame,
                area,
                state,
                e,
                (board.now, board.span_ms),
                true,
                theme,
                g,
            );
            return;
        }
        state.detail = false;
    }

    let (table_area, detail_area) = if side_by_side {
        let [t, d] = Layout::horizontal([
            Constraint::Length(TABLE_MAX_WIDTH.min(area.width / 2)),
            Constraint::Min(20),
        ])
        .areas(area);
        (t, Some(d))
    } else {
        let table_h = (board.entries.len() as u16 + 3).max(5);
        if area.height >= table_h + BELOW_MIN_HEIGHT {
            let [t, d] =
                Layout::vertical([Constraint::Length(table_h), Constraint::Min(0)]).areas(area);
            (t, Some(d))
        } else {
            (area, None)
        }
    };

    let bar_w = if table_area.width >= 90 { 10 } else { 6 };
    let title_longest = board
        .entries
        .iter()
        .map(|e| crate::model::text::width(e.title))
        .max()
        .unwrap_or(0)
        .max("Hypothesis".len());
    let widths = column_widths(
        table_area.width,
        &[
            Col::Fixed(2),
            Col::Fixed(7),
            Col::Text {
                longest: title_longest,
                min: 12,
            },
            Col::Fixed(11),
            Col::Fixed(bar_w as u16 + 4),
            Col::Fixed(10),
        ],
    );
    let title_w = widths[2] as usize;
    let rows: Vec<Row> = board
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| board_row(i + 1, e, (bar_w, title_w), g, theme))
        .collect();
    let widths: Vec<Constraint> = widths.into_iter().map(Constraint::Length).collect();
    selectable_table(
        frame,
        table_area,
        state,
        format!(
            " Triage · last {} (Enter: detail) ",
            format_duration(board.span_ms)
        ),
        vec!["#", "Id", "Hypothesis", "State", "Score", "First"],
        rows,
        widths,
        theme,
        g,
    );
    if let (Some(d), Some(e)) = (detail_area, entry) {
        let open = state.detail;
        draw_detail(
            frame,
            d,
            state,
            e,
            (board.now, board.span_ms),
            open,
            theme,
            g,
        );
    }
}

/// The detail pane. `open` means it was asked for with Enter, so it scrolls and says how to
/// close it.
#[allow(clippy::too_many_arguments)]
fn draw_detail(
    frame: &mut Frame,
    area: Rect,
    state: &mut UiState,
    e: &Entry,
    (now, span_ms): (EpochMs, EpochMs),
    open: bool,
    theme: &Theme,
    g: &Glyphs,
) {
    let lines = entry_detail_lines(e, now, theme, g);
    let scroll = if open {
        state.detail_scroll = state.detail_scroll.min(lines.len() as u16);
        state.detail_scroll
    } else {
        0
    };
    let suffix = format!(
        "· last {} {}",
        format_duration(span_ms),
        if open { "— Esc closes " } else { "" }
    );
    let title = entry_title(
        " ",
        e,
        (area.width as usize).saturating_sub(4 + crate::model::text::width(&suffix)),
        g,
    ) + &suffix;
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(panel(title, theme, g)),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_bars_are_proportional_and_never_hide_support() {
        for (score, width, ascii, want) in [
            (0u8, 10usize, true, ("", "..........")),
            (1, 10, true, ("#", ".........")),
            (50, 10, true, ("#####", ".....")),
            (78, 10, true, ("########", "..")),
            (100, 6, true, ("######", "")),
            (200, 6, true, ("######", "")),
            (34, 6, false, ("███", "░░░")),
            (50, 0, true, ("", "")),
        ] {
            let (f, e) = score_bar(score, width, ascii);
            assert_eq!((f.as_str(), e.as_str()), want, "{score} {width}");
        }
    }

    #[test]
    fn every_state_has_words_not_only_a_colour() {
        assert_eq!(state_label(State::Supported), "SUPPORTED");
        assert_eq!(state_label(State::Weakened), "weakened");
        assert_eq!(state_label(State::Ended), "ENDED");
        assert_eq!(state_label(State::NoEvidence), "no evidence");
    }
}
