//! Big suites and results while a run goes on. Speed is measured in
//! `benches/compare.rs` (CONFORM_BENCH=scale); these only prove the paths work.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use serde_json::json;

/// No conform run of this file may take longer; it is killed past this.
const RUN_BOUND: Duration = Duration::from_secs(300);

fn write_suite(dir: &Path, name: &str, scenarios: Vec<serde_json::Value>) -> String {
    let path = dir.join(format!("{name}.json"));
    let suite = json!({ "suite": name, "scenarios": scenarios });
    std::fs::write(&path, suite.to_string()).expect("suite written");
    path.display().to_string()
}

/// Waits for `child` at most `bound`, killing it if it runs past.
fn wait_bounded(child: &mut Child, bound: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + bound;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[test]
fn five_thousand_scenarios_with_one_job_and_every_report_finish() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenarios = (0..5_000)
        .map(|i| {
            json!({
                "name": format!("health {i:04}"),
                "steps": [{
                    "name": "health",
                    "request": { "method": "GET", "path": "/healthz", "auth": "none" },
                    "expect": { "status": 200, "schema": "healthz" }
                }]
            })
        })
        .collect();
    let suite = write_suite(dir.path(), "many", scenarios);
    let out = |name: &str| dir.path().join(name).display().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_conform"))
        .args([
            "run", "--quiet", "--jobs", "1", "--format", "github", "--suite", &suite,
        ])
        .args(["--report", &format!("json={}", out("r.json"))])
        .args([
            "--report",
            &format!("json-compact={}", out("r.compact.json")),
        ])
        .args(["--report", &format!("junit={}", out("r.xml"))])
        .args(["--report", &format!("html={}", out("r.html"))])
        .args(["--report", &format!("markdown={}", out("r.md"))])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("conform starts");
    let status = wait_bounded(&mut child, RUN_BOUND);
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "a 5,000-scenario run with --jobs 1 did not pass within {RUN_BOUND:?}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out("r.json")).expect("json report"))
            .expect("json report parses");
    assert_eq!(
        report["summary"]["passed"], 5_000,
        "every scenario in the report"
    );
    for other in ["r.compact.json", "r.xml", "r.html", "r.md"] {
        let len = std::fs::metadata(out(other)).map_or(0, |m| m.len());
        assert!(len > 0, "report {other} was not written");
    }
}

/// What a run of a suite of one-step `/healthz` scenarios left: its JSON
/// report parsed, its JUnit report and its console output.
struct FailingRun {
    report: serde_json::Value,
    junit: String,
    console: String,
}

/// `n` scenarios named `health 0000`… whose one step expects `status(i)`
/// from the mock's `/healthz` (200), run with JSON and JUnit reports; the
/// run must fail (exit 1).
fn run_failing(name: &str, n: usize, status: impl Fn(usize) -> u64) -> FailingRun {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenarios = (0..n)
        .map(|i| {
            json!({
                "name": format!("health {i:04}"),
                "steps": [{
                    "name": "health",
                    "request": { "method": "GET", "path": "/healthz", "auth": "none" },
                    "expect": { "status": status(i) }
                }]
            })
        })
        .collect();
    let suite = write_suite(dir.path(), name, scenarios);
    let out = |file: &str| dir.path().join(file).display().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_conform"))
        .args(["run", "--suite", &suite])
        .args(["--report", &format!("json={}", out("r.json"))])
        .args(["--report", &format!("junit={}", out("r.xml"))])
        .stdout(std::fs::File::create(out("console.txt")).expect("console file"))
        .stderr(Stdio::null())
        .spawn()
        .expect("conform starts");
    let status = wait_bounded(&mut child, RUN_BOUND);
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(1),
        "checks failed: exit 1"
    );
    FailingRun {
        report: serde_json::from_slice(&std::fs::read(out("r.json")).expect("json report"))
            .expect("json report parses"),
        junit: std::fs::read_to_string(out("r.xml")).expect("junit report"),
        console: std::fs::read_to_string(out("console.txt")).expect("console output"),
    }
}

