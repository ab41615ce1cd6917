//! Reporters turn a finished [`RunReport`] into bytes for people (console,
//! HTML, Markdown) or machines (JSON, JUnit XML, GitHub annotations). They
//! only read the result; judging happened in the runner.

pub mod console;
pub mod github;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::outcome::{RequestSummary, RunReport, ScenarioOutcome, Status};
use crate::redact::Redactor;
use crate::{Error, Result};

pub use console::ConsoleReporter;
pub use github::{GithubReporter, OutputFormat};
pub use html::HtmlReporter;
pub use json::JsonReporter;
pub use junit::JunitReporter;
pub use markdown::MarkdownReporter;

pub trait Reporter {
    fn render(&self, report: &RunReport) -> Result<Vec<u8>>;

    /// Writes the report to `out`. Reporters whose output grows with the
    /// run (JSON, JUnit) write it piece by piece instead of whole.
    fn write_to(&self, report: &RunReport, out: &mut dyn std::io::Write) -> Result<()> {
        let bytes = self.render(report)?;
        out.write_all(&bytes).map_err(|e| render_error("report", e))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    Console,
    Json,
    /// The JSON report with failures and counts only.
    JsonCompact,
    Junit,
    Html,
    Markdown,
    /// GitHub Actions workflow commands; printed with `--format github`,
    /// not written to a file.
    Github,
}

impl ReportKind {
    /// The kinds that can be written to a file with `KIND=PATH`.
    pub fn parse(name: &str) -> Option<ReportKind> {
        match name {
            "json" => Some(ReportKind::Json),
            "json-compact" => Some(ReportKind::JsonCompact),
            "junit" => Some(ReportKind::Junit),
            "html" => Some(ReportKind::Html),
            "markdown" => Some(ReportKind::Markdown),
            _ => None,
        }
    }
}

/// A report file to write, as given on the command line: `json=PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSpec {
    pub kind: ReportKind,
    pub path: PathBuf,
}

const REPORT_FORMS: &str =
    "`json=PATH`, `json-compact=PATH`, `junit=PATH`, `html=PATH` or `markdown=PATH`";

impl ReportSpec {
    pub fn parse(arg: &str) -> Result<ReportSpec> {
        let Some((kind, path)) = arg.split_once('=') else {
            return Err(Error::Usage(format!(
                "invalid report `{arg}`: expected {REPORT_FORMS}"
            )));
        };
        let Some(kind) = ReportKind::parse(kind) else {
            return Err(Error::Usage(format!(
                "unknown report kind `{kind}` in `{arg}`: expected {REPORT_FORMS}"
            )));
        };
        if path.is_empty() {
            return Err(Error::Usage(format!(
                "missing path in report `{arg}`: expected {REPORT_FORMS}"
            )));
        }
        Ok(ReportSpec {
            kind,
            path: PathBuf::from(path),
        })
    }

    /// Renders `report` and writes it to this spec's path, streamed: the
    /// rendered text is never held whole.
    pub fn write(&self, report: &RunReport, redactor: &Redactor) -> Result<()> {
        let reporter = reporter(self.kind, redactor);
        write_report_with(&self.path, |out| {
            // Masked once more as finally written: a reporter that
            // transforms text (HTML pretty-prints JSON excerpts, decoding
            // escapes) must not undo the masking done on the report.
            let mut masked = redactor.writer(out);
            reporter.write_to(report, &mut masked)?;
            masked
                .finish()
                .map(drop)
                .map_err(|e| render_error("report", e))
        })
        .map_err(|e| match e {
            // Renderers do not know the path; name the file the user asked for.
            Error::Report { source, .. } => Error::Report {
                path: self.path.clone(),
                source,
            },
            other => other,
        })
    }

    /// Whether this report goes to stdout (`KIND=-`).
    pub fn is_stdout(&self) -> bool {
        self.path.as_os_str() == "-"
    }
}

