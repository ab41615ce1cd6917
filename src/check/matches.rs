use std::sync::Arc;

use regex::Regex;
use serde_json::{Map, Value, json};

use super::{Config, Context, show};
use crate::error::Result;
use crate::outcome::CheckOutcome;
use crate::suite::Location;

pub const KEY: &str = "matches";

/// JSON pointer → compiled pattern, in suite order.
type Settings = Vec<(String, Regex)>;

/// The `matches` check.
pub struct Matches;

impl super::Check for Matches {
    fn key(&self) -> &'static str {
        KEY
    }

    fn schema(&self) -> Option<Value> {
        Some(json!({
            "description": "JSON pointer → regular expression the string value must match.",
            "type": "object",
            "propertyNames": {"$ref": "#/$defs/pointer"},
            "additionalProperties": {"type": "string"}
        }))
    }

    /// A pattern that is not a string is refused, never read as the empty
    /// regex (which matches everything).
    fn parse(&self, value: &Value, at: &Location<'_>) -> Result<Config> {
        let map: Map<String, Value> = at.typed(value)?;
        let mut settings: Settings = Vec::new();
        for (pointer, pattern) in map {
            let place = at.entry(&pointer);
            let pattern = at.string(place.clone(), &pattern)?;
            let re = Regex::new(&pattern).map_err(|e| {
                at.error(
                    place,
                    format!("invalid regular expression `{pattern}`"),
                    Some(regex_reason(&e)),
                )
            })?;
            settings.push((pointer, re));
        }
        Ok(Arc::new(settings))
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        step.expect
            .config::<Settings>(KEY)
            .into_iter()
            .flatten()
            .map(|(pointer, re)| check(pointer, re, cx))
            .collect()
    }
}

/// The last line of a regex error is the reason; the rest draws the pattern.
fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text.lines().last().unwrap_or_default().trim();
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

pub fn check(pointer: &str, re: &Regex, cx: &Context<'_>) -> CheckOutcome {
    let expected = format!("a string matching /{}/", re.as_str());
    match cx.response.at(pointer) {
        Some(serde_json::Value::String(s)) if re.is_match(s) => {
            CheckOutcome::pass("matches", Some(pointer), expected)
        }
        Some(other) => CheckOutcome::fail("matches", Some(pointer), expected, show(other)),
        None => CheckOutcome::fail(
            "matches",
            Some(pointer),
            expected,
            "nothing at this pointer",
        ),
    }
}
