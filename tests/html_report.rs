//! Reports for where results land: the HTML page (checked in a real
//! headless Chromium), the Markdown job summary, GitHub annotations, and
//! the CLI around them (`--format github`, progress, completions, man page,
//! `--version`).
//!
//! Goldens live in `tests/golden/reports/`; after an intended change,
//! `UPDATE_GOLDENS=1 cargo test --test html_report` and review the diff.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use conform::outcome::{
    CheckOutcome, ClientSummary, RequestSummary, ResponseSummary, RunReport, ScenarioOutcome,
    Status, StepOutcome,
};
use conform::redact::Redactor;
use conform::report::{ReportKind, reporter};
use serde_json::json;

use common::outcomes::{run, scenario};

const TOKEN: &str = "isk_r_secret_token_123";
const BASE: &str = "http://127.0.0.1:40123";
const SESSION: &str = "https://checkout.stripe.com/c/pay/cs_test_a1B2c3D4e5F6g7H8";
const FRAGMENT: &str =
    "#fidkdWxOYHwnPyd1blpxYHZxWjA0T2RsNzNGcHRVbUJ1VDB%2FPTFJQHxSMkNNfHZ3XzJoR2dPZlxfaGZnPWxwSTxM";

/// Every Stripe Checkout URL field whose fragment 0.1.8 stripped.
const FRAGMENT_FIELDS: &[&str] = &[
    "/data/checkout_url",
    "/data/checkout_compact_url",
    "/data/next/fallback_checkout_url",
];

// ---- Arrange: runs whose reports are pinned ---------------------------

fn step(index: usize, name: &str, method: &str, path: &str) -> StepOutcome {
    StepOutcome {
        index,
        name: name.to_string(),
        status: Status::Passed,
        duration_ms: 4,
        duration_us: 4_210,
        skipped_because: None,
        request: Some(RequestSummary {
            method: method.to_string(),
            url: format!("{BASE}{path}"),
            headers: vec![("Accept".to_string(), "application/json".to_string())],
            body: None,
        }),
        response: Some(ResponseSummary {
            status: 200,
            location: None,
            body_excerpt: r#"{"data":{}}"#.to_string(),
        }),
        client: None,
        transport_error: None,
        checks: vec![
            CheckOutcome::pass("status", None, "200").with_values(json!(200), None),
            CheckOutcome::pass("envelope", None, "data object"),
        ],
    }
}

fn skipped(index: usize, name: &str) -> StepOutcome {
    StepOutcome {
        index,
        name: name.to_string(),
        status: Status::Skipped,
        duration_ms: 0,
        duration_us: 0,
        skipped_because: Some("step `create checkout session` failed earlier".to_string()),
        request: None,
        response: None,
        client: None,
        transport_error: None,
        checks: vec![],
    }
}

fn catalog() -> ScenarioOutcome {
    scenario(
        "credits-catalog",
        "payment methods catalog",
        12,
        vec![step(
            0,
            "list payment methods",
            "GET",
            "/v1/credit-purchases/payment-methods",
        )],
    )
}

fn passing_run() -> RunReport {
    run(
        "mock:conformant",
        87,
        vec![
            catalog(),
            scenario(
                "checkout-fragments",
                "stripe checkout keeps fragments",
                29,
                vec![step(0, "quote", "POST", "/v1/credit-quotes")],
            ),
        ],
    )
}

