//! The headless reader on generated files, and the live source task against it.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use corstop::model::time::now_ms;
use corstop::sources::event::Event;
use corstop::sources::formats::FormatOptions;
use corstop::sources::live::{LogSourceSpec, spawn_log_source, spawn_stream_source};
use corstop::store::reader::{Parallelism, ReadError, read_to_end, read_to_end_with};
use corstop::store::{Store, StoreConfig, TimeMode};

const METHODS: [&str; 4] = ["OPTIONS", "GET", "POST", "DELETE"];
const STATUSES: [u16; 5] = [204, 200, 401, 403, 500];

/// One App Service HTTP text line; 20 ms apart so a few thousand lines span minutes.
fn http_line(i: u64) -> String {
    let ms = 37_800_000 + i * 20; // from 10:30:00
    let (h, m, s, frac) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!(
        "2026-04-04T{h:02}:{m:02}:{s:02}.{frac:03}Z {} /api/r{}/{} {} {}\n",
        METHODS[(i % 4) as usize],
        i % 9,
        i * 7,
        STATUSES[(i % 5) as usize],
        i % 300
    )
}

fn event_store() -> Store {
    Store::new(StoreConfig::default(), TimeMode::EventTime)
}

fn spec(path: &Path) -> LogSourceSpec {
    LogSourceSpec::new(path.display().to_string())
}

/// The counts of a store by name (ids may differ between stores).
fn snapshot(s: &Store) -> Vec<String> {
    let mut out: Vec<String> = s
        .totals()
        .iter()
        .map(|(k, c)| {
            format!(
                "T {} {} {} {} {c}",
                s.route_name(k.route),
                k.method,
                k.status,
                s.origin_name(k.origin)
            )
        })
        .collect();
    out.sort();
    for (start, b) in s.window(s.config().retention_ms) {
        let Some(b) = b else { continue };
        let mut keys: Vec<String> = b
            .http
            .iter()
            .map(|(k, c)| {
                format!(
                    "B {start} {} {} {} {c}",
                    s.route_name(k.route),
                    k.method,
                    k.status
                )
            })
            .collect();
        keys.sort();
        out.extend(keys);
        out.push(format!("L {start} {} {}", b.latency_sum_ms, b.latency_n));
    }
    for src in s.sources() {
        out.push(format!(
            "S {} {} {} {} {} {:?}",
            src.label, src.lines, src.http_events, src.skipped, src.parse_errors, src.format
        ));
    }
    out
}

#[test]
fn exact_counts_with_errors_blanks_and_an_unterminated_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("http.log");
    let mut text = String::new();
    for i in 0..5_000 {
        text.push_str(&http_line(i));
        if i % 1000 == 999 {
            text.push_str("garbage here Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig\n");
            text.push('\n');
        }
    }
    text.push_str("2026-04-04T10:35:00Z GET /api/last 200 1");
    fs::write(&path, &text).unwrap();

    let mut store = event_store();
    let summary = read_to_end(&[spec(&path)], &FormatOptions::default(), &mut store).unwrap();
    let s = &summary.sources[0];
    assert_eq!(s.lines, 5_000 + 5 + 5 + 1);
    assert_eq!(s.skipped, 5);
    assert_eq!(s.parse_errors, 5);
    assert_eq!(s.bytes, text.len() as u64);
    assert_eq!(s.format, Some("appservice-http"));
    assert_eq!(store.totals().values().sum::<u64>(), 5_001);

    let st = &store.sources()[0];
    assert_eq!((st.lines, st.skipped, st.parse_errors), (5_011, 5, 5));
    assert_eq!(st.http_events, 5_001);
    assert_eq!(st.format, Some("appservice-http"));
    let (sample, reason) = st.last_error.clone().unwrap();
    assert!(sample.starts_with("garbage here"), "{sample}");
    assert!(!sample.contains("payload"), "sample not redacted: {sample}");
    assert!(!reason.is_empty());
    // OPTIONS /api/r0 ... lines: i % 4 == 0 and i % 9 == 0, i.e. i % 36 == 0.
    let r0 = store.routes.lookup("/api/r0/{id}").unwrap();
    let options_r0: u64 = store
        .totals()
        .iter()
        .filter(|(k, _)| k.route == r0 && k.method == corstop::sources::event::Method::Options)
        .map(|(_, c)| c)
        .sum();
    assert_eq!(
        options_r0,
        (0..5_000).filter(|i| i % 36 == 0).count() as u64
    );
}

