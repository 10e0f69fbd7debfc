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
        if theme_name == "default" {
            let fleet = fleet_model();
            for (name, view) in [
                ("fleet-overview", View::Overview),
                ("fleet-probes", View::Probes),
            ] {
                let svg = render_fleet(&fleet, &theme, view)?;
                pictures.push((format!("{name}-{theme_name}.svg"), svg));
            }
        }
        for (file, svg) in pictures {
            let path = out_dir.join(file);
            std::fs::write(&path, svg).with_context(|| format!("writing {}", path.display()))?;
            written.push(path);
        }
    }
    Ok(written)
}

/// A fleet as `corstop --prometheus` would read it: four agents in three regions, one paging
/// with the H2 pattern (preflights refused by the authentication), one down, a probe refused on
/// one instance of the two running it.
pub fn fleet_model() -> ViewModel {
    use crate::model::time::MINUTE;
    use crate::sources::event::{AuthClass, FleetData, Instance, ProbeRow, RequestSeries};
    use crate::store::{Store, StoreConfig, TimeMode};

    let at = REPLAY_START + REPLAY_SPAN;
    let at = at - at.rem_euclid(MINUTE);
    let app = "https://app.contoso.com";
    let portal = "https://contoso-portal.azurewebsites.net";
    let series = |route: &str, origin: &str, preflight, status, per_step: f64| RequestSeries {
        route: route.into(),
        origin: Some(origin.into()),
        preflight,
        status,
        points: (0..30).map(|i| (at - i * MINUTE, per_step)).collect(),
    };
    let instance =
        |name: &str, region: &str, up, status, top: Option<(&str, f64)>, rate, fail| Instance {
            instance: name.into(),
            region: Some(region.into()),
            up,
            status,
            top: top.map(|(h, s)| (h.into(), s)),
            rate,
            failure_ratio: fail,
            probes_failing: u32::from(status == Some(2)),
        };
    let mut store = Store::new(StoreConfig::default(), TimeMode::Live).with_now(at);
    let source = store.register_source("prometheus http://prometheus:9090");
    store.apply_fleet(FleetData {
        source,
        server: "http://prometheus:9090".into(),
        at,
        step_ms: MINUTE,
        requests: vec![
            series("/api/orders/{id}", app, true, 401, 9.0),
            series("/api/orders/{id}", app, true, 204, 31.0),
            series("/api/orders/{id}", app, false, 200, 30.0),
            series("/api/orders", portal, true, 204, 12.0),
            series("/api/orders", portal, false, 200, 12.0),
            series("/api/profile", app, false, 401, 2.0),
            series("/api/profile", app, false, 200, 18.0),
        ],
        auth: vec![(AuthClass::Expired, vec![(at - 3 * MINUTE, 4.0)])],
        instances: vec![
            instance(
                "10.0.0.5:9464",
                "eu-west",
                true,
                Some(2),
                Some(("H2", 81.0)),
                2.1,
                0.21,
            ),
            instance("10.0.0.6:9464", "eu-west", true, Some(0), None, 1.9, 0.0),
            instance("10.0.1.7:9464", "us-east", true, Some(0), None, 2.4, 0.01),
            instance("10.0.2.9:9464", "ap-south", false, None, None, 0.0, 0.0),
        ],
        instances_omitted: 0,
        instance: None,
        probes: vec![
            ProbeRow {
                endpoint: "https://api.contoso.com/api/orders/{id}".into(),
                origin: app.into(),
                shape: "put-json-auth".into(),
                failing: 1,
                instances: 3,
                reasons: vec![("PreflightInvalidStatus".into(), 1)],
            },
            ProbeRow {
                endpoint: "https://api.contoso.com/api/orders".into(),
                origin: portal.into(),
                shape: "get-simple".into(),
                failing: 0,
                instances: 3,
                reasons: Vec::new(),
            },
        ],
    });
    snapshot(&store, at)
}

fn render_fleet(model: &ViewModel, theme: &Theme, view: View) -> anyhow::Result<String> {
    let mut terminal = Terminal::new(TestBackend::new(120, 36))?;
    let mut state = UiState::new("FLEET", false);
    state.switch_to(view);
    terminal.draw(|f| draw(f, &mut state, model, theme))?;
    terminal.draw(|f| draw(f, &mut state, model, theme))?;
    Ok(render_svg(terminal.backend().buffer(), theme))
}
