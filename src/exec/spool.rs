//! Finished scenario outcomes kept in a temp file instead of memory: at
//! 100,000 scenarios the outcomes alone are most of a gigabyte, and only
//! the judge and the reporters read them, in plan order. Failed ones stay
//! on disk too (flagged in the index): the judge, the console and the
//! invariants line read those back, so memory does not grow with failures.
//!
//! CBOR, not JSON: a check result's JSON form keeps a typed value instead
//! of its text, and the reporters need both (see `outcome::FullCheck`).
//! The file is anonymous (`tempfile::tempfile`): it has no name to leak,
//! and the OS deletes it when the run ends, however it ends.

use std::borrow::Cow;
use std::io::Write as _;

use crate::outcome::{RunReport, ScenarioOutcome, Summary};
use crate::{Error, Result};

/// Where one outcome sits in the file.
#[derive(Clone, Copy, Default)]
struct Entry {
    offset: u64,
    /// 0: no outcome in this place (never written).
    len: u32,
    /// Read by [`Spooled::kept`]: not passed, or the first passed outcome
    /// to check an invariant.
    kept: bool,
}

/// The file while the run writes it, in finishing order.
pub struct Spool {
    out: std::io::BufWriter<std::fs::File>,
    /// By plan order.
    index: Vec<Entry>,
    end: u64,
    buf: Vec<u8>,
    headers: Vec<(String, String)>,
}

fn spool_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("the run's result spool (a temp file) {what}: {e}"))
}

impl Spool {
    /// An empty spool for `total` outcomes.
    pub fn new(total: usize) -> Result<Spool> {
        let file = tempfile::tempfile().map_err(|e| spool_error("cannot be created", e))?;
        Ok(Spool {
            out: std::io::BufWriter::with_capacity(64 * 1024, file),
            index: vec![Entry::default(); total],
            end: 0,
            buf: Vec::new(),
            headers: Vec::new(),
        })
    }

    /// Writes the outcome of plan place `order`.
    pub fn put(&mut self, order: usize, outcome: &ScenarioOutcome) -> Result<()> {
        self.buf.clear();
        ciborium::into_writer(outcome, &mut self.buf)
            .map_err(|e| spool_error("cannot encode an outcome", e))?;
        let len = u32::try_from(self.buf.len())
            .map_err(|_| spool_error("cannot hold an outcome", "larger than 4 GiB"))?;
        self.out
            .write_all(&self.buf)
            .map_err(|e| spool_error("cannot be written", e))?;
        if let Some(entry) = self.index.get_mut(order) {
            *entry = Entry {
                offset: self.end,
                len,
                kept: outcome.status != crate::outcome::Status::Passed,
            };
        }
        self.end += u64::from(len);
        // Kept aside so masking need not read the whole spool for them.
        let sent = outcome.steps.iter().filter_map(|s| s.request.as_ref());
        for (name, value) in sent.flat_map(|q| &q.headers) {
            if crate::redact::Redactor::is_credential_header(name)
                && !self.headers.iter().any(|(n, v)| n == name && v == value)
            {
                self.headers.push((name.clone(), value.clone()));
            }
        }
        Ok(())
    }

    /// Done writing: the outcomes, readable in plan order; the passed
    /// ones at plan places `also_kept` join the not-passed ones that
    /// [`Spooled::kept`] yields.
    pub fn finish(mut self, also_kept: impl IntoIterator<Item = usize>) -> Result<Spooled> {
        for order in also_kept {
            if let Some(e) = self.index.get_mut(order) {
                e.kept = e.len > 0;
            }
        }
        let file = self
            .out
            .into_inner()
            .map_err(|e| spool_error("cannot be written", e.error()))?;
        let index: Vec<Entry> = self.index.into_iter().filter(|e| e.len > 0).collect();
        Ok(Spooled {
            file,
            index,
            headers: self.headers,
        })
    }
}

/// The finished spool: every outcome that was written, in plan order.
pub struct Spooled {
    file: std::fs::File,
    index: Vec<Entry>,
    /// Every distinct credential header (by [`Redactor::is_credential_header`])
    /// the spooled requests recorded.
    ///
    /// [`Redactor::is_credential_header`]: crate::redact::Redactor::is_credential_header
    headers: Vec<(String, String)>,
}

impl std::fmt::Debug for Spooled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Spooled({} outcomes)", self.index.len())
    }
}

impl Spooled {
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The credential headers the spooled requests carried, each once.
    pub fn credential_headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The outcomes in plan order, each read when asked for; one buffer
    /// is reused, so reading holds one outcome at a time.
    pub fn iter(&self) -> impl Iterator<Item = Result<ScenarioOutcome>> + '_ {
        let mut buf = Vec::new();
        self.index.iter().map(move |e| self.read(*e, &mut buf))
    }

    /// [`Spooled::iter`] over the kept outcomes only: those not passed and
    /// the first passed one to check each invariant.
    pub fn kept(&self) -> impl Iterator<Item = Result<ScenarioOutcome>> + '_ {
        let mut buf = Vec::new();
        self.index
            .iter()
            .filter(|e| e.kept)
            .map(move |e| self.read(*e, &mut buf))
    }

    fn read(&self, e: Entry, buf: &mut Vec<u8>) -> Result<ScenarioOutcome> {
        buf.resize(e.len as usize, 0);
        read_at(&self.file, buf, e.offset).map_err(|err| spool_error("cannot be read", err))?;
        ciborium::from_reader(buf.as_slice()).map_err(|err| spool_error("cannot be decoded", err))
    }
}

