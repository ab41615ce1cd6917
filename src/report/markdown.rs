//! A compact Markdown summary for places with little room: a CI job summary
//! (`$GITHUB_STEP_SUMMARY`) or a pull-request comment. The full story is in
//! the HTML, JSON and JUnit reports.

use std::fmt::Write as _;

use crate::Result;
use crate::outcome::{CheckOutcome, RunReport, ScenarioOutcome, StepOutcome};
use crate::redact::Redactor;

use super::Reporter;

/// Failure rows shown; a PR comment holds 65536 characters at most.
const MAX_ROWS: usize = 50;

/// Longest value shown in a table cell, in characters.
const MAX_VALUE_CHARS: usize = 72;

/// How much of a `#fragment` a shortened URL keeps, `#` included: enough to
/// see that it is there and which one it is.
const FRAGMENT_KEEP_CHARS: usize = 12;

#[derive(Debug, Clone)]
pub struct MarkdownReporter {
    redactor: Redactor,
}

impl MarkdownReporter {
    pub fn new(redactor: Redactor) -> Self {
        MarkdownReporter { redactor }
    }
}

impl Reporter for MarkdownReporter {
    fn render(&self, report: &RunReport) -> Result<Vec<u8>> {
        let report = super::redacted(report, &self.redactor)?;
        Ok(render(&report).into_bytes())
    }
}

/// One row of the failures table.
struct Row<'a> {
    scenario: &'a ScenarioOutcome,
    step: &'a StepOutcome,
    check: String,
    pointer: Option<&'a str>,
    expected: &'a str,
    actual: &'a str,
}

fn render(report: &RunReport) -> String {
    let s = &report.summary;
    let skipped = super::skipped_scenarios(report);
    let mut out = String::new();
    let failed = s.failed.saturating_sub(skipped);
    let not_applicable = match s.not_applicable {
        0 => String::new(),
        n => format!(" · {n} not applicable"),
    };
    let _ = writeln!(
        out,
        "## conform: {} · {} of {} scenarios passed{not_applicable}\n",
        super::verdict(report),
        s.passed,
        s.scenarios
    );
    let _ = writeln!(
        out,
        "contract {} · target {} · conform {}{}\n",
        code(&report.contract_version),
        code(&report.target),
        code(&report.conform_version),
        if report.interrupted {
            " · **interrupted: results are partial**"
        } else {
            ""
        }
    );
    out.push_str(
        "| scenarios | passed | failed | skipped | checks failed | steps skipped | transport errors | duration |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} | {} |",
        s.scenarios,
        s.passed,
        failed,
        skipped,
        s.checks_failed,
        super::skipped_steps(report),
        s.transport_errors,
        super::duration(report.duration_ms)
    );

    if !report.findings.is_empty() {
        let _ = write!(out, "\n### Findings: {}\n\n", super::counts_line(report));
        out.push_str(
            "| # | finding | kind | where | evidence |\n| ---: | --- | --- | --- | --- |\n",
        );
        for (i, f) in report.findings.iter().take(MAX_ROWS).enumerate() {
            let place = f
                .locations
                .first()
                .map(|l| format!("{} step {}", l.scenario, l.step))
                .unwrap_or_default();
            let more = f.places().saturating_sub(1);
            let place = if more > 0 {
                format!("{place} (+{more} more)")
            } else {
                place
            };
            let mut checks: Vec<&str> = Vec::new();
            for e in &f.evidence {
                if !checks.contains(&e.check.as_str()) {
                    checks.push(&e.check);
                }
            }
            let mut evidence = checks
                .iter()
                .map(|c| code(c))
                .collect::<Vec<_>>()
                .join(", ");
            if !f.not_evaluated.is_empty() {
                let _ = write!(evidence, "; {} not evaluated", f.not_evaluated_count());
            }
            // Titles are not shortened: they are what the finding is.
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                i + 1,
                title_cell(&f.title),
                kind(f.kind),
                cell(&place),
                evidence
            );
        }
        if report.findings.len() > MAX_ROWS {
            let _ = writeln!(
                out,
                "\n… and {} more findings; the HTML and JSON reports have them all.",
                report.findings.len() - MAX_ROWS
            );
        }
    }

    let not_applicable: Vec<&ScenarioOutcome> = report
        .scenarios
        .iter()
        .filter(|sc| sc.status == crate::outcome::Status::NotApplicable)
        .collect();
    if !not_applicable.is_empty() {
        let _ = write!(
            out,
            "\n### Not applicable to contract {}\n\n| scenario | why |\n| --- | --- |\n",
            code(&report.contract_version)
        );
        for sc in not_applicable.iter().take(MAX_ROWS) {
            let why = sc.reason.as_deref().unwrap_or_default();
            let _ = writeln!(out, "| {} | {} |", cell(&sc.id()), title_cell(why));
        }
        if not_applicable.len() > MAX_ROWS {
            let _ = writeln!(
                out,
                "\n… and {} more; the HTML, JSON and JUnit reports have them all.",
                not_applicable.len() - MAX_ROWS
            );
        }
    }

    let rows = rows(report);
    if rows.is_empty() {
        return out;
    }
    out.push_str("\n### Failed checks\n\n");
    out.push_str(
        "| scenario | step | check | pointer | expected | actual |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    for row in rows.iter().take(MAX_ROWS) {
        let _ = writeln!(
            out,
            "| {} | {} {} | {} | {} | {} | {} |",
            cell(&row.scenario.id()),
            row.step.index + 1,
            cell(&row.step.name),
            code(&row.check),
            row.pointer.map(code).unwrap_or_default(),
            code(&shorten(row.expected)),
            code(&shorten(row.actual)),
        );
    }
    if rows.len() > MAX_ROWS {
        let _ = writeln!(
            out,
            "\n… and {} more; the HTML, JSON and JUnit reports have them all.",
            rows.len() - MAX_ROWS
        );
    }
    out
}

