//! The binary as a user runs it: configuration errors, the template, headless reports and the
//! refusal to draw without a terminal.

use assert_cmd::Command;
use predicates::prelude::*;

fn corstop(dir: &tempfile::TempDir) -> Command {
    let mut cmd = Command::cargo_bin("corstop").expect("binary");
    // A clean environment: no stray CORSTOP_* from the caller, diagnostics into the temp dir,
    // and no corstop.toml picked up from the working directory.
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

#[test]
fn print_config_is_a_valid_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let out = corstop(&dir).arg("--print-config").assert().success();
    let template = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(template.contains("[store]"));
    // Uncommenting nothing, the template must load as a config file.
    std::fs::write(dir.path().join("corstop.toml"), &template).unwrap();
    corstop(&dir)
        .args(["report", "-"])
        .write_stdin("")
        .assert()
        .success();
}

#[test]
fn unknown_key_names_file_line_and_key_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("corstop.toml"),
        "fps = 5\n\n[store]\nbukket = \"10s\"\n",
    )
    .unwrap();
    corstop(&dir)
        .args(["report", "-"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "corstop.toml:4: key `bukket`: unknown key",
        ));
}

#[test]
fn flags_beat_environment_beat_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("corstop.toml"),
        "fps = 5\n\n[store]\nretention = \"2h\"\n",
    )
    .unwrap();
    // An invalid value in the environment is reported, by its variable, although the file has
    // a valid one...
    corstop(&dir)
        .env("CORSTOP_RETENTION", "forever")
        .args(["report", "-"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "corstop: CORSTOP_RETENTION: invalid duration 'forever'",
        ));
    // ...and a valid flag wins over the invalid environment value, before or after `report`.
    for args in [
        ["report", "--retention", "3h", "-"],
        ["--retention", "3h", "report", "-"],
    ] {
        corstop(&dir)
            .env("CORSTOP_RETENTION", "forever")
            .args(args)
            .write_stdin("")
            .assert()
            .success();
    }
    // The screen's settings mean nothing to a report: a bad one in the environment is ignored.
    corstop(&dir)
        .env("CORSTOP_FPS", "500")
        .env("CORSTOP_THEME", "nosuch")
        .args(["report", "-"])
        .write_stdin("")
        .assert()
        .success();
}

