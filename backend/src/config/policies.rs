//! `[policies.{name}]` (docs/design.md, "Policies per app"): who may use one app behind
//! Portero, in the vocabulary of `[providers.{id}.allow]` (`allow.rs`). An upstream names one
//! with `policy = "NAME"`, and so does `GET /api/auth?policy=NAME`. `max_age_secs` adds how
//! recent the login must be (step-up).

use super::{
    allow::{AllowRules, RawAllow},
    ConfigError, ProviderConfig,
};
use crate::providers::{kind, Rule, ALL_RULES, MAX_MAX_AGE};

/// One `[policies.{name}]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The table name, as upstreams and `?policy=` name it.
    pub name: String,
    /// Any rule that matches admits the person; no rule at all (a policy of only
    /// `max_age_secs`) admits anyone logged in.
    pub rules: AllowRules,
    /// A login older than this many seconds gets 401 `reauthentication_required`, and the
    /// login asked for again carries it as `max_age` (docs/design.md, "Policies per app").
    pub max_age_secs: Option<u64>,
}

/// Reads `[policies.{name}]`: any rule of the vocabulary, each list as `allow`'s, and
/// `max_age_secs`; at least one of them.
pub(super) fn validate(name: &str, raw: RawAllow) -> Result<Policy, ConfigError> {
    let url_safe = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    if name.is_empty() || !name.chars().all(url_safe) {
        return Err(ConfigError::new(format!(
            "policies.{name}: the name must use only a-z, 0-9, '-' and '_'"
        )));
    }
    let (max_age_secs, rules) = raw.split(&format!("policies.{name}"), &ALL_RULES)?;
    if let Some(bad) = max_age_secs.filter(|age| !(1..=MAX_MAX_AGE).contains(age)) {
        return Err(ConfigError::new(format!(
            "policies.{name}.max_age_secs: {bad} is not 1 to {MAX_MAX_AGE} seconds (how recent \
             a login this app wants)"
        )));
    }
    if rules.is_empty() && max_age_secs.is_none() {
        return Err(ConfigError::new(format!(
            "policies.{name}: name at least one rule (emails, email_domains, …) or max_age_secs; \
             a policy of neither admits everyone, as no policy does"
        )));
    }
    Ok(Policy {
        name: name.to_owned(),
        rules,
        max_age_secs,
    })
}

/// A rule no configured provider's kind can check would admit no one: refused, naming it.
pub(super) fn check_against(
    policy: &Policy,
    providers: &[ProviderConfig],
) -> Result<(), ConfigError> {
    let checkable = |rule: Rule| {
        providers
            .iter()
            .any(|p| kind(p.kind).rules().contains(&rule))
    };
    match ALL_RULES
        .into_iter()
        .find(|rule| !policy.rules.list(*rule).is_empty() && !checkable(*rule))
    {
        Some(rule) => Err(ConfigError::new(format!(
            "policies.{}.{}: no configured provider can check it (no provider of a kind that \
             knows it), so it would admit no one",
            policy.name,
            rule.key()
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
