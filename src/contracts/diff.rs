//! Semantic contract diff: `conform contracts diff A B`.
//!
//! Not a text diff: both versions' schemas are walked field by field
//! (`$ref`s into `common.json` resolved, `anyOf`/`oneOf` branches and
//! `if`/`then` conditions kept apart as contexts), and every difference in
//! a field's facts (presence, required, type, enum, const, format, pattern,
//! bounds) becomes a [`Change`], judged twice: for clients, which read
//! responses, and for servers, which produce them. Descriptions and titles
//! are ignored: they change no behaviour. Example values (curated fixtures,
//! or the docs' examples with `--docs-a/--docs-b`) and the endpoint
//! inventory are compared too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::{Value, json};

use super::extract;
use super::say;
use crate::contract::{Contract, FragmentPolicy, roles};
use crate::docs::{self, ExampleTarget};
use crate::error::{Error, Result, exit};

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Contract version to diff from (built in), e.g. 0.1.8.
    #[arg(value_name = "A")]
    pub a: Option<String>,
    /// Contract version to diff to (built in), e.g. 0.1.9.
    #[arg(value_name = "B")]
    pub b: Option<String>,
    /// Diff the examples and endpoints extracted from this docs folder ...
    #[arg(long, value_name = "DIR")]
    pub docs_a: Option<PathBuf>,
    /// ... against those of this one.
    #[arg(long, value_name = "DIR")]
    pub docs_b: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Console)]
    pub format: Format,
    /// Exit 1 when a change of this kind is found.
    #[arg(long, value_enum, value_name = "KIND")]
    pub fail_on: Option<FailOn>,
    /// Curated fixtures folder (`<V>/index.json`) whose example values are
    /// compared between versions.
    /// Default: the fixtures built into conform, whatever the current
    /// directory.
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Console,
    Md,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Anything breaking for clients or for servers.
    Breaking,
    /// Any change at all.
    Any,
}

/// What a change means for one side of the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Impact {
    pub breaking: bool,
    pub reason: String,
}

/// One semantic difference between two contracts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Schema name, example stem, or `endpoints`.
    pub schema: String,
    /// Field path such as `data.next.fallback_checkout_url`.
    pub field: String,
    /// The `anyOf` branch or `if` condition the fact lives under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// What changed: `field`, `required`, `type`, `pattern`, `example`, ...
    pub aspect: String,
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Value>,
    pub servers: Impact,
    pub clients: Impact,
}

impl Change {
    pub fn is_breaking(&self) -> bool {
        self.servers.breaking || self.clients.breaking
    }
}

/// The finished diff, which every output format only reads.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub from: String,
    pub to: String,
    pub changes: Vec<Change>,
    /// What could not be compared, and why.
    pub notes: Vec<String>,
}

pub fn run(args: &DiffArgs) -> Result<i32> {
    let report = match (&args.a, &args.b, &args.docs_a, &args.docs_b) {
        (Some(a), Some(b), None, None) => diff_versions(a, b, args.fixtures.as_deref())?,
        (None, None, Some(a), Some(b)) => diff_docs(a, b)?,
        _ => {
            return Err(Error::Usage(
                "contracts diff takes two versions (`diff 0.1.8 0.1.9`) or `--docs-a DIR --docs-b DIR`"
                    .to_string(),
            ));
        }
    };
    let text = match args.format {
        Format::Console => render_console(&report),
        Format::Md => render_markdown(&report),
        Format::Json => render_json(&report)?,
    };
    say(&text);
    let fail = match args.fail_on {
        Some(FailOn::Breaking) => report.changes.iter().any(Change::is_breaking),
        Some(FailOn::Any) => !report.changes.is_empty(),
        None => false,
    };
    Ok(if fail {
        exit::CHECK_FAILED
    } else {
        exit::PASSED
    })
}

// ---------------------------------------------------------------------------
// Sides.

/// One example: its value and where it sits in a response.
struct ExampleValue {
    schema: Option<String>,
    root: &'static str,
    value: Value,
}

/// Everything of one version the diff compares.
struct Side {
    label: String,
    /// File name (`common.json`) → schema document.
    documents: BTreeMap<String, Value>,
    /// Named schema → (file name, root path).
    named: BTreeMap<String, (String, &'static str)>,
    /// Example name → example.
    examples: Option<BTreeMap<String, ExampleValue>>,
    inventory: Option<Value>,
    contract: Option<Contract>,
    /// The Stripe URL rule of this side, from its role-bearing definition.
    fragment: Option<FragmentPolicy>,
    /// (schema or example, field path) of fields whose role is a Stripe
    /// Checkout URL: where a pattern or value change is a fragment change.
    stripe_fields: BTreeSet<(String, String)>,
}

/// Fields of `schema` (rooted at `root`) whose role is the Stripe URL or
/// the compact URL, in the diff's `data.next.checkout_url` spelling.
fn stripe_fields_of(
    contract: &Contract,
    schema: &str,
    root: &str,
    key: &str,
) -> Vec<(String, String)> {
    let Some(doc) = contract.raw(schema) else {
        return Vec::new();
    };
    let common = contract.documents().get("common");
    [roles::STRIPE_CHECKOUT_URL, roles::CHECKOUT_COMPACT_URL]
        .iter()
        .flat_map(|role| roles::fields_with_role(doc, common, role))
        .map(|path| {
            let dotted = crate::contract::roles::dotted(&path);
            let field = if root.is_empty() {
                dotted
            } else if dotted.is_empty() {
                root.to_string()
            } else {
                format!("{root}.{dotted}")
            };
            (key.to_string(), field)
        })
        .collect()
}

/// Where a named schema applies: the whole body, a request, or `data`.
fn root_of(name: &str) -> &'static str {
    if name.ends_with("-envelope") {
        ""
    } else if name.ends_with("-request") {
        "request"
    } else {
        "data"
    }
}

