//! The audit trail: one structured event for each thing that lets a person in, keeps them out,
//! or ends a session, on the `tracing` target `portero::audit` (JSON with `--log-json`, like
//! every log line), so a log shipper can send them apart from the request log (docs/deploy.md,
//! "The audit trail").
//!
//! Every event carries `event` (its name below), `provider`, `subject` (the person at the
//! provider), `session` (the session's handle, as `GET /api/sessions` shows it: never the cookie
//! value, nor anything a cookie can be made from), `client_address` (read through
//! `server.trusted_proxies` like the rate limits), `user_agent` (at most 200 characters) and
//! `outcome` (`ok`, or the error code the request answered with). A value the event does not
//! know is empty. The message is always `audit`.
//!
//! | event | when | beside the common fields |
//! |---|---|---|
//! | `login` | `POST /api/session` logged someone in | |
//! | `login_refused` | `POST /api/session` did not: the access rules (`access_denied`), a bad state, a provider that failed… | `rules`: the keys of the rules that failed |
//! | `logout` | `POST /api/logout` | |
//! | `logout_everywhere` | `POST /api/logout {"everywhere": true}` | `sessions_ended`: the others |
//! | `session_ended` | `DELETE /api/sessions/{id}` | `ended`: the handle of the session ended |
//! | `backchannel_logout` | `POST /api/backchannel-logout/{provider}`, accepted or refused | `sessions_ended` |
//! | `refresh_failed` | a token refresh failed: `refused` (the session ended), `access_token_refused` (the refreshed token too: ended), `provider_error` (kept) | |
//! | `policy_refused` | a policy (`[policies.*]`) refused a logged-in person | `policy`, `rules` |
//!
//! Each event is one function here; a route calls it where the outcome is decided, with the
//! `Client` of its request (an extractor) or the [`CurrentUser`], which knows its own.

use std::net::IpAddr;

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderValue},
    response::Response,
};
use shared::User;

use crate::{
    session::{CurrentUser, Key},
    state::AppState,
};

/// The target every audit event is logged under.
pub const TARGET: &str = "portero::audit";

/// Who sent a request: its client address (through trusted proxies) and its `User-Agent`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Client {
    address: Option<IpAddr>,
    user_agent: Option<HeaderValue>,
}

impl Client {
    /// The client of the request whose parts are `parts`.
    pub(crate) fn of(parts: &Parts, state: &AppState) -> Client {
        Client {
            address: state.client_address.client_in(parts),
            user_agent: parts.headers.get(header::USER_AGENT).cloned(),
        }
    }

    fn address(&self) -> String {
        self.address.map(|a| a.to_string()).unwrap_or_default()
    }

    /// Visible ASCII only (what `HeaderValue::to_str` takes), so a line cannot be split; cut at
    /// 200 characters, as the list of sessions keeps it.
    fn user_agent(&self) -> &str {
        let text = self
            .user_agent
            .as_ref()
            .and_then(|ua| ua.to_str().ok())
            .unwrap_or("");
        text.get(..200).unwrap_or(text)
    }
}

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Client::of(parts, state))
    }
}

/// One event: the common fields, then its own.
macro_rules! audit {
    ($client:expr, $event:literal, $provider:expr, $subject:expr, $session:expr, $outcome:expr
     $(, $field:ident = $value:expr)* $(,)?) => {
        tracing::info!(
            target: TARGET,
            event = $event,
            provider = %$provider,
            subject = %$subject,
            session = %$session,
            client_address = %$client.address(),
            user_agent = %$client.user_agent(),
            outcome = %$outcome,
            $($field = $value,)*
            "audit"
        )
    };
}

fn handle(session: Option<&Key>) -> String {
    session.map(Key::handle).unwrap_or_default()
}

/// `POST /api/session` logged someone in: the `login` event, written once the session layer
/// has saved the session, since the store gives a new session its id as it is first written.
/// The handler adds this to its answer; `routes::api_edges`, outside the session layer, writes
/// the event with the session the answer's cookie names. An answer that sets no session cookie
/// (the save failed, and the answer became a 503) logged nobody in, and writes nothing.
#[derive(Clone)]
pub(crate) struct LoggedIn {
    client: Client,
    user: User,
}

