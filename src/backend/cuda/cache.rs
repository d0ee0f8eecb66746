//! The programs an engine has lowered, one per set of input shapes (and small integer input
//! values), held to a fixed number: inserting past it drops the least recently used one. Without
//! a bound, a server that sees ever new shapes would keep every program's device constants and
//! prepared GEMMs for the engine's lifetime.

use std::collections::HashMap;
use std::hash::Hash;

/// Programs an engine keeps.
pub const MAX_PROGRAMS: usize = 64;

/// A map of at most `cap` entries, least recently used out first. A linear scan finds it: the
/// map is small and a lookup that misses lowers a whole program anyway.
pub struct Lru<K, V> {
    cap: usize,
    tick: u64,
    map: HashMap<K, (V, u64)>,
}

impl<K: Hash + Eq + Clone, V> Lru<K, V> {
    pub fn new(cap: usize) -> Lru<K, V> {
        Lru {
            cap: cap.max(1),
            tick: 0,
            map: HashMap::new(),
        }
    }

    pub fn get(&mut self, k: &K) -> Option<&V> {
        self.tick += 1;
        let tick = self.tick;
        self.map.get_mut(k).map(|(v, used)| {
            *used = tick;
            &*v
        })
    }

    pub fn insert(&mut self, k: K, v: V) {
        self.tick += 1;
        if !self.map.contains_key(&k) && self.map.len() >= self.cap {
            let oldest = self
                .map
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            if let Some(old) = oldest {
                self.map.remove(&old);
            }
        }
        self.map.insert(k, (v, self.tick));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::Lru;

    #[test]
    fn drops_the_least_recently_used() {
        let mut c = Lru::new(2);
        c.insert("a", 1);
        c.insert("b", 2);
        assert_eq!(c.get(&"a"), Some(&1));
        c.insert("c", 3);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get(&"b"), None, "b was used least recently");
        assert_eq!(c.get(&"a"), Some(&1));
        assert_eq!(c.get(&"c"), Some(&3));
        c.insert("c", 4);
        assert_eq!((c.len(), c.get(&"c")), (2, Some(&4)));
    }
}
