//! The reference mock, driven over HTTP the way conform's executor drives a
//! real target.

use conform::Error;
use conform::mock::{MockServer, Profile};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Target {
    server: MockServer,
    client: reqwest::Client,
}

/// Which way a request authenticates.
#[derive(Clone, Copy)]
enum Auth<'a> {
    Token,
    None,
    Header(&'a str),
}

struct Reply {
    status: StatusCode,
    content_type: Option<String>,
    location: Option<String>,
    text: String,
    json: Value,
}

impl Target {
    async fn start(profile: Profile) -> Target {
        // These tests are about 0.1.9's endpoints (fake rail included).
        let server = MockServer::start_for(&api_model(), profile, None, None)
            .await
            .expect("mock should start on an ephemeral port");
        conform::exec::http::install_tls_provider();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest client");
        Target { server, client }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        auth: Auth<'_>,
        body: Option<&str>,
    ) -> Reply {
        let url = format!("{}{path_and_query}", self.server.base_url());
        let mut request = self.client.request(method, url);
        match auth {
            Auth::Token => request = request.bearer_auth(self.server.token()),
            Auth::None => {}
            Auth::Header(value) => request = request.header("authorization", value),
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("mock should answer");
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().expect("ascii header").to_string())
        };
        let content_type = header("content-type");
        let location = header("location");
        let text = response.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            content_type,
            location,
            text,
            json,
        }
    }

    async fn get(&self, path_and_query: &str) -> Reply {
        self.send(reqwest::Method::GET, path_and_query, Auth::Token, None)
            .await
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(
            reqwest::Method::POST,
            path,
            Auth::Token,
            Some(&body.to_string()),
        )
        .await
    }

    async fn quote(&self, body: Value) -> Value {
        let reply = self.post("/v1/credit-quotes", body).await;
        assert_eq!(reply.status, StatusCode::OK, "quote failed: {}", reply.text);
        reply.json["data"].clone()
    }

    async fn checkout(&self, quote_id: &str, key: &str) -> Value {
        let reply = self
            .post(
                "/v1/credit-purchases/stripe-checkout-sessions",
                json!({ "quote_id": quote_id, "idempotency_key": key }),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "checkout session failed: {}",
            reply.text
        );
        reply.json["data"].clone()
    }

    async fn balance(&self) -> u64 {
        let reply = self.get("/v1/quota").await;
        reply.json["data"]["credits"]["balance"]
            .as_u64()
            .expect("quota reports a numeric balance")
    }
}

fn assert_success(reply: &Reply, command: &str) {
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{command} failed: {}",
        reply.text
    );
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    let body = &reply.json;
    assert_eq!(body["ok"], true);
    assert_eq!(body["command"], command);
    assert_trace_id(body);
    assert_eq!(body["warnings"], json!([]));
    assert_eq!(body["error"], Value::Null);
    assert!(body["data"].is_object(), "{command}: data is not an object");
}

fn assert_error(reply: &Reply, status: u16, command: &str, code: &str) {
    assert_eq!(
        reply.status.as_u16(),
        status,
        "expected {code}, got: {}",
        reply.text
    );
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    let body = &reply.json;
    assert_eq!(body["ok"], false);
    assert_eq!(body["command"], command);
    assert_trace_id(body);
    assert_eq!(body["actor"], Value::Null);
    assert_eq!(body["data"], Value::Null);
    assert_eq!(body["warnings"], json!([]));
    assert_eq!(body["error"]["code"], code);
    assert_eq!(body["error"]["retryable"], false);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "error without a message: {}",
        reply.text
    );
}

fn assert_trace_id(body: &Value) {
    let trace = body["trace_id"].as_str().expect("trace_id is a string");
    let hex = trace.strip_prefix("trace_").expect("trace_ prefix");
    assert_eq!(hex.len(), 16, "trace id {trace}");
    assert!(
        hex.chars().all(|c| c.is_ascii_hexdigit()),
        "trace id {trace}"
    );
}

fn fragment(url: &Value) -> Option<String> {
    url.as_str()
        .expect("checkout URL is a string")
        .split_once('#')
        .map(|(_, f)| f.to_string())
}

const CHECKOUT_URL_PATHS: &[&str] = &[
    "/checkout_url",
    "/checkout_compact_url",
    "/next/checkout_compact_url",
    "/next/fallback_checkout_url",
];

const STATUS_URL_PATHS: &[&str] = &[
    "/payment_attempt/checkout_url",
    "/payment_attempt/checkout_compact_url",
    "/next/checkout_compact_url",
];

#[test]
fn profiles_have_stable_names() {
    // Arrange
    let names: Vec<&str> = Profile::ALL.iter().map(|p| p.name()).collect();

    // Act
    let parsed: Vec<Profile> = names
        .iter()
        .map(|n| Profile::parse(n).expect("known profile"))
        .collect();
    let unknown = Profile::parse("nope").expect_err("unknown profile is rejected");

    // Assert
    assert_eq!(
        names,
        [
            "conformant",
            "regressed-0.1.8",
            "ignores-auth",
            "faults-5xx",
            "faults-garbage",
            "faults-slow",
            "faults-huge",
            "faults-reset"
        ]
    );
    assert_eq!(parsed, Profile::ALL);
    assert!(matches!(unknown, Error::Usage(_)));
    assert_eq!(
        unknown.to_string(),
        "unknown mock profile `nope` (known: conformant, regressed-0.1.8, ignores-auth, \
         faults-5xx, faults-garbage, faults-slow, faults-huge, faults-reset)"
    );
}

