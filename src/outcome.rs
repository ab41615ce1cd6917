//! The finished result of a run. Checks produce these values, the runner
//! judges them, and reporters only read them (Hurl's `HurlResult` split).

use serde::{Deserialize, Serialize};

/// Version of the JSON report layout; bump on any incompatible change.
pub const REPORT_FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub format: u32,
    pub conform_version: String,
    pub contract_version: String,
    /// What was tested: `mock:conformant`, `mock:regressed-0.1.8` or a base URL.
    pub target: String,
    /// Which run this was and where: set by the pipeline around the run.
    pub run: RunInfo,
    pub duration_ms: u64,
    /// The same, in microseconds: loopback runs take well under 1 ms a step.
    pub duration_us: u64,
    pub interrupted: bool,
    pub summary: Summary,
    /// Failures grouped by cause, most important first (the judge stage,
    /// [`crate::findings`]). Reports lead with these.
    pub findings: Vec<crate::findings::Finding>,
    /// The outcomes held in memory: all of them, or none when `spooled`
    /// is set. Readers go through [`RunReport::all_scenarios`] (every
    /// one) or [`RunReport::kept_scenarios`] (what failures need).
    pub scenarios: Vec<ScenarioOutcome>,
    /// Every outcome in plan order, in a temp file: a large run does not
    /// hold its finished scenarios until the reports are written.
    #[serde(skip)]
    pub spooled: Option<std::sync::Arc<crate::exec::spool::Spooled>>,
    /// Per-step latency percentiles: only for `--repeat` (soak) runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyReport>,
}

/// Identity of one run, for dashboards that keep history.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RunInfo {
    /// The `${run_id}` the suites used (idempotency keys carry it).
    pub id: String,
    /// Start of the run, RFC 3339 in UTC.
    pub started_at: String,
    /// The machine conform ran on.
    pub hostname: String,
}

impl RunInfo {
    /// This machine's name, or `localhost` when it cannot be read.
    pub fn this_host() -> String {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_string())
    }

    pub fn now_rfc3339() -> String {
        chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }
}

