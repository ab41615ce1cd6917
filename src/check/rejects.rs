//! Negative steps: a conformant server refuses them with a 4xx error
//! envelope carrying a code. A 2xx means it served what it must not; a 5xx
//! means it broke instead of refusing.

use super::Context;
use crate::outcome::CheckOutcome;
use crate::suite::Rejects;

pub fn check(kind: Rejects, cx: &Context<'_>) -> CheckOutcome {
    let (name, what) = match kind {
        Rejects::Auth => ("ignored_auth", "a 4xx refusal of the missing or bad token"),
        Rejects::Data => (
            "negative_data_rejection",
            "a 4xx refusal of the invalid request",
        ),
    };
    let status = cx.response.status;
    let code = cx.response.at("/error/code").and_then(|c| c.as_str());
    match (status, code) {
        (400..=499, Some(code)) => {
            CheckOutcome::pass(name, None, what).with_note(format!("{status} {code}"))
        }
        (400..=499, None) => CheckOutcome::fail(
            name,
            Some("/error/code"),
            "an error code with the refusal",
            format!("status {status} without error.code"),
        ),
        (200..=299, _) => CheckOutcome::fail(
            name,
            None,
            what,
            format!("status {status}: the server accepted it"),
        ),
        _ => CheckOutcome::fail(name, None, what, format!("status {status}")),
    }
}
