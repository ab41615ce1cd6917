//! Check stage: one file per check kind. A check returns [`CheckOutcome`]s
//! (data); the runner judges them. Adding a check is adding a file.

mod envelope;
mod equals;
mod error_code;
pub mod fragment;
mod matches;
mod redirect;
mod schema;
mod status;

use serde_json::Value;

use crate::contract::Contract;
use crate::outcome::CheckOutcome;
use crate::suite::Expect;
use crate::vars::Vars;

pub use fragment::FragmentPolicy;

/// What came back for one step, as the checks see it.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    /// The body parsed as JSON, or why it could not be.
    pub json: Result<Value, String>,
}

impl Response {
    /// The start of the body, printable, for failure messages.
    pub fn excerpt(&self, max: usize) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let mut out: String = text
            .chars()
            .take(max)
            .map(|c| {
                if c.is_control() && c != '\n' {
                    '�'
                } else {
                    c
                }
            })
            .collect();
        if text.chars().count() > max {
            out.push('…');
        }
        out
    }

    /// The JSON value at `pointer`, if the body is JSON and has one there.
    pub fn at(&self, pointer: &str) -> Option<&Value> {
        self.json.as_ref().ok()?.pointer(pointer)
    }
}

pub struct Context<'a> {
    pub contract: &'a Contract,
    pub policy: FragmentPolicy,
    pub vars: &'a Vars,
    pub response: &'a Response,
}

/// Runs every check the step asks for, plus the envelope (always). All
/// results are returned: one failing check never hides another.
pub fn run_all(expect: &Expect, cx: &Context<'_>) -> Vec<CheckOutcome> {
    let mut out = Vec::new();
    if let Some(code) = expect.status {
        out.push(status::check(code, cx));
    }
    out.extend(envelope::check(expect.envelope_kind(), cx));
    if let Some(name) = &expect.schema {
        out.extend(schema::check(name, "/data", cx));
    }
    if let Some(name) = &expect.body_schema {
        out.extend(schema::check(name, "", cx));
    }
    if let Some(code) = &expect.error_code {
        out.push(error_code::check(code, cx));
    }
    for (pointer, value) in &expect.equals {
        out.push(equals::check(pointer, value, cx));
    }
    for (pointer, re) in &expect.matches {
        out.push(matches::check(pointer, re, cx));
    }
    for pointer in &expect.fragment_preserved {
        out.push(fragment::check(pointer, cx));
    }
    if let Some(target) = &expect.redirects_to {
        out.push(redirect::check(target, cx));
    }
    out
}

/// A JSON value shown in one line, shortened for people.
pub(crate) fn show(v: &Value) -> String {
    let s = match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    if s.chars().count() > 300 {
        format!("{}…", s.chars().take(300).collect::<String>())
    } else {
        s
    }
}