/// Checks every report path before the run starts, so a bad one fails in
/// a second (exit 2, naming it), not after a 30-minute run: no two reports
/// to one file, no report over an input (`inputs`: suite files, schema
/// folders, the token file), nothing that is a directory, and a folder
/// that can hold it.
pub fn check_paths(specs: &[ReportSpec], inputs: &[PathBuf]) -> Result<()> {
    let usage = |msg: String| Err(Error::Usage(msg));
    let inputs: Vec<PathBuf> = inputs.iter().filter_map(|p| resolved(p)).collect();
    let mut seen: Vec<(PathBuf, &ReportSpec)> = Vec::new();
    for spec in specs {
        if spec.is_stdout() {
            if let Some((_, first)) = seen.iter().find(|(p, _)| p.as_os_str() == "-") {
                return usage(format!(
                    "two reports to stdout (`-`): {:?} and {:?}",
                    first.kind, spec.kind
                ));
            }
            seen.push((PathBuf::from("-"), spec));
            continue;
        }
        let shown = spec.path.display();
        let Some(target) = resolved(&spec.path) else {
            return usage(format!("report path `{shown}` cannot be resolved"));
        };
        if let Some((_, first)) = seen.iter().find(|(p, _)| *p == target) {
            return usage(format!(
                "two reports to one file: `{}` and `{shown}` are the same path",
                first.path.display()
            ));
        }
        if let Some(input) = inputs.iter().find(|i| target.starts_with(i)) {
            return usage(format!(
                "report path `{shown}` is an input of this run (`{}`); it would be overwritten",
                input.display()
            ));
        }
        if target.is_dir() {
            return usage(format!("report path `{shown}` is a directory"));
        }
        // The nearest existing ancestor must be a directory we can fill.
        let mut dir = target.parent();
        while let Some(d) = dir {
            if d.exists() {
                if !d.is_dir() {
                    // Shown as the user would type it, not as resolved.
                    let cwd = std::env::current_dir().and_then(|c| c.canonicalize()).ok();
                    let d = cwd
                        .as_deref()
                        .and_then(|c| d.strip_prefix(c).ok())
                        .unwrap_or(d);
                    return usage(format!(
                        "report path `{shown}`: `{}` is not a directory",
                        d.display()
                    ));
                }
                break;
            }
            dir = d.parent();
        }
        seen.push((target, spec));
    }
    Ok(())
}

/// `path` made absolute with its symlinks resolved; for a path that does
/// not exist yet, its existing ancestor resolved plus the rest.
fn resolved(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    if let Ok(real) = std::fs::canonicalize(&absolute) {
        return Some(real);
    }
    let mut rest = Vec::new();
    let mut at = absolute.as_path();
    loop {
        if let Ok(real) = std::fs::canonicalize(at) {
            return Some(rest.iter().rev().fold(real, |p, c| p.join(c)));
        }
        rest.push(at.file_name()?.to_os_string());
        at = at.parent()?;
    }
}

/// Writes a report where `path` says. A regular file or a missing path is
/// replaced atomically (temp file + rename), so readers never see half a
/// report. A symlink stays a symlink: the file it points to is written by
/// the same rules. Anything else that exists (a FIFO, `/dev/null`, a
/// terminal) is written through, never replaced. `-` is stdout.
pub fn write_report(path: &Path, bytes: &[u8]) -> Result<()> {
    write_report_with(path, |out| {
        out.write_all(bytes).map_err(|e| Error::Report {
            path: path.to_path_buf(),
            source: e,
        })
    })
}

