//! Where an audit's releases come from: a folder of release folders (or
//! `npm pack` tarballs), or a git history read with the `git` command line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::{Error, Result};

/// One release of the client under test, unpacked on disk.
#[derive(Debug, Clone)]
pub struct Release {
    pub version: semver::Version,
    /// The folder holding the release's files.
    pub dir: PathBuf,
    /// The entry point, absolute.
    pub entry: PathBuf,
    /// The release's docs folder, when it ships one (`cli.md`, `llms.txt`).
    pub docs: Option<PathBuf>,
    /// Where it came from: a folder, a tarball, or `commit <sha>`.
    pub origin: String,
}

/// Parses `1.2.3` or `v1.2.3` (a leading name like `pkg-1.2.3` is dropped).
pub fn parse_version(text: &str) -> Option<semver::Version> {
    let text = text.trim();
    let text = text.strip_prefix('v').unwrap_or(text);
    if let Ok(v) = semver::Version::parse(text) {
        return Some(v);
    }
    // `npm pack` names tarballs `<name>-<version>.tgz`; folder names follow.
    text.char_indices()
        .filter(|(_, c)| *c == '-')
        .find_map(|(i, _)| {
            let rest = &text[i + 1..];
            semver::Version::parse(rest.strip_prefix('v').unwrap_or(rest)).ok()
        })
}

/// `A..B`: releases from version A to B, both included; either side may be
/// empty (`..1.4.0`, `1.2.0..`).
#[derive(Debug, Clone, Default)]
pub struct VersionRange {
    pub from: Option<semver::Version>,
    pub to: Option<semver::Version>,
}

impl VersionRange {
    pub fn parse(spec: &str) -> Result<VersionRange> {
        let bad = |why: String| {
            Error::Usage(format!(
                "invalid --range `{spec}`: {why} (expected A..B, two release versions)"
            ))
        };
        let (a, b) = spec
            .split_once("..")
            .ok_or_else(|| bad("missing `..`".into()))?;
        let side = |s: &str| -> Result<Option<semver::Version>> {
            if s.is_empty() {
                return Ok(None);
            }
            parse_version(s)
                .map(Some)
                .ok_or_else(|| bad(format!("`{s}` is not a version")))
        };
        Ok(VersionRange {
            from: side(a)?,
            to: side(b)?,
        })
    }

    pub fn contains(&self, v: &semver::Version) -> bool {
        self.from.as_ref().is_none_or(|f| v >= f) && self.to.as_ref().is_none_or(|t| v <= t)
    }
}

/// The version a release folder declares: `package.json`, then `VERSION`,
/// then the folder's own name.
fn folder_version(dir: &Path, name_hint: &str) -> Result<semver::Version> {
    let package = dir.join("package.json");
    if package.is_file() {
        let text = read(&package)?;
        let json = Error::parse_json(&package, &text)?;
        if let Some(v) = json.get("version").and_then(Value::as_str) {
            return parse_version(v).ok_or_else(|| {
                Error::Usage(format!(
                    "`{}`: version `{v}` is not a semantic version",
                    package.display()
                ))
            });
        }
    }
    let file = dir.join("VERSION");
    if file.is_file() {
        let text = read(&file)?;
        return parse_version(&text).ok_or_else(|| {
            Error::Usage(format!(
                "`{}`: `{}` is not a semantic version",
                file.display(),
                text.trim()
            ))
        });
    }
    parse_version(name_hint).ok_or_else(|| {
        Error::Usage(format!(
            "release `{}` has no version: no package.json version, no VERSION file, and its name is not a version",
            dir.display()
        ))
    })
}

/// The entry point: `--entry` inside the release, else package.json's `bin`
/// (its only or first command), else its `main`.
fn entry_of(dir: &Path, entry: Option<&Path>) -> Result<PathBuf> {
    let relative = match entry {
        Some(e) => e.to_path_buf(),
        None => {
            let package = dir.join("package.json");
            let json = if package.is_file() {
                Error::parse_json(&package, &read(&package)?)?
            } else {
                Value::Null
            };
            let bin = match json.get("bin") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Object(map)) => {
                    map.values().find_map(|v| v.as_str().map(str::to_string))
                }
                _ => None,
            };
            let main = json.get("main").and_then(Value::as_str).map(str::to_string);
            PathBuf::from(bin.or(main).ok_or_else(|| {
                Error::Usage(format!(
                    "release `{}`: give --entry PATH (no package.json `bin` or `main` names one)",
                    dir.display()
                ))
            })?)
        }
    };
    let path = dir.join(&relative);
    if !path.is_file() {
        return Err(Error::Usage(format!(
            "release `{}` has no entry point `{}`",
            dir.display(),
            relative.display()
        )));
    }
    std::path::absolute(&path).map_err(|source| Error::Read { path, source })
}

