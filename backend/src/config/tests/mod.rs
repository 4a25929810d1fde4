//! The configuration as a whole, read as a user writes it.

use std::path::PathBuf;

use secrecy::ExposeSecret;

use super::*;

mod upstreams;

const BASE: &str = r#"
    [server]
    public_origin = "http://127.0.0.1:8080"

    [providers.zeta]
    kind = "oidc"
    issuer = "http://127.0.0.1:3900"
    client_id = "z"
    client_secret = "zs"

    [providers.alpha]
    kind = "google"
    client_id = "a"
    client_secret = "as"
"#;

fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    Config::from_toml(text, env, None)
}

#[test]
fn providers_keep_the_order_of_the_file_and_presets_fill_in_the_issuer() {
    let config = load(BASE, &[]).unwrap();
    let ids: Vec<_> = config.providers.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["zeta", "alpha"]);
    assert_eq!(
        config.providers[1].issuer.as_deref(),
        Some("https://accounts.google.com")
    );
    assert_eq!(config.providers[1].name, "Google");
    assert_eq!(config.server.bind.to_string(), "127.0.0.1:3000");
}

#[test]
fn environment_variables_override_nested_keys() {
    let config = load(
        BASE,
        &[
            ("PORTERO_PROVIDERS__ZETA__CLIENT_SECRET", "from-env"),
            ("PORTERO_SERVER__BIND", "127.0.0.1:4000"),
            ("PORTERO_CONFIG", "ignored.toml"),
            ("HOME", "/root"),
        ],
    )
    .unwrap();
    assert_eq!(
        config.providers[0]
            .client_secret
            .as_ref()
            .unwrap()
            .expose_secret(),
        "from-env"
    );
    assert_eq!(config.server.bind.port(), 4000);
}

#[test]
fn errors_name_the_key_and_the_problem() {
    let cases = [
        (
            BASE.replace("http://127.0.0.1:8080", "http://x/app"),
            "server.public_origin",
        ),
        (
            BASE.replace("client_secret = \"zs\"", ""),
            "providers.zeta.client_secret",
        ),
        (
            BASE.replace("kind = \"oidc\"", "kind = \"nope\""),
            "providers.zeta",
        ),
        (
            BASE.replace("issuer = \"http://127.0.0.1:3900\"", ""),
            "providers.zeta.issuer",
        ),
        (
            format!("{BASE}\n[session]\nsecret_key = \"short\""),
            "session.secret_key",
        ),
        (
            BASE.replace("http://127.0.0.1:8080", "https://app.example"),
            "session.secret_key",
        ),
        (
            format!("{BASE}\n[session]\nstore = \"postgres://x\""),
            "session.store",
        ),
    ];
    for (text, key) in cases {
        let err = load(&text, &[]).unwrap_err().to_string();
        assert!(err.contains(key), "{err:?} should name {key}");
    }
}

#[test]
fn stores_parse_with_sqlite_as_the_default() {
    let config = load(BASE, &[]).unwrap();
    assert_eq!(
        config.session.store,
        SessionStore::Sqlite(PathBuf::from("data/sessions.db"))
    );
    let store = |value: &str| {
        load(&format!("{BASE}\n[session]\nstore = \"{value}\""), &[]).map(|c| c.session.store)
    };
    assert_eq!(store("memory").unwrap(), SessionStore::Memory);
    assert_eq!(
        store("sqlite:///var/lib/portero/s.db").unwrap(),
        SessionStore::Sqlite(PathBuf::from("/var/lib/portero/s.db"))
    );
    assert_eq!(
        store("redis://127.0.0.1:6379").unwrap(),
        SessionStore::Redis("redis://127.0.0.1:6379".into())
    );
    for bad in ["sqlite://", "redis://", "mysql://x", ""] {
        let err = store(bad).unwrap_err().to_string();
        assert!(err.contains("session.store"), "{bad:?}: {err}");
    }
    assert_eq!(config.session.absolute_timeout.as_secs(), 7 * 24 * 3600);
}

