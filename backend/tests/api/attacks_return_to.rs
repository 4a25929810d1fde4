//! Rule 5 beyond security_rules.rs: the length limit exactly at its edge, and the encoded and
//! look-alike spellings of "another origin" a browser would still follow (browsers drop tabs,
//! newlines and leading spaces from URLs, and treat `\` as `/`).

use shared::SessionResponse;

use crate::helpers::*;

/// The `return_to` the backend hands back after a full login that started with `given`.
async fn round_trip(app: &TestApp, given: &str) -> String {
    let browser = app.browser();
    let login = browser.start_login(PROVIDER, Some(given)).await;
    let body = callback_body(PROVIDER, &consent(&login, "ada", "allow").await);
    let reply = browser.post_session(body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json::<SessionResponse>().return_to
}

#[tokio::test]
async fn return_to_is_kept_up_to_1024_bytes_and_dropped_beyond() {
    let app = spawn_app().await;
    let longest = format!("/{}", "a".repeat(1023));
    let too_long = format!("/{}", "a".repeat(1024));
    assert_eq!(round_trip(&app, &longest).await, longest);
    assert_eq!(round_trip(&app, &too_long).await, "/");
}

#[tokio::test]
async fn encoded_and_look_alike_ways_off_the_origin_become_root() {
    let app = spawn_app().await;
    for given in [
        "/\\evil.example",
        "\\/evil.example",
        "/%5Cevil.example",
        "/%5cevil.example",
        "/%2F/evil.example",
        "/%09/evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "http:/evil.example",
        "https:evil.example",
        "/%252F%252F%252Fevil.example",
        " //evil.example",
    ] {
        assert_eq!(round_trip(&app, given).await, "/", "{given:?}");
    }
}
