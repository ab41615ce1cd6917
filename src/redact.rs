//! Keeps secrets (API tokens, cookies) out of everything conform prints or
//! writes. The runner redacts request headers as it records them; reporters
//! pass all text through here again, so a slip in one place does not leak.

use aho_corasick::{AhoCorasick, MatchKind};

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// Secrets shorter than this are ignored: masking every "a" or "12" would
/// shred the output without protecting anything real.
const MIN_SECRET_LEN: usize = 4;

/// Cookie values learned from headers must be at least this long to count
/// as session secrets (see [`Redactor::learn_header`]).
const MIN_LEARNED_COOKIE_LEN: usize = 8;

#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so a secret that contains another is masked whole.
    secrets: Vec<String>,
    /// Every form of every secret (see [`forms`]), in one automaton, so a
    /// text is scanned once however many secrets there are.
    matcher: Option<AhoCorasick>,
    /// Some form of a secret has a line break before its end, so a match
    /// can reach across lines and text must be masked whole, not by line.
    spans_lines: bool,
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut redactor = Redactor::default();
        for secret in secrets {
            redactor.add(secret);
        }
        redactor
    }

    /// Adds one more secret (same rules as [`Redactor::new`]).
    pub fn add(&mut self, secret: String) {
        if secret.trim().chars().count() < MIN_SECRET_LEN || self.secrets.contains(&secret) {
            return;
        }
        self.secrets.push(secret);
        self.secrets
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        let mut patterns: Vec<String> = self
            .secrets
            .iter()
            .flat_map(|s| forms(s))
            .filter(|f| f.chars().count() >= MIN_SECRET_LEN)
            .collect();
        patterns.sort();
        patterns.dedup();
        self.spans_lines = patterns.iter().any(|p| {
            let p = p.strip_suffix('\n').unwrap_or(p);
            p.contains('\n')
        });
        // Building fails only past the automaton's size limits, far beyond
        // a handful of tokens; `text` then masks everything, not nothing.
        self.matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .ok();
    }

    /// Learns the credential inside a request or response header, so the
    /// same value is masked wherever else it shows up (a body echoing the
    /// token, an error message quoting it).
    pub fn learn_header(&mut self, name: &str, value: &str) {
        if !Self::is_credential_header(name) {
            return;
        }
        let value = value.trim();
        if name.eq_ignore_ascii_case("authorization")
            || name.eq_ignore_ascii_case("proxy-authorization")
        {
            let credential = match value.split_once(char::is_whitespace) {
                Some((_scheme, credential)) => credential.trim(),
                None => value,
            };
            self.add(credential.to_string());
        } else if name.eq_ignore_ascii_case("cookie") || name.eq_ignore_ascii_case("set-cookie") {
            // Set-Cookie carries its value in the first pair only; the rest
            // are attributes (`Path=/`). Short values (`theme=dark`) are
            // preferences, not sessions, and masking them would shred text.
            let pairs = value.split(';');
            let pairs: Vec<&str> = if name.eq_ignore_ascii_case("set-cookie") {
                pairs.take(1).collect()
            } else {
                pairs.collect()
            };
            for pair in pairs {
                if let Some((_name, v)) = pair.split_once('=') {
                    let v = v.trim();
                    if v.chars().count() >= MIN_LEARNED_COOKIE_LEN {
                        self.add(v.to_string());
                    }
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Whether [`Redactor::learn_header`] learns anything from a header
    /// of this name.
    pub fn is_credential_header(name: &str) -> bool {
        [
            "authorization",
            "proxy-authorization",
            "cookie",
            "set-cookie",
        ]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
    }

    /// `s` with every secret replaced by [`MASK`]: as written, trimmed,
    /// JSON-escaped in any part (`\u0041`, `\/`), HTML-escaped, and a
    /// secret's prefix cut off by `…` (text shortened before it got here).
    pub fn text(&self, s: &str) -> String {
        self.text_cow(s).into_owned()
    }

    /// [`Redactor::text`], borrowing `s` when nothing in it is masked (most
    /// text): the runner masks every check result of every step.
    pub fn text_cow<'s>(&self, s: &'s str) -> std::borrow::Cow<'s, str> {
        use std::borrow::Cow;
        let Some(matcher) = &self.matcher else {
            return if self.secrets.is_empty() {
                Cow::Borrowed(s)
            } else {
                Cow::Owned(MASK.to_string())
            };
        };
        let mut spans: Vec<(usize, usize)> = if s.contains('\\') {
            let view = DecodedView::new(s);
            matcher
                .find_iter(&view.bytes)
                .map(|m| (view.start[m.start()], view.end[m.end() - 1]))
                .collect()
        } else {
            matcher.find_iter(s).map(|m| (m.start(), m.end())).collect()
        };
        spans.extend(self.cut_prefixes(s));
        if spans.is_empty() {
            return Cow::Borrowed(s);
        }
        spans.sort_unstable();
        let mut out = String::with_capacity(s.len());
        let mut at = 0;
        for (start, end) in spans {
            if end <= at {
                continue;
            }
            out.push_str(&s[at..start.max(at)]);
            out.push_str(MASK);
            at = end;
        }
        out.push_str(&s[at..]);
        Cow::Owned(out)
    }

    /// What is finally written (a rendered report, console text) with
    /// [`Redactor::text`] applied.
    pub fn bytes(&self, b: &[u8]) -> Vec<u8> {
        match std::str::from_utf8(b) {
            Ok(s) => self.text(s).into_bytes(),
            Err(_) => self.text(&String::from_utf8_lossy(b)).into_bytes(),
        }
    }

    /// A writer that masks what passes through it a line at a time, with
    /// the result of [`Redactor::bytes`] on the whole: a report streamed to
    /// its file is never held whole, nor its ~17 bytes per byte of
    /// [`DecodedView`].
    pub fn writer<W: std::io::Write>(&self, inner: W) -> RedactingWriter<'_, W> {
        RedactingWriter {
            redactor: self,
            inner,
            pending: Vec::new(),
        }
    }

    /// Spans of `s` that end right before a cut mark `…` and are the start
    /// of a secret: the rest of the secret was cut away.
    fn cut_prefixes(&self, s: &str) -> Vec<(usize, usize)> {
        let mut spans = Vec::new();
        for (cut, _) in s.match_indices('…') {
            // Decoded, so an escaped prefix (`isk\/…`) is found too.
            let view = DecodedView::new(&s[..cut]);
            for secret in &self.secrets {
                let secret = secret.trim();
                let longest = secret.len().min(view.bytes.len());
                let found = (MIN_SECRET_LEN..=longest)
                    .rev()
                    .filter_map(|n| secret.get(..n))
                    .find(|prefix| view.bytes.ends_with(prefix.as_bytes()));
                if let Some(prefix) = found {
                    spans.push((view.start[view.bytes.len() - prefix.len()], cut));
                    break;
                }
            }
        }
        spans
    }

    /// A header value fit to show. Credentials headers are masked whatever
    /// they hold, since their secret may not be one we were told about;
    /// `Authorization` keeps its scheme word so people can see what was sent.
    pub fn header(&self, name: &str, value: &str) -> String {
        if name.eq_ignore_ascii_case("authorization") {
            match value.trim_start().split_once(char::is_whitespace) {
                Some((scheme, _)) => format!("{scheme} {MASK}"),
                None => MASK.to_string(),
            }
        } else if ["cookie", "set-cookie", "proxy-authorization"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
        {
            MASK.to_string()
        } else {
            self.text(value)
        }
    }

    /// `v` with [`Redactor::text`] applied to every string; keys are kept
    /// so the shape of the document stays readable.
    pub fn json(&self, v: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|i| self.json(i)).collect()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), self.json(v))).collect())
            }
            other => other.clone(),
        }
    }
}

