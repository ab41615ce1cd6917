//! `conform openapi`: the contract as an OpenAPI 3.1 document, so tools
//! built on OpenAPI (Schemathesis, Prism, Dredd) can use it.
//!
//! Two sources: the contract schemas, inlined into `components/schemas`
//! (JSON Schema 2020-12 is OpenAPI 3.1's dialect, so they carry over once
//! their `$ref`s point into the document), and [`ENDPOINTS`], the hosted
//! API as llms.txt lists it: method, path, auth, request fields, the data
//! schema and the error codes the docs name for it.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{Map, Value, json};

use crate::contract::Contract;
use crate::error::{Error, Result, exit};

const OPENAPI_VERSION: &str = "3.1.0";
const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";
const SERVER: &str = "https://api.image-skill.com";
const COMMON: &str = "common";
const SECURITY_SCHEME: &str = "bearer";
/// Keywords whose values are data, not subschemas (see `contract.rs`).
const DATA_KEYWORDS: [&str; 4] = ["const", "enum", "examples", "default"];

#[derive(Debug, Args)]
pub struct OpenapiArgs {
    /// Contract version to export.
    #[arg(long, default_value = crate::cli::DEFAULT_CONTRACT, value_name = "VERSION")]
    pub contract: String,
    /// Read contract schemas from DIR/<VERSION>/ instead of the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
    /// Write the document to FILE (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `conform openapi`.
pub fn run(args: &OpenapiArgs) -> Result<i32> {
    let document = match &args.schemas {
        Some(dir) => from_dir(dir, &args.contract)?,
        None => embedded(&args.contract)?,
    };
    let mut text = serde_json::to_string_pretty(&document)
        .map_err(|e| Error::Internal(format!("cannot serialize the OpenAPI document: {e}")))?;
    text.push('\n');
    match &args.out {
        Some(path) => crate::report::write_atomic(path, text.as_bytes())?,
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            // A closed pipe (`conform openapi | head`) is not worth a panic.
            let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        }
    }
    Ok(exit::PASSED)
}

/// The document for a contract version shipped inside the binary.
pub fn embedded(version: &str) -> Result<Value> {
    // Loading first reports a broken or unknown contract with its location.
    Contract::embedded(version)?;
    let prefix = format!("schemas/{version}/");
    let files: Vec<(PathBuf, &str)> = crate::embedded::SCHEMAS
        .iter()
        .filter(|(path, _)| {
            path.strip_prefix(&prefix)
                .is_some_and(|rest| !rest.contains('/') && rest.ends_with(".json"))
        })
        .map(|(path, text)| (PathBuf::from(path), *text))
        .collect();
    document(version, &files)
}

/// The document for the contract in `<schemas_root>/<version>/`.
pub fn from_dir(schemas_root: &Path, version: &str) -> Result<Value> {
    Contract::from_dir(schemas_root, version)?;
    let dir = schemas_root.join(version);
    let read_err = |path: &Path, source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| read_err(&dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let mut texts = Vec::with_capacity(paths.len());
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| read_err(&path, e))?;
        texts.push((path, text));
    }
    let files: Vec<(PathBuf, &str)> = texts.iter().map(|(p, t)| (p.clone(), t.as_str())).collect();
    document(version, &files)
}

/// Builds the document from a contract's schema files.
fn document(version: &str, files: &[(PathBuf, &str)]) -> Result<Value> {
    let mut schemas = Map::new();
    for (path, text) in files {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut schema = Error::parse_json(path, text)?;
        let Some(object) = schema.as_object_mut() else {
            continue;
        };
        object.remove("$schema");
        object.remove("$id");
        // Each shared definition becomes a component of its own, so tools
        // that only follow `#/components/schemas/<name>` still find it.
        if let Some(Value::Object(defs)) = object.remove("$defs") {
            for (name, def) in defs {
                schemas.insert(format!("{stem}.{name}"), rewrite_refs(def, &stem));
            }
        }
        if stem != COMMON {
            schemas.insert(stem.clone(), rewrite_refs(schema, &stem));
        }
    }
    for endpoint in ENDPOINTS {
        for name in endpoint.schema_names() {
            if !schemas.contains_key(name) {
                return Err(Error::Usage(format!(
                    "contract {version} has no schema `{name}`, which {} {} needs",
                    endpoint.method, endpoint.path
                )));
            }
        }
    }

    let mut paths = Map::new();
    for endpoint in ENDPOINTS {
        let item = paths
            .entry(endpoint.path.to_string())
            .or_insert_with(|| json!({}));
        item[endpoint.method.to_ascii_lowercase()] = endpoint.operation();
    }
    Ok(json!({
        "openapi": OPENAPI_VERSION,
        "jsonSchemaDialect": DIALECT,
        "info": {
            "title": "Image Skill hosted API",
            "version": version,
            "description": format!(
                "The Image Skill hosted API as contract {version} describes it, generated by conform \
                 from its contract schemas. Every answer is the JSON envelope: `data` on success, \
                 `error` (code, message, retryable, recovery) on failure."
            )
        },
        "servers": [{ "url": SERVER }],
        "tags": TAGS.iter().map(|(name, description)| json!({ "name": name, "description": description })).collect::<Vec<_>>(),
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {
                "Unauthorized": {
                    "description": "Missing, malformed or unknown bearer token (CLI exit 3).",
                    "content": { "application/json": { "schema": component("error-envelope") } }
                }
            },
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A restricted agent token (`isk_r_...`), returned once by POST /v1/agent-signups."
                }
            }
        }
    }))
}

