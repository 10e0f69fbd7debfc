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
    Col, column_widths, count, fit, longest, num, panel, percent, selectable_table, short_origins,
    short_path,
};

/// Rows under the table worth giving to the pair detail and the grid.
const BELOW_MIN_HEIGHT: u16 = 10;

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
    // A tall screen shows the selected pair in full and the origin grid under the table.
    let table_h = cells.len() as u16 + 3;
    let (main, below) = if main.height >= table_h + BELOW_MIN_HEIGHT {
        let [t, b] =
            Layout::vertical([Constraint::Length(table_h), Constraint::Min(0)]).areas(main);
        (t, Some(b))
    } else {
        (main, None)
    };
    state.row_routes = cells.iter().map(|c| c.route.clone()).collect();
    // The follow-up share needs room; at 80 columns the origin matters more (the failures
    // already count what was refused).
    let show_unfollowed = main.width >= 100;
    // `×` is the one mark inside the analysis's wording; the ASCII set spells it `x`.
    let times = |s: String| if g.ascii { s.replace('×', "x") } else { s };
    let whys: Vec<String> = cells.iter().map(|c| times(c.why())).collect();
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
    if let Some(below) = below {
        let selected = state.selection();
        if below.width >= 140 {
            let [pair, grid] =
                Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)])
                    .areas(below);
            pair_detail(frame, pair, cells.get(selected), state, theme, g);
            super::panels::origin_grid(frame, grid, state, model, theme, g);
        } else {
            pair_detail(frame, below, cells.get(selected), state, theme, g);
        }
    }
    let mut note_spans = vec![Span::styled(
        format!(
            "{} requests without an origin, not listed · {} explains every column",
            count(table.without_origin),
            state
                .keys
                .first(crate::ui::KeyAction::Help)
                .unwrap_or_default()
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

/// One route × origin pair in full: what was sent, what failed and why, what the browser
/// refused and how that is known.
fn pair_detail(
    frame: &mut Frame,
    area: Rect,
    cell: Option<&crate::analysis::OriginCell>,
    state: &UiState,
    theme: &Theme,
    g: &Glyphs,
) {
    let title = format!(" Selected pair · last {} ", state.range.label());
    let block = panel(title, theme, g);
    let Some(c) = cell else {
        frame.render_widget(
            Line::styled("no pair selected", theme.muted).style(theme.muted),
            block.inner(area),
        );
        frame.render_widget(block, area);
        return;
    };
    let width = area.width.saturating_sub(2) as usize;
    // The figure first, so a narrow panel cuts the words rather than the numbers.
    let figure = |label: &str, n: u64, style| {
        Line::from(vec![
            Span::styled(
                format!("{:>7}", count(n)),
                if n == 0 { theme.muted } else { style },
            ),
            Span::styled(
                fit(&format!("  {label}"), width.saturating_sub(7), g),
                theme.text,
            ),
        ])
    };
    let mut origin = vec![];
    if c.derived {
        origin.push(legend::DERIVED.span(g, theme));
    }
    origin.push(Span::styled(
        short_origins([c.origin.as_str()], width.saturating_sub(1), g).remove(0),
        theme.text,
    ));
    let mut lines = vec![
        Line::styled(short_path(&c.route, width, g), theme.title),
        Line::from(origin),
        figure("requests", c.requests, theme.text),
        figure("  preflights answered 2xx", c.preflight_2xx, theme.text),
        figure("  other requests", c.actual, theme.text),
        figure(
            "failed for the page",
            c.failed,
            legend::COLOUR_BAD.style_of(theme),
        ),
        figure(
            "  status 400+, or OPTIONS not 2xx",
            c.failed - c.refused.total(),
            theme.bad,
        ),
        figure(
            "  refused: ACAO doubled (logged)",
            c.refused.acao_doubled,
            theme.bad,
        ),
        figure(
            "  refused: ACAO missing (logged)",
            c.refused.acao_missing,
            theme.bad,
        ),
        figure(
            "  refused: preflight not followed",
            c.refused.unfollowed,
            theme.bad,
        ),
    ];
    let paired = c.paired_followed + c.paired_unfollowed;
    lines.push(Line::styled(
        fit(
            &if paired > 0 {
                format!(
                    "preflights paired per client: {} followed, {} not",
                    c.paired_followed, c.paired_unfollowed
                )
            } else {
                "no client named: followed share from counts".to_string()
            },
            width,
            g,
        ),
        theme.muted,
    ));
    if let Some(code) = &c.probe_code {
        legend::note_code(code);
        lines.push(Line::from(vec![
            Span::styled("probe of this pair: ", theme.text),
            legend::BLOCKED.span(g, theme),
            Span::styled(format!(" {code}"), theme.bad),
        ]));
    }
    if let Some((s, m, n)) = c.dominant {
        legend::TIMES.style_of(theme);
        lines.push(Line::styled(
            format!(
                "most frequent failure: {s} {m} {}{}",
                if g.ascii { "x" } else { "×" },
                count(n)
            ),
            theme.text,
        ));
    }
    frame.render_widget(ratatui::widgets::Paragraph::new(lines).block(block), area);
}
