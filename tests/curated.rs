//! The schemas a person curated where `contracts add` could only widen
//! (0.1.10, 0.1.21, 0.1.28, 0.1.43): each is as strict as its release's
//! docs are explicit, and no shipped version is left with `undecided`.

use conform::contract::Contract;
use serde_json::{Value, json};

fn accepts(version: &str, schema: &str, value: &Value) -> bool {
    let contract = Contract::embedded(version).expect("shipped contract");
    contract
        .validate(schema, value)
        .expect("schema in contract")
        .is_empty()
}

fn without(mut value: Value, key: &str) -> Value {
    value.as_object_mut().expect("object").remove(key);
    value
}

fn with(mut value: Value, pointer: &str, new: Value) -> Value {
    *value.pointer_mut(pointer).expect("pointer exists") = new;
    value
}

#[test]
fn no_shipped_version_is_left_undecided() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let mut undecided = Vec::new();
    for entry in std::fs::read_dir(&root).expect("schemas/") {
        let manifest = entry.expect("entry").path().join("contract.json");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let value: Value = serde_json::from_str(&text).expect("manifest is JSON");
        if value["undecided"].as_array().is_some_and(|u| !u.is_empty())
            || value["status"] == "needs-curation"
        {
            undecided.push(manifest.display().to_string());
        }
    }
    assert!(undecided.is_empty(), "still to curate: {undecided:?}");
}

fn fake_quote() -> Value {
    json!({
        "quote_id": "quote_000001", "state": "created", "credits": 10,
        "price_amount_cents": 10, "currency": "USD",
        "expires_at": "2026-05-08T20:00:00.000Z", "accepted_payment_method": "fake",
        "idempotency_key": "quote-run-001", "pack_id": null, "pack": null,
        "live_money": false, "x402": null
    })
}

#[test]
fn a_quote_is_whole_unless_it_is_the_x402_challenge_excerpt() {
    assert!(accepts("0.1.10", "credit-quote", &fake_quote()));
    // The docs' minimum: a whole quote misses none of it.
    assert!(!accepts(
        "0.1.10",
        "credit-quote",
        &without(fake_quote(), "quote_id")
    ));
    assert!(!accepts(
        "0.1.10",
        "credit-quote",
        &without(fake_quote(), "idempotency_key")
    ));
    assert!(!accepts(
        "0.1.10",
        "credit-quote",
        &with(fake_quote(), "/live_money", json!(true))
    ));
    // The excerpt names its rail, no-spend, and a challenge with its fields.
    let excerpt = json!({
        "accepted_payment_method": "x402.fake.exact", "live_money": false,
        "x402": {
            "scheme": "exact", "network": "local-no-spend", "asset": "synthetic-usdc",
            "settlement": "fake_no_spend", "challenge_id": "x402_chal_1", "quote_digest": "79bd1",
            "idempotency_key_hash": "bf85a", "payment_required_hash": "0e65",
            "expires_at": "2026-05-08T20:00:00.000Z",
            "redacted_headers": { "payment_required": "r", "payment_signature": "s", "payment_response": "p" }
        }
    });
    assert!(accepts("0.1.10", "credit-quote", &excerpt));
    assert!(!accepts(
        "0.1.10",
        "credit-quote",
        &with(excerpt.clone(), "/live_money", json!(true))
    ));
    assert!(!accepts(
        "0.1.10",
        "credit-quote",
        &with(excerpt.clone(), "/x402", json!(null))
    ));
    assert!(!accepts(
        "0.1.10",
        "credit-quote",
        &with(excerpt, "/x402/challenge_id", json!(null))
    ));
    // Inherited: 0.1.70 keeps the rule.
    assert!(!accepts(
        "0.1.70",
        "credit-quote",
        &without(fake_quote(), "expires_at")
    ));
}