fn component(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// Keywords whose value is one subschema, a map of them, or a list of them.
const ONE_SUBSCHEMA: [&str; 8] = [
    "items",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
];
const SUBSCHEMA_MAPS: [&str; 4] = [
    "properties",
    "patternProperties",
    "$defs",
    "dependentSchemas",
];
const SUBSCHEMA_LISTS: [&str; 4] = ["allOf", "anyOf", "oneOf", "prefixItems"];

/// Points every `$ref` of a schema from `file` into `#/components/schemas`,
/// and spells boolean subschemas as objects (`true` → `{}`, `false` →
/// `{"not": {}}`, the same meaning): OpenAPI tooling often reads schemas
/// as objects only. `additionalProperties: false` stays, as everyone reads it.
fn rewrite_refs(mut schema: Value, file: &str) -> Value {
    fn as_object(node: &mut Value) {
        if let Value::Bool(allowed) = node {
            *node = if *allowed {
                json!({})
            } else {
                json!({ "not": {} })
            };
        }
    }
    fn walk(node: &mut Value, file: &str) {
        match node {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get_mut("$ref") {
                    *reference = rewrite_ref(reference, file);
                }
                for (key, child) in map.iter_mut() {
                    let key = key.as_str();
                    if ONE_SUBSCHEMA.contains(&key) {
                        as_object(child);
                    } else if SUBSCHEMA_MAPS.contains(&key) {
                        child
                            .as_object_mut()
                            .into_iter()
                            .flat_map(|m| m.values_mut())
                            .for_each(as_object);
                    } else if SUBSCHEMA_LISTS.contains(&key) {
                        child
                            .as_array_mut()
                            .into_iter()
                            .flatten()
                            .for_each(as_object);
                    }
                    if !DATA_KEYWORDS.contains(&key) {
                        walk(child, file);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, file)),
            _ => {}
        }
    }
    as_object(&mut schema);
    walk(&mut schema, file);
    schema
}

/// `common.json#/$defs/actor` → `#/components/schemas/common.actor`;
/// `#/$defs/pack` in credit-packs → `#/components/schemas/credit-packs.pack`.
fn rewrite_ref(reference: &str, file: &str) -> String {
    let (target, fragment) = reference.split_once('#').unwrap_or((reference, ""));
    let stem = match target.strip_suffix(".json") {
        Some(stem) => stem.rsplit('/').next().unwrap_or(stem),
        None if target.is_empty() => file,
        None => target,
    };
    let base = "#/components/schemas/";
    match fragment.strip_prefix("/$defs/") {
        Some(rest) => {
            let (name, tail) = rest
                .split_once('/')
                .map_or((rest, ""), |(n, _)| (n, &rest[n.len()..]));
            format!("{base}{stem}.{name}{tail}")
        }
        None => format!("{base}{stem}{fragment}"),
    }
}

/// Groups for the endpoints, in the order llms.txt introduces them.
const TAGS: &[(&str, &str)] = &[
    ("identity", "Agent signup, identity and quota."),
    (
        "credits",
        "Payment rails, packs, quotes, Stripe Checkout handoff and fake/test purchases.",
    ),
    ("catalog", "Models and capabilities."),
    (
        "creative",
        "Create, upload, edit, and the jobs and assets they leave.",
    ),
    ("activity", "The hosted activity ledger."),
    ("cli", "Public CLI commands over JSON argv."),
    ("health", "Readiness."),
];

/// One operation of the hosted API.
#[derive(Debug)]
pub struct Endpoint {
    pub method: &'static str,
    /// OpenAPI path template, e.g. `/v1/models/{model_id}`.
    pub path: &'static str,
    pub operation_id: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    /// The CLI command it backs, which is also the envelope's `command`.
    pub command: &'static str,
    /// Whether it needs `Authorization: Bearer <token>`.
    pub auth: bool,
    pub params: &'static [Param],
    pub body: Option<Body>,
    pub response: Response,
    /// Error codes the docs name for this endpoint.
    pub errors: &'static [DocumentedError],
}

#[derive(Debug)]
pub struct Param {
    pub name: &'static str,
    pub location: Location,
    pub kind: Kind,
    pub required: bool,
    pub description: &'static str,
    pub rule: Option<Rule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Path,
    Query,
}

#[derive(Debug)]
pub enum Body {
    /// A contract schema (`*-request`) describes the body.
    Schema(&'static str),
    /// The fields llms.txt lists; `one_of` names fields of which exactly one
    /// is required.
    Fields {
        fields: &'static [Field],
        one_of: &'static [&'static str],
    },
}

#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub description: &'static str,
    pub rule: Option<Rule>,
}

