//! Running one plan: finding or starting its run, then each step not yet
//! checkpointed, each in one transaction with its audit entries. A worker
//! of `apply --workers` runs a plan under its claim: every transaction of
//! the plan first renews the claim's lease, and fails if the plan is no
//! longer the worker's, so two workers never both change it.

use std::collections::BTreeSet;
use std::time::Instant;

use jiff::Timestamp;
use serde_json::json;

use super::claim::Fence;
use super::handover::{Handed, Target, hand_over};
use super::step::{STEPS, Step};
use super::{Outcome, PlanResult};
use crate::audit::{self, Record};
use crate::plan::{CATEGORIES, Category, Plan};
use crate::store::{NewOutboxEntry, NewRun, Store, User, Writer};

/// Carries plans out as one authenticated operator, at one instant.
pub struct Runner<'a> {
    pub store: &'a mut dyn Store,
    pub operator: &'a User,
    pub now: Timestamp,
    /// The claim a worker runs the plan under; `None` for a sole runner.
    pub fence: Option<Fence>,
}

/// Crashes the process at a named point when a test configures the
/// failpoint (`FAILPOINTS=apply::inbox::during=return`). Compiled away
/// unless the `failpoints` feature is on.
pub fn crash_point(name: &str) {
    fail::fail_point!(name, |_| {
        std::process::abort();
    });
    let _ = name;
}

