//! `[policies.{name}]` (docs/design.md, "Policies per app"): who may use one app behind
//! Portero, in the vocabulary of `[providers.{id}.allow]` (`allow.rs`). An upstream names one
//! with `policy = "NAME"`, and so does `GET /api/auth?policy=NAME`.

use super::{
    allow::{AllowRules, RawAllow},
    ConfigError, ProviderConfig,
};
use crate::providers::{kind, Rule, ALL_RULES};

/// One `[policies.{name}]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The table name, as upstreams and `?policy=` name it.
    pub name: String,
    /// Any rule that matches admits the person.
    pub rules: AllowRules,
}

/// Reads `[policies.{name}]`: any rule of the vocabulary, each list as `allow`'s.
pub(super) fn validate(name: &str, raw: RawAllow) -> Result<Policy, ConfigError> {
    let url_safe = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    if name.is_empty() || !name.chars().all(url_safe) {
        return Err(ConfigError::new(format!(
            "policies.{name}: the name must use only a-z, 0-9, '-' and '_'"
        )));
    }
    let rules = raw.validate(&format!("policies.{name}"), &ALL_RULES)?;
    Ok(Policy {
        name: name.to_owned(),
        rules,
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
