//! Two `portero` processes on one real redis-server, as two replicas behind a load balancer.

use wiremock::{
    matchers::{method, path},
    Mock, MockServer, ResponseTemplate,
};

use crate::{redis_server::RedisServer, support::*};

/// A logout token is good once across replicas (Back-Channel Logout 1.0 §2.6 step 9): the
/// provider's own token, accepted by replica A, is refused when replayed to replica B, whose
/// memory never saw it; only the store they share did.
#[tokio::test]
async fn a_logout_token_accepted_by_one_replica_is_refused_when_replayed_to_the_other() {
    let redis = RedisServer::start("replicas-jti").await;
    // Where devprovider sends its logout tokens: the test keeps them.
    let catcher = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/backchannel-logout/dev"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&catcher)
        .await;
    let provider = devprovider_for(Some(&catcher.uri())).await;
    let config = config(&provider.issuer(), &redis.url(), "");
    let a = Portero::start("replica-a", &config, &[]).await;
    let b = Portero::start("replica-b", &config, &[]).await;
    let (ada, also_ada) = (Person::new("ada"), Person::new("ada-again"));
    assert_eq!(ada.log_in(&a.base, "ada").await.unwrap().status, 200);

    assert_eq!(provider.log_out("ada").await, 1);
    let sent = catcher.received_requests().await.unwrap();
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&sent[0].body)
        .into_owned()
        .collect();
    let token = &form.iter().find(|(k, _)| k == "logout_token").unwrap().1;
    let post = |base: &str| {
        let request = reqwest::Client::new()
            .post(format!("{base}/api/backchannel-logout/dev"))
            .form(&[("logout_token", token.as_str())]);
        async move { request.send().await.unwrap() }
    };
    assert_eq!(post(&a.base).await.status(), 200, "A takes it");
    assert_eq!(ada.me(&b.base).await.unwrap().status, 401, "on both");

    // Ada logs in again; the same token, replayed to B, ends nothing.
    assert_eq!(also_ada.log_in(&b.base, "ada").await.unwrap().status, 200);
    let replayed = post(&b.base).await;
    assert_eq!(replayed.status(), 400);
    let body: serde_json::Value = replayed.json().await.unwrap();
    assert_eq!(body["error"], "invalid_logout_token");
    assert!(body["message"].as_str().unwrap().contains("jti"), "{body}");
    assert_eq!(also_ada.me(&a.base).await.unwrap().status, 200);
}
