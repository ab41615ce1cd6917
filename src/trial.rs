//! cases → libtest-mimic trials, so conformance runs inside `cargo test`:
//! one trial per scenario, named `suite::scenario`, each failing with the
//! same text the console report prints. The pipeline is `app.rs`; this
//! file reads the environment into its options and wraps its cases.

use std::sync::Arc;

use libtest_mimic::{Completion, Failed, Trial};

use crate::app::{self, Options, Prepared, Session, TargetSpec};
use crate::error::{Error, Result};
use crate::exec::Interrupt;
use crate::mock::Profile;
use crate::outcome::Status;
use crate::plan::Plan;
use crate::redact::Redactor;
use crate::report::{ConsoleReporter, Reporter};

/// What the trials run and against what: the pipeline's own options.
pub type TrialOptions = Options;

impl Default for Options {
    fn default() -> Self {
        Options::new(TargetSpec::Mock(Profile::Conformant))
    }
}

impl Options {
    /// Defaults, overridden by `CONFORM_BASE_URL`, `CONFORM_TOKEN`,
    /// `CONFORM_CONTRACT` (default: the newest built-in version), `CONFORM_SCHEMAS`, `CONFORM_MOCK`,
    /// `CONFORM_NEGATIVE` (`1`) and `CONFORM_SUITES` (paths separated like
    /// `PATH`).
    pub fn from_env() -> Result<Options> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut opts = Options::default();
        if let Some(url) = var("CONFORM_BASE_URL") {
            opts.target = TargetSpec::Live {
                base_url: url,
                token: var("CONFORM_TOKEN"),
                token_env: "CONFORM_TOKEN".into(),
            };
        } else if let Some(p) = var("CONFORM_MOCK") {
            opts.target = TargetSpec::Mock(Profile::parse(&p)?);
        }
        // Unset: the newest release conform knows, computed, so a new
        // contract version becomes the default without an edit here.
        opts.contract =
            var("CONFORM_CONTRACT").unwrap_or_else(|| crate::contract::NEWEST_CONTRACT.to_string());
        opts.schemas = std::env::var_os("CONFORM_SCHEMAS")
            .filter(|v| !v.is_empty())
            .map(Into::into);
        opts.negative = var("CONFORM_NEGATIVE").is_some_and(|v| v.trim() == "1");
        if let Some(paths) = std::env::var_os("CONFORM_SUITES") {
            opts.suites = std::env::split_paths(&paths).collect();
        }
        Ok(opts)
    }
}

/// What every trial shares: one runtime, one prepared plan, one target.
struct Shared {
    runtime: tokio::runtime::Runtime,
    prepared: Prepared,
    session: Session,
    redactor: Redactor,
}

/// One scenario, ready to run as a test.
pub struct TrialCase {
    pub name: String,
    /// Why the contract version cannot run it: such a case is reported as
    /// ignored with this reason and never run.
    pub not_applicable: Option<String>,
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
pub fn trials(opts: Options) -> Result<Vec<Trial>> {
    Ok(cases(opts)?
        .into_iter()
        .map(|case| {
            // Ignored at run time, not by flag: libtest prints the reason
            // (`ignored (not applicable: …)`) only for the former.
            Trial::ignorable_test(case.name.clone(), move || match &case.not_applicable {
                Some(reason) => Ok(Completion::ignored_with(format!(
                    "not applicable: {reason}"
                ))),
                None => case.run().map(|()| Completion::Completed),
            })
        })
        .collect())
}

/// The scenarios as [`TrialCase`]s, for harnesses other than libtest-mimic.
pub fn cases(mut opts: Options) -> Result<Vec<TrialCase>> {
    // libtest runs the trials side by side; each runs one scenario.
    opts.jobs = 1;
    let prepared = app::prepare(opts)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
    let session = runtime.block_on(prepared.start())?;
    let plans = prepared.single_cases();
    let shared = Arc::new(Shared {
        redactor: session.redactor(),
        runtime,
        prepared,
        session,
    });
    Ok(plans
        .into_iter()
        .map(|plan| {
            let suite = &plan.suites[0];
            let name = format!(
                "{}::{}",
                suite.name, suite.scenarios[plan.cases[0].scenario].name
            );
            TrialCase {
                name,
                not_applicable: plan.cases[0].not_applicable.clone(),
                shared: shared.clone(),
                plan,
            }
        })
        .collect())
}

fn run_one(shared: &Shared, plan: &Plan) -> std::result::Result<(), Failed> {
    let started_at = crate::outcome::RunInfo::now_rfc3339();
    let mut report = shared
        .runtime
        .block_on(
            shared
                .prepared
                .execute(&shared.session, plan, Interrupt::default()),
        )
        .map_err(|e| Failed::from(e.to_string()))?;
    // Not applicable is never a failure, also for a harness that runs such a case.
    if report
        .scenarios
        .iter()
        .all(|s| matches!(s.status, Status::Passed | Status::NotApplicable))
    {
        return Ok(());
    }
    // Same text as the console: findings first.
    shared
        .prepared
        .judge(&shared.session, &mut report, started_at)
        .map_err(|e| Failed::from(e.to_string()))?;
    let text = ConsoleReporter::new(shared.redactor.clone(), false)
        .quiet(true)
        .render(&report)
        .map_err(|e| Failed::from(e.to_string()))?;
    Err(Failed::from(String::from_utf8_lossy(&text).into_owned()))
}
