//! 42 students behind the demo users (api.intra.42.fr/apidoc/2.0/users/me.html).

use serde_json::{json, Value};

use crate::config::stable_number;
use crate::pages::avatar;
use crate::DemoUser;

/// Four of 42's campuses in Spain.
#[derive(Clone, Copy)]
struct Campus {
    id: u32,
    name: &'static str,
    city: &'static str,
    /// The student email domain, `student.{domain}`.
    domain: &'static str,
}

/// A campus named after its city, as these four are.
const fn campus(id: u32, city: &'static str, domain: &'static str) -> Campus {
    Campus {
        id,
        name: city,
        city,
        domain,
    }
}

const MADRID: Campus = campus(22, "Madrid", "42madrid.com");
const MALAGA: Campus = campus(37, "Málaga", "42malaga.com");
const URDULIZ: Campus = campus(40, "Urduliz", "42urduliz.com");
const BARCELONA: Campus = campus(46, "Barcelona", "42barcelona.com");

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
    let avatar = avatar::url(base, &user.login);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::demo_user;

    #[test]
    fn a_configured_user_gets_a_stable_id_and_the_madrid_campus() {
        let zoe = DemoUser::new("zoe", "Zoe");
        assert_eq!(intra42_user_id(&zoe), intra42_user_id(&zoe.clone()));
        assert_eq!(intra42_email(&zoe), "zoe@student.42madrid.com");
        let me = intra42_me(&zoe, "http://x");
        assert_eq!(me["first_name"], "Zoe");
        assert_eq!(me["last_name"], "");
    }

    #[test]
    fn a_student_who_moved_has_one_primary_campus() {
        let me = intra42_me(&demo_user("grace"), "http://x");
        // Barcelona first, kept but not primary; Urduliz (40) primary.
        assert_eq!(
            me["campus_users"],
            json!([
                { "user_id": 87_654, "campus_id": 46, "is_primary": false },
                { "user_id": 87_654, "campus_id": 40, "is_primary": true },
            ])
        );
        assert_eq!(
            intra42_email(&demo_user("grace")),
            "grace@student.42urduliz.com"
        );
    }
}