#[test]
fn previous_keys_come_as_a_list_or_a_comma_separated_variable() {
    let k1 = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let k2 = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";
    let listed = load(
        &format!("{BASE}\n[session]\nprevious_keys = [\"{k1}\", \"{k2}\"]"),
        &[],
    )
    .unwrap();
    let from_env = load(
        BASE,
        &[("PORTERO_SESSION__PREVIOUS_KEYS", &format!("{k1}, {k2}"))],
    )
    .unwrap();
    for config in [listed, from_env] {
        let keys: Vec<_> = config
            .session
            .previous_keys
            .iter()
            .map(|k| k.expose_secret().to_owned())
            .collect();
        assert_eq!(keys, [k1, k2]);
    }
    for bad in ["[\"short\"]", "[1]", "5"] {
        let err = load(&format!("{BASE}\n[session]\nprevious_keys = {bad}"), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("session.previous_keys"), "{bad}: {err}");
        assert!(!err.contains(k1));
    }
    let err = load(
        &format!("{BASE}\n[session]\nabsolute_timeout_secs = 0"),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("session.absolute_timeout_secs"), "{err}");
}

#[test]
fn trusted_proxies_come_as_a_list_or_a_comma_separated_variable() {
    let origin = "public_origin = \"http://127.0.0.1:8080\"";
    let with = |value: &str| BASE.replace(origin, &format!("{origin}\ntrusted_proxies = {value}"));
    assert!(load(BASE, &[]).unwrap().server.trusted_proxies.is_empty());
    let listed = load(&with("[\"10.0.0.0/8\", \"::1\"]"), &[]).unwrap();
    let from_env = load(
        BASE,
        &[("PORTERO_SERVER__TRUSTED_PROXIES", "10.0.0.0/8, ::1")],
    )
    .unwrap();
    for config in [listed, from_env] {
        let nets: Vec<String> = config
            .server
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(nets, ["10.0.0.0/8", "::1/128"]);
    }
    for bad in ["[\"10.0.0.0/33\"]", "[\"proxy.local\"]", "[1]", "5"] {
        let err = load(&with(bad), &[]).unwrap_err().to_string();
        assert!(err.contains("server.trusted_proxies"), "{bad}: {err}");
    }
}

#[test]
fn debug_output_never_shows_a_secret() {
    let config = load(BASE, &[]).unwrap();
    let printed = format!("{config:?}");
    assert!(!printed.contains("zs"), "{printed}");
}

#[test]
fn an_unknown_key_from_the_environment_names_the_variable_not_the_file() {
    let err = load(BASE, &[("PORTERO_SERVER__BINDD", "127.0.0.1:1")]).unwrap_err();
    assert!(!err.blames_file(), "{err}");
    assert!(err.to_string().contains("PORTERO_SERVER__BINDD"), "{err}");
    let err = load(BASE, &[("PORTERO_SESSION__IDLE_TIMEOUT_SECS", "soon")]).unwrap_err();
    assert!(
        err.to_string()
            .contains("PORTERO_SESSION__IDLE_TIMEOUT_SECS"),
        "{err}"
    );
    // A key the file has, wrong in the file: the file is to blame.
    let err = load(&BASE.replace("client_id = \"z\"", "client_id = 5"), &[]).unwrap_err();
    assert!(
        err.blames_file() && err.to_string().contains("providers.zeta.client_id"),
        "{err}"
    );
}

#[test]
fn a_bad_number_from_the_environment_names_its_exact_variable() {
    let err = load(BASE, &[("PORTERO_SERVER__MAX_CONNECTIONS", "abc")]).unwrap_err();
    let text = err.to_string();
    assert!(!err.blames_file(), "{text}");
    assert!(text.contains("PORTERO_SERVER__MAX_CONNECTIONS"), "{text}");
    assert!(text.contains("server.max_connections"), "{text}");
    assert!(text.contains("\"abc\""), "what was wrong with it: {text}");
    // What the variable holds is read as the key wants it: a secret of digits is a string.
    let config = load(BASE, &[("PORTERO_PROVIDERS__ZETA__CLIENT_SECRET", "12345")]).unwrap();
    let secret = config.providers[0].client_secret.as_ref().unwrap();
    assert_eq!(secret.expose_secret(), "12345");
    let err = load(BASE, &[("PORTERO_SERVER__RATE_LIMIT_BURST", "-1")]).unwrap_err();
    assert!(
        err.to_string().contains("PORTERO_SERVER__RATE_LIMIT_BURST"),
        "{err}"
    );
}