fn version_side(version: &str, fixtures: Option<&Path>, notes: &mut Vec<String>) -> Result<Side> {
    let contract = Contract::embedded(version)?;
    let documents: BTreeMap<String, Value> = contract
        .documents()
        .iter()
        .map(|(stem, doc)| (format!("{stem}.json"), doc.clone()))
        .collect();
    // Generated files are inherited along `extends`.
    let inventory_path = format!("schemas/{version}/generated/endpoints.json");
    let inventory = extract::committed_generated(None, contract.chain())?.remove("endpoints.json");
    if inventory.is_none() {
        notes.push(format!(
            "endpoint inventory not compared: {inventory_path} is not built in"
        ));
    }
    let named: BTreeMap<String, (String, &'static str)> = documents
        .keys()
        .filter(|f| *f != "common.json")
        .map(|f| {
            let name = f.trim_end_matches(".json").to_string();
            let root = root_of(&name);
            (name, (f.clone(), root))
        })
        .collect();

    // A folder given with --fixtures, else the built-in copy.
    let index_path = fixtures
        .unwrap_or(Path::new("fixtures"))
        .join(version)
        .join("index.json");
    let read_fixture = |path: &Path| match fixtures {
        Some(_) => read(path),
        None => embedded_fixture(path),
    };
    let exists = match fixtures {
        Some(_) => index_path.is_file(),
        None => embedded_fixture(&index_path).is_ok(),
    };
    let examples = if exists {
        Some(curated_examples(&index_path, &read_fixture)?)
    } else {
        notes.push(format!(
            "example values not compared: no {}",
            index_path.display()
        ));
        None
    };
    let mut stripe_fields: BTreeSet<(String, String)> = BTreeSet::new();
    for (name, (_, root)) in &named {
        stripe_fields.extend(stripe_fields_of(&contract, name, root, name));
    }
    Ok(Side {
        label: version.to_string(),
        documents,
        named,
        examples,
        inventory,
        fragment: Some(contract.fragment_policy()),
        stripe_fields,
        contract: Some(contract),
    })
}

fn curated_examples(
    index_path: &Path,
    read: &dyn Fn(&Path) -> Result<String>,
) -> Result<BTreeMap<String, ExampleValue>> {
    let text = read(index_path)?;
    let index = Error::parse_json(index_path, &text)?;
    let dir = index_path.parent().unwrap_or_else(|| Path::new("."));
    let mut examples = BTreeMap::new();
    let entries = index
        .get("fixtures")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for entry in entries {
        let (Some(file), Some(schema)) = (
            entry.get("file").and_then(Value::as_str),
            entry.get("schema").and_then(Value::as_str),
        ) else {
            continue;
        };
        let root = match entry.get("target").and_then(Value::as_str) {
            Some("body") => "",
            Some("request") => "request",
            _ => "data",
        };
        let path = dir.join(file);
        let value = Error::parse_json(&path, &read(&path)?)?;
        examples.insert(
            file.trim_end_matches(".json").to_string(),
            ExampleValue {
                schema: Some(schema.to_string()),
                root,
                value,
            },
        );
    }
    Ok(examples)
}

/// A built-in fixture by its repository path (`fixtures/0.1.9/index.json`).
fn embedded_fixture(path: &Path) -> Result<String> {
    let key = path.to_string_lossy().replace('\\', "/");
    crate::embedded::FIXTURES
        .iter()
        .find(|(p, _)| *p == key)
        .map(|(_, text)| (*text).to_string())
        .ok_or_else(|| Error::Read {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not built into conform"),
        })
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn docs_side(dir: &Path) -> Result<Side> {
    let label = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string());
    let extraction = docs::extract(dir, &label)?;
    let mut documents = BTreeMap::new();
    let mut named = BTreeMap::new();
    let mut examples = BTreeMap::new();
    for example in &extraction.examples {
        let root = match example.target {
            ExampleTarget::Data => "data",
            ExampleTarget::Body => "",
            ExampleTarget::Request(_) => "request",
        };
        let file = format!("{}.base.json", example.stem);
        documents.insert(file.clone(), extract::infer_schema(&example.value));
        named.insert(example.stem.clone(), (file, root));
        examples.insert(
            example.stem.clone(),
            ExampleValue {
                schema: None,
                root,
                value: example.value.clone(),
            },
        );
    }
    // A docs folder named after a known version takes that version's
    // roles and Stripe URL rule; others have none to judge fragments by.
    let known = Contract::embedded(&label).ok();
    let mut stripe_fields = BTreeSet::new();
    if let Some(contract) = &known {
        for example in &extraction.examples {
            if let Some(schema) = extract::example_schema(example, contract.api()) {
                let root = named.get(&example.stem).map_or("data", |(_, r)| *r);
                stripe_fields.extend(stripe_fields_of(contract, schema, root, &example.stem));
            }
        }
    }
    Ok(Side {
        label,
        documents,
        named,
        examples: Some(examples),
        inventory: Some(extract::inventory_json(&extraction)),
        contract: None,
        fragment: known.as_ref().map(Contract::fragment_policy),
        stripe_fields,
    })
}

pub fn diff_versions(a: &str, b: &str, fixtures: Option<&Path>) -> Result<Report> {
    let mut notes = Vec::new();
    let a = version_side(a, fixtures, &mut notes)?;
    let b = version_side(b, fixtures, &mut notes)?;
    notes.dedup();
    Ok(diff_sides(&a, &b, notes))
}

pub fn diff_docs(a: &Path, b: &Path) -> Result<Report> {
    let a = docs_side(a)?;
    let b = docs_side(b)?;
    Ok(diff_sides(&a, &b, Vec::new()))
}

fn diff_sides(a: &Side, b: &Side, notes: Vec<String>) -> Report {
    let mut changes = Vec::new();
    let words = Words {
        a: &a.label,
        b: &b.label,
        fragment: a.fragment.zip(b.fragment),
        stripe_fields: a.stripe_fields.union(&b.stripe_fields).cloned().collect(),
    };
    diff_schemas(a, b, &words, &mut changes);
    if let (Some(ea), Some(eb)) = (&a.examples, &b.examples) {
        // From the docs, structure changes already show in the inferred
        // schemas; only values are left to compare.
        let values_only = a.contract.is_none();
        diff_examples(ea, eb, a, b, &words, values_only, &mut changes);
    }
    if let (Some(ia), Some(ib)) = (&a.inventory, &b.inventory) {
        diff_inventories(ia, ib, &words, &mut changes);
    }
    if let (Some(ca), Some(cb)) = (&a.contract, &b.contract) {
        diff_api(ca.api(), cb.api(), &words, &mut changes);
    }
    // Within a field, the rule comes before the examples that show it.
    let key = |c: &Change| {
        (
            c.schema.clone(),
            c.field.clone(),
            c.aspect == "example",
            c.context.clone(),
            c.aspect.clone(),
            c.summary.clone(),
        )
    };
    changes.sort_by_key(key);
    Report {
        from: a.label.clone(),
        to: b.label.clone(),
        changes,
        notes,
    }
}

// ---------------------------------------------------------------------------
// Schema facts.

/// (field path, context) → keyword → canonical JSON values.
type Facts = BTreeMap<(String, String), BTreeMap<String, BTreeSet<String>>>;

/// Keywords whose values are compared as facts; everything else is either
/// walked (properties, items, combinators, `$ref`) or an annotation.
const COMPARED: &[&str] = &[
    "type",
    "const",
    "enum",
    "format",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "uniqueItems",
    "multipleOf",
    "not",
];

/// A `$ref` chain deeper than this is treated as recursive.
const MAX_DEPTH: usize = 32;

struct Walker<'a> {
    documents: &'a BTreeMap<String, Value>,
    facts: Facts,
    refs: Vec<String>,
}

