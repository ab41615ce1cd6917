use super::Context;
use crate::outcome::CheckOutcome;

/// The `stdout` check.
pub struct Stdout;

impl super::Check for Stdout {
    fn key(&self) -> &'static str {
        "stdout"
    }

    fn is_suite_key(&self) -> bool {
        false
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        // Always on for a client: one JSON document on stdout.
        if step.cli {
            vec![check(cx)]
        } else {
            Vec::new()
        }
    }
}

/// A client's `--json` stdout is exactly one JSON document.
pub fn check(cx: &Context<'_>) -> CheckOutcome {
    let expected = "exactly one JSON document on stdout";
    match &cx.response.json {
        Ok(_) => CheckOutcome::pass("stdout_json", None, expected),
        Err(why) => CheckOutcome::fail("stdout_json", None, expected, cx.response.excerpt(200))
            .with_note(why.clone()),
    }
}
