//! The mock's creative and catalog answers, byte for byte, in every
//! shipped contract version: one scripted session per version (models,
//! capabilities, creates and their dry runs, upload, edit, job, asset and
//! activity read-backs, the refusals) against a golden. Versions whose
//! answers are identical share one transcript. The answers are built from
//! data (templates, schemas, seed), so a change to how they are built must
//! leave this golden as it is; a change to what they say updates it, with
//! the reason in the commit.

mod common;

use conform::contract::Contract;
use conform::mock::{MockServer, Profile};
use serde_json::{Value, json};

const TOKEN: &str = "isk_r_mock_answers_golden_token_000000";

/// A 1×1 PNG, its byte length and SHA-256 (as in tests/mock.rs).
const PIXEL_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const PIXEL_SHA256: &str = "c414cd0e204de974f73753c7e28d7638e7b3691bb8b1a2bab6b25bb7fed7ce77";

/// One request of the script: the operation, its path ids, its body.
struct Step {
    operation: &'static str,
    ids: &'static [&'static str],
    body: Option<Value>,
}

fn step(operation: &'static str, ids: &'static [&'static str], body: Option<Value>) -> Step {
    Step {
        operation,
        ids,
        body,
    }
}

fn upload(filename: &str) -> Value {
    json!({
        "source_kind": "local_path",
        "filename": filename,
        "remote_origin": null,
        "mime_type": "image/png",
        "content_length": 70,
        "sha256": PIXEL_SHA256,
        "bytes_base64": PIXEL_PNG
    })
}

fn script() -> Vec<Step> {
    let models = [
        "xai.grok-imagine-image-quality",
        "xai.grok-imagine-image",
        "openai.gpt-image-2",
        "fal.flux-pro-kontext",
        "openai.gpt-image-2-edit",
        "fal.kling-image-o3-image-to-image",
    ];
    let mut steps = vec![
        step("listModels", &[], None),
        step("listCapabilities", &[], None),
    ];
    for id in models {
        let ids: &'static [&'static str] = Box::leak(Box::new([id]));
        steps.push(step("getModel", ids, None));
    }
    steps.push(step("getModel", &["no.such-model"], None));
    steps.extend([
        // Dry runs: the hosted default, lowered by a budget, a named
        // request-aware model with and without its pricing parameters.
        step(
            "createImage",
            &[],
            Some(json!({ "prompt": "a cat", "dry_run": true })),
        ),
        step(
            "createImage",
            &[],
            Some(json!({
                "prompt": "a cat", "dry_run": true, "aspect_ratio": "16:9",
                "max_estimated_usd_per_image": 0.03, "intent": "draft"
            })),
        ),
        step(
            "createImage",
            &[],
            Some(json!({
                "prompt": "a cat", "dry_run": true, "model": "openai.gpt-image-2",
                "model_parameters": { "quality": "high", "size": "1024x1536" }, "output_count": 2
            })),
        ),
        step(
            "createImage",
            &[],
            Some(json!({ "prompt": "a cat", "dry_run": true, "model": "openai.gpt-image-2" })),
        ),
        step(
            "createImage",
            &[],
            Some(json!({
                "prompt": "a cat", "dry_run": true,
                "model_parameters": { "resolution": "2k" }, "aspect_ratio": "2:3"
            })),
        ),
        // Refusals.
        step(
            "createImage",
            &[],
            Some(json!({ "prompt": "a cat", "image_url": "https://x.test/a.png" })),
        ),
        step(
            "createImage",
            &[],
            Some(json!({ "prompt": "a cat", "model_parameters": { "mask_url": "x" } })),
        ),
        step(
            "createImage",
            &[],
            Some(json!({ "prompt": "a cat", "model_parameters": 3 })),
        ),
        step(
            "createImage",
            &[],
            Some(json!({ "prompt": "a cat", "model": "fal.flux-pro-kontext" })),
        ),
        step(
            "createImage",
            &[],
            Some(json!({ "prompt": "a cat", "model": "nope" })),
        ),
        step(
            "createImage",
            &[],
            Some(json!({ "prompt": "a cat", "aspect_ratio": "9:1" })),
        ),
        step(
            "createImage",
            &[],
            Some(json!({ "prompt": "a cat", "output_count": 9 })),
        ),
        step(
            "createImage",
            &[],
            Some(json!({ "prompt": "a cat", "max_estimated_usd_per_image": 0.001 })),
        ),
        step(
            "createImage",
            &[],
            Some(json!({ "prompt": "a cat", "model": "openai.gpt-image-2" })),
        ),
        step(
            "createImage",
            &[],
            Some(json!({ "prompt": "conform:fail-artifact-storage" })),
        ),
        step(
            "createImage",
            &[],
            Some(json!({ "prompt": "a cat", "references": [{ "asset_id": "image_000001", "role": "style", "index": 0 }] })),
        ),
        step("createImage", &[], Some(json!({ "dry_run": "yes" }))),
        step("createImage", &[], Some(json!({ "prompt": "a cat", "stray": 1 }))),
        // Runs: the default, a named model with two outputs, an
        // unknown-cost one accepted.
        step(
            "createImage",
            &[],
            Some(json!({ "prompt": "a cat", "aspect_ratio": "16:9" })),
        ),
        step(
            "createImage",
            &[],
            Some(json!({
                "prompt": "two cats", "model": "xai.grok-imagine-image", "output_count": 2
            })),
        ),
        step(
            "createImage",
            &[],
            Some(json!({
                "prompt": "a cat", "model": "openai.gpt-image-2", "accept_unknown_cost": true
            })),
        ),
        step("uploadImage", &[], Some(upload("pixel.png"))),
        step("uploadImage", &[], Some(upload("dir/pixel.png"))),
        step(
            "uploadImage",
            &[],
            Some({
                let mut body = upload("pixel.png");
                body["source_kind"] = json!("remote_url");
                body["remote_origin"] = json!("https://images.example.test");
                body
            }),
        ),
        step(
            "uploadImage",
            &[],
            Some({
                let mut body = upload("pixel.gif");
                body["mime_type"] = json!("image/gif");
                body
            }),
        ),
        step(
            "editImage",
            &[],
            Some(json!({ "prompt": "make it blue", "input_asset_id": "image_000006" })),
        ),
        step(
            "editImage",
            &[],
            Some(json!({
                "prompt": "make it blue", "input_asset_id": "image_000006",
                "model": "fal.flux-pro-kontext", "model_parameters": { "seed": 7 }
            })),
        ),
        step(
            "editImage",
            &[],
            Some(json!({
                "prompt": "make it blue", "input_asset_id": "image_000006",
                "model": "openai.gpt-image-2-edit", "mask_asset_id": "image_000006",
                "accept_unknown_cost": true
            })),
        ),
        step(
            "editImage",
            &[],
            Some(json!({
                "prompt": "make it blue", "input_asset_id": "image_000006",
                "model": "openai.gpt-image-2-edit"
            })),
        ),
        step(
            "editImage",
            &[],
            Some(json!({
                "prompt": "make it blue", "input_asset_id": "image_000006", "max_usd": 0.001,
                "model": "fal.flux-pro-kontext"
            })),
        ),
        step(
            "editImage",
            &[],
            Some(json!({
                "prompt": "x", "input_asset_id": "image_000006",
                "model": "fal.kling-image-o3-image-to-image",
                "references": [{ "asset_id": "image_000006", "role": "element_frontal", "index": 0 }]
            })),
        ),
        step(
            "editImage",
            &[],
            Some(json!({ "prompt": "x", "input_asset_id": "image_999999" })),
        ),
        step("getJob", &["job_000001"], None),
        step("getJob", &["job_000002"], None),
        step("getJob", &["job_000004"], None),
        step("getJob", &["job_000006"], None),
        step("getJob", &["job_000007"], None),
        step("getJob", &["job_999999"], None),
        step("getAsset", &["image_000001"], None),
        step("getAsset", &["image_000006"], None),
        step("getAsset", &["image_999999"], None),
        step("listActivity", &[], None),
        step("getActivityReference", &["job_000001"], None),
        step("getQuota", &[], None),
        step(
            "runCliCommand",
            &[],
            Some(json!({ "argv": ["image-skill", "models", "list", "--json"] })),
        ),
        step(
            "runCliCommand",
            &[],
            Some(json!({ "argv": ["models", "show", "xai.grok-imagine-image"] })),
        ),
        step(
            "runCliCommand",
            &[],
            Some(json!({ "argv": ["jobs", "show", "job_000001"] })),
        ),
    ]);
    steps
}

