//! The reference mock of the Image Skill hosted API: an in-process wiremock
//! server with every documented endpoint, stateful across requests, and a
//! [`Profile`] that can replay a known regression.

mod catalog;
mod cli;
mod codec;
mod creative;
mod faults;
mod handlers;
mod ledger;
mod profile;
mod state;

use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::{Value, json};
use wiremock::http::HeaderValue;
use wiremock::matchers::{any, method, path, path_regex};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

use crate::{Error, Result};
pub use creative::ARTIFACT_FAILURE_MARKER;
use handlers::{ApiError, Call, Handled, Outcome};
pub use profile::Profile;
use state::{Agent, State};

/// One response the mock served, as the client saw it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Served {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// The request body as JSON; a body that is not JSON is kept as a string.
    pub request_body: Option<serde_json::Value>,
    pub status: u16,
    pub body: Option<serde_json::Value>,
    pub location: Option<String>,
}

/// A running reference mock. Dropping it stops the server.
pub struct MockServer {
    /// `None` for faults-reset, which is a bare TCP server.
    _server: Option<wiremock::MockServer>,
    resets: Option<tokio::task::JoinHandle<()>>,
    shared: Arc<Shared>,
    base_url: String,
    token: String,
    profile: Profile,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("base_url", &self.base_url)
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl MockServer {
    /// Starts the mock with a fresh random token, on `addr` or on an
    /// ephemeral port of 127.0.0.1.
    pub async fn start(profile: Profile, addr: Option<SocketAddr>) -> Result<MockServer> {
        let token = format!("isk_r_mock_{:032x}", rand::random::<u128>());
        MockServer::start_with_token(profile, addr, token).await
    }

    pub async fn start_with_token(
        profile: Profile,
        addr: Option<SocketAddr>,
        token: String,
    ) -> Result<MockServer> {
        let addr = addr.unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0));
        let listener =
            TcpListener::bind(addr).map_err(|e| Error::Mock(format!("cannot bind {addr}: {e}")))?;
        let mut local = listener
            .local_addr()
            .map_err(|e| Error::Mock(format!("cannot read the bound address: {e}")))?;
        // A wildcard bind is reachable on loopback; clients need a concrete host.
        if local.ip().is_unspecified() {
            local.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        let base_url = format!("http://{local}");

        let shared = Arc::new(Shared {
            profile,
            record: AtomicBool::new(true),
            state: Mutex::new(State::new(base_url.clone(), token.clone())),
        });
        if profile == Profile::FaultsReset {
            let listener = listener
                .set_nonblocking(true)
                .and_then(|()| tokio::net::TcpListener::from_std(listener))
                .map_err(|e| Error::Mock(format!("cannot serve on {local}: {e}")))?;
            return Ok(MockServer {
                _server: None,
                resets: Some(tokio::spawn(faults::serve_resets(listener))),
                shared,
                base_url,
                token,
                profile,
            });
        }
        let server = wiremock::MockServer::builder()
            .listener(listener)
            // conform keeps its own record (`served`); wiremock's would duplicate it.
            .disable_request_recording()
            .start()
            .await;
        mount(&server, &shared).await;

        Ok(MockServer {
            _server: Some(server),
            resets: None,
            shared,
            base_url,
            token,
            profile,
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// wiremock keeps every request a route matched, for its own
    /// verification, which this mock never uses; a long soak run would grow
    /// without bound. Remounting the routes drops them; the mock's state
    /// lives outside wiremock and is kept. Call it only while no request is
    /// in flight (between soak iterations).
    pub async fn forget_matched_requests(&self) {
        if let Some(server) = &self._server {
            server.reset().await;
            mount(server, &self.shared).await;
        }
    }

    /// Stops (or resumes) keeping answers for [`MockServer::served`].
    pub fn record_served(&self, on: bool) {
        self.shared.record.store(on, Ordering::Relaxed);
    }

    /// Every response served so far, in order (while recording is on).
    pub fn served(&self) -> Vec<Served> {
        lock(&self.shared.state).served.clone()
    }
}

/// Registers every route, and the catch-all, on `server`.
async fn mount(server: &wiremock::MockServer, shared: &Arc<Shared>) {
    for route in ROUTES {
        let builder = Mock::given(method(route.method));
        let builder = match route.path {
            RoutePath::Exact(p) => builder.and(path(p)),
            RoutePath::Regex(p) => builder.and(path_regex(p)),
        };
        server
            .register(builder.respond_with(Endpoint::new(shared, route)))
            .await;
    }
    let catch_all = Route {
        method: "GET",
        path: RoutePath::Exact(""),
        command: "unknown",
        auth: false,
        handler: handlers::no_route,
    };
    server
        .register(
            Mock::given(any())
                .respond_with(Endpoint::new(shared, &catch_all))
                .with_priority(u8::MAX),
        )
        .await;
}

impl MockServer {
    /// Stops the server and returns once it no longer answers. Prefer this
    /// to a plain drop at the end of a run: the port is free afterwards.
    pub async fn shutdown(mut self) {
        if let Some(server) = self._server.take() {
            // See `Drop`: wiremock's drop must not run on a runtime worker.
            let _ = tokio::task::spawn_blocking(move || drop(server)).await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(task) = &self.resets {
            task.abort();
        }
        // wiremock's `MockServer::drop` blocks on a tokio `RwLock` with
        // `futures::executor::block_on`. On a tokio worker whose task has
        // spent its cooperative budget, that lock answers `Pending` forever
        // and the process spins at exit (issue 14, finding 1). A thread of
        // its own has no budget; the lock's holder runs on wiremock's own
        // server thread, so the drop there finishes promptly.
        if let Some(server) = self._server.take() {
            let spawned = std::thread::Builder::new()
                .name("conform-mock-stop".into())
                .spawn(move || drop(server));
            if let Err(e) = spawned {
                // No thread to spare: leaking the server beats hanging.
                eprintln!("warning: cannot stop the mock cleanly: {e}");
            }
        }
    }
}

struct Shared {
    profile: Profile,
    /// Whether answers are kept for `served()`; only client mode reads
    /// them, and a long soak run must not grow the mock without bound.
    record: AtomicBool,
    state: Mutex<State>,
}

/// A handler that panicked mid-request must not take the whole mock down:
/// the state it left is still the best record there is.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

type Handler = fn(&mut State, &Call) -> Handled;

enum RoutePath {
    Exact(&'static str),
    Regex(&'static str),
}

struct Route {
    method: &'static str,
    path: RoutePath,
    command: &'static str,
    auth: bool,
    handler: Handler,
}

const ROUTES: &[Route] = &[
    route(
        "GET",
        RoutePath::Exact("/healthz"),
        "healthz",
        false,
        handlers::healthz,
    ),
    route(
        "GET",
        RoutePath::Exact("/v1/whoami"),
        "whoami",
        true,
        handlers::whoami,
    ),
    route(
        "GET",
        RoutePath::Exact("/v1/quota"),
        "usage quota",
        true,
        handlers::quota,
    ),
    route(
        "GET",
        RoutePath::Exact("/v1/payment-methods"),
        "credits methods",
        false,
        handlers::payment_methods,
    ),
    route(
        "GET",
        RoutePath::Exact("/v1/credit-packs"),
        "credits packs list",
        false,
        handlers::credit_packs,
    ),
    route(
        "POST",
        RoutePath::Exact("/v1/credit-quotes"),
        "credits quote",
        true,
        handlers::create_quote,
    ),
    route(
        "POST",
        RoutePath::Exact("/v1/credit-purchases/stripe-checkout-sessions"),
        "credits buy",
        true,
        handlers::create_checkout_session,
    ),
    route(
        "GET",
        RoutePath::Exact("/v1/credit-purchases/status"),
        "credits status",
        true,
        handlers::purchase_status,
    ),
    route(
        "POST",
        RoutePath::Exact("/v1/credit-purchases"),
        "credits fake-purchase",
        true,
        handlers::fake_purchase,
    ),
    route(
        "GET",
        RoutePath::Regex(r"^/pay/[^/]+$"),
        "pay",
        false,
        handlers::pay_redirect,
    ),
    route(
        "POST",
        RoutePath::Exact("/v1/agent-signups"),
        "signup",
        false,
        handlers::agent_signup,
    ),
    route(
        "GET",
        RoutePath::Exact("/v1/models"),
        "models list",
        false,
        handlers::models,
    ),
    route(
        "GET",
        RoutePath::Regex(r"^/v1/models/[^/]+$"),
        "models show",
        false,
        handlers::model,
    ),
    route(
        "GET",
        RoutePath::Exact("/v1/capabilities"),
        "capabilities list",
        false,
        handlers::capabilities,
    ),
    route(
        "POST",
        RoutePath::Exact("/v1/create"),
        "create",
        true,
        creative::create,
    ),
    route(
        "POST",
        RoutePath::Exact("/v1/upload"),
        "upload",
        true,
        creative::upload,
    ),
    route(
        "POST",
        RoutePath::Exact("/v1/edit"),
        "edit",
        true,
        creative::edit,
    ),
    route(
        "GET",
        RoutePath::Regex(r"^/v1/assets/[^/]+$"),
        "assets show",
        true,
        creative::asset_show,
    ),
    route(
        "GET",
        RoutePath::Regex(r"^/v1/jobs/[^/]+$"),
        "jobs show",
        true,
        creative::job_show,
    ),
    route(
        "GET",
        RoutePath::Exact("/v1/activity"),
        "activity list",
        true,
        ledger::activity_list,
    ),
    route(
        "GET",
        RoutePath::Regex(r"^/v1/activity/[^/]+$"),
        "activity show",
        true,
        ledger::activity_show,
    ),
    route("POST", RoutePath::Exact("/v1/cli"), "cli", true, cli::cli),
];

const fn route(
    method: &'static str,
    path: RoutePath,
    command: &'static str,
    auth: bool,
    handler: Handler,
) -> Route {
    Route {
        method,
        path,
        command,
        auth,
        handler,
    }
}

/// The wiremock responder for one route: auth, handler, envelope, profile,
/// then the record of what was served.
struct Endpoint {
    shared: Arc<Shared>,
    command: &'static str,
    auth: bool,
    handler: Handler,
}

impl Endpoint {
    fn new(shared: &Arc<Shared>, route: &Route) -> Endpoint {
        Endpoint {
            shared: Arc::clone(shared),
            command: route.command,
            auth: route.auth,
            handler: route.handler,
        }
    }
}

impl Respond for Endpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let profile = self.shared.profile;
        let mut state = lock(&self.shared.state);
        if let Some((status, fault)) =
            faults::answer(profile, request.method.as_str(), request.url.path())
        {
            state.record(
                self.shared.record.load(Ordering::Relaxed),
                Served {
                    method: request.method.to_string(),
                    path: request.url.path().to_string(),
                    query: request.url.query().map(str::to_string),
                    request_body: request_body(&request.body),
                    status,
                    // The injected bytes are not a JSON answer worth keeping.
                    body: None,
                    location: None,
                },
            );
            return fault;
        }
        // Drawn before the handler runs so the events it records carry it.
        let trace_id = state.next_trace_id();
        let caller = match (self.auth, profile) {
            (false, _) => Ok(None),
            // The negative suite must catch a server that serves anyone.
            (true, Profile::IgnoresAuth) => Ok(check_auth(request, &state)
                .unwrap_or_else(|_| state.agents.get(&state.token).cloned())),
            (true, _) => check_auth(request, &state),
        };
        let caller = caller.and_then(|agent| within_limits(&request.body).map(|()| agent));
        let call = Call {
            req: request,
            caller: caller.as_ref().ok().cloned().flatten(),
            trace_id: trace_id.clone(),
            command: Cell::new(None),
        };
        let result = caller.and_then(|_| (self.handler)(&mut state, &call));
        let command = call.command.get().unwrap_or(self.command);
        let (status, mut body, location) = match result {
            Ok(Outcome::Data(data)) => (
                200,
                Some(success(command, &trace_id, call.caller.as_ref(), data)),
                None,
            ),
            Ok(Outcome::Redirect(to)) => (303, None, Some(to)),
            Err(error) => (
                error.status,
                Some(failure(command, &trace_id, &error)),
                None,
            ),
        };
        if let Some(body) = body.as_mut() {
            self.shared.profile.shape(body);
        }
        state.record(
            self.shared.record.load(Ordering::Relaxed),
            Served {
                method: request.method.to_string(),
                path: request.url.path().to_string(),
                query: request.url.query().map(str::to_string),
                request_body: request_body(&request.body),
                status,
                body: body.clone(),
                location: location.clone(),
            },
        );
        drop(state);

        let mut template = ResponseTemplate::new(status);
        if profile == Profile::FaultsSlow {
            template = template.set_delay(faults::SLOW_DELAY);
        }
        if let Some(body) = body {
            let bytes = serde_json::to_vec(&body).unwrap_or_default();
            template = template.set_body_raw(bytes, "application/json");
        }
        if let Some(location) = location {
            match HeaderValue::from_str(&location) {
                Ok(value) => template = template.insert_header("location", value),
                Err(_) => return ResponseTemplate::new(500),
            }
        }
        template
    }
}

// The contract maps "auth required or invalid token" to exit code 3 but names
// no error code; AUTH_REQUIRED / AUTH_INVALID are conform's convention.
/// The agent the bearer token stands for: the mock's own token or one that
/// signup issued and has not rotated away.
fn check_auth(request: &Request, state: &State) -> std::result::Result<Option<Agent>, ApiError> {
    let Some(header) = request.headers.get("authorization") else {
        return Err(ApiError::new(
            401,
            "AUTH_REQUIRED",
            "missing `Authorization: Bearer <token>` header",
        ));
    };
    let presented = header
        .to_str()
        .ok()
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    match presented.map(|t| state.agents.get(t)) {
        Some(Some(agent)) => Ok(Some(agent.clone())),
        Some(None) => Err(ApiError::new(
            401,
            "AUTH_INVALID",
            "bearer token is not valid",
        )),
        None => Err(ApiError::new(
            401,
            "AUTH_INVALID",
            "malformed Authorization header, expected `Bearer <token>`",
        )),
    }
}

fn success(command: &str, trace_id: &str, caller: Option<&Agent>, data: Value) -> Value {
    let actor = match caller {
        Some(agent) => json!({
            "actor_type": "agent",
            "actor_id": agent.actor_id,
            "organization_id": agent.organization_id,
            "claim_state": "unclaimed"
        }),
        None => Value::Null,
    };
    json!({
        "ok": true,
        "command": command,
        "trace_id": trace_id,
        "actor": actor,
        "data": data,
        "warnings": [],
        "error": null
    })
}

fn failure(command: &str, trace_id: &str, error: &ApiError) -> Value {
    let mut detail = json!({
        "code": error.code,
        "message": error.message,
        "retryable": false
    });
    let mut recovery = serde_json::Map::new();
    if let Some(flag) = error.required_flag {
        recovery.insert("required_flag".into(), json!(flag));
    }
    if let Some(command) = &error.suggested_command {
        recovery.insert("suggested_command".into(), json!(command));
    }
    if !recovery.is_empty() {
        detail["recovery"] = Value::Object(recovery);
    }
    json!({
        "ok": false,
        "command": command,
        "trace_id": trace_id,
        "actor": null,
        "data": null,
        "warnings": [],
        "error": detail
    })
}

/// The mock's size limits (conform's own; the docs name none): strings up
/// to 4096 characters and numbers up to 10^9, so oversized probes are
/// refused, not stored.
fn within_limits(body: &[u8]) -> std::result::Result<(), ApiError> {
    const MAX_STRING: usize = 4096;
    const MAX_NUMBER: f64 = 1e9;
    fn walk(v: &Value, at: &str) -> std::result::Result<(), ApiError> {
        match v {
            Value::String(s) if s.chars().count() > MAX_STRING => Err(ApiError::new(
                400,
                "INVALID_REQUEST",
                format!("`{at}` is longer than {MAX_STRING} characters"),
            )),
            Value::Number(n) if n.as_f64().is_some_and(|f| f.abs() > MAX_NUMBER) => Err(
                ApiError::new(400, "INVALID_REQUEST", format!("`{at}` is out of range")),
            ),
            Value::Array(items) => items.iter().try_for_each(|i| walk(i, at)),
            Value::Object(map) => map.iter().try_for_each(|(k, i)| walk(i, k)),
            _ => Ok(()),
        }
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => walk(&v, "body"),
        // Malformed bodies are the handlers' to refuse, with their own words.
        Err(_) => Ok(()),
    }
}

fn request_body(bytes: &[u8]) -> Option<Value> {
    if bytes.is_empty() {
        return None;
    }
    Some(
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned())),
    )
}