/// Reads `buf.len()` bytes at `offset` without moving the file's cursor.
#[cfg(unix)]
pub(crate) fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
pub(crate) fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Read as _, Seek as _};
    let mut f = file;
    f.seek(std::io::SeekFrom::Start(offset))?;
    f.read_exact(buf)
}

impl RunReport {
    /// Every scenario's outcome in plan order, from memory or the spool.
    pub fn all_scenarios(&self) -> Box<dyn Iterator<Item = Result<Cow<'_, ScenarioOutcome>>> + '_> {
        match &self.spooled {
            Some(spool) => Box::new(spool.iter().map(|r| r.map(Cow::Owned))),
            None => Box::new(self.scenarios.iter().map(|s| Ok(Cow::Borrowed(s)))),
        }
    }

    /// What a report that lists failures reads, in plan order: every
    /// scenario held in memory, or from the spool those not passed plus the
    /// first passed one to check each invariant (what the findings, the
    /// console's failures and the invariants line need).
    pub fn kept_scenarios(
        &self,
    ) -> Box<dyn Iterator<Item = Result<Cow<'_, ScenarioOutcome>>> + '_> {
        match &self.spooled {
            Some(spool) => Box::new(spool.kept().map(|r| r.map(Cow::Owned))),
            None => Box::new(self.scenarios.iter().map(|s| Ok(Cow::Borrowed(s)))),
        }
    }

    /// How many scenarios [`RunReport::all_scenarios`] yields.
    pub fn scenario_count(&self) -> usize {
        self.spooled
            .as_ref()
            .map_or(self.scenarios.len(), |s| s.len())
    }
}

impl Summary {
    /// Adds `other`'s counts: the runner sums outcomes as they finish.
    pub fn add(&mut self, other: &Summary) {
        // Destructured: a new count must be added here, or this fails to build.
        let Summary {
            scenarios,
            passed,
            failed,
            checks_failed,
            not_evaluated,
            findings,
            skipped,
            transport_errors,
            internal_errors,
            not_applicable,
        } = *other;
        self.scenarios += scenarios;
        self.passed += passed;
        self.failed += failed;
        self.checks_failed += checks_failed;
        self.not_evaluated += not_evaluated;
        self.findings += findings;
        self.skipped += skipped;
        self.transport_errors += transport_errors;
        self.internal_errors += internal_errors;
        self.not_applicable += not_applicable;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{CheckOutcome, RequestSummary, Status, StepOutcome};

    fn outcome(name: &str) -> ScenarioOutcome {
        ScenarioOutcome {
            suite: "s".into(),
            file: "s.json".into(),
            scenario: name.into(),
            status: Status::Failed,
            duration_ms: 1,
            duration_us: 1200,
            reason: None,
            steps: vec![StepOutcome {
                index: 0,
                name: "get".into(),
                status: Status::Failed,
                duration_ms: 1,
                duration_us: 1100,
                skipped_because: None,
                request: Some(RequestSummary {
                    method: "GET".into(),
                    url: "http://127.0.0.1/x".into(),
                    headers: vec![("authorization".into(), "Bearer ***".into())],
                    // A JSON `null` body is not no body.
                    body: Some(serde_json::Value::Null),
                }),
                response: None,
                client: None,
                transport_error: None,
                checks: vec![
                    // Text and typed value differ: both must come back.
                    CheckOutcome::fail("status", None, "200 OK", "404 Not Found")
                        .with_values(serde_json::json!(200), Some(serde_json::json!(404)))
                        .with_note("wrong"),
                    CheckOutcome::pass("envelope", Some("/data"), "object"),
                    // Compared against a JSON null: not "nothing to compare".
                    CheckOutcome::fail("equals", Some("/a"), "1", "null").with_values(
                        serde_json::json!({"b": 1.5, "a": [1, -2, null]}),
                        Some(serde_json::Value::Null),
                    ),
                    CheckOutcome::fail("equals", Some("/b"), "1", "nothing")
                        .with_values(serde_json::json!(1), None),
                ],
            }],
        }
    }

    #[test]
    fn outcomes_come_back_whole_in_plan_order() {
        let mut spool = Spool::new(3).unwrap();
        // Finished out of order; place 1 never finished.
        spool.put(2, &outcome("c")).unwrap();
        spool.put(0, &outcome("a")).unwrap();
        let spooled = spool.finish([]).unwrap();
        let back: Vec<ScenarioOutcome> = spooled.iter().map(|r| r.unwrap()).collect();
        let names: Vec<&str> = back.iter().map(|s| s.scenario.as_str()).collect();
        assert_eq!(names, ["a", "c"]);
        let want = serde_json::to_string(&outcome("a")).unwrap();
        assert_eq!(serde_json::to_string(&back[0]).unwrap(), want);
        assert_eq!(back[0].steps[0].checks, outcome("a").steps[0].checks);
    }

    #[test]
    fn kept_are_the_not_passed_and_the_named_passed_ones() {
        let passed = |name: &str| ScenarioOutcome {
            status: Status::Passed,
            ..outcome(name)
        };
        let mut spool = Spool::new(5).unwrap();
        spool.put(0, &passed("a")).unwrap();
        spool.put(1, &outcome("b")).unwrap();
        spool.put(2, &passed("c")).unwrap();
        spool.put(3, &passed("d")).unwrap();
        // Place 4 never finished: naming it keeps nothing.
        let spooled = spool.finish([3, 4]).unwrap();
        let kept: Vec<String> = spooled.kept().map(|r| r.unwrap().scenario).collect();
        assert_eq!(kept, ["b", "d"]);
        assert_eq!(spooled.len(), 4);
    }
}
