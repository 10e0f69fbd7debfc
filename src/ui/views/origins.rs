//! Failures by origin: which origins fail, on which routes, with what — including the answers
//! the server logged as fine that the browser refused.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row};

use crate::analysis::series::sort_cells;
use crate::analysis::{PAGE_FAILURE_RATE, ViewModel};

use crate::ui::glyphs::Glyphs;
use crate::ui::legend;
use crate::ui::state::UiState;
use crate::ui::theme::Theme;
use crate::ui::widgets::{
    Col, column_widths, count, fit, longest, num, percent, selectable_table, short_origins,
    short_path,
};

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
    let [main, note] = Layout::vertical([Constraint::Min(5), Constraint::Length(1)]).areas(area);
    state.row_routes = cells.iter().map(|c| c.route.clone()).collect();
    // The follow-up share needs room; at 80 columns the origin matters more (the failures
    // already count what was refused).
    let show_unfollowed = main.width >= 100;
    let whys: Vec<String> = cells.iter().map(|c| c.why()).collect();
    let mut header = vec!["Route", "Origin", "Req", "Failed", "Rate", "Unfol", "Why"];
    let mut cols = vec![
        Col::Text {
            longest: longest("Route", cells.iter().map(|c| c.route.as_str())),
            // `/api/orders/{id}` whole where it can be.
            min: longest("Route", cells.iter().map(|c| c.route.as_str())).min(16) as u16,
        },
        Col::Text {
            longest: longest("Origin", cells.iter().map(|c| c.origin.as_str())) + 1,
            min: 18,
        },
        Col::Fixed(5),
        Col::Fixed(6),
        Col::Fixed(6),
        Col::Fixed(6),
        Col::Text {
            longest: longest("Why", whys.iter().map(String::as_str)),
            min: 15,
        },
    ];
    if !show_unfollowed {
        header.remove(5);
        cols.remove(5);
    }
    let widths = column_widths(main.width, &cols);
    let (route_w, origin_w) = (widths[0] as usize, widths[1] as usize);
    let why_w = *widths.last().unwrap_or(&15) as usize;
    let origins = short_origins(cells.iter().map(|c| c.origin.as_str()), origin_w - 1, g);
    let rows: Vec<Row> = cells
        .iter()
        .zip(&origins)
        .zip(&whys)
        .map(|((c, origin), why)| {
            let origin = if c.derived {
                Line::from(vec![
                    legend::DERIVED.span(g, theme),
                    Span::styled(origin.clone(), theme.derived),
                ])
            } else {
                Line::styled(origin.clone(), theme.text)
            };
            let rate = c.failure_rate();
            let rate_style = if c.failed == 0 {
                theme.muted
            } else if rate > PAGE_FAILURE_RATE {
                legend::COLOUR_BAD.style_of(theme)
            } else {
                legend::COLOUR_WARNING.style_of(theme)
            };
            let why_style = if c.refused.total() > 0 {
                theme.bad
            } else if c.failed > 0 {
                theme.text
            } else {
                theme.muted
            };
            if c.failed > 0 {
                legend::TIMES.style_of(theme);
            }
            if let Some(code) = &c.probe_code {
                legend::note_code(code);
            }
            let mut row_cells = vec![
                Cell::from(short_path(&c.route, route_w, g)),
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
                Cell::from(Span::styled(fit(why, why_w, g), why_style)),
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
            " Failing endpoints by origin · last {}, sorted by {} ",
            state.range.label(),
            state.origin_sort.label()
        ),
        header,
        rows,
        widths.into_iter().map(Constraint::Length).collect(),
        theme,
        g,
    );
    let mut note_spans = vec![Span::styled(
        format!(
            "{} requests without an origin, not listed · {} explains every column",
            count(table.without_origin),
            state.keys.first(crate::ui::KeyAction::Help).unwrap_or_default()
        ),
        theme.muted,
    )];
    if table.cells_left_out > 0 {
        note_spans.push(Span::styled(
            format!("   {} more pairs not shown", table.cells_left_out),
            theme.warning,
        ));
    }
    frame.render_widget(Line::from(note_spans), note);
}
