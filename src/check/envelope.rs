//! The envelope is always checked: every JSON answer of the hosted API is a
//! success or an error envelope (llms.txt "Expected JSON envelope").

use std::sync::Arc;

use serde_json::{Value, json};

use super::{Config, Context};
use crate::error::Result;
use crate::outcome::CheckOutcome;
use crate::suite::{Expect, Location};

pub const KEY: &str = "envelope";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvelopeKind {
    Success,
    Error,
    None,
}

/// The envelope the body must have: explicit, else derived from what the
/// step expects of the status, the error or the exit code.
pub fn kind(expect: &Expect) -> EnvelopeKind {
    if let Some(kind) = expect.config::<EnvelopeKind>(KEY) {
        return *kind;
    }
    let status = super::status::expected(expect);
    let refused =
        super::error_code::expected(expect).is_some() || super::rejects::expected(expect).is_some();
    match status {
        _ if refused => EnvelopeKind::Error,
        _ if super::exit_code::expected(expect).is_some_and(|c| c != 0) => EnvelopeKind::Error,
        Some(s) if (300..400).contains(&s) => EnvelopeKind::None,
        Some(s) if s >= 400 => EnvelopeKind::Error,
        _ if super::redirect::expected(expect).is_some() => EnvelopeKind::None,
        _ => EnvelopeKind::Success,
    }
}

/// The `envelope` check.
pub struct Envelope;

impl super::Check for Envelope {
    fn key(&self) -> &'static str {
        KEY
    }

    fn schema(&self) -> Option<Value> {
        Some(json!({
            "description": "Which envelope the body must be. Default: success below 300, none for 3xx, error from 400.",
            "enum": ["success", "error", "none"]
        }))
    }

    fn parse(&self, value: &Value, at: &Location<'_>) -> Result<Config> {
        Ok(Arc::new(at.typed::<EnvelopeKind>(value)?))
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        // Always on; a client's output is only judged when it is JSON.
        if step.cli && cx.response.json.is_err() {
            return Vec::new();
        }
        check(kind(step.expect), cx)
    }
}

pub fn check(kind: EnvelopeKind, cx: &Context<'_>) -> Vec<CheckOutcome> {
    let schema = match kind {
        EnvelopeKind::None => return Vec::new(),
        EnvelopeKind::Success => "success-envelope",
        EnvelopeKind::Error => "error-envelope",
    };
    let expected = format!("a {schema}");
    let body = match &cx.response.json {
        Ok(body) => body,
        Err(why) => {
            let actual = if cx.response.body.is_empty() {
                "an empty body".to_string()
            } else {
                format!(
                    "a body that is not JSON ({why}): {}",
                    cx.response.excerpt(120)
                )
            };
            return vec![CheckOutcome::fail("envelope", None, expected, actual)];
        }
    };
    match cx.contract.validate(schema, body) {
        Ok(violations) if violations.is_empty() => {
            vec![CheckOutcome::pass("envelope", None, expected)]
        }
        Ok(violations) => violations
            .into_iter()
            .map(|v| {
                // "" is the whole body: no pointer to show.
                let at = Some(v.pointer.as_str()).filter(|p| !p.is_empty());
                CheckOutcome::fail("envelope", at, expected.clone(), v.message)
            })
            .collect(),
        Err(e) => vec![CheckOutcome::fail(
            "envelope",
            None,
            expected,
            e.to_string(),
        )],
    }
}
