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

/// Every property name the shipped schemas of any version declare (the
/// API's field names), from each version folder's schema files.
fn api_field_names() -> std::collections::BTreeSet<String> {
    fn walk(node: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
        match node {
            serde_json::Value::Object(map) => {
                if let Some(props) = map.get("properties").and_then(|p| p.as_object()) {
                    out.extend(props.keys().cloned());
                }
                map.values().for_each(|v| walk(v, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut names = std::collections::BTreeSet::new();
    for file in json_files_of_versions() {
        let text = std::fs::read_to_string(&file).expect("readable schema");
        let doc: serde_json::Value = serde_json::from_str(&text).expect("schema parses");
        if doc.get("$schema").is_some() {
            walk(&doc, &mut names);
        }
    }
    names
}

/// The JSON files under `schemas/<version>/` (generated ones included).
fn json_files_of_versions() -> Vec<PathBuf> {
    fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("readable folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                collect(&path, out);
            } else if path.extension().is_some_and(|x| x == "json") {
                out.push(path);
            }
        }
    }
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&schemas).expect("schemas/") {
        let path = entry.expect("entry").path();
        let versioned = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()));
        if path.is_dir() && versioned {
            collect(&path, &mut out);
        }
    }
    out.sort();
    out
}

/// The mock's own names, read from its data: `answers.json` sections,
/// fragment ids, request-map names and template placeholders
/// (`{{quote.id}}`: `quote.id` and `quote`), and every key of `mock.json`.
/// A literal in src/mock/ equal to one names the mock's data, whose names
/// happen to follow the API's.
fn mock_vocabulary() -> std::collections::BTreeSet<String> {
    use serde_json::Value;
    fn walk(node: &Value, keys: bool, out: &mut std::collections::BTreeSet<String>) {
        match node {
            Value::Object(map) => {
                for (k, v) in map {
                    if keys {
                        out.insert(k.clone());
                    }
                    placeholders(k, out);
                    walk(v, keys, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, keys, out)),
            Value::String(s) => placeholders(s, out),
            _ => {}
        }
    }
    fn placeholders(s: &str, out: &mut std::collections::BTreeSet<String>) {
        for part in s.split("{{").skip(1) {
            let inner = part.split("}}").next().unwrap_or_default();
            let name = inner
                .trim_start_matches(['#', '/'])
                .split_whitespace()
                .last()
                .unwrap_or_default();
            if !name.is_empty() {
                out.insert(name.to_string());
                out.insert(name.split('.').next().unwrap_or(name).to_string());
            }
        }
    }
    let mut out = std::collections::BTreeSet::new();
    for file in json_files_of_versions() {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&file).expect("readable");
        let doc: Value = serde_json::from_str(&text).expect("parses");
        match name {
            "mock.json" => walk(&doc, true, &mut out),
            "answers.json" => {
                let map = doc.as_object().expect("answers.json is an object");
                out.extend(map.keys().cloned());
                for section in ["fragments", "operations", "links"] {
                    out.extend(
                        map.get(section)
                            .and_then(Value::as_object)
                            .into_iter()
                            .flat_map(|m| m.keys().cloned()),
                    );
                }
                for reads in map
                    .get("requests")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flat_map(|m| m.values())
                {
                    out.extend(
                        reads
                            .as_object()
                            .into_iter()
                            .flat_map(|m| m.keys().cloned()),
                    );
                }
                walk(&doc, false, &mut out);
            }
            _ => {}
        }
    }
    out
}

