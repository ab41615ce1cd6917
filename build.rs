//! Embeds the shipped contract schemas, suites and curated fixtures, so
//! `conform run` and `conform contracts diff` work from any directory. `include_str!` makes cargo rebuild when one changes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let mut out = String::new();
    for (name, dir) in [
        ("SCHEMAS", "schemas"),
        ("SUITES", "suites"),
        ("FIXTURES", "fixtures"),
    ] {
        println!("cargo:rerun-if-changed={dir}");
        let mut files = Vec::new();
        collect_json(&root.join(dir), &mut files);
        files.sort();
        writeln!(out, "pub static {name}: &[(&str, &str)] = &[").ok();
        for file in files {
            let rel = file.strip_prefix(&root).unwrap_or(&file);
            let rel = rel.to_string_lossy().replace('\\', "/");
            println!("cargo:rerun-if-changed={rel}");
            writeln!(
                out,
                "    ({rel:?}, include_str!({:?})),",
                file.display().to_string()
            )
            .ok();
        }
        writeln!(out, "];").ok();
    }
    // The newest shipped version, so the default contract follows the data.
    let newest = newest_version(&root.join("schemas"));
    writeln!(out, "pub const NEWEST_VERSION: &str = {newest:?};").ok();
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("embedded.rs");
    if let Err(e) = std::fs::write(&dest, out) {
        panic!("cannot write {}: {e}", dest.display());
    }
}

/// The highest `X.Y.Z` folder holding a `contract.json`, compared as numbers.
fn newest_version(schemas: &Path) -> String {
    let mut best: Option<(Vec<u64>, String)> = None;
    for entry in std::fs::read_dir(schemas).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let parts: Option<Vec<u64>> = name.split('.').map(|p| p.parse().ok()).collect();
        let Some(parts) = parts else { continue };
        if entry.path().join("contract.json").is_file()
            && best.as_ref().is_none_or(|(b, _)| parts > *b)
        {
            best = Some((parts, name));
        }
    }
    best.map(|(_, name)| name).unwrap_or_default()
}

fn collect_json(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect_json(&path, files);
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
}
