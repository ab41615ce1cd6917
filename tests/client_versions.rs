//! The Python reference client plays each release (`--release V`) and is
//! judged by that release's contract: a client that follows its version's
//! documented flags and defaults passes, on every version; and with
//! `--server-contract` the same client meets an older or newer server.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{conform, temp, text};
use serde_json::Value;

/// Versions whose own docs break an invariant (`contracts check` flags
/// these two, README "Invariants"): there the run fails, and only on
/// invariant results.
const DOCS_BREAK_AN_INVARIANT: &[&str] = &["0.1.7", "0.1.8"];

fn python() -> Option<&'static str> {
    ["python3", "python"].into_iter().find(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn script() -> &'static str {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/reference_client.py"
    )
}

fn known_versions() -> Vec<String> {
    let mut versions = conform::contract::Contract::known_versions();
    versions.sort_by_key(|v| semver::Version::parse(v).expect("semver"));
    versions
}

/// `conform client` on the reference client playing `release`; the JSON
/// report's path comes back with the output.
fn run_client(
    python: &str,
    dir: &Path,
    contract: &str,
    release: &str,
    extra: &[&str],
) -> (std::process::Output, PathBuf) {
    let report = dir.join(format!("{contract}-{release}.json"));
    let report_arg = format!("json={}", report.display());
    let mut args = vec![
        "client",
        "--contract",
        contract,
        "--jobs",
        "4",
        // These tests judge what a release's client does, not how fast: at
        // load 25 a Python start alone passed the default 30 s and the
        // sweep failed releases that pass alone.
        "--step-timeout",
        "120",
        "-q",
        "--report",
        &report_arg,
    ];
    args.extend_from_slice(extra);
    args.extend(["--", python, script(), "--release", release]);
    (conform(&args), report)
}

fn report(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report written")).expect("json")
}

