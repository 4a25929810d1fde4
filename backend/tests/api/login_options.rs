//! `POST /api/login/{provider}` takes `prompt`, `login_hint` and `max_age` (OpenID Connect Core
//! §3.1.2.1) and passes them on when their values are allow-listed; any other value is a 400
//! naming what is wrong, and such a refusal stores no login attempt. Other fields are never
//! passed on. With `par = "always"` at a provider without a PAR
//! endpoint, start-up stops naming the key.

use devprovider::{DevProvider, Par};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn prompt_login_hint_and_max_age_reach_the_provider_with_the_login() {
    let app = spawn_app().await;
    let browser = app.browser();
    let body =
        json!({ "prompt": "login consent", "login_hint": "ada@example.com", "max_age": 300 });
    let reply = browser.post("/api/login/dev", Some(body)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let login: shared::LoginResponse = reply.json();
    assert_eq!(login.params["prompt"], "login consent");
    assert_eq!(login.params["login_hint"], "ada@example.com");
    assert_eq!(login.params["max_age"], "300");
    // And the provider's page comes back to the callback as ever.
    let callback = consent(&login, "ada", "allow").await;
    let session = browser
        .post_session(callback_body(PROVIDER, &callback))
        .await;
    assert_eq!(session.status, 200, "{}", session.body);
}

#[tokio::test]
async fn anything_outside_the_allow_list_is_a_400_naming_it_and_stores_no_attempt() {
    let app = spawn_app().await;
    let browser = app.browser();
    for (body, named) in [
        (json!({ "prompt": "create" }), "prompt"),
        (json!({ "prompt": "none login" }), "prompt"),
        (json!({ "login_hint": "" }), "login_hint"),
        (json!({ "max_age": -1 }), "max_age"),
        (json!({ "max_age": "300" }), "max_age"),
        (
            json!({ "prompt": "login", "another_account": true }),
            "another_account",
        ),
    ] {
        let reply = browser.post("/api/login/dev", Some(body.clone())).await;
        reply.assert_error(400, "bad_request");
        assert!(reply.body.contains(named), "{body}: {}", reply.body);
    }
    assert_eq!(app.pending_attempts().await, Some(0));
}

#[tokio::test]
async fn a_parameter_outside_the_allow_list_never_reaches_the_provider() {
    let app = spawn_app().await;
    let body = json!({ "prompt": "consent", "scope": "admin", "acr_values": "weak", "foo": "x" });
    let reply = app.browser().post("/api/login/dev", Some(body)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let login: shared::LoginResponse = reply.json();
    assert_eq!(login.params["prompt"], "consent");
    assert_eq!(login.params["scope"], "openid profile email");
    for name in ["acr_values", "foo"] {
        assert!(!login.params.contains_key(name), "{name}");
    }
}

#[tokio::test]
async fn par_always_at_a_provider_without_a_par_endpoint_stops_start_up_naming_the_key() {
    let provider = DevProvider::start(devprovider::Config {
        clients: vec![dev_client()],
        par: Par::Off,
        ..Default::default()
    })
    .await
    .unwrap();
    let config = format!("{}\npar = \"always\"\n", config_toml(&provider.issuer()));
    let config = portero::config::Config::from_toml(&config, std::iter::empty(), None).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = portero::startup::Application::with_listener(config, listener)
        .await
        .err()
        .expect("start-up stops")
        .to_string();
    assert!(
        error.contains("providers.dev.par")
            && error.contains("pushed_authorization_request_endpoint"),
        "{error}"
    );
}
