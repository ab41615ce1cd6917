//! `conform audit` end to end, on synthetic release histories of the Python
//! reference client (tests/clients/make_history.py): a releases folder, the
//! same as `npm pack` tarballs, and a git repository.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::{conform, temp, text};
use serde_json::Value;

/// Generous: the machine is shared; the hanging release costs one of these
/// per scenario.
const STEP_TIMEOUT: &str = "10";

/// The real interpreter behind `python3` (a pyenv shim costs a shell per
/// client run), or `None` to skip visibly.
fn python() -> Option<&'static str> {
    static PY: OnceLock<Option<String>> = OnceLock::new();
    PY.get_or_init(|| {
        let out = Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| text(&out.stdout).trim().to_string())
    })
    .as_deref()
}

fn has(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

macro_rules! need_tools {
    () => {
        match python() {
            Some(py) if has("git") && has("npm") => py,
            _ => {
                common::skip("audit tests need python3, git and npm on PATH");
                return;
            }
        }
    };
}

/// The twelve-release history, built once per test binary.
fn history() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| make_history("audit_history", &[]))
}

fn make_history(name: &str, extra: &[&str]) -> PathBuf {
    let dir = temp(name);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/make_history.py");
    let out = Command::new(python().expect("python3"))
        .arg(&script)
        .arg(dir.join("h"))
        .args(extra)
        .output()
        .expect("make_history.py runs");
    assert!(
        out.status.success(),
        "make_history.py: {}",
        text(&out.stderr)
    );
    dir.join("h")
}

fn suites() -> Vec<String> {
    let root = env!("CARGO_MANIFEST_DIR");
    vec![
        "--suite".into(),
        format!("{root}/suites/client-checkout.json"),
        "--suite".into(),
        format!("{root}/tests/audit/dry-run.json"),
    ]
}

