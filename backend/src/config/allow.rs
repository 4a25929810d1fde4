//! The vocabulary of access rules, one table shape for `[providers.{id}.allow]` (who may log in)
//! and `[policies.{name}]` (who may use an app behind Portero): verified emails and their
//! domains, GitHub organizations and teams, 42 campuses, groups.

use serde::Deserialize;

use super::ConfigError;
use crate::providers::Rule;

/// `[providers.{id}.allow]` (docs/design.md, "Who may log in") and `[policies.{name}]`
/// ("Policies per app"): lists compared lowercased (GitHub logins and emails are
/// case-insensitive), except groups, which are compared as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowRules {
    /// Verified addresses.
    pub emails: Vec<String>,
    /// Verified addresses at these domains.
    pub email_domains: Vec<String>,
    /// GitHub organizations, by login.
    pub github_orgs: Vec<String>,
    /// GitHub teams, as `org/team-slug`.
    pub github_teams: Vec<String>,
    /// 42 campuses, by name or id.
    pub intra42_campuses: Vec<String>,
    /// Groups in the claim `groups_claim`.
    pub groups: Vec<String>,
    /// The claim (id_token or userinfo) that lists the person's groups; `groups` by default.
    pub groups_claim: String,
}

impl AllowRules {
    /// The entries of one kind of rule (empty when the table does not list it).
    pub(crate) fn list(&self, rule: Rule) -> &[String] {
        match rule {
            Rule::Emails => &self.emails,
            Rule::EmailDomains => &self.email_domains,
            Rule::GithubOrgs => &self.github_orgs,
            Rule::GithubTeams => &self.github_teams,
            Rule::Intra42Campuses => &self.intra42_campuses,
            Rule::Groups => &self.groups,
        }
    }

    /// Whether a rule needs GitHub's organization memberships (scope `read:org`).
    pub fn needs_org_membership(&self) -> bool {
        !self.github_orgs.is_empty() || !self.github_teams.is_empty()
    }

    /// Whether no rule is listed: a policy of only `max_age_secs`, which admits anyone logged
    /// in recently enough.
    pub fn is_empty(&self) -> bool {
        crate::providers::ALL_RULES
            .into_iter()
            .all(|rule| self.list(rule).is_empty())
    }

    /// Whether a rule looks at the person's verified emails.
    pub fn needs_emails(&self) -> bool {
        !self.emails.is_empty() || !self.email_domains.is_empty()
    }

    /// The rules of an `allow` table written as TOML, any kind's.
    #[cfg(test)]
    pub fn for_tests(toml: &str) -> AllowRules {
        let raw: RawAllow = toml::from_str(toml).unwrap();
        raw.validate("t", &crate::providers::ALL_RULES).unwrap()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAllow {
    emails: Option<Vec<String>>,
    email_domains: Option<Vec<String>>,
    github_orgs: Option<Vec<String>>,
    github_teams: Option<Vec<String>>,
    intra42_campuses: Option<Vec<String>>,
    groups: Option<Vec<String>>,
    groups_claim: Option<String>,
    /// Only in `[policies.{name}]` (`policies.rs`): read there, refused in an `allow` table.
    max_age_secs: Option<u64>,
}

impl RawAllow {
    /// The rules of the table `table` (`providers.{id}.allow`), each a kind `supported` lists;
    /// at least one.
    pub(super) fn validate(
        self,
        table: &str,
        supported: &[Rule],
    ) -> Result<AllowRules, ConfigError> {
        if self.max_age_secs.is_some() {
            return Err(ConfigError::new(format!(
                "{table}.max_age_secs: only a [policies.NAME] table takes it (an allow table \
                 says who may log in, not how recently)"
            )));
        }
        let rules = self.rules(table, supported)?;
        if rules.is_empty() {
            return Err(ConfigError::new(format!(
                "{table}: name at least one rule (emails, email_domains, …), or leave the table out"
            )));
        }
        Ok(rules)
    }

    /// `max_age_secs` as written, and the rules of the table `table`, none at all included (the
    /// caller decides whether that is enough).
    pub(super) fn split(
        mut self,
        table: &str,
        supported: &[Rule],
    ) -> Result<(Option<u64>, AllowRules), ConfigError> {
        let max_age_secs = self.max_age_secs.take();
        Ok((max_age_secs, self.rules(table, supported)?))
    }

    fn rules(self, table: &str, supported: &[Rule]) -> Result<AllowRules, ConfigError> {
        let key = |name: &str| format!("{table}.{name}");
        let mut rules = AllowRules {
            groups_claim: "groups".into(),
            ..AllowRules::default()
        };
        let lists = [
            (Rule::Emails, self.emails, &mut rules.emails),
            (
                Rule::EmailDomains,
                self.email_domains,
                &mut rules.email_domains,
            ),
            (Rule::GithubOrgs, self.github_orgs, &mut rules.github_orgs),
            (
                Rule::GithubTeams,
                self.github_teams,
                &mut rules.github_teams,
            ),
            (
                Rule::Intra42Campuses,
                self.intra42_campuses,
                &mut rules.intra42_campuses,
            ),
            (Rule::Groups, self.groups, &mut rules.groups),
        ];
        for (rule, given, slot) in lists {
            let Some(given) = given else { continue };
            *slot = allow_list(rule, given, supported, &key(rule.key()))?;
        }
        match self.groups_claim {
            Some(_) if rules.groups.is_empty() => {
                return Err(ConfigError::new(format!(
                    "{}: only with a groups rule",
                    key("groups_claim")
                )))
            }
            Some(claim) => rules.groups_claim = claim,
            None => {}
        }
        Ok(rules)
    }
}

/// One list of `allow` (written `key`): one the kind can check, not empty, lowercased but for
/// groups.
fn allow_list(
    rule: Rule,
    given: Vec<String>,
    supported: &[Rule],
    key: &str,
) -> Result<Vec<String>, ConfigError> {
    if !supported.contains(&rule) {
        return Err(ConfigError::new(format!(
            "{key}: this provider's kind cannot check it (only {})",
            supported
                .iter()
                .map(|r| r.key())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let entries: Vec<String> = given
        .iter()
        .map(|e| e.trim())
        .filter(|e| !e.is_empty())
        .map(|e| {
            if rule == Rule::Groups {
                e.to_owned()
            } else {
                e.to_lowercase()
            }
        })
        .collect();
    if entries.is_empty() {
        return Err(ConfigError::new(format!(
            "{key}: an empty list lets no one in; leave the key out, or name who may"
        )));
    }
    if rule == Rule::GithubTeams {
        if let Some(bad) = entries
            .iter()
            .find(|t| t.split('/').filter(|p| !p.is_empty()).count() != 2)
        {
            return Err(ConfigError::new(format!(
                "{key}: {bad:?} is not \"org/team-slug\""
            )));
        }
    }
    Ok(entries)
}
