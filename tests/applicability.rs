//! Scenarios say where they apply (`needs`, `versions`): the shipped
//! suites' needs cannot drift from their steps, README's table is the
//! command's output, and a run reports what does not apply without running
//! it, failing it or passing it.

mod common;

use conform::contract::{ApiModel, Contract, Source};
use conform::suite::{self, Action, SuiteFormat, Target};
use conform::trial::{TrialOptions, cases, trials};

use common::{conform, text};

fn shipped() -> Vec<conform::suite::Suite> {
    suite::load_embedded(&SuiteFormat::new().expect("format")).expect("shipped suites load")
}

/// Every HTTP step of every shipped suite, at every version where its
/// scenario applies, reaches (method + path template of that version's
/// model) an operation its scenario or suite declares in `needs`. A step
/// with a captured absolute `url` has no template to match and is left out.
#[test]
fn every_http_step_hits_an_operation_its_scenario_declares() {
    let mut problems = Vec::new();
    let mut checked = 0;
    let suites = shipped();
    for version in Contract::known_versions() {
        let api = ApiModel::load(Source::Embedded, &version).expect("model loads");
        for s in &suites {
            for (i, scenario) in s.scenarios.iter().enumerate() {
                if s.why_not(i, &version, &api).is_some() {
                    continue;
                }
                let needs = s.needs_of(i);
                for step in &scenario.steps {
                    let Action::Http(request) = &step.action else {
                        continue;
                    };
                    let Target::Path(path) = &request.target else {
                        continue;
                    };
                    // A variable stands for one path segment's worth of text.
                    let concrete = conform::vars::pieces(path)
                        .into_iter()
                        .map(|p| match p {
                            conform::vars::Piece::Text(t) => t,
                            conform::vars::Piece::Var(_) => "x",
                        })
                        .collect::<String>();
                    checked += 1;
                    match api.route(&request.method, &concrete) {
                        None => problems.push(format!(
                            "{version}: {}/{} step `{}` {} {path}: no operation of this version",
                            s.name, scenario.name, step.name, request.method
                        )),
                        Some(e) if !needs.operations.contains(&e.operation_id) => {
                            problems.push(format!(
                                "{version}: {}/{} step `{}` hits `{}`, not in its needs {:?}",
                                s.name, scenario.name, step.name, e.operation_id, needs.operations
                            ))
                        }
                        Some(_) => {}
                    }
                }
            }
        }
    }
    problems.dedup();
    assert!(checked > 1000, "only {checked} steps checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check bites: a scenario that leaves an operation out of its needs
/// is caught by the same matching.
#[test]
fn a_step_outside_its_needs_is_caught() {
    let format = SuiteFormat::new().expect("format");
    let s = format
        .parse(
            std::path::Path::new("suites/t.json"),
            r#"{"suite":"t","scenarios":[{"name":"a","needs":{"operations":["getHealth"]},
              "steps":[{"name":"q","request":{"method":"GET","path":"/v1/quota"}}]}]}"#,
        )
        .expect("parses");
    let api = ApiModel::load(Source::Embedded, "0.1.9").expect("model");
    let Action::Http(request) = &s.scenarios[0].steps[0].action else {
        panic!("an HTTP step");
    };
    let Target::Path(path) = &request.target else {
        panic!("a path");
    };
    let hit = api.route(&request.method, path).expect("documented");
    assert_eq!(hit.operation_id, "getQuota");
    assert!(!s.needs_of(0).operations.contains(&hit.operation_id));
}

const BEGIN: &str = "<!-- contracts matrix: begin -->\n";
const END: &str = "<!-- contracts matrix: end -->";