#[test]
fn an_idle_timeout_of_zero_is_refused_naming_the_key_like_the_other_timeouts() {
    for key in [
        "idle_timeout_secs",
        "absolute_timeout_secs",
        "login_timeout_secs",
    ] {
        let err = load(&format!("{BASE}\n[session]\n{key} = 0"), &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("session.{key}: must be at least 1")),
            "{err}"
        );
    }
    let config = load(&format!("{BASE}\n[session]\nidle_timeout_secs = 1"), &[]).unwrap();
    assert_eq!(config.session.idle_timeout.as_secs(), 1);
}

#[test]
fn names_without_a_section_are_left_to_their_own_readers() {
    let config = load(
        BASE,
        &[
            ("PORTERO_LOG", "debug"),
            ("PORTERO_BIN", "target/debug/portero"),
            ("PORTERO_LOG_FORMAT", "json"),
        ],
    )
    .unwrap();
    assert_eq!(config.providers.len(), 2);
}

#[test]
fn every_number_key_takes_its_value_from_the_environment_too() {
    let config = load(
        BASE,
        &[
            ("PORTERO_SERVER__PROVIDER_TIMEOUT_SECS", "3"),
            ("PORTERO_SERVER__RATE_LIMIT_PER_MINUTE", "5"),
            ("PORTERO_SERVER__RATE_LIMIT_BURST", "6"),
            ("PORTERO_SESSION__IDLE_TIMEOUT_SECS", "7"),
            ("PORTERO_SESSION__ABSOLUTE_TIMEOUT_SECS", "8"),
            ("PORTERO_SESSION__LOGIN_TIMEOUT_SECS", "9"),
            ("PORTERO_PROVIDERS__ZETA__SCOPES", "openid, email"),
        ],
    )
    .unwrap();
    assert_eq!(config.server.provider_timeout.as_secs(), 3);
    assert_eq!(config.server.rate_limit_per_minute, 5);
    assert_eq!(config.server.rate_limit_burst, 6);
    assert_eq!(config.session.idle_timeout.as_secs(), 7);
    assert_eq!(config.session.absolute_timeout.as_secs(), 8);
    assert_eq!(config.session.login_timeout.as_secs(), 9);
    assert_eq!(config.providers[0].scopes, ["openid", "email"]);
}