fn join_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn join_context(context: &str, part: &str) -> String {
    if context.is_empty() {
        part.to_string()
    } else {
        format!("{context}, {part}")
    }
}

fn canonical(keyword: &str, value: &Value) -> String {
    let value = match (keyword, value) {
        ("type", Value::String(t)) => json!([t]),
        ("type" | "enum", Value::Array(items)) => {
            let mut items: Vec<String> = items.iter().map(Value::to_string).collect();
            items.sort();
            items.dedup();
            return format!("[{}]", items.join(","));
        }
        _ => value.clone(),
    };
    value.to_string()
}

impl Walker<'_> {
    fn fact(&mut self, path: &str, context: &str, keyword: &str, value: String) {
        self.facts
            .entry((path.to_string(), context.to_string()))
            .or_default()
            .entry(keyword.to_string())
            .or_default()
            .insert(value);
    }

    fn walk(&mut self, node: &Value, doc: &str, path: &str, context: &str, required: bool) {
        self.facts
            .entry((path.to_string(), context.to_string()))
            .or_default();
        if required {
            self.fact(path, context, "required", "true".to_string());
        }
        let map = match node {
            Value::Bool(false) => {
                self.fact(path, context, "forbidden", "true".to_string());
                return;
            }
            Value::Object(map) => map,
            _ => return,
        };
        for keyword in COMPARED {
            if let Some(v) = map.get(*keyword) {
                self.fact(path, context, keyword, canonical(keyword, v));
            }
        }
        if let Some(Value::Bool(false)) = map.get("additionalProperties") {
            self.fact(path, context, "additionalProperties", "false".to_string());
        }
        if let Some(Value::String(reference)) = map.get("$ref") {
            self.follow(reference, doc, path, context);
        }

        let required_names: BTreeSet<&str> = map
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let properties = map.get("properties").and_then(Value::as_object);
        if let Some(properties) = properties {
            for (key, sub) in properties {
                let child = join_path(path, key);
                self.walk(
                    sub,
                    doc,
                    &child,
                    context,
                    required_names.contains(key.as_str()),
                );
            }
        }
        for name in &required_names {
            if !properties.is_some_and(|p| p.contains_key(*name)) {
                let child = join_path(path, name);
                self.fact(&child, context, "required", "true".to_string());
            }
        }
        if let Some(items) = map.get("items") {
            self.walk(items, doc, &format!("{path}[]"), context, false);
        }
        if let Some(Value::Array(prefix)) = map.get("prefixItems") {
            for (i, sub) in prefix.iter().enumerate() {
                self.walk(sub, doc, &format!("{path}[{i}]"), context, false);
            }
        }
        if let Some(extra @ Value::Object(_)) = map.get("additionalProperties") {
            self.walk(extra, doc, &join_path(path, "*"), context, false);
        }
        if let Some(Value::Array(all)) = map.get("allOf") {
            for sub in all {
                self.walk(sub, doc, path, context, false);
            }
        }
        for keyword in ["anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = map.get(keyword) {
                for (i, sub) in branches.iter().enumerate() {
                    let inner = join_context(context, &format!("{keyword}[{i}]"));
                    self.walk(sub, doc, path, &inner, false);
                }
            }
        }
        if let Some(condition) = map.get("if") {
            let condition = describe_condition(condition);
            if let Some(then) = map.get("then") {
                let inner = join_context(context, &format!("when {condition}"));
                self.walk(then, doc, path, &inner, false);
            }
            if let Some(otherwise) = map.get("else") {
                let inner = join_context(context, &format!("unless {condition}"));
                self.walk(otherwise, doc, path, &inner, false);
            }
        }
    }

    fn follow(&mut self, reference: &str, doc: &str, path: &str, context: &str) {
        let (file, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        let file = match file.rsplit('/').next() {
            Some("") | None => doc.to_string(),
            Some(name) => name.to_string(),
        };
        let key = format!("{file}#{pointer}");
        if self.refs.contains(&key) || self.refs.len() >= MAX_DEPTH {
            self.fact(path, context, "$ref", json!(key).to_string());
            return;
        }
        let documents = self.documents;
        let target = documents.get(&file).and_then(|d| d.pointer(pointer));
        match target {
            Some(target) => {
                self.refs.push(key);
                self.walk(target, &file, path, context, false);
                self.refs.pop();
            }
            None => self.fact(path, context, "$ref", json!(reference).to_string()),
        }
    }
}

/// `state = action_required` for the usual `{properties: {state: {const}}}`.
fn describe_condition(condition: &Value) -> String {
    let single = condition
        .get("properties")
        .and_then(Value::as_object)
        .filter(|p| p.len() == 1)
        .and_then(|p| p.iter().next())
        .and_then(|(k, s)| s.get("const").map(|c| (k, c)));
    match single {
        Some((key, Value::String(value))) => format!("{key} = {value}"),
        Some((key, value)) => format!("{key} = {value}"),
        None => condition.to_string(),
    }
}

fn facts_of(side: &Side, file: &str, root: &str) -> Facts {
    let mut walker = Walker {
        documents: &side.documents,
        facts: Facts::new(),
        refs: Vec::new(),
    };
    if let Some(doc) = side.documents.get(file) {
        walker.walk(doc, file, root, "", false);
    }
    walker.facts
}

// ---------------------------------------------------------------------------
// Judging changes.

/// Version labels for reasons written in plain words.
struct Words<'a> {
    a: &'a str,
    b: &'a str,
    /// Both sides' Stripe URL rules, when both have one.
    fragment: Option<(FragmentPolicy, FragmentPolicy)>,
    /// Role-bearing Stripe URL fields of either side.
    stripe_fields: BTreeSet<(String, String)>,
}

impl Words<'_> {
    /// The rule A had, when A and B disagree on it and `field` of `schema`
    /// is a Stripe URL by role.
    fn fragment_change(&self, schema: &str, field: &str) -> Option<FragmentPolicy> {
        let (a, b) = self.fragment?;
        (a != b
            && self
                .stripe_fields
                .contains(&(schema.to_string(), field.to_string())))
        .then_some(a)
    }
}

fn breaking(reason: impl Into<String>) -> Impact {
    Impact {
        breaking: true,
        reason: reason.into(),
    }
}

fn compatible(reason: impl Into<String>) -> Impact {
    Impact {
        breaking: false,
        reason: reason.into(),
    }
}

