//! The views other than triage (see `triage_view`). Each reads only the view model and the UI
//! state.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use crate::analysis::series::{fit_columns, sort_cells};
use crate::analysis::waves::AuthBursts;
use crate::analysis::{
    PAGE_FAILURE_RATE, ProbeRow, RouteHealth, StatusClass, ViewModel, filter_log,
};
use crate::model::time::{format_duration, format_hm, format_hms};
use crate::sources::event::{AuthClass, ProbeResult};

use super::glyphs::{Glyphs, bar};
use super::state::{UiState, View};
use super::theme::Theme;
use super::widgets::{Col, count, fit, fit_widths, longest, panel, percent, selectable_table};

fn num(n: u64, theme: &Theme, warn: bool) -> Cell<'static> {
    let style = if n == 0 {
        theme.muted
    } else if warn {
        theme.bad
    } else {
        theme.text
    };
    Cell::from(Span::styled(count(n), style))
}

// ---------------------------------------------------------------- overview

pub fn overview(
    frame: &mut Frame,
    area: Rect,
    state: &mut UiState,
    model: &ViewModel,
    theme: &Theme,
    g: &Glyphs,
) {
    let o = &model.overview;
    let compact = area.height < 30;
    let window = format_duration(o.window_ms);
    // Reasons and source problems are shown whole, wrapped: a cut error hides its cause.
    let text_width = area.width.saturating_sub(4).max(10) as usize;
    let rows_of = |text: &str| text.chars().count().div_ceil(text_width).max(1) as u16;
    let reason_rows: u16 = model
        .status
        .reasons
        .iter()
        .map(|r| rows_of(&format!("x {}", r.text)))
        .sum::<u16>()
        .clamp(1, if compact { 3 } else { 6 });
    let problems: Vec<String> = o
        .sources
        .iter()
        .flat_map(|s| {
            s.problem
                .clone()
                .into_iter()
                .chain(crate::analysis::status::source_error(&s.state))
                .map(move |p| format!("{}: {p}", s.label))
        })
        .collect();
    let problem_rows: u16 = problems
        .iter()
        .map(|p| rows_of(p))
        .sum::<u16>()
        .min(if compact { 3 } else { 6 });
    let error_line = o.sources.iter().any(|s| s.last_error.is_some()) as u16;
    let src_rows = (o.sources.len().max(1) as u16).min(if compact { 2 } else { 8 });
    // The leading hypothesis, when supported: its strongest evidence and the next check.
    let lead_lines = model.top_entry().map(|e| {
        let (evidence, next_rows) = if compact { (1, 1) } else { (3, 3) };
        let width = area.width.saturating_sub(2) as usize;
        let lines = super::triage_view::top_summary_lines(e, evidence, next_rows, width, theme, g);
        (e, lines)
    });
    let lead_h = lead_lines.as_ref().map_or(0, |(_, l)| l.len() as u16 + 2);
    let [top, lead_area, middle, bottom] = Layout::vertical([
        Constraint::Length(reason_rows + 3),
        Constraint::Length(lead_h),
        Constraint::Min(6),
        Constraint::Length(src_rows + problem_rows + error_line + 3),
    ])
    .areas(area);
    if let Some((e, lines)) = lead_lines {
        let title = super::triage_view::entry_title(
            " Top hypothesis: ",
            e,
            (lead_area.width as usize).saturating_sub(4),
            g,
        );
        frame.render_widget(
            Paragraph::new(lines).block(panel(title, theme, g)),
            lead_area,
        );
    }

    // Status: the badge and why, from the status rule like the header's badge, over the same
    // window as the route table below.
    let mut lines = vec![Line::from(vec![
        super::widgets::status_badge(&model.status, theme, g),
        Span::styled(
            format!(
                "  {} requests over {window} across {} routes",
                count(o.requests_15m),
                o.routes.len(),
            ),
            theme.muted,
        ),
    ])];
    if model.status.reasons.is_empty() {
        lines.push(Line::styled(
            format!(
                "every source reading, every probe passing, every route within objective over {window}"
            ),
            theme.good,
        ));
    }
    for r in &model.status.reasons {
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", g.degraded), theme.warning),
            Span::styled(r.text.clone(), theme.text),
        ]));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(panel(format!(" Status, {window} "), theme, g)),
        top,
    );

    let [routes_area, side] = Layout::horizontal([
        Constraint::Min(48),
        Constraint::Length(if area.width >= 140 { 44 } else { 30 }),
    ])
    .areas(middle);
    state.row_routes = o.routes.iter().map(|r| r.route.clone()).collect();
    let rows: Vec<Row> = o
        .routes
        .iter()
        .map(|r| route_health_row(r, theme, g))
        .collect();
    selectable_table(
        frame,
        routes_area,
        state,
        format!(" Routes, {window} (xo: cross-origin failed) "),
        vec!["Route", "OPT", "2xx%", "xo%", "401", "403"],
        rows,
        fit_widths(
            routes_area.width,
            &[
                Col::Text {
                    longest: longest("Route", o.routes.iter().map(|r| r.route.as_str())) + 2,
                    min: 14,
                },
                Col::Fixed(5),
                Col::Fixed(6),
                Col::Fixed(6),
                Col::Fixed(4),
                Col::Fixed(4),
            ],
        ),
        theme,
        g,
    );

    let a = &o.auth;
    let inner_h = side.height.saturating_sub(2) as usize;
    let dim_if = |zero: bool, style: Style| if zero { theme.muted } else { style };
    let mut side_lines = vec![
        Line::from(vec![
            Span::styled(
                format!("401: {}", count(a.status_401)),
                dim_if(a.status_401 == 0, theme.series_401),
            ),
            Span::styled(
                format!("   403: {}", count(a.status_403)),
                dim_if(a.status_403 == 0, theme.series_403),
            ),
        ]),
        Line::styled(
            format!("401/403 on OPTIONS: {}", count(a.options_401_403)),
            dim_if(a.options_401_403 == 0, theme.bad),
        ),
        Line::styled(
            format!(
                "auth failures {}{}",
                count(a.failures),
                a.by_class
                    .iter()
                    .max_by_key(|(_, n)| *n)
                    .map_or(String::new(), |(c, n)| format!(" ({c} {})", count(*n)))
            ),
            dim_if(a.failures == 0, theme.series_auth),
        ),
    ];
    for (c, n) in a.by_class.iter().take(inner_h.saturating_sub(8).min(4)) {
        side_lines.push(Line::styled(
            format!("  {c}: {}", count(*n)),
            theme.series_auth,
        ));
    }
    let p = &o.probes;
    side_lines.push(Line::from(vec![
        Span::styled("probes ", theme.text),
        Span::styled(
            format!("ALLOWED {}", p.allowed),
            dim_if(p.allowed == 0, theme.verdict_allowed),
        ),
        Span::styled(
            format!(" BLOCKED {}", p.blocked),
            dim_if(p.blocked == 0, theme.verdict_blocked),
        ),
    ]));
    side_lines.push(Line::styled(
        format!(
            "  critical {}, no response {}",
            p.critical_blocked, p.transport
        ),
        dim_if(p.critical_blocked + p.transport == 0, theme.bad),
    ));
    let f = &o.folding;
    side_lines.push(Line::styled(
        format!(
            "(other) routes {} ev/{} names",
            count(f.other_route_events),
            f.other_route_names
        ),
        dim_if(f.other_route_events == 0, theme.warning),
    ));
    side_lines.push(Line::styled(
        format!(
            "(other) origins {} ev/{} names",
            count(f.other_origin_events),
            f.other_origin_names
        ),
        dim_if(f.other_origin_events == 0, theme.warning),
    ));
    side_lines.push(Line::styled(
        format!(
            "old {}, future {}, folded {}",
            count(f.dropped_too_old),
            count(f.dropped_future),
            count(f.bucket_folded)
        ),
        dim_if(
            f.bucket_folded + f.dropped_too_old + f.dropped_future == 0,
            theme.warning,
        ),
    ));
    frame.render_widget(
        Paragraph::new(side_lines).block(panel(" Auth, probes, folding ", theme, g)),
        side,
    );

    // Sources, with the latest parse error on its own line so it is not cut to a column.
    let block = panel(" Sources ", theme, g);
    let inner = block.inner(bottom);
    frame.render_widget(block, bottom);
    let [table_area, problem_area, error_area] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(problem_rows),
        Constraint::Length(error_line),
    ])
    .areas(inner);
    let header = Row::new(vec![
        "Source",
        "Format",
        "State",
        "lines/s",
        "Errors",
        "Last line",
    ])
    .style(theme.table_header);
    let mut rows: Vec<Row> = o
        .sources
        .iter()
        .map(|s| {
            Row::new(vec![
                Cell::from(s.label.clone()),
                Cell::from(s.format.unwrap_or("?").to_string()),
                Cell::from(s.state.clone()),
                Cell::from(format!("{:.1}", s.lines_per_sec)),
                num(s.parse_errors, theme, true),
                Cell::from(
                    s.last_line_age_ms
                        .map_or("never".into(), |a| format!("{} ago", format_duration(a))),
                ),
            ])
        })
        .collect();
    if o.sources.is_empty() {
        rows.push(Row::new(vec![Cell::from(Span::styled(
            "no sources",
            theme.muted,
        ))]));
    }
    let widths = [
        Constraint::Length(
            (longest("Source", o.sources.iter().map(|s| s.label.as_str())) as u16)
                .clamp(8, inner.width.saturating_sub(60).max(8)),
        ),
        Constraint::Length(15),
        Constraint::Length(10),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(10),
    ];
    frame.render_widget(Table::new(rows, widths).header(header), table_area);
    let problem_lines: Vec<Line> = problems
        .into_iter()
        .map(|p| Line::styled(p, theme.warning))
        .collect();
    frame.render_widget(
        Paragraph::new(problem_lines).wrap(Wrap { trim: false }),
        problem_area,
    );
    if let Some((s, (sample, reason))) = o
        .sources
        .iter()
        .filter_map(|s| s.last_error.as_ref().map(|e| (s, e)))
        .next_back()
    {
        frame.render_widget(
            Line::styled(
                format!("latest error, {}: {reason}: {sample}", s.label),
                theme.warning,
            ),
            error_area,
        );
    }
}

