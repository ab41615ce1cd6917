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

use super::extract;
use super::{say, strings};
use crate::contract::api::{ApiModel, Auth, CliCommand, Endpoint, PaymentRails, Response};
use crate::contract::{Contract, Manifest, Source, roles};
use crate::contracts::rules::DocsRules;
use crate::docs::{self, Extraction};
use crate::error::{Error, Result, exit};

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
    say(&write(args)?);
    Ok(exit::PASSED)
}

/// Writes version `args.version` under `args.schemas` and proves it loads;
/// returns what it did, in words. `audit` calls this for releases conform
/// has no contract for.
pub fn write(args: &AddArgs) -> Result<String> {
    let extraction = docs::extract(&args.docs, &args.version)?;
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
    // A person's curation survives a rerun: files the existing manifest
    // lists as curated stay as they are.
    let previous: Option<Manifest> = std::fs::read_to_string(dir.join("contract.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let curated: BTreeSet<String> = previous
        .as_ref()
        .map(|m| m.curated.iter().cloned().collect())
        .unwrap_or_default();
    let mut undecided = Vec::new();
    let mut files: BTreeMap<PathBuf, String> = BTreeMap::new();

    // The API model.
    let has_schema = |name: &str| base.has_schema(name) || name == "common";
    let curated_api = dir.join("api.json");
    let api = if curated.contains("api.json") {
        let text = std::fs::read_to_string(&curated_api).map_err(|source| Error::Read {
            path: curated_api.clone(),
            source,
        })?;
        ApiModel::parse(&curated_api, &text)?
    } else {
        api_model(
            &base,
            &extraction,
            &args.docs,
            &args.version,
            &args.schemas,
            &has_schema,
            &mut undecided,
        )?
    };
    // Schemas: kept where the examples fit, widened where not.
    // Schemas some example no longer fits, and the first such example.
    let mut derived: BTreeMap<&str, &docs::Example> = BTreeMap::new();
    for example in &extraction.examples {
        let Some(name) = extract::example_schema(example, &api) else {
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
    let prober = Prober::new(&base)?;
    for name in derived.keys() {
        if curated.contains(&format!("{name}.json")) {
            continue;
        }
        let Some(raw) = base.raw(name) else { continue };
        let mut schema = raw.clone();
        let mut labels = Vec::new();
        for example in extraction
            .examples
            .iter()
            .filter(|e| extract::example_schema(e, &api) == Some(*name))
        {
            if !prober.valid(&schema, &schema, &example.value) {
                schema = prober.fit(&schema, &schema, &example.value);
                labels.push(example.label());
            }
        }
        schema["$schema"] = Value::from(DRAFT_2020_12);
        schema["$id"] = Value::from(format!("{ID_BASE}/{name}.json"));
        schema["$comment"] = Value::from(format!(
            "widened by `conform contracts add` from {base_version}'s schema to fit {}",
            labels.join(", ")
        ));
        files.insert(dir.join(format!("{name}.json")), pretty(&schema)?);
        undecided.push(format!(
            "schema `{name}` widened to fit {} (`anyOf` with the example's shape where {base_version}'s did not fit); curate it",
            labels.join(", ")
        ));
    }

    if api != *base.api() {
        files.insert(
            dir.join("api.json"),
            pretty(&serde_json::to_value(&api).map_err(json_err)?)?,
        );
    }

    // Extraction's generated files, the drift baseline of `contracts
    // check`: only those that say something else than the base's.
    let inherited = extract::committed_generated(Some(&args.schemas), base.chain())?;
    let prefix = Path::new("schemas").join(&args.version).join("generated");
    let mut names = BTreeSet::new();
    let mut examples_changed = Vec::new();
    for (rel, text) in extract::outputs(&extraction)? {
        let Ok(name) = rel.strip_prefix(&prefix) else {
            continue;
        };
        let name = name.to_string_lossy().into_owned();
        names.insert(name.clone());
        let fresh = Error::parse_json(&rel, &text)?;
        if inherited
            .get(&name)
            .is_some_and(|old| extract::same_generated(&name, old, &fresh))
        {
            continue;
        }
        if let Some(stem) = name.strip_suffix(".base.json") {
            examples_changed.push(stem.to_string());
        }
        files.insert(dir.join("generated").join(&name), text);
    }
    let base_names: BTreeSet<String> = inherited.keys().cloned().collect();
    if names != base_names {
        files.insert(
            dir.join("generated").join(extract::GENERATED_NAMES),
            pretty(&serde_json::json!({ "files": names }))?,
        );
    }
    // The manifest.
    let (release_date, docs_commit) = release_of(&args.docs, &args.version);
    let summary = summary(base.api(), &api, &derived, &examples_changed);
    let curated_version = previous
        .as_ref()
        .is_some_and(|m| m.status.as_deref() == Some("curated"));
    let manifest = Manifest {
        version: args.version.clone(),
        release_date,
        docs_commit,
        extends: Some(base_version.clone()),
        status: Some(
            if curated_version {
                "curated"
            } else if undecided.is_empty() {
                "derived"
            } else {
                "needs-curation"
            }
            .into(),
        ),
        summary: Some(match previous.as_ref().and_then(|m| m.summary.clone()) {
            Some(kept) if curated_version => kept,
            _ => summary,
        }),
        // A hand-curated version's own list stands: what this run could not
        // decide there is said below, not written over the person's words.
        undecided: match previous.as_ref() {
            Some(m) if curated_version => m.undecided.clone(),
            _ => undecided.clone(),
        },
        curated: curated.iter().cloned().collect(),
    };
    files.insert(
        dir.join("contract.json"),
        pretty(&serde_json::to_value(&manifest).map_err(json_err)?)?,
    );

    for name in &curated {
        files.remove(&dir.join(name));
    }
    // A hand-curated version (status `curated`) is a person's work: a rerun
    // writes no file it does not already hold (0.1.9 inherits 0.1.8's
    // session schema on purpose; the fit test would widen it).
    let mut left = Vec::new();
    if curated_version {
        files.retain(|path, _| {
            let keep = path.exists();
            if !keep {
                left.push(
                    path.strip_prefix(&dir)
                        .unwrap_or(path)
                        .display()
                        .to_string(),
                );
            }
            keep
        });
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
    // What an earlier run wrote and this one would not: gone, so the
    // folder holds only what differs from the base. A hand-curated version
    // keeps everything.
    if !curated_version {
        for folder in [dir.clone(), dir.join("generated")] {
            for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
                let path = entry.path();
                let rel = path
                    .strip_prefix(&dir)
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_default();
                if path.extension().is_some_and(|e| e == "json")
                    && !files.contains_key(&path)
                    && !curated.contains(&rel)
                {
                    std::fs::remove_file(&path).map_err(|source| Error::Read {
                        path: path.clone(),
                        source,
                    })?;
                    changed += 1;
                }
            }
        }
    }
    // Proves the written version loads.
    Contract::load_from(source, &args.version)?;
    let mut said = format!(
        "contract {} (extends {base_version}): {} files, {changed} changed, under {}\n{} undecided (see `undecided` in {})\n",
        args.version,
        files.len(),
        dir.display(),
        manifest.undecided.len(),
        dir.join("contract.json").display()
    );
    if curated_version && !(left.is_empty() && undecided.is_empty()) {
        let list = |items: &[String], sep: &str| {
            if items.is_empty() {
                "nothing".to_string()
            } else {
                items.join(sep)
            }
        };
        said.push_str(&format!(
            "{} is curated by hand: not written: {}; the docs left undecided: {}\n",
            args.version,
            list(&left, ", "),
            list(&undecided, "; "),
        ));
    }
    Ok(said)
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

/// An endpoint a curated version (a person's work, not this tool's) defines
/// for this method and path, when every schema it names is in the base:
/// an endpoint a release dropped and a later one brought back.
fn curated_endpoint(
    root: &Path,
    method: &str,
    path: &str,
    has_schema: &dyn Fn(&str) -> bool,
) -> Result<Option<Endpoint>> {
    let mut versions: BTreeSet<String> = Source::Dir(root).versions().into_iter().collect();
    versions.extend(Contract::known_versions());
    let mut versions: Vec<String> = versions.into_iter().collect();
    crate::contract::source::sort_versions(&mut versions);
    for version in versions.iter().rev() {
        let files = match Source::Dir(root).folder(version)? {
            Some(files) => files,
            None => Source::Embedded.folder(version)?.unwrap_or_default(),
        };
        let (Some(manifest), Some(api)) = (
            files.get(crate::contract::source::MANIFEST),
            files.get(crate::contract::source::API),
        ) else {
            continue;
        };
        let curated = Error::parse_json(&manifest.path, &manifest.text)?["status"] == "curated";
        if !curated {
            continue;
        }
        let model = ApiModel::parse(&api.path, &api.text)?;
        if let Some(found) = model
            .endpoints
            .into_iter()
            .find(|e| e.method == method && template(&e.path) == path)
        {
            if found
                .schema_names()
                .iter()
                .all(|n| has_schema(n.split('.').next().unwrap_or(n)))
            {
                return Ok(Some(found));
            }
        }
    }
    Ok(None)
}

fn api_model(
    base_contract: &Contract,
    extraction: &Extraction,
    docs: &Path,
    version: &str,
    root: &Path,
    has_schema: &dyn Fn(&str) -> bool,
    undecided: &mut Vec<String>,
) -> Result<ApiModel> {
    let base = base_contract.api();
    let mut api = base.clone();
    let listed: BTreeMap<(String, String), &docs::Endpoint> = extraction
        .endpoints
        .iter()
        .map(|e| ((e.method.clone(), template(&e.path)), e))
        .collect();
    // The handoff redirect is not in the docs' endpoint list; it lives as
    // long as the docs name a handoff URL (a field with the handoff role).
    let cli = std::fs::read_to_string(docs.join("cli.md")).unwrap_or_default();
    let names_handoff = base_contract
        .role_leaf_names(&[roles::CHECKOUT_HANDOFF_URL])
        .iter()
        .any(|f| cli.contains(f.as_str()));
    api.endpoints.retain(|e| match e.response {
        Response::Redirect(_) => names_handoff,
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
        if let Some(known) = curated_endpoint(root, method, path, has_schema)? {
            api.endpoints.push(known);
            continue;
        }
        let schema = extract::endpoint_schema(found, base).map(str::to_string);
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
                docs::AuthNeed::None => Auth::None,
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
    let rules = DocsRules::load()?;
    // Flags the release's own notes make required (before commands.json).
    let mut stated_required: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for found in rules.required_flags(docs, version)? {
        stated_required
            .entry(found.command.clone())
            .or_default()
            .push(found.flag.clone());
    }
    let mut commands = Vec::new();
    let mut seen = BTreeSet::new();
    // Commands the base ties to an endpoint that is still listed stay.
    let kept: Vec<String> = base
        .commands
        .iter()
        .filter(|c| c.operation.as_ref().is_some_and(|op| ids.contains(op)))
        .map(|c| c.argv.clone())
        .collect();
    let listed: Vec<String> = manifest
        .iter()
        .flat_map(|(id, m)| {
            std::iter::once(id.clone())
                .chain(m.subcommands.iter().map(move |s| format!("{id} {s}")))
        })
        .collect();
    for argv in kept.iter().chain(&headings).chain(&listed) {
        if !seen.insert(argv.clone()) {
            continue;
        }
        let old = base.commands.iter().find(|c| &c.argv == argv);
        let operation = old
            .and_then(|c| c.operation.clone())
            .filter(|op| ids.contains(op));
        let entry = manifest.get(argv);
        let mut required_flags = match manifest_help(docs, argv)? {
            Some(flags) => flags,
            None => old.map(|c| c.required_flags.clone()).unwrap_or_default(),
        };
        for flag in stated_required.get(argv).into_iter().flatten() {
            if !required_flags.contains(flag) {
                required_flags.push(flag.clone());
            }
        }
        commands.push(CliCommand {
            argv: argv.clone(),
            operation,
            mutation: entry.and_then(|m| m.mutation),
            spend: entry.and_then(|m| m.spend),
            required_flags,
            surface: entry.and_then(|m| m.surface.clone()),
            subcommands: entry.map(|m| m.subcommands.clone()).unwrap_or_default(),
        });
    }
    commands.sort_by(|a, b| a.argv.cmp(&b.argv));
    api.commands = commands;
    api.payment_rails = payment_rails(&rules, base, docs, version, undecided)?;
    Ok(api)
}

/// Rails from the docs' flag and example values; the quote default is the
/// API's: what the docs state, else the base's while it is still a rail
/// (listed as undecided). A CLI flag the quote command requires is the
/// CLI's rule and leaves the API's default alone.
fn payment_rails(
    rules: &DocsRules,
    base: &ApiModel,
    docs: &Path,
    version: &str,
    undecided: &mut Vec<String>,
) -> Result<Option<PaymentRails>> {
    let rails: Vec<String> = rules.rails(docs)?.into_iter().collect();
    if rails.is_empty() {
        return Ok(base.payment_rails.clone());
    }
    let quote_default = if let Some(found) = rules.stated_quote_default(docs, version)? {
        Some(found.value)
    } else {
        let inherited = base
            .payment_rails
            .as_ref()
            .and_then(|p| p.quote_default.clone());
        match inherited {
            Some(rail) if rails.contains(&rail) => {
                undecided.push(format!(
                    "the quote's default rail: the docs state none; kept the base's `{rail}`"
                ));
                Some(rail)
            }
            Some(rail) => {
                undecided.push(format!(
                    "the quote's default rail: the base's `{rail}` is no longer in the docs and they name no other"
                ));
                None
            }
            None => None,
        }
    };
    Ok(Some(PaymentRails {
        rails,
        quote_default,
    }))
}

/// One entry of `commands.json` (0.1.37 on).
#[derive(Debug, Default)]
struct Listed {
    mutation: Option<bool>,
    spend: Option<bool>,
    surface: Option<String>,
    subcommands: Vec<String>,
}

/// `commands.json`'s commands by id (`credits`, `credits quote`).
fn commands_json(docs: &Path) -> Result<BTreeMap<String, Listed>> {
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
                Listed {
                    mutation: command["mutation"].as_bool(),
                    spend: command["spend"].as_bool(),
                    surface: command["surface"].as_str().map(str::to_string),
                    subcommands: strings(&command["subcommands"]),
                },
            );
        }
    }
    Ok(out)
}

/// The `required_flags` of `commands.json`'s help entry for `argv`, when it has one.
fn manifest_help(docs: &Path, argv: &str) -> Result<Option<Vec<String>>> {
    let path = docs.join("commands.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let value = Error::parse_json(&path, &text)?;
    Ok(value["help_entries"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|h| h["key"].as_str().map(|k| k.replace('.', " ")).as_deref() == Some(argv))
        .map(|h| strings(&h["help"]["required_flags"])))
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
fn summary(
    base: &ApiModel,
    api: &ApiModel,
    derived: &BTreeMap<&str, &docs::Example>,
    examples_changed: &[String],
) -> String {
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
    let rails = |m: &ApiModel| -> (BTreeSet<String>, Option<String>) {
        m.payment_rails.as_ref().map_or_else(Default::default, |p| {
            (p.rails.iter().cloned().collect(), p.quote_default.clone())
        })
    };
    let ((ra, da), (rb, db)) = (rails(base), rails(api));
    let radded: Vec<&String> = rb.difference(&ra).collect();
    let rremoved: Vec<&String> = ra.difference(&rb).collect();
    if !radded.is_empty() {
        parts.push(format!("+rails {}", join_short(&radded)));
    }
    if !rremoved.is_empty() {
        parts.push(format!("-rails {}", join_short(&rremoved)));
    }
    if da != db {
        parts.push(format!(
            "quote default {}",
            db.as_deref().unwrap_or("none (payment_method required)")
        ));
    }
    for c in &api.commands {
        let before = base
            .commands
            .iter()
            .find(|b| b.argv == c.argv)
            .map(|b| b.required_flags.clone())
            .unwrap_or_default();
        let newly: Vec<&String> = c
            .required_flags
            .iter()
            .filter(|f| !before.contains(f))
            .collect();
        if !newly.is_empty() && ca.contains(&c.argv) {
            parts.push(format!("`{}` requires {}", c.argv, join_short(&newly)));
        }
    }
    if !derived.is_empty() {
        parts.push(format!(
            "schemas widened: {}",
            derived.keys().copied().collect::<Vec<_>>().join(", ")
        ));
    }
    if parts.is_empty() && !examples_changed.is_empty() {
        let shown: Vec<&String> = examples_changed.iter().collect();
        parts.push(format!(
            "examples reshaped, still fitting: {}",
            join_short(&shown)
        ));
    }
    if parts.is_empty() {
        "no change to endpoints, commands, rails or example shapes".into()
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

/// Tries schema nodes of the base contract on example values, and widens
/// a node just where a value does not fit it: properties are fitted one by
/// one, a required property the example lacks becomes optional, and a
/// leaf that still refuses becomes `anyOf` [itself, the example's shape].
/// Roles and `$ref`s of the parts that fit stay.
struct Prober {
    registry: jsonschema::Registry<'static>,
}

const PROBE_ID: &str = "https://conform.invalid/schemas/contracts-add-probe.json";

impl Prober {
    fn new(base: &Contract) -> Result<Prober> {
        let mut builder = jsonschema::Registry::new();
        for schema in base.documents().values() {
            if let Some(id) = schema.get("$id").and_then(Value::as_str) {
                builder = builder
                    .add(id, schema.clone())
                    .map_err(|e| Error::Internal(format!("cannot register {id}: {e}")))?;
            }
        }
        let registry = builder
            .prepare()
            .map_err(|e| Error::Internal(format!("cannot assemble the base contract: {e}")))?;
        Ok(Prober { registry })
    }

    /// Whether `value` fits `node`, a part of the schema document `root`
    /// (whose `$defs` local refs point into).
    fn valid(&self, root: &Value, node: &Value, value: &Value) -> bool {
        let mut probe = match node {
            Value::Object(map) => map.clone(),
            Value::Bool(b) => return *b,
            _ => return false,
        };
        probe.insert("$id".into(), Value::from(PROBE_ID));
        probe.remove("$schema");
        if let Some(defs) = root.get("$defs") {
            probe.insert("$defs".into(), defs.clone());
        }
        jsonschema::options()
            .with_registry(&self.registry)
            .build(&Value::Object(probe))
            .map(|v| v.is_valid(value))
            .unwrap_or(false)
    }

    fn fit(&self, root: &Value, node: &Value, value: &Value) -> Value {
        const LOOSE: [&str; 2] = ["additionalProperties", "unevaluatedProperties"];
        if self.valid(root, node, value) {
            return node.clone();
        }
        if let (Some(map), Some(obj)) = (node.as_object(), value.as_object()) {
            if map.contains_key("properties") && !map.contains_key("$ref") {
                let mut new = map.clone();
                if let Some(required) = new.get_mut("required").and_then(Value::as_array_mut) {
                    required.retain(|k| k.as_str().is_some_and(|k| obj.contains_key(k)));
                }
                let closed = LOOSE
                    .iter()
                    .any(|k| map.get(*k) == Some(&Value::Bool(false)));
                if let Some(props) = new.get_mut("properties").and_then(Value::as_object_mut) {
                    for (key, v) in obj {
                        match props.get(key) {
                            Some(sub) => {
                                let fitted = self.fit(root, sub, v);
                                props.insert(key.clone(), fitted);
                            }
                            None if closed => {
                                props.insert(key.clone(), extract::infer_schema(v));
                            }
                            None => {}
                        }
                    }
                }
                let new = Value::Object(new);
                if self.valid(root, &new, value) {
                    return new;
                }
                return any_of(new, value);
            }
        }
        if let (Some(map), Some(items)) = (node.as_object(), value.as_array()) {
            if let (Some(each), false) = (map.get("items"), map.contains_key("$ref")) {
                let mut each = each.clone();
                for item in items {
                    each = self.fit(root, &each, item);
                }
                let mut new = map.clone();
                new.insert("items".into(), each);
                let new = Value::Object(new);
                if self.valid(root, &new, value) {
                    return new;
                }
                return any_of(new, value);
            }
        }
        any_of(node.clone(), value)
    }
}

/// `node` or the example's shape; an `anyOf` this tool made grows instead
/// of nesting.
fn any_of(node: Value, value: &Value) -> Value {
    let shape = extract::infer_schema(value);
    if let Some(arms) = node
        .as_object()
        .filter(|m| m.len() == 1)
        .and_then(|m| m.get("anyOf"))
        .and_then(Value::as_array)
    {
        let mut arms = arms.clone();
        if !arms.contains(&shape) {
            arms.push(shape);
        }
        return serde_json::json!({ "anyOf": arms });
    }
    serde_json::json!({ "anyOf": [node, shape] })
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
