//! cli.md: fenced JSON examples with their lead-ins, and `curl` calls to
//! the hosted API (evidence of the method and whether the token is sent).

use std::path::Path;

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
use serde_json::Value;

use super::placeholder::concrete;
use super::{API_ORIGIN, CLI_MD, Example, ExampleTarget, LineIndex};
use crate::error::{Error, Result};

/// A `curl` call to the hosted API in a cli.md bash block: evidence of
/// whether an endpoint takes the token.
#[derive(Debug, Clone)]
pub(super) struct CurlUse {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) with_token: bool,
    pub(super) line: usize,
}

pub(super) struct CliDoc {
    pub(super) examples: Vec<Example>,
    pub(super) curls: Vec<CurlUse>,
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

pub(super) fn parse_cli_md(path: &Path, text: &str) -> Result<CliDoc> {
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
/// An API path as the docs write one in a code span: absolute, no spaces,
/// and either under a version prefix (`/v<n>/...`) or one bare segment
/// (`/healthz`). The rule is the notation's, so a new path needs no code.
fn is_api_path(span: &str) -> bool {
    let Some(rest) = span.strip_prefix('/') else {
        return false;
    };
    if rest.is_empty() || span.chars().any(char::is_whitespace) {
        return false;
    }
    match rest.split_once('/') {
        Some((first, tail)) => {
            !tail.is_empty()
                && first
                    .strip_prefix('v')
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        }
        None => rest
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'_'),
    }
}

fn lead_in_of(paragraph: Option<&Paragraph>) -> (Option<String>, ExampleTarget) {
    let Some(p) = paragraph else {
        return (None, ExampleTarget::Data);
    };
    let text = p.text.trim();
    if text.ends_with(':') && text.split_whitespace().count() <= 6 {
        let label = text.trim_end_matches(':').trim().to_string();
        return (Some(label), ExampleTarget::Data);
    }
    if let Some(api_path) = p.code_spans.iter().find(|c| is_api_path(c)) {
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
pub(super) fn lead_in_suffix(lead_in: &str) -> Option<String> {
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

pub(super) fn find_curls(body: &str, first_line: usize) -> Vec<CurlUse> {
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

#[cfg(test)]
mod tests {
    use super::is_api_path;

    #[test]
    fn api_paths_are_recognised_by_their_notation() {
        for path in ["/v1/credit-quotes", "/v2/x/{ID}", "/healthz"] {
            assert!(is_api_path(path), "{path}");
        }
        for other in ["/", "/v1/", "/tmp/out.png", "v1/x", "/v1/a b", "/vx/y"] {
            assert!(!is_api_path(other), "{other}");
        }
    }
}
