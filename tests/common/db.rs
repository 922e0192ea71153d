//! A test database on either backend: a SQLite file in a temporary
//! directory, or a fresh database on the PostgreSQL test server, dropped
//! when the value goes away. SQL is written once, in the dialect both
//! backends share (`?N` placeholders, `true`/`false` for flags, `RETURNING`),
//! and every value read comes back normalised the same way on both: ids
//! and counts as integers, flags as 0/1, times as `YYYY-MM-DDTHH:MM:SSZ`,
//! dates as `YYYY-MM-DD`. So dumps and assertions are shared.
//!
//! The PostgreSQL server is `HANDOVER_TEST_POSTGRES_URL` (an admin URL),
//! or [`DEFAULT_SERVER`] when that is unset. A server that cannot be
//! reached fails the test, saying how to set the variable: no test skips.

#![allow(dead_code)]

use std::cell::RefCell;
use std::fmt;
use std::path::{Path, PathBuf};

use tokio::runtime::Runtime;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls};

/// The variable naming the PostgreSQL test server.
pub const SERVER_VAR: &str = "HANDOVER_TEST_POSTGRES_URL";
/// The server the tests use when [`SERVER_VAR`] is unset (the one `.ci/run`
/// sets up: a local server with trust authentication).
pub const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The admin URL of the PostgreSQL test server.
pub fn server() -> String {
    std::env::var(SERVER_VAR).unwrap_or_else(|_| DEFAULT_SERVER.to_string())
}

/// A value read from or written to a test database, normalised.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl Value {
    pub fn int(&self) -> i64 {
        match self {
            Value::Int(number) => *number,
            other => panic!("not an integer: {other:?}"),
        }
    }

    pub fn text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Text(text) => Some(text.clone()),
            Value::Int(number) => Some(number.to_string()),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Int(number) => write!(f, "{number}"),
            Value::Text(text) => f.write_str(text),
        }
    }
}

impl From<i64> for Value {
    fn from(number: i64) -> Value {
        Value::Int(number)
    }
}

impl From<bool> for Value {
    fn from(flag: bool) -> Value {
        Value::Int(flag.into())
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Value {
        Value::Text(text.to_string())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Value {
        Value::Text(text)
    }
}

impl From<&String> for Value {
    fn from(text: &String) -> Value {
        Value::Text(text.clone())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Value {
        value.map_or(Value::Null, Into::into)
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(number) => ValueRef::Integer(*number),
            Value::Text(text) => ValueRef::Text(text.as_bytes()),
        }))
    }
}

/// A test database; see the module documentation.
pub enum TestDb {
    Sqlite {
        path: PathBuf,
        /// Opened on first use, so that a test can check that a command
        /// did not create the file.
        conn: RefCell<Option<rusqlite::Connection>>,
    },
    Postgres(Box<Postgres>),
}

pub struct Postgres {
    pub runtime: Runtime,
    pub admin: Client,
    pub name: String,
    pub url: String,
    /// A session on the test database, opened on first use and closed
    /// before the database is copied (a template must have no session).
    client: RefCell<Option<Client>>,
}

