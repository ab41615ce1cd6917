//! Bounded retention for a long-running mock: each kind of record keeps
//! its most recent `cap` entries and forgets the oldest, so `conform mock`
//! serves in constant memory however long it runs. The mock's ids are
//! sequential (`quote_000042`), so a forgotten record is told apart from
//! one that never existed by its number alone, without remembering it.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// Records kept of each kind unless `conform mock --retain` says otherwise:
/// far more than a suite run makes, and few enough that the window is
/// full, and memory flat, after the first 10,000 checkout flows (at 10,000
/// the hash tables were still growing once more after filling).
pub const DEFAULT_RETAIN: usize = 5_000;

/// Records whose ids are `{prefix}{n:06}`, the most recent `cap` of them.
#[derive(Debug)]
pub(crate) struct Retained<T> {
    prefix: &'static str,
    cap: usize,
    /// Ascending by number; ids are issued in order, so inserts append.
    records: VecDeque<(u64, T)>,
    /// Every number up to this one is forgotten (0: none yet).
    evicted_through: u64,
    /// How many were ever inserted, retained or not.
    inserted: u64,
}

impl<T> Retained<T> {
    pub(crate) fn new(prefix: &'static str, cap: usize) -> Retained<T> {
        Retained {
            prefix,
            cap: cap.max(1),
            records: VecDeque::new(),
            evicted_through: 0,
            inserted: 0,
        }
    }

    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    pub(crate) fn set_cap(&mut self, cap: usize) {
        self.cap = cap.max(1);
        while self.records.len() > self.cap {
            self.evict_oldest();
        }
    }

    /// The number of an id in this store's canonical form, `None` for
    /// anything else (`quote_1`, `quote_0000001`, `job_000001`).
    fn number(&self, id: &str) -> Option<u64> {
        let digits = id.strip_prefix(self.prefix)?;
        let canonical = digits.bytes().all(|b| b.is_ascii_digit())
            && (digits.len() == 6 || (digits.len() > 6 && !digits.starts_with('0')));
        canonical.then(|| digits.parse().ok()).flatten()
    }

    fn position(&self, n: u64) -> Result<usize, usize> {
        self.records.binary_search_by_key(&n, |(k, _)| *k)
    }

    pub(crate) fn get(&self, id: &str) -> Option<&T> {
        let n = self.number(id)?;
        self.position(n).ok().map(|i| &self.records[i].1)
    }

    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        let n = self.number(id)?;
        self.position(n).ok().map(|i| &mut self.records[i].1)
    }

    /// Whether `id` names a record this store held and has forgotten.
    pub(crate) fn evicted(&self, id: &str) -> bool {
        self.number(id)
            .is_some_and(|n| n <= self.evicted_through && self.position(n).is_err())
    }

    /// Whether any record has been forgotten yet.
    pub(crate) fn evicted_any(&self) -> bool {
        self.evicted_through > 0
    }

    /// Keeps `value` under `id` (one the mock issued) and returns what
    /// that pushed out, oldest first, for the caller to unlink.
    pub(crate) fn insert(&mut self, id: impl AsRef<str>, value: T) -> Vec<T> {
        let Some(n) = self.number(id.as_ref()) else {
            // Ids come from the mock's own counters; a foreign one is
            // not kept rather than kept where no lookup finds it.
            return Vec::new();
        };
        self.inserted += 1;
        match self.position(n) {
            Ok(i) => self.records[i].1 = value,
            Err(i) => self.records.insert(i, (n, value)),
        }
        let mut evicted = Vec::new();
        while self.records.len() > self.cap {
            evicted.extend(self.evict_oldest());
        }
        evicted
    }

    fn evict_oldest(&mut self) -> Option<T> {
        let (n, value) = self.records.pop_front()?;
        self.evicted_through = self.evicted_through.max(n);
        Some(value)
    }

    /// Retained records, oldest first.
    pub(crate) fn values(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.records.iter().map(|(_, v)| v)
    }

    /// Records retained now.
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// Records ever inserted, the forgotten ones included.
    pub(crate) fn inserted(&self) -> u64 {
        self.inserted
    }
}

/// Idempotency keys → the id of the record each created, the most recent
/// `cap` keys kept. A key is honoured while its record is retained; once
/// both are forgotten the key is new again (as a server that expires keys).
#[derive(Debug)]
pub(crate) struct Keys {
    cap: usize,
    ids: HashMap<Arc<str>, Box<str>>,
    order: VecDeque<Arc<str>>,
}

impl Keys {
    pub(crate) fn new(cap: usize) -> Keys {
        Keys {
            cap: cap.max(1),
            ids: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    pub(crate) fn set_cap(&mut self, cap: usize) {
        self.cap = cap.max(1);
        self.trim();
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.ids.get(key).map(|id| &**id)
    }

    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.ids.contains_key(key)
    }

    pub(crate) fn insert(&mut self, key: String, id: String) {
        let key: Arc<str> = key.into();
        if self
            .ids
            .insert(Arc::clone(&key), id.into_boxed_str())
            .is_none()
        {
            self.order.push_back(key);
        }
        self.trim();
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    fn trim(&mut self) {
        while self.ids.len() > self.cap {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.ids.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_most_recent_and_knows_what_it_forgot() {
        let mut quotes = Retained::new("quote_", 2);
        for n in 1..=5 {
            quotes.insert(format!("quote_{n:06}"), n);
        }
        assert_eq!(quotes.len(), 2);
        assert_eq!(quotes.inserted(), 5);
        assert_eq!(quotes.get("quote_000005"), Some(&5));
        assert_eq!(quotes.get("quote_000004"), Some(&4));
        assert_eq!(quotes.get("quote_000003"), None);
        assert!(quotes.evicted("quote_000001"));
        assert!(quotes.evicted("quote_000003"));
        // Retained, never issued, or not this store's form: not evicted.
        assert!(!quotes.evicted("quote_000004"));
        assert!(!quotes.evicted("quote_000009"));
        assert!(!quotes.evicted("quote_1"));
        assert!(!quotes.evicted("job_000001"));
    }

    #[test]
    fn ids_past_six_digits_stay_canonical() {
        let mut jobs = Retained::new("job_", 3);
        jobs.insert("job_1234567", 'a');
        assert_eq!(jobs.get("job_1234567"), Some(&'a'));
        assert_eq!(jobs.get("job_01234567"), None);
        assert_eq!(jobs.get("job_+123456"), None);
    }

    #[test]
    fn keys_are_bounded_oldest_first() {
        let mut keys = Keys::new(2);
        keys.insert("a".into(), "quote_000001".into());
        keys.insert("b".into(), "quote_000002".into());
        keys.insert("a".into(), "quote_000001".into());
        keys.insert("c".into(), "quote_000003".into());
        assert_eq!(keys.len(), 2);
        assert_eq!(keys.get("a"), None);
        assert_eq!(keys.get("c"), Some("quote_000003"));
    }
}
