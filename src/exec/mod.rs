//! Execute stage: runs planned scenarios against a target. Async lives here.
//! Steps of a scenario run in order; scenarios run concurrently up to `jobs`.

pub mod http;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Semaphore;

use crate::check::{self, FragmentPolicy};
use crate::contract::Contract;
use crate::outcome::{
    CheckOutcome, RequestSummary, ResponseSummary, RunReport, ScenarioOutcome, Status, StepOutcome,
};
use crate::plan::Plan;
use crate::redact::Redactor;
use crate::suite::{Auth, Scenario, Step, Suite, Target as StepTarget};
use crate::vars::Vars;
use http::{HttpClient, HttpRequest};

/// Where requests go.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://host:port`, no trailing slash.
    pub base_url: String,
    pub token: Option<String>,
    /// How reports name the target: `mock:conformant` or the base URL.
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub jobs: usize,
    pub step_timeout: Duration,
    pub max_body: usize,
    /// Unique per run, so idempotency keys of a live server never collide.
    pub run_id: String,
}

impl RunOptions {
    pub fn new_run_id() -> String {
        format!("{:08x}", rand::random::<u32>())
    }
}

/// Shared by all scenarios of one run.
struct Runner {
    contract: Arc<Contract>,
    policy: FragmentPolicy,
    target: Target,
    client: HttpClient,
    redactor: Redactor,
    run_id: String,
    stop: Arc<AtomicBool>,
}

/// Runs the plan and returns the finished report. Never fails: what goes
/// wrong at the target is recorded in the report as data.
pub async fn run(
    plan: &Plan,
    contract: Arc<Contract>,
    target: Target,
    opts: &RunOptions,
    stop: Arc<AtomicBool>,
) -> crate::Result<RunReport> {
    let started = Instant::now();
    let runner = Arc::new(Runner {
        policy: contract.fragment_policy(),
        contract: contract.clone(),
        client: HttpClient::new(opts.step_timeout, opts.max_body)?,
        redactor: Redactor::new(target.token.clone()),
        target,
        run_id: opts.run_id.clone(),
        stop: stop.clone(),
    });
    let permits = Arc::new(Semaphore::new(opts.jobs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (order, case) in plan.cases.iter().enumerate() {
        let suite = plan.suites[case.suite].clone();
        let runner = runner.clone();
        let permits = permits.clone();
        let scenario_index = case.scenario;
        tasks.spawn(async move {
            // A closed semaphore cannot happen: it is never closed.
            let _permit = permits.acquire_owned().await.ok();
            (order, runner.scenario(&suite, scenario_index).await)
        });
    }
    let mut done: Vec<Option<ScenarioOutcome>> = vec![None; plan.cases.len()];
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((order, outcome)) => done[order] = Some(outcome),
            Err(e) => return Err(crate::Error::Usage(format!("a scenario task failed: {e}"))),
        }
    }
    let scenarios: Vec<ScenarioOutcome> = done.into_iter().flatten().collect();
    Ok(RunReport {
        format: crate::outcome::REPORT_FORMAT,
        conform_version: env!("CARGO_PKG_VERSION").to_string(),
        contract_version: contract.version().to_string(),
        target: runner.target.label.clone(),
        duration_ms: started.elapsed().as_millis() as u64,
        interrupted: stop.load(Ordering::SeqCst),
        summary: RunReport::summarize(&scenarios),
        scenarios,
    })
}

impl Runner {
    async fn scenario(&self, suite: &Suite, index: usize) -> ScenarioOutcome {
        let scenario: &Scenario = &suite.scenarios[index];
        let started = Instant::now();
        let mut vars = Vars::default();
        vars.set("run_id", Value::String(self.run_id.clone()));
        vars.set("base_url", Value::String(self.target.base_url.clone()));
        for (name, value) in &suite.vars {
            let value = vars.text(value);
            vars.set(name.clone(), Value::String(value));
        }
        let mut steps = Vec::new();
        let mut failed_at: Option<String> = None;
        for (i, step) in scenario.steps.iter().enumerate() {
            let skip_reason = match &failed_at {
                Some(name) => Some(format!("step `{name}` failed earlier")),
                None if self.stop.load(Ordering::SeqCst) => Some("the run was interrupted".into()),
                None => None,
            };
            if let Some(reason) = skip_reason {
                steps.push(skipped(i, step, reason));
                continue;
            }
            let outcome = self.step(i, step, &mut vars).await;
            if outcome.status == Status::Failed {
                failed_at = Some(step.name.clone());
            }
            steps.push(outcome);
        }
        let status = if steps.iter().all(|s| s.status == Status::Passed) {
            Status::Passed
        } else {
            Status::Failed
        };
        ScenarioOutcome {
            suite: suite.name.clone(),
            file: suite.file.display().to_string(),
            scenario: scenario.name.clone(),
            status,
            duration_ms: started.elapsed().as_millis() as u64,
            steps,
        }
    }

