//! Renders every view from a store filled with a known incident and checks both the picture
//! (insta snapshots) and the facts on it (routes, counts, verdicts, styles).

use std::borrow::Cow;

use crate::common::buffer_text as text;
use corstop::analysis::{self, Status, TimeRange, ViewModel};
use corstop::cors::{Credentials, RawRequest, RawResponse, RequestShape, Stage, Verdict};
use corstop::demo::svg::render_svg;
use corstop::model::time::{MINUTE, SECOND};
use corstop::sources::event::{
    AuthClass, AuthRecord, HttpRecord, Hypothesis, Method, ProbeResult, RecordRef, SourceBatch,
};
use corstop::store::{Store, StoreConfig, TimeMode};
use corstop::ui::{Action, Theme, UiState, View, draw, handle_key, handle_mouse};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;

const T0: i64 = 1_775_298_662_000; // 2026-04-04T10:31:02Z
const APP: &str = "https://app.contoso.com";
const ADMIN: &str = "https://admin.contoso.com";

fn http(
    t: i64,
    method: Method,
    path: &str,
    status: u16,
    origin: Option<&str>,
) -> HttpRecord<'static> {
    HttpRecord {
        time: t,
        method,
        path: Cow::Owned(path.into()),
        status,
        latency_ms: Some(12),
        origin: origin.map(|o| Cow::Owned(o.into())),
        ..Default::default()
    }
}

fn verdict(
    allowed: bool,
    code: &'static str,
    hidden: Option<u16>,
    h: Option<Hypothesis>,
) -> Verdict {
    Verdict {
        allowed,
        stage: if allowed { Stage::None } else { Stage::Preflight },
        code,
        chrome_message: (!allowed).then(|| {
            "Access to fetch at 'https://api.contoso.com/api/orders' from origin 'https://app.contoso.com' has been blocked by CORS policy: The 'Access-Control-Allow-Origin' header contains multiple values, but only one is allowed.".into()
        }),
        firefox_message: (!allowed).then(|| {
            "Cross-Origin Request Blocked: Reason: Multiple CORS header 'Access-Control-Allow-Origin' not allowed".into()
        }),
        preflight_needed: true,
        request_headers: "authorization,content-type".into(),
        hidden_status: hidden,
        www_authenticate: None,
        max_age_chrome: None,
        max_age_firefox: None,
        warnings: vec![],
        hypothesis: h,
    }
}

fn probe(path: &str, critical: bool, acao: &[&str], verdict: Verdict) -> ProbeResult {
    let url = format!("https://api.contoso.com{path}");
    let mut headers: Vec<(String, String)> = acao
        .iter()
        .map(|v| ("Access-Control-Allow-Origin".to_string(), v.to_string()))
        .collect();
    headers.push(("Access-Control-Allow-Methods".into(), "GET, PUT".into()));
    headers.push((
        "Access-Control-Allow-Headers".into(),
        "authorization, content-type".into(),
    ));
    headers.push(("Access-Control-Allow-Credentials".into(), "true".into()));
    headers.push(("Server".into(), "Kestrel".into()));
    ProbeResult {
        time: T0 - 5 * SECOND,
        url: url.clone(),
        origin: APP.into(),
        shape: RequestShape {
            credentials: Credentials::Include,
            ..RequestShape::spa_default()
        },
        critical,
        preflight_request: Some(RawRequest {
            method: "OPTIONS".into(),
            url,
            headers: vec![
                ("Origin".into(), APP.into()),
                ("Access-Control-Request-Method".into(), "PUT".into()),
                (
                    "Access-Control-Request-Headers".into(),
                    "authorization,content-type".into(),
                ),
            ],
        }),
        preflight: Some(RawResponse {
            status: 204,
            headers,
            elapsed_ms: 41,
        }),
        actual_request: None,
        actual: None,
        transport: None,
        verdict,
        instance: Some("web-1".into()),
        redirects: Vec::new(),
    }
}