#[test]
fn a_ten_megabyte_line_is_one_parse_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    let mut f = fs::File::create(&path).unwrap();
    for i in 0..100 {
        f.write_all(http_line(i).as_bytes()).unwrap();
    }
    f.write_all(b"2026-04-04T10:31:02Z GET /").unwrap();
    f.write_all(&vec![b'a'; 10 << 20]).unwrap();
    f.write_all(b" 200 1\n").unwrap();
    for i in 100..200 {
        f.write_all(http_line(i).as_bytes()).unwrap();
    }
    drop(f);
    for par in [Parallelism::Single, Parallelism::Split(2)] {
        let mut store = event_store();
        let summary =
            read_to_end_with(&[spec(&path)], &FormatOptions::default(), &mut store, par).unwrap();
        let s = &summary.sources[0];
        assert_eq!((s.lines, s.parse_errors), (201, 1), "{par:?}");
        assert_eq!(store.totals().values().sum::<u64>(), 200);
        let (sample, reason) = store.sources()[0].last_error.clone().unwrap();
        assert!(reason.starts_with("line too long"), "{reason}");
        assert!(sample.len() < 2_000);
    }
}

#[test]
fn invalid_utf8_is_a_counted_parse_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bytes.log");
    let mut data = Vec::new();
    for i in 0..50 {
        data.extend_from_slice(http_line(i).as_bytes());
        if i % 10 == 5 {
            data.extend_from_slice(b"2026-04-04T10:31:02Z GET /api/\xff\xfe 200 1\n");
        }
    }
    fs::write(&path, &data).unwrap();
    let mut store = event_store();
    let summary = read_to_end(&[spec(&path)], &FormatOptions::default(), &mut store).unwrap();
    assert_eq!(summary.sources[0].lines, 55);
    assert_eq!(summary.sources[0].parse_errors, 5);
    assert_eq!(store.totals().values().sum::<u64>(), 50);
    let (sample, _) = store.sources()[0].last_error.clone().unwrap();
    assert!(sample.contains('\u{FFFD}'));
}

#[test]
fn split_reads_give_the_same_store_as_one_thread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.log");
    let mut text = String::new();
    for i in 0..40_000 {
        text.push_str(&http_line(i));
        if i % 997 == 0 {
            text.push_str("not a log line\n");
        }
    }
    fs::write(&path, &text).unwrap();
    let read = |par| {
        let mut store = event_store();
        let summary =
            read_to_end_with(&[spec(&path)], &FormatOptions::default(), &mut store, par).unwrap();
        (summary, store)
    };
    let (one, single) = read(Parallelism::Single);
    assert_eq!(one.sources[0].threads, 1);
    assert_eq!(one.sources[0].parse_errors, 41);
    for n in [2, 3, 5] {
        let (sum, split) = read(Parallelism::Split(n));
        assert_eq!(sum.sources[0].threads, n);
        assert_eq!(
            (sum.lines(), sum.bytes(), sum.parse_errors()),
            (one.lines(), one.bytes(), one.parse_errors())
        );
        assert_eq!(snapshot(&split), snapshot(&single), "split into {n}");
        assert_eq!(split.dropped_too_old, single.dropped_too_old);
    }
}

