//! `--partition`: the shards of a CI matrix together run every selected
//! scenario exactly once, whatever the kind and the shard count.

use std::collections::BTreeMap;
use std::process::{Command, Output};

fn conform(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conform"))
        .args(args)
        .env_remove("IMAGE_SKILL_TOKEN")
        .output()
        .expect("conform runs")
}

fn listed(args: &[&str]) -> Vec<String> {
    let out = conform(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "`conform {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn every_scenario_lands_in_exactly_one_shard() {
    let all = listed(&["run", "--list"]);
    assert!(
        all.len() >= 5,
        "expected the shipped scenarios, got {all:?}"
    );
    for kind in ["hash", "slice"] {
        for total in 1..=5 {
            let mut seen: BTreeMap<String, Vec<usize>> = BTreeMap::new();
            for shard in 1..=total {
                let spec = format!("{kind}:{shard}/{total}");
                for id in listed(&["run", "--list", "--partition", &spec]) {
                    seen.entry(id).or_default().push(shard);
                }
            }
            for id in &all {
                assert_eq!(
                    seen.get(id).map(Vec::len),
                    Some(1),
                    "{kind} over {total} shards: `{id}` ran in shards {:?}, want exactly one",
                    seen.get(id)
                );
            }
            assert_eq!(
                seen.len(),
                all.len(),
                "{kind} over {total} shards selected scenarios the full run does not have: {:?}",
                seen.keys()
                    .filter(|id| !all.contains(id))
                    .collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn slices_take_every_nth_scenario_in_plan_order() {
    let all = listed(&["run", "--list"]);
    let second_of_three = listed(&["run", "--list", "--partition", "slice:2/3"]);
    let expected: Vec<String> = all.iter().skip(1).step_by(3).cloned().collect();
    assert_eq!(second_of_three, expected);
}

#[test]
fn partition_applies_after_the_filter() {
    let filtered = listed(&["run", "--list", "--filter", "checkout-fragments"]);
    assert!(
        filtered.len() >= 2,
        "the checkout-fragments suite: {filtered:?}"
    );
    let all = listed(&["run", "--list"]);
    assert!(filtered.len() < all.len(), "the filter must narrow the run");
    for shard in 1..=2 {
        let spec = format!("slice:{shard}/2");
        let got = listed(&[
            "run",
            "--list",
            "--filter",
            "checkout-fragments",
            "--partition",
            &spec,
        ]);
        let expected: Vec<String> = filtered
            .iter()
            .skip(shard - 1)
            .step_by(2)
            .cloned()
            .collect();
        assert_eq!(got, expected, "{spec} of the filtered selection");
    }
}

#[test]
fn hash_shards_are_stable_across_processes() {
    let once = listed(&["run", "--list", "--partition", "hash:2/3"]);
    let again = listed(&["run", "--list", "--partition", "hash:2/3"]);
    assert_eq!(once, again);
}

#[test]
fn a_shard_runs_and_passes_against_the_mock() {
    let out = conform(&["run", "--partition", "hash:1/2", "--quiet"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn malformed_specs_exit_2_and_say_what_is_expected() {
    let cases = [
        ("hash:0/3", "M must be between 1 and 3"),
        ("hash:4/3", "M must be between 1 and 3"),
        ("slice:1/0", "N must be at least 1"),
        ("count:1/2", "unknown kind `count`"),
        ("hash", "missing `hash:` or `slice:`"),
        ("slice:2", "missing `/`"),
        ("slice:x/2", "M `x` is not a whole number"),
    ];
    for (spec, why) in cases {
        let out = conform(&["run", "--list", "--partition", spec]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "`--partition {spec}`: {err}");
        assert!(
            err.contains(&format!("invalid --partition `{spec}`")) && err.contains(why),
            "`--partition {spec}` should say `{why}`, said: {err}"
        );
        assert!(
            err.contains("expected hash:M/N or slice:M/N"),
            "`--partition {spec}` should show the expected form, said: {err}"
        );
    }
}
