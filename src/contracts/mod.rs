//! `conform contracts`: commands over contract versions and the docs they
//! come from. `extract` derives fixtures and base schemas from a docs folder
//! (read by [`crate::docs`]), `add` writes a runnable version from them,
//! `check` is the drift gate, `diff` compares two versions, `list` lists them.

pub mod add;
pub mod check;
pub mod diff;
pub mod extract;
pub mod matrix;
pub mod rules;

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::Value;

use check::CheckArgs;
use extract::ExtractArgs;

use crate::contract::{Contract, Source};
use crate::error::{Result, exit};

#[derive(Debug, Args)]
pub struct ContractsArgs {
    #[command(subcommand)]
    pub command: ContractsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ContractsCommand {
    /// The first step of `add` alone: fixtures, the endpoint inventory and base
    /// schemas from the docs (no runnable contract; `add` writes one).
    Extract(ExtractArgs),
    /// Check the docs' examples and endpoints against the committed contract.
    Check(CheckArgs),
    /// Semantic diff of two contract versions, or of two docs folders.
    Diff(diff::DiffArgs),
    /// Write a runnable contract version from a release's docs.
    Add(add::AddArgs),
    /// Every contract version: date, base, one line of what changed.
    List(ListArgs),
    /// Versions × suites: which scenarios apply to each contract version
    /// (their `needs` and `versions`) and why the others do not, as a
    /// Markdown table; consecutive versions with the same answer share a row.
    Matrix(matrix::MatrixArgs),
}

/// Runs a `contracts` subcommand and returns the exit code.
pub fn run(args: ContractsArgs) -> Result<i32> {
    match args.command {
        ContractsCommand::Extract(args) => extract::run(&args),
        ContractsCommand::Check(args) => check::run(&args),
        ContractsCommand::Diff(args) => diff::run(&args),
        ContractsCommand::Add(args) => add::run(&args),
        ContractsCommand::List(args) => crate::contracts::list(&args),
        ContractsCommand::Matrix(args) => matrix::run(&args),
    }
}

/// The strings of a JSON array (none when it is not one).
pub(crate) fn strings(list: &Value) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// Writes to stdout; a closed pipe is not worth a panic.
pub(crate) fn say(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// List the versions under DIR instead of the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
}

/// `contracts list`: version, release date, base, summary; one line each.
pub fn list(args: &ListArgs) -> Result<i32> {
    let source = match &args.schemas {
        Some(dir) => Source::Dir(dir),
        None => Source::Embedded,
    };
    let mut out = String::new();
    for version in source.versions() {
        let contract = Contract::load_from(source, &version)?;
        let m = contract.manifest();
        out.push_str(&format!(
            "{:<10} {:<10} {:<14} {}\n",
            version,
            m.release_date.as_deref().unwrap_or("-"),
            m.extends
                .as_deref()
                .map_or_else(|| "(root)".to_string(), |b| format!("extends {b}")),
            m.summary.as_deref().unwrap_or("")
        ));
    }
    say(&out);
    Ok(exit::PASSED)
}