impl Words<'_> {
    /// B accepts fewer values than A.
    fn tighter(&self) -> (Impact, Impact) {
        (
            breaking(format!(
                "a server built to {} can send values {} rejects",
                self.a, self.b
            )),
            compatible(format!(
                "every value {} allows, {} allowed too",
                self.b, self.a
            )),
        )
    }

    /// B accepts more values than A.
    fn looser(&self) -> (Impact, Impact) {
        (
            compatible(format!(
                "whatever a server built to {} sends is still valid",
                self.a
            )),
            breaking(format!(
                "{} allows values a client built to {} does not expect",
                self.b, self.a
            )),
        )
    }

    /// Neither contains the other.
    fn different(&self) -> (Impact, Impact) {
        (
            breaking(format!(
                "a server built to {} can send values {} rejects",
                self.a, self.b
            )),
            breaking(format!(
                "{} allows values a client built to {} does not expect",
                self.b, self.a
            )),
        )
    }

    fn fragment(&self, from: FragmentPolicy, what: &str) -> (String, Impact, Impact) {
        match from {
            FragmentPolicy::Stripped => (
                format!("{what} changed from fragment-stripped to fragment-required"),
                breaking(format!(
                    "a server built to {} returns the URL without its #fragment, which {} rejects",
                    self.a, self.b
                )),
                breaking(format!(
                    "a client that strips the #fragment, as {} said to, now passes on URLs {} rejects, and Stripe Checkout cannot load without it",
                    self.a, self.b
                )),
            ),
            FragmentPolicy::Required => (
                format!("{what} changed from fragment-required to fragment-stripped"),
                breaking(format!(
                    "a server built to {} returns the #fragment, which {} forbids",
                    self.a, self.b
                )),
                breaking(format!(
                    "a client built to {} keeps the #fragment, which {} forbids",
                    self.a, self.b
                )),
            ),
        }
    }
}

struct Place<'a> {
    schema: &'a str,
    field: &'a str,
    context: &'a str,
}

impl Place<'_> {
    fn change(
        &self,
        aspect: &str,
        summary: String,
        from: Option<Value>,
        to: Option<Value>,
        (servers, clients): (Impact, Impact),
    ) -> Change {
        Change {
            schema: self.schema.to_string(),
            field: display_field(self.field),
            context: (!self.context.is_empty()).then(|| self.context.to_string()),
            aspect: aspect.to_string(),
            summary,
            from,
            to,
            servers,
            clients,
        }
    }
}

fn display_field(path: &str) -> String {
    if path.is_empty() {
        "(body)".to_string()
    } else {
        path.to_string()
    }
}

fn parse_fact(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::from(text))
}

/// The single value of a fact, or all of them as an array.
fn fact_value(values: &BTreeSet<String>) -> Option<Value> {
    match values.len() {
        0 => None,
        1 => values.iter().next().map(|v| parse_fact(v)),
        _ => Some(Value::Array(values.iter().map(|v| parse_fact(v)).collect())),
    }
}

fn diff_schemas(a: &Side, b: &Side, words: &Words, out: &mut Vec<Change>) {
    let names: BTreeSet<&String> = a.named.keys().chain(b.named.keys()).collect();
    for name in names {
        match (a.named.get(name), b.named.get(name)) {
            (Some((fa, ra)), Some((fb, rb))) => {
                let facts_a = facts_of(a, fa, ra);
                let facts_b = facts_of(b, fb, rb);
                diff_facts(name, &facts_a, &facts_b, words, out);
            }
            (None, Some((_, root))) => {
                let place = Place {
                    schema: name,
                    field: root,
                    context: "",
                };
                out.push(place.change(
                    "schema",
                    "schema added".to_string(),
                    None,
                    None,
                    (
                        breaking(format!("a server built to {} does not produce it", words.a)),
                        compatible(format!("clients built to {} never asked for it", words.a)),
                    ),
                ));
            }
            (Some((_, root)), None) => {
                let place = Place {
                    schema: name,
                    field: root,
                    context: "",
                };
                out.push(place.change(
                    "schema",
                    "schema removed".to_string(),
                    None,
                    None,
                    (
                        compatible(format!("{} no longer asks servers for it", words.b)),
                        breaking(format!(
                            "a client built to {} can no longer rely on it",
                            words.a
                        )),
                    ),
                ));
            }
            (None, None) => {}
        }
    }
}

/// Whether `ancestor` is a strict prefix path of `path`.
fn is_under(path: &str, ancestor: &str) -> bool {
    path.len() > ancestor.len()
        && path.starts_with(ancestor)
        && (ancestor.is_empty() || matches!(path.as_bytes()[ancestor.len()], b'.' | b'['))
}

fn diff_facts(schema: &str, a: &Facts, b: &Facts, words: &Words, out: &mut Vec<Change>) {
    let only_a: Vec<&(String, String)> = a.keys().filter(|k| !b.contains_key(*k)).collect();
    let only_b: Vec<&(String, String)> = b.keys().filter(|k| !a.contains_key(*k)).collect();
    // A removed object's fields are part of its removal, not news of their own.
    let topmost = |keys: &[&(String, String)], key: &(String, String)| {
        !keys.iter().any(|(p, c)| *c == key.1 && is_under(&key.0, p))
    };
    for key in &only_a {
        if !topmost(&only_a, key) {
            continue;
        }
        let place = Place {
            schema,
            field: &key.0,
            context: &key.1,
        };
        let was_required = a[*key].contains_key("required");
        let impact = if was_required {
            (
                compatible(format!(
                    "servers need not send it any more under {}",
                    words.b
                )),
                breaking(format!(
                    "a client built to {} reads it; it can now be missing",
                    words.a
                )),
            )
        } else {
            (
                compatible(format!("{} no longer constrains it", words.b)),
                breaking(format!(
                    "a client built to {} can no longer rely on its shape",
                    words.a
                )),
            )
        };
        let what = if key.1.is_empty() {
            "field"
        } else {
            "constraint"
        };
        let summary = format!(
            "{what} removed{}",
            if was_required { " (was required)" } else { "" }
        );
        out.push(place.change("field", summary, None, None, impact));
    }
    for key in &only_b {
        if !topmost(&only_b, key) {
            continue;
        }
        let place = Place {
            schema,
            field: &key.0,
            context: &key.1,
        };
        let required = b[*key].contains_key("required");
        let impact = if required {
            (
                breaking(format!("a server built to {} does not send it", words.a)),
                compatible("clients may ignore fields they do not know"),
            )
        } else if key.1.is_empty() {
            (
                compatible("it is optional"),
                compatible("clients may ignore fields they do not know"),
            )
        } else {
            words.tighter()
        };
        let what = if key.1.is_empty() {
            "field"
        } else {
            "constraint"
        };
        let summary = format!(
            "{what} added ({})",
            if required { "required" } else { "optional" }
        );
        out.push(place.change("field", summary, None, None, impact));
    }

    for (key, fa) in a {
        let Some(fb) = b.get(key) else { continue };
        let place = Place {
            schema,
            field: &key.0,
            context: &key.1,
        };
        let keywords: BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
        let empty = BTreeSet::new();
        for keyword in keywords {
            let va = fa.get(keyword).unwrap_or(&empty);
            let vb = fb.get(keyword).unwrap_or(&empty);
            if va != vb {
                out.push(judge(&place, keyword, va, vb, words));
            }
        }
    }
}