#[test]
fn a_rail_says_its_status_and_a_purchasable_one_its_endpoint() {
    let rail = json!({
        "method_id": "stripe_checkout", "status": "available", "available": true,
        "quoteable": true, "purchasable": true, "live_money": true,
        "buyer_modes": ["hybrid", "human_only"], "requires_browser": true,
        "purchase_endpoint": "/v1/credit-purchases/stripe-checkout-sessions"
    });
    let methods = |rail: Value| {
        json!({
            "contract_version": "image-skill.payment-methods.v1", "credit_unit_cents": 1,
            "currency": "USD", "quote_endpoint": "/v1/credit-quotes",
            "packs_endpoint": "/v1/credit-packs", "status_endpoint": "/v1/credit-purchases/status",
            "methods": [rail]
        })
    };
    assert!(accepts("0.1.10", "payment-methods", &methods(rail.clone())));
    assert!(!accepts(
        "0.1.10",
        "payment-methods",
        &methods(without(rail.clone(), "status"))
    ));
    assert!(!accepts(
        "0.1.10",
        "payment-methods",
        &methods(without(rail.clone(), "purchase_endpoint"))
    ));
    let preview = with(
        with(
            without(rail, "purchase_endpoint"),
            "/purchasable",
            json!(false),
        ),
        "/available",
        json!(false),
    );
    // A rail shown for planning only needs no endpoint, but says why.
    assert!(!accepts(
        "0.1.10",
        "payment-methods",
        &methods(preview.clone())
    ));
    let mut explained = preview;
    explained["unavailable_reason"] = json!("not_configured");
    assert!(accepts("0.1.10", "payment-methods", &methods(explained)));
}

#[test]
fn credits_buy_answers_have_each_rails_fields() {
    let deposit = json!({
        "state": "action_required", "quote_id": "quote_000001", "payment_attempt_id": "payatt_000001",
        "provider": "stripe", "accepted_payment_method": "stripe_x402.exact.usdc",
        "credits": 500, "amount_cents": 500, "currency": "USD", "live_money": true,
        "stripe_x402": {
            "method_id": "stripe_x402.exact.usdc", "scheme": "exact", "network": "base",
            "token_currency": "usdc", "deposit_address_present": true
        },
        "next": { "agent_action": "pay_stripe_crypto_deposit", "suggested_commands": [] }
    });
    assert!(accepts("0.1.21", "stripe-checkout-session", &deposit));
    assert!(!accepts(
        "0.1.21",
        "stripe-checkout-session",
        &without(deposit.clone(), "stripe_x402")
    ));
    assert!(!accepts(
        "0.1.21",
        "stripe-checkout-session",
        &without(deposit.clone(), "next")
    ));
    assert!(!accepts(
        "0.1.21",
        "stripe-checkout-session",
        &with(deposit, "/live_money", json!(false))
    ));
    // A Checkout handoff still needs every field of its example.
    let checkout = json!({
        "state": "action_required", "quote_id": "quote_000001", "provider": "stripe",
        "accepted_payment_method": "stripe_checkout", "amount_cents": 500,
        "currency": "USD", "live_money": true
    });
    assert!(!accepts("0.1.10", "stripe-checkout-session", &checkout));
    assert!(!accepts("0.1.21", "stripe-checkout-session", &checkout));
}

#[test]
fn whoami_jobs_and_create_keep_their_documented_minimum() {
    let session = json!({
        "authenticated": true, "session_origin": "loaded_from_config",
        "token_status": "active", "token_created_at": null
    });
    // The docs: token_created_at is null when it cannot be proved.
    assert!(accepts("0.1.28", "whoami", &session));
    assert!(!accepts(
        "0.1.28",
        "whoami",
        &without(session, "token_status")
    ));

    let cost = json!({ "estimated_usd": 0.05, "provider_reported_usd_ticks": null });
    let job = json!({
        "request": { "job_id": "job_000001" }, "status": "completed", "state": "completed",
        "assets": [], "cost": cost,
        "job": { "job_id": "job_000001", "status": "completed", "assets": [], "cost": cost }
    });
    assert!(accepts("0.1.28", "job", &job));
    assert!(!accepts("0.1.28", "job", &without(job.clone(), "job")));
    assert!(!accepts("0.1.28", "job", &without(job, "state")));

    let in_flight = json!({ "in_flight": {
        "command": "image-skill create", "idempotency_key": "create-1",
        "recover_command": "image-skill create --idempotency-key create-1 --json"
    }});
    assert!(accepts("0.1.43", "create", &in_flight));
    // Anything else is the create data, with every required field.
    assert!(!accepts("0.1.43", "create", &json!({ "assets": [] })));
}
