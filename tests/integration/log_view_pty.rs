//! The real binary in a pseudo-terminal, reading an Azure diagnostic JSON log and an nginx
//! combined log: the log view (key 7) shows the parsed columns (method, route, status,
//! origin), not the raw JSON, and Enter opens the selected line's raw text.
//!
//! As in `tui_pty`, nothing measures time: each wait polls for what the screen must show,
//! and only a generous deadline expiring fails.

#![cfg(unix)]

use std::fs::File;
use std::io::Write;
use std::process::Stdio;

use corstop::model::time::{format_rfc3339_millis, now_ms, to_datetime};

use crate::common::pty::{Session, screen};

/// How the log reaches corstop.
#[derive(Clone, Copy)]
enum Input {
    /// On standard input, read line by line as it arrives.
    Stdin,
    /// As a file that already holds it: its history is read back before it is followed.
    File,
}

/// corstop on a 120x36 pty reading `log` (keys come from the terminal).
fn start(log: &str, input: Input) -> Session {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.log");
    std::fs::write(&path, log).unwrap();
    match input {
        Input::Stdin => {
            let stdin = Stdio::from(File::open(&path).unwrap());
            Session::start_in(dir, &["--log".into(), "-".into()], Some(stdin))
        }
        Input::File => Session::start_in(dir, &["--log".into(), path.into()], None),
    }
}

/// Whether `needle` was written in one piece. The terminal is updated cell by cell where the
/// screen changed, so a needle holds no space (a space already on screen is skipped).
fn has(out: &[u8], needle: &str) -> bool {
    out.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Sends `keys`, returning how much had been written before.
fn send(s: &mut Session, keys: &[u8]) -> usize {
    let from = s.output_len();
    s.master.write_all(keys).unwrap();
    s.master.flush().unwrap();
    from
}

/// Opens the log view once the source has been read, and checks the columns and the raw
/// line behind Enter.
fn log_view_shows(log: &str, columns: &[&str], raw: &str) {
    for input in [Input::Stdin, Input::File] {
        log_view_shows_from(log, input, columns, raw);
    }
}

fn log_view_shows_from(log: &str, input: Input, columns: &[&str], raw: &str) {
    let mut s = start(log, input);
    s.first_frame();
    // Lines read after the switch redraw the view, so there is no need to wait for them.
    // The screen as a terminal shows it: a frame rewrites only the cells that changed, so a
    // column's text is not always written in one piece.
    let screen_of = |out: &[u8]| screen(out, 120, 36).join("\n");
    send(&mut s, b"7");
    s.wait_for("the log view with its columns", |out| {
        let screen = screen_of(out);
        screen.contains("Live log:") && columns.iter().all(|c| screen.contains(c))
    });
    let shown = screen_of(&s.output());
    assert!(
        !shown.contains(r#"{"category":"#),
        "raw JSON in the log view:\n{shown}"
    );
    let from = send(&mut s, b"\r");
    s.wait_for("the raw line", |out| {
        has(&out[from..], "(redacted):") && has(&out[from..], raw)
    });
    let from = send(&mut s, b"\x1b");
    s.wait_for("the popup closed", |out| out.len() > from);
    send(&mut s, b"q");
    assert!(s.wait_exit().success());
    s.assert_restored();
}

#[test]
fn the_log_view_shows_parsed_columns_for_json_and_combined_sources() {
    let now = now_ms();
    let json: String = (0..6)
        .map(|i| {
            let (method, path, status) = [
                ("OPTIONS", "/api/orders", 401),
                ("GET", "/api/orders/8812", 200),
                ("PUT", "/api/orders/8812", 403),
            ][i % 3];
            format!(
                r#"{{"category":"AppServiceHTTPLogs","time":"{}","operationName":"Microsoft.Web/sites/log","properties":{{"CsMethod":"{method}","CsUriStem":"{path}","CsUriQuery":"-","UserAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0","Referer":"https://app.contoso.com/orders","CsHost":"api.contoso.com","ScStatus":{status},"TimeTaken":38,"ComputerName":"RD0003FF"}}}}"#,
                format_rfc3339_millis(now - (6 - i as i64) * 1000)
            ) + "\n"
        })
        .collect();
    log_view_shows(
        &json,
        &[
            "OPTIONS",
            "/api/orders/{id}",
            "401",
            "https://app.contoso.com",
        ],
        r#"{"category":"AppServiceHTTPLogs""#,
    );

    let stamp = to_datetime(now).unwrap().format("%d/%b/%Y:%H:%M:%S +0000");
    let ua = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15";
    let combined: String = [
        ("OPTIONS /api/orders", 204, "https://app.contoso.com, https://app.contoso.com"),
        ("GET /api/orders/8812", 200, "https://app.contoso.com"),
        ("OPTIONS /api/invoices", 401, "-"),
    ]
    .iter()
    .map(|(req, status, acao)| {
        format!(
            r#"198.51.100.2 - - [{stamp}] "{req} HTTP/1.1" {status} 0 "https://app.contoso.com/" "{ua}" "https://app.contoso.com" "{acao}" 0.004"#
        ) + "\n"
    })
    .collect();
    log_view_shows(
        &combined,
        &[
            "OPTIONS",
            "/api/orders/{id}",
            "401",
            "https://app.contoso.com",
            "2x",
        ],
        r#""https://app.contoso.com/""#,
    );
}
