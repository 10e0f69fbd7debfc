//! OPTIONS trends: requests and failures per bucket, latency spread, the time axis.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row};

use crate::analysis::series::fit_columns;
use crate::analysis::{RouteTrend, StatusClass, Trend, ViewModel};
use crate::model::time::{format_duration, format_hms};

use crate::ui::glyphs::{Glyphs, bar};
use crate::ui::legend;
use crate::ui::state::{UiState, View};
use crate::ui::theme::Theme;
use crate::ui::widgets::{
    Col, column_widths, count, longest, num, panel, percent, selectable_table, short_path,
    window_title,
};

/// Spreads `values` over `width` cells: every value gets the same number of cells give or
/// take one (values are never merged or split here, so counts stay honest).
pub(super) fn spread_bars(values: &[u64], width: usize, max: u64, g: &Glyphs) -> String {
    let n = values.len();
    if n == 0 {
        return String::new();
    }
    let width = width.max(n);
    values
        .iter()
        .enumerate()
        .flat_map(|(i, &v)| {
            let cells = (i + 1) * width / n - i * width / n;
            std::iter::repeat_n(bar(g, v, max), cells)
        })
        .collect()
}

/// One labelled one-line sparkline: `label  ▁▂▇  total`, the label right-aligned in
/// `label_w` columns.
#[allow(clippy::too_many_arguments)]
pub(super) fn spark_line(
    label: &str,
    label_w: usize,
    width: usize,
    values: &[u64],
    max: u64,
    total: u64,
    style: Style,
    theme: &Theme,
    g: &Glyphs,
) -> Line<'static> {
    let bars = spread_bars(values, width, max, g);
    legend::RAMP.style_of(theme);
    Line::from(vec![
        Span::styled(
            format!("{label:>label_w$} "),
            if total > 0 {
                style.add_modifier(Modifier::BOLD)
            } else {
                theme.muted
            },
        ),
        Span::styled(bars, style),
        Span::styled(
            format!(" {:>6}", count(total)),
            if total > 0 { theme.text } else { theme.muted },
        ),
    ])
}

pub(super) fn axis_line(start: i64, end: i64, width: usize, theme: &Theme) -> Line<'static> {
    let left = format_hms(start);
    let right = format_hms(end);
    let gap = width.saturating_sub(left.len() + right.len());
    Line::styled(
        format!("{:>8} {left}{}{right}", "UTC", " ".repeat(gap)),
        theme.axis,
    )
}

