//! The report for people, in the spirit of cargo test and nextest: one line
//! per scenario, then every failure in full, then a summary line.

use std::fmt::Write as _;

use crate::Result;
use crate::findings::{Finding, FindingKind};
use crate::outcome::{CheckOutcome, RunReport, ScenarioOutcome, Status, StepOutcome};
use crate::redact::Redactor;

use super::Reporter;

/// Scenario ids longer than this are not padded to, so one long name does
/// not push every duration off the screen.
const MAX_NAME_COLUMN: usize = 64;

/// How much of a missing fragment the caret line quotes; the full value is
/// on the `expected:` line right above it.
const FRAGMENT_QUOTE_CHARS: usize = 16;

/// Indent of check details, and the width of `expected: ` / `actual:   `.
const DETAIL_INDENT: usize = 8;
const LABEL_WIDTH: usize = 10;

#[derive(Debug, Clone)]
pub struct ConsoleReporter {
    /// ANSI colors; off for goldens, files and pipes.
    pub color: bool,
    /// Leave out the PASS lines (`--quiet`): only failures and the summary.
    pub quiet: bool,
    /// The header and the scenario lines were already printed while the
    /// run went on ([`ConsoleReporter::header`], [`ConsoleReporter::scenario_line`]);
    /// render only what follows them.
    pub streamed: bool,
    redactor: Redactor,
}

impl ConsoleReporter {
    pub fn new(redactor: Redactor, color: bool) -> Self {
        ConsoleReporter {
            color,
            quiet: false,
            streamed: false,
            redactor,
        }
    }

    pub fn quiet(mut self, quiet: bool) -> Self {
        self.quiet = quiet;
        self
    }

    pub fn streamed(mut self, streamed: bool) -> Self {
        self.streamed = streamed;
        self
    }

    /// The first line, known before anything runs.
    pub fn header(&self, contract_version: &str, target: &str) -> String {
        header_line(
            env!("CARGO_PKG_VERSION"),
            contract_version,
            &self.redactor.text(target),
            Paint(self.color),
        )
    }

    /// The line of one finished scenario, as the run goes; `None` when
    /// `--quiet` leaves it out. `name_width` comes from [`name_width`] over
    /// the planned ids, so lines printed one by one still line up.
    pub fn scenario_line(&self, sc: &ScenarioOutcome, name_width: usize) -> Option<String> {
        // Not-run scenarios are counted in the summary, not listed.
        if (self.quiet && sc.status == Status::Passed) || sc.status == Status::Skipped {
            return None;
        }
        let id = self.redactor.text(&sc.id());
        Some(scenario_line(
            sc,
            &id,
            &duration(sc.duration_ms),
            name_width,
            STREAMED_DURATION_WIDTH,
            Paint(self.color),
        ))
    }

    /// Whether stdout wants color: a terminal, and `NO_COLOR` unset or
    /// empty (https://no-color.org).
    pub fn color_for_stdout() -> bool {
        use std::io::IsTerminal as _;
        std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
    }
}

/// `--color`: when the console report uses ANSI colours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set or TERM=dumb; CLICOLOR_FORCE
    /// turns it on anywhere.
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    pub fn enabled_for_stdout(self) -> bool {
        use std::io::IsTerminal as _;
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        self.enabled(
            std::io::stdout().is_terminal(),
            var("NO_COLOR").is_some(),
            var("CLICOLOR_FORCE").is_some_and(|v| v != "0"),
            var("TERM").is_some_and(|t| t == "dumb"),
        )
    }

    /// The rules of https://no-color.org and https://bixense.com/clicolors,
    /// NO_COLOR winning over CLICOLOR_FORCE.
    pub fn enabled(self, terminal: bool, no_color: bool, force: bool, dumb: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto if no_color => false,
            ColorChoice::Auto if force => true,
            ColorChoice::Auto => terminal && !dumb,
        }
    }
}

