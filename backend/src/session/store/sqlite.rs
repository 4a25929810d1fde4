//! `sqlite://PATH` (the default, `sqlite://data/sessions.db`): a file, created with its folder
//! on first start, readable by the backend's user only; sessions survive a restart. WAL mode,
//! so readers never wait for the writer.
//!
//! One process per file: it keeps the sessions it reads in memory (`cache.rs`), which is right
//! only while no other process writes the file. `PATH.lock` is held to be sure of it: a second
//! Portero on the same file stops at start with a message that says so. In one process, every
//! store opened on one file shares one [`Sqlite`] and its cache.

use std::{
    collections::HashMap,
    fs::File,
    path::{Path, PathBuf},
    sync::{Arc, LazyLock, Weak},
};

use anyhow::Context;
use async_trait::async_trait;
use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    Row, SqlitePool,
};

use super::{
    cache::{Cached, Entries},
    folder_of, now_millis, Backend, Counts, Entry, Key, Unavailable, STORE_TIMEOUT,
};

pub(super) const SCHEMA: &str = "
create table if not exists portero_sessions (
    key blob primary key,           -- SHA-256 of the session id (rule 12)
    data text not null,             -- the session's record, sealed whole (session/sealed.rs)
    expires_at integer not null,    -- milliseconds since the epoch, for the sweep
    person text,                    -- a keyed hash of provider and subject
    sid text                        -- a keyed hash of provider and the provider's session id
) without rowid;
create index if not exists portero_sessions_person on portero_sessions (person)
    where person is not null;
create index if not exists portero_sessions_sid on portero_sessions (sid) where sid is not null;
create index if not exists portero_sessions_expiry on portero_sessions (expires_at);
create table if not exists portero_seen (
    key blob primary key,           -- SHA-256 of the provider and a logout token's jti
    expires_at integer not null
) without rowid;
create table if not exists portero_attempts (
    key blob primary key,           -- SHA-256 of the browser's binding and the state
    sealed text not null,
    expires_at integer not null
) without rowid;
";

#[derive(Debug)]
pub struct Sqlite {
    pool: SqlitePool,
    /// `PATH.lock`, locked for as long as this lives.
    _lock: File,
}

/// The files this process has open, by canonical path.
static OPEN: LazyLock<tokio::sync::Mutex<HashMap<PathBuf, Weak<Cached<Sqlite>>>>> =
    LazyLock::new(Default::default);

/// The store of the file at `path`, with its cache: the one this process has open already, or
/// a new one.
pub async fn shared(path: &Path) -> anyhow::Result<Arc<Cached<Sqlite>>> {
    let context = || format!("session.store: cannot open SQLite file {}", path.display());
    std::fs::create_dir_all(folder_of(path)).with_context(context)?;
    make_private(path).with_context(context)?;
    let canonical = path.canonicalize().with_context(context)?;
    let mut open = OPEN.lock().await;
    if let Some(store) = open.get(&canonical).and_then(Weak::upgrade) {
        return Ok(store);
    }
    let store = Arc::new(Cached::new(Sqlite::open(path).await?));
    open.retain(|_, store| store.strong_count() > 0);
    open.insert(canonical, Arc::downgrade(&store));
    Ok(store)
}

/// Takes `PATH.lock`, or says which other process holds it.
fn lock_for(path: &Path) -> anyhow::Result<File> {
    let name = format!("{}.lock", path.display());
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&name)
        .with_context(|| format!("session.store: cannot create {name}"))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "session.store: {} is in use by another Portero process (it holds {name}). \
             A SQLite file serves one process, which keeps the sessions it reads in memory; \
             stop the other one, give this one its own file, or run several replicas on \
             Redis (store = \"redis://HOST:PORT\")",
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("session.store: cannot lock {name}"))
        }
    }
}

fn unavailable(e: sqlx::Error) -> Unavailable {
    Unavailable(format!("SQLite: {e}"))
}

