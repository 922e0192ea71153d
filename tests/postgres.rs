//! The PostgreSQL backend behaves as the SQLite one: the same clinic seeded
//! into both gives the same users, the same review and, after `apply`, the
//! same EMR rows. Plus what is PostgreSQL's own: a contract check through
//! `information_schema`, an audit trail kept by a trigger, a review in
//! read-only sessions, and a password kept out of messages. (Every other
//! integration test runs on both backends through `on_both_backends!`.)
//!
//! The server comes from `HANDOVER_TEST_POSTGRES_URL` (an admin URL), or
//! `postgres://postgres@127.0.0.1:5432/test` when unset; unreachable, the
//! tests fail saying so. Each test works in its own fresh database, dropped
//! at the end.

mod common;

use std::path::Path;

use common::db::{connect, server, server_root};
use common::{NOW, handover, root, run};
use tokio::runtime::Runtime;
use tokio_postgres::Client;

/// A fresh database on the test server, dropped when this goes away.
struct TestDb {
    runtime: Runtime,
    admin: Client,
    name: String,
    url: String,
}

impl TestDb {
    /// A new database on the test server; fails when it is unreachable.
    fn new() -> TestDb {
        let server = server();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let admin = connect(&runtime, &server);
        let name = format!("handover_t_{:016x}", fastrand::u64(..));
        runtime
            .block_on(admin.batch_execute(&format!("CREATE DATABASE {name}")))
            .unwrap();
        let url = format!("{}/{name}", server_root(&server));
        TestDb {
            runtime,
            admin,
            name,
            url,
        }
    }

    /// A session on this test's database.
    fn client(&self) -> Client {
        connect(&self.runtime, &self.url)
    }

    fn execute(&self, sql: &str) {
        let client = self.client();
        self.runtime.block_on(client.batch_execute(sql)).unwrap();
    }

    /// The first column of every row of `sql`, as text.
    fn texts(&self, sql: &str) -> Vec<String> {
        let client = self.client();
        let rows = self.runtime.block_on(client.query(sql, &[])).unwrap();
        rows.iter()
            .map(|row| row.get::<_, Option<String>>(0).unwrap_or("NULL".into()))
            .collect()
    }

    /// `handover` with `--db` set to this database.
    fn handover(&self, dir: &Path, args: &[&str]) -> common::Run {
        run(handover(dir).arg("--db").arg(&self.url).args(args))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let _ = self.runtime.block_on(self.admin.batch_execute(&sql));
    }
}

/// The EMR tables, their key, and their columns but `password_hash`.
const EMR: &[(&str, &str, &[&str])] = &[
    (
        "users",
        "id",
        &[
            "id",
            "username",
            "full_name",
            "role",
            "province",
            "active",
            "deactivated_at",
            "deactivated_by",
        ],
    ),
    (
        "user_permissions",
        "user_id, permission",
        &["user_id", "permission"],
    ),
    (
        "appointments",
        "id",
        &[
            "id",
            "practitioner_id",
            "patient_id",
            "starts_at",
            "ends_at",
            "status",
        ],
    ),
    (
        "qnaires",
        "id",
        &[
            "id",
            "practitioner_id",
            "patient_id",
            "kind",
            "appointment_id",
            "status",
        ],
    ),
    (
        "inbox_messages",
        "id",
        &[
            "id",
            "owner_id",
            "subject",
            "received_at",
            "snoozed_until",
            "archived",
            "forwarded_from",
        ],
    ),
    (
        "lab_integrations",
        "id",
        &["id", "lab", "user_id", "is_main"],
    ),
    (
        "billing_links",
        "user_id, system",
        &["user_id", "system", "billing_number", "connected"],
    ),
    (
        "billing_claims",
        "id",
        &["id", "practitioner_id", "status", "service_date"],
    ),
];

