//! What the process tests share: a `portero` process started from a configuration (its log in
//! a file, killed with SIGKILL when asked, or when dropped), devprovider in this test process
//! as its provider, and people who log in over HTTP as the SPA does, each with their own
//! session cookie.

use std::{
    path::PathBuf,
    process::Stdio,
    sync::Mutex,
    time::{Duration, Instant},
};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use shared::LoginResponse;
use url::Url;

pub const ORIGIN: &str = "http://127.0.0.1:8080";
pub const CLIENT_ID: &str = "portero-process";
pub const CLIENT_SECRET: &str = "process-client-secret-2b9e";
/// One key for every replica, as a deployment shares it.
pub const SECRET_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const ASSERTION_KEY: &str = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";

/// This backend as devprovider knows it, as provider `dev`; a back-channel logout goes to
/// `backchannel`'s `/api/backchannel-logout/dev` when given.
pub fn dev_client(backchannel: Option<&str>) -> devprovider::Client {
    devprovider::Client {
        backchannel_logout_uri: backchannel
            .map(|base| format!("{base}/api/backchannel-logout/dev")),
        ..devprovider::Client::new(CLIENT_ID, CLIENT_SECRET, format!("{ORIGIN}/callback/dev"))
    }
}

/// devprovider, with this backend as its client ([`dev_client`]).
pub async fn devprovider_for(backchannel: Option<&str>) -> devprovider::DevProvider {
    devprovider::DevProvider::start(devprovider::Config {
        clients: vec![dev_client(backchannel)],
        ..Default::default()
    })
    .await
    .unwrap()
}

/// A whole configuration: devprovider at `issuer` as `dev`, sessions in `store`, `extra` TOML
/// after it. Every person of these tests comes from 127.0.0.1: budgets none reaches.
pub fn config(issuer: &str, store: &str, extra: &str) -> String {
    format!(
        r#"
        [server]
        bind = "127.0.0.1:0"
        public_origin = "{ORIGIN}"
        provider_timeout_secs = 5
        rate_limit_burst = 10000
        provider_calls_burst = 10000
        [session]
        store = "{store}"
        secret_key = "{SECRET_KEY}"
        max_pending_logins_per_address = 10000
        [assertion]
        key = "{ASSERTION_KEY}"
        [providers.dev]
        kind = "oidc"
        issuer = "{issuer}"
        client_id = "{CLIENT_ID}"
        client_secret = "{CLIENT_SECRET}"
        {extra}
        "#
    )
}

/// A running `portero`, its stdout (the log) in a file.
pub struct Portero {
    child: tokio::process::Child,
    pub base: String,
    log_file: PathBuf,
}

impl Portero {
    /// `portero --config` with `config` (its `bind` set to a free port) and `args`; ready once
    /// `/healthz` answers.
    pub async fn start(name: &str, config: &str, args: &[&str]) -> Portero {
        let port = crate::free_port();
        Self::start_on(name, port, config, args).await
    }

    /// [`Portero::start`] on `port`.
    pub async fn start_on(name: &str, port: u16, config: &str, args: &[&str]) -> Portero {
        let dir = folder(&format!("{name}-{port}"));
        let file = dir.join("portero.toml");
        let config = config.replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
        std::fs::write(&file, config).unwrap();
        let log_file = dir.join("stdout.log");
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_portero"))
            .args(args)
            .arg("--config")
            .arg(&file)
            .env_remove("PORTERO_LOG")
            .stdout(std::fs::File::create(&log_file).unwrap())
            .stderr(Stdio::from(
                std::fs::File::create(dir.join("stderr.log")).unwrap(),
            ))
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        assert!(
            crate::healthy(&format!("{base}/healthz")).await,
            "portero {name} starts: {}",
            std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
        );
        Portero {
            child,
            base,
            log_file,
        }
    }

    /// SIGKILL: the process ends at once, nothing flushed, nothing finished.
    pub async fn kill9(&mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }

