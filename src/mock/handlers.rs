//! Endpoint logic. A handler reads the request, updates the state and returns
//! the `data` of a success envelope, a redirect, or an API error; the
//! responder in `mod.rs` does auth, the envelope, the profile and recording.
//! Answers are rendered from the version's templates ([`super::answer`]):
//! a handler supplies the mock's own values under the mock's names, and
//! reads request values where the version's request map says.

use serde_json::{Map, Value};

use super::answer::{Context, Place, Reads};
use super::call::{ApiError, Call, Handled, Outcome};
use super::ledger::{self, NewEvent};
use super::request::check_fields;
use super::retain::Retained;
use super::state::{Agent, Attempt, Pack, Quote, QuoteTerms, Receipt, State, checkout_url};
use super::version::{RailKind, Version};
use super::wire::Request;

/// How long a status poll should wait while an attempt awaits action.
const STATUS_RETRY_AFTER_SECONDS: u64 = 10;

/// `operation`'s answer rendered from `context`.
fn answer(state: &State, operation: &str, context: &Context) -> Handled {
    Ok(Outcome::Data(
        state.version.answers.operation(operation, context),
    ))
}

pub(crate) fn healthz(state: &mut State, _: &Call) -> Handled {
    answer(state, "getHealth", &Context::new())
}

pub(crate) fn whoami(state: &mut State, call: &Call) -> Handled {
    let agent = call.caller.clone().unwrap_or_else(|| Agent {
        actor_id: super::state::ACTOR_ID.to_string(),
        organization_id: super::state::ORGANIZATION_ID.to_string(),
    });
    answer(state, "getWhoami", &agent_context(&agent))
}

fn agent_context<'a>(agent: &Agent) -> Context<'a> {
    Context::new()
        .set("agent.actor_id", agent.actor_id.as_str())
        .set("agent.organization_id", agent.organization_id.as_str())
}

/// `POST /v1/agent-signups`: creates a restricted agent, or rotates the
/// token of the one already made for the same contact and name. The new
/// token is returned once and the rotated one stops working.
pub(crate) fn agent_signup(state: &mut State, call: &Call) -> Handled {
    const OPERATION: &str = "createAgentSignup";
    let body = json_object(call.req)?;
    let version = std::sync::Arc::clone(&state.version);
    check_fields(&version.api, OPERATION, &body, &[])?;
    let reads = version.answers.reads(OPERATION);
    let contact_field = reads.field("signup.contact");
    let contact = required_str(&body, contact_field)?;
    if !contact.contains('@') {
        return Err(ApiError::invalid(format!(
            "field `{contact_field}` must be an email address (the accountable contact)"
        )));
    }
    let name = optional_str(&body, reads.field("signup.name"))?.unwrap_or("agent");
    let runtime = optional_str(&body, reads.field("signup.runtime"))?;
    let (agent, token, rotated) = state.sign_up(contact, name);
    let context = agent_context(&agent)
        .set("signup.token", token)
        .set("signup.name", name)
        .set("signup.runtime", runtime)
        .set("signup.rotated", rotated);
    answer(state, OPERATION, &context)
}

pub(crate) fn quota(state: &mut State, _: &Call) -> Handled {
    Ok(Outcome::Data(quota_data(state)))
}

/// The mock accounts for jobs and credits but enforces neither limit: the
/// docs name no error code for an exhausted quota, and suites run in
/// parallel against one mock.
pub(crate) fn quota_data(state: &State) -> Value {
    let seed = &state.version.seed;
    let (free_preview, daily_limit) = (seed.free_preview_credits, seed.daily_job_limit);
    let context = Context::new()
        .set("credits.balance", state.balance)
        .set(
            "credits.free_preview_remaining",
            free_preview.saturating_sub(state.free_preview_used),
        )
        .set("jobs.daily_limit", daily_limit)
        .set("jobs.used_today", state.jobs_run)
        .set(
            "jobs.remaining_today",
            daily_limit.saturating_sub(state.jobs_run),
        );
    state.version.answers.operation("getQuota", &context)
}

/// The version's rails, each with its seed catalog entry.
pub(crate) fn payment_methods(state: &mut State, _: &Call) -> Handled {
    let version = &state.version;
    let seed = &version.seed;
    let methods: Vec<Value> = version
        .rails
        .iter()
        .map(|rail| {
            let mut context = Context::new().set("rail.id", rail.as_str());
            if let Some(entry) = seed.rail(rail) {
                context.put("rail.seed", entry.clone());
            }
            if version.kind_of(rail) == Some(RailKind::CheckoutSession) {
                context.put("rail.default_pack_id", seed.default_pack_id.as_str());
            }
            version.answers.fragment("payment_method", &context)
        })
        .collect();
    let context = Context::new()
        .with_endpoints(&version.api)
        .set("methods", methods);
    answer(state, "listPaymentMethods", &context)
}