impl Sqlite {
    async fn open(path: &Path) -> anyhow::Result<Self> {
        let context = || format!("session.store: cannot open SQLite file {}", path.display());
        let lock = lock_for(path)?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            // Readers never wait for a writer; a writer waits a little for another.
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL cannot corrupt the file; a power cut may lose the last commits
            // (sessions of the last moments, who log in again). FULL fsyncs every commit.
            .synchronous(SqliteSynchronous::Normal)
            // Pages read through memory instead of a read(2) each.
            .pragma("mmap_size", "268435456")
            .busy_timeout(STORE_TIMEOUT);
        // One connection: sessions are read from memory (`cache.rs`), so what reaches SQLite is
        // mostly writes, which SQLite makes one at a time anyway; one connection keeps its page
        // cache warm and its statements prepared, where several would each read the pages again.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(STORE_TIMEOUT)
            // sqlx pings a connection before lending it by default: for a file in this process
            // that is a round trip to its worker thread per statement, and tells nothing.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .with_context(context)?;
        sqlx::raw_sql(SCHEMA)
            .execute(&pool)
            .await
            .with_context(context)?;
        // tower-sessions-sqlx-store's table, from before rule 12: it is keyed by the cookie
        // values themselves, so whoever reads the file could use them. Its sessions end here.
        let old = sqlx::query("drop table if exists tower_sessions")
            .execute(&pool)
            .await
            .with_context(context)?;
        if old.rows_affected() > 0 {
            tracing::warn!("sessions of the previous format ended: their ids were stored as is");
        }
        // Records from before they were sealed whole: JSON, with the person in clear beside
        // it. They would be refused anyway (docs/SECURITY.md); gone now, names and all.
        let unsealed = sqlx::query("delete from portero_sessions where data like '{%'")
            .execute(&pool)
            .await
            .with_context(context)?;
        if unsealed.rows_affected() > 0 {
            tracing::warn!(
                sessions = unsealed.rows_affected(),
                "sessions of the previous format ended: their records were not sealed whole"
            );
        }
        tracing::info!(path = %path.display(), "sessions kept in SQLite");
        Ok(Sqlite { pool, _lock: lock })
    }
}

/// The sessions file names who is logged in: readable by the backend's user only, before the
/// first byte is written. SQLite gives the `-wal` and `-shm` files it creates the permissions
/// of the database file, so they are private from their start too.
fn make_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("{}{suffix}", path.display());
            if Path::new(&file).exists() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// A row of `select key, data`.
fn value_of(row: &sqlx::sqlite::SqliteRow) -> Result<(Key, String), Unavailable> {
    let key: Vec<u8> = row.get(0);
    let key = Key(key
        .try_into()
        .map_err(|_| Unavailable("SQLite: a session key is not 32 bytes".into()))?);
    Ok((key, row.get(1)))
}

impl Sqlite {
    /// The unexpired sessions whose indexed `column` (`person` or `sid`) is `value`.
    async fn sessions_where(
        &self,
        column: &str,
        value: &str,
    ) -> Result<Vec<(Key, String)>, Unavailable> {
        sqlx::query(&format!(
            "select key, data from portero_sessions where {column} = ?1 and expires_at > ?2"
        ))
        .bind(value)
        .bind(now_millis())
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?
        .iter()
        .map(value_of)
        .collect()
    }
}

