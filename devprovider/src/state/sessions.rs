//! Provider sessions and how they end: logging out tells each client that got tokens in the
//! session, by OpenID Connect Back-Channel Logout 1.0 (standard dialect).

use std::collections::BTreeSet;

use super::store::ProviderSession;
use super::AppState;
use crate::config::subject_of;
use crate::standard::logout_token;

/// What a logout did.
pub struct LoggedOut {
    /// Provider sessions ended.
    pub sessions: usize,
    /// Each back-channel POST's HTTP status; None when it got no answer.
    pub notified: Vec<Option<u16>>,
}

/// A user's live sessions, as the logout page lists them.
pub struct LiveSessions {
    pub login: String,
    pub sessions: usize,
    /// Every client that got tokens in one of them.
    pub clients: BTreeSet<String>,
}

/// A logout token on its way to one client.
struct Notice {
    uri: String,
    token: String,
}

impl AppState {
    /// Users with live sessions, in the order of the demo users.
    pub fn live_sessions(&self) -> Vec<LiveSessions> {
        let store = self.store();
        self.users()
            .iter()
            .filter_map(|user| {
                let mine: Vec<&ProviderSession> = store
                    .sessions
                    .values()
                    .filter(|s| s.login == user.login)
                    .collect();
                (!mine.is_empty()).then(|| LiveSessions {
                    login: user.login.clone(),
                    sessions: mine.len(),
                    clients: mine
                        .iter()
                        .flat_map(|s| s.clients.iter().cloned())
                        .collect(),
                })
            })
            .collect()
    }

    /// Ends every session of `login`, then POSTs the logout tokens one by one (§2.5).
    pub async fn log_out(&self, login: &str) -> LoggedOut {
        let (sessions, notices) = self.end_sessions(login);
        let mut notified = Vec::with_capacity(notices.len());
        for notice in notices {
            notified.push(self.deliver(&notice).await);
        }
        LoggedOut { sessions, notified }
    }

    /// Removes the sessions under the lock; signs their logout tokens after releasing it.
    fn end_sessions(&self, login: &str) -> (usize, Vec<Notice>) {
        let ended: Vec<(String, ProviderSession)> = {
            let mut store = self.store();
            let sids: Vec<String> = store
                .sessions
                .iter()
                .filter(|(_, session)| session.login == login)
                .map(|(sid, _)| sid.clone())
                .collect();
            sids.iter()
                .filter_map(|sid| store.sessions.remove_entry(sid))
                .collect()
        };
        let subject = subject_of(login);
        let mut notices = Vec::new();
        for (sid, session) in &ended {
            for client_id in &session.clients {
                let uri = self
                    .client(client_id)
                    .and_then(|client| client.backchannel_logout_uri.clone());
                if let Some(uri) = uri {
                    let token = logout_token(self, client_id, &subject, sid);
                    notices.push(Notice { uri, token });
                }
            }
        }
        (ended.len(), notices)
    }

    /// §2.5: `application/x-www-form-urlencoded` `logout_token=…`; the status is the client's
    /// answer (§2.8: 200 on success, 400 when it refused the token).
    async fn deliver(&self, notice: &Notice) -> Option<u16> {
        self.count(|s| s.backchannel_logouts += 1);
        let sent = self
            .http
            .post(&notice.uri)
            .form(&[("logout_token", notice.token.as_str())])
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                self.count(|s| s.backchannel_logout_statuses.push(status));
                Some(status)
            }
            Err(error) => {
                tracing::warn!(%error, uri = %notice.uri, "back-channel logout got no answer");
                None
            }
        }
    }
}