pub(crate) fn credit_packs(state: &mut State, _: &Call) -> Handled {
    let version = &state.version;
    let seed = &version.seed;
    let packs: Vec<Value> = seed.packs.iter().map(|p| pack_json(version, p)).collect();
    let context = Context::new()
        .set("seed.default_pack_id", seed.default_pack_id.as_str())
        .set("seed.min_credits", seed.min_credits)
        .set("seed.max_credits", seed.max_credits)
        .set("packs", packs);
    answer(state, "listCreditPacks", &context)
}

fn pack_json(version: &Version, pack: &Pack) -> Value {
    let context = Context::new()
        .set("pack.id", pack.id.as_str())
        .set("pack.name", pack.name.as_str())
        .set("pack.credits", pack.credits);
    version.answers.fragment("pack", &context)
}

pub(crate) fn create_quote(state: &mut State, call: &Call) -> Handled {
    const OPERATION: &str = "createCreditQuote";
    let req = call.req;
    let body = json_object(req)?;
    let version = std::sync::Arc::clone(&state.version);
    check_fields(&version.api, OPERATION, &body, &[])?;
    let reads = version.answers.reads(OPERATION);
    let (min, max) = (version.seed.min_credits, version.seed.max_credits);
    let credits_field = reads.field("quote.credits");
    let pack_field = reads.field("pack.id");
    let rail_field = reads.field("quote.rail");
    let credits = optional_credits(&body, credits_field)?;
    let pack_id = optional_str(&body, pack_field)?;
    let rails = || {
        version
            .rails
            .iter()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // The rails and the default are the version's API model: a rail it
    // does not document is refused; a quote without one takes the API's
    // default (the CLI requiring its flag from 0.1.29 is the CLI's rule).
    let method = match optional_str(&body, rail_field)? {
        None => version.quote_default.clone().ok_or_else(|| {
            ApiError::invalid(format!(
                "missing required field `{rail_field}` (one of {})",
                rails()
            ))
            .require_flag("--payment-method")
        })?,
        Some(m) if version.has_rail(m) => m.to_string(),
        Some(m) => {
            return Err(ApiError::invalid(format!(
                "field `{rail_field}` must be one of {}, got `{m}`",
                rails()
            )));
        }
    };
    let key = optional_str(&body, reads.field("idempotency_key"))?;
    let terms = match (credits, pack_id) {
        (Some(credits), None) => {
            if !(min..=max).contains(&credits) {
                return Err(ApiError::invalid(format!(
                    "field `{credits_field}` must be from {min} to {max}, got {credits}"
                )));
            }
            QuoteTerms {
                credits,
                pack: None,
                method,
            }
        }
        (None, Some(id)) => {
            let pack = version.seed.pack(id).cloned().ok_or_else(|| {
                ApiError::new(
                    404,
                    "CREDIT_PACK_NOT_FOUND",
                    format!("no credit pack `{id}`"),
                )
                .suggest("image-skill credits packs list --json".to_string())
            })?;
            QuoteTerms {
                credits: pack.credits,
                pack: Some(pack),
                method,
            }
        }
        _ => {
            return Err(ApiError::invalid(format!(
                "exactly one of fields `{credits_field}` or `{pack_field}` is required"
            )));
        }
    };

    if let Some(key) = key
        && let Some(existing) = state
            .quote_keys
            .get(key)
            .and_then(|id| state.quotes.get(id))
    {
        if existing.terms == terms {
            return Ok(Outcome::Data(quote_data(state, existing)));
        }
        let fresh = fresh_key(key, |k| state.quote_keys.contains_key(k));
        return Err(ApiError::new(
            409,
            "CREDIT_QUOTE_CONFLICT",
            format!(
                "idempotency key `{key}` already created quote `{}` with different terms",
                existing.id
            ),
        )
        .suggest(quote_command(
            &terms,
            &fresh,
            cli_quote_default(&version, OPERATION, rail_field),
        )));
    }

    let id = state.next_quote_id();
    let quote = Quote {
        id: id.clone(),
        terms,
        idempotency_key: key.map(str::to_string),
        attempt_ids: Vec::new(),
        receipt_id: None,
    };
    let data = quote_data(state, &quote);
    if let Some(key) = key {
        state.quote_keys.insert(key.to_string(), id.clone());
    }
    state.quotes.insert(id, quote);
    Ok(Outcome::Data(data))
}

/// The quote's values under `quote.*`.
fn quote_context<'a>(version: &Version, quote: &Quote, mut context: Context<'a>) -> Context<'a> {
    let rail = quote.terms.method.as_str();
    let pack = quote.terms.pack.as_ref();
    context.put("quote.id", quote.id.as_str());
    context.put("quote.credits", quote.terms.credits);
    context.put("quote.rail", rail);
    context.put("quote.idempotency_key", quote.idempotency_key.as_deref());
    context.put("quote.pack_id", pack.map(|p| p.id.as_str()));
    context.put(
        "quote.pack",
        pack.map_or(Value::Null, |p| pack_json(version, p)),
    );
    context.put("quote.live_money", version.seed.live_money(rail));
    context
}

