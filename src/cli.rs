//! Arguments (clap derive), translated into the pipeline's
//! [`Options`](crate::app::Options); the pipeline itself is `app.rs`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::app::{self, Options, TargetSpec};
use crate::contract::Contract;
use crate::error::{Error, Result, exit};
use crate::exec::{ClientSetup, Interrupt};
use crate::mock::{MockServer, Profile};
use crate::plan::Plan;
use crate::report::console::{LiveLines, Progress};
use crate::report::{ConsoleReporter, GithubReporter, OutputFormat, ReportSpec, Reporter};
use crate::soak::Repeat;

pub use crate::contract::DEFAULT_CONTRACT;

#[derive(Debug, Parser)]
#[command(
    name = "conform",
    version = version_string(),
    about = "Contract tests for the Image Skill CLI and hosted API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenario suites against a server (the embedded mock by default).
    Run(Box<RunArgs>),
    /// Run client scenarios: a CLI under test, pointed at the reference mock.
    Client(Box<ClientArgs>),
    /// Serve the reference mock until Ctrl-C.
    Mock(MockArgs),
    /// Print a shell completion script to stdout.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout, or with --out write one page
    /// per subcommand (conform.1, conform-run.1, ...) into DIR.
    Man {
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Contracts from the docs: extract, drift check, version diff.
    Contracts(crate::contracts::ContractsArgs),
    /// Export the contract as an OpenAPI 3.1 document.
    Openapi(crate::openapi::OpenapiArgs),
    /// Run every release of a client: a matrix of releases × scenarios and
    /// invariants, with since-when findings.
    Audit(Box<crate::audit::AuditArgs>),
    /// Work with reports: merge audit shards.
    Report(crate::audit::ReportArgs),
}