impl Sqlite {
    /// Runs `sql`, an insert or update of one session whose parameters are ?1 the key, ?2 the
    /// data, ?3 the expiry, ?4 the person, ?5 the provider session and ?6 now: whether it
    /// wrote a row.
    async fn write(&self, sql: &str, key: &Key, entry: &Entry) -> Result<bool, Unavailable> {
        let done = sqlx::query(sql)
            .bind(key.bytes().as_slice())
            .bind(&entry.value)
            .bind(entry.expires_at)
            .bind(entry.person.as_deref())
            .bind(entry.sid.as_deref())
            .bind(now_millis())
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl Entries for Sqlite {
    async fn entry(&self, key: &Key) -> Result<Option<Entry>, Unavailable> {
        let row = sqlx::query(
            "select data, expires_at, person, sid from portero_sessions
             where key = ?1 and expires_at > ?2",
        )
        .bind(key.bytes().as_slice())
        .bind(now_millis())
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(row.map(|row| Entry {
            value: row.get(0),
            expires_at: row.get(1),
            person: row.get(2),
            sid: row.get(3),
        }))
    }
}

#[async_trait]
impl Backend for Sqlite {
    async fn insert(&self, key: &Key, entry: &Entry) -> Result<bool, Unavailable> {
        // An expired row under the key is as good as none.
        self.write(
            "insert into portero_sessions (key, data, expires_at, person, sid)
             values (?1, ?2, ?3, ?4, ?5)
             on conflict (key) do update
             set data = ?2, expires_at = ?3, person = ?4, sid = ?5
             where portero_sessions.expires_at <= ?6",
            key,
            entry,
        )
        .await
    }

    async fn update(&self, key: &Key, entry: &Entry) -> Result<bool, Unavailable> {
        self.write(
            "update portero_sessions set data = ?2, expires_at = ?3, person = ?4, sid = ?5
             where key = ?1 and expires_at > ?6",
            key,
            entry,
        )
        .await
    }

    async fn get(&self, key: &Key) -> Result<Option<String>, Unavailable> {
        Ok(self.entry(key).await?.map(|entry| entry.value))
    }

    async fn sessions_of(&self, person: &str) -> Result<Vec<(Key, String)>, Unavailable> {
        self.sessions_where("person", person).await
    }

    async fn sessions_with_sid(&self, sid: &str) -> Result<Vec<(Key, String)>, Unavailable> {
        self.sessions_where("sid", sid).await
    }

    async fn first_sight(&self, key: &Key, expires_at: i64) -> Result<bool, Unavailable> {
        // A row that expired is as good as none.
        let done = sqlx::query(
            "insert into portero_seen (key, expires_at) values (?1, ?2)
             on conflict (key) do update set expires_at = ?2
             where portero_seen.expires_at <= ?3",
        )
        .bind(key.bytes().as_slice())
        .bind(expires_at)
        .bind(now_millis())
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(done.rows_affected() == 1)
    }

    async fn remove(&self, key: &Key) -> Result<(), Unavailable> {
        sqlx::query("delete from portero_sessions where key = ?1")
            .bind(key.bytes().as_slice())
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn put_attempt(&self, key: &Key, sealed: &str, until: i64) -> Result<(), Unavailable> {
        sqlx::query(
            "insert or replace into portero_attempts (key, sealed, expires_at) values (?1, ?2, ?3)",
        )
        .bind(key.bytes().as_slice())
        .bind(sealed)
        .bind(until)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn take_attempt(&self, key: &Key) -> Result<Option<String>, Unavailable> {
        let row = sqlx::query(
            "delete from portero_attempts where key = ?1 and expires_at > ?2 returning sealed",
        )
        .bind(key.bytes().as_slice())
        .bind(now_millis())
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(row.map(|row| row.get(0)))
    }

    async fn count(&self) -> Result<Counts, Unavailable> {
        let row = sqlx::query(
            "select (select count(*) from portero_sessions where expires_at > ?1),
                    (select count(*) from portero_attempts where expires_at > ?1)",
        )
        .bind(now_millis())
        .fetch_one(&self.pool)
        .await
        .map_err(unavailable)?;
        let count = |i: usize| u64::try_from(row.get::<i64, _>(i)).unwrap_or(0);
        Ok(Counts {
            sessions: count(0),
            attempts: count(1),
        })
    }

    async fn ping(&self) -> Result<(), Unavailable> {
        sqlx::query("select 1")
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(unavailable)
    }

    async fn sweep(&self) -> Result<(), Unavailable> {
        let now = now_millis();
        for table in ["portero_sessions", "portero_attempts", "portero_seen"] {
            sqlx::query(&format!("delete from {table} where expires_at <= ?1"))
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }
}
