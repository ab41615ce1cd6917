//! What a scenario needs of a contract version (the suite format's `needs`
//! and `versions`), and the plan stage's question: does this version have
//! it? A scenario that a version cannot run is reported as not applicable,
//! with the first reason, instead of failing for what the version never
//! documented.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use crate::contract::api::ApiModel;
use crate::error::{Error, Result};

/// Names of the version's API model a scenario uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// `endpoints[].operation_id`.
    pub operations: Vec<String>,
    /// `commands[].argv`, e.g. `credits fake-purchase`.
    pub commands: Vec<String>,
    /// `payment_rails.rails` entries, e.g. `fake`.
    pub rails: Vec<String>,
}

/// The three kinds of name, as the suite format and reasons spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeedKind {
    Operation,
    Command,
    Rail,
}

impl NeedKind {
    pub const ALL: [NeedKind; 3] = [NeedKind::Operation, NeedKind::Command, NeedKind::Rail];

    /// The key in `needs`.
    pub fn key(self) -> &'static str {
        match self {
            NeedKind::Operation => "operations",
            NeedKind::Command => "commands",
            NeedKind::Rail => "rails",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            NeedKind::Operation => "operation",
            NeedKind::Command => "command",
            NeedKind::Rail => "rail",
        }
    }
}

impl Needs {
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty() && self.commands.is_empty() && self.rails.is_empty()
    }

    pub fn of(&self, kind: NeedKind) -> &[String] {
        match kind {
            NeedKind::Operation => &self.operations,
            NeedKind::Command => &self.commands,
            NeedKind::Rail => &self.rails,
        }
    }

    /// These needs and `more`'s, each name once, in first-seen order.
    pub fn and(&self, more: &Needs) -> Needs {
        let join = |a: &[String], b: &[String]| {
            let mut out: Vec<String> = a.to_vec();
            for name in b {
                if !out.contains(name) {
                    out.push(name.clone());
                }
            }
            out
        };
        Needs {
            operations: join(&self.operations, &more.operations),
            commands: join(&self.commands, &more.commands),
            rails: join(&self.rails, &more.rails),
        }
    }

    /// The first name `api` lacks, as a not-applicable reason.
    pub fn lacking(&self, api: &ApiModel, version: &str) -> Option<String> {
        let (kind, name) = self.first_lacking(api)?;
        Some(format!(
            "needs {} `{name}`, which contract {version} does not document",
            kind.word()
        ))
    }

    /// The first name `api` lacks, with its kind.
    pub fn first_lacking(&self, api: &ApiModel) -> Option<(NeedKind, &str)> {
        let names = Names::of(api);
        NeedKind::ALL.into_iter().find_map(|kind| {
            self.of(kind)
                .iter()
                .find(|name| !names.has(kind, name))
                .map(|name| (kind, name.as_str()))
        })
    }
}

/// A `versions` range: a [`semver::VersionReq`] and the text it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versions {
    pub req: semver::VersionReq,
}

impl Versions {
    pub fn parse(text: &str) -> std::result::Result<Versions, semver::Error> {
        Ok(Versions {
            req: semver::VersionReq::parse(text)?,
        })
    }

    /// Whether `version` is in the range (a version semver cannot read is not).
    pub fn contains(&self, version: &str) -> bool {
        semver::Version::parse(version).is_ok_and(|v| self.req.matches(&v))
    }

    /// `None` when `version` is in the range, else the reason it is not.
    pub fn excludes(&self, version: &str) -> Option<String> {
        (!self.contains(version)).then(|| Reason::Outside(self.req.clone()).text(version))
    }
}

/// Why a scenario does not apply to a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The version is outside a `versions` range.
    Outside(semver::VersionReq),
    /// The version's API model lacks a needed name.
    Lacks(NeedKind, String),
}

impl Reason {
    /// As reports say it, for a run against contract `version`.
    pub fn text(&self, version: &str) -> String {
        match self {
            Reason::Outside(req) => {
                let tail = match semver::Version::parse(version) {
                    Ok(_) => "",
                    Err(_) => ", which is not a semver version",
                };
                format!("written for versions {req}; this run is contract {version}{tail}")
            }
            Reason::Lacks(kind, name) => format!(
                "needs {} `{name}`, which contract {version} does not document",
                kind.word()
            ),
        }
    }

