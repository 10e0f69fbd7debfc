//! File following across rotations, with a writer thread appending concurrently. Every test
//! numbers its lines and checks that each number arrives exactly once: no loss, no duplicate.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use corstop::sources::event::{Event, HttpRecord, Method, Sink};
use corstop::sources::formats::{Fed, LogParser, ParseError};
use corstop::sources::live::{LogSourceSpec, spawn_log_source_with_parser};
use corstop::sources::tail::{FileFollower, FollowEvent, FollowOptions, FollowState};

const DEADLINE: Duration = Duration::from_secs(20);

fn line_text(n: u64) -> String {
    // Varying lengths so that write boundaries fall anywhere inside lines.
    format!("line {n:08} {}\n", "x".repeat((n % 37) as usize))
}

fn number(line: &[u8]) -> Option<u64> {
    let rest = line.strip_prefix(b"line ")?;
    std::str::from_utf8(rest.get(..8)?).ok()?.parse().ok()
}

/// Counts every number seen; anything that is not a numbered line is kept aside.
#[derive(Default)]
struct Seen {
    counts: Vec<u32>,
    distinct: u64,
    total: u64,
    other: Vec<String>,
    states: Vec<FollowState>,
    too_long: Vec<u64>,
}

impl Seen {
    fn new(n: u64) -> Seen {
        Seen {
            counts: vec![0; n as usize],
            ..Default::default()
        }
    }

    fn event(&mut self, ev: FollowEvent<'_>) {
        match ev {
            FollowEvent::Line(l) => self.line(l),
            FollowEvent::TooLong { len, .. } => self.too_long.push(len),
            FollowEvent::State(s) => self.states.push(s),
        }
    }

    fn line(&mut self, l: &[u8]) {
        self.total += 1;
        match number(l) {
            Some(n) if (n as usize) < self.counts.len() => {
                if self.counts[n as usize] == 0 {
                    self.distinct += 1;
                }
                self.counts[n as usize] += 1;
            }
            _ => self.other.push(String::from_utf8_lossy(l).into_owned()),
        }
    }

    fn assert_exact(&self) {
        let missing: Vec<usize> = (0..self.counts.len())
            .filter(|&i| self.counts[i] == 0)
            .take(10)
            .collect();
        let doubled: Vec<usize> = (0..self.counts.len())
            .filter(|&i| self.counts[i] > 1)
            .take(10)
            .collect();
        assert!(missing.is_empty(), "missing lines, first: {missing:?}");
        assert!(doubled.is_empty(), "duplicated lines, first: {doubled:?}");
        assert!(
            self.other.is_empty(),
            "unexpected lines: {:?}",
            &self.other[..self.other.len().min(5)]
        );
        assert_eq!(self.total, self.counts.len() as u64);
    }
}

/// Reads until `want` distinct numbers arrived (or the deadline), then a little longer so that
/// duplicates, if any, would show up.
fn follow_until(f: &mut FileFollower, seen: &mut Seen, want: u64, consumed: Option<&AtomicU64>) {
    let deadline = Instant::now() + DEADLINE;
    while Instant::now() < deadline && seen.distinct < want {
        let p = f.read_available(4096, &mut |ev| seen.event(ev));
        if let Some(c) = consumed {
            c.store(seen.distinct, Ordering::SeqCst);
        }
        if !p.more {
            thread::sleep(Duration::from_millis(2));
        }
    }
    let settle = Instant::now() + Duration::from_millis(300);
    while Instant::now() < settle {
        f.read_available(4096, &mut |ev| seen.event(ev));
        thread::sleep(Duration::from_millis(10));
    }
}

fn write_range(w: &mut impl Write, range: std::ops::Range<u64>) {
    for n in range {
        w.write_all(line_text(n).as_bytes()).unwrap();
        if n % 500 == 0 {
            w.flush().unwrap();
            thread::sleep(Duration::from_micros(300));
        }
    }
    w.flush().unwrap();
}

fn appender(path: &Path) -> BufWriter<File> {
    // Small buffer: writes regularly end in the middle of a line.
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    BufWriter::with_capacity(1000, f)
}

fn wait_for(counter: &AtomicU64, value: u64) {
    let deadline = Instant::now() + DEADLINE;
    while counter.load(Ordering::SeqCst) < value && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(1));
    }
}

fn from_start() -> FollowOptions {
    FollowOptions {
        from_start: true,
        ..Default::default()
    }
}

