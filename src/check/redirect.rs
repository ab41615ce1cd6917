//! `redirects_to`: a handoff URL must redirect to the full Stripe URL, byte
//! for byte. Requests never follow redirects, so the `Location` is seen as sent.

use std::sync::Arc;

use serde_json::{Value, json};

use super::fragment::{FragmentPolicy, describe_difference, split_fragment};
use super::{Config, Context};
use crate::error::Result;
use crate::outcome::CheckOutcome;
use crate::suite::{Expect, Location};

const CHECK: &str = "redirects_to";
pub const KEY: &str = CHECK;

/// The Location a step expects (may use `${name}`), if it names one.
pub fn expected(expect: &Expect) -> Option<&String> {
    expect.config::<String>(KEY)
}

/// The `redirects_to` check.
pub struct RedirectsTo;

impl super::Check for RedirectsTo {
    fn key(&self) -> &'static str {
        KEY
    }

    fn schema(&self) -> Option<Value> {
        Some(json!({
            "description": "The answer must be a 30x whose Location equals this value exactly (usually ${a_capture}).",
            "type": "string",
            "minLength": 1
        }))
    }

    fn parse(&self, value: &Value, at: &Location<'_>) -> Result<Config> {
        let target: String = at.typed(value)?;
        at.vars(at.pointer.clone(), &target)?;
        at.only_on(false)?;
        Ok(Arc::new(target))
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        expected(step.expect)
            .into_iter()
            .map(|t| check(t, cx))
            .collect()
    }
}

pub fn check(target: &str, cx: &Context<'_>) -> CheckOutcome {
    let expected = cx.vars.text(target);
    let status = cx.response.status;
    if !(300..400).contains(&status) {
        return CheckOutcome::fail(
            CHECK,
            None,
            format!("a 30x redirect to {expected}"),
            format!("status {status}"),
        );
    }
    let Some(location) = cx.response.location.as_deref() else {
        return CheckOutcome::fail(
            CHECK,
            None,
            expected,
            format!("status {status} without a Location header"),
        );
    };
    if location == expected {
        return CheckOutcome::pass(CHECK, None, expected);
    }
    if cx.policy == FragmentPolicy::Stripped
        && split_fragment(location).0 == split_fragment(&expected).0
    {
        return CheckOutcome::pass(CHECK, None, expected).with_note(format!(
            "contract {} describes fragment-stripped URLs; compared without the fragment",
            cx.contract.version()
        ));
    }
    let note = describe_difference(&expected, location);
    CheckOutcome::fail(CHECK, None, expected, location)
        .with_note(format!("Location header: {note}"))
}
