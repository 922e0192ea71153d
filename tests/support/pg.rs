//! A fresh PostgreSQL database per test, and dumps of the EMR rows of a
//! PostgreSQL or SQLite clinic (all columns but `password_hash`) to
//! compare clinics with: for the tests that are PostgreSQL's own
//! (`tests/postgres.rs`, workers, concurrency). The server is the one
//! `common::db` names (`HANDOVER_TEST_POSTGRES_URL`, or the local default);
//! unreachable, the test fails saying so.

#![allow(dead_code)]

use std::path::Path;

use tokio_postgres::Client;

pub use crate::common::db::connect;
use crate::common::invariants::emr_key;

/// A fresh database on the test server, dropped when this goes away.
pub use crate::common::db::Postgres as TestDb;

impl TestDb {
    /// A new database on the test server; fails when it is unreachable.
    pub fn new() -> TestDb {
        TestDb::create(None)
    }

    /// A session on this test's database.
    pub fn client(&self) -> Client {
        connect(&self.runtime, &self.url)
    }

    pub fn execute(&self, sql: &str) {
        let client = self.client();
        self.runtime.block_on(client.batch_execute(sql)).unwrap();
    }

    /// The first column of every row of `sql`, as text.
    pub fn texts(&self, sql: &str) -> Vec<String> {
        let client = self.client();
        let rows = self.runtime.block_on(client.query(sql, &[])).unwrap();
        rows.iter()
            .map(|row| row.get::<_, Option<String>>(0).unwrap_or("NULL".into()))
            .collect()
    }

    /// The one value `sql` selects, as text.
    pub fn text(&self, sql: &str) -> String {
        self.texts(sql).remove(0)
    }

    /// Advisory locks held on this database right now, by any session.
    pub fn advisory_locks(&self) -> i64 {
        let sql = "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                   WHERE l.locktype = 'advisory' AND l.granted AND d.datname = $1";
        let row = self
            .runtime
            .block_on(self.admin.query_one(sql, &[&self.name]))
            .unwrap();
        row.get(0)
    }

    /// `handover` with `--db` set to this database.
    pub fn handover(&self, dir: &Path) -> assert_cmd::Command {
        let mut command = crate::common::handover(dir);
        command.arg("--db").arg(&self.url);
        command
    }

    /// Runs `handover ARGS` on this database.
    pub fn run(&self, dir: &Path, args: &[&str]) -> crate::common::Run {
        crate::common::run(self.handover(dir).args(args))
    }
}

/// The EMR tables of the contract, each with its key and its columns but
/// `password_hash` (argon2 salts differ between any two seeds).
fn emr() -> impl Iterator<Item = (&'static str, &'static str, Vec<&'static str>)> {
    handover::store::sqlite::CONTRACT
        .iter()
        .map(|(table, columns)| {
            let dumped = columns.iter().copied().filter(|c| *c != "password_hash");
            (*table, emr_key(table), dumped.collect())
        })
}

/// Every EMR row of a SQLite file, values as text, ordered by key.
pub fn sqlite_dump(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut out = String::new();
    for (table, key, columns) in emr() {
        out.push_str(&format!("## {table}\n"));
        let select: Vec<String> = columns
            .iter()
            .map(|column| format!("coalesce(CAST({column} AS TEXT), 'NULL')"))
            .collect();
        let sql = format!(
            "SELECT {} FROM {table} ORDER BY {key}",
            select.join(" || '|' || ")
        );
        let mut statement = conn.prepare(&sql).unwrap();
        for row in statement
            .query_map([], |row| row.get::<_, String>(0))
            .unwrap()
        {
            out.push_str(&row.unwrap());
            out.push('\n');
        }
    }
    out
}

/// The same dump of a PostgreSQL database: flags as 1/0, times as UTC text.
pub fn postgres_dump(db: &TestDb) -> String {
    let mut out = String::new();
    for (table, key, columns) in emr() {
        out.push_str(&format!("## {table}\n"));
        let select: Vec<String> = columns
            .iter()
            .map(|column| format!("coalesce({}, 'NULL')", as_text(db, table, column)))
            .collect();
        let sql = format!(
            "SELECT {} FROM {table} ORDER BY {key}",
            select.join(" || '|' || ")
        );
        for row in db.texts(&sql) {
            out.push_str(&row);
            out.push('\n');
        }
    }
    out
}

fn as_text(db: &TestDb, table: &str, column: &str) -> String {
    let sql = format!(
        "SELECT data_type::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = '{table}'
           AND column_name = '{column}'"
    );
    match db.texts(&sql)[0].as_str() {
        "boolean" => format!("({column})::int::text"),
        "timestamp with time zone" => {
            format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
        }
        _ => format!("({column})::text"),
    }
}
