//! Every view (the live log aside) drawn from the replayed demo incident at 80×24, 120×40,
//! 200×60 and 300×80: snapshots to review by eye, and the checks that make the layout honest —
//! names shortened with a mark and never cut blind, a route template keeping its `{id}`, every
//! panel naming its window, no large empty area on a big screen, every mark and column the
//! views draw explained by the help's legend, and every table keeping to the selected range.

use std::sync::OnceLock;

use crate::common::buffer_text as text;
use corstop::analysis::{self, TimeRange, ViewModel};
use corstop::demo::replay::{REPLAY_SEED, REPLAY_START, demo_store};
use corstop::demo::{Phase, Script};
use corstop::model::time::{EpochMs, MINUTE, SECOND};
use corstop::sources::event::{AuthClass, AuthRecord, HttpRecord, Method, SourceBatch};
use corstop::store::{Store, StoreConfig, TimeMode};
use corstop::ui::legend;
use corstop::ui::{Theme, UiState, View, draw};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

const SIZES: [(u16, u16); 4] = [(80, 24), (120, 40), (200, 60), (300, 80)];

/// When `phase` starts in the default script, plus `into`.
fn moment(phase: Phase, into: EpochMs) -> EpochMs {
    let script = Script::new(REPLAY_START);
    let start = if phase == Phase::Healthy {
        REPLAY_START
    } else {
        script
            .transitions_between(REPLAY_START, REPLAY_START + script.cycle_ms())
            .into_iter()
            .find(|(_, p)| *p == phase)
            .map(|(t, _)| t)
            .expect("every phase comes once a cycle")
    };
    start + into
}

fn replay_model(at: EpochMs) -> ViewModel {
    let store = demo_store(at - REPLAY_START, REPLAY_SEED).expect("the replay runs");
    analysis::snapshot_range(
        &store,
        store.now(),
        &analysis::AnalysisConfig::default(),
        TimeRange::M15,
    )
}

/// Twenty minutes into the doubled-header phase: browsers refuse every call to the orders
/// routes while the logs show 2xx; the six-hour range still holds H2 and the H3 waves.
fn h4() -> &'static ViewModel {
    static M: OnceLock<ViewModel> = OnceLock::new();
    M.get_or_init(|| replay_model(moment(Phase::DoubleAcao, 20 * MINUTE)))
}

/// Twenty minutes into the preflight-challenged phase.
fn h2() -> &'static ViewModel {
    static M: OnceLock<ViewModel> = OnceLock::new();
    M.get_or_init(|| replay_model(moment(Phase::PreflightAuth, 20 * MINUTE)))
}

/// A UI state for each picture: a name and how to get there.
type Setup = fn(&mut UiState);
const VIEWS: [(&str, Setup); 10] = [
    ("overview", |_| {}),
    ("trend", |s| s.switch_to(View::Trend)),
    ("origins", |s| s.switch_to(View::Origins)),
    ("auth", |s| s.switch_to(View::Auth)),
    ("probes", |s| s.switch_to(View::Probes)),
    ("probe_detail", |s| {
        s.switch_to(View::Probes);
        s.detail = true;
    }),
    ("triage", |s| s.switch_to(View::Triage)),
    ("triage_detail", |s| {
        s.switch_to(View::Triage);
        s.detail = true;
    }),
    ("log", |s| s.switch_to(View::Log)),
    ("help", |s| s.help = true),
];

fn render(model: &ViewModel, w: u16, h: u16, ascii: bool, setup: impl Fn(&mut UiState)) -> Buffer {
    let theme = Theme::builtin("default").unwrap();
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    let mut state = UiState::new("DEMO", ascii);
    setup(&mut state);
    // The first frame records the rows, so a selection lands on a real one.
    terminal
        .draw(|f| draw(f, &mut state, model, &theme))
        .unwrap();
    terminal
        .draw(|f| draw(f, &mut state, model, &theme))
        .unwrap();
    terminal.backend().buffer().clone()
}

