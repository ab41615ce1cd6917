//! Client mode: what the client prints must be what the server sent. The
//! 0.1.8 regression lived here: the server sent full Stripe URLs and the
//! client printed them fragment-stripped.

use std::sync::Arc;

use serde_json::{Value, json};

use super::fragment::describe_difference;
use super::{Config, Context, show};
use crate::error::Result;
use crate::outcome::CheckOutcome;
use crate::suite::{Expect, Location};

const CHECK: &str = "server_value_preserved";
pub const KEY: &str = CHECK;

/// The pointers a cli step checks with `server_value_preserved`.
pub fn listed(expect: &Expect) -> &[String] {
    expect.config::<Vec<String>>(KEY).map_or(&[], Vec::as_slice)
}

/// The value at `pointer` in the client's output equals, byte for byte, the
/// value the mock sent at the same pointer during this step (the latest
/// response that has one). `checkout_compact_url` may instead be the
/// server's `checkout_handoff_url`, as the contract allows.
pub fn check(pointer: &str, cx: &Context<'_>) -> CheckOutcome {
    let Some(printed) = cx.response.at(pointer) else {
        // Nothing sent, nothing printed: a release without the field (the
        // handoff URL before 0.1.7) has nothing to preserve.
        if !cx.served.iter().any(|s| {
            s.body
                .as_ref()
                .is_some_and(|b| super::lookup(b, pointer).is_some())
        }) {
            return CheckOutcome::pass(CHECK, Some(pointer), "no value: the server sent none")
                .with_note(
                    "the server sent no value here during this step, and the client printed none",
                );
        }
        return CheckOutcome::fail(
            CHECK,
            Some(pointer),
            "the server's value, printed by the client",
            "nothing at this pointer",
        );
    };
    let Some(sent) = cx
        .served
        .iter()
        .rev()
        .find_map(|s| super::lookup(s.body.as_ref()?, pointer))
    else {
        return CheckOutcome::fail(
            CHECK,
            Some(pointer),
            "a value the server sent at this pointer",
            show(printed),
        )
        .with_note("the mock sent no value here during this step");
    };
    if printed == sent {
        return CheckOutcome::pass(CHECK, Some(pointer), show(sent));
    }
    // A compact-URL field may carry its sibling handoff URL (by roles).
    let compact = pointer.rsplit_once('/').filter(|(_, leaf)| {
        cx.contract
            .is_role_leaf(crate::contract::roles::CHECKOUT_COMPACT_URL, leaf)
    });
    if let Some((parent, _)) = compact {
        let handoffs = cx
            .contract
            .role_leaf_names(&[crate::contract::roles::CHECKOUT_HANDOFF_URL]);
        for name in &handoffs {
            let handoff = format!("{parent}/{name}");
            let sent_handoff = cx
                .served
                .iter()
                .rev()
                .find_map(|s| super::lookup(s.body.as_ref()?, &handoff));
            if sent_handoff.is_some_and(|h| h == printed) {
                return CheckOutcome::pass(CHECK, Some(pointer), show(printed)).with_note(format!(
                    "the server's {name}, which the contract allows here"
                ));
            }
        }
    }
    if let (Value::String(sent), Value::String(printed)) = (sent, printed)
        && stripped_as_documented(cx, sent, printed)
    {
        return CheckOutcome::pass(CHECK, Some(pointer), show(&Value::String(printed.clone())))
            .with_note(format!(
                "the server's URL without its #fragment, as contract {} documents",
                cx.contract.version()
            ));
    }
    let (expected, actual) = (text(sent), text(printed));
    let mut out = CheckOutcome::fail(CHECK, Some(pointer), expected.clone(), actual.clone());
    if let (Value::String(_), Value::String(_)) = (sent, printed) {
        out = out.with_note(format!(
            "client changed the server's value: {}",
            describe_difference(&expected, &actual)
        ));
    }
    out
}

/// Every Stripe Checkout URL anywhere in the client's output must be one
/// the server sent, byte for byte; one failure per altered URL. Pointers the
/// step already checks with `server_value_preserved` are not reported twice.
pub fn stripe_urls_verbatim(cx: &Context<'_>, listed: &[String]) -> Vec<CheckOutcome> {
    const NAME: &str = "stripe_urls_verbatim";
    let Ok(output) = &cx.response.json else {
        return Vec::new();
    };
    let mut sent = Vec::new();
    for served in cx.served {
        if let Some(body) = &served.body {
            strings(body, "", &mut sent);
        }
        if let Some(location) = &served.location {
            sent.push((String::new(), location.clone()));
        }
    }
    let mut printed = Vec::new();
    strings(output, "", &mut printed);
    printed
        .into_iter()
        .filter(|(pointer, s)| is_stripe_url(s) && !listed.contains(pointer))
        .filter(|(_, s)| {
            !sent
                .iter()
                .any(|(_, t)| t == s || stripped_as_documented(cx, t, s))
        })
        .map(|(pointer, s)| {
            let nearest = sent
                .iter()
                .map(|(_, t)| t)
                .find(|t| is_stripe_url(t) && t.split('#').next() == s.split('#').next());
            let expected = nearest
                .cloned()
                .unwrap_or_else(|| "a Stripe URL the server sent".into());
            let note = match nearest {
                Some(t) => describe_difference(t, &s),
                None => "the server never sent this URL".into(),
            };
            CheckOutcome::fail(NAME, Some(&pointer), expected, s).with_note(note)
        })
        .collect()
}

/// Under a version whose docs describe fragment-stripped URLs (0.1.8),
/// the server's Stripe URL cut at its `#` is what that contract prints;
/// invariant stripe-fragment judges it again under the rule that holds.
fn stripped_as_documented(cx: &Context<'_>, sent: &str, printed: &str) -> bool {
    cx.policy == super::FragmentPolicy::Stripped
        && is_stripe_url(sent)
        && sent
            .split_once('#')
            .is_some_and(|(base, _)| base == printed)
}

fn is_stripe_url(s: &str) -> bool {
    super::fragment::is_stripe_url(s)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every string in a JSON value with its pointer.
fn strings(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) => out.push((at.to_string(), s.clone())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                strings(item, &format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                strings(item, &format!("{at}/{}", crate::suite::pointer_key(k)), out);
            }
        }
        _ => {}
    }
}

/// The `server_value_preserved` check (cli steps).
pub struct ServerValuePreserved;

impl super::Check for ServerValuePreserved {
    fn key(&self) -> &'static str {
        KEY
    }

    fn schema(&self) -> Option<Value> {
        Some(json!({
            "description": "For cli steps: JSON pointers into the client's output whose values must equal, byte for byte, what the mock sent for the same field during this step.",
            "type": "array",
            "minItems": 1,
            "items": {"$ref": "#/$defs/pointer"}
        }))
    }

    fn parse(&self, value: &Value, at: &Location<'_>) -> Result<Config> {
        let pointers: Vec<String> = at.typed(value)?;
        at.only_on(true)?;
        Ok(Arc::new(pointers))
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        listed(step.expect)
            .iter()
            .map(|pointer| check(pointer, cx))
            .collect()
    }
}

/// Always on for a client: no Stripe URL the server did not send.
pub struct StripeUrlsVerbatim;

impl super::Check for StripeUrlsVerbatim {
    fn key(&self) -> &'static str {
        "stripe_urls_verbatim"
    }

    fn is_suite_key(&self) -> bool {
        false
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        if !step.cli {
            return Vec::new();
        }
        stripe_urls_verbatim(cx, listed(step.expect))
    }
}
