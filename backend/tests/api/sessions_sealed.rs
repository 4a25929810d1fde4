//! Rule 22 on every store: a session record is sealed whole. Whoever can write the store but has
//! no key cannot change a record in place, move it under another session's key (Ada's tokens in
//! Mallory's session), or make it live longer than its sealed expiry: such a record is refused
//! as if absent (401 `not_logged_in`, `/api/me` and `/api/auth` included), and the store goes on
//! serving everyone else.

use std::path::PathBuf;
use std::time::Duration;

use portero::session::{Entry, Key, Store};
use reqwest::Method;
use shared::{MeResponse, SessionInfo};

use crate::{helpers::*, redis_server::RedisServer, sessions_support::*};

/// Where the sessions are.
enum Place {
    Memory,
    Sqlite(PathBuf),
    Redis(RedisServer),
}

impl Place {
    fn sqlite(name: &str) -> Place {
        Place::Sqlite(temp_dir(&format!("sealed-{name}")).join("sessions.db"))
    }

    async fn redis(name: &str) -> Place {
        Place::Redis(RedisServer::start(&format!("sealed-{name}")).await)
    }

    fn store(&self) -> String {
        match self {
            Place::Memory => "memory".into(),
            Place::Sqlite(db) => format!("sqlite://{}", db.display()),
            Place::Redis(redis) => redis.url(),
        }
    }
}

/// Someone who writes the store with no key: in the memory store through the handle the
/// backend's state keeps, in the SQLite file with a connection of their own (the backend
/// stopped: a running one holds the file and keeps what it read in memory), in Redis with
/// commands to the real server.
enum Writer<'a> {
    Memory(Store),
    Sqlite(&'a std::path::Path),
    Redis(&'a RedisServer),
}

const A_YEAR_MS: i64 = 365 * 24 * 3600 * 1000;

fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap()
}

impl<'a> Writer<'a> {
    fn of(place: &'a Place, app: &TestApp) -> Writer<'a> {
        match place {
            Place::Memory => Writer::Memory(app.state.store().clone()),
            Place::Sqlite(db) => Writer::Sqlite(db),
            Place::Redis(redis) => Writer::Redis(redis),
        }
    }

    /// The backend as it must be while this writer writes: stopped for SQLite.
    async fn begin(&self, app: TestApp) -> Option<TestApp> {
        match self {
            Writer::Sqlite(_) => {
                app.stop().await;
                None
            }
            _ => Some(app),
        }
    }

    /// The backend again once the writer is done (started again on `config` if it was stopped).
    async fn end(&self, app: Option<TestApp>, config: &str) -> TestApp {
        match app {
            Some(app) => app,
            None => spawn_app_with(config).await,
        }
    }

    async fn sqlite(db: &std::path::Path) -> sqlx::SqliteConnection {
        use sqlx::{sqlite::SqliteConnectOptions, Connection};
        let options = SqliteConnectOptions::new().filename(db);
        sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap()
    }

    /// Runs `update` on the SQLite file: it must change one row.
    async fn one_row<'q>(
        db: &std::path::Path,
        update: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    ) {
        let mut conn = Self::sqlite(db).await;
        assert_eq!(update.execute(&mut conn).await.unwrap().rows_affected(), 1);
    }

    /// What the store holds for the session of cookie value `cookie`, unless it expired there
    /// (whatever Portero makes of it).
    async fn stored(&self, cookie: &str) -> Option<String> {
        let key = store_key(cookie);
        match self {
            Writer::Memory(store) => store.get(&Key::from_hex(&key).unwrap()).await.unwrap(),
            Writer::Sqlite(db) => {
                let mut conn = Self::sqlite(db).await;
                sqlx::query_scalar(
                    "select data from portero_sessions where key = ?1 and expires_at > ?2",
                )
                .bind(hex_bytes(&key))
                .bind(now_ms())
                .fetch_optional(&mut conn)
                .await
                .unwrap()
            }
            Writer::Redis(redis) => {
                let reply = redis.command(&["GET", &format!("portero:s:{key}")]).await;
                let reply = reply.expect("redis answers");
                // `$-1` for none, else `$len` and the value.
                let mut lines = reply.split("\r\n");
                let head = lines.next().unwrap_or_default();
                (head != "$-1").then(|| lines.next().expect("a value").to_owned())
            }
        }
    }

    async fn value(&self, cookie: &str) -> String {
        let value = self.stored(cookie).await;
        value.expect("the session is in the store")
    }

    /// Writes `value` as the session of `cookie`, leaving its expiry in the store as it was (a
    /// year from now in memory, which shows no expiry).
    async fn put(&self, cookie: &str, value: &str) {
        let key = store_key(cookie);
        match self {
            Writer::Memory(store) => {
                let entry = Entry {
                    value: value.to_owned(),
                    expires_at: now_ms() + A_YEAR_MS,
                    person: None,
                    sid: None,
                };
                let key = Key::from_hex(&key).unwrap();
                assert!(store.update(&key, &entry).await.unwrap());
            }
            Writer::Sqlite(db) => {
                let update = sqlx::query("update portero_sessions set data = ?1 where key = ?2");
                Self::one_row(db, update.bind(value).bind(hex_bytes(&key))).await;
            }
            Writer::Redis(redis) => {
                let name = format!("portero:s:{key}");
                let reply = redis.command(&["SET", &name, value, "KEEPTTL", "XX"]).await;
                assert!(reply.unwrap().starts_with("+OK"));
            }
        }
    }

