//! Criterion micro-benchmarks of the pieces every login and every request goes through.
//! `cargo xtask bench` runs them briefly and copies the medians into
//! docs/BENCHMARKS.md; `cargo bench -p portero --bench hot_paths` runs them at length.
//!
//! - `session/load_*`: a logged-in session read from the store and opened (the whole record is
//!   sealed, XChaCha20-Poly1305: what `/api/me` does); `session/load_open_save_*`: read, given
//!   new tokens, sealed again and saved (a refresh) — with the memory store and a SQLite file.
//! - `auth_record/*`: sealing and opening a logged-in session's whole record alone.
//! - `state/*`: a login attempt created (state, PKCE verifier, saved in the session) and
//!   checked (constant-time lookup, single use), through the real `Provider::authorize`.
//! - `id_token/verify_rs256`: an RS256 id_token checked as OpenID Connect logins do
//!   (signature against a JWKS of Portero's keys, ring's RSA: `iss`, `aud`, `exp`, `nonce`).
//! - `assertion/sign`: the `X-Portero-Assertion` JWT signed (Ed25519), as for the first request
//!   of a person to an app in a second; `assertion/sign_again`: the same claims again within
//!   their second (the JWT signed before, byte for byte); `assertion/identity_headers`: all the
//!   `X-Portero-*` headers of a request, as the gateway adds them to each.

use std::{sync::Arc, time::Duration};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use criterion::{criterion_group, criterion_main, Criterion};
use openidconnect::{
    core::CoreIdToken, AccessToken, ClientId, IdTokenVerifier, IssuerUrl, JsonWebKeySet, Nonce,
    RefreshToken,
};
use portero::{
    assertion::{AssertionClaims, Signer as AssertionSigner},
    config::{Config, SessionStore as StoreConfig},
    crypto::TokenCipher,
    gateway::identity_headers,
    providers::{Jwk, Providers},
    session::{self, IdToken, Key, LoginAttempt, LoginRecord, ProviderTokens, SealedStore, Store},
};
use rsa::{
    pkcs1v15::SigningKey,
    signature::{SignatureEncoding, Signer},
    traits::PublicKeyParts,
    RsaPrivateKey,
};
use secrecy::SecretString;
use serde_json::json;
use sha2::Sha256;
use shared::User;
use tokio::runtime::Runtime;
use tower_sessions::{Session, SessionStore};

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const ISSUER: &str = "https://login.example.com";
const CLIENT_ID: &str = "portero-bench";

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn cipher() -> TokenCipher {
    TokenCipher::new(&SecretString::from(KEY)).expect("a valid key")
}

fn user() -> User {
    User {
        provider: "dev".into(),
        subject: "user-ada".into(),
        login: Some("ada".into()),
        name: Some("Ada Lovelace".into()),
        email: Some("ada@example.com".into()),
        avatar_url: Some("https://avatars.example.com/ada.png".into()),
    }
}

/// Tokens the size real providers hand out: an opaque access token, a refresh token and an
/// RS256 id_token of about 900 bytes.
fn tokens() -> ProviderTokens {
    ProviderTokens {
        access_token: AccessToken::new("at_".to_owned() + &"a".repeat(40)),
        refresh_token: Some(RefreshToken::new("rt_".to_owned() + &"r".repeat(40))),
        id_token: Some(IdToken::new("e".repeat(900))),
        expires_at: Some(session::now() + 3600),
        token_type: session::TokenType::Bearer,
        dpop_key: None,
    }
}

/// A session saved in `store` holding a logged-in record; returns its id.
async fn logged_in_session<S: SessionStore + Clone>(store: &S) -> tower_sessions::session::Id {
    let session = Session::new(None, Arc::new(store.clone()), None);
    session::log_in(
        &session,
        &config().session,
        user(),
        &tokens(),
        Default::default(),
    )
    .await
    .expect("log_in");
    // What the session layer does after the handler.
    session.save().await.expect("save");
    session.id().expect("a saved session has an id")
}

/// What a request that refreshes does with its session: load the record (opened), give it new
/// tokens, and save it (sealed again).
async fn load_open_save<S: SessionStore + Clone>(store: &S, id: tower_sessions::session::Id) {
    let session = Session::new(Some(id), Arc::new(store.clone()), None);
    let record = session::read_record(&session)
        .await
        .expect("load")
        .expect("logged in");
    session
        .insert("auth", record.with_tokens(&tokens()))
        .await
        .expect("insert");
    session.save().await.expect("save");
}

fn sessions(c: &mut Criterion) {
    let rt = runtime();
    let cipher = cipher();

    let memory = SealedStore::new(Store::memory(), cipher.clone());
    let id = rt.block_on(logged_in_session(&memory));
    c.bench_function("session/load_open_save_memory", |b| {
        b.iter(|| rt.block_on(load_open_save(&memory, id)))
    });
    c.bench_function("session/load_memory", |b| {
        b.iter(|| {
            rt.block_on(async {
                let session = Session::new(Some(id), Arc::new(memory.clone()), None);
                session::read_record(&session)
                    .await
                    .expect("load")
                    .expect("record")
            })
        })
    });

    let dir = std::env::temp_dir().join(format!("portero-bench-{}", std::process::id()));
    let sqlite = rt
        .block_on(Store::open(
            &StoreConfig::Sqlite(dir.join("sessions.db")),
            Duration::from_secs(60),
        ))
        .expect("SQLite store opens");
    let sqlite = SealedStore::new(sqlite, cipher.clone());
    let id = rt.block_on(logged_in_session(&sqlite));
    c.bench_function("session/load_sqlite", |b| {
        b.iter(|| {
            rt.block_on(async {
                let session = Session::new(Some(id), Arc::new(sqlite.clone()), None);
                session::read_record(&session)
                    .await
                    .expect("load")
                    .expect("record")
            })
        })
    });
    c.bench_function("session/load_open_save_sqlite", |b| {
        b.iter(|| rt.block_on(load_open_save(&sqlite, id)))
    });
    drop(sqlite);
    let _ = std::fs::remove_dir_all(&dir);

    let key = Key::of_session(&tower_sessions::session::Id::default());
    let mut contents = session::Contents {
        data: Default::default(),
        expires_at: (session::now() + 3600) * 1000,
    };
    contents.set_record(&LoginRecord::new(user(), &tokens(), Default::default()));
    let sealed = memory.seal(&key, &contents);
    c.bench_function("auth_record/seal", |b| {
        b.iter(|| memory.seal(&key, &contents))
    });
    c.bench_function("auth_record/open", |b| {
        b.iter(|| memory.open_value(&key, &sealed.value).expect("opens"))
    });
}

