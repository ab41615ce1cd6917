//! Execute stage: runs planned scenarios against a target. Async lives here.
//! Steps of a scenario run in order; scenarios run concurrently up to `jobs`.

pub mod command;
pub mod http;
mod plain;
pub mod spool;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{mpsc, watch};

use crate::check::{self, FragmentPolicy};
use crate::contract::Contract;
use crate::mock::{MockServer, Profile, Served};
use crate::outcome::{
    CheckOutcome, ClientSummary, RequestSummary, ResponseSummary, RunReport, ScenarioOutcome,
    Status, StepOutcome,
};
use crate::plan::Plan;
use crate::redact::Redactor;
use crate::suite::{Action, Auth, Request, Scenario, Step, Suite, Target as StepTarget};
use crate::vars::Vars;
use command::{ClientRun, run_client};
use http::{HttpClient, HttpRequest};

/// Where requests go.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://host:port`, no trailing slash.
    pub base_url: String,
    pub token: Option<String>,
    /// How reports name the target: `mock:conformant` or the base URL.
    pub label: String,
}

/// How the client under test is run against conform's mock.
#[derive(Debug, Clone)]
pub struct ClientSetup {
    /// The command and its leading arguments; step arguments are appended.
    pub command: Vec<String>,
    pub profile: Profile,
    pub base_url_env: String,
    pub token_env: String,
    /// Caller variables passed through besides PATH and locale.
    pub pass_env: Vec<String>,
    /// The token every scenario's mock accepts (one per run, so reports can
    /// redact it).
    pub token: String,
    /// `--server-contract`: the version the mock serves, when it is not the
    /// one the client is judged by (a client against an older or newer
    /// server).
    pub server: Option<ServerContract>,
}

/// The contract a client's mock serves instead of the judged one.
#[derive(Clone)]
pub struct ServerContract(pub Arc<Contract>);

impl std::fmt::Debug for ServerContract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServerContract({})", self.0.version())
    }
}

/// What a run tests.
#[derive(Debug, Clone)]
pub enum Mode {
    /// HTTP steps against a server: a live one or an embedded mock.
    Server(Target),
    /// cli steps run the client under test against a fresh mock per scenario.
    Client(ClientSetup),
}

impl Mode {
    /// How reports name what is tested.
    pub fn label(&self) -> String {
        match self {
            Mode::Server(t) => t.label.clone(),
            Mode::Client(c) => format!(
                "client `{}` on mock:{}{}",
                c.command.join(" "),
                c.profile.name(),
                c.server
                    .as_ref()
                    .map(|s| format!(" serving contract {}", s.0.version()))
                    .unwrap_or_default()
            ),
        }
    }

    /// Everything of the run that must never be shown: the token, a
    /// password or query value in the base URL, and the values of
    /// `--pass-env` variables (conform cannot tell which of them are secret,
    /// so it masks them all).
    pub fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = self.token().into_iter().collect();
        match self {
            Mode::Server(t) => {
                if let Ok(url) = url::Url::parse(&t.base_url) {
                    out.extend(url.password().map(str::to_string));
                    out.extend(url.query_pairs().map(|(_, v)| v.into_owned()));
                }
            }
            Mode::Client(c) => {
                out.extend(c.pass_env.iter().filter_map(|n| std::env::var(n).ok()));
            }
        }
        out
    }

    /// The bearer token of the run, for redaction.
    pub fn token(&self) -> Option<String> {
        match self {
            Mode::Server(t) => t.token.clone(),
            Mode::Client(c) => Some(c.token.clone()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub jobs: usize,
    pub step_timeout: Duration,
    pub max_body: usize,
    /// Unique per run, so idempotency keys of a live server never collide.
    pub run_id: String,
    /// A client to reuse across runs (soak iterations, trials): building one
    /// loads the system's TLS roots, which costs more than a loopback step.
    /// `None` builds one for this run.
    pub http: Option<HttpClient>,
    /// Also check the invariants every version keeps (the default); off
    /// judges by the version's contract alone.
    pub invariants: bool,
    /// The checks steps run.
    pub registry: Arc<check::Registry>,
    /// Told about each scenario as it finishes.
    pub observer: Option<Arc<dyn Observer>>,
    /// `--fail-fast`: start no scenario after the first one fails; those
    /// running finish, the rest are reported as not run.
    pub fail_fast: bool,
    /// Keep finished outcomes in a temp file, not memory ([`spool`]); the
    /// report then holds only what is not passed. Off for callers that
    /// read `RunReport::scenarios` whole (soak iterations, trials).
    pub spool: bool,
    /// Passed steps keep only what the reports other than the full JSON
    /// one show ([`StepOutcome::keep_only_shown`]). Off by default.
    pub lean_passed: bool,
}

impl std::fmt::Debug for dyn Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Observer")
    }
}

