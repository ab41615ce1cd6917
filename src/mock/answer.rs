//! The mock's answers and request reading as data: `answers.json` of a
//! contract version (inherited through `extends` like its schemas). A
//! handler computes the mock's own values, puts them in a [`Context`] under
//! names of the mock's vocabulary ([`NAMES`]) and renders its operation's
//! template; the version's shaper (`Shape::fill`, `Profile::shape`) runs
//! after. Which request field gives which mock value is data too
//! (`requests`), so a release that renames a field needs no code.
//!
//! `answers.json`:
//! - `operations`: operation id → the template of its answer's `data`;
//! - `fragments`: name → a template the code renders into a value of a
//!   larger answer (one item of a list, one of two shapes);
//! - `links`: ledger event type → the template of its `links`;
//! - `requests`: operation id → mock name → where the request carries it:
//!   `/field` (a top-level body field) or `?name` (a query parameter);
//!   `<operation id>.<array field>` maps the fields of each item of that
//!   array (`createImage.references`: `/asset_id` is the item's field).
//!
//! Template values:
//! - a string that is exactly `{{name}}` becomes the value supplied under
//!   `name`, of any JSON type; `{{a.b}}` where `a` is supplied as an object
//!   walks into it (`{{rail.seed.live_money}}`);
//! - `{{name}}` inside a longer string is interpolated (strings as they
//!   are, other values as JSON text);
//! - an object whose only key is `{{#if name}}` is its value when `name` is
//!   supplied and not null, `null` when it is null;
//! - a field (or array item) whose value is not supplied is left out, so
//!   one template serves several states.
//!
//! Templates are compiled and checked once per loaded contract: a name
//! outside [`NAMES`], a template or request name the code does not use, or
//! one it needs that is missing, is an error naming the file and pointer.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::Error;

/// The answers every shipped contract inherits (schemas/0.1.8/answers.json).
const BUILT_IN: &str = include_str!("../../schemas/0.1.8/answers.json");
const BUILT_IN_PATH: &str = "schemas/0.1.8/answers.json";