/// The incident: preflights to /api/orders challenged with 401 from the SPA, products fine,
/// a 403 on an admin page whose origin comes from the Referer, expired tokens in the auth log,
/// and a probe that sees a doubled Access-Control-Allow-Origin.
fn incident_store() -> Store {
    let mut s = Store::new(StoreConfig::default(), TimeMode::EventTime).with_now(T0);
    let web = s.register_source("web.log");
    let auth = s.register_source("auth.log");
    let mut batch = SourceBatch {
        source: web,
        lines: 120,
        bytes: 24_000,
        parse_errors: 2,
        last_error: Some((
            "garbage line Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.secretpayload.sig".into(),
            "no status field".into(),
        )),
        format: Some("w3c"),
        ..Default::default()
    };
    for i in 0..30 {
        let t = T0 - 590 * SECOND + i * 20 * SECOND;
        batch
            .http
            .push(http(t, Method::Options, "/api/orders", 401, Some(APP)));
        batch.raw_tail.push(format!(
            "2026-04-04 10:{:02}:{:02} OPTIONS /api/orders - 443 - 10.0.0.{i} 401",
            21 + i / 3,
            (i * 20) % 60
        ));
        batch
            .raw_links
            .push((i as u64, RecordRef::Http(batch.http.len() as u32 - 1)));
    }
    for i in 0..5 {
        batch.http.push(http(
            T0 - i * MINUTE,
            Method::Put,
            "/api/orders",
            200,
            Some(APP),
        ));
    }
    for i in 0..40 {
        let t = T0 - 14 * MINUTE + i * 20 * SECOND;
        batch
            .http
            .push(http(t, Method::Options, "/api/products", 204, Some(APP)));
        batch.http.push(http(
            t + SECOND,
            Method::Get,
            "/api/products",
            200,
            Some(APP),
        ));
    }
    for i in 0..3 {
        let mut r = http(
            T0 - (i + 1) * MINUTE,
            Method::Get,
            "/api/orders/123",
            403,
            Some(ADMIN),
        );
        r.origin_derived = true;
        batch.http.push(r);
    }
    for i in 0..10 {
        batch
            .http
            .push(http(T0 - i * MINUTE, Method::Get, "/health", 200, None));
    }
    batch
        .raw_tail
        .push("2026-04-04 10:31:00 GET /health - 443 - 10.0.0.9 200 Cookie: session=abc123".into());
    // The first /health record (at T0) is the one this line logged.
    let health = batch.http.iter().position(|r| r.path == "/health").unwrap();
    batch.raw_links.push((30, RecordRef::Http(health as u32)));
    s.apply_batch(batch, T0);

    let mut ab = SourceBatch {
        source: auth,
        lines: 8,
        format: Some("appservice-auth"),
        ..Default::default()
    };
    for i in 0..6 {
        ab.auth.push(AuthRecord {
            time: T0 - (i * 2 + 1) * MINUTE,
            operation: "ValidateToken".into(),
            class: Some(AuthClass::Expired),
            status: Some(401),
            message: "IDX10223: Lifetime validation failed. The token is expired. Bearer eyJhbGciOiJSUzI1NiJ9.payload.signature".into(),
        });
    }
    ab.auth.push(AuthRecord {
        time: T0 - 4 * MINUTE,
        operation: "ValidateToken".into(),
        class: Some(AuthClass::Audience),
        status: Some(401),
        message: "IDX10214: Audience validation failed.".into(),
    });
    s.apply_batch(ab, T0);

    s.ingest_probe(probe(
        "/api/orders",
        true,
        &[APP, APP],
        verdict(false, "acao-multiple", Some(204), Some(Hypothesis::H4)),
    ));
    s.ingest_probe(probe(
        "/api/products",
        false,
        &[APP],
        verdict(true, "ok", None, None),
    ));
    s
}

fn model() -> ViewModel {
    analysis::snapshot(&incident_store(), T0 + 3 * SECOND)
}

fn render_with(state: &mut UiState, model: &ViewModel, theme: &Theme, w: u16, h: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| draw(f, state, model, theme)).unwrap();
    terminal.backend().buffer().clone()
}

fn render(view: View, w: u16, h: u16) -> (Buffer, UiState) {
    let mut state = UiState::new("REPLAY", false);
    state.switch_to(view);
    let buf = render_with(
        &mut state,
        &model(),
        &Theme::builtin("default").unwrap(),
        w,
        h,
    );
    (buf, state)
}