fn quote_data(state: &State, quote: &Quote) -> Value {
    let version = &state.version;
    let mut context = quote_context(version, quote, Context::new());
    // Only a release with the rehearsal rail documents the field (null
    // on its other rails).
    if version.has_kind(RailKind::X402Rehearsal) {
        let challenge = match challenge_context(state, quote) {
            Some(challenge) => version.answers.fragment("x402_challenge", &challenge),
            None => Value::Null,
        };
        context.put("quote.x402", challenge);
    }
    version.answers.operation("createCreditQuote", &context)
}

/// The values of the no-spend x402 rehearsal challenge of a quote on that
/// rail (`None` on other rails): synthetic, derived from the quote so a
/// purchase can be checked against them. No wallet, no settlement.
fn challenge_context<'a>(state: &State, quote: &Quote) -> Option<Context<'a>> {
    let rail = quote.terms.method.as_str();
    if state.version.kind_of(rail) != Some(RailKind::X402Rehearsal) {
        return None;
    }
    let seed = state.version.seed.rail(rail)?;
    let digest = |what: &str| {
        format!(
            "{:016x}",
            crate::hash::fnv1a(format!("{what}\n{}", quote.id).as_bytes())
        )
    };
    Some(
        Context::new()
            .set("rail.id", rail)
            .set("rail.seed", seed.clone())
            .set(
                "challenge.id",
                format!("x402_chal_{}", quote.id.trim_start_matches("quote_")),
            )
            .set("challenge.quote_digest", digest("quote"))
            .set(
                "challenge.idempotency_key_hash",
                digest(quote.idempotency_key.as_deref().unwrap_or_default()),
            )
            .set(
                "challenge.payment_required_hash",
                digest("payment_required"),
            ),
    )
}

/// The CLI command that requests `terms` again under a new key.
/// The rail flag is left out where the version's default picks it.
/// The rail the CLI's quote command may leave out: the API's default,
/// unless the command requires the rail's flag (`payment_method` is
/// `--payment-method`, as cli.rs maps flags).
fn cli_quote_default<'v>(
    version: &'v Version,
    operation: &str,
    rail_field: &str,
) -> Option<&'v str> {
    let flag = format!("--{}", rail_field.replace('_', "-"));
    let required = version
        .api
        .commands
        .iter()
        .filter(|c| c.operation.as_deref() == Some(operation))
        .any(|c| c.required_flags.contains(&flag));
    if required {
        None
    } else {
        version.quote_default.as_deref()
    }
}

fn quote_command(terms: &QuoteTerms, key: &str, default: Option<&str>) -> String {
    let amount = match &terms.pack {
        Some(pack) => format!("--pack {}", pack.id),
        None => format!("--credits {}", terms.credits),
    };
    let method = if default == Some(terms.method.as_str()) {
        String::new()
    } else {
        format!(" --payment-method {}", terms.method)
    };
    format!("image-skill credits quote {amount}{method} --idempotency-key {key} --json")
}

/// `key-2`, `key-3`, ...: the first suffix not taken yet.
fn fresh_key(key: &str, taken: impl Fn(&str) -> bool) -> String {
    (2u64..)
        .map(|n| format!("{key}-{n}"))
        .find(|k| !taken(k))
        .unwrap_or_else(|| format!("{key}-fresh"))
}

pub(crate) fn create_checkout_session(state: &mut State, call: &Call) -> Handled {
    const OPERATION: &str = "createStripeCheckoutSession";
    let body = json_object(call.req)?;
    let (quote_id, key) = payment_fields(state, OPERATION, &body)?;
    let version = std::sync::Arc::clone(&state.version);
    let rail = version.rail_of_kind(RailKind::CheckoutSession);
    let quote = quote_on_rail(state, quote_id, rail, |q| {
        format!(
            "image-skill credits quote --credits {} --payment-method {rail} --json",
            q.terms.credits
        )
    })?;
    if let Some(attempt) = state
        .attempt_keys
        .get(key)
        .and_then(|id| state.attempts.get(id))
    {
        if attempt.quote_id != quote_id {
            return Err(key_conflict(key, &attempt.quote_id));
        }
        return Ok(Outcome::Data(session_data(state, attempt, quote)));
    }

    let attempt_id = state.next_attempt_id();
    let session_id = state.next_session_id();
    let attempt = Attempt {
        id: attempt_id.clone(),
        quote_id: quote_id.to_string(),
        kind: RailKind::CheckoutSession,
        checkout_url: checkout_url(&session_id),
        session_id,
    };
    let quote = find_quote(state, quote_id)?;
    let credits = quote.terms.credits;
    let data = session_data(state, &attempt, quote);
    let context = attempt_context(state, &attempt, Context::new()).set("quote.id", quote_id);
    state
        .attempt_keys
        .insert(key.to_string(), attempt_id.clone());
    if let Some(quote) = state.quotes.get_mut(quote_id) {
        quote.attempt_ids.push(attempt_id.clone());
    }
    // The ledger names the ids only: Stripe URLs never enter it.
    let kind = "payment.checkout_session.created";
    let links = version.answers.links(kind, &context);
    ledger::record(
        state,
        call,
        NewEvent {
            kind,
            subject: ("payment", attempt_id.clone()),
            operation: "payment",
            summary: format!("Stripe Checkout session created for {credits} credits"),
            status: "action_required",
            links,
            estimated_usd: None,
        },
    );
    state.attempts.insert(attempt_id, attempt);
    Ok(Outcome::Data(data))
}

