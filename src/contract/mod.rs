//! Load contract: the versioned JSON Schemas under `schemas/<version>/`,
//! checked once, each compiled at most once so every later check only
//! validates. The shipped schemas are compiled when a check first needs
//! them (a run pays for the few its steps name, not all of them); a folder
//! given with `--schemas` is compiled whole at load, so its errors show
//! before anything runs.
//!
//! A contract version is a folder (see [`source`]): `contract.json`, the
//! API model `api.json`, and the draft 2020-12 schemas that differ from the
//! version it `extends`. `common.json` holds shared `$defs`; every other
//! file is a named schema (its file stem). `$id`s are version-free,
//! `https://conform.invalid/schemas/<file>`, and resolved inside the
//! assembled version, so relative `$ref`s such as `common.json#/$defs/actor`
//! land on the nearest version's file and nothing is ever fetched. (A
//! folder written before versions extended each other may still say
//! `.../schemas/<version>/<file>`.)
//!
//! Fields that matter to a check carry a role, `x-conform-role`, from the
//! vocabulary in [`roles`]; code finds them by role, not by name.

pub mod api;
pub mod invariants;
pub mod roles;
pub mod source;

pub use api::ApiModel;

/// The newest contract version built in (the highest version folder).
pub const NEWEST_CONTRACT: &str = crate::embedded::NEWEST_VERSION;

/// The contract a run checks when no `--contract` is given: the newest
/// built in, so adding a release folder moves it.
pub const DEFAULT_CONTRACT: &str = NEWEST_CONTRACT;
pub use source::{Manifest, RawFile, Source};

use std::any::Any;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, PoisonError};

use serde_json::Value;

use crate::error::{Error, Result, closest};

const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";
const ID_BASE: &str = "https://conform.invalid/schemas";
const COMMON: &str = "common";
/// The schema of every successful answer's whole body.
pub const SUCCESS_ENVELOPE: &str = "success-envelope";
/// The schema of every failed answer's whole body.
pub const ERROR_ENVELOPE: &str = "error-envelope";

/// The compiled schemas of one contract version.
pub struct Contract {
    version: String,
    manifest: Manifest,
    chain: Vec<String>,
    /// Every named schema (not `common`), compiled on first use.
    validators: BTreeMap<String, Compiled>,
    /// Every document by `$id`, for the `$ref`s of a schema compiled later.
    registry: jsonschema::Registry<'static>,
    /// The schema documents as written, for generators (negative probes).
    raw: BTreeMap<String, Value>,
    /// Every document, `common` included.
    documents: BTreeMap<String, Value>,
    api: ApiModel,
    /// `mock.json`: the reference mock's seed data for this version.
    mock_seed: Option<Value>,
    /// `answers.json`: the mock's answer templates, with where they were read.
    mock_answers: Option<(PathBuf, Value)>,
    fragment_policy: FragmentPolicy,
    /// (envelope schema, role) -> the pointer of the field with that role.
    envelope: BTreeMap<(&'static str, &'static str), String>,
    /// Fields by role, found on first use.
    role_index: OnceLock<RoleIndex>,
    derived: Derived,
}

/// Per role: the last names of its fields in any schema, and their
/// pointers in a success answer (payload pointer + path in a data schema).
struct RoleIndex {
    leaves: BTreeMap<&'static str, std::collections::BTreeSet<String>>,
    in_answers: BTreeMap<&'static str, Vec<String>>,
}

/// One named schema's validator, made the first time it is needed and then
/// shared (any thread); a compile error is kept as (pointer, message).
struct Compiled {
    path: PathBuf,
    cell: OnceLock<std::result::Result<jsonschema::Validator, (String, String)>>,
}

/// What later stages compile from a loaded contract and share for as long
/// as it lives (the mock's answer shapes, see [`Contract::derived`]): an
/// audit starts thousands of mocks of the same few versions.
#[derive(Default)]
struct Derived(std::sync::Mutex<Vec<Arc<dyn Any + Send + Sync>>>);

/// What a contract version says about the `#...` fragment of Stripe
/// Checkout URLs: the one rule 0.1.8 and 0.1.9 disagree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FragmentPolicy {
    /// 0.1.9 and later: the full URL, fragment included, everywhere.
    Required,
    /// 0.1.8: its docs describe fragment-stripped URLs.
    Stripped,
}

/// Read from the definition whose role is `stripe_checkout_url` (by
/// convention `common.json#/$defs/stripe_checkout_url`), so the schemas stay
/// the single source of the rule.
const STRIPE_URL_DEF: &str = "/$defs/stripe_checkout_url";
const FRAGMENT_PROBE: &str = "https://checkout.stripe.com/c/pay/cs_test_probe#fidprobe";

