//! The API's facts are data (`schemas/<v>/api.json`, `mock.json`,
//! `faults.json`, `exit-codes.json`): no endpoint path may come back into
//! the code outside tests. Role names and operation ids are the vocabulary
//! code may name (see `src/contract/roles.rs`).

mod common;

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The lines of `text` that are code, not tests or comments: everything
/// before the file's `#[cfg(test)]` module, without `//` comments.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, line)| line.trim() != "#[cfg(test)]")
        .map(|(i, line)| (i + 1, line))
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
}

fn endpoint_literals(text: &str) -> Vec<(usize, String)> {
    code_lines(text)
        .filter(|(_, line)| line.contains("\"/v1/") || line.contains("\"/v1\""))
        .map(|(n, line)| (n, line.trim().to_string()))
        .collect()
}

#[test]
fn no_endpoint_path_literal_in_non_test_code() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(
        files.len() > 20,
        "found only {} files under src/",
        files.len()
    );
    let mut offenders = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable source");
        for (line, code) in endpoint_literals(&text) {
            offenders.push(format!("{}:{line}: {code}", file.display()));
        }
    }
    assert!(
        offenders.is_empty(),
        "endpoint paths belong in the API model (schemas/<v>/api.json), not in src/:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_scan_sees_code_and_skips_tests_and_comments() {
    let text =
        "fn a() { get(\"/v1/x\") }\n// \"/v1/comment\"\n#[cfg(test)]\nmod tests { \"/v1/t\" }\n";
    assert_eq!(
        endpoint_literals(text),
        [(1, "fn a() { get(\"/v1/x\") }".to_string())]
    );
}

/// What in `text` builds an answer or reads a request by API name: a
/// `json!` object literal with a string key, `.insert("…"` or
/// `["…"] =`, on code lines (see [`code_lines`]).
fn answers_in_code(text: &str) -> Vec<(usize, String)> {
    let lines: Vec<(usize, &str)> = code_lines(text).collect();
    let mut out = Vec::new();
    for (i, (n, line)) in lines.iter().enumerate() {
        let next = lines.get(i + 1).map_or("", |(_, l)| l.trim_start());
        let object_literal = line.match_indices("json!({").any(|(at, m)| {
            let rest = line[at + m.len()..].trim_start();
            rest.starts_with('"') || (rest.is_empty() && next.starts_with('"'))
        });
        let keyed = line.contains(".insert(\"") || {
            let mut found = false;
            for (at, _) in line.match_indices("[\"") {
                if let Some(end) = line[at + 2..].find("\"]") {
                    found |= line[at + 2 + end + 2..].trim_start().starts_with("= ");
                }
            }
            found
        };
        if object_literal || keyed {
            out.push((*n, line.trim().to_string()));
        }
    }
    out
}

/// Request values read by a literal field name: a string literal as the
/// field of the handlers' readers (`required_str(body, "prompt")`) or a
/// `body.get("…")` / `item.get("…")`, on code lines. Field names come from
/// the version's request maps (`answers.json` `requests`).
fn reads_by_name(text: &str) -> Vec<(usize, String)> {
    const READERS: &[&str] = &[
        "required_str(",
        "optional_str(",
        "optional_bool(",
        "optional_count(",
        "optional_usd(",
        "optional_credits(",
    ];
    code_lines(text)
        .filter(|(_, line)| {
            let literal_field = READERS.iter().any(|reader| {
                line.match_indices(reader).any(|(at, m)| {
                    let args = &line[at + m.len()..];
                    // The second argument: after the first top-level comma.
                    let mut depth = 0usize;
                    let comma = args.char_indices().find(|(_, c)| match c {
                        '(' | '[' => {
                            depth += 1;
                            false
                        }
                        ')' | ']' => {
                            depth = depth.saturating_sub(1);
                            false
                        }
                        ',' => depth == 0,
                        _ => false,
                    });
                    comma.is_some_and(|(i, _)| args[i + 1..].trim_start().starts_with('"'))
                })
            });
            literal_field || line.contains("body.get(\"") || line.contains("item.get(\"")
        })
        .map(|(n, line)| (n, line.trim().to_string()))
        .collect()
}