/// The attempt's values under `attempt.*` and `session.*`; a deposit
/// attempt has no session and no URLs.
fn attempt_context<'a>(state: &State, attempt: &Attempt, mut context: Context<'a>) -> Context<'a> {
    context.put("attempt.id", attempt.id.as_str());
    if attempt.kind == RailKind::CheckoutSession {
        context.put("session.id", attempt.session_id.as_str());
        context.put("attempt.checkout_url", attempt.checkout_url.as_str());
        if let Some(handoff) = state.version.handoff_url(&state.base_url, &attempt.id) {
            context.put("attempt.handoff_url", handoff);
        }
    }
    context
}

fn session_data(state: &State, attempt: &Attempt, quote: &Quote) -> Value {
    let version = &state.version;
    let context = quote_context(version, quote, Context::new());
    let context = attempt_context(state, attempt, context);
    version
        .answers
        .operation("createStripeCheckoutSession", &context)
}

/// `POST /v1/credit-purchases`: the fake/test rail, and from 0.1.10 the
/// no-spend x402 rehearsal, whose challenge fields must match the quote's.
/// Either grants synthetic credits; neither moves money.
pub(crate) fn fake_purchase(state: &mut State, call: &Call) -> Handled {
    const OPERATION: &str = "createFakePurchase";
    let body = json_object(call.req)?;
    let version = std::sync::Arc::clone(&state.version);
    // The rehearsal rail's purchase carries the challenge's fields too;
    // its seed entry lists them (`purchase_fields`).
    let extra: Vec<String> = if version.has_kind(RailKind::X402Rehearsal) {
        version
            .seed
            .rail(version.rail_of_kind(RailKind::X402Rehearsal))
            .and_then(|r| r.get("purchase_fields"))
            .and_then(|f| serde_json::from_value(f.clone()).ok())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    check_fields(&version.api, OPERATION, &body, &extra)?;
    let reads = version.answers.reads(OPERATION);
    let quote_id = required_str(&body, reads.field("quote.id"))?;
    let key = required_str(&body, reads.field("idempotency_key"))?;
    let rail = find_quote(state, quote_id)?.terms.method.clone();
    let rail = if version.kind_of(&rail) == Some(RailKind::X402Rehearsal) {
        rail
    } else {
        version.rail_of_kind(RailKind::Instant).to_string()
    };
    let rail = rail.as_str();
    let quote = quote_on_rail(state, quote_id, rail, |_| {
        format!(
            "image-skill credits buy --provider stripe --quote-id {quote_id} --idempotency-key KEY --json"
        )
    })?;
    let rail_field = reads.field("quote.rail");
    if let Some(given) = optional_str(&body, rail_field)?
        && given != rail
    {
        return Err(ApiError::invalid(format!(
            "field `{rail_field}` is `{given}` but quote `{quote_id}` accepts `{rail}`"
        )));
    }
    let challenge = challenge_context(state, quote);
    if let Some(challenge) = &challenge {
        check_challenge(reads, &body, challenge, quote_id)?;
    }
    if let Some(receipt) = state
        .purchase_keys
        .get(key)
        .and_then(|id| state.receipts.get(id))
    {
        if receipt.quote_id != quote_id {
            return Err(key_conflict(key, &receipt.quote_id));
        }
        // A replay returns the original receipt and grants nothing.
        return Ok(Outcome::Data(purchase_data(
            state, receipt, rail, challenge,
        )));
    }
    if let Some(receipt_id) = &quote.receipt_id {
        return Err(ApiError::new(
            409,
            "CREDIT_QUOTE_ALREADY_CONSUMED",
            format!("quote `{quote_id}` was already purchased (receipt `{receipt_id}`)"),
        )
        .suggest(format!(
            "image-skill credits status --receipt-id {receipt_id} --json"
        )));
    }

    let credits = quote.terms.credits;
    let receipt_id = state.next_receipt_id();
    let credit_event_id = state.next_credit_event_id();
    state.balance += credits;
    let receipt = Receipt {
        id: receipt_id.clone(),
        quote_id: quote_id.to_string(),
        credit_event_id,
        credits,
        idempotency_key: key.to_string(),
        balance_after: state.balance,
    };
    let data = purchase_data(state, &receipt, rail, challenge);
    let kind = "credits.payment_backed_granted";
    let links = version
        .answers
        .links(kind, &receipt_context(&receipt, Context::new()));
    ledger::record(
        state,
        call,
        NewEvent {
            kind,
            subject: ("credit", receipt.credit_event_id.clone()),
            operation: "credits",
            summary: format!(
                "{credits} payment-backed credits granted ({rail} rail, no live money)"
            ),
            status: "succeeded",
            links,
            estimated_usd: None,
        },
    );
    if let Some(quote) = state.quotes.get_mut(quote_id) {
        quote.receipt_id = Some(receipt_id.clone());
    }
    state
        .purchase_keys
        .insert(key.to_string(), receipt_id.clone());
    state.receipts.insert(receipt_id, receipt);
    Ok(Outcome::Data(data))
}

/// Every challenge value the request map places in the purchase must be
/// the challenge's own.
fn check_challenge(
    reads: &Reads,
    body: &Map<String, Value>,
    challenge: &Context,
    quote_id: &str,
) -> Result<(), ApiError> {
    for (name, place) in reads.iter() {
        let (Place::Body(field), Some(expected)) = (place, challenge.get(name)) else {
            continue;
        };
        if matches!(name, "quote.id" | "quote.rail" | "idempotency_key") {
            continue;
        }
        if let Some(given) = optional_str(body, field)?
            && expected.as_str() != Some(given)
        {
            return Err(ApiError::invalid(format!(
                "field `{field}` does not match the challenge of quote `{quote_id}`; nothing was granted"
            )));
        }
    }
    Ok(())
}

/// The receipt's values under `receipt.*`.
fn receipt_context<'a>(receipt: &Receipt, mut context: Context<'a>) -> Context<'a> {
    context.put("quote.id", receipt.quote_id.as_str());
    context.put("receipt.id", receipt.id.as_str());
    context.put("receipt.credit_event_id", receipt.credit_event_id.as_str());
    context.put("receipt.credits", receipt.credits);
    context.put("receipt.idempotency_key", receipt.idempotency_key.as_str());
    context.put("receipt.balance_after", receipt.balance_after);
    context
}

