//! OIDC `groups` that change while a person is logged in: userinfo answers the new groups to
//! the token issued before the change, and the next id token (at refresh) carries them.
//! Loopback only.

mod common;
#[path = "common/standard.rs"]
mod standard;

use common::*;
use devprovider::{AdminError, Dialect};
use serde_json::{json, Value};
use standard::*;

async fn userinfo_groups(app: &TestProvider, token: &str) -> Option<Value> {
    app.userinfo_claims(token).await.get("groups").cloned()
}

#[tokio::test]
async fn groups_given_or_taken_while_logged_in_show_in_userinfo_and_the_next_id_token() {
    let app = spawn_provider().await;
    let tokens = app.tokens_for("barbara").await;
    let access_token = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        userinfo_groups(&app, access_token).await,
        Some(json!(["staff"]))
    );

    app.provider
        .set_groups("barbara", &["staff", "admins"])
        .unwrap();
    assert_eq!(
        userinfo_groups(&app, access_token).await,
        Some(json!(["staff", "admins"]))
    );

    app.provider.set_groups("barbara", &[]).unwrap();
    assert_eq!(userinfo_groups(&app, access_token).await, None);
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let refreshed: Value = app.refresh(refresh_token).await.json().await.unwrap();
    let claims = app
        .verified_claims(refreshed["id_token"].as_str().unwrap())
        .await;
    assert_eq!(claims.get("groups"), None);
}

#[tokio::test]
async fn an_empty_group_name_or_a_github_change_is_refused() {
    let app = spawn_provider().await;
    let error = app.provider.set_groups("ada", &["staff", " "]).unwrap_err();
    assert!(matches!(error, AdminError::Invalid(_)), "{error:?}");
    assert_eq!(
        app.provider.set_intra42_campus("ada", "Madrid"),
        Err(AdminError::OtherDialect {
            field: "intra42_campus",
            dialect: Dialect::Standard
        })
    );
    assert!(app.provider.memberships("ada").unwrap().groups.is_empty());
}
