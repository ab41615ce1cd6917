//! `fragment_preserved`: the check this project exists for. Stripe Checkout
//! cannot load without the `#...` fragment of its URLs; release 0.1.8 of the
//! client dropped it and live payments broke.

use std::sync::Arc;

use serde_json::{Value, json};
use url::Url;

use super::{Config, Context, show};
pub use crate::contract::FragmentPolicy;
use crate::contract::roles;
use crate::error::Result;
use crate::outcome::CheckOutcome;
use crate::suite::{Expect, Location};

const CHECK: &str = "fragment_preserved";
pub const KEY: &str = CHECK;

/// The pointers a step checks with `fragment_preserved`.
pub fn listed(expect: &Expect) -> &[String] {
    expect.config::<Vec<String>>(KEY).map_or(&[], Vec::as_slice)
}
pub const STRIPE_CHECKOUT_HOST: &str = "checkout.stripe.com";

/// `s` parsed as a URL the way a browser would take it from a JSON value:
/// surrounding whitespace ignored, a scheme-relative `//host/…` as https.
pub fn parse_url(s: &str) -> Option<Url> {
    let s = s.trim();
    match s.strip_prefix("//") {
        Some(rest) => Url::parse(&format!("https://{rest}")).ok(),
        None => Url::parse(s).ok(),
    }
}

/// Whether `url`'s host is Stripe Checkout's, compared as hosts are:
/// the parser has lower-cased it and decoded percent-escapes; a trailing
/// dot (the DNS root) names the same host.
pub fn is_stripe_host(url: &Url) -> bool {
    url.host_str().is_some_and(|h| {
        h.strip_suffix('.')
            .unwrap_or(h)
            .eq_ignore_ascii_case(STRIPE_CHECKOUT_HOST)
    })
}

/// Whether `s` is a Stripe Checkout URL in any of the forms above.
pub fn is_stripe_url(s: &str) -> bool {
    // Every string of every answer comes here: one that has no scheme
    // (no `:`) and no `//` start cannot parse, so it is not parsed.
    let maybe_url = s.contains(':') || s.trim_start().starts_with("//");
    maybe_url && parse_url(s).is_some_and(|u| is_stripe_host(&u))
}

/// Splits a URL as written at its first `#`: the part before, and the fragment.
pub fn split_fragment(raw: &str) -> (&str, Option<&str>) {
    match raw.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (raw, None),
    }
}

/// Names the difference between two URLs in plain words.
pub fn describe_difference(expected: &str, actual: &str) -> String {
    let (eb, ef) = split_fragment(expected);
    let (ab, af) = split_fragment(actual);
    let what = if eb == ab {
        match (ef, af) {
            (Some(e), None | Some("")) if !e.is_empty() => "fragment removed",
            (None | Some(""), Some(_)) => "fragment added",
            _ => "fragment altered",
        }
    } else if ef == af {
        "URL altered before the fragment"
    } else {
        "URL altered"
    };
    what.to_string()
}

/// The `fragment_preserved` check.
pub struct FragmentPreserved;

impl super::Check for FragmentPreserved {
    fn key(&self) -> &'static str {
        KEY
    }

    fn schema(&self) -> Option<Value> {
        Some(json!({
            "description": "JSON pointers to Stripe Checkout URLs whose #fragment must survive end to end.",
            "type": "array",
            "minItems": 1,
            "items": {"$ref": "#/$defs/pointer"}
        }))
    }

    fn parse(&self, value: &Value, at: &Location<'_>) -> Result<Config> {
        Ok(Arc::new(at.typed::<Vec<String>>(value)?))
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        listed(step.expect)
            .iter()
            .map(|pointer| check(pointer, cx))
            .collect()
    }
}

