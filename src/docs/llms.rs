//! llms.txt: the endpoint list (method, path, auth, fields) and the
//! envelope examples.

use std::path::Path;

use serde_json::Value;

use super::cli_md::CurlUse;
use super::placeholder::concrete;
use super::{
    API_ORIGIN, AuthNeed, CLI_MD, Endpoint, EndpointField, Example, ExampleTarget, LLMS_TXT,
    LineIndex,
};
use crate::error::{Error, Result};

pub(super) struct LlmsDoc {
    pub(super) envelopes: Vec<Example>,
    pub(super) endpoints: Vec<Endpoint>,
}

const ENDPOINTS_LABEL: &str = "Hosted API endpoints:";
const ENVELOPES: [(&str, &str); 2] = [
    ("Expected JSON envelope:", "envelope.success"),
    ("Expected error envelope:", "envelope.error"),
];

pub(super) fn parse_llms(path: &Path, text: &str, curls: &[CurlUse]) -> Result<LlmsDoc> {
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
pub(super) fn endpoint_line(item: &str, line: usize, curls: &[CurlUse]) -> Vec<Endpoint> {
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
