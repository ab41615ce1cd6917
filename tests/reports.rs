//! Reporter output pinned by golden files in `tests/golden/reports/`.
//!
//! After an intended change to a report layout, regenerate the goldens with
//!
//!     UPDATE_GOLDENS=1 cargo test --test reports
//!
//! and review the diff like any other code change.

mod common;

use std::path::{Path, PathBuf};

use conform::Error;
use conform::outcome::{
    CheckOutcome, REPORT_FORMAT, RequestSummary, ResponseSummary, RunReport, ScenarioOutcome,
    Status, StepOutcome,
};
use conform::redact::Redactor;
use conform::report::{ConsoleReporter, ReportKind, ReportSpec, Reporter, reporter, write_atomic};
use serde_json::json;

use common::outcomes::{run, scenario};

const TOKEN: &str = "isk_r_secret_token_123";
const BASE: &str = "http://127.0.0.1:40123";
const SESSION: &str = "https://checkout.stripe.com/c/pay/cs_test_a1B2c3D4e5F6g7H8";
const COMPACT: &str = "https://pay.imageskill.dev/c/cs_test_a1B2c3D4e5F6g7H8";
const FRAGMENT: &str =
    "#fidkdWxOYHwnPyd1blpxYHZxWjA0T2RsNzNGcHRVbUJ1VDB%2FPTFJQHxSMkNNfHZ3XzJoR2dPZlxfaGZnPWxwSTxM";

// ---- Arrange: the runs whose reports are pinned -----------------------

fn step(index: usize, name: &str, method: &str, path: &str) -> StepOutcome {
    StepOutcome {
        index,
        name: name.to_string(),
        status: Status::Passed,
        duration_ms: 4,
        duration_us: 4_210,
        skipped_because: None,
        request: Some(RequestSummary {
            method: method.to_string(),
            url: format!("{BASE}{path}"),
            headers: vec![("Accept".to_string(), "application/json".to_string())],
            body: None,
        }),
        response: Some(ResponseSummary {
            status: 200,
            location: None,
            body_excerpt: r#"{"data":{}}"#.to_string(),
        }),
        client: None,
        transport_error: None,
        checks: vec![
            CheckOutcome::pass("status", None, "200").with_values(json!(200), None),
            CheckOutcome::pass("envelope", None, "data object"),
        ],
    }
}

fn skipped(index: usize, name: &str) -> StepOutcome {
    StepOutcome {
        index,
        name: name.to_string(),
        status: Status::Skipped,
        duration_ms: 0,
        duration_us: 0,
        skipped_because: Some("an earlier step failed".to_string()),
        request: None,
        response: None,
        client: None,
        transport_error: None,
        checks: vec![],
    }
}

fn catalog() -> ScenarioOutcome {
    scenario(
        "credits-catalog",
        "payment methods catalog",
        12,
        vec![step(
            0,
            "list payment methods",
            "GET",
            "/v1/credit-purchases/payment-methods",
        )],
    )
}

fn passing_run() -> RunReport {
    let mut checkout = step(
        1,
        "create checkout session",
        "POST",
        "/v1/credit-purchases/stripe-checkout-sessions",
    );
    checkout.checks.push(CheckOutcome::pass(
        "fragment_preserved",
        Some("/data/checkout_url"),
        format!("{SESSION}{FRAGMENT}"),
    ));
    run(
        "mock:conformant",
        87,
        vec![
            catalog(),
            scenario(
                "checkout-fragments",
                "stripe checkout keeps fragments",
                29,
                vec![step(0, "sign in", "POST", "/v1/sessions"), checkout],
            ),
        ],
    )
}