fn docs_of(dir: &Path, docs: Option<&Path>) -> Option<PathBuf> {
    let candidate = dir.join(docs.unwrap_or(Path::new(".")));
    ["cli.md", "llms.txt"]
        .iter()
        .any(|f| candidate.join(f).is_file())
        .then_some(candidate)
}

/// Every release in `root`: sub-folders, and `.tgz` packages unpacked into
/// `cache` first. Sorted by version; two releases of one version are an error.
pub fn from_folder(
    root: &Path,
    entry: Option<&Path>,
    docs: Option<&Path>,
    cache: &Path,
) -> Result<Vec<Release>> {
    let entries = std::fs::read_dir(root).map_err(|source| Error::Read {
        path: root.to_path_buf(),
        source,
    })?;
    let mut found = Vec::new();
    for item in entries {
        let item = item.map_err(|source| Error::Read {
            path: root.to_path_buf(),
            source,
        })?;
        let path = item.path();
        let name = item.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            found.push((path.clone(), name, path.display().to_string()));
        } else if name.ends_with(".tgz") || name.ends_with(".tar.gz") {
            let dir = unpack_tgz(&path, cache)?;
            found.push((dir, name, path.display().to_string()));
        }
    }
    let mut releases = Vec::new();
    for (dir, name, origin) in found {
        let version = folder_version(&dir, name.trim_end_matches(".tgz"))?;
        releases.push(Release {
            version,
            entry: entry_of(&dir, entry)?,
            docs: docs_of(&dir, docs),
            dir,
            origin,
        });
    }
    sort_unique(releases)
}

fn sort_unique(mut releases: Vec<Release>) -> Result<Vec<Release>> {
    releases.sort_by(|a, b| a.version.cmp(&b.version));
    for pair in releases.windows(2) {
        if pair[0].version == pair[1].version {
            return Err(Error::Usage(format!(
                "two releases claim version {}: {} and {}",
                pair[0].version, pair[0].origin, pair[1].origin
            )));
        }
    }
    if releases.is_empty() {
        return Err(Error::Usage("no releases found".into()));
    }
    Ok(releases)
}