fn route_health_row(r: &RouteHealth, theme: &Theme, g: &Glyphs) -> Row<'static> {
    let success = r.preflight_success();
    let success_style = match success {
        None => theme.muted,
        Some(_) if r.below_objective() => theme.bad,
        Some(_) => theme.good,
    };
    let xo = r.cross_origin_failure_rate();
    let xo_style = match xo {
        Some(x) if x > PAGE_FAILURE_RATE => theme.bad,
        Some(x) if x > 0.0 => theme.warning,
        _ => theme.muted,
    };
    let mut route = vec![];
    if r.critical {
        route.push(Span::styled(format!("{} ", g.critical), theme.critical));
    }
    route.push(Span::styled(r.route.clone(), theme.text));
    // The objective miss is marked in text, not only in colour.
    let below = if r.below_objective() { "!" } else { "" };
    Row::new(vec![
        Cell::from(Line::from(route)),
        num(r.options_total, theme, false),
        Cell::from(Span::styled(
            format!("{}{below}", percent(success)),
            success_style,
        )),
        Cell::from(Span::styled(percent(xo), xo_style)),
        num(r.status_401, theme, true),
        num(r.status_403, theme, true),
    ])
}

// ---------------------------------------------------------------- trend

/// Spreads `values` over `width` cells: every value gets the same number of cells give or
/// take one (values are never merged or split here, so counts stay honest).
fn spread_bars(values: &[u64], width: usize, max: u64, g: &Glyphs) -> String {
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

/// One labelled one-line sparkline: `label  ▁▂▇  total`.
#[allow(clippy::too_many_arguments)]
fn spark_line(
    label: &str,
    width: usize,
    values: &[u64],
    max: u64,
    total: u64,
    style: Style,
    theme: &Theme,
    g: &Glyphs,
) -> Line<'static> {
    let bars = spread_bars(values, width, max, g);
    Line::from(vec![
        Span::styled(
            format!("{label:>8} "),
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

fn axis_line(start: i64, end: i64, width: usize, theme: &Theme) -> Line<'static> {
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
    let rows: Vec<Row> = t
        .routes
        .iter()
        .map(|r| {
            let total = r.total();
            let ok = r.totals[StatusClass::S2xx as usize];
            let mut cells = vec![
                Cell::from(Line::from(vec![
                    Span::styled(
                        if r.critical {
                            format!("{} ", g.critical)
                        } else {
                            String::new()
                        },
                        theme.critical,
                    ),
                    Span::styled(r.route.clone(), theme.text),
                ])),
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
    let mut cols = vec![
        Col::Text {
            longest: longest("Route", t.routes.iter().map(|r| r.route.as_str())) + 2,
            min: 16,
        },
        Col::Fixed(7),
        Col::Fixed(7),
    ];
    cols.extend([Col::Fixed(6); 6]);
    let widths = fit_widths(top.width, &cols);
    selectable_table(
        frame,
        top,
        state,
        format!(" OPTIONS by route ({}) ", state.range.label()),
        vec![
            "Route", "OPTIONS", "2xx", "3xx", "401", "403", "404/5", "5xx", "other",
        ],
        rows,
        widths,
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
                format!(" OPTIONS status trend ({}) ", state.range.label()),
                theme,
                g,
            )),
            chart,
        );
        return;
    };
    let inner_w = chart.width.saturating_sub(2) as usize;
    let bars_w = inner_w.saturating_sub(9 + 7).max(1);
    let cols = fit_columns(&rt.columns, bars_w);
    let per = rt.columns.len().div_ceil(bars_w.max(1)).max(1) as i64;
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
        " {} OPTIONS by status ({}), {} per column, peak {} ",
        rt.route,
        state.range.label(),
        format_duration(t.axis.column_ms * per),
        count(max)
    );
    frame.render_widget(Paragraph::new(lines).block(panel(title, theme, g)), chart);

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
            let marker = if i == sel { g.selected } else { " " };
            let bars = spread_bars(series, bars_w, max, g);
            let n = r.non_2xx();
            Line::from(vec![
                Span::styled(format!("{marker} "), theme.text),
                Span::styled(
                    format!("{:<name_w$} ", fit(&r.route, name_w, g)),
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
                " Non-2xx OPTIONS per route ({}), peak {} ",
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

pub fn auth(
    frame: &mut Frame,
    area: Rect,
    state: &mut UiState,
    model: &ViewModel,
    theme: &Theme,
    g: &Glyphs,
) {
    let a = model.auth_timeline(state.range);
    let classes: Vec<AuthClass> = AuthClass::ALL
        .iter()
        .copied()
        .filter(|c| a.class_totals[*c as usize] > 0 || *c == AuthClass::Expired)
        .collect();
    let waves = crate::analysis::waves::auth_bursts(a, &state.token_lifetimes_ms);
    let clients = model.client_periods(state.range, &state.token_lifetimes_ms);
    // Series, the burst marks, the axis, the burst summary, the clients line, and the border.
    let chart_h = (2 + classes.len().min(6) + 1 + 1 + 1 + 1 + 2) as u16;
    let [top, bottom] =
        Layout::vertical([Constraint::Length(chart_h), Constraint::Min(5)]).areas(area);
    let [chart, methods] =
        Layout::horizontal([Constraint::Min(40), Constraint::Length(26)]).areas(top);

    let inner_w = chart.width.saturating_sub(2) as usize;
    let bars_w = inner_w.saturating_sub(9 + 7).max(1);
    let status_cols: Vec<[u32; 2]> = a
        .columns
        .iter()
        .map(|c| [c.status_401, c.status_403])
        .collect();
    let class_cols: Vec<[u32; AuthClass::COUNT]> = a.columns.iter().map(|c| c.classes).collect();
    let sc = fit_columns(&status_cols, bars_w);
    let cc = fit_columns(&class_cols, bars_w);
    let max = sc
        .iter()
        .flat_map(|c| c.iter())
        .chain(cc.iter().flat_map(|c| c.iter()))
        .copied()
        .max()
        .unwrap_or(0);
    let pick = |cols: &[[u64; 2]], i: usize| cols.iter().map(|c| c[i]).collect::<Vec<u64>>();
    let mut lines = vec![
        spark_line(
            "401",
            bars_w,
            &pick(&sc, 0),
            max,
            a.total_401,
            theme.series_401,
            theme,
            g,
        ),
        spark_line(
            "403",
            bars_w,
            &pick(&sc, 1),
            max,
            a.total_403,
            theme.series_403,
            theme,
            g,
        ),
    ];
    for c in classes.iter().take(6) {
        let series: Vec<u64> = cc.iter().map(|col| col[*c as usize]).collect();
        let label: String = c.as_str().chars().take(8).collect();
        lines.push(spark_line(
            &label,
            bars_w,
            &series,
            max,
            a.class_totals[*c as usize],
            theme.series_auth,
            theme,
            g,
        ));
    }
    lines.push(burst_marks(&waves, a.columns.len(), bars_w, theme, g));
    lines.push(axis_line(a.axis.start, a.axis.end, bars_w, theme));
    lines.push(burst_summary(&waves, inner_w, theme, g));
    lines.push(client_summary(&clients, inner_w, theme, g));
    frame.render_widget(
        Paragraph::new(lines).block(panel(
            format!(" 401/403 beside auth failures ({}) ", state.range.label()),
            theme,
            g,
        )),
        chart,
    );

    let mut mlines = vec![Line::styled(
        format!("{:<8}{:>7}{:>7}", "method", "401", "403"),
        theme.table_header,
    )];
    for (m, n401, n403) in &a.by_method {
        lines_push_method(&mut mlines, m.as_str(), *n401, *n403, theme);
    }
    if a.by_method.is_empty() {
        mlines.push(Line::styled("no 401/403", theme.muted));
    } else if a
        .by_method
        .first()
        .is_some_and(|(m, _, _)| *m == crate::sources::event::Method::Options)
    {
        mlines.push(Line::styled("OPTIONS leads: suspect", theme.warning));
        mlines.push(Line::styled("preflight auth (H2)", theme.warning));
    }
    frame.render_widget(
        Paragraph::new(mlines).block(panel(
            format!(" By method ({}) ", state.range.label()),
            theme,
            g,
        )),
        methods,
    );

    let rows: Vec<Row> = model
        .auth_samples
        .iter()
        .map(|s| {
            Row::new(vec![
                Cell::from(Span::styled(format_hms(s.time), theme.axis)),
                Cell::from(Span::styled(s.class.as_str(), theme.series_auth)),
                Cell::from(s.operation.clone()),
                Cell::from(s.message.clone()),
            ])
        })
        .collect();
    state.row_routes.clear();
    selectable_table(
        frame,
        bottom,
        state,
        " Latest auth failures (redacted) ".into(),
        vec!["Time", "Class", "Operation", "Message"],
        rows,
        vec![
            Constraint::Length(8),
            Constraint::Length(20),
            Constraint::Length(16),
            Constraint::Min(20),
        ],
        theme,
        g,
    );
}

/// The burst row under the auth chart: a mark under every column inside a burst, laid out
/// exactly as the sparklines above it (same column folding, same spreading).
fn burst_marks(
    waves: &AuthBursts,
    columns: usize,
    width: usize,
    theme: &Theme,
    g: &Glyphs,
) -> Line<'static> {
    let mut hot = vec![false; columns];
    for b in &waves.bursts {
        for h in hot.iter_mut().take(b.last + 1).skip(b.first) {
            *h = true;
        }
    }
    let per = columns.div_ceil(width.max(1)).max(1);
    let folded: Vec<bool> = hot.chunks(per).map(|c| c.iter().any(|&h| h)).collect();
    let n = folded.len();
    let spread = width.max(n);
    let mut marks = String::with_capacity(spread);
    for (i, &h) in folded.iter().enumerate() {
        let cells = (i + 1) * spread / n - i * spread / n;
        let ch = if h { g.burst } else { ' ' };
        marks.extend(std::iter::repeat_n(ch, cells));
    }
    let label_style = if waves.bursts.is_empty() {
        theme.muted
    } else {
        theme.warning.add_modifier(Modifier::BOLD)
    };
    Line::from(vec![
        Span::styled(format!("{:>8} ", "bursts"), label_style),
        Span::styled(marks, theme.warning),
        Span::styled(format!(" {:>6}", waves.bursts.len()), theme.text),
    ])
}

/// One line under the axis: when the bursts started, their period with its confidence, and
/// the next one due.
fn burst_summary(waves: &AuthBursts, width: usize, theme: &Theme, g: &Glyphs) -> Line<'static> {
    if waves.bursts.is_empty() {
        return Line::styled(fit(" no 401/403 bursts in range", width, g), theme.muted);
    }
    let starts: Vec<String> = waves
        .bursts
        .iter()
        .rev()
        .take(4)
        .rev()
        .map(|b| format_hm(b.start))
        .collect();
    let more = if waves.bursts.len() > 4 {
        format!("{}, ", g.ellipsis)
    } else {
        String::new()
    };
    let text = match &waves.period {
        Some(p) => format!(
            " started {more}{} UTC · {} · next due {} UTC",
            starts.join(", "),
            p.short(),
            format_hm(p.next_due)
        ),
        None => format!(
            " started {more}{} UTC · no period (needs three bursts with agreeing intervals)",
            starts.join(", ")
        ),
    };
    Line::styled(
        fit(&text, width, g),
        if waves.period.is_some() {
            theme.warning
        } else {
            theme.text
        },
    )
}

/// One line under the burst summary: what each client's own 401/403 recurrences say.
fn client_summary(
    c: &crate::analysis::bursts::ClientPeriods,
    width: usize,
    theme: &Theme,
    g: &Glyphs,
) -> Line<'static> {
    match c.describe().filter(|_| c.significant()) {
        Some(text) => Line::styled(fit(&format!(" {text}"), width, g), theme.warning),
        None if c.clients == 0 => Line::styled(
            fit(" per client: no client named on 401/403", width, g),
            theme.muted,
        ),
        None => Line::styled(
            fit(
                &format!(
                    " per client: {} of {} clients recur at a token lifetime, no more than chance",
                    c.recurring, c.clients
                ),
                width,
                g,
            ),
            theme.muted,
        ),
    }
}

fn lines_push_method(out: &mut Vec<Line<'static>>, m: &str, a: u64, b: u64, theme: &Theme) {
    out.push(Line::from(vec![
        Span::styled(format!("{m:<8}"), theme.text),
        Span::styled(
            format!("{:>7}", count(a)),
            if a > 0 { theme.series_401 } else { theme.muted },
        ),
        Span::styled(
            format!("{:>7}", count(b)),
            if b > 0 { theme.series_403 } else { theme.muted },
        ),
    ]));
}

// ---------------------------------------------------------------- probes

fn verdict_cell(p: &ProbeRow, theme: &Theme) -> Cell<'static> {
    if p.allowed {
        Cell::from(Span::styled("ALLOWED", theme.verdict_allowed))
    } else if p.transport == Some(crate::sources::event::TransportKind::Local) {
        // corstop's own limit: neither verdict is true.
        Cell::from(Span::styled("UNKNOWN", theme.warning))
    } else {
        Cell::from(Span::styled("BLOCKED", theme.verdict_blocked))
    }
}

pub fn probes(
    frame: &mut Frame,
    area: Rect,
    state: &mut UiState,
    model: &ViewModel,
    theme: &Theme,
    g: &Glyphs,
) {
    let mixed_modes = model
        .probes
        .windows(2)
        .any(|w| w[0].credentials != w[1].credentials);
    let rows: Vec<Vec<Cell>> = model
        .probes
        .iter()
        .map(|p| {
            let mut endpoint = vec![];
            if p.critical {
                endpoint.push(Span::styled(format!("{} ", g.critical), theme.critical));
            }
            endpoint.push(Span::raw(p.endpoint.clone()));
            vec![
                verdict_cell(p, theme),
                Cell::from(Line::from(endpoint)),
                Cell::from(p.origin.clone()),
                Cell::from(shape_label(p, mixed_modes)),
                Cell::from(Span::styled(
                    p.code.clone(),
                    if p.doubled_acao {
                        theme.warning
                    } else {
                        theme.text
                    },
                )),
                Cell::from(p.hidden_status.map_or("-".into(), |s| s.to_string())),
                Cell::from(p.latency_ms.map_or("-".into(), |l| format!("{l}ms"))),
                Cell::from(p.instance.clone().unwrap_or_else(|| "-".into())),
            ]
        })
        .collect();
    state.row_routes.clear();
    if state.detail {
        let sel = state.clamp_selection(model.probes.len());
        if let Some(p) = model.probe_results.get(sel) {
            let [head, detail] =
                Layout::vertical([Constraint::Length(5), Constraint::Min(5)]).areas(area);
            let row = &model.probes[sel];
            let summary = vec![
                Line::from(vec![
                    Span::styled(
                        if row.allowed { "ALLOWED" } else { "BLOCKED" },
                        if row.allowed {
                            theme.verdict_allowed
                        } else {
                            theme.verdict_blocked
                        },
                    ),
                    Span::styled(format!("  {}  {}", row.code, p.shape.name), theme.text),
                ]),
                Line::styled(format!("{} from {}", p.url, p.origin), theme.muted),
                Line::styled(
                    format!(
                        "credentials: {} ({})",
                        p.shape.credentials.as_str(),
                        p.shape.credentials.cross_origin_meaning()
                    ),
                    theme.muted,
                ),
            ];
            frame.render_widget(
                Paragraph::new(summary).block(panel(" Probe ", theme, g)),
                head,
            );
            let history = model
                .probe_history
                .get(sel)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let lines = probe_detail_lines(p, history, theme, g);
            // Wrapped lines make the rendered height larger than the line count; the bound
            // only has to stop scrolling into nothing.
            state.detail_scroll = state.detail_scroll.min(lines.len() as u16);
            frame.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: false })
                    .scroll((state.detail_scroll, 0))
                    .block(panel(
                        " Evidence (as sent / as received) — Esc closes ",
                        theme,
                        g,
                    )),
                detail,
            );
            return;
        }
        state.detail = false;
    }
    let mut header = vec!["Verdict", "Endpoint", "Origin", "Shape", "Code", "Hid"];
    let wide = area.width >= 110;
    let endpoint_w = longest("Endpoint", model.probes.iter().map(|p| p.endpoint.as_str())) + 2;
    let mut cols = vec![
        Col::Fixed(7),
        // The endpoint keeps up to 20 columns; long origins give way first.
        Col::Text {
            longest: endpoint_w,
            min: endpoint_w.min(20) as u16,
        },
        Col::Text {
            longest: longest("Origin", model.probes.iter().map(|p| p.origin.as_str())),
            min: 16,
        },
        // Room for the include mark when modes are mixed.
        Col::Fixed(if mixed_modes { 15 } else { 13 }),
        Col::Fixed(13),
        Col::Fixed(3),
    ];
    if wide {
        header.extend(["Latency", "Instance"]);
        cols.extend([
            Col::Fixed(7),
            Col::Text {
                longest: longest(
                    "Instance",
                    model.probes.iter().filter_map(|p| p.instance.as_deref()),
                ),
                min: 8,
            },
        ]);
    }
    let widths = fit_widths(area.width, &cols);
    let rows = rows
        .into_iter()
        .map(|cells| {
            Row::new(if wide {
                cells
            } else {
                cells.into_iter().take(6).collect()
            })
        })
        .collect();
    selectable_table(
        frame,
        area,
        state,
        format!(
            " Probes, latest, credentials {}{} ",
            credentials_modes(&model.probes),
            if wide {
                ""
            } else {
                " · wider terminal: latency, instance"
            }
        ),
        header,
        rows,
        widths,
        theme,
        g,
    );
}

