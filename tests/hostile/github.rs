//! Finding 7: a server's body lines such as `::error …` were echoed in the
//! console and would run as workflow commands on GitHub Actions.

use std::time::Duration;

use crate::server::serve;
use crate::util::{cmd, run_within, suite_of, temp, write};

fn answer(_path: &str, _auth: &str) -> (u16, String) {
    (
        500,
        "{\"a\":1}\n::error title=pwned::injected\n   ::stop-commands::tok\n".into(),
    )
}

#[test]
fn finding_7_echoed_workflow_commands_are_defused() {
    let server = serve(answer);
    let dir = temp("github");
    let path = dir.join("suite.json");
    write(
        &path,
        &suite_of(serde_json::json!([{
            "name": "echo",
            "request": {"method": "GET", "path": "/x", "auth": "none"},
            "expect": {"status": 200}
        }])),
    );
    let mut c = cmd(&[
        "run",
        "--suite",
        path.to_str().expect("utf-8"),
        "--base-url",
        &server.base_url,
    ]);
    c.env("GITHUB_ACTIONS", "true");
    let ran = run_within(c, Duration::from_secs(60));
    assert_eq!(ran.code(), Some(1), "{}{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout.contains("injected"),
        "the body is shown: {}",
        ran.stdout
    );
    for line in ran.stdout.lines() {
        assert!(!line.trim_start().starts_with("::"), "live command: {line}");
    }
}