/// What 0.1.8 did, in every shape a report has to show: a stripped URL
/// against a described and a captured expectation, a changed and a
/// percent-encoded fragment, a client that printed the stripped URL, a
/// transport error, skipped steps, and a token where it must not show.
fn failing_run() -> RunReport {
    let mut checkout = step(
        1,
        "create checkout session",
        "POST",
        "/v1/credit-purchases/stripe-checkout-sessions",
    );
    checkout.status = Status::Failed;
    checkout.duration_ms = 18;
    checkout.duration_us = 18_377;
    if let Some(req) = &mut checkout.request {
        // Unredacted on purpose: reporters must mask it on their own.
        req.headers
            .push(("Authorization".to_string(), format!("Bearer {TOKEN}")));
        req.body = Some(json!({"quote_id": "quote_1", "api_key": TOKEN}));
    }
    checkout.response = Some(ResponseSummary {
        status: 200,
        location: None,
        body_excerpt: format!(
            "{{\"data\":{{\"checkout_url\":\"{SESSION}\",\"debug_token\":\"{TOKEN}\"}}}}"
        ),
    });
    checkout.checks.extend([
        CheckOutcome::fail(
            "fragment_preserved",
            Some("/data/checkout_url"),
            "the full Stripe Checkout URL, with its non-empty #fragment",
            SESSION,
        )
        .with_note("fragment removed: Stripe Checkout cannot load without it"),
        CheckOutcome::fail(
            "fragment_preserved",
            Some("/data/checkout_compact_url"),
            format!("{SESSION}{FRAGMENT}"),
            SESSION,
        )
        .with_note("fragment removed; the same URL was captured earlier as ${checkout_url}"),
        CheckOutcome::fail(
            "fragment_preserved",
            Some("/data/next/fallback_checkout_url"),
            format!("{SESSION}{FRAGMENT}"),
            format!("{SESSION}#fidOTHER"),
        )
        .with_note("fragment altered"),
    ]);

    let mut client = step(0, "credits buy prints the checkout URL", "", "");
    client.request = None;
    client.response = None;
    client.status = Status::Failed;
    client.client = Some(ClientSummary {
        argv: vec![
            "image-skill".to_string(),
            "credits".to_string(),
            "buy".to_string(),
            "--json".to_string(),
        ],
        exit_code: Some(0),
        stdout_excerpt: format!(
            "{{\"ok\":true,\"data\":{{\"checkout_url\":\"{}\",\"token\":\"{TOKEN}\"}}}}",
            SESSION.replace("cs_test", "cs_live")
        ),
        stderr_excerpt: format!("warning: using token {TOKEN}\n<stderr> & more"),
    });
    client.checks = vec![
        CheckOutcome::pass("exit_code", None, "0"),
        CheckOutcome::fail(
            "stripe_urls_verbatim",
            Some("/data/checkout_url"),
            format!("{SESSION}{FRAGMENT}"),
            format!("{SESSION}%23fidkdWxOYHwnPyd"),
        )
        .with_note("fragment altered"),
    ];

    let mut health = step(0, "service health", "GET", "/v1/health");
    health.status = Status::Failed;
    health.response = None;
    health.checks = vec![];
    health.transport_error = Some(format!(
        "error sending request for url ({BASE}/v1/health): connection refused"
    ));

    run(
        "mock:regressed-0.1.8",
        1213,
        vec![
            catalog(),
            scenario(
                "checkout-fragments",
                "stripe checkout keeps fragments <and> \"quotes\" | pipes",
                31,
                vec![
                    step(0, "quote", "POST", "/v1/credit-quotes"),
                    checkout,
                    skipped(2, "checkout status"),
                ],
            ),
            scenario("client", "buy prints the full URL", 40, vec![client]),
            scenario("service", "health", 1, vec![health, skipped(1, "version")]),
        ],
    )
}

// ---- Golden comparison ------------------------------------------------

fn redactor() -> Redactor {
    Redactor::new([TOKEN.to_string()])
}

fn render(kind: ReportKind, report: &RunReport, redactor: &Redactor) -> String {
    let bytes = reporter(kind, redactor)
        .render(report)
        .unwrap_or_else(|e| panic!("{kind:?} reporter failed: {e}"));
    String::from_utf8(bytes).expect("reports are UTF-8")
}

fn assert_golden(file: &str, actual: &str) {
    common::golden::assert_golden(&format!("reports/{file}"), actual);
}

/// Deleting any golden file these tests compare makes them fail.
#[test]
fn removing_a_golden_file_fails() {
    if std::env::var_os("CONFORM_GOLDEN_ROOT").is_some() {
        return; // already inside a rerun
    }
    common::golden::prove_removal_fails(&common::golden::owned_by("tests/html_report.rs"), |_| {
        vec![
            "golden".into(),
            "--skip".into(),
            "removing_a_golden_file_fails".into(),
        ]
    });
}

#[test]
fn html_golden() {
    assert_golden(
        "failing.html",
        &render(ReportKind::Html, &failing_run(), &redactor()),
    );
}

#[test]
fn markdown_goldens() {
    assert_golden(
        "passing.md",
        &render(ReportKind::Markdown, &passing_run(), &redactor()),
    );
    assert_golden(
        "failing.md",
        &render(ReportKind::Markdown, &failing_run(), &redactor()),
    );
}

#[test]
fn github_golden() {
    assert_golden(
        "failing.github.txt",
        &render(ReportKind::Github, &failing_run(), &redactor()),
    );
    assert_eq!(
        render(ReportKind::Github, &passing_run(), &redactor()),
        "",
        "a passing run has nothing to annotate"
    );
}

