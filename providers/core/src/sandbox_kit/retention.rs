//! What a simulator keeps, and the caps that keep a long-running sandbox's memory bounded:
//! its records ([`Retention`], the oldest settled go first), its logs ([`BoundedLog`]) and
//! its sets of seen values ([`BoundedSet`]).

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;

/// How many refunds a simulator retains by default (`max_refunds`): about 110 MB at the
/// ≈ 1.1 KB a refund costs with its indexes, for a sandbox that runs for days.
pub const DEFAULT_MAX_REFUNDS: usize = 100_000;

/// The insertion order of a simulator's records and the cap on how many it keeps: beyond
/// `cap`, the oldest *settled* records go first. An unsettled record is never evicted (a
/// client may still ask about it, and its webhook is still to come), so the records kept
/// exceed the cap only by unsettled ones.
#[derive(Debug, Clone)]
pub struct Retention<K> {
    order: VecDeque<K>,
    cap: usize,
}

impl<K> Retention<K> {
    /// Keeps at most `cap` records (at least one).
    pub fn new(cap: usize) -> Self {
        Self {
            order: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// How many records are retained.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Records a new record, the newest.
    pub fn push(&mut self, key: K) {
        self.order.push_back(key);
    }

    /// The retained records, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &K> {
        self.order.iter()
    }

    /// The records to evict now, oldest first, so that at most `cap` remain: the oldest ones
    /// `settled` says may go. The caller removes them from its maps.
    pub fn evict(&mut self, mut settled: impl FnMut(&K) -> bool) -> Vec<K> {
        let mut evicted = Vec::new();
        let mut from = 0;
        while self.order.len() > self.cap {
            let Some(offset) = self.order.iter().skip(from).position(&mut settled) else {
                break;
            };
            from += offset;
            if let Some(key) = self.order.remove(from) {
                evicted.push(key);
            }
        }
        evicted
    }
}

/// A log (webhook deliveries, seen envelope ids) that keeps its newest `cap` entries.
#[derive(Debug, Clone)]
pub struct BoundedLog<T> {
    entries: VecDeque<T>,
    cap: usize,
}

impl<T> BoundedLog<T> {
    pub fn new(cap: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// Appends `entry`, dropping the oldest one beyond the cap.
    pub fn push(&mut self, entry: T) {
        if self.entries.len() >= self.cap {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.entries.iter()
    }
}

/// A set of seen values (replay protection) that remembers its newest `cap` values.
#[derive(Debug, Clone)]
pub struct BoundedSet<T> {
    seen: HashSet<T>,
    order: VecDeque<T>,
    cap: usize,
}

impl<T: Hash + Eq + Clone> BoundedSet<T> {
    pub fn new(cap: usize) -> Self {
        Self {
            seen: HashSet::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// Remembers `value`; false when it is already remembered. The oldest value is
    /// forgotten beyond the cap.
    pub fn insert(&mut self, value: T) -> bool {
        if self.seen.contains(&value) {
            return false;
        }
        if self.order.len() >= self.cap {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        self.seen.insert(value.clone());
        self.order.push_back(value);
        true
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounded_set_refuses_a_repeat_and_forgets_its_oldest_beyond_the_cap() {
        let mut seen = BoundedSet::new(2);
        assert!(seen.insert("a"));
        assert!(!seen.insert("a"));
        assert!(seen.insert("b"));
        assert!(seen.insert("c"));
        assert_eq!(seen.len(), 2);
        assert!(seen.insert("a"), "forgotten beyond the cap");
        assert!(!seen.insert("c"));
    }

    #[test]
    fn retention_evicts_the_oldest_settled_records_beyond_the_cap() {
        let mut kept = Retention::new(3);
        for key in 1..=5 {
            kept.push(key);
        }
        // 1 and 3 are unsettled: 2 and 4 go, the cap holds with 1 and 3 kept.
        let evicted = kept.evict(|key| *key % 2 == 0);
        assert_eq!(evicted, [2, 4]);
        assert_eq!(kept.len(), 3);
        let evicted_again = kept.evict(|_| true);
        assert!(evicted_again.is_empty());
    }

    #[test]
    fn retention_never_evicts_an_unsettled_record_even_over_the_cap() {
        let mut kept = Retention::new(2);
        for key in 1..=4 {
            kept.push(key);
        }
        let evicted = kept.evict(|key| *key == 4);
        assert_eq!(evicted, [4]);
        assert_eq!(kept.len(), 3, "1, 2 and 3 are unsettled and stay");
    }

    #[test]
    fn a_bounded_log_keeps_its_newest_entries() {
        let mut log = BoundedLog::new(2);
        for entry in ["a", "b", "c"] {
            log.push(entry);
        }
        assert_eq!(log.iter().copied().collect::<Vec<_>>(), ["b", "c"]);
    }
}