fn purchase_data(
    state: &State,
    receipt: &Receipt,
    rail: &str,
    challenge: Option<Context>,
) -> Value {
    let version = &state.version;
    let mut context = receipt_context(receipt, Context::new())
        .set("rail.id", rail)
        .set("rail.live_money", version.seed.live_money(rail));
    if let Some(challenge) = challenge {
        let digest = |what: &str| {
            format!(
                "{:016x}",
                crate::hash::fnv1a(format!("{what}\n{}", receipt.id).as_bytes())
            )
        };
        let challenge = receipt_context(receipt, challenge)
            .set(
                "purchase.idempotency_key_hash",
                digest(&receipt.idempotency_key),
            )
            .set(
                "purchase.payment_signature_hash",
                digest("payment_signature"),
            )
            .set("purchase.payment_response_hash", digest("payment_response"));
        context.put(
            "purchase.x402",
            version.answers.fragment("x402_purchase", &challenge),
        );
    }
    version.answers.operation("createFakePurchase", &context)
}

/// `POST /v1/credit-purchases/stripe-x402-deposits` (0.1.21 on): the
/// browserless USDC deposit challenge of a quote on the deposit rail.
/// It grants nothing; the mock never settles one, so its attempt stays
/// `action_required`. The deposit address is the seed's placeholder.
pub(crate) fn create_x402_deposit(state: &mut State, call: &Call) -> Handled {
    const OPERATION: &str = "createStripeX402Deposit";
    let body = json_object(call.req)?;
    let (quote_id, key) = payment_fields(state, OPERATION, &body)?;
    let version = std::sync::Arc::clone(&state.version);
    let rail = version.rail_of_kind(RailKind::X402Deposit);
    let quote = quote_on_rail(state, quote_id, rail, |q| {
        format!(
            "image-skill credits quote --credits {} --payment-method {rail} --json",
            q.terms.credits
        )
    })?;
    let credits = quote.terms.credits;
    if let Some(attempt) = state
        .attempt_keys
        .get(key)
        .and_then(|id| state.attempts.get(id))
    {
        if attempt.quote_id != quote_id {
            return Err(key_conflict(key, &attempt.quote_id));
        }
        return Ok(Outcome::Data(deposit_data(state, attempt, rail, credits)));
    }
    let attempt = Attempt {
        id: state.next_attempt_id(),
        quote_id: quote_id.to_string(),
        kind: RailKind::X402Deposit,
        session_id: String::new(),
        checkout_url: String::new(),
    };
    let data = deposit_data(state, &attempt, rail, credits);
    let kind = "payment.x402_deposit.created";
    let context = attempt_context(state, &attempt, Context::new()).set("quote.id", quote_id);
    let links = version.answers.links(kind, &context);
    ledger::record(
        state,
        call,
        NewEvent {
            kind,
            subject: ("payment", attempt.id.clone()),
            operation: "payment",
            summary: format!("x402 deposit challenge created for {credits} credits"),
            status: "action_required",
            links,
            estimated_usd: None,
        },
    );
    state
        .attempt_keys
        .insert(key.to_string(), attempt.id.clone());
    if let Some(quote) = state.quotes.get_mut(quote_id) {
        quote.attempt_ids.push(attempt.id.clone());
    }
    state.attempts.insert(attempt.id.clone(), attempt);
    Ok(Outcome::Data(data))
}

