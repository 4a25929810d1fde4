//! What the `sessions_*` tests share: a backend on a chosen store and key, a login through
//! devprovider (or FakeOidc, with known tokens) in any of its dialects, a request carrying a
//! given session cookie, what the store holds checked for tokens, a folder under target/.

use std::path::PathBuf;

use devprovider::{Config, DevProvider, Dialect};
use reqwest::Method;
use serde_json::json;
use shared::{SessionResponse, User};

use crate::{fake_oidc::FakeOidc, helpers::*};

/// `config_toml(issuer)` with `store` instead of memory and `key_lines` instead of the test key
/// (`""` for no key at all).
pub fn config_on(issuer: &str, store: &str, key_lines: &str) -> String {
    let config = config_toml(issuer)
        .replace("store = \"memory\"", &format!("store = \"{store}\""))
        .replace(&format!("secret_key = \"{SECRET_KEY}\""), key_lines);
    assert!(config.contains(&format!("store = \"{store}\"")));
    config
}

/// devprovider in `dialect` as provider `p` of `kind`, its endpoints named; `extra` follows
/// the provider's keys (its `allow` table, an upstream, …).
pub async fn with_dialect(dialect: Dialect, kind: &str, extra: &str) -> (TestApp, DevProvider) {
    let (provider, table) = devprovider_as(dialect, kind, Config::for_dialect(dialect)).await;
    (
        spawn_app_with(&format!("{table}        {extra}\n")).await,
        provider,
    )
}

/// `config_toml(issuer)` with `store` instead of memory, and the test key.
pub fn config_with_store(issuer: &str, store: &str) -> String {
    config_on(issuer, store, &format!("secret_key = \"{SECRET_KEY}\""))
}

/// A login at FakeOidc whose access and refresh tokens are `access` and `refresh`, values to
/// look for in what the store holds; its id_token.
pub async fn log_in_with_tokens(
    provider: &FakeOidc,
    browser: &Browser,
    access: &str,
    refresh: &str,
) -> String {
    provider
        .log_in(
            browser,
            json!({ "access_token": access, "refresh_token": refresh, "token_type": "Bearer",
                    "expires_in": 3600 }),
            json!({ "sub": "user-1", "name": "Test Person" }),
        )
        .await
}

/// Rule 8 at rest: none of `secrets` stands in clear text in `stored`, what the store holds.
pub fn assert_not_in_clear_text(stored: &[String], secrets: &[&str]) {
    for secret in secrets {
        assert!(
            stored.iter().all(|v| !v.contains(secret)),
            "{secret} in clear text"
        );
    }
}

/// A fresh, empty folder under target/ for this test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sessions-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The whole login of `user` at devprovider, as the SPA and a person do it.
pub async fn log_in(browser: &Browser, user: &str) -> User {
    let reply = log_in_at(browser, PROVIDER, user).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json::<SessionResponse>().user
}

/// The whole login of `user` with `provider` (any of devprovider's dialects); the answer of
/// `POST /api/session`, whatever it is.
pub async fn log_in_at(browser: &Browser, provider: &str, user: &str) -> Reply {
    let login = browser.start_login(provider, None).await;
    let callback = consent(&login, user, "allow").await;
    browser
        .post_session(callback_body(provider, &callback))
        .await
}

/// A request to `app` carrying the session cookie `id`, as the same browser would send it to
/// another replica behind a load balancer.
pub async fn call_with_cookie(app: &TestApp, method: Method, path: &str, id: &str) -> Reply {
    send_with_cookie(app, method, path, None, id).await
}

/// [`call_with_cookie`] with a JSON `body`.
pub async fn send_with_cookie(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
    id: &str,
) -> Reply {
    let cookie = format!("portero_session={id}");
    app.browser()
        .request(
            method,
            path,
            body,
            &[("x-csrf", "1"), ("origin", ORIGIN), ("cookie", &cookie)],
        )
        .await
}

/// Every row of every table of the SQLite file at `db`, each as one line of text (blobs as hex),
/// read with a connection of its own as a reader of the file (or of a backup) would.
pub async fn sqlite_rows(db: &std::path::Path) -> Vec<String> {
    use sqlx::{sqlite::SqliteConnectOptions, Column, Connection, Row, ValueRef};
    let mut conn = sqlx::SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(db))
        .await
        .unwrap();
    let tables: Vec<(String,)> =
        sqlx::query_as("select name from sqlite_master where type = 'table'")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let mut lines = Vec::new();
    for (table,) in tables {
        let rows = sqlx::query(&format!("select * from {table}"))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        for row in rows {
            let mut line = format!("{table}:");
            for column in row.columns() {
                let i = column.ordinal();
                let cell = if row.try_get_raw(i).unwrap().is_null() {
                    "null".to_owned()
                } else if let Ok(text) = row.try_get::<String, _>(i) {
                    text
                } else if let Ok(bytes) = row.try_get::<Vec<u8>, _>(i) {
                    bytes.iter().map(|b| format!("{b:02x}")).collect()
                } else {
                    row.try_get::<i64, _>(i).unwrap().to_string()
                };
                line.push(' ');
                line.push_str(&cell);
            }
            lines.push(line);
        }
    }
    lines
}

/// The key the store keeps the session of cookie value `cookie` under, in hex: a SHA-256 of the
/// session id (rule 12), worked out as anyone who reads the code can.
pub fn store_key(cookie: &str) -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use sha2::{Digest, Sha256};
    let id = URL_SAFE_NO_PAD
        .decode(cookie)
        .expect("a session id is base64");
    assert_eq!(id.len(), 16, "a session id is 128 bits");
    Sha256::new()
        .chain_update(b"portero session\0")
        .chain_update(&id)
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `hex` as bytes: a store key as SQLite keeps it.
pub fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// One refresh for all the requests that needed one (`before`: devprovider's refresh grants
/// until then), and its rotated refresh token kept: the refresh of `profile`, 4 s later (the
/// 33 s tokens inside the margin again), works too.
pub async fn assert_refreshed_once_and_the_rotated_token_kept<F, Fut>(
    provider: &devprovider::DevProvider,
    before: usize,
    profile: F,
) where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = reqwest::StatusCode>,
{
    assert_eq!(
        provider.stats().refresh_grants - before,
        1,
        "one refresh for both replicas"
    );
    provider.set_refresh_delay(std::time::Duration::ZERO);
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    assert_eq!(profile().await, 200);
    assert_eq!(provider.stats().refresh_grants - before, 2);
}

/// A refresh of `browser`'s session under way at `provider`: 4 s after the login its 33 s tokens
/// are inside the 30 s refresh margin, devprovider holds the refresh 1.2 s (within the 2 s
/// provider timeout, so it succeeds); returned 300 ms into it, with the `/api/profile` call that
/// refreshes.
pub async fn slow_refresh_under_way(
    browser: &std::sync::Arc<Browser>,
    provider: &devprovider::DevProvider,
) -> tokio::task::JoinHandle<Reply> {
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    provider.set_refresh_delay(std::time::Duration::from_millis(1200));
    let refreshing = {
        let browser = browser.clone();
        tokio::spawn(async move { browser.get("/api/profile").await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    refreshing
}
