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
