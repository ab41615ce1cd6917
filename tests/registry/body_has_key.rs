//! A check from outside conform, in one file: its key, its schema fragment
//! and its evaluator. `main.rs` registers it with one line.

use conform::check::{Check, Context, StepInput};
use conform::outcome::CheckOutcome;
use serde_json::{Value, json};

/// `"body_has_key": "data"`: the JSON body has this top-level key.
pub struct BodyHasKey;

impl Check for BodyHasKey {
    fn key(&self) -> &'static str {
        "body_has_key"
    }

    fn schema(&self) -> Option<Value> {
        Some(json!({"type": "string", "minLength": 1}))
    }

    fn evaluate(&self, step: &StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        let Some(Value::String(key)) = step.spec else {
            return Vec::new();
        };
        let expected = format!("a body with key `{key}`");
        match cx.response.json.as_ref().ok().and_then(|b| b.get(key)) {
            Some(_) => vec![CheckOutcome::pass(self.key(), None, expected)],
            None => vec![CheckOutcome::fail(
                self.key(),
                None,
                expected,
                "no such key",
            )],
        }
    }
}

/// A check with a bug: it panics whenever a step names it.
pub struct Panics;

impl Check for Panics {
    fn key(&self) -> &'static str {
        "panics"
    }

    fn schema(&self) -> Option<Value> {
        Some(json!({"const": true}))
    }

    fn evaluate(&self, step: &StepInput<'_>, _cx: &Context<'_>) -> Vec<CheckOutcome> {
        if step.spec.is_some() {
            panic!("bug in the panics check");
        }
        Vec::new()
    }
}