/// The path of `operation` in this version, its `{…}` segments filled in
/// order; `None` when the version lacks the operation.
fn path(contract: &Contract, operation: &str, ids: &[&str]) -> Option<String> {
    let template = &contract.api().endpoint(operation)?.path;
    let mut ids = ids.iter();
    let filled: Vec<String> = template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                ids.next()
                    .map_or_else(|| segment.to_string(), |id| id.to_string())
            } else {
                segment.to_string()
            }
        })
        .collect();
    Some(filled.join("/"))
}

/// A session against the mock of `contract`, or of its API model alone
/// (`api_only`: answers unshaped by schemas, as tests/mock.rs starts it).
async fn transcript(contract: &Contract, api_only: bool) -> Vec<Value> {
    let server = if api_only {
        MockServer::start_for(
            contract.api(),
            Profile::Conformant,
            None,
            Some(TOKEN.into()),
        )
        .await
    } else {
        MockServer::start_for(contract, Profile::Conformant, None, Some(TOKEN.into())).await
    }
    .expect("mock starts");
    let base = server.base_url();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client");
    let mut out = Vec::new();
    for (n, step) in script().into_iter().enumerate() {
        let Some(path) = path(contract, step.operation, step.ids) else {
            out.push(json!({ "step": n, "operation": step.operation, "absent": true }));
            continue;
        };
        let method = contract
            .api()
            .endpoint(step.operation)
            .map(|e| e.method.to_ascii_uppercase())
            .unwrap_or_default();
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = client
            .request(method, format!("{base}{path}"))
            .bearer_auth(TOKEN);
        if let Some(body) = &step.body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("mock answers");
        let status = response.status().as_u16();
        // The body exactly as sent, but for the ephemeral port.
        let text = response
            .text()
            .await
            .expect("body")
            .replace(&base, "http://MOCK");
        out.push(json!({ "step": n, "operation": step.operation, "status": status, "body": text }));
    }
    server.shutdown().await;
    out
}

