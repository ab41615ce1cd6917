//! The creative surface: create (and its dry run), upload, edit, and the
//! job and asset read-backs. Provider work is simulated; what the docs make
//! observable is real: budget guards, unknown-cost confirmation, the input
//! policy, owned assets, jobs and their ledger events. Request fields are
//! read, and answers written, through the version's `answers.json`.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::answer::{Answers, Context, Reads};
use super::call::{ApiError, Call, Handled, Outcome};
use super::catalog::{self, Catalog, Model, Operation, Params};
use super::codec;
use super::handlers::{
    gone, json_object, kind, optional_str, reject_unknown, required_str, whole_number,
};
use super::ledger::{self, NewEvent};
use super::request::{check_schema_fields, item_fields};
use super::state::{Asset, Job, State};

/// A create prompt containing this marker fails as if the provider had
/// produced an image that storage could not keep: the documented
/// `ARTIFACT_STORAGE_WRITE_FAILED` case, which a live run cannot provoke.
pub const ARTIFACT_FAILURE_MARKER: &str = "conform:fail-artifact-storage";

/// Upload MIME types the preview supports; others are refused by policy.
pub(crate) const UPLOAD_MIME_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/gif",
    "image/avif",
];
/// Reference assets are narrower than uploads.
const REFERENCE_MIME_TYPES: &[&str] = &["image/png", "image/jpeg", "image/webp"];
const REFERENCE_MIN_EDGE: u32 = 300;
const MAX_REFERENCES: usize = 40;
const MAX_ELEMENTS: u64 = 10;

/// The operations whose bodies this module reads.
const CREATE: &str = "createImage";
const EDIT: &str = "editImage";
const UPLOAD: &str = "uploadImage";
/// The request maps of a create's or edit's `references[]` items.
const CREATE_REFERENCES: &str = "createImage.references";
const EDIT_REFERENCES: &str = "editImage.references";

const UPLOAD_CAPABILITY: &str = "is.image.upload.preview.v1";
const ACCEPT_UNKNOWN_COST: &str = "--accept-unknown-cost";

/// What a create or edit request asks for, checked and priced.
struct Plan<'c> {
    model: &'c Model,
    params: Params,
    /// Why the hosted default chose the model, when it did.
    selection_reason: Option<String>,
    intent: String,
    aspect_ratio: String,
    output_count: u64,
    /// Provider cost per image before running, when known.
    quoted_mills: Option<u64>,
}

impl Plan<'_> {
    fn quoted_total(&self) -> Option<u64> {
        self.quoted_mills.map(|m| m * self.output_count)
    }
}

/// The request fields create and edit share.
struct Common<'b> {
    prompt: &'b str,
    intent: String,
    aspect_ratio: String,
    output_count: u64,
    params: Map<String, Value>,
    max_per_image: Option<f64>,
    accept_unknown_cost: bool,
}

fn common<'b>(
    state: &State,
    operation_id: &str,
    reads: &Reads,
    body: &'b Map<String, Value>,
) -> Result<Common<'b>, ApiError> {
    let catalog = &state.version.seed.catalog;
    let field = |name| reads.field(name);
    if let Some(key) = body.keys().find(|k| catalog.provider_native(k)) {
        return Err(ApiError::invalid(format!(
            "field `{key}` is provider-native; send owned asset ids in `{}[]` instead",
            field("create.references")
        )));
    }
    check_schema_fields(&state.version, operation_id, body)?;
    let prompt = required_str(body, field("create.prompt"))?;
    let aspect_ratio = optional_str(body, field("create.aspect_ratio"))?.unwrap_or("1:1");
    ratio(field("create.aspect_ratio"), aspect_ratio)?;
    let params_field = field("create.model_parameters");
    let params = match body.get(params_field) {
        None => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "field `{params_field}` must be an object, got {}",
                kind(other)
            )));
        }
    };
    if let Some(key) = params.keys().find(|k| catalog.provider_native(k)) {
        return Err(ApiError::invalid(format!(
            "{params_field}.{key} is provider-native and never accepted"
        )));
    }
    Ok(Common {
        prompt,
        intent: optional_str(body, field("create.intent"))?
            .unwrap_or("explore")
            .to_string(),
        aspect_ratio: aspect_ratio.to_string(),
        output_count: optional_count(body, field("create.output_count"))?.unwrap_or(1),
        params,
        max_per_image: optional_usd(body, field("create.max_usd_per_image"))?,
        accept_unknown_cost: optional_bool(body, field("create.accept_unknown_cost"))?
            .unwrap_or(false),
    })
}

