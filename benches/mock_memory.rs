//! The standalone mock's memory under a long run (issue 14, finding 11):
//! `conform mock` (the release binary) as a child, driven with `GET
//! /healthz` and, separately, with full checkout flows (signup → quote →
//! Stripe Checkout session → status → handoff, as the suites do) over a
//! bounded number of connections. The child's RSS is read from /proc after
//! start (the baseline of the same run) and at 10%, 50% and 100% of the
//! run; flat is final ≈ after-the-first-10% (100,000 vs 10,000 flows: the
//! mock keeps its most recent 5,000 records of each kind, `--retain`).
//! Goal: under 64 MiB, flat.
//!
//! `cargo build --release && cargo bench --bench mock_memory`
//!
//! Env: `MOCK_BENCH_HEALTHZ` (default 1,000,000), `MOCK_BENCH_FLOWS`
//! (100,000), `MOCK_BENCH_REPEATS` (3), `MOCK_BENCH_CONNECTIONS` (8),
//! `MOCK_BENCH_RETAIN` (the mock's default), `CONFORM_BIN` (default
//! `target/release/conform`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const MIB: f64 = 1024.0 * 1024.0;

fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace(['_', ','], "").parse().ok())
        .unwrap_or(default)
}

struct Mock {
    child: Child,
    base_url: String,
}

impl Mock {
    fn start(bin: &PathBuf, retain: Option<u64>) -> Mock {
        let mut command = Command::new(bin);
        command.args(["mock", "--addr", "127.0.0.1:0"]);
        if let Some(n) = retain {
            command.args(["--retain", &n.to_string()]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut base_url = None;
        // The banner is a few lines; the mock prints nothing after it.
        for line in BufReader::new(stdout).lines().take(10) {
            let line = line.expect("mock banner");
            if let Some(url) = line.strip_prefix("base_url=") {
                base_url = Some(url.to_string());
                break;
            }
        }
        Mock {
            child,
            base_url: base_url.expect("the mock printed its base_url"),
        }
    }

    /// Resident set size of the child, from /proc.
    fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc/<pid>/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .expect("VmRSS in /proc/<pid>/status")
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Clone, Copy)]
enum Work {
    Healthz,
    Checkout,
}

impl Work {
    fn name(self) -> &'static str {
        match self {
            Work::Healthz => "healthz",
            Work::Checkout => "checkout",
        }
    }
}

/// RSS after start and after 10%, 50% and 100% of the work, and the
/// wall time.
struct Sample {
    start: u64,
    rss: [u64; 3],
    secs: f64,
}

impl Sample {
    /// Final over after-the-first-10%: 1.0 is flat.
    fn flatness(&self) -> f64 {
        self.rss[2] as f64 / self.rss[0] as f64
    }

    /// Final over the just-started mock of the same run.
    fn over_start(&self) -> f64 {
        self.rss[2] as f64 / self.start as f64
    }
}

async fn healthz(client: &reqwest::Client, base: &str) {
    let reply = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("GET /healthz");
    assert_eq!(reply.status(), 200);
    reply.bytes().await.expect("healthz body");
}

async fn post(client: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut request = client.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let reply = request.send().await.expect("POST");
    let status = reply.status();
    let value: Value = reply.json().await.expect("JSON answer");
    assert_eq!(status, 200, "{value}");
    value
}

/// signup → quote (Stripe Checkout) → checkout session → status → handoff.
async fn checkout(client: &reqwest::Client, base: &str, n: u64) {
    let signup = post(
        client,
        format!("{base}/v1/agent-signups"),
        None,
        json!({ "human_email": format!("bench{n}@example.com"), "agent_name": format!("bench-{n}"), "runtime": "conform" }),
    )
    .await;
    let token = signup["data"]["token"].as_str().expect("signup token");
    let quote = post(
        client,
        format!("{base}/v1/credit-quotes"),
        Some(token),
        json!({ "pack_id": "starter-500", "payment_method": "stripe_checkout", "idempotency_key": format!("q{n}") }),
    )
    .await;
    let quote_id = quote["data"]["quote_id"].as_str().expect("quote_id");
    let session = post(
        client,
        format!("{base}/v1/credit-purchases/stripe-checkout-sessions"),
        Some(token),
        json!({ "quote_id": quote_id, "idempotency_key": format!("b{n}") }),
    )
    .await;
    let attempt = session["data"]["payment_attempt_id"]
        .as_str()
        .expect("payment_attempt_id");
    let status = client
        .get(format!(
            "{base}/v1/credit-purchases/status?payment_attempt_id={attempt}"
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET status");
    assert_eq!(status.status(), 200);
    status.bytes().await.expect("status body");
    // The client never follows redirects: this one points at Stripe.
    let handoff = client
        .get(format!("{base}/pay/{attempt}"))
        .send()
        .await
        .expect("GET handoff");
    assert_eq!(handoff.status(), 303);
    handoff.bytes().await.expect("handoff body");
}

/// Runs units `from..to` of `work` over `connections` workers.
async fn drive(
    client: &reqwest::Client,
    base: &str,
    work: Work,
    from: u64,
    to: u64,
    connections: u64,
) {
    let next = Arc::new(AtomicU64::new(from));
    let mut workers = Vec::new();
    for _ in 0..connections {
        let client = client.clone();
        let base = base.to_string();
        let next = Arc::clone(&next);
        workers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= to {
                    break;
                }
                match work {
                    Work::Healthz => healthz(&client, &base).await,
                    Work::Checkout => checkout(&client, &base, n).await,
                }
            }
        }));
    }
    for worker in workers {
        worker.await.expect("worker");
    }
}

