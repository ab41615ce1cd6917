use serde_json::Value;

use super::{Context, show};
use crate::outcome::CheckOutcome;

/// The `equals` check.
pub struct Equals;

impl super::Check for Equals {
    fn key(&self) -> &'static str {
        "equals"
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        step.expect
            .equals
            .iter()
            .map(|(pointer, value)| check(pointer, value, cx))
            .collect()
    }
}

pub fn check(pointer: &str, expected: &Value, cx: &Context<'_>) -> CheckOutcome {
    let expected = cx.vars.value(expected);
    match cx.response.at(pointer) {
        Some(actual) if *actual == expected => {
            CheckOutcome::pass("equals", Some(pointer), show(&expected))
        }
        Some(actual) => CheckOutcome::fail("equals", Some(pointer), show(&expected), show(actual)),
        None => CheckOutcome::fail(
            "equals",
            Some(pointer),
            show(&expected),
            "nothing at this pointer",
        ),
    }
}
