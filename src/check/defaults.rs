//! Checks applied to every HTTP step unless it opts out (`expect.skip`), in
//! the spirit of Schemathesis' default checks.

use serde_json::Value;

use super::fragment::FragmentPolicy;
use super::{Context, show};
use crate::contract::{ERROR_ENVELOPE, SUCCESS_ENVELOPE, roles};
use crate::outcome::CheckOutcome;
use crate::suite::EnvelopeKind;

/// An always-on HTTP check: runs unless the step lists it in `expect.skip`.
macro_rules! always_on {
    ($ty:ident, $key:expr, |$step:ident, $cx:ident| $body:expr) => {
        #[doc = concat!("The always-on [`", stringify!($ty), "`] check.")]
        pub struct $ty;

        impl super::Check for $ty {
            fn key(&self) -> &'static str {
                $key
            }

            fn is_suite_key(&self) -> bool {
                false
            }

            fn is_skippable(&self) -> bool {
                true
            }

            fn evaluate(
                &self,
                $step: &super::StepInput<'_>,
                $cx: &Context<'_>,
            ) -> Vec<CheckOutcome> {
                if $step.cli || $step.expect.skip.iter().any(|s| s == $key) {
                    return Vec::new();
                }
                $body
            }
        }
    };
}

always_on!(NotAServerError, "not_a_server_error", |step, cx| {
    if super::status::expected(step.expect).is_some_and(|s| s >= 500) {
        Vec::new()
    } else {
        vec![not_a_server_error(cx)]
    }
});
always_on!(
    ContentTypeConformance,
    "content_type_conformance",
    |step, cx| content_type_conformance(cx).into_iter().collect()
);
// Named after the role whose field it reads.
always_on!(TraceId, roles::TRACE_ID, |step, cx| {
    trace_id(cx, step.expect.envelope_kind())
        .into_iter()
        .collect()
});
always_on!(StripeUrlFragments, "stripe_url_fragments", |step, cx| {
    stripe_url_fragments(cx, super::fragment::listed(step.expect))
});

pub fn not_a_server_error(cx: &Context<'_>) -> CheckOutcome {
    const NAME: &str = "not_a_server_error";
    let status = cx.response.status;
    if status < 500 {
        CheckOutcome::pass(NAME, None, "a status below 500")
    } else {
        CheckOutcome::fail(NAME, None, "a status below 500", status.to_string())
            .with_note(format!("body starts: {}", cx.response.excerpt(120)))
    }
}

/// A JSON body says it is JSON, and a body that says JSON parses.
pub fn content_type_conformance(cx: &Context<'_>) -> Option<CheckOutcome> {
    const NAME: &str = "content_type_conformance";
    if cx.response.body.is_empty() {
        return None;
    }
    let declared = cx.response.content_type.as_deref().unwrap_or("");
    let media = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let says_json = media == "application/json" || media.ends_with("+json");
    let expected = "content-type application/json for a JSON body";
    Some(match (&cx.response.json, says_json) {
        (Ok(_), true) => CheckOutcome::pass(NAME, None, expected),
        (Ok(_), false) => CheckOutcome::fail(
            NAME,
            None,
            expected,
            if declared.is_empty() {
                "no content-type header".to_string()
            } else {
                format!("content-type {declared}")
            },
        ),
        (Err(why), true) => CheckOutcome::fail(
            NAME,
            None,
            "a body that parses as the JSON it declares",
            cx.response.excerpt(120),
        )
        .with_note(why.clone()),
        (Err(_), false) => CheckOutcome::fail(
            NAME,
            None,
            "a JSON body (the API answers JSON)",
            format!("content-type `{declared}`: {}", cx.response.excerpt(120)),
        ),
    })
}

/// Every JSON answer carries a trace id people can cite: the field the
/// step's envelope schema gives the trace-id role. A contract whose
/// envelope names no such field has nothing to check here.
pub fn trace_id(cx: &Context<'_>, kind: EnvelopeKind) -> Option<CheckOutcome> {
    const NAME: &str = roles::TRACE_ID;
    let schema = match kind {
        EnvelopeKind::Success => SUCCESS_ENVELOPE,
        EnvelopeKind::Error => ERROR_ENVELOPE,
        EnvelopeKind::None => return None,
    };
    let pointer = cx.contract.envelope_field(schema, roles::TRACE_ID)?;
    let body = cx.response.json.as_ref().ok()?;
    let field = roles::dotted(pointer);
    let expected = format!("a non-empty {field}");
    Some(match super::lookup(body, pointer) {
        Some(Value::String(t)) if !t.is_empty() => {
            CheckOutcome::pass(NAME, Some(pointer), expected)
        }
        Some(other) => CheckOutcome::fail(NAME, Some(pointer), expected, show(other)),
        None => CheckOutcome::fail(NAME, Some(pointer), expected, format!("no {field}")),
    })
}

/// No Stripe Checkout URL anywhere in the answer (body or Location) may
/// lack its fragment, whether or not the suite names the field; pointers
/// the step checks with `fragment_preserved` are not reported twice.
pub fn stripe_url_fragments(cx: &Context<'_>, listed: &[String]) -> Vec<CheckOutcome> {
    const NAME: &str = "stripe_url_fragments";
    if cx.policy != FragmentPolicy::Required {
        return Vec::new();
    }
    let mut found = Vec::new();
    if let Ok(body) = &cx.response.json {
        stripe_urls(body, "", &mut found);
    }
    if let Some(location) = &cx.response.location
        && is_stripe(location)
    {
        found.push(("Location".to_string(), location.clone()));
    }
    found
        .into_iter()
        .filter(|(at, _)| !listed.contains(at))
        .filter(|(_, url)| {
            super::fragment::parse_url(url)
                .and_then(|u| u.fragment().map(str::is_empty))
                .unwrap_or(true)
        })
        .map(|(at, url)| {
            let pointer = (at != "Location").then_some(at.as_str());
            CheckOutcome::fail(
                NAME,
                pointer,
                "a Stripe Checkout URL with its non-empty #fragment",
                url,
            )
            .with_note(if at == "Location" {
                "fragment removed from the Location header".to_string()
            } else {
                "fragment removed: Stripe Checkout cannot load without it".to_string()
            })
        })
        .collect()
}

fn is_stripe(s: &str) -> bool {
    super::fragment::is_stripe_url(s)
}

fn stripe_urls(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    let mut path = at.to_string();
    walk_stripe_urls(v, &mut path, out);
}

/// `path` grows and shrinks with the walk: a pointer is written out only
/// for a Stripe URL found, not for every node of every answer.
fn walk_stripe_urls(v: &Value, path: &mut String, out: &mut Vec<(String, String)>) {
    use std::fmt::Write as _;
    let len = path.len();
    match v {
        Value::String(s) if is_stripe(s) => out.push((path.clone(), s.clone())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let _ = write!(path, "/{i}");
                walk_stripe_urls(item, path, out);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                path.push('/');
                // As `pointer_key` escapes it, without its two copies.
                for c in k.chars() {
                    match c {
                        '~' => path.push_str("~0"),
                        '/' => path.push_str("~1"),
                        c => path.push(c),
                    }
                }
                walk_stripe_urls(item, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}
