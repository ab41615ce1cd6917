//! Invariant results: the checks `schemas/invariants.json` names enforce a
//! rule every version keeps, so their results carry the invariant's id. A
//! version whose own rule is weaker (0.1.8 documents fragment-stripped
//! Stripe URLs) keeps its contract results as they are and gets the
//! invariant's checks run once more under the rule that always holds.

use super::{Context, FragmentPolicy, defaults, fragment, redirect, server_value};
use crate::contract::invariants::{HANDOFF_REDIRECT, Invariants, STRIPE_FRAGMENT};
use crate::outcome::{CheckOutcome, RunReport};
use crate::suite::Expect;

/// Tags `out` and adds what the invariants check beyond the contract.
pub fn apply(
    expect: &Expect,
    cx: &Context<'_>,
    cli: bool,
    invariants: &Invariants,
    out: &mut Vec<CheckOutcome>,
) {
    let lenient = cx.policy != FragmentPolicy::Required;
    for outcome in out.iter_mut() {
        // Under a version that documents stripped URLs its fragment checks
        // judge that version's rule; the invariant's own run follows.
        match invariants.for_check(&outcome.check) {
            Some(STRIPE_FRAGMENT | HANDOFF_REDIRECT) if lenient => {}
            Some(STRIPE_FRAGMENT) if !about_a_stripe_url(outcome, cx) => {}
            Some(id) => outcome.invariant = Some(id.to_string()),
            None => {}
        }
    }
    if !lenient {
        return;
    }
    let strict = Context {
        contract: cx.contract,
        policy: FragmentPolicy::Required,
        vars: cx.vars,
        response: cx.response,
        served: cx.served,
        handed_token: cx.handed_token,
        cli_args: cx.cli_args,
        ledger: cx.ledger,
    };
    let mut extra = defaults::stripe_url_fragments(&strict, fragment::listed(expect));
    extra.extend(
        fragment::listed(expect)
            .iter()
            .map(|p| fragment::check(p, &strict)),
    );
    if let Some(target) = redirect::expected(expect) {
        extra.push(redirect::check(target, &strict));
    }
    if cli {
        // What the client printed against what the server sent, strictly.
        let listed = server_value::listed(expect);
        extra.extend(listed.iter().map(|p| server_value::check(p, &strict)));
        extra.extend(server_value::stripe_urls_verbatim(&strict, listed));
    }
    for mut outcome in extra {
        if outcome.check == server_value::KEY && !about_a_stripe_url(&outcome, cx) {
            continue;
        }
        if let Some(id) = invariants.for_check(&outcome.check) {
            outcome.invariant = Some(id.to_string());
            out.push(outcome);
        }
    }
}

/// `server_value_preserved` compares any field; it enforces the Stripe
/// fragment only where the server sent a Stripe Checkout URL (a receipt id
/// the client did not print is the contract's business).
fn about_a_stripe_url(outcome: &CheckOutcome, cx: &Context<'_>) -> bool {
    if outcome.check != server_value::KEY {
        return true;
    }
    let Some(pointer) = outcome.pointer.as_deref() else {
        return true;
    };
    cx.served
        .iter()
        .rev()
        .find_map(|s| s.body.as_ref()?.pointer(pointer))
        .and_then(serde_json::Value::as_str)
        .is_some_and(fragment::is_stripe_url)
}

/// One line: did the run keep the version's contract, and each invariant
/// that any check enforced? `contract 0.1.8: satisfied; invariant
/// stripe-fragment: broken at suite/scenario step 2 /data/checkout_url`.
pub fn verdict(report: &RunReport) -> crate::Result<String> {
    let mut contract_broken = 0;
    // id → (checked, first broken place, broken count), in first-seen order.
    let mut seen: Vec<(String, Option<String>, usize)> = Vec::new();
    // From a spool: the failed outcomes and each id's first passed checker.
    for scenario in report.kept_scenarios() {
        let scenario = scenario?;
        for step in &scenario.steps {
            for check in &step.checks {
                match &check.invariant {
                    None if !check.passed => contract_broken += 1,
                    None => {}
                    Some(id) => {
                        let at = seen
                            .iter()
                            .position(|(s, _, _)| s == id)
                            .unwrap_or_else(|| {
                                seen.push((id.clone(), None, 0));
                                seen.len() - 1
                            });
                        if !check.passed {
                            let entry = &mut seen[at];
                            entry.2 += 1;
                            if entry.1.is_none() {
                                entry.1 = Some(format!(
                                    "{} step {}{}",
                                    scenario.id(),
                                    step.index + 1,
                                    check
                                        .pointer
                                        .as_deref()
                                        .map(|p| format!(" {p}"))
                                        .unwrap_or_default()
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    let mut parts = vec![format!(
        "contract {}: {}",
        report.contract_version,
        if contract_broken == 0 {
            "satisfied".to_string()
        } else {
            format!("broken ({contract_broken} failed checks)")
        }
    )];
    for (id, first, count) in seen {
        parts.push(match first {
            None => format!("invariant {id}: kept"),
            Some(at) if count == 1 => format!("invariant {id}: broken at {at}"),
            Some(at) => format!("invariant {id}: broken at {at} (and {} more)", count - 1),
        });
    }
    Ok(parts.join("; "))
}
