//! Finding 3: token leaks. A hostile server echoes the token trimmed,
//! JSON-escaped (`\u0069…`, `\/`) and across the 2,000-character excerpt
//! cut; the base URL carries a password and a query token. Every output
//! and every report format is searched for the token and for each of its
//! 8-character pieces: zero hits.

use std::time::Duration;

use crate::server::serve;
use crate::util::{cmd, run_within, temp, write};

const TOKEN: &str = "isk_live/Zq7Wm4Rt9Kp2Xv6Nb3Hc";
const PASSWORD: &str = "pw-Lr8Tg5Yu1Oi0";
const QUERY_TOKEN: &str = "qk-Ae3Sd7Fg2Jh9";

fn answer(path: &str, _auth: &str) -> (u16, String) {
    // JSON-escaped forms: the first letter as \u0069, slashes as \/.
    let escaped = format!("\\u0069{}", &TOKEN[1..]).replace('/', "\\/");
    // The base URL carries a query, so the step path lands after it.
    let body = if path.ends_with("/cut") {
        // The token straddles character 2,000 of the body.
        let pad = "p".repeat(2000 - 12 - "{\"pad\":\"".len());
        format!("{{\"pad\":\"{pad}{TOKEN}\"}}")
    } else {
        format!(
            "{{\"trimmed\":\"{TOKEN}\",\"escaped\":\"{escaped}\",\"slash\":\"{}\",\"auth\":\"{}\"}}",
            TOKEN.replace('/', "\\/"),
            _auth
        )
    };
    (500, body)
}

fn pieces(secret: &str) -> Vec<&str> {
    (0..=secret.len() - 8).map(|i| &secret[i..i + 8]).collect()
}

#[test]
fn finding_3_no_piece_of_any_secret_reaches_any_output() {
    let server = serve(answer);
    let dir = temp("tokens");
    let steps = |path: &str| {
        serde_json::json!([{
            "name": "echo",
            "request": {"method": "GET", "path": path},
            "expect": {"status": 200}
        }])
    };
    let suite = serde_json::json!({
        "suite": "leaks",
        "scenarios": [
            {"name": "echo", "steps": steps("/echo")},
            {"name": "cut", "steps": steps("/cut")}
        ]
    });
    let suite_path = dir.join("suite.json");
    write(&suite_path, &suite.to_string());
    let base = server
        .base_url
        .replace("http://", &format!("http://user:{PASSWORD}@"));
    let base = format!("{base}/?key={QUERY_TOKEN}");
    let reports: Vec<(String, std::path::PathBuf)> = ["json", "junit", "html", "markdown"]
        .iter()
        .map(|k| (k.to_string(), dir.join(format!("report.{k}"))))
        .collect();
    let mut c = cmd(&["run", "--suite", suite_path.to_str().expect("utf-8")]);
    c.args(["--base-url", &base, "--format", "github"]);
    for (k, p) in &reports {
        c.arg("--report").arg(format!("{k}={}", p.display()));
    }
    // Sent with surrounding whitespace; the server sees it trimmed.
    c.env("IMAGE_SKILL_TOKEN", format!("  {TOKEN} \t"));
    let ran = run_within(c, Duration::from_secs(60));
    assert_eq!(ran.code(), Some(1), "{}{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("key=***"), "{}", ran.stdout);

    let mut outputs = vec![
        ("stdout".to_string(), ran.stdout),
        ("stderr".into(), ran.stderr),
    ];
    for (k, p) in &reports {
        outputs.push((
            k.clone(),
            std::fs::read_to_string(p).expect("report written"),
        ));
    }
    for (channel, text) in &outputs {
        for secret in [TOKEN, PASSWORD, QUERY_TOKEN] {
            for piece in pieces(secret) {
                assert!(
                    !text.contains(piece),
                    "{channel} holds `{piece}` of a secret:\n{text}"
                );
            }
        }
    }
}

#[test]
fn finding_3_pass_env_of_the_token_variable_is_refused() {
    let ran = run_within(
        cmd(&["client", "--pass-env", "IMAGE_SKILL_TOKEN", "--", "true"]),
        Duration::from_secs(30),
    );
    assert_eq!(ran.code(), Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains("token variable"), "{}", ran.stderr);
}

#[test]
fn finding_3_audit_refuses_pass_env_of_the_token_variable_too() {
    // The audit hands each release the same environment as `client`; it
    // once accepted the token variable here.
    let dir = temp("tokens-audit-pass-env");
    let ran = run_within(
        cmd(&[
            "audit",
            "--pass-env",
            "MY_TOKEN",
            "--token-env",
            "MY_TOKEN",
            "--releases",
            dir.to_str().unwrap(),
        ]),
        Duration::from_secs(30),
    );
    assert_eq!(ran.code(), Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains("token variable"), "{}", ran.stderr);
}

#[test]
fn finding_3_pass_env_values_are_masked() {
    let dir = temp("tokens-pass-env");
    let suite = crate::util::suite_of(serde_json::json!([{
        "name": "echo env", "cli": ["x"], "auth": "none",
        "expect": {"exit_code": 0}
    }]));
    let path = dir.join("suite.json");
    write(&path, &suite);
    let secret = "passed-Vb6Nm1Qw8Er4";
    let mut c = cmd(&[
        "client",
        "--suite",
        path.to_str().expect("utf-8"),
        "--pass-env",
        "MY_SECRET",
        "--",
        "sh",
        "-c",
        "echo \"$MY_SECRET\"; exit 4",
    ]);
    c.env("MY_SECRET", secret);
    let ran = run_within(c, Duration::from_secs(60));
    assert_eq!(ran.code(), Some(1), "{}{}", ran.stdout, ran.stderr);
    for piece in pieces(secret) {
        assert!(!ran.stdout.contains(piece), "{}", ran.stdout);
    }
}
