//! Who belongs where, as it is now: each person's OIDC groups, GitHub organizations and teams,
//! and 42 campuses. They start as the demo users and personas say, and change through the admin
//! API (`admin.rs`) while tokens stay valid, so a client must ask again to notice.

use std::collections::HashMap;
use std::sync::MutexGuard;

use super::AppState;
use crate::admin::{AdminError, MembershipChange, Memberships};
use crate::github::orgs::{self, Org, OrgMembership, Team};
use crate::intra42::personas::{self as students, Campus, Campuses};
use crate::{DemoUser, Dialect};

/// One person's memberships.
#[derive(Clone, Debug)]
pub struct Membership {
    pub groups: Vec<String>,
    pub github: Vec<OrgMembership>,
    pub campuses: Campuses,
}

impl Membership {
    pub fn initial(user: &DemoUser) -> Membership {
        Membership {
            groups: user.groups.clone(),
            github: orgs::initial_memberships(&user.login),
            campuses: students::initial_campuses(&user.login),
        }
    }

    fn snapshot(&self) -> Memberships {
        let primary = self.campuses.iter().find(|(_, primary)| *primary);
        Memberships {
            groups: self.groups.clone(),
            github_orgs: self.github.iter().map(|m| m.org.login.clone()).collect(),
            github_teams: self
                .github
                .iter()
                .flat_map(|m| {
                    m.teams
                        .iter()
                        .map(|t| format!("{}/{}", m.org.login, t.slug))
                })
                .collect(),
            intra42_campus: primary.map(|(c, _)| c.name.to_owned()),
            intra42_campuses: self
                .campuses
                .iter()
                .map(|(c, _)| c.name.to_owned())
                .collect(),
        }
    }
}

/// A change whose every value was checked: applying it can't fail half-way.
struct Checked {
    groups: Option<Vec<String>>,
    orgs: Option<Vec<Org>>,
    teams: Option<Vec<(Org, Team)>>,
    campus: Option<Campus>,
}

impl AppState {
    /// The memberships of `login` now; None for an unknown login.
    pub fn membership(&self, login: &str) -> Option<Membership> {
        self.membership_table().get(login).cloned()
    }

    pub fn memberships(&self, login: &str) -> Option<Memberships> {
        self.membership(login).map(|m| m.snapshot())
    }

    /// Applies `change` to `login` whole, or refuses it whole.
    pub fn change_memberships(
        &self,
        login: &str,
        change: MembershipChange,
    ) -> Result<Memberships, AdminError> {
        let checked = self.check(change)?;
        let mut table = self.membership_table();
        let membership = table
            .get_mut(login)
            .ok_or_else(|| AdminError::UnknownUser(login.to_owned()))?;
        if let Some(groups) = checked.groups {
            membership.groups = groups;
        }
        if let Some(orgs) = checked.orgs {
            let before = std::mem::take(&mut membership.github);
            membership.github = orgs
                .into_iter()
                .map(|org| {
                    let teams = before
                        .iter()
                        .find(|m| m.org.login == org.login)
                        .map(|m| m.teams.clone())
                        .unwrap_or_default();
                    OrgMembership { org, teams }
                })
                .collect();
        }
        if let Some(teams) = checked.teams {
            join_teams(&mut membership.github, teams);
        }
        if let Some(campus) = checked.campus {
            membership.campuses = vec![(campus, true)];
        }
        tracing::info!(%login, "memberships changed");
        Ok(membership.snapshot())
    }

    fn check(&self, change: MembershipChange) -> Result<Checked, AdminError> {
        let invalid = AdminError::Invalid;
        let groups = self
            .only_in(Dialect::Standard, "groups", change.groups)?
            .map(|groups| distinct(groups, "group"))
            .transpose()
            .map_err(invalid)?;
        let orgs = self
            .only_in(Dialect::Github, "github_orgs", change.github_orgs)?
            .map(|names| names.iter().map(|name| orgs::org(name)).collect())
            .transpose()
            .map_err(invalid)?;
        let teams = self
            .only_in(Dialect::Github, "github_teams", change.github_teams)?
            .map(|names| names.iter().map(|name| org_team(name)).collect())
            .transpose()
            .map_err(invalid)?;
        let campus = self
            .only_in(Dialect::Intra42, "intra42_campus", change.intra42_campus)?
            .map(|name| students::campus(&name))
            .transpose()
            .map_err(invalid)?;
        Ok(Checked {
            groups,
            orgs: orgs.map(dedup_orgs),
            teams,
            campus,
        })
    }

    /// `value`, when this provider speaks `dialect`; a value for another dialect is refused.
    fn only_in<T>(
        &self,
        dialect: Dialect,
        field: &'static str,
        value: Option<T>,
    ) -> Result<Option<T>, AdminError> {
        match value {
            Some(_) if self.dialect != dialect => Err(AdminError::OtherDialect {
                field,
                dialect: self.dialect,
            }),
            value => Ok(value),
        }
    }

    fn membership_table(&self) -> MutexGuard<'_, HashMap<String, Membership>> {
        self.memberships.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Replaces every team; a team's organization is joined when the person is not in it yet.
fn join_teams(github: &mut Vec<OrgMembership>, teams: Vec<(Org, Team)>) {
    for membership in github.iter_mut() {
        membership.teams.clear();
    }
    for (org, team) in teams {
        let index = match github.iter().position(|m| m.org.login == org.login) {
            Some(index) => index,
            None => {
                github.push(OrgMembership {
                    org,
                    teams: Vec::new(),
                });
                github.len() - 1
            }
        };
        let teams = &mut github[index].teams;
        if !teams.iter().any(|t| t.slug == team.slug) {
            teams.push(team);
        }
    }
}

/// `org/team-slug`, as `GET /user/teams` clients name a team.
fn org_team(name: &str) -> Result<(Org, Team), String> {
    let (org, slug) = name
        .split_once('/')
        .ok_or_else(|| format!("GitHub team `{name}` must be written `org/team-slug`"))?;
    let org = orgs::org(org)?;
    let team = orgs::team(&org, slug)?;
    Ok((org, team))
}

fn dedup_orgs(orgs: Vec<Org>) -> Vec<Org> {
    let mut kept: Vec<Org> = Vec::new();
    for org in orgs {
        if !kept.iter().any(|k| k.login == org.login) {
            kept.push(org);
        }
    }
    kept
}

/// Names once each, in the order given; an empty one is refused.
fn distinct(names: Vec<String>, what: &str) -> Result<Vec<String>, String> {
    let mut kept: Vec<String> = Vec::new();
    for name in names {
        if name.trim().is_empty() {
            return Err(format!("a {what} name must not be empty"));
        }
        if !kept.contains(&name) {
            kept.push(name);
        }
    }
    Ok(kept)
}
