//! `redis://HOST:PORT` (fred's URL syntax: `redis://:password@host:port/db` too): shared by
//! several replicas. Each record is a key that expires with it (`PXAT`); every change is one Lua
//! script, so the record and the sorted sets that count the live ones change together.
//!
//! Keys: `portero:s:{key}` a session (its sealed record), `portero:a:{key}` a login attempt, the
//! sorted sets `portero:live` and `portero:pending` (member: key, score: its expiry) for
//! `/metrics`, the sets `portero:p:{person}` and `portero:sid:{sid}` (keyed hashes) of a person's
//! and a provider session's keys (expiring with the last of their sessions; a member whose
//! session is gone is dropped when read), `portero:j:{key}` a seen logout token,
//! `portero:l:{key}` a session's lock. The channel `portero:changes` carries the notices of
//! sessions that ended or changed (`{process} {key}`), each replica's to the others.

use std::time::Duration;

use async_trait::async_trait;
use fred::{
    clients::{Client, WithOptions},
    prelude::{
        Builder, ClientLike, Config as RedisConfig, EventInterface, KeysInterface, LuaInterface,
        Options, PubsubInterface, ReconnectPolicy,
    },
    types::{Expiration, SetOptions},
};
use tokio::{sync::broadcast, task::AbortHandle};

use super::{now_millis, Backend, Changed, Counts, Entry, Key, Unavailable, STORE_TIMEOUT};
use crate::config::RedisUrl;

/// While Redis is unreachable, the client tries again this often (forever).
const RECONNECT_DELAY_MS: u32 = 250;
/// At start-up, how long to wait for Redis before serving anyway (readiness answers 503 and
/// session routes 503 `store_unavailable` until it is reachable).
const FIRST_CONNECT: Duration = Duration::from_secs(3);

const LIVE: &str = "portero:live";
const CHANGES: &str = "portero:changes";
const PENDING: &str = "portero:pending";

/// KEYS: record, its sorted set. ARGV: value, expiry (ms), member, `NX` or `XX`.
const WRITE: &str = "
if redis.call('SET', KEYS[1], ARGV[1], ARGV[4], 'PXAT', ARGV[2]) then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  return 1
end
return 0";
/// A session: the record and its sorted set as `WRITE`, then the index sets (`-` for none).
/// KEYS: record, live set, person set, sid set. ARGV: value, expiry (ms), member, `NX`/`XX`,
/// whether there is a person, whether there is a sid.
const WRITE_SESSION: &str = "
if not redis.call('SET', KEYS[1], ARGV[1], ARGV[4], 'PXAT', ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
for i, flag in ipairs({ARGV[5], ARGV[6]}) do
  if flag == '1' then
    local set = KEYS[i + 2]
    redis.call('SADD', set, ARGV[3])
    if redis.call('PEXPIRETIME', set) < tonumber(ARGV[2]) then
      redis.call('PEXPIREAT', set, ARGV[2])
    end
  end
end
return 1";
/// KEYS: an index set. The members whose session is there, each followed by the session; the
/// others are dropped from the set.
const MEMBERS: &str = "
local out = {}
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local value = redis.call('GET', 'portero:s:' .. member)
  if value then
    table.insert(out, member)
    table.insert(out, value)
  else
    redis.call('SREM', KEYS[1], member)
  end
end
return out";
/// KEYS: a lock. ARGV: its holder's token, its new time to live (ms).
const RENEW: &str = "
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0";
/// KEYS: a lock. ARGV: its holder's token.
const UNLOCK: &str = "
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";
/// KEYS: record, its sorted set. ARGV: member.
const REMOVE: &str = "
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('GETDEL', KEYS[1])";
/// KEYS: the two sorted sets. ARGV: now (ms).
const COUNT: &str = "
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
return {redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2])}";

#[derive(Debug)]
pub struct Redis {
    client: WithOptions<Client>,
    /// This process, in its notices: its own come back to it and are skipped.
    process: String,
}

fn unavailable(e: fred::error::Error) -> Unavailable {
    Unavailable(format!("Redis: {e}"))
}

fn session_key(key: &Key) -> String {
    format!("portero:s:{}", key.hex())
}

fn attempt_key(key: &Key) -> String {
    format!("portero:a:{}", key.hex())
}

fn lock_key(key: &Key) -> String {
    format!("portero:l:{}", key.hex())
}

