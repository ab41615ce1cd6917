//! Commands over contracts and docs. `add` writes a version from a
//! release's docs; extract, check and diff still live in `extract.rs` and
//! `diff.rs`.

pub mod add;
