//! The figures of README "Performance", printed as text with their ratios:
//! `cargo bench --bench compare`. Sections (pick with CONFORM_BENCH=a,b):
//!
//! - `setup`: what one run pays before its first request;
//! - `suite`: the default suite end to end, process start included: wall
//!   time and peak RSS;
//! - `startup`: `conform run --quiet` on the default suite and `conform
//!   --version` (process start alone), interleaved with the build
//!   CONFORM_BENCH_BASELINE names: medians (min–max) and per-round ratios;
//! - `overhead`: conform running N identical GET /healthz steps against its
//!   mock versus a bare reqwest loop, same process, same mock;
//! - `peer`: the checkout flow N times by conform and by Hurl
//!   (benches/hurl/checkout.hurl) against one `conform mock` process;
//! - `soak`: peak RSS of `--repeat` at 1000 and at 10000 iterations;
//! - `wire`: per-step cost of `conform run --base-url` (status + schema
//!   checks on) versus `wrk -t1 -c1`, a bare socket loop (the floor of
//!   conform's transport) and a bare hyper loop, against a tiny keep-alive server this
//!   bench starts and then a standalone `conform mock`, in the same run;
//!   wall and CPU (user + system) per request, interleaved repetitions;
//! - `instructions`: user-space instructions per step (valgrind's
//!   callgrind), in all and by stage, for this build and the baseline:
//!   a figure a shared, noisy machine does not move;
//! - `stream`: what printing each scenario's line as it finishes (the
//!   console's LiveLines observer) costs: N one-step scenarios with it on
//!   and off (a report to stdout turns it off), interleaved;
//! - `schemathesis`: requests per second and peak RSS, conform's checkout
//!   flow `--repeat` versus Schemathesis (target/interop-venv, see
//!   interop/schemathesis.sh) fuzzing the mock's OpenAPI export;
//! - `versions`: `conform run --contract V` against the embedded mock for
//!   several releases (CONFORM_BENCH_VERSIONS), interleaved with 0.1.9's run,
//!   the baseline: median wall and the ratio to 0.1.9 (goal ≤ 1.5);
//! - `scale`: 10 … 100,000 generated scenarios (suite files of 10,000)
//!   (CONFORM_BENCH_SCALE=10,100,…), JSON and JUnit reports written, all
//!   passing and, interleaved, all failing: wall, ms per scenario, peak
//!   RSS, failing/passing ratios, and the largest/smallest per-scenario cost.
//!
//! Every server is on 127.0.0.1 and started here (a conform mock, or the
//! wire section's tiny server); every child
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
    if on("startup") {
        startup(env_usize("CONFORM_BENCH_RUNS", 10));
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
    if on("wire") {
        wire(env_usize("CONFORM_BENCH_WIRE_STEPS", 4000));
    }
    if on("stream") {
        stream(env_usize("CONFORM_BENCH_STREAM", 10_000));
    }
    if on("instructions") {
        instructions(env_usize("CONFORM_BENCH_INSTR_STEPS", 1000));
    }
    if on("schemathesis") {
        schemathesis(env_usize("CONFORM_BENCH_FLOWS", 500));
    }
    if on("versions") {
        versions(env_usize("CONFORM_BENCH_RUNS", 10));
    }
    if on("scale") {
        scale(&env_sizes(
            "CONFORM_BENCH_SCALE",
            &[10, 100, 1_000, 10_000, 100_000],
        ));
    }
}

fn spread(values: &[f64]) -> String {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match (v.first(), v.get(v.len() / 2), v.last()) {
        (Some(lo), Some(mid), Some(hi)) => format!("{mid:.1} ({lo:.1}–{hi:.1})"),
        _ => "n/a".into(),
    }
}

/// `N` GET /healthz steps in one scenario, each checking status and schema.
fn healthz_steps_suite(n: usize) -> String {
    let steps: Vec<_> = (0..n)
        .map(|i| {
            json!({
                "name": format!("healthz {i}"),
                "request": { "method": "GET", "path": "/healthz", "auth": "none" },
                "expect": { "status": 200, "schema": "healthz" }
            })
        })
        .collect();
    json!({ "suite": "wire", "scenarios": [{ "name": "healthz", "steps": steps }] }).to_string()
}

/// The healthz success envelope, as a conformant server sends it.
const HEALTHZ_BODY: &str = r#"{"ok":true,"command":"healthz","trace_id":"trace_0123456789abcdef","actor":null,"data":{"status":"ok"},"warnings":[],"error":null}"#;

