//! Finding 5: unbounded inputs. Doubling suite variables, `/dev/zero` and
//! FIFOs as suite or token file: each is exit 2 at once, naming the input.

use std::time::Duration;

use crate::util::{cmd, run_within, temp, write};

fn fifo(dir: &std::path::Path, name: &str) -> String {
    let path = dir.join(name);
    let ok = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo runs")
        .success();
    assert!(ok, "mkfifo");
    path.to_str().expect("utf-8").to_string()
}

#[test]
fn finding_5_doubling_variables_are_refused_naming_the_variable() {
    let dir = temp("inputs-doubling");
    let mut vars = serde_json::Map::new();
    vars.insert("v0".into(), "xxxxxxxxxxxxxxxx".into());
    for i in 1..34 {
        vars.insert(
            format!("v{i}"),
            format!("${{v{p}}}${{v{p}}}", p = i - 1).into(),
        );
    }
    let suite = serde_json::json!({
        "suite": "bomb",
        "vars": vars,
        "scenarios": [{"name": "s", "steps": [{
            "name": "h", "request": {"method": "GET", "path": "/healthz?q=${v33}", "auth": "none"},
            "expect": {"status": 200}}]}]
    });
    let path = dir.join("bomb.json");
    write(&path, &suite.to_string());
    let ran = run_within(
        cmd(&["run", "--suite", path.to_str().expect("utf-8")]),
        Duration::from_secs(30),
    );
    assert_eq!(ran.code(), Some(2), "{}{}", ran.stdout, ran.stderr);
    assert!(ran.stderr.contains("variable `v"), "{}", ran.stderr);
    assert!(ran.stderr.contains("/vars/v"), "{}", ran.stderr);
}

#[test]
fn finding_5_dev_zero_as_suite_is_refused() {
    let ran = run_within(
        cmd(&["run", "--suite", "/dev/zero"]),
        Duration::from_secs(30),
    );
    assert_eq!(ran.code(), Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains("/dev/zero"), "{}", ran.stderr);
}

#[test]
fn finding_5_fifo_as_suite_is_refused_not_waited_on() {
    let dir = temp("inputs-fifo-suite");
    let f = fifo(&dir, "suite.json");
    let ran = run_within(cmd(&["run", "--suite", &f]), Duration::from_secs(30));
    assert_eq!(ran.code(), Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains("not a regular file"), "{}", ran.stderr);
}

#[test]
fn finding_5_fifo_and_dev_zero_as_token_file_are_refused() {
    let dir = temp("inputs-fifo-token");
    let f = fifo(&dir, "token");
    for token_file in [f.as_str(), "/dev/zero"] {
        let ran = run_within(
            cmd(&[
                "run",
                "--base-url",
                "http://127.0.0.1:9",
                "--token-file",
                token_file,
            ]),
            Duration::from_secs(30),
        );
        assert_eq!(ran.code(), Some(2), "{token_file}: {}", ran.stderr);
        assert!(ran.stderr.contains(token_file), "{}", ran.stderr);
    }
}
