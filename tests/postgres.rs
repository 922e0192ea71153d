//! The PostgreSQL backend behaves as the SQLite one: the same clinic seeded
//! into both gives the same users, the same review and, after `apply`, the
//! same EMR rows. Plus its own guarantees: idempotent `db init`, the
//! contract check, migrations, one runner at a time, no lock left by a dead
//! runner, and a review that cannot write.
//!
//! The server comes from `HANDOVER_TEST_POSTGRES_URL` (an admin URL, e.g.
//! `postgres://postgres@127.0.0.1:5432/test`). Unset, each test says it did
//! not run against PostgreSQL and returns; set but unreachable, it fails.
//! Each test works in its own fresh database, dropped at the end.

mod common;

use std::path::Path;

use common::{NOW, handover, root, run};
use tokio::runtime::Runtime;
use tokio_postgres::{Client, NoTls};

const SERVER_VAR: &str = "HANDOVER_TEST_POSTGRES_URL";

/// A fresh database on the test server, dropped when this goes away.
struct TestDb {
    runtime: Runtime,
    admin: Client,
    name: String,
    url: String,
}

impl TestDb {
    /// A new database, or `None` (said aloud) when no server is configured.
    fn new(test: &str) -> Option<TestDb> {
        let Ok(server) = std::env::var(SERVER_VAR) else {
            println!("{test}: not run against PostgreSQL ({SERVER_VAR} is not set)");
            return None;
        };
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
        Some(TestDb {
            runtime,
            admin,
            name,
            url,
        })
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

/// Connects or fails the test loudly: a configured server must be there.
fn connect(runtime: &Runtime, url: &str) -> Client {
    let (client, connection) = runtime
        .block_on(tokio_postgres::connect(url, NoTls))
        .unwrap_or_else(|err| {
            panic!("{SERVER_VAR} is set but the PostgreSQL server is unreachable: {err}")
        });
    runtime.spawn(connection);
    client
}

/// `postgres://user@host:port` of a URL, without its database or options.
fn server_root(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let authority = rest.split(['/', '?']).next().unwrap();
    format!("{scheme}://{authority}")
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
    let Some(pg) = TestDb::new("same_as_sqlite") else {
        return;
    };
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
fn db_init_twice_is_harmless() {
    let Some(pg) = TestDb::new("db_init_twice") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let first = pg.handover(dir.path(), &["db", "init"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stdout.contains("EMR tables created: 8"),
        "{}",
        first.stdout
    );
    let second = pg.handover(dir.path(), &["db", "init"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        second.stdout.contains("nothing changed"),
        "{}",
        second.stdout
    );
    let versions = pg.texts("SELECT version::text FROM handover_migrations ORDER BY version");
    assert_eq!(versions, ["1", "2", "3"], "each migration recorded once");
}

#[test]
fn a_dropped_column_is_named_and_nothing_changes() {
    let Some(pg) = TestDb::new("dropped_column") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    pg.execute("CREATE TABLE users (id bigint PRIMARY KEY, username text)");
    let tables = "SELECT table_name::text FROM information_schema.tables
                  WHERE table_schema = current_schema() ORDER BY 1";
    let before = pg.texts(tables);
    let init = pg.handover(dir.path(), &["db", "init"]);
    assert_eq!(init.code, 1, "{}", init.stderr);
    assert!(init.stderr.contains("`users.full_name`"), "{}", init.stderr);
    assert!(init.stderr.contains("`appointments`"), "{}", init.stderr);
    assert_eq!(pg.texts(tables), before, "nothing created");
}

#[test]
fn a_column_dropped_later_stops_every_command_by_name() {
    let Some(pg) = TestDb::new("column_dropped_later") else {
        return;
    };
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
fn a_database_migrated_by_a_newer_release_is_refused() {
    let Some(pg) = TestDb::new("newer_version") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(pg.handover(dir.path(), &["db", "init"]).code, 0);
    pg.execute(
        "INSERT INTO handover_migrations (version, name, applied_at)
         VALUES (99, 'from the future', now())",
    );
    let init = pg.handover(dir.path(), &["db", "init"]);
    assert_eq!(init.code, 1, "{}", init.stderr);
    assert!(init.stderr.contains("newer handover"), "{}", init.stderr);
    assert!(init.stderr.contains("schema version 99"), "{}", init.stderr);
}

#[test]
fn the_audit_trail_refuses_updates_and_deletes() {
    let Some(pg) = TestDb::new("audit_append_only") else {
        return;
    };
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
    let Some(pg) = TestDb::new("review_read_only") else {
        return;
    };
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
    let Some(pg) = TestDb::new("missing_database") else {
        return;
    };
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

/// One runner at a time, with slow runners made by failpoints.
#[cfg(feature = "failpoints")]
mod runners {
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use super::{NOW, SEED, TestDb, root};

    /// `handover apply jobs` on `url` as a child process, with extra environment.
    fn apply_child(dir: &Path, url: &str, env: &[(&str, &str)]) -> Child {
        let mut command = Command::new(env!("CARGO_BIN_EXE_handover"));
        command
            .current_dir(dir)
            .args(["--db", url, "apply"])
            .arg(root().join("jobs"))
            .args(["--operator", "admin", "--yes", "-q"])
            .env("HANDOVER_PASSWORD", "admin-password")
            .env("HANDOVER_NOW", NOW)
            .env_remove("HANDOVER_DB")
            .env_remove("FAILPOINTS")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        command.spawn().expect("handover starts")
    }

    fn finish(child: Child) -> (i32, String) {
        let output = child.wait_with_output().unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    #[test]
    fn two_runners_at_once_one_works_the_other_exits_busy() {
        let Some(pg) = TestDb::new("two_runners") else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(pg.handover(dir.path(), SEED).code, 0);
        let slow = [("FAILPOINTS", "apply::appointments::before=sleep(1500)")];
        let first = apply_child(dir.path(), &pg.url, &slow);
        let second = apply_child(dir.path(), &pg.url, &slow);
        let ((a, a_err), (b, b_err)) = (finish(first), finish(second));
        let mut codes = [a, b];
        codes.sort();
        assert_eq!(
            codes,
            [3, 6],
            "one works (two examples blocked), one busy: {a_err} {b_err}"
        );
        let busy = if a == 6 { a_err } else { b_err };
        assert!(busy.contains("another runner holds"), "{busy}");
        assert!(!busy.contains("hunter2"));
    }

    #[test]
    fn a_killed_runner_leaves_no_lock_behind() {
        let Some(pg) = TestDb::new("killed_runner") else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(pg.handover(dir.path(), SEED).code, 0);
        let mut holder = apply_child(
            dir.path(),
            &pg.url,
            &[("FAILPOINTS", "apply::appointments::before=sleep(20000)")],
        );
        std::thread::sleep(Duration::from_millis(1000));
        let busy = finish(apply_child(dir.path(), &pg.url, &[]));
        assert_eq!(busy.0, 6, "the holder is alive: {}", busy.1);
        holder.kill().unwrap();
        holder.wait().unwrap();
        let started = Instant::now();
        let (code, stderr) = finish(apply_child(dir.path(), &pg.url, &[]));
        assert_eq!(code, 3, "the next run proceeds: {stderr}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
