//! The clinic database through the real binary: `db init`, `db seed` and
//! `users` on fresh temporary databases of each backend, and the bad inputs
//! they refuse. The tests about a SQLite file (its journal, locks, a path
//! that is not a database) run on SQLite only.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use assert_cmd::assert::OutputAssertExt;
use common::db::TestDb;
use common::{Backend, on_both_backends};
use tempfile::TempDir;

const NOW: &str = "2026-12-01T09:00:00Z";

/// A temporary directory and one clinic database, not created yet.
struct Clinic {
    dir: TempDir,
    db: TestDb,
}

impl Clinic {
    fn new(backend: Backend) -> Clinic {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::create(backend, dir.path());
        Clinic { dir, db }
    }

    /// The SQLite file, for the tests about SQLite.
    fn file(&self) -> PathBuf {
        assert_eq!(self.db.backend(), Backend::Sqlite);
        PathBuf::from(self.db.url())
    }

    fn other(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_handover"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("HANDOVER_DB", self.db.url())
            .env("HANDOVER_NOW", NOW)
            .env("HANDOVER_BUSY_TIMEOUT_MS", "200")
            .env_remove("HANDOVER_ADMIN_PASSWORD")
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1");
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn init(&self) {
        self.run(&["db", "init"]).assert().success();
    }

    fn seed(&self, extra: &[&str]) -> Output {
        let mut args = vec!["db", "seed", "--admin-password", "s3cret-pass"];
        args.extend_from_slice(extra);
        let output = self.run(&args);
        output.clone().assert().success();
        output
    }

    fn count(&self, sql: &str) -> i64 {
        self.db.int(sql, &[])
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The tables with their columns, and the indexes, by name.
fn schema(db: &TestDb) -> Vec<String> {
    let mut lines: Vec<String> = db
        .tables()
        .into_iter()
        .map(|table| format!("table {table} ({})", db.columns(&table).join(", ")))
        .collect();
    let indexes = match db.backend() {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'index'",
        Backend::Postgres => {
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema()"
        }
    };
    let mut names: Vec<String> = db
        .query(indexes, &[])
        .into_iter()
        .map(|row| format!("index {}", row[0]))
        .collect();
    names.sort();
    lines.extend(names);
    lines
}

/// Every row of every EMR table, as text, except the salted password hash.
fn dump(db: &TestDb) -> Vec<String> {
    let tables = [
        (
            "users",
            "id, username, full_name, role, province, active, deactivated_at, deactivated_by",
        ),
        ("user_permissions", "*"),
        ("appointments", "*"),
        ("qnaires", "*"),
        ("inbox_messages", "*"),
        ("lab_integrations", "*"),
        ("billing_links", "*"),
        ("billing_claims", "*"),
    ];
    let mut lines = Vec::new();
    for (table, columns) in tables {
        let sql = format!("SELECT {columns} FROM {table} ORDER BY 1, 2");
        for row in db.query(&sql, &[]) {
            let cells: Vec<String> = row.iter().map(ToString::to_string).collect();
            lines.push(format!("{table}: {}", cells.join(" | ")));
        }
    }
    lines
}

on_both_backends!(init_twice_is_harmless);
fn init_twice_is_harmless(backend: Backend) {
    let clinic = Clinic::new(backend);
    let first = clinic.run(&["db", "init"]);
    first.clone().assert().success();
    assert!(stdout(&first).contains("initialised"), "{}", stdout(&first));
    let before = schema(&clinic.db);

    let again = clinic.run(&["db", "init"]);
    again.clone().assert().success();
    assert!(
        stdout(&again).contains("nothing changed"),
        "{}",
        stdout(&again)
    );
    assert_eq!(schema(&clinic.db), before);
    for table in [
        "users",
        "appointments",
        "qnaires",
        "inbox_messages",
        "billing_claims",
    ] {
        assert!(
            before
                .iter()
                .any(|line| line.starts_with(&format!("table {table} (")))
        );
    }
    assert!(before.contains(&"index appointments_by_practitioner".to_string()));
}

/// SQLite only: its journal mode.
#[test]
fn init_uses_the_write_ahead_log() {
    let clinic = Clinic::new(Backend::Sqlite);
    clinic.init();
    let mode = clinic.db.text("PRAGMA journal_mode", &[]);
    assert_eq!(mode.as_deref(), Some("wal"));
}

on_both_backends!(contract_check_names_a_dropped_column_and_changes_nothing);
fn contract_check_names_a_dropped_column_and_changes_nothing(backend: Backend) {
    let clinic = Clinic::new(backend);
    clinic.init();
    clinic
        .db
        // SQLite's owner index covers the column, and SQLite drops neither
        // alone; PostgreSQL drops such an index with its column.
        .batch("DROP INDEX IF EXISTS inbox_messages_by_owner");
    clinic
        .db
        .batch("ALTER TABLE inbox_messages DROP COLUMN snoozed_until");
    let before = schema(&clinic.db);
    // On SQLite, not one byte of the file changes.
    clinic.db.close();
    let bytes = (backend == Backend::Sqlite).then(|| std::fs::read(clinic.file()).unwrap());

    let output = clinic.run(&["db", "init"]);
    output.clone().assert().code(1);
    assert!(
        stderr(&output).contains("`inbox_messages.snoozed_until`"),
        "{}",
        stderr(&output)
    );
    assert_eq!(schema(&clinic.db), before);
    if let Some(bytes) = bytes {
        assert_eq!(std::fs::read(clinic.file()).unwrap(), bytes);
    }

    let users = clinic.run(&["users"]);
    users.clone().assert().code(1);
    assert!(stderr(&users).contains("`inbox_messages.snoozed_until`"));
}

on_both_backends!(contract_check_names_missing_tables_and_columns_of_a_hand_made_database);
fn contract_check_names_missing_tables_and_columns_of_a_hand_made_database(backend: Backend) {
    let clinic = Clinic::new(backend);
    clinic
        .db
        .batch("CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT)");
    let before = schema(&clinic.db);

    let output = clinic.run(&["db", "init"]);
    output.clone().assert().code(1);
    let message = stderr(&output);
    assert!(message.contains("`users.full_name`"), "{message}");
    assert!(message.contains("`appointments`"), "{message}");
    assert_eq!(schema(&clinic.db), before);
}

on_both_backends!(migrations_run_once);
fn migrations_run_once(backend: Backend) {
    let clinic = Clinic::new(backend);
    clinic.init();
    let recorded = "SELECT count(*) FROM handover_migrations";
    let supported = match backend {
        Backend::Sqlite => handover::store::sqlite::SUPPORTED_VERSION,
        Backend::Postgres => handover::store::postgres::SUPPORTED_VERSION,
    };
    assert_eq!(clinic.count(recorded), supported);

    clinic
        .command(&["db", "init"])
        .env("HANDOVER_NOW", "2027-01-01T00:00:00Z")
        .assert()
        .success();
    assert_eq!(clinic.count(recorded), supported);
    let applied_at = clinic.db.text(
        "SELECT applied_at FROM handover_migrations WHERE version = 1",
        &[],
    );
    assert_eq!(applied_at.as_deref(), Some(NOW));
    assert_eq!(clinic.count("SELECT count(*) FROM handover_runs"), 0);
}

on_both_backends!(a_database_migrated_by_a_newer_handover_is_refused);
fn a_database_migrated_by_a_newer_handover_is_refused(backend: Backend) {
    let clinic = Clinic::new(backend);
    clinic.init();
    clinic.db.execute(
        "INSERT INTO handover_migrations (version, name, applied_at) VALUES (99, 'future', ?1)",
        &[NOW.into()],
    );
    for args in [&["db", "init"][..], &["users"][..]] {
        let output = clinic.run(args);
        output.clone().assert().code(1);
        assert!(
            stderr(&output).contains("newer handover"),
            "{}",
            stderr(&output)
        );
        assert!(stderr(&output).contains("99"));
    }
}

on_both_backends!(seeding_is_deterministic);
fn seeding_is_deterministic(backend: Backend) {
    let sizes = [
        "--appointments",
        "300",
        "--messages",
        "300",
        "--qnaires",
        "200",
        "--claims",
        "50",
    ];
    let first = Clinic::new(backend);
    first.seed(&[&sizes[..], &["--seed", "7"]].concat());
    let second = Clinic::new(backend);
    second.seed(&[&sizes[..], &["--seed", "7"]].concat());
    let third = Clinic::new(backend);
    third.seed(&[&sizes[..], &["--seed", "8"]].concat());

    let rows = dump(&first.db);
    assert!(rows.len() > 800, "{}", rows.len());
    assert_eq!(rows, dump(&second.db));
    assert_ne!(rows, dump(&third.db));
}

on_both_backends!(seeding_yields_every_kind_of_item_the_review_needs);
fn seeding_yields_every_kind_of_item_the_review_needs(backend: Backend) {
    let clinic = Clinic::new(backend);
    clinic.seed(&[]);
    let jsmith = "(SELECT id FROM users WHERE username = 'jsmith')";
    let checks = [
        format!("SELECT count(*) FROM appointments WHERE practitioner_id = {jsmith} AND status = 'booked' AND starts_at > '{NOW}'"),
        format!("SELECT count(*) FROM appointments WHERE status = 'completed' AND starts_at < '{NOW}'"),
        format!("SELECT count(*) FROM qnaires q JOIN appointments a ON a.id = q.appointment_id WHERE q.kind = 'appointment' AND q.status IN ('scheduled', 'sent') AND a.status = 'booked' AND a.starts_at > '{NOW}' AND a.practitioner_id = {jsmith}"),
        format!("SELECT count(*) FROM qnaires WHERE practitioner_id = {jsmith} AND kind = 'recurring' AND status = 'scheduled'"),
        format!("SELECT count(*) FROM qnaires WHERE practitioner_id = {jsmith} AND kind = 'sent' AND status = 'sent'"),
        format!("SELECT count(*) FROM inbox_messages WHERE owner_id = {jsmith} AND archived = false AND snoozed_until IS NOT NULL"),
        "SELECT count(*) FROM inbox_messages WHERE archived = true".to_string(),
        "SELECT count(*) FROM inbox_messages m JOIN users u ON u.id = m.owner_id WHERE u.role = 'staff' AND m.archived = false".to_string(),
        "SELECT count(*) FROM lab_integrations l JOIN users u ON u.id = l.user_id WHERE u.username = 'mlopez' AND l.is_main = true".to_string(),
        format!("SELECT count(*) FROM lab_integrations WHERE user_id = {jsmith} AND is_main = false"),
        "SELECT count(*) FROM billing_links l JOIN users u ON u.id = l.user_id WHERE u.username IN ('jsmith', 'apatel') AND l.system = 'mdbilling' AND l.connected = true AND u.province = 'ON'".to_string(),
        format!("SELECT count(*) FROM billing_claims WHERE practitioner_id = {jsmith} AND status IN ('draft', 'ready', 'rejected')"),
        "SELECT count(*) FROM users u JOIN users b ON b.id = u.deactivated_by WHERE u.username = 'hformer' AND u.active = false AND b.username = 'admin'".to_string(),
        "SELECT count(*) FROM user_permissions p JOIN users u ON u.id = p.user_id WHERE u.username = 'admin' AND p.permission = 'edit_other_users'".to_string(),
        "SELECT count(*) FROM users WHERE username = 'admin' AND password_hash LIKE '$argon2id$v=19$m=19456,t=2,p=1$%'".to_string(),
    ];
    for sql in &checks {
        assert!(clinic.count(sql) > 0, "nothing for: {sql}");
    }
    for kind in ["appointment", "recurring", "sent"] {
        let sql = format!("SELECT count(*) FROM qnaires WHERE kind = '{kind}'");
        assert!(clinic.count(&sql) > 0, "{kind}");
    }
    assert_eq!(clinic.count("SELECT count(*) FROM appointments"), 2000);
    assert_eq!(clinic.count("SELECT count(*) FROM inbox_messages"), 2000);
    assert_eq!(
        clinic.count("SELECT count(*) FROM lab_integrations WHERE is_main = true"),
        1
    );
    let usernames = clinic.count(
        "SELECT count(*) FROM users WHERE username IN ('jsmith', 'apatel', 'bchen', 'mlopez', 'kwong', \
         'rnguyen', 'tgarcia', 'lmartin', 'dokafor', 'reception', 'nurse.lee', 'hformer', 'admin')",
    );
    assert_eq!(usernames, 13);
}

on_both_backends!(seeding_generates_and_prints_an_admin_password_once);
fn seeding_generates_and_prints_an_admin_password_once(backend: Backend) {
    let clinic = Clinic::new(backend);
    let output = clinic.run(&["db", "seed", "--appointments", "10", "--messages", "10"]);
    output.clone().assert().success();
    let text = stdout(&output);
    let password = text
        .lines()
        .find_map(|line| line.strip_prefix("password of `admin` (shown once): "))
        .expect("a generated password")
        .to_string();
    let hash = clinic
        .db
        .text(
            "SELECT password_hash FROM users WHERE username = 'admin'",
            &[],
        )
        .unwrap();
    assert!(handover::password::verify_password(&password, &hash));
    assert!(!stderr(&output).contains(&password));
}

on_both_backends!(seeding_refuses_a_database_with_users);
fn seeding_refuses_a_database_with_users(backend: Backend) {
    let clinic = Clinic::new(backend);
    clinic.seed(&["--appointments", "10"]);
    let before = dump(&clinic.db);
    let output = clinic.run(&["db", "seed", "--admin-password", "x"]);
    output.clone().assert().code(1);
    assert!(stderr(&output).contains("already has users"));
    assert_eq!(dump(&clinic.db), before);
}

on_both_backends!(users_lists_active_and_deactivated_apart);
fn users_lists_active_and_deactivated_apart(backend: Backend) {
    let clinic = Clinic::new(backend);
    clinic.seed(&[
        "--practitioners",
        "2",
        "--staff",
        "1",
        "--appointments",
        "10",
    ]);

    let active = stdout(&clinic.run(&["users"]));
    assert!(active.starts_with("active users: 15\n"), "{active}");
    assert!(active.contains("jsmith") && active.contains("nurse.lee") && active.contains("p00002"));
    assert!(!active.contains("hformer"));

    let gone = stdout(&clinic.run(&["users", "--deactivated"]));
    assert!(gone.starts_with("deactivated users: 1\n"), "{gone}");
    assert!(
        gone.contains("hformer") && gone.contains("2026-10-02T17:00:00Z") && gone.contains("admin")
    );
    assert!(!gone.contains("jsmith"));

    let json: serde_json::Value = serde_json::from_slice(
        &clinic
            .run(&["users", "--deactivated", "--format", "json"])
            .stdout,
    )
    .unwrap();
    let list = json["deactivated"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["username"], "hformer");
    assert_eq!(list[0]["deactivated_by"], "admin");
    assert_eq!(list[0]["deactivated_at"], "2026-10-02T17:00:00Z");

    let json: serde_json::Value =
        serde_json::from_slice(&clinic.run(&["--format", "json", "users"]).stdout).unwrap();
    let list = json["active"].as_array().unwrap();
    assert_eq!(list.len(), 15);
    assert!(
        list.iter()
            .all(|user| user["active"] == true && user.get("password_hash").is_none())
    );
}

/// SQLite only, as are the next four: a file path, a file, its locks.
#[test]
fn a_path_in_a_missing_directory_is_refused() {
    let clinic = Clinic::new(Backend::Sqlite);
    let db = clinic.other("nowhere/clinic.db");
    let output = clinic
        .command(&["db", "init"])
        .env("HANDOVER_DB", &db)
        .output()
        .unwrap();
    output.clone().assert().code(1);
    assert!(
        stderr(&output).contains("does not exist"),
        "{}",
        stderr(&output)
    );
    assert!(!clinic.other("nowhere").exists());
}

#[test]
fn a_missing_file_is_not_created_by_a_reading_command() {
    let clinic = Clinic::new(Backend::Sqlite);
    let output = clinic.run(&["users"]);
    output.clone().assert().code(1);
    assert!(stderr(&output).contains("no such file"));
    assert!(stderr(&output).contains("hint: run `handover db init` first"));
    assert!(!clinic.file().exists());
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_alone() {
    let clinic = Clinic::new(Backend::Sqlite);
    std::fs::write(clinic.file(), "name,role\njsmith,practitioner\n").unwrap();
    for args in [&["db", "init"][..], &["db", "seed"][..], &["users"][..]] {
        let output = clinic.run(args);
        output.clone().assert().code(1);
        assert!(
            stderr(&output).contains("is not a SQLite database"),
            "{}",
            stderr(&output)
        );
    }
    assert_eq!(
        std::fs::read_to_string(clinic.file()).unwrap(),
        "name,role\njsmith,practitioner\n"
    );
}

/// Root ignores file permissions, so the read-only database is opened
/// through `sqlite://PATH?mode=ro`, which SQLite honours for everyone.
#[test]
fn a_read_only_database_asked_to_change_is_refused() {
    let clinic = Clinic::new(Backend::Sqlite);
    clinic.init();
    let before = dump(&clinic.db);
    let url = format!("sqlite://{}?mode=ro", clinic.file().display());
    let output = clinic
        .command(&["db", "seed", "--admin-password", "x"])
        .env("HANDOVER_DB", &url)
        .output()
        .unwrap();
    output.clone().assert().code(1);
    assert!(
        stderr(&output).contains("is read-only"),
        "{}",
        stderr(&output)
    );
    assert_eq!(dump(&clinic.db), before);

    clinic
        .command(&["users"])
        .env("HANDOVER_DB", &url)
        .assert()
        .success();
}

#[test]
fn a_database_locked_beyond_the_timeout_is_refused() {
    let clinic = Clinic::new(Backend::Sqlite);
    clinic.init();
    let mut holder = rusqlite::Connection::open(clinic.file()).unwrap();
    let lock = holder
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    let started = std::time::Instant::now();
    let output = clinic.run(&["db", "seed", "--admin-password", "x"]);
    output.clone().assert().code(1);
    assert!(
        stderr(&output).contains("locked by another process"),
        "{}",
        stderr(&output)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    lock.rollback().unwrap();
    assert_eq!(clinic.count("SELECT count(*) FROM users"), 0);
}

#[test]
fn an_unknown_url_scheme_is_invalid_input() {
    let clinic = Clinic::new(Backend::Sqlite);
    let output = clinic
        .command(&["users"])
        .env("HANDOVER_DB", "mysql://clinic")
        .output()
        .unwrap();
    output.clone().assert().code(2);
    assert!(stderr(&output).contains("unknown scheme `mysql`"));
}

#[test]
fn an_unreachable_postgres_server_fails_without_showing_the_password() {
    let clinic = Clinic::new(Backend::Sqlite);
    let url = "postgres://hr:hunter2@127.0.0.1:1/clinic";
    let output = clinic
        .command(&["users"])
        .env("HANDOVER_DB", url)
        .output()
        .unwrap();
    output.clone().assert().code(1);
    let stderr = stderr(&output);
    assert!(
        stderr.contains(
            "could not connect to the PostgreSQL database `postgres://hr@127.0.0.1:1/clinic`"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

on_both_backends!(absurd_or_negative_seed_sizes_are_invalid_and_change_nothing);
fn absurd_or_negative_seed_sizes_are_invalid_and_change_nothing(backend: Backend) {
    let clinic = Clinic::new(backend);
    for args in [
        &["db", "seed", "--appointments", "50000001"][..],
        &["db", "seed", "--practitioners", "100001"][..],
        &["db", "seed", "--messages=-5"][..],
        &["db", "seed", "--claims", "lots"][..],
    ] {
        clinic.run(args).assert().code(2);
    }
    match backend {
        Backend::Sqlite => assert!(!clinic.file().exists()),
        Backend::Postgres => assert_eq!(clinic.db.tables(), Vec::<String>::new()),
    }
}
