use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{Config, Context, show};
use crate::error::Result;
use crate::outcome::CheckOutcome;
use crate::suite::Location;

pub const KEY: &str = "equals";

/// JSON pointer → expected value, in suite order.
type Settings = Vec<(String, Value)>;

/// The `equals` check.
pub struct Equals;

impl super::Check for Equals {
    fn key(&self) -> &'static str {
        KEY
    }

    fn schema(&self) -> Option<Value> {
        Some(json!({
            "description": "JSON pointer → expected JSON value (strings may use ${name}).",
            "type": "object",
            "propertyNames": {"$ref": "#/$defs/pointer"}
        }))
    }

    fn parse(&self, value: &Value, at: &Location<'_>) -> Result<Config> {
        let map: Map<String, Value> = at.typed(value)?;
        let mut settings: Settings = Vec::new();
        for (pointer, expected) in map {
            at.value_vars(at.entry(&pointer), &expected)?;
            settings.push((pointer, expected));
        }
        Ok(Arc::new(settings))
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        step.expect
            .config::<Settings>(KEY)
            .into_iter()
            .flatten()
            .map(|(pointer, value)| check(pointer, value, cx))
            .collect()
    }
}

pub fn check(pointer: &str, expected: &Value, cx: &Context<'_>) -> CheckOutcome {
    let expected = cx.vars.value(expected);
    match cx.response.at(pointer) {
        Some(actual) if *actual == expected => {
            CheckOutcome::pass("equals", Some(pointer), show(&expected)).with_values(expected, None)
        }
        Some(actual) => CheckOutcome::fail("equals", Some(pointer), show(&expected), show(actual))
            .with_values(expected, Some(actual.clone())),
        None => CheckOutcome::fail(
            "equals",
            Some(pointer),
            show(&expected),
            "nothing at this pointer",
        )
        .with_values(expected, None),
    }
}
