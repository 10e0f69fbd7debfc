//! The dashboard's start-up history on real files: the retention window is read back, then the
//! file is followed from where history stopped, with nothing lost or counted twice across the
//! hand-over, whatever is appended or rotated meanwhile.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corstop::app::{Pipeline, lock};
use corstop::model::time::{EpochMs, HOUR, MINUTE, now_ms};
use corstop::sources::formats::FormatOptions;
use corstop::sources::live::{LogSourceSpec, run_log_source_from};
use corstop::store::history::{Progress, read_history, window_from};
use corstop::store::reader::Parallelism;
use corstop::store::{Store, StoreConfig, TimeMode};

/// One App Service HTTP text line stamped `t`; the path carries `i` so lines differ.
fn line_at(t: EpochMs, i: u64) -> String {
    let ts = chrono::DateTime::from_timestamp_millis(t)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ");
    let status = [204, 200, 401, 200, 500][(i % 5) as usize];
    let method = ["OPTIONS", "GET", "GET", "POST", "GET"][(i % 5) as usize];
    format!("{ts} {method} /api/orders/{i} {status} {}\n", i % 90)
}

/// `n` lines evenly spread over `[from, to)`.
fn lines(from: EpochMs, to: EpochMs, n: u64, first_id: u64) -> String {
    let step = ((to - from) / n.max(1) as i64).max(1);
    (0..n)
        .map(|i| line_at(from + i as i64 * step, first_id + i))
        .collect()
}

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f.flush().unwrap();
}

fn spec(path: &Path) -> LogSourceSpec {
    LogSourceSpec::new(path.display().to_string())
}

