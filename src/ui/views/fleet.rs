//! The fleet view's own panels: the agents Prometheus scrapes, worst first, and where to read
//! what only an agent holds.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use crate::analysis::fleet::{FleetModel, InstanceSort, sort_instances};
use crate::analysis::status::Status;
use crate::ui::glyphs::Glyphs;
use crate::ui::legend;
use crate::ui::theme::Theme;
use crate::ui::widgets::{fit, panel, percent, short_endpoint, short_origins};

/// The per-instance table, in place of the overview's sources in fleet mode.
pub fn instances_panel(
    frame: &mut Frame,
    area: Rect,
    fleet: &FleetModel,
    sort: InstanceSort,
    problems: &[String],
    theme: &Theme,
    g: &Glyphs,
) {
    let title = format!(" Instances · {} · by {} ", fleet.summary, sort.label());
    let mut instances = fleet.instances.clone();
    sort_instances(&mut instances, sort);
    let block = panel(title, theme, g);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let problem_rows = problems.len().min(3) as u16;
    let [table_area, problem_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(problem_rows)]).areas(inner);
    let headers = vec![
        "Instance", "Region", "Agent", "Top", "req/s", "fail%", "blocked",
    ];
    legend::note_headers(&headers);
    let header = Row::new(headers).style(theme.table_header);
    let mut rows: Vec<Row> = instances
        .iter()
        .map(|i| {
            let (word, style) = match (i.up, i.status) {
                (false, _) => ("down", theme.warning),
                (true, Some(Status::Page)) => ("PAGE", theme.alert_page),
                (true, Some(Status::Degraded)) => ("DEGRADED", theme.status_degraded),
                (true, Some(Status::Ok)) => ("OK", theme.status_ok),
                (true, None) => ("?", theme.muted),
            };
            Row::new(vec![
                Cell::from(i.instance.clone()),
                Cell::from(i.region.clone().unwrap_or_else(|| "-".into())),
                Cell::from(Span::styled(word, style)),
                Cell::from(i.top.clone().unwrap_or_else(|| "-".into())),
                Cell::from(format!("{:.1}", i.rate)),
                Cell::from(if i.rate > 0.0 {
                    percent(Some(i.failure_ratio))
                } else {
                    "-".into()
                }),
                Cell::from(i.probes_failing.to_string()),
            ])
        })
        .collect();
    if fleet.instances.is_empty() {
        rows.push(Row::new(vec![Cell::from(Span::styled(
            "no agents answered yet",
            theme.muted,
        ))]));
    }
    if fleet.instances_omitted > 0 {
        rows.push(Row::new(vec![Cell::from(Span::styled(
            format!("{} more not listed", fleet.instances_omitted),
            theme.muted,
        ))]));
    }
    let name_w = fleet
        .instances
        .iter()
        .map(|i| crate::model::text::width(&i.instance))
        .max()
        .unwrap_or(8)
        .clamp(8, 40) as u16;
    let widths = [
        Constraint::Length(name_w),
        Constraint::Length(10),
        Constraint::Length(9),
        Constraint::Length(8),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(7),
    ];
    frame.render_widget(Table::new(rows, widths).header(header), table_area);
    let lines: Vec<Line> = problems
        .iter()
        .map(|p| Line::styled(fit(p, inner.width as usize * 2, g), theme.warning))
        .collect();
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }),
        problem_area,
    );
}

/// What a view that needs an agent's own data says in fleet mode: where to read it. `what`
/// is the start of the sentence, verb included ("The raw log lines stay").
pub fn agent_only(what: &str, fleet: &FleetModel) -> Vec<String> {
    let mut out = vec![
        format!("{what} on each agent: Prometheus holds only counts."),
        "Read them on the agent's host (run corstop there on the same logs), or its metrics with"
            .into(),
    ];
    let addresses = fleet.addresses(6);
    if addresses.is_empty() {
        out.push("  curl http://<instance>/metrics".into());
    }
    for a in addresses {
        out.push(format!("  curl http://{a}/metrics"));
    }
    if fleet.instances.len() > 6 {
        out.push(format!(
            "  ... and {} more instances",
            fleet.instances.len() - 6
        ));
    }
    out
}

/// The probes of every agent, one row per endpoint × origin × shape, failing first, with how
/// many instances it fails on; the evidence (headers) stays on the agents.
pub fn probes_panel(frame: &mut Frame, area: Rect, fleet: &FleetModel, theme: &Theme, g: &Glyphs) {
    let note = agent_only("Probe evidence (requests and headers) stays", fleet);
    let [table_area, note_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(note.len() as u16 + 2),
    ])
    .areas(area);
    let headers = vec!["Endpoint", "Origin", "Shape", "Instances", "CORS error"];
    legend::note_headers(&headers);
    let longest = |texts: &mut dyn Iterator<Item = usize>, min: usize, max: usize| {
        texts.max().unwrap_or(0).clamp(min, max) as u16
    };
    let shape_w = longest(
        &mut fleet
            .probes
            .iter()
            .map(|p| crate::model::text::width(&p.shape)),
        5,
        24,
    );
    let reason_w = longest(
        &mut fleet
            .probes
            .iter()
            .filter_map(|p| p.reason.as_ref())
            .map(|(r, _)| crate::model::text::width(r) + 5),
        10,
        44,
    );
    // Endpoints and origins get what the other columns leave, two thirds and one third, and
    // are shortened in the middle so two hosts or paths never look the same.
    let rest = (table_area.width as usize)
        .saturating_sub(2 + 4 + usize::from(shape_w) + 26 + usize::from(reason_w));
    let endpoint_w = (rest * 2 / 3).max(12);
    let origin_w = rest.saturating_sub(endpoint_w).max(10);
    let origins = short_origins(fleet.probes.iter().map(|p| p.origin.as_str()), origin_w, g);
    let widths = [
        Constraint::Length(endpoint_w as u16),
        Constraint::Length(origin_w as u16),
        Constraint::Length(shape_w),
        Constraint::Length(26),
        Constraint::Length(reason_w),
    ];
    let mut rows: Vec<Row> = fleet
        .probes
        .iter()
        .zip(&origins)
        .map(|(p, origin)| {
            let style = if p.failing > 0 {
                theme.warning
            } else {
                theme.text
            };
            Row::new(vec![
                Cell::from(short_endpoint(&p.endpoint, endpoint_w, g)),
                Cell::from(origin.clone()),
                Cell::from(p.shape.clone()),
                Cell::from(Span::styled(p.spread(), style)),
                Cell::from(
                    p.reason
                        .as_ref()
                        .map_or("-".into(), |(r, n)| format!("{r} ({n})")),
                ),
            ])
        })
        .collect();
    if rows.is_empty() {
        rows.push(Row::new(vec![Cell::from(Span::styled(
            "no agent runs probes (give the agents --probe URL --origin ORIGIN)",
            theme.muted,
        ))]));
    }

    frame.render_widget(
        Table::new(rows, widths)
            .header(Row::new(headers).style(theme.table_header))
            .block(panel(" Probes · fleet, latest run per instance ", theme, g)),
        table_area,
    );
    let lines: Vec<Line> = note
        .into_iter()
        .map(|l| Line::styled(l, theme.muted))
        .collect();
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(panel(" Evidence ", theme, g)),
        note_area,
    );
}
