//! Helpers the end-to-end test files share: run the binary, read its
//! output, a fresh temporary folder, a `conform mock` child process.

#![allow(dead_code)] // each test file uses its own subset

pub mod golden;
pub mod outcomes;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Output, Stdio};

/// Runs `conform` with the caller's token variable removed.
pub fn conform(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conform"))
        .args(args)
        .env_remove("IMAGE_SKILL_TOKEN")
        .output()
        .expect("conform runs")
}

/// The text of the shipped file `name` as `version` resolves it: from the
/// nearest folder of its `extends` chain that holds it.
pub fn shipped_file(version: &str, name: &str) -> String {
    let contract = conform::contract::Contract::embedded(version).expect("a shipped version");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let path = contract
        .chain()
        .iter()
        .map(|v| root.join(v).join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is nowhere in {version}'s chain"));
    std::fs::read_to_string(&path).expect("readable")
}

/// Renames the key `from` of `map` to `to`, keeping its place.
pub fn rename_key(map: &mut serde_json::Map<String, serde_json::Value>, from: &str, to: &str) {
    *map = std::mem::take(map)
        .into_iter()
        .map(|(k, v)| (if k == from { to.to_string() } else { k }, v))
        .collect();
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Says that the calling test skipped and why, so that a plain `cargo
/// test` shows it: libtest captures `print!`/`eprint!` of passing tests,
/// not writes to the stderr handle itself. The test then returns (and is
/// listed as `ok`); `.ci/run` counts these lines at the end.
pub fn skip(reason: &str) {
    use std::io::Write as _;
    // libtest names each test's thread after the test.
    let thread = std::thread::current();
    let test = thread.name().filter(|n| *n != "main").unwrap_or("a test");
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {test}: {reason}");
}

/// An empty folder under cargo's per-target temp dir.
pub fn temp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A `conform mock` child process, killed on drop.
pub struct MockProcess {
    child: Child,
    // Kept open: the mock keeps writing to its stdout.
    _stdout: std::io::Lines<BufReader<ChildStdout>>,
    pub base_url: String,
    pub token: String,
}

impl MockProcess {
    pub fn start(profile: &str) -> MockProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_conform"))
            .args(["mock", "--profile", profile, "--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("conform mock starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let (mut base_url, mut token) = (String::new(), String::new());
        while base_url.is_empty() || token.is_empty() {
            let line = lines
                .next()
                .expect("mock prints its address")
                .expect("line");
            if let Some(v) = line.strip_prefix("base_url=") {
                base_url = v.to_string();
            } else if let Some(v) = line.strip_prefix("token=") {
                token = v.to_string();
            }
        }
        MockProcess {
            child,
            _stdout: lines,
            base_url,
            token,
        }
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
