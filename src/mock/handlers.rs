//! Endpoint logic. A handler reads the request, updates the state and returns
//! the `data` of a success envelope, a redirect, or an API error; the
//! responder in `mod.rs` does auth, the envelope, the profile and recording.

use serde_json::{Map, Value, json};

use super::call::{ApiError, Call, Handled, Outcome};
use super::ledger::{self, NewEvent};
use super::request::{check_fields, path_of};
use super::retain::Retained;
use super::state::{Agent, Attempt, Pack, Quote, QuoteTerms, Receipt, State, checkout_url};
use super::wire::Request;

/// Fixed so responses are reproducible; the mock never expires quotes.
const STRIPE_CHECKOUT: &str = "stripe_checkout";
const FAKE: &str = "fake";
const X402_FAKE: &str = "x402.fake.exact";
const STRIPE_X402: &str = "stripe_x402.exact.usdc";
const QUOTE_EXPIRES_AT: &str = "2026-05-08T20:00:00.000Z";
const JOBS_RESET_AT: &str = "2026-05-09T00:00:00.000Z";
const STATUS_RETRY_AFTER_SECONDS: u64 = 10;

pub(crate) fn healthz(_: &mut State, _: &Call) -> Handled {
    Ok(Outcome::Data(json!({ "status": "ok" })))
}

/// Token class of every token the mock issues.
const TOKEN_CLASS: &str = "restricted_agent";

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
    check_fields(&state.version.api, "createAgentSignup", &body, &[])?;
    let contact = required_str(&body, "human_email")?;
    if !contact.contains('@') {
        return Err(ApiError::invalid(
            "field `human_email` must be an email address (the accountable contact)",
        ));
    }
    let name = optional_str(&body, "agent_name")?.unwrap_or("agent");
    let runtime = optional_str(&body, "runtime")?;
    let (agent, token, rotated) = state.sign_up(contact, name);
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
    let seed = &state.version.seed;
    let (free_preview, daily_limit) = (seed.free_preview_credits, seed.daily_job_limit);
    json!({
        "credits": {
            "balance": state.balance,
            "free_preview_remaining": free_preview.saturating_sub(state.free_preview_used)
        },
        "jobs": {
            "daily_limit": daily_limit,
            "used_today": state.jobs_run,
            "remaining_today": daily_limit.saturating_sub(state.jobs_run),
            "resets_at": JOBS_RESET_AT
        }
    })
}

/// The version's rails, each with its seed catalog entry.
pub(crate) fn payment_methods(state: &mut State, _: &Call) -> Handled {
    let version = &state.version;
    let seed = &version.seed;
    let methods: Vec<Value> = version
        .rails
        .iter()
        .map(|rail| {
            let mut method = Map::new();
            method.insert("method_id".into(), json!(rail));
            method.insert("available".into(), json!(true));
            if let Some(Value::Object(entry)) = seed.rail(rail) {
                for key in [
                    "live_money",
                    "buyer_modes",
                    "requires_browser",
                    "purchase_endpoint",
                ] {
                    if let Some(value) = entry.get(key) {
                        method.insert(key.into(), value.clone());
                    }
                }
            }
            if rail == "stripe_checkout" {
                method.insert("default_pack_id".into(), json!(seed.default_pack_id));
            }
            Value::Object(method)
        })
        .collect();
    Ok(Outcome::Data(json!({
        "contract_version": "image-skill.payment-methods.v1",
        "credit_unit_cents": 1,
        "currency": "USD",
        "quote_endpoint": path_of(&version.api, "createCreditQuote"),
        "packs_endpoint": path_of(&version.api, "listCreditPacks"),
        "status_endpoint": path_of(&version.api, "getCreditPurchaseStatus"),
        "methods": methods
    })))
}

