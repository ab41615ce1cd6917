//! Diagnosis first: every output of a real run leads with findings, one per
//! cause, the stripped Stripe fragment on top.

mod common;

use std::process::Command;

use common::{conform, text};

/// The field names of the findings block, in order.
fn finding_titles(console: &str) -> Vec<String> {
    console
        .lines()
        .skip_while(|l| !l.starts_with("findings:"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| {
            l.trim_start()
                .split_once(". ✗ ")
                .map(|(_, t)| t.to_string())
        })
        .collect()
}

#[test]
fn the_regression_leads_with_the_three_stripped_fields_in_every_output() {
    let dir = common::temp("findings-regressed");
    let md = dir.join("r.md");
    let xml = dir.join("r.xml");
    let out = conform(&[
        "run",
        "--mock",
        "regressed-0.1.8",
        "--format",
        "github",
        "--report",
        &format!("markdown={}", md.display()),
        "--report",
        &format!("junit={}", xml.display()),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let fields = [
        "`checkout_url`",
        "`checkout_compact_url`",
        "`next.fallback_checkout_url`",
    ];

    // Console: the findings block comes before any failure detail.
    let findings_at = stdout.find("findings:").expect("a findings block");
    let failures_at = stdout.find("failures:").expect("failure detail");
    assert!(findings_at < failures_at, "{stdout}");
    let titles = finding_titles(&stdout);
    for (title, field) in titles.iter().zip(fields) {
        assert!(
            title.starts_with(&format!("Stripe Checkout URL lost its #fragment: {field}")),
            "finding {title:?} should be about {field}\n{stdout}"
        );
    }
    assert!(
        stdout.contains("findings: 4 findings · 24 checks failed"),
        "{stdout}"
    );

    // GitHub: the first three annotations are the same three.
    let errors: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("::error"))
        .collect();
    assert_eq!(errors.len(), titles.len(), "one annotation per finding");
    for (line, field) in errors.iter().zip(fields) {
        assert!(
            line.contains(&format!(
                "title=Stripe Checkout URL lost its #fragment%3A {field}"
            )),
            "{line}"
        );
    }

    // JUnit: each failed case's message names the fields, not `schema`.
    let junit = std::fs::read_to_string(&xml).expect("junit written");
    let messages: Vec<&str> = junit
        .split("<failure message=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    assert_eq!(messages.len(), 3, "{junit}");
    for m in &messages {
        assert!(
            m.starts_with("Stripe Checkout URL lost its #fragment: `checkout_url`"),
            "{m}"
        );
        assert!(!m.contains("anyOf"), "{m}");
    }

    // Markdown: the findings table comes first, same order.
    let markdown = std::fs::read_to_string(&md).expect("markdown written");
    let table_at = markdown.find("### Findings").expect("findings table");
    assert!(table_at < markdown.find("### Failed checks").unwrap_or(usize::MAX));
    let rows: Vec<&str> = markdown[table_at..]
        .lines()
        .filter(|l| l.starts_with("| 1 ") || l.starts_with("| 2 ") || l.starts_with("| 3 "))
        .collect();
    assert_eq!(rows.len(), 3, "{markdown}");
    for (row, field) in rows.iter().zip(fields) {
        assert!(row.contains(&format!("#fragment: {field} ·")), "{row}");
    }
}

#[test]
fn a_server_that_is_down_is_one_finding_not_one_block_per_scenario() {
    let listed = text(&conform(&["run", "--list"]).stdout).lines().count();
    let out = Command::new(env!("CARGO_BIN_EXE_conform"))
        .args(["run", "--base-url", "http://127.0.0.1:9"])
        .env("IMAGE_SKILL_TOKEN", "isk_test_not_used")
        .output()
        .expect("conform runs");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    let titles = finding_titles(&stdout);
    assert_eq!(titles.len(), 1, "{stdout}");
    // The live run drops mock-only scenarios; count what it ran.
    let ran = stdout.lines().filter(|l| l.starts_with("ERROR ")).count();
    assert!(ran > 1 && ran <= listed, "{stdout}");
    assert!(
        titles[0].starts_with(&format!(
            "cannot connect to http://127.0.0.1:9 · {ran} scenarios"
        )),
        "{}",
        titles[0]
    );
    assert!(
        !stdout.contains("failures:"),
        "no per-scenario blocks:\n{stdout}"
    );
}

#[test]
fn a_refused_token_is_one_finding_naming_the_variable_not_the_value() {
    let mock = common::MockProcess::start("conformant");
    let wrong = "isk_r_wrong_token_value_42";
    let out = Command::new(env!("CARGO_BIN_EXE_conform"))
        .args([
            "run",
            "--base-url",
            &mock.base_url,
            "--token-env",
            "MY_TOKEN",
        ])
        .env("MY_TOKEN", wrong)
        .output()
        .expect("conform runs");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let titles = finding_titles(&stdout);
    assert_eq!(titles.len(), 1, "{stdout}");
    assert!(
        titles[0].starts_with("the server refused the bearer token from `$MY_TOKEN` (401)"),
        "{}",
        titles[0]
    );
    assert!(stdout.contains("not evaluated"), "{stdout}");
    assert!(!stdout.contains(wrong), "the token value leaked:\n{stdout}");
}

/// `--fail-fast` run of the regressed mock: (exit code, JSON report,
/// JUnit, console).
fn fail_fast_run(name: &str, extra: &[&str]) -> (Option<i32>, serde_json::Value, String, String) {
    let dir = common::temp(name);
    let (json, xml) = (dir.join("r.json"), dir.join("r.xml"));
    // 0.1.9: every shipped scenario applies, so each one after the failure is not run.
    let mut args = vec!["run", "--mock", "regressed-0.1.8", "--contract", "0.1.9"];
    args.extend_from_slice(extra);
    let (json_arg, xml_arg) = (
        format!("json={}", json.display()),
        format!("junit={}", xml.display()),
    );
    args.extend(["--report", &json_arg, "--report", &xml_arg]);
    let out = conform(&args);
    let report = serde_json::from_str(&std::fs::read_to_string(&json).expect("json report"))
        .expect("json parses");
    let junit = std::fs::read_to_string(&xml).expect("junit report");
    (out.status.code(), report, junit, text(&out.stdout))
}

fn scenarios_with(report: &serde_json::Value, status: &str) -> Vec<serde_json::Value> {
    report["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .filter(|s| s["status"] == status)
        .cloned()
        .collect()
}

#[test]
fn fail_fast_starts_nothing_after_the_first_failure_and_reports_the_rest_as_not_run() {
    let (code, report, junit, console) =
        fail_fast_run("fail-fast-jobs-1", &["--fail-fast", "--jobs", "1"]);
    assert_eq!(code, Some(1), "a failure is still exit 1\n{console}");
    let failed = scenarios_with(&report, "failed");
    let skipped = scenarios_with(&report, "skipped");
    let all = report["scenarios"].as_array().expect("scenarios");
    // One at a time: exactly one scenario failed, every later one never ran.
    assert_eq!(failed.len(), 1, "{console}");
    let first_failed = all
        .iter()
        .position(|s| s["status"] == "failed")
        .expect("a failed scenario");
    assert!(
        !skipped.is_empty(),
        "the regressed mock fails early: {console}"
    );
    assert!(
        // Not applicable ones are never run either way.
        all[first_failed + 1..]
            .iter()
            .all(|s| s["status"] == "skipped" || s["status"] == "not_applicable"),
        "{console}"
    );
    let failed_id = format!(
        "{}/{}",
        failed[0]["suite"].as_str().unwrap(),
        failed[0]["scenario"].as_str().unwrap()
    );
    for sc in &skipped {
        for st in sc["steps"].as_array().expect("steps") {
            assert_eq!(st["status"], "skipped");
            let why = st["skipped_because"].as_str().expect("a reason");
            assert!(
                why.contains("--fail-fast") && why.contains(&failed_id),
                "{why}"
            );
        }
    }
    // Counted everywhere: JSON summary, JUnit <skipped>, console.
    let n = skipped.len();
    assert_eq!(report["summary"]["skipped"], n);
    assert_eq!(report["summary"]["scenarios"], all.len());
    assert_eq!(
        junit
            .matches("<skipped message=\"not run: --fail-fast")
            .count(),
        n,
        "{junit}"
    );
    assert!(
        // (then the not-applicable count, when any scenario does not apply)
        console.contains(&format!(", 1 failed, {n} not run")),
        "{console}"
    );
    assert!(
        console.contains(&format!(
            "not run: {n} scenarios (--fail-fast: `{failed_id}` failed"
        )),
        "{console}"
    );
    // Not-run scenarios get no line of their own.
    assert!(!console.contains("SKIP "), "{console}");
    // The real report, not-run scenarios and typed values included, keeps
    // its published schema.
    let schema_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/report.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).expect("schema"))
            .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn fail_fast_lets_running_scenarios_finish() {
    let (code, report, _, console) =
        fail_fast_run("fail-fast-jobs-4", &["--fail-fast", "--jobs", "4"]);
    assert_eq!(code, Some(1), "{console}");
    assert!(!scenarios_with(&report, "failed").is_empty(), "{console}");
    // A scenario either ran to its end or did not start: none is cut off
    // half-way by another scenario's failure.
    for sc in report["scenarios"].as_array().expect("scenarios") {
        let steps = sc["steps"].as_array().expect("steps");
        let cut = steps
            .iter()
            .filter(|st| {
                st["skipped_because"]
                    .as_str()
                    .is_some_and(|w| w.contains("--fail-fast"))
            })
            .count();
        assert!(
            cut == 0 || (cut == steps.len() && sc["status"] == "skipped"),
            "{sc}"
        );
    }
}

#[test]
fn no_fail_fast_undoes_fail_fast_and_runs_everything() {
    let (code, report, _, console) =
        fail_fast_run("no-fail-fast", &["--fail-fast", "--no-fail-fast"]);
    assert_eq!(code, Some(1), "{console}");
    assert_eq!(report["summary"]["skipped"], 0, "{console}");
    assert!(scenarios_with(&report, "skipped").is_empty());
    assert!(scenarios_with(&report, "failed").len() > 1, "{console}");
}
