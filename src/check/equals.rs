use serde_json::Value;

use super::{Context, show};
use crate::outcome::CheckOutcome;

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