/// What 0.1.8 did: every checkout URL lost its `#fragment`.
fn failing_run() -> RunReport {
    let mut checkout = step(
        1,
        "create checkout session",
        "POST",
        "/v1/credit-purchases/stripe-checkout-sessions",
    );
    checkout.status = Status::Failed;
    checkout.duration_ms = 18;
    checkout.duration_us = 18_377;
    if let Some(req) = &mut checkout.request {
        // Unredacted on purpose: reporters must mask it on their own.
        req.headers
            .push(("Authorization".to_string(), format!("Bearer {TOKEN}")));
        req.body = Some(json!({"credits": 500, "api_key": TOKEN}));
    }
    checkout.response = Some(ResponseSummary {
        status: 200,
        location: None,
        body_excerpt: format!(
            "{{\"data\":{{\"checkout_url\":\"{SESSION}\",\"debug_token\":\"{TOKEN}\"}}}}"
        ),
    });
    for (pointer, url) in [
        ("/data/checkout_url", SESSION),
        ("/data/checkout_compact_url", COMPACT),
        ("/data/next/fallback_checkout_url", SESSION),
    ] {
        checkout.checks.push(
            CheckOutcome::fail(
                "fragment_preserved",
                Some(pointer),
                format!("{url}{FRAGMENT}"),
                url,
            )
            .with_note("fragment removed"),
        );
    }

    let mut status = step(
        0,
        "poll purchase status",
        "GET",
        "/v1/credit-purchases/cp_123",
    );
    status.status = Status::Failed;
    status.response = Some(ResponseSummary {
        status: 500,
        location: None,
        body_excerpt: r#"{"error":{"code":"internal","message":"purchase lookup failed"}}"#
            .to_string(),
    });
    status.checks = vec![
        CheckOutcome::fail("status", None, "200", "500").with_values(json!(200), Some(json!(500))),
    ];

    let mut health = step(0, "service health", "GET", "/v1/health");
    health.status = Status::Failed;
    health.response = None;
    health.checks = vec![];
    health.transport_error = Some(format!(
        "error sending request for url ({BASE}/v1/health): connection refused"
    ));

    run(
        "mock:regressed-0.1.8",
        213,
        vec![
            catalog(),
            scenario(
                "checkout-fragments",
                "stripe checkout keeps fragments",
                31,
                vec![
                    step(0, "sign in", "POST", "/v1/sessions"),
                    checkout,
                    skipped(2, "checkout status"),
                ],
            ),
            scenario("checkout-fragments", "purchase status", 9, vec![status]),
            scenario("service", "health", 1, vec![health, skipped(1, "version")]),
            scenario(
                "credits-catalog",
                "credit packs",
                7,
                vec![step(0, "list credit packs", "GET", "/v1/credit-packs")],
            ),
        ],
    )
}

// ---- Golden comparison ------------------------------------------------

/// A run against a contract that lacks what two scenarios need: one
/// passes, two are not applicable (never run, neither passed nor failed).
fn not_applicable_run() -> RunReport {
    let na = |suite: &str, name: &str, reason: &str| {
        ScenarioOutcome::not_applicable(
            suite,
            format!("suites/{suite}.json"),
            name,
            reason.to_string(),
        )
    };
    let mut report = run(
        BASE,
        15,
        vec![
            catalog(),
            na(
                "fake-purchase",
                "quote then fake purchase then status",
                "needs operation `createFakePurchase`, which contract 0.1.70 does not document",
            ),
            na(
                "quote-variants",
                "quote without payment_method",
                "written for versions <0.1.29; this run is contract 0.1.70",
            ),
        ],
    );
    report.contract_version = "0.1.70".to_string();
    report
}

fn redactor() -> Redactor {
    Redactor::new([TOKEN.to_string()])
}

fn render(kind: ReportKind, report: &RunReport, redactor: &Redactor) -> String {
    let bytes = reporter(kind, redactor)
        .render(report)
        .unwrap_or_else(|e| panic!("{kind:?} reporter failed: {e}"));
    String::from_utf8(bytes).expect("reports are UTF-8")
}

fn assert_golden(file: &str, actual: &str) {
    common::golden::assert_golden(&format!("reports/{file}"), actual);
}

/// Deleting any golden file these tests compare makes them fail, and every
/// report or diff golden has a test file that compares it.
#[test]
fn removing_a_golden_file_fails() {
    if std::env::var_os("CONFORM_GOLDEN_ROOT").is_some() {
        return; // already inside a rerun
    }
    let owned: Vec<String> = common::golden::OWNERS
        .iter()
        .flat_map(|(_, files)| files.iter().map(|f| f.to_string()))
        .collect();
    let mut on_disk = common::golden::files_under("reports");
    on_disk.extend(common::golden::files_under("diff"));
    on_disk.sort();
    let mut sorted = owned.clone();
    sorted.sort();
    assert_eq!(
        sorted, on_disk,
        "a golden file without a test that compares it (golden::OWNERS)"
    );
    common::golden::prove_removal_fails(&common::golden::owned_by("tests/reports.rs"), |_| {
        vec![
            "golden".into(),
            "--skip".into(),
            "removing_a_golden_file_fails".into(),
        ]
    });
}

