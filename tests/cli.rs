//! End-to-end: the `conform` binary as a new user runs it.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::{MockProcess, conform};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn out_dir(name: &str) -> PathBuf {
    common::temp(name)
}

/// Every Stripe Checkout URL field whose fragment 0.1.8 stripped.
const FRAGMENT_FIELDS: &[&str] = &[
    "/data/checkout_url",
    "/data/checkout_compact_url",
    "/data/next/fallback_checkout_url",
];

#[test]
fn default_run_passes_every_shipped_scenario_against_the_embedded_mock() {
    // The default is the newest release: what it cannot run is listed as N/A
    // with the reason, everything else passes.
    let run = conform(&["run"]);
    let out = stdout(&run);
    assert_eq!(run.status.code(), Some(0), "{out}{}", stderr(&run));
    let newest = format!("contract {}", conform::contract::NEWEST_CONTRACT);
    assert!(
        out.starts_with(&format!(
            "conform {} · {newest} ·",
            env!("CARGO_PKG_VERSION")
        )),
        "{out}"
    );
    let listed = conform(&["run", "--list"]);
    for id in stdout(&listed).lines() {
        assert!(
            out.lines().any(|l| l.contains(id)
                && (l.starts_with("PASS") || l.starts_with("N/A") && l.contains(&newest))),
            "scenario {id} neither passed nor not applicable:\n{out}"
        );
    }

    // 0.1.9, the release the first suites were written for.
    let listed = conform(&["run", "--list", "--contract", "0.1.9"]);
    assert_eq!(listed.status.code(), Some(0), "{}", stderr(&listed));
    let scenarios: Vec<String> = stdout(&listed).lines().map(str::to_string).collect();
    assert!(
        scenarios.len() >= 12,
        "expected the shipped scenarios, got {scenarios:?}"
    );

    let run = conform(&["run", "--contract", "0.1.9"]);
    let out = stdout(&run);
    assert_eq!(
        run.status.code(),
        Some(0),
        "conformant mock must pass:\n{out}{}",
        stderr(&run)
    );
    // Scenarios written for later releases (x402, agent claims) are not
    // applicable to 0.1.9; every other one passes.
    for id in &scenarios {
        assert!(
            out.lines().any(|l| (l.starts_with("PASS") || l.starts_with("N/A"))
                && l.contains(id.as_str())),
            "scenario {id} neither passing nor not applicable:\n{out}"
        );
    }
    let passed = out.lines().filter(|l| l.starts_with("PASS")).count();
    assert!(passed >= 12, "{out}");
}

#[test]
fn regressed_mock_fails_naming_every_stripped_fragment_field() {
    let run = conform(&["run", "--mock", "regressed-0.1.8"]);
    let out = stdout(&run);
    assert_eq!(run.status.code(), Some(1), "{out}{}", stderr(&run));
    for field in FRAGMENT_FIELDS {
        assert!(
            out.contains(&format!("fragment_preserved at {field}")),
            "the failure must name {field}:\n{out}"
        );
    }
    assert!(out.contains("fragment removed"), "{out}");
    // Scenarios that never touch Stripe URLs still pass.
    assert!(
        out.lines()
            .any(|l| l.starts_with("PASS") && l.contains("credits-catalog/")),
        "{out}"
    );
}

#[test]
fn regressed_mock_keeps_the_0_1_8_contract_but_breaks_the_stripe_fragment_invariant() {
    let run = conform(&["run", "--mock", "regressed-0.1.8", "--contract", "0.1.8"]);
    let out = stdout(&run);
    assert_eq!(run.status.code(), Some(1), "{out}{}", stderr(&run));
    let verdict = out
        .lines()
        .find(|l| l.starts_with("contract 0.1.8: "))
        .unwrap_or_else(|| panic!("no verdict line:\n{out}"));
    assert!(
        verdict.starts_with("contract 0.1.8: satisfied; invariant stripe-fragment: broken at "),
        "{verdict}"
    );

    // The report says which invariant each failure broke.
    let dir = out_dir("invariant_attribution");
    let json_path = dir.join("report.json");
    let report_arg = format!("json={}", json_path.display());
    conform(&[
        "run",
        "--mock",
        "regressed-0.1.8",
        "--contract",
        "0.1.8",
        "--report",
        &report_arg,
    ]);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("json report written"))
            .expect("json report parses");
    let failed: Vec<serde_json::Value> = json["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["steps"].as_array().cloned().unwrap_or_default())
        .flat_map(|st| st["checks"].as_array().cloned().unwrap_or_default())
        .filter(|c| c["passed"] == false)
        .collect();
    assert!(!failed.is_empty());
    assert!(
        failed.iter().all(|c| c["invariant"] == "stripe-fragment"),
        "{failed:?}"
    );
}

