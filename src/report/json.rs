//! The machine-readable report: [`RunReport`]'s serde layout, versioned by
//! its `format` field ([`REPORT_FORMAT`]).

use crate::Result;
use std::io::Write as _;

use serde::Serialize;
use serde::ser::{SerializeMap as _, SerializeSeq as _};

use crate::outcome::{REPORT_FORMAT, RunReport, Status};
use crate::redact::Redactor;

use super::Reporter;

#[derive(Debug, Clone)]
pub struct JsonReporter {
    redactor: Redactor,
    /// Failures and counts only (`json-compact=PATH`): a large run's full
    /// report is mostly passing checks nobody reads.
    compact: bool,
}

impl JsonReporter {
    pub fn new(redactor: Redactor) -> Self {
        JsonReporter {
            redactor,
            compact: false,
        }
    }

    pub fn compact(mut self, compact: bool) -> Self {
        self.compact = compact;
        self
    }
}

impl Reporter for JsonReporter {
    fn render(&self, report: &RunReport) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.write_to(report, &mut bytes)?;
        Ok(bytes)
    }

    fn write_to(&self, report: &RunReport, out: &mut dyn std::io::Write) -> Result<()> {
        let bytes_err = |e: std::io::Error| super::render_error("json", e);
        if self.compact {
            let mut report = super::redacted_where(report, &self.redactor, super::Keep::NotPassed)?;
            report.format = REPORT_FORMAT;
            for sc in &mut report.scenarios {
                sc.steps.retain(|st| st.status == Status::Failed);
                for st in &mut sc.steps {
                    st.checks.retain(|c| !c.passed);
                }
            }
            // Small by construction: the `Value` detour costs little here.
            let mut value =
                serde_json::to_value(&report).map_err(|e| super::render_error("json", e))?;
            if let Some(map) = value.as_object_mut() {
                map.insert("compact".into(), serde_json::Value::Bool(true));
            }
            let value = self.redactor.json(&value);
            let mut bytes =
                serde_json::to_vec_pretty(&value).map_err(|e| super::render_error("json", e))?;
            bytes.push(b'\n');
            return out.write_all(&bytes).map_err(bytes_err);
        }
        // Written scenario by scenario, each masked as it goes: neither a
        // masked copy of the whole report nor its text is ever held (at
        // 100,000 scenarios either is several hundred MB). The rest of the
        // report is small and goes through a `Value`, which keeps the
        // field order (`preserve_order`) and so the layout.
        let r = super::learned(report, &self.redactor)?;
        let mut head = super::redacted_head(report, &r);
        // The layout written is the one this build knows, whatever the
        // runner put there.
        head.format = REPORT_FORMAT;
        let head = serde_json::to_value(&head).map_err(|e| super::render_error("json", e))?;
        let doc = Streamed {
            head: &head,
            report,
            redactor: &r,
        };
        // Second pass over the written text, a line at a time, catches
        // strings the typed pass does not know about (fields added later).
        // Tokens are plain ASCII words, which JSON writes unescaped, so
        // they match as text.
        let mut masked = self.redactor.writer(out);
        serde_json::to_writer_pretty(&mut masked, &doc)
            .map_err(|e| super::render_error("json", e))?;
        masked.write_all(b"\n").map_err(bytes_err)?;
        masked.finish().map(drop).map_err(bytes_err)
    }
}

/// The report's fields from `head`, its `scenarios` masked one at a time.
struct Streamed<'a> {
    head: &'a serde_json::Value,
    /// Its scenarios, from memory or the run's spool.
    report: &'a RunReport,
    redactor: &'a Redactor,
}

impl Serialize for Streamed<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let fields = self.head.as_object();
        let mut map = serializer.serialize_map(fields.map(serde_json::Map::len))?;
        for (key, value) in fields.into_iter().flatten() {
            if key == "scenarios" {
                map.serialize_entry(key, &Scenarios(self.report, self.redactor))?;
            } else {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

struct Scenarios<'a>(&'a RunReport, &'a Redactor);

impl Serialize for Scenarios<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.scenario_count()))?;
        for sc in self.0.all_scenarios() {
            let sc = sc.map_err(serde::ser::Error::custom)?;
            seq.serialize_element(&super::redacted_scenario(&sc, self.1))?;
        }
        seq.end()
    }
}