/// The string literals of `text`'s code (before its `#[cfg(test)]`
/// module; comments, char literals and lifetimes skipped), each with its
/// line. Raw strings count; a literal may span lines.
fn string_literals(text: &str) -> Vec<(usize, String)> {
    let code: String = {
        let mut kept = Vec::new();
        for line in text.lines() {
            if line.trim() == "#[cfg(test)]" {
                break;
            }
            kept.push(line);
        }
        kept.join("\n")
    };
    let chars: Vec<char> = code.chars().collect();
    let (mut i, mut line, mut out) = (0usize, 1usize, Vec::new());
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
                i += 2;
            }
            '\'' => {
                // A char literal ('x', '\n', '"') or a lifetime ('a).
                if next == Some('\\') {
                    i += 2;
                    while i < chars.len() && chars[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                } else if chars.get(i + 2) == Some(&'\'') {
                    i += 3;
                } else {
                    i += 1;
                }
            }
            'r' if (i == 0 || !ident(chars[i - 1])) && matches!(next, Some('"') | Some('#')) => {
                let mut j = i + 1;
                let mut hashes = 0;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if chars.get(j) != Some(&'"') {
                    i += 1;
                    continue;
                }
                let (start_line, start) = (line, j + 1);
                j += 1;
                loop {
                    if j >= chars.len() {
                        break;
                    }
                    if chars[j] == '"' && (0..hashes).all(|h| chars.get(j + 1 + h) == Some(&'#')) {
                        break;
                    }
                    line += usize::from(chars[j] == '\n');
                    j += 1;
                }
                out.push((
                    start_line,
                    chars[start..j.min(chars.len())].iter().collect(),
                ));
                i = j + 1 + hashes;
            }
            '"' => {
                let (start_line, mut j, mut value) = (line, i + 1, String::new());
                while j < chars.len() && chars[j] != '"' {
                    if chars[j] == '\\' {
                        value.push(chars[j]);
                        j += 1;
                    }
                    if let Some(&ch) = chars.get(j) {
                        line += usize::from(ch == '\n');
                        value.push(ch);
                    }
                    j += 1;
                }
                out.push((start_line, value));
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    out
}

#[test]
fn the_literal_scan_finds_strings_and_skips_comments_chars_and_tests() {
    let text = "let a = \"data\"; // \"comment\"\nlet q = '\"'; let l: &'a str = r#\"raw \"x\"\"#;\n\
                /* \"block\" */ let e = \"esc\\\"aped\";\nlet m = \"two\nlines\"; let z = \"after\";\n\
                #[cfg(test)]\nmod tests { \"t\" }\n";
    assert_eq!(
        string_literals(text),
        [
            (1, "data".to_string()),
            (2, "raw \"x\"".to_string()),
            (3, "esc\\\"aped".to_string()),
            (4, "two\nlines".to_string()),
            (5, "after".to_string()),
        ]
    );
}

/// API field names code may still spell: (name, the only files where it
/// may — empty: anywhere —, why it is not a field read).
const NOT_FIELD_READS: &[(&str, &[&str], &str)] = &[
    (
        "type",
        &[],
        "a JSON Schema keyword (check fragments, generated schemas)",
    ),
    ("description", &[], "a JSON Schema / OpenAPI keyword"),
    ("name", &[], "a suite, API-model and OpenAPI keyword"),
    (
        "path",
        &[],
        "a suite request key, API-model key and OpenAPI `in` value",
    ),
    ("url", &[], "a suite request key and an OpenAPI server key"),
    ("request", &[], "a suite step key and report word"),
    ("auth", &[], "a suite step key and API-model key"),
    ("status", &[], "the `status` check's key and a manifest key"),
    (
        "summary",
        &["src/openapi.rs", "src/contracts/diff.rs"],
        "an OpenAPI operation key; the diff report's key",
    ),
    (
        "scheme",
        &["src/openapi.rs"],
        "an OpenAPI security-scheme key",
    ),
    ("links", &["src/openapi.rs"], "the OpenAPI response key"),
    (
        "command",
        &[
            "src/contracts/diff.rs",
            "src/contracts/rules.rs",
            "src/needs.rs",
        ],
        "an API-model key and a docs-rules capture",
    ),
    (
        "required_flag",
        &["src/contracts/diff.rs"],
        "an API-model CLI command key",
    ),
    (
        "id",
        &["src/contracts/add.rs"],
        "the docs' commands.json key",
    ),
    (
        "operations",
        &["src/needs.rs", "src/suite.rs"],
        "a suite `needs` key",
    ),
    ("operation", &["src/needs.rs"], "a suite `needs` kind"),
    (
        "error",
        &[
            "src/check/envelope.rs",
            "src/report/mod.rs",
            "src/report/html.rs",
        ],
        "the `envelope` check's value; a step verdict word",
    ),
    ("ok", &["src/report/html.rs"], "a step verdict word"),
    (
        "data",
        &[
            "src/check/rejects.rs",
            "src/docs/mod.rs",
            "src/docs/cli_md.rs",
            "src/contracts/diff.rs",
        ],
        "the `rejects` value; an example target (generated/endpoints.json) and the diff's root label; a docs lead-in word",
    ),
    (
        "no_spend",
        &["src/check/no_spend.rs"],
        "the `no_spend` check's key",
    ),
    ("token", &["src/findings.rs"], "a finding's group key"),
    (
        "selection",
        &["src/app.rs"],
        "a Debug field name of conform's own",
    ),
    (
        "payment_required",
        &["src/mock/handlers.rs"],
        "a digest label the mock hashes under",
    ),
    (
        "payment_signature",
        &["src/mock/handlers.rs"],
        "a digest label the mock hashes under",
    ),
    (
        "payment_response",
        &["src/mock/handlers.rs"],
        "a digest label the mock hashes under",
    ),
];

#[test]
fn no_api_field_name_is_spelled_in_non_test_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fields = api_field_names();
    assert!(
        ["checkout_url", "trace_id", "quote_id"]
            .iter()
            .all(|f| fields.contains(*f)),
        "the shipped schemas name their fields: {} found",
        fields.len()
    );
    let mock = mock_vocabulary();
    assert!(
        mock.contains("quote.id") && mock.contains("packs"),
        "{mock:?}"
    );
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    let mut offenders = Vec::new();
    for file in &files {
        let rel = file
            .strip_prefix(root)
            .expect("under the crate")
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(file).expect("readable source");
        for (line, literal) in string_literals(&text) {
            // A JSON pointer made of field names (`/error/code`) reads them too.
            let pointer = literal.len() > 1
                && literal.starts_with('/')
                && literal[1..].split('/').all(|k| fields.contains(k));
            if pointer {
                offenders.push(format!("{rel}:{line}: \"{literal}\" (a pointer)"));
                continue;
            }
            if !fields.contains(&literal) {
                continue;
            }
            let listed = NOT_FIELD_READS.iter().any(|(name, only, _)| {
                *name == literal && (only.is_empty() || only.contains(&rel.as_str()))
            });
            let role = rel == "src/contract/roles.rs"
                && conform::contract::roles::ALL.contains(&literal.as_str());
            let mock_name = rel.starts_with("src/mock/") && mock.contains(&literal);
            if !(listed || role || mock_name) {
                offenders.push(format!("{rel}:{line}: \"{literal}\""));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "{} API field name(s) spelled in src/: find the field by its role \
         (src/contract/roles.rs, `x-conform-role` in the schemas) or, if it is \
         not a field read, list it in NOT_FIELD_READS with why:\n{}",
        offenders.len(),
        offenders.join("\n")
    );
}

/// A release that renames the envelope's `trace_id` to `request_id` and the
/// error's `code` to `reason_code` (same roles) in its schemas; with
/// `answers_too`, its mock answers follow, else they keep the old names.
fn renamed_envelope_release(root: &Path, version: &str, answers_too: bool) {
    use serde_json::Value;
    let base = conform::contract::NEWEST_CONTRACT;
    let dir = root.join(version);
    std::fs::create_dir_all(&dir).expect("version folder");
    std::fs::write(
        dir.join("contract.json"),
        format!("{{\"version\": \"{version}\", \"extends\": \"{base}\"}}"),
    )
    .expect("manifest");
    let rename_in = |schema: &mut Value, pointer: &str, from: &str, to: &str| {
        let object = schema.pointer_mut(pointer).expect("the renamed object");
        let props = object["properties"].as_object_mut().expect("properties");
        assert!(
            props.contains_key(from),
            "the base names `{from}` at {pointer}"
        );
        common::rename_key(props, from, to);
        for name in object["required"].as_array_mut().expect("required") {
            if name == from {
                *name = Value::from(to);
            }
        }
    };
    let write = |name: &str, value: &Value| {
        std::fs::write(
            dir.join(name),
            serde_json::to_string_pretty(value).expect("JSON"),
        )
        .expect("schema");
    };
    for name in ["success-envelope.json", "error-envelope.json"] {
        let mut schema: Value =
            serde_json::from_str(&common::shipped_file(base, name)).expect("parses");
        rename_in(&mut schema, "", "trace_id", "request_id");
        write(name, &schema);
    }
    let mut shared: Value =
        serde_json::from_str(&common::shipped_file(base, "common.json")).expect("parses");
    rename_in(&mut shared, "/$defs/error", "code", "reason_code");
    write("common.json", &shared);
    if answers_too {
        let mut answers: Value =
            serde_json::from_str(&common::shipped_file(base, "answers.json")).expect("parses");
        for fragment in ["success_envelope", "error_envelope"] {
            let envelope = answers["fragments"][fragment]
                .as_object_mut()
                .expect("the envelope fragment");
            common::rename_key(envelope, "trace_id", "request_id");
        }
        let error = answers["fragments"]["error_envelope"]["error"]
            .as_object_mut()
            .expect("the error fragment");
        common::rename_key(error, "code", "reason_code");
        write("answers.json", &answers);
    }
}

const RENAMED_ENVELOPE_SUITE: &str = r#"{
  "suite": "renamed-envelope",
  "scenarios": [
    {
      "name": "the success envelope's trace id is read by role",
      "steps": [
        {
          "name": "a quote",
          "request": { "method": "POST", "path": "/v1/credit-quotes",
            "json": { "credits": 500, "payment_method": "stripe_checkout" } },
          "expect": { "status": 200, "schema": "credit-quote" }
        }
      ]
    },
    {
      "name": "the error envelope's fields are read by role",
      "steps": [
        {
          "name": "a refused claim",
          "request": { "method": "POST", "path": "/v1/agent-claims", "json": { "contact": "not-an-inbox" } },
          "expect": { "status": 400, "envelope": "error", "error_code": "INVALID_REQUEST" }
        }
      ]
    }
  ]
}"#;

/// `conform run` of the renamed-envelope suite against a built-in mock
/// serving `version` of `root/schemas`, with a JSON report: (exit,
/// output, report).
fn run_renamed(root: &Path, version: &str) -> (Option<i32>, String, serde_json::Value) {
    let suite = root.join("renamed-envelope.json");
    std::fs::write(&suite, RENAMED_ENVELOPE_SUITE).expect("suite");
    let report = root.join(format!("{version}.report.json"));
    let (schemas, suite, report_arg) = (
        root.join("schemas").to_string_lossy().into_owned(),
        suite.to_string_lossy().into_owned(),
        report.to_string_lossy().into_owned(),
    );
    let run = common::conform(&[
        "run",
        "--schemas",
        &schemas,
        "--contract",
        version,
        "--suite",
        &suite,
        "--report",
        &format!("json={report_arg}"),
    ]);
    let out = format!("{}{}", common::text(&run.stdout), common::text(&run.stderr));
    let report = std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("report: {e}\n{out}"));
    (
        run.status.code(),
        out,
        serde_json::from_str(&report).expect("report parses"),
    )
}