/// One way an instance breaks a schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// JSON pointer into the instance; `""` is the root.
    pub pointer: String,
    pub message: String,
}

/// A schema file before compilation.
struct SchemaFile {
    /// Where the text came from, for error messages.
    path: PathBuf,
    name: String,
    id: String,
    schema: Value,
}

impl Contract {
    /// The contract `version` shipped inside the binary.
    pub fn embedded(version: &str) -> Result<Contract> {
        Self::load_from(Source::Embedded, version)
    }

    /// The contract `version` read from `<schemas_root>/<version>/` (and the
    /// folders of the versions it extends).
    pub fn from_dir(schemas_root: &Path, version: &str) -> Result<Contract> {
        Self::load_from(Source::Dir(schemas_root), version)
    }

    /// Either of the above.
    pub fn load_from(source: Source<'_>, version: &str) -> Result<Contract> {
        let resolved = source.resolve(version)?;
        if resolved.schemas.is_empty() {
            return Err(Error::Schema {
                path: source.root().join(version),
                pointer: String::new(),
                message: "no schema files (*.json) in the contract folder".to_string(),
            });
        }
        // The shipped schemas are proven whole by the unit tests; checking
        // every shared definition again cost each run about half the compile.
        let wanted = match source {
            Source::Embedded => Defs::OnlyTheFragmentRule,
            _ => Defs::All,
        };
        load(resolved, wanted)
    }

    /// Versions shipped inside the binary, in release order.
    pub fn known_versions() -> Vec<String> {
        Source::Embedded.versions()
    }

    /// The version's manifest (`contract.json`).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The chain of versions this one was assembled from, itself first.
    pub fn chain(&self) -> &[String] {
        &self.chain
    }

    /// Every schema document by file stem, `common` included, with its
    /// version-free `$id`: what exporters inline.
    pub fn documents(&self) -> &BTreeMap<String, Value> {
        &self.documents
    }

    /// The API model (`api.json` of the nearest version that has one;
    /// empty for a folder of schemas alone).
    pub fn api(&self) -> &ApiModel {
        &self.api
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// The reference mock's seed data (`mock.json` of the nearest version
    /// that has one), if any.
    pub fn mock_seed(&self) -> Option<&Value> {
        self.mock_seed.as_ref()
    }

    /// The reference mock's answer templates (`answers.json` of the nearest
    /// version that has one) and where they were read, if any.
    pub fn mock_answers(&self) -> Option<(&Path, &Value)> {
        self.mock_answers.as_ref().map(|(p, v)| (p.as_path(), v))
    }

    pub fn has_schema(&self, name: &str) -> bool {
        self.validators.contains_key(name)
    }

    /// Named schemas, sorted; `common` only holds shared definitions.
    pub fn schema_names(&self) -> Vec<String> {
        self.validators.keys().cloned().collect()
    }

    /// Every way `instance` breaks schema `name`, sorted by pointer;
    /// empty when it conforms. Errs only when `name` is not in the contract.
    pub fn validate(&self, name: &str, instance: &Value) -> Result<Vec<Violation>> {
        let validator = self.validator(name)?;
        // Most answers conform: `is_valid` skips building any error.
        if validator.is_valid(instance) {
            return Ok(Vec::new());
        }
        let mut violations: Vec<Violation> = validator
            .iter_errors(instance)
            .map(|error| Violation {
                pointer: error.instance_path().as_str().to_string(),
                message: error.to_string(),
            })
            .collect();
        // Stable sort keeps the validator's order within one pointer.
        violations.sort_by(|a, b| a.pointer.cmp(&b.pointer));
        violations.dedup();
        Ok(violations)
    }

    /// Schema `name` compiled, the first call compiling it. Errs when the
    /// contract has no such schema or it does not compile.
    fn validator(&self, name: &str) -> Result<&jsonschema::Validator> {
        let (Some(slot), Some(schema)) = (self.validators.get(name), self.raw.get(name)) else {
            return Err(self.unknown_schema(name));
        };
        let built = slot.cell.get_or_init(|| {
            jsonschema::options()
                .with_registry(&self.registry)
                .build(schema)
                .map_err(|e| (e.instance_path().as_str().to_string(), e.to_string()))
        });
        built.as_ref().map_err(|(pointer, message)| {
            schema_error(&slot.path, pointer.clone(), message.clone())
        })
    }

    /// Schema `name` as written (`$ref`s unresolved), if the contract has it.
    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.raw.get(name)
    }

