//! Screenshots of every view in every built-in theme, drawn from the replayed demo incident
//! ([`super::replay`]). Same code, same images: nothing depends on the clock or on chance, so
//! the SVGs in the repository can be regenerated and diffed.

use std::path::{Path, PathBuf};

use anyhow::Context;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::analysis::{TimeRange, ViewModel, snapshot};

use super::Script;
use super::replay::{REPLAY_SEED, REPLAY_SPAN, REPLAY_START, demo_store};
use super::svg::render_svg;
use crate::ui::draw::draw;
use crate::ui::state::{UiState, View};
use crate::ui::theme::{BUILTIN_NAMES, Theme};

/// One picture: a file stem and how to put the UI into that state.
struct Shot {
    name: &'static str,
    setup: fn(&mut UiState),
}

const SHOTS: [Shot; 10] = [
    Shot {
        name: "overview",
        setup: |_| {},
    },
    Shot {
        name: "trend",
        setup: |s| {
            s.switch_to(View::Trend);
            s.range = TimeRange::H1;
        },
    },
    Shot {
        name: "origins",
        setup: |s| s.switch_to(View::Origins),
    },
    Shot {
        name: "auth",
        setup: |s| {
            s.switch_to(View::Auth);
            s.range = TimeRange::H6;
        },
    },
    Shot {
        name: "probes",
        setup: |s| s.switch_to(View::Probes),
    },
    Shot {
        name: "probe-detail",
        setup: |s| {
            s.switch_to(View::Probes);
            s.detail = true;
        },
    },
    Shot {
        name: "triage",
        setup: |s| s.switch_to(View::Triage),
    },
    Shot {
        name: "triage-detail",
        setup: |s| {
            s.switch_to(View::Triage);
            s.detail = true;
        },
    },
    Shot {
        name: "log",
        setup: |s| s.switch_to(View::Log),
    },
    Shot {
        name: "help",
        setup: |s| s.help = true,
    },
];

/// Draws one state of the UI at `width`×`height` and returns the SVG.
pub fn render_view(
    model: &ViewModel,
    theme: &Theme,
    width: u16,
    height: u16,
    setup: impl FnOnce(&mut UiState),
) -> anyhow::Result<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height))?;
    let mut state = UiState::new("DEMO", false);
    // The header says where the replayed script stands, as `corstop demo` does.
    state.header_note = Some(Script::new(REPLAY_START).narrate(model.now).to_string());
    setup(&mut state);
    // A first draw records the table rows, so a selection can land on a real row.
    terminal.draw(|f| draw(f, &mut state, model, theme))?;
    terminal.draw(|f| draw(f, &mut state, model, theme))?;
    Ok(render_svg(terminal.backend().buffer(), theme))
}

/// The view model the screenshots are drawn from: the default replay, with the wall clock
/// pinned to the store's own time so no figure depends on when this runs.
pub fn demo_model() -> anyhow::Result<ViewModel> {
    let store = demo_store(REPLAY_SPAN, REPLAY_SEED).context("replaying the demo")?;
    Ok(snapshot(&store, store.now()))
}

/// Writes `<view>-<theme>.svg` for every view and built-in theme at 120×36, plus
/// `overview-<theme>-80x24.svg`, into `out_dir` (created when missing). Returns the paths
/// written, in a fixed order.
pub fn generate(out_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let model = demo_model()?;
    let mut written = Vec::new();
    for theme_name in BUILTIN_NAMES {
        let theme = Theme::builtin(theme_name)?;
        let mut pictures: Vec<(String, String)> = Vec::new();
        for shot in &SHOTS {
            let svg = render_view(&model, &theme, 120, 36, shot.setup)?;
            pictures.push((format!("{}-{theme_name}.svg", shot.name), svg));
        }
        let small = render_view(&model, &theme, 80, 24, |_| {})?;
        pictures.push((format!("overview-{theme_name}-80x24.svg"), small));
        for (file, svg) in pictures {
            let path = out_dir.join(file);
            std::fs::write(&path, svg).with_context(|| format!("writing {}", path.display()))?;
            written.push(path);
        }
    }
    Ok(written)
}
