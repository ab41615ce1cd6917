use regex::Regex;

use super::{Context, show};
use crate::outcome::CheckOutcome;

/// The `matches` check.
pub struct Matches;

impl super::Check for Matches {
    fn key(&self) -> &'static str {
        "matches"
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        step.expect
            .matches
            .iter()
            .map(|(pointer, re)| check(pointer, re, cx))
            .collect()
    }
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
