use super::Context;
use crate::outcome::CheckOutcome;

/// A client's `--json` stdout is exactly one JSON document.
pub fn check(cx: &Context<'_>) -> CheckOutcome {
    let expected = "exactly one JSON document on stdout";
    match &cx.response.json {
        Ok(_) => CheckOutcome::pass("stdout_json", None, expected),
        Err(why) => CheckOutcome::fail("stdout_json", None, expected, cx.response.excerpt(200))
            .with_note(why.clone()),
    }
}