    /// The `T` made from this contract by `make`, made once: later calls
    /// (any thread) share it. `make` runs under the slot's lock, so
    /// concurrent first calls wait for one result instead of each making
    /// their own; an error is returned and not kept.
    pub fn derived<T: Any + Send + Sync>(
        &self,
        make: impl FnOnce(&Contract) -> Result<T>,
    ) -> Result<Arc<T>> {
        let mut slot = self
            .derived
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = slot.iter().find_map(|d| Arc::clone(d).downcast::<T>().ok()) {
            return Ok(found);
        }
        let made = Arc::new(make(self)?);
        slot.push(Arc::clone(&made) as Arc<dyn Any + Send + Sync>);
        Ok(made)
    }

    /// The JSON pointer of the field that has `role` (one of
    /// [`roles::ENVELOPE`]) in envelope schema `schema`
    /// ([`SUCCESS_ENVELOPE`] or [`ERROR_ENVELOPE`]); `None` when the
    /// contract has no such schema or gives no field that role.
    pub fn envelope_field(&self, schema: &str, role: &str) -> Option<&str> {
        self.envelope
            .iter()
            .find(|((s, r), _)| *s == schema && *r == role)
            .map(|(_, pointer)| pointer.as_str())
    }

    /// The last names of the fields that carry one of `wanted` roles, in
    /// any of the version's schemas.
    pub fn role_leaf_names(&self, wanted: &[&str]) -> std::collections::BTreeSet<String> {
        let index = self.role_index();
        wanted
            .iter()
            .filter_map(|r| index.leaves.get(r))
            .flatten()
            .cloned()
            .collect()
    }

    /// Whether `name` is the last name of a field with `role`.
    pub fn is_role_leaf(&self, role: &str, name: &str) -> bool {
        self.role_index()
            .leaves
            .get(role)
            .is_some_and(|names| names.contains(name))
    }

    /// Pointers into a success answer's body of the fields with `role` in
    /// the data schemas (no arrays between): `/data/token` for the signup
    /// token. Empty without a payload role.
    pub fn role_pointers_in_answers(&self, role: &str) -> &[String] {
        self.role_index()
            .in_answers
            .get(role)
            .map_or(&[], Vec::as_slice)
    }

    fn role_index(&self) -> &RoleIndex {
        self.role_index.get_or_init(|| {
            let common = self.documents.get(COMMON);
            let payload = self.envelope_field(SUCCESS_ENVELOPE, roles::PAYLOAD);
            let mut leaves = BTreeMap::new();
            let mut in_answers = BTreeMap::new();
            for role in roles::ALL {
                leaves.insert(role, roles::leaf_names(&self.documents, &[role]));
                let Some(payload) = payload else { continue };
                let pointers: Vec<String> = self
                    .raw
                    .iter()
                    .filter(|(name, _)| !name.ends_with("-envelope") && !name.ends_with("-request"))
                    .flat_map(|(_, doc)| roles::fields_with_role(doc, common, role))
                    .filter(|path| !path.is_empty() && !path.split('/').any(|k| k == "*"))
                    .map(|path| format!("{payload}{path}"))
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                in_answers.insert(role, pointers);
            }
            RoleIndex { leaves, in_answers }
        })
    }

    /// Whether this version requires or strips Stripe URL fragments.
    pub fn fragment_policy(&self) -> FragmentPolicy {
        self.fragment_policy
    }

    fn unknown_schema(&self, name: &str) -> Error {
        let names = self.schema_names();
        let hint = closest(name, &names)
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        Error::Usage(format!(
            "unknown schema `{name}` in contract {} (known: {}){hint}",
            self.version,
            names.join(", ")
        ))
    }
}

fn schema_error(path: &Path, pointer: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Schema {
        path: path.to_path_buf(),
        pointer: pointer.into(),
        message: message.into(),
    }
}

/// Parses, checks and compiles one version's files. Checks run file by file
/// before compilation so an error names the file and the place in it;
/// jsonschema's own errors only back them up.
/// Which shared definitions (`$defs`) are compiled on their own, so a broken
/// one is reported against its file even when no named schema uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defs {
    All,
    /// Only the Stripe Checkout URL rule, which the fragment policy needs.
    OnlyTheFragmentRule,
}

