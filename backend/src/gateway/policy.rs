//! Policies per app (docs/design.md, "Policies per app"): an upstream (`policy = "NAME"`), a
//! location guarded with `GET /api/auth?policy=NAME`, and the WebSockets of such an upstream
//! admit only the people `[policies.NAME]` names, judged on the facts their provider vouched
//! for (kept in the session, read again as rule 22 says), and, with `max_age_secs`, only a
//! login recent enough (step-up).

use shared::User;

use crate::{
    audit,
    config::Policy,
    error::AppError,
    providers::{admits, Facts},
    session::{now, CurrentUser},
};

/// The one place where a policy admits or refuses a person, for every way in: `Ok`, or 403
/// `access_denied` whose message names the policy and the kinds of rule it has, never the
/// values they list (who else may pass is not the refused person's to learn). Each refusal is
/// logged here; [`admit_request`] adds it to the audit trail.
pub fn admit(policy: &Policy, user: &User, facts: Option<&Facts>) -> Result<(), AppError> {
    match refused_kinds(policy, facts) {
        None => Ok(()),
        Some(kinds) => Err(refusal(policy, user, &kinds)),
    }
}

/// [`admit`] for a request (the gateway, `GET /api/auth?policy=`, a WebSocket's upgrade): a
/// refusal is also an event of the audit trail, with the request's client. The rules come
/// first (someone they refuse gets 403: logging in again would not help), then the login's
/// age: older than `max_age_secs`, 401 `reauthentication_required`. An open WebSocket is
/// rechecked with [`admit`] alone, and never cut for its login's age.
pub fn admit_request(
    policy: &Policy,
    user: &CurrentUser,
    facts: Option<&Facts>,
) -> Result<(), AppError> {
    if let Some(kinds) = refused_kinds(policy, facts) {
        audit::policy_refused(user, &policy.name, "access_denied", &kinds.join(","));
        return Err(refusal(policy, user.user(), &kinds));
    }
    match policy.max_age_secs {
        Some(max_age) if too_old(user.authenticated_at(), max_age, now()) => {
            audit::policy_refused(user, &policy.name, "reauthentication_required", "max_age_secs");
            Err(AppError::ReauthenticationRequired {
                policy: policy.name.clone(),
                max_age,
            })
        }
        _ => Ok(()),
    }
}

/// Whether a login at `authenticated_at` is more than `max_age` seconds old at `now`.
fn too_old(authenticated_at: i64, max_age: u64, now: i64) -> bool {
    let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
    now.saturating_sub(authenticated_at) > max_age
}

/// The keys of the kinds of rule of `policy` that `facts` fail, or `None` when it admits them
/// (always, for a policy of only `max_age_secs`).
fn refused_kinds(policy: &Policy, facts: Option<&Facts>) -> Option<Vec<&'static str>> {
    if policy.rules.is_empty() {
        return None;
    }
    let none = Facts::default();
    let failed = admits(&policy.rules, facts.unwrap_or(&none)).err()?;
    Some(failed.iter().map(|rule| rule.key()).collect())
}

fn refusal(policy: &Policy, user: &User, kinds: &[&str]) -> AppError {
    tracing::info!(
        policy = %policy.name,
        provider = %user.provider,
        subject = %user.subject,
        rules = %kinds.join(","),
        "refused by a policy"
    );
    AppError::AccessDenied(format!(
        "this app admits only the people of its policy {:?}, and you match none of its rules \
         ({})",
        policy.name,
        kinds.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(toml: &str) -> Policy {
        Policy {
            name: "admins".into(),
            rules: crate::config::AllowRules::for_tests(toml),
            max_age_secs: None,
        }
    }

    fn user() -> User {
        User {
            provider: "gh".into(),
            subject: "1".into(),
            login: Some("ada".into()),
            name: None,
            email: None,
            avatar_url: None,
        }
    }

    #[test]
    fn a_refusal_names_the_kinds_of_rule_never_the_values_they_list() {
        let admins =
            policy("github_teams = [\"secret-org/red-team\"]\nemails = [\"boss@hidden.example\"]");
        let refused = admit(&admins, &user(), None).unwrap_err();
        assert_eq!(refused.code(), "access_denied");
        let message = refused.to_string();
        assert!(message.contains("github_teams"), "{message}");
        assert!(message.contains("emails"), "{message}");
        for secret in ["secret-org", "red-team", "boss@", "hidden.example"] {
            assert!(!message.contains(secret), "{secret}: {message}");
        }
        let member = Facts {
            teams: vec!["secret-org/red-team".into()],
            ..Facts::default()
        };
        assert!(admit(&admins, &user(), Some(&member)).is_ok());
    }

    #[test]
    fn a_login_is_too_old_only_past_max_age_and_a_policy_of_only_max_age_admits_anyone() {
        assert!(!too_old(1_000, 60, 1_060));
        assert!(too_old(1_000, 60, 1_061));
        assert!(!too_old(1_000, u64::MAX, i64::MAX));
        let recent = Policy {
            name: "recent".into(),
            rules: crate::config::AllowRules::default(),
            max_age_secs: Some(60),
        };
        assert!(admit(&recent, &user(), None).is_ok());
    }
}
