//! `src/json.rs` reads and writes the API's bodies with the browser's JSON instead of serde:
//! these tests hold it to serde's reading of the `shared` types, both ways, so `shared` stays
//! the single definition of every body. A field renamed or added there fails here.
//!
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p portero-frontend --target wasm32-unknown-unknown`
#![cfg(target_arch = "wasm32")]

use std::collections::BTreeMap;

use portero_frontend::{api::Profile, json};
use shared::{
    ApiError, AppSees, LoginRequest, LoginResponse, LogoutRequest, LogoutResponse, MeResponse,
    ProfileDetails, ProfileResponse, ProviderInfo, ProviderKind, SessionInfo, SessionRequest,
    SessionResponse, User,
};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// What serde writes for `value` reads back as `value`.
fn reads_back<T>(value: &T) -> T
where
    T: serde::Serialize + json::Decode + PartialEq + std::fmt::Debug,
{
    let text = serde_json::to_string(value).unwrap();
    let read = json::from_str::<T>(&text).unwrap_or_else(|| panic!("refused {text}"));
    assert_eq!(&read, value, "{text}");
    read
}

/// What `json` writes for `value`, serde reads as `value`; the text is returned.
fn written<T>(value: &T) -> String
where
    T: json::Encode + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let text = json::to_string(value).unwrap();
    assert_eq!(&serde_json::from_str::<T>(&text).unwrap(), value, "{text}");
    text
}

fn user(full: bool) -> User {
    let some = |s: &str| full.then(|| s.to_owned());
    User {
        provider: "github".into(),
        subject: "583231".into(),
        login: some("octocat"),
        name: some("The Octocat — “quoted” \\ ñ"),
        email: some("octo@example.test"),
        avatar_url: some("https://avatars.example.test/u/583231?v=4"),
    }
}

#[wasm_bindgen_test]
fn every_response_body_reads_as_serde_writes_it() {
    for kind in [
        ProviderKind::Github,
        ProviderKind::Intra42,
        ProviderKind::Google,
        ProviderKind::Gitlab,
        ProviderKind::Oidc,
        ProviderKind::Oauth2,
    ] {
        reads_back(&vec![ProviderInfo {
            id: "p".into(),
            name: "P".into(),
            kind,
        }]);
    }
    reads_back(&LoginResponse {
        authorize_endpoint: "https://idp.test/authorize?tenant=x".into(),
        params: BTreeMap::from([
            ("state".to_owned(), "s+t/a=te&x".to_owned()),
            ("scope".to_owned(), "openid email".to_owned()),
        ]),
    });
    for full in [true, false] {
        reads_back(&SessionResponse {
            user: user(full),
            return_to: "/app/page.html".into(),
        });
        reads_back(&MeResponse {
            user: user(full),
            expires_at: 1_800_000_000,
        });
    }
    reads_back(&ProfileDetails::default());
    reads_back(&ProfileDetails {
        profile_url: Some("https://profile.intra.42.fr/users/ada".into()),
        campus: Some("Madrid".into()),
        cursus: Some("42cursus".into()),
        level: Some(7.42),
        public_repos: Some(8),
        followers: Some(0),
    });
    reads_back(&LogoutResponse::default());
    reads_back(&LogoutResponse {
        end_session_url: Some("https://idp.test/logout?id_token_hint=x".into()),
    });
    reads_back(&vec![
        SessionInfo {
            id: "opaque-1".into(),
            provider: "dev".into(),
            created_at: 1_800_000_000,
            last_seen_at: 1_800_000_060,
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0".into()),
            current: true,
        },
        SessionInfo {
            id: "opaque-2".into(),
            provider: "dev".into(),
            created_at: 0,
            last_seen_at: 0,
            user_agent: None,
            current: false,
        },
    ]);
    for (verified, extra) in [(true, true), (false, false)] {
        let some = |s: &str| extra.then(|| s.to_owned());
        reads_back(&AppSees {
            app: "demo".into(),
            verified,
            subject: "dev:ada".into(),
            login: some("ada"),
            email: some("ada@example.test"),
            name: some("Ada"),
        });
    }
    reads_back(&ApiError {
        error: "access_denied".into(),
        message: "ada@example.test is not in providers.dev.allow.emails.".into(),
    });
}

#[wasm_bindgen_test]
fn the_profile_is_read_without_the_providers_raw_json() {
    let full = ProfileResponse {
        user: user(true),
        details: ProfileDetails {
            level: Some(3.0),
            ..Default::default()
        },
        raw: serde_json::json!({"id": 1, "nested": {"list": [1, "two", null]}}),
    };
    let text = serde_json::to_string(&full).unwrap();
    assert_eq!(
        json::from_str::<Profile>(&text),
        Some(Profile {
            user: full.user,
            details: full.details,
        })
    );
}

#[wasm_bindgen_test]
fn a_body_that_serde_would_refuse_is_refused() {
    // Missing required fields, wrong types, an unknown provider kind, not an object.
    for text in [
        r#"{"user": {"provider": "p", "subject": "s"}}"#,
        r#"{"user": {"provider": "p", "subject": 42}, "expires_at": 1}"#,
        r#"{"user": {"provider": "p", "subject": "s"}, "expires_at": "soon"}"#,
        r#"{"user": {"provider": "p", "subject": "s"}, "expires_at": 1.5}"#,
        r#"{"user": {"provider": "p", "subject": "s", "login": 7}, "expires_at": 1}"#,
        r#"[{"user": {"provider": "p", "subject": "s"}, "expires_at": 1}]"#,
        "not json",
        "",
    ] {
        assert_eq!(json::from_str::<MeResponse>(text), None, "{text}");
    }
    assert_eq!(
        json::from_str::<Vec<ProviderInfo>>(r#"[{"id": "x", "name": "X", "kind": "saml"}]"#),
        None
    );
    assert_eq!(
        json::from_str::<Vec<SessionInfo>>(
            r#"[{"id": "a", "provider": "p", "created_at": -1, "last_seen_at": 2, "current": "yes"}]"#
        ),
        None
    );
    // `null` for an optional field, and fields this SPA does not know, are fine.
    assert_eq!(
        json::from_str::<MeResponse>(
            r#"{"user": {"provider": "p", "subject": "s", "email": null, "new": 1}, "expires_at": 1}"#
        )
        .map(|me| me.user.email),
        Some(None)
    );
}

#[wasm_bindgen_test]
fn every_request_body_is_written_as_serde_reads_it() {
    assert_eq!(written(&LoginRequest::default()), "{}");
    assert_eq!(
        written(&LoginRequest {
            return_to: Some("/app/page.html?x=1&y=“2”".into()),
            ..LoginRequest::default()
        }),
        r#"{"return_to":"/app/page.html?x=1&y=“2”"}"#
    );
    written(&LoginRequest {
        return_to: Some("/profile".into()),
        another_account: true,
        ..LoginRequest::default()
    });
    // serde writes the same: the backend reads exactly these bytes.
    let another = LoginRequest {
        return_to: None,
        another_account: true,
        ..LoginRequest::default()
    };
    assert_eq!(
        json::to_string(&another).unwrap(),
        serde_json::to_string(&another).unwrap()
    );
    let step_up = LoginRequest {
        return_to: Some("/admin".into()),
        prompt: Some("login consent".into()),
        login_hint: Some("ada@example.com".into()),
        max_age: Some(300),
        ..LoginRequest::default()
    };
    assert_eq!(
        json::to_string(&step_up).unwrap(),
        serde_json::to_string(&step_up).unwrap()
    );
    for iss in [None, Some("https://idp.test".to_owned())] {
        let request = SessionRequest {
            provider: "corp".into(),
            code: "c/o+d=e".into(),
            state: "\"quoted\"\n".into(),
            iss,
        };
        assert_eq!(written(&request), serde_json::to_string(&request).unwrap());
    }
    assert_eq!(
        written(&LogoutRequest { everywhere: true }),
        r#"{"everywhere":true}"#
    );
}
