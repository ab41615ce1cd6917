//! conform against a hostile server: every fault profile of its own mock.
//! Each must end with the documented exit code, no panic, no hang past
//! --step-timeout, and complete reports of what ran.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{MockProcess, temp, text};

const KINDS: &[&str] = &["json", "junit", "html", "markdown"];

/// `--report kind=dir/report.kind` for every report kind.
fn report_args(dir: &Path) -> Vec<String> {
    KINDS
        .iter()
        .flat_map(|k| {
            [
                "--report".to_string(),
                format!("{k}={}", dir.join(format!("report.{k}")).display()),
            ]
        })
        .collect()
}

fn run_profile(profile: &str, extra: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conform"))
        .args(["run", "--mock", profile])
        .args(extra)
        .args(report_args(dir))
        .output()
        .expect("conform runs")
}

/// The reports exist, the JSON one parses and covers every selected scenario.
fn assert_complete_reports(dir: &Path, listed: usize) -> serde_json::Value {
    for kind in KINDS {
        let path = dir.join(format!("report.{kind}"));
        assert!(path.is_file(), "{} not written", path.display());
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).expect("json"))
            .expect("parses");
    assert_eq!(
        json["summary"]["scenarios"].as_u64(),
        Some(listed as u64),
        "every scenario is reported"
    );
    json
}

fn listed(filter: Option<&str>) -> usize {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_conform"));
    cmd.args(["run", "--list"]);
    if let Some(f) = filter {
        cmd.args(["--filter", f]);
    }
    text(&cmd.output().expect("list").stdout).lines().count()
}

#[test]
fn server_errors_are_check_failures_exit_1() {
    let dir = temp("faults-5xx");
    let out = run_profile("faults-5xx", &[], &dir);
    let console = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{console}");
    assert!(!text(&out.stderr).contains("panicked"));
    let json = assert_complete_reports(&dir, listed(None));
    assert_eq!(json["summary"]["transport_errors"], 0);
    assert!(console.contains("not_a_server_error"), "{console}");
    assert!(
        console.contains("Internal Server Error"),
        "the first bytes are shown: {console}"
    );
}

#[test]
fn garbage_is_named_and_shown_safely_exit_1() {
    let dir = temp("faults-garbage");
    let out = run_profile("faults-garbage", &[], &dir);
    let console = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{console}");
    assert_complete_reports(&dir, listed(None));
    // Invalid UTF-8 is escaped, never written raw to the terminal.
    assert!(console.contains(r"\xff\xfe{\x80\u{0}}\xc3"), "{console}");
    assert!(console.contains("content-type `text/html`"), "{console}");
    assert!(console.contains("an empty body"), "{console}");
    assert!(
        console.contains("EOF while parsing"),
        "truncated JSON is named: {console}"
    );
}

#[test]
fn slow_answers_time_out_exit_3_without_hanging() {
    let dir = temp("faults-slow");
    let started = Instant::now();
    let out = run_profile(
        "faults-slow",
        &["--step-timeout", "1", "--filter", "credits-catalog"],
        &dir,
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert!(text(&out.stdout).contains("no complete answer within 1s"));
    assert_complete_reports(&dir, listed(Some("credits-catalog")));
}

#[test]
fn huge_bodies_are_cut_at_max_body_exit_3() {
    let dir = temp("faults-huge");
    let out = run_profile("faults-huge", &["--filter", "credits-catalog"], &dir);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("larger than 10485760 bytes"),
        "{}",
        text(&out.stdout)
    );
    let json = assert_complete_reports(&dir, listed(Some("credits-catalog")));
    assert_eq!(json["summary"]["transport_errors"], 2);
}

#[test]
fn connections_closed_mid_answer_exit_3() {
    let dir = temp("faults-reset");
    let out = run_profile("faults-reset", &["--filter", "credits-catalog"], &dir);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("broke off"),
        "{}",
        text(&out.stdout)
    );
    assert_complete_reports(&dir, listed(Some("credits-catalog")));
}

/// The token, from the environment or a file, appears in no output and no
/// report, against every profile.
#[test]
fn the_token_never_leaks_under_any_profile() {
    let profiles = [
        "conformant",
        "regressed-0.1.8",
        "ignores-auth",
        "faults-5xx",
        "faults-garbage",
        "faults-huge",
        "faults-reset",
    ];
    for (i, profile) in profiles.iter().enumerate() {
        let mock = MockProcess::start(profile);
        let dir = temp(&format!("secrets-{profile}"));
        let token_file = dir.join("token");
        std::fs::write(&token_file, format!("{}\n", mock.token)).expect("token file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_conform"));
        cmd.args([
            "run",
            "--base-url",
            &mock.base_url,
            "--negative",
            "--format",
            "github",
        ])
        .args(report_args(&dir));
        // Alternate the two documented token sources.
        if i % 2 == 0 {
            cmd.env("IMAGE_SKILL_TOKEN", &mock.token);
        } else {
            cmd.env_remove("IMAGE_SKILL_TOKEN")
                .arg("--token-file")
                .arg(&token_file);
        }
        let out = cmd.output().expect("conform runs");
        assert!(
            !text(&out.stderr).contains("panicked"),
            "{profile}: {}",
            text(&out.stderr)
        );
        let mut outputs = vec![
            ("stdout".to_string(), text(&out.stdout)),
            ("stderr".to_string(), text(&out.stderr)),
        ];
        for kind in KINDS {
            let path = dir.join(format!("report.{kind}"));
            outputs.push((
                kind.to_string(),
                std::fs::read_to_string(&path)
                    .unwrap_or_else(|_| panic!("{profile}: {kind} report")),
            ));
        }
        for (what, content) in outputs {
            assert!(
                !content.contains(&mock.token),
                "{profile}: the token leaked into {what}"
            );
        }
    }
}

#[test]
fn negative_scenarios_pass_the_reference_mock_and_catch_ignored_auth() {
    let out = Command::new(env!("CARGO_BIN_EXE_conform"))
        .args(["run", "--negative", "--contract", "0.1.9"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("PASS  negative/GET /v1/whoami: no token"));

    let out = Command::new(env!("CARGO_BIN_EXE_conform"))
        .args([
            "run",
            "--negative",
            "--contract",
            "0.1.9",
            "--mock",
            "ignores-auth",
            "--filter",
            "negative/",
        ])
        .output()
        .expect("runs");
    let console = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{console}");
    assert!(console.contains("ignored_auth"), "{console}");
    assert!(console.contains("the server accepted it"), "{console}");
    // Data probes still pass there: only auth is broken.
    assert!(
        console.contains("PASS  negative/POST /v1/credit-quotes: an unknown field"),
        "{console}"
    );
}
