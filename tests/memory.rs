//! Memory stays bounded against a huge answer: conform stops reading at
//! --max-body. Its own test binary, so getrusage(RUSAGE_CHILDREN) sees only
//! the conform run it measures.

#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn a_50_mb_body_is_not_read_past_max_body() {
    let mut mock = Command::new(env!("CARGO_BIN_EXE_conform"))
        .args(["mock", "--profile", "faults-huge"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("mock starts");
    let mut lines = BufReader::new(mock.stdout.take().expect("stdout")).lines();
    let base_url = loop {
        let line = lines.next().expect("mock prints").expect("line");
        if let Some(url) = line.strip_prefix("base_url=") {
            break url.to_string();
        }
    };
    let run = Command::new(env!("CARGO_BIN_EXE_conform"))
        .args([
            "run",
            "--base-url",
            &base_url,
            "--filter",
            "credits-catalog",
            "--max-body",
            "1048576",
        ])
        .output()
        .expect("conform runs");
    // SAFETY: getrusage fills the struct we own; nothing else is touched.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let _ = mock.kill();
    let _ = mock.wait();
    assert_eq!(
        run.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
    let peak_mb = usage.ru_maxrss / 1024;
    // Each catalog answer is 50 MB; reading one whole would pass this.
    assert!(peak_mb < 50, "conform's peak RSS was {peak_mb} MB");
}
