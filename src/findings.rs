//! The judge stage: after the checks ran, group the failures by cause.
//!
//! One stripped Stripe URL fails three checks (`schema`, `fragment_preserved`,
//! `stripe_url_fragments`); a server that is down fails every step. People
//! act on causes, so every report leads with findings: a title in plain
//! words, the checks that point to it (kept as data), and where it happened.
//! The checks themselves stay untouched in the scenarios.

use std::collections::HashMap;

use serde::Serialize;

use crate::outcome::{CheckOutcome, ScenarioOutcome, StepOutcome};

/// What sort of break a finding is; findings are ordered by it.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A property the contract promises everywhere (the Stripe fragment).
    Invariant,
    /// One documented expectation that did not hold.
    Contract,
    /// The target (or the client) could not be talked to, or refused the token.
    Transport,
    /// conform itself could not do its job (a scenario could not be set up).
    Internal,
}

/// Why a finding exists, as a stable word tools can match on.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    FragmentLost,
    ClientErrorEnvelope,
    ClientNoJson,
    CheckFailed,
    CannotConnect,
    TimedOut,
    BadAnswer,
    RequestFailed,
    ClientCouldNotRun,
    TokenRefused,
    SetupFailed,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finding {
    pub kind: FindingKind,
    pub cause: Cause,
    /// One line in plain words; the JUnit failure message and the GitHub
    /// annotation title.
    pub title: String,
    /// The suite file of the first place it happened (for annotations).
    pub file: String,
    /// The first steps it happened at ([`KEPT`] at most), in run order.
    pub locations: Vec<Location>,
    /// Places past the first [`KEPT`]: counted, not listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub locations_not_kept: usize,
    /// The failed checks (or transport errors) that point to this cause:
    /// the first [`KEPT`].
    pub evidence: Vec<Evidence>,
    #[serde(skip_serializing_if = "is_zero")]
    pub evidence_not_kept: usize,
    /// Failed checks this cause made meaningless: not counted as failures.
    /// The first [`KEPT`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_evaluated: Vec<Evidence>,
    #[serde(skip_serializing_if = "is_zero")]
    pub not_evaluated_not_kept: usize,
    /// Distinct scenarios it happened in (a scenario's steps are judged
    /// together, so a change of scenario id is a new one).
    #[serde(skip)]
    scenarios: usize,
    #[serde(skip)]
    last_scenario: String,
    #[serde(skip)]
    last_step: usize,
    /// What groups failures into it ([`keys_of`] gives a scenario's keys).
    #[serde(skip)]
    key: String,
    /// The envelope fields its key was read from (a client's error
    /// envelope), so [`of_scenario`] reads a step the same way.
    #[serde(skip)]
    envelope: Option<EnvelopeFields>,
}

/// Places, evidence and not-evaluated checks one finding lists: the first
/// ones. A cause that hit 100,000 scenarios is one finding with its
/// counts, not 100,000 entries held in memory and printed.
pub const KEPT: usize = 10;

/// Distinct `check_failed` findings a run lists; failures past them join
/// one last finding that counts them (JSON and JUnit list every check).
pub const CHECK_FAILED_FINDINGS: usize = 100;

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Finding {
    /// Every step it happened at, listed or not.
    pub fn places(&self) -> usize {
        self.locations.len() + self.locations_not_kept
    }

    /// Every failed check it made meaningless, listed or not.
    pub fn not_evaluated_count(&self) -> usize {
        self.not_evaluated.len() + self.not_evaluated_not_kept
    }

    fn add_evidence(&mut self, e: Evidence) {
        if self.evidence.len() < KEPT {
            self.evidence.push(e);
        } else {
            self.evidence_not_kept += 1;
        }
    }

    fn add_not_evaluated(&mut self, e: Evidence) {
        if self.not_evaluated.len() < KEPT {
            self.not_evaluated.push(e);
        } else {
            self.not_evaluated_not_kept += 1;
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Location {
    /// `suite/scenario`.
    pub scenario: String,
    pub file: String,
    /// 1-based, as people count.
    pub step: usize,
    pub step_name: String,
}

/// Serialized by hand, like [`CheckOutcome`]: typed `expected`/`actual`.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    pub scenario: String,
    pub step: usize,
    pub check: String,
    pub pointer: Option<String>,
    pub expected: String,
    pub actual: String,
    /// The check's compared JSON values, if it kept them.
    pub values: Option<Box<crate::outcome::CheckValues>>,
    pub note: Option<String>,
}

impl Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let values = self.values.as_deref();
        let mut st = s.serialize_struct("Evidence", 7)?;
        st.serialize_field("scenario", &self.scenario)?;
        st.serialize_field("step", &self.step)?;
        st.serialize_field("check", &self.check)?;
        if let Some(p) = &self.pointer {
            st.serialize_field("pointer", p)?;
        }
        crate::outcome::compared(
            &mut st,
            &self.expected,
            &self.actual,
            values,
            self.note.as_ref(),
        )?;
        st.end()
    }
}

