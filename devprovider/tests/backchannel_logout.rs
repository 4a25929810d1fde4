//! OpenID Connect Back-Channel Logout 1.0 in the standard dialect: each login is a provider
//! session named by `sid`; logging out (the `/logout` page or `DevProvider::log_out`) POSTs a
//! signed logout token to every client that got tokens in it. A small axum listener on
//! 127.0.0.1 plays the client's `backchannel_logout_uri`.

mod common;
#[path = "common/standard.rs"]
mod standard;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderMap};
use axum::routing::post;
use axum::Router;
use common::*;
use devprovider::{Client, Config, DevProvider, Dialect, Stats};
use reqwest::StatusCode;
use serde_json::{json, Value};
use standard::*;

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// One POST the client's back-channel endpoint received.
#[derive(Clone)]
struct Post {
    content_type: String,
    logout_token: Option<String>,
    at: Instant,
}

/// The client's `backchannel_logout_uri`: records each POST, answers `status`.
struct Receiver {
    url: String,
    posts: Arc<Mutex<Vec<Post>>>,
}

impl Receiver {
    async fn start(status: u16) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/backchannel-logout",
            listener.local_addr().unwrap()
        );
        let posts = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(status));
        let recorded = posts.clone();
        let app = Router::new().route(
            "/backchannel-logout",
            post(move |headers: HeaderMap, body: String| async move {
                let content_type = headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let logout_token = url::form_urlencoded::parse(body.as_bytes())
                    .find(|(name, _)| name == "logout_token")
                    .map(|(_, token)| token.into_owned());
                recorded.lock().unwrap().push(Post {
                    content_type,
                    logout_token,
                    at: Instant::now(),
                });
                StatusCode::from_u16(status.load(Ordering::Relaxed)).unwrap()
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, posts }
    }

    fn posts(&self) -> Vec<Post> {
        self.posts.lock().unwrap().clone()
    }

    /// The logout tokens received, in order.
    fn tokens(&self) -> Vec<String> {
        self.posts()
            .into_iter()
            .map(|p| p.logout_token.expect("a logout_token field"))
            .collect()
    }
}

fn with_logout_uri(client: Client, uri: &str) -> Client {
    Client {
        backchannel_logout_uri: Some(uri.to_owned()),
        ..client
    }
}

/// The standard dialect with `portero` telling `receiver`, and any `others`.
async fn spawn_told(receiver: &Receiver, others: Vec<Client>) -> TestProvider {
    let mut clients = vec![with_logout_uri(portero_client(), &receiver.url)];
    clients.extend(others);
    spawn_provider_with(Config {
        clients,
        ..Config::default()
    })
    .await
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl TestProvider {
    /// The `sid` of an id token from this provider.
    async fn sid_of(&self, tokens: &Value) -> String {
        let claims = self
            .verified_claims(tokens["id_token"].as_str().unwrap())
            .await;
        claims["sid"].as_str().expect("a sid").to_owned()
    }
}

#[tokio::test]
async fn discovery_advertises_back_channel_logout_with_sessions() {
    let app = spawn_provider().await;
    let doc = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(doc["backchannel_logout_supported"], true);
    assert_eq!(doc["backchannel_logout_session_supported"], true);
    let claims = doc["claims_supported"].as_array().unwrap();
    assert!(claims.contains(&json!("sid")), "{claims:?}");
}

#[tokio::test]
async fn each_completed_login_is_a_session_named_by_sid_in_its_id_tokens() {
    let app = spawn_provider().await;
    let first = app.tokens_for_ada().await;
    let second = app.tokens_for_ada().await;
    let sid = app.sid_of(&first).await;
    assert!(sid.len() >= 22, "an unguessable sid: {sid}");
    assert_ne!(sid, app.sid_of(&second).await);
    // A refreshed id token belongs to the same session.
    let refreshed: Value = app
        .refresh(first["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(app.sid_of(&refreshed).await, sid);
}

#[tokio::test]
async fn logging_out_posts_a_signed_logout_token_to_the_client() {
    let receiver = Receiver::start(200).await;
    let app = spawn_told(&receiver, Vec::new()).await;
    let tokens = app.tokens_for_ada().await;
    let sid = app.sid_of(&tokens).await;

    assert_eq!(app.provider.log_out("ada").await, 1);
    let posts = receiver.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].content_type, "application/x-www-form-urlencoded");
    let (header, claims) = app.verified_jwt(&receiver.tokens()[0]).await;
    assert_eq!(header["typ"], "logout+jwt");
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["iss"], app.provider.issuer());
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["sub"], "user-ada");
    assert_eq!(claims["sid"], sid);
    assert_eq!(claims["events"], json!({ EVENT: {} }));
    assert!(claims.get("nonce").is_none(), "{claims}");
    let iat = claims["iat"].as_u64().unwrap();
    assert!(iat.abs_diff(unix_now()) < 5, "{iat}");
    assert!(claims["exp"].as_u64().unwrap() > iat);
    assert!(claims["jti"].as_str().is_some_and(|jti| !jti.is_empty()));
    assert_eq!(
        app.provider.stats(),
        Stats {
            token_requests: 1,
            authorization_code_grants: 1,
            backchannel_logouts: 1,
            backchannel_logout_statuses: vec![200],
            ..Stats::default()
        }
    );

    // The session is gone: logging out again tells nobody.
    assert_eq!(app.provider.log_out("ada").await, 0);
    assert_eq!(receiver.posts().len(), 1);
}

