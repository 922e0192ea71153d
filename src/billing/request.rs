//! One disconnect call (DESIGN §5): `POST {url}/providers/{number}/disconnect`
//! with the bearer token, the delivery's idempotency key and a JSON body,
//! turned into a [`Verdict`]. Nothing of the answer's body is kept.

use jiff::Timestamp;
use reqwest::Client;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use serde_json::json;

use super::endpoint::Endpoint;
use super::retry::{Verdict, classify, classify_error};
use crate::store::OutboxEntry;

/// The header that lets the billing system recognise a repeated call.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// The HTTP client shared by every delivery of a run. TLS is rustls with
/// the `ring` provider, installed here once per process.
pub fn client() -> Result<Client, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .user_agent(concat!("handover/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| format!("could not build the HTTP client: {err}"))
}

/// Sends one attempt of a queued disconnect and judges the answer.
pub async fn send(client: &Client, endpoint: &Endpoint, entry: &OutboxEntry) -> Verdict {
    let body = json!({
        "billing_number": entry.billing_number,
        "reason": entry.reason,
        "effective_at": entry.effective_at.to_string(),
    });
    let sent = client
        .post(endpoint.disconnect_url(&entry.billing_number))
        .bearer_auth(endpoint.token.expose())
        .header(IDEMPOTENCY_KEY, &entry.idempotency_key)
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .timeout(endpoint.timeout)
        .send()
        .await;
    match sent {
        Ok(response) => {
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .map(str::to_string);
            let verdict = classify(response.status(), retry_after.as_deref(), Timestamp::now());
            // Read the rest so the connection can serve the next call.
            let _ = response.bytes().await;
            verdict
        }
        Err(err) => classify_error(&err),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_client_builds_with_rustls_and_takes_https_urls() {
        let client = super::client().unwrap();
        let request = client.post("https://billing.example.org/api").build();
        assert_eq!(request.unwrap().url().scheme(), "https");
    }
}
