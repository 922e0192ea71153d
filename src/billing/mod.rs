//! Step 7: delivering the billing disconnects that step 6 queued in the
//! outbox. Each delivery carries an idempotency key that stays the same for
//! that leaver's disconnect across every attempt, crash and rerun.
//!
//! The HTTP calls run concurrently on a small tokio runtime, bounded per
//! billing system; the store stays on the calling thread, which records
//! every failed attempt and every outcome, each in its own transaction, as
//! the results arrive.

mod endpoint;
mod request;
mod retry;

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use reqwest::Client;
use serde::Serialize;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

pub use endpoint::{Endpoint, Token};
pub use request::IDEMPOTENCY_KEY;
pub use retry::{BASE_ENV, Backoff, RETRY_AFTER_CAP, Verdict};

use crate::config::Config;
use crate::store::{OutboxEntry, Store};

/// How one queued disconnect ended in this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub user_id: i64,
    pub system: String,
    /// `delivered`, `failed` (not retried in this run) or `pending`.
    pub outcome: &'static str,
    /// A warning worth showing (a 404: the billing system did not know the number).
    pub warning: Option<String>,
    /// Why it is not delivered, without secrets.
    pub error: Option<String>,
}

impl Delivery {
    fn new(entry: &OutboxEntry, outcome: &'static str) -> Delivery {
        Delivery {
            user_id: entry.user_id,
            system: entry.system.clone(),
            outcome,
            warning: None,
            error: None,
        }
    }

    fn pending(entry: &OutboxEntry, error: String) -> Delivery {
        Delivery {
            error: Some(error),
            ..Delivery::new(entry, "pending")
        }
    }
}

/// Delivers every undelivered disconnect of the given leavers and records
/// each outcome. What is still pending afterwards waits for the next apply.
pub fn deliver_pending(
    store: &mut dyn Store,
    config: &Config,
    leavers: &[i64],
    now: Timestamp,
) -> Vec<Delivery> {
    let entries = match store.outbox(true) {
        Ok(entries) => entries,
        Err(err) => {
            tracing::error!(error = %err, "could not read the outbox");
            return Vec::new();
        }
    };
    let entries: Vec<OutboxEntry> = entries
        .into_iter()
        .filter(|entry| leavers.contains(&entry.user_id))
        .collect();
    if entries.is_empty() {
        return Vec::new();
    }
    // The HTTP calls run on two worker threads while this thread records
    // each outcome in the store: a commit never holds up a call in flight.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => deliver_all(&runtime, store, config, entries, now),
        Err(err) => {
            let cause = format!("could not start the delivery runtime: {err}");
            entries
                .iter()
                .map(|e| Delivery::pending(e, cause.clone()))
                .collect()
        }
    }
}

/// What a delivery task reports to the recording loop.
enum Event {
    /// One attempt failed; the outbox row counts it.
    Attempt { id: i64, cause: String },
    /// The delivery ended in this run.
    Ended {
        entry: Box<OutboxEntry>,
        ending: Ending,
    },
}

/// How a delivery task ended.
enum Ending {
    Delivered,
    Unknown,
    Refused(String),
    GaveUp(String),
}

/// Starts every delivery on `runtime`, then records what they report until
/// all end. The recording loop runs on this thread outside the runtime: a
/// store may drive a runtime of its own (PostgreSQL's does), which cannot
/// be entered from within another.
fn deliver_all(
    runtime: &tokio::runtime::Runtime,
    store: &mut dyn Store,
    config: &Config,
    entries: Vec<OutboxEntry>,
    now: Timestamp,
) -> Vec<Delivery> {
    let (events, mut received) = unbounded_channel();
    let mut deliveries = {
        let _inside = runtime.enter();
        let client = match request::client() {
            Ok(client) => client,
            Err(cause) => {
                let pending = |entry: &OutboxEntry| Delivery::pending(entry, cause.clone());
                return entries.iter().map(pending).collect();
            }
        };
        spawn_all(client, config, entries, &events)
    };
    drop(events);
    while let Some(event) = received.blocking_recv() {
        deliveries.extend(record(store, event, now));
    }
    deliveries
}

/// Spawns a task per delivery whose system has an endpoint; those without
/// one come back pending, with why.
fn spawn_all(
    client: Client,
    config: &Config,
    entries: Vec<OutboxEntry>,
    events: &UnboundedSender<Event>,
) -> Vec<Delivery> {
    let endpoints = resolve(config, &entries);
    let backoff = Backoff::from_env();
    let mut unsent = Vec::new();
    for entry in entries {
        match &endpoints[&entry.system] {
            Ok(endpoint) => {
                let (client, endpoint, events) = (client.clone(), endpoint.clone(), events.clone());
                tokio::spawn(deliver_one(client, endpoint, entry, backoff, events));
            }
            Err(cause) => {
                tracing::error!(system = %entry.system, "could not deliver: {cause}");
                unsent.push(Delivery::pending(&entry, cause.clone()));
            }
        }
    }
    unsent
}