/// Picks and prices the model: the named one, or the hosted default.
fn plan<'c>(
    catalog: &'c Catalog,
    reads: &Reads,
    body: &Map<String, Value>,
    common: &Common,
    operation: Operation,
    defaults: &[String],
) -> Result<Plan<'c>, ApiError> {
    let (model, selection_reason) = match optional_str(body, reads.field("create.model"))? {
        Some(id) => (named_model(catalog, id, operation)?, None),
        None => default_model(catalog, reads, common, defaults)?,
    };
    let params = model
        .params(&common.params, reads.field("create.model_parameters"))
        .map_err(|message| ApiError::invalid(message).suggest(show_model(model)))?;
    if common.output_count > model.max_outputs {
        return Err(ApiError::invalid(format!(
            "{} {} exceeds max_outputs_per_request {} of model `{}`",
            reads.field("create.output_count"),
            common.output_count,
            model.max_outputs,
            model.id
        ))
        .suggest(show_model(model)));
    }
    let quoted_mills = model.quoted_mills(&params);
    if let (Some(mills), Some(limit)) = (quoted_mills, common.max_per_image)
        && over_budget(mills, limit)
    {
        return Err(budget_exceeded(reads, model, mills, limit));
    }
    Ok(Plan {
        model,
        params,
        selection_reason,
        intent: common.intent.clone(),
        aspect_ratio: common.aspect_ratio.clone(),
        output_count: common.output_count,
        quoted_mills,
    })
}

fn named_model<'c>(
    catalog: &'c Catalog,
    id: &str,
    operation: Operation,
) -> Result<&'c Model, ApiError> {
    let model = catalog.find(id).ok_or_else(|| {
        ApiError::invalid(format!("unknown model `{id}`"))
            .suggest("image-skill models list --json".to_string())
    })?;
    if model.operation != operation {
        return Err(ApiError::invalid(format!(
            "model `{id}` supports {}, not {}",
            model.operation.as_str(),
            operation.as_str()
        ))
        .suggest("image-skill models list --json".to_string()));
    }
    Ok(model)
}

