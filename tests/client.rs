//! Client mode end to end: conform runs a client under test against its mock
//! and catches a client that strips Stripe URL fragments, as 0.1.8 did.

mod common;

use std::process::Command;

use common::{conform, temp, text};

/// `cargo test` builds the examples next to the test binaries.
fn reference_client() -> String {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let path = dir
        .join("examples")
        .join(format!("reference_client{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} missing: run `cargo build --examples`",
        path.display()
    );
    path.display().to_string()
}

/// Failed checks of a JSON report: (check, pointer, expected, actual, note).
fn failed_checks(report: &std::path::Path) -> Vec<(String, String, String, String, String)> {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).expect("report")).expect("json");
    let mut out = Vec::new();
    for scenario in json["scenarios"].as_array().into_iter().flatten() {
        for step in scenario["steps"].as_array().into_iter().flatten() {
            for check in step["checks"].as_array().into_iter().flatten() {
                if check["passed"] == false {
                    let s = |k: &str| check[k].as_str().unwrap_or_default().to_string();
                    out.push((
                        s("check"),
                        s("pointer"),
                        s("expected"),
                        s("actual"),
                        s("note"),
                    ));
                }
            }
        }
    }
    out
}

fn field(pointer: &str) -> &str {
    pointer.rsplit('/').next().unwrap_or(pointer)
}

#[test]
fn faithful_client_passes() {
    let run = conform(&["client", "--contract", "0.1.9", "--", &reference_client()]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}{}",
        text(&run.stdout),
        text(&run.stderr)
    );
    assert!(text(&run.stdout).contains("PASS  client-checkout/stripe checkout"));
}

#[test]
fn fragment_stripping_client_fails_on_exactly_the_three_fields() {
    let report = temp("stripping_client").join("report.json");
    let run = conform(&[
        "client",
        "--contract",
        "0.1.9",
        "--report",
        &format!("json={}", report.display()),
        "--",
        &reference_client(),
        "--strip-fragments",
    ]);
    let out = text(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{out}");

    let failed = failed_checks(&report);
    let preserved: Vec<_> = failed
        .iter()
        .filter(|c| c.0 == "server_value_preserved")
        .collect();
    let pointers: Vec<&str> = preserved.iter().map(|c| c.1.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/data/checkout_url",
            "/data/checkout_compact_url",
            "/data/next/fallback_checkout_url"
        ],
        "the client altered exactly these server values"
    );
    for (_, pointer, expected, actual, note) in &preserved {
        assert!(
            expected.starts_with(actual.as_str()) && expected[actual.len()..].starts_with('#'),
            "{pointer}: server {expected} vs client {actual}"
        );
        assert!(note.contains("fragment removed"), "{pointer}: {note}");
    }
    // Every other altered URL the client printed is caught too, and only
    // these three field names ever differ from what the server sent.
    let mut fields: Vec<&str> = failed
        .iter()
        .filter(|c| c.0 == "server_value_preserved" || c.0 == "stripe_urls_verbatim")
        .map(|c| field(&c.1))
        .collect();
    fields.sort_unstable();
    fields.dedup();
    assert_eq!(
        fields,
        [
            "checkout_compact_url",
            "checkout_url",
            "fallback_checkout_url"
        ]
    );
    // The console shows both values and names the difference.
    assert!(
        out.contains("server_value_preserved at /data/next/fallback_checkout_url"),
        "{out}"
    );
    assert!(
        out.contains("client changed the server's value: fragment removed"),
        "{out}"
    );
}

#[test]
fn client_in_another_language_is_tested_the_same_way() {
    let python = ["python3", "python"].into_iter().find(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(python) = python else {
        common::skip("no python3 on PATH, the Python reference client cannot run");
        return;
    };
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/reference_client.py"
    );
    let run = conform(&["client", "--contract", "0.1.9", "--", python, script]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stdout));
    let run = conform(&[
        "client",
        "--contract",
        "0.1.9",
        "--",
        python,
        script,
        "--strip-fragments",
    ]);
    let out = text(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{out}");
    assert!(
        out.contains("server_value_preserved at /data/checkout_url"),
        "{out}"
    );
}

#[test]
fn hung_client_is_killed_and_the_run_exits_3() {
    let dir = temp("hung_client");
    let report = dir.join("report.json");
    let started = std::time::Instant::now();
    let run = conform(&[
        "client",
        "--step-timeout",
        "1",
        "--filter",
        "client-errors/missing token",
        "--report",
        &format!("json={}", report.display()),
        "--",
        "sh",
        "-c",
        "echo started >&2; sleep 30",
        "sh",
    ]);
    let out = text(&run.stdout);
    assert_eq!(run.status.code(), Some(3), "{out}");
    assert!(out.contains("did not finish within 1s"), "{out}");
    assert!(
        started.elapsed().as_secs() < 20,
        "the client must be killed, not waited for"
    );
    let json = std::fs::read_to_string(&report).expect("report written");
    assert!(json.contains("killed"), "{json}");
}

