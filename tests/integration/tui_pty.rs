//! The real binary in a pseudo-terminal: `corstop demo` draws, answers keys and resizes, and
//! gives the terminal back (alternate screen left, cursor shown, raw mode off) whether it is
//! quit with `q` or stopped with SIGTERM.
//!
//! Nothing here measures time: every wait polls for an observable change with a generous
//! deadline, and only the deadline expiring fails the test.

#![cfg(unix)]

use std::fs::File;
use std::io::{Read, Write};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::termios::{LocalFlags, tcgetattr};
use nix::unistd::Pid;

use crate::common::pty::*;

#[test]
fn keys_resize_and_quit_restore_the_terminal() {
    let mut s = Session::start();
    s.first_frame();
    for keys in [&b"2"[..], b"3", b"5", b"\t"] {
        s.press(keys);
    }
    s.resize(100, 30);
    s.press(b"1");
    s.master.write_all(b"q").unwrap();
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status}");
    s.assert_restored();
}

#[test]
fn sigterm_restores_the_terminal() {
    let mut s = Session::start();
    s.first_frame();
    kill(Pid::from_raw(s.child.id() as i32), Signal::SIGTERM).unwrap();
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status}");
    s.assert_restored();
}

/// `corstop demo --phase h3` comes up in H3, and its header says so and what the board should
/// show; a dashboard whose origin was written with a trailing slash says it corrected it.
#[test]
fn the_header_narrates_the_demo_and_notes_corrections() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let args = [
        "demo".into(),
        "--phase".into(),
        "h3".into(),
        "--dir".into(),
        logs.into(),
    ];
    let mut s = Session::start_in(dir, &args, None);
    s.first_frame();
    // From the first frame on: the demo starts in H3, not at the start of the cycle.
    let first = screen_text(&s.output());
    assert!(
        first.contains("demo phase 3/5 H3 token expiry (0 of 130 min) \u{b7} expect: in 2 min:"),
        "{first}"
    );
    // Then the first expiry wave: the header says H3 should be on top. Frames only rewrite
    // the cells that changed, so a resize (which redraws everything) is what gets read.
    let start = Instant::now();
    let mut width = 120;
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let before = s.output_len();
        width = if width == 120 { 121 } else { 120 };
        s.resize(width, 36);
        std::thread::sleep(Duration::from_millis(300));
        let frame = screen_text(&s.output()[before..]);
        if frame.contains("expect: H3 on top (tokens expired together; refresh fails for") {
            break;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "no H3 expectation; last frame:\n{frame}"
        );
    }
    s.master.write_all(b"q").unwrap();
    assert!(s.wait_exit().success());
    s.assert_restored();

    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--probe".into(),
        "http://127.0.0.1:9/api/orders".into(),
        "--origin".into(),
        "https://app.example.com/".into(),
    ];
    let mut s = Session::start_in(dir, &args, None);
    s.first_frame();
    let first = screen_text(&s.output());
    assert!(
        first.contains(
            "note: --origin: 'https://app.example.com/' read as 'https://app.example.com' (an \
             origin has no trailing slash)"
        ),
        "{first}"
    );
    s.master.write_all(b"q").unwrap();
    assert!(s.wait_exit().success());
    s.assert_restored();
}

/// `cat old.log | corstop --log -`: every line is older than the window, so the dashboard
/// must say so (and not be OK) instead of showing an empty, healthy screen.
#[test]
fn an_old_log_on_stdin_is_not_an_empty_ok() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.log");
    let mut text = String::new();
    for i in 0..798 {
        let (m, s) = (i / 60 % 60, i % 60);
        text.push_str(&format!(
            "10.0.0.{} - - [04/Apr/2024:10:{m:02}:{s:02} +0000] \"GET /api/orders HTTP/1.1\" 401 \
             12 \"-\" \"Mozilla/5.0\"\n",
            i % 7
        ));
    }
    std::fs::write(&path, text).unwrap();
    let stdin = Stdio::from(File::open(&path).unwrap());
    let args = ["--log".into(), "-".into()];
    let mut s = Session::start_in(dir, &args, Some(stdin));
    s.first_frame();
    // Read from the screen: a frame drawn while stdin is still being read says fewer lines,
    // and the next one rewrites only the digits that changed.
    s.wait_for("the skipped-history problem", |out| {
        screen(out, 120, 36)
            .join("\n")
            .contains("798 lines older than the 6h window were skipped")
    });
    s.wait_for("a DEGRADED badge", |out| find(out, b"DEGRADED").is_some());
    s.master.write_all(b"q").unwrap();
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status}");
    s.assert_restored();
}

/// The process state letter from /proc (`T` when stopped).
fn proc_state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next())
        .unwrap_or('?')
}

