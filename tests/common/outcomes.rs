//! Hand-built run results for the report tests (goldens need fixed values).

use conform::outcome::{REPORT_FORMAT, RunReport, ScenarioOutcome, Status, StepOutcome};

/// A scenario that failed when any step failed or could not reach the target.
pub fn scenario(
    suite: &str,
    name: &str,
    duration_ms: u64,
    steps: Vec<StepOutcome>,
) -> ScenarioOutcome {
    let failed = steps
        .iter()
        .any(|s| s.status == Status::Failed || s.transport_error.is_some());
    ScenarioOutcome {
        suite: suite.to_string(),
        file: format!("suites/{suite}.json"),
        scenario: name.to_string(),
        status: if failed {
            Status::Failed
        } else {
            Status::Passed
        },
        duration_ms,
        duration_us: duration_ms * 1000,
        reason: None,
        steps,
    }
}

pub fn run(target: &str, duration_ms: u64, scenarios: Vec<ScenarioOutcome>) -> RunReport {
    let mut report = RunReport {
        format: REPORT_FORMAT,
        conform_version: "0.1.0".to_string(),
        contract_version: "0.1.9".to_string(),
        target: target.to_string(),
        duration_ms,
        duration_us: duration_ms * 1000,
        run: conform::outcome::RunInfo {
            id: "0badcafe".to_string(),
            started_at: "2026-01-02T03:04:05.678Z".to_string(),
            hostname: "ci-runner".to_string(),
        },
        interrupted: false,
        summary: RunReport::summarize(&scenarios),
        findings: Vec::new(),
        scenarios,
        spooled: None,
        latency: None,
    };
    report
        .judge(&conform::findings::JudgeContext {
            token_source: Some("`$IMAGE_SKILL_TOKEN`".to_string()),
            target: target.to_string(),
            envelope: shipped_envelope(),
        })
        .expect("held outcomes judge");
    report
}

/// Where the default contract's envelope keeps what the judge reads.
pub fn shipped_envelope() -> conform::findings::EnvelopeFields {
    let contract = conform::contract::Contract::embedded(conform::contract::DEFAULT_CONTRACT)
        .expect("the default contract loads");
    conform::findings::EnvelopeFields::of(&contract)
}
