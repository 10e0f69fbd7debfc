//! Failures by origin: which origins fail, on which routes, with what.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row};

use crate::analysis::series::sort_cells;
use crate::analysis::{PAGE_FAILURE_RATE, ViewModel};

use crate::ui::glyphs::Glyphs;
use crate::ui::state::UiState;
use crate::ui::theme::Theme;
use crate::ui::widgets::{Col, count, fit_widths, longest, num, percent, selectable_table};

/// "401 OPTIONS ×104", or "-".
fn dominant_text(c: &crate::analysis::OriginCell) -> String {
    c.dominant
        .map_or("-".into(), |(s, m, n)| format!("{s} {m} ×{}", count(n)))
}

pub fn origins(
    frame: &mut Frame,
    area: Rect,
    state: &mut UiState,
    model: &ViewModel,
    theme: &Theme,
    g: &Glyphs,
) {
    let table = model.origin_table(state.range);
    let mut cells = table.cells.clone();
    sort_cells(&mut cells, state.origin_sort);
    let [main, legend] = Layout::vertical([Constraint::Min(5), Constraint::Length(1)]).areas(area);
    state.row_routes = cells.iter().map(|c| c.route.clone()).collect();
    // The follow-up share needs room; at 80 columns the origin matters more (the triage board
    // still weighs the share).
    let show_unfollowed = main.width >= 100;
    let mut header = vec![
        "Route", "Origin", "Req", "Failed", "Rate", "Unfol", "Dominant",
    ];
    if !show_unfollowed {
        header.remove(5);
    }
    let rows: Vec<Row> = cells
        .iter()
        .map(|c| {
            let origin = if c.derived {
                Span::styled(format!("~{}", c.origin), theme.derived)
            } else {
                Span::styled(c.origin.clone(), theme.text)
            };
            let rate = c.failure_rate();
            let rate_style = if c.failed == 0 {
                theme.muted
            } else if rate > PAGE_FAILURE_RATE {
                theme.bad
            } else {
                theme.warning
            };
            let mut row_cells = vec![
                Cell::from(c.route.clone()),
                Cell::from(origin),
                num(c.requests, theme, false),
                num(c.failed, theme, true),
                Cell::from(Span::styled(percent(Some(rate)), rate_style)),
                Cell::from(match c.unfollowed_share() {
                    Some(u) => Span::styled(
                        percent(Some(u)),
                        if u >= 0.5 { theme.bad } else { theme.muted },
                    ),
                    None => Span::styled("-", theme.muted),
                }),
                Cell::from(Span::styled(
                    dominant_text(c),
                    if c.dominant.is_some() {
                        theme.text
                    } else {
                        theme.muted
                    },
                )),
            ];
            if !show_unfollowed {
                row_cells.remove(5);
            }
            Row::new(row_cells)
        })
        .collect();
    selectable_table(
        frame,
        main,
        state,
        format!(
            " Failing endpoints by origin ({}, sorted by {}) ",
            state.range.label(),
            state.origin_sort.label()
        ),
        header,
        rows,
        fit_widths(
            main.width,
            [
                Col::Text {
                    longest: longest("Route", cells.iter().map(|c| c.route.as_str())),
                    min: 12,
                },
                Col::Text {
                    longest: longest("Origin", cells.iter().map(|c| c.origin.as_str())) + 1,
                    min: 20,
                },
                Col::Fixed(5),
                Col::Fixed(6),
                Col::Fixed(6),
                Col::Fixed(6),
                // Text, so the count is never cut: "401 OPTIONS ×104" read as "×10" otherwise.
                Col::Text {
                    longest: longest(
                        "Dominant",
                        cells
                            .iter()
                            .map(dominant_text)
                            .collect::<Vec<_>>()
                            .iter()
                            .map(String::as_str),
                    ),
                    min: 15,
                },
            ]
            .into_iter()
            .enumerate()
            .filter(|(i, _)| show_unfollowed || *i != 5)
            .map(|(_, c)| c)
            .collect::<Vec<_>>()
            .as_slice(),
        ),
        theme,
        g,
    );
    let mut legend_spans = vec![
        Span::styled("~", theme.derived),
        Span::styled(" origin from Referer · ", theme.muted),
        Span::styled(
            format!(
                "failed: >= 400 or OPTIONS not 2xx · {} req. without origin",
                count(table.without_origin)
            ),
            theme.muted,
        ),
    ];
    if show_unfollowed {
        legend_spans.push(Span::styled(
            " · unfol: 2xx preflights never followed by their request",
            theme.muted,
        ));
    }
    if table.cells_left_out > 0 {
        legend_spans.push(Span::styled(
            format!("   {} more pairs not shown", table.cells_left_out),
            theme.warning,
        ));
    }
    frame.render_widget(Line::from(legend_spans), legend);
}

// ---------------------------------------------------------------- auth
