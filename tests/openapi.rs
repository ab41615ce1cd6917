//! `conform openapi`: the generated document parses as OpenAPI 3.1, covers
//! every endpoint, keeps every `$ref` inside itself, carries each version's
//! Stripe URL rule, and accepts the docs' own examples.

use std::path::PathBuf;
use std::process::Command;

use conform::contract::Contract;
use conform::openapi::{self, Body, Endpoint, Response};

/// The API model of `version`: what the export must contain exactly.
fn endpoints(version: &str) -> Vec<Endpoint> {
    Contract::embedded(version)
        .expect("contract loads")
        .api()
        .endpoints
        .clone()
}
use serde::Deserialize;
use serde_json::{Value, json};

const VERSIONS: [&str; 2] = ["0.1.8", "0.1.9"];
const FULL_URL: &str = "https://checkout.stripe.com/c/pay/cs_test_1#fidabc";
const STRIPPED_URL: &str = "https://checkout.stripe.com/c/pay/cs_test_1";

fn document(version: &str) -> Value {
    openapi::embedded(version)
        .unwrap_or_else(|e| panic!("conform openapi --contract {version} fails: {e}"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// RFC 6901 escaping of one pointer token.
fn token(text: &str) -> String {
    text.replace('~', "~0").replace('/', "~1")
}

/// A jsonschema validator for the schema at `pointer` inside the document,
/// with every `$ref` resolved against the document itself.
fn validator_at(document: &Value, version: &str, pointer: &str) -> jsonschema::Validator {
    let uri = format!("https://conform.invalid/openapi/{version}.json");
    assert!(
        document.pointer(pointer).is_some(),
        "nothing at {pointer} in the {version} document"
    );
    let registry = jsonschema::Registry::new()
        .add(&uri, document.clone())
        .expect("the document is a resource")
        .prepare()
        .expect("the document assembles as a registry");
    jsonschema::options()
        .with_registry(&registry)
        .build(&json!({ "$ref": format!("{uri}#{}", fragment(pointer)) }))
        .unwrap_or_else(|e| panic!("{version}: schema at {pointer} does not compile: {e}"))
}

/// Percent-encodes what a URI fragment may not hold raw (`{`, `}`, ...).
fn fragment(pointer: &str) -> String {
    pointer
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~/$!&'()*+,;=:@".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn response_pointer(path: &str, method: &str, status: &str) -> String {
    format!(
        "/paths/{}/{}/responses/{status}/content/application~1json/schema",
        token(path),
        method.to_ascii_lowercase()
    )
}

fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("at `{}`: {e}", e.instance_path().as_str()))
        .collect()
}

#[test]
fn parses_as_openapi_3_1_with_every_endpoint() {
    for version in VERSIONS {
        // Arrange
        let text = serde_json::to_string(&document(version)).expect("serializes");

        // Act
        let spec = oas3::from_json(&text)
            .unwrap_or_else(|e| panic!("{version}: not an OpenAPI 3.1 document: {e}"));

        // Assert
        assert!(spec.openapi.starts_with("3.1"), "{}", spec.openapi);
        assert_eq!(spec.info.version, version);
        let paths = spec.paths.as_ref().expect("paths");
        let endpoints = endpoints(version);
        let templates: std::collections::BTreeSet<&str> =
            endpoints.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths.len(), templates.len(), "one path per path template");
        let operations: usize = paths
            .values()
            .map(|item| usize::from(item.get.is_some()) + usize::from(item.post.is_some()))
            .sum();
        assert_eq!(
            operations,
            endpoints.len(),
            "{version}: exactly the model's operations"
        );
        for endpoint in &endpoints {
            let item = paths
                .get(&endpoint.path)
                .unwrap_or_else(|| panic!("{version}: no path {}", endpoint.path));
            let operation = match endpoint.method.as_str() {
                "GET" => item.get.as_ref(),
                "POST" => item.post.as_ref(),
                other => panic!("unexpected method {other}"),
            }
            .unwrap_or_else(|| panic!("{version}: no {} {}", endpoint.method, endpoint.path));
            assert_eq!(
                operation.operation_id.as_deref(),
                Some(endpoint.operation_id.as_str())
            );
            assert_eq!(
                operation.request_body.is_some(),
                endpoint.body.is_some(),
                "{} {} request body",
                endpoint.method,
                endpoint.path
            );
            let status = match endpoint.response {
                Response::Data(_) => "200",
                Response::Redirect(_) => "303",
            };
            let resolved = operation.responses(&spec);
            assert_eq!(
                resolved.len(),
                operation.responses.as_ref().map_or(0, |r| r.len()),
                "{} {}: a response does not resolve",
                endpoint.method,
                endpoint.path
            );
            assert!(
                resolved.contains_key(status),
                "{} {} lacks a {status} response",
                endpoint.method,
                endpoint.path
            );
        }
        let components = spec.components.as_ref().expect("components");
        assert!(components.security_schemes.contains_key("bearer"));
    }
}

