//! Records sealed whole, as the session layer and the session module use them, on every store
//! of one process (memory, SQLite): what the store holds is unreadable, and what a writer of the
//! store changes is refused.

use base64::{engine::general_purpose::STANDARD, Engine};
use secrecy::SecretString;
use tower_sessions::{
    session::{Id, Record},
    SessionStore,
};

use super::*;
use crate::{
    config::SessionStore as StoreConfig,
    session::{
        record::{LoginFacts, ProviderTokens},
        store::tests::temp_db,
    },
};

fn cipher(byte: u8) -> TokenCipher {
    TokenCipher::new(&SecretString::from(STANDARD.encode([byte; 32]))).unwrap()
}

async fn stores(name: &str) -> Vec<Store> {
    let sqlite = Store::open(
        &StoreConfig::Sqlite(temp_db(&format!("sealed-{name}"))),
        std::time::Duration::from_secs(60),
    )
    .await
    .unwrap();
    vec![Store::memory(), sqlite]
}

/// A new login's record as `record::log_in` leaves it in the session, at a provider that binds
/// its tokens to the session's DPoP key.
fn login_record(subject: &str, access_token: &str) -> Record {
    let tokens = ProviderTokens {
        access_token: oauth2::AccessToken::new(access_token.to_owned()),
        refresh_token: None,
        id_token: None,
        expires_at: None,
        token_type: crate::session::TokenType::Dpop,
        dpop_key: Some(crate::providers::DpopKey::generate()),
    };
    let user = shared::User {
        provider: "dev".into(),
        subject: subject.into(),
        login: None,
        name: None,
        email: None,
        avatar_url: None,
    };
    let facts = LoginFacts {
        user_agent: None,
        sid: Some(format!("sid-of-{subject}")),
        facts: Some(crate::providers::Facts {
            teams: vec!["apollo/flight-software".into()],
            ..Default::default()
        }),
        ..LoginFacts::default()
    };
    let auth = LoginRecord::new(user, &tokens, facts);
    Record {
        id: Id::default(),
        data: [(AUTH_KEY.to_owned(), serde_json::to_value(auth).unwrap())].into(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::minutes(1),
    }
}

#[tokio::test]
async fn a_new_login_is_written_once_with_its_tokens_sealed_to_its_key_never_in_clear() {
    for store in stores("login").await {
        let sealed = SealedStore::new(store.clone(), cipher(7));
        let mut record = login_record("person-42", "at-in-clear");
        sealed.create(&mut record).await.unwrap();
        let key = Key::of_session(&record.id);
        let stored = store.get(&key).await.unwrap().expect("written");
        let auth = &record.data[AUTH_KEY];
        let dpop_key = auth["tokens"]["dpop_key"].as_str().expect("a DPoP key");
        for clear in [
            "at-in-clear",
            "person-42",
            "dev",
            "sid-of",
            "flight-software",
            dpop_key,
        ] {
            assert!(!stored.contains(clear), "{clear} in {stored}");
        }
        let loaded = sealed.load(&record.id).await.unwrap().expect("opens");
        assert_eq!(loaded.data, record.data);
        let auth: LoginRecord = serde_json::from_value(loaded.data[AUTH_KEY].clone()).unwrap();
        assert_eq!(auth.tokens.access_token.secret(), "at-in-clear");
        // Found by the person and by the provider's session, through keyed hashes.
        let of_person = sealed.of_person("dev", "person-42").await.unwrap();
        assert_eq!(of_person.len(), 1, "{store:?}");
        assert_eq!(of_person[0].0, key);
        let of_sid = sealed.of_provider_session("dev", "sid-of-person-42");
        assert_eq!(of_sid.await.unwrap().len(), 1);
        assert!(sealed
            .of_person("dev", "person-43")
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn a_record_changed_in_place_or_copied_under_another_key_is_refused_as_if_absent() {
    for store in stores("refused").await {
        let sealed = SealedStore::new(store.clone(), cipher(7));
        let (mut ada, mut grace, mut mallory) = (
            login_record("ada", "at-ada"),
            login_record("grace", "at-grace"),
            login_record("mallory", "at-mallory"),
        );
        for record in [&mut ada, &mut grace, &mut mallory] {
            sealed.create(record).await.unwrap();
            // Opened once: this process keeps a decoded copy, which must not outlive a change.
            assert!(sealed.load(&record.id).await.unwrap().is_some());
        }
        let key = |record: &Record| Key::of_session(&record.id);
        let entry = |value: String| Entry {
            value,
            expires_at: now_millis() + 60_000,
            person: None,
            sid: None,
        };
        // Grace's record, one character of its sealed body changed.
        let mut changed = store.get(&key(&grace)).await.unwrap().unwrap();
        let last = changed.pop().unwrap();
        changed.push(if last == 'A' { 'B' } else { 'A' });
        assert!(store.update(&key(&grace), &entry(changed)).await.unwrap());
        // Ada's record, copied under Mallory's key.
        let adas = store.get(&key(&ada)).await.unwrap().unwrap();
        assert!(store.update(&key(&mallory), &entry(adas)).await.unwrap());

        assert!(sealed.load(&grace.id).await.unwrap().is_none(), "{store:?}");
        assert!(sealed.load(&mallory.id).await.unwrap().is_none());
        assert!(sealed.read(&key(&mallory)).await.unwrap().is_none());
        assert!(
            sealed.load(&ada.id).await.unwrap().is_some(),
            "Ada's is hers"
        );
        // The store keeps working.
        let mut next = login_record("grace", "at-grace-2");
        sealed.create(&mut next).await.unwrap();
        assert!(sealed.load(&next.id).await.unwrap().is_some());
    }
}

#[tokio::test]
async fn the_sealed_expiry_counts_not_the_one_a_store_writer_moves() {
    for store in stores("expiry").await {
        let sealed = SealedStore::new(store.clone(), cipher(7));
        let mut record = login_record("ada", "at-ada");
        record.expiry_date = time::OffsetDateTime::now_utc() + time::Duration::milliseconds(300);
        sealed.create(&mut record).await.unwrap();
        let key = Key::of_session(&record.id);
        let value = store.get(&key).await.unwrap().unwrap();
        let a_year = now_millis() + 365 * 24 * 3600 * 1000;
        let extended = Entry {
            value,
            expires_at: a_year,
            person: None,
            sid: None,
        };
        assert!(store.update(&key, &extended).await.unwrap());
        assert!(sealed.load(&record.id).await.unwrap().is_some());
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        assert!(
            store.get(&key).await.unwrap().is_some(),
            "the store keeps it"
        );
        assert!(
            sealed.load(&record.id).await.unwrap().is_none(),
            "{store:?}: ended at its sealed expiry"
        );
    }
}

#[tokio::test]
async fn the_index_lists_only_sessions_whose_records_say_they_belong_there() {
    let store = Store::memory();
    let sealed = SealedStore::new(store.clone(), cipher(7));
    let (mut ada, mut grace) = (login_record("ada", "at-ada"), login_record("grace", "at-g"));
    sealed.create(&mut ada).await.unwrap();
    sealed.create(&mut grace).await.unwrap();
    // Grace's key indexed under Ada's name by a writer of the store.
    let ada_index = cipher(7).index_hash("person\ndev\nada");
    let graces = Key::of_session(&grace.id);
    let value = store.get(&graces).await.unwrap().unwrap();
    let moved = Entry {
        value,
        expires_at: now_millis() + 60_000,
        person: Some(ada_index),
        sid: None,
    };
    assert!(store.update(&graces, &moved).await.unwrap());
    let listed = sealed.of_person("dev", "ada").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0, Key::of_session(&ada.id));
}

#[tokio::test]
async fn after_a_rotation_records_open_and_are_found_and_without_the_old_key_they_end() {
    let store = Store::memory();
    let old = SealedStore::new(store.clone(), cipher(1));
    let mut record = login_record("ada", "at-ada");
    old.create(&mut record).await.unwrap();

    let previous = SecretString::from(STANDARD.encode([1u8; 32]));
    let rotated = SealedStore::new(store.clone(), cipher(2).with_previous(&[previous]).unwrap());
    assert!(rotated.load(&record.id).await.unwrap().is_some());
    assert_eq!(rotated.of_person("dev", "ada").await.unwrap().len(), 1);

    let new_only = SealedStore::new(store, cipher(2));
    let lost = new_only.load(&record.id).await.unwrap().expect("a record");
    assert_eq!(lost.data.keys().collect::<Vec<_>>(), [KEY_LOST]);
}
