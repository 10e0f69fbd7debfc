//! Probes: the latest verdict per endpoint × origin × shape, and the detail pane with raw headers.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Wrap};

use crate::analysis::{ProbeRow, ViewModel};
use crate::sources::event::ProbeResult;

use crate::ui::glyphs::Glyphs;
use crate::ui::legend;
use crate::ui::state::UiState;
use crate::ui::theme::Theme;
use crate::ui::widgets::{
    Col, column_widths, fit, longest, panel, selectable_table, short_middle, short_origins,
    short_path,
};

fn verdict_cell(p: &ProbeRow, g: &Glyphs, theme: &Theme) -> Cell<'static> {
    if p.allowed {
        Cell::from(legend::ALLOWED.span(g, theme))
    } else if p.transport == Some(crate::sources::event::TransportKind::Local) {
        // corstop's own limit: neither verdict is true.
        Cell::from(legend::UNKNOWN.span(g, theme))
    } else {
        Cell::from(legend::BLOCKED.span(g, theme))
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
    if let Some(fleet) = &model.fleet
        && model.probes.is_empty()
    {
        super::fleet::probes_panel(frame, area, fleet, theme, g);
        return;
    }
    let mixed_modes = model
        .probes
        .windows(2)
        .any(|w| w[0].credentials != w[1].credentials);
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
                Paragraph::new(summary).block(panel(" Probe · latest ", theme, g)),
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
                        " Evidence, latest (as sent / as received) — Esc closes ",
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
    let full_endpoint = |p: &ProbeRow| format!("{}{}", p.host.as_deref().unwrap_or(""), p.endpoint);
    let endpoints: Vec<String> = model.probes.iter().map(full_endpoint).collect();
    let endpoint_w = longest("Endpoint", endpoints.iter().map(String::as_str)) + 2;
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
            // The instance gives way before names do.
            Col::Text {
                longest: longest(
                    "Instance",
                    model.probes.iter().filter_map(|p| p.instance.as_deref()),
                )
                .min(20),
                min: 8,
            },
        ]);
    }
    let widths = column_widths(area.width, &cols);
    let endpoint_w = widths[1] as usize;
    // The path first, the host with what is left (kept distinct from the other hosts).
    let path_w = model
        .probes
        .iter()
        .map(|p| crate::model::text::width(&p.endpoint) + 2 * p.critical as usize)
        .max()
        .unwrap_or(0);
    let host_w = endpoint_w.saturating_sub(path_w).max(8);
    let hosts: Vec<&str> = model
        .probes
        .iter()
        .map(|p| p.host.as_deref().unwrap_or(""))
        .collect();
    let hosts = crate::model::text::fit_hosts(&hosts, host_w, legend::SHORTENED.mark(g));
    let origins = short_origins(
        model.probes.iter().map(|p| p.origin.as_str()),
        widths[2] as usize,
        g,
    );
    let code_w = widths[4] as usize;
    let rows: Vec<Row> = model
        .probes
        .iter()
        .zip(&hosts)
        .zip(&origins)
        .map(|((p, host), origin)| {
            let mut endpoint = vec![];
            if p.critical {
                endpoint.push(legend::CRITICAL.span(g, theme));
                endpoint.push(Span::raw(" "));
            }
            let room = endpoint_w
                .saturating_sub(2 * p.critical as usize)
                .saturating_sub(crate::model::text::width(host));
            if !host.is_empty() {
                endpoint.push(Span::styled(host.clone(), theme.muted));
            }
            endpoint.push(Span::raw(short_path(&p.endpoint, room, g)));
            legend::note_code(&p.code);
            let mut cells = vec![
                verdict_cell(p, g, theme),
                Cell::from(Line::from(endpoint)),
                Cell::from(origin.clone()),
                Cell::from(shape_label(p, mixed_modes, g)),
                Cell::from(Span::styled(
                    fit(&p.code, code_w, g),
                    if p.doubled_acao {
                        theme.warning
                    } else {
                        theme.text
                    },
                )),
                Cell::from(p.hidden_status.map_or("-".into(), |s| s.to_string())),
            ];
            if wide {
                cells.push(Cell::from(
                    p.latency_ms.map_or("-".into(), |l| format!("{l}ms")),
                ));
                cells.push(Cell::from(short_middle(
                    p.instance.as_deref().unwrap_or("-"),
                    widths[7] as usize,
                    g,
                )));
            }
            Row::new(cells)
        })
        .collect();
    selectable_table(
        frame,
        area,
        state,
        format!(
            " Probes · latest verdicts, credentials {}{} ",
            credentials_modes(&model.probes),
            if wide {
                ""
            } else {
                " · wider: latency, instance"
            }
        ),
        header,
        rows,
        widths.into_iter().map(Constraint::Length).collect(),
        theme,
        g,
    );
}

/// The shape's name, marked when the probe sent cookies among probes that did not, since a verdict on an `include`
/// request says nothing about a bearer-token page and the other way round.
fn shape_label(p: &crate::analysis::ProbeRow, mixed_modes: bool, g: &Glyphs) -> String {
    if mixed_modes
        && p.credentials == crate::cors::Credentials::Include
        && !p.shape.ends_with("+cred")
    {
        format!("{} {}", p.shape, legend::INCLUDE.mark(g))
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
                    Span::raw("   "),
                    legend::REPEATED.span(g, theme),
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
