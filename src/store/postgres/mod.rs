//! The PostgreSQL backend (tokio-postgres through a small deadpool pool).
//! The store owns a current-thread tokio runtime and blocks on it inside
//! each trait method, so the rest of handover stays synchronous. Sessions
//! to another machine use TLS ([`tls`]). Writing transactions run at READ
//! COMMITTED, hold the leaver's `users` row and lock the rows they move
//! with `SELECT … FOR UPDATE`, so a second writer waits instead of failing.
//! The runner lock is a session advisory lock (exclusive for a sole runner,
//! shared among `--workers`) on a connection kept open for the store's
//! lifetime: the server drops it when the process dies. The URL is never
//! shown with its password: [`PostgresStore::name`] has it removed.

mod claims;
mod migrations;
mod reads;
mod schema;
mod seed;
mod tls;
mod writer;

use std::str::FromStr;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use jiff::Timestamp;
use tokio::runtime::Runtime;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls};

use tls::Connector;

use crate::store::{
    Access, AuditEntry, Claim, InitReport, Inventory, LockHolder, MigrationReport, OutboxEntry,
    Overlap, Run, SeedSink, Step, Store, StoreError, User, Writer,
};

pub use migrations::SUPPORTED as SUPPORTED_VERSION;

/// The advisory lock key of the runner lock (the bytes of `handover`).
const RUNNER_KEY: i64 = 0x6861_6e64_6f76_6572;
/// The transaction advisory lock that serialises schema changes.
const SCHEMA_KEY: i64 = RUNNER_KEY + 1;
/// The transaction advisory lock that serialises audit appends.
const AUDIT_KEY: i64 = RUNNER_KEY + 2;

/// How many pooled connections a command uses (one at a time in practice).
const POOL_SIZE: usize = 2;

/// A clinic database on a PostgreSQL server.
pub struct PostgresStore {
    runtime: Runtime,
    pool: Pool,
    config: Config,
    /// Plain TCP or TLS, as [`tls::transport`] decided for the URL.
    connector: Connector,
    /// The URL without its password.
    name: String,
    /// The session holding the runner lock, while this store holds it.
    runner: Option<Client>,
}

impl PostgresStore {
    /// Connects to the database `url` names. [`Access::Read`] makes every
    /// session read-only, so a review cannot write even by mistake.
    pub fn open(url: &str, access: Access) -> Result<PostgresStore, StoreError> {
        let name = redact(url);
        let mut config = Config::from_str(url).map_err(|err| StoreError::Backend {
            db: name.clone(),
            action: "read the PostgreSQL URL",
            source: Box::new(err),
        })?;
        if access == Access::Read {
            config.options("-c default_transaction_read_only=on");
        }
        let transport = tls::transport(&config, tls::sslmode_written(url));
        let connector = Connector::for_transport(&mut config, transport).map_err(|cause| {
            StoreError::Backend {
                db: name.clone(),
                action: "set up TLS",
                source: cause.into(),
            }
        })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|err| StoreError::Backend {
                db: name.clone(),
                action: "start the PostgreSQL client",
                source: Box::new(err),
            })?;
        let pool = pool(config.clone(), &connector).map_err(|err| StoreError::Backend {
            db: name.clone(),
            action: "start the connection pool",
            source: Box::new(err),
        })?;
        let store = PostgresStore {
            runtime,
            pool,
            config,
            connector,
            name,
            runner: None,
        };
        drop(store.client()?);
        tracing::debug!(
            db = store.name,
            ?access,
            ?transport,
            "opened the clinic database"
        );
        Ok(store)
    }

    /// A pooled session; a failure to connect names the server.
    fn client(&self) -> Result<Object, StoreError> {
        self.runtime
            .block_on(self.pool.get())
            .map_err(|err| match err {
                deadpool_postgres::PoolError::Backend(err) => self.unreachable(err),
                other => StoreError::Unreachable {
                    db: self.name.clone(),
                    cause: other.to_string(),
                },
            })
    }

    /// A failure to connect: refused, unknown host, no such database,
    /// authentication failed.
    fn unreachable(&self, err: tokio_postgres::Error) -> StoreError {
        StoreError::Unreachable {
            db: self.name.clone(),
            cause: cause_of(&err),
        }
    }

    fn error(&self, action: &'static str, err: tokio_postgres::Error) -> StoreError {
        classify(&self.name, action, err)
    }

    /// Runs one read on a pooled session.
    fn read<T>(
        &self,
        action: &'static str,
        query: impl AsyncFnOnce(&Client) -> Result<T, tokio_postgres::Error>,
    ) -> Result<T, StoreError> {
        let object = self.client()?;
        let client: &Client = &object;
        self.runtime
            .block_on(query(client))
            .map_err(|err| self.error(action, err))
    }

    fn has_state(&self) -> Result<bool, StoreError> {
        self.read("read the database schema", async |client| {
            let row = client
                .query_one("SELECT to_regclass('handover_runs') IS NOT NULL", &[])
                .await?;
            Ok(row.get(0))
        })
    }

    fn check_version(&self) -> Result<i64, StoreError> {
        let found = self.read("read the migration version", async |client| {
            migrations::current_version(client).await
        })?;
        if found > migrations::SUPPORTED {
            return Err(StoreError::TooNew {
                db: self.name.clone(),
                found,
                supported: migrations::SUPPORTED,
            });
        }
        Ok(found)
    }

    fn survey(&self) -> Result<schema::Survey, StoreError> {
        self.read("read the schema", async |client| {
            schema::survey(client).await
        })
    }

    fn contract_error(&self, missing: Vec<String>) -> StoreError {
        StoreError::Contract {
            db: self.name.clone(),
            missing,
        }
    }

    /// Runs `work` in one READ COMMITTED transaction on a pooled session.
    fn transaction<T>(
        &self,
        work: impl FnOnce(&Runtime, &tokio_postgres::Transaction<'_>) -> anyhow::Result<T>,
    ) -> Result<T, StoreError> {
        let mut object = self.client()?;
        let client: &mut Client = &mut object;
        let tx = self
            .runtime
            .block_on(client.transaction())
            .map_err(|err| self.error("begin a transaction", err))?;
        match work(&self.runtime, &tx) {
            Ok(value) => {
                self.runtime
                    .block_on(tx.commit())
                    .map_err(|err| self.error("commit the changes", err))?;
                Ok(value)
            }
            Err(err) => {
                let _ = self.runtime.block_on(tx.rollback());
                Err(classify_work(&self.name, err))
            }
        }
    }

    /// Takes the runner lock, `shared` among workers or sole, on a session
    /// of its own that lives as long as the store.
    fn take_runner_lock(&mut self, shared: bool) -> Result<bool, StoreError> {
        let client = self
            .runtime
            .block_on(self.connector.connect(&self.config))
            .map_err(|err| self.unreachable(err))?;
        let sql = if shared {
            "SELECT pg_try_advisory_lock_shared($1)"
        } else {
            "SELECT pg_try_advisory_lock($1)"
        };
        let taken: bool = self
            .runtime
            .block_on(client.query_one(sql, &[&RUNNER_KEY]))
            .map_err(|err| self.error("take the runner lock", err))?
            .get(0);
        if taken {
            self.runner = Some(client);
        }
        Ok(taken)
    }
}

