//! The `memory` store: this process only; every session ends with it. A map this crate can
//! count and sweep (tower-sessions-memory-store keeps expired records until the process ends
//! and cannot count them).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, Weak},
};

use async_trait::async_trait;
use tower_sessions::{
    session::{Id, Record},
    session_store, SessionStore,
};

#[derive(Clone, Debug, Default)]
pub struct MemoryStore(Arc<Mutex<HashMap<Id, Record>>>);

impl MemoryStore {
    /// The store, and its sweeper when a runtime is there to run it.
    pub fn new() -> (Self, Option<tokio::task::AbortHandle>) {
        let store = MemoryStore::default();
        let sweeper = tokio::runtime::Handle::try_current().ok().map(|runtime| {
            runtime
                .spawn(sweep(Arc::downgrade(&store.0)))
                .abort_handle()
        });
        (store, sweeper)
    }

    fn records(&self) -> MutexGuard<'_, HashMap<Id, Record>> {
        // A panic while holding the lock cannot leave a half-written map: every change is
        // one insert or remove.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn drop_expired(&self) {
        let now = time::OffsetDateTime::now_utc();
        self.records().retain(|_, r| r.expiry_date > now);
    }

    pub fn count_active(&self) -> u64 {
        let now = time::OffsetDateTime::now_utc();
        let live = self
            .records()
            .values()
            .filter(|r| r.expiry_date > now)
            .count();
        u64::try_from(live).unwrap_or(u64::MAX)
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let mut records = self.records();
        while records.contains_key(&record.id) {
            record.id = Id::default();
        }
        records.insert(record.id, record.clone());
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.records().insert(record.id, record.clone());
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let now = time::OffsetDateTime::now_utc();
        Ok(self
            .records()
            .get(session_id)
            .filter(|r| r.expiry_date > now)
            .cloned())
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        self.records().remove(session_id);
        Ok(())
    }
}

/// Drops the expired records every `SWEEP_INTERVAL`, for as long as the store lives.
async fn sweep(records: Weak<Mutex<HashMap<Id, Record>>>) {
    let mut every = tokio::time::interval(super::SWEEP_INTERVAL);
    loop {
        every.tick().await;
        let Some(records) = records.upgrade() else {
            return;
        };
        MemoryStore(records).drop_expired();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::store::tests::record;

    #[tokio::test]
    async fn the_memory_sweep_drops_expired_records_and_keeps_live_ones() {
        let records = MemoryStore::default();
        let (mut expired, mut live) = (record(-5), record(60));
        records.create(&mut expired).await.unwrap();
        records.create(&mut live).await.unwrap();
        assert_eq!(records.records().len(), 2, "kept until the sweep");
        records.drop_expired();
        assert_eq!(records.records().keys().collect::<Vec<_>>(), [&live.id]);
    }
}
