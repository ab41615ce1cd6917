//! Plan stage: resolve suites against the contract, filter, order → cases.

use crate::contract::Contract;
use crate::error::{Error, Result, closest};
use crate::suite::Suite;

/// One scenario to run, by index into [`Plan::suites`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub suite: usize,
    pub scenario: usize,
    /// `suite/scenario`, what `--filter` matches and reports show.
    pub id: String,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub suites: Vec<Suite>,
    pub cases: Vec<Case>,
}

/// Which scenarios a run is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only HTTP steps: `conform run` and the cargo test trials.
    Server,
    /// At least one cli step: `conform client`.
    Client,
}

/// Checks every schema a suite names exists in the contract, then selects
/// the scenarios of `kind` whose `suite/scenario` contains `filter`, in file
/// order.
pub fn plan(
    suites: Vec<Suite>,
    contract: &Contract,
    filter: Option<&str>,
    kind: Kind,
) -> Result<Plan> {
    let names = contract.schema_names();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    for suite in &suites {
        for scenario in &suite.scenarios {
            for step in &scenario.steps {
                let named = [
                    ("schema", &step.expect.schema),
                    ("body_schema", &step.expect.body_schema),
                ];
                for (key, name) in named {
                    let Some(name) = name else { continue };
                    if contract.has_schema(name) {
                        continue;
                    }
                    let hint = match closest(name, &names) {
                        Some(c) => format!("did you mean `{c}`?"),
                        None => format!("known schemas: {}", names.join(", ")),
                    };
                    return Err(Error::Suite {
                        path: suite.file.clone(),
                        pointer: format!("{}/expect/{key}", step.pointer),
                        message: format!(
                            "unknown schema `{name}` for contract {}",
                            contract.version()
                        ),
                        hint: Some(hint),
                    });
                }
            }
        }
    }
    let mut cases = Vec::new();
    for (si, suite) in suites.iter().enumerate() {
        for (ci, scenario) in suite.scenarios.iter().enumerate() {
            let id = format!("{}/{}", suite.name, scenario.name);
            let wanted = scenario.needs_client() == (kind == Kind::Client);
            if wanted && filter.is_none_or(|f| id.contains(f)) {
                cases.push(Case {
                    suite: si,
                    scenario: ci,
                    id,
                });
            }
        }
    }
    if cases.is_empty() {
        return Err(Error::Usage(match filter {
            Some(f) => format!("no scenario matches --filter `{f}` (see --list)"),
            None => match kind {
                Kind::Server => "no server scenarios to run in these suites".into(),
                Kind::Client => "no client scenarios (with `cli` steps) in these suites".into(),
            },
        }));
    }
    Ok(Plan { suites, cases })
}
