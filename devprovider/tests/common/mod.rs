//! Helpers shared by the dialect tests: a provider on a random loopback port, HTTP clients that
//! never follow redirects, and the login and consent forms driven as a browser would.

#![allow(dead_code)] // Each test crate uses its own subset.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use devprovider::{Client, Config, DevProvider};
use reqwest::header::LOCATION;
use reqwest::{Response, StatusCode};
use sha2::{Digest, Sha256};
use url::Url;

pub const CLIENT_ID: &str = "portero";
pub const CLIENT_SECRET: &str = "dev-secret";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

pub fn client(redirect_uri: &str) -> Client {
    Client {
        id: CLIENT_ID.into(),
        secret: CLIENT_SECRET.into(),
        redirect_uris: vec![redirect_uri.into()],
    }
}

pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub struct TestProvider {
    pub provider: DevProvider,
    /// Sends a User-Agent, as every well-behaved API client does.
    pub http: reqwest::Client,
    /// Sends none, to show what GitHub does then.
    pub bare: reqwest::Client,
}

pub async fn spawn(config: Config) -> TestProvider {
    let provider = DevProvider::start(config).await.expect("provider starts");
    let builder = || {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A proxy from the environment must not see loopback test traffic.
            .no_proxy()
    };
    TestProvider {
        provider,
        http: builder().user_agent("portero-tests").build().unwrap(),
        bare: builder().build().unwrap(),
    }
}

impl TestProvider {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.provider.base_url())
    }

    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Response {
        self.http
            .get(self.url(path))
            .query(query)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_with_token(&self, path: &str, token: &str) -> Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Opens the login page at `authorize_path` and returns the request id its forms carry.
    pub async fn login_page(&self, authorize_path: &str, query: &[(&str, &str)]) -> String {
        let response = self.get(authorize_path, query).await;
        assert_eq!(response.status(), StatusCode::OK);
        let html = response.text().await.unwrap();
        assert!(html.contains("Portero Dev — sign in"), "{html}");
        assert!(html.contains("data-user=\"grace\""), "{html}");
        hidden_request_id(&html)
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Signs in as `login` through the shared forms, answers consent, returns the redirect.
    pub async fn sign_in_and_decide(
        &self,
        authorize_path: &str,
        query: &[(&str, &str)],
        login: &str,
        decision: &str,
    ) -> Url {
        let request_id = self.login_page(authorize_path, query).await;
        let consent = self
            .post_form(
                "/authorize/login",
                &[("request", &request_id), ("user", login)],
            )
            .await;
        assert_eq!(consent.status(), StatusCode::OK);
        let html = consent.text().await.unwrap();
        assert!(html.contains(r#"id="allow""#) && html.contains(r#"id="deny""#));
        let answer = self
            .post_form(
                "/authorize/consent",
                &[("request", &request_id), ("decision", decision)],
            )
            .await;
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        location(&answer)
    }
}

pub fn hidden_request_id(html: &str) -> String {
    let marker = r#"name="request" value=""#;
    let start = html.find(marker).expect("a request field") + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_owned()
}

pub fn location(response: &Response) -> Url {
    let location = response.headers()[LOCATION].to_str().unwrap();
    Url::parse(location).unwrap()
}

pub fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

pub fn header<'a>(response: &'a Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("a {name} header"))
        .to_str()
        .unwrap()
}
