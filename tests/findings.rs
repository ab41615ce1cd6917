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
