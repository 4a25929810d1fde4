//! What the demo users look like on GitHub and on 42 Intra: believable ids, counts, campuses and
//! levels, in the shapes those APIs answer. Users added by configuration get stable values
//! derived from their login.

use serde_json::{json, Value};

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

/// `GET /user`: public profile fields; `email` is the public address or null.
pub fn github_user(user: &DemoUser, base: &str) -> Value {
    let account = github_account(user);
    // The legacy global node id is base64("04:User{id}"), as GitHub's older accounts show.
    let node_id = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("04:User{}", account.id))
    };
    json!({
        "login": user.login,
        "id": account.id,
        "node_id": node_id,
        "avatar_url": format!("{base}/avatars/{}.svg", user.login),
        "html_url": format!("{base}/{}", user.login),
        "type": "User",
        "site_admin": false,
        // GitHub answers null for a user who never set a display name.
        "name": (!user.name.is_empty()).then_some(&user.name),
        "company": null,
        "blog": "",
        "location": account.location,
        "email": account.email_public.then_some(&user.email),
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

/// `GET /user/emails` (docs.github.com, "List email addresses for the authenticated user"):
/// the primary address first, verified; `visibility` is null for non-primary addresses.
pub fn github_emails(user: &DemoUser) -> Value {
    let account = github_account(user);
    let mut emails = vec![json!({
        "email": user.email,
        "primary": true,
        "verified": true,
        "visibility": if account.email_public { "public" } else { "private" },
    })];
    emails.extend(account.other_emails.iter().map(|(email, verified)| {
        json!({ "email": email, "primary": false, "verified": verified, "visibility": null })
    }));
    Value::Array(emails)
}

/// Four of 42's campuses in Spain.
#[derive(Clone, Copy)]
struct Campus {
    id: u32,
    name: &'static str,
    city: &'static str,
    /// The student email domain, `student.{domain}`.
    domain: &'static str,
}

const MADRID: Campus = Campus {
    id: 22,
    name: "Madrid",
    city: "Madrid",
    domain: "42madrid.com",
};
const MALAGA: Campus = Campus {
    id: 37,
    name: "Málaga",
    city: "Málaga",
    domain: "42malaga.com",
};
const URDULIZ: Campus = Campus {
    id: 40,
    name: "Urduliz",
    city: "Urduliz",
    domain: "42urduliz.com",
};
const BARCELONA: Campus = Campus {
    id: 46,
    name: "Barcelona",
    city: "Barcelona",
    domain: "42barcelona.com",
};

/// A cursus enrolment: (level, grade, cursus id, name, slug).
type Cursus = (f64, Option<&'static str>, u32, &'static str, &'static str);

const PISCINE: (u32, &str, &str) = (9, "C Piscine", "c-piscine");
const CURSUS_42: (u32, &str, &str) = (21, "42cursus", "42cursus");

/// A 42 student (api.intra.42.fr/apidoc/2.0/users/me.html).
struct Student {
    id: u64,
    correction_point: u32,
    wallet: u32,
    pool_month: &'static str,
    pool_year: &'static str,
    location: Option<&'static str>,
    /// (campus, is_primary): a student who moved keeps the old campus, not primary.
    campuses: Vec<(Campus, bool)>,
    cursus: Vec<Cursus>,
}

fn student(user: &DemoUser) -> Student {
    let piscine = |level| (level, None, PISCINE.0, PISCINE.1, PISCINE.2);
    let cursus = |level, grade| (level, Some(grade), CURSUS_42.0, CURSUS_42.1, CURSUS_42.2);
    match user.login.as_str() {
        "ada" => Student {
            id: 98_765,
            correction_point: 5,
            wallet: 120,
            pool_month: "september",
            pool_year: "2023",
            location: Some("c1r2s3"),
            campuses: vec![(MADRID, true)],
            cursus: vec![piscine(9.81), cursus(7.42, "Member")],
        },
        // Moved from Barcelona to Urduliz: clients must pick the primary campus.
        "grace" => Student {
            id: 87_654,
            correction_point: 11,
            wallet: 385,
            pool_month: "july",
            pool_year: "2021",
            location: None,
            campuses: vec![(BARCELONA, false), (URDULIZ, true)],
            cursus: vec![piscine(11.06), cursus(12.05, "Member")],
        },
        "alan" => Student {
            id: 112_233,
            correction_point: 2,
            wallet: 15,
            pool_month: "march",
            pool_year: "2025",
            location: Some("c2r5s1"),
            campuses: vec![(MALAGA, true)],
            cursus: vec![piscine(7.3), cursus(3.17, "Learner")],
        },
        _ => Student {
            id: 200_000 + stable_number(&user.login) % 800_000,
            correction_point: 0,
            wallet: 0,
            pool_month: "september",
            pool_year: "2025",
            location: None,
            campuses: vec![(MADRID, true)],
            cursus: vec![piscine(0.0)],
        },
    }
}

/// The `resource_owner_id` of 42 tokens: the student's numeric id.
pub fn intra42_user_id(user: &DemoUser) -> u64 {
    student(user).id
}

/// The student's address on the primary campus, e.g. `ada@student.42madrid.com`.
pub fn intra42_email(user: &DemoUser) -> String {
    let student = student(user);
    let campus = primary_campus(&student);
    format!("{}@student.{}", user.login, campus.domain)
}

fn primary_campus(student: &Student) -> Campus {
    student
        .campuses
        .iter()
        .find(|(_, primary)| *primary)
        .or(student.campuses.first())
        .map(|(campus, _)| *campus)
        .unwrap_or(MADRID)
}

/// `GET /v2/me` in the shape api.intra.42.fr answers (fields a login needs, and the ones
/// projects commonly show).
pub fn intra42_me(user: &DemoUser, base: &str) -> Value {
    let student = student(user);
    let (first_name, last_name) = match user.name.split_once(' ') {
        Some((first, last)) => (first, last),
        None => (user.name.as_str(), ""),
    };
    let avatar = format!("{base}/avatars/{}.svg", user.login);
    let campus: Vec<Value> = student
        .campuses
        .iter()
        .map(|(c, _)| {
            json!({
                "id": c.id,
                "name": c.name,
                "time_zone": "Europe/Madrid",
                "country": "Spain",
                "city": c.city,
                "email_extension": c.domain,
                "active": true,
                "public": true,
            })
        })
        .collect();
    let campus_users: Vec<Value> = student
        .campuses
        .iter()
        .map(|(c, primary)| {
            json!({ "user_id": student.id, "campus_id": c.id, "is_primary": primary })
        })
        .collect();
    let cursus_users: Vec<Value> = student
        .cursus
        .iter()
        .map(|(level, grade, id, name, slug)| {
            json!({
                "level": level,
                "grade": grade,
                "cursus_id": id,
                "cursus": { "id": id, "name": name, "slug": slug, "kind": "main" },
            })
        })
        .collect();
    json!({
        "id": student.id,
        "email": intra42_email(user),
        "login": user.login,
        "first_name": first_name,
        "last_name": last_name,
        "usual_full_name": user.name,
        "usual_first_name": null,
        "displayname": user.name,
        "kind": "student",
        "image": {
            "link": avatar,
            "versions": { "large": avatar, "medium": avatar, "small": avatar, "micro": avatar },
        },
        "staff?": false,
        "correction_point": student.correction_point,
        "pool_month": student.pool_month,
        "pool_year": student.pool_year,
        "location": student.location,
        "wallet": student.wallet,
        "active?": true,
        "alumni?": false,
        "campus": campus,
        "campus_users": campus_users,
        "cursus_users": cursus_users,
        "projects_users": [],
    })
}

/// FNV-1a: a number that depends only on the login, so ids survive restarts.
fn stable_number(login: &str) -> u64 {
    login.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(login: &str) -> DemoUser {
        crate::demo_users()
            .into_iter()
            .find(|u| u.login == login)
            .unwrap()
    }

    #[test]
    fn grace_keeps_her_github_email_private_but_lists_it_in_emails() {
        let grace = user("grace");
        assert_eq!(github_user(&grace, "http://x")["email"], Value::Null);
        let emails = github_emails(&grace);
        assert_eq!(emails[0]["email"], "grace@example.com");
        assert_eq!(emails[0]["primary"], true);
        assert_eq!(emails[0]["verified"], true);
        assert_eq!(emails[1]["verified"], false);
    }

    #[test]
    fn a_configured_user_gets_a_stable_id_and_the_madrid_campus() {
        let zoe = DemoUser {
            login: "zoe".into(),
            name: "Zoe".into(),
            email: "zoe@example.com".into(),
        };
        assert_eq!(intra42_user_id(&zoe), intra42_user_id(&zoe.clone()));
        assert_eq!(intra42_email(&zoe), "zoe@student.42madrid.com");
        let me = intra42_me(&zoe, "http://x");
        assert_eq!(me["first_name"], "Zoe");
        assert_eq!(me["last_name"], "");
    }

    #[test]
    fn a_student_who_moved_has_one_primary_campus() {
        let me = intra42_me(&user("grace"), "http://x");
        let primary: Vec<_> = me["campus_users"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["is_primary"] == true)
            .collect();
        assert_eq!(primary.len(), 1);
        assert_eq!(primary[0]["campus_id"], 40);
        assert_eq!(intra42_email(&user("grace")), "grace@student.42urduliz.com");
    }
}
