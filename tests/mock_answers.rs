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

/// The nearest `answers.json` of `version`'s chain in the shipped schemas.
fn shipped_answers(version: &str) -> Value {
    serde_json::from_str(&common::shipped_file(version, "answers.json")).expect("JSON")
}

/// Renames the property `from` of a schema object to `to`, in
/// `properties` and `required` (at the top and in `anyOf` branches).
fn rename_property(schema: &mut Value, from: &str, to: &str) {
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        common::rename_key(props, from, to);
    }
    if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
        for name in required.iter_mut().filter(|n| *n == from) {
            *name = json!(to);
        }
    }
    for keyword in ["anyOf", "oneOf", "allOf"] {
        if let Some(branches) = schema.get_mut(keyword).and_then(Value::as_array_mut) {
            branches
                .iter_mut()
                .for_each(|b| rename_property(b, from, to));
        }
    }
}

/// A suite that creates an image, follows the job by the create answer's
/// `data_field` and checks the answer against the version's schema.
const RENAMED_SUITE: &str = r#"{
  "suite": "renamed-job-field",
  "scenarios": [
    {
      "name": "create-then-job",
      "steps": [
        {
          "name": "create",
          "request": { "method": "POST", "path": "/v1/create", "json": { "prompt": "a renamed job", "model": "xai.grok-imagine-image" } },
          "expect": { "status": 200, "schema": "create", "matches": { "/data/job_ref": "^job_" } },
          "captures": { "job": "/data/job_ref" }
        },
        {
          "name": "job",
          "request": { "method": "GET", "path": "/v1/jobs/${job}" },
          "expect": { "status": 200 }
        }
      ]
    }
  ]
}"#;

#[tokio::test(flavor = "current_thread")]
async fn a_version_renaming_the_create_answers_job_id_needs_data_only() {
    // Arrange: 9.9.9 extends the newest release; its create schema and
    // its answers call the job `job_ref`.
    let base = Contract::embedded("0.1.70").expect("0.1.70");
    let root = common::temp("renamed-job-field");
    let folder = root.join("9.9.9");
    std::fs::create_dir_all(&folder).expect("version folder");
    let write = |name: &str, value: &Value| {
        std::fs::write(
            folder.join(name),
            serde_json::to_string_pretty(value).expect("JSON"),
        )
        .expect("write")
    };
    write(
        "contract.json",
        &json!({ "version": "9.9.9", "extends": "0.1.70", "status": "draft" }),
    );
    let mut schema = base.raw("create").expect("create schema").clone();
    rename_property(&mut schema, "job_id", "job_ref");
    write("create.json", &schema);
    let mut answers = shipped_answers("0.1.70");
    let create = answers["operations"]["createImage"]
        .as_object_mut()
        .expect("a createImage template");
    common::rename_key(create, "job_id", "job_ref");
    write("answers.json", &answers);

    // Act: the mock of 9.9.9 in-process, then a run over HTTP.
    let renamed = Contract::from_dir(&root, "9.9.9").expect("9.9.9 loads from its folder");
    let server = MockServer::start_for(&renamed, Profile::Conformant, None, Some(TOKEN.into()))
        .await
        .expect("mock starts");
    conform::exec::http::install_tls_provider();
    let path = path(&renamed, "createImage", &[]).expect("9.9.9 creates");
    let reply: Value = reqwest::Client::new()
        .post(format!("{}{path}", server.base_url()))
        .bearer_auth(TOKEN)
        .json(&json!({ "prompt": "a renamed job", "model": "xai.grok-imagine-image" }))
        .send()
        .await
        .expect("mock answers")
        .json()
        .await
        .expect("JSON");
    server.shutdown().await;
    let suite = root.join("renamed.json");
    std::fs::write(&suite, RENAMED_SUITE).expect("suite");
    let (schemas, suite) = (root.to_string_lossy(), suite.to_string_lossy());
    let on_renamed = common::conform(&[
        "run",
        "--schemas",
        &schemas,
        "--contract",
        "9.9.9",
        "--suite",
        &suite,
        "-q",
    ]);
    let on_base = common::conform(&["run", "--contract", "0.1.70", "--suite", &suite, "-q"]);

    // Assert
    let data = &reply["data"];
    assert!(
        data["job_ref"]
            .as_str()
            .is_some_and(|j| j.starts_with("job_")),
        "the create answer of 9.9.9 does not name its job `job_ref`: {reply}"
    );
    assert!(
        data.get("job_id").is_none(),
        "the create answer kept the old name: {reply}"
    );
    assert!(
        renamed
            .validate("create", data)
            .expect("validates")
            .is_empty(),
        "the renamed answer breaks 9.9.9's own create schema: {data}"
    );
    assert_eq!(
        on_renamed.status.code(),
        Some(0),
        "{}{}",
        common::text(&on_renamed.stdout),
        common::text(&on_renamed.stderr)
    );
    // The same suite fails on the base, which still says `job_id`.
    assert_eq!(
        on_base.status.code(),
        Some(1),
        "{}{}",
        common::text(&on_base.stdout),
        common::text(&on_base.stderr)
    );
}