/// The shape's name, marked when the probe sent cookies among probes that did not, since a verdict on an `include`
/// request says nothing about a bearer-token page and the other way round.
fn shape_label(p: &crate::analysis::ProbeRow, mixed_modes: bool) -> String {
    if mixed_modes
        && p.credentials == crate::cors::Credentials::Include
        && !p.shape.ends_with("+cred")
    {
        format!("{} *", p.shape)
    } else {
        p.shape.clone()
    }
}

/// The credentials modes in the table, for its title: one mode, or which one is marked.
fn credentials_modes(rows: &[crate::analysis::ProbeRow]) -> String {
    let mut modes: Vec<&'static str> = rows.iter().map(|r| r.credentials.as_str()).collect();
    modes.sort_unstable();
    modes.dedup();
    match modes.as_slice() {
        [] => crate::cors::Credentials::default().as_str().to_string(),
        [one] => (*one).to_string(),
        _ => "mixed, include marked *".to_string(),
    }
}

/// The evidence of one probe, line by line: requests as sent, responses as received (every
/// header line in order, doubled ones marked), then what each browser would say.
pub fn probe_detail_lines(
    p: &ProbeResult,
    history: &[crate::analysis::ProbeHistoryEntry],
    theme: &Theme,
    g: &Glyphs,
) -> Vec<Line<'static>> {
    let mut out: Vec<Line<'static>> = Vec::new();
    let section = |out: &mut Vec<Line<'static>>, title: &str| {
        out.push(Line::styled(title.to_string(), theme.table_header));
    };
    let request = |out: &mut Vec<Line<'static>>, r: &crate::cors::RawRequest| {
        out.push(Line::styled(
            format!("  {} {}", r.method, r.url),
            theme.text,
        ));
        for (n, v) in &r.headers {
            out.push(Line::styled(
                format!("  {n}: {}", crate::model::redact::header_value(n, v)),
                theme.text,
            ));
        }
    };
    let response = |out: &mut Vec<Line<'static>>, r: &crate::cors::RawResponse| {
        out.push(Line::styled(
            format!("  HTTP {}  ({} ms)", r.status, r.elapsed_ms),
            theme.text,
        ));
        for (i, (n, v)) in r.headers.iter().enumerate() {
            let repeated = r.headers[..i]
                .iter()
                .any(|(m, _)| m.eq_ignore_ascii_case(n))
                || r.headers[i + 1..]
                    .iter()
                    .any(|(m, _)| m.eq_ignore_ascii_case(n));
            let dup_cors = repeated && n.to_ascii_lowercase().starts_with("access-control-");
            let text = format!("  {n}: {}", crate::model::redact::header_value(n, v));
            if dup_cors {
                out.push(Line::from(vec![
                    Span::styled(text, theme.warning),
                    Span::styled(format!("   {} repeated header", g.degraded), theme.warning),
                ]));
            } else {
                out.push(Line::styled(text, theme.text));
            }
        }
    };
    section(&mut out, "Preflight request (as sent)");
    match &p.preflight_request {
        Some(r) => request(&mut out, r),
        None => out.push(Line::styled("  (no preflight needed or sent)", theme.muted)),
    }
    section(&mut out, "Preflight response (as received)");
    match &p.preflight {
        Some(r) => response(&mut out, r),
        None => out.push(Line::styled("  (none)", theme.muted)),
    }
    if p.actual_request.is_some() || p.actual.is_some() {
        section(&mut out, "Actual request (as sent)");
        if let Some(r) = &p.actual_request {
            request(&mut out, r);
        }
        section(&mut out, "Actual response (as received)");
        match &p.actual {
            Some(r) => response(&mut out, r),
            None => out.push(Line::styled("  (none)", theme.muted)),
        }
    }
    for (i, hop) in p.redirects.iter().enumerate() {
        let n = i + 1;
        if let Some(r) = &hop.preflight_request {
            section(
                &mut out,
                &format!("Redirect {n}: preflight (as sent, Origin {})", hop.origin),
            );
            request(&mut out, r);
            section(
                &mut out,
                &format!("Redirect {n}: preflight response (as received)"),
            );
            match &hop.preflight {
                Some(r) => response(&mut out, r),
                None => out.push(Line::styled("  (none)", theme.muted)),
            }
        }
        if let Some(r) = &hop.request {
            section(
                &mut out,
                &format!("Redirect {n}: request (as sent, Origin {})", hop.origin),
            );
            request(&mut out, r);
            section(&mut out, &format!("Redirect {n}: response (as received)"));
            match &hop.response {
                Some(r) => response(&mut out, r),
                None => out.push(Line::styled("  (none)", theme.muted)),
            }
        }
    }
    if let Some(t) = &p.transport {
        section(&mut out, "Transport error");
        out.push(Line::styled(
            format!("  {}: {}", t.kind.as_str(), t.message),
            theme.bad,
        ));
    }
    let v = &p.verdict;
    section(&mut out, "Verdict");
    out.push(Line::from(vec![
        Span::styled(
            if v.allowed { "  ALLOWED" } else { "  BLOCKED" },
            if v.allowed {
                theme.verdict_allowed
            } else {
                theme.verdict_blocked
            },
        ),
        Span::styled(
            format!(
                "  code {}  stage {}{}",
                v.code,
                v.stage.as_str(),
                v.hidden_status
                    .map_or(String::new(), |s| format!("  hidden status {s}"))
            ),
            theme.text,
        ),
    ]));
    if let Some(w) = &v.www_authenticate {
        out.push(Line::styled(format!("  WWW-Authenticate: {w}"), theme.text));
    }
    out.push(Line::styled("Chrome says", theme.table_header));
    out.push(Line::styled(
        format!("  {}", v.chrome_message.as_deref().unwrap_or("(no error)")),
        theme.text,
    ));
    out.push(Line::styled("Firefox says", theme.table_header));
    out.push(Line::styled(
        format!("  {}", v.firefox_message.as_deref().unwrap_or("(no error)")),
        theme.text,
    ));
    if !v.warnings.is_empty() {
        section(&mut out, "Warnings");
        for w in &v.warnings {
            out.push(Line::styled(
                format!("  {}: {}", w.code, w.message),
                theme.warning,
            ));
        }
    }
    if let Some(h) = v.hypothesis {
        section(&mut out, "Hypothesis");
        out.push(Line::styled(
            format!("  {} {}", h.id(), h.title()),
            theme.text,
        ));
    }
    if let Some(i) = &p.instance {
        out.push(Line::styled(format!("Instance: {i}"), theme.muted));
    }
    if history.len() > 1 {
        section(&mut out, "History (newest first)");
        for h in history {
            out.push(Line::from(vec![
                Span::styled(
                    format!("  {}  ", crate::model::time::format_hms(h.time)),
                    theme.muted,
                ),
                Span::styled(
                    if h.allowed { "ALLOWED" } else { "BLOCKED" },
                    if h.allowed {
                        theme.verdict_allowed
                    } else {
                        theme.verdict_blocked
                    },
                ),
                Span::styled(
                    format!(
                        "  {}{}{}",
                        h.code,
                        h.hidden_status
                            .map_or(String::new(), |s| format!("  hidden {s}")),
                        h.instance
                            .as_deref()
                            .map_or(String::new(), |i| format!("  {i}"))
                    ),
                    theme.text,
                ),
            ]));
        }
    }
    out
}

