//! GitLab (`kind = "gitlab"`): a standard OpenID Connect provider ("GitLab as an OpenID Connect
//! identity provider", docs.gitlab.com) at `https://gitlab.com`, or at a self-managed host given
//! as `issuer`; nothing differs from the standard.

use super::{oidc::Oidc, KindDefaults};

pub static GITLAB: Oidc = Oidc {
    defaults: KindDefaults {
        name: Some("GitLab"),
        issuer: Some("https://gitlab.com"),
        ..KindDefaults::NONE
    },
};
