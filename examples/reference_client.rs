//! A tiny Image Skill client for conform's own tests: it calls the mock over
//! HTTP and prints the server's envelope, like the real CLI's `--json`.
//! `--strip-fragments` (before the command) rewrites Stripe Checkout URLs
//! the way image-skill 0.1.8 did, so tests can watch conform catch it.
//!
//! Usage: reference_client [--strip-fragments] <command ...> --json
//! Environment: IMAGE_SKILL_API_BASE_URL, IMAGE_SKILL_TOKEN.

use serde_json::{Value, json};

/// The documented exit codes this client uses.
const EXIT_GENERIC: i32 = 1;
const EXIT_ARGS: i32 = 2;
const EXIT_AUTH: i32 = 3;
const EXIT_PROVIDER: i32 = 7;

struct Call {
    command: &'static str,
    method: reqwest::Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Value>,
    auth: bool,
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let strip = take_flag(&mut args, "--strip-fragments");
    let json_out = take_flag(&mut args, "--json");
    let call = match parse(&args) {
        Ok(call) => call,
        Err((command, message)) => fail(command, EXIT_ARGS, "INVALID_ARGUMENTS", &message),
    };
    if !json_out {
        fail(
            call.command,
            EXIT_ARGS,
            "INVALID_ARGUMENTS",
            "this client only speaks --json",
        );
    }
    let Some(base) = std::env::var("IMAGE_SKILL_API_BASE_URL").ok() else {
        fail(
            call.command,
            EXIT_GENERIC,
            "CONFIG_MISSING",
            "IMAGE_SKILL_API_BASE_URL is not set",
        );
    };
    let token = std::env::var("IMAGE_SKILL_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    if call.auth && token.is_none() {
        fail(
            call.command,
            EXIT_AUTH,
            "AUTH_REQUIRED",
            "IMAGE_SKILL_TOKEN is not set",
        );
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => fail(call.command, EXIT_GENERIC, "CLIENT_ERROR", &e.to_string()),
    };
    let (status, mut body) = match runtime.block_on(send(&base, token.as_deref(), &call)) {
        Ok(answer) => answer,
        Err(e) => fail(call.command, EXIT_PROVIDER, "NETWORK_ERROR", &e),
    };
    if strip {
        if let Some(data) = body.get_mut("data") {
            strip_like_0_1_8(data);
        }
    }
    println!("{body}");
    std::process::exit(match status {
        200..=299 => 0,
        401 | 403 => EXIT_AUTH,
        400 | 404 | 422 => EXIT_ARGS,
        500..=599 => EXIT_PROVIDER,
        _ => EXIT_GENERIC,
    });
}

async fn send(base: &str, token: Option<&str>, call: &Call) -> Result<(u16, Value), String> {
    let mut url = url::Url::parse(&format!("{}{}", base.trim_end_matches('/'), call.path))
        .map_err(|e| e.to_string())?;
    if !call.query.is_empty() {
        url.query_pairs_mut().extend_pairs(&call.query);
    }
    conform::exec::http::install_tls_provider();
    let client = reqwest::Client::new();
    let mut req = client.request(call.method.clone(), url);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = &call.body {
        req = req.json(body);
    }
    let resp = req.send().await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body = resp.json::<Value>().await.map_err(|e| e.to_string())?;
    Ok((status, body))
}

/// What 0.1.8 did to each record: replace the Stripe URLs by a
/// fragment-stripped "compact" one.
fn strip_like_0_1_8(data: &mut Value) {
    strip_record(data);
    for key in ["next", "payment_attempt"] {
        if let Some(record) = data.get_mut(key) {
            strip_record(record);
        }
    }
}

fn strip_record(record: &mut Value) {
    let Some(map) = record.as_object_mut() else {
        return;
    };
    let source = map
        .get("checkout_compact_url")
        .or_else(|| map.get("checkout_url"))
        .or_else(|| map.get("fallback_checkout_url"))
        .and_then(Value::as_str)
        .map(|s| s.split('#').next().unwrap_or(s).to_string());
    let Some(compact) = source else { return };
    for key in [
        "checkout_compact_url",
        "checkout_url",
        "fallback_checkout_url",
    ] {
        if map.contains_key(key) {
            map.insert(key.to_string(), Value::String(compact.clone()));
        }
    }
}

fn take_flag(args: &mut Vec<String>, flag: &str) -> bool {
    let before = args.len();
    args.retain(|a| a != flag);
    args.len() != before
}

fn option(args: &[String], name: &str) -> Option<String> {
    args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone())
}