/// Unpacks an `npm pack` tarball (files under `package/`) into
/// `cache/<sha256 of the tarball>/`, once; returns the package folder.
fn unpack_tgz(tgz: &Path, cache: &Path) -> Result<PathBuf> {
    let bytes = std::fs::read(tgz).map_err(|source| Error::Read {
        path: tgz.to_path_buf(),
        source,
    })?;
    let digest = Sha256::digest(&bytes);
    let key: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    let target = cache.join(key);
    let done = target.join(".conform-unpacked");
    if !done.is_file() {
        let bad = |e: std::io::Error| {
            Error::Usage(format!(
                "cannot unpack `{}`: {e} (expected a gzip tarball as `npm pack` writes it)",
                tgz.display()
            ))
        };
        // Unpack beside the target and rename, so a half-unpacked cache
        // entry is never taken for a release.
        std::fs::create_dir_all(cache).map_err(bad)?;
        let tmp = tempfile::Builder::new()
            .prefix(".unpacking-")
            .tempdir_in(cache)
            .map_err(bad)?;
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        archive.set_preserve_permissions(true);
        // `unpack` refuses paths that climb out of the folder.
        archive.unpack(tmp.path()).map_err(bad)?;
        std::fs::write(tmp.path().join(".conform-unpacked"), b"").map_err(bad)?;
        let kept = tmp.keep();
        if std::fs::rename(&kept, &target).is_err() && !done.is_file() {
            return Err(bad(std::io::Error::other("cannot move into the cache")));
        }
    }
    let package = target.join("package");
    Ok(if package.is_dir() { package } else { target })
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn git(repo: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .map_err(|e| {
            Error::Usage(format!(
                "cannot run `git`: {e} (audit --git needs it on PATH)"
            ))
        })?;
    if !out.status.success() {
        return Err(Error::Usage(format!(
            "`git {}` failed in `{}`: {}",
            args.join(" "),
            repo.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out.stdout)
}

/// The releases in a git history: every commit where `package.json`'s
/// version changes starts one, and the release is the LAST commit carrying
/// that version (fixes after the bump belong to it). Each is exported with
/// `git archive` into `cache/<sha>/`.
pub fn from_git(
    repo: &Path,
    entry: &Path,
    docs: Option<&Path>,
    cache: &Path,
) -> Result<Vec<Release>> {
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    let all = text(git(
        repo,
        &["rev-list", "--first-parent", "--reverse", "HEAD"],
    )?);
    let touching = text(git(
        repo,
        &["log", "--first-parent", "--format=%H", "--", "package.json"],
    )?);
    let touching: std::collections::HashSet<&str> = touching.lines().collect();
    // Version after each commit, read only where package.json changed.
    let mut current: Option<semver::Version> = None;
    let mut last_carrying: BTreeMap<semver::Version, String> = BTreeMap::new();
    for sha in all.lines() {
        if touching.contains(sha) {
            let show = format!("{sha}:package.json");
            current = match git(repo, &["show", &show]) {
                Ok(bytes) => serde_json::from_slice::<Value>(&bytes).ok().and_then(|j| {
                    j.get("version")
                        .and_then(Value::as_str)
                        .and_then(parse_version)
                }),
                Err(_) => None,
            };
        }
        if let Some(v) = &current {
            last_carrying.insert(v.clone(), sha.to_string());
        }
    }
    let mut releases = Vec::new();
    for (version, sha) in last_carrying {
        let dir = cache.join(&sha);
        let done = dir.join(".conform-unpacked");
        if !done.is_file() {
            let archive = git(repo, &["archive", "--format=tar", &sha])?;
            let bad = |e: std::io::Error| {
                Error::Usage(format!(
                    "cannot export commit {sha} of `{}`: {e}",
                    repo.display()
                ))
            };
            std::fs::create_dir_all(cache).map_err(bad)?;
            let tmp = tempfile::Builder::new()
                .prefix(".exporting-")
                .tempdir_in(cache)
                .map_err(bad)?;
            let mut tar = tar::Archive::new(&archive[..]);
            tar.set_preserve_permissions(true);
            tar.unpack(tmp.path()).map_err(bad)?;
            std::fs::write(tmp.path().join(".conform-unpacked"), b"").map_err(bad)?;
            let kept = tmp.keep();
            if std::fs::rename(&kept, &dir).is_err() && !done.is_file() {
                return Err(bad(std::io::Error::other("cannot move into the cache")));
            }
        }
        releases.push(Release {
            version,
            entry: entry_of(&dir, Some(entry))?,
            docs: docs_of(&dir, docs),
            dir,
            origin: format!("commit {}", &sha[..sha.len().min(12)]),
        });
    }
    sort_unique(releases)
}

/// The command that runs a release: `template` with `{entry}` and `{dir}`
/// filled in, split at whitespace; by default `node {entry}` for `.mjs`,
/// `.cjs` and `.js`, the entry itself when it is executable.
pub fn command_for(release: &Release, template: Option<&str>) -> Result<Vec<String>, String> {
    let entry = release.entry.display().to_string();
    let template = match template {
        Some(t) => t.to_string(),
        None => {
            let ext = release.entry.extension().and_then(|e| e.to_str());
            if matches!(ext, Some("mjs" | "cjs" | "js")) {
                "node {entry}".to_string()
            } else if is_executable(&release.entry) {
                "{entry}".to_string()
            } else {
                return Err(format!(
                    "`{entry}` is neither a .js/.mjs file nor executable: give --run 'INTERPRETER {{entry}}'"
                ));
            }
        }
    };
    let words: Vec<String> = template
        .split_whitespace()
        .map(|w| {
            w.replace("{entry}", &entry)
                .replace("{dir}", &release.dir.display().to_string())
        })
        .collect();
    if words.is_empty() {
        return Err("--run is empty".into());
    }
    Ok(words)
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        path.metadata()
            .is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_from_names_too() {
        assert_eq!(
            parse_version("v1.2.3"),
            semver::Version::parse("1.2.3").ok()
        );
        assert_eq!(
            parse_version("image-skill-cli-0.1.8"),
            semver::Version::parse("0.1.8").ok()
        );
        assert_eq!(parse_version("latest"), None);
    }

    #[test]
    fn ranges_include_both_ends() {
        let r = VersionRange::parse("1.2.0..1.4.0").expect("range");
        let v = |s: &str| semver::Version::parse(s).expect("version");
        assert!(r.contains(&v("1.2.0")) && r.contains(&v("1.4.0")));
        assert!(!r.contains(&v("1.1.9")) && !r.contains(&v("1.4.1")));
        assert!(VersionRange::parse("1.2.0").is_err());
        assert!(VersionRange::parse("x..1.0.0").is_err());
    }
}
