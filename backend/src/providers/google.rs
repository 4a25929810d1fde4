//! Google (`kind = "google"`): a standard OpenID Connect provider at
//! `https://accounts.google.com` ("OpenID Connect", developers.google.com/identity). Its
//! discovery declares `authorization_response_iss_parameter_supported`, which the OpenID Connect
//! flow already honours; nothing else differs.

use super::{oidc::Oidc, KindDefaults};

pub static GOOGLE: Oidc = Oidc {
    defaults: KindDefaults {
        name: Some("Google"),
        issuer: Some("https://accounts.google.com"),
        ..KindDefaults::NONE
    },
};