#[test]
fn the_secret_key_is_exactly_32_bytes_from_the_file_or_from_a_file_of_its_own() {
    let with_key = |key: &str| format!("{BASE}\n[session]\nsecret_key = \"{key}\"");
    let long = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVm";
    for bad in [long, "correct horse battery staple correct horse"] {
        let err = load(&with_key(bad), &[]).unwrap_err().to_string();
        assert!(
            err.contains("session.secret_key") && err.contains("32"),
            "{err}"
        );
        assert!(!err.contains(bad), "the key is not repeated: {err}");
    }
    let dir = std::env::temp_dir().join(format!("portero-keyfile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    std::fs::write(dir.join("secret.key"), format!("{key}\n")).unwrap();
    let text = format!("{BASE}\n[session]\nsecret_key_file = \"secret.key\"");
    let config = Config::from_toml(&text, std::iter::empty(), Some(&dir)).unwrap();
    assert_eq!(config.session.secret_key.unwrap().expose_secret(), key);
    let both = format!("{text}\nsecret_key = \"{key}\"");
    let err = Config::from_toml(&both, std::iter::empty(), Some(&dir)).unwrap_err();
    assert!(err.to_string().contains("not both"), "{err}");
    let missing = format!("{BASE}\n[session]\nsecret_key_file = \"nowhere.key\"");
    let err = Config::from_toml(&missing, std::iter::empty(), Some(&dir)).unwrap_err();
    assert!(err.to_string().contains("session.secret_key_file"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn endpoints_that_receive_a_secret_use_https_except_on_loopback() {
    for field in ["token_url", "userinfo_url", "revocation_url", "jwks_url"] {
        let text = BASE.replace(
            "client_secret = \"zs\"",
            &format!("client_secret = \"zs\"\n{field} = \"http://login.example.com/x\""),
        );
        let err = load(&text, &[]).unwrap_err().to_string();
        assert!(err.contains(&format!("providers.zeta.{field}")), "{err}");
        assert!(err.contains("https"), "{err}");
        let loopback = text.replace("http://login.example.com/x", "http://127.0.0.1:9/x");
        assert!(load(&loopback, &[]).is_ok(), "{field} on loopback");
    }
}

#[test]
fn access_rules_fit_their_kind_and_an_empty_list_stops_start_up_naming_the_key() {
    let oidc_allow = |table: &str| format!("{BASE}\n[providers.zeta.allow]\n{table}");
    let config = load(
        &oidc_allow("email_domains = [\"Example.COM\"]\ngroups = [\"Staff\"]"),
        &[],
    )
    .unwrap();
    let allow = config.providers[0].allow.as_ref().unwrap();
    assert_eq!(
        allow.email_domains,
        ["example.com"],
        "domains compare lowercased"
    );
    assert_eq!(allow.groups, ["Staff"], "groups compare as written");
    assert_eq!(allow.groups_claim, "groups");
    let cases = [
        (
            "github_orgs = [\"my-org\"]",
            "providers.zeta.allow.github_orgs",
        ),
        (
            "intra42_campuses = [\"Madrid\"]",
            "providers.zeta.allow.intra42_campuses",
        ),
        ("emails = []", "providers.zeta.allow.emails"),
        ("emails = [\"  \"]", "providers.zeta.allow.emails"),
        (
            "groups_claim = \"roles\"",
            "providers.zeta.allow.groups_claim",
        ),
        ("nobody = [\"x\"]", "providers.zeta.allow"),
        ("", "providers.zeta.allow"),
    ];
    for (table, key) in cases {
        let err = load(&oidc_allow(table), &[]).unwrap_err().to_string();
        assert!(err.contains(key), "{table}: {err:?} should name {key}");
    }
    let github =
        "[server]\npublic_origin = \"http://127.0.0.1:8080\"\n[providers.gh]\nkind = \"github\"\n\
                  client_id = \"g\"\nclient_secret = \"gs\"\n[providers.gh.allow]\n";
    let err = load(&format!("{github}github_teams = [\"just-a-team\"]"), &[]).unwrap_err();
    assert!(
        err.to_string().contains("providers.gh.allow.github_teams"),
        "{err}"
    );
    let err = load(&format!("{github}groups = [\"staff\"]"), &[]).unwrap_err();
    assert!(
        err.to_string().contains("providers.gh.allow.groups"),
        "{err}"
    );
    let config = load(&format!("{github}github_orgs = [\"my-org\"]"), &[]).unwrap();
    assert_eq!(
        config.providers[0].scopes,
        ["read:user", "user:email", "read:org"]
    );
}

#[test]
fn keys_are_read_again_at_most_every_300_s_unless_configured_and_never_with_0() {
    let with = |v: &str| BASE.replace("\"zs\"", &format!("\"zs\"\njwks_min_refetch_secs = {v}"));
    let every = |text: &str| {
        load(text, &[]).unwrap().providers[0]
            .jwks_min_refetch
            .as_secs()
    };
    assert_eq!((every(BASE), every(&with("5"))), (300, 5));
    let err = load(&with("0"), &[]).unwrap_err().to_string();
    assert!(
        err.contains("providers.zeta.jwks_min_refetch_secs: must be at least 1"),
        "{err}"
    );
}