/// See [`Redactor::writer`]. Call [`RedactingWriter::finish`] at the end:
/// the last line is held until then.
pub struct RedactingWriter<'r, W: std::io::Write> {
    redactor: &'r Redactor,
    inner: W,
    /// Bytes not yet masked: the start of a line (all of the text when
    /// masking must see it whole).
    pending: Vec<u8>,
}

impl<W: std::io::Write> RedactingWriter<'_, W> {
    /// Masks and writes what is still held, flushes, and returns the inner
    /// writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        let rest = std::mem::take(&mut self.pending);
        self.inner.write_all(&self.redactor.bytes(&rest))?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: std::io::Write> std::io::Write for RedactingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // A line end ends every match: no secret's form holds one inside
        // (`spans_lines`), and a UTF-8 sequence never contains the byte.
        let whole = self.redactor.spans_lines
            || (self.redactor.matcher.is_none() && !self.redactor.secrets.is_empty());
        let Some(last) = buf.iter().rposition(|&b| b == b'\n').filter(|_| !whole) else {
            self.pending.extend_from_slice(buf);
            return Ok(buf.len());
        };
        let (lines, rest) = buf.split_at(last + 1);
        let mut lines = lines.split_inclusive(|&b| b == b'\n');
        if !self.pending.is_empty()
            && let Some(first) = lines.next()
        {
            self.pending.extend_from_slice(first);
            let line = std::mem::take(&mut self.pending);
            self.inner.write_all(&self.redactor.bytes(&line))?;
        }
        for line in lines {
            self.inner.write_all(&self.redactor.bytes(line))?;
        }
        self.pending.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // Held bytes are not a whole line yet; they go out with `finish`.
        self.inner.flush()
    }
}

