//! What the demo users look like on GitHub and on 42 Intra: believable ids, counts, campuses and
//! levels, in the shapes those APIs answer. Users added by configuration get stable values
//! derived from their login.

mod github;
mod intra42;

pub use github::{github_emails, github_org_name, github_orgs, github_teams, github_user};
pub use intra42::{intra42_email, intra42_me, intra42_user_id};

/// FNV-1a: a number that depends only on the login, so ids survive restarts.
fn stable_number(login: &str) -> u64 {
    login.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
fn demo_user(login: &str) -> crate::DemoUser {
    crate::demo_users()
        .into_iter()
        .find(|u| u.login == login)
        .unwrap()
}
