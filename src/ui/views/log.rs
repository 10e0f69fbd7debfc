//! The live log: the newest kept lines of every source as parsed columns (event time, outcome,
//! source, method, status, latency, route, origin, ACAO as logged), filterable by column or
//! text, scrolled sideways, with the selected line's raw text on Enter.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use crate::analysis::ViewModel;
use crate::analysis::log::{LogLine, Outcome, filter_log};
use crate::model::text::{width, wrap};
use crate::model::time::{format_hms, format_rfc3339};
use crate::sources::event::AcaoSeen;
use crate::store::LineFields;
use crate::store::logline::HttpFields;

use crate::ui::glyphs::Glyphs;
use crate::ui::state::UiState;
use crate::ui::theme::Theme;
use crate::ui::widgets::{fit, panel};

/// The outcome marks of the log's second column, from the legend so the help explains them.
pub use crate::ui::legend::LOG_MARKS;

/// Width of the outcome column.
const MARK_W: usize = 2;
/// Widest a column of names (route, origin) grows before the rest is only seen by scrolling.
const MAX_NAME_W: usize = 60;

/// The mark of an outcome, in ASCII with `--ascii`.
pub fn mark(outcome: Outcome, ascii: bool) -> &'static str {
    LOG_MARKS[outcome.index()].mark(crate::ui::glyphs::glyphs(ascii))
}

fn outcome_style(outcome: Outcome, theme: &Theme) -> Style {
    (LOG_MARKS[outcome.index()].style)(theme)
}

fn http(l: &LogLine) -> Option<&HttpFields> {
    match &l.fields {
        Some(LineFields::Http(h)) => Some(h),
        _ => None,
    }
}

fn latency(h: &HttpFields) -> String {
    h.latency_ms
        .map_or_else(String::new, |ms| format!("{ms}ms"))
}

/// ACAO as logged; `-` when the response had none, blank when the format does not log it.
fn acao(h: &HttpFields) -> String {
    match (h.acao_seen, &h.acao) {
        (AcaoSeen::NotLogged, _) => String::new(),
        (AcaoSeen::Missing, _) => "-".into(),
        (AcaoSeen::Multiple, Some(v)) => {
            let n = v.split(',').filter(|p| !p.trim().is_empty()).count();
            format!("{n}x {v}")
        }
        (_, v) => v.clone().unwrap_or_default(),
    }
}

fn origin(h: &HttpFields) -> String {
    match &h.origin {
        // A derived origin says so, as in the origins view.
        Some(o) if h.origin_derived => format!("~{o}"),
        Some(o) => o.clone(),
        None => String::new(),
    }
}

/// An origin cut to `w` columns loses its `https://` first: the host is what tells origins
/// apart.
fn short_origin(o: &str, w: usize) -> String {
    if width(o) <= w {
        return o.to_string();
    }
    let (mark, rest) = o.split_at(usize::from(o.starts_with('~')));
    match rest.strip_prefix("https://") {
        Some(host) => format!("{mark}{host}"),
        None => o.to_string(),
    }
}

/// Column widths of the scrolled part.
struct Widths {
    method: usize,
    status: usize,
    latency: usize,
    route: usize,
    origin: usize,
}

/// Splits `room` columns between the route and the origin: the route first, up to half, the
/// origin what is left; a route that wants more gets what the origin leaves. ACAO, last, gets
/// the rest (and is read by scrolling when nothing is left).
fn share(room: usize, route: usize, origin: usize) -> (usize, usize) {
    let r = route.min(room / 2);
    let o = origin.min(room - r);
    let r = r + (route - r).min(room - r - o);
    (r, o)
}

