//! `contracts matrix`: which scenarios of the suites apply to each contract
//! version, and why the others do not. Consecutive versions with the same
//! answer share a row, so 71 releases fit on a screen. README's table is
//! this command's output (a test keeps them equal).

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;

use crate::contract::{ApiModel, Contract, Source};
use crate::error::{Result, exit};
use crate::suite::{self, Suite, SuiteFormat};

#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// Suite file or directory (repeatable). Default: the built-in suites.
    #[arg(long = "suite", value_name = "PATH")]
    pub suites: Vec<PathBuf>,
}

/// One row: the versions it covers and, per suite, what applies.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    first: String,
    last: String,
    /// Per suite (in suite order): scenarios that apply.
    applicable: Vec<usize>,
    /// `suite/scenario` and why not, in suite order.
    not_applicable: Vec<(String, String)>,
}

impl Row {
    fn same_answer(&self, other: &Row) -> bool {
        self.applicable == other.applicable && self.not_applicable == other.not_applicable
    }
}

/// `contracts matrix`: prints the table as Markdown.
pub fn run(args: &MatrixArgs) -> Result<i32> {
    let format = SuiteFormat::new()?;
    let suites = if args.suites.is_empty() {
        suite::load_embedded(&format)?
    } else {
        suite::load_paths(&format, &args.suites)?
    };
    super::say(&render(&suites)?);
    Ok(exit::PASSED)
}

/// The table for `suites` over every embedded contract version.
pub fn render(suites: &[Suite]) -> Result<String> {
    let mut rows: Vec<Row> = Vec::new();
    for version in Contract::known_versions() {
        // The API model alone decides: no schema is compiled.
        let api = ApiModel::load(Source::Embedded, &version)?;
        let row = row(suites, &version, &api);
        match rows.last_mut() {
            Some(last) if last.same_answer(&row) => last.last = version,
            _ => rows.push(row),
        }
    }
    let mut out = String::new();
    let _ = write!(out, "| versions |");
    for s in suites {
        let _ = write!(out, " {} |", cell(&s.name));
    }
    let _ = writeln!(out, " not applicable, and why |");
    let _ = write!(out, "| --- |");
    for _ in suites {
        let _ = write!(out, " ---: |");
    }
    let _ = writeln!(out, " --- |");
    for row in &rows {
        let versions = if row.first == row.last {
            row.first.clone()
        } else {
            format!("{}–{}", row.first, row.last)
        };
        let _ = write!(out, "| {versions} |");
        for (s, n) in suites.iter().zip(&row.applicable) {
            let _ = write!(out, " {n}/{} |", s.scenarios.len());
        }
        let why: Vec<String> = row
            .not_applicable
            .iter()
            .map(|(id, reason)| format!("{}: {}", cell(id), cell(reason)))
            .collect();
        let why = if why.is_empty() {
            "—".to_string()
        } else {
            why.join("<br>")
        };
        let _ = writeln!(out, " {why} |");
    }
    let _ = writeln!(
        out,
        "\nCells: scenarios that apply / scenarios in the suite. {} versions in {} rows.",
        Contract::known_versions().len(),
        rows.len()
    );
    Ok(out)
}

fn row(suites: &[Suite], version: &str, api: &ApiModel) -> Row {
    let mut applicable = Vec::new();
    let mut not_applicable = Vec::new();
    for s in suites {
        let mut n = 0;
        for (i, scenario) in s.scenarios.iter().enumerate() {
            match s.why_not(i, version, api) {
                None => n += 1,
                Some(reason) => {
                    not_applicable.push((format!("{}/{}", s.name, scenario.name), reason.short()))
                }
            }
        }
        applicable.push(n);
    }
    Row {
        first: version.to_string(),
        last: version.to_string(),
        applicable,
        not_applicable,
    }
}

/// Text safe in a Markdown table cell (backticks are kept: reasons quote names).
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}