#[test]
fn rename_rotation_keeps_reading_late_writes_to_the_old_file() {
    const N: u64 = 40_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    File::create(&path).unwrap();
    let mut follower = FileFollower::new(&path, from_start());
    let writer = {
        let path = path.clone();
        let rotated = dir.path().join("app.log.1");
        thread::spawn(move || {
            let mut old = appender(&path);
            write_range(&mut old, 0..15_000);
            fs::rename(&path, &rotated).unwrap();
            // The writer has not reopened yet: these land in the renamed file.
            write_range(&mut old, 15_000..20_000);
            let mut new = appender(&path);
            // Both files grow for a while, as when several processes reopen at different times.
            for n in 20_000..26_000 {
                let w = if n % 2 == 0 { &mut old } else { &mut new };
                w.write_all(line_text(n).as_bytes()).unwrap();
                if n % 300 == 0 {
                    w.flush().unwrap();
                }
            }
            old.flush().unwrap();
            drop(old);
            write_range(&mut new, 26_000..N);
        })
    };
    let mut seen = Seen::new(N);
    follow_until(&mut follower, &mut seen, N, None);
    writer.join().unwrap();
    seen.assert_exact();
    assert!(
        seen.states.contains(&FollowState::RotatedRename),
        "{:?}",
        seen.states
    );
}

#[test]
fn copytruncate_with_a_writer_regrowing_the_file_at_once() {
    const N: u64 = 30_000;
    const CUT: u64 = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    File::create(&path).unwrap();
    let consumed = Arc::new(AtomicU64::new(0));
    let mut follower = FileFollower::new(&path, from_start());
    let writer = {
        let path = path.clone();
        let consumed = Arc::clone(&consumed);
        thread::spawn(move || {
            let mut w = appender(&path);
            write_range(&mut w, 0..CUT);
            // copytruncate loses what was written between the copy and the truncation unless it
            // was read already; wait for it so the count can be exact.
            wait_for(&consumed, CUT);
            fs::copy(&path, path.with_extension("log.1")).unwrap();
            w.get_ref().set_len(0).unwrap();
            // Regrow at once, well past the old offset, before the follower looks again.
            let mut burst = String::new();
            for n in CUT..CUT + 12_000 {
                burst.push_str(&line_text(n));
            }
            w.write_all(burst.as_bytes()).unwrap();
            w.flush().unwrap();
            write_range(&mut w, CUT + 12_000..N);
        })
    };
    let mut seen = Seen::new(N);
    follow_until(&mut follower, &mut seen, N, Some(&consumed));
    writer.join().unwrap();
    seen.assert_exact();
    assert!(
        seen.states.contains(&FollowState::Truncated),
        "{:?}",
        seen.states
    );
}

#[test]
fn truncation_and_regrowth_between_two_checks_is_detected_by_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut w = appender(&path);
    write_range(&mut w, 0..1_000);
    let mut follower = FileFollower::new(&path, from_start());
    let mut seen = Seen::new(4_000);
    follower.read_available(100_000, &mut |ev| seen.event(ev));
    assert_eq!(seen.distinct, 1_000);
    let old_offset = follower.offset().unwrap();
    w.get_ref().set_len(0).unwrap();
    write_range(&mut w, 1_000..4_000);
    assert!(fs::metadata(&path).unwrap().len() > old_offset);
    follower.read_available(100_000, &mut |ev| seen.event(ev));
    seen.assert_exact();
    assert!(seen.states.contains(&FollowState::Truncated));
}

#[test]
fn delete_and_recreate() {
    const N: u64 = 30_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    File::create(&path).unwrap();
    let mut follower = FileFollower::new(&path, from_start());
    let writer = {
        let path = path.clone();
        thread::spawn(move || {
            let mut w = appender(&path);
            write_range(&mut w, 0..12_000);
            fs::remove_file(&path).unwrap();
            // Still writing to the unlinked file: the follower holds it open and reads it all.
            write_range(&mut w, 12_000..14_000);
            drop(w);
            thread::sleep(Duration::from_millis(20));
            let mut w = appender(&path);
            write_range(&mut w, 14_000..N);
        })
    };
    let mut seen = Seen::new(N);
    follow_until(&mut follower, &mut seen, N, None);
    writer.join().unwrap();
    seen.assert_exact();
    assert!(
        seen.states.contains(&FollowState::Recreated),
        "{:?}",
        seen.states
    );
}

