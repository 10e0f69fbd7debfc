//! `corstop report` on a log whose incident ended before the log did: the report names the
//! incident, when it started and ended, and its evidence, ready for a postmortem.

use std::fmt::Write as _;

use assert_cmd::Command;

fn corstop(dir: &tempfile::TempDir) -> Command {
    let mut cmd = Command::cargo_bin("corstop").expect("binary");
    for (k, _) in std::env::vars() {
        if k.starts_with("CORSTOP_") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(dir.path())
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("CORSTOP_LOG_FILE", dir.path().join("corstop.log"));
    cmd
}

/// 10:00 to 10:39:50, a preflight and a request every 10 s; from 10:05:00 to 10:19:50 the
/// preflights are answered 401, before and after 204. A few server-side errors on another
/// route throughout are noise.
fn finished_incident_log() -> String {
    let mut o = String::new();
    for i in 0..240 {
        let (m, s) = (i / 6, (i % 6) * 10);
        let at = format!("2026-04-04T10:{m:02}:{s:02}Z");
        let denied = (30..120).contains(&i);
        let _ = writeln!(
            o,
            "{at} OPTIONS /api/orders {} 4",
            if denied { 401 } else { 204 }
        );
        let _ = writeln!(o, "{at} GET /api/orders 200 21");
        if i % 40 == 7 {
            let _ = writeln!(o, "{at} POST /api/jobs 500 310");
        }
    }
    o
}

#[test]
fn report_names_a_finished_incident_with_start_end_and_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("http.log");
    std::fs::write(&log, finished_incident_log()).unwrap();
    let log = log.to_str().unwrap();

    let out = corstop(&dir).args(["report", log]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let incident = text
        .split("\nINCIDENT: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no incident section:\n{text}"));
    assert!(
        incident.starts_with("H2 Preflight blocked by auth [ENDED"),
        "{incident}"
    );
    for want in [
        // Times are those of the report's one-minute buckets: the last 401 fell in the
        // minute from 10:19, and the log ends at 10:39:50.
        "started 2026-04-04T10:05:00Z, ended 2026-04-04T10:19:00Z after 14m (20m 50s",
        "before the end of the window)",
        "OPTIONS answered 401 ×90 and 403 ×0 of 240 preflights",
    ] {
        assert!(incident.contains(want), "{want} not in {incident}");
    }
    // The board says the same: ended, not weakened.
    assert!(text.contains("ended 10:19:00Z (20m 50s ago)"), "{text}");
    assert!(!text.contains("weakened      Preflight blocked"), "{text}");
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line}");
    }

    let out = corstop(&dir)
        .args(["report", "--format", "json", log])
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let first = &json["incidents"][0];
    assert_eq!(first["id"], "H2", "{first}");
    assert_eq!(first["state"], "ended", "{first}");
    assert_eq!(first["start"], 1_775_296_800_000i64 + 5 * 60_000, "{first}");
    assert_eq!(first["end"], 1_775_296_800_000i64 + 19 * 60_000, "{first}");

    let out = corstop(&dir)
        .args(["report", "--format", "markdown", log])
        .assert()
        .success();
    let md = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(md.contains("## Incident"), "{md}");
    assert!(
        md.contains("**H2 Preflight blocked by auth** — ended"),
        "{md}"
    );
    assert!(md.contains("ended 2026-04-04T10:19:00Z"), "{md}");
}

/// One line stamped in 2099, in the middle of the incident or as the very first line, is
/// counted as dropped future and changes nothing else the report concludes.
#[test]
fn a_line_stamped_in_2099_changes_nothing_but_the_dropped_counter() {
    let dir = tempfile::tempdir().unwrap();
    let clean = finished_incident_log();
    let poison = "2099-01-01T00:00:00Z OPTIONS /api/orders 204 4\n";
    let mut middle = String::new();
    for (i, line) in clean.lines().enumerate() {
        if i == 200 {
            middle.push_str(poison);
        }
        middle.push_str(line);
        middle.push('\n');
    }
    let first = format!("{poison}{clean}");

    let report = |name: &str, text: &str| -> serde_json::Value {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = corstop(&dir)
            .args(["report", "--format", "json", path.to_str().unwrap()])
            .assert()
            .success();
        serde_json::from_slice(&out.get_output().stdout).unwrap()
    };
    let base = report("clean.log", &clean);
    assert_eq!(base["incidents"][0]["id"], "H2", "{}", base["incidents"]);
    assert_eq!(base["dropped"]["future"], 0);
    for (name, text) in [("middle.log", &middle), ("first.log", &first)] {
        let got = report(name, text);
        assert_eq!(got["dropped"]["future"], 1, "{name}: {}", got["dropped"]);
        assert_eq!(got["dropped"]["too_old"], 0, "{name}");
        for key in ["incidents", "triage", "status", "bursts"] {
            assert_eq!(got[key], base[key], "{name}: {key} differs");
        }
    }
}
