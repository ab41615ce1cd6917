//! The figures of README "Performance", printed as text with their ratios:
//! `cargo bench --bench compare`. Sections (pick with CONFORM_BENCH=a,b):
//!
//! - `setup`: what one run pays before its first request;
//! - `suite`: the default suite end to end, process start included: wall
//!   time and peak RSS;
//! - `overhead`: conform running N identical GET /healthz steps against its
//!   mock versus a bare reqwest loop, same process, same mock;
//! - `peer`: the checkout flow N times by conform and by Hurl
//!   (benches/hurl/checkout.hurl) against one `conform mock` process;
//! - `soak`: peak RSS of `--repeat` at 1000 and at 10000 iterations.
//!
//! Every server is a conform mock on 127.0.0.1 started here; every child
//! process is killed if it outlives its time bound.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use conform::contract::Contract;
use conform::exec::http::HttpClient;
use conform::exec::{self, Interrupt, Mode, RunOptions, Target};
use conform::mock::{MockServer, Profile};
use conform::plan::{self, Kind};
use conform::suite::SuiteFormat;
use serde_json::json;

const CONFORM: &str = env!("CARGO_BIN_EXE_conform");
const HURL_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/hurl/checkout.hurl");
/// No child process of this bench runs longer.
const CHILD_BOUND: Duration = Duration::from_secs(600);