/// Every check outcome of the report as (check, pointer, passed, actual).
fn outcomes(report: &serde_json::Value) -> Vec<(String, String, bool, String)> {
    let mut out = Vec::new();
    for scenario in report["scenarios"].as_array().expect("scenarios") {
        for step in scenario["steps"].as_array().expect("steps") {
            for check in step["checks"].as_array().expect("checks") {
                out.push((
                    check["check"].as_str().unwrap_or_default().to_string(),
                    check["pointer"].as_str().unwrap_or_default().to_string(),
                    check["passed"].as_bool().unwrap_or(false),
                    check["actual"].to_string(),
                ));
            }
        }
    }
    out
}

#[test]
fn a_release_that_renames_the_envelope_fields_needs_data_only() {
    let root = tempfile::tempdir().expect("temp dir");
    renamed_envelope_release(&root.path().join("schemas"), "9.9.9", true);
    let (code, out, report) = run_renamed(root.path(), "9.9.9");
    assert_eq!(code, Some(0), "{out}");
    let checks = outcomes(&report);
    let trace: Vec<_> = checks.iter().filter(|c| c.0 == "trace_id").collect();
    assert_eq!(trace.len(), 2, "{checks:?}");
    assert!(
        trace.iter().all(|c| c.1 == "/request_id" && c.2),
        "{trace:?}"
    );
    assert!(
        checks
            .iter()
            .any(|c| c.0 == "error_code" && c.1 == "/error/reason_code" && c.2),
        "{checks:?}"
    );
}

#[test]
fn renamed_envelope_fields_against_answers_under_the_old_names_fail_naming_them() {
    let root = tempfile::tempdir().expect("temp dir");
    renamed_envelope_release(&root.path().join("schemas"), "9.9.8", false);
    let (code, out, report) = run_renamed(root.path(), "9.9.8");
    assert_eq!(code, Some(1), "{out}");
    let checks = outcomes(&report);
    let trace: Vec<_> = checks.iter().filter(|c| c.0 == "trace_id").collect();
    assert_eq!(trace.len(), 2, "{checks:?}");
    assert!(
        trace
            .iter()
            .all(|c| c.1 == "/request_id" && !c.2 && c.3.contains("no request_id")),
        "{trace:?}"
    );
    assert!(
        checks.iter().any(|c| c.0 == "error_code"
            && c.1 == "/error/reason_code"
            && !c.2
            && c.3.contains("no error.reason_code")),
        "{checks:?}"
    );
    assert!(out.contains("request_id"), "{out}");
}
