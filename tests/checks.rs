//! Every check kind, with a passing and a failing case, on canned answers:
//! Arrange a step's `expect` (parsed from suite JSON) and a response, Act
//! with `check::run_all`, Assert on the named check's outcome.

use std::path::Path;

use conform::check::{self, Context, Response};
use conform::contract::Contract;
use conform::mock::{Ledger, Served};
use conform::outcome::CheckOutcome;
use conform::suite::{Expect, SuiteFormat};
use conform::vars::Vars;
use serde_json::{Value, json};

const FULL: &str = "https://checkout.stripe.com/c/pay/cs_test_1#fidkdWxOYHwnPyd1blpxYHZxWjA0";
const BARE: &str = "https://checkout.stripe.com/c/pay/cs_test_1";
const HANDOFF: &str = "http://127.0.0.1:9/pay/payatt_1";

/// The `expect` of a one-step suite (`cli` selects a client step).
fn expect(expect: Value, cli: bool) -> Expect {
    let step = if cli {
        json!({"name": "s", "cli": ["x"], "expect": expect})
    } else {
        json!({"name": "s", "request": {"method": "GET", "path": "/x"}, "expect": expect})
    };
    // Declared so the load-time variable check passes; cases set values.
    let vars = json!({"checkout_url": ""});
    let suite = json!({"suite": "t", "vars": vars, "scenarios": [{"name": "a", "steps": [step]}]});
    let parsed = SuiteFormat::new()
        .and_then(|f| f.parse(Path::new("t.json"), &suite.to_string()))
        .expect("test suite parses");
    parsed.scenarios[0].steps[0].expect.clone()
}

fn envelope(data: Value) -> Value {
    json!({"ok": true, "command": "t", "trace_id": "trace_1", "actor": null, "data": data, "warnings": [], "error": null})
}

fn error(code: &str) -> Value {
    json!({"ok": false, "command": "t", "trace_id": "trace_1", "actor": null, "data": null, "warnings": [],
           "error": {"code": code, "message": "m", "retryable": false}})
}

fn http(status: u16, body: Option<Value>, location: Option<&str>) -> Response {
    let bytes = body
        .as_ref()
        .map(|b| b.to_string().into_bytes())
        .unwrap_or_default();
    Response {
        status,
        location: location.map(str::to_string),
        content_type: body.as_ref().map(|_| "application/json".to_string()),
        json: body.ok_or_else(|| "empty body".to_string()),
        body: bytes,
        exit_code: None,
        stderr: Vec::new(),
    }
}

