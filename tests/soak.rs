//! `--repeat`: soak mode against this machine only, bounded, with per-step
//! latency percentiles in the JSON report and on the console.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn conform(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conform"))
        .args(args)
        .env_remove("IMAGE_SKILL_TOKEN")
        .output()
        .expect("conform runs")
}

fn out_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn repeat_reports_per_step_percentiles_for_every_iteration() {
    let dir = out_dir("soak-repeat-50");
    let json = dir.join("report.json");
    let report_arg = format!("json={}", json.display());
    let out = conform(&[
        "run",
        "--repeat",
        "50",
        "--filter",
        "checkout-fragments",
        // The variant for releases before 0.1.8 does not apply to the default contract.
        "--skip",
        "before the handoff URL",
        "--report",
        &report_arg,
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "50 iterations against the conformant mock must pass:\n{stdout}{}",
        text(&out.stderr)
    );

    let listed = conform(&[
        "run",
        "--list",
        "--filter",
        "checkout-fragments",
        "--skip",
        "before the handoff URL",
    ]);
    let selected = text(&listed.stdout).lines().count();
    assert!(selected >= 1, "checkout-fragments has scenarios");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report written"))
            .expect("report is JSON");
    assert_eq!(
        report["summary"]["scenarios"],
        50 * selected,
        "every scenario × 50"
    );
    assert_eq!(report["summary"]["passed"], 50 * selected);
    let latency = &report["latency"];
    assert_eq!(latency["requested"], 50);
    assert_eq!(latency["iterations"], 50);
    assert_eq!(latency["iteration"]["count"], 50);
    assert_eq!(latency["iteration"]["unit"], "us");
    let steps = latency["steps"]
        .as_array()
        .expect("latency.steps is a list");
    assert!(
        steps.len() >= selected,
        "at least one step per scenario: {steps:?}"
    );
    for step in steps {
        let name = step["step"].as_str().expect("step id");
        assert!(name.starts_with("checkout-fragments/"), "{name}");
        assert_eq!(step["count"], 50, "{name} ran in every iteration");
        assert_eq!(step["unit"], "ms");
        let p = |k: &str| step[k].as_u64().unwrap_or_else(|| panic!("{name}: {k}"));
        assert!(
            p("p50") <= p("p95") && p("p95") <= p("p99") && p("p99") <= p("max"),
            "{name}: percentiles out of order: {step}"
        );
    }

    assert!(
        stdout.contains("latency: 50 of 50 iterations"),
        "console shows the latency summary:\n{stdout}"
    );
    assert!(
        stdout.contains("p95") && stdout.contains("checkout-fragments/pack checkout"),
        "console latency table names the steps:\n{stdout}"
    );
}

#[test]
fn a_plain_run_has_no_latency_section() {
    let dir = out_dir("soak-plain");
    let json = dir.join("report.json");
    let report_arg = format!("json={}", json.display());
    let out = conform(&[
        "run",
        "--filter",
        "checkout-fragments",
        "--report",
        &report_arg,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report written"))
            .expect("report is JSON");
    assert!(report.get("latency").is_none(), "{report}");
}

#[test]
fn repeat_failures_are_counted_and_exit_1() {
    let out = conform(&[
        "run",
        "--repeat",
        "3",
        "--mock",
        "regressed-0.1.8",
        "--filter",
        "checkout-fragments/pack",
        "--quiet",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("3 iterations with failures"),
        "console counts failed iterations:\n{stdout}"
    );
    assert!(
        stdout.contains("(repeat 3)"),
        "later failed runs are kept and named:\n{stdout}"
    );
}

#[test]
fn repeat_is_bounded_in_count() {
    for n in ["0", "100001"] {
        let out = conform(&["run", "--repeat", n, "--filter", "checkout-fragments"]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--repeat {n}: {err}");
        assert!(
            err.contains("--repeat must be between 1 and 100000"),
            "--repeat {n}: {err}"
        );
    }
    let out = conform(&[
        "run",
        "--repeat",
        "2",
        "--repeat-max-secs",
        "0",
        "--filter",
        "checkout-fragments",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn repeat_stops_at_the_time_bound() {
    let out = conform(&[
        "run",
        "--repeat",
        "100000",
        "--repeat-max-secs",
        "0.3",
        "--filter",
        "checkout-fragments/pack",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("of 100000 iterations (stopped early: time bound of 0.3s reached"),
        "{stdout}"
    );
}

#[test]
fn repeat_refuses_targets_off_this_machine() {
    let out = Command::new(env!("CARGO_BIN_EXE_conform"))
        .args([
            "run",
            "--repeat",
            "5",
            "--base-url",
            "http://192.0.2.1:9",
            "--filter",
            "checkout-fragments",
        ])
        .env("IMAGE_SKILL_TOKEN", "isk_r_not_used")
        .output()
        .expect("conform runs");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--repeat only runs against this machine"),
        "{err}"
    );
}

#[test]
fn repeat_max_secs_needs_repeat() {
    let out = conform(&["run", "--repeat-max-secs", "5", "--list"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}