pub(crate) fn credit_packs(state: &mut State, _: &Call) -> Handled {
    let seed = &state.version.seed;
    Ok(Outcome::Data(json!({
        "credit_unit_cents": 1,
        "credit_unit_usd": 0.01,
        "currency": "USD",
        "default_pack_id": seed.default_pack_id,
        "packs": seed.packs.iter().map(pack_json).collect::<Vec<_>>(),
        "custom_quotes": {
            "supported": true,
            "min_credits": seed.min_credits,
            "max_credits": seed.max_credits
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
    let version = std::sync::Arc::clone(&state.version);
    check_fields(&version.api, "createCreditQuote", &body, &[])?;
    let (min, max) = (version.seed.min_credits, version.seed.max_credits);
    let credits = optional_credits(&body, "credits")?;
    let pack_id = optional_str(&body, "pack_id")?;
    let rails = || {
        version
            .rails
            .iter()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // The rails and the default are the version's: a rail it does not
    // document is refused, and from 0.1.29 there is no default.
    let method = match optional_str(&body, "payment_method")? {
        None => version.quote_default.clone().ok_or_else(|| {
            ApiError::invalid(format!(
                "missing required field `payment_method` (one of {})",
                rails()
            ))
            .require_flag("--payment-method")
        })?,
        Some(m) if version.has_rail(m) => m.to_string(),
        Some(m) => {
            return Err(ApiError::invalid(format!(
                "field `payment_method` must be one of {}, got `{m}`",
                rails()
            )));
        }
    };
    let key = optional_str(&body, "idempotency_key")?;
    let terms = match (credits, pack_id) {
        (Some(credits), None) => {
            if !(min..=max).contains(&credits) {
                return Err(ApiError::invalid(format!(
                    "field `credits` must be from {min} to {max}, got {credits}"
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
            version.quote_default.as_deref(),
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

fn quote_data(state: &State, quote: &Quote) -> Value {
    let seed = &state.version.seed;
    let rail = quote.terms.method.as_str();
    let mut data = json!({
        "quote_id": quote.id,
        "state": "created",
        "credits": quote.terms.credits,
        "price_amount_cents": quote.terms.credits,
        "currency": "USD",
        "expires_at": QUOTE_EXPIRES_AT,
        "accepted_payment_method": rail,
        "idempotency_key": quote.idempotency_key,
        "pack_id": quote.terms.pack.as_ref().map(|p| p.id.clone()),
        "pack": quote.terms.pack.as_ref().map(pack_json),
        "live_money": seed.live_money(rail)
    });
    // Only a release with the rehearsal rail documents the field (null
    // on its other rails).
    if state.version.has_rail(X402_FAKE) {
        data["x402"] = x402_challenge(state, quote);
    }
    data
}

/// The no-spend x402 rehearsal challenge of an `x402.fake.exact` quote
/// (null on other rails): synthetic values, derived from the quote so a
/// purchase can be checked against them. No wallet, no settlement.
fn x402_challenge(state: &State, quote: &Quote) -> Value {
    let Some(Value::Object(rail)) = state.version.seed.rail(&quote.terms.method) else {
        return Value::Null;
    };
    let Some(Value::Object(x402)) = rail.get("x402") else {
        return Value::Null;
    };
    let mut challenge = x402.clone();
    let digest = |what: &str| {
        format!(
            "{:016x}",
            crate::hash::fnv1a(format!("{what}\n{}", quote.id).as_bytes())
        )
    };
    challenge.insert(
        "challenge_id".into(),
        json!(format!(
            "x402_chal_{}",
            quote.id.trim_start_matches("quote_")
        )),
    );
    challenge.insert("quote_digest".into(), json!(digest("quote")));
    challenge.insert(
        "idempotency_key_hash".into(),
        json!(digest(quote.idempotency_key.as_deref().unwrap_or_default())),
    );
    challenge.insert(
        "payment_required_hash".into(),
        json!(digest("payment_required")),
    );
    challenge.insert("expires_at".into(), json!(QUOTE_EXPIRES_AT));
    challenge.insert("redacted_headers".into(), x402_redacted_headers());
    Value::Object(challenge)
}

fn x402_redacted_headers() -> Value {
    json!({
        "payment_required": "[redacted-x402-payment-required]",
        "payment_signature": "[redacted-x402-payment-signature]",
        "payment_response": "[redacted-x402-payment-response]"
    })
}

/// The CLI command that requests `terms` again under a new key.
/// The rail flag is left out where the version's default picks it.
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
    let body = json_object(call.req)?;
    let (quote_id, key) = payment_fields(state, "createStripeCheckoutSession", &body)?;
    let quote = quote_on_rail(state, quote_id, STRIPE_CHECKOUT, |q| {
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
        rail: STRIPE_CHECKOUT,
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
    let mut data = json!({
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
    });
    without_handoff(state, &mut data);
    data
}

/// A release without the `/pay/<id>` route sends no handoff URL: its
/// compact URL is the full Stripe one.
fn without_handoff(state: &State, value: &mut Value) {
    if state.version.serves_handoff {
        return;
    }
    match value {
        Value::Object(map) => {
            if let Some(Value::String(handoff)) = map.remove("checkout_handoff_url") {
                let full = map
                    .get("checkout_url")
                    .or_else(|| map.get("fallback_checkout_url"))
                    .cloned();
                if map.get("checkout_compact_url").and_then(Value::as_str) == Some(handoff.as_str())
                {
                    match full {
                        Some(full) => {
                            map.insert("checkout_compact_url".into(), full);
                        }
                        None => {
                            map.remove("checkout_compact_url");
                        }
                    }
                }
            }
            map.values_mut().for_each(|v| without_handoff(state, v));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| without_handoff(state, v)),
        _ => {}
    }
}

/// `POST /v1/credit-purchases`: the fake/test rail, and from 0.1.10 the
/// no-spend `x402.fake.exact` rehearsal, whose challenge fields must match
/// the quote's. Either grants synthetic credits; neither moves money.
pub(crate) fn fake_purchase(state: &mut State, call: &Call) -> Handled {
    let body = json_object(call.req)?;
    // The rehearsal rail's purchase carries the challenge's fields too;
    // its seed entry lists them (`purchase_fields`).
    let extra: Vec<String> = if state.version.has_rail(X402_FAKE) {
        state
            .version
            .seed
            .rail(X402_FAKE)
            .and_then(|r| r.get("purchase_fields"))
            .and_then(|f| serde_json::from_value(f.clone()).ok())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    check_fields(&state.version.api, "createFakePurchase", &body, &extra)?;
    let quote_id = required_str(&body, "quote_id")?;
    let key = required_str(&body, "idempotency_key")?;
    let rail = find_quote(state, quote_id)?.terms.method.clone();
    let rail = if rail == X402_FAKE { X402_FAKE } else { FAKE };
    let quote = quote_on_rail(state, quote_id, rail, |_| {
        format!(
            "image-skill credits buy --provider stripe --quote-id {quote_id} --idempotency-key KEY --json"
        )
    })?;
    if let Some(given) = optional_str(&body, "payment_method")?
        && given != rail
    {
        return Err(ApiError::invalid(format!(
            "field `payment_method` is `{given}` but quote `{quote_id}` accepts `{rail}`"
        )));
    }
    let challenge = x402_challenge(state, quote);
    if let Value::Object(challenge) = &challenge {
        for (field, from) in [
            ("x402_challenge_id", "challenge_id"),
            ("x402_quote_digest", "quote_digest"),
            ("x402_payment_required_hash", "payment_required_hash"),
            ("x402_network", "network"),
            ("x402_asset", "asset"),
        ] {
            if let Some(given) = optional_str(&body, field)?
                && challenge.get(from).and_then(Value::as_str) != Some(given)
            {
                return Err(ApiError::invalid(format!(
                    "field `{field}` does not match the challenge of quote `{quote_id}`; nothing was granted"
                )));
            }
        }
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
            state, receipt, rail, &challenge,
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
    let data = purchase_data(state, &receipt, rail, &challenge);
    ledger::record(
        state,
        call,
        NewEvent {
            kind: "credits.payment_backed_granted",
            subject: ("credit", receipt.credit_event_id.clone()),
            operation: "credits",
            summary: format!(
                "{credits} payment-backed credits granted ({rail} rail, no live money)"
            ),
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

fn purchase_data(state: &State, receipt: &Receipt, rail: &str, challenge: &Value) -> Value {
    let mut data = json!({
        "state": "succeeded",
        "quote_id": receipt.quote_id,
        "receipt_id": receipt.id,
        "credit_event_id": receipt.credit_event_id,
        "credits_granted": receipt.credits,
        "amount_cents": receipt.credits,
        "currency": "USD",
        "accepted_payment_method": rail,
        "idempotency_key": receipt.idempotency_key,
        "balance_after": receipt.balance_after,
        "live_money": state.version.seed.live_money(rail)
    });
    if let Value::Object(challenge) = challenge {
        let mut x402 = challenge.clone();
        x402.remove("expires_at");
        x402.insert("amount_cents".into(), json!(receipt.credits));
        x402.insert("credits".into(), json!(receipt.credits));
        let digest = |what: &str| {
            format!(
                "{:016x}",
                crate::hash::fnv1a(format!("{what}\n{}", receipt.id).as_bytes())
            )
        };
        x402.insert(
            "purchase_idempotency_key_hash".into(),
            json!(digest(&receipt.idempotency_key)),
        );
        x402.insert(
            "payment_signature_hash".into(),
            json!(digest("payment_signature")),
        );
        x402.insert(
            "payment_response_hash".into(),
            json!(digest("payment_response")),
        );
        data["provider"] = json!("x402");
        data["x402"] = Value::Object(x402);
    }
    data
}

/// `POST /v1/credit-purchases/stripe-x402-deposits` (0.1.21 on): the
/// browserless USDC deposit challenge of a `stripe_x402.exact.usdc` quote.
/// It grants nothing; the mock never settles one, so its attempt stays
/// `action_required`. The deposit address is the seed's placeholder.
pub(crate) fn create_x402_deposit(state: &mut State, call: &Call) -> Handled {
    let body = json_object(call.req)?;
    let (quote_id, key) = payment_fields(state, "createStripeX402Deposit", &body)?;
    let quote = quote_on_rail(state, quote_id, STRIPE_X402, |q| {
        format!(
            "image-skill credits quote --credits {} --payment-method {STRIPE_X402} --json",
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
        return Ok(Outcome::Data(deposit_data(state, attempt, credits)));
    }
    let attempt = Attempt {
        id: state.next_attempt_id(),
        quote_id: quote_id.to_string(),
        rail: STRIPE_X402,
        session_id: String::new(),
        checkout_url: String::new(),
    };
    let data = deposit_data(state, &attempt, credits);
    ledger::record(
        state,
        call,
        NewEvent {
            kind: "payment.x402_deposit.created",
            subject: ("payment", attempt.id.clone()),
            operation: "payment",
            summary: format!("x402 deposit challenge created for {credits} credits"),
            status: "action_required",
            links: json!({ "quote_id": quote_id, "payment_attempt_id": attempt.id }),
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

fn deposit_data(state: &State, attempt: &Attempt, credits: u64) -> Value {
    json!({
        "state": "action_required",
        "quote_id": attempt.quote_id,
        "payment_attempt_id": attempt.id,
        "provider": "stripe",
        "accepted_payment_method": STRIPE_X402,
        "credits": credits,
        "amount_cents": credits,
        "currency": "USD",
        "live_money": state.version.seed.live_money(STRIPE_X402),
        "stripe_x402": stripe_x402(state, credits),
        "next": {
            "agent_action": "pay_stripe_crypto_deposit",
            "suggested_commands": [format!(
                "image-skill credits status --payment-attempt-id {} --json",
                attempt.id
            )]
        }
    })
}

/// The payable instructions of a deposit: amounts from the quote, the
/// network, token and (placeholder) addresses from the seed.
fn stripe_x402(state: &State, credits: u64) -> Value {
    let seed = state
        .version
        .seed
        .rail(STRIPE_X402)
        .and_then(|r| r.get("stripe_x402"))
        .cloned()
        .unwrap_or(Value::Null);
    let field = |k: &str| seed.get(k).cloned().unwrap_or(Value::Null);
    let decimals = seed
        .get("token_decimals")
        .and_then(Value::as_u64)
        .unwrap_or(6);
    let usd = format!("{}.{:02}", credits / 100, credits % 100);
    let atomic = u128::from(credits) * 10u128.pow(u32::try_from(decimals).unwrap_or(6)) / 100;
    json!({
        "method_id": STRIPE_X402,
        "scheme": field("scheme"),
        "network": field("network"),
        "token_currency": field("token_currency"),
        "deposit_address_present": true,
        "payable_instructions": {
            "kind": "stripe_crypto_deposit",
            "network": field("network"),
            "token_currency": field("token_currency"),
            "token_decimals": decimals,
            "token_amount": usd,
            "token_amount_atomic": atomic.to_string(),
            "amount_cents": credits,
            "amount_usd": usd,
            "deposit_address": field("deposit_address"),
            "token_contract_address": field("token_contract_address"),
            "supported_token_currencies": [field("token_currency")],
            "expires_at": QUOTE_EXPIRES_AT,
            "exact_amount_required": true
        }
    })
}

/// `POST /v1/agent-claims` (0.1.37 on): attaches a contact inbox to the
/// caller. The same contact again is `unchanged`, another replaces it;
/// never a verification, so the claim state stays `unclaimed`.
pub(crate) fn agent_claim(state: &mut State, call: &Call) -> Handled {
    let body = json_object(call.req)?;
    check_fields(&state.version.api, "createAgentClaim", &body, &[])?;
    let contact = required_str(&body, "contact")?;
    if !contact.contains('@') {
        return Err(ApiError::invalid(
            "field `contact` must be an email address",
        ));
    }
    let actor = call
        .caller
        .as_ref()
        .map_or(super::state::ACTOR_ID, |a| a.actor_id.as_str())
        .to_string();
    let previous = state.claims.insert(actor, contact.to_string());
    let unchanged = previous.as_deref() == Some(contact);
    Ok(Outcome::Data(json!({
        "state": if unchanged { "unchanged" } else { "attached" },
        "claim_state": "unclaimed",
        "claim_request_state": "requested"
    })))
}

pub(crate) fn purchase_status(state: &mut State, call: &Call) -> Handled {
    let req = call.req;
    let pairs: Vec<(String, String)> = req
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    // Exactly one of the operation's query parameters names the purchase.
    let refs: Vec<String> = state
        .version
        .api
        .endpoint("getCreditPurchaseStatus")
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
    let data = match reference.as_str() {
        "quote_id" => {
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
        "payment_attempt_id" | "checkout_session_id" => {
            let attempt = if reference == "payment_attempt_id" {
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
    let (status, next) = match (receipt, attempt) {
        (Some(_), _) => ("succeeded", json!({})),
        (None, Some(attempt)) if attempt.rail == STRIPE_X402 => (
            "action_required",
            json!({ "retry_after_seconds": STATUS_RETRY_AFTER_SECONDS }),
        ),
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
    let mut data = json!({
        "state": status,
        "quote": {
            "quote_id": quote.id,
            "credits": quote.terms.credits,
            "price_amount_cents": quote.terms.credits,
            "accepted_payment_method": quote.terms.method.as_str(),
            "pack_id": quote.terms.pack.as_ref().map(|p| p.id.clone())
        },
        "payment_attempt": attempt.map(|a| if a.rail == STRIPE_X402 {
            json!({
                "payment_attempt_id": a.id,
                "attempt_status": "requires_action",
                "stripe_x402": stripe_x402(state, quote.terms.credits)
            })
        } else {
            json!({
                "payment_attempt_id": a.id,
                "checkout_session_id": a.session_id,
                "checkout_handoff_url": state.handoff_url(&a.id),
                "checkout_compact_url": a.checkout_url,
                "checkout_url": a.checkout_url,
                "attempt_status": "requires_action"
            })
        }),
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
    });
    without_handoff(state, &mut data);
    data
}

/// `GET /v1/models`: the public registry.
pub(crate) fn models(state: &mut State, _: &Call) -> Handled {
    Ok(Outcome::Data(state.version.seed.catalog.models_json()))
}

/// `GET /v1/models/{MODEL_ID}`: one model's capability-preserving schema.
pub(crate) fn model(state: &mut State, call: &Call) -> Handled {
    let id = call.path_id();
    state
        .version
        .seed
        .catalog
        .find(&id)
        .map(|m| Outcome::Data(m.detail_json(&state.version.seed.catalog)))
        .ok_or_else(|| {
            ApiError::not_found(format!("no model `{id}`"))
                .suggest("image-skill models list --json".to_string())
        })
}

/// `GET /v1/capabilities`.
pub(crate) fn capabilities(state: &mut State, _: &Call) -> Handled {
    Ok(Outcome::Data(
        state.version.seed.catalog.capabilities_json(),
    ))
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

/// `quote_id` and `idempotency_key`, the body of both payment calls; the
/// model says which fields the operation accepts.
fn payment_fields<'b>(
    state: &State,
    operation_id: &str,
    body: &'b Map<String, Value>,
) -> Result<(&'b str, &'b str), ApiError> {
    check_fields(&state.version.api, operation_id, body, &[])?;
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
