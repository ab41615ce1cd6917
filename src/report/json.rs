//! The machine-readable report: [`RunReport`]'s serde layout, versioned by
//! its `format` field ([`REPORT_FORMAT`]).

use crate::Result;
use crate::outcome::{REPORT_FORMAT, RunReport};
use crate::redact::Redactor;

use super::Reporter;

#[derive(Debug, Clone)]
pub struct JsonReporter {
    redactor: Redactor,
}

impl JsonReporter {
    pub fn new(redactor: Redactor) -> Self {
        JsonReporter { redactor }
    }
}

impl Reporter for JsonReporter {
    fn render(&self, report: &RunReport) -> Result<Vec<u8>> {
        let mut report = super::redacted(report, &self.redactor);
        // The layout written is the one this build knows, whatever the
        // runner put there.
        report.format = REPORT_FORMAT;
        let value = serde_json::to_value(&report).map_err(|e| super::render_error("json", e))?;
        // Second pass over the serialized form catches strings the typed
        // pass does not know about (fields added later).
        let value = self.redactor.json(&value);
        let mut bytes =
            serde_json::to_vec_pretty(&value).map_err(|e| super::render_error("json", e))?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}
