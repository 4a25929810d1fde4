//! Sessions in the default store, SQLite: sessions survive a restart, the file holds no
//! provider token in clear text, and the key rotates without logging anyone out.

use std::path::Path;

use shared::{MeResponse, ProfileResponse};

use crate::{fake_oidc::FakeOidc, helpers::*, sessions_support::*};

const OLD_KEY: &str = SECRET_KEY;
const NEW_KEY: &str = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";

fn sqlite_store(db: &Path) -> String {
    format!("sqlite://{}", db.display())
}

#[tokio::test]
async fn a_session_outlives_a_restart_of_the_backend_on_the_same_sqlite_file() {
    let provider = start_devprovider().await;
    let db = temp_dir("restart").join("data").join("sessions.db");
    let config = config_with_store(&provider.issuer(), &sqlite_store(&db));
    let first = spawn_app_with(&config).await;
    assert!(
        db.exists(),
        "the file and its folder are made on first start"
    );
    let browser = first.browser();
    let user = log_in(&browser, "ada").await;
    let id = browser.session_cookie().expect("a session cookie");
    first.stop().await;

    let second = spawn_app_with(&config).await;
    assert_eq!(
        second.active_sessions().await,
        Some(1),
        "counted from the file"
    );
    let me = call_with_cookie(&second, reqwest::Method::GET, "/api/me", &id).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json::<MeResponse>().user, user);
    // The tokens open too: the profile comes live from the provider.
    let profile = call_with_cookie(&second, reqwest::Method::GET, "/api/profile", &id).await;
    assert_eq!(profile.status, 200, "{}", profile.body);
    assert_eq!(profile.json::<ProfileResponse>().user.subject, user.subject);
}

#[tokio::test]
async fn without_a_key_development_keeps_a_generated_one_next_to_the_file_and_reuses_it() {
    let provider = start_devprovider().await;
    let data = temp_dir("devkey").join("data");
    let config = config_on(&provider.issuer(), &sqlite_store(&data.join("s.db")), "");
    let first = spawn_app_with(&config).await;
    let key_file = data.join("secret.key");
    let key = std::fs::read_to_string(&key_file).expect("a key was generated");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only the backend's user reads the key");
    }
    let browser = first.browser();
    log_in(&browser, "ada").await;
    let id = browser.session_cookie().unwrap();
    first.stop().await;

    let second = spawn_app_with(&config).await;
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), key, "kept");
    let profile = call_with_cookie(&second, reqwest::Method::GET, "/api/profile", &id).await;
    assert_eq!(
        profile.status, 200,
        "the tokens open after the restart: {}",
        profile.body
    );
}

#[tokio::test]
async fn the_sqlite_file_holds_no_provider_token_in_clear_text() {
    let provider = FakeOidc::start().await;
    let db = temp_dir("raw").join("sessions.db");
    let app = spawn_app_with(&config_with_store(&provider.issuer(), &sqlite_store(&db))).await;
    let browser = app.browser();
    let access = "raw-store-access-5b8e2c71";
    let refresh = "raw-store-refresh-c09d4a16";
    let id_token = log_in_with_tokens(&provider, &browser, access, refresh).await;

    let raw = sqlite_rows(&db).await;
    assert!(
        raw.iter().any(|row| row.starts_with("portero_sessions:")),
        "the logged-in session is among the rows: {raw:?}"
    );
    // Rule 22: the record is sealed whole, its index keyed hashes: not even who is logged in.
    let person = ["user-1", "Test Person", "person@example.test"];
    assert_not_in_clear_text(&raw, &[access, refresh, &id_token, CLIENT_SECRET]);
    assert_not_in_clear_text(&raw, &person);
}

#[tokio::test]
async fn sessions_sealed_under_the_old_key_open_once_it_moves_to_previous_keys() {
    let provider = start_devprovider().await;
    let db = temp_dir("rotation").join("sessions.db");
    let store = sqlite_store(&db);
    let issuer = provider.issuer();
    let old = spawn_app_with(&config_on(
        &issuer,
        &store,
        &format!("secret_key = \"{OLD_KEY}\""),
    ))
    .await;
    let browser = old.browser();
    log_in(&browser, "ada").await;
    let id = browser.session_cookie().unwrap();
    old.stop().await;

    // The new key seals; the old one still opens what it sealed.
    let rotated = spawn_app_with(&config_on(
        &issuer,
        &store,
        &format!("secret_key = \"{NEW_KEY}\"\n        previous_keys = [\"{OLD_KEY}\"]"),
    ))
    .await;
    for _ in 0..2 {
        let profile = call_with_cookie(&rotated, reqwest::Method::GET, "/api/profile", &id).await;
        assert_eq!(profile.status, 200, "{}", profile.body);
    }
    rotated.stop().await;

    // The proof that previous_keys did it: without the old key those tokens are lost, and the
    // session ends cleanly (401 session_expired, not a 500).
    let new_only = spawn_app_with(&config_on(
        &issuer,
        &store,
        &format!("secret_key = \"{NEW_KEY}\""),
    ))
    .await;
    call_with_cookie(&new_only, reqwest::Method::GET, "/api/profile", &id)
        .await
        .assert_error(401, "session_expired");
    call_with_cookie(&new_only, reqwest::Method::GET, "/api/me", &id)
        .await
        .assert_error(401, "not_logged_in");
}

