//! The shipped history: every published release 0.1.0 … 0.1.70 is a
//! contract version. Its docs (in `../shared/contracts/`, when present)
//! check clean against it, `contracts add` reproduces it, its OpenAPI
//! export is valid and holds exactly its endpoints, and `contracts list`
//! names it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use conform::contract::Contract;
use serde_json::Value;

/// Releases whose own docs break the stripe-fragment invariant, with a
/// docs line each finding must name.
const FLAGGED: [(&str, &[&str]); 2] = [
    (
        "0.1.7",
        &["cli.md line 347", "llms.txt line 72", "llms.txt line 125"],
    ),
    (
        "0.1.8",
        &[
            "cli.md line 369 (checkout_compact_url)",
            "cli.md line 370 (checkout_url)",
            "cli.md line 379 (next.fallback_checkout_url)",
            "cli.md line 341",
            "cli.md line 346",
        ],
    ),
];

fn conform(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conform"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("conform runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Straight to stderr, past the test harness's capture, so a plain
/// `cargo test` shows why a test did nothing.
fn skip(reason: &str) {
    let _ = writeln!(std::io::stderr(), "skipped: {reason}");
}

fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/contracts");
    if dir.join("RELEASES.txt").is_file() {
        Some(dir)
    } else {
        skip(&format!(
            "{} not found (the published docs of the 71 releases)",
            dir.display()
        ));
        None
    }
}

/// The committed versions, in release order.
fn versions() -> Vec<String> {
    Contract::known_versions()
}

fn manifest(version: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(version)
        .join("contract.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("contract.json")).expect("JSON")
}

/// Runs `job` over `items` on a few threads; results in input order.
fn parallel<T: Sync, R: Send>(items: &[T], job: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let chunk = items.len().div_ceil(4).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(|| part.iter().map(&job).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    })
}

#[test]
fn all_71_releases_ship_with_date_commit_base_status_and_summary() {
    let versions = versions();
    assert_eq!(versions.len(), 71, "{versions:?}");
    assert_eq!(versions.first().map(String::as_str), Some("0.1.0"));
    assert_eq!(versions.last().map(String::as_str), Some("0.1.70"));
    for v in &versions {
        let m = manifest(v);
        for key in ["release_date", "docs_commit", "status", "summary"] {
            assert!(
                m[key].as_str().is_some_and(|s| !s.is_empty()),
                "{v}: {key} in {m}"
            );
        }
        if v != "0.1.8" {
            assert!(m["extends"].is_string(), "{v} extends nothing: {m}");
        }
    }
    // The default contract stays 0.1.9 until the version-aware mock lands.
    let run = conform(&["contracts", "list"]);
    assert!(stdout(&run).contains("0.1.9"), "{}", stdout(&run));
}

#[test]
fn every_release_docs_check_clean_except_where_they_break_an_invariant() {
    let Some(shared) = shared() else { return };
    let versions = versions();
    let results = parallel(&versions, |v| {
        let docs = shared.join(v);
        let out = conform(&[
            "contracts",
            "check",
            "--docs",
            &docs.to_string_lossy(),
            "--version",
            v,
        ]);
        (v.clone(), out.status.code(), stdout(&out))
    });
    let flagged: BTreeMap<&str, &[&str]> = FLAGGED.into_iter().collect();
    for (v, code, out) in results {
        // Every endpoint and every example has a schema; nothing drifted.
        assert!(!out.contains("no schema"), "{v}: a gap\n{out}");
        assert!(out.contains(" agree with the docs"), "{v}: drift\n{out}");
        let (endpoints, examples) = totals(&out);
        // Endpoints the suites have no scenario for yet (the mock does not
        // serve them): the only coverage gaps allowed.
        let unexercised: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with("  gap "))
            .map(|l| {
                assert!(l.ends_with("no scenario"), "{v}: {l}");
                l.split_whitespace().nth(2).unwrap_or_default()
            })
            .collect();
        let allowed = [
            "/v1/credit-purchases/stripe-x402-deposits",
            "/v1/agent-claims",
        ];
        assert!(
            unexercised.iter().all(|p| allowed.contains(p)),
            "{v}: {unexercised:?}"
        );
        assert_eq!(
            endpoints.0 + unexercised.len() as u32,
            endpoints.1,
            "{v}: {out}"
        );
        assert!(endpoints.1 > 0, "{v}: {out}");
        assert!(examples.0 == examples.1 && examples.1 > 0, "{v}: {out}");
        match flagged.get(v.as_str()) {
            Some(lines) => {
                assert_eq!(code, Some(1), "{v} should break stripe-fragment\n{out}");
                assert!(
                    out.contains("BROKEN invariant stripe-fragment"),
                    "{v}\n{out}"
                );
                for line in *lines {
                    assert!(out.contains(line), "{v}: {line} not named\n{out}");
                }
            }
            None => assert_eq!(code, Some(0), "{v}\n{out}"),
        }
    }
}

/// (covered, total) of `endpoints a/b, examples c/d`.
fn totals(out: &str) -> ((u32, u32), (u32, u32)) {
    let pair = |key: &str| -> (u32, u32) {
        let Some(rest) = out.split(key).nth(1) else {
            return (0, 0);
        };
        let word = rest
            .split([',', ' ', '\n'])
            .find(|w| !w.is_empty())
            .unwrap_or("");
        let (a, b) = word.split_once('/').unwrap_or(("0", "0"));
        (a.parse().unwrap_or(0), b.parse().unwrap_or(0))
    };
    (pair("endpoints "), pair("examples "))
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(path.clone(), std::fs::read(&path).expect("read"));
            }
        }
    }
    out
}