#[test]
fn every_view_at_every_size() {
    for (name, setup) in VIEWS {
        for (w, h) in SIZES {
            let t = text(&render(h4(), w, h, false, setup));
            insta::assert_snapshot!(format!("{name}_h4_{w}x{h}"), t);
        }
    }
    // The preflight-challenged phase on the overview, where the status and the routes differ.
    for (w, h) in SIZES {
        let t = text(&render(h2(), w, h, false, |_| {}));
        insta::assert_snapshot!(format!("overview_h2_{w}x{h}"), t);
    }
}

/// Tokens on screen that begin like `name` (its first eight columns, scheme dropped or not).
fn renderings<'a>(screen: &'a str, name: &str) -> Vec<&'a str> {
    let bare = name.split_once("://").map_or(name, |(_, b)| b);
    let head: String = bare.chars().take(12).collect();
    let starts: Vec<String> = vec![head.clone(), format!("https://{head}")];
    screen
        .split(|c: char| c.is_whitespace() || "│┌┐└┘─|+".contains(c))
        .map(|t| {
            t.trim_start_matches(['~', '▶', '>', '!'])
                .trim_end_matches([':', ',', ';', ')', '\'', '"'])
        })
        .filter(|t| starts.iter().any(|s| t.starts_with(s.as_str())))
        .collect()
}

/// A name is shown whole, without `https://`, or with a marked cut whose two sides are its
/// start and its end; a route ending in a placeholder keeps it.
fn check_names(screen: &str, names: &[String], ell: &str, what: &str) {
    for name in names {
        let bare = name.strip_prefix("https://").unwrap_or(name);
        for token in renderings(screen, name) {
            if token == name || token == bare {
                continue;
            }
            // A longer name sharing the start (`/api/orders` and `/api/orders/{id}`).
            if names
                .iter()
                .any(|n| n != name && (n == token || n.ends_with(token)))
            {
                continue;
            }
            let Some((head, tail)) = token.split_once(ell) else {
                panic!("{what} {name:?} cut without a mark as {token:?}\n{screen}");
            };
            assert!(
                name.starts_with(head) || bare.starts_with(head),
                "{what} {name:?} shown as {token:?}\n{screen}"
            );
            assert!(
                name.ends_with(tail),
                "{what} {name:?} shown as {token:?}\n{screen}"
            );
            if name.ends_with('}') {
                let last = name.rsplit('/').next().unwrap();
                assert!(token.ends_with(last), "{name:?} lost {last} as {token:?}");
            }
        }
    }
}

#[test]
fn names_are_shortened_with_a_mark_never_cut() {
    let m = h4();
    let mut routes: Vec<String> = m.overview.routes.iter().map(|r| r.route.clone()).collect();
    routes.extend(
        m.trend(TimeRange::M15)
            .routes
            .iter()
            .map(|r| r.route.clone()),
    );
    let origins: Vec<String> = m
        .origin_table(TimeRange::H6)
        .cells
        .iter()
        .map(|c| c.origin.clone())
        .collect();
    assert!(routes.iter().any(|r| r.ends_with("/{id}")), "{routes:?}");
    for ascii in [false, true] {
        let ell = if ascii { "~" } else { "…" };
        for (name, setup) in VIEWS {
            if name == "help" {
                continue;
            }
            for (w, h) in SIZES {
                let screen = text(&render(m, w, h, ascii, setup));
                check_names(&screen, &routes, ell, "route");
                check_names(&screen, &origins, ell, "origin");
            }
        }
    }
    // The routes the issue named, at 80×24: `{id}` stays.
    let screen = text(&render(m, 80, 24, false, |_| {}));
    assert!(
        screen.contains("/api/orders/{id}") || screen.contains("/{id}"),
        "{screen}"
    );
    assert!(!screen.contains("/api/orders/ "), "{screen}");
}

