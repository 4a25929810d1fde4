//! What the stricter-provider tests share: a client key for Portero, devprovider set up as a
//! strict provider (PAR, `private_key_jwt` with Portero's published key, DPoP), Portero
//! configured for it, and what a session's record says of its tokens.

use std::path::PathBuf;

use devprovider::{AuthMethod, ClientMetadata, DevProvider, Dpop, Par};
use portero::session::{Key, LoginRecord};

use crate::helpers::*;

/// A new EC P-256 key written as PEM in a folder of its own, as `portero --new-client-key`
/// writes one.
pub fn client_key_file(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("strict-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (pem, _) = portero::ClientKey::generate();
    let file = dir.join("client.pem");
    std::fs::write(&file, pem).unwrap();
    file
}

/// How the strict provider and Portero are set up.
pub struct Strictness {
    pub par: Par,
    pub dpop: Dpop,
    /// Portero authenticates with `private_key_jwt` (its key published at its own
    /// `/.well-known/portero-client-jwks/dev`, devprovider's `jwks_uri`), else with the secret.
    pub private_key_jwt: bool,
    /// Lines added to Portero's `[providers.dev]`.
    pub portero: &'static str,
}

/// A strict provider and Portero as its client `dev`, Portero bound first so devprovider
/// knows where its JWK Set is.
pub async fn strict_app(name: &str, strictness: Strictness) -> TestApp {
    strict_app_with(name, strictness, |_| String::new()).await
}

/// [`strict_app`], with more lines for Portero's `[providers.dev]` made from the provider (its
/// address).
pub async fn strict_app_with(
    name: &str,
    strictness: Strictness,
    more: impl FnOnce(&DevProvider) -> String,
) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let backend = listener.local_addr().unwrap();
    let metadata = ClientMetadata {
        token_endpoint_auth_method: if strictness.private_key_jwt {
            AuthMethod::PrivateKeyJwt
        } else {
            AuthMethod::default()
        },
        jwks_uri: strictness
            .private_key_jwt
            .then(|| format!("http://{backend}/.well-known/portero-client-jwks/{PROVIDER}")),
        require_pushed_authorization_requests: strictness.par == Par::Required,
        dpop_bound_access_tokens: strictness.dpop != Dpop::Off,
        ..ClientMetadata::default()
    };
    let mut client = dev_client();
    if strictness.private_key_jwt {
        client.secret = String::new();
    }
    let provider = DevProvider::start(devprovider::Config {
        clients: vec![client],
        par: strictness.par,
        dpop: strictness.dpop,
        // 33 s: inside the backend's 30 s refresh margin after 4 s, which a refresh is not.
        access_token_ttl: std::time::Duration::from_secs(33),
        client_metadata: [(CLIENT_ID.to_owned(), metadata)].into(),
        ..Default::default()
    })
    .await
    .expect("devprovider starts");
    let mut config = config_toml(&provider.issuer());
    let mut lines = format!("{}\n{}", strictness.portero, more(&provider));
    if strictness.private_key_jwt {
        let key = client_key_file(name);
        config = config.replace(&format!("client_secret = \"{CLIENT_SECRET}\""), "");
        lines.push_str(&format!(
            "\nclient_auth = \"private_key_jwt\"\nclient_key_file = \"{}\"\n",
            key.display()
        ));
    }
    let config = format!("{config}\n{lines}\n");
    let mut app = spawn_app_on(listener, &config).await;
    app.provider = Some(provider);
    app
}

/// The logged-in record of `browser`'s session, as the store holds it (opened with the key).
pub async fn record_of(app: &TestApp, browser: &Browser) -> LoginRecord {
    let id = browser
        .session_cookie()
        .expect("logged in")
        .parse()
        .expect("a session id");
    app.state
        .sessions()
        .read(&Key::of_session(&id))
        .await
        .expect("the store answers")
        .expect("the session is there")
        .record()
        .expect("it is logged in")
}