/// One line per failed scenario: its first failed check and who refused,
/// the client itself (`trace_client_local`) or the server.
fn failures(report: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for scenario in report["scenarios"].as_array().into_iter().flatten() {
        if scenario["status"] != "failed" {
            continue;
        }
        let id = format!(
            "{}/{}",
            scenario["suite"].as_str().unwrap_or_default(),
            scenario["scenario"].as_str().unwrap_or_default()
        );
        let step = scenario["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["status"] == "failed");
        let Some(step) = step else {
            out.push(id);
            continue;
        };
        let stdout = step["client"]["stdout_excerpt"]
            .as_str()
            .unwrap_or_default();
        let side = if stdout.contains("trace_client_local") {
            "client refused"
        } else {
            "server answered"
        };
        let error = serde_json::from_str::<Value>(stdout)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
            .unwrap_or_default();
        let check = step["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["passed"] == false)
            .map(|c| {
                format!(
                    "{} {}{}",
                    c["check"].as_str().unwrap_or_default(),
                    c["pointer"].as_str().unwrap_or_default(),
                    c["invariant"]
                        .as_str()
                        .map(|i| format!(" [invariant {i}]"))
                        .unwrap_or_default()
                )
            })
            // A step that never got an answer (a killed or hung client) has no
            // failed check, only its transport error: name that instead.
            .or_else(|| {
                step["transport_error"]
                    .as_str()
                    .map(|e| format!("transport: {e}"))
            })
            .unwrap_or_default();
        out.push(format!(
            "{id}: step `{}`: {check}; {side}: {error}",
            step["name"].as_str().unwrap_or_default()
        ));
    }
    out
}

/// Every failed check of the report carries an invariant id.
fn only_invariants_fail(report: &Value) -> bool {
    report["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["steps"].as_array().into_iter().flatten())
        .flat_map(|s| s["checks"].as_array().into_iter().flatten())
        .filter(|c| c["passed"] == false)
        .all(|c| c["invariant"].is_string())
}

/// For every release 0.1.0 … 0.1.70: the reference client playing V,
/// judged by contract V against the mock of V, exits 0; where V's docs
/// break an invariant it exits 1 on invariant results alone. Releases
/// run three at a time; on an idle 2-core machine the sweep takes a few
/// minutes (the client is a Python process per step).
#[test]
fn reference_client_passes_its_own_release_on_every_version() {
    let Some(python) = python() else {
        common::skip("no python3 on PATH, the Python reference client cannot run");
        return;
    };
    let dir = temp("client_versions_all");
    let versions = known_versions();
    assert!(versions.len() >= 71, "{versions:?}");
    let started = std::time::Instant::now();
    let mut problems = Vec::new();
    for chunk in versions.chunks(3) {
        let runs: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|v| {
                    let dir = dir.clone();
                    s.spawn(move || (v.clone(), run_client(python, &dir, v, v, &[])))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("run thread"))
                .collect()
        });
        for (version, (out, path)) in runs {
            let code = out.status.code();
            if !path.is_file() {
                problems.push(format!(
                    "{version}: exit {code:?}, no report: {}",
                    text(&out.stderr)
                ));
                continue;
            }
            let json = report(&path);
            let breaks = DOCS_BREAK_AN_INVARIANT.contains(&version.as_str());
            let fine = if breaks {
                code == Some(1) && only_invariants_fail(&json)
            } else {
                code == Some(0)
            };
            if !fine {
                let want = if breaks {
                    "exit 1 on invariants only"
                } else {
                    "exit 0"
                };
                problems.push(format!(
                    "{version}: exit {code:?}, want {want}\n    {}",
                    failures(&json).join("\n    ")
                ));
            }
        }
    }
    eprintln!(
        "{} releases in {:.0}s",
        versions.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        problems.is_empty(),
        "{} of {} releases:\n{}",
        problems.len(),
        versions.len(),
        problems.join("\n")
    );
}

/// The version-table sanity the sweep relies on: the client plays what it
/// is told, refusing a quote without --payment-method only from 0.1.29 and
/// `credits fake-purchase` from 0.1.11.
#[test]
fn reference_client_follows_its_release() {
    let Some(python) = python() else {
        common::skip("no python3 on PATH, the Python reference client cannot run");
        return;
    };
    // No server needed: these are refused before any request.
    let refused = |release: &str, args: &[&str]| -> bool {
        let out = Command::new(python)
            .arg(script())
            .args(["--release", release])
            .args(args)
            .env_remove("IMAGE_SKILL_API_BASE_URL")
            .output()
            .expect("client runs");
        let stdout = text(&out.stdout);
        out.status.code() == Some(2) && stdout.contains("INVALID_ARGUMENTS")
    };
    let quote = ["credits", "quote", "--credits", "10", "--json"];
    assert!(!refused("0.1.28", &quote), "0.1.28 has a default rail");
    assert!(
        refused("0.1.29", &quote),
        "0.1.29 requires --payment-method"
    );
    assert!(refused("0.1.70", &quote));
    let fake = ["credits", "fake-purchase", "--quote-id", "q", "--json"];
    assert!(!refused("0.1.10", &fake), "0.1.10 documents fake-purchase");
    assert!(refused("0.1.11", &fake), "0.1.11 dropped it");
    let claim = ["claim", "request", "--contact", "a@example.com", "--json"];
    assert!(refused("0.1.36", &claim));
    assert!(!refused("0.1.37", &claim));
    let buy = ["credits", "buy", "--quote-id", "q", "--json"];
    assert!(!refused("0.1.35", &buy), "--provider defaults to stripe");
    assert!(
        refused("0.1.36", &buy),
        "0.1.36 requires --provider and a key"
    );
}

/// A new client against a stale server, the 0.1.9 CHANGELOG's case: a
/// 0.1.6 server has no handoff redirect (and, unlike 0.1.7, does not
/// document stripped URLs). The 0.1.9 client still prints every Stripe URL
/// whole (invariant kept); the 0.1.8 client against its own release's
/// server, judged by its own contract, breaks the invariant and nothing
/// else — the regression that shipped.
#[test]
fn a_new_client_against_a_stale_server() {
    let Some(python) = python() else {
        common::skip("no python3 on PATH, the Python reference client cannot run");
        return;
    };
    let dir = temp("client_stale_server");
    let filter = [
        "--server-contract",
        "0.1.6",
        "--filter",
        "client-checkout/stripe",
    ];
    let (out, path) = run_client(python, &dir, "0.1.9", "0.1.9", &filter);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("serving contract 0.1.6"), "{stdout}");
    assert!(
        stdout.contains("invariant stripe-fragment: kept"),
        "{stdout}"
    );
    assert_eq!(report(&path)["contract_version"], "0.1.9");

    // Against its own release's server, which documents stripped URLs.
    let filter = [
        "--server-contract",
        "0.1.8",
        "--filter",
        "client-checkout/stripe",
    ];
    let (out, path) = run_client(python, &dir, "0.1.8", "0.1.8", &filter);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("contract 0.1.8: satisfied"), "{stdout}");
    assert!(
        stdout.contains("invariant stripe-fragment: broken"),
        "{stdout}"
    );
    assert!(only_invariants_fail(&report(&path)), "{stdout}");
}