/// What the docs say about a value beyond its JSON type. Without it,
/// generators such as Schemathesis send values the API rightly refuses,
/// and report the refusal as a rejected valid request.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// An email address: `human_email` is the accountable contact.
    Email,
    /// A whole number from `min` to `max`.
    Range { min: i64, max: Option<i64> },
}

/// JSON types of request fields and parameters.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    String,
    Integer,
    StringArray,
    /// A component schema, by name (`common.quote_id`).
    Schema(&'static str),
}

#[derive(Debug, Clone, Copy)]
pub enum Response {
    /// 200 with the success envelope; `data` follows this schema.
    Data(&'static str),
    /// 303 to the full Stripe Checkout URL.
    Redirect,
}

#[derive(Debug)]
pub struct DocumentedError {
    pub code: &'static str,
    /// Whether the server, not the request, is at fault (5XX).
    pub server: bool,
    pub when: &'static str,
}

impl Kind {
    fn schema(self, rule: Option<Rule>) -> Value {
        let mut schema = match self {
            Kind::String => json!({ "type": "string", "minLength": 1 }),
            Kind::Integer => json!({ "type": "integer" }),
            Kind::StringArray => {
                json!({ "type": "array", "minItems": 1, "items": { "type": "string" } })
            }
            Kind::Schema(name) => component(name),
        };
        match rule {
            Some(Rule::Email) => schema["format"] = json!("email"),
            Some(Rule::Range { min, max }) => {
                schema["minimum"] = json!(min);
                if let Some(max) = max {
                    schema["maximum"] = json!(max);
                }
            }
            None => {}
        }
        schema
    }
}

impl Endpoint {
    /// Contract schemas this endpoint refers to.
    pub fn schema_names(&self) -> Vec<&'static str> {
        let mut names = vec!["success-envelope", "error-envelope"];
        if let Response::Data(name) = self.response {
            names.push(name);
        }
        if let Some(Body::Schema(name)) = self.body {
            names.push(name);
        }
        let kinds = self.params.iter().map(|p| p.kind).chain(
            match &self.body {
                Some(Body::Fields { fields, .. }) => fields.iter(),
                _ => [].iter(),
            }
            .map(|f| f.kind),
        );
        names.extend(kinds.filter_map(|k| match k {
            Kind::Schema(name) => Some(name),
            _ => None,
        }));
        names
    }