fn deposit_data(state: &State, attempt: &Attempt, rail: &str, credits: u64) -> Value {
    let version = &state.version;
    let context = deposit_context(state, rail, credits)
        .set("quote.id", attempt.quote_id.as_str())
        .set("attempt.id", attempt.id.as_str())
        .set("rail.live_money", version.seed.live_money(rail));
    version
        .answers
        .operation("createStripeX402Deposit", &context)
}

/// The payable instructions of a deposit, rendered (`deposit.stripe_x402`):
/// amounts from the quote, the network, token and (placeholder) addresses
/// from the rail's seed entry.
fn deposit_context<'a>(state: &State, rail: &str, credits: u64) -> Context<'a> {
    let seed = state
        .version
        .seed
        .rail(rail)
        .cloned()
        .unwrap_or(Value::Null);
    let decimals = seed
        .get("stripe_x402")
        .and_then(|d| d.get("token_decimals"))
        .and_then(Value::as_u64)
        .unwrap_or(6);
    let usd = format!("{}.{:02}", credits / 100, credits % 100);
    let atomic = u128::from(credits) * 10u128.pow(u32::try_from(decimals).unwrap_or(6)) / 100;
    let mut context = Context::new()
        .set("rail.id", rail)
        .set("rail.seed", seed)
        .set("quote.credits", credits)
        .set("deposit.token_decimals", decimals)
        .set("deposit.usd", usd)
        .set("deposit.atomic", atomic.to_string());
    let instructions = state.version.answers.fragment("stripe_x402", &context);
    context.put("deposit.stripe_x402", instructions);
    context
}

/// `POST /v1/agent-claims` (0.1.37 on): attaches a contact inbox to the
/// caller. The same contact again is `unchanged`, another replaces it;
/// never a verification, so the claim state stays `unclaimed`.
pub(crate) fn agent_claim(state: &mut State, call: &Call) -> Handled {
    const OPERATION: &str = "createAgentClaim";
    let body = json_object(call.req)?;
    let version = std::sync::Arc::clone(&state.version);
    check_fields(&version.api, OPERATION, &body, &[])?;
    let contact_field = version.answers.reads(OPERATION).field("claim.contact");
    let contact = required_str(&body, contact_field)?;
    if !contact.contains('@') {
        return Err(ApiError::invalid(format!(
            "field `{contact_field}` must be an email address"
        )));
    }
    let actor = call
        .caller
        .as_ref()
        .map_or(super::state::ACTOR_ID, |a| a.actor_id.as_str())
        .to_string();
    let previous = state.claims.insert(actor, contact.to_string());
    let unchanged = previous.as_deref() == Some(contact);
    let context = Context::new().set(
        "claim.state",
        if unchanged { "unchanged" } else { "attached" },
    );
    answer(state, OPERATION, &context)
}

