//! Negative scenarios generated from the contract (`conform run
//! --negative`): for every endpoint that needs a token or takes a body,
//! requests a conformant server must refuse with a 4xx error envelope —
//! no token, a bad token, each required field missing, a wrong type, an
//! unknown field, an oversized value. One scenario per probe, so one
//! accepted probe never hides another.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::check;
use crate::contract::Contract;
use crate::contract::api::{Body, Endpoint, Kind};
use crate::suite::{
    Action, Auth, EnvelopeKind, Expect, Rejects, Request, Scenario, Step, Suite, Target,
};

/// Longer than any documented field may be: 64 KiB.
const OVERSIZED: usize = 64 * 1024;

pub const SUITE_NAME: &str = "negative";

/// The generated suite for `contract`.
pub fn suite(contract: &Contract) -> Suite {
    let mut scenarios = Vec::new();
    for endpoint in &contract.api().endpoints {
        let path = fill_path(&endpoint.path);
        let fields = endpoint.body.as_ref().map(|b| body_fields(b, contract));
        if endpoint.needs_token() {
            // A valid-looking body, so only the token is wrong.
            let body = fields.as_ref().map(base_body);
            let probes = [
                ("no token", Auth::None),
                ("a token the server never issued", Auth::Invalid),
            ];
            for (what, auth) in probes {
                scenarios.push(probe(
                    endpoint,
                    &path,
                    what,
                    auth,
                    body.clone(),
                    Rejects::Auth,
                ));
            }
        }
        if let Some(fields) = &fields {
            for (what, json) in body_probes(fields) {
                scenarios.push(probe(
                    endpoint,
                    &path,
                    &what,
                    Auth::Token,
                    Some(json),
                    Rejects::Data,
                ));
            }
        }
    }
    for (i, scenario) in scenarios.iter_mut().enumerate() {
        scenario.pointer = format!("/scenarios/{i}");
        for step in &mut scenario.steps {
            step.pointer = format!("/scenarios/{i}/steps/0");
        }
    }
    Suite {
        name: SUITE_NAME.into(),
        file: PathBuf::from(format!(
            "<negative scenarios generated from contract {}>",
            contract.version()
        )),
        description: Some("Requests a conformant server must refuse.".into()),
        vars: Vec::new(),
        // Made from the loaded contract's own endpoints: always applicable.
        needs: Default::default(),
        versions: None,
        scenarios,
    }
}

/// A request field as the probes see it.
#[derive(Debug, Clone)]
struct FieldInfo {
    name: String,
    kind: FieldKind,
    required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum FieldKind {
    String,
    Integer,
    Number,
    Boolean,
    Array,
    Object,
}

impl FieldKind {
    fn sample(self) -> Value {
        match self {
            FieldKind::String => json!("conform-negative-${run_id}"),
            FieldKind::Integer => json!(10),
            FieldKind::Number => json!(0.05),
            FieldKind::Boolean => json!(false),
            FieldKind::Array => json!([]),
            FieldKind::Object => json!({}),
        }
    }

    /// A value of another JSON type.
    fn wrong(self) -> Value {
        match self {
            FieldKind::String => json!(12345),
            _ => json!("conform-wrong-type"),
        }
    }
}

struct Fields {
    list: Vec<FieldInfo>,
    /// Exactly one of these is required.
    one_of: Vec<String>,
}

fn body_fields(body: &Body, contract: &Contract) -> Fields {
    match body {
        Body::Fields { fields, one_of } => Fields {
            list: fields
                .iter()
                .map(|f| FieldInfo {
                    name: f.name.to_string(),
                    kind: match f.kind {
                        Kind::Integer => FieldKind::Integer,
                        Kind::StringArray => FieldKind::Array,
                        // Component schemas of request fields are ids and enums: strings.
                        Kind::String | Kind::Schema(_) | Kind::Rail => FieldKind::String,
                    },
                    required: f.required,
                })
                .collect(),
            one_of: one_of.iter().map(|s| s.to_string()).collect(),
        },
        Body::Schema { schema } => schema_fields(contract.raw(schema)),
    }
}

/// Top-level properties of a request schema, with their JSON types.
fn schema_fields(schema: Option<&Value>) -> Fields {
    let required: Vec<&str> = schema
        .and_then(|s| s.get("required"))
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let props = schema
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object);
    let list = props
        .into_iter()
        .flatten()
        .map(|(name, prop)| {
            let ty = match prop.get("type") {
                Some(Value::String(t)) => t.as_str(),
                Some(Value::Array(types)) => types
                    .iter()
                    .filter_map(Value::as_str)
                    .find(|t| *t != "null")
                    .unwrap_or("string"),
                _ => "string",
            };
            FieldInfo {
                name: name.clone(),
                kind: match ty {
                    "integer" => FieldKind::Integer,
                    "number" => FieldKind::Number,
                    "boolean" => FieldKind::Boolean,
                    "array" => FieldKind::Array,
                    "object" => FieldKind::Object,
                    _ => FieldKind::String,
                },
                required: required.contains(&name.as_str()),
            }
        })
        .collect();
    Fields {
        list,
        one_of: Vec::new(),
    }
}