// ---- Properties -------------------------------------------------------

#[test]
fn new_reports_do_not_leak_the_api_token() {
    // An empty redactor too: the token is learned from the Authorization header.
    for redactor in [redactor(), Redactor::default()] {
        for kind in [ReportKind::Html, ReportKind::Markdown, ReportKind::Github] {
            let out = render(kind, &failing_run(), &redactor);
            assert!(
                !out.contains(TOKEN),
                "{kind:?} report leaks the API token:\n{out}"
            );
        }
    }
}

#[test]
fn html_escapes_what_the_server_and_client_said() {
    let html = render(ReportKind::Html, &failing_run(), &redactor());
    assert!(!html.contains("<stderr>"), "client stderr is not escaped");
    assert!(html.contains("&lt;stderr&gt; &amp; more"));
    assert!(html.contains("keeps fragments &lt;and&gt; &quot;quotes&quot; | pipes"));
}

#[test]
fn html_is_self_contained() {
    let html = render(ReportKind::Html, &failing_run(), &redactor());
    for fetch in ["<script", "<link", "src=", "@import", "url("] {
        assert!(
            !html.contains(fetch),
            "the page would fetch or run `{fetch}`"
        );
    }
}

#[test]
fn html_marks_the_lost_fragment_in_the_expected_url() {
    let html = render(ReportKind::Html, &failing_run(), &redactor());
    assert!(html.contains(&format!(
        r#"{SESSION}<mark class="fragment" title="the fragment that must be kept">{FRAGMENT}</mark>"#
    )));
    assert!(html.contains("#fragment missing"));
    assert!(html.contains("fragment changed"));
    assert!(html.contains("# percent-encoded as %23: fragment lost"));
}

/// The failure table's rows as a Markdown reader sees them: cell texts.
fn markdown_rows(md: &str) -> Vec<Vec<String>> {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let mut rows = Vec::new();
    let mut row: Vec<String> = Vec::new();
    for event in Parser::new_ext(md, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::TableRow) => row.clear(),
            Event::Start(Tag::TableCell) => row.push(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(cell) = row.last_mut() {
                    cell.push_str(&t);
                }
            }
            Event::InlineHtml(h) | Event::Html(h) => panic!("raw HTML in the summary: {h}"),
            Event::End(TagEnd::TableRow) => rows.push(row.clone()),
            _ => {}
        }
    }
    rows
}

#[test]
fn markdown_failure_table_reads_back_cell_for_cell() {
    let report = failing_run();
    let md = render(ReportKind::Markdown, &report, &redactor());
    let rows = markdown_rows(&md);
    // The counts row, one row per finding, then one row per failed check
    // or transport error.
    assert_eq!(
        rows.len(),
        1 + report.findings.len() + report.summary.checks_failed + report.summary.transport_errors,
        "{md}"
    );
    let findings = &rows[1..=report.findings.len()];
    assert!(findings.iter().all(|r| r.len() == 5), "{rows:?}");
    assert_eq!(
        findings[0][1],
        "Stripe Checkout URL lost its #fragment: checkout_url · 1 scenario"
    );
    let failures = &rows[1 + report.findings.len()..];
    assert!(failures.iter().all(|r| r.len() == 6), "{rows:?}");
    assert_eq!(
        failures[0][0],
        "checkout-fragments/stripe checkout keeps fragments <and> \"quotes\" | pipes",
        "the scenario name survives Markdown and the table"
    );
    assert_eq!(failures[0][3], "/data/checkout_url");
    assert!(
        failures[1][4].contains("#fidkdWxOYHw"),
        "the fragment start stays visible"
    );
}

#[test]
fn github_annotations_are_one_line_per_finding_and_escaped() {
    let report = failing_run();
    let out = render(ReportKind::Github, &report, &redactor());
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), report.findings.len(), "{out}");
    // Important first: GitHub shows only the first few annotations.
    assert!(
        lines[0].contains("title=Stripe Checkout URL lost its #fragment%3A `checkout_url`"),
        "{out}"
    );
    assert!(
        lines.iter().all(|l| l.starts_with("::error file=")),
        "{out}"
    );
    // `|`, `<`, `"` are fine in a message; `%` must be escaped first.
    assert!(
        out.contains("%252FPTFJ"),
        "the % in the fragment is escaped: {out}"
    );
    assert!(out.contains("::service/health step 1 `service health`%0Atransport: expected a response, got error sending request for url (http://127.0.0.1:40123/v1/health)"), "{out}");
}

