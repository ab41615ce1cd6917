//! `conform contracts check`, the drift gate: the docs' examples against
//! the curated schemas, and the inventory against schemas and suites.

use std::path::PathBuf;

use clap::Args;

use super::extract::{committed_generated, endpoint_schema, example_schema, generated_drift};
use super::say;
use crate::contract::Contract;
use crate::docs::{self, Endpoint, ExampleTarget};
use crate::error::{Result, exit};
use crate::suite::{self, Action, SuiteFormat, Target as RequestTarget};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Folder holding the release's cli.md and llms.txt.
    #[arg(long, value_name = "DIR")]
    pub docs: PathBuf,
    /// Contract version to check against.
    #[arg(long, value_name = "V")]
    pub version: String,
    /// Read the contract from DIR/<V>/ instead of the built-in copy.
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
    /// Suite file or directory (repeatable). Default: the built-in suites.
    #[arg(long, value_name = "PATH")]
    pub suite: Vec<PathBuf>,
    /// Also fail (exit 1) on coverage gaps: examples or endpoints without a
    /// schema, endpoints without a scenario.
    #[arg(long)]
    pub strict: bool,
    /// Check the docs against the version's contract alone, not against
    /// the invariants every version must keep.
    #[arg(long)]
    pub no_invariants: bool,
}

/// How one example fared.
enum ExampleStatus {
    Conforms,
    NoSchema,
    Fails(Vec<crate::contract::Violation>),
}

