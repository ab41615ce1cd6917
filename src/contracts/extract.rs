//! `conform contracts extract`, the first step of `add`: fixtures, the
//! endpoint inventory and base schemas from a release's docs (parsed by
//! [`crate::docs`]). Generated files live in `generated/` folders so the
//! contract loader, which only reads `schemas/<V>/*.json`, never mistakes
//! them for curated schemas.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{Map, Value, json};

use super::{say, strings};
use crate::contract::api::ApiModel;
use crate::docs::{self, Endpoint, EndpointField, Example, ExampleTarget, Extraction, LLMS_TXT};
use crate::error::{Error, Result, exit};

const ID_BASE: &str = "https://conform.invalid/schemas";
const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";
const GENERATED_BY: &str = "conform contracts extract";

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// Folder holding the release's cli.md and llms.txt.
    #[arg(long, value_name = "DIR")]
    pub docs: PathBuf,
    /// Contract version the outputs are filed under.
    #[arg(long, value_name = "V")]
    pub version: String,
    /// Repository root to write fixtures/ and schemas/ under.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
}

/// A base schema inferred from an example: types and the keys present.
pub fn infer_schema(value: &Value) -> Value {
    match value {
        Value::Null => json!({ "type": "null" }),
        Value::Bool(_) => json!({ "type": "boolean" }),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({ "type": "integer" }),
        Value::Number(_) => json!({ "type": "number" }),
        Value::String(_) => json!({ "type": "string" }),
        Value::Array(items) => match items.first() {
            Some(first) => json!({ "type": "array", "items": infer_schema(first) }),
            None => json!({ "type": "array" }),
        },
        Value::Object(map) => {
            let properties: Map<String, Value> = map
                .iter()
                .map(|(k, v)| (k.clone(), infer_schema(v)))
                .collect();
            let mut schema = json!({ "type": "object", "properties": properties });
            let required: BTreeSet<&String> = map.keys().collect();
            if !required.is_empty() {
                schema["required"] = json!(required);
            }
            schema
        }
    }
}

/// Recursively sorts object keys: for outputs whose key order means nothing.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let ordered: BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(ordered.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn pretty(value: &Value) -> Result<String> {
    serde_json::to_string_pretty(value)
        .map(|text| text + "\n")
        .map_err(|e| Error::Internal(format!("cannot serialize generated JSON: {e}")))
}

fn field_json(f: &EndpointField) -> Value {
    let mut out = json!({ "name": f.name, "optional": f.optional });
    if f.array {
        out["array"] = Value::Bool(true);
    }
    if !f.one_of.is_empty() {
        out["one_of"] = json!(f.one_of);
    }
    if let Some(v) = &f.value {
        out["value"] = v.clone();
    }
    out
}

/// The inventory as written to `endpoints.json`.
pub fn inventory_json(extraction: &Extraction) -> Value {
    let endpoints: Vec<Value> = extraction
        .endpoints
        .iter()
        .map(|e| {
            let mut out = json!({
                "method": e.method,
                "path": e.path,
                "line": e.line,
                "auth": e.auth.name(),
                "request_fields": e.request_fields.iter().map(field_json).collect::<Vec<_>>(),
                "query_fields": e.query_fields.iter().map(field_json).collect::<Vec<_>>(),
                "response_fields": e.response_fields.iter().map(field_json).collect::<Vec<_>>(),
            });
            if let Some((doc, line)) = e.auth_source {
                out["auth_source"] = json!({ "doc": doc, "line": line });
            }
            out
        })
        .collect();
    sorted(json!({
        "generated_by": GENERATED_BY,
        "version": extraction.version,
        "doc": LLMS_TXT,
        "endpoints": endpoints,
    }))
}

/// Every generated file: (path relative to the output root, text).
pub fn outputs(extraction: &Extraction) -> Result<Vec<(PathBuf, String)>> {
    let v = &extraction.version;
    let fixtures = Path::new("fixtures").join(v).join("generated");
    let schemas = Path::new("schemas").join(v).join("generated");
    let mut files = Vec::new();
    let mut index = Vec::new();
    for example in &extraction.examples {
        let file = format!("{}.json", example.stem);
        files.push((fixtures.join(&file), pretty(&example.value)?));

        let mut entry = json!({
            "file": file,
            "heading": example.heading,
            "lead_in": example.lead_in,
            "doc": example.doc,
            "line": example.line,
            "target": example.target.name(),
        });
        if let ExampleTarget::Request(path) = &example.target {
            entry["request_path"] = Value::from(path.clone());
        }
        index.push(entry);

        let name = format!("{}.base.json", example.stem);
        let mut schema = infer_schema(&example.value);
        schema["$schema"] = Value::from(DRAFT_2020_12);
        // Version-free, so a release whose example did not change inherits
        // its base's file.
        schema["$id"] = Value::from(format!("{ID_BASE}/generated/{name}"));
        schema["$comment"] = Value::from(format!(
            "generated by `{GENERATED_BY}` from {} line {} ({}); the curated schema refines it",
            example.doc, example.line, example.heading
        ));
        files.push((schemas.join(name), pretty(&sorted(schema))?));
    }
    let index = sorted(json!({
        "generated_by": GENERATED_BY,
        "version": v,
        "examples": index,
    }));
    files.push((fixtures.join("index.json"), pretty(&index)?));
    files.push((
        schemas.join("endpoints.json"),
        pretty(&inventory_json(extraction))?,
    ));
    files.sort();
    Ok(files)
}