    fn operation(&self) -> Value {
        let mut op = json!({
            "operationId": self.operation_id,
            "summary": self.summary,
            "tags": [self.tag],
            "x-cli-command": self.command,
            "security": if self.auth { json!([{ SECURITY_SCHEME: [] }]) } else { json!([]) },
        });
        if !self.params.is_empty() {
            op["parameters"] = self.params.iter().map(Param::json).collect();
        }
        if let Some(body) = &self.body {
            op["requestBody"] = json!({
                "required": true,
                "content": { "application/json": { "schema": body.schema() } }
            });
        }
        let mut responses = Map::new();
        match self.response {
            Response::Data(name) => {
                let mut ok = json!({
                    "description": format!("Success envelope; `data` follows `{name}`."),
                    "content": { "application/json": { "schema": {
                        "allOf": [component("success-envelope")],
                        "properties": { "data": component(name) }
                    } } }
                });
                let links: Map<String, Value> = LINKS
                    .iter()
                    .filter(|l| l.from == self.operation_id)
                    .map(|l| (l.to.to_string(), l.json()))
                    .collect();
                if !links.is_empty() {
                    ok["links"] = Value::Object(links);
                }
                responses.insert("200".into(), ok);
            }
            Response::Redirect => {
                responses.insert(
                    "303".into(),
                    json!({
                        "description": "Redirects to the full Stripe Checkout URL, fragment and all.",
                        "headers": { "Location": {
                            "required": true,
                            "schema": component("common.stripe_checkout_url")
                        } }
                    }),
                );
            }
        }
        if self.auth {
            responses.insert(
                "401".into(),
                json!({ "$ref": "#/components/responses/Unauthorized" }),
            );
        }
        for (range, server) in [("4XX", false), ("5XX", true)] {
            let errors: Vec<&DocumentedError> =
                self.errors.iter().filter(|e| e.server == server).collect();
            if server && errors.is_empty() {
                continue;
            }
            let mut description = if server {
                "Server-side failure.".to_string()
            } else {
                "Error envelope: invalid request, unknown reference or refusal.".to_string()
            };
            for error in &errors {
                description.push_str(&format!(" `{}`: {}.", error.code, error.when));
            }
            responses.insert(
                range.into(),
                json!({
                    "description": description,
                    "x-error-codes": errors.iter().map(|e| e.code).collect::<Vec<_>>(),
                    "content": { "application/json": { "schema": component("error-envelope") } }
                }),
            );
        }
        op["responses"] = Value::Object(responses);
        op
    }
}

/// A value one operation answers with that another one takes: an OpenAPI
/// link, so tools can chain calls (Schemathesis' stateful phase quotes,
/// then checks out with that quote) instead of guessing ids that never
/// exist. One link per (from, to) pair; it is named after `to`.
#[derive(Debug)]
pub struct Link {
    /// operationId of the operation whose 200 answer holds the values.
    pub from: &'static str,
    pub to: &'static str,
    /// A parameter or body field of `to`, and its value: a JSON pointer
    /// (`/data/...`) into `from`'s success envelope, or else a literal.
    pub values: &'static [(&'static str, &'static str)],
}

impl Link {
    fn json(&self) -> Value {
        let target = ENDPOINTS.iter().find(|e| e.operation_id == self.to);
        let mut parameters = Map::new();
        let mut body = Map::new();
        for (name, value) in self.values {
            let expression = if value.starts_with('/') {
                Value::from(format!("$response.body#{value}"))
            } else {
                Value::from(*value)
            };
            if target.is_some_and(|t| t.params.iter().any(|p| p.name == *name)) {
                parameters.insert((*name).to_string(), expression);
            } else {
                body.insert((*name).to_string(), expression);
            }
        }
        let mut link = json!({ "operationId": self.to });
        if !parameters.is_empty() {
            link["parameters"] = Value::Object(parameters);
        }
        // An object with expressions inside: Schemathesis evaluates them and
        // generates the rest of the body; tools that do not simply ignore it.
        if !body.is_empty() {
            link["requestBody"] = Value::Object(body);
        }
        link
    }
}

const fn link(
    from: &'static str,
    to: &'static str,
    values: &'static [(&'static str, &'static str)],
) -> Link {
    Link { from, to, values }
}

/// How the documented flows chain: pack → quote → checkout or fake
/// purchase → status and the handoff redirect; model → create, upload or
/// create → asset, job, edit. Only links whose source always holds the
/// value: an empty list (activity) would leave the target nothing.
pub const LINKS: &[Link] = &[
    // llms.txt: `credits quote --pack PACK_ID --payment-method
    // stripe_checkout` is the default live-money top-up path.
    link(
        "listCreditPacks",
        "createCreditQuote",
        &[
            ("pack_id", "/data/packs/0/pack_id"),
            ("payment_method", "stripe_checkout"),
        ],
    ),
    link(
        "createCreditQuote",
        "createStripeCheckoutSession",
        &[("quote_id", "/data/quote_id")],
    ),
    link(
        "createCreditQuote",
        "createFakePurchase",
        &[("quote_id", "/data/quote_id")],
    ),
    link(
        "createCreditQuote",
        "getCreditPurchaseStatus",
        &[("quote_id", "/data/quote_id")],
    ),
    link(
        "createStripeCheckoutSession",
        "followCheckoutHandoff",
        &[("payment_attempt_id", "/data/payment_attempt_id")],
    ),
    link(
        "createStripeCheckoutSession",
        "getCreditPurchaseStatus",
        &[("payment_attempt_id", "/data/payment_attempt_id")],
    ),
    link(
        "createFakePurchase",
        "getCreditPurchaseStatus",
        &[("receipt_id", "/data/receipt_id")],
    ),
    link(
        "listModels",
        "getModel",
        &[("model_id", "/data/models/0/model_id")],
    ),
    link(
        "listModels",
        "createImage",
        &[("model", "/data/models/0/model_id")],
    ),
    link(
        "uploadImage",
        "getAsset",
        &[("asset_id", "/data/asset/asset_id")],
    ),
    link("uploadImage", "getJob", &[("job_id", "/data/asset/job_id")]),
    link(
        "uploadImage",
        "editImage",
        &[("input_asset_id", "/data/asset/asset_id")],
    ),
    link("createImage", "getJob", &[("job_id", "/data/job_id")]),
    link(
        "createImage",
        "getAsset",
        &[("asset_id", "/data/assets/0/asset_id")],
    ),
    link(
        "createImage",
        "getActivityReference",
        &[("reference", "/data/job_id")],
    ),
    link("editImage", "getJob", &[("job_id", "/data/job_id")]),
    link(
        "editImage",
        "getAsset",
        &[("asset_id", "/data/assets/0/asset_id")],
    ),
];

