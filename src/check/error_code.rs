use std::sync::Arc;

use serde_json::{Value, json};

use super::{Config, Context, show};
use crate::contract::{ERROR_ENVELOPE, roles};
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

/// Reads the code where the contract's error envelope puts it (the
/// `error_code` role); a contract that gives no field that role cannot
/// say, and the step fails saying so.
pub fn check(expected: &str, cx: &Context<'_>) -> CheckOutcome {
    let Some(at) = cx
        .contract
        .envelope_field(ERROR_ENVELOPE, roles::ERROR_CODE)
    else {
        return CheckOutcome::fail(
            KEY,
            None,
            expected,
            format!(
                "contract {} gives no field of `{ERROR_ENVELOPE}` the `{}` role",
                cx.contract.version(),
                roles::ERROR_CODE
            ),
        );
    };
    let field = roles::dotted(at);
    match cx.response.at(at) {
        Some(serde_json::Value::String(code)) if code == expected => {
            CheckOutcome::pass(KEY, Some(at), expected)
        }
        Some(other) => CheckOutcome::fail(KEY, Some(at), expected, show(other)),
        None => CheckOutcome::fail(KEY, Some(at), expected, format!("no {field} in the body")),
    }
}