/// The mock's vocabulary: every name a handler supplies, and what it
/// means. A name ending in `.*` is an object whose fields a template may
/// walk into (the seed's own data).
pub(crate) const NAMES: &[(&str, &str)] = &[
    (
        "agent.actor_id",
        "the caller's (or the new agent's) actor id",
    ),
    ("agent.organization_id", "its organization id"),
    ("signup.contact", "the accountable contact of a signup"),
    ("signup.name", "the agent name of a signup"),
    (
        "signup.runtime",
        "the runtime a signup names (null if none)",
    ),
    ("signup.token", "the token a signup issued"),
    (
        "signup.rotated",
        "whether the signup rotated an older token",
    ),
    ("claim.contact", "the contact a claim attaches"),
    ("claim.state", "attached or unchanged"),
    ("credits.balance", "payment-backed credits held"),
    (
        "credits.free_preview_remaining",
        "free-preview credits left",
    ),
    ("jobs.daily_limit", "jobs per day (the seed's)"),
    ("jobs.used_today", "jobs run so far"),
    ("jobs.remaining_today", "jobs left today"),
    ("quota", "the rendered getQuota answer"),
    ("seed.default_pack_id", "the seed's default pack"),
    (
        "seed.min_credits",
        "the least credits a custom quote may ask",
    ),
    (
        "seed.max_credits",
        "the most credits a custom quote may ask",
    ),
    ("packs", "the rendered `pack` fragments of the seed"),
    ("pack.id", "a pack's id"),
    ("pack.name", "a pack's name"),
    ("pack.credits", "a pack's credits (also its price in cents)"),
    ("methods", "the rendered `payment_method` fragments"),
    ("rail.id", "a payment rail's id (`payment_rails`)"),
    (
        "rail.seed.*",
        "the rail's seed catalog entry (mock.json `rails`)",
    ),
    ("rail.live_money", "whether the rail moves live money"),
    (
        "rail.default_pack_id",
        "the seed's default pack, on the checkout-session rail only",
    ),
    ("endpoint.*", "the path template of an operation, by its id"),
    ("idempotency_key", "the idempotency key a request gives"),
    ("quote.id", "a quote's id"),
    ("quote.credits", "its credits (also its price in cents)"),
    ("quote.rail", "the rail it accepts"),
    (
        "quote.idempotency_key",
        "the key it was made with (null if none)",
    ),
    ("quote.pack_id", "its pack's id (null if none)"),
    ("quote.pack", "its rendered `pack` fragment (null if none)"),
    ("quote.live_money", "whether its rail moves live money"),
    (
        "quote.x402",
        "its rendered `x402_challenge` (null off the rehearsal rail); supplied only where the version has that rail",
    ),
    ("challenge.id", "the x402 rehearsal challenge id"),
    ("challenge.quote_digest", "a digest of the quote"),
    (
        "challenge.idempotency_key_hash",
        "a digest of the quote's key",
    ),
    (
        "challenge.payment_required_hash",
        "a digest standing for the payment-required header",
    ),
    ("attempt.id", "a payment attempt's id"),
    (
        "attempt.handoff_url",
        "the short handoff URL; absent where the version serves none",
    ),
    (
        "attempt.checkout_url",
        "the full Stripe Checkout URL, fragment and all",
    ),
    ("session.id", "a Checkout session's id"),
    (
        "receipt.id",
        "a receipt's id (null in a status without one)",
    ),
    ("receipt.credit_event_id", "its credit event's id"),
    ("receipt.credits", "the credits it granted"),
    ("receipt.idempotency_key", "the purchase's idempotency key"),
    ("receipt.balance_after", "the balance after it"),
    (
        "purchase.x402",
        "the rendered `x402_purchase` fragment; absent off the rehearsal rail",
    ),
    (
        "purchase.idempotency_key_hash",
        "a digest of the purchase key",
    ),
    (
        "purchase.payment_signature_hash",
        "a digest standing for the payment signature",
    ),
    (
        "purchase.payment_response_hash",
        "a digest standing for the payment response",
    ),
    ("deposit.token_decimals", "the deposit token's decimals"),
    ("deposit.usd", "the deposit amount in dollars, `D.CC`"),
    ("deposit.atomic", "the amount in the token's smallest unit"),
    ("deposit.stripe_x402", "the rendered `stripe_x402` fragment"),
    ("status.state", "created, action_required or succeeded"),
    (
        "status.retry_after_seconds",
        "the poll interval; only while an attempt awaits action",
    ),
    (
        "status.payment_attempt",
        "the rendered attempt fragment (null if none)",
    ),
    ("page.limit", "how many activity events to return"),
    ("page.subject", "only events related to this reference"),
    ("events", "the rendered `event` fragments"),
    ("event.id", "an activity event's id"),
    ("event.type", "its type"),
    ("event.occurred_at", "when"),
    ("event.summary", "its one-line summary"),
    ("event.operation", "the operation family"),
    ("event.subject_type", "what it is about"),
    ("event.subject_id", "which one"),
    (
        "event.links",
        "its links, rendered from `links` when recorded",
    ),
    ("event.status", "its status"),
    ("event.trace_id", "the trace of the request that made it"),
    ("event.estimated_usd", "its cost; absent for payments"),
    ("reference.id", "the reference an activity lookup names"),
    ("reference.type", "what kind of reference it is"),
    ("envelope.command", "the command the envelope names"),
    ("envelope.trace_id", "the request's trace id"),
    ("envelope.data", "the operation's rendered, shaped data"),
    ("error.code", "an error's code"),
    ("error.message", "its message"),
    (
        "error.recovery",
        "supplied when the error carries a required flag or a suggested command",
    ),
    (
        "error.required_flag",
        "the CLI flag that would make the request valid",
    ),
    ("error.suggested_command", "a CLI command to run instead"),
    (
        "models",
        "the rendered `model_summary` fragments of the catalog",
    ),
    (
        "capabilities",
        "the rendered `capability` fragments of the catalog",
    ),
    ("model.id", "a catalog model's id"),
    ("model.name", "its display name"),
    ("model.provider", "its provider"),
    ("model.capability_id", "its capability id"),
    ("model.operation", "create or edit"),
    ("model.max_outputs", "the most outputs one request may ask"),
    (
        "model.pricing_confidence",
        "known, request_aware or unknown",
    ),
    ("model.mask", "whether it takes a mask"),
    ("model.reference_roles", "the reference roles it takes"),
    ("model.latency_class", "its latency class"),
    ("model.input_types", "the input MIME types it takes"),
    (
        "model.parameter_schema",
        "the rendered `parameter_schema` fragment",
    ),
    (
        "model.parameter_properties",
        "parameter name -> its rendered `integer_parameter` or `choice_parameter`",
    ),
    ("model.defaults", "parameter name -> its default"),
    (
        "model.usd_per_image",
        "its provider cost per image (null unless known)",
    ),
    (
        "model.credits_per_image",
        "its credits per image (null unless known)",
    ),
    (
        "model.controls",
        "the request fields a create or edit with it takes",
    ),
    ("parameter.choices", "the values a choice parameter allows"),
    ("cost", "the rendered `cost` fragment of a job"),
    (
        "cost.usd",
        "the provider cost in dollars (null until known)",
    ),
    ("cost.credits", "the credits it is (null until known)"),
    (
        "cost.revenue_usd",
        "the revenue those credits are (null until known)",
    ),
    ("cost.confidence", "known, unknown or usage_priced"),
    (
        "plan.output_count",
        "how many images a create or edit makes",
    ),
    ("plan.dry_run", "whether it only plans"),
    ("plan.intent", "its intent"),
    ("plan.aspect_ratio", "its aspect ratio"),
    (
        "plan.model_parameters",
        "the parameters it runs with, defaults applied",
    ),
    ("plan.request", "the rendered `create_request` fragment"),
    (
        "selection.policy",
        "the hosted default's policy (the seed's)",
    ),
    (
        "selection.reason",
        "why the hosted default chose the model; only when it did",
    ),
    (
        "selection.parameter_keys",
        "the parameter names it runs with",
    ),
    (
        "selection.defaults_applied",
        "`name=value` of each default applied",
    ),
    (
        "selection.parameter_source",
        "request, or default_policy when defaults applied",
    ),
    (
        "selection.resolution_class",
        "the chosen resolution class (null if none)",
    ),
    ("selection.width", "the expected output width"),
    ("selection.height", "the expected output height"),
    ("selection.min_short_edge", "the expected short edge"),
    ("consumed.credits", "the credits a create or edit debited"),
    ("job.id", "a job's id (null in a dry run)"),
    ("job.operation", "create, edit or upload"),
    ("job.trace_id", "the trace of the request that ran it"),
    ("job.created_at", "when it started"),
    ("job.completed_at", "when it completed"),
    ("job.capability_id", "the capability it ran"),
    ("job.cost", "its rendered `cost`"),
    (
        "job.input_asset_id",
        "the asset an edit took; absent otherwise",
    ),
    ("job.asset_ids", "the ids of the assets it made"),
    ("assets", "the rendered `output_asset` fragments of a job"),
    ("asset.id", "an asset's id"),
    ("asset.job_id", "the job that made it"),
    ("asset.kind", "generated or uploaded"),
    ("asset.url", "where it is served"),
    ("asset.mime_type", "its MIME type"),
    ("asset.content_length", "its size in bytes"),
    ("asset.width", "its width (null if unknown)"),
    ("asset.height", "its height (null if unknown)"),
    ("input.id", "an edit's input asset id"),
    ("input.url", "its URL"),
    ("input.mime_type", "its MIME type"),
    ("input.width", "its width (null if unknown)"),
    ("input.height", "its height (null if unknown)"),
    ("usage.id", "the usage event a job's debit recorded"),
    ("upload.source_kind", "local_path or remote_url"),
    ("upload.filename", "the uploaded file's bare name"),
    (
        "upload.remote_origin",
        "the origin of a remote upload (null if local)",
    ),
    ("upload.mime_type", "the MIME type an upload declares"),
    ("upload.content_length", "the byte length it declares"),
    (
        "upload.sha256",
        "its SHA-256 (as the mock computed it, in answers)",
    ),
    ("upload.bytes_base64", "its bytes"),
    ("create.prompt", "a create's or edit's prompt"),
    ("create.aspect_ratio", "its aspect ratio"),
    ("create.model_parameters", "its model parameters"),
    ("create.intent", "its intent"),
    ("create.output_count", "how many outputs it asks"),
    ("create.max_usd_per_image", "its per-image budget"),
    (
        "create.accept_unknown_cost",
        "whether it accepts an unknown cost",
    ),
    ("create.dry_run", "whether it only plans"),
    ("create.model", "the model it names"),
    ("create.references", "its reference assets"),
    ("edit.input_asset", "an edit's input asset id"),
    ("edit.mask_asset", "its mask asset id"),
    ("edit.max_usd", "its total budget"),
    ("item.asset_id", "a reference item's asset id"),
    ("item.role", "its role"),
    ("item.index", "its element index"),
];

