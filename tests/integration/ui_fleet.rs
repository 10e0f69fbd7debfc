//! The fleet views drawn from a store filled as the fleet source fills it: the header names the
//! server and the agents up, the overview lists the instances worst first, the probes view
//! says on how many instances each probe fails, and the views whose data only an agent holds
//! say where to read it.

use corstop::analysis;
use corstop::analysis::fleet::InstanceSort;
use corstop::model::time::MINUTE;
use corstop::sources::event::AuthClass;
use corstop::sources::fleet::{FleetData, Instance, ProbeRow, RequestSeries};
use corstop::store::{Store, StoreConfig, TimeMode};
use corstop::ui::{Theme, UiState, View, draw};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const T0: i64 = 1_775_298_660_000; // 2026-04-04T10:31:00Z, on a minute
const APP: &str = "https://app.contoso.com";

fn series(origin: Option<&str>, preflight: bool, status: u16, per_step: f64) -> RequestSeries {
    RequestSeries {
        route: "/api/orders".into(),
        origin: origin.map(Into::into),
        preflight,
        status,
        points: (0..10).map(|i| (T0 - i * MINUTE, per_step)).collect(),
    }
}

fn store() -> Store {
    let mut store = Store::new(StoreConfig::default(), TimeMode::Live).with_now(T0);
    let source = store.register_source("prometheus http://prom.example:9090");
    let instance =
        |name: &str, region: &str, up, status, top: Option<(&str, f64)>, rate, failure_ratio| {
            Instance {
                instance: name.into(),
                region: Some(region.into()),
                up,
                status,
                top: top.map(|(h, s)| (h.into(), s)),
                rate,
                failure_ratio,
                probes_failing: u32::from(status == Some(2)),
            }
        };
    store.apply_fleet(FleetData {
        source,
        server: "http://prom.example:9090".into(),
        at: T0,
        step_ms: MINUTE,
        requests: vec![
            series(Some(APP), true, 403, 6.0),
            series(Some(APP), true, 204, 20.0),
            series(Some(APP), false, 200, 20.0),
        ],
        auth: vec![(AuthClass::Expired, vec![(T0, 3.0)])],
        instances: vec![
            instance("10.0.1.7:9464", "us-east", true, Some(0), None, 4.2, 0.0),
            instance(
                "10.0.0.5:9464",
                "eu-west",
                true,
                Some(2),
                Some(("H2", 74.0)),
                5.1,
                0.12,
            ),
            instance("10.0.2.9:9464", "ap-south", false, None, None, 0.0, 0.0),
        ],
        instances_omitted: 0,
        instance: None,
        probes: vec![ProbeRow {
            endpoint: "https://api.contoso.com/api/orders".into(),
            origin: APP.into(),
            shape: "put-json-auth".into(),
            failing: 1,
            instances: 2,
            reasons: vec![("PreflightInvalidStatus".into(), 1)],
        }],
    });
    store
}

fn render(view: View, w: u16, h: u16) -> String {
    render_sorted(view, w, h, InstanceSort::Worst)
}

fn render_sorted(view: View, w: u16, h: u16, sort: InstanceSort) -> String {
    let store = store();
    let model = analysis::snapshot(&store, T0);
    let mut state = UiState::new("FLEET", false);
    state.switch_to(view);
    state.instance_sort = sort;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    let theme = Theme::builtin("default").unwrap();
    terminal
        .draw(|f| draw(f, &mut state, &model, &theme))
        .unwrap();
    crate::common::buffer_text(terminal.backend().buffer())
}

fn row<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no {needle}:\n{screen}"))
}

#[test]
fn the_overview_shows_the_fleet_and_its_instances_worst_first() {
    for (w, h) in [(120, 36), (80, 24)] {
        let t = render(View::Overview, w, h);
        assert!(t.contains("FLEET"), "{t}");
        assert!(t.contains("3 agents, 2 up"), "{t}");
        if w >= 120 {
            assert!(t.contains("http://prom.example:9090"), "{t}");
            // 10 steps of 6 refused preflights and 2 × 10 × 20 others.
            assert!(t.contains("460 requests"), "{t}");
            let page = t.find("10.0.0.5:9464").unwrap();
            let down = t.find("10.0.2.9:9464").unwrap();
            let ok = t.find("10.0.1.7:9464").unwrap();
            assert!(page < down && down < ok, "worst first:\n{t}");
            assert!(row(&t, "eu-west").contains("PAGE") && row(&t, "eu-west").contains("H2 74"));
            assert!(row(&t, "ap-south").contains("down"), "{t}");
            assert!(row(&t, "eu-west").contains("12.0%"), "{t}");
        }
        insta::assert_snapshot!(format!("fleet_overview_{w}x{h}"), t);
    }
    // `s` orders them by region instead.
    let t = render_sorted(View::Overview, 120, 36, InstanceSort::Region);
    assert!(t.contains("by region"), "{t}");
    let at = |a: &str| t.find(a).unwrap();
    assert!(
        at("ap-south") < at("eu-west") && at("eu-west") < at("us-east"),
        "{t}"
    );
    assert!(t.contains("i instance"), "{t}");
}

#[test]
fn the_probes_view_says_on_how_many_instances_a_probe_fails() {
    let t = render(View::Probes, 120, 36);
    let r = row(&t, "put-json-auth");
    assert!(r.contains("fails on 1 of 2 instances"), "{t}");
    assert!(r.contains("PreflightInvalidStatus (1)"), "{t}");
    assert!(t.contains("curl http://10.0.0.5:9464/metrics"), "{t}");
    insta::assert_snapshot!("fleet_probes_120x36", t);
}

#[test]
fn the_log_view_says_where_the_raw_lines_are() {
    let t = render(View::Log, 120, 36);
    assert!(t.contains("raw log lines stay on each agent"), "{t}");
    for a in ["10.0.0.5:9464", "10.0.1.7:9464", "10.0.2.9:9464"] {
        assert!(t.contains(&format!("curl http://{a}/metrics")), "{t}");
    }
    insta::assert_snapshot!("fleet_log_120x36", t);
}
