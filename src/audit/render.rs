//! The audit matrix for people and machines: console (one compact line per
//! release, then the findings), JSON, Markdown and one self-contained HTML
//! page. They only read the finished [`AuditReport`].

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::matrix::{AuditReport, Finding, State, row_title};
use crate::error::{Error, Result};
use crate::report::write_atomic;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Json,
    Html,
    Markdown,
}

#[derive(Debug, Clone)]
pub struct Spec {
    pub kind: Kind,
    pub path: std::path::PathBuf,
}

const FORMS: &str = "`json=PATH`, `html=PATH` or `markdown=PATH`";

pub fn specs(args: &[String]) -> Result<Vec<Spec>> {
    args.iter()
        .map(|arg| {
            let (kind, path) = arg
                .split_once('=')
                .ok_or_else(|| Error::Usage(format!("invalid report `{arg}`: expected {FORMS}")))?;
            let kind = match kind {
                "json" => Kind::Json,
                "html" => Kind::Html,
                "markdown" => Kind::Markdown,
                other => {
                    return Err(Error::Usage(format!(
                        "unknown audit report kind `{other}` in `{arg}`: expected {FORMS}"
                    )));
                }
            };
            if path.is_empty() {
                return Err(Error::Usage(format!(
                    "missing path in report `{arg}`: expected {FORMS}"
                )));
            }
            Ok(Spec {
                kind,
                path: path.into(),
            })
        })
        .collect()
}

/// Writes every report, prints the console one, returns the exit code.
pub fn finish(report: &AuditReport, specs: &[Spec], quiet: bool) -> Result<i32> {
    for spec in specs {
        let bytes = match spec.kind {
            Kind::Json => json(report)?,
            Kind::Html => html_page(report).into_string().into_bytes(),
            Kind::Markdown => markdown(report).into_bytes(),
        };
        write_atomic(&spec.path, &bytes)?;
    }
    say(&console(report, quiet));
    Ok(report.exit_code())
}

