//! GitHub organizations and teams: who belongs where, in the shapes of docs.github.com's REST
//! pages "List organizations for the authenticated user" (organization-simple) and "List teams
//! for the authenticated user" (team-full). Memberships start as the personas say and can
//! change while a person is logged in (`DevProvider::set_github_orgs`, `set_github_teams`).

use serde_json::{json, Value};

use super::personas::node_id;
use crate::config::stable_number;
use crate::pages::avatar;

/// An organization (REST "organization-simple").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Org {
    pub login: String,
    /// The display name, which the avatar shows; the login when the organization set none.
    pub name: String,
    pub id: u64,
    pub description: Option<String>,
}

/// A team in an organization (REST "team-full").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Team {
    pub id: u64,
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
}

/// A person's organization, and the teams in it they belong to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgMembership {
    pub org: Org,
    pub teams: Vec<Team>,
}

/// The organization margaret belongs to, and its team.
fn apollo() -> OrgMembership {
    OrgMembership {
        org: Org {
            login: "apollo-guidance".into(),
            name: "Apollo Guidance".into(),
            id: 4_196_901,
            description: Some("Guidance and navigation software for the Apollo missions.".into()),
        },
        teams: vec![Team {
            id: 1_969_072,
            slug: "flight-software".into(),
            name: "Flight Software".into(),
            description: Some("The on-board flight software.".into()),
        }],
    }
}

/// Where a demo user starts: margaret in `apollo-guidance` and its team `flight-software`,
/// everyone else in no organization.
pub fn initial_memberships(login: &str) -> Vec<OrgMembership> {
    match login {
        "margaret" => vec![apollo()],
        _ => Vec::new(),
    }
}

/// Whether `login` names the organization the personas start in.
pub fn is_known(login: &str) -> bool {
    apollo().org.login.eq_ignore_ascii_case(login)
}

/// The organization with this login: the known one, or one made up for it (stable id, no
/// display name or description, as a new organization has).
pub fn org(login: &str) -> Result<Org, String> {
    check_name(login, "organization")?;
    let known = apollo().org;
    if known.login.eq_ignore_ascii_case(login) {
        return Ok(known);
    }
    Ok(Org {
        login: login.to_owned(),
        name: login.to_owned(),
        id: 20_000_000 + stable_number(login) % 80_000_000,
        description: None,
    })
}

/// The team `slug` of the organization `org`: the known one, or one made up for it.
pub fn team(org: &Org, slug: &str) -> Result<Team, String> {
    check_name(slug, "team slug")?;
    let known = apollo();
    if known.org.login == org.login {
        if let Some(team) = known.teams.into_iter().find(|t| t.slug == slug) {
            return Ok(team);
        }
    }
    Ok(Team {
        id: 3_000_000 + stable_number(&format!("{}/{slug}", org.login)) % 7_000_000,
        slug: slug.to_owned(),
        name: slug.to_owned(),
        description: None,
    })
}

/// GitHub's rule for organization logins and team slugs: letters, digits and single hyphens,
/// neither first nor last, at most 39 characters.
fn check_name(name: &str, what: &str) -> Result<(), String> {
    let valid = (1..=39).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a GitHub {what}: letters, digits and single hyphens, at most 39"
        ))
    }
}

/// `GET /user/orgs`: the organizations the person belongs to.
pub fn orgs_json(memberships: &[OrgMembership], base: &str) -> Value {
    memberships.iter().map(|m| org_json(&m.org, base)).collect()
}

/// `GET /user/teams`: the person's teams across their organizations, each naming its
/// organization.
pub fn teams_json(memberships: &[OrgMembership], base: &str) -> Value {
    let teams = memberships.iter().flat_map(|m| {
        m.teams.iter().map(|team| {
            json!({
                "id": team.id,
                "node_id": node_id("Team", team.id),
                "url": format!("{base}/teams/{}", team.id),
                "html_url": format!("{base}/orgs/{}/teams/{}", m.org.login, team.slug),
                "name": team.name,
                "slug": team.slug,
                "description": team.description,
                "privacy": "closed",
                "notification_setting": "notifications_enabled",
                "permission": "pull",
                "parent": null,
                "organization": org_json(&m.org, base),
            })
        })
    });
    teams.collect()
}

fn org_json(org: &Org, base: &str) -> Value {
    let url = format!("{base}/orgs/{}", org.login);
    json!({
        "login": org.login,
        "id": org.id,
        "node_id": node_id("Organization", org.id),
        "url": url,
        "repos_url": format!("{url}/repos"),
        "members_url": format!("{url}/members{{/member}}"),
        "avatar_url": avatar::url(base, &org.login),
        "description": org.description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_organization_keeps_its_names_and_a_new_one_gets_a_stable_id() {
        assert_eq!(org("apollo-guidance").unwrap().name, "Apollo Guidance");
        let acme = org("acme").unwrap();
        assert_eq!(acme, org("acme").unwrap());
        assert_eq!(acme.name, "acme");
        assert_eq!(acme.description, None);
        let team = team(&acme, "ops").unwrap();
        assert_eq!((team.slug.as_str(), team.name.as_str()), ("ops", "ops"));
    }

    #[test]
    fn names_github_would_refuse_are_refused() {
        for bad in [
            "",
            "-acme",
            "acme-",
            "ac--me",
            "ac me",
            "acme/ops",
            &"a".repeat(40),
        ] {
            assert!(org(bad).is_err(), "{bad:?}");
        }
    }
}