/// `text` with every line that would read as a GitHub Actions workflow
/// command (`::error …`, `::stop-commands::…`; the runner ignores leading
/// whitespace) defused by a `| ` before its `::`. Console text echoes what
/// servers and clients printed, which must not steer the CI job.
pub fn workflow_commands(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_start();
        if body.starts_with("::") {
            out.push_str(&line[..line.len() - body.len()]);
            out.push_str("| ");
            out.push_str(body);
        } else {
            out.push_str(line);
        }
    }
    out
}

/// The forms a secret can take in what conform writes.
fn forms(secret: &str) -> Vec<String> {
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json
        .strip_prefix('"')
        .and_then(|j| j.strip_suffix('"'))
        .unwrap_or(secret);
    let html = secret
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    vec![
        secret.to_string(),
        secret.trim().to_string(),
        json.to_string(),
        html,
    ]
}

/// A text with its JSON string escapes decoded, and for every byte of the
/// decoded text the span of the original it came from, so a secret found
/// in the decoded text is masked where it was written.
struct DecodedView {
    bytes: Vec<u8>,
    start: Vec<usize>,
    end: Vec<usize>,
}

impl DecodedView {
    fn new(s: &str) -> DecodedView {
        let raw = s.as_bytes();
        let mut view = DecodedView {
            bytes: Vec::with_capacity(raw.len()),
            start: Vec::with_capacity(raw.len()),
            end: Vec::with_capacity(raw.len()),
        };
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'\\'
                && let Some((c, len)) = escape_at(&s[i..])
            {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    view.push(b, i, i + len);
                }
                i += len;
            } else {
                view.push(raw[i], i, i + 1);
                i += 1;
            }
        }
        view
    }

    fn push(&mut self, b: u8, start: usize, end: usize) {
        self.bytes.push(b);
        self.start.push(start);
        self.end.push(end);
    }
}

