//! `conform contracts add --docs DIR --version V [--extends BASE]`: a
//! runnable contract version from a release's docs.
//!
//! Step one is extraction (examples, endpoint inventory, the generated
//! base schemas under `<V>/generated/`). Then, against the base version:
//! a curated schema is kept (not copied: the new version extends the base)
//! where every docs example of it still fits, and re-derived from the
//! example where one does not; the API model keeps the base's endpoints the
//! docs still list, adds the new ones, and drops the rest; CLI commands
//! follow cli.md's command headings and, from 0.1.37 on, `commands.json`'s
//! `mutation`/`spend`. What the tool cannot decide is listed in the
//! manifest's `undecided`, for a person to curate. Output is
//! deterministic, so a second run changes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::Value;

use crate::contract::api::{ApiModel, Auth, CliCommand, Endpoint, Response};
use crate::contract::{Contract, Manifest, Source};
use crate::error::{Error, Result, exit};
use crate::extract::{self, Extraction};

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Folder holding the release's cli.md and llms.txt (commands.json too, from 0.1.37).
    #[arg(long, value_name = "DIR")]
    pub docs: PathBuf,
    /// Version to write.
    #[arg(long, value_name = "V")]
    pub version: String,
    /// Version it extends (default: the newest one before it in the schemas folder).
    #[arg(long, value_name = "BASE")]
    pub extends: Option<String>,
    /// Contract folders root to write `<V>/` under (bases missing there are
    /// read from the built-in contracts).
    #[arg(long, value_name = "DIR", default_value = "schemas")]
    pub schemas: PathBuf,
}

const ID_BASE: &str = "https://conform.invalid/schemas";
const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

pub fn run(args: &AddArgs) -> Result<i32> {
    let extraction = extract::extract(&args.docs, &args.version)?;
    let source = Source::Dir(&args.schemas);
    let base_version = match &args.extends {
        Some(base) => base.clone(),
        None => previous_version(&args.schemas, &args.version)?,
    };
    let base = if args.schemas.join(&base_version).is_dir() {
        Contract::load_from(source, &base_version)?
    } else {
        Contract::embedded(&base_version)?
    };
    let dir = args.schemas.join(&args.version);
    let mut undecided = Vec::new();
    let mut files: BTreeMap<PathBuf, String> = BTreeMap::new();

    // Schemas: keep where the examples fit, re-derive where not.
    let mut derived: BTreeMap<&str, &extract::Example> = BTreeMap::new();
    for example in &extraction.examples {
        let Some(name) = extract::example_schema(example) else {
            undecided.push(format!("example {} has no curated schema", example.label()));
            continue;
        };
        if !base.has_schema(name) {
            undecided.push(format!(
                "example {} → `{name}`, which {base_version} does not have",
                example.label()
            ));
            continue;
        }
        if !base.validate(name, &example.value)?.is_empty() && !derived.contains_key(name) {
            derived.insert(name, example);
        }
    }
    for (name, example) in &derived {
        let mut schema = extract::infer_schema(&example.value);
        schema["$schema"] = Value::from(DRAFT_2020_12);
        schema["$id"] = Value::from(format!("{ID_BASE}/{name}.json"));
        schema["$comment"] = Value::from(format!(
            "re-derived by `conform contracts add` from {}: the example no longer fits {base_version}'s schema",
            example.label()
        ));
        files.insert(dir.join(format!("{name}.json")), pretty(&schema)?);
        undecided.push(format!(
            "schema `{name}` re-derived from {}; curate it (roles, patterns, optional fields)",
            example.label()
        ));
    }

    // The API model.
    let api = api_model(base.api(), &extraction, &args.docs, &mut undecided)?;
    if api != *base.api() {
        files.insert(
            dir.join("api.json"),
            pretty(&serde_json::to_value(&api).map_err(json_err)?)?,
        );
    }

    // The manifest.
    let (release_date, docs_commit) = release_of(&args.docs, &args.version);
    let manifest = Manifest {
        version: args.version.clone(),
        release_date,
        docs_commit,
        extends: Some(base_version.clone()),
        status: Some(
            if undecided.is_empty() {
                "derived"
            } else {
                "needs-curation"
            }
            .into(),
        ),
        summary: Some(summary(base.api(), &api, &derived)),
        undecided,
    };
    files.insert(
        dir.join("contract.json"),
        pretty(&serde_json::to_value(&manifest).map_err(json_err)?)?,
    );

    // Extraction's generated files, the drift baseline of `contracts check`.
    for (rel, text) in extract::outputs(&extraction)? {
        let prefix = Path::new("schemas").join(&args.version).join("generated");
        if let Ok(name) = rel.strip_prefix(&prefix) {
            files.insert(dir.join("generated").join(name), text);
        }
    }

    let mut changed = 0;
    for (path, text) in &files {
        if std::fs::read_to_string(path).ok().as_deref() == Some(text.as_str()) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| Error::Read {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(path, text).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        changed += 1;
    }
    extract::say(&format!(
        "contract {} (extends {base_version}): {} files, {changed} changed, under {}\n{} undecided (see `undecided` in {})\n",
        args.version,
        files.len(),
        dir.display(),
        manifest.undecided.len(),
        dir.join("contract.json").display()
    ));
    // Proves the written version loads.
    Contract::load_from(source, &args.version)?;
    Ok(exit::PASSED)
}

fn json_err(e: serde_json::Error) -> Error {
    Error::Usage(format!("cannot serialize: {e}"))
}

fn pretty(value: &Value) -> Result<String> {
    serde_json::to_string_pretty(value)
        .map(|t| t + "\n")
        .map_err(json_err)
}

/// The newest version before `version` in the root, or built in.
fn previous_version(root: &Path, version: &str) -> Result<String> {
    let mut known: BTreeSet<String> = Source::Dir(root).versions().into_iter().collect();
    known.extend(Contract::known_versions());
    let mut known: Vec<String> = known.into_iter().collect();
    crate::contract::source::sort_versions(&mut known);
    let key = crate::contract::source::version_key(version);
    known
        .into_iter()
        .rfind(|v| crate::contract::source::version_key(v) < key)
        .ok_or_else(|| {
            Error::Usage(format!(
                "no version before {version} to extend; pass --extends"
            ))
        })
}

/// Date and commit from `RELEASES.txt` next to the docs folder, if there.
fn release_of(docs: &Path, version: &str) -> (Option<String>, Option<String>) {
    let releases = docs.parent().map(|p| p.join("RELEASES.txt"));
    let text = releases
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if let [v, date, commit, ..] = parts.as_slice() {
            if *v == version {
                return (Some((*date).to_string()), Some((*commit).to_string()));
            }
        }
    }
    (None, None)
}

