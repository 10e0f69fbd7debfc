//! Auth: 401/403 over time by failure class, token-expiry bursts and the clients' own periods.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row};

use crate::analysis::ViewModel;
use crate::analysis::series::fit_columns;
use crate::analysis::waves::AuthBursts;
use crate::model::time::{format_hm, format_hms};
use crate::sources::event::AuthClass;

use super::trend::{axis_line, spark_line};
use crate::ui::glyphs::Glyphs;
use crate::ui::legend;
use crate::ui::state::UiState;
use crate::ui::theme::Theme;
use crate::ui::widgets::{count, fit, panel, selectable_table, short_middle, window_title};

pub fn auth(
    frame: &mut Frame,
    area: Rect,
    state: &mut UiState,
    model: &ViewModel,
    theme: &Theme,
    g: &Glyphs,
) {
    let a = model.auth_timeline(state.range);
    let chart_h = chart_height(model, state.range);
    let [top, bottom] =
        Layout::vertical([Constraint::Length(chart_h), Constraint::Min(5)]).areas(area);
    let [chart, methods] =
        Layout::horizontal([Constraint::Min(40), Constraint::Length(26)]).areas(top);

    auth_chart(frame, chart, state, model, theme, g);

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
        Paragraph::new(mlines).block(panel(window_title("By method", state.range), theme, g)),
        methods,
    );

    // Border, highlight mark, the three first columns and the spaces between.
    let message_w = (bottom.width as usize).saturating_sub(2 + 2 + 8 + 20 + 16 + 3);
    let rows: Vec<Row> = model
        .auth_samples_in(state.range)
        .iter()
        .map(|s| {
            Row::new(vec![
                Cell::from(Span::styled(format_hms(s.time), theme.axis)),
                Cell::from(Span::styled(
                    s.class.as_str(),
                    legend::SERIES_AUTH.style_of(theme),
                )),
                Cell::from(fit(&s.operation, 16, g)),
                Cell::from(fit(&s.message, message_w, g)),
            ])
        })
        .collect();
    state.row_routes.clear();
    selectable_table(
        frame,
        bottom,
        state,
        format!(
            " Latest auth failures · last {} (redacted) ",
            state.range.label()
        ),
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

/// The auth classes charted over `range`: those seen, and `expired` always.
fn charted_classes(model: &ViewModel, range: crate::analysis::TimeRange) -> Vec<AuthClass> {
    let a = model.auth_timeline(range);
    AuthClass::ALL
        .iter()
        .copied()
        .filter(|c| a.class_totals[*c as usize] > 0 || *c == AuthClass::Expired)
        .collect()
}

/// Rows the auth chart takes over `range`: 401, 403, up to six classes, the burst marks, the
/// axis, the burst summary, the clients line and the border.
pub(super) fn chart_height(model: &ViewModel, range: crate::analysis::TimeRange) -> u16 {
    (2 + charted_classes(model, range).len().min(6) + 1 + 1 + 1 + 1 + 2) as u16
}

/// 401/403 beside the auth log's failure classes over the selected range, with the bursts
/// marked under them and what their periods say.
pub(super) fn auth_chart(
    frame: &mut Frame,
    chart: Rect,
    state: &UiState,
    model: &ViewModel,
    theme: &Theme,
    g: &Glyphs,
) {
    let a = model.auth_timeline(state.range);
    let classes = charted_classes(model, state.range);
    let waves = model.auth_bursts(state.range);
    let clients = model.auth_clients(state.range);
    let inner_w = chart.width.saturating_sub(2) as usize;
    // Class names whole when the chart is wide; shortened in their middle otherwise.
    let label_w = if inner_w >= 100 {
        classes
            .iter()
            .map(|c| c.as_str().len())
            .max()
            .unwrap_or(8)
            .max(8)
    } else {
        8
    };
    let bars_w = inner_w.saturating_sub(label_w + 1 + 7).max(1);
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
            label_w,
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
            label_w,
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
        let label = short_middle(c.as_str(), label_w, g);
        lines.push(spark_line(
            &label,
            label_w,
            bars_w,
            &series,
            max,
            a.class_totals[*c as usize],
            theme.series_auth,
            theme,
            g,
        ));
    }
    lines.push(burst_marks(
        waves,
        a.columns.len(),
        label_w,
        bars_w,
        theme,
        g,
    ));
    let mut axis = axis_line(a.axis.start, a.axis.end, bars_w, theme);
    axis.spans.insert(0, Span::raw(" ".repeat(label_w - 8)));
    lines.push(axis);
    lines.push(burst_summary(waves, inner_w, theme, g));
    lines.push(client_summary(clients, inner_w, theme, g));
    frame.render_widget(
        Paragraph::new(lines).block(panel(
            format!(
                " 401/403 beside auth failures · last {} ",
                state.range.label()
            ),
            theme,
            g,
        )),
        chart,
    );
}

/// The burst row under the auth chart: a mark under every column inside a burst, laid out
/// exactly as the sparklines above it (same column folding, same spreading).
fn burst_marks(
    waves: &AuthBursts,
    columns: usize,
    label_w: usize,
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
        let ch = if h {
            legend::BURST.mark(g).chars().next().unwrap_or(g.burst)
        } else {
            ' '
        };
        marks.extend(std::iter::repeat_n(ch, cells));
    }
    let label_style = if waves.bursts.is_empty() {
        theme.muted
    } else {
        theme.warning.add_modifier(Modifier::BOLD)
    };
    Line::from(vec![
        Span::styled(format!("{:>label_w$} ", "bursts"), label_style),
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
