//! `cargo bench --bench audit`: an audit of N releases (default 71) of the
//! small Python reference client against the embedded mock, versus the
//! sum of the single `conform client` runs it replaces, divided by the
//! cores in use. Goal: the audit's wall time is within 10% of that.
//!
//! AUDIT_BENCH_RELEASES (71) and AUDIT_BENCH_REPEATS (3) size it; the two
//! sides are interleaved per repeat and reported as median (min–max).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CONFORM: &str = env!("CARGO_BIN_EXE_conform");

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn python() -> Option<String> {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs to the end, output discarded; returns the wall time and exit code.
fn timed(cmd: &mut Command) -> (Duration, Option<i32>) {
    let started = Instant::now();
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("child runs");
    (started.elapsed(), status.code())
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn main() {
    let Some(py) = python() else {
        println!("audit bench skipped: python3 not found");
        return;
    };
    let n = env_usize("AUDIT_BENCH_RELEASES", 71);
    let repeats = env_usize("AUDIT_BENCH_REPEATS", 3).max(1);
    let cores = std::thread::available_parallelism().map_or(2, |c| c.get());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("audit_bench");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/make_history.py");
    let made = Command::new(&py)
        .arg(&script)
        .arg(&dir)
        .args(["--count", &n.to_string(), "--no-git", "--no-tgz"])
        .status()
        .expect("make_history.py runs");
    assert!(made.success(), "make_history.py failed");
    let releases = dir.join("releases");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&releases)
        .expect("releases")
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin/image-skill.py"))
        .collect();
    entries.sort();
    let run = format!("{py} {{entry}}");
    println!("audit bench · {n} releases · {cores} cores · {repeats} repeats · {CONFORM}");
    let (mut audits, mut sums, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..repeats {
        let (wall, code) = timed(Command::new(CONFORM).args([
            "audit",
            "--releases",
            &releases.display().to_string(),
            "--run",
            &run,
            "--contract",
            "0.1.9",
            "--jobs",
            &cores.to_string(),
        ]));
        assert_eq!(code, Some(0), "the audit of well-behaved releases passes");
        let mut sum = Duration::ZERO;
        for entry in &entries {
            let (t, code) = timed(Command::new(CONFORM).args([
                "client",
                "--contract",
                "0.1.9",
                "--jobs",
                "1",
                "-q",
                "--",
                &py,
                &entry.display().to_string(),
            ]));
            assert_eq!(code, Some(0), "single client run passes");
            sum += t;
        }
        let ideal = sum.as_secs_f64() / cores as f64;
        audits.push(wall.as_secs_f64());
        sums.push(sum.as_secs_f64());
        ratios.push(wall.as_secs_f64() / ideal);
    }
    let (a, amin, amax) = median(audits);
    let (s, smin, smax) = median(sums);
    let (r, rmin, rmax) = median(ratios);
    println!("audit wall:                 {a:.2}s ({amin:.2}–{amax:.2})");
    println!(
        "sum of {n} `conform client`: {s:.2}s ({smin:.2}–{smax:.2}); / {cores} cores = {:.2}s",
        s / cores as f64
    );
    println!(
        "ratio audit / (sum / cores): {r:.3} ({rmin:.3}–{rmax:.3}) · goal < 1.10 · {}",
        if r < 1.10 { "met" } else { "NOT met" }
    );
}
