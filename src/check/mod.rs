//! Check stage: one file per check kind. A check returns [`CheckOutcome`]s
//! (data); the runner judges them. Adding a check is adding a file.

pub mod defaults;
mod envelope;
mod equals;
mod error_code;
mod exit_code;
pub mod fragment;
mod matches;
mod redirect;
mod rejects;
mod schema;
mod server_value;
mod status;
mod stdout;

use serde_json::Value;

use crate::contract::Contract;
use crate::mock::Served;
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
    /// The body (a client's stdout) parsed as JSON, or why it could not be.
    pub json: Result<Value, String>,
    /// For a client run: its exit code (`None` if a signal ended it).
    pub exit_code: Option<i32>,
}

impl Response {
    /// The start of the body, printable, for failure messages.
    pub fn excerpt(&self, max: usize) -> String {
        safe_excerpt(&self.body, max)
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
    /// What the mock served during this step (client mode only).
    pub served: &'a [Served],
}

/// Runs every check the step asks for, plus the envelope (always). All
/// results are returned: one failing check never hides another.
pub fn run_all(expect: &Expect, cx: &Context<'_>, cli: bool) -> Vec<CheckOutcome> {
    let mut out = Vec::new();
    if let Some(code) = expect.status {
        out.push(status::check(code, cx));
    }
    if cli {
        // Always on for a client: the documented exit code, one JSON
        // document on stdout, and no Stripe URL the server did not send.
        out.push(exit_code::check(expect.exit_code.unwrap_or(0), cx));
        out.push(stdout::check(cx));
        if cx.response.json.is_ok() {
            out.extend(envelope::check(expect.envelope_kind(), cx));
        }
    } else {
        out.extend(envelope::check(expect.envelope_kind(), cx));
        let on = |name: &str| !expect.skip.iter().any(|s| s == name);
        let expects_5xx = expect.status.is_some_and(|s| s >= 500);
        if on("not_a_server_error") && !expects_5xx {
            out.push(defaults::not_a_server_error(cx));
        }
        if on("content_type_conformance") {
            out.extend(defaults::content_type_conformance(cx));
        }
        if on("trace_id") && expect.envelope_kind() != crate::suite::EnvelopeKind::None {
            out.extend(defaults::trace_id(cx));
        }
        if on("stripe_url_fragments") {
            out.extend(defaults::stripe_url_fragments(
                cx,
                &expect.fragment_preserved,
            ));
        }
    }
    if let Some(name) = &expect.schema {
        out.extend(schema::check(name, "/data", cx));
    }
    if let Some(name) = &expect.body_schema {
        out.extend(schema::check(name, "", cx));
    }
    if let Some(kind) = expect.rejects {
        out.push(rejects::check(kind, cx));
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
    for pointer in &expect.server_value_preserved {
        out.push(server_value::check(pointer, cx));
    }
    if cli {
        out.extend(server_value::stripe_urls_verbatim(
            cx,
            &expect.server_value_preserved,
        ));
    }
    out
}

/// The start of some bytes, printable: invalid UTF-8 as `\xNN` and control
/// characters other than newline as `\u{..}`, so garbage is shown, not
/// interpreted by the terminal.
pub fn safe_excerpt(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    let mut shown = 0;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if shown == max {
                out.push('…');
                return out;
            }
            if c.is_control() && c != '\n' {
                out.push_str(&c.escape_unicode().to_string());
            } else {
                out.push(c);
            }
            shown += 1;
        }
        for b in chunk.invalid() {
            if shown == max {
                out.push('…');
                return out;
            }
            out.push_str(&format!("\\x{b:02x}"));
            shown += 1;
        }
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