/// Every rail id any shipped release's API model names.
fn rail_ids() -> Vec<String> {
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let mut rails = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&schemas).expect("schemas/") {
        let api = entry.expect("entry").path().join("api.json");
        let Ok(text) = std::fs::read_to_string(&api) else {
            continue;
        };
        let model: serde_json::Value = serde_json::from_str(&text).expect("api.json parses");
        for rail in model["payment_rails"]["rails"]
            .as_array()
            .into_iter()
            .flatten()
        {
            rails.insert(rail.as_str().expect("rail id").to_string());
        }
    }
    rails.into_iter().collect()
}

#[test]
fn the_mock_builds_answers_from_templates_not_api_names() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/mock");
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    files.sort();
    assert!(
        files.len() > 10,
        "found only {} files under src/mock/",
        files.len()
    );
    let rails = rail_ids();
    assert!(rails.len() >= 4, "the shipped models name rails: {rails:?}");
    let mut offenders = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable source");
        for (line, code) in answers_in_code(&text)
            .into_iter()
            .chain(reads_by_name(&text))
        {
            offenders.push(format!("{}:{line}: {code}", file.display()));
        }
        for (line, code) in code_lines(&text) {
            if let Some(rail) = rails.iter().find(|r| code.contains(&format!("\"{r}\""))) {
                offenders.push(format!(
                    "{}:{line}: rail id `{rail}` (rails are the model's; behaviour by the seed's `kind`): {}",
                    file.display(),
                    code.trim()
                ));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "the mock's answers and request fields belong in schemas/<v>/answers.json, its rails in \
         the API model and mock.json, not in src/mock/:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_answer_scan_sees_keyed_literals_and_skips_the_rest() {
    let text = "let a = json!({ \"quote_id\": id });\nlet b = json!({\n    \"x\": 1\n});\n\
                map.insert(\"challenge_id\".into(), v);\ndata[\"x402\"] = v;\nlet c = json!(id);\n\
                let d = json!({});\nif body[\"k\"] == v {}\n// json!({ \"comment\": 1 })\n\
                #[cfg(test)]\nmod tests { json!({ \"t\": 1 }) }\n";
    let found: Vec<usize> = answers_in_code(text).into_iter().map(|(n, _)| n).collect();
    assert_eq!(found, [1, 2, 5, 6]);
}

#[test]
fn the_read_scan_sees_literal_field_names_and_skips_the_rest() {
    let text = "let p = required_str(body, \"prompt\")?;\n\
                let m = optional_str(&body, reads.field(\"create.model\"))?;\n\
                let r = body.get(\"references\");\nlet i = item.get(\"index\");\n\
                let f = optional_bool(&body, field)?;\nlet h = headers.get(\"authorization\");\n\
                let n = optional_count(&f(a, b), \"output_count\")?;\n\
                #[cfg(test)]\nmod tests { required_str(b, \"t\") }\n";
    let found: Vec<usize> = reads_by_name(text).into_iter().map(|(n, _)| n).collect();
    assert_eq!(found, [1, 3, 4, 7]);
}

/// A release that renames `checkout_url` of `credits buy` to `stripe_url`
/// (same role), with the answer template renamed to match.
fn renamed_release(root: &Path, version: &str) {
    let base = conform::contract::NEWEST_CONTRACT;
    let dir = root.join(version);
    std::fs::create_dir_all(&dir).expect("version folder");
    std::fs::write(
        dir.join("contract.json"),
        format!("{{\"version\": \"{version}\", \"extends\": \"{base}\"}}"),
    )
    .expect("manifest");
    let session = common::shipped_file(base, "stripe-checkout-session.json");
    assert!(
        session.contains("\"checkout_url\""),
        "the base names checkout_url"
    );
    std::fs::write(
        dir.join("stripe-checkout-session.json"),
        session.replace("\"checkout_url\"", "\"stripe_url\""),
    )
    .expect("schema");
    let mut answers: serde_json::Value =
        serde_json::from_str(&common::shipped_file(base, "answers.json")).expect("answers parse");
    let template = answers["operations"]["createStripeCheckoutSession"]
        .as_object_mut()
        .expect("the session template");
    common::rename_key(template, "checkout_url", "stripe_url");
    std::fs::write(
        dir.join("answers.json"),
        serde_json::to_string_pretty(&answers).expect("JSON"),
    )
    .expect("answers");
}

const RENAMED_SUITE: &str = r#"{
  "suite": "renamed-checkout-url",
  "scenarios": [
    {
      "name": "the renamed Stripe URL keeps its fragment",
      "steps": [
        {
          "name": "quote for Stripe Checkout",
          "request": { "method": "POST", "path": "/v1/credit-quotes",
            "json": { "credits": 500, "payment_method": "stripe_checkout" } },
          "expect": { "status": 200, "schema": "credit-quote" },
          "captures": { "quote_id": "/data/quote_id" }
        },
        {
          "name": "create the session",
          "request": { "method": "POST", "path": "/v1/credit-purchases/stripe-checkout-sessions",
            "json": { "quote_id": "${quote_id}", "idempotency_key": "renamed-${run_id}" } },
          "expect": { "status": 200, "schema": "stripe-checkout-session",
            "fragment_preserved": ["/data/stripe_url"] },
          "captures": { "stripe_url": "/data/stripe_url", "handoff": "/data/checkout_handoff_url" }
        },
        {
          "name": "the handoff redirects to it",
          "request": { "method": "GET", "url": "${handoff}", "auth": "none" },
          "expect": { "status": 303, "redirects_to": "${stripe_url}" }
        }
      ]
    }
  ]
}"#;

