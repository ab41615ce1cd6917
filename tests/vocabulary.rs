//! The API's facts are data (`schemas/<v>/api.json`, `mock.json`,
//! `faults.json`, `exit-codes.json`): no endpoint path may come back into
//! the code outside tests. Role names and operation ids are the vocabulary
//! code may name (see `src/contract/roles.rs`).

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The lines of `text` that are code, not tests or comments: everything
/// before the file's `#[cfg(test)]` module, without `//` comments.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, line)| line.trim() != "#[cfg(test)]")
        .map(|(i, line)| (i + 1, line))
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
}

fn endpoint_literals(text: &str) -> Vec<(usize, String)> {
    code_lines(text)
        .filter(|(_, line)| line.contains("\"/v1/") || line.contains("\"/v1\""))
        .map(|(n, line)| (n, line.trim().to_string()))
        .collect()
}

#[test]
fn no_endpoint_path_literal_in_non_test_code() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(
        files.len() > 20,
        "found only {} files under src/",
        files.len()
    );
    let mut offenders = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable source");
        for (line, code) in endpoint_literals(&text) {
            offenders.push(format!("{}:{line}: {code}", file.display()));
        }
    }
    assert!(
        offenders.is_empty(),
        "endpoint paths belong in the API model (schemas/<v>/api.json), not in src/:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_scan_sees_code_and_skips_tests_and_comments() {
    let text =
        "fn a() { get(\"/v1/x\") }\n// \"/v1/comment\"\n#[cfg(test)]\nmod tests { \"/v1/t\" }\n";
    assert_eq!(
        endpoint_literals(text),
        [(1, "fn a() { get(\"/v1/x\") }".to_string())]
    );
}
