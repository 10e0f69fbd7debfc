//! The overview: status, routes with their health, the failing origins and the probe summary.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use crate::analysis::series::fit_columns;
use crate::analysis::{PAGE_FAILURE_RATE, RouteHealth, StatusClass, ViewModel};
use crate::model::time::format_duration;

use super::panels;
use super::trend::spread_bars;
use crate::ui::glyphs::Glyphs;
use crate::ui::legend;
use crate::ui::state::UiState;
use crate::ui::theme::Theme;
use crate::ui::widgets::{
    Col, column_widths, count, longest, num, panel, percent, selectable_table, short_path,
    window_title,
};

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
    let rows_of = |text: &str| crate::model::text::width(text).div_ceil(text_width).max(1) as u16;
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
    let listed = model
        .fleet
        .as_ref()
        .map_or(o.sources.len(), |f| f.instances.len() + 1);
    let src_rows = (listed.max(1) as u16).min(if compact { 2 } else { 8 });
    // The leading hypothesis, when supported: its strongest evidence and the next check.
    let lead_lines = model.top_entry().map(|e| {
        let (evidence, next_rows) = if compact { (1, 1) } else { (3, 3) };
        let width = area.width.saturating_sub(2) as usize;
        let lines = super::triage::top_summary_lines(e, evidence, next_rows, width, theme, g);
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
        let window = format!("· last {} ", format_duration(model.triage_now.span_ms));
        let title = super::triage::entry_title(
            " Top hypothesis: ",
            e,
            (lead_area.width as usize).saturating_sub(4 + window.len()),
            g,
        ) + &window;
        frame.render_widget(
            Paragraph::new(lines).block(panel(title, theme, g)),
            lead_area,
        );
    }

    // Status: the badge and why, from the status rule like the header's badge, over the same
    // window as the route table below.
    // While history is read the counts are not the logs' yet: say so instead of "0 requests".
    let summary = match &model.status.loading {
        Some(loading) => format!("  {loading}"),
        None => format!(
            "  {} requests over {window} across {} routes",
            count(o.requests_15m),
            o.routes.len(),
        ),
    };
    let mut lines = vec![Line::from(vec![
        crate::ui::widgets::status_badge(&model.status, theme, g),
        Span::styled(summary, theme.muted),
    ])];
    if model.status.reasons.is_empty() && model.status.loading.is_none() {
        lines.push(Line::styled(
            format!(
                "every source reading, every probe passing, every route within objective over {window}"
            ),
            theme.good,
        ));
    }
    for r in &model.status.reasons {
        lines.push(Line::from(vec![
            legend::REASON.span(g, theme),
            Span::raw(" "),
            Span::styled(r.text.clone(), theme.text),
        ]));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(panel(format!(" Status · last {window} "), theme, g)),
        top,
    );

    let health = model.health(state.range);
    // Wide enough that its longest line is whole, within reason.
    let side_w = if area.width >= 140 {
        let widest = side_lines(o, health, 4, usize::MAX, theme)
            .iter()
            .map(Line::width)
            .max()
            .unwrap_or(0);
        (widest as u16 + 2).clamp(44, 64)
    } else {
        30
    };
    let [routes_col, side] =
        Layout::horizontal([Constraint::Min(48), Constraint::Length(side_w)]).areas(middle);
    // Room beyond the route table goes to the origin grid and the selected route's trend.
    let routes_h = (health.routes.len().max(1) as u16 + 3).min(routes_col.height);
    let extra_h = routes_col.height.saturating_sub(routes_h);
    let (routes_area, extra) = if extra_h >= EXTRA_MIN_HEIGHT {
        let [r, e] =
            Layout::vertical([Constraint::Length(routes_h), Constraint::Min(0)]).areas(routes_col);
        (r, Some(e))
    } else {
        (routes_col, None)
    };
    routes_table(frame, routes_area, state, model, theme, g);
    if let Some(extra) = extra {
        // The grid as tall as its origins, the selected route's chart under it when both fit.
        let mut origins: Vec<&str> = model
            .origin_table(state.range)
            .cells
            .iter()
            .map(|c| c.origin.as_str())
            .collect();
        origins.sort_unstable();
        origins.dedup();
        let origins = origins.len() as u16;
        let grid_h = (origins.max(1) + 4).min(extra.height);
        if extra.height >= grid_h + panels::CHART_HEIGHT {
            // Whole route charts (two abreast when wide) for the routes with preflights; then,
            // with rows to spare, the auth chart; whatever is left stays with the grid.
            let across = if extra.width >= 160 { 2 } else { 1 };
            let charted = model.trend(state.range).routes.len().max(1) as u16;
            let room = (extra.height - grid_h) / panels::CHART_HEIGHT;
            let charts_h = room.min(charted.div_ceil(across)) * panels::CHART_HEIGHT;
            let auth_h = super::auth::chart_height(model, state.range);
            let auth_h = if extra.height >= grid_h + charts_h + auth_h {
                auth_h
            } else {
                0
            };
            let [grid, charts, auth] = Layout::vertical([
                Constraint::Length(extra.height - charts_h - auth_h),
                Constraint::Length(charts_h),
                Constraint::Length(auth_h),
            ])
            .areas(extra);
            panels::origin_grid(frame, grid, state, model, theme, g);
            panels::route_status_charts(frame, charts, state, model, theme, g);
            if auth_h > 0 {
                super::auth::auth_chart(frame, auth, state, model, theme, g);
            }
        } else {
            panels::origin_grid(frame, extra, state, model, theme, g);
        }
    }
    let inner_h = side.height.saturating_sub(2) as usize;
    let inner_w = side.width.saturating_sub(2) as usize;
    // The per-class lines give way first when the panel is short.
    let mut side_lines = side_lines(o, health, inner_h.saturating_sub(8).min(4), inner_w, theme);
    // Rows to spare list the blocked probes: what a browser refuses right now, and why.
    let blocked: Vec<&crate::analysis::ProbeRow> =
        model.probes.iter().filter(|p| !p.allowed).collect();
    let spare = inner_h.saturating_sub(side_lines.len() + 2);
    if spare > 0 && !blocked.is_empty() {
        side_lines.push(Line::raw(""));
        side_lines.push(Line::styled("blocked probes, latest:", theme.table_header));
        let code_w = blocked
            .iter()
            .map(|p| p.code.len())
            .max()
            .unwrap_or(0)
            .min(14);
        for p in blocked.iter().take(spare) {
            legend::note_code(&p.code);
            let rest = inner_w.saturating_sub(code_w + 1);
            let endpoint_w = (rest / 2).max(rest.saturating_sub(
                crate::model::text::width(crate::model::text::drop_https(&p.origin)) + 1,
            ));
            let endpoint = format!("{}{}", p.host.as_deref().unwrap_or(""), p.endpoint);
            let endpoint = crate::ui::widgets::short_endpoint(&endpoint, endpoint_w, g);
            let origin = crate::model::text::drop_https(&p.origin);
            let origin_w = rest.saturating_sub(crate::model::text::width(&endpoint) + 1);
            side_lines.push(Line::from(vec![
                Span::styled(
                    format!("{:<code_w$} ", crate::ui::widgets::fit(&p.code, code_w, g)),
                    legend::BLOCKED.style_of(theme),
                ),
                Span::styled(format!("{endpoint} "), theme.text),
                Span::styled(
                    crate::ui::widgets::short_middle(origin, origin_w, g),
                    theme.muted,
                ),
            ]));
        }
    }
    frame.render_widget(
        Paragraph::new(side_lines).block(panel(window_title("Auth", state.range), theme, g)),
        side,
    );

    if let Some(fleet) = &model.fleet {
        super::fleet::instances_panel(
            frame,
            bottom,
            fleet,
            state.instance_sort,
            &problems,
            theme,
            g,
        );
        return;
    }
    // Sources, with the latest parse error on its own line so it is not cut to a column.
    let block = panel(" Sources · since start ", theme, g);
    let inner = block.inner(bottom);
    frame.render_widget(block, bottom);
    let [table_area, problem_area, error_area] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(problem_rows),
        Constraint::Length(error_line),
    ])
    .areas(inner);
    let headers = vec![
        "Source",
        "Format",
        "State",
        "lines/s",
        "Errors",
        "Last line",
    ];
    legend::note_headers(&headers);
    let header = Row::new(headers).style(theme.table_header);
    let label_w = (longest("Source", o.sources.iter().map(|s| s.label.as_str())) as u16)
        .clamp(8, inner.width.saturating_sub(60).max(8));
    let mut rows: Vec<Row> = o
        .sources
        .iter()
        .map(|s| {
            Row::new(vec![
                Cell::from(short_path(&s.label, label_w as usize, g)),
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
        Constraint::Length(label_w),
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

/// Rows the overview needs beyond the route table to add the origin grid.
const EXTRA_MIN_HEIGHT: u16 = 6;

/// The side panel's lines: auth figures over the range, the probes' latest verdicts, folding.
fn side_lines(
    o: &crate::analysis::Overview,
    health: &crate::analysis::overview::RangeHealth,
    max_classes: usize,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let a = &health.auth;
    let dim_if = |zero: bool, style: Style| if zero { theme.muted } else { style };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                format!("401: {}", count(a.status_401)),
                dim_if(a.status_401 == 0, legend::SERIES_401.style_of(theme)),
            ),
            Span::styled(
                format!("   403: {}", count(a.status_403)),
                dim_if(a.status_403 == 0, legend::SERIES_403.style_of(theme)),
            ),
        ]),
        Line::styled(
            format!("401/403 on OPTIONS: {}", count(a.options_401_403)),
            dim_if(a.options_401_403 == 0, theme.bad),
        ),
    ];
    let mut classes = a.by_class.clone();
    classes.sort_by_key(|c| std::cmp::Reverse(c.1));
    // Without room for the class lines, the largest class rides along when it fits whole.
    let total = format!("auth failures {}", count(a.failures));
    let with_top = classes
        .first()
        .filter(|_| max_classes == 0)
        .map(|(c, n)| format!("{total} ({c} {})", count(*n)))
        .filter(|t| crate::model::text::width(t) <= width);
    lines.push(Line::styled(
        with_top.unwrap_or(total),
        dim_if(a.failures == 0, legend::SERIES_AUTH.style_of(theme)),
    ));
    for (c, n) in classes.iter().take(max_classes) {
        lines.push(Line::styled(
            format!("  {c}: {}", count(*n)),
            theme.series_auth,
        ));
    }
    let p = &o.probes;
    // The panel's title names the auth window; these figures are the probes' latest verdicts
    // and the store's folding since it started, which the lines say where there is room.
    let roomy = width >= 40;
    lines.push(Line::from(vec![
        Span::styled(
            if roomy { "probes, latest: " } else { "probes " },
            theme.text,
        ),
        Span::styled(
            format!("ALLOWED {}", p.allowed),
            dim_if(p.allowed == 0, legend::ALLOWED.style_of(theme)),
        ),
        Span::styled(
            format!(" BLOCKED {}", p.blocked),
            dim_if(p.blocked == 0, legend::BLOCKED.style_of(theme)),
        ),
    ]));
    lines.push(Line::styled(
        format!(
            "  critical {}, no response {}",
            p.critical_blocked, p.transport
        ),
        dim_if(p.critical_blocked + p.transport == 0, theme.bad),
    ));
    let f = &o.folding;
    let folded = legend::OTHER.style_of(theme);
    legend::EVENTS_NAMES.style_of(theme);
    legend::OLD_FUTURE.style_of(theme);
    if roomy {
        lines.push(Line::styled("folded and dropped, since start:", theme.text));
    }
    for (what, events, names) in [
        ("routes", f.other_route_events, &f.other_route_names),
        ("origins", f.other_origin_events, &f.other_origin_names),
    ] {
        lines.push(Line::styled(
            format!("(other) {what} {} ev/{names} names", count(events)),
            dim_if(events == 0, folded),
        ));
    }
    lines.push(Line::styled(
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
    lines
}

fn routes_table(
    frame: &mut Frame,
    area: Rect,
    state: &mut UiState,
    model: &ViewModel,
    theme: &Theme,
    g: &Glyphs,
) {
    let routes = &model.health(state.range).routes;
    let trend = model.trend(state.range);
    state.row_routes = routes.iter().map(|r| r.route.clone()).collect();
    let mut cols = vec![
        Col::Text {
            longest: longest("Route", routes.iter().map(|r| r.route.as_str())) + 2,
            min: 14,
        },
        Col::Fixed(5),
        Col::Fixed(6),
        Col::Fixed(6),
        Col::Fixed(4),
        Col::Fixed(4),
    ];
    let mut header = vec!["Route", "OPT", "2xx%", "xo%", "401", "403"];
    // Spare width shows each route's failing preflights over the range.
    let fixed: u16 = 5 + 6 + 6 + 4 + 4 + 6 + 4;
    let name_w = longest("Route", routes.iter().map(|r| r.route.as_str())) as u16 + 2;
    let spark_w = area.width.saturating_sub(fixed + name_w + 1).min(90);
    let with_spark = spark_w >= 16;
    if with_spark {
        cols.push(Col::Fixed(spark_w));
        header.push("Non-2xx");
    }
    let widths = column_widths(area.width, &cols);
    let route_w = widths[0] as usize;
    let series: Vec<Vec<u64>> = routes
        .iter()
        .map(|r| {
            trend
                .routes
                .iter()
                .find(|t| t.route == r.route)
                .map(|t| {
                    let non_2xx: Vec<[u32; 1]> = t
                        .columns
                        .iter()
                        .map(|c| [c.iter().sum::<u32>() - c[StatusClass::S2xx as usize]])
                        .collect();
                    fit_columns(&non_2xx, spark_w.saturating_sub(1) as usize)
                        .iter()
                        .map(|c| c[0])
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let peak = series.iter().flatten().copied().max().unwrap_or(0);
    let rows: Vec<Row> = routes
        .iter()
        .zip(&series)
        .map(|(r, s)| {
            let mut row = route_health_row(r, route_w, theme, g);
            if with_spark && s.iter().any(|&v| v > 0) {
                let bars = spread_bars(s, spark_w.saturating_sub(1) as usize, peak, g);
                legend::RAMP.style_of(theme);
                row.push(Cell::from(Span::styled(bars, theme.bad)));
            } else if with_spark {
                // Blank bars would read as missing data.
                row.push(Cell::from(Span::styled(
                    if r.options_total > 0 {
                        "every preflight 2xx"
                    } else {
                        "no preflights"
                    },
                    theme.muted,
                )));
            }
            Row::new(row)
        })
        .collect();
    let title = if with_spark {
        format!(
            " Routes · last {} · Non-2xx: failing preflights per {}, peak {} ",
            state.range.label(),
            format_duration(
                trend.axis.column_ms
                    * trend
                        .axis
                        .columns
                        .div_ceil(spark_w.saturating_sub(1).max(1) as usize)
                        .max(1) as i64
            ),
            count(peak)
        )
    } else {
        window_title("Routes", state.range)
    };
    selectable_table(
        frame,
        area,
        state,
        title,
        header,
        rows,
        widths.into_iter().map(Constraint::Length).collect(),
        theme,
        g,
    );
}

fn route_health_row(
    r: &RouteHealth,
    route_w: usize,
    theme: &Theme,
    g: &Glyphs,
) -> Vec<Cell<'static>> {
    let success = r.preflight_success();
    let success_style = match success {
        None => theme.muted,
        Some(_) if r.below_objective() => theme.bad,
        Some(_) => theme.good,
    };
    let xo = r.cross_origin_failure_rate();
    let xo_style = match xo {
        Some(x) if x > PAGE_FAILURE_RATE => legend::COLOUR_BAD.style_of(theme),
        Some(x) if x > 0.0 => legend::COLOUR_WARNING.style_of(theme),
        _ => theme.muted,
    };
    let mut route = vec![];
    let mut room = route_w;
    if r.critical {
        route.push(legend::CRITICAL.span(g, theme));
        route.push(Span::raw(" "));
        room = room.saturating_sub(2);
    }
    route.push(Span::styled(short_path(&r.route, room, g), theme.text));
    // The objective miss is marked in text, not only in colour.
    let below = if r.below_objective() {
        legend::BELOW_OBJECTIVE.style_of(theme);
        "!"
    } else {
        ""
    };
    vec![
        Cell::from(Line::from(route)),
        num(r.options_total, theme, false),
        Cell::from(Span::styled(
            format!("{}{below}", percent(success)),
            success_style,
        )),
        Cell::from(Span::styled(percent(xo), xo_style)),
        num(r.status_401, theme, true),
        num(r.status_403, theme, true),
    ]
}