#[test]
fn a_release_that_renames_an_answer_field_needs_data_only() {
    let root = tempfile::tempdir().expect("temp dir");
    renamed_release(root.path(), "9.9.9");
    let suite = root.path().join("renamed.json");
    std::fs::write(&suite, RENAMED_SUITE).expect("suite");
    let (schemas, suite) = (
        root.path().to_string_lossy().into_owned(),
        suite.to_string_lossy().into_owned(),
    );
    let args = [
        "run",
        "--schemas",
        &schemas,
        "--contract",
        "9.9.9",
        "--suite",
        &suite,
    ];
    let run = common::conform(&args);
    let out = String::from_utf8_lossy(&run.stdout).into_owned();
    let err = String::from_utf8_lossy(&run.stderr).into_owned();
    assert_eq!(run.status.code(), Some(0), "{out}{err}");
    assert!(out.contains("contract 9.9.9: satisfied"), "{out}");

    // The fragment invariant finds the field by its role, whatever its name.
    let regressed = common::conform(&[&args[..], &["--mock", "regressed-0.1.8"]].concat());
    let out = String::from_utf8_lossy(&regressed.stdout).into_owned();
    assert_eq!(regressed.status.code(), Some(1), "{out}");
    assert!(out.contains("invariant stripe-fragment: broken"), "{out}");
    assert!(out.contains("stripe_url"), "{out}");
}

#[test]
fn an_answer_naming_a_value_no_handler_supplies_is_refused_at_load() {
    let root = tempfile::tempdir().expect("temp dir");
    renamed_release(root.path(), "9.9.8");
    let path = root.path().join("9.9.8/answers.json");
    let text = std::fs::read_to_string(&path)
        .expect("answers")
        .replace("{{attempt.checkout_url}}", "{{attempt.checkout_link}}");
    std::fs::write(&path, text).expect("answers");
    let schemas = root.path().to_string_lossy().into_owned();
    let mock = common::conform(&["mock", "--schemas", &schemas, "--contract", "9.9.8"]);
    let err = String::from_utf8_lossy(&mock.stderr).into_owned();
    assert_eq!(mock.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no handler supplies `attempt.checkout_link`"),
        "{err}"
    );
    assert!(err.contains("9.9.8/answers.json"), "{err}");
    assert!(
        err.contains("at /operations/createStripeCheckoutSession/checkout_compact_url"),
        "{err}"
    );
}
