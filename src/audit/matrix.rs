//! The audit's answer as data: releases × rows (scenarios and invariants)
//! × server versions, one cell each, and the findings read off it.
//! Reporters and `report merge` only read this.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::outcome::{RunReport, ScenarioOutcome, StepOutcome};

/// Version of the audit JSON layout.
pub const AUDIT_FORMAT: u32 = 1;

/// Invariants judged on every client × server pair: the check kinds that
/// feed each one. Facts about check kinds, not about the API.
pub const INVARIANTS: &[(&str, &[&str])] = &[
    (
        "stripe-fragment",
        &["fragment_preserved", "stripe_url_fragments"],
    ),
    (
        "server-value",
        &["server_value_preserved", "stripe_urls_verbatim"],
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Pass,
    Fail,
    /// The pair was not run for this row (e.g. no check of that invariant).
    NotApplicable,
    CouldNotRun,
}

impl State {
    pub fn word(self) -> &'static str {
        match self {
            State::Pass => "pass",
            State::Fail => "fail",
            State::NotApplicable => "n/a",
            State::CouldNotRun => "could not run",
        }
    }
}

/// Who broke an invariant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Blame {
    /// The server's answer already broke it (e.g. it sent stripped URLs).
    Server,
    /// The client changed or invented a value the server sent otherwise.
    Client,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseInfo {
    pub version: String,
    pub origin: String,
    /// The contract version it is judged by (`None`: it could not be).
    pub contract: Option<String>,
    /// Its own server version: the one its contract describes.
    pub own_server: Option<String>,
    /// The server versions it meets.
    pub servers: Vec<String>,
    /// Why nothing of this release could run, if so.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub could_not_run: Option<String>,
}

/// One cell: a release, a server version, a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cell {
    pub release: String,
    pub server: String,
    /// `scenario:SUITE/NAME` or `invariant:NAME`.
    pub row: String,
    pub state: State,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub blame: Option<Blame>,
    /// The failure as the run report shows it, or why it could not run.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub detail: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditReport {
    pub format: u32,
    pub conform_version: String,
    /// `own` or a version.
    pub contract: String,
    /// As given: `own`, `previous:N`, `all` or a list.
    pub servers: String,
    /// `hash:M/N` when this is one shard; merged reports list every shard.
    pub partitions: Vec<String>,
    pub releases: Vec<ReleaseInfo>,
    /// Row ids in display order.
    pub rows: Vec<String>,
    pub cells: Vec<Cell>,
    /// Client runs made (one per release × server pair).
    pub client_runs: u64,
    pub duration_ms: u64,
}

/// One line of the findings: a row (against one server) that fails somewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub row: String,
    /// `own` or a server version.
    pub server: String,
    pub blame: Option<Blame>,
    /// Contract mismatch with a server that is not the release's own:
    /// reported, but not a finding against the client.
    pub compatibility: bool,
    pub ranges: Vec<Range>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Range {
    pub first: String,
    pub last: String,
    pub last_good: Option<String>,
    pub fixed_in: Option<String>,
}

impl AuditReport {
    pub fn release(&self, version: &str) -> Option<&ReleaseInfo> {
        self.releases.iter().find(|r| r.version == version)
    }

    /// `own` when `server` is the release's own server, else the version.
    pub fn server_label(&self, release: &str, server: &str) -> String {
        match self.release(release) {
            Some(r) if r.own_server.as_deref() == Some(server) => "own".into(),
            _ => server.to_string(),
        }
    }

    /// Display rows: (row id, server label), own first, in row order.
    pub fn display_rows(&self) -> Vec<(String, String)> {
        let mut labels: BTreeSet<String> = BTreeSet::new();
        for c in &self.cells {
            labels.insert(self.server_label(&c.release, &c.server));
        }
        let mut labels: Vec<String> = labels.into_iter().collect();
        labels.sort_by_key(|l| (l != "own", semver::Version::parse(l).ok(), l.clone()));
        if labels.is_empty() {
            labels.push("own".into());
        }
        let mut out = Vec::new();
        for label in &labels {
            for row in &self.rows {
                out.push((row.clone(), label.clone()));
            }
        }
        out
    }