/// Templates the code renders: operation ids and fragment names. A
/// version's `answers.json` must hold each of them.
pub(crate) const OPERATIONS: &[&str] = &[
    "getHealth",
    "getWhoami",
    "getQuota",
    "listPaymentMethods",
    "listCreditPacks",
    "createCreditQuote",
    "createStripeCheckoutSession",
    "getCreditPurchaseStatus",
    "createFakePurchase",
    "createAgentSignup",
    "createStripeX402Deposit",
    "createAgentClaim",
    "listActivity",
    "getActivityReference",
    "listModels",
    "getModel",
    "listCapabilities",
    "createImage",
    "editImage",
    "uploadImage",
    "getAsset",
    "getJob",
];

pub(crate) const FRAGMENTS: &[&str] = &[
    "pack",
    "payment_method",
    "x402_challenge",
    "x402_purchase",
    "stripe_x402",
    "checkout_attempt",
    "deposit_attempt",
    "event",
    "success_envelope",
    "error_envelope",
    "create_dry_run",
    "create_request",
    "cost",
    "output_asset",
    "model_summary",
    "capability",
    "parameter_schema",
    "integer_parameter",
    "choice_parameter",
];

/// Ledger event types whose links the code records.
pub(crate) const LINKS: &[&str] = &[
    "payment.checkout_session.created",
    "payment.x402_deposit.created",
    "credits.payment_backed_granted",
    "usage.credit_consumed",
    "asset.created",
    "job.completed",
    "asset.uploaded",
];

