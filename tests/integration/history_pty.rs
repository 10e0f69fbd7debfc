//! The real binary in a pseudo-terminal, started on a log file that already holds half an hour
//! of traffic: the first screen shows that half hour (its request count, its failing route),
//! never an empty, healthy board.
//!
//! What the terminal shows is rebuilt from the bytes corstop writes by a terminal emulator
//! (`vt100`), frame by frame, since a frame only writes the cells that changed.
//! Nothing here measures time: every wait polls for an observable change with a deadline.

#![cfg(unix)]

use std::fmt::Write as _;
use std::io::Write;
use std::time::{Duration, Instant};

use crate::common::pty::{DEADLINE, Session};

/// What ends every frame: the cursor hidden again.
const FRAME_END: &[u8] = b"\x1b[?25l";
const COLS: u16 = 120;
const ROWS: u16 = 36;

/// Feeds what corstop wrote so far to a terminal emulator, checking every state the screen
/// went through with `never` (in steps of what arrived between polls), until `done` holds.
fn watch(
    s: &mut Session,
    what: &str,
    never: impl Fn(&str) -> Option<String>,
    done: impl Fn(&str) -> bool,
) -> String {
    let mut screen = vt100::Parser::new(ROWS, COLS, 0);
    let start = Instant::now();
    let mut seen = 0;
    loop {
        // Only whole frames: each ends by hiding the cursor, and one read may end inside a
        // frame, whose top half would look like a screen of its own.
        let new: Vec<u8> = {
            let out = s.output.lock().unwrap();
            let upto = out[seen..]
                .windows(FRAME_END.len())
                .rposition(|w| w == FRAME_END)
                .map_or(seen, |i| seen + i + FRAME_END.len());
            out[seen..upto].to_vec()
        };
        seen += new.len();
        screen.process(&new);
        let text = screen.screen().contents();
        if !new.is_empty()
            && let Some(why) = never(&text)
        {
            panic!("{why}; screen:\n{text}");
        }
        if done(&text) {
            return text;
        }
        if let Ok(Some(status)) = s.child.try_wait() {
            panic!("corstop exited ({status}) while waiting for {what}; screen:\n{text}");
        }
        assert!(
            start.elapsed() < DEADLINE,
            "no {what} within {DEADLINE:?}; screen:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// nginx combined lines, one every two seconds over the last half hour: the API's preflights
/// on `/api/orders` fail with 401 (the auth layer answers OPTIONS), the rest succeeds.
fn half_hour_of_traffic(now: i64) -> (String, u64) {
    let mut text = String::new();
    let mut last_15m = 0;
    let from = now - 30 * 60_000;
    let mut t = from;
    let mut i = 0u64;
    while t < now - 5_000 {
        let ts = chrono::DateTime::from_timestamp_millis(t)
            .unwrap()
            .format("%d/%b/%Y:%H:%M:%S +0000");
        let (method, path, status) = match i % 4 {
            0 => ("OPTIONS", "/api/orders", 401),
            1 => ("GET", "/api/orders/1234", 200),
            2 => ("GET", "/api/products", 200),
            _ => ("POST", "/api/cart", 201),
        };
        let _ = writeln!(
            text,
            "203.0.113.{} - - [{ts}] \"{method} {path} HTTP/1.1\" {status} 120 \
             \"https://app.contoso.com/\" \"Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0\"",
            i % 200 + 1
        );
        if t >= now - 15 * 60_000 {
            last_15m += 1;
        }
        t += 2_000;
        i += 1;
    }
    (text, last_15m)
}

#[test]
fn the_first_screen_shows_the_history_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let now = corstop::model::time::now_ms();
    let (text, last_15m) = half_hour_of_traffic(now);
    std::fs::write(dir.path().join("access.log"), text).unwrap();
    let args = ["--log".into(), "access.log".into()];
    let mut s = Session::start_sized(dir, &args, None, COLS, ROWS);
    // Every screen on the way must be either still loading or the history: an empty board
    // that says OK is what this feature removes.
    let never = |text: &str| {
        let empty = text.contains(" 0 requests over");
        empty.then(|| "an empty board was shown".to_string())
    };
    let shown = watch(&mut s, "the history's request count", never, |text| {
        requests_over_15m(text).is_some_and(|n| n > 0)
    });
    let n = requests_over_15m(&shown).unwrap();
    // The window is counted in 10 s buckets, so its edge may take in or leave out a few lines.
    assert!(
        n.abs_diff(last_15m) <= 10,
        "{n} requests shown, {last_15m} in the last 15 minutes of the file:\n{shown}"
    );
    assert!(shown.contains("/api/orders"), "{shown}");
    assert!(
        shown.contains("DEGRADED") || shown.contains("PAGE"),
        "{shown}"
    );
    assert!(!shown.contains("LOADING HISTORY"), "{shown}");
    assert!(shown.contains("following"), "{shown}");
    s.master.write_all(b"q").unwrap();
    assert!(s.wait_exit().success());
    s.assert_restored();
}

/// The count in "N requests over 15m".
fn requests_over_15m(text: &str) -> Option<u64> {
    let at = text.find(" requests over 15m")?;
    let digits: String = text[..at]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.chars().rev().collect::<String>().parse().ok()
}