fn pool(config: Config, connector: &Connector) -> Result<Pool, deadpool_postgres::BuildError> {
    let recycling = || ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = match connector {
        Connector::Plain => Manager::from_config(config, NoTls, recycling()),
        Connector::Tls(tls) => Manager::from_config(config, tls.clone(), recycling()),
    };
    Pool::builder(manager).max_size(POOL_SIZE).build()
}

impl Store for PostgresStore {
    fn name(&self) -> &str {
        &self.name
    }

    fn init_clinic(&mut self) -> Result<InitReport, StoreError> {
        let survey = self.survey()?;
        if !survey.is_empty() && !survey.missing.is_empty() {
            return Err(self.contract_error(survey.missing));
        }
        if !survey.is_empty() && survey.missing_indexes.is_empty() {
            return Ok(InitReport::default());
        }
        let name = self.name.clone();
        self.transaction(|runtime, tx| runtime.block_on(schema::create(tx, &name)))
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
        let name = self.name.clone();
        self.transaction(|runtime, tx| runtime.block_on(migrations::migrate(tx, &name, now)))
    }

    fn find_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.read("read a user", async |client| {
            reads::find_user(client, username).await
        })
    }

    fn users(&self) -> Result<Vec<User>, StoreError> {
        self.read("read the users", async |client| reads::users(client).await)
    }

    fn has_permission(&self, user_id: i64, permission: &str) -> Result<bool, StoreError> {
        self.read("read a permission", async |client| {
            reads::has_permission(client, user_id, permission).await
        })
    }

    fn inventory(&self, user_id: i64, now: Timestamp) -> Result<Inventory, StoreError> {
        self.read("read a leaver's items", async |client| {
            reads::inventory(client, user_id, now).await
        })
    }

    fn schedule_overlap(
        &self,
        leaver: i64,
        recipient: i64,
        now: Timestamp,
    ) -> Result<Overlap, StoreError> {
        self.read("compare schedules", async |client| {
            reads::schedule_overlap(client, leaver, recipient, now).await
        })
    }

    fn has_users(&self) -> Result<bool, StoreError> {
        self.read("read the users", async |client| {
            let row = client
                .query_one("SELECT EXISTS (SELECT 1 FROM users)", &[])
                .await?;
            Ok(row.get(0))
        })
    }

    fn seed(
        &mut self,
        fill: &mut dyn FnMut(&mut dyn SeedSink) -> anyhow::Result<()>,
    ) -> Result<(), StoreError> {
        self.transaction(|runtime, tx| seed::load(runtime, tx, fill))
    }

    fn write(
        &mut self,
        work: &mut dyn FnMut(&mut dyn Writer) -> anyhow::Result<()>,
    ) -> Result<(), StoreError> {
        self.transaction(|runtime, tx| {
            let mut writer = writer::PostgresWriter::new(runtime, tx);
            work(&mut writer)
        })
    }

    fn runs(&self, user: Option<&str>) -> Result<Vec<Run>, StoreError> {
        if !self.has_state()? {
            return Ok(Vec::new());
        }
        self.read("read the runs", async |client| {
            reads::runs(client, user).await
        })
    }

    fn steps(&self, run: i64) -> Result<Vec<Step>, StoreError> {
        if !self.has_state()? {
            return Ok(Vec::new());
        }
        self.read("read the steps", async |client| {
            reads::steps(client, run).await
        })
    }

    fn audit(&self, user: Option<&str>) -> Result<Vec<AuditEntry>, StoreError> {
        if !self.has_state()? {
            return Ok(Vec::new());
        }
        self.read("read the audit trail", async |client| {
            reads::audit(client, user).await
        })
    }

    fn outbox(&self, pending: bool) -> Result<Vec<OutboxEntry>, StoreError> {
        if !self.has_state()? {
            return Ok(Vec::new());
        }
        self.read("read the outbox", async |client| {
            reads::outbox(client, pending).await
        })
    }

    fn lock_holder(&self) -> Result<Option<LockHolder>, StoreError> {
        if !self.has_state()? {
            return Ok(None);
        }
        self.read("read the runner lock", async |client| {
            reads::lock_holder(client).await
        })
    }

    fn lock_runner(&mut self, me: &LockHolder) -> Result<Option<LockHolder>, StoreError> {
        self.runner_lock(me, false)
    }

    fn share_runner_lock(&mut self, me: &LockHolder) -> Result<Option<LockHolder>, StoreError> {
        self.runner_lock(me, true)
    }

    fn clock(&self) -> Result<Timestamp, StoreError> {
        self.read("read the database clock", async |client| {
            Ok(client.query_one("SELECT now()", &[]).await?.get(0))
        })
    }

    fn claims(&self) -> Result<Vec<Claim>, StoreError> {
        self.read("read the claims", async |client| claims::all(client).await)
    }
}