/// Position of the first occurrence of `needle` on screen.
fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        if let Some(i) = line.find(needle) {
            // Column = characters before the match (cells hold one char each here).
            return Some((line[..i].chars().count() as u16, y));
        }
    }
    None
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

#[test]
fn analysis_reads_the_incident() {
    let m = model();
    let o = &m.overview;
    // Critical /api/orders failing for minutes: degraded, the page is not yet due.
    assert_eq!(m.status.level, Status::Degraded, "{:?}", m.status.reasons);
    assert!(
        m.status.reasons[0].text.contains("on /api/orders over 15m"),
        "{:?}",
        m.status.reasons
    );
    let orders = o.routes.iter().find(|r| r.route == "/api/orders").unwrap();
    assert!(orders.critical);
    assert_eq!((orders.options_total, orders.options_ok), (30, 0));
    assert_eq!(orders.status_401, 30);
    let products = o
        .routes
        .iter()
        .find(|r| r.route == "/api/products")
        .unwrap();
    assert_eq!(products.preflight_success(), Some(1.0));
    assert_eq!(o.auth.status_401, 30);
    assert_eq!(o.auth.status_403, 3);
    assert_eq!(o.auth.options_401_403, 30);
    assert_eq!(
        o.auth.by_class,
        vec![(AuthClass::Expired, 6), (AuthClass::Audience, 1)]
    );
    assert_eq!(
        (
            o.probes.allowed,
            o.probes.blocked,
            o.probes.critical_blocked
        ),
        (1, 1, 1)
    );
    let web = &o.sources[0];
    assert_eq!(web.last_line_age_ms, Some(3 * SECOND));
    assert!(!web.last_error.as_ref().unwrap().0.contains("secretpayload"));

    let cells = &m.origin_table(TimeRange::M15).cells;
    assert_eq!(cells[0].route, "/api/orders");
    assert_eq!(cells[0].origin, APP);
    assert_eq!((cells[0].requests, cells[0].failed), (35, 30));
    assert_eq!(cells[0].dominant, Some((401, Method::Options, 30)));
    let admin = cells.iter().find(|c| c.origin == ADMIN).unwrap();
    assert!(admin.derived);
    assert_eq!(m.origin_table(TimeRange::M15).without_origin, 10);

    let trend = m.trend(TimeRange::M15);
    assert_eq!(trend.routes[0].route, "/api/orders");
    assert_eq!(
        trend.routes[0].totals[analysis::StatusClass::S401 as usize],
        30
    );
    let per_column: u64 = trend.routes[0].columns.iter().map(|c| c[2] as u64).sum();
    assert_eq!(per_column, 30);
    assert_eq!(
        m.auth_timeline(TimeRange::H1).class_totals[AuthClass::Expired as usize],
        6
    );
    assert_eq!(
        m.auth_timeline(TimeRange::H1).by_method[0],
        (Method::Options, 30, 0)
    );
}

#[test]
fn overview_panels() {
    for (w, h) in [(80, 24), (200, 60)] {
        let (buf, _) = render(View::Overview, w, h);
        let t = text(&buf);
        // The badge is the alert state: the failing run on /api/orders is broken by the newest
        // minute (one successful PUT), so the measured-duration page rule has not fired.
        assert!(t.contains("DEGRADED"), "{t}");
        assert!(!t.contains("PAGE"), "{t}");
        assert!(t.contains("/api/orders"), "{t}");
        assert!(t.contains("/api/products"), "{t}");
        assert!(t.contains("0.0%!"), "objective miss marked in text: {t}");
        assert!(t.contains("100.0%"), "{t}");
        assert!(t.contains("401: 30"), "{t}");
        assert!(t.contains("ALLOWED 1"), "{t}");
        assert!(t.contains("BLOCKED 1"), "{t}");
        assert!(t.contains("web.log"), "{t}");
        assert!(t.contains("REPLAY"), "{t}");
        // Narrow headers drop the date.
        assert!(t.contains("10:31:02Z"), "{t}");
        assert_eq!(w >= 120, t.contains("2026-04-04T10:31:02Z"), "{t}");
        assert!(t.contains("Top hypothesis: H4"), "{t}");
        assert!(!t.contains("secretpayload"), "{t}");
        insta::assert_snapshot!(format!("overview_{w}x{h}"), t);
    }
}

