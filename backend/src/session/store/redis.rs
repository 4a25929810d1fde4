//! `redis://HOST:PORT` (fred's URL syntax: `redis://:password@host:port/db` too): shared by
//! several replicas. tower-sessions-redis-store's keys, which expire with their sessions
//! (`EXAT`), so every key of the database is a live session: give Portero a database of its
//! own (`redis://host/N`) and `/metrics` counts them with `DBSIZE`.

use std::time::Duration;

use async_trait::async_trait;
use tower_sessions::{
    session::{Id, Record},
    session_store, SessionStore,
};
use tower_sessions_redis_store::{
    fred::{
        clients::{Client, WithOptions},
        prelude::{
            Builder, ClientLike, Config as RedisConfig, Options, ReconnectPolicy, ServerInterface,
        },
    },
    RedisStore,
};

use super::{Unavailable, STORE_TIMEOUT};

/// While Redis is unreachable, the client tries again this often (forever).
const RECONNECT_DELAY_MS: u32 = 250;
/// At start-up, how long to wait for Redis before serving anyway (readiness answers 503 and
/// session routes 503 `store_unavailable` until it is reachable).
const FIRST_CONNECT: Duration = Duration::from_secs(3);

#[derive(Clone, Debug)]
pub struct Redis {
    store: RedisStore<WithOptions<Client>>,
    client: WithOptions<Client>,
}

impl Redis {
    /// The store, and the task that keeps the connection.
    pub async fn open(url: &str) -> anyhow::Result<(Self, tokio::task::AbortHandle)> {
        let mut config = RedisConfig::from_url(url)
            .map_err(|e| anyhow::anyhow!("session.store: {url:?} is not a Redis URL ({e})"))?;
        // Redis down at start-up is an outage like any other: keep trying in the background.
        config.fail_fast = false;
        let client = Builder::from_config(config)
            .with_connection_config(|c| {
                c.connection_timeout = STORE_TIMEOUT;
                c.internal_command_timeout = STORE_TIMEOUT;
            })
            .with_performance_config(|p| p.default_command_timeout = STORE_TIMEOUT)
            .set_policy(ReconnectPolicy::new_constant(0, RECONNECT_DELAY_MS))
            .build()
            .map_err(|e| anyhow::anyhow!("session.store: cannot use {url:?} ({e})"))?;
        let connection = client.connect();
        let started = tokio::time::Instant::now();
        while !client.is_connected() && started.elapsed() < FIRST_CONNECT {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if client.is_connected() {
            tracing::info!("sessions kept in Redis");
        } else {
            tracing::warn!(
                "session.store: Redis is not reachable yet; /readyz answers 503 and session \
                 routes 503 store_unavailable until it is"
            );
        }
        // While disconnected a command fails at once (503) instead of waiting in a queue.
        let client = client.with_options(&Options {
            fail_fast: true,
            timeout: Some(STORE_TIMEOUT),
            ..Options::default()
        });
        let redis = Redis {
            store: RedisStore::new(client.clone()),
            client,
        };
        Ok((redis, connection.abort_handle()))
    }

    pub async fn ping(&self) -> Result<(), Unavailable> {
        self.client
            .ping::<String>(None)
            .await
            .map(drop)
            .map_err(|e| Unavailable(format!("Redis: {e}")))
    }

    /// Keys expire with their sessions (`EXAT`), so every key is a live session.
    pub async fn count_active(&self) -> Result<u64, Unavailable> {
        self.client
            .dbsize::<u64>()
            .await
            .map_err(|e| Unavailable(format!("Redis: {e}")))
    }
}

#[async_trait]
impl SessionStore for Redis {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.store.create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.store.save(record).await
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        self.store.load(session_id).await
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        self.store.delete(session_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{config::SessionStore as StoreConfig, session::store::Store};

    #[tokio::test]
    async fn an_unreachable_redis_is_unavailable_not_a_hang() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let store = Store::open(&StoreConfig::Redis(format!("redis://127.0.0.1:{port}")))
            .await
            .unwrap();
        let started = std::time::Instant::now();
        assert!(store.ping().await.is_err());
        assert!(store.load(&Id::default()).await.is_err());
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