fn load(resolved: source::Resolved, wanted: Defs) -> Result<Contract> {
    let version = resolved.manifest.version.clone();
    let mut parsed = Vec::with_capacity(resolved.schemas.len());
    for (name, file) in &resolved.schemas {
        parsed.push(parse_file(name, &file.path, &file.text)?);
    }
    let ids: BTreeMap<&str, &SchemaFile> = parsed.iter().map(|f| (f.id.as_str(), f)).collect();
    for file in &parsed {
        check_refs(file, &ids)?;
    }

    let mut builder = jsonschema::Registry::new();
    for file in &parsed {
        builder = builder
            .add(&file.id, file.schema.clone())
            .map_err(|e| schema_error(&file.path, "/$id", e.to_string()))?;
    }
    let registry = builder.prepare().map_err(|e| {
        schema_error(
            &resolved.manifest_path,
            "",
            format!("cannot assemble the contract: {e}"),
        )
    })?;
    let options = jsonschema::options().with_registry(&registry);

    let mut validators = BTreeMap::new();
    // Named schemas: a folder of the user's is compiled now, so a broken
    // schema is an error before the run; the shipped ones (proven by the
    // unit tests) on first use.
    let eager = wanted == Defs::All;
    let mut fragment_policy = None;
    for file in &parsed {
        // Shared definitions are compiled too, so a broken one is reported
        // against its own file even when no named schema uses it yet.
        if let Some(defs) = file.schema.get("$defs").and_then(Value::as_object) {
            for (name, def_schema) in defs {
                let pointer = format!("/$defs/{}", crate::hash::pointer_key(name));
                if wanted == Defs::OnlyTheFragmentRule
                    && roles::role_of(def_schema) != Some(roles::STRIPE_CHECKOUT_URL)
                {
                    continue;
                }
                let wrapper = serde_json::json!({
                    "$ref": format!("{}#{}", file.id, encode_fragment(&pointer))
                });
                let def = options
                    .build(&wrapper)
                    .map_err(|e| schema_error(&file.path, pointer.clone(), e.to_string()))?;
                if roles::role_of(def_schema) == Some(roles::STRIPE_CHECKOUT_URL) {
                    fragment_policy = Some(if def.is_valid(&Value::from(FRAGMENT_PROBE)) {
                        FragmentPolicy::Required
                    } else {
                        FragmentPolicy::Stripped
                    });
                }
            }
        }
        if file.name == COMMON {
            continue;
        }
        let cell = OnceLock::new();
        if eager {
            let validator = options
                .build(&file.schema)
                .map_err(|e| schema_error(&file.path, e.instance_path().as_str(), e.to_string()))?;
            let _ = cell.set(Ok(validator));
        }
        let path = file.path.clone();
        validators.insert(file.name.clone(), Compiled { path, cell });
    }
    // It borrows the registry, which the contract keeps.
    drop(options);
    let fragment_policy = fragment_policy.ok_or_else(|| {
        let common = parsed
            .iter()
            .find(|f| f.name == COMMON)
            .map(|f| f.path.clone())
            .unwrap_or_else(|| resolved.manifest_path.join("common.json"));
        schema_error(
            &common,
            STRIPE_URL_DEF,
            format!(
                "the contract must define the Stripe Checkout URL rule (a definition with `\"{}\": \"{}\"`) here",
                roles::KEYWORD,
                roles::STRIPE_CHECKOUT_URL
            ),
        )
    })?;
    let api = match &resolved.api {
        Some(file) => {
            let api = ApiModel::parse(&file.path, &file.text)?;
            let names: std::collections::BTreeSet<&str> =
                parsed.iter().map(|f| f.name.as_str()).collect();
            api.check(|name| names.contains(name))
                .map_err(|(pointer, message)| schema_error(&file.path, pointer, message))?;
            api
        }
        None => ApiModel::default(),
    };
    let mock_seed = match &resolved.mock {
        Some(file) => Some(Error::parse_json(&file.path, &file.text)?),
        None => None,
    };
    let mock_answers = match &resolved.answers {
        Some(file) => Some((
            file.path.clone(),
            Error::parse_json(&file.path, &file.text)?,
        )),
        None => None,
    };
    let documents: BTreeMap<String, Value> = parsed
        .iter()
        .map(|f| (f.name.clone(), f.schema.clone()))
        .collect();
    let raw = parsed
        .into_iter()
        .filter(|f| f.name != COMMON)
        .map(|f| (f.name, f.schema))
        .collect();
    Ok(Contract {
        version,
        manifest: resolved.manifest,
        chain: resolved.chain,
        validators,
        registry,
        raw,
        api,
        mock_seed,
        mock_answers,
        fragment_policy,
        envelope: envelope_fields(&documents),
        documents,
        role_index: OnceLock::new(),
        derived: Derived::default(),
    })
}

/// Where the envelope schemas put the fields with envelope roles: found
/// once, since the `trace_id` check reads one on every step.
fn envelope_fields(
    documents: &BTreeMap<String, Value>,
) -> BTreeMap<(&'static str, &'static str), String> {
    let common = documents.get(COMMON);
    let mut out = BTreeMap::new();
    for schema in [SUCCESS_ENVELOPE, ERROR_ENVELOPE] {
        let Some(doc) = documents.get(schema) else {
            continue;
        };
        for role in roles::ENVELOPE {
            if let Some(first) = roles::fields_with_role(doc, common, role)
                .into_iter()
                .next()
            {
                out.insert((schema, role), first);
            }
        }
    }
    out
}