/// README's applicability table is `conform contracts matrix`'s output.
#[test]
fn readme_table_is_the_matrix_command_output() {
    let out = conform(&["contracts", "matrix"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README readable");
    let start = readme
        .find(BEGIN)
        .expect("README has the matrix begin marker")
        + BEGIN.len();
    let end = readme.find(END).expect("README has the matrix end marker");
    assert_eq!(
        &readme[start..end],
        table,
        "README's applicability table is stale: replace the lines between the markers with \
         the output of `cargo run -- contracts matrix`"
    );
    // Rows group versions: 71 releases do not need 71 rows.
    assert!(table.contains("| 0.1.37–0.1.70 |"), "{table}");
    assert!(
        table.contains("needs operation `createFakePurchase`"),
        "{table}"
    );
}

/// Against 0.1.70 the fake-rail scenarios are listed as N/A with the
/// reason and the run passes; JSON, JUnit, HTML and Markdown say so too.
#[test]
fn a_run_reports_what_does_not_apply_in_every_format() {
    let dir = common::temp("applicability-run");
    let json = dir.join("r.json");
    let xml = dir.join("r.xml");
    let html = dir.join("r.html");
    let md = dir.join("r.md");
    let spec = |kind: &str, p: &std::path::Path| format!("{kind}={}", p.display());
    let out = conform(&[
        "run",
        "--contract",
        "0.1.70",
        "--filter",
        "fake",
        "--report",
        &spec("json", &json),
        "--report",
        &spec("junit", &xml),
        "--report",
        &spec("html", &html),
        "--report",
        &spec("markdown", &md),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let line = stdout
        .lines()
        .find(|l| l.starts_with("N/A   fake-purchase/quote then fake purchase then status "))
        .unwrap_or_else(|| panic!("no N/A line for fake-purchase:\n{stdout}"));
    assert!(
        line.ends_with(
            "   needs operation `createFakePurchase`, which contract 0.1.70 does not document"
        ),
        "{line}"
    );
    assert!(
        stdout.contains("nothing ran: no selected scenario applies to contract 0.1.70"),
        "{stdout}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json written")).expect("JSON");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schemas/report.schema.json"
        ))
        .expect("schema"),
    )
    .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(report["summary"]["not_applicable"], 2, "{report}");
    assert_eq!(report["summary"]["failed"], 0);
    assert_eq!(report["scenarios"][0]["status"], "not_applicable");
    let junit = std::fs::read_to_string(&xml).expect("junit written");
    assert!(
        junit.contains(r#"<skipped message="not applicable: needs operation `createFakePurchase`, which contract 0.1.70 does not document"/>"#),
        "{junit}"
    );
    xmllint(&xml);
    let page = std::fs::read_to_string(&html).expect("html written");
    assert!(page.contains(r#"<span class="badge not-applicable">N/A</span>"#));
    assert!(page.contains("id=\"count-not-applicable\" data-count=\"2\""));
    let markdown = std::fs::read_to_string(&md).expect("markdown written");
    assert!(
        markdown.contains("### Not applicable to contract `0.1.70`"),
        "{markdown}"
    );
}

/// JUnit with skipped-as-not-applicable cases validates against junit-10.xsd.
fn xmllint(file: &std::path::Path) {
    let xsd = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/junit/junit-10.xsd");
    let Ok(out) = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(file)
        .output()
    else {
        common::skip("xmllint not runnable; install libxml2-utils to validate JUnit");
        return;
    };
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// The same scenarios run where they apply: against 0.1.9 the fake rail
/// exists and both pass.
#[test]
fn where_the_needs_are_met_the_scenarios_run() {
    let out = conform(&["run", "--contract", "0.1.9", "--filter", "fake"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("N/A"), "{stdout}");
    assert!(stdout.contains("2 passed"), "{stdout}");
}

/// Under `cargo test` a not-applicable scenario is an ignored trial whose
/// reason libtest prints, and it is never run.
#[test]
fn trials_ignore_what_does_not_apply_with_the_reason() {
    let opts = TrialOptions {
        contract: "0.1.70".into(),
        ..TrialOptions::default()
    };
    let all = cases(opts).expect("cases load");
    let na: Vec<_> = all.iter().filter(|c| c.not_applicable.is_some()).collect();
    assert_eq!(
        na.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        [
            "checkout-fragments::pack checkout keeps fragments end to end (before the handoff URL)",
            "fake-purchase::quote then fake purchase then status",
            "idempotency::same quote key returns the same quote",
            "idempotency::same quote key with other terms conflicts",
            "idempotency::repeated fake purchase grants credits once",
            "x402::no-spend x402 quote, buy and status",
            "x402::a no-spend x402 buy that does not match its challenge grants nothing",
        ]
    );
    // A harness that runs such a case anyway gets no failure.
    for case in &na {
        assert!(case.run().is_ok(), "{} failed", case.name);
    }
    let opts = TrialOptions {
        contract: "0.1.70".into(),
        ..TrialOptions::default()
    };
    let trials = trials(opts).expect("trials load");
    let args = libtest_mimic::Arguments {
        filter: Some("fake".into()),
        test_threads: Some(1),
        ..libtest_mimic::Arguments::default()
    };
    let conclusion = libtest_mimic::run(&args, trials);
    assert_eq!(conclusion.num_ignored, 2);
    assert_eq!(conclusion.num_failed, 0);
    assert_eq!(conclusion.num_passed, 0);
}
