//! The shipped contract schemas against the docs' own examples.
//!
//! `fixtures/<version>/` holds the JSON examples of that version's docs made
//! concrete, listed in `index.json`. Each must pass its own version and, when
//! it carries Stripe Checkout URLs, fail the other version exactly at those
//! URLs: that difference is what conform exists to catch.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use conform::contract::{Contract, Violation};
use serde::Deserialize;
use serde_json::Value;

const VERSIONS: [&str; 2] = ["0.1.8", "0.1.9"];

/// The schema names every version must define.
const SCHEMA_NAMES: [&str; 26] = [
    "activity",
    "activity-reference",
    "agent-signup",
    "asset",
    "capabilities",
    "cli",
    "create",
    "create-request",
    "credit-packs",
    "credit-purchase-status",
    "credit-quote",
    "edit",
    "edit-request",
    "error-envelope",
    "fake-purchase",
    "healthz",
    "job",
    "model",
    "models",
    "payment-methods",
    "quota",
    "stripe-checkout-session",
    "success-envelope",
    "upload",
    "upload-request",
    "whoami",
];

/// Fields that hold a Stripe Checkout URL (or, for the compact one, may).
const URL_FIELDS: [&str; 3] = [
    "checkout_url",
    "checkout_compact_url",
    "fallback_checkout_url",
];
const STRIPE_PREFIX: &str = "https://checkout.stripe.com/";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Index {
    fixtures: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    file: String,
    schema: String,
    target: Target,
    source: String,
    checkout_urls: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Target {
    Data,
    Body,
    /// A request body a client sends (schemas named `*-request`).
    Request,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn index(version: &str) -> Vec<Entry> {
    let path = root().join("fixtures").join(version).join("index.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let index: Index = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} breaks the index format: {e}", path.display()));
    index.fixtures
}

fn fixture(version: &str, entry: &Entry) -> Value {
    read_json(&root().join("fixtures").join(version).join(&entry.file))
}

fn contract(version: &str) -> Contract {
    Contract::embedded(version).unwrap_or_else(|e| panic!("contract {version} does not load: {e}"))
}

fn other(version: &str) -> &'static str {
    if version == "0.1.9" { "0.1.8" } else { "0.1.9" }
}