/// Every EMR row of a SQLite file, values as text, ordered by key.
fn sqlite_dump(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut out = String::new();
    for (table, key, columns) in EMR {
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
fn postgres_dump(db: &TestDb) -> String {
    let mut out = String::new();
    for (table, key, columns) in EMR {
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

const SEED: &[&str] = &[
    "db",
    "seed",
    "--admin-password",
    "admin-password",
    "--seed",
    "11",
    "--appointments",
    "400",
    "--messages",
    "300",
    "--qnaires",
    "200",
    "--claims",
    "100",
];

/// Seeds the same clinic into `dir/clinic.db` and `pg`.
fn seed_both(dir: &Path, pg: &TestDb) {
    let sqlite = run(handover(dir).args(SEED));
    assert_eq!(sqlite.code, 0, "sqlite seed: {}", sqlite.stderr);
    let postgres = pg.handover(dir, SEED);
    assert_eq!(postgres.code, 0, "postgres seed: {}", postgres.stderr);
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

#[test]
fn the_same_clinic_gives_the_same_users_review_and_result_as_sqlite() {
    let pg = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    seed_both(dir.path(), &pg);
    assert_eq!(
        sqlite_dump(&dir.path().join("clinic.db")),
        postgres_dump(&pg)
    );

    let users = ["users", "--format", "json"];
    let (sqlite, postgres) = (
        run(handover(dir.path()).args(users)),
        pg.handover(dir.path(), &users),
    );
    assert_eq!(
        (sqlite.code, sqlite.stdout),
        (postgres.code, postgres.stdout)
    );

    let jobs = root().join("jobs");
    let jobs = jobs.to_str().unwrap();
    let plan = ["plan", jobs, "--format", "json", "--operator", "admin"];
    let sqlite = run(handover(dir.path()).args(plan));
    let postgres = pg.handover(dir.path(), &plan);
    assert_eq!(sqlite.code, postgres.code, "{}", postgres.stderr);
    let (mut sqlite, mut postgres) = (json(&sqlite.stdout), json(&postgres.stdout));
    assert_eq!(
        postgres["database"],
        serde_json::json!(pg.url),
        "the name is the URL"
    );
    sqlite["database"] = serde_json::Value::Null;
    postgres["database"] = serde_json::Value::Null;
    assert_eq!(sqlite, postgres);

    let apply = ["apply", jobs, "--operator", "admin", "--yes"];
    let sqlite = run(handover(dir.path())
        .args(apply)
        .env("HANDOVER_PASSWORD", "admin-password"));
    let postgres = run(handover(dir.path())
        .arg("--db")
        .arg(&pg.url)
        .args(apply)
        .env("HANDOVER_PASSWORD", "admin-password"));
    assert_eq!(
        sqlite.code, 3,
        "two example plans are blocked: {}",
        sqlite.stderr
    );
    assert_eq!(sqlite.code, postgres.code, "{}", postgres.stderr);
    assert_eq!(
        sqlite_dump(&dir.path().join("clinic.db")),
        postgres_dump(&pg)
    );

    let verify = ["audit", "verify"];
    assert_eq!(run(handover(dir.path()).args(verify)).code, 0);
    let verified = pg.handover(dir.path(), &verify);
    assert_eq!(verified.code, 0, "{}{}", verified.stdout, verified.stderr);
}

#[test]
fn a_column_dropped_later_stops_every_command_by_name() {
    let pg = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(pg.handover(dir.path(), &["db", "init"]).code, 0);
    pg.execute("ALTER TABLE qnaires DROP COLUMN kind");
    let jobs = root().join("jobs");
    let plan = pg.handover(dir.path(), &["plan", jobs.to_str().unwrap()]);
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    assert!(plan.stderr.contains("`qnaires.kind`"), "{}", plan.stderr);
    let init = pg.handover(dir.path(), &["db", "init"]);
    assert_eq!(init.code, 1);
    assert!(init.stderr.contains("`qnaires.kind`"), "{}", init.stderr);
}

#[test]
fn the_audit_trail_refuses_updates_and_deletes() {
    let pg = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(pg.handover(dir.path(), &["db", "init"]).code, 0);
    pg.execute(
        "INSERT INTO handover_audit
            (seq, at, operator, username, fingerprint, step, detail, prev_hash, hash)
         VALUES (1, now(), 'a', 'u', 'f', 's', '{}', 'p', 'h')",
    );
    let client = pg.client();
    for sql in [
        "UPDATE handover_audit SET operator = 'b'",
        "DELETE FROM handover_audit",
        "TRUNCATE handover_audit",
    ] {
        let err = pg.runtime.block_on(client.batch_execute(sql)).unwrap_err();
        let message = format!("{err:?}");
        assert!(message.contains("append-only"), "{sql}: {message}");
    }
}

#[test]
fn the_review_reads_in_a_read_only_session_and_changes_nothing() {
    let pg = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let seed = pg.handover(dir.path(), SEED);
    assert_eq!(seed.code, 0, "{}", seed.stderr);
    let before = postgres_dump(&pg);
    let jobs = root().join("jobs");
    let plan = pg.handover(dir.path(), &["plan", jobs.to_str().unwrap()]);
    assert_eq!(plan.code, 3, "{}", plan.stderr);
    assert_eq!(postgres_dump(&pg), before);
    assert!(pg.texts("SELECT id::text FROM handover_runs").is_empty());

    use handover::store::{Access, StoreError, open};
    let mut store = open(&pg.url, Access::Read).unwrap();
    let leaver = store.find_user("jsmith").unwrap().unwrap();
    let now: jiff::Timestamp = NOW.parse().unwrap();
    let err = store
        .write(&mut |writer| writer.deactivate(leaver.id, leaver.id, now))
        .unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err}");
    assert!(store.find_user("jsmith").unwrap().unwrap().active);
}

#[test]
fn an_unreachable_database_on_the_server_is_named_without_its_password() {
    let pg = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}_missing", pg.url);
    let with_password = url.replacen('@', ":hunter2@", 1);
    assert!(
        with_password.contains("hunter2"),
        "the test URL names a user"
    );
    let output = run(handover(dir.path())
        .args(["users"])
        .env("HANDOVER_DB", &with_password));
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert!(output.stderr.contains("_missing"), "{}", output.stderr);
    assert!(!output.stderr.contains("hunter2"), "{}", output.stderr);
}

/// The shared test helpers read both backends alike: the same clinic built
/// row by row, after the same apply, dumps to the same text byte for byte
/// (times as UTC text, flags as 0/1, ids as integers), so the tests run on
/// both can share their assertions.
#[test]
fn the_test_clinic_dumps_alike_on_both_backends() {
    use common::Backend;
    use common::clinic::{Clinic, FUTURE, PAST};

    let hash = handover::password::hash_password("admin-password").unwrap();
    let dumps = [Backend::Sqlite, Backend::Postgres].map(|backend| {
        let clinic = Clinic::new(backend);
        let admin = clinic.user("admin", "staff");
        clinic.grant(admin, "edit_other_users");
        clinic.db.execute(
            "UPDATE users SET password_hash = ?1 WHERE id = ?2",
            &[hash.as_str().into(), admin.into()],
        );
        let leaver = clinic.user("leaver", "practitioner");
        let doc = clinic.user("doc", "practitioner");
        let future = clinic.appointment(leaver, FUTURE, "booked");
        clinic.appointment(leaver, PAST, "completed");
        clinic.qnaire(leaver, "appointment", Some(future), "scheduled");
        clinic.qnaire(leaver, "recurring", None, "scheduled");
        clinic.message(leaver, "Snoozed", true, false);
        clinic.message(leaver, "Archived", false, true);
        clinic.lab("North Labs", leaver, false);
        clinic.claim(leaver, "paid");
        clinic.deactivate(doc);
        clinic.user("doc2", "practitioner");
        clinic.plan(
            "plan.yaml",
            "version: 1\nuser: leaver\ndefault_to: doc2\ninbox: { discard: true }\n",
        );
        let result = clinic.apply(&["plan.yaml"]);
        assert_eq!(result.code, 0, "{backend:?}: {}", result.stderr);
        clinic.emr_dump()
    });
    assert!(dumps[0].contains("|2026-12-10T10:00:00Z|"), "{}", dumps[0]);
    assert_eq!(dumps[0], dumps[1]);
}