#[test]
fn client_sees_only_the_mock_and_a_fresh_home() {
    let dir = temp("client_env");
    let suite = dir.join("env.json");
    std::fs::write(
        &suite,
        r#"{"suite":"env","scenarios":[{"name":"environment","steps":[
            {"name":"print env","cli":["x"],"expect":{
              "equals":{"/data/leak":"","/data/token_set":"yes"},
              "matches":{"/data/home":"conform-client-","/data/base":"^http://127\\.0\\.0\\.1:[0-9]+$",
                         "/data/config":"conform-client-.*/\\.image-skill/config\\.json$"}}}]}]}"#,
    )
    .expect("suite");
    let client = dir.join("env-client.sh");
    std::fs::write(
        &client,
        "#!/bin/sh\n\
         [ -n \"$IMAGE_SKILL_TOKEN\" ] && set=yes || set=no\n\
         printf '{\"ok\":true,\"command\":\"env\",\"trace_id\":\"trace_x\",\"actor\":null,\"data\":{\"home\":\"%s\",\"base\":\"%s\",\"config\":\"%s\",\"leak\":\"%s\",\"token_set\":\"%s\"},\"warnings\":[],\"error\":null}\\n' \
           \"$HOME\" \"$IMAGE_SKILL_API_BASE_URL\" \"$IMAGE_SKILL_CONFIG_PATH\" \"$CALLER_SECRET\" \"$set\"\n",
    )
    .expect("client");
    let run = Command::new(env!("CARGO_BIN_EXE_conform"))
        .args([
            "client",
            "--suite",
            suite.to_str().expect("utf-8"),
            "--",
            "sh",
            client.to_str().expect("utf-8"),
        ])
        .env("CALLER_SECRET", "must-not-leak")
        .output()
        .expect("conform runs");
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stdout));
}

#[test]
fn missing_client_executable_is_invalid_input() {
    let run = conform(&["client", "--", "./no-such-client-binary"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(text(&run.stderr).contains("client executable `./no-such-client-binary` not found"));
}

#[test]
fn server_runs_do_not_pick_up_client_scenarios() {
    let run = conform(&["run", "--list"]);
    assert!(
        !text(&run.stdout).contains("client-"),
        "{}",
        text(&run.stdout)
    );
    let run = conform(&["client", "--list"]);
    assert!(
        text(&run.stdout).lines().all(|l| l.starts_with("client-")),
        "{}",
        text(&run.stdout)
    );
}

#[test]
fn a_client_that_prints_its_token_has_it_redacted_everywhere() {
    let dir = temp("client_prints_token");
    let leaked = dir.join("token-seen-by-client");
    let script = format!(
        "printf '%s' \"$IMAGE_SKILL_TOKEN\" > {}; echo \"debug: token=$IMAGE_SKILL_TOKEN\" >&2; \
         printf '{{\"ok\":false,\"command\":\"x\",\"trace_id\":\"trace_x\",\"actor\":null,\"data\":null,\"warnings\":[],\"error\":{{\"code\":\"X\",\"message\":\"%s\",\"retryable\":false}}}}' \"$IMAGE_SKILL_TOKEN\"; exit 1",
        leaked.display()
    );
    // 0.1.9: the fake-purchase scenario applies there (the rail left in 0.1.11).
    let mut args = vec![
        "client".to_string(),
        "--contract".into(),
        "0.1.9".into(),
        "--filter".into(),
        "client-checkout/fake".into(),
    ];
    for kind in ["json", "junit", "html", "markdown"] {
        args.push("--report".into());
        args.push(format!(
            "{kind}={}",
            dir.join(format!("r.{kind}")).display()
        ));
    }
    args.extend(["--", "sh", "-c", &script, "sh"].map(String::from));
    let out = Command::new(env!("CARGO_BIN_EXE_conform"))
        .args(&args)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let token = std::fs::read_to_string(&leaked).expect("the client saw a token");
    assert!(token.starts_with("isk_r_"), "{token}");
    let mut outputs = vec![text(&out.stdout), text(&out.stderr)];
    for kind in ["json", "junit", "html", "markdown"] {
        outputs.push(std::fs::read_to_string(dir.join(format!("r.{kind}"))).expect("report"));
    }
    for output in &outputs {
        assert!(!output.contains(&token), "the token leaked: {output}");
    }
    assert!(
        outputs[0].contains("debug: token=***"),
        "stderr is kept, redacted: {}",
        outputs[0]
    );
}

/// Invariant no-token-echo: a client that prints the token it was handed
/// fails under that invariant, on any contract version, and the report
/// says where it printed it — never the token.
#[test]
fn a_client_that_prints_its_token_breaks_no_token_echo() {
    let dir = temp("token_echo");
    let suite = dir.join("echo.json");
    std::fs::write(
        &suite,
        r#"{"suite":"echo","scenarios":[{"name":"whoami","steps":[
            {"name":"whoami","cli":["whoami"],"expect":{}}]}]}"#,
    )
    .expect("suite");
    let client = dir.join("echo-client.sh");
    std::fs::write(
        &client,
        "#!/bin/sh\n\
         echo \"debug: using $IMAGE_SKILL_TOKEN\" >&2\n\
         printf '{\"ok\":true,\"command\":\"whoami\",\"trace_id\":\"trace_x\",\"actor\":null,\"data\":{},\"warnings\":[],\"error\":null}\\n'\n",
    )
    .expect("client");
    for contract in ["0.1.9", "0.1.8"] {
        let report = dir.join(format!("{contract}.json"));
        let run = conform(&[
            "client",
            "--contract",
            contract,
            "--suite",
            suite.to_str().expect("utf-8"),
            "--report",
            &format!("json={}", report.display()),
            "--",
            "sh",
            client.to_str().expect("utf-8"),
        ]);
        let out = text(&run.stdout);
        assert_eq!(run.status.code(), Some(1), "{contract}: {out}");
        assert!(out.contains("invariant no-token-echo: broken"), "{out}");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
        let check = json["scenarios"][0]["steps"][0]["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .find(|c| c["check"] == "no_token_echo")
            .expect("no_token_echo result")
            .clone();
        assert_eq!(check["passed"], false, "{check}");
        assert_eq!(check["invariant"], "no-token-echo", "{check}");
        assert!(check["actual"].to_string().contains("stderr"), "{check}");
        assert!(!out.contains("isk_r_mock_"), "{out}");
    }
}
