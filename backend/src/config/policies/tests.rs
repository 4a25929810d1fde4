//! Policies, and the gateway keys that go with them, read as a user writes them: each mistake
//! stops start-up naming the key.

use crate::config::{Config, ConfigError, Login};

const BASE: &str = r#"
    [server]
    public_origin = "http://127.0.0.1:8080"

    [providers.gh]
    kind = "github"
    client_id = "g"
    client_secret = "gs"

    [providers.corp]
    kind = "oidc"
    issuer = "http://127.0.0.1:3900"
    client_id = "c"
    client_secret = "cs"
"#;

fn load(extra: &str) -> Result<Config, ConfigError> {
    Config::from_toml(&format!("{BASE}\n{extra}"), std::iter::empty(), None)
}

fn refused(extra: &str) -> String {
    load(extra).expect_err(extra).to_string()
}

#[test]
fn a_policy_takes_the_allow_vocabulary_and_an_upstream_names_it() {
    let config = load(
        r#"
        [policies.admins]
        github_teams = ["My-Org/Admins"]
        emails = ["ada@example.com"]
        groups = ["staff"]
        groups_claim = "roles"

        [upstreams.admin]
        prefix = "/api/admin"
        url = "http://127.0.0.1:9000/admin"
        policy = "admins"
        "#,
    )
    .unwrap();
    let policy = &config.policies[0];
    assert_eq!(policy.name, "admins");
    assert_eq!(policy.rules.github_teams, ["my-org/admins"], "lowercased");
    assert_eq!(policy.rules.groups_claim, "roles");
    assert_eq!(config.upstreams[0].policy.as_deref(), Some("admins"));
    let gh = &config.providers[0];
    assert!(
        gh.scopes.iter().any(|s| s == "read:org"),
        "a team rule in a policy asks GitHub for read:org: {:?}",
        gh.scopes
    );
    assert!(!config.providers[1].scopes.iter().any(|s| s == "read:org"));
}

#[test]
fn policy_mistakes_stop_start_up_naming_the_key() {
    let cases = [
        // A rule Portero does not know.
        ("[policies.admins]\nteams = [\"x/y\"]", "policies.admins"),
        ("[policies.admins]\nteams = [\"x/y\"]", "teams"),
        // No rule at all, an empty list, a bad team.
        ("[policies.admins]", "policies.admins"),
        ("[policies.admins]\nemails = []", "policies.admins.emails"),
        (
            "[policies.admins]\ngithub_teams = [\"no-slash\"]",
            "policies.admins.github_teams",
        ),
        // No configured provider reads 42 campuses.
        (
            "[policies.admins]\nintra42_campuses = [\"Madrid\"]",
            "policies.admins.intra42_campuses",
        ),
        ("[policies.Admins]\nemails = [\"a@b.c\"]", "policies.Admins"),
    ];
    for (extra, key) in cases {
        let error = refused(extra);
        assert!(error.contains(key), "{extra:?}: {error}");
    }
}

#[test]
fn an_upstream_naming_a_policy_that_does_not_exist_stops_start_up_naming_the_key() {
    let error = refused(
        r#"
        [upstreams.admin]
        prefix = "/api/admin"
        url = "http://127.0.0.1:9000/admin"
        policy = "admins"
        "#,
    );
    assert!(error.contains("upstreams.admin.policy"), "{error}");
    assert!(error.contains("admins"), "{error}");
    let error = refused(
        r#"
        [policies.admins]
        emails = ["ada@example.com"]
        [upstreams.admin]
        prefix = "/api/admin"
        url = "http://127.0.0.1:9000/admin"
        login = "optional"
        policy = "admins"
        "#,
    );
    assert!(error.contains("upstreams.admin.policy"), "{error}");
    assert!(error.contains("required"), "{error}");
}

#[test]
fn an_upstream_id_that_is_a_reserved_audience_stops_start_up_naming_it() {
    let error = refused(
        r#"
        [upstreams.auth]
        prefix = "/api/authz"
        url = "http://127.0.0.1:9000/x"
        "#,
    );
    assert!(error.contains("upstreams.auth"), "{error}");
    assert!(error.contains("audience"), "{error}");
}