// ---- End to end: the binary -------------------------------------------

fn conform(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conform"))
        .args(args)
        .env_remove("IMAGE_SKILL_TOKEN")
        .output()
        .expect("conform runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn out_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Runs the 0.1.8 regression with `extra` args plus a JSON report, and
/// returns the output and the parsed report.
fn regressed_run(dir: &Path, extra: &[&str]) -> (Output, serde_json::Value) {
    let json_path = dir.join("report.json");
    let mut args = vec!["run", "--mock", "regressed-0.1.8"];
    args.extend_from_slice(extra);
    let json_arg = format!("json={}", json_path.display());
    args.extend(["--report", &json_arg]);
    let out = conform(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the regressed mock must fail:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let json = std::fs::read_to_string(&json_path).expect("json report written");
    (
        out,
        serde_json::from_str(&json).expect("json report parses"),
    )
}

fn count(json: &serde_json::Value, field: &str) -> u64 {
    json["summary"][field]
        .as_u64()
        .unwrap_or_else(|| panic!("summary.{field} in the JSON report"))
}

#[test]
fn format_github_prints_one_error_line_per_finding() {
    let dir = out_dir("format_github");
    let (out, json) = regressed_run(&dir, &["--format", "github"]);
    let stdout = text(&out.stdout);
    let annotations: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("::error"))
        .collect();
    assert_eq!(
        annotations.len() as u64,
        count(&json, "findings"),
        "one ::error per finding:\n{stdout}"
    );
    for field in FRAGMENT_FIELDS {
        assert!(
            annotations
                .iter()
                .any(|l| l.contains(&format!("at {field}: expected"))),
            "no annotation names {field}:\n{stdout}"
        );
    }
    // The console report is still there, before the annotations.
    assert!(stdout.contains("summary: "), "{stdout}");

    let plain = conform(&["run", "--mock", "regressed-0.1.8"]);
    assert!(!text(&plain.stdout).contains("::error"));
}

#[test]
fn markdown_report_of_a_real_run_names_the_fragment_fields() {
    let dir = out_dir("markdown_run");
    let md = dir.join("summary.md");
    let (_, json) = regressed_run(&dir, &["--report", &format!("markdown={}", md.display())]);
    let md = std::fs::read_to_string(&md).expect("markdown report written");
    assert!(md.starts_with("## conform: failed"), "{md}");
    for field in FRAGMENT_FIELDS {
        assert!(md.contains(&format!("`{field}`")), "{field} missing:\n{md}");
    }
    let checks = md.split("### Failed checks").nth(1).unwrap_or_default();
    let rows = checks
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains(" | `"))
        .count() as u64;
    assert_eq!(rows, count(&json, "checks_failed"), "{md}");
}

#[test]
fn piped_output_never_carries_progress() {
    // A target that accepts connections and never answers: the run lasts
    // past the progress delay, and every byte of it goes into pipes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", silent.local_addr().expect("addr"));
    let started = Instant::now();
    let out = conform(&[
        "run",
        "--base-url",
        &url,
        "--filter",
        "credits-catalog",
        "--step-timeout",
        "1.5",
    ]);
    assert!(
        started.elapsed() > Duration::from_secs(1),
        "the run was too short to test progress"
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let s = text(bytes);
        assert!(
            !s.contains('\r') && !s.contains('\x1b') && !s.contains("running "),
            "progress leaked into {name}:\n{s:?}"
        );
    }
}

#[test]
fn completions_man_page_and_version() {
    let bash = conform(&["completions", "bash"]);
    assert_eq!(bash.status.code(), Some(0), "{}", text(&bash.stderr));
    assert!(text(&bash.stdout).contains("conform"));
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = conform(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("conform"), "{shell}");
    }
    assert_eq!(conform(&["completions", "tcsh"]).status.code(), Some(2));

    let man = conform(&["man"]);
    assert_eq!(man.status.code(), Some(0), "{}", text(&man.stderr));
    let page = text(&man.stdout);
    // clap_mangen opens with roff string setup; the title line follows.
    assert!(
        page.lines().any(|l| l.starts_with(".TH conform 1")),
        "no .TH title line:\n{page}"
    );
    assert!(page.contains("completions"), "subcommands are listed");

    let version = text(&conform(&["--version"]).stdout);
    let known = conform::contract::Contract::known_versions();
    assert_eq!(
        version.trim_end(),
        format!(
            "conform {} (contracts {} … {}, {} versions; default {})",
            env!("CARGO_PKG_VERSION"),
            known[0],
            known[known.len() - 1],
            known.len(),
            conform::cli::DEFAULT_CONTRACT
        )
    );
}