    /// The cell for a release in a display row, if that pair ran.
    pub fn cell(&self, release: &str, row: &str, label: &str) -> Option<&Cell> {
        self.cells.iter().find(|c| {
            c.release == release && c.row == row && self.server_label(release, &c.server) == label
        })
    }

    /// What a display row shows for a release: the cell's state, or
    /// could-not-run for a release that never ran, or n/a.
    pub fn state(&self, release: &str, row: &str, label: &str) -> State {
        match self.cell(release, row, label) {
            Some(c) => c.state,
            None => match self.release(release) {
                Some(r) if r.could_not_run.is_some() && label == "own" => State::CouldNotRun,
                _ => State::NotApplicable,
            },
        }
    }

    /// For each failing display row: the failing releases as ranges, with
    /// the last good release before and the first good one after.
    pub fn findings(&self) -> Vec<Finding> {
        let versions: Vec<&str> = self.releases.iter().map(|r| r.version.as_str()).collect();
        let mut out = Vec::new();
        for (row, label) in self.display_rows() {
            let states: Vec<State> = versions
                .iter()
                .map(|v| self.state(v, &row, &label))
                .collect();
            if !states.contains(&State::Fail) {
                continue;
            }
            // Blame of the row: the client as soon as one cell blames it.
            let mut blames: BTreeSet<Blame> = BTreeSet::new();
            for v in &versions {
                if let Some(c) = self.cell(v, &row, &label)
                    && c.state == State::Fail
                    && let Some(b) = c.blame
                {
                    blames.insert(b);
                }
            }
            let blame = blames.iter().next_back().copied();
            let mut ranges = Vec::new();
            let mut i = 0;
            while i < states.len() {
                if states[i] != State::Fail {
                    i += 1;
                    continue;
                }
                let start = i;
                while i + 1 < states.len() && states[i + 1] == State::Fail {
                    i += 1;
                }
                let last_good = (0..start)
                    .rev()
                    .find(|&j| states[j] == State::Pass)
                    .map(|j| versions[j].to_string());
                let fixed_in = (i + 1..states.len())
                    .find(|&j| states[j] == State::Pass)
                    .map(|j| versions[j].to_string());
                ranges.push(Range {
                    first: versions[start].to_string(),
                    last: versions[i].to_string(),
                    last_good,
                    fixed_in,
                });
                i += 1;
            }
            out.push(Finding {
                compatibility: label != "own" && row.starts_with("scenario:"),
                row,
                server: label,
                blame,
                ranges,
            });
        }
        out
    }

    /// 3 some release could not run; 1 some release fails (a scenario
    /// against its own server, or an invariant the client broke against
    /// any server); 0 otherwise. Server-blamed breaks and compatibility
    /// results are reported but do not fail the client.
    pub fn exit_code(&self) -> i32 {
        use crate::error::exit;
        let could_not_run = self.releases.iter().any(|r| r.could_not_run.is_some())
            || self.cells.iter().any(|c| c.state == State::CouldNotRun);
        if could_not_run {
            return exit::TARGET_UNREACHABLE;
        }
        let fails = self.cells.iter().any(|c| {
            c.state == State::Fail && {
                let own = self.server_label(&c.release, &c.server) == "own";
                if c.row.starts_with("invariant:") {
                    c.blame == Some(Blame::Client)
                } else {
                    own
                }
            }
        });
        if fails {
            exit::CHECK_FAILED
        } else {
            exit::PASSED
        }
    }

