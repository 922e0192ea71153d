//! Handover's own `handover_*` tables, built by numbered migrations that are
//! recorded in `handover_migrations` so that each runs once. A database
//! whose recorded version is above [`SUPPORTED`] came from a newer release
//! and is refused.

use rusqlite::{Connection, OptionalExtension};

/// The numbered migrations, in order; the number is the index plus one.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("handover state", MIGRATION_1),
    ("why a run last failed", MIGRATION_2),
    ("plan claims of apply --workers", MIGRATION_3),
];

/// The newest version this release knows.
pub const SUPPORTED: i64 = MIGRATIONS.len() as i64;

const LEDGER: &str = "CREATE TABLE IF NOT EXISTS handover_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)";

/// One row per plan (leaver and fingerprint) that a worker of `apply
/// --workers` claimed: who holds it, until when, and how it ended.
const MIGRATION_3: &str = "
CREATE TABLE handover_claims (
    username TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    worker TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    claimed_at TEXT NOT NULL,
    lease_until TEXT NOT NULL,
    released_at TEXT,
    outcome TEXT,
    takeovers INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (username, fingerprint)
);
";

/// The last failure of a run, for `status` and schedulers.
const MIGRATION_2: &str = "
ALTER TABLE handover_runs ADD COLUMN last_error TEXT;
ALTER TABLE handover_runs ADD COLUMN failed_at TEXT;
";

const MIGRATION_1: &str = "
CREATE TABLE handover_runs (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    operator TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL
);
CREATE INDEX handover_runs_by_user ON handover_runs(username, id);

CREATE TABLE handover_steps (
    run_id INTEGER NOT NULL REFERENCES handover_runs(id),
    step TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    items INTEGER NOT NULL,
    PRIMARY KEY (run_id, step)
);

CREATE TABLE handover_audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    operator TEXT NOT NULL,
    username TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    step TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER handover_audit_no_update BEFORE UPDATE ON handover_audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER handover_audit_no_delete BEFORE DELETE ON handover_audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;

CREATE TABLE handover_outbox (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    system TEXT NOT NULL,
    billing_number TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    reason TEXT NOT NULL,
    effective_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    delivered_at TEXT
);

CREATE TABLE handover_lock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    holder TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    heartbeat TEXT NOT NULL
);
";

/// The version recorded in the database: 0 before the first migration.
pub fn current_version(conn: &Connection) -> rusqlite::Result<i64> {
    let ledger: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'handover_migrations'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    if ledger.is_none() {
        return Ok(0);
    }
    conn.query_row(
        "SELECT coalesce(max(version), 0) FROM handover_migrations",
        [],
        |row| row.get(0),
    )
}

/// Applies every migration above `from`, recording each with `applied_at`.
/// Runs inside the caller's transaction.
pub fn apply_from(conn: &Connection, from: i64, applied_at: &str) -> rusqlite::Result<Vec<i64>> {
    conn.execute_batch(LEDGER)?;
    let mut applied = Vec::new();
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate() {
        let version = index as i64 + 1;
        if version <= from {
            continue;
        }
        conn.execute_batch(sql)?;
        conn.execute(
            "INSERT INTO handover_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            (version, name, applied_at),
        )?;
        tracing::info!(version, name, "applied migration");
        applied.push(version);
    }
    Ok(applied)
}