/// What the judge knows beyond the outcomes.
#[derive(Debug, Clone, Default)]
pub struct JudgeContext {
    /// Where the bearer token came from, e.g. "`$IMAGE_SKILL_TOKEN`" — never its value.
    pub token_source: Option<String>,
    /// The target as shown to people (`http://127.0.0.1:9`, `mock:conformant`).
    pub target: String,
    /// Where the contract's envelopes keep what the judge reads.
    pub envelope: EnvelopeFields,
}

/// The envelope fields the judge reads, found by their roles in the
/// contract's envelope schemas; `None` where the contract gives no field
/// the role (a client's error envelope is then not told apart).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvelopeFields {
    /// The success envelope's payload: titles name fields inside it.
    pub payload: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

impl EnvelopeFields {
    pub fn of(contract: &crate::contract::Contract) -> EnvelopeFields {
        use crate::contract::{ERROR_ENVELOPE, SUCCESS_ENVELOPE, roles};
        let field = |schema, role| contract.envelope_field(schema, role).map(str::to_string);
        EnvelopeFields {
            payload: field(SUCCESS_ENVELOPE, roles::PAYLOAD),
            error_code: field(ERROR_ENVELOPE, roles::ERROR_CODE),
            error_message: field(ERROR_ENVELOPE, roles::ERROR_MESSAGE),
        }
    }

    /// `/data/next/fallback_checkout_url` → `next.fallback_checkout_url`:
    /// the field as people name it inside the payload.
    pub fn field_name(&self, pointer: &str) -> String {
        let rest = self
            .payload
            .as_deref()
            .and_then(|p| pointer.strip_prefix(p))
            .and_then(|r| r.strip_prefix('/'))
            .unwrap_or(pointer);
        crate::contract::roles::dotted(rest)
    }
}

/// Longest expected/actual value quoted in a title, in characters.
const TITLE_VALUE_CHARS: usize = 60;

/// Groups every failure of `scenarios` into findings, most important first.
pub fn judge(scenarios: &[ScenarioOutcome], cx: &JudgeContext) -> Vec<Finding> {
    let mut b = Builder::new(&cx.envelope);
    for sc in scenarios {
        b.scenario(sc);
    }
    b.sorted(cx)
}

/// [`judge`] over outcomes read one at a time (a run's spool): only the
/// findings are held, each bounded by [`KEPT`].
pub fn judge_each<'a>(
    scenarios: impl Iterator<Item = crate::Result<std::borrow::Cow<'a, ScenarioOutcome>>>,
    cx: &JudgeContext,
) -> crate::Result<Vec<Finding>> {
    let mut b = Builder::new(&cx.envelope);
    for sc in scenarios {
        let sc = sc?;
        b.scenario(&sc);
    }
    Ok(b.sorted(cx))
}

/// The key of the one finding that counts `check_failed` failures past
/// [`CHECK_FAILED_FINDINGS`].
const PAST_THE_CAP: &str = "check failed, past the cap";

