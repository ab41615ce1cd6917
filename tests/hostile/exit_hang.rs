//! Finding 1: with the embedded mock, a ~1,000-scenario run printed its
//! summary and then spun forever in wiremock's `MockServer::drop`.

use std::time::Duration;

use crate::util::{BusyLoop, cmd, healthz_suite, run_within, temp, write};

/// Runs the 1,000-scenario suite `runs` times under a 2-core busy loop;
/// every run must exit 0 within its bound.
fn runs_exit(runs: usize) {
    let dir = temp(&format!("exit-hang-{runs}"));
    let suite = dir.join("thousand.json");
    write(&suite, &healthz_suite(1000));
    let _load = BusyLoop::start(2);
    for i in 0..runs {
        let ran = run_within(
            cmd(&["run", "--quiet", "--suite", suite.to_str().expect("utf-8")]),
            Duration::from_secs(60),
        );
        assert_eq!(ran.code(), Some(0), "run {i}: {}{}", ran.stdout, ran.stderr);
    }
}

#[test]
fn finding_1_thousand_scenarios_exit_under_load() {
    runs_exit(5);
}

/// The full figure of the issue: 30 of 30 runs (about 2 minutes in a debug
/// build on 2 busy cores). `cargo test --test hostile -- --ignored`.
#[test]
#[ignore = "slow: 30 runs of 1,000 scenarios"]
fn finding_1_thirty_of_thirty_runs_exit_under_load() {
    runs_exit(30);
}