#[test]
fn stateful_formats_are_read_on_one_thread() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/logs/kudu.log");
    let read = |par| {
        let mut store = event_store();
        let summary = read_to_end_with(
            &[spec(&fixture)],
            &FormatOptions::default(),
            &mut store,
            par,
        )
        .unwrap();
        (summary, store)
    };
    let (one, single) = read(Parallelism::Single);
    let (split, store) = read(Parallelism::Split(2));
    assert_eq!(split.sources[0].format, Some("kudu"));
    assert_eq!(split.sources[0].threads, 1);
    assert_eq!(snapshot(&store), snapshot(&single));
    assert!(one.sources[0].lines > 0);
    assert!(store.totals().values().sum::<u64>() > 0);
}

/// `#Fields:` directives of the W3C tests: the App Service default, the same columns
/// reordered with Origin, ACAO and instance added, an IIS-like subset, and one without
/// `sc-status` (its data lines are errors).
const W3C_LAYOUTS: [&str; 4] = [
    "date time s-sitename cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken",
    "time c-ip date cs-method sc-status cs-uri-stem cs(Origin) sc(Access-Control-Allow-Origin) time-taken s-computername",
    "date time s-ip cs-method cs-uri-stem cs-uri-query sc-status cs(Referer) time-taken",
    "date time cs-method cs-uri-stem",
];

/// A data line for `W3C_LAYOUTS[layout]`, `i` seconds after 10:30:00.
fn w3c_data(layout: usize, i: u64) -> String {
    let secs = 37_800 + i;
    let (date, time) = (
        "2026-04-04",
        format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60),
    );
    let method = METHODS[(i % 4) as usize];
    let status = STATUSES[(i % 5) as usize];
    let path = format!("/api/r{}/{}", i % 7, i * 13);
    let ip = format!("203.0.113.{}", i % 5);
    let origin = ["https://app.contoso.com", "-", "http://localhost:3000"][(i % 3) as usize];
    let referer = [
        "https://app.contoso.com/orders",
        "-",
        "https://partner.example/x?y=1",
    ][(i % 3) as usize];
    // A `#` inside a field: not a directive, whatever a backwards search makes of it.
    let query = if i.is_multiple_of(11) { "q=a#b" } else { "-" };
    match layout {
        0 => format!(
            "{date} {time} SITE {method} {path} {query} 443 - {ip} Mozilla/5.0+(X11) - {referer} api.contoso.net {status} 0 0 {} 300 {}",
            i * 31 % 5000,
            i % 90
        ),
        1 => format!(
            "{time} {ip} {date} {method} {status} {path} {origin} {origin} {} RD{}",
            i % 90,
            i % 3
        ),
        2 => format!(
            "{date} {time} 10.0.0.{} {method} {path} {query} {status} {referer} {}",
            i % 4,
            i % 90
        ),
        _ => format!("{date} {time} {method} {path}"),
    }
}

/// A W3C log whose columns change every few lines, with everything a backwards search for the
/// last `#Fields:` could trip on: lines before any directive (default layouts and an error),
/// comments, a `#` inside fields and at the start of other lines, a directive behind a byte
/// order mark, CRLF line ends, blank lines and column-count errors. `pad` shifts the content
/// against the split points.
fn w3c_text(pad: usize, segments: u64) -> String {
    let mut t = String::new();
    if pad > 0 {
        writeln!(t, "#Remark: {}", "x".repeat(pad)).unwrap();
    }
    // Before any #Fields: the App Service default (19 columns), the IIS default (15), an error.
    t.push_str(&w3c_data(0, 0));
    t.push('\n');
    t.push_str("2026-04-04 10:30:01 10.0.0.1 GET /api/iis - 443 - 1.2.3.4 UA - 200 0 0 12\n");
    t.push_str("2026-04-04 10:30:02 GET /api/short 200\n");
    t.push_str("#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n");
    let mut i = 1;
    for seg in 0..segments {
        let layout = (seg * 5 % 7 % 4) as usize;
        let crlf = seg % 3 == 2;
        let end = if crlf { "\r\n" } else { "\n" };
        if seg % 4 == 1 {
            t.push('\u{feff}');
        }
        write!(t, "#Fields: {}{end}", W3C_LAYOUTS[layout]).unwrap();
        for k in 0..(2 + seg * 3 % 5) {
            write!(t, "{}{end}", w3c_data(layout, i)).unwrap();
            i += 1;
            match (seg + k) % 9 {
                // Not directives: a comment, a lower-case look-alike, one behind a space (a
                // data line with the wrong columns, so an error), a blank line.
                0 => t.push_str("#Date: 2026-04-04 10:30:00\n"),
                3 => t.push_str("#fields: date time\n"),
                5 => t.push_str(" #Fields: date time cs-method cs-uri-stem sc-status\n"),
                7 => t.push_str("  \n"),
                _ => {}
            }
        }
        if seg % 5 == 4 {
            t.push_str("2026-04-04 10:31:00 one two three\n");
        }
    }
    t
}