    /// Joins shard reports into one matrix: the same releases and rows,
    /// every shard's cells.
    pub fn merge(parts: Vec<AuditReport>) -> Result<AuditReport, String> {
        let mut iter = parts.into_iter();
        let Some(mut merged) = iter.next() else {
            return Err("nothing to merge".into());
        };
        for part in iter {
            if part.contract != merged.contract || part.servers != merged.servers {
                return Err(format!(
                    "shards of different audits: --contract {} --servers {} vs --contract {} --servers {}",
                    merged.contract, merged.servers, part.contract, part.servers
                ));
            }
            for r in part.releases {
                match merged.releases.iter_mut().find(|m| m.version == r.version) {
                    Some(m) => {
                        if m.could_not_run.is_none() {
                            m.could_not_run = r.could_not_run;
                        }
                    }
                    None => merged.releases.push(r),
                }
            }
            for row in part.rows {
                if !merged.rows.contains(&row) {
                    merged.rows.push(row);
                }
            }
            for cell in part.cells {
                let dup = merged.cells.iter().any(|c| {
                    c.release == cell.release && c.server == cell.server && c.row == cell.row
                });
                if !dup {
                    merged.cells.push(cell);
                }
            }
            merged.partitions.extend(part.partitions);
            merged.client_runs += part.client_runs;
            merged.duration_ms = merged.duration_ms.max(part.duration_ms);
        }
        merged
            .releases
            .sort_by(|a, b| by_version(&a.version, &b.version));
        merged.sort_cells();
        Ok(merged)
    }

    /// Cells in release, server, row order: the same matrix compares equal
    /// however it was computed.
    pub fn sort_cells(&mut self) {
        let rows: BTreeMap<&str, usize> = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.as_str(), i))
            .collect();
        let mut cells = std::mem::take(&mut self.cells);
        cells.sort_by(|a, b| {
            by_version(&a.release, &b.release)
                .then_with(|| by_version(&a.server, &b.server))
                .then_with(|| rows.get(a.row.as_str()).cmp(&rows.get(b.row.as_str())))
        });
        self.cells = cells;
    }
}

fn by_version(a: &str, b: &str) -> std::cmp::Ordering {
    match (semver::Version::parse(a), semver::Version::parse(b)) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// A display row in words: `scenario client-checkout/…` or `invariant
/// stripe-fragment`, with the server when it is not the release's own.
pub fn row_title(row: &str, server: &str) -> String {
    let base = match row.split_once(':') {
        Some((kind, name)) => format!("{kind} {name}"),
        None => row.to_string(),
    };
    if server == "own" {
        base
    } else {
        format!("{base} (server {server})")
    }
}

impl Finding {
    /// `invariant stripe-fragment: broken in 1.4.0 – 1.5.2 (last good
    /// 1.3.9, fixed in 1.5.3)`, one line per range.
    pub fn lines(&self) -> Vec<String> {
        let title = row_title(&self.row, &self.server);
        let verb = if self.compatibility {
            "incompatible"
        } else if self.row.starts_with("invariant:") {
            "broken"
        } else {
            "fails"
        };
        let who = match (self.compatibility, self.blame) {
            (true, _) => {
                " — a contract mismatch with an older server, not a client finding".to_string()
            }
            (false, Some(Blame::Client)) => " — broken by the client".to_string(),
            (false, Some(Blame::Server)) => {
                " — broken by the server (its answer already broke it)".to_string()
            }
            (false, None) => String::new(),
        };
        self.ranges
            .iter()
            .map(|r| {
                let span = if r.first == r.last {
                    r.first.clone()
                } else {
                    format!("{} – {}", r.first, r.last)
                };
                let good = match &r.last_good {
                    Some(v) => format!("last good {v}"),
                    None => "never good before".to_string(),
                };
                let fixed = match &r.fixed_in {
                    Some(v) => format!("fixed in {v}"),
                    None => "not fixed".to_string(),
                };
                format!("{title}: {verb} in {span} ({good}, {fixed}){who}")
            })
            .collect()
    }
}

/// The rows of one client run: one per scenario, one per invariant.
pub fn rows_of(scenario_ids: &[String]) -> Vec<String> {
    let mut rows: Vec<String> = scenario_ids
        .iter()
        .map(|id| format!("scenario:{id}"))
        .collect();
    rows.extend(
        INVARIANTS
            .iter()
            .map(|(name, _)| format!("invariant:{name}")),
    );
    rows
}

/// Why a scenario's client could not be judged at all: it hung (killed at
/// the step timeout), could not start, or crashed (no output but stderr,
/// and a failing exit). Documented clients answer even errors with JSON.
fn could_not_run(scenario: &ScenarioOutcome) -> Option<String> {
    let step = scenario
        .steps
        .iter()
        .find(|s| s.status == crate::outcome::Status::Failed)?;
    if let Some(why) = &step.transport_error {
        return Some(format!("step `{}`: {why}", step.name));
    }
    let client = step.client.as_ref()?;
    let crashed = client.stdout_excerpt.trim().is_empty()
        && !client.stderr_excerpt.trim().is_empty()
        && client.exit_code != Some(0);
    crashed.then(|| {
        let last = client
            .stderr_excerpt
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default()
            .trim();
        let code = client
            .exit_code
            .map_or("a signal".to_string(), |c| format!("exit {c}"));
        format!("step `{}`: the client crashed ({code}): {last}", step.name)
    })
}

fn failure_lines(step: &StepOutcome) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(c) = &step.client {
        let code = c
            .exit_code
            .map_or("killed".to_string(), |e| format!("exit {e}"));
        out.push(format!(
            "step {} `{}`: client {} → {code}",
            step.index + 1,
            step.name,
            c.argv.join(" ")
        ));
    }
    for check in step.checks.iter().filter(|c| !c.passed) {
        let at = check
            .pointer
            .as_deref()
            .map(|p| format!(" at {p}"))
            .unwrap_or_default();
        let mut line = format!(
            "✗ {}{at}: expected {} · actual {}",
            check.check, check.expected, check.actual
        );
        if let Some(note) = &check.note {
            line.push_str(&format!(" ({note})"));
        }
        out.push(line);
    }
    out
}