/// Waits until the first source's parsed events reach `want`, then a little longer to see
/// that nothing more arrives; returns (events, lines, parse errors).
fn settle(store: &Arc<Mutex<Store>>, want: u64) -> (u64, u64, u64) {
    let read = || {
        let s = lock(store);
        let src = &s.sources()[0];
        (src.http_events, src.lines, src.parse_errors)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while read().0 < want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Duplicates would arrive after the count is reached: give them time to show.
    std::thread::sleep(Duration::from_millis(600));
    read()
}

/// History read while a writer appends, starting with the rest of a half-written last line:
/// every line is counted once, and the cut line is read whole.
#[test]
fn appending_during_and_after_history_loses_and_doubles_nothing() {
    let rt = crate::common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("http.log");
    let now = now_ms();
    // Large enough to be read on several threads, all inside the window.
    let n = 300_000;
    let mut text = lines(now - 30 * MINUTE, now - MINUTE, n, 0);
    let half = line_at(now - MINUTE, n);
    let (head, rest) = half.split_at(25);
    text.push_str(head);
    fs::write(&path, &text).unwrap();

    let _guard = rt.enter();
    let mut pipeline = Pipeline::new(StoreConfig::default(), TimeMode::Live);
    pipeline.add_log(spec(&path), &FormatOptions::default());
    // Appends start at once, racing the history read, and go on after it.
    let writer = {
        let path = path.clone();
        let rest = rest.to_string();
        std::thread::spawn(move || {
            append(&path, &rest);
            for batch in 0..20u64 {
                let first = n + 1 + batch * 500;
                let t = now_ms();
                append(&path, &lines(t - 1000, t, 500, first));
                std::thread::sleep(Duration::from_millis(25));
            }
        })
    };
    writer.join().unwrap();
    let want = n + 1 + 20 * 500;
    let (events, lines_read, errors) = settle(&pipeline.store, want);
    assert_eq!(errors, 0, "the cut line was read in pieces");
    assert_eq!(events, want, "every line once");
    assert_eq!(lines_read, want);
    let s = lock(&pipeline.store);
    let in_window = s.sum_window(s.config().retention_ms, |_| true);
    assert_eq!(in_window, want, "every line in the window");
    assert_eq!(s.sources()[0].state, "following");
    drop(s);
    rt.block_on(pipeline.shutdown());
}

/// A W3C file whose `#Fields:` is not the default layout: the lines appended after the history
/// read are parsed under that header too (the follower's parser is given it), not counted as
/// errors.
#[test]
fn a_w3c_header_read_in_history_applies_to_the_lines_followed_after_it() {
    let rt = crate::common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u_ex.log");
    let w3c = |from: EpochMs, n: i64| -> String {
        (0..n)
            .map(|i| {
                let t = chrono::DateTime::from_timestamp_millis(from + i * 1000).unwrap();
                format!(
                    "{} {} /api/orders/{i} 204 OPTIONS 7 https://app.contoso.com\n",
                    t.format("%Y-%m-%d"),
                    t.format("%H:%M:%S")
                )
            })
            .collect()
    };
    let now = now_ms();
    let mut text = String::from(
        "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n\
         #Fields: date time cs-uri-stem sc-status cs-method time-taken cs(Origin)\n",
    );
    text.push_str(&w3c(now - 10 * MINUTE, 200));
    fs::write(&path, &text).unwrap();
    let _guard = rt.enter();
    let mut pipeline = Pipeline::new(StoreConfig::default(), TimeMode::Live);
    pipeline.add_log(spec(&path), &FormatOptions::default());
    let deadline = Instant::now() + Duration::from_secs(20);
    while lock(&pipeline.store).sources()[0].state != "following" {
        assert!(Instant::now() < deadline, "never following");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(lock(&pipeline.store).sources()[0].http_events, 200);
    append(&path, &w3c(now_ms() - 5_000, 5));
    let (events, _, errors) = settle(&pipeline.store, 205);
    assert_eq!(
        errors, 0,
        "lines after the history read without their header"
    );
    assert_eq!(events, 205);
    rt.block_on(pipeline.shutdown());
}

/// Lines older than the window are not read, and the rest is: the search skips the old part
/// without reading it.
#[test]
fn history_reads_the_window_not_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("http.log");
    let now = now_ms();
    let cfg = StoreConfig::default();
    let from = window_from(&cfg, now);
    let old = lines(now - 30 * HOUR, from - 10 * MINUTE, 200_000, 0);
    let recent = lines(from + MINUTE, now - MINUTE, 50_000, 200_000);
    fs::write(&path, format!("{old}{recent}")).unwrap();

    let progress = Progress::default();
    let h = read_history(
        &spec(&path),
        &FormatOptions::default(),
        &cfg,
        now,
        Parallelism::Auto,
        &progress,
    );
    let s = &h.store;
    assert_eq!(s.sum_window(cfg.retention_ms, |_| true), 50_000);
    assert!(
        h.bytes < recent.len() as u64 + (2 << 20),
        "read {} bytes for a window of {}",
        h.bytes,
        recent.len()
    );
    assert_eq!(progress.percent(), Some(100));
    assert_eq!(h.resume.len(), 1);
    assert_eq!(h.resume[0].offset, (old.len() + recent.len()) as u64);
    assert_eq!(h.resume[0].format, Some("appservice-http"));
    // The live log view has the newest lines of the history.
    let last = s.raw_lines().last().unwrap();
    assert!(recent.trim_end().ends_with(&last.text), "{}", last.text);
}

/// The file is renamed away and a new one created between the history read and the follower
/// taking over: the old file is drained from where history stopped, the new one read whole.
#[test]
fn a_rotation_between_history_and_following_is_one_rotation() {
    let rt = crate::common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("http.log");
    let now = now_ms();
    fs::write(&path, lines(now - 20 * MINUTE, now - 2 * MINUTE, 5_000, 0)).unwrap();
    let cfg = StoreConfig::default();
    let h = read_history(
        &spec(&path),
        &FormatOptions::default(),
        &cfg,
        now,
        Parallelism::Single,
        &Progress::default(),
    );
    let store = Arc::new(Mutex::new(Store::new(cfg, TimeMode::Live)));
    let source = lock(&store).register_source(&spec(&path).display_label());
    lock(&store).merge(h.store);

    // The writer keeps appending to the old file until it reopens, as nginx does.
    append(&path, &lines(now - MINUTE, now, 300, 5_000));
    fs::rename(&path, dir.path().join("http.log.1")).unwrap();
    append(
        &dir.path().join("http.log.1"),
        &lines(now - MINUTE, now, 200, 5_300),
    );
    fs::write(&path, lines(now - MINUTE, now, 400, 5_500)).unwrap();

    let (tx, rx) = tokio::sync::mpsc::channel(corstop::app::CHANNEL_CAPACITY);
    let _guard = rt.enter();
    let ingest = corstop::app::spawn_ingest(store.clone(), rx);
    let follow = rt.spawn(run_log_source_from(
        spec(&path),
        source,
        FormatOptions::default(),
        tx,
        h.resume,
    ));
    let (events, _, errors) = settle(&store, 5_900);
    assert_eq!((events, errors), (5_900, 0));
    follow.abort();
    ingest.abort();
}

/// A pattern's rotated files are history too, oldest first; files wholly older than the
/// window add nothing.
#[test]
fn a_pattern_reads_the_history_of_every_matching_file() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_ms();
    let older = dir.path().join("app.log.2");
    let rotated = dir.path().join("app.log.1");
    let current = dir.path().join("app.log");
    fs::write(&older, lines(now - 20 * HOUR, now - 10 * HOUR, 1_000, 0)).unwrap();
    fs::write(&rotated, lines(now - 3 * HOUR, now - HOUR, 2_000, 1_000)).unwrap();
    fs::write(&current, lines(now - HOUR, now, 3_000, 3_000)).unwrap();
    let set_age = |p: &Path, ago: u64| {
        let t = std::time::SystemTime::now() - Duration::from_secs(ago);
        fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(t)
            .unwrap();
    };
    set_age(&older, 36_000);
    set_age(&rotated, 3_600);
    let pattern = dir.path().join("app.log*");
    let cfg = StoreConfig::default();
    let h = read_history(
        &spec(&pattern),
        &FormatOptions::default(),
        &cfg,
        now,
        Parallelism::Auto,
        &Progress::default(),
    );
    assert_eq!(h.store.sum_window(cfg.retention_ms, |_| true), 5_000);
    let paths: Vec<_> = h.resume.iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, vec![older, rotated, current], "oldest first");
}