impl LoggedIn {
    pub(crate) fn new(client: &Client, user: &User) -> LoggedIn {
        LoggedIn {
            client: client.clone(),
            user: user.clone(),
        }
    }

    pub(crate) fn write(self, response: &Response, cookie_name: &str) {
        let session = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| tower_cookies::Cookie::parse(v.to_str().ok()?).ok())
            .find(|c| c.name() == cookie_name)
            .and_then(|c| c.value().parse::<tower_sessions::session::Id>().ok());
        let Some(id) = session else { return };
        let (client, user) = (self.client, self.user);
        let key = Key::of_session(&id);
        audit!(
            client,
            "login",
            user.provider,
            user.subject,
            key.handle(),
            "ok"
        );
    }
}

/// `POST /api/session` for `provider` answered the error `outcome`; `subject` and `rules` (the
/// keys of the rules that failed) when the access rules refused a known person.
pub(crate) fn login_refused(
    client: &Client,
    provider: &str,
    subject: Option<&str>,
    outcome: &str,
    rules: Option<&str>,
) {
    audit!(
        client,
        "login_refused",
        provider,
        subject.unwrap_or_default(),
        "",
        outcome,
        rules = rules.unwrap_or_default(),
    );
}

/// `POST /api/logout` ended `user`'s session `session`.
pub(crate) fn logout(client: &Client, user: &User, session: &Key) {
    audit!(
        client,
        "logout",
        user.provider,
        user.subject,
        session.handle(),
        "ok"
    );
}

/// `POST /api/logout {"everywhere": true}`: `ended` other sessions of `user` ended, and then
/// `session`, the caller's.
pub(crate) fn logout_everywhere(client: &Client, user: &User, session: &Key, ended: usize) {
    audit!(
        client,
        "logout_everywhere",
        user.provider,
        user.subject,
        session.handle(),
        "ok",
        sessions_ended = ended,
    );
}

/// `DELETE /api/sessions/{ended}` by `user`: one of their sessions ended (their own, or
/// another).
pub(crate) fn session_ended(user: &CurrentUser, ended: &str) {
    let person = user.user();
    audit!(
        user.client(),
        "session_ended",
        person.provider,
        person.subject,
        handle(user.key().ok().as_ref()),
        "ok",
        ended = ended,
    );
}

/// `POST /api/backchannel-logout/{provider}` from `client` (the provider's server): `ended`
/// sessions of `subject` ended, or the token was refused (`outcome`, the error code).
pub(crate) fn backchannel_logout(
    client: &Client,
    provider: &str,
    subject: Option<&str>,
    ended: usize,
    outcome: &str,
) {
    audit!(
        client,
        "backchannel_logout",
        provider,
        subject.unwrap_or_default(),
        "",
        outcome,
        sessions_ended = ended,
    );
}

/// A refresh of `user`'s tokens in session `session`, asked for by `client`, failed:
/// `refused` or `access_token_refused` (the session ended) or `provider_error` (kept).
pub(crate) fn refresh_failed(client: &Client, user: &User, session: &Key, outcome: &str) {
    audit!(
        client,
        "refresh_failed",
        user.provider,
        user.subject,
        session.handle(),
        outcome
    );
}

/// The policy `policy` refused `user`, for the gateway and `GET /api/auth?policy=`:
/// `outcome` is `access_denied` (403; `rules`: the keys of the rules that failed) or
/// `reauthentication_required` (401; `rules`: `max_age_secs`, the login being older).
pub(crate) fn policy_refused(user: &CurrentUser, policy: &str, outcome: &str, rules: &str) {
    let person = user.user();
    audit!(
        user.client(),
        "policy_refused",
        person.provider,
        person.subject,
        handle(user.key().ok().as_ref()),
        outcome,
        policy = policy,
        rules = rules,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_agent_is_cut_at_200_characters_and_unreadable_ones_are_empty() {
        let long = Client {
            address: None,
            user_agent: Some(HeaderValue::from_str(&"a".repeat(300)).unwrap()),
        };
        assert_eq!(long.user_agent().len(), 200);
        let binary = Client {
            address: Some(IpAddr::from([192, 0, 2, 1])),
            user_agent: Some(HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap()),
        };
        assert_eq!(binary.user_agent(), "");
        assert_eq!(binary.address(), "192.0.2.1");
        assert_eq!(Client::default().address(), "");
    }
}