pub fn json(report: &AuditReport) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(report).map_err(|e| Error::Report {
        path: "<audit json report>".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn say(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

fn symbol(state: State) -> char {
    match state {
        State::Pass => '.',
        State::Fail => 'F',
        State::NotApplicable => '-',
        State::CouldNotRun => '!',
    }
}

fn header(report: &AuditReport) -> String {
    let shards = if report.partitions.is_empty() {
        String::new()
    } else {
        format!(" · shards {}", report.partitions.join(", "))
    };
    format!(
        "conform {} audit · {} releases · contract {} · servers {} · {} client runs · {:.1}s{shards}\n",
        report.conform_version,
        report.releases.len(),
        report.contract,
        report.servers,
        report.client_runs,
        report.duration_ms as f64 / 1000.0
    )
}

/// One line per release: its version, one symbol per display row, what
/// failed; then the findings.
pub fn console(report: &AuditReport, quiet: bool) -> String {
    let mut out = header(report);
    let rows = report.display_rows();
    let width = report
        .releases
        .iter()
        .map(|r| r.version.len())
        .max()
        .unwrap_or(5);
    if !quiet {
        out.push_str("rows:\n");
        for (i, (row, server)) in rows.iter().enumerate() {
            out.push_str(&format!("  {:>2} {}\n", i + 1, row_title(row, server)));
        }
        out.push_str("legend: . pass  F fail  - n/a  ! could not run\n");
        for release in &report.releases {
            let states: Vec<State> = rows
                .iter()
                .map(|(row, server)| report.state(&release.version, row, server))
                .collect();
            let strip: String = states.iter().map(|s| symbol(*s)).collect();
            let failed: Vec<String> = rows
                .iter()
                .zip(&states)
                .enumerate()
                .filter(|(_, (_, s))| **s == State::Fail)
                .map(|(i, _)| (i + 1).to_string())
                .collect();
            let verdict = if let Some(why) = &release.could_not_run {
                format!("could not run: {why}")
            } else if states.contains(&State::CouldNotRun) {
                let why = report
                    .cells
                    .iter()
                    .find(|c| c.release == release.version && c.state == State::CouldNotRun)
                    .and_then(|c| c.detail.first().cloned())
                    .unwrap_or_default();
                format!("could not run: {why}")
            } else if failed.is_empty() {
                "pass".to_string()
            } else {
                format!("fail: rows {}", failed.join(", "))
            };
            out.push_str(&format!(
                "{:<width$}  {strip}  {verdict}\n",
                release.version
            ));
        }
    }
    let findings = report.findings();
    let (compat, found): (Vec<&Finding>, Vec<&Finding>) =
        findings.iter().partition(|f| f.compatibility);
    if found.is_empty() {
        out.push_str("findings: none\n");
    } else {
        out.push_str("findings:\n");
        for f in &found {
            for line in f.lines() {
                out.push_str(&format!("  {line}\n"));
            }
        }
    }
    if !compat.is_empty() {
        out.push_str("compatibility with older servers:\n");
        for f in &compat {
            for line in f.lines() {
                out.push_str(&format!("  {line}\n"));
            }
        }
    }
    out.push_str(&format!("exit {}\n", report.exit_code()));
    out
}

pub fn markdown(report: &AuditReport) -> String {
    let mut out = format!("# conform audit\n\n{}\n", header(report).trim_end());
    let findings = report.findings();
    out.push_str("\n## Findings\n\n");
    if findings.is_empty() {
        out.push_str("None.\n");
    }
    for f in &findings {
        for line in f.lines() {
            out.push_str(&format!("- {}\n", line.replace('|', "\\|")));
        }
    }
    out.push_str("\n## Matrix\n\n| row |");
    for r in &report.releases {
        out.push_str(&format!(" {} |", r.version));
    }
    out.push_str("\n| --- |");
    for _ in &report.releases {
        out.push_str(" --- |");
    }
    out.push('\n');
    for (row, server) in report.display_rows() {
        out.push_str(&format!(
            "| {} |",
            row_title(&row, &server).replace('|', "\\|")
        ));
        for r in &report.releases {
            let mark = match report.state(&r.version, &row, &server) {
                State::Pass => "pass",
                State::Fail => "**FAIL**",
                State::NotApplicable => "n/a",
                State::CouldNotRun => "could not run",
            };
            out.push_str(&format!(" {mark} |"));
        }
        out.push('\n');
    }
    out
}

const STYLE: &str = r#"
:root { --pass:#067647; --fail:#b42318; --na:#d0d5dd; --cnr:#b54708; --ink:#101828; --muted:#667085; --line:#e4e7ec; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #f9fafb; font: 15px/1.5 system-ui, sans-serif; }
header { background: #fff; border-bottom: 4px solid var(--pass); padding: 18px 28px; }
header.failing { border-bottom-color: var(--fail); }
h1 { margin: 0 0 4px; font-size: 22px; }
.meta { color: var(--muted); font-size: 14px; }
main { padding: 12px 28px 28px; }
section#findings li { margin: 4px 0; }
li.finding.client { color: var(--fail); font-weight: 600; }
li.finding.compatibility { color: var(--muted); }
table.matrix { border-collapse: collapse; background: #fff; margin-top: 12px; }
table.matrix th { font-size: 12px; font-weight: 600; padding: 4px 6px; text-align: left; white-space: nowrap; }
table.matrix thead th { writing-mode: vertical-rl; transform: rotate(180deg); vertical-align: bottom; }
td.cell { width: 26px; height: 26px; padding: 0; border: 2px solid #fff; vertical-align: top; }
td.cell.pass { background: var(--pass); }
td.cell.fail { background: var(--fail); }
td.cell.n-a { background: var(--na); }
td.cell.could-not-run { background: var(--cnr); }
td.cell details summary { list-style: none; cursor: pointer; width: 22px; height: 22px; color: #fff; font-size: 12px; text-align: center; }
td.cell details summary::-webkit-details-marker { display: none; }
td.cell details[open] { position: relative; }
td.cell details .why { position: absolute; z-index: 2; left: 0; top: 24px; width: 640px; background: #fff; color: var(--ink); border: 1px solid var(--fail); border-radius: 6px; padding: 8px 10px; font: 12px/1.4 ui-monospace, monospace; white-space: pre-wrap; }
.legend span { display: inline-block; padding: 1px 8px; margin-right: 6px; color: #fff; border-radius: 4px; font-size: 12px; }
"#;

fn state_class(state: State) -> &'static str {
    match state {
        State::Pass => "pass",
        State::Fail => "fail",
        State::NotApplicable => "n-a",
        State::CouldNotRun => "could-not-run",
    }
}

/// One page: the findings, then a release timeline strip per row; a
/// failing or could-not-run cell opens what went wrong.
pub fn html_page(report: &AuditReport) -> Markup {
    let findings = report.findings();
    let failing = report.exit_code() != 0;
    let rows = report.display_rows();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "conform audit · " (report.releases.len()) " releases" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header class=(if failing { "failing" } else { "passing" }) {
                    h1 { "conform audit" }
                    div class="meta" { (header(report).trim_end()) }
                }
                main {
                    section id="findings" {
                        h2 { "Findings" }
                        @if findings.is_empty() {
                            p class="none" { "None: no row fails in any release." }
                        } @else {
                            ul {
                                @for f in &findings {
                                    @for line in f.lines() {
                                        li class={ "finding " (finding_class(f)) } data-row=(f.row) data-server=(f.server) { (line) }
                                    }
                                }
                            }
                        }
                    }
                    section id="matrix" {
                        h2 { "Matrix" }
                        p class="legend" {
                            span style="background:var(--pass)" { "pass" }
                            span style="background:var(--fail)" { "fail" }
                            span style="background:var(--na);color:#344054" { "not applicable" }
                            span style="background:var(--cnr)" { "could not run" }
                        }
                        table class="matrix" {
                            thead { tr { th { "row \\ release" } @for r in &report.releases { th scope="col" { (r.version) } } } }
                            tbody {
                                @for (row, server) in &rows {
                                    tr class="strip" data-row=(row) data-server=(server) {
                                        th scope="row" { (row_title(row, server)) }
                                        @for r in &report.releases {
                                            (cell(report, &r.version, row, server))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn finding_class(f: &Finding) -> &'static str {
    if f.compatibility {
        "compatibility"
    } else {
        match f.blame {
            Some(super::matrix::Blame::Server) => "server",
            _ => "client",
        }
    }
}

fn cell(report: &AuditReport, release: &str, row: &str, server: &str) -> Markup {
    let state = report.state(release, row, server);
    let detail: Vec<String> = match report.cell(release, row, server) {
        Some(c) => c.detail.clone(),
        None => report
            .release(release)
            .and_then(|r| r.could_not_run.clone())
            .into_iter()
            .collect(),
    };
    let title = format!("{release} · {} · {}", row_title(row, server), state.word());
    html! {
        td class={ "cell " (state_class(state)) } data-release=(release) data-state=(state_class(state)) title=(title) {
            @if !detail.is_empty() && matches!(state, State::Fail | State::CouldNotRun) {
                details {
                    summary { (if state == State::Fail { "✗" } else { "!" }) }
                    div class="why" { (title) "\n" (detail.join("\n")) }
                }
            }
        }
    }
}
