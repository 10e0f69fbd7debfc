//! The live log as the operator reads it: lines of an Azure diagnostic export, an nginx
//! combined log with the CORS tail and a multi-line auth log go through the real live sources
//! into the store, keep the fields their records carried, and show as columns (snapshots at
//! 80x24 and 200x60), with marks that carry the meaning without colour, the raw line on Enter
//! and sideways scrolling.

use std::io::Cursor;

use crate::common::buffer_text as text;
use corstop::analysis::{self, LogLine, Outcome, ViewModel};
use corstop::model::time::{SECOND, format_hms};
use corstop::sources::event::{AcaoSeen, AuthClass, Method};
use corstop::sources::formats::FormatOptions;
use corstop::sources::live::spawn_stream_source;
use corstop::store::logline::HttpFields;
use corstop::store::{LineFields, Store, StoreConfig, TimeMode};
use corstop::ui::views::log::{LOG_MARKS, mark};
use corstop::ui::{Action, Theme, UiState, View, handle_key};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

const T0: i64 = 1_775_298_662_000; // 2026-04-04T10:31:02Z
const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlc2lnbmF0dXJl";

/// One `AppServiceHTTPLogs` record on a line, as a diagnostic setting exports it.
fn json_line(
    sec: u32,
    method: &str,
    path: &str,
    query: &str,
    status: u16,
    referer: &str,
) -> String {
    format!(
        r#"{{"category":"AppServiceHTTPLogs","time":"2026-04-04T10:31:{sec:02}.000Z","resourceId":"/SUBSCRIPTIONS/0000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.WEB/SITES/CONTOSO-API","operationName":"Microsoft.Web/sites/log","properties":{{"CsMethod":"{method}","CsUriStem":"{path}","CsUriQuery":"{query}","SPort":"443","CIp":"203.0.113.7","UserAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36","Cookie":"-","Referer":"{referer}","CsHost":"contoso-api.azurewebsites.net","ScStatus":{status},"TimeTaken":38,"ComputerName":"RD0003FF"}}}}"#
    )
}

fn json_log() -> String {
    let app = "https://app.contoso.com/orders";
    [
        json_line(2, "OPTIONS", "/api/orders", "-", 401, app),
        json_line(3, "GET", "/api/orders/8812", "expand=lines", 200, app),
        json_line(
            4,
            "PUT",
            "/api/orders/8812",
            &format!("access_token={TOKEN}"),
            403,
            app,
        ),
        json_line(5, "GET", "/health", "-", 503, "-"),
        "this line is not JSON".to_string(),
        json_line(6, "OPTIONS", "/api/products", "-", 204, app),
    ]
    .join("\n")
        + "\n"
}

/// nginx combined with `"$http_origin" "$sent_http_access_control_allow_origin"
/// $request_time`, and a browser user agent that used to push the CORS fields off screen.
fn combined_log() -> String {
    let ua = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15";
    let line = |sec: u32, req: &str, status: u16, origin: &str, acao: &str, took: &str| {
        format!(
            r#"198.51.100.2 - - [04/Apr/2026:10:31:{sec:02} +0000] "{req} HTTP/1.1" {status} 0 "https://app.contoso.com/" "{ua}" "{origin}" "{acao}" {took}"#
        )
    };
    let app = "https://app.contoso.com";
    [
        line(
            10,
            "OPTIONS /api/orders",
            204,
            app,
            "https://app.contoso.com, https://app.contoso.com",
            "0.004",
        ),
        line(11, "GET /api/orders/8812?x=1", 200, app, app, "0.012"),
        line(
            12,
            "OPTIONS /api/invoices",
            204,
            "https://evil.example",
            "-",
            "0.002",
        ),
        line(13, "GET /api/orders/8812", 404, app, app, "0.007"),
        line(14, "GET /login", 302, "-", "-", "0.001"),
    ]
    .join("\n")
        + "\n"
}

/// Two entries, the first an exception whose stack follows on indented lines.
fn auth_log() -> String {
    [
        "2026-04-04T10:31:20Z ValidateToken Microsoft.IdentityModel.Tokens.SecurityTokenExpiredException: IDX10223: Lifetime validation failed. The token is expired.",
        "   at Microsoft.IdentityModel.Tokens.Validators.ValidateLifetime(Nullable`1 notBefore)",
        "   at Microsoft.AspNetCore.Authentication.JwtBearer.JwtBearerHandler.HandleAuthenticateAsync()",
        "2026-04-04T10:31:21Z ValidateToken IDX10214: Audience validation failed. Audiences: 'api://other'.",
    ]
    .join("\n")
        + "\n"
}

