//! Who may log in (docs/design.md, "Who may log in"; rule 18), with each of devprovider's dialects
//! and its demo users: every rule kind admits whom it names and refuses the others with 403
//! `access_denied` naming the kind of rule (never whom it allows), no session, the fresh tokens
//! revoked.

use devprovider::{DevProvider, Dialect};

use crate::{helpers::*, sessions_support::*};

/// devprovider in `dialect` as provider `p` of `kind`, its endpoints named, with `allow`.
async fn with_rules(dialect: Dialect, kind: &str, allow: &str) -> (TestApp, DevProvider) {
    with_dialect(
        dialect,
        kind,
        &format!("[providers.p.allow]\n        {allow}"),
    )
    .await
}

/// `user` is refused, the message names `rule` (its kind, never `allowed`, the values it
/// allows: who else may log in is none of a refused person's business), no session is left
/// and the tokens issued for the login were revoked: `revocations` calls (a refresh and an
/// access token at a standard server, GitHub's one token, none at 42 Intra, which has no
/// revocation).
async fn assert_denied(
    app: &TestApp,
    provider: &DevProvider,
    user: &str,
    (rule, allowed): (&str, &str),
    revocations: usize,
) {
    let browser = app.browser();
    let revoked_before = provider.stats().revocations;
    let reply = log_in_at(&browser, "p", user).await;
    reply.assert_error(403, "access_denied");
    let message = reply.json::<shared::ApiError>().message;
    assert!(message.contains(&format!("({rule})")), "{user}: {message}");
    assert!(
        !message.to_lowercase().contains(allowed),
        "{user}: {message}"
    );
    browser
        .get("/api/me")
        .await
        .assert_error(401, "not_logged_in");
    assert_eq!(
        provider.stats().revocations,
        revoked_before + revocations,
        "{user}: the fresh tokens were revoked"
    );
}

async fn assert_admitted(app: &TestApp, user: &str) {
    let browser = app.browser();
    let reply = log_in_at(&browser, "p", user).await;
    assert_eq!(reply.status, 200, "{user}: {}", reply.body);
    assert_eq!(browser.get("/api/me").await.status, 200);
}

#[tokio::test]
async fn an_oidc_provider_admits_only_verified_addresses_of_the_allowed_domain() {
    let (app, provider) = with_rules(
        Dialect::Standard,
        "oidc",
        "email_domains = [\"example.com\"]",
    )
    .await;
    assert_admitted(&app, "ada").await;
    // edsger@example.com, not verified.
    assert_denied(
        &app,
        &provider,
        "edsger",
        ("email_domains", "example.com"),
        2,
    )
    .await;
    let metrics = app.metrics().await;
    assert!(
        metrics
            .contains("portero_logins_finished_total{provider=\"p\",outcome=\"access_denied\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_groups_rule_admits_the_members_of_the_group_in_the_groups_claim() {
    let (app, provider) = with_rules(Dialect::Standard, "oidc", "groups = [\"staff\"]").await;
    assert_admitted(&app, "barbara").await;
    assert_denied(&app, &provider, "ada", ("groups", "staff"), 2).await;
}

#[tokio::test]
async fn a_github_organization_rule_asks_for_read_org_and_admits_its_members() {
    let (app, provider) = with_rules(
        Dialect::Github,
        "github",
        "github_orgs = [\"Apollo-Guidance\"]",
    )
    .await;
    assert_scope_asked(&app, "p", "read:org").await;
    assert_admitted(&app, "margaret").await;
    assert_denied(
        &app,
        &provider,
        "ada",
        ("github_orgs", "apollo-guidance"),
        1,
    )
    .await;
}

#[tokio::test]
async fn a_github_team_rule_admits_the_team_and_an_email_rule_reads_verified_addresses() {
    let (app, provider) = with_rules(
        Dialect::Github,
        "github",
        "github_teams = [\"apollo-guidance/flight-software\"]\n        emails = [\"grace@example.com\", \"edsger@example.com\"]",
    )
    .await;
    assert_admitted(&app, "margaret").await;
    // grace keeps her address private: it comes verified from /user/emails.
    assert_admitted(&app, "grace").await;
    // edsger's is listed, but GitHub has not verified it.
    assert_denied(
        &app,
        &provider,
        "edsger",
        ("github_teams", "flight-software"),
        1,
    )
    .await;
}

#[tokio::test]
async fn a_42_campus_rule_admits_the_students_of_the_campus_by_name_or_id() {
    let (app, provider) = with_rules(
        Dialect::Intra42,
        "intra42",
        "intra42_campuses = [\"Madrid\"]",
    )
    .await;
    assert_admitted(&app, "ada").await;
    assert_denied(&app, &provider, "alan", ("intra42_campuses", "madrid"), 0).await;
}
