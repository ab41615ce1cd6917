use std::sync::Arc;

use serde_json::{Value, json};

use super::{Config, Context, show};
use crate::error::Result;
use crate::outcome::CheckOutcome;
use crate::suite::{Expect, Location};

pub const KEY: &str = "error_code";

/// The error code a step expects, if it names one.
pub fn expected(expect: &Expect) -> Option<&String> {
    expect.config::<String>(KEY)
}

/// The `error_code` check.
pub struct ErrorCode;

impl super::Check for ErrorCode {
    fn key(&self) -> &'static str {
        KEY
    }

    fn schema(&self) -> Option<Value> {
        Some(json!({"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$"}))
    }

    fn parse(&self, value: &Value, at: &Location<'_>) -> Result<Config> {
        Ok(Arc::new(at.typed::<String>(value)?))
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        expected(step.expect)
            .into_iter()
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
