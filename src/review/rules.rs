//! The review's rules: from a plan and the facts about it to its status,
//! blockers, warnings and changes. No database here, only decisions.

use std::collections::BTreeMap;

use super::digest::items_digest;
use super::facts::{Context, Facts, Operator, run_is_finished};
use super::{Change, Code, Finding, PlanReview, Status};
use crate::plan::meaning::MeaningFinding;
use crate::plan::{CATEGORIES, Category, Handling, Plan};
use crate::store::Role;

/// Reviews one plan. `meaning` holds the findings of the plan-file layer
/// about this plan (duplicate leaver, recipient who is the leaver or leaves).
pub fn evaluate(
    plan: &Plan,
    facts: &Facts,
    context: &Context,
    meaning: &[&MeaningFinding],
) -> PlanReview {
    let same_run = facts
        .run
        .as_ref()
        .filter(|run| run.fingerprint == plan.fingerprint);
    let done = same_run.is_some_and(run_is_finished);
    let mut blockers = Vec::new();
    if !done {
        blockers = blockers_of(plan, facts, context, meaning);
    }
    if let Some(run) = facts
        .run
        .as_ref()
        .filter(|run| run.fingerprint != plan.fingerprint)
    {
        let message = format!(
            "a run of `{}`'s plan started {} with different content",
            plan.user.value, run.started_at
        );
        blockers.insert(0, Finding::new(Code::PlanChanged, message));
    }
    let status = status_of(
        plan,
        context,
        done && blockers.is_empty(),
        &blockers,
        same_run,
    );
    PlanReview {
        user: plan.user.value.to_string(),
        file: plan.user.at.file.display().to_string(),
        line: plan.user.at.line,
        status,
        not_before: plan.not_before,
        fingerprint: plan.fingerprint.clone(),
        items_digest: items_digest(&facts.inventory),
        warnings: if done {
            Vec::new()
        } else {
            warnings_of(plan, facts, context)
        },
        blockers,
        changes: changes_of(plan, facts),
    }
}

fn status_of(
    plan: &Plan,
    context: &Context,
    done: bool,
    blockers: &[Finding],
    same_run: Option<&crate::store::Run>,
) -> Status {
    let due = plan.not_before.is_none_or(|date| date <= context.today);
    if done {
        Status::Done
    } else if !due && same_run.is_none() {
        Status::NotDue
    } else if !blockers.is_empty() {
        Status::Blocked
    } else if same_run.is_some() {
        Status::InProgress
    } else {
        Status::Ready
    }
}

fn blockers_of(
    plan: &Plan,
    facts: &Facts,
    context: &Context,
    meaning: &[&MeaningFinding],
) -> Vec<Finding> {
    let mut found: Vec<Finding> = meaning
        .iter()
        .filter_map(|finding| {
            let code = Code::parse(finding.code)?;
            Some(Finding::new(code, finding.message.clone()))
        })
        .collect();
    found.extend(leaver_blockers(plan, facts));
    found.extend(recipient_blockers(plan, facts));
    found.extend(unassigned_blockers(plan, facts));
    found.extend(billing_blockers(plan, facts, context));
    found.extend(operator_blockers(plan, context));
    found
}

fn leaver_blockers(plan: &Plan, facts: &Facts) -> Vec<Finding> {
    let name = &plan.user.value;
    let ran = facts
        .run
        .as_ref()
        .is_some_and(|run| run.fingerprint == plan.fingerprint);
    match &facts.leaver {
        None => vec![Finding::new(
            Code::UserNotFound,
            format!("no user `{name}` exists"),
        )],
        Some(user) if !user.active && !ran => vec![Finding::new(
            Code::UserInactive,
            format!("`{name}` is already deactivated"),
        )],
        Some(_) => Vec::new(),
    }
}

fn recipient_blockers(plan: &Plan, facts: &Facts) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (category, to) in plan.recipients() {
        let name = to.value.as_str();
        let field = category.field();
        let user = facts.recipients.get(name).and_then(Option::as_ref);
        if seen.insert(name) {
            match user {
                None => found.push(Finding::new(
                    Code::TargetNotFound,
                    format!("recipient `{name}` does not exist"),
                )),
                Some(user) if !user.active => found.push(Finding::new(
                    Code::TargetInactive,
                    format!("recipient `{name}` is deactivated"),
                )),
                Some(_) if facts.recipients_leaving.contains(name) => found.push(Finding::new(
                    Code::TargetLeaving,
                    format!("recipient `{name}` has an unfinished handover of their own"),
                )),
                Some(_) => {}
            }
        }
        let has_items = count(facts, category) > 0;
        let is_staff = user.is_some_and(|user| user.role != Role::Practitioner);
        if category.needs_practitioner() && has_items && is_staff {
            found.push(Finding::new(
                Code::TargetNotPractitioner,
                format!("`{field}` would go to `{name}`, who is not a practitioner"),
            ));
        }
    }
    found
}

