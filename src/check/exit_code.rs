use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use serde_json::{Value, json};

use super::{Config, Context};
use crate::error::Result;
use crate::outcome::CheckOutcome;
use crate::suite::{Expect, Location};

pub const KEY: &str = "exit_code";

/// The exit code a cli step expects, if it names one (the check's default is 0).
pub fn expected(expect: &Expect) -> Option<i32> {
    expect.config::<i32>(KEY).copied()
}

/// The docs' exit-code table (the same in all 71 releases), as data.
const TABLE: &str = include_str!("../../schemas/exit-codes.json");

fn table() -> &'static BTreeMap<i32, String> {
    static PARSED: OnceLock<BTreeMap<i32, String>> = OnceLock::new();
    PARSED.get_or_init(|| parse(TABLE).unwrap_or_default())
}

fn parse(text: &str) -> std::result::Result<BTreeMap<i32, String>, String> {
    let value: BTreeMap<String, String> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    value
        .into_iter()
        .filter(|(k, _)| k != "$comment")
        .map(|(k, v)| Ok((k.parse::<i32>().map_err(|e| format!("`{k}`: {e}"))?, v)))
        .collect()
}

/// The meaning of a documented exit code, for failure messages.
fn meaning(code: i32) -> &'static str {
    table()
        .get(&code)
        .map_or("not in the documented table", String::as_str)
}

/// The `exit_code` check.
pub struct ExitCode;

impl super::Check for ExitCode {
    fn key(&self) -> &'static str {
        KEY
    }

    fn schema(&self) -> Option<Value> {
        Some(json!({
            "description": "For cli steps: the client's exit code (the documented table 0–9). Default 0.",
            "type": "integer",
            "minimum": 0,
            "maximum": 255
        }))
    }

    fn parse(&self, value: &Value, at: &Location<'_>) -> Result<Config> {
        let code: i32 = at.typed(value)?;
        at.only_on(true)?;
        Ok(Arc::new(code))
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        // Always on for a client: the documented exit code, default 0.
        if !step.cli {
            return Vec::new();
        }
        vec![check(expected(step.expect).unwrap_or(0), cx)]
    }
}

pub fn check(expected: i32, cx: &Context<'_>) -> CheckOutcome {
    let expected_text = format!("{expected} ({})", meaning(expected));
    match cx.response.exit_code {
        Some(code) if code == expected => {
            CheckOutcome::pass("exit_code", None, expected_text).with_values(expected.into(), None)
        }
        Some(code) => CheckOutcome::fail(
            "exit_code",
            None,
            expected_text,
            format!("{code} ({})", meaning(code)),
        )
        .with_values(expected.into(), Some(code.into())),
        None => CheckOutcome::fail(
            "exit_code",
            None,
            expected_text,
            "no exit code: ended by a signal",
        )
        .with_values(expected.into(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_table_is_data() {
        let table = parse(TABLE).expect("schemas/exit-codes.json parses");
        assert_eq!(
            table.keys().copied().collect::<Vec<_>>(),
            (0..=9).collect::<Vec<_>>()
        );
        assert_eq!(meaning(3), "auth required or invalid token");
        assert_eq!(meaning(42), "not in the documented table");
    }
}
