//! Changing who belongs where while people are logged in: OIDC groups, GitHub organizations and
//! teams, a 42 student's campus. Tests call [`DevProvider`](crate::DevProvider)'s methods; a
//! devprovider running as its own process (`cargo xtask dev`) takes the same change over HTTP,
//! from loopback only:
//!
//! - `GET /admin/users/{login}`: the person's [`Memberships`], as JSON.
//! - `PATCH /admin/users/{login}` with a JSON [`MembershipChange`]: applies it and answers the
//!   new [`Memberships`]; 404 for an unknown login, 400 naming what is wrong (the change is then
//!   not applied at all), 403 from any address but loopback.
//!
//! A PATCH with a JSON body is never a "simple" cross-origin request, so a web page can't send
//! one without a CORS preflight, which devprovider never grants.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::state::AppState;

/// What can change about a person while they are logged in, as it is now.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Memberships {
    /// The standard dialect's `groups` claim (id token and userinfo).
    pub groups: Vec<String>,
    /// GitHub organizations (`GET /user/orgs`), by login.
    pub github_orgs: Vec<String>,
    /// GitHub teams (`GET /user/teams`), each `org/team-slug`.
    pub github_teams: Vec<String>,
    /// The 42 student's primary campus (`campus_users[].is_primary`), by name.
    pub intra42_campus: Option<String>,
    /// Every campus of the 42 student, in the order `/v2/me` lists them.
    pub intra42_campuses: Vec<String>,
}

/// A change to a person's memberships: each field given replaces what it names; a field left
/// out (`None`) stays as it is. Each field belongs to one dialect, and a provider of another
/// dialect refuses it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembershipChange {
    /// Standard dialect: the `groups` claim; empty for none.
    pub groups: Option<Vec<String>>,
    /// GitHub: the organizations, by login. Teams in an organization left out go with it.
    pub github_orgs: Option<Vec<String>>,
    /// GitHub: the teams, each `org/team-slug`; a team's organization is joined with it, as on
    /// GitHub, where a team member is always an organization member.
    pub github_teams: Option<Vec<String>>,
    /// 42: the one campus the student now studies at (by name or id), primary.
    pub intra42_campus: Option<String>,
}

/// Why a change of memberships was refused. Nothing of it was applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminError {
    /// No demo user has this login.
    UnknownUser(String),
    /// The field belongs to another dialect than the provider's.
    OtherDialect {
        field: &'static str,
        dialect: crate::Dialect,
    },
    /// A value the provider could not honour, and why.
    Invalid(String),
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminError::UnknownUser(login) => write!(f, "there is no demo user `{login}`"),
            AdminError::OtherDialect { field, dialect } => write!(
                f,
                "`{field}` does not apply to this provider, which speaks the {dialect} dialect"
            ),
            AdminError::Invalid(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for AdminError {}

/// `GET /admin/users/{login}`.
pub async fn show(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(login): Path<String>,
) -> Response {
    if let Some(refused) = refuse_remote(peer) {
        return refused;
    }
    match state.memberships(&login) {
        Some(memberships) => Json(memberships).into_response(),
        None => error(&AdminError::UnknownUser(login)),
    }
}

/// `PATCH /admin/users/{login}`.
pub async fn change(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(login): Path<String>,
    change: Result<Json<MembershipChange>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Some(refused) = refuse_remote(peer) {
        return refused;
    }
    let change = match change {
        Ok(Json(change)) => change,
        Err(rejection) => {
            let why = format!("the body must be a JSON membership change: {rejection}");
            return error(&AdminError::Invalid(why));
        }
    };
    match state.change_memberships(&login, change) {
        Ok(memberships) => Json(memberships).into_response(),
        Err(refused) => error(&refused),
    }
}

/// Only this machine may change memberships: devprovider may be bound to every interface.
fn refuse_remote(peer: SocketAddr) -> Option<Response> {
    (!peer.ip().is_loopback()).then(|| {
        let body = json!({ "error": "the admin API answers loopback only" });
        (StatusCode::FORBIDDEN, Json(body)).into_response()
    })
}

fn error(refused: &AdminError) -> Response {
    let status = match refused {
        AdminError::UnknownUser(_) => StatusCode::NOT_FOUND,
        AdminError::OtherDialect { .. } | AdminError::Invalid(_) => StatusCode::BAD_REQUEST,
    };
    (status, Json(json!({ "error": refused.to_string() }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_peers_may_use_the_admin_api() {
        assert!(refuse_remote("127.0.0.1:5000".parse().unwrap()).is_none());
        assert!(refuse_remote("[::1]:5000".parse().unwrap()).is_none());
        let refused = refuse_remote("192.168.1.20:5000".parse().unwrap()).unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
}