/// Required fields (and the first of a one-of) with sample values.
fn base_body(fields: &Fields) -> Value {
    let mut base = Map::new();
    for f in &fields.list {
        if f.required || fields.one_of.first() == Some(&f.name) {
            base.insert(f.name.clone(), f.kind.sample());
        }
    }
    Value::Object(base)
}

/// Every refusable variation of a valid body: (what it is, the body).
fn body_probes(fields: &Fields) -> Vec<(String, Value)> {
    let base = match base_body(fields) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let with = |change: &dyn Fn(&mut Map<String, Value>)| {
        let mut body = base.clone();
        change(&mut body);
        Value::Object(body)
    };
    let mut probes = Vec::new();
    for f in fields.list.iter().filter(|f| f.required) {
        probes.push((
            format!("missing {}", f.name),
            with(&|b| {
                b.remove(&f.name);
            }),
        ));
    }
    if let [first, second, ..] = fields.one_of.as_slice() {
        probes.push((
            format!("neither {first} nor {second}"),
            with(&|b| {
                for name in &fields.one_of {
                    b.remove(name);
                }
            }),
        ));
        let both: Vec<&FieldInfo> = fields
            .list
            .iter()
            .filter(|f| fields.one_of.contains(&f.name))
            .collect();
        probes.push((
            format!("both {first} and {second}"),
            with(&|b| {
                for f in &both {
                    b.insert(f.name.clone(), f.kind.sample());
                }
            }),
        ));
    }
    for f in &fields.list {
        probes.push((
            format!("{} of the wrong type", f.name),
            with(&|b| {
                b.insert(f.name.clone(), f.kind.wrong());
            }),
        ));
        let oversized = match f.kind {
            FieldKind::String => Some(json!("x".repeat(OVERSIZED))),
            FieldKind::Integer | FieldKind::Number => Some(json!(1_000_000_000_000_i64)),
            _ => None,
        };
        if let Some(value) = oversized {
            probes.push((
                format!("{} oversized", f.name),
                with(&|b| {
                    b.insert(f.name.clone(), value.clone());
                }),
            ));
        }
    }
    probes.push((
        "an unknown field".into(),
        with(&|b| {
            b.insert("conform_unknown_field".into(), json!("unexpected"));
        }),
    ));
    probes
}

fn probe(
    endpoint: &Endpoint,
    path: &str,
    what: &str,
    auth: Auth,
    json: Option<Value>,
    rejects: Rejects,
) -> Scenario {
    let name = format!("{} {}: {what}", endpoint.method, endpoint.path);
    let step = Step {
        name: what.to_string(),
        pointer: String::new(),
        action: Action::Http(Request {
            method: endpoint.method.to_string(),
            target: Target::Path(path.to_string()),
            auth,
            query: Vec::new(),
            headers: Vec::new(),
            json,
        }),
        expect: Expect::default()
            .with(
                check::envelope::KEY,
                // As a suite would spell them: the enums' serde names.
                json!(EnvelopeKind::Error),
                Arc::new(EnvelopeKind::Error),
            )
            .with(check::rejects::KEY, json!(rejects), Arc::new(rejects)),
        captures: Vec::new(),
    };
    Scenario {
        // Real paths in the name: generated suites are not bound by the
        // file format's no-slash rule, and `--filter /v1/quota` should work.
        name,
        pointer: String::new(),
        steps: vec![step],
        mock_only: false,
        needs: Default::default(),
        versions: None,
    }
}

/// `/v1/models/{model_id}` → `/v1/models/conform-negative`.
fn fill_path(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        match rest[open..].find('}') {
            Some(close) => {
                out.push_str("conform-negative");
                rest = &rest[open + close + 1..];
            }
            None => {
                rest = &rest[open..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_filled() {
        assert_eq!(
            fill_path("/v1/models/{model_id}"),
            "/v1/models/conform-negative"
        );
        assert_eq!(fill_path("/v1/quota"), "/v1/quota");
    }

    #[test]
    fn every_token_endpoint_gets_auth_probes_and_every_body_its_field_probes() -> crate::Result<()>
    {
        let contract = Contract::embedded("0.1.9")?;
        let suite = suite(&contract);
        let names: Vec<&str> = suite.scenarios.iter().map(|s| s.name.as_str()).collect();
        for endpoint in contract.api().endpoints.iter().filter(|e| e.needs_token()) {
            let prefix = format!("{} {}: no token", endpoint.method, endpoint.path);
            assert!(names.contains(&prefix.as_str()), "{prefix} missing");
        }
        for probe in [
            "POST /v1/credit-quotes: neither credits nor pack_id",
            "POST /v1/credit-quotes: credits of the wrong type",
            "POST /v1/credit-purchases: missing quote_id",
            "POST /v1/credit-purchases: idempotency_key oversized",
            "POST /v1/credit-purchases: an unknown field",
        ] {
            assert!(names.contains(&probe), "{probe} missing from {names:?}");
        }
        Ok(())
    }
}
