//! The `memory` store: this process only; every session ends with it. For tests and trying
//! things out.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
};

use async_trait::async_trait;

use super::{now_millis, Backend, Counts, Entry, Key, Unavailable};

#[derive(Debug, Default)]
pub struct Memory(Mutex<Maps>);

#[derive(Debug, Default)]
struct Maps {
    sessions: HashMap<Key, Entry>,
    attempts: HashMap<Key, (String, i64)>,
}

impl Memory {
    fn maps(&self) -> MutexGuard<'_, Maps> {
        // A panic while holding the lock cannot leave a half-written map: every change is
        // one insert or remove.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Backend for Memory {
    async fn insert(&self, key: &Key, entry: &Entry) -> Result<bool, Unavailable> {
        let mut maps = self.maps();
        let now = now_millis();
        if maps.sessions.get(key).is_some_and(|e| e.expires_at > now) {
            return Ok(false);
        }
        maps.sessions.insert(*key, entry.clone());
        Ok(true)
    }

    async fn update(&self, key: &Key, entry: &Entry) -> Result<bool, Unavailable> {
        let mut maps = self.maps();
        let now = now_millis();
        match maps.sessions.get_mut(key) {
            Some(stored) if stored.expires_at > now => {
                *stored = entry.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn get(&self, key: &Key) -> Result<Option<Entry>, Unavailable> {
        let now = now_millis();
        Ok(self
            .maps()
            .sessions
            .get(key)
            .filter(|e| e.expires_at > now)
            .cloned())
    }

    async fn remove(&self, key: &Key) -> Result<(), Unavailable> {
        self.maps().sessions.remove(key);
        Ok(())
    }

    async fn put_attempt(
        &self,
        key: &Key,
        sealed: &str,
        expires_at: i64,
    ) -> Result<(), Unavailable> {
        self.maps()
            .attempts
            .insert(*key, (sealed.to_owned(), expires_at));
        Ok(())
    }

    async fn take_attempt(&self, key: &Key) -> Result<Option<String>, Unavailable> {
        let now = now_millis();
        Ok(self
            .maps()
            .attempts
            .remove(key)
            .filter(|(_, expires_at)| *expires_at > now)
            .map(|(sealed, _)| sealed))
    }

    async fn count(&self) -> Result<Counts, Unavailable> {
        let now = now_millis();
        let maps = self.maps();
        let live = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        Ok(Counts {
            sessions: live(
                maps.sessions
                    .values()
                    .filter(|e| e.expires_at > now)
                    .count(),
            ),
            attempts: live(maps.attempts.values().filter(|(_, at)| *at > now).count()),
        })
    }

    async fn ping(&self) -> Result<(), Unavailable> {
        Ok(())
    }

    async fn sweep(&self) -> Result<(), Unavailable> {
        let now = now_millis();
        let mut maps = self.maps();
        maps.sessions.retain(|_, e| e.expires_at > now);
        maps.attempts.retain(|_, (_, at)| *at > now);
        Ok(())
    }
}