#[test]
fn llms_txt_endpoints_are_all_there() {
    // The endpoint list the contract extracted from llms.txt, by method and
    // path template (`{MODEL_ID}` there, `{model_id}` in OpenAPI).
    let placeholder = regex::Regex::new(r"\{[A-Z_]+\}").expect("placeholder regex");
    for version in VERSIONS {
        let path = root().join(format!("schemas/{version}/generated/endpoints.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("the contract's endpoint list {}: {e}", path.display()));
        let listed: Value = serde_json::from_str(&text).expect("endpoints.json parses");
        let listed = listed["endpoints"].as_array().expect("an endpoints array");
        assert!(
            listed.len() >= 10,
            "{version}: only {} endpoints listed",
            listed.len()
        );
        let document = document(version);
        for endpoint in listed {
            let method = endpoint["method"].as_str().expect("method");
            let template = endpoint["path"].as_str().expect("path");
            let path = placeholder.replace_all(template, |c: &regex::Captures<'_>| {
                c[0].to_ascii_lowercase()
            });
            assert!(
                document["paths"][path.as_ref()][method.to_ascii_lowercase()].is_object(),
                "{version}: {method} {path} (endpoints.json) is missing from the OpenAPI export"
            );
        }
    }
    let document = document("0.1.9");
    let handoff = &document["paths"]["/pay/{payment_attempt_id}"]["get"]["responses"]["303"];
    assert!(handoff["headers"]["Location"].is_object(), "{handoff}");
}

#[test]
fn auth_follows_the_docs() {
    let document = document("0.1.9");
    let public = [
        "/v1/agent-signups",
        "/v1/payment-methods",
        "/v1/credit-packs",
        "/v1/models",
        "/v1/models/{model_id}",
        "/v1/capabilities",
        "/healthz",
        "/pay/{payment_attempt_id}",
    ];
    for endpoint in endpoints("0.1.9") {
        let op = &document["paths"][&endpoint.path][endpoint.method.to_ascii_lowercase()];
        let is_public = public.contains(&endpoint.path.as_str());
        assert_eq!(endpoint.needs_token(), !is_public, "{}", endpoint.path);
        if is_public {
            assert_eq!(op["security"], json!([]), "{}", endpoint.path);
            assert!(op["responses"]["401"].is_null(), "{}", endpoint.path);
        } else {
            assert_eq!(
                op["security"],
                json!([{ "bearer": [] }]),
                "{}",
                endpoint.path
            );
            assert_eq!(
                op["responses"]["401"]["$ref"],
                "#/components/responses/Unauthorized"
            );
        }
    }
}

#[test]
fn documented_error_codes_are_declared_where_they_occur() {
    let document = document("0.1.9");
    let codes = |path: &str, range: &str| -> Vec<String> {
        document["paths"][path]["post"]["responses"][range]["x-error-codes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(codes("/v1/credit-quotes", "4XX"), ["CREDIT_QUOTE_CONFLICT"]);
    assert_eq!(codes("/v1/create", "4XX"), ["BUDGET_REQUIRES_CONFIRMATION"]);
    assert_eq!(
        codes("/v1/create", "5XX"),
        ["ARTIFACT_STORAGE_WRITE_FAILED"]
    );
    assert_eq!(codes("/v1/edit", "4XX"), ["BUDGET_REQUIRES_CONFIRMATION"]);
    assert_eq!(codes("/v1/upload", "4XX"), ["INPUT_POLICY_DENIED"]);
}

#[test]
fn every_ref_resolves_inside_the_document() {
    fn walk(node: &Value, at: &str, refs: &mut Vec<(String, String)>) {
        match node {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    refs.push((at.to_string(), r.clone()));
                }
                for (key, child) in map {
                    // Values of these keywords are data, not schemas.
                    if !["const", "enum", "examples", "default"].contains(&key.as_str()) {
                        walk(child, &format!("{at}/{}", token(key)), refs);
                    }
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{at}/{i}"), refs);
                }
            }
            _ => {}
        }
    }
    for version in VERSIONS {
        let document = document(version);
        let mut refs = Vec::new();
        walk(&document, "", &mut refs);
        assert!(refs.len() > 50, "suspiciously few refs: {}", refs.len());
        for (at, reference) in refs {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("{version}: {at} points outside: {reference}"));
            assert!(
                document.pointer(pointer).is_some(),
                "{version}: {at} → {reference} does not resolve"
            );
        }
    }
}

