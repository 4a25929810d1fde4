//! Properties of the configuration loader (`Config::from_toml`) over arbitrary input: it never
//! panics, and when it refuses a file or an environment override its message names the key
//! (docs/design.md: "A config error stops start-up with a message naming the key").

use portero::config::{Config, ConfigError};
use proptest::prelude::*;

const BASE: &str = r#"
[server]
bind = "127.0.0.1:3000"
public_origin = "http://127.0.0.1:8080"

[session]
store = "memory"

[providers.dev]
kind = "oidc"
issuer = "http://127.0.0.1:3900"
client_id = "portero-dev"
client_secret = "s3cret"
"#;

/// Every key a file may set, as `section.key` (providers under the id `dev`).
const KEYS: &[(&str, &str)] = &[
    ("server", "bind"),
    ("server", "public_origin"),
    ("server", "static_dir"),
    ("server", "provider_timeout_secs"),
    ("server", "rate_limit_per_minute"),
    ("server", "rate_limit_burst"),
    ("server", "backchannel_logouts_per_minute"),
    ("server", "backchannel_logouts_burst"),
    ("session", "store"),
    ("session", "secret_key"),
    ("session", "idle_timeout_secs"),
    ("session", "absolute_timeout_secs"),
    ("session", "login_timeout_secs"),
    ("providers.dev", "kind"),
    ("providers.dev", "name"),
    ("providers.dev", "client_id"),
    ("providers.dev", "client_secret"),
    ("providers.dev", "scopes"),
    ("providers.dev", "issuer"),
    ("providers.dev", "authorize_url"),
    ("providers.dev", "token_url"),
    ("providers.dev", "userinfo_url"),
];

/// The keys whose values are whole numbers (none is in `BASE`).
const NUMBER_KEYS: &[(&str, &str)] = &[
    ("server", "provider_timeout_secs"),
    ("server", "rate_limit_per_minute"),
    ("server", "rate_limit_burst"),
    ("server", "backchannel_logouts_per_minute"),
    ("server", "backchannel_logouts_burst"),
    ("session", "idle_timeout_secs"),
    ("session", "absolute_timeout_secs"),
    ("session", "login_timeout_secs"),
];

fn load(text: &str, env: Vec<(String, String)>) -> Result<Config, ConfigError> {
    Config::from_toml(text, env, None)
}

/// A TOML value of any type, written as TOML.
fn toml_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<String>().prop_map(|s| toml::Value::String(s).to_string()),
        "[a-z0-9:/._-]{0,30}".prop_map(|s| toml::Value::String(s).to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        (0i64..100_000).prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:?}")),
        Just("{}".to_owned()),
        Just("{ a = 1 }".to_owned()),
    ];
    prop_oneof![
        4 => leaf.clone(),
        1 => prop::collection::vec(leaf, 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
    ]
}

/// The base file with `section.key = value` set (replacing the line if there is one).
fn with_key(section: &str, key: &str, value: &str) -> String {
    let header = format!("[{section}]\n");
    let start = BASE.find(&header).expect("the section exists") + header.len();
    let end = BASE[start..]
        .find("\n[")
        .map_or(BASE.len(), |i| start + i + 1);
    let body: String = BASE[start..end]
        .lines()
        .filter(|line| line.split('=').next().map(str::trim) != Some(key))
        .map(|line| format!("{line}\n"))
        .collect();
    format!("{}{key} = {value}\n{body}{}", &BASE[..start], &BASE[end..])
}

fn assert_names(err: &ConfigError, wanted: &[&str], what: &str) {
    let message = err.to_string();
    assert!(
        wanted.iter().any(|w| message.contains(w)),
        "{what}: the error {message:?} names none of {wanted:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn any_text_is_refused_or_accepted_without_a_panic(text in any::<String>()) {
        let _ = load(&text, vec![]);
    }

    #[test]
    fn toml_like_text_never_panics(text in r#"(\[[a-z.]{0,12}\]\n|[a-z_]{1,12} = ("[ -~]{0,12}"|[0-9-]{1,6}|true|\[\])\n){0,12}"#) {
        let _ = load(&text, vec![]);
        let _ = load(&format!("{BASE}\n{text}"), vec![]);
    }

    #[test]
    fn a_bad_value_for_any_key_is_refused_with_that_keys_name(
        index in 0..KEYS.len(),
        value in toml_value(),
    ) {
        let (section, key) = KEYS[index];
        let text = with_key(section, key, &value);
        if let Err(err) = load(&text, vec![]) {
            assert_names(&err, &[key], &format!("{section}.{key} = {value}"));
        }
    }

    #[test]
    fn a_bad_environment_override_is_refused_with_the_variables_or_keys_name(
        index in 0..KEYS.len(),
        value in any::<String>(),
    ) {
        let (section, key) = KEYS[index];
        let variable = format!(
            "PORTERO_{}__{}",
            section.replace('.', "__").to_ascii_uppercase(),
            key.to_ascii_uppercase()
        );
        if let Err(err) = load(BASE, vec![(variable.clone(), value.clone())]) {
            assert_names(&err, &[key, &variable], &format!("{variable}={value:?}"));
        }
    }

    #[test]
    fn a_number_from_the_environment_sets_a_numeric_key_the_file_leaves_out(
        index in 0..NUMBER_KEYS.len(),
        n in 1u32..100_000,
    ) {
        let (section, key) = NUMBER_KEYS[index];
        let variable = format!("PORTERO_{}__{}", section.to_ascii_uppercase(), key.to_ascii_uppercase());
        let config = load(BASE, vec![(variable.clone(), n.to_string())]);
        prop_assert!(config.is_ok(), "{variable}={n}: {:?}", config.err());
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_name(
        index in 0..3usize,
        key in "[a-z][a-z_]{2,12}",
    ) {
        let section = ["server", "session", "providers.dev"][index];
        prop_assume!(!KEYS.iter().any(|(_, k)| *k == key));
        prop_assume!(!["client_secret_file", "revocation_url", "token_endpoint_auth", "subject_field",
                       "login_field", "name_field", "email_field", "avatar_field"].contains(&key.as_str()));
        let text = with_key(section, &key, "\"x\"");
        let err = load(&text, vec![]).expect_err("an unknown key is an error");
        assert_names(&err, &[&key], &format!("{section}.{key}"));
    }
}

#[test]
fn the_rate_limit_and_login_timeout_defaults_are_30_a_minute_bursts_of_10_and_10_minutes() {
    let config = load(BASE, vec![]).unwrap();
    assert_eq!(config.server.rate_limit_per_minute, 30);
    assert_eq!(config.server.rate_limit_burst, 10);
    assert_eq!(config.session.login_timeout.as_secs(), 600);
    let err = load(&with_key("session", "login_timeout_secs", "0"), vec![]).unwrap_err();
    assert_names(
        &err,
        &["session.login_timeout_secs"],
        "a zero login timeout",
    );
}

#[test]
fn a_list_from_the_environment_sets_a_list_key_the_file_leaves_out() {
    let env = vec![(
        "PORTERO_PROVIDERS__DEV__SCOPES".to_owned(),
        "openid, email".to_owned(),
    )];
    let config = load(BASE, env).unwrap();
    assert_eq!(config.providers[0].scopes, ["openid", "email"]);
}
