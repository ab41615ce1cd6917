use super::{Context, show};
use crate::outcome::CheckOutcome;

/// The `error_code` check.
pub struct ErrorCode;

impl super::Check for ErrorCode {
    fn key(&self) -> &'static str {
        "error_code"
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        step.expect
            .error_code
            .iter()
            .map(|code| check(code, cx))
            .collect()
    }
}

pub fn check(expected: &str, cx: &Context<'_>) -> CheckOutcome {
    const AT: &str = "/error/code";
    match cx.response.at(AT) {
        Some(serde_json::Value::String(code)) if code == expected => {
            CheckOutcome::pass("error_code", Some(AT), expected)
        }
        Some(other) => CheckOutcome::fail("error_code", Some(AT), expected, show(other)),
        None => CheckOutcome::fail(
            "error_code",
            Some(AT),
            expected,
            "no error code in the body",
        ),
    }
}
