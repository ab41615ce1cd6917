//! The envelope is always checked: every JSON answer of the hosted API is a
//! success or an error envelope (llms.txt "Expected JSON envelope").

use super::Context;
use crate::outcome::CheckOutcome;
use crate::suite::EnvelopeKind;

/// The `envelope` check.
pub struct Envelope;

impl super::Check for Envelope {
    fn key(&self) -> &'static str {
        "envelope"
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        // Always on; a client's output is only judged when it is JSON.
        if step.cli && cx.response.json.is_err() {
            return Vec::new();
        }
        check(step.expect.envelope_kind(), cx)
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
