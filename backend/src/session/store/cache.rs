//! The sessions a store holds, kept in this process as well: reading a session is
//! then a map lookup instead of a statement, and only writes reach the store. Written through:
//! the store is changed first and the copy after, so what the copy says was stored; a failed
//! write drops the copy, so the next read asks the store. Empty at start, so a restart reads
//! the file again.
//!
//! Correct only while this process is the store's one writer: the SQLite store takes the
//! file's lock to be sure of it (`sqlite.rs`); Redis, shared by replicas, is not cached.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
};

use async_trait::async_trait;

use super::{now_millis, Backend, Counts, Entry, Key, Unavailable};

/// Sessions kept at most: ≈ 1–2 KB each (the sealed record), so some 20 MB when full. Past it,
/// one kept session makes room; it is read from the store when next used.
const CAPACITY: usize = 10_000;

#[derive(Debug)]
pub struct Cached<B> {
    store: B,
    kept: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    sessions: HashMap<Key, Entry>,
    /// Counts every change to the copies. A copy is kept only if nothing changed since the
    /// read or write it comes from began: otherwise a read that started before a removal
    /// could bring the removed session back (rule 14), or an older read overwrite a newer
    /// write.
    changes: u64,
}

impl<B> Cached<B> {
    pub fn new(store: B) -> Self {
        Cached {
            store,
            kept: Mutex::new(Kept::default()),
        }
    }

    fn kept(&self) -> MutexGuard<'_, Kept> {
        // The map holds copies only: one left half-changed by a panic is still a cache.
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops the copy under `key`; what [`Cached::keep`] must see unchanged to keep one.
    fn forget(&self, key: &Key) -> u64 {
        let mut kept = self.kept();
        kept.sessions.remove(key);
        kept.changes += 1;
        kept.changes
    }

    /// Keeps `entry` under `key` if no copy changed since `seen`; false when one did.
    fn keep(&self, key: &Key, entry: &Entry, seen: u64) -> bool {
        let mut kept = self.kept();
        if kept.changes != seen {
            return false;
        }
        if kept.sessions.len() >= CAPACITY && !kept.sessions.contains_key(key) {
            // Whichever comes first: cheaper than tracking use, and a miss costs one read.
            if let Some(evicted) = kept.sessions.keys().next().copied() {
                kept.sessions.remove(&evicted);
            }
        }
        kept.sessions.insert(*key, entry.clone());
        kept.changes += 1;
        true
    }

    /// Begins a write of `key`: its copy dropped now, and again when the returned guard goes
    /// (after the write, or when a store timeout cancels it midway) unless the write's own
    /// copy was kept. So a read that raced with the write never leaves what it read behind.
    fn writing(&self, key: &Key) -> Writing<'_, B> {
        Writing {
            seen: self.forget(key),
            cache: self,
            key: *key,
        }
    }
}

struct Writing<'a, B> {
    cache: &'a Cached<B>,
    key: Key,
    seen: u64,
}

impl<B> Writing<'_, B> {
    /// The write stored `entry`.
    fn stored(self, entry: &Entry) {
        if self.cache.keep(&self.key, entry, self.seen) {
            std::mem::forget(self);
        }
    }
}

impl<B> Drop for Writing<'_, B> {
    fn drop(&mut self) {
        self.cache.forget(&self.key);
    }
}

/// A store whose entries can be read whole, expiry included: what the cache keeps.
#[async_trait]
pub trait Entries {
    async fn entry(&self, key: &Key) -> Result<Option<Entry>, Unavailable>;
}

#[async_trait]
impl<B: Backend + Entries> Backend for Cached<B> {
    async fn insert(&self, key: &Key, entry: &Entry) -> Result<bool, Unavailable> {
        let writing = self.writing(key);
        let inserted = self.store.insert(key, entry).await?;
        if inserted {
            writing.stored(entry);
        }
        Ok(inserted)
    }

    async fn update(&self, key: &Key, entry: &Entry) -> Result<bool, Unavailable> {
        let writing = self.writing(key);
        let updated = self.store.update(key, entry).await?;
        if updated {
            writing.stored(entry);
        }
        Ok(updated)
    }

    async fn get(&self, key: &Key) -> Result<Option<String>, Unavailable> {
        let now = now_millis();
        let seen = {
            let mut kept = self.kept();
            match kept.sessions.get(key) {
                Some(entry) if entry.expires_at > now => return Ok(Some(entry.value.clone())),
                Some(_) => {
                    kept.sessions.remove(key);
                    return Ok(None);
                }
                None => kept.changes,
            }
        };
        let found = self.store.entry(key).await?;
        if let Some(entry) = &found {
            self.keep(key, entry, seen);
        }
        Ok(found.map(|entry| entry.value))
    }

    async fn remove(&self, key: &Key) -> Result<(), Unavailable> {
        let _writing = self.writing(key);
        self.store.remove(key).await
    }

    async fn put_attempt(&self, key: &Key, sealed: &str, until: i64) -> Result<(), Unavailable> {
        self.store.put_attempt(key, sealed, until).await
    }

    async fn take_attempt(&self, key: &Key) -> Result<Option<String>, Unavailable> {
        self.store.take_attempt(key).await
    }

    async fn count(&self) -> Result<Counts, Unavailable> {
        self.store.count().await
    }

    async fn ping(&self) -> Result<(), Unavailable> {
        self.store.ping().await
    }

    async fn sessions_of(&self, person: &str) -> Result<Vec<(Key, String)>, Unavailable> {
        self.store.sessions_of(person).await
    }

    async fn sessions_with_sid(&self, sid: &str) -> Result<Vec<(Key, String)>, Unavailable> {
        self.store.sessions_with_sid(sid).await
    }

    async fn first_sight(&self, key: &Key, expires_at: i64) -> Result<bool, Unavailable> {
        self.store.first_sight(key, expires_at).await
    }

    async fn sweep(&self) -> Result<(), Unavailable> {
        let now = now_millis();
        self.kept()
            .sessions
            .retain(|_, entry| entry.expires_at > now);
        self.store.sweep().await
    }
}