/// Per operation, the request values the handler reads: every one must be
/// mapped; others may be (names of [`NAMES`]) where the handler compares
/// them (the rehearsal purchase's challenge fields).
pub(crate) const REQUESTS: &[(&str, &[&str])] = &[
    (
        "createAgentSignup",
        &["signup.contact", "signup.name", "signup.runtime"],
    ),
    ("createAgentClaim", &["claim.contact"]),
    (
        "createCreditQuote",
        &["quote.credits", "pack.id", "quote.rail", "idempotency_key"],
    ),
    (
        "createStripeCheckoutSession",
        &["quote.id", "idempotency_key"],
    ),
    (
        "createFakePurchase",
        &["quote.id", "idempotency_key", "quote.rail"],
    ),
    ("createStripeX402Deposit", &["quote.id", "idempotency_key"]),
    (
        "getCreditPurchaseStatus",
        &["quote.id", "attempt.id", "session.id", "receipt.id"],
    ),
    ("listActivity", &["page.limit", "page.subject"]),
    (
        "createImage",
        &[
            "create.prompt",
            "create.aspect_ratio",
            "create.model_parameters",
            "create.intent",
            "create.output_count",
            "create.max_usd_per_image",
            "create.accept_unknown_cost",
            "create.dry_run",
            "create.model",
            "create.references",
        ],
    ),
    (
        "editImage",
        &[
            "create.prompt",
            "create.aspect_ratio",
            "create.model_parameters",
            "create.intent",
            "create.output_count",
            "create.max_usd_per_image",
            "create.accept_unknown_cost",
            "create.model",
            "create.references",
            "edit.input_asset",
            "edit.mask_asset",
            "edit.max_usd",
        ],
    ),
    (
        "uploadImage",
        &[
            "upload.source_kind",
            "upload.filename",
            "upload.remote_origin",
            "upload.mime_type",
            "upload.content_length",
            "upload.sha256",
            "upload.bytes_base64",
        ],
    ),
    // The items of an array field: `<operation id>.<field>` maps each
    // item's own fields (`/name` is a field of the item).
    (
        "createImage.references",
        &["item.asset_id", "item.role", "item.index"],
    ),
    (
        "editImage.references",
        &["item.asset_id", "item.role", "item.index"],
    ),
];

/// Where a request carries a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Place {
    Body(String),
    Query(String),
}

impl Place {
    /// The field or parameter name, for messages and lookups.
    pub(crate) fn name(&self) -> &str {
        match self {
            Place::Body(name) | Place::Query(name) => name,
        }
    }
}

/// One operation's request map, in the file's order.
#[derive(Debug, Default)]
pub(crate) struct Reads {
    places: Vec<(String, Place)>,
}

impl Reads {
    /// The request field or parameter that carries mock value `name`. The
    /// load check makes every name the code reads present; the name itself
    /// stands in otherwise.
    pub(crate) fn field<'a>(&'a self, name: &'a str) -> &'a str {
        self.places
            .iter()
            .find(|(n, _)| n == name)
            .map_or(name, |(_, place)| place.name())
    }

    /// The mock name a query parameter stands for.
    pub(crate) fn query_name(&self, parameter: &str) -> Option<&str> {
        self.places.iter().find_map(|(n, place)| match place {
            Place::Query(p) if p == parameter => Some(n.as_str()),
            _ => None,
        })
    }

    /// Every mapped value with its place.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Place)> {
        self.places.iter().map(|(n, p)| (n.as_str(), p))
    }
}

/// A version's answers, compiled.
#[derive(Debug, Default)]
pub(crate) struct Answers {
    operations: HashMap<String, Node>,
    fragments: HashMap<String, Node>,
    links: HashMap<String, Node>,
    requests: HashMap<String, Reads>,
}

static NO_READS: std::sync::LazyLock<Reads> = std::sync::LazyLock::new(Reads::default);

impl Answers {
    /// The built-in answers, compiled once per process: what an API model
    /// alone, or a folder without `answers.json`, is answered by.
    pub(crate) fn built_in() -> crate::Result<std::sync::Arc<Answers>> {
        static COMPILED: std::sync::OnceLock<std::sync::Arc<Answers>> = std::sync::OnceLock::new();
        if let Some(answers) = COMPILED.get() {
            return Ok(std::sync::Arc::clone(answers));
        }
        let path = Path::new(BUILT_IN_PATH);
        let answers =
            std::sync::Arc::new(Answers::parse(path, &Error::parse_json(path, BUILT_IN)?)?);
        Ok(std::sync::Arc::clone(COMPILED.get_or_init(|| answers)))
    }

