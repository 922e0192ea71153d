//! A billing system ready to be called: its base URL, its bearer token read
//! from the environment at delivery time, and its limits. The token lives in
//! a [`Token`] whose `Debug` hides it, so no log or error can print it.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use tokio::sync::Semaphore;

use crate::config::BillingEndpoint;

/// A bearer token. Shown as `***` by `Debug`; read only to build a header.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// One billing system's endpoint, resolved for this run.
#[derive(Debug)]
pub struct Endpoint {
    pub system: String,
    pub url: Url,
    pub token: Token,
    pub timeout: Duration,
    pub attempts: u32,
    /// Bounds the deliveries to this system at once.
    pub slots: Arc<Semaphore>,
}

impl Endpoint {
    /// Resolves the configured endpoint of `system`; the message names the
    /// missing variable or the bad key, never a token.
    pub fn resolve(system: &str, config: &BillingEndpoint) -> Result<Endpoint, String> {
        let url = config
            .base_url()
            .map_err(|message| format!("`billing.{system}.url`: {message}"))?;
        let token = config
            .token()
            .map_err(|message| format!("`billing.{system}.token_env`: {message}"))?;
        Ok(Endpoint {
            system: system.to_string(),
            url,
            token: Token(token),
            timeout: config.timeout(),
            attempts: config.attempts(),
            slots: Arc::new(Semaphore::new(config.concurrency())),
        })
    }

    /// `{url}/providers/{billing_number}/disconnect`, the number as one
    /// escaped path segment.
    pub fn disconnect_url(&self, billing_number: &str) -> Url {
        let mut url = self.url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .extend(["providers", billing_number, "disconnect"]);
        }
        url
    }
}

#[cfg(test)]
mod tests {
    use super::Token;

    #[test]
    fn a_token_never_shows_in_debug() {
        let token = Token("s3cret".into());
        assert_eq!(format!("{token:?}"), "***");
    }
}