fn run_once(
    bin: &PathBuf,
    work: Work,
    count: u64,
    connections: u64,
    retain: Option<u64>,
) -> Sample {
    let mock = Mock::start(bin, retain);
    let start = mock.rss();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections as usize)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let started = Instant::now();
    let mut rss = [0; 3];
    let mut done = 0;
    for (i, share) in [10, 50, 100].into_iter().enumerate() {
        let upto = count * share / 100;
        runtime.block_on(drive(
            &client,
            &mock.base_url,
            work,
            done,
            upto,
            connections,
        ));
        done = upto;
        rss[i] = mock.rss();
    }
    Sample {
        start,
        rss,
        secs: started.elapsed().as_secs_f64(),
    }
}

fn median(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    (
        values[values.len() / 2],
        values[0],
        values[values.len() - 1],
    )
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is ignored.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bin = std::env::var_os("CONFORM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/release/conform"));
    if !bin.is_file() {
        eprintln!(
            "mock_memory: {} is missing; build it with `cargo build --release` (or set CONFORM_BIN)",
            bin.display()
        );
        return;
    }
    conform::exec::http::install_tls_provider();
    let healthz_count = env_count("MOCK_BENCH_HEALTHZ", 1_000_000);
    let flows = env_count("MOCK_BENCH_FLOWS", 100_000);
    let repeats = env_count("MOCK_BENCH_REPEATS", 3).max(1);
    let connections = env_count("MOCK_BENCH_CONNECTIONS", 8).max(1);
    let retain = std::env::var("MOCK_BENCH_RETAIN")
        .ok()
        .map(|_| env_count("MOCK_BENCH_RETAIN", 1).max(1));
    println!(
        "mock_memory: {} · {healthz_count} GET /healthz, {flows} checkout flows · {connections} connections · {repeats} interleaved repeats · --retain {}",
        bin.display(),
        retain.map_or("default".to_string(), |n| n.to_string())
    );
    let plan = [(Work::Healthz, healthz_count), (Work::Checkout, flows)];
    let mut samples: Vec<Vec<Sample>> = plan.iter().map(|_| Vec::new()).collect();
    for repeat in 0..repeats {
        for (i, (work, count)) in plan.iter().enumerate() {
            if *count == 0 {
                continue;
            }
            let s = run_once(&bin, *work, *count, connections, retain);
            println!(
                "  #{} {:<8} RSS start {:5.1} MiB · 10% {:6.1} MiB · 50% {:6.1} MiB · 100% {:6.1} MiB · final/10% {:.3} · {:.1} s",
                repeat + 1,
                work.name(),
                s.start as f64 / MIB,
                s.rss[0] as f64 / MIB,
                s.rss[1] as f64 / MIB,
                s.rss[2] as f64 / MIB,
                s.flatness(),
                s.secs
            );
            samples[i].push(s);
        }
    }
    for ((work, count), runs) in plan.iter().zip(&samples) {
        if runs.is_empty() {
            continue;
        }
        let stat = |f: &dyn Fn(&Sample) -> f64| median(runs.iter().map(f).collect());
        let (m0, lo0, hi0) = stat(&|s| s.start as f64 / MIB);
        let (m10, lo10, hi10) = stat(&|s| s.rss[0] as f64 / MIB);
        let (m50, lo50, hi50) = stat(&|s| s.rss[1] as f64 / MIB);
        let (m, lo, hi) = stat(&|s| s.rss[2] as f64 / MIB);
        let (f, flo, fhi) = stat(&|s| s.flatness());
        let (r, rlo, rhi) = stat(&|s| s.over_start());
        let verdict = if m < 64.0 { "under" } else { "OVER" };
        // What each unit after the first 10% left behind (the mock's own
        // state, for checkout flows: agents, quotes, sessions, ledger).
        let (per, plo, phi) =
            stat(&|s| s.rss[2].saturating_sub(s.rss[0]) as f64 / (*count as f64 * 0.9));
        println!(
            "{:<8} ×{count}: RSS median (min–max) start {m0:.1} ({lo0:.1}–{hi0:.1}) · 10% {m10:.1} ({lo10:.1}–{hi10:.1}) · 50% {m50:.1} ({lo50:.1}–{hi50:.1}) · 100% {m:.1} ({lo:.1}–{hi:.1}) MiB · final/10% {f:.3} ({flo:.3}–{fhi:.3}) · final/start {r:.2} ({rlo:.2}–{rhi:.2}) · growth after 10% {per:.0} ({plo:.0}–{phi:.0}) B/unit · {verdict} the 64 MiB goal",
            work.name()
        );
    }
}
