//! Google (`kind = "google"`): an OpenID Connect provider at `https://accounts.google.com`
//! ("OpenID Connect", developers.google.com/identity). Its discovery document names endpoints on
//! other hosts than the issuer's (`oauth2.googleapis.com`, `openidconnect.googleapis.com`,
//! `www.googleapis.com`), which rule 15 refuses from discovery alone: they are Google's own, so
//! they are its defaults here, as its discovery document publishes them. Its discovery also
//! declares `authorization_response_iss_parameter_supported`, which the OpenID Connect flow
//! honours.

use super::{oidc::Oidc, KindDefaults};

pub static GOOGLE: Oidc = Oidc {
    defaults: KindDefaults {
        name: Some("Google"),
        issuer: Some("https://accounts.google.com"),
        token_url: Some("https://oauth2.googleapis.com/token"),
        userinfo_url: Some("https://openidconnect.googleapis.com/v1/userinfo"),
        revocation_url: Some("https://oauth2.googleapis.com/revoke"),
        jwks_url: Some("https://www.googleapis.com/oauth2/v3/certs"),
        ..KindDefaults::NONE
    },
};
