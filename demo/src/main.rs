//! The demo app behind Portero that `cargo xtask dev` runs (`[upstreams.demo]` in
//! config/dev.toml): `GET /demo/whoami` answers what it received from Portero's gateway — the
//! `X-Portero-*` headers, and whether `X-Portero-Assertion` verifies with Portero's published
//! keys — as `shared::AppSees`. The SPA's profile page shows it as "What your app sees".
//!
//! `demo_upstream BIND PORTERO_URL PUBLIC_ORIGIN`, for example
//! `demo_upstream 127.0.0.1:3903 http://127.0.0.1:3000 http://127.0.0.1:8080`.

use std::sync::Arc;

use axum::{extract::State, http::HeaderMap, routing::get, Json, Router};
use portero::assertion::AssertionVerifier;
use shared::AppSees;
use tokio::sync::RwLock;

/// Where the keys are, and the ones read last (read again when an assertion names another).
struct Keys {
    jwks_url: String,
    issuer: String,
    verifier: RwLock<Option<AssertionVerifier>>,
}

const AUDIENCE: &str = "demo";

impl Keys {
    async fn fetch(&self) -> Option<AssertionVerifier> {
        let jwks: serde_json::Value = reqwest::get(&self.jwks_url).await.ok()?.json().await.ok()?;
        let verifier = AssertionVerifier::from_jwks(&jwks, &self.issuer, AUDIENCE).ok()?;
        *self.verifier.write().await = Some(verifier.clone());
        Some(verifier)
    }

    /// Checked with the keys held; once more with fresh keys when that fails (a rotation, or
    /// Portero restarted with a key for the process only).
    async fn verify(&self, assertion: &str) -> bool {
        let held = self.verifier.read().await.clone();
        if held.is_some_and(|v| v.verify(assertion).is_ok()) {
            return true;
        }
        self.fetch()
            .await
            .is_some_and(|v| v.verify(assertion).is_ok())
    }
}

/// A header of Portero's, percent-decoded.
fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?;
    Some(
        percent_encoding::percent_decode_str(value)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

async fn whoami(State(keys): State<Arc<Keys>>, headers: HeaderMap) -> Json<AppSees> {
    let verified = match headers
        .get("x-portero-assertion")
        .and_then(|v| v.to_str().ok())
    {
        Some(assertion) => keys.verify(assertion).await,
        None => false,
    };
    let subject = match (
        header(&headers, "x-portero-provider"),
        header(&headers, "x-portero-subject"),
    ) {
        (Some(provider), Some(subject)) => format!("{provider}:{subject}"),
        _ => String::new(),
    };
    Json(AppSees {
        app: AUDIENCE.to_owned(),
        verified,
        subject,
        login: header(&headers, "x-portero-login"),
        email: header(&headers, "x-portero-email"),
        name: header(&headers, "x-portero-name"),
    })
}

fn keys(portero: &str, origin: &str) -> Keys {
    Keys {
        jwks_url: format!("{}/.well-known/jwks.json", portero.trim_end_matches('/')),
        issuer: origin.to_owned(),
        verifier: RwLock::new(None),
    }
}

fn app(portero: &str, origin: &str) -> Router {
    Router::new()
        .route("/demo/whoami", get(whoami))
        .with_state(Arc::new(keys(portero, origin)))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bind, portero, origin] = args.as_slice() else {
        anyhow::bail!("usage: demo_upstream BIND PORTERO_URL PUBLIC_ORIGIN");
    };
    let listener = tokio::net::TcpListener::bind(bind).await?;
    axum::serve(listener, app(portero, origin)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use portero::assertion::{AssertionClaims, Signer};

    /// A stand-in for Portero's `/.well-known/jwks.json`.
    async fn publish(signer: &Signer) -> String {
        let jwks = signer.jwks();
        let keys = Router::new().route(
            "/.well-known/jwks.json",
            get(move || async move { Json(jwks) }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, keys).await });
        base
    }

    fn claims(aud: &str) -> AssertionClaims {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        AssertionClaims {
            iss: "http://127.0.0.1:8080".into(),
            aud: aud.into(),
            sub: "dev:user-ada".into(),
            provider: "dev".into(),
            iat: now,
            exp: now + 60,
            login: Some("ada".into()),
            email: None,
            email_verified: None,
            name: Some("Ada Lovelace".into()),
        }
    }

    #[tokio::test]
    async fn it_reports_what_it_received_and_verifies_only_assertions_for_it() {
        let signer = Signer::new(&Signer::generate_key(), &[]).unwrap();
        let portero = publish(&signer).await;
        let keys = Arc::new(keys(&portero, "http://127.0.0.1:8080"));
        let mut headers = HeaderMap::new();
        headers.insert("x-portero-provider", HeaderValue::from_static("dev"));
        headers.insert("x-portero-subject", HeaderValue::from_static("user-ada"));
        headers.insert("x-portero-name", HeaderValue::from_static("Ada%20Lovelace"));
        let good = signer.sign(&claims(AUDIENCE));
        headers.insert("x-portero-assertion", good.parse().unwrap());
        let Json(seen) = whoami(State(keys.clone()), headers.clone()).await;
        assert!(seen.verified);
        assert_eq!(seen.subject, "dev:user-ada");
        assert_eq!(seen.name.as_deref(), Some("Ada Lovelace"));
        headers.insert(
            "x-portero-assertion",
            signer.sign(&claims("another-app")).parse().unwrap(),
        );
        assert!(
            !whoami(State(keys.clone()), headers.clone())
                .await
                .0
                .verified
        );
        headers.remove("x-portero-assertion");
        assert!(!whoami(State(keys), headers).await.0.verified);
    }
}
