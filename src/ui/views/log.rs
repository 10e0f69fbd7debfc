//! The live log: the newest raw lines of every source, filterable.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::analysis::{ViewModel, filter_log};
use crate::model::time::format_hms;

use crate::ui::glyphs::Glyphs;
use crate::ui::state::UiState;
use crate::ui::theme::Theme;
use crate::ui::widgets::{fit, panel};

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
        .map(|l| crate::model::text::width(&l.source))
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