fn unassigned_blockers(plan: &Plan, facts: &Facts) -> Vec<Finding> {
    let mut found = Vec::new();
    for category in CATEGORIES {
        let items = count(facts, category);
        if items == 0 || *plan.handling(category) != Handling::Unassigned {
            continue;
        }
        let (code, what) = match category {
            Category::Appointments => (Code::AppointmentsUnassigned, "future appointment"),
            Category::RecurringQnaires => (
                Code::RecurringQnairesUnassigned,
                "recurring scheduled qnaires",
            ),
            Category::SentQnaires => (Code::SentQnairesUnassigned, "sent qnaire"),
            Category::Inbox => (Code::InboxUnforwarded, "open inbox message"),
            Category::Labs => (Code::LabUnassigned, "lab integration"),
        };
        let message = format!(
            "`{}` has {} and the plan does not say where they go",
            plan.user.value,
            counted(items as usize, what)
        );
        found.push(Finding::new(code, message));
    }
    let main = facts
        .inventory
        .lab_integrations
        .iter()
        .find(|lab| lab.is_main);
    if let (Some(main), None) = (main, &plan.support_ticket) {
        found.push(Finding::new(
            Code::MainLabNeedsSupport,
            format!(
                "`{}` backs the main lab integration `{}`",
                plan.user.value, main.lab
            ),
        ));
    }
    found
}

fn billing_blockers(plan: &Plan, facts: &Facts, context: &Context) -> Vec<Finding> {
    let links = &facts.inventory.billing_links;
    let mut found = Vec::new();
    let pending = facts.inventory.pending_claims;
    if !links.is_empty() && pending > 0 && !plan.allow_pending_claims {
        found.push(Finding::new(
            Code::PendingClaims,
            format!(
                "{} of `{}` still pending would be lost to billing",
                counted(pending as usize, "claim"),
                plan.user.value
            ),
        ));
    }
    for link in links {
        if !context.billing_systems.contains(&link.system) {
            found.push(Finding::new(
                Code::BillingEndpointMissing,
                format!(
                    "no endpoint is configured for billing system `{}`",
                    link.system
                ),
            ));
        }
    }
    found
}

fn operator_blockers(plan: &Plan, context: &Context) -> Vec<Finding> {
    let Operator::Named {
        name,
        user,
        may_edit,
    } = &context.operator
    else {
        return Vec::new();
    };
    let mut found = Vec::new();
    if !may_edit {
        let why = match user {
            None => "does not exist",
            Some(user) if !user.active => "is deactivated",
            Some(_) => "does not hold `edit_other_users`",
        };
        found.push(Finding::new(
            Code::OperatorLacksPermission,
            format!("operator `{name}` {why}"),
        ));
    }
    if name.as_str() == plan.user.value.as_str() {
        found.push(Finding::new(
            Code::OperatorIsUser,
            format!("operator `{name}` is the person leaving"),
        ));
    }
    found
}

fn warnings_of(plan: &Plan, facts: &Facts, context: &Context) -> Vec<Finding> {
    let inventory = &facts.inventory;
    let mut found = Vec::new();
    let appointments = inventory.appointments.len();
    if plan.appointments == Handling::Cancel && appointments > 0 {
        found.push(Finding::new(
            Code::AppointmentsCancelled,
            format!(
                "{} will be cancelled",
                counted(appointments, "future appointment")
            ),
        ));
    }
    let removed = removed_qnaires(plan, facts);
    if removed > 0 {
        found.push(Finding::new(
            Code::QnairesRemoved,
            format!("{} will be removed", counted(removed, "qnaire")),
        ));
    }
    let messages = inventory.inbox_messages.len();
    if plan.inbox == Handling::Cancel && messages > 0 {
        found.push(Finding::new(
            Code::InboxDiscarded,
            format!(
                "{} will be archived with the account",
                counted(messages, "open inbox message")
            ),
        ));
    }
    if let Some((to, overlap)) = facts
        .overlap
        .as_ref()
        .filter(|(_, overlap)| overlap.count > 0)
    {
        let first = overlap
            .earliest
            .map(|at| format!("; the first at {at}"))
            .unwrap_or_default();
        found.push(Finding::new(
            Code::ScheduleOverlap,
            format!(
                "{} would collide with `{to}`'s own bookings{first}",
                counted(overlap.count as usize, "moved appointment")
            ),
        ));
    }
    for link in &inventory.billing_links {
        found.push(Finding::new(
            Code::BillingDisconnect,
            format!(
                "`{}` will be disconnected from `{}`; their claims stop flowing",
                plan.user.value, link.system
            ),
        ));
    }
    if matches!(context.operator, Operator::Unnamed) {
        found.push(Finding::new(
            Code::OperatorUnknown,
            "no operator named, so permission was not checked",
        ));
    }
    found
}

