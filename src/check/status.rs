use super::Context;
use crate::outcome::CheckOutcome;

/// The `status` check.
pub struct Status;

impl super::Check for Status {
    fn key(&self) -> &'static str {
        "status"
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        step.expect
            .status
            .map(|code| check(code, cx))
            .into_iter()
            .collect()
    }
}

pub fn check(expected: u16, cx: &Context<'_>) -> CheckOutcome {
    let actual = cx.response.status;
    if actual == expected {
        CheckOutcome::pass("status", None, expected.to_string())
    } else {
        let mut out = CheckOutcome::fail("status", None, expected.to_string(), actual.to_string());
        if actual >= 400 {
            if let Some(code) = cx.response.at("/error/code").and_then(|c| c.as_str()) {
                out = out.with_note(format!("the server answered with error code {code}"));
            }
        }
        out
    }
}