#[test]
fn console_passing_golden() {
    assert_golden(
        "passing.txt",
        &render(ReportKind::Console, &passing_run(), &redactor()),
    );
}

#[test]
fn console_failing_golden() {
    assert_golden(
        "failing.txt",
        &render(ReportKind::Console, &failing_run(), &redactor()),
    );
}

#[test]
fn json_goldens() {
    assert_golden(
        "passing.json",
        &render(ReportKind::Json, &passing_run(), &redactor()),
    );
    assert_golden(
        "failing.json",
        &render(ReportKind::Json, &failing_run(), &redactor()),
    );
}

#[test]
fn junit_goldens() {
    assert_golden(
        "passing.xml",
        &render(ReportKind::Junit, &passing_run(), &redactor()),
    );
    assert_golden(
        "failing.xml",
        &render(ReportKind::Junit, &failing_run(), &redactor()),
    );
}

/// Not applicable in every reporter: the console's `N/A` line with the
/// reason, JSON's status and reason, JUnit's skipped message, HTML's badge,
/// Markdown's table; GitHub annotations have none (nothing failed).
#[test]
fn not_applicable_goldens() {
    let report = not_applicable_run();
    assert_eq!(report.summary.not_applicable, 2);
    assert_eq!(report.summary.failed, 0);
    assert_eq!(report.summary.passed, 1);
    for (file, kind) in [
        ("not-applicable.txt", ReportKind::Console),
        ("not-applicable.json", ReportKind::Json),
        ("not-applicable.xml", ReportKind::Junit),
        ("not-applicable.html", ReportKind::Html),
        ("not-applicable.md", ReportKind::Markdown),
    ] {
        assert_golden(file, &render(kind, &report, &redactor()));
    }
    let console = render(ReportKind::Console, &report, &redactor());
    assert!(
        console.contains(
            "N/A   fake-purchase/quote then fake purchase then status   needs operation `createFakePurchase`, which contract 0.1.70 does not document"
        ),
        "{console}"
    );
    assert!(console.contains(", 2 not applicable"), "{console}");
    let junit = render(ReportKind::Junit, &report, &redactor());
    assert!(
        junit.contains(
            r#"<skipped message="not applicable: written for versions &lt;0.1.29; this run is contract 0.1.70"/>"#
        ),
        "{junit}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&render(ReportKind::Json, &report, &redactor())).expect("JSON");
    assert_eq!(json["scenarios"][1]["status"], "not_applicable");
    assert_eq!(json["summary"]["not_applicable"], 2);
    let html = render(ReportKind::Html, &report, &redactor());
    assert!(
        html.contains(r#"<span class="badge not-applicable">N/A</span>"#),
        "{html}"
    );
    assert!(
        html.contains("not applicable: needs operation `createFakePurchase`"),
        "{html}"
    );
    let md = render(ReportKind::Markdown, &report, &redactor());
    assert!(md.contains("### Not applicable to contract"), "{md}");
    assert!(
        md.contains("1 of 3 scenarios passed · 2 not applicable"),
        "{md}"
    );
    assert_eq!(render(ReportKind::Github, &report, &redactor()), "");
}

/// A run where nothing applies is not failed, and says that nothing ran.
#[test]
fn a_run_where_nothing_applies_says_so_and_is_not_failed() {
    let mut report = not_applicable_run();
    report.scenarios.remove(0);
    report.summary = RunReport::summarize(&report.scenarios);
    assert_eq!(report.summary.failed, 0);
    let console = render(ReportKind::Console, &report, &redactor());
    assert!(
        console.contains("nothing ran: no selected scenario applies to contract 0.1.70"),
        "{console}"
    );
    let md = render(ReportKind::Markdown, &report, &redactor());
    assert!(md.starts_with("## conform: passed"), "{md}");
}

// ---- Properties every report must have --------------------------------

#[test]
fn no_report_leaks_the_api_token() {
    // An empty redactor too: the token must still be learned from the
    // Authorization header and masked in the body excerpt.
    for redactor in [redactor(), Redactor::default()] {
        for kind in [ReportKind::Console, ReportKind::Json, ReportKind::Junit] {
            for report in [passing_run(), failing_run()] {
                let out = render(kind, &report, &redactor);
                assert!(
                    !out.contains(TOKEN),
                    "{kind:?} report leaks the API token:\n{out}"
                );
            }
        }
    }
    let colored = ConsoleReporter::new(Redactor::default(), true)
        .render(&failing_run())
        .expect("console renders");
    assert!(!String::from_utf8_lossy(&colored).contains(TOKEN));
}

#[test]
fn console_shows_both_urls_and_points_at_the_missing_fragment() {
    let out = render(ReportKind::Console, &failing_run(), &redactor());
    let lines: Vec<&str> = out.lines().collect();
    let actual_at = lines
        .iter()
        .position(|l| l.trim_start() == format!("actual:   {SESSION}"))
        .expect("the stripped URL is shown in full");
    assert_eq!(
        lines[actual_at - 1].trim_start(),
        format!("expected: {SESSION}{FRAGMENT}"),
        "the expected URL with its fragment is shown in full above it"
    );
    let caret = lines[actual_at + 1];
    assert_eq!(
        caret.find('^'),
        Some(lines[actual_at].len()),
        "the caret sits just past the end of the stripped URL:\n{}\n{caret}",
        lines[actual_at]
    );
    assert!(caret.contains("missing here"), "{caret}");
}

#[test]
fn passing_console_run_ends_with_the_summary() {
    let out = render(ReportKind::Console, &passing_run(), &redactor());
    assert!(!out.contains("failures:"), "{out}");
    assert!(out.ends_with("summary: 2 scenarios, 2 passed, 0 failed · 0 findings · 0 checks failed · 0 transport errors · 0.09s\n"), "{out}");
}

#[test]
fn quiet_console_leaves_out_passing_scenarios_only() {
    let quiet = |report: &RunReport| {
        let bytes = ConsoleReporter::new(redactor(), false)
            .quiet(true)
            .render(report)
            .expect("console renders");
        String::from_utf8(bytes).expect("UTF-8")
    };
    let out = quiet(&failing_run());
    assert!(!out.contains("PASS "), "{out}");
    assert!(out.contains("FAIL  checkout-fragments/stripe checkout keeps fragments"));
    assert!(out.contains("ERROR service/health"));
    assert!(out.contains("fragment `#fidkdWxOYHwnPyd…` missing here"));
    assert!(out.contains("summary: 5 scenarios, 2 passed, 3 failed"));

    let out = quiet(&passing_run());
    assert_eq!(out.lines().count(), 3, "header, blank, summary:\n{out}");
}

#[test]
fn colorless_console_has_no_ansi_escapes() {
    let out = render(ReportKind::Console, &failing_run(), &redactor());
    assert!(!out.contains('\x1b'));
    let colored = ConsoleReporter::new(redactor(), true)
        .render(&failing_run())
        .expect("console renders");
    assert!(colored.contains(&0x1b), "color on produces ANSI escapes");
}

#[test]
fn junit_counts_scenarios_failures_and_errors() {
    let xml = render(ReportKind::Junit, &failing_run(), &redactor());
    assert!(
        // No `skipped` on the root: junit-10.xsd refuses it there.
        xml.contains(r#"<testsuites name="conform" tests="5" failures="2" errors="1""#),
        "{xml}"
    );
    assert!(
        xml.contains(
            r#"<testsuite name="checkout-fragments" tests="2" skipped="0" errors="0" failures="2""#
        ),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<testsuite name="service" tests="1" skipped="0" errors="1" failures="0""#),
        "{xml}"
    );

    // And it is real XML that a JUnit reader accepts.
    let parsed = quick_junit::Report::deserialize_from_str(&xml).expect("junit output parses");
    assert_eq!(parsed.tests, 5);
    assert_eq!(parsed.failures, 2);
    assert_eq!(parsed.errors, 1);
    let passing = render(ReportKind::Junit, &passing_run(), &redactor());
    let parsed = quick_junit::Report::deserialize_from_str(&passing).expect("junit output parses");
    assert_eq!((parsed.tests, parsed.failures, parsed.errors), (2, 0, 0));
}

#[test]
fn json_report_has_the_documented_layout() {
    let out = render(ReportKind::Json, &failing_run(), &redactor());
    let v: serde_json::Value = serde_json::from_str(&out).expect("json output parses");
    assert_eq!(v["format"], json!(REPORT_FORMAT));
    assert_eq!(v["summary"]["checks_failed"], json!(4));
    assert_eq!(
        v["scenarios"][1]["steps"][1]["request"]["headers"][1],
        json!(["Authorization", "Bearer ***"])
    );
}

// ---- Writing report files ---------------------------------------------

#[test]
fn write_atomic_replaces_and_leaves_no_temp_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("out/nested/report.json");

    write_atomic(&path, b"first").expect("write into a missing directory");
    write_atomic(&path, b"second").expect("replace an existing report");

    assert_eq!(std::fs::read(&path).expect("read report"), b"second");
    let names: Vec<String> = std::fs::read_dir(path.parent().expect("parent"))
        .expect("list dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["report.json"], "temp files left behind");
}

#[test]
fn write_atomic_error_names_the_report_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "").expect("create file");
    let path = blocker.join("report.xml");

    match write_atomic(&path, b"x") {
        Err(Error::Report { path: p, .. }) => assert_eq!(p, path),
        other => panic!("expected Error::Report, got {other:?}"),
    }
    let spec = ReportSpec::parse(&format!("junit={}", path.display())).expect("valid spec");
    match spec.write(&failing_run(), &redactor()) {
        Err(e @ Error::Report { .. }) => assert!(e.to_string().contains("report.xml"), "{e}"),
        other => panic!("expected Error::Report, got {other:?}"),
    }
}

#[test]
fn report_spec_accepts_json_and_junit() {
    let spec = ReportSpec::parse("junit=target/conform.xml").expect("valid spec");
    assert_eq!(spec.kind, ReportKind::Junit);
    assert_eq!(spec.path, PathBuf::from("target/conform.xml"));
    assert_eq!(
        ReportSpec::parse("json=r.json").expect("valid").kind,
        ReportKind::Json
    );
}

#[test]
fn report_spec_rejects_other_forms() {
    for arg in [
        "",
        "json",
        "json=",
        "xml=out.xml",
        "console=out.txt",
        "JSON=out.json",
        "=out.json",
    ] {
        match ReportSpec::parse(arg) {
            Err(e @ Error::Usage(_)) => {
                let msg = e.to_string();
                assert!(
                    msg.contains("json=PATH") && msg.contains("junit=PATH"),
                    "error for `{arg}` does not name the accepted forms: {msg}"
                );
                assert_eq!(e.exit_code(), conform::error::exit::INVALID_INPUT);
            }
            other => panic!("`{arg}` should be a usage error, got {other:?}"),
        }
    }
}

// ---- Reports fit their consumers --------------------------------------

/// A run stopped by Ctrl-C after the first scenario: the rest never ran.
fn interrupted_run() -> RunReport {
    let mut report = failing_run();
    report.interrupted = true;
    for sc in report.scenarios.iter_mut().skip(1) {
        sc.status = Status::Skipped;
        for st in &mut sc.steps {
            st.status = Status::Skipped;
            st.skipped_because = Some("the run was interrupted".to_string());
            st.checks.clear();
            st.transport_error = None;
            st.response = None;
        }
    }
    report.summary = RunReport::summarize(&report.scenarios);
    report
        .judge(&conform::findings::JudgeContext {
            envelope: common::outcomes::shipped_envelope(),
            ..Default::default()
        })
        .expect("held outcomes judge");
    report
}

#[test]
fn json_report_validates_against_its_published_schema() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/report.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("schema readable"))
            .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    for (name, report) in [
        ("passing", passing_run()),
        ("failing", failing_run()),
        ("interrupted", interrupted_run()),
        ("not-applicable", not_applicable_run()),
    ] {
        for kind in [ReportKind::Json, ReportKind::JsonCompact] {
            let out = render(kind, &report, &redactor());
            let value: serde_json::Value = serde_json::from_str(&out).expect("report is JSON");
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(
                errors.is_empty(),
                "{name} {kind:?} report breaks schemas/report.schema.json:\n{}",
                errors.join("\n")
            );
        }
    }
    // The schema is strict: an unknown top-level field is refused.
    assert!(!validator.is_valid(&json!({"format": 1, "extra": true})));
}