/// A store as `corstop report` sets one up, with a shorter retention: fewer buckets to build
/// and compare on every read.
fn w3c_store() -> Store {
    let cfg = StoreConfig {
        bucket_ms: 60_000,
        retention_ms: 3 * 3_600_000,
        ..StoreConfig::default()
    };
    Store::new(corstop::app::report_store_config(cfg), TimeMode::EventTime)
}

/// Everything a report shows, plus the store's counts, for comparing reads.
fn w3c_view(summary: &corstop::store::reader::ReadSummary, store: &mut Store) -> Vec<String> {
    store.settle_followups();
    let report = corstop::headless::report::FullReport {
        counts: corstop::headless::report::build_at(store, 0),
        diagnosis: corstop::headless::report::diagnose(store, &Default::default()),
    };
    let s = &summary.sources[0];
    let mut out = vec![
        format!(
            "{} lines {} bytes {} skipped {} errors {:?}",
            s.lines, s.bytes, s.skipped, s.parse_errors, s.format
        ),
        corstop::headless::report::full_to_json(&report),
    ];
    out.extend(snapshot(store));
    out
}

/// Where a split into `n` ranges starts its ranges: the first line start at or after each
/// nominal point (the reader's rule).
fn split_starts(text: &[u8], n: usize) -> Vec<usize> {
    let size = text.len();
    let mut out = Vec::new();
    let mut prev = 0;
    for i in 1..n {
        let nominal = (size * i / n).max(prev);
        let from = nominal.saturating_sub(1);
        let Some(nl) = text[from..].iter().position(|&b| b == b'\n') else {
            break;
        };
        let start = from + nl + 1;
        if start > prev && start < size {
            out.push(start);
            prev = start;
        }
    }
    out
}