/// The endpoint of each system the entries need, or why there is none.
fn resolve(
    config: &Config,
    entries: &[OutboxEntry],
) -> BTreeMap<String, Result<Arc<Endpoint>, String>> {
    let mut endpoints = BTreeMap::new();
    for entry in entries {
        let system = entry.system.as_str();
        if endpoints.contains_key(system) {
            continue;
        }
        let endpoint = match config.billing.get(system) {
            Some(settings) => Endpoint::resolve(system, settings).map(Arc::new),
            None => Err(format!(
                "no endpoint is configured for billing system `{system}`"
            )),
        };
        endpoints.insert(system.to_string(), endpoint);
    }
    endpoints
}

/// Attempts one delivery until it ends or runs out of attempts, holding
/// one of its system's slots throughout.
async fn deliver_one(
    client: Client,
    endpoint: Arc<Endpoint>,
    entry: OutboxEntry,
    backoff: Backoff,
    events: UnboundedSender<Event>,
) {
    let _slot = endpoint.slots.clone().acquire_owned().await;
    let mut failed = 0;
    let ending = loop {
        let verdict = request::send(&client, &endpoint, &entry).await;
        let (cause, after) = match verdict {
            Verdict::Delivered => break Ending::Delivered,
            Verdict::Unknown => break Ending::Unknown,
            Verdict::Refused { cause } => {
                let _ = events.send(Event::Attempt {
                    id: entry.id,
                    cause: cause.clone(),
                });
                break Ending::Refused(cause);
            }
            Verdict::Retry { cause, after } => (cause, after),
        };
        failed += 1;
        let _ = events.send(Event::Attempt {
            id: entry.id,
            cause: cause.clone(),
        });
        if failed >= endpoint.attempts {
            break Ending::GaveUp(cause);
        }
        let delay = after.unwrap_or_else(|| backoff.delay(failed));
        tracing::debug!(
            system = %endpoint.system,
            attempt = failed,
            cause = %cause,
            delay_ms = delay.as_millis() as u64,
            "billing disconnect will be retried"
        );
        tokio::time::sleep(delay).await;
    };
    let entry = Box::new(entry);
    let _ = events.send(Event::Ended { entry, ending });
}

/// Writes one event to the store; an ended delivery comes back as its
/// [`Delivery`].
fn record(store: &mut dyn Store, event: Event, now: Timestamp) -> Option<Delivery> {
    match event {
        Event::Attempt { id, cause } => {
            let written = store.write(&mut |writer| writer.record_attempt(id, &cause));
            if let Err(err) = written {
                tracing::error!(error = %err, "could not record a delivery attempt");
            }
            None
        }
        Event::Ended { entry, ending } => Some(conclude(store, &entry, ending, now)),
    }
}

/// Records the end of a delivery and says how it ended.
fn conclude(
    store: &mut dyn Store,
    entry: &OutboxEntry,
    ending: Ending,
    now: Timestamp,
) -> Delivery {
    let (system, number) = (entry.system.as_str(), entry.billing_number.as_str());
    match ending {
        Ending::Delivered => delivered(store, entry, now, None),
        Ending::Unknown => {
            let warning = format!(
                "billing system `{system}` does not know billing number `{number}` (404); \
                 taken as disconnected"
            );
            delivered(store, entry, now, Some(warning))
        }
        Ending::Refused(cause) => {
            tracing::warn!(
                system,
                billing_number = number,
                %cause,
                "billing disconnect refused; not retried in this run"
            );
            Delivery {
                error: Some(format!("refused: {cause}")),
                ..Delivery::new(entry, "failed")
            }
        }
        Ending::GaveUp(cause) => {
            tracing::warn!(
                system,
                billing_number = number,
                %cause,
                "billing disconnect undelivered after every attempt of this run"
            );
            Delivery::pending(entry, format!("undelivered: {cause}"))
        }
    }
}

/// Records a delivered disconnect; pending again if that fails (the next
/// apply sends the same key, which the billing system recognises).
fn delivered(
    store: &mut dyn Store,
    entry: &OutboxEntry,
    now: Timestamp,
    warning: Option<String>,
) -> Delivery {
    let (system, number) = (entry.system.as_str(), entry.billing_number.as_str());
    match mark_delivered(store, entry, now) {
        Ok(()) => {
            tracing::info!(
                system,
                billing_number = number,
                "billing disconnect delivered"
            );
            Delivery {
                warning,
                ..Delivery::new(entry, "delivered")
            }
        }
        Err(err) => {
            let cause = format!("could not record the delivery: {err}");
            tracing::error!(system, "{cause}");
            Delivery::pending(entry, cause)
        }
    }
}

/// The link disconnected and the outbox row delivered, in one transaction.
fn mark_delivered(
    store: &mut dyn Store,
    entry: &OutboxEntry,
    now: Timestamp,
) -> Result<(), crate::store::StoreError> {
    store.write(&mut |writer| {
        writer.disconnect_billing(entry.user_id, &entry.system)?;
        writer.mark_delivered(entry.id, now)
    })
}
