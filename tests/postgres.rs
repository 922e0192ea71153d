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
#[path = "support/pg.rs"]
mod pg;

use std::path::Path;

use common::{NOW, handover, root, run};
use pg::{TestDb, postgres_dump, sqlite_dump};

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
    let postgres = pg.run(dir, SEED);
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
        pg.run(dir.path(), &users),
    );
    assert_eq!(
        (sqlite.code, sqlite.stdout),
        (postgres.code, postgres.stdout)
    );

    let jobs = root().join("jobs");
    let jobs = jobs.to_str().unwrap();
    let plan = ["plan", jobs, "--format", "json", "--operator", "admin"];
    let sqlite = run(handover(dir.path()).args(plan));
    let postgres = pg.run(dir.path(), &plan);
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
    let verified = pg.run(dir.path(), &verify);
    assert_eq!(verified.code, 0, "{}{}", verified.stdout, verified.stderr);
}

#[test]
fn a_column_dropped_later_stops_every_command_by_name() {
    let pg = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(pg.run(dir.path(), &["db", "init"]).code, 0);
    pg.execute("ALTER TABLE qnaires DROP COLUMN kind");
    let jobs = root().join("jobs");
    let plan = pg.run(dir.path(), &["plan", jobs.to_str().unwrap()]);
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    assert!(plan.stderr.contains("`qnaires.kind`"), "{}", plan.stderr);
    let init = pg.run(dir.path(), &["db", "init"]);
    assert_eq!(init.code, 1);
    assert!(init.stderr.contains("`qnaires.kind`"), "{}", init.stderr);
}

#[test]
fn the_audit_trail_refuses_updates_and_deletes() {
    let pg = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(pg.run(dir.path(), &["db", "init"]).code, 0);
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
    let seed = pg.run(dir.path(), SEED);
    assert_eq!(seed.code, 0, "{}", seed.stderr);
    let before = postgres_dump(&pg);
    let jobs = root().join("jobs");
    let plan = pg.run(dir.path(), &["plan", jobs.to_str().unwrap()]);
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