/// Reads each text through a live stream source into one store, as the dashboard does.
fn store_of(sources: &[(&str, &str, String)]) -> Store {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut store = Store::new(StoreConfig::default(), TimeMode::EventTime).with_now(T0);
    for (label, format, text) in sources {
        let id = store.register_source(label);
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let format = (!format.is_empty()).then(|| format.to_string());
        rt.block_on(async {
            let task = spawn_stream_source(
                Cursor::new(text.clone().into_bytes()),
                id,
                format,
                FormatOptions::default(),
                tx,
            );
            while let Some(ev) = rx.recv().await {
                store.apply(ev, T0 + 30 * SECOND);
            }
            task.await.unwrap();
        });
    }
    store
}

fn incident() -> Store {
    store_of(&[
        ("app.json", "", json_log()),
        ("nginx", "", combined_log()),
        ("auth.log", "appservice-auth", auth_log()),
    ])
}

fn http(l: &LogLine) -> &HttpFields {
    match &l.fields {
        Some(LineFields::Http(h)) => h,
        other => panic!("{:?} has no request fields: {other:?}", l.text),
    }
}

#[test]
fn kept_lines_carry_the_fields_of_their_records() {
    let m = analysis::snapshot(&incident(), T0 + 30 * SECOND);
    let by_source = |s: &str| -> Vec<&LogLine> { m.log.iter().filter(|l| l.source == s).collect() };

    let json = by_source("app.json");
    assert_eq!(json.len(), 6);
    let h = http(json[1]);
    assert_eq!(h.method, Method::Get);
    assert_eq!(h.route, "/api/orders/{id}");
    assert_eq!(h.status, 200);
    assert_eq!(h.latency_ms, Some(38));
    assert_eq!(h.time, T0 + SECOND);
    // The export has no Origin field: the page's origin comes from the Referer, and says so.
    assert_eq!(h.origin.as_deref(), Some("https://app.contoso.com"));
    assert!(h.origin_derived);
    assert_eq!(h.acao_seen, AcaoSeen::NotLogged);
    assert!(
        json[4].fields.is_none(),
        "the broken line keeps its text only"
    );
    assert_eq!(json[4].outcome, Outcome::Text);
    assert!(!json[2].text.contains(TOKEN), "{}", json[2].text);
    let outcomes: Vec<Outcome> = json.iter().map(|l| l.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::AuthFailure,
            Outcome::Ok,
            Outcome::AuthFailure,
            Outcome::ServerError,
            Outcome::Text,
            Outcome::Ok,
        ]
    );

    let nginx = by_source("nginx");
    assert_eq!(nginx.len(), 5);
    let doubled = http(nginx[0]);
    assert_eq!(doubled.acao_seen, AcaoSeen::Multiple);
    assert_eq!(
        doubled.acao.as_deref(),
        Some("https://app.contoso.com, https://app.contoso.com")
    );
    assert_eq!(http(nginx[0]).latency_ms, Some(4));
    assert!(!http(nginx[1]).origin_derived);
    assert_eq!(http(nginx[2]).acao_seen, AcaoSeen::Missing);
    let outcomes: Vec<Outcome> = nginx.iter().map(|l| l.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::CorsRefused,
            Outcome::Ok,
            Outcome::CorsRefused,
            Outcome::ClientError,
            Outcome::Redirect,
        ]
    );

    // Each auth entry sits beside the line that began it, not the one that ended it.
    let auth = by_source("auth.log");
    assert_eq!(auth.len(), 4);
    let classes: Vec<Option<(AuthClass, i64)>> = auth
        .iter()
        .map(|l| match &l.fields {
            Some(LineFields::Auth(a)) => a.class.map(|c| (c, a.time)),
            _ => None,
        })
        .collect();
    assert_eq!(
        classes,
        [
            Some((AuthClass::Expired, T0 + 18 * SECOND)),
            None,
            None,
            Some((AuthClass::Audience, T0 + 19 * SECOND)),
        ]
    );
    assert_eq!(auth[1].outcome, Outcome::Text);
}