impl Reporter for ConsoleReporter {
    fn render(&self, report: &RunReport) -> Result<Vec<u8>> {
        // Streamed, the lines were printed as scenarios finished: only the
        // failed and not-run ones are read again (from the spool, one at a
        // time), and of those only the first FAILURES_SHOWN are kept.
        let r = super::learned(report, &self.redactor)?;
        let head = super::redacted_head(report, &r);
        let scenarios = if self.streamed {
            report.kept_scenarios()
        } else {
            report.all_scenarios()
        };
        let mut read = Read::default();
        for sc in scenarios {
            let sc = sc?;
            let sc = super::redacted_scenario(&sc, &r);
            read.add(&head, sc, self.quiet, self.streamed);
        }
        Ok(render(&head, &read, Paint(self.color), self.streamed).into_bytes())
    }
}

/// What the console keeps of the scenarios it reads, masked: bounded when
/// streamed, whatever the number of failures.
#[derive(Default)]
struct Read {
    /// Not streamed: the scenarios that get a line.
    listed: Vec<ScenarioOutcome>,
    /// The first [`FAILURES_SHOWN`] failed scenarios the failures section
    /// spells out.
    shown: Vec<ScenarioOutcome>,
    /// Failed scenarios past those: counted.
    more: usize,
    /// The first not-run scenario's reason, once one with a step is read.
    not_run: Option<Option<String>>,
}

impl Read {
    fn add(&mut self, head: &RunReport, sc: ScenarioOutcome, quiet: bool, streamed: bool) {
        if self.not_run.is_none() && sc.status == Status::Skipped {
            if let Some(step) = sc.steps.first() {
                self.not_run = Some(step.skipped_because.clone());
            }
        }
        // A scenario whose only trouble is transport (or a refused token) is
        // told in full by its finding; 27 copies of "cannot connect" help nobody.
        let spelled_out = sc.status == Status::Failed && {
            let mut of = super::findings_of(head, &sc).peekable();
            of.peek().is_none() || of.any(|f| f.kind != FindingKind::Transport)
        };
        if spelled_out {
            if self.shown.len() < FAILURES_SHOWN {
                self.shown.push(sc.clone());
            } else {
                self.more += 1;
            }
        }
        let lined = !(quiet && sc.status == Status::Passed) && sc.status != Status::Skipped;
        if !streamed && lined {
            self.listed.push(sc);
        }
    }
}

/// Durations printed one by one cannot be padded to the longest; this
/// fits `999ms` and `99.99s`.
const STREAMED_DURATION_WIDTH: usize = 6;

/// The width scenario ids are padded to: the longest id, capped.
pub fn name_width<'a>(ids: impl IntoIterator<Item = &'a str>) -> usize {
    ids.into_iter()
        .map(|id| id.chars().count())
        .max()
        .unwrap_or(0)
        .min(MAX_NAME_COLUMN)
}

fn header_line(conform: &str, contract: &str, target: &str, p: Paint) -> String {
    p.bold(&format!(
        "conform {conform} · contract {contract} · target {target}"
    ))
}

/// `PASS suite/scenario  12ms`: the one place a scenario's line is laid out.
fn scenario_line(
    sc: &ScenarioOutcome,
    id: &str,
    dur: &str,
    name_width: usize,
    duration_width: usize,
    p: Paint,
) -> String {
    // Not run, so no duration: the reason is what people need.
    if let (Status::NotApplicable, Some(reason)) = (sc.status, &sc.reason) {
        return format!(
            "{} {id:<name_width$}   {}",
            scenario_label(sc, p),
            p.dim(reason)
        );
    }
    format!(
        "{} {id:<name_width$} {dur:>duration_width$}",
        scenario_label(sc, p)
    )
}

