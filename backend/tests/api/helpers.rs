//! `spawn_app()` starts the real backend on a random port, next to a real devprovider (or a
//! wiremock provider), and hands back a `TestApp` whose `Browser`s speak HTTP as the SPA would.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use devprovider::DevProvider;
use portero::{config::Config, startup::Application};
use reqwest::{header::HeaderMap, Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use shared::LoginResponse;
use tokio::sync::oneshot;
use url::Url;

/// The SPA's origin in these tests; the backend's redirect URIs derive from it.
pub const ORIGIN: &str = "http://127.0.0.1:8080";
pub const CLIENT_ID: &str = "portero-test";
pub const CLIENT_SECRET: &str = "test-client-secret-7f3a9c";
pub const PROVIDER: &str = "dev";
pub const SECRET_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

pub struct TestApp {
    pub addr: SocketAddr,
    pub provider: Option<DevProvider>,
    /// The backend's state: its session store, for tests that write it as an attacker would.
    pub state: portero::AppState,
    _stop: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

pub fn config_toml(issuer: &str) -> String {
    format!(
        r#"
        [server]
        bind = "127.0.0.1:0"
        public_origin = "{ORIGIN}"
        provider_timeout_secs = 2
        # Every test logs in from 127.0.0.1: budgets none reaches (attacks_rate_limit.rs and
        # attacks_slow_clients.rs test the limits themselves).
        rate_limit_burst = 1000
        provider_calls_burst = 1000

        [session]
        store = "memory"
        secret_key = "{SECRET_KEY}"

        [providers.{PROVIDER}]
        kind = "oidc"
        name = "Portero Dev"
        issuer = "{issuer}"
        client_id = "{CLIENT_ID}"
        client_secret = "{CLIENT_SECRET}"
        "#
    )
}

/// This backend as devprovider knows it: client `CLIENT_ID`, the callback of provider `dev`.
pub fn dev_client() -> devprovider::Client {
    devprovider::Client::new(
        CLIENT_ID,
        CLIENT_SECRET,
        format!("{ORIGIN}/callback/{PROVIDER}"),
    )
}

pub async fn start_devprovider() -> DevProvider {
    start_devprovider_with(devprovider::Config {
        clients: vec![dev_client()],
        ..Default::default()
    })
    .await
}

/// A devprovider whose access tokens last `ttl` (33 s: inside the backend's 30 s refresh
/// margin after 4 s, and a refreshed one is not).
pub async fn start_devprovider_with_token_ttl(ttl: std::time::Duration) -> DevProvider {
    start_devprovider_with(devprovider::Config {
        clients: vec![dev_client()],
        access_token_ttl: ttl,
        ..Default::default()
    })
    .await
}

pub async fn start_devprovider_with(config: devprovider::Config) -> DevProvider {
    DevProvider::start(config)
        .await
        .expect("devprovider starts")
}

/// devprovider speaking `dialect`, as `[providers.p]` of `kind` knows it: the table, its
/// endpoints named (`config_toml`'s lines come first), with `p`'s callback registered.
pub async fn devprovider_as(
    dialect: devprovider::Dialect,
    kind: &str,
    config: devprovider::Config,
) -> (DevProvider, String) {
    use devprovider::Dialect;
    let provider = start_devprovider_with(devprovider::Config {
        clients: vec![devprovider::Client::new(
            CLIENT_ID,
            CLIENT_SECRET,
            format!("{ORIGIN}/callback/p"),
        )],
        ..config
    })
    .await;
    let base = provider.base_url();
    let endpoints = match dialect {
        Dialect::Standard => format!("issuer = \"{}\"", provider.issuer()),
        Dialect::Github => format!(
            "authorize_url = \"{base}/login/oauth/authorize\"\n        \
             token_url = \"{base}/login/oauth/access_token\"\n        \
             userinfo_url = \"{base}/user\"\n        issuer = \"{base}/login/oauth\""
        ),
        Dialect::Intra42 => format!(
            "authorize_url = \"{base}/oauth/authorize\"\n        \
             token_url = \"{base}/oauth/token\"\n        userinfo_url = \"{base}/v2/me\""
        ),
    };
    let table = format!(
        "{}\n        [providers.p]\n        kind = \"{kind}\"\n        client_id = \"{CLIENT_ID}\"\n        \
         client_secret = \"{CLIENT_SECRET}\"\n        {endpoints}\n",
        config_toml(&provider.issuer())
    );
    (provider, table)
}

/// The backend next to a fresh devprovider registered as provider `dev`.
pub async fn spawn_app() -> TestApp {
    let provider = start_devprovider().await;
    let mut app = spawn_app_with(&config_toml(&provider.issuer())).await;
    app.provider = Some(provider);
    app
}

pub async fn spawn_app_with(config_toml: &str) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    spawn_app_on(listener, config_toml).await
}

/// The backend on a listener bound beforehand: its address is known before it starts, so a
/// provider can be told where to send back-channel logouts.
pub async fn spawn_app_on(listener: tokio::net::TcpListener, config_toml: &str) -> TestApp {
    super::logs::capture();
    let config = Config::from_toml(config_toml, std::iter::empty(), None).expect("valid config");
    let app = Application::with_listener(config, listener)
        .await
        .expect("backend builds");
    let addr = app.local_addr();
    let state = app.state();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        addr,
        provider: None,
        state,
        _stop: stop,
        server,
    }
}