impl Runner<'_> {
    /// Runs every step of `plan` that no earlier run finished.
    pub fn run(&mut self, plan: &Plan) -> PlanResult {
        let mut result = PlanResult {
            user: plan.user.value.to_string(),
            outcome: Outcome::Failed,
            steps: Vec::new(),
            items: 0,
            blockers: Vec::new(),
            error: None,
        };
        match self.run_steps(plan, &mut result) {
            Ok(outcome) => result.outcome = outcome,
            Err(err) => {
                let error = format!("{err:#}");
                tracing::error!(plan = %plan.user.value, error = %error, "plan failed");
                self.remember_failure(plan, &error);
                result.error = Some(error);
            }
        }
        result
    }

    /// Records why the plan's run failed, for `status`; best effort, since
    /// the database may be what failed.
    fn remember_failure(&mut self, plan: &Plan, error: &str) {
        let Ok(runs) = self.store.runs(Some(plan.user.value.as_str())) else {
            return;
        };
        let Some(run) = crate::review::current_run(runs) else {
            return;
        };
        let (now, fence) = (self.now, self.fence.clone());
        let _ = self.store.write(&mut |writer| {
            Fence::hold(fence.as_ref(), writer)?;
            writer.record_run_error(run.id, error, now)
        });
    }

    fn run_steps(&mut self, plan: &Plan, result: &mut PlanResult) -> anyhow::Result<Outcome> {
        let leaver = self.user(plan.user.value.as_str())?;
        let run = self.run_id(plan)?;
        let done: BTreeSet<String> = self
            .store
            .steps(run)?
            .into_iter()
            .map(|step| step.step)
            .collect();
        let targets = self.targets(plan)?;
        for step in STEPS.into_iter().filter(|step| *step != Step::Billing) {
            if done.contains(step.name()) {
                continue;
            }
            let started = Instant::now();
            crash_point(&format!("apply::{}::before", step.name()));
            let items = self.step(plan, run, step, leaver.id, &targets)?;
            crash_point(&format!("apply::{}::after", step.name()));
            tracing::info!(
                plan = %plan.user.value,
                step = step.name(),
                items,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "step finished"
            );
            result.steps.push(step.name());
            result.items += items;
        }
        self.finish_if_delivered(plan, run, leaver.id, result)
    }

    /// The run to continue, or a new one.
    fn run_id(&mut self, plan: &Plan) -> anyhow::Result<i64> {
        let latest = crate::review::current_run(self.store.runs(Some(plan.user.value.as_str()))?);
        if let Some(run) = latest.filter(|run| run.fingerprint == plan.fingerprint) {
            return Ok(run.id);
        }
        let new = NewRun {
            user: plan.user.value.to_string(),
            fingerprint: plan.fingerprint.clone(),
            operator: self.operator.username.clone(),
        };
        let (now, fence) = (self.now, self.fence.clone());
        let mut id = 0;
        self.store.write(&mut |writer| {
            Fence::hold(fence.as_ref(), writer)?;
            id = writer.start_run(&new, now)?;
            Ok(())
        })?;
        Ok(id)
    }

    fn user(&self, name: &str) -> anyhow::Result<User> {
        self.store
            .find_user(name)?
            .ok_or_else(|| anyhow::anyhow!("user `{name}` no longer exists"))
    }

    /// Each category's target, with recipients resolved to ids.
    fn targets(&self, plan: &Plan) -> anyhow::Result<Vec<(Category, Target)>> {
        let mut targets = Vec::new();
        for category in CATEGORIES {
            let handling = plan.handling(category);
            let recipient = match handling.recipient() {
                Some(to) => Some(self.user(to.value.as_str())?.id),
                None => None,
            };
            targets.push((category, Target::of(handling, recipient)));
        }
        Ok(targets)
    }

    /// One step in one transaction: its changes, audit entries, checkpoint.
    fn step(
        &mut self,
        plan: &Plan,
        run: i64,
        step: Step,
        leaver: i64,
        targets: &[(Category, Target)],
    ) -> anyhow::Result<u64> {
        let (now, operator, fence) = (self.now, self.operator.clone(), self.fence.clone());
        let mut count = 0;
        self.store.write(&mut |writer| {
            Fence::hold(fence.as_ref(), writer)?;
            writer.hold_user(leaver)?;
            let detail = match step.category() {
                Some(category) => {
                    let target = target_of(targets, category);
                    let handed = hand_over(writer, category, target, leaver, now)?;
                    count = handed.count();
                    handed.detail(category, target)
                }
                None => {
                    let (swept, detail) =
                        deactivate(writer, plan, leaver, &operator, targets, now)?;
                    count = swept;
                    detail
                }
            };
            crash_point(&format!("apply::{}::during", step.name()));
            let record = Record {
                at: now,
                operator: &operator.username,
                user: plan.user.value.as_str(),
                fingerprint: &plan.fingerprint,
                step: step.name(),
                detail,
            };
            audit::append(writer, &record)?;
            writer.record_step(run, step.name(), count, now)?;
            Ok(())
        })?;
        Ok(count)
    }

    /// After step 7's deliveries: finishes a plan left `in-progress` when
    /// nothing of its leaver is pending any more.
    pub fn finish(&mut self, plan: &Plan, result: &mut PlanResult) {
        let finished = self.user(plan.user.value.as_str()).and_then(|leaver| {
            let run = self.run_id(plan)?;
            self.finish_if_delivered(plan, run, leaver.id, result)
        });
        match finished {
            Ok(outcome) => result.outcome = outcome,
            Err(err) => {
                result.outcome = Outcome::Failed;
                result.error = Some(format!("{err:#}"));
            }
        }
    }

    /// The id of a leaver, for delivering their disconnects.
    pub fn leaver_id(&self, plan: &Plan) -> Option<i64> {
        self.user(plan.user.value.as_str()).ok().map(|user| user.id)
    }

    /// Finishes the run when no billing disconnect of the leaver is pending.
    fn finish_if_delivered(
        &mut self,
        plan: &Plan,
        run: i64,
        leaver: i64,
        result: &mut PlanResult,
    ) -> anyhow::Result<Outcome> {
        let deliveries: Vec<_> = self
            .store
            .outbox(false)?
            .into_iter()
            .filter(|entry| entry.user_id == leaver)
            .collect();
        if deliveries.iter().any(|entry| entry.status != "delivered") {
            return Ok(Outcome::InProgress);
        }
        let delivered: Vec<serde_json::Value> = deliveries
            .iter()
            .map(|entry| {
                json!({
                    "system": entry.system,
                    "billing_number": entry.billing_number,
                    "idempotency_key": entry.idempotency_key,
                    "attempts": entry.attempts,
                    "delivered_at": entry.delivered_at.map(crate::clock::to_db_text),
                })
            })
            .collect();
        let count = delivered.len() as u64;
        let (now, operator) = (self.now, self.operator.username.clone());
        let already = self
            .store
            .steps(run)?
            .iter()
            .any(|step| step.step == Step::Billing.name());
        if already {
            return Ok(Outcome::Done);
        }
        let fence = self.fence.clone();
        self.store.write(&mut |writer| {
            Fence::hold(fence.as_ref(), writer)?;
            let record = Record {
                at: now,
                operator: &operator,
                user: plan.user.value.as_str(),
                fingerprint: &plan.fingerprint,
                step: Step::Billing.name(),
                detail: json!({ "disconnected": delivered }),
            };
            audit::append(writer, &record)?;
            writer.record_step(run, Step::Billing.name(), count, now)?;
            writer.finish_run(run, "done", now)?;
            Ok(())
        })?;
        result.steps.push(Step::Billing.name());
        Ok(Outcome::Done)
    }
}

