//! Endpoint logic. A handler reads the request, updates the state and returns
//! the `data` of a success envelope, a redirect, or an API error; the
//! responder in `mod.rs` does auth, the envelope, the profile and recording.

use std::cell::Cell;

use serde_json::{Map, Value, json};

use super::ledger::{self, NewEvent};
use super::state::{
    Agent, Attempt, DEFAULT_PACK_ID, MAX_CREDITS, MIN_CREDITS, PACKS, Pack, PaymentMethod, Quote,
    QuoteTerms, Receipt, Signup, State, checkout_url, find_pack,
};
use super::wire::Request;

/// Fixed so responses are reproducible; the mock never expires quotes.
const QUOTE_EXPIRES_AT: &str = "2026-05-08T20:00:00.000Z";
const JOBS_RESET_AT: &str = "2026-05-09T00:00:00.000Z";
const FREE_PREVIEW_CREDITS: u64 = 10;
const DAILY_JOB_LIMIT: u64 = 2;
const STATUS_RETRY_AFTER_SECONDS: u64 = 10;
const STATUS_REFS: &[&str] = &[
    "quote_id",
    "payment_attempt_id",
    "checkout_session_id",
    "receipt_id",
];

pub(crate) enum Outcome {
    Data(Value),
    Redirect(String),
}

/// One request as a handler sees it.
pub(crate) struct Call<'r> {
    pub req: &'r Request,
    /// Who the bearer token stands for; `None` on public routes.
    pub caller: Option<Agent>,
    pub trace_id: String,
    /// The command the envelope names, when it is not the route's own:
    /// `/v1/cli` answers as the command it ran.
    pub command: Cell<Option<&'static str>>,
}

impl Call<'_> {
    /// The caller's organization; public routes act for nobody.
    pub(crate) fn organization(&self) -> &str {
        self.caller
            .as_ref()
            .map_or("", |agent| agent.organization_id.as_str())
    }

    /// The last path segment, percent-decoded: the `{ID}` of `/v1/x/{ID}`.
    pub(crate) fn path_id(&self) -> String {
        let path = &self.req.path;
        super::codec::percent_decode(path.rsplit('/').next().unwrap_or_default())
    }
}

#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub suggested_command: Option<String>,
    pub required_flag: Option<&'static str>,
}

impl ApiError {
    pub(crate) fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            suggested_command: None,
            required_flag: None,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "INVALID_REQUEST", message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, "NOT_FOUND", message)
    }

    pub(crate) fn suggest(mut self, command: String) -> ApiError {
        self.suggested_command = Some(command);
        self
    }

    pub(crate) fn require_flag(mut self, flag: &'static str) -> ApiError {
        self.required_flag = Some(flag);
        self
    }
}

pub(crate) type Handled = Result<Outcome, ApiError>;

pub(crate) fn healthz(_: &mut State, _: &Call) -> Handled {
    Ok(Outcome::Data(json!({ "status": "ok" })))
}

/// Token class of every token the mock issues.
const TOKEN_CLASS: &str = "restricted_agent";
const SIGNUP_FIELDS: &[&str] = &["human_email", "agent_name", "runtime"];

pub(crate) fn whoami(_: &mut State, call: &Call) -> Handled {
    let agent = call.caller.clone().unwrap_or_else(|| Agent {
        actor_id: super::state::ACTOR_ID.to_string(),
        organization_id: super::state::ORGANIZATION_ID.to_string(),
    });
    Ok(Outcome::Data(json!({
        "actor_type": "agent",
        "actor_id": agent.actor_id,
        "organization_id": agent.organization_id,
        "claim_state": "unclaimed",
        "token_class": TOKEN_CLASS,
        "grants": [
            "identity:read",
            "quota:read",
            "models:read",
            "feedback:create",
            "credits:quote",
            "credits:checkout",
            "credits:fake_purchase",
            "create:free_preview",
            "edit:free_preview",
            "asset.upload",
            "assets:read",
            "jobs:read",
            "activity:read"
        ]
    })))
}

