//! `idempotent_charge`: invariant idempotent-charge. A step that retries
//! an earlier one with the same idempotency key (`"idempotent_charge":
//! true`) must charge nothing new: the mock's ledger shows no new payment
//! attempt, no new receipt, no credits granted or debited. Without a mock
//! (a live server) there is no ledger to read and the check does not run.

use serde_json::{Value, json};

use super::Context;
use crate::outcome::CheckOutcome;

pub const KEY: &str = "idempotent_charge";

pub struct IdempotentCharge;

impl super::Check for IdempotentCharge {
    fn key(&self) -> &'static str {
        KEY
    }

    fn schema(&self) -> Option<Value> {
        Some(json!({
            "description": "Invariant idempotent-charge: this step retries an earlier one with the same idempotency key, so the mock's ledger must show no new charge.",
            "type": "boolean"
        }))
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        if step.spec.and_then(Value::as_bool) != Some(true) {
            return Vec::new();
        }
        let Some(change) = cx.ledger else {
            return Vec::new();
        };
        let expected = "a retry with the same idempotency key charges nothing new";
        let (before, after) = (change.before, change.after);
        let mut what = Vec::new();
        let attempts = after
            .payment_attempts
            .saturating_sub(before.payment_attempts);
        if attempts > 0 {
            what.push(format!("{attempts} new payment attempt(s)"));
        }
        let receipts = after.receipts.saturating_sub(before.receipts);
        if receipts > 0 {
            what.push(format!("{receipts} new receipt(s)"));
        }
        if after.balance > before.balance {
            what.push(format!(
                "{} credits granted again",
                after.balance - before.balance
            ));
        }
        if change.debited() > 0 {
            what.push(format!("{} credits debited", change.debited()));
        }
        if what.is_empty() {
            vec![CheckOutcome::pass(KEY, None, expected)]
        } else {
            vec![CheckOutcome::fail(
                KEY,
                None,
                expected,
                format!("the ledger shows {}", what.join(", ")),
            )]
        }
    }
}