#[test]
fn an_access_token_goes_over_https_only_off_loopback() {
    let upstream = |url: &str, token: bool| {
        format!("[upstreams.app]\nprefix = \"/api/app\"\nurl = \"{url}\"\naccess_token = {token}\n")
    };
    let error = refused(&upstream("http://app.internal:9000/x", true));
    assert!(error.contains("upstreams.app.access_token"), "{error}");
    assert!(error.contains("upstreams.app.url"), "{error}");
    assert!(error.contains("https"), "{error}");
    for (url, token) in [
        ("https://app.internal/x", true),
        ("http://127.0.0.1:9000/x", true),
        ("http://localhost:9000/x", true),
        ("http://app.internal:9000/x", false),
    ] {
        let config = load(&upstream(url, token)).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(config.upstreams[0].access_token, token);
        assert_eq!(config.upstreams[0].login, Login::Required);
    }
}

#[test]
fn recheck_and_websocket_idle_timeouts_have_defaults_and_refuse_zero_naming_the_key() {
    let config = load("").unwrap();
    assert_eq!(config.session.recheck.as_secs(), 3600);
    assert_eq!(config.server.websocket_idle_timeout.as_secs(), 300);
    for (text, key) in [
        (
            format!("{BASE}\n[session]\nrecheck_secs = 0\n"),
            "session.recheck_secs",
        ),
        (
            BASE.replace("[server]", "[server]\nwebsocket_idle_timeout_secs = 0"),
            "server.websocket_idle_timeout_secs",
        ),
    ] {
        let error = Config::from_toml(&text, std::iter::empty(), None)
            .expect_err(key)
            .to_string();
        assert!(error.contains(key), "{error}");
    }
    let env = [("PORTERO_SESSION__RECHECK_SECS".to_owned(), "60".to_owned())];
    let config = Config::from_toml(BASE, env, None).unwrap();
    assert_eq!(config.session.recheck.as_secs(), 60);
}

#[test]
fn a_policy_may_ask_for_a_recent_login_with_or_without_rules() {
    let config = load(
        "[policies.recent]\nmax_age_secs = 300\n\n\
         [policies.admins]\nemails = [\"ada@example.com\"]\nmax_age_secs = 900\n",
    )
    .unwrap();
    let policy = |name: &str| config.policies.iter().find(|p| p.name == name).unwrap();
    assert_eq!(policy("recent").max_age_secs, Some(300));
    assert!(
        policy("recent").rules.is_empty(),
        "anyone logged in, recently"
    );
    assert_eq!(policy("admins").max_age_secs, Some(900));
    assert_eq!(policy("admins").rules.emails, ["ada@example.com"]);
    assert_eq!(
        load("[policies.any]\nemails = [\"a@b.c\"]\n")
            .unwrap()
            .policies[0]
            .max_age_secs,
        None
    );
}

#[test]
fn a_bad_max_age_secs_stops_start_up_naming_the_key() {
    for value in ["0", "-5", "400000000", "3.5", "\"soon\""] {
        let extra = format!("[policies.admins]\nemails = [\"a@b.c\"]\nmax_age_secs = {value}\n");
        let error = refused(&extra);
        assert!(
            error.contains("policies.admins.max_age_secs"),
            "{value}: {error}"
        );
    }
    let error = refused("[policies.recent]\nmax_age_secs = 0\n");
    assert!(error.contains("policies.recent.max_age_secs"), "{error}");
    // Only a policy takes it: a provider's allow table says who, not how recently.
    let error = refused("[providers.corp.allow]\nemails = [\"a@b.c\"]\nmax_age_secs = 60\n");
    assert!(
        error.contains("providers.corp.allow.max_age_secs"),
        "{error}"
    );
}

#[test]
fn a_policy_with_neither_a_rule_nor_max_age_secs_stops_start_up_saying_what_it_needs() {
    let error = refused("[policies.empty]");
    assert!(error.contains("policies.empty"), "{error}");
    assert!(error.contains("max_age_secs"), "{error}");
}
