//! The one pipeline: prepare (contract, suites, plan) → start the target →
//! execute → judge → report. `conform run`, `conform client`, the cargo
//! test trials and soak runs all go through here; their front ends only
//! translate their inputs into [`Options`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::check::Registry;
use crate::contract::Contract;
use crate::error::{Error, Result};
use crate::exec::command::resolve_program;
use crate::exec::http::HttpClient;
use crate::exec::{self, ClientSetup, Interrupt, Mode, Observer, RunOptions, Target};
use crate::mock::{MockServer, Profile};
use crate::outcome::RunReport;
use crate::plan::{Case, Kind, Partition, Plan};
use crate::redact::Redactor;
use crate::report::ReportSpec;
use crate::soak::Repeat;
use crate::suite::{self, SuiteFormat};

/// Largest response body (or client output) read by default, in bytes.
pub const DEFAULT_MAX_BODY: usize = 10 * 1024 * 1024;
/// Default seconds a step may take.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything a run needs, from any front end. A new flag is one field here
/// plus its translation in `cli.rs`.
#[derive(Clone)]
pub struct Options {
    pub contract: String,
    /// Read contract schemas from `DIR/<contract>/` instead of the built-in ones.
    pub schemas: Option<PathBuf>,
    /// Suite files or folders; empty means the suites built into conform.
    pub suites: Vec<PathBuf>,
    /// `--filter`, `--skip`, `--exact`.
    pub selection: crate::plan::Selection,
    pub partition: Option<Partition>,
    /// Add the negative scenarios generated from the contract (server runs).
    pub negative: bool,
    pub target: TargetSpec,
    pub jobs: usize,
    /// Start no scenario after the first failure (`--fail-fast`).
    pub fail_fast: bool,
    pub step_timeout: Duration,
    pub max_body: usize,
    /// Soak mode.
    pub repeat: Option<Repeat>,
    /// Report files to write.
    pub reports: Vec<ReportSpec>,
    /// Input files besides suites and schemas (the token file): no report
    /// may be written over one.
    pub inputs: Vec<PathBuf>,
    /// The checks suites may use; extend it with [`Registry::with`].
    pub registry: Arc<Registry>,
    /// Told about each scenario as it finishes (streaming output).
    pub observer: Option<Arc<dyn Observer>>,
    /// Also check the invariants every version keeps (default on).
    pub invariants: bool,
    /// Client runs: the contract version the mock serves, when it is not
    /// `contract` (`--server-contract`).
    pub server_contract: Option<String>,
    /// Where the bearer token came from (`$IMAGE_SKILL_TOKEN`), named in a
    /// refused-token finding; never the value.
    pub token_source: Option<String>,
    /// Keep finished outcomes in a temp file until the reports are written
    /// (see `exec::spool`); the report then holds only what is not passed.
    /// For front ends that only write reports; a single run, not a soak.
    pub spool: bool,
}

impl Options {
    /// Defaults: the default contract, built-in suites, the conformant mock.
    pub fn new(target: TargetSpec) -> Options {
        Options {
            contract: crate::contract::DEFAULT_CONTRACT.to_string(),
            schemas: None,
            suites: Vec::new(),
            selection: crate::plan::Selection::default(),
            partition: None,
            negative: false,
            target,
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
            fail_fast: false,
            step_timeout: DEFAULT_STEP_TIMEOUT,
            max_body: DEFAULT_MAX_BODY,
            repeat: None,
            reports: Vec::new(),
            inputs: Vec::new(),
            registry: Arc::new(Registry::builtin()),
            invariants: true,
            observer: None,
            server_contract: None,
            token_source: None,
            spool: false,
        }
    }

