//! Check stage: one file per check kind. A check returns [`CheckOutcome`]s
//! (data); the runner judges them. Adding a check is adding a file (its
//! key, schema fragment, parser and evaluator) and one line in
//! [`Registry::builtin`]; the suite format's `expect` is generated from
//! the registry.

pub mod defaults;
pub mod envelope;
pub mod equals;
pub mod error_code;
pub mod exit_code;
pub mod fragment;
pub mod idempotent_charge;
pub mod invariants;
pub mod matches;
pub mod no_spend;
pub mod no_token_echo;
pub mod redirect;
pub mod rejects;
pub mod schema;
pub mod server_value;
pub mod status;
mod stdout;

use std::any::Any;
use std::sync::Arc;

use serde_json::Value;

use crate::contract::Contract;
use crate::error::Result;
use crate::mock::{Ledger, Served};
use crate::outcome::CheckOutcome;
use crate::suite::{Expect, Location};
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
    /// For a client run: what it printed on stderr (empty for HTTP).
    pub stderr: Vec<u8>,
}

impl Response {
    /// The start of the body, printable, for failure messages.
    pub fn excerpt(&self, max: usize) -> String {
        safe_excerpt(&self.body, max)
    }

    /// The JSON value at `pointer`, if the body is JSON and has one there.
    pub fn at(&self, pointer: &str) -> Option<&Value> {
        lookup(self.json.as_ref().ok()?, pointer)
    }
}

/// `value.pointer(pointer)` (RFC 6901) without its two `String`s per
/// token: a token is unescaped only when it holds a `~`. Checks look up
/// several pointers in every answer.
pub fn lookup<'v>(value: &'v Value, pointer: &str) -> Option<&'v Value> {
    if pointer.is_empty() {
        return Some(value);
    }
    let mut target = value;
    for token in pointer.strip_prefix('/')?.split('/') {
        let token = crate::hash::pointer_token(token);
        target = match target {
            Value::Object(map) => map.get(token.as_ref())?,
            // As serde_json reads an index: digits, no sign, no leading zero.
            Value::Array(items) => {
                let digits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
                if !digits || (token.len() > 1 && token.starts_with('0')) {
                    return None;
                }
                items.get(token.parse::<usize>().ok()?)?
            }
            _ => return None,
        };
    }
    Some(target)
}

pub struct Context<'a> {
    pub contract: &'a Contract,
    pub policy: FragmentPolicy,
    pub vars: &'a Vars,
    pub response: &'a Response,
    /// What the mock served during this step (client mode only).
    pub served: &'a [Served],
    /// The token a client step handed the client (client mode only).
    pub handed_token: Option<&'a str>,
    /// A client step's own arguments, variables filled in (empty for HTTP).
    pub cli_args: &'a [String],
    /// The mock's ledger before and after the step (client mode only).
    pub ledger: Option<LedgerChange>,
}

/// The mock's credit ledger around one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerChange {
    pub before: Ledger,
    pub after: Ledger,
}

impl LedgerChange {
    /// Credits the step took: free preview used plus paid balance lost.
    pub fn debited(&self) -> u64 {
        let free = self
            .after
            .free_preview_used
            .saturating_sub(self.before.free_preview_used);
        free + self.before.balance.saturating_sub(self.after.balance)
    }
}

/// A check's settings as its [`Check::parse`] made them from its value
/// under `expect`; read back with [`Expect::config`].
pub type Config = Arc<dyn Any + Send + Sync>;

/// What a check sees of the step besides the response.
pub struct StepInput<'a> {
    pub expect: &'a Expect,
    /// The value of this check's key under `expect`, as written (its
    /// parsed form is `expect.config(key)`).
    pub spec: Option<&'a Value>,
    /// A client (`cli`) step rather than an HTTP one.
    pub cli: bool,
}

/// One check kind. A check is one file: its key, its schema fragment, its
/// parser and its evaluator; registering it is one line in
/// [`Registry::builtin`] (or [`Registry::with`] for checks outside conform).
pub trait Check: Send + Sync {
    /// Its name: the key under a step's `expect` (or, for an always-on
    /// check, the name `expect.skip` lists and reports show).
    fn key(&self) -> &'static str;
    /// Whether `key` is a key of `expect` (false for checks that only run
    /// by default).
    fn is_suite_key(&self) -> bool {
        true
    }
    /// Always-on HTTP checks a step may list in `expect.skip`.
    fn is_skippable(&self) -> bool {
        false
    }
    /// The JSON Schema of the key's value, which becomes
    /// `$defs/expect/properties/<key>` of the suite format (it may refer to
    /// the format's `#/$defs/pointer`). A suite key must give one.
    fn schema(&self) -> Option<Value> {
        None
    }
    /// The typed settings `evaluate` reads, from the key's value. The
    /// schema has passed it, but a check refuses here too (with `at`'s
    /// file and pointer) whatever would fail open. Default: the value.
    fn parse(&self, value: &Value, at: &Location<'_>) -> Result<Config> {
        let _ = at;
        Ok(Arc::new(value.clone()))
    }
    /// The results for one step: empty when the step does not ask for it.
    fn evaluate(&self, step: &StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome>;
}

/// The checks a run knows, in the order their results are reported.
#[derive(Clone)]
pub struct Registry {
    checks: Vec<Arc<dyn Check>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.checks.iter().map(|c| c.key()))
            .finish()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::builtin()
    }
}