#[test]
fn many_identical_failures_are_one_finding_yet_every_failure_is_reported() {
    let n: u64 = 2_000;
    // The mock answers /healthz with 200: every scenario fails the same way.
    let FailingRun {
        report,
        junit,
        console,
    } = run_failing("failing", n as usize, |_| 418);
    assert_eq!(report["summary"]["failed"], n, "every failure counted");
    // The status check, and the always-on checks the answer breaks with it.
    let findings = report["findings"].as_array().expect("findings");
    let checks_failed = report["summary"]["checks_failed"].as_u64().unwrap_or(0);
    assert_eq!(
        checks_failed,
        findings.len() as u64 * n,
        "each finding is one check failing in every scenario: {findings:?}"
    );
    assert!(findings.len() <= 5, "a few causes, not {}", findings.len());
    for f in findings {
        assert_eq!(f["locations"].as_array().map(Vec::len), Some(10), "{f}");
        assert_eq!(f["locations_not_kept"], n - 10, "{f}");
        assert!(
            f["title"]
                .as_str()
                .is_some_and(|t| t.ends_with("· 2000 scenarios")),
            "{f}"
        );
    }
    assert_eq!(
        report["scenarios"].as_array().map(Vec::len),
        Some(n as usize),
        "the JSON report still lists every scenario"
    );
    assert_eq!(
        junit.matches("<failure").count() as u64,
        n,
        "one JUnit failure each"
    );
    // The 2,000th scenario's JUnit headline is still the finding's title.
    let last = junit
        .split("<testcase")
        .find(|c| c.contains("health 1999"))
        .expect("the last scenario is in the JUnit report");
    assert!(last.contains("· 2000 scenarios"), "{last}");
    assert_eq!(
        console.matches("\n--- failing/").count(),
        50,
        "the console spells out the first 50 failures"
    );
    assert!(
        console.contains("… and 1950 more failed scenarios"),
        "{console}"
    );
}

