//! The reference mock serves the contract version it is started for: the
//! releases where the payment contract changed, over HTTP, and every
//! release end to end (`run --contract V` in-process against the mock).

use conform::app::{Options, TargetSpec};
use conform::contract::{Contract, FragmentPolicy};
use conform::mock::{MockServer, Profile};
use serde_json::{Value, json};

struct Mock {
    server: MockServer,
    client: reqwest::Client,
}

impl Mock {
    async fn start(version: &str) -> Mock {
        let contract = Contract::embedded(version).expect("shipped contract");
        let server = MockServer::start_for(&contract, Profile::Conformant, None, None)
            .await
            .expect("mock starts");
        conform::exec::http::install_tls_provider();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Mock { server, client }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.server.base_url());
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .client
            .request(method, url)
            .bearer_auth(self.server.token());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = request.send().await.expect("mock answers");
        let status = reply.status().as_u16();
        let json = reply.json().await.unwrap_or(Value::Null);
        (status, json)
    }

    async fn quote(&self, body: Value) -> (u16, Value) {
        self.call("POST", "/v1/credit-quotes", Some(body)).await
    }

    async fn rails(&self) -> Vec<String> {
        let (status, body) = self.call("GET", "/v1/payment-methods", None).await;
        if status == 404 {
            return Vec::new();
        }
        body["data"]["methods"]
            .as_array()
            .map(|m| {
                m.iter()
                    .filter_map(|m| m["method_id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// What a quote without `payment_method` is on; `None`: refused.
async fn default_rail(mock: &Mock) -> Option<String> {
    let (status, body) = mock.quote(json!({ "credits": 10 })).await;
    (status == 200).then(|| {
        body["data"]["accepted_payment_method"]
            .as_str()
            .unwrap_or("")
            .to_string()
    })
}

#[tokio::test]
async fn each_payment_release_quotes_on_its_own_rails() {
    // (version, catalog rails, the API's quote default) as each release's
    // docs say: llms.txt keeps `payment_method` optional in every release,
    // and the CLI requiring `--payment-method` from 0.1.29 is the CLI's rule.
    let cases: &[(&str, &[&str], Option<&str>)] = &[
        ("0.1.8", &["fake", "stripe_checkout"], Some("fake")),
        ("0.1.9", &["fake", "stripe_checkout"], Some("fake")),
        (
            "0.1.10",
            &["fake", "stripe_checkout", "x402.fake.exact"],
            Some("fake"),
        ),
        ("0.1.11", &["stripe_checkout"], Some("stripe_checkout")),
        (
            "0.1.29",
            &["stripe_checkout", "stripe_x402.exact.usdc"],
            Some("stripe_checkout"),
        ),
        (
            "0.1.37",
            &["stripe_checkout", "stripe_x402.exact.usdc"],
            Some("stripe_checkout"),
        ),
        (
            "0.1.70",
            &["stripe_checkout", "stripe_x402.exact.usdc"],
            Some("stripe_checkout"),
        ),
    ];
    for (version, rails, default) in cases {
        let mock = Mock::start(version).await;
        assert_eq!(mock.rails().await, *rails, "{version}: payment-methods");
        assert_eq!(
            default_rail(&mock).await.as_deref(),
            *default,
            "{version}: quote default"
        );
        // A rail the version does not document is refused, not quoted.
        for rail in ["fake", "x402.fake.exact", "stripe_x402.exact.usdc"] {
            let (status, body) = mock
                .quote(json!({ "credits": 10, "payment_method": rail }))
                .await;
            if rails.contains(&rail) {
                assert_eq!(status, 200, "{version} {rail}: {body}");
                assert_eq!(body["data"]["accepted_payment_method"], rail);
                let live = rail == "stripe_x402.exact.usdc";
                assert_eq!(body["data"]["live_money"], live, "{version} {rail}");
            } else {
                assert_eq!(status, 400, "{version} {rail} must be refused: {body}");
                assert_eq!(body["error"]["code"], "INVALID_REQUEST");
            }
        }
        mock.shutdown().await;
    }
}

#[tokio::test]
async fn endpoints_come_and_go_with_the_release() {
    // (version, path, whether it is served): 404 with the error envelope
    // where the release lacks it.
    let cases: &[(&str, &str, &str, bool)] = &[
        ("0.1.0", "GET", "/v1/payment-methods", false),
        ("0.1.8", "GET", "/v1/payment-methods", true),
        ("0.1.10", "POST", "/v1/credit-purchases", true),
        ("0.1.11", "POST", "/v1/credit-purchases", false),
        (
            "0.1.10",
            "POST",
            "/v1/credit-purchases/stripe-x402-deposits",
            false,
        ),
        (
            "0.1.29",
            "POST",
            "/v1/credit-purchases/stripe-x402-deposits",
            true,
        ),
        ("0.1.29", "POST", "/v1/agent-claims", false),
        ("0.1.37", "POST", "/v1/agent-claims", true),
        ("0.1.70", "POST", "/v1/agent-claims", true),
    ];
    for (version, method, path, served) in cases {
        let mock = Mock::start(version).await;
        let (status, body) = mock.call(method, path, Some(json!({}))).await;
        if *served {
            assert_ne!(status, 404, "{version} {path}: {body}");
            assert_ne!(status, 501, "{version} {path}: {body}");
        } else {
            assert_eq!(status, 404, "{version} {path}");
            assert_eq!(body["ok"], false);
            assert_eq!(body["error"]["code"], "NOT_FOUND");
        }
        mock.shutdown().await;
    }
}

#[tokio::test]
async fn the_x402_rails_grant_only_what_their_docs_say() {
    // 0.1.10: the no-spend rehearsal quotes a challenge and a matching
    // purchase grants synthetic credits once.
    let mock = Mock::start("0.1.10").await;
    let (_, quote) = mock
        .quote(json!({ "credits": 12, "payment_method": "x402.fake.exact" }))
        .await;
    let data = &quote["data"];
    assert_eq!(data["x402"]["settlement"], "fake_no_spend", "{quote}");
    assert_eq!(data["live_money"], false);
    let buy = json!({
        "quote_id": data["quote_id"],
        "idempotency_key": "k1",
        "payment_method": "x402.fake.exact",
        "x402_challenge_id": data["x402"]["challenge_id"]
    });
    let (status, first) = mock
        .call("POST", "/v1/credit-purchases", Some(buy.clone()))
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["data"]["provider"], "x402");
    assert_eq!(first["data"]["credits_granted"], 12);
    let (_, again) = mock.call("POST", "/v1/credit-purchases", Some(buy)).await;
    assert_eq!(again["data"]["receipt_id"], first["data"]["receipt_id"]);
    assert_eq!(
        again["data"]["balance_after"],
        first["data"]["balance_after"]
    );
    let mut wrong = json!({ "quote_id": data["quote_id"], "idempotency_key": "k2", "x402_challenge_id": "x402_chal_other" });
    wrong["payment_method"] = json!("x402.fake.exact");
    let (status, _) = mock.call("POST", "/v1/credit-purchases", Some(wrong)).await;
    assert_eq!(status, 400);
    // The fake rail's quote has no challenge.
    let (_, fake) = mock.quote(json!({ "credits": 3 })).await;
    assert_eq!(fake["data"]["x402"], Value::Null);
    mock.shutdown().await;

    // 0.1.29: the deposit is action_required, grants nothing, and stays so.
    let mock = Mock::start("0.1.29").await;
    let (_, quote) = mock
        .quote(json!({ "pack_id": "starter-500", "payment_method": "stripe_x402.exact.usdc" }))
        .await;
    let quote_id = quote["data"]["quote_id"].clone();
    let (status, deposit) = mock
        .call(
            "POST",
            "/v1/credit-purchases/stripe-x402-deposits",
            Some(json!({ "quote_id": quote_id, "idempotency_key": "d1" })),
        )
        .await;
    assert_eq!(status, 200, "{deposit}");
    let data = &deposit["data"];
    assert_eq!(data["state"], "action_required");
    assert_eq!(
        data["stripe_x402"]["payable_instructions"]["amount_cents"],
        500
    );
    assert_eq!(
        data["stripe_x402"]["payable_instructions"]["token_amount_atomic"],
        "5000000"
    );
    let attempt = data["payment_attempt_id"].as_str().unwrap_or_default();
    let (_, status_body) = mock
        .call(
            "GET",
            &format!("/v1/credit-purchases/status?payment_attempt_id={attempt}"),
            None,
        )
        .await;
    assert_eq!(status_body["data"]["state"], "action_required");
    assert_eq!(status_body["data"]["receipt"], Value::Null);
    let (_, quota) = mock.call("GET", "/v1/quota", None).await;
    assert_eq!(
        quota["data"]["credits"]["balance"], 0,
        "a deposit challenge grants nothing"
    );
    // A Stripe Checkout quote cannot be paid as a deposit.
    let (_, checkout) = mock
        .quote(json!({ "credits": 5, "payment_method": "stripe_checkout" }))
        .await;
    let (status, _) = mock
        .call(
            "POST",
            "/v1/credit-purchases/stripe-x402-deposits",
            Some(json!({ "quote_id": checkout["data"]["quote_id"], "idempotency_key": "d2" })),
        )
        .await;
    assert_eq!(status, 409);
    mock.shutdown().await;
}

#[tokio::test]
async fn agent_claims_follow_0_1_37() {
    let mock = Mock::start("0.1.37").await;
    let claim = |contact: &str| json!({ "contact": contact });
    let (_, first) = mock
        .call("POST", "/v1/agent-claims", Some(claim("a@example.com")))
        .await;
    assert_eq!(first["data"]["state"], "attached", "{first}");
    assert_eq!(first["data"]["claim_state"], "unclaimed");
    assert_eq!(first["data"]["claim_request_state"], "requested");
    let (_, same) = mock
        .call("POST", "/v1/agent-claims", Some(claim("a@example.com")))
        .await;
    assert_eq!(same["data"]["state"], "unchanged");
    let (_, other) = mock
        .call("POST", "/v1/agent-claims", Some(claim("b@example.com")))
        .await;
    assert_eq!(other["data"]["state"], "attached");
    let (status, _) = mock
        .call("POST", "/v1/agent-claims", Some(claim("nobody")))
        .await;
    assert_eq!(status, 400);
    mock.shutdown().await;
}

#[tokio::test]
async fn answers_follow_the_version_schema() {
    // A field 0.1.10's quote schema adds (`x402`) is sent there; 0.1.9's
    // schema does not name it, and it is still allowed (the schema is
    // open), so the difference shows in the rails, not the shape. The
    // shaping drops a field only where a schema forbids extra ones: the
    // 0.1.37 agent-claim schema is open, the envelope keeps its own.
    for version in ["0.1.9", "0.1.10", "0.1.70"] {
        let contract = Contract::embedded(version).expect("contract");
        let mock = Mock::start(version).await;
        let rail = if version == "0.1.70" {
            "stripe_checkout"
        } else {
            "fake"
        };
        let (_, quote) = mock
            .quote(json!({ "credits": 10, "payment_method": rail }))
            .await;
        let violations = contract
            .validate("credit-quote", &quote["data"])
            .expect("schema");
        assert!(violations.is_empty(), "{version}: {violations:?}");
        let (_, packs) = mock.call("GET", "/v1/credit-packs", None).await;
        assert_eq!(
            packs["data"]["default_pack_id"], "starter-500",
            "seed data, {version}"
        );
        mock.shutdown().await;
    }
}

/// The versions whose own docs break an invariant: their schemas describe
/// fragment-stripped Stripe URLs (`contracts check` finds the same prose).
fn breaks_invariant(version: &str) -> bool {
    Contract::embedded(version)
        .map(|c| c.fragment_policy() == FragmentPolicy::Stripped)
        .unwrap_or(false)
}

struct Ran {
    failed_scenarios: usize,
    /// Failed checks: (check, invariant it enforces, pointer).
    failed: Vec<(String, Option<String>, Option<String>)>,
}

async fn run(version: &str, profile: Profile) -> Ran {
    let mut options = Options::new(TargetSpec::Mock(profile));
    options.contract = version.to_string();
    let prepared = conform::app::prepare(options).expect("prepare");
    let session = prepared.start().await.expect("start");
    let report = prepared
        .execute(
            &session,
            &prepared.plan,
            conform::exec::Interrupt::default(),
        )
        .await
        .expect("execute");
    session.shutdown().await;
    let failed = report
        .scenarios
        .iter()
        .flat_map(|s| &s.steps)
        .flat_map(|s| &s.checks)
        .filter(|c| !c.passed)
        .map(|c| (c.check.clone(), c.invariant.clone(), c.pointer.clone()))
        .collect();
    Ran {
        failed_scenarios: report.summary.failed,
        failed,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_release_passes_against_its_own_mock_but_for_its_documented_breaks() {
    let versions = Contract::known_versions();
    assert!(versions.len() >= 71, "{versions:?}");
    let breaking: Vec<&String> = versions.iter().filter(|v| breaks_invariant(v)).collect();
    // 0.1.7's llms.txt and cli.md already tell agents to strip the
    // fragment; 0.1.8's docs say so throughout. 0.1.0-0.1.6 never mention it.
    assert_eq!(breaking, ["0.1.7", "0.1.8"]);
    let mut wrong = Vec::new();
    for version in &versions {
        let ran = run(version, Profile::Conformant).await;
        let not_invariant: Vec<_> = ran
            .failed
            .iter()
            .filter(|(_, inv, _)| inv.is_none())
            .collect();
        if breaks_invariant(version) {
            if ran.failed_scenarios == 0 || !not_invariant.is_empty() {
                wrong.push(format!(
                    "{version}: expected only invariant failures, got {} failed scenarios, non-invariant {not_invariant:?}",
                    ran.failed_scenarios
                ));
            }
        } else if ran.failed_scenarios != 0 {
            wrong.push(format!("{version}: {:?}", ran.failed));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regressed_profile_strips_fragments_on_every_release() {
    let mut wrong = Vec::new();
    for version in Contract::known_versions() {
        let contract = Contract::embedded(&version).expect("contract");
        let has_checkout = contract
            .api()
            .endpoint("createStripeCheckoutSession")
            .is_some();
        let ran = run(&version, Profile::Regressed018).await;
        let stripped: Vec<&String> = ran
            .failed
            .iter()
            .filter(|(_, inv, _)| inv.as_deref() == Some("stripe-fragment"))
            .filter_map(|(_, _, pointer)| pointer.as_ref())
            .collect();
        if has_checkout {
            let named = ["/data/checkout_url", "/data/next/fallback_checkout_url"];
            if ran.failed_scenarios == 0 || !named.iter().all(|n| stripped.iter().any(|p| p == n)) {
                wrong.push(format!(
                    "{version}: stripped fields not named: {stripped:?}"
                ));
            }
        } else if ran.failed_scenarios != 0 {
            wrong.push(format!(
                "{version}: no Stripe Checkout flow, yet {:?}",
                ran.failed
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn fault_and_auth_profiles_work_on_every_payment_release() {
    conform::exec::http::install_tls_provider();
    let client = reqwest::Client::new();
    for version in ["0.1.0", "0.1.8", "0.1.11", "0.1.29", "0.1.37", "0.1.70"] {
        let contract = Contract::embedded(version).expect("contract");
        let faulty = MockServer::start_for(&contract, Profile::Faults5xx, None, None)
            .await
            .expect("mock");
        let reply = client
            .get(format!("{}/v1/credit-packs", faulty.base_url()))
            .send()
            .await
            .expect("answer");
        assert_eq!(reply.status().as_u16(), 503, "{version}");
        faulty.shutdown().await;

        let open = MockServer::start_for(&contract, Profile::IgnoresAuth, None, None)
            .await
            .expect("mock");
        let reply = client
            .get(format!("{}/v1/quota", open.base_url()))
            .send()
            .await
            .expect("answer");
        assert_eq!(
            reply.status().as_u16(),
            200,
            "{version}: served without a token"
        );
        open.shutdown().await;
    }
}

/// The API keeps its default rail from 0.1.29 on (a quote without
/// `payment_method` is a stripe_checkout quote), while the CLI command the
/// mock suggests follows the CLI's rule: from 0.1.29 it names the rail.
#[tokio::test]
async fn the_cli_requires_the_rail_flag_where_the_api_keeps_its_default() {
    for (version, names_rail) in [("0.1.28", false), ("0.1.29", true), ("0.1.70", true)] {
        let mock = Mock::start(version).await;
        let first = json!({ "credits": 10, "idempotency_key": "k" });
        let (status, body) = mock.quote(first).await;
        assert_eq!(status, 200, "{version}: {body}");
        assert_eq!(body["data"]["accepted_payment_method"], "stripe_checkout");
        // Same key, other terms: the conflict suggests a fresh quote command.
        let (status, body) = mock
            .quote(json!({ "credits": 11, "idempotency_key": "k" }))
            .await;
        assert_eq!(status, 409, "{version}: {body}");
        let suggested = body["error"]["recovery"]["suggested_command"]
            .as_str()
            .unwrap_or_else(|| panic!("{version}: no suggested command in {body}"));
        assert_eq!(
            suggested.contains("--payment-method stripe_checkout"),
            names_rail,
            "{version}: {suggested}"
        );
        mock.shutdown().await;
    }
}
