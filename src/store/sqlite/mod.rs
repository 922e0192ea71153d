//! The SQLite backend (rusqlite, bundled SQLite). Settings that keep data
//! safe: write-ahead log, `synchronous=FULL`, foreign keys on, a busy
//! timeout, and every writing transaction begun `IMMEDIATE` so that a second
//! writer waits for the first instead of failing half-way.

mod claims;
mod migrations;
mod reads;
mod schema;
mod seed;
mod writer;

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};

use crate::store::{
    Access, AuditEntry, Claim, InitReport, Inventory, LockHolder, MigrationReport, OutboxEntry,
    Overlap, Run, SeedSink, Step, Store, StoreError, User, Writer,
};

pub use migrations::SUPPORTED as SUPPORTED_VERSION;
pub use schema::{CONTRACT, INDEXES};

/// The environment variable that sets the busy timeout in milliseconds.
pub const BUSY_TIMEOUT_VAR: &str = "HANDOVER_BUSY_TIMEOUT_MS";

const DEFAULT_BUSY_TIMEOUT_MS: u64 = 5_000;

/// A clinic database in one SQLite file.
pub struct SqliteStore {
    conn: Connection,
    path: String,
    busy_timeout_ms: u64,
    /// The runner lock file, locked while this store holds the lock.
    runner_lock: Option<std::fs::File>,
}

impl SqliteStore {
    /// Whether handover's own tables exist (a database never migrated has
    /// no runs, audit or outbox yet).
    fn has_state(&self) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'handover_runs')",
                [],
                |row| row.get(0),
            )
            .map_err(|err| self.error("read the database schema", err))
    }

    /// Opens the file at `path`. Only [`Access::Create`] may create it.
    pub fn open(path: &str, access: Access) -> Result<SqliteStore, StoreError> {
        check_location(path, access)?;
        let conn = Connection::open_with_flags(path, open_flags(access))
            .map_err(|err| classify(path, "open the database", err))?;
        let store = SqliteStore {
            conn,
            path: path.to_string(),
            busy_timeout_ms: busy_timeout_ms(),
            runner_lock: None,
        };
        store.configure(access)?;
        tracing::debug!(db = path, ?access, "opened the clinic database");
        Ok(store)
    }

    fn configure(&self, access: Access) -> Result<(), StoreError> {
        let timeout = Duration::from_millis(self.busy_timeout_ms);
        self.conn
            .busy_timeout(timeout)
            .map_err(|err| self.error("set the busy timeout", err))?;
        self.conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |row| {
                row.get::<_, i64>(0)
            })
            .map_err(|err| self.error("read the schema", err))?;
        if access != Access::Read && !self.is_read_only() {
            self.conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
                .map_err(|err| self.error("switch to the write-ahead log", err))?;
        }
        self.conn
            .execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(|err| self.error("configure the connection", err))?;
        if access == Access::Read {
            // A review reads many small index ranges: a larger page cache
            // keeps it from paying a system call for each. Not memory-mapped
            // reads: every page they touch counts in the resident size, so
            // the peak would grow with the clinic.
            self.conn
                .execute_batch("PRAGMA cache_size = -16384;")
                .map_err(|err| self.error("configure the connection", err))?;
        } else {
            // Checkpoint the log every ~40 MiB rather than every ~4 MiB: an
            // apply commits a few hundred small steps, each touching pages
            // all over the tables, and copying them back each 1,000 pages
            // cost it a fifth of its time. Each commit is still synced.
            self.conn
                .execute_batch("PRAGMA wal_autocheckpoint = 10000;")
                .map_err(|err| self.error("configure the connection", err))?;
        }
        Ok(())
    }

    fn is_read_only(&self) -> bool {
        self.conn.is_readonly("main").unwrap_or(true)
    }

    /// Begins a writing transaction that waits for other writers.
    fn immediate(&mut self) -> Result<Transaction<'_>, StoreError> {
        if self.is_read_only() {
            return Err(StoreError::ReadOnly {
                db: self.path.clone(),
            });
        }
        let path = self.path.clone();
        let waited_ms = self.busy_timeout_ms;
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|err| classify_waited(&path, "begin a transaction", err, waited_ms))
    }

    fn error(&self, action: &'static str, err: rusqlite::Error) -> StoreError {
        classify_waited(&self.path, action, err, self.busy_timeout_ms)
    }

    fn survey(&self) -> Result<schema::Survey, StoreError> {
        schema::survey(&self.conn).map_err(|err| self.error("read the schema", err))
    }

    fn check_version(&self) -> Result<i64, StoreError> {
        let found = migrations::current_version(&self.conn)
            .map_err(|err| self.error("read the migration version", err))?;
        if found > migrations::SUPPORTED {
            return Err(StoreError::TooNew {
                db: self.path.clone(),
                found,
                supported: migrations::SUPPORTED,
            });
        }
        Ok(found)
    }

    fn contract_error(&self, missing: Vec<String>) -> StoreError {
        StoreError::Contract {
            db: self.path.clone(),
            missing,
        }
    }

    fn create_clinic(&mut self, survey: &schema::Survey) -> Result<InitReport, StoreError> {
        let path = self.path.clone();
        let tx = self.immediate()?;
        let fresh = schema::survey(&tx).map_err(|err| classify(&path, "read the schema", err))?;
        let create_tables = fresh.is_empty();
        if !create_tables && !fresh.missing.is_empty() {
            return Err(StoreError::Contract {
                db: path,
                missing: fresh.missing,
            });
        }
        let report = create_in(&tx, create_tables, survey)
            .map_err(|err| classify(&path, "create the EMR tables", err))?;
        tx.commit()
            .map_err(|err| classify(&path, "commit the EMR tables", err))?;
        Ok(report)
    }
}

