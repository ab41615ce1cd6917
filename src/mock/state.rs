//! What the reference mock remembers between requests: agents and their
//! tokens, quotes, checkout attempts, receipts, the credit balance, jobs,
//! assets, the activity ledger and (in client mode) every response it
//! served. Each kind keeps its most recent records only ([`Retained`]), in
//! typed form: ids, enums and shared strings rather than JSON values.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use crate::hash::{fnv1a, splitmix64};

use super::Served;
use super::retain::{DEFAULT_RETAIN, Keys, Retained};
pub(crate) use super::version::Pack;
use super::version::{RailKind, Version};

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

impl Agent {
    /// Agent `n` of this mock: the mock's own is 1, signups follow.
    fn numbered(n: u64) -> Agent {
        Agent {
            actor_id: format!("{ACTOR_PREFIX}{n:06}"),
            organization_id: format!("{ORGANIZATION_PREFIX}{n:06}"),
        }
    }
}

const ACTOR_PREFIX: &str = "agt_mock_";
const ORGANIZATION_PREFIX: &str = "org_mock_";
const SIGNUP_TOKEN_PREFIX: &str = "isk_r_";

/// A signup identity, found again by its contact and name on rotation.
#[derive(Debug)]
struct Signup {
    /// `contact\nagent name`.
    key: Box<str>,
    /// Its current token (see [`token_bits`]).
    token: u128,
}

/// A signup token's 128 bits: `isk_r_` and 32 lowercase hex digits, the
/// only form [`State::next_signup_token`] makes.
fn token_bits(token: &str) -> Option<u128> {
    let hex = token.strip_prefix(SIGNUP_TOKEN_PREFIX)?;
    let lower_hex = hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    lower_hex
        .then(|| u128::from_str_radix(hex, 16).ok())
        .flatten()
}

/// Every token the mock accepts and who it stands for: its own (agent 1)
/// and those of the most recent signups.
#[derive(Debug)]
pub(crate) struct Agents {
    /// Signups by actor id, oldest first.
    signups: Retained<Signup>,
    by_token: HashMap<u128, u64>,
    by_key: HashMap<Box<str>, u64>,
}

/// What a bearer token stands for.
pub(crate) enum TokenLookup {
    Agent(Agent),
    /// Made by this mock's signup but not valid now: rotated, or its agent
    /// was forgotten (only said once some were).
    Forgotten,
    Unknown,
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

/// One activity ledger entry; [`super::ledger`] renders its public shape.
#[derive(Debug)]
pub(crate) struct Event {
    /// `evt_{number:06}`.
    pub number: u64,
    /// Whose ledger it is in (empty: nobody's).
    pub organization_id: Box<str>,
    pub kind: &'static str,
    pub subject: (&'static str, Box<str>),
    pub operation: &'static str,
    pub summary: Box<str>,
    pub status: &'static str,
    /// In the order the handler gave them; names are interned.
    pub links: Box<[(Arc<str>, Link)]>,
    pub trace_id: Box<str>,
    /// The mock's clock when it was recorded (see [`State::time`]).
    pub clock: u64,
    pub estimated_usd: Option<f64>,
}

/// One value of an event's `links`.
#[derive(Debug)]
pub(crate) enum Link {
    Null,
    Id(Box<str>),
    Ids(Box<[Box<str>]>),
    /// Any other JSON, as its text; no reference lookup matches it.
    Other(Box<str>),
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
    /// A Checkout session, or a deposit (which has no session and no
    /// URL: both empty).
    pub kind: RailKind,
    pub session_id: String,
    /// The full Stripe URL, fragment included; the handoff redirects here.
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
    pub quotes: Retained<Quote>,
    pub quote_keys: Keys,
    pub attempts: Retained<Attempt>,
    pub attempt_keys: Keys,
    pub receipts: Retained<Receipt>,
    pub purchase_keys: Keys,
    /// Payment-backed credits granted so far.
    pub balance: u64,
    /// Free-preview credits debited by creative operations so far.
    pub free_preview_used: u64,
    /// Create and edit jobs run so far (the mock's day never ends).
    pub jobs_run: u64,
    agents: Agents,
    pub jobs: Retained<Job>,
    pub assets: Retained<Asset>,
    /// The activity ledger, oldest first.
    pub events: Retained<Event>,
    /// Names shared by many records (link names), one copy each.
    names: HashSet<Arc<str>>,
    pub served: Vec<Served>,
}

impl State {
    pub(crate) fn new(base_url: String, token: String, version: Arc<Version>) -> State {
        let cap = DEFAULT_RETAIN;
        State {
            base_url,
            token,
            version,
            claims: HashMap::new(),
            counters: Counters::default(),
            quotes: Retained::new("quote_", cap),
            quote_keys: Keys::new(cap),
            attempts: Retained::new("payatt_", cap),
            attempt_keys: Keys::new(cap),
            receipts: Retained::new("receipt_", cap),
            purchase_keys: Keys::new(cap),
            balance: 0,
            free_preview_used: 0,
            jobs_run: 0,
            agents: Agents {
                signups: Retained::new(ACTOR_PREFIX, cap),
                by_token: HashMap::new(),
                by_key: HashMap::new(),
            },
            jobs: Retained::new("job_", cap),
            assets: Retained::new("image_", cap),
            events: Retained::new("evt_", cap),
            names: HashSet::new(),
            served: Vec::new(),
        }
    }

