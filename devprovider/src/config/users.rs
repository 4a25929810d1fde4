//! The demo users anyone can sign in as, and the values derived from a login.

/// A user who can sign in with one click on the login page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoUser {
    pub login: String,
    pub name: String,
    pub email: String,
    /// False: the provider says the address is not verified (OIDC `email_verified: false`;
    /// on GitHub, `/user/emails` says `verified: false` and `/user` shows no address).
    pub email_verified: bool,
    /// The OIDC `groups` claim of the standard dialect; none when empty.
    pub groups: Vec<String>,
}

impl DemoUser {
    /// `login@example.com`, verified, in no group.
    pub fn new(login: &str, name: &str) -> DemoUser {
        DemoUser {
            login: login.into(),
            name: name.into(),
            email: format!("{login}@example.com"),
            email_verified: true,
            groups: Vec::new(),
        }
    }

    /// The OIDC `sub`: stable across restarts because it only depends on the login.
    pub fn subject(&self) -> String {
        subject_of(&self.login)
    }
}

pub(crate) fn subject_of(login: &str) -> String {
    format!("user-{login}")
}

/// The built-in demo users. Everyone's address is `login@example.com`.
///
/// - **ada** (Ada Lovelace), **grace** (Grace Hopper) and **alan** (Alan Turing): verified
///   addresses, no groups, no GitHub organization. On GitHub, grace keeps her address private,
///   so clients must read `/user/emails`. On 42, ada studies in Madrid, alan in Málaga, and
///   grace moved from Barcelona to Urduliz, her primary campus (`campus_users[].is_primary`).
/// - **edsger** (Edsger Dijkstra): his address is not verified. Standard: `email_verified:
///   false`; GitHub: `/user` has `email: null` and `/user/emails` lists it `verified: false`.
/// - **margaret** (Margaret Hamilton): on GitHub a member of the organization
///   `apollo-guidance` and of its team `flight-software` (`/user/orgs`, `/user/teams`, with
///   scope `read:org` or `user`).
/// - **barbara** (Barbara Liskov): standard dialect `groups: ["staff"]` in the id token and
///   userinfo; nobody else has a `groups` claim.
///
/// edsger, margaret and barbara study in Madrid on 42, so a campus rule for Madrid admits
/// four students and refuses alan and grace.
pub fn demo_users() -> Vec<DemoUser> {
    vec![
        DemoUser::new("ada", "Ada Lovelace"),
        DemoUser::new("grace", "Grace Hopper"),
        DemoUser::new("alan", "Alan Turing"),
        DemoUser {
            email_verified: false,
            ..DemoUser::new("edsger", "Edsger Dijkstra")
        },
        DemoUser::new("margaret", "Margaret Hamilton"),
        DemoUser {
            groups: vec!["staff".into()],
            ..DemoUser::new("barbara", "Barbara Liskov")
        },
    ]
}

/// FNV-1a: a number that depends only on the login, so ids survive restarts.
pub(crate) fn stable_number(login: &str) -> u64 {
    login.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One of the built-in demo users, for unit tests.
#[cfg(test)]
pub(crate) fn demo_user(login: &str) -> DemoUser {
    demo_users().into_iter().find(|u| u.login == login).unwrap()
}
