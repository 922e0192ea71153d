//! A small clinic built row by row for one test: a fresh SQLite database
//! made by `handover db init`, then exactly the users and items the test
//! needs, so each assertion names the one thing that causes it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};
use tempfile::TempDir;

use super::{Run, handover, run};

/// A time in the future of the tests' fixed clock (`common::NOW`).
pub const FUTURE: &str = "2026-12-10T10:00:00Z";
/// A time in the past of the tests' fixed clock.
pub const PAST: &str = "2026-11-10T10:00:00Z";

pub struct Clinic {
    pub dir: TempDir,
    pub conn: Connection,
}

impl Clinic {
    /// An empty clinic: the EMR tables and handover's own, no rows.
    pub fn new() -> Clinic {
        let dir = tempfile::tempdir().unwrap();
        let init = run(handover(dir.path()).args(["db", "init"]));
        assert_eq!(init.code, 0, "db init: {}", init.stderr);
        let conn = Connection::open(dir.path().join("clinic.db")).unwrap();
        Clinic { dir, conn }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("clinic.db")
    }

    /// Adds a user; `role` is `practitioner` or `staff`.
    pub fn user(&self, username: &str, role: &str) -> i64 {
        self.conn
            .execute(
                "INSERT INTO users (username, full_name, role, province, active)
                 VALUES (?1, ?1, ?2, 'ON', 1)",
                params![username, role],
            )
            .unwrap();
        self.conn.last_insert_rowid()
    }

    pub fn deactivate(&self, user: i64) {
        self.conn
            .execute(
                "UPDATE users SET active = 0, deactivated_at = ?2 WHERE id = ?1",
                params![user, PAST],
            )
            .unwrap();
    }

    pub fn grant(&self, user: i64, permission: &str) {
        self.conn
            .execute(
                "INSERT INTO user_permissions (user_id, permission) VALUES (?1, ?2)",
                params![user, permission],
            )
            .unwrap();
    }

    /// Adds a 30-minute appointment starting at `starts_at`.
    pub fn appointment(&self, practitioner: i64, starts_at: &str, status: &str) -> i64 {
        let start: jiff::Timestamp = starts_at.parse().unwrap();
        let end = start + jiff::SignedDuration::from_mins(30);
        self.conn
            .execute(
                "INSERT INTO appointments (practitioner_id, patient_id, starts_at, ends_at, status)
                 VALUES (?1, 900001, ?2, ?3, ?4)",
                params![
                    practitioner,
                    starts_at,
                    end.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    status
                ],
            )
            .unwrap();
        self.conn.last_insert_rowid()
    }

    pub fn qnaire(
        &self,
        practitioner: i64,
        kind: &str,
        appointment: Option<i64>,
        status: &str,
    ) -> i64 {
        self.conn
            .execute(
                "INSERT INTO qnaires (practitioner_id, patient_id, kind, appointment_id, status)
                 VALUES (?1, 900002, ?2, ?3, ?4)",
                params![practitioner, kind, appointment, status],
            )
            .unwrap();
        self.conn.last_insert_rowid()
    }

    pub fn message(&self, owner: i64, subject: &str, snoozed: bool, archived: bool) -> i64 {
        let snoozed_until = snoozed.then_some(FUTURE);
        self.conn
            .execute(
                "INSERT INTO inbox_messages (owner_id, subject, received_at, snoozed_until, archived)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![owner, subject, PAST, snoozed_until, archived],
            )
            .unwrap();
        self.conn.last_insert_rowid()
    }

    pub fn lab(&self, lab: &str, user: i64, is_main: bool) -> i64 {
        self.conn
            .execute(
                "INSERT INTO lab_integrations (lab, user_id, is_main) VALUES (?1, ?2, ?3)",
                params![lab, user, is_main],
            )
            .unwrap();
        self.conn.last_insert_rowid()
    }

    pub fn billing_link(&self, user: i64, system: &str) {
        self.conn
            .execute(
                "INSERT INTO billing_links (user_id, system, billing_number, connected)
                 VALUES (?1, ?2, ?3, 1)",
                params![user, system, format!("BN{user:05}")],
            )
            .unwrap();
    }

