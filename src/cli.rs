//! Arguments (clap derive) and the glue that walks the pipeline:
//! load contract → load suites → plan → execute → report.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::contract::Contract;
use crate::error::{Error, Result, exit};
use crate::exec::{self, RunOptions, Target};
use crate::mock::{MockServer, Profile};
use crate::report::{ConsoleReporter, ReportSpec, Reporter};
use crate::suite::{self, SuiteFormat};

pub const DEFAULT_CONTRACT: &str = "0.1.9";

#[derive(Debug, Parser)]
#[command(
    name = "conform",
    version,
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
    /// Serve the reference mock until Ctrl-C.
    Mock(MockArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Contract version to check against.
    #[arg(long, default_value = DEFAULT_CONTRACT, value_name = "VERSION")]
    pub contract: String,
    /// Read contract schemas from DIR/<VERSION>/ instead of the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
    /// Suite file or directory (repeatable). Default: the built-in suites.
    #[arg(long, value_name = "PATH")]
    pub suite: Vec<PathBuf>,
    /// Only scenarios whose `suite/scenario` contains TEXT.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Print the selected scenarios and exit.
    #[arg(long)]
    pub list: bool,
    /// A live server to test, e.g. https://api.example.com.
    #[arg(long, value_name = "URL", conflicts_with = "mock")]
    pub base_url: Option<String>,
    /// Environment variable holding the bearer token for --base-url.
    #[arg(long, value_name = "NAME", default_value = "IMAGE_SKILL_TOKEN")]
    pub token_env: String,
    /// File holding the bearer token for --base-url (first line).
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Test the embedded reference mock with this profile.
    #[arg(long, value_name = "PROFILE")]
    pub mock: Option<String>,
    /// Scenarios run at once (steps of one scenario always run in order).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Seconds a step may take before it counts as unreachable.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub step_timeout: f64,
    /// Largest response body read, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_body: usize,
    /// Write a report: json=PATH or junit=PATH (repeatable).
    #[arg(long, value_name = "KIND=PATH")]
    pub report: Vec<String>,
    /// Print only failures and the summary.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct MockArgs {
    /// conformant or regressed-0.1.8.
    #[arg(long, default_value = "conformant", value_name = "PROFILE")]
    pub profile: String,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub addr: String,
}

/// Runs a parsed command and returns the process exit code.
pub fn execute(cli: Cli) -> Result<i32> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
    match cli.command {
        Command::Run(args) => runtime.block_on(run(*args)),
        Command::Mock(args) => runtime.block_on(mock(args)),
    }
}

async fn run(args: RunArgs) -> Result<i32> {
    let specs = args
        .report
        .iter()
        .map(|r| ReportSpec::parse(r))
        .collect::<Result<Vec<_>>>()?;
    if !(args.step_timeout > 0.0 && args.step_timeout.is_finite()) {
        return Err(Error::Usage(
            "--step-timeout must be a positive number of seconds".into(),
        ));
    }
    let contract = match &args.schemas {
        Some(dir) => Contract::from_dir(dir, &args.contract)?,
        None => Contract::embedded(&args.contract)?,
    };
    let format = SuiteFormat::new()?;
    let suites = if args.suite.is_empty() {
        suite::load_embedded(&format)?
    } else {
        suite::load_paths(&format, &args.suite)?
    };
    let plan = crate::plan::plan(suites, &contract, args.filter.as_deref())?;
    if args.list {
        let ids: String = plan.cases.iter().map(|c| format!("{}\n", c.id)).collect();
        say(&ids);
        return Ok(exit::PASSED);
    }

    // The mock lives as long as this function: it must outlast the run.
    let (target, _mock) = match &args.base_url {
        Some(url) => (live_target(url, &args)?, None),
        None => {
            let profile = Profile::parse(args.mock.as_deref().unwrap_or("conformant"))?;
            let server = MockServer::start(profile, None).await?;
            let target = Target {
                base_url: server.base_url(),
                token: Some(server.token().to_string()),
                label: format!("mock:{}", profile.name()),
            };
            (target, Some(server))
        }
    };

    let stop = Arc::new(AtomicBool::new(false));
    let on_interrupt = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_interrupt.store(true, Ordering::SeqCst);
        }
    });
    let opts = RunOptions {
        jobs: args
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        step_timeout: Duration::from_secs_f64(args.step_timeout),
        max_body: args.max_body,
        run_id: RunOptions::new_run_id(),
    };
    let redactor = crate::redact::Redactor::new(target.token.clone());
    let report = exec::run(&plan, Arc::new(contract), target, &opts, stop).await?;

    // Files first: a console that fails to print must not lose the reports.
    let mut first_error = None;
    for spec in &specs {
        if let Err(e) = spec.write(&report, &redactor) {
            eprintln!("error: {e}");
            first_error.get_or_insert(e);
        }
    }
    let console =
        ConsoleReporter::new(redactor, ConsoleReporter::color_for_stdout()).quiet(args.quiet);
    let text = console.render(&report)?;
    say(&String::from_utf8_lossy(&text));
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(report.exit_code())
}

/// Writes to stdout; a closed pipe (`conform run | head`) is not an error
/// worth a panic, and the exit code still tells the outcome.
fn say(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

fn live_target(url: &str, args: &RunArgs) -> Result<Target> {
    let parsed = url::Url::parse(url)
        .map_err(|e| Error::Usage(format!("--base-url `{url}` is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::Usage(format!(
            "--base-url `{url}` must be http or https"
        )));
    }
    let token = match &args.token_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
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
            Some(token)
        }
        None => std::env::var(&args.token_env)
            .ok()
            .filter(|t| !t.trim().is_empty()),
    };
    let base_url = url.trim_end_matches('/').to_string();
    Ok(Target {
        label: base_url.clone(),
        base_url,
        token,
    })
}

async fn mock(args: MockArgs) -> Result<i32> {
    let profile = Profile::parse(&args.profile)?;
    let addr = args
        .addr
        .parse()
        .map_err(|e| Error::Usage(format!("--addr `{}` is not an address: {e}", args.addr)))?;
    let server = MockServer::start(profile, Some(addr)).await?;
    // The token is the mock's own throwaway one; printing it is the point.
    say(&format!(
        "conform mock: profile {} listening\nbase_url={}\ntoken={}\nCtrl-C stops it.\n",
        profile.name(),
        server.base_url(),
        server.token()
    ));
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| Error::Mock(format!("cannot wait for Ctrl-C: {e}")))?;
    drop(server);
    Ok(exit::PASSED)
}
