//! Invariant results: the checks `schemas/invariants.json` names enforce a
//! rule every version keeps, so their results carry the invariant's id. A
//! version whose own rule is weaker (0.1.8 documents fragment-stripped
//! Stripe URLs) keeps its contract results as they are and gets the
//! invariant's checks run once more under the rule that always holds.

use super::{Context, FragmentPolicy, defaults, fragment, redirect, server_value};
use crate::contract::invariants::{HANDOFF_REDIRECT, Invariants, STRIPE_FRAGMENT};
use crate::outcome::{CheckOutcome, RunReport, ScenarioOutcome, Status};
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
        .find_map(|s| super::lookup(s.body.as_ref()?, pointer))
        .and_then(serde_json::Value::as_str)
        .is_some_and(fragment::is_stripe_url)
}

/// One line: did the run keep the version's contract, and each invariant
/// that any check enforced? `contract 0.1.8: satisfied; invariant
/// stripe-fragment: broken at suite/scenario step 2 /data/checkout_url`.
/// It claims only what ran: with no contract check, "not checked"; with
/// scenarios that did not finish (transport or internal errors, an
/// interrupted or `--fail-fast` run), "satisfied by what ran" and the count.
pub fn verdict(report: &RunReport) -> crate::Result<String> {
    let mut contract_broken = 0;
    // A passed scenario ran its checks; a spool keeps only the first passed
    // scenario per invariant, so passed ones count from the summary.
    let mut contract_checked = report.summary.passed > 0;
    let mut unfinished = 0;
    // id → (first broken place, broken count), in first-seen order.
    let mut seen: Vec<(String, Option<String>, usize)> = Vec::new();
    // From a spool: the failed outcomes and each id's first passed checker.
    for scenario in report.kept_scenarios() {
        let scenario = scenario?;
        if did_not_finish(&scenario, report.interrupted) {
            unfinished += 1;
        }
        for step in &scenario.steps {
            for check in &step.checks {
                if check.check == super::INTERNAL_ERROR {
                    // conform's bug, not a contract result.
                    continue;
                }
                match &check.invariant {
                    None => {
                        contract_checked = true;
                        if !check.passed {
                            contract_broken += 1;
                        }
                    }
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
    let not_finished = match unfinished {
        0 => String::new(),
        1 => "1 scenario did not finish".to_string(),
        n => format!("{n} scenarios did not finish"),
    };
    // "(a; b)" of the parts that are there.
    let detail = |first: String| {
        let parts: Vec<&str> = [first.as_str(), not_finished.as_str()]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join("; "))
        }
    };
    let contract = if contract_broken > 0 {
        let checks = if contract_broken == 1 {
            "check"
        } else {
            "checks"
        };
        format!(
            "broken{}",
            detail(format!("{contract_broken} failed {checks}"))
        )
    } else if !contract_checked {
        format!("not checked{}", detail("no check ran".to_string()))
    } else if unfinished > 0 {
        format!("satisfied by what ran{}", detail(String::new()))
    } else {
        "satisfied".to_string()
    };
    let mut parts = vec![format!("contract {}: {contract}", report.contract_version)];
    if seen.is_empty() && !contract_checked {
        parts.push("invariants: not checked".to_string());
    }
    for (id, first, count) in seen {
        parts.push(match first {
            None if unfinished > 0 => format!("invariant {id}: kept by what ran"),
            None => format!("invariant {id}: kept"),
            Some(at) if count == 1 => format!("invariant {id}: broken at {at}"),
            Some(at) => format!("invariant {id}: broken at {at} (and {} more)", count - 1),
        });
    }
    Ok(parts.join("; "))
}

/// A scenario whose result is not a judgement of the target: never run,
/// cut short by a transport or internal error, or by the run stopping.
fn did_not_finish(scenario: &ScenarioOutcome, interrupted: bool) -> bool {
    scenario.status == Status::Skipped
        || scenario.steps.iter().any(|st| {
            st.transport_error.is_some()
                || st.checks.iter().any(|c| c.check == super::INTERNAL_ERROR)
                || (interrupted && st.status == Status::Skipped)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{StepOutcome, Summary};

    fn step(status: Status, transport: bool, checks: Vec<CheckOutcome>) -> StepOutcome {
        StepOutcome {
            transport_error: transport.then(|| "connection refused".into()),
            checks,
            ..StepOutcome::new(0, "s", status)
        }
    }

    fn scenario(name: &str, status: Status, steps: Vec<StepOutcome>) -> ScenarioOutcome {
        ScenarioOutcome {
            suite: "suite".into(),
            file: "suite.yaml".into(),
            scenario: name.into(),
            status,
            duration_ms: 0,
            duration_us: 0,
            reason: None,
            steps,
        }
    }

    fn report(scenarios: Vec<ScenarioOutcome>, interrupted: bool) -> RunReport {
        RunReport {
            format: 1,
            conform_version: String::new(),
            contract_version: "0.1.70".into(),
            target: String::new(),
            run: Default::default(),
            duration_ms: 0,
            duration_us: 0,
            interrupted,
            summary: Summary {
                passed: scenarios
                    .iter()
                    .filter(|s| s.status == Status::Passed)
                    .count(),
                ..Summary::default()
            },
            findings: Vec::new(),
            scenarios,
            spooled: None,
            latency: None,
        }
    }

    fn ok() -> ScenarioOutcome {
        let status = CheckOutcome::pass("status", None, "200");
        let mut fragment = CheckOutcome::pass("fragment_preserved", None, "#...");
        fragment.invariant = Some(STRIPE_FRAGMENT.into());
        scenario(
            "ok",
            Status::Passed,
            vec![step(Status::Passed, false, vec![status, fragment])],
        )
    }

    fn unreachable(name: &str) -> ScenarioOutcome {
        scenario(
            name,
            Status::Failed,
            vec![step(Status::Failed, true, Vec::new())],
        )
    }

    fn line(scenarios: Vec<ScenarioOutcome>, interrupted: bool) -> String {
        verdict(&report(scenarios, interrupted)).expect("verdict")
    }

    #[test]
    fn a_run_where_nothing_was_checked_claims_nothing() {
        assert_eq!(
            line(vec![unreachable("a"), unreachable("b")], false),
            "contract 0.1.70: not checked (no check ran; 2 scenarios did not finish); invariants: not checked"
        );
    }

    #[test]
    fn an_interrupted_run_covers_only_what_ran() {
        let cut = scenario(
            "cut",
            Status::Failed,
            vec![step(Status::Skipped, false, Vec::new())],
        );
        let never = scenario("never", Status::Skipped, Vec::new());
        assert_eq!(
            line(vec![ok(), cut, never], true),
            "contract 0.1.70: satisfied by what ran (2 scenarios did not finish); invariant stripe-fragment: kept by what ran"
        );
        // Nothing ran before the interrupt.
        let never = scenario("never", Status::Skipped, Vec::new());
        assert_eq!(
            line(vec![never], true),
            "contract 0.1.70: not checked (no check ran; 1 scenario did not finish); invariants: not checked"
        );
    }

    #[test]
    fn a_mixed_run_says_what_did_not_finish() {
        assert_eq!(
            line(vec![ok(), unreachable("down")], false),
            "contract 0.1.70: satisfied by what ran (1 scenario did not finish); invariant stripe-fragment: kept by what ran"
        );
        let failed = scenario(
            "wrong",
            Status::Failed,
            vec![step(
                Status::Failed,
                false,
                vec![CheckOutcome::fail("status", None, "200", "500")],
            )],
        );
        assert_eq!(
            line(vec![ok(), failed, unreachable("down")], false),
            "contract 0.1.70: broken (1 failed check; 1 scenario did not finish); invariant stripe-fragment: kept by what ran"
        );
        // An internal error is conform's, not a broken contract.
        let bug = scenario(
            "bug",
            Status::Failed,
            vec![step(
                Status::Failed,
                false,
                vec![CheckOutcome::fail(
                    super::super::INTERNAL_ERROR,
                    None,
                    "",
                    "panic",
                )],
            )],
        );
        assert_eq!(
            line(vec![ok(), bug], false),
            "contract 0.1.70: satisfied by what ran (1 scenario did not finish); invariant stripe-fragment: kept by what ran"
        );
    }

    #[test]
    fn a_finished_run_keeps_its_plain_words() {
        assert_eq!(
            line(vec![ok()], false),
            "contract 0.1.70: satisfied; invariant stripe-fragment: kept"
        );
    }
}