/// Pointers of every field in `value` that holds a Stripe Checkout URL.
fn stripe_url_pointers(value: &Value) -> BTreeSet<String> {
    fn walk(value: &Value, pointer: &str, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let here = format!("{pointer}/{key}");
                    let is_stripe = child.as_str().is_some_and(|s| s.starts_with(STRIPE_PREFIX));
                    if URL_FIELDS.contains(&key.as_str()) && is_stripe {
                        out.insert(here.clone());
                    }
                    walk(child, &here, out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{pointer}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(value, "", &mut out);
    out
}

/// Every field pointer in `value`, to compare shapes.
fn field_pointers(value: &Value) -> BTreeSet<String> {
    fn walk(value: &Value, pointer: &str, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let here = format!("{pointer}/{key}");
                    out.insert(here.clone());
                    walk(child, &here, out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{pointer}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(value, "", &mut out);
    out
}

fn show(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("    at `{}`: {}", v.pointer, v.message))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn both_versions_are_embedded() {
    let known = Contract::known_versions();
    for version in VERSIONS {
        assert!(
            known.iter().any(|k| k == version),
            "contract {version} is not embedded: {known:?}"
        );
    }
}

#[test]
fn every_fixture_conforms_to_its_own_version() {
    let mut failures = Vec::new();
    for version in VERSIONS {
        let contract = contract(version);
        for entry in index(version) {
            let violations = contract
                .validate(&entry.schema, &fixture(version, &entry))
                .unwrap_or_else(|e| panic!("{version}/{}: {e}", entry.file));
            if !violations.is_empty() {
                failures.push(format!(
                    "{version}/{} ({}) breaks schema `{}`:\n{}",
                    entry.file,
                    entry.source,
                    entry.schema,
                    show(&violations)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "docs examples rejected by their own contract:\n{}",
        failures.join("\n")
    );
}

#[test]
fn checkout_urls_fail_the_other_version_exactly_at_the_urls() {
    for version in VERSIONS {
        let against = contract(other(version));
        for entry in index(version) {
            let value = fixture(version, &entry);
            let urls = stripe_url_pointers(&value);
            assert_eq!(
                entry.checkout_urls,
                !urls.is_empty(),
                "{version}/index.json says checkout_urls: {} for {}, but its Stripe URL fields are {urls:?}",
                entry.checkout_urls,
                entry.file
            );
            let violations = against
                .validate(&entry.schema, &value)
                .expect("schema name is known");
            let pointers: BTreeSet<String> = violations.iter().map(|v| v.pointer.clone()).collect();
            if !entry.checkout_urls {
                assert!(
                    violations.is_empty(),
                    "{version}/{} has no Stripe URLs yet contract {} rejects it:\n{}",
                    entry.file,
                    other(version),
                    show(&violations)
                );
                continue;
            }
            assert_eq!(
                pointers,
                urls,
                "contract {} must reject {version}/{} at its Stripe URLs and nowhere else; violations:\n{}",
                other(version),
                entry.file,
                show(&violations)
            );
            assert!(
                urls.contains("/checkout_url") || urls.contains("/payment_attempt/checkout_url")
            );
        }
    }
}

#[test]
fn buy_fixture_covers_every_url_field() {
    for version in VERSIONS {
        let entry = index(version)
            .into_iter()
            .find(|e| e.file == "credits-buy.json")
            .expect("credits-buy.json is indexed");
        let urls = stripe_url_pointers(&fixture(version, &entry));
        for pointer in [
            "/checkout_url",
            "/checkout_compact_url",
            "/next/checkout_compact_url",
            "/next/fallback_checkout_url",
        ] {
            assert!(
                urls.contains(pointer),
                "{version}/credits-buy.json lacks {pointer}"
            );
        }
    }
}

#[test]
fn every_schema_file_compiles() {
    let schemas = root().join("schemas");
    for version in VERSIONS {
        let from_disk = Contract::from_dir(&schemas, version)
            .unwrap_or_else(|e| panic!("schemas/{version} does not compile: {e}"));
        let embedded = contract(version);
        assert_eq!(from_disk.schema_names(), embedded.schema_names());
        // A version holds only what differs from its base: the schemas are
        // every schema file along its `extends` chain.
        let mut stems: Vec<String> = embedded
            .chain()
            .iter()
            .flat_map(|v| {
                std::fs::read_dir(schemas.join(v))
                    .expect("version folder is readable")
                    .map(|e| e.expect("folder entry").path())
                    .collect::<Vec<_>>()
            })
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .filter(|s| !["common", "contract", "api", "mock", "answers"].contains(&s.as_str()))
            .collect();
        stems.sort();
        stems.dedup();
        assert_eq!(
            embedded.schema_names(),
            stems,
            "every file of schemas/{version} is a compiled schema"
        );
        assert_eq!(embedded.version(), version);
    }
}

#[test]
fn versions_define_the_same_schema_names() {
    for version in VERSIONS {
        assert_eq!(
            contract(version).schema_names(),
            SCHEMA_NAMES,
            "schema names of {version}"
        );
    }
}

#[test]
fn every_fixture_file_is_indexed() {
    for version in VERSIONS {
        let dir = root().join("fixtures").join(version);
        let entries = index(version);
        let contract = contract(version);
        let listed: BTreeSet<&str> = entries.iter().map(|e| e.file.as_str()).collect();
        assert_eq!(
            listed.len(),
            entries.len(),
            "fixtures/{version}/index.json lists a file twice"
        );
        let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
            .expect("fixture folder is readable")
            .map(|e| e.expect("folder entry"))
            // generated/ holds `contracts extract` output, checked elsewhere.
            .filter(|e| e.path().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name != "index.json")
            .collect();
        for name in &on_disk {
            assert!(
                listed.contains(name.as_str()),
                "fixtures/{version}/{name} is not in index.json, so nothing checks it"
            );
        }
        for entry in &entries {
            assert!(
                on_disk.contains(&entry.file),
                "fixtures/{version}/index.json lists missing {}",
                entry.file
            );
            assert!(
                contract.has_schema(&entry.schema),
                "{}: unknown schema `{}`",
                entry.file,
                entry.schema
            );
            let is_envelope = entry.schema.ends_with("-envelope");
            assert_eq!(
                entry.target == Target::Body,
                is_envelope,
                "{}: envelope schemas take the body, the others take data",
                entry.file
            );
            assert_eq!(
                entry.target == Target::Request,
                entry.schema.ends_with("-request"),
                "{}: request schemas take a request body, the others a response",
                entry.file
            );
            assert!(
                !entry.source.is_empty(),
                "{}: say which doc example it is",
                entry.file
            );
        }
    }
}

#[test]
fn both_versions_hold_the_same_fixtures() {
    let names = |v: &str| {
        index(v)
            .into_iter()
            .map(|e| (e.file, e.schema, e.checkout_urls))
            .collect::<Vec<_>>()
    };
    assert_eq!(names("0.1.8"), names("0.1.9"));
}

// Docs examples, straight from the contract documents.

/// Concrete values for the docs' `..._...` placeholders.
const PLACEHOLDERS: [(&str, &str); 15] = [
    (
        "#fid...",
        "#fidkdWxOYHwnPyd1blpxYHZxWjA0VU1Kb2pQT0JiSFJVUDFKf2JEMmFnZ3RD",
    ),
    ("cs_...", "cs_test_a1B2c3D4e5F6g7H8i9J0"),
    ("quote_...", "quote_01JZ8K3M4N5P6Q7R8S9T0V1W2X"),
    ("payatt_...", "payatt_01JZ8K4A7B9C2D4E6F8G0H2J4K"),
    ("receipt_...", "receipt_01JZ8K5B8C0D2E4F6G8H0J2K4M"),
    (
        "credit_event_...",
        "credit_event_01JZ8K5C9D1E3F5G7H9J1K3M5N",
    ),
    ("trace_...", "trace_01JZ8K2B3C4D5E6F7G8H9J0K1M"),
    ("agt_...", "agt_01JZ8JZ5Q6R7S8T9V0W1X2Y3Z4"),
    ("org_...", "org_01JZ8JY4P5Q6R7S8T9V0W1X2Y3"),
    ("job_...", "job_01JZ8K6D0E2F4G6H8J0K2M4N6P"),
    ("image_...", "image_01JZ8K6E1F3G5H7J9K1M3N5P7Q"),
    ("evt_...", "evt_01JZ8K6F2G4H6J8K0M2N4P6Q8R"),
    ("usage_...", "usage_01JZ8K6G3H5J7K9M1N3P5Q7R9S"),
    // The upload example elides the digest entirely.
    (
        "\"sha256\": \"...\"",
        "\"sha256\": \"5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef\"",
    ),
    // The docs write the error code's type where a code goes.
    (
        "\"code\": \"string\"",
        "\"code\": \"CREDIT_QUOTE_CONFLICT\"",
    ),
];

/// cli.md command heading → (schema, fixture made from its example).
const CLI_EXAMPLES: [(&str, &str, &str); 11] = [
    (
        "image-skill credits methods",
        "payment-methods",
        "credits-methods.json",
    ),
    (
        "image-skill credits packs list",
        "credit-packs",
        "credits-packs-list.json",
    ),
    (
        "image-skill credits quote",
        "credit-quote",
        "credits-quote.json",
    ),
    (
        "image-skill credits buy",
        "stripe-checkout-session",
        "credits-buy.json",
    ),
    (
        "image-skill credits status",
        "credit-purchase-status",
        "credits-status.action-required.json",
    ),
    (
        "image-skill credits fake-purchase",
        "fake-purchase",
        "credits-fake-purchase.json",
    ),
    ("image-skill create", "create", "create.json"),
    ("image-skill upload", "upload", "upload.json"),
    // The only JSON under `edit` is the direct /v1/edit request body.
    ("image-skill edit", "edit-request", "edit.request.json"),
    ("image-skill assets show", "asset", "assets-show.json"),
    (
        "image-skill activity list",
        "activity",
        "activity-list.json",
    ),
];

/// llms.txt label → (schema, fixture).
const LLMS_EXAMPLES: [(&str, &str, &str); 2] = [
    (
        "Expected JSON envelope:",
        "success-envelope",
        "envelope.success.json",
    ),
    (
        "Expected error envelope:",
        "error-envelope",
        "envelope.error.json",
    ),
];

fn concrete(text: &str) -> String {
    PLACEHOLDERS
        .iter()
        .fold(text.to_string(), |text, (from, to)| text.replace(from, to))
}

/// The ```json blocks under the `### `heading`` of cli.md, up to the next heading.
fn cli_json_blocks(markdown: &str, heading: &str) -> Vec<String> {
    let wanted = format!("### `{heading}`");
    let mut blocks = Vec::new();
    let mut in_section = false;
    let mut block: Option<String> = None;
    for line in markdown.lines() {
        if let Some(text) = block.as_mut() {
            if line.trim_start().starts_with("```") {
                blocks.push(std::mem::take(text));
                block = None;
            } else {
                text.push_str(line);
                text.push('\n');
            }
        } else if line.starts_with("### ") || line.starts_with("## ") {
            in_section = line.trim_end() == wanted;
        } else if in_section && line.trim() == "```json" {
            block = Some(String::new());
        }
    }
    blocks
}

/// The first JSON value after `label` in llms.txt.
fn llms_example(text: &str, label: &str) -> Option<String> {
    let after = &text[text.find(label)? + label.len()..];
    let start = after.find('{')?;
    let mut stream = serde_json::Deserializer::from_str(&after[start..]).into_iter::<Value>();
    stream.next()?.ok()?;
    // The raw text, not a re-serialization, so placeholders match as written.
    Some(after[start..start + stream.byte_offset()].to_string())
}

#[test]
fn docs_examples_conform() {
    let docs = root().join("../shared/contracts");
    if !docs.is_dir() {
        common::skip("../shared/contracts not found (the published docs)");
        return;
    }
    let mut failures = Vec::new();
    for version in VERSIONS {
        let own = contract(version);
        let rival = contract(other(version));
        let read = |name: &str| {
            let path = docs.join(version).join(name);
            std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        };
        let cli = read("cli.md");
        let llms = read("llms.txt");
        let mut examples = Vec::new();
        for (heading, schema, fixture) in CLI_EXAMPLES {
            let blocks = cli_json_blocks(&cli, heading);
            assert_eq!(
                blocks.len(),
                1,
                "{version}/cli.md: expected one JSON example under `{heading}`"
            );
            examples.push((
                format!("cli.md `{heading}`"),
                schema,
                fixture,
                blocks[0].clone(),
            ));
        }
        for (label, schema, fixture) in LLMS_EXAMPLES {
            let text = llms_example(&llms, label)
                .unwrap_or_else(|| panic!("{version}/llms.txt: no JSON example after `{label}`"));
            examples.push((format!("llms.txt `{label}`"), schema, fixture, text));
        }
        for (source, schema, fixture, text) in examples {
            let value: Value = serde_json::from_str(&concrete(&text)).unwrap_or_else(|e| {
                panic!("{version}/{source}: example is not JSON after filling placeholders: {e}")
            });
            let violations = own.validate(schema, &value).expect("schema name is known");
            if !violations.is_empty() {
                failures.push(format!(
                    "{version} {source} breaks `{schema}`:\n{}",
                    show(&violations)
                ));
            }
            let urls = stripe_url_pointers(&value);
            if !urls.is_empty() {
                let rejected: BTreeSet<String> = rival
                    .validate(schema, &value)
                    .expect("schema name is known")
                    .into_iter()
                    .map(|v| v.pointer)
                    .collect();
                if rejected != urls {
                    failures.push(format!(
                        "{version} {source}: contract {} should reject exactly {urls:?}, rejected {rejected:?}",
                        other(version)
                    ));
                }
            }
            let ours = read_json(&root().join("fixtures").join(version).join(fixture));
            if field_pointers(&ours) != field_pointers(&value) {
                failures.push(format!(
                    "{version}/{fixture} no longer has the fields of {source}: only in fixture {:?}, only in docs {:?}",
                    field_pointers(&ours).difference(&field_pointers(&value)).collect::<Vec<_>>(),
                    field_pointers(&value).difference(&field_pointers(&ours)).collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "docs examples disagree with the schemas:\n{}",
        failures.join("\n")
    );
}

// Shapes the docs describe in words only, and breakages the schemas must catch.

/// (schema, instance, pointers of the expected violations; empty = valid).
fn shape_cases() -> Vec<(&'static str, Value, Vec<&'static str>)> {
    use serde_json::json;
    let quote = json!({"quote_id": "quote_01JZ8K3M4N5P6Q7R8S9T0V1W2X", "credits": 10});
    let dry_cost = json!({"estimated_usd": 0.05, "credit_pricing": {
        "credit_unit_usd": 0.01, "credits_required": 9, "estimated_provider_cost_usd": 0.05,
        "estimated_revenue_usd": 0.09, "pricing_confidence": "known"
    }});
    vec![
        (
            "credit-purchase-status",
            json!({"state": "created", "quote": quote, "payment_attempt": null, "receipt": null, "credit_event": null}),
            vec![],
        ),
        (
            "credit-purchase-status",
            json!({"state": "created", "quote": quote, "payment_attempt": {}, "receipt": null, "credit_event": null}),
            vec!["/payment_attempt"],
        ),
        (
            "credit-purchase-status",
            json!({
                "state": "succeeded", "quote": quote, "payment_attempt": null,
                "receipt": {"receipt_id": "receipt_1"}, "credit_event": {"credit_event_id": "credit_event_1"},
                "limits": {"credits": {"balance": 510}}
            }),
            vec![],
        ),
        (
            "credit-purchase-status",
            json!({"state": "succeeded", "receipt": null, "credit_event": {}}),
            vec!["", "/receipt"],
        ),
        (
            "credit-purchase-status",
            json!({"state": "expired", "quote": quote, "receipt": null, "credit_event": null}),
            vec![],
        ),
        (
            "fake-purchase",
            json!({
                "state": "succeeded", "quote_id": "quote_1", "receipt_id": "receipt_1",
                "credit_event_id": "credit_event_1", "credits_granted": 10, "amount_cents": 10,
                "currency": "USD", "accepted_payment_method": "fake", "idempotency_key": "k",
                "balance_after": 10, "live_money": true
            }),
            vec!["/live_money"],
        ),
        (
            "success-envelope",
            json!({"ok": true, "command": "credits methods", "trace_id": "trace_1", "actor": null,
                   "data": {}, "warnings": [], "error": null}),
            vec![],
        ),
        (
            "success-envelope",
            json!({"ok": true, "command": "whoami", "trace_id": "t1",
                   "actor": {"actor_type": "agent", "actor_id": "agt_1", "organization_id": "org_1"},
                   "data": {}, "warnings": [], "error": null}),
            vec!["/actor", "/trace_id"],
        ),
        (
            "error-envelope",
            json!({"ok": false, "command": "credits quote", "trace_id": "trace_1", "actor": null,
                   "data": null, "warnings": [],
                   "error": {"code": "quote conflict", "message": "m", "retryable": false,
                             "recovery": {"suggested_command": "image-skill credits quote --json"}}}),
            vec!["/error/code"],
        ),
        (
            "quota",
            json!({"credits": {"balance": 40}, "jobs": {"daily_limit": 2}}),
            vec![],
        ),
        (
            "quota",
            json!({"credits": {"balance": "40"}}),
            vec!["/credits/balance"],
        ),
        (
            "whoami",
            json!({"actor_type": "agent", "actor_id": "agt_1", "organization_id": "org_1",
                   "claim_state": "unclaimed", "token_class": "restricted", "grants": ["create.preview"]}),
            vec![],
        ),
        (
            "whoami",
            json!({"actor_type": "robot", "actor_id": "agt_1", "organization_id": "org_1", "claim_state": "unclaimed"}),
            vec!["", "/actor_type"],
        ),
        ("healthz", json!({"status": "ok"}), vec![]),
        ("healthz", json!({}), vec![""]),
        // A dry run plans only: nothing is consumed, no job or asset needed.
        (
            "create",
            json!({
                "job_id": null, "capability": {"id": "is.image.generate.preview.v1"}, "assets": [],
                "cost": dry_cost.clone(), "request": {"output_count": 1, "dry_run": true},
                "safety": {"status": "allowed"}, "quota": {"consumed_credits": 0}
            }),
            vec![],
        ),
        (
            "create",
            json!({
                "job_id": null, "capability": {"id": "is.image.generate.preview.v1"}, "assets": [],
                "cost": dry_cost.clone(), "request": {"output_count": 1, "dry_run": true},
                "safety": {"status": "allowed"}, "quota": {"consumed_credits": 9}
            }),
            vec!["/quota/consumed_credits"],
        ),
        (
            "create",
            json!({
                "job_id": null, "capability": {"id": "is.image.generate.preview.v1"}, "assets": [],
                "cost": dry_cost, "request": {"output_count": 1},
                "safety": {"status": "allowed"}, "prompt": "a raw prompt"
            }),
            vec!["/assets", "/job_id", "/prompt"],
        ),
        (
            "activity",
            json!({"events": [{
                "event_id": "evt_1", "type": "job.started", "occurred_at": "2026-05-05T19:00:23.000Z",
                "summary": "s", "operation": "create", "subject": {"type": "job", "id": "job_1"}, "links": {}
            }], "source": "hosted_activity_ledger"}),
            vec!["/events/0/type"],
        ),
        (
            "activity",
            json!({"events": [{
                "event_id": "evt_1", "type": "job.completed", "occurred_at": "2026-05-05T19:00:23.000Z",
                "summary": "s", "operation": "upload", "subject": {"type": "asset", "id": "image_1"},
                "links": {"job_id": "job_1", "asset_ids": []}
            }], "source": "hosted_activity_ledger"}),
            vec![
                "/events/0/links",
                "/events/0/operation",
                "/events/0/subject/type",
            ],
        ),
        (
            "upload",
            json!({
                "request": {"source_kind": "local_path", "filename": "/home/me/source.png", "remote_origin": "https://example.com/source.png"},
                "asset": {"asset_id": "image_1", "job_id": "job_1", "kind": "uploaded", "url": "https://media.image-skill.com/a/image_1.png", "mime_type": "image/svg+xml", "content_length": 1},
                "upload": {"bytes": 1, "mime_type": "image/png", "sha256": "abc", "policy": {"status": "allowed"}, "bytes_base64": "iVBO"}
            }),
            vec![
                "/asset/mime_type",
                "/request/filename",
                "/request/remote_origin",
                "/upload/bytes_base64",
                "/upload/sha256",
            ],
        ),
        (
            "edit-request",
            json!({
                "input_asset_id": "image_1", "prompt": "p", "image_urls": ["https://example.com/a.png"],
                "first_reference_task": "id",
                "references": [{"asset_id": "https://example.com/b.png", "role": "element_frontal", "index": 0, "reference_task": "id"}]
            }),
            vec!["", "/image_urls", "/references/0", "/references/0/asset_id"],
        ),
        ("agent-signup", json!({"token": "isk_r_abc"}), vec![]),
        (
            "agent-signup",
            json!({"token": "sk_live_abc"}),
            vec!["/token"],
        ),
        (
            "model",
            json!({"model_id": "xai.grok-imagine-image", "media": {"output": {"max_outputs_per_request": 0}}}),
            vec!["/media/output/max_outputs_per_request"],
        ),
    ]
}

#[test]
fn described_shapes_and_breakages() {
    let mut failures = Vec::new();
    for version in VERSIONS {
        let contract = contract(version);
        for (i, (schema, instance, expected)) in shape_cases().into_iter().enumerate() {
            let found = contract
                .validate(schema, &instance)
                .expect("schema name is known");
            let pointers: BTreeSet<&str> = found.iter().map(|v| v.pointer.as_str()).collect();
            let expected: BTreeSet<&str> = expected.into_iter().collect();
            if pointers != expected {
                failures.push(format!(
                    "{version} case {i} (`{schema}`): expected violations at {expected:?}, got:\n{}",
                    show(&found)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn url_rules_per_version() {
    use serde_json::json;
    let full = "https://checkout.stripe.com/c/pay/cs_test_1#fidabc";
    let stripped = "https://checkout.stripe.com/c/pay/cs_test_1";
    let handoff_mock = "http://127.0.0.1:41234/pay/payatt_01JZ";
    // (url, valid as checkout_url in 0.1.8, in 0.1.9, valid as compact in 0.1.8, in 0.1.9)
    let cases = [
        (full, false, true, false, true),
        (stripped, true, false, true, false),
        (
            "https://checkout.stripe.com/c/pay/cs_test_1#",
            false,
            false,
            false,
            false,
        ),
        (handoff_mock, false, false, true, true),
        (
            "https://api.image-skill.com/pay/payatt_01JZ#x",
            false,
            false,
            false,
            false,
        ),
        (
            "https://evil.example/c/pay/cs_test_1#fidabc",
            false,
            false,
            false,
            false,
        ),
    ];
    for version in VERSIONS {
        let contract = contract(version);
        for (url, url_18, url_19, compact_18, compact_19) in cases {
            let (want_url, want_compact) = if version == "0.1.8" {
                (url_18, compact_18)
            } else {
                (url_19, compact_19)
            };
            // A state without its own rules, so only the URL rule can fail.
            let status = |field: &str| {
                let instance = json!({
                    "state": "canceled", "receipt": null, "credit_event": null,
                    "payment_attempt": {field: url}
                });
                contract
                    .validate("credit-purchase-status", &instance)
                    .expect("known")
                    .is_empty()
            };
            assert_eq!(
                status("checkout_url"),
                want_url,
                "{version}: checkout_url {url}"
            );
            assert_eq!(
                status("checkout_compact_url"),
                want_compact,
                "{version}: checkout_compact_url {url}"
            );
        }
    }
}