/// [`write_report`] with the bytes written by `fill`, as they come.
pub fn write_report_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn std::io::Write) -> Result<()>,
) -> Result<()> {
    let report_err = |source: std::io::Error| Error::Report {
        path: path.to_path_buf(),
        source,
    };
    if path.as_os_str() == "-" {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        fill(&mut out)?;
        return out.flush().map_err(report_err);
    }
    let target = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            // Through the link: its target (which may not exist yet).
            resolved(path).ok_or_else(|| {
                report_err(std::io::Error::other("the symlink cannot be resolved"))
            })?
        }
        _ => path.to_path_buf(),
    };
    match std::fs::metadata(&target) {
        Ok(meta) if !meta.is_file() && !meta.is_dir() => {
            // A device or FIFO: open it as it is, no create, no truncate.
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&target)
                .map_err(report_err)?;
            let mut out = std::io::BufWriter::new(f);
            fill(&mut out)?;
            out.flush().map_err(report_err)
        }
        _ => write_atomic_with(&target, fill).map_err(|e| match e {
            Error::Report { source, .. } => report_err(source),
            other => other,
        }),
    }
}

/// The reporter for `kind`. The console one is colorless; build a
/// [`ConsoleReporter`] directly to get color on a terminal.
pub fn reporter(kind: ReportKind, redactor: &Redactor) -> Box<dyn Reporter> {
    match kind {
        ReportKind::Console => Box::new(ConsoleReporter::new(redactor.clone(), false)),
        ReportKind::Json => Box::new(JsonReporter::new(redactor.clone())),
        ReportKind::JsonCompact => Box::new(JsonReporter::new(redactor.clone()).compact(true)),
        ReportKind::Junit => Box::new(JunitReporter::new(redactor.clone())),
        ReportKind::Html => Box::new(HtmlReporter::new(redactor.clone())),
        ReportKind::Markdown => Box::new(MarkdownReporter::new(redactor.clone())),
        ReportKind::Github => Box::new(GithubReporter::new(redactor.clone())),
    }
}

/// Writes `bytes` to `path` so that readers (CI uploading artifacts, a
/// previous run's file) never see a half-written report: write a temp file
/// next to it, then rename over.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |out| {
        out.write_all(bytes).map_err(|e| Error::Report {
            path: path.to_path_buf(),
            source: e,
        })
    })
}

/// [`write_atomic`] with the bytes written by `fill`; the file appears
/// only when `fill` has succeeded.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn std::io::Write) -> Result<()>,
) -> Result<()> {
    let report_err = |source: std::io::Error| Error::Report {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(report_err)?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".conform-report-");
    // Temp files are created 0600; a report is an ordinary artifact that
    // CI users and tools may need to read, so give it the usual mode.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let tmp = builder.tempfile_in(dir).map_err(report_err)?;
    let mut out = std::io::BufWriter::new(tmp);
    fill(&mut out)?;
    let tmp = out.into_inner().map_err(|e| report_err(e.into_error()))?;
    tmp.as_file().sync_all().map_err(report_err)?;
    tmp.persist(path).map_err(|e| report_err(e.error))?;
    Ok(())
}

/// Wraps an error from a serializer as a report error; the path is filled
/// in by [`ReportSpec::write`], which knows it.
fn render_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Report {
        path: PathBuf::from(format!("<{what} report>")),
        source: std::io::Error::other(e.to_string()),
    }
}

/// A copy of `report` with every string passed through `redactor`, plus
/// any credential found in a recorded header (in case the runner missed
/// one, its value is then masked in bodies and messages too).
pub(crate) fn redacted(report: &RunReport, redactor: &Redactor) -> Result<RunReport> {
    redacted_where(report, redactor, Keep::All)
}

/// Which scenarios a masked copy keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    All,
    /// Failed and not run: read from a spool's kept outcomes, the passed
    /// ones are not read.
    NotPassed,
    None,
}

/// [`redacted`] keeping only the scenarios `keep` selects: a reporter that
/// shows only failures need not copy 100,000 passing ones. The copy holds
/// its scenarios in memory, read from the spool if the run had one and
/// passed ones are wanted.
pub(crate) fn redacted_where(
    report: &RunReport,
    redactor: &Redactor,
    keep: Keep,
) -> Result<RunReport> {
    let r = learned(report, redactor)?;
    let mut out = redacted_head(report, &r);
    match keep {
        Keep::None => {}
        Keep::NotPassed => {
            for sc in report.kept_scenarios() {
                let sc = sc?;
                if sc.status != Status::Passed {
                    out.scenarios.push(redacted_scenario(&sc, &r));
                }
            }
        }
        Keep::All => {
            for sc in report.all_scenarios() {
                let sc = sc?;
                out.scenarios.push(redacted_scenario(&sc, &r));
            }
        }
    }
    Ok(out)
}

