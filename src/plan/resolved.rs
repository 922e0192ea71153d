//! The resolved plan: what one leaver's plan means once batch defaults and
//! `default_to` are applied. Review and apply use only this type.

use std::path::PathBuf;
use std::sync::Arc;

use jiff::civil::Date;

use super::model::Username;
use crate::diagnostic::Diagnostic;

/// A place in a plan file, kept so that findings about a plan's meaning can
/// point at the field they concern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: Arc<PathBuf>,
    pub line: u64,
    pub column: u64,
    /// JSON pointer of the field (`/plans/0/appointments/move_to`).
    pub pointer: String,
}

impl Location {
    /// A diagnostic about this place.
    pub fn diagnostic(&self, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: self.file.as_ref().clone(),
            line: self.line,
            column: self.column,
            field: crate::diagnostic::field_path(&self.pointer),
            code: None,
            message: message.into(),
            hint: None,
        }
    }
}

/// A value together with where the plan says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub at: Location,
}

/// What happens to one category of the leaver's items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handling {
    /// The plan says nothing: a blocker if the leaver has such items.
    Unassigned,
    /// Moved (appointments, qnaires), forwarded (inbox) or transferred (labs).
    MoveTo(Located<Username>),
    /// Cancelled (appointments, qnaires) or discarded (inbox).
    Cancel,
}

impl Handling {
    pub fn recipient(&self) -> Option<&Located<Username>> {
        match self {
            Handling::MoveTo(to) => Some(to),
            _ => None,
        }
    }
}

/// The categories of a leaver's work that a plan hands over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Appointments,
    RecurringQnaires,
    SentQnaires,
    Inbox,
    Labs,
}

impl Category {
    /// The plan field that sets this category.
    pub fn field(self) -> &'static str {
        match self {
            Category::Appointments => "appointments",
            Category::RecurringQnaires => "recurring_qnaires",
            Category::SentQnaires => "sent_qnaires",
            Category::Inbox => "inbox",
            Category::Labs => "labs",
        }
    }

    /// Whether the recipient must be a practitioner (they take over care).
    pub fn needs_practitioner(self) -> bool {
        matches!(
            self,
            Category::Appointments | Category::RecurringQnaires | Category::SentQnaires
        )
    }
}

/// One leaver's plan, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub user: Located<Username>,
    pub reason: Option<String>,
    pub not_before: Option<Date>,
    pub appointments: Handling,
    pub recurring_qnaires: Handling,
    pub sent_qnaires: Handling,
    pub inbox: Handling,
    pub labs: Handling,
    /// The vendor support ticket for a main lab integration.
    pub support_ticket: Option<String>,
    pub allow_pending_claims: bool,
    /// The sha256 of the plan's meaning; see `fingerprint`.
    pub fingerprint: String,
}

impl Plan {
    /// How the plan handles a category.
    pub fn handling(&self, category: Category) -> &Handling {
        match category {
            Category::Appointments => &self.appointments,
            Category::RecurringQnaires => &self.recurring_qnaires,
            Category::SentQnaires => &self.sent_qnaires,
            Category::Inbox => &self.inbox,
            Category::Labs => &self.labs,
        }
    }

    /// Every recipient the plan names, with its category.
    pub fn recipients(&self) -> impl Iterator<Item = (Category, &Located<Username>)> {
        CATEGORIES
            .iter()
            .filter_map(|&category| self.handling(category).recipient().map(|to| (category, to)))
    }
}

/// All categories, in the order apply handles them.
pub const CATEGORIES: [Category; 5] = [
    Category::Appointments,
    Category::RecurringQnaires,
    Category::SentQnaires,
    Category::Inbox,
    Category::Labs,
];
