//! The stable codes of blockers and warnings (DESIGN §3), each with the
//! one-line hint a reviewer needs to fix the plan.

use serde::Serialize;

/// A blocker or warning code. The spelling is stable: programs match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    UserNotFound,
    UserInactive,
    TargetNotFound,
    TargetInactive,
    TargetIsUser,
    TargetLeaving,
    TargetNotPractitioner,
    AppointmentsUnassigned,
    RecurringQnairesUnassigned,
    SentQnairesUnassigned,
    InboxUnforwarded,
    LabUnassigned,
    MainLabNeedsSupport,
    PendingClaims,
    BillingEndpointMissing,
    OperatorLacksPermission,
    OperatorIsUser,
    DuplicateUser,
    PlanChanged,
    ReviewStale,
    // Warnings.
    AppointmentsCancelled,
    QnairesRemoved,
    InboxDiscarded,
    ScheduleOverlap,
    BillingDisconnect,
    OperatorUnknown,
}

impl Code {
    /// The code as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::UserNotFound => "user-not-found",
            Code::UserInactive => "user-inactive",
            Code::TargetNotFound => "target-not-found",
            Code::TargetInactive => "target-inactive",
            Code::TargetIsUser => "target-is-user",
            Code::TargetLeaving => "target-leaving",
            Code::TargetNotPractitioner => "target-not-practitioner",
            Code::AppointmentsUnassigned => "appointments-unassigned",
            Code::RecurringQnairesUnassigned => "recurring-qnaires-unassigned",
            Code::SentQnairesUnassigned => "sent-qnaires-unassigned",
            Code::InboxUnforwarded => "inbox-unforwarded",
            Code::LabUnassigned => "lab-unassigned",
            Code::MainLabNeedsSupport => "main-lab-needs-support",
            Code::PendingClaims => "pending-claims",
            Code::BillingEndpointMissing => "billing-endpoint-missing",
            Code::OperatorLacksPermission => "operator-lacks-permission",
            Code::OperatorIsUser => "operator-is-user",
            Code::DuplicateUser => "duplicate-user",
            Code::PlanChanged => "plan-changed",
            Code::ReviewStale => "review-stale",
            Code::AppointmentsCancelled => "appointments-cancelled",
            Code::QnairesRemoved => "qnaires-removed",
            Code::InboxDiscarded => "inbox-discarded",
            Code::ScheduleOverlap => "schedule-overlap",
            Code::BillingDisconnect => "billing-disconnect",
            Code::OperatorUnknown => "operator-unknown",
        }
    }

    /// Reads a code as written in reports.
    pub fn parse(text: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|code| code.as_str() == text)
    }

    /// How to fix a plan that this blocker stops; empty for warnings.
    pub fn hint(self) -> &'static str {
        match self {
            Code::UserNotFound => "check the spelling of `user` against `handover users`",
            Code::UserInactive => "this person is already deactivated; remove the plan",
            Code::TargetNotFound => "check the recipient's spelling against `handover users`",
            Code::TargetInactive => "choose a recipient whose account is active",
            Code::TargetIsUser | Code::TargetLeaving => "choose a recipient who stays",
            Code::TargetNotPractitioner => "appointments and qnaires need a practitioner",
            Code::AppointmentsUnassigned => {
                "set `appointments: { move_to: USER }` or `{ cancel: true }`, or `default_to`"
            }
            Code::RecurringQnairesUnassigned => {
                "set `recurring_qnaires: { move_to: USER }` or `{ cancel: true }`"
            }
            Code::SentQnairesUnassigned => {
                "set `sent_qnaires: { move_to: USER }` or `{ cancel: true }`"
            }
            Code::InboxUnforwarded => "set `inbox: { forward_to: USER }` or `{ discard: true }`",
            Code::LabUnassigned => "set `labs: { transfer_to: USER }`",
            Code::MainLabNeedsSupport => {
                "contact the EMR vendor's support, then add `labs.support_ticket`"
            }
            Code::PendingClaims => {
                "settle the claims first, or set `billing: { allow_pending_claims: true }`"
            }
            Code::BillingEndpointMissing => {
                "add `[billing.SYSTEM]` with `url` and `token_env` to the configuration"
            }
            Code::OperatorLacksPermission => {
                "run as an active operator who holds `edit_other_users`"
            }
            Code::OperatorIsUser => "nobody deactivates themselves; ask another operator",
            Code::DuplicateUser => "keep one plan per leaver",
            Code::PlanChanged => "restore the plan the run started with, or finish that run first",
            Code::ReviewStale => "review the plan again and apply the new review",
            _ => "",
        }
    }

    /// Whether this code is a warning rather than a blocker.
    pub fn is_warning(self) -> bool {
        self >= Code::AppointmentsCancelled
    }

    pub const ALL: [Code; 26] = [
        Code::UserNotFound,
        Code::UserInactive,
        Code::TargetNotFound,
        Code::TargetInactive,
        Code::TargetIsUser,
        Code::TargetLeaving,
        Code::TargetNotPractitioner,
        Code::AppointmentsUnassigned,
        Code::RecurringQnairesUnassigned,
        Code::SentQnairesUnassigned,
        Code::InboxUnforwarded,
        Code::LabUnassigned,
        Code::MainLabNeedsSupport,
        Code::PendingClaims,
        Code::BillingEndpointMissing,
        Code::OperatorLacksPermission,
        Code::OperatorIsUser,
        Code::DuplicateUser,
        Code::PlanChanged,
        Code::ReviewStale,
        Code::AppointmentsCancelled,
        Code::QnairesRemoved,
        Code::InboxDiscarded,
        Code::ScheduleOverlap,
        Code::BillingDisconnect,
        Code::OperatorUnknown,
    ];
}

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn codes_round_trip_and_blockers_have_hints() {
        for code in Code::ALL {
            assert_eq!(Code::parse(code.as_str()), Some(code));
            assert_eq!(code.is_warning(), code.hint().is_empty(), "{code:?}");
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }
}