/// Quality first: the first default whose quoted price fits the per-image
/// budget; the reason says when the budget pushed it down.
fn default_model<'c>(
    catalog: &'c Catalog,
    reads: &Reads,
    common: &Common,
    defaults: &[String],
) -> Result<(&'c Model, Option<String>), ApiError> {
    let params_field = reads.field("create.model_parameters");
    let mut cheapest: Option<(&'c Model, u64)> = None;
    for (rank, model) in defaults
        .iter()
        .filter_map(|id| catalog.find(id))
        .enumerate()
    {
        // Parameters meant for another model rule this one out.
        let Ok(params) = model.params(&common.params, params_field) else {
            continue;
        };
        let quoted = model.quoted_mills(&params);
        if let (Some(mills), Some(limit)) = (quoted, common.max_per_image)
            && over_budget(mills, limit)
        {
            if cheapest.is_none_or(|(_, m)| mills < m) {
                cheapest = Some((model, mills));
            }
            continue;
        }
        let reason = if rank == 0 {
            "quality-first hosted default: the strongest available model for the intent".to_string()
        } else {
            format!(
                "quality-first hosted default lowered to the strongest model within {}",
                reads.field("create.max_usd_per_image")
            )
        };
        return Ok((model, Some(reason)));
    }
    match (cheapest, common.max_per_image) {
        (Some((model, mills)), Some(limit)) => Err(budget_exceeded(reads, model, mills, limit)),
        _ => Err(ApiError::invalid(format!(
            "no hosted default model accepts these {params_field}; name a model"
        ))
        .suggest("image-skill models list --json".to_string())),
    }
}

fn over_budget(mills: u64, limit_usd: f64) -> bool {
    catalog::usd(mills) > limit_usd + f64::EPSILON
}

// The docs describe budget guards refusing work but name no code for a
// known price over the cap; BUDGET_EXCEEDED is conform's convention.
fn budget_exceeded(reads: &Reads, model: &Model, mills: u64, limit: f64) -> ApiError {
    ApiError::new(
        422,
        "BUDGET_EXCEEDED",
        format!(
            "model `{}` is estimated at ${:.3} per image, over {} {limit}",
            model.id,
            catalog::usd(mills),
            reads.field("create.max_usd_per_image")
        ),
    )
    .suggest(show_model(model))
}

/// The documented answer to running an unknown-cost operation without
/// accepting it: error.recovery.required_flag names the flag.
fn confirmation_required(model: &Model) -> ApiError {
    ApiError::new(
        400,
        "BUDGET_REQUIRES_CONFIRMATION",
        format!(
            "model `{}` has no machine-readable price before it runs; accept the unknown cost to proceed",
            model.id
        ),
    )
    .require_flag(ACCEPT_UNKNOWN_COST)
}

fn show_model(model: &Model) -> String {
    format!("image-skill models show {} --json", model.id)
}

/// `POST /v1/create`, and its zero-cost dry run.
pub(crate) fn create(state: &mut State, call: &Call) -> Handled {
    let version = Arc::clone(&state.version);
    let answers = &version.answers;
    let reads = answers.reads(CREATE);
    let body = json_object(call.req)?;
    let common = common(state, CREATE, reads, &body)?;
    let dry_run = optional_bool(&body, reads.field("create.dry_run"))?.unwrap_or(false);
    let catalog = &version.seed.catalog;
    let plan = plan(
        catalog,
        reads,
        &body,
        &common,
        Operation::Create,
        &catalog.default_create,
    )?;
    references(state, call, CREATE, CREATE_REFERENCES, &body, plan.model)?;
    if dry_run {
        // Planning only: the price is the live debit it would be, and
        // nothing is consumed.
        let confidence = if plan.quoted_mills.is_some() {
            "known"
        } else {
            "unknown"
        };
        let context = plan_context(state, answers, &plan, true)
            .set(
                "cost",
                catalog.cost_json(answers, plan.quoted_total(), confidence),
            )
            .set("consumed.credits", 0)
            .set(
                "credits.free_preview_remaining",
                free_preview_remaining(state),
            )
            .set("credits.balance", state.balance);
        return Ok(Outcome::Data(answers.fragment("create_dry_run", &context)));
    }
    if plan.quoted_mills.is_none() && !common.accept_unknown_cost {
        return Err(confirmation_required(plan.model));
    }
    if common.prompt.contains(ARTIFACT_FAILURE_MARKER) {
        return Err(ApiError::new(
            500,
            "ARTIFACT_STORAGE_WRITE_FAILED",
            "the provider finished but artifact storage could not write the output; do not retry the whole create",
        )
        .suggest(format!(
            "image-skill feedback create --title \"artifact storage write failed\" \
             --body \"create returned ARTIFACT_STORAGE_WRITE_FAILED\" --evidence trace:{} --json",
            call.trace_id
        )));
    }
    let context = execute(state, call, answers, &plan, None);
    Ok(Outcome::Data(answers.operation(CREATE, &context)))
}

/// `POST /v1/edit`: one owned input asset in, a new generated asset out.
pub(crate) fn edit(state: &mut State, call: &Call) -> Handled {
    let version = Arc::clone(&state.version);
    let answers = &version.answers;
    let reads = answers.reads(EDIT);
    let body = json_object(call.req)?;
    let common = common(state, EDIT, reads, &body)?;
    let input_id = required_str(&body, reads.field("edit.input_asset"))?;
    let input = owned_asset(state, call, input_id)?.clone();
    let catalog = &version.seed.catalog;
    let defaults = [catalog.default_edit.clone()];
    let plan = plan(catalog, reads, &body, &common, Operation::Edit, &defaults)?;
    if let Some(mask_id) = optional_str(&body, reads.field("edit.mask_asset"))? {
        if !plan.model.mask {
            return Err(ApiError::invalid(format!(
                "model `{}` has no mask support",
                plan.model.id
            ))
            .suggest(show_model(plan.model)));
        }
        owned_asset(state, call, mask_id)?;
    }
    references(state, call, EDIT, EDIT_REFERENCES, &body, plan.model)?;
    let max_usd = reads.field("edit.max_usd");
    if let (Some(total), Some(limit)) = (plan.quoted_total(), optional_usd(&body, max_usd)?)
        && over_budget(total, limit)
    {
        return Err(ApiError::new(
            422,
            "BUDGET_EXCEEDED",
            format!(
                "edit is estimated at ${:.3}, over {max_usd} {limit}",
                catalog::usd(total)
            ),
        ));
    }
    if plan.quoted_mills.is_none() && !common.accept_unknown_cost {
        return Err(confirmation_required(plan.model));
    }
    let context = execute(state, call, answers, &plan, Some(&input))
        .set("input.id", input.id.as_str())
        .set("input.url", input.url.as_str())
        .set("input.mime_type", input.mime_type.as_str())
        .set("input.width", input.width)
        .set("input.height", input.height);
    Ok(Outcome::Data(answers.operation(EDIT, &context)))
}

/// The values of a planned create or edit: its model, and the request as
/// the plan understood it (`plan.request`, the `create_request` fragment).
fn plan_context(state: &State, answers: &Answers, plan: &Plan, dry_run: bool) -> Context<'static> {
    let model = plan.model;
    let mut context = Context::new()
        .set("model.id", model.id.as_str())
        .set("model.capability_id", model.capability_id.as_str())
        .set("plan.output_count", plan.output_count)
        .set("plan.dry_run", dry_run)
        .set("plan.intent", plan.intent.as_str())
        .set("plan.aspect_ratio", plan.aspect_ratio.as_str())
        .set("plan.model_parameters", plan.params.values.clone());
    if let Some(reason) = &plan.selection_reason {
        let (width, height) = dimensions(&plan.aspect_ratio, model.short_edge(&plan.params));
        let keys: Vec<String> = plan.params.values.keys().cloned().collect();
        let defaults = &plan.params.defaults_applied;
        context = context
            .set(
                "selection.policy",
                state.version.seed.catalog.create_policy.as_str(),
            )
            .set("selection.reason", reason.as_str())
            .set("selection.parameter_keys", keys)
            .set("selection.defaults_applied", defaults.clone())
            .set(
                "selection.parameter_source",
                if defaults.is_empty() {
                    "request"
                } else {
                    "default_policy"
                },
            )
            .set(
                "selection.resolution_class",
                model.resolution_class(&plan.params),
            )
            .set("selection.width", width)
            .set("selection.height", height)
            .set("selection.min_short_edge", width.min(height));
    }
    let request = answers.fragment("create_request", &context);
    context.set("plan.request", request)
}