#[tokio::test]
async fn no_row_of_the_sqlite_file_holds_a_session_cookie_value() {
    let provider = start_devprovider().await;
    let db = temp_dir("no-cookie").join("sessions.db");
    let config = config_with_store(&provider.issuer(), &sqlite_store(&db));
    let app = spawn_app_with(&config).await;
    // A browser logged in, and one with a login under way.
    let browser = app.browser();
    log_in(&browser, "ada").await;
    let pending = app.browser();
    pending.start_login(PROVIDER, None).await;
    let cookies = [
        browser.session_cookie().expect("logged in"),
        pending.login_cookie().expect("a login under way"),
    ];
    let rows = sqlite_rows(&db).await;
    assert!(
        rows.iter().any(|r| r.starts_with("portero_sessions:")),
        "{rows:?}"
    );
    let file = std::fs::read(&db).unwrap();
    let wal = std::fs::read(format!("{}-wal", db.display())).unwrap_or_default();
    for cookie in &cookies {
        assert!(
            rows.iter().all(|r| !r.contains(cookie.as_str())),
            "{cookie} in {rows:?}"
        );
        for bytes in [&file, &wal] {
            assert!(!String::from_utf8_lossy(bytes).contains(cookie.as_str()));
        }
    }
}

/// Rules 8, 12 and 22: whoever can write the file, but has no key, cannot move a person's
/// sealed record (person, tokens, login time) into a session of their own. Ada's whole record
/// copied into Mallory's row does not open there: the seal is bound to the key of Ada's row, so
/// Mallory's session is refused as if absent (401 `not_logged_in`) before any call to the
/// provider with Ada's tokens, and Ada's own session is untouched.
#[tokio::test]
async fn sealed_tokens_copied_into_another_sessions_row_do_not_open_there() {
    use sqlx::{sqlite::SqliteConnectOptions, Connection, Row};

    let provider = start_devprovider().await;
    let db = temp_dir("moved-tokens").join("sessions.db");
    let config = config_with_store(&provider.issuer(), &sqlite_store(&db));
    let app = spawn_app_with(&config).await;
    let ada = app.browser();
    let ada_user = log_in(&ada, "ada").await;
    let ada_id = ada.session_cookie().expect("a session cookie");
    let mallory = app.browser();
    log_in(&mallory, "grace").await;
    let mallory_id = mallory.session_cookie().expect("a session cookie");
    // Before: each session's tokens open in it.
    for browser in [&ada, &mallory] {
        let profile = browser.get("/api/profile").await;
        assert_eq!(profile.status, 200, "{}", profile.body);
    }

    // Writing the file as an attacker with no key would: Ada's row (and the index columns that
    // find her) into Mallory's. While the backend is stopped: a running one keeps the sessions
    // it read in memory, and holds the file for itself.
    app.stop().await;
    let mut conn = sqlx::SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(&db))
        .await
        .unwrap();
    let key = |cookie: &str| hex_bytes(&store_key(cookie));
    let from = sqlx::query("select data, person, sid from portero_sessions where key = ?1")
        .bind(key(&ada_id))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let done =
        sqlx::query("update portero_sessions set data = ?1, person = ?2, sid = ?3 where key = ?4")
            .bind(from.get::<String, _>(0))
            .bind(from.get::<Option<String>, _>(1))
            .bind(from.get::<Option<String>, _>(2))
            .bind(key(&mallory_id))
            .execute(&mut conn)
            .await
            .unwrap();
    assert_eq!(done.rows_affected(), 1);
    conn.close().await.unwrap();
    let app = spawn_app_with(&config).await;

    let userinfo_before = provider.stats().userinfo_requests;
    call_with_cookie(&app, reqwest::Method::GET, "/api/profile", &mallory_id)
        .await
        .assert_error(401, "not_logged_in");
    assert_eq!(
        provider.stats().userinfo_requests,
        userinfo_before,
        "Ada's tokens never reached the provider from Mallory's session"
    );
    call_with_cookie(&app, reqwest::Method::GET, "/api/me", &mallory_id)
        .await
        .assert_error(401, "not_logged_in");
    let profile = call_with_cookie(&app, reqwest::Method::GET, "/api/profile", &ada_id).await;
    assert_eq!(
        profile.status, 200,
        "Ada's own session still works: {}",
        profile.body
    );
    assert_eq!(profile.json::<ProfileResponse>().user, ada_user);
}
