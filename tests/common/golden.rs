//! The one golden comparer for every family under tests/golden/ (errors,
//! reports, diff): snapbox compares exactly (only line endings normalised)
//! and shows a diff. A missing expected file fails.
//!
//! Bless after an intended change, then read the diff:
//!
//!     SNAPSHOTS=overwrite cargo test      (UPDATE_GOLDENS=1 also works)
//!
//! `CONFORM_GOLDEN_ROOT` points the comparer at a copy of tests/golden;
//! `prove_removal_fails` uses it to show that deleting any golden file
//! makes the test fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use snapbox::data::DataFormat;
use snapbox::{Assert, Data};

/// The golden folder: tests/golden, or the copy named by CONFORM_GOLDEN_ROOT.
pub fn root() -> PathBuf {
    std::env::var_os("CONFORM_GOLDEN_ROOT").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden"),
        PathBuf::from,
    )
}

fn assert() -> Assert {
    let assert = Assert::new().action_env(snapbox::assert::DEFAULT_ACTION_ENV);
    if std::env::var_os("UPDATE_GOLDENS").is_some() {
        assert.action(snapbox::assert::Action::Overwrite)
    } else {
        assert
    }
}

/// Compares `actual` with the golden file `rel` (relative to [`root`]).
pub fn check(rel: &str, actual: &str) -> Result<(), String> {
    let path = root().join(rel);
    let expected = Data::read_from(&path, Some(DataFormat::Text)).raw();
    assert()
        .try_eq(Some(&"rendered"), Data::text(actual.to_string()), expected)
        .map_err(|e| format!("{} changed or is missing:\n{e}", path.display()))
}

/// Panicking form of [`check`] for `#[test]` functions.
pub fn assert_golden(rel: &str, actual: &str) {
    if let Err(e) = check(rel, actual) {
        panic!("{e}");
    }
}

/// Every file under `root()/dir`, relative to `root()`, sorted.
pub fn files_under(dir: &str) -> Vec<String> {
    fn walk(base: &Path, at: &Path, out: &mut Vec<String>) {
        let entries = std::fs::read_dir(at)
            .unwrap_or_else(|e| panic!("cannot read golden folder {}: {e}", at.display()));
        for entry in entries {
            let path = entry.expect("golden folder entry").path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).expect("under the golden root");
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    let base = root();
    let mut out = Vec::new();
    walk(&base, &base.join(dir), &mut out);
    out.sort();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create copy");
    for entry in std::fs::read_dir(from).expect("read golden folder") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("file name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy golden file");
        }
    }
}

/// For each golden file in `files`: copies tests/golden to a temporary
/// folder, deletes that one file there, and reruns this test binary with
/// `test_args(file)` against the copy. Each rerun must fail.
pub fn prove_removal_fails(files: &[String], test_args: impl Fn(&str) -> Vec<String>) {
    assert!(!files.is_empty(), "no golden files to prove");
    let exe = std::env::current_exe().expect("this test binary");
    for file in files {
        let copy = tempfile::tempdir().expect("temp dir");
        copy_dir(&root(), copy.path());
        std::fs::remove_file(copy.path().join(file)).expect("remove the golden file");
        let out = Command::new(&exe)
            .args(test_args(file))
            .env("CONFORM_GOLDEN_ROOT", copy.path())
            .env_remove("SNAPSHOTS")
            .env_remove("UPDATE_GOLDENS")
            .output()
            .expect("rerun the test binary");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !out.status.success(),
            "the tests still pass with golden file {file} removed:\n{stdout}"
        );
        assert!(
            !stdout.contains("running 0 tests") && !stdout.contains("0 passed; 0 failed"),
            "the rerun for {file} selected no test:\n{stdout}"
        );
    }
}

/// Which test file compares each report and diff golden; `prove_removal_fails`
/// runs per owner, and reports.rs checks that every file has one.
pub const OWNERS: &[(&str, &[&str])] = &[
    (
        "tests/reports.rs",
        &[
            "reports/passing.txt",
            "reports/failing.txt",
            "reports/passing.json",
            "reports/failing.json",
            "reports/passing.xml",
            "reports/failing.xml",
            "reports/not-applicable.txt",
            "reports/not-applicable.json",
            "reports/not-applicable.xml",
            "reports/not-applicable.html",
            "reports/not-applicable.md",
        ],
    ),
    (
        "tests/html_report.rs",
        &[
            "reports/failing.html",
            "reports/passing.md",
            "reports/failing.md",
            "reports/failing.github.txt",
        ],
    ),
    (
        "tests/contracts_cmd.rs",
        &[
            "diff/0.1.8-0.1.9.txt",
            "diff/0.1.10-0.1.11.txt",
            "diff/0.1.28-0.1.29.txt",
            "diff/0.1.8-0.1.9.md",
            "diff/0.1.8-0.1.9.json",
        ],
    ),
];

/// The golden files `owner` compares.
pub fn owned_by(owner: &str) -> Vec<String> {
    OWNERS
        .iter()
        .filter(|(o, _)| *o == owner)
        .flat_map(|(_, files)| files.iter().map(|f| f.to_string()))
        .collect()
}
