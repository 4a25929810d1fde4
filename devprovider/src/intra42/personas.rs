//! 42 students behind the demo users (api.intra.42.fr/apidoc/2.0/users/me.html). Their
//! campuses start as written here and can change while they are logged in
//! (`DevProvider::set_intra42_campus`).

use serde_json::{json, Value};

use crate::config::stable_number;
use crate::pages::avatar;
use crate::DemoUser;

/// A 42 campus: Paris, and four of the campuses in Spain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Campus {
    pub id: u32,
    pub name: &'static str,
    city: &'static str,
    country: &'static str,
    time_zone: &'static str,
    /// The student email domain, `student.{domain}`.
    domain: &'static str,
}

/// A campus in Spain named after its city, as these four are.
const fn spanish(id: u32, city: &'static str, domain: &'static str) -> Campus {
    Campus {
        id,
        name: city,
        city,
        country: "Spain",
        time_zone: "Europe/Madrid",
        domain,
    }
}

const PARIS: Campus = Campus {
    id: 1,
    name: "Paris",
    city: "Paris",
    country: "France",
    time_zone: "Europe/Paris",
    domain: "42.fr",
};
const MADRID: Campus = spanish(22, "Madrid", "42madrid.com");
const MALAGA: Campus = spanish(37, "Málaga", "42malaga.com");
const URDULIZ: Campus = spanish(40, "Urduliz", "42urduliz.com");
const BARCELONA: Campus = spanish(46, "Barcelona", "42barcelona.com");

/// Every campus a student can be moved to.
pub const CAMPUSES: [Campus; 5] = [PARIS, MADRID, MALAGA, URDULIZ, BARCELONA];

/// A student's campuses, (campus, is_primary): one who moved keeps the old one, not primary.
pub type Campuses = Vec<(Campus, bool)>;

/// The campus named `name` (any case) or numbered `name`, as a rule may name it.
pub fn campus(name: &str) -> Result<Campus, String> {
    CAMPUSES
        .into_iter()
        .find(|c| c.name.to_lowercase() == name.to_lowercase() || c.id.to_string() == name)
        .ok_or_else(|| {
            let known: Vec<String> = CAMPUSES
                .iter()
                .map(|c| format!("{} ({})", c.name, c.id))
                .collect();
            format!("no 42 campus `{name}`; known: {}", known.join(", "))
        })
}

/// Where a demo user studies at start: ada, edsger, margaret, barbara and users added by
/// configuration in Madrid, alan in Málaga, and grace, who moved from Barcelona to Urduliz.
pub fn initial_campuses(login: &str) -> Campuses {
    match login {
        "grace" => vec![(BARCELONA, false), (URDULIZ, true)],
        "alan" => vec![(MALAGA, true)],
        _ => vec![(MADRID, true)],
    }
}

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
            cursus: vec![piscine(9.81), cursus(7.42, "Member")],
        },
        "grace" => Student {
            id: 87_654,
            correction_point: 11,
            wallet: 385,
            pool_month: "july",
            pool_year: "2021",
            location: None,
            cursus: vec![piscine(11.06), cursus(12.05, "Member")],
        },
        "alan" => Student {
            id: 112_233,
            correction_point: 2,
            wallet: 15,
            pool_month: "march",
            pool_year: "2025",
            location: Some("c2r5s1"),
            cursus: vec![piscine(7.3), cursus(3.17, "Learner")],
        },
        _ => Student {
            id: 200_000 + stable_number(&user.login) % 800_000,
            correction_point: 0,
            wallet: 0,
            pool_month: "september",
            pool_year: "2025",
            location: None,
            cursus: vec![piscine(0.0)],
        },
    }
}

/// The `resource_owner_id` of 42 tokens: the student's numeric id.
pub fn intra42_user_id(user: &DemoUser) -> u64 {
    student(user).id
}

/// The student's address on the primary campus, e.g. `ada@student.42madrid.com`.
pub fn intra42_email(user: &DemoUser, campuses: &[(Campus, bool)]) -> String {
    format!("{}@student.{}", user.login, primary_campus(campuses).domain)
}

fn primary_campus(campuses: &[(Campus, bool)]) -> Campus {
    campuses
        .iter()
        .find(|(_, primary)| *primary)
        .or(campuses.first())
        .map(|(campus, _)| *campus)
        .unwrap_or(MADRID)
}

/// `GET /v2/me` in the shape api.intra.42.fr answers (fields a login needs, and the ones
/// projects commonly show).
pub fn intra42_me(user: &DemoUser, campuses: &[(Campus, bool)], base: &str) -> Value {
    let student = student(user);
    let (first_name, last_name) = match user.name.split_once(' ') {
        Some((first, last)) => (first, last),
        None => (user.name.as_str(), ""),
    };
    let avatar = avatar::url(base, &user.login);
    let campus: Vec<Value> = campuses
        .iter()
        .map(|(c, _)| {
            json!({
                "id": c.id,
                "name": c.name,
                "time_zone": c.time_zone,
                "country": c.country,
                "city": c.city,
                "email_extension": c.domain,
                "active": true,
                "public": true,
            })
        })
        .collect();
    let campus_users: Vec<Value> = campuses
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
        "email": intra42_email(user, campuses),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::demo_user;

    /// `/v2/me` and the address of a student on the campuses they start at.
    fn me_of(user: &DemoUser) -> Value {
        intra42_me(user, &initial_campuses(&user.login), "http://x")
    }

    fn email_of(user: &DemoUser) -> String {
        intra42_email(user, &initial_campuses(&user.login))
    }

    #[test]
    fn a_configured_user_gets_a_stable_id_and_the_madrid_campus() {
        let zoe = DemoUser::new("zoe", "Zoe");
        assert_eq!(intra42_user_id(&zoe), intra42_user_id(&zoe.clone()));
        assert_eq!(email_of(&zoe), "zoe@student.42madrid.com");
        let me = me_of(&zoe);
        assert_eq!(me["first_name"], "Zoe");
        assert_eq!(me["last_name"], "");
    }

    #[test]
    fn a_student_who_moved_has_one_primary_campus() {
        let me = me_of(&demo_user("grace"));
        // Barcelona first, kept but not primary; Urduliz (40) primary.
        assert_eq!(
            me["campus_users"],
            json!([
                { "user_id": 87_654, "campus_id": 46, "is_primary": false },
                { "user_id": 87_654, "campus_id": 40, "is_primary": true },
            ])
        );
        assert_eq!(email_of(&demo_user("grace")), "grace@student.42urduliz.com");
    }

    #[test]
    fn a_campus_is_found_by_name_in_any_case_or_by_id() {
        assert_eq!(campus("urduliz"), Ok(URDULIZ));
        assert_eq!(campus("1"), Ok(PARIS));
        let error = campus("Lyon").unwrap_err();
        assert!(
            error.contains("Lyon") && error.contains("Madrid (22)"),
            "{error}"
        );
    }
}
