//! Running the binary with a deadline, temp folders, generated suites.

#![allow(dead_code)] // each case uses its own subset

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_conform");

/// What a bounded run left behind.
#[derive(Debug)]
pub struct Ran {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// `conform ARGS` with the caller's token removed.
pub fn cmd(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env_remove("IMAGE_SKILL_TOKEN")
        .env_remove("GITHUB_ACTIONS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Runs `c`, killing it and panicking when it outlives `limit`.
pub fn run_within(mut c: Command, limit: Duration) -> Ran {
    let child = c.spawn().expect("conform starts");
    wait_within(child, limit)
}

pub fn wait_within(mut child: Child, limit: Duration) -> Ran {
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let reader_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let reader_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("conform did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ran {
        status,
        stdout: String::from_utf8_lossy(&reader_out.join().unwrap_or_default()).into_owned(),
        stderr: String::from_utf8_lossy(&reader_err.join().unwrap_or_default()).into_owned(),
    }
}

/// An empty folder under cargo's per-target temp dir.
pub fn temp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("hostile")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write test file");
}

/// A suite of `n` one-step scenarios (`GET /healthz`).
pub fn healthz_suite(n: usize) -> String {
    let scenarios: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "name": format!("healthz {i}"),
                "steps": [{
                    "name": "health",
                    "request": {"method": "GET", "path": "/healthz", "auth": "none"},
                    "expect": {"status": 200}
                }]
            })
        })
        .collect();
    serde_json::json!({"suite": "generated", "scenarios": scenarios}).to_string()
}

/// A one-scenario suite of the given steps.
pub fn suite_of(steps: serde_json::Value) -> String {
    serde_json::json!({
        "suite": "hostile",
        "scenarios": [{"name": "case", "steps": steps}]
    })
    .to_string()
}

/// Threads that keep every core busy until dropped.
pub struct BusyLoop {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl BusyLoop {
    pub fn start(threads: usize) -> BusyLoop {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let threads = (0..threads)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
                    }
                })
            })
            .collect();
        BusyLoop { stop, threads }
    }
}

impl Drop for BusyLoop {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
