//! Commands over contracts and docs. `add` writes a version from a
//! release's docs; extract, check and diff still live in `extract.rs` and
//! `diff.rs`.

pub mod add;
pub mod rules;

use std::path::PathBuf;

use clap::Args;

use crate::contract::{Contract, Source};
use crate::error::{Result, exit};

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
    crate::extract::say(&out);
    Ok(exit::PASSED)
}
