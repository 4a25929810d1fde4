//! The identity an app behind Portero receives (docs/design.md, "Your app behind Portero"): the
//! `X-Portero-*` headers and the signed `X-Portero-Assertion`, for the gateway and for
//! `GET /api/auth` alike.

use std::borrow::Cow;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use shared::User;

use crate::assertion::{AssertionClaims, Signer};

pub const PROVIDER: HeaderName = HeaderName::from_static("x-portero-provider");
pub const SUBJECT: HeaderName = HeaderName::from_static("x-portero-subject");
pub const LOGIN: HeaderName = HeaderName::from_static("x-portero-login");
pub const EMAIL: HeaderName = HeaderName::from_static("x-portero-email");
pub const NAME: HeaderName = HeaderName::from_static("x-portero-name");
pub const ASSERTION: HeaderName = HeaderName::from_static("x-portero-assertion");

/// Every header of the identity, for those who copy them on (nginx's `auth_request_set`).
pub const IDENTITY_HEADERS: [HeaderName; 6] = [PROVIDER, SUBJECT, LOGIN, EMAIL, NAME, ASSERTION];

/// Percent-encoded except what reads the same in any header parser: letters, digits and
/// `-._~@` (so an email stays legible). `%` itself is encoded, so decoding is unambiguous.
const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

fn encoded(text: &str) -> HeaderValue {
    // Text that needs no escape is copied once, escaped text not again.
    match Cow::from(utf8_percent_encode(text, VALUE)) {
        Cow::Borrowed(text) => HeaderValue::from_str(text),
        Cow::Owned(text) => HeaderValue::try_from(text),
    }
    .expect("percent-encoded text is a valid header value")
}

/// The headers that say who `user` is to the app `audience`, the assertion signed by `signer`
/// for `ttl` (`iss` = `issuer`). A missing fact means no header, not an empty one. The address
/// is `verified_email` ([`crate::CurrentUser::verified_email`]), never `user.email` (rule 21).
pub fn identity_headers(
    user: &User,
    verified_email: Option<&str>,
    signer: &Signer,
    issuer: &str,
    audience: &str,
    ttl: std::time::Duration,
) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(IDENTITY_HEADERS.len());
    headers.insert(PROVIDER, encoded(&user.provider));
    headers.insert(SUBJECT, encoded(&user.subject));
    for (name, value) in [
        (LOGIN, user.login.as_deref()),
        (EMAIL, verified_email),
        (NAME, user.name.as_deref()),
    ] {
        if let Some(value) = value {
            headers.insert(name, encoded(value));
        }
    }
    let now = crate::session::now();
    let claims = AssertionClaims {
        iss: issuer.to_owned(),
        aud: audience.to_owned(),
        sub: format!("{}:{}", user.provider, user.subject),
        provider: user.provider.clone(),
        iat: now,
        exp: now + i64::try_from(ttl.as_secs()).unwrap_or(60),
        login: user.login.clone(),
        email: verified_email.map(str::to_owned),
        email_verified: verified_email.map(|_| true),
        name: user.name.clone(),
    };
    headers.insert(
        ASSERTION,
        HeaderValue::try_from(signer.sign(&claims)).expect("a JWT is a valid header value"),
    );
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_percent_encoded_utf8_and_missing_facts_have_no_header() {
        let user = User {
            provider: "intra42".into(),
            subject: "42".into(),
            login: Some("jdoe".into()),
            name: Some("Jöhn Dœ, 100%\r\nX-Evil: 1".into()),
            email: None,
            avatar_url: None,
        };
        let signer = Signer::ephemeral();
        let headers = identity_headers(
            &user,
            None,
            &signer,
            "https://a.example",
            "notes",
            std::time::Duration::from_secs(60),
        );
        assert_eq!(
            headers[&NAME],
            "J%C3%B6hn%20D%C5%93%2C%20100%25%0D%0AX-Evil%3A%201"
        );
        assert_eq!(headers[&LOGIN], "jdoe");
        assert!(!headers.contains_key(&EMAIL));
        assert!(headers.contains_key(&ASSERTION));
    }

    /// Rule 21: only the verified address is told, with `email_verified: true` beside it in the
    /// assertion; the address of `User` itself (verified or not) is never read.
    #[test]
    fn only_a_verified_address_is_told_and_the_assertion_says_it_is_verified() {
        let user = User {
            provider: "corp".into(),
            subject: "7".into(),
            login: None,
            name: None,
            email: Some("claimed@victim.example".into()),
            avatar_url: None,
        };
        let signer = Signer::ephemeral();
        let verifier = crate::assertion::AssertionVerifier::from_jwks(
            &signer.jwks(),
            "https://a.example",
            "notes",
        )
        .unwrap();
        let ttl = std::time::Duration::from_secs(60);
        let told =
            |email| identity_headers(&user, email, &signer, "https://a.example", "notes", ttl);
        let claims = |headers: &HeaderMap| {
            verifier
                .verify(headers[&ASSERTION].to_str().unwrap())
                .unwrap()
        };
        let unverified = told(None);
        assert!(!unverified.contains_key(&EMAIL));
        let payload = claims(&unverified);
        assert_eq!((payload.email, payload.email_verified), (None, None));
        let verified = told(Some("ada@example.com"));
        assert_eq!(verified[&EMAIL], "ada@example.com");
        let payload = claims(&verified);
        assert_eq!(payload.email.as_deref(), Some("ada@example.com"));
        assert_eq!(payload.email_verified, Some(true));
    }
}
