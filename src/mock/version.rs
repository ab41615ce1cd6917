//! What the mock serves for one contract version: its payment rails and
//! quote default, its seed data (`mock.json`), whether its docs strip
//! Stripe URL fragments, and the shape of every answer, compiled once from
//! the version's response schemas when the mock starts.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::answer::Answers;
use super::catalog::Catalog;
use crate::contract::api::{ApiModel, PaymentRails, Response};
use crate::contract::{Contract, FragmentPolicy, roles};

/// What [`super::MockServer::start_for`] serves: a whole contract (answers
/// shaped by its schemas, seed data from its `mock.json`) or an API model
/// alone (routes only; answers as the handlers build them).
#[derive(Clone, Copy)]
pub enum Serves<'a> {
    Contract(&'a Contract),
    Api(&'a ApiModel),
}

impl<'a> From<&'a Contract> for Serves<'a> {
    fn from(contract: &'a Contract) -> Self {
        Serves::Contract(contract)
    }
}

impl<'a> From<&'a ApiModel> for Serves<'a> {
    fn from(api: &'a ApiModel) -> Self {
        Serves::Api(api)
    }
}

impl<'a> Serves<'a> {
    pub(crate) fn api(self) -> &'a ApiModel {
        match self {
            Serves::Contract(c) => c.api(),
            Serves::Api(a) => a,
        }
    }
}

/// The seed data of `mock.json`; the built-in defaults when a source has
/// none (an API model alone, or a `--schemas` folder without it).
#[derive(Debug, Clone)]
pub(crate) struct Seed {
    pub packs: Vec<Pack>,
    pub default_pack_id: String,
    pub min_credits: u64,
    pub max_credits: u64,
    pub free_preview_credits: u64,
    pub daily_job_limit: u64,
    /// Rail id → its catalog entry (`kind`, `live_money`, `purchase_endpoint`, …).
    pub rails: Map<String, Value>,
    /// Rail id → what the mock does on it (the entry's `kind`).
    kinds: Vec<(String, RailKind)>,
    /// The rails of an API model that names none (`payment_rails`).
    pub default_rails: PaymentRails,
    /// Models, their parameters and prices, and the hosted defaults.
    pub catalog: Catalog,
}

/// What the mock does on a rail: the seed names each rail's kind, so the
/// rail ids stay data (`payment_rails`, `mock.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RailKind {
    /// A purchase grants credits at once (the fake/test rail).
    Instant,
    /// A Stripe Checkout session, paid in a browser.
    CheckoutSession,
    /// The no-spend x402 rehearsal: a challenge, then an instant purchase.
    X402Rehearsal,
    /// A crypto deposit challenge the mock never settles.
    X402Deposit,
}

