//! Helpers shared by the tests: a provider on a random loopback port, HTTP clients that never
//! follow redirects, the way through the login and consent forms (`devprovider::form_login`),
//! and RS256 JWT verification against the provider's JWKS.

#![allow(dead_code)] // Each test crate uses its own subset.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use devprovider::form_login::{self, Decision};
use devprovider::{Client, Config, DevProvider, Dialect};
use reqwest::header::LOCATION;
use reqwest::{Response, StatusCode};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use rsa::{BigUint, RsaPublicKey};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

pub const CLIENT_ID: &str = "portero";
pub const CLIENT_SECRET: &str = "dev-secret";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// A dialect's defaults with the test client registered.
pub fn config_for(dialect: Dialect, redirect_uri: &str) -> Config {
    Config {
        clients: vec![client(redirect_uri)],
        ..Config::for_dialect(dialect)
    }
}

pub fn client(redirect_uri: &str) -> Client {
    other_client(CLIENT_ID, CLIENT_SECRET, redirect_uri)
}

pub fn other_client(id: &str, secret: &str, redirect_uri: &str) -> Client {
    Client::new(id, secret, redirect_uri)
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
    TestProvider {
        provider,
        http: http_client().user_agent("portero-tests").build().unwrap(),
        bare: http_client().build().unwrap(),
    }
}

/// Loopback only: redirects are not followed, and a proxy from the environment must not see
/// the test traffic.
pub fn http_client() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
}

impl TestProvider {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.provider.base_url())
    }

    /// `path` with `query` appended, as a browser would be sent there.
    pub fn url_with<Q: Serialize + ?Sized>(&self, path: &str, query: &Q) -> Url {
        let request = self.http.get(self.url(path)).query(query).build();
        request.expect("a valid URL").url().clone()
    }

    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Response {
        self.get_url(self.url_with(path, query)).await
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path, &[]).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.json().await.unwrap()
    }

    pub async fn get_url(&self, url: Url) -> Response {
        self.http.get(url).send().await.unwrap()
    }

    pub async fn get_with_token(&self, path: &str, token: &str) -> Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Opens the login page at `authorize_path` and returns the request id its forms carry.
    pub async fn login_page<Q: Serialize + ?Sized>(
        &self,
        authorize_path: &str,
        query: &Q,
    ) -> String {
        let response = self.get_url(self.url_with(authorize_path, query)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let html = response.text().await.unwrap();
        assert!(html.contains("Portero Dev — sign in"), "{html}");
        assert!(html.contains("data-user=\"grace\""), "{html}");
        form_login::request_id(&html).expect("a request field")
    }

    /// Signs in as `login` through the shared forms, answers consent, returns the redirect.
    pub async fn sign_in_and_decide<Q: Serialize + ?Sized>(
        &self,
        authorize_path: &str,
        query: &Q,
        login: &str,
        decision: Decision,
    ) -> Url {
        let authorize_url = self.url_with(authorize_path, query);
        form_login::log_in(&self.http, &authorize_url, login, decision)
            .await
            .expect("the forms lead back to the client")
    }

    /// The same walk, by hand, checking each page on the way: what the forms themselves promise.
    pub async fn sign_in_checking_the_forms<Q: Serialize + ?Sized>(
        &self,
        authorize_path: &str,
        query: &Q,
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
        assert_eq!(form_login::request_id(&html).unwrap(), request_id);
        let answer = self
            .post_form(
                "/authorize/consent",
                &[("request", &request_id), ("decision", decision)],
            )
            .await;
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        assert_eq!(header(&answer, "cache-control"), "no-store");
        location(&answer)
    }

    /// Checks a compact JWS's RS256 signature against the provider's JWKS (`/jwks`); returns
    /// its header and claims.
    pub async fn verified_jwt(&self, jwt: &str) -> (Value, Value) {
        let jwks = self.get_json("/jwks").await;
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3, "a compact JWS");
        let decode = |part: &str| -> Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
        };
        let header = decode(parts[0]);
        assert_eq!(header["alg"], "RS256");
        let jwk = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == header["kid"])
            .expect("the token's kid is in the JWKS");
        assert_eq!(jwk["kty"], "RSA");
        let number = |field: &str| {
            BigUint::from_bytes_be(
                &URL_SAFE_NO_PAD
                    .decode(jwk[field].as_str().unwrap())
                    .unwrap(),
            )
        };
        let key = VerifyingKey::<Sha256>::new(RsaPublicKey::new(number("n"), number("e")).unwrap());
        let signature =
            Signature::try_from(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().as_slice()).unwrap();
        key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .expect("the signature verifies");
        (header, decode(parts[1]))
    }
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

/// Asserts that the URL's query carries `name=value`.
#[track_caller]
pub fn assert_query(url: &Url, name: &str, value: &str) {
    assert_eq!(
        query_param(url, name).as_deref(),
        Some(value),
        "{name} in {url}"
    );
}

pub fn header<'a>(response: &'a Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("a {name} header"))
        .to_str()
        .unwrap()
}