    /// Compiles and checks `doc`, read from `path`.
    pub(crate) fn parse(path: &Path, doc: &Value) -> crate::Result<Answers> {
        let err = |pointer: String, message: String| Error::Schema {
            path: PathBuf::from(path),
            pointer,
            message,
        };
        let Some(top) = doc.as_object() else {
            return Err(err(String::new(), "answers must be a JSON object".into()));
        };
        for key in top.keys() {
            if !["$comment", "operations", "fragments", "links", "requests"].contains(&key.as_str())
            {
                return Err(err(
                    format!("/{key}"),
                    format!(
                        "unknown key `{key}` (expected operations, fragments, links, requests)"
                    ),
                ));
            }
        }
        let mut answers = Answers::default();
        for (section, known, out) in [
            ("operations", OPERATIONS, &mut answers.operations),
            ("fragments", FRAGMENTS, &mut answers.fragments),
            ("links", LINKS, &mut answers.links),
        ] {
            let templates = section_of(top, section, &err)?;
            for (name, template) in templates {
                let at = format!("/{section}/{}", crate::hash::pointer_key(name));
                if !known.contains(&name.as_str()) {
                    return Err(err(
                        at,
                        format!("the mock renders no {section} template `{name}`"),
                    ));
                }
                out.insert(
                    name.clone(),
                    compile(template, &at).map_err(|(p, m)| err(p, m))?,
                );
            }
            if let Some(missing) = known.iter().find(|n| !out.contains_key(**n)) {
                return Err(err(
                    format!("/{section}"),
                    format!("no template for `{missing}`, which the mock renders"),
                ));
            }
        }
        for (operation, reads) in section_of(top, "requests", &err)? {
            let at = format!("/requests/{}", crate::hash::pointer_key(operation));
            let Some((_, needed)) = REQUESTS.iter().find(|(op, _)| op == operation) else {
                return Err(err(
                    at,
                    format!("the mock reads no request values of `{operation}`"),
                ));
            };
            let Some(reads) = reads.as_object() else {
                return Err(err(at, "expected an object of mock name → place".into()));
            };
            let mut places = Vec::new();
            for (name, place) in reads {
                let here = format!("{at}/{}", crate::hash::pointer_key(name));
                if !known_name(name) {
                    return Err(err(here, unknown_name(name)));
                }
                let place = match place.as_str() {
                    Some(p) if p.len() > 1 && p.starts_with('/') && !p[1..].contains('/') => {
                        Place::Body(p[1..].to_string())
                    }
                    Some(p) if p.len() > 1 && p.starts_with('?') => {
                        Place::Query(p[1..].to_string())
                    }
                    _ => {
                        return Err(err(
                            here,
                            format!(
                                "expected `/field` (a top-level body field) or `?name` (a query parameter), got {place}"
                            ),
                        ));
                    }
                };
                places.push((name.clone(), place));
            }
            if let Some(missing) = needed.iter().find(|n| !places.iter().any(|(p, _)| p == *n)) {
                return Err(err(
                    at,
                    format!("no place for `{missing}`, which the mock reads"),
                ));
            }
            answers.requests.insert(operation.clone(), Reads { places });
        }
        if let Some((missing, _)) = REQUESTS
            .iter()
            .find(|(op, _)| !answers.requests.contains_key(*op))
        {
            return Err(err(
                "/requests".into(),
                format!("no request map for `{missing}`, whose request the mock reads"),
            ));
        }
        Ok(answers)
    }

    /// The `data` of `operation`'s answer.
    pub(crate) fn operation(&self, operation: &str, context: &Context) -> Value {
        render_or_null(self.operations.get(operation), context)
    }

    pub(crate) fn fragment(&self, name: &str, context: &Context) -> Value {
        render_or_null(self.fragments.get(name), context)
    }

    /// The `links` of a ledger event of `kind`.
    pub(crate) fn links(&self, kind: &str, context: &Context) -> Value {
        render_or_null(self.links.get(kind), context)
    }

    /// Where `operation`'s request carries the values the mock reads.
    pub(crate) fn reads(&self, operation: &str) -> &Reads {
        self.requests.get(operation).unwrap_or(&NO_READS)
    }
}

fn section_of<'d>(
    top: &'d Map<String, Value>,
    section: &str,
    err: &impl Fn(String, String) -> Error,
) -> crate::Result<&'d Map<String, Value>> {
    static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
    match top.get(section) {
        None => Ok(&EMPTY),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(err(format!("/{section}"), "expected an object".into())),
    }
}