fn widths(rows: &[&LogLine], room: usize, fit_room: bool) -> Widths {
    let mut w = Widths {
        method: width("method"),
        status: width("st"),
        latency: width("took"),
        route: width("route"),
        origin: width("origin"),
    };
    for h in rows.iter().filter_map(|l| http(l)) {
        w.method = w.method.max(h.method.as_str().len());
        w.latency = w.latency.max(latency(h).len());
        w.route = w.route.max(width(&h.route)).min(MAX_NAME_W);
        w.origin = w.origin.max(width(&origin(h))).min(MAX_NAME_W);
    }
    w.status = w.status.max(3);
    if fit_room {
        // Unscrolled, the names share what the fixed columns leave, ACAO last.
        let fixed = w.method + w.status + w.latency + 5;
        let (r, o) = share(room.saturating_sub(fixed), w.route, w.origin);
        w.route = r.max(4);
        w.origin = o.max(4);
    }
    w
}

fn pad(s: &str, w: usize, g: &Glyphs) -> String {
    let cut = fit(s, w, g);
    let n = width(&cut);
    format!("{cut}{}", " ".repeat(w.saturating_sub(n)))
}

/// The scrolled part of a row.
fn columns(l: &LogLine, w: &Widths, theme: &Theme, g: &Glyphs) -> Line<'static> {
    let style = outcome_style(l.outcome, theme);
    match &l.fields {
        Some(LineFields::Http(h)) => {
            let acao_style = if h.acao_seen == AcaoSeen::Multiple {
                theme.warning
            } else {
                theme.text
            };
            Line::from(vec![
                Span::styled(pad(h.method.as_str(), w.method, g), theme.text),
                Span::raw(" "),
                Span::styled(format!("{:>3}", h.status), style),
                Span::raw(" "),
                Span::styled(format!("{:>1$}", latency(h), w.latency), theme.muted),
                Span::raw(" "),
                Span::styled(pad(&h.route, w.route, g), theme.text),
                Span::raw(" "),
                Span::styled(
                    pad(&short_origin(&origin(h), w.origin), w.origin, g),
                    if h.origin_derived {
                        theme.derived
                    } else {
                        theme.text
                    },
                ),
                Span::raw(" "),
                Span::styled(acao(h), acao_style),
            ])
        }
        // Auth events are read as text: the message is what matters; the status, when the
        // log gives one, leads it.
        Some(LineFields::Auth(a)) => {
            let mut spans = Vec::new();
            if let Some(s) = a.status {
                spans.push(Span::styled(format!("{s} "), style));
            }
            spans.push(Span::styled(l.text.clone(), theme.text));
            Line::from(spans)
        }
        None => Line::styled(l.text.clone(), theme.text),
    }
}

/// The fixed part of a row: event time, outcome mark, source.
fn fixed(l: &LogLine, label_w: usize, theme: &Theme, g: &Glyphs, ascii: bool) -> Line<'static> {
    let time = l.time().map_or_else(|| " ".repeat(8), format_hms);
    Line::from(vec![
        Span::styled(format!("{time} "), theme.axis),
        Span::styled(
            format!("{:<MARK_W$}", mark(l.outcome, ascii)),
            outcome_style(l.outcome, theme),
        ),
        Span::raw(" "),
        Span::styled(
            format!("{:<label_w$}", fit(&l.source, label_w, g)),
            theme.log_source,
        ),
        Span::styled(format!(" {} ", g.sep), theme.border),
    ])
}