fn parse_file(name: &str, path: &Path, text: &str) -> Result<SchemaFile> {
    let mut schema = Error::parse_json(path, text)?;
    let name = name.to_string();
    if !schema.is_object() {
        return Err(schema_error(
            path,
            "",
            "a schema file must hold a JSON object",
        ));
    }
    match schema.get("$schema").and_then(Value::as_str) {
        Some(DRAFT_2020_12) => {}
        Some(other) => {
            return Err(schema_error(
                path,
                "/$schema",
                format!("expected `$schema` to be `{DRAFT_2020_12}`, found `{other}`"),
            ));
        }
        None => {
            return Err(schema_error(
                path,
                "",
                format!("missing `$schema` (expected `{DRAFT_2020_12}`)"),
            ));
        }
    }
    let id = format!("{ID_BASE}/{name}.json");
    // The folder's own version, for `$id`s written before they were
    // version-free.
    let folder = path
        .parent()
        .and_then(Path::file_name)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let legacy = format!("{ID_BASE}/{folder}/{name}.json");
    match schema.get("$id").and_then(Value::as_str) {
        Some(found) if found == id => {}
        Some(found) if found == legacy => {
            schema["$id"] = Value::from(id.clone());
        }
        Some(found) => {
            return Err(schema_error(
                path,
                "/$id",
                format!("expected `$id` to be `{id}`, found `{found}`"),
            ));
        }
        None => {
            return Err(schema_error(
                path,
                "",
                format!("missing `$id` (expected `{id}`)"),
            ));
        }
    }
    if let Err(e) = jsonschema::meta::validate(&schema) {
        return Err(schema_error(
            path,
            e.instance_path().as_str(),
            format!("not a valid draft 2020-12 schema: {e}"),
        ));
    }
    Ok(SchemaFile {
        path: path.to_path_buf(),
        name,
        id,
        schema,
    })
}

/// Every `$ref` must land on a file of this contract and on a place that
/// exists in it: with retrieval off, anything else could only fail later
/// and with less context.
fn check_refs(file: &SchemaFile, ids: &BTreeMap<&str, &SchemaFile>) -> Result<()> {
    let base = url::Url::parse(&file.id)
        .map_err(|e| schema_error(&file.path, "/$id", format!("invalid `$id`: {e}")))?;
    let mut refs = Vec::new();
    collect_refs(&file.schema, &base, String::new(), &mut refs);
    for (pointer, base, reference) in refs {
        let fail = |why: String| {
            schema_error(
                &file.path,
                format!("{pointer}/$ref"),
                format!("`$ref` `{reference}` {why}"),
            )
        };
        let mut target = base
            .join(&reference)
            .map_err(|e| fail(format!("is not a valid URI reference: {e}")))?;
        let fragment = target.fragment().map(percent_decode).unwrap_or_default();
        target.set_fragment(None);
        let Some(doc) = ids.get(target.as_str()) else {
            return Err(fail(format!(
                "points outside the contract (`{target}` is not a schema file of it)"
            )));
        };
        let found = if fragment.is_empty() || fragment.starts_with('/') {
            doc.schema.pointer(&fragment).is_some()
        } else {
            has_anchor(&doc.schema, &fragment)
        };
        if !found {
            let place = if doc.path == file.path {
                "this file".to_string()
            } else {
                format!("`{}`", doc.path.display())
            };
            return Err(fail(format!(
                "does not resolve: {place} has nothing at `#{fragment}`"
            )));
        }
    }
    Ok(())
}

/// Keywords whose values are data, not subschemas: a `"$ref"` inside them is
/// not a reference.
const DATA_KEYWORDS: [&str; 4] = ["const", "enum", "examples", "default"];