impl Param {
    fn json(&self) -> Value {
        json!({
            "name": self.name,
            "in": match self.location { Location::Path => "path", Location::Query => "query" },
            "required": self.required || self.location == Location::Path,
            "description": self.description,
            "schema": self.kind.schema(self.rule)
        })
    }
}

impl Body {
    fn schema(&self) -> Value {
        match self {
            Body::Schema(name) => component(name),
            Body::Fields { fields, one_of } => {
                let properties: Map<String, Value> = fields
                    .iter()
                    .map(|f| {
                        let mut schema = f.kind.schema(f.rule);
                        // 3.1 allows keywords beside `$ref`, so no allOf wrapper.
                        if !f.description.is_empty() {
                            schema["description"] = Value::from(f.description);
                        }
                        (f.name.to_string(), schema)
                    })
                    .collect();
                let required: Vec<&str> = fields
                    .iter()
                    .filter(|f| f.required)
                    .map(|f| f.name)
                    .collect();
                // The docs list the public request fields and the mock refuses
                // others, as `conform run --negative` requires of any server.
                let mut schema = json!({
                    "type": "object",
                    "properties": properties,
                    "additionalProperties": false
                });
                if !required.is_empty() {
                    schema["required"] = json!(required);
                }
                if !one_of.is_empty() {
                    schema["oneOf"] = one_of.iter().map(|f| json!({ "required": [f] })).collect();
                }
                schema
            }
        }
    }
}

const fn field(name: &'static str, kind: Kind, required: bool, description: &'static str) -> Field {
    Field {
        name,
        kind,
        required,
        description,
        rule: None,
    }
}

impl Field {
    const fn rule(mut self, rule: Rule) -> Field {
        self.rule = Some(rule);
        self
    }
}

impl Param {
    const fn rule(mut self, rule: Rule) -> Param {
        self.rule = Some(rule);
        self
    }
}

const fn path_param(name: &'static str, kind: Kind, description: &'static str) -> Param {
    Param {
        name,
        location: Location::Path,
        kind,
        required: true,
        description,
        rule: None,
    }
}

const fn query(name: &'static str, kind: Kind, description: &'static str) -> Param {
    Param {
        name,
        location: Location::Query,
        kind,
        required: false,
        description,
        rule: None,
    }
}

const STATUS_ONE_OF: &str =
    "Exactly one of quote_id, payment_attempt_id, checkout_session_id, receipt_id.";
const BUDGET: DocumentedError = DocumentedError {
    code: "BUDGET_REQUIRES_CONFIRMATION",
    server: false,
    when: "the operation has no machine-readable price and accept_unknown_cost was not set; \
           error.recovery.required_flag is --accept-unknown-cost",
};