/// `{MODEL_ID}` and `{model_id}` name the same template.
fn template(path: &str) -> String {
    path.to_lowercase()
}

fn api_model(
    base: &ApiModel,
    extraction: &Extraction,
    docs: &Path,
    undecided: &mut Vec<String>,
) -> Result<ApiModel> {
    let mut api = base.clone();
    let listed: BTreeMap<(String, String), &extract::Endpoint> = extraction
        .endpoints
        .iter()
        .map(|e| ((e.method.clone(), template(&e.path)), e))
        .collect();
    // The handoff redirect is not in the docs' endpoint list; it lives as
    // long as the docs name a handoff URL.
    let cli = std::fs::read_to_string(docs.join("cli.md")).unwrap_or_default();
    api.endpoints.retain(|e| match e.response {
        Response::Redirect(_) => cli.contains("checkout_handoff_url"),
        Response::Data(_) => listed.contains_key(&(e.method.clone(), template(&e.path))),
    });
    for ((method, path), found) in &listed {
        if api
            .endpoints
            .iter()
            .any(|e| &e.method == method && &template(&e.path) == path)
        {
            continue;
        }
        let schema = extract::endpoint_schema(found).map(str::to_string);
        let operation_id = operation_id(method, &found.path);
        undecided.push(format!(
            "endpoint {} {} (llms.txt line {}) is new: summary, tag, command, body{}",
            method,
            found.path,
            found.line,
            if schema.is_none() {
                ", response schema"
            } else {
                ""
            }
        ));
        api.endpoints.push(Endpoint {
            operation_id,
            method: method.clone(),
            path: found.path.to_lowercase(),
            summary: String::new(),
            tag: api.tags.first().map(|t| t.name.clone()).unwrap_or_default(),
            command: String::new(),
            auth: match found.auth {
                extract::AuthNeed::None => Auth::None,
                _ => Auth::Bearer,
            },
            params: Vec::new(),
            body: None,
            response: Response::Data(schema.unwrap_or_else(|| "success-envelope".into())),
            errors: Vec::new(),
        });
    }
    let ids: BTreeSet<String> = api
        .endpoints
        .iter()
        .map(|e| e.operation_id.clone())
        .collect();
    api.links
        .retain(|l| ids.contains(&l.from) && ids.contains(&l.to));

    // Commands: cli.md's `image-skill X` headings; commands.json adds
    // mutation and spend.
    let headings: Vec<String> = cli
        .lines()
        .filter(|l| l.starts_with('#'))
        .filter_map(|l| {
            let inner = l.trim_start_matches('#').trim().trim_matches('`');
            inner.strip_prefix("image-skill ").map(|rest| {
                rest.split_whitespace()
                    .take_while(|w| !w.starts_with('-'))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
        })
        .filter(|c| !c.is_empty())
        .collect();
    let manifest = commands_json(docs)?;
    let mut commands = Vec::new();
    let mut seen = BTreeSet::new();
    // Commands the base ties to an endpoint that is still listed stay.
    let kept: Vec<String> = base
        .commands
        .iter()
        .filter(|c| c.operation.as_ref().is_some_and(|op| ids.contains(op)))
        .map(|c| c.argv.clone())
        .collect();
    for argv in kept.iter().chain(&headings).chain(manifest.keys()) {
        if !seen.insert(argv.clone()) {
            continue;
        }
        let operation = base
            .commands
            .iter()
            .find(|c| &c.argv == argv)
            .and_then(|c| c.operation.clone())
            .filter(|op| ids.contains(op));
        let (mutation, spend) = manifest.get(argv).copied().unwrap_or((None, None));
        commands.push(CliCommand {
            argv: argv.clone(),
            operation,
            mutation,
            spend,
            required_flags: base
                .commands
                .iter()
                .find(|c| &c.argv == argv)
                .map(|c| c.required_flags.clone())
                .unwrap_or_default(),
        });
    }
    commands.sort_by(|a, b| a.argv.cmp(&b.argv));
    api.commands = commands;
    if api.payment_rails.is_some() {
        undecided.push(
            "payment rails and the quote default are carried over from the base; check the docs"
                .into(),
        );
    }
    Ok(api)
}

/// `commands.json` (0.1.37 on): command id (`credits quote`) → (mutation, spend).
/// (mutation, spend) of one command, as `commands.json` states them.
type Effects = (Option<bool>, Option<bool>);

fn commands_json(docs: &Path) -> Result<BTreeMap<String, Effects>> {
    let path = docs.join("commands.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(BTreeMap::new());
    };
    let value = Error::parse_json(&path, &text)?;
    let mut out = BTreeMap::new();
    for command in value["commands"].as_array().into_iter().flatten() {
        if let Some(id) = command["id"].as_str() {
            out.insert(
                id.replace('.', " "),
                (command["mutation"].as_bool(), command["spend"].as_bool()),
            );
        }
    }
    Ok(out)
}

/// `GET /v1/credit-packs/{PACK_ID}` → `getCreditPacksPackId`: a stable
/// placeholder until a person names it.
fn operation_id(method: &str, path: &str) -> String {
    let mut out = method.to_lowercase();
    for part in path
        .split(['/', '-', '_', '{', '}'])
        .filter(|p| !p.is_empty() && *p != "v1")
    {
        let lower = part.to_lowercase();
        let mut chars = lower.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    out
}

/// One line: what changed from the base.
fn summary(base: &ApiModel, api: &ApiModel, derived: &BTreeMap<&str, &extract::Example>) -> String {
    let ids = |m: &ApiModel| -> BTreeSet<String> { m.endpoints.iter().map(Endpoint::id).collect() };
    let argv =
        |m: &ApiModel| -> BTreeSet<String> { m.commands.iter().map(|c| c.argv.clone()).collect() };
    let (a, b) = (ids(base), ids(api));
    let (ca, cb) = (argv(base), argv(api));
    let mut parts = Vec::new();
    let added: Vec<&String> = b.difference(&a).collect();
    let removed: Vec<&String> = a.difference(&b).collect();
    if !added.is_empty() {
        parts.push(format!("+{} endpoints", added.len()));
    }
    if !removed.is_empty() {
        parts.push(format!("-{} endpoints", removed.len()));
    }
    let cadded: Vec<&String> = cb.difference(&ca).collect();
    let cremoved: Vec<&String> = ca.difference(&cb).collect();
    if !cadded.is_empty() {
        parts.push(format!("+commands {}", join_short(&cadded)));
    }
    if !cremoved.is_empty() {
        parts.push(format!("-commands {}", join_short(&cremoved)));
    }
    if !derived.is_empty() {
        parts.push(format!(
            "schemas re-derived: {}",
            derived.keys().copied().collect::<Vec<_>>().join(", ")
        ));
    }
    if parts.is_empty() {
        "no change to endpoints, commands or schemas".into()
    } else {
        parts.join("; ")
    }
}

fn join_short(items: &[&String]) -> String {
    let shown: Vec<&str> = items.iter().take(4).map(|s| s.as_str()).collect();
    if items.len() > 4 {
        format!("{} (+{} more)", shown.join(", "), items.len() - 4)
    } else {
        shown.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operation_ids_are_stable_camel_case() {
        assert_eq!(
            operation_id("GET", "/v1/credit-packs/{PACK_ID}"),
            "getCreditPacksPackId"
        );
        assert_eq!(operation_id("POST", "/v1/claims"), "postClaims");
    }

    #[test]
    fn manifests_serialize_without_empty_fields() {
        let m = Manifest {
            version: "1.0".into(),
            ..Manifest::default()
        };
        assert_eq!(
            serde_json::to_value(&m).ok(),
            Some(json!({"version": "1.0"}))
        );
    }
}
