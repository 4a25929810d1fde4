//! The only way the backend talks to providers (docs/design.md, rule 9): redirects are never followed
//! (a provider cannot bounce us onto an internal address), every call has a timeout, and replies
//! larger than a limit are cut off instead of filling memory.

use std::{future::Future, pin::Pin, time::Duration};

use futures_util::StreamExt;
use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

/// No legitimate token, userinfo, discovery or JWKS reply comes near this.
pub const MAX_REPLY_BYTES: usize = 1024 * 1024;

/// Why a call failed. The `Display` text is for browsers and names no address (rule 15);
/// [`ProviderHttpError::detail`] is for the log.
#[derive(Debug, thiserror::Error)]
pub enum ProviderHttpError {
    #[error("did not answer within {0:?}")]
    Timeout(Duration),
    #[error("could not be reached")]
    Unreachable(String),
    #[error("sent a reply larger than {MAX_REPLY_BYTES} bytes")]
    TooLarge,
    #[error("answered with a redirect, which is not followed")]
    Redirect(String),
    /// The request could not be made (a DPoP proof that cannot be signed, a bad URL).
    #[error("could not be called ({0})")]
    Unsendable(String),
}

impl ProviderHttpError {
    /// The text and what lies behind it (the transport error, the redirect's target).
    pub fn detail(&self) -> String {
        match self {
            ProviderHttpError::Unreachable(cause) => format!("{self} ({cause})"),
            ProviderHttpError::Redirect(to) => format!("{self} (to {to:?})"),
            _ => self.to_string(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ProviderHttp {
    client: reqwest::Client,
    timeout: Duration,
}

impl ProviderHttp {
    pub fn new(timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("Portero/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(ProviderHttp { client, timeout })
    }

    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, ProviderHttpError> {
        let (parts, body) = request.into_parts();
        let request = self
            .client
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body);
        let response = request.send().await.map_err(|e| self.classify(e))?;
        let status = response.status();
        if status.is_redirection() {
            let to = response
                .headers()
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .chars()
                .take(200)
                .collect();
            return Err(ProviderHttpError::Redirect(to));
        }
        if response
            .content_length()
            .is_some_and(|len| len > MAX_REPLY_BYTES as u64)
        {
            return Err(ProviderHttpError::TooLarge);
        }
        let headers = response.headers().clone();
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.classify(e))?;
            if body.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(ProviderHttpError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let mut reply = http::Response::builder()
            .status(status)
            .body(body)
            .expect("a status taken from a response is valid");
        *reply.headers_mut() = headers;
        Ok(reply)
    }

    fn classify(&self, e: reqwest::Error) -> ProviderHttpError {
        if e.is_timeout() {
            ProviderHttpError::Timeout(self.timeout)
        } else {
            // reqwest's message includes the URL, never a body or a header value.
            ProviderHttpError::Unreachable(describe_with_causes(&e))
        }
    }
}

fn describe_with_causes(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

impl<'c> AsyncHttpClient<'c> for ProviderHttp {
    type Error = ProviderHttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}