/// `--no-history`: the file is followed from its end, as before.
#[test]
fn without_history_the_file_is_followed_from_its_end() {
    let rt = crate::common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("http.log");
    let now = now_ms();
    fs::write(&path, lines(now - 20 * MINUTE, now - MINUTE, 1_000, 0)).unwrap();
    let _guard = rt.enter();
    let mut pipeline = Pipeline::new(StoreConfig::default(), TimeMode::Live);
    let mut s = spec(&path);
    s.history = false;
    pipeline.add_log(s, &FormatOptions::default());
    // The follower must have opened the file (at its end) before the new lines arrive.
    let deadline = Instant::now() + Duration::from_secs(10);
    while lock(&pipeline.store).sources()[0].state != "following" {
        assert!(Instant::now() < deadline, "never following");
        std::thread::sleep(Duration::from_millis(10));
    }
    append(&path, &lines(now_ms() - 1000, now_ms(), 10, 1_000));
    let (events, _, _) = settle(&pipeline.store, 10);
    assert_eq!(events, 10);
    rt.block_on(pipeline.shutdown());
}

/// While history loads the screen says so; the moment it is in, the next poll shows it,
/// without waiting for the period that spaces out view models of a busy store.
#[test]
fn the_history_is_shown_at_the_first_poll_after_it_is_in() {
    use corstop::ui::Snapshotter;
    let now = now_ms();
    let cfg = StoreConfig::default();
    let store = Mutex::new(Store::new(cfg.clone(), TimeMode::Live).with_now(now));
    let src = store.lock().unwrap().register_source("http.log");
    store
        .lock()
        .unwrap()
        .set_source_state(src, &corstop::store::history::reading_state(40));
    let mut snaps = Snapshotter::default();
    let m = snaps.poll_at(&store, false, now).expect("first poll");
    assert_eq!(m.status.level, corstop::analysis::Status::Ok);
    assert_eq!(
        m.status.loading.as_deref(),
        Some("loading history: http.log 40 %")
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("http.log");
    fs::write(&path, lines(now - 20 * MINUTE, now - MINUTE, 600, 0)).unwrap();
    let mut spec = spec(&path);
    spec.label = Some("http.log".into());
    let h = read_history(
        &spec,
        &FormatOptions::default(),
        &cfg,
        now,
        Parallelism::Single,
        &Progress::default(),
    );
    {
        let mut s = store.lock().unwrap();
        s.merge(h.store);
        s.set_source_state(src, "following");
    }
    let m = snaps
        .poll_at(&store, false, now + 20)
        .expect("the history, at once");
    assert_eq!(m.status.loading, None);
    assert!(m.overview.requests_15m > 400, "{}", m.overview.requests_15m);
    // Once loaded, a busy store is shown at most once a period again.
    store.lock().unwrap().set_source_state(src, "following ");
    assert!(snaps.poll_at(&store, false, now + 40).is_none());
}

/// History is on unless the flag or the file turns it off; `--from-start` keeps meaning the
/// whole file.
#[test]
fn history_is_the_default_and_can_be_turned_off() {
    use clap::Parser;
    let dir = tempfile::tempdir().unwrap();
    let off = dir.path().join("off.toml");
    fs::write(&off, "history = false\n[[log]]\npath = \"a.log\"\n").unwrap();
    let empty = dir.path().join("empty.toml");
    fs::write(&empty, "").unwrap();
    let settings = |args: &[&str]| {
        let cli = corstop::app::cli::Cli::try_parse_from(
            std::iter::once("corstop").chain(args.iter().copied()),
        )
        .unwrap();
        corstop::app::resolve(&cli.dashboard).unwrap()
    };
    let c = |p: &Path| p.display().to_string();
    let s = settings(&["--config", &c(&empty), "--log", "a.log"]);
    assert!(s.logs[0].history && !s.logs[0].from_start);
    let s = settings(&["--config", &c(&empty), "--log", "a.log", "--no-history"]);
    assert!(!s.logs[0].history);
    let s = settings(&["--config", &c(&off)]);
    assert!(!s.logs[0].history);
    let s = settings(&["--config", &c(&empty), "--log", "a.log", "--from-start"]);
    assert!(s.logs[0].from_start);
    assert!(!corstop::store::history::wants_history(&s.logs[0]));
    // The template documents the key, and parses.
    assert!(corstop::app::config::TEMPLATE.contains("# history = true"));
}

/// The history store takes the shared store's place: what the shared store held already
/// (another source's counts, state and problem, its raw lines) stays, under the same source
/// ids.
#[test]
fn loading_history_keeps_what_the_shared_store_held() {
    use corstop::sources::event::{HttpRecord, Method};
    let rt = crate::common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("http.log");
    let now = now_ms();
    fs::write(&path, lines(now - 20 * MINUTE, now - MINUTE, 700, 0)).unwrap();
    let store = Arc::new(Mutex::new(Store::new(
        StoreConfig::default(),
        TimeMode::Live,
    )));
    let (other, source) = {
        let mut s = lock(&store);
        let other = s.register_source("auth.log");
        let source = s.register_source(&spec(&path).display_label());
        for i in 0..30 {
            s.ingest_http(
                other,
                &HttpRecord {
                    time: now - i * 1000,
                    method: Method::Get,
                    path: "/api/other".into(),
                    status: 200,
                    ..Default::default()
                },
            );
        }
        s.set_source_state(other, "following");
        s.set_source_problem(other, Some("something odd".into()));
        s.note_raw_line(other, now, "a raw line of auth.log");
        (other, source)
    };
    let resume = rt.block_on(corstop::store::history::load(
        &spec(&path),
        source,
        &FormatOptions::default(),
        &store,
        Parallelism::Auto,
    ));
    assert_eq!(resume.len(), 1);
    let s = lock(&store);
    assert_eq!(s.sources()[other as usize].label, "auth.log");
    assert_eq!(s.sources()[other as usize].http_events, 30);
    assert_eq!(s.sources()[other as usize].state, "following");
    assert_eq!(
        s.sources()[other as usize].problem.as_deref(),
        Some("something odd")
    );
    assert_eq!(s.sources()[source as usize].http_events, 700);
    assert_eq!(s.sources()[source as usize].state, "following");
    assert_eq!(
        s.sum_window(s.config().retention_ms, |k| k.source == other),
        30
    );
    assert_eq!(
        s.sum_window(s.config().retention_ms, |k| k.source == source),
        700
    );
    assert!(
        s.raw_lines()
            .any(|l| l.source == other && l.text == "a raw line of auth.log")
    );
}