/// `POST /v1/agent-signups`: creates a restricted agent, or rotates the
/// token of the one already made for the same contact and name. The new
/// token is returned once and the rotated one stops working.
pub(crate) fn agent_signup(state: &mut State, call: &Call) -> Handled {
    let body = json_object(call.req)?;
    reject_unknown(&body, SIGNUP_FIELDS)?;
    let contact = required_str(&body, "human_email")?;
    if !contact.contains('@') {
        return Err(ApiError::invalid(
            "field `human_email` must be an email address (the accountable contact)",
        ));
    }
    let name = optional_str(&body, "agent_name")?.unwrap_or("agent");
    let runtime = optional_str(&body, "runtime")?;
    let key = format!("{contact}\n{name}");
    let token = state.next_signup_token();
    let (agent, rotated) = match state.signups.get(&key) {
        Some(previous) => {
            let agent = previous.agent.clone();
            state.agents.remove(&previous.token);
            (agent, true)
        }
        None => (state.next_agent(), false),
    };
    state.agents.insert(token.clone(), agent.clone());
    state.signups.insert(
        key,
        Signup {
            agent: agent.clone(),
            token: token.clone(),
        },
    );
    Ok(Outcome::Data(json!({
        "token": token,
        "token_class": TOKEN_CLASS,
        "actor_type": "agent",
        "actor_id": agent.actor_id,
        "organization_id": agent.organization_id,
        "claim_state": "unclaimed",
        "agent_name": name,
        "runtime": runtime,
        "rotated": rotated
    })))
}

pub(crate) fn quota(state: &mut State, _: &Call) -> Handled {
    Ok(Outcome::Data(quota_data(state)))
}

/// The mock accounts for jobs and credits but enforces neither limit: the
/// docs name no error code for an exhausted quota, and suites run in
/// parallel against one mock.
pub(crate) fn quota_data(state: &State) -> Value {
    json!({
        "credits": {
            "balance": state.balance,
            "free_preview_remaining": FREE_PREVIEW_CREDITS.saturating_sub(state.free_preview_used)
        },
        "jobs": {
            "daily_limit": DAILY_JOB_LIMIT,
            "used_today": state.jobs_run,
            "remaining_today": DAILY_JOB_LIMIT.saturating_sub(state.jobs_run),
            "resets_at": JOBS_RESET_AT
        }
    })
}

pub(crate) fn payment_methods(_: &mut State, _: &Call) -> Handled {
    Ok(Outcome::Data(json!({
        "contract_version": "image-skill.payment-methods.v1",
        "credit_unit_cents": 1,
        "currency": "USD",
        "quote_endpoint": "/v1/credit-quotes",
        "packs_endpoint": "/v1/credit-packs",
        "status_endpoint": "/v1/credit-purchases/status",
        "methods": [
            {
                "method_id": "fake",
                "available": true,
                "live_money": false,
                "buyer_modes": ["agent_only", "hybrid", "human_only"],
                "requires_browser": false,
                "purchase_endpoint": "/v1/credit-purchases"
            },
            {
                "method_id": "stripe_checkout",
                "available": true,
                "live_money": true,
                "buyer_modes": ["hybrid", "human_only"],
                "requires_browser": true,
                "default_pack_id": DEFAULT_PACK_ID,
                "purchase_endpoint": "/v1/credit-purchases/stripe-checkout-sessions"
            }
        ]
    })))
}

pub(crate) fn credit_packs(_: &mut State, _: &Call) -> Handled {
    Ok(Outcome::Data(json!({
        "credit_unit_cents": 1,
        "credit_unit_usd": 0.01,
        "currency": "USD",
        "default_pack_id": DEFAULT_PACK_ID,
        "packs": PACKS.iter().map(pack_json).collect::<Vec<_>>(),
        "custom_quotes": {
            "supported": true,
            "min_credits": MIN_CREDITS,
            "max_credits": MAX_CREDITS
        }
    })))
}

fn pack_json(pack: &Pack) -> Value {
    json!({
        "pack_id": pack.id,
        "name": pack.name,
        "credits": pack.credits,
        "amount_cents": pack.credits,
        "currency": "USD"
    })
}