/// An `oauth2` provider: `authorize()` needs no discovery, so no network.
fn config() -> Config {
    Config::from_toml(
        r#"
        [server]
        public_origin = "http://127.0.0.1:8080"
        [session]
        store = "memory"
        secret_key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
        [providers.bench]
        kind = "oauth2"
        client_id = "portero-bench"
        client_secret = "bench-secret"
        authorize_url = "https://login.example.com/authorize"
        token_url = "https://login.example.com/token"
        userinfo_url = "https://login.example.com/userinfo"
        "#,
        std::iter::empty(),
        None,
    )
    .expect("valid config")
}

fn states(c: &mut Criterion) {
    let rt = runtime();
    let config = config();
    let providers = Providers::from_config(&config).expect("providers");
    let provider = providers.get("bench").expect("configured");
    let store = Store::memory();
    let cipher = cipher();

    c.bench_function("state/create_and_check", |b| {
        b.iter(|| {
            rt.block_on(async {
                // The browser's cookies: the binding cookie `POST /api/login` sets.
                let cookies = tower_cookies::Cookies::default();
                let authorize = provider
                    .authorize(&Default::default())
                    .await
                    .expect("authorize");
                let state = authorize.state.secret().clone();
                let attempt = LoginAttempt {
                    provider: "bench".into(),
                    state: authorize.state,
                    pkce_verifier: authorize.pkce_verifier,
                    nonce: authorize.nonce,
                    return_to: "/".into(),
                    created_at: session::now(),
                    max_age: None,
                    reservation: None,
                };
                let (session, https) = (&config.session, false);
                session::remember_attempt(&cookies, https, &store, &cipher, session, &attempt)
                    .await
                    .expect("remember");
                let taken = session::take_attempt(&cookies, https, &store, &cipher, &state)
                    .await
                    .expect("take");
                assert!(taken.is_some());
            })
        })
    });
}

fn id_tokens(c: &mut Criterion) {
    let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("an RSA key");
    let public = key.to_public_key();
    let jwks: JsonWebKeySet<Jwk> = serde_json::from_value(json!({ "keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "bench",
        "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
    }]}))
    .expect("a JWKS");
    let now = session::now();
    let claims = json!({
        "iss": ISSUER, "sub": "user-ada", "aud": CLIENT_ID, "iat": now, "exp": now + 3600,
        "nonce": "n-0S6_WzA2Mj", "name": "Ada Lovelace", "email": "ada@example.com",
        "preferred_username": "ada",
    });
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": "bench" });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = SigningKey::<Sha256>::new(key).sign(input.as_bytes());
    let jwt = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()));
    let verifier = IdTokenVerifier::new_public_client(
        ClientId::new(CLIENT_ID.into()),
        IssuerUrl::new(ISSUER.into()).expect("issuer"),
        jwks,
    );
    let nonce = Nonce::new("n-0S6_WzA2Mj".into());

    c.bench_function("id_token/verify_rs256", |b| {
        b.iter(|| {
            let token: CoreIdToken = jwt.parse().expect("a JWT");
            token
                .claims(&verifier, &nonce)
                .expect("verifies")
                .subject()
                .to_string()
        })
    });
}

/// What the gateway adds to each request it forwards: the signed assertion, alone and with the
/// other identity headers.
fn assertions(c: &mut Criterion) {
    let key = AssertionSigner::generate_key();
    // A signer of its own for each benchmark: each remembers what it signed this second.
    let signer = || AssertionSigner::new(&key, &[]).expect("a key");
    let user = user();
    let now = session::now();
    let claims = AssertionClaims {
        iss: "http://127.0.0.1:8080".into(),
        aud: "notes".into(),
        sub: format!("{}:{}", user.provider, user.subject),
        provider: user.provider.clone(),
        iat: now,
        exp: now + 60,
        login: user.login.clone(),
        email: user.email.clone(),
        email_verified: user.email.as_ref().map(|_| true),
        name: user.name.clone(),
    };
    c.bench_function("assertion/sign", |b| {
        // Claims of another second each time: signed afresh, as the first request of a second.
        let (signer, mut claims) = (signer(), claims.clone());
        b.iter(|| {
            claims.iat += 1;
            claims.exp += 1;
            signer.sign(&claims)
        })
    });
    // The same claims within their second: the JWT signed before, as most requests get it.
    c.bench_function("assertion/sign_again", |b| {
        let signer = signer();
        b.iter(|| signer.sign(&claims))
    });
    c.bench_function("assertion/identity_headers", |b| {
        let signer = signer();
        b.iter(|| {
            identity_headers(
                &user,
                user.email.as_deref(),
                &signer,
                "http://127.0.0.1:8080",
                "notes",
                Duration::from_secs(60),
            )
        })
    });
}

criterion_group!(benches, sessions, states, id_tokens, assertions);
criterion_main!(benches);
