//! Keeps secrets (API tokens, cookies) out of everything conform prints or
//! writes. The runner redacts request headers as it records them; reporters
//! pass all text through here again, so a slip in one place does not leak.

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
        if secret.chars().count() < MIN_SECRET_LEN || self.secrets.contains(&secret) {
            return;
        }
        self.secrets.push(secret);
        self.secrets
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    }

    /// Learns the credential inside a request or response header, so the
    /// same value is masked wherever else it shows up (a body echoing the
    /// token, an error message quoting it).
    pub fn learn_header(&mut self, name: &str, value: &str) {
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

    /// `s` with every secret replaced by [`MASK`].
    pub fn text(&self, s: &str) -> String {
        let mut out = s.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        out
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn redactor() -> Redactor {
        Redactor::new(["isk_r_secret_token_123".to_string()])
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
