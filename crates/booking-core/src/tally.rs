//! [`Tally`]: how many of something each key holds (open streams per API
//! key, requests in flight per tenant), each under a cap. The caller keeps
//! it behind its own lock and gives back what it took.

use std::collections::HashMap;
use std::hash::Hash;

/// Counts per key; keys holding nothing take no room.
#[derive(Debug)]
pub struct Tally<K> {
    counts: HashMap<K, usize>,
}

impl<K> Default for Tally<K> {
    fn default() -> Self {
        Self {
            counts: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq> Tally<K> {
    /// How many `key` holds.
    #[must_use]
    pub fn count(&self, key: &K) -> usize {
        self.counts.get(key).copied().unwrap_or(0)
    }

    /// One more for `key`, unless it holds `max` already.
    ///
    /// # Errors
    /// How many it holds, when that is the cap.
    pub fn take(&mut self, key: K, max: usize) -> Result<(), usize> {
        let held = self.count(&key);
        if held >= max {
            return Err(held);
        }
        *self.counts.entry(key).or_default() += 1;
        Ok(())
    }

    /// One less for `key`.
    pub fn give_back(&mut self, key: &K) {
        if let Some(n) = self.counts.get_mut(key) {
            *n -= 1;
            if *n == 0 {
                self.counts.remove(key);
            }
        }
    }

    /// Keys holding something.
    #[must_use]
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Whether no key holds anything.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_takes_up_to_its_cap_and_gives_back_to_nothing() {
        let mut t = Tally::default();
        assert_eq!(t.take("a", 2), Ok(()));
        assert_eq!(t.take("a", 2), Ok(()));
        assert_eq!(t.take("a", 2), Err(2));
        assert_eq!(t.take("b", 2), Ok(()), "each key its own");
        assert_eq!(t.take("c", 0), Err(0));
        assert_eq!(t.len(), 2, "a refused key holds no room");
        t.give_back(&"a");
        assert_eq!(t.count(&"a"), 1);
        t.give_back(&"a");
        t.give_back(&"b");
        assert!(t.is_empty());
    }
}