/// Every usage error exits 2 and names the flag, variable or key the value came from.
#[test]
fn usage_errors_exit_2_and_name_where_the_value_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let api = "https://api.example.com/api/orders";
    // (arguments, environment, what stderr says, what it must not say)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case] = &[
        (
            &["--theme", "nosuch", "--log", "a.log"],
            &[],
            "corstop: --theme: unknown theme `nosuch`",
            "",
        ),
        (
            &["--log", "a.log"],
            &[("CORSTOP_THEME", "nosuch")],
            "corstop: CORSTOP_THEME: unknown theme",
            "",
        ),
        (
            &["demo", "--theme", "nosuch"],
            &[],
            "corstop: --theme: unknown theme",
            "",
        ),
        (
            &["--log-format", "nosuch", "--log", "a.log"],
            &[],
            "corstop: --log-format: unknown log format 'nosuch' (known: appservice-http",
            "",
        ),
        (
            &["--log", "a.log"],
            &[("CORSTOP_LOG_FORMAT", "nosuch")],
            "corstop: CORSTOP_LOG_FORMAT: unknown log format 'nosuch'",
            "",
        ),
        (
            &["--log-format", "nginx", "--log", "a.log"],
            &[],
            "corstop: --log-format: format 'nginx' needs the nginx log_format string (--nginx-format)",
            "",
        ),
        (
            &["report", "--log-format", "nosuch", "-"],
            &[],
            "corstop: --log-format: unknown log format 'nosuch'",
            "",
        ),
        (
            &["--bucket", "5q", "--log", "a.log"],
            &[],
            "corstop: --bucket: invalid duration '5q'",
            "",
        ),
        (
            &["--rotation-grace", "soon", "--log", "a.log"],
            &[],
            "corstop: --rotation-grace: invalid duration 'soon'",
            "",
        ),
        (
            &["report", "--bucket", "1h", "--retention", "10m", "-"],
            &[],
            "corstop: --bucket/--retention: bucket must be at least 1s",
            "",
        ),
        (
            &["--fps", "0", "--log", "a.log"],
            &[],
            "corstop: --fps: must be between 1 and 60, got 0",
            "",
        ),
        (
            &["--probe", api],
            &[("CORSTOP_ORIGIN", "https://app.example.com/app")],
            "corstop: CORSTOP_ORIGIN: 'https://app.example.com/app' has a path; an origin is scheme://host[:port] only, here 'https://app.example.com'",
            "--probe/--origin",
        ),
        (
            &["--probe", api, "--origin", "app.example.com"],
            &[],
            "corstop: --origin: 'app.example.com' is not an origin",
            "",
        ),
        (
            &["--origin", "https://app.example.com"],
            &[("CORSTOP_PROBE", "ftp://x")],
            "corstop: CORSTOP_PROBE: probe endpoint url 'ftp://x' is not an absolute http(s) URL",
            "",
        ),
        (
            &["--probe", api],
            &[],
            "corstop: --probe: no page origin to probe from: give --origin ORIGIN",
            "probe.origins",
        ),
        (
            &["--origin", "https://app.example.com", "--log", "a.log"],
            &[],
            "corstop: --origin: no URL to probe: give --probe URL",
            "",
        ),
        (
            &["--log", "a.log"],
            &[("CORSTOP_FORMAT", "combined")],
            "CORSTOP_FORMAT is no longer read: the log format of the --log sources is CORSTOP_LOG_FORMAT",
            "",
        ),
        // Flags a command does not use.
        (
            &["--format", "combined", "--log", "a.log"],
            &[],
            "tip: the format of the --log sources is '--log-format NAME'",
            "",
        ),
        (
            &["report", "--fps", "5", "-"],
            &[],
            "unexpected argument '--fps'",
            "",
        ),
        (
            &["report", "--theme", "light", "-"],
            &[],
            "unexpected argument '--theme'",
            "",
        ),
        (
            &["report", "--ascii", "-"],
            &[],
            "unexpected argument '--ascii'",
            "",
        ),
        (
            &["check", "--fps", "5"],
            &[],
            "unexpected argument '--fps'",
            "",
        ),
        (
            &["check", "--theme", "light"],
            &[],
            "unexpected argument '--theme'",
            "",
        ),
        (
            &["check", "--ascii"],
            &[],
            "unexpected argument '--ascii'",
            "",
        ),
        (
            &["--fps", "5", "report", "-"],
            &[],
            "'--fps' does not apply to 'corstop report'",
            "",
        ),
        (
            &["--log", "a.log", "report", "-"],
            &[],
            "'--log' does not apply to 'corstop report'",
            "",
        ),
        (
            &["--theme", "light", "check"],
            &[],
            "'--theme' does not apply to 'corstop check'",
            "",
        ),
        (
            &["demo", "--phase", "h9"],
            &[],
            "invalid value 'h9' for '--phase <PHASE>'",
            "",
        ),
        (&["demo", "--hold"], &[], "--phase <PHASE>", ""),
    ];
    for (args, env, says, not) in cases {
        let mut cmd = corstop(&dir);
        cmd.args(*args).write_stdin("");
        for (k, v) in *env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let case = format!("{args:?} {env:?}: {stderr}");
        assert_eq!(out.status.code(), Some(2), "{case}");
        assert!(stderr.contains(says), "{case}");
        assert!(not.is_empty() || !stderr.contains(not), "{case}");
    }

    // A value from the configuration file is named by the file and its table.
    std::fs::write(
        dir.path().join("corstop.toml"),
        "[probe]\n\n[[probe.endpoint]]\nurl = \"https://api.example.com/x\"\n",
    )
    .unwrap();
    corstop(&dir)
        .args(["--log", "a.log"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "corstop.toml: [probe]: endpoint 'https://api.example.com/x' has no origins (set \
             probe.origins",
        ));
}