/// The findings of `findings` that scenario `sc` contributed to, in their
/// order: found by the keys its own failures group by, since a finding
/// lists only its first few places.
pub fn of_scenario<'a>(
    findings: &'a [Finding],
    sc: &ScenarioOutcome,
) -> impl Iterator<Item = &'a Finding> + 'a {
    // Read the steps as the judge did: only a client error-envelope
    // finding depends on the envelope fields, and it keeps them.
    let envelope = findings
        .iter()
        .find_map(|f| f.envelope.clone())
        .unwrap_or_default();
    let mut b = Builder::new(&envelope);
    for step in &sc.steps {
        b.step(sc, step);
    }
    let mut keys: Vec<String> = b.findings.into_iter().map(|f| f.key).collect();
    // A distinct check failure past the cap was counted by the overflow one.
    if keys
        .iter()
        .any(|k| k.starts_with("check ") && !findings.iter().any(|f| f.key == *k))
    {
        keys.push(PAST_THE_CAP.to_string());
    }
    findings.iter().filter(move |f| keys.contains(&f.key))
}

/// How many failed checks the findings mark as not evaluated.
pub fn not_evaluated(findings: &[Finding]) -> usize {
    findings.iter().map(Finding::not_evaluated_count).sum()
}

#[derive(Default)]
struct Builder {
    findings: Vec<Finding>,
    /// Grouped findings by key, index into `findings`.
    groups: HashMap<String, usize>,
    /// `check_failed` findings listed so far, against [`CHECK_FAILED_FINDINGS`].
    check_failed: usize,
    envelope: EnvelopeFields,
}

impl Builder {
    fn new(envelope: &EnvelopeFields) -> Builder {
        Builder {
            envelope: envelope.clone(),
            ..Builder::default()
        }
    }

    fn scenario(&mut self, sc: &ScenarioOutcome) {
        for step in &sc.steps {
            self.step(sc, step);
        }
    }

    fn sorted(self, cx: &JudgeContext) -> Vec<Finding> {
        let mut findings = self.finish(cx);
        // Stable: within a kind, the order of first appearance in the run.
        findings.sort_by_key(|f| f.kind);
        findings
    }

