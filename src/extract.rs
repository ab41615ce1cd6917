//! Contracts from the docs: `conform contracts extract | check | diff`.
//!
//! `extract` reads a release's `cli.md` (with pulldown-cmark, event by event)
//! and `llms.txt` (plain text) and derives three things from them:
//!
//! - every fenced JSON example, made concrete, as
//!   `fixtures/<V>/generated/<command>[.<lead-in>].json` plus an `index.json`
//!   (`<command>.request.json` when the lead-in names an API path: a request
//!   body);
//! - the hosted API endpoint inventory as `schemas/<V>/generated/endpoints.json`;
//! - a base JSON Schema inferred from each example as
//!   `schemas/<V>/generated/<command>[.<lead-in>].base.json`.
//!
//! Generated files live in `generated/` folders so the contract loader, which
//! only reads `schemas/<V>/*.json`, never mistakes them for curated schemas.
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
//!
//! `check` is the drift gate: the docs' examples against the curated schemas,
//! and the inventory against schemas and suites.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
use serde_json::{Map, Value, json};

use crate::contract::Contract;
use crate::contract::api::ApiModel;
use crate::error::{Error, Result, exit};
use crate::suite::{self, Action, SuiteFormat, Target as RequestTarget};

const CLI_MD: &str = "cli.md";
const LLMS_TXT: &str = "llms.txt";
const API_ORIGIN: &str = "https://api.image-skill.com";
const ID_BASE: &str = "https://conform.invalid/schemas";
const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";
const GENERATED_BY: &str = "conform contracts extract";

