//! The docs parser: what a release's `cli.md` (read with pulldown-cmark,
//! event by event) and `llms.txt` (plain text) say, as data — every fenced
//! JSON example made concrete, with the command and lead-in it belongs to,
//! and the hosted API's endpoint list with auth and fields. `contracts
//! extract`, `add`, `check` and `diff` derive their outputs from this
//! model; nothing here writes files.
//!
//! Placeholder rule (one rule, applied to every string of an example):
//! a string of five or more words is prose and becomes `prose (N words)`,
//! plus ` naming a, b` for the snake_case identifiers it names, so no doc
//! sentence lands in the repository. Otherwise every `...` is filled by
//! what precedes it: `#word...` → `#word` + a fixed 120-character fragment
//! (a fragment appears only where the doc shows one); `cs_...` →
//! `cs_test_` + a fixed id; `prefix_...` → `prefix_` + a fixed id; a string
//! that is only `...` → 64 hex digits; any other `...` → a fixed id. A
//! value that is only the type name `string` (outside a `type` key) stands
//! for any string and becomes its key in upper case (`code` → `CODE`). Fixed
//! ids are 26 Crockford base32 characters (ULID-shaped, starting `01`),
//! derived from the prefix (or the key, for hex) with FNV-1a and splitmix64,
//! so the same placeholder always becomes the same value.

mod cli_md;
mod llms;
mod placeholder;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

pub(crate) const CLI_MD: &str = "cli.md";
pub(crate) const LLMS_TXT: &str = "llms.txt";
/// The hosted API's origin as the docs write it in endpoint lines and curls.
pub(crate) const API_ORIGIN: &str = "https://api.image-skill.com";

// ---------------------------------------------------------------------------
// The model of what the docs say.

/// What an example is an example of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExampleTarget {
    /// The success envelope's `data`.
    Data,
    /// A whole response body (the envelopes).
    Body,
    /// A request body sent to this API path.
    Request(String),
}

impl ExampleTarget {
    pub fn name(&self) -> &'static str {
        match self {
            ExampleTarget::Data => "data",
            ExampleTarget::Body => "body",
            ExampleTarget::Request(_) => "request",
        }
    }
}

/// One JSON example of the docs, made concrete.
#[derive(Debug, Clone)]
pub struct Example {
    /// File stem: `credits-buy`, `credits-status.action-required`.
    pub stem: String,
    /// The command heading (`image-skill credits buy`) or `envelope`.
    pub heading: String,
    /// The label that introduces it (`Minimum success data`), if any.
    pub lead_in: Option<String>,
    pub target: ExampleTarget,
    pub doc: &'static str,
    /// Line of the opening fence (cli.md) or of the label (llms.txt).
    pub line: usize,
    pub value: Value,
    /// As the docs wrote it, placeholders (`cs_...`) and all.
    pub raw: Value,
}

impl Example {
    /// `image-skill credits buy (cli.md line 356)`.
    pub fn label(&self) -> String {
        format!("{} ({} line {})", self.heading, self.doc, self.line)
    }
}

/// Whether an endpoint needs the bearer token, as the docs state it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthNeed {
    Bearer,
    None,
    /// Neither llms.txt nor a cli.md curl example says.
    Unstated,
}

impl AuthNeed {
    pub fn name(self) -> &'static str {
        match self {
            AuthNeed::Bearer => "bearer",
            AuthNeed::None => "none",
            AuthNeed::Unstated => "unstated",
        }
    }
}

/// A field an endpoint line names.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointField {
    pub name: String,
    pub optional: bool,
    pub array: bool,
    /// The alternatives when the doc says "either a or b" / "exactly one of".
    pub one_of: Vec<String>,
    /// The value the doc pins (`state: action_required`).
    pub value: Option<Value>,
}

/// One hosted API endpoint of llms.txt.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub method: String,
    /// With `{MODEL_ID}`-style parameters.
    pub path: String,
    pub line: usize,
    pub auth: AuthNeed,
    /// Where the auth need was read: (doc, line).
    pub auth_source: Option<(&'static str, usize)>,
    pub request_fields: Vec<EndpointField>,
    pub query_fields: Vec<EndpointField>,
    pub response_fields: Vec<EndpointField>,
}

impl Endpoint {
    pub fn id(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Whether a concrete request path (query and `${var}`s allowed) is this
    /// endpoint.
    pub fn matches_path(&self, concrete: &str) -> bool {
        path_matches(&self.path, concrete)
    }
}

/// Everything one docs folder yields.
#[derive(Debug, Clone)]
pub struct Extraction {
    pub version: String,
    pub examples: Vec<Example>,
    pub endpoints: Vec<Endpoint>,
}

/// Reads `DIR/cli.md` and `DIR/llms.txt`.
pub fn extract(docs: &Path, version: &str) -> Result<Extraction> {
    let cli_path = docs.join(CLI_MD);
    let llms_path = docs.join(LLMS_TXT);
    let cli_text = read(&cli_path)?;
    let llms_text = read(&llms_path)?;
    let cli = cli_md::parse_cli_md(&cli_path, &cli_text)?;
    let llms = llms::parse_llms(&llms_path, &llms_text, &cli.curls)?;

    let mut examples = cli.examples;
    examples.extend(llms.envelopes);
    let mut seen = BTreeSet::new();
    for example in &mut examples {
        let base = example.stem.clone();
        let mut n = 1;
        while !seen.insert(example.stem.clone()) {
            n += 1;
            example.stem = format!("{base}-{n}");
        }
    }
    Ok(Extraction {
        version: version.to_string(),
        examples,
        endpoints: llms.endpoints,
    })
}

pub(crate) fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

// ---------------------------------------------------------------------------

/// Byte offset → 1-based line number.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

/// Whether `concrete` (query and fragment ignored) fits the path `template`:
/// each `{param}` stands for one non-empty path segment.
pub fn path_matches(template: &str, concrete: &str) -> bool {
    let concrete = concrete.split(['?', '#']).next().unwrap_or_default();
    let want: Vec<&str> = template.split('/').collect();
    let got: Vec<&str> = concrete.split('/').collect();
    want.len() == got.len()
        && want.iter().zip(&got).all(|(w, g)| {
            if w.starts_with('{') && w.ends_with('}') {
                !g.is_empty()
            } else {
                w == g
            }
        })
}

#[cfg(test)]
mod tests {
    use super::cli_md::*;
    use super::llms::*;
    use super::placeholder::*;
    use super::*;