/// `--help` of each command lists the flags it uses and no other.
#[test]
fn each_command_lists_only_its_flags() {
    let dir = tempfile::tempdir().unwrap();
    let help = |args: &[&str]| {
        let out = corstop(&dir).args(args).arg("--help").assert().success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    let screen = ["--fps", "--theme", "--ascii"];
    for command in ["report", "check"] {
        let text = help(&[command]);
        for flag in screen {
            assert!(
                !text.contains(flag),
                "{command} --help lists {flag}:\n{text}"
            );
        }
        assert!(text.contains("--format"), "{text}");
        assert!(text.contains("--config"), "{text}");
    }
    let report = help(&["report"]);
    for flag in ["--log-format", "--nginx-format", "--retention", "--bucket"] {
        assert!(report.contains(flag), "{flag}: {report}");
    }
    let main = help(&[]);
    assert!(main.contains("--log-format <NAME>"), "{main}");
    // `--format` stays hidden there: it is an output format, and the dashboard has none.
    assert!(
        !main.lines().any(|l| l.trim_start().starts_with("--format")),
        "{main}"
    );
    assert!(main.contains("CORSTOP_LOG_FORMAT"), "{main}");
    let demo = help(&["demo"]);
    for flag in ["--phase", "--hold", "--theme", "--fps", "--ascii"] {
        assert!(demo.contains(flag), "{flag}: {demo}");
    }
    for flag in ["--log <", "--probe", "--log-format"] {
        assert!(!demo.contains(flag), "{flag}: {demo}");
    }
}

/// `--log-format` names the format of the inputs on the main command as under `report`.
#[test]
fn log_format_is_the_input_format_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::write(&log, "2026-04-04T10:31:02Z OPTIONS /api/orders 401 38\n").unwrap();
    // Accepted on the main command: what stops it here is the missing terminal, not usage.
    corstop(&dir)
        .args(["--log-format", "combined", "--log"])
        .arg(&log)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not a terminal"));
    // Under report, forcing a format that does not fit reads nothing from the file.
    let out = corstop(&dir)
        .args(["report", "--log-format", "combined", "--format", "json"])
        .arg(&log)
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(json["sources"][0]["format"], "combined");
    assert_eq!(json["sources"][0]["http_events"], 0);
}

/// An origin written with a trailing slash is read as the origin it means, with a note on
/// stderr for the headless commands.
#[test]
fn a_trailing_slash_on_an_origin_is_corrected_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let out = corstop(&dir)
        .env("CORSTOP_ORIGIN", "https://app.example.com/")
        .env("CORSTOP_PROBE", "https://api.example.com/api/orders")
        .args(["report", "-"])
        .write_stdin("")
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains(
            "corstop: note: CORSTOP_ORIGIN: 'https://app.example.com/' read as \
             'https://app.example.com' (an origin has no trailing slash)"
        ),
        "{stderr}"
    );
    // Nothing listens on port 9: the check runs (and fails, exit 1) with the corrected origin.
    let out = corstop(&dir)
        .args(["check", "--url", "http://127.0.0.1:9/x", "--format", "json"])
        .args(["--origin", "https://app.example.com/"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "note: --origin: 'https://app.example.com/' read as 'https://app.example.com'"
        ),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[0]["origin"], "https://app.example.com");
}

/// `corstop demo --phase h3` comes up in H3 and then goes on through the cycle; `--hold` stays.
#[test]
fn demo_starts_at_the_phase_asked_for() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    // `--serve-only` prints each phase as it begins; 6000x runs the 90-minute H3 in under a
    // second.
    let phases = |extra: &[&str], until: &str, cap: std::time::Duration| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_corstop"))
            .args(["demo", "--serve-only", "--speed", "6000", "--dir"])
            .arg(dir.path().join("logs"))
            .args(extra)
            .env("CORSTOP_LOG_FILE", dir.path().join("corstop.log"))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("  phase ").nth(1) {
                    let id = rest.split(':').next().unwrap_or_default().to_string();
                    if tx.send(id).is_err() {
                        break;
                    }
                }
            }
        });
        let mut seen = Vec::new();
        let deadline = std::time::Instant::now() + cap;
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(id) => {
                    let done = id == until;
                    seen.push(id);
                    if done {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        seen
    };
    let cycle = phases(
        &["--phase", "h3"],
        "double-acao",
        std::time::Duration::from_secs(30),
    );
    assert_eq!(cycle, ["token-expiry", "double-acao"]);
    // Held: at 6000x a whole cycle passes in 3.3 s, and none of it shows.
    let held = phases(
        &["--phase", "h4", "--hold"],
        "recovery",
        std::time::Duration::from_secs(4),
    );
    assert_eq!(held, ["double-acao"]);
}

