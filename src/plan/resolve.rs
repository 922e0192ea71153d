//! From a schema-valid document to resolved plans: batch defaults fill the
//! fields a plan leaves out, `default_to` fills the categories still unset,
//! and every value keeps the place in the file it came from.

use std::path::PathBuf;
use std::sync::Arc;

use jiff::civil::Date;

use super::fingerprint::fingerprint;
use super::model::{BatchFile, Forward, PlanDocument, PlanFields, Reassign, Username};
use super::resolved::{Handling, Located, Location, Plan};
use super::yaml::Positions;
use crate::diagnostic::Diagnostic;

/// Where a document's fields live, for turning pointers into locations.
struct Places<'a> {
    file: Arc<PathBuf>,
    positions: &'a Positions,
}

impl Places<'_> {
    fn at(&self, pointer: String) -> Location {
        let position = self.positions.value(&pointer);
        Location {
            file: self.file.clone(),
            line: position.line,
            column: position.column,
            pointer,
        }
    }
}

/// One source of plan fields: the plan's own, or the batch defaults.
struct Layer<'a> {
    fields: &'a PlanFields,
    pointer: String,
}

/// Resolves every plan of a document.
pub fn resolve(
    file: Arc<PathBuf>,
    document: &PlanDocument,
    positions: &Positions,
) -> Result<Vec<Plan>, Vec<Diagnostic>> {
    let places = Places { file, positions };
    let empty = PlanFields::default();
    let mut plans = Vec::new();
    let mut problems = Vec::new();
    let entries: Vec<(&Username, Layer, Layer)> = match document {
        PlanDocument::Plan(plan) => vec![(
            &plan.user,
            Layer {
                fields: &plan.fields,
                pointer: String::new(),
            },
            Layer {
                fields: &empty,
                pointer: "/defaults".into(),
            },
        )],
        PlanDocument::Batch(batch) => batch_entries(batch),
    };
    for (user, own, defaults) in entries {
        match resolve_one(&places, user, &own, &defaults) {
            Ok(plan) => plans.push(plan),
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(plans)
    } else {
        Err(problems)
    }
}

fn batch_entries(batch: &BatchFile) -> Vec<(&Username, Layer<'_>, Layer<'_>)> {
    batch
        .plans
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            (
                &entry.user,
                Layer {
                    fields: &entry.fields,
                    pointer: format!("/plans/{index}"),
                },
                Layer {
                    fields: &batch.defaults,
                    pointer: "/defaults".into(),
                },
            )
        })
        .collect()
}

/// A field from the plan itself or else from the defaults, with its pointer.
fn pick<'a, T>(
    own: &'a Layer,
    defaults: &'a Layer,
    name: &str,
    get: impl Fn(&PlanFields) -> Option<&T>,
) -> Option<(&'a T, String)> {
    if let Some(value) = get(own.fields) {
        return Some((value, format!("{}/{name}", own.pointer)));
    }
    get(defaults.fields).map(|value| (value, format!("{}/{name}", defaults.pointer)))
}

fn resolve_one(
    places: &Places,
    user: &Username,
    own: &Layer,
    defaults: &Layer,
) -> Result<Plan, Diagnostic> {
    let default_to =
        pick(own, defaults, "default_to", |f| f.default_to.as_ref()).map(|(to, pointer)| Located {
            value: to.clone(),
            at: places.at(pointer),
        });
    let reassign = |name: &str, get: fn(&PlanFields) -> Option<&Reassign>| {
        let picked = pick(own, defaults, name, get);
        reassigned(places, picked, default_to.as_ref())
    };
    let inbox = pick(own, defaults, "inbox", |f| f.inbox.as_ref());
    let labs = pick(own, defaults, "labs", |f| f.labs.as_ref());
    let labs_handling = match &labs {
        Some((labs, pointer)) => Handling::MoveTo(Located {
            value: labs.transfer_to.clone(),
            at: places.at(format!("{pointer}/transfer_to")),
        }),
        None => default_handling(default_to.as_ref()),
    };
    let mut plan = Plan {
        user: Located {
            value: user.clone(),
            at: places.at(format!("{}/user", own.pointer)),
        },
        reason: pick(own, defaults, "reason", |f| f.reason.as_ref()).map(|(r, _)| r.clone()),
        not_before: not_before(places, own, defaults)?,
        appointments: reassign("appointments", |f| f.appointments.as_ref()),
        recurring_qnaires: reassign("recurring_qnaires", |f| f.recurring_qnaires.as_ref()),
        sent_qnaires: reassign("sent_qnaires", |f| f.sent_qnaires.as_ref()),
        inbox: forwarded(places, inbox, default_to.as_ref()),
        labs: labs_handling,
        support_ticket: labs.and_then(|(labs, _)| labs.support_ticket.clone()),
        allow_pending_claims: pick(own, defaults, "billing", |f| f.billing.as_ref())
            .is_some_and(|(billing, _)| billing.allow_pending_claims),
        fingerprint: String::new(),
    };
    plan.fingerprint = fingerprint(&plan);
    Ok(plan)
}

fn default_handling(default_to: Option<&Located<Username>>) -> Handling {
    match default_to {
        Some(to) => Handling::MoveTo(to.clone()),
        None => Handling::Unassigned,
    }
}

fn reassigned(
    places: &Places,
    picked: Option<(&Reassign, String)>,
    default_to: Option<&Located<Username>>,
) -> Handling {
    match picked {
        Some((
            Reassign {
                move_to: Some(to), ..
            },
            pointer,
        )) => Handling::MoveTo(Located {
            value: to.clone(),
            at: places.at(format!("{pointer}/move_to")),
        }),
        Some((
            Reassign {
                cancel: Some(true), ..
            },
            _,
        )) => Handling::Cancel,
        _ => default_handling(default_to),
    }
}

fn forwarded(
    places: &Places,
    picked: Option<(&Forward, String)>,
    default_to: Option<&Located<Username>>,
) -> Handling {
    match picked {
        Some((
            Forward {
                forward_to: Some(to),
                ..
            },
            pointer,
        )) => Handling::MoveTo(Located {
            value: to.clone(),
            at: places.at(format!("{pointer}/forward_to")),
        }),
        Some((
            Forward {
                discard: Some(true),
                ..
            },
            _,
        )) => Handling::Cancel,
        _ => default_handling(default_to),
    }
}

fn not_before(places: &Places, own: &Layer, defaults: &Layer) -> Result<Option<Date>, Diagnostic> {
    let Some((text, pointer)) = pick(own, defaults, "not_before", |f| f.not_before.as_ref()) else {
        return Ok(None);
    };
    text.parse::<Date>().map(Some).map_err(|_| {
        places
            .at(pointer)
            .diagnostic(format!("`{text}` is not a calendar date"))
    })
}