fn render(report: &RunReport, read: &Read, p: Paint, streamed: bool) -> String {
    let mut out = String::new();
    // `writeln!` into a String cannot fail; the results are ignored.
    if !streamed {
        let _ = writeln!(
            out,
            "{}",
            header_line(
                &report.conform_version,
                &report.contract_version,
                &report.target,
                p
            )
        );
        let listed = &read.listed;
        let ids: Vec<String> = listed.iter().map(|s| s.id()).collect();
        let name_width = name_width(ids.iter().map(String::as_str));
        let durations: Vec<String> = listed.iter().map(|s| duration(s.duration_ms)).collect();
        let duration_width = durations.iter().map(String::len).max().unwrap_or(0);
        for ((sc, id), dur) in listed.iter().zip(&ids).zip(&durations) {
            let _ = writeln!(
                out,
                "{}",
                scenario_line(sc, id, dur, name_width, duration_width, p)
            );
        }
    }

    if !report.findings.is_empty() {
        let _ = write!(
            out,
            "\n{}\n",
            p.bold(&format!("findings: {}", super::counts_line(report)))
        );
        for (i, f) in report.findings.iter().enumerate() {
            out.push_str(&finding_lines(i + 1, f, p));
        }
    }

    if !read.shown.is_empty() {
        let _ = write!(out, "\n{}\n", p.bold("failures:"));
        for sc in &read.shown {
            let _ = writeln!(
                out,
                "\n{} {}",
                p.bold(&format!("--- {}", sc.id())),
                p.dim(&format!("({})", sc.file))
            );
            out.push_str(&scenario_details(sc, p));
        }
        if read.more > 0 {
            let _ = writeln!(
                out,
                "\n{}",
                p.dim(&format!(
                    "… and {} more failed scenarios: the json and junit reports (--report) hold every one",
                    read.more
                ))
            );
        }
    }

    let s = &report.summary;
    // `failed` counts the scenarios that did not run; they are shown apart.
    let not_run = if s.skipped > 0 {
        format!(", {} not run", s.skipped)
    } else {
        String::new()
    };
    if let Some(why) = read.not_run.clone().flatten() {
        let line = format!(
            "not run: {} ({why})",
            plural(s.skipped, "scenario", "scenarios")
        );
        let _ = write!(out, "\n{}\n", p.yellow(&line));
    }
    if s.not_applicable > 0 && s.not_applicable == s.scenarios {
        let line = format!(
            "nothing ran: no selected scenario applies to contract {}",
            report.contract_version
        );
        let _ = write!(out, "\n{}\n", p.yellow(&line));
    }
    let not_applicable = if s.not_applicable > 0 {
        format!(", {} not applicable", s.not_applicable)
    } else {
        String::new()
    };
    let mut summary = format!(
        "summary: {}, {} passed, {} failed{not_run}{not_applicable} · {} · {} · {:.2}s",
        plural(s.scenarios, "scenario", "scenarios"),
        s.passed,
        s.failed.saturating_sub(s.skipped),
        super::counts_line(report),
        plural(s.transport_errors, "transport error", "transport errors"),
        report.duration_ms as f64 / 1000.0,
    );
    if report.interrupted {
        summary.push_str(" · interrupted, results are partial");
    }
    let all_passed = s.failed == 0 && s.transport_errors == 0 && !report.interrupted;
    let summary = if all_passed {
        p.green(&summary)
    } else {
        p.red(&summary)
    };
    let _ = write!(out, "\n{summary}\n");
    out
}

/// Locations listed under a finding before "… and N more".
const FINDING_LOCATIONS: usize = 3;

/// Failed scenarios the console spells out; the reports hold the rest.
const FAILURES_SHOWN: usize = 50;

/// One finding: its title, where it happened, and what points to it. The
/// full check detail follows under `failures:`.
pub(crate) fn finding_lines(n: usize, f: &Finding, p: Paint) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  {n}. {} {} {}",
        p.red("✗"),
        p.bold(&f.title),
        p.dim(&format!("[{}]", kind_word(f.kind)))
    );
    for loc in f.locations.iter().take(FINDING_LOCATIONS) {
        let checks: Vec<String> = f
            .evidence
            .iter()
            .filter(|e| e.scenario == loc.scenario && e.step == loc.step)
            .filter(|e| e.check != "transport")
            .map(|e| e.check.clone())
            .collect();
        let mut line = format!(
            "       {} step {} `{}`",
            loc.scenario, loc.step, loc.step_name
        );
        if !checks.is_empty() && f.cause != crate::findings::Cause::CheckFailed {
            let mut checks = checks;
            checks.dedup();
            let _ = write!(line, ": {}", checks.join(", "));
        }
        let _ = writeln!(out, "{}", p.dim(&line));
    }
    if f.places() > FINDING_LOCATIONS {
        let _ = writeln!(
            out,
            "{}",
            p.dim(&format!(
                "       … and {} more",
                f.places() - FINDING_LOCATIONS.min(f.locations.len())
            ))
        );
    }
    if f.kind == FindingKind::Transport {
        if let Some(e) = f.evidence.first().filter(|e| e.check == "transport") {
            let _ = writeln!(out, "       first error: {}", e.actual);
        }
    }
    if !f.not_evaluated.is_empty() {
        let _ = writeln!(
            out,
            "       {}",
            p.yellow(&format!("not evaluated: {}", not_evaluated_words(f)))
        );
    }
    out
}