#[test]
fn regressed_mock_passes_the_0_1_8_contract_alone() {
    let run = conform(&[
        "run",
        "--mock",
        "regressed-0.1.8",
        "--contract",
        "0.1.8",
        "--no-invariants",
    ]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}{}",
        stdout(&run),
        stderr(&run)
    );
    assert!(!stdout(&run).contains("invariant"), "{}", stdout(&run));
}

#[test]
fn conformant_mock_fails_the_0_1_8_contract() {
    let run = conform(&[
        "run",
        "--contract",
        "0.1.8",
        "--filter",
        "checkout-fragments",
    ]);
    assert_eq!(run.status.code(), Some(1), "{}", stdout(&run));
}

#[test]
fn reports_are_written_after_a_failing_run_and_carry_the_failures() {
    let dir = out_dir("reports_after_failure");
    let json_path = dir.join("nested/report.json");
    let junit_path = dir.join("junit.xml");
    let run = conform(&[
        "run",
        "--mock",
        "regressed-0.1.8",
        "--report",
        &format!("json={}", json_path.display()),
        "--report",
        &format!("junit={}", junit_path.display()),
    ]);
    assert_eq!(run.status.code(), Some(1));

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("json report written"))
            .expect("json report parses");
    assert_eq!(json["format"], 1);
    assert_eq!(json["target"], "mock:regressed-0.1.8");
    assert!(json["summary"]["failed"].as_u64().unwrap_or(0) > 0);
    let failed_pointers: Vec<String> = json["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["steps"].as_array().cloned().unwrap_or_default())
        .flat_map(|st| st["checks"].as_array().cloned().unwrap_or_default())
        .filter(|c| c["passed"] == false && c["check"] == "fragment_preserved")
        .filter_map(|c| c["pointer"].as_str().map(str::to_string))
        .collect();
    for field in FRAGMENT_FIELDS {
        assert!(
            failed_pointers.iter().any(|p| p == field),
            "{field} not in {failed_pointers:?}"
        );
    }

    let xml = std::fs::read_to_string(&junit_path).expect("junit report written");
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains("<failure"), "{xml}");
    assert!(xml.contains("/data/checkout_url"), "{xml}");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files left behind: {leftovers:?}"
    );
}

#[test]
fn live_server_path_is_the_same_code_as_the_embedded_mock() {
    let mock = MockProcess::start("conformant");
    let dir = out_dir("live_server_path");
    let report = dir.join("report.json");
    let junit = dir.join("junit.xml");
    let run = Command::new(env!("CARGO_BIN_EXE_conform"))
        .args(["run", "--base-url", &mock.base_url])
        .arg("--report")
        .arg(format!("json={}", report.display()))
        .arg("--report")
        .arg(format!("junit={}", junit.display()))
        .env("IMAGE_SKILL_TOKEN", &mock.token)
        .output()
        .expect("conform runs");
    let out = stdout(&run);
    assert_eq!(run.status.code(), Some(0), "{out}{}", stderr(&run));
    assert!(out.contains(&mock.base_url), "the target is named: {out}");

    // The token is never shown, in any output.
    let json = std::fs::read_to_string(&report).expect("report");
    let xml = std::fs::read_to_string(&junit).expect("junit");
    for (what, text) in [
        ("stdout", &out),
        ("stderr", &stderr(&run)),
        ("json", &json),
        ("junit", &xml),
    ] {
        assert!(!text.contains(&mock.token), "the token leaked into {what}");
    }
    assert!(
        json.contains("Bearer ***"),
        "Authorization is shown redacted"
    );
}