/// What `run` and `client` share: contract, suites, selection, reports.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Contract version to check against (default: the newest built in).
    #[arg(help_heading = "Target", long, default_value = DEFAULT_CONTRACT, value_name = "VERSION")]
    pub contract: String,
    /// Read contract schemas from DIR/<VERSION>/ instead of the built-in ones.
    #[arg(help_heading = "Target", long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
    /// Suite file or directory (repeatable). Default: the built-in suites.
    #[arg(help_heading = "Target", long, value_name = "PATH")]
    pub suite: Vec<PathBuf>,
    /// Only scenarios whose `suite/scenario` contains TEXT (repeatable: any may match).
    #[arg(long, value_name = "TEXT", help_heading = "Selection")]
    pub filter: Vec<String>,
    /// Leave out scenarios whose `suite/scenario` contains TEXT (repeatable).
    #[arg(long, value_name = "TEXT", help_heading = "Selection")]
    pub skip: Vec<String>,
    /// --filter and --skip match whole `suite/scenario` ids, not substrings.
    #[arg(long, help_heading = "Selection")]
    pub exact: bool,
    /// Print the selected scenarios and exit.
    #[arg(long, help_heading = "Selection")]
    pub list: bool,
    /// Start no new scenario after the first one fails; scenarios already
    /// running (--jobs) finish, the rest are reported as not run.
    #[arg(
        long,
        help_heading = "Selection",
        overrides_with = "no_fail_fast",
        conflicts_with = "repeat"
    )]
    pub fail_fast: bool,
    /// Run every selected scenario whatever fails (the default; undoes an
    /// earlier --fail-fast).
    #[arg(long, help_heading = "Selection", overrides_with = "fail_fast")]
    pub no_fail_fast: bool,
    /// Scenarios run at once (steps of one scenario always run in order).
    #[arg(help_heading = "Limits", long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Seconds a step may take before it counts as unreachable (or hung);
    /// more than 0, at most 86400.
    #[arg(help_heading = "Limits", long, value_name = "SECS", default_value_t = 30.0, value_parser = step_timeout_secs)]
    pub step_timeout: f64,
    /// Largest response body (or client output) read, in bytes.
    #[arg(help_heading = "Limits", long, value_name = "BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_body: usize,
    /// Write a report: json=PATH, json-compact=PATH (failures and counts
    /// only), junit=PATH, html=PATH or markdown=PATH (repeatable).
    #[arg(help_heading = "Reports", long, value_name = "KIND=PATH")]
    pub report: Vec<String>,
    /// stdout: the console report, or with `github` also one GitHub Actions
    /// `::error` annotation per failed check.
    #[arg(
        help_heading = "Reports",
        long,
        value_enum,
        value_name = "FORMAT",
        default_value = "console"
    )]
    pub format: OutputFormat,
    /// Colour on stdout: auto (a terminal, unless NO_COLOR is set or
    /// TERM=dumb; CLICOLOR_FORCE forces it), always or never.
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        default_value = "auto",
        help_heading = "Reports"
    )]
    pub color: crate::report::console::ColorChoice,
    /// Print only failures and the summary.
    #[arg(help_heading = "Reports", long, short)]
    pub quiet: bool,
    /// Run one shard of the selection: hash:M/N (by a stable hash of the
    /// scenario id) or slice:M/N (every N-th scenario from the M-th).
    #[arg(help_heading = "Selection", long, value_name = "KIND:M/N")]
    pub partition: Option<String>,
    /// Soak mode: run the selection N times (at most 100000) against this
    /// machine and report per-step latency percentiles.
    #[arg(help_heading = "Limits", long, value_name = "N")]
    pub repeat: Option<u64>,
    /// Judge by the version's contract alone: skip the invariants every
    /// version keeps (such as the Stripe #fragment).
    #[arg(long)]
    pub no_invariants: bool,
    /// Start no new --repeat iteration after this many seconds; more than 0,
    /// at most 604800 (a week).
    #[arg(help_heading = "Limits", long, value_name = "SECS", default_value_t = crate::soak::DEFAULT_MAX_SECS, requires = "repeat", value_parser = repeat_max_secs)]
    pub repeat_max_secs: f64,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// A live server to test, e.g. https://api.example.com.
    #[arg(
        help_heading = "Target",
        long,
        value_name = "URL",
        conflicts_with = "mock"
    )]
    pub base_url: Option<String>,
    /// Environment variable holding the bearer token for --base-url.
    #[arg(
        help_heading = "Target",
        long,
        value_name = "NAME",
        default_value = "IMAGE_SKILL_TOKEN"
    )]
    pub token_env: String,
    /// File holding the bearer token for --base-url (first line).
    #[arg(help_heading = "Target", long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Test the embedded reference mock with this profile.
    #[arg(help_heading = "Target", long, value_name = "PROFILE", value_parser = profile_names())]
    pub mock: Option<String>,
    /// Add negative scenarios generated from the contract: requests a
    /// conformant server must refuse (no token, bad token, invalid bodies).
    #[arg(long, help_heading = "Selection")]
    pub negative: bool,
}

#[derive(Debug, Args)]
pub struct ClientArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Mock profile the client talks to.
    #[arg(long, value_name = "PROFILE", default_value = "conformant", value_parser = profile_names())]
    pub mock: String,
    /// The contract version the mock serves (default: --contract): a client
    /// against an older or newer server, still judged by --contract and the
    /// invariants.
    #[arg(help_heading = "Target", long, value_name = "VERSION")]
    pub server_contract: Option<String>,
    #[command(flatten)]
    pub env: ClientEnvArgs,
    /// The client under test and its leading arguments; each step's
    /// arguments are appended.
    #[arg(last = true, value_name = "COMMAND", required_unless_present = "list")]
    pub command: Vec<String>,
}

/// What a client under test sees of its environment: shared by `client`
/// and `audit`, so both refuse the same things.
#[derive(Debug, Clone, Args)]
pub struct ClientEnvArgs {
    /// Variable that tells the client the mock's base URL.
    #[arg(long, value_name = "NAME", default_value = "IMAGE_SKILL_API_BASE_URL")]
    pub base_url_env: String,
    /// Variable that hands the client the mock's token.
    #[arg(long, value_name = "NAME", default_value = "IMAGE_SKILL_TOKEN")]
    pub token_env: String,
    /// Pass this variable of yours to the client (repeatable); by default it
    /// gets only PATH, locale, HOME and the two above.
    #[arg(long, value_name = "NAME")]
    pub pass_env: Vec<String>,
}