    fn kind(&self) -> Kind {
        match self.target {
            TargetSpec::Client { .. } => Kind::Client,
            _ => Kind::Server,
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("contract", &self.contract)
            .field("suites", &self.suites)
            .field("selection", &self.selection)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// What the run tests.
#[derive(Clone)]
pub enum TargetSpec {
    /// The embedded reference mock with this profile.
    Mock(Profile),
    /// A live server.
    Live {
        base_url: String,
        token: Option<String>,
        /// Where the token was looked for, for the "no token" message.
        token_env: String,
    },
    /// A client under test, pointed at a fresh mock per scenario.
    Client(ClientSetup),
}

impl std::fmt::Debug for TargetSpec {
    // By hand: the token must not reach a debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetSpec::Mock(p) => write!(f, "Mock({})", p.name()),
            TargetSpec::Live { base_url, .. } => write!(f, "Live({base_url})"),
            TargetSpec::Client(c) => write!(f, "Client({:?})", c.command),
        }
    }
}

/// Contract and plan, ready to run.
pub struct Prepared {
    pub options: Options,
    pub contract: Arc<Contract>,
    pub plan: Plan,
}

/// Stage 1: load the contract and suites, plan the cases.
pub fn prepare(mut options: Options) -> Result<Prepared> {
    if options.step_timeout.is_zero() {
        return Err(Error::Usage(
            "--step-timeout must be a positive number of seconds".into(),
        ));
    }
    // Before anything runs: a bad report path fails now, not after the run.
    let inputs: Vec<PathBuf> = options
        .suites
        .iter()
        .chain(&options.schemas)
        .chain(&options.inputs)
        .cloned()
        .collect();
    crate::report::check_paths(&options.reports, &inputs)?;
    let contract = match &options.schemas {
        Some(dir) => Contract::from_dir(dir, &options.contract)?,
        None => Contract::embedded(&options.contract)?,
    };
    if let Some(version) = options.server_contract.clone() {
        let TargetSpec::Client(setup) = &mut options.target else {
            return Err(Error::Usage(
                "--server-contract is for client runs (conform client)".into(),
            ));
        };
        let served = match &options.schemas {
            Some(dir) => Contract::from_dir(dir, &version)?,
            None => Contract::embedded(&version)?,
        };
        setup.server = Some(exec::ServerContract(Arc::new(served)));
    }
    let format = SuiteFormat::with_registry(options.registry.clone())?.knowing(contract.api());
    let mut suites = if options.suites.is_empty() {
        suite::load_embedded(&format)?
    } else {
        suite::load_paths(&format, &options.suites)?
    };
    let kind = options.kind();
    if options.negative && kind == Kind::Server {
        suites.push(crate::negative::suite(&contract));
    }
    if matches!(options.target, TargetSpec::Live { .. }) {
        suite::drop_mock_only(&mut suites);
    }
    let mut plan = crate::plan::plan_selected(suites, &contract, &options.selection, kind)?;
    if let Some(partition) = &options.partition {
        plan = crate::plan::partition(plan, partition)?;
    }
    Ok(Prepared {
        options,
        contract: Arc::new(contract),
        plan,
    })
}

/// A started target: what the steps talk to, kept alive for the run.
pub struct Session {
    pub mode: Mode,
    pub run_id: String,
    /// One client for the whole session: scenarios, trials and soak
    /// iterations reuse its connections.
    pub http: HttpClient,
    // The embedded mock lives as long as the session.
    mock: Option<MockServer>,
}

impl Session {
    pub fn redactor(&self) -> Redactor {
        Redactor::new(self.mode.secrets())
    }

    /// Stops the embedded mock, if any, off the runtime's workers (see
    /// `MockServer::shutdown`).
    pub async fn shutdown(self) {
        if let Some(mock) = self.mock {
            mock.shutdown().await;
        }
    }
}

impl Prepared {
    /// Stage 2: start (or check) the target.
    pub async fn start(&self) -> Result<Session> {
        let (mode, mock) = match &self.options.target {
            TargetSpec::Mock(profile) => {
                let server = MockServer::start_for(&*self.contract, *profile, None, None).await?;
                // Nothing reads what it served in server mode.
                server.record_served(false);
                let target = Target {
                    base_url: server.base_url(),
                    token: Some(server.token().to_string()),
                    label: format!("mock:{}", profile.name()),
                };
                (Mode::Server(target), Some(server))
            }
            TargetSpec::Live {
                base_url,
                token,
                token_env,
            } => (
                Mode::Server(live_target(base_url, token.clone(), token_env, &self.plan)?),
                None,
            ),
            TargetSpec::Client(setup) => {
                let Some(program) = setup.command.first() else {
                    return Err(Error::Usage("give the client command after `--`".into()));
                };
                // Checked up front: a missing client is an input error, not a
                // failure of every step. It runs from this directory, so
                // relative paths hold.
                if resolve_program(program, std::env::var_os("PATH").as_deref()).is_none() {
                    return Err(Error::Usage(format!(
                        "client executable `{program}` not found (not a file, and not on PATH)"
                    )));
                }
                (Mode::Client(setup.clone()), None)
            }
        };
        Ok(Session {
            run_id: RunOptions::new_run_id(),
            http: if exec::sends_only_plain_http(&self.plan, &mode) {
                HttpClient::plain_http(self.options.step_timeout, self.options.max_body)?
            } else {
                HttpClient::new(self.options.step_timeout, self.options.max_body)?
            },
            mode,
            mock,
        })
    }