fn render(state: &mut UiState, m: &ViewModel, theme: &Theme, w: u16, h: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    let g = corstop::ui::glyphs::glyphs(state.ascii);
    terminal
        .draw(|f| corstop::ui::views::log(f, Rect::new(0, 0, w, h), state, m, theme, g))
        .unwrap();
    terminal.backend().buffer().clone()
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn log_state(ascii: bool) -> UiState {
    let mut state = UiState::new("REPLAY", ascii);
    state.switch_to(View::Log);
    state
}

#[test]
fn columns_at_80x24_and_200x60() {
    let m = analysis::snapshot(&incident(), T0 + 30 * SECOND);
    let theme = Theme::builtin("default").unwrap();
    for (w, h) in [(80, 24), (200, 60)] {
        let mut state = log_state(false);
        let t = text(&render(&mut state, &m, &theme, w, h));
        for want in [
            "OPTIONS",
            "/api/orders/{id}",
            "401",
            "10:31:02",
            "app.json",
            "nginx",
        ] {
            assert!(t.contains(want), "{want} missing at {w}x{h}:\n{t}");
        }
        assert!(
            !t.contains(r#"{"category""#),
            "raw JSON shown at {w}x{h}:\n{t}"
        );
        assert!(!t.contains(TOKEN), "{t}");
        insta::assert_snapshot!(format!("log_view_{w}x{h}"), t);
    }
    // At 200 columns the CORS columns of a browser request are all on screen.
    let mut state = log_state(false);
    let t = text(&render(&mut state, &m, &theme, 200, 60));
    assert!(
        t.contains("2x https://app.contoso.com, https://app.contoso.com"),
        "{t}"
    );
    assert!(t.contains("https://evil.example"), "{t}");
    assert!(
        t.contains("~https://app.contoso.com"),
        "derived origin marked: {t}"
    );
    assert!(t.contains("503"), "{t}");
}

#[test]
fn marks_carry_the_outcome_without_colour() {
    let m = analysis::snapshot(&incident(), T0 + 30 * SECOND);
    let mono = Theme::builtin("monochrome").unwrap();
    for ascii in [false, true] {
        let mut state = log_state(ascii);
        let buf = render(&mut state, &m, &mono, 200, 60);
        let t = text(&buf);
        for o in [
            Outcome::Ok,
            Outcome::Redirect,
            Outcome::ClientError,
            Outcome::AuthFailure,
            Outcome::ServerError,
            Outcome::CorsRefused,
            Outcome::Text,
        ] {
            let row = m.log.iter().find(|l| l.outcome == o).unwrap();
            let time = row.time().map_or_else(|| " ".repeat(8), format_hms);
            let cell = format!("{time} {:<2} {}", mark(o, ascii), row.source);
            assert!(t.contains(&cell), "no {cell:?} for {o:?}:\n{t}");
        }
        if ascii {
            assert!(t.is_ascii(), "{t}");
        }
        assert!(
            buf.content()
                .iter()
                .all(|c| c.fg == ratatui::style::Color::Reset),
            "monochrome uses no colour"
        );
    }
    // The legend table names each mark once, in both sets.
    assert_eq!(LOG_MARKS.len(), Outcome::ALL.len());
}

#[test]
fn enter_shows_the_raw_line_and_arrows_scroll_sideways() {
    let m = analysis::snapshot(&incident(), T0 + 30 * SECOND);
    let theme = Theme::builtin("default").unwrap();
    let mut state = log_state(false);
    let filter = "source:app.json status:4xx method:put";
    state.log_filter = filter.into();
    let t = text(&render(&mut state, &m, &theme, 120, 36));
    assert!(t.contains("1 of 15 lines"), "{t}");
    assert_eq!(handle_key(&mut state, key(KeyCode::Enter)), Action::Redraw);
    assert!(state.detail && state.log_paused);
    let t = text(&render(&mut state, &m, &theme, 120, 36));
    assert!(t.contains("raw line (redacted)"), "{t}");
    assert!(t.contains(r#"{"category":"AppServiceHTTPLogs""#), "{t}");
    assert!(t.contains("PUT /api/orders/{id} -> 403"), "{t}");
    assert!(t.contains("(from the Referer)"), "{t}");
    assert!(
        !t.contains(TOKEN),
        "the token is redacted in the raw line:\n{t}"
    );
    handle_key(&mut state, key(KeyCode::Esc));
    assert!(!state.detail);
    let t = text(&render(&mut state, &m, &theme, 120, 36));
    assert!(!t.contains("raw line (redacted)"), "{t}");

    // Sideways: Right moves the columns, Left back, Home to the start.
    let mut state = log_state(false);
    let before = text(&render(&mut state, &m, &theme, 80, 24));
    handle_key(&mut state, key(KeyCode::Right));
    handle_key(&mut state, key(KeyCode::Right));
    let t = text(&render(&mut state, &m, &theme, 80, 24));
    assert_eq!(state.log_hscroll, 16);
    assert_ne!(t, before);
    // The time, mark and source stay where they are.
    assert!(t.contains("10:31:06"), "{t}");
    handle_key(&mut state, key(KeyCode::Left));
    assert_eq!(state.log_hscroll, 8);
    handle_key(&mut state, key(KeyCode::Home));
    assert_eq!(state.log_hscroll, 0);
    assert_eq!(text(&render(&mut state, &m, &theme, 80, 24)), before);
    // Far right stops at the widest row.
    for _ in 0..200 {
        handle_key(&mut state, key(KeyCode::Right));
    }
    let far = text(&render(&mut state, &m, &theme, 80, 24));
    let stop = state.log_hscroll;
    assert!(stop > 0 && stop < 1600, "{stop}");
    handle_key(&mut state, key(KeyCode::Right));
    assert_eq!(text(&render(&mut state, &m, &theme, 80, 24)), far);
    assert_eq!(state.log_hscroll, stop);
}
