//! What can go wrong when Portero talks to a provider, in the provider's terms. The HTTP status
//! each becomes is decided in `error.rs` (`From<ProviderError> for AppError`), not here.

/// A provider call that did not give what was asked. Every variant names the provider id; no
/// text carries a token, a code or a secret.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider answered with an OAuth error (RFC 6749 §5.2: `invalid_grant`,
    /// `bad_verification_code`, …): it understood and said no.
    #[error("{provider}: {message}")]
    Refused {
        /// The provider's id.
        provider: String,
        /// What it refused, and why when it said.
        message: String,
    },
    /// The callback's `iss` is not this provider's (RFC 9207, rule 3): a mix-up attack, or a
    /// misconfigured issuer.
    #[error("{message}")]
    IssuerMismatch {
        /// The provider's id.
        provider: String,
        /// Which issuer was expected and which came.
        message: String,
    },
    /// The access token is not (or no longer) accepted: 401 from the provider's API.
    #[error("{provider}: the access token was refused")]
    Unauthorized {
        /// The provider's id.
        provider: String,
    },
    /// The provider asks us to wait longer than is worth waiting.
    #[error("{provider} is rate limiting requests; try again in {retry_after_secs} s")]
    RateLimited {
        /// The provider's id.
        provider: String,
        /// How long the provider asks us to wait.
        retry_after_secs: u64,
    },
    /// Unreachable, too slow, too large, a redirect, an unexpected status or an unusable reply.
    /// `message` is shown to the browser and names no address (rule 15); `detail` is for the
    /// log, URLs and causes included.
    #[error("{provider}: {message}")]
    Failed {
        /// The provider's id.
        provider: String,
        /// What the browser reads.
        message: String,
        /// What the log reads.
        detail: String,
    },
}

impl ProviderError {
    /// A [`ProviderError::Failed`] whose log line says what the browser reads.
    pub fn failed(provider: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        ProviderError::Failed {
            provider: provider.to_owned(),
            detail: message.clone(),
            message,
        }
    }

    /// A failure whose log line says more than the browser may read.
    pub fn failed_at(provider: &str, message: impl Into<String>, detail: String) -> Self {
        ProviderError::Failed {
            provider: provider.to_owned(),
            message: message.into(),
            detail,
        }
    }

    /// The provider said no ([`ProviderError::Refused`]).
    pub fn refused(provider: &str, message: impl Into<String>) -> Self {
        ProviderError::Refused {
            provider: provider.to_owned(),
            message: message.into(),
        }
    }

    /// The id of the provider at fault.
    pub fn provider(&self) -> &str {
        match self {
            ProviderError::Refused { provider, .. }
            | ProviderError::IssuerMismatch { provider, .. }
            | ProviderError::Unauthorized { provider }
            | ProviderError::RateLimited { provider, .. }
            | ProviderError::Failed { provider, .. } => provider,
        }
    }
}
