//! The reference mock of the Image Skill hosted API: an in-process HTTP
//! server ([`server`]) that serves the endpoints of one contract version's
//! API model, stateful across requests, and a [`Profile`] that can replay a
//! known regression or misbehave on purpose.

mod answer;
mod call;
mod catalog;
mod cli;
mod codec;
mod creative;
mod faults;
mod handlers;
mod ledger;
mod profile;
mod request;
mod retain;
mod server;
mod state;
pub(crate) mod version;
mod wire;

use std::borrow::Cow;
use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::Value;

use crate::contract::api::{ApiModel, Auth, path_matches};
use crate::{Error, Result};
use call::{ApiError, Call, Handled, Outcome};
pub use creative::ARTIFACT_FAILURE_MARKER;
pub use profile::Profile;
pub use retain::DEFAULT_RETAIN;
use state::{Agent, State, TokenLookup};
pub use version::Serves;
use version::Version;
use wire::{Request, Response};

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

/// A snapshot of the mock's credit ledger ([`MockServer::ledger`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Ledger {
    /// Payment-backed credits held.
    pub balance: u64,
    /// Free-preview credits debited so far.
    pub free_preview_used: u64,
    /// Payment attempts made (Checkout sessions, deposits).
    pub payment_attempts: usize,
    /// Purchases settled (receipts).
    pub receipts: usize,
}

/// How many records of each kind the mock holds now
/// ([`MockServer::retained`]), and the most it keeps of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Retention {
    pub cap: usize,
    pub quotes: usize,
    pub payment_attempts: usize,
    pub receipts: usize,
    pub events: usize,
    /// Agents made by signup (the mock's own is always kept).
    pub agents: usize,
    pub jobs: usize,
    pub assets: usize,
    /// Quote, checkout-session and purchase keys together.
    pub idempotency_keys: usize,
}

/// A running reference mock. Prefer [`MockServer::shutdown`]; dropping it
/// also stops the server, without waiting.
pub struct MockServer {
    server: Option<server::Server>,
    /// faults-reset: a bare TCP server instead.
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
    /// Starts the mock of the default contract with a fresh random token,
    /// on `addr` or on an ephemeral port of 127.0.0.1.
    pub async fn start(profile: Profile, addr: Option<SocketAddr>) -> Result<MockServer> {
        MockServer::start_for(&default_api()?, profile, addr, None).await
    }

    pub async fn start_with_token(
        profile: Profile,
        addr: Option<SocketAddr>,
        token: String,
    ) -> Result<MockServer> {
        MockServer::start_for(&default_api()?, profile, addr, Some(token)).await
    }

