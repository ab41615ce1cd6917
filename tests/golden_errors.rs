//! Golden error messages: every case in tests/golden/errors/<case>/ holds
//! `args` (one argument per line), any input files, and the expected `stderr`
//! and exit `code`. conform runs in the case folder, so paths in messages are
//! stable. One libtest-mimic trial per case, compared by tests/common/golden.rs
//! (`SNAPSHOTS=overwrite cargo test --test golden_errors` blesses; read the diff).
//!
//! An unreadable or empty case folder, or a case without `args`, `stderr` or
//! `code`, fails; `removing_a_golden_file_fails` proves it on a copy.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let args = Arguments::from_args();
    let trials = match cases() {
        Ok(cases) => {
            let mut trials: Vec<Trial> = cases
                .into_iter()
                .map(|(name, dir)| Trial::test(name, move || run_case(&dir)))
                .collect();
            if std::env::var_os("CONFORM_GOLDEN_ROOT").is_none() {
                trials.push(Trial::test("removing_a_golden_file_fails", prove_removal));
            }
            trials
        }
        Err(why) => vec![Trial::test("golden_cases_are_readable", move || {
            Err(why.into())
        })],
    };
    libtest_mimic::run(&args, trials).exit();
}

/// The case folders, by name; an error when the folder is unreadable or empty.
fn cases() -> Result<Vec<(String, PathBuf)>, String> {
    let root = common::golden::root().join("errors");
    let entries = std::fs::read_dir(&root)
        .map_err(|e| format!("cannot read the golden folder {}: {e}", root.display()))?;
    let mut cases = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("{}: {e}", root.display()))?
            .path();
        if path.is_dir() {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            cases.push((name, path));
        }
    }
    if cases.is_empty() {
        return Err(format!("no golden cases in {}", root.display()));
    }
    cases.sort();
    Ok(cases)
}

fn run_case(dir: &Path) -> Result<(), Failed> {
    let args_file = dir.join("args");
    let args_text = std::fs::read_to_string(&args_file)
        .map_err(|e| format!("cannot read {}: {e}", args_file.display()))?;
    let args: Vec<&str> = args_text.lines().filter(|l| !l.is_empty()).collect();
    let output = Command::new(env!("CARGO_BIN_EXE_conform"))
        .args(&args)
        .current_dir(dir)
        .env_remove("IMAGE_SKILL_TOKEN")
        .env("NO_COLOR", "1")
        .output()?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let code = output
        .status
        .code()
        .map_or("signal".to_string(), |c| c.to_string());
    if stderr.contains("panicked") {
        return Err(format!("conform panicked:\n{stderr}").into());
    }
    let case = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let problems: Vec<String> = [
        common::golden::check(&format!("errors/{case}/code"), &format!("{code}\n")),
        common::golden::check(&format!("errors/{case}/stderr"), &stderr),
    ]
    .into_iter()
    .filter_map(Result::err)
    .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

/// Every file of every case, removed one at a time from a copy, fails its case.
fn prove_removal() -> Result<(), Failed> {
    // `.keep` only makes git keep an empty input folder; it is no expectation.
    let files: Vec<String> = common::golden::files_under("errors")
        .into_iter()
        .filter(|f| !f.ends_with("/.keep"))
        .collect();
    common::golden::prove_removal_fails(&files, |file| {
        let case = file
            .trim_start_matches("errors/")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        vec!["--exact".into(), case]
    });
    Ok(())
}