/// Runs a planned create or edit: a completed job, its assets, the debit
/// and the ledger events, all recorded for the caller's organization.
/// Returns the values its answer is rendered from.
fn execute(
    state: &mut State,
    call: &Call,
    answers: &Answers,
    plan: &Plan,
    input: Option<&Asset>,
) -> Context<'static> {
    let (mills, confidence) = match plan.quoted_total() {
        Some(total) => (total, "known"),
        // Usage-priced once the provider reports what it metered.
        None => (
            plan.model.metered_mills(&plan.params) * plan.output_count,
            "usage_priced",
        ),
    };
    let version = Arc::clone(&state.version);
    let catalog = &version.seed.catalog;
    let credits = catalog.credits_for(mills);
    let cost = catalog.cost_json(answers, Some(mills), confidence);
    let job_id = state.next_job_id();
    let created_at = state.now();
    let (width, height) = dimensions(&plan.aspect_ratio, plan.model.short_edge(&plan.params));
    let mut assets = Vec::new();
    for _ in 0..plan.output_count {
        let id = state.next_asset_id();
        let asset = Asset {
            url: state.media_url(&id, "image/png"),
            content_length: state.generated_length(&id),
            id,
            job_id: job_id.clone(),
            organization_id: call.organization().to_string(),
            kind: "generated",
            mime_type: "image/png".to_string(),
            width: Some(width),
            height: Some(height),
        };
        assets.push(asset);
    }
    let debited = debit(state, credits);
    state.jobs_run += 1;
    let usage_event_id = state.next_usage_event_id();
    let asset_ids: Vec<String> = assets.iter().map(|a| a.id.clone()).collect();
    let operation = plan.model.operation.as_str();
    let usd = catalog::usd(mills);
    let links = Context::new()
        .set("job.id", job_id.as_str())
        .set("usage.id", usage_event_id.as_str());
    ledger::record(
        state,
        call,
        NewEvent {
            kind: "usage.credit_consumed",
            subject: ("usage", usage_event_id.clone()),
            operation: "usage",
            summary: format!("{credits} credits consumed by {operation}"),
            status: "recorded",
            links: answers.links("usage.credit_consumed", &links),
            estimated_usd: Some(usd),
        },
    );
    let mut links = links;
    for asset in &assets {
        links.put("asset.id", asset.id.as_str());
        ledger::record(
            state,
            call,
            NewEvent {
                kind: "asset.created",
                subject: ("asset", asset.id.clone()),
                operation,
                summary: format!("{} output asset stored", capitalized(operation)),
                status: "stored",
                links: answers.links("asset.created", &links),
                estimated_usd: None,
            },
        );
    }
    links.put("job.asset_ids", asset_ids.clone());
    ledger::record(
        state,
        call,
        NewEvent {
            kind: "job.completed",
            subject: ("job", job_id.clone()),
            operation,
            summary: format!("{} job completed", capitalized(operation)),
            status: "completed",
            links: answers.links("job.completed", &links),
            estimated_usd: Some(usd),
        },
    );
    let completed_at = state.now();
    let assets_json: Vec<Value> = assets.iter().map(|a| output_json(answers, a)).collect();
    state.jobs.insert(
        job_id.clone(),
        Job {
            id: job_id.clone(),
            organization_id: call.organization().to_string(),
            operation,
            capability_id: plan.model.capability_id.to_string(),
            trace_id: call.trace_id.clone(),
            created_at,
            completed_at,
            cost: cost.clone(),
            asset_ids,
            input_asset_id: input.map(|a| a.id.clone()),
        },
    );
    for asset in assets {
        state.assets.insert(asset.id.clone(), asset);
    }
    plan_context(state, answers, plan, false)
        .set("job.id", job_id)
        .set("assets", assets_json)
        .set("cost", cost)
        .set("consumed.credits", debited)
        .set(
            "credits.free_preview_remaining",
            free_preview_remaining(state),
        )
        .set("credits.balance", state.balance)
}

