use super::Context;
use crate::outcome::CheckOutcome;

/// The meaning of each documented exit code, for failure messages.
fn meaning(code: i32) -> &'static str {
    match code {
        0 => "success",
        1 => "generic failure",
        2 => "invalid arguments",
        3 => "auth required or invalid token",
        4 => "capability denied",
        5 => "quota exceeded",
        6 => "content policy denied",
        7 => "provider failure",
        8 => "timeout",
        9 => "filesystem or artifact storage failure",
        _ => "not in the documented table",
    }
}

/// The `exit_code` check.
pub struct ExitCode;

impl super::Check for ExitCode {
    fn key(&self) -> &'static str {
        "exit_code"
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        // Always on for a client: the documented exit code, default 0.
        if !step.cli {
            return Vec::new();
        }
        vec![check(step.expect.exit_code.unwrap_or(0), cx)]
    }
}

pub fn check(expected: i32, cx: &Context<'_>) -> CheckOutcome {
    let expected_text = format!("{expected} ({})", meaning(expected));
    match cx.response.exit_code {
        Some(code) if code == expected => CheckOutcome::pass("exit_code", None, expected_text),
        Some(code) => CheckOutcome::fail(
            "exit_code",
            None,
            expected_text,
            format!("{code} ({})", meaning(code)),
        ),
        None => CheckOutcome::fail(
            "exit_code",
            None,
            expected_text,
            "no exit code: ended by a signal",
        ),
    }
}