    pub fn claim(&self, practitioner: i64, status: &str) {
        self.conn
            .execute(
                "INSERT INTO billing_claims (practitioner_id, status, service_date)
                 VALUES (?1, ?2, '2026-11-01')",
                params![practitioner, status],
            )
            .unwrap();
    }

    /// Records a run of a plan as an earlier `apply` would have.
    pub fn run_record(&self, username: &str, fingerprint: &str, status: &str, finished: bool) {
        let finished_at = finished.then_some(PAST);
        self.conn
            .execute(
                "INSERT INTO handover_runs (username, fingerprint, operator, started_at, finished_at, status)
                 VALUES (?1, ?2, 'admin', ?3, ?4, ?5)",
                params![username, fingerprint, PAST, finished_at, status],
            )
            .unwrap();
    }

    /// Writes a plan file into the clinic's directory.
    pub fn plan(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Writes `handover.toml` with an endpoint for `mdbilling`.
    pub fn configure_billing(&self) {
        std::fs::write(
            self.dir.path().join("handover.toml"),
            "[clinic]\ntime_zone = \"UTC\"\n\n[billing.mdbilling]\n\
             url = \"http://127.0.0.1:9/api\"\ntoken_env = \"MDBILLING_TOKEN\"\n",
        )
        .unwrap();
    }

    /// Runs `handover plan` with `args` and the JSON format.
    pub fn review(&self, args: &[&str]) -> (Run, serde_json::Value) {
        let result = run(handover(self.path())
            .arg("plan")
            .args(args)
            .args(["--format", "json"]));
        let json = serde_json::from_str(&result.stdout).unwrap_or(serde_json::Value::Null);
        (result, json)
    }

    /// Every row of every table, in a stable order: a logical dump.
    pub fn dump(&self) -> String {
        dump_all(&self.conn)
    }
}

/// The codes of a plan's blockers or warnings in a JSON review.
pub fn codes(plan: &serde_json::Value, kind: &str) -> Vec<String> {
    plan[kind]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|item| item["code"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

impl Clinic {
    /// Adds an operator who may edit other users, with a password.
    pub fn operator(&self, username: &str, password: &str) -> i64 {
        let id = self.user(username, "staff");
        let hash = handover::password::hash_password(password).unwrap();
        self.conn
            .execute(
                "UPDATE users SET password_hash = ?2 WHERE id = ?1",
                params![id, hash],
            )
            .unwrap();
        self.grant(id, "edit_other_users");
        id
    }

    /// The EMR tables only, in a stable order: what a run must leave
    /// identical whether or not it was interrupted.
    pub fn emr_dump(&self) -> String {
        dump_of(&self.conn)
    }

    /// Runs `handover apply` as `admin` with `--yes`.
    pub fn apply(&self, args: &[&str]) -> Run {
        run(handover(self.path())
            .arg("apply")
            .args(args)
            .args(["--operator", "admin", "--yes"])
            .env("HANDOVER_PASSWORD", "admin-password"))
    }
}

/// Every row of every table, in a stable order.
pub fn dump_all(conn: &Connection) -> String {
    let mut out = String::new();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for table in tables {
        out.push_str(&format!("## {table}\n"));
        let mut statement = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY 1"))
            .unwrap();
        let columns = statement.column_count();
        let rows = statement
            .query_map([], |row| {
                let values: Vec<String> = (0..columns)
                    .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                    .collect();
                Ok(values.join("|"))
            })
            .unwrap();
        for row in rows {
            out.push_str(&row.unwrap());
            out.push('\n');
        }
    }
    out
}

/// Every row of the EMR tables only (no `handover_*` state).
pub fn dump_of(conn: &Connection) -> String {
    let mut keep = false;
    let mut out = String::new();
    for line in dump_all(conn).lines() {
        if let Some(table) = line.strip_prefix("## ") {
            keep = !table.starts_with("handover_") && !table.starts_with("sqlite_");
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn readable(value: rusqlite::types::ValueRef<'_>) -> String {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => "NULL".to_string(),
        ValueRef::Integer(number) => number.to_string(),
        ValueRef::Real(number) => number.to_string(),
        ValueRef::Text(text) | ValueRef::Blob(text) => String::from_utf8_lossy(text).into_owned(),
    }
}
