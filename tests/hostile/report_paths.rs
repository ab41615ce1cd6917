//! Finding 2: report paths. A symlink stays a symlink, a FIFO stays a FIFO
//! (standing in for /dev/null: the real /dev is never touched), `-` is
//! stdout, and bad paths are refused before the run (exit 2, the path).

use std::io::Read as _;
use std::time::{Duration, Instant};

use crate::util::{cmd, healthz_suite, run_within, temp, write};

fn small_suite(dir: &std::path::Path) -> String {
    let suite = dir.join("suite.json");
    write(&suite, &healthz_suite(2));
    suite.to_str().expect("utf-8").to_string()
}

#[test]
fn finding_2_a_symlinked_report_stays_a_symlink() {
    let dir = temp("report-symlink");
    let suite = small_suite(&dir);
    let real = dir.join("real.json");
    write(&real, "old");
    let link = dir.join("link.json");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let spec = format!("json={}", link.display());
    let ran = run_within(
        cmd(&["run", "--suite", &suite, "--report", &spec]),
        Duration::from_secs(60),
    );
    assert_eq!(ran.code(), Some(0), "{}{}", ran.stdout, ran.stderr);
    let meta = std::fs::symlink_metadata(&link).expect("link exists");
    assert!(
        meta.file_type().is_symlink(),
        "the link was replaced by a file"
    );
    let text = std::fs::read_to_string(&real).expect("target written");
    assert!(text.contains("\"scenarios\""), "{text}");
}

#[test]
fn finding_2_a_fifo_report_is_written_through_not_replaced() {
    let dir = temp("report-fifo");
    let suite = small_suite(&dir);
    let fifo = dir.join("report.fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo")
            .success()
    );
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::fs::File::open(&reader_path).and_then(|mut f| f.read_to_string(&mut s));
        s
    });
    let spec = format!("junit={}", fifo.display());
    let ran = run_within(
        cmd(&["run", "--suite", &suite, "--report", &spec]),
        Duration::from_secs(60),
    );
    assert_eq!(ran.code(), Some(0), "{}{}", ran.stdout, ran.stderr);
    let started = Instant::now();
    while !reader.is_finished() {
        assert!(started.elapsed() < Duration::from_secs(10), "reader stuck");
        std::thread::sleep(Duration::from_millis(20));
    }
    let got = reader.join().expect("reader");
    assert!(got.contains("<testsuites"), "{got}");
    use std::os::unix::fs::FileTypeExt as _;
    let meta = std::fs::symlink_metadata(&fifo).expect("fifo exists");
    assert!(
        meta.file_type().is_fifo(),
        "the FIFO was replaced by a file"
    );
}

#[test]
fn finding_2_dash_is_stdout() {
    let dir = temp("report-stdout");
    let suite = small_suite(&dir);
    let ran = run_within(
        cmd(&["run", "--suite", &suite, "--report", "json=-"]),
        Duration::from_secs(60),
    );
    assert_eq!(ran.code(), Some(0), "{}", ran.stderr);
    let v: serde_json::Value =
        serde_json::from_str(&ran.stdout).expect("stdout is the JSON report");
    assert!(v["scenarios"].is_array());
    assert!(!dir.join("-").exists());
}

#[test]
fn finding_2_bad_report_paths_are_refused_before_the_run() {
    let dir = temp("report-refused");
    let suite = small_suite(&dir);
    let before = std::fs::read_to_string(&suite).expect("suite");
    let same = dir.join("a.json");
    let alias = dir.join(".").join("a.json");
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec![
                format!("json={}", same.display()),
                format!("junit={}", alias.display()),
            ],
            "two reports to one file".into(),
        ),
        (vec![format!("json={suite}")], "is an input".into()),
        (
            vec![format!("html={}", dir.display())],
            "is a directory".into(),
        ),
    ];
    for (specs, says) in cases {
        let mut args = vec!["run".to_string(), "--suite".into(), suite.clone()];
        for s in &specs {
            args.push("--report".into());
            args.push(s.clone());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let started = Instant::now();
        let ran = run_within(cmd(&args), Duration::from_secs(30));
        assert_eq!(
            ran.code(),
            Some(2),
            "{specs:?}: {}{}",
            ran.stdout,
            ran.stderr
        );
        assert!(ran.stderr.contains(&says), "{specs:?}: {}", ran.stderr);
        // Refused up front: nothing ran, nothing was written.
        assert!(ran.stdout.is_empty(), "{}", ran.stdout);
        assert!(started.elapsed() < Duration::from_secs(20));
    }
    assert_eq!(std::fs::read_to_string(&suite).expect("suite"), before);
    assert!(!same.exists());
}
