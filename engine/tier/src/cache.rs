//! A byte-bounded LRU cache of what remote reads fetched: `.idx` objects and fixed-size chunks of `.log`
//! objects. Sequential consumers read a chunk once and hit it for every batch in it; the bound keeps a catch-up
//! read of a year of data from growing the process. In memory only (a restart starts cold).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use bytes::Bytes;

/// What is cached: an object's index, or chunk `n` of its log bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum CacheKey {
    Index(String),
    Chunk(String, u64),
}

impl CacheKey {
    fn object(&self) -> &str {
        match self {
            CacheKey::Index(k) | CacheKey::Chunk(k, _) => k,
        }
    }
}

#[derive(Default)]
struct Lru {
    map: HashMap<CacheKey, (Bytes, u64)>,
    /// Use tick → key, oldest first.
    order: BTreeMap<u64, CacheKey>,
    tick: u64,
    bytes: usize,
}

pub(crate) struct ChunkCache {
    limit: usize,
    inner: Mutex<Lru>,
}

impl ChunkCache {
    pub(crate) fn new(limit: usize) -> Self {
        ChunkCache {
            limit,
            inner: Mutex::new(Lru::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        // A panic while holding the lock leaves a consistent map (every update is a few map operations).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn get(&self, key: &CacheKey) -> Option<Bytes> {
        let mut l = self.lock();
        l.tick += 1;
        let tick = l.tick;
        let (bytes, old) = {
            let (b, t) = l.map.get_mut(key)?;
            (b.clone(), std::mem::replace(t, tick))
        };
        l.order.remove(&old);
        l.order.insert(tick, key.clone());
        metrics::counter!("strait_tier_cache_hits_total").increment(1);
        Some(bytes)
    }

    /// Adds `value`, evicting the least recently used entries to stay within the limit (a value larger than the
    /// whole limit is not kept).
    pub(crate) fn put(&self, key: CacheKey, value: Bytes) {
        if value.len() > self.limit {
            return;
        }
        let mut l = self.lock();
        l.tick += 1;
        let tick = l.tick;
        let len = value.len();
        if let Some((old, t)) = l.map.insert(key.clone(), (value, tick)) {
            l.bytes -= old.len();
            l.order.remove(&t);
        }
        l.order.insert(tick, key);
        l.bytes += len;
        while l.bytes > self.limit {
            let Some((_, victim)) = l.order.pop_first() else {
                break;
            };
            if let Some((b, _)) = l.map.remove(&victim) {
                l.bytes -= b.len();
            }
        }
        metrics::gauge!("strait_tier_cache_bytes").set(l.bytes as f64);
    }

    /// Drops everything cached of `object` (its segment was deleted).
    pub(crate) fn forget(&self, object: &str) {
        let mut l = self.lock();
        let gone: Vec<(CacheKey, u64)> = l
            .map
            .iter()
            .filter(|(k, _)| k.object() == object)
            .map(|(k, (_, t))| (k.clone(), *t))
            .collect();
        for (k, t) in gone {
            if let Some((b, _)) = l.map.remove(&k) {
                l.bytes -= b.len();
            }
            l.order.remove(&t);
        }
        metrics::gauge!("strait_tier_cache_bytes").set(l.bytes as f64);
    }

    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(n: u64) -> CacheKey {
        CacheKey::Chunk("o".into(), n)
    }

    #[test]
    fn evicts_least_recently_used_within_the_byte_limit() {
        let c = ChunkCache::new(300);
        c.put(chunk(0), Bytes::from(vec![0; 100]));
        c.put(chunk(1), Bytes::from(vec![1; 100]));
        c.put(chunk(2), Bytes::from(vec![2; 100]));
        assert!(c.get(&chunk(0)).is_some(), "touch 0 so 1 is the oldest");
        c.put(chunk(3), Bytes::from(vec![3; 100]));
        assert_eq!(c.bytes(), 300);
        assert!(c.get(&chunk(1)).is_none());
        assert!(c.get(&chunk(0)).is_some());
        assert!(c.get(&chunk(3)).is_some());
        c.put(chunk(9), Bytes::from(vec![9; 301]));
        assert!(c.get(&chunk(9)).is_none(), "larger than the cache");
        c.forget("o");
        assert_eq!(c.bytes(), 0);
        assert!(c.get(&chunk(0)).is_none());
    }
}
