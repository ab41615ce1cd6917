//! JUnit XML for CI dashboards: `<testsuites name="conform">`, one
//! `<testsuite>` per conform suite, one `<testcase>` per scenario.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::Result;
use crate::findings::FindingKind;
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
        let mut bytes = Vec::new();
        self.write_to(report, &mut bytes)?;
        Ok(bytes)
    }

    fn write_to(&self, report: &RunReport, out: &mut dyn std::io::Write) -> Result<()> {
        // Masked one scenario at a time, and each test case's XML goes to
        // a scratch store (a temp file for a spooled run) as it is made:
        // at 100,000 failing scenarios the cases with their failure bodies
        // are hundreds of MB, which neither the report tree nor its text
        // may hold. The rest (root, suites, properties) is small and is
        // serialized by quick-junit as a skeleton the cases are spliced
        // into, so the bytes are what quick-junit writes for the whole.
        let r = super::learned(report, &self.redactor)?;
        let head = super::redacted_head(report, &r);
        let mut store = CaseStore::new(report.spooled.is_some())?;
        // Suites in order of first appearance, so the XML follows the run;
        // each with its cases' places in the store.
        let mut suites: Vec<(TestSuite, u64, Vec<Place>)> = Vec::new();
        let mut one = Vec::new();
        for sc in report.all_scenarios() {
            let sc = sc?;
            let suite_name = r.text(&sc.suite);
            let i = match suites
                .iter()
                .position(|(s, ..)| s.name.as_str() == suite_name)
            {
                Some(i) => i,
                None => {
                    suites.push((TestSuite::new(&suite_name), 0, Vec::new()));
                    suites.len() - 1
                }
            };
            let case = test_case(&head, &super::redacted_scenario(&sc, &r));
            let (suite, total_us, places) = &mut suites[i];
            count(suite, &case);
            case_xml(case, &mut one)?;
            places.push(store.put(&one)?);
            *total_us += sc.duration_us;
        }
        let report = head;
        let mut junit = Report::new("conform");
        junit.set_time(Duration::from_micros(report.duration_us));
        let timestamp = chrono::DateTime::parse_from_rfc3339(&report.run.started_at).ok();
        let mut places = Vec::with_capacity(suites.len());
        for (mut suite, total_us, at) in suites {
            suite.set_time(Duration::from_micros(total_us));
            // Jenkins' junit-10.xsd has these on <testsuite> only.
            if let Some(t) = timestamp {
                suite.set_timestamp(t);
            }
            if !report.run.hostname.is_empty() {
                suite
                    .extra
                    .insert("hostname".into(), report.run.hostname.as_str().into());
            }
            for (name, value) in [
                ("conform.run_id", report.run.id.as_str()),
                ("conform.contract", report.contract_version.as_str()),
                ("conform.target", report.target.as_str()),
            ] {
                suite.add_property(quick_junit::Property::new(name, value));
            }
            junit.add_test_suite(suite);
            places.push(at);
        }
        let mut skeleton = Vec::new();
        junit
            .serialize(&mut skeleton)
            .map_err(|e| super::render_error("junit", e))?;
        let skeleton = without_testsuites_skipped(skeleton);
        // Every suite has properties, so each ends in its own end tag (the
        // only `</testsuite>` text: anything else in the XML is escaped);
        // its cases go right before it.
        let store = store.seal()?;
        let mut rest = skeleton.as_slice();
        for at in places {
            let Some(end) = find(rest, SUITE_END) else {
                return Err(super::render_error(
                    "junit",
                    "a suite's end tag is missing from the skeleton",
                ));
            };
            write(out, &rest[..end])?;
            for (offset, len) in at {
                store.copy(offset, len, &mut one)?;
                write(out, &one)?;
            }
            write(out, SUITE_END)?;
            rest = &rest[end + SUITE_END.len()..];
        }
        write(out, rest)
    }
}

/// Where one case's XML is in the [`CaseStore`]: offset and length.
type Place = (u64, usize);

