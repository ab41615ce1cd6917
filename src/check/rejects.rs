//! Negative steps: a conformant server refuses them with a 4xx error
//! envelope carrying a code. A 2xx means it served what it must not; a 5xx
//! means it broke instead of refusing.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{Config, Context};
use crate::error::Result;
use crate::outcome::CheckOutcome;
use crate::suite::{Expect, Location};

pub const KEY: &str = "rejects";

/// What a negative step expects the server to refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rejects {
    /// A missing or bad token: a 4xx, never served (`ignored_auth`).
    Auth,
    /// An invalid body: a 4xx, never accepted (`negative_data_rejection`).
    Data,
}

/// What the step expects refused, if it is a negative step.
pub fn expected(expect: &Expect) -> Option<Rejects> {
    expect.config::<Rejects>(KEY).copied()
}

/// The `rejects` check.
pub struct RejectsCheck;

impl super::Check for RejectsCheck {
    fn key(&self) -> &'static str {
        KEY
    }

    fn schema(&self) -> Option<Value> {
        Some(json!({
            "description": "The server must refuse this request with a 4xx error envelope: auth (a missing or bad token; check ignored_auth) or data (an invalid body; check negative_data_rejection).",
            "enum": ["auth", "data"]
        }))
    }

    fn parse(&self, value: &Value, at: &Location<'_>) -> Result<Config> {
        Ok(Arc::new(at.typed::<Rejects>(value)?))
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        expected(step.expect)
            .map(|kind| check(kind, cx))
            .into_iter()
            .collect()
    }
}

pub fn check(kind: Rejects, cx: &Context<'_>) -> CheckOutcome {
    let (name, what) = match kind {
        Rejects::Auth => (
            "ignored_auth",
            "a 401 or 403 refusal of the missing or bad token",
        ),
        Rejects::Data => (
            "negative_data_rejection",
            "a 4xx refusal of the invalid request",
        ),
    };
    let status = cx.response.status;
    // The code where the contract's error envelope puts it.
    let at = cx.contract.envelope_field(
        crate::contract::ERROR_ENVELOPE,
        crate::contract::roles::ERROR_CODE,
    );
    let code = at.and_then(|p| cx.response.at(p)).and_then(|c| c.as_str());
    // Auth comes first: a 400 or 404 to a tokenless request means the
    // server judged the request before it asked who was calling.
    let refused = match kind {
        Rejects::Auth => matches!(status, 401 | 403),
        Rejects::Data => (400..=499).contains(&status),
    };
    match (status, code) {
        (_, Some(code)) if refused => {
            CheckOutcome::pass(name, None, what).with_note(format!("{status} {code}"))
        }
        (400..=499, None) => CheckOutcome::fail(
            name,
            at,
            "an error code with the refusal",
            match at {
                Some(p) => format!(
                    "status {status} without {}",
                    crate::contract::roles::dotted(p)
                ),
                None => format!(
                    "status {status}; contract {} gives no error-envelope field the `{}` role",
                    cx.contract.version(),
                    crate::contract::roles::ERROR_CODE
                ),
            },
        ),
        (400..=499, Some(code)) => {
            CheckOutcome::fail(name, None, what, format!("status {status} {code}"))
                .with_note("the request was judged before the missing or bad token")
        }
        (200..=299, _) => CheckOutcome::fail(
            name,
            None,
            what,
            format!("status {status}: the server accepted it"),
        ),
        _ => CheckOutcome::fail(name, None, what, format!("status {status}")),
    }
}