fn create_in(
    tx: &Transaction<'_>,
    create_tables: bool,
    survey: &schema::Survey,
) -> rusqlite::Result<InitReport> {
    let mut report = InitReport::default();
    if create_tables {
        for (name, sql) in schema::TABLES {
            tx.execute_batch(sql)?;
            report.created_tables.push((*name).to_string());
        }
    }
    for (name, sql) in schema::INDEXES {
        if create_tables || survey.missing_indexes.contains(name) {
            tx.execute_batch(sql)?;
            report.created_indexes.push((*name).to_string());
        }
    }
    Ok(report)
}

impl Store for SqliteStore {
    fn name(&self) -> &str {
        &self.path
    }

    fn init_clinic(&mut self) -> Result<InitReport, StoreError> {
        let survey = self.survey()?;
        if !survey.is_empty() && !survey.missing.is_empty() {
            return Err(self.contract_error(survey.missing));
        }
        if !survey.is_empty() && survey.missing_indexes.is_empty() {
            return Ok(InitReport::default());
        }
        self.create_clinic(&survey)
    }

    fn check_clinic(&self) -> Result<(), StoreError> {
        let survey = self.survey()?;
        if !survey.missing.is_empty() {
            return Err(self.contract_error(survey.missing));
        }
        self.check_version().map(|_| ())
    }

    fn migrate(&mut self, now: Timestamp) -> Result<MigrationReport, StoreError> {
        let found = self.check_version()?;
        if found == migrations::SUPPORTED {
            return Ok(MigrationReport {
                applied: Vec::new(),
                version: found,
            });
        }
        let path = self.path.clone();
        let tx = self.immediate()?;
        let found = migrations::current_version(&tx)
            .map_err(|err| classify(&path, "read the migration version", err))?;
        let applied = migrations::apply_from(&tx, found, &crate::clock::to_db_text(now))
            .map_err(|err| classify(&path, "migrate handover's tables", err))?;
        tx.commit()
            .map_err(|err| classify(&path, "commit the migration", err))?;
        Ok(MigrationReport {
            applied,
            version: migrations::SUPPORTED.max(found),
        })
    }

