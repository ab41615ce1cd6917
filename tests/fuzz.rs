//! Property-based fuzzing (proptest; cargo-fuzz needs a nightly toolchain
//! this machine cannot fetch) of the three places untrusted text enters:
//! the suite parser, `${var}` interpolation, and the fragment / URL
//! comparison. CI runs the default number of cases; a long local run:
//!
//!     PROPTEST_CASES=2000000 cargo test --release --test fuzz
//!
//! Failures proptest finds are kept in tests/fuzz.proptest-regressions and
//! replayed first on every run.

use std::path::Path;

use conform::check::fragment::{describe_difference, split_fragment};
use conform::suite::SuiteFormat;
use conform::vars::Vars;
use proptest::prelude::*;
use serde_json::{Value, json};

const VALID_SUITE: &str = r#"{"suite":"s","vars":{"k":"key-${run_id}"},"scenarios":[{"name":"a","steps":[
  {"name":"quote","request":{"method":"POST","path":"/v1/credit-quotes","json":{"credits":10,"idempotency_key":"${k}"}},
   "expect":{"status":200,"schema":"credit-quote","equals":{"/data/credits":10},"matches":{"/data/quote_id":"^quote_"}},
   "captures":{"quote_id":"/data/quote_id"}},
  {"name":"status","request":{"method":"GET","path":"/v1/credit-purchases/status","query":{"quote_id":"${quote_id}"}},
   "expect":{"fragment_preserved":["/data/payment_attempt/checkout_url"]}}]}]}"#;

/// Arbitrary JSON values, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,12}".prop_map(Value::String),
        "\\$\\{[a-z_]{0,6}\\}?".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_$]{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every object/array slot of a JSON value, as pointers.
fn slots(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, item) in map {
                let p = format!("{at}/{}", conform::hash::pointer_key(k));
                out.push(p.clone());
                slots(item, p, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                slots(item, p, out);
            }
        }
        _ => {}
    }
}

proptest! {
    #[test]
    fn suite_parser_never_panics_on_any_text(text in ".{0,300}") {
        let format = SuiteFormat::new().expect("suite format");
        let _ = format.parse(Path::new("fuzz.json"), &text);
    }

    #[test]
    fn suite_parser_never_panics_on_mutated_suites(pick in any::<prop::sample::Index>(), value in json_value(), key in "[a-z_$]{1,10}") {
        let format = SuiteFormat::new().expect("suite format");
        let mut suite: Value = serde_json::from_str(VALID_SUITE).expect("valid suite");
        let mut places = Vec::new();
        slots(&suite, String::new(), &mut places);
        let place = pick.get(&places).clone();
        if let Some(slot) = suite.pointer_mut(&place) {
            match slot {
                Value::Object(map) => { map.insert(key, value); }
                other => *other = value,
            }
        }
        let text = serde_json::to_string(&suite).expect("serialize");
        match format.parse(Path::new("fuzz.json"), &text) {
            Ok(_) => {}
            // A rejected suite must say where: this file, and a JSON pointer
            // into it (the place itself, or the object a key is missing from).
            Err(conform::Error::Suite { path, pointer, .. }) => {
                prop_assert_eq!(path, Path::new("fuzz.json"));
                prop_assert!(pointer.is_empty() || pointer.starts_with('/'), "not a pointer: {pointer:?}");
                let parent = pointer.rsplit_once('/').map_or("", |(p, _)| p);
                prop_assert!(
                    suite.pointer(&pointer).is_some() || suite.pointer(parent).is_some(),
                    "pointer {pointer:?} is not in the suite {text}"
                );
            }
            Err(other) => prop_assert!(false, "rejected without file and pointer: {other}"),
        }
    }

    #[test]
    fn interpolation_never_panics_and_leaves_plain_text_alone(text in ".{0,200}", name in "[a-z_]{1,8}", value in ".{0,20}") {
        let mut vars = Vars::default();
        vars.set(name.clone(), Value::String(value.clone()));
        let out = vars.text(&text);
        if !text.contains("${") {
            prop_assert_eq!(&out, &text);
        }
        prop_assert_eq!(vars.text(&format!("<${{{name}}}>")), format!("<{value}>"));
        let _ = vars.value(&json!({"a": [text, format!("${{{name}}}")]}));
    }

    #[test]
    fn fragment_comparison_names_the_part_that_differs(a in ".{0,120}", b in ".{0,120}") {
        let (base_a, frag_a) = split_fragment(&a);
        prop_assert!(!base_a.contains('#'));
        let rejoined = match frag_a { Some(f) => format!("{base_a}#{f}"), None => base_a.to_string() };
        prop_assert_eq!(&rejoined, &a, "split_fragment loses text");
        let (base_b, _) = split_fragment(&b);
        let said = describe_difference(&a, &b);
        if base_a == base_b {
            prop_assert!(["fragment removed", "fragment added", "fragment altered"].contains(&said.as_str()), "{said}");
        } else {
            prop_assert!(["URL altered", "URL altered before the fragment"].contains(&said.as_str()), "{said}");
        }
        // Removed one way is added the other way.
        let back = describe_difference(&b, &a);
        if said == "fragment removed" {
            prop_assert_eq!(back, "fragment added");
        } else if said == "fragment added" {
            prop_assert_eq!(back, "fragment removed");
        }
    }

    #[test]
    fn fragment_differences_are_named(path in "[a-zA-Z0-9_/]{0,40}", fragment in "[^#\\s]{1,80}", other in "[^#\\s]{1,80}") {
        let base = format!("https://checkout.stripe.com/c/pay/{path}");
        let full = format!("{base}#{fragment}");
        prop_assert_eq!(split_fragment(&full), (base.as_str(), Some(fragment.as_str())));
        prop_assert_eq!(describe_difference(&full, &base), "fragment removed");
        prop_assert_eq!(describe_difference(&base, &full), "fragment added");
        if other != fragment {
            prop_assert_eq!(describe_difference(&full, &format!("{base}#{other}")), "fragment altered");
        }
    }
}
