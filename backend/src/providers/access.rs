//! Who may log in (DESIGN.md, "Who may log in"; rule 18): a provider's `allow` table, checked on
//! what the provider vouches for only — an email counts when the provider says it is verified.
//! A person matching any listed rule may log in; one matching none gets 403 `access_denied`
//! with a message naming the kinds of rule that failed, never the values they allow (who else
//! may log in is not a refused person's business); those go to the log ([`Denied`]).

use serde_json::Value;

use super::standard::field;
use crate::config::AllowRules;

/// The kinds of rule, as `[providers.{id}.allow]` names them. Each provider kind says which it
/// can check (`Kind::rules`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    Emails,
    EmailDomains,
    GithubOrgs,
    GithubTeams,
    Intra42Campuses,
    Groups,
}

/// Every rule: what a test of the rules themselves may use.
pub const ALL_RULES: [Rule; 6] = [
    Rule::Emails,
    Rule::EmailDomains,
    Rule::GithubOrgs,
    Rule::GithubTeams,
    Rule::Intra42Campuses,
    Rule::Groups,
];

/// What most kinds can check: the verified email, and a groups claim.
pub const STANDARD_RULES: [Rule; 3] = [Rule::Emails, Rule::EmailDomains, Rule::Groups];

impl Rule {
    /// The key in `[providers.{id}.allow]`.
    pub fn key(self) -> &'static str {
        match self {
            Rule::Emails => "emails",
            Rule::EmailDomains => "email_domains",
            Rule::GithubOrgs => "github_orgs",
            Rule::GithubTeams => "github_teams",
            Rule::Intra42Campuses => "intra42_campuses",
            Rule::Groups => "groups",
        }
    }

    /// What a refusal says of this rule: its kind, never the values it allows.
    pub fn unmet(self) -> &'static str {
        match self {
            Rule::Emails => "no verified email address of theirs is among the allowed ones",
            Rule::EmailDomains => "no verified email address of theirs is at an allowed domain",
            Rule::GithubOrgs => "not in an allowed GitHub organisation",
            Rule::GithubTeams => "not in an allowed GitHub team",
            Rule::Intra42Campuses => "not at an allowed 42 campus",
            Rule::Groups => "not in an allowed group",
        }
    }
}

/// A person no rule admits: who, and which rules failed with the values they allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denied {
    who: String,
    failed: Vec<(Rule, String)>,
}

impl Denied {
    /// For the person: the kinds of rule that failed, each with its key.
    pub fn message(&self) -> String {
        let kinds: Vec<String> = self
            .failed
            .iter()
            .map(|(rule, _)| format!("{} ({})", rule.unmet(), rule.key()))
            .collect();
        format!(
            "{} may not log in here: no access rule matched — {}",
            self.who,
            kinds.join("; ")
        )
    }

    /// For the log only: each failed rule with the values it allows.
    pub fn detail(&self) -> String {
        let rules: Vec<String> = self
            .failed
            .iter()
            .map(|(rule, allowed)| format!("{} ({allowed})", rule.key()))
            .collect();
        rules.join("; ")
    }

    /// The keys of the rules that failed, comma-separated (the audit trail's `rules`).
    pub fn rules(&self) -> String {
        let keys: Vec<&str> = self.failed.iter().map(|(rule, _)| rule.key()).collect();
        keys.join(",")
    }
}

/// What a provider vouches for about the person, as far as the configured rules need it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// Addresses the provider says are verified, lowercased.
    pub verified_emails: Vec<String>,
    /// GitHub organizations (logins), lowercased.
    pub orgs: Vec<String>,
    /// GitHub teams as `org/slug`, lowercased.
    pub teams: Vec<String>,
    /// 42 campuses, each by id and by name.
    pub campuses: Vec<(String, String)>,
    /// Groups from the groups claim.
    pub groups: Vec<String>,
}

/// The standard facts: the verified email and the groups of an OpenID Connect id_token or an
/// OAuth 2.0 userinfo reply (OIDC Core §5.1: `email` with `email_verified: true`).
pub fn standard_facts(claims: &[&Value], allow: &AllowRules) -> Facts {
    let mut facts = Facts::default();
    for doc in claims {
        if doc.get("email_verified") == Some(&Value::Bool(true)) {
            if let Some(email) = field(doc, "email") {
                facts.verified_emails.push(email.to_lowercase());
            }
        }
        match doc.get(&allow.groups_claim) {
            Some(Value::Array(groups)) => facts
                .groups
                .extend(groups.iter().filter_map(Value::as_str).map(str::to_owned)),
            // Some servers send the groups as one space-separated string.
            Some(Value::String(groups)) => facts
                .groups
                .extend(groups.split_whitespace().map(str::to_owned)),
            _ => {}
        }
    }
    facts.verified_emails.dedup();
    facts
}

