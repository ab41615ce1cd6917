//! `no_spend`: invariant no-spend. What the docs mark as spending nothing
//! (a `--dry-run`, a read, a command `commands.json` marks `spend: false`)
//! must not debit credits: the mock's ledger before and after the step
//! shows it. On by default for client steps the docs mark so; `true`
//! asks for it on any step, `false` turns it off. Without a mock (a live
//! server) there is no ledger to read and the check does not run.

use serde_json::{Value, json};

use super::{Context, LedgerChange};
use crate::contract::api::ApiModel;
use crate::outcome::CheckOutcome;

pub const KEY: &str = "no_spend";

pub struct NoSpend;

impl super::Check for NoSpend {
    fn key(&self) -> &'static str {
        KEY
    }

    fn schema(&self) -> Option<Value> {
        Some(json!({
            "description": "Invariant no-spend: the step must not debit credits (the mock's ledger before and after). Default: on for client steps the docs mark as no-spend (a --dry-run, a read, a `spend: false` command).",
            "type": "boolean"
        }))
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        let why = match step.spec.and_then(Value::as_bool) {
            Some(false) => return Vec::new(),
            Some(true) => "the step asks for it".to_string(),
            None if step.cli => match documented_no_spend(cx.cli_args, cx.contract.api()) {
                Some(why) => why,
                None => return Vec::new(),
            },
            None => return Vec::new(),
        };
        match cx.ledger {
            Some(change) => vec![check(&change, &why)],
            None => Vec::new(),
        }
    }
}

fn check(change: &LedgerChange, why: &str) -> CheckOutcome {
    let expected = format!("no credits debited ({why})");
    let debited = change.debited();
    if debited == 0 {
        CheckOutcome::pass(KEY, None, expected)
    } else {
        CheckOutcome::fail(
            KEY,
            None,
            expected,
            format!(
                "the ledger shows {debited} credits debited (free preview {} → {} used, balance {} → {})",
                change.before.free_preview_used,
                change.after.free_preview_used,
                change.before.balance,
                change.after.balance
            ),
        )
    }
}

/// Why the docs say a client step with these arguments spends nothing,
/// if they do: a `--dry-run`; the command's own `spend: false`; a read
/// (its operation is a GET); or its command group's `spend: false`.
pub fn documented_no_spend(args: &[String], api: &ApiModel) -> Option<String> {
    if args.iter().any(|a| a == "--dry-run") {
        return Some("a --dry-run".into());
    }
    let words: Vec<&str> = args
        .iter()
        .take_while(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    // The longest documented command the arguments start with.
    let command = (1..=words.len())
        .rev()
        .find_map(|n| api.commands.iter().find(|c| c.argv == words[..n].join(" ")))?;
    if command.spend == Some(false) {
        return Some(format!("`{}` is `spend: false` in the docs", command.argv));
    }
    if command.spend.is_none() {
        let read = command
            .operation
            .as_deref()
            .and_then(|op| api.endpoint(op))
            .is_some_and(|e| e.method.eq_ignore_ascii_case("GET"));
        if read {
            return Some(format!("`{}` is a read", command.argv));
        }
        let group = command.argv.split(' ').next().unwrap_or_default();
        if group != command.argv
            && api
                .commands
                .iter()
                .any(|c| c.argv == group && c.spend == Some(false))
        {
            return Some(format!("`{group}` is `spend: false` in the docs"));
        }
    }
    None
}
