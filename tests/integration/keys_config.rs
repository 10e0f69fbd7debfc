//! The `[keys]` table of the configuration file: a key bound twice is refused at start-up
//! with the file, the key and both actions named; a valid table is accepted.

use assert_cmd::Command;
use predicates::prelude::*;

fn corstop(dir: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("corstop").unwrap();
    cmd.current_dir(dir)
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir)
        .env_remove("CORSTOP_CONFIG");
    cmd
}

#[test]
fn duplicate_key_is_refused_with_both_actions() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("corstop.toml");
    std::fs::write(&config, "[keys]\nfreeze = [\"q\"]\n").unwrap();
    let log = dir.path().join("access.log");
    std::fs::write(&log, "").unwrap();
    corstop(dir.path())
        .arg("--config")
        .arg(&config)
        .arg("report")
        .arg(&log)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("[keys]")
                .and(predicate::str::contains("corstop.toml"))
                .and(predicate::str::contains(
                    "key `q` is bound to both `quit` and `freeze`",
                )),
        );
}

#[test]
fn unknown_action_and_valid_table() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("corstop.toml");
    let log = dir.path().join("access.log");
    std::fs::write(&log, "").unwrap();

    std::fs::write(&config, "[keys]\nteleport = [\"x\"]\n").unwrap();
    corstop(dir.path())
        .arg("--config")
        .arg(&config)
        .arg("report")
        .arg(&log)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("teleport"));

    std::fs::write(
        &config,
        "[keys]\nquit = [\"x\", \"ctrl-c\"]\nfreeze = [\"q\"]\ndown = [\"j\", \"down\", \"ctrl-n\"]\n",
    )
    .unwrap();
    corstop(dir.path())
        .arg("--config")
        .arg(&config)
        .arg("report")
        .arg(&log)
        .assert()
        .success();
}