impl TestApp {
    /// Stops the backend and waits until it has finished (its store closed with it).
    pub async fn stop(self) {
        let TestApp {
            _stop,
            server,
            state,
            ..
        } = self;
        // The store closes when the server and this last hold on it are gone.
        drop(state);
        drop(_stop);
        tokio::time::timeout(std::time::Duration::from_secs(10), server)
            .await
            .expect("the backend stops within 10 s")
            .expect("the server task ends without panicking")
            .expect("the server ends without an I/O error");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `/metrics`' count of unexpired sessions, or None when the store did not answer it.
    pub async fn active_sessions(&self) -> Option<u64> {
        self.store_gauge("portero_sessions_active").await
    }

    /// `/metrics`' count of login attempts in the store, or None when it did not answer.
    pub async fn pending_attempts(&self) -> Option<u64> {
        self.store_gauge("portero_login_attempts_pending").await
    }

    /// `/metrics`, as a scrape reads it.
    pub async fn metrics(&self) -> String {
        reqwest::get(self.url("/metrics"))
            .await
            .expect("the backend answers /metrics")
            .text()
            .await
            .unwrap()
    }

    /// `/.well-known/jwks.json`: the keys that verify `X-Portero-Assertion`.
    pub async fn jwks(&self) -> Value {
        reqwest::get(self.url("/.well-known/jwks.json"))
            .await
            .expect("the backend answers /.well-known/jwks.json")
            .json()
            .await
            .unwrap()
    }

    async fn store_gauge(&self, name: &str) -> Option<u64> {
        let text = self.metrics().await;
        let gauge = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
                .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
                .parse::<u64>()
                .unwrap()
        };
        (gauge("portero_session_store_up") == 1).then(|| gauge(name))
    }

    /// A browser with its own cookie jar, as the SPA would run in it.
    pub fn browser(&self) -> Browser {
        self.browser_at(std::net::IpAddr::from([127, 0, 0, 1]))
    }

    /// A browser on another machine: its connections come from `address` (any of 127.0.0.0/8
    /// is this machine's loopback, so each is another client to the backend).
    pub fn browser_at(&self, address: std::net::IpAddr) -> Browser {
        self.browser_like(
            address,
            concat!("portero-tests/", env!("CARGO_PKG_VERSION")),
        )
    }

    /// A browser that names itself `user_agent`.
    pub fn browser_named(&self, user_agent: &str) -> Browser {
        self.browser_like(std::net::IpAddr::from([127, 0, 0, 1]), user_agent)
    }

