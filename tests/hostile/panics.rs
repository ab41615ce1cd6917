//! Finding 6: huge seconds values panicked converting to a `Duration`
//! (exit 101). They are now refused by range: exit 2, naming the limit.

use std::time::Duration;

use crate::util::{cmd, run_within};

fn refused(args: &[&str]) {
    let ran = run_within(cmd(args), Duration::from_secs(30));
    assert_eq!(
        ran.code(),
        Some(2),
        "{args:?}: {}{}",
        ran.stdout,
        ran.stderr
    );
    assert!(ran.stderr.contains("at most"), "{args:?}: {}", ran.stderr);
}

#[test]
fn finding_6_step_timeout_1e20_is_a_usage_error() {
    refused(&["run", "--list", "--step-timeout", "1e20"]);
    refused(&["run", "--list", "--step-timeout", "NaN"]);
    refused(&["run", "--list", "--step-timeout", "0"]);
}

#[test]
fn finding_6_repeat_max_secs_1e300_is_a_usage_error() {
    refused(&[
        "run",
        "--list",
        "--repeat",
        "1",
        "--repeat-max-secs",
        "1e300",
    ]);
}

#[test]
fn finding_6_client_step_timeout_1e300_is_a_usage_error() {
    refused(&["client", "--step-timeout", "1e300", "--", "true"]);
}
