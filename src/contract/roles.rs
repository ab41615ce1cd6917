//! The role vocabulary: what a field means to conform, written in the
//! schemas as `"x-conform-role": "<role>"`. Checks, mock profiles and
//! redaction look fields up by role, so a release that renames or adds a
//! field needs a schema change, not a code change.
//!
//! The whole vocabulary code may name: these roles; operation ids
//! (`createCreditQuote`: the mock's handler table and the API model's links
//! use them); and CLI command argv (`capabilities show`). Everything else —
//! paths, request fields, commands, rails, fault answers
//! (`schemas/faults.json`), exit codes (`schemas/exit-codes.json`), the
//! mock's seed and margin (`mock.json`), its answers and the request fields
//! it reads (`answers.json`, under the mock's own names: `src/mock/answer.rs`)
//! — is read from data.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

pub const KEYWORD: &str = "x-conform-role";

/// A full Stripe Checkout URL: its `#fragment` is part of it.
pub const STRIPE_CHECKOUT_URL: &str = "stripe_checkout_url";
/// The short URL that redirects to the full Stripe Checkout URL.
pub const CHECKOUT_HANDOFF_URL: &str = "checkout_handoff_url";
/// The full Stripe URL or the handoff URL.
pub const CHECKOUT_COMPACT_URL: &str = "checkout_compact_url";
/// A credential: masked in every output.
pub const SECRET: &str = "secret";
/// A key that makes a retried mutation charge once.
pub const IDEMPOTENCY_KEY: &str = "idempotency_key";
/// A credit balance the ledger debits.
pub const CREDIT_BALANCE: &str = "credit_balance";
/// The envelope's id of one request, which people cite.
pub const TRACE_ID: &str = "trace_id";
/// The error envelope's machine-readable error code.
pub const ERROR_CODE: &str = "error_code";
/// The error envelope's message for people.
pub const ERROR_MESSAGE: &str = "error_message";
/// The success envelope's payload, which the endpoint's data schema checks.
pub const PAYLOAD: &str = "payload";

pub const ALL: [&str; 10] = [
    STRIPE_CHECKOUT_URL,
    CHECKOUT_HANDOFF_URL,
    CHECKOUT_COMPACT_URL,
    SECRET,
    IDEMPOTENCY_KEY,
    CREDIT_BALANCE,
    TRACE_ID,
    ERROR_CODE,
    ERROR_MESSAGE,
    PAYLOAD,
];

/// The roles the envelope schemas give their fields.
pub const ENVELOPE: [&str; 4] = [TRACE_ID, ERROR_CODE, ERROR_MESSAGE, PAYLOAD];

/// A field's JSON pointer as people read its name: `/error/code` is
/// `error.code`.
pub fn dotted(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

/// The role a schema node declares, if any.
pub fn role_of(schema: &Value) -> Option<&str> {
    schema.get(KEYWORD).and_then(Value::as_str)
}

/// JSON-pointer-like property paths (`/data/checkout_url`, `*` for array
/// items) under `schema` whose node, or the `$defs` entry it references in
/// `defs` (a `common.json`-style document) or in `schema` itself (`#/...`),
/// carries `role`. Bounded by depth.
pub fn fields_with_role(schema: &Value, defs: Option<&Value>, role: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let docs = Docs { root: schema, defs };
    walk(&docs, schema, role, String::new(), 0, &mut out);
    out
}

/// The last property names of the fields of `documents` (schema
/// documents by stem, `common` among them) that carry one of `wanted`:
/// how a field is named where only its name is seen (docs prose, a
/// profile that rewrites answers).
pub fn leaf_names(documents: &BTreeMap<String, Value>, wanted: &[&str]) -> BTreeSet<String> {
    let common = documents.get("common");
    let mut names = BTreeSet::new();
    for schema in documents.values() {
        for role in wanted {
            for path in fields_with_role(schema, common, role) {
                if let Some(last) = path
                    .rsplit('/')
                    .next()
                    .filter(|k| !k.is_empty() && *k != "*")
                {
                    names.insert(last.to_string());
                }
            }
        }
    }
    names
}

/// Where `$ref`s point: `#/...` into the schema's own document, anything
/// else into the shared definitions.
struct Docs<'a> {
    root: &'a Value,
    defs: Option<&'a Value>,
}

const MAX_DEPTH: usize = 24;

fn walk(
    docs: &Docs,
    node: &Value,
    role: &str,
    path: String,
    depth: usize,
    out: &mut BTreeSet<String>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let Some(map) = node.as_object() else { return };
    match role_of(node) {
        Some(found) if found == role => {
            out.insert(path.clone());
        }
        // A field with another role (compact = Stripe URL or handoff URL)
        // is that role only, whatever its branches reference.
        Some(_) => return,
        None => {}
    }
    if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
        if let Some((file, pointer)) = reference.split_once('#') {
            let doc = if file.is_empty() {
                Some(docs.root)
            } else {
                docs.defs
            };
            if let Some(target) = doc.and_then(|d| d.pointer(pointer)) {
                walk(docs, target, role, path.clone(), depth + 1, out);
            }
        }
    }
    if let Some(props) = map.get("properties").and_then(Value::as_object) {
        for (key, value) in props {
            walk(docs, value, role, format!("{path}/{key}"), depth + 1, out);
        }
    }
    if let Some(items) = map.get("items") {
        walk(docs, items, role, format!("{path}/*"), depth + 1, out);
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        for branch in map.get(key).and_then(Value::as_array).into_iter().flatten() {
            walk(docs, branch, role, path.clone(), depth + 1, out);
        }
    }
    for key in ["then", "else"] {
        if let Some(branch) = map.get(key) {
            walk(docs, branch, role, path.clone(), depth + 1, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_found_through_refs() {
        let common =
            json!({"$defs": {"u": {"type": "string", "x-conform-role": "stripe_checkout_url"}}});
        let schema = json!({"properties": {"a": {"$ref": "common.json#/$defs/u"},
            "next": {"properties": {"b": {"$ref": "common.json#/$defs/u"}}},
            "c": {"type": "string"}}});
        let found = fields_with_role(&schema, Some(&common), STRIPE_CHECKOUT_URL);
        assert_eq!(found.into_iter().collect::<Vec<_>>(), ["/a", "/next/b"]);
    }
}