#[test]
fn every_panel_names_its_window_and_follows_the_range() {
    let m = h4();
    for (range, label) in [
        (TimeRange::M15, "last 15m"),
        (TimeRange::H1, "last 1h"),
        (TimeRange::H6, "last 6h"),
    ] {
        for (name, setup) in VIEWS {
            // The probes show each check's latest round and the log its latest lines, whatever
            // the range; each says so below.
            if matches!(
                name,
                "help" | "probes" | "probe_detail" | "triage_detail" | "log"
            ) {
                continue;
            }
            let screen = text(&render(m, 200, 60, false, |s| {
                setup(s);
                s.range = range;
            }));
            // Every panel's top border carries a title naming what it covers.
            for line in screen.lines().filter(|l| l.contains('┌')) {
                for title in line.split('┌').skip(1) {
                    let title = title.split('┐').next().unwrap_or("");
                    let t = title.trim_matches('─');
                    assert!(
                        t.contains("last ") || t.contains("since start") || t.contains("latest"),
                        "{name}: panel {t:?} does not name its window\n{screen}"
                    );
                }
            }
            if name != "triage" {
                assert!(screen.contains(label), "{name} at {label}\n{screen}");
            }
        }
    }
    for view in [View::Probes, View::Log] {
        let screen = text(&render(m, 120, 40, false, |s| s.switch_to(view)));
        assert!(screen.contains("latest"), "{screen}");
    }
}

#[test]
fn large_screens_leave_no_large_empty_area() {
    // The body's rows that hold nothing but borders and blanks: the overview used to leave
    // about 35 of them at 200×60. (Tables elsewhere grow with their data; their snapshots
    // are reviewed by eye.)
    for (phase, m) in [("H2", h2()), ("H4", h4())] {
        for (w, h) in [(200u16, 60u16), (300, 80)] {
            let screen = text(&render(m, w, h, false, |_| {}));
            let empty = screen
                .lines()
                .skip(2)
                .filter(|l| {
                    let inner: String = l.chars().filter(|c| !"│┌┐└┘─ ▶".contains(*c)).collect();
                    inner.is_empty()
                })
                .count();
            let limit = (h as usize) / 4;
            assert!(
                empty <= limit,
                "overview in {phase} at {w}x{h}: {empty} empty rows (limit {limit})\n{screen}"
            );
        }
    }
}

/// Characters views draw that need no legend: letters, digits, ordinary punctuation, and the
/// frames and bars of the glyph sets (whose meaning the ramp and score-bar entries give).
fn ordinary(c: char) -> bool {
    c.is_alphanumeric()
        || c.is_whitespace()
        || ".,:;'\"()[]{}/-_=+%&?@#$".contains(c)
        // Separators in titles.
        || "·—".contains(c)
        // Periods and spans (`60m ± 2m`, `55–65m`).
        || "±–".contains(c)
        // Shell commands in the next checks.
        || "|^`>\\".contains(c)
        // Quotes inside browser messages.
        || "‘’“”".contains(c)
        || ('\u{2500}'..='\u{257f}').contains(&c)
        || "▁▂▃▄▅▆▇█░".contains(c)
}