/// A keep-alive HTTP/1.1 server on 127.0.0.1 that answers every request
/// with [`HEALTHZ_BODY`]: the same fixed cost for both clients of the wire
/// bench, and no dependence on the mock's own speed. Its threads end when
/// their client closes or after [`CHILD_BOUND`]; the accept loop after
/// `max_connections`.
fn tiny_server(max_connections: usize) -> String {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{HEALTHZ_BODY}",
        HEALTHZ_BODY.len()
    );
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max_connections) {
            let Ok(mut stream) = stream else { continue };
            let response = response.clone();
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let _ = stream.set_read_timeout(Some(CHILD_BOUND));
                let mut buf = [0u8; 8192];
                let mut held = Vec::new();
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    held.extend_from_slice(&buf[..n]);
                    // One answer per complete request head (no bodies: GETs).
                    while let Some(end) = held.windows(4).position(|w| w == b"\r\n\r\n") {
                        held.drain(..end + 4);
                        if stream.write_all(response.as_bytes()).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

fn wire(steps: usize) {
    println!(
        "\n## wire: one GET /healthz step (status + schema checks) vs `wrk -t1 -c1`, a bare socket loop and a bare hyper loop, same server, same run"
    );
    if Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        println!("  skipped: `wrk` is not installed (apt-get install wrk)");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let small = dir.path().join("small.json");
    let big = dir.path().join("big.json");
    let small_n = steps / 10;
    std::fs::write(&small, healthz_steps_suite(small_n)).expect("suite");
    std::fs::write(&big, healthz_steps_suite(steps)).expect("suite");
    let suites = WireSuites {
        small: &small,
        big: &big,
        per: (steps - small_n) as f64,
    };
    // Another build to compare with in the same rounds (e.g. main's).
    let baseline = std::env::var("CONFORM_BENCH_BASELINE")
        .ok()
        .filter(|b| !b.is_empty());
    let tiny = tiny_server(1_000);
    println!("  against a tiny thread-per-connection server in this bench:");
    wire_against(
        &tiny,
        "isk_r_bench_unused_token",
        &suites,
        baseline.as_deref(),
    );
    // The issue's goal is against the mock as users run it.
    let mock = MockProcess::start();
    println!("  against a standalone `conform mock` (this build), its own process:");
    wire_against(&mock.base_url, &mock.token, &suites, baseline.as_deref());
    drop(mock);
}

struct WireSuites<'a> {
    small: &'a Path,
    big: &'a Path,
    /// Steps in `big` beyond `small`.
    per: f64,
}

/// µs per request: (wall, CPU user + system).
type Cost = (f64, f64);

/// Interleaved rounds of wrk, the bare socket and hyper loops, conform (and the
/// baseline build) against `base_url`; prints wall and CPU per request.
fn wire_against(base_url: &str, token: &str, suites: &WireSuites, baseline: Option<&str>) {
    let run = |binary: &str, suite: &Path| {
        let m = measure(
            Command::new(binary)
                .args(["run", "--quiet", "--jobs", "1", "--base-url", base_url])
                .arg("--suite")
                .arg(suite)
                // No healthz step sends it; a run still wants one.
                .env("IMAGE_SKILL_TOKEN", token),
        );
        assert_eq!(m.code, Some(0), "the healthz suite must pass");
        m
    };
    // The difference of the two sizes removes process start and setup:
    // what is left is per step.
    let per_step = |binary: &str| -> Cost {
        let (a, b) = (run(binary, suites.small), run(binary, suites.big));
        let per = |x: Duration, y: Duration| (y.as_secs_f64() - x.as_secs_f64()) * 1e6 / suites.per;
        (per(a.wall, b.wall), per(a.cpu, b.cpu))
    };
    let url = format!("{base_url}/healthz");
    let out = tempfile::NamedTempFile::new().expect("temp file");
    let wrk = || -> Cost {
        let file = out.reopen().expect("wrk output");
        file.set_len(0).expect("truncate");
        let m = measure_with(
            Command::new("wrk").args(["-t1", "-c1", "-d2s", &url]),
            Stdio::from(file),
        );
        let text = std::fs::read_to_string(out.path()).expect("wrk output");
        let rps: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("Requests/sec:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("wrk prints Requests/sec");
        // "  12345 requests in 2.00s, ..."
        let requests: f64 = text
            .lines()
            .find_map(|l| l.trim().split_once(" requests in "))
            .and_then(|(n, _)| n.trim().parse().ok())
            .expect("wrk prints its request count");
        (1e6 / rps, m.cpu.as_secs_f64() * 1e6 / requests)
    };
    let floor_n = suites.per as usize;
    let (mut ours, mut bare, mut floor, mut base) = (vec![], vec![], vec![], vec![]);
    let mut hyper = vec![];
    // Round 0 warms; then all alternate so the machine's load hits all alike.
    let rounds = env_usize("CONFORM_BENCH_ROUNDS", 6).max(2);
    for round in 0..rounds {
        let w = wrk();
        let f = socket_floor(base_url, floor_n);
        let h = hyper_floor(base_url, floor_n);
        let o = per_step(CONFORM);
        let b = baseline.map(per_step);
        if round > 0 {
            bare.push(w);
            floor.push(f);
            hyper.push(h);
            ours.push(o);
            base.extend(b);
        }
    }
    let wall = |v: &[Cost]| v.iter().map(|c| c.0).collect::<Vec<_>>();
    let cpu = |v: &[Cost]| v.iter().map(|c| c.1).collect::<Vec<_>>();
    let ratio = |a: &[Cost], b: &[Cost], pick: fn(&Cost) -> f64| {
        a.iter()
            .zip(b)
            .map(|(x, y)| pick(x) / pick(y))
            .collect::<Vec<_>>()
    };
    let line = |name: &str, v: &[Cost]| {
        println!(
            "    {name:<34} wall {} µs   CPU {} µs",
            spread(&wall(v)),
            spread(&cpu(v))
        );
    };
    println!(
        "    (per request, median (min–max) of {} interleaved rounds; CPU = user + system from wait4/getrusage)",
        ours.len()
    );
    line("conform run, per step:", &ours);
    if let Some(b) = baseline {
        line(&format!("baseline {}:", short_path(b)), &base);
    }
    line("bare socket loop (floor):", &floor);
    line("bare hyper http1 loop:", &hyper);
    line("wrk -t1 -c1:", &bare);
    let wall_ratio = ratio(&ours, &bare, |c| c.0);
    let mut sorted = wall_ratio.clone();
    sorted.sort_by(f64::total_cmp);
    let med = sorted[sorted.len() / 2];
    println!(
        "    conform/wrk wall {}×   CPU {}×   (target ≤ 1.15× wall: {})",
        spread_fine(&wall_ratio),
        spread_fine(&ratio(&ours, &bare, |c| c.1)),
        verdict(med <= 1.15)
    );
    println!(
        "    floor/wrk   wall {}×   CPU {}×   (the transport stack alone)",
        spread_fine(&ratio(&floor, &bare, |c| c.0)),
        spread_fine(&ratio(&floor, &bare, |c| c.1)),
    );
    println!(
        "    hyper/floor wall {}×   CPU {}×   (hyper's client over the same socket)",
        spread_fine(&ratio(&hyper, &floor, |c| c.0)),
        spread_fine(&ratio(&hyper, &floor, |c| c.1)),
    );
    println!(
        "    conform/floor wall {}×   CPU {}×   (what conform adds: steps, checks, reports)",
        spread_fine(&ratio(&ours, &floor, |c| c.0)),
        spread_fine(&ratio(&ours, &floor, |c| c.1)),
    );
    if baseline.is_some() {
        println!(
            "    baseline/conform wall {}×   CPU {}×",
            spread_fine(&ratio(&base, &ours, |c| c.0)),
            spread_fine(&ratio(&base, &ours, |c| c.1)),
        );
    }
}

fn short_path(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// hyper's HTTP/1 client (conform's plain-http transport before it framed
/// requests itself) over one keep-alive tokio connection, flat writes, a
/// current-thread runtime, sending `n` GET /healthz and reading each body,
/// nothing checked: per request wall and the CPU of the thread doing it.
fn hyper_floor(base_url: &str, n: usize) -> Cost {
    use http_body_util::{BodyExt, Empty};
    let addr = base_url
        .strip_prefix("http://")
        .expect("an http:// base URL")
        .to_string();
    on_own_runtime(move || async move {
        let stream = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
            .writev(false)
            .handshake::<_, Empty<bytes::Bytes>>(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
        let conn = tokio::spawn(conn);
        let get = async || {
            sender.ready().await.expect("connection ready");
            let request = hyper::Request::get("/healthz")
                .header(hyper::header::HOST, addr.as_str())
                .body(Empty::new())
                .expect("request");
            let response = sender.send_request(request).await.expect("response");
            assert_eq!(response.status(), 200);
            let body = response.into_body().collect().await.expect("body");
            assert!(!body.to_bytes().is_empty());
        };
        let cost = timed(n, get).await;
        drop(sender);
        conn.abort();
        cost
    })
}

/// The shape of conform's own plain-http transport (src/exec/plain.rs):
/// one keep-alive tokio socket on a current-thread runtime, each request
/// one write, the answer's head parsed by httparse and its body read by
/// content-length, nothing checked. Per request wall and thread CPU.
fn socket_floor(base_url: &str, n: usize) -> Cost {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base_url
        .strip_prefix("http://")
        .expect("an http:// base URL")
        .to_string();
    on_own_runtime(move || async move {
        let mut stream = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let request = format!(
            "GET /healthz HTTP/1.1\r\nhost: {addr}\r\nuser-agent: floor\r\naccept: */*\r\n\r\n"
        );
        let mut input: Vec<u8> = Vec::with_capacity(8192);
        let get = async || {
            stream.write_all(request.as_bytes()).await.expect("sent");
            input.clear();
            loop {
                stream.read_buf(&mut input).await.expect("read");
                let mut headers = [httparse::EMPTY_HEADER; 32];
                let mut response = httparse::Response::new(&mut headers);
                if let httparse::Status::Complete(head) =
                    response.parse(&input).expect("an HTTP answer")
                {
                    assert_eq!(response.code, Some(200));
                    let length: usize = response
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                        .and_then(|h| std::str::from_utf8(h.value).ok()?.parse().ok())
                        .expect("a content-length");
                    while input.len() < head + length {
                        stream.read_buf(&mut input).await.expect("body");
                    }
                    assert!(length > 0);
                    return;
                }
            }
        };
        timed(n, get).await
    })
}

/// `make`'s future run on a current-thread runtime of a thread of its own,
/// so [`thread_cpu`] counts only the loop it times.
fn on_own_runtime<F: Future<Output = Cost>>(make: impl FnOnce() -> F + Send + 'static) -> Cost {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
            .block_on(make())
    })
    .join()
    .expect("the floor loop")
}

/// `get` (one request, its answer read) 200 times to warm up, then `n`
/// times timed: per request wall and this thread's CPU.
async fn timed(n: usize, mut get: impl AsyncFnMut()) -> Cost {
    for _ in 0..n.min(200) {
        get().await;
    }
    let (cpu0, started) = (thread_cpu(), Instant::now());
    for _ in 0..n {
        get().await;
    }
    let (wall, cpu) = (started.elapsed(), thread_cpu() - cpu0);
    (
        wall.as_secs_f64() * 1e6 / n as f64,
        cpu.as_secs_f64() * 1e6 / n as f64,
    )
}

/// CPU (user + system) of the calling thread so far (Linux RUSAGE_THREAD:
/// the tiny server's threads in this process are not counted).
fn thread_cpu() -> Duration {
    // SAFETY: zeroed is a valid `rusage`; getrusage writes into it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_THREAD on our own thread, into our own local.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    assert_eq!(rc, 0, "getrusage");
    timeval(usage.ru_utime) + timeval(usage.ru_stime)
}

/// Where a step's instructions go: (label, function as callgrind names it).
const STAGES: &[(&str, &str)] = &[
    ("suite load (parse, build)", "conform::suite::load_paths"),
    (
        "steps, all of them",
        "conform::exec::Runner::scenario::{{closure}}",
    ),
    (
        "  transport (send, read)",
        "conform::exec::plain::Pool::send::{{closure}}",
    ),
    (
        "  answer parsed as JSON",
        "conform::exec::http::<impl conform::check::Response>::from_body",
    ),
    (
        "  checks (Registry::run_all)",
        "conform::check::Registry::run_all",
    ),
    ("results kept (spool)", "conform::exec::Results::put"),
    ("malloc + free", "malloc"),
];

/// Instructions per step, in all and by [`STAGES`], of `binary` running
/// one scenario of `steps` healthz steps minus one of `steps / 6`, under
/// callgrind; `None` for a stage callgrind did not name.
fn instructions_per_step(
    binary: &str,
    base_url: &str,
    dir: &Path,
    steps: usize,
) -> Vec<Option<f64>> {
    let small_n = steps / 6;
    let run = |n: usize| -> std::collections::HashMap<String, u64> {
        let suite = dir.join(format!("instr-{n}.json"));
        std::fs::write(&suite, healthz_steps_suite(n)).expect("suite");
        let out = dir.join("callgrind.out");
        let _ = std::fs::remove_file(&out);
        let m = measure(
            Command::new("valgrind")
                .arg("--tool=callgrind")
                .arg(format!("--callgrind-out-file={}", out.display()))
                .arg(binary)
                .args(["run", "--quiet", "--jobs", "1", "--base-url", base_url])
                .arg("--suite")
                .arg(&suite)
                .env("IMAGE_SKILL_TOKEN", "isk_r_bench_unused_token"),
        );
        assert_eq!(
            m.code,
            Some(0),
            "the healthz suite must pass under valgrind"
        );
        let annotated = Command::new("callgrind_annotate")
            .args(["--inclusive=yes", "--threshold=100"])
            .arg(&out)
            .output()
            .expect("callgrind_annotate runs");
        let mut by_name = std::collections::HashMap::new();
        for line in String::from_utf8_lossy(&annotated.stdout).lines() {
            // "  123,456 (12.34%)  file:function [object]"
            let Some((count, rest)) = line.trim_start().split_once(' ') else {
                continue;
            };
            let Ok(count) = count.replace(',', "").parse::<u64>() else {
                continue;
            };
            let name = if rest.contains("PROGRAM TOTALS") {
                "PROGRAM TOTALS"
            } else if rest.contains("malloc.c:malloc ") || rest.contains("malloc.c:free ") {
                "malloc"
            } else if let Some((_, function)) = rest.split_once(':') {
                function.split(" [").next().unwrap_or(function).trim()
            } else {
                continue;
            };
            *by_name.entry(name.to_string()).or_insert(0) += count;
        }
        by_name
    };
    let (small, big) = (run(small_n), run(steps));
    let per = (steps - small_n) as f64;
    std::iter::once("PROGRAM TOTALS")
        .chain(STAGES.iter().map(|(_, f)| *f))
        .map(|name| {
            let (a, b) = (small.get(name)?, big.get(name)?);
            Some((*b as f64 - *a as f64) / per)
        })
        .collect()
}

fn instructions(steps: usize) {
    println!(
        "\n## instructions: user-space instructions per healthz step (valgrind callgrind), {steps} minus {} steps, tiny server",
        steps / 6
    );
    let installed = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    if !installed("valgrind") || !installed("callgrind_annotate") {
        println!("  skipped: valgrind is not installed (apt-get install valgrind)");
        return;
    }
    let baseline = std::env::var("CONFORM_BENCH_BASELINE")
        .ok()
        .filter(|b| !b.is_empty());
    let base_url = tiny_server(1_000);
    let dir = tempfile::tempdir().expect("temp dir");
    // Counted, not timed: one run each is the figure (they differ by
    // well under 1% run to run), so nothing needs interleaving.
    let ours = instructions_per_step(CONFORM, &base_url, dir.path(), steps);
    let base = baseline
        .as_deref()
        .map(|b| instructions_per_step(b, &base_url, dir.path(), steps));
    let show = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.1}k", v / 1000.0));
    let header = match &baseline {
        Some(b) => format!("{:>12} {:>12} {:>8}", "this build", short_path(b), "ratio"),
        None => format!("{:>12}", "this build"),
    };
    println!("    {:<32} {header}", "per step");
    let labels = std::iter::once("all").chain(STAGES.iter().map(|(l, _)| *l));
    for (i, label) in labels.enumerate() {
        let mine = ours[i];
        match &base {
            Some(base) => {
                let ratio = match (base[i], mine) {
                    (Some(b), Some(m)) if m > 0.0 => format!("{:.2}×", b / m),
                    _ => "-".into(),
                };
                println!(
                    "    {label:<32} {:>12} {:>12} {ratio:>8}",
                    show(mine),
                    show(base[i])
                );
            }
            None => println!("    {label:<32} {:>12}", show(mine)),
        }
    }
    if base.is_some() {
        println!("    (ratio: baseline / this build; above 1 this build does less)");
    }
}

fn stream(n: usize) {
    println!(
        "\n## stream: {n} one-step scenarios, each scenario's line printed as it ends (on) or not (off), tiny server"
    );
    let base_url = tiny_server(1_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let suite = dir.path().join("stream.json");
    let scenarios: Vec<_> = (0..n)
        .map(|i| {
            json!({
                "name": format!("healthz {i:06}"),
                "steps": [{
                    "name": "health",
                    "request": { "method": "GET", "path": "/healthz", "auth": "none" },
                    "expect": { "status": 200, "schema": "healthz" }
                }]
            })
        })
        .collect();
    std::fs::write(
        &suite,
        json!({ "suite": "stream", "scenarios": scenarios }).to_string(),
    )
    .expect("suite written");
    let compact = dir.path().join("compact.json");
    // Both write the (tiny, all-passing) compact report; only where it
    // goes differs, and a report to stdout is what turns the lines off.
    let run = |live: bool| {
        let report = if live {
            format!("json-compact={}", compact.display())
        } else {
            "json-compact=-".to_string()
        };
        let m = measure(
            Command::new(CONFORM)
                .args(["run", "--jobs", "1", "--base-url", &base_url, "--suite"])
                .arg(&suite)
                .args(["--report", &report])
                .env("IMAGE_SKILL_TOKEN", "isk_r_bench_unused_token"),
        );
        assert_eq!(m.code, Some(0), "the stream suite must pass");
        ms(m.wall) * 1000.0 / n as f64
    };
    let (mut on, mut off, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let rounds = env_usize("CONFORM_BENCH_ROUNDS", 6).max(2);
    for round in 0..rounds {
        let (a, b) = if round % 2 == 0 {
            let a = run(true);
            (a, run(false))
        } else {
            let b = run(false);
            (run(true), b)
        };
        if round > 0 {
            on.push(a);
            off.push(b);
            ratios.push(a / b);
        }
    }
    println!(
        "  on: {} µs/scenario   off: {} µs/scenario   on/off: {}×   (median (min–max) of {} interleaved rounds, stdout to /dev/null)",
        spread(&on),
        spread(&off),
        spread_fine(&ratios),
        on.len()
    );
}

/// [`spread`] with three decimals, for ratios near 1.
fn spread_fine(values: &[f64]) -> String {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match (v.first(), v.get(v.len() / 2), v.last()) {
        (Some(lo), Some(mid), Some(hi)) => format!("{mid:.3} ({lo:.3}–{hi:.3})"),
        _ => "n/a".into(),
    }
}

const SCHEMATHESIS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/target/interop-venv/bin/schemathesis"
);

fn schemathesis(flows: usize) {
    println!(
        "\n## schemathesis: requests/s and peak RSS, conform --repeat {flows} (checkout flow, 4 requests) vs Schemathesis fuzzing"
    );
    if !Path::new(SCHEMATHESIS).exists() {
        println!(
            "  skipped: no Schemathesis venv at target/interop-venv (interop/schemathesis.sh creates it)"
        );
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let openapi = dir.path().join("openapi.json");
    let exported = Command::new(CONFORM)
        // The mock's own contract (conform's default): a 0.1.9 export
        // against the newest mock had Schemathesis report the version gap.
        .args(["openapi", "--out"])
        .arg(&openapi)
        .status()
        .expect("conform openapi runs");
    assert!(exported.success(), "conform openapi failed");
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/schemathesis.toml");
    let mock = MockProcess::start();
    let (mut ours_rps, mut theirs_rps, mut ours_rss, mut theirs_rss) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let rounds = env_usize("CONFORM_BENCH_ROUNDS", 3).max(1);
    for round in 0..rounds {
        let out_path = dir.path().join(format!("st-{round}.txt"));
        let out = std::fs::File::create(&out_path).expect("output file");
        let st = measure_with(
            Command::new(SCHEMATHESIS)
                .args(["--config-file", config, "run"])
                .arg(&openapi)
                .args(["--url", &mock.base_url])
                .args(["-H", &format!("Authorization: Bearer {}", mock.token)])
                .args(["--max-examples", "10", "--max-redirects", "0"])
                .args(["--generation-database", "none", "--no-color"])
                .args(["--phases", "fuzzing"]),
            Stdio::from(out),
        );
        let text = std::fs::read_to_string(&out_path).unwrap_or_default();
        let cases = schemathesis_cases(&text);
        let Some(cases) = cases else {
            println!(
                "  skipped: Schemathesis printed no case count (exit {:?}); its last lines:",
                st.code
            );
            let lines: Vec<&str> = text.lines().collect();
            for line in &lines[lines.len().saturating_sub(8)..] {
                println!("    {line}");
            }
            return;
        };
        if round == 0 {
            // Exit 1 is Schemathesis reporting what it found, not a failed
            // run: say what, once.
            let found = schemathesis_failures(&text);
            println!(
                "  Schemathesis exit {:?}; {cases} cases a round; what it reported: {}",
                st.code,
                if found.is_empty() {
                    "no failure".to_string()
                } else {
                    found.join("; ")
                }
            );
        }
        let ours = conform_flows(&mock, flows);
        assert_eq!(ours.code, Some(0), "conform run failed");
        theirs_rps.push(cases / st.wall.as_secs_f64());
        theirs_rss.push(st.max_rss_kib as f64 / 1024.0);
        ours_rps.push((flows * 4) as f64 / ours.wall.as_secs_f64());
        ours_rss.push(ours.max_rss_kib as f64 / 1024.0);
    }
    println!(
        "  conform: {} req/s, peak {} MiB   Schemathesis: {} req/s, peak {} MiB   (median (min–max) of {rounds} interleaved rounds)",
        spread(&ours_rps),
        spread(&ours_rss),
        spread(&theirs_rps),
        spread(&theirs_rss)
    );
    let per_round =
        |a: &[f64], b: &[f64]| -> Vec<f64> { a.iter().zip(b).map(|(a, b)| a / b).collect() };
    println!(
        "  conform/Schemathesis: {} × the requests per second, {} × the peak RSS (per-round ratios, median (min–max))",
        spread_fine(&per_round(&ours_rps, &theirs_rps)),
        spread_fine(&per_round(&ours_rss, &theirs_rss)),
    );
    let ours_max = ours_rss.iter().copied().fold(0f64, f64::max);
    println!(
        "  conform peak RSS at --repeat {flows}: {ours_max:.1} MiB at most   (target ≤ 20 MiB: {})",
        verdict(ours_max <= 20.0)
    );
    println!("  (Schemathesis generates and checks random cases; conform replays a fixed flow)");
}

/// The case count of Schemathesis 4's summary, `Test cases:` then
/// `  156 generated, 1 found 1 unique failure, 8 skipped` (one request per
/// case). Matched as "a number, then `generated`": its warnings say
/// "generated" too ("mostly rejected generated data"), which the first
/// version of this parser took for the count and so found none.
fn schemathesis_cases(text: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        let mut words = l.split_whitespace();
        let n: f64 = words.next()?.parse().ok()?;
        words
            .next()
            .is_some_and(|w| w.trim_end_matches(',') == "generated")
            .then_some(n)
    })
}

/// The lines under Schemathesis' `Failures:` heading, e.g. `❌ ST202
/// Schema-valid request rejected: 1`.
fn schemathesis_failures(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| l.trim() != "Failures:")
        .skip(1)
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn env_sizes(name: &str, default: &[usize]) -> Vec<usize> {
    match std::env::var(name) {
        Ok(v) => v.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
        Err(_) => default.to_vec(),
    }
}

/// A suite of `n` scenarios, each a health check then a token-bearing
/// whoami with its schema: the shape of a real suite, cheap to serve.
/// Scenarios per generated suite file: 10,000 make 2.9 MB, well inside
/// the 16 MiB a suite file may have.
const SCALE_FILE_SCENARIOS: usize = 10_000;

/// `n` scenarios as suite files in a new folder `dir/scale-{n}` (or
/// `scale-{n}-failing`, every scenario's second step expecting a status
/// the mock does not send), returned.
fn scale_suites(dir: &Path, n: usize, failing: bool) -> std::path::PathBuf {
    let folder = dir.join(format!(
        "scale-{n}{}",
        if failing { "-failing" } else { "" }
    ));
    std::fs::create_dir_all(&folder).expect("suite folder");
    let mut first = 0;
    while first < n {
        let count = SCALE_FILE_SCENARIOS.min(n - first);
        let file = folder.join(format!("scale-{first:06}.json"));
        std::fs::write(&file, scale_suite(first, count, failing)).expect("suite written");
        first += count;
    }
    folder
}

fn scale_suite(first: usize, n: usize, failing: bool) -> String {
    // The second step fails, so both steps still run: the same requests
    // as the passing suite, with a failed check (and its report entries)
    // in every scenario.
    let whoami_status = if failing { 418 } else { 200 };
    let scenarios: Vec<_> = (first..first + n)
        .map(|i| {
            json!({
                "name": format!("scenario {i:06}"),
                "steps": [
                    {
                        "name": "health",
                        "request": { "method": "GET", "path": "/healthz", "auth": "none" },
                        "expect": { "status": 200, "schema": "healthz" }
                    },
                    {
                        "name": "whoami",
                        "request": { "method": "GET", "path": "/v1/whoami" },
                        "expect": { "status": whoami_status, "schema": "whoami" }
                    }
                ]
            })
        })
        .collect();
    json!({ "suite": format!("scale-{first:06}"), "scenarios": scenarios }).to_string()
}

/// Per-scenario cost figures over one variant's rows.
fn scale_lines(what: &str, rows: &[(usize, Measured)]) {
    let per = |(n, m): &(usize, Measured)| ms(m.wall) / *n as f64;
    // Process start and setup are paid once: the cost each scenario adds
    // past the smallest suite is what linear means.
    if let Some((n0, m0)) = rows.first() {
        let added: Vec<(usize, f64)> = rows
            .iter()
            .filter(|(n, _)| *n >= 1_000 && n > n0)
            .map(|(n, m)| (*n, (ms(m.wall) - ms(m0.wall)) / (n - n0) as f64))
            .collect();
        for (n, cost) in &added {
            println!("  {what} {n:>9}: {cost:.3} ms per scenario past the {n0}-scenario run");
        }
        let (lo, hi) = added
            .iter()
            .fold((f64::MAX, 0f64), |(lo, hi), &(_, v)| (lo.min(v), hi.max(v)));
        if added.len() >= 2 {
            println!(
                "  {what}: added cost per scenario, max/min over sizes ≥ 1000: {:.2}×   (target ≤ 1.5×: {})",
                hi / lo,
                verdict(hi / lo <= 1.5)
            );
        }
    }
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        // Process start dominates a tiny suite, flattering this ratio; the
        // spread over sizes ≥ 100 is the stricter figure.
        let big: Vec<f64> = rows.iter().filter(|(n, _)| *n >= 100).map(per).collect();
        let (lo, hi) = big
            .iter()
            .fold((f64::MAX, 0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let ratio = per(last) / per(first);
        println!(
            "  {what}: per-scenario cost, largest/smallest suite: {ratio:.2}×   (target ≤ 1.5×: {});  max/min over sizes ≥ 100: {:.2}×",
            verdict(ratio <= 1.5),
            if big.len() >= 2 { hi / lo } else { f64::NAN }
        );
    }
    if let Some((n, m)) = rows.last() {
        let mib = m.max_rss_kib as f64 / 1024.0;
        println!(
            "  {what}: peak RSS at {n} scenarios: {mib:.1} MiB   (target < 256 MiB at 100000: {})",
            verdict(mib < 256.0)
        );
    }
}

fn scale(sizes: &[usize]) {
    println!(
        "\n## scale: N scenarios (2 steps each, suite files of 10,000), json + junit reports, against a standalone mock; passing, and every scenario failing (step 2 expects 418); the two interleaved, median of 3 runs each up to 10,000"
    );
    // A mock in its own process: the embedded one's request journal (the
    // mock's own state) would otherwise be counted as conform's memory.
    let mock = MockProcess::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut passing: Vec<(usize, Measured)> = Vec::new();
    let mut failing: Vec<(usize, Measured)> = Vec::new();
    println!(
        "  {:>9} | {:>9} {:>11} {:>10} | {:>9} {:>11} {:>10} | {:>10} {:>9}",
        "scenarios",
        "wall",
        "ms/scenario",
        "peak RSS",
        "failing",
        "ms/scenario",
        "peak RSS",
        "wall f/p",
        "RSS f/p"
    );
    for &n in sizes {
        let suites = [
            scale_suites(dir.path(), n, false),
            scale_suites(dir.path(), n, true),
        ];
        let json_report = dir.path().join(format!("scale-{n}.report.json"));
        let junit_report = dir.path().join(format!("scale-{n}.junit.xml"));
        // A single run of a small suite is mostly process start, which a
        // loaded machine stretches: the median of 3 there.
        let repeats = if n <= 10_000 { 3 } else { 1 };
        let mut runs: [Vec<Measured>; 2] = [Vec::new(), Vec::new()];
        for _ in 0..repeats {
            for (variant, suite) in suites.iter().enumerate() {
                let m = measure(
                    Command::new(CONFORM)
                        .args(["run", "--quiet", "--base-url", &mock.base_url, "--suite"])
                        .arg(suite)
                        .env("IMAGE_SKILL_TOKEN", &mock.token)
                        .arg("--report")
                        .arg(format!("json={}", json_report.display()))
                        .arg("--report")
                        .arg(format!("junit={}", junit_report.display())),
                );
                let (want, what) = if variant == 0 {
                    (0, "pass")
                } else {
                    (1, "fail its checks")
                };
                assert_eq!(m.code, Some(want), "the scale suite of {n} must {what}");
                assert!(
                    json_report.exists() && junit_report.exists(),
                    "reports written"
                );
                let _ = std::fs::remove_file(&json_report);
                let _ = std::fs::remove_file(&junit_report);
                runs[variant].push(m);
            }
        }
        let [mut pass, mut fail] = runs;
        pass.sort_by_key(|m| m.wall);
        fail.sort_by_key(|m| m.wall);
        let p = pass.swap_remove(pass.len() / 2);
        let f = fail.swap_remove(fail.len() / 2);
        let mib = |m: &Measured| m.max_rss_kib as f64 / 1024.0;
        println!(
            "  {n:>9} | {:>7.0}ms {:>11.3} {:>6.1} MiB | {:>7.0}ms {:>11.3} {:>6.1} MiB | {:>9.2}× {:>8.2}×",
            ms(p.wall),
            ms(p.wall) / n as f64,
            mib(&p),
            ms(f.wall),
            ms(f.wall) / n as f64,
            mib(&f),
            ms(f.wall) / ms(p.wall),
            mib(&f) / mib(&p)
        );
        for suite in &suites {
            let _ = std::fs::remove_dir_all(suite);
        }
        passing.push((n, p));
        failing.push((n, f));
    }
    scale_lines("passing", &passing);
    scale_lines("failing", &failing);
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
    /// User + system CPU of the child (and of children it waited for), from
    /// `wait4`: a figure the machine's load disturbs less than wall time.
    cpu: Duration,
    code: Option<i32>,
}

/// Runs `cmd` to the end with stdout and stderr discarded, timing it from
/// spawn to exit. Peak RSS is sampled from /proc rather than taken from
/// `wait4`'s `ru_maxrss`: Linux carries the parent's high-water mark into
/// a child across `exec`, so that figure would be this bench's own size.
fn measure(cmd: &mut Command) -> Measured {
    measure_with(cmd, Stdio::null())
}

/// [`measure`] with stdout sent to `stdout` (a file, for output to parse).
fn measure_with(cmd: &mut Command, stdout: Stdio) -> Measured {
    cmd.stdout(stdout).stderr(Stdio::null());
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
        // SAFETY: zeroed is a valid `rusage` (plain integers).
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: waits for our own child, writing into our own locals.
        let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        let cpu = timeval(usage.ru_utime) + timeval(usage.ru_stime);
        let _ = tx.send((waited, status, Instant::now(), cpu));
    });
    let (waited, status, ended, cpu) = match rx.recv_timeout(CHILD_BOUND) {
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
        cpu,
        code,
    }
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
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
        Contract::embedded("0.1.9").expect("contract loads");
    }
    println!(
        "  load the 0.1.9 contract (schemas compiled on first use): {:8.3} ms",
        ms(started.elapsed() / n)
    );
    let started = Instant::now();
    for _ in 0..n {
        let contract = Contract::embedded("0.1.9").expect("contract loads");
        for name in contract.schema_names() {
            // The first validation compiles it; the verdict does not matter.
            let _ = contract.validate(&name, &serde_json::Value::Null);
        }
    }
    println!(
        "  the same, then every schema compiled (as every run did before): {:8.3} ms",
        ms(started.elapsed() / n)
    );
    let started = Instant::now();
    for _ in 0..n {
        HttpClient::new(Duration::from_secs(30), 10 << 20).expect("client builds");
    }
    println!(
        "  build the HTTP client (TLS on first https):   {:8.3} ms",
        ms(started.elapsed() / n)
    );
    let started = Instant::now();
    for _ in 0..n {
        let format = SuiteFormat::new().expect("suite format");
        conform::suite::load_embedded(&format).expect("built-in suites load");
    }
    println!(
        "  load the built-in suites (format + parse):   {:8.3} ms",
        ms(started.elapsed() / n)
    );
    let rt = runtime();
    let started = Instant::now();
    for _ in 0..n {
        rt.block_on(async {
            let mock = MockServer::start(Profile::Conformant, None)
                .await
                .expect("mock starts");
            drop(mock);
        });
    }
    println!(
        "  start the embedded mock:                      {:8.3} ms",
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

/// What `conform run` costs before and around its steps: the default suite
/// (embedded mock) and `--version` (process start, nothing loaded), each
/// binary in turn per round so load spikes hit both builds alike.
fn startup(runs: usize) {
    println!(
        "\n## startup: `conform run --quiet` (default suite, embedded mock) and `conform --version`, {runs} interleaved rounds"
    );
    let baseline = std::env::var("CONFORM_BENCH_BASELINE")
        .ok()
        .filter(|b| !b.is_empty());
    let binaries: Vec<&str> = std::iter::once(CONFORM)
        .chain(baseline.as_deref())
        .collect();
    let run = |binary: &str| {
        let m = measure(Command::new(binary).args(["run", "--quiet"]));
        assert_eq!(m.code, Some(0), "the default suite must pass ({binary})");
        ms(m.wall)
    };
    let version = |binary: &str| {
        let m = measure(Command::new(binary).arg("--version"));
        assert_eq!(m.code, Some(0), "--version must succeed ({binary})");
        ms(m.wall)
    };
    // One unmeasured round: page cache and dynamic loader warm.
    for b in &binaries {
        run(b);
        version(b);
    }
    let mut walls = vec![Vec::new(); binaries.len()];
    let mut versions = vec![Vec::new(); binaries.len()];
    for _ in 0..runs {
        for (i, b) in binaries.iter().enumerate() {
            walls[i].push(run(b));
            versions[i].push(version(b));
        }
    }
    for (i, b) in binaries.iter().enumerate() {
        println!(
            "  {b}: run {} ms   --version {} ms",
            spread(&walls[i]),
            spread(&versions[i])
        );
    }
    if binaries.len() == 2 {
        let ratios: Vec<f64> = walls[0].iter().zip(&walls[1]).map(|(a, b)| a / b).collect();
        println!(
            "  run, this build / baseline, per round: {}×",
            spread_fine(&ratios)
        );
    }
}

/// Each release's run against the mock it serves, against 0.1.9's (the
/// default before the mock followed the version). Runs interleave so load
/// spikes hit every version alike.
fn versions(runs: usize) {
    let list = std::env::var("CONFORM_BENCH_VERSIONS")
        .unwrap_or_else(|_| "0.1.0,0.1.8,0.1.10,0.1.21,0.1.29,0.1.37,0.1.70".into());
    let list: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    println!(
        "\n## versions: `conform run --contract V` (embedded mock serving V) vs 0.1.9, {runs} interleaved runs"
    );
    let all: Vec<&str> = std::iter::once("0.1.9")
        .chain(list.iter().copied())
        .collect();
    let mut walls: Vec<Vec<f64>> = vec![Vec::new(); all.len()];
    for round in 0..=runs {
        for (i, v) in all.iter().enumerate() {
            let m = measure(Command::new(CONFORM).args(["run", "--quiet", "--contract", v]));
            // 0.1.7 and 0.1.8 document stripped URLs: exit 1 on the invariant.
            assert!(
                matches!(m.code, Some(0 | 1)),
                "contract {v}: exit {:?}",
                m.code
            );
            if round > 0 {
                walls[i].push(ms(m.wall));
            }
        }
    }
    let med = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let base = med(&walls[0]);
    for (v, w) in all.iter().zip(&walls) {
        let ratio = med(w) / base;
        println!(
            "  {v:<8} {} ms   ratio to 0.1.9 {ratio:.2}   (goal ≤ 1.5: {})",
            spread(w),
            verdict(ratio <= 1.5)
        );
    }
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

    // Interleaved rounds so the machine's load hits both alike.
    let rounds = env_usize("CONFORM_BENCH_ROUNDS", 5).max(1);
    let (mut theirs, mut ours, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut their_rss, mut our_rss) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let peer = measure(&mut hurl_command(&mock, n));
        assert_eq!(peer.code, Some(0), "hurl run failed");
        let conform = conform_flows(&mock, n);
        assert_eq!(conform.code, Some(0), "conform run failed");
        theirs.push(ms(peer.wall) / n as f64);
        ours.push(ms(conform.wall) / n as f64);
        ratios.push(peer.wall.as_secs_f64() / conform.wall.as_secs_f64());
        their_rss.push(peer.max_rss_kib as f64 / 1024.0);
        our_rss.push(conform.max_rss_kib as f64 / 1024.0);
    }
    let per_step = |v: &[f64]| v.iter().map(|ms| ms * 250.0).collect::<Vec<_>>();
    println!(
        "  {version}: {} ms/flow, peak RSS {} MiB   (median (min–max) of {rounds} interleaved rounds)",
        spread_fine(&theirs),
        spread(&their_rss)
    );
    println!(
        "  conform --repeat {n}: {} ms/flow, peak RSS {} MiB",
        spread_fine(&ours),
        spread(&our_rss)
    );
    println!(
        "  per step (4 per flow): Hurl {} µs, conform {} µs",
        spread(&per_step(&theirs)),
        spread(&per_step(&ours))
    );
    let mut sorted = ratios.clone();
    sorted.sort_by(f64::total_cmp);
    let med = sorted[sorted.len() / 2];
    println!(
        "  ratio hurl/conform: {} (conform faster when > 1; aim ≥ 2.5×: {})",
        spread_fine(&ratios),
        verdict(med >= 2.5)
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
            "  --base-url (mock in another process), N = {n:>6}: peak RSS {:6.1} MiB, {:.1} s, {:.2} ms/flow   (target ≤ 20 MiB: {})",
            m.max_rss_kib as f64 / 1024.0,
            m.wall.as_secs_f64(),
            ms(m.wall) / n as f64,
            verdict(m.max_rss_kib <= 20 * 1024)
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
