//! The cargo-test integration: trials named suite::scenario that pass on a
//! conformant server and fail, with the console's words, on a regressed one.

use conform::app::TargetSpec;
use conform::mock::Profile;
use conform::trial::{TrialOptions, cases, trials};

#[test]
fn one_trial_per_server_scenario_named_suite_and_scenario() {
    let all = trials(TrialOptions::default()).expect("trials load");
    let names: Vec<&str> = all.iter().map(|t| t.name()).collect();
    assert!(
        names.contains(&"checkout-fragments::pack checkout keeps fragments end to end"),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .all(|n| n.contains("::") && !n.starts_with("client-")),
        "{names:?}"
    );
    for case in cases(TrialOptions::default()).expect("cases load") {
        // Written for other releases: an ignored trial, never run.
        if case.not_applicable.is_some() {
            continue;
        }
        assert!(
            case.run().is_ok(),
            "{} fails on the conformant mock",
            case.name
        );
    }
}

#[test]
fn a_regressed_server_fails_exactly_the_fragment_trials() {
    let opts = TrialOptions {
        target: TargetSpec::Mock(Profile::Regressed018),
        ..TrialOptions::default()
    };
    let mut failed = Vec::new();
    for case in cases(opts).expect("cases load") {
        if case.not_applicable.is_some() {
            continue;
        }
        if let Err(failure) = case.run() {
            let text = failure.message().unwrap_or_default().to_string();
            assert!(
                text.contains("fragment_preserved at /data/checkout_url"),
                "{text}"
            );
            failed.push(case.name);
        }
    }
    assert_eq!(
        failed,
        [
            "checkout-fragments::pack checkout keeps fragments end to end",
            "checkout-fragments::exact-credit checkout keeps fragments in status by session id",
            "idempotency::repeated checkout session request returns the same session",
        ]
    );
}

/// Without `CONFORM_CONTRACT` the trials check the newest built-in
/// release, found by semver (0.1.70 sorts after 0.1.9).
#[test]
fn conformance_defaults_to_the_newest_contract() {
    if std::env::var_os("CONFORM_CONTRACT").is_some() {
        println!("skipped: CONFORM_CONTRACT is set, so it picks the version");
        return;
    }
    let opts = TrialOptions::from_env().expect("options");
    assert_eq!(opts.contract, conform::contract::NEWEST_CONTRACT);
    assert_ne!(opts.contract, "0.1.9");
}
