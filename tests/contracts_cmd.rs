//! `conform contracts extract | check | diff`, run as a user runs them.
//!
//! Tests that read the published docs look for `../shared/contracts/<V>/`
//! next to the clone and skip, saying so, when it is absent.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs from the repository root, where `fixtures/` lives.
fn conform(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conform"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("conform runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The published docs of `version`, or `None` (after saying so).
fn docs(version: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../shared/contracts/{version}"));
    if dir.join("cli.md").is_file() && dir.join("llms.txt").is_file() {
        Some(dir)
    } else {
        common::skip(&format!(
            "{} not found (the published docs, kept beside the clone)",
            dir.display()
        ));
        None
    }
}

fn files_under(dir: &Path) -> BTreeSet<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .filter_map(|p| p.strip_prefix(dir).ok().map(Path::to_path_buf))
                .collect()
        })
        .unwrap_or_default()
}

/// A copy of a docs folder whose cli.md `edit` may change.
fn docs_copy(from: &Path, edit: impl FnOnce(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let cli = std::fs::read_to_string(from.join("cli.md")).expect("read cli.md");
    std::fs::write(dir.path().join("cli.md"), edit(cli)).expect("write cli.md");
    std::fs::copy(from.join("llms.txt"), dir.path().join("llms.txt")).expect("copy llms.txt");
    dir
}

/// cli.md with one line of the `credits buy` example changed by `edit`.
fn edit_buy_example(cli: &str, edit: impl Fn(&str) -> Option<String>) -> String {
    let start = cli
        .find("### `image-skill credits buy`")
        .expect("cli.md documents credits buy");
    let mut done = false;
    let mut out = String::with_capacity(cli.len());
    out.push_str(&cli[..start]);
    for line in cli[start..].split_inclusive('\n') {
        if !done && let Some(replacement) = edit(line) {
            out.push_str(&replacement);
            done = true;
        } else {
            out.push_str(line);
        }
    }
    assert!(done, "the credits buy example has the line to edit");
    out
}

// ---------------------------------------------------------------------------
// extract

#[test]
fn extract_reproduces_the_committed_outputs_byte_for_byte() {
    for version in ["0.1.8", "0.1.9"] {
        let Some(docs) = docs(version) else { continue };
        let out = tempfile::tempdir().expect("temp dir");
        let run = conform(&[
            "contracts",
            "extract",
            "--docs",
            &docs.to_string_lossy(),
            "--version",
            version,
            "--out",
            &out.path().to_string_lossy(),
        ]);
        assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
        for folder in ["fixtures", "schemas"] {
            let fresh = out.path().join(folder).join(version).join("generated");
            let committed = root().join(folder).join(version).join("generated");
            let fresh_files = files_under(&fresh);
            assert!(
                !fresh_files.is_empty(),
                "extract wrote nothing to {}",
                fresh.display()
            );
            assert_eq!(
                fresh_files,
                files_under(&committed),
                "{folder}/{version}/generated holds other files than extract makes; rerun `conform contracts extract --docs {} --version {version}`",
                docs.display()
            );
            for file in fresh_files {
                let a = std::fs::read(fresh.join(&file)).expect("fresh file");
                let b = std::fs::read(committed.join(&file)).expect("committed file");
                assert!(
                    a == b,
                    "{folder}/{version}/generated/{} is stale; rerun `conform contracts extract --docs {} --version {version}`",
                    file.display(),
                    docs.display()
                );
            }
        }
    }
}

#[test]
fn the_inventory_lists_every_hosted_endpoint() {
    let path = root().join("schemas/0.1.9/generated/endpoints.json");
    let text = std::fs::read_to_string(&path).expect("inventory is committed");
    let inventory: Value = serde_json::from_str(&text).expect("inventory is JSON");
    let endpoints = inventory["endpoints"].as_array().expect("endpoints list");
    assert_eq!(endpoints.len(), 21, "0.1.9 llms.txt names 21 endpoints");
    let find = |method: &str, path: &str| {
        endpoints
            .iter()
            .find(|e| e["method"] == method && e["path"] == path)
            .unwrap_or_else(|| panic!("{method} {path} missing from the inventory"))
    };
    find("GET", "/v1/models/{MODEL_ID}");
    assert_eq!(find("GET", "/v1/payment-methods")["auth"], "none");
    assert_eq!(find("GET", "/v1/whoami")["auth"], "bearer");
    let quote = find("POST", "/v1/credit-quotes");
    let optional: Vec<(&str, bool)> = quote["request_fields"]
        .as_array()
        .expect("request fields")
        .iter()
        .filter_map(|f| Some((f["name"].as_str()?, f["optional"].as_bool()?)))
        .collect();
    assert!(optional.contains(&("payment_method", true)), "{optional:?}");
    assert!(
        optional.contains(&("idempotency_key", false)),
        "{optional:?}"
    );
}

#[test]
fn generated_fixtures_keep_the_fragment_only_where_the_docs_show_one() {
    let read = |version: &str| -> Value {
        let path = root().join(format!("fixtures/{version}/generated/credits-buy.json"));
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
    };
    let new = read("0.1.9");
    let old = read("0.1.8");
    for pointer in [
        "/checkout_url",
        "/checkout_compact_url",
        "/next/fallback_checkout_url",
    ] {
        let with = new
            .pointer(pointer)
            .and_then(Value::as_str)
            .expect("0.1.9 url");
        let without = old
            .pointer(pointer)
            .and_then(Value::as_str)
            .expect("0.1.8 url");
        assert!(
            with.contains("#fid"),
            "0.1.9 {pointer} lost its fragment: {with}"
        );
        assert!(
            !without.contains('#'),
            "0.1.8 {pointer} gained a fragment: {without}"
        );
        assert_eq!(
            with.split('#').next(),
            Some(without),
            "same URL up to the fragment"
        );
    }
}

#[test]
fn a_truncated_cli_md_is_an_error_naming_file_and_line() {
    let Some(docs) = docs("0.1.9") else { return };
    let copy = docs_copy(&docs, |cli| {
        let cut = cli
            .find("\"checkout_session_id\": \"cs_...\",")
            .expect("buy example");
        cli[..cut].to_string()
    });
    let run = conform(&[
        "contracts",
        "extract",
        "--docs",
        &copy.path().to_string_lossy(),
        "--version",
        "0.1.9",
        "--out",
        &copy.path().to_string_lossy(),
    ]);
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(err.contains("cli.md") && err.contains("line 356"), "{err}");
    assert!(err.contains("never closed"), "{err}");
}

#[test]
fn a_broken_json_example_is_an_error_naming_file_and_line() {
    let Some(docs) = docs("0.1.9") else { return };
    let copy = docs_copy(&docs, |cli| {
        edit_buy_example(&cli, |line| {
            (line.trim() == "\"provider\": \"stripe\",").then(|| line.replacen(',', "", 1))
        })
    });
    let run = conform(&[
        "contracts",
        "check",
        "--docs",
        &copy.path().to_string_lossy(),
        "--version",
        "0.1.9",
    ]);
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(2), "{err}");
    // The missing comma after line 361 shows on the next key, line 362.
    assert!(err.contains("cli.md") && err.contains("line 362"), "{err}");
    assert!(err.contains("image-skill credits buy"), "{err}");
}

