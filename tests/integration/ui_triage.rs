//! The triage view and the alert part of the header, rendered from a store holding a
//! "preflight blocked by auth" (H2) incident: OPTIONS /api/orders answered 401 for two SPA
//! origins for 14 minutes while the real requests succeed, the auth log reporting the missing
//! token, and probes whose preflight is challenged with 401 + `WWW-Authenticate` (judged by
//! `cors::judge`). One more probe, from a partner origin that reaches a healthy instance,
//! passes its preflight, so the logs and the probes disagree.

use std::borrow::Cow;

use crate::common::buffer_text as text;
use corstop::analysis::Status;
use corstop::analysis::triage::State;
use corstop::analysis::{self, AnalysisConfig, ViewModel};
use corstop::cors::{self, RawResponse, RequestShape};
use corstop::model::time::{MINUTE, SECOND};
use corstop::sources::event::{AuthClass, AuthRecord, HttpRecord, Hypothesis, Method, ProbeResult};
use corstop::store::{Store, StoreConfig, TimeMode};
use corstop::ui::{Action, Theme, UiState, View, draw, handle_key};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Modifier;

const T0: i64 = 1_775_298_662_000; // 2026-04-04T10:31:02Z
const API: &str = "https://api.contoso.com";
const APP: &str = "https://app.contoso.com";
const ADMIN: &str = "https://admin.contoso.com";
const PARTNER: &str = "https://portal.fabrikam.com";

fn rec(t: i64, method: Method, path: &str, status: u16, origin: &str) -> HttpRecord<'static> {
    HttpRecord {
        time: t,
        method,
        path: Cow::Owned(path.into()),
        status,
        latency_ms: Some(9),
        origin: Some(Cow::Owned(origin.into())),
        acao: (status < 300 && method != Method::Options || status == 204)
            .then(|| Cow::Owned(origin.into())),
        ..Default::default()
    }
}

fn resp(status: u16, headers: &[(&str, &str)]) -> RawResponse {
    RawResponse {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        elapsed_ms: 31,
    }
}

fn judged(path: &str, origin: &str, preflight: RawResponse) -> ProbeResult {
    let url = format!("{API}{path}");
    let shape = RequestShape::spa_default();
    let verdict = cors::judge(origin, &url, &shape, Some(&preflight), None);
    ProbeResult {
        time: T0 - 4 * SECOND,
        url,
        origin: origin.into(),
        shape,
        critical: path == "/api/orders",
        preflight_request: None,
        preflight: Some(preflight),
        actual_request: None,
        actual: None,
        transport: None,
        verdict,
        instance: Some("Server: Kestrel".into()),
        redirects: Vec::new(),
    }
}

fn challenged() -> RawResponse {
    resp(
        401,
        &[(
            "WWW-Authenticate",
            "Bearer realm=\"api\", error=\"invalid_token\"",
        )],
    )
}

fn allowed(origin: &str) -> RawResponse {
    resp(
        204,
        &[
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Credentials", "true"),
            ("Access-Control-Allow-Methods", "GET, PUT, POST"),
            (
                "Access-Control-Allow-Headers",
                "authorization, content-type",
            ),
            ("Vary", "Origin"),
        ],
    )
}

fn h2_store() -> Store {
    let mut s = Store::new(StoreConfig::default(), TimeMode::EventTime).with_now(T0);
    let web = s.register_source("web.log");
    let auth = s.register_source("auth.log");
    for i in 0..84 {
        let t = T0 - 14 * MINUTE + i * 10 * SECOND;
        for origin in [APP, ADMIN] {
            s.ingest_http(web, &rec(t, Method::Options, "/api/orders", 401, origin));
            s.ingest_http(web, &rec(t + 1, Method::Get, "/api/orders", 200, origin));
        }
        s.ingest_http(web, &rec(t + 2, Method::Options, "/api/products", 204, APP));
        s.ingest_auth(
            auth,
            &AuthRecord {
                time: t,
                operation: "ValidateToken".into(),
                class: Some(AuthClass::MalformedOrMissing),
                status: Some(401),
                message: "IDX14100: JWT is not well formed. No authorization token was found"
                    .into(),
            },
        );
    }
    s.ingest_probe(judged("/api/orders", APP, challenged()));
    s.ingest_probe(judged("/api/orders", ADMIN, challenged()));
    s.ingest_probe(judged("/api/orders", PARTNER, allowed(PARTNER)));
    s.ingest_probe(judged("/api/products", APP, allowed(APP)));
    s
}

