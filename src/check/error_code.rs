use super::{Context, show};
use crate::outcome::CheckOutcome;

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