    fn browser_like(&self, address: std::net::IpAddr, user_agent: &str) -> Browser {
        Browser {
            base: self.url(""),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .local_address(address)
                .user_agent(user_agent)
                .build()
                .unwrap(),
            cookies: Mutex::new(BTreeMap::new()),
            set_cookie_headers: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub fn devprovider(&self) -> &DevProvider {
        self.provider
            .as_ref()
            .expect("this app runs with a devprovider")
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// The answer to a request sent without a `Browser`.
    pub async fn of(response: reqwest::Response) -> Reply {
        Reply {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not the expected JSON ({e}): {}", self.body))
    }

    /// Asserts docs/design.md's error shape, status and machine code.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        let error: shared::ApiError = self.json();
        assert_eq!(error.error, code, "{}", self.body);
        assert!(!error.message.is_empty());
    }
}

pub struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
    pub set_cookie_headers: Arc<Mutex<Vec<String>>>,
}

impl Browser {
    pub async fn get(&self, path: &str) -> Reply {
        self.request(
            Method::GET,
            path,
            None,
            &[("x-csrf", "1"), ("origin", ORIGIN)],
        )
        .await
    }

    pub async fn post(&self, path: &str, body: Option<Value>) -> Reply {
        self.request(
            Method::POST,
            path,
            body,
            &[("x-csrf", "1"), ("origin", ORIGIN)],
        )
        .await
    }

    /// `POST /api/session`, as the SPA's callback page sends it.
    pub async fn post_session(&self, body: Value) -> Reply {
        self.post("/api/session", Some(body)).await
    }

    /// `POST /api/login/{provider}` with no body at all, and only `headers` (not the SPA's).
    pub async fn post_login_without_body(&self, provider: &str, headers: &[(&str, &str)]) -> Reply {
        let path = format!("/api/login/{provider}");
        self.request(Method::POST, &path, None, headers).await
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let cookie = self.cookie_header();
        if !cookie.is_empty() {
            request = request.header("cookie", cookie);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the backend answers");
        for set in response.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap().to_owned();
            self.store_cookie(&set);
            self.set_cookie_headers.lock().unwrap().push(set);
        }
        Reply::of(response).await
    }

    fn store_cookie(&self, set_cookie: &str) {
        let pair = set_cookie.split(';').next().unwrap_or("");
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let removed = set_cookie.to_ascii_lowercase().contains("max-age=0") || value.is_empty();
        let mut jar = self.cookies.lock().unwrap();
        if removed {
            jar.remove(name);
        } else {
            jar.insert(name.to_owned(), value.to_owned());
        }
    }

    pub fn cookie_header(&self) -> String {
        let jar = self.cookies.lock().unwrap();
        jar.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn session_cookie(&self) -> Option<String> {
        self.cookies.lock().unwrap().get("portero_session").cloned()
    }

    /// The login binding's cookie: set by `POST /api/login`, gone once a login succeeds.
    pub fn login_cookie(&self) -> Option<String> {
        self.cookies.lock().unwrap().get("portero_login").cloned()
    }

    /// The session ended because its tokens did (a refused refresh, someone else's id_token):
    /// the call that needed them says `session_expired`, and the session is gone after it.
    pub async fn assert_session_expired(&self) {
        self.get("/api/profile")
            .await
            .assert_error(401, "session_expired");
        self.get("/api/me").await.assert_error(401, "not_logged_in");
    }

    pub async fn start_login(&self, provider: &str, return_to: Option<&str>) -> LoginResponse {
        let body = match return_to {
            Some(r) => json!({ "return_to": r }),
            None => json!({}),
        };
        let reply = self
            .post(&format!("/api/login/{provider}"), Some(body))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()
    }
}

/// A login with `provider` at `app` asks the provider for `scope`.
pub async fn assert_scope_asked(app: &TestApp, provider: &str, scope: &str) {
    let login = app.browser().start_login(provider, None).await;
    let scopes = &login.params["scope"];
    assert!(
        scopes.split(' ').any(|s| s == scope),
        "{scope} not in {scopes:?}"
    );
}

/// Rule 1: `body` is refused with 400 `invalid_state`, and no token request reaches `provider`.
pub async fn assert_invalid_state(browser: &Browser, body: Value, provider: &DevProvider) {
    browser
        .post_session(body)
        .await
        .assert_error(400, "invalid_state");
    assert_eq!(provider.stats().token_requests, 0);
}

/// The authorize URL exactly as the SPA builds it.
pub fn authorize_url(login: &LoginResponse) -> Url {
    let mut url = Url::parse(&login.authorize_endpoint).unwrap();
    url.query_pairs_mut().extend_pairs(&login.params);
    url
}

/// Walks devprovider's login and consent pages as a person would; returns the callback URL.
pub async fn consent(login: &LoginResponse, user: &str, decision: &str) -> Url {
    let decision = match decision {
        "allow" => devprovider::form_login::Decision::Allow,
        _ => devprovider::form_login::Decision::Deny,
    };
    let http = devprovider::form_login::client();
    devprovider::form_login::log_in(&http, &authorize_url(login), user, decision)
        .await
        .expect("devprovider's pages lead back to the callback")
}

pub fn query(url: &Url) -> BTreeMap<String, String> {
    url.query_pairs().into_owned().collect()
}

/// The `POST /api/session` body the SPA sends for this callback URL.
pub fn callback_body(provider: &str, callback: &Url) -> Value {
    let q = query(callback);
    let mut body = json!({ "provider": provider, "code": q["code"], "state": q["state"] });
    if let Some(iss) = q.get("iss") {
        body["iss"] = json!(iss);
    }
    body
}
