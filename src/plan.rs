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

/// Checks every schema a suite names exists in the contract, then selects
/// the scenarios whose `suite/scenario` contains `filter`, in file order.
pub fn plan(suites: Vec<Suite>, contract: &Contract, filter: Option<&str>) -> Result<Plan> {
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
            if filter.is_none_or(|f| id.contains(f)) {
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
            None => "no scenarios to run: the suites are empty".into(),
        }));
    }
    Ok(Plan { suites, cases })
}
