//! The command line people type: selection, man pages, profiles in help.

mod common;

use common::{conform, text};

#[test]
fn filter_repeats_skip_leaves_out_and_exact_matches_whole_ids() {
    let listed = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["run", "--list"];
        all.extend_from_slice(args);
        let out = conform(&all);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout).lines().map(str::to_string).collect()
    };
    let checkout = listed(&["--filter", "checkout-fragments/"]);
    let catalog = listed(&["--filter", "catalog/"]);
    let both = listed(&["--filter", "checkout-fragments/", "--filter", "catalog/"]);
    assert_eq!(both.len(), checkout.len() + catalog.len(), "{both:?}");
    let skipped = listed(&["--filter", "checkout-fragments/", "--skip", "exact-credit"]);
    assert_eq!(skipped.len(), checkout.len() - 1, "{skipped:?}");
    let exact = listed(&["--exact", "--filter", &checkout[0]]);
    assert_eq!(exact, vec![checkout[0].clone()]);
    // A substring is not a whole id.
    let out = conform(&["run", "--list", "--exact", "--filter", "checkout"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_empty_selection_is_exit_2_for_filter_and_partition_alike() {
    let filter = conform(&["run", "--list", "--filter", "no such scenario"]);
    let count = text(&conform(&["run", "--list"]).stdout).lines().count();
    let shard = format!("slice:{}/{}", count + 1, count + 1);
    let partition = conform(&["run", "--list", "--partition", &shard]);
    assert_eq!(filter.status.code(), Some(2), "{}", text(&filter.stderr));
    assert_eq!(
        partition.status.code(),
        Some(2),
        "{}",
        text(&partition.stderr)
    );
    assert!(text(&partition.stderr).contains("no scenario in shard"));
}

#[test]
fn man_out_writes_every_page_the_main_page_refers_to() {
    let dir = common::temp("man-pages");
    let out = conform(&["man", "--out", &dir.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let main = std::fs::read_to_string(dir.join("conform.1")).expect("conform.1");
    let referred: Vec<&str> = main
        .split("conform\\-")
        .skip(1)
        .filter_map(|s| s.split_once("(1)").map(|(name, _)| name))
        .filter(|name| name.chars().all(|c| c.is_ascii_lowercase()))
        .collect();
    assert!(referred.contains(&"run"), "{main}");
    for name in referred {
        assert!(
            dir.join(format!("conform-{name}.1")).is_file(),
            "conform.1 refers to conform-{name}(1), which was not written"
        );
    }
}

#[test]
fn help_lists_every_mock_profile_and_groups_the_flags() {
    let mock = text(&conform(&["mock", "--help"]).stdout);
    let run = text(&conform(&["run", "--help"]).stdout);
    for profile in [
        "conformant",
        "regressed-0.1.8",
        "ignores-auth",
        "faults-reset",
    ] {
        assert!(
            mock.contains(profile),
            "mock --help lacks {profile}:\n{mock}"
        );
        assert!(run.contains(profile), "run --help lacks {profile}:\n{run}");
    }
    for heading in ["Target:", "Selection:", "Reports:", "Limits:"] {
        assert!(run.contains(heading), "run --help lacks {heading}\n{run}");
    }
    let out = conform(&["run", "--mock", "nope", "--list"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn color_always_and_never_override_the_environment() {
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_conform"));
        cmd.args(["run", "--filter", "catalog/capability"])
            .args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        text(&cmd.output().expect("conform runs").stdout)
    };
    assert!(run(&["--color", "always"], &[]).contains('\x1b'));
    assert!(!run(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]).contains('\x1b'));
    // Piped, auto is off unless forced; NO_COLOR beats the force.
    assert!(!run(&[], &[]).contains('\x1b'));
    assert!(run(&[], &[("CLICOLOR_FORCE", "1")]).contains('\x1b'));
    assert!(!run(&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]).contains('\x1b'));
}

/// `conform` run from `dir` (the caller's token variable removed).
fn conform_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_conform"))
        .args(args)
        .current_dir(dir)
        .env_remove("IMAGE_SKILL_TOKEN")
        .output()
        .expect("conform runs")
}

#[test]
fn contracts_commands_work_the_same_from_any_directory() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let elsewhere = common::temp("contracts-elsewhere");
    // diff: the curated fixtures are built in, not read from ./fixtures.
    let diff = ["contracts", "diff", "0.1.8", "0.1.9", "--format", "json"];
    let (here, there) = (conform_in(repo, &diff), conform_in(&elsewhere, &diff));
    assert_eq!(here.status.code(), Some(0), "{}", text(&here.stderr));
    assert_eq!(
        text(&there.stdout),
        text(&here.stdout),
        "{}",
        text(&there.stderr)
    );
    assert!(!text(&there.stdout).contains("not compared"));

    // extract: outside a checkout it refuses instead of creating folders.
    let extract = [
        "contracts",
        "extract",
        "--docs",
        "docs",
        "--version",
        "0.1.9",
    ];
    let out = conform_in(&elsewhere, &extract);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--out DIR"),
        "{}",
        text(&out.stderr)
    );
    let left: Vec<_> = std::fs::read_dir(&elsewhere).expect("dir").collect();
    assert!(
        left.is_empty(),
        "extract wrote into the current directory: {left:?}"
    );

    // check: --docs is relative to the current directory.
    let docs = repo.join("../shared/contracts/0.1.9");
    if !docs.join("cli.md").is_file() {
        common::skip("../shared/contracts/0.1.9 not found: `contracts check` part not run");
        return;
    }
    let abs = docs.to_string_lossy().into_owned();
    let check_here = conform_in(
        repo,
        &[
            "contracts",
            "check",
            "--docs",
            "../shared/contracts/0.1.9",
            "--version",
            "0.1.9",
        ],
    );
    let check_there = conform_in(
        &elsewhere,
        &["contracts", "check", "--docs", &abs, "--version", "0.1.9"],
    );
    assert_eq!(
        check_here.status.code(),
        Some(0),
        "{}",
        text(&check_here.stderr)
    );
    // The same report; only the header's echo of --docs differs.
    let body = |o: &std::process::Output| {
        text(&o.stdout)
            .lines()
            .skip(1)
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(text(&check_there.stdout).starts_with(&format!("contracts check: {abs} ")));
    assert_eq!(
        body(&check_there),
        body(&check_here),
        "{}",
        text(&check_there.stderr)
    );
}

#[test]
fn list_keeps_stdout_to_ids_and_says_on_stderr_which_would_be_not_applicable() {
    // fake-purchase needs createFakePurchase, which 0.1.70 does not document.
    let out = conform(&["run", "--list", "--filter", "fake-purchase/"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ids: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    assert!(!ids.is_empty());
    assert!(
        ids.iter().all(|id| id.starts_with("fake-purchase/")),
        "{ids:?}"
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("not applicable to contract 0.1.70") && err.contains("N/A   fake-purchase/"),
        "{err}"
    );
    assert!(
        err.contains("which contract 0.1.70 does not document"),
        "{err}"
    );
    // A release that documents the rail lists the same ids and no note.
    let old = conform(&[
        "run",
        "--list",
        "--filter",
        "fake-purchase/",
        "--contract",
        "0.1.9",
    ]);
    assert_eq!(text(&old.stdout), text(&out.stdout));
    assert!(!text(&old.stderr).contains("N/A"), "{}", text(&old.stderr));
}