/// A few not-evaluated checks by name and place; many by count and kind.
pub(crate) fn not_evaluated_words(f: &Finding) -> String {
    const LISTED: usize = 4;
    if f.not_evaluated_count() <= LISTED {
        let names: Vec<String> = f
            .not_evaluated
            .iter()
            .map(|e| match &e.pointer {
                Some(ptr) if !ptr.is_empty() => format!("{} at {ptr}", e.check),
                _ => e.check.clone(),
            })
            .collect();
        return names.join(", ");
    }
    let mut kinds: Vec<&str> = Vec::new();
    for e in &f.not_evaluated {
        if !kinds.contains(&e.check.as_str()) {
            kinds.push(&e.check);
        }
    }
    format!("{} checks ({})", f.not_evaluated_count(), kinds.join(", "))
}

fn kind_word(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::Invariant => "invariant",
        FindingKind::Contract => "contract",
        FindingKind::Transport => "transport",
        FindingKind::Internal => "internal",
    }
}

/// The full story of one scenario: every step, with failed checks, transport
/// errors and skip reasons spelled out. Shared with the JUnit failure body.
pub(crate) fn scenario_details(sc: &ScenarioOutcome, p: Paint) -> String {
    let mut out = String::new();
    for step in &sc.steps {
        step_details(&mut out, step, p);
    }
    out
}

pub(crate) fn step_details(out: &mut String, step: &StepOutcome, p: Paint) {
    // `index` is the 0-based position in the suite file; people count from 1.
    let mut line = format!("  step {} `{}`:", step.index + 1, step.name);
    if step.status == Status::Skipped {
        let reason = step.skipped_because.as_deref().unwrap_or("not run");
        let _ = writeln!(out, "{line} {}", p.yellow(&format!("skipped ({reason})")));
        return;
    }
    if let Some(req) = &step.request {
        let _ = write!(line, " {} {}", req.method, req.url);
    }
    if let Some(client) = &step.client {
        // The command itself is in the header; the step's own words suffice.
        let args = client
            .argv
            .iter()
            .skip(1)
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        let _ = write!(line, " client {args}");
        match client.exit_code {
            Some(code) => {
                let _ = write!(line, " → exit {code}");
            }
            None => line.push_str(" → no exit code"),
        }
    }
    match (&step.response, &step.transport_error) {
        (Some(resp), _) => {
            let _ = write!(line, " → {}", resp.status);
        }
        (None, Some(_)) if step.client.is_none() => line.push_str(" → no response"),
        _ => {}
    }
    let failed: Vec<&CheckOutcome> = step.checks.iter().filter(|c| !c.passed).collect();
    if step.status == Status::Passed && failed.is_empty() {
        let _ = writeln!(out, "{line} {}", p.green("· ok"));
        return;
    }
    let _ = writeln!(out, "{line}");

    if let Some(err) = &step.transport_error {
        let what = if step.client.is_some() {
            "the client could not run"
        } else {
            "no usable answer from the target"
        };
        let _ = writeln!(out, "    {} {what}: {err}", p.red("✗"));
    }
    for check in &failed {
        check_details(out, check, p);
    }
    // The body is what people need to see why a check failed; a transport
    // error has none worth showing.
    let excerpt = step.response.as_ref().map(|r| r.body_excerpt.as_str());
    if let Some(body) = excerpt.filter(|b| !failed.is_empty() && !b.trim().is_empty()) {
        excerpt_block(out, "response body (excerpt):", body, p);
    }
    if let Some(client) = step
        .client
        .as_ref()
        .filter(|_| !failed.is_empty() || step.transport_error.is_some())
    {
        if !client.stdout_excerpt.trim().is_empty() {
            excerpt_block(out, "client stdout (excerpt):", &client.stdout_excerpt, p);
        }
        if !client.stderr_excerpt.trim().is_empty() {
            excerpt_block(out, "client stderr (excerpt):", &client.stderr_excerpt, p);
        }
    }
}

