//! A small clinic built row by row for one test: a fresh database on the
//! test's backend made by `handover db init`, then exactly the users and
//! items the test needs, so each assertion names the one thing that causes
//! it. The same helpers, dumps and SQL serve SQLite and PostgreSQL.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::db::{Backend, TestDb, Value};
use super::{Run, handover, run};

/// A time in the future of the tests' fixed clock (`common::NOW`).
pub const FUTURE: &str = "2026-12-10T10:00:00Z";
/// A time in the past of the tests' fixed clock.
pub const PAST: &str = "2026-11-10T10:00:00Z";

pub struct Clinic {
    /// The working directory of every command (plans, `handover.toml`,
    /// and the SQLite file).
    pub dir: TempDir,
    pub db: TestDb,
}

impl Clinic {
    /// An empty clinic: the EMR tables and handover's own, no rows.
    pub fn new(backend: Backend) -> Clinic {
        let clinic = Clinic::empty(backend);
        let init = run(clinic.handover().args(["db", "init"]));
        assert_eq!(init.code, 0, "db init: {}", init.stderr);
        clinic
    }

    /// A clinic whose database has no tables yet (no file, on SQLite).
    pub fn empty(backend: Backend) -> Clinic {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::create(backend, dir.path());
        Clinic { dir, db }
    }

