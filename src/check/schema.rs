use super::Context;
use crate::outcome::CheckOutcome;

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
        "schema"
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        match &step.expect.schema {
            Some(name) => check(name, "/data", cx),
            None => Vec::new(),
        }
    }
}

/// The `body_schema` check: the whole body against a contract schema.
pub struct BodySchema;

impl super::Check for BodySchema {
    fn key(&self) -> &'static str {
        "body_schema"
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        match &step.expect.body_schema {
            Some(name) => check(name, "", cx),
            None => Vec::new(),
        }
    }
}
