//! The machine-readable report: [`RunReport`]'s serde layout, versioned by
//! its `format` field ([`REPORT_FORMAT`]).

use crate::Result;
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
        let mut report = super::redacted(report, &self.redactor);
        // The layout written is the one this build knows, whatever the
        // runner put there.
        report.format = REPORT_FORMAT;
        if self.compact {
            report.scenarios.retain(|sc| sc.status != Status::Passed);
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
            return Ok(bytes);
        }
        // Written straight from the typed report: going through a
        // `serde_json::Value` (twice, for the second pass) cost several times
        // the report's own size at 100,000 scenarios.
        let bytes =
            serde_json::to_vec_pretty(&report).map_err(|e| super::render_error("json", e))?;
        drop(report);
        // Second pass over the written text catches strings the typed pass
        // does not know about (fields added later). Tokens are plain ASCII
        // words, which JSON writes unescaped, so they match as text.
        let text = String::from_utf8(bytes).map_err(|e| super::render_error("json", e))?;
        let mut bytes = self.redactor.text(&text).into_bytes();
        drop(text);
        bytes.push(b'\n');
        Ok(bytes)
    }
}
