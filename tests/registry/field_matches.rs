//! A check written the way conform's built-ins are, in one file: its key,
//! a schema fragment using the suite format's own `#/$defs/pointer`, a
//! parser that turns the suite value into typed settings (refusing a bad
//! regex with its place), and an evaluator that reads those settings back.
//! `main.rs` registers it with one line.

use std::sync::Arc;

use conform::check::{Check, Config, Context, StepInput};
use conform::outcome::CheckOutcome;
use conform::suite::Location;
use regex::Regex;
use serde_json::{Map, Value, json};

const KEY: &str = "field_matches";

/// JSON pointer → compiled pattern.
type Settings = Vec<(String, Regex)>;

/// `"field_matches": {"/data/status": "^ok$"}`.
pub struct FieldMatches;

impl Check for FieldMatches {
    fn key(&self) -> &'static str {
        KEY
    }

    fn schema(&self) -> Option<Value> {
        Some(json!({
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"$ref": "#/$defs/pointer"},
            "additionalProperties": {"type": "string"}
        }))
    }

    fn parse(&self, value: &Value, at: &Location<'_>) -> conform::Result<Config> {
        let map: Map<String, Value> = at.typed(value)?;
        let mut settings: Settings = Vec::new();
        for (pointer, pattern) in map {
            let place = at.entry(&pointer);
            let pattern = at.string(place.clone(), &pattern)?;
            let re = Regex::new(&pattern)
                .map_err(|_| at.error(place, format!("bad pattern `{pattern}`"), None))?;
            settings.push((pointer, re));
        }
        Ok(Arc::new(settings))
    }

    fn evaluate(&self, step: &StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        let Some(settings) = step.expect.config::<Settings>(KEY) else {
            return Vec::new();
        };
        settings
            .iter()
            .map(|(pointer, re)| {
                let expected = format!("matching /{}/", re.as_str());
                match cx.response.at(pointer).and_then(Value::as_str) {
                    Some(s) if re.is_match(s) => CheckOutcome::pass(KEY, Some(pointer), expected),
                    Some(s) => CheckOutcome::fail(KEY, Some(pointer), expected, s),
                    None => CheckOutcome::fail(KEY, Some(pointer), expected, "no string here"),
                }
            })
            .collect()
    }
}