    /// Starts the mock of one contract version: routes, auth, commands and
    /// payment rails come from its API model (an endpoint it lacks answers
    /// 404); given the whole [`crate::contract::Contract`], answers are also
    /// shaped by its response schemas and stocked from its `mock.json`.
    /// `token`: a fresh random one if none.
    pub async fn start_for<'a>(
        serves: impl Into<Serves<'a>>,
        profile: Profile,
        addr: Option<SocketAddr>,
        token: Option<String>,
    ) -> Result<MockServer> {
        let token = token.unwrap_or_else(|| format!("isk_r_mock_{:032x}", rand::random::<u128>()));
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
        let listener = listener
            .set_nonblocking(true)
            .and_then(|()| tokio::net::TcpListener::from_std(listener))
            .map_err(|e| Error::Mock(format!("cannot serve on {local}: {e}")))?;

        let serves = serves.into();
        let version = Version::shared(serves)?;
        let shared = Arc::new(Shared {
            profile,
            routes: routes(serves.api()),
            record: AtomicBool::new(true),
            state: Mutex::new(State::new(
                base_url.clone(),
                token.clone(),
                Arc::clone(&version),
            )),
            version,
        });
        let (server, resets) = if profile == Profile::FaultsReset {
            (None, Some(tokio::spawn(faults::serve_resets(listener))))
        } else {
            (
                Some(server::Server::spawn(listener, Arc::clone(&shared))),
                None,
            )
        };
        Ok(MockServer {
            server,
            resets,
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

    /// Stops (or resumes) keeping answers for [`MockServer::served`].
    pub fn record_served(&self, on: bool) {
        self.shared.record.store(on, Ordering::Relaxed);
    }

    /// Every response served so far, in order (while recording is on).
    pub fn served(&self) -> Vec<Served> {
        lock(&self.shared.state).served.clone()
    }

    /// What the mock's ledger holds now, read-only: the invariants
    /// no-spend and idempotent-charge compare it before and after a step.
    /// Counts are of everything made, forgotten records included.
    pub fn ledger(&self) -> Ledger {
        let state = lock(&self.shared.state);
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Ledger {
            balance: state.balance,
            free_preview_used: state.free_preview_used,
            payment_attempts: count(state.attempts.inserted()),
            receipts: count(state.receipts.inserted()),
        }
    }

    /// Keeps the most recent `cap` records of each kind (quotes, payment
    /// attempts, receipts, ledger events, signups, jobs, assets and
    /// idempotency keys); [`DEFAULT_RETAIN`] until set. A request naming a
    /// forgotten record is answered 410 `RECORD_EVICTED`.
    pub fn set_retention(&self, cap: usize) {
        lock(&self.shared.state).set_retention(cap);
    }

    /// How many records the mock holds now.
    pub fn retained(&self) -> Retention {
        lock(&self.shared.state).retained()
    }

    /// Stops the server on the runtime that owns it and returns once the
    /// port is free. Answers in flight get a short grace period.
    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
        if let Some(task) = self.resets.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        // `server::Server`'s own drop aborts its task: nothing blocks here.
        if let Some(task) = &self.resets {
            task.abort();
        }
    }
}

/// The API model of the default contract, read without compiling its
/// schemas: the mock needs only its routes.
pub(crate) fn default_api() -> Result<ApiModel> {
    ApiModel::load(
        crate::contract::Source::Embedded,
        crate::cli::DEFAULT_CONTRACT,
    )
}

struct Shared {
    profile: Profile,
    version: Arc<Version>,
    routes: Vec<Route>,
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

/// One endpoint of the loaded API model with the code that serves it.
struct Route {
    method: String,
    /// The model's path template (`/v1/models/{model_id}`).
    path: String,
    command: Cow<'static, str>,
    operation_id: Cow<'static, str>,
    auth: bool,
    handler: Handler,
}

/// The stateful flows are code; which of them a version serves, where,
/// and behind which auth is the model's. Keyed by operation id.
fn handler(operation_id: &str) -> Option<Handler> {
    Some(match operation_id {
        "getHealth" => handlers::healthz,
        "getWhoami" => handlers::whoami,
        "getQuota" => handlers::quota,
        "listPaymentMethods" => handlers::payment_methods,
        "listCreditPacks" => handlers::credit_packs,
        "createCreditQuote" => handlers::create_quote,
        "createStripeCheckoutSession" => handlers::create_checkout_session,
        "getCreditPurchaseStatus" => handlers::purchase_status,
        "createFakePurchase" => handlers::fake_purchase,
        "followCheckoutHandoff" => handlers::pay_redirect,
        "createAgentSignup" => handlers::agent_signup,
        "listModels" => handlers::models,
        "getModel" => handlers::model,
        "listCapabilities" => handlers::capabilities,
        "createImage" => creative::create,
        "uploadImage" => creative::upload,
        "editImage" => creative::edit,
        "getAsset" => creative::asset_show,
        "getJob" => creative::job_show,
        "createStripeX402Deposit" => handlers::create_x402_deposit,
        "createAgentClaim" => handlers::agent_claim,
        "listActivity" => ledger::activity_list,
        "getActivityReference" => ledger::activity_show,
        "runCliCommand" => cli::cli,
        _ => return None,
    })
}

/// The model's endpoints as routes, literal paths before templated ones
/// so `/v1/x/status` is never taken for `/v1/x/{id}`. An operation the
/// mock has no code for answers 501, naming it.
fn routes(api: &ApiModel) -> Vec<Route> {
    let mut routes: Vec<Route> = api
        .endpoints
        .iter()
        .map(|e| Route {
            method: e.method.to_ascii_uppercase(),
            path: e.path.clone(),
            command: Cow::Owned(e.command.clone()),
            operation_id: Cow::Owned(e.operation_id.clone()),
            auth: e.auth == Auth::Bearer,
            handler: handler(&e.operation_id).unwrap_or(handlers::not_implemented),
        })
        .collect();
    routes.sort_by_key(|r| r.path.matches('{').count());
    routes
}

/// The catch-all: what answers a request no endpoint of the model matches.
static NO_ROUTE: Route = Route {
    method: String::new(),
    path: String::new(),
    command: Cow::Borrowed("unknown"),
    operation_id: Cow::Borrowed(""),
    auth: false,
    handler: handlers::no_route,
};

impl server::App for Shared {
    fn respond(&self, request: Request, body_too_large: bool) -> Response {
        let route = self
            .routes
            .iter()
            .find(|r| r.method == request.method && path_matches(&r.path, &request.path))
            .unwrap_or(&NO_ROUTE);
        self.serve(route, &request, body_too_large)
    }
}

impl Served {
    fn of(
        request: &Request,
        status: u16,
        body: Option<serde_json::Value>,
        location: Option<String>,
    ) -> Served {
        Served {
            method: request.method.clone(),
            path: request.path.clone(),
            query: request.query.clone(),
            request_body: request_body(&request.body),
            status,
            body,
            location,
        }
    }
}

impl Shared {
    /// Auth, handler, envelope, profile, then the record of what was served.
    fn serve(&self, route: &Route, request: &Request, body_too_large: bool) -> Response {
        let profile = self.profile;
        let record = self.record.load(Ordering::Relaxed);
        let mut state = lock(&self.state);
        if let Some((status, fault)) = faults::answer(profile, &route.operation_id) {
            state.record(
                record,
                // The injected bytes are not a JSON answer worth keeping.
                Served::of(request, status, None, None),
            );
            return fault;
        }
        // Drawn before the handler runs so the events it records carry it.
        let trace_id = state.next_trace_id();
        let caller = match (route.auth, profile) {
            (false, _) => Ok(None),
            // The negative suite must catch a server that serves anyone.
            (true, Profile::IgnoresAuth) => Ok(check_auth(request, &state).unwrap_or_else(|_| {
                match state.agent_for(&state.token) {
                    TokenLookup::Agent(agent) => Some(agent),
                    _ => None,
                }
            })),
            (true, _) => check_auth(request, &state),
        };
        let caller = caller.and_then(|agent| {
            if body_too_large {
                return Err(ApiError::new(
                    413,
                    "PAYLOAD_TOO_LARGE",
                    format!(
                        "request body is larger than {} bytes",
                        server::MAX_REQUEST_BODY
                    ),
                ));
            }
            within_limits(&request.body).map(|()| agent)
        });
        let call = Call {
            req: request,
            caller: caller.as_ref().ok().cloned().flatten(),
            trace_id: trace_id.clone(),
            command: Cell::new(None),
        };
        let result = caller.and_then(|_| (route.handler)(&mut state, &call));
        let ran = call.command.take();
        let command = ran.as_deref().unwrap_or(route.command.as_ref());
        let answered_as_itself = ran.is_none();
        let (status, mut body, location) = match result {
            Ok(Outcome::Data(data)) => (
                200,
                Some(success(
                    &self.version.answers,
                    command,
                    &trace_id,
                    call.caller.as_ref(),
                    match self.version.shape(&route.operation_id) {
                        // `/v1/cli` answers with another command's data.
                        Some(shape) if answered_as_itself => shape.fill(data),
                        _ => data,
                    },
                )),
                None,
            ),
            Ok(Outcome::Redirect(to)) => (303, None, Some(to)),
            Err(error) => (
                error.status,
                Some(failure(&self.version.answers, command, &trace_id, &error)),
                None,
            ),
        };
        if let Some(body) = body.as_mut() {
            profile.shape(body, &self.version);
        }
        if record {
            state.record(
                true,
                Served::of(request, status, body.clone(), location.clone()),
            );
        }
        drop(state);

        let mut response = Response::new(status);
        if profile == Profile::FaultsSlow {
            response.delay = Some(faults::SLOW_DELAY);
        }
        if let Some(body) = body {
            let bytes = serde_json::to_vec(&body).unwrap_or_default();
            response = response.body(bytes, "application/json");
        }
        response.location = location;
        response
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
    match presented.map(|t| state.agent_for(t)) {
        Some(TokenLookup::Agent(agent)) => Ok(Some(agent)),
        Some(TokenLookup::Unknown) => Err(ApiError::new(
            401,
            "AUTH_INVALID",
            "bearer token is not valid",
        )),
        Some(TokenLookup::Forgotten) => Err(ApiError::new(
            401,
            "AUTH_INVALID",
            format!(
                "bearer token is not valid: it was rotated, or issued to an agent this mock no \
                 longer retains (it keeps the most recent {} signups; `conform mock --retain`)",
                state.retention()
            ),
        )),
        None => Err(ApiError::new(
            401,
            "AUTH_INVALID",
            "malformed Authorization header, expected `Bearer <token>`",
        )),
    }
}

/// The success envelope around `data` (the version's `success_envelope`).
fn success(
    answers: &answer::Answers,
    command: &str,
    trace_id: &str,
    caller: Option<&Agent>,
    data: Value,
) -> Value {
    let mut context = answer::Context::new()
        .set("envelope.command", command)
        .set("envelope.trace_id", trace_id)
        .give("envelope.data", data);
    match caller {
        Some(agent) => {
            context.put("agent.actor_id", agent.actor_id.as_str());
            context.put("agent.organization_id", agent.organization_id.as_str());
        }
        None => context.put("agent.actor_id", Value::Null),
    }
    answers.fragment("success_envelope", &context)
}

/// The error envelope of `error` (the version's `error_envelope`).
fn failure(answers: &answer::Answers, command: &str, trace_id: &str, error: &ApiError) -> Value {
    let mut context = answer::Context::new()
        .set("envelope.command", command)
        .set("envelope.trace_id", trace_id)
        .set("error.code", error.code)
        .set("error.message", error.message.as_str());
    if let Some(flag) = error.required_flag {
        context.put("error.required_flag", flag);
    }
    if let Some(command) = &error.suggested_command {
        context.put("error.suggested_command", command.as_str());
    }
    if error.required_flag.is_some() || error.suggested_command.is_some() {
        context.put("error.recovery", true);
    }
    answers.fragment("error_envelope", &context)
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