    /// Makes the store keep the session of `cookie` a year (or, in Redis, for ever).
    async fn outlive(&self, cookie: &str) {
        let key = store_key(cookie);
        match self {
            Writer::Memory(_) => self.put(cookie, &self.value(cookie).await).await,
            Writer::Sqlite(db) => {
                let update =
                    sqlx::query("update portero_sessions set expires_at = ?1 where key = ?2");
                let update = update.bind(now_ms() + A_YEAR_MS).bind(hex_bytes(&key));
                Self::one_row(db, update).await;
            }
            Writer::Redis(redis) => {
                let reply = redis
                    .command(&["PERSIST", &format!("portero:s:{key}")])
                    .await;
                assert!(reply.unwrap().starts_with(":1"));
            }
        }
    }
}

/// One character of a sealed value's body changed.
fn changed(value: &str) -> String {
    let mut chars: Vec<char> = value.chars().collect();
    let at = chars.len() - 10;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// Every way a refused session answers: as if it were not there.
async fn assert_refused(app: &TestApp, cookie: &str) {
    for path in ["/api/me", "/api/auth", "/api/profile", "/api/sessions"] {
        call_with_cookie(app, Method::GET, path, cookie)
            .await
            .assert_error(401, "not_logged_in");
    }
}

async fn a_record_changed_or_moved_is_refused_as_if_absent(place: Place) {
    let provider = start_devprovider().await;
    let config = config_with_store(&provider.issuer(), &place.store());
    let app = spawn_app_with(&config).await;
    let (ada, grace, mallory) = (app.browser(), app.browser(), app.browser());
    let ada_user = log_in(&ada, "ada").await;
    log_in(&grace, "grace").await;
    log_in(&mallory, "alan").await;
    let cookie = |browser: &Browser| browser.session_cookie().expect("a session cookie");
    let (ada, grace, mallory) = (cookie(&ada), cookie(&grace), cookie(&mallory));

    let writer = Writer::of(&place, &app);
    let stopped = writer.begin(app).await;
    let graces = writer.value(&grace).await;
    writer.put(&grace, &changed(&graces)).await;
    // Ada's record, tokens and all, into Mallory's session.
    let adas = writer.value(&ada).await;
    writer.put(&mallory, &adas).await;
    let app = writer.end(stopped, &config).await;

    let userinfo_before = provider.stats().userinfo_requests;
    assert_refused(&app, &grace).await;
    assert_refused(&app, &mallory).await;
    assert_eq!(
        provider.stats().userinfo_requests,
        userinfo_before,
        "Ada's tokens never reached the provider from Mallory's session"
    );

    // The store keeps working: Ada's session, as it was; new logins, the refused included.
    let me = call_with_cookie(&app, Method::GET, "/api/me", &ada).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json::<MeResponse>().user, ada_user);
    let profile = call_with_cookie(&app, Method::GET, "/api/profile", &ada).await;
    assert_eq!(profile.status, 200, "{}", profile.body);
    let sessions = call_with_cookie(&app, Method::GET, "/api/sessions", &ada).await;
    assert_eq!(
        sessions.json::<Vec<SessionInfo>>().len(),
        1,
        "{}",
        sessions.body
    );
    for user in ["grace", "alan"] {
        let again = app.browser();
        log_in(&again, user).await;
        let me = again.get("/api/me").await;
        assert_eq!(me.status, 200, "{user} logs in again: {}", me.body);
        assert_eq!(me.json::<MeResponse>().user.login.as_deref(), Some(user));
    }
}

async fn a_store_writer_cannot_make_a_session_outlive_its_sealed_expiry(place: Place) {
    let provider = start_devprovider().await;
    let config = config_with_store(&provider.issuer(), &place.store()).replace(
        &format!("store = \"{}\"", place.store()),
        &format!(
            "store = \"{}\"\n        idle_timeout_secs = 3",
            place.store()
        ),
    );
    let app = spawn_app_with(&config).await;
    let browser = app.browser();
    log_in(&browser, "ada").await;
    let ada = browser.session_cookie().expect("a session cookie");

    let writer = Writer::of(&place, &app);
    let stopped = writer.begin(app).await;
    writer.outlive(&ada).await;
    let app = writer.end(stopped, &config).await;
    // Unused for longer than the idle timeout: over, whatever the store says.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        writer.stored(&ada).await.is_some(),
        "the store kept the record"
    );
    assert_refused(&app, &ada).await;
    // A session that is used lives on.
    let browser = app.browser();
    log_in(&browser, "grace").await;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(browser.get("/api/me").await.status, 200);
    }
}

#[tokio::test]
async fn in_memory_a_record_changed_in_place_or_copied_under_another_key_is_refused_as_if_absent() {
    a_record_changed_or_moved_is_refused_as_if_absent(Place::Memory).await;
}

#[tokio::test]
async fn in_sqlite_a_record_changed_in_place_or_copied_under_another_key_is_refused_as_if_absent() {
    a_record_changed_or_moved_is_refused_as_if_absent(Place::sqlite("refused")).await;
}

#[tokio::test]
async fn in_redis_a_record_changed_in_place_or_copied_under_another_key_is_refused_as_if_absent() {
    a_record_changed_or_moved_is_refused_as_if_absent(Place::redis("refused").await).await;
}

#[tokio::test]
async fn in_memory_a_store_writer_cannot_make_a_session_outlive_its_sealed_expiry() {
    a_store_writer_cannot_make_a_session_outlive_its_sealed_expiry(Place::Memory).await;
}

#[tokio::test]
async fn in_sqlite_a_store_writer_cannot_make_a_session_outlive_its_sealed_expiry() {
    let place = Place::sqlite("outlive");
    a_store_writer_cannot_make_a_session_outlive_its_sealed_expiry(place).await;
}

#[tokio::test]
async fn in_redis_a_store_writer_cannot_make_a_session_outlive_its_sealed_expiry() {
    let place = Place::redis("outlive").await;
    a_store_writer_cannot_make_a_session_outlive_its_sealed_expiry(place).await;
}