impl TestDb {
    /// A new, empty database: `dir/clinic.db` (not created yet) or a fresh
    /// database on the PostgreSQL test server.
    pub fn create(backend: Backend, dir: &Path) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb::Sqlite {
                path: dir.join("clinic.db"),
                conn: RefCell::new(None),
            },
            Backend::Postgres => TestDb::Postgres(Box::new(Postgres::create(None))),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            TestDb::Sqlite { .. } => Backend::Sqlite,
            TestDb::Postgres(_) => Backend::Postgres,
        }
    }

    /// What `--db` (or `HANDOVER_DB`) takes for this database.
    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite { path, .. } => path.display().to_string(),
            TestDb::Postgres(pg) => pg.url.clone(),
        }
    }

    /// A copy of this database as it is now (a file copy into `dir`, or a
    /// new PostgreSQL database made from this one as a template).
    pub fn copy(&self, dir: &Path) -> TestDb {
        match self {
            TestDb::Sqlite { path, .. } => {
                self.close();
                let target = dir.join("clinic.db");
                std::fs::copy(path, &target).unwrap();
                TestDb::Sqlite {
                    path: target,
                    conn: RefCell::new(None),
                }
            }
            TestDb::Postgres(pg) => {
                self.close();
                TestDb::Postgres(Box::new(Postgres::create(Some(&pg.name))))
            }
        }
    }

    /// Closes the test's own session (SQLite checkpoints its journal into
    /// the file); the next use opens a new one.
    pub fn close(&self) {
        match self {
            TestDb::Sqlite { conn, .. } => drop(conn.borrow_mut().take()),
            TestDb::Postgres(pg) => drop(pg.client.borrow_mut().take()),
        }
    }

    /// Waits until the server has ended the sessions of processes that
    /// died (a SIGKILLed runner), so that the next command does not find
    /// their runner lock still held. SQLite has nothing to wait for.
    pub fn settle(&self) {
        let TestDb::Postgres(pg) = self else { return };
        let started = std::time::Instant::now();
        loop {
            let others = self.int(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            );
            if others == 0 {
                return;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "{others} sessions of dead processes still open on `{}`",
                pg.url
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// The SQLite connection, for the few tests that are about SQLite.
    pub fn sqlite(&self) -> std::cell::RefMut<'_, rusqlite::Connection> {
        match self {
            TestDb::Sqlite { path, conn } => {
                let mut conn = conn.borrow_mut();
                if conn.is_none() {
                    *conn = Some(rusqlite::Connection::open(path).unwrap());
                }
                std::cell::RefMut::map(conn, |conn| conn.as_mut().unwrap())
            }
            TestDb::Postgres(_) => panic!("this test helper is for SQLite only"),
        }
    }

    /// Runs statements with no parameters and no results.
    pub fn batch(&self, sql: &str) {
        match self {
            TestDb::Sqlite { .. } => self.sqlite().execute_batch(sql).unwrap(),
            TestDb::Postgres(pg) => pg.with(|runtime, client| {
                runtime
                    .block_on(client.batch_execute(sql))
                    .unwrap_or_else(|err| panic!("{sql}: {err:?}"))
            }),
        }
    }

    /// Runs one statement; returns the rows it changed.
    pub fn execute(&self, sql: &str, params: &[Value]) -> u64 {
        match self {
            TestDb::Sqlite { .. } => {
                self.sqlite()
                    .execute(sql, rusqlite::params_from_iter(params))
                    .unwrap_or_else(|err| panic!("{sql}: {err}")) as u64
            }
            TestDb::Postgres(pg) => pg.with(|runtime, client| {
                let sql = dollars(sql);
                runtime
                    .block_on(async {
                        let statement = client.prepare(&sql).await?;
                        let typed = typed(params, statement.params());
                        client.execute(&statement, &refs(&typed)).await
                    })
                    .unwrap_or_else(|err| panic!("{sql}: {err:?}"))
            }),
        }
    }

    /// Every row of a query, values normalised.
    pub fn query(&self, sql: &str, params: &[Value]) -> Vec<Vec<Value>> {
        match self {
            TestDb::Sqlite { .. } => {
                let conn = self.sqlite();
                let mut statement = conn
                    .prepare(sql)
                    .unwrap_or_else(|err| panic!("{sql}: {err}"));
                let width = statement.column_count();
                statement
                    .query_map(rusqlite::params_from_iter(params), |row| {
                        Ok((0..width)
                            .map(|i| sqlite_value(row.get_ref(i).unwrap()))
                            .collect())
                    })
                    .unwrap()
                    .map(Result::unwrap)
                    .collect()
            }
            TestDb::Postgres(pg) => pg.with(|runtime, client| {
                let sql = dollars(sql);
                let rows = runtime
                    .block_on(async {
                        let statement = client.prepare(&sql).await?;
                        let typed = typed(params, statement.params());
                        client.query(&statement, &refs(&typed)).await
                    })
                    .unwrap_or_else(|err| panic!("{sql}: {err:?}"));
                rows.iter()
                    .map(|row| (0..row.len()).map(|i| postgres_value(row, i)).collect())
                    .collect()
            }),
        }
    }

    /// The only row of a query.
    pub fn row(&self, sql: &str, params: &[Value]) -> Vec<Value> {
        let mut rows = self.query(sql, params);
        assert_eq!(rows.len(), 1, "one row expected of {sql}");
        rows.remove(0)
    }

    /// The single value of a query of one row and one column.
    pub fn value(&self, sql: &str, params: &[Value]) -> Value {
        let mut row = self.row(sql, params);
        assert_eq!(row.len(), 1, "one column expected of {sql}");
        row.remove(0)
    }

    /// An integer (an id, a count, a flag as 0/1).
    pub fn int(&self, sql: &str, params: &[Value]) -> i64 {
        self.value(sql, params).int()
    }

    /// A text (a time as `YYYY-MM-DDTHH:MM:SSZ`), `None` for NULL.
    pub fn text(&self, sql: &str, params: &[Value]) -> Option<String> {
        self.value(sql, params).text()
    }

    /// The tables of the database, in name order (SQLite's own left out).
    pub fn tables(&self) -> Vec<String> {
        let sql = match self.backend() {
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%'"
            }
            Backend::Postgres => {
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            }
        };
        let mut names: Vec<String> = self
            .query(sql, &[])
            .into_iter()
            .map(|row| row[0].text().unwrap())
            .collect();
        names.sort();
        names
    }

    /// The columns of a table, in their order.
    pub fn columns(&self, table: &str) -> Vec<String> {
        let sql = match self.backend() {
            Backend::Sqlite => "SELECT name FROM pragma_table_info(?1) ORDER BY cid",
            Backend::Postgres => {
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = ?1 \
                 ORDER BY ordinal_position"
            }
        };
        self.query(sql, &[table.into()])
            .into_iter()
            .map(|row| row[0].text().unwrap())
            .collect()
    }
}