#[test]
fn trend_panels() {
    for (w, h) in [(80, 24), (200, 60)] {
        let (buf, _) = render(View::Trend, w, h);
        let t = text(&buf);
        assert!(t.contains("/api/orders OPTIONS by status"), "{t}");
        for label in ["2xx", "3xx", "401", "403", "404/405", "5xx"] {
            assert!(t.contains(label), "{label}: {t}");
        }
        insta::assert_snapshot!(format!("trend_{w}x{h}"), t);
    }
}

#[test]
fn origins_panels() {
    for (w, h) in [(80, 24), (200, 60)] {
        let (buf, _) = render(View::Origins, w, h);
        let t = text(&buf);
        // Without its `https://` where the column is narrow.
        assert!(
            t.contains("~https://admin.contoso.com") || t.contains("~admin.contoso.com"),
            "{t}"
        );
        // What `~` means is in the help's legend, which the note points to.
        assert!(t.contains("? explains every column"), "{t}");
        assert!(t.contains("401 OPTIONS"), "{t}");
        assert!(t.contains("85.7%"), "{t}");
        insta::assert_snapshot!(format!("origins_{w}x{h}"), t);
    }
}

#[test]
fn auth_panels() {
    for (w, h) in [(80, 24), (200, 60)] {
        let (buf, _) = render(View::Auth, w, h);
        let t = text(&buf);
        assert!(t.contains("expired"), "{t}");
        assert!(t.contains("audience"), "{t}");
        assert!(t.contains("OPTIONS leads"), "{t}");
        assert!(t.contains("IDX10223"), "{t}");
        assert!(!t.contains("payload.signature"), "{t}");
        insta::assert_snapshot!(format!("auth_{w}x{h}"), t);
    }
}

#[test]
fn probe_panels_and_verdict_style() {
    let theme = Theme::builtin("default").unwrap();
    for (w, h) in [(80, 24), (200, 60)] {
        let (buf, _) = render(View::Probes, w, h);
        let t = text(&buf);
        assert!(t.contains("BLOCKED"), "{t}");
        assert!(t.contains("ALLOWED"), "{t}");
        assert!(t.contains("acao-multiple"), "{t}");
        let (x, y) = find(&buf, "BLOCKED").unwrap();
        assert_eq!(buf[(x, y)].fg, theme.verdict_blocked.fg.unwrap());
        assert_ne!(buf[(x, y)].fg, Color::Reset);
        insta::assert_snapshot!(format!("probes_{w}x{h}"), t);
    }
}

#[test]
fn probe_detail_shows_raw_evidence() {
    let m = model();
    let theme = Theme::builtin("default").unwrap();
    let mut state = UiState::new("LIVE", false);
    state.switch_to(View::Probes);
    assert_eq!(handle_key(&mut state, key(KeyCode::Enter)), Action::Redraw);
    assert!(state.detail);
    for (w, h) in [(80, 24), (200, 60)] {
        let buf = render_with(&mut state, &m, &theme, w, h);
        let t = text(&buf);
        let acao = format!("Access-Control-Allow-Origin: {APP}");
        assert_eq!(t.matches(&acao).count(), 2, "{t}");
        assert!(t.contains("repeated header"), "{t}");
        assert!(t.contains("Preflight request (as sent)"), "{t}");
        assert!(t.contains("Access-Control-Request-Method: PUT"), "{t}");
        if h == 60 {
            assert!(t.contains("Chrome says"), "{t}");
            assert!(t.contains("multiple values"), "{t}");
            assert!(t.contains("Firefox says"), "{t}");
            assert!(t.contains("H4 Doubled CORS headers"), "{t}");
        }
        insta::assert_snapshot!(format!("probe_detail_{w}x{h}"), t);
    }
    assert_eq!(handle_key(&mut state, key(KeyCode::Esc)), Action::Redraw);
    assert!(!state.detail);
}

