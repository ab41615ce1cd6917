//! `no_token_echo`: invariant no-token-echo. A client is handed a token
//! through its environment; printing it (a debug line, an `auth status`
//! that shows it whole) leaks it into CI logs. Tokens the server issues in
//! the step's answer (signup) are the client's to show and are not this
//! token.

use super::Context;
use crate::outcome::CheckOutcome;

pub const KEY: &str = "no_token_echo";

/// Shorter tokens would match by chance; conform's own are 43 characters.
const MIN_LEN: usize = 8;

/// The always-on `no_token_echo` check of client steps.
pub struct NoTokenEcho;

impl super::Check for NoTokenEcho {
    fn key(&self) -> &'static str {
        KEY
    }

    fn is_suite_key(&self) -> bool {
        false
    }

    fn evaluate(&self, step: &super::StepInput<'_>, cx: &Context<'_>) -> Vec<CheckOutcome> {
        match cx.handed_token.map(str::trim) {
            Some(token) if step.cli && token.len() >= MIN_LEN => vec![check(token, cx)],
            _ => Vec::new(),
        }
    }
}

fn check(token: &str, cx: &Context<'_>) -> CheckOutcome {
    let expected = "the token the client was handed appears in none of its output";
    let found: Vec<&str> = [
        ("stdout", &cx.response.body),
        ("stderr", &cx.response.stderr),
    ]
    .into_iter()
    .filter(|(_, bytes)| contains(bytes, token.as_bytes()))
    .map(|(name, _)| name)
    .collect();
    if found.is_empty() {
        CheckOutcome::pass(KEY, None, expected)
    } else {
        // Never the token itself: the report says where, not what.
        CheckOutcome::fail(
            KEY,
            None,
            expected,
            format!("the client printed it on {}", found.join(" and ")),
        )
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::contains;

    #[test]
    fn finds_the_token_anywhere_and_only_whole() {
        assert!(contains(b"x isk_abcdefgh y", b"isk_abcdefgh"));
        assert!(!contains(b"x isk_abcdefg y", b"isk_abcdefgh"));
        assert!(!contains(b"", b"isk_abcdefgh"));
    }
}
