//! The audit trail, read from a real `portero --log-json`'s log as a log shipper reads it: one
//! `portero::audit` event per login, refused login, logout, "everywhere", ended session,
//! back-channel logout (accepted or not), failed refresh and policy refusal, each naming the provider, the
//! person, the session's handle (never its cookie), the client's address and user agent, and
//! the outcome.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::support::*;

/// The audit events in `log`, in order.
fn events(log: &str) -> Vec<Value> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["target"] == "portero::audit")
        .collect()
}

/// The one event named `event` about `subject` (or, with `None`, about no one known).
fn the<'a>(events: &'a [Value], event: &str, subject: &str, outcome: &str) -> &'a Value {
    let found: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == event && e["subject"] == subject && e["outcome"] == outcome)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {event} of {subject:?} ({outcome}): {events:#?}"
    );
    found[0]
}

/// The handle `GET /api/sessions` shows for the caller's own session.
async fn own_handle(person: &Person, base: &str) -> String {
    let list = person
        .call(base, Method::GET, "/api/sessions", None)
        .await
        .unwrap();
    let own = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true);
    own.unwrap()["id"].as_str().unwrap().to_owned()
}

/// devprovider restarted on its address: it knows none of the tokens it issued before, so a
/// refresh is refused, as when the provider revoked the grant.
async fn restarted(
    provider: devprovider::DevProvider,
    config: devprovider::Config,
) -> devprovider::DevProvider {
    let addr = provider.addr();
    provider.shutdown().await;
    for _ in 0..100 {
        if let Ok(listener) = tokio::net::TcpListener::bind(addr).await {
            return devprovider::DevProvider::serve(config, listener)
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{addr} stayed taken");
}

#[tokio::test]
async fn each_login_logout_and_ended_session_is_one_audit_event_in_the_json_log() {
    let port = crate::free_port();
    let base = format!("http://127.0.0.1:{port}");
    // Tokens of a second: every call to the provider refreshes them first.
    let provider_config = devprovider::Config {
        clients: vec![dev_client(Some(&base))],
        access_token_ttl: Duration::from_secs(1),
        ..Default::default()
    };
    let provider = devprovider::DevProvider::start(provider_config.clone())
        .await
        .unwrap();
    let allow = "[providers.dev.allow]\n        emails = [\"ada@example.com\", \"grace@example.com\", \
                 \"margaret@example.com\"]\n        [policies.admins]\n        emails = [\"grace@example.com\"]";
    let config = config(&provider.issuer(), "memory", allow);
    let portero = Portero::start_on("audit", port, &config, &["--log-json"]).await;
    let (laptop, phone, tablet) = (
        Person::named("laptop", "Laptop/1.0"),
        Person::named("phone", "Phone/2.0"),
        Person::named("tablet", "Tablet/3.0"),
    );
    let (alan, grace, margaret) = (
        Person::new("alan"),
        Person::new("grace"),
        Person::new("margaret"),
    );
    let mut cookies = Vec::new();
    let mut log_in = async |person: &Person, user: &str, status: u16| {
        let answer = person.log_in(&base, user).await.unwrap();
        assert_eq!(answer.status, status, "{user}: {}", answer.body);
        cookies.extend(person.session());
    };

    // Ada on three devices; her laptop ends the phone's session, then all the others.
    log_in(&laptop, "ada", 200).await;
    log_in(&phone, "ada", 200).await;
    log_in(&tablet, "ada", 200).await;
    let phone_handle = own_handle(&phone, &base).await;
    let tablet_handle = own_handle(&tablet, &base).await;
    let laptop_handle = own_handle(&laptop, &base).await;
    let ended = laptop
        .call(
            &base,
            Method::DELETE,
            &format!("/api/sessions/{phone_handle}"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(ended.status, 204);
    let everywhere = serde_json::json!({ "everywhere": true });
    let out = laptop
        .call(&base, Method::POST, "/api/logout", Some(everywhere))
        .await
        .unwrap();
    assert_eq!(out.status, 200);
    // Alan is not on the list.
    log_in(&alan, "alan", 403).await;
    // Margaret logs out; Grace logs out at the provider, which tells Portero over the back
    // channel.
    log_in(&margaret, "margaret", 200).await;
    let margaret_handle = own_handle(&margaret, &base).await;
    // The admins' policy is Grace alone.
    let admins = margaret
        .call(&base, Method::GET, "/api/auth?policy=admins", None)
        .await
        .unwrap();
    assert_eq!(admins.status, 403);
    let out = margaret
        .call(&base, Method::POST, "/api/logout", None)
        .await
        .unwrap();
    assert_eq!(out.status, 200);
    log_in(&grace, "grace", 200).await;
    let grace_handle = own_handle(&grace, &base).await;
    assert_eq!(provider.log_out("grace").await, 1);
    let forged = reqwest::Client::new()
        .post(format!("{base}/api/backchannel-logout/dev"))
        .form(&[("logout_token", "not-a-jwt")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    // Ada again; the provider forgets its grants, so her next refresh is refused.
    log_in(&laptop, "ada", 200).await;
    let refreshed_handle = own_handle(&laptop, &base).await;
    let provider = restarted(provider, provider_config).await;
    let profile = laptop
        .call(&base, Method::GET, "/api/profile", None)
        .await
        .unwrap();
    assert_eq!(profile.code(), "session_expired", "{}", profile.body);

    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = portero.log();
    let events = events(&log);
    let ada = "user-ada";
    for (event, user_agent, session) in [
        (
            the(&events, "session_ended", ada, "ok"),
            "Laptop/1.0",
            &laptop_handle,
        ),
        (
            the(&events, "logout_everywhere", ada, "ok"),
            "Laptop/1.0",
            &laptop_handle,
        ),
        (
            the(&events, "logout", "user-margaret", "ok"),
            "process-tests/margaret",
            &margaret_handle,
        ),
        (
            the(&events, "refresh_failed", ada, "refused"),
            "Laptop/1.0",
            &refreshed_handle,
        ),
    ] {
        assert_eq!(event["provider"], "dev", "{event}");
        assert_eq!(event["session"], session.as_str(), "{event}");
        assert_eq!(event["client_address"], "127.0.0.1", "{event}");
        assert_eq!(event["user_agent"], user_agent, "{event}");
        assert_eq!(event["message"], "audit");
        assert_eq!(event["level"], "INFO");
    }
    assert_eq!(
        the(&events, "session_ended", ada, "ok")["ended"],
        phone_handle.as_str()
    );
    assert_eq!(
        the(&events, "logout_everywhere", ada, "ok")["sessions_ended"],
        1
    );
    let logins: Vec<&Value> = events.iter().filter(|e| e["event"] == "login").collect();
    let handles: Vec<&str> = logins
        .iter()
        .map(|e| e["session"].as_str().unwrap())
        .collect();
    for handle in [
        &laptop_handle,
        &phone_handle,
        &tablet_handle,
        &margaret_handle,
        &grace_handle,
    ] {
        assert!(
            handles.contains(&handle.as_str()),
            "{handle} in {handles:?}"
        );
    }
    assert_eq!(logins.len(), 6, "{logins:#?}");
    let policy = the(&events, "policy_refused", "user-margaret", "access_denied");
    assert_eq!(policy["policy"], "admins");
    assert_eq!(policy["rules"], "emails");
    assert_eq!(policy["session"], margaret_handle.as_str());
    let refused = the(&events, "login_refused", "user-alan", "access_denied");
    assert_eq!(refused["rules"], "emails");
    assert_eq!(refused["user_agent"], "process-tests/alan");
    let back = the(&events, "backchannel_logout", "user-grace", "ok");
    assert_eq!(back["sessions_ended"], 1);
    let forged = the(&events, "backchannel_logout", "", "invalid_logout_token");
    assert_eq!(forged["client_address"], "127.0.0.1");
    for cookie in &cookies {
        assert!(
            !log.contains(cookie.as_str()),
            "a session cookie in the log"
        );
    }
    let _ = provider;
}