/// `conform audit` over `source` with the shared flags; returns the output
/// and the JSON report.
fn audit(py: &str, source: &[&str], extra: &[&str], name: &str) -> (Output, Value) {
    let dir = temp(name);
    let json = dir.join("audit.json");
    let run = format!("{py} {{entry}}");
    let cache = dir.join("cache");
    let mut args: Vec<String> = vec!["audit".into()];
    args.extend(source.iter().map(|s| s.to_string()));
    args.extend(suites());
    args.extend(
        [
            "--run",
            &run,
            "--step-timeout",
            STEP_TIMEOUT,
            "--jobs",
            "4",
            "--cache",
            &cache.display().to_string(),
            "--report",
            &format!("json={}", json.display()),
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = conform(&args);
    let report = std::fs::read_to_string(&json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    (out, report)
}

fn findings(out: &Output) -> Vec<String> {
    let stdout = text(&out.stdout);
    let mut lines = Vec::new();
    let mut inside = false;
    for line in stdout.lines() {
        if line == "findings:" || line == "compatibility with older servers:" {
            inside = true;
            continue;
        }
        if inside {
            match line.strip_prefix("  ") {
                Some(l) => lines.push(l.to_string()),
                None => inside = false,
            }
        }
    }
    lines
}

/// (release, server, row, state, blame) of every cell: the matrix without
/// the failure texts, which carry per-run ids.
fn matrix(report: &Value) -> Vec<(String, String, String, String, String)> {
    let mut cells: Vec<_> = report["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (s("release"), s("server"), s("row"), s("state"), s("blame"))
        })
        .collect();
    cells.sort();
    cells
}

fn state(report: &Value, release: &str, row: &str) -> String {
    report["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .find(|c| c["release"] == release && c["row"] == row)
        .map(|c| c["state"].as_str().unwrap_or_default().to_string())
        .unwrap_or_else(|| "absent".into())
}

const STRIPE: &str = "scenario client-checkout/stripe checkout through the client keeps fragments";
const DRY: &str = "scenario client-dry-run/dry run spends nothing";

#[test]
fn folder_audit_finds_every_range_and_says_why_releases_could_not_run() {
    let py = need_tools!();
    let releases = history().join("releases").display().to_string();

    let (out, report) = audit(
        py,
        &["--releases", &releases],
        &["--contract", "0.1.9"],
        "audit_folder",
    );
    println!("{}", text(&out.stdout));

    assert_eq!(
        out.status.code(),
        Some(3),
        "a release could not run: exit 3\n{}",
        text(&out.stderr)
    );
    assert_eq!(
        findings(&out),
        [
            format!("{STRIPE}: fails in 1.2.0 – 1.3.0 (last good 1.1.0, fixed in 1.4.0)"),
            format!("{DRY}: fails in 1.5.0 (last good 1.4.0, fixed in 1.6.0)"),
            "invariant stripe-fragment: broken in 1.2.0 – 1.3.0 (last good 1.1.0, fixed in 1.4.0) — broken by the client".to_string(),
            "invariant server-value: broken in 1.2.0 – 1.3.0 (last good 1.1.0, fixed in 1.4.0) — broken by the client".to_string(),
        ]
    );
    let stdout = text(&out.stdout);
    let line = |v: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{v} ")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line("1.8.0").contains("could not run")
            && line("1.8.0").contains("RuntimeError: this release crashes on start"),
        "crash: {}",
        line("1.8.0")
    );
    assert!(
        line("1.9.0").contains("could not run") && line("1.9.0").contains("was killed"),
        "hang: {}",
        line("1.9.0")
    );
    // The rest of the audit completed around them.
    for v in ["1.10.0", "1.11.0"] {
        assert!(line(v).ends_with("pass"), "{}", line(v));
    }
    assert_eq!(
        state(&report, "1.8.0", "invariant:stripe-fragment"),
        "could_not_run"
    );
    assert_eq!(report["releases"].as_array().map(Vec::len), Some(12));
    assert_eq!(report["client_runs"], 12);
}

#[test]
fn git_history_uses_the_last_commit_of_each_version_and_tarballs_match_folders() {
    let py = need_tools!();
    let repo = history().join("git").display().to_string();
    let tgz = history().join("tgz").display().to_string();
    let narrow = [
        "--contract",
        "0.1.9",
        "--range",
        "1.2.0..1.4.0",
        "--filter",
        "stripe checkout",
    ];

    let (git_out, git) = audit(
        py,
        &["--git", &repo, "--entry", "bin/image-skill.py"],
        &narrow,
        "audit_git",
    );
    let (tgz_out, tgz_report) = audit(py, &["--releases", &tgz], &narrow, "audit_tgz");

    // 1.3.0's bump commit crashed; its last commit strips fragments.
    assert_eq!(git_out.status.code(), Some(1), "{}", text(&git_out.stdout));
    assert_eq!(
        findings(&git_out),
        [
            format!("{STRIPE}: fails in 1.2.0 – 1.3.0 (never good before, fixed in 1.4.0)"),
            "invariant stripe-fragment: broken in 1.2.0 – 1.3.0 (never good before, fixed in 1.4.0) — broken by the client".to_string(),
            "invariant server-value: broken in 1.2.0 – 1.3.0 (never good before, fixed in 1.4.0) — broken by the client".to_string(),
        ]
    );
    let origins: Vec<&str> = git["releases"]
        .as_array()
        .expect("releases")
        .iter()
        .map(|r| r["origin"].as_str().unwrap_or_default())
        .collect();
    assert!(
        origins.iter().all(|o| o.starts_with("commit ")),
        "{origins:?}"
    );
    assert_eq!(
        findings(&tgz_out),
        findings(&git_out),
        "{}",
        text(&tgz_out.stdout)
    );
    assert_eq!(matrix(&tgz_report), matrix(&git));
}

#[test]
fn a_release_wrong_only_against_an_older_server_is_found_with_previous_not_with_own() {
    let py = need_tools!();
    let releases = history().join("releases").display().to_string();
    let narrow = [
        "--contract",
        "0.1.9",
        "--range",
        "1.6.0..1.7.0",
        "--filter",
        "stripe checkout",
    ];

    let (own, own_report) = audit(py, &["--releases", &releases], &narrow, "audit_own");
    let mut stale = narrow.to_vec();
    // 0.1.9's three predecessors: 0.1.6 (full URLs, no handoff URL), 0.1.7
    // and 0.1.8 (stripped URLs and the handoff URL, as their docs say),
    // each served by the version-aware mock as that version.
    stale.extend(["--servers", "previous:3"]);
    let (previous, previous_report) =
        audit(py, &["--releases", &releases], &stale, "audit_previous");
    println!("{}", text(&previous.stdout));

    assert_eq!(own.status.code(), Some(0), "{}", text(&own.stdout));
    assert_eq!(findings(&own), Vec::<String>::new());
    assert_eq!(own_report["client_runs"], 2);
    assert_eq!(
        previous.status.code(),
        Some(1),
        "{}",
        text(&previous.stdout)
    );
    let incompatible = |server: &str| {
        format!(
            "{STRIPE} (server {server}): incompatible in 1.6.0 – 1.7.0 (never good before, not fixed) — a contract mismatch with an older server, not a client finding"
        )
    };
    // Against the stripping servers 1.7.0 "repairs" checkout_url from the
    // handoff URL: the client invented a value. Both releases print the
    // stripped URL those servers sent: their fault, not the client's. The
    // 0.1.6 server strips nothing, so nothing is found against it.
    assert_eq!(
        findings(&previous),
        [
            "invariant stripe-fragment (server 0.1.7): broken in 1.6.0 – 1.7.0 (never good before, not fixed) — broken by the server (its answer already broke it)".to_string(),
            "invariant server-value (server 0.1.7): broken in 1.7.0 (last good 1.6.0, not fixed) — broken by the client".to_string(),
            "invariant stripe-fragment (server 0.1.8): broken in 1.6.0 – 1.7.0 (never good before, not fixed) — broken by the server (its answer already broke it)".to_string(),
            "invariant server-value (server 0.1.8): broken in 1.7.0 (last good 1.6.0, not fixed) — broken by the client".to_string(),
            incompatible("0.1.7"),
            incompatible("0.1.8"),
        ],
        "{}",
        text(&previous.stdout)
    );
    for row in [
        "scenario:client-checkout/stripe checkout through the client keeps fragments",
        "invariant:stripe-fragment",
        "invariant:server-value",
    ] {
        for release in ["1.6.0", "1.7.0"] {
            assert_eq!(
                cell(&previous_report, release, "0.1.6", row),
                "pass",
                "{release} × server 0.1.6, {row}"
            );
        }
    }
    assert_eq!(previous_report["client_runs"], 8);
}

fn cell(report: &Value, release: &str, server: &str, row: &str) -> String {
    report["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .find(|c| c["release"] == release && c["server"] == server && c["row"] == row)
        .map(|c| c["state"].as_str().unwrap_or_default().to_string())
        .unwrap_or_else(|| "absent".into())
}

#[test]
fn bisect_finds_the_first_bad_release_in_log2_runs() {
    let py = need_tools!();
    let dir = make_history(
        "audit_bisect_history",
        &[
            "--count",
            "16",
            "--strip-from",
            "11",
            "--no-git",
            "--no-tgz",
        ],
    );
    let releases = dir.join("releases").display().to_string();

    let (out, _) = audit(
        py,
        &["--releases", &releases],
        &[
            "--contract",
            "0.1.9",
            "--filter",
            "stripe checkout",
            "--bisect",
            "stripe-fragment",
        ],
        "audit_bisect",
    );
    let stdout = text(&out.stdout);
    println!("{stdout}");

    let probes = stdout.lines().filter(|l| l.starts_with("probe ")).count();
    assert!(
        probes <= 4 + 1,
        "16 releases: at most ⌈log2 16⌉+1 = 5 runs, took {probes}"
    );
    assert!(
        stdout.contains("verdict: first bad release 1.11.0 (last good 1.10.0)"),
        "{stdout}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn bisect_on_the_synthetic_history_names_the_first_stripping_and_charging_release() {
    let py = need_tools!();
    let releases = history().join("releases").display().to_string();
    for (range, check, first_bad, last_good) in [
        ("1.0.0..1.3.0", "stripe-fragment", "1.2.0", "1.1.0"),
        ("1.0.0..1.5.0", "dry run", "1.5.0", "1.4.0"),
    ] {
        let (out, _) = audit(
            py,
            &["--releases", &releases],
            &["--contract", "0.1.9", "--range", range, "--bisect", check],
            "audit_bisect_synthetic",
        );
        let stdout = text(&out.stdout);
        let n = range_len(range);
        let bound = (n as f64).log2().ceil() as usize + 1;
        let probes = stdout.lines().filter(|l| l.starts_with("probe ")).count();
        assert!(
            probes <= bound,
            "{n} releases: ≤ {bound} runs, took {probes}\n{stdout}"
        );
        assert!(
            stdout.contains(&format!(
                "verdict: first bad release {first_bad} (last good {last_good})"
            )),
            "{stdout}"
        );
    }
}

fn range_len(range: &str) -> usize {
    match range {
        "1.0.0..1.3.0" => 4,
        _ => 6,
    }
}

#[test]
fn four_shards_merged_equal_the_unsharded_audit_and_the_html_opens_in_chromium() {
    let py = need_tools!();
    let releases = history().join("releases").display().to_string();
    let common = ["--contract", "0.1.9", "--filter", "stripe checkout"];

    let (whole, whole_report) = audit(py, &["--releases", &releases], &common, "audit_whole");
    let dir = temp("audit_shards");
    let mut shards = Vec::new();
    for m in 1..=4 {
        let mut extra = common.to_vec();
        let spec = format!("hash:{m}/4");
        extra.extend(["--partition", &spec]);
        let (out, _) = audit(
            py,
            &["--releases", &releases],
            &extra,
            &format!("audit_shard_{m}"),
        );
        assert!(
            matches!(out.status.code(), Some(0 | 1 | 3)),
            "{}",
            text(&out.stderr)
        );
        let json =
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("audit_shard_{m}/audit.json"));
        let kept = dir.join(format!("shard-{m}.json"));
        std::fs::copy(&json, &kept).expect("shard report");
        shards.push(kept.display().to_string());
    }
    let merged_json = dir.join("merged.json");
    let html = dir.join("audit.html");
    let mut args = vec!["report", "merge"];
    args.extend(shards.iter().map(String::as_str));
    let json_spec = format!("json={}", merged_json.display());
    let html_spec = format!("html={}", html.display());
    args.extend(["--report", &json_spec, "--report", &html_spec]);
    let merged = conform(&args);
    let merged_report: Value =
        serde_json::from_str(&std::fs::read_to_string(&merged_json).expect("merged json"))
            .expect("json");

    assert_eq!(merged.status.code(), whole.status.code(), "same exit code");
    assert_eq!(findings(&merged), findings(&whole), "same findings");
    assert!(!findings(&whole).is_empty());
    assert_eq!(matrix(&merged_report), matrix(&whole_report), "same matrix");
    assert_eq!(merged_report["client_runs"], whole_report["client_runs"]);

    browser_check(&html, &merged_report);
}

fn browser_check(html: &Path, report: &Value) {
    let Some(browser) = ["chromium", "chromium-browser"].iter().find_map(|name| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    }) else {
        println!(
            "skipped the browser half: chromium not installed (no `chromium` or `chromium-browser` on PATH)"
        );
        return;
    };
    let page = url::Url::from_file_path(html)
        .expect("absolute")
        .to_string();
    let profile = tempfile::tempdir().expect("profile");
    let base = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ];
    let run = |extra: &[String]| {
        bounded(
            Command::new(&browser)
                .args(base)
                .arg(format!("--user-data-dir={}", profile.path().display()))
                .args(extra)
                .arg(&page),
        )
    };
    let dom = run(&["--dump-dom".to_string()]);
    let dom = text(&dom.stdout);
    let png = html.with_extension("png");
    let shot = run(&[
        format!("--screenshot={}", png.display()),
        "--window-size=1400,900".to_string(),
    ]);
    assert!(shot.status.success(), "chromium --screenshot failed");

    let releases = report["releases"].as_array().map_or(0, Vec::len);
    let rows = report["rows"].as_array().map_or(0, Vec::len);
    assert_eq!(
        dom.matches(r#"<td class="cell "#).count(),
        releases * rows,
        "one cell per release × row on the rendered page"
    );
    let findings_at = dom.find(r#"id="findings""#).expect("findings section");
    let matrix_at = dom.find(r#"id="matrix""#).expect("matrix section");
    assert!(findings_at < matrix_at, "findings come above the matrix");
    assert!(dom.contains("broken in 1.2.0 – 1.3.0 (last good 1.1.0, fixed in 1.4.0)"));
    assert!(dom.contains(r#"data-state="could-not-run""#));
    let bytes = std::fs::read(&png).expect("screenshot");
    assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
    println!("screenshot: {}", png.display());
}

/// Runs a browser with a hard time bound and kills its process group.
fn bounded(cmd: &mut Command) -> Output {
    use std::os::unix::process::CommandExt as _;
    use std::time::{Duration, Instant};
    let out_file = tempfile::NamedTempFile::new().expect("stdout file");
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(out_file.reopen().expect("reopen"))
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .expect("chromium starts");
    let group = child.id() as i32;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(90) {
            // SAFETY: kill(2) on the process group this test created.
            unsafe { libc::kill(-group, libc::SIGKILL) };
            let _ = child.wait();
            panic!("headless chromium did not finish within 90s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // SAFETY: as above; helpers may outlive the browser.
    unsafe { libc::kill(-group, libc::SIGKILL) };
    Output {
        status,
        stdout: std::fs::read(out_file.path()).unwrap_or_default(),
        stderr: Vec::new(),
    }
}

#[test]
fn own_contracts_judge_known_versions_and_say_which_have_none() {
    let py = need_tools!();
    let dir = temp("audit_own_contracts");
    let source = history().join("releases/v1.0.0");
    for version in ["0.1.8", "0.1.9", "1.0.0"] {
        let target = dir.join(format!("r{version}"));
        std::fs::create_dir_all(target.join("bin")).expect("dir");
        std::fs::copy(
            source.join("bin/image-skill.py"),
            target.join("bin/image-skill.py"),
        )
        .expect("copy");
        std::fs::write(target.join("VERSION"), version).expect("VERSION");
    }
    let releases = dir.display().to_string();

    let (out, report) = audit(
        py,
        &["--releases", &releases, "--entry", "bin/image-skill.py"],
        &["--filter", "stripe checkout"],
        "audit_own_run",
    );
    let stdout = text(&out.stdout);
    println!("{stdout}");

    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("1.0.0  ")
            && stdout.contains("could not run: no contract for version 1.0.0"),
        "{stdout}"
    );
    // 0.1.8 is judged by 0.1.8 against a server that strips, as it
    // documented: its contract holds, but the stripe-fragment invariant
    // (on by default) is broken, and by the server, not the client.
    assert_eq!(state(&report, "0.1.8", "invariant:stripe-fragment"), "fail");
    assert!(
        stdout.contains("invariant stripe-fragment: broken in 0.1.8")
            && stdout.contains("broken by the server"),
        "{stdout}"
    );
    assert_eq!(state(&report, "0.1.9", "invariant:stripe-fragment"), "pass");
    let servers: Vec<&str> = report["releases"]
        .as_array()
        .expect("releases")
        .iter()
        .filter_map(|r| r["own_server"].as_str())
        .collect();
    assert_eq!(servers, ["0.1.8", "0.1.9"]);
}

#[test]
fn bad_input_is_exit_2_with_a_reason() {
    for (args, says) in [
        (
            vec!["audit", "--releases", "/nonexistent/releases"],
            "cannot read",
        ),
        (
            vec!["audit", "--releases", ".", "--servers", "9.9.9"],
            "no server version `9.9.9`",
        ),
        (
            vec!["audit", "--releases", ".", "--contract", "9.9.9"],
            "unknown contract version",
        ),
        (
            vec!["audit", "--releases", ".", "--range", "1.0"],
            "invalid --range",
        ),
        (
            vec!["audit", "--releases", ".", "--report", "junit=x.xml"],
            "unknown audit report kind",
        ),
        (vec!["report", "merge", "/nonexistent.json"], "cannot read"),
    ] {
        let out = conform(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

/// `--contract own` for a release whose version conform has no contract
/// for, but which ships its docs: the contract is derived on the fly with
/// `contracts add`'s code, and the release is judged, not "could not run".
#[test]
fn own_contract_is_derived_from_a_release_s_shipped_docs() {
    let py = need_tools!();
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/contracts/0.1.9");
    if !docs.join("cli.md").is_file() {
        common::skip("../shared/contracts/0.1.9 is absent: no docs to derive a contract from");
        return;
    }
    let dir = temp("audit_derived_contract");
    let source = history().join("releases/v1.0.0");
    for (version, ship_docs) in [("9.9.9", true), ("9.9.8", false)] {
        let target = dir.join(format!("r{version}"));
        std::fs::create_dir_all(target.join("bin")).expect("dir");
        std::fs::copy(
            source.join("bin/image-skill.py"),
            target.join("bin/image-skill.py"),
        )
        .expect("copy");
        std::fs::write(target.join("VERSION"), version).expect("VERSION");
        if ship_docs {
            for file in ["cli.md", "llms.txt", "skill.md"] {
                std::fs::copy(docs.join(file), target.join(file)).expect("docs");
            }
        }
    }
    let releases = dir.display().to_string();
    let (out, report) = audit(
        py,
        &["--releases", &releases, "--entry", "bin/image-skill.py"],
        &["--filter", "stripe checkout"],
        "audit_derived_run",
    );
    let stdout = text(&out.stdout);
    println!("{stdout}");
    // 9.9.8 ships no docs: still "no contract"; 9.9.9 is judged.
    assert!(
        stdout.contains("could not run: no contract for version 9.9.8"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("no contract for version 9.9.9"),
        "{stdout}"
    );
    assert_eq!(state(&report, "9.9.9", "invariant:stripe-fragment"), "pass");
}
