//! The clinic database through the real binary: `db init`, `db seed` and
//! `users` on fresh temporary databases, and the bad inputs they refuse.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::assert::OutputAssertExt;
use rusqlite::Connection;
use tempfile::TempDir;

const NOW: &str = "2026-12-01T09:00:00Z";

/// A temporary directory with one clinic database in it.
struct Clinic {
    dir: TempDir,
    db: PathBuf,
}

impl Clinic {
    fn new() -> Clinic {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("clinic.db");
        Clinic { dir, db }
    }

    fn other(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_handover"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("HANDOVER_DB", &self.db)
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

    fn conn(&self) -> Connection {
        Connection::open(&self.db).unwrap()
    }

    fn count(&self, sql: &str) -> i64 {
        self.conn().query_row(sql, [], |row| row.get(0)).unwrap()
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn schema(path: &Path) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut statement = conn
        .prepare("SELECT coalesce(sql, name) FROM sqlite_master ORDER BY name")
        .unwrap();
    let rows = statement.query_map([], |row| row.get(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

/// Every row of every EMR table, as text, except the salted password hash.
fn dump(path: &Path) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
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
        let mut statement = conn.prepare(&sql).unwrap();
        let width = statement.column_count();
        let rows = statement
            .query_map([], |row| {
                let cells: Vec<String> = (0..width)
                    .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                    .collect();
                Ok(format!("{table}: {}", cells.join(" | ")))
            })
            .unwrap();
        lines.extend(rows.map(Result::unwrap));
    }
    lines
}

#[test]
fn init_twice_is_harmless() {
    let clinic = Clinic::new();
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
                .any(|sql| sql.contains(&format!("CREATE TABLE {table}")))
        );
    }
    assert!(
        before
            .iter()
            .any(|sql| sql.contains("appointments_by_practitioner"))
    );
}

#[test]
fn init_uses_the_write_ahead_log() {
    let clinic = Clinic::new();
    clinic.init();
    let mode: String = clinic
        .conn()
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn contract_check_names_a_dropped_column_and_changes_nothing() {
    let clinic = Clinic::new();
    clinic.init();
    clinic
        .conn()
        // The owner index covers the column: SQLite drops neither alone.
        .execute_batch(
            "DROP INDEX inbox_messages_by_owner;
             ALTER TABLE inbox_messages DROP COLUMN snoozed_until",
        )
        .unwrap();
    let bytes = std::fs::read(&clinic.db).unwrap();

    let output = clinic.run(&["db", "init"]);
    output.clone().assert().code(1);
    assert!(
        stderr(&output).contains("`inbox_messages.snoozed_until`"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read(&clinic.db).unwrap(), bytes);

    let users = clinic.run(&["users"]);
    users.clone().assert().code(1);
    assert!(stderr(&users).contains("`inbox_messages.snoozed_until`"));
}

#[test]
fn contract_check_names_missing_tables_and_columns_of_a_hand_made_database() {
    let clinic = Clinic::new();
    clinic
        .conn()
        .execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT)")
        .unwrap();
    let before = schema(&clinic.db);

    let output = clinic.run(&["db", "init"]);
    output.clone().assert().code(1);
    let message = stderr(&output);
    assert!(message.contains("`users.full_name`"), "{message}");
    assert!(message.contains("`appointments`"), "{message}");
    assert_eq!(schema(&clinic.db), before);
}

#[test]
fn migrations_run_once() {
    let clinic = Clinic::new();
    clinic.init();
    let recorded = "SELECT count(*) FROM handover_migrations";
    assert_eq!(
        clinic.count(recorded),
        handover::store::sqlite::SUPPORTED_VERSION
    );

    clinic
        .command(&["db", "init"])
        .env("HANDOVER_NOW", "2027-01-01T00:00:00Z")
        .assert()
        .success();
    assert_eq!(
        clinic.count(recorded),
        handover::store::sqlite::SUPPORTED_VERSION
    );
    let applied_at: String = clinic
        .conn()
        .query_row(
            "SELECT applied_at FROM handover_migrations WHERE version = 1",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(applied_at, NOW);
    assert_eq!(clinic.count("SELECT count(*) FROM handover_runs"), 0);
}

#[test]
fn a_database_migrated_by_a_newer_handover_is_refused() {
    let clinic = Clinic::new();
    clinic.init();
    clinic
        .conn()
        .execute(
            "INSERT INTO handover_migrations (version, name, applied_at) VALUES (99, 'future', ?1)",
            [NOW],
        )
        .unwrap();
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

#[test]
fn seeding_is_deterministic() {
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
    let first = Clinic::new();
    first.seed(&[&sizes[..], &["--seed", "7"]].concat());
    let second = Clinic::new();
    second.seed(&[&sizes[..], &["--seed", "7"]].concat());
    let third = Clinic::new();
    third.seed(&[&sizes[..], &["--seed", "8"]].concat());

    let rows = dump(&first.db);
    assert!(rows.len() > 800, "{}", rows.len());
    assert_eq!(rows, dump(&second.db));
    assert_ne!(rows, dump(&third.db));
}

#[test]
fn seeding_yields_every_kind_of_item_the_review_needs() {
    let clinic = Clinic::new();
    clinic.seed(&[]);
    let jsmith = "(SELECT id FROM users WHERE username = 'jsmith')";
    let checks = [
        format!("SELECT count(*) FROM appointments WHERE practitioner_id = {jsmith} AND status = 'booked' AND starts_at > '{NOW}'"),
        format!("SELECT count(*) FROM appointments WHERE status = 'completed' AND starts_at < '{NOW}'"),
        format!("SELECT count(*) FROM qnaires q JOIN appointments a ON a.id = q.appointment_id WHERE q.kind = 'appointment' AND q.status IN ('scheduled', 'sent') AND a.status = 'booked' AND a.starts_at > '{NOW}' AND a.practitioner_id = {jsmith}"),
        format!("SELECT count(*) FROM qnaires WHERE practitioner_id = {jsmith} AND kind = 'recurring' AND status = 'scheduled'"),
        format!("SELECT count(*) FROM qnaires WHERE practitioner_id = {jsmith} AND kind = 'sent' AND status = 'sent'"),
        format!("SELECT count(*) FROM inbox_messages WHERE owner_id = {jsmith} AND archived = 0 AND snoozed_until IS NOT NULL"),
        "SELECT count(*) FROM inbox_messages WHERE archived = 1".to_string(),
        "SELECT count(*) FROM inbox_messages m JOIN users u ON u.id = m.owner_id WHERE u.role = 'staff' AND m.archived = 0".to_string(),
        "SELECT count(*) FROM lab_integrations l JOIN users u ON u.id = l.user_id WHERE u.username = 'mlopez' AND l.is_main = 1".to_string(),
        format!("SELECT count(*) FROM lab_integrations WHERE user_id = {jsmith} AND is_main = 0"),
        "SELECT count(*) FROM billing_links l JOIN users u ON u.id = l.user_id WHERE u.username IN ('jsmith', 'apatel') AND l.system = 'mdbilling' AND l.connected = 1 AND u.province = 'ON'".to_string(),
        format!("SELECT count(*) FROM billing_claims WHERE practitioner_id = {jsmith} AND status IN ('draft', 'ready', 'rejected')"),
        "SELECT count(*) FROM users u JOIN users b ON b.id = u.deactivated_by WHERE u.username = 'hformer' AND u.active = 0 AND b.username = 'admin'".to_string(),
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
        clinic.count("SELECT count(*) FROM lab_integrations WHERE is_main = 1"),
        1
    );
    let usernames = clinic.count(
        "SELECT count(*) FROM users WHERE username IN ('jsmith', 'apatel', 'bchen', 'mlopez', 'kwong', \
         'rnguyen', 'tgarcia', 'lmartin', 'dokafor', 'reception', 'nurse.lee', 'hformer', 'admin')",
    );
    assert_eq!(usernames, 13);
}

#[test]
fn seeding_generates_and_prints_an_admin_password_once() {
    let clinic = Clinic::new();
    let output = clinic.run(&["db", "seed", "--appointments", "10", "--messages", "10"]);
    output.clone().assert().success();
    let text = stdout(&output);
    let password = text
        .lines()
        .find_map(|line| line.strip_prefix("password of `admin` (shown once): "))
        .expect("a generated password")
        .to_string();
    let hash: String = clinic
        .conn()
        .query_row(
            "SELECT password_hash FROM users WHERE username = 'admin'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(handover::password::verify_password(&password, &hash));
    assert!(!stderr(&output).contains(&password));
}

#[test]
fn seeding_refuses_a_database_with_users() {
    let clinic = Clinic::new();
    clinic.seed(&["--appointments", "10"]);
    let before = dump(&clinic.db);
    let output = clinic.run(&["db", "seed", "--admin-password", "x"]);
    output.clone().assert().code(1);
    assert!(stderr(&output).contains("already has users"));
    assert_eq!(dump(&clinic.db), before);
}

#[test]
fn users_lists_active_and_deactivated_apart() {
    let clinic = Clinic::new();
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

#[test]
fn a_path_in_a_missing_directory_is_refused() {
    let clinic = Clinic::new();
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
    let clinic = Clinic::new();
    let output = clinic.run(&["users"]);
    output.clone().assert().code(1);
    assert!(stderr(&output).contains("no such file"));
    assert!(stderr(&output).contains("hint: run `handover db init` first"));
    assert!(!clinic.db.exists());
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_alone() {
    let clinic = Clinic::new();
    std::fs::write(&clinic.db, "name,role\njsmith,practitioner\n").unwrap();
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
        std::fs::read_to_string(&clinic.db).unwrap(),
        "name,role\njsmith,practitioner\n"
    );
}

/// Root ignores file permissions, so the read-only database is opened
/// through `sqlite://PATH?mode=ro`, which SQLite honours for everyone.
#[test]
fn a_read_only_database_asked_to_change_is_refused() {
    let clinic = Clinic::new();
    clinic.init();
    let before = dump(&clinic.db);
    let url = format!("sqlite://{}?mode=ro", clinic.db.display());
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
    let clinic = Clinic::new();
    clinic.init();
    let mut holder = clinic.conn();
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
    let clinic = Clinic::new();
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
    let clinic = Clinic::new();
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

#[test]
fn absurd_or_negative_seed_sizes_are_invalid_and_change_nothing() {
    let clinic = Clinic::new();
    for args in [
        &["db", "seed", "--appointments", "50000001"][..],
        &["db", "seed", "--practitioners", "100001"][..],
        &["db", "seed", "--messages=-5"][..],
        &["db", "seed", "--claims", "lots"][..],
    ] {
        clinic.run(args).assert().code(2);
    }
    assert!(!clinic.db.exists());
}