    fn find_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        reads::find_user(&self.conn, username).map_err(|err| self.error("read a user", err))
    }

    fn users(&self) -> Result<Vec<User>, StoreError> {
        reads::users(&self.conn).map_err(|err| self.error("read the users", err))
    }

    fn has_permission(&self, user_id: i64, permission: &str) -> Result<bool, StoreError> {
        reads::has_permission(&self.conn, user_id, permission)
            .map_err(|err| self.error("read a permission", err))
    }

    fn inventory(&self, user_id: i64, now: Timestamp) -> Result<Inventory, StoreError> {
        reads::inventory(&self.conn, user_id, now)
            .map_err(|err| self.error("read a leaver's items", err))
    }

    fn schedule_overlap(
        &self,
        leaver: i64,
        recipient: i64,
        now: Timestamp,
    ) -> Result<Overlap, StoreError> {
        reads::schedule_overlap(&self.conn, leaver, recipient, now)
            .map_err(|err| self.error("compare schedules", err))
    }

    fn has_users(&self) -> Result<bool, StoreError> {
        self.conn
            .query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |row| row.get(0))
            .map_err(|err| self.error("read the users", err))
    }

    fn seed(
        &mut self,
        fill: &mut dyn FnMut(&mut dyn SeedSink) -> anyhow::Result<()>,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let waited_ms = self.busy_timeout_ms;
        let tx = self.immediate()?;
        seed::load(&tx, fill).map_err(|err| classify_work(&path, err, waited_ms))?;
        tx.commit()
            .map_err(|err| classify(&path, "commit the seeded clinic", err))
    }

    fn write(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Writer) -> anyhow::Result<()>,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let waited_ms = self.busy_timeout_ms;
        let tx = self.immediate()?;
        let mut writer = writer::SqliteWriter::new(&tx);
        work(&mut writer).map_err(|err| classify_work(&path, err, waited_ms))?;
        tx.commit()
            .map_err(|err| classify(&path, "commit the changes", err))
    }

    fn runs(&self, user: Option<&str>) -> Result<Vec<Run>, StoreError> {
        if !self.has_state()? {
            return Ok(Vec::new());
        }
        reads::runs(&self.conn, user).map_err(|err| self.error("read the runs", err))
    }

    fn steps(&self, run: i64) -> Result<Vec<Step>, StoreError> {
        if !self.has_state()? {
            return Ok(Vec::new());
        }
        reads::steps(&self.conn, run).map_err(|err| self.error("read the steps", err))
    }

    fn audit(&self, user: Option<&str>) -> Result<Vec<AuditEntry>, StoreError> {
        if !self.has_state()? {
            return Ok(Vec::new());
        }
        reads::audit(&self.conn, user).map_err(|err| self.error("read the audit trail", err))
    }

    fn outbox(&self, pending: bool) -> Result<Vec<OutboxEntry>, StoreError> {
        if !self.has_state()? {
            return Ok(Vec::new());
        }
        reads::outbox(&self.conn, pending).map_err(|err| self.error("read the outbox", err))
    }

    fn lock_holder(&self) -> Result<Option<LockHolder>, StoreError> {
        if !self.has_state()? {
            return Ok(None);
        }
        reads::lock_holder(&self.conn).map_err(|err| self.error("read the runner lock", err))
    }

    fn lock_runner(&mut self, me: &LockHolder) -> Result<Option<LockHolder>, StoreError> {
        self.runner_lock(me, false)
    }

    fn share_runner_lock(&mut self, me: &LockHolder) -> Result<Option<LockHolder>, StoreError> {
        self.runner_lock(me, true)
    }

    fn clock(&self) -> Result<Timestamp, StoreError> {
        let sql = format!("SELECT {}", claims::NOW);
        self.conn
            .query_row(&sql, [], |row| timestamp(&row.get::<_, String>(0)?))
            .map_err(|err| self.error("read the database clock", err))
    }

    fn claims(&self) -> Result<Vec<Claim>, StoreError> {
        claims::all(&self.conn).map_err(|err| self.error("read the claims", err))
    }
}

