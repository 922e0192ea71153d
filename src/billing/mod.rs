//! Step 7: delivering the billing disconnects that step 6 queued in the
//! outbox. Each delivery carries an idempotency key that stays the same for
//! that leaver's disconnect across every attempt, crash and rerun.

use jiff::Timestamp;
use serde::Serialize;

use crate::config::Config;
use crate::store::Store;

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

/// Delivers every undelivered disconnect of the given leavers. Not built
/// yet: everything stays queued, and the plans stay `in-progress`.
pub fn deliver_pending(
    _store: &mut dyn Store,
    _config: &Config,
    _leavers: &[i64],
    _now: Timestamp,
) -> Vec<Delivery> {
    Vec::new()
}