fn target_of(targets: &[(Category, Target)], category: Category) -> &Target {
    targets
        .iter()
        .find(|(each, _)| *each == category)
        .map(|(_, target)| target)
        .unwrap_or(&Target::Unassigned)
}

/// Step 6: sweep what reached the leaver since the earlier steps, refuse to
/// go on if anything the plan does not place remains, deactivate, and queue
/// the billing disconnects, all in the caller's transaction.
fn deactivate(
    writer: &mut dyn Writer,
    plan: &Plan,
    leaver: i64,
    operator: &User,
    targets: &[(Category, Target)],
    now: Timestamp,
) -> anyhow::Result<(u64, serde_json::Value)> {
    let mut swept = serde_json::Map::new();
    let mut count = 0;
    for (category, target) in targets {
        let handed: Handed = hand_over(writer, *category, target, leaver, now)?;
        count += handed.count();
        if handed.count() > 0 {
            swept.insert(
                category.field().to_string(),
                handed.detail(*category, target),
            );
        }
    }
    refuse_unplaced(writer, plan, leaver, now)?;
    crash_point("apply::deactivate::swept");
    writer.deactivate(leaver, operator.id, now)?;
    let mut queued = Vec::new();
    for link in writer.inventory(leaver, now)?.billing_links {
        let key = uuid::Uuid::now_v7().to_string();
        writer.enqueue_outbox(&NewOutboxEntry {
            user_id: leaver,
            system: link.system.clone(),
            billing_number: link.billing_number.clone(),
            idempotency_key: key.clone(),
            reason: plan
                .reason
                .clone()
                .unwrap_or_else(|| "deactivated".to_string()),
            effective_at: now,
        })?;
        queued.push(json!({ "system": link.system, "idempotency_key": key }));
    }
    let detail = json!({ "swept": swept, "deactivated_by": operator.username, "billing": queued });
    Ok((count, detail))
}

/// Fails step 6 when the leaver still holds items the plan does not place
/// (they arrived after the review): deactivating would strand them.
fn refuse_unplaced(
    writer: &mut dyn Writer,
    plan: &Plan,
    leaver: i64,
    now: Timestamp,
) -> anyhow::Result<()> {
    let left = writer.inventory(leaver, now)?;
    let counts = [
        (Category::Appointments, left.appointments.len()),
        (Category::RecurringQnaires, left.recurring_qnaires.len()),
        (Category::SentQnaires, left.sent_qnaires.len()),
        (Category::Inbox, left.inbox_messages.len()),
        (Category::Labs, left.lab_integrations.len()),
    ];
    let stranded: Vec<String> = counts
        .iter()
        .filter(|(_, count)| *count > 0)
        .map(|(category, count)| format!("{count} {}", category.field()))
        .collect();
    if stranded.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "`{}` received items the plan does not place since it was reviewed ({}); \
         review the plan again",
        plan.user.value,
        stranded.join(", ")
    )
}