impl SqliteStore {
    /// Takes the runner lock file, `shared` among workers or sole. The
    /// operating system releases it when the process ends.
    fn runner_lock(
        &mut self,
        me: &LockHolder,
        shared: bool,
    ) -> Result<Option<LockHolder>, StoreError> {
        if self.runner_lock.is_some() {
            return Ok(None);
        }
        let path = format!("{}.handover-lock", self.path);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|err| StoreError::Backend {
                db: self.path.clone(),
                action: "open the runner lock file",
                source: Box::new(err),
            })?;
        let taken = if shared {
            file.try_lock_shared()
        } else {
            file.try_lock()
        };
        match taken {
            Ok(()) => {
                self.runner_lock = Some(file);
                self.write(&mut |writer| writer.record_lock_holder(me))?;
                Ok(None)
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let unknown = LockHolder {
                    holder: "unknown".into(),
                    pid: 0,
                    host: "?".into(),
                    ..me.clone()
                };
                Ok(Some(self.lock_holder()?.unwrap_or(unknown)))
            }
            Err(std::fs::TryLockError::Error(err)) => Err(StoreError::Backend {
                db: self.path.clone(),
                action: "take the runner lock",
                source: Box::new(err),
            }),
        }
    }
}

fn open_flags(access: Access) -> OpenFlags {
    let base = OpenFlags::SQLITE_OPEN_NO_MUTEX;
    match access {
        Access::Read => base | OpenFlags::SQLITE_OPEN_READ_ONLY,
        Access::Write => base | OpenFlags::SQLITE_OPEN_READ_WRITE,
        Access::Create => base | OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
    }
}

/// Refuses a path in a missing directory, and a missing file unless the
/// command may create it, before SQLite gets a chance to.
fn check_location(path: &str, access: Access) -> Result<(), StoreError> {
    let file = Path::new(path);
    if let Some(dir) = file.parent().filter(|dir| !dir.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(StoreError::MissingDirectory {
            db: path.to_string(),
            dir: dir.display().to_string(),
        });
    }
    if access != Access::Create && !file.exists() {
        return Err(StoreError::NotFound {
            db: path.to_string(),
        });
    }
    Ok(())
}

fn busy_timeout_ms() -> u64 {
    std::env::var(BUSY_TIMEOUT_VAR)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(DEFAULT_BUSY_TIMEOUT_MS)
}

fn classify(path: &str, action: &'static str, err: rusqlite::Error) -> StoreError {
    classify_waited(path, action, err, busy_timeout_ms())
}

/// Turns a SQLite error into the problem it means for the person running
/// the command.
fn classify_waited(
    path: &str,
    action: &'static str,
    err: rusqlite::Error,
    waited_ms: u64,
) -> StoreError {
    let db = path.to_string();
    match err.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError::NotADatabase { db },
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StoreError::Busy { db, waited_ms }
        }
        Some(ErrorCode::ReadOnly) => StoreError::ReadOnly { db },
        _ => StoreError::Backend {
            db,
            action,
            source: Box::new(err),
        },
    }
}

/// An error from work inside a transaction: a database problem keeps its
/// meaning (busy, read-only); anything else is the work's own failure.
fn classify_work(path: &str, err: anyhow::Error, waited_ms: u64) -> StoreError {
    match err.downcast::<rusqlite::Error>() {
        Ok(err) => classify_waited(path, "change the database", err, waited_ms),
        Err(err) => StoreError::Work(err),
    }
}

/// Reads a timestamp column written as UTC text.
fn timestamp(text: &str) -> rusqlite::Result<Timestamp> {
    text.parse().map_err(|err: jiff::Error| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(err))
    })
}

fn optional_timestamp(text: Option<String>) -> rusqlite::Result<Option<Timestamp>> {
    text.as_deref().map(timestamp).transpose()
}

/// A count read from SQLite, where integers are signed.
fn unsigned(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
