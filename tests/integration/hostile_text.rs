//! Text from logs is inert in every output: a request path or origin carrying terminal escape
//! sequences (clear screen, window title, OSC 52 clipboard write) reaches `report` in every
//! format only as visible escapes.

use assert_cmd::Command;

const ESC: char = '\u{1b}';
const BEL: char = '\u{7}';

#[test]
fn report_never_writes_control_characters_from_a_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let mut text = String::new();
    for i in 0..30 {
        text.push_str(&format!(
            "2026-04-04T10:{:02}:00Z OPTIONS /api/x{ESC}[2J{ESC}]0;pwned{BEL}{ESC}]52;c;SGVsbG8={BEL}y 401 3\n",
            i
        ));
    }
    std::fs::write(&log, text).unwrap();
    for format in ["table", "markdown", "json"] {
        let out = Command::cargo_bin("corstop")
            .unwrap()
            .env("CORSTOP_LOG_FILE", dir.path().join("corstop.log"))
            .args(["report", "--format", format, log.to_str().unwrap()])
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        assert!(out.status.success(), "{format}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("/api/x"),
            "{format}: the route is reported: {stdout}"
        );
        let bad: Vec<char> = stdout
            .chars()
            .filter(|c| c.is_control() && *c != '\n')
            .collect();
        assert!(bad.is_empty(), "{format} writes {bad:?}:\n{stdout}");
    }
}
