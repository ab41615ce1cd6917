//! Facts `contracts add` reads from the docs' prose and examples, by the
//! patterns of `schemas/docs-rules.json`: the payment rails, the quote's
//! default rail, and flags a release made required.

use std::collections::BTreeSet;
use std::path::Path;

use regex::Regex;
use serde::Deserialize;

use crate::error::{Error, Result};

const PATH: &str = "schemas/docs-rules.json";
const OWN_RELEASE: &str = "<version>";

#[derive(Debug, Deserialize)]
pub struct DocsRules {
    pub payment_rails: RailRules,
    #[serde(default)]
    pub required_flags: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
pub struct RailRules {
    pub doc: String,
    /// Each has one capture group: a rail id.
    pub values: Vec<String>,
    /// The API's default rail for a quote without one; the first match wins.
    pub quote_default: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
pub struct Rule {
    pub doc: String,
    #[serde(default)]
    pub section: Option<String>,
    pub pattern: String,
    /// For `quote_default` rules: the rail a match makes the default.
    #[serde(default)]
    pub rail: Option<String>,
}

/// A fact and the docs line that states it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Found {
    pub value: String,
    pub doc: String,
    pub line: usize,
}

/// A required flag: `flag` of `command`, stated at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredFlag {
    pub command: String,
    pub flag: String,
    pub at: Found,
}

impl DocsRules {
    pub fn load() -> Result<DocsRules> {
        let text = crate::embedded::schema_file(PATH)
            .ok_or_else(|| Error::Internal(format!("{PATH} is not built in")))?;
        let value = Error::parse_json(Path::new(PATH), text)?;
        serde_json::from_value(value).map_err(|e| Error::Schema {
            path: PATH.into(),
            pointer: String::new(),
            message: format!("not docs rules: {e}"),
        })
    }

    /// Every rail the docs use (flag values and JSON example values), sorted.
    pub fn rails(&self, docs: &Path) -> Result<BTreeSet<String>> {
        let text = read(docs, &self.payment_rails.doc);
        let mut out = BTreeSet::new();
        for pattern in &self.payment_rails.values {
            let re = regex(pattern)?;
            for caps in re.captures_iter(&text) {
                if let Some(m) = caps.get(1) {
                    out.insert(m.as_str().trim_end_matches('.').to_string());
                }
            }
        }
        Ok(out)
    }

    /// The default rail a quote_default rule states, with its line.
    pub fn stated_quote_default(&self, docs: &Path, version: &str) -> Result<Option<Found>> {
        for rule in &self.payment_rails.quote_default {
            if let Some((line, _)) = first_match(docs, version, rule)? {
                return Ok(Some(Found {
                    value: rule.rail.clone().unwrap_or_default(),
                    doc: rule.doc.clone(),
                    line,
                }));
            }
        }
        Ok(None)
    }

    pub fn required_flags(&self, docs: &Path, version: &str) -> Result<Vec<RequiredFlag>> {
        let mut out = Vec::new();
        for rule in &self.required_flags {
            let (text, offset) = scoped(docs, version, rule);
            let re = regex(&rule.pattern)?;
            for caps in re.captures_iter(&text) {
                let (Some(command), Some(flag), Some(all)) =
                    (caps.name("command"), caps.name("flag"), caps.get(0))
                else {
                    continue;
                };
                out.push(RequiredFlag {
                    command: command.as_str().trim().to_string(),
                    flag: flag.as_str().to_string(),
                    at: Found {
                        value: flag.as_str().to_string(),
                        doc: rule.doc.clone(),
                        line: offset + line_of(&text, all.start()),
                    },
                });
            }
        }
        Ok(out)
    }
}

fn regex(pattern: &str) -> Result<Regex> {
    Regex::new(pattern).map_err(|e| Error::Schema {
        path: PATH.into(),
        pointer: String::new(),
        message: format!("bad pattern {pattern:?}: {e}"),
    })
}

fn read(docs: &Path, doc: &str) -> String {
    std::fs::read_to_string(docs.join(doc)).unwrap_or_default()
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte].matches('\n').count() + 1
}

fn first_match(docs: &Path, version: &str, rule: &Rule) -> Result<Option<(usize, String)>> {
    let (text, offset) = scoped(docs, version, rule);
    let re = regex(&rule.pattern)?;
    Ok(re
        .find(&text)
        .map(|m| (offset + line_of(&text, m.start()), m.as_str().to_string())))
}

/// The rule's file, narrowed to its section: (text, line number of the
/// section's first line minus one).
fn scoped(docs: &Path, version: &str, rule: &Rule) -> (String, usize) {
    let text = read(docs, &rule.doc);
    match &rule.section {
        None => (text, 0),
        Some(section) => {
            let wanted = if section == OWN_RELEASE {
                version
            } else {
                section
            };
            section_of(&text, wanted).unwrap_or_default()
        }
    }
}

/// The lines under the first heading that names `wanted` (as `## 0.1.29 -`
/// or `` ### `image-skill credits quote` ``), up to the next heading of the
/// same or a higher level.
pub fn section_of(text: &str, wanted: &str) -> Option<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| {
        let level = l.chars().take_while(|c| *c == '#').count();
        level > 0 && {
            let title = l[level..].trim().trim_matches('`');
            title == wanted
                || title.starts_with(&format!("{wanted} "))
                || title.starts_with(&format!("{wanted}`"))
        }
    })?;
    let level = lines[start].chars().take_while(|c| *c == '#').count();
    let end = lines[start + 1..]
        .iter()
        .position(|l| {
            let l2 = l.chars().take_while(|c| *c == '#').count();
            l2 > 0 && l2 <= level && l[l2..].starts_with(' ')
        })
        .map_or(lines.len(), |i| start + 1 + i);
    Some((lines[start..end].join("\n"), start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_end_at_the_next_heading_of_their_level() {
        let text = "# T\n## 0.1.29 - 2026\n- a\n### sub\n- b\n## 0.1.28 - x\n- c\n";
        let (s, offset) = section_of(text, "0.1.29").expect("section");
        assert_eq!(offset, 1);
        assert!(s.contains("- b") && !s.contains("- c"), "{s}");
        let (s, _) = section_of(
            "### `image-skill credits quote`\nx\n### `image-skill credits buy`\ny\n",
            "image-skill credits quote",
        )
        .expect("cmd");
        assert_eq!(s.lines().count(), 2, "{s}");
    }

    #[test]
    fn the_shipped_rules_parse_and_compile() {
        let rules = DocsRules::load().expect("rules");
        for p in rules.payment_rails.values.iter().chain(
            rules
                .payment_rails
                .quote_default
                .iter()
                .chain(&rules.required_flags)
                .map(|r| &r.pattern),
        ) {
            regex(p).expect("compiles");
        }
    }
}