pub fn run(args: &ExtractArgs) -> Result<i32> {
    // Run from elsewhere, the default `.` would scatter fixtures/ and
    // schemas/ into whatever directory this is.
    if args.out == Path::new(".") && !args.out.join("schemas").is_dir() {
        return Err(Error::Usage(format!(
            "`{}` is not a conform checkout (no schemas/ folder): run from the repository root or pass --out DIR",
            args.out.display()
        )));
    }
    let extraction = docs::extract(&args.docs, &args.version)?;
    let files = outputs(&extraction)?;
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    for (rel, text) in &files {
        let path = args.out.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| Error::Read {
                path: dir.to_path_buf(),
                source,
            })?;
            dirs.insert(dir.to_path_buf());
        }
        std::fs::write(&path, text).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
    }
    // generated/ folders belong to extract alone: files it no longer
    // produces would otherwise linger and look current.
    let written: BTreeSet<PathBuf> = files.iter().map(|(rel, _)| args.out.join(rel)).collect();
    let mut removed = 0;
    for dir in &dirs {
        let entries = std::fs::read_dir(dir).map_err(|source| Error::Read {
            path: dir.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") && !written.contains(&path) {
                std::fs::remove_file(&path).map_err(|source| Error::Read {
                    path: path.clone(),
                    source,
                })?;
                removed += 1;
            }
        }
    }
    let base = Path::new("schemas").join(&args.version).join("generated");
    say(&format!(
        "extracted {} examples and {} endpoints from {}\nwrote {} files under {} ({} and {}){}\n",
        extraction.examples.len(),
        extraction.endpoints.len(),
        args.docs.display(),
        files.len(),
        args.out.display(),
        Path::new("fixtures")
            .join(&args.version)
            .join("generated")
            .display(),
        base.display(),
        if removed > 0 {
            format!("; removed {removed} stale")
        } else {
            String::new()
        }
    ));
    Ok(exit::PASSED)
}

/// The envelope examples of llms.txt, by the label that introduces them.
const ENVELOPE_SCHEMAS: &[(&str, &str)] = &[
    ("Expected JSON envelope", "success-envelope"),
    ("Expected error envelope", "error-envelope"),
];

const COMMAND_PREFIX: &str = "image-skill ";

/// The contract schema a docs example shows, from the API model: a
/// command's example is its endpoint's `data`, a request example the body
/// schema of the endpoint it is sent to, an envelope by its label.
pub fn example_schema<'a>(example: &Example, api: &'a ApiModel) -> Option<&'a str> {
    match &example.target {
        ExampleTarget::Body => ENVELOPE_SCHEMAS
            .iter()
            .find(|(label, _)| example.lead_in.as_deref() == Some(*label))
            .map(|(_, name)| *name),
        ExampleTarget::Request(path) => api
            .endpoints
            .iter()
            .find(|e| e.method == "POST" && e.path.eq_ignore_ascii_case(path))
            .and_then(|e| match &e.body {
                Some(crate::contract::api::Body::Schema { schema }) => Some(schema.as_str()),
                _ => None,
            }),
        ExampleTarget::Data => {
            let argv = example.heading.strip_prefix(COMMAND_PREFIX)?;
            api.endpoints
                .iter()
                .find(|e| e.command == argv)
                .and_then(data_schema)
        }
    }
}

fn data_schema(endpoint: &crate::contract::api::Endpoint) -> Option<&str> {
    match &endpoint.response {
        crate::contract::api::Response::Data(name) => Some(name.as_str()),
        crate::contract::api::Response::Redirect(_) => None,
    }
}

/// The contract schema of a docs endpoint's success `data`, from the API
/// model (`{MODEL_ID}` and `{model_id}` are one template).
pub fn endpoint_schema<'a>(endpoint: &Endpoint, api: &'a ApiModel) -> Option<&'a str> {
    api.endpoints
        .iter()
        .find(|e| e.method == endpoint.method && e.path.eq_ignore_ascii_case(&endpoint.path))
        .and_then(data_schema)
}

/// The file in a version's `generated/` that lists the generated files
/// the version has, when that set differs from its base's.
pub const GENERATED_NAMES: &str = "names.json";