fn excerpt_block(out: &mut String, title: &str, text: &str, p: Paint) {
    let _ = writeln!(out, "    {}", p.dim(title));
    for text_line in text.lines() {
        let _ = writeln!(out, "{:DETAIL_INDENT$}{text_line}", "");
    }
}

fn check_details(out: &mut String, c: &CheckOutcome, p: Paint) {
    let mut head = format!("{} {}", p.red("✗"), p.bold(&c.check));
    if let Some(pointer) = &c.pointer {
        let _ = write!(head, " at {pointer}");
    }
    let _ = writeln!(out, "    {head}");
    value_line(out, "expected:", &c.expected);
    value_line(out, "actual:", &c.actual);
    if let Some((column, message)) = fragment_hint(c) {
        let _ = writeln!(
            out,
            "{:width$}{}",
            "",
            p.red(&format!("^ {message}")),
            width = DETAIL_INDENT + LABEL_WIDTH + column
        );
    }
    if let Some(note) = &c.note {
        let _ = writeln!(out, "{:DETAIL_INDENT$}note: {note}", "");
    }
}

/// `expected:`/`actual:` with the full value; later lines of a multi-line
/// value are aligned under the first.
fn value_line(out: &mut String, label: &str, value: &str) {
    let mut lines = value.split('\n');
    let first = lines.next().unwrap_or_default();
    let _ = writeln!(out, "{:DETAIL_INDENT$}{label:<LABEL_WIDTH$}{first}", "");
    for rest in lines {
        let _ = writeln!(
            out,
            "{:width$}{rest}",
            "",
            width = DETAIL_INDENT + LABEL_WIDTH
        );
    }
}

/// Where the caret goes under `actual` (in characters) and what it says,
/// for a URL that lost its `#fragment` — the 0.1.8 Stripe Checkout bug.
fn fragment_hint(c: &CheckOutcome) -> Option<(usize, String)> {
    let (expected, actual) = (c.expected.as_str(), c.actual.as_str());
    let lost_suffix = expected
        .strip_prefix(actual)
        .is_some_and(|rest| rest.starts_with('#'));
    let about_fragment = c.check == "fragment_preserved"
        || c.note
            .as_deref()
            .is_some_and(|n| n.contains("fragment removed"))
        || lost_suffix;
    // Only a one-line URL can be pointed into.
    if !about_fragment || actual.contains('\n') || !actual.contains("://") {
        return None;
    }
    // Checks may describe what they wanted ("a URL with its #fragment")
    // instead of giving one; only quote a fragment from a real URL.
    let expected_is_url = expected.contains("://") && !expected.contains(char::is_whitespace);
    let fragment = expected
        .find('#')
        .filter(|_| expected_is_url)
        .map(|i| quote_fragment(&expected[i..]));
    let column_of = |byte: usize| actual[..byte].chars().count();

    if let Some(i) = actual.find('#') {
        let message = match &fragment {
            Some(f) => format!("fragment differs from here (expected `{f}`)"),
            None => "unexpected fragment here".to_string(),
        };
        return Some((column_of(i), message));
    }
    if let Some(i) = actual.find("%23") {
        let message = match &fragment {
            Some(f) => format!("`#` percent-encoded as `%23` here: fragment `{f}` lost"),
            None => "`#` percent-encoded as `%23` here".to_string(),
        };
        return Some((column_of(i), message));
    }
    let message = match &fragment {
        Some(f) => format!("fragment `{f}` missing here"),
        None => "`#fragment` missing here".to_string(),
    };
    Some((actual.chars().count(), message))
}

fn quote_fragment(fragment: &str) -> String {
    if fragment.chars().count() <= FRAGMENT_QUOTE_CHARS {
        fragment.to_string()
    } else {
        let head: String = fragment.chars().take(FRAGMENT_QUOTE_CHARS).collect();
        format!("{head}…")
    }
}