/// Hears about a run while it goes, e.g. to print one line per finished
/// scenario. Called from the runner's task; keep it quick.
pub trait Observer: Send + Sync {
    fn scenario_finished(&self, outcome: &ScenarioOutcome);
}

impl RunOptions {
    /// Defaults for one run: built-in checks, a fresh run id, no observer.
    pub fn new(jobs: usize, step_timeout: Duration, max_body: usize) -> RunOptions {
        RunOptions {
            jobs,
            step_timeout,
            max_body,
            run_id: RunOptions::new_run_id(),
            http: None,
            registry: Arc::new(check::Registry::builtin()),
            observer: None,
            invariants: true,
            fail_fast: false,
            spool: false,
            lean_passed: false,
        }
    }

    pub fn new_run_id() -> String {
        format!("{:08x}", rand::random::<u32>())
    }
}

/// Ctrl-C for a run: once triggered, no new step starts and running steps
/// (and the clients they started) are stopped.
#[derive(Debug, Clone)]
pub struct Interrupt {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for Interrupt {
    fn default() -> Self {
        Interrupt {
            tx: Arc::new(watch::Sender::new(false)),
        }
    }
}

impl Interrupt {
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    pub fn is_set(&self) -> bool {
        *self.tx.borrow()
    }

    /// Completes when the run is interrupted.
    pub async fn wait(&self) {
        let mut rx = self.tx.subscribe();
        // An error means the sender is gone, which cannot happen while
        // `self` holds it; waiting forever is then right.
        if rx.wait_for(|set| *set).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Shared by all scenarios of one run.
struct Runner {
    contract: Arc<Contract>,
    policy: FragmentPolicy,
    registry: Arc<check::Registry>,
    invariants: Option<crate::contract::invariants::Invariants>,
    mode: Mode,
    client: HttpClient,
    /// Grows during the run: tokens a server issues (signup's data.token)
    /// are secrets too.
    redactor: std::sync::RwLock<Redactor>,
    run_id: String,
    step_timeout: Duration,
    max_output: usize,
    interrupt: Interrupt,
    /// See [`RunOptions::lean_passed`].
    lean_passed: bool,
}

/// What one scenario talks to; a client scenario owns its mock and HOME.
struct ScenarioEnv {
    target: Target,
    /// `target.base_url` parsed once for the scenario's steps (see
    /// [`join_path`]); `None` when it does not parse.
    base: Option<url::Url>,
    mock: Option<MockServer>,
    home: Option<tempfile::TempDir>,
}

/// A case as a worker takes it: its suite, the scenario's index and why
/// it does not apply to the contract version (then it is not run).
type Queued = (Arc<Suite>, usize, Option<String>);

/// Runs the plan and returns the finished report. What goes wrong at the
/// target is recorded in the report as data, not returned as an error.
///
/// Memory stays bounded by what runs plus the finished outcomes: `jobs`
/// workers pull the next case from a shared counter, and every case points
/// into its suite through the plan's `Arc`s instead of holding a copy.
/// `opts.observer` hears of each scenario as soon as it finishes.
pub async fn run(
    plan: &Plan,
    contract: Arc<Contract>,
    mode: Mode,
    opts: &RunOptions,
    interrupt: Interrupt,
) -> crate::Result<RunReport> {
    let started = Instant::now();
    let label = mode.label();
    let runner = Arc::new(Runner {
        policy: contract.fragment_policy(),
        invariants: if opts.invariants {
            Some(crate::contract::invariants::Invariants::embedded()?)
        } else {
            None
        },
        contract: contract.clone(),
        client: match &opts.http {
            Some(client) => client.clone(),
            None if sends_only_plain_http(plan, &mode) => {
                HttpClient::plain_http(opts.step_timeout, opts.max_body)?
            }
            None => HttpClient::new(opts.step_timeout, opts.max_body)?,
        },
        redactor: std::sync::RwLock::new(Redactor::new(mode.secrets())),
        registry: opts.registry.clone(),
        mode,
        run_id: opts.run_id.clone(),
        step_timeout: opts.step_timeout,
        max_output: opts.max_body,
        interrupt: interrupt.clone(),
        lean_passed: opts.lean_passed,
    });
    let total = plan.cases.len();
    let cases: Arc<[Queued]> = plan
        .cases
        .iter()
        .map(|case| {
            let reason = case.not_applicable.clone();
            (plan.suites[case.suite].clone(), case.scenario, reason)
        })
        .collect();
    let next = Arc::new(AtomicUsize::new(0));
    // `--fail-fast`: the first failed scenario's id; set once.
    let first_failure = Arc::new(std::sync::OnceLock::<String>::new());
    let fail_fast = opts.fail_fast;
    let workers = opts.jobs.max(1).min(total);
    // Room for one finished outcome per worker: a slow reader holds back
    // the workers rather than piling up results.
    let (tx, mut rx) = mpsc::channel::<(usize, crate::Result<ScenarioOutcome>)>(workers.max(1));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (runner, cases, next, tx) = (runner.clone(), cases.clone(), next.clone(), tx.clone());
        let first_failure = first_failure.clone();
        tasks.spawn(async move {
            loop {
                let order = next.fetch_add(1, Ordering::Relaxed);
                let Some((suite, scenario, not_applicable)) = cases.get(order).cloned() else {
                    break;
                };
                // The plan keeps it for the reports; it is never run.
                if let Some(reason) = not_applicable {
                    let sc = &suite.scenarios[scenario];
                    let file = suite.file.display().to_string();
                    let outcome =
                        ScenarioOutcome::not_applicable(&suite.name, file, &sc.name, reason);
                    if tx.send((order, Ok(outcome))).await.is_err() {
                        break;
                    }
                    continue;
                }
                // The rest of the plan is still reported, as not run.
                let stopped = if runner.interrupt.is_set() {
                    Some("the run was interrupted".to_string())
                } else {
                    first_failure
                        .get()
                        .map(|id| format!("--fail-fast: `{id}` failed, no new scenario starts"))
                };
                if let Some(why) = stopped {
                    if tx
                        .send((order, Ok(not_run(&suite, scenario, &why))))
                        .await
                        .is_err()
                    {
                        break;
                    }
                    continue;
                }
                // Its own task, so a scenario that panics is reported as an
                // internal error in its place and the worker goes on.
                let (r, s) = (runner.clone(), suite.clone());
                let outcome =
                    match tokio::spawn(async move { r.scenario(&s, scenario).await }).await {
                        Ok(outcome) => Ok(outcome),
                        Err(e) if e.is_panic() => Ok(panicked(&suite, scenario, e.into_panic())),
                        Err(e) => Err(crate::Error::Internal(format!(
                            "a scenario task was cancelled: {e}"
                        ))),
                    };
                if let Ok(done) = &outcome {
                    if fail_fast && done.status == Status::Failed {
                        let _ = first_failure.set(done.id());
                    }
                }
                if tx.send((order, outcome)).await.is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let mut results = Results::new(total, opts.spool)?;
    while let Some((order, outcome)) = rx.recv().await {
        let mut outcome = outcome?;
        outcome.shrink_to_fit();
        if let Some(observer) = &opts.observer {
            observer.scenario_finished(&outcome);
        }
        results.put(order, outcome)?;
    }
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined {
            return Err(crate::Error::Internal(format!(
                "a scenario worker failed: {e}"
            )));
        }
    }
    let (summary, scenarios, spooled) = results.finish()?;
    Ok(RunReport {
        format: crate::outcome::REPORT_FORMAT,
        conform_version: env!("CARGO_PKG_VERSION").to_string(),
        contract_version: contract.version().to_string(),
        target: runner.redact(&label),
        duration_ms: started.elapsed().as_millis() as u64,
        duration_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        interrupted: interrupt.is_set(),
        run: Default::default(),
        summary,
        findings: Vec::new(),
        scenarios,
        spooled,
        latency: None,
    })
}

/// Finished outcomes as they arrive: all held, or spooled with only the
/// summary and the invariants' first checkers' places held back.
enum Results {
    Held(Vec<Option<ScenarioOutcome>>),
    Spooled {
        // Boxed: the spool's write buffer and index would make every
        // `Results` as large.
        spool: Box<spool::Spool>,
        summary: crate::outcome::Summary,
        /// Invariant id → plan order of the first passed outcome checking
        /// it: the spool keeps those readable with the not-passed ones (the
        /// invariants line lists ids in the order they first appear).
        first_check: std::collections::HashMap<String, usize>,
    },
}

impl Results {
    fn new(total: usize, spooled: bool) -> crate::Result<Results> {
        if !spooled {
            let mut done = Vec::with_capacity(total);
            done.resize_with(total, || None);
            return Ok(Results::Held(done));
        }
        Ok(Results::Spooled {
            spool: Box::new(spool::Spool::new(total)?),
            summary: crate::outcome::Summary::default(),
            first_check: Default::default(),
        })
    }

    fn put(&mut self, order: usize, outcome: ScenarioOutcome) -> crate::Result<()> {
        match self {
            Results::Held(done) => {
                if let Some(place) = done.get_mut(order) {
                    *place = Some(outcome);
                }
            }
            Results::Spooled {
                spool,
                summary,
                first_check,
            } => {
                // Failed ones too go to disk only: at 100,000 failing
                // scenarios holding them was most of a gigabyte.
                spool.put(order, &outcome)?;
                summary.add(&RunReport::summarize(std::slice::from_ref(&outcome)));
                if outcome.status != Status::Passed {
                    return Ok(());
                }
                let checked = outcome.steps.iter().flat_map(|s| &s.checks);
                for id in checked.filter_map(|c| c.invariant.as_deref()) {
                    match first_check.get_mut(id) {
                        Some(at) => *at = (*at).min(order),
                        None => {
                            first_check.insert(id.to_string(), order);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(
        self,
    ) -> crate::Result<(
        crate::outcome::Summary,
        Vec<ScenarioOutcome>,
        Option<Arc<spool::Spooled>>,
    )> {
        match self {
            Results::Held(done) => {
                let scenarios: Vec<ScenarioOutcome> = done.into_iter().flatten().collect();
                Ok((RunReport::summarize(&scenarios), scenarios, None))
            }
            Results::Spooled {
                spool,
                summary,
                first_check,
            } => Ok((
                summary,
                Vec::new(),
                Some(Arc::new(spool.finish(first_check.into_values())?)),
            )),
        }
    }
}

/// Whether every request of the run goes to an `http://` base URL: no
/// step names a full URL (a captured one may well be https).
pub fn sends_only_plain_http(plan: &Plan, mode: &Mode) -> bool {
    let base_is_plain = match mode {
        Mode::Server(target) => target.base_url.starts_with("http://"),
        // Client scenarios talk to their own loopback mock.
        Mode::Client(_) => true,
    };
    base_is_plain
        && plan.cases.iter().all(|case| {
            plan.suites[case.suite].scenarios[case.scenario]
                .steps
                .iter()
                .all(|step| !matches!(&step.action, Action::Http(rq) if matches!(rq.target, StepTarget::Url(_))))
        })
}

impl Runner {
    async fn scenario(&self, suite: &Suite, index: usize) -> ScenarioOutcome {
        let scenario: &Scenario = &suite.scenarios[index];
        let started = Instant::now();
        let mut outcome = ScenarioOutcome {
            suite: suite.name.clone(),
            file: suite.file.display().to_string(),
            scenario: scenario.name.clone(),
            status: Status::Failed,
            duration_ms: 0,
            duration_us: 0,
            reason: None,
            steps: Vec::new(),
        };
        let env = match self.scenario_env().await {
            Ok(env) => env,
            Err(why) => {
                // Nothing ran: say so on every step rather than drop them.
                for (i, step) in scenario.steps.iter().enumerate() {
                    let mut s = skipped(i, step, "the scenario could not be set up".into());
                    if i == 0 {
                        s.status = Status::Failed;
                        s.skipped_because = None;
                        s.transport_error = Some(why.clone());
                    }
                    outcome.steps.push(s);
                }
                (outcome.duration_ms, outcome.duration_us) = elapsed(started);
                return outcome;
            }
        };
        let mut vars = Vars::default();
        vars.set("run_id", Value::String(self.run_id.clone()));
        vars.set("base_url", Value::String(env.target.base_url.clone()));
        for (name, value) in &suite.vars {
            let value = vars.text(value);
            vars.set(name.clone(), Value::String(value));
        }
        let mut failed_at: Option<String> = None;
        // One wait for the whole scenario, not one subscription per step.
        let mut interrupted = std::pin::pin!(self.interrupt.wait());
        for (i, step) in scenario.steps.iter().enumerate() {
            let skip_reason = match &failed_at {
                Some(name) => Some(format!("step `{name}` failed earlier")),
                None if self.interrupt.is_set() => Some("the run was interrupted".into()),
                None => None,
            };
            if let Some(reason) = skip_reason {
                outcome.steps.push(skipped(i, step, reason));
                continue;
            }
            // Biased: when Ctrl-C wakes both, the step counts as interrupted,
            // not as failed by the client kill it caused.
            // Once it fired, every later step is skipped above: the wait is
            // never polled again after it completed.
            let result = tokio::select! {
                biased;
                () = &mut interrupted => skipped(i, step, "the run was interrupted while it ran".into()),
                result = self.step(i, step, &mut vars, &env) => result,
            };
            if result.status == Status::Failed {
                failed_at = Some(step.name.clone());
            }
            outcome.steps.push(result);
        }
        // Stopped here, on the runtime that owns it, so its port is free
        // before the next scenario starts one.
        if let Some(mock) = env.mock {
            mock.shutdown().await;
        }
        outcome.status = if outcome.steps.iter().all(|s| s.status == Status::Passed) {
            Status::Passed
        } else if outcome.steps.iter().all(|s| s.status == Status::Skipped) {
            // Stopped before any step finished: not run, not failed.
            Status::Skipped
        } else {
            Status::Failed
        };
        (outcome.duration_ms, outcome.duration_us) = elapsed(started);
        outcome
    }

    async fn scenario_env(&self) -> Result<ScenarioEnv, String> {
        match &self.mode {
            Mode::Server(target) => Ok(ScenarioEnv {
                base: url::Url::parse(&target.base_url).ok(),
                target: target.clone(),
                mock: None,
                home: None,
            }),
            Mode::Client(setup) => {
                // A fresh mock per scenario: what it served during a step is
                // exactly what the client was sent.
                let served = setup.server.as_ref().map_or(&*self.contract, |s| &*s.0);
                let mock =
                    MockServer::start_for(served, setup.profile, None, Some(setup.token.clone()))
                        .await
                        .map_err(|e| e.to_string())?;
                let home = tempfile::Builder::new()
                    .prefix("conform-client-")
                    .tempdir()
                    .map_err(|e| format!("cannot create a temporary HOME: {e}"))?;
                let base_url = mock.base_url();
                Ok(ScenarioEnv {
                    base: url::Url::parse(&base_url).ok(),
                    target: Target {
                        base_url,
                        token: Some(setup.token.clone()),
                        label: format!("mock:{}", setup.profile.name()),
                    },
                    mock: Some(mock),
                    home: Some(home),
                })
            }
        }
    }

    async fn step(
        &self,
        index: usize,
        step: &Step,
        vars: &mut Vars,
        env: &ScenarioEnv,
    ) -> StepOutcome {
        let started = Instant::now();
        let mut outcome = StepOutcome::new(index, step.name.clone(), Status::Failed);
        let served_before = env.mock.as_ref().map_or(0, |m| m.served().len());
        let ledger_before = env.mock.as_ref().map(MockServer::ledger);
        let cli_args: Vec<String> = match &step.action {
            Action::Cli { args, .. } => args.iter().map(|a| vars.text(a)).collect(),
            Action::Http(_) => Vec::new(),
        };
        let observed = match &step.action {
            Action::Http(rq) => self.http_step(rq, vars, env, &mut outcome).await,
            Action::Cli { args, auth } => self.cli_step(args, *auth, vars, env, &mut outcome).await,
        };
        if let Some(response) = observed {
            let served: Vec<Served> = env
                .mock
                .as_ref()
                .map(|m| m.served().into_iter().skip(served_before).collect())
                .unwrap_or_default();
            let cx = check::Context {
                contract: &self.contract,
                policy: self.policy,
                vars,
                response: &response,
                served: &served,
                handed_token: self.handed_token(step),
                cli_args: &cli_args,
                ledger: ledger_before
                    .zip(env.mock.as_ref().map(MockServer::ledger))
                    .map(|(before, after)| check::LedgerChange { before, after }),
            };
            let mut checks = self.registry.run_all(&step.expect, &cx, step.is_cli());
            if let Some(invariants) = &self.invariants {
                check::invariants::apply(&step.expect, &cx, step.is_cli(), invariants, &mut checks);
            }
            checks.extend(capture(step, &response, vars));
            if checks.iter().all(|c| c.passed) {
                outcome.status = Status::Passed;
            }
            outcome.checks = checks;
            // Cut before the texts are masked and the excerpt is made: a
            // lean passed step would throw both away (a 20,000-step
            // scenario held them all until it ended).
            if self.lean_passed {
                outcome.keep_only_shown();
            }
            let lean = self.lean_passed && outcome.status == Status::Passed;
            if let Some(summary) = outcome.response.as_mut().filter(|_| !lean) {
                summary.body_excerpt = self.masked_excerpt(&response.body, 2000);
            }
            self.redact_checks(&mut outcome.checks);
        }
        (outcome.duration_ms, outcome.duration_us) = elapsed(started);
        outcome
    }

    /// The token a client step gives the client: the one that must never
    /// come back in its output (invariant no-token-echo).
    fn handed_token(&self, step: &Step) -> Option<&str> {
        match (&step.action, &self.mode) {
            (
                Action::Cli {
                    auth: Auth::Token, ..
                },
                Mode::Client(setup),
            ) => Some(&setup.token),
            _ => None,
        }
    }

    /// Sends one HTTP request; `None` when there is nothing to check.
    async fn http_step(
        &self,
        rq: &Request,
        vars: &Vars,
        env: &ScenarioEnv,
        outcome: &mut StepOutcome,
    ) -> Option<check::Response> {
        let request = self.prepare(rq, vars, &env.target, env.base.as_ref());
        outcome.request = Some(self.summarize(&request));
        let response = match request {
            Ok(req) => self.client.send(&req).await,
            Err(why) => {
                outcome.checks.push(*why);
                return None;
            }
        };
        match response {
            Ok(r) => {
                if let Ok(body) = &r.json {
                    self.learn_secrets(body);
                }
                outcome.response = Some(ResponseSummary {
                    status: r.status,
                    location: r.location.clone(),
                    // Made once the checks ran (see `step`).
                    body_excerpt: String::new(),
                });
                Some(r)
            }
            Err(why) => {
                outcome.transport_error = Some(self.redact(&why));
                None
            }
        }
    }

    /// Runs the client under test once; `None` when it could not run.
    async fn cli_step(
        &self,
        args: &[String],
        auth: Auth,
        vars: &Vars,
        env: &ScenarioEnv,
        outcome: &mut StepOutcome,
    ) -> Option<check::Response> {
        let (Mode::Client(setup), Some(home)) = (&self.mode, &env.home) else {
            outcome.checks.push(CheckOutcome::fail(
                "cli",
                None,
                "a client under test (conform client -- COMMAND)",
                "a server run",
            ));
            return None;
        };
        let mut argv = setup.command.clone();
        argv.extend(args.iter().map(|a| vars.text(a)));
        let run = ClientRun {
            argv: argv.clone(),
            env: client_env(setup, &env.target, auth, &self.run_id, home.path()),
            // The caller's directory, so `node path/to/cli.mjs` works as typed.
            cwd: std::env::current_dir().unwrap_or_else(|_| home.path().to_path_buf()),
            timeout: self.step_timeout,
            max_output: self.max_output,
        };
        let result = run_client(&run, self.interrupt.wait()).await;
        let mut summary = ClientSummary {
            argv: argv.iter().map(|a| self.redact(a)).collect(),
            exit_code: None,
            stdout_excerpt: String::new(),
            stderr_excerpt: String::new(),
        };
        let output = match result {
            Ok(output) => output,
            Err(why) => {
                outcome.client = Some(summary);
                outcome.transport_error = Some(self.redact(&why));
                return None;
            }
        };
        if output.over_cap {
            // Like a server body over the cap: the target broke a limit,
            // which is exit 3, not "stdout is not JSON" (exit 1).
            summary.exit_code = output.exit_code;
            summary.stderr_excerpt = self.masked_excerpt(&output.stderr, 2000);
            outcome.client = Some(summary);
            outcome.transport_error = Some(format!(
                "the client printed more than {} bytes (--max-body)",
                self.max_output
            ));
            return None;
        }
        let json = single_json_document(&output.stdout);
        if let Ok(body) = &json {
            self.learn_secrets(body);
        }
        summary.exit_code = output.exit_code;
        summary.stdout_excerpt = self.masked_excerpt(&output.stdout, 2000);
        summary.stderr_excerpt = self.masked_excerpt(&output.stderr, 2000);
        outcome.client = Some(summary);
        Some(check::Response {
            status: 0,
            location: None,
            content_type: None,
            json,
            body: output.stdout,
            exit_code: output.exit_code,
            stderr: output.stderr,
        })
    }

    /// The request as it will be sent, or a failed check saying why not.
    fn prepare(
        &self,
        rq: &Request,
        vars: &Vars,
        target: &Target,
        base: Option<&url::Url>,
    ) -> Result<HttpRequest, Box<CheckOutcome>> {
        let url = match &rq.target {
            StepTarget::Path(p) => {
                let path = vars.text(p);
                let joined = base.and_then(|b| join_path(b, &target.base_url, &path));
                match joined {
                    Some(url) => Ok(url),
                    None => Err(format!("{}{path}", target.base_url)),
                }
            }
            StepTarget::Url(u) => Err(vars.text(u)),
        };
        // `Err`: a text still to parse.
        let mut url = url.or_else(|url| {
            url::Url::parse(&url).map_err(|e| {
                Box::new(
                    CheckOutcome::fail("request", None, "an absolute http(s) URL", url.clone())
                        .with_note(format!("cannot send: {e}")),
                )
            })
        })?;
        if !rq.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &rq.query {
                pairs.append_pair(k, &vars.text(v));
            }
        }
        let method = reqwest::Method::from_bytes(rq.method.as_bytes()).map_err(|_| {
            Box::new(CheckOutcome::fail(
                "request",
                None,
                "an HTTP method",
                rq.method.clone(),
            ))
        })?;
        let mut headers: Vec<(String, String)> = rq
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), vars.text(v)))
            .collect();
        match rq.auth {
            Auth::Token => {
                if let Some(token) = &target.token {
                    headers.push(("authorization".into(), format!("Bearer {token}")));
                }
            }
            Auth::Invalid => headers.push((
                "authorization".into(),
                format!("Bearer {}", invalid_token(&self.run_id)),
            )),
            Auth::None => {}
        }
        Ok(HttpRequest {
            method,
            url,
            headers,
            json: rq.json.as_ref().map(|j| vars.value(j)),
        })
    }

    fn summarize(&self, request: &Result<HttpRequest, Box<CheckOutcome>>) -> RequestSummary {
        match request {
            Ok(req) => RequestSummary {
                method: req.method.to_string(),
                url: self.redact(req.url.as_str()),
                headers: req
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), self.redactor().header(k, v)))
                    .collect(),
                body: req.json.as_ref().map(|j| self.redactor().json(j)),
            },
            Err(_) => RequestSummary {
                method: String::new(),
                url: String::new(),
                headers: Vec::new(),
                body: None,
            },
        }
    }

    fn redactor(&self) -> std::sync::RwLockReadGuard<'_, Redactor> {
        // A poisoned lock still holds every secret learned so far.
        self.redactor
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn redact(&self, text: &str) -> String {
        self.redactor().text(text)
    }

    /// The start of `bytes`, printable, masked BEFORE it is cut: cut first,
    /// a token crossing the cut would leak all but its tail.
    fn masked_excerpt(&self, bytes: &[u8], max: usize) -> String {
        // Text with nothing to escape (most JSON) is its own excerpt.
        let plain = std::str::from_utf8(bytes)
            .ok()
            .filter(|s| !s.chars().any(|c| c.is_control() && c != '\n'));
        let masked = match plain {
            Some(text) => self.redactor().text_cow(text).into_owned(),
            None => self.redact(&excerpt(bytes, usize::MAX)),
        };
        // No more bytes than `max`: no more characters either.
        if masked.len() <= max {
            return masked;
        }
        match masked.char_indices().nth(max) {
            Some((at, _)) => format!("{}…", &masked[..at]),
            None => masked,
        }
    }

    /// Learns a token the server just issued (agent signup answers with
    /// one once: the field with the `secret` role), before anything of the
    /// answer is recorded.
    fn learn_secrets(&self, body: &Value) {
        let secrets = self
            .contract
            .role_pointers_in_answers(crate::contract::roles::SECRET);
        for pointer in secrets {
            if let Some(token) = check::lookup(body, pointer).and_then(Value::as_str) {
                let mut redactor = self
                    .redactor
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                redactor.add(token.to_string());
            }
        }
    }

    /// Check values can echo what a client printed: never let a token through.
    fn redact_checks(&self, checks: &mut [CheckOutcome]) {
        let redactor = self.redactor();
        // Replaced only where something was masked: most results hold no
        // secret, and a step has several.
        let mask = |text: &mut String| {
            if let std::borrow::Cow::Owned(masked) = redactor.text_cow(text) {
                *text = masked;
            }
        };
        for c in checks {
            mask(&mut c.expected);
            mask(&mut c.actual);
            if let Some(note) = &mut c.note {
                mask(note);
            }
            if let Some(values) = &mut c.values {
                values.expected = redactor.json(&values.expected);
                values.actual = values.actual.as_ref().map(|v| redactor.json(v));
            }
        }
    }
}

/// `base` (parsed from `base_text`) with `path` as its path, without
/// parsing the whole URL again; `None` where that could differ from
/// parsing `base_text + path`: a base with a path, query or fragment of
/// its own, or a path with anything but plain path characters.
fn join_path(base: &url::Url, base_text: &str, path: &str) -> Option<url::Url> {
    // The parsed base is the text plus the `/` an empty path becomes.
    let whole = base.as_str();
    let bare = whole.len() == base_text.len() + 1
        && whole.starts_with(base_text)
        && whole.ends_with('/')
        && base.path() == "/";
    let plain = path.starts_with('/')
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b));
    if !bare || !plain {
        return None;
    }
    let mut url = base.clone();
    url.set_path(path);
    Some(url)
}

/// A bearer token no server issued.
/// The outcome of a scenario whose task panicked: its first step carries
/// the internal error, the others say they did not run.
fn panicked(
    suite: &Suite,
    index: usize,
    payload: Box<dyn std::any::Any + Send>,
) -> ScenarioOutcome {
    let scenario = &suite.scenarios[index];
    let mut steps: Vec<StepOutcome> = scenario
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| skipped(i, step, "the scenario stopped on an internal error".into()))
        .collect();
    if let Some(first) = steps.first_mut() {
        first.status = Status::Failed;
        first.skipped_because = None;
        first
            .checks
            .push(check::internal_error("the scenario", payload.as_ref()));
    }
    ScenarioOutcome {
        suite: suite.name.clone(),
        file: suite.file.display().to_string(),
        scenario: scenario.name.clone(),
        status: Status::Failed,
        duration_ms: 0,
        duration_us: 0,
        reason: None,
        steps,
    }
}

/// A scenario the run did not start (Ctrl-C, `--fail-fast`): every step
/// says why.
fn not_run(suite: &Suite, index: usize, why: &str) -> ScenarioOutcome {
    let scenario = &suite.scenarios[index];
    ScenarioOutcome {
        suite: suite.name.clone(),
        file: suite.file.display().to_string(),
        scenario: scenario.name.clone(),
        status: Status::Skipped,
        duration_ms: 0,
        duration_us: 0,
        reason: None,
        steps: scenario
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| skipped(i, step, why.to_string()))
            .collect(),
    }
}

