//! A long-running mock keeps its most recent records only (issue 14,
//! finding 11): counts, not memory, so nothing here is timed.

use conform::mock::{MockServer, Profile, Retention};
use serde_json::{Value, json};

const CAP: usize = 5;
const FLOWS: usize = CAP * 3;

struct Mock {
    server: MockServer,
    client: reqwest::Client,
}

/// What one checkout flow was given.
struct Flow {
    token: String,
    quote_id: String,
    attempt_id: String,
    session_id: String,
}

impl Mock {
    async fn start(cap: Option<usize>) -> Mock {
        let server = MockServer::start(Profile::Conformant, None)
            .await
            .expect("mock starts on an ephemeral port");
        if let Some(cap) = cap {
            server.set_retention(cap);
        }
        conform::exec::http::install_tls_provider();
        let client = reqwest::Client::builder()
            // The handoff redirects to Stripe: never follow it.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest client");
        Mock { server, client }
    }

    async fn send(&self, post: Option<Value>, path: &str, token: Option<&str>) -> (u16, Value) {
        let url = format!("{}{path}", self.server.base_url());
        let mut request = match &post {
            Some(body) => self.client.post(url).json(body),
            None => self.client.get(url),
        };
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let reply = request.send().await.expect("the mock answers");
        let status = reply.status().as_u16();
        let text = reply.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// signup → quote → Checkout session → status → handoff.
    async fn checkout(&self, n: usize) -> Flow {
        let signup =
            json!({ "human_email": format!("r{n}@example.com"), "agent_name": format!("r-{n}") });
        let (status, signup) = self.send(Some(signup), "/v1/agent-signups", None).await;
        assert_eq!(status, 200, "signup {n}: {signup}");
        let token = signup["data"]["token"].as_str().expect("token").to_string();
        let (status, quote) = self.quote(&token, n).await;
        assert_eq!(status, 200, "quote {n}: {quote}");
        let quote_id = quote["data"]["quote_id"]
            .as_str()
            .expect("quote_id")
            .to_string();
        let body = json!({ "quote_id": quote_id, "idempotency_key": format!("b{n}") });
        let (status, session) = self
            .send(
                Some(body),
                "/v1/credit-purchases/stripe-checkout-sessions",
                Some(&token),
            )
            .await;
        assert_eq!(status, 200, "session {n}: {session}");
        let attempt_id = session["data"]["payment_attempt_id"]
            .as_str()
            .expect("payment_attempt_id")
            .to_string();
        let session_id = session["data"]["checkout_session_id"]
            .as_str()
            .expect("checkout_session_id")
            .to_string();
        let (status, body) = self.status("payment_attempt_id", &attempt_id, &token).await;
        assert_eq!(status, 200, "status {n}: {body}");
        let (status, _) = self.send(None, &format!("/pay/{attempt_id}"), None).await;
        assert_eq!(status, 303, "handoff {n}");
        Flow {
            token,
            quote_id,
            attempt_id,
            session_id,
        }
    }

    async fn quote(&self, token: &str, n: usize) -> (u16, Value) {
        let body = json!({ "pack_id": "starter-500", "payment_method": "stripe_checkout", "idempotency_key": format!("q{n}") });
        self.send(Some(body), "/v1/credit-quotes", Some(token))
            .await
    }

    async fn status(&self, reference: &str, id: &str, token: &str) -> (u16, Value) {
        self.send(
            None,
            &format!("/v1/credit-purchases/status?{reference}={id}"),
            Some(token),
        )
        .await
    }
}

fn assert_evicted(status: u16, body: &Value, id: &str) {
    assert_eq!(status, 410, "a forgotten `{id}` must be 410: {body}");
    assert_eq!(body["ok"], false, "{body}");
    assert_eq!(body["error"]["code"], "RECORD_EVICTED", "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(id) && message.contains("--retain"),
        "the message names the record and the flag: {message}"
    );
}

#[tokio::test]
async fn a_mock_keeps_at_most_its_cap_of_each_record_and_says_what_it_forgot() {
    // Arrange
    let mock = Mock::start(Some(CAP)).await;

    // Act
    let mut flows = Vec::new();
    for n in 0..FLOWS {
        flows.push(mock.checkout(n).await);
    }
    let retained = mock.server.retained();

    // Assert: never more than the cap of any kind.
    assert_eq!(
        retained,
        Retention {
            cap: CAP,
            quotes: CAP,
            payment_attempts: CAP,
            receipts: 0,
            events: CAP,
            agents: CAP,
            jobs: 0,
            assets: 0,
            idempotency_keys: 2 * CAP,
        },
        "after {FLOWS} flows with --retain {CAP}"
    );
    // The ledger's counts are of everything made, so the invariants that
    // compare them still see each new attempt.
    assert_eq!(mock.server.ledger().payment_attempts, FLOWS);

    let (first, last) = (&flows[0], &flows[FLOWS - 1]);
    // Forgotten records: the documented answer, not a 404 nor other data.
    let (status, body) = mock.status("quote_id", &first.quote_id, &last.token).await;
    assert_evicted(status, &body, &first.quote_id);
    let (status, body) = mock
        .status("payment_attempt_id", &first.attempt_id, &last.token)
        .await;
    assert_evicted(status, &body, &first.attempt_id);
    let (status, body) = mock
        .status("checkout_session_id", &first.session_id, &last.token)
        .await;
    assert_evicted(status, &body, &first.session_id);
    let (status, body) = mock
        .send(None, &format!("/pay/{}", first.attempt_id), None)
        .await;
    assert_evicted(status, &body, &first.attempt_id);
    let (status, body) = mock.send(None, "/v1/whoami", Some(&first.token)).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "AUTH_INVALID", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no longer retains")),
        "a forgotten agent's token says so: {body}"
    );
    // What was never made is still a plain 404.
    let (status, body) = mock.status("quote_id", "quote_999999", &last.token).await;
    assert_eq!(status, 404, "{body}");

    // Retained records answer as before, and key replay holds for them.
    let (status, body) = mock.status("quote_id", &last.quote_id, &last.token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["state"], "action_required", "{body}");
    let (status, replay) = mock.quote(&last.token, FLOWS - 1).await;
    assert_eq!(status, 200, "{replay}");
    assert_eq!(
        replay["data"]["quote_id"], last.quote_id,
        "replaying a retained key returns its quote"
    );
    assert_eq!(mock.server.retained().quotes, CAP);
    let (status, body) = mock
        .send(None, "/v1/activity?limit=100", Some(&last.token))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["events"][0]["links"]["payment_attempt_id"], last.attempt_id,
        "the retained ledger still reads back: {body}"
    );
    mock.server.shutdown().await;
}

#[tokio::test]
async fn the_default_cap_forgets_nothing_a_suite_run_makes() {
    // Arrange
    let mock = Mock::start(None).await;

    // Act
    let first = mock.checkout(0).await;
    for n in 1..FLOWS {
        mock.checkout(n).await;
    }

    // Assert
    let retained = mock.server.retained();
    assert_eq!(retained.cap, conform::mock::DEFAULT_RETAIN);
    assert_eq!(retained.quotes, FLOWS);
    let (status, body) = mock.status("quote_id", &first.quote_id, &first.token).await;
    assert_eq!(status, 200, "{body}");
    mock.server.shutdown().await;
}

#[test]
fn conform_mock_refuses_a_retention_of_zero() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_conform"))
        .args(["mock", "--retain", "0"])
        .output()
        .expect("conform runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--retain"), "{stderr}");
}