// ---------------------------------------------------------------------------
// check

#[test]
fn check_notices_examples_missing_from_a_cut_short_cli_md() {
    let Some(docs) = docs("0.1.9") else { return };
    let copy = docs_copy(&docs, |cli| {
        let cut = cli
            .find("### `image-skill credits fake-purchase`")
            .expect("cli.md documents fake-purchase");
        cli[..cut].to_string()
    });
    let run = conform(&[
        "contracts",
        "check",
        "--docs",
        &copy.path().to_string_lossy(),
        "--version",
        "0.1.9",
    ]);
    let out = stdout(&run);
    assert_eq!(run.status.code(), Some(1), "{out}{}", stderr(&run));
    assert!(
        out.contains("example `credits-fake-purchase` is committed but no longer in the docs"),
        "{out}"
    );
}

#[test]
fn check_passes_on_the_published_docs_and_prints_coverage() {
    let Some(docs) = docs("0.1.9") else { return };
    let run = conform(&[
        "contracts",
        "check",
        "--docs",
        &docs.to_string_lossy(),
        "--version",
        "0.1.9",
    ]);
    let out = stdout(&run);
    assert_eq!(run.status.code(), Some(0), "{out}{}", stderr(&run));
    let coverage = out
        .lines()
        .find(|l| l.starts_with("endpoints "))
        .unwrap_or_else(|| panic!("no coverage line:\n{out}"));
    let shape = regex::Regex::new(r"^endpoints \d+/21, examples \d+/11, scenarios per endpoint: ")
        .expect("regex");
    assert!(shape.is_match(coverage), "{coverage}");
    assert!(out.contains("envelopes 2/2"), "{out}");
}