#[test]
fn compact_json_keeps_failures_and_counts_only() {
    let full = render(ReportKind::Json, &failing_run(), &redactor());
    let compact = render(ReportKind::JsonCompact, &failing_run(), &redactor());
    let v: serde_json::Value = serde_json::from_str(&compact).expect("json");
    assert_eq!(v["compact"], json!(true));
    assert!(compact.len() < full.len());
    let statuses: Vec<&str> = v["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .filter_map(|s| s["status"].as_str())
        .collect();
    assert!(!statuses.contains(&"passed"), "{statuses:?}");
    assert_eq!(v["summary"]["scenarios"], json!(5));
    assert_eq!(v["findings"].as_array().map(Vec::len), Some(5));
}

/// Attributes junit-10.xsd (jenkinsci/xunit-plugin) allows per element:
/// facts from the schema, so a structural check runs everywhere.
const JUNIT_10_ATTRIBUTES: &[(&str, &[&str])] = &[
    (
        "testsuites",
        &["name", "time", "tests", "failures", "errors"],
    ),
    (
        "testsuite",
        &[
            "name",
            "tests",
            "failures",
            "errors",
            "group",
            "time",
            "skipped",
            "timestamp",
            "hostname",
            "id",
            "package",
            "file",
            "log",
            "url",
        ],
    ),
    ("testcase", &["name", "time", "classname", "group"]),
    ("failure", &["type", "message"]),
    ("error", &["type", "message"]),
    ("skipped", &["type", "message"]),
    ("property", &["name", "value"]),
];

fn junit_attribute_problems(xml: &str) -> Vec<String> {
    let tag = regex::Regex::new(r"<([a-z-]+)((?:\s+[A-Za-z_:][-\w:.]*=\x22[^\x22]*\x22)*)\s*/?>")
        .expect("regex");
    let attr = regex::Regex::new(r"([A-Za-z_:][-\w:.]*)=\x22").expect("regex");
    let mut problems = Vec::new();
    for cap in tag.captures_iter(xml) {
        let Some((_, allowed)) = JUNIT_10_ATTRIBUTES.iter().find(|(n, _)| *n == &cap[1]) else {
            continue;
        };
        for a in attr.captures_iter(&cap[2]) {
            if !allowed.contains(&&a[1]) {
                problems.push(format!("<{}> has `{}`", &cap[1], &a[1]));
            }
        }
    }
    problems
}

#[test]
fn junit_uses_only_what_jenkins_junit_10_xsd_allows() {
    for (name, report) in [
        ("passing", passing_run()),
        ("failing", failing_run()),
        ("interrupted", interrupted_run()),
        ("not-applicable", not_applicable_run()),
    ] {
        let xml = render(ReportKind::Junit, &report, &redactor());
        let problems = junit_attribute_problems(&xml);
        assert!(problems.is_empty(), "{name}: {problems:?}\n{xml}");
        assert!(
            xml.contains("timestamp=\"2026-01-02T03:04:05.678+00:00\""),
            "{xml}"
        );
        assert!(xml.contains("hostname=\"ci-runner\""), "{xml}");
    }
    // The check itself bites: the layout before this change had both.
    let old = r#"<testsuites name="c" tests="1" skipped="0"><testcase name="x" assertions="2"/></testsuites>"#;
    assert_eq!(junit_attribute_problems(old).len(), 2);
}

#[test]
fn an_interrupted_run_marks_unrun_cases_skipped_not_failed() {
    let xml = render(ReportKind::Junit, &interrupted_run(), &redactor());
    let failures = xml.matches("<failure").count() + xml.matches("<error").count();
    let skipped = xml.matches("<skipped").count();
    assert_eq!(failures, 0, "only the first (passing) scenario ran:\n{xml}");
    assert_eq!(skipped, 4, "{xml}");
}

/// Full validation with `xmllint --schema` (Debian's libxml2-utils)
/// against `tests/junit/junit-10.xsd`, our copy of the constraints of
/// Jenkins' junit-10.xsd (MIT; `CONFORM_JUNIT_XSD` points at another).
/// Skips, saying so, without xmllint.
#[test]
fn junit_validates_with_xmllint_against_junit_10_xsd() {
    let xsd = std::env::var_os("CONFORM_JUNIT_XSD").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/junit/junit-10.xsd"),
        PathBuf::from,
    );
    let dir = common::temp("junit-xsd");
    let validate = |name: &str, xml: &str| -> Option<(bool, String)> {
        let file = dir.join(format!("{name}.xml"));
        std::fs::write(&file, xml).expect("write");
        let out = std::process::Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(&xsd)
            .arg(&file)
            .output()
            .ok()?;
        Some((
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    };
    // The check bites: the layout before issue 16 is refused.
    let old = r#"<testsuites name="c" tests="1" skipped="0"><testsuite name="s" tests="1" failures="0" errors="0"><testcase name="x" assertions="2"/></testsuite></testsuites>"#;
    let Some((old_valid, old_errors)) = validate("old-layout", old) else {
        common::skip(
            "xmllint not runnable; install libxml2-utils to validate JUnit against junit-10.xsd",
        );
        return;
    };
    assert!(
        !old_valid,
        "the XSD must refuse `skipped` on <testsuites> and `assertions`"
    );
    assert!(old_errors.contains("assertions"), "{old_errors}");
    for (name, report) in [
        ("passing", passing_run()),
        ("failing", failing_run()),
        ("interrupted", interrupted_run()),
        ("not-applicable", not_applicable_run()),
    ] {
        let xml = render(ReportKind::Junit, &report, &redactor());
        let (valid, errors) = validate(name, &xml).expect("xmllint ran a moment ago");
        assert!(
            valid,
            "{name} JUnit does not validate against {}:\n{errors}\n{xml}",
            xsd.display()
        );
    }
}

#[test]
fn json_report_keeps_the_json_type_of_compared_values() {
    let mut report = passing_run();
    report.scenarios[0].status = Status::Failed;
    let step = &mut report.scenarios[0].steps[0];
    step.status = Status::Failed;
    step.checks = vec![
        CheckOutcome::fail("status", None, "200", "404").with_values(json!(200), Some(json!(404))),
        CheckOutcome::fail(
            "equals",
            Some("/data/price"),
            r#"{"cents":500}"#,
            r#"{"cents":50}"#,
        )
        .with_values(json!({"cents": 500}), Some(json!({"cents": 50}))),
        CheckOutcome::fail(
            "equals",
            Some("/data/live"),
            "true",
            "nothing at this pointer",
        )
        .with_values(json!(true), None),
        CheckOutcome::pass("equals", Some("/data/n"), "3").with_values(json!(3), None),
        CheckOutcome::fail(
            "schema",
            Some("/data"),
            "valid against credits.json",
            "missing `id`",
        ),
    ];
    report.summary = RunReport::summarize(&report.scenarios);
    report
        .judge(&conform::findings::JudgeContext {
            envelope: common::outcomes::shipped_envelope(),
            ..Default::default()
        })
        .expect("held outcomes judge");
    let v: serde_json::Value =
        serde_json::from_str(&render(ReportKind::Json, &report, &redactor())).expect("json");
    let checks = &v["scenarios"][0]["steps"][0]["checks"];
    let pairs: Vec<(&serde_json::Value, &serde_json::Value)> = checks
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| (&c["expected"], &c["actual"]))
        .collect();
    assert_eq!(pairs[0], (&json!(200), &json!(404)), "numbers stay numbers");
    assert_eq!(
        pairs[1],
        (&json!({"cents": 500}), &json!({"cents": 50})),
        "objects stay objects"
    );
    // Nothing to compare: the value expected, and words for what was found.
    assert_eq!(pairs[2], (&json!(true), &json!("nothing at this pointer")));
    assert_eq!(
        pairs[3],
        (&json!(3), &json!(3)),
        "a pass: actual is expected"
    );
    // A check that describes rather than compares keeps its words.
    assert_eq!(
        pairs[4],
        (&json!("valid against credits.json"), &json!("missing `id`"))
    );
    // Findings' evidence, too.
    let evidence = &v["findings"][0]["evidence"][0];
    assert_eq!(
        (&evidence["expected"], &evidence["actual"]),
        (&json!(200), &json!(404)),
        "{v}"
    );
    // People still read text.
    let console = render(ReportKind::Console, &report, &redactor());
    assert!(
        console.contains(r#"equals at /data/price: expected {"cents":500}, got {"cents":50}"#),
        "{console}"
    );
}