fn copy_tree(from: &Path, to: &Path) {
    for (path, bytes) in snapshot(from) {
        let rel = path.strip_prefix(from).expect("under");
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        std::fs::write(dest, bytes).expect("write");
    }
}

#[test]
fn contracts_add_reproduces_committed_releases_byte_for_byte() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().expect("temp dir");
    let schemas = tmp.path().join("schemas");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas"),
        &schemas,
    );
    let before = snapshot(&schemas);
    // Every shipped release but the root, in release order, as they were
    // made: the hand-curated 0.1.9 and the curated files of 0.1.7 and
    // 0.1.37 included.
    let mut versions: Vec<String> = Contract::known_versions()
        .into_iter()
        .filter(|v| manifest(v)["extends"].is_string())
        .collect();
    conform::contract::source::sort_versions(&mut versions);
    assert!(versions.len() >= 70, "{versions:?}");
    for v in &versions {
        let v = v.as_str();
        let base = manifest(v)["extends"]
            .as_str()
            .expect("extends")
            .to_string();
        let out = conform(&[
            "contracts",
            "add",
            "--docs",
            &shared.join(v).to_string_lossy(),
            "--version",
            v,
            "--extends",
            &base,
            "--schemas",
            &schemas.to_string_lossy(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{v}: {}", stdout(&out));
    }
    let after = snapshot(&schemas);
    let changed: Vec<&PathBuf> = before
        .keys()
        .chain(after.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|p| before.get(*p) != after.get(*p))
        .collect();
    assert!(changed.is_empty(), "contracts add changed {changed:?}");
}

#[test]
fn payment_facts_follow_the_releases() {
    let api = |v: &str| Contract::embedded(v).expect("loads").api().clone();
    let rails = |v: &str| api(v).payment_rails.expect("rails");
    assert_eq!(rails("0.1.10").quote_default.as_deref(), Some("fake"));
    assert!(rails("0.1.10").rails.contains(&"fake".to_string()));
    assert_eq!(
        rails("0.1.11").quote_default.as_deref(),
        Some("stripe_checkout")
    );
    assert_eq!(rails("0.1.11").rails, vec!["stripe_checkout".to_string()]);
    assert!(
        api("0.1.10")
            .commands
            .iter()
            .any(|c| c.argv == "credits fake-purchase")
    );
    assert!(
        !api("0.1.11")
            .commands
            .iter()
            .any(|c| c.argv == "credits fake-purchase")
    );
    let quote_flags = |v: &str| {
        api(v)
            .commands
            .into_iter()
            .find(|c| c.argv == "credits quote")
            .expect("credits quote")
            .required_flags
    };
    assert!(!quote_flags("0.1.28").contains(&"--payment-method".to_string()));
    assert!(quote_flags("0.1.29").contains(&"--payment-method".to_string()));
    // The CLI flag is the CLI's rule; the API keeps 0.1.11's default.
    assert_eq!(
        rails("0.1.29").quote_default.as_deref(),
        Some("stripe_checkout")
    );
    assert_eq!(
        rails("0.1.70").quote_default.as_deref(),
        Some("stripe_checkout")
    );
    // commands.json (0.1.37 on): surface, mutation, spend, subcommands.
    let credits = api("0.1.37")
        .commands
        .into_iter()
        .find(|c| c.argv == "credits")
        .expect("credits group");
    assert_eq!(credits.surface.as_deref(), Some("hosted_cli"));
    assert_eq!(credits.spend, Some(true));
    assert!(credits.subcommands.contains(&"quote".to_string()));
}

#[test]
fn openapi_of_every_release_is_valid_3_1_with_exactly_its_endpoints() {
    let versions = versions();
    let problems = parallel(&versions, |v| {
        let contract = Contract::embedded(v).expect("loads");
        let document = conform::openapi::document(&contract)
            .unwrap_or_else(|e| panic!("openapi --contract {v}: {e}"));
        let text = serde_json::to_string(&document).expect("JSON");
        let spec = oas3::from_json(&text).unwrap_or_else(|e| panic!("{v}: not OpenAPI 3.1: {e}"));
        assert!(spec.openapi.starts_with("3.1"), "{v}: {}", spec.openapi);
        let mut exported = BTreeSet::new();
        for (path, item) in document["paths"].as_object().expect("paths") {
            for method in ["get", "post", "put", "patch", "delete"] {
                if item.get(method).is_some() {
                    exported.insert(format!("{} {path}", method.to_uppercase()));
                }
            }
        }
        let model: BTreeSet<String> = contract.api().endpoints.iter().map(|e| e.id()).collect();
        (exported != model).then(|| format!("{v}: exported {exported:?}, model {model:?}"))
    });
    let problems: Vec<String> = problems.into_iter().flatten().collect();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn contracts_list_prints_each_version_date_and_summary() {
    let out = stdout(&conform(&["contracts", "list"]));
    let lines: Vec<&str> = out.lines().collect();
    let versions = versions();
    assert_eq!(lines.len(), versions.len(), "{out}");
    for (line, v) in lines.iter().zip(&versions) {
        let m = manifest(v);
        assert!(line.starts_with(&format!("{v} ")), "{line}");
        for key in ["release_date", "summary"] {
            let value = m[key].as_str().expect(key);
            assert!(line.contains(value), "{v}: {key} `{value}` not in `{line}`");
        }
    }
}