/// A finding title: its `backticked` parts become code spans.
fn title_cell(title: &str) -> String {
    title
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                code(part)
            } else {
                // `cell` trims; the spaces around a code span are words' spaces.
                let lead = if part.starts_with(' ') { " " } else { "" };
                let trail = if part.ends_with(' ') && !part.trim().is_empty() {
                    " "
                } else {
                    ""
                };
                format!("{lead}{}{trail}", cell(part))
            }
        })
        .collect::<String>()
        .trim()
        .to_string()
}

fn kind(k: crate::findings::FindingKind) -> &'static str {
    use crate::findings::FindingKind as K;
    match k {
        K::Invariant => "invariant",
        K::Contract => "contract",
        K::Transport => "transport",
        K::Internal => "internal",
    }
}

fn rows(report: &RunReport) -> Vec<Row<'_>> {
    let mut rows = Vec::new();
    for sc in &report.scenarios {
        for step in &sc.steps {
            if let Some(err) = &step.transport_error {
                rows.push(Row {
                    scenario: sc,
                    step,
                    check: "transport error".to_string(),
                    pointer: None,
                    expected: if step.client.is_some() {
                        "the client runs and exits"
                    } else {
                        "a response"
                    },
                    actual: err,
                });
            }
            for c in step.checks.iter().filter(|c| !c.passed) {
                rows.push(check_row(sc, step, c));
            }
        }
    }
    rows
}

fn check_row<'a>(sc: &'a ScenarioOutcome, step: &'a StepOutcome, c: &'a CheckOutcome) -> Row<'a> {
    Row {
        scenario: sc,
        step,
        check: c.check.clone(),
        pointer: c.pointer.as_deref().filter(|p| !p.is_empty()),
        expected: &c.expected,
        actual: &c.actual,
    }
}

