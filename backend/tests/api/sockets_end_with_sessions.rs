//! Rule 19: a WebSocket through the gateway belongs to the session that opened it. Every way a
//! session ends — logout, "log out everywhere", ending it from the list, back-channel logout, a
//! refused refresh, the idle and the absolute timeout, its provider's rules or its app's
//! policy no longer admitting the person — closes its sockets within 5 s, on every store: in
//! memory, on SQLite, and with two replicas on one Redis, the socket on replica A and the end
//! on replica B. A control socket on a live session stays open and echoes throughout.

use std::time::Duration;

use devprovider::DevProvider;
use reqwest::Method;
use serde_json::json;
use shared::SessionInfo;

use crate::{
    helpers::*, redis_server::RedisServer, sessions_support::*, sockets_support::*,
    upstream::Upstream,
};

/// Where the sessions are kept.
#[derive(Clone, Copy, Debug)]
enum Place {
    Memory,
    Sqlite,
    /// Two replicas on one Redis.
    Redis,
}

/// A backend (or two replicas) in front of the recording app, devprovider telling replica B
/// of its logouts; everyone in the group `people` or `staff` may log in, the app under
/// `/api/team` only `staff`.
struct World {
    provider: DevProvider,
    upstream: Upstream,
    /// Where the sockets are opened.
    a: TestApp,
    /// Where their sessions are ended (A itself but with Redis).
    b: Option<TestApp>,
    _redis: Option<RedisServer>,
}

impl World {
    fn b(&self) -> &TestApp {
        self.b.as_ref().unwrap_or(&self.a)
    }

    /// `user` logged in through replica A: their session cookie.
    async fn log_in(&self, user: &str) -> String {
        let browser = self.a.browser();
        log_in(&browser, user).await;
        browser.session_cookie().expect("a session cookie")
    }
}