const LOWER_BOUNDS: &[&str] = &[
    "minimum",
    "exclusiveMinimum",
    "minLength",
    "minItems",
    "minProperties",
];
const UPPER_BOUNDS: &[&str] = &[
    "maximum",
    "exclusiveMaximum",
    "maxLength",
    "maxItems",
    "maxProperties",
];

fn judge(
    place: &Place,
    keyword: &str,
    va: &BTreeSet<String>,
    vb: &BTreeSet<String>,
    words: &Words,
) -> Change {
    let from = fact_value(va);
    let to = fact_value(vb);
    let added = va.is_empty();
    let removed = vb.is_empty();
    let (summary, impact) = match keyword {
        "required" if added => ("made required".to_string(), {
            (
                breaking(format!("a server built to {} may omit it", words.a)),
                compatible("clients now always get it"),
            )
        }),
        "required" => ("made optional".to_string(), {
            (
                compatible("servers may now omit it"),
                breaking(format!(
                    "a client built to {} expects it; it can now be missing",
                    words.a
                )),
            )
        }),
        "pattern" => match words.fragment_change(place.schema, place.field) {
            Some(ra) if !added && !removed => {
                let (summary, servers, clients) = words.fragment(ra, "pattern");
                (summary, (servers, clients))
            }
            _ if added => ("pattern added".to_string(), words.tighter()),
            _ if removed => ("pattern removed".to_string(), words.looser()),
            _ => ("pattern changed".to_string(), words.different()),
        },
        "type" => {
            let types = |v: &BTreeSet<String>| -> Option<BTreeSet<String>> {
                (v.len() == 1).then(|| {
                    v.iter()
                        .flat_map(|t| parse_fact(t).as_array().cloned().unwrap_or_default())
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect()
                })
            };
            match (types(va), types(vb)) {
                _ if added => ("type added".to_string(), words.tighter()),
                _ if removed => ("type removed".to_string(), words.looser()),
                (Some(ta), Some(tb)) if tb.is_subset(&ta) => {
                    ("type narrowed".to_string(), words.tighter())
                }
                (Some(ta), Some(tb)) if ta.is_subset(&tb) => {
                    ("type widened".to_string(), words.looser())
                }
                _ => ("type changed".to_string(), words.different()),
            }
        }
        "enum" => {
            let values = |v: &Option<Value>| -> BTreeSet<String> {
                v.as_ref()
                    .and_then(Value::as_array)
                    .map(|items| items.iter().map(Value::to_string).collect())
                    .unwrap_or_default()
            };
            let (ea, eb) = (values(&from), values(&to));
            if added {
                ("enum added".to_string(), words.tighter())
            } else if removed {
                ("enum removed".to_string(), words.looser())
            } else if eb.is_subset(&ea) {
                ("enum values removed".to_string(), words.tighter())
            } else if ea.is_subset(&eb) {
                ("enum values added".to_string(), words.looser())
            } else {
                ("enum values changed".to_string(), words.different())
            }
        }
        "additionalProperties" | "uniqueItems" | "forbidden" if added => {
            (format!("{keyword} added"), words.tighter())
        }
        "additionalProperties" | "uniqueItems" | "forbidden" if removed => {
            (format!("{keyword} removed"), words.looser())
        }
        k if LOWER_BOUNDS.contains(&k) || UPPER_BOUNDS.contains(&k) => {
            let number = |v: &Option<Value>| v.as_ref().and_then(Value::as_f64);
            let tighter = match (number(&from), number(&to)) {
                (None, Some(_)) => Some(true),
                (Some(_), None) => Some(false),
                (Some(x), Some(y)) if LOWER_BOUNDS.contains(&k) => Some(y > x),
                (Some(x), Some(y)) => Some(y < x),
                (None, None) => None,
            };
            match tighter {
                Some(true) => (format!("{k} tightened"), words.tighter()),
                Some(false) => (format!("{k} loosened"), words.looser()),
                None => (format!("{k} changed"), words.different()),
            }
        }
        _ if added => (format!("{keyword} added"), words.tighter()),
        _ if removed => (format!("{keyword} removed"), words.looser()),
        _ => (format!("{keyword} changed"), words.different()),
    };
    place.change(keyword, summary, from, to, impact)
}

// ---------------------------------------------------------------------------
// Examples.

/// Leaves of a JSON value: (pointer, display path, value).
fn leaves(value: &Value, pointer: String, path: String, out: &mut Vec<(String, String, Value)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let key = crate::suite::pointer_key(k);
                leaves(v, format!("{pointer}/{key}"), join_path(&path, k), out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                leaves(v, format!("{pointer}/{i}"), format!("{path}[{i}]"), out);
            }
        }
        other => out.push((pointer, path, other.clone())),
    }
}

/// Whether `contract`'s schema `schema` finds fault with `instance` at `pointer`.
fn fault_at(
    contract: Option<&Contract>,
    schema: &str,
    instance: &Value,
    pointer: &str,
) -> Option<String> {
    let violations = contract?.validate(schema, instance).ok()?;
    violations
        .into_iter()
        .find(|v| v.pointer == pointer)
        .map(|v| v.message)
}

fn diff_examples(
    ea: &BTreeMap<String, ExampleValue>,
    eb: &BTreeMap<String, ExampleValue>,
    a: &Side,
    b: &Side,
    words: &Words,
    values_only: bool,
    out: &mut Vec<Change>,
) {
    for (name, xa) in ea {
        let Some(xb) = eb.get(name) else {
            if !values_only {
                out.push(example_only_change(name, xa.root, "example removed"));
            }
            continue;
        };
        let schema_name = xb.schema.clone().unwrap_or_else(|| name.clone());
        let mut la = Vec::new();
        let mut lb = Vec::new();
        leaves(&xa.value, String::new(), xa.root.to_string(), &mut la);
        leaves(&xb.value, String::new(), xb.root.to_string(), &mut lb);
        let lb_map: BTreeMap<&String, (&String, &Value)> =
            lb.iter().map(|(p, d, v)| (p, (d, v))).collect();
        let la_map: BTreeMap<&String, (&String, &Value)> =
            la.iter().map(|(p, d, v)| (p, (d, v))).collect();
        for (pointer, path, va) in &la {
            let place = Place {
                schema: &schema_name,
                field: path,
                context: "",
            };
            match lb_map.get(pointer) {
                Some((_, vb)) if *vb != va => {
                    let key = xa.schema.clone().unwrap_or_else(|| name.clone());
                    let impact = judge_example(xa, xb, (&key, path), pointer, a, b, words);
                    let (summary, impact) = impact;
                    out.push(place.change(
                        "example",
                        summary,
                        Some(va.clone()),
                        Some((*vb).clone()),
                        impact,
                    ));
                }
                Some(_) => {}
                None if !values_only => out.push(place.change(
                    "example",
                    "example value removed".to_string(),
                    Some(va.clone()),
                    None,
                    example_only(),
                )),
                None => {}
            }
        }
        if !values_only {
            for (pointer, path, vb) in &lb {
                if !la_map.contains_key(pointer) {
                    let place = Place {
                        schema: &schema_name,
                        field: path,
                        context: "",
                    };
                    out.push(place.change(
                        "example",
                        "example value added".to_string(),
                        None,
                        Some(vb.clone()),
                        example_only(),
                    ));
                }
            }
        }
    }
    if !values_only {
        for (name, xb) in eb {
            if !ea.contains_key(name) {
                out.push(example_only_change(name, xb.root, "example added"));
            }
        }
    }
}

