//! GitHub Actions annotations: one `::error` workflow command per failed
//! check, so failures show up on the run's summary page and in the files
//! view without anyone opening the log.
//! Format: <https://docs.github.com/actions/reference/workflow-commands-for-github-actions>

use std::fmt::Write as _;

use crate::Result;
use crate::outcome::{CheckOutcome, RunReport, ScenarioOutcome, StepOutcome};
use crate::redact::Redactor;

use super::Reporter;

/// How `conform run` / `conform client` talk on stdout (`--format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// The console report.
    #[default]
    Console,
    /// The console report, then one GitHub Actions `::error` line per
    /// failed check.
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
        let report = super::redacted(report, &self.redactor);
        let mut out = String::new();
        for sc in &report.scenarios {
            for step in &sc.steps {
                if let Some(err) = &step.transport_error {
                    annotate_transport(&mut out, sc, step, err);
                }
                for check in step.checks.iter().filter(|c| !c.passed) {
                    annotate_check(&mut out, sc, step, check);
                }
            }
        }
        Ok(out.into_bytes())
    }
}

fn annotate_check(out: &mut String, sc: &ScenarioOutcome, step: &StepOutcome, c: &CheckOutcome) {
    let title = match &c.pointer {
        Some(pointer) if !pointer.is_empty() => format!("{} at {pointer}", c.check),
        _ => c.check.clone(),
    };
    let mut message = format!(
        "{} step {}: expected {}, got {}",
        sc.id(),
        step.index + 1,
        c.expected,
        c.actual
    );
    if let Some(note) = &c.note {
        let _ = write!(message, " ({note})");
    }
    command(out, &sc.file, &title, &message);
}

/// Not reaching the target fails the run (exit 3) without failing a check;
/// it gets an annotation too, or the run would fail with none.
fn annotate_transport(out: &mut String, sc: &ScenarioOutcome, step: &StepOutcome, err: &str) {
    let what = if step.client.is_some() {
        "the client could not run"
    } else {
        "no usable answer from the target"
    };
    let message = format!("{} step {}: {what}: {err}", sc.id(), step.index + 1);
    command(out, &sc.file, "transport error", &message);
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
