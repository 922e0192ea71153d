//! The clinic database behind a backend-neutral interface: the EMR tables of
//! DESIGN §1 and handover's own `handover_*` state. Domain logic talks to a
//! [`Store`] and a [`Writer`] only; each backend (SQLite and PostgreSQL)
//! keeps its SQL to itself. Timestamps cross this interface as
//! [`Timestamp`]s, and the store never reads the clock: callers pass `now`.

mod error;
pub mod overlap;
pub mod postgres;
pub mod sqlite;
mod types;

pub use error::StoreError;
pub use types::*;

use std::time::Duration;

use jiff::Timestamp;

/// How a command means to use the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads only; a missing file is an error, never created.
    Read,
    /// Changes an existing database; a missing file is an error.
    Write,
    /// May create the database file (`db init`, `db seed`).
    Create,
}

/// Opens the clinic database that `--db` names: a file path, `sqlite://PATH`,
/// or `postgres://…` / `postgresql://…`.
pub fn open(url: &str, access: Access) -> Result<Box<dyn Store>, StoreError> {
    match Location::parse(url)? {
        Location::Sqlite { path, read_only } => {
            let access = if read_only { Access::Read } else { access };
            Ok(Box::new(sqlite::SqliteStore::open(&path, access)?))
        }
        Location::Postgres => Ok(Box::new(postgres::PostgresStore::open(url, access)?)),
    }
}

/// Where a database URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file; `read_only` when the URL ends in `?mode=ro`.
    Sqlite { path: String, read_only: bool },
    /// A PostgreSQL server. The URL is not kept: it may hold a password.
    Postgres,
}

impl Location {
    /// Reads a `--db` value. A value without `scheme://` is a file path.
    pub fn parse(url: &str) -> Result<Location, StoreError> {
        let Some((scheme, rest)) = url.split_once("://") else {
            return Ok(Location::Sqlite {
                path: url.to_string(),
                read_only: false,
            });
        };
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Ok(sqlite_location(rest)),
            "postgres" | "postgresql" => Ok(Location::Postgres),
            _ => Err(StoreError::UnknownScheme {
                scheme: scheme.to_string(),
            }),
        }
    }
}

fn sqlite_location(rest: &str) -> Location {
    match rest.split_once('?') {
        Some((path, query)) => Location::Sqlite {
            path: path.to_string(),
            read_only: query.split('&').any(|pair| pair == "mode=ro"),
        },
        None => Location::Sqlite {
            path: rest.to_string(),
            read_only: false,
        },
    }
}

/// The clinic database. Reads run outside any long transaction; every
/// change runs inside [`Store::write`] (or a method documented as writing),
/// each in one transaction that waits for other writers rather than failing.
pub trait Store {
    /// A name for the database fit for messages and logs (a file path, or a
    /// URL with its password removed).
    fn name(&self) -> &str;

    /// Creates the EMR tables of DESIGN §1 and their indexes when the
    /// database has none of them. When some exist, checks that every table
    /// and column is present: anything missing is reported by name in
    /// [`StoreError::Contract`] and nothing is changed. Idempotent.
    fn init_clinic(&mut self) -> Result<InitReport, StoreError>;

    /// Checks the EMR contract only (every table and column present), and
    /// that handover's own state is not from a newer release. Changes nothing.
    fn check_clinic(&self) -> Result<(), StoreError>;

    /// Applies handover's pending migrations of its `handover_*` tables, each
    /// recorded once with the time `now`. Refuses a database migrated by a
    /// newer release with [`StoreError::TooNew`].
    fn migrate(&mut self, now: Timestamp) -> Result<MigrationReport, StoreError>;

    /// The user with this username, if any.
    fn find_user(&self, username: &str) -> Result<Option<User>, StoreError>;

    /// Every user, in username order, with `deactivated_by` resolved to a
    /// username.
    fn users(&self) -> Result<Vec<User>, StoreError>;

    /// Whether the user holds a permission such as `edit_other_users`.
    fn has_permission(&self, user_id: i64, permission: &str) -> Result<bool, StoreError>;

    /// What a leaver holds at `now`, per category of DESIGN §1.
    fn inventory(&self, user_id: i64, now: Timestamp) -> Result<Inventory, StoreError>;

    /// How many of the leaver's future booked appointments overlap the
    /// recipient's own booked ones, and the earliest colliding start.
    fn schedule_overlap(
        &self,
        leaver: i64,
        recipient: i64,
        now: Timestamp,
    ) -> Result<Overlap, StoreError>;

    /// Whether any user exists (a seeded or live clinic).
    fn has_users(&self) -> Result<bool, StoreError>;

    /// Bulk-loads a synthetic clinic: `fill` adds rows through the
    /// [`SeedSink`], all in one transaction, committed only if it succeeds.
    fn seed(
        &mut self,
        fill: &mut dyn FnMut(&mut dyn SeedSink) -> anyhow::Result<()>,
    ) -> Result<(), StoreError>;

