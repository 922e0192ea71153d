//! The steps of a run (DESIGN §4), in order. Steps 1–6 each change the
//! database in one transaction that also records the step's checkpoint and
//! its audit entries; step 7 delivers the billing disconnects queued by
//! step 6.

use crate::plan::Category;

/// One step of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Appointments,
    RecurringQnaires,
    SentQnaires,
    Inbox,
    Labs,
    Deactivate,
    Billing,
}

/// Every step, in the order a run takes them.
pub const STEPS: [Step; 7] = [
    Step::Appointments,
    Step::RecurringQnaires,
    Step::SentQnaires,
    Step::Inbox,
    Step::Labs,
    Step::Deactivate,
    Step::Billing,
];

impl Step {
    /// The step's name in checkpoints, the audit trail, logs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Step::Appointments => "appointments",
            Step::RecurringQnaires => "recurring-qnaires",
            Step::SentQnaires => "sent-qnaires",
            Step::Inbox => "inbox",
            Step::Labs => "labs",
            Step::Deactivate => "deactivate",
            Step::Billing => "billing",
        }
    }

    /// The category of items the step hands over, for steps 1–5.
    pub fn category(self) -> Option<Category> {
        match self {
            Step::Appointments => Some(Category::Appointments),
            Step::RecurringQnaires => Some(Category::RecurringQnaires),
            Step::SentQnaires => Some(Category::SentQnaires),
            Step::Inbox => Some(Category::Inbox),
            Step::Labs => Some(Category::Labs),
            Step::Deactivate | Step::Billing => None,
        }
    }
}
