//! Each store as the session layer uses it, and the guarantees of `store/mod.rs` on every one.

use std::path::{Path, PathBuf};

use tower_sessions::{
    session::{Id, Record},
    SessionStore,
};

use super::*;

fn record(seconds_left: i64) -> Record {
    Record {
        id: Id::default(),
        data: [("k".to_owned(), serde_json::json!("v"))].into(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::seconds(seconds_left),
    }
}

pub fn temp_db(name: &str) -> PathBuf {
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
    let mut kept = record(60);
    store.create(&mut kept).await.unwrap();
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
    let loaded = again.load(&kept.id).await.unwrap().expect("kept");
    assert_eq!((loaded.id, loaded.data), (kept.id, kept.data));
}

#[tokio::test]
async fn expired_records_are_never_loaded_and_the_sweep_deletes_them() {
    for store in stores("expiry").await {
        let (mut expired, mut live) = (record(-5), record(60));
        store.create(&mut expired).await.unwrap();
        store.create(&mut live).await.unwrap();
        let gone = Key::of_attempt("b", "gone");
        store
            .put_attempt(&gone, "x", now_millis() - 1)
            .await
            .unwrap();
        assert_eq!(store.load(&expired.id).await.unwrap(), None, "{store:?}");
        assert_eq!(store.take_attempt(&gone).await.unwrap(), None);
        store.sweep().await.unwrap();
        assert_eq!(
            store.count().await.unwrap(),
            Counts {
                sessions: 1,
                attempts: 0
            }
        );
        assert!(store.load(&live.id).await.unwrap().is_some());
    }
}

#[tokio::test]
async fn a_deleted_session_is_never_saved_back() {
    for store in stores("ended").await {
        let mut session = record(60);
        store.create(&mut session).await.unwrap();
        store.delete(&session.id).await.unwrap();
        // A request that read the record before the logout saves its copy afterwards.
        store.save(&session).await.unwrap();
        assert_eq!(store.load(&session.id).await.unwrap(), None, "{store:?}");
        assert_eq!(store.count().await.unwrap().sessions, 0);
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
    let mut session = record(60);
    store.create(&mut session).await.unwrap();
    drop(store);
    let file = std::fs::read(&path).unwrap();
    let wal = std::fs::read(format!("{}-wal", path.display())).unwrap_or_default();
    let cookie = session.id.to_string();
    for bytes in [&file, &wal] {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(&cookie), "the cookie value is in the file");
        let raw = session.id.0.to_le_bytes();
        assert!(
            !bytes.windows(16).any(|w| w == raw),
            "the raw id is in the file"
        );
    }
    let key = Key::of_session(&session.id);
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
        &StoreConfig::Redis(format!("redis://127.0.0.1:{port}")),
        SWEEP_INTERVAL,
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    assert!(store.ping().await.is_err());
    assert!(store.load(&Id::default()).await.is_err());
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
    let mut first = record(60);
    a.create(&mut first).await.unwrap();
    assert!(b.load(&first.id).await.unwrap().is_some(), "read, so kept");
    let mut changed = first.clone();
    changed.data.insert("k".into(), serde_json::json!("w"));
    b.save(&changed).await.unwrap();
    assert_eq!(a.load(&first.id).await.unwrap().unwrap().data, changed.data);
    a.remove(&Key::of_session(&first.id)).await.unwrap();
    assert!(b.load(&first.id).await.unwrap().is_none(), "ended for both");
    b.save(&changed).await.unwrap();
    assert!(
        a.load(&first.id).await.unwrap().is_none(),
        "a save after the end does not bring it back"
    );
    drop((a, b));
    let reopened = open().await.unwrap();
    assert!(reopened.load(&first.id).await.unwrap().is_none());
}

/// A new login's record as `record::log_in` leaves it in the session: tokens still in clear.
fn login_record(access_token: &str) -> Record {
    use crate::session::record::{AuthRecord, LoginFacts, ProviderTokens};
    let tokens = ProviderTokens {
        access_token: oauth2::AccessToken::new(access_token.to_owned()),
        refresh_token: None,
        id_token: None,
        expires_at: None,
    };
    let user = shared::User {
        provider: "dev".into(),
        subject: "42".into(),
        login: None,
        name: None,
        email: None,
        avatar_url: None,
    };
    let auth = AuthRecord::new(user, &tokens, LoginFacts::default());
    let mut record = record(60);
    record.data.insert(
        crate::session::record::AUTH_KEY.to_owned(),
        serde_json::to_value(auth).unwrap(),
    );
    record
}

#[tokio::test]
async fn a_new_login_is_written_once_with_its_tokens_sealed_to_its_key_never_in_clear() {
    use crate::crypto::TokenCipher;
    use crate::session::record::AuthRecord;
    use base64::{engine::general_purpose::STANDARD, Engine};
    let key = secrecy::SecretString::from(STANDARD.encode([7u8; 32]));
    let cipher = TokenCipher::new(&key).unwrap();
    for store in stores("sealing").await {
        // Without the token key, the record is refused rather than written in clear.
        let mut unsealed = login_record("at-in-clear");
        assert!(store.create(&mut unsealed).await.is_err());
        assert!(store.load(&unsealed.id).await.unwrap().is_none());

        let store = store.sealing_with(cipher.clone());
        let mut record = login_record("at-in-clear");
        store.create(&mut record).await.unwrap();
        let stored = store.load(&record.id).await.unwrap().unwrap();
        let text = serde_json::to_string(&stored.data).unwrap();
        assert!(!text.contains("at-in-clear"), "{text}");
        assert!(!text.contains("tokens_to_seal"), "{text}");
        let auth: AuthRecord =
            serde_json::from_value(stored.data[crate::session::record::AUTH_KEY].clone()).unwrap();
        let tokens = auth.tokens(&cipher, &record.id).unwrap();
        assert_eq!(tokens.access_token.secret(), "at-in-clear");
        // Sealed to this session's key: under another id they do not open.
        assert!(auth.tokens(&cipher, &Id::default()).is_err());
    }
}