    /// Stage 3: run `plan` (the whole plan, or a part of it such as one
    /// trial's case) once, or `--repeat` times.
    pub async fn execute(
        &self,
        session: &Session,
        plan: &Plan,
        interrupt: Interrupt,
    ) -> Result<RunReport> {
        let opts = RunOptions {
            jobs: self.options.jobs,
            step_timeout: self.options.step_timeout,
            max_body: self.options.max_body,
            run_id: session.run_id.clone(),
            http: Some(session.http.clone()),
            registry: self.options.registry.clone(),
            observer: self.options.observer.clone(),
            invariants: self.options.invariants,
            fail_fast: self.options.fail_fast,
            spool: self.options.spool && self.options.repeat.is_none(),
            // Where only reports read the outcomes, passed steps keep what
            // they show; the full JSON report shows all of it.
            lean_passed: self.options.spool
                && self.options.repeat.is_none()
                && !self
                    .options
                    .reports
                    .iter()
                    .any(|r| r.kind == crate::report::ReportKind::Json),
        };
        let mode = session.mode.clone();
        match self.options.repeat {
            Some(repeat) => {
                crate::soak::run(plan, self.contract.clone(), mode, &opts, interrupt, repeat).await
            }
            None => exec::run(plan, self.contract.clone(), mode, &opts, interrupt).await,
        }
    }

    /// Stage 4, judge: group the failures by cause (findings) and stamp
    /// the run's identity, before any report is written.
    pub fn judge(
        &self,
        session: &Session,
        report: &mut RunReport,
        started_at: String,
    ) -> Result<()> {
        let cx = crate::findings::JudgeContext {
            token_source: self.options.token_source.clone(),
            target: report.target.clone(),
            envelope: crate::findings::EnvelopeFields::of(&self.contract),
        };
        report.judge(&cx)?;
        report.run = crate::outcome::RunInfo {
            id: session.run_id.clone(),
            started_at,
            hostname: crate::outcome::RunInfo::this_host(),
        };
        Ok(())
    }

    /// The plan split into one-case plans (one per trial), each with only
    /// the suite it needs.
    pub fn single_cases(&self) -> Vec<Plan> {
        self.plan
            .cases
            .iter()
            .map(|case| Plan {
                suites: vec![self.plan.suites[case.suite].clone()],
                cases: vec![Case {
                    suite: 0,
                    scenario: case.scenario,
                    id: case.id.clone(),
                    not_applicable: case.not_applicable.clone(),
                }],
            })
            .collect()
    }
}

/// Stage 5 (after [`Prepared::judge`]) writes every report
/// file. All are attempted: the first failure is returned, later ones are
/// printed so none is lost and none is shown twice.
pub fn write_reports(
    specs: &[ReportSpec],
    report: &RunReport,
    redactor: &Redactor,
) -> Result<(), Error> {
    let mut first_error = None;
    for spec in specs {
        if let Err(e) = spec.write(report, redactor) {
            if first_error.is_some() {
                eprintln!("error: {e}");
            } else {
                first_error = Some(e);
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Whether any selected step sends the run's bearer token.
fn plan_sends_token(plan: &Plan) -> bool {
    plan.cases.iter().any(|case| {
        plan.suites[case.suite].scenarios[case.scenario]
            .steps
            .iter()
            .any(|step| matches!(&step.action, suite::Action::Http(rq) if rq.auth == suite::Auth::Token))
    })
}

fn live_target(url: &str, token: Option<String>, token_env: &str, plan: &Plan) -> Result<Target> {
    let parsed = url::Url::parse(url)
        .map_err(|e| Error::Usage(format!("--base-url `{url}` is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::Usage(format!(
            "--base-url `{url}` must be http or https"
        )));
    }
    if token.is_none() && plan_sends_token(plan) {
        return Err(Error::Usage(format!(
            "no token for --base-url: set {token_env} (or --token-env NAME) or pass --token-file PATH"
        )));
    }
    let base_url = url.trim_end_matches('/').to_string();
    Ok(Target {
        label: shown_url(&parsed),
        base_url,
        token,
    })
}

/// The base URL as the console's target line shows it: a password and
/// query values are masked, so a token in the URL is never printed.
fn shown_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some(crate::redact::MASK));
    }
    if shown.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, _)| (k.into_owned(), crate::redact::MASK.to_string()))
            .collect();
        shown.query_pairs_mut().clear().extend_pairs(pairs);
    }
    shown.as_str().trim_end_matches('/').to_string()
}