#[test]
fn log_panels_and_filter() {
    for (w, h) in [(80, 24), (200, 60)] {
        let (buf, _) = render(View::Log, w, h);
        let t = text(&buf);
        assert!(t.contains("web.log"), "{t}");
        assert!(t.contains("10:31:02 ✓  web.log │ GET     200"), "{t}");
        assert!(!t.contains("abc123"), "cookie must be redacted: {t}");
        insta::assert_snapshot!(format!("log_{w}x{h}"), t);
    }
    let m = model();
    let mut state = UiState::new("LIVE", false);
    state.switch_to(View::Log);
    handle_key(&mut state, key(KeyCode::Char('/')));
    assert!(state.filter_editing);
    for c in "health".chars() {
        handle_key(&mut state, key(KeyCode::Char(c)));
    }
    // While typing a filter, `q` is text, not quit.
    assert_eq!(
        handle_key(&mut state, key(KeyCode::Char('q'))),
        Action::Redraw
    );
    handle_key(&mut state, key(KeyCode::Backspace));
    handle_key(&mut state, key(KeyCode::Enter));
    assert_eq!(state.log_filter, "health");
    let buf = render_with(&mut state, &m, &Theme::builtin("default").unwrap(), 80, 24);
    let t = text(&buf);
    assert!(t.contains("1 of 31 lines"), "{t}");
    assert!(!t.contains("OPTIONS /api/orders"), "{t}");
    handle_key(&mut state, key(KeyCode::Esc));
    assert!(state.log_filter.is_empty());
}

#[test]
fn too_small_terminal_says_so() {
    let (buf, _) = render(View::Overview, 70, 20);
    let t = text(&buf);
    assert!(t.contains("terminal too small: 70x20, need 80x24"), "{t}");
}

#[test]
fn help_overlay_lists_bindings() {
    let m = model();
    let mut state = UiState::new("DEMO", false);
    handle_key(&mut state, key(KeyCode::Char('?')));
    let buf = render_with(&mut state, &m, &Theme::builtin("default").unwrap(), 80, 24);
    let t = text(&buf);
    for needle in ["Help", "quit", "freeze", "time range", "run the probes now"] {
        assert!(t.contains(needle), "{needle}: {t}");
    }
    insta::assert_snapshot!("help_80x24", t);
    handle_key(&mut state, key(KeyCode::Esc));
    assert!(!state.help);
}

#[test]
fn monochrome_has_no_colour_and_ascii_has_no_box_drawing() {
    let m = model();
    let theme = Theme::load("default", true).unwrap();
    assert_eq!(theme.name, "monochrome");
    for view in View::ALL {
        let mut state = UiState::new("LIVE", true);
        state.switch_to(view);
        let buf = render_with(&mut state, &m, &theme, 120, 40);
        for cell in buf.content() {
            assert_eq!(cell.fg, Color::Reset, "{view:?}");
            assert_eq!(cell.bg, Color::Reset, "{view:?}");
            let s = cell.symbol();
            assert!(
                !s.chars().any(|c| ('\u{2500}'..='\u{259f}').contains(&c)),
                "{view:?}: box/block glyph {s:?}"
            );
        }
    }
    let mut state = UiState::new("LIVE", true);
    state.switch_to(View::Trend);
    let buf = render_with(&mut state, &m, &theme, 80, 24);
    let t = text(&buf);
    assert!(t.contains("+--"), "{t}");
    assert!(t.contains("> "), "selection marker: {t}");
    insta::assert_snapshot!("trend_ascii_80x24", t);
}

