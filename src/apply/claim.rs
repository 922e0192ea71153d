//! Claims of `apply --workers`: whether a plan is a worker's to handle
//! (unclaimed, an earlier apply's, or a dead worker's whose lease ended),
//! and the fence that keeps a plan's changes to the worker holding it.

use std::time::Duration;

use jiff::Timestamp;

use crate::store::{Claim, Found, PlanKey, Store, StoreError, Worker, Writer};

/// What a worker found when it tried to claim a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The plan is this worker's now; `from` names the worker whose lease
    /// ended, when it was taken over.
    Claimed { from: Option<Worker> },
    /// Another worker holds it (`None` while that worker is inside a step).
    Held(Option<Worker>),
    /// Another worker handled it in this round and let it go.
    Handled(Claim),
}

/// What to do about the claim found on a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Decision {
    Insert,
    Take { from: Option<Worker> },
    Leave(Attempt),
}

/// Decides on the claim found on a plan. `round` is when this worker
/// started, by the database's clock: a claim let go since then was handled
/// in this round; one let go earlier belongs to an earlier apply, and the
/// plan may be handled again (its review says whether anything is left).
fn decide(found: &Found, me: &Worker, round: Timestamp) -> Decision {
    let claim = match found {
        Found::Unclaimed => return Decision::Insert,
        Found::Busy => return Decision::Leave(Attempt::Held(None)),
        Found::Claim(claim) => claim,
    };
    match claim.released_at {
        None if claim.worker.id == me.id => Decision::Take { from: None },
        None if claim.expired => Decision::Take {
            from: Some(claim.worker.clone()),
        },
        None => Decision::Leave(Attempt::Held(Some(claim.worker.clone()))),
        Some(released) if released >= round => Decision::Leave(Attempt::Handled(claim.clone())),
        Some(_) => Decision::Take { from: None },
    }
}

/// Tries to claim a plan for `me`, in one transaction.
pub fn claim(
    store: &mut dyn Store,
    plan: &PlanKey,
    me: &Worker,
    lease: Duration,
    round: Timestamp,
) -> Result<Attempt, StoreError> {
    let mut attempt = Attempt::Held(None);
    store.write(&mut |writer| {
        attempt = claim_in(writer, plan, me, lease, round)?;
        Ok(())
    })?;
    Ok(attempt)
}

fn claim_in(
    writer: &mut dyn Writer,
    plan: &PlanKey,
    me: &Worker,
    lease: Duration,
    round: Timestamp,
) -> anyhow::Result<Attempt> {
    let found = writer.claim(plan)?;
    match decide(&found, me, round) {
        Decision::Insert if writer.insert_claim(plan, me, lease)? => {
            Ok(Attempt::Claimed { from: None })
        }
        Decision::Insert => Ok(Attempt::Held(None)),
        Decision::Take { from } => {
            writer.replace_claim(plan, me, lease, from.is_some())?;
            Ok(Attempt::Claimed { from })
        }
        Decision::Leave(attempt) => Ok(attempt),
    }
}

/// A worker's hold on the plan it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub plan: PlanKey,
    pub worker: Worker,
    pub lease: Duration,
}

/// The plan passed to another worker: this worker's lease had ended.
#[derive(Debug, thiserror::Error)]
#[error(
    "the claim on `{user}`'s plan passed to another worker after this worker's lease ended; \
     give `--lease-secs` more than the longest step takes"
)]
pub struct LostClaim {
    pub user: String,
}

impl Fence {
    /// Renews the lease inside the caller's transaction, so that the
    /// transaction commits only while the plan is still this worker's, and
    /// fails it otherwise. Without a fence (a sole runner) it does nothing.
    pub fn hold(fence: Option<&Fence>, writer: &mut dyn Writer) -> anyhow::Result<()> {
        let Some(fence) = fence else {
            return Ok(());
        };
        if writer.renew_claim(&fence.plan, &fence.worker, fence.lease)? {
            return Ok(());
        }
        Err(LostClaim {
            user: fence.plan.user.clone(),
        }
        .into())
    }

    /// Lets the plan go with its outcome; false when it was no longer ours.
    pub fn release(&self, store: &mut dyn Store, outcome: &str) -> Result<bool, StoreError> {
        let mut released = false;
        store.write(&mut |writer| {
            released = writer.release_claim(&self.plan, &self.worker, outcome)?;
            Ok(())
        })?;
        Ok(released)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(id: &str) -> Worker {
        Worker {
            id: id.into(),
            host: "h".into(),
            pid: 1,
        }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn claim_by(id: &str, released_at: Option<&str>, expired: bool) -> Claim {
        Claim {
            plan: PlanKey {
                user: "jsmith".into(),
                fingerprint: "f".into(),
            },
            worker: worker(id),
            claimed_at: at("2026-12-01T09:00:00Z"),
            lease_until: at("2026-12-01T09:01:00Z"),
            released_at: released_at.map(at),
            outcome: released_at.map(|_| "done".into()),
            takeovers: 0,
            expired,
        }
    }

    const ROUND: &str = "2026-12-01T09:00:30Z";

    #[test]
    fn an_unclaimed_plan_is_inserted() {
        let none = Found::Unclaimed;
        assert_eq!(decide(&none, &worker("me"), at(ROUND)), Decision::Insert);
        assert_eq!(
            decide(&Found::Busy, &worker("me"), at(ROUND)),
            Decision::Leave(Attempt::Held(None))
        );
    }

    #[test]
    fn a_live_lease_of_another_worker_is_left_alone() {
        let held = Found::Claim(claim_by("other", None, false));
        assert_eq!(
            decide(&held, &worker("me"), at(ROUND)),
            Decision::Leave(Attempt::Held(Some(worker("other"))))
        );
    }

    #[test]
    fn an_ended_lease_is_taken_over_naming_the_dead_worker() {
        let dead = Found::Claim(claim_by("other", None, true));
        assert_eq!(
            decide(&dead, &worker("me"), at(ROUND)),
            Decision::Take {
                from: Some(worker("other"))
            }
        );
    }

    #[test]
    fn a_plan_let_go_in_this_round_is_handled_and_one_of_an_earlier_round_is_not() {
        let now = Found::Claim(claim_by("other", Some("2026-12-01T09:00:40Z"), false));
        assert!(matches!(
            decide(&now, &worker("me"), at(ROUND)),
            Decision::Leave(Attempt::Handled(_))
        ));
        let earlier = Found::Claim(claim_by("other", Some("2026-11-30T09:00:00Z"), false));
        assert_eq!(
            decide(&earlier, &worker("me"), at(ROUND)),
            Decision::Take { from: None }
        );
    }
}