fn main() {
    let wanted = std::env::var("CONFORM_BENCH").unwrap_or_default();
    let on = |name: &str| wanted.is_empty() || wanted.split(',').any(|w| w.trim() == name);
    println!(
        "conform benches · {} cores · release build {CONFORM}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if on("setup") {
        setup();
    }
    if on("suite") {
        default_suite(env_usize("CONFORM_BENCH_RUNS", 10));
    }
    if on("overhead") {
        overhead(env_usize("CONFORM_BENCH_STEPS", 2000));
    }
    if on("peer") {
        peer(env_usize("CONFORM_BENCH_FLOWS", 500));
    }
    if on("soak") {
        soak_memory(env_usize("CONFORM_BENCH_SOAK", 10_000));
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What a finished child process cost.
struct Measured {
    wall: Duration,
    /// Peak resident set in KiB: the child's `VmHWM`, sampled every
    /// millisecond until it exits.
    max_rss_kib: u64,
    code: Option<i32>,
}

/// Runs `cmd` to the end with stdout and stderr discarded, timing it from
/// spawn to exit. Peak RSS is sampled from /proc rather than taken from
/// `wait4`'s `ru_maxrss`: Linux carries the parent's high-water mark into
/// a child across `exec`, so that figure would be this bench's own size.
fn measure(cmd: &mut Command) -> Measured {
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let started = Instant::now();
    let child = cmd.spawn().expect("child starts");
    let pid = child.id() as libc::pid_t;
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let peak = peak.clone();
        std::thread::spawn(move || {
            let status = format!("/proc/{pid}/status");
            // Ends when the child has exited: a zombie has no VmHWM line.
            while let Some(kib) = std::fs::read_to_string(&status)
                .ok()
                .and_then(|s| vm_hwm_kib(&s))
            {
                peak.fetch_max(kib, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut status = 0;
        // SAFETY: waits for our own child; no rusage is asked for.
        let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
        let _ = tx.send((waited, status, Instant::now()));
    });
    let (waited, status, ended) = match rx.recv_timeout(CHILD_BOUND) {
        Ok(done) => done,
        Err(_) => {
            // SAFETY: `pid` is our child and has not been reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("{cmd:?} ran past {CHILD_BOUND:?} and was killed");
        }
    };
    let _ = sampler.join();
    // The child was reaped above; `Child` must not wait again.
    drop(child);
    assert_eq!(waited, pid, "waitpid failed for {cmd:?}");
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Measured {
        wall: ended - started,
        max_rss_kib: peak.load(Ordering::Relaxed),
        code,
    }
}

/// `VmHWM:     12345 kB` → 12345.
fn vm_hwm_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn setup() {
    println!("\n## setup: what one run pays before its first request");
    let n = 20;
    let started = Instant::now();
    for _ in 0..n {
        Contract::embedded("0.1.9").expect("contract compiles");
    }
    println!(
        "  compile the 0.1.9 contract (all schemas):   {:8.3} ms",
        ms(started.elapsed() / n)
    );
    let started = Instant::now();
    for _ in 0..n {
        HttpClient::new(Duration::from_secs(30), 10 << 20).expect("client builds");
    }
    println!(
        "  build the HTTP client (reqwest + rustls):     {:8.3} ms",
        ms(started.elapsed() / n)
    );
}

fn default_suite(runs: usize) {
    println!(
        "\n## suite: `conform run` (every shipped server scenario, embedded mock), {runs} runs"
    );
    // One unmeasured run: page cache and dynamic loader warm, as in CI.
    let warm = measure(Command::new(CONFORM).args(["run", "--quiet"]));
    assert_eq!(warm.code, Some(0), "the default suite must pass");
    let mut walls = Vec::new();
    let mut peak = 0u64;
    for _ in 0..runs {
        let m = measure(Command::new(CONFORM).args(["run", "--quiet"]));
        assert_eq!(m.code, Some(0), "the default suite must pass");
        walls.push(m.wall);
        peak = peak.max(m.max_rss_kib);
    }
    let worst = walls.iter().max().copied().unwrap_or_default();
    let med = median(walls);
    println!(
        "  wall incl. process start: median {:.1} ms, worst {:.1} ms   (target < 500 ms: {})",
        ms(med),
        ms(worst),
        verdict(worst < Duration::from_millis(500))
    );
    println!(
        "  peak RSS: {:.1} MiB   (target < 50 MB: {})",
        peak as f64 / 1024.0,
        verdict((peak as f64) * 1024.0 < 50e6)
    );
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

fn overhead(steps: usize) {
    println!(
        "\n## overhead: {steps} GET /healthz steps, one scenario, --jobs 1, versus a bare reqwest loop"
    );
    let rt = runtime();
    rt.block_on(async {
        let mock = MockServer::start(Profile::Conformant, None)
            .await
            .expect("mock starts");
        let suite = json!({
            "suite": "overhead",
            "scenarios": [{
                "name": "healthz",
                "steps": (0..steps).map(|i| json!({
                    "name": format!("healthz {i}"),
                    "request": { "method": "GET", "path": "/healthz", "auth": "none" },
                    "expect": { "status": 200 }
                })).collect::<Vec<_>>()
            }]
        });
        let format = SuiteFormat::new().expect("suite format");
        let suite = format
            .parse(Path::new("overhead.json"), &suite.to_string())
            .expect("generated suite parses");
        let contract = Contract::embedded("0.1.9").expect("contract");
        let plan = plan::plan(vec![suite], &contract, None, Kind::Server).expect("plan");
        let contract = Arc::new(contract);
        let target = Target {
            base_url: mock.base_url(),
            token: Some(mock.token().to_string()),
            label: "mock:conformant".into(),
        };
        let opts = RunOptions {
            run_id: "overhead".into(),
            ..RunOptions::new(1, Duration::from_secs(30), 10 << 20)
        };
        let url = format!("{}/healthz", mock.base_url());
        let (mut harness, mut bare) = (Vec::new(), Vec::new());
        // Round 0 warms both; rounds alternate so drift hits both alike.
        for round in 0..6 {
            let started = Instant::now();
            let report = exec::run(
                &plan,
                contract.clone(),
                Mode::Server(target.clone()),
                &opts,
                Interrupt::default(),
            )
            .await
            .expect("run");
            let took = started.elapsed();
            assert_eq!(report.summary.passed, 1, "every healthz step must pass");

            // Same shape as conform's run: one client per run, built inside,
            // requests sent from a runtime task as exec sends them.
            let url = url.clone();
            let bare_took = tokio::spawn(async move {
                conform::exec::http::install_tls_provider();
                let started = Instant::now();
                let client = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .expect("client");
                for _ in 0..steps {
                    let response = client.get(&url).send().await.expect("healthz answers");
                    assert_eq!(response.status(), 200);
                    response.bytes().await.expect("body");
                }
                started.elapsed()
            })
            .await
            .expect("bare loop");
            if round > 0 {
                harness.push(took);
                bare.push(bare_took);
            }
        }
        let (h, b) = (median(harness), median(bare));
        let per = |d: Duration| d.as_secs_f64() * 1e6 / steps as f64;
        let ratio = h.as_secs_f64() / b.as_secs_f64();
        println!(
            "  conform: {:.1} ms ({:.1} µs/step)   bare reqwest: {:.1} ms ({:.1} µs/step)",
            ms(h),
            per(h),
            ms(b),
            per(b)
        );
        println!(
            "  ratio conform/bare: {ratio:.2}×, harness cost {:.1} µs/step   (target ≤ 1.5×: {})",
            per(h) - per(b),
            verdict(ratio <= 1.5)
        );
    });
}

/// A `conform mock` process on 127.0.0.1; killed on drop.
struct MockProcess {
    child: Child,
    base_url: String,
    token: String,
}

impl MockProcess {
    fn start() -> MockProcess {
        let mut child = Command::new(CONFORM)
            .args(["mock", "--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("conform mock starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (mut base_url, mut token) = (String::new(), String::new());
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("mock stdout");
            if let Some(v) = line.strip_prefix("base_url=") {
                base_url = v.to_string();
            }
            if let Some(v) = line.strip_prefix("token=") {
                token = v.to_string();
                break;
            }
        }
        assert!(
            base_url.starts_with("http://127.0.0.1:") && !token.is_empty(),
            "conform mock printed no base_url/token"
        );
        MockProcess {
            child,
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

fn conform_flows(mock: &MockProcess, n: usize) -> Measured {
    measure(
        Command::new(CONFORM)
            .args(["run", "--base-url", &mock.base_url])
            .args([
                "--filter",
                "checkout-fragments/pack",
                "--jobs",
                "1",
                "--quiet",
            ])
            .args(["--repeat", &n.to_string(), "--repeat-max-secs", "550"])
            .env("IMAGE_SKILL_TOKEN", &mock.token),
    )
}

fn peer(n: usize) {
    println!(
        "\n## peer: the checkout flow (quote → session → status → handoff) {n} times, conform vs Hurl"
    );
    let hurl = Command::new("hurl").arg("--version").output();
    let version = match hurl {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" "),
        _ => {
            println!(
                "  skipped: `hurl` is not installed (cargo install hurl --locked; it needs \
                 libcurl4-openssl-dev libxml2-dev pkg-config clang)"
            );
            return;
        }
    };
    let mock = MockProcess::start();
    // One flow each first: both must pass before their times mean anything.
    let check = measure(&mut hurl_command(&mock, 1));
    assert_eq!(
        check.code,
        Some(0),
        "{HURL_FILE} must pass against the mock"
    );
    assert_eq!(conform_flows(&mock, 1).code, Some(0), "conform must pass");

    let peer = measure(&mut hurl_command(&mock, n));
    assert_eq!(peer.code, Some(0), "hurl run failed");
    let ours = conform_flows(&mock, n);
    assert_eq!(ours.code, Some(0), "conform run failed");
    let per = |m: &Measured| ms(m.wall) / n as f64;
    println!(
        "  {version}: {:.0} ms ({:.2} ms/flow, peak RSS {:.1} MiB)",
        ms(peer.wall),
        per(&peer),
        peer.max_rss_kib as f64 / 1024.0
    );
    println!(
        "  conform --repeat {n}: {:.0} ms ({:.2} ms/flow, peak RSS {:.1} MiB)",
        ms(ours.wall),
        per(&ours),
        ours.max_rss_kib as f64 / 1024.0
    );
    let ratio = peer.wall.as_secs_f64() / ours.wall.as_secs_f64();
    println!(
        "  ratio hurl/conform: {ratio:.2}× (conform faster when > 1; aim ≥ 2×: {})",
        verdict(ratio >= 2.0)
    );
}

fn hurl_command(mock: &MockProcess, n: usize) -> Command {
    let mut cmd = Command::new("hurl");
    cmd.args(["--no-output", "--repeat", &n.to_string()])
        .args(["--variable", &format!("base_url={}", mock.base_url)])
        .args(["--variable", &format!("token={}", mock.token)])
        .arg(HURL_FILE);
    cmd
}

fn soak_memory(big: usize) {
    if big == 0 {
        return;
    }
    let small = (big / 10).max(1);
    println!("\n## soak: peak RSS of `conform run --repeat N --filter checkout-fragments/pack`");
    let mock = MockProcess::start();
    for n in [small, big] {
        let m = conform_flows(&mock, n);
        assert_eq!(m.code, Some(0), "--repeat {n} failed");
        println!(
            "  --base-url (mock in another process), N = {n:>6}: peak RSS {:6.1} MiB, {:.1} s, {:.2} ms/flow",
            m.max_rss_kib as f64 / 1024.0,
            m.wall.as_secs_f64(),
            ms(m.wall) / n as f64
        );
    }
    drop(mock);
    // Against the embedded mock the process also holds the mock, which
    // records every response it serves: shown, so the difference is clear.
    for n in [small, big] {
        let m = measure(
            Command::new(CONFORM)
                .args(["run", "--filter", "checkout-fragments/pack", "--jobs", "1"])
                .args([
                    "--quiet",
                    "--repeat",
                    &n.to_string(),
                    "--repeat-max-secs",
                    "550",
                ]),
        );
        assert_eq!(m.code, Some(0), "--repeat {n} failed");
        println!(
            "  embedded mock (same process),      N = {n:>6}: peak RSS {:6.1} MiB, {:.1} s",
            m.max_rss_kib as f64 / 1024.0,
            m.wall.as_secs_f64()
        );
    }
}