/// Who broke an invariant in one failing check: `server_value_preserved`
/// and `stripe_urls_verbatim` fail only when the client changed a value; a
/// missing fragment is the server's when the client printed what it sent.
fn blame_of(step: &StepOutcome, check: &crate::outcome::CheckOutcome) -> Blame {
    match check.check.as_str() {
        "server_value_preserved" | "stripe_urls_verbatim" => Blame::Client,
        _ => {
            let verbatim_failed = step.checks.iter().any(|c| {
                !c.passed
                    && matches!(
                        c.check.as_str(),
                        "server_value_preserved" | "stripe_urls_verbatim"
                    )
                    && (c.pointer == check.pointer || c.check == "stripe_urls_verbatim")
            });
            if verbatim_failed {
                Blame::Client
            } else {
                Blame::Server
            }
        }
    }
}

/// The cells of one release × server run.
pub fn cells_of(release: &str, server: &str, rows: &[String], report: &RunReport) -> Vec<Cell> {
    let mut cells = Vec::new();
    let mut ran_any = false;
    let mut reasons = Vec::new();
    for scenario in &report.scenarios {
        let row = format!("scenario:{}", scenario.id());
        let (state, detail) = match could_not_run(scenario) {
            Some(why) => {
                reasons.push(why.clone());
                (State::CouldNotRun, vec![why])
            }
            None => {
                ran_any = true;
                match scenario.status {
                    crate::outcome::Status::Passed => (State::Pass, Vec::new()),
                    // Not written for this release's contract: a `-` cell,
                    // never a failure.
                    crate::outcome::Status::NotApplicable => (State::NotApplicable, Vec::new()),
                    _ => (
                        State::Fail,
                        scenario.steps.iter().flat_map(failure_lines).collect(),
                    ),
                }
            }
        };
        cells.push(Cell {
            release: release.into(),
            server: server.into(),
            row,
            state,
            blame: None,
            detail,
        });
    }
    for (name, kinds) in INVARIANTS {
        let mut seen = false;
        let mut failures: Vec<String> = Vec::new();
        let mut blame: Option<Blame> = None;
        for scenario in report
            .scenarios
            .iter()
            .filter(|s| could_not_run(s).is_none())
        {
            for step in &scenario.steps {
                for check in step
                    .checks
                    .iter()
                    .filter(|c| kinds.contains(&c.check.as_str()))
                {
                    seen = true;
                    if check.passed {
                        continue;
                    }
                    let b = blame_of(step, check);
                    blame = blame.max(Some(b));
                    let at = check.pointer.as_deref().unwrap_or("");
                    let who = match b {
                        Blame::Client => "client",
                        Blame::Server => "server",
                    };
                    let mut line = format!(
                        "{} · step `{}` · {}{}: expected {} · actual {} [broken by the {who}]",
                        scenario.id(),
                        step.name,
                        check.check,
                        if at.is_empty() {
                            String::new()
                        } else {
                            format!(" at {at}")
                        },
                        check.expected,
                        check.actual
                    );
                    if let Some(note) = &check.note {
                        line.push_str(&format!(" ({note})"));
                    }
                    failures.push(line);
                }
            }
        }
        let state = if !ran_any {
            State::CouldNotRun
        } else if !failures.is_empty() {
            State::Fail
        } else if seen {
            State::Pass
        } else {
            State::NotApplicable
        };
        let detail = if state == State::CouldNotRun {
            reasons.clone()
        } else {
            failures
        };
        cells.push(Cell {
            release: release.into(),
            server: server.into(),
            row: format!("invariant:{name}"),
            state,
            blame: if state == State::Fail { blame } else { None },
            detail,
        });
    }
    // Rows the run did not produce (filtered out) stay absent: n/a.
    cells.retain(|c| rows.contains(&c.row));
    cells
}

