//! Where a contract version's files come from (the binary or a folder),
//! and the `extends` chain that turns a version folder, which only holds
//! what differs from its base, into the full set of files.
//!
//! A version folder holds `contract.json` (the manifest), optionally
//! `api.json` (the API model) and the schema files that differ from its
//! base. A folder without `contract.json` is a standalone version.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

pub const MANIFEST: &str = "contract";
pub const API: &str = "api";
/// The reference mock's seed data (`mock.json`): packs, rails, limits.
pub const MOCK: &str = "mock";
/// The reference mock's answer templates (`answers.json`).
pub const ANSWERS: &str = "answers";
/// Longest `extends` chain followed; the published history has 71 releases.
const MAX_CHAIN: usize = 512;

/// Where contract folders are read from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// `schemas/` as built into the binary.
    Embedded,
    /// `<root>/<version>/`.
    Dir(&'a Path),
}

/// `contract.json`: what a version is and what it extends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs_commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// `published`, `curated`, `draft`: how far a person has checked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// One line: what changed from the base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// What `contracts add` could not decide, for a person to curate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undecided: Vec<String>,
    /// Files of this folder a person curated (`credit-quote.json`):
    /// `contracts add` keeps them as they are when it runs again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub curated: Vec<String>,
}

/// One file as read: where it came from and its text.
#[derive(Debug, Clone)]
pub struct RawFile {
    pub path: PathBuf,
    pub text: String,
}

/// A version with its chain applied.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub manifest: Manifest,
    /// Where the manifest was read (or the folder, when there is none).
    pub manifest_path: PathBuf,
    /// `api.json` of the nearest version in the chain that has one.
    pub api: Option<RawFile>,
    /// The nearest `mock.json` of the chain.
    pub mock: Option<RawFile>,
    /// The nearest `answers.json` of the chain.
    pub answers: Option<RawFile>,
    /// Schema file stem → file, nearest version first wins.
    pub schemas: BTreeMap<String, RawFile>,
    /// The chain, this version first.
    pub chain: Vec<String>,
}

impl Source<'_> {
    /// Top-level `*.json` files of one version folder, by stem; `None` when
    /// the version does not exist here.
    pub fn folder(&self, version: &str) -> Result<Option<BTreeMap<String, RawFile>>> {
        match self {
            Source::Embedded => {
                let prefix = format!("schemas/{version}/");
                let mut files = BTreeMap::new();
                for (path, text) in crate::embedded::SCHEMAS {
                    let Some(file) = path.strip_prefix(&prefix) else {
                        continue;
                    };
                    if file.contains('/') {
                        continue;
                    }
                    if let Some(stem) = file.strip_suffix(".json") {
                        files.insert(
                            stem.to_string(),
                            RawFile {
                                path: PathBuf::from(path),
                                text: (*text).to_string(),
                            },
                        );
                    }
                }
                Ok((!files.is_empty()).then_some(files))
            }
            Source::Dir(root) => {
                let dir = root.join(version);
                if !dir.is_dir() {
                    return Ok(None);
                }
                let read_err = |path: &Path, source| Error::Read {
                    path: path.to_path_buf(),
                    source,
                };
                let mut files = BTreeMap::new();
                for entry in std::fs::read_dir(&dir).map_err(|e| read_err(&dir, e))? {
                    let path = entry.map_err(|e| read_err(&dir, e))?.path();
                    if !path.is_file() || path.extension().is_none_or(|e| e != "json") {
                        continue;
                    }
                    let stem = path
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let text =
                        crate::input::read_to_string(&path).map_err(|e| read_err(&path, e))?;
                    files.insert(stem, RawFile { path, text });
                }
                Ok(Some(files))
            }
        }
    }

    /// Versions this source holds, in release order.
    pub fn versions(&self) -> Vec<String> {
        let mut versions: Vec<String> = match self {
            Source::Embedded => crate::embedded::SCHEMAS
                .iter()
                .filter_map(|(path, _)| {
                    let mut parts = path.split('/');
                    match (parts.next(), parts.next(), parts.next(), parts.next()) {
                        (Some("schemas"), Some(v), Some(f), None) if f.ends_with(".json") => {
                            Some(v.to_string())
                        }
                        _ => None,
                    }
                })
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            Source::Dir(root) => std::fs::read_dir(root)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
        };
        sort_versions(&mut versions);
        versions
    }

    /// Label for messages: where the folders are.
    pub fn root(&self) -> PathBuf {
        match self {
            Source::Embedded => PathBuf::from("schemas"),
            Source::Dir(root) => root.to_path_buf(),
        }
    }

    /// Reads `version` and every version it extends.
    pub fn resolve(&self, version: &str) -> Result<Resolved> {
        let mut chain: Vec<String> = Vec::new();
        let mut schemas: BTreeMap<String, RawFile> = BTreeMap::new();
        let mut api = None;
        let mut mock = None;
        let mut answers = None;
        let mut top: Option<(Manifest, PathBuf)> = None;
        let mut current = version.to_string();
        loop {
            // A folder's base may be a built-in version: a new release
            // written elsewhere extends the shipped history.
            let found = match self.folder(&current)? {
                None if !chain.is_empty() => Source::Embedded.folder(&current)?,
                found => found,
            };
            let Some(files) = found else {
                if chain.is_empty() {
                    return Err(unknown_contract(version, &self.versions()));
                }
                let (_, from) = top.clone().unwrap_or_default();
                return Err(Error::Schema {
                    path: from,
                    pointer: "/extends".into(),
                    message: format!(
                        "contract {} extends `{current}`, which is not in {}",
                        chain.last().map(String::as_str).unwrap_or(version),
                        self.root().display()
                    ),
                });
            };
            if chain.contains(&current) || chain.len() >= MAX_CHAIN {
                return Err(Error::Schema {
                    path: self.root().join(&current).join("contract.json"),
                    pointer: "/extends".into(),
                    message: format!("`extends` goes round in a circle: {}", chain.join(" → ")),
                });
            }
            chain.push(current.clone());
            let (manifest, manifest_path) = match files.get(MANIFEST) {
                Some(file) => (parse_manifest(file, &current)?, file.path.clone()),
                None => (
                    Manifest {
                        version: current.clone(),
                        ..Manifest::default()
                    },
                    self.root().join(&current),
                ),
            };
            for (stem, file) in files {
                if stem == MANIFEST {
                    continue;
                }
                if stem == API {
                    if api.is_none() {
                        api = Some(file);
                    }
                    continue;
                }
                if stem == MOCK {
                    if mock.is_none() {
                        mock = Some(file);
                    }
                    continue;
                }
                if stem == ANSWERS {
                    if answers.is_none() {
                        answers = Some(file);
                    }
                    continue;
                }
                schemas.entry(stem).or_insert(file);
            }
            let next = manifest.extends.clone();
            if top.is_none() {
                top = Some((manifest, manifest_path));
            }
            match next {
                Some(base) => current = base,
                None => break,
            }
        }
        let (manifest, manifest_path) = top.unwrap_or_default();
        Ok(Resolved {
            manifest,
            manifest_path,
            api,
            mock,
            answers,
            schemas,
            chain,
        })
    }
}