#[tokio::test]
async fn start_gives_a_loopback_base_url_and_a_restricted_token() {
    for &profile in Profile::CONTRACTS {
        // Act
        let target = Target::start(profile).await;
        let custom = MockServer::start_with_token(profile, None, "isk_r_given".to_string())
            .await
            .expect("mock starts with a given token");

        // Assert
        let base = target.server.base_url();
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        assert!(!base.ends_with('/'));
        let hex = target
            .server
            .token()
            .strip_prefix("isk_r_mock_")
            .expect("token prefix");
        assert_eq!(hex.len(), 32);
        assert!(hex.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(target.server.profile(), profile);
        assert_eq!(custom.token(), "isk_r_given");
        assert_ne!(custom.base_url(), base);
    }
}

#[tokio::test]
async fn public_endpoints_answer_without_auth_and_without_actor() {
    for &profile in Profile::CONTRACTS {
        // Arrange
        let target = Target::start(profile).await;

        for (path, command) in [
            ("/healthz", "healthz"),
            ("/v1/payment-methods", "credits methods"),
            ("/v1/credit-packs", "credits packs list"),
            ("/v1/models", "models list"),
            ("/v1/models/xai.grok-imagine-image", "models show"),
            ("/v1/capabilities", "capabilities list"),
        ] {
            // Act
            let reply = target
                .send(reqwest::Method::GET, path, Auth::None, None)
                .await;

            // Assert
            assert_success(&reply, command);
            assert_eq!(reply.json["actor"], Value::Null, "{path} has an actor");
        }

        let health = target.get("/healthz").await;
        assert_eq!(health.json["data"], json!({ "status": "ok" }));

        let methods = target.get("/v1/payment-methods").await.json["data"].clone();
        assert_eq!(
            methods["contract_version"],
            "image-skill.payment-methods.v1"
        );
        let ids: Vec<&str> = methods["methods"]
            .as_array()
            .expect("methods list")
            .iter()
            .map(|m| m["method_id"].as_str().expect("method_id"))
            .collect();
        assert_eq!(ids, ["fake", "stripe_checkout"]);
        assert_eq!(methods["methods"][1]["live_money"], true);
        assert_eq!(methods["methods"][1]["requires_browser"], true);

        let packs = target.get("/v1/credit-packs").await.json["data"].clone();
        let pack_ids: Vec<&str> = packs["packs"]
            .as_array()
            .expect("packs list")
            .iter()
            .map(|p| p["pack_id"].as_str().expect("pack_id"))
            .collect();
        assert_eq!(pack_ids, ["starter-500", "builder-2000", "studio-5000"]);
        assert_eq!(packs["default_pack_id"], "starter-500");
        assert_eq!(
            packs["custom_quotes"],
            json!({ "supported": true, "min_credits": 1, "max_credits": 5000 })
        );
    }
}

#[tokio::test]
async fn whoami_and_quota_describe_the_restricted_agent() {
    for &profile in Profile::CONTRACTS {
        // Arrange
        let target = Target::start(profile).await;

        // Act
        let whoami = target.get("/v1/whoami").await;
        let quota = target.get("/v1/quota").await;

        // Assert
        assert_success(&whoami, "whoami");
        assert_success(&quota, "usage quota");
        let actor = &whoami.json["actor"];
        assert_eq!(actor["actor_type"], "agent");
        assert_eq!(actor["claim_state"], "unclaimed");
        assert!(
            actor["actor_id"]
                .as_str()
                .is_some_and(|a| a.starts_with("agt_"))
        );
        assert!(
            actor["organization_id"]
                .as_str()
                .is_some_and(|o| o.starts_with("org_"))
        );
        let data = &whoami.json["data"];
        assert_eq!(data["actor_id"], actor["actor_id"]);
        assert_eq!(data["token_class"], "restricted_agent");
        assert!(data["grants"].as_array().is_some_and(|g| !g.is_empty()));
        assert_eq!(quota.json["data"]["credits"]["balance"], 0);
        assert!(quota.json["data"]["jobs"].is_object());
    }
}

#[tokio::test]
async fn protected_endpoints_reject_missing_and_invalid_tokens() {
    // Arrange
    let target = Target::start(Profile::Conformant).await;
    let protected = [
        (reqwest::Method::GET, "/v1/whoami", "whoami"),
        (reqwest::Method::GET, "/v1/quota", "usage quota"),
        (reqwest::Method::POST, "/v1/credit-quotes", "credits quote"),
        (
            reqwest::Method::POST,
            "/v1/credit-purchases/stripe-checkout-sessions",
            "credits buy",
        ),
        (
            reqwest::Method::GET,
            "/v1/credit-purchases/status?quote_id=quote_000001",
            "credits status",
        ),
        (
            reqwest::Method::POST,
            "/v1/credit-purchases",
            "credits fake-purchase",
        ),
        (reqwest::Method::POST, "/v1/create", "create"),
        (reqwest::Method::POST, "/v1/upload", "upload"),
        (reqwest::Method::POST, "/v1/edit", "edit"),
        (
            reqwest::Method::GET,
            "/v1/assets/image_000001",
            "assets show",
        ),
        (reqwest::Method::GET, "/v1/jobs/job_000001", "jobs show"),
        (reqwest::Method::GET, "/v1/activity", "activity list"),
        (
            reqwest::Method::GET,
            "/v1/activity/evt_000001",
            "activity show",
        ),
        (reqwest::Method::POST, "/v1/cli", "cli"),
    ];

    for (method, path, command) in protected {
        // Act
        let missing = target.send(method.clone(), path, Auth::None, None).await;
        let wrong = target
            .send(
                method.clone(),
                path,
                Auth::Header("Bearer isk_r_not_this_one"),
                None,
            )
            .await;
        let malformed = target
            .send(
                method.clone(),
                path,
                Auth::Header(target.server.token()),
                None,
            )
            .await;

        // Assert
        assert_error(&missing, 401, command, "AUTH_REQUIRED");
        assert_error(&wrong, 401, command, "AUTH_INVALID");
        assert_error(&malformed, 401, command, "AUTH_INVALID");
    }
}

#[tokio::test]
async fn quotes_follow_the_requested_terms() {
    for &profile in Profile::CONTRACTS {
        // Arrange
        let target = Target::start(profile).await;

        // Act
        let fake = target
            .quote(json!({ "credits": 10, "idempotency_key": "quote-run-001" }))
            .await;
        let stripe = target
            .quote(json!({ "pack_id": "starter-500", "payment_method": "stripe_checkout" }))
            .await;

        // Assert
        assert_eq!(
            fake,
            json!({
                "quote_id": "quote_000001",
                "state": "created",
                "credits": 10,
                "price_amount_cents": 10,
                "currency": "USD",
                "expires_at": "2026-05-08T20:00:00.000Z",
                "accepted_payment_method": "fake",
                "idempotency_key": "quote-run-001",
                "pack_id": null,
                "pack": null,
                "live_money": false
            })
        );
        assert_eq!(stripe["quote_id"], "quote_000002");
        assert_eq!(stripe["credits"], 500);
        assert_eq!(stripe["price_amount_cents"], 500);
        assert_eq!(stripe["accepted_payment_method"], "stripe_checkout");
        assert_eq!(stripe["idempotency_key"], Value::Null);
        assert_eq!(stripe["pack_id"], "starter-500");
        assert_eq!(stripe["pack"]["name"], "Starter");
        assert_eq!(stripe["live_money"], true);
    }
}

#[tokio::test]
async fn quote_idempotency_replays_same_terms_and_rejects_new_terms() {
    // Arrange
    let target = Target::start(Profile::Conformant).await;
    let first = target
        .quote(json!({ "credits": 10, "idempotency_key": "k1" }))
        .await;

    // Act
    let replay = target
        .post(
            "/v1/credit-quotes",
            json!({ "credits": 10, "idempotency_key": "k1" }),
        )
        .await;
    let conflict = target
        .post(
            "/v1/credit-quotes",
            json!({ "credits": 11, "payment_method": "stripe_checkout", "idempotency_key": "k1" }),
        )
        .await;

    // Assert
    assert_success(&replay, "credits quote");
    assert_eq!(replay.json["data"], first);
    assert_error(&conflict, 409, "credits quote", "CREDIT_QUOTE_CONFLICT");
    assert_eq!(
        conflict.json["error"]["recovery"]["suggested_command"],
        "image-skill credits quote --credits 11 --payment-method stripe_checkout \
         --idempotency-key k1-2 --json"
    );
}

#[tokio::test]
async fn quote_requests_are_validated() {
    // Arrange
    let target = Target::start(Profile::Conformant).await;
    let cases = [
        (r#"{"credits": 0}"#, 400, "INVALID_REQUEST", "credits"),
        (r#"{"credits": 5001}"#, 400, "INVALID_REQUEST", "credits"),
        (r#"{"credits": "10"}"#, 400, "INVALID_REQUEST", "credits"),
        (r#"{"credits": 1.5}"#, 400, "INVALID_REQUEST", "credits"),
        (r#"{}"#, 400, "INVALID_REQUEST", "pack_id"),
        (
            r#"{"credits": 10, "pack_id": "starter-500"}"#,
            400,
            "INVALID_REQUEST",
            "pack_id",
        ),
        (
            r#"{"credits": 10, "card_number": "4242"}"#,
            400,
            "INVALID_REQUEST",
            "card_number",
        ),
        (
            r#"{"credits": 10, "payment_method": "cash"}"#,
            400,
            "INVALID_REQUEST",
            "payment_method",
        ),
        (
            r#"{"pack_id": "mega-9000"}"#,
            404,
            "CREDIT_PACK_NOT_FOUND",
            "mega-9000",
        ),
        (r#"{"credits": 10,"#, 400, "INVALID_JSON", "JSON"),
        (r#"[10]"#, 400, "INVALID_REQUEST", "object"),
    ];

    for (body, status, code, named) in cases {
        // Act
        let reply = target
            .send(
                reqwest::Method::POST,
                "/v1/credit-quotes",
                Auth::Token,
                Some(body),
            )
            .await;

        // Assert
        assert_error(&reply, status, "credits quote", code);
        let message = reply.json["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(named),
            "{body}: message `{message}` should name `{named}`"
        );
    }
}

#[tokio::test]
async fn fake_purchase_grants_credits_exactly_once() {
    for &profile in Profile::CONTRACTS {
        // Arrange
        let target = Target::start(profile).await;
        let quote = target.quote(json!({ "credits": 10 })).await;
        let quote_id = quote["quote_id"].as_str().expect("quote_id");
        let purchase = json!({ "quote_id": quote_id, "idempotency_key": "purchase-run-001" });

        // Act
        let first = target.post("/v1/credit-purchases", purchase.clone()).await;
        let balance_after_first = target.balance().await;
        let replay = target.post("/v1/credit-purchases", purchase).await;
        let other_key = target
            .post(
                "/v1/credit-purchases",
                json!({ "quote_id": quote_id, "idempotency_key": "purchase-run-002" }),
            )
            .await;
        let balance_at_end = target.balance().await;

        // Assert
        assert_success(&first, "credits fake-purchase");
        assert_eq!(
            first.json["data"],
            json!({
                "state": "succeeded",
                "quote_id": "quote_000001",
                "receipt_id": "receipt_000001",
                "credit_event_id": "credit_event_000001",
                "credits_granted": 10,
                "amount_cents": 10,
                "currency": "USD",
                "accepted_payment_method": "fake",
                "idempotency_key": "purchase-run-001",
                "balance_after": 10,
                "live_money": false
            })
        );
        assert_eq!(balance_after_first, 10);
        assert_success(&replay, "credits fake-purchase");
        assert_eq!(replay.json["data"], first.json["data"]);
        assert_error(
            &other_key,
            409,
            "credits fake-purchase",
            "CREDIT_QUOTE_ALREADY_CONSUMED",
        );
        assert_eq!(
            balance_at_end, 10,
            "a replayed purchase granted credits twice"
        );
    }
}

#[tokio::test]
async fn purchases_reject_the_wrong_rail_and_unknown_quotes() {
    // Arrange
    let target = Target::start(Profile::Conformant).await;
    let fake = target.quote(json!({ "credits": 10 })).await;
    let stripe = target
        .quote(json!({ "credits": 10, "payment_method": "stripe_checkout" }))
        .await;

    // Act
    let fake_buy_of_stripe = target
        .post(
            "/v1/credit-purchases",
            json!({ "quote_id": stripe["quote_id"], "idempotency_key": "a" }),
        )
        .await;
    let stripe_buy_of_fake = target
        .post(
            "/v1/credit-purchases/stripe-checkout-sessions",
            json!({ "quote_id": fake["quote_id"], "idempotency_key": "b" }),
        )
        .await;
    let unknown = target
        .post(
            "/v1/credit-purchases/stripe-checkout-sessions",
            json!({ "quote_id": "quote_999999", "idempotency_key": "c" }),
        )
        .await;
    let missing_key = target
        .post(
            "/v1/credit-purchases",
            json!({ "quote_id": fake["quote_id"] }),
        )
        .await;

    // Assert
    assert_error(
        &fake_buy_of_stripe,
        409,
        "credits fake-purchase",
        "PAYMENT_METHOD_MISMATCH",
    );
    assert_error(
        &stripe_buy_of_fake,
        409,
        "credits buy",
        "PAYMENT_METHOD_MISMATCH",
    );
    assert_error(&unknown, 404, "credits buy", "CREDIT_QUOTE_NOT_FOUND");
    assert_error(
        &missing_key,
        400,
        "credits fake-purchase",
        "INVALID_REQUEST",
    );
    assert!(missing_key.text.contains("idempotency_key"));
    assert_eq!(target.balance().await, 0);
}

#[tokio::test]
async fn conformant_checkout_urls_keep_their_fragment() {
    // Arrange
    let target = Target::start(Profile::Conformant).await;
    let quote = target
        .quote(json!({ "pack_id": "starter-500", "payment_method": "stripe_checkout" }))
        .await;

    // Act
    let session = target
        .checkout(quote["quote_id"].as_str().expect("quote_id"), "buy-1")
        .await;

    // Assert
    let checkout_url = session["checkout_url"].as_str().expect("checkout_url");
    assert!(checkout_url.starts_with("https://checkout.stripe.com/c/pay/cs_test_"));
    for pointer in CHECKOUT_URL_PATHS {
        let url = &session.pointer(pointer).cloned().unwrap_or_default();
        let fragment = fragment(url).unwrap_or_default();
        assert!(
            fragment.len() >= 80,
            "{pointer} lost its Stripe fragment: {url}"
        );
        assert_eq!(url, checkout_url, "{pointer} differs from checkout_url");
    }
    assert!(
        checkout_url.contains("%2F"),
        "fragment should carry escapes"
    );
    assert_eq!(session["state"], "action_required");
    assert_eq!(session["provider"], "stripe");
    assert_eq!(session["live_money"], true);
    assert_eq!(session["credits"], 500);
    assert_eq!(session["next"]["human_action"], "open_checkout_url");
    let attempt_id = session["payment_attempt_id"]
        .as_str()
        .expect("payment_attempt_id");
    let handoff = format!("{}/pay/{attempt_id}", target.server.base_url());
    assert_eq!(session["checkout_handoff_url"], handoff.as_str());
    assert_eq!(session["next"]["checkout_handoff_url"], handoff.as_str());
}

#[tokio::test]
async fn regressed_checkout_urls_lose_their_fragment() {
    // Arrange
    let target = Target::start(Profile::Regressed018).await;
    let quote = target
        .quote(json!({ "pack_id": "starter-500", "payment_method": "stripe_checkout" }))
        .await;

    // Act
    let session = target
        .checkout(quote["quote_id"].as_str().expect("quote_id"), "buy-1")
        .await;

    // Assert
    for pointer in CHECKOUT_URL_PATHS {
        let url = session.pointer(pointer).cloned().unwrap_or_default();
        assert!(
            url.as_str()
                .is_some_and(|u| u.starts_with("https://checkout.stripe.com/"))
        );
        assert_eq!(
            fragment(&url),
            None,
            "{pointer} kept a fragment on the regressed profile"
        );
    }
}

#[tokio::test]
async fn pay_handoff_redirects_to_the_full_checkout_url_on_every_profile() {
    // Arrange: the same requests on both profiles give the same ids.
    let conformant = Target::start(Profile::Conformant).await;
    let regressed = Target::start(Profile::Regressed018).await;
    let mut sessions = Vec::new();
    for target in [&conformant, &regressed] {
        let quote = target
            .quote(json!({ "credits": 137, "payment_method": "stripe_checkout" }))
            .await;
        sessions.push(
            target
                .checkout(quote["quote_id"].as_str().expect("quote_id"), "k")
                .await,
        );
    }
    let full_url = sessions[0]["checkout_url"].as_str().expect("checkout_url");

    for (target, session) in [&conformant, &regressed].into_iter().zip(&sessions) {
        let attempt_id = session["payment_attempt_id"]
            .as_str()
            .expect("payment_attempt_id");

        // Act
        let reply = target.get(&format!("/pay/{attempt_id}")).await;
        let unknown = target.get("/pay/payatt_999999").await;

        // Assert
        assert_eq!(reply.status, StatusCode::SEE_OTHER);
        assert_eq!(
            reply.location.as_deref(),
            Some(full_url),
            "handoff lost the fragment"
        );
        assert!(reply.text.is_empty());
        assert_error(&unknown, 404, "pay", "NOT_FOUND");
    }
}

#[tokio::test]
async fn checkout_sessions_are_idempotent_and_grant_nothing() {
    // Arrange
    let target = Target::start(Profile::Conformant).await;
    let quote = target
        .quote(json!({ "credits": 137, "payment_method": "stripe_checkout" }))
        .await;
    let quote_id = quote["quote_id"].as_str().expect("quote_id");

    // Act
    let first = target.checkout(quote_id, "buy-1").await;
    let replay = target.checkout(quote_id, "buy-1").await;
    let second = target.checkout(quote_id, "buy-2").await;
    let other_quote = target
        .quote(json!({ "credits": 5, "payment_method": "stripe_checkout" }))
        .await;
    let reused_key = target
        .post(
            "/v1/credit-purchases/stripe-checkout-sessions",
            json!({ "quote_id": other_quote["quote_id"], "idempotency_key": "buy-1" }),
        )
        .await;

    // Assert
    assert_eq!(replay, first);
    assert_ne!(second["payment_attempt_id"], first["payment_attempt_id"]);
    assert_ne!(second["checkout_url"], first["checkout_url"]);
    assert_error(&reused_key, 409, "credits buy", "IDEMPOTENCY_KEY_CONFLICT");
    assert_eq!(
        target.balance().await,
        0,
        "a checkout session granted credits"
    );
}

#[tokio::test]
async fn status_twins_agree_for_checkout_attempts() {
    for &profile in Profile::CONTRACTS {
        // Arrange
        let target = Target::start(profile).await;
        let quote = target
            .quote(json!({ "pack_id": "starter-500", "payment_method": "stripe_checkout" }))
            .await;
        let quote_id = quote["quote_id"].as_str().expect("quote_id");
        let session = target.checkout(quote_id, "buy-1").await;
        let refs = [
            format!("quote_id={quote_id}"),
            format!(
                "payment_attempt_id={}",
                session["payment_attempt_id"].as_str().unwrap_or_default()
            ),
            format!(
                "checkout_session_id={}",
                session["checkout_session_id"].as_str().unwrap_or_default()
            ),
        ];

        // Act
        let mut replies = Vec::new();
        for reference in &refs {
            replies.push(
                target
                    .get(&format!("/v1/credit-purchases/status?{reference}"))
                    .await,
            );
        }

        // Assert
        for reply in &replies {
            assert_success(reply, "credits status");
            assert_eq!(
                reply.json["data"], replies[0].json["data"],
                "status twins disagree"
            );
        }
        let data = &replies[0].json["data"];
        assert_eq!(data["state"], "action_required");
        assert_eq!(
            data["quote"],
            json!({
                "quote_id": quote_id,
                "credits": 500,
                "price_amount_cents": 500,
                "accepted_payment_method": "stripe_checkout",
                "pack_id": "starter-500"
            })
        );
        assert_eq!(data["payment_attempt"]["attempt_status"], "requires_action");
        assert_eq!(
            data["payment_attempt"]["payment_attempt_id"],
            session["payment_attempt_id"]
        );
        assert_eq!(
            data["payment_attempt"]["checkout_handoff_url"],
            session["checkout_handoff_url"]
        );
        assert_eq!(data["receipt"], Value::Null);
        assert_eq!(data["credit_event"], Value::Null);
        assert_eq!(data["provider_event"], Value::Null);
        assert!(data["limits"].is_object());
        assert_eq!(data["next"]["retry_after_seconds"], 10);
        assert_eq!(data["next"]["human_action"], "open_checkout_url");
        for pointer in STATUS_URL_PATHS {
            let url = data.pointer(pointer).cloned().unwrap_or_default();
            if profile == Profile::Conformant {
                assert_eq!(
                    url, session["checkout_url"],
                    "{pointer} differs from the session URL"
                )
            } else {
                assert_eq!(fragment(&url), None, "{pointer} kept a fragment")
            }
        }
    }
}

#[tokio::test]
async fn status_twins_agree_for_fake_receipts_and_fresh_quotes() {
    // Arrange
    let target = Target::start(Profile::Conformant).await;
    let fresh = target.quote(json!({ "credits": 3 })).await;
    let bought = target.quote(json!({ "credits": 10 })).await;
    let purchase = target
        .post(
            "/v1/credit-purchases",
            json!({ "quote_id": bought["quote_id"], "idempotency_key": "p1" }),
        )
        .await;
    let receipt_id = purchase.json["data"]["receipt_id"]
        .as_str()
        .expect("receipt_id");
    let bought_id = bought["quote_id"].as_str().expect("quote_id");
    let fresh_id = fresh["quote_id"].as_str().expect("quote_id");

    // Act
    let by_quote = target
        .get(&format!("/v1/credit-purchases/status?quote_id={bought_id}"))
        .await;
    let by_receipt = target
        .get(&format!(
            "/v1/credit-purchases/status?receipt_id={receipt_id}"
        ))
        .await;
    let created = target
        .get(&format!("/v1/credit-purchases/status?quote_id={fresh_id}"))
        .await;

    // Assert
    assert_success(&by_quote, "credits status");
    assert_eq!(
        by_receipt.json["data"], by_quote.json["data"],
        "status twins disagree"
    );
    let data = &by_quote.json["data"];
    assert_eq!(data["state"], "succeeded");
    assert_eq!(data["payment_attempt"], Value::Null);
    assert_eq!(
        data["receipt"],
        json!({ "receipt_id": receipt_id, "credits_granted": 10, "amount_cents": 10, "currency": "USD" })
    );
    assert_eq!(data["credit_event"]["credits"], 10);
    assert_eq!(data["limits"]["credits"]["balance"], 10);
    assert_eq!(data["next"], json!({}));
    let created = &created.json["data"];
    assert_eq!(created["state"], "created");
    assert_eq!(created["quote"]["quote_id"], fresh_id);
    assert_eq!(created["payment_attempt"], Value::Null);
    assert_eq!(created["receipt"], Value::Null);
    assert_eq!(created["credit_event"], Value::Null);
    assert_eq!(created["next"], json!({}));
}

#[tokio::test]
async fn status_needs_exactly_one_known_reference() {
    // Arrange
    let target = Target::start(Profile::Conformant).await;
    let cases = [
        ("", 400, "INVALID_REQUEST"),
        (
            "?quote_id=quote_000001&receipt_id=receipt_000001",
            400,
            "INVALID_REQUEST",
        ),
        ("?quote_id=", 400, "INVALID_REQUEST"),
        ("?order_id=1", 400, "INVALID_REQUEST"),
        ("?quote_id=quote_999999", 404, "NOT_FOUND"),
        ("?payment_attempt_id=payatt_999999", 404, "NOT_FOUND"),
        ("?checkout_session_id=cs_test_999999", 404, "NOT_FOUND"),
        ("?receipt_id=receipt_999999", 404, "NOT_FOUND"),
    ];

    for (query, status, code) in cases {
        // Act
        let reply = target
            .get(&format!("/v1/credit-purchases/status{query}"))
            .await;

        // Assert
        assert_error(&reply, status, "credits status", code);
    }
}

#[tokio::test]
async fn unknown_routes_get_the_not_found_envelope() {
    // Arrange
    let target = Target::start(Profile::Conformant).await;

    // Act
    let unknown_path = target.get("/v1/nope").await;
    let wrong_method = target.post("/healthz", json!({})).await;

    // Assert
    assert_error(&unknown_path, 404, "unknown", "NOT_FOUND");
    assert_error(&wrong_method, 404, "unknown", "NOT_FOUND");
}

#[tokio::test]
async fn served_records_every_response_in_order() {
    // Arrange
    let target = Target::start(Profile::Regressed018).await;
    let quote = target
        .quote(json!({ "credits": 7, "payment_method": "stripe_checkout" }))
        .await;
    let session = target
        .checkout(quote["quote_id"].as_str().expect("quote_id"), "k")
        .await;
    let attempt_id = session["payment_attempt_id"]
        .as_str()
        .expect("payment_attempt_id");
    target.get(&format!("/pay/{attempt_id}")).await;
    target
        .send(reqwest::Method::GET, "/v1/whoami", Auth::None, None)
        .await;
    target
        .get("/v1/credit-purchases/status?quote_id=quote_000001")
        .await;

    // Act
    let served = target.server.served();

    // Assert
    let summary: Vec<(&str, &str, u16)> = served
        .iter()
        .map(|s| (s.method.as_str(), s.path.as_str(), s.status))
        .collect();
    assert_eq!(
        summary,
        [
            ("POST", "/v1/credit-quotes", 200),
            ("POST", "/v1/credit-purchases/stripe-checkout-sessions", 200),
            ("GET", format!("/pay/{attempt_id}").as_str(), 303),
            ("GET", "/v1/whoami", 401),
            ("GET", "/v1/credit-purchases/status", 200),
        ]
    );
    assert_eq!(
        served[0].request_body,
        Some(json!({ "credits": 7, "payment_method": "stripe_checkout" }))
    );
    assert_eq!(
        served[1].body.as_ref().map(|b| &b["data"]),
        Some(&session),
        "recorded body differs from the served one"
    );
    assert_eq!(served[2].body, None);
    let location = served[2].location.as_deref().unwrap_or_default();
    assert!(
        location.contains('#'),
        "handoff redirect lost the fragment: {location}"
    );
    assert_eq!(
        served[3].body.as_ref().map(|b| &b["error"]["code"]),
        Some(&json!("AUTH_REQUIRED"))
    );
    assert_eq!(served[4].query.as_deref(), Some("quote_id=quote_000001"));
    assert_eq!(served[0].query, None);
    assert_eq!(served[2].request_body, None);
}

#[tokio::test]
async fn binding_a_taken_address_is_a_mock_error() {
    // Arrange
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port to occupy");
    let addr = taken.local_addr().expect("occupied address");

    // Act
    let result = MockServer::start(Profile::Conformant, Some(addr)).await;

    // Assert
    match result {
        Err(error @ Error::Mock(_)) => {
            assert!(error.to_string().contains(&addr.to_string()), "{error}");
            assert_eq!(error.exit_code(), conform::error::exit::TARGET_UNREACHABLE);
        }
        Err(other) => panic!("expected Error::Mock, got {other:?}"),
        Ok(server) => panic!("bound an address that is taken: {}", server.base_url()),
    }
}

#[tokio::test]
async fn binding_a_free_fixed_address_serves_there() {
    // Arrange
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("find a free port");
    let addr = free.local_addr().expect("free address");
    drop(free);

    // Act
    let server = MockServer::start(Profile::Conformant, Some(addr))
        .await
        .expect("mock binds the given address");

    // Assert
    assert_eq!(server.base_url(), format!("http://{addr}"));
}

// The creative surface, identity and the walk over every endpoint.

/// A 1×1 PNG, its byte length and SHA-256.
const PIXEL_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const PIXEL_LEN: u64 = 70;
const PIXEL_SHA256: &str = "c414cd0e204de974f73753c7e28d7638e7b3691bb8b1a2bab6b25bb7fed7ce77";
const PROMPT: &str = "A compact field camera on a stainless workbench";

fn pixel_upload() -> Value {
    json!({
        "source_kind": "local_path",
        "filename": "pixel.png",
        "remote_origin": null,
        "mime_type": "image/png",
        "content_length": PIXEL_LEN,
        "sha256": PIXEL_SHA256,
        "bytes_base64": PIXEL_PNG
    })
}

fn contract(version: &str) -> conform::contract::Contract {
    conform::contract::Contract::embedded(version)
        .unwrap_or_else(|e| panic!("contract {version} loads: {e}"))
}

impl Target {
    async fn ok(&self, path: &str, body: Value, command: &str) -> Value {
        let reply = self.post(path, body).await;
        assert_success(&reply, command);
        reply.json["data"].clone()
    }

    async fn signup(&self, body: Value) -> Reply {
        self.send(
            reqwest::Method::POST,
            "/v1/agent-signups",
            Auth::None,
            Some(&body.to_string()),
        )
        .await
    }

    async fn with_token(&self, method: reqwest::Method, path: &str, token: &str) -> Reply {
        let header = format!("Bearer {token}");
        self.send(method, path, Auth::Header(&header), None).await
    }
}

/// The endpoint template a served path belongs to.
fn template_of<'a>(
    api: &'a conform::contract::ApiModel,
    method: &str,
    path: &str,
) -> Option<&'a conform::openapi::Endpoint> {
    api.endpoints.iter().find(|e| {
        let pattern = format!(
            "^{}$",
            regex::Regex::new(r"\{[a-z_]+\}")
                .expect("template pattern")
                .replace_all(
                    &regex::escape(&e.path)
                        .replace(r"\{", "{")
                        .replace(r"\}", "}"),
                    "[^/]+"
                )
        );
        e.method == method
            && regex::Regex::new(&pattern)
                .expect("path pattern")
                .is_match(path)
    })
}

#[tokio::test]
async fn every_endpoint_answers_with_data_its_schema_accepts() {
    for &profile in Profile::CONTRACTS {
        // Arrange: each profile against the contract it follows.
        let version = if profile == Profile::Conformant {
            "0.1.9"
        } else {
            "0.1.8"
        };
        let own = contract(version);
        let current = contract("0.1.9");
        let target = Target::start(profile).await;

        // Act: one request per documented endpoint, ids taken from earlier answers.
        target
            .post(
                "/v1/agent-signups",
                json!({ "human_email": "walk@example.invalid", "agent_name": "walk", "runtime": "conform" }),
            )
            .await;
        for path in [
            "/v1/whoami",
            "/v1/quota",
            "/v1/payment-methods",
            "/v1/credit-packs",
        ] {
            target.get(path).await;
        }
        let stripe = target
            .quote(json!({ "pack_id": "starter-500", "payment_method": "stripe_checkout" }))
            .await;
        let session = target
            .checkout(stripe["quote_id"].as_str().expect("quote_id"), "walk-buy")
            .await;
        let attempt = session["payment_attempt_id"].as_str().expect("attempt id");
        target
            .get(&format!(
                "/v1/credit-purchases/status?payment_attempt_id={attempt}"
            ))
            .await;
        target.get(&format!("/pay/{attempt}")).await;
        let fake = target.quote(json!({ "credits": 10 })).await;
        target
            .post(
                "/v1/credit-purchases",
                json!({ "quote_id": fake["quote_id"], "idempotency_key": "walk-fake" }),
            )
            .await;
        let models = target.get("/v1/models").await;
        let model_id = models.json["data"]["models"][0]["model_id"]
            .as_str()
            .expect("model id");
        target.get(&format!("/v1/models/{model_id}")).await;
        target.get("/v1/capabilities").await;
        target
            .post("/v1/create", json!({ "prompt": PROMPT, "dry_run": true }))
            .await;
        let created = target.post("/v1/create", json!({ "prompt": PROMPT })).await;
        let job_id = created.json["data"]["job_id"].as_str().expect("job id");
        let asset_id = created.json["data"]["assets"][0]["asset_id"]
            .as_str()
            .expect("asset id");
        let uploaded = target.post("/v1/upload", pixel_upload()).await;
        target
            .post(
                "/v1/edit",
                json!({
                    "input_asset_id": uploaded.json["data"]["asset"]["asset_id"],
                    "prompt": PROMPT,
                    "accept_unknown_cost": true
                }),
            )
            .await;
        target.get(&format!("/v1/assets/{asset_id}")).await;
        target.get(&format!("/v1/jobs/{job_id}")).await;
        target.get("/v1/activity").await;
        target.get(&format!("/v1/activity/{job_id}")).await;
        target
            .post("/v1/cli", json!({ "argv": ["whoami", "--json"] }))
            .await;
        target.get("/healthz").await;

        // Assert
        let mut hit = std::collections::BTreeSet::new();
        for served in target.server.served() {
            let endpoint = template_of(own.api(), &served.method, &served.path)
                .unwrap_or_else(|| panic!("{} {} is not documented", served.method, served.path));
            hit.insert((endpoint.method.clone(), endpoint.path.clone()));
            let conform::openapi::Response::Data(schema) = &endpoint.response else {
                assert_eq!(served.status, 303, "{}", served.path);
                continue;
            };
            assert_eq!(
                served.status, 200,
                "{} {}: {:?}",
                served.method, served.path, served.body
            );
            let body = served.body.expect("a JSON body");
            let envelope = own
                .validate("success-envelope", &body)
                .expect("known schema");
            assert!(envelope.is_empty(), "{}: {envelope:?}", served.path);
            let violations = own.validate(schema, &body["data"]).expect("known schema");
            assert!(
                violations.is_empty(),
                "{} {} ({}) breaks `{schema}` of {version}: {violations:?}",
                served.method,
                served.path,
                profile.name()
            );
            // The regression shows under 0.1.9 at Stripe URLs and nowhere else.
            for v in current
                .validate(schema, &body["data"])
                .expect("known schema")
            {
                assert!(
                    profile == Profile::Regressed018 && v.pointer.contains("checkout"),
                    "{} {} breaks 0.1.9 `{schema}` at {}: {}",
                    served.method,
                    served.path,
                    v.pointer,
                    v.message
                );
            }
        }
        for endpoint in &own.api().endpoints {
            assert!(
                hit.contains(&(endpoint.method.clone(), endpoint.path.clone())),
                "the walk missed {} {}",
                endpoint.method,
                endpoint.path
            );
        }
    }
}

#[tokio::test]
async fn dry_run_consumes_nothing_and_create_leaves_job_asset_and_ledger() {
    // Arrange
    let target = Target::start(Profile::Conformant).await;
    let request = json!({
        "prompt": PROMPT,
        "intent": "explore",
        "aspect_ratio": "16:9",
        "max_estimated_usd_per_image": 0.05
    });
    let mut dry = request.clone();
    dry["dry_run"] = json!(true);

    // Act
    let planned = target.ok("/v1/create", dry, "create").await;
    let quota_after_plan = target.get("/v1/quota").await.json["data"].clone();
    let created = target.ok("/v1/create", request, "create").await;
    let job_id = created["job_id"].as_str().expect("job id");
    let asset_id = created["assets"][0]["asset_id"].as_str().expect("asset id");
    let job = target.get(&format!("/v1/jobs/{job_id}")).await;
    let asset = target.get(&format!("/v1/assets/{asset_id}")).await;
    let ledger = target.get(&format!("/v1/activity?subject={job_id}")).await;
    let quota_after_create = target.get("/v1/quota").await.json["data"].clone();

    // Assert
    assert_eq!(planned["job_id"], Value::Null);
    assert_eq!(planned["assets"], json!([]));
    assert_eq!(planned["quota"]["consumed_credits"], 0);
    assert_eq!(planned["cost"]["credit_pricing"]["credits_required"], 9);
    assert_eq!(planned["request"]["dry_run"], true);
    assert_eq!(
        planned["request"]["selection"]["capability"]["id"],
        "is.image.generate.xai-grok-imagine-image-quality.v1"
    );
    assert_eq!(quota_after_plan["credits"]["free_preview_remaining"], 10);
    assert_eq!(quota_after_plan["jobs"]["used_today"], 0);

    assert_eq!(created["quota"]["consumed_credits"], 9);
    assert_eq!(
        created["cost"]["credit_pricing"]["pricing_confidence"],
        "known"
    );
    assert_eq!(created["assets"][0]["width"], 1824);
    assert_eq!(created["assets"][0]["height"], 1024);
    assert!(
        created.get("prompt").is_none(),
        "create echoed the raw prompt"
    );
    assert_eq!(quota_after_create["credits"]["free_preview_remaining"], 1);
    assert_eq!(quota_after_create["jobs"]["used_today"], 1);

    assert_success(&job, "jobs show");
    assert_eq!(job.json["data"]["status"], "completed");
    assert_eq!(
        job.json["data"]["trace_id"],
        created_trace(&target, "/v1/create", 1)
    );
    assert_eq!(job.json["data"]["assets"][0]["asset_id"], asset_id);
    assert_success(&asset, "assets show");
    assert_eq!(asset.json["data"]["asset"]["job_id"], job_id);
    assert_eq!(asset.json["data"]["asset"]["source"], "hosted_metadata");
    let types: Vec<&str> = ledger.json["data"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        types,
        ["job.completed", "asset.created", "usage.credit_consumed"]
    );
}

/// The trace id of the `nth` (1-based) response served for `path`.
fn created_trace(target: &Target, path: &str, nth: usize) -> Value {
    target
        .server
        .served()
        .into_iter()
        .filter(|s| s.path == path)
        .nth(nth)
        .and_then(|s| s.body)
        .map(|b| b["trace_id"].clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn signup_tokens_authenticate_rotate_and_stay_in_their_organization() {
    // Arrange
    let target = Target::start(Profile::Conformant).await;
    let created = target
        .ok("/v1/create", json!({ "prompt": PROMPT }), "create")
        .await;
    let job_id = created["job_id"].as_str().expect("job id");
    let body = || json!({ "human_email": "ops@example.invalid", "agent_name": "writer", "runtime": "codex" });

    // Act
    let first = target.signup(body()).await;
    let first_token = first.json["data"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let whoami = target
        .with_token(reqwest::Method::GET, "/v1/whoami", &first_token)
        .await;
    let foreign_job = target
        .with_token(
            reqwest::Method::GET,
            &format!("/v1/jobs/{job_id}"),
            &first_token,
        )
        .await;
    let rotated = target.signup(body()).await;
    let second_token = rotated.json["data"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let old = target
        .with_token(reqwest::Method::GET, "/v1/whoami", &first_token)
        .await;
    let new = target
        .with_token(reqwest::Method::GET, "/v1/whoami", &second_token)
        .await;
    let missing_contact = target.signup(json!({ "agent_name": "x" })).await;

    // Assert
    assert_success(&first, "signup");
    assert_eq!(first.json["actor"], Value::Null);
    assert!(first_token.starts_with("isk_r_"), "{first_token}");
    assert_ne!(first_token, target.server.token());
    assert_eq!(first.json["data"]["rotated"], false);
    assert_success(&whoami, "whoami");
    assert_eq!(
        whoami.json["data"]["actor_id"],
        first.json["data"]["actor_id"]
    );
    assert_eq!(
        whoami.json["actor"]["organization_id"],
        first.json["data"]["organization_id"]
    );
    assert_ne!(whoami.json["data"]["actor_id"], "agt_mock_000001");
    assert_error(&foreign_job, 404, "jobs show", "NOT_FOUND");
    assert_eq!(rotated.json["data"]["rotated"], true);
    assert_eq!(
        rotated.json["data"]["actor_id"],
        first.json["data"]["actor_id"]
    );
    assert_ne!(second_token, first_token);
    assert_error(&old, 401, "whoami", "AUTH_INVALID");
    assert_success(&new, "whoami");
    assert_error(&missing_contact, 400, "signup", "INVALID_REQUEST");
}

#[tokio::test]
async fn unknown_cost_needs_confirmation_except_in_a_dry_run() {
    // Arrange
    let target = Target::start(Profile::Conformant).await;
    let input = target.ok("/v1/upload", pixel_upload(), "upload").await;
    let input_id = input["asset"]["asset_id"].clone();
    let edit = json!({ "input_asset_id": input_id, "prompt": PROMPT });
    let mut accepted = edit.clone();
    accepted["accept_unknown_cost"] = json!(true);
    let known_edit =
        json!({ "input_asset_id": input_id, "prompt": PROMPT, "model": "fal.flux-pro-kontext" });
    let gpt = json!({ "prompt": PROMPT, "model": "openai.gpt-image-2" });
    let mut gpt_dry = gpt.clone();
    gpt_dry["dry_run"] = json!(true);
    let gpt_sized = json!({
        "prompt": PROMPT,
        "model": "openai.gpt-image-2",
        "model_parameters": { "quality": "medium", "size": "1024x1024" }
    });

    // Act
    let refused = target.post("/v1/edit", edit).await;
    let edited = target.ok("/v1/edit", accepted, "edit").await;
    let known = target.ok("/v1/edit", known_edit, "edit").await;
    let gpt_refused = target.post("/v1/create", gpt).await;
    let gpt_planned = target.ok("/v1/create", gpt_dry, "create").await;
    let gpt_quoted = target.ok("/v1/create", gpt_sized, "create").await;

    // Assert
    assert_error(&refused, 400, "edit", "BUDGET_REQUIRES_CONFIRMATION");
    assert_eq!(
        refused.json["error"]["recovery"]["required_flag"],
        "--accept-unknown-cost"
    );
    assert_eq!(
        edited["cost"]["credit_pricing"]["pricing_confidence"],
        "usage_priced"
    );
    assert_eq!(edited["input"]["asset_id"], input_id);
    assert_eq!(known["cost"]["credit_pricing"]["credits_required"], 8);
    assert_error(&gpt_refused, 400, "create", "BUDGET_REQUIRES_CONFIRMATION");
    assert_eq!(
        gpt_planned["cost"]["credit_pricing"]["credits_required"],
        Value::Null
    );
    assert_eq!(gpt_planned["quota"]["consumed_credits"], 0);
    assert_eq!(
        gpt_quoted["cost"]["credit_pricing"]["pricing_confidence"],
        "known"
    );
}

#[tokio::test]
async fn budget_guard_lowers_the_default_or_refuses() {
    // Arrange
    let target = Target::start(Profile::Conformant).await;
    let with_budget =
        |usd: f64| json!({ "prompt": PROMPT, "max_estimated_usd_per_image": usd, "dry_run": true });

    // Act
    let lowered = target.ok("/v1/create", with_budget(0.03), "create").await;
    let nothing_fits = target.post("/v1/create", with_budget(0.01)).await;
    let explicit_over = target
        .post(
            "/v1/create",
            json!({
                "prompt": PROMPT,
                "model": "xai.grok-imagine-image-quality",
                "model_parameters": { "resolution": "2k" },
                "max_estimated_usd_per_image": 0.05
            }),
        )
        .await;
    let too_many = target
        .post("/v1/create", json!({ "prompt": PROMPT, "output_count": 5 }))
        .await;
    let unknown_param = target
        .post(
            "/v1/create",
            json!({ "prompt": PROMPT, "model_parameters": { "n": 2 } }),
        )
        .await;

    // Assert
    assert_eq!(
        lowered["request"]["selection"]["capability"]["id"],
        "is.image.generate.xai-grok-imagine-image.v1"
    );
    assert!(
        lowered["request"]["selection"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("max_estimated_usd_per_image")),
        "{lowered}"
    );
    assert_error(&nothing_fits, 422, "create", "BUDGET_EXCEEDED");
    assert_error(&explicit_over, 422, "create", "BUDGET_EXCEEDED");
    assert_error(&too_many, 400, "create", "INVALID_REQUEST");
    assert_error(&unknown_param, 400, "create", "INVALID_REQUEST");
}

#[tokio::test]
async fn uploads_are_checked_for_policy_and_integrity() {
    // Arrange
    let target = Target::start(Profile::Conformant).await;
    let with = |field: &str, value: Value| {
        let mut body = pixel_upload();
        body[field] = value;
        body
    };
    let cases = [
        (
            with("mime_type", json!("image/svg+xml")),
            422,
            "INPUT_POLICY_DENIED",
        ),
        (
            with("mime_type", json!("image/jpeg")),
            422,
            "INPUT_POLICY_DENIED",
        ),
        (
            with("sha256", json!("0".repeat(64))),
            400,
            "INVALID_REQUEST",
        ),
        (with("content_length", json!(71)), 400, "INVALID_REQUEST"),
        (
            with("bytes_base64", json!("not base64!")),
            400,
            "INVALID_REQUEST",
        ),
        (
            with("filename", json!("/home/agent/pixel.png")),
            400,
            "INVALID_REQUEST",
        ),
        (
            with("source_kind", json!("remote_url")),
            400,
            "INVALID_REQUEST",
        ),
        (
            with("prompt", json!("no prompts here")),
            400,
            "INVALID_REQUEST",
        ),
    ];
    let mut remote = with("source_kind", json!("remote_url"));
    remote["remote_origin"] = json!("https://example.com");
    let mut full_url = remote.clone();
    full_url["remote_origin"] = json!("https://example.com/source.png");

    for (body, status, code) in cases {
        // Act
        let reply = target.post("/v1/upload", body.clone()).await;

        // Assert
        assert_error(&reply, status, "upload", code);
        assert!(
            !reply.text.contains(PIXEL_PNG),
            "an upload error echoed the bytes: {body}"
        );
    }
    let accepted = target.ok("/v1/upload", remote, "upload").await;
    assert_eq!(accepted["request"]["remote_origin"], "https://example.com");
    assert_eq!(accepted["upload"]["sha256"], PIXEL_SHA256);
    let refused = target.post("/v1/upload", full_url).await;
    assert_error(&refused, 400, "upload", "INVALID_REQUEST");
    let asset = target
        .get(&format!(
            "/v1/assets/{}",
            accepted["asset"]["asset_id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(asset.json["data"]["asset"]["width"], 1);
    assert_eq!(asset.json["data"]["asset"]["kind"], "uploaded");
}

#[tokio::test]
async fn artifact_storage_failure_is_documented_and_records_nothing() {
    // Arrange
    let target = Target::start(Profile::Conformant).await;
    let prompt = format!("{PROMPT} {}", conform::mock::ARTIFACT_FAILURE_MARKER);

    // Act
    let failed = target.post("/v1/create", json!({ "prompt": prompt })).await;
    let planned = target
        .post("/v1/create", json!({ "prompt": prompt, "dry_run": true }))
        .await;
    let ledger = target.get("/v1/activity").await;
    let quota = target.get("/v1/quota").await;

    // Assert
    assert_error(&failed, 500, "create", "ARTIFACT_STORAGE_WRITE_FAILED");
    assert_eq!(failed.json["error"]["retryable"], false);
    assert_success(&planned, "create");
    assert_eq!(ledger.json["data"]["events"], json!([]));
    assert_eq!(quota.json["data"]["jobs"]["used_today"], 0);
}

#[tokio::test]
async fn the_docs_edit_request_runs_against_owned_references() {
    // Arrange: the cli.md /v1/edit example, with asset ids this mock owns.
    let target = Target::start(Profile::Conformant).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let created = target
            .ok("/v1/create", json!({ "prompt": PROMPT }), "create")
            .await;
        ids.push(created["assets"][0]["asset_id"].clone());
    }
    let example: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/0.1.9/edit.request.json"),
        )
        .expect("fixture"),
    )
    .expect("JSON");
    let mut request = example.clone();
    request["input_asset_id"] = ids[0].clone();
    request["references"][0]["asset_id"] = ids[1].clone();
    request["references"][1]["asset_id"] = ids[2].clone();
    let mut accepted = request.clone();
    accepted["accept_unknown_cost"] = json!(true);
    let mut orphan = accepted.clone();
    orphan["references"][1]["index"] = json!(1);
    let mut native = accepted.clone();
    native["image_urls"] = json!(["https://example.com/a.png"]);
    let mut foreign = accepted.clone();
    foreign["references"][0]["asset_id"] = json!("image_999999");

    // Act
    let unconfirmed = target.post("/v1/edit", request).await;
    let edited = target.post("/v1/edit", accepted).await;
    let orphaned = target.post("/v1/edit", orphan).await;
    let provider_native = target.post("/v1/edit", native).await;
    let unknown_reference = target.post("/v1/edit", foreign).await;

    // Assert
    assert!(
        contract("0.1.9")
            .validate("edit-request", &example)
            .expect("known")
            .is_empty()
    );
    assert_error(&unconfirmed, 400, "edit", "BUDGET_REQUIRES_CONFIRMATION");
    assert_success(&edited, "edit");
    assert_eq!(
        edited.json["data"]["capability"]["id"],
        "is.image.edit.fal-kling-image-o3-image-to-image.v1"
    );
    assert_error(&orphaned, 400, "edit", "INVALID_REQUEST");
    assert_error(&provider_native, 400, "edit", "INVALID_REQUEST");
    assert_error(&unknown_reference, 404, "edit", "NOT_FOUND");
}

#[tokio::test]
async fn cli_runs_commands_as_their_own_endpoints() {
    // Arrange
    let target = Target::start(Profile::Conformant).await;
    let created = target
        .ok("/v1/create", json!({ "prompt": PROMPT }), "create")
        .await;
    let job_id = created["job_id"].as_str().expect("job id");
    let run = |argv: Value| target.post("/v1/cli", json!({ "argv": argv }));

    // Act
    let whoami = run(json!(["image-skill", "whoami", "--json"])).await;
    let direct = target.get("/v1/whoami").await;
    let job = run(json!(["jobs", "show", job_id, "--json"])).await;
    let limited = run(json!(["activity", "list", "--limit", "1", "--json"])).await;
    let show = run(json!(["models", "show", "xai.grok-imagine-image"])).await;
    let unknown_model = run(json!(["models", "show", "nope.nope"])).await;
    let not_public = run(json!(["jobs", "list", "--json"])).await;
    let not_strings = run(json!(["whoami", 1])).await;

    // Assert
    assert_success(&whoami, "whoami");
    assert_eq!(whoami.json["data"], direct.json["data"]);
    assert_eq!(whoami.json["actor"], direct.json["actor"]);
    assert_success(&job, "jobs show");
    assert_eq!(job.json["data"]["job_id"], job_id);
    assert_success(&limited, "activity list");
    assert_eq!(
        limited.json["data"]["events"].as_array().map(Vec::len),
        Some(1)
    );
    assert_success(&show, "models show");
    assert_eq!(
        show.json["data"]["media"]["output"]["max_outputs_per_request"],
        4
    );
    assert_error(&unknown_model, 404, "models show", "NOT_FOUND");
    assert_error(&not_public, 400, "cli", "INVALID_REQUEST");
    assert_error(&not_strings, 400, "cli", "INVALID_REQUEST");
}

#[tokio::test]
async fn activity_lists_newest_first_and_shows_references() {
    // Arrange
    let target = Target::start(Profile::Conformant).await;
    let quote = target.quote(json!({ "credits": 10 })).await;
    target
        .post(
            "/v1/credit-purchases",
            json!({ "quote_id": quote["quote_id"], "idempotency_key": "ledger-1" }),
        )
        .await;
    let stripe = target
        .quote(json!({ "credits": 7, "payment_method": "stripe_checkout" }))
        .await;
    let session = target
        .checkout(stripe["quote_id"].as_str().expect("quote_id"), "ledger-2")
        .await;

    // Act
    let all = target.get("/v1/activity").await;
    let one = target.get("/v1/activity?limit=1").await;
    let bad_limit = target.get("/v1/activity?limit=0").await;
    let unknown_param = target.get("/v1/activity?since=yesterday").await;
    let by_attempt = target
        .get(&format!(
            "/v1/activity/{}",
            session["payment_attempt_id"].as_str().expect("attempt id")
        ))
        .await;
    let nothing = target.get("/v1/activity/evt_999999").await;

    // Assert
    let types: Vec<&str> = all.json["data"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        types,
        [
            "payment.checkout_session.created",
            "credits.payment_backed_granted"
        ]
    );
    assert!(
        !all.text.contains("checkout.stripe.com"),
        "the ledger carries Stripe URLs"
    );
    assert_eq!(one.json["data"]["events"].as_array().map(Vec::len), Some(1));
    assert_error(&bad_limit, 400, "activity list", "INVALID_REQUEST");
    assert_error(&unknown_param, 400, "activity list", "INVALID_REQUEST");
    assert_success(&by_attempt, "activity show");
    assert_eq!(by_attempt.json["data"]["reference"]["type"], "payment");
    assert_error(&nothing, 404, "activity show", "NOT_FOUND");
}

// The server itself: routes from the API model, memory, shutdown.

/// Contract 0.1.9's API model, as the mock reads it.
fn api_model() -> conform::contract::ApiModel {
    conform::contract::ApiModel::load(conform::contract::Source::Embedded, "0.1.9")
        .expect("the shipped API model loads")
}

async fn get_status(base_url: &str, path: &str) -> (u16, Value) {
    conform::exec::http::install_tls_provider();
    let reply = reqwest::get(format!("{base_url}{path}"))
        .await
        .expect("the mock answers");
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn routes_auth_and_commands_come_from_the_api_model() {
    // Arrange: a model without /healthz, with whoami public and moved, and
    // an operation the mock has no code for.
    let mut api = api_model();
    api.endpoints.retain(|e| e.operation_id != "getHealth");
    let whoami = api
        .endpoints
        .iter_mut()
        .find(|e| e.operation_id == "getWhoami")
        .expect("the model has whoami");
    whoami.path = "/v2/me".into();
    whoami.auth = conform::contract::api::Auth::None;
    whoami.command = "me".into();
    let mut unknown = whoami.clone();
    unknown.operation_id = "getSomethingNew".into();
    unknown.path = "/v1/something-new/{id}".into();
    api.endpoints.push(unknown);

    // Act
    let server = MockServer::start_for(&api, Profile::Conformant, None, None)
        .await
        .expect("mock starts");
    let base = server.base_url();
    let (health, health_body) = get_status(&base, "/healthz").await;
    let (old_whoami, _) = get_status(&base, "/v1/whoami").await;
    let (me, me_body) = get_status(&base, "/v2/me").await;
    let (new, new_body) = get_status(&base, "/v1/something-new/x1").await;
    server.shutdown().await;

    // Assert
    assert_eq!(health, 404, "{health_body}");
    assert_eq!(health_body["ok"], json!(false));
    assert_eq!(health_body["error"]["code"], json!("NOT_FOUND"));
    assert_eq!(old_whoami, 404);
    assert_eq!(me, 200, "the model made it public: {me_body}");
    assert_eq!(me_body["command"], json!("me"));
    assert_eq!(new, 501, "{new_body}");
    assert_eq!(new_body["error"]["code"], json!("NOT_IMPLEMENTED"));
    assert_eq!(new_body["command"], json!("me"));
}

#[tokio::test]
async fn shutdown_frees_the_port_and_stops_answering() {
    // Arrange
    let server = MockServer::start(Profile::Conformant, None)
        .await
        .expect("mock starts");
    let base = server.base_url();
    let addr: std::net::SocketAddr = base
        .strip_prefix("http://")
        .and_then(|a| a.parse().ok())
        .expect("base_url is http://ADDR");
    // A kept-alive connection must not hold the stop up.
    conform::exec::http::install_tls_provider();
    let client = reqwest::Client::new();
    let before = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .map(|r| r.status().as_u16());

    // Act
    tokio::time::timeout(std::time::Duration::from_secs(10), server.shutdown())
        .await
        .expect("shutdown returns");

    // Assert
    assert_eq!(before.ok(), Some(200));
    let rebound = std::net::TcpListener::bind(addr);
    assert!(rebound.is_ok(), "port still taken: {rebound:?}");
    drop(rebound);
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "a stopped mock answered"
    );
}

#[tokio::test]
async fn bodies_over_the_cap_are_refused_with_the_envelope() {
    // Arrange
    let server = MockServer::start(Profile::Conformant, None)
        .await
        .expect("mock starts");
    let body = vec![b' '; 33 * 1024 * 1024];
    conform::exec::http::install_tls_provider();

    // Act
    let reply = reqwest::Client::new()
        .post(format!("{}/v1/agent-signups", server.base_url()))
        .body(body)
        .send()
        .await
        .expect("the mock answers");
    let status = reply.status().as_u16();
    let json: Value = reply.json().await.unwrap_or(Value::Null);
    server.shutdown().await;

    // Assert
    assert_eq!(status, 413, "{json}");
    assert_eq!(json["error"]["code"], json!("PAYLOAD_TOO_LARGE"));
}

/// Resident set size of a process, from /proc.
#[cfg(target_os = "linux")]
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmRSS")
        * 1024
}

/// Issue 14, finding 11: wiremock kept a clone of every request a route
/// matched, so `conform mock` grew with each one. 3,000 requests with a
/// 64 KiB body (192 MiB sent) must leave the mock's RSS within 32 MiB of
/// where it was. Not timed; `CONFORM_MOCK_BIN` runs it against another
/// binary (the wiremock build grew by about the bytes sent).
#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_standalone_mock_keeps_nothing_per_request() {
    use std::io::{BufRead, BufReader};
    // Arrange
    let bin =
        std::env::var("CONFORM_MOCK_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_conform").into());
    struct Killed(std::process::Child);
    impl Drop for Killed {
        // Also when an assertion fails: the mock must not outlive the test.
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Killed(
        std::process::Command::new(bin)
            .args(["mock", "--addr", "127.0.0.1:0"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("conform mock starts"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let base = BufReader::new(stdout)
        .lines()
        .take(10)
        .map_while(|l| l.ok())
        .find_map(|l| l.strip_prefix("base_url=").map(str::to_string))
        .expect("the mock prints base_url=");
    conform::exec::http::install_tls_provider();
    let client = reqwest::Client::new();
    let body = vec![b'x'; 64 * 1024];
    let send = |n: usize| {
        let client = client.clone();
        let body = body.clone();
        let base = base.clone();
        async move {
            for _ in 0..n {
                // No route takes POST /healthz: the catch-all answers, and
                // wiremock's catch-all kept the request too.
                let reply = client
                    .post(format!("{base}/healthz"))
                    .body(body.clone())
                    .send()
                    .await
                    .expect("the mock answers");
                assert_eq!(reply.status(), StatusCode::NOT_FOUND);
                reply.bytes().await.expect("body");
            }
        }
    };

    // Act
    send(200).await;
    let before = rss_bytes(child.0.id());
    let workers: Vec<_> = (0..4).map(|_| tokio::spawn(send(750))).collect();
    for worker in workers {
        worker.await.expect("sender");
    }
    let after = rss_bytes(child.0.id());
    drop(child);

    // Assert
    let grew = after.saturating_sub(before) / (1024 * 1024);
    assert!(
        grew < 32,
        "the mock grew by {grew} MiB over 3,000 requests ({} → {} MiB)",
        before / (1024 * 1024),
        after / (1024 * 1024)
    );
}