/// An old client against a newer server: the 0.1.9 client's fake-rail
/// purchase, which 0.1.11 removed, fails against a 0.1.70 server (its
/// route is gone), while its Stripe Checkout flow still passes and every
/// invariant holds. Against its own server everything passes.
#[test]
fn an_old_client_against_a_newer_server() {
    let Some(python) = python() else {
        common::skip("no python3 on PATH, the Python reference client cannot run");
        return;
    };
    let dir = temp("client_newer_server");
    let filter = ["--filter", "client-checkout/"];
    let (own, _) = run_client(python, &dir, "0.1.9", "0.1.9", &filter);
    assert_eq!(own.status.code(), Some(0), "{}", text(&own.stdout));

    let newer = [
        "--server-contract",
        "0.1.70",
        "--filter",
        "client-checkout/",
    ];
    let (out, path) = run_client(python, &dir, "0.1.9", "0.1.9", &newer);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let json = report(&path);
    let status = |name: &str| {
        json["scenarios"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["scenario"] == name)
            .map(|s| s["status"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(
        status("fake purchase through the client").as_deref(),
        Some("failed")
    );
    assert_eq!(
        status("stripe checkout through the client keeps fragments").as_deref(),
        Some("passed"),
        "{stdout}"
    );
    for invariant in ["stripe-fragment", "no-spend", "idempotent-charge"] {
        assert!(
            !stdout.contains(&format!("invariant {invariant}: broken")),
            "{stdout}"
        );
    }
}

/// Invariant no-spend through the client: the release that charged dry
/// runs (`--charge-dry-runs`) fails it, tagged; the faithful one keeps it.
/// Invariant idempotent-charge: a client that sends a fresh key on every
/// call (`--fresh-retry-keys`) makes the retried buy a second charge.
#[test]
fn spending_clients_break_the_ledger_invariants() {
    let Some(python) = python() else {
        common::skip("no python3 on PATH, the Python reference client cannot run");
        return;
    };
    let dir = temp("client_ledger_invariants");
    let cases = [
        ("client-reads/dry run", "--charge-dry-runs", "no-spend"),
        (
            "client-payments/a retried buy",
            "--fresh-retry-keys",
            "idempotent-charge",
        ),
    ];
    for (filter, bug, invariant) in cases {
        let (good, _) = run_client(python, &dir, "0.1.9", "0.1.9", &["--filter", filter]);
        let stdout = text(&good.stdout);
        assert_eq!(good.status.code(), Some(0), "{stdout}");
        assert!(
            stdout.contains(&format!("invariant {invariant}: kept")),
            "{stdout}"
        );

        let report_path = dir.join(format!("{invariant}-bug.json"));
        let out = conform(&[
            "client",
            "--filter",
            filter,
            "--report",
            &format!("json={}", report_path.display()),
            "--",
            python,
            script(),
            bug,
        ]);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(
            stdout.contains(&format!("invariant {invariant}: broken")),
            "{stdout}"
        );
        let tagged = report(&report_path)["scenarios"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["steps"].as_array().into_iter().flatten())
            .flat_map(|s| s["checks"].as_array().into_iter().flatten())
            .any(|c| c["passed"] == false && c["invariant"] == invariant);
        assert!(tagged, "{stdout}");
    }
}
