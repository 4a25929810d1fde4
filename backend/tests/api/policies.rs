//! Policies per app (docs/design.md, "Policies per app") and rule 22's re-check: an upstream or
//! `GET /api/auth?policy=` admits only the people its `[policies.NAME]` names, judged on the
//! facts their provider vouched for at login, kept sealed in the session and read again at
//! each refresh and every `session.recheck_secs` — with devprovider's GitHub organizations and
//! teams, 42 campuses and OIDC groups changed while people are logged in.

use std::time::Duration;

use devprovider::{Config, DevProvider, Dialect};
use reqwest::Method;

use crate::{helpers::*, sessions_support::*, upstream::Upstream};

/// Portero with devprovider in `dialect` as `[providers.p]`, `session_lines` in `[session]`
/// (a `store` among them replaces memory), and `extra` (policies, an `allow` table, upstreams;
/// `{app}` is the recording app's URL, and the guide's app at 127.0.0.1:9000 the recording app).
async fn with_policies(
    dialect: Dialect,
    kind: &str,
    provider: Config,
    session_lines: &str,
    extra: &str,
) -> (TestApp, DevProvider, Upstream) {
    let (provider, table) = devprovider_as(dialect, kind, provider).await;
    let upstream = Upstream::start().await;
    let store = if session_lines.contains("store =") {
        ""
    } else {
        "store = \"memory\""
    };
    let extra = extra.replace("{app}", &upstream.url()).replace(
        "http://127.0.0.1:9000",
        &format!("http://{}", upstream.addr),
    );
    let config = format!("{table}\n{extra}").replace(
        "store = \"memory\"",
        &format!("{store}\n        {session_lines}"),
    );
    (spawn_app_with(&config).await, provider, upstream)
}

/// A browser logged in as `user` with provider `p`.
async fn logged_in(app: &TestApp, user: &str) -> Browser {
    let browser = app.browser();
    let reply = log_in_at(&browser, "p", user).await;
    assert_eq!(reply.status, 200, "{user}: {}", reply.body);
    browser
}

/// `GET /api/auth?policy={policy}` as nginx's `auth_request` asks it for `browser`.
async fn auth(browser: &Browser, policy: &str) -> Reply {
    browser.get(&format!("/api/auth?policy={policy}")).await
}

/// docs/integrate.md, "Policies", shows this as it is (`backend/tests/integrate_doc.rs`).
const GUIDE: &str = r#"
[policies.admins]              # the vocabulary of [providers.*.allow]; any rule that matches admits
github_teams = ["apollo-guidance/flight-software"]
emails = ["grace@example.com"] # verified addresses only

[upstreams.admin]
prefix = "/api/admin"
url = "http://127.0.0.1:9000/admin"
policy = "admins"              # anyone else: 403 access_denied, and the app hears nothing
"#;

#[tokio::test]
async fn the_policy_of_the_integration_guide_admits_the_team_and_the_address_it_lists_only() {
    let (app, _provider, upstream) = with_policies(
        Dialect::Github,
        "github",
        Config::for_dialect(Dialect::Github),
        "",
        GUIDE,
    )
    .await;
    for (user, status) in [
        ("margaret", 200),
        ("grace", 200),
        ("ada", 403),
        ("alan", 403),
    ] {
        let browser = logged_in(&app, user).await;
        let reply = browser.get("/api/admin/reports?year=2026").await;
        assert_eq!(reply.status, status, "{user}: {}", reply.body);
        let auth = auth(&browser, "admins").await;
        assert_eq!(auth.status, status, "{user} at /api/auth: {}", auth.body);
    }
    let heard: Vec<String> = upstream
        .received()
        .iter()
        .map(|r| format!("{} {}", r.header("x-portero-login"), r.target))
        .collect();
    assert_eq!(
        heard,
        [
            "margaret /admin/reports?year=2026",
            "grace /admin/reports?year=2026"
        ]
    );
}

/// Long enough for facts read at login to be due again with `recheck_secs = 2`.
const PAST_RECHECK: Duration = Duration::from_millis(2100);