pub(crate) fn purchase_status(state: &mut State, call: &Call) -> Handled {
    const OPERATION: &str = "getCreditPurchaseStatus";
    let req = call.req;
    let pairs: Vec<(String, String)> = req
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    // Exactly one of the operation's query parameters names the purchase.
    let refs: Vec<String> = state
        .version
        .api
        .endpoint(OPERATION)
        .map(|e| e.params.iter().map(|p| p.name.clone()).collect())
        .unwrap_or_default();
    let one_of = refs
        .iter()
        .map(|r| format!("`{r}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if let Some((unknown, _)) = pairs.iter().find(|(k, _)| !refs.contains(k)) {
        return Err(ApiError::invalid(format!(
            "unknown query parameter `{unknown}` (expected exactly one of {one_of})"
        )));
    }
    let [(reference, id)] = pairs.as_slice() else {
        return Err(ApiError::invalid(format!(
            "exactly one of query parameters {one_of} is required, got {}",
            pairs.len()
        )));
    };
    if id.is_empty() {
        return Err(ApiError::invalid(format!(
            "query parameter `{reference}` must not be empty"
        )));
    }
    let unknown = || ApiError::not_found(format!("no purchase record for {reference} `{id}`"));

    let state: &State = state;
    let cap = state.retention();
    // The record a found one points to may be forgotten before it.
    let quote_of = |quote_id: &str| {
        state
            .quotes
            .get(quote_id)
            .ok_or_else(|| gone(&state.quotes, "credit quote", quote_id, unknown()))
    };
    let named = state.version.answers.reads(OPERATION).query_name(reference);
    let data = match named {
        Some("quote.id") => {
            let quote = state
                .quotes
                .get(id)
                .ok_or_else(|| gone(&state.quotes, "credit quote", id, unknown()))?;
            let receipt = quote
                .receipt_id
                .as_ref()
                .and_then(|r| state.receipts.get(r));
            let attempt = quote.attempt_ids.last().and_then(|a| state.attempts.get(a));
            match (receipt, attempt) {
                (Some(receipt), _) => status_data(state, quote, None, Some(receipt)),
                (None, Some(attempt)) => status_data(state, quote, Some(attempt), None),
                (None, None) => status_data(state, quote, None, None),
            }
        }
        Some(name @ ("attempt.id" | "session.id")) => {
            let attempt = if name == "attempt.id" {
                state
                    .attempts
                    .get(id)
                    .ok_or_else(|| gone(&state.attempts, "payment attempt", id, unknown()))
            } else {
                state.attempt_by_session(id).ok_or_else(|| {
                    if state.session_evicted(id) {
                        ApiError::evicted("checkout session", id, cap)
                    } else {
                        unknown()
                    }
                })
            }?;
            let quote = quote_of(&attempt.quote_id)?;
            status_data(state, quote, Some(attempt), None)
        }
        _ => {
            let receipt = state
                .receipts
                .get(id)
                .ok_or_else(|| gone(&state.receipts, "receipt", id, unknown()))?;
            let quote = quote_of(&receipt.quote_id)?;
            status_data(state, quote, None, Some(receipt))
        }
    };
    Ok(Outcome::Data(data))
}

/// One shape for every state, so clients can read the same keys throughout.
fn status_data(
    state: &State,
    quote: &Quote,
    attempt: Option<&Attempt>,
    receipt: Option<&Receipt>,
) -> Value {
    let version = &state.version;
    let mut context = quote_context(version, quote, Context::new());
    let status = match (receipt, attempt) {
        (Some(_), _) => "succeeded",
        (None, Some(_)) => "action_required",
        (None, None) => "created",
    };
    context.put("status.state", status);
    context.put("quota", quota_data(state));
    context = match receipt {
        Some(receipt) => receipt_context(receipt, context).set("quote.id", quote.id.as_str()),
        None => context.set("receipt.id", Value::Null),
    };
    let attempt = attempt.filter(|_| receipt.is_none());
    let payment_attempt = match attempt {
        None => Value::Null,
        Some(attempt) => {
            context.put("status.retry_after_seconds", STATUS_RETRY_AFTER_SECONDS);
            if attempt.kind == RailKind::X402Deposit {
                let mut deposit =
                    deposit_context(state, quote.terms.method.as_str(), quote.terms.credits);
                deposit.put("attempt.id", attempt.id.as_str());
                version.answers.fragment("deposit_attempt", &deposit)
            } else {
                context = attempt_context(state, attempt, context);
                version.answers.fragment("checkout_attempt", &context)
            }
        }
    };
    context.put("status.payment_attempt", payment_attempt);
    version
        .answers
        .operation("getCreditPurchaseStatus", &context)
}

/// `GET /v1/models`: the public registry.
pub(crate) fn models(state: &mut State, _: &Call) -> Handled {
    let version = &state.version;
    Ok(Outcome::Data(
        version.seed.catalog.models_json(&version.answers),
    ))
}

/// `GET /v1/models/{MODEL_ID}`: one model's capability-preserving schema.
pub(crate) fn model(state: &mut State, call: &Call) -> Handled {
    let id = call.path_id();
    state
        .version
        .seed
        .catalog
        .find(&id)
        .map(|m| Outcome::Data(m.detail_json(&state.version.seed.catalog, &state.version.answers)))
        .ok_or_else(|| {
            ApiError::not_found(format!("no model `{id}`"))
                .suggest("image-skill models list --json".to_string())
        })
}

/// `GET /v1/capabilities`.
pub(crate) fn capabilities(state: &mut State, _: &Call) -> Handled {
    Ok(Outcome::Data(
        state
            .version
            .seed
            .catalog
            .capabilities_json(&state.version.answers),
    ))
}

/// The short handoff link (`followCheckoutHandoff`). It always redirects
/// to the full URL, fragment and all, whatever the profile.
pub(crate) fn pay_redirect(state: &mut State, call: &Call) -> Handled {
    let req = call.req;
    let id = state.version.handoff_id(&req.path).unwrap_or_default();
    state
        .attempts
        .get(id)
        .map(|a| Outcome::Redirect(a.checkout_url.clone()))
        .ok_or_else(|| {
            gone(
                &state.attempts,
                "payment attempt",
                id,
                ApiError::not_found(format!("no payment attempt `{id}`")),
            )
        })
}

pub(crate) fn no_route(_: &mut State, call: &Call) -> Handled {
    let req = call.req;
    Err(ApiError::not_found(format!(
        "no route for {} {}",
        req.method, req.path
    )))
}

/// An operation of the loaded API model that the mock has no code for.
pub(crate) fn not_implemented(_: &mut State, call: &Call) -> Handled {
    let req = call.req;
    Err(ApiError::new(
        501,
        "NOT_IMPLEMENTED",
        format!(
            "the reference mock does not serve {} {} yet",
            req.method, req.path
        ),
    ))
}

/// The quote id and idempotency key of a payment call, where the
/// version's request map places them; the model says which fields the
/// operation accepts.
fn payment_fields<'b>(
    state: &State,
    operation_id: &str,
    body: &'b Map<String, Value>,
) -> Result<(&'b str, &'b str), ApiError> {
    check_fields(&state.version.api, operation_id, body, &[])?;
    let reads = state.version.answers.reads(operation_id);
    Ok((
        required_str(body, reads.field("quote.id"))?,
        required_str(body, reads.field("idempotency_key"))?,
    ))
}