fn model() -> ViewModel {
    analysis::snapshot(&h2_store(), T0 + 2 * SECOND)
}

fn render_with(state: &mut UiState, m: &ViewModel, theme: &Theme, w: u16, h: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| draw(f, state, m, theme)).unwrap();
    terminal.backend().buffer().clone()
}

fn line(buf: &Buffer, y: u16) -> String {
    (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()
}

/// First occurrence of `needle` below the two header lines.
fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    (2..buf.area.height).find_map(|y| {
        let l = line(buf, y);
        l.find(needle).map(|i| (l[..i].chars().count() as u16, y))
    })
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn default_theme() -> Theme {
    Theme::builtin("default").unwrap()
}

#[test]
fn model_carries_board_alerts_and_top() {
    let m = model();
    assert_eq!(m.triage.entries[0].hypothesis, Hypothesis::H2);
    assert_eq!(m.triage.entries[0].state, State::Supported);
    assert_eq!(m.top, Some(Hypothesis::H2));
    assert_eq!(m.top_entry().unwrap().id, "H2");
    assert_eq!(m.triage.span_ms, analysis::TRIAGE_SPAN_MS);
    assert_eq!(m.status.level, Status::Page, "{:?}", m.status.reasons);
    assert!(
        m.triage.entries[0]
            .disagreements
            .iter()
            .any(|d| d.contains(PARTNER)),
        "{:?}",
        m.triage.entries[0].disagreements
    );
    // The explicit configuration is what the default call uses.
    let store = h2_store();
    let a = analysis::snapshot_with(&store, T0, &AnalysisConfig::default());
    let b = analysis::snapshot(&store, T0);
    assert_eq!(a.triage, b.triage);
    assert_eq!(a.alerts, b.alerts);
    // A stricter page duration turns the page into a pending one.
    let mut cfg = AnalysisConfig::default();
    cfg.alerts.page_for_ms = 30 * MINUTE;
    let c = analysis::snapshot_with(&store, T0, &cfg);
    assert_ne!(c.status.level, Status::Page);
}

#[test]
fn triage_view_ranks_h2_first_at_both_sizes() {
    let m = model();
    let theme = default_theme();
    for (w, h) in [(80, 24), (200, 60)] {
        let mut state = UiState::new("REPLAY", false);
        state.switch_to(View::Triage);
        let buf = render_with(&mut state, &m, &theme, w, h);
        let t = text(&buf);
        // Ranks follow the board order: the first row under the column headers is H2.
        let (_, header_row) = find(&buf, "Hypothesis").expect("table shown");
        let row = line(&buf, header_row + 1);
        assert!(row.contains(" 1 "), "ranked first: {row}");
        assert!(row.contains(" H2 "), "{row}");
        assert!(row.contains("SUPPORTED"), "{row}");
        assert!(row.contains("Preflight blocked by auth"), "{row}");
        assert!(t.contains("Next check"), "{t}");
        assert!(t.contains("curl -si -X OPTIONS"), "{t}");
        assert!(t.contains("no evidence"), "{t}");
        let x = row[..row.find("SUPPORTED").unwrap()].chars().count() as u16;
        assert_eq!(
            buf[(x, header_row + 1)].fg,
            theme.triage_supported.fg.unwrap()
        );
        if w >= 200 {
            // Side by side: the detail is there without Enter, disagreement included.
            assert!(t.contains("Logs and probes disagree"), "{t}");
            assert!(t.contains("Mitigation now"), "{t}");
            assert!(t.contains("Evidence"), "{t}");
            let (x, y) = find(&buf, "! logs: OPTIONS /api/orders").unwrap();
            assert_eq!(buf[(x, y)].fg, theme.disagreement.fg.unwrap());
        }
        insta::assert_snapshot!(format!("triage_{w}x{h}"), t);
    }
}

#[test]
fn enter_opens_the_detail_in_place_of_the_table_at_80x24() {
    let m = model();
    let theme = default_theme();
    let mut state = UiState::new("LIVE", false);
    assert_eq!(
        handle_key(&mut state, key(KeyCode::Char('6'))),
        Action::Redraw
    );
    assert_eq!(state.view, View::Triage);
    assert_eq!(handle_key(&mut state, key(KeyCode::Enter)), Action::Redraw);
    assert!(state.detail);
    let buf = render_with(&mut state, &m, &theme, 80, 24);
    let t = text(&buf);
    assert!(!t.contains("Hypothesis"), "table replaced: {t}");
    assert!(t.contains("H2 Preflight blocked by auth"), "{t}");
    assert!(t.contains("Esc closes"), "{t}");
    assert!(t.contains("Mitigation now"), "{t}");
    insta::assert_snapshot!("triage_detail_80x24", t);
    // j scrolls the open detail rather than moving the selection.
    handle_key(&mut state, key(KeyCode::Char('j')));
    assert_eq!((state.selection(), state.detail_scroll), (0, 1));
    assert_eq!(handle_key(&mut state, key(KeyCode::Esc)), Action::Redraw);
    assert!(!state.detail);
    handle_key(&mut state, key(KeyCode::Char('j')));
    assert_eq!(state.selection(), 1);
    let buf = render_with(&mut state, &m, &theme, 80, 24);
    let second = m.triage.entries[1].id;
    let (_, y) = find(&buf, &format!("{second} ")).unwrap();
    assert!(line(&buf, y).contains(" 2 "), "{}", line(&buf, y));
}

#[test]
fn number_keys_and_tabs_reach_every_view() {
    let mut s = UiState::new("LIVE", false);
    for (c, want) in ('1'..='7').zip(View::ALL) {
        assert_eq!(handle_key(&mut s, key(KeyCode::Char(c))), Action::Redraw);
        assert_eq!(s.view, want);
    }
    assert_eq!(s.view, View::Log, "the log is view 7");
    assert_eq!(handle_key(&mut s, key(KeyCode::Char('8'))), Action::None);
    handle_key(&mut s, key(KeyCode::Char('5')));
    handle_key(&mut s, key(KeyCode::Tab));
    assert_eq!(s.view, View::Triage);
    handle_key(&mut s, key(KeyCode::Tab));
    assert_eq!(s.view, View::Log);
    handle_key(&mut s, key(KeyCode::Tab));
    assert_eq!(s.view, View::Overview);
}

#[test]
fn header_pages_loudly_and_names_the_top_hypothesis_on_every_view() {
    let m = model();
    for theme in corstop::ui::theme::BUILTIN_NAMES {
        let theme = Theme::builtin(theme).unwrap();
        for view in View::ALL {
            let mut state = UiState::new("LIVE", false);
            state.switch_to(view);
            let buf = render_with(&mut state, &m, &theme, 80, 24);
            let status = line(&buf, 1);
            assert!(status.contains("PAGE 14m"), "{view:?}: {status}");
            assert!(status.contains("top: H2 Preflight"), "{view:?}: {status}");
            let i = status.find("PAGE").unwrap();
            let x = status[..i].chars().count() as u16;
            let m = buf[(x, 1)].modifier;
            assert!(
                m.contains(Modifier::REVERSED) && m.contains(Modifier::BOLD),
                "{view:?}: {m:?}"
            );
            assert!(
                line(&buf, 0).contains("6 Triage"),
                "{view:?}: {}",
                line(&buf, 0)
            );
        }
    }
    // Not paging yet: DEGRADED, with the pending page and how long it has held.
    let mut cfg = AnalysisConfig::default();
    cfg.alerts.page_for_ms = 30 * MINUTE;
    let pending = analysis::snapshot_with(&h2_store(), T0, &cfg);
    let mut state = UiState::new("LIVE", false);
    let buf = render_with(&mut state, &pending, &default_theme(), 80, 24);
    let status = line(&buf, 1);
    assert!(status.contains("DEGRADED  page pending 14m"), "{status}");
    assert!(!status.contains("PAGE"), "{status}");
    // Wide terminals keep the full date and the top hypothesis whole.
    let mut state = UiState::new("LIVE", false);
    let buf = render_with(&mut state, &m, &default_theme(), 200, 60);
    let status = line(&buf, 1);
    assert!(status.contains("2026-04-04T10:31:02Z"), "{status}");
    let top = m.top_entry().unwrap();
    assert!(
        status.contains(&format!(
            "top: H2 Preflight blocked by auth ({})",
            top.score
        )),
        "{status}"
    );
}

#[test]
fn overview_shows_the_top_hypothesis_with_its_next_check() {
    let m = model();
    for (w, h, evidence) in [(80, 24, 1), (200, 60, 3)] {
        let mut state = UiState::new("LIVE", false);
        let buf = render_with(&mut state, &m, &default_theme(), w, h);
        let t = text(&buf);
        assert!(t.contains("Top hypothesis: H2"), "{t}");
        assert!(t.contains("next: curl -si -X OPTIONS"), "{t}");
        let shown = m.triage.entries[0]
            .evidence
            .iter()
            .take(evidence)
            .filter(|e| t.contains(&format!("- {}", &e[..20.min(e.len())])))
            .count();
        assert_eq!(shown, evidence, "{t}");
    }
}

#[test]
fn ascii_board_has_no_block_elements() {
    let m = model();
    let mut state = UiState::new("LIVE", true);
    state.switch_to(View::Triage);
    let t = text(&render_with(&mut state, &m, &default_theme(), 80, 24));
    assert!(t.contains("#"), "{t}");
    assert!(!t.contains('█') && !t.contains('░'), "{t}");
}

#[test]
fn empty_store_board_says_no_evidence_and_ok() {
    let empty = analysis::snapshot(&Store::new(StoreConfig::default(), TimeMode::EventTime), 0);
    assert_eq!(empty.top, None);
    assert_eq!(empty.status.level, Status::Ok);
    let mut state = UiState::new("LIVE", false);
    state.switch_to(View::Triage);
    let t = text(&render_with(&mut state, &empty, &default_theme(), 80, 24));
    assert!(t.contains("no evidence"), "{t}");
    assert!(!t.contains("top:"), "{t}");
    assert!(t.contains("OK"), "{t}");
}

/// Preflights denied from 45 to 35 minutes before now; healthy since.
fn earlier_h2_store() -> Store {
    let mut s = Store::new(StoreConfig::default(), TimeMode::EventTime).with_now(T0);
    let web = s.register_source("web.log");
    for i in 0..270 {
        let t = T0 - 45 * MINUTE + i * 10 * SECOND;
        let status = if i < 60 { 401 } else { 204 };
        s.ingest_http(web, &rec(t, Method::Options, "/api/orders", status, APP));
        s.ingest_http(web, &rec(t + 1, Method::Get, "/api/orders", 200, APP));
    }
    s
}

#[test]
fn the_range_key_moves_the_triage_board_its_evidence_and_its_title() {
    let store = std::sync::Mutex::new(earlier_h2_store());
    let mut snapshots = corstop::ui::Snapshotter::new(AnalysisConfig::default());
    let mut state = UiState::new("REPLAY", false);
    state.switch_to(View::Triage);
    let theme = default_theme();

    let m = snapshots
        .poll_at(&store, false, T0)
        .expect("first snapshot");
    assert_eq!(m.range, analysis::TimeRange::M15);
    assert_eq!(m.triage.span_ms, 15 * MINUTE);
    let h2 = m.triage.get(Hypothesis::H2).unwrap();
    assert_eq!(h2.score, 0, "{h2:?}");
    assert!(h2.evidence.is_empty(), "{h2:?}");
    let t = text(&render_with(&mut state, &m, &theme, 200, 60));
    assert!(t.contains("Triage · last 15m"), "{t}");

    let key = KeyEvent::new(KeyCode::Char('t'), KeyModifiers::NONE);
    assert_eq!(handle_key(&mut state, key), Action::Redraw);
    assert_eq!(state.range, analysis::TimeRange::H1);
    snapshots.set_range(state.range);
    // The store did not change: the new range alone takes a fresh snapshot.
    let m = snapshots
        .poll_at(&store, false, T0 + 100)
        .expect("new range, new board");
    assert_eq!(m.range, analysis::TimeRange::H1);
    assert_eq!(m.triage.span_ms, 60 * MINUTE);
    let h2 = m.triage.get(Hypothesis::H2).unwrap();
    assert_eq!(h2.state, State::Ended, "{:?}", h2);
    assert_eq!(
        h2.ended_at,
        Some(T0 - 35 * MINUTE - 10 * SECOND - 2 * SECOND)
    );
    assert!(
        h2.evidence[0].contains("OPTIONS answered 401 ×60"),
        "{:?}",
        h2.evidence
    );
    // The status still reads what is failing now: nothing.
    assert_eq!(m.triage_now.span_ms, 15 * MINUTE);
    assert_eq!(m.top, None);
    let buf = render_with(&mut state, &m, &theme, 200, 60);
    let t = text(&buf);
    assert!(t.contains("Triage · last 1h"), "{t}");
    // The row gives the time; the detail beside it the time and how long ago.
    assert!(t.contains("ended 09:55 "), "{t}");
    assert!(t.contains("ENDED  score"), "{t}");
    assert!(t.contains("ended 09:55:50Z (35m 12s ago)"), "{t}");
    assert!(t.contains("OPTIONS answered 401 ×60"), "{t}");

    // The other windowed panels name the same range.
    for (view, title) in [
        (View::Trend, "OPTIONS by route · last 1h"),
        (View::Origins, "Failing endpoints by origin · last 1h"),
        (View::Auth, "401/403 beside auth failures · last 1h"),
        (View::Overview, "Routes · last 1h"),
    ] {
        state.switch_to(view);
        let t = text(&render_with(&mut state, &m, &theme, 200, 60));
        assert!(t.contains(title), "{view:?}: {t}");
    }
}

/// The figures the views share, read from one view model and from the screens drawn from it:
/// the top route's OPTIONS count and its 401s, and its preflight success.
fn assert_shared_figures_agree(m: &ViewModel, theme: &Theme) {
    use corstop::analysis::series::StatusClass;
    const ROUTE: &str = "/api/orders";
    let trend = m.trend(m.range);
    let rt = trend
        .routes
        .iter()
        .find(|r| r.route == ROUTE)
        .expect("trend row");
    let total = rt.total();
    let s401 = rt.totals[StatusClass::S401 as usize];
    let s2xx = rt.totals[StatusClass::S2xx as usize];
    assert!(total > 0 && s401 > 0);

    // The board over the same range.
    assert_eq!(m.triage.span_ms, m.range.span_ms());
    let h2 = m.triage.get(Hypothesis::H2).unwrap();
    let all_total: u64 = trend
        .routes
        .iter()
        .map(corstop::analysis::RouteTrend::total)
        .sum();
    let all_401: u64 = trend
        .routes
        .iter()
        .map(|r| r.totals[StatusClass::S401 as usize])
        .sum();
    let evidence = h2.evidence.join("\n");
    assert!(
        evidence.contains(&format!(
            "OPTIONS answered 401 ×{all_401} and 403 ×0 of {all_total} preflights"
        )),
        "{evidence}"
    );
    assert!(
        evidence.contains(&format!("OPTIONS {ROUTE}: {s401} denied of {total},")),
        "{evidence}"
    );
    // The overview's route table and the preflight SLI.
    let o = m
        .overview
        .routes
        .iter()
        .find(|r| r.route == ROUTE)
        .expect("overview row");
    assert_eq!((o.options_total, o.options_ok), (total, s2xx), "overview");
    let sli = m
        .alerts
        .slis
        .iter()
        .find(|s| s.route == ROUTE)
        .expect("sli");
    assert_eq!((sli.total, sli.good), (total, s2xx), "SLI");
    // Failing origins: every denied preflight of the route is in one of its cells.
    let origins = m.origin_table(m.range);
    let denied_in_cells: u64 = origins
        .cells
        .iter()
        .filter(|c| c.route == ROUTE)
        .filter_map(|c| c.dominant)
        .filter(|(status, method, _)| *status == 401 && *method == Method::Options)
        .map(|(_, _, n)| n)
        .sum();
    assert_eq!(denied_in_cells, s401, "origins");
    // Each origin the board names as denied, with the count the origins view shows for it.
    let mut origin_figures = Vec::new();
    for c in origins.cells.iter().filter(|c| c.route == ROUTE) {
        if let Some((401, Method::Options, n)) = c.dominant {
            assert!(
                evidence.contains(&format!("{} ({n})", c.origin)),
                "{} ×{n} not in {evidence}",
                c.origin
            );
            origin_figures.push(format!("401 OPTIONS ×{n}"));
        }
    }
    assert!(!origin_figures.is_empty());
    // 401s beside auth failures: only preflights are refused in this store.
    assert_eq!(m.auth_timeline(m.range).total_401, all_401, "auth view");

    // The same numbers on screen.
    for (view, wants) in [
        (View::Triage, vec![format!("{s401} denied of {total}")]),
        (View::Origins, origin_figures),
        (
            View::Trend,
            vec![ROUTE.to_string(), total.to_string(), s401.to_string()],
        ),
    ] {
        let mut state = UiState::new("LIVE", false);
        state.range = m.range;
        state.switch_to(view);
        let buf = render_with(&mut state, m, theme, 200, 60);
        let t = text(&buf);
        if view == View::Trend {
            let (_, y) = find(&buf, ROUTE).expect("route row");
            let row = line(&buf, y);
            let cells: Vec<&str> = row.split_whitespace().collect();
            for w in &wants {
                assert!(cells.contains(&w.as_str()), "{view:?} row {row}");
            }
        } else {
            for w in &wants {
                assert!(t.contains(w.as_str()), "{view:?}: {w} not in {t}");
            }
        }
    }
    // Every other view draws from the same model.
    for view in View::ALL {
        let mut state = UiState::new("LIVE", false);
        state.range = m.range;
        state.switch_to(view);
        render_with(&mut state, m, theme, 200, 60);
    }
}

#[test]
fn every_view_shows_the_same_figures_as_the_board_within_a_frame() {
    let theme = default_theme();
    let store = std::sync::Mutex::new(h2_store());
    let mut snapshots = corstop::ui::Snapshotter::new(AnalysisConfig::default());
    let m = snapshots.poll_at(&store, false, T0).expect("first");
    assert_shared_figures_agree(&m, &theme);
    // Lines keep arriving between polls, several times a second: whichever view model the
    // screen gets, its board and its panels count the same store state.
    let web = 0;
    let mut models = 0;
    for step in 1..=30 {
        {
            let mut s = store.lock().unwrap();
            let t = T0 + step * 300;
            s.ingest_http(web, &rec(t, Method::Options, "/api/orders", 401, APP));
            s.ingest_http(web, &rec(t, Method::Options, "/api/orders", 204, PARTNER));
        }
        if let Some(m) = snapshots.poll_at(&store, false, T0 + step * 100) {
            models += 1;
            assert_shared_figures_agree(&m, &theme);
        }
    }
    assert!(models >= 2, "{models}");
    // Every range, from one store.
    for range in analysis::TimeRange::ALL {
        let m = analysis::snapshot_range(
            &store.lock().unwrap(),
            T0 + 5 * SECOND,
            &AnalysisConfig::default(),
            range,
        );
        assert_shared_figures_agree(&m, &theme);
    }
}