pub(crate) fn create_quote(state: &mut State, call: &Call) -> Handled {
    let req = call.req;
    let body = json_object(req)?;
    reject_unknown(
        &body,
        &["credits", "pack_id", "payment_method", "idempotency_key"],
    )?;
    let credits = optional_credits(&body, "credits")?;
    let pack_id = optional_str(&body, "pack_id")?;
    let method = match optional_str(&body, "payment_method")? {
        None => PaymentMethod::Fake,
        Some(m) => PaymentMethod::parse(m).ok_or_else(|| {
            ApiError::invalid(format!(
                "field `payment_method` must be `fake` or `stripe_checkout`, got `{m}`"
            ))
        })?,
    };
    let key = optional_str(&body, "idempotency_key")?;
    let terms = match (credits, pack_id) {
        (Some(credits), None) => {
            if !(MIN_CREDITS..=MAX_CREDITS).contains(&credits) {
                return Err(ApiError::invalid(format!(
                    "field `credits` must be from {MIN_CREDITS} to {MAX_CREDITS}, got {credits}"
                )));
            }
            QuoteTerms {
                credits,
                pack: None,
                method,
            }
        }
        (None, Some(id)) => {
            let pack = find_pack(id).ok_or_else(|| {
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
            return Err(ApiError::invalid(
                "exactly one of fields `credits` or `pack_id` is required",
            ));
        }
    };

    if let Some(key) = key
        && let Some(existing) = state
            .quote_keys
            .get(key)
            .and_then(|id| state.quotes.get(id))
    {
        if existing.terms == terms {
            return Ok(Outcome::Data(quote_data(existing)));
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
        .suggest(quote_command(&terms, &fresh)));
    }

    let id = state.next_quote_id();
    let quote = Quote {
        id: id.clone(),
        terms,
        idempotency_key: key.map(str::to_string),
        attempt_ids: Vec::new(),
        receipt_id: None,
    };
    let data = quote_data(&quote);
    if let Some(key) = key {
        state.quote_keys.insert(key.to_string(), id.clone());
    }
    state.quotes.insert(id, quote);
    Ok(Outcome::Data(data))
}

fn quote_data(quote: &Quote) -> Value {
    json!({
        "quote_id": quote.id,
        "state": "created",
        "credits": quote.terms.credits,
        "price_amount_cents": quote.terms.credits,
        "currency": "USD",
        "expires_at": QUOTE_EXPIRES_AT,
        "accepted_payment_method": quote.terms.method.as_str(),
        "idempotency_key": quote.idempotency_key,
        "pack_id": quote.terms.pack.map(|p| p.id),
        "pack": quote.terms.pack.as_ref().map(pack_json),
        "live_money": quote.terms.method == PaymentMethod::StripeCheckout
    })
}

/// The CLI command that requests `terms` again under a new key.
fn quote_command(terms: &QuoteTerms, key: &str) -> String {
    let amount = match terms.pack {
        Some(pack) => format!("--pack {}", pack.id),
        None => format!("--credits {}", terms.credits),
    };
    let method = match terms.method {
        PaymentMethod::Fake => "",
        PaymentMethod::StripeCheckout => " --payment-method stripe_checkout",
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
    let body = json_object(call.req)?;
    let (quote_id, key) = payment_fields(&body)?;
    let quote = quote_on_rail(state, quote_id, PaymentMethod::StripeCheckout, |q| {
        format!(
            "image-skill credits quote --credits {} --payment-method stripe_checkout --json",
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
        return Ok(Outcome::Data(session_data(
            state,
            attempt,
            quote.terms.credits,
        )));
    }

    let credits = quote.terms.credits;
    let attempt_id = state.next_attempt_id();
    let session_id = state.next_session_id();
    let attempt = Attempt {
        id: attempt_id.clone(),
        quote_id: quote_id.to_string(),
        checkout_url: checkout_url(&session_id),
        session_id,
    };
    state
        .attempt_keys
        .insert(key.to_string(), attempt_id.clone());
    if let Some(quote) = state.quotes.get_mut(quote_id) {
        quote.attempt_ids.push(attempt_id.clone());
    }
    let data = session_data(state, &attempt, credits);
    // The ledger names the ids only: Stripe URLs never enter it.
    ledger::record(
        state,
        call,
        NewEvent {
            kind: "payment.checkout_session.created",
            subject: ("payment", attempt_id.clone()),
            operation: "payment",
            summary: format!("Stripe Checkout session created for {credits} credits"),
            status: "action_required",
            links: json!({
                "quote_id": quote_id,
                "payment_attempt_id": attempt_id,
                "checkout_session_id": attempt.session_id
            }),
            estimated_usd: None,
        },
    );
    state.attempts.insert(attempt_id, attempt);
    Ok(Outcome::Data(data))
}

fn session_data(state: &State, attempt: &Attempt, credits: u64) -> Value {
    let handoff = state.handoff_url(&attempt.id);
    json!({
        "state": "action_required",
        "quote_id": attempt.quote_id,
        "payment_attempt_id": attempt.id,
        "provider": "stripe",
        "accepted_payment_method": "stripe_checkout",
        "checkout_session_id": attempt.session_id,
        "checkout_handoff_url": handoff,
        "checkout_compact_url": attempt.checkout_url,
        "checkout_url": attempt.checkout_url,
        "credits": credits,
        "amount_cents": credits,
        "currency": "USD",
        "live_money": true,
        "next": {
            "human_action": "open_checkout_url",
            "checkout_handoff_url": handoff,
            "checkout_compact_url": attempt.checkout_url,
            "fallback_checkout_url": attempt.checkout_url,
            "after_payment": format!(
                "open checkout_handoff_url (or the full checkout_url, fragment intact), then poll \
                 image-skill credits status --payment-attempt-id {} --json; credits arrive only \
                 after verified webhook fulfillment",
                attempt.id
            )
        }
    })
}

pub(crate) fn fake_purchase(state: &mut State, call: &Call) -> Handled {
    let body = json_object(call.req)?;
    let (quote_id, key) = payment_fields(&body)?;
    let quote = quote_on_rail(state, quote_id, PaymentMethod::Fake, |_| {
        format!(
            "image-skill credits buy --provider stripe --quote-id {quote_id} --idempotency-key KEY --json"
        )
    })?;
    if let Some(receipt) = state
        .purchase_keys
        .get(key)
        .and_then(|id| state.receipts.get(id))
    {
        if receipt.quote_id != quote_id {
            return Err(key_conflict(key, &receipt.quote_id));
        }
        // A replay returns the original receipt and grants nothing.
        return Ok(Outcome::Data(purchase_data(receipt)));
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
    let data = purchase_data(&receipt);
    ledger::record(
        state,
        call,
        NewEvent {
            kind: "credits.payment_backed_granted",
            subject: ("credit", receipt.credit_event_id.clone()),
            operation: "credits",
            summary: format!("{credits} payment-backed credits granted (fake/test rail)"),
            status: "succeeded",
            links: json!({
                "quote_id": quote_id,
                "receipt_id": receipt_id,
                "credit_event_id": receipt.credit_event_id
            }),
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

fn purchase_data(receipt: &Receipt) -> Value {
    json!({
        "state": "succeeded",
        "quote_id": receipt.quote_id,
        "receipt_id": receipt.id,
        "credit_event_id": receipt.credit_event_id,
        "credits_granted": receipt.credits,
        "amount_cents": receipt.credits,
        "currency": "USD",
        "accepted_payment_method": "fake",
        "idempotency_key": receipt.idempotency_key,
        "balance_after": receipt.balance_after,
        "live_money": false
    })
}

pub(crate) fn purchase_status(state: &mut State, call: &Call) -> Handled {
    let req = call.req;
    let pairs: Vec<(String, String)> = req
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let one_of = STATUS_REFS
        .iter()
        .map(|r| format!("`{r}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if let Some((unknown, _)) = pairs
        .iter()
        .find(|(k, _)| !STATUS_REFS.contains(&k.as_str()))
    {
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
    let data = match reference.as_str() {
        "quote_id" => {
            let quote = state.quotes.get(id).ok_or_else(unknown)?;
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
        "payment_attempt_id" | "checkout_session_id" => {
            let attempt = if reference == "payment_attempt_id" {
                state.attempts.get(id)
            } else {
                state.attempt_by_session(id)
            }
            .ok_or_else(unknown)?;
            let quote = state.quotes.get(&attempt.quote_id).ok_or_else(unknown)?;
            status_data(state, quote, Some(attempt), None)
        }
        _ => {
            let receipt = state.receipts.get(id).ok_or_else(unknown)?;
            let quote = state.quotes.get(&receipt.quote_id).ok_or_else(unknown)?;
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
    let (status, next) = match (receipt, attempt) {
        (Some(_), _) => ("succeeded", json!({})),
        (None, Some(attempt)) => (
            "action_required",
            json!({
                "retry_after_seconds": STATUS_RETRY_AFTER_SECONDS,
                "human_action": "open_checkout_url",
                "checkout_handoff_url": state.handoff_url(&attempt.id),
                "checkout_compact_url": attempt.checkout_url
            }),
        ),
        (None, None) => ("created", json!({})),
    };
    json!({
        "state": status,
        "quote": {
            "quote_id": quote.id,
            "credits": quote.terms.credits,
            "price_amount_cents": quote.terms.credits,
            "accepted_payment_method": quote.terms.method.as_str(),
            "pack_id": quote.terms.pack.map(|p| p.id)
        },
        "payment_attempt": attempt.map(|a| json!({
            "payment_attempt_id": a.id,
            "checkout_session_id": a.session_id,
            "checkout_handoff_url": state.handoff_url(&a.id),
            "checkout_compact_url": a.checkout_url,
            "checkout_url": a.checkout_url,
            "attempt_status": "requires_action"
        })),
        "receipt": receipt.map(|r| json!({
            "receipt_id": r.id,
            "credits_granted": r.credits,
            "amount_cents": r.credits,
            "currency": "USD"
        })),
        "credit_event": receipt.map(|r| json!({
            "credit_event_id": r.credit_event_id,
            "credits": r.credits
        })),
        "provider_event": null,
        "limits": quota_data(state),
        "next": next
    })
}

/// `GET /v1/models`: the public registry.
pub(crate) fn models(_: &mut State, _: &Call) -> Handled {
    Ok(Outcome::Data(super::catalog::models_json()))
}

/// `GET /v1/models/{MODEL_ID}`: one model's capability-preserving schema.
pub(crate) fn model(_: &mut State, call: &Call) -> Handled {
    let id = call.path_id();
    super::catalog::find(&id)
        .map(|m| Outcome::Data(m.detail_json()))
        .ok_or_else(|| {
            ApiError::not_found(format!("no model `{id}`"))
                .suggest("image-skill models list --json".to_string())
        })
}

/// `GET /v1/capabilities`.
pub(crate) fn capabilities(_: &mut State, _: &Call) -> Handled {
    Ok(Outcome::Data(super::catalog::capabilities_json()))
}

/// `GET /pay/<payment_attempt_id>`: the short handoff link. It always
/// redirects to the full URL, fragment and all, whatever the profile.
pub(crate) fn pay_redirect(state: &mut State, call: &Call) -> Handled {
    let req = call.req;
    let id = req.path.strip_prefix("/pay/").unwrap_or_default();
    state
        .attempts
        .get(id)
        .map(|a| Outcome::Redirect(a.checkout_url.clone()))
        .ok_or_else(|| ApiError::not_found(format!("no payment attempt `{id}`")))
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

/// `quote_id` and `idempotency_key`, both required and nothing else: the
/// body of both payment calls.
fn payment_fields(body: &Map<String, Value>) -> Result<(&str, &str), ApiError> {
    reject_unknown(body, &["quote_id", "idempotency_key"])?;
    Ok((
        required_str(body, "quote_id")?,
        required_str(body, "idempotency_key")?,
    ))
}

/// The quote a payment call names, which must be on `rail`; `recovery`
/// says what to run instead when it is on the other one.
fn quote_on_rail<'s>(
    state: &'s State,
    quote_id: &str,
    rail: PaymentMethod,
    recovery: impl FnOnce(&Quote) -> String,
) -> Result<&'s Quote, ApiError> {
    let quote = find_quote(state, quote_id)?;
    if quote.terms.method != rail {
        return Err(ApiError::new(
            409,
            "PAYMENT_METHOD_MISMATCH",
            format!(
                "quote `{quote_id}` accepts payment method `{}`, not `{}`",
                quote.terms.method.as_str(),
                rail.as_str()
            ),
        )
        .suggest(recovery(quote)));
    }
    Ok(quote)
}

fn find_quote<'s>(state: &'s State, quote_id: &str) -> Result<&'s Quote, ApiError> {
    state.quotes.get(quote_id).ok_or_else(|| {
        ApiError::new(
            404,
            "CREDIT_QUOTE_NOT_FOUND",
            format!("no credit quote `{quote_id}`"),
        )
    })
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
                "field `{field}` must be a whole number from {MIN_CREDITS} to {MAX_CREDITS}, got {n}"
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