pub fn check(pointer: &str, cx: &Context<'_>) -> CheckOutcome {
    let expected_url = "a Stripe Checkout URL";
    let raw = match cx.response.at(pointer) {
        Some(Value::String(s)) => s.as_str(),
        Some(other) => return CheckOutcome::fail(CHECK, Some(pointer), expected_url, show(other)),
        None => {
            return CheckOutcome::fail(
                CHECK,
                Some(pointer),
                expected_url,
                "nothing at this pointer",
            );
        }
    };
    let parsed = match parse_url(raw) {
        Some(u) => u,
        None => {
            let why = Url::parse(raw)
                .err()
                .map_or_else(String::new, |e| e.to_string());
            return CheckOutcome::fail(CHECK, Some(pointer), expected_url, raw)
                .with_note(format!("not a URL: {why}"));
        }
    };
    if !is_stripe_host(&parsed) {
        return handoff_in_place_of_stripe_url(pointer, raw, cx);
    }

    if let Some((name, earlier)) = earlier_capture(raw, cx) {
        if earlier != raw && !(cx.policy == FragmentPolicy::Stripped && same_base(earlier, raw)) {
            let note = format!(
                "{}; the same URL was captured earlier as ${{{name}}}",
                describe_difference(earlier, raw)
            );
            return CheckOutcome::fail(CHECK, Some(pointer), earlier, raw).with_note(note);
        }
    }
    let has_fragment = parsed.fragment().is_some_and(|f| !f.is_empty());
    match (cx.policy, has_fragment) {
        (FragmentPolicy::Required, true) => CheckOutcome::pass(CHECK, Some(pointer), raw),
        (FragmentPolicy::Required, false) => CheckOutcome::fail(
            CHECK,
            Some(pointer),
            "the full Stripe Checkout URL, with its non-empty #fragment",
            raw,
        )
        .with_note("fragment removed: Stripe Checkout cannot load without it"),
        (FragmentPolicy::Stripped, false) => CheckOutcome::pass(CHECK, Some(pointer), raw)
            .with_note(format!(
                "contract {} describes fragment-stripped URLs",
                cx.contract.version()
            )),
        (FragmentPolicy::Stripped, true) => CheckOutcome::fail(
            CHECK,
            Some(pointer),
            format!(
                "a fragment-stripped URL, as contract {} describes",
                cx.contract.version()
            ),
            raw,
        ),
    }
}

/// `checkout_compact_url` may carry the short handoff URL instead of a
/// Stripe URL; that is allowed only when it is this object's handoff URL.
fn handoff_in_place_of_stripe_url(pointer: &str, raw: &str, cx: &Context<'_>) -> CheckOutcome {
    let parent = pointer.rsplit_once('/').map_or("", |(parent, _)| parent);
    // The sibling fields with the handoff role.
    let handoffs = cx.contract.role_leaf_names(&[roles::CHECKOUT_HANDOFF_URL]);
    let is_handoff = handoffs.iter().any(|name| {
        let sibling = format!("{parent}/{name}");
        sibling != pointer && cx.response.at(&sibling).and_then(Value::as_str) == Some(raw)
    });
    if is_handoff {
        CheckOutcome::pass(CHECK, Some(pointer), raw)
            .with_note("the handoff URL, which the contract allows here")
    } else {
        let handoff = handoffs
            .iter()
            .next()
            .map_or(roles::CHECKOUT_HANDOFF_URL, String::as_str);
        CheckOutcome::fail(
            CHECK,
            Some(pointer),
            format!("a URL on {STRIPE_CHECKOUT_HOST} (or this object's {handoff})"),
            raw,
        )
    }
}

fn same_base(a: &str, b: &str) -> bool {
    split_fragment(a).0 == split_fragment(b).0
}

/// An earlier captured value for the same URL (same text before `#`):
/// the exact same value if there is one, else the first.
fn earlier_capture<'v>(raw: &str, cx: &'v Context<'_>) -> Option<(&'v str, &'v str)> {
    let mut first = None;
    for (name, value) in cx.vars.iter() {
        let Some(s) = value.as_str() else { continue };
        if s == raw {
            return Some((name, s));
        }
        if first.is_none() && same_base(s, raw) {
            first = Some((name.as_str(), s));
        }
    }
    first
}

#[cfg(test)]
mod stripe_host_tests {
    use super::*;

    #[test]
    fn every_spelling_of_the_stripe_host_is_recognised() {
        for s in [
            "https://checkout.stripe.com/c/pay/cs_1#f",
            "https://CHECKOUT.Stripe.COM/c/pay/cs_1",
            "https://checkout.stripe.com./c/pay/cs_1",
            "//checkout.stripe.com/c/pay/cs_1",
            "https://checkout%2Estripe%2Ecom/c/pay/cs_1",
            " https://checkout.stripe.com/c/pay/cs_1 ",
        ] {
            assert!(is_stripe_url(s), "{s}");
        }
        for s in [
            "https://checkout.stripe.com.evil.test/c/pay",
            "https://stripe.com/c/pay",
            "checkout.stripe.com/c/pay",
        ] {
            assert!(!is_stripe_url(s), "{s}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_are_named() {
        let full = "https://checkout.stripe.com/c/pay/cs_test_1#fidabc";
        let bare = "https://checkout.stripe.com/c/pay/cs_test_1";
        assert_eq!(describe_difference(full, bare), "fragment removed");
        assert_eq!(
            describe_difference(full, &format!("{bare}#")),
            "fragment removed"
        );
        assert_eq!(
            describe_difference(full, &format!("{bare}#fidxyz")),
            "fragment altered"
        );
        assert_eq!(describe_difference(bare, full), "fragment added");
        assert_eq!(
            describe_difference(full, "https://checkout.stripe.com/c/pay/cs_test_2#fidabc"),
            "URL altered before the fragment"
        );
    }

    #[test]
    fn split_at_first_hash() {
        assert_eq!(split_fragment("a#b#c"), ("a", Some("b#c")));
        assert_eq!(split_fragment("a"), ("a", None));
    }
}
