//! Apply: carrying reviewed plans out, step by step. Every plan is reviewed
//! again first (the same review as `handover plan`); ready plans run, and
//! plans whose run was interrupted resume after their last checkpoint.

pub mod claim;
mod handover;
mod run;
pub mod step;
pub mod workers;

use serde::Serialize;

use crate::review::{Finding, PlanReview, Status};

pub use run::{Runner, crash_point};
pub use step::{STEPS, Step};
pub use workers::{Share, Shift};

/// How one plan ended in this apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every step finished (now or in an earlier run).
    Done,
    /// Its `not_before` date has not come.
    NotDue,
    /// Blockers stopped it; nothing of it ran.
    Blocked,
    /// Steps 1–6 are done; a billing disconnect is still to be delivered.
    InProgress,
    /// A step failed; a rerun resumes from the last checkpoint.
    Failed,
    /// Left alone: not in the `--reviewed` review, or after `--fail-fast`.
    Skipped,
}

impl Outcome {
    /// The exit this outcome calls for.
    pub fn exit(self) -> crate::Exit {
        use crate::Exit;
        match self {
            Outcome::Done | Outcome::NotDue | Outcome::Skipped => Exit::Success,
            Outcome::Blocked => Exit::Blocked,
            Outcome::InProgress => Exit::Incomplete,
            Outcome::Failed => Exit::Failure,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::NotDue => "not-due",
            Outcome::Blocked => "blocked",
            Outcome::InProgress => "in-progress",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
        }
    }
}

/// What happened to one plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanResult {
    pub user: String,
    pub outcome: Outcome,
    /// The steps this apply carried out (not those of earlier runs).
    pub steps: Vec<&'static str>,
    /// Items handed over by this apply.
    pub items: u64,
    pub blockers: Vec<Finding>,
    /// Why a step failed or the plan was skipped.
    pub error: Option<String>,
}

impl PlanResult {
    /// The result of a plan this apply does not run.
    pub fn without_run(review: &PlanReview, outcome: Outcome, error: Option<String>) -> PlanResult {
        PlanResult {
            user: review.user.clone(),
            outcome,
            steps: Vec::new(),
            items: 0,
            blockers: review.blockers.clone(),
            error,
        }
    }
}

/// What the review says apply should do with a plan.
pub fn decide(review: &PlanReview) -> Option<Outcome> {
    match review.status {
        Status::Ready | Status::InProgress => None,
        Status::Done => Some(Outcome::Done),
        Status::NotDue => Some(Outcome::NotDue),
        Status::Blocked => Some(Outcome::Blocked),
    }
}
