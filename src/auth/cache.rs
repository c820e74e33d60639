//! What a replica keeps of a tenant's credentials (verified API keys, signed-in users), so
//! that requests do not read them: an entry is trusted for a while, and a change to the
//! tenant's credentials forgets all of the tenant's entries at once.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use uuid::Uuid;

pub struct TenantCache<K, V> {
    entries: Mutex<Entries<K, V>>,
    /// How long an entry is trusted without a change being heard of (a notice may be lost).
    ttl: Duration,
}

struct Entries<K, V> {
    by_key: HashMap<K, Entry<V>>,
    /// Bumped by every invalidation under the same lock, so that a read that began before one
    /// is not stored after it.
    generation: u64,
}

struct Entry<V> {
    tenant_id: Uuid,
    value: V,
    read_at: Instant,
}

/// Where a read that missed the cache may store what it read (see [`TenantCache::keep`]).
#[derive(Clone, Copy)]
pub struct Generation(u64);

impl<K: Eq + Hash, V: Clone> TenantCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        Self {
            entries: Mutex::new(Entries {
                by_key: HashMap::new(),
                generation: 0,
            }),
            ttl,
        }
    }

    /// The tenant and value kept for `key` if they were read within the TTL; otherwise the
    /// generation under which to keep what the caller reads instead.
    pub fn fresh(&self, key: &K) -> Result<(Uuid, V), Generation> {
        let entries = self.lock();
        match entries.by_key.get(key) {
            Some(entry) if entry.read_at.elapsed() < self.ttl => {
                Ok((entry.tenant_id, entry.value.clone()))
            }
            _ => Err(Generation(entries.generation)),
        }
    }

    /// Keeps what was read, unless the tenant's entries were forgotten since the read began.
    pub fn keep(&self, key: K, tenant_id: Uuid, value: V, read_in: Generation) {
        let mut entries = self.lock();
        if entries.generation == read_in.0 {
            let read_at = Instant::now();
            let entry = Entry {
                tenant_id,
                value,
                read_at,
            };
            entries.by_key.insert(key, entry);
        }
    }

    /// Reads `key` again next time (a check that must see the database as it is now).
    pub fn forget(&self, key: &K) {
        let mut entries = self.lock();
        entries.generation = entries.generation.wrapping_add(1);
        entries.by_key.remove(key);
    }

    /// The tenant's credentials changed: read them again next time.
    pub fn invalidate(&self, tenant_id: Uuid) {
        let mut entries = self.lock();
        entries.generation = entries.generation.wrapping_add(1);
        entries
            .by_key
            .retain(|_, entry| entry.tenant_id != tenant_id);
    }

    /// Notices may have been lost: read everything again.
    pub fn invalidate_all(&self) {
        let mut entries = self.lock();
        entries.generation = entries.generation.wrapping_add(1);
        entries.by_key.clear();
    }

    fn lock(&self) -> MutexGuard<'_, Entries<K, V>> {
        // A panic while holding the lock cannot leave the map half-written: use it as it is.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenants_change_forgets_its_entries_and_a_read_begun_before_it() {
        let cache = TenantCache::new(Duration::from_secs(60));
        let (acme, globex) = (Uuid::now_v7(), Uuid::now_v7());
        for (key, tenant) in [("a", acme), ("g", globex)] {
            let generation = cache.fresh(&key).unwrap_err();
            cache.keep(key, tenant, key.len(), generation);
        }
        let stale_read = cache.fresh(&"late").unwrap_err();
        cache.invalidate(acme);
        assert!(cache.fresh(&"a").is_err());
        assert_eq!(cache.fresh(&"g").ok(), Some((globex, 1)));
        cache.keep("late", acme, 4, stale_read);
        assert!(cache.fresh(&"late").is_err(), "read before the change");
        cache.invalidate_all();
        assert!(cache.fresh(&"g").is_err());
        let generation = cache.fresh(&"g").unwrap_err();
        cache.keep("g", globex, 1, generation);
        cache.forget(&"g");
        assert!(cache.fresh(&"g").is_err());
    }

    #[test]
    fn entries_expire() {
        let cache = TenantCache::new(Duration::ZERO);
        let generation = cache.fresh(&1).unwrap_err();
        cache.keep(1, Uuid::now_v7(), (), generation);
        assert!(cache.fresh(&1).is_err());
    }
}
