//! cases → libtest-mimic trials, so conformance runs inside `cargo test`:
//! one trial per scenario, named `suite::scenario`, each failing with the
//! same text the console report prints.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use libtest_mimic::{Failed, Trial};

use crate::contract::Contract;
use crate::error::{Error, Result};
use crate::exec::http::HttpClient;
use crate::exec::{self, RunOptions, Target};
use crate::mock::{MockServer, Profile};
use crate::outcome::Status;
use crate::plan::{Case, Plan};
use crate::redact::Redactor;
use crate::report::{ConsoleReporter, Reporter};
use crate::suite::{self, SuiteFormat};

/// What the trials run and against what.
#[derive(Debug, Clone)]
pub struct TrialOptions {
    pub contract: String,
    /// Suite files or folders; empty means the suites built into conform.
    pub suites: Vec<PathBuf>,
    /// A live server; `None` starts the embedded mock with `mock`.
    pub base_url: Option<String>,
    pub token: Option<String>,
    pub mock: Profile,
    pub step_timeout: Duration,
}

impl Default for TrialOptions {
    fn default() -> Self {
        TrialOptions {
            contract: crate::cli::DEFAULT_CONTRACT.to_string(),
            suites: Vec::new(),
            base_url: None,
            token: None,
            mock: Profile::Conformant,
            step_timeout: Duration::from_secs(30),
        }
    }
}

impl TrialOptions {
    /// Defaults, overridden by `CONFORM_BASE_URL`, `CONFORM_TOKEN`,
    /// `CONFORM_CONTRACT`, `CONFORM_MOCK` and `CONFORM_SUITES` (paths
    /// separated like `PATH`).
    pub fn from_env() -> Result<TrialOptions> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut opts = TrialOptions {
            base_url: var("CONFORM_BASE_URL").map(|u| u.trim_end_matches('/').to_string()),
            token: var("CONFORM_TOKEN"),
            ..TrialOptions::default()
        };
        if let Some(v) = var("CONFORM_CONTRACT") {
            opts.contract = v;
        }
        if let Some(p) = var("CONFORM_MOCK") {
            opts.mock = Profile::parse(&p)?;
        }
        if let Some(paths) = std::env::var_os("CONFORM_SUITES") {
            opts.suites = std::env::split_paths(&paths).collect();
        }
        Ok(opts)
    }
}

/// What every trial shares: one runtime, one contract, one target.
struct Shared {
    runtime: tokio::runtime::Runtime,
    contract: Arc<Contract>,
    target: Target,
    step_timeout: Duration,
    redactor: Redactor,
    run_id: String,
    /// One client for all trials: they share the runtime, so its
    /// connections stay valid.
    http: HttpClient,
    // Kept alive until the last trial is done.
    _mock: Option<MockServer>,
}

/// One scenario, ready to run as a test.
pub struct TrialCase {
    pub name: String,
    shared: Arc<Shared>,
    plan: Plan,
}

impl TrialCase {
    /// Runs the scenario; the error is the console's failure text.
    pub fn run(&self) -> std::result::Result<(), Failed> {
        run_one(&self.shared, &self.plan)
    }
}

/// One libtest-mimic trial per selected scenario, in suite order.
pub fn trials(opts: TrialOptions) -> Result<Vec<Trial>> {
    Ok(cases(opts)?
        .into_iter()
        .map(|case| Trial::test(case.name.clone(), move || case.run()))
        .collect())
}

/// The scenarios as [`TrialCase`]s, for harnesses other than libtest-mimic.
pub fn cases(opts: TrialOptions) -> Result<Vec<TrialCase>> {
    let contract = Contract::embedded(&opts.contract)?;
    let format = SuiteFormat::new()?;
    let suites = if opts.suites.is_empty() {
        suite::load_embedded(&format)?
    } else {
        suite::load_paths(&format, &opts.suites)?
    };
    let mut suites = suites;
    if opts.base_url.is_some() {
        suite::drop_mock_only(&mut suites);
    }
    let plan = crate::plan::plan(suites, &contract, None, crate::plan::Kind::Server)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
    let (target, mock) = match &opts.base_url {
        Some(url) => (
            Target {
                base_url: url.clone(),
                token: opts.token.clone(),
                label: url.clone(),
            },
            None,
        ),
        None => {
            let server = runtime.block_on(MockServer::start(opts.mock, None))?;
            server.record_served(false);
            let target = Target {
                base_url: server.base_url(),
                token: Some(server.token().to_string()),
                label: format!("mock:{}", opts.mock.name()),
            };
            (target, Some(server))
        }
    };
    let shared = Arc::new(Shared {
        runtime,
        contract: Arc::new(contract),
        redactor: Redactor::new(target.token.clone()),
        target,
        step_timeout: opts.step_timeout,
        run_id: RunOptions::new_run_id(),
        http: HttpClient::new(opts.step_timeout, 10 * 1024 * 1024)?,
        _mock: mock,
    });
    let cases = plan
        .cases
        .iter()
        .map(|case| {
            let suite = plan.suites[case.suite].clone();
            let name = format!("{}::{}", suite.name, suite.scenarios[case.scenario].name);
            let one = Plan {
                suites: vec![suite],
                cases: vec![Case {
                    suite: 0,
                    scenario: case.scenario,
                    id: case.id.clone(),
                }],
            };
            TrialCase {
                name,
                shared: shared.clone(),
                plan: one,
            }
        })
        .collect();
    Ok(cases)
}

fn run_one(shared: &Shared, plan: &Plan) -> std::result::Result<(), Failed> {
    let opts = RunOptions {
        jobs: 1,
        step_timeout: shared.step_timeout,
        max_body: 10 * 1024 * 1024,
        run_id: shared.run_id.clone(),
        http: Some(shared.http.clone()),
    };
    let report = shared
        .runtime
        .block_on(exec::run(
            plan,
            shared.contract.clone(),
            exec::Mode::Server(shared.target.clone()),
            &opts,
            exec::Interrupt::default(),
        ))
        .map_err(|e| Failed::from(e.to_string()))?;
    if report.scenarios.iter().all(|s| s.status == Status::Passed) {
        return Ok(());
    }
    let text = ConsoleReporter::new(shared.redactor.clone(), false)
        .quiet(true)
        .render(&report)
        .map_err(|e| Failed::from(e.to_string()))?;
    Err(Failed::from(String::from_utf8_lossy(&text).into_owned()))
}
