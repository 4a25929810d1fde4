//! Rule 6 for OpenID Connect: the id_token of a login verified (signature from the JWKS with a
//! public-key algorithm, `iss`, `aud`, `exp`, `nonce` by openidconnect; `azp` and `at_hash`
//! here), a refreshed one too and about the same person, and the person read from its claims.

use openidconnect::{
    core::{CoreIdToken, CoreIdTokenClaims},
    AccessToken, AccessTokenHash, ClientId, Nonce,
};
use shared::User;

use super::{
    discovery::{Client, Discovered},
    jwk::Verifier,
    OidcFlow, PUBLIC_KEY_ALGORITHMS,
};
use crate::providers::ProviderError;

/// The id_token verifier, for public-key signatures only (rule 6: "signature from JWKS"). A
/// provider whose discovery lists an HMAC algorithm would otherwise have its id_tokens checked
/// with the client secret, which anyone who learnt it could then forge.
fn id_token_verifier(client: &Client) -> Verifier<'_> {
    client
        .id_token_verifier()
        .set_allowed_algs(PUBLIC_KEY_ALGORITHMS)
}

/// The person from verified id_token claims.
pub(super) fn user_from_claims(provider: &str, claims: &CoreIdTokenClaims) -> User {
    User {
        provider: provider.to_owned(),
        subject: claims.subject().to_string(),
        login: claims.preferred_username().map(|u| u.to_string()),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string()),
        email: claims.email().map(|e| e.to_string()),
        avatar_url: claims
            .picture()
            .and_then(|p| p.get(None))
            .map(|p| p.to_string()),
    }
}

impl OidcFlow {
    /// The claims of the id_token that came with `access_token` at the end of a login: verified
    /// against the discovered keys, for this client and `nonce`.
    pub(super) fn verify_id_token<'t>(
        &self,
        d: &Discovered,
        id_token: &'t CoreIdToken,
        access_token: &AccessToken,
        nonce: Option<Nonce>,
    ) -> Result<&'t CoreIdTokenClaims, ProviderError> {
        let verifier = id_token_verifier(&d.client);
        let nonce = nonce.unwrap_or_else(|| Nonce::new(String::new()));
        let claims = id_token
            .claims(&verifier, &nonce)
            .map_err(|e| self.fail(format!("the id_token failed verification: {e}")))?;
        self.check_authorized_party(claims.authorized_party())?;
        // OpenID Connect Core §3.1.3.8: when the id_token carries `at_hash`, it must match.
        if let Some(expected) = claims.access_token_hash() {
            let cannot = |e: &dyn std::fmt::Display| {
                self.fail(format!("the id_token's at_hash cannot be checked: {e}"))
            };
            let alg = id_token.signing_alg().map_err(|e| cannot(&e))?;
            let key = id_token.signing_key(&verifier).map_err(|e| cannot(&e))?;
            let actual =
                AccessTokenHash::from_token(access_token, alg, key).map_err(|e| cannot(&e))?;
            if &actual != expected {
                return Err(self.fail("the id_token does not belong to the access token (at_hash)"));
            }
        }
        Ok(claims)
    }

    /// A refreshed id_token (OIDC Core §12.2): verified as the first was but for the nonce, and
    /// about the session's person, `subject`.
    pub(super) fn verify_refreshed_id_token(
        &self,
        d: &Discovered,
        id_token: &CoreIdToken,
        subject: &str,
    ) -> Result<(), ProviderError> {
        let claims = id_token
            .claims(&id_token_verifier(&d.client), |_: Option<&Nonce>| Ok(()))
            .map_err(|e| self.fail(format!("the refreshed id_token failed verification: {e}")))?;
        self.check_authorized_party(claims.authorized_party())?;
        // OIDC Core §12.2: the same person, or the session is not theirs any more.
        if claims.subject().as_str() != subject {
            return Err(ProviderError::refused(
                &self.id,
                "the refreshed id_token is about another person",
            ));
        }
        Ok(())
    }

    /// OIDC Core §3.1.3.7 step 5: an `azp` there must be this client (openidconnect leaves
    /// this check to its users).
    fn check_authorized_party(&self, azp: Option<&ClientId>) -> Result<(), ProviderError> {
        match azp {
            Some(azp) if azp.as_str() != self.client_id => {
                Err(self.fail("the id_token was issued to another client (azp)"))
            }
            _ => Ok(()),
        }
    }
}