#[tokio::test(flavor = "current_thread")]
async fn creative_and_catalog_answers_are_unchanged_in_every_version() {
    conform::exec::http::install_tls_provider();
    let mut groups: Vec<(Vec<String>, Vec<Value>)> = Vec::new();
    for version in Contract::known_versions() {
        let contract = Contract::embedded(&version)
            .unwrap_or_else(|e| panic!("contract {version} loads: {e}"));
        let answers = transcript(&contract, false).await;
        match groups.iter_mut().find(|(_, t)| *t == answers) {
            Some((versions, _)) => versions.push(version),
            None => groups.push((vec![version], answers)),
        }
    }
    let contract = Contract::embedded("0.1.9").expect("0.1.9 loads");
    let answers = transcript(&contract, true).await;
    match groups.iter_mut().find(|(_, t)| *t == answers) {
        Some((versions, _)) => versions.push("api-model-0.1.9".to_string()),
        None => groups.push((vec!["api-model-0.1.9".to_string()], answers)),
    }
    let mut rendered = String::new();
    for (versions, answers) in &groups {
        rendered.push_str(&format!("== versions {}\n", versions.join(" ")));
        for answer in answers {
            rendered.push_str(&answer.to_string());
            rendered.push('\n');
        }
    }
    common::golden::assert_golden("mock/creative_catalog.txt", &rendered);
}
