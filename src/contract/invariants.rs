//! Invariants: rules that hold in every contract version, whatever its
//! docs say, kept as data in `schemas/invariants.json`. A check result
//! that enforces one carries its id (`CheckOutcome::invariant`), so a
//! report says whether a version's contract or an invariant broke.
//!
//! `contracts check` also applies them to the docs: the Stripe URLs of the
//! JSON examples, and what the prose says about the fragment (the `keeps`
//! and `breaks` patterns beside the invariant). An elided example URL
//! (`cs_...`) decides nothing alone; the prose decides for it. The fields
//! a sentence names are those the version gives the invariant's `roles`.

use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

const PATH: &str = "schemas/invariants.json";
pub const STRIPE_FRAGMENT: &str = "stripe-fragment";
pub const HANDOFF_REDIRECT: &str = "handoff-redirect";
const STRIPE_PREFIX: &str = "https://checkout.stripe.com/";

#[derive(Debug, Clone, Deserialize)]
pub struct Invariants {
    pub invariants: Vec<Invariant>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Invariant {
    pub id: String,
    pub rule: String,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Check kinds whose results enforce this invariant.
    #[serde(default)]
    pub checks: Vec<String>,
    #[serde(default)]
    pub docs: Option<DocsRules>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DocsRules {
    pub files: Vec<String>,
    /// A sentence is looked at only when it names this word.
    pub mentions: String,
    /// A sentence matching one of these keeps the invariant...
    pub keeps: Vec<String>,
    /// ... otherwise one matching one of these breaks it.
    pub breaks: Vec<String>,
}

/// One place where a release's docs break an invariant.
#[derive(Debug, Clone, PartialEq)]
pub struct DocsFinding {
    pub invariant: String,
    pub doc: String,
    pub line: usize,
    /// The field the finding is about, when it is about one.
    pub field: Option<String>,
    pub what: String,
}

impl Invariants {
    /// The built-in set.
    pub fn embedded() -> Result<Invariants> {
        let text = crate::embedded::schema_file(PATH).ok_or_else(|| Error::Schema {
            path: PathBuf::from(PATH),
            pointer: String::new(),
            message: "the invariants are not embedded in this build".into(),
        })?;
        let value = Error::parse_json(Path::new(PATH), text)?;
        serde_json::from_value(value).map_err(|e| Error::Schema {
            path: PathBuf::from(PATH),
            pointer: String::new(),
            message: format!("not a list of invariants: {e}"),
        })
    }

    /// The invariant a check kind enforces, if any.
    pub fn for_check(&self, check: &str) -> Option<&str> {
        self.invariants
            .iter()
            .find(|i| i.checks.iter().any(|c| c == check))
            .map(|i| i.id.as_str())
    }

    /// Every place the docs in `dir` break an invariant: prose sentences,
    /// and example fields whose Stripe URL lacks its fragment when the URL
    /// is concrete or the prose says to strip it. A sentence names the
    /// fields `contract` gives the invariant's roles.
    pub fn check_docs(
        &self,
        dir: &Path,
        examples: &[crate::docs::Example],
        contract: &crate::contract::Contract,
    ) -> Result<Vec<DocsFinding>> {
        let mut findings = Vec::new();
        for invariant in &self.invariants {
            let Some(rules) = &invariant.docs else {
                continue;
            };
            let roles: Vec<&str> = invariant.roles.iter().map(String::as_str).collect();
            let role_fields = contract.role_leaf_names(&roles);
            let compile = |patterns: &[String]| -> Result<Vec<Regex>> {
                patterns
                    .iter()
                    .map(|p| {
                        regex::RegexBuilder::new(p)
                            .case_insensitive(true)
                            .build()
                            .map_err(|e| Error::Schema {
                                path: PathBuf::from(PATH),
                                pointer: format!("/invariants/{}/docs", invariant.id),
                                message: format!("bad pattern `{p}`: {e}"),
                            })
                    })
                    .collect()
            };
            let keeps = compile(&rules.keeps)?;
            let breaks = compile(&rules.breaks)?;
            let mut prose = Vec::new();
            for file in &rules.files {
                let path = dir.join(file);
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                for sentence in sentences(&text) {
                    let lower = sentence.text.to_lowercase();
                    if !lower.contains(&rules.mentions) {
                        continue;
                    }
                    if keeps.iter().any(|k| k.is_match(&sentence.text)) {
                        continue;
                    }
                    if let Some(m) = breaks.iter().find_map(|b| b.find(&sentence.text)) {
                        let line = sentence.line_at(m.start());
                        let fields = field_names(&sentence.text, &role_fields);
                        prose.push(DocsFinding {
                            invariant: invariant.id.clone(),
                            doc: file.clone(),
                            line,
                            field: (!fields.is_empty()).then(|| fields.join(", ")),
                            what: "the prose says to drop or strip the #fragment".into(),
                        });
                    }
                }
            }
            if invariant.id == STRIPE_FRAGMENT {
                let named: Vec<String> = prose
                    .iter()
                    .filter_map(|f| f.field.as_deref())
                    .flat_map(|f| f.split(", ").map(str::to_string))
                    .collect();
                findings.extend(example_findings(dir, examples, &named));
            }
            findings.extend(prose);
        }
        Ok(findings)
    }
}

/// Stripe URLs of the examples without a fragment: broken when concrete,
/// or, when elided, if a sentence that breaks the rule names the field
/// (`fallback_checkout_url` is a `checkout_url`): the elision then means
/// "stripped".
fn example_findings(
    dir: &Path,
    examples: &[crate::docs::Example],
    stripped: &[String],
) -> Vec<DocsFinding> {
    let mut out = Vec::new();
    for example in examples {
        let text = std::fs::read_to_string(dir.join(example.doc)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let mut urls = Vec::new();
        stripe_urls(&example.raw, "", &mut urls);
        // Fields come in the doc's order, so each is looked for after the last.
        let mut cursor = example.line;
        for (pointer, url) in urls {
            let fragment = url.split_once('#').map(|(_, f)| f);
            if fragment.is_some_and(|f| !f.is_empty()) {
                continue;
            }
            let elided = url.contains("...");
            let key = pointer.rsplit('/').next().unwrap_or_default();
            let named = stripped
                .iter()
                .any(|n| key == n || key.ends_with(&format!("_{n}")));
            if elided && !named {
                continue;
            }
            let needle = format!("\"{key}\"");
            let line = lines
                .iter()
                .enumerate()
                .skip(cursor)
                .find(|(_, l)| l.contains(&needle) && l.contains(STRIPE_PREFIX))
                .map_or(example.line, |(i, _)| i + 1);
            cursor = cursor.max(line);
            out.push(DocsFinding {
                invariant: STRIPE_FRAGMENT.into(),
                doc: example.doc.to_string(),
                line,
                field: Some(super::roles::dotted(&pointer)),
                what: if elided {
                    "the example's Stripe URL has no #fragment, and the prose says it is stripped"
                        .into()
                } else {
                    "the example's Stripe URL has no #fragment".into()
                },
            });
        }
    }
    out
}

fn stripe_urls(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(s) if s.starts_with(STRIPE_PREFIX) => out.push((at.to_string(), s.clone())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                stripe_urls(item, &format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                stripe_urls(item, &format!("{at}/{k}"), out);
            }
        }
        _ => {}
    }
}

/// A sentence and, for each line it spans, the offset in it where that
/// line's text begins.
#[derive(Debug, Clone, PartialEq)]
struct Sentence {
    text: String,
    lines: Vec<(usize, usize)>,
}

impl Sentence {
    /// The doc line holding byte `at` of the sentence.
    fn line_at(&self, at: usize) -> usize {
        self.lines
            .iter()
            .take_while(|(offset, _)| *offset <= at)
            .last()
            .map_or(0, |(_, line)| *line)
    }
}

/// Sentences of a text. A sentence ends at `. `, `; `, a blank line, a list
/// item or a heading; code fences are skipped (their JSON is checked as
/// examples).
fn sentences(text: &str) -> Vec<Sentence> {
    let mut out = Vec::new();
    let mut current = Sentence {
        text: String::new(),
        lines: Vec::new(),
    };
    let mut in_fence = false;
    let flush = |current: &mut Sentence, out: &mut Vec<Sentence>| {
        if !current.text.trim().is_empty() {
            current.text = current.text.trim_end().to_string();
            out.push(current.clone());
        }
        current.text.clear();
        current.lines.clear();
    };
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            flush(&mut current, &mut out);
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if trimmed.is_empty()
            || trimmed.starts_with('#')
            || trimmed.starts_with("- ")
            || trimmed.chars().next().is_some_and(|c| c.is_ascii_digit())
        {
            flush(&mut current, &mut out);
            if trimmed.is_empty() {
                continue;
            }
        }
        let mut rest = trimmed;
        let mut search_from = 0;
        while !rest.is_empty() {
            if current.lines.last().is_none_or(|(_, l)| *l != n) {
                current.lines.push((current.text.len(), n));
            }
            // A `.` or `;` ends a sentence only before a space or the line end
            // (not inside a URL or `0.1.8`).
            let end = rest[search_from..]
                .char_indices()
                .map(|(i, c)| (i + search_from, c))
                .find(|(at, c)| {
                    (*c == '.' || *c == ';')
                        && (rest[at + 1..].is_empty() || rest[at + 1..].starts_with(' '))
                })
                .map(|(at, _)| at);
            search_from = 0;
            match end {
                Some(at) => {
                    current.text.push_str(&rest[..=at]);
                    flush(&mut current, &mut out);
                    rest = rest[at + 1..].trim_start();
                }
                None => {
                    current.text.push_str(rest);
                    current.text.push(' ');
                    break;
                }
            }
        }
    }
    flush(&mut current, &mut out);
    out
}

/// The field names a sentence mentions (`next.checkout_url` as written)
/// whose last part is one of `fields`.
fn field_names(sentence: &str, fields: &std::collections::BTreeSet<String>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for word in sentence.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')) {
        let word = word.trim_matches('.');
        let leaf = word.rsplit('.').next().unwrap_or(word);
        if fields.contains(leaf) {
            let name = word.to_string();
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_carry_their_first_line() {
        let text = "First one. Second\nspans lines; third.\n\n```json\n{\"a\": \"x. y\"}\n```\nv0.1.8 stays.\n";
        let got: Vec<(usize, String)> = sentences(text)
            .into_iter()
            .map(|s| (s.line_at(0), s.text))
            .collect();
        assert_eq!(
            got,
            [
                (1, "First one.".to_string()),
                (1, "Second spans lines;".to_string()),
                (2, "third.".to_string()),
                (7, "v0.1.8 stays.".to_string()),
            ]
        );
        let spanning = &sentences(text)[1];
        assert_eq!(
            spanning.line_at(spanning.text.find("lines").expect("word")),
            2
        );
    }

    #[test]
    fn prose_names_the_fields_the_roles_give() {
        let fields: std::collections::BTreeSet<String> = ["stripe_url", "fallback_checkout_url"]
            .map(String::from)
            .into();
        assert_eq!(
            field_names(
                "Strip the fragment from data.stripe_url and fallback_checkout_url; checkout_url stays.",
                &fields
            ),
            ["data.stripe_url", "fallback_checkout_url"]
        );
        // The shipped 0.1.8 names its URL fields by role, the fallback among them.
        let contract = crate::contract::Contract::embedded("0.1.8").expect("0.1.8 loads");
        let shipped = contract.role_leaf_names(&[
            crate::contract::roles::STRIPE_CHECKOUT_URL,
            crate::contract::roles::CHECKOUT_COMPACT_URL,
        ]);
        for name in [
            "checkout_url",
            "checkout_compact_url",
            "fallback_checkout_url",
        ] {
            assert!(shipped.contains(name), "{name} in {shipped:?}");
        }
    }

    #[test]
    fn prose_rules_tell_keep_from_break() {
        let invariants = Invariants::embedded().expect("embedded");
        let rules = invariants.invariants[0].docs.clone().expect("docs rules");
        let re = |ps: &[String]| -> Vec<Regex> {
            ps.iter()
                .map(|p| {
                    regex::RegexBuilder::new(p)
                        .case_insensitive(true)
                        .build()
                        .expect("pattern")
                })
                .collect()
        };
        let (keeps, breaks) = (re(&rules.keeps), re(&rules.breaks));
        let verdict = |s: &str| {
            if keeps.iter().any(|k| k.is_match(s)) {
                "keeps"
            } else if breaks.iter().any(|b| b.is_match(s)) {
                "breaks"
            } else {
                "silent"
            }
        };
        assert_eq!(verdict("Remove the fragment before sharing it."), "breaks");
        assert_eq!(
            verdict("checkout_url is fragment-stripped for copy/paste."),
            "breaks"
        );
        assert_eq!(verdict("Do not remove the Stripe # fragment."), "keeps");
        assert_eq!(verdict("Preserve the Stripe # fragment."), "keeps");
        assert_eq!(verdict("The fragment carries the session state."), "silent");
    }
}