impl ClientEnvArgs {
    /// The caller's real token must not reach `auth: none` steps (which
    /// exist to show the client without one).
    pub fn refuse_token_pass(&self) -> Result<()> {
        match self
            .pass_env
            .iter()
            .find(|n| **n == self.token_env || n.as_str() == "IMAGE_SKILL_TOKEN")
        {
            Some(name) => Err(Error::Usage(format!(
                "--pass-env {name}: that is the token variable; conform hands the client the mock's own token"
            ))),
            None => Ok(()),
        }
    }
}

#[derive(Debug, Args)]
pub struct MockArgs {
    /// The profile to serve.
    #[arg(long, default_value = "conformant", value_name = "PROFILE", value_parser = profile_names())]
    pub profile: String,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub addr: String,
    /// Contract version whose endpoints the mock serves (default: the newest built in).
    #[arg(long, default_value = DEFAULT_CONTRACT, value_name = "VERSION")]
    pub contract: String,
    /// Read contract schemas from DIR/<VERSION>/ instead of the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
    /// Records kept of each kind (quotes, payment attempts, receipts,
    /// ledger events, signups, jobs, assets, idempotency keys); older ones
    /// are forgotten, and a request naming one is answered 410 RECORD_EVICTED.
    #[arg(long, value_name = "N", default_value_t = crate::mock::DEFAULT_RETAIN as u32,
          value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub retain: u32,
}

/// The mock's profiles for `--help` and shell completions, from the one
/// list in `mock::Profile`.
fn profile_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        Profile::ALL
            .iter()
            .map(|p| clap::builder::PossibleValue::new(p.name()).help(p.summary())),
    )
}

/// Runs a parsed command and returns the process exit code.
pub fn execute(cli: Cli) -> Result<i32> {
    // One scenario at a time: everything runs on this thread, so no wake-up
    // crosses threads (a loopback step paid the worker pool's park and
    // unpark). Stop signals do not need the runtime (src/signals.rs).
    let one_at_a_time = match &cli.command {
        Command::Run(args) => args.common.one_job(),
        Command::Client(args) => args.common.one_job(),
        _ => false,
    };
    let mut builder = if one_at_a_time {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = builder
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
    match cli.command {
        Command::Run(args) => runtime.block_on(run(*args)),
        Command::Client(args) => runtime.block_on(client(*args)),
        Command::Mock(args) => runtime.block_on(mock(args)),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "conform", &mut script);
            say(&String::from_utf8_lossy(&script));
            Ok(exit::PASSED)
        }
        Command::Man { out: Some(dir) } => {
            write_man_pages(&dir)?;
            Ok(exit::PASSED)
        }
        Command::Man { out: None } => {
            let mut page = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut page)
                .map_err(|e| Error::Internal(format!("cannot render the man page: {e}")))?;
            say(&String::from_utf8_lossy(&page));
            Ok(exit::PASSED)
        }
        Command::Contracts(args) => crate::contracts::run(args),
        Command::Openapi(args) => crate::openapi::run(&args),
        Command::Audit(args) => runtime.block_on(crate::audit::run(*args)),
        Command::Report(args) => match args.command {
            crate::audit::ReportCommand::Merge(merge) => crate::audit::merge(&merge),
        },
    }
}

/// Longest `--step-timeout`: a day. 1e20 used to panic converting to a
/// `Duration` (issue 14, finding 6).
pub const MAX_STEP_TIMEOUT_SECS: f64 = 86_400.0;

fn step_timeout_secs(s: &str) -> std::result::Result<f64, String> {
    seconds_in(s, MAX_STEP_TIMEOUT_SECS)
}

fn repeat_max_secs(s: &str) -> std::result::Result<f64, String> {
    seconds_in(s, crate::soak::MAX_SECS)
}

