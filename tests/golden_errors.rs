//! Golden error messages: every case in tests/golden/errors/<case>/ holds
//! `args` (one argument per line), any input files, and the expected `stderr`
//! and exit `code`. conform runs in the case folder, so paths in messages are
//! stable. One libtest-mimic trial per case.
//!
//! UPDATE_GOLDENS=1 cargo test --test golden_errors rewrites the expectations;
//! do that only with a reason, and read the diff.

use std::path::{Path, PathBuf};
use std::process::Command;

use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/errors");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    cases.sort();
    let trials = cases
        .into_iter()
        .map(|dir| {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Trial::test(name, move || run_case(&dir))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

fn run_case(dir: &Path) -> Result<(), Failed> {
    let args_text = std::fs::read_to_string(dir.join("args"))?;
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
    if std::env::var_os("UPDATE_GOLDENS").is_some() {
        std::fs::write(dir.join("stderr"), &stderr)?;
        std::fs::write(dir.join("code"), format!("{code}\n"))?;
        return Ok(());
    }
    let want_stderr = std::fs::read_to_string(dir.join("stderr")).unwrap_or_default();
    let want_code = std::fs::read_to_string(dir.join("code")).unwrap_or_default();
    let mut problems = Vec::new();
    if want_code.trim() != code {
        problems.push(format!(
            "exit code: expected {}, got {code}",
            want_code.trim()
        ));
    }
    if want_stderr != stderr {
        let diff = similar::TextDiff::from_lines(&want_stderr, &stderr);
        problems.push(format!(
            "the error message changed (- expected, + actual):\n{}",
            diff.unified_diff().context_radius(3)
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}
