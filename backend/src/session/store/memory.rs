//! The `memory` store: this process only; every session ends with it. For tests and trying
//! things out. Its index maps (person → sessions, provider session → sessions) change with the
//! sessions, under one lock.

use std::{
    collections::{HashMap, HashSet},
    sync::{Mutex, MutexGuard},
};

use async_trait::async_trait;

use super::{now_millis, Backend, Counts, Entry, Key, Unavailable};

#[derive(Debug, Default)]
pub struct Memory(Mutex<Maps>);

#[derive(Debug, Default)]
struct Maps {
    sessions: HashMap<Key, Entry>,
    by_person: HashMap<String, HashSet<Key>>,
    by_sid: HashMap<String, HashSet<Key>>,
    attempts: HashMap<Key, (String, i64)>,
    seen: HashMap<Key, i64>,
}

impl Maps {
    fn index(&mut self, key: Key, entry: &Entry) {
        if let Some(person) = &entry.person {
            self.by_person
                .entry(person.clone())
                .or_default()
                .insert(key);
        }
        if let Some(sid) = &entry.sid {
            self.by_sid.entry(sid.clone()).or_default().insert(key);
        }
    }

    fn remove(&mut self, key: &Key) {
        let Some(entry) = self.sessions.remove(key) else {
            return;
        };
        for (map, name) in [
            (&mut self.by_person, &entry.person),
            (&mut self.by_sid, &entry.sid),
        ] {
            if let Some(name) = name {
                if let Some(keys) = map.get_mut(name) {
                    keys.remove(key);
                    if keys.is_empty() {
                        map.remove(name);
                    }
                }
            }
        }
    }

    fn put(&mut self, key: Key, entry: &Entry) {
        self.remove(&key);
        self.index(key, entry);
        self.sessions.insert(key, entry.clone());
    }

    fn live(&self, keys: Option<&HashSet<Key>>) -> Vec<(Key, String)> {
        let now = now_millis();
        keys.into_iter()
            .flatten()
            .filter_map(|key| Some((*key, self.sessions.get(key)?)))
            .filter(|(_, entry)| entry.expires_at > now)
            .map(|(key, entry)| (key, entry.value.clone()))
            .collect()
    }
}

impl Memory {
    fn maps(&self) -> MutexGuard<'_, Maps> {
        // A panic while holding the lock cannot leave the maps apart: they change together in
        // `put` and `remove`, which do not panic.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Backend for Memory {
    async fn insert(&self, key: &Key, entry: &Entry) -> Result<bool, Unavailable> {
        let mut maps = self.maps();
        if maps
            .sessions
            .get(key)
            .is_some_and(|e| e.expires_at > now_millis())
        {
            return Ok(false);
        }
        maps.put(*key, entry);
        Ok(true)
    }

    async fn update(&self, key: &Key, entry: &Entry) -> Result<bool, Unavailable> {
        let mut maps = self.maps();
        let live = maps
            .sessions
            .get(key)
            .is_some_and(|e| e.expires_at > now_millis());
        if !live {
            return Ok(false);
        }
        maps.put(*key, entry);
        Ok(true)
    }

    async fn get(&self, key: &Key) -> Result<Option<String>, Unavailable> {
        let now = now_millis();
        Ok(self
            .maps()
            .sessions
            .get(key)
            .filter(|e| e.expires_at > now)
            .map(|e| e.value.clone()))
    }

    async fn remove(&self, key: &Key) -> Result<(), Unavailable> {
        self.maps().remove(key);
        Ok(())
    }

    async fn put_attempt(&self, key: &Key, sealed: &str, until: i64) -> Result<(), Unavailable> {
        self.maps()
            .attempts
            .insert(*key, (sealed.to_owned(), until));
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

    async fn sessions_of(&self, person: &str) -> Result<Vec<(Key, String)>, Unavailable> {
        let maps = self.maps();
        Ok(maps.live(maps.by_person.get(person)))
    }

    async fn sessions_with_sid(&self, sid: &str) -> Result<Vec<(Key, String)>, Unavailable> {
        let maps = self.maps();
        Ok(maps.live(maps.by_sid.get(sid)))
    }

    async fn first_sight(&self, key: &Key, expires_at: i64) -> Result<bool, Unavailable> {
        let now = now_millis();
        let mut maps = self.maps();
        if maps.seen.get(key).is_some_and(|at| *at > now) {
            return Ok(false);
        }
        maps.seen.insert(*key, expires_at);
        Ok(true)
    }

    async fn sweep(&self) -> Result<(), Unavailable> {
        let now = now_millis();
        let mut maps = self.maps();
        let expired: Vec<Key> = maps
            .sessions
            .iter()
            .filter(|(_, e)| e.expires_at <= now)
            .map(|(key, _)| *key)
            .collect();
        for key in expired {
            maps.remove(&key);
        }
        maps.attempts.retain(|_, (_, at)| *at > now);
        maps.seen.retain(|_, at| *at > now);
        Ok(())
    }
}