/// A number of seconds in (0, max]; NaN and infinities are refused.
fn seconds_in(s: &str, max: f64) -> std::result::Result<f64, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if secs > 0.0 && secs <= max {
        Ok(secs)
    } else {
        Err(format!("must be more than 0 and at most {max} seconds"))
    }
}

/// `conform.1` plus `conform-SUB.1` for every subcommand, so the SEE ALSO
/// list of the main page points at pages that exist.
fn write_man_pages(dir: &std::path::Path) -> Result<()> {
    let write_err = |path: &std::path::Path, source: std::io::Error| Error::Report {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| write_err(dir, e))?;
    let mut root = <Cli as clap::CommandFactory>::command();
    root.build();
    let mut pages = vec![("conform".to_string(), root.clone())];
    for sub in root.get_subcommands() {
        let name = format!("conform-{}", sub.get_name());
        pages.push((name.clone(), sub.clone().display_name(name)));
    }
    for (name, command) in pages {
        let path = dir.join(format!("{name}.1"));
        let mut page = Vec::new();
        clap_mangen::Man::new(command)
            .render(&mut page)
            .map_err(|e| write_err(&path, e))?;
        crate::report::write_atomic(&path, &page)?;
    }
    Ok(())
}

impl CommonArgs {
    /// Whether scenarios run one at a time (`--jobs 1`, or the default on
    /// one core).
    fn one_job(&self) -> bool {
        let jobs = self
            .jobs
            .map(usize::from)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        jobs == 1
    }

    /// The pipeline's options for these arguments and `target`.
    fn options(&self, target: TargetSpec) -> Result<Options> {
        let reports = self
            .report
            .iter()
            .map(|r| ReportSpec::parse(r))
            .collect::<Result<Vec<_>>>()?;
        let partition = self
            .partition
            .as_deref()
            .map(crate::plan::Partition::parse)
            .transpose()?;
        let repeat = self
            .repeat
            .map(|n| Repeat::new(n, self.repeat_max_secs))
            .transpose()?;
        // NaN, infinity, zero and below all become zero, which
        // `app::prepare` refuses.
        let step_timeout = Some(self.step_timeout)
            .filter(|s| s.is_finite() && *s > 0.0)
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .unwrap_or(Duration::ZERO);
        let mut opts = Options::new(target);
        opts.contract = self.contract.clone();
        opts.schemas = self.schemas.clone();
        opts.suites = self.suite.clone();
        opts.selection = crate::plan::Selection {
            filters: self.filter.clone(),
            skips: self.skip.clone(),
            exact: self.exact,
        };
        opts.partition = partition;
        opts.step_timeout = step_timeout;
        opts.max_body = self.max_body;
        opts.repeat = repeat;
        opts.reports = reports;
        opts.invariants = !self.no_invariants;
        opts.fail_fast = self.fail_fast && !self.no_fail_fast;
        if let Some(jobs) = self.jobs {
            opts.jobs = usize::from(jobs);
        }
        Ok(opts)
    }
}

/// Bare ids on stdout (for `--filter` and scripts); which of them the
/// loaded contract cannot run goes to stderr, so a pipe still sees ids only.
fn list(plan: &Plan, contract: &str) -> i32 {
    let ids: String = plan.cases.iter().map(|c| format!("{}\n", c.id)).collect();
    say(&ids);
    let skipped: Vec<_> = plan
        .cases
        .iter()
        .filter_map(|c| Some((&c.id, c.not_applicable.as_deref()?)))
        .collect();
    if !skipped.is_empty() {
        let mut note = format!(
            "{} of {} listed scenarios are not applicable to contract {contract} and would be reported N/A:\n",
            skipped.len(),
            plan.cases.len()
        );
        for (id, reason) in skipped {
            note.push_str(&format!("  N/A   {id}   {reason}\n"));
        }
        say_err(&note);
    }
    exit::PASSED
}