#[test]
fn keys_switch_views_and_toggle_modes() {
    let mut s = UiState::new("LIVE", false);
    assert_eq!(handle_key(&mut s, key(KeyCode::Char('3'))), Action::Redraw);
    assert_eq!(s.view, View::Origins);
    handle_key(&mut s, key(KeyCode::Tab));
    assert_eq!(s.view, View::Auth);
    handle_key(&mut s, KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    handle_key(&mut s, KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    handle_key(&mut s, KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    assert_eq!(s.view, View::Overview);
    handle_key(&mut s, KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    assert_eq!(s.view, View::Log, "wraps around");
    handle_key(&mut s, key(KeyCode::Char('1')));
    handle_key(&mut s, key(KeyCode::Char('j')));
    handle_key(&mut s, key(KeyCode::Down));
    assert_eq!(s.selection(), 2);
    handle_key(&mut s, key(KeyCode::Char('k')));
    handle_key(&mut s, key(KeyCode::Up));
    handle_key(&mut s, key(KeyCode::Up));
    assert_eq!(s.selection(), 0, "never below zero");
    handle_key(&mut s, key(KeyCode::Char('f')));
    assert!(s.frozen);
    handle_key(&mut s, key(KeyCode::Char('t')));
    assert_eq!(s.range, TimeRange::H1);
    assert_eq!(
        handle_key(&mut s, key(KeyCode::Char('r'))),
        Action::ProbeNow
    );
    assert_eq!(handle_key(&mut s, key(KeyCode::Char('q'))), Action::Quit);
    assert_eq!(
        handle_key(
            &mut s,
            KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
        ),
        Action::Quit
    );
    assert_eq!(handle_key(&mut s, key(KeyCode::Char('x'))), Action::None);
}

#[test]
fn enter_on_overview_route_opens_its_trend() {
    let m = model();
    let theme = Theme::builtin("default").unwrap();
    let mut s = UiState::new("LIVE", false);
    render_with(&mut s, &m, &theme, 80, 24);
    // Third row: /api/products (the second, /api/orders/{id}, has no preflights).
    let third = s.row_routes[2].clone();
    assert_eq!(third, "/api/products");
    handle_key(&mut s, key(KeyCode::Char('j')));
    handle_key(&mut s, key(KeyCode::Char('j')));
    handle_key(&mut s, key(KeyCode::Enter));
    assert_eq!(s.view, View::Trend);
    let buf = render_with(&mut s, &m, &theme, 80, 24);
    assert!(text(&buf).contains(&format!("{third} OPTIONS by status")));
    handle_key(&mut s, key(KeyCode::Esc));
    assert_eq!(s.view, View::Overview, "Esc goes back");
}

#[test]
fn mouse_clicks_tabs_and_rows() {
    let m = model();
    let theme = Theme::builtin("default").unwrap();
    let mut s = UiState::new("LIVE", false);
    render_with(&mut s, &m, &theme, 80, 24);
    let (probes_tab, _) = *s.hit.tabs.iter().find(|(_, v)| *v == View::Probes).unwrap();
    let click = |x, y| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: x,
        row: y,
        modifiers: KeyModifiers::NONE,
    };
    assert_eq!(
        handle_mouse(&mut s, click(probes_tab.x + 1, probes_tab.y)),
        Action::Redraw
    );
    assert_eq!(s.view, View::Probes);
    render_with(&mut s, &m, &theme, 80, 24);
    let (body, _) = s.hit.rows.unwrap();
    handle_mouse(&mut s, click(body.x + 3, body.y + 1));
    assert_eq!(s.selection(), 1);
    let wheel = MouseEvent {
        kind: MouseEventKind::ScrollUp,
        ..click(0, 0)
    };
    handle_mouse(&mut s, wheel);
    assert_eq!(s.selection(), 0);
}

#[test]
fn svg_screenshot_has_cells_and_colours() {
    let theme = Theme::builtin("default").unwrap();
    let (buf, _) = render(View::Probes, 80, 24);
    let svg = render_svg(&buf, &theme);
    assert!(svg.starts_with("<svg"));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains(">BLOCKED</text>"), "{svg}");
    // verdict_blocked is red in the default theme.
    assert!(svg.contains("fill=\"#cd0000\""));
    assert!(!svg.contains("<script"));
}

#[test]
fn paused_log_holds_still_while_lines_arrive() {
    let theme = Theme::builtin("default").unwrap();
    let mut store = incident_store();
    let mut state = UiState::new("LIVE", false);
    state.switch_to(View::Log);
    render_with(&mut state, &analysis::snapshot(&store, T0), &theme, 80, 24);
    assert_eq!(
        handle_key(&mut state, key(KeyCode::Char('p'))),
        Action::Redraw
    );
    render_with(&mut state, &analysis::snapshot(&store, T0), &theme, 80, 24);
    store.note_raw_line(0, T0 + SECOND, "GET /api/late-arrival 200");
    let later = analysis::snapshot(&store, T0 + SECOND);
    let t = text(&render_with(&mut state, &later, &theme, 80, 24));
    assert!(!t.contains("late-arrival"), "{t}");
    assert!(t.contains("PAUSED, 1 newer"), "{t}");
    handle_key(&mut state, key(KeyCode::Char('p')));
    let t = text(&render_with(&mut state, &later, &theme, 80, 24));
    assert!(t.contains("late-arrival"), "{t}");
    assert!(t.contains("FOLLOWING"), "{t}");
}

#[test]
fn empty_store_and_odd_sizes_never_break() {
    let empty = analysis::snapshot(&Store::new(StoreConfig::default(), TimeMode::EventTime), 0);
    let full = model();
    for theme in [
        "default",
        "light",
        "high-contrast",
        "colorblind",
        "monochrome",
    ] {
        let theme = Theme::builtin(theme).unwrap();
        for view in View::ALL {
            for (w, h) in [
                (1, 1),
                (10, 3),
                (79, 24),
                (80, 23),
                (80, 24),
                (81, 25),
                (120, 30),
            ] {
                for m in [&empty, &full] {
                    let mut state = UiState::new("LIVE", false);
                    state.switch_to(view);
                    // Jump far past the end: drawing clamps the selection.
                    handle_key(&mut state, key(KeyCode::End));
                    handle_key(&mut state, key(KeyCode::Enter));
                    render_with(&mut state, m, &theme, w, h);
                }
            }
        }
    }
    let mut state = UiState::new("LIVE", false);
    let t = text(&render_with(&mut state, &empty, &Theme::default(), 80, 24));
    assert!(t.contains("OK"), "{t}");
    assert!(t.contains("no data in this range yet"), "{t}");
    for view in [View::Trend, View::Probes, View::Log] {
        state.switch_to(view);
        let t = text(&render_with(&mut state, &empty, &Theme::default(), 80, 24));
        assert!(t.contains("no ") || t.contains("no data"), "{view:?}: {t}");
    }
}

#[test]
fn custom_bindings_drive_keys_footer_and_help() {
    let keys: corstop::ui::KeyBindings = toml::from_str(
        r#"
        quit = ["x"]
        freeze = ["ctrl-f"]
        next-view = ["l", "tab"]
        "#,
    )
    .unwrap();
    keys.validate().unwrap();
    let m = model();
    let mut state = UiState::new("DEMO", false).with_keys(keys);
    assert_eq!(
        handle_key(&mut state, key(KeyCode::Char('q'))),
        Action::None
    );
    assert_eq!(
        handle_key(&mut state, key(KeyCode::Char('l'))),
        Action::Redraw
    );
    assert_eq!(state.view, View::Trend);
    handle_key(
        &mut state,
        KeyEvent::new(KeyCode::Char('f'), KeyModifiers::CONTROL),
    );
    assert!(state.frozen);
    // Plain `f` is no longer bound.
    assert_eq!(
        handle_key(&mut state, key(KeyCode::Char('f'))),
        Action::None
    );
    assert!(state.frozen);

    let theme = Theme::builtin("default").unwrap();
    let footer = text(&render_with(&mut state, &m, &theme, 120, 36));
    assert!(footer.contains("x quit"), "{footer}");
    assert!(footer.contains("Ctrl-F unfreeze"), "{footer}");

    handle_key(&mut state, key(KeyCode::Char('?')));
    let help = text(&render_with(&mut state, &m, &theme, 120, 36));
    for needle in [
        " x  quit",
        "Ctrl-F  freeze",
        "l, Tab / Shift-Tab  next / previous view",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
    assert!(!help.contains("q, Ctrl-C"), "{help}");
    assert_eq!(
        handle_key(&mut state, key(KeyCode::Char('x'))),
        Action::Quit
    );
}

#[test]
fn probe_table_names_the_credentials_mode_and_marks_include_among_mixed() {
    let mut s = incident_store();
    let mut bearer = probe(
        "/api/products",
        false,
        &[APP],
        verdict(true, "ok", None, None),
    );
    bearer.shape.credentials = Credentials::SameOrigin;
    bearer.shape.name = "PUT bearer".into();
    s.ingest_probe(bearer);
    let model = analysis::snapshot(&s, T0 + 3 * SECOND);
    let mut state = UiState::new("REPLAY", false);
    state.switch_to(View::Probes);
    let theme = Theme::builtin("default").unwrap();
    let t = text(&render_with(&mut state, &model, &theme, 80, 24));
    assert!(t.contains("credentials mixed, include marked *"), "{t}");
    assert!(t.contains("PUT auth+json *"), "{t}");
    assert!(t.contains("PUT bearer "), "{t}");
    assert!(!t.contains("PUT bearer *"), "{t}");

    // One mode: said once in the title, rows unmarked.
    let t = text(&render(View::Probes, 80, 24).0);
    assert!(t.contains("credentials include"), "{t}");
    assert!(!t.contains("PUT auth+json *"), "{t}");
}

#[test]
fn probe_detail_shows_every_redirect_hop() {
    let mut s = incident_store();
    let mut p = probe(
        "/api/orders",
        true,
        &[APP, APP],
        verdict(false, "acao-multiple", Some(204), Some(Hypothesis::H4)),
    );
    p.redirects.push(corstop::sources::event::RedirectHop {
        url: "https://login.contoso.com/authorize".into(),
        origin: "null".into(),
        method: "GET".into(),
        preflight_request: None,
        preflight: None,
        request: Some(RawRequest {
            method: "GET".into(),
            url: "https://login.contoso.com/authorize".into(),
            headers: vec![("Origin".into(), "null".into())],
        }),
        response: Some(RawResponse {
            status: 200,
            headers: vec![("Content-Type".into(), "text/html".into())],
            elapsed_ms: 12,
        }),
    });
    s.ingest_probe(p);
    let model = analysis::snapshot(&s, T0 + 3 * SECOND);
    let theme = Theme::builtin("default").unwrap();
    let mut state = UiState::new("LIVE", false);
    state.switch_to(View::Probes);
    handle_key(&mut state, key(KeyCode::Enter));
    let t = text(&render_with(&mut state, &model, &theme, 200, 60));
    assert!(
        t.contains("Redirect 1: request (as sent, Origin null)"),
        "{t}"
    );
    assert!(t.contains("GET https://login.contoso.com/authorize"), "{t}");
    assert!(t.contains("Redirect 1: response (as received)"), "{t}");
}

#[test]
fn probes_on_several_hosts_name_the_host_and_codes_match_check() {
    let mut s = incident_store();
    let mut other = probe("/api/orders", true, &[APP], verdict(true, "ok", None, None));
    other.url = "https://api-eu.contoso.com/api/orders".into();
    s.ingest_probe(other);
    let several = analysis::snapshot(&s, T0 + 3 * SECOND);
    let endpoints: Vec<(Option<&str>, &str)> = several
        .probes
        .iter()
        .map(|p| (p.host.as_deref(), p.endpoint.as_str()))
        .collect();
    assert!(
        endpoints.contains(&(Some("api.contoso.com"), "/api/orders")),
        "{endpoints:?}"
    );
    assert!(
        endpoints.contains(&(Some("api-eu.contoso.com"), "/api/orders")),
        "{endpoints:?}"
    );
    // Both hosts on screen, even at 80 columns.
    let mut state = UiState::new("LIVE", false);
    state.switch_to(View::Probes);
    let t = text(&render_with(
        &mut state,
        &several,
        &Theme::builtin("default").unwrap(),
        80,
        24,
    ));
    // The domain they share gives way first, so the hosts still read apart.
    assert!(t.contains("api-eu.…/"), "{t}");
    assert!(t.contains("api.…/api/orders"), "{t}");

    // One host: paths alone, as before.
    assert!(model().probes.iter().all(|p| p.host.is_none()));

    // No response at all: the same code `check --format json` gives, the kind beside it.
    let mut s = incident_store();
    let mut down = probe(
        "/api/down",
        true,
        &[APP],
        verdict(false, "network-error", None, None),
    );
    down.preflight = None;
    down.transport = Some(corstop::sources::event::TransportError {
        kind: corstop::sources::event::TransportKind::Timeout,
        message: "timed out".into(),
    });
    s.ingest_probe(down);
    let model = analysis::snapshot(&s, T0 + 3 * SECOND);
    let row = model
        .probes
        .iter()
        .find(|p| p.endpoint == "/api/down")
        .unwrap();
    assert_eq!(row.code, "network-error");
    assert_eq!(
        row.transport,
        Some(corstop::sources::event::TransportKind::Timeout)
    );
    assert_eq!(model.overview.probes.transport, 1);
}