/// Milliseconds and microseconds since `started`.
fn elapsed(started: Instant) -> (u64, u64) {
    let e = started.elapsed();
    (
        u64::try_from(e.as_millis()).unwrap_or(u64::MAX),
        u64::try_from(e.as_micros()).unwrap_or(u64::MAX),
    )
}

fn invalid_token(run_id: &str) -> String {
    format!("isk_r_conform_invalid_{run_id}")
}

/// The client's whole environment: the mock's address and token, a fresh
/// HOME and config path, PATH and locale; no other caller variable.
fn client_env(
    setup: &ClientSetup,
    target: &Target,
    auth: Auth,
    run_id: &str,
    home: &Path,
) -> Vec<(String, String)> {
    let home_str = home.display().to_string();
    let mut env = vec![
        (setup.base_url_env.clone(), target.base_url.clone()),
        ("HOME".into(), home_str.clone()),
        (
            "XDG_CONFIG_HOME".into(),
            home.join(".config").display().to_string(),
        ),
        (
            "IMAGE_SKILL_CONFIG_PATH".into(),
            home.join(".image-skill/config.json").display().to_string(),
        ),
        ("TMPDIR".into(), home_str),
        ("NO_COLOR".into(), "1".into()),
    ];
    match auth {
        Auth::Token => env.push((setup.token_env.clone(), setup.token.clone())),
        Auth::Invalid => env.push((setup.token_env.clone(), invalid_token(run_id))),
        Auth::None => {}
    }
    let passed = ["PATH", "LANG", "LC_ALL", "SYSTEMROOT"]
        .into_iter()
        .map(str::to_string)
        .chain(setup.pass_env.iter().cloned());
    for name in passed {
        if env.iter().any(|(k, _)| *k == name) {
            continue;
        }
        if let Ok(value) = std::env::var(&name) {
            env.push((name, value));
        }
    }
    env
}