fn wait_state(s: &Session, want: char) {
    let start = Instant::now();
    while proc_state(s.child.id()) != want {
        assert!(
            start.elapsed() < DEADLINE,
            "process never reached state {want}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn is_raw(s: &Session) -> bool {
    !tcgetattr(s.slave.as_ref().unwrap())
        .unwrap()
        .local_flags
        .contains(LocalFlags::ICANON)
}

/// Ctrl-Z (or `kill -TSTP`) leaves a clean shell: alternate screen left, raw mode off, mouse
/// off, the process stopped; `fg` (SIGCONT) takes the screen back and redraws at once, and keys
/// work without Enter.
#[test]
fn suspend_and_resume_behave_like_a_well_mannered_tui() {
    for how in ["ctrl-z", "sigtstp"] {
        let mut s = Session::start();
        s.first_frame();
        match how {
            "ctrl-z" => s.master.write_all(&[0x1a]).unwrap(),
            _ => kill(Pid::from_raw(s.child.id() as i32), Signal::SIGTSTP).unwrap(),
        }
        wait_state(&s, 'T');
        assert!(!is_raw(&s), "{how}: raw mode still on while suspended");
        let out = s.output();
        let left = rfind(&out, LEAVE_ALT).expect("alternate screen left");
        assert!(
            left > rfind(&out, ENTER_ALT).unwrap(),
            "{how}: screen not handed back"
        );
        assert!(
            rfind(&out, b"\x1b[?1000l").is_some_and(|i| i > rfind(&out, b"\x1b[?1000h").unwrap()),
            "{how}: mouse tracking left on"
        );

        let before = s.output_len();
        kill(Pid::from_raw(s.child.id() as i32), Signal::SIGCONT).unwrap();
        s.wait_for("the screen taken back and redrawn", |out| {
            out.len() > before + 2000
                && rfind(out, ENTER_ALT).unwrap_or(0) > rfind(out, LEAVE_ALT).unwrap_or(0)
        });
        assert!(is_raw(&s), "{how}: raw mode not back after fg");
        // Keys work at once: switching view redraws.
        s.press(b"2");
        s.master.write_all(b"q").unwrap();
        let status = s.wait_exit();
        assert!(status.success(), "{how}: exit status {status}");
        s.assert_restored();
    }
}

#[test]
fn sigquit_restores_the_terminal() {
    let mut s = Session::start();
    s.first_frame();
    kill(Pid::from_raw(s.child.id() as i32), Signal::SIGQUIT).unwrap();
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status}");
    s.assert_restored();
}

/// One loopback server for both sides of an alert: `/api/*` is an API whose preflights are
/// refused (401, no CORS headers), `/hook` a Slack webhook that keeps what it is sent.
fn api_and_webhook() -> (std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    use std::io::BufRead;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hooks = Arc::new(Mutex::new(Vec::new()));
    let seen = hooks.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let mut reader = std::io::BufReader::new(conn);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let answer: &[u8] = if request_line.contains(" /hook ") {
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
            } else {
                b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            };
            let _ = reader.get_mut().write_all(answer);
        }
    });
    (addr, hooks)
}

#[test]
fn the_dashboard_sends_its_alerts_to_the_configured_webhook() {
    let (addr, hooks) = api_and_webhook();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("corstop.toml"),
        format!("[notify]\nslack-webhook = \"http://{addr}/hook\"\n"),
    )
    .unwrap();
    let args: Vec<std::ffi::OsString> = vec![
        "--probe".into(),
        format!("http://{addr}/api/orders").into(),
        "--origin".into(),
        "https://app.example".into(),
    ];
    let mut s = Session::start_in(dir, &args, None);
    s.first_frame();
    // The refused preflight makes the status DEGRADED; the notifier, evaluated every 5 s,
    // posts it once.
    let start = Instant::now();
    while hooks.lock().unwrap().is_empty() {
        assert!(
            start.elapsed() < DEADLINE,
            "no webhook within {DEADLINE:?}; screen:\n{}",
            String::from_utf8_lossy(&s.output())
        );
        assert!(s.child.try_wait().unwrap().is_none(), "corstop exited");
        std::thread::sleep(Duration::from_millis(50));
    }
    let posted = hooks.lock().unwrap()[0].clone();
    assert!(
        posted.contains("DEGRADED") || posted.contains("PAGE"),
        "{posted}"
    );
    assert!(posted.to_lowercase().contains("probe"), "{posted}");
    s.master.write_all(b"q").unwrap();
    assert!(s.wait_exit().success());
}

/// The text written to the terminal with escape sequences dropped and each cursor move read as
/// a space (a frame skips the cells that did not change), spaces collapsed.
fn screen_text(out: &[u8]) -> String {
    let mut text = Vec::with_capacity(out.len());
    let mut i = 0;
    while i < out.len() {
        if out[i] == 0x1b && out.get(i + 1) == Some(&b'[') {
            let end = out[i + 2..]
                .iter()
                .position(|b| (0x40..=0x7e).contains(b))
                .map_or(out.len(), |p| i + 2 + p);
            if out.get(end) == Some(&b'H') {
                text.push(b' ');
            }
            i = end + 1;
        } else {
            text.push(out[i]);
            i += 1;
        }
    }
    let text = String::from_utf8_lossy(&text);
    text.split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
