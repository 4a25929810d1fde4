//! The login flow, from the provider buttons to logging out: steps 1, 2, 5 and 8 of
//! docs/design.md, "The flow". (`GET /api/auth`, forward auth for nginx, is `app.rs`.)

use axum::{
    extract::{Path, State},
    Extension, Json,
};
use oauth2::AuthorizationCode;
use shared::{
    codes, LoginRequest, LoginResponse, LogoutRequest, LogoutResponse, ProviderInfo, ReturnTo,
    SessionRequest, SessionResponse,
};
use tower_cookies::Cookies;
use tower_sessions::Session;

use super::body::OptionalJson;
use crate::{
    audit,
    error::{ApiJson, AppError},
    providers::{checked_auth_time, LoginOptions, Provider, Providers},
    rate_limit::ClientIp,
    session::{self, LoginAttempt},
    state::AppState,
};

/// Codes and states are short; anything longer is not from a provider.
const MAX_CALLBACK_VALUE: usize = 4096;

/// Step 1: `GET /api/providers`.
pub async fn providers(State(providers): State<Providers>) -> Json<Vec<ProviderInfo>> {
    Json(providers.infos())
}

/// `GET /.well-known/portero-client-jwks/{provider}`: the public key a `private_key_jwt`
/// client signs its assertions with, as a JWK Set, for the provider's `jwks_uri` (RFC 7591
/// §2); 404 for a provider that authenticates with a secret.
pub async fn client_jwks(
    State(providers): State<Providers>,
    Path(provider): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    configured(&providers, &provider)?
        .client_jwks()
        .map(Json)
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "/.well-known/portero-client-jwks/{provider}: this provider's client has no key \
                 (client_auth is not private_key_jwt)"
            ))
        })
}

fn configured<'a>(providers: &'a Providers, id: &str) -> Result<&'a Provider, AppError> {
    providers
        .get(id)
        .ok_or_else(|| AppError::UnknownProvider(id.chars().take(64).collect()))
}

/// Step 2: `POST /api/login/{provider}` starts an attempt bound to this browser's session. With
/// PAR (docs/design.md, "Stricter providers"), the parameters are pushed to the provider first
/// and the SPA gets only `client_id` and `request_uri`.
pub async fn login(
    State(state): State<AppState>,
    cookies: Cookies,
    ClientIp(client): ClientIp,
    Path(provider): Path<String>,
    // The body is optional: `{}` and no body at all both mean "no return_to".
    OptionalJson(request): OptionalJson<LoginRequest>,
) -> Result<Json<LoginResponse>, AppError> {
    let provider = configured(&state.providers, &provider)?;
    let options = LoginOptions::parse(&request).map_err(AppError::BadRequest)?;
    // Rule 13: a place among the logins under way, before anything is stored.
    let reservation = state
        .pending_logins
        .reserve(client)
        .map_err(AppError::TooManyLogins)?;
    let authorize = provider.authorize(&options).await;
    let kept = match authorize {
        Ok(authorize) => {
            let attempt = LoginAttempt {
                provider: provider.id().to_owned(),
                state: authorize.state,
                pkce_verifier: authorize.pkce_verifier,
                nonce: authorize.nonce,
                return_to: ReturnTo::parse(request.return_to.as_deref()).into_string(),
                created_at: session::now(),
                max_age: options.max_age,
                reservation: Some(reservation),
            };
            // The browser's session is not touched: its binding is a cookie of its own.
            let https = state.config.server.is_https();
            let (store, cipher, config) = (&state.store, &state.cipher, &state.config.session);
            session::remember_attempt(&cookies, https, store, cipher, config, &attempt)
                .await
                .map(|()| (authorize.authorize_endpoint, authorize.params))
        }
        Err(e) => Err(e.into()),
    };
    let (authorize_endpoint, params) = kept.inspect_err(|_| {
        state.pending_logins.release(reservation);
    })?;
    state.metrics.login_started(provider.id());
    Ok(Json(LoginResponse {
        authorize_endpoint,
        params,
    }))
}