struct Case {
    vars: Vec<(&'static str, Value)>,
    served: Vec<Served>,
    contract: &'static str,
    cli_args: Vec<String>,
    ledger: Option<check::LedgerChange>,
}

impl Default for Case {
    fn default() -> Self {
        Case {
            vars: Vec::new(),
            served: Vec::new(),
            contract: "0.1.9",
            cli_args: Vec::new(),
            ledger: None,
        }
    }
}

/// The outcomes of every check for this step and answer.
fn run_every(exp: &Expect, response: &Response, cli: bool, case: Case) -> Vec<CheckOutcome> {
    let contract = Contract::embedded(case.contract).expect("contract");
    let mut vars = Vars::default();
    for (k, v) in case.vars {
        vars.set(k, v);
    }
    let cx = Context {
        contract: &contract,
        policy: contract.fragment_policy(),
        vars: &vars,
        response,
        served: &case.served,
        handed_token: None,
        cli_args: &case.cli_args,
        ledger: case.ledger,
    };
    check::run_all(exp, &cx, cli)
}

/// The outcomes of check `name` for this step and answer.
fn run(name: &str, exp: &Expect, response: &Response, cli: bool, case: Case) -> Vec<CheckOutcome> {
    let all = run_every(exp, response, cli, case);
    let named: Vec<CheckOutcome> = all.into_iter().filter(|c| c.check == name).collect();
    assert!(!named.is_empty(), "check {name} did not run");
    named
}

fn passes(name: &str, exp: Value, response: Response) {
    passes_with(name, exp, response, false, Case::default());
}

fn passes_with(name: &str, exp: Value, response: Response, cli: bool, case: Case) {
    let out = run(name, &expect(exp, cli), &response, cli, case);
    assert!(out.iter().all(|c| c.passed), "{name} should pass: {out:#?}");
}

fn fails(name: &str, exp: Value, response: Response) -> CheckOutcome {
    fails_with(name, exp, response, false, Case::default())
}

fn fails_with(name: &str, exp: Value, response: Response, cli: bool, case: Case) -> CheckOutcome {
    let out = run(name, &expect(exp, cli), &response, cli, case);
    out.into_iter()
        .find(|c| !c.passed)
        .unwrap_or_else(|| panic!("{name} should fail"))
}

#[test]
fn status() {
    passes(
        "status",
        json!({"status": 200}),
        http(200, Some(envelope(json!({}))), None),
    );
    let f = fails(
        "status",
        json!({"status": 200}),
        http(404, Some(error("NOT_FOUND")), None),
    );
    assert_eq!((f.expected.as_str(), f.actual.as_str()), ("200", "404"));
}

#[test]
fn envelope_is_always_checked() {
    passes(
        "envelope",
        json!({}),
        http(200, Some(envelope(json!({}))), None),
    );
    let mut broken = envelope(json!({}));
    broken["trace_id"] = Value::Null;
    let f = fails("envelope", json!({}), http(200, Some(broken), None));
    assert_eq!(f.pointer.as_deref(), Some("/trace_id"));
    // An error status wants the error envelope.
    fails(
        "envelope",
        json!({"status": 409}),
        http(409, Some(envelope(json!({}))), None),
    );
}

#[test]
fn schema() {
    let quote = json!({"quote_id": "quote_1", "state": "created", "credits": 10, "price_amount_cents": 10,
        "currency": "USD", "expires_at": "2026-05-08T20:00:00.000Z", "accepted_payment_method": "fake",
        "idempotency_key": null, "pack_id": null, "pack": null, "live_money": false});
    passes(
        "schema",
        json!({"schema": "credit-quote"}),
        http(200, Some(envelope(quote.clone())), None),
    );
    let mut bad = quote;
    bad["credits"] = json!("ten");
    let f = fails(
        "schema",
        json!({"schema": "credit-quote"}),
        http(200, Some(envelope(bad)), None),
    );
    assert_eq!(f.pointer.as_deref(), Some("/data/credits"));
}

#[test]
fn equals_and_matches() {
    let ok = http(
        200,
        Some(envelope(json!({"state": "created", "n": 500}))),
        None,
    );
    passes(
        "equals",
        json!({"equals": {"/data/state": "created", "/data/n": 500}}),
        ok.clone(),
    );
    let f = fails("equals", json!({"equals": {"/data/n": 501}}), ok.clone());
    assert_eq!((f.expected.as_str(), f.actual.as_str()), ("501", "500"));
    passes(
        "matches",
        json!({"matches": {"/data/state": "^cre"}}),
        ok.clone(),
    );
    let f = fails("matches", json!({"matches": {"/data/missing": "x"}}), ok);
    assert_eq!(f.actual, "nothing at this pointer");
}

#[test]
fn error_code() {
    passes(
        "error_code",
        json!({"status": 409, "error_code": "CREDIT_QUOTE_CONFLICT"}),
        http(409, Some(error("CREDIT_QUOTE_CONFLICT")), None),
    );
    let f = fails(
        "error_code",
        json!({"status": 409, "error_code": "CREDIT_QUOTE_CONFLICT"}),
        http(409, Some(error("OTHER")), None),
    );
    assert_eq!(f.actual, "\"OTHER\"");
}

#[test]
fn fragment_preserved() {
    let exp = json!({"fragment_preserved": ["/data/checkout_url"]});
    passes(
        "fragment_preserved",
        exp.clone(),
        http(200, Some(envelope(json!({"checkout_url": FULL}))), None),
    );
    let f = fails(
        "fragment_preserved",
        exp.clone(),
        http(200, Some(envelope(json!({"checkout_url": BARE}))), None),
    );
    assert!(
        f.note
            .as_deref()
            .is_some_and(|n| n.contains("fragment removed")),
        "{f:?}"
    );
    // Byte for byte against the same URL captured earlier.
    let altered = format!("{BARE}#fidOTHER");
    let case = Case {
        vars: vec![("checkout_url", json!(FULL))],
        ..Case::default()
    };
    let f = fails_with(
        "fragment_preserved",
        exp.clone(),
        http(200, Some(envelope(json!({"checkout_url": altered}))), None),
        false,
        case,
    );
    assert_eq!(f.expected, FULL);
    assert!(
        f.note
            .as_deref()
            .is_some_and(|n| n.contains("fragment altered")),
        "{f:?}"
    );
    // The compact field may be its object's handoff URL.
    passes(
        "fragment_preserved",
        json!({"fragment_preserved": ["/data/checkout_compact_url"]}),
        http(
            200,
            Some(envelope(
                json!({"checkout_compact_url": HANDOFF, "checkout_handoff_url": HANDOFF}),
            )),
            None,
        ),
    );
    // Under contract 0.1.8 the rule is the one its docs state: stripped.
    let old = Case {
        contract: "0.1.8",
        ..Case::default()
    };
    passes_with(
        "fragment_preserved",
        exp.clone(),
        http(200, Some(envelope(json!({"checkout_url": BARE}))), None),
        false,
        old,
    );
}

#[test]
fn redirects_to() {
    let exp = json!({"status": 303, "redirects_to": "${checkout_url}"});
    let vars = || Case {
        vars: vec![("checkout_url", json!(FULL))],
        ..Case::default()
    };
    passes_with(
        "redirects_to",
        exp.clone(),
        http(303, None, Some(FULL)),
        false,
        vars(),
    );
    let f = fails_with(
        "redirects_to",
        exp.clone(),
        http(303, None, Some(BARE)),
        false,
        vars(),
    );
    assert!(
        f.note
            .as_deref()
            .is_some_and(|n| n.contains("fragment removed")),
        "{f:?}"
    );
    let f = fails_with(
        "redirects_to",
        exp,
        http(200, Some(envelope(json!({}))), None),
        false,
        vars(),
    );
    assert_eq!(f.actual, "status 200");
}

#[test]
fn always_on_server_checks() {
    passes(
        "not_a_server_error",
        json!({}),
        http(200, Some(envelope(json!({}))), None),
    );
    fails(
        "not_a_server_error",
        json!({}),
        http(503, Some(error("DOWN")), None),
    );
    let mut text = http(200, Some(envelope(json!({}))), None);
    text.content_type = Some("text/plain".into());
    fails("content_type_conformance", json!({}), text);
    passes(
        "content_type_conformance",
        json!({}),
        http(200, Some(envelope(json!({}))), None),
    );
    let f = fails(
        "stripe_url_fragments",
        json!({}),
        http(200, Some(envelope(json!({"deep": [{"url": BARE}]}))), None),
    );
    assert_eq!(f.pointer.as_deref(), Some("/data/deep/0/url"));
    passes(
        "trace_id",
        json!({}),
        http(200, Some(envelope(json!({}))), None),
    );
    let mut no_trace = envelope(json!({}));
    no_trace.as_object_mut().map(|o| o.remove("trace_id"));
    fails("trace_id", json!({}), http(200, Some(no_trace), None));
}

#[test]
fn rejects() {
    passes(
        "ignored_auth",
        json!({"rejects": "auth"}),
        http(401, Some(error("AUTH_REQUIRED")), None),
    );
    let f = fails(
        "ignored_auth",
        json!({"rejects": "auth"}),
        http(200, Some(envelope(json!({}))), None),
    );
    assert!(f.actual.contains("accepted"), "{f:?}");
    // Judging the request before the token is not refusing the token.
    fails(
        "ignored_auth",
        json!({"rejects": "auth"}),
        http(404, Some(error("NOT_FOUND")), None),
    );
    passes(
        "negative_data_rejection",
        json!({"rejects": "data"}),
        http(400, Some(error("INVALID_REQUEST")), None),
    );
    fails(
        "negative_data_rejection",
        json!({"rejects": "data"}),
        http(500, Some(error("BOOM")), None),
    );
}

fn client_output(stdout: Value, exit: i32) -> Response {
    Response {
        status: 0,
        location: None,
        content_type: None,
        body: stdout.to_string().into_bytes(),
        json: Ok(stdout),
        exit_code: Some(exit),
        stderr: Vec::new(),
    }
}

fn served(body: Value) -> Served {
    Served {
        method: "POST".into(),
        path: "/x".into(),
        query: None,
        request_body: None,
        status: 200,
        body: Some(body),
        location: None,
    }
}

/// A release without the field (0.1.0–0.1.6 send no checkout_handoff_url):
/// nothing sent and nothing printed passes; a value the server sent and the
/// client dropped still fails.
#[test]
fn server_value_preserved_with_no_value_on_either_side() {
    let exp = json!({"server_value_preserved": ["/data/checkout_handoff_url"]});
    let without = envelope(json!({"checkout_url": FULL}));
    passes_with(
        "server_value_preserved",
        exp.clone(),
        client_output(without.clone(), 0),
        true,
        Case {
            served: vec![served(without.clone())],
            ..Case::default()
        },
    );
    let with = envelope(
        json!({"checkout_url": FULL, "checkout_handoff_url": "http://127.0.0.1/pay/payatt_1"}),
    );
    let f = fails_with(
        "server_value_preserved",
        exp,
        client_output(without, 0),
        true,
        Case {
            served: vec![served(with)],
            ..Case::default()
        },
    );
    assert_eq!(f.actual, "nothing at this pointer", "{f:?}");
}

#[test]
fn client_checks() {
    let sent = envelope(json!({"checkout_url": FULL}));
    let case = || Case {
        served: vec![served(sent.clone())],
        ..Case::default()
    };
    let exp = json!({"server_value_preserved": ["/data/checkout_url"]});
    passes_with(
        "server_value_preserved",
        exp.clone(),
        client_output(sent.clone(), 0),
        true,
        case(),
    );
    let f = fails_with(
        "server_value_preserved",
        exp,
        client_output(envelope(json!({"checkout_url": BARE})), 0),
        true,
        case(),
    );
    assert_eq!((f.expected.as_str(), f.actual.as_str()), (FULL, BARE));
    assert!(
        f.note
            .as_deref()
            .is_some_and(|n| n.contains("fragment removed")),
        "{f:?}"
    );

    let f = fails_with(
        "stripe_urls_verbatim",
        json!({}),
        client_output(envelope(json!({"other": BARE})), 0),
        true,
        case(),
    );
    assert_eq!(f.pointer.as_deref(), Some("/data/other"));
    passes_with(
        "exit_code",
        json!({}),
        client_output(sent.clone(), 0),
        true,
        case(),
    );
    let f = fails_with(
        "exit_code",
        json!({"exit_code": 3}),
        client_output(sent.clone(), 2),
        true,
        case(),
    );
    assert_eq!(f.actual, "2 (invalid arguments)");

    let two_docs = Response {
        json: Err("stdout holds more than one JSON document".into()),
        ..client_output(sent.clone(), 0)
    };
    fails_with("stdout_json", json!({}), two_docs, true, case());
    passes_with(
        "stdout_json",
        json!({}),
        client_output(sent.clone(), 0),
        true,
        case(),
    );
}

fn ledger(before: Ledger, after: Ledger) -> Option<check::LedgerChange> {
    Some(check::LedgerChange { before, after })
}

fn client_case(args: &[&str], contract: &'static str, change: Option<check::LedgerChange>) -> Case {
    Case {
        contract,
        cli_args: args.iter().map(|a| a.to_string()).collect(),
        ledger: change,
        ..Case::default()
    }
}

/// Invariant no-spend: a step the docs mark as spending nothing fails when
/// the mock's ledger shows a debit, and is judged only when they do.
#[test]
fn no_spend() {
    let out = http(0, Some(envelope(json!({}))), None);
    let same = Ledger::default();
    let spent = Ledger {
        free_preview_used: 4,
        ..Ledger::default()
    };
    // A dry run, a read (0.1.9 has no `spend` data), a `spend: false` command.
    for (args, contract) in [
        (&["create", "--dry-run", "--json"][..], "0.1.9"),
        (&["jobs", "show", "job_1", "--json"][..], "0.1.9"),
        (&["whoami", "--json"][..], "0.1.37"),
    ] {
        passes_with(
            "no_spend",
            json!({}),
            out.clone(),
            true,
            client_case(args, contract, ledger(same, same)),
        );
        let failed = fails_with(
            "no_spend",
            json!({}),
            out.clone(),
            true,
            client_case(args, contract, ledger(same, spent)),
        );
        assert!(failed.actual.contains("4 credits debited"), "{failed:#?}");
    }
    // A paid create is not no-spend unless the step says so.
    let paid = client_case(&["create", "--json"], "0.1.9", ledger(same, spent));
    let all = run_every(&expect(json!({}), true), &out, true, paid);
    assert!(all.iter().all(|c| c.check != "no_spend"));
    fails_with(
        "no_spend",
        json!({"no_spend": true}),
        out.clone(),
        true,
        client_case(&["create", "--json"], "0.1.9", ledger(same, spent)),
    );
    // Turned off, or no ledger to read (a live server): nothing to judge.
    let off = run_every(
        &expect(json!({"no_spend": false}), true),
        &out,
        true,
        client_case(&["create", "--dry-run"], "0.1.9", ledger(same, spent)),
    );
    assert!(off.iter().all(|c| c.check != "no_spend"));
    let live = run_every(
        &expect(json!({}), true),
        &out,
        true,
        client_case(&["create", "--dry-run"], "0.1.9", None),
    );
    assert!(live.iter().all(|c| c.check != "no_spend"));
}

/// Invariant idempotent-charge: a retry that makes a second payment
/// attempt, receipt or grant fails.
#[test]
fn idempotent_charge() {
    let out = http(0, Some(envelope(json!({}))), None);
    let once = Ledger {
        payment_attempts: 1,
        ..Ledger::default()
    };
    let twice = Ledger {
        payment_attempts: 2,
        ..Ledger::default()
    };
    let exp = json!({"idempotent_charge": true});
    passes_with(
        "idempotent_charge",
        exp.clone(),
        out.clone(),
        true,
        client_case(&["credits", "buy"], "0.1.9", ledger(once, once)),
    );
    let failed = fails_with(
        "idempotent_charge",
        exp.clone(),
        out.clone(),
        true,
        client_case(&["credits", "buy"], "0.1.9", ledger(once, twice)),
    );
    assert!(
        failed.actual.contains("1 new payment attempt"),
        "{failed:#?}"
    );
    let granted = Ledger {
        receipts: 1,
        balance: 10,
        ..Ledger::default()
    };
    let regranted = Ledger {
        receipts: 2,
        balance: 20,
        ..Ledger::default()
    };
    let failed = fails_with(
        "idempotent_charge",
        exp,
        out,
        true,
        client_case(
            &["credits", "fake-purchase"],
            "0.1.9",
            ledger(granted, regranted),
        ),
    );
    assert!(
        failed.actual.contains("10 credits granted again"),
        "{failed:#?}"
    );
}
