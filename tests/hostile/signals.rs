//! Finding 4: SIGTERM and SIGHUP stop a run like Ctrl-C: the client under
//! test is killed, reports are written marked interrupted, exit 130.

use std::time::{Duration, Instant};

use crate::util::{cmd, temp, wait_within};

fn stops_like_ctrl_c(signal: i32, name: &str) {
    let dir = temp(&format!("signal-{name}"));
    let pidfile = dir.join("client.pid");
    let report = dir.join("report.json");
    let script = format!("echo $$ > {}; sleep 60", pidfile.display());
    let mut c = cmd(&["client", "--jobs", "1", "--step-timeout", "120"]);
    c.arg("--report")
        .arg(format!("json={}", report.display()))
        .args(["--", "sh", "-c", &script, "sh"]);
    let child = c.spawn().expect("conform starts");
    let started = Instant::now();
    while !pidfile.exists() {
        assert!(started.elapsed() < Duration::from_secs(30), "no client");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    let client: i32 = std::fs::read_to_string(&pidfile)
        .expect("pid")
        .trim()
        .parse()
        .expect("pid");
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).expect("pid")).expect("pid");
    let sig = match signal {
        15 => rustix::process::Signal::TERM,
        _ => rustix::process::Signal::HUP,
    };
    rustix::process::kill_process(pid, sig).expect("signal conform");
    let ran = wait_within(child, Duration::from_secs(30));
    assert_eq!(
        ran.code(),
        Some(130),
        "{name}: {}{}",
        ran.stdout,
        ran.stderr
    );
    std::thread::sleep(Duration::from_millis(200));
    let alive = rustix::process::Pid::from_raw(client)
        .is_some_and(|p| rustix::process::test_kill_process(p).is_ok());
    assert!(!alive, "{name}: the client survived");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    assert_eq!(json["interrupted"], true, "{name}");
}

#[test]
fn finding_4_sigterm_stops_like_ctrl_c() {
    stops_like_ctrl_c(15, "TERM");
}

#[test]
fn finding_4_sighup_stops_like_ctrl_c() {
    stops_like_ctrl_c(1, "HUP");
}

/// Finding 4, second half: while the first signal's path is stuck — here
/// the JSON report goes to a FIFO nobody reads, so writing it blocks — a
/// second SIGTERM exits at once with 130.
#[test]
fn finding_4_a_second_signal_exits_at_once() {
    let dir = temp("signal-second");
    let pidfile = dir.join("client.pid");
    let fifo = dir.join("report.fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo")
            .success()
    );
    let script = format!("echo $$ > {}; sleep 60", pidfile.display());
    let mut c = cmd(&["client", "--jobs", "1", "--step-timeout", "120"]);
    c.arg("--report")
        .arg(format!("json={}", fifo.display()))
        .args(["--", "sh", "-c", &script, "sh"]);
    let mut child = c.spawn().expect("conform starts");
    let started = Instant::now();
    while !pidfile.exists() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("no client");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).expect("pid")).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("first SIGTERM");
    // The first stop kills the client and then blocks opening the FIFO.
    std::thread::sleep(Duration::from_millis(1500));
    let still_running = child.try_wait().expect("wait").is_none();
    if !still_running {
        let ran = wait_within(child, Duration::from_secs(1));
        panic!(
            "the first signal's path did not block on the FIFO, so this proves nothing: {}{}",
            ran.stdout, ran.stderr
        );
    }
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("second SIGTERM");
    let ran = wait_within(child, Duration::from_secs(10));
    assert_eq!(ran.code(), Some(130), "{}{}", ran.stdout, ran.stderr);
    assert!(ran.stderr.contains("second stop signal"), "{}", ran.stderr);
}