    #[test]
    fn placeholders_follow_the_rule() {
        let url = concrete_string("https://checkout.stripe.com/c/pay/cs_...#fid...", "x");
        let (base, fragment) = url.split_once('#').expect("fragment kept");
        assert_eq!(
            base,
            format!(
                "https://checkout.stripe.com/c/pay/cs_test_{}",
                fixed_id("cs")
            )
        );
        assert!(
            fragment.starts_with("fid") && fragment.len() == 123,
            "{fragment}"
        );
        let stripped = concrete_string("https://checkout.stripe.com/c/pay/cs_...", "x");
        assert!(!stripped.contains('#'), "no fragment invented: {stripped}");
        assert_eq!(
            concrete_string("payatt_...", "k"),
            format!("payatt_{}", fixed_id("payatt"))
        );
        assert_eq!(concrete_string("...", "sha256").len(), 64);
        assert!(
            concrete_string("é...", "k").starts_with('é'),
            "multibyte text survives"
        );
        assert_eq!(
            concrete_string("quote_...", "a"),
            concrete_string("quote_...", "b")
        );
        assert_eq!(
            concrete_string("Create job completed", "s"),
            "Create job completed"
        );
        assert_eq!(
            concrete_string("open checkout_url or the other thing now", "s"),
            "prose (7 words) naming checkout_url"
        );
    }

    #[test]
    fn lead_in_labels_name_files() {
        assert_eq!(lead_in_suffix("Minimum success data"), None);
        assert_eq!(lead_in_suffix("Minimum success data shape"), None);
        assert_eq!(
            lead_in_suffix("Minimum action-required data").as_deref(),
            Some("action-required")
        );
        assert_eq!(lead_in_suffix("/v1/edit").as_deref(), Some("v1-edit"));
    }

    #[test]
    fn endpoint_lines_yield_paths_auth_and_fields() {
        let line = "POST https://api.image-skill.com/v1/credit-quotes returns a quote for Authorization: Bearer TOKEN. Request JSON: either credits or pack_id, optional payment_method, idempotency_key. Response includes quote_id, state: created, and live_money:false. More.";
        let endpoints = endpoint_line(line, 7, &[]);
        assert_eq!(endpoints.len(), 1);
        let e = &endpoints[0];
        assert_eq!(
            (e.method.as_str(), e.path.as_str()),
            ("POST", "/v1/credit-quotes")
        );
        assert_eq!(e.auth, AuthNeed::Bearer);
        let names: Vec<(&str, bool)> = e
            .request_fields
            .iter()
            .map(|f| (f.name.as_str(), f.optional))
            .collect();
        assert_eq!(
            names,
            [
                ("credits", false),
                ("pack_id", false),
                ("payment_method", true),
                ("idempotency_key", false)
            ]
        );
        assert_eq!(e.request_fields[0].one_of, ["credits", "pack_id"]);
        assert_eq!(e.response_fields[1].value, Some(Value::from("created")));
        assert_eq!(e.response_fields[2].value, Some(Value::Bool(false)));

        let two = "GET https://api.image-skill.com/v1/models returns a list. GET https://api.image-skill.com/v1/models/MODEL_ID returns one.";
        let paths: Vec<String> = endpoint_line(two, 1, &[])
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(paths, ["/v1/models", "/v1/models/{MODEL_ID}"]);
    }

    #[test]
    fn path_patterns_match_concrete_paths() {
        let e = &endpoint_line("GET https://api.image-skill.com/v1/jobs/JOB_ID x", 1, &[])[0];
        assert!(e.matches_path("/v1/jobs/${job_id}"));
        assert!(e.matches_path("/v1/jobs/job_1?x=1"));
        assert!(!e.matches_path("/v1/jobs"));
        assert!(!e.matches_path("/v1/jobs/a/b"));
    }

    #[test]
    fn curl_examples_tell_the_method_and_token() {
        let body = "curl -sS https://api.image-skill.com/v1/credit-quotes \\\n  -H \"authorization: Bearer $T\" \\\n  -d '{}'\ncurl -sS https://api.image-skill.com/v1/credit-packs\n";
        let curls = find_curls(body, 10);
        assert_eq!(curls.len(), 2);
        assert_eq!(
            (curls[0].method.as_str(), curls[0].with_token, curls[0].line),
            ("POST", true, 10)
        );
        assert_eq!(
            (curls[1].method.as_str(), curls[1].with_token, curls[1].line),
            ("GET", false, 13)
        );
    }
}