fn known_name(name: &str) -> bool {
    NAMES
        .iter()
        .any(|(known, _)| match known.strip_suffix(".*") {
            Some(prefix) => name
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.len() > 1 && rest.starts_with('.')),
            None => *known == name,
        })
}

fn unknown_name(name: &str) -> String {
    let names: Vec<String> = NAMES.iter().map(|(n, _)| n.to_string()).collect();
    let hint = crate::error::closest(name, &names)
        .map(|n| format!("; did you mean `{n}`?"))
        .unwrap_or_default();
    format!(
        "no handler supplies `{name}` (the mock's names are listed in src/mock/answer.rs){hint}"
    )
}

/// The values one answer is rendered from.
#[derive(Debug, Default)]
pub(crate) struct Context<'a> {
    values: Vec<(Cow<'static, str>, Held)>,
    /// Where `endpoint.<operation id>` is looked up.
    api: Option<&'a crate::contract::ApiModel>,
}

/// A supplied value: shared (copied wherever a template names it) or
/// given (moved into the first place that names it: a large value such as
/// the envelope's data is not copied).
#[derive(Debug)]
enum Held {
    Shared(Value),
    Given(std::cell::RefCell<Option<Value>>),
}

impl<'a> Context<'a> {
    pub(crate) fn new() -> Context<'a> {
        Context {
            values: Vec::with_capacity(16),
            api: None,
        }
    }

    /// Supplies `name` (replacing an earlier value).
    pub(crate) fn set(mut self, name: &'static str, value: impl Into<Value>) -> Self {
        self.put(name, value);
        self
    }

    pub(crate) fn put(&mut self, name: &'static str, value: impl Into<Value>) {
        self.hold(name, Held::Shared(value.into()));
    }

    /// Supplies `name` to be moved into the answer where a template first
    /// names it as a whole value (`"{{name}}"`); later uses find it gone.
    pub(crate) fn give(mut self, name: &'static str, value: Value) -> Self {
        self.hold(name, Held::Given(std::cell::RefCell::new(Some(value))));
        self
    }

    fn hold(&mut self, name: &'static str, held: Held) {
        match self.values.iter_mut().find(|(n, _)| n == name) {
            Some((_, slot)) => *slot = held,
            None => self.values.push((Cow::Borrowed(name), held)),
        }
    }

    /// What a `"{{name}}"` slot renders to: a given value moved out, a
    /// shared one copied.
    fn take(&self, name: &str) -> Option<Value> {
        match self.values.iter().find(|(n, _)| n == name) {
            Some((_, Held::Given(cell))) => cell.borrow_mut().take(),
            _ => self.get(name).map(Cow::into_owned),
        }
    }

    /// Whether `name` is supplied and null (`None`: not supplied).
    fn is_null(&self, name: &str) -> Option<bool> {
        match self.values.iter().find(|(n, _)| n == name) {
            Some((_, Held::Given(cell))) => cell.borrow().as_ref().map(Value::is_null),
            _ => self.get(name).map(|v| v.is_null()),
        }
    }

    /// Makes `endpoint.<operation id>` the model's path of that operation.
    pub(crate) fn with_endpoints(mut self, api: &'a crate::contract::ApiModel) -> Self {
        self.api = Some(api);
        self
    }

    /// The value supplied under `name`, or walked to inside one.
    pub(crate) fn get(&self, name: &str) -> Option<Cow<'_, Value>> {
        if let Some((_, held)) = self.values.iter().find(|(n, _)| n == name) {
            return match held {
                Held::Shared(value) => Some(Cow::Borrowed(value)),
                Held::Given(cell) => cell.borrow().clone().map(Cow::Owned),
            };
        }
        if let (Some(api), Some(operation)) = (self.api, name.strip_prefix("endpoint.")) {
            return Some(Cow::Owned(
                api.endpoint(operation)
                    .map_or(Value::Null, |e| Value::from(e.path.clone())),
            ));
        }
        // `rail.seed.live_money`: the longest supplied prefix, then its fields.
        let mut end = name.len();
        while let Some(dot) = name[..end].rfind('.') {
            end = dot;
            if let Some((_, Held::Shared(value))) =
                self.values.iter().find(|(n, _)| *n == name[..end])
            {
                return name[end + 1..]
                    .split('.')
                    .try_fold(value, |v, key| v.get(key))
                    .map(Cow::Borrowed);
            }
        }
        None
    }
}

/// A compiled template.
#[derive(Debug, Clone)]
enum Node {
    /// No names inside: sent as written.
    Literal(Value),
    /// `"{{name}}"`.
    Slot(Box<str>),
    /// A string with names inside.
    Text(Box<[Piece]>),
    /// `{"{{#if name}}": ...}`.
    If(Box<str>, Box<Node>),
    Object(Box<[(String, Node)]>),
    Array(Box<[Node]>),
}

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Name(Box<str>),
}