impl RailKind {
    fn parse(kind: &str) -> Option<RailKind> {
        Some(match kind {
            "instant" => RailKind::Instant,
            "checkout_session" => RailKind::CheckoutSession,
            "x402_rehearsal" => RailKind::X402Rehearsal,
            "x402_deposit" => RailKind::X402Deposit,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pack {
    pub id: String,
    pub name: String,
    pub credits: u64,
}

/// The seed every shipped contract inherits (schemas/0.1.8/mock.json).
const BUILT_IN_SEED: &str = include_str!("../../schemas/0.1.8/mock.json");

impl Seed {
    fn parse(value: &Value) -> Result<Seed, String> {
        let catalog = value
            .get("catalog")
            .ok_or("no `catalog` (the model registry)")?;
        let catalog: Catalog =
            serde_json::from_value(catalog.clone()).map_err(|e| format!("`catalog`: {e}"))?;
        let num =
            |key: &str, default: u64| value.get(key).and_then(Value::as_u64).unwrap_or(default);
        let packs = value
            .get("packs")
            .and_then(Value::as_array)
            .map(|packs| {
                packs
                    .iter()
                    .filter_map(|p| {
                        Some(Pack {
                            id: p.get("pack_id")?.as_str()?.to_string(),
                            name: p.get("name")?.as_str()?.to_string(),
                            credits: p.get("credits")?.as_u64()?,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let custom = value.get("custom_credits");
        let bound = |key: &str, default: u64| {
            custom
                .and_then(|c| c.get(key))
                .and_then(Value::as_u64)
                .unwrap_or(default)
        };
        let rails = value
            .get("rails")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut kinds = Vec::new();
        for (id, entry) in &rails {
            let kind = entry
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let kind = RailKind::parse(kind).ok_or_else(|| {
                format!(
                    "`rails/{id}/kind`: expected instant, checkout_session, x402_rehearsal or x402_deposit, got `{kind}`"
                )
            })?;
            kinds.push((id.clone(), kind));
        }
        let default_rails = match value.get("payment_rails") {
            Some(rails) => serde_json::from_value(rails.clone())
                .map_err(|e| format!("`payment_rails`: {e}"))?,
            None => PaymentRails::default(),
        };
        Ok(Seed {
            packs,
            catalog,
            kinds,
            default_rails,
            default_pack_id: value
                .get("default_pack_id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            min_credits: bound("min", 1),
            max_credits: bound("max", 5000),
            free_preview_credits: num("free_preview_credits", 10),
            daily_job_limit: num("daily_job_limit", 2),
            rails,
        })
    }

    /// The shipped base seed; a unit test proves it parses, so the empty
    /// fallback is never served.
    pub(crate) fn built_in() -> Seed {
        serde_json::from_str(BUILT_IN_SEED)
            .map_err(|e| e.to_string())
            .and_then(|v| Seed::parse(&v))
            .unwrap_or_else(|_| Seed::empty())
    }

    fn empty() -> Seed {
        Seed {
            packs: Vec::new(),
            default_pack_id: String::new(),
            min_credits: 1,
            max_credits: 5000,
            free_preview_credits: 0,
            daily_job_limit: 0,
            rails: Map::new(),
            kinds: Vec::new(),
            default_rails: PaymentRails::default(),
            catalog: Catalog::default(),
        }
    }

    pub(crate) fn pack(&self, id: &str) -> Option<&Pack> {
        self.packs.iter().find(|p| p.id == id)
    }

    /// Whether `rail` moves live money, from its catalog entry.
    pub(crate) fn live_money(&self, rail: &str) -> bool {
        self.rails
            .get(rail)
            .and_then(|r| r.get("live_money"))
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }

    pub(crate) fn rail(&self, rail: &str) -> Option<&Value> {
        self.rails.get(rail)
    }

    /// What the mock does on `rail`; `None` for a rail the seed lacks.
    pub(crate) fn kind_of(&self, rail: &str) -> Option<RailKind> {
        self.kinds
            .iter()
            .find(|(id, _)| id == rail)
            .map(|(_, k)| *k)
    }
}

/// Everything version-specific the handlers and the responder read.
#[derive(Debug)]
pub(crate) struct Version {
    /// `payment_rails.rails`; the 0.1.9 pair when the model names none.
    pub rails: Vec<String>,
    /// The API's rail for a quote that names none; `None`: the API requires one.
    pub quote_default: Option<String>,
    /// The version's docs describe fragment-stripped Stripe URLs (0.1.8's
    /// schemas), so even the conformant mock serves them so.
    pub strips_fragments: bool,
    /// Field names whose schema role is a Stripe Checkout URL (or the
    /// compact URL), wherever they nest: what `regressed-0.1.8` strips.
    pub checkout_url_keys: BTreeSet<String>,
    pub seed: Seed,
    /// The handoff route's path around its id (`/pay/`, ``), from the
    /// `followCheckoutHandoff` endpoint; `None` where the release serves
    /// none (before 0.1.7), so answers carry no handoff URL.
    pub handoff: Option<(String, String)>,
    /// Answer templates and request maps (`answers.json`).
    pub answers: Arc<Answers>,
    /// Operation id → the shape of its `data`.
    shapes: HashMap<String, Shape>,
    /// The version's API model: commands, paths, request fields.
    pub api: ApiModel,
    /// Operation id → the fields its `*-request` schema names, and those of
    /// each item of its array fields (`references`): what the mock accepts.
    pub request_fields: HashMap<String, RequestFields>,
}

/// The property names a request schema allows, in the schema's order.
#[derive(Debug, Default, Clone)]
pub(crate) struct RequestFields {
    pub top: Vec<String>,
    /// Array field → the properties of its items.
    pub items: HashMap<String, Vec<String>>,
}

impl Version {
    /// What the mock of `serves` answers by: for a whole contract compiled
    /// once per loaded contract and shared by every mock started from it
    /// (client mode starts one per scenario, an audit one per scenario of
    /// every release × server pair); an API model alone is cheap to read.
    pub(crate) fn shared(serves: Serves) -> crate::Result<Arc<Version>> {
        match serves {
            Serves::Contract(contract) => contract.derived(|c| Version::of(Serves::Contract(c))),
            Serves::Api(_) => Version::of(serves).map(Arc::new),
        }
    }

    pub(crate) fn of(serves: Serves) -> crate::Result<Version> {
        let api = serves.api();
        let mut version = Version {
            rails: Vec::new(),
            quote_default: None,
            strips_fragments: false,
            checkout_url_keys: BTreeSet::new(),
            seed: Seed::built_in(),
            handoff: None,
            answers: Arc::new(Answers::default()),
            shapes: HashMap::new(),
            api: api.clone(),
            request_fields: HashMap::new(),
        };
        // The handoff route of an empty model (a folder of schemas alone)
        // is the default contract's.
        let default_model;
        let handoff_model = if api.endpoints.is_empty() {
            default_model = super::default_api()?;
            &default_model
        } else {
            api
        };
        version.handoff = handoff_model
            .endpoint("followCheckoutHandoff")
            .and_then(|e| {
                let (prefix, rest) = e.path.split_once('{')?;
                let (_, suffix) = rest.split_once('}')?;
                Some((prefix.to_string(), suffix.to_string()))
            });
        let contract = match serves {
            Serves::Contract(contract) => contract,
            Serves::Api(_) => {
                // An API model alone: its request schemas and answers are
                // the default contract's, as its seed is.
                let docs = default_documents()?;
                version.request_fields = request_fields(api, &docs);
                version.checkout_url_keys = checkout_url_keys(&docs);
                version.answers = Answers::built_in()?;
                version.set_rails();
                return Ok(version);
            }
        };
        version.request_fields = request_fields(api, contract.documents());
        if let Some(seed) = contract.mock_seed() {
            version.seed = Seed::parse(seed).map_err(|e| {
                crate::Error::Mock(format!(
                    "contract {}: mock.json (the mock's seed data): {e}",
                    contract.version()
                ))
            })?;
        }
        version.set_rails();
        version.answers = match contract.mock_answers() {
            Some((path, doc)) => Arc::new(Answers::parse(path, doc)?),
            None => Answers::built_in()?,
        };
        version.strips_fragments = contract.fragment_policy() == FragmentPolicy::Stripped;
        let docs = contract.documents();
        version.checkout_url_keys = checkout_url_keys(docs);
        for endpoint in &api.endpoints {
            if let Response::Data(name) = &endpoint.response {
                let (doc, sub) = name.split_once('.').unwrap_or((name, ""));
                let Some(root) = docs.get(doc) else { continue };
                let node = if sub.is_empty() {
                    Some(root)
                } else {
                    root.pointer(&format!("/$defs/{sub}"))
                };
                if let Some(node) = node {
                    let compiler = Compiler { docs, doc: root };
                    version
                        .shapes
                        .insert(endpoint.operation_id.clone(), compiler.compile(node, 0));
                }
            }
        }
        Ok(version)
    }

    /// The model's rails and quote default, or the seed's when it names none.
    fn set_rails(&mut self) {
        let rails = self
            .api
            .payment_rails
            .as_ref()
            .unwrap_or(&self.seed.default_rails);
        self.rails = rails.rails.clone();
        self.quote_default = rails.quote_default.clone();
    }

    /// Whether the version documents `rail`.
    pub(crate) fn has_rail(&self, rail: &str) -> bool {
        self.rails.iter().any(|r| r == rail)
    }

    /// What the mock does on `rail`.
    pub(crate) fn kind_of(&self, rail: &str) -> Option<RailKind> {
        self.seed.kind_of(rail)
    }

    /// Whether one of the version's rails is of `kind`.
    pub(crate) fn has_kind(&self, kind: RailKind) -> bool {
        self.rails.iter().any(|r| self.kind_of(r) == Some(kind))
    }

    /// The rail of `kind`: the version's, else the seed's (for messages
    /// naming a rail the version lacks).
    pub(crate) fn rail_of_kind(&self, kind: RailKind) -> &str {
        self.rails
            .iter()
            .find(|r| self.kind_of(r) == Some(kind))
            .map(String::as_str)
            .or_else(|| {
                self.seed
                    .kinds
                    .iter()
                    .find(|(_, k)| *k == kind)
                    .map(|(id, _)| id.as_str())
            })
            .unwrap_or_default()
    }

    /// The short handoff URL of an attempt, where the version serves one.
    pub(crate) fn handoff_url(&self, base_url: &str, attempt_id: &str) -> Option<String> {
        self.handoff
            .as_ref()
            .map(|(prefix, suffix)| format!("{base_url}{prefix}{attempt_id}{suffix}"))
    }

    /// The attempt id of a handoff path.
    pub(crate) fn handoff_id<'p>(&self, path: &'p str) -> Option<&'p str> {
        let (prefix, suffix) = self.handoff.as_ref()?;
        path.strip_prefix(prefix.as_str())?
            .strip_suffix(suffix.as_str())
    }

    pub(crate) fn shape(&self, operation_id: &str) -> Option<&Shape> {
        self.shapes.get(operation_id)
    }
}

/// The raw schema documents of the default contract, without compiling it.
fn default_documents() -> crate::Result<std::collections::BTreeMap<String, Value>> {
    let resolved = crate::contract::Source::Embedded.resolve(crate::cli::DEFAULT_CONTRACT)?;
    resolved
        .schemas
        .iter()
        .map(|(name, file)| {
            Ok((
                name.clone(),
                crate::Error::parse_json(&file.path, &file.text)?,
            ))
        })
        .collect()
}

/// Field names whose schema role is a Stripe Checkout URL or the compact
/// URL, wherever they nest: what a fragment-stripping profile cuts.
fn checkout_url_keys(docs: &std::collections::BTreeMap<String, Value>) -> BTreeSet<String> {
    roles::leaf_names(
        docs,
        &[roles::STRIPE_CHECKOUT_URL, roles::CHECKOUT_COMPACT_URL],
    )
}

/// For each endpoint whose body is a `*-request` schema: its properties,
/// and the item properties of its array properties, `$ref`s followed.
fn request_fields(
    api: &ApiModel,
    docs: &std::collections::BTreeMap<String, Value>,
) -> HashMap<String, RequestFields> {
    let mut out = HashMap::new();
    for endpoint in &api.endpoints {
        let Some(crate::contract::api::Body::Schema { schema }) = &endpoint.body else {
            continue;
        };
        let Some(root) = docs.get(schema) else {
            continue;
        };
        let compiler = Compiler { docs, doc: root };
        let (doc, node) = compiler.follow(root, root, 0);
        let mut fields = RequestFields::default();
        let Some(props) = node.get("properties").and_then(Value::as_object) else {
            continue;
        };
        for (name, prop) in props {
            fields.top.push(name.clone());
            let (doc, prop) = Compiler { docs, doc }.follow(doc, prop, 0);
            let Some(items) = prop.get("items") else {
                continue;
            };
            let (_, items) = Compiler { docs, doc }.follow(doc, items, 0);
            if let Some(Value::Object(item_props)) = items.get("properties") {
                fields
                    .items
                    .insert(name.clone(), item_props.keys().cloned().collect());
            }
        }
        out.insert(endpoint.operation_id.clone(), fields);
    }
    out
}

/// The compiled shape of a response schema: per object, its properties
/// (and whether others are forbidden), the skeleton of every required one,
/// and the role of each node.
#[derive(Debug, Default, Clone)]
pub(crate) struct Shape {
    role: Option<String>,
    props: Vec<(String, Shape)>,
    is_object: bool,
    closed: bool,
    required: Vec<String>,
    items: Option<Box<Shape>>,
    /// What a missing required field of this shape is sent as.
    skeleton: Value,
}

const MAX_DEPTH: usize = 16;

struct Compiler<'a> {
    docs: &'a std::collections::BTreeMap<String, Value>,
    /// The document `#/...` references point into.
    doc: &'a Value,
}

impl<'a> Compiler<'a> {
    /// `common.json#/$defs/x`, `#/$defs/x` or `agent-claim.json`.
    fn resolve(&self, reference: &str) -> Option<(&'a Value, &'a Value)> {
        let (file, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        let doc = if file.is_empty() {
            self.doc
        } else {
            let stem = file.rsplit('/').next().unwrap_or(file);
            self.docs.get(stem.strip_suffix(".json").unwrap_or(stem))?
        };
        let node = if pointer.is_empty() {
            doc
        } else {
            doc.pointer(pointer)?
        };
        Some((doc, node))
    }

    /// `node`, or what its `$ref` chain ends at, with the document that
    /// holds it.
    fn follow(&self, doc: &'a Value, node: &'a Value, depth: usize) -> (&'a Value, &'a Value) {
        match node.get("$ref").and_then(Value::as_str) {
            Some(reference) if depth < MAX_DEPTH => {
                match (Compiler {
                    docs: self.docs,
                    doc,
                })
                .resolve(reference)
                {
                    Some((doc, target)) => self.follow(doc, target, depth + 1),
                    None => (doc, node),
                }
            }
            _ => (doc, node),
        }
    }

    fn compile(&self, node: &'a Value, depth: usize) -> Shape {
        let mut shape = Shape::default();
        if depth > MAX_DEPTH {
            return shape;
        }
        let Some(map) = node.as_object() else {
            return shape;
        };
        shape.role = roles::role_of(node).map(str::to_string);
        if let Some(reference) = map.get("$ref").and_then(Value::as_str)
            && let Some((doc, target)) = self.resolve(reference)
        {
            let inner = Compiler {
                docs: self.docs,
                doc,
            }
            .compile(target, depth + 1);
            shape.merge(inner, true);
        }
        if let Some(Value::Object(props)) = map.get("properties") {
            shape.is_object = true;
            for (key, schema) in props {
                let child = self.compile(schema, depth + 1);
                match shape.props.iter_mut().find(|(k, _)| k == key) {
                    Some((_, existing)) => existing.merge(child, false),
                    None => shape.props.push((key.clone(), child)),
                }
            }
        }
        if map.get("type").and_then(Value::as_str) == Some("object") {
            shape.is_object = true;
        }
        if map.get("additionalProperties") == Some(&Value::Bool(false)) {
            shape.closed = true;
        }
        if let Some(Value::Array(required)) = map.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                if !shape.required.iter().any(|r| r == name) {
                    shape.required.push(name.to_string());
                }
            }
        }
        if let Some(items) = map.get("items") {
            shape.items = Some(Box::new(self.compile(items, depth + 1)));
        }
        // The widened (`anyOf`) schemas: a field any branch names is known;
        // the first branch gives the skeleton; closed only if all are.
        for keyword in ["anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = map.get(keyword) {
                let mut all_closed = !branches.is_empty();
                let mut first = true;
                for branch in branches {
                    let child = self.compile(branch, depth + 1);
                    all_closed &= child.closed || !child.is_object;
                    if first {
                        if shape.skeleton.is_null() {
                            shape.skeleton = child.skeleton.clone();
                        }
                        if shape.required.is_empty() {
                            shape.required = child.required.clone();
                        }
                        first = false;
                    }
                    let keep_required = shape.required.clone();
                    shape.merge(child, false);
                    shape.required = keep_required;
                }
                shape.closed = shape.closed && all_closed;
            }
        }
        if let Some(Value::Array(parts)) = map.get("allOf") {
            for part in parts {
                let child = self.compile(part, depth + 1);
                shape.merge(child, true);
            }
        }
        if shape.skeleton.is_null() {
            shape.skeleton = skeleton(map, &shape);
        }
        shape
    }
}

impl Shape {
    /// Folds `other` in; `required_too`: its required fields become this
    /// one's (a `$ref` or `allOf` part), not just its known fields.
    fn merge(&mut self, other: Shape, required_too: bool) {
        if self.role.is_none() {
            self.role = other.role;
        }
        self.is_object |= other.is_object;
        self.closed |= other.closed;
        for (key, child) in other.props {
            match self.props.iter_mut().find(|(k, _)| *k == key) {
                Some((_, existing)) => existing.merge(child, false),
                None => self.props.push((key, child)),
            }
        }
        if required_too {
            for name in other.required {
                if !self.required.contains(&name) {
                    self.required.push(name);
                }
            }
        }
        if self.items.is_none() {
            self.items = other.items;
        }
        if self.skeleton.is_null() {
            self.skeleton = other.skeleton;
        }
    }

    fn prop(&self, key: &str) -> Option<&Shape> {
        self.props.iter().find(|(k, _)| k == key).map(|(_, s)| s)
    }

    /// `data` as the version's schema shapes it: fields the schema forbids
    /// dropped, required fields the handler did not fill sent as their
    /// skeleton, and any field with a role filled from the value the
    /// handler gave that role elsewhere in the answer.
    pub(crate) fn fill(&self, data: Value) -> Value {
        let mut by_role = HashMap::new();
        self.collect(&data, &mut by_role);
        self.apply(data, &by_role)
    }

    fn collect(&self, data: &Value, by_role: &mut HashMap<String, Value>) {
        if let Some(role) = &self.role
            && !data.is_null()
        {
            by_role.entry(role.clone()).or_insert_with(|| data.clone());
        }
        match data {
            Value::Object(map) => {
                for (key, value) in map {
                    if let Some(child) = self.prop(key) {
                        child.collect(value, by_role);
                    }
                }
            }
            Value::Array(items) => {
                if let Some(shape) = &self.items {
                    items.iter().for_each(|i| shape.collect(i, by_role));
                }
            }
            _ => {}
        }
    }

    fn apply(&self, data: Value, by_role: &HashMap<String, Value>) -> Value {
        match data {
            Value::Object(map) if self.is_object => {
                let mut out = Map::with_capacity(map.len());
                for (key, value) in map {
                    match self.prop(&key) {
                        Some(child) => {
                            out.insert(key, child.apply(value, by_role));
                        }
                        None if !self.closed => {
                            out.insert(key, value);
                        }
                        None => {}
                    }
                }
                for (key, child) in &self.props {
                    if out.contains_key(key) {
                        continue;
                    }
                    let from_role = child.role.as_ref().and_then(|r| by_role.get(r));
                    if let Some(value) = from_role {
                        out.insert(key.clone(), value.clone());
                    } else if self.required.contains(key) {
                        out.insert(key.clone(), child.skeleton.clone());
                    }
                }
                Value::Object(out)
            }
            Value::Array(items) => match &self.items {
                Some(shape) => {
                    Value::Array(items.into_iter().map(|i| shape.apply(i, by_role)).collect())
                }
                None => Value::Array(items),
            },
            other => other,
        }
    }
}

/// A value that fits `schema` when nothing better is known: its `const`,
/// first `enum` or `examples` entry, `default`, else the least value of
/// its type (an object of its required fields' skeletons).
fn skeleton(schema: &Map<String, Value>, shape: &Shape) -> Value {
    if let Some(value) = schema.get("const") {
        return value.clone();
    }
    for key in ["enum", "examples"] {
        if let Some(first) = schema
            .get(key)
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            return first.clone();
        }
    }
    if let Some(value) = schema.get("default") {
        return value.clone();
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ if shape.is_object => vec!["object"],
        _ => Vec::new(),
    };
    let number = |key: &str| schema.get(key).cloned().unwrap_or(Value::from(0));
    match types.as_slice() {
        t if t.contains(&"null") => Value::Null,
        ["object", ..] => Value::Object(
            shape
                .required
                .iter()
                .map(|name| {
                    let value = shape
                        .prop(name)
                        .map(|s| s.skeleton.clone())
                        .unwrap_or(Value::Null);
                    (name.clone(), value)
                })
                .collect(),
        ),
        ["array", ..] => Value::Array(Vec::new()),
        ["string", ..] => {
            let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0);
            Value::from("x".repeat(usize::try_from(min).unwrap_or(1).max(1)))
        }
        ["integer", ..] | ["number", ..] => number("minimum"),
        ["boolean", ..] => Value::Bool(false),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shape_of(schema: Value, common: Value) -> Shape {
        let docs = [
            ("common".to_string(), common),
            ("s".to_string(), schema.clone()),
        ]
        .into_iter()
        .collect();
        Compiler {
            docs: &docs,
            doc: &schema,
        }
        .compile(&schema, 0)
    }

    #[test]
    fn mocks_of_one_loaded_contract_share_its_compiled_answers() {
        let contract = Contract::embedded("0.1.9").expect("0.1.9");
        let a = Version::shared(Serves::Contract(&contract)).expect("compiled");
        let b = Version::shared(Serves::Contract(&contract)).expect("shared");
        assert!(Arc::ptr_eq(&a, &b), "a second mock recompiled the shapes");
        assert!(a.shape("createStripeCheckoutSession").is_some());
        let other = Contract::embedded("0.1.9").expect("0.1.9 again");
        let c = Version::shared(Serves::Contract(&other)).expect("compiled");
        assert!(
            !Arc::ptr_eq(&a, &c),
            "the cache lives with the loaded contract"
        );
    }

    #[test]
    fn the_built_in_seed_parses() {
        let value = serde_json::from_str(BUILT_IN_SEED).expect("JSON");
        let seed = Seed::parse(&value).expect("a whole seed");
        assert_eq!(seed.packs.len(), 3);
        assert_eq!(seed.catalog.models.len(), 6);
        assert!(seed.pack("starter-500").is_some());
        assert!(!seed.live_money("fake"));
        assert!(seed.live_money("stripe_checkout"));
    }

    #[test]
    fn fill_drops_forbidden_fields_adds_required_ones_and_fills_roles() {
        let common = json!({ "$defs": { "url": { "x-conform-role": "stripe_checkout_url", "type": "string" } } });
        let schema = json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["state", "added"],
            "properties": {
                "state": { "const": "ok" },
                "added": { "type": "integer", "minimum": 1 },
                "checkout_url": { "$ref": "common.json#/$defs/url" },
                "new_url": { "$ref": "common.json#/$defs/url" }
            }
        });
        let shape = shape_of(schema, common);
        let data = shape.fill(json!({ "state": "ok", "checkout_url": "https://c/#f", "stray": 1 }));
        assert_eq!(
            data,
            json!({ "state": "ok", "checkout_url": "https://c/#f", "added": 1, "new_url": "https://c/#f" })
        );
    }
}
