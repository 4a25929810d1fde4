//! GitHub organization and team memberships that change while a person is logged in: what
//! `/user/orgs`, `/user/teams` and the membership check answer to a token issued before the
//! change. Loopback only.

mod common;
#[path = "common/github.rs"]
mod github;

use common::*;
use devprovider::{AdminError, Dialect, MembershipChange};
use github::*;
use reqwest::header::LOCATION;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn org_logins(app: &TestProvider, token: &str) -> Vec<String> {
    let orgs = json_200(app.get_with_token("/user/orgs", token).await).await;
    names(&orgs, |org| org["login"].as_str().map(str::to_owned))
}

async fn team_names(app: &TestProvider, token: &str) -> Vec<String> {
    let teams = json_200(app.get_with_token("/user/teams", token).await).await;
    names(&teams, |team| {
        let org = team["organization"]["login"].as_str()?;
        Some(format!("{org}/{}", team["slug"].as_str()?))
    })
}

fn names(list: &Value, name: impl Fn(&Value) -> Option<String>) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| name(item).expect("a name"))
        .collect()
}

#[tokio::test]
async fn someone_removed_from_an_org_while_logged_in_is_no_longer_listed_with_the_same_token() {
    let app = spawn_github().await;
    let token = app.token_for("margaret", "read:org").await;
    assert_eq!(org_logins(&app, &token).await, ["apollo-guidance"]);
    assert_eq!(
        team_names(&app, &token).await,
        ["apollo-guidance/flight-software"]
    );

    app.provider.set_github_orgs("margaret", &[]).unwrap();

    assert!(org_logins(&app, &token).await.is_empty());
    // Her team went with the organization.
    assert!(team_names(&app, &token).await.is_empty());
    assert!(app.provider.is_access_token_active(&token));
}

#[tokio::test]
async fn joining_a_team_joins_its_organization_and_leaving_the_team_keeps_the_organization() {
    let app = spawn_github().await;
    let token = app.token_for("ada", "read:org").await;
    assert!(org_logins(&app, &token).await.is_empty());

    app.provider
        .set_github_teams("ada", &["acme/ops", "apollo-guidance/flight-software"])
        .unwrap();
    assert_eq!(org_logins(&app, &token).await, ["acme", "apollo-guidance"]);
    assert_eq!(
        team_names(&app, &token).await,
        ["acme/ops", "apollo-guidance/flight-software"]
    );
    let orgs = json_200(app.get_with_token("/user/orgs", &token).await).await;
    // A new organization has a stable id and no description, and an avatar like any other.
    assert!(orgs[0]["id"].is_u64());
    assert_eq!(orgs[0]["description"], Value::Null);
    let avatar = app.get("/avatars/acme.svg", &[]).await;
    assert_eq!(avatar.status(), StatusCode::OK);

    app.provider.set_github_teams("ada", &[]).unwrap();
    assert_eq!(org_logins(&app, &token).await, ["acme", "apollo-guidance"]);
    assert!(team_names(&app, &token).await.is_empty());
    assert_eq!(
        app.provider.memberships("ada").unwrap().github_orgs,
        ["acme", "apollo-guidance"]
    );
}

#[tokio::test]
async fn the_membership_check_answers_204_404_or_302_as_github_does() {
    let app = spawn_github().await;
    app.provider
        .set_github_orgs("alan", &["apollo-guidance"])
        .unwrap();
    let member = app.token_for("margaret", "read:org").await;
    let check = |token: String, path: &'static str| {
        let app = &app;
        async move { app.get_with_token(path, &token).await }
    };

    let yes = check(member.clone(), "/orgs/apollo-guidance/members/alan").await;
    assert_eq!(yes.status(), StatusCode::NO_CONTENT);
    let no = check(member.clone(), "/orgs/apollo-guidance/members/ada").await;
    assert_eq!(no.status(), StatusCode::NOT_FOUND);
    let unknown = check(member.clone(), "/orgs/no-such-org/members/alan").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // Without read:org, or from outside the organization, private memberships can't be seen.
    let narrow = app.token_for("margaret", "read:user").await;
    let outsider = app.token_for("ada", "read:org").await;
    for token in [narrow, outsider] {
        let redirected = check(token, "/orgs/apollo-guidance/members/alan").await;
        assert_eq!(redirected.status(), StatusCode::FOUND);
        let location = redirected.headers()[LOCATION].to_str().unwrap().to_owned();
        assert_eq!(
            location,
            app.url("/orgs/apollo-guidance/public_members/alan")
        );
        // Every membership is private here, GitHub's default: the public check says no.
        let public = app.get(&location.replace(&app.url(""), ""), &[]).await;
        assert_eq!(public.status(), StatusCode::NOT_FOUND);
    }

    // Removed while logged in: the same member token now hears 404 about alan.
    app.provider.set_github_orgs("alan", &[]).unwrap();
    let gone = check(member, "/orgs/apollo-guidance/members/alan").await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_change_github_would_refuse_or_of_another_dialect_changes_nothing() {
    let app = spawn_github().await;
    let before = app.provider.memberships("margaret").unwrap();
    let refused = app.provider.change_memberships(
        "margaret",
        MembershipChange {
            github_orgs: Some(vec!["acme".into()]),
            github_teams: Some(vec!["no-slash".into()]),
            ..MembershipChange::default()
        },
    );
    assert!(
        matches!(&refused, Err(AdminError::Invalid(why)) if why.contains("org/team-slug")),
        "{refused:?}"
    );
    assert_eq!(
        app.provider.set_groups("margaret", &["staff"]),
        Err(AdminError::OtherDialect {
            field: "groups",
            dialect: Dialect::Github
        })
    );
    assert!(matches!(
        app.provider.set_github_orgs("nobody", &["acme"]),
        Err(AdminError::UnknownUser(login)) if login == "nobody"
    ));
    let error = app
        .provider
        .set_github_orgs("margaret", &["bad org"])
        .unwrap_err();
    assert!(error.to_string().contains("`bad org`"), "{error}");
    assert_eq!(app.provider.memberships("margaret").unwrap(), before);
    assert_eq!(
        json!(before.github_teams),
        json!(["apollo-guidance/flight-software"])
    );
}
