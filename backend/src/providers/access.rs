//! Who may log in (docs/design.md, "Who may log in"; rule 18): a provider's `allow` table, checked on
//! what the provider vouches for only — an email counts when the provider says it is verified.
//! A person matching any listed rule may log in; one matching none gets 403 `access_denied`
//! with a message naming the kinds of rule that failed, never the values they allow (who else
//! may log in is not a refused person's business); those go to the log ([`Denied`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
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

/// What a provider vouches for about the person, as far as the configured rules need it. Kept
/// in the session record (sealed, rule 22) and read again at each refresh and every
/// `session.recheck_secs`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// Addresses the provider says are verified, lowercased.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verified_emails: Vec<String>,
    /// GitHub organizations (logins), lowercased.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orgs: Vec<String>,
    /// GitHub teams as `org/slug`, lowercased.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<String>,
    /// 42 campuses, each by id and by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub campuses: Vec<(String, String)>,
    /// Groups, by the claim that listed them: each rule reads its own `groups_claim`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub groups: BTreeMap<String, Vec<String>>,
}

/// The facts a provider's rules need — its own `allow` and every policy's, as far as its kind
/// can check them — so a login or a re-check asks the provider for those and no more.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    pub emails: bool,
    pub orgs: bool,
    pub teams: bool,
    pub campuses: bool,
    /// The claims whose groups a rule reads.
    pub groups_claims: Vec<String>,
}

impl Wanted {
    /// What `rules` need of a provider whose kind can check `checkable`.
    pub fn of<'a>(rules: impl IntoIterator<Item = &'a AllowRules>, checkable: &[Rule]) -> Wanted {
        let mut wanted = Wanted::default();
        for rules in rules {
            let needs = |rule: Rule| checkable.contains(&rule) && !rules.list(rule).is_empty();
            wanted.emails |= needs(Rule::Emails) || needs(Rule::EmailDomains);
            wanted.orgs |= needs(Rule::GithubOrgs);
            wanted.teams |= needs(Rule::GithubTeams);
            wanted.campuses |= needs(Rule::Intra42Campuses);
            if needs(Rule::Groups) && !wanted.groups_claims.contains(&rules.groups_claim) {
                wanted.groups_claims.push(rules.groups_claim.clone());
            }
        }
        wanted
    }

    /// No rule needs anything: no facts are read, nor read again.
    pub fn is_empty(&self) -> bool {
        *self == Wanted::default()
    }
}

/// The standard facts: the verified email and the groups of an OpenID Connect id_token or an
/// OAuth 2.0 userinfo reply (OIDC Core §5.1: `email` with `email_verified: true`).
pub fn standard_facts(claims: &[&Value], wanted: &Wanted) -> Facts {
    let mut facts = Facts::default();
    for doc in claims {
        if doc.get("email_verified") == Some(&Value::Bool(true)) {
            if let Some(email) = field(doc, "email") {
                facts.verified_emails.push(email.to_lowercase());
            }
        }
        for claim in &wanted.groups_claims {
            let groups = facts.groups.entry(claim.clone()).or_default();
            match doc.get(claim) {
                Some(Value::Array(listed)) => {
                    groups.extend(listed.iter().filter_map(Value::as_str).map(str::to_owned))
                }
                // Some servers send the groups as one space-separated string.
                Some(Value::String(listed)) => {
                    groups.extend(listed.split_whitespace().map(str::to_owned))
                }
                _ => {}
            }
            groups.sort();
            groups.dedup();
        }
    }
    facts.verified_emails.sort();
    facts.verified_emails.dedup();
    facts
}

/// Whether `facts` pass the rule `rule` of `rules` (a rule not listed passes no one).
fn matches(rules: &AllowRules, rule: Rule, facts: &Facts) -> bool {
    let listed = rules.list(rule);
    let domain_of = |email: &str| email.rsplit_once('@').map(|(_, d)| d.to_owned());
    match rule {
        Rule::Emails => facts.verified_emails.iter().any(|e| listed.contains(e)),
        Rule::EmailDomains => facts
            .verified_emails
            .iter()
            .filter_map(|e| domain_of(e))
            .any(|d| listed.contains(&d)),
        Rule::GithubOrgs => facts.orgs.iter().any(|o| listed.contains(o)),
        Rule::GithubTeams => facts.teams.iter().any(|t| listed.contains(t)),
        Rule::Intra42Campuses => facts.campuses.iter().any(|(id, name)| {
            listed
                .iter()
                .any(|c| c == id || c.eq_ignore_ascii_case(name))
        }),
        Rule::Groups => facts
            .groups
            .get(&rules.groups_claim)
            .is_some_and(|groups| groups.iter().any(|g| listed.contains(g))),
    }
}

/// `Ok` when `facts` match a listed rule of `rules`; otherwise the kinds of rule listed, each
/// of which failed.
pub fn admits(rules: &AllowRules, facts: &Facts) -> Result<(), Vec<Rule>> {
    let listed: Vec<Rule> = ALL_RULES
        .into_iter()
        .filter(|rule| !rules.list(*rule).is_empty())
        .collect();
    if listed.iter().any(|rule| matches(rules, *rule, facts)) {
        return Ok(());
    }
    Err(listed)
}

/// `Ok` when `facts` match a rule of `allow`; otherwise which rules failed ([`Denied`]: their
/// kinds for the person, their values for the log).
pub fn check(allow: &AllowRules, facts: &Facts, who: &str) -> Result<(), Denied> {
    admits(allow, facts).map_err(|failed| Denied {
        who: who.to_owned(),
        failed: failed
            .into_iter()
            .map(|rule| (rule, allow.list(rule).join(", ")))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn allow(toml: &str) -> AllowRules {
        AllowRules::for_tests(toml)
    }

    fn standard_facts(claims: &[&Value], rules: &AllowRules) -> Facts {
        super::standard_facts(claims, &Wanted::of([rules], &ALL_RULES))
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
