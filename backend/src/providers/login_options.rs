//! What a login may ask of the provider (`POST /api/login/{provider}`'s `prompt`, `login_hint`
//! and `max_age`, OpenID Connect Core §3.1.2.1), parsed from an allow-list: a value outside it
//! is refused with a sentence naming the field, never passed on.

use shared::LoginRequest;

/// `prompt` values Portero passes on (OpenID Connect Core §3.1.2.1).
pub const PROMPTS: [&str; 4] = ["login", "consent", "select_account", "none"];

/// Long enough for any email address (RFC 5321 allows 254 characters) or login.
const MAX_LOGIN_HINT: usize = 256;

/// Ten years: a larger `max_age` asks for nothing a session does not already have.
pub const MAX_MAX_AGE: u64 = 10 * 365 * 24 * 3600;

/// A login's own parameters, valid.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LoginOptions {
    /// "Try another account": the kind's own account chooser.
    pub another_account: bool,
    pub prompt: Option<String>,
    pub login_hint: Option<String>,
    pub max_age: Option<u64>,
}

impl LoginOptions {
    /// The options of `request`, or why they are refused (for a 400).
    pub fn parse(request: &LoginRequest) -> Result<LoginOptions, String> {
        let prompt = request.prompt.as_deref().map(prompt).transpose()?;
        if prompt.is_some() && request.another_account {
            return Err(
                "`another_account` already chooses the provider's prompt: send it or `prompt`, \
                 not both"
                    .into(),
            );
        }
        let login_hint = request.login_hint.as_deref().map(login_hint).transpose()?;
        if let Some(max_age) = request.max_age.filter(|age| *age > MAX_MAX_AGE) {
            return Err(format!(
                "`max_age` must be at most {MAX_MAX_AGE} seconds, not {max_age}"
            ));
        }
        Ok(LoginOptions {
            another_account: request.another_account,
            prompt,
            login_hint,
            max_age: request.max_age,
        })
    }

    /// The authorize parameters these add.
    pub fn params(&self) -> Vec<(String, String)> {
        let mut params = Vec::new();
        if let Some(prompt) = &self.prompt {
            params.push(("prompt".to_owned(), prompt.clone()));
        }
        if let Some(hint) = &self.login_hint {
            params.push(("login_hint".to_owned(), hint.clone()));
        }
        if let Some(max_age) = self.max_age {
            params.push(("max_age".to_owned(), max_age.to_string()));
        }
        params
    }
}

/// How far a provider's clock may be from ours when its `auth_time` is judged.
const AUTH_TIME_SKEW: i64 = 60;

/// The id_token's `auth_time` (OpenID Connect Core §2), checked: not in the future (beyond
/// [`AUTH_TIME_SKEW`]), and, when the login asked for `max_age`, no older than that (§3.1.3.7
/// point 13). `None` when the provider sent none (nor an id_token): the login's own time then
/// stands for it. The error, for a 502, names `auth_time`.
pub fn checked_auth_time(
    claims: Option<&serde_json::Value>,
    max_age: Option<u64>,
    now: i64,
) -> Result<Option<i64>, String> {
    let Some(given) = claims.and_then(|claims| claims.get("auth_time")) else {
        return Ok(None);
    };
    // A JSON number of seconds; some servers write a fraction.
    let auth_time = match (given.as_i64(), given.as_f64()) {
        (Some(seconds), _) => seconds,
        (None, Some(seconds)) if seconds.is_finite() => seconds as i64,
        _ => return Err("the id_token's auth_time is not a number of seconds".into()),
    };
    if auth_time > now.saturating_add(AUTH_TIME_SKEW) {
        return Err("the id_token's auth_time is in the future".into());
    }
    if let Some(max_age) = max_age {
        let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
        let age = now.saturating_sub(auth_time);
        if age > max_age.saturating_add(AUTH_TIME_SKEW) {
            return Err(format!(
                "the id_token's auth_time says the person logged in {age} s ago, and this login \
                 asked for one from the last {max_age} s (max_age)"
            ));
        }
    }
    Ok(Some(auth_time))
}