/// Every cell of a pair that could not run at all, with the reason.
pub fn could_not_run_cells(release: &str, server: &str, rows: &[String], why: &str) -> Vec<Cell> {
    rows.iter()
        .map(|row| Cell {
            release: release.into(),
            server: server.into(),
            row: row.clone(),
            state: State::CouldNotRun,
            blame: None,
            detail: vec![why.to_string()],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(states: &[(&str, State)]) -> AuditReport {
        AuditReport {
            format: AUDIT_FORMAT,
            conform_version: String::new(),
            contract: "own".into(),
            servers: "own".into(),
            partitions: Vec::new(),
            releases: states
                .iter()
                .map(|(v, _)| ReleaseInfo {
                    version: (*v).into(),
                    origin: String::new(),
                    contract: Some("0.1.9".into()),
                    own_server: Some("0.1.9".into()),
                    servers: vec!["0.1.9".into()],
                    could_not_run: None,
                })
                .collect(),
            rows: vec!["invariant:stripe-fragment".into()],
            cells: states
                .iter()
                .map(|(v, s)| Cell {
                    release: (*v).into(),
                    server: "0.1.9".into(),
                    row: "invariant:stripe-fragment".into(),
                    state: *s,
                    blame: (*s == State::Fail).then_some(Blame::Client),
                    detail: Vec::new(),
                })
                .collect(),
            client_runs: 0,
            duration_ms: 0,
        }
    }

    #[test]
    fn findings_give_ranges_with_last_good_and_first_fixed() {
        use State::*;
        let r = report(&[
            ("1.3.9", Pass),
            ("1.4.0", Fail),
            ("1.5.2", Fail),
            ("1.5.3", Pass),
            ("1.6.0", CouldNotRun),
            ("1.7.0", Fail),
        ]);
        let lines: Vec<String> = r.findings().iter().flat_map(Finding::lines).collect();
        assert_eq!(
            lines,
            [
                "invariant stripe-fragment: broken in 1.4.0 – 1.5.2 (last good 1.3.9, fixed in 1.5.3) — broken by the client",
                "invariant stripe-fragment: broken in 1.7.0 (last good 1.5.3, not fixed) — broken by the client",
            ]
        );
        assert_eq!(r.exit_code(), 3);
    }
}