/// Every endpoint of the hosted API list in llms.txt, plus the Stripe
/// Checkout handoff redirect its URLs point at.
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: "POST",
        path: "/v1/agent-signups",
        operation_id: "createAgentSignup",
        summary: "Create or rotate a restricted unclaimed agent token; the token is returned once as data.token.",
        tag: "identity",
        command: "signup",
        auth: false,
        params: &[],
        body: Some(Body::Fields {
            fields: &[
                field(
                    "human_email",
                    Kind::String,
                    true,
                    "The accountable contact (compatibility field; the CLI's --agent-contact).",
                )
                .rule(Rule::Email),
                field("agent_name", Kind::String, false, "The CLI's --agent-name."),
                field("runtime", Kind::String, false, "The CLI's --runtime."),
            ],
            one_of: &[],
        }),
        response: Response::Data("agent-signup"),
        errors: &[],
    },
    Endpoint {
        method: "GET",
        path: "/v1/whoami",
        operation_id: "getWhoami",
        summary: "Durable hosted identity for the bearer token.",
        tag: "identity",
        command: "whoami",
        auth: true,
        params: &[],
        body: None,
        response: Response::Data("whoami"),
        errors: &[],
    },
    Endpoint {
        method: "GET",
        path: "/v1/quota",
        operation_id: "getQuota",
        summary: "Durable hosted quota for the bearer token.",
        tag: "identity",
        command: "usage quota",
        auth: true,
        params: &[],
        body: None,
        response: Response::Data("quota"),
        errors: &[],
    },
    Endpoint {
        method: "GET",
        path: "/v1/payment-methods",
        operation_id: "listPaymentMethods",
        summary: "The public payment rail catalog.",
        tag: "credits",
        command: "credits methods",
        auth: false,
        params: &[],
        body: None,
        response: Response::Data("payment-methods"),
        errors: &[],
    },
    Endpoint {
        method: "GET",
        path: "/v1/credit-packs",
        operation_id: "listCreditPacks",
        summary: "The public credit pack catalog.",
        tag: "credits",
        command: "credits packs list",
        auth: false,
        params: &[],
        body: None,
        response: Response::Data("credit-packs"),
        errors: &[],
    },
    Endpoint {
        method: "POST",
        path: "/v1/credit-quotes",
        operation_id: "createCreditQuote",
        summary: "Quote credits on the fake/test or stripe_checkout rail; grants nothing.",
        tag: "credits",
        command: "credits quote",
        auth: true,
        params: &[],
        body: Some(Body::Fields {
            fields: &[
                // cli.md: custom_quotes min_credits 1, max_credits 5000.
                field(
                    "credits",
                    Kind::Integer,
                    false,
                    "Exact credits (one credit is $0.01), from 1 to 5000.",
                )
                .rule(Rule::Range {
                    min: 1,
                    max: Some(5000),
                }),
                field(
                    "pack_id",
                    Kind::String,
                    false,
                    "A pack from GET /v1/credit-packs.",
                ),
                field(
                    "payment_method",
                    Kind::Schema("common.payment_method"),
                    false,
                    "Defaults to fake.",
                ),
                field(
                    "idempotency_key",
                    Kind::String,
                    false,
                    "Scoped to the agent identity and the exact quote terms.",
                ),
            ],
            one_of: &["credits", "pack_id"],
        }),
        response: Response::Data("credit-quote"),
        errors: &[DocumentedError {
            code: "CREDIT_QUOTE_CONFLICT",
            server: false,
            when: "the idempotency key was already used for other quote terms; \
                   error.recovery.suggested_command carries a fresh key",
        }],
    },
    Endpoint {
        method: "POST",
        path: "/v1/credit-purchases/stripe-checkout-sessions",
        operation_id: "createStripeCheckoutSession",
        summary: "Stripe Checkout handoff for a stripe_checkout quote; grants nothing until verified webhook fulfillment.",
        tag: "credits",
        command: "credits buy",
        auth: true,
        params: &[],
        body: Some(Body::Fields {
            fields: &[
                field("quote_id", Kind::Schema("common.quote_id"), true, ""),
                field("idempotency_key", Kind::String, true, ""),
            ],
            one_of: &[],
        }),
        response: Response::Data("stripe-checkout-session"),
        errors: &[],
    },
    Endpoint {
        method: "GET",
        path: "/v1/credit-purchases/status",
        operation_id: "getCreditPurchaseStatus",
        summary: "Durable payment state by exactly one reference.",
        tag: "credits",
        command: "credits status",
        auth: true,
        params: &[
            query("quote_id", Kind::Schema("common.quote_id"), STATUS_ONE_OF),
            query(
                "payment_attempt_id",
                Kind::Schema("common.payment_attempt_id"),
                STATUS_ONE_OF,
            ),
            query(
                "checkout_session_id",
                Kind::Schema("common.checkout_session_id"),
                STATUS_ONE_OF,
            ),
            query(
                "receipt_id",
                Kind::Schema("common.receipt_id"),
                STATUS_ONE_OF,
            ),
        ],
        body: None,
        response: Response::Data("credit-purchase-status"),
        errors: &[],
    },
    Endpoint {
        method: "POST",
        path: "/v1/credit-purchases",
        operation_id: "createFakePurchase",
        summary: "Confirm a fake/test quote: bounded payment-backed credits, no live money.",
        tag: "credits",
        command: "credits fake-purchase",
        auth: true,
        params: &[],
        body: Some(Body::Fields {
            fields: &[
                field("quote_id", Kind::Schema("common.quote_id"), true, ""),
                field("idempotency_key", Kind::String, true, ""),
            ],
            one_of: &[],
        }),
        response: Response::Data("fake-purchase"),
        errors: &[],
    },
    Endpoint {
        method: "GET",
        path: "/pay/{payment_attempt_id}",
        operation_id: "followCheckoutHandoff",
        summary: "The short checkout_handoff_url: redirects to the full Stripe Checkout URL.",
        tag: "credits",
        command: "pay",
        auth: false,
        params: &[path_param(
            "payment_attempt_id",
            Kind::Schema("common.payment_attempt_id"),
            "From checkout_handoff_url.",
        )],
        body: None,
        response: Response::Redirect,
        errors: &[],
    },
    Endpoint {
        method: "GET",
        path: "/v1/models",
        operation_id: "listModels",
        summary: "The public model registry.",
        tag: "catalog",
        command: "models list",
        auth: false,
        params: &[],
        body: None,
        response: Response::Data("models"),
        errors: &[],
    },
    Endpoint {
        method: "GET",
        path: "/v1/models/{model_id}",
        operation_id: "getModel",
        summary: "One model's capability-preserving schema.",
        tag: "catalog",
        command: "models show",
        auth: false,
        params: &[path_param(
            "model_id",
            Kind::Schema("model.model_id"),
            "A namespaced model id.",
        )],
        body: None,
        response: Response::Data("model"),
        errors: &[],
    },
    Endpoint {
        method: "GET",
        path: "/v1/capabilities",
        operation_id: "listCapabilities",
        summary: "The hosted capability catalog.",
        tag: "catalog",
        command: "capabilities list",
        auth: false,
        params: &[],
        body: None,
        response: Response::Data("capabilities"),
        errors: &[],
    },
    Endpoint {
        method: "POST",
        path: "/v1/create",
        operation_id: "createImage",
        summary: "Create bounded free-preview images, or plan them with dry_run (nothing consumed).",
        tag: "creative",
        command: "create",
        auth: true,
        params: &[],
        body: Some(Body::Schema("create-request")),
        response: Response::Data("create"),
        errors: &[
            BUDGET,
            DocumentedError {
                code: "ARTIFACT_STORAGE_WRITE_FAILED",
                server: true,
                when: "the provider succeeded but artifact storage failed; retryable is false \
                       (CLI exit 9): do not retry the whole create",
            },
        ],
    },
    Endpoint {
        method: "POST",
        path: "/v1/upload",
        operation_id: "uploadImage",
        summary: "Client-normalized raster bytes become an owned input asset.",
        tag: "creative",
        command: "upload",
        auth: true,
        params: &[],
        body: Some(Body::Schema("upload-request")),
        response: Response::Data("upload"),
        errors: &[DocumentedError {
            code: "INPUT_POLICY_DENIED",
            server: false,
            when: "the input is not a supported preview type (PNG, JPEG, WebP, GIF, AVIF); CLI exit 6",
        }],
    },
    Endpoint {
        method: "POST",
        path: "/v1/edit",
        operation_id: "editImage",
        summary: "Edit an owned input asset with one hosted edit model.",
        tag: "creative",
        command: "edit",
        auth: true,
        params: &[],
        body: Some(Body::Schema("edit-request")),
        response: Response::Data("edit"),
        errors: &[BUDGET],
    },
    Endpoint {
        method: "GET",
        path: "/v1/assets/{asset_id}",
        operation_id: "getAsset",
        summary: "Hosted metadata of an asset of the caller's organization.",
        tag: "creative",
        command: "assets show",
        auth: true,
        params: &[path_param("asset_id", Kind::Schema("asset.asset_id"), "")],
        body: None,
        response: Response::Data("asset"),
        errors: &[],
    },
    Endpoint {
        method: "GET",
        path: "/v1/jobs/{job_id}",
        operation_id: "getJob",
        summary: "A hosted job of the caller's organization.",
        tag: "creative",
        command: "jobs show",
        auth: true,
        params: &[path_param("job_id", Kind::Schema("asset.job_id"), "")],
        body: None,
        response: Response::Data("job"),
        errors: &[],
    },
    Endpoint {
        method: "GET",
        path: "/v1/activity",
        operation_id: "listActivity",
        summary: "Hosted activity ledger events, newest first.",
        tag: "activity",
        command: "activity list",
        auth: true,
        params: &[
            query("limit", Kind::Integer, "How many events, at least 1.")
                .rule(Rule::Range { min: 1, max: None }),
            query(
                "subject",
                Kind::String,
                "Only events related to this job, asset, feedback or trace.",
            ),
        ],
        body: None,
        response: Response::Data("activity"),
        errors: &[],
    },
    Endpoint {
        method: "GET",
        path: "/v1/activity/{reference}",
        operation_id: "getActivityReference",
        summary: "One event, or the events related to a job, asset, usage, feedback or trace reference.",
        tag: "activity",
        command: "activity show",
        auth: true,
        params: &[path_param(
            "reference",
            Kind::String,
            "An event id or a job, asset, usage, feedback or trace reference.",
        )],
        body: None,
        response: Response::Data("activity-reference"),
        errors: &[],
    },
    Endpoint {
        method: "POST",
        path: "/v1/cli",
        operation_id: "runCliCommand",
        summary: "Run a public CLI-compatible command over JSON argv; the answer is that command's envelope.",
        tag: "cli",
        command: "cli",
        auth: true,
        params: &[],
        body: Some(Body::Fields {
            fields: &[field(
                "argv",
                Kind::StringArray,
                true,
                "The command's arguments, e.g. [\"whoami\", \"--json\"].",
            )],
            one_of: &[],
        }),
        response: Response::Data("cli"),
        errors: &[],
    },
    Endpoint {
        method: "GET",
        path: "/healthz",
        operation_id: "getHealth",
        summary: "API readiness.",
        tag: "health",
        command: "healthz",
        auth: false,
        params: &[],
        body: None,
        response: Response::Data("healthz"),
        errors: &[],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_point_into_components() {
        assert_eq!(
            rewrite_ref("common.json#/$defs/actor", "whoami"),
            "#/components/schemas/common.actor"
        );
        assert_eq!(
            rewrite_ref("#/$defs/pack", "credit-packs"),
            "#/components/schemas/credit-packs.pack"
        );
        assert_eq!(
            rewrite_ref(
                "common.json#/$defs/actor_fields/properties/claim_state",
                "x"
            ),
            "#/components/schemas/common.actor_fields/properties/claim_state"
        );
        assert_eq!(
            rewrite_ref("asset.json", "job"),
            "#/components/schemas/asset"
        );
    }

    #[test]
    fn boolean_subschemas_become_objects_with_the_same_meaning() {
        let schema = json!({
            "properties": { "a": false, "b": true },
            "additionalProperties": false,
            "allOf": [true],
            "items": false,
            "enum": [false]
        });
        assert_eq!(
            rewrite_refs(schema, "x"),
            json!({
                "properties": { "a": { "not": {} }, "b": {} },
                "additionalProperties": false,
                "allOf": [{}],
                "items": { "not": {} },
                "enum": [false]
            })
        );
    }

    #[test]
    fn links_join_operations_that_exist_on_fields_they_take() {
        let contract = Contract::embedded(crate::cli::DEFAULT_CONTRACT).expect("contract loads");
        let find = |id: &str| ENDPOINTS.iter().find(|e| e.operation_id == id);
        let mut seen = std::collections::BTreeSet::new();
        for link in LINKS {
            assert!(seen.insert((link.from, link.to)), "{link:?} twice");
            let from = find(link.from).unwrap_or_else(|| panic!("no operation {}", link.from));
            let to = find(link.to).unwrap_or_else(|| panic!("no operation {}", link.to));
            assert!(
                matches!(from.response, Response::Data(_)),
                "{} has no data",
                link.from
            );
            for (name, value) in link.values {
                assert!(
                    value.starts_with("/data/") || !value.starts_with('/'),
                    "{link:?}: {value}"
                );
                let takes = to.params.iter().any(|p| p.name == *name)
                    || match &to.body {
                        Some(Body::Fields { fields, .. }) => fields.iter().any(|f| f.name == *name),
                        Some(Body::Schema(schema)) => contract
                            .raw(schema)
                            .is_some_and(|s| s["properties"].get(*name).is_some()),
                        None => false,
                    };
                assert!(takes, "{} takes no `{name}`", link.to);
            }
        }
    }

    #[test]
    fn the_table_has_the_documented_endpoints_once() {
        let mut seen = std::collections::BTreeSet::new();
        for endpoint in ENDPOINTS {
            assert!(
                seen.insert((endpoint.method, endpoint.path)),
                "{} {} twice",
                endpoint.method,
                endpoint.path
            );
        }
        // 21 from llms.txt plus the handoff redirect.
        assert_eq!(ENDPOINTS.len(), 22);
    }
}
