//! The review (dry run): for each plan, its status, every blocker and
//! warning, and the changes it would make, read from the live database
//! without changing it. Apply runs the same review before it acts, so the
//! two cannot drift apart.

mod code;
mod digest;
mod facts;
pub mod markdown;
mod rules;
pub mod text;

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

pub use code::Code;
pub use facts::{Context, Operator, REACTIVATED, current_run, gather};
pub use rules::evaluate;

/// A finding: a blocker or a warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: Code,
    pub message: String,
    /// How to fix the plan; empty for warnings.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub hint: String,
}

impl Finding {
    pub fn new(code: Code, message: impl Into<String>) -> Finding {
        Finding {
            code,
            message: message.into(),
            hint: code.hint().to_string(),
        }
    }
}

/// Where a plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Ready,
    Blocked,
    Done,
    NotDue,
    InProgress,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ready => "ready",
            Status::Blocked => "blocked",
            Status::Done => "done",
            Status::NotDue => "not-due",
            Status::InProgress => "in-progress",
        }
    }
}

/// What a plan would do to one category of items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub count: u64,
    /// `move`, `cancel`, `remove`, `forward`, `discard`, `transfer`,
    /// `disconnect`, `none` (nothing to do) or `unassigned`.
    pub action: &'static str,
    /// The recipient, when items go to someone.
    pub to: Option<String>,
    /// Inbox only: how many of the messages are snoozed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snoozed: Option<u64>,
    /// Lab integrations only: the main integration, when the leaver backs it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main: Option<String>,
    /// Billing links only: the billing systems concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub systems: Option<Vec<String>>,
}

/// The review of one plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanReview {
    pub user: String,
    /// The plan file and the line of its `user`.
    pub file: String,
    pub line: u64,
    pub status: Status,
    pub not_before: Option<Date>,
    pub fingerprint: String,
    /// sha256 of the exact set of items the plan would touch.
    pub items_digest: String,
    pub blockers: Vec<Finding>,
    pub warnings: Vec<Finding>,
    /// Keyed by category: `appointments`, `appointment_qnaires`,
    /// `recurring_qnaires`, `sent_qnaires`, `inbox_messages`,
    /// `lab_integrations`, `billing_links`.
    pub changes: BTreeMap<&'static str, Change>,
}

/// Counts of plans by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub plans: usize,
    pub ready: usize,
    pub blocked: usize,
    pub done: usize,
    pub not_due: usize,
    pub in_progress: usize,
}

/// The review of a set of plans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Review {
    /// The JSON format's version; raised on any incompatible change.
    pub format: u32,
    pub generated_at: Timestamp,
    pub database: String,
    pub operator: Option<String>,
    pub plans: Vec<PlanReview>,
    pub summary: Summary,
}

impl Review {
    pub fn new(
        generated_at: Timestamp,
        database: String,
        operator: Option<String>,
        plans: Vec<PlanReview>,
    ) -> Review {
        let summary = summarize(&plans);
        Review {
            format: 1,
            generated_at,
            database,
            operator,
            plans,
            summary,
        }
    }

    /// Whether any plan is blocked.
    pub fn any_blocked(&self) -> bool {
        self.summary.blocked > 0
    }
}

fn summarize(plans: &[PlanReview]) -> Summary {
    let mut summary = Summary {
        plans: plans.len(),
        ..Summary::default()
    };
    for plan in plans {
        match plan.status {
            Status::Ready => summary.ready += 1,
            Status::Blocked => summary.blocked += 1,
            Status::Done => summary.done += 1,
            Status::NotDue => summary.not_due += 1,
            Status::InProgress => summary.in_progress += 1,
        }
    }
    summary
}

/// The order categories are listed in, everywhere.
pub const CHANGE_KEYS: [&str; 7] = [
    "appointments",
    "appointment_qnaires",
    "recurring_qnaires",
    "sent_qnaires",
    "inbox_messages",
    "lab_integrations",
    "billing_links",
];

/// Reviews every plan against the store: the same code path for `plan` and
/// for `apply`, which reviews again right before it acts.
pub fn review_plans(
    store: &dyn crate::store::Store,
    plans: &[crate::plan::Plan],
    context: &Context,
) -> Result<Vec<PlanReview>, crate::store::StoreError> {
    let meaning = crate::plan::meaning::check(plans);
    (0..plans.len())
        .map(|index| review_at(store, plans, index, &meaning, context))
        .collect()
}

/// Reviews the plan at `index` alone, though with the findings about it
/// across all `plans` (a leaver twice, a recipient who leaves too): a
/// worker of `apply --workers` reviews each plan it claims right before it
/// acts on it.
pub fn review_plan(
    store: &dyn crate::store::Store,
    plans: &[crate::plan::Plan],
    index: usize,
    context: &Context,
) -> Result<PlanReview, crate::store::StoreError> {
    let meaning = crate::plan::meaning::check(plans);
    review_at(store, plans, index, &meaning, context)
}

fn review_at(
    store: &dyn crate::store::Store,
    plans: &[crate::plan::Plan],
    index: usize,
    meaning: &[crate::plan::meaning::MeaningFinding],
    context: &Context,
) -> Result<PlanReview, crate::store::StoreError> {
    let plan = &plans[index];
    let started = std::time::Instant::now();
    let facts = gather(store, plan, context.now)?;
    let about_this: Vec<_> = meaning
        .iter()
        .filter(|finding| finding.plan == index)
        .collect();
    let review = evaluate(plan, &facts, context, &about_this);
    tracing::debug!(
        user = %review.user,
        status = review.status.as_str(),
        blockers = review.blockers.len(),
        warnings = review.warnings.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "reviewed plan"
    );
    Ok(review)
}