    fn step(&mut self, sc: &ScenarioOutcome, step: &StepOutcome) {
        let failed: Vec<&CheckOutcome> = step.checks.iter().filter(|c| !c.passed).collect();
        if let Some(err) = &step.transport_error {
            let (kind, cause, words) = transport_cause(step, err);
            let f = self.group(&format!("{cause:?}"), kind, cause, sc);
            f.title = words;
            push_location(f, sc, step);
            f.add_evidence(Evidence {
                scenario: sc.id(),
                step: step.index + 1,
                check: "transport".into(),
                pointer: None,
                expected: if step.client.is_some() {
                    "the client runs and exits".into()
                } else {
                    "a response".into()
                },
                actual: err.clone(),
                values: None,
                note: None,
            });
            for c in &failed {
                f.add_not_evaluated(evidence(sc, step, c));
            }
            return;
        }
        if failed.is_empty() {
            return;
        }
        if token_refused(step) {
            let f = self.group("token", FindingKind::Transport, Cause::TokenRefused, sc);
            f.title = String::new(); // set in finish: it needs the counts
            push_location(f, sc, step);
            // The refusal is the evidence; what the checks wanted to read
            // from a real answer was never there to read.
            for c in &failed {
                if matches!(c.check.as_str(), "status" | "error_code") {
                    f.add_evidence(evidence(sc, step, c));
                } else {
                    f.add_not_evaluated(evidence(sc, step, c));
                }
            }
            return;
        }
        if let Some((cause, words, key)) = client_failure(step, &failed, &self.envelope) {
            let envelope = (cause == Cause::ClientErrorEnvelope).then(|| self.envelope.clone());
            let f = self.group(&key, FindingKind::Contract, cause, sc);
            f.title = words;
            f.envelope = envelope;
            push_location(f, sc, step);
            for c in &failed {
                if c.check == "exit_code" {
                    f.add_evidence(evidence(sc, step, c));
                } else {
                    f.add_not_evaluated(evidence(sc, step, c));
                }
            }
            return;
        }
        // Fields that lost their fragment at this step; other failed checks
        // at the same field are evidence of the same cause.
        let stripped: Vec<&str> = failed
            .iter()
            .filter(|c| is_fragment_check(c))
            .filter_map(|c| c.pointer.as_deref())
            .collect();
        // The fragment checks name the finding, in suite order; the other
        // failed checks at the same field join it as evidence.
        let fragment_first = failed
            .iter()
            .filter(|c| is_fragment_check(c))
            .chain(failed.iter().filter(|c| !is_fragment_check(c)));
        for c in fragment_first {
            match c.pointer.as_deref().filter(|p| stripped.contains(p)) {
                Some(pointer) => {
                    let field = self.envelope.field_name(pointer);
                    let f = self.group(
                        &format!("fragment {pointer}"),
                        FindingKind::Invariant,
                        Cause::FragmentLost,
                        sc,
                    );
                    if f.title.is_empty() {
                        let what = if c.note.as_deref().is_some_and(|n| n.contains("altered")) {
                            "altered"
                        } else {
                            "lost"
                        };
                        f.title = format!("Stripe Checkout URL {what} its #fragment: `{}`", field);
                    }
                    push_location(f, sc, step);
                    f.add_evidence(evidence(sc, step, c));
                }
                None => {
                    // Everything else: one finding per distinct failed
                    // check; the same check failing the same way at the
                    // same place in many scenarios is one, with its count.
                    let key = format!(
                        "check {}\u{0}{}\u{0}{}\u{0}{}",
                        c.check,
                        c.pointer.as_deref().unwrap_or_default(),
                        c.expected,
                        c.actual
                    );
                    let key = if self.groups.contains_key(&key)
                        || self.check_failed < CHECK_FAILED_FINDINGS
                    {
                        key
                    } else {
                        // Past the cap: one finding counts the rest.
                        PAST_THE_CAP.to_string()
                    };
                    if !self.groups.contains_key(&key) {
                        self.check_failed += 1;
                    }
                    // The cap's key starts with "check " too: compared whole.
                    let overflow = key == PAST_THE_CAP;
                    let f = self.group(&key, FindingKind::Contract, Cause::CheckFailed, sc);
                    if f.title.is_empty() {
                        f.title = if overflow {
                            format!("more failed checks than {CHECK_FAILED_FINDINGS} findings list")
                        } else {
                            let at = c
                                .pointer
                                .as_deref()
                                .filter(|p| !p.is_empty())
                                .map(|p| format!(" at {p}"))
                                .unwrap_or_default();
                            format!(
                                "{}{at}: expected {}, got {}",
                                c.check,
                                shorten(&c.expected),
                                shorten(&c.actual)
                            )
                        };
                    }
                    push_location(f, sc, step);
                    f.add_evidence(evidence(sc, step, c));
                }
            }
        }
    }

    fn group(
        &mut self,
        key: &str,
        kind: FindingKind,
        cause: Cause,
        sc: &ScenarioOutcome,
    ) -> &mut Finding {
        let i = match self.groups.get(key) {
            Some(&i) => i,
            None => {
                let mut f = new_finding(kind, cause, sc);
                f.key = key.to_string();
                self.findings.push(f);
                self.groups.insert(key.to_string(), self.findings.len() - 1);
                self.findings.len() - 1
            }
        };
        &mut self.findings[i]
    }

    /// Titles of grouped findings say how far the cause reached.
    fn finish(mut self, cx: &JudgeContext) -> Vec<Finding> {
        for f in &mut self.findings {
            let scenarios = f.scenarios;
            let steps = f.places();
            let reach = if steps > scenarios {
                format!(
                    "{} · {}",
                    plural(scenarios, "scenario"),
                    plural(steps, "step")
                )
            } else {
                plural(scenarios, "scenario")
            };
            match f.cause {
                // One place: the title says it all, as before grouping.
                Cause::CheckFailed if steps == 1 => {}
                Cause::TokenRefused => {
                    let statuses = refused_statuses(f);
                    let source = cx
                        .token_source
                        .as_deref()
                        .map(|s| format!(" from {s}"))
                        .unwrap_or_default();
                    f.title = format!(
                        "the server refused the bearer token{source} ({statuses}) · {reach}"
                    );
                }
                Cause::CannotConnect
                | Cause::TimedOut
                | Cause::BadAnswer
                | Cause::RequestFailed => {
                    f.title = format!("{} {} · {reach}", f.title, cx.target);
                }
                _ => f.title = format!("{} · {reach}", f.title),
            }
        }
        self.findings
    }
}