pub fn trend(
    frame: &mut Frame,
    area: Rect,
    state: &mut UiState,
    model: &ViewModel,
    theme: &Theme,
    g: &Glyphs,
) {
    let t = model.trend(state.range);
    if let Some(route) = state.focus_route.take()
        && let Some(i) = t.routes.iter().position(|r| r.route == route)
    {
        state.selected[View::Trend.index()] = i;
    }
    let table_h = (t.routes.len().clamp(1, 6) as u16) + 3;
    let [top, chart, all] = Layout::vertical([
        Constraint::Length(table_h),
        Constraint::Length(10),
        Constraint::Min(3),
    ])
    .areas(area);
    state.row_routes = t.routes.iter().map(|r| r.route.clone()).collect();
    let mut cols = vec![
        Col::Text {
            longest: longest("Route", t.routes.iter().map(|r| r.route.as_str())) + 2,
            min: 16,
        },
        Col::Fixed(7),
        Col::Fixed(7),
    ];
    cols.extend([Col::Fixed(6); 6]);
    let widths = column_widths(top.width, &cols);
    let route_w = widths[0] as usize;
    let rows: Vec<Row> = t
        .routes
        .iter()
        .map(|r| {
            let total = r.total();
            let ok = r.totals[StatusClass::S2xx as usize];
            let mut route = vec![];
            let mut room = route_w;
            if r.critical {
                route.push(legend::CRITICAL.span(g, theme));
                route.push(Span::raw(" "));
                room = room.saturating_sub(2);
            }
            route.push(Span::styled(short_path(&r.route, room, g), theme.text));
            let mut cells = vec![
                Cell::from(Line::from(route)),
                num(total, theme, false),
                Cell::from(Span::styled(
                    percent((total > 0).then(|| ok as f64 / total as f64)),
                    if ok < total { theme.bad } else { theme.good },
                )),
            ];
            for c in &StatusClass::ALL[1..] {
                cells.push(num(r.totals[*c as usize], theme, true));
            }
            Row::new(cells)
        })
        .collect();
    selectable_table(
        frame,
        top,
        state,
        window_title("OPTIONS by route", state.range),
        vec![
            "Route", "OPTIONS", "2xx", "3xx", "401", "403", "404/5", "5xx", "other",
        ],
        rows,
        widths.into_iter().map(Constraint::Length).collect(),
        theme,
        g,
    );

    let sel = state.selection();
    let Some(rt) = t.routes.get(sel) else {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "no OPTIONS requests in this range",
                theme.muted,
            ))
            .block(panel(
                window_title("OPTIONS status trend", state.range),
                theme,
                g,
            )),
            chart,
        );
        return;
    };
    frame.render_widget(
        route_status_paragraph(t, rt, chart.width, state, theme, g),
        chart,
    );
    let inner_w = chart.width.saturating_sub(2) as usize;

    // Every route's failing preflights on one scale, to see which routes fail together.
    let name_w = longest("", t.routes.iter().map(|r| r.route.as_str())).clamp(8, 28);
    let bars_w = inner_w.saturating_sub(name_w + 3 + 7).max(1);
    let failing: Vec<Vec<u64>> = t
        .routes
        .iter()
        .map(|r| {
            let non_2xx: Vec<[u32; 1]> = r
                .columns
                .iter()
                .map(|c| [c.iter().sum::<u32>() - c[StatusClass::S2xx as usize]])
                .collect();
            fit_columns(&non_2xx, bars_w).iter().map(|c| c[0]).collect()
        })
        .collect();
    let max = failing.iter().flatten().copied().max().unwrap_or(0);
    let lines: Vec<Line> = t
        .routes
        .iter()
        .zip(&failing)
        .enumerate()
        .map(|(i, (r, series))| {
            let marker = if i == sel {
                legend::SELECTED.mark(g)
            } else {
                " "
            };
            let bars = spread_bars(series, bars_w, max, g);
            let n = r.non_2xx();
            Line::from(vec![
                Span::styled(format!("{marker} "), theme.text),
                Span::styled(
                    format!("{:<name_w$} ", short_path(&r.route, name_w, g)),
                    theme.text,
                ),
                Span::styled(bars, if n > 0 { theme.bad } else { theme.muted }),
                Span::styled(
                    format!(" {:>6}", count(n)),
                    if n > 0 { theme.text } else { theme.muted },
                ),
            ])
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(panel(
            format!(
                " Non-2xx OPTIONS per route · last {}, peak {} ",
                state.range.label(),
                count(max)
            ),
            theme,
            g,
        )),
        all,
    );
}

// ---------------------------------------------------------------- origins

/// One route's preflights by status class, a sparkline per class over the range's axis, in a
/// panel `width` wide titled with the route, the window, the column width and the peak.
pub fn route_status_paragraph(
    t: &Trend,
    rt: &RouteTrend,
    width: u16,
    state: &UiState,
    theme: &Theme,
    g: &Glyphs,
) -> Paragraph<'static> {
    let inner_w = width.saturating_sub(2) as usize;
    let bars_w = inner_w.saturating_sub(9 + 7).max(1);
    let cols = fit_columns(&rt.columns, bars_w);
    let per = rt.columns.len().div_ceil(bars_w).max(1) as i64;
    let max = cols
        .iter()
        .flat_map(|c| c.iter())
        .copied()
        .max()
        .unwrap_or(0);
    let mut lines: Vec<Line> = StatusClass::ALL
        .iter()
        .map(|c| {
            let series: Vec<u64> = cols.iter().map(|col| col[*c as usize]).collect();
            spark_line(
                c.label(),
                8,
                bars_w,
                &series,
                max,
                rt.totals[*c as usize],
                theme.series(*c as usize),
                theme,
                g,
            )
        })
        .collect();
    lines.push(axis_line(t.axis.start, t.axis.end, bars_w, theme));
    let title = format!(
        " {} OPTIONS by status · last {}, {} per column, peak {} ",
        short_path(&rt.route, inner_w.saturating_sub(50).max(12), g),
        state.range.label(),
        format_duration(t.axis.column_ms * per),
        count(max)
    );
    Paragraph::new(lines).block(panel(title, theme, g))
}