/// One version's own `generated/*.json`: under `--schemas` when the
/// version's folder is there, else built in.
fn generated_folder(schemas: Option<&Path>, version: &str) -> Result<BTreeMap<String, Value>> {
    let mut files = BTreeMap::new();
    match schemas.filter(|root| root.join(version).is_dir()) {
        None => {
            let prefix = format!("schemas/{version}/generated/");
            for (path, text) in crate::embedded::SCHEMAS {
                if let Some(name) = path.strip_prefix(&prefix) {
                    files.insert(name.to_string(), Error::parse_json(Path::new(path), text)?);
                }
            }
        }
        Some(root) => {
            let dir = root.join(version).join("generated");
            let Ok(entries) = std::fs::read_dir(&dir) else {
                return Ok(files);
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "json") {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    files.insert(name, Error::parse_json(&path, &docs::read(&path)?)?);
                }
            }
        }
    }
    Ok(files)
}

/// `generated/*.json` as committed for the first version of `chain` (a
/// version and those it extends): each file from the nearest version that
/// has it; the set from the nearest `names.json`, else every file found.
pub fn committed_generated(
    schemas: Option<&Path>,
    chain: &[String],
) -> Result<BTreeMap<String, Value>> {
    let mut names: Option<BTreeSet<String>> = None;
    let mut files = BTreeMap::new();
    for version in chain {
        let own = generated_folder(schemas, version)?;
        if names.is_none() {
            if let Some(list) = own.get(GENERATED_NAMES) {
                names = Some(strings(&list["files"]).into_iter().collect());
            }
        }
        for (name, value) in own {
            if name != GENERATED_NAMES {
                files.entry(name).or_insert(value);
            }
        }
    }
    if let Some(names) = names {
        files.retain(|name, _| names.contains(name));
    }
    Ok(files)
}

/// Drops what moves when unrelated doc text moves: the keys named here
/// (line numbers, the comment and auth source that cite them), at the top
/// level of `value` only.
fn without(value: &Value, keys: &[&str]) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !keys.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Whether two versions of generated file `name` say the same about the
/// docs (line numbers, comments and `$id`s aside).
pub fn same_generated(name: &str, old: &Value, new: &Value) -> bool {
    if name == "endpoints.json" {
        inventory_drift(old, new).is_empty()
    } else {
        without(old, &["$comment", "$id"]) == without(new, &["$comment", "$id"])
    }
}

/// What the docs say now against what `extract` last wrote: an example or
/// endpoint that appeared, vanished (a docs file cut short) or changed shape.
pub fn generated_drift(
    extraction: &Extraction,
    committed: &BTreeMap<String, Value>,
) -> Result<Vec<String>> {
    let prefix = Path::new("schemas")
        .join(&extraction.version)
        .join("generated");
    let mut fresh = BTreeMap::new();
    for (path, text) in outputs(extraction)? {
        if let Ok(name) = path.strip_prefix(&prefix) {
            let name = name.to_string_lossy().into_owned();
            fresh.insert(name.clone(), Error::parse_json(&path, &text)?);
        }
    }
    let mut problems = Vec::new();
    let names: BTreeSet<&String> = fresh.keys().chain(committed.keys()).collect();
    for name in names {
        let example = name.strip_suffix(".base.json").unwrap_or(name);
        match (committed.get(name), fresh.get(name)) {
            (Some(_), None) => problems.push(format!(
                "example `{example}` is committed but no longer in the docs (is a file cut short?)"
            )),
            (None, Some(_)) => problems.push(format!(
                "example `{example}` is in the docs but not committed"
            )),
            (Some(old), Some(new)) if name == "endpoints.json" => {
                problems.extend(inventory_drift(old, new));
            }
            (Some(old), Some(new))
                if without(old, &["$comment", "$id"]) != without(new, &["$comment", "$id"]) =>
            {
                problems.push(format!(
                    "example `{example}` has another shape than committed in {name}"
                ))
            }
            _ => {}
        }
    }
    Ok(problems)
}

fn inventory_drift(old: &Value, new: &Value) -> Vec<String> {
    let by_id = |inventory: &Value| -> BTreeMap<String, Value> {
        inventory
            .get("endpoints")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|e| {
                let id = format!(
                    "{} {}",
                    e.get("method").and_then(Value::as_str).unwrap_or_default(),
                    e.get("path").and_then(Value::as_str).unwrap_or_default()
                );
                (id, without(e, &["line", "auth_source"]))
            })
            .collect()
    };
    let (old, new) = (by_id(old), by_id(new));
    let ids: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    ids.into_iter()
        .filter_map(|id| match (old.get(id), new.get(id)) {
            (Some(_), None) => Some(format!(
                "endpoint `{id}` is committed but no longer in the docs"
            )),
            (None, Some(_)) => Some(format!("endpoint `{id}` is in the docs but not committed")),
            (Some(a), Some(b)) if a != b => Some(format!(
                "endpoint `{id}` reads differently than committed (auth or fields)"
            )),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inferred_schemas_require_the_keys_present() {
        let schema = infer_schema(&json!({"b": 1, "a": [{"x": 0.5}], "c": null}));
        assert_eq!(schema["required"], json!(["a", "b", "c"]));
        assert_eq!(
            schema["properties"]["a"]["items"]["properties"]["x"]["type"],
            "number"
        );
        assert_eq!(schema["properties"]["b"]["type"], "integer");
    }
}
