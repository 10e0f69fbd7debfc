//! `--tz` in the real dashboard: every time drawn on every view is in the chosen zone, and the
//! header says which zone that is (the live log's read-time column is checked for the header
//! only). The log holds 15 minutes of events from 10:00 UTC; read
//! from its start, the view follows event time, so every time on screen must fall inside
//! those 15 minutes as the zone writes them (15:30–15:45 in Kolkata, +05:30: a time left in
//! UTC would read 10:xx and fail).

#![cfg(unix)]

use std::io::Write;
use std::time::Duration;

use crate::common::pty::*;

const COLS: u16 = 200;
const ROWS: u16 = 60;

fn write_log(path: &std::path::Path) {
    let mut text = String::new();
    for i in 0..900u32 {
        let (m, s) = (i / 60, i % 60);
        let (line, status) = match i % 5 {
            0 => ("OPTIONS /api/orders/7 HTTP/1.1", 403),
            1 => ("GET /api/orders/7 HTTP/1.1", 401),
            _ => ("GET /api/orders/7 HTTP/1.1", 200),
        };
        text.push_str(&format!(
            "10.0.0.{} - - [04/Apr/2026:10:{m:02}:{s:02} +0000] \"{line}\" {status} 12 \
             \"https://app.example/\" \"Mozilla/5.0\"\n",
            i % 9
        ));
    }
    std::fs::write(path, text).unwrap();
}

/// Every `HH:MM` (with or without seconds) on the screen, as minutes of the day, with the row
/// it was found on.
fn times_on(screen: &[String]) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for row in screen {
        let b = row.as_bytes();
        for i in 0..b.len().saturating_sub(4) {
            let digit = |j: usize| b.get(j).is_some_and(u8::is_ascii_digit);
            // A UTC offset (`+05:30`) is not a time.
            let boundary = i == 0 || !(b[i - 1].is_ascii_digit() || b":+-".contains(&b[i - 1]));
            if boundary
                && digit(i)
                && digit(i + 1)
                && b[i + 2] == b':'
                && digit(i + 3)
                && digit(i + 4)
            {
                let h = u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
                let m = u32::from(b[i + 3] - b'0') * 10 + u32::from(b[i + 4] - b'0');
                found.push((h * 60 + m, row.trim_end().to_string()));
            }
        }
    }
    found
}

/// Runs the dashboard with `tz`, visits every view, and checks each time drawn lies in
/// `[from, to]` (minutes of the day) and the header names the zone with `zone_mark`.
fn every_time_in_zone(tz: &str, from: u32, to: u32, zone_mark: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    write_log(&path);
    let args = [
        "--log".into(),
        path.into_os_string(),
        "--from-start".into(),
        "--tz".into(),
        tz.into(),
    ];
    let mut s = Session::start_sized(dir, &args, None, COLS, ROWS);
    s.first_frame();
    s.wait_for("the log's routes", |out| {
        screen(out, COLS, ROWS)
            .iter()
            .any(|r| r.contains("/api/orders"))
    });
    let mut beyond_header = 0;
    for key in ["1", "2", "3", "4", "5", "6", "7"] {
        s.press(key.as_bytes());
        // The frame is written in several chunks; let it finish.
        std::thread::sleep(Duration::from_millis(300));
        let shown = screen(&s.output(), COLS, ROWS);
        let header = shown[..2].join("\n");
        assert!(
            header.contains(zone_mark),
            "view {key}: the header does not say the zone ({zone_mark}):\n{header}"
        );
        let times = times_on(&shown);
        assert!(!times.is_empty(), "view {key}: no time drawn at all");
        for (minute, row) in &times {
            assert!(
                (from..=to).contains(minute),
                "view {key} with --tz {tz}: {:02}:{:02} is outside {:02}:{:02}..{:02}:{:02} \
                 in row:\n{row}\nscreen:\n{}",
                minute / 60,
                minute % 60,
                from / 60,
                from % 60,
                to / 60,
                to % 60,
                shown.join("\n")
            );
        }
        beyond_header += times_on(&shown[2..]).len();
    }
    assert!(
        beyond_header >= 3,
        "only {beyond_header} times outside the header: the test checks too little"
    );
    s.master.write_all(b"q").unwrap();
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status}");
}

#[test]
fn tz_changes_every_displayed_time() {
    // 10:00–10:15 UTC, a minute of slack either side for axis labels.
    every_time_in_zone("Asia/Kolkata", 15 * 60 + 29, 15 * 60 + 46, "IST");
    every_time_in_zone("utc", 9 * 60 + 59, 10 * 60 + 16, "Z");
    every_time_in_zone("America/New_York", 5 * 60 + 59, 6 * 60 + 16, "EDT");
}

/// `report` words its times in the zone and says which; its JSON stays in UTC for machines.
#[test]
fn report_text_is_in_the_zone_and_json_in_utc() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    write_log(&path);
    let run = |extra: &[&str], env_tz: &str| {
        let out = assert_cmd::Command::cargo_bin("corstop")
            .unwrap()
            .arg("report")
            .args(extra)
            .arg(&path)
            .env("TZ", env_tz)
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path())
            .env_remove("CORSTOP_TZ")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let table = run(&["--tz", "Asia/Kolkata", "--format", "table"], "UTC");
    assert!(
        table.contains("events: 2026-04-04T15:30:00+05:30 .. 2026-04-04T15:44:59+05:30"),
        "{table}"
    );
    assert!(table.contains("(times in Asia/Kolkata)"), "{table}");
    // No flag: the zone comes from TZ.
    let table = run(&["--format", "table"], "Asia/Tokyo");
    assert!(
        table.contains("events: 2026-04-04T19:00:00+09:00 .. 2026-04-04T19:14:59+09:00"),
        "{table}"
    );
    let table = run(&["--format", "table"], "UTC");
    assert!(
        table.contains("events: 2026-04-04T10:00:00Z .. 2026-04-04T10:14:59Z"),
        "{table}"
    );
    assert!(!table.contains("times in"), "{table}");
    let json = run(&["--tz", "Asia/Kolkata", "--format", "json"], "UTC");
    assert!(
        json.contains("\"first_event\": \"2026-04-04T10:00:00Z\""),
        "{json}"
    );
}

#[test]
fn an_unknown_zone_is_a_usage_error_naming_its_flag() {
    let out = assert_cmd::Command::cargo_bin("corstop")
        .unwrap()
        .args(["report", "--tz", "Paris", "/dev/null"])
        .env_remove("CORSTOP_TZ")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--tz") && err.contains("did you mean Europe/Paris?"),
        "{err}"
    );
}