impl Postgres {
    /// A fresh database on the test server, empty or a copy of `template`.
    pub fn create(template: Option<&str>) -> Postgres {
        let server = server();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let admin = connect(&runtime, &server);
        let name = format!("handover_t_{:016x}", fastrand::u64(..));
        let sql = match template {
            Some(template) => format!("CREATE DATABASE {name} TEMPLATE {template}"),
            None => format!("CREATE DATABASE {name}"),
        };
        runtime
            .block_on(admin.batch_execute(&sql))
            .unwrap_or_else(|err| panic!("{sql}: {err:?}"));
        let url = format!("{}/{name}", server_root(&server));
        Postgres {
            runtime,
            admin,
            name,
            url,
            client: RefCell::new(None),
        }
    }

    fn with<T>(&self, work: impl FnOnce(&Runtime, &Client) -> T) -> T {
        let mut client = self.client.borrow_mut();
        if client.is_none() {
            *client = Some(connect(&self.runtime, &self.url));
        }
        work(&self.runtime, client.as_ref().unwrap())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        drop(self.client.borrow_mut().take());
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let _ = self.runtime.block_on(self.admin.batch_execute(&sql));
    }
}

/// Connects, or fails the test saying how to point it at a server.
pub fn connect(runtime: &Runtime, url: &str) -> Client {
    let (client, connection) = runtime
        .block_on(tokio_postgres::connect(url, NoTls))
        .unwrap_or_else(|err| {
            panic!(
                "could not connect to the PostgreSQL test server `{url}`: {err}\n\
                 hint: the PostgreSQL variants of the tests need a server; start one \
                 (`.ci/run` does), or set {SERVER_VAR} to an admin URL \
                 (default `{DEFAULT_SERVER}`)"
            )
        });
    runtime.spawn(connection);
    client
}

/// `postgres://user@host:port` of a URL, without its database or options.
pub fn server_root(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let authority = rest.split(['/', '?']).next().unwrap();
    format!("{scheme}://{authority}")
}

/// SQLite's `?N` placeholders as PostgreSQL's `$N`.
fn dollars(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// Each parameter as the Rust type of the column type PostgreSQL inferred.
fn typed(params: &[Value], types: &[Type]) -> Vec<Box<dyn ToSql + Sync>> {
    assert_eq!(params.len(), types.len(), "parameter count");
    params
        .iter()
        .zip(types)
        .map(|(value, ty)| -> Box<dyn ToSql + Sync> {
            let text = value.text();
            match *ty {
                Type::BOOL => Box::new(text.map(|_| value.int() != 0)),
                Type::INT8 => Box::new(text.map(|_| value.int())),
                Type::INT4 => Box::new(text.map(|_| value.int() as i32)),
                Type::INT2 => Box::new(text.map(|_| value.int() as i16)),
                Type::TIMESTAMPTZ => {
                    Box::new(text.map(|text| text.parse::<jiff::Timestamp>().unwrap()))
                }
                Type::DATE => Box::new(text.map(|text| text.parse::<jiff::civil::Date>().unwrap())),
                _ => Box::new(text),
            }
        })
        .collect()
}

fn refs(values: &[Box<dyn ToSql + Sync>]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|value| value.as_ref()).collect()
}

fn sqlite_value(value: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(number) => Value::Int(number),
        ValueRef::Real(number) => Value::Text(number.to_string()),
        ValueRef::Text(text) | ValueRef::Blob(text) => {
            Value::Text(String::from_utf8_lossy(text).into_owned())
        }
    }
}

fn postgres_value(row: &tokio_postgres::Row, i: usize) -> Value {
    fn or_null<T>(value: Option<T>, show: impl FnOnce(T) -> Value) -> Value {
        value.map_or(Value::Null, show)
    }
    match *row.columns()[i].type_() {
        Type::BOOL => or_null(row.get::<_, Option<bool>>(i), |flag| flag.into()),
        Type::INT8 => or_null(row.get::<_, Option<i64>>(i), Value::Int),
        Type::INT4 => or_null(row.get::<_, Option<i32>>(i), |n| Value::Int(n.into())),
        Type::INT2 => or_null(row.get::<_, Option<i16>>(i), |n| Value::Int(n.into())),
        Type::TIMESTAMPTZ => or_null(row.get::<_, Option<jiff::Timestamp>>(i), |at| {
            Value::Text(at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        }),
        Type::DATE => or_null(row.get::<_, Option<jiff::civil::Date>>(i), |date| {
            Value::Text(date.to_string())
        }),
        _ => or_null(row.get::<_, Option<String>>(i), Value::Text),
    }
}