#[tokio::test]
async fn an_upstream_with_a_policy_admits_its_people_and_refuses_the_others_before_the_app_hears() {
    let (app, _provider, upstream) = with_policies(
        Dialect::Standard,
        "oidc",
        Config::default(),
        "",
        "[policies.admins]
        groups = [\"staff\"]
        [upstreams.admin]
        prefix = \"/api/admin\"
        url = \"{app}\"
        policy = \"admins\"
        [upstreams.notes]
        prefix = \"/api/notes\"
        url = \"{app}\"",
    )
    .await;
    let barbara = logged_in(&app, "barbara").await;
    assert_eq!(barbara.get("/api/admin/users").await.status, 200);
    let ada = logged_in(&app, "ada").await;
    let refused = ada.get("/api/admin/users").await;
    refused.assert_error(403, "access_denied");
    let message = refused.json::<shared::ApiError>().message;
    assert!(
        message.contains("groups"),
        "names the kind of rule: {message}"
    );
    assert!(!message.contains("staff"), "never its values: {message}");
    let heard: Vec<String> = upstream
        .received()
        .iter()
        .map(|r| r.header("x-portero-login"))
        .collect();
    assert_eq!(heard, ["barbara"], "the app heard nothing of ada");
    // The policy is the admin app's only: the notes app is open to everyone logged in.
    assert_eq!(ada.get("/api/notes/1").await.status, 200);
    anonymous_is_401(&app).await;
}

/// `GET /api/auth?policy=staff` as Caddy's `forward_auth` asks it for `browser`'s page view.
async fn forwarded(app: &TestApp, browser: &Browser) -> Reply {
    let cookie = browser.cookie_header();
    app.browser()
        .request(
            Method::GET,
            "/api/auth?policy=staff",
            None,
            &[
                ("x-forwarded-uri", "/admin/"),
                ("x-forwarded-method", "GET"),
                ("accept", "text/html"),
                ("cookie", &cookie),
            ],
        )
        .await
}

async fn anonymous_is_401(app: &TestApp) {
    app.browser()
        .get("/api/admin/users")
        .await
        .assert_error(401, "not_logged_in");
}

#[tokio::test]
async fn api_auth_with_a_policy_refuses_outside_it_in_both_dialects_and_an_unknown_policy_is_400() {
    let (app, _provider, _upstream) = with_policies(
        Dialect::Standard,
        "oidc",
        Config::default(),
        "",
        "[policies.staff]\n        groups = [\"staff\"]",
    )
    .await;
    let barbara = logged_in(&app, "barbara").await;
    let ada = logged_in(&app, "ada").await;
    let admitted = auth(&barbara, "staff").await;
    assert_eq!(admitted.status, 200, "{}", admitted.body);
    assert_eq!(admitted.headers["x-portero-login"], "barbara");
    let refused = auth(&ada, "staff").await;
    refused.assert_error(403, "access_denied");
    assert_eq!(refused.headers["cache-control"], "no-store");
    assert_eq!(
        auth(&ada, "").await.status,
        400,
        "an empty name is no policy"
    );
    assert_eq!(
        ada.get("/api/auth").await.status,
        200,
        "no policy: anyone logged in"
    );

    // Caddy's and Traefik's dialect: X-Forwarded-Uri in place of x-csrf.
    assert_eq!(forwarded(&app, &barbara).await.status, 200);
    forwarded(&app, &ada)
        .await
        .assert_error(403, "access_denied");
    // Logged out, a page view is still sent to log in.
    assert_eq!(forwarded(&app, &app.browser()).await.status, 302);

    for browser in [&ada, &app.browser()] {
        let unknown = auth(browser, "admins").await;
        unknown.assert_error(400, "unknown_policy");
        assert!(unknown.body.contains("admins"), "{}", unknown.body);
    }
}

#[tokio::test]
async fn a_github_team_or_organization_left_while_logged_in_is_refused_once_the_facts_are_read_again(
) {
    let db = temp_dir("policies-github").join("sessions.db");
    let (app, provider, _upstream) = with_policies(
        Dialect::Github,
        "github",
        Config::for_dialect(Dialect::Github),
        &format!(
            "store = \"sqlite://{}\"\n        recheck_secs = 2",
            db.display()
        ),
        "[policies.team]
        github_teams = [\"apollo-guidance/flight-software\"]
        [policies.org]
        github_orgs = [\"apollo-guidance\"]
        [upstreams.team]
        prefix = \"/api/team\"
        url = \"{app}\"
        policy = \"team\"
        [upstreams.org]
        prefix = \"/api/org\"
        url = \"{app}\"
        policy = \"org\"",
    )
    .await;
    assert_scope_asked(&app, "p", "read:org").await;
    let margaret = logged_in(&app, "margaret").await;
    assert_eq!(margaret.get("/api/team/x").await.status, 200);
    assert_eq!(margaret.get("/api/org/x").await.status, 200);
    // The facts are kept sealed in the session: the store holds no team or org in clear.
    let rows = sqlite_rows(&db).await;
    assert_not_in_clear_text(&rows, &["flight-software", "apollo-guidance"]);

    provider.set_github_teams("margaret", &[]).unwrap();
    // Until they are due again, the sealed facts answer: GitHub is not asked per request.
    let asked = provider.stats().userinfo_requests;
    assert_eq!(margaret.get("/api/team/x").await.status, 200);
    assert_eq!(provider.stats().userinfo_requests, asked);
    tokio::time::sleep(PAST_RECHECK).await;
    margaret
        .get("/api/team/x")
        .await
        .assert_error(403, "access_denied");
    assert!(
        provider.stats().userinfo_requests > asked,
        "read again from GitHub"
    );
    assert_eq!(
        margaret.get("/api/org/x").await.status,
        200,
        "still in the org"
    );

    provider.set_github_orgs("margaret", &[]).unwrap();
    tokio::time::sleep(PAST_RECHECK).await;
    margaret
        .get("/api/org/x")
        .await
        .assert_error(403, "access_denied");
    assert_eq!(
        margaret.get("/api/me").await.status,
        200,
        "a policy ends no session"
    );
}

#[tokio::test]
async fn a_42_student_who_moves_campus_is_refused_by_the_campus_policy_after_the_recheck() {
    let (app, provider, _upstream) = with_policies(
        Dialect::Intra42,
        "intra42",
        Config::for_dialect(Dialect::Intra42),
        "recheck_secs = 2",
        "[policies.madrid]\n        intra42_campuses = [\"Madrid\"]",
    )
    .await;
    let ada = logged_in(&app, "ada").await;
    assert_eq!(auth(&ada, "madrid").await.status, 200);
    provider.set_intra42_campus("ada", "Paris").unwrap();
    tokio::time::sleep(PAST_RECHECK).await;
    auth(&ada, "madrid")
        .await
        .assert_error(403, "access_denied");
    provider.set_intra42_campus("ada", "22").unwrap();
    tokio::time::sleep(PAST_RECHECK).await;
    assert_eq!(
        auth(&ada, "madrid").await.status,
        200,
        "back in Madrid (by id)"
    );
}

#[tokio::test]
async fn oidc_groups_are_read_again_at_each_refresh() {
    // 33 s tokens: 4 s after the login they are inside the 30 s refresh margin. The re-check
    // interval is the default hour: only the refresh reads the groups again.
    let (app, provider, _upstream) = with_policies(
        Dialect::Standard,
        "oidc",
        Config {
            access_token_ttl: Duration::from_secs(33),
            ..Config::default()
        },
        "",
        "[policies.staff]\n        groups = [\"staff\"]",
    )
    .await;
    let barbara = logged_in(&app, "barbara").await;
    provider.set_groups("barbara", &[]).unwrap();
    assert_eq!(
        auth(&barbara, "staff").await.status,
        200,
        "not read again yet"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    let refreshes = provider.stats().refresh_grants;
    assert_eq!(barbara.get("/api/profile").await.status, 200);
    assert_eq!(provider.stats().refresh_grants, refreshes + 1);
    auth(&barbara, "staff")
        .await
        .assert_error(403, "access_denied");
}

#[tokio::test]
async fn a_person_their_provider_no_longer_admits_loses_every_session() {
    let (app, provider, _upstream) = with_policies(
        Dialect::Github,
        "github",
        Config::for_dialect(Dialect::Github),
        "recheck_secs = 2",
        "[providers.p.allow]\n        github_orgs = [\"apollo-guidance\"]",
    )
    .await;
    let (laptop, phone) = (
        logged_in(&app, "margaret").await,
        logged_in(&app, "margaret").await,
    );
    assert_eq!(laptop.get("/api/auth").await.status, 200);
    provider.set_github_orgs("margaret", &[]).unwrap();
    tokio::time::sleep(PAST_RECHECK).await;
    let revoked = provider.stats().revocations;
    laptop
        .get("/api/auth")
        .await
        .assert_error(401, "session_expired");
    // The phone's session ends too, in a moment, its token revoked like the laptop's.
    let mut ended = false;
    for _ in 0..40 {
        if phone.get("/api/me").await.status == 401 && provider.stats().revocations == revoked + 2 {
            ended = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ended, "the other session ended: {:?}", provider.stats());
    // Logging in again is refused, naming the rule.
    log_in_at(&app.browser(), "p", "margaret")
        .await
        .assert_error(403, "access_denied");
}

#[tokio::test]
async fn a_provider_rate_limiting_the_recheck_is_a_429_and_the_session_stays() {
    let (app, provider, _upstream) = with_policies(
        Dialect::Github,
        "github",
        Config::for_dialect(Dialect::Github),
        "recheck_secs = 2",
        "[policies.org]\n        github_orgs = [\"apollo-guidance\"]",
    )
    .await;
    let margaret = logged_in(&app, "margaret").await;
    tokio::time::sleep(PAST_RECHECK).await;
    provider.throttle_next(3, 60);
    let limited = auth(&margaret, "org").await;
    limited.assert_error(429, "rate_limited");
    assert_eq!(limited.headers["retry-after"], "60");
    assert_eq!(
        margaret.get("/api/me").await.status,
        200,
        "the session stays"
    );
    provider.throttle_next(0, 0);
    assert_eq!(auth(&margaret, "org").await.status, 200);
}