fn removed_qnaires(plan: &Plan, facts: &Facts) -> usize {
    let inventory = &facts.inventory;
    let mut removed = 0;
    if plan.appointments == Handling::Cancel {
        removed += inventory.appointment_qnaires.len();
    }
    if plan.recurring_qnaires == Handling::Cancel {
        removed += inventory.recurring_qnaires.len();
    }
    if plan.sent_qnaires == Handling::Cancel {
        removed += inventory.sent_qnaires.len();
    }
    removed
}

/// How many items the leaver has in a category.
fn count(facts: &Facts, category: Category) -> u64 {
    let inventory = &facts.inventory;
    let items = match category {
        Category::Appointments => inventory.appointments.len(),
        Category::RecurringQnaires => inventory.recurring_qnaires.len(),
        Category::SentQnaires => inventory.sent_qnaires.len(),
        Category::Inbox => inventory.inbox_messages.len(),
        Category::Labs => inventory.lab_integrations.len(),
    };
    items as u64
}

fn changes_of(plan: &Plan, facts: &Facts) -> BTreeMap<&'static str, Change> {
    let inventory = &facts.inventory;
    let mut changes = BTreeMap::new();
    let moved = |handling: &Handling, count: usize, verb: &'static str, undo: &'static str| {
        change(handling, count as u64, verb, undo)
    };
    changes.insert(
        "appointments",
        moved(
            &plan.appointments,
            inventory.appointments.len(),
            "move",
            "cancel",
        ),
    );
    changes.insert(
        "appointment_qnaires",
        moved(
            &plan.appointments,
            inventory.appointment_qnaires.len(),
            "move",
            "remove",
        ),
    );
    changes.insert(
        "recurring_qnaires",
        moved(
            &plan.recurring_qnaires,
            inventory.recurring_qnaires.len(),
            "move",
            "remove",
        ),
    );
    changes.insert(
        "sent_qnaires",
        moved(
            &plan.sent_qnaires,
            inventory.sent_qnaires.len(),
            "move",
            "remove",
        ),
    );
    let mut inbox = moved(
        &plan.inbox,
        inventory.inbox_messages.len(),
        "forward",
        "discard",
    );
    inbox.snoozed = Some(inventory.snoozed_messages);
    changes.insert("inbox_messages", inbox);
    let mut labs = moved(
        &plan.labs,
        inventory.lab_integrations.len(),
        "transfer",
        "transfer",
    );
    labs.main = inventory
        .lab_integrations
        .iter()
        .find(|lab| lab.is_main)
        .map(|lab| lab.lab.clone());
    changes.insert("lab_integrations", labs);
    let links = &inventory.billing_links;
    changes.insert(
        "billing_links",
        Change {
            count: links.len() as u64,
            action: if links.is_empty() {
                "none"
            } else {
                "disconnect"
            },
            to: None,
            snoozed: None,
            main: None,
            systems: Some(links.iter().map(|link| link.system.clone()).collect()),
        },
    );
    changes
}

fn change(handling: &Handling, count: u64, verb: &'static str, undo: &'static str) -> Change {
    let (action, to) = match (count, handling) {
        (0, _) => ("none", None),
        (_, Handling::MoveTo(to)) => (verb, Some(to.value.to_string())),
        (_, Handling::Cancel) => (undo, None),
        (_, Handling::Unassigned) => ("unassigned", None),
    };
    Change {
        count,
        action,
        to,
        snoozed: None,
        main: None,
        systems: None,
    }
}

/// `1 claim`, `2 claims`.
fn counted(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