/// `redactor` plus every credential found in a recorded request header.
pub(crate) fn learned(report: &RunReport, redactor: &Redactor) -> Result<Redactor> {
    let mut r = redactor.clone();
    if let Some(spool) = &report.spooled {
        for (name, value) in spool.credential_headers() {
            r.learn_header(name, value);
        }
        return Ok(r);
    }
    for step in report.scenarios.iter().flat_map(|s| &s.steps) {
        for (name, value) in step.request.iter().flat_map(|q| &q.headers) {
            r.learn_header(name, value);
        }
    }
    Ok(r)
}

/// Everything of `report` but its scenarios, masked by `r` (from
/// [`learned`]); the scenarios are left empty, for the caller to fill or
/// to write one by one with [`redacted_scenario`].
pub(crate) fn redacted_head(report: &RunReport, r: &Redactor) -> RunReport {
    let t = |s: &str| r.text(s);
    let mut findings = report.findings.clone();
    for f in &mut findings {
        f.title = t(&f.title);
        f.file = t(&f.file);
        for l in &mut f.locations {
            l.scenario = t(&l.scenario);
            l.file = t(&l.file);
            l.step_name = t(&l.step_name);
        }
        for e in f.evidence.iter_mut().chain(f.not_evaluated.iter_mut()) {
            e.scenario = t(&e.scenario);
            e.check = t(&e.check);
            e.pointer = e.pointer.as_deref().map(t);
            e.expected = t(&e.expected);
            e.actual = t(&e.actual);
            redact_values(&mut e.values, r);
            e.note = e.note.as_deref().map(t);
        }
    }
    RunReport {
        format: report.format,
        conform_version: t(&report.conform_version),
        contract_version: t(&report.contract_version),
        target: t(&report.target),
        run: report.run.clone(),
        duration_ms: report.duration_ms,
        duration_us: report.duration_us,
        interrupted: report.interrupted,
        summary: report.summary,
        findings,
        scenarios: Vec::new(),
        spooled: None,
        latency: report.latency.clone(),
    }
}

/// One scenario with every string masked by `r` (from [`learned`]).
pub(crate) fn redacted_scenario(sc: &ScenarioOutcome, r: &Redactor) -> ScenarioOutcome {
    let t = |s: &str| r.text(s);
    let mut sc = sc.clone();
    sc.suite = t(&sc.suite);
    sc.file = t(&sc.file);
    sc.scenario = t(&sc.scenario);
    for step in &mut sc.steps {
        step.name = t(&step.name);
        step.skipped_because = step.skipped_because.as_deref().map(t);
        step.transport_error = step.transport_error.as_deref().map(t);
        if let Some(req) = &mut step.request {
            redact_request(req, r);
        }
        if let Some(resp) = &mut step.response {
            resp.location = resp.location.as_deref().map(t);
            resp.body_excerpt = t(&resp.body_excerpt);
        }
        if let Some(client) = &mut step.client {
            client.argv = client.argv.iter().map(|a| t(a)).collect();
            client.stdout_excerpt = t(&client.stdout_excerpt);
            client.stderr_excerpt = t(&client.stderr_excerpt);
        }
        for c in &mut step.checks {
            c.check = t(&c.check);
            c.pointer = c.pointer.as_deref().map(t);
            c.expected = t(&c.expected);
            c.actual = t(&c.actual);
            redact_values(&mut c.values, r);
            c.note = c.note.as_deref().map(t);
        }
    }
    sc
}

/// Typed check values are masked like their text.
fn redact_values(values: &mut Option<Box<crate::outcome::CheckValues>>, r: &Redactor) {
    if let Some(v) = values {
        v.expected = r.json(&v.expected);
        v.actual = v.actual.as_ref().map(|a| r.json(a));
    }
}