/// stdout must hold exactly one JSON document (whitespace around it is fine).
fn single_json_document(stdout: &[u8]) -> Result<Value, String> {
    let mut docs = serde_json::Deserializer::from_slice(stdout).into_iter::<Value>();
    let first = match docs.next() {
        None => return Err("stdout is empty; expected one JSON document".into()),
        Some(Err(e)) => return Err(format!("stdout is not JSON: {e}")),
        Some(Ok(v)) => v,
    };
    match docs.next() {
        None => Ok(first),
        Some(Ok(_)) => Err("stdout holds more than one JSON document".into()),
        Some(Err(e)) => Err(format!("stdout has text after its JSON document: {e}")),
    }
}

fn excerpt(bytes: &[u8], max: usize) -> String {
    check::safe_excerpt(bytes, max)
}

fn skipped(index: usize, step: &Step, reason: String) -> StepOutcome {
    StepOutcome {
        skipped_because: Some(reason),
        ..StepOutcome::new(index, step.name.clone(), Status::Skipped)
    }
}

/// Stores captured values for later steps; a missing one is a failed check.
fn capture(step: &Step, response: &check::Response, vars: &mut Vars) -> Vec<CheckOutcome> {
    let mut out = Vec::new();
    for (name, pointer) in &step.captures {
        match response.at(pointer) {
            Some(value) => vars.set(name.clone(), value.clone()),
            None => out.push(CheckOutcome::fail(
                "capture",
                Some(pointer),
                format!("a value to capture as ${{{name}}}"),
                "nothing at this pointer",
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::join_path;

    #[test]
    fn a_joined_path_is_the_url_the_whole_text_parses_to() {
        let paths = [
            "/healthz",
            "/v1/images/abc-1.png",
            "/a/../b",
            "/a/./b/.",
            "//double",
            "/",
            "/x:y@z;w=1,2+3",
        ];
        for base_text in ["http://127.0.0.1:18999", "https://api.example.com"] {
            let base = url::Url::parse(base_text).unwrap();
            for path in paths {
                let whole = url::Url::parse(&format!("{base_text}{path}")).unwrap();
                assert_eq!(join_path(&base, base_text, path), Some(whole), "{path}");
            }
        }
    }

    #[test]
    fn paths_and_bases_that_could_parse_otherwise_take_the_slow_way() {
        let base = url::Url::parse("http://h:1").unwrap();
        for path in ["/a?b=1", "/a#f", "/a b", "/a\\b", "/%2e%2e/x", "/é", "rel"] {
            assert_eq!(join_path(&base, "http://h:1", path), None, "{path}");
        }
        for base_text in [
            "http://h:1/",
            "http://h:1/api",
            "http://h:1?q=1",
            "HTTP://H:1",
        ] {
            let base = url::Url::parse(base_text).unwrap();
            assert_eq!(join_path(&base, base_text, "/x"), None, "{base_text}");
        }
    }
}