async fn run(args: RunArgs) -> Result<i32> {
    let target = match &args.base_url {
        Some(url) => TargetSpec::Live {
            base_url: url.clone(),
            token: read_token(&args)?,
            token_env: args.token_env.clone(),
        },
        None => TargetSpec::Mock(Profile::parse(
            args.mock.as_deref().unwrap_or("conformant"),
        )?),
    };
    let mut opts = args.common.options(target)?;
    opts.negative = args.negative;
    opts.inputs.extend(args.token_file.clone());
    // Named in a refused-token finding; the value never is.
    opts.token_source = Some(match (&args.base_url, &args.token_file) {
        (Some(_), Some(path)) => format!("token file `{}`", path.display()),
        (Some(_), None) => format!("`${}`", args.token_env),
        (None, _) => "the mock's own token".to_string(),
    });
    pipeline(&args.common, opts).await
}

async fn client(args: ClientArgs) -> Result<i32> {
    args.env.refuse_token_pass()?;
    if !args.common.list {
        crate::exec::command::adopt_orphans();
    }
    let setup = ClientSetup {
        command: args.command.clone(),
        profile: Profile::parse(&args.mock)?,
        base_url_env: args.env.base_url_env.clone(),
        token_env: args.env.token_env.clone(),
        pass_env: args.env.pass_env.clone(),
        token: format!("isk_r_mock_{:032x}", rand::random::<u128>()),
        server: None,
    };
    let mut opts = args.common.options(TargetSpec::Client(setup))?;
    opts.server_contract = args.server_contract.clone();
    opts.token_source = Some(format!("`${}` (the mock's token)", args.env.token_env));
    pipeline(&args.common, opts).await
}

/// The pipeline with console output: prepare → target → execute → every
/// report file → console.
async fn pipeline(common: &CommonArgs, mut opts: Options) -> Result<i32> {
    // Only reports read the outcomes here: keep them out of memory.
    opts.spool = true;
    let mut prepared = app::prepare(opts)?;
    if common.list {
        return Ok(list(&prepared.plan, prepared.contract.version()));
    }
    let session = prepared.start().await?;
    let interrupt = Interrupt::default();
    crate::signals::watch(interrupt.clone())?;
    let redactor = session.redactor();
    let console = ConsoleReporter::new(redactor.clone(), common.color.enabled_for_stdout())
        .quiet(common.quiet);
    // A report to `-` owns stdout; the console report would corrupt it.
    let to_stdout = prepared.options.reports.iter().any(ReportSpec::is_stdout);
    let started_at = crate::outcome::RunInfo::now_rfc3339();
    // Cleared before the rest of the report prints, also on an error.
    let progress = Arc::new(Progress::start(prepared.plan.cases.len(), common.quiet));
    // nextest-style: the header at once, each scenario's line when it ends
    // (a soak run prints its table at the end instead).
    let streamed = prepared.options.repeat.is_none() && !to_stdout;
    if streamed {
        progress.println(&console.header(prepared.contract.version(), &session.mode.label()));
        prepared.options.observer = Some(Arc::new(LiveLines::new(
            console.clone(),
            progress.clone(),
            &prepared.plan,
        )));
    }
    let stopped = interrupt.clone();
    let report = prepared.execute(&session, &prepared.plan, interrupt).await;
    if stopped.is_set() {
        // A client dropped mid-step is killed but maybe not yet reaped: on a
        // current-thread runtime nothing polls tokio's reaper before exit.
        crate::exec::command::kill_all_clients();
    }
    prepared.options.observer = None;
    let report = report.and_then(|mut report| {
        prepared.judge(&session, &mut report, started_at)?;
        Ok(report)
    });
    // Stopped explicitly, off the runtime's workers (issue 14, finding 1).
    session.shutdown().await;
    drop(progress);
    let report = report?;

    // Files first: a console that fails to print must not lose the reports.
    let written = app::write_reports(&prepared.options.reports, &report, &redactor);
    // Not rendered when a report owns stdout: unstreamed, the console
    // reads every outcome back from the spool for nothing.
    if !to_stdout {
        // Masked again as finally printed (see `ReportSpec::write`).
        let mut text = redactor.bytes(&console.streamed(streamed).render(&report)?);
        if common.format == OutputFormat::Github
            || std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| !v.is_empty())
        {
            text = crate::redact::workflow_commands(&String::from_utf8_lossy(&text)).into_bytes();
        }
        say(&String::from_utf8_lossy(&text));
    }
    if let Some(latency) = &report.latency {
        say(&crate::soak::render(latency));
    }
    if !common.no_invariants && !to_stdout {
        say(&format!(
            "{}\n",
            crate::check::invariants::verdict(&report)?
        ));
    }
    if common.format == OutputFormat::Github {
        let annotations = redactor.bytes(&GithubReporter::new(redactor.clone()).render(&report)?);
        say(&String::from_utf8_lossy(&annotations));
    }
    written?;
    Ok(report.exit_code())
}

