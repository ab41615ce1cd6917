//! conform: contract-testing and conformance harness for the Image Skill
//! CLI and hosted API. The pipeline is the layout:
//! load contract → load suite → plan → execute → check → report.

pub mod app;
pub mod audit;
pub mod check;
pub mod cli;
pub mod contract;
pub mod contracts;
pub mod docs;
pub mod error;
pub mod exec;
pub mod findings;
pub mod hash;
pub mod input;
pub mod mock;
pub mod needs;
pub mod negative;
pub mod openapi;
pub mod outcome;
pub mod plan;
pub mod redact;
pub mod report;
pub mod signals;
pub mod soak;
pub mod suite;
pub mod trial;
pub mod vars;

/// Contract schemas and suites shipped inside the binary: `(repo path, text)`.
pub mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

    /// The built-in text of the file at repo path `path`, if it is built in.
    pub fn schema_file(path: &str) -> Option<&'static str> {
        SCHEMAS.iter().find(|(p, _)| *p == path).map(|(_, t)| *t)
    }
}

pub use error::{Error, Result};