fn new_finding(kind: FindingKind, cause: Cause, sc: &ScenarioOutcome) -> Finding {
    Finding {
        kind,
        cause,
        title: String::new(),
        file: sc.file.clone(),
        locations: Vec::new(),
        locations_not_kept: 0,
        evidence: Vec::new(),
        evidence_not_kept: 0,
        not_evaluated: Vec::new(),
        not_evaluated_not_kept: 0,
        scenarios: 0,
        last_scenario: String::new(),
        last_step: 0,
        key: String::new(),
        envelope: None,
    }
}

fn push_location(f: &mut Finding, sc: &ScenarioOutcome, step: &StepOutcome) {
    let id = sc.id();
    let new_scenario = f.last_scenario != id;
    // Steps are judged in order: a place repeats only as the latest one.
    if !new_scenario && f.last_step == step.index + 1 {
        return;
    }
    if new_scenario {
        f.scenarios += 1;
        f.last_scenario.clone_from(&id);
    }
    f.last_step = step.index + 1;
    if f.locations.len() < KEPT {
        f.locations.push(Location {
            scenario: id,
            file: sc.file.clone(),
            step: step.index + 1,
            step_name: step.name.clone(),
        });
    } else {
        f.locations_not_kept += 1;
    }
}

fn evidence(sc: &ScenarioOutcome, step: &StepOutcome, c: &CheckOutcome) -> Evidence {
    Evidence {
        scenario: sc.id(),
        step: step.index + 1,
        check: c.check.clone(),
        pointer: c.pointer.clone(),
        expected: c.expected.clone(),
        actual: c.actual.clone(),
        values: c.values.clone(),
        note: c.note.clone(),
    }
}

/// A check that says a URL lost its `#fragment` (the 0.1.8 bug), whatever
/// check noticed it.
fn is_fragment_check(c: &CheckOutcome) -> bool {
    matches!(
        c.check.as_str(),
        "fragment_preserved" | "stripe_url_fragments"
    ) || c
        .note
        .as_deref()
        .is_some_and(|n| n.contains("fragment removed"))
}

/// The transport error's cause and its words, from the runner's first
/// words (`exec::http::transport_words`).
fn transport_cause(step: &StepOutcome, err: &str) -> (FindingKind, Cause, String) {
    let t = FindingKind::Transport;
    if step.client.is_some() {
        return (
            t,
            Cause::ClientCouldNotRun,
            "the client could not run".into(),
        );
    }
    if err.starts_with("cannot connect") {
        (t, Cause::CannotConnect, "cannot connect to".into())
    } else if err.starts_with("timed out") {
        (t, Cause::TimedOut, "no answer in time from".into())
    } else if err.starts_with("the answer broke off") || err.contains("malformed") {
        (t, Cause::BadAnswer, "garbage instead of HTTP from".into())
    } else if step.request.is_none() && step.response.is_none() {
        (
            FindingKind::Internal,
            Cause::SetupFailed,
            format!("a scenario could not be set up: {err}"),
        )
    } else {
        (t, Cause::RequestFailed, "the request failed against".into())
    }
}

/// A step that sent the bearer token and was answered 401/403 while it
/// expected something else.
fn token_refused(step: &StepOutcome) -> bool {
    let sent_token = step.request.as_ref().is_some_and(|r| {
        r.headers.iter().any(|(name, value)| {
            name.eq_ignore_ascii_case("authorization") && value.starts_with("Bearer")
        })
    });
    let refused = step
        .response
        .as_ref()
        .is_some_and(|r| matches!(r.status, 401 | 403));
    // A step that asked for the refusal (a bad-token probe) is not one.
    let wanted_refusal = step.checks.iter().any(|c| {
        c.passed
            && c.check == "status"
            && (c.expected.contains("401") || c.expected.contains("403"))
    });
    let any_failed = step.checks.iter().any(|c| !c.passed);
    sent_token && refused && any_failed && !wanted_refusal
}

fn refused_statuses(f: &Finding) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for e in f.evidence.iter().filter(|e| e.check == "status") {
        let s = e.actual.as_str();
        if !seen.contains(&s) {
            seen.push(s);
        }
    }
    if seen.is_empty() {
        "401/403".to_string()
    } else {
        seen.join("/")
    }
}