/// `(pointer, message)` of the first error.
type Compiled = Result<Node, (String, String)>;

fn compile(template: &Value, at: &str) -> Compiled {
    Ok(match template {
        Value::String(text) => compile_text(text, at)?,
        Value::Array(items) => {
            let nodes = items
                .iter()
                .enumerate()
                .map(|(i, item)| compile(item, &format!("{at}/{i}")))
                .collect::<Result<Vec<_>, _>>()?;
            if nodes.iter().all(|n| matches!(n, Node::Literal(_))) {
                Node::Literal(template.clone())
            } else {
                Node::Array(nodes.into())
            }
        }
        Value::Object(map) => {
            if let Some(name) = directive(map, at)? {
                let (key, body) = map
                    .iter()
                    .next()
                    .map_or(("", &Value::Null), |(k, v)| (k, v));
                let inner = compile(body, &format!("{at}/{}", crate::hash::pointer_key(key)))?;
                return Ok(Node::If(name.into(), Box::new(inner)));
            }
            let mut fields = Vec::with_capacity(map.len());
            for (key, value) in map {
                if key.contains("{{") {
                    return Err((
                        format!("{at}/{}", crate::hash::pointer_key(key)),
                        format!(
                            "`{key}`: names go in values, not keys (except `{{{{#if name}}}}` alone)"
                        ),
                    ));
                }
                let node = compile(value, &format!("{at}/{}", crate::hash::pointer_key(key)))?;
                fields.push((key.clone(), node));
            }
            if fields.iter().all(|(_, n)| matches!(n, Node::Literal(_))) {
                Node::Literal(template.clone())
            } else {
                Node::Object(fields.into())
            }
        }
        other => Node::Literal(other.clone()),
    })
}

/// The name of a `{"{{#if name}}": ...}` object.
fn directive(map: &Map<String, Value>, at: &str) -> Result<Option<String>, (String, String)> {
    let Some(key) = map.keys().find(|k| k.starts_with("{{#")) else {
        return Ok(None);
    };
    let here = format!("{at}/{}", crate::hash::pointer_key(key));
    let name = key
        .strip_prefix("{{#if ")
        .and_then(|k| k.strip_suffix("}}"))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            (
                here.clone(),
                format!("unknown directive `{key}` (the one there is: `{{{{#if name}}}}`)"),
            )
        })?;
    if map.len() != 1 {
        return Err((here, format!("`{key}` must be the object's only key")));
    }
    if !known_name(name) {
        return Err((here, unknown_name(name)));
    }
    Ok(Some(name.to_string()))
}

fn compile_text(text: &str, at: &str) -> Compiled {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open..].find("}}") else {
            return Err((at.to_string(), format!("`{{{{` without `}}}}` in {text:?}")));
        };
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_string()));
        }
        let name = rest[open + 2..open + close].trim();
        if !known_name(name) {
            return Err((at.to_string(), unknown_name(name)));
        }
        pieces.push(Piece::Name(name.into()));
        rest = &rest[open + close + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    Ok(match pieces.as_slice() {
        [] => Node::Literal(Value::from(text)),
        [Piece::Text(_)] => Node::Literal(Value::from(text)),
        [Piece::Name(name)] => Node::Slot(name.clone()),
        _ => Node::Text(pieces.into()),
    })
}

fn render_or_null(node: Option<&Node>, context: &Context) -> Value {
    node.and_then(|n| render(n, context)).unwrap_or(Value::Null)
}

