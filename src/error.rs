//! One error type for everything that stops conform before or outside a check.
//! Check failures are not errors: they are data in [`crate::outcome`].

use std::path::PathBuf;

/// Exit codes, documented in README.md.
pub mod exit {
    pub const PASSED: i32 = 0;
    pub const CHECK_FAILED: i32 = 1;
    pub const INVALID_INPUT: i32 = 2;
    pub const TARGET_UNREACHABLE: i32 = 3;
    /// A bug in conform (or a registered check): a panic, a broken invariant.
    pub const INTERNAL_ERROR: i32 = 4;
    pub const INTERRUPTED: i32 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("`{path}` is not valid JSON (line {line}, column {column}): {message}")]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    /// A suite file that parses but breaks the suite format.
    #[error("{message} in {path}\n  at {pointer}{}", hint_line(.hint))]
    Suite {
        path: PathBuf,
        pointer: String,
        message: String,
        hint: Option<String>,
    },

    /// A contract schema that cannot be loaded or compiled.
    #[error("{message} in {path}\n  at {pointer}")]
    Schema {
        path: PathBuf,
        pointer: String,
        message: String,
    },

    #[error("unknown contract version `{version}` (known: {known})")]
    UnknownContract { version: String, known: String },

    #[error("{0}")]
    Usage(String),

    /// Published docs (`contracts extract/check`) that lack what conform reads.
    #[error("`{path}`{}: {message}", line_part(.line))]
    Docs {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },

    /// A bug in conform, not in the input or the target.
    #[error("internal error (a bug in conform, please report it): {0}")]
    Internal(String),

    #[error("cannot start the reference mock: {0}")]
    Mock(String),

    #[error("cannot write report `{path}`: {source}")]
    Report {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn line_part(line: &Option<usize>) -> String {
    line.map(|n| format!(" line {n}")).unwrap_or_default()
}

fn hint_line(hint: &Option<String>) -> String {
    match hint {
        Some(h) => format!("\n  {h}"),
        None => String::new(),
    }
}

impl Error {
    /// The process exit code for this error (see README "Exit codes").
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Read { .. }
            | Error::Json { .. }
            | Error::Suite { .. }
            | Error::Schema { .. }
            | Error::UnknownContract { .. }
            | Error::Usage(_)
            | Error::Docs { .. }
            | Error::Report { .. } => exit::INVALID_INPUT,
            Error::Mock(_) => exit::TARGET_UNREACHABLE,
            Error::Internal(_) => exit::INTERNAL_ERROR,
        }
    }

    /// Parses `text` as JSON, turning a syntax error into [`Error::Json`] for `path`.
    pub fn parse_json(path: &std::path::Path, text: &str) -> Result<serde_json::Value, Error> {
        serde_json::from_str(text).map_err(|e| Error::Json {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e
                .to_string()
                .split(" at line")
                .next()
                .unwrap_or_default()
                .to_string(),
        })
    }
}

/// The nearest candidate to `word`, if it is near enough to be a typo
/// (for "did you mean" hints).
pub fn closest<'a, S: AsRef<str>>(word: &str, candidates: &'a [S]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c.as_ref()), c.as_ref()))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_error_says_it_is_a_bug_and_exits_4() {
        let e = Error::Internal("a scenario task was cancelled".into());
        assert_eq!(e.exit_code(), exit::INTERNAL_ERROR);
        assert!(
            e.to_string()
                .starts_with("internal error (a bug in conform"),
            "{e}"
        );
    }

    #[test]
    fn a_docs_error_names_file_and_line() {
        let e = Error::Docs {
            path: PathBuf::from("docs/llms.txt"),
            line: Some(12),
            message: "no JSON after `Error:`".into(),
        };
        assert_eq!(
            e.to_string(),
            "`docs/llms.txt` line 12: no JSON after `Error:`"
        );
        assert_eq!(e.exit_code(), exit::INVALID_INPUT);
    }
}