#[test]
fn split_w3c_reads_carry_the_fields_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u_ex.log");
    let read = |par| {
        let mut store = w3c_store();
        let summary =
            read_to_end_with(&[spec(&path)], &FormatOptions::default(), &mut store, par).unwrap();
        (w3c_view(&summary, &mut store), summary.sources[0].threads)
    };
    // Where range starts fell relative to the directives: on one, just after one, on the line
    // just before one.
    let (mut on, mut after, mut before) = (0, 0, 0);
    for pad in (0..900).step_by(23) {
        let text = w3c_text(pad, 40);
        fs::write(&path, &text).unwrap();
        let (one, threads) = read(Parallelism::Single);
        assert_eq!(threads, 1);
        assert!(one[0].contains("Some(\"w3c\")"), "{}", one[0]);
        let b = text.as_bytes();
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(
                b.iter()
                    .enumerate()
                    .filter(|(_, c)| **c == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .filter(|&i| i < b.len())
            .collect();
        let is_directive = |ls: usize| {
            let l = &b[ls..];
            l.strip_prefix("\u{feff}".as_bytes())
                .unwrap_or(l)
                .starts_with(b"#Fields:")
        };
        for n in 2..=5 {
            let (split, threads) = read(Parallelism::Split(n));
            assert_eq!(threads, n, "pad {pad}");
            assert_eq!(split, one, "pad {pad}, split into {n}");
            for start in split_starts(b, n) {
                let k = line_starts.binary_search(&start).unwrap();
                on += is_directive(start) as u32;
                after += (k > 0 && is_directive(line_starts[k - 1])) as u32;
                before += line_starts.get(k + 1).is_some_and(|&l| is_directive(l)) as u32;
            }
        }
    }
    assert!(on > 0 && after > 0 && before > 0, "{on} {after} {before}");
}

#[test]
fn split_w3c_reads_look_back_past_long_stretches_and_rejected_directives() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u_ex.log");
    let read = |par| {
        let mut store = w3c_store();
        let summary =
            read_to_end_with(&[spec(&path)], &FormatOptions::default(), &mut store, par).unwrap();
        (w3c_view(&summary, &mut store), summary.sources[0].threads)
    };
    let check = |text: &str| {
        fs::write(&path, text).unwrap();
        let (one, _) = read(Parallelism::Single);
        for n in 2..=5 {
            let (split, threads) = read(Parallelism::Split(n));
            // Several nominal points may fall in one long line.
            assert!((2..=n).contains(&threads), "{threads} of {n}");
            assert_eq!(split, one, "split into {n}");
        }
        one
    };

    // One directive at the top, megabytes before the later ranges start, and a change of
    // columns far into the file.
    let mut text = format!("#Fields: {}\n", W3C_LAYOUTS[0]);
    for i in 0..6_000 {
        text.push_str(&w3c_data(0, i));
        text.push('\n');
    }
    writeln!(text, "#Fields: {}", W3C_LAYOUTS[1]).unwrap();
    for i in 6_000..9_000 {
        text.push_str(&w3c_data(1, i));
        text.push('\n');
    }
    assert!(text.len() > 1 << 20);
    let one = check(&text);
    assert!(one[0].starts_with("9002 lines"), "{}", one[0]);
    assert!(one[0].contains(" 0 errors"), "{}", one[0]);

    // A `#Fields:` line over the parser's length limit is an error, not a directive: the range
    // starting right after it still reads with the directive before it.
    let mut text = format!("#Fields: {}\n", W3C_LAYOUTS[2]);
    for i in 0..200 {
        text.push_str(&w3c_data(2, i));
        text.push('\n');
    }
    writeln!(
        text,
        "#Fields: {} {}",
        W3C_LAYOUTS[1],
        "x".repeat(300 << 10)
    )
    .unwrap();
    let after_long = text.len();
    for i in 200..4_000 {
        text.push_str(&w3c_data(2, i));
        text.push('\n');
    }
    assert_eq!(split_starts(text.as_bytes(), 2), [after_long]);
    let one = check(&text);
    assert!(one[0].contains(" 1 errors"), "{}", one[0]);

    // No directive at all: every range reads with the default layouts.
    let mut text = String::new();
    for i in 0..3_000 {
        text.push_str(&w3c_data(0, i));
        text.push('\n');
    }
    let one = check(&text);
    assert!(one[0].contains(" 0 errors"), "{}", one[0]);
}

#[test]
fn an_undetectable_file_counts_every_line_as_unrecognised() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prose.log");
    let mut text = String::new();
    for i in 0..300 {
        writeln!(text, "just some words, number {i}").unwrap();
    }
    fs::write(&path, &text).unwrap();
    let mut store = event_store();
    let summary = read_to_end(&[spec(&path)], &FormatOptions::default(), &mut store).unwrap();
    assert_eq!(summary.sources[0].format, None);
    assert_eq!(summary.sources[0].parse_errors, 300);
    let (_, reason) = store.sources()[0].last_error.clone().unwrap();
    assert_eq!(reason, "format not recognised");
}

#[test]
fn detection_recovers_when_the_format_shows_up_later() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("late.log");
    let mut text = String::new();
    for i in 0..250 {
        writeln!(text, "starting up, step {i}").unwrap();
    }
    for i in 0..1_000 {
        text.push_str(&http_line(i));
    }
    fs::write(&path, &text).unwrap();
    let mut store = event_store();
    let summary = read_to_end(&[spec(&path)], &FormatOptions::default(), &mut store).unwrap();
    let s = &summary.sources[0];
    assert_eq!(s.format, Some("appservice-http"));
    assert_eq!(s.lines, 1_250);
    // Retries happen every 200 undetected lines on the latest 20: lines up to the successful
    // retry count as errors, every later line is parsed.
    let parsed = store.totals().values().sum::<u64>();
    assert_eq!(parsed + s.parse_errors, 1_250);
    assert!(parsed >= 1_000 - 200, "parsed {parsed}");
}