    /// Runs `work` in one transaction: committed if it returns `Ok`, rolled
    /// back otherwise (the error comes back as [`StoreError::Work`]).
    fn write(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Writer) -> anyhow::Result<()>,
    ) -> Result<(), StoreError>;

    /// Runs of plans, oldest first; only those of `user` when given.
    fn runs(&self, user: Option<&str>) -> Result<Vec<Run>, StoreError>;

    /// The finished steps of a run, in the order they finished.
    fn steps(&self, run: i64) -> Result<Vec<Step>, StoreError>;

    /// The audit trail in append order; only entries about `user` when given.
    fn audit(&self, user: Option<&str>) -> Result<Vec<AuditEntry>, StoreError>;

    /// Outbox deliveries; only those not yet delivered when `pending`.
    fn outbox(&self, pending: bool) -> Result<Vec<OutboxEntry>, StoreError>;

    /// Who last took the runner lock, if anyone.
    fn lock_holder(&self) -> Result<Option<LockHolder>, StoreError>;

    /// Takes the runner lock for as long as this store is open: `None` when
    /// taken, or who holds it. The operating system releases it when the
    /// process ends, however it ends, so a killed runner never blocks the
    /// next one.
    fn lock_runner(&mut self, me: &LockHolder) -> Result<Option<LockHolder>, StoreError>;

    /// Takes the runner lock shared, as the workers of `apply --workers`
    /// do: workers do not exclude one another, but they exclude a sole
    /// runner ([`Store::lock_runner`]) and it excludes them. `None` when
    /// taken, or who holds it; released when the process ends, as above.
    fn share_runner_lock(&mut self, me: &LockHolder) -> Result<Option<LockHolder>, StoreError>;

    /// The database's own clock. Leases of claims run on it, not on a
    /// runner's clock (nor `HANDOVER_NOW`), so that workers on machines
    /// whose clocks disagree still agree on when a lease has ended.
    fn clock(&self) -> Result<Timestamp, StoreError>;

    /// Every claim of `apply --workers`, by leaver (none before the first).
    fn claims(&self) -> Result<Vec<Claim>, StoreError>;
}

/// Changes inside one transaction of [`Store::write`]. Each move returns the
/// ids it touched, sorted. No method deletes an EMR row.
pub trait Writer {
    /// Moves the leaver's future booked appointments to `to`, with their
    /// appointment qnaires that are still `scheduled` or `sent`.
    fn move_appointments(&mut self, from: i64, to: i64, now: Timestamp) -> anyhow::Result<Moved>;

    /// Cancels the leaver's future booked appointments; their scheduled or
    /// sent appointment qnaires become `removed`.
    fn cancel_appointments(&mut self, from: i64, now: Timestamp) -> anyhow::Result<Moved>;

    /// Moves the leaver's recurring (`scheduled`) or sent (`sent`) qnaires.
    fn move_qnaires(&mut self, from: i64, to: i64, kind: QnaireKind) -> anyhow::Result<Vec<i64>>;

    /// Sets the leaver's recurring or sent qnaires to `removed`.
    fn remove_qnaires(&mut self, from: i64, kind: QnaireKind) -> anyhow::Result<Vec<i64>>;

    /// Forwards the leaver's open messages (snoozed ones too, snooze kept).
    fn forward_inbox(&mut self, from: i64, to: i64) -> anyhow::Result<Vec<i64>>;

    /// Archives the leaver's open messages (never deletes them).
    fn discard_inbox(&mut self, from: i64) -> anyhow::Result<Vec<i64>>;

    /// Transfers the lab integrations backed by the leaver.
    fn transfer_labs(&mut self, from: i64, to: i64) -> anyhow::Result<Vec<i64>>;

    /// Marks a user inactive, by whom and when.
    fn deactivate(&mut self, user: i64, by: i64, now: Timestamp) -> anyhow::Result<()>;

    /// Marks a user active again, clearing when and by whom.
    fn reactivate(&mut self, user: i64) -> anyhow::Result<()>;

    /// Marks a billing link disconnected (after the billing system agreed).
    fn disconnect_billing(&mut self, user: i64, system: &str) -> anyhow::Result<()>;

    /// Starts a run of a plan and returns its id.
    fn start_run(&mut self, run: &NewRun, now: Timestamp) -> anyhow::Result<i64>;

    /// Records why a run failed and when (its steps so far stay done).
    fn record_run_error(&mut self, run: i64, error: &str, now: Timestamp) -> anyhow::Result<()>;

    /// Sets a run's final status and when it finished.
    fn finish_run(&mut self, run: i64, status: &str, now: Timestamp) -> anyhow::Result<()>;

    /// Records a step of a run as finished (its checkpoint).
    fn record_step(
        &mut self,
        run: i64,
        step: &str,
        items: u64,
        now: Timestamp,
    ) -> anyhow::Result<()>;

    /// The last audit entry (to chain the next one to), if any.
    fn last_audit(&mut self) -> anyhow::Result<Option<AuditEntry>>;