/// The JSON escape at the start of `s` (which starts with a backslash):
/// the character and how many bytes the escape takes.
fn escape_at(s: &str) -> Option<(char, usize)> {
    let b = s.as_bytes();
    let simple = match *b.get(1)? {
        b'/' => Some('/'),
        b'\\' => Some('\\'),
        b'"' => Some('"'),
        b'n' => Some('\n'),
        b't' => Some('\t'),
        b'r' => Some('\r'),
        b'u' => None,
        _ => return None,
    };
    if let Some(c) = simple {
        return Some((c, 2));
    }
    let unit = |at: usize| {
        s.get(at..at + 4)
            .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
    };
    let first = unit(2)?;
    if (0xD800..0xDC00).contains(&first) {
        // A surrogate pair: `\uD83D\uDE00`.
        if s.get(6..8) == Some("\\u") {
            let second = unit(8)?;
            let c = 0x10000 + ((first - 0xD800) << 10) + (second.checked_sub(0xDC00)?);
            return char::from_u32(c).map(|c| (c, 12));
        }
        return None;
    }
    char::from_u32(first).map(|c| (c, 6))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn redactor() -> Redactor {
        Redactor::new(["isk_r_secret_token_123".to_string()])
    }

    #[test]
    fn the_writer_masks_line_by_line_as_the_whole_text_is_masked() {
        use std::io::Write as _;
        let text = "a isk_r_secret_token_123 b\nisk_r_secret_token_123\n\
                    cut isk_r_secret_to…\n{\"t\":\"isk_r_secret_t\\u006fken_123\"}\n\
                    two\nlines_secret and end isk_r_secret_token_123";
        for r in [
            redactor(),
            Redactor::new(["  isk_r_secret_token_123\n".to_string()]),
            // A secret with a line break inside: masked whole, not by line.
            Redactor::new(["two\nlines_secret".to_string()]),
            Redactor::default(),
        ] {
            for chunk in [1, 2, 5, 17, 4096] {
                let mut w = r.writer(Vec::new());
                for part in text.as_bytes().chunks(chunk) {
                    w.write_all(part).expect("write to a Vec");
                }
                let written = w.finish().expect("finish into a Vec");
                assert_eq!(
                    String::from_utf8_lossy(&written),
                    String::from_utf8_lossy(&r.bytes(text.as_bytes())),
                    "chunks of {chunk}"
                );
            }
        }
        assert!(
            !redactor()
                .bytes(text.as_bytes())
                .windows(6)
                .any(|w| w == b"isk_r_")
        );
    }

    #[test]
    fn text_masks_every_occurrence() {
        let r = redactor();
        assert_eq!(
            r.text("a isk_r_secret_token_123 b isk_r_secret_token_123"),
            "a *** b ***"
        );
        assert_eq!(r.text("nothing here"), "nothing here");
    }

    #[test]
    fn short_and_empty_secrets_are_ignored() {
        let r = Redactor::new(["".to_string(), "abc".to_string()]);
        assert!(r.is_empty());
        assert_eq!(r.text("abc"), "abc");
        assert_eq!(Redactor::new(["abcd".to_string()]).text("xabcdx"), "x***x");
    }

    #[test]
    fn longer_secret_wins_over_its_prefix() {
        let r = Redactor::new(["token".to_string(), "token_long_secret".to_string()]);
        assert_eq!(r.text("token_long_secret"), "***");
        assert_eq!(r.text("token"), "***");
    }

    #[test]
    fn authorization_keeps_its_scheme() {
        let r = Redactor::default();
        assert_eq!(
            r.header("Authorization", "Bearer unknown_token"),
            "Bearer ***"
        );
        assert_eq!(r.header("authorization", "Basic dXNlcjpwYXNz"), "Basic ***");
        assert_eq!(r.header("AUTHORIZATION", "rawtoken"), "***");
    }

    #[test]
    fn cookie_headers_are_masked_whole() {
        let r = Redactor::default();
        assert_eq!(r.header("Cookie", "session=abc; theme=dark"), "***");
        assert_eq!(r.header("set-cookie", "session=abc; HttpOnly"), "***");
        assert_eq!(r.header("Proxy-Authorization", "Basic abc"), "***");
    }

    #[test]
    fn other_headers_mask_known_secrets_only() {
        let r = redactor();
        assert_eq!(r.header("X-Debug", "isk_r_secret_token_123"), "***");
        assert_eq!(r.header("Accept", "application/json"), "application/json");
    }

    #[test]
    fn learned_credentials_are_masked_in_text() {
        let mut r = Redactor::default();
        r.learn_header("Authorization", "Bearer isk_r_secret_token_123");
        r.learn_header("Cookie", "session=s3ss10n_value; theme=dark");
        assert_eq!(
            r.text("echo isk_r_secret_token_123 and s3ss10n_value"),
            "echo *** and ***"
        );
        // Scheme words and short cookie values are not learned.
        assert_eq!(r.text("Bearer session dark"), "Bearer session dark");
    }

    #[test]
    fn trimmed_and_untrimmed_forms_are_masked() {
        let r = Redactor::new(["  isk_r_secret_token_123\n".to_string()]);
        assert_eq!(r.text("echo isk_r_secret_token_123!"), "echo ***!");
    }

    #[test]
    fn json_escaped_forms_are_masked() {
        let r = Redactor::new(["isk_r/secret_token_123".to_string()]);
        assert_eq!(
            r.text(r#"{"t":"isk_r\/secret_token_123"}"#),
            r#"{"t":"***"}"#
        );
        assert_eq!(r.text(r#"x \u0069sk_r/secret_tok\u0065n_123 y"#), "x *** y");
        // A backslash that is not an escape is kept.
        assert_eq!(r.text(r"a\qb"), r"a\qb");
    }

    #[test]
    fn a_prefix_cut_by_an_ellipsis_is_masked() {
        let r = redactor();
        assert_eq!(r.text("token isk_r_secret_to…"), "token ***…");
        assert_eq!(r.text("ok…"), "ok…");
        let r = Redactor::new(["isk_r/secret_token_123".to_string()]);
        assert_eq!(r.text(r"x isk_r\/secr…"), "x ***…");
    }

    #[test]
    fn workflow_commands_are_defused() {
        assert_eq!(
            workflow_commands("ok\n    ::error title=x::boom\n::stop-commands::t\na :: b"),
            "ok\n    | ::error title=x::boom\n| ::stop-commands::t\na :: b"
        );
    }

    #[test]
    fn json_masks_strings_and_keeps_keys() {
        let r = redactor();
        let v = json!({
            "api_key": "isk_r_secret_token_123",
            "nested": [{"token": "Bearer isk_r_secret_token_123"}, 7, null, true],
        });
        assert_eq!(
            r.json(&v),
            json!({
                "api_key": "***",
                "nested": [{"token": "Bearer ***"}, 7, null, true],
            })
        );
    }
}
