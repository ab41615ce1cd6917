//! Plan stage: resolve suites against the contract, filter, order → cases.

use std::sync::Arc;

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
    /// Why the loaded contract version cannot run it (its `versions` or
    /// `needs`): kept in the plan so reports list it, never executed.
    pub not_applicable: Option<String>,
}

impl Plan {
    /// Cases that will run.
    pub fn applicable(&self) -> impl Iterator<Item = &Case> {
        self.cases.iter().filter(|c| c.not_applicable.is_none())
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// Shared, never copied per scenario: a case points into its suite.
    pub suites: Vec<Arc<Suite>>,
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

/// Which scenarios to run, as libtest and nextest spell it: `--filter`
/// (repeatable, any may match), `--skip` (repeatable, none may match),
/// `--exact` (whole ids instead of substrings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub filters: Vec<String>,
    pub skips: Vec<String>,
    pub exact: bool,
}

impl Selection {
    pub fn filter(text: Option<&str>) -> Selection {
        Selection {
            filters: text.map(str::to_string).into_iter().collect(),
            ..Selection::default()
        }
    }

    fn hits(&self, pattern: &str, id: &str) -> bool {
        if self.exact {
            id == pattern
        } else {
            id.contains(pattern)
        }
    }

    pub fn selects(&self, id: &str) -> bool {
        (self.filters.is_empty() || self.filters.iter().any(|f| self.hits(f, id)))
            && !self.skips.iter().any(|s| self.hits(s, id))
    }

    fn is_narrowed(&self) -> bool {
        !self.filters.is_empty() || !self.skips.is_empty()
    }

    fn describe(&self) -> String {
        let mut words: Vec<String> = self
            .filters
            .iter()
            .map(|f| format!("--filter `{f}`"))
            .collect();
        words.extend(self.skips.iter().map(|s| format!("--skip `{s}`")));
        if self.exact {
            words.push("--exact".into());
        }
        words.join(" ")
    }
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
    plan_selected(suites, contract, &Selection::filter(filter), kind)
}

/// [`plan`] with a full [`Selection`].
pub fn plan_selected(
    suites: Vec<Suite>,
    contract: &Contract,
    selection: &Selection,
    kind: Kind,
) -> Result<Plan> {
    let names = contract.schema_names();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    for suite in &suites {
        for (index, scenario) in suite.scenarios.iter().enumerate() {
            // A version that cannot run the scenario need not have its schemas.
            if suite.not_applicable(index, contract).is_some() {
                continue;
            }
            for step in &scenario.steps {
                for (key, name) in crate::check::schema::named(&step.expect) {
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
            if wanted && selection.selects(&id) {
                cases.push(Case {
                    suite: si,
                    scenario: ci,
                    id,
                    not_applicable: suite.not_applicable(ci, contract),
                });
            }
        }
    }
    if cases.is_empty() {
        return Err(Error::Usage(match selection.is_narrowed() {
            true => format!("no scenario matches {} (see --list)", selection.describe()),
            false => match kind {
                Kind::Server => "no server scenarios to run in these suites".into(),
                Kind::Client => "no client scenarios (with `cli` steps) in these suites".into(),
            },
        }));
    }
    let suites = suites.into_iter().map(Arc::new).collect();
    Ok(Plan { suites, cases })
}

/// One shard of a plan, as nextest spells it: `hash:M/N` or `slice:M/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    /// Cases whose stable id hash is M-1 modulo N: a shard keeps its
    /// scenarios when others are added or removed elsewhere.
    Hash { shard: u64, total: u64 },
    /// Every N-th case in plan order, starting at the M-th: shards of
    /// equal size.
    Slice { shard: u64, total: u64 },
}

impl Partition {
    /// Parses `hash:M/N` or `slice:M/N` with M in 1..=N.
    pub fn parse(spec: &str) -> Result<Partition> {
        let bad = |why: &str| {
            Error::Usage(format!(
                "invalid --partition `{spec}`: {why} (expected hash:M/N or slice:M/N, with 1 <= M <= N)"
            ))
        };
        let (kind, shares) = spec
            .split_once(':')
            .ok_or_else(|| bad("missing `hash:` or `slice:`"))?;
        let (shard, total) = shares
            .split_once('/')
            .ok_or_else(|| bad("missing `/` between M and N"))?;
        let number = |text: &str, what: &str| {
            text.parse::<u64>()
                .map_err(|_| bad(&format!("{what} `{text}` is not a whole number")))
        };
        let (shard, total) = (number(shard, "M")?, number(total, "N")?);
        if total == 0 {
            return Err(bad("N must be at least 1"));
        }
        if !(1..=total).contains(&shard) {
            return Err(bad(&format!("M must be between 1 and {total}")));
        }
        match kind {
            "hash" => Ok(Partition::Hash { shard, total }),
            "slice" => Ok(Partition::Slice { shard, total }),
            other => Err(bad(&format!("unknown kind `{other}`"))),
        }
    }

    fn describe(&self) -> String {
        match self {
            Partition::Hash { shard, total } => format!("hash:{shard}/{total}"),
            Partition::Slice { shard, total } => format!("slice:{shard}/{total}"),
        }
    }

    /// Whether the case at `position` (in plan order) with `id` is in this shard.
    pub fn keeps(&self, position: usize, id: &str) -> bool {
        match *self {
            // Stable FNV-1a: a scenario stays in its shard on every machine.
            Partition::Hash { shard, total } => {
                crate::hash::fnv1a(id.as_bytes()) % total == shard - 1
            }
            Partition::Slice { shard, total } => position as u64 % total == shard - 1,
        }
    }
}

/// Keeps only the cases of `partition`, in plan order. Applied after
/// filtering, so every shard of a filtered run splits the same selection.
/// An empty shard is the same usage error (exit 2) as a `--filter` that
/// matches nothing: a run that tests nothing must not pass quietly
/// (nextest's `--no-tests=fail`).
pub fn partition(mut plan: Plan, partition: &Partition) -> Result<Plan> {
    let mut position = 0;
    plan.cases.retain(|case| {
        let keep = partition.keeps(position, &case.id);
        position += 1;
        keep
    });
    if plan.cases.is_empty() {
        return Err(Error::Usage(format!(
            "no scenario in shard {} of this selection (see --list); use fewer shards",
            partition.describe()
        )));
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_kinds_and_rejects_malformed_specs() {
        assert_eq!(
            Partition::parse("hash:2/3").ok(),
            Some(Partition::Hash { shard: 2, total: 3 })
        );
        assert_eq!(
            Partition::parse("slice:1/1").ok(),
            Some(Partition::Slice { shard: 1, total: 1 })
        );
        for bad in [
            "",
            "hash",
            "hash:",
            "hash:1",
            "hash:0/3",
            "hash:4/3",
            "hash:1/0",
            "count:1/2",
            "slice:a/2",
            "slice:1/b",
            "slice:-1/2",
            "slice:1/2/3",
        ] {
            assert!(Partition::parse(bad).is_err(), "`{bad}` was accepted");
        }
    }
}