    /// Appends an audit entry and returns its sequence number.
    fn append_audit(&mut self, entry: &NewAuditEntry) -> anyhow::Result<i64>;

    /// Queues a delivery; an existing one with the same idempotency key is
    /// kept as it is. Returns the delivery's id either way.
    fn enqueue_outbox(&mut self, entry: &NewOutboxEntry) -> anyhow::Result<i64>;

    /// Records a failed delivery attempt and its cause (no secrets in it).
    fn record_attempt(&mut self, id: i64, error: &str) -> anyhow::Result<()>;

    /// Marks a delivery done.
    fn mark_delivered(&mut self, id: i64, now: Timestamp) -> anyhow::Result<()>;

    /// What the leaver holds now, read inside this transaction (step 6
    /// checks nothing unplaced remains before it deactivates).
    fn inventory(&mut self, user_id: i64, now: Timestamp) -> anyhow::Result<Inventory>;

    /// Records who holds the runner lock, for the message a second runner
    /// shows. The lock itself is [`Store::lock_runner`].
    fn record_lock_holder(&mut self, holder: &LockHolder) -> anyhow::Result<()>;

    /// Locks the leaver's `users` row until the transaction ends. Every
    /// step takes it first: a booking path that locks its practitioner's
    /// row (a foreign key check does) then waits for the step to commit,
    /// so the step's sweep cannot miss a booking made while it runs.
    fn hold_user(&mut self, user: i64) -> anyhow::Result<()>;

    /// The claim on a plan, locked until the transaction ends; or that
    /// there is none, or that another transaction has it locked right now.
    fn claim(&mut self, plan: &PlanKey) -> anyhow::Result<Found>;

    /// Records a new claim of `worker` on a plan, its lease running from
    /// the database's clock; false when another claim on it came first.
    fn insert_claim(
        &mut self,
        plan: &PlanKey,
        worker: &Worker,
        lease: Duration,
    ) -> anyhow::Result<bool>;

    /// Gives the claim read by [`Writer::claim`] to `worker`, with a new
    /// lease; a `takeover` from a worker whose lease ended is counted.
    fn replace_claim(
        &mut self,
        plan: &PlanKey,
        worker: &Worker,
        lease: Duration,
        takeover: bool,
    ) -> anyhow::Result<()>;

    /// Extends `worker`'s lease on a plan it holds; false when the plan is
    /// no longer theirs (released, or taken over after their lease ended).
    fn renew_claim(
        &mut self,
        plan: &PlanKey,
        worker: &Worker,
        lease: Duration,
    ) -> anyhow::Result<bool>;

    /// Lets a plan go with how it ended; false when it was no longer
    /// `worker`'s.
    fn release_claim(
        &mut self,
        plan: &PlanKey,
        worker: &Worker,
        outcome: &str,
    ) -> anyhow::Result<bool>;
}

/// Receives the rows of a synthetic clinic during [`Store::seed`].
pub trait SeedSink {
    /// Adds a user and returns its id.
    fn user(&mut self, user: &NewUser<'_>) -> anyhow::Result<i64>;
    fn permission(&mut self, user_id: i64, permission: &str) -> anyhow::Result<()>;
    /// Adds an appointment and returns its id.
    fn appointment(&mut self, row: &NewAppointment) -> anyhow::Result<i64>;
    fn qnaire(&mut self, row: &NewQnaire) -> anyhow::Result<()>;
    fn message(&mut self, row: &NewMessage<'_>) -> anyhow::Result<()>;
    fn lab(&mut self, lab: &str, user_id: i64, is_main: bool) -> anyhow::Result<()>;
    fn billing_link(&mut self, link: &NewBillingLink<'_>) -> anyhow::Result<()>;
    fn claim(&mut self, row: &NewClaim<'_>) -> anyhow::Result<()>;
}

#[cfg(test)]
mod tests {
    use super::{Location, StoreError};

    fn sqlite(path: &str, read_only: bool) -> Location {
        Location::Sqlite {
            path: path.to_string(),
            read_only,
        }
    }

    #[test]
    fn a_bare_path_or_sqlite_url_is_a_sqlite_file() {
        assert_eq!(
            Location::parse("clinic.db").unwrap(),
            sqlite("clinic.db", false)
        );
        assert_eq!(
            Location::parse("sqlite:///tmp/c.db").unwrap(),
            sqlite("/tmp/c.db", false)
        );
        assert_eq!(
            Location::parse("sqlite://c.db?mode=ro").unwrap(),
            sqlite("c.db", true)
        );
    }

    #[test]
    fn postgres_urls_keep_no_password() {
        let location = Location::parse("postgresql://u:secret@host/db").unwrap();
        assert_eq!(location, Location::Postgres);
        assert!(!format!("{location:?}").contains("secret"));
    }

    #[test]
    fn other_schemes_are_named() {
        let err = Location::parse("mysql://x").unwrap_err();
        assert!(matches!(err, StoreError::UnknownScheme { ref scheme } if scheme == "mysql"));
        assert_eq!(err.exit(), crate::Exit::Invalid);
    }
}