#[derive(Debug, Args)]
pub struct ContractsArgs {
    #[command(subcommand)]
    pub command: ContractsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ContractsCommand {
    /// The first step of `add` alone: fixtures, the endpoint inventory and base
    /// schemas from the docs (no runnable contract; `add` writes one).
    Extract(ExtractArgs),
    /// Check the docs' examples and endpoints against the committed contract.
    Check(CheckArgs),
    /// Semantic diff of two contract versions, or of two docs folders.
    Diff(crate::diff::DiffArgs),
    /// Write a runnable contract version from a release's docs.
    Add(crate::contracts::add::AddArgs),
    /// Every contract version: date, base, one line of what changed.
    List(crate::contracts::ListArgs),
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// Folder holding the release's cli.md and llms.txt.
    #[arg(long, value_name = "DIR")]
    pub docs: PathBuf,
    /// Contract version the outputs are filed under.
    #[arg(long, value_name = "V")]
    pub version: String,
    /// Repository root to write fixtures/ and schemas/ under.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Folder holding the release's cli.md and llms.txt.
    #[arg(long, value_name = "DIR")]
    pub docs: PathBuf,
    /// Contract version to check against.
    #[arg(long, value_name = "V")]
    pub version: String,
    /// Read the contract from DIR/<V>/ instead of the built-in copy.
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
    /// Suite file or directory (repeatable). Default: the built-in suites.
    #[arg(long, value_name = "PATH")]
    pub suite: Vec<PathBuf>,
    /// Also fail (exit 1) on coverage gaps: examples or endpoints without a
    /// schema, endpoints without a scenario.
    #[arg(long)]
    pub strict: bool,
    /// Check the docs against the version's contract alone, not against
    /// the invariants every version must keep.
    #[arg(long)]
    pub no_invariants: bool,
}

/// Runs a `contracts` subcommand and returns the exit code.
pub fn run(args: ContractsArgs) -> Result<i32> {
    match args.command {
        ContractsCommand::Extract(args) => run_extract(&args),
        ContractsCommand::Check(args) => run_check(&args),
        ContractsCommand::Diff(args) => crate::diff::run(&args),
        ContractsCommand::Add(args) => crate::contracts::add::run(&args),
        ContractsCommand::List(args) => crate::contracts::list(&args),
    }
}

/// The strings of a JSON array (none when it is not one).
pub(crate) fn strings(list: &Value) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// Writes to stdout; a closed pipe is not worth a panic.
pub(crate) fn say(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

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
        crate::contract::api::path_matches(&self.path, concrete)
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
    let cli = parse_cli_md(&cli_path, &cli_text)?;
    let llms = parse_llms(&llms_path, &llms_text, &cli.curls)?;

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

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

// ---------------------------------------------------------------------------
// cli.md

/// A `curl` call to the hosted API in a cli.md bash block: evidence of
/// whether an endpoint takes the token.
#[derive(Debug, Clone)]
struct CurlUse {
    method: String,
    path: String,
    with_token: bool,
    line: usize,
}

struct CliDoc {
    examples: Vec<Example>,
    curls: Vec<CurlUse>,
}

/// The paragraph before an example, kept only as far as it names things.
#[derive(Default, Clone)]
struct Paragraph {
    text: String,
    code_spans: Vec<String>,
}

struct OpenBlock {
    lang: String,
    start: usize,
    body: String,
}

fn parse_cli_md(path: &Path, text: &str) -> Result<CliDoc> {
    let lines = LineIndex::new(text);
    let mut examples = Vec::new();
    let mut curls = Vec::new();

    let mut heading = String::new();
    let mut heading_buf: Option<String> = None;
    let mut paragraph: Option<Paragraph> = None;
    let mut lead_in: Option<Paragraph> = None;
    let mut block: Option<OpenBlock> = None;

    for (event, range) in Parser::new(text).into_offset_iter() {
        let is_code_span = matches!(event, Event::Code(_));
        match event {
            Event::Start(Tag::Heading { .. }) => heading_buf = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => {
                heading = heading_buf.take().unwrap_or_default().trim().to_string();
                lead_in = None;
            }
            Event::Start(Tag::Paragraph) => paragraph = Some(Paragraph::default()),
            Event::End(TagEnd::Paragraph) => lead_in = paragraph.take(),
            Event::Start(Tag::CodeBlock(kind)) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => info
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                block = Some(OpenBlock {
                    lang,
                    start: range.start,
                    body: String::new(),
                });
            }
            Event::End(TagEnd::CodeBlock) => {
                let Some(open) = block.take() else { continue };
                let fence_line = lines.line_of(open.start);
                match open.lang.as_str() {
                    "json" => {
                        check_closed(path, text, &open, range.end, fence_line, &heading)?;
                        examples.push(cli_example(
                            path,
                            &open.body,
                            fence_line,
                            &heading,
                            lead_in.as_ref(),
                        )?);
                    }
                    "bash" | "sh" | "shell" => {
                        curls.extend(find_curls(&open.body, fence_line + 1));
                    }
                    _ => {}
                }
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(open) = block.as_mut() {
                    open.body.push_str(&t);
                } else if let Some(buf) = heading_buf.as_mut() {
                    buf.push_str(&t);
                } else if let Some(p) = paragraph.as_mut() {
                    p.text.push_str(&t);
                    if is_code_span {
                        p.code_spans.push(t.to_string());
                    }
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some(p) = paragraph.as_mut() {
                    p.text.push(' ');
                }
            }
            _ => {}
        }
    }
    if examples.is_empty() {
        return Err(Error::Docs {
            path: path.to_path_buf(),
            line: None,
            message: "holds no ```json examples; is it the CLI contract?".into(),
        });
    }
    Ok(CliDoc { examples, curls })
}

/// pulldown-cmark ends an unclosed fence at the end of the file; a doc cut
/// short would otherwise surface only as a confusing JSON error.
fn check_closed(
    path: &Path,
    text: &str,
    open: &OpenBlock,
    end: usize,
    fence_line: usize,
    heading: &str,
) -> Result<()> {
    let source = text.get(open.start..end).unwrap_or_default();
    let mut block_lines = source.trim_end().lines();
    let opening = block_lines.next().unwrap_or_default().trim_start();
    let fence: String = opening
        .chars()
        .take_while(|c| *c == '`' || *c == '~')
        .collect();
    let closed = block_lines
        .last()
        .is_some_and(|last| !fence.is_empty() && last.trim().starts_with(&fence));
    if closed {
        Ok(())
    } else {
        Err(Error::Docs {
            path: path.to_path_buf(),
            line: Some(fence_line),
            message: format!(
                "the ```json example under `{heading}` is never closed; is the file cut short?"
            ),
        })
    }
}

fn cli_example(
    path: &Path,
    body: &str,
    fence_line: usize,
    heading: &str,
    lead_in: Option<&Paragraph>,
) -> Result<Example> {
    let raw = parse_embedded_json(path, body, fence_line + 1, heading)?;
    let (lead_in, target) = lead_in_of(lead_in);
    let command = heading.strip_prefix("image-skill ").unwrap_or(heading);
    let mut stem = slug(command);
    if stem.is_empty() {
        stem = "example".to_string();
    }
    let suffix = match &target {
        ExampleTarget::Request(_) => Some("request".to_string()),
        _ => lead_in.as_deref().and_then(lead_in_suffix),
    };
    if let Some(suffix) = suffix {
        stem = format!("{stem}.{suffix}");
    }
    Ok(Example {
        stem,
        heading: heading.to_string(),
        lead_in,
        target,
        doc: CLI_MD,
        line: fence_line,
        value: concrete(&raw, ""),
        raw,
    })
}

/// A short label (`Minimum success data:`) is kept as it is. A longer
/// paragraph is prose: only its code spans are kept, and when one is an API
/// path the example is that path's request body.
fn lead_in_of(paragraph: Option<&Paragraph>) -> (Option<String>, ExampleTarget) {
    let Some(p) = paragraph else {
        return (None, ExampleTarget::Data);
    };
    let text = p.text.trim();
    if text.ends_with(':') && text.split_whitespace().count() <= 6 {
        let label = text.trim_end_matches(':').trim().to_string();
        return (Some(label), ExampleTarget::Data);
    }
    if let Some(api_path) = p
        .code_spans
        .iter()
        .find(|c| c.starts_with("/v1/") || c.as_str() == "/healthz")
    {
        return (
            Some(api_path.clone()),
            ExampleTarget::Request(api_path.clone()),
        );
    }
    if p.code_spans.is_empty() {
        (None, ExampleTarget::Data)
    } else {
        (Some(p.code_spans.join(" ")), ExampleTarget::Data)
    }
}

/// The part of the file name a lead-in adds: none for the command's primary
/// example ("Minimum success data", with or without "shape").
fn lead_in_suffix(lead_in: &str) -> Option<String> {
    let words: Vec<String> = lead_in
        .split_whitespace()
        .map(str::to_lowercase)
        .filter(|w| !matches!(w.as_str(), "minimum" | "data" | "shape"))
        .collect();
    if words.is_empty() || words == ["success"] {
        return None;
    }
    let suffix = slug(&words.join(" "));
    (!suffix.is_empty()).then_some(suffix)
}

fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// Parses JSON found in a doc, reporting errors at the doc's own line.
fn parse_embedded_json(path: &Path, body: &str, first_line: usize, heading: &str) -> Result<Value> {
    serde_json::from_str(body).map_err(|e| Error::Json {
        path: path.to_path_buf(),
        line: first_line + e.line().saturating_sub(1),
        column: e.column(),
        message: format!(
            "in the JSON example under `{heading}`: {}",
            e.to_string().split(" at line").next().unwrap_or_default()
        ),
    })
}

fn find_curls(body: &str, first_line: usize) -> Vec<CurlUse> {
    let mut found = Vec::new();
    let mut command = String::new();
    let mut command_line = first_line;
    for (i, line) in body.lines().enumerate() {
        if command.is_empty() {
            command_line = first_line + i;
        }
        match line.trim_end().strip_suffix('\\') {
            Some(head) => {
                command.push_str(head);
                command.push(' ');
            }
            None => {
                command.push_str(line);
                if let Some(curl) = curl_use(&command, command_line) {
                    found.push(curl);
                }
                command.clear();
            }
        }
    }
    found
}

fn curl_use(command: &str, line: usize) -> Option<CurlUse> {
    // Split as the shell reads it, so a quoted header or body is one word
    // and a URL in quotes is still found; a line no shell could read is no
    // curl use.
    let words = shlex::split(command)?;
    if words.first().map(String::as_str) != Some("curl") {
        return None;
    }
    let path = words
        .iter()
        .find_map(|w| w.find(API_ORIGIN).map(|at| &w[at + API_ORIGIN.len()..]))?
        .to_string();
    let explicit = words
        .windows(2)
        .find(|w| w[0] == "-X" || w[0] == "--request")
        .map(|w| w[1].clone());
    let sends_body = words
        .iter()
        .any(|w| matches!(w.as_str(), "-d" | "--data" | "--data-raw"));
    let method = explicit.unwrap_or_else(|| if sends_body { "POST" } else { "GET" }.to_string());
    Some(CurlUse {
        method,
        path,
        with_token: words
            .iter()
            .any(|w| w.to_lowercase().contains("authorization: bearer")),
        line,
    })
}

// ---------------------------------------------------------------------------
// llms.txt

struct LlmsDoc {
    envelopes: Vec<Example>,
    endpoints: Vec<Endpoint>,
}

const ENDPOINTS_LABEL: &str = "Hosted API endpoints:";
const ENVELOPES: [(&str, &str); 2] = [
    ("Expected JSON envelope:", "envelope.success"),
    ("Expected error envelope:", "envelope.error"),
];

fn parse_llms(path: &Path, text: &str, curls: &[CurlUse]) -> Result<LlmsDoc> {
    let lines = LineIndex::new(text);
    let mut envelopes = Vec::new();
    for (label, stem) in ENVELOPES {
        let Some(at) = find_line(text, label) else {
            return Err(Error::Docs {
                path: path.to_path_buf(),
                line: None,
                message: format!("no `{label}` block"),
            });
        };
        let label_line = lines.line_of(at);
        let after = text[at..].find('\n').map_or(text.len(), |end| at + end);
        let body = &text[after..];
        let mut stream = serde_json::Deserializer::from_str(body).into_iter::<Value>();
        let raw = match stream.next() {
            Some(Ok(value)) => value,
            Some(Err(e)) => {
                return Err(Error::Json {
                    path: path.to_path_buf(),
                    line: label_line + e.line().saturating_sub(1),
                    column: e.column(),
                    message: format!(
                        "in the block after `{label}`: {}",
                        e.to_string().split(" at line").next().unwrap_or_default()
                    ),
                });
            }
            None => {
                return Err(Error::Docs {
                    path: path.to_path_buf(),
                    line: Some(label_line),
                    message: format!("no JSON after `{label}`"),
                });
            }
        };
        envelopes.push(Example {
            stem: stem.to_string(),
            heading: "envelope".to_string(),
            lead_in: Some(label.trim_end_matches(':').to_string()),
            target: ExampleTarget::Body,
            doc: LLMS_TXT,
            line: label_line,
            value: concrete(&raw, ""),
            raw,
        });
    }

    let Some(at) = find_line(text, ENDPOINTS_LABEL) else {
        return Err(Error::Docs {
            path: path.to_path_buf(),
            line: None,
            message: format!("no `{ENDPOINTS_LABEL}` list"),
        });
    };
    let first = lines.line_of(at);
    let mut endpoints = Vec::new();
    for (i, line) in text.lines().enumerate().skip(first) {
        let Some(item) = line.strip_prefix("- ") else {
            break;
        };
        endpoints.extend(endpoint_line(item, i + 1, curls));
    }
    if endpoints.is_empty() {
        return Err(Error::Docs {
            path: path.to_path_buf(),
            line: Some(first),
            message: format!("`{ENDPOINTS_LABEL}` lists no `METHOD {API_ORIGIN}/...` lines"),
        });
    }
    Ok(LlmsDoc {
        envelopes,
        endpoints,
    })
}

/// Byte offset of the line whose trimmed text is `label`.
fn find_line(text: &str, label: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim() == label {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// One bullet can name two endpoints (`models` and `models/MODEL_ID`); each
/// gets the field lists of its own part of the line. Auth is decided for the
/// whole line: it names `Authorization: Bearer` → bearer, it says `no-auth`
/// → none; otherwise a cli.md curl example of the endpoint decides (a token
/// header → bearer, none → none); otherwise unstated.
fn endpoint_line(item: &str, line: usize, curls: &[CurlUse]) -> Vec<Endpoint> {
    let mut starts = Vec::new();
    for method in METHODS {
        let needle = format!("{method} {API_ORIGIN}/");
        starts.extend(item.match_indices(&needle).map(|(i, _)| (i, method)));
    }
    starts.sort();
    let line_auth = if item.contains("Authorization: Bearer") {
        Some(AuthNeed::Bearer)
    } else if item.contains("no-auth") {
        Some(AuthNeed::None)
    } else {
        None
    };
    let mut endpoints = Vec::new();
    for (n, (start, method)) in starts.iter().enumerate() {
        let end = starts.get(n + 1).map_or(item.len(), |(next, _)| *next);
        let part = &item[*start..end];
        let url_start = method.len() + 1 + API_ORIGIN.len();
        let raw_path: String = part[url_start..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        let raw_path = raw_path.trim_end_matches(['.', ',', ';', ')']);
        let raw_path = raw_path.split('?').next().unwrap_or_default();
        let path = raw_path
            .split('/')
            .map(|seg| {
                let is_param = !seg.is_empty()
                    && seg.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                    && seg.chars().any(|c| c.is_ascii_uppercase());
                if is_param {
                    format!("{{{seg}}}")
                } else {
                    seg.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let mut endpoint = Endpoint {
            method: method.to_string(),
            path,
            line,
            auth: AuthNeed::Unstated,
            auth_source: None,
            request_fields: request_fields(part),
            query_fields: query_fields(part),
            response_fields: response_fields(part),
        };
        match line_auth {
            Some(auth) => {
                endpoint.auth = auth;
                endpoint.auth_source = Some((LLMS_TXT, line));
            }
            None => {
                if let Some(curl) = curls
                    .iter()
                    .find(|c| c.method == endpoint.method && endpoint.matches_path(&c.path))
                {
                    endpoint.auth = if curl.with_token {
                        AuthNeed::Bearer
                    } else {
                        AuthNeed::None
                    };
                    endpoint.auth_source = Some((CLI_MD, curl.line));
                }
            }
        }
        endpoints.push(endpoint);
    }
    endpoints
}

/// The list after `marker`, up to the end of its sentence.
fn list_after<'a>(part: &'a str, marker: &str) -> Option<&'a str> {
    let start = part.find(marker)? + marker.len();
    let rest = &part[start..];
    let end = rest.find(". ").unwrap_or(rest.len());
    Some(rest[..end].trim().trim_end_matches('.'))
}

fn list_items(list: &str) -> Vec<&str> {
    list.split(", ")
        .map(|item| {
            let item = item.trim();
            item.strip_prefix("and ")
                .or_else(|| item.strip_prefix("or "))
                .unwrap_or(item)
        })
        .filter(|item| !item.is_empty())
        .collect()
}

fn is_field_name(token: &str) -> bool {
    let name = token.strip_suffix("[]").unwrap_or(token);
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
}

fn field(name: &str, optional: bool) -> EndpointField {
    EndpointField {
        name: name.trim_end_matches("[]").to_string(),
        optional,
        array: name.ends_with("[]"),
        one_of: Vec::new(),
        value: None,
    }
}

/// `Request JSON: either a or b, optional c for ..., d`. Items that are not
/// `[optional] name [for ...]` are descriptions, not fields, and are left out.
fn request_fields(part: &str) -> Vec<EndpointField> {
    let Some(list) = list_after(part, "Request JSON:") else {
        return Vec::new();
    };
    let mut fields = Vec::new();
    for item in list_items(list) {
        if let Some(choice) = item.strip_prefix("either ") {
            let names: Vec<&str> = choice.split(" or ").map(str::trim).collect();
            if names.iter().all(|n| is_field_name(n)) {
                let one_of: Vec<String> = names
                    .iter()
                    .map(|n| n.trim_end_matches("[]").to_string())
                    .collect();
                for name in names {
                    let mut f = field(name, false);
                    f.one_of = one_of.clone();
                    fields.push(f);
                }
            }
            continue;
        }
        let mut words = item.split_whitespace().peekable();
        let optional = words.next_if_eq(&"optional").is_some();
        let Some(name) = words.next() else { continue };
        let qualifier_ok = words.peek().is_none_or(|w| *w == "for");
        if is_field_name(name) && qualifier_ok {
            fields.push(field(name, optional));
        }
    }
    fields
}

/// `Optional query: a, b` or `Query with exactly one of a, b, or c`.
fn query_fields(part: &str) -> Vec<EndpointField> {
    if let Some(list) = list_after(part, "Optional query:") {
        return list_items(list)
            .into_iter()
            .filter(|n| is_field_name(n))
            .map(|n| field(n, true))
            .collect();
    }
    if let Some(list) = list_after(part, "Query with exactly one of") {
        let names: Vec<&str> = list_items(list)
            .into_iter()
            .filter(|n| is_field_name(n))
            .collect();
        let one_of: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        return names
            .into_iter()
            .map(|n| {
                let mut f = field(n, false);
                f.one_of = one_of.clone();
                f
            })
            .collect();
    }
    Vec::new()
}

/// `Response includes a, b: value, and c:false`.
fn response_fields(part: &str) -> Vec<EndpointField> {
    let Some(list) = list_after(part, "Response includes") else {
        return Vec::new();
    };
    let mut fields = Vec::new();
    for item in list_items(list) {
        let (name, value) = match item.split_once(':') {
            Some((name, value)) => (name.trim(), Some(value.trim())),
            None => (item, None),
        };
        if !is_field_name(name) {
            continue;
        }
        let mut f = field(name, false);
        f.value = value.map(|v| serde_json::from_str(v).unwrap_or_else(|_| Value::from(v)));
        fields.push(f);
    }
    fields
}

// ---------------------------------------------------------------------------
// Placeholders → concrete values (the rule is in the module doc).

const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";
const PROSE_WORDS: usize = 5;

fn concrete(value: &Value, key: &str) -> Value {
    match value {
        Value::String(s) => Value::String(concrete_string(s, key)),
        Value::Array(items) => Value::Array(items.iter().map(|v| concrete(v, key)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), concrete(v, k)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn concrete_string(text: &str, key: &str) -> String {
    let words = text.split_whitespace().count();
    if words >= PROSE_WORDS {
        let mut names: Vec<&str> = Vec::new();
        for word in text.split_whitespace() {
            let word = word.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
            let snake = word.contains('_')
                && word.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if snake && !names.contains(&word) {
                names.push(word);
            }
        }
        return if names.is_empty() {
            format!("prose ({words} words)")
        } else {
            format!("prose ({words} words) naming {}", names.join(", "))
        };
    }
    if text == "..." {
        return derived(&format!("hex:{key}"), 64, HEX);
    }
    if text == "string" && key != "type" {
        return if key.is_empty() {
            "STRING".to_string()
        } else {
            key.to_uppercase().replace('-', "_")
        };
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("...") {
        let before = &rest[..at];
        let word_start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let word = &before[word_start..];
        let after_hash = before[..word_start].ends_with('#');
        out.push_str(&before[..word_start]);
        if after_hash {
            out.push_str(word);
            out.push_str(&derived(&format!("fragment:{word}"), 120, ALPHANUMERIC));
        } else if word == "cs_" {
            out.push_str("cs_test_");
            out.push_str(&fixed_id("cs"));
        } else if let Some(prefix) = word.strip_suffix('_') {
            out.push_str(word);
            out.push_str(&fixed_id(prefix));
        } else {
            out.push_str(word);
            out.push_str(&fixed_id(word));
        }
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    out
}

fn fixed_id(prefix: &str) -> String {
    format!("01{}", derived(&format!("id:{prefix}"), 24, CROCKFORD))
}

fn derived(seed: &str, len: usize, alphabet: &[u8]) -> String {
    let mut state = crate::hash::fnv1a(seed.as_bytes());
    (0..len)
        .map(|_| {
            let z = crate::hash::splitmix64(state);
            state = state.wrapping_add(crate::hash::SPLITMIX_GAMMA);
            let at = usize::try_from(z % alphabet.len() as u64).unwrap_or(0);
            char::from(alphabet[at])
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Outputs.

/// A base schema inferred from an example: types and the keys present.
pub fn infer_schema(value: &Value) -> Value {
    match value {
        Value::Null => json!({ "type": "null" }),
        Value::Bool(_) => json!({ "type": "boolean" }),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({ "type": "integer" }),
        Value::Number(_) => json!({ "type": "number" }),
        Value::String(_) => json!({ "type": "string" }),
        Value::Array(items) => match items.first() {
            Some(first) => json!({ "type": "array", "items": infer_schema(first) }),
            None => json!({ "type": "array" }),
        },
        Value::Object(map) => {
            let properties: Map<String, Value> = map
                .iter()
                .map(|(k, v)| (k.clone(), infer_schema(v)))
                .collect();
            let mut schema = json!({ "type": "object", "properties": properties });
            let required: BTreeSet<&String> = map.keys().collect();
            if !required.is_empty() {
                schema["required"] = json!(required);
            }
            schema
        }
    }
}

/// Recursively sorts object keys: for outputs whose key order means nothing.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let ordered: BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(ordered.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn pretty(value: &Value) -> Result<String> {
    serde_json::to_string_pretty(value)
        .map(|text| text + "\n")
        .map_err(|e| Error::Internal(format!("cannot serialize generated JSON: {e}")))
}

fn field_json(f: &EndpointField) -> Value {
    let mut out = json!({ "name": f.name, "optional": f.optional });
    if f.array {
        out["array"] = Value::Bool(true);
    }
    if !f.one_of.is_empty() {
        out["one_of"] = json!(f.one_of);
    }
    if let Some(v) = &f.value {
        out["value"] = v.clone();
    }
    out
}

/// The inventory as written to `endpoints.json`.
pub fn inventory_json(extraction: &Extraction) -> Value {
    let endpoints: Vec<Value> = extraction
        .endpoints
        .iter()
        .map(|e| {
            let mut out = json!({
                "method": e.method,
                "path": e.path,
                "line": e.line,
                "auth": e.auth.name(),
                "request_fields": e.request_fields.iter().map(field_json).collect::<Vec<_>>(),
                "query_fields": e.query_fields.iter().map(field_json).collect::<Vec<_>>(),
                "response_fields": e.response_fields.iter().map(field_json).collect::<Vec<_>>(),
            });
            if let Some((doc, line)) = e.auth_source {
                out["auth_source"] = json!({ "doc": doc, "line": line });
            }
            out
        })
        .collect();
    sorted(json!({
        "generated_by": GENERATED_BY,
        "version": extraction.version,
        "doc": LLMS_TXT,
        "endpoints": endpoints,
    }))
}

/// Every generated file: (path relative to the output root, text).
pub fn outputs(extraction: &Extraction) -> Result<Vec<(PathBuf, String)>> {
    let v = &extraction.version;
    let fixtures = Path::new("fixtures").join(v).join("generated");
    let schemas = Path::new("schemas").join(v).join("generated");
    let mut files = Vec::new();
    let mut index = Vec::new();
    for example in &extraction.examples {
        let file = format!("{}.json", example.stem);
        files.push((fixtures.join(&file), pretty(&example.value)?));

        let mut entry = json!({
            "file": file,
            "heading": example.heading,
            "lead_in": example.lead_in,
            "doc": example.doc,
            "line": example.line,
            "target": example.target.name(),
        });
        if let ExampleTarget::Request(path) = &example.target {
            entry["request_path"] = Value::from(path.clone());
        }
        index.push(entry);

        let name = format!("{}.base.json", example.stem);
        let mut schema = infer_schema(&example.value);
        schema["$schema"] = Value::from(DRAFT_2020_12);
        // Version-free, so a release whose example did not change inherits
        // its base's file.
        schema["$id"] = Value::from(format!("{ID_BASE}/generated/{name}"));
        schema["$comment"] = Value::from(format!(
            "generated by `{GENERATED_BY}` from {} line {} ({}); the curated schema refines it",
            example.doc, example.line, example.heading
        ));
        files.push((schemas.join(name), pretty(&sorted(schema))?));
    }
    let index = sorted(json!({
        "generated_by": GENERATED_BY,
        "version": v,
        "examples": index,
    }));
    files.push((fixtures.join("index.json"), pretty(&index)?));
    files.push((
        schemas.join("endpoints.json"),
        pretty(&inventory_json(extraction))?,
    ));
    files.sort();
    Ok(files)
}

fn run_extract(args: &ExtractArgs) -> Result<i32> {
    // Run from elsewhere, the default `.` would scatter fixtures/ and
    // schemas/ into whatever directory this is.
    if args.out == Path::new(".") && !args.out.join("schemas").is_dir() {
        return Err(Error::Usage(format!(
            "`{}` is not a conform checkout (no schemas/ folder): run from the repository root or pass --out DIR",
            args.out.display()
        )));
    }
    let extraction = extract(&args.docs, &args.version)?;
    let files = outputs(&extraction)?;
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    for (rel, text) in &files {
        let path = args.out.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| Error::Read {
                path: dir.to_path_buf(),
                source,
            })?;
            dirs.insert(dir.to_path_buf());
        }
        std::fs::write(&path, text).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
    }
    // generated/ folders belong to extract alone: files it no longer
    // produces would otherwise linger and look current.
    let written: BTreeSet<PathBuf> = files.iter().map(|(rel, _)| args.out.join(rel)).collect();
    let mut removed = 0;
    for dir in &dirs {
        let entries = std::fs::read_dir(dir).map_err(|source| Error::Read {
            path: dir.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") && !written.contains(&path) {
                std::fs::remove_file(&path).map_err(|source| Error::Read {
                    path: path.clone(),
                    source,
                })?;
                removed += 1;
            }
        }
    }
    let base = Path::new("schemas").join(&args.version).join("generated");
    say(&format!(
        "extracted {} examples and {} endpoints from {}\nwrote {} files under {} ({} and {}){}\n",
        extraction.examples.len(),
        extraction.endpoints.len(),
        args.docs.display(),
        files.len(),
        args.out.display(),
        Path::new("fixtures")
            .join(&args.version)
            .join("generated")
            .display(),
        base.display(),
        if removed > 0 {
            format!("; removed {removed} stale")
        } else {
            String::new()
        }
    ));
    Ok(exit::PASSED)
}

// ---------------------------------------------------------------------------
// check

/// The envelope examples of llms.txt, by the label that introduces them.
const ENVELOPE_SCHEMAS: &[(&str, &str)] = &[
    ("Expected JSON envelope", "success-envelope"),
    ("Expected error envelope", "error-envelope"),
];

const COMMAND_PREFIX: &str = "image-skill ";

/// The contract schema a docs example shows, from the API model: a
/// command's example is its endpoint's `data`, a request example the body
/// schema of the endpoint it is sent to, an envelope by its label.
pub fn example_schema<'a>(example: &Example, api: &'a ApiModel) -> Option<&'a str> {
    match &example.target {
        ExampleTarget::Body => ENVELOPE_SCHEMAS
            .iter()
            .find(|(label, _)| example.lead_in.as_deref() == Some(*label))
            .map(|(_, name)| *name),
        ExampleTarget::Request(path) => api
            .endpoints
            .iter()
            .find(|e| e.method == "POST" && e.path.eq_ignore_ascii_case(path))
            .and_then(|e| match &e.body {
                Some(crate::contract::api::Body::Schema { schema }) => Some(schema.as_str()),
                _ => None,
            }),
        ExampleTarget::Data => {
            let argv = example.heading.strip_prefix(COMMAND_PREFIX)?;
            api.endpoints
                .iter()
                .find(|e| e.command == argv)
                .and_then(data_schema)
        }
    }
}

fn data_schema(endpoint: &crate::contract::api::Endpoint) -> Option<&str> {
    match &endpoint.response {
        crate::contract::api::Response::Data(name) => Some(name.as_str()),
        crate::contract::api::Response::Redirect(_) => None,
    }
}

/// The contract schema of a docs endpoint's success `data`, from the API
/// model (`{MODEL_ID}` and `{model_id}` are one template).
pub fn endpoint_schema<'a>(endpoint: &Endpoint, api: &'a ApiModel) -> Option<&'a str> {
    api.endpoints
        .iter()
        .find(|e| e.method == endpoint.method && e.path.eq_ignore_ascii_case(&endpoint.path))
        .and_then(data_schema)
}

/// How one example fared.
enum ExampleStatus {
    Conforms,
    NoSchema,
    Fails(Vec<crate::contract::Violation>),
}

fn run_check(args: &CheckArgs) -> Result<i32> {
    let extraction = extract(&args.docs, &args.version)?;
    let contract = match &args.schemas {
        Some(dir) => Contract::from_dir(dir, &args.version)?,
        None => Contract::embedded(&args.version)?,
    };
    let format = SuiteFormat::new()?;
    let suites = if args.suite.is_empty() {
        suite::load_embedded(&format)?
    } else {
        suite::load_paths(&format, &args.suite)?
    };

    let mut out = format!(
        "contracts check: {} against contract {}\n",
        args.docs.display(),
        contract.version()
    );
    let mut drift = 0;
    let mut gaps = 0;
    let (mut docs_examples, mut docs_ok, mut envelopes, mut envelopes_ok) = (0, 0, 0, 0);

    out.push_str("\nexamples\n");
    for example in &extraction.examples {
        let schema = example_schema(example, contract.api());
        let status = match schema.filter(|s| contract.has_schema(s)) {
            Some(name) => {
                let violations = contract.validate(name, &example.value)?;
                if violations.is_empty() {
                    ExampleStatus::Conforms
                } else {
                    ExampleStatus::Fails(violations)
                }
            }
            None => ExampleStatus::NoSchema,
        };
        let is_envelope = example.target == ExampleTarget::Body;
        if is_envelope {
            envelopes += 1;
        } else {
            docs_examples += 1;
        }
        let schema_name = schema.unwrap_or("(none in the table)");
        match status {
            ExampleStatus::Conforms => {
                if is_envelope {
                    envelopes_ok += 1;
                } else {
                    docs_ok += 1;
                }
                out.push_str(&format!(
                    "  ok         {} → {schema_name}\n",
                    example.label()
                ));
            }
            ExampleStatus::NoSchema => {
                gaps += 1;
                out.push_str(&format!(
                    "  no schema  {} → {schema_name} (not in contract {})\n",
                    example.label(),
                    contract.version()
                ));
            }
            ExampleStatus::Fails(violations) => {
                drift += 1;
                out.push_str(&format!(
                    "  DRIFT      {} → {schema_name}\n",
                    example.label()
                ));
                for v in violations {
                    let (pointer, message) = actionable(&v);
                    out.push_str(&format!("               at {pointer}: {message}\n"));
                }
            }
        }
    }

    out.push_str("\nendpoints\n");
    let mut covered = 0;
    let mut per_endpoint = Vec::new();
    let width = extraction
        .endpoints
        .iter()
        .map(|e| e.id().len())
        .max()
        .unwrap_or(0);
    for endpoint in &extraction.endpoints {
        let schema = endpoint_schema(endpoint, contract.api());
        let has_schema = schema.is_some_and(|s| contract.has_schema(s));
        let scenarios = scenarios_for(endpoint, &suites);
        per_endpoint.push(scenarios.len());
        let mut problems = Vec::new();
        if !has_schema {
            problems.push(format!("no schema `{}`", schema.unwrap_or("?")));
        }
        if scenarios.is_empty() {
            problems.push("no scenario".to_string());
        }
        let id = endpoint.id();
        if problems.is_empty() {
            covered += 1;
            out.push_str(&format!(
                "  ok   {id:width$}  schema {}, {} scenario{}\n",
                schema.unwrap_or_default(),
                scenarios.len(),
                if scenarios.len() == 1 { "" } else { "s" }
            ));
        } else {
            gaps += 1;
            out.push_str(&format!("  gap  {id:width$}  {}\n", problems.join(", ")));
        }
    }

    out.push_str("\ngenerated files\n");
    let committed = committed_generated(args.schemas.as_deref(), contract.chain())?;
    let stale = if committed.is_empty() {
        gaps += 1;
        out.push_str(&format!(
            "  none committed for {}; run `conform contracts extract`\n",
            args.version
        ));
        0
    } else {
        let problems = generated_drift(&extraction, &committed)?;
        if problems.is_empty() {
            out.push_str(&format!(
                "  ok   {} files under schemas/{}/generated agree with the docs\n",
                committed.len(),
                args.version
            ));
        }
        for problem in &problems {
            out.push_str(&format!("  DRIFT  {problem}\n"));
        }
        problems.len()
    };

    out.push_str("\ninvariants\n");
    let broken = if args.no_invariants {
        out.push_str("  not applied (--no-invariants)\n");
        0
    } else {
        let invariants = crate::contract::invariants::Invariants::embedded()?;
        let findings = invariants.check_docs(&args.docs, &extraction.examples)?;
        let mut ids: Vec<&str> = findings.iter().map(|f| f.invariant.as_str()).collect();
        ids.dedup();
        for inv in &invariants.invariants {
            if inv.docs.is_none() && !ids.contains(&inv.id.as_str()) {
                continue;
            }
            let mine: Vec<_> = findings.iter().filter(|f| f.invariant == inv.id).collect();
            if mine.is_empty() {
                out.push_str(&format!(
                    "  ok     invariant {}: the docs keep it\n",
                    inv.id
                ));
                continue;
            }
            out.push_str(&format!("  BROKEN invariant {}: {}\n", inv.id, inv.rule));
            for f in mine {
                out.push_str(&format!(
                    "           {} line {}{}: {}\n",
                    f.doc,
                    f.line,
                    f.field
                        .as_deref()
                        .map(|x| format!(" ({x})"))
                        .unwrap_or_default(),
                    f.what
                ));
            }
        }
        findings.len()
    };

    per_endpoint.sort_unstable();
    let median = per_endpoint
        .get(per_endpoint.len() / 2)
        .copied()
        .unwrap_or(0);
    out.push_str(&format!(
        "\nendpoints {covered}/{}, examples {docs_ok}/{docs_examples}, scenarios per endpoint: min {}, median {median}, max {}\n",
        extraction.endpoints.len(),
        per_endpoint.first().copied().unwrap_or(0),
        per_endpoint.last().copied().unwrap_or(0),
    ));
    out.push_str(&format!("envelopes {envelopes_ok}/{envelopes}\n"));
    let code = if drift > 0 || stale > 0 || broken > 0 {
        let mut parts = Vec::new();
        if broken > 0 {
            parts.push(format!(
                "the docs break an invariant in {broken} place{}",
                if broken == 1 { "" } else { "s" }
            ));
        }
        if drift > 0 {
            parts.push(format!(
                "{drift} example{} of the docs fail{} the committed schema",
                if drift == 1 { "" } else { "s" },
                if drift == 1 { "s" } else { "" }
            ));
        }
        if stale > 0 {
            parts.push(format!(
                "{stale} difference{} between the docs and the committed generated files (rerun `conform contracts extract` if the docs are right)",
                if stale == 1 { "" } else { "s" }
            ));
        }
        out.push_str(&format!("failed: {}\n", parts.join("; ")));
        exit::CHECK_FAILED
    } else if gaps > 0 && args.strict {
        out.push_str(&format!("{gaps} coverage gaps (--strict)\n"));
        exit::CHECK_FAILED
    } else {
        if gaps > 0 {
            out.push_str(&format!(
                "{gaps} coverage gaps (not failing without --strict)\n"
            ));
        }
        exit::PASSED
    };
    say(&out);
    Ok(code)
}

/// The file in a version's `generated/` that lists the generated files
/// the version has, when that set differs from its base's.
pub const GENERATED_NAMES: &str = "names.json";

/// One version's own `generated/*.json`: under `--schemas` when the
/// version's folder is there, else built in.
fn generated_folder(schemas: Option<&Path>, version: &str) -> Result<BTreeMap<String, Value>> {
    let mut files = BTreeMap::new();
    match schemas.filter(|root| root.join(version).is_dir()) {
        None => {
            let prefix = format!("schemas/{version}/generated/");
            for (path, text) in crate::embedded::SCHEMAS {
                if let Some(name) = path.strip_prefix(&prefix) {
                    files.insert(name.to_string(), Error::parse_json(Path::new(path), text)?);
                }
            }
        }
        Some(root) => {
            let dir = root.join(version).join("generated");
            let Ok(entries) = std::fs::read_dir(&dir) else {
                return Ok(files);
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "json") {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    files.insert(name, Error::parse_json(&path, &read(&path)?)?);
                }
            }
        }
    }
    Ok(files)
}

/// `generated/*.json` as committed for the first version of `chain` (a
/// version and those it extends): each file from the nearest version that
/// has it; the set from the nearest `names.json`, else every file found.
pub fn committed_generated(
    schemas: Option<&Path>,
    chain: &[String],
) -> Result<BTreeMap<String, Value>> {
    let mut names: Option<BTreeSet<String>> = None;
    let mut files = BTreeMap::new();
    for version in chain {
        let own = generated_folder(schemas, version)?;
        if names.is_none() {
            if let Some(list) = own.get(GENERATED_NAMES) {
                names = Some(strings(&list["files"]).into_iter().collect());
            }
        }
        for (name, value) in own {
            if name != GENERATED_NAMES {
                files.entry(name).or_insert(value);
            }
        }
    }
    if let Some(names) = names {
        files.retain(|name, _| names.contains(name));
    }
    Ok(files)
}

/// Drops what moves when unrelated doc text moves: the keys named here
/// (line numbers, the comment and auth source that cite them), at the top
/// level of `value` only.
fn without(value: &Value, keys: &[&str]) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !keys.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// What the docs say now against what `extract` last wrote: an example or
/// endpoint that appeared, vanished (a docs file cut short) or changed shape.
/// Whether two versions of generated file `name` say the same about the
/// docs (line numbers, comments and `$id`s aside).
pub fn same_generated(name: &str, old: &Value, new: &Value) -> bool {
    if name == "endpoints.json" {
        inventory_drift(old, new).is_empty()
    } else {
        without(old, &["$comment", "$id"]) == without(new, &["$comment", "$id"])
    }
}

pub fn generated_drift(
    extraction: &Extraction,
    committed: &BTreeMap<String, Value>,
) -> Result<Vec<String>> {
    let prefix = Path::new("schemas")
        .join(&extraction.version)
        .join("generated");
    let mut fresh = BTreeMap::new();
    for (path, text) in outputs(extraction)? {
        if let Ok(name) = path.strip_prefix(&prefix) {
            let name = name.to_string_lossy().into_owned();
            fresh.insert(name.clone(), Error::parse_json(&path, &text)?);
        }
    }
    let mut problems = Vec::new();
    let names: BTreeSet<&String> = fresh.keys().chain(committed.keys()).collect();
    for name in names {
        let example = name.strip_suffix(".base.json").unwrap_or(name);
        match (committed.get(name), fresh.get(name)) {
            (Some(_), None) => problems.push(format!(
                "example `{example}` is committed but no longer in the docs (is a file cut short?)"
            )),
            (None, Some(_)) => problems.push(format!(
                "example `{example}` is in the docs but not committed"
            )),
            (Some(old), Some(new)) if name == "endpoints.json" => {
                problems.extend(inventory_drift(old, new));
            }
            (Some(old), Some(new))
                if without(old, &["$comment", "$id"]) != without(new, &["$comment", "$id"]) =>
            {
                problems.push(format!(
                    "example `{example}` has another shape than committed in {name}"
                ))
            }
            _ => {}
        }
    }
    Ok(problems)
}

fn inventory_drift(old: &Value, new: &Value) -> Vec<String> {
    let by_id = |inventory: &Value| -> BTreeMap<String, Value> {
        inventory
            .get("endpoints")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|e| {
                let id = format!(
                    "{} {}",
                    e.get("method").and_then(Value::as_str).unwrap_or_default(),
                    e.get("path").and_then(Value::as_str).unwrap_or_default()
                );
                (id, without(e, &["line", "auth_source"]))
            })
            .collect()
    };
    let (old, new) = (by_id(old), by_id(new));
    let ids: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    ids.into_iter()
        .filter_map(|id| match (old.get(id), new.get(id)) {
            (Some(_), None) => Some(format!(
                "endpoint `{id}` is committed but no longer in the docs"
            )),
            (None, Some(_)) => Some(format!("endpoint `{id}` is in the docs but not committed")),
            (Some(a), Some(b)) if a != b => Some(format!(
                "endpoint `{id}` reads differently than committed (auth or fields)"
            )),
            _ => None,
        })
        .collect()
}

/// A missing property is reported at the property's own pointer, which is
/// where a reader has to look.
fn actionable(v: &crate::contract::Violation) -> (String, String) {
    if let Some(name) = v
        .message
        .strip_suffix(" is a required property")
        .and_then(|q| q.strip_prefix('"'))
        .and_then(|q| q.strip_suffix('"'))
    {
        return (
            format!("{}/{}", v.pointer, suite::pointer_key(name)),
            "required property missing".to_string(),
        );
    }
    let pointer = if v.pointer.is_empty() {
        "/ (the example itself)".to_string()
    } else {
        v.pointer.clone()
    };
    (pointer, v.message.clone())
}

/// Names (`suite/scenario`) of scenarios with an HTTP step that requests
/// this endpoint.
fn scenarios_for(endpoint: &Endpoint, suites: &[suite::Suite]) -> Vec<String> {
    let mut names = Vec::new();
    for s in suites {
        for scenario in &s.scenarios {
            let hits = scenario.steps.iter().any(|step| match &step.action {
                Action::Http(request) => {
                    request.method.eq_ignore_ascii_case(&endpoint.method)
                        && matches!(&request.target, RequestTarget::Path(p) if endpoint.matches_path(p))
                }
                _ => false,
            });
            if hits {
                names.push(format!("{}/{}", s.name, scenario.name));
            }
        }
    }
    names
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

#[cfg(test)]
mod tests {
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

    #[test]
    fn inferred_schemas_require_the_keys_present() {
        let schema = infer_schema(&json!({"b": 1, "a": [{"x": 0.5}], "c": null}));
        assert_eq!(schema["required"], json!(["a", "b", "c"]));
        assert_eq!(
            schema["properties"]["a"]["items"]["properties"]["x"]["type"],
            "number"
        );
        assert_eq!(schema["properties"]["b"]["type"], "integer");
    }
}
