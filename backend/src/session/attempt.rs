//! Login attempts in flight (docs/design.md, "The flow", step 2): state, PKCE verifier and nonce, bound to this
//! browser, single use, `session.login_timeout_secs` long (rules 1, 13, 14).
//!
//! Each attempt is a record of its own in the store, sealed, under a key made of the state and
//! a random binding that only this browser holds, in a cookie of its own (`portero_login`,
//! `__Host-portero_login` over HTTPS, with the session cookie's attributes): the state is never
//! compared (no timing tells how much of a guessed state was right), and taking the attempt is
//! one atomic delete-and-return at the store, so of two requests with one state exactly one gets
//! it. A browser that is not logged in has nothing in the store but its attempts: no session
//! record is written before the login succeeds (two writes fewer per login), and the binding
//! cookie lives no longer than the attempts it finds.
//!
//! An attempt is usable for `login_timeout`; its record stays a little longer ([`kept_for`]),
//! only so that an answer that came too late is told "the login took too long" rather than "this
//! login was never started here". After that nothing of it is left in the store.

use oauth2::{CsrfToken, PkceCodeVerifier};
use openidconnect::Nonce;
use serde::{Deserialize, Serialize};
use tower_cookies::{
    cookie::{time, SameSite},
    Cookie, Cookies,
};

use super::store::{now_millis, Key, Store};
use crate::{config::SessionConfig, crypto::TokenCipher, error::AppError};

/// The binding cookie's name: `__Host-` over HTTPS, as the session cookie's (rule 7).
pub(super) fn binding_cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-portero_login"
    } else {
        "portero_login"
    }
}

/// A binding as `crypto::random_token` makes them (32 bytes, base64url): anything else in the
/// cookie is not one of ours, and a new binding is drawn.
fn is_binding(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// This browser's binding, if its cookie holds one.
fn binding(cookies: &Cookies, https: bool) -> Option<String> {
    let cookie = cookies.get(binding_cookie_name(https))?;
    is_binding(cookie.value()).then(|| cookie.value().to_owned())
}

/// The binding cookie, with rule 7's attributes, for `max_age`.
fn binding_cookie(https: bool, value: String, max_age: time::Duration) -> Cookie<'static> {
    Cookie::build((binding_cookie_name(https), value))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(max_age)
        .build()
}

/// One login in flight; used once, then deleted. Its secrets stay in the oauth2 crate's
/// newtypes, so `Debug` shows none of them.
#[derive(Serialize, Deserialize, Debug)]
pub struct LoginAttempt {
    pub provider: String,
    pub state: CsrfToken,
    pub pkce_verifier: PkceCodeVerifier,
    pub nonce: Option<Nonce>,
    pub return_to: String,
    pub created_at: i64,
    /// The `max_age` this login asked for: a step-up, which must come back as the session's
    /// own person, with an `auth_time` no older (docs/design.md, "Policies per app").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
    /// Its place among the logins under way in the process that started it (`pending.rs`).
    #[serde(default)]
    pub reservation: Option<u64>,
}

impl LoginAttempt {
    /// Rule 1: an attempt is good for `ttl` (`session.login_timeout_secs`, 10 minutes by
    /// default); one from the future (a clock set back) is no good either.
    pub fn is_expired(&self, now: i64, ttl: std::time::Duration) -> bool {
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        now.saturating_sub(self.created_at) > ttl || now < self.created_at
    }
}

/// How long an attempt's record is kept: its `login_timeout`, and as much again (at least 4 s,
/// at most a minute) to recognise a late answer as late. The 4 s cover a short timeout's
/// answer arriving a few seconds late through a slow browser (the e2e test of it).
pub fn kept_for(login_timeout: std::time::Duration) -> std::time::Duration {
    use std::time::Duration;
    login_timeout + login_timeout.clamp(Duration::from_secs(4), Duration::from_secs(60))
}

/// Keeps `attempt` for this browser until it is used or `login_timeout` has passed; the
/// binding cookie (the browser's own, or a new one) is sent again to live as long.
pub async fn remember_attempt(
    cookies: &Cookies,
    https: bool,
    store: &Store,
    cipher: &TokenCipher,
    config: &SessionConfig,
    attempt: &LoginAttempt,
) -> Result<(), AppError> {
    let binding = binding(cookies, https).unwrap_or_else(crate::crypto::random_token);
    let ttl = kept_for(config.login_timeout);
    let key = Key::of_attempt(&binding, attempt.state.secret());
    let plain = serde_json::to_vec(attempt).expect("an attempt serialises");
    let ttl_millis = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
    store
        .put_attempt(&key, &cipher.seal(&plain, key.bytes()), now_millis() + ttl_millis)
        .await?;
    let max_age = time::Duration::try_from(ttl).unwrap_or(time::Duration::MINUTE);
    cookies.add(binding_cookie(https, binding, max_age));
    Ok(())
}

/// Removes and returns this browser's attempt with `state`, or `None` (not started here, used
/// already, expired). Removal happens before any check of the attempt, so a state is never
/// usable twice (rule 1), and it is atomic at the store (rule 14).
pub async fn take_attempt(
    cookies: &Cookies,
    https: bool,
    store: &Store,
    cipher: &TokenCipher,
    state: &str,
) -> Result<Option<LoginAttempt>, AppError> {
    let Some(binding) = binding(cookies, https) else {
        return Ok(None);
    };
    let key = Key::of_attempt(&binding, state);
    let Some(sealed) = store
        .take_attempt(&key)
        .await?
    else {
        return Ok(None);
    };
    // Sealed under a key this process no longer has: as good as no attempt.
    let Ok(plain) = cipher.open(&sealed, key.bytes()) else {
        return Ok(None);
    };
    Ok(serde_json::from_slice(&plain).ok())
}

/// A login ends every attempt of the browser: its binding goes, so none can be found again.
pub fn forget_attempts(cookies: &Cookies, https: bool) {
    if binding(cookies, https).is_some() {
        cookies.add(binding_cookie(https, String::new(), time::Duration::ZERO));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_binding_as_portero_draws_them_is_read_from_the_cookie() {
        assert!(is_binding(&crate::crypto::random_token()));
        for other in ["", "short", &"a".repeat(44), &format!("{}=", "a".repeat(42))] {
            assert!(!is_binding(other), "{other:?}");
        }
    }
}