/// The configuration of these tests on `store`, `session_lines` added to `[session]`.
fn config(issuer: &str, store: &str, upstream: &str, session_lines: &str) -> String {
    let config = config_with_store(issuer, store).replace(
        &format!("store = \"{store}\""),
        &format!("store = \"{store}\"\n        {session_lines}"),
    );
    format!(
        "{config}
        [providers.{PROVIDER}.allow]
        groups = [\"people\", \"staff\"]

        [policies.staff]
        groups = [\"staff\"]

        [upstreams.app]
        prefix = \"/api/app\"
        url = \"{upstream}\"

        [upstreams.team]
        prefix = \"/api/team\"
        url = \"{upstream}\"
        policy = \"staff\"
        "
    )
}

async fn world(place: Place, name: &str, session_lines: &str) -> World {
    let listeners = [
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    ];
    let b_addr = match place {
        Place::Redis => listeners[1].local_addr().unwrap(),
        _ => listeners[0].local_addr().unwrap(),
    };
    let provider = start_devprovider_with(devprovider::Config {
        clients: vec![devprovider::Client {
            backchannel_logout_uri: Some(format!(
                "http://{b_addr}/api/backchannel-logout/{PROVIDER}"
            )),
            ..dev_client()
        }],
        ..Default::default()
    })
    .await;
    for (user, groups) in [
        ("ada", &["people"][..]),
        ("grace", &["people"]),
        ("alan", &["people"]),
        ("margaret", &["people"]),
        ("edsger", &["people", "staff"]),
        ("barbara", &["staff"]),
    ] {
        provider.set_groups(user, groups).unwrap();
    }
    let upstream = Upstream::start().await;
    let (redis, store) = match place {
        Place::Memory => (None, "memory".to_owned()),
        Place::Sqlite => {
            let db = temp_dir(&format!("sockets-{name}")).join("sessions.db");
            (None, format!("sqlite://{}", db.display()))
        }
        Place::Redis => {
            let redis = RedisServer::start(&format!("sockets-{name}")).await;
            let url = redis.url();
            (Some(redis), url)
        }
    };
    let config = config(&provider.issuer(), &store, &upstream.url(), session_lines);
    let [first, second] = listeners;
    let a = spawn_app_on(first, &config).await;
    let b = match place {
        Place::Redis => Some(spawn_app_on(second, &config).await),
        _ => None,
    };
    World {
        provider,
        upstream,
        a,
        b,
        _redis: redis,
    }
}

/// How often a socket reads its person's facts again in these tests: its own next look at its
/// session comes this long after the login.
const RECHECK: Duration = Duration::from_secs(4);

/// A socket closed this soon after its session was ended elsewhere learnt it from the store's
/// notice (on Redis, from replica B through pub/sub), not from its own next look.
const NOTICED: Duration = Duration::from_secs(2);

/// `socket` closed with 4401 by the store's notice of its session's end.
async fn assert_noticed(socket: &mut Socket, what: &str) {
    let took = assert_closed(socket, 4401, WITHIN, what).await;
    assert!(
        took < NOTICED,
        "{what}: closed after {took:?}, by its own look"
    );
}

/// Every way a session ends, one after the other, each closing the sockets of its session and
/// no other.
async fn every_way_a_session_ends_closes_its_sockets(place: Place, name: &str) {
    let recheck = format!("recheck_secs = {}", RECHECK.as_secs());
    let world = world(place, name, &recheck).await;
    let (a, b) = (&world.a, world.b());
    let ada = world.log_in("ada").await;
    let mut control = open_socket(a, "/api/app/ws", &ada).await;
    assert_echoes(&mut control, "control").await;

    // Logout.
    let grace = world.log_in("grace").await;
    let mut socket = open_socket(a, "/api/app/ws", &grace).await;
    assert_echoes(&mut socket, "grace").await;
    let out = send_with_cookie(b, Method::POST, "/api/logout", Some(json!({})), &grace).await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert_noticed(&mut socket, "logout").await;
    // The app's side was closed too, with the same code.
    app_got_close(&world, 4401).await;

    // Log out everywhere: both of alan's sockets.
    let (laptop, phone) = (world.log_in("alan").await, world.log_in("alan").await);
    let mut on_laptop = open_socket(a, "/api/app/ws", &laptop).await;
    let mut on_phone = open_socket(a, "/api/app/ws", &phone).await;
    let everywhere = Some(json!({ "everywhere": true }));
    let out = send_with_cookie(b, Method::POST, "/api/logout", everywhere, &phone).await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert_noticed(&mut on_laptop, "everywhere, laptop").await;
    assert_noticed(&mut on_phone, "everywhere, phone").await;

    // One session ended from the list of another: only its socket closes.
    let (first, second) = (
        world.log_in("margaret").await,
        world.log_in("margaret").await,
    );
    let mut on_first = open_socket(a, "/api/app/ws", &first).await;
    let mut on_second = open_socket(a, "/api/app/ws", &second).await;
    let list: Vec<SessionInfo> = send_with_cookie(b, Method::GET, "/api/sessions", None, &second)
        .await
        .json();
    let other = list.iter().find(|s| !s.current).expect("the first session");
    let path = format!("/api/sessions/{}", other.id);
    assert_eq!(
        send_with_cookie(b, Method::DELETE, &path, None, &second)
            .await
            .status,
        204
    );
    assert_noticed(&mut on_first, "ended from the list").await;
    assert_echoes(&mut on_second, "the other session stays").await;

    // Back-channel logout: the provider ends grace's sessions there (this one, and the one
    // of her first login), telling replica B.
    let grace = world.log_in("grace").await;
    let mut socket = open_socket(a, "/api/app/ws", &grace).await;
    assert_eq!(world.provider.log_out("grace").await, 2);
    assert_eq!(
        world.provider.stats().backchannel_logout_statuses,
        [200, 200]
    );
    assert_noticed(&mut socket, "back-channel logout").await;

    // A refused refresh: alan revokes Portero's grant at the provider.
    let alan = world.log_in("alan").await;
    let mut socket = open_socket(a, "/api/app/ws", &alan).await;
    revoke_grant(&world, &alan).await;
    let profile = send_with_cookie(b, Method::GET, "/api/profile", None, &alan).await;
    assert_eq!(profile.status, 401, "{}", profile.body);
    assert_noticed(&mut socket, "refused refresh").await;

    // The provider's rule no longer admits barbara: her socket reads her facts again
    // recheck_secs after her login, and her session ends.
    let barbara = world.log_in("barbara").await;
    let mut socket = open_socket(a, "/api/app/ws", &barbara).await;
    world.provider.set_groups("barbara", &[]).unwrap();
    let waited = RECHECK + WITHIN;
    assert_closed(&mut socket, 4401, waited, "no longer admitted").await;
    send_with_cookie(b, Method::GET, "/api/me", None, &barbara)
        .await
        .assert_error(401, "not_logged_in");

    // The app's policy no longer admits edsger: his socket there closes with 1008, his
    // session lives on elsewhere.
    let edsger = world.log_in("edsger").await;
    let mut socket = open_socket(a, "/api/team/ws", &edsger).await;
    assert_echoes(&mut socket, "edsger in the team").await;
    world.provider.set_groups("edsger", &["people"]).unwrap();
    assert_closed(&mut socket, 1008, waited, "policy no longer holds").await;
    app_got_close(&world, 1008).await;
    assert_eq!(
        send_with_cookie(b, Method::GET, "/api/me", None, &edsger)
            .await
            .status,
        200
    );
    send_with_cookie(b, Method::GET, "/api/team/notes", None, &edsger)
        .await
        .assert_error(403, "access_denied");
    assert_eq!(
        send_with_cookie(b, Method::GET, "/api/app/notes", None, &edsger)
            .await
            .status,
        200
    );

    assert_echoes(&mut control, "the control socket is still open").await;
}

/// The app's last WebSocket to end got a close frame of `code` (within a second: Portero
/// writes the browser's first).
async fn app_got_close(world: &World, code: u16) {
    for _ in 0..20 {
        if world.upstream.socket_ends().last() == Some(&Some(code)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the app's socket ends: {:?}", world.upstream.socket_ends());
}

/// The person of session `cookie` revokes Portero's grant at devprovider (RFC 7009, as the
/// provider's "connected apps" page would): its refresh token, and with it the access token.
async fn revoke_grant(world: &World, cookie: &str) {
    let key = portero::session::Key::from_hex(&store_key(cookie)).unwrap();
    let record = world
        .a
        .state
        .sessions()
        .read(&key)
        .await
        .unwrap()
        .and_then(|contents| contents.record())
        .expect("a logged-in record");
    let refresh = record.tokens.refresh_token.expect("a refresh token");
    let revoked = reqwest::Client::new()
        .post(format!("{}/revoke", world.provider.issuer()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("token", refresh.secret().as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
}

#[tokio::test]
async fn every_way_a_session_ends_closes_its_websockets_in_memory() {
    every_way_a_session_ends_closes_its_sockets(Place::Memory, "ends-memory").await;
}

#[tokio::test]
async fn every_way_a_session_ends_closes_its_websockets_on_sqlite() {
    every_way_a_session_ends_closes_its_sockets(Place::Sqlite, "ends-sqlite").await;
}

#[tokio::test]
async fn a_session_ended_on_replica_b_closes_its_websockets_on_replica_a_with_redis() {
    every_way_a_session_ends_closes_its_sockets(Place::Redis, "ends-redis").await;
}

/// The idle timeout (3 s) and the absolute one (7 s) close sockets nobody else calls about:
/// each looks at its session when it would expire. Sessions kept in use through replica B stay
/// alive on A until their absolute end.
async fn timeouts_close_websockets(place: Place, name: &str) {
    let world = world(
        place,
        name,
        "idle_timeout_secs = 3\n        absolute_timeout_secs = 7",
    )
    .await;
    let (a, b) = (&world.a, world.b());
    let idle = world.log_in("grace").await;
    let busy = world.log_in("alan").await;
    let mut idle_socket = open_socket(a, "/api/app/ws", &idle).await;
    let mut busy_socket = open_socket(a, "/api/app/ws", &busy).await;
    // Used every half second through B: the idle expiry keeps moving for alan, and later ada.
    let keep_using = |cookie: String| {
        let b = world.b().url("");
        tokio::spawn(async move {
            loop {
                let _ = reqwest::Client::new()
                    .get(format!("{b}/api/me"))
                    .header("x-csrf", "1")
                    .header("cookie", format!("portero_session={cookie}"))
                    .send()
                    .await;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };
    let busy_user = keep_using(busy.clone());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_echoes(&mut idle_socket, "not idle yet").await;
    assert_closed(&mut idle_socket, 4401, WITHIN, "idle timeout").await;
    send_with_cookie(b, Method::GET, "/api/me", None, &idle)
        .await
        .assert_error(401, "not_logged_in");

    // Logged in 4 s after alan, ada's session outlives his absolute end.
    let control = world.log_in("ada").await;
    let control_user = keep_using(control.clone());
    let mut control_socket = open_socket(a, "/api/app/ws", &control).await;
    assert_echoes(&mut busy_socket, "in use, before its absolute end").await;
    assert_closed(&mut busy_socket, 4401, WITHIN, "absolute timeout").await;
    assert_echoes(&mut control_socket, "the control socket is still open").await;
    busy_user.abort();
    control_user.abort();
}

#[tokio::test]
async fn idle_and_absolute_timeouts_close_websockets_in_memory() {
    timeouts_close_websockets(Place::Memory, "timeouts-memory").await;
}

#[tokio::test]
async fn idle_and_absolute_timeouts_close_websockets_on_sqlite() {
    timeouts_close_websockets(Place::Sqlite, "timeouts-sqlite").await;
}

#[tokio::test]
async fn idle_and_absolute_timeouts_close_websockets_on_replica_a_with_redis() {
    timeouts_close_websockets(Place::Redis, "timeouts-redis").await;
}