/// Takes `credits` from the free preview first, then from paid credits;
/// never below zero (the mock enforces no quota; see `quota_data`).
fn debit(state: &mut State, credits: u64) -> u64 {
    let free = free_preview_remaining(state);
    let from_free = credits.min(free);
    state.free_preview_used += from_free;
    let from_paid = (credits - from_free).min(state.balance);
    state.balance -= from_paid;
    credits
}

fn free_preview_remaining(state: &State) -> u64 {
    state
        .version
        .seed
        .free_preview_credits
        .saturating_sub(state.free_preview_used)
}

/// One asset of a job's answer: the `output_asset` fragment.
fn output_json(answers: &Answers, asset: &Asset) -> Value {
    answers.fragment("output_asset", &asset_context(asset))
}

fn asset_context(asset: &Asset) -> Context<'static> {
    Context::new()
        .set("asset.id", asset.id.as_str())
        .set("asset.job_id", asset.job_id.as_str())
        .set("asset.kind", asset.kind)
        .set("asset.url", asset.url.as_str())
        .set("asset.mime_type", asset.mime_type.as_str())
        .set("asset.content_length", asset.content_length)
        .set("asset.width", asset.width)
        .set("asset.height", asset.height)
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// Checks `references[]` against the model's roles and the docs' limits;
/// `items_map` names the request map of one item's fields.
fn references(
    state: &State,
    call: &Call,
    operation_id: &str,
    items_map: &str,
    body: &Map<String, Value>,
    model: &Model,
) -> Result<(), ApiError> {
    let answers = &state.version.answers;
    let field = answers.reads(operation_id).field("create.references");
    let items = match body.get(field) {
        None => return Ok(()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "field `{field}` must be an array, got {}",
                kind(other)
            )));
        }
    };
    if items.is_empty() {
        return Ok(());
    }
    if model.reference_roles.is_empty() {
        return Err(
            ApiError::invalid(format!("model `{}` takes no {field}", model.id))
                .suggest(show_model(model)),
        );
    }
    if items.len() > MAX_REFERENCES {
        return Err(ApiError::invalid(format!(
            "at most {MAX_REFERENCES} {field}, got {}",
            items.len()
        )));
    }
    let item_reads = answers.reads(items_map);
    let (asset_field, role_field, index_field) = (
        item_reads.field("item.asset_id"),
        item_reads.field("item.role"),
        item_reads.field("item.index"),
    );
    let mut frontals = Vec::new();
    let mut element_refs = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(item) = item.as_object() else {
            return Err(ApiError::invalid(format!("{field}[{i}] must be an object")));
        };
        if let Some(allowed) = item_fields(&state.version, operation_id, field) {
            reject_unknown(item, &allowed)
                .map_err(|e| ApiError::invalid(format!("{field}[{i}]: {}", e.message)))?;
        }
        let asset_id = required_str(item, asset_field)?;
        let role = required_str(item, role_field)?;
        if !model.reference_roles.iter().any(|r| r == role) {
            return Err(ApiError::invalid(format!(
                "{field}[{i}].{role_field} `{role}` is not supported by model `{}` (supported: {})",
                model.id,
                model.reference_roles.join(", ")
            )));
        }
        let index = item
            .get(index_field)
            .and_then(whole_number)
            .filter(|n| *n < MAX_ELEMENTS)
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "{field}[{i}].{index_field} must be a whole number below {MAX_ELEMENTS}"
                ))
            })?;
        match role {
            "element_frontal" => frontals.push(index),
            "element_reference" => element_refs.push(index),
            _ => {}
        }
        let asset = owned_asset(state, call, asset_id)?;
        let too_small = [asset.width, asset.height]
            .iter()
            .any(|d| d.is_some_and(|d| d < REFERENCE_MIN_EDGE));
        if !REFERENCE_MIME_TYPES.contains(&asset.mime_type.as_str()) || too_small {
            return Err(ApiError::invalid(format!(
                "{field}[{i}]: asset `{asset_id}` must be PNG, JPEG or WebP of at least {REFERENCE_MIN_EDGE}px"
            )));
        }
    }
    if let Some(orphan) = element_refs.iter().find(|i| !frontals.contains(i)) {
        return Err(ApiError::invalid(format!(
            "element {orphan} has reference images but no element_frontal"
        )));
    }
    Ok(())
}