/// `Ok` when `facts` match a rule of `allow`; otherwise which rules failed.
pub fn check(allow: &AllowRules, facts: &Facts, who: &str) -> Result<(), Denied> {
    let domain_of = |email: &str| email.rsplit_once('@').map(|(_, d)| d.to_owned());
    let mut failed = Vec::new();
    let mut any = |rule: Rule, listed: &[String], matched: bool| {
        if listed.is_empty() {
            return false;
        }
        if !matched {
            failed.push((rule, listed.join(", ")));
        }
        matched
    };
    let emails = any(
        Rule::Emails,
        &allow.emails,
        facts
            .verified_emails
            .iter()
            .any(|e| allow.emails.contains(e)),
    );
    let domains = any(
        Rule::EmailDomains,
        &allow.email_domains,
        facts
            .verified_emails
            .iter()
            .filter_map(|e| domain_of(e))
            .any(|d| allow.email_domains.contains(&d)),
    );
    let orgs = any(
        Rule::GithubOrgs,
        &allow.github_orgs,
        facts.orgs.iter().any(|o| allow.github_orgs.contains(o)),
    );
    let teams = any(
        Rule::GithubTeams,
        &allow.github_teams,
        facts.teams.iter().any(|t| allow.github_teams.contains(t)),
    );
    let campuses = any(
        Rule::Intra42Campuses,
        &allow.intra42_campuses,
        facts.campuses.iter().any(|(id, name)| {
            allow
                .intra42_campuses
                .iter()
                .any(|c| c == id || c.eq_ignore_ascii_case(name))
        }),
    );
    let groups = any(
        Rule::Groups,
        &allow.groups,
        facts.groups.iter().any(|g| allow.groups.contains(g)),
    );
    if emails || domains || orgs || teams || campuses || groups {
        return Ok(());
    }
    Err(Denied {
        who: who.to_owned(),
        failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn allow(toml: &str) -> AllowRules {
        AllowRules::for_tests(toml)
    }

    #[test]
    fn only_verified_emails_count_and_any_rule_is_enough() {
        let rules = allow("emails = [\"ada@example.com\"]\nemail_domains = [\"school.edu\"]");
        let verified = json!({ "email": "Ada@Example.com", "email_verified": true });
        let unverified = json!({ "email": "ada@example.com", "email_verified": false });
        let student = json!({ "email": "grace@school.edu", "email_verified": true });
        assert!(check(&rules, &standard_facts(&[&verified], &rules), "ada").is_ok());
        assert!(check(&rules, &standard_facts(&[&student], &rules), "grace").is_ok());
        let refused = check(&rules, &standard_facts(&[&unverified], &rules), "ada").unwrap_err();
        let detail = refused.detail();
        assert!(detail.contains("emails (ada@example.com)"), "{detail}");
        assert!(detail.contains("email_domains (school.edu)"), "{detail}");
        assert_eq!(refused.rules(), "emails,email_domains");
    }

    #[test]
    fn a_refusal_names_the_kinds_of_rule_and_never_the_values_they_allow() {
        let rules = allow(
            "emails = [\"boss@corp.example\"]\ngithub_orgs = [\"secret-org\"]\n\
             github_teams = [\"secret-org/core\"]\nintra42_campuses = [\"Madrid\"]\n\
             groups = [\"staff\"]\nemail_domains = [\"corp.example\"]",
        );
        let message = check(&rules, &Facts::default(), "mallory")
            .unwrap_err()
            .message();
        for kind in [
            "not in an allowed GitHub organisation (github_orgs)",
            "not in an allowed GitHub team (github_teams)",
            "not at an allowed 42 campus (intra42_campuses)",
            "not in an allowed group (groups)",
            "(emails)",
            "(email_domains)",
        ] {
            assert!(message.contains(kind), "{kind}: {message}");
        }
        for value in [
            "boss@",
            "corp.example",
            "secret-org",
            "core",
            "madrid",
            "staff",
        ] {
            assert!(
                !message.to_lowercase().contains(value),
                "{value}: {message}"
            );
        }
    }

    #[test]
    fn groups_come_as_a_list_or_a_space_separated_string_from_the_configured_claim() {
        let rules = allow("groups = [\"staff\"]\ngroups_claim = \"roles\"");
        for claims in [
            json!({ "roles": ["x", "staff"] }),
            json!({ "roles": "x staff" }),
        ] {
            assert!(
                check(&rules, &standard_facts(&[&claims], &rules), "p").is_ok(),
                "{claims}"
            );
        }
        let elsewhere = json!({ "groups": ["staff"] });
        assert!(check(&rules, &standard_facts(&[&elsewhere], &rules), "p").is_err());
    }

    #[test]
    fn campuses_match_by_id_or_name_and_teams_as_org_slash_slug() {
        let rules = allow("intra42_campuses = [\"madrid\", \"22\"]");
        let facts = |id: &str, name: &str| Facts {
            campuses: vec![(id.into(), name.into())],
            ..Facts::default()
        };
        assert!(check(&rules, &facts("22", "Anywhere"), "p").is_ok());
        assert!(check(&rules, &facts("1", "Madrid"), "p").is_ok());
        assert!(check(&rules, &facts("1", "Paris"), "p").is_err());
        let rules = allow("github_teams = [\"my-org/core\"]");
        let member = Facts {
            teams: vec!["my-org/core".into()],
            ..Facts::default()
        };
        assert!(check(&rules, &member, "p").is_ok());
        assert!(check(&rules, &Facts::default(), "p").is_err());
    }
}
