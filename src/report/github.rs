//! GitHub Actions annotations: one `::error` workflow command per finding
//! (a cause, with its checks as evidence), so failures show up on the run's summary page and in the files
//! view without anyone opening the log.
//! Format: <https://docs.github.com/actions/reference/workflow-commands-for-github-actions>

use std::fmt::Write as _;

use crate::Result;
use crate::findings::Finding;
use crate::outcome::RunReport;
use crate::redact::Redactor;

use super::Reporter;

/// How `conform run` / `conform client` talk on stdout (`--format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// The console report.
    #[default]
    Console,
    /// The console report, then one GitHub Actions `::error` line per
    /// finding, most important first.
    Github,
}

#[derive(Debug, Clone)]
pub struct GithubReporter {
    redactor: Redactor,
}

impl GithubReporter {
    pub fn new(redactor: Redactor) -> Self {
        GithubReporter { redactor }
    }
}

impl Reporter for GithubReporter {
    fn render(&self, report: &RunReport) -> Result<Vec<u8>> {
        // Findings only: no scenario is copied to mask.
        let report = super::redacted_where(report, &self.redactor, super::Keep::None)?;
        let mut out = String::new();
        // One annotation per finding, most important first: GitHub shows
        // only the first few of a step, and one cause is one thing to fix.
        for f in &report.findings {
            annotate_finding(&mut out, f);
        }
        Ok(out.into_bytes())
    }
}

/// Locations spelled out in an annotation before "and N more".
const ANNOTATION_LOCATIONS: usize = 5;

fn annotate_finding(out: &mut String, f: &Finding) {
    let mut message = String::new();
    for loc in f.locations.iter().take(ANNOTATION_LOCATIONS) {
        let _ = writeln!(
            message,
            "{} step {} `{}`",
            loc.scenario, loc.step, loc.step_name
        );
    }
    if f.places() > ANNOTATION_LOCATIONS {
        let _ = writeln!(
            message,
            "… and {} more",
            f.places() - ANNOTATION_LOCATIONS.min(f.locations.len())
        );
    }
    if let Some(e) = f.evidence.first() {
        let at = e
            .pointer
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(|p| format!(" at {p}"))
            .unwrap_or_default();
        let _ = write!(
            message,
            "{}{at}: expected {}, got {}",
            e.check, e.expected, e.actual
        );
        if let Some(note) = &e.note {
            let _ = write!(message, " ({note})");
        }
    }
    if !f.not_evaluated.is_empty() {
        let _ = write!(
            message,
            "\nnot evaluated: {}",
            super::console::not_evaluated_words(f)
        );
    }
    command(out, &f.file, &f.title, message.trim_end());
}

fn command(out: &mut String, file: &str, title: &str, message: &str) {
    let _ = writeln!(
        out,
        "::error file={},title={}::{}",
        escape_property(file),
        escape_property(title),
        escape_data(message)
    );
}

/// Escapes a command's message, as `@actions/core`'s `escapeData` does.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command property value, as `@actions/core`'s
/// `escapeProperty` does: `:` and `,` would end the value early.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_escapes_percent_first_and_line_breaks() {
        assert_eq!(escape_data("100%\r\nok"), "100%25%0D%0Aok");
        // `%` first, or the escapes themselves would be escaped again.
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn properties_also_escape_colon_and_comma() {
        assert_eq!(
            escape_property("fragment_preserved at /a:b,c\n"),
            "fragment_preserved at /a%3Ab%2Cc%0A"
        );
    }
}