/// An asset of the caller's organization; others' are not found, so their
/// existence does not leak.
fn owned_asset<'s>(state: &'s State, call: &Call, id: &str) -> Result<&'s Asset, ApiError> {
    state
        .assets
        .get(id)
        .filter(|a| a.organization_id == call.organization())
        .ok_or_else(|| {
            gone(
                &state.assets,
                "asset",
                id,
                ApiError::not_found(format!("no asset `{id}`")),
            )
        })
}

/// `POST /v1/upload`: client-normalized bytes become an owned input asset.
pub(crate) fn upload(state: &mut State, call: &Call) -> Handled {
    let version = Arc::clone(&state.version);
    let answers = &version.answers;
    let reads = answers.reads(UPLOAD);
    let field = |name| reads.field(name);
    let body = json_object(call.req)?;
    check_schema_fields(&state.version, UPLOAD, &body)?;
    let (kind_field, filename_field, origin_field) = (
        field("upload.source_kind"),
        field("upload.filename"),
        field("upload.remote_origin"),
    );
    let source_kind = required_str(&body, kind_field)?;
    let filename = required_str(&body, filename_field)?;
    if filename.contains(['/', '\\']) {
        return Err(ApiError::invalid(format!(
            "field `{filename_field}` must be a bare file name, not a local path"
        )));
    }
    let origin = match body.get(origin_field) {
        None => {
            return Err(ApiError::invalid(format!(
                "missing required field `{origin_field}`"
            )));
        }
        Some(Value::Null) => None,
        Some(Value::String(origin)) => Some(origin.as_str()),
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "field `{origin_field}` must be a string or null, got {}",
                kind(other)
            )));
        }
    };
    match (source_kind, origin) {
        ("local_path", None) => {}
        ("remote_url", Some(origin)) if is_origin(origin) => {}
        ("remote_url", _) => {
            return Err(ApiError::invalid(format!(
                "field `{origin_field}` must be the origin only (scheme://host[:port]), never the full URL"
            )));
        }
        ("local_path", Some(_)) => {
            return Err(ApiError::invalid(format!(
                "field `{origin_field}` must be null for {kind_field} `local_path`"
            )));
        }
        (other, _) => {
            return Err(ApiError::invalid(format!(
                "field `{kind_field}` must be `local_path` or `remote_url`, got `{other}`"
            )));
        }
    }
    let mime_type = required_str(&body, field("upload.mime_type"))?;
    if !UPLOAD_MIME_TYPES.contains(&mime_type) {
        return Err(policy_denied(format!(
            "mime type `{mime_type}` is not a supported input (supported: {})",
            UPLOAD_MIME_TYPES.join(", ")
        )));
    }
    let length_field = field("upload.content_length");
    let content_length = optional_count(&body, length_field)?
        .ok_or_else(|| ApiError::invalid(format!("missing required field `{length_field}`")))?;
    let sha_field = field("upload.sha256");
    let sha256 = required_str(&body, sha_field)?;
    let bytes_field = field("upload.bytes_base64");
    let bytes = codec::base64_decode(required_str(&body, bytes_field)?).ok_or_else(|| {
        ApiError::invalid(format!("field `{bytes_field}` is not standard base64"))
    })?;
    if bytes.len() as u64 != content_length {
        return Err(ApiError::invalid(format!(
            "{length_field} {content_length} does not match the {} bytes sent",
            bytes.len()
        )));
    }
    let digest = codec::sha256_hex(&bytes);
    if !digest.eq_ignore_ascii_case(sha256) {
        return Err(ApiError::invalid(format!(
            "field `{sha_field}` does not match the bytes sent"
        )));
    }
    if codec::sniff_mime(&bytes) != Some(mime_type) {
        return Err(policy_denied(format!(
            "the bytes are not a {mime_type} image"
        )));
    }

    let job_id = state.next_job_id();
    let asset_id = state.next_asset_id();
    let created_at = state.now();
    let dims = codec::png_dimensions(&bytes);
    let asset = Asset {
        id: asset_id.clone(),
        job_id: job_id.clone(),
        organization_id: call.organization().to_string(),
        kind: "uploaded",
        url: state.media_url(&asset_id, mime_type),
        mime_type: mime_type.to_string(),
        content_length,
        width: dims.map(|d| d.0),
        height: dims.map(|d| d.1),
    };
    let links = Context::new()
        .set("job.id", job_id.as_str())
        .set("asset.id", asset_id.as_str());
    ledger::record(
        state,
        call,
        NewEvent {
            kind: "asset.uploaded",
            subject: ("asset", asset_id.clone()),
            operation: "upload",
            summary: "Input asset uploaded".to_string(),
            status: "stored",
            links: answers.links("asset.uploaded", &links),
            estimated_usd: None,
        },
    );
    let completed_at = state.now();
    let context = asset_context(&asset)
        .set("upload.source_kind", source_kind)
        .set("upload.filename", filename)
        .set("upload.remote_origin", origin)
        .set("upload.sha256", digest);
    let data = answers.operation(UPLOAD, &context);
    let cost = version.seed.catalog.cost_json(answers, Some(0), "known");
    state.jobs.insert(
        job_id.clone(),
        Job {
            id: job_id,
            organization_id: asset.organization_id.clone(),
            operation: "upload",
            capability_id: UPLOAD_CAPABILITY.to_string(),
            trace_id: call.trace_id.clone(),
            created_at,
            completed_at,
            cost,
            asset_ids: vec![asset.id.clone()],
            input_asset_id: None,
        },
    );
    state.assets.insert(asset_id, asset);
    Ok(Outcome::Data(data))
}