#[test]
fn globs_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (name, range) in [("a.log", 0..100), ("b.log", 100..250)] {
        let text: String = range.map(http_line).collect();
        fs::write(dir.path().join(name), text).unwrap();
    }
    fs::write(dir.path().join("c.txt"), "ignored\n").unwrap();
    let pattern = format!("{}/*.log", dir.path().display());
    let mut store = event_store();
    let mut glob_spec = LogSourceSpec::new(pattern.clone());
    glob_spec.label = Some("web".into());
    let summary = read_to_end(&[glob_spec], &FormatOptions::default(), &mut store).unwrap();
    assert_eq!(summary.sources[0].files.len(), 2);
    assert_eq!(summary.sources[0].lines, 250);
    assert_eq!(store.sources()[0].label, "web");

    let missing = spec(&dir.path().join("nope.log"));
    let err = read_to_end(&[missing], &FormatOptions::default(), &mut event_store()).unwrap_err();
    assert!(matches!(err, ReadError::Io { .. }), "{err}");
    let none = LogSourceSpec::new(format!("{}/*.gz", dir.path().display()));
    let err = read_to_end(&[none], &FormatOptions::default(), &mut event_store()).unwrap_err();
    assert!(matches!(err, ReadError::NoMatch(_)), "{err}");
    let mut bad = spec(&dir.path().join("a.log"));
    bad.format = Some("no-such-format".into());
    let err = read_to_end(&[bad], &FormatOptions::default(), &mut event_store()).unwrap_err();
    assert!(err.to_string().contains("no-such-format"), "{err}");
}

