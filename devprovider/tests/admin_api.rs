//! The admin API over HTTP, as `cargo xtask dev` or a test of another process would use a
//! devprovider it did not start in process: `GET` and `PATCH /admin/users/{login}`, from
//! loopback. Loopback only.

mod common;
#[path = "common/standard.rs"]
mod standard;

use common::*;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use standard::*;

async fn patch(app: &TestProvider, login: &str, body: &Value) -> Response {
    app.http
        .patch(app.url(&format!("/admin/users/{login}")))
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn error_message(response: Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    body["error"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn memberships_are_read_and_changed_over_http_and_userinfo_follows() {
    let app = spawn_provider().await;
    let barbara = app.get_json("/admin/users/barbara").await;
    assert_eq!(barbara["groups"], json!(["staff"]));
    assert_eq!(barbara["github_orgs"], json!([]));
    assert_eq!(barbara["intra42_campus"], "Madrid");

    let tokens = app.tokens_for("ada").await;
    let changed = patch(&app, "ada", &json!({ "groups": ["admins"] })).await;
    assert_eq!(changed.status(), StatusCode::OK);
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(changed["groups"], json!(["admins"]));

    let user = app
        .userinfo_claims(tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(user["groups"], json!(["admins"]));
    assert_eq!(app.provider.memberships("ada").unwrap().groups, ["admins"]);
}

#[tokio::test]
async fn an_unknown_user_is_404_and_a_bad_change_is_400_naming_what_is_wrong() {
    let app = spawn_provider().await;
    let missing = app.get("/admin/users/nobody", &[]).await;
    assert!(error_message(missing, StatusCode::NOT_FOUND)
        .await
        .contains("nobody"));
    let missing = patch(&app, "nobody", &json!({ "groups": [] })).await;
    assert!(error_message(missing, StatusCode::NOT_FOUND)
        .await
        .contains("nobody"));

    for (body, named) in [
        (json!({ "github_orgs": ["acme"] }), "github_orgs"),
        (json!({ "group": ["typo"] }), "group"),
        (json!({ "groups": "staff" }), "groups"),
    ] {
        let refused = patch(&app, "ada", &body).await;
        let message = error_message(refused, StatusCode::BAD_REQUEST).await;
        assert!(message.contains(named), "{body}: {message}");
    }
    let not_json = app
        .http
        .patch(app.url("/admin/users/ada"))
        .body(r#"{"groups":["x"]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    assert!(app.provider.memberships("ada").unwrap().groups.is_empty());
}
