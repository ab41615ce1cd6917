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
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("embedded.rs");
    if let Err(e) = std::fs::write(&dest, out) {
        panic!("cannot write {}: {e}", dest.display());
    }
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