    /// A copy of this clinic's database as it is now, in a new directory.
    pub fn copy(&self) -> Clinic {
        let dir = tempfile::tempdir().unwrap();
        let db = self.db.copy(dir.path());
        Clinic { dir, db }
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// What `--db` takes for this clinic: a file path or a `postgres://` URL.
    pub fn url(&self) -> String {
        self.db.url()
    }

    /// The `handover` binary in the clinic's directory, on its database
    /// (`HANDOVER_DB`; a `--db` argument still wins).
    pub fn handover(&self) -> assert_cmd::Command {
        let mut command = handover(self.path());
        command.env("HANDOVER_DB", self.url());
        command
    }

    /// Output that names the database, with the name replaced by
    /// `[database]`, so that it reads the same on every backend.
    pub fn redact(&self, text: &str) -> String {
        text.replace(&self.url(), "[database]")
    }

    /// Adds a user; `role` is `practitioner` or `staff`.
    pub fn user(&self, username: &str, role: &str) -> i64 {
        self.db.int(
            "INSERT INTO users (username, full_name, role, province, active)
             VALUES (?1, ?1, ?2, 'ON', true) RETURNING id",
            &[username.into(), role.into()],
        )
    }

    pub fn deactivate(&self, user: i64) {
        self.db.execute(
            "UPDATE users SET active = false, deactivated_at = ?2 WHERE id = ?1",
            &[user.into(), PAST.into()],
        );
    }

    /// Sets a user's password.
    pub fn password(&self, user: i64, password: &str) {
        let hash = handover::password::hash_password(password).unwrap();
        self.db.execute(
            "UPDATE users SET password_hash = ?2 WHERE id = ?1",
            &[user.into(), hash.into()],
        );
    }

    pub fn grant(&self, user: i64, permission: &str) {
        self.db.execute(
            "INSERT INTO user_permissions (user_id, permission) VALUES (?1, ?2)",
            &[user.into(), permission.into()],
        );
    }

    /// Adds a 30-minute appointment starting at `starts_at`.
    pub fn appointment(&self, practitioner: i64, starts_at: &str, status: &str) -> i64 {
        let start: jiff::Timestamp = starts_at.parse().unwrap();
        let end = start + jiff::SignedDuration::from_mins(30);
        self.db.int(
            "INSERT INTO appointments (practitioner_id, patient_id, starts_at, ends_at, status)
             VALUES (?1, 900001, ?2, ?3, ?4) RETURNING id",
            &[
                practitioner.into(),
                starts_at.into(),
                end.strftime("%Y-%m-%dT%H:%M:%SZ").to_string().into(),
                status.into(),
            ],
        )
    }

    pub fn qnaire(
        &self,
        practitioner: i64,
        kind: &str,
        appointment: Option<i64>,
        status: &str,
    ) -> i64 {
        self.db.int(
            "INSERT INTO qnaires (practitioner_id, patient_id, kind, appointment_id, status)
             VALUES (?1, 900002, ?2, ?3, ?4) RETURNING id",
            &[
                practitioner.into(),
                kind.into(),
                appointment.into(),
                status.into(),
            ],
        )
    }

    pub fn message(&self, owner: i64, subject: &str, snoozed: bool, archived: bool) -> i64 {
        let snoozed_until = snoozed.then_some(FUTURE);
        self.db.int(
            "INSERT INTO inbox_messages (owner_id, subject, received_at, snoozed_until, archived)
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            &[
                owner.into(),
                subject.into(),
                PAST.into(),
                snoozed_until.into(),
                archived.into(),
            ],
        )
    }

    pub fn lab(&self, lab: &str, user: i64, is_main: bool) -> i64 {
        self.db.int(
            "INSERT INTO lab_integrations (lab, user_id, is_main) VALUES (?1, ?2, ?3) RETURNING id",
            &[lab.into(), user.into(), is_main.into()],
        )
    }

    pub fn billing_link(&self, user: i64, system: &str) {
        self.db.execute(
            "INSERT INTO billing_links (user_id, system, billing_number, connected)
             VALUES (?1, ?2, ?3, true)",
            &[user.into(), system.into(), format!("BN{user:05}").into()],
        );
    }

    pub fn claim(&self, practitioner: i64, status: &str) {
        self.db.execute(
            "INSERT INTO billing_claims (practitioner_id, status, service_date)
             VALUES (?1, ?2, '2026-11-01')",
            &[practitioner.into(), status.into()],
        );
    }

    /// Records a run of a plan as an earlier `apply` would have.
    pub fn run_record(&self, username: &str, fingerprint: &str, status: &str, finished: bool) {
        let finished_at = finished.then_some(PAST);
        self.db.execute(
            "INSERT INTO handover_runs (username, fingerprint, operator, started_at, finished_at, status)
             VALUES (?1, ?2, 'admin', ?3, ?4, ?5)",
            &[
                username.into(),
                fingerprint.into(),
                PAST.into(),
                finished_at.into(),
                status.into(),
            ],
        );
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
        let result = run(self
            .handover()
            .arg("plan")
            .args(args)
            .args(["--format", "json"]));
        let json = serde_json::from_str(&result.stdout).unwrap_or(serde_json::Value::Null);
        (result, json)
    }

    /// Every row of every table, in a stable order: a logical dump.
    pub fn dump(&self) -> String {
        dump_all(&self.db)
    }

    /// Adds an operator who may edit other users, with a password.
    pub fn operator(&self, username: &str, password: &str) -> i64 {
        let id = self.user(username, "staff");
        self.password(id, password);
        self.grant(id, "edit_other_users");
        id
    }

    /// The EMR tables only, in a stable order: what a run must leave
    /// identical whether or not it was interrupted.
    pub fn emr_dump(&self) -> String {
        dump_of(&self.db)
    }

    /// Runs `handover apply` as `admin` with `--yes`.
    pub fn apply(&self, args: &[&str]) -> Run {
        run(self
            .handover()
            .arg("apply")
            .args(args)
            .args(["--operator", "admin", "--yes"])
            .env("HANDOVER_PASSWORD", "admin-password"))
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

/// Columns one backend has and the other has not: PostgreSQL orders
/// `handover_steps` by an identity column where SQLite uses its rowid.
const BACKEND_ONLY: &[(&str, &str)] = &[("handover_steps", "ordinal")];

/// Every row of every table, in a stable order, the same text on both
/// backends: values normalised (see `db`), rows sorted by value.
pub fn dump_all(db: &TestDb) -> String {
    let mut out = String::new();
    for table in db.tables() {
        out.push_str(&format!("## {table}\n"));
        let columns: Vec<String> = db
            .columns(&table)
            .into_iter()
            .filter(|column| !BACKEND_ONLY.contains(&(table.as_str(), column.as_str())))
            .collect();
        let mut rows: Vec<Vec<Value>> =
            db.query(&format!("SELECT {} FROM {table}", columns.join(", ")), &[]);
        rows.sort();
        for row in rows {
            let cells: Vec<String> = row.iter().map(Value::to_string).collect();
            out.push_str(&cells.join("|"));
            out.push('\n');
        }
    }
    out
}

/// Every row of the EMR tables only (no `handover_*` state).
pub fn dump_of(db: &TestDb) -> String {
    let mut keep = false;
    let mut out = String::new();
    for line in dump_all(db).lines() {
        if let Some(table) = line.strip_prefix("## ") {
            keep = !table.starts_with("handover_");
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}