// ---- The HTML report in a real browser ---------------------------------

/// How long Chromium may take before it is killed; it must never hang CI.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);

fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser"].iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Runs headless Chromium on `page` with `extra` flags, stdout into
/// `stdout_file`; kills its whole process group after [`BROWSER_TIMEOUT`].
fn chromium(browser: &Path, extra: &[String], page: &str, stdout_file: &Path) -> ExitStatus {
    use std::os::unix::process::CommandExt as _;
    let profile = tempfile::tempdir().expect("fresh user data dir");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            // Containers often have a tiny /dev/shm; Chromium crashes on it.
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(page)
        .stdin(Stdio::null())
        .stdout(File::create(stdout_file).expect("chromium stdout file"))
        // Chromium is chatty on stderr (dbus, GPU); only the files matter.
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("chromium starts");
    let group = child.id() as i32;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            // SAFETY: kill(2) on the group we created; no memory involved.
            unsafe { libc::kill(-group, libc::SIGKILL) };
            let _ = child.wait();
            panic!("headless chromium did not finish within {BROWSER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Helpers (zygote, GPU) may outlive the browser process.
    // SAFETY: as above.
    unsafe { libc::kill(-group, libc::SIGKILL) };
    status
}

#[test]
fn html_report_of_the_regression_renders_in_headless_chromium() {
    let Some(browser) = find_chromium() else {
        common::skip(
            "chromium not installed (no `chromium` or `chromium-browser` on PATH; .ci/run installs it)",
        );
        return;
    };
    let dir = out_dir("html_in_chromium");
    let html_path = dir.join("out/report.html");
    let (_, json) = regressed_run(
        &dir,
        &["--report", &format!("html={}", html_path.display())],
    );
    let page = url::Url::from_file_path(&html_path)
        .expect("absolute report path")
        .to_string();

    // Act: what a browser makes of the file.
    let dom_path = dir.join("dom.html");
    let status = chromium(&browser, &["--dump-dom".to_string()], &page, &dom_path);
    assert!(status.success(), "chromium --dump-dom failed: {status}");
    let dom = std::fs::read_to_string(&dom_path).expect("dumped DOM");

    let png = dir.join("report.png");
    let status = chromium(
        &browser,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,2000".to_string(),
        ],
        &page,
        &dir.join("screenshot.log"),
    );
    assert!(status.success(), "chromium --screenshot failed: {status}");

    // Assert: the rendered page names every stripped field ...
    assert!(dom.contains("<body>"), "chromium rendered no page:\n{dom}");
    for field in [
        "checkout_url",
        "checkout_compact_url",
        "next/fallback_checkout_url",
    ] {
        assert!(dom.contains(field), "{field} is not on the rendered page");
    }
    for pointer in FRAGMENT_FIELDS {
        assert!(
            dom.contains(&format!(
                r#"data-check="fragment_preserved" data-pointer="{pointer}""#
            )),
            "no fragment_preserved failure for {pointer} on the rendered page"
        );
    }
    assert!(dom.contains("#fragment missing"));
    // ... and shows the counts of the same run's JSON report.
    let checks_failed = count(&json, "checks_failed");
    assert_eq!(
        dom.matches(r#"<div class="check fail""#).count() as u64,
        checks_failed,
        "every failed check is on the page"
    );
    for (id, n) in [
        ("count-checks-failed", checks_failed),
        ("count-failed", count(&json, "failed")),
        ("count-passed", count(&json, "passed")),
        ("count-scenarios", count(&json, "scenarios")),
    ] {
        assert!(
            dom.contains(&format!(r#"id="{id}" data-count="{n}""#)),
            "summary bar does not show {id} = {n}"
        );
    }

    let shot = std::fs::read(&png).expect("screenshot written");
    assert!(
        shot.starts_with(b"\x89PNG\r\n\x1a\n"),
        "screenshot is not a PNG"
    );
    assert!(
        shot.len() > 20_000,
        "screenshot is only {} bytes: a blank page?",
        shot.len()
    );
    println!("screenshot: {}", png.display());
}