#[test]
fn the_legend_explains_every_mark_and_column_the_views_draw() {
    let _ = legend::take_used();
    let mut symbols: Vec<(char, String)> = Vec::new();
    let models = [h2(), h4()];
    for m in models {
        for (name, setup) in VIEWS {
            if name == "help" {
                continue;
            }
            for (w, h) in SIZES {
                for ascii in [false, true] {
                    for range in TimeRange::ALL {
                        let buf = render(m, w, h, ascii, |s| {
                            setup(s);
                            s.range = range;
                        });
                        if ascii {
                            continue;
                        }
                        for c in text(&buf).chars().filter(|c| !ordinary(*c)) {
                            if !symbols.iter().any(|(x, _)| *x == c) {
                                symbols.push((c, format!("{name} {w}x{h}")));
                            }
                        }
                    }
                }
            }
        }
    }
    let used = legend::take_used();
    let all: Vec<&legend::Entry> = legend::SECTIONS
        .iter()
        .flat_map(|s| s.entries.iter().copied())
        .collect();
    for (c, at) in &symbols {
        assert!(
            all.iter().any(|e| e.glyph.contains(*c)),
            "{c:?} drawn ({at}) is in no legend entry"
        );
    }
    for e in &used.entries {
        assert!(legend::lists(e), "{e:?} drawn but not in the legend");
    }
    for h in &used.headers {
        assert!(legend::explains_header(h), "column {h:?} is not explained");
    }
    for c in &used.codes {
        assert!(legend::code(c).is_some(), "code {c:?} is not explained");
    }
    // The scenarios reach the marks that matter here.
    for needle in ["Unfol", "Hid", "xo%", "OPT"] {
        assert!(used.headers.contains(&needle), "{needle} never drawn");
    }
    for e in [
        &legend::CRITICAL,
        &legend::DERIVED,
        &legend::BELOW_OBJECTIVE,
    ] {
        assert!(
            used.entries.iter().any(|u| std::ptr::eq(*u, e)),
            "{e:?} never drawn"
        );
    }
    assert!(!used.codes.is_empty());

    // And the help shows each of them: its mark and the start of its meaning.
    for ascii in [false, true] {
        let help = text(&render(h4(), 300, 80, ascii, |s| s.help = true));
        for e in &used.entries {
            let mark = if ascii { e.ascii } else { e.glyph };
            let start: String = e
                .meaning
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            assert!(help.contains(mark), "help lacks {mark:?}\n{help}");
            assert!(help.contains(&start), "help lacks {start:?}\n{help}");
        }
        for h in used
            .headers
            .iter()
            .filter(|h| !legend::PLAIN_HEADERS.contains(h))
        {
            assert!(help.contains(*h), "help lacks the column {h:?}\n{help}");
        }
    }
}

#[test]
fn the_help_scrolls_through_the_whole_legend_at_80x24() {
    use corstop::ui::handle_key;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let theme = Theme::builtin("default").unwrap();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let mut state = UiState::new("DEMO", false);
    state.help = true;
    let mut seen = String::new();
    for _ in 0..200 {
        terminal
            .draw(|f| draw(f, &mut state, h4(), &theme))
            .unwrap();
        seen.push_str(&text(terminal.backend().buffer()));
        handle_key(
            &mut state,
            KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE),
        );
    }
    assert!(state.help, "scrolling keeps the help open");
    for s in legend::SECTIONS.iter().filter(|s| !s.entries.is_empty()) {
        assert!(seen.contains(s.title), "{} never shown", s.title);
        for e in s.entries {
            let start: String = e
                .meaning
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            assert!(seen.contains(&start), "{start:?} never shown");
        }
    }
}

#[test]
fn refused_preflights_fail_in_the_origins_view_with_their_reason() {
    let m = h4();
    let table = m.origin_table(TimeRange::M15);
    let orders: Vec<_> = table
        .cells
        .iter()
        .filter(|c| c.route.starts_with("/api/orders"))
        .collect();
    assert!(!orders.is_empty());
    for c in &orders {
        assert!(c.failed > 0, "{c:?}");
        assert!(c.refused.total() > 0, "{c:?}");
        assert!(c.why().contains("refused"), "{}", c.why());
    }
    // The probe names the doubled header where it probed.
    assert!(
        orders
            .iter()
            .any(|c| c.probe_code.as_deref() == Some("acao-multiple")),
        "{orders:?}"
    );
    let buf = render(m, 120, 40, false, |s| s.switch_to(View::Origins));
    let screen = text(&buf);
    assert!(screen.contains("refused"), "{screen}");
    for line in screen.lines().filter(|l| l.contains("/api/orders")) {
        assert!(
            !line.contains(" 0.0% "),
            "an orders row reads 0.0 %\n{screen}"
        );
    }
    // Meaning carried by mark and colour: the rate of a refused pair is in the `bad` style.
    let theme = Theme::builtin("default").unwrap();
    let (x, y) = find(&buf, "100.0%").expect("a fully refused pair");
    assert_eq!(buf[(x, y)].fg, theme.bad.fg.unwrap());
}

