//! Finding 10: a client that daemonises (a grandchild calling `setsid`)
//! must not survive conform, and a grandchild that keeps stdout open after
//! the client exited 0 is reported as exactly that.

use std::time::{Duration, Instant};

use crate::util::{cmd, run_within, suite_of, temp, write};

fn one_step_suite(dir: &std::path::Path) -> String {
    let path = dir.join("suite.json");
    write(
        &path,
        &suite_of(serde_json::json!([{
            "name": "run", "cli": ["x"], "auth": "none", "expect": {"exit_code": 0}
        }])),
    );
    path.to_str().expect("utf-8").to_string()
}

#[test]
fn finding_10_a_daemonised_grandchild_does_not_survive() {
    let dir = temp("client-daemon");
    let suite = one_step_suite(&dir);
    let pidfile = dir.join("daemon.pid");
    let script = format!(
        "setsid sh -c 'echo $$ > {}; exec sleep 300' </dev/null >/dev/null 2>&1 & \
         sleep 0.5; echo '{{}}'",
        pidfile.display()
    );
    let ran = run_within(
        cmd(&["client", "--suite", &suite, "--", "sh", "-c", &script, "sh"]),
        Duration::from_secs(60),
    );
    assert!(ran.code().is_some(), "{}", ran.stderr);
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .expect("the daemon started")
        .trim()
        .parse()
        .expect("pid");
    let started = Instant::now();
    let alive = || {
        rustix::process::Pid::from_raw(pid)
            .is_some_and(|p| rustix::process::test_kill_process(p).is_ok())
    };
    while alive() && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(), "daemon {pid} survived conform");
}

#[test]
fn finding_10_a_grandchild_holding_stdout_is_named() {
    let dir = temp("client-holds-stdout");
    let suite = one_step_suite(&dir);
    let ran = run_within(
        cmd(&[
            "client",
            "--suite",
            &suite,
            "--step-timeout",
            "2",
            "--",
            "sh",
            "-c",
            "sleep 300 & echo '{}'; exit 0",
            "sh",
        ]),
        Duration::from_secs(60),
    );
    assert_eq!(ran.code(), Some(3), "{}{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout
            .contains("the client exited 0, but a process it started kept stdout open"),
        "{}",
        ran.stdout
    );
}
