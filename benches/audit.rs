//! `cargo bench --bench audit`: an audit of N releases (default 71) of the
//! small Python reference client against the embedded mock, versus the
//! sum of the single `conform client` runs it replaces, divided by the
//! cores in use. Goal: the audit's wall time is within 10% of that.
//!
//! AUDIT_BENCH_RELEASES (71) and AUDIT_BENCH_REPEATS (3) size it; the two
//! sides are interleaved per repeat and reported as median (min–max).
//!
//! First, in process: starting the mocks of one client run (one per
//! scenario) from one loaded contract, whose answer shapes are compiled
//! once and shared, versus from a freshly loaded contract each (compiled
//! at every start, as before the cache). AUDIT_BENCH_MOCKS_ONLY=1 stops
//! there.

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

/// CPU time (user + system) of every child this process has waited for,
/// and of the descendants they waited for: conform waits for its clients,
/// so a run's delta is the whole tree's work, which load does not inflate
/// the way it inflates wall time.
fn children_cpu() -> Duration {
    // SAFETY: getrusage writes only into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(rc, 0, "getrusage(RUSAGE_CHILDREN)");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Runs to the end, output discarded; returns the wall time, the CPU time
/// of the process tree and the exit code.
fn timed(cmd: &mut Command) -> (Duration, Duration, Option<i32>) {
    let cpu = children_cpu();
    let started = Instant::now();
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("child runs");
    (started.elapsed(), children_cpu() - cpu, status.code())
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// Mock starts (and stops) of one client run: `starts` from one loaded
/// contract versus one from each of `fresh` (loaded beforehand, so only
/// the per-start compile differs).
fn mock_starts(version: &str, starts: usize, repeats: usize) {
    use conform::contract::Contract;
    use conform::mock::{MockServer, Profile};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let start_all = |contracts: &[&Contract]| {
        runtime.block_on(async {
            let started = Instant::now();
            for contract in contracts {
                let mock = MockServer::start_for(*contract, Profile::Conformant, None, None)
                    .await
                    .expect("mock starts");
                mock.shutdown().await;
            }
            started.elapsed().as_secs_f64() * 1000.0
        })
    };
    let (mut shared, mut compiled, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..repeats {
        let one = Contract::embedded(version).expect("contract");
        let same: Vec<&Contract> = std::iter::repeat_n(&one, starts).collect();
        let fresh: Vec<Contract> = (0..starts)
            .map(|_| Contract::embedded(version).expect("contract"))
            .collect();
        let fresh: Vec<&Contract> = fresh.iter().collect();
        let c = start_all(&fresh);
        let s = start_all(&same);
        compiled.push(c);
        shared.push(s);
        ratios.push(s / c);
    }
    let (s, smin, smax) = median(shared);
    let (c, cmin, cmax) = median(compiled);
    let (r, rmin, rmax) = median(ratios);
    println!(
        "{starts} mock starts of {version}: shapes shared {s:.1} ms ({smin:.1}–{smax:.1}) · compiled per start {c:.1} ms ({cmin:.1}–{cmax:.1}) · ratio {r:.3} ({rmin:.3}–{rmax:.3})"
    );
}

fn main() {
    let repeats = env_usize("AUDIT_BENCH_REPEATS", 3).max(1);
    for version in ["0.1.9", "0.1.70"] {
        mock_starts(version, 16, repeats.max(5));
    }
    if std::env::var_os("AUDIT_BENCH_MOCKS_ONLY").is_some() {
        return;
    }
    let Some(py) = python() else {
        println!("audit bench skipped: python3 not found");
        return;
    };
    let n = env_usize("AUDIT_BENCH_RELEASES", 71);
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
    let (mut audit_cpus, mut sum_cpus, mut cpu_ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..repeats {
        let (wall, audit_cpu, code) = timed(Command::new(CONFORM).args([
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
        let (mut sum, mut sum_cpu) = (Duration::ZERO, Duration::ZERO);
        for entry in &entries {
            let (t, cpu, code) = timed(Command::new(CONFORM).args([
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
            sum_cpu += cpu;
        }
        audit_cpus.push(audit_cpu.as_secs_f64());
        sum_cpus.push(sum_cpu.as_secs_f64());
        cpu_ratios.push(audit_cpu.as_secs_f64() / sum_cpu.as_secs_f64());
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
    let (a, amin, amax) = median(audit_cpus);
    let (s, smin, smax) = median(sum_cpus);
    let (r, rmin, rmax) = median(cpu_ratios);
    println!(
        "cpu (user+sys, process trees): audit {a:.2}s ({amin:.2}–{amax:.2}) · sum of singles {s:.2}s ({smin:.2}–{smax:.2}) · ratio {r:.3} ({rmin:.3}–{rmax:.3})"
    );
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at the end: {}", load.trim());
    }
}
