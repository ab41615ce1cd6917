//! Placeholders → concrete values (the rule is in the module doc of
//! [`crate::docs`]).

use serde_json::Value;

const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";
const PROSE_WORDS: usize = 5;

pub(super) fn concrete(value: &Value, key: &str) -> Value {
    match value {
        Value::String(s) => Value::String(concrete_string(s, key)),
        Value::Array(items) => Value::Array(items.iter().map(|v| concrete(v, key)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), concrete(v, k)))
                .collect(),
        ),
        other => other.clone(),
    }
}

pub(super) fn concrete_string(text: &str, key: &str) -> String {
    let words = text.split_whitespace().count();
    if words >= PROSE_WORDS {
        let mut names: Vec<&str> = Vec::new();
        for word in text.split_whitespace() {
            let word = word.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
            let snake = word.contains('_')
                && word.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if snake && !names.contains(&word) {
                names.push(word);
            }
        }
        return if names.is_empty() {
            format!("prose ({words} words)")
        } else {
            format!("prose ({words} words) naming {}", names.join(", "))
        };
    }
    if text == "..." {
        return derived(&format!("hex:{key}"), 64, HEX);
    }
    if text == "string" && key != "type" {
        return if key.is_empty() {
            "STRING".to_string()
        } else {
            key.to_uppercase().replace('-', "_")
        };
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("...") {
        let before = &rest[..at];
        let word_start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let word = &before[word_start..];
        let after_hash = before[..word_start].ends_with('#');
        out.push_str(&before[..word_start]);
        if after_hash {
            out.push_str(word);
            out.push_str(&derived(&format!("fragment:{word}"), 120, ALPHANUMERIC));
        } else if word == "cs_" {
            out.push_str("cs_test_");
            out.push_str(&fixed_id("cs"));
        } else if let Some(prefix) = word.strip_suffix('_') {
            out.push_str(word);
            out.push_str(&fixed_id(prefix));
        } else {
            out.push_str(word);
            out.push_str(&fixed_id(word));
        }
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    out
}

pub(super) fn fixed_id(prefix: &str) -> String {
    format!("01{}", derived(&format!("id:{prefix}"), 24, CROCKFORD))
}

fn derived(seed: &str, len: usize, alphabet: &[u8]) -> String {
    let mut state = crate::hash::fnv1a(seed.as_bytes());
    (0..len)
        .map(|_| {
            let z = crate::hash::splitmix64(state);
            state = state.wrapping_add(crate::hash::SPLITMIX_GAMMA);
            let at = usize::try_from(z % alphabet.len() as u64).unwrap_or(0);
            char::from(alphabet[at])
        })
        .collect()
}