    async fn step(&self, index: usize, step: &Step, vars: &mut Vars) -> StepOutcome {
        let started = Instant::now();
        let request = self.prepare(step, vars);
        let summary = self.summarize(&request);
        let mut outcome = StepOutcome {
            index,
            name: step.name.clone(),
            status: Status::Failed,
            duration_ms: 0,
            skipped_because: None,
            request: Some(summary),
            response: None,
            transport_error: None,
            checks: Vec::new(),
        };
        let response = match request {
            Ok(req) => self.client.send(&req).await,
            Err(why) => {
                outcome.checks.push(*why);
                outcome.duration_ms = started.elapsed().as_millis() as u64;
                return outcome;
            }
        };
        let response = match response {
            Ok(r) => r,
            Err(why) => {
                outcome.transport_error = Some(self.redactor.text(&why));
                outcome.duration_ms = started.elapsed().as_millis() as u64;
                return outcome;
            }
        };
        let cx = check::Context {
            contract: &self.contract,
            policy: self.policy,
            vars,
            response: &response,
        };
        let mut checks = check::run_all(&step.expect, &cx);
        checks.extend(capture(step, &response, vars));
        outcome.response = Some(ResponseSummary {
            status: response.status,
            location: response.location.clone(),
            body_excerpt: self.redactor.text(&response.excerpt(2000)),
        });
        outcome.status = if checks.iter().all(|c| c.passed) {
            Status::Passed
        } else {
            Status::Failed
        };
        outcome.checks = checks;
        outcome.duration_ms = started.elapsed().as_millis() as u64;
        outcome
    }

    /// The request as it will be sent, or a failed check saying why not.
    fn prepare(&self, step: &Step, vars: &Vars) -> Result<HttpRequest, Box<CheckOutcome>> {
        let rq = &step.request;
        let url = match &rq.target {
            StepTarget::Path(p) => format!("{}{}", self.target.base_url, vars.text(p)),
            StepTarget::Url(u) => vars.text(u),
        };
        let mut url = url::Url::parse(&url).map_err(|e| {
            Box::new(
                CheckOutcome::fail("request", None, "an absolute http(s) URL", url.clone())
                    .with_note(format!("cannot send: {e}")),
            )
        })?;
        if !rq.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &rq.query {
                pairs.append_pair(k, &vars.text(v));
            }
        }
        let method = reqwest::Method::from_bytes(rq.method.as_bytes()).map_err(|_| {
            Box::new(CheckOutcome::fail(
                "request",
                None,
                "an HTTP method",
                rq.method.clone(),
            ))
        })?;
        let mut headers: Vec<(String, String)> = rq
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), vars.text(v)))
            .collect();
        match rq.auth {
            Auth::Token => {
                if let Some(token) = &self.target.token {
                    headers.push(("authorization".into(), format!("Bearer {token}")));
                }
            }
            Auth::Invalid => headers.push((
                "authorization".into(),
                format!("Bearer isk_r_conform_invalid_{}", self.run_id),
            )),
            Auth::None => {}
        }
        Ok(HttpRequest {
            method,
            url: url.to_string(),
            headers,
            json: rq.json.as_ref().map(|j| vars.value(j)),
        })
    }

    fn summarize(&self, request: &Result<HttpRequest, Box<CheckOutcome>>) -> RequestSummary {
        match request {
            Ok(req) => RequestSummary {
                method: req.method.to_string(),
                url: self.redactor.text(&req.url),
                headers: req
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), self.redactor.header(k, v)))
                    .collect(),
                body: req.json.as_ref().map(|j| self.redactor.json(j)),
            },
            Err(_) => RequestSummary {
                method: String::new(),
                url: String::new(),
                headers: Vec::new(),
                body: None,
            },
        }
    }
}

fn skipped(index: usize, step: &Step, reason: String) -> StepOutcome {
    StepOutcome {
        index,
        name: step.name.clone(),
        status: Status::Skipped,
        duration_ms: 0,
        skipped_because: Some(reason),
        request: None,
        response: None,
        transport_error: None,
        checks: Vec::new(),
    }
}

/// Stores captured values for later steps; a missing one is a failed check.
fn capture(step: &Step, response: &check::Response, vars: &mut Vars) -> Vec<CheckOutcome> {
    let mut out = Vec::new();
    for (name, pointer) in &step.captures {
        match response.at(pointer) {
            Some(value) => vars.set(name.clone(), value.clone()),
            None => out.push(CheckOutcome::fail(
                "capture",
                Some(pointer),
                format!("a value to capture as ${{{name}}}"),
                "nothing at this pointer",
            )),
        }
    }
    out
}