#[test]
fn report_uses_the_configured_json_field_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("corstop.toml");
    std::fs::write(
        &config,
        "[formats.json-fields]\n\
         time = \"ts\"\n\
         method = \"req.verb\"\n\
         path = \"req.url\"\n\
         status = \"res.code\"\n\
         origin = \"req.origin\"\n",
    )
    .unwrap();
    let lines = concat!(
        r#"{"ts":"2026-04-04T10:31:02Z","req":{"verb":"OPTIONS","url":"/api/orders/7","origin":"https://app.contoso.com"},"res":{"code":401}}"#,
        "\n",
        r#"{"ts":"2026-04-04T10:31:03Z","req":{"verb":"GET","url":"/api/products"},"res":{"code":"200"}}"#,
        "\n",
    );
    let out = corstop(&dir)
        .arg("--config")
        .arg(&config)
        .args(["report", "--log-format", "json", "--format", "json", "-"])
        .write_stdin(lines)
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let src = &json["sources"][0];
    assert_eq!(src["format"], "json", "{src}");
    assert_eq!(src["http_events"], 2, "{src}");
    assert_eq!(src["parse_errors"], 0, "{src}");
    let rows = json["requests"]["rows"].as_array().unwrap();
    assert!(
        rows.iter().any(|r| r["method"] == "OPTIONS"
            && r["status"] == 401
            && r["route"] == "/api/orders/{id}"),
        "{rows:?}"
    );
}

#[test]
fn report_reads_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let lines = "\
2026-04-04T10:31:02Z OPTIONS /api/orders 401 38
2026-04-04T10:31:03Z OPTIONS /api/orders/8812 401 12
2026-04-04T10:31:04Z PUT /api/orders/8813 200 44
2026-04-04T10:31:05Z OPTIONS /api/products 204 3
this line is not a log line
";
    let out = corstop(&dir)
        .args(["report", "--format", "json", "-"])
        .write_stdin(lines)
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let src = &json["sources"][0];
    assert_eq!(src["format"], "appservice-http", "{src}");
    assert_eq!(src["lines"], 5, "{src}");
    assert_eq!(src["http_events"], 4, "{src}");
    assert_eq!(src["parse_errors"], 1, "{src}");
    let rows = json["requests"]["rows"].as_array().unwrap();
    let options_401 = rows
        .iter()
        .find(|r| r["method"] == "OPTIONS" && r["status"] == 401)
        .expect("OPTIONS 401 row");
    // Both ids were templated into one route.
    assert_eq!(options_401["route"], "/api/orders");
    let templated = rows
        .iter()
        .filter(|r| r["route"] == "/api/orders/{id}")
        .map(|r| r["count"].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(templated, 2);
}

#[test]
fn report_table_fits_80_columns() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/logs/combined.log"
    );
    let out = corstop(&dir).args(["report", fixture]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains("REQUESTS"), "{text}");
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line}");
    }
}

#[test]
fn missing_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    corstop(&dir)
        .args(["report", "/nonexistent/corstop-test.log"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("/nonexistent/corstop-test.log"))
        // The cause is said once.
        .stderr(predicate::str::contains("No such file or directory").count(1));
}

#[test]
fn without_a_terminal_the_dashboard_points_to_headless_modes() {
    let dir = tempfile::tempdir().unwrap();
    corstop(&dir)
        .args(["--log", "access.log"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("not a terminal"))
        .stderr(predicate::str::contains("corstop report"))
        .stderr(predicate::str::contains("corstop check"));
}

/// Values that would break the memory budget are refused, naming the key and the limit, and
/// files corstop reads whole are capped: nothing allocates gigabytes or aborts.
#[test]
fn budget_breaking_settings_and_huge_files_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    corstop(&dir)
        .args(["--retention", "876000h", "report", "-"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "at most 8640 fit the memory budget",
        ));
    std::fs::write(
        dir.path().join("corstop.toml"),
        "[store]\nbucket = \"10s\"\nretention = \"30d\"\n",
    )
    .unwrap();
    corstop(&dir)
        .args(["report", "-"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("corstop.toml:3: key `retention`"));
    std::fs::remove_file(dir.path().join("corstop.toml")).unwrap();
    corstop(&dir)
        .args(["--config", "/dev/zero", "report", "-"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("larger than 1048576 bytes"));
    // The theme is read by the dashboard only.
    let err = corstop::ui::Theme::load("/dev/zero", false).unwrap_err();
    assert!(
        err.to_string().contains("larger than 1048576 bytes"),
        "{err}"
    );
}