#[test]
fn stripe_url_fields_carry_each_versions_rule() {
    for version in VERSIONS {
        // Arrange
        let document = document(version);
        let common: Value = serde_json::from_str(
            &std::fs::read_to_string(root().join(format!("schemas/{version}/common.json")))
                .expect("common.json"),
        )
        .expect("common.json is JSON");
        let rule = &document["components"]["schemas"]["common.stripe_checkout_url"];
        let session = "/components/schemas/stripe-checkout-session/properties";
        let fields = [
            format!("{session}/checkout_url"),
            format!("{session}/next/properties/fallback_checkout_url"),
            "/components/schemas/credit-purchase-status.payment_attempt/properties/checkout_url"
                .to_string(),
        ];

        // Assert
        assert_eq!(
            rule["pattern"], common["$defs"]["stripe_checkout_url"]["pattern"],
            "{version}: the exported rule differs from the contract's"
        );
        for field in &fields {
            assert_eq!(
                document.pointer(field).map(|f| &f["$ref"]),
                Some(&json!("#/components/schemas/common.stripe_checkout_url")),
                "{version}: {field}"
            );
        }
        let url_rule = validator_at(
            &document,
            version,
            "/components/schemas/common.stripe_checkout_url",
        );
        let (full_ok, stripped_ok) = (
            url_rule.is_valid(&json!(FULL_URL)),
            url_rule.is_valid(&json!(STRIPPED_URL)),
        );
        match version {
            "0.1.9" => assert!(full_ok && !stripped_ok, "0.1.9 requires the fragment"),
            _ => assert!(!full_ok && stripped_ok, "0.1.8 strips the fragment"),
        }
        let location = &document["paths"]["/pay/{payment_attempt_id}"]["get"]["responses"]["303"]["headers"]
            ["Location"]["schema"]["$ref"];
        assert_eq!(location, "#/components/schemas/common.stripe_checkout_url");
    }
}

#[derive(Deserialize)]
struct Index {
    fixtures: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    file: String,
    schema: String,
    target: String,
}