fn scenario_label(sc: &ScenarioOutcome, p: Paint) -> String {
    let has_transport_error = sc.steps.iter().any(|s| s.transport_error.is_some());
    match sc.status {
        Status::Passed => p.green("PASS "),
        Status::Skipped => p.yellow("SKIP "),
        Status::NotApplicable => p.dim("N/A  "),
        // A scenario that only failed to reach the target is not a contract
        // violation; say so, the way nextest tells a crash from a failure.
        Status::Failed if has_transport_error && sc.failed_checks().next().is_none() => {
            p.red("ERROR")
        }
        Status::Failed => p.red("FAIL "),
    }
}

fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{:.2}s", ms as f64 / 1000.0)
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// ANSI styling that is a no-op when off, so layout code is written once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paint(pub(crate) bool);

impl Paint {
    fn wrap(self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn dim(self, s: &str) -> String {
        self.wrap("2", s)
    }
    fn red(self, s: &str) -> String {
        self.wrap("1;31", s)
    }
    fn green(self, s: &str) -> String {
        self.wrap("32", s)
    }
    fn yellow(self, s: &str) -> String {
        self.wrap("33", s)
    }
}

/// Runs shorter than this finish without a progress line.
const PROGRESS_DELAY: std::time::Duration = std::time::Duration::from_secs(1);
const PROGRESS_TICK: std::time::Duration = std::time::Duration::from_millis(120);

/// A progress line ("⠋ 412/1000 scenarios · 4s") while a long run is
/// going. It draws on stderr only when stdout and stderr are both terminals
/// and is cleared when dropped, before the rest of the report prints: piped
/// or captured output never contains a byte of it. Lines printed through
/// [`Progress::println`] go to stdout around it, never through it.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    done: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    /// Starts the progress line for a run of `scenarios`, if it is wanted.
    pub fn start(scenarios: usize, quiet: bool) -> Progress {
        use std::io::IsTerminal as _;
        let off = Progress {
            bar: None,
            done: None,
            thread: None,
        };
        if !progress_wanted(
            quiet,
            std::io::stdout().is_terminal(),
            std::io::stderr().is_terminal(),
        ) {
            return off;
        }
        // Hidden until PROGRESS_DELAY has passed: short runs never show it,
        // and counting on a hidden bar draws nothing.
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(scenarios as u64),
            indicatif::ProgressDrawTarget::hidden(),
        );
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} scenarios · {elapsed}")
        {
            bar.set_style(style);
        }
        let (done, finished) = std::sync::mpsc::channel();
        let shown = bar.clone();
        let spawned = std::thread::Builder::new()
            .name("conform-progress".into())
            .spawn(move || spin(&finished, &shown));
        match spawned {
            Ok(thread) => Progress {
                bar: Some(bar),
                done: Some(done),
                thread: Some(thread),
            },
            // No progress line is no loss; the run goes on.
            Err(_) => off,
        }
    }

    /// Prints `line` (and a newline) to stdout at once, clearing the
    /// progress line around it so the two never tear each other.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| print_line(line)),
            None => print_line(line),
        }
    }

    /// Scenarios finished so far.
    pub fn set_done(&self, done: usize) {
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
        }
    }
}

/// Prints each scenario's line as it finishes and counts it on the
/// progress line: the console's [`crate::exec::Observer`].
pub struct LiveLines {
    console: ConsoleReporter,
    progress: std::sync::Arc<Progress>,
    name_width: usize,
    done: std::sync::atomic::AtomicUsize,
}

impl LiveLines {
    pub fn new(
        console: ConsoleReporter,
        progress: std::sync::Arc<Progress>,
        plan: &crate::plan::Plan,
    ) -> LiveLines {
        LiveLines {
            console,
            progress,
            name_width: name_width(plan.cases.iter().map(|c| c.id.as_str())),
            done: std::sync::atomic::AtomicUsize::new(0),
        }
    }
}

impl crate::exec::Observer for LiveLines {
    fn scenario_finished(&self, outcome: &ScenarioOutcome) {
        if let Some(line) = self.console.scenario_line(outcome, self.name_width) {
            self.progress.println(&line);
        }
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        self.progress.set_done(done);
    }
}