    /// Without a version, for a table over many.
    pub fn short(&self) -> String {
        match self {
            Reason::Outside(req) => format!("written for versions {req}"),
            Reason::Lacks(kind, name) => format!("needs {} `{name}`", kind.word()),
        }
    }
}

/// Every name one API model (or several) has, by kind.
#[derive(Debug, Clone, Default)]
pub struct Names {
    operations: BTreeSet<String>,
    commands: BTreeSet<String>,
    rails: BTreeSet<String>,
}

impl Names {
    pub fn of(api: &ApiModel) -> Names {
        let mut names = Names::default();
        names.add(api);
        names
    }

    pub fn add(&mut self, api: &ApiModel) {
        self.operations
            .extend(api.endpoints.iter().map(|e| e.operation_id.clone()));
        self.commands
            .extend(api.commands.iter().map(|c| c.argv.clone()));
        if let Some(rails) = &api.payment_rails {
            self.rails.extend(rails.rails.iter().cloned());
        }
    }

    fn set(&self, kind: NeedKind) -> &BTreeSet<String> {
        match kind {
            NeedKind::Operation => &self.operations,
            NeedKind::Command => &self.commands,
            NeedKind::Rail => &self.rails,
        }
    }

    pub fn has(&self, kind: NeedKind, name: &str) -> bool {
        self.set(kind).contains(name)
    }

    /// Sorted, for "did you mean".
    pub fn list(&self, kind: NeedKind) -> Vec<&str> {
        self.set(kind).iter().map(String::as_str).collect()
    }
}

/// The union of every embedded version's API model: a name in `needs`
/// that none of them has is a typo, refused when the suite loads (a name
/// only some versions have is the point of `needs`).
pub fn embedded_names() -> Result<&'static Names> {
    static NAMES: OnceLock<std::result::Result<Names, String>> = OnceLock::new();
    NAMES
        .get_or_init(|| {
            let mut names = Names::default();
            // Only ten versions ship an `api.json`; the rest inherit one.
            for (path, text) in crate::embedded::SCHEMAS {
                if path.ends_with("/api.json") && path.matches('/').count() == 2 {
                    let api = ApiModel::parse(std::path::Path::new(path), text)
                        .map_err(|e| e.to_string())?;
                    names.add(&api);
                }
            }
            Ok(names)
        })
        .as_ref()
        .map_err(|e| Error::Internal(format!("an embedded API model does not load: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_names_itself_and_the_run_version() {
        let v = Versions::parse(">=0.1.29").unwrap();
        assert_eq!(v.excludes("0.1.29"), None);
        assert_eq!(
            v.excludes("0.1.9").as_deref(),
            Some("written for versions >=0.1.29; this run is contract 0.1.9")
        );
        assert!(v.excludes("next").unwrap().contains("not a semver version"));
        // Release order, not string order.
        let below = Versions::parse(">=0.1.11, <0.1.29").unwrap();
        assert!(below.excludes("0.1.9").is_some());
        assert_eq!(below.excludes("0.1.28"), None);
    }

    #[test]
    fn the_first_lacking_name_is_the_reason() {
        let api = ApiModel::load(crate::contract::Source::Embedded, "0.1.70").unwrap();
        let needs = Needs {
            operations: vec!["createCreditQuote".into()],
            commands: vec![],
            rails: vec!["fake".into()],
        };
        assert_eq!(
            needs.lacking(&api, "0.1.70").as_deref(),
            Some("needs rail `fake`, which contract 0.1.70 does not document")
        );
        let old = ApiModel::load(crate::contract::Source::Embedded, "0.1.8").unwrap();
        assert_eq!(needs.lacking(&old, "0.1.8"), None);
    }

    #[test]
    fn the_union_has_names_of_early_and_late_versions() {
        let names = embedded_names().unwrap();
        assert!(names.has(NeedKind::Rail, "fake"));
        assert!(names.has(NeedKind::Rail, "stripe_x402.exact.usdc"));
        assert!(names.has(NeedKind::Command, "credits fake-purchase"));
        assert!(!names.has(NeedKind::Operation, "createFakePurchas"));
    }
}