fn write(out: &mut dyn std::io::Write, bytes: &[u8]) -> Result<()> {
    out.write_all(bytes)
        .map_err(|e| super::render_error("junit", e))
}

/// What a suite's end tag looks like in quick-junit's indented output.
const SUITE_END: &[u8] = b"\n    </testsuite>";

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// [`TestSuite::add_test_case`]'s counting, for a case that is not kept.
fn count(suite: &mut TestSuite, case: &TestCase) {
    suite.tests += 1;
    match &case.status {
        TestCaseStatus::Success { .. } => {}
        TestCaseStatus::NonSuccess { kind, .. } => match kind {
            NonSuccessKind::Failure => suite.failures += 1,
            NonSuccessKind::Error => suite.errors += 1,
        },
        TestCaseStatus::Skipped { .. } => suite.skipped += 1,
    }
}

/// One `<testcase>` element as quick-junit writes it inside a suite (the
/// same depth, so the same indentation), from the newline before it; into
/// `buf`.
fn case_xml(case: TestCase, buf: &mut Vec<u8>) -> Result<()> {
    let mut one = Report::new("c");
    let mut suite = TestSuite::new("s");
    suite.add_test_case(case);
    one.add_test_suite(suite);
    buf.clear();
    one.serialize(&mut *buf)
        .map_err(|e| super::render_error("junit", e))?;
    // The fixed suite name makes its start tag `<testsuite name="s" …>`:
    // no `>` in it before its end.
    let start = find(buf, b"<testsuite name=\"s\"").and_then(|at| {
        buf[at..]
            .iter()
            .position(|&b| b == b'>')
            .map(|e| at + e + 1)
    });
    let end = find(buf, SUITE_END);
    match (start, end) {
        (Some(start), Some(end)) if start <= end => {
            buf.truncate(end);
            buf.drain(..start);
            Ok(())
        }
        _ => Err(super::render_error(
            "junit",
            "a test case's XML has no suite around it",
        )),
    }
}

/// The cases' XML until the suites around them are written: in memory for
/// a run held in memory, in an anonymous temp file for a spooled one.
enum CaseStore {
    Mem(Vec<u8>),
    Writing(std::io::BufWriter<std::fs::File>, u64),
    Reading(std::fs::File),
}

impl CaseStore {
    fn new(on_disk: bool) -> Result<CaseStore> {
        if !on_disk {
            return Ok(CaseStore::Mem(Vec::new()));
        }
        let file = tempfile::tempfile().map_err(|e| super::render_error("junit", e))?;
        Ok(CaseStore::Writing(
            std::io::BufWriter::with_capacity(64 * 1024, file),
            0,
        ))
    }

    /// Keeps `bytes`; their place, for [`CaseStore::copy`].
    fn put(&mut self, bytes: &[u8]) -> Result<Place> {
        use std::io::Write as _;
        let at = match self {
            CaseStore::Mem(mem) => {
                let at = mem.len() as u64;
                mem.extend_from_slice(bytes);
                at
            }
            CaseStore::Writing(out, end) => {
                out.write_all(bytes)
                    .map_err(|e| super::render_error("junit", e))?;
                let at = *end;
                *end += bytes.len() as u64;
                at
            }
            CaseStore::Reading(_) => {
                return Err(super::render_error("junit", "a case came after the copy"));
            }
        };
        Ok((at, bytes.len()))
    }

    /// Done putting: a temp file's buffer is written out for reading.
    fn seal(self) -> Result<CaseStore> {
        match self {
            CaseStore::Writing(out, _) => out
                .into_inner()
                .map(CaseStore::Reading)
                .map_err(|e| super::render_error("junit", e.error())),
            other => Ok(other),
        }
    }