/// Plain text fit for a table cell: one line, and every character that
/// Markdown or inline HTML would act on backslash-escaped (a scenario named
/// `<b>` stays text).
fn cell(s: &str) -> String {
    let mut out = String::new();
    for c in one_line(s).chars() {
        if "\\`*_[]<>&|~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `s` as an inline code span in a table cell. The fence is longer than
/// any backtick run inside, per CommonMark; pipes stay escaped, which GFM
/// tables require even inside code.
fn code(s: &str) -> String {
    let s = one_line(s).replace('|', "\\|");
    if s.is_empty() {
        return String::new();
    }
    let longest_run = s
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or_default();
    let fence = "`".repeat(longest_run + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

fn one_line(s: &str) -> String {
    s.trim().replace("\r\n", " ").replace(['\n', '\r'], " ")
}

/// Shortens a long value in the middle. A URL keeps the start of its
/// `#fragment`: whether it is there is what the reader needs to see.
pub(crate) fn shorten(s: &str) -> String {
    let s = one_line(s);
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= MAX_VALUE_CHARS {
        return s;
    }
    let is_url = s.contains("://") && !s.contains(char::is_whitespace);
    match chars.iter().position(|&c| c == '#').filter(|_| is_url) {
        Some(hash) => {
            let fragment_end = (hash + FRAGMENT_KEEP_CHARS).min(chars.len());
            let mut fragment: String = chars[hash..fragment_end].iter().collect();
            if fragment_end < chars.len() {
                fragment.push('…');
            }
            let budget = MAX_VALUE_CHARS.saturating_sub(fragment.chars().count());
            format!("{}{fragment}", middle(&chars[..hash], budget))
        }
        None => middle(&chars, MAX_VALUE_CHARS),
    }
}

/// `chars` in at most `budget` characters, the middle replaced by `…`.
fn middle(chars: &[char], budget: usize) -> String {
    if chars.len() <= budget {
        return chars.iter().collect();
    }
    let tail = budget / 3;
    let head = budget.saturating_sub(tail + 1);
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_kept() {
        assert_eq!(shorten("200"), "200");
    }

    #[test]
    fn long_urls_keep_the_start_of_their_fragment() {
        let url = format!(
            "https://checkout.stripe.com/c/pay/cs_test_a1B2c3D4e5F6g7H8#fid{}",
            "x".repeat(100)
        );
        let short = shorten(&url);
        assert!(short.chars().count() <= MAX_VALUE_CHARS, "{short}");
        assert!(
            short.starts_with(
                "https://checkout.stripe.com/c/pay/cs_test_a1B2c3D4e5F6g7H8#fidxxxxxxxx…"
            ),
            "{short}"
        );
    }

    #[test]
    fn very_long_url_bases_are_cut_in_the_middle_before_the_fragment() {
        let url = format!(
            "https://x.test/{}/end#frag{}",
            "p".repeat(200),
            "y".repeat(50)
        );
        let short = shorten(&url);
        assert!(short.chars().count() <= MAX_VALUE_CHARS, "{short}");
        assert!(short.starts_with("https://x.test/ppp"), "{short}");
        assert!(short.contains("/end#fragyyyyyyy…"), "{short}");
    }

    #[test]
    fn long_text_is_cut_in_the_middle() {
        let text = format!("start {} end", "m".repeat(200));
        let short = shorten(&text);
        assert_eq!(short.chars().count(), MAX_VALUE_CHARS);
        assert!(
            short.starts_with("start ") && short.ends_with(" end"),
            "{short}"
        );
    }

    #[test]
    fn plain_cells_escape_markdown_and_html() {
        assert_eq!(cell("a <b> *c* | d_e"), "a \\<b\\> \\*c\\* \\| d\\_e");
    }

    #[test]
    fn code_spans_survive_backticks_and_pipes() {
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("x `y` z"), "``x `y` z``");
        assert_eq!(code("`edge"), "`` `edge ``");
        assert_eq!(code(""), "");
    }
}
