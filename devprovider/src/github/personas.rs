//! GitHub accounts of the demo users, in the shapes of docs.github.com's REST pages "Get the
//! authenticated user" and "List email addresses for the authenticated user". Their
//! organizations and teams are in `orgs.rs`.

use serde_json::{json, Value};

use crate::config::stable_number;
use crate::pages::avatar;
use crate::DemoUser;

/// A GitHub account (docs.github.com, "Get the authenticated user").
struct GithubAccount {
    id: u64,
    created_at: &'static str,
    bio: Option<&'static str>,
    location: Option<&'static str>,
    public_repos: u32,
    followers: u32,
    following: u32,
    /// False: the user keeps her address private, so `/user` answers `"email": null`.
    email_public: bool,
    /// Addresses besides the primary one: (address, verified).
    other_emails: &'static [(&'static str, bool)],
}

fn github_account(user: &DemoUser) -> GithubAccount {
    match user.login.as_str() {
        "ada" => GithubAccount {
            id: 1815,
            created_at: "2008-12-10T09:30:00Z",
            bio: Some("Poetical scientist. Wrote the first published program."),
            location: Some("London"),
            public_repos: 12,
            followers: 1843,
            following: 4,
            email_public: true,
            other_emails: &[],
        },
        "grace" => GithubAccount {
            id: 1906,
            created_at: "2009-12-09T14:00:00Z",
            bio: Some("It's easier to ask forgiveness than it is to get permission."),
            location: Some("Arlington, VA"),
            public_repos: 31,
            followers: 5210,
            following: 17,
            email_public: false,
            other_emails: &[("grace.hopper@navy.example.org", false)],
        },
        "alan" => GithubAccount {
            id: 1912,
            created_at: "2011-06-23T08:15:00Z",
            bio: None,
            location: None,
            public_repos: 3,
            followers: 954,
            following: 0,
            email_public: true,
            other_emails: &[],
        },
        _ => GithubAccount {
            id: 10_000_000 + stable_number(&user.login) % 90_000_000,
            created_at: "2020-01-01T00:00:00Z",
            bio: None,
            location: None,
            public_repos: 0,
            followers: 0,
            following: 0,
            email_public: true,
            other_emails: &[],
        },
    }
}

/// GitHub's legacy global node id: base64 of `0{length of the type}:{Type}{id}`, as older
/// objects show (`MDQ6VXNlcjE=` is `04:User1`, `MDEyOk9yZ2FuaXphdGlvbjE=` `012:Organization1`).
pub(super) fn node_id(kind: &str, id: u64) -> String {
    use base64::Engine;
    let legacy = format!("0{}:{kind}{id}", kind.len());
    base64::engine::general_purpose::STANDARD.encode(legacy)
}

/// `GET /user`: public profile fields; `email` is the public address or null.
pub fn github_user(user: &DemoUser, base: &str) -> Value {
    let account = github_account(user);
    json!({
        "login": user.login,
        "id": account.id,
        "node_id": node_id("User", account.id),
        "avatar_url": avatar::url(base, &user.login),
        "html_url": format!("{base}/{}", user.login),
        "type": "User",
        "site_admin": false,
        // GitHub answers null for a user who never set a display name.
        "name": (!user.name.is_empty()).then_some(&user.name),
        "company": null,
        "blog": "",
        "location": account.location,
        // Only a verified address can be made the public one in GitHub's profile settings.
        "email": (account.email_public && user.email_verified).then_some(&user.email),
        "hireable": null,
        "bio": account.bio,
        "public_repos": account.public_repos,
        "public_gists": 0,
        "followers": account.followers,
        "following": account.following,
        "created_at": account.created_at,
        "updated_at": account.created_at,
    })
}

/// `GET /user/emails`: the primary address first; `visibility` is null for non-primary
/// addresses.
pub fn github_emails(user: &DemoUser) -> Value {
    let account = github_account(user);
    let public = account.email_public && user.email_verified;
    let mut emails = vec![json!({
        "email": user.email,
        "primary": true,
        "verified": user.email_verified,
        "visibility": if public { "public" } else { "private" },
    })];
    emails.extend(account.other_emails.iter().map(|(email, verified)| {
        json!({ "email": email, "primary": false, "verified": verified, "visibility": null })
    }));
    Value::Array(emails)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::demo_user;

    #[test]
    fn grace_keeps_her_github_email_private_but_lists_it_in_emails() {
        let grace = demo_user("grace");
        assert_eq!(github_user(&grace, "http://x")["email"], Value::Null);
        let emails = github_emails(&grace);
        assert_eq!(emails[0]["email"], "grace@example.com");
        assert_eq!(emails[0]["primary"], true);
        assert_eq!(emails[0]["verified"], true);
        assert_eq!(emails[1]["verified"], false);
    }

    #[test]
    fn node_ids_are_githubs_legacy_ids() {
        assert_eq!(node_id("User", 1), "MDQ6VXNlcjE=");
        assert_eq!(node_id("Organization", 1), "MDEyOk9yZ2FuaXphdGlvbjE=");
    }
}