#[tokio::test]
async fn every_session_of_the_user_and_every_client_in_it_get_their_own_token() {
    let receiver = Receiver::start(200).await;
    let other_receiver = Receiver::start(200).await;
    let other = with_logout_uri(
        other_client("other", "other-secret", REDIRECT_URI),
        &other_receiver.url,
    );
    let quiet = other_client("quiet", "quiet-secret", REDIRECT_URI);
    let app = spawn_told(&receiver, vec![other, quiet]).await;

    let sids: HashSet<String> = [
        app.sid_of(&app.tokens_for_ada().await).await,
        app.sid_of(&app.tokens_for_ada().await).await,
    ]
    .into();
    for (id, secret) in [("other", "other-secret"), ("quiet", "quiet-secret")] {
        let code = app.code_for(&changed(|r| r.client_id = id)).await;
        let response = app.exchange_as(id, secret, &code).await;
        assert_eq!(response.status(), StatusCode::OK, "{id}");
    }
    app.tokens_for("grace").await;

    assert_eq!(app.provider.log_out("ada").await, 4);
    let mut jtis = HashSet::new();
    let mut told_sids = HashSet::new();
    for token in receiver.tokens() {
        let (_, claims) = app.verified_jwt(&token).await;
        assert_eq!(claims["aud"], CLIENT_ID);
        told_sids.insert(claims["sid"].as_str().unwrap().to_owned());
        jtis.insert(claims["jti"].as_str().unwrap().to_owned());
    }
    assert_eq!(told_sids, sids, "one token per session of ada's at portero");
    let other_tokens = other_receiver.tokens();
    assert_eq!(other_tokens.len(), 1);
    let (_, claims) = app.verified_jwt(&other_tokens[0]).await;
    assert_eq!(claims["aud"], "other");
    assert!(!sids.contains(claims["sid"].as_str().unwrap()));
    jtis.insert(claims["jti"].as_str().unwrap().to_owned());
    assert_eq!(jtis.len(), 3, "unique jti");
    // `quiet` registered no backchannel_logout_uri; grace is still signed in.
    assert_eq!(app.provider.stats().backchannel_logouts, 3);
    let page = app.get("/logout", &[]).await.text().await.unwrap();
    assert!(page.contains(r#"data-logout="grace""#), "{page}");
    assert!(!page.contains(r#"data-logout="ada""#), "{page}");
}

#[tokio::test]
async fn a_client_that_never_redeemed_its_code_is_not_told() {
    let receiver = Receiver::start(200).await;
    let app = spawn_told(&receiver, Vec::new()).await;
    app.code_for(&AuthRequest::default()).await;
    assert_eq!(app.provider.log_out("ada").await, 1);
    assert!(receiver.posts().is_empty());
    assert_eq!(app.provider.stats().backchannel_logouts, 0);
}

#[tokio::test]
async fn the_logout_page_lists_who_is_signed_in_and_its_button_logs_out() {
    let receiver = Receiver::start(200).await;
    let app = spawn_told(&receiver, Vec::new()).await;
    let page = app.get("/logout", &[]).await.text().await.unwrap();
    assert!(page.contains("Nobody is signed in here."), "{page}");

    app.tokens_for("barbara").await;
    let page = app.get("/logout", &[]).await.text().await.unwrap();
    assert!(page.contains(r#"action="/logout""#), "{page}");
    assert!(page.contains(r#"data-logout="barbara""#), "{page}");
    assert!(page.contains("with portero"), "{page}");

    let done = app.post_form("/logout", &[("user", "barbara")]).await;
    assert_eq!(done.status(), StatusCode::OK);
    let page = done.text().await.unwrap();
    assert!(
        page.contains("barbara is logged out (1 session(s) ended); clients told: HTTP 200."),
        "{page}"
    );
    assert!(!page.contains(r#"data-logout="barbara""#), "{page}");
    let (_, claims) = app.verified_jwt(&receiver.tokens()[0]).await;
    assert_eq!(claims["sub"], "user-barbara");

    let unknown = app.post_form("/logout", &[("user", "mallory")]).await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    // The login page leads there.
    let login = app.authorize(&AuthRequest::default()).await;
    assert!(login.text().await.unwrap().contains(r#"href="/logout""#));
}

#[tokio::test]
async fn refusals_and_silence_are_counted() {
    let refusing = Receiver::start(400).await;
    // A port nobody listens on: bound, then released.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent = format!("http://{}/logout", closed.local_addr().unwrap());
    drop(closed);
    let other = with_logout_uri(other_client("other", "other-secret", REDIRECT_URI), &silent);
    let app = spawn_told(&refusing, vec![other]).await;
    app.tokens_for_ada().await;
    let code = app.code_for(&changed(|r| r.client_id = "other")).await;
    let response = app.exchange_as("other", "other-secret", &code).await;
    assert_eq!(response.status(), StatusCode::OK);

    assert_eq!(app.provider.log_out("ada").await, 2);
    let stats = app.provider.stats();
    assert_eq!(stats.backchannel_logouts, 2);
    assert_eq!(stats.backchannel_logout_statuses, vec![400]);
}

#[tokio::test]
async fn a_logout_while_a_refresh_reply_is_held_reaches_the_client_first() {
    let receiver = Receiver::start(200).await;
    let app = spawn_told(&receiver, Vec::new()).await;
    let tokens = app.tokens_for_ada().await;
    app.provider.set_refresh_delay(Duration::from_millis(500));

    let refresh = async {
        let response = app.refresh(tokens["refresh_token"].as_str().unwrap()).await;
        (response, Instant::now())
    };
    let logout = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        app.provider.log_out("ada").await
    };
    let ((response, answered_at), ended) = tokio::join!(refresh, logout);
    assert_eq!(ended, 1);
    // The refresh was granted before the logout; only its reply waited.
    assert_eq!(response.status(), StatusCode::OK);
    let posts = receiver.posts();
    assert_eq!(posts.len(), 1);
    assert!(posts[0].at < answered_at);
    assert_eq!(app.provider.stats().refresh_grants, 1);
}

#[tokio::test]
async fn only_the_standard_dialect_takes_a_backchannel_logout_uri() {
    for dialect in [Dialect::Github, Dialect::Intra42] {
        let config = Config {
            clients: vec![with_logout_uri(
                client(REDIRECT_URI),
                "http://127.0.0.1:9/logout",
            )],
            ..Config::for_dialect(dialect)
        };
        let error = DevProvider::start(config).await.err().expect("refused");
        assert!(
            error.to_string().contains("backchannel_logout_uri"),
            "{error}"
        );
    }
}
