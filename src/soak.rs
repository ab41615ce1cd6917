//! Soak mode (`--repeat N`): one plan run N times against a loopback
//! target. Only histograms, counts and the first failures are kept, so
//! memory does not grow with N.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::contract::Contract;
use crate::error::{Error, Result};
use crate::exec::{self, Interrupt, Mode, RunOptions};
use crate::outcome::{
    LatencyReport, Percentiles, RunReport, ScenarioOutcome, Status, StepLatency, Summary,
};
use crate::plan::Plan;

/// Upper bound of `--repeat`: a soak run is a load test, kept finite.
pub const MAX_REPEAT: u64 = 100_000;
/// Default of `--repeat-max-secs`.
pub const DEFAULT_MAX_SECS: f64 = 300.0;
/// Longest `--repeat-max-secs`: a week; 1e300 used to panic as a `Duration`.
pub const MAX_SECS: f64 = 604_800.0;
/// Failed scenario runs kept in full in the report; the rest are counted.
pub const KEPT_FAILURES: usize = 100;

/// How often and for how long to repeat.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Repeat {
    pub count: u64,
    /// No new iteration starts after this; the running one finishes.
    pub max_duration: Duration,
}

impl Repeat {
    pub fn new(count: u64, max_secs: f64) -> Result<Repeat> {
        if !(1..=MAX_REPEAT).contains(&count) {
            return Err(Error::Usage(format!(
                "--repeat must be between 1 and {MAX_REPEAT}, got {count}"
            )));
        }
        if !(max_secs > 0.0 && max_secs <= MAX_SECS) {
            return Err(Error::Usage(format!(
                "--repeat-max-secs must be more than 0 and at most {MAX_SECS} seconds"
            )));
        }
        Ok(Repeat {
            count,
            max_duration: Duration::from_secs_f64(max_secs),
        })
    }
}

/// Soak mode generates load, so it only runs against a server on this
/// machine: the embedded mock, or a base URL on 127.0.0.0/8, ::1 or
/// localhost.
pub fn require_loopback(mode: &Mode) -> Result<()> {
    match mode {
        // Client scenarios always talk to a mock conform starts on 127.0.0.1.
        Mode::Client(_) => Ok(()),
        Mode::Server(target) if is_loopback_url(&target.base_url) => Ok(()),
        Mode::Server(target) => Err(Error::Usage(format!(
            "--repeat only runs against this machine (the embedded mock, or a --base-url on \
             127.0.0.0/8, ::1 or localhost), not `{}`",
            target.label
        ))),
    }
}

/// Whether `url`'s host is a loopback address or `localhost`.
pub fn is_loopback_url(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => {
            let name = name.strip_suffix('.').unwrap_or(name);
            name.eq_ignore_ascii_case("localhost")
        }
        None => false,
    }
}

/// Runs `plan` up to `repeat.count` times, one iteration after another
/// (scenarios inside an iteration run concurrently up to `--jobs`). The
/// report has the first iteration's scenarios, later failed scenario runs
/// (up to [`KEPT_FAILURES`] failures in all), the summed summary, and the
/// `latency` section.
pub async fn run(
    plan: &Plan,
    contract: Arc<Contract>,
    mode: Mode,
    opts: &RunOptions,
    interrupt: Interrupt,
    repeat: Repeat,
) -> Result<RunReport> {
    require_loopback(&mode)?;
    let started = Instant::now();
    let mut soak = Aggregate::new(plan)?;
    let mut stopped_early = None;
    // One client for every iteration, so connections are reused.
    let http = match &opts.http {
        Some(client) => client.clone(),
        None => crate::exec::http::HttpClient::new(opts.step_timeout, opts.max_body)?,
    };
    for iteration in 0..repeat.count {
        // Ctrl-C between iterations: an iteration started now would only
        // record skipped steps.
        if iteration > 0 && interrupt.is_set() {
            soak.interrupted = true;
            stopped_early = Some("interrupted (Ctrl-C)".into());
            break;
        }
        if iteration > 0 && started.elapsed() >= repeat.max_duration {
            stopped_early = Some(format!(
                "time bound of {}s reached (--repeat-max-secs)",
                repeat.max_duration.as_secs_f64()
            ));
            break;
        }
        // A fresh run id per iteration: idempotency keys must not replay
        // the first iteration's answers.
        let iteration_opts = RunOptions {
            run_id: format!("{}-{iteration}", opts.run_id),
            http: Some(http.clone()),
            ..opts.clone()
        };
        let iteration_started = Instant::now();
        let report = exec::run(
            plan,
            contract.clone(),
            mode.clone(),
            &iteration_opts,
            interrupt.clone(),
        )
        .await?;
        let interrupted = report.interrupted;
        soak.record(iteration, iteration_started.elapsed(), report);
        if interrupted {
            stopped_early = Some("interrupted (Ctrl-C)".into());
            break;
        }
    }
    Ok(soak.finish(repeat.count, stopped_early, started.elapsed()))
}