#[test]
fn file_that_appears_later_is_read_from_its_start() {
    const N: u64 = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("later.log");
    // Not from_start: a file that did not exist at start-up is new content anyway.
    let mut follower = FileFollower::new(&path, FollowOptions::default());
    let mut seen = Seen::new(N);
    follower.read_available(4096, &mut |ev| seen.event(ev));
    // Missing at start-up is a source that is not reading, with the OS error, until it appears.
    assert_eq!(
        seen.states,
        vec![FollowState::Unreadable(
            "No such file or directory (os error 2)".into()
        )]
    );
    let writer = {
        let path = path.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            let mut w = appender(&path);
            write_range(&mut w, 0..N);
        })
    };
    follow_until(&mut follower, &mut seen, N, None);
    writer.join().unwrap();
    seen.assert_exact();
    assert_eq!(
        seen.states,
        vec![
            FollowState::Unreadable("No such file or directory (os error 2)".into()),
            FollowState::Following
        ]
    );
}

#[test]
fn starts_at_the_end_and_skips_a_trailing_fragment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    fs::write(&path, "old 1\nold 2\nhalf of an old").unwrap();
    let mut follower = FileFollower::new(&path, FollowOptions::default());
    let mut lines = Vec::new();
    follower.read_available(4096, &mut |ev| {
        if let FollowEvent::Line(l) = ev {
            lines.push(String::from_utf8_lossy(l).into_owned());
        }
    });
    assert!(lines.is_empty());
    let mut w = appender(&path);
    w.write_all(b" line\nnew 1\nnew 2\n").unwrap();
    w.flush().unwrap();
    follower.read_available(4096, &mut |ev| {
        if let FollowEvent::Line(l) = ev {
            lines.push(String::from_utf8_lossy(l).into_owned());
        }
    });
    assert_eq!(lines, vec!["new 1", "new 2"]);
}

#[test]
fn partial_last_line_is_held_until_its_newline_and_flushed_once_at_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let opts = FollowOptions {
        from_start: true,
        drain_grace: Duration::from_millis(50),
        ..Default::default()
    };
    let mut follower = FileFollower::new(&path, opts);
    let mut lines = Vec::new();
    let read = |f: &mut FileFollower, lines: &mut Vec<String>| {
        f.read_available(4096, &mut |ev| {
            if let FollowEvent::Line(l) = ev {
                lines.push(String::from_utf8_lossy(l).into_owned());
            }
        });
    };
    let mut w = appender(&path);
    w.write_all(b"first\nsecond is parti").unwrap();
    w.flush().unwrap();
    read(&mut follower, &mut lines);
    assert_eq!(lines, vec!["first"]);
    w.write_all(b"al\r\nthird without newline").unwrap();
    w.flush().unwrap();
    read(&mut follower, &mut lines);
    assert_eq!(lines, vec!["first", "second is partial"]);
    // Rotate: the incomplete line never gets its newline in the old file.
    fs::rename(&path, dir.path().join("app.log.1")).unwrap();
    let mut w2 = appender(&path);
    w2.write_all(b"new file\n").unwrap();
    w2.flush().unwrap();
    read(&mut follower, &mut lines);
    thread::sleep(Duration::from_millis(80));
    read(&mut follower, &mut lines);
    read(&mut follower, &mut lines);
    assert_eq!(
        lines,
        vec![
            "first",
            "second is partial",
            "new file",
            "third without newline"
        ]
    );
}

#[test]
fn a_ten_megabyte_line_is_reported_once_and_not_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    let mut w = appender(&path);
    write_range(&mut w, 0..10);
    let big = vec![b'z'; 10 << 20];
    w.write_all(&big).unwrap();
    w.write_all(b"\n").unwrap();
    write_range(&mut w, 10..20);
    let mut follower = FileFollower::new(&path, from_start());
    let mut seen = Seen::new(20);
    follow_until(&mut follower, &mut seen, 20, None);
    seen.assert_exact();
    assert_eq!(seen.too_long, vec![10 << 20]);
}

/// A test-only format: `line NNNNNNNN ...` becomes a record carrying the number as its latency;
/// lines starting with `!` are parse errors.
struct Numbered;