impl Redis {
    /// The store, and the tasks that keep its connections: one for commands, one listening
    /// to the other replicas' notices, which it hands to `changes`. `url`'s password never
    /// appears in what goes wrong: only its masked form.
    pub async fn open(
        url: &RedisUrl,
        changes: broadcast::Sender<Changed>,
    ) -> anyhow::Result<(Self, Vec<AbortHandle>)> {
        let mut config = RedisConfig::from_url(url.expose()).map_err(|e| {
            anyhow::anyhow!("session.store: {url} is not a Redis URL ({})", e.details())
        })?;
        // Redis down at start-up is an outage like any other: keep trying in the background.
        config.fail_fast = false;
        let builder = |config: RedisConfig| {
            Builder::from_config(config)
                .with_connection_config(|c| {
                    c.connection_timeout = STORE_TIMEOUT;
                    c.internal_command_timeout = STORE_TIMEOUT;
                })
                .with_performance_config(|p| p.default_command_timeout = STORE_TIMEOUT)
                .set_policy(ReconnectPolicy::new_constant(0, RECONNECT_DELAY_MS))
                .build()
                .map_err(|e| anyhow::anyhow!("session.store: cannot use {url} ({})", e.details()))
        };
        let client = builder(config.clone())?;
        let process = crate::crypto::random_token();
        // A connection of its own: one that subscribes can send nothing else (RESP2).
        let listener = listen(builder(config)?, process.clone(), changes);
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
        let mut tasks = listener;
        tasks.push(connection.abort_handle());
        Ok((Redis { client, process }, tasks))
    }

    async fn write(
        &self,
        record: String,
        set: &str,
        value: String,
        expires_at: i64,
        member: String,
        mode: &str,
    ) -> Result<bool, Unavailable> {
        let written: i64 = self
            .client
            .eval(
                WRITE,
                vec![record, set.to_owned()],
                vec![value, expires_at.to_string(), member, mode.to_owned()],
            )
            .await
            .map_err(unavailable)?;
        Ok(written == 1)
    }

    async fn remove_from(
        &self,
        record: String,
        set: &str,
        member: String,
    ) -> Result<Option<String>, Unavailable> {
        self.client
            .eval(REMOVE, vec![record, set.to_owned()], vec![member])
            .await
            .map_err(unavailable)
    }

    async fn write_session(
        &self,
        key: &Key,
        entry: &Entry,
        mode: &str,
    ) -> Result<bool, Unavailable> {
        let set = |prefix: &str, name: &Option<String>| match name {
            Some(name) => (format!("{prefix}{name}"), "1"),
            None => ("portero:-".to_owned(), "0"),
        };
        let (person, has_person) = set("portero:p:", &entry.person);
        let (sid, has_sid) = set("portero:sid:", &entry.sid);
        let written: i64 = self
            .client
            .eval(
                WRITE_SESSION,
                vec![session_key(key), LIVE.to_owned(), person, sid],
                vec![
                    entry.value.clone(),
                    entry.expires_at.to_string(),
                    key.hex(),
                    mode.to_owned(),
                    has_person.to_owned(),
                    has_sid.to_owned(),
                ],
            )
            .await
            .map_err(unavailable)?;
        Ok(written == 1)
    }

    async fn members(&self, set: String) -> Result<Vec<(Key, String)>, Unavailable> {
        let flat: Vec<String> = self
            .client
            .eval(MEMBERS, vec![set], Vec::<String>::new())
            .await
            .map_err(unavailable)?;
        flat.chunks(2)
            .filter_map(|pair| match pair {
                [member, value] => Some((member, value)),
                _ => None,
            })
            .map(|(member, value)| {
                let key = Key::from_hex(member)
                    .ok_or_else(|| Unavailable("Redis: an index member is not a key".into()))?;
                Ok((key, value.clone()))
            })
            .collect()
    }
}

#[async_trait]
impl Backend for Redis {
    async fn insert(&self, key: &Key, entry: &Entry) -> Result<bool, Unavailable> {
        self.write_session(key, entry, "NX").await
    }

    async fn update(&self, key: &Key, entry: &Entry) -> Result<bool, Unavailable> {
        self.write_session(key, entry, "XX").await
    }

    async fn get(&self, key: &Key) -> Result<Option<String>, Unavailable> {
        self.client.get(session_key(key)).await.map_err(unavailable)
    }

    async fn remove(&self, key: &Key) -> Result<(), Unavailable> {
        self.remove_from(session_key(key), LIVE, key.hex())
            .await
            .map(drop)
    }

    async fn put_attempt(&self, key: &Key, sealed: &str, until: i64) -> Result<(), Unavailable> {
        self.write(
            attempt_key(key),
            PENDING,
            sealed.to_owned(),
            until,
            key.hex(),
            "NX",
        )
        .await
        .map(drop)
    }