/// `None`: left out (a name not supplied).
fn render(node: &Node, context: &Context) -> Option<Value> {
    match node {
        Node::Literal(value) => Some(value.clone()),
        Node::Slot(name) => context.take(name),
        Node::Text(pieces) => {
            let mut out = String::new();
            for piece in pieces.iter() {
                match piece {
                    Piece::Text(text) => out.push_str(text),
                    Piece::Name(name) => match context.get(name)?.as_ref() {
                        Value::String(s) => out.push_str(s),
                        other => {
                            let _ = write!(out, "{other}");
                        }
                    },
                }
            }
            Some(Value::String(out))
        }
        Node::If(name, inner) => match context.is_null(name)? {
            true => Some(Value::Null),
            false => render(inner, context),
        },
        Node::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            for (key, node) in fields.iter() {
                if let Some(value) = render(node, context) {
                    out.insert(key.clone(), value);
                }
            }
            Some(Value::Object(out))
        }
        Node::Array(items) => Some(Value::Array(
            items.iter().filter_map(|i| render(i, context)).collect(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(template: Value) -> Result<Node, (String, String)> {
        compile(&template, "/operations/x")
    }

    #[test]
    fn the_built_in_answers_compile() {
        let doc = Error::parse_json(Path::new(BUILT_IN_PATH), BUILT_IN).expect("JSON");
        let answers = Answers::parse(Path::new(BUILT_IN_PATH), &doc).expect("they compile");
        assert!(answers.operations.contains_key("createCreditQuote"));
    }

    #[test]
    fn slots_take_any_type_text_interpolates_and_absent_fields_are_dropped() {
        let node = one(json!({
            "id": "{{quote.id}}",
            "credits": "{{quote.credits}}",
            "pack": "{{quote.pack}}",
            "line": "buy {{quote.credits}} as {{quote.id}}",
            "gone": "{{attempt.id}}",
            "list": ["{{quote.id}}", "{{attempt.id}}", 1],
            "fixed": { "a": [1, 2] }
        }))
        .expect("compiles");
        let context = Context::new()
            .set("quote.id", "quote_1")
            .set("quote.credits", 5)
            .set("quote.pack", Value::Null);
        assert_eq!(
            render(&node, &context),
            Some(json!({
                "id": "quote_1", "credits": 5, "pack": null,
                "line": "buy 5 as quote_1", "list": ["quote_1", 1], "fixed": { "a": [1, 2] }
            }))
        );
    }

    #[test]
    fn if_renders_its_value_null_or_nothing() {
        let node = one(json!({ "p": { "{{#if purchase.x402}}": "x402" } })).expect("compiles");
        let render_with = |context: Context| render(&node, &context);
        assert_eq!(
            render_with(Context::new().set("purchase.x402", json!({}))),
            Some(json!({ "p": "x402" }))
        );
        assert_eq!(
            render_with(Context::new().set("purchase.x402", Value::Null)),
            Some(json!({ "p": null }))
        );
        assert_eq!(render_with(Context::new()), Some(json!({})));
    }

    #[test]
    fn a_given_value_is_moved_into_its_first_slot() {
        let node = one(json!({ "has": { "{{#if envelope.data}}": 1 }, "a": "{{envelope.data}}", "b": "{{envelope.data}}" }))
            .expect("compiles");
        let context = Context::new().give("envelope.data", json!({ "big": [1, 2, 3] }));
        assert_eq!(
            render(&node, &context),
            Some(json!({ "has": 1, "a": { "big": [1, 2, 3] } }))
        );
    }

    #[test]
    fn names_walk_into_supplied_objects() {
        let node = one(json!("{{rail.seed.x402.network}}")).expect("compiles");
        let context = Context::new().set("rail.seed", json!({ "x402": { "network": "base" } }));
        assert_eq!(render(&node, &context), Some(json!("base")));
        assert_eq!(render(&node, &Context::new()), None);
    }

    #[test]
    fn a_name_no_handler_supplies_is_an_error_naming_the_place() {
        let doc = json!({ "operations": { "getHealth": { "a": [{ "b": "x {{quote.idd}}" }] } } });
        let err = Answers::parse(Path::new("v/answers.json"), &doc)
            .expect_err("unknown name")
            .to_string();
        assert!(err.contains("no handler supplies `quote.idd`"), "{err}");
        assert!(err.contains("did you mean `quote.id`?"), "{err}");
        assert!(err.contains("v/answers.json"), "{err}");
        assert!(err.contains("at /operations/getHealth/a/0/b"), "{err}");
    }

    #[test]
    fn unknown_templates_missing_ones_and_bad_places_are_errors() {
        let mut doc: Value = serde_json::from_str(BUILT_IN).expect("JSON");
        let path = Path::new("a.json");
        let mut broken = doc.clone();
        broken["operations"]["getNothing"] = json!({});
        let err = Answers::parse(path, &broken)
            .expect_err("unknown")
            .to_string();
        assert!(err.contains("at /operations/getNothing"), "{err}");
        let mut broken = doc.clone();
        broken["fragments"]
            .as_object_mut()
            .map(|f| f.remove("pack"));
        let err = Answers::parse(path, &broken)
            .expect_err("missing")
            .to_string();
        assert!(err.contains("no template for `pack`"), "{err}");
        doc["requests"]["createAgentClaim"]["claim.contact"] = json!("contact");
        let err = Answers::parse(path, &doc)
            .expect_err("bad place")
            .to_string();
        assert!(
            err.contains("at /requests/createAgentClaim/claim.contact"),
            "{err}"
        );
    }

    #[test]
    fn endpoints_are_read_from_the_model() {
        let api = crate::contract::ApiModel::load(crate::contract::Source::Embedded, "0.1.9")
            .expect("model");
        let node = one(json!("{{endpoint.createCreditQuote}}")).expect("compiles");
        let context = Context::new().with_endpoints(&api);
        assert_eq!(
            render(&node, &context),
            Some(json!(
                api.endpoint("createCreditQuote").map(|e| e.path.clone())
            ))
        );
    }
}