impl LogParser for Numbered {
    fn name(&self) -> &'static str {
        "numbered"
    }

    fn feed(&mut self, line: &[u8], sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        if line.starts_with(b"!") {
            return Err(ParseError::new("bang"));
        }
        let n = number(line).ok_or_else(|| ParseError::new("not numbered"))?;
        sink.http(&HttpRecord {
            time: 1_775_298_662_000,
            method: Method::Get,
            path: "/n".into(),
            status: 200,
            latency_ms: Some(n as u32),
            ..Default::default()
        });
        Ok(Fed::Records(1))
    }
}

/// What a live source task sent.
struct LiveResult {
    counts: Vec<u32>,
    lines: u64,
    errors: u64,
    format: Option<&'static str>,
    states: Vec<String>,
}

/// Runs a live source task while `writer` writes, until `n` numbered records and `errors`
/// parse errors arrived (or the deadline).
fn run_live(
    spec: LogSourceSpec,
    n: u64,
    errors: u64,
    writer: impl FnOnce() + Send + 'static,
) -> LiveResult {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // A small channel: back-pressure is part of what is exercised.
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let task = spawn_log_source_with_parser(spec, 3, Arc::new(|| Box::new(Numbered)), tx);
        let writer = thread::spawn(writer);
        let mut r = LiveResult {
            counts: vec![0; n as usize],
            lines: 0,
            errors: 0,
            format: None,
            states: Vec::new(),
        };
        let mut distinct = 0;
        let deadline = Instant::now() + DEADLINE;
        let mut settle_until = None;
        loop {
            let now = Instant::now();
            if now >= deadline || settle_until.is_some_and(|t| now >= t) {
                break;
            }
            if settle_until.is_none() && distinct >= n && r.errors >= errors {
                // Keep listening briefly: duplicates would show up now.
                settle_until = Some(now + Duration::from_millis(300));
            }
            let ev = tokio::time::timeout(Duration::from_millis(100), rx.recv()).await;
            match ev {
                Ok(Some(Event::Batch(b))) => {
                    assert_eq!(b.source, 3);
                    assert!(b.raw_tail.len() <= 200);
                    r.lines += b.lines;
                    r.errors += b.parse_errors;
                    r.format = b.format.or(r.format);
                    for rec in &b.http {
                        let i = rec.latency_ms.unwrap() as usize;
                        if r.counts[i] == 0 {
                            distinct += 1;
                        }
                        r.counts[i] += 1;
                    }
                }
                Ok(Some(Event::SourceState { state, .. })) => r.states.push(state),
                Ok(Some(Event::Probe(_) | Event::Fleet(_)) | None) | Err(_) => {}
            }
        }
        writer.join().unwrap();
        task.abort();
        r
    })
}

fn assert_each_once(counts: &[u32]) {
    let missing = counts.iter().filter(|&&c| c == 0).count();
    let doubled = counts.iter().filter(|&&c| c > 1).count();
    assert_eq!((missing, doubled), (0, 0), "missing and duplicated lines");
}

/// The rename scenario through the live source task, with directory events or polling only.
fn live_rename(poll: bool) {
    const N: u64 = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    File::create(&path).unwrap();
    let spec = LogSourceSpec {
        path: path.display().to_string(),
        label: None,
        format: None,
        from_start: true,
        history: false,
        poll,
        rotation_grace: corstop::sources::live::ROTATION_GRACE,
    };
    let rotated = dir.path().join("app.log.1");
    let r = run_live(spec, N, 1, move || {
        let mut w = appender(&path);
        write_range(&mut w, 0..8_000);
        w.write_all(b"!bad line\n").unwrap();
        fs::rename(&path, &rotated).unwrap();
        write_range(&mut w, 8_000..10_000);
        drop(w);
        let mut w = appender(&path);
        write_range(&mut w, 10_000..N);
    });
    assert_each_once(&r.counts);
    assert_eq!(r.lines, N + 1);
    assert_eq!(r.errors, 1);
    assert_eq!(r.format, Some("numbered"));
    assert!(
        r.states.iter().any(|s| s == "rotated (rename)"),
        "{:?}",
        r.states
    );
}