    async fn take_attempt(&self, key: &Key) -> Result<Option<String>, Unavailable> {
        self.remove_from(attempt_key(key), PENDING, key.hex()).await
    }

    async fn count(&self) -> Result<Counts, Unavailable> {
        let counts: Vec<u64> = self
            .client
            .eval(
                COUNT,
                vec![LIVE.to_owned(), PENDING.to_owned()],
                vec![now_millis().to_string()],
            )
            .await
            .map_err(unavailable)?;
        Ok(Counts {
            sessions: counts.first().copied().unwrap_or(0),
            attempts: counts.get(1).copied().unwrap_or(0),
        })
    }

    async fn ping(&self) -> Result<(), Unavailable> {
        self.client
            .ping::<String>(None)
            .await
            .map(drop)
            .map_err(unavailable)
    }

    async fn sessions_of(&self, person: &str) -> Result<Vec<(Key, String)>, Unavailable> {
        self.members(format!("portero:p:{person}")).await
    }

    async fn sessions_with_sid(&self, sid: &str) -> Result<Vec<(Key, String)>, Unavailable> {
        self.members(format!("portero:sid:{sid}")).await
    }

    async fn first_sight(&self, key: &Key, expires_at: i64) -> Result<bool, Unavailable> {
        let set: Option<String> = self
            .client
            .set(
                format!("portero:j:{}", key.hex()),
                "1",
                Some(Expiration::PXAT(expires_at)),
                Some(SetOptions::NX),
                false,
            )
            .await
            .map_err(unavailable)?;
        Ok(set.is_some())
    }

    fn shared(&self) -> bool {
        true
    }

    async fn try_lock(&self, key: &Key, token: &str, ttl_ms: i64) -> Result<bool, Unavailable> {
        let set: Option<String> = self
            .client
            .set(
                lock_key(key),
                token,
                Some(Expiration::PX(ttl_ms)),
                Some(SetOptions::NX),
                false,
            )
            .await
            .map_err(unavailable)?;
        Ok(set.is_some())
    }

    async fn renew(&self, key: &Key, token: &str, ttl_ms: i64) -> Result<bool, Unavailable> {
        let renewed: i64 = self
            .client
            .eval(
                RENEW,
                vec![lock_key(key)],
                vec![token.to_owned(), ttl_ms.to_string()],
            )
            .await
            .map_err(unavailable)?;
        Ok(renewed == 1)
    }

    async fn unlock(&self, key: &Key, token: &str) -> Result<(), Unavailable> {
        let _: i64 = self
            .client
            .eval(UNLOCK, vec![lock_key(key)], vec![token.to_owned()])
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Redis expires the records itself; `count` prunes the sorted sets.
    async fn sweep(&self) -> Result<(), Unavailable> {
        Ok(())
    }

    async fn publish(&self, key: &Key) -> Result<(), Unavailable> {
        let _: i64 = self
            .client
            .publish(CHANGES, format!("{} {}", self.process, key.hex()))
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

/// Subscribes `subscriber` to the notices of the other replicas (at every connection: a
/// reconnected client has lost its subscription) and hands them to `changes`. After each
/// (re)connection every watcher looks at its session again ([`Changed::Any`]): notices sent
/// while the connection was down are lost. The tasks: the connection, the subscriptions,
/// the notices.
fn listen(
    subscriber: Client,
    process: String,
    changes: broadcast::Sender<Changed>,
) -> Vec<AbortHandle> {
    let mut connected = subscriber.reconnect_rx();
    let mut notices = subscriber.message_rx();
    let connection = subscriber.connect();
    let subscribing = {
        let (subscriber, changes) = (subscriber.clone(), changes.clone());
        tokio::spawn(async move {
            while connected.recv().await.is_ok() {
                if let Err(e) = subscriber.subscribe(CHANGES).await {
                    tracing::warn!(error = %e, "cannot hear the other replicas' session notices");
                }
                let _ = changes.send(Changed::Any);
            }
        })
    };
    let hearing = tokio::spawn(async move {
        loop {
            let notice = match notices.recv().await {
                Ok(message) => message.value.as_string(),
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let _ = changes.send(Changed::Any);
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            // Anything but another process's `{process} {key}` is not a notice of ours.
            let key = notice
                .as_deref()
                .and_then(|n| n.split_once(' '))
                .and_then(|(from, key)| (from != process).then(|| Key::from_hex(key)).flatten());
            if let Some(key) = key {
                let _ = changes.send(Changed::Session(key));
            }
        }
    });
    vec![
        connection.abort_handle(),
        subscribing.abort_handle(),
        hearing.abort_handle(),
    ]
}