/// What a `--repeat` run measured. Built from histograms, so its size does
/// not grow with the number of iterations.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LatencyReport {
    /// Iterations asked for (`--repeat N`).
    pub requested: u64,
    /// Iterations that ran; fewer than `requested` when stopped early.
    pub iterations: u64,
    /// Why the run stopped before `requested`: the time bound or Ctrl-C.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_early: Option<String>,
    /// Iterations with at least one failed scenario.
    pub failed_iterations: u64,
    /// Failed scenario runs not kept in `scenarios` (only the first are).
    pub failures_not_kept: u64,
    /// Wall time of one iteration (every selected scenario once), in
    /// microseconds, measured around the whole run.
    pub iteration: Percentiles,
    /// One entry per step that ran, in plan order, in milliseconds as the
    /// steps report them.
    pub steps: Vec<StepLatency>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StepLatency {
    /// `suite/scenario/step`.
    pub step: String,
    #[serde(flatten)]
    pub latency: Percentiles,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Percentiles {
    /// `ms` or `us`.
    pub unit: &'static str,
    pub count: u64,
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
    pub max: u64,
    pub mean: f64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub scenarios: usize,
    pub passed: usize,
    pub failed: usize,
    /// Failed checks, not counting those a finding marks not evaluated.
    pub checks_failed: usize,
    /// Failed checks that an earlier cause made meaningless (a client that
    /// printed an error envelope has no `data` to compare).
    pub not_evaluated: usize,
    /// Failures grouped by cause: the length of `findings`.
    pub findings: usize,
    /// Scenarios that did not run (an interrupted or `--fail-fast` run).
    pub skipped: usize,
    /// Scenarios the contract version cannot run: neither passed nor failed.
    pub not_applicable: usize,
    /// Steps that could not reach the target or got garbage at the transport level.
    pub transport_errors: usize,
    /// Checks or scenarios that panicked: bugs in conform, not in the target.
    #[serde(skip_serializing_if = "is_zero")]
    pub internal_errors: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    Failed,
    /// A step: not run because an earlier step of its scenario failed, or
    /// the run stopped. A scenario: none of it ran (the run was interrupted,
    /// or `--fail-fast` stopped it after another scenario failed).
    Skipped,
    /// A scenario the loaded contract version cannot run (its `versions`
    /// or `needs`, see `reason`): never run, neither passed nor failed.
    NotApplicable,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioOutcome {
    pub suite: String,
    /// The suite file the scenario came from.
    pub file: String,
    pub scenario: String,
    pub status: Status,
    pub duration_ms: u64,
    /// The same, in microseconds (a loopback scenario can take under 1 ms).
    pub duration_us: u64,
    /// Why a `not_applicable` scenario does not apply to this contract version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub steps: Vec<StepOutcome>,
}

impl ScenarioOutcome {
    /// A scenario the plan found the contract version cannot run: no steps.
    pub fn not_applicable(suite: &str, file: String, scenario: &str, reason: String) -> Self {
        ScenarioOutcome {
            suite: suite.to_string(),
            file,
            scenario: scenario.to_string(),
            status: Status::NotApplicable,
            duration_ms: 0,
            duration_us: 0,
            reason: Some(reason),
            steps: Vec::new(),
        }
    }

    pub fn id(&self) -> String {
        format!("{}/{}", self.suite, self.scenario)
    }

    /// Gives back the slack of a finished outcome's vectors and strings:
    /// a run holds every outcome until its reports are written, and growth
    /// by push leaves up to half of each vector unused (about a fifth of a
    /// passing two-step scenario).
    pub fn shrink_to_fit(&mut self) {
        self.steps.shrink_to_fit();
        for step in &mut self.steps {
            step.checks.shrink_to_fit();
            for c in &mut step.checks {
                c.expected.shrink_to_fit();
                c.actual.shrink_to_fit();
            }
            if let Some(r) = &mut step.response {
                r.body_excerpt.shrink_to_fit();
            }
            if let Some(q) = &mut step.request {
                q.url.shrink_to_fit();
                q.headers.shrink_to_fit();
            }
        }
    }

    pub fn failed_checks(&self) -> impl Iterator<Item = (&StepOutcome, &CheckOutcome)> {
        self.steps
            .iter()
            .flat_map(|s| s.checks.iter().filter(|c| !c.passed).map(move |c| (s, c)))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepOutcome {
    pub index: usize,
    pub name: String,
    pub status: Status,
    pub duration_ms: u64,
    /// The same, in microseconds: a loopback step takes well under 1 ms.
    pub duration_us: u64,
    /// Set on skipped steps: why they did not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_because: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseSummary>,
    /// For cli steps: how the client under test was run and what it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientSummary>,
    /// The target could not be reached, or answered garbage below HTTP
    /// (for a client: could not start, or hung and was killed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport_error: Option<String>,
    pub checks: Vec<CheckOutcome>,
}

impl StepOutcome {
    /// A step with nothing recorded yet: no request, answer, client or
    /// checks, no time taken.
    pub fn new(index: usize, name: impl Into<String>, status: Status) -> StepOutcome {
        StepOutcome {
            index,
            name: name.into(),
            status,
            duration_ms: 0,
            duration_us: 0,
            skipped_because: None,
            request: None,
            response: None,
            client: None,
            transport_error: None,
            checks: Vec::new(),
        }
    }

    /// A passed step cut to what every report but the full JSON one shows
    /// of it: the request line, the status, and each check's name, place
    /// and invariant. Its excerpts, headers and compared values go (they
    /// were most of the 7 KB a passed healthz step held until its
    /// scenario ended). Credential headers stay: the reports learn from
    /// them what to mask. A step that did not pass keeps everything.
    pub fn keep_only_shown(&mut self) {
        if self.status != Status::Passed {
            return;
        }
        if let Some(q) = &mut self.request {
            q.headers
                .retain(|(name, _)| crate::redact::Redactor::is_credential_header(name));
            q.body = None;
        }
        if let Some(r) = &mut self.response {
            r.body_excerpt = String::new();
        }
        for c in &mut self.checks {
            c.expected = String::new();
            c.actual = String::new();
            c.values = None;
            c.note = None;
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestSummary {
    pub method: String,
    pub url: String,
    /// Header values as sent, with secrets replaced (`Bearer ***`).
    pub headers: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none", default, with = "maybe_value")]
    pub body: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResponseSummary {
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The start of the body, as text, for people reading a failure.
    pub body_excerpt: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientSummary {
    /// The client's argv, secrets redacted.
    pub argv: Vec<String>,
    /// `None` when it was killed or ended by a signal.
    pub exit_code: Option<i32>,
    pub stdout_excerpt: String,
    /// The start of stderr, token-redacted, for people reading a failure.
    pub stderr_excerpt: String,
}

/// One assertion's result: what was checked, where, and what was found.
/// Serialized by hand (below): `expected`/`actual` are written as their
/// JSON values when the check kept them.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    /// The check kind as written in suites: `status`, `envelope`, `fragment_preserved` ...
    pub check: String,
    /// JSON pointer into the response the check looked at, if any.
    pub pointer: Option<String>,
    pub passed: bool,
    /// As people read it (console, HTML, JUnit).
    pub expected: String,
    pub actual: String,
    /// The compared JSON values, when the check compared values (a status
    /// code, an `equals` value): the JSON report keeps their type. Boxed:
    /// most checks have none.
    pub values: Option<Box<CheckValues>>,
    /// A plain-words explanation of the difference (e.g. "fragment removed").
    pub note: Option<String>,
    /// The invariant (`schemas/invariants.json`) this result enforces;
    /// `None`: the version's own contract.
    pub invariant: Option<String>,
}

/// What a value-comparing check compared, as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckValues {
    pub expected: serde_json::Value,
    /// `None`: there was nothing to compare (`actual` says why).
    #[serde(default, with = "maybe_value")]
    pub actual: Option<serde_json::Value>,
}

/// An optional JSON value that may itself be `null`: in the spool's
/// binary form `Some(null)` and `None` would both be CBOR null, so there
/// it is written as a list of none or one value. JSON keeps its form.
mod maybe_value {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::Value;

    pub fn serialize<S: Serializer>(v: &Option<Value>, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            v.serialize(s)
        } else {
            v.as_slice().serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
        if d.is_human_readable() {
            Option::<Value>::deserialize(d)
        } else {
            Ok(Vec::<Value>::deserialize(d)?.into_iter().next())
        }
    }
}

/// `text`, or the typed value when there is one: how `expected`/`actual`
/// are written in the JSON report.
pub(crate) struct Shown<'a>(pub &'a str, pub Option<&'a serde_json::Value>);

impl Serialize for Shown<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.1 {
            Some(value) => value.serialize(s),
            None => s.serialize_str(self.0),
        }
    }
}

/// `expected`, `actual` (typed where the check kept the values) and
/// `note`, as a check result and a finding's evidence both write them.
pub(crate) fn compared<M: serde::ser::SerializeStruct>(
    st: &mut M,
    expected: &str,
    actual: &str,
    values: Option<&CheckValues>,
    note: Option<&String>,
) -> Result<(), M::Error> {
    st.serialize_field("expected", &Shown(expected, values.map(|v| &v.expected)))?;
    st.serialize_field(
        "actual",
        &Shown(actual, values.and_then(|v| v.actual.as_ref())),
    )?;
    if let Some(n) = note {
        st.serialize_field("note", n)?;
    }
    Ok(())
}

/// Every field of a check result, for the run's spool (a binary,
/// not human-readable format): the report's form drops the text of a
/// typed value, which the reporters still need.
#[derive(Serialize, Deserialize)]
#[serde(remote = "CheckOutcome")]
struct FullCheck {
    check: String,
    pointer: Option<String>,
    passed: bool,
    expected: String,
    actual: String,
    values: Option<Box<CheckValues>>,
    note: Option<String>,
    invariant: Option<String>,
}

impl<'de> Deserialize<'de> for CheckOutcome {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        FullCheck::deserialize(d)
    }
}

impl Serialize for CheckOutcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        if !s.is_human_readable() {
            return FullCheck::serialize(self, s);
        }
        let values = self.values.as_deref();
        let mut st = s.serialize_struct("CheckOutcome", 7)?;
        st.serialize_field("check", &self.check)?;
        if let Some(p) = &self.pointer {
            st.serialize_field("pointer", p)?;
        }
        st.serialize_field("passed", &self.passed)?;
        compared(
            &mut st,
            &self.expected,
            &self.actual,
            values,
            self.note.as_ref(),
        )?;
        if let Some(i) = &self.invariant {
            st.serialize_field("invariant", i)?;
        }
        st.end()
    }
}

impl CheckOutcome {
    pub fn pass(check: &str, pointer: Option<&str>, expected: impl Into<String>) -> Self {
        let expected = expected.into();
        CheckOutcome {
            check: check.to_string(),
            pointer: pointer.map(str::to_string),
            passed: true,
            actual: expected.clone(),
            expected,
            values: None,
            note: None,
            invariant: None,
        }
    }

    pub fn fail(
        check: &str,
        pointer: Option<&str>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        CheckOutcome {
            check: check.to_string(),
            pointer: pointer.map(str::to_string),
            passed: false,
            expected: expected.into(),
            actual: actual.into(),
            values: None,
            note: None,
            invariant: None,
        }
    }

    /// Keeps the compared JSON values beside their text; on a pass the
    /// actual value is the expected one.
    pub fn with_values(
        mut self,
        expected: serde_json::Value,
        actual: Option<serde_json::Value>,
    ) -> Self {
        let actual = if self.passed {
            Some(expected.clone())
        } else {
            actual
        };
        self.values = Some(Box::new(CheckValues { expected, actual }));
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

impl RunReport {
    pub fn summarize(scenarios: &[ScenarioOutcome]) -> Summary {
        let mut s = Summary {
            scenarios: scenarios.len(),
            ..Summary::default()
        };
        for sc in scenarios {
            match sc.status {
                Status::Passed => s.passed += 1,
                Status::Skipped => {
                    s.skipped += 1;
                    s.failed += 1;
                }
                Status::Failed => s.failed += 1,
                Status::NotApplicable => s.not_applicable += 1,
            }
            s.checks_failed += sc.failed_checks().count();
            s.internal_errors += sc
                .failed_checks()
                .filter(|(_, c)| c.check == crate::check::INTERNAL_ERROR)
                .count();
            s.transport_errors += sc
                .steps
                .iter()
                .filter(|st| st.transport_error.is_some())
                .count();
        }
        s
    }

    /// The judge stage: groups the failures into findings and counts them.
    pub fn judge(&mut self, cx: &crate::findings::JudgeContext) -> crate::Result<()> {
        // The summary is the runner's (a soak run sums it over iterations).
        self.findings = crate::findings::judge_each(self.kept_scenarios(), cx)?;
        self.summary.findings = self.findings.len();
        self.summary.not_evaluated = crate::findings::not_evaluated(&self.findings);
        self.summary.checks_failed = self
            .summary
            .checks_failed
            .saturating_sub(self.summary.not_evaluated);
        Ok(())
    }

    /// 0 all passed, 1 a check failed, 3 the target was unreachable, 4 an
    /// internal error (a bug), 130 interrupted.
    pub fn exit_code(&self) -> i32 {
        use crate::error::exit;
        if self.interrupted {
            exit::INTERRUPTED
        } else if self.summary.internal_errors > 0 {
            exit::INTERNAL_ERROR
        } else if self.summary.transport_errors > 0 {
            exit::TARGET_UNREACHABLE
        } else if self.summary.failed > 0 {
            exit::CHECK_FAILED
        } else {
            exit::PASSED
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(status: Status) -> StepOutcome {
        let check = CheckOutcome::pass("status", Some("/x"), "200")
            .with_values(serde_json::json!(200), None);
        StepOutcome {
            request: Some(RequestSummary {
                method: "GET".into(),
                url: "http://h/x".into(),
                headers: vec![
                    ("authorization".into(), "Bearer ***".into()),
                    ("x-other".into(), "v".into()),
                ],
                body: Some(serde_json::json!({"a": 1})),
            }),
            response: Some(ResponseSummary {
                status: 200,
                location: Some("http://h/y".into()),
                body_excerpt: "{\"ok\":true}".into(),
            }),
            checks: vec![CheckOutcome {
                invariant: Some("inv".into()),
                ..check
            }],
            ..StepOutcome::new(0, "s", status)
        }
    }

    #[test]
    fn a_passed_step_keeps_what_the_reports_show_and_a_failed_one_all() {
        let mut passed = step(Status::Passed);
        passed.keep_only_shown();
        let q = passed.request.as_ref().unwrap();
        assert_eq!((q.method.as_str(), q.url.as_str()), ("GET", "http://h/x"));
        assert_eq!(
            q.headers,
            vec![("authorization".into(), "Bearer ***".into())]
        );
        assert!(q.body.is_none());
        let r = passed.response.as_ref().unwrap();
        assert_eq!((r.status, r.location.as_deref()), (200, Some("http://h/y")));
        assert!(r.body_excerpt.is_empty());
        let c = &passed.checks[0];
        assert_eq!(
            (c.check.as_str(), c.pointer.as_deref(), c.passed),
            ("status", Some("/x"), true)
        );
        assert_eq!(c.invariant.as_deref(), Some("inv"));
        assert!(c.expected.is_empty() && c.actual.is_empty() && c.values.is_none());

        let mut failed = step(Status::Failed);
        failed.keep_only_shown();
        let whole = step(Status::Failed);
        assert_eq!(failed.checks, whole.checks);
        assert_eq!(failed.response.unwrap().body_excerpt, "{\"ok\":true}");
        assert_eq!(failed.request.unwrap().headers.len(), 2);
    }
}
