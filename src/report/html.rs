//! One self-contained HTML page for people reading a run in a browser or a
//! CI artifact: inline CSS, no scripts, no network fetches. Rendered with
//! maud, which escapes every value it is given.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::Result;
use crate::outcome::{CheckOutcome, RunReport, ScenarioOutcome, Status, StepOutcome};
use crate::redact::Redactor;

use super::Reporter;

const STYLE: &str = r#"
/* Plain CSS, inline: the report must render offline and from a CI artifact. */
:root {
  --fail: #b42318; --fail-bg: #fef3f2; --fail-line: #fda29b;
  --pass: #067647; --skip: #b54708;
  --ink: #101828; --muted: #667085; --line: #e4e7ec; --code-bg: #f2f4f7;
}
* { box-sizing: border-box; }
body {
  margin: 0; color: var(--ink); background: #f9fafb;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 13px; }
header.run { background: #fff; border-bottom: 4px solid var(--pass); padding: 20px 32px 16px; }
header.run.failed, header.run.error, header.run.interrupted { border-bottom-color: var(--fail); }
h1 { margin: 0; font-size: 22px; display: flex; gap: 12px; align-items: center; }
.verdict {
  font-size: 13px; font-weight: 700; letter-spacing: .05em; text-transform: uppercase;
  padding: 2px 10px; border-radius: 999px; color: #fff; background: var(--pass);
}
.verdict.failed, .verdict.error, .verdict.interrupted { background: var(--fail); }
.interrupted-banner { margin: 12px 0 0; padding: 8px 12px; border-radius: 6px; background: #fffaeb; color: var(--skip); font-weight: 600; }
ul.counts { list-style: none; display: flex; flex-wrap: wrap; gap: 10px; padding: 0; margin: 16px 0 12px; }
.count { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 6px 14px; min-width: 104px; color: var(--muted); font-size: 13px; }
.count b { display: block; font-size: 26px; line-height: 1.2; color: var(--ink); }
.count.passed b { color: var(--pass); }
.count.failed b, .count.checks-failed b, .count.transport-errors b { color: var(--fail); }
.count.skipped b, .count.steps-skipped b { color: var(--skip); }
.count.zero b { color: var(--muted); }
.count.failed:not(.zero), .count.checks-failed:not(.zero) { border-color: var(--fail-line); background: var(--fail-bg); }
dl.meta { display: flex; flex-wrap: wrap; gap: 4px 28px; margin: 0; color: var(--muted); font-size: 14px; }
dl.meta div { display: flex; gap: 6px; align-items: baseline; }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; color: var(--ink); }
main { padding: 8px 32px 32px; max-width: 1280px; }
section.suite { margin-top: 22px; }
h2 { font-size: 18px; margin: 0 0 8px; display: flex; flex-wrap: wrap; align-items: baseline; gap: 12px; }
h2 .file, h2 .tally { font-size: 13px; font-weight: 400; color: var(--muted); }
h2 .tally.failed { color: var(--fail); font-weight: 600; }
details.scenario { background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--pass); border-radius: 6px; margin: 6px 0; }
details.scenario.failed, details.scenario.error { border-left-color: var(--fail); }
details.scenario.skipped { border-left-color: var(--skip); }
details.scenario > summary { padding: 8px 12px; cursor: pointer; display: flex; gap: 10px; align-items: center; }
summary .name { font-weight: 600; }
summary .dur { margin-left: auto; color: var(--muted); font-variant-numeric: tabular-nums; font-size: 13px; }
.badge { font-size: 11px; font-weight: 700; padding: 1px 7px; border-radius: 4px; color: #fff; background: var(--pass); letter-spacing: .05em; }
.badge.failed, .badge.error { background: var(--fail); }
.badge.skipped { background: var(--skip); }
.badge.not-applicable { background: var(--muted); }
details.scenario.not-applicable { border-left-color: var(--muted); }
.na-reason { margin: 0; padding: 0 12px 10px; color: var(--muted); font-size: 13px; }
ol.steps { list-style: none; margin: 0; padding: 0 12px 10px; }
li.step { border-top: 1px solid var(--line); padding: 8px 0; }
.step-head { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: baseline; }
.step-head .idx { color: var(--muted); font-size: 13px; min-width: 52px; }
.step-head .step-name { font-weight: 600; }
.step-head .req { color: #344054; word-break: break-all; }
.step-head .arrow { color: var(--muted); font-size: 13px; }
.verdict-ok { color: var(--pass); font-size: 13px; }
.verdict-fail { color: var(--fail); font-size: 13px; font-weight: 700; }
.skip-reason { color: var(--skip); font-size: 13px; }
.check, .transport { margin: 8px 0 8px 62px; border: 1px solid var(--fail-line); background: var(--fail-bg); border-radius: 6px; padding: 8px 12px; }
.transport strong { color: var(--fail); }
.check-head { font-weight: 600; color: var(--fail); }
.check-head .at { color: var(--muted); font-weight: 400; }
.check-head code { color: var(--ink); background: #fff; padding: 1px 5px; border-radius: 3px; border: 1px solid var(--line); }
table.values { border-collapse: collapse; margin-top: 6px; width: 100%; }
table.values th { text-align: left; vertical-align: top; color: var(--muted); font-weight: 600; padding: 3px 12px 3px 0; width: 84px; font-size: 13px; }
table.values td { padding: 3px 0; }
code.value { white-space: pre-wrap; word-break: break-all; }
mark.fragment { background: #abefc6; color: #054f31; border-radius: 3px; padding: 0 2px; font-weight: 700; }
mark.lost { background: #fecdca; color: #7a271a; border-radius: 3px; padding: 0 2px; font-weight: 700; }
.flag { display: inline-block; font: 700 12px/1.6 system-ui, sans-serif; color: #fff; background: var(--fail); border-radius: 4px; padding: 0 7px; white-space: nowrap; }
.note { margin: 6px 0 0; color: #7a271a; }
.passed-checks { margin: 4px 0 0 62px; color: var(--muted); font-size: 13px; }
details.excerpt { margin: 6px 0 0 62px; }
details.excerpt > summary { cursor: pointer; color: var(--muted); font-size: 13px; }
details.excerpt pre { background: var(--code-bg); padding: 8px 12px; border-radius: 6px; white-space: pre-wrap; word-break: break-all; max-height: 360px; overflow: auto; margin: 4px 0; }
section.findings { margin-top: 18px; background: #fff; border: 1px solid var(--fail-line); border-radius: 8px; padding: 12px 16px; }
ol.findings { margin: 0; padding-left: 22px; }
li.finding { margin: 6px 0; }
li.finding a.title { font-weight: 700; color: var(--fail); text-decoration: none; }
li.finding .where { font-size: 13px; color: var(--muted); }
li.finding .where a { color: var(--muted); }
.badge.invariant, .badge.contract { background: var(--fail); }
.badge.transport, .badge.internal { background: var(--skip); }
.not-evaluated { color: var(--skip); }
details.passing-suites { margin-top: 22px; }
details.passing-suites > summary { cursor: pointer; color: var(--pass); font-weight: 600; }
footer { color: var(--muted); padding: 0 32px 32px; font-size: 13px; }
"#;

#[derive(Debug, Clone)]
pub struct HtmlReporter {
    redactor: Redactor,
}

impl HtmlReporter {
    pub fn new(redactor: Redactor) -> Self {
        HtmlReporter { redactor }
    }
}

impl Reporter for HtmlReporter {
    fn render(&self, report: &RunReport) -> Result<Vec<u8>> {
        let report = super::redacted(report, &self.redactor)?;
        let mut page = page(&report).into_string();
        page.push('\n');
        Ok(page.into_bytes())
    }
}

fn page(report: &RunReport) -> Markup {
    let verdict = super::verdict(report);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // Nothing may be fetched: the page must work as a CI artifact offline.
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'";
                title { "conform: " (verdict) " · " (report.target) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                (summary_bar(report, verdict))
                main {
                    (findings_index(report))
                    @let (failing, passing) = by_suite(report);
                    @for (suite, scenarios) in &failing {
                        (suite_section(report, suite, scenarios))
                    }
                    // Passing suites stay out of the way of the failures.
                    @if !passing.is_empty() {
                        details.passing-suites open[failing.is_empty()] {
                            summary {
                                (passing.len()) @if passing.len() == 1 { " passing suite" } @else { " passing suites" }
                                " · " (passing.iter().map(|(_, s)| s.len()).sum::<usize>()) " scenarios"
                            }
                            @for (suite, scenarios) in &passing {
                                (suite_section(report, suite, scenarios))
                            }
                        }
                    }
                }
                footer {
                    "conform " (report.conform_version) " · report format " (report.format)
                }
            }
        }
    }
}

fn summary_bar(report: &RunReport, verdict: &str) -> Markup {
    let s = &report.summary;
    let skipped = super::skipped_scenarios(report);
    let mut counts = vec![
        ("scenarios", "scenarios", s.scenarios),
        ("passed", "passed", s.passed),
        ("failed", "failed", s.failed.saturating_sub(skipped)),
        ("skipped", "skipped", skipped),
        ("checks-failed", "checks failed", s.checks_failed),
        (
            "steps-skipped",
            "steps skipped",
            super::skipped_steps(report),
        ),
        ("transport-errors", "transport errors", s.transport_errors),
    ];
    // Only where some scenario did not apply: older reports look the same.
    if s.not_applicable > 0 {
        counts.insert(4, ("not-applicable", "not applicable", s.not_applicable));
    }
    html! {
        header.run.(verdict) {
            h1 {
                "conform report"
                span.verdict.(verdict) #verdict { (verdict) }
            }
            @if report.interrupted {
                p.interrupted-banner { "Interrupted: the run was stopped, results are partial." }
            }
            ul.counts {
                @for (class, label, n) in counts {
                    li.count.(class).zero[n == 0] #{ "count-" (class) } data-count=(n) {
                        b { (n) } " " (label)
                    }
                }
            }
            dl.meta {
                div { dt { "contract" } dd { code { (report.contract_version) } } }
                div { dt { "target" } dd { code { (report.target) } } }
                div { dt { "duration" } dd { (super::duration(report.duration_ms)) } }
                div { dt { "conform" } dd { (report.conform_version) } }
                div { dt { "interrupted" } dd { @if report.interrupted { "yes" } @else { "no" } } }
            }
        }
    }
}

/// Suites with a failure first, then passing ones; each in order of first
/// appearance, failing scenarios before passing ones inside a suite.
#[expect(clippy::type_complexity, reason = "two lists of (suite, scenarios)")]
fn by_suite(
    report: &RunReport,
) -> (
    Vec<(&str, Vec<&ScenarioOutcome>)>,
    Vec<(&str, Vec<&ScenarioOutcome>)>,
) {
    let mut suites: Vec<(&str, Vec<&ScenarioOutcome>)> = Vec::new();
    for sc in &report.scenarios {
        match suites.iter_mut().find(|(name, _)| *name == sc.suite) {
            Some((_, list)) => list.push(sc),
            None => suites.push((&sc.suite, vec![sc])),
        }
    }
    for (_, list) in &mut suites {
        list.sort_by_key(|sc| !troubled(sc));
    }
    suites
        .into_iter()
        .partition(|(_, list)| list.iter().any(|sc| troubled(sc)))
}

/// Failed or not run; a not-applicable scenario is neither.
fn troubled(sc: &ScenarioOutcome) -> bool {
    matches!(sc.status, Status::Failed | Status::Skipped)
}

/// The page anchor of a scenario, from its place in the run.
fn anchor(report: &RunReport, id: &str) -> String {
    let i = report
        .scenarios
        .iter()
        .position(|sc| sc.id() == id)
        .unwrap_or_default();
    format!("scenario-{i}")
}

/// The first thing on the page: one line per cause, linking to where it
/// happened.
fn findings_index(report: &RunReport) -> Markup {
    html! {
        @if !report.findings.is_empty() {
            section.findings #findings {
                h2 { "Findings" span.tally.failed { (super::counts_line(report)) } }
                ol.findings {
                    @for f in &report.findings {
                        @let kind = kind_word(f.kind);
                        li.finding.(kind) data-cause=(cause_word(f)) {
                            span.badge.(kind) { (kind) }
                            " "
                            @match f.locations.first() {
                                Some(first) => a.title href={ "#" (anchor(report, &first.scenario)) } { (title_markup(&f.title)) },
                                None => span.title { (title_markup(&f.title)) },
                            }
                            div.where {
                                @for (i, l) in f.locations.iter().take(FINDING_LINKS).enumerate() {
                                    @if i > 0 { " · " }
                                    a href={ "#" (anchor(report, &l.scenario)) } { (l.scenario) " step " (l.step) }
                                }
                                @if f.places() > FINDING_LINKS {
                                    " · and " (f.places() - FINDING_LINKS.min(f.locations.len())) " more"
                                }
                                @if !f.not_evaluated.is_empty() {
                                    span.not-evaluated { " · not evaluated: " (super::console::not_evaluated_words(f)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A finding title with its `backticked` parts as code.
fn title_markup(title: &str) -> Markup {
    html! {
        @for (i, part) in title.split('`').enumerate() {
            @if i % 2 == 1 { code { (part) } } @else { (part) }
        }
    }
}

/// Scenario links under a finding before "and N more".
const FINDING_LINKS: usize = 4;

fn kind_word(kind: crate::findings::FindingKind) -> &'static str {
    use crate::findings::FindingKind as K;
    match kind {
        K::Invariant => "invariant",
        K::Contract => "contract",
        K::Transport => "transport",
        K::Internal => "internal",
    }
}

fn cause_word(f: &crate::findings::Finding) -> String {
    serde_json::to_value(f.cause)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn suite_section(report: &RunReport, suite: &str, scenarios: &[&ScenarioOutcome]) -> Markup {
    let failed = scenarios.iter().filter(|s| troubled(s)).count();
    let not_applicable = scenarios
        .iter()
        .filter(|s| s.status == Status::NotApplicable)
        .count();
    let mut files: Vec<&str> = scenarios.iter().map(|s| s.file.as_str()).collect();
    files.dedup();
    html! {
        section.suite data-suite=(suite) {
            h2 {
                (suite)
                span.file { (files.join(", ")) }
                span.tally.failed[failed > 0] {
                    (scenarios.len()) @if scenarios.len() == 1 { " scenario" } @else { " scenarios" }
                    " · " (failed) " failed"
                    @if not_applicable > 0 { " · " (not_applicable) " not applicable" }
                }
            }
            @for sc in scenarios {
                (scenario(sc, &anchor(report, &sc.id())))
            }
        }
    }
}

/// The scenario's label, in the console's words.
fn label(sc: &ScenarioOutcome) -> (&'static str, &'static str) {
    let transport_only =
        sc.steps.iter().any(|s| s.transport_error.is_some()) && sc.failed_checks().next().is_none();
    match sc.status {
        Status::Passed => ("passed", "PASS"),
        Status::Skipped => ("skipped", "SKIP"),
        Status::NotApplicable => ("not-applicable", "N/A"),
        Status::Failed if transport_only => ("error", "ERROR"),
        Status::Failed => ("failed", "FAIL"),
    }
}

fn scenario(sc: &ScenarioOutcome, anchor: &str) -> Markup {
    let (class, badge) = label(sc);
    html! {
        details.scenario.(class) open[sc.status != Status::Passed] id=(anchor) data-scenario=(sc.id()) {
            summary {
                span.badge.(class) { (badge) }
                span.name { (sc.scenario) }
                span.dur { (super::duration(sc.duration_ms)) }
            }
            @if let Some(reason) = &sc.reason {
                p.na-reason { "not applicable: " (reason) }
            }
            ol.steps {
                @for st in &sc.steps {
                    (step(st))
                }
            }
        }
    }
}

fn step(st: &StepOutcome) -> Markup {
    let failed: Vec<&CheckOutcome> = st.checks.iter().filter(|c| !c.passed).collect();
    let passed = st.checks.len() - failed.len();
    let troubled = !failed.is_empty() || st.transport_error.is_some();
    let class = match st.status {
        Status::Passed => "passed",
        Status::Failed => "failed",
        Status::Skipped | Status::NotApplicable => "skipped",
    };
    html! {
        li.step.(class) {
            div.step-head {
                // `index` is 0-based in the suite file; people count from 1.
                span.idx { "step " (st.index + 1) }
                span.step-name { (st.name) }
                @if let Some(req) = &st.request {
                    code.req { (req.method) " " (req.url) }
                }
                @if let Some(client) = &st.client {
                    code.req { "client " (client.argv.iter().skip(1).cloned().collect::<Vec<_>>().join(" ")) }
                }
                @if let Some(resp) = &st.response {
                    span.arrow { "→ " (resp.status) }
                }
                @if let Some(code) = st.client.as_ref().and_then(|c| c.exit_code) {
                    span.arrow { "→ exit " (code) }
                }
                @match st.status {
                    Status::Passed => span.verdict-ok { "ok" },
                    Status::Skipped | Status::NotApplicable => span.skip-reason {
                        "skipped (" (st.skipped_because.as_deref().unwrap_or("not run")) ")"
                    },
                    Status::Failed => span.verdict-fail { "failed" },
                }
            }
            @if let Some(err) = &st.transport_error {
                div.transport {
                    strong {
                        @if st.client.is_some() { "the client could not run" }
                        @else { "no usable answer from the target" }
                    }
                    ": " (err)
                }
            }
            @for c in &failed {
                (check(c))
            }
            @if passed > 0 && st.status != Status::Skipped {
                p.passed-checks { (passed) " of " (st.checks.len()) " checks passed" }
            }
            @if troubled {
                (excerpts(st))
            }
        }
    }
}

fn check(c: &CheckOutcome) -> Markup {
    let pointer = c.pointer.as_deref().filter(|p| !p.is_empty());
    let (expected, actual) = if super::is_url_check(c) {
        url_values(c)
    } else {
        (plain(&c.expected), plain(&c.actual))
    };
    html! {
        div.check.fail data-check=(c.check) data-pointer=[pointer] {
            div.check-head {
                span.x { "✗ " }
                code.check-name { (c.check) }
                @if let Some(p) = pointer {
                    span.at { " at " } code.pointer { (p) }
                }
            }
            table.values {
                tr.expected { th { "expected" } td { (expected) } }
                tr.actual { th { "actual" } td { (actual) } }
            }
            @if let Some(note) = &c.note {
                p.note { "note: " (note) }
            }
        }
    }
}

fn plain(text: &str) -> Markup {
    html! { code.value { (text) } }
}

fn looks_like_url(s: &str) -> bool {
    s.contains("://") && !s.contains(char::is_whitespace)
}

fn split_fragment(s: &str) -> (&str, Option<&str>) {
    match s.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (s, None),
    }
}

/// Both URLs of a URL check, with the fragment that was lost or changed
/// marked: in the expected URL what should be there, after the actual one
/// what happened to it (the 0.1.8 regression at a glance).
fn url_values(c: &CheckOutcome) -> (Markup, Markup) {
    let (e, a) = (c.expected.as_str(), c.actual.as_str());
    let (e_url, a_url) = (looks_like_url(e), looks_like_url(a));
    let (e_base, e_frag) = split_fragment(e);
    let (a_base, a_frag) = split_fragment(a);
    let e_frag = e_frag.filter(|f| e_url && !f.is_empty());
    let a_frag = a_frag.filter(|f| !f.is_empty());

    let expected = match e_frag {
        Some(f) if a_frag != Some(f) => html! {
            code.value.url { (e_base) mark.fragment title="the fragment that must be kept" { "#" (f) } }
        },
        _ => plain(e),
    };
    if !a_url {
        return (expected, plain(a));
    }
    // A described expectation ("... with its non-empty #fragment") or the
    // note says a fragment was wanted even when no URL was given.
    let note = c.note.as_deref().unwrap_or_default();
    let wants_fragment = e_frag.is_some()
        || (!e_url && (e.contains("#fragment") || note.contains("fragment removed")));
    let wants_none = !e_url && e.contains("fragment-stripped");
    let actual = match a_frag {
        None if wants_fragment => match a.find("%23") {
            Some(i) => html! {
                code.value.url { (&a[..i]) mark.lost { (&a[i..]) } }
                " " span.flag.missing { "# percent-encoded as %23: fragment lost" }
            },
            None => html! {
                code.value.url { (a) }
                " " span.flag.missing { "← #fragment missing" }
            },
        },
        Some(f) if e_frag.is_some() => html! {
            code.value.url { (a_base) mark.lost { "#" (f) } }
            " " span.flag { "fragment changed" }
        },
        Some(f) if (e_url && e_frag.is_none()) || wants_none => html! {
            code.value.url { (a_base) mark.lost { "#" (f) } }
            " " span.flag { "unexpected fragment" }
        },
        _ => html! { code.value.url { (a) } },
    };
    (expected, actual)
}

/// Request, response and client output of a step that went wrong, folded
/// so the checks stay in view.
fn excerpts(st: &StepOutcome) -> Markup {
    html! {
        @if let Some(req) = &st.request {
            details.excerpt.request {
                summary { "request" }
                pre { (request_text(req)) }
            }
        }
        @if let Some(resp) = &st.response {
            details.excerpt.response {
                summary { "response " (resp.status) " (excerpt)" }
                pre {
                    @if let Some(location) = &resp.location {
                        "Location: " (location) "\n\n"
                    }
                    (pretty(&resp.body_excerpt))
                }
            }
        }
        @if let Some(client) = &st.client {
            details.excerpt.client-run {
                summary { "client command" }
                pre {
                    (client.argv.join(" ")) "\n"
                    @match client.exit_code {
                        Some(code) => { "exit " (code) },
                        None => "no exit code (killed or ended by a signal)",
                    }
                }
            }
            @if !client.stdout_excerpt.trim().is_empty() {
                details.excerpt.stdout {
                    summary { "client stdout (excerpt)" }
                    pre { (pretty(&client.stdout_excerpt)) }
                }
            }
            @if !client.stderr_excerpt.trim().is_empty() {
                details.excerpt.stderr {
                    summary { "client stderr (excerpt)" }
                    pre { (client.stderr_excerpt) }
                }
            }
        }
    }
}

fn request_text(req: &crate::outcome::RequestSummary) -> String {
    let mut text = format!("{} {}\n", req.method, req.url);
    for (name, value) in &req.headers {
        text.push_str(&format!("{name}: {value}\n"));
    }
    if let Some(body) = &req.body {
        text.push('\n');
        text.push_str(&serde_json::to_string_pretty(body).unwrap_or_else(|_| body.to_string()));
    }
    text
}

/// JSON pretty-printed when the excerpt is whole JSON; anything else (a
/// cut-off body, plain text) as it came.
fn pretty(excerpt: &str) -> String {
    serde_json::from_str::<serde_json::Value>(excerpt)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| excerpt.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(check: &str, expected: &str, actual: &str) -> CheckOutcome {
        CheckOutcome::fail(check, Some("/data/checkout_url"), expected, actual)
    }

    fn pair(c: &CheckOutcome) -> (String, String) {
        let (e, a) = url_values(c);
        (e.into_string(), a.into_string())
    }

    #[test]
    fn lost_fragment_is_marked_in_expected_and_flagged_after_actual() {
        let (e, a) = pair(&fail(
            "fragment_preserved",
            "https://checkout.stripe.com/c/pay/cs_1#fid<x>",
            "https://checkout.stripe.com/c/pay/cs_1",
        ));
        assert!(
            e.contains(r##"cs_1<mark class="fragment" title="the fragment that must be kept">#fid&lt;x&gt;</mark>"##),
            "{e}"
        );
        assert!(a.contains("#fragment missing"), "{a}");
    }

    #[test]
    fn described_expectation_flags_the_missing_fragment() {
        let (e, a) = pair(&fail(
            "fragment_preserved",
            "the full Stripe Checkout URL, with its non-empty #fragment",
            "https://checkout.stripe.com/c/pay/cs_1",
        ));
        assert!(!e.contains("<mark"), "{e}");
        assert!(a.contains("#fragment missing"), "{a}");
    }

    #[test]
    fn changed_and_encoded_fragments_are_marked_in_actual() {
        let (_, a) = pair(&fail(
            "server_value_preserved",
            "https://x.test/a#one",
            "https://x.test/a#two",
        ));
        assert!(
            a.contains(r##"<mark class="lost">#two</mark>"##) && a.contains("fragment changed"),
            "{a}"
        );
        let (_, a) = pair(&fail(
            "stripe_urls_verbatim",
            "https://x.test/a#one",
            "https://x.test/a%23one",
        ));
        assert!(a.contains(r##"<mark class="lost">%23one</mark>"##), "{a}");
    }

    #[test]
    fn redirect_to_another_path_gets_no_fragment_marks() {
        let (e, a) = pair(&fail(
            "redirects_to",
            "https://x.test/a",
            "https://x.test/b",
        ));
        assert!(
            !e.contains("<mark") && !a.contains("<mark") && !a.contains("flag"),
            "{e}{a}"
        );
    }
}