type ParseError = (&'static str, String);

fn parse(args: &[String]) -> Result<Call, ParseError> {
    let words: Vec<&str> = args.iter().take(2).map(String::as_str).collect();
    let get = |command: &'static str, name: &str| {
        option(args, name).ok_or((command, format!("missing {name}")))
    };
    // Reads without arguments: (first words, command, path).
    const READS: &[(&[&str], &str, &str)] = &[
        (&["usage", "quota"], "usage quota", "/v1/quota"),
        (&["models", "list"], "models list", "/v1/models"),
        (
            &["capabilities", "list"],
            "capabilities list",
            "/v1/capabilities",
        ),
        (
            &["credits", "packs", "list"],
            "credits packs list",
            "/v1/credit-packs",
        ),
        (
            &["credits", "methods"],
            "credits methods",
            "/v1/payment-methods",
        ),
        (&["activity", "list"], "activity list", "/v1/activity"),
    ];
    let get_call = |command: &'static str, path: String| Call {
        command,
        method: reqwest::Method::GET,
        path,
        query: Vec::new(),
        body: None,
        auth: true,
    };
    for (prefix, command, path) in READS {
        if args.len() >= prefix.len() && args.iter().zip(prefix.iter()).all(|(a, p)| a == p) {
            return Ok(get_call(command, (*path).to_string()));
        }
    }
    match words.as_slice() {
        ["jobs", "show"] => match args.get(2).filter(|a| !a.starts_with("--")) {
            Some(id) => Ok(get_call("jobs show", format!("/v1/jobs/{id}"))),
            None => Err(("jobs show", "give a JOB_ID".into())),
        },
        ["create", ..] => Ok(Call {
            command: "create",
            method: reqwest::Method::POST,
            path: "/v1/create".into(),
            query: Vec::new(),
            body: Some(json!({
                "prompt": option(args, "--prompt").unwrap_or_else(|| "a lighthouse at dusk".into()),
                "intent": "explore",
                "aspect_ratio": "1:1",
                "max_estimated_usd_per_image": 0.05,
                "dry_run": args.iter().any(|a| a == "--dry-run"),
            })),
            auth: true,
        }),
        ["whoami", ..] => Ok(Call {
            command: "whoami",
            method: reqwest::Method::GET,
            path: "/v1/whoami".into(),
            query: Vec::new(),
            body: None,
            auth: true,
        }),
        ["credits", "quote"] => {
            let c = "credits quote";
            let mut body = serde_json::Map::new();
            match (option(args, "--pack"), option(args, "--credits")) {
                (Some(pack), None) => {
                    body.insert("pack_id".into(), json!(pack));
                }
                (None, Some(credits)) => {
                    let n: u64 = credits
                        .parse()
                        .map_err(|_| (c, format!("--credits `{credits}` is not a whole number")))?;
                    body.insert("credits".into(), json!(n));
                }
                _ => return Err((c, "give exactly one of --pack and --credits".into())),
            }
            if let Some(m) = option(args, "--payment-method") {
                body.insert("payment_method".into(), json!(m));
            }
            if let Some(k) = option(args, "--idempotency-key") {
                body.insert("idempotency_key".into(), json!(k));
            }
            Ok(Call {
                command: c,
                method: reqwest::Method::POST,
                path: "/v1/credit-quotes".into(),
                query: Vec::new(),
                body: Some(Value::Object(body)),
                auth: true,
            })
        }
        ["credits", "buy"] => {
            let c = "credits buy";
            if get(c, "--provider")? != "stripe" {
                return Err((c, "only --provider stripe is supported".into()));
            }
            Ok(Call {
                command: c,
                method: reqwest::Method::POST,
                path: "/v1/credit-purchases/stripe-checkout-sessions".into(),
                query: Vec::new(),
                body: Some(json!({
                    "quote_id": get(c, "--quote-id")?,
                    "idempotency_key": get(c, "--idempotency-key")?,
                })),
                auth: true,
            })
        }
        ["credits", "status"] => {
            let c = "credits status";
            let refs: Vec<(String, String)> = [
                "quote_id",
                "payment_attempt_id",
                "checkout_session_id",
                "receipt_id",
            ]
            .into_iter()
            .filter_map(|k| {
                option(args, &format!("--{}", k.replace('_', "-"))).map(|v| (k.to_string(), v))
            })
            .collect();
            if refs.len() != 1 {
                return Err((c, "give exactly one reference flag".into()));
            }
            Ok(Call {
                command: c,
                method: reqwest::Method::GET,
                path: "/v1/credit-purchases/status".into(),
                query: refs,
                body: None,
                auth: true,
            })
        }
        ["credits", "fake-purchase"] => {
            let c = "credits fake-purchase";
            Ok(Call {
                command: c,
                method: reqwest::Method::POST,
                path: "/v1/credit-purchases".into(),
                query: Vec::new(),
                body: Some(json!({
                    "quote_id": get(c, "--quote-id")?,
                    "idempotency_key": get(c, "--idempotency-key")?,
                })),
                auth: true,
            })
        }
        _ => Err(("unknown", format!("unknown command `{}`", words.join(" ")))),
    }
}

/// Prints the documented error envelope and exits with `code`.
fn fail(command: &str, code: i32, error_code: &str, message: &str) -> ! {
    let envelope = json!({
        "ok": false,
        "command": command,
        "trace_id": "trace_client_local",
        "actor": null,
        "data": null,
        "warnings": [],
        "error": { "code": error_code, "message": message, "retryable": false }
    });
    println!("{envelope}");
    std::process::exit(code);
}