impl PostgresStore {
    fn runner_lock(
        &mut self,
        me: &LockHolder,
        shared: bool,
    ) -> Result<Option<LockHolder>, StoreError> {
        if self.runner.is_some() {
            return Ok(None);
        }
        if self.take_runner_lock(shared)? {
            self.write(&mut |writer| writer.record_lock_holder(me))?;
            return Ok(None);
        }
        let unknown = LockHolder {
            holder: "unknown".into(),
            pid: 0,
            host: "?".into(),
            ..me.clone()
        };
        Ok(Some(self.lock_holder()?.unwrap_or(unknown)))
    }
}

/// The URL with any password taken out: from the user part
/// (`user:secret@`) and from a `password=` query parameter.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let authority_end = before_query.find('/').unwrap_or(before_query.len());
    let (authority, path) = before_query.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            format!("{user}@{host}")
        }
        None => authority.to_string(),
    };
    let mut redacted = format!("{scheme}://{authority}{path}");
    if let Some(query) = query {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| !pair.to_ascii_lowercase().starts_with("password="))
            .collect();
        if !kept.is_empty() {
            redacted.push('?');
            redacted.push_str(&kept.join("&"));
        }
    }
    redacted
}

/// The error's own message and its causes, one line.
fn cause_of(err: &tokio_postgres::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Turns a PostgreSQL error into the problem it means for the person
/// running the command.
fn classify(db: &str, action: &'static str, err: tokio_postgres::Error) -> StoreError {
    let db = db.to_string();
    if err.code() == Some(&SqlState::READ_ONLY_SQL_TRANSACTION) {
        return StoreError::ReadOnly { db };
    }
    if err.is_closed() {
        return StoreError::Unreachable {
            db,
            cause: cause_of(&err),
        };
    }
    StoreError::Backend {
        db,
        action,
        source: Box::new(err),
    }
}

/// An error from work inside a transaction: a database problem keeps its
/// meaning (read-only, unreachable); anything else is the work's own.
fn classify_work(db: &str, err: anyhow::Error) -> StoreError {
    match err.downcast::<StoreError>() {
        Ok(err) => err,
        Err(err) => match err.downcast::<tokio_postgres::Error>() {
            Ok(err) => classify(db, "change the database", err),
            Err(err) => StoreError::Work(err),
        },
    }
}

/// A timestamp cut to whole seconds, as SQLite's text form keeps it, so
/// both backends hold and show the same instants.
fn whole_seconds(at: Timestamp) -> Timestamp {
    Timestamp::from_second(at.as_second()).unwrap_or(at)
}

/// A count read from PostgreSQL, where integers are signed.
fn unsigned(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn the_name_keeps_no_password() {
        assert_eq!(
            redact("postgres://hr:hunter2@db.example:5433/clinic"),
            "postgres://hr@db.example:5433/clinic"
        );
        assert_eq!(
            redact("postgresql://hr@db/clinic?password=hunter2&application_name=x"),
            "postgresql://hr@db/clinic?application_name=x"
        );
        assert_eq!(redact("postgres://db/clinic"), "postgres://db/clinic");
        assert_eq!(
            redact("postgres://a:b:c@h/d?Password=x"),
            "postgres://a@h/d"
        );
    }
}