/// Everything a soak run keeps between iterations.
struct Aggregate {
    /// `suite/scenario/step` and its histogram (ms), for every step of
    /// every case, flattened in plan order.
    steps: Vec<(String, Histogram<u64>)>,
    /// Where each case's steps start in `steps`.
    offsets: Vec<usize>,
    /// Wall time of whole iterations, in µs.
    iteration_us: Histogram<u64>,
    /// The first iteration's report: header fields and its scenarios.
    first: Option<RunReport>,
    later_failures: Vec<ScenarioOutcome>,
    kept_failures: usize,
    failures_not_kept: u64,
    failed_iterations: u64,
    iterations: u64,
    summary: Summary,
    interrupted: bool,
}

/// Three significant digits: µs iteration times keep 0.1% precision and
/// a histogram stays a few KiB however many values it holds.
fn histogram() -> Result<Histogram<u64>> {
    // Three significant digits are in hdrhistogram's range: a failure is a bug.
    Histogram::new(3)
        .map_err(|e| Error::Internal(format!("cannot set up a latency histogram: {e}")))
}

impl Aggregate {
    fn new(plan: &Plan) -> Result<Aggregate> {
        let mut steps = Vec::new();
        let mut offsets = Vec::with_capacity(plan.cases.len());
        for case in &plan.cases {
            offsets.push(steps.len());
            let scenario = &plan.suites[case.suite].scenarios[case.scenario];
            for step in &scenario.steps {
                steps.push((format!("{}/{}", case.id, step.name), histogram()?));
            }
        }
        Ok(Aggregate {
            steps,
            offsets,
            iteration_us: histogram()?,
            first: None,
            later_failures: Vec::new(),
            kept_failures: 0,
            failures_not_kept: 0,
            failed_iterations: 0,
            iterations: 0,
            summary: Summary::default(),
            interrupted: false,
        })
    }

    fn record(&mut self, iteration: u64, wall: Duration, report: RunReport) {
        self.iterations += 1;
        // `record` grows the histogram; `saturating_record` would clamp to
        // its current (small) range.
        let _ = self
            .iteration_us
            .record(u64::try_from(wall.as_micros()).unwrap_or(u64::MAX));
        self.interrupted |= report.interrupted;
        let s = &report.summary;
        self.summary.scenarios += s.scenarios;
        self.summary.passed += s.passed;
        self.summary.failed += s.failed;
        self.summary.checks_failed += s.checks_failed;
        self.summary.transport_errors += s.transport_errors;
        self.summary.internal_errors += s.internal_errors;
        if s.failed > 0 {
            self.failed_iterations += 1;
        }
        // exec returns one scenario per case, in plan order.
        for (case, scenario) in report.scenarios.iter().enumerate() {
            let Some(&offset) = self.offsets.get(case) else {
                continue;
            };
            for step in &scenario.steps {
                if step.status == Status::Skipped {
                    continue;
                }
                if let Some((_, h)) = self.steps.get_mut(offset + step.index) {
                    let _ = h.record(step.duration_ms);
                }
            }
        }
        if iteration == 0 {
            self.kept_failures += report.scenarios.iter().filter(|s| failed(s)).count();
            self.first = Some(report);
            return;
        }
        for mut scenario in report.scenarios.into_iter().filter(failed) {
            if self.kept_failures < KEPT_FAILURES {
                scenario.scenario = format!("{} (repeat {})", scenario.scenario, iteration + 1);
                self.later_failures.push(scenario);
                self.kept_failures += 1;
            } else {
                self.failures_not_kept += 1;
            }
        }
    }

    fn finish(self, requested: u64, stopped_early: Option<String>, elapsed: Duration) -> RunReport {
        let steps = self
            .steps
            .iter()
            .map(|(step, h)| StepLatency {
                step: step.clone(),
                latency: percentiles(h, "ms"),
            })
            .collect();
        let latency = LatencyReport {
            requested,
            iterations: self.iterations,
            stopped_early,
            failed_iterations: self.failed_iterations,
            failures_not_kept: self.failures_not_kept,
            iteration: percentiles(&self.iteration_us, "us"),
            steps,
        };
        let mut report = self.first.unwrap_or_else(|| RunReport {
            format: crate::outcome::REPORT_FORMAT,
            conform_version: env!("CARGO_PKG_VERSION").to_string(),
            contract_version: String::new(),
            target: String::new(),
            run: Default::default(),
            duration_ms: 0,
            duration_us: 0,
            interrupted: false,
            summary: Summary::default(),
            findings: Vec::new(),
            scenarios: Vec::new(),
            spooled: None,
            latency: None,
        });
        report.scenarios.extend(self.later_failures);
        report.summary = self.summary;
        report.interrupted = self.interrupted;
        report.duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        report.duration_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        report.latency = Some(latency);
        report
    }
}

