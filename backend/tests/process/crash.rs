//! Kill -9 loses nothing (docs/SECURITY.md, "What a crash loses"): a `portero` on SQLite killed
//! while people log in and call it comes back on the same file with every session it had
//! acknowledged and none it had ended; a Redis killed under two replicas is an outage (503
//! `store_unavailable`, never a panic) that ends by itself within 5 s of Redis being back, with
//! every acknowledged session Redis kept. Each prints what it measured.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use reqwest::{Method, StatusCode};

use crate::{redis_server::RedisServer, support::*};

const DEMO_USERS: [&str; 6] = ["ada", "grace", "alan", "edsger", "margaret", "barbara"];

/// Sessions a load acknowledged: the person, and the session cookie `POST /api/session`
/// answered 200 with.
type Acknowledged = Arc<Mutex<Vec<(Arc<Person>, String)>>>;

/// `count` people logged in at the replicas of `bases` in turn, `at_once` at a time.
async fn logged_in(bases: &[&str], count: usize, at_once: usize) -> Vec<Arc<Person>> {
    let people: Vec<Arc<Person>> = (0..count)
        .map(|n| Arc::new(Person::new(&format!("person-{n}"))))
        .collect();
    for (batch, chunk) in people.chunks(at_once).enumerate() {
        let mut logins = tokio::task::JoinSet::new();
        for (i, person) in chunk.iter().enumerate() {
            let base = bases[(batch * at_once + i) % bases.len()].to_owned();
            let (person, user) = (person.clone(), DEMO_USERS[i % DEMO_USERS.len()]);
            logins.spawn(async move { person.log_in(&base, user).await.unwrap() });
        }
        for answer in logins.join_all().await {
            assert_eq!(answer.status, 200, "{}", answer.body);
        }
    }
    people
}