#[test]
fn check_on_0_1_8_names_the_stripe_fragment_invariant_fields_and_lines() {
    let Some(docs) = docs("0.1.8") else { return };
    let docs = docs.to_string_lossy().into_owned();
    let run = conform(&["contracts", "check", "--docs", &docs, "--version", "0.1.8"]);
    let out = stdout(&run);
    assert_eq!(run.status.code(), Some(1), "{out}{}", stderr(&run));
    assert!(out.contains("BROKEN invariant stripe-fragment"), "{out}");
    for (line, field) in [
        (369, "checkout_compact_url"),
        (370, "checkout_url"),
        (379, "next.fallback_checkout_url"),
    ] {
        let want = format!("cli.md line {line} ({field})");
        assert!(out.contains(&want), "{want} missing:\n{out}");
    }
    // The instruction itself, at the line that gives it.
    assert!(
        out.contains("cli.md line 346 (checkout_compact_url): the prose"),
        "{out}"
    );

    // The version's contract alone is satisfied: it documents the stripping.
    let alone = conform(&[
        "contracts",
        "check",
        "--docs",
        &docs,
        "--version",
        "0.1.8",
        "--no-invariants",
    ]);
    assert_eq!(alone.status.code(), Some(0), "{}", stdout(&alone));
}

#[test]
fn check_on_0_1_9_finds_the_docs_keep_the_fragment() {
    let Some(docs) = docs("0.1.9") else { return };
    let run = conform(&[
        "contracts",
        "check",
        "--docs",
        &docs.to_string_lossy(),
        "--version",
        "0.1.9",
    ]);
    let out = stdout(&run);
    assert_eq!(run.status.code(), Some(0), "{out}");
    assert!(out.contains("ok     invariant stripe-fragment"), "{out}");
}

#[test]
fn check_names_an_example_that_drifted_from_its_schema() {
    let Some(docs) = docs("0.1.9") else { return };
    let copy = docs_copy(&docs, |cli| {
        edit_buy_example(&cli, |line| {
            line.starts_with("  \"checkout_url\"").then(String::new)
        })
    });
    let run = conform(&[
        "contracts",
        "check",
        "--docs",
        &copy.path().to_string_lossy(),
        "--version",
        "0.1.9",
    ]);
    let out = stdout(&run);
    assert_eq!(run.status.code(), Some(1), "{out}{}", stderr(&run));
    let drift = out
        .lines()
        .position(|l| l.contains("DRIFT"))
        .unwrap_or_else(|| panic!("no drift reported:\n{out}"));
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[drift].contains("image-skill credits buy (cli.md line 356)"),
        "{}",
        lines[drift]
    );
    assert!(lines[drift + 1].contains("at /checkout_url"), "{out}");
}

