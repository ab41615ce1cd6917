use std::sync::Arc;

use serde_json::{Value, json};

use super::{Config, Context};
use crate::error::Result;
use crate::outcome::CheckOutcome;
use crate::suite::{Expect, Location};

pub const KEY: &str = "schema";
pub const BODY_KEY: &str = "body_schema";

/// The contract schemas a step names: `(key, name)` for `schema` and `body_schema`.
pub fn named(expect: &Expect) -> Vec<(&'static str, &str)> {
    [KEY, BODY_KEY]
        .into_iter()
        .filter_map(|key| Some((key, expect.config::<String>(key)?.as_str())))
        .collect()
}

fn fragment(description: &str) -> Value {
    json!({"description": description, "type": "string", "minLength": 1})
}

/// Validates the value at `base` (`/data`, or `` for the whole body).
pub fn check(name: &str, base: &str, cx: &Context<'_>) -> Vec<CheckOutcome> {
    let expected = format!(
        "valid against contract {} schema `{name}`",
        cx.contract.version()
    );
    let Some(value) = cx.response.at(base) else {
        let actual = match &cx.response.json {
            Ok(_) => format!("no value at `{base}`"),
            Err(_) => "a body that is not JSON".to_string(),
        };
        return vec![CheckOutcome::fail("schema", Some(base), expected, actual)];
    };
    match cx.contract.validate(name, value) {
        Ok(violations) if violations.is_empty() => {
            vec![CheckOutcome::pass("schema", Some(base), expected)]
        }
        Ok(violations) => violations
            .into_iter()
            .map(|v| {
                let pointer = format!("{base}{}", v.pointer);
                CheckOutcome::fail("schema", Some(&pointer), expected.clone(), v.message)
            })
            .collect(),
        Err(e) => vec![CheckOutcome::fail(
            "schema",
            Some(base),
            expected,
            e.to_string(),
        )],
    }
}

/// The `schema` check: `data` against a contract schema.
pub struct Schema;

impl super::Check for Schema {
    fn key(&self) -> &'static str {
        KEY
    }

    fn schema(&self) -> Option<Value> {
        Some(fragment("Contract schema that `data` must satisfy."))
    }

    fn parse(&self, value: &Value, at: &Location<'_>) -> Result<Config> {
        Ok(Arc::new(at.typed::<String>(value)?))
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        let Some(name) = step.expect.config::<String>(KEY) else {
            return Vec::new();
        };
        // `data` is the field the success envelope gives the payload role.
        match cx.contract.envelope_field(
            crate::contract::SUCCESS_ENVELOPE,
            crate::contract::roles::PAYLOAD,
        ) {
            Some(payload) => check(name, payload, cx),
            None => vec![CheckOutcome::fail(
                KEY,
                None,
                format!("a payload valid against schema `{name}`"),
                format!(
                    "contract {} gives no field of `{}` the `{}` role",
                    cx.contract.version(),
                    crate::contract::SUCCESS_ENVELOPE,
                    crate::contract::roles::PAYLOAD
                ),
            )],
        }
    }
}

/// The `body_schema` check: the whole body against a contract schema.
pub struct BodySchema;

impl super::Check for BodySchema {
    fn key(&self) -> &'static str {
        BODY_KEY
    }

    fn schema(&self) -> Option<Value> {
        Some(fragment(
            "Contract schema that the whole body must satisfy.",
        ))
    }

    fn parse(&self, value: &Value, at: &Location<'_>) -> Result<Config> {
        Ok(Arc::new(at.typed::<String>(value)?))
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        match step.expect.config::<String>(BODY_KEY) {
            Some(name) => check(name, "", cx),
            None => Vec::new(),
        }
    }
}
