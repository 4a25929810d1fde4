//! A 42 student who changes campus while logged in: `/v2/me` answers the new campus to a token
//! issued before the move. Loopback only.

mod common;
#[path = "common/intra42.rs"]
mod intra42;

use common::*;
use devprovider::{AdminError, Dialect};
use intra42::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn me_with(app: &TestProvider, token: &str) -> Value {
    let me = app.get_with_token("/v2/me", token).await;
    assert_eq!(me.status(), StatusCode::OK);
    me.json().await.unwrap()
}

#[tokio::test]
async fn a_student_moved_to_another_campus_while_logged_in_is_seen_there_with_the_same_token() {
    let app = spawn_intra().await;
    let tokens = app.tokens_for("ada").await;
    let token = tokens["access_token"].as_str().unwrap();
    let me = me_with(&app, token).await;
    assert_eq!(primary_campus_users(&me)[0]["campus_id"], 22);

    app.provider.set_intra42_campus("ada", "Urduliz").unwrap();

    let me = me_with(&app, token).await;
    assert_eq!(me["campus"].as_array().unwrap().len(), 1);
    assert_eq!(me["campus"][0]["name"], "Urduliz");
    assert_eq!(
        me["campus_users"],
        json!([{ "user_id": me["id"], "campus_id": 40, "is_primary": true }])
    );
    // The school address follows the primary campus.
    assert_eq!(me["email"], "ada@student.42urduliz.com");

    // Paris, by its id: another country and time zone.
    app.provider.set_intra42_campus("ada", "1").unwrap();
    let me = me_with(&app, token).await;
    assert_eq!(me["campus"][0]["name"], "Paris");
    assert_eq!(me["campus"][0]["country"], "France");
    assert_eq!(me["campus"][0]["time_zone"], "Europe/Paris");
    assert_eq!(me["email"], "ada@student.42.fr");
    let memberships = app.provider.memberships("ada").unwrap();
    assert_eq!(memberships.intra42_campus.as_deref(), Some("Paris"));
    assert_eq!(memberships.intra42_campuses, ["Paris"]);
}

#[tokio::test]
async fn an_unknown_campus_or_a_change_of_another_dialect_is_refused_and_changes_nothing() {
    let app = spawn_intra().await;
    let error = app
        .provider
        .set_intra42_campus("grace", "Atlantis")
        .unwrap_err();
    assert!(
        error.to_string().contains("Atlantis") && error.to_string().contains("Urduliz (40)"),
        "{error}"
    );
    assert_eq!(
        app.provider.set_github_orgs("grace", &["acme"]),
        Err(AdminError::OtherDialect {
            field: "github_orgs",
            dialect: Dialect::Intra42
        })
    );
    let memberships = app.provider.memberships("grace").unwrap();
    assert_eq!(memberships.intra42_campus.as_deref(), Some("Urduliz"));
    assert_eq!(memberships.intra42_campuses, ["Barcelona", "Urduliz"]);
}
