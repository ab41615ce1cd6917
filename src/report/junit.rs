//! JUnit XML for CI dashboards: `<testsuites name="conform">`, one
//! `<testsuite>` per conform suite, one `<testcase>` per scenario.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::Result;
use crate::outcome::{RunReport, ScenarioOutcome, Status};
use crate::redact::Redactor;

use super::Reporter;
use super::console::{Paint, step_details};

#[derive(Debug, Clone)]
pub struct JunitReporter {
    redactor: Redactor,
}

impl JunitReporter {
    pub fn new(redactor: Redactor) -> Self {
        JunitReporter { redactor }
    }
}

impl Reporter for JunitReporter {
    fn render(&self, report: &RunReport) -> Result<Vec<u8>> {
        let report = super::redacted(report, &self.redactor);
        let mut junit = Report::new("conform");
        junit.set_time(Duration::from_millis(report.duration_ms));

        // Suites in order of first appearance, so the XML follows the run.
        let mut suites: Vec<(String, TestSuite, u64)> = Vec::new();
        for sc in &report.scenarios {
            let i = match suites.iter().position(|(name, ..)| *name == sc.suite) {
                Some(i) => i,
                None => {
                    suites.push((sc.suite.clone(), TestSuite::new(&sc.suite), 0));
                    suites.len() - 1
                }
            };
            let (_, suite, total_ms) = &mut suites[i];
            suite.add_test_case(test_case(sc));
            *total_ms += sc.duration_ms;
        }
        for (_, mut suite, total_ms) in suites {
            suite.set_time(Duration::from_millis(total_ms));
            junit.add_test_suite(suite);
        }

        let mut bytes = Vec::new();
        junit
            .serialize(&mut bytes)
            .map_err(|e| super::render_error("junit", e))?;
        Ok(bytes)
    }
}

fn test_case(sc: &ScenarioOutcome) -> TestCase {
    let mut case = TestCase::new(&sc.scenario, status(sc));
    case.set_classname(&sc.suite)
        .set_time(Duration::from_millis(sc.duration_ms))
        .set_assertions(sc.steps.iter().map(|s| s.checks.len()).sum());
    // Skipped steps are not failures of their own, but people reading a
    // failed case need to know what did not run.
    let mut skipped = String::new();
    for step in sc.steps.iter().filter(|s| s.status == Status::Skipped) {
        step_details(&mut skipped, step, Paint(false));
    }
    if !skipped.is_empty() {
        case.set_system_out(skipped);
    }
    case
}

fn status(sc: &ScenarioOutcome) -> TestCaseStatus {
    match sc.status {
        Status::Passed => TestCaseStatus::success(),
        Status::Skipped => {
            let mut status = TestCaseStatus::skipped();
            status.set_message("not run");
            status
        }
        Status::Failed => {
            let first_check = sc.failed_checks().next();
            let first_transport = sc.steps.iter().find_map(|s| s.transport_error.as_deref());
            let (kind, message, ty) = match (first_check, first_transport) {
                (Some((_, c)), _) => {
                    let at = c
                        .pointer
                        .as_deref()
                        .map(|p| format!(" at {p}"))
                        .unwrap_or_default();
                    let message =
                        format!("{}{at}: expected {}, got {}", c.check, c.expected, c.actual);
                    (NonSuccessKind::Failure, message, c.check.clone())
                }
                // Not reaching the target is an error of the run, not a
                // contract failure: JUnit's <error> says exactly that.
                (None, Some(err)) => (
                    NonSuccessKind::Error,
                    format!("no usable answer from the target: {err}"),
                    "transport".to_string(),
                ),
                (None, None) => (
                    NonSuccessKind::Failure,
                    "scenario failed".to_string(),
                    "scenario".to_string(),
                ),
            };
            let mut status = TestCaseStatus::non_success(kind);
            status
                .set_message(message)
                .set_type(ty)
                .set_description(failure_body(sc));
            status
        }
    }
}

/// Every failed check and transport error, laid out as on the console.
fn failure_body(sc: &ScenarioOutcome) -> String {
    let mut body = String::new();
    for step in &sc.steps {
        let failing = step.transport_error.is_some() || step.checks.iter().any(|c| !c.passed);
        if failing {
            step_details(&mut body, step, Paint(false));
        }
    }
    body
}
