//! What the reference mock remembers between requests: agents and their
//! tokens, quotes, checkout attempts, receipts, the credit balance, jobs,
//! assets, the activity ledger and every response it served.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

use crate::hash::{fnv1a, splitmix64};

use super::Served;
pub(crate) use super::version::Pack;
use super::version::Version;

pub(crate) const ACTOR_ID: &str = "agt_mock_000001";
pub(crate) const ORGANIZATION_ID: &str = "org_mock_000001";
/// The mock's clock starts here and ticks one second per recorded event,
/// so timestamps are reproducible (2026-05-05T19:00:00Z).
const CLOCK_START_UNIX: u64 = 1_778_007_600;

/// An authenticated caller: the mock's own agent or one made by signup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Agent {
    pub actor_id: String,
    pub organization_id: String,
}

/// A signup identity, found again by its contact and name on rotation.
#[derive(Debug, Clone)]
pub(crate) struct Signup {
    pub agent: Agent,
    pub token: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub id: String,
    pub organization_id: String,
    pub operation: &'static str,
    pub capability_id: String,
    pub trace_id: String,
    pub created_at: String,
    pub completed_at: String,
    /// `cost` as the operation reported it.
    pub cost: Value,
    pub asset_ids: Vec<String>,
    pub input_asset_id: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Asset {
    pub id: String,
    pub job_id: String,
    pub organization_id: String,
    /// `generated` or `uploaded`.
    pub kind: &'static str,
    pub url: String,
    pub mime_type: String,
    pub content_length: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// One activity ledger entry, already in its public JSON shape.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub organization_id: String,
    pub json: Value,
}

/// The terms a quote idempotency key is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QuoteTerms {
    pub credits: u64,
    pub pack: Option<Pack>,
    /// The rail (`payment_rails.rails` entry) the quote accepts.
    pub method: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Quote {
    pub id: String,
    pub terms: QuoteTerms,
    pub idempotency_key: Option<String>,
    /// Checkout attempts in creation order; the last one is current.
    pub attempt_ids: Vec<String>,
    pub receipt_id: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    pub id: String,
    pub quote_id: String,
    /// `stripe_checkout`, or `stripe_x402.exact.usdc` for a deposit
    /// attempt (which has no session and no URL: both empty).
    pub rail: String,
    pub session_id: String,
    /// The full Stripe URL, fragment included; `/pay/<id>` redirects here.
    pub checkout_url: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Receipt {
    pub id: String,
    pub quote_id: String,
    pub credit_event_id: String,
    pub credits: u64,
    pub idempotency_key: String,
    pub balance_after: u64,
}

#[derive(Debug, Default)]
struct Counters {
    trace: u64,
    quote: u64,
    attempt: u64,
    session: u64,
    receipt: u64,
    credit_event: u64,
    agent: u64,
    signup_token: u64,
    job: u64,
    asset: u64,
    event: u64,
    usage: u64,
    clock: u64,
}

#[derive(Debug)]
pub(crate) struct State {
    pub base_url: String,
    pub token: String,
    /// What the served contract version documents: rails, seed, shapes.
    pub version: Arc<Version>,
    /// Actor id → the contact `claim request` attached.
    pub claims: HashMap<String, String>,
    counters: Counters,
    pub quotes: BTreeMap<String, Quote>,
    pub quote_keys: HashMap<String, String>,
    pub attempts: BTreeMap<String, Attempt>,
    pub attempt_keys: HashMap<String, String>,
    pub receipts: BTreeMap<String, Receipt>,
    pub purchase_keys: HashMap<String, String>,
    /// Payment-backed credits granted so far.
    pub balance: u64,
    /// Free-preview credits debited by creative operations so far.
    pub free_preview_used: u64,
    /// Create and edit jobs run so far (the mock's day never ends).
    pub jobs_run: u64,
    /// Every bearer token the mock accepts, and who it stands for.
    pub agents: HashMap<String, Agent>,
    /// `contact\nagent name` → the identity signup made for them.
    pub signups: HashMap<String, Signup>,
    pub jobs: BTreeMap<String, Job>,
    pub assets: BTreeMap<String, Asset>,
    /// The activity ledger, oldest first.
    pub events: Vec<Event>,
    pub served: Vec<Served>,
}

impl State {
    pub(crate) fn new(base_url: String, token: String, version: Arc<Version>) -> State {
        let mut agents = HashMap::new();
        agents.insert(
            token.clone(),
            Agent {
                actor_id: ACTOR_ID.to_string(),
                organization_id: ORGANIZATION_ID.to_string(),
            },
        );
        State {
            base_url,
            token,
            version,
            claims: HashMap::new(),
            counters: Counters::default(),
            quotes: BTreeMap::new(),
            quote_keys: HashMap::new(),
            attempts: BTreeMap::new(),
            attempt_keys: HashMap::new(),
            receipts: BTreeMap::new(),
            purchase_keys: HashMap::new(),
            balance: 0,
            free_preview_used: 0,
            jobs_run: 0,
            agents,
            signups: HashMap::new(),
            jobs: BTreeMap::new(),
            assets: BTreeMap::new(),
            events: Vec::new(),
            served: Vec::new(),
        }
    }

    /// Trace ids look random but follow the response count, so a
    /// single-threaded run is reproducible.
    /// Keeps an answer for `served()` when recording is on.
    pub(crate) fn record(&mut self, on: bool, served: Served) {
        if on {
            self.served.push(served);
        }
    }

    pub(crate) fn next_trace_id(&mut self) -> String {
        self.counters.trace += 1;
        format!("trace_{:016x}", splitmix64(self.counters.trace))
    }

    pub(crate) fn next_quote_id(&mut self) -> String {
        self.counters.quote += 1;
        format!("quote_{:06}", self.counters.quote)
    }

    pub(crate) fn next_attempt_id(&mut self) -> String {
        self.counters.attempt += 1;
        format!("payatt_{:06}", self.counters.attempt)
    }

    pub(crate) fn next_session_id(&mut self) -> String {
        self.counters.session += 1;
        format!("cs_test_{:06}", self.counters.session)
    }

    pub(crate) fn next_receipt_id(&mut self) -> String {
        self.counters.receipt += 1;
        format!("receipt_{:06}", self.counters.receipt)
    }

    pub(crate) fn next_credit_event_id(&mut self) -> String {
        self.counters.credit_event += 1;
        format!("credit_event_{:06}", self.counters.credit_event)
    }

    /// A fresh signup identity: ids follow the mock's own agent.
    pub(crate) fn next_agent(&mut self) -> Agent {
        self.counters.agent += 1;
        Agent {
            actor_id: format!("agt_mock_{:06}", self.counters.agent + 1),
            organization_id: format!("org_mock_{:06}", self.counters.agent + 1),
        }
    }

    /// Restricted tokens for signups: derived from the mock's own random
    /// token, so they cannot be guessed from outside yet stay unique.
    pub(crate) fn next_signup_token(&mut self) -> String {
        self.counters.signup_token += 1;
        let seed = fnv1a(self.token.as_bytes()) ^ self.counters.signup_token;
        let high = splitmix64(seed);
        let low = splitmix64(high);
        format!("isk_r_{high:016x}{low:016x}")
    }

    pub(crate) fn next_job_id(&mut self) -> String {
        self.counters.job += 1;
        format!("job_{:06}", self.counters.job)
    }

    pub(crate) fn next_asset_id(&mut self) -> String {
        self.counters.asset += 1;
        format!("image_{:06}", self.counters.asset)
    }

    pub(crate) fn next_event_id(&mut self) -> String {
        self.counters.event += 1;
        format!("evt_{:06}", self.counters.event)
    }

    pub(crate) fn next_usage_event_id(&mut self) -> String {
        self.counters.usage += 1;
        format!("usage_{:06}", self.counters.usage)
    }

    /// The mock's current time, one second later on every call.
    pub(crate) fn now(&mut self) -> String {
        self.counters.clock += 1;
        rfc3339(CLOCK_START_UNIX + self.counters.clock)
    }

    /// Where a stored asset's bytes would be served; the mock keeps
    /// metadata only, so the URL is a stable name rather than a download.
    pub(crate) fn media_url(&self, asset_id: &str, mime_type: &str) -> String {
        let extension = mime_type.strip_prefix("image/").unwrap_or("bin");
        let extension = if extension == "jpeg" {
            "jpg"
        } else {
            extension
        };
        format!("{}/media/a/{asset_id}.{extension}", self.base_url)
    }

    /// A plausible, reproducible byte length for a generated image.
    pub(crate) fn generated_length(&self, asset_id: &str) -> u64 {
        200_000 + splitmix64(fnv1a(asset_id.as_bytes())) % 300_000
    }

    pub(crate) fn handoff_url(&self, attempt_id: &str) -> String {
        format!("{}/pay/{attempt_id}", self.base_url)
    }

    pub(crate) fn attempt_by_session(&self, session_id: &str) -> Option<&Attempt> {
        self.attempts.values().find(|a| a.session_id == session_id)
    }
}

/// `YYYY-MM-DDTHH:MM:SS.000Z` for a Unix time (chrono, already in the tree
/// through quick-junit). Out of chrono's range (year > 262143) is unreachable
/// for the mock's clock; the epoch stands in rather than a panic.
fn rfc3339(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A Stripe-like Checkout URL. Real ones carry a long base64 `#fid...`
/// fragment with `%2F`/`%2B` escapes that the browser needs; reproducing
/// its shape is what lets conform notice a client that trims or decodes it.
pub(crate) fn checkout_url(session_id: &str) -> String {
    format!(
        "https://checkout.stripe.com/c/pay/{session_id}#fid{}",
        fragment_payload(session_id)
    )
}

fn fragment_payload(seed: &str) -> String {
    // A fixed lead-in that encodes to "d/+x" guarantees escapes in every
    // fragment; the rest is derived from the session id.
    let mut bytes = vec![0x77, 0xFF, 0xB1];
    let mut x = fnv1a(seed.as_bytes());
    while bytes.len() < 72 {
        x = splitmix64(x);
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(72);
    base64_standard(&bytes)
        .replace('/', "%2F")
        .replace('+', "%2B")
}

fn base64_standard(bytes: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_formats_utc_timestamps() {
        assert_eq!(rfc3339(CLOCK_START_UNIX), "2026-05-05T19:00:00.000Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(1_767_225_599), "2025-12-31T23:59:59.000Z");
    }

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64_standard(b"f"), "Zg==");
        assert_eq!(base64_standard(b"fo"), "Zm8=");
        assert_eq!(base64_standard(b"foo"), "Zm9v");
        assert_eq!(base64_standard(&[0x77, 0xFF, 0xB1]), "d/+x");
    }

    #[test]
    fn checkout_url_has_long_escaped_deterministic_fragment() {
        let url = checkout_url("cs_test_000001");
        let (_, fragment) = url.split_once('#').unwrap_or_default();
        assert!(fragment.len() >= 80, "fragment too short: {fragment}");
        assert!(fragment.starts_with("fidd%2F%2Bx"));
        assert_eq!(url, checkout_url("cs_test_000001"));
        assert_ne!(url, checkout_url("cs_test_000002"));
    }
}