/// Scenarios that did not run at all (an interrupted run). The summary
/// counts them as failed; reports that show "skipped" separately use this.
pub(crate) fn skipped_scenarios(report: &RunReport) -> usize {
    report
        .scenarios
        .iter()
        .filter(|s| s.status == crate::outcome::Status::Skipped)
        .count()
}

/// Steps not run because an earlier step of their scenario failed.
pub(crate) fn skipped_steps(report: &RunReport) -> usize {
    report
        .scenarios
        .iter()
        .flat_map(|s| &s.steps)
        .filter(|s| s.status == crate::outcome::Status::Skipped)
        .count()
}

/// Whether a check compares URLs, so reports show both URLs and point at
/// the part that was lost (the 0.1.8 fragment).
pub(crate) fn is_url_check(c: &crate::outcome::CheckOutcome) -> bool {
    const URL_CHECKS: &[&str] = &[
        "fragment_preserved",
        "server_value_preserved",
        "stripe_urls_verbatim",
        "redirects_to",
    ];
    URL_CHECKS.contains(&c.check.as_str())
        || c.note.as_deref().is_some_and(|n| n.contains("fragment"))
}

/// The one-line title of a run's outcome, shared by HTML and Markdown.
pub(crate) fn verdict(report: &RunReport) -> &'static str {
    if report.interrupted {
        "interrupted"
    } else if report.summary.transport_errors > 0 {
        "error"
    } else if report.summary.failed > 0 {
        "failed"
    } else {
        "passed"
    }
}

/// "3 findings · 24 checks failed": both counts, so nobody mistakes one
/// for the other.
pub(crate) fn counts_line(report: &RunReport) -> String {
    let s = &report.summary;
    let mut line = format!(
        "{} · {}",
        plural(s.findings, "finding", "findings"),
        plural(s.checks_failed, "check failed", "checks failed")
    );
    if s.not_evaluated > 0 {
        let _ = std::fmt::Write::write_fmt(
            &mut line,
            format_args!(" · {} not evaluated", s.not_evaluated),
        );
    }
    line
}

pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The findings that happened in scenario `sc`, most important first.
pub(crate) fn findings_of<'a>(
    report: &'a RunReport,
    sc: &ScenarioOutcome,
) -> impl Iterator<Item = &'a crate::findings::Finding> + 'a {
    crate::findings::of_scenario(&report.findings, sc)
}

/// Milliseconds as people read them: `87ms`, `1.25s`.
pub(crate) fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{:.2}s", ms as f64 / 1000.0)
    }
}

fn redact_request(req: &mut RequestSummary, r: &Redactor) {
    req.method = r.text(&req.method);
    req.url = r.text(&req.url);
    for (name, value) in &mut req.headers {
        *value = r.header(name, value);
    }
    req.body = req.body.as_ref().map(|b| r.json(b));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_html_and_markdown_specs() {
        assert_eq!(
            ReportSpec::parse("html=out/report.html")
                .ok()
                .map(|s| s.kind),
            Some(ReportKind::Html)
        );
        assert_eq!(
            ReportSpec::parse("markdown=summary.md")
                .ok()
                .map(|s| s.kind),
            Some(ReportKind::Markdown)
        );
        // Annotations go to stdout with `--format github`, not to a file.
        assert!(ReportSpec::parse("github=x").is_err());
    }

    #[test]
    fn parses_json_and_junit_specs() {
        assert_eq!(
            ReportSpec::parse("json=out/report.json").ok(),
            Some(ReportSpec {
                kind: ReportKind::Json,
                path: PathBuf::from("out/report.json"),
            })
        );
        // Only the first `=` separates: paths may contain one.
        assert_eq!(
            ReportSpec::parse("junit=a=b.xml").ok().map(|s| s.path),
            Some(PathBuf::from("a=b.xml"))
        );
    }
}