fn example_only() -> (Impact, Impact) {
    (
        compatible("an example only; the schemas decide"),
        compatible("an example only; the schemas decide"),
    )
}

fn example_only_change(name: &str, root: &str, summary: &str) -> Change {
    Place {
        schema: name,
        field: root,
        context: "",
    }
    .change("example", summary.to_string(), None, None, example_only())
}

/// A changed example value is judged by the schemas: A's value against B's
/// schema (servers) and B's value against A's schema (clients).
fn judge_example(
    xa: &ExampleValue,
    xb: &ExampleValue,
    (schema, field): (&str, &str),
    pointer: &str,
    a: &Side,
    b: &Side,
    words: &Words,
) -> (String, (Impact, Impact)) {
    if let Some(ra) = words.fragment_change(schema, field) {
        let (summary, servers, clients) = words.fragment(ra, "example");
        return (summary, (servers, clients));
    }
    let server_fault = xb
        .schema
        .as_deref()
        .and_then(|s| fault_at(b.contract.as_ref(), s, &xa.value, pointer));
    let client_fault = xa
        .schema
        .as_deref()
        .and_then(|s| fault_at(a.contract.as_ref(), s, &xb.value, pointer));
    let servers = match server_fault {
        Some(message) => breaking(format!(
            "the {} example fails {}'s schema here: {message}",
            words.a, words.b
        )),
        None => compatible(format!(
            "the {} value is still valid under {}",
            words.a, words.b
        )),
    };
    let clients = match client_fault {
        Some(message) => breaking(format!(
            "the {} example fails {}'s schema here: {message}",
            words.b, words.a
        )),
        None => compatible(format!(
            "the {} value was already valid under {}",
            words.b, words.a
        )),
    };
    ("example value changed".to_string(), (servers, clients))
}

// ---------------------------------------------------------------------------
// API model: payment rails, the quote default, CLI commands and their
// required flags.

fn api_change(field: &str, aspect: &str, summary: String, impact: (Impact, Impact)) -> Change {
    let (servers, clients) = impact;
    Change {
        schema: "api".to_string(),
        field: field.to_string(),
        context: None,
        aspect: aspect.to_string(),
        summary,
        from: None,
        to: None,
        servers,
        clients,
    }
}

fn diff_api(
    a: &crate::contract::api::ApiModel,
    b: &crate::contract::api::ApiModel,
    words: &Words,
    out: &mut Vec<Change>,
) {
    let rails = |m: &crate::contract::api::ApiModel| -> (BTreeSet<String>, Option<String>) {
        m.payment_rails.as_ref().map_or_else(Default::default, |p| {
            (p.rails.iter().cloned().collect(), p.quote_default.clone())
        })
    };
    let ((ra, da), (rb, db)) = (rails(a), rails(b));
    for rail in ra.difference(&rb) {
        out.push(api_change(
            "payment_rails",
            "rail",
            format!("payment rail `{rail}` removed"),
            (
                compatible(format!("{} servers need not offer it", words.b)),
                breaking(format!(
                    "a client built to {} that pays on `{rail}` is refused",
                    words.a
                )),
            ),
        ));
    }
    for rail in rb.difference(&ra) {
        out.push(api_change(
            "payment_rails",
            "rail",
            format!("payment rail `{rail}` added"),
            (
                breaking(format!("a server built to {} does not offer it", words.a)),
                compatible("clients that do not use it are unaffected"),
            ),
        ));
    }
    if (!ra.is_empty() || !rb.is_empty()) && da != db {
        let name = |d: &Option<String>| d.clone().unwrap_or_else(|| "none".to_string());
        let mut change = api_change(
            "payment_rails.quote_default",
            "default",
            format!(
                "the quote's default rail changed from {} to {}",
                name(&da),
                name(&db)
            ),
            (
                breaking(format!(
                    "a server built to {} quotes a request without a rail on {}",
                    words.a,
                    name(&da)
                )),
                breaking(format!(
                    "a client built to {} that names no rail gets {} instead of {}",
                    words.a,
                    if db.is_none() {
                        "an error".to_string()
                    } else {
                        name(&db)
                    },
                    name(&da)
                )),
            ),
        );
        change.from = da.map(Value::from);
        change.to = db.map(Value::from);
        out.push(change);
    }
    let commands = |m: &crate::contract::api::ApiModel| -> BTreeMap<String, Vec<String>> {
        m.commands
            .iter()
            .map(|c| (c.argv.clone(), c.required_flags.clone()))
            .collect()
    };
    let (ca, cb) = (commands(a), commands(b));
    for (argv, flags_a) in &ca {
        let Some(flags_b) = cb.get(argv) else {
            out.push(api_change(
                &format!("commands.{argv}"),
                "command",
                format!("CLI command `{argv}` removed"),
                (
                    compatible(format!("{} servers need not provide it", words.b)),
                    breaking(format!(
                        "a client built to {} that runs `{argv}` gets an unknown command",
                        words.a
                    )),
                ),
            ));
            continue;
        };
        for flag in flags_b.iter().filter(|f| !flags_a.contains(f)) {
            let mut change = api_change(
                &format!("commands.{argv}"),
                "required_flag",
                format!("`{argv}` now requires {flag}"),
                (
                    compatible(format!("a server built to {} accepts the flag", words.a)),
                    breaking(format!(
                        "a client built to {} may run `{argv}` without {flag}, which {} refuses",
                        words.a, words.b
                    )),
                ),
            );
            change.to = Some(Value::from(flag.clone()));
            out.push(change);
        }
        for flag in flags_a.iter().filter(|f| !flags_b.contains(f)) {
            out.push(api_change(
                &format!("commands.{argv}"),
                "required_flag",
                format!("`{argv}` no longer requires {flag}"),
                (
                    breaking(format!(
                        "a server built to {} refuses `{argv}` without {flag}",
                        words.a
                    )),
                    compatible("clients that pass it are unaffected"),
                ),
            ));
        }
    }
    for argv in cb.keys().filter(|c| !ca.contains_key(*c)) {
        out.push(api_change(
            &format!("commands.{argv}"),
            "command",
            format!("CLI command `{argv}` added"),
            (
                breaking(format!("a server built to {} does not provide it", words.a)),
                compatible("clients that do not run it are unaffected"),
            ),
        ));
    }
}