/// Step 5: `POST /api/session` checks the attempt, exchanges the code and logs the browser in.
pub async fn create_session(
    State(state): State<AppState>,
    session: Session,
    cookies: Cookies,
    headers: axum::http::HeaderMap,
    client: audit::Client,
    ApiJson(request): ApiJson<SessionRequest>,
) -> Result<(Extension<audit::LoggedIn>, Json<SessionResponse>), AppError> {
    // Only configured ids become metric labels: a request cannot mint new time series.
    let label = match state.providers.get(&request.provider) {
        Some(provider) => provider.id().to_owned(),
        None => "unknown".to_owned(),
    };
    let user_agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        // What a person needs to tell their browsers apart, and no more.
        .map(|ua| ua.chars().take(200).collect::<String>());
    let result = finish_login(&state, &session, &cookies, &client, request, user_agent).await;
    let outcome = result.as_ref().map_or_else(AppError::code, |_| "ok");
    state.metrics.login_finished(&label, outcome);
    // A refusal by the access rules is in the audit trail already, with the person.
    if outcome != "ok" && outcome != codes::ACCESS_DENIED {
        audit::login_refused(&client, &label, None, outcome, None);
    }
    result.map(|answer| {
        let logged_in = audit::LoggedIn::new(&client, &answer.user);
        (Extension(logged_in), Json(answer))
    })
}

async fn finish_login(
    state: &AppState,
    session: &Session,
    cookies: &Cookies,
    client: &audit::Client,
    request: SessionRequest,
    user_agent: Option<String>,
) -> Result<SessionResponse, AppError> {
    for (field, value) in [("code", &request.code), ("state", &request.state)] {
        if value.is_empty() || value.len() > MAX_CALLBACK_VALUE {
            return Err(AppError::BadRequest(format!(
                "`{field}` must be 1 to {MAX_CALLBACK_VALUE} characters"
            )));
        }
    }
    // Taken out of the store before any check: a state is never usable twice (rules 1, 14).
    let https = state.config.server.is_https();
    let attempt = session::take_attempt(cookies, https, &state.store, &state.cipher, &request.state)
        .await?
        .ok_or(AppError::InvalidState(
            "this login was not started in this browser, or its answer was already used; please start again",
        ))?;
    if let Some(reservation) = attempt.reservation {
        state.pending_logins.release(reservation);
    }
    if attempt.provider != request.provider {
        return Err(AppError::InvalidState(
            "this answer belongs to a login started with another provider",
        ));
    }
    if attempt.is_expired(session::now(), state.config.session.login_timeout) {
        return Err(AppError::StateExpired);
    }
    let provider = configured(&state.providers, &request.provider)?;
    provider
        .check_callback_issuer(request.iss.as_deref())
        .await?;
    let started = std::time::Instant::now();
    let login = provider
        .finish(
            AuthorizationCode::new(request.code),
            attempt.pkce_verifier,
            attempt.nonce,
        )
        .await;
    state
        .metrics
        .token_exchange_took(provider.id(), started.elapsed());
    let login = login?;
    let auth_time = checked_auth_time(
        login.id_token_claims.as_ref(),
        attempt.max_age,
        session::now(),
    )
    .map_err(|message| AppError::Provider {
        provider: provider.id().to_owned(),
        detail: message.clone(),
        message,
    })?;
    // Rule 18: who may log in, on what the provider vouches for. A refusal leaves no session,
    // and the tokens just issued are revoked. The browser learns which kinds of rule failed;
    // the values they allow go to the log only. The facts are kept for the policies, and read
    // again later (rule 22).
    let facts = provider.facts(&login).await?;
    if let Err(denied) = provider.check_access(facts.as_ref(), &login.user) {
        provider.revoke(&login.tokens).await;
        tracing::info!(
            provider = %provider.id(),
            subject = %login.user.subject,
            failed = %denied.detail(),
            "login denied by the access rules"
        );
        let (id, subject) = (provider.id(), Some(login.user.subject.as_str()));
        let rules = denied.rules();
        audit::login_refused(client, id, subject, codes::ACCESS_DENIED, Some(&rules));
        return Err(AppError::AccessDenied(denied.message()));
    }
    if attempt.max_age.is_some() {
        if let Err(refused) = same_person(session, provider, &login.user).await {
            provider.revoke(&login.tokens).await;
            return Err(refused);
        }
    }
    let sid = login
        .id_token_claims
        .as_ref()
        .and_then(|claims| claims.get("sid"))
        .and_then(|sid| sid.as_str())
        .map(str::to_owned);
    let config = &state.config.session;
    let facts = session::LoginFacts {
        user_agent,
        sid,
        facts,
        email_verified: login.email_verified,
        auth_time,
    };
    session::log_in(session, config, login.user.clone(), &login.tokens, facts).await?;
    session::forget_attempts(cookies, https);
    tracing::info!(provider = %provider.id(), subject = %login.user.subject, "login succeeded");
    Ok(SessionResponse {
        user: login.user,
        return_to: attempt.return_to,
    })
}