#[test]
fn thousands_of_distinct_failures_are_all_reported_with_bounded_findings() {
    let n: usize = 3_000;
    // 150 distinct wrong statuses: more distinct failures than findings list.
    let FailingRun {
        report,
        junit,
        console,
    } = run_failing("distinct", n, |i| 400 + (i % 150) as u64);
    assert_eq!(report["summary"]["failed"], n, "every failure counted");
    let listed = report["scenarios"].as_array().expect("scenarios");
    assert_eq!(listed.len(), n, "the JSON report lists every scenario");
    for (i, sc) in listed.iter().enumerate() {
        assert_eq!(sc["scenario"], format!("health {i:04}"), "plan order");
        assert_eq!(sc["status"], "failed", "{sc}");
        let status = sc["steps"][0]["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["check"] == "status"))
            .expect("the status check is in the report");
        assert_eq!(status["passed"], false, "{status}");
        assert_eq!(status["expected"], 400 + i % 150, "{status}");
    }
    // Bounded: 100 distinct check failures, one counting the rest, and the
    // few always-on checks a 200 answer to a 4xx expectation breaks.
    let findings = report["findings"].as_array().expect("findings");
    let cap = conform::findings::CHECK_FAILED_FINDINGS;
    assert!(
        findings.len() > cap && findings.len() <= cap + 5,
        "{} findings",
        findings.len()
    );
    assert!(
        findings.iter().any(|f| f["title"]
            .as_str()
            .is_some_and(|t| t.starts_with(&format!("more failed checks than {cap}")))),
        "the failures past the cap are counted by one finding"
    );
    for f in findings {
        let kept = f["locations"].as_array().map_or(0, Vec::len);
        assert!(kept <= conform::findings::KEPT, "{f}");
    }
    assert_eq!(
        junit.matches("<failure").count(),
        n,
        "one JUnit failure each"
    );
    assert_eq!(junit.matches("<testcase").count(), n, "one JUnit case each");
    for i in [0, n / 2, n - 1] {
        assert!(
            junit.contains(&format!("<testcase name=\"health {i:04}\"")),
            "scenario {i} is in the JUnit report"
        );
    }
    assert!(
        junit.trim_end().ends_with("</testsuites>"),
        "the JUnit report is complete"
    );
    assert_eq!(
        console.matches("\n--- distinct/").count(),
        50,
        "the console spells out the first 50 failures"
    );
    assert!(
        console.contains(&format!("… and {} more failed scenarios", n - 50)),
        "{console}"
    );
}

#[test]
fn piped_output_shows_each_scenario_when_it_finishes() {
    // A server that accepts and never answers: the second scenario hangs
    // until its step timeout, long after the first has passed.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_url = format!("http://{}/never", silent.local_addr().expect("addr"));
    let dir = tempfile::tempdir().expect("temp dir");
    let suite = write_suite(
        dir.path(),
        "stream",
        vec![
            json!({
                "name": "quick",
                "steps": [{
                    "name": "health",
                    "request": { "method": "GET", "path": "/healthz", "auth": "none" },
                    "expect": { "status": 200 }
                }]
            }),
            json!({
                "name": "hangs",
                "steps": [{
                    "name": "never answered",
                    "request": { "method": "GET", "url": silent_url, "auth": "none" },
                    "expect": { "status": 200 }
                }]
            }),
        ],
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_conform"))
        .args([
            "run",
            "--jobs",
            "1",
            "--step-timeout",
            "60",
            "--suite",
            &suite,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("conform starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !seen.iter().any(|l: &String| l.contains("stream/quick")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    let still_running = matches!(child.try_wait(), Ok(None));
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen.first().is_some_and(|l| l.starts_with("conform ")),
        "the header was not printed at the start; got {seen:?}"
    );
    assert!(
        seen.iter()
            .any(|l| l.starts_with("PASS") && l.contains("stream/quick")),
        "the finished scenario's line was not printed while the run went on; got {seen:?}"
    );
    assert!(
        still_running,
        "the run ended before its hanging step timed out"
    );
}

/// Keeps every finished outcome by id.
#[derive(Default)]
struct Seen(std::sync::Mutex<std::collections::HashMap<String, conform::outcome::ScenarioOutcome>>);

impl conform::exec::Observer for Seen {
    fn scenario_finished(&self, outcome: &conform::outcome::ScenarioOutcome) {
        if let Ok(mut seen) = self.0.lock() {
            seen.insert(outcome.id(), outcome.clone());
        }
    }
}

/// What a reporter writes from a spooled run must be what it writes from
/// the same outcomes held in memory: every report kind, the findings and
/// the invariants line, on runs that pass, fail and fail at transport.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spooled_run_reports_what_a_held_run_reports() {
    use conform::app::{self, Options, TargetSpec};
    use conform::exec::Interrupt;
    use conform::mock::Profile;
    use conform::report::{self, ReportKind};

    // 0.1.70: some built-in scenarios are not applicable there.
    for (profile, contract) in [
        (Profile::Conformant, None),
        (Profile::Regressed018, None),
        (Profile::Faults5xx, None),
        (Profile::Conformant, Some("0.1.70")),
    ] {
        let mut opts = Options::new(TargetSpec::Mock(profile));
        if let Some(version) = contract {
            opts.contract = version.to_string();
        }
        opts.spool = true;
        // Each outcome as the runner had it, before it went to the spool.
        let seen = Arc::new(Seen::default());
        opts.observer = Some(seen.clone());
        let prepared = app::prepare(opts).expect("prepared");
        let session = prepared.start().await.expect("mock starts");
        let mut spooled = prepared
            .execute(&session, &prepared.plan, Interrupt::default())
            .await
            .expect("run");
        let redactor = session.redactor();
        session.shutdown().await;
        assert!(
            spooled.spooled.is_some(),
            "{profile:?}: the run did not spool"
        );
        // The same outcomes, all in memory, never spooled, in plan order.
        let mut held = spooled.clone();
        let mut by_id = std::mem::take(&mut *seen.0.lock().expect("lock"));
        held.scenarios = prepared
            .plan
            .cases
            .iter()
            .map(|case| by_id.remove(&case.id).expect("every case finished"))
            .collect();
        held.spooled = None;
        assert_eq!(spooled.scenario_count(), held.scenarios.len());
        // Failed ones too: memory must not grow with failures.
        assert!(
            spooled.scenarios.is_empty(),
            "{profile:?}: a spooled run held {} outcomes in memory",
            spooled.scenarios.len()
        );
        assert_eq!(
            held.summary,
            conform::outcome::RunReport::summarize(&held.scenarios),
            "{profile:?}: summed summary"
        );
        let cx = conform::findings::JudgeContext {
            token_source: None,
            target: spooled.target.clone(),
            ..Default::default()
        };
        spooled.judge(&cx).expect("spool reads back");
        held.judge(&cx).expect("held outcomes judge");
        assert_eq!(
            serde_json::to_value(&spooled.findings).expect("findings"),
            serde_json::to_value(&held.findings).expect("findings"),
            "{profile:?}: findings"
        );
        assert_eq!(spooled.summary, held.summary, "{profile:?}: judged summary");
        assert_eq!(
            conform::check::invariants::verdict(&spooled).expect("spool reads back"),
            conform::check::invariants::verdict(&held).expect("held"),
            "{profile:?}: invariants line"
        );
        for kind in [
            ReportKind::Console,
            ReportKind::Json,
            ReportKind::JsonCompact,
            ReportKind::Junit,
            ReportKind::Html,
            ReportKind::Markdown,
            ReportKind::Github,
        ] {
            let r = report::reporter(kind, &redactor);
            let (mut a, mut b) = (Vec::new(), Vec::new());
            r.write_to(&spooled, &mut a).expect("spooled renders");
            r.write_to(&held, &mut b).expect("held renders");
            assert!(
                a == b,
                "{profile:?} {kind:?}: spooled and held reports differ"
            );
        }
        let streamed = report::ConsoleReporter::new(redactor.clone(), false).streamed(true);
        assert_eq!(
            conform::report::Reporter::render(&streamed, &spooled).expect("renders"),
            conform::report::Reporter::render(&streamed, &held).expect("renders"),
            "{profile:?}: streamed console"
        );
    }
}