/// The documented refusal of unsupported input (CLI exit 6).
fn policy_denied(message: String) -> ApiError {
    ApiError::new(422, "INPUT_POLICY_DENIED", message)
}

fn is_origin(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && u.host().is_some()
            && !text.trim_end_matches('/').contains(['?', '#'])
            && text.trim_end_matches('/').matches('/').count() == 2
    })
}

/// `GET /v1/assets/{ASSET_ID}`.
pub(crate) fn asset_show(state: &mut State, call: &Call) -> Handled {
    let id = call.path_id();
    let asset = owned_asset(state, call, &id)?;
    let context = asset_context(asset);
    Ok(Outcome::Data(
        state.version.answers.operation("getAsset", &context),
    ))
}

/// `GET /v1/jobs/{JOB_ID}`: status, trace, timestamps, capability, cost,
/// safety and owned assets; never the prompt.
pub(crate) fn job_show(state: &mut State, call: &Call) -> Handled {
    let id = call.path_id();
    let job = state
        .jobs
        .get(&id)
        .filter(|j| j.organization_id == call.organization())
        .ok_or_else(|| {
            gone(
                &state.jobs,
                "job",
                &id,
                ApiError::not_found(format!("no job `{id}`")),
            )
        })?;
    let answers = &state.version.answers;
    let assets: Vec<Value> = job
        .asset_ids
        .iter()
        .filter_map(|a| state.assets.get(a))
        .map(|a| output_json(answers, a))
        .collect();
    // From 0.1.28 the docs mirror the job's status, assets and cost at top
    // level and under `job`; older schemas leave the extras open.
    let mut context = Context::new()
        .set("job.id", job.id.as_str())
        .set("job.operation", job.operation)
        .set("job.trace_id", job.trace_id.as_str())
        .set("job.created_at", job.created_at.as_str())
        .set("job.completed_at", job.completed_at.as_str())
        .set("job.capability_id", job.capability_id.as_str())
        .set("job.cost", job.cost.clone())
        .set("assets", assets);
    if let Some(input) = &job.input_asset_id {
        context.put("job.input_asset_id", input.as_str());
    }
    Ok(Outcome::Data(answers.operation("getJob", &context)))
}