/// `--version`: this build's version and the contract versions it knows.
fn version_string() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        let known = Contract::known_versions();
        // 71 versions do not fit a line; `contracts list` has them all.
        let range = match (known.first(), known.last()) {
            (Some(first), Some(last)) if known.len() > 3 => {
                format!("{first} … {last}, {} versions", known.len())
            }
            _ => known.join(", "),
        };
        format!(
            "{} (contracts {range}; default {DEFAULT_CONTRACT})",
            env!("CARGO_PKG_VERSION"),
        )
    })
}

/// Writes to stdout; a closed pipe (`conform run | head`) is not an error
/// worth a panic, and the exit code still tells the outcome.
fn say(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// [`say`] for stderr: `2>&-` or a closed pipe loses the note, not the run.
fn say_err(text: &str) {
    use std::io::Write;
    let mut out = std::io::stderr().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// The bearer token for `--base-url`: the first line of `--token-file`,
/// else the `--token-env` variable.
fn read_token(args: &RunArgs) -> Result<Option<String>> {
    match &args.token_file {
        Some(path) => {
            let text = crate::input::read_capped(path, crate::input::MAX_TOKEN_FILE_BYTES)
                .map_err(|source| Error::Read {
                    path: path.clone(),
                    source,
                })?;
            let token = text.lines().next().unwrap_or_default().trim().to_string();
            if token.is_empty() {
                return Err(Error::Usage(format!(
                    "token file `{}` is empty",
                    path.display()
                )));
            }
            no_control(&token, &format!("token file `{}`", path.display()))?;
            Ok(Some(token))
        }
        None => {
            let token = std::env::var(&args.token_env)
                .ok()
                .filter(|t| !t.trim().is_empty());
            if let Some(t) = &token {
                no_control(t.trim(), &format!("${}", args.token_env))?;
            }
            Ok(token)
        }
    }
}

/// A control character cannot go into a header: an input error now (exit
/// 2), not a transport error on every step.
fn no_control(token: &str, from: &str) -> Result<()> {
    if token.chars().any(char::is_control) {
        return Err(Error::Usage(format!(
            "the token in {from} holds a control character"
        )));
    }
    Ok(())
}

async fn mock(args: MockArgs) -> Result<i32> {
    let profile = Profile::parse(&args.profile)?;
    let addr = args
        .addr
        .parse()
        .map_err(|e| Error::Usage(format!("--addr `{}` is not an address: {e}", args.addr)))?;
    // Loaded whole, so a broken folder is refused as `run` refuses it.
    let contract = match &args.schemas {
        Some(dir) => crate::contract::Contract::from_dir(dir, &args.contract)?,
        None => crate::contract::Contract::embedded(&args.contract)?,
    };
    let server = MockServer::start_for(&contract, profile, Some(addr), None).await?;
    drop(contract);
    // A served mock has no reader for its record; keep memory flat.
    server.record_served(false);
    server.set_retention(args.retain as usize);
    // The token is the mock's own throwaway one; printing it is the point.
    say(&format!(
        "conform mock: profile {} listening\nbase_url={}\ntoken={}\nCtrl-C stops it.\n",
        profile.name(),
        server.base_url(),
        server.token()
    ));
    crate::signals::wait().await?;
    server.shutdown().await;
    Ok(exit::PASSED)
}