/// Until `stop`: new logins and `/api/me` calls at the replicas of `bases` in turn, from
/// `workers` tasks; each login `POST /api/session` acknowledged goes into `acknowledged`. The
/// statuses of every answer, for the test to read; calls that got no answer are left out.
fn load(
    bases: Vec<String>,
    people: Vec<Arc<Person>>,
    workers: usize,
    stop: Arc<AtomicBool>,
    acknowledged: Acknowledged,
) -> tokio::task::JoinSet<Vec<u16>> {
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..workers {
        let (bases, people, stop, acknowledged) = (
            bases.clone(),
            people.clone(),
            stop.clone(),
            acknowledged.clone(),
        );
        tasks.spawn(async move {
            let mut statuses = Vec::new();
            let mut n = worker;
            while !stop.load(Ordering::Relaxed) {
                n += workers;
                let base = &bases[n % bases.len()];
                if n % 3 == 0 {
                    let person = Arc::new(Person::new(&format!("load-{n}")));
                    let user = DEMO_USERS[n % DEMO_USERS.len()];
                    match person.log_in(base, user).await {
                        Ok(answer) => {
                            statuses.push(answer.status.as_u16());
                            if answer.status == StatusCode::OK {
                                let session = person.session().expect("a session cookie");
                                acknowledged.lock().unwrap().push((person, session));
                            }
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                    }
                } else {
                    match people[n % people.len()].me(base).await {
                        Ok(answer) => statuses.push(answer.status.as_u16()),
                        Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                    }
                }
            }
            statuses
        });
    }
    tasks
}

async fn statuses_of(tasks: tokio::task::JoinSet<Vec<u16>>) -> Vec<u16> {
    tasks.join_all().await.into_iter().flatten().collect()
}

/// Each person's session answers `/api/me` at `base` as themselves: `expected` is 200 or 401.
async fn assert_me(base: &str, people: &[(Arc<Person>, String)], expected: u16, what: &str) {
    for (person, session) in people {
        person.set_session(Some(session.clone()));
        let answer = person.me(base).await.unwrap();
        assert_eq!(
            answer.status.as_u16(),
            expected,
            "{what}: {}: {}",
            person.name,
            answer.body
        );
    }
}

#[tokio::test]
async fn sqlite_killed_under_load_comes_back_with_every_acknowledged_session_and_no_ended_one() {
    let provider = devprovider_for(None).await;
    let db = folder("crash-sqlite").join("sessions.db");
    let config = config(
        &provider.issuer(),
        &format!("sqlite://{}", db.display()),
        "",
    );
    let mut first = Portero::start("crash-sqlite-first", &config, &[]).await;
    let base = first.base.clone();

    let people = logged_in(&[&base], 60, 10).await;
    let (staying, leaving) = people.split_at(40);
    for person in leaving {
        let ended = person.session().unwrap();
        let out = person
            .call(&base, Method::POST, "/api/logout", None)
            .await
            .unwrap();
        assert_eq!(out.status, 200, "{}", out.body);
        person.set_session(Some(ended));
    }
    let ended: Vec<_> = leaving
        .iter()
        .map(|p| (p.clone(), p.session().unwrap()))
        .collect();
    let kept: Vec<_> = staying
        .iter()
        .map(|p| (p.clone(), p.session().unwrap()))
        .collect();

    let (stop, acknowledged) = (Arc::new(AtomicBool::new(false)), Acknowledged::default());
    let tasks = load(
        vec![base.clone()],
        staying.to_vec(),
        8,
        stop.clone(),
        acknowledged.clone(),
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    first.kill9().await;
    stop.store(true, Ordering::Relaxed);
    let statuses = statuses_of(tasks).await;
    let during = acknowledged.lock().unwrap().clone();
    assert!(!during.is_empty(), "logins were acknowledged under load");
    assert!(
        statuses.iter().all(|s| *s == 200),
        "every answer before the kill was a 200: {statuses:?}"
    );

    // The file as the kill left it: consistent, before any process opens it again.
    let integrity = integrity_check(&db).await;
    assert_eq!(integrity, "ok");

    let started = Instant::now();
    let second = Portero::start("crash-sqlite-second", &config, &[]).await;
    let ready = second
        .ready_within(Duration::from_secs(10))
        .await
        .expect("ready again");
    let restarted = started.elapsed();
    assert!(
        !second.log().contains("WARN"),
        "it opened without a warning: {}",
        second.log()
    );
    assert_me(&second.base, &kept, 200, "logged in before the kill").await;
    assert_me(&second.base, &during, 200, "acknowledged under load").await;
    assert_me(&second.base, &ended, 401, "logged out before the kill").await;
    println!(
        "SQLite kill -9: {} sessions acknowledged before and {} under load ({} answers), all \
         back; {} logged out, none back; restart to ready {restarted:?} (ready {ready:?} after \
         /healthz)",
        kept.len(),
        during.len(),
        statuses.len(),
        ended.len()
    );
}

/// `PRAGMA integrity_check` of the SQLite file at `db`, with a connection of the test's own.
async fn integrity_check(db: &std::path::Path) -> String {
    use sqlx::{sqlite::SqliteConnectOptions, Connection, Row};
    let options = SqliteConnectOptions::new().filename(db);
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    let row = sqlx::query("pragma integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let verdict: String = row.get(0);
    conn.close().await.unwrap();
    verdict
}

/// deploy/'s recommendation (docs/deploy.md, "Redis"): an append-only file, synced every second.
const RECOMMENDED: [&str; 4] = ["--appendonly", "yes", "--appendfsync", "everysec"];

#[tokio::test]
async fn redis_killed_under_two_replicas_is_a_503_outage_that_ends_within_5_s_losing_no_session() {
    let mut redis = RedisServer::start_with("crash", &RECOMMENDED).await;
    let provider = devprovider_for(None).await;
    let config = config(&provider.issuer(), &redis.url(), "");
    let a = Portero::start("crash-redis-a", &config, &[]).await;
    let b = Portero::start("crash-redis-b", &config, &[]).await;
    let bases = [a.base.as_str(), b.base.as_str()];
    let people = logged_in(&bases, 30, 10).await;
    let before: Vec<_> = people
        .iter()
        .map(|p| (p.clone(), p.session().unwrap()))
        .collect();

    let (stop, acknowledged) = (Arc::new(AtomicBool::new(false)), Acknowledged::default());
    let all = vec![a.base.clone(), b.base.clone()];
    let tasks = load(all, people.clone(), 8, stop.clone(), acknowledged.clone());
    tokio::time::sleep(Duration::from_millis(800)).await;
    redis.kill();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Meanwhile, on each replica: the store is unavailable, said as such.
    for base in bases {
        let answer = people[0].me(base).await.unwrap();
        assert_eq!(answer.status, 503, "{base}: {}", answer.body);
        assert_eq!(answer.code(), "store_unavailable");
    }
    redis.start_again().await;
    let back = Instant::now();
    let mut recovered = Vec::new();
    for base in bases {
        loop {
            let answer = people[1].me(base).await.unwrap();
            if answer.status == 200 {
                recovered.push(back.elapsed());
                break;
            }
            assert!(
                back.elapsed() < Duration::from_secs(5),
                "{base}: still {}",
                answer.status
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let statuses = statuses_of(tasks).await;
    assert!(
        statuses.iter().all(|s| [200, 503].contains(s)),
        "200, or 503 during the outage, never another error: {statuses:?}"
    );
    // Most calls of the load waited for Redis to come back rather than failing: the count is
    // for the record only.
    let outage_answers = statuses.iter().filter(|s| **s == 503).count();

    let during = acknowledged.lock().unwrap().clone();
    let mut kept_by_redis = Vec::new();
    let mut lost_by_redis = 0;
    for (person, session) in before.iter().chain(&during) {
        if stored_in(&redis, session).await {
            kept_by_redis.push((person.clone(), session.clone()));
        } else {
            lost_by_redis += 1;
        }
    }
    for base in bases {
        assert_me(base, &kept_by_redis, 200, "acknowledged, kept by Redis").await;
    }
    for portero in [&a, &b] {
        assert!(!portero.log().contains("panicked"), "{}", portero.log());
    }
    println!(
        "Redis kill -9 (appendonly yes, appendfsync everysec) under two replicas: {} sessions \
         acknowledged ({} under load), {} kept by Redis, {lost_by_redis} lost by it; {outage_answers} \
         of {} answers were 503 store_unavailable; each replica served again {recovered:?} after \
         Redis answered",
        before.len() + during.len(),
        during.len(),
        kept_by_redis.len(),
        statuses.len(),
    );
}

/// Whether Redis holds the record of the session whose cookie is `session`.
async fn stored_in(redis: &RedisServer, session: &str) -> bool {
    let id: tower_sessions::session::Id = session.parse().expect("a session id");
    let key = format!("portero:s:{}", portero::session::Key::of_session(&id).hex());
    let reply = redis
        .command(&["EXISTS", &key])
        .await
        .expect("redis answers");
    reply.starts_with(":1")
}