pub fn log(
    frame: &mut Frame,
    area: Rect,
    state: &mut UiState,
    model: &ViewModel,
    theme: &Theme,
    g: &Glyphs,
) {
    if let Some(fleet) = &model.fleet
        && model.log.is_empty()
    {
        let lines: Vec<Line> = super::fleet::agent_only("The raw log lines stay", fleet)
            .into_iter()
            .map(|l| Line::styled(l, theme.text))
            .collect();
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(panel(" Live log · fleet ", theme, g)),
            area,
        );
        return;
    }
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
    let [body, prompt] = Layout::vertical([Constraint::Min(4), Constraint::Length(1)]).areas(area);
    // Borders and the column header.
    let inner_h = body.height.saturating_sub(3) as usize;
    let max_offset = matched.len().saturating_sub(1);
    let offset = state.clamp_selection(max_offset + 1);
    let end = matched.len() - offset.min(matched.len());
    let start = end.saturating_sub(inner_h);
    let shown: Vec<&LogLine> = matched[start..end].iter().map(|&i| &model.log[i]).collect();
    if !state.detail {
        state.log_selected = shown.last().map(|l| l.seq);
    }
    let label_w = model
        .log
        .iter()
        .map(|l| width(&l.source))
        .max()
        .unwrap_or(0)
        .clamp(width("source"), 16);

    let status = if paused {
        format!("PAUSED, {newer} newer")
    } else {
        "FOLLOWING".to_string()
    };
    let block = panel(
        format!(
            " Live log: latest {} of {} lines, {status} ",
            matched.len(),
            model.log_ring_len
        ),
        theme,
        g,
    );
    let inner = block.inner(body);
    frame.render_widget(block, body);
    let fixed_w = 8 + 1 + MARK_W + 1 + label_w + 3;
    let [left, right] =
        Layout::horizontal([Constraint::Length(fixed_w as u16), Constraint::Min(1)]).areas(inner);
    let room = right.width as usize;
    let w = widths(&shown, room, state.log_hscroll == 0);

    crate::ui::legend::note_headers(&[
        "time", "source", "method", "st", "took", "route", "origin", "acao",
    ]);
    let header_fixed = Line::from(vec![
        Span::styled(
            format!("{:<8} {:<MARK_W$} {:<label_w$}", "time", "", "source"),
            theme.table_header,
        ),
        Span::styled(format!(" {} ", g.sep), theme.border),
    ]);
    let header_cols = Line::styled(
        format!(
            "{:<mw$} {:>3} {:>lw$} {:<rw$} {:<ow$} acao",
            "method",
            "st",
            "took",
            "route",
            "origin",
            mw = w.method,
            lw = w.latency,
            rw = w.route,
            ow = w.origin,
        ),
        theme.table_header,
    );
    let mut left_lines = vec![header_fixed];
    let mut right_lines = vec![header_cols];
    let last = shown.len().saturating_sub(1);
    for (i, l) in shown.iter().enumerate() {
        let (mut a, mut b) = (
            fixed(l, label_w, theme, g, state.ascii),
            columns(l, &w, theme, g),
        );
        if i == last {
            a = a.patch_style(theme.row_selected);
            b = b.patch_style(theme.row_selected);
        }
        left_lines.push(a);
        right_lines.push(b);
    }
    if shown.is_empty() {
        right_lines.push(Line::styled(
            if state.log_filter.is_empty() {
                "no lines yet"
            } else {
                "no line matches the filter"
            },
            theme.muted,
        ));
    }
    // Right stops at the widest row, so the last columns stay in view.
    let widest = right_lines.iter().map(Line::width).max().unwrap_or(0);
    let max_scroll = widest.saturating_sub(room) as u16;
    if state.log_hscroll > max_scroll {
        state.log_hscroll = max_scroll;
    }
    frame.render_widget(Paragraph::new(left_lines), left);
    frame.render_widget(
        Paragraph::new(right_lines).scroll((0, state.log_hscroll)),
        right,
    );

    if state.detail {
        let line = state
            .log_selected
            .and_then(|seq| model.log.iter().find(|l| l.seq == seq));
        detail(frame, body, state, line, theme, g);
    }

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
        Line::styled(
            "/ filter: text, status:4xx method: route: origin: acao: source: (all must match)",
            theme.muted,
        )
    };
    frame.render_widget(prompt_line, prompt);
}