/// Applies events to a store until the source reports `lines` lines (or a deadline).
async fn apply_until(
    rx: &mut tokio::sync::mpsc::Receiver<Event>,
    store: &mut Store,
    lines: u64,
    states: &mut Vec<String>,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline && store.sources()[0].lines < lines {
        match tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
            Ok(Some(ev)) => {
                if let Event::SourceState { state, .. } = &ev {
                    states.push(state.clone());
                }
                store.apply(ev, now_ms());
            }
            Ok(None) => break,
            Err(_) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_source_batches_match_the_headless_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.log");
    let mut text = String::new();
    for i in 0..12_000 {
        text.push_str(&http_line(i));
        if i % 2_000 == 1 {
            text.push_str("broken line\n");
        }
    }
    fs::write(&path, &text).unwrap();

    let mut headless = event_store();
    headless.register_source("live");
    let mut s = spec(&path);
    s.label = Some("live".into());
    read_to_end(
        std::slice::from_ref(&s),
        &FormatOptions::default(),
        &mut headless,
    )
    .unwrap();

    let mut live = event_store();
    let id = live.register_source("live");
    s.from_start = true;
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let task = spawn_log_source(s, id, FormatOptions::default(), tx);
    let mut states = Vec::new();
    apply_until(&mut rx, &mut live, 12_006, &mut states).await;
    task.abort();

    assert_eq!(live.sources()[0].format, Some("appservice-http"));
    assert_eq!(live.sources()[0].parse_errors, 6);
    assert_eq!(live.sources()[0].bytes, text.len() as u64);
    assert_eq!(snapshot(&live), snapshot(&headless));
    assert!(states.iter().any(|s| s == "following"), "{states:?}");
    // Raw lines reach the store's ring (bounded).
    assert_eq!(live.raw_lines().count(), 200);
}

#[tokio::test]
async fn stream_source_reads_to_end_of_input() {
    let mut text = String::new();
    for i in 0..3_000 {
        text.push_str(&http_line(i));
    }
    text.push_str("2026-04-04T11:00:00Z GET /api/tail 200 1"); // no newline at the end
    let mut store = event_store();
    let id = store.register_source("stdin");
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    let task = spawn_stream_source(
        std::io::Cursor::new(text.into_bytes()),
        id,
        None,
        FormatOptions::default(),
        tx,
    );
    let mut states = Vec::new();
    while let Some(ev) = rx.recv().await {
        if let Event::SourceState { state, .. } = &ev {
            states.push(state.clone());
        }
        store.apply(ev, now_ms());
    }
    task.await.unwrap();
    assert_eq!(store.sources()[0].lines, 3_001);
    assert_eq!(store.totals().values().sum::<u64>(), 3_001);
    assert_eq!(store.sources()[0].format, Some("appservice-http"));
    assert_eq!(states.last().map(String::as_str), Some("stdin closed"));
}

#[tokio::test]
async fn a_quiet_auth_log_still_counts_its_last_event() {
    // The auth parser holds each event until the next timestamped line (it may continue as an
    // exception block); on a quiet live log the last one must not wait for ever.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.log");
    fs::write(
        &path,
        "2026-04-04T10:31:02Z ValidateToken IDX10223: Lifetime validation failed. The token is expired.\n\
         2026-04-04T10:31:03Z ValidateToken IDX10214: Audience validation failed.\n\
         2026-04-04T10:31:04Z ValidateToken IDX10223: Lifetime validation failed. The token is expired.\n",
    )
    .unwrap();
    let mut store = event_store();
    let id = store.register_source("auth");
    let mut s = spec(&path);
    s.from_start = true;
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let task = spawn_log_source(s, id, FormatOptions::default(), tx);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.sources()[0].auth_events < 3 {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) => store.apply(ev, 0),
            _ => break,
        }
    }
    task.abort();
    assert_eq!(store.sources()[0].format, Some("appservice-auth"));
    assert_eq!(store.sources()[0].auth_events, 3);
    assert_eq!(
        store.sources()[0].auth_by_class[corstop::sources::event::AuthClass::Expired as usize],
        2
    );
}

/// A glob over files of different formats: the dashboard detects each file's format as
/// `report` does, so nothing is a parse error and the counts are the report's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_format_glob_is_detected_per_file_in_the_dashboard() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/logs");
    let dir = tempfile::tempdir().unwrap();
    let mut lines = 0u64;
    for name in [
        "appservice-http",
        "w3c",
        "caddy",
        "traefik",
        "envoy",
        "kudu",
    ] {
        let text = fs::read_to_string(fixtures.join(format!("{name}.log"))).unwrap();
        lines += text.lines().count() as u64;
        fs::write(dir.path().join(format!("{name}.log")), text).unwrap();
    }
    let pattern = dir.path().join("*.log").display().to_string();
    let mut s = LogSourceSpec::new(pattern);
    s.label = Some("mixed".into());

    let mut headless = event_store();
    headless.register_source("mixed");
    read_to_end(
        std::slice::from_ref(&s),
        &FormatOptions::default(),
        &mut headless,
    )
    .unwrap();
    assert_eq!(headless.sources()[0].parse_errors, 0);

    let mut live = event_store();
    let id = live.register_source("mixed");
    s.from_start = true;
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let task = spawn_log_source(s, id, FormatOptions::default(), tx);
    let mut states = Vec::new();
    apply_until(&mut rx, &mut live, lines, &mut states).await;
    // Records spanning lines (Kudu's) are flushed once the files are quiet.
    tokio::time::sleep(Duration::from_secs(2)).await;
    while let Ok(ev) = rx.try_recv() {
        live.apply(ev, now_ms());
    }
    task.abort();

    let src = &live.sources()[0];
    assert_eq!(src.lines, lines, "{states:?}");
    assert_eq!(src.parse_errors, 0, "{:?} {states:?}", src.last_error);
    assert_eq!(src.format, Some("mixed"));
    assert_eq!(snapshot(&live), snapshot(&headless));
}
