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
    std::fs::write(dir.path().join("corstop.toml"), "fps = 5\n").unwrap();
    // An invalid value in the environment is reported although the file has a valid one...
    corstop(&dir)
        .env("CORSTOP_FPS", "500")
        .args(["report", "-"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "must be between 1 and 60, got 500",
        ));
    // ...and a valid flag wins over the invalid environment value.
    corstop(&dir)
        .env("CORSTOP_FPS", "500")
        .args(["--fps", "20", "report", "-"])
        .write_stdin("")
        .assert()
        .success();
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
