//! Gathering what the review needs to know about one plan from the live
//! database: the leaver, the recipients, the leaver's items, schedule
//! collisions and earlier runs. Reads only.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::civil::Date;

use crate::plan::{Category, Handling, Plan};
use crate::store::{Inventory, Overlap, Run, Store, StoreError, User};

/// What holds for every plan of one review.
#[derive(Debug, Clone)]
pub struct Context {
    pub now: Timestamp,
    /// Today in the clinic's time zone, for `not_before`.
    pub today: Date,
    pub operator: Operator,
    /// Billing systems with a configured endpoint.
    pub billing_systems: BTreeSet<String>,
}

/// The operator named for the review, if any.
#[derive(Debug, Clone)]
pub enum Operator {
    Unnamed,
    Named {
        name: String,
        user: Option<User>,
        /// Active and holding `edit_other_users`.
        may_edit: bool,
    },
}

impl Operator {
    /// Looks the named operator up.
    pub fn find(store: &dyn Store, name: Option<&str>) -> Result<Operator, StoreError> {
        let Some(name) = name else {
            return Ok(Operator::Unnamed);
        };
        let user = store.find_user(name)?;
        let may_edit = match &user {
            Some(user) => user.active && store.has_permission(user.id, "edit_other_users")?,
            None => false,
        };
        Ok(Operator::Named {
            name: name.to_string(),
            user,
            may_edit,
        })
    }

    pub fn name(&self) -> Option<&str> {
        match self {
            Operator::Unnamed => None,
            Operator::Named { name, .. } => Some(name),
        }
    }
}

/// What the database says about one plan.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub leaver: Option<User>,
    /// Each recipient the plan names, and the user if there is one.
    pub recipients: BTreeMap<String, Option<User>>,
    /// The leaver's items now (empty when the leaver is unknown).
    pub inventory: Inventory,
    /// Collisions of moved appointments with the recipient's own bookings.
    pub overlap: Option<(String, Overlap)>,
    /// The latest run of a plan for this leaver.
    pub run: Option<Run>,
    /// Recipients who have an unfinished run of their own.
    pub recipients_leaving: BTreeSet<String>,
}

/// Reads the facts about `plan`.
pub fn gather(store: &dyn Store, plan: &Plan, now: Timestamp) -> Result<Facts, StoreError> {
    let mut facts = Facts {
        leaver: store.find_user(plan.user.value.as_str())?,
        run: current_run(store.runs(Some(plan.user.value.as_str()))?),
        ..Facts::default()
    };
    for (_, to) in plan.recipients() {
        let name = to.value.as_str();
        if facts.recipients.contains_key(name) {
            continue;
        }
        facts
            .recipients
            .insert(name.to_string(), store.find_user(name)?);
        if let Some(run) = current_run(store.runs(Some(name))?)
            && !run_is_finished(&run)
        {
            facts.recipients_leaving.insert(name.to_string());
        }
    }
    if let Some(leaver) = &facts.leaver {
        facts.inventory = store.inventory(leaver.id, now)?;
        facts.overlap = overlap(store, plan, &facts, leaver.id, now)?;
    }
    Ok(facts)
}

fn overlap(
    store: &dyn Store,
    plan: &Plan,
    facts: &Facts,
    leaver: i64,
    now: Timestamp,
) -> Result<Option<(String, Overlap)>, StoreError> {
    let Handling::MoveTo(to) = plan.handling(Category::Appointments) else {
        return Ok(None);
    };
    let recipient = facts
        .recipients
        .get(to.value.as_str())
        .and_then(Option::as_ref);
    match recipient {
        Some(recipient) if !facts.inventory.appointments.is_empty() => {
            let found = store.schedule_overlap(leaver, recipient.id, now)?;
            Ok(Some((recipient.username.clone(), found)))
        }
        _ => Ok(None),
    }
}

/// A run's status once its user was reactivated: it no longer counts.
pub const REACTIVATED: &str = "reactivated";

/// The latest run of a user that still counts: runs closed by a
/// reactivation belong to an earlier departure.
pub fn current_run(runs: Vec<crate::store::Run>) -> Option<Run> {
    runs.into_iter().rev().find(|run| run.status != REACTIVATED)
}

/// Whether a run reached its end (`done`); anything else is unfinished.
pub fn run_is_finished(run: &Run) -> bool {
    run.finished_at.is_some() && run.status == "done"
}