fn parse_manifest(file: &RawFile, folder: &str) -> Result<Manifest> {
    let value = Error::parse_json(&file.path, &file.text)?;
    let manifest: Manifest = serde_json::from_value(value).map_err(|e| Error::Schema {
        path: file.path.clone(),
        pointer: String::new(),
        message: format!("not a contract manifest: {e}"),
    })?;
    if manifest.version != folder {
        return Err(Error::Schema {
            path: file.path.clone(),
            pointer: "/version".into(),
            message: format!(
                "the manifest says version `{}` but lives in folder `{folder}`",
                manifest.version
            ),
        });
    }
    Ok(manifest)
}

pub fn unknown_contract(version: &str, known: &[String]) -> Error {
    // 71 releases make a line nobody reads: the range and where the list is.
    const LISTED: usize = 6;
    let known = match known {
        [] => "none".to_string(),
        [first, .., last] if known.len() > LISTED => format!(
            "{first} … {last}, {} versions; `conform contracts list` shows them",
            known.len()
        ),
        _ => known.join(", "),
    };
    Error::UnknownContract {
        version: version.to_string(),
        known,
    }
}

/// Release order: numeric parts compared as numbers (`0.1.9` < `0.1.10`).
pub fn sort_versions(versions: &mut [String]) {
    versions.sort_by_key(|v| version_key(v));
}

pub fn version_key(version: &str) -> Vec<(u64, String)> {
    version
        .split(['.', '-'])
        .map(|part| (part.parse::<u64>().unwrap_or(u64::MAX), part.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_in_release_order() {
        let mut v: Vec<String> = ["0.1.10", "0.1.9", "0.1.0", "0.1.70", "0.1.8"]
            .map(String::from)
            .to_vec();
        sort_versions(&mut v);
        assert_eq!(v, ["0.1.0", "0.1.8", "0.1.9", "0.1.10", "0.1.70"]);
    }

    #[test]
    fn a_child_overrides_its_base_file_by_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |rel: &str, text: &str| {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        };
        write("1.0/a.json", "{\"v\": 1}");
        write("1.0/b.json", "{\"v\": 1}");
        write(
            "1.1/contract.json",
            "{\"version\": \"1.1\", \"extends\": \"1.0\"}",
        );
        write("1.1/b.json", "{\"v\": 2}");
        let resolved = Source::Dir(dir.path()).resolve("1.1").expect("resolves");
        assert_eq!(resolved.chain, ["1.1", "1.0"]);
        assert!(resolved.schemas["a"].path.ends_with("1.0/a.json"));
        assert!(resolved.schemas["b"].path.ends_with("1.1/b.json"));
    }

    #[test]
    fn a_cycle_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (v, base) in [("1.0", "1.1"), ("1.1", "1.0")] {
            std::fs::create_dir_all(dir.path().join(v)).expect("mkdir");
            std::fs::write(
                dir.path().join(v).join("contract.json"),
                format!("{{\"version\": \"{v}\", \"extends\": \"{base}\"}}"),
            )
            .expect("write");
        }
        let err = Source::Dir(dir.path()).resolve("1.1").expect_err("cycle");
        assert!(err.to_string().contains("circle"), "{err}");
    }
}