#[test]
fn live_regressed_server_fails_the_fragment_scenarios() {
    let mock = MockProcess::start("regressed-0.1.8");
    let token_file = out_dir("token_file").join("token");
    std::fs::write(&token_file, format!("{}\n", mock.token)).expect("token file");
    let run = conform(&[
        "run",
        "--base-url",
        &mock.base_url,
        "--token-file",
        token_file.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(run.status.code(), Some(1), "{}", stdout(&run));
    assert!(stdout(&run).contains("fragment_preserved at /data/checkout_url"));
}

#[test]
fn unreachable_base_url_exits_3_and_still_reports() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let dir = out_dir("unreachable");
    let report = dir.join("report.json");
    let run = conform(&[
        "run",
        "--base-url",
        &format!("http://127.0.0.1:{port}"),
        "--filter",
        "credits-catalog",
        "--report",
        &format!("json={}", report.display()),
    ]);
    let out = stdout(&run);
    assert_eq!(run.status.code(), Some(3), "{out}{}", stderr(&run));
    assert!(out.contains("cannot connect"), "{out}");
    assert!(!stderr(&run).contains("panicked"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("parses");
    assert_eq!(json["summary"]["transport_errors"], 2);
}

#[test]
fn version_and_help_work() {
    let v = conform(&["--version"]);
    assert_eq!(v.status.code(), Some(0));
    let version = stdout(&v);
    assert!(
        version.starts_with(&format!("conform {} ", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );

    let help = conform(&["--help"]);
    assert_eq!(help.status.code(), Some(0), "{}", stderr(&help));
    let text = stdout(&help);
    assert!(text.contains("Usage: conform <COMMAND>"), "{text}");
    for command in ["run", "client", "mock", "contracts", "openapi"] {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&format!("{command} "))),
            "`conform --help` does not list `{command}`:\n{text}"
        );
    }

    let run_help = conform(&["run", "--help"]);
    assert_eq!(run_help.status.code(), Some(0), "{}", stderr(&run_help));
    for flag in ["--base-url", "--contract", "--report", "--filter"] {
        assert!(
            stdout(&run_help).contains(flag),
            "`conform run --help` does not mention {flag}"
        );
    }
}

#[test]
fn mock_only_scenarios_are_left_out_against_a_live_server() {
    let mock_list = stdout(&conform(&["run", "--list"]));
    let live_list = stdout(&conform(&[
        "run",
        "--list",
        "--base-url",
        "http://127.0.0.1:9",
    ]));
    let marked = "documented-errors/artifact storage failure is not retryable";
    assert!(mock_list.lines().any(|l| l == marked), "{mock_list}");
    assert!(!live_list.lines().any(|l| l == marked), "{live_list}");
    assert_eq!(mock_list.lines().count(), live_list.lines().count() + 1);
}

/// Every scenario a transport error: the verdict claims no contract result.
#[test]
fn a_run_that_reached_nothing_says_the_contract_was_not_checked() {
    let run = Command::new(env!("CARGO_BIN_EXE_conform"))
        .args([
            "run",
            "--base-url",
            "http://127.0.0.1:1",
            "--contract",
            "0.1.70",
        ])
        .env("IMAGE_SKILL_TOKEN", "not-a-real-token")
        .output()
        .expect("conform runs");
    let out = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(3), "{out}");
    let verdict = out
        .lines()
        .find(|l| l.starts_with("contract 0.1.70: "))
        .unwrap_or_else(|| panic!("no verdict line:\n{out}"));
    assert!(
        verdict.starts_with("contract 0.1.70: not checked (no check ran; ")
            && verdict.contains(" scenarios did not finish)")
            && verdict.ends_with("; invariants: not checked"),
        "{verdict}"
    );
}