fn collect_refs(
    node: &Value,
    base: &url::Url,
    pointer: String,
    out: &mut Vec<(String, url::Url, String)>,
) {
    match node {
        Value::Object(map) => {
            // A nested `$id` changes the base for everything below it.
            let base = match map.get("$id").and_then(Value::as_str) {
                Some(id) => base.join(id).unwrap_or_else(|_| base.clone()),
                None => base.clone(),
            };
            if let Some(Value::String(reference)) = map.get("$ref") {
                out.push((pointer.clone(), base.clone(), reference.clone()));
            }
            for (key, value) in map {
                if DATA_KEYWORDS.contains(&key.as_str()) {
                    continue;
                }
                let child = format!("{pointer}/{}", crate::hash::pointer_key(key));
                collect_refs(value, &base, child, out);
            }
        }
        Value::Array(items) => {
            for (i, value) in items.iter().enumerate() {
                collect_refs(value, base, format!("{pointer}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn has_anchor(node: &Value, anchor: &str) -> bool {
    match node {
        Value::Object(map) => {
            map.get("$anchor").and_then(Value::as_str) == Some(anchor)
                || map
                    .iter()
                    .filter(|(k, _)| !DATA_KEYWORDS.contains(&k.as_str()))
                    .any(|(_, v)| has_anchor(v, anchor))
        }
        Value::Array(items) => items.iter().any(|v| has_anchor(v, anchor)),
        _ => false,
    }
}

/// What RFC 3986 lets appear raw in a fragment: unreserved, sub-delims, `:@/`.
const FRAGMENT_RAW: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/')
    .remove(b'$')
    .remove(b'!')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// Percent-encodes what may not appear raw in a URI fragment.
fn encode_fragment(pointer: &str) -> String {
    percent_encoding::utf8_percent_encode(pointer, FRAGMENT_RAW).to_string()
}

/// `%XX` escapes decoded (a `$ref`'s pointer, the mock's path segments).
pub(crate) fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn derived_data_is_made_once_per_loaded_contract_and_errors_are_not_kept() {
        let contract = Contract::embedded("0.1.9").expect("0.1.9");
        let made = std::sync::atomic::AtomicUsize::new(0);
        let make = |c: &Contract| {
            made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(c.version().to_string())
        };
        let failing = contract.derived::<u8>(|_| Err(Error::Usage("no".into())));
        assert!(failing.is_err());
        let first = contract.derived(make).expect("made");
        let second = contract.derived(make).expect("shared");
        assert!(Arc::ptr_eq(&first, &second), "the second call recompiled");
        assert_eq!(made.into_inner(), 1);
        assert_eq!(*first, "0.1.9");
        // Another type has its own slot; the failed u8 left none behind.
        assert_eq!(*contract.derived(|_| Ok(7u8)).expect("u8"), 7);
    }

    #[test]
    fn every_shared_definition_of_the_shipped_contracts_compiles() {
        // `Contract::embedded` skips compiling $defs one by one; this is
        // where a broken shipped definition is caught instead.
        for version in Contract::known_versions() {
            let resolved = Source::Embedded
                .resolve(&version)
                .expect("shipped contract resolves");
            if let Err(e) = load(resolved, Defs::All) {
                panic!("shipped contract {version} has a broken definition: {e}");
            }
        }
    }

    fn write(dir: &Path, version: &str, name: &str, schema: &Value) {
        let folder = dir.join(version);
        std::fs::create_dir_all(&folder).expect("create version folder");
        let text = serde_json::to_string_pretty(schema).expect("serialize schema");
        std::fs::write(folder.join(format!("{name}.json")), text).expect("write schema");
    }

    fn minimal(version: &str, name: &str, body: Value) -> Value {
        let mut schema = json!({
            "$schema": DRAFT_2020_12,
            "$id": format!("{ID_BASE}/{version}/{name}.json"),
        });
        if let (Some(target), Value::Object(extra)) = (schema.as_object_mut(), body) {
            target.extend(extra);
        }
        schema
    }

    /// Every contract must state the Stripe URL rule; tests add a 0.1.9-like one.
    fn write_common(dir: &Path, version: &str, mut defs: Value) {
        if let Some(map) = defs.as_object_mut() {
            map.insert(
                "stripe_checkout_url".into(),
                json!({"type": "string", "x-conform-role": "stripe_checkout_url", "pattern": "^https://checkout\\.stripe\\.com/[^#]*#.+$"}),
            );
        }
        write(
            dir,
            version,
            "common",
            &minimal(version, "common", json!({ "$defs": defs })),
        );
    }

    #[test]
    fn newest_version_is_the_greatest_by_semver() {
        let newest = NEWEST_CONTRACT;
        let top = semver::Version::parse(newest).expect("semver");
        for v in Contract::known_versions() {
            assert!(
                semver::Version::parse(&v).expect("semver") <= top,
                "{v} > {newest}"
            );
        }
        // String order would put 0.1.9 after 0.1.70.
        assert!(Contract::known_versions().contains(&"0.1.9".to_string()));
        assert_ne!(newest, "0.1.9");
    }

    #[test]
    fn fragment_policy_is_read_from_the_schemas() {
        let policy = |v: &str| Contract::embedded(v).map(|c| c.fragment_policy()).ok();
        assert_eq!(policy("0.1.9"), Some(FragmentPolicy::Required));
        assert_eq!(policy("0.1.8"), Some(FragmentPolicy::Stripped));
    }

    #[test]
    fn a_contract_without_the_stripe_url_rule_is_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "1.0.0",
            "healthz",
            &minimal("1.0.0", "healthz", json!({"type": "object"})),
        );
        let err = Contract::from_dir(dir.path(), "1.0.0")
            .err()
            .expect("rule missing");
        let Error::Schema { path, pointer, .. } = err else {
            panic!("expected Error::Schema, got {err:?}")
        };
        assert!(path.ends_with("1.0.0/common.json"), "{}", path.display());
        assert_eq!(pointer, STRIPE_URL_DEF);
    }

    #[test]
    fn contract_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Contract>();
    }

    #[test]
    fn unknown_version_lists_the_known_ones() {
        let err = Contract::embedded("9.9.9")
            .err()
            .expect("9.9.9 is not shipped");
        match err {
            Error::UnknownContract { version, known } => {
                assert_eq!(version, "9.9.9");
                let all = Contract::known_versions();
                let (first, last) = (all.first().expect("one"), all.last().expect("one"));
                assert!(
                    known.starts_with(&format!("{first} … {last}, {} versions", all.len())),
                    "{known}"
                );
            }
            other => panic!("expected UnknownContract, got {other:?}"),
        }
    }

    #[test]
    fn unknown_version_on_disk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = Contract::from_dir(dir.path(), "0.0.1")
            .err()
            .expect("no such folder");
        assert!(matches!(err, Error::UnknownContract { .. }), "{err:?}");
    }

    #[test]
    fn embedded_versions_exclude_loose_files() {
        let known = Contract::known_versions();
        assert!(known.contains(&"0.1.9".to_string()), "{known:?}");
        assert!(known.iter().all(|v| !v.ends_with(".json")), "{known:?}");
    }

    #[test]
    fn unknown_schema_name_is_a_usage_error_with_a_hint() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "1.0.0",
            "healthz",
            &minimal("1.0.0", "healthz", json!({"type": "object"})),
        );
        write_common(dir.path(), "1.0.0", json!({}));
        let contract = Contract::from_dir(dir.path(), "1.0.0").expect("loads");
        let err = contract
            .validate("healthx", &json!({}))
            .expect_err("unknown name");
        let Error::Usage(message) = err else {
            panic!("expected Usage, got {err:?}")
        };
        assert!(message.contains("did you mean `healthz`"), "{message}");
        assert!(!contract.has_schema("common"));
    }

    #[test]
    fn violations_are_all_collected_and_sorted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let schema = minimal(
            "1.0.0",
            "thing",
            json!({
                "type": "object",
                "required": ["a"],
                "properties": {"b": {"type": "string"}, "c": {"type": "integer"}}
            }),
        );
        write(dir.path(), "1.0.0", "thing", &schema);
        write_common(dir.path(), "1.0.0", json!({}));
        let contract = Contract::from_dir(dir.path(), "1.0.0").expect("loads");
        let violations = contract
            .validate("thing", &json!({"c": "x", "b": 1}))
            .expect("known name");
        let pointers: Vec<&str> = violations.iter().map(|v| v.pointer.as_str()).collect();
        assert_eq!(pointers, ["", "/b", "/c"]);
        assert!(
            contract
                .validate("thing", &json!({"a": 1}))
                .expect("known name")
                .is_empty()
        );
    }

    #[test]
    fn shipped_schemas_are_compiled_on_first_use_and_once() {
        let contract = Contract::embedded("0.1.9").expect("0.1.9");
        let compiled = |c: &Contract| -> Vec<String> {
            c.validators
                .iter()
                .filter(|(_, slot)| slot.cell.get().is_some())
                .map(|(name, _)| name.clone())
                .collect()
        };
        assert!(
            compiled(&contract).is_empty(),
            "compiled at load: {:?}",
            compiled(&contract)
        );
        let healthz = json!({"status": "ok"});
        contract
            .validate("healthz", &healthz)
            .expect("healthz is known");
        assert_eq!(compiled(&contract), vec!["healthz".to_string()]);
        let first = contract.validator("healthz").expect("compiled");
        let again = contract.validator("healthz").expect("compiled");
        assert!(std::ptr::eq(first, again), "compiled twice");
        // A folder of the user's is compiled whole at load.
        let resolved = Source::Embedded.resolve("0.1.9").expect("0.1.9");
        let eager = load(resolved, Defs::All).expect("0.1.9");
        assert_eq!(compiled(&eager).len(), eager.schema_names().len());
    }

    #[test]
    fn a_broken_schema_is_refused_at_load_even_when_compiled_on_first_use() {
        // The file checks before compiling catch it, so lazy compiling
        // never turns a load error into a failed step.
        let dir = tempfile::tempdir().expect("tempdir");
        write_common(dir.path(), "1.0.0", json!({}));
        write(
            dir.path(),
            "1.0.0",
            "bad",
            &minimal("1.0.0", "bad", json!({"type": "strnig"})),
        );
        let resolved = Source::Dir(dir.path()).resolve("1.0.0").expect("resolves");
        match load(resolved, Defs::OnlyTheFragmentRule) {
            Err(Error::Schema { path, pointer, .. }) => {
                assert!(path.ends_with("1.0.0/bad.json"), "{}", path.display());
                assert_eq!(pointer, "/type");
            }
            Err(other) => panic!("expected a schema error, got {other:?}"),
            Ok(_) => panic!("a broken schema loaded"),
        }
    }

    #[test]
    fn invalid_schema_names_the_file_and_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "1.0.0",
            "bad",
            &minimal("1.0.0", "bad", json!({"type": "strnig"})),
        );
        let err = Contract::from_dir(dir.path(), "1.0.0")
            .err()
            .expect("invalid schema");
        match err {
            Error::Schema { path, pointer, .. } => {
                assert!(path.ends_with("1.0.0/bad.json"), "{}", path.display());
                assert_eq!(pointer, "/type");
            }
            other => panic!("expected Schema, got {other:?}"),
        }
    }

    #[test]
    fn invalid_json_is_a_json_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("1.0.0")).expect("mkdir");
        std::fs::write(dir.path().join("1.0.0/broken.json"), "{\n  \"a\": ,\n}").expect("write");
        let err = Contract::from_dir(dir.path(), "1.0.0")
            .err()
            .expect("invalid json");
        match err {
            Error::Json { path, line, .. } => {
                assert!(path.ends_with("broken.json"));
                assert_eq!(line, 2);
            }
            other => panic!("expected Json, got {other:?}"),
        }
    }

    #[test]
    fn wrong_id_is_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "1.0.0",
            "thing",
            &minimal("2.0.0", "thing", json!({})),
        );
        let err = Contract::from_dir(dir.path(), "1.0.0")
            .err()
            .expect("wrong $id");
        assert!(
            matches!(&err, Error::Schema { pointer, .. } if pointer == "/$id"),
            "{err:?}"
        );
    }

    #[test]
    fn unresolvable_ref_names_the_file_and_the_ref() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "1.0.0",
            "common",
            &minimal(
                "1.0.0",
                "common",
                json!({"$defs": {"id": {"type": "string"}}}),
            ),
        );
        write(
            dir.path(),
            "1.0.0",
            "thing",
            &minimal(
                "1.0.0",
                "thing",
                json!({"properties": {"id": {"$ref": "common.json#/$defs/missing"}}}),
            ),
        );
        let err = Contract::from_dir(dir.path(), "1.0.0")
            .err()
            .expect("dangling $ref");
        match err {
            Error::Schema {
                path,
                pointer,
                message,
            } => {
                assert!(path.ends_with("1.0.0/thing.json"), "{}", path.display());
                assert_eq!(pointer, "/properties/id/$ref");
                assert!(message.contains("common.json#/$defs/missing"), "{message}");
            }
            other => panic!("expected Schema, got {other:?}"),
        }
    }

    #[test]
    fn ref_to_another_file_outside_the_contract_is_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "1.0.0",
            "thing",
            &minimal(
                "1.0.0",
                "thing",
                json!({"$ref": "https://example.com/x.json"}),
            ),
        );
        let err = Contract::from_dir(dir.path(), "1.0.0")
            .err()
            .expect("remote $ref");
        match err {
            Error::Schema {
                path,
                pointer,
                message,
            } => {
                assert!(path.ends_with("thing.json"));
                assert_eq!(pointer, "/$ref");
                assert!(message.contains("outside the contract"), "{message}");
            }
            other => panic!("expected Schema, got {other:?}"),
        }
    }

    #[test]
    fn refs_resolve_across_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_common(
            dir.path(),
            "1.0.0",
            json!({"id": {"type": "string", "pattern": "^x_"}}),
        );
        write(
            dir.path(),
            "1.0.0",
            "thing",
            &minimal(
                "1.0.0",
                "thing",
                json!({"properties": {"id": {"$ref": "common.json#/$defs/id"}}}),
            ),
        );
        let contract = Contract::from_dir(dir.path(), "1.0.0").expect("loads");
        assert_eq!(contract.schema_names(), ["thing"]);
        let violations = contract
            .validate("thing", &json!({"id": "y"}))
            .expect("known name");
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].pointer, "/id");
    }
}