fn failed(scenario: &ScenarioOutcome) -> bool {
    scenario.status != Status::Passed
}

fn percentiles(h: &Histogram<u64>, unit: &'static str) -> Percentiles {
    if h.is_empty() {
        return Percentiles {
            unit,
            ..Percentiles::default()
        };
    }
    Percentiles {
        unit,
        count: h.len(),
        p50: h.value_at_quantile(0.50),
        p95: h.value_at_quantile(0.95),
        p99: h.value_at_quantile(0.99),
        max: h.max(),
        mean: h.mean(),
    }
}

/// The console's latency table, printed after the console report. Numbers
/// come first so long step names do not push them off the screen.
pub fn render(latency: &LatencyReport) -> String {
    let mut out = String::new();
    // `write!` into a String cannot fail; the results are ignored.
    let _ = write!(
        out,
        "\nlatency: {} of {} iterations",
        latency.iterations, latency.requested
    );
    if let Some(why) = &latency.stopped_early {
        let _ = write!(out, " (stopped early: {why})");
    }
    if latency.failed_iterations > 0 {
        let _ = write!(
            out,
            " · {} with failures",
            plural(latency.failed_iterations, "iteration")
        );
    }
    if latency.failures_not_kept > 0 {
        let _ = write!(
            out,
            " · {} not shown",
            plural(latency.failures_not_kept, "more failed scenario run")
        );
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "{:>8} {:>7} {:>7} {:>7} {:>7} {:>9}  step (ms)",
        "count", "p50", "p95", "p99", "max", "mean"
    );
    for step in &latency.steps {
        let _ = writeln!(out, "{}  {}", row(&step.latency), step.step);
    }
    let _ = writeln!(out, "{}  whole iteration (µs)", row(&latency.iteration));
    out
}

fn row(p: &Percentiles) -> String {
    format!(
        "{:>8} {:>7} {:>7} {:>7} {:>7} {:>9.2}",
        p.count, p.p50, p.p95, p.p99, p.max, p.mean
    )
}

fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_count_as_this_machine() {
        for url in [
            "http://127.0.0.1:8080",
            "http://127.3.4.5",
            "http://[::1]:9000",
            "http://localhost:1234",
            "https://LOCALHOST./x",
        ] {
            assert!(is_loopback_url(url), "{url} is loopback");
        }
        for url in [
            "http://10.0.0.1",
            "https://api.example.test",
            "http://localhost.example.test",
            "http://[::2]",
            "http://0.0.0.0:80",
            "not a url",
        ] {
            assert!(!is_loopback_url(url), "{url} is not loopback");
        }
    }

    #[test]
    fn repeat_bounds_are_enforced() {
        assert!(Repeat::new(0, 10.0).is_err());
        assert!(Repeat::new(MAX_REPEAT + 1, 10.0).is_err());
        assert!(Repeat::new(1, 0.0).is_err());
        assert!(Repeat::new(1, f64::NAN).is_err());
        assert_eq!(
            Repeat::new(MAX_REPEAT, 1.5).ok().map(|r| r.max_duration),
            Some(Duration::from_millis(1500))
        );
    }

    #[test]
    fn large_values_are_kept_not_clamped() {
        let mut h = histogram().expect("histogram");
        h.record(56_000).expect("recorded");
        let max = percentiles(&h, "us").max;
        assert!((55_900..=56_100).contains(&max), "{max}");
    }

    #[test]
    fn percentiles_are_ordered_and_exact_for_small_values() {
        let mut h = histogram().expect("histogram");
        for v in 1..=100u64 {
            h.record(v).expect("recorded");
        }
        let p = percentiles(&h, "ms");
        assert_eq!(
            (p.count, p.p50, p.p95, p.p99, p.max),
            (100, 50, 95, 99, 100)
        );
        let empty = histogram().expect("histogram");
        assert_eq!(
            percentiles(&empty, "ms"),
            Percentiles {
                unit: "ms",
                ..Percentiles::default()
            }
        );
    }
}