// ---------------------------------------------------------------------------
// Endpoint inventory.

fn endpoint_map(inventory: &Value) -> BTreeMap<String, &Value> {
    inventory
        .get("endpoints")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|e| {
                    let method = e.get("method")?.as_str()?;
                    let path = e.get("path")?.as_str()?;
                    Some((format!("{method} {path}"), e))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn field_map<'a>(endpoint: &'a Value, list: &str) -> BTreeMap<String, &'a Value> {
    endpoint
        .get(list)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|f| Some((f.get("name")?.as_str()?.to_string(), f)))
                .collect()
        })
        .unwrap_or_default()
}

fn diff_inventories(a: &Value, b: &Value, words: &Words, out: &mut Vec<Change>) {
    let ma = endpoint_map(a);
    let mb = endpoint_map(b);
    let ids: BTreeSet<&String> = ma.keys().chain(mb.keys()).collect();
    for id in ids {
        let place = Place {
            schema: "endpoints",
            field: id,
            context: "",
        };
        let (ea, eb) = match (ma.get(id), mb.get(id)) {
            (Some(ea), Some(eb)) => (*ea, *eb),
            (None, Some(_)) => {
                out.push(place.change(
                    "endpoint",
                    "endpoint added".to_string(),
                    None,
                    None,
                    (
                        breaking(format!("a server built to {} does not serve it", words.a)),
                        compatible(format!("clients built to {} do not call it", words.a)),
                    ),
                ));
                continue;
            }
            (Some(_), None) => {
                out.push(place.change(
                    "endpoint",
                    "endpoint removed".to_string(),
                    None,
                    None,
                    (
                        compatible(format!("{} no longer asks servers for it", words.b)),
                        breaking(format!("a client built to {} calls it", words.a)),
                    ),
                ));
                continue;
            }
            (None, None) => continue,
        };
        let auth_a = ea.get("auth").cloned().unwrap_or(Value::Null);
        let auth_b = eb.get("auth").cloned().unwrap_or(Value::Null);
        if auth_a != auth_b {
            let stated = |v: &Value| v.as_str().is_some_and(|s| s != "unstated");
            let impact = if stated(&auth_a) && stated(&auth_b) {
                (
                    breaking(format!(
                        "a server built to {} handles the token differently",
                        words.a
                    )),
                    breaking(format!(
                        "a client built to {} sends the token, or not, as {} said",
                        words.a, words.a
                    )),
                )
            } else {
                (
                    compatible("only whether the docs state it changed"),
                    compatible("only whether the docs state it changed"),
                )
            };
            out.push(place.change(
                "auth",
                "auth changed".to_string(),
                Some(auth_a),
                Some(auth_b),
                impact,
            ));
        }
        for (list, label, request_side) in [
            ("request_fields", "request", true),
            ("query_fields", "query", true),
            ("response_fields", "response", false),
        ] {
            let fa = field_map(ea, list);
            let fb = field_map(eb, list);
            let names: BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
            for name in names {
                let field = format!("{id} {label}.{name}");
                let place = Place {
                    schema: "endpoints",
                    field: &field,
                    context: "",
                };
                let optional =
                    |f: &Value| f.get("optional").and_then(Value::as_bool).unwrap_or(false);
                match (fa.get(name), fb.get(name)) {
                    (None, Some(f)) => {
                        let impact = match (request_side, optional(f)) {
                            (true, false) => (
                                compatible("servers receive one more field"),
                                breaking(format!("a client built to {} does not send it", words.a)),
                            ),
                            (true, true) => {
                                (compatible("it is optional"), compatible("it is optional"))
                            }
                            (false, _) => (
                                breaking(format!(
                                    "a server built to {} does not return it",
                                    words.a
                                )),
                                compatible("clients may ignore fields they do not know"),
                            ),
                        };
                        out.push(place.change(
                            "field",
                            "field added".to_string(),
                            None,
                            None,
                            impact,
                        ));
                    }
                    (Some(_), None) => {
                        let impact = if request_side {
                            (
                                compatible(format!("{} no longer asks clients for it", words.b)),
                                breaking(format!("a client built to {} still sends it", words.a)),
                            )
                        } else {
                            (
                                compatible(format!("{} no longer asks servers for it", words.b)),
                                breaking(format!("a client built to {} reads it", words.a)),
                            )
                        };
                        out.push(place.change(
                            "field",
                            "field removed".to_string(),
                            None,
                            None,
                            impact,
                        ));
                    }
                    (Some(x), Some(y)) if x != y => {
                        let impact = if request_side && optional(x) != optional(y) {
                            if optional(y) {
                                (
                                    breaking(format!("a server built to {} expects it", words.a)),
                                    compatible("clients may now leave it out"),
                                )
                            } else {
                                (
                                    compatible("servers now always receive it"),
                                    breaking(format!(
                                        "a client built to {} may leave it out",
                                        words.a
                                    )),
                                )
                            }
                        } else {
                            words.different()
                        };
                        out.push(place.change(
                            "field",
                            "field changed".to_string(),
                            Some((*x).clone()),
                            Some((*y).clone()),
                            impact,
                        ));
                    }
                    _ => {}
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Output.

fn counts(report: &Report) -> (usize, usize) {
    let servers = report.changes.iter().filter(|c| c.servers.breaking).count();
    let clients = report.changes.iter().filter(|c| c.clients.breaking).count();
    (servers, clients)
}

fn short(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    const MAX: usize = 72;
    if text.chars().count() > MAX {
        let cut: String = text.chars().take(MAX - 1).collect();
        format!("{cut}…")
    } else {
        text
    }
}

fn verdict(impact: &Impact) -> &'static str {
    if impact.breaking {
        "BREAKING"
    } else {
        "compatible"
    }
}

fn place_label(change: &Change) -> String {
    match &change.context {
        Some(context) => format!("{} ({context})", change.field),
        None => change.field.clone(),
    }
}

pub fn render_console(report: &Report) -> String {
    let mut out = String::new();
    if report.changes.is_empty() {
        out.push_str(&format!(
            "contracts diff {} → {}: no changes\n",
            report.from, report.to
        ));
    } else {
        let (servers, clients) = counts(report);
        out.push_str(&format!(
            "contracts diff {} → {}: {} changes; breaking for servers: {servers}, for clients: {clients}\n",
            report.from,
            report.to,
            report.changes.len()
        ));
        let mut current = None;
        for change in &report.changes {
            if current != Some(&change.schema) {
                out.push_str(&format!("\n{}\n", change.schema));
                current = Some(&change.schema);
            }
            out.push_str(&format!("  {}\n", place_label(change)));
            out.push_str(&format!("    {}\n", change.summary));
            if let Some(from) = &change.from {
                out.push_str(&format!("      from: {}\n", short(from)));
            }
            if let Some(to) = &change.to {
                out.push_str(&format!("      to:   {}\n", short(to)));
            }
            out.push_str(&format!(
                "      servers: {}: {}\n",
                verdict(&change.servers),
                change.servers.reason
            ));
            out.push_str(&format!(
                "      clients: {}: {}\n",
                verdict(&change.clients),
                change.clients.reason
            ));
        }
    }
    for note in &report.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn md_impact(impact: &Impact) -> String {
    if impact.breaking {
        format!("**breaking**: {}", cell(&impact.reason))
    } else {
        format!("compatible: {}", cell(&impact.reason))
    }
}

pub fn render_markdown(report: &Report) -> String {
    let mut out = format!("## Contract changes {} → {}\n\n", report.from, report.to);
    if report.changes.is_empty() {
        out.push_str("No changes.\n");
    } else {
        let (servers, clients) = counts(report);
        out.push_str(&format!(
            "{} changes: {servers} breaking for servers, {clients} breaking for clients.\n\n",
            report.changes.len()
        ));
        let highlights = highlights(report);
        if !highlights.is_empty() {
            out.push_str("### Breaking\n\n");
            for line in highlights {
                out.push_str(&line);
            }
            out.push_str("\n### All changes\n\n");
        }
        out.push_str("| Schema | Field | Change | Servers | Clients |\n");
        out.push_str("| --- | --- | --- | --- | --- |\n");
        for change in &report.changes {
            let field = match &change.context {
                Some(context) => format!("`{}` ({})", cell(&change.field), cell(context)),
                None => format!("`{}`", cell(&change.field)),
            };
            out.push_str(&format!(
                "| `{}` | {field} | {} | {} | {} |\n",
                cell(&change.schema),
                cell(&change.summary),
                md_impact(&change.servers),
                md_impact(&change.clients)
            ));
        }
    }
    if !report.notes.is_empty() {
        out.push('\n');
        for note in &report.notes {
            out.push_str(&format!("_Note: {}_\n", cell(note)));
        }
    }
    out
}

/// One bullet per kind of breaking rule change, naming every field it hits:
/// the part of the release note people read first.
fn highlights(report: &Report) -> Vec<String> {
    let mut groups: BTreeMap<(&str, &str), BTreeMap<&str, BTreeSet<&str>>> = BTreeMap::new();
    for change in report
        .changes
        .iter()
        .filter(|c| c.is_breaking() && c.aspect != "example")
    {
        let who = match (change.servers.breaking, change.clients.breaking) {
            (true, true) => "servers and clients",
            (true, false) => "servers",
            _ => "clients",
        };
        groups
            .entry((change.summary.as_str(), who))
            .or_default()
            .entry(change.schema.as_str())
            .or_default()
            .insert(change.field.as_str());
    }
    groups
        .into_iter()
        .map(|((summary, who), schemas)| {
            let places: Vec<String> = schemas
                .into_iter()
                .map(|(schema, fields)| {
                    let fields: Vec<String> =
                        fields.iter().map(|f| format!("`{}`", cell(f))).collect();
                    format!("`{schema}`: {}", fields.join(", "))
                })
                .collect();
            format!(
                "- **{}** (breaking for {who}): {}\n",
                cell(summary),
                places.join("; ")
            )
        })
        .collect()
}

pub fn render_json(report: &Report) -> Result<String> {
    let (servers, clients) = counts(report);
    let value = json!({
        "format": 1,
        "from": report.from,
        "to": report.to,
        "summary": {
            "changes": report.changes.len(),
            "breaking_for_servers": servers,
            "breaking_for_clients": clients,
        },
        "changes": report.changes,
        "notes": report.notes,
    });
    serde_json::to_string_pretty(&value)
        .map(|text| text + "\n")
        .map_err(|e| Error::Internal(format!("cannot serialize the diff: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(schema: Value) -> Facts {
        let documents = BTreeMap::from([("x.json".to_string(), schema)]);
        let mut walker = Walker {
            documents: &documents,
            facts: Facts::new(),
            refs: Vec::new(),
        };
        if let Some(doc) = documents.get("x.json") {
            walker.walk(doc, "x.json", "data", "", false);
        }
        walker.facts
    }

    fn changes(a: Value, b: Value) -> Vec<Change> {
        let words = Words {
            a: "A",
            b: "B",
            fragment: None,
            stripe_fields: BTreeSet::new(),
        };
        let mut out = Vec::new();
        diff_facts("x", &facts(a), &facts(b), &words, &mut out);
        out
    }

    #[test]
    fn required_and_enum_changes_are_judged_per_side() {
        let a = json!({"type": "object", "properties": {"s": {"enum": ["a", "b"]}}});
        let b = json!({"type": "object", "required": ["s"], "properties": {"s": {"enum": ["a", "b", "c"]}}});
        let found = changes(a, b);
        let summaries: Vec<(&str, bool, bool)> = found
            .iter()
            .map(|c| (c.summary.as_str(), c.servers.breaking, c.clients.breaking))
            .collect();
        assert_eq!(
            summaries,
            [
                ("enum values added", false, true),
                ("made required", true, false)
            ]
        );
        assert!(found.iter().all(|c| c.field == "data.s"));
    }

    #[test]
    fn removed_objects_are_reported_once() {
        let a = json!({"properties": {"o": {"properties": {"x": {}, "y": {}}}}});
        let b = json!({"properties": {}});
        let found = changes(a, b);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].field, "data.o");
    }

    #[test]
    fn refs_and_conditions_are_walked() {
        let schema = json!({
            "$defs": {"u": {"type": "string", "pattern": "^x"}},
            "properties": {"u": {"$ref": "#/$defs/u"}, "state": {}},
            "if": {"properties": {"state": {"const": "done"}}},
            "then": {"required": ["u"]}
        });
        let f = facts(schema);
        assert!(f[&("data.u".to_string(), String::new())].contains_key("pattern"));
        assert!(
            f[&("data.u".to_string(), "when state = done".to_string())].contains_key("required")
        );
    }

    #[test]
    fn same_schemas_have_no_changes() {
        let s = json!({"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "null"}]}}});
        assert!(changes(s.clone(), s).is_empty());
    }
}