pub fn run(args: &CheckArgs) -> Result<i32> {
    let extraction = docs::extract(&args.docs, &args.version)?;
    let contract = match &args.schemas {
        Some(dir) => Contract::from_dir(dir, &args.version)?,
        None => Contract::embedded(&args.version)?,
    };
    let format = SuiteFormat::new()?;
    let suites = if args.suite.is_empty() {
        suite::load_embedded(&format)?
    } else {
        suite::load_paths(&format, &args.suite)?
    };

    let mut out = format!(
        "contracts check: {} against contract {}\n",
        args.docs.display(),
        contract.version()
    );
    let mut drift = 0;
    let mut gaps = 0;
    let (mut docs_examples, mut docs_ok, mut envelopes, mut envelopes_ok) = (0, 0, 0, 0);

    out.push_str("\nexamples\n");
    for example in &extraction.examples {
        let schema = example_schema(example, contract.api());
        let status = match schema.filter(|s| contract.has_schema(s)) {
            Some(name) => {
                let violations = contract.validate(name, &example.value)?;
                if violations.is_empty() {
                    ExampleStatus::Conforms
                } else {
                    ExampleStatus::Fails(violations)
                }
            }
            None => ExampleStatus::NoSchema,
        };
        let is_envelope = example.target == ExampleTarget::Body;
        if is_envelope {
            envelopes += 1;
        } else {
            docs_examples += 1;
        }
        let schema_name = schema.unwrap_or("(none in the table)");
        match status {
            ExampleStatus::Conforms => {
                if is_envelope {
                    envelopes_ok += 1;
                } else {
                    docs_ok += 1;
                }
                out.push_str(&format!(
                    "  ok         {} → {schema_name}\n",
                    example.label()
                ));
            }
            ExampleStatus::NoSchema => {
                gaps += 1;
                out.push_str(&format!(
                    "  no schema  {} → {schema_name} (not in contract {})\n",
                    example.label(),
                    contract.version()
                ));
            }
            ExampleStatus::Fails(violations) => {
                drift += 1;
                out.push_str(&format!(
                    "  DRIFT      {} → {schema_name}\n",
                    example.label()
                ));
                for v in violations {
                    let (pointer, message) = actionable(&v);
                    out.push_str(&format!("               at {pointer}: {message}\n"));
                }
            }
        }
    }

    out.push_str("\nendpoints\n");
    let mut covered = 0;
    let mut per_endpoint = Vec::new();
    let width = extraction
        .endpoints
        .iter()
        .map(|e| e.id().len())
        .max()
        .unwrap_or(0);
    for endpoint in &extraction.endpoints {
        let schema = endpoint_schema(endpoint, contract.api());
        let has_schema = schema.is_some_and(|s| contract.has_schema(s));
        let scenarios = scenarios_for(endpoint, &suites);
        per_endpoint.push(scenarios.len());
        let mut problems = Vec::new();
        if !has_schema {
            problems.push(format!("no schema `{}`", schema.unwrap_or("?")));
        }
        if scenarios.is_empty() {
            problems.push("no scenario".to_string());
        }
        let id = endpoint.id();
        if problems.is_empty() {
            covered += 1;
            out.push_str(&format!(
                "  ok   {id:width$}  schema {}, {} scenario{}\n",
                schema.unwrap_or_default(),
                scenarios.len(),
                if scenarios.len() == 1 { "" } else { "s" }
            ));
        } else {
            gaps += 1;
            out.push_str(&format!("  gap  {id:width$}  {}\n", problems.join(", ")));
        }
    }

    out.push_str("\ngenerated files\n");
    let committed = committed_generated(args.schemas.as_deref(), contract.chain())?;
    let stale = if committed.is_empty() {
        gaps += 1;
        out.push_str(&format!(
            "  none committed for {}; run `conform contracts extract`\n",
            args.version
        ));
        0
    } else {
        let problems = generated_drift(&extraction, &committed)?;
        if problems.is_empty() {
            out.push_str(&format!(
                "  ok   {} files under schemas/{}/generated agree with the docs\n",
                committed.len(),
                args.version
            ));
        }
        for problem in &problems {
            out.push_str(&format!("  DRIFT  {problem}\n"));
        }
        problems.len()
    };

    out.push_str("\ninvariants\n");
    let broken = if args.no_invariants {
        out.push_str("  not applied (--no-invariants)\n");
        0
    } else {
        let invariants = crate::contract::invariants::Invariants::embedded()?;
        let findings = invariants.check_docs(&args.docs, &extraction.examples, &contract)?;
        let mut ids: Vec<&str> = findings.iter().map(|f| f.invariant.as_str()).collect();
        ids.dedup();
        for inv in &invariants.invariants {
            if inv.docs.is_none() && !ids.contains(&inv.id.as_str()) {
                continue;
            }
            let mine: Vec<_> = findings.iter().filter(|f| f.invariant == inv.id).collect();
            if mine.is_empty() {
                out.push_str(&format!(
                    "  ok     invariant {}: the docs keep it\n",
                    inv.id
                ));
                continue;
            }
            out.push_str(&format!("  BROKEN invariant {}: {}\n", inv.id, inv.rule));
            for f in mine {
                out.push_str(&format!(
                    "           {} line {}{}: {}\n",
                    f.doc,
                    f.line,
                    f.field
                        .as_deref()
                        .map(|x| format!(" ({x})"))
                        .unwrap_or_default(),
                    f.what
                ));
            }
        }
        findings.len()
    };

    per_endpoint.sort_unstable();
    let median = per_endpoint
        .get(per_endpoint.len() / 2)
        .copied()
        .unwrap_or(0);
    out.push_str(&format!(
        "\nendpoints {covered}/{}, examples {docs_ok}/{docs_examples}, scenarios per endpoint: min {}, median {median}, max {}\n",
        extraction.endpoints.len(),
        per_endpoint.first().copied().unwrap_or(0),
        per_endpoint.last().copied().unwrap_or(0),
    ));
    out.push_str(&format!("envelopes {envelopes_ok}/{envelopes}\n"));
    let code = if drift > 0 || stale > 0 || broken > 0 {
        let mut parts = Vec::new();
        if broken > 0 {
            parts.push(format!(
                "the docs break an invariant in {broken} place{}",
                if broken == 1 { "" } else { "s" }
            ));
        }
        if drift > 0 {
            parts.push(format!(
                "{drift} example{} of the docs fail{} the committed schema",
                if drift == 1 { "" } else { "s" },
                if drift == 1 { "s" } else { "" }
            ));
        }
        if stale > 0 {
            parts.push(format!(
                "{stale} difference{} between the docs and the committed generated files (rerun `conform contracts extract` if the docs are right)",
                if stale == 1 { "" } else { "s" }
            ));
        }
        out.push_str(&format!("failed: {}\n", parts.join("; ")));
        exit::CHECK_FAILED
    } else if gaps > 0 && args.strict {
        out.push_str(&format!("{gaps} coverage gaps (--strict)\n"));
        exit::CHECK_FAILED
    } else {
        if gaps > 0 {
            out.push_str(&format!(
                "{gaps} coverage gaps (not failing without --strict)\n"
            ));
        }
        exit::PASSED
    };
    say(&out);
    Ok(code)
}

/// A missing property is reported at the property's own pointer, which is
/// where a reader has to look.
fn actionable(v: &crate::contract::Violation) -> (String, String) {
    if let Some(name) = v
        .message
        .strip_suffix(" is a required property")
        .and_then(|q| q.strip_prefix('"'))
        .and_then(|q| q.strip_suffix('"'))
    {
        return (
            format!("{}/{}", v.pointer, suite::pointer_key(name)),
            "required property missing".to_string(),
        );
    }
    let pointer = if v.pointer.is_empty() {
        "/ (the example itself)".to_string()
    } else {
        v.pointer.clone()
    };
    (pointer, v.message.clone())
}

/// Names (`suite/scenario`) of scenarios with an HTTP step that requests
/// this endpoint.
fn scenarios_for(endpoint: &Endpoint, suites: &[suite::Suite]) -> Vec<String> {
    let mut names = Vec::new();
    for s in suites {
        for scenario in &s.scenarios {
            let hits = scenario.steps.iter().any(|step| match &step.action {
                Action::Http(request) => {
                    request.method.eq_ignore_ascii_case(&endpoint.method)
                        && matches!(&request.target, RequestTarget::Path(p) if endpoint.matches_path(p))
                }
                _ => false,
            });
            if hits {
                names.push(format!("{}/{}", s.name, scenario.name));
            }
        }
    }
    names
}