/// `W:H` with positive numbers, within the ratios image models take;
/// `field` names it in the refusal.
fn ratio(field: &str, text: &str) -> Result<f64, ApiError> {
    let invalid = || {
        ApiError::invalid(format!(
            "field `{field}` must look like `16:9` (between 1:4 and 4:1), got `{text}`"
        ))
    };
    let (w, h) = text.split_once(':').ok_or_else(invalid)?;
    let w: f64 = w.parse().map_err(|_| invalid())?;
    let h: f64 = h.parse().map_err(|_| invalid())?;
    let ratio = w / h;
    if !(0.25..=4.0).contains(&ratio) {
        return Err(invalid());
    }
    Ok(ratio)
}

/// Output size for a ratio: the short edge fixed, the long edge rounded to
/// a multiple of 16 as image models produce.
fn dimensions(aspect_ratio: &str, short_edge: u32) -> (u32, u32) {
    let ratio = ratio("", aspect_ratio).unwrap_or(1.0);
    let long = |r: f64| ((f64::from(short_edge) * r / 16.0).round() as u32) * 16;
    if ratio >= 1.0 {
        (long(ratio), short_edge)
    } else {
        (short_edge, long(1.0 / ratio))
    }
}

fn optional_bool(body: &Map<String, Value>, field: &str) -> Result<Option<bool>, ApiError> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(ApiError::invalid(format!(
            "field `{field}` must be a boolean, got {}",
            kind(other)
        ))),
    }
}

fn optional_count(body: &Map<String, Value>, field: &str) -> Result<Option<u64>, ApiError> {
    match body.get(field) {
        None => Ok(None),
        Some(value) => whole_number(value)
            .filter(|n| *n >= 1)
            .map(Some)
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "field `{field}` must be a whole number of at least 1, got {value}"
                ))
            }),
    }
}

fn optional_usd(body: &Map<String, Value>, field: &str) -> Result<Option<f64>, ApiError> {
    match body.get(field) {
        None => Ok(None),
        Some(value) => value
            .as_f64()
            .filter(|n| *n >= 0.0)
            .map(Some)
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "field `{field}` must be a non-negative number of US dollars, got {value}"
                ))
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_keep_the_short_edge() {
        assert_eq!(dimensions("1:1", 1024), (1024, 1024));
        assert_eq!(dimensions("16:9", 1024), (1824, 1024));
        assert_eq!(dimensions("2:3", 1024), (1024, 1536));
        assert_eq!(dimensions("1:1", 2048), (2048, 2048));
    }

    #[test]
    fn origins_have_no_path() {
        assert!(is_origin("https://example.com"));
        assert!(is_origin("http://example.com:8080"));
        assert!(!is_origin("https://example.com/source.png"));
        assert!(!is_origin("file:///tmp/x.png"));
        assert!(!is_origin("example.com"));
    }

    #[test]
    fn ratios_are_bounded() {
        assert!(ratio("f", "16:9").is_ok());
        assert!(ratio("f", "1:5").is_err());
        assert!(ratio("f", "wide").is_err());
        assert!(ratio("f", "0:1").is_err());
    }
}
