use std::sync::Arc;

use serde_json::{Value, json};

use super::{Config, Context};
use crate::error::Result;
use crate::outcome::CheckOutcome;
use crate::suite::{Expect, Location};

pub const KEY: &str = "status";

/// The status a step expects, if it names one.
pub fn expected(expect: &Expect) -> Option<u16> {
    expect.config::<u16>(KEY).copied()
}

/// The `status` check.
pub struct Status;

impl super::Check for Status {
    fn key(&self) -> &'static str {
        KEY
    }

    fn schema(&self) -> Option<Value> {
        Some(json!({"type": "integer", "minimum": 100, "maximum": 599}))
    }

    fn parse(&self, value: &Value, at: &Location<'_>) -> Result<Config> {
        let status: u16 = at.typed(value)?;
        at.only_on(false)?;
        Ok(Arc::new(status))
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        expected(step.expect)
            .map(|code| check(code, cx))
            .into_iter()
            .collect()
    }
}

pub fn check(expected: u16, cx: &Context<'_>) -> CheckOutcome {
    let actual = cx.response.status;
    if actual == expected {
        CheckOutcome::pass("status", None, expected.to_string()).with_values(expected.into(), None)
    } else {
        let mut out = CheckOutcome::fail("status", None, expected.to_string(), actual.to_string())
            .with_values(expected.into(), Some(actual.into()));
        if actual >= 400 {
            let code = cx
                .contract
                .envelope_field(
                    crate::contract::ERROR_ENVELOPE,
                    crate::contract::roles::ERROR_CODE,
                )
                .and_then(|at| cx.response.at(at))
                .and_then(|c| c.as_str());
            if let Some(code) = code {
                out = out.with_note(format!("the server answered with error code {code}"));
            }
        }
        out
    }
}
