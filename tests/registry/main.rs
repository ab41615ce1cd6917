//! The check registry from a user's side: a check added in one file and
//! one registration line is accepted in a suite, validated by the suite
//! format, and reported; a check that panics is an internal error of its
//! step while the run and its reports complete.

mod body_has_key;
mod field_matches;

use std::path::Path;
use std::sync::{Arc, Mutex};

use conform::app::{self, Options, TargetSpec};
use conform::check::Registry;
use conform::exec::{Interrupt, Observer};
use conform::mock::Profile;
use conform::outcome::{RunReport, ScenarioOutcome};

fn registry() -> Arc<Registry> {
    Arc::new(
        Registry::builtin()
            .with(body_has_key::BodyHasKey)
            .with(body_has_key::Panics)
            .with(field_matches::FieldMatches),
    )
}

fn suite(dir: &Path, expect: &str) -> std::path::PathBuf {
    let text = format!(
        r#"{{"suite":"ext","scenarios":[
          {{"name":"custom","steps":[{{"name":"health","request":{{"method":"GET","path":"/healthz","auth":"none"}},
            "expect":{expect}}}]}},
          {{"name":"plain","steps":[{{"name":"health","request":{{"method":"GET","path":"/healthz","auth":"none"}},
            "expect":{{"status":200}}}}]}}]}}"#
    );
    let path = dir.join("ext.json");
    std::fs::write(&path, text).expect("write suite");
    path
}

fn options(suite: std::path::PathBuf) -> Options {
    let mut opts = Options::new(TargetSpec::Mock(Profile::Conformant));
    opts.suites = vec![suite];
    opts.registry = registry();
    opts
}

fn run(opts: Options) -> conform::Result<RunReport> {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let prepared = app::prepare(opts)?;
        let session = prepared.start().await?;
        let report = prepared
            .execute(&session, &prepared.plan, Interrupt::default())
            .await?;
        app::write_reports(&prepared.options.reports, &report, &session.redactor())?;
        Ok(report)
    })
}

fn check_results<'a>(
    report: &'a RunReport,
    check: &str,
) -> Vec<&'a conform::outcome::CheckOutcome> {
    report
        .scenarios
        .iter()
        .flat_map(|s| &s.steps)
        .flat_map(|s| &s.checks)
        .filter(|c| c.check == check)
        .collect()
}

#[test]
fn a_registered_check_is_accepted_and_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = suite(dir.path(), r#"{"status":200,"body_has_key":"data"}"#);
    let report = run(options(path)).expect("run");
    let results = check_results(&report, "body_has_key");
    assert_eq!(
        results.len(),
        1,
        "the registered check ran once: {results:?}"
    );
    assert!(results[0].passed, "{:?}", results[0]);
    assert_eq!(report.exit_code(), 0);
}

#[test]
fn a_registered_check_fails_like_any_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = suite(dir.path(), r#"{"status":200,"body_has_key":"nope"}"#);
    let report = run(options(path)).expect("run");
    let results = check_results(&report, "body_has_key");
    assert!(results.len() == 1 && !results[0].passed, "{results:?}");
    assert_eq!(report.exit_code(), 1);
}

#[test]
fn the_suite_format_validates_a_registered_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = suite(dir.path(), r#"{"status":200,"body_has_key":7}"#);
    let err = app::prepare(options(path))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(err.contains("wrong type: expected string"), "{err}");
    assert!(
        err.contains("at /scenarios/0/steps/0/expect/body_has_key"),
        "{err}"
    );
}

#[test]
fn without_its_registration_the_key_is_unknown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = suite(dir.path(), r#"{"status":200,"body_has_key":"data"}"#);
    let mut opts = options(path);
    opts.registry = Arc::new(Registry::builtin());
    let err = app::prepare(opts).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("unknown expect key `body_has_key`"), "{err}");
}

/// A check in the built-ins' style (typed settings from its own parser,
/// schema fragment using the format's `$defs`) is one file and one line.
#[test]
fn a_built_in_style_check_parses_validates_and_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = suite(
        dir.path(),
        r#"{"status":200,"field_matches":{"/data/status":"^o","/data/nope":"x"}}"#,
    );
    let report = run(options(path)).expect("run");
    let results = check_results(&report, "field_matches");
    assert_eq!(results.len(), 2, "{results:?}");
    assert!(results[0].passed, "{:?}", results[0]);
    assert!(!results[1].passed, "{:?}", results[1]);
    assert_eq!(report.exit_code(), 1);

    // Its fragment is part of the suite format: a key that is no pointer.
    let path = suite(dir.path(), r#"{"field_matches":{"data":"x"}}"#);
    let err = app::prepare(options(path))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(r#""data" does not match "^(/[^/]*)*$""#),
        "{err}"
    );
    assert!(
        err.contains("at /scenarios/0/steps/0/expect/field_matches"),
        "{err}"
    );

    // Its parser refuses what the schema lets through, with the place.
    let path = suite(dir.path(), r#"{"field_matches":{"/data":"("}}"#);
    let err = app::prepare(options(path))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad pattern `(`"), "{err}");
    assert!(
        err.contains("at /scenarios/0/steps/0/expect/field_matches/~1data"),
        "{err}"
    );
}

#[derive(Default)]
struct Seen(Mutex<Vec<String>>);

impl Observer for Seen {
    fn scenario_finished(&self, outcome: &ScenarioOutcome) {
        if let Ok(mut seen) = self.0.lock() {
            seen.push(outcome.id());
        }
    }
}

#[test]
fn a_panicking_check_is_an_internal_error_and_the_run_completes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = suite(dir.path(), r#"{"status":200,"panics":true}"#);
    let json = dir.path().join("report.json");
    let mut opts = options(path);
    opts.reports = vec![
        conform::report::ReportSpec::parse(&format!("json={}", json.display())).expect("spec"),
    ];
    let seen = Arc::new(Seen::default());
    opts.observer = Some(seen.clone());
    let report = run(opts).expect("the run completes");

    let internal = check_results(&report, "internal_error");
    assert_eq!(internal.len(), 1, "{internal:?}");
    assert!(
        internal[0].actual.contains("bug in the panics check"),
        "{:?}",
        internal[0]
    );
    // The other checks of the step still ran, and so did the other scenario.
    assert!(check_results(&report, "status").iter().all(|c| c.passed));
    assert_eq!(report.scenarios.len(), 2);
    assert_eq!(report.summary.internal_errors, 1);
    assert_eq!(report.exit_code(), conform::error::exit::INTERNAL_ERROR);
    let written = std::fs::read_to_string(&json).expect("the json report is written");
    assert!(written.contains("\"internal_error\""), "{written}");
    let mut seen = seen.0.lock().expect("lock").clone();
    seen.sort();
    assert_eq!(seen, ["ext/custom", "ext/plain"]);
}