/// A step-up login (one that asked for `max_age`) in a logged-in browser replaces its session
/// only with the same person at the same provider: anyone else is refused (403
/// `another_person`), their tokens just issued revoked, and the session stays as it was. The
/// same person's new login replaces the old session (`log_in`); the old tokens are dropped with
/// it, not revoked: they are the same person's grant, and some providers (Google) end every
/// token of a grant when one is revoked, the new login's included.
async fn same_person(
    session: &Session,
    provider: &Provider,
    user: &shared::User,
) -> Result<(), AppError> {
    let Some(record) = session::read_record(session).await? else {
        return Ok(());
    };
    let current = &record.user;
    if current.provider == user.provider && current.subject == user.subject {
        return Ok(());
    }
    tracing::info!(
        provider = %provider.id(),
        subject = %user.subject,
        session_subject = %current.subject,
        "a step-up login came back as another person"
    );
    Err(AppError::AnotherPerson(format!(
        "this login is for another account than the one logged in here; log in again as {}, \
         or log out first",
        current
            .login
            .as_deref()
            .or(current.email.as_deref())
            .unwrap_or("the same person")
    )))
}

/// Step 8: `POST /api/logout` revokes at the provider where it can, then ends the session.
/// Under the session's lock, on the record as the store has it now: a refresh in flight
/// finishes first, and its new tokens are the ones revoked (rule 14). With `everywhere`, the
/// person's other sessions end first, each under its own lock (session/lock.rs, ordering rule 5).
pub async fn logout(
    State(state): State<AppState>,
    session: Session,
    client: audit::Client,
    // The body is optional: no body is `{}`, this browser's session only.
    OptionalJson(request): OptionalJson<LogoutRequest>,
) -> Result<Json<LogoutResponse>, AppError> {
    let mut end_session_url = None;
    if let Some(id) = session.id() {
        let key = session::key_of(&id);
        let mut others = None;
        if request.everywhere {
            if let Some(record) = session::read_record(&session).await? {
                others = Some(session::end_everywhere(&state, &record.user, &key).await?);
            }
        }
        let _lock = session::SessionLock::acquire(&state, key).await?;
        session.load().await?;
        let record = session::read_record(&session).await?;
        if let Some(record) = &record {
            match state.providers.get(&record.user.provider) {
                Some(provider) => {
                    provider.revoke(&record.tokens).await;
                    end_session_url = provider
                        .end_session_url(&format!("{}/", state.origin))
                        .await;
                }
                // A provider removed from the config: nothing to revoke with.
                None => {
                    tracing::warn!(provider = %record.user.provider, "logout without revocation")
                }
            }
        }
        session.flush().await?;
        match (record, others) {
            (Some(record), Some(ended)) => {
                audit::logout_everywhere(&client, &record.user, &key, ended)
            }
            (Some(record), None) => audit::logout(&client, &record.user, &key),
            (None, _) => {}
        }
    }
    Ok(Json(LogoutResponse { end_session_url }))
}