    /// Keeps the most recent `cap` records of each kind from now on.
    pub(crate) fn set_retention(&mut self, cap: usize) {
        self.quotes.set_cap(cap);
        self.quote_keys.set_cap(cap);
        self.attempts.set_cap(cap);
        self.attempt_keys.set_cap(cap);
        self.receipts.set_cap(cap);
        self.purchase_keys.set_cap(cap);
        self.agents.signups.set_cap(cap);
        self.jobs.set_cap(cap);
        self.assets.set_cap(cap);
        self.events.set_cap(cap);
        // Shrinking forgets signups without unlinking them; drop the
        // links whose signup is gone.
        let signups = &self.agents.signups;
        let actor = |n: &u64| format!("{ACTOR_PREFIX}{n:06}");
        self.agents
            .by_token
            .retain(|_, n| signups.get(&actor(n)).is_some());
        self.agents
            .by_key
            .retain(|_, n| signups.get(&actor(n)).is_some());
        self.claims
            .retain(|id, _| id == ACTOR_ID || signups.get(id).is_some());
    }

    /// How many records of each kind are kept.
    pub(crate) fn retention(&self) -> usize {
        self.quotes.cap()
    }

    /// How many records of each kind are retained now.
    pub(crate) fn retained(&self) -> super::Retention {
        super::Retention {
            cap: self.retention(),
            quotes: self.quotes.len(),
            payment_attempts: self.attempts.len(),
            receipts: self.receipts.len(),
            events: self.events.len(),
            agents: self.agents.signups.len(),
            jobs: self.jobs.len(),
            assets: self.assets.len(),
            idempotency_keys: self.quote_keys.len()
                + self.attempt_keys.len()
                + self.purchase_keys.len(),
        }
    }

    /// Who `token` stands for.
    pub(crate) fn agent_for(&self, token: &str) -> TokenLookup {
        if token == self.token {
            return TokenLookup::Agent(Agent::numbered(1));
        }
        let Some(bits) = token_bits(token) else {
            return TokenLookup::Unknown;
        };
        if let Some(n) = self.agents.by_token.get(&bits) {
            return TokenLookup::Agent(Agent::numbered(*n));
        }
        // Signup tokens are `high || splitmix64(high)`: one that fits was
        // made here, without the mock remembering every token it made.
        let (high, low) = ((bits >> 64) as u64, bits as u64);
        if self.agents.signups.evicted_any() && splitmix64(high) == low {
            TokenLookup::Forgotten
        } else {
            TokenLookup::Unknown
        }
    }

    /// `POST /v1/agent-signups`: a fresh agent for a new contact and name,
    /// or a new token for the one already made (the old token stops
    /// working). Returns the agent, its token and whether it rotated.
    pub(crate) fn sign_up(&mut self, contact: &str, name: &str) -> (Agent, String, bool) {
        let key = format!("{contact}\n{name}");
        let token = self.next_signup_token();
        let bits = token_bits(&token).unwrap_or_default();
        let agents = &mut self.agents;
        if let Some(&n) = agents.by_key.get(key.as_str())
            && let Some(signup) = agents.signups.get_mut(&format!("{ACTOR_PREFIX}{n:06}"))
        {
            agents.by_token.remove(&signup.token);
            signup.token = bits;
            agents.by_token.insert(bits, n);
            return (Agent::numbered(n), token, true);
        }
        let agent = self.next_agent();
        let n = self.counters.agent + 1;
        let key: Box<str> = key.into();
        let agents = &mut self.agents;
        agents.by_key.insert(key.clone(), n);
        agents.by_token.insert(bits, n);
        let evicted = agents
            .signups
            .insert(&agent.actor_id, Signup { key, token: bits });
        for gone in evicted {
            agents.by_key.remove(&gone.key);
            if let Some(n) = agents.by_token.remove(&gone.token) {
                self.claims.remove(&format!("{ACTOR_PREFIX}{n:06}"));
            }
        }
        (agent, token, false)
    }

    /// One shared copy of a name many records carry.
    pub(crate) fn name(&mut self, name: &str) -> Arc<str> {
        // Names come from the handlers' code, so the set stays small; a
        // bound keeps it so even if that changes.
        const MAX_NAMES: usize = 256;
        if let Some(shared) = self.names.get(name) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = name.into();
        if self.names.len() < MAX_NAMES {
            self.names.insert(Arc::clone(&shared));
        }
        shared
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
    fn next_agent(&mut self) -> Agent {
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

    /// The next ledger event's number; [`State::event_id`] names it.
    pub(crate) fn next_event(&mut self) -> u64 {
        self.counters.event += 1;
        self.counters.event
    }

    pub(crate) fn event_id(number: u64) -> String {
        format!("evt_{number:06}")
    }

    pub(crate) fn next_usage_event_id(&mut self) -> String {
        self.counters.usage += 1;
        format!("usage_{:06}", self.counters.usage)
    }

    /// The mock's current time, one second later on every call.
    pub(crate) fn now(&mut self) -> String {
        let tick = self.tick();
        State::time(tick)
    }

    /// [`State::now`] as a number of ticks, for records that keep it.
    pub(crate) fn tick(&mut self) -> u64 {
        self.counters.clock += 1;
        self.counters.clock
    }

    pub(crate) fn time(tick: u64) -> String {
        rfc3339(CLOCK_START_UNIX + tick)
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

    pub(crate) fn attempt_by_session(&self, session_id: &str) -> Option<&Attempt> {
        self.attempts.values().find(|a| a.session_id == session_id)
    }

    /// Whether `session_id` is a Checkout session this mock made whose
    /// attempt it has forgotten (sessions live in their attempts).
    pub(crate) fn session_evicted(&self, session_id: &str) -> bool {
        let made = session_id
            .strip_prefix("cs_test_")
            .and_then(|digits| digits.parse::<u64>().ok())
            .is_some_and(|n| {
                (1..=self.counters.session).contains(&n) && format!("cs_test_{n:06}") == session_id
            });
        made && self.attempts.evicted_any() && self.attempt_by_session(session_id).is_none()
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
