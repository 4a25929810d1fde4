//! Each store as `session/sealed.rs` uses it, and the guarantees of `store/mod.rs` on every one.

use std::path::{Path, PathBuf};

use super::*;

/// A session's key and what is stored under it, expiring in `seconds_left`.
fn record(seconds_left: i64) -> (Key, Entry) {
    let id = Id::default();
    let entry = Entry {
        value: format!("sealed-{}", crate::crypto::random_token()),
        expires_at: now_millis() + seconds_left * 1000,
        person: Some("person-hash".into()),
        sid: None,
    };
    (Key::of_session(&id), entry)
}

pub(crate) fn temp_db(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/tmp")
        .join(format!("store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("nested").join("sessions.db")
}

async fn stores(name: &str) -> Vec<Store> {
    let sqlite = Store::open(&StoreConfig::Sqlite(temp_db(name)), SWEEP_INTERVAL)
        .await
        .unwrap();
    vec![Store::memory(), sqlite]
}

#[tokio::test]
async fn sqlite_creates_its_folder_and_a_private_file_and_keeps_records_across_opens() {
    let path = temp_db("reopen");
    let store = Store::open(&StoreConfig::Sqlite(path.clone()), SWEEP_INTERVAL)
        .await
        .unwrap();
    assert!(path.exists());
    store.ping().await.unwrap();
    let (key, kept) = record(60);
    assert!(store.insert(&key, &kept).await.unwrap());
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let file = format!("{}{suffix}", path.display());
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{file} is private");
    }
    drop(store);
    let again = Store::open(&StoreConfig::Sqlite(path), SWEEP_INTERVAL)
        .await
        .unwrap();
    assert_eq!(again.get(&key).await.unwrap(), Some(kept.value));
}

#[tokio::test]
async fn expired_records_are_never_loaded_and_the_sweep_deletes_them() {
    for store in stores("expiry").await {
        let (expired, live) = (record(-5), record(60));
        assert!(store.insert(&expired.0, &expired.1).await.unwrap());
        assert!(store.insert(&live.0, &live.1).await.unwrap());
        let gone = Key::of_attempt("b", "gone");
        store
            .put_attempt(&gone, "x", now_millis() - 1)
            .await
            .unwrap();
        assert_eq!(store.get(&expired.0).await.unwrap(), None, "{store:?}");
        assert!(
            store.sessions_of("person-hash").await.unwrap().len() == 1,
            "the index hands out the live one only"
        );
        assert_eq!(store.take_attempt(&gone).await.unwrap(), None);
        store.sweep().await.unwrap();
        assert_eq!(
            store.count().await.unwrap(),
            Counts {
                sessions: 1,
                attempts: 0
            }
        );
        assert!(store.get(&live.0).await.unwrap().is_some());
    }
}

#[tokio::test]
async fn a_deleted_session_is_never_saved_back() {
    for store in stores("ended").await {
        let (key, session) = record(60);
        assert!(store.insert(&key, &session).await.unwrap());
        assert!(!store.insert(&key, &session).await.unwrap(), "a taken key");
        store.remove(&key).await.unwrap();
        // A request that read the record before the logout saves its copy afterwards.
        assert!(!store.update(&key, &session).await.unwrap());
        assert_eq!(store.get(&key).await.unwrap(), None, "{store:?}");
        assert_eq!(store.count().await.unwrap().sessions, 0);
        assert!(store.sessions_of("person-hash").await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn an_attempt_is_taken_once() {
    for store in stores("attempt").await {
        let key = Key::of_attempt("binding", "state");
        store
            .put_attempt(&key, "sealed", now_millis() + 60_000)
            .await
            .unwrap();
        assert_eq!(store.count().await.unwrap().attempts, 1);
        let (first, second) = tokio::join!(store.take_attempt(&key), store.take_attempt(&key));
        let taken: Vec<_> = [first.unwrap(), second.unwrap()]
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(taken, ["sealed"], "{store:?}");
        assert_eq!(store.count().await.unwrap().attempts, 0);
    }
}

#[tokio::test]
async fn records_are_keyed_by_a_hash_of_the_id_and_hold_no_id() {
    let path = temp_db("hashed");
    let store = Store::open(&StoreConfig::Sqlite(path.clone()), SWEEP_INTERVAL)
        .await
        .unwrap();
    let id = Id::default();
    let key = Key::of_session(&id);
    assert!(store.insert(&key, &record(60).1).await.unwrap());
    drop(store);
    let file = std::fs::read(&path).unwrap();
    let wal = std::fs::read(format!("{}-wal", path.display())).unwrap_or_default();
    let cookie = id.to_string();
    for bytes in [&file, &wal] {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(&cookie), "the cookie value is in the file");
        let raw = id.0.to_le_bytes();
        assert!(
            !bytes.windows(16).any(|w| w == raw),
            "the raw id is in the file"
        );
    }
    assert!(
        [&file, &wal]
            .iter()
            .any(|b| b.windows(32).any(|w| w == key.bytes())),
        "the hash is the key"
    );
}

#[tokio::test]
async fn an_unreachable_redis_is_unavailable_not_a_hang() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = Store::open(
        &StoreConfig::Redis(format!("redis://127.0.0.1:{port}").into()),
        SWEEP_INTERVAL,
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    assert!(store.ping().await.is_err());
    assert!(store.get(&Key::of_session(&Id::default())).await.is_err());
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// SQLite keeps the sessions it reads in memory: what one store opened on a file changes,
/// another opened on it in the same process sees at once, and a session read (so kept) and
/// then ended is gone for both.
#[tokio::test]
async fn sqlite_stores_on_one_file_share_what_they_keep_in_memory() {
    let path = temp_db("shared");
    let config = StoreConfig::Sqlite(path);
    let open = || Store::open(&config, SWEEP_INTERVAL);
    let (a, b) = (open().await.unwrap(), open().await.unwrap());
    let (key, first) = record(60);
    assert!(a.insert(&key, &first).await.unwrap());
    assert!(b.get(&key).await.unwrap().is_some(), "read, so kept");
    let changed = Entry {
        value: "sealed-changed".into(),
        ..first.clone()
    };
    assert!(b.update(&key, &changed).await.unwrap());
    assert_eq!(a.get(&key).await.unwrap(), Some(changed.value.clone()));
    a.remove(&key).await.unwrap();
    assert!(b.get(&key).await.unwrap().is_none(), "ended for both");
    assert!(!b.update(&key, &changed).await.unwrap());
    assert!(
        a.get(&key).await.unwrap().is_none(),
        "a save after the end does not bring it back"
    );
    drop((a, b));
    let reopened = open().await.unwrap();
    assert!(reopened.get(&key).await.unwrap().is_none());
}

/// Records from before they were sealed whole (JSON, the person in clear beside it) are gone
/// when a file is opened; sealed ones stay.
#[tokio::test]
async fn sqlite_drops_records_of_the_format_before_sealing_when_it_opens() {
    use sqlx::{sqlite::SqliteConnectOptions, Connection};
    let path = temp_db("unsealed");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let (old, sealed) = (record(60), record(60));
    // The file as the version before left it, written before any store opens it.
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    sqlx::raw_sql(sqlite::SCHEMA)
        .execute(&mut conn)
        .await
        .unwrap();
    let rows = [
        (
            &old.0,
            r#"{"auth":{"user":{"provider":"dev","subject":"42"}}}"#,
        ),
        (&sealed.0, sealed.1.value.as_str()),
    ];
    for (key, data) in rows {
        sqlx::query(
            "insert into portero_sessions (key, data, expires_at, person) values (?1, ?2, ?3, ?4)",
        )
        .bind(key.bytes().as_slice())
        .bind(data)
        .bind(sealed.1.expires_at)
        .bind("dev\n42")
        .execute(&mut conn)
        .await
        .unwrap();
    }
    conn.close().await.unwrap();

    let store = Store::open(&StoreConfig::Sqlite(path), SWEEP_INTERVAL)
        .await
        .unwrap();
    assert_eq!(store.get(&old.0).await.unwrap(), None);
    assert_eq!(store.get(&sealed.0).await.unwrap(), Some(sealed.1.value));
    let indexed = store.sessions_of("dev\n42").await.unwrap();
    assert_eq!(
        indexed.len(),
        1,
        "the old record is gone from the index too"
    );
}