impl Registry {
    /// conform's own checks. One line per check, in report order.
    pub fn builtin() -> Registry {
        let checks: Vec<Arc<dyn Check>> = vec![
            Arc::new(status::Status),
            Arc::new(exit_code::ExitCode),
            Arc::new(stdout::Stdout),
            Arc::new(envelope::Envelope),
            Arc::new(defaults::NotAServerError),
            Arc::new(defaults::ContentTypeConformance),
            Arc::new(defaults::TraceId),
            Arc::new(defaults::StripeUrlFragments),
            Arc::new(schema::Schema),
            Arc::new(schema::BodySchema),
            Arc::new(rejects::RejectsCheck),
            Arc::new(error_code::ErrorCode),
            Arc::new(equals::Equals),
            Arc::new(matches::Matches),
            Arc::new(fragment::FragmentPreserved),
            Arc::new(redirect::RedirectsTo),
            Arc::new(server_value::ServerValuePreserved),
            Arc::new(server_value::StripeUrlsVerbatim),
            Arc::new(no_token_echo::NoTokenEcho),
            Arc::new(no_spend::NoSpend),
            Arc::new(idempotent_charge::IdempotentCharge),
        ];
        Registry { checks }
    }

    /// This registry plus `check`, reported after the others.
    pub fn with(mut self, check: impl Check + 'static) -> Registry {
        self.checks.push(Arc::new(check));
        self
    }

    pub fn checks(&self) -> impl Iterator<Item = &dyn Check> {
        self.checks.iter().map(|c| c.as_ref())
    }

    /// Keys a step's `expect` may have: every suite key, plus `skip`.
    pub fn expect_keys(&self) -> Vec<&'static str> {
        let mut keys: Vec<&'static str> = self
            .checks()
            .filter(|c| c.is_suite_key())
            .map(|c| c.key())
            .collect();
        keys.push("skip");
        keys
    }

    /// Names `expect.skip` accepts.
    pub fn skippable(&self) -> Vec<&'static str> {
        self.checks()
            .filter(|c| c.is_skippable())
            .map(|c| c.key())
            .collect()
    }

    /// The check whose suite key is `key`.
    pub fn suite_check(&self, key: &str) -> Option<&dyn Check> {
        self.checks().find(|c| c.is_suite_key() && c.key() == key)
    }

    /// Runs every check of the step (asked for, or always on). All results
    /// are returned: one failing check never hides another. A check that
    /// panics (a bug) becomes one failed `internal_error` result; the
    /// others still run.
    pub fn run_all(&self, expect: &Expect, cx: &Context<'_>, cli: bool) -> Vec<CheckOutcome> {
        // Most checks give one result: one allocation, not a growing Vec's.
        let mut out = Vec::with_capacity(self.checks.len() + 4);
        for check in self.checks() {
            let step = StepInput {
                expect,
                spec: expect.value(check.key()),
                cli,
            };
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                check.evaluate(&step, cx)
            }));
            match run {
                Ok(results) => out.extend(results),
                Err(payload) => out.push(internal_error(check.key(), payload.as_ref())),
            }
        }
        out
    }
}

/// The check name of a result that reports a bug in conform (or in a
/// registered check), not in the target.
pub const INTERNAL_ERROR: &str = "internal_error";

/// A failed result for a check (or scenario) that panicked.
pub fn internal_error(what: &str, payload: &(dyn std::any::Any + Send)) -> CheckOutcome {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_string());
    CheckOutcome::fail(
        INTERNAL_ERROR,
        None,
        format!("`{what}` to finish"),
        format!("it panicked: {message}"),
    )
    .with_note("a bug in conform (or a registered check), not in the target; please report it")
}

/// Runs the built-in checks (see [`Registry::run_all`]).
pub fn run_all(expect: &Expect, cx: &Context<'_>, cli: bool) -> Vec<CheckOutcome> {
    Registry::builtin().run_all(expect, cx, cli)
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

#[cfg(test)]
mod tests {
    use super::lookup;
    use serde_json::json;

    #[test]
    fn lookup_finds_what_serde_jsons_pointer_finds() {
        let doc = json!({
            "data": {"items": [{"a": 1}, {"b": [true, null]}], "": "empty key"},
            "a/b": {"m~n": "escaped"},
            "~1": "literal tilde-one",
            "0": "a key that looks like an index"
        });
        let pointers = [
            "",
            "/",
            "/data",
            "/data/items",
            "/data/items/0",
            "/data/items/1/b/1",
            "/data/items/01",
            "/data/items/+1",
            "/data/items/-1",
            "/data/items/2",
            "/data/items/",
            "/data/",
            "/a~1b/m~0n",
            "/a~1b",
            "/~01",
            "/0",
            "/data/items/0/a/x",
            "data",
            "/nope",
            "/data/items/99999999999999999999999",
            "/~2",
        ];
        for pointer in pointers {
            assert_eq!(lookup(&doc, pointer), doc.pointer(pointer), "{pointer:?}");
        }
    }
}