/// Space-separated values of [`PROMPTS`], each once; `none` alone (OpenID Connect Core
/// §3.1.2.1: with any other value it is an error at the provider).
fn prompt(given: &str) -> Result<String, String> {
    let values: Vec<&str> = given.split(' ').collect();
    if let Some(bad) = values.iter().find(|v| !PROMPTS.contains(v)) {
        return Err(format!(
            "`prompt` takes {} (space-separated), not {bad:?}",
            PROMPTS.join(", ")
        ));
    }
    let mut seen = Vec::new();
    for value in &values {
        if seen.contains(value) {
            return Err(format!("`prompt` names {value:?} twice"));
        }
        seen.push(value);
    }
    if values.len() > 1 && values.contains(&"none") {
        return Err("`prompt` \"none\" goes alone".into());
    }
    Ok(given.to_owned())
}

/// 1 to [`MAX_LOGIN_HINT`] characters, none of them a control character.
fn login_hint(given: &str) -> Result<String, String> {
    let length = given.chars().count();
    if length == 0 || length > MAX_LOGIN_HINT {
        return Err(format!(
            "`login_hint` must be 1 to {MAX_LOGIN_HINT} characters"
        ));
    }
    if given.chars().any(char::is_control) {
        return Err("`login_hint` must not hold control characters".into());
    }
    Ok(given.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: serde_json::Value) -> Result<LoginOptions, String> {
        LoginOptions::parse(&serde_json::from_value(json).unwrap())
    }

    #[test]
    fn allowed_values_pass_on_as_authorize_parameters() {
        let options = parse(serde_json::json!({
            "prompt": "login consent", "login_hint": "ada@example.com", "max_age": 300
        }))
        .unwrap();
        assert_eq!(
            options.params(),
            [
                ("prompt".to_owned(), "login consent".to_owned()),
                ("login_hint".to_owned(), "ada@example.com".to_owned()),
                ("max_age".to_owned(), "300".to_owned()),
            ]
        );
        assert!(parse(serde_json::json!({})).unwrap().params().is_empty());
        assert!(parse(serde_json::json!({"max_age": 0})).is_ok());
    }

    #[test]
    fn auth_time_is_kept_when_recent_enough_and_refused_naming_it_otherwise() {
        let now = 1_700_000_000;
        let claims = |auth_time: serde_json::Value| serde_json::json!({ "auth_time": auth_time });
        let checked = |c: &serde_json::Value, max_age| checked_auth_time(Some(c), max_age, now);
        assert_eq!(checked_auth_time(None, Some(60), now), Ok(None));
        assert_eq!(checked(&serde_json::json!({}), Some(60)), Ok(None));
        assert_eq!(
            checked(&claims((now - 30).into()), Some(60)),
            Ok(Some(now - 30))
        );
        assert_eq!(
            checked(&claims((now - 3600).into()), None),
            Ok(Some(now - 3600))
        );
        assert_eq!(
            checked(&claims(1_699_999_990.5.into()), Some(60)),
            Ok(Some(now - 10))
        );
        // Within the clock skew either way.
        assert!(checked(&claims((now + 30).into()), Some(60)).is_ok());
        assert!(checked(&claims((now - 100).into()), Some(60)).is_ok());
        for bad in [
            claims((now - 3600).into()),
            claims((now + 3600).into()),
            claims("yesterday".into()),
        ] {
            let error = checked(&bad, Some(60)).unwrap_err();
            assert!(error.contains("auth_time"), "{bad}: {error}");
        }
    }

    #[test]
    fn values_outside_the_allow_list_are_refused_naming_the_field() {
        for (body, field) in [
            (serde_json::json!({"prompt": "create"}), "`prompt`"),
            (serde_json::json!({"prompt": ""}), "`prompt`"),
            (serde_json::json!({"prompt": "login  consent"}), "`prompt`"),
            (serde_json::json!({"prompt": "login login"}), "`prompt`"),
            (serde_json::json!({"prompt": "none login"}), "`prompt`"),
            (serde_json::json!({"login_hint": ""}), "`login_hint`"),
            (serde_json::json!({"login_hint": "a\nb"}), "`login_hint`"),
            (
                serde_json::json!({"login_hint": "x".repeat(257)}),
                "`login_hint`",
            ),
            (serde_json::json!({"max_age": 400_000_000}), "`max_age`"),
            (
                serde_json::json!({"prompt": "login", "another_account": true}),
                "`prompt`",
            ),
        ] {
            let error = parse(body.clone()).unwrap_err();
            assert!(error.contains(field), "{body}: {error}");
        }
    }
}