/// Flushed per line: piped output shows each scenario when it finishes. A
/// closed pipe is not worth a panic; the exit code still tells the outcome.
fn print_line(line: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

impl Drop for Progress {
    fn drop(&mut self) {
        // Dropping the sender wakes the thread; joining it makes sure the
        // line is gone before the report is printed.
        self.done.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Progress is for people watching a terminal, never for pipes or logs.
pub fn progress_wanted(quiet: bool, stdout_is_terminal: bool, stderr_is_terminal: bool) -> bool {
    !quiet && stdout_is_terminal && stderr_is_terminal
}

fn spin(finished: &std::sync::mpsc::Receiver<()>, bar: &indicatif::ProgressBar) {
    use std::sync::mpsc::RecvTimeoutError::Timeout;
    if finished.recv_timeout(PROGRESS_DELAY) != Err(Timeout) {
        return;
    }
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    while finished.recv_timeout(PROGRESS_TICK) == Err(Timeout) {
        bar.tick();
    }
    bar.finish_and_clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn color_follows_the_flag_then_no_color_then_clicolor_force_then_the_terminal() {
        use ColorChoice::*;
        // (choice, terminal, NO_COLOR, CLICOLOR_FORCE, TERM=dumb) → colour
        let cases = [
            (Always, false, true, false, true, true),
            (Never, true, false, true, false, false),
            (Auto, true, false, false, false, true),
            (Auto, false, false, false, false, false),
            (Auto, true, true, false, false, false),
            (Auto, false, false, true, false, true),
            (Auto, true, true, true, false, false),
            (Auto, true, false, false, true, false),
        ];
        for (choice, tty, no, force, dumb, want) in cases {
            assert_eq!(
                choice.enabled(tty, no, force, dumb),
                want,
                "{choice:?} tty={tty} NO_COLOR={no} CLICOLOR_FORCE={force} dumb={dumb}"
            );
        }
    }

    #[test]
    fn progress_only_on_a_terminal_and_not_when_quiet() {
        assert!(progress_wanted(false, true, true));
        assert!(!progress_wanted(true, true, true));
        assert!(!progress_wanted(false, false, true));
        assert!(!progress_wanted(false, true, false));
    }

    fn check(check: &str, expected: &str, actual: &str) -> CheckOutcome {
        CheckOutcome::fail(check, Some("/data/checkout_url"), expected, actual)
    }

    #[test]
    fn caret_points_at_the_end_of_a_url_that_lost_its_fragment() {
        let c = check(
            "fragment_preserved",
            "https://checkout.stripe.com/c/pay/cs_1#fidabc",
            "https://checkout.stripe.com/c/pay/cs_1",
        );
        let (column, message) = fragment_hint(&c).unwrap();
        assert_eq!(column, "https://checkout.stripe.com/c/pay/cs_1".len());
        assert_eq!(message, "fragment `#fidabc` missing here");
    }

    #[test]
    fn prefix_rule_applies_to_any_check() {
        let c = check("equals", "https://x.test/a#frag", "https://x.test/a");
        assert!(fragment_hint(&c).is_some());
        let c = check("equals", "https://x.test/a?b", "https://x.test/a");
        assert!(fragment_hint(&c).is_none());
    }

    #[test]
    fn percent_encoded_hash_is_pointed_at() {
        let c = check(
            "fragment_preserved",
            "https://x.test/a#frag",
            "https://x.test/a%23frag",
        );
        let (column, message) = fragment_hint(&c).unwrap();
        assert_eq!(column, "https://x.test/a".len());
        assert!(message.contains("%23"), "{message}");
    }

    #[test]
    fn long_fragments_are_shortened_in_the_caret_line_only() {
        let long = format!("#{}", "f".repeat(40));
        assert_eq!(
            quote_fragment(&long).chars().count(),
            FRAGMENT_QUOTE_CHARS + 1
        );
        assert_eq!(quote_fragment("#short"), "#short");
    }

    #[test]
    fn described_expectation_still_gets_a_caret() {
        let c = check(
            "fragment_preserved",
            "the full Stripe Checkout URL, with its non-empty #fragment",
            "https://checkout.stripe.com/c/pay/cs_1",
        );
        let (column, message) = fragment_hint(&c).unwrap();
        assert_eq!(column, "https://checkout.stripe.com/c/pay/cs_1".len());
        assert_eq!(message, "`#fragment` missing here");
    }

    #[test]
    fn non_url_values_get_no_caret() {
        let c = check("fragment_preserved", "https://x.test/a#f", "");
        assert!(fragment_hint(&c).is_none());
    }
}