#[test]
fn glob_picks_up_new_files_and_never_rereads_rotated_ones() {
    const N: u64 = 16_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    File::create(&path).unwrap();
    // `app.log*` also matches the rotated file: it must not be read a second time.
    let spec = LogSourceSpec {
        path: format!("{}/app.log*", dir.path().display()),
        label: Some("app".into()),
        format: None,
        from_start: true,
        history: false,
        poll: false,
        rotation_grace: corstop::sources::live::ROTATION_GRACE,
    };
    let d = dir.path().to_path_buf();
    let r = run_live(spec, N, 0, move || {
        let mut w = appender(&path);
        write_range(&mut w, 0..5_000);
        fs::rename(&path, d.join("app.log.1")).unwrap();
        write_range(&mut w, 5_000..6_000);
        let mut new = appender(&path);
        write_range(&mut new, 6_000..9_000);
        // Half a line, then a pause long enough for the first follower to let the rotated
        // file go and the pattern's follower of `app.log.1` to take it over.
        let half = line_text(9_000);
        w.write_all(&half.as_bytes()[..7]).unwrap();
        w.flush().unwrap();
        thread::sleep(Duration::from_millis(2_500));
        w.write_all(&half.as_bytes()[7..]).unwrap();
        write_range(&mut w, 9_001..10_000);
        // A file that appears later.
        let mut extra = appender(&d.join("app.log.extra"));
        write_range(&mut extra, 10_000..12_000);
        write_range(&mut new, 12_000..N);
    });
    assert_each_once(&r.counts);
    // No line was cut in two at the hand-over between followers.
    assert_eq!(r.errors, 0);
    assert_eq!(r.lines, N);
}

#[test]
fn live_source_follows_a_rename_with_directory_events() {
    live_rename(false);
}

#[test]
fn live_source_follows_a_rename_in_polling_mode() {
    live_rename(true);
}

/// Reading files in the watched directory (corstop's own opens and reads among them) wakes
/// nobody; only changes do. Before, `--log <directory>` reopened the directory on every
/// wake-up, each open was an event, and the reader spun a core.
#[test]
fn opening_and_reading_in_the_directory_is_not_a_wake_up() {
    use corstop::sources::tail::Wakeup;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.log");
    let sub = dir.path().join("sub");
    fs::write(&file, "x\n").unwrap();
    fs::create_dir(&sub).unwrap();
    let wake = Wakeup::new(dir.path(), false);
    if !wake.is_watching() {
        eprintln!("SKIPPED: no directory watch on this filesystem");
        return;
    }
    for _ in 0..50 {
        let _ = fs::read_to_string(&file).unwrap();
        let _ = fs::File::open(&sub).unwrap();
        let _ = fs::read_dir(&sub).unwrap().count();
    }
    thread::sleep(Duration::from_millis(300));
    assert_eq!(wake.events(), 0);
    // A change is news.
    fs::write(&file, "x\ny\n").unwrap();
    let deadline = Instant::now() + DEADLINE;
    while wake.events() == 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    assert!(wake.events() > 0, "a write was not seen");
}

/// A directory given as a log path is reported as unreadable once, with the OS's words, and
/// never opened.
#[test]
fn a_directory_is_unreadable_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = FileFollower::new(dir.path(), from_start());
    let mut states = Vec::new();
    for _ in 0..5 {
        f.read_available(100, &mut |ev| {
            if let FollowEvent::State(s) = ev {
                states.push(s.to_string());
            }
        });
    }
    assert_eq!(
        states,
        vec!["error: cannot open: Is a directory (os error 21)".to_string()]
    );
}

/// A writer that reopens its log only on its next flush interval appends to the renamed file
/// seconds after the new one appeared; with the default grace those lines are still read
/// (they were lost at the old 2 s grace).
#[test]
fn late_appends_to_a_renamed_file_within_the_default_grace_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    File::create(&path).unwrap();
    let mut follower = FileFollower::new(&path, from_start());
    let mut seen = Seen::new(300);
    let mut old = appender(&path);
    write_range(&mut old, 0..100);
    follow_until(&mut follower, &mut seen, 100, None);
    fs::rename(&path, dir.path().join("app.log.1")).unwrap();
    let mut new = appender(&path);
    write_range(&mut new, 100..200);
    follow_until(&mut follower, &mut seen, 200, None);
    // The old writer is quiet for longer than the former grace, then flushes once more.
    let quiet = Instant::now() + Duration::from_millis(3_500);
    while Instant::now() < quiet {
        follower.read_available(4096, &mut |ev| seen.event(ev));
        thread::sleep(Duration::from_millis(50));
    }
    write_range(&mut old, 200..300);
    follow_until(&mut follower, &mut seen, 300, None);
    seen.assert_exact();
}
