//! `client_auth`, `client_key_file`, `par` and `dpop`, read as a user writes them.

use std::path::{Path, PathBuf};

use crate::config::{AssertionAudience, Config, ConfigError, ParMode, TokenAuth};

const SERVER: &str = "[server]\npublic_origin = \"http://127.0.0.1:8080\"\n";

/// An OpenID Connect provider `corp` with `extra` keys.
fn corp(extra: &str) -> String {
    format!(
        "{SERVER}[providers.corp]\nkind = \"oidc\"\nissuer = \"https://idp.example\"\n\
         client_id = \"portero\"\n{extra}\n"
    )
}

fn load_in(text: &str, dir: &Path) -> Result<Config, ConfigError> {
    Config::from_toml(text, std::iter::empty(), Some(dir))
}

/// A folder of this test's own, beside the other tests' files.
fn folder(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/tmp")
        .join(format!("client-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn p256_sec1_pem() -> String {
    let key = p256::SecretKey::from_slice(&[9u8; 32]).unwrap();
    key.to_sec1_pem(p256::pkcs8::LineEnding::LF)
        .unwrap()
        .to_string()
}

fn rsa_pem(bits: usize) -> String {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, bits).unwrap();
    key.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
        .unwrap()
        .to_string()
}

fn error(text: &str, dir: &Path) -> String {
    load_in(text, dir).unwrap_err().to_string()
}

#[test]
fn client_auth_is_read_and_token_endpoint_auth_stays_its_old_name() {
    let dir = folder("names");
    let method = |extra: &str| load_in(&corp(extra), &dir).unwrap().providers[0].token_auth;
    assert_eq!(
        method("client_secret = \"s\""),
        TokenAuth::ClientSecretBasic
    );
    assert_eq!(
        method("client_secret = \"s\"\nclient_auth = \"client_secret_post\""),
        TokenAuth::ClientSecretPost
    );
    assert_eq!(
        method("client_secret = \"s\"\ntoken_endpoint_auth = \"client_secret_post\""),
        TokenAuth::ClientSecretPost
    );
    let both = "client_secret = \"s\"\nclient_auth = \"client_secret_post\"\n\
                token_endpoint_auth = \"client_secret_basic\"";
    let err = error(&corp(both), &dir);
    assert!(
        err.contains("providers.corp.token_endpoint_auth") && err.contains("client_auth"),
        "{err}"
    );
    // GitHub and 42 keep their kind's default, the secret in the body, as their docs show.
    let github = format!(
        "{SERVER}[providers.gh]\nkind = \"github\"\nclient_id = \"g\"\nclient_secret = \"s\"\n"
    );
    let config = load_in(&github, &dir).unwrap();
    assert_eq!(config.providers[0].token_auth, TokenAuth::ClientSecretPost);
}

#[test]
fn private_key_jwt_reads_ec_and_rsa_keys_and_needs_no_secret() {
    let dir = folder("keys");
    std::fs::write(dir.join("ec.pem"), p256_sec1_pem()).unwrap();
    std::fs::write(dir.join("rsa.pem"), rsa_pem(2048)).unwrap();
    for (file, kty) in [("ec.pem", "EC"), ("rsa.pem", "RSA")] {
        let text = corp(&format!(
            "client_auth = \"private_key_jwt\"\nclient_key_file = \"{file}\"\n\
             client_assertion_audience = \"issuer\"\npar = \"always\"\ndpop = true"
        ));
        let provider = &load_in(&text, &dir).unwrap().providers[0];
        assert_eq!(provider.token_auth, TokenAuth::PrivateKeyJwt);
        assert!(provider.client_secret.is_none());
        let key = provider.client_key.as_ref().expect("the key is read");
        assert_eq!(key.public_jwk()["kty"], kty);
        assert_eq!(provider.assertion_audience, AssertionAudience::Issuer);
        assert_eq!((provider.par, provider.dpop), (ParMode::Always, true));
    }
    let defaults = &load_in(&corp("client_secret = \"s\""), &dir)
        .unwrap()
        .providers[0];
    assert_eq!(
        (defaults.par, defaults.dpop, defaults.assertion_audience),
        (
            ParMode::WhenRequired,
            false,
            AssertionAudience::TokenEndpoint
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_unreadable_or_wrong_key_file_stops_start_up_naming_the_key() {
    let dir = folder("bad-keys");
    std::fs::write(
        dir.join("public.pem"),
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    )
    .unwrap();
    std::fs::write(dir.join("short.pem"), rsa_pem(1024)).unwrap();
    std::fs::write(dir.join("text.pem"), "not a key").unwrap();
    std::fs::create_dir_all(dir.join("a-folder.pem")).unwrap();
    let jwt = |file: &str| {
        corp(&format!(
            "client_auth = \"private_key_jwt\"\nclient_key_file = \"{file}\""
        ))
    };
    for (file, why) in [
        ("missing.pem", "cannot read"),
        ("a-folder.pem", "cannot read"),
        ("public.pem", "give the private key"),
        ("short.pem", "1024 bits"),
        ("text.pem", "not a PEM file"),
    ] {
        let err = error(&jwt(file), &dir);
        assert!(
            err.contains("providers.corp.client_key_file")
                && err.contains(file)
                && err.contains(why),
            "{file}: {err}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn keys_that_do_not_go_together_are_refused_naming_one() {
    let dir = folder("together");
    std::fs::write(dir.join("ec.pem"), p256_sec1_pem()).unwrap();
    let oauth2 = |extra: &str| {
        format!(
            "{SERVER}[providers.school]\nkind = \"oauth2\"\nclient_id = \"c\"\n\
             authorize_url = \"https://s.example/authorize\"\ntoken_url = \"https://s.example/token\"\n\
             userinfo_url = \"https://s.example/me\"\n{extra}\n"
        )
    };
    let github = |extra: &str| {
        format!("{SERVER}[providers.gh]\nkind = \"github\"\nclient_id = \"g\"\n{extra}\n")
    };
    let cases = [
        (
            corp("client_auth = \"private_key_jwt\"\nclient_key_file = \"ec.pem\"\nclient_secret = \"s\""),
            "providers.corp.client_secret",
        ),
        (
            corp("client_auth = \"private_key_jwt\""),
            "providers.corp.client_key_file",
        ),
        (
            corp("client_secret = \"s\"\nclient_key_file = \"ec.pem\""),
            "providers.corp.client_key_file",
        ),
        (
            corp("client_secret = \"s\"\nclient_assertion_audience = \"issuer\""),
            "providers.corp.client_assertion_audience",
        ),
        (corp("client_secret = \"s\"\npar = \"sometimes\""), "providers.corp"),
        (corp("client_secret = \"s\"\ndpop = \"yes\""), "providers.corp"),
        (
            corp("client_secret = \"s\"\npar_url = \"http://idp.example/par\""),
            "providers.corp.par_url",
        ),
        (
            github("client_secret = \"s\"\ndpop = true"),
            "providers.gh.dpop",
        ),
        (
            github("client_secret = \"s\"\npar = \"auto\""),
            "providers.gh.par",
        ),
        (
            github("client_auth = \"private_key_jwt\"\nclient_key_file = \"ec.pem\""),
            "providers.gh.client_auth",
        ),
        (
            oauth2("client_secret = \"s\"\npar = \"always\""),
            "providers.school.par",
        ),
        (
            oauth2("client_auth = \"private_key_jwt\"\nclient_key_file = \"ec.pem\"\n\
                    client_assertion_audience = \"issuer\""),
            "providers.school.client_assertion_audience",
        ),
        (
            format!(
                "{}[upstreams.app]\nprefix = \"/api/app\"\nurl = \"http://127.0.0.1:9000\"\n\
                 access_token = true\n",
                corp("client_secret = \"s\"\ndpop = true")
            ),
            "upstreams.app.access_token",
        ),
    ];
    for (text, key) in cases {
        let err = error(&text, &dir);
        assert!(err.contains(key), "{err:?} should name {key}");
    }
    // What does go together.
    let pushed =
        oauth2("client_secret = \"s\"\npar = \"always\"\npar_url = \"https://s.example/par\"");
    let config = load_in(&pushed, &dir).unwrap();
    assert_eq!(
        config.providers[0].endpoints.par_url.as_deref(),
        Some("https://s.example/par")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
