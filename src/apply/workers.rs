//! `apply --workers`: runners on one machine or several share a batch.
//! Each worker claims one plan at a time, hands it to the caller (who
//! reviews it again and runs it under the claim), then lets it go with its
//! outcome. While other workers hold plans it waits, and it takes over a
//! plan whose worker's lease ended (a dead worker), which then resumes
//! after that worker's last checkpoint. A worker stops when every plan of
//! the batch has been handled, by it or by another worker.

use std::time::Duration;

use super::claim::{self, Attempt, Fence};
use super::{Outcome, PlanResult, Runner};
use crate::plan::Plan;
use crate::store::{PlanKey, StoreError, Worker};

/// How a worker shares a batch.
#[derive(Debug, Clone)]
pub struct Shift {
    pub me: Worker,
    /// How long a claim holds without renewal; every step renews it.
    pub lease: Duration,
    /// Stop claiming plans after one of this worker's is blocked or failed.
    pub fail_fast: bool,
}

/// What one worker did with a batch.
#[derive(Debug, Default)]
pub struct Share {
    /// The plans this worker handled (by index in the batch) and how.
    pub results: Vec<(usize, PlanResult)>,
    /// How many plans other workers handled in this round.
    pub by_others: usize,
}

impl Shift {
    /// Works through `plans` with the others; `handle` reviews and runs
    /// one claimed plan with the runner, whose fence is set meanwhile.
    pub fn work(
        &self,
        runner: &mut Runner,
        plans: &[Plan],
        handle: &mut dyn FnMut(&mut Runner, usize) -> PlanResult,
    ) -> Result<Share, StoreError> {
        let round = runner.store.clock()?;
        let mut share = Share::default();
        let mut pending: Vec<usize> = (0..plans.len()).collect();
        while !pending.is_empty() && !self.stopped(&share) {
            let mut held = Vec::new();
            for index in pending {
                if self.stopped(&share) {
                    break;
                }
                let key = key_of(&plans[index]);
                match claim::claim(runner.store, &key, &self.me, self.lease, round)? {
                    Attempt::Claimed { from } => {
                        let result = self.run_claimed(runner, key, from, index, handle);
                        share.results.push((index, result));
                    }
                    Attempt::Handled(_) => share.by_others += 1,
                    Attempt::Held(_) => held.push(index),
                }
            }
            pending = held;
            if !pending.is_empty() {
                std::thread::sleep(poll_interval(self.lease));
            }
        }
        share.results.sort_by_key(|(index, _)| *index);
        Ok(share)
    }

    fn run_claimed(
        &self,
        runner: &mut Runner,
        plan: PlanKey,
        from: Option<Worker>,
        index: usize,
        handle: &mut dyn FnMut(&mut Runner, usize) -> PlanResult,
    ) -> PlanResult {
        if let Some(from) = from {
            tracing::warn!(
                plan = %plan.user,
                host = %from.host,
                pid = from.pid,
                "took the plan over from a worker whose lease ended"
            );
        }
        let fence = Fence {
            plan,
            worker: self.me.clone(),
            lease: self.lease,
        };
        runner.fence = Some(fence.clone());
        let result = handle(runner, index);
        runner.fence = None;
        let released = fence.release(runner.store, result.outcome.as_str());
        warn_unless_released(&fence, released);
        result
    }

    fn stopped(&self, share: &Share) -> bool {
        self.fail_fast
            && share
                .results
                .iter()
                .any(|(_, result)| matches!(result.outcome, Outcome::Blocked | Outcome::Failed))
    }
}

/// Says why a claim was not let go: it lapses with its lease anyway.
fn warn_unless_released(fence: &Fence, released: Result<bool, StoreError>) {
    let plan = &fence.plan.user;
    match released {
        Ok(true) => {}
        Ok(false) => tracing::warn!(%plan, "the claim had passed to another worker"),
        Err(err) => tracing::warn!(%plan, error = %err, "could not let the claim go"),
    }
}

/// A plan as claims know it.
pub fn key_of(plan: &Plan) -> PlanKey {
    PlanKey {
        user: plan.user.value.to_string(),
        fingerprint: plan.fingerprint.clone(),
    }
}

/// How long a worker waits before looking again at plans others hold: a
/// quarter of the lease, between 100 ms and 2 s, so that a dead worker's
/// plan is taken over soon after its lease ends.
fn poll_interval(lease: Duration) -> Duration {
    (lease / 4).clamp(Duration::from_millis(100), Duration::from_secs(2))
}