    /// The bytes kept at `offset`, into `buf`.
    fn copy(&self, offset: u64, len: usize, buf: &mut Vec<u8>) -> Result<()> {
        buf.clear();
        match self {
            CaseStore::Mem(mem) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX);
                let bytes = mem.get(start..start.saturating_add(len));
                buf.extend_from_slice(bytes.unwrap_or_default());
                Ok(())
            }
            CaseStore::Reading(file) => {
                buf.resize(len, 0);
                crate::exec::spool::read_at(file, buf, offset)
                    .map_err(|e| super::render_error("junit", e))
            }
            CaseStore::Writing(..) => Err(super::render_error("junit", "read before sealed")),
        }
    }
}

fn test_case(report: &RunReport, sc: &ScenarioOutcome) -> TestCase {
    let mut case = TestCase::new(&sc.scenario, status(report, sc));
    // No `assertions`: junit-10.xsd does not allow it on <testcase>.
    case.set_classname(&sc.suite)
        .set_time(Duration::from_micros(sc.duration_us));
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

fn status(report: &RunReport, sc: &ScenarioOutcome) -> TestCaseStatus {
    match sc.status {
        Status::Passed => TestCaseStatus::success(),
        Status::Skipped => {
            let mut status = TestCaseStatus::skipped();
            let why = sc
                .steps
                .first()
                .and_then(|st| st.skipped_because.as_deref());
            status.set_message(why.map_or("not run".to_string(), |w| format!("not run: {w}")));
            status
        }
        Status::NotApplicable => {
            let mut status = TestCaseStatus::skipped();
            let why = sc
                .reason
                .as_deref()
                .unwrap_or("not documented by this contract version");
            status.set_message(format!("not applicable: {why}"));
            status
        }
        Status::Failed => {
            // The most important finding of this scenario is its headline;
            // the checks are in the body.
            let findings: Vec<&crate::findings::Finding> = super::findings_of(report, sc).collect();
            if let Some(&f) = findings.first() {
                let kind =
                    if f.kind == FindingKind::Transport && sc.failed_checks().next().is_none() {
                        NonSuccessKind::Error
                    } else {
                        NonSuccessKind::Failure
                    };
                let ty = serde_json::to_value(f.cause)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_else(|| "finding".to_string());
                let mut status = TestCaseStatus::non_success(kind);
                status
                    .set_message(junit_message(&findings))
                    .set_type(ty)
                    .set_description(failure_body(sc));
                return status;
            }
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

/// Findings shown in a failure message before "+N more".
const MESSAGE_FINDINGS: usize = 3;

/// The scenario's findings, most important first: what a dashboard shows
/// in its one line.
fn junit_message(findings: &[&crate::findings::Finding]) -> String {
    let mut message = findings
        .iter()
        .take(MESSAGE_FINDINGS)
        .map(|f| f.title.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    if findings.len() > MESSAGE_FINDINGS {
        message.push_str(&format!("; +{} more", findings.len() - MESSAGE_FINDINGS));
    }
    message
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

/// quick-junit always writes `skipped` on `<testsuites>`, which Jenkins'
/// junit-10.xsd rejects; the per-suite `skipped` counts stay. Only the
/// root element's start tag is touched.
fn without_testsuites_skipped(mut bytes: Vec<u8>) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return bytes;
    };
    let Some(start) = text.find("<testsuites") else {
        return bytes;
    };
    let end = text[start..].find('>').map_or(text.len(), |e| start + e);
    let tag = &text[start..end];
    let Some(attr) = tag.find(" skipped=\"") else {
        return bytes;
    };
    let value_end = tag[attr + 10..]
        .find('"')
        .map_or(tag.len(), |e| attr + 10 + e + 1);
    // Cut in place: the report is not copied.
    bytes.drain(start + attr..start + value_end);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_skipped_goes_suite_skipped_stays() {
        let xml = r#"<testsuites name="conform" tests="1" skipped="2" failures="0"><testsuite name="a" skipped="2"/></testsuites>"#;
        let out = String::from_utf8(without_testsuites_skipped(xml.as_bytes().to_vec())).unwrap();
        assert_eq!(
            out,
            r#"<testsuites name="conform" tests="1" failures="0"><testsuite name="a" skipped="2"/></testsuites>"#
        );
    }
}