#[test]
fn marks_carry_their_style() {
    let theme = Theme::builtin("default").unwrap();
    let m = h4();
    let buf = render(m, 80, 24, false, |_| {});
    // The critical mark before /api/orders, in the critical style.
    let (x, y) = find(&buf, "! /").expect("a critical route");
    assert_eq!(buf[(x, y)].fg, theme.critical.fg.unwrap());
    let buf = render(m, 80, 24, false, |s| s.switch_to(View::Probes));
    let (x, y) = find(&buf, "BLOCKED").expect("a blocked probe");
    assert_eq!(buf[(x, y)].fg, theme.verdict_blocked.fg.unwrap());
    let buf = render(m, 200, 60, false, |s| s.switch_to(View::Origins));
    if let Some((x, y)) = find(&buf, "~") {
        assert_eq!(buf[(x, y)].fg, theme.derived.fg.unwrap());
    }
}

fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    for y in 0..buf.area.height {
        let cells: Vec<&str> = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        let line: String = cells.concat();
        if let Some(i) = line.find(needle) {
            let col = line[..i].chars().count();
            return Some((col as u16, y));
        }
    }
    None
}

#[test]
fn the_latest_auth_failures_keep_to_the_range() {
    const NOW: EpochMs = 1_775_298_662_000;
    let mut s = Store::new(StoreConfig::default(), TimeMode::EventTime).with_now(NOW);
    let src = s.register_source("auth.log");
    let mut batch = SourceBatch {
        source: src,
        lines: 3,
        format: Some("appservice-auth"),
        ..Default::default()
    };
    let bucket = StoreConfig::default().bucket_ms;
    let m15 = TimeRange::M15.span_ms();
    // The range starts at its first bucket: one sample a bucket before it, one just inside.
    let first_bucket = (NOW.div_euclid(bucket) + 1) * bucket - m15;
    for (t, msg) in [
        (first_bucket - bucket, "IDX10223: outside the 15 minutes"),
        (first_bucket + SECOND, "IDX10223: inside the 15 minutes"),
        (NOW - 30 * SECOND, "IDX10223: newest"),
    ] {
        batch.auth.push(AuthRecord {
            time: t,
            operation: "ValidateToken".into(),
            class: Some(AuthClass::Expired),
            status: Some(401),
            message: msg.into(),
        });
    }
    batch.http.push(HttpRecord {
        time: NOW,
        method: Method::Get,
        path: "/api/orders".into(),
        status: 401,
        ..Default::default()
    });
    s.apply_batch(batch, NOW);
    let m = analysis::snapshot(&s, NOW);
    let in15: Vec<&str> = m
        .auth_samples_in(TimeRange::M15)
        .iter()
        .map(|a| a.message.as_str())
        .collect();
    assert_eq!(
        in15,
        ["IDX10223: newest", "IDX10223: inside the 15 minutes"],
        "axis starts at {}",
        m.auth_timeline(TimeRange::M15).axis.start
    );
    assert_eq!(m.auth_samples_in(TimeRange::H1).len(), 3);
    let screen = text(&render(&m, 120, 40, false, |s| s.switch_to(View::Auth)));
    assert!(screen.contains("inside the 15 minutes"), "{screen}");
    assert!(!screen.contains("outside the 15 minutes"), "{screen}");
    let screen = text(&render(&m, 120, 40, false, |s| {
        s.switch_to(View::Auth);
        s.range = TimeRange::H1;
    }));
    assert!(screen.contains("outside the 15 minutes"), "{screen}");
}
