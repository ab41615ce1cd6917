//! Ctrl-C during a run: no new step starts, the client under test is
//! killed, the reports of what ran are written marked interrupted, exit 130.

#![cfg(unix)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn sigint_kills_the_client_writes_reports_and_exits_130() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("interrupt");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pidfile = dir.join("client.pid");
    let report = dir.join("report.json");
    let junit = dir.join("junit.xml");
    let script = format!("echo $$ > {}; sleep 60", pidfile.display());
    let child = Command::new(env!("CARGO_BIN_EXE_conform"))
        .args(["client", "--jobs", "1", "--step-timeout", "120"])
        .arg("--report")
        .arg(format!("json={}", report.display()))
        .arg("--report")
        .arg(format!("junit={}", junit.display()))
        .args(["--", "sh", "-c", &script, "sh"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("conform starts");

    // Wait until the client under test is running.
    let started = Instant::now();
    while !pidfile.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the client never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    let client_pid: i32 = std::fs::read_to_string(&pidfile)
        .expect("pid")
        .trim()
        .parse()
        .expect("a pid");
    let conform_pid = i32::try_from(child.id()).expect("pid fits");
    // SAFETY: plain kill(2) on a child we started.
    unsafe {
        libc::kill(conform_pid, libc::SIGINT);
    }

    let output = child.wait_with_output().expect("conform ends");
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "interrupt must not wait for the client"
    );

    // The client (and its process group) is gone.
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: signal 0 only asks whether the process exists.
    let alive = unsafe { libc::kill(client_pid, 0) } == 0;
    assert!(!alive, "client process {client_pid} survived the interrupt");

    // The verdict claims nothing for a run cut before any check.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let verdict = stdout
        .lines()
        .find(|l| l.starts_with("contract "))
        .unwrap_or_else(|| panic!("no verdict line:\n{stdout}"));
    assert!(
        verdict.contains(": not checked (no check ran; ") && verdict.contains("did not finish)"),
        "{verdict}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("json report"))
            .expect("parses");
    assert_eq!(json["interrupted"], true);
    let steps: Vec<&serde_json::Value> = json["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["steps"].as_array().into_iter().flatten())
        .collect();
    assert!(
        steps.iter().all(|s| s["status"] == "skipped"),
        "after Ctrl-C nothing runs: {steps:?}"
    );
    assert!(junit.exists(), "the JUnit report is written too");
    // Nothing finished, so nothing failed: every scenario is not run,
    // in the JSON summary and as JUnit <skipped>, not as 5 failures.
    // (Scenarios not written for the contract are not applicable, not run.)
    let all = json["scenarios"].as_array().expect("scenarios");
    let scenarios: Vec<&serde_json::Value> = all
        .iter()
        .filter(|s| s["status"] != "not_applicable")
        .collect();
    assert!(
        scenarios.iter().all(|s| s["status"] == "skipped"),
        "{scenarios:?}"
    );
    assert_eq!(json["summary"]["skipped"], scenarios.len());
    let xml = std::fs::read_to_string(&junit).expect("junit");
    assert!(
        !xml.contains("<failure") && !xml.contains("<error"),
        "{xml}"
    );
    // Not applicable ones are JUnit <skipped> too, with their reason.
    assert_eq!(xml.matches("<skipped").count(), all.len(), "{xml}");
}