// ---------------------------------------------------------------- log

pub fn log(
    frame: &mut Frame,
    area: Rect,
    state: &mut UiState,
    model: &ViewModel,
    theme: &Theme,
    g: &Glyphs,
) {
    let all = filter_log(&model.log, &state.log_filter);
    let paused = state.log_paused || state.frozen;
    let (matched, newer) = if paused {
        let anchor = *state
            .log_anchor
            .get_or_insert_with(|| model.log.last().map_or(0, |l| l.seq));
        let (kept, newer): (Vec<usize>, Vec<usize>) =
            all.into_iter().partition(|&i| model.log[i].seq <= anchor);
        (kept, newer.len())
    } else {
        state.log_anchor = None;
        (all, 0)
    };
    let inner_h = area.height.saturating_sub(3) as usize;
    let max_offset = matched.len().saturating_sub(inner_h);
    let offset = state.clamp_selection(max_offset + 1);
    let end = matched.len() - offset.min(matched.len());
    let start = end.saturating_sub(inner_h);
    let label_w = model
        .log
        .iter()
        .map(|l| l.source.chars().count())
        .max()
        .unwrap_or(0)
        .min(16);
    let mut lines: Vec<Line> = matched[start..end]
        .iter()
        .map(|&i| {
            let l = &model.log[i];
            Line::from(vec![
                Span::styled(format!("{} ", format_hms(l.wall)), theme.axis),
                Span::styled(
                    format!("{:<label_w$}", fit(&l.source, label_w, g)),
                    theme.log_source,
                ),
                Span::styled(format!(" {} ", g.sep), theme.border),
                Span::styled(l.text.clone(), theme.text),
            ])
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::styled(
            if state.log_filter.is_empty() {
                "no lines yet"
            } else {
                "no line matches the filter"
            },
            theme.muted,
        ));
    }
    let [body, prompt] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    let status = if paused {
        format!("PAUSED, {newer} newer")
    } else {
        "FOLLOWING".to_string()
    };
    frame.render_widget(
        Paragraph::new(lines).block(panel(
            format!(
                " Live log: {} of {} lines, {status} ",
                matched.len(),
                model.log_ring_len
            ),
            theme,
            g,
        )),
        body,
    );
    let prompt_line = if state.filter_editing {
        Line::from(vec![
            Span::styled("/", theme.filter),
            Span::styled(format!("{}_", state.log_filter), theme.filter),
            Span::styled("   Enter keeps, Esc clears", theme.muted),
        ])
    } else if !state.log_filter.is_empty() {
        Line::from(vec![
            Span::styled(format!("filter: {}", state.log_filter), theme.filter),
            Span::styled("   / edits, Esc clears", theme.muted),
        ])
    } else {
        Line::styled("/ to filter (substring, any case)", theme.muted)
    };
    frame.render_widget(prompt_line, prompt);
}
