//! The rows and reports that cross the store interface, named as in
//! DESIGN §1. Item ids are carried, never patient data.

use jiff::Timestamp;

/// A user of the EMR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub full_name: String,
    pub role: Role,
    pub province: Option<String>,
    pub active: bool,
    pub deactivated_at: Option<Timestamp>,
    /// The username of whoever deactivated this user.
    pub deactivated_by: Option<String>,
    pub password_hash: Option<String>,
}

/// What a user does in the clinic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Practitioner,
    Staff,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Practitioner => "practitioner",
            Role::Staff => "staff",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "practitioner" => Some(Role::Practitioner),
            "staff" => Some(Role::Staff),
            _ => None,
        }
    }
}

/// The two kinds of qnaire a plan moves on their own (appointment qnaires go
/// with their appointment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QnaireKind {
    /// Kind `recurring`, status `scheduled`.
    Recurring,
    /// Kind `sent`, status `sent`.
    Sent,
}

impl QnaireKind {
    /// The `kind` column value.
    pub fn kind(self) -> &'static str {
        match self {
            QnaireKind::Recurring => "recurring",
            QnaireKind::Sent => "sent",
        }
    }

    /// The `status` that makes a qnaire of this kind still open.
    pub fn open_status(self) -> &'static str {
        match self {
            QnaireKind::Recurring => "scheduled",
            QnaireKind::Sent => "sent",
        }
    }
}

/// What `db init` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitReport {
    /// EMR tables created (empty when they were all there).
    pub created_tables: Vec<String>,
    /// Indexes created.
    pub created_indexes: Vec<String>,
}

/// What a migration pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// The versions applied now, in order.
    pub applied: Vec<i64>,
    /// The version the database is at afterwards.
    pub version: i64,
}

/// A leaver's items per category of DESIGN §1, as sorted item ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    pub appointments: Vec<i64>,
    pub appointment_qnaires: Vec<i64>,
    pub recurring_qnaires: Vec<i64>,
    pub sent_qnaires: Vec<i64>,
    pub inbox_messages: Vec<i64>,
    /// How many of the open messages are snoozed.
    pub snoozed_messages: u64,
    pub lab_integrations: Vec<LabIntegration>,
    pub billing_links: Vec<BillingLink>,
    pub pending_claims: u64,
}

/// A lab feed that uses some user's details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabIntegration {
    pub id: i64,
    pub lab: String,
    pub is_main: bool,
}

/// A connected link to a billing system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingLink {
    pub system: String,
    pub billing_number: String,
}

/// Collisions between a leaver's future bookings and a recipient's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overlap {
    pub count: u64,
    pub earliest: Option<Timestamp>,
}

/// What moving or cancelling appointments touched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Moved {
    pub appointments: Vec<i64>,
    pub qnaires: Vec<i64>,
}

/// A run of one plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub id: i64,
    pub user: String,
    pub fingerprint: String,
    pub operator: String,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub status: String,
    /// Why the run last failed, if it did (cleared by nothing: history).
    pub last_error: Option<String>,
    pub failed_at: Option<Timestamp>,
}

/// A run about to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRun {
    pub user: String,
    pub fingerprint: String,
    pub operator: String,
}

/// A finished step of a run: its checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub run: i64,
    pub step: String,
    pub finished_at: Timestamp,
    pub items: u64,
}

/// One entry of the audit trail, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: Timestamp,
    pub operator: String,
    pub user: String,
    pub fingerprint: String,
    pub step: String,
    /// JSON: item ids and where they went.
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// An audit entry to append; the chain's hashes are computed by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub at: Timestamp,
    pub operator: String,
    pub user: String,
    pub fingerprint: String,
    pub step: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// A delivery to a billing system, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: i64,
    pub user_id: i64,
    pub system: String,
    pub billing_number: String,
    pub idempotency_key: String,
    pub reason: String,
    pub effective_at: Timestamp,
    pub status: String,
    pub attempts: u64,
    pub last_error: Option<String>,
    pub delivered_at: Option<Timestamp>,
}

/// A delivery to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutboxEntry {
    pub user_id: i64,
    pub system: String,
    pub billing_number: String,
    pub idempotency_key: String,
    pub reason: String,
    pub effective_at: Timestamp,
}

/// Who holds the runner lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    pub holder: String,
    pub pid: u32,
    pub host: String,
    pub acquired_at: Timestamp,
    pub heartbeat: Timestamp,
}

/// A user to seed.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub full_name: &'a str,
    pub role: Role,
    pub province: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub deactivated: Option<(Timestamp, i64)>,
}

/// An appointment to seed.
#[derive(Debug, Clone, Copy)]
pub struct NewAppointment {
    pub practitioner_id: i64,
    pub patient_id: i64,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub status: &'static str,
}

/// A qnaire to seed.
#[derive(Debug, Clone, Copy)]
pub struct NewQnaire {
    pub practitioner_id: i64,
    pub patient_id: i64,
    pub kind: &'static str,
    pub appointment_id: Option<i64>,
    pub status: &'static str,
}

/// An inbox message to seed.
#[derive(Debug, Clone, Copy)]
pub struct NewMessage<'a> {
    pub owner_id: i64,
    pub subject: &'a str,
    pub received_at: Timestamp,
    pub snoozed_until: Option<Timestamp>,
    pub archived: bool,
}

/// A billing link to seed.
#[derive(Debug, Clone, Copy)]
pub struct NewBillingLink<'a> {
    pub user_id: i64,
    pub system: &'a str,
    pub billing_number: &'a str,
    pub connected: bool,
}

/// A billing claim to seed; `service_date` is `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy)]
pub struct NewClaim<'a> {
    pub practitioner_id: i64,
    pub status: &'static str,
    pub service_date: &'a str,
}

/// A plan as claims know it (`apply --workers`): its leaver and fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanKey {
    pub user: String,
    pub fingerprint: String,
}

/// A runner of `apply --workers`, as its claims record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worker {
    /// A UUID made when the runner starts: two runs of one process differ.
    pub id: String,
    pub host: String,
    pub pid: u32,
}

/// A worker's claim on a plan, as stored. Times are the database's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub plan: PlanKey,
    pub worker: Worker,
    pub claimed_at: Timestamp,
    /// Until when the worker holds the plan unless it renews the lease.
    pub lease_until: Timestamp,
    /// When the worker let the plan go, having run it; `None` while held.
    pub released_at: Option<Timestamp>,
    /// How the plan ended for the worker that released it.
    pub outcome: Option<String>,
    /// How many times a worker took the plan over from one whose lease ended.
    pub takeovers: u64,
    /// Whether the lease had ended, by the database's clock, when read.
    pub expired: bool,
}

/// What a worker finds when it looks at a plan's claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// No worker ever claimed the plan.
    Unclaimed,
    /// Another transaction has the claim locked: its worker is inside a
    /// step of the plan right now (PostgreSQL only).
    Busy,
    /// The claim, locked until this transaction ends.
    Claim(Claim),
}
