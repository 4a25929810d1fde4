//! 42 Intra (api.intra.42.fr/apidoc, "Web Application Flow"): plain OAuth 2.0 at 42's
//! endpoints; the identity comes from `GET /v2/me`, whose numeric `id` is the subject, and the
//! campus and cursus are there. Its tokens last 7200 s with a refresh token (the standard
//! refresh), and its rate limit answers 429 with `Retry-After` (handled by `get_json` for every
//! provider).

use async_trait::async_trait;
use oauth2::AccessToken;
use serde_json::Value;
use shared::{ProfileDetails, User};

use super::{
    standard::{field, get_json},
    Api, Facts, Kind, KindDefaults, LoginResult, Profile, Protocol, ProviderError, Rule, Wanted,
};
use crate::config::TokenAuth;

pub struct Intra42;

#[async_trait]
impl Kind for Intra42 {
    fn protocol(&self) -> Protocol {
        Protocol::OAuth2
    }

    /// "Web Application Flow": the endpoints and the `public` scope; the secret goes in the
    /// body, as its examples show. 42 puts no `iss` on its callback.
    fn defaults(&self) -> KindDefaults {
        KindDefaults {
            name: Some("42 Intra"),
            issuer: None,
            authorize_url: Some("https://api.intra.42.fr/oauth/authorize"),
            token_url: Some("https://api.intra.42.fr/oauth/token"),
            userinfo_url: Some("https://api.intra.42.fr/v2/me"),
            scopes: &["public"],
            token_auth: TokenAuth::ClientSecretPost,
            // "Web Application Flow" knows only `client_id` and `client_secret`.
            strict_clients: false,
            ..KindDefaults::NONE
        }
    }

    async fn profile(&self, api: &Api<'_>, token: &AccessToken) -> Result<Profile, ProviderError> {
        let raw = get_json(api, api.userinfo_url()?, token, "application/json").await?;
        let subject = field(&raw, "id").ok_or_else(|| api.fail("/v2/me has no id"))?;
        let user = User {
            provider: api.id.to_owned(),
            subject,
            login: field(&raw, "login"),
            name: field(&raw, "displayname").or_else(|| field(&raw, "usual_full_name")),
            email: field(&raw, "email"),
            avatar_url: field(&raw, "image.link"),
        };
        let (cursus, level) = main_cursus(&raw);
        let details = ProfileDetails {
            campus: primary_campus(&raw),
            cursus,
            level,
            ..ProfileDetails::default()
        };
        Ok(Profile { user, details, raw })
    }

    fn rules(&self) -> &'static [Rule] {
        &[Rule::Emails, Rule::EmailDomains, Rule::Intra42Campuses]
    }

    /// Rule 21: `/v2/me`'s `email` is the school's address, which 42 issues itself (as for the
    /// access rules below).
    async fn email_verified(
        &self,
        _api: &Api<'_>,
        _token: &AccessToken,
        login: &LoginResult,
    ) -> Result<bool, ProviderError> {
        Ok(login.user.email.is_some())
    }

    /// `/v2/me`'s `email` is the school's address, which 42 issues itself: it counts as
    /// verified (docs/providers.md says so). Its `campus` list holds every campus of the
    /// student (one primary, in `campus_users`); a rule matches any of them.
    async fn facts(
        &self,
        _api: &Api<'_>,
        _token: &AccessToken,
        login: &LoginResult,
        _wanted: &Wanted,
    ) -> Result<Facts, ProviderError> {
        let me = login.raw.as_ref();
        let campuses = me
            .and_then(|me| me.get("campus"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| Some((field(c, "id")?, field(c, "name")?)))
            .collect();
        Ok(Facts {
            verified_emails: me
                .and_then(|me| field(me, "email"))
                .map(|e| e.to_lowercase())
                .into_iter()
                .collect(),
            campuses,
            ..Facts::default()
        })
    }
}

/// `campus_users[].is_primary` names the campus id; `campus[]` has its name.
fn primary_campus(me: &Value) -> Option<String> {
    let campuses = me.get("campus")?.as_array()?;
    let primary_id = me
        .get("campus_users")
        .and_then(Value::as_array)
        .and_then(|links| {
            links
                .iter()
                .find(|l| l.get("is_primary") == Some(&Value::Bool(true)))
        })
        .and_then(|l| l.get("campus_id"));
    let campus = match primary_id {
        Some(id) => campuses.iter().find(|c| c.get("id") == Some(id)),
        None => campuses.first(),
    }?;
    field(campus, "name")
}

/// The `42cursus` entry when there is one (the cursus every student is in after the pool),
/// else the one with the highest level.
fn main_cursus(me: &Value) -> (Option<String>, Option<f64>) {
    let Some(entries) = me.get("cursus_users").and_then(Value::as_array) else {
        return (None, None);
    };
    let level = |e: &Value| e.get("level").and_then(Value::as_f64).unwrap_or(0.0);
    let chosen = entries
        .iter()
        .find(|e| field(e, "cursus.slug").as_deref() == Some("42cursus"))
        .or_else(|| entries.iter().max_by(|a, b| level(a).total_cmp(&level(b))));
    match chosen {
        Some(e) => (
            field(e, "cursus.name"),
            e.get("level").and_then(Value::as_f64),
        ),
        None => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_primary_campus_and_the_42cursus_level_are_picked() {
        let me = json!({
            "campus": [{ "id": 1, "name": "Paris" }, { "id": 22, "name": "Madrid" }],
            "campus_users": [{ "campus_id": 1, "is_primary": false }, { "campus_id": 22, "is_primary": true }],
            "cursus_users": [
                { "level": 9.1, "cursus": { "name": "C Piscine", "slug": "c-piscine" } },
                { "level": 7.42, "cursus": { "name": "42cursus", "slug": "42cursus" } },
            ],
        });
        assert_eq!(primary_campus(&me).as_deref(), Some("Madrid"));
        assert_eq!(main_cursus(&me), (Some("42cursus".into()), Some(7.42)));
    }

    #[test]
    fn without_42cursus_the_highest_level_wins_and_missing_data_is_none() {
        let me = json!({
            "campus": [{ "id": 3, "name": "Málaga" }],
            "cursus_users": [
                { "level": 2.0, "cursus": { "name": "A", "slug": "a" } },
                { "level": 5.5, "cursus": { "name": "B", "slug": "b" } },
            ],
        });
        assert_eq!(primary_campus(&me).as_deref(), Some("Málaga"));
        assert_eq!(main_cursus(&me), (Some("B".into()), Some(5.5)));
        assert_eq!(main_cursus(&json!({})), (None, None));
        assert_eq!(primary_campus(&json!({})), None);
    }
}
