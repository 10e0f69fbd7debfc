//! The overview: status, routes with their health, the failing origins and the probe summary.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use crate::analysis::{PAGE_FAILURE_RATE, RouteHealth, ViewModel};
use crate::model::time::format_duration;

use crate::ui::glyphs::Glyphs;
use crate::ui::state::UiState;
use crate::ui::theme::Theme;
use crate::ui::widgets::{Col, count, fit_widths, longest, num, panel, percent, selectable_table};

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
    let src_rows = (o.sources.len().max(1) as u16).min(if compact { 2 } else { 8 });
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
        let title = super::triage::entry_title(
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
