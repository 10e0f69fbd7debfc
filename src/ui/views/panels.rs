//! Panels more than one view draws, or that the overview adds on a large screen: the origins ×
//! routes grid and the per-route OPTIONS status charts.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::analysis::{PAGE_FAILURE_RATE, ViewModel};

use super::trend::route_status_paragraph;
use crate::ui::glyphs::Glyphs;
use crate::ui::legend;
use crate::ui::state::UiState;
use crate::ui::theme::Theme;
use crate::ui::widgets::{count, panel, short_origins, short_path, window_title};

/// A route's status chart: seven classes, the axis and the border.
pub const CHART_HEIGHT: u16 = 10;

/// Origins × routes over the range: each pair's failure rate, so one origin failing
/// everywhere and one route failing for everyone read apart.
pub fn origin_grid(
    frame: &mut Frame,
    area: Rect,
    state: &UiState,
    model: &ViewModel,
    theme: &Theme,
    g: &Glyphs,
) {
    let inner_w = area.width.saturating_sub(2) as usize;
    let inner_h = area.height.saturating_sub(3) as usize;
    let table = model.origin_table(state.range);
    // Route names whole where they fit in a cell of up to 18 columns.
    let cell_w = table
        .cells
        .iter()
        .map(|c| crate::model::text::width(&c.route))
        .max()
        .unwrap_or(7)
        .clamp(9, 18);
    // As many routes as fit beside the origin names (at most 26 columns for those).
    let mut m = table.matrix(inner_h.max(1), 32);
    let origin_w = m
        .origins
        .iter()
        .map(|(o, _)| crate::model::text::width(o) + 1)
        .max()
        .unwrap_or(6)
        .clamp(12, 27);
    let max_routes = (inner_w.saturating_sub(origin_w + 1) / (cell_w + 1)).max(1);
    if m.routes.len() > max_routes {
        m.routes_left_out += m.routes.len() - max_routes;
        m.routes.truncate(max_routes);
        for row in &mut m.cells {
            row.truncate(max_routes);
        }
    }
    let title = format!(
        " Failures by origin × route · last {} (failed / requests) ",
        state.range.label()
    );
    let block = panel(title, theme, g);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if m.origins.is_empty() {
        frame.render_widget(
            Line::styled("no cross-origin requests in this range", theme.muted),
            inner,
        );
        return;
    }
    let mut header = vec![Span::raw(" ".repeat(origin_w + 1))];
    for r in &m.routes {
        header.push(Span::styled(
            format!("{:>cell_w$} ", short_path(r, cell_w, g)),
            theme.table_header,
        ));
    }
    let mut lines = vec![Line::from(header)];
    let origins = short_origins(m.origins.iter().map(|(o, _)| o.as_str()), origin_w - 1, g);
    for ((name, (_, derived)), row) in origins.iter().zip(&m.origins).zip(&m.cells) {
        let mut spans = vec![];
        let mut w = 0;
        if *derived {
            spans.push(legend::DERIVED.span(g, theme));
            w += 1;
        }
        spans.push(Span::styled(name.clone(), theme.text));
        w += crate::model::text::width(name);
        spans.push(Span::raw(" ".repeat((origin_w + 1).saturating_sub(w))));
        for cell in row {
            let (text, style) = match cell {
                None => ("-".to_string(), theme.muted),
                Some((0, n)) => (format!("0/{}", count(*n)), theme.muted),
                Some((f, n)) => {
                    let style = if *f as f64 / (*n).max(1) as f64 > PAGE_FAILURE_RATE {
                        legend::COLOUR_BAD.style_of(theme)
                    } else {
                        legend::COLOUR_WARNING.style_of(theme)
                    };
                    (format!("{}/{}", count(*f), count(*n)), style)
                }
            };
            spans.push(Span::styled(format!("{text:>cell_w$} "), style));
        }
        lines.push(Line::from(spans));
    }
    let left_out: Vec<String> = [
        (m.origins_left_out, "origins"),
        (m.routes_left_out, "routes"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} more {what}"))
    .collect();
    if !left_out.is_empty() {
        lines.push(Line::styled(
            format!("{}: the Origins view lists every pair", left_out.join(", ")),
            theme.muted,
        ));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The selected route's preflights by status class over the range, as in the trend view.
/// As many routes' status charts as fit in `area` (two abreast on a wide screen): the
/// selected route first, then the others in the route table's order.
pub fn route_status_charts(
    frame: &mut Frame,
    area: Rect,
    state: &UiState,
    model: &ViewModel,
    theme: &Theme,
    g: &Glyphs,
) {
    let across: u16 = if area.width >= 160 { 2 } else { 1 };
    let down = (area.height / CHART_HEIGHT).max(1);
    let selected = state.row_routes.get(state.selection());
    let t = model.trend(state.range);
    let mut names: Vec<&String> = selected.into_iter().collect();
    names.extend(
        state
            .row_routes
            .iter()
            .filter(|r| Some(*r) != selected && t.routes.iter().any(|t| &t.route == *r)),
    );
    let rows = Layout::vertical(vec![Constraint::Length(CHART_HEIGHT); down as usize]).split(area);
    let mut names = names.into_iter();
    for row in rows.iter() {
        let cells = Layout::horizontal(vec![Constraint::Ratio(1, across as u32); across as usize])
            .split(*row);
        for cell in cells.iter() {
            match names.next() {
                Some(name) => route_status_chart(frame, *cell, name, state, model, theme, g),
                None => return,
            }
        }
    }
}

fn route_status_chart(
    frame: &mut Frame,
    area: Rect,
    route: &str,
    state: &UiState,
    model: &ViewModel,
    theme: &Theme,
    g: &Glyphs,
) {
    let t = model.trend(state.range);
    let Some(rt) = t.routes.iter().find(|r| r.route == route) else {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "no preflights on the selected route in this range",
                theme.muted,
            ))
            .block(panel(
                window_title("OPTIONS by status", state.range),
                theme,
                g,
            )),
            area,
        );
        return;
    };
    frame.render_widget(
        route_status_paragraph(t, rt, area.width, state, theme, g),
        area,
    );
}

// ---------------------------------------------------------------- trend