/// The selected line, raw, over the table.
fn detail(
    frame: &mut Frame,
    area: Rect,
    state: &mut UiState,
    line: Option<&LogLine>,
    theme: &Theme,
    g: &Glyphs,
) {
    let w = area.width.saturating_sub(4).min(140);
    let text_w = w.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = Vec::new();
    let field = |name: &str, value: String, style: Style| -> Line<'static> {
        Line::from(vec![
            Span::styled(format!("{name:<8} "), theme.muted),
            Span::styled(value, style),
        ])
    };
    match line {
        None => lines.push(Line::styled(
            "the line is no longer kept (the ring holds the newest lines)",
            theme.muted,
        )),
        Some(l) => {
            let m = mark(l.outcome, state.ascii);
            let meaning = LOG_MARKS[l.outcome.index()].meaning;
            lines.push(field(
                "outcome",
                format!("{m} {meaning}"),
                outcome_style(l.outcome, theme),
            ));
            lines.push(field("source", l.source.clone(), theme.log_source));
            lines.push(field("read", format_rfc3339(l.wall), theme.text));
            if let Some(t) = l.time() {
                lines.push(field("time", format_rfc3339(t), theme.text));
            }
            match &l.fields {
                Some(LineFields::Http(h)) => {
                    lines.push(field(
                        "request",
                        format!("{} {} -> {}", h.method, h.route, h.status),
                        theme.text,
                    ));
                    if let Some(ms) = h.latency_ms {
                        lines.push(field("took", format!("{ms} ms"), theme.text));
                    }
                    if let Some(o) = &h.origin {
                        let from = if h.origin_derived {
                            " (from the Referer)"
                        } else {
                            ""
                        };
                        lines.push(field("origin", format!("{o}{from}"), theme.text));
                    }
                    let acao_text = match h.acao_seen {
                        AcaoSeen::NotLogged => "not in this log format".to_string(),
                        AcaoSeen::Missing => "absent from the response".to_string(),
                        AcaoSeen::Single => h.acao.clone().unwrap_or_default(),
                        AcaoSeen::Multiple => format!(
                            "{} (several values: browsers refuse it)",
                            h.acao.clone().unwrap_or_default()
                        ),
                    };
                    lines.push(field("acao", acao_text, theme.text));
                }
                Some(LineFields::Auth(a)) => {
                    let class = a.class.map_or("not a failure", |c| c.as_str());
                    lines.push(field("auth", class.to_string(), theme.text));
                }
                None => {}
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled("raw line (redacted):", theme.muted));
            lines.extend(
                wrap(&l.text, text_w.max(1))
                    .into_iter()
                    .map(|s| Line::styled(s, theme.text)),
            );
        }
    }
    let h = (lines.len() as u16 + 2)
        .min(area.height.saturating_sub(2))
        .max(3);
    let rect = Rect::new(
        area.x + (area.width.saturating_sub(w)) / 2,
        area.y + (area.height.saturating_sub(h)) / 2,
        w,
        h,
    );
    let max_scroll = (lines.len() as u16).saturating_sub(h.saturating_sub(2));
    state.detail_scroll = state.detail_scroll.min(max_scroll);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((state.detail_scroll, 0))
            .block(panel(" Raw line: Esc closes, j/k scroll ", theme, g)),
        rect,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_has_a_mark_of_the_column_width() {
        assert_eq!(LOG_MARKS.len(), Outcome::ALL.len());
        for o in Outcome::ALL {
            for ascii in [false, true] {
                assert!(width(mark(o, ascii)) <= MARK_W, "{o:?}");
            }
            assert!(mark(o, true).is_ascii(), "{o:?}");
        }
        let mut seen: Vec<&str> = LOG_MARKS.iter().map(|m| m.ascii).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), LOG_MARKS.len(), "ASCII marks are distinct");
    }

    #[test]
    fn the_route_is_served_first_then_the_origin() {
        assert_eq!(share(36, 16, 24), (16, 20));
        assert_eq!(share(36, 40, 10), (26, 10));
        assert_eq!(share(36, 40, 40), (18, 18));
        assert_eq!(share(100, 16, 24), (16, 24));
        assert_eq!(share(0, 16, 24), (0, 0));
    }

    #[test]
    fn origins_drop_their_scheme_before_being_cut() {
        assert_eq!(
            short_origin("https://app.contoso.com", 30),
            "https://app.contoso.com"
        );
        assert_eq!(
            short_origin("https://app.contoso.com", 20),
            "app.contoso.com"
        );
        assert_eq!(
            short_origin("~https://app.contoso.com", 20),
            "~app.contoso.com"
        );
        assert_eq!(
            short_origin("http://app.contoso.com", 20),
            "http://app.contoso.com"
        );
    }
}
