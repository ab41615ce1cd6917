use std::sync::Arc;

use serde_json::{Value, json};

use super::{Config, Context};
use crate::error::Result;
use crate::outcome::CheckOutcome;
use crate::suite::{Expect, Location};

pub const KEY: &str = "exit_code";

/// The exit code a cli step expects, if it names one (the check's default is 0).
pub fn expected(expect: &Expect) -> Option<i32> {
    expect.config::<i32>(KEY).copied()
}

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
        KEY
    }

    fn schema(&self) -> Option<Value> {
        Some(json!({
            "description": "For cli steps: the client's exit code (the documented table 0–9). Default 0.",
            "type": "integer",
            "minimum": 0,
            "maximum": 255
        }))
    }

    fn parse(&self, value: &Value, at: &Location<'_>) -> Result<Config> {
        let code: i32 = at.typed(value)?;
        at.only_on(true)?;
        Ok(Arc::new(code))
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        // Always on for a client: the documented exit code, default 0.
        if !step.cli {
            return Vec::new();
        }
        vec![check(expected(step.expect).unwrap_or(0), cx)]
    }
}

pub fn check(expected: i32, cx: &Context<'_>) -> CheckOutcome {
    let expected_text = format!("{expected} ({})", meaning(expected));
    match cx.response.exit_code {
        Some(code) if code == expected => {
            CheckOutcome::pass("exit_code", None, expected_text).with_values(expected.into(), None)
        }
        Some(code) => CheckOutcome::fail(
            "exit_code",
            None,
            expected_text,
            format!("{code} ({})", meaning(code)),
        )
        .with_values(expected.into(), Some(code.into())),
        None => CheckOutcome::fail(
            "exit_code",
            None,
            expected_text,
            "no exit code: ended by a signal",
        )
        .with_values(expected.into(), None),
    }
}
