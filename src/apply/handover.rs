//! Handing one category of a leaver's items over, inside a step's
//! transaction: the move or cancellation itself, and the audit detail that
//! says which item ids went where.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::plan::{Category, Handling};
use crate::store::{QnaireKind, Writer};

/// Who the items of one category go to, with the recipient's id resolved.
#[derive(Debug, Clone)]
pub enum Target {
    /// Nothing to say: the category had no items when reviewed.
    Unassigned,
    MoveTo {
        id: i64,
        name: String,
    },
    Cancel,
}

impl Target {
    /// The target a plan's handling means, given the recipient's id.
    pub fn of(handling: &Handling, recipient: Option<i64>) -> Target {
        match (handling, recipient) {
            (Handling::MoveTo(to), Some(id)) => Target::MoveTo {
                id,
                name: to.value.to_string(),
            },
            (Handling::Cancel, _) => Target::Cancel,
            _ => Target::Unassigned,
        }
    }
}

/// What handing a category over touched: item ids by kind, for the audit.
#[derive(Debug, Clone, Default)]
pub struct Handed {
    pub items: Vec<(&'static str, Vec<i64>)>,
}

impl Handed {
    pub fn count(&self) -> u64 {
        self.items.iter().map(|(_, ids)| ids.len() as u64).sum()
    }

    /// The audit detail: the action, the recipient, and the ids by kind.
    pub fn detail(&self, category: Category, target: &Target) -> Value {
        let (action, to) = match target {
            Target::MoveTo { name, .. } => ("move", Some(name.as_str())),
            Target::Cancel => ("cancel", None),
            Target::Unassigned => ("none", None),
        };
        let items: serde_json::Map<String, Value> = self
            .items
            .iter()
            .map(|(kind, ids)| (kind.to_string(), json!(ids)))
            .collect();
        json!({ "category": category.field(), "action": action, "to": to, "items": items })
    }
}

/// Hands over one category; `Unassigned` touches nothing and fails if
/// items appeared that the plan does not place.
pub fn hand_over(
    writer: &mut dyn Writer,
    category: Category,
    target: &Target,
    leaver: i64,
    now: Timestamp,
) -> anyhow::Result<Handed> {
    let items = match (category, target) {
        (_, Target::Unassigned) => return Ok(Handed::default()),
        (Category::Appointments, Target::MoveTo { id, .. }) => {
            let moved = writer.move_appointments(leaver, *id, now)?;
            vec![
                ("appointments", moved.appointments),
                ("appointment_qnaires", moved.qnaires),
            ]
        }
        (Category::Appointments, Target::Cancel) => {
            let cancelled = writer.cancel_appointments(leaver, now)?;
            vec![
                ("appointments", cancelled.appointments),
                ("appointment_qnaires", cancelled.qnaires),
            ]
        }
        (Category::RecurringQnaires, target) => {
            vec![(
                "recurring_qnaires",
                qnaires(writer, QnaireKind::Recurring, target, leaver)?,
            )]
        }
        (Category::SentQnaires, target) => {
            vec![(
                "sent_qnaires",
                qnaires(writer, QnaireKind::Sent, target, leaver)?,
            )]
        }
        (Category::Inbox, Target::MoveTo { id, .. }) => {
            vec![("inbox_messages", writer.forward_inbox(leaver, *id)?)]
        }
        (Category::Inbox, Target::Cancel) => {
            vec![("inbox_messages", writer.discard_inbox(leaver)?)]
        }
        (Category::Labs, Target::MoveTo { id, .. }) => {
            vec![("lab_integrations", writer.transfer_labs(leaver, *id)?)]
        }
        (Category::Labs, Target::Cancel) => anyhow::bail!("lab integrations cannot be cancelled"),
    };
    Ok(Handed { items })
}

fn qnaires(
    writer: &mut dyn Writer,
    kind: QnaireKind,
    target: &Target,
    leaver: i64,
) -> anyhow::Result<Vec<i64>> {
    match target {
        Target::MoveTo { id, .. } => writer.move_qnaires(leaver, *id, kind),
        _ => writer.remove_qnaires(leaver, kind),
    }
}