/// Where in the document a fixture's schema is, and the instance to check.
fn fixture_case(entry: &Entry, value: Value) -> (String, Value) {
    match entry.target.as_str() {
        "data" => {
            let endpoint = endpoints("0.1.9")
                .into_iter()
                .find(|e| matches!(&e.response, Response::Data(name) if *name == entry.schema))
                .unwrap_or_else(|| panic!("no endpoint answers with `{}`", entry.schema));
            let envelope = json!({
                "ok": true,
                "command": endpoint.command,
                "trace_id": "trace_fixture",
                "actor": null,
                "data": value,
                "warnings": [],
                "error": null
            });
            (
                response_pointer(&endpoint.path, &endpoint.method, "200"),
                envelope,
            )
        }
        "request" => {
            let endpoint = endpoints("0.1.9")
                .into_iter()
                .find(
                    |e| matches!(&e.body, Some(Body::Schema { schema }) if *schema == entry.schema),
                )
                .unwrap_or_else(|| panic!("no endpoint takes `{}`", entry.schema));
            (
                format!(
                    "/paths/{}/{}/requestBody/content/application~1json/schema",
                    token(&endpoint.path),
                    endpoint.method.to_ascii_lowercase()
                ),
                value,
            )
        }
        _ => {
            // Whole bodies: the success envelope of the one endpoint whose
            // data may be any object, and the error envelope of the one
            // whose code the example shows.
            let pointer = if entry.schema == "success-envelope" {
                response_pointer("/v1/cli", "POST", "200")
            } else {
                response_pointer("/v1/credit-quotes", "POST", "4XX")
            };
            (pointer, value)
        }
    }
}

#[test]
fn every_fixture_validates_against_the_openapi_document() {
    let mut failures = Vec::new();
    for version in VERSIONS {
        let document = document(version);
        let dir = root().join("fixtures").join(version);
        let index: Index = serde_json::from_str(
            &std::fs::read_to_string(dir.join("index.json")).expect("index.json"),
        )
        .expect("index format");
        for entry in &index.fixtures {
            let value: Value = serde_json::from_str(
                &std::fs::read_to_string(dir.join(&entry.file)).expect("fixture"),
            )
            .expect("fixture is JSON");
            let (pointer, instance) = fixture_case(entry, value);
            let found = errors(&validator_at(&document, version, &pointer), &instance);
            if !found.is_empty() {
                failures.push(format!(
                    "{version}/{} against {pointer}:\n  {}",
                    entry.file,
                    found.join("\n  ")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_0_1_8_checkout_example_breaks_the_0_1_9_document() {
    // Arrange
    let document = document("0.1.9");
    let stripped: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("fixtures/0.1.8/credits-buy.json")).expect("fixture"),
    )
    .expect("JSON");
    let entry = Entry {
        file: "credits-buy.json".into(),
        schema: "stripe-checkout-session".into(),
        target: "data".into(),
    };
    let (pointer, instance) = fixture_case(&entry, stripped);

    // Act
    let found = errors(&validator_at(&document, "0.1.9", &pointer), &instance);

    // Assert
    assert!(
        found.iter().any(|e| e.contains("/data/checkout_url")),
        "the 0.1.9 document accepted fragment-stripped URLs: {found:?}"
    );
}

fn conform(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_conform"))
        .args(args)
        .output()
        .expect("conform runs")
}

#[test]
fn the_command_prints_or_writes_the_same_document() {
    // Arrange
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("nested/openapi.json");
    let out_arg = out.to_string_lossy().into_owned();

    // Act
    let printed = conform(&["openapi", "--contract", "0.1.8"]);
    let written = conform(&["openapi", "--contract", "0.1.8", "--out", &out_arg]);

    // Assert
    assert_eq!(printed.status.code(), Some(0), "{printed:?}");
    assert_eq!(written.status.code(), Some(0), "{written:?}");
    assert!(written.stdout.is_empty(), "--out must keep stdout empty");
    let file = std::fs::read(&out).expect("document written");
    assert_eq!(file, printed.stdout);
    let parsed: Value = serde_json::from_slice(&file).expect("JSON");
    assert_eq!(parsed, document("0.1.8"));
    let leftovers: Vec<_> = std::fs::read_dir(out.parent().expect("parent"))
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name() != "openapi.json")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn an_unknown_contract_is_invalid_input() {
    let output = conform(&["openapi", "--contract", "9.9.9"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown contract version `9.9.9`"),
        "{stderr}"
    );
}

#[test]
fn schemas_from_disk_give_the_embedded_document() {
    let from_disk = openapi::from_dir(&root().join("schemas"), "0.1.9").expect("loads");
    assert_eq!(from_disk, document("0.1.9"));
}