/// The quote a payment call names, which must be on `rail`; `recovery`
/// says what to run instead when it is on the other one.
fn quote_on_rail<'s>(
    state: &'s State,
    quote_id: &str,
    rail: &str,
    recovery: impl FnOnce(&Quote) -> String,
) -> Result<&'s Quote, ApiError> {
    let quote = find_quote(state, quote_id)?;
    if quote.terms.method != rail {
        return Err(ApiError::new(
            409,
            "PAYMENT_METHOD_MISMATCH",
            format!(
                "quote `{quote_id}` accepts payment method `{}`, not `{}`",
                quote.terms.method, rail
            ),
        )
        .suggest(recovery(quote)));
    }
    Ok(quote)
}

fn find_quote<'s>(state: &'s State, quote_id: &str) -> Result<&'s Quote, ApiError> {
    state.quotes.get(quote_id).ok_or_else(|| {
        gone(
            &state.quotes,
            "credit quote",
            quote_id,
            ApiError::new(
                404,
                "CREDIT_QUOTE_NOT_FOUND",
                format!("no credit quote `{quote_id}`"),
            ),
        )
    })
}

/// `missing`, unless `store` made `id` and has forgotten it since: that is
/// said as such (410), never as a record that did not exist.
pub(crate) fn gone<T>(store: &Retained<T>, what: &str, id: &str, missing: ApiError) -> ApiError {
    if store.evicted(id) {
        ApiError::evicted(what, id, store.cap())
    } else {
        missing
    }
}

// The contract names no code for reusing a buy/fake-purchase key on another
// quote; IDEMPOTENCY_KEY_CONFLICT is conform's convention.
fn key_conflict(key: &str, other_quote: &str) -> ApiError {
    ApiError::new(
        409,
        "IDEMPOTENCY_KEY_CONFLICT",
        format!("idempotency key `{key}` was already used for quote `{other_quote}`"),
    )
}

pub(crate) fn json_object(req: &Request) -> Result<Map<String, Value>, ApiError> {
    let value: Value = serde_json::from_slice(&req.body).map_err(|e| {
        ApiError::new(
            400,
            "INVALID_JSON",
            format!("request body is not valid JSON: {e}"),
        )
    })?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(ApiError::invalid(format!(
            "request body must be a JSON object, got {}",
            kind(&other)
        ))),
    }
}

pub(crate) fn reject_unknown(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match body.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(ApiError::invalid(format!(
            "unknown field `{unknown}` (expected: {})",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

/// Absent means "not given"; `null` is refused like any other wrong type,
/// since the contract types these fields without null.
pub(crate) fn optional_str<'b>(
    body: &'b Map<String, Value>,
    field: &str,
) -> Result<Option<&'b str>, ApiError> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Err(ApiError::invalid(format!(
            "field `{field}` must not be empty"
        ))),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(ApiError::invalid(format!(
            "field `{field}` must be a string, got {}",
            kind(other)
        ))),
    }
}

pub(crate) fn required_str<'b>(
    body: &'b Map<String, Value>,
    field: &str,
) -> Result<&'b str, ApiError> {
    optional_str(body, field)?
        .ok_or_else(|| ApiError::invalid(format!("missing required field `{field}`")))
}

fn optional_credits(body: &Map<String, Value>, field: &str) -> Result<Option<u64>, ApiError> {
    match body.get(field) {
        None => Ok(None),
        Some(value @ Value::Number(n)) => whole_number(value).map(Some).ok_or_else(|| {
            ApiError::invalid(format!(
                "field `{field}` must be a whole number of credits, got {n}"
            ))
        }),
        Some(other) => Err(ApiError::invalid(format!(
            "field `{field}` must be an integer, got {}",
            kind(other)
        ))),
    }
}

/// A non-negative JSON Schema `integer`: `299.0` is one as much as `299`.
pub(crate) fn whole_number(value: &Value) -> Option<u64> {
    // 2^64 as f64; anything at or above it does not fit a u64.
    const LIMIT: f64 = 18_446_744_073_709_551_616.0;
    value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..LIMIT).contains(f))
            .map(|f| f as u64)
    })
}

pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn null_is_a_wrong_type_not_an_absent_field() {
        let given = body(json!({ "agent_name": null, "credits": null }));
        assert!(matches!(
            optional_str(&body(json!({})), "agent_name"),
            Ok(None)
        ));
        assert_eq!(
            optional_str(&given, "agent_name").map_err(|e| e.message),
            Err("field `agent_name` must be a string, got null".to_string())
        );
        assert_eq!(
            optional_credits(&given, "credits").map_err(|e| e.code),
            Err("INVALID_REQUEST")
        );
    }

    #[test]
    fn whole_numbers_may_be_written_as_floats() {
        assert_eq!(whole_number(&json!(299)), Some(299));
        assert_eq!(whole_number(&json!(299.0)), Some(299));
        assert_eq!(whole_number(&json!(299.5)), None);
        assert_eq!(whole_number(&json!(-1)), None);
        assert_eq!(whole_number(&json!(1e300)), None);
        assert_eq!(whole_number(&json!("299")), None);
    }
}