    /// What it logged so far (stdout), and its stderr.
    pub fn log(&self) -> String {
        let stderr = self.log_file.with_file_name("stderr.log");
        std::fs::read_to_string(&self.log_file).unwrap_or_default()
            + &std::fs::read_to_string(stderr).unwrap_or_default()
    }

    /// Until `/readyz` answers 200 (the store reachable); how long that took.
    pub async fn ready_within(&self, limit: Duration) -> Option<Duration> {
        let started = Instant::now();
        while started.elapsed() < limit {
            let ready = reqwest::get(format!("{}/readyz", self.base)).await;
            if ready.is_ok_and(|r| r.status() == 200) {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

/// A fresh folder under target/ for this test.
pub fn folder(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("process-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A person with a browser of their own: one session cookie (and the login binding's, while a
/// login is under way), sent to whichever replica they call (as a load balancer would spread
/// their requests).
pub struct Person {
    pub name: String,
    http: reqwest::Client,
    cookie: Mutex<Option<String>>,
    binding: Mutex<Option<String>>,
}

/// An answer: status and body (JSON, or `null`).
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
}

impl Person {
    pub fn new(name: &str) -> Person {
        Person::named(name, &format!("process-tests/{name}"))
    }

    /// A person whose browser says it is `user_agent`.
    pub fn named(name: &str, user_agent: &str) -> Person {
        Person {
            name: name.to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(user_agent)
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            cookie: Mutex::new(None),
            binding: Mutex::new(None),
        }
    }

    /// Their session cookie's value now.
    pub fn session(&self) -> Option<String> {
        self.cookie.lock().unwrap().clone()
    }

    /// Sends `session` as their cookie from now on (a copy kept from before).
    pub fn set_session(&self, session: Option<String>) {
        *self.cookie.lock().unwrap() = session;
    }

    /// A call to `base` as the SPA makes it; `Err` when no answer came (a dead process).
    pub async fn call(
        &self,
        base: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Answer, reqwest::Error> {
        let mut request = self
            .http
            .request(method, format!("{base}{path}"))
            .header("x-csrf", "1")
            .header("origin", ORIGIN);
        let binding = self.binding.lock().unwrap().clone();
        let cookies: Vec<String> = [
            ("portero_session", self.session()),
            ("portero_login", binding),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some(format!("{name}={}", value?)))
        .collect();
        if !cookies.is_empty() {
            request = request.header("cookie", cookies.join("; "));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        for set in response.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let Some((name, rest)) = set.split_once('=') else {
                continue;
            };
            let value = rest.split(';').next().unwrap_or("");
            let kept = (!value.is_empty() && !set.contains("Max-Age=0")).then(|| value.to_owned());
            match name {
                "portero_session" => self.set_session(kept),
                "portero_login" => *self.binding.lock().unwrap() = kept,
                _ => {}
            }
        }
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        Ok(Answer { status, body })
    }

    /// Logs in as devprovider's `user` at `base`: the answer of `POST /api/session`.
    pub async fn log_in(&self, base: &str, user: &str) -> Result<Answer, reqwest::Error> {
        let started = self
            .call(base, Method::POST, "/api/login/dev", Some(json!({})))
            .await?;
        if started.status != StatusCode::OK {
            return Ok(started);
        }
        let login: LoginResponse = serde_json::from_value(started.body).unwrap();
        let mut authorize = Url::parse(&login.authorize_endpoint).unwrap();
        authorize.query_pairs_mut().extend_pairs(&login.params);
        let http = devprovider::form_login::client();
        let decision = devprovider::form_login::Decision::Allow;
        let callback = devprovider::form_login::log_in(&http, &authorize, user, decision)
            .await
            .expect("devprovider's pages lead back to the callback");
        let query: std::collections::HashMap<_, _> = callback.query_pairs().into_owned().collect();
        let body = json!({ "provider": "dev", "code": query["code"], "state": query["state"],
                           "iss": query.get("iss") });
        self.call(base, Method::POST, "/api/session", Some(body))
            .await
    }

    /// `GET /api/me` at `base`.
    pub async fn me(&self, base: &str) -> Result<Answer, reqwest::Error> {
        self.call(base, Method::GET, "/api/me", None).await
    }
}
