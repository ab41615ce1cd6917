//! Finding 8: exit codes. Client output over --max-body is 3; unsendable
//! requests in a suite and a control character in the token file are 2 at
//! load time, naming the file and the JSON pointer.

use std::time::Duration;

use crate::util::{cmd, run_within, suite_of, temp, write};

#[test]
fn finding_8_client_output_over_max_body_is_exit_3() {
    let dir = temp("exit-max-body");
    let path = dir.join("suite.json");
    write(
        &path,
        &suite_of(serde_json::json!([{
            "name": "chatty", "cli": ["x"], "auth": "none", "expect": {"exit_code": 0}
        }])),
    );
    let ran = run_within(
        cmd(&[
            "client",
            "--suite",
            path.to_str().expect("utf-8"),
            "--max-body",
            "1000",
            "--",
            "sh",
            "-c",
            "head -c 100000 /dev/zero | tr '\\0' a",
        ]),
        Duration::from_secs(60),
    );
    assert_eq!(ran.code(), Some(3), "{}{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("--max-body"), "{}", ran.stdout);
}

#[test]
fn finding_8_unsendable_requests_are_refused_at_load() {
    let dir = temp("exit-unsendable");
    let cases = [
        (
            serde_json::json!({"method": "GET", "path": "/x", "headers": {"bad name": "v"}}),
            "/request/headers/bad name",
        ),
        (
            serde_json::json!({"method": "GET", "path": "/x", "headers": {"x-a": "v\r\nx-b: w"}}),
            "/request/headers/x-a",
        ),
        (
            serde_json::json!({"method": "GET", "path": "/x", "headers": {"Content-Length": "100"}}),
            "/request/headers/Content-Length",
        ),
        (
            serde_json::json!({"method": "GET", "url": "file:///etc/passwd"}),
            "/request/url",
        ),
        (
            serde_json::json!({"method": "GET", "url": "ftp://127.0.0.1/x"}),
            "/request/url",
        ),
        (
            serde_json::json!({"method": "GET", "url": "data:text/plain,hi"}),
            "/request/url",
        ),
        (
            serde_json::json!({"method": "GET", "url": "unix:/run/x.sock"}),
            "/request/url",
        ),
        (
            serde_json::json!({"method": "GET", "url": "http//missing-colon"}),
            "/request/url",
        ),
    ];
    for (i, (request, pointer)) in cases.into_iter().enumerate() {
        let path = dir.join(format!("case{i}.json"));
        write(
            &path,
            &suite_of(serde_json::json!([{
                "name": "s", "request": request, "expect": {"status": 200}
            }])),
        );
        let ran = run_within(
            cmd(&["run", "--list", "--suite", path.to_str().expect("utf-8")]),
            Duration::from_secs(30),
        );
        assert_eq!(
            ran.code(),
            Some(2),
            "case {i}: {}{}",
            ran.stdout,
            ran.stderr
        );
        assert!(ran.stderr.contains(pointer), "case {i}: {}", ran.stderr);
        assert!(
            ran.stderr.contains(&format!("case{i}.json")),
            "case {i}: {}",
            ran.stderr
        );
    }
}

#[test]
fn finding_8_control_character_in_token_file_is_exit_2() {
    let dir = temp("exit-token-control");
    let token = dir.join("token");
    write(&token, "isk_abc\u{1}def\n");
    let ran = run_within(
        cmd(&[
            "run",
            "--base-url",
            "http://127.0.0.1:9",
            "--token-file",
            token.to_str().expect("utf-8"),
        ]),
        Duration::from_secs(30),
    );
    assert_eq!(ran.code(), Some(2), "{}{}", ran.stdout, ran.stderr);
    assert!(ran.stderr.contains("control character"), "{}", ran.stderr);
}
