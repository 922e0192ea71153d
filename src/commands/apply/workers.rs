//! `apply --workers`: the command's side of sharing a batch. The claiming
//! is `crate::apply::workers`; here each claimed plan is reviewed again,
//! held to a saved review, run with its billing deliveries, and the
//! worker's results are reported.

use super::{SavedReview, deliver, report, worst_of};
use crate::Exit;
use crate::apply::{Outcome, PlanResult, Runner, Shift, decide};
use crate::commands::store_failure;
use crate::config::Config;
use crate::output::Printer;
use crate::plan::Plan;
use crate::review::{self, Context};

/// What a worker needs to handle any plan of the batch it claims.
pub(super) struct Batch<'a> {
    pub config: &'a Config,
    pub plans: &'a [Plan],
    pub context: &'a Context,
    pub saved: Option<&'a SavedReview>,
}

/// `--workers`: claims plans one at a time until the batch is handled; the
/// exit tells the worst outcome of the plans this worker handled.
pub(super) fn work_share(
    printer: &Printer,
    runner: &mut Runner,
    shift: &Shift,
    batch: &Batch,
) -> Result<Exit, Exit> {
    let progress = crate::output::progress(batch.plans.len() as u64);
    let mut handle = |runner: &mut Runner, index: usize| {
        let result = handle_claimed(runner, batch, index);
        progress.inc(1);
        result
    };
    let share = shift
        .work(runner, batch.plans, &mut handle)
        .map_err(|err| store_failure(&err))?;
    progress.finish_and_clear();
    let results: Vec<PlanResult> = share
        .results
        .into_iter()
        .map(|(_, result)| result)
        .collect();
    report(printer, &results, Some(share.by_others));
    Ok(worst_of(&results))
}

/// One claimed plan: reviewed again now, then run (with its billing
/// deliveries) when the review lets it.
fn handle_claimed(runner: &mut Runner, batch: &Batch, index: usize) -> PlanResult {
    let plan = &batch.plans[index];
    let mut review = match review::review_plan(&*runner.store, batch.plans, index, batch.context) {
        Ok(review) => review,
        Err(err) => return failed(plan, err.to_string()),
    };
    if let Some(saved) = batch.saved {
        if !saved.covers(&review) {
            let why = "not in the `--reviewed` review".to_string();
            return PlanResult::without_run(&review, Outcome::Skipped, Some(why));
        }
        if saved
            .hold_to(std::slice::from_mut(&mut review), &*runner.store)
            .is_err()
        {
            return failed(
                plan,
                "could not compare the plan with the saved review".into(),
            );
        }
    }
    if let Some(outcome) = decide(&review) {
        return PlanResult::without_run(&review, outcome, None);
    }
    let mut result = runner.run(plan);
    deliver(
        runner,
        batch.config,
        std::slice::from_ref(plan),
        std::slice::from_mut(&mut result),
    );
    result
}

fn failed(plan: &Plan, error: String) -> PlanResult {
    PlanResult {
        user: plan.user.value.to_string(),
        outcome: Outcome::Failed,
        steps: Vec::new(),
        items: 0,
        blockers: Vec::new(),
        error: Some(error),
    }
}