#[test]
fn strict_check_fails_on_coverage_gaps_only() {
    let Some(docs) = docs("0.1.9") else { return };
    let empty = tempfile::tempdir().expect("temp dir");
    let suite = empty.path().join("none.json");
    std::fs::write(&suite, r#"{"suite": "none", "scenarios": [{"name": "health", "steps": [{"name": "get", "request": {"method": "GET", "path": "/healthz", "auth": "none"}}]}]}"#)
        .expect("write suite");
    let args = |strict: bool| {
        let mut args = vec![
            "contracts".to_string(),
            "check".into(),
            "--docs".into(),
            docs.to_string_lossy().into_owned(),
            "--version".into(),
            "0.1.9".into(),
            "--suite".into(),
            suite.to_string_lossy().into_owned(),
        ];
        if strict {
            args.push("--strict".into());
        }
        args
    };
    let loose = Command::new(env!("CARGO_BIN_EXE_conform"))
        .args(args(false))
        .output()
        .expect("runs");
    assert_eq!(
        loose.status.code(),
        Some(0),
        "{}{}",
        stdout(&loose),
        stderr(&loose)
    );
    assert!(stdout(&loose).contains("coverage gaps (not failing without --strict)"));
    let strict = Command::new(env!("CARGO_BIN_EXE_conform"))
        .args(args(true))
        .output()
        .expect("runs");
    assert_eq!(strict.status.code(), Some(1), "{}", stdout(&strict));
}

// ---------------------------------------------------------------------------
// diff

fn diff_json(a: &str, b: &str) -> Value {
    let run = conform(&["contracts", "diff", a, b, "--format", "json"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    serde_json::from_str(&stdout(&run)).expect("diff --format json is JSON")
}

#[test]
fn diff_from_0_1_8_names_every_fragment_field_as_breaking() {
    let report = diff_json("0.1.8", "0.1.9");
    let changes = report["changes"].as_array().expect("changes");
    let expected = [
        ("stripe-checkout-session", "data.checkout_url"),
        ("stripe-checkout-session", "data.checkout_compact_url"),
        ("stripe-checkout-session", "data.next.fallback_checkout_url"),
        (
            "credit-purchase-status",
            "data.payment_attempt.checkout_url",
        ),
        (
            "credit-purchase-status",
            "data.payment_attempt.checkout_compact_url",
        ),
        ("credit-purchase-status", "data.next.fallback_checkout_url"),
    ];
    for (schema, field) in expected {
        let change = changes
            .iter()
            .find(|c| c["schema"] == schema && c["field"] == field && c["aspect"] == "pattern")
            .unwrap_or_else(|| panic!("no pattern change for {schema} {field}"));
        assert_eq!(
            change["summary"], "pattern changed from fragment-stripped to fragment-required",
            "{change}"
        );
        assert_eq!(
            change["servers"]["breaking"], true,
            "a 0.1.8 server now fails: {change}"
        );
        assert_eq!(
            change["clients"]["breaking"], true,
            "a stripping client now fails: {change}"
        );
    }
}

#[test]
fn diff_of_a_version_with_itself_is_empty() {
    let report = diff_json("0.1.9", "0.1.9");
    assert_eq!(report["changes"], Value::Array(Vec::new()), "{report}");
    let console = conform(&[
        "contracts",
        "diff",
        "0.1.9",
        "0.1.9",
        "--fail-on",
        "breaking",
    ]);
    assert_eq!(console.status.code(), Some(0));
    assert!(stdout(&console).starts_with("contracts diff 0.1.9 → 0.1.9: no changes\n"));
}

#[test]
fn fail_on_breaking_sets_the_exit_code() {
    let breaking = conform(&[
        "contracts",
        "diff",
        "0.1.8",
        "0.1.9",
        "--fail-on",
        "breaking",
    ]);
    assert_eq!(breaking.status.code(), Some(1), "{}", stderr(&breaking));
    let informative = conform(&["contracts", "diff", "0.1.8", "0.1.9"]);
    assert_eq!(
        informative.status.code(),
        Some(0),
        "{}",
        stderr(&informative)
    );
}

#[test]
fn diff_needs_two_versions_or_two_docs_folders() {
    let run = conform(&["contracts", "diff", "0.1.8"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("two versions"), "{}", stderr(&run));
    let unknown = conform(&["contracts", "diff", "0.1.8", "9.9.9"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("unknown contract version `9.9.9`"));
}

#[test]
fn diff_of_the_docs_finds_the_fragment_examples() {
    let (Some(a), Some(b)) = (docs("0.1.8"), docs("0.1.9")) else {
        return;
    };
    let run = conform(&[
        "contracts",
        "diff",
        "--docs-a",
        &a.to_string_lossy(),
        "--docs-b",
        &b.to_string_lossy(),
        "--format",
        "json",
        "--fail-on",
        "breaking",
    ]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let report: Value = serde_json::from_str(&stdout(&run)).expect("JSON");
    let fields: BTreeSet<(String, String)> = report["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["summary"] == "example changed from fragment-stripped to fragment-required")
        .filter_map(|c| {
            Some((
                c["schema"].as_str()?.to_string(),
                c["field"].as_str()?.to_string(),
            ))
        })
        .collect();
    for (schema, field) in [
        ("credits-buy", "data.checkout_url"),
        ("credits-buy", "data.checkout_compact_url"),
        ("credits-buy", "data.next.fallback_checkout_url"),
        (
            "credits-status.action-required",
            "data.payment_attempt.checkout_url",
        ),
        (
            "credits-status.action-required",
            "data.payment_attempt.checkout_compact_url",
        ),
    ] {
        assert!(
            fields.contains(&(schema.to_string(), field.to_string())),
            "{schema} {field} not reported: {fields:?}"
        );
    }
}

/// What users read, pinned (tests/common/golden.rs says how to bless).
#[test]
fn diff_output_matches_the_golden_files() {
    for (a, b, format, file) in [
        ("0.1.8", "0.1.9", "console", "0.1.8-0.1.9.txt"),
        ("0.1.8", "0.1.9", "md", "0.1.8-0.1.9.md"),
        ("0.1.8", "0.1.9", "json", "0.1.8-0.1.9.json"),
        // The fake rail and `credits fake-purchase` go; stripe_checkout
        // becomes the default.
        ("0.1.10", "0.1.11", "console", "0.1.10-0.1.11.txt"),
        // `credits quote` requires `--payment-method`.
        ("0.1.28", "0.1.29", "console", "0.1.28-0.1.29.txt"),
    ] {
        let run = conform(&["contracts", "diff", a, b, "--format", format]);
        assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
        if let Err(e) = common::golden::check(&format!("diff/{file}"), &stdout(&run)) {
            panic!("`conform contracts diff {a} {b} --format {format}` changed:\n{e}");
        }
    }
}

#[test]
fn diffs_across_releases_report_rails_commands_and_flags_without_example_noise() {
    let fake = diff_json("0.1.10", "0.1.11");
    let changes = fake["changes"].as_array().expect("changes");
    let breaking_for_clients = |summary: &str| {
        changes
            .iter()
            .any(|c| c["summary"] == summary && c["clients"]["breaking"] == true)
    };
    assert!(
        breaking_for_clients("payment rail `fake` removed"),
        "{fake}"
    );
    assert!(
        breaking_for_clients("CLI command `credits fake-purchase` removed"),
        "{fake}"
    );
    assert!(
        breaking_for_clients("the quote's default rail changed from fake to stripe_checkout"),
        "{fake}"
    );
    let flag = diff_json("0.1.28", "0.1.29");
    let changes_29 = flag["changes"].as_array().expect("changes");
    assert!(
        changes_29.iter().any(
            |c| c["summary"] == "`credits quote` now requires --payment-method"
                && c["clients"]["breaking"] == true
        ),
        "{flag}"
    );
    for c in changes.iter().chain(changes_29) {
        assert_ne!(c["aspect"], "example", "example-value noise: {c}");
    }
}

/// Deleting any diff golden file makes the test above fail.
#[test]
fn removing_a_golden_file_fails() {
    if std::env::var_os("CONFORM_GOLDEN_ROOT").is_some() {
        return; // already inside a rerun
    }
    common::golden::prove_removal_fails(
        &common::golden::owned_by("tests/contracts_cmd.rs"),
        |_| {
            vec![
                "--exact".into(),
                "diff_output_matches_the_golden_files".into(),
            ]
        },
    );
}

/// Every file under `dir` with its bytes, for before/after comparison.
fn snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
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

#[test]
fn a_version_added_from_docs_is_checked_exported_and_run_without_code_changes() {
    let Some(published) = docs("0.1.9") else {
        return;
    };
    // 0.1.9's docs under a new number: behaviour the mock already serves.
    let docs = docs_copy(&published, |cli| cli);
    let root = tempfile::tempdir().expect("temp dir");
    let schemas = root.path().join("schemas");
    let (docs_arg, schemas_arg) = (
        docs.path().to_string_lossy().into_owned(),
        schemas.to_string_lossy().into_owned(),
    );
    let add = [
        "contracts",
        "add",
        "--docs",
        &docs_arg,
        "--version",
        "9.9.9",
        "--extends",
        "0.1.9",
        "--schemas",
        &schemas_arg,
    ];
    let first = conform(&add);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}{}",
        stdout(&first),
        stderr(&first)
    );
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(schemas.join("9.9.9/contract.json")).expect("manifest written"),
    )
    .expect("manifest parses");
    assert_eq!(manifest["extends"], "0.1.9");
    // 0.1.9's docs leave nothing undecided: every example fits 0.1.9.
    assert_eq!(manifest["status"], "derived", "{manifest}");
    assert!(manifest.get("undecided").is_none(), "{manifest}");

    // Idempotent: a second run changes nothing.
    let before = snapshot(&schemas);
    let second = conform(&add);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert_eq!(snapshot(&schemas), before, "second add changed files");

    let check = conform(&[
        "contracts",
        "check",
        "--docs",
        &docs_arg,
        "--version",
        "9.9.9",
        "--schemas",
        &schemas_arg,
    ]);
    let out = stdout(&check);
    assert_eq!(check.status.code(), Some(0), "{out}{}", stderr(&check));
    assert!(out.contains("endpoints 21/21"), "{out}");

    let openapi = conform(&["openapi", "--schemas", &schemas_arg, "--contract", "9.9.9"]);
    assert_eq!(openapi.status.code(), Some(0), "{}", stderr(&openapi));
    let document: Value = serde_json::from_slice(&openapi.stdout).expect("OpenAPI JSON");
    assert_eq!(document["info"]["version"], "9.9.9");
    assert!(document["paths"]["/v1/credit-quotes"]["post"].is_object());

    let run = conform(&[
        "run",
        "--schemas",
        &schemas_arg,
        "--contract",
        "9.9.9",
        "-q",
    ]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}{}",
        stdout(&run),
        stderr(&run)
    );
    assert!(
        stdout(&run).contains("contract 9.9.9: satisfied"),
        "{}",
        stdout(&run)
    );
}