/// A client step that exited non-zero where the suite wanted success:
/// either it printed an error envelope, or nothing parseable at all.
fn client_failure(
    step: &StepOutcome,
    failed: &[&CheckOutcome],
    envelope: &EnvelopeFields,
) -> Option<(Cause, String, String)> {
    let client = step.client.as_ref()?;
    if !failed.iter().any(|c| c.check == "exit_code") {
        return None;
    }
    let exit = client
        .exit_code
        .map_or("no exit code".to_string(), |c| format!("exit {c}"));
    let doc: Option<serde_json::Value> = serde_json::from_str(client.stdout_excerpt.trim()).ok();
    // An error envelope: the object that holds the error-code field.
    let error = envelope.error_code.as_deref().and_then(|code| {
        let (parent, _) = code.rsplit_once('/')?;
        doc.as_ref()?.pointer(parent).filter(|e| e.is_object())
    });
    let read = |pointer: &Option<String>| {
        let (doc, pointer) = (doc.as_ref()?, pointer.as_deref()?);
        doc.pointer(pointer).and_then(|v| v.as_str())
    };
    match error {
        Some(_) => {
            let code = read(&envelope.error_code).unwrap_or("?");
            let message = read(&envelope.error_message).unwrap_or("");
            Some((
                Cause::ClientErrorEnvelope,
                format!("the client returned an error envelope ({exit}): {code}: {message}"),
                format!("client envelope {code} {message}"),
            ))
        }
        None if doc.is_none() => {
            let stderr = client
                .stderr_excerpt
                .lines()
                .find(|l| !l.trim().is_empty())
                .map(|l| format!(": {}", shorten(l.trim())))
                .unwrap_or_default();
            Some((
                Cause::ClientNoJson,
                format!("the client failed before printing JSON ({exit}){stderr}"),
                format!("client nojson {exit}{stderr}"),
            ))
        }
        None => None,
    }
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

fn shorten(s: &str) -> String {
    let first = s.lines().next().unwrap_or_default();
    if first.chars().count() <= TITLE_VALUE_CHARS && !s.contains('\n') {
        first.to_string()
    } else {
        let head: String = first.chars().take(TITLE_VALUE_CHARS).collect();
        format!("{head}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{ClientSummary, RequestSummary, ResponseSummary, Status};

    fn step(index: usize, checks: Vec<CheckOutcome>) -> StepOutcome {
        StepOutcome {
            index,
            name: format!("step {index}"),
            status: Status::Failed,
            duration_ms: 1,
            duration_us: 1_000,
            skipped_because: None,
            request: Some(RequestSummary {
                method: "GET".into(),
                url: "http://127.0.0.1:1/v1/x".into(),
                headers: vec![("Authorization".into(), "Bearer ***".into())],
                body: None,
            }),
            response: Some(ResponseSummary {
                status: 200,
                location: None,
                body_excerpt: "{}".into(),
            }),
            client: None,
            transport_error: None,
            checks,
        }
    }

    fn scenario(name: &str, steps: Vec<StepOutcome>) -> ScenarioOutcome {
        ScenarioOutcome {
            suite: "s".into(),
            file: "suites/s.json".into(),
            scenario: name.into(),
            status: Status::Failed,
            duration_ms: 1,
            duration_us: 1_000,
            reason: None,
            steps,
        }
    }

    fn shipped_envelope() -> EnvelopeFields {
        let contract = crate::contract::Contract::embedded(crate::contract::DEFAULT_CONTRACT)
            .expect("contract loads");
        EnvelopeFields::of(&contract)
    }

    fn cx() -> JudgeContext {
        JudgeContext {
            token_source: Some("`$IMAGE_SKILL_TOKEN`".into()),
            target: "http://127.0.0.1:9".into(),
            envelope: shipped_envelope(),
        }
    }

    const STRIPPED: &str = "https://checkout.stripe.com/c/pay/cs_1";

    fn fragment(pointer: &str) -> CheckOutcome {
        CheckOutcome::fail(
            "fragment_preserved",
            Some(pointer),
            "a URL with #fragment",
            STRIPPED,
        )
        .with_note("fragment removed: Stripe Checkout cannot load without it")
    }

    #[test]
    fn fragment_findings_come_first_and_absorb_schema_failures_at_the_same_field() {
        let checks = vec![
            CheckOutcome::fail("status", None, "201", "200"),
            CheckOutcome::fail("schema", Some("/data/checkout_url"), "valid", "anyOf"),
            fragment("/data/checkout_url"),
            fragment("/data/next/fallback_checkout_url"),
        ];
        let runs = vec![
            scenario("a", vec![step(1, checks.clone())]),
            scenario("b", vec![step(1, checks)]),
        ];
        let f = judge(&runs, &cx());
        assert_eq!(
            f.iter().map(|f| f.title.as_str()).collect::<Vec<_>>(),
            [
                "Stripe Checkout URL lost its #fragment: `checkout_url` · 2 scenarios",
                "Stripe Checkout URL lost its #fragment: `next.fallback_checkout_url` · 2 scenarios",
                "status: expected 201, got 200 · 2 scenarios",
            ]
        );
        assert_eq!(f[0].kind, FindingKind::Invariant);
        let checks: Vec<&str> = f[0].evidence.iter().map(|e| e.check.as_str()).collect();
        assert_eq!(
            checks,
            [
                "fragment_preserved",
                "schema",
                "fragment_preserved",
                "schema"
            ]
        );
    }

    #[test]
    fn an_unreachable_target_is_one_finding_with_the_count() {
        let down = |name| {
            let mut s = step(0, vec![]);
            s.response = None;
            s.transport_error = Some("cannot connect: tcp connect error".into());
            scenario(name, vec![s])
        };
        let f = judge(&[down("a"), down("b"), down("c")], &cx());
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].title,
            "cannot connect to http://127.0.0.1:9 · 3 scenarios"
        );
        assert_eq!(f[0].kind, FindingKind::Transport);
    }

    /// A scenario whose one step was refused (401) and so failed its schema too.
    fn refused(name: &str) -> ScenarioOutcome {
        let mut s = step(
            0,
            vec![
                CheckOutcome::fail("status", None, "200", "401"),
                CheckOutcome::fail("schema", None, "valid", "invalid"),
            ],
        );
        if let Some(r) = &mut s.response {
            r.status = 401;
        }
        scenario(name, vec![s])
    }

    #[test]
    fn a_refused_token_is_one_finding_naming_where_it_came_from() {
        let f = judge(&[refused("a"), refused("b")], &cx());
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].title,
            "the server refused the bearer token from `$IMAGE_SKILL_TOKEN` (401) · 2 scenarios"
        );
        assert_eq!(f[0].evidence.len(), 2);
        assert_eq!(not_evaluated(&f), 2);
    }

    #[test]
    fn a_client_error_envelope_marks_the_other_checks_not_evaluated() {
        let mut s = step(
            0,
            vec![
                CheckOutcome::fail("exit_code", None, "0", "2"),
                CheckOutcome::fail("envelope", Some("/error"), "null", "object"),
                CheckOutcome::fail("equals", Some("/data/x"), "1", "missing"),
            ],
        );
        s.request = None;
        s.response = None;
        s.client = Some(ClientSummary {
            argv: vec!["cli".into()],
            exit_code: Some(2),
            stdout_excerpt:
                r#"{"ok":false,"error":{"code":"usage_error","message":"unknown flag --jsn"}}"#
                    .into(),
            stderr_excerpt: String::new(),
        });
        let f = judge(&[scenario("a", vec![s])], &cx());
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].title,
            "the client returned an error envelope (exit 2): usage_error: unknown flag --jsn · 1 scenario"
        );
        assert_eq!(f[0].evidence.len(), 1);
        assert_eq!(not_evaluated(&f), 2);
    }

    #[test]
    fn identical_failures_in_many_scenarios_are_one_finding_with_counts() {
        let runs: Vec<ScenarioOutcome> = (0..1000)
            .map(|i| {
                let checks = vec![CheckOutcome::fail("status", None, "201", "200")];
                scenario(&format!("sc{i}"), vec![step(1, checks)])
            })
            .collect();
        let f = judge(&runs, &cx());
        assert_eq!(f.len(), 1, "one cause, one finding");
        assert_eq!(f[0].title, "status: expected 201, got 200 · 1000 scenarios");
        assert_eq!(f[0].locations.len(), KEPT);
        assert_eq!(f[0].locations_not_kept, 1000 - KEPT);
        assert_eq!(f[0].places(), 1000);
        assert_eq!(f[0].evidence.len(), KEPT);
        assert_eq!(f[0].evidence_not_kept, 1000 - KEPT);
        // The 500th scenario still finds its finding (JUnit's headline).
        assert_eq!(of_scenario(&f, &runs[500]).count(), 1);
    }

    #[test]
    fn distinct_check_failures_past_the_cap_join_one_counting_finding() {
        let n = CHECK_FAILED_FINDINGS + 50;
        let runs: Vec<ScenarioOutcome> = (0..n)
            .map(|i| {
                let checks = vec![CheckOutcome::fail("equals", None, "1", i.to_string())];
                scenario(&format!("sc{i}"), vec![step(1, checks)])
            })
            .collect();
        let f = judge(&runs, &cx());
        assert_eq!(f.len(), CHECK_FAILED_FINDINGS + 1);
        let last = &f[CHECK_FAILED_FINDINGS];
        assert_eq!(last.places(), 50);
        assert!(last.title.ends_with("· 50 scenarios"), "{}", last.title);
        let of_last: Vec<&str> = of_scenario(&f, &runs[n - 1])
            .map(|f| f.title.as_str())
            .collect();
        assert_eq!(of_last, [last.title.as_str()]);
        assert_eq!(
            of_scenario(&f, &runs[0]).next().map(|f| f.title.as_str()),
            Some("equals: expected 1, got 0")
        );
    }

    #[test]
    fn not_evaluated_checks_past_the_kept_ones_are_still_counted() {
        let runs: Vec<_> = (0..30).map(|i| refused(&format!("s{i}"))).collect();
        let f = judge(&runs, &cx());
        assert_eq!(f[0].not_evaluated.len(), KEPT);
        assert_eq!(not_evaluated(&f), 30);
    }

    #[test]
    fn field_names_drop_the_payload_prefix() {
        let envelope = shipped_envelope();
        assert_eq!(envelope.payload.as_deref(), Some("/data"));
        assert_eq!(
            envelope.field_name("/data/next/fallback_checkout_url"),
            "next.fallback_checkout_url"
        );
        assert_eq!(envelope.field_name("/checkout_url"), "checkout_url");
        assert_eq!(envelope.field_name("/database/x"), "database.x");
        // A contract without a payload role: the pointer as it is.
        assert_eq!(
            EnvelopeFields::default().field_name("/data/checkout_url"),
            "data.checkout_url"
        );
    }

    #[test]
    fn a_client_error_envelope_is_read_where_the_contract_puts_its_code() {
        let mut s = step(0, vec![CheckOutcome::fail("exit_code", None, "0", "2")]);
        s.request = None;
        s.response = None;
        s.client = Some(ClientSummary {
            argv: vec!["cli".into()],
            exit_code: Some(2),
            stdout_excerpt: r#"{"ok":false,"failure":{"kind":"E_USAGE","text":"bad flag"}}"#.into(),
            stderr_excerpt: String::new(),
        });
        let renamed = JudgeContext {
            envelope: EnvelopeFields {
                error_code: Some("/failure/kind".into()),
                error_message: Some("/failure/text".into()),
                ..shipped_envelope()
            },
            ..cx()
        };
        let f = judge(&[scenario("a", vec![s.clone()])], &renamed);
        assert_eq!(f[0].cause, Cause::ClientErrorEnvelope);
        assert!(f[0].title.contains("E_USAGE: bad flag"), "{}", f[0].title);
        assert_eq!(of_scenario(&f, &scenario("a", vec![s.clone()])).count(), 1);
        // The shipped names do not find it there.
        let f = judge(&[scenario("a", vec![s])], &cx());
        assert_ne!(f[0].cause, Cause::ClientErrorEnvelope);
    }
}
