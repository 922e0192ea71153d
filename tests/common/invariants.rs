//! DESIGN §8 as checks, run after every apply scenario.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use super::db::{Backend, TestDb, Value};

/// The EMR tables and the column that says who owns each row.
const OWNED: [(&str, &str); 5] = [
    ("appointments", "practitioner_id"),
    ("qnaires", "practitioner_id"),
    ("inbox_messages", "owner_id"),
    ("lab_integrations", "user_id"),
    ("billing_links", "user_id"),
];

/// The key of an EMR table: `id`, or the pair that identifies a row of
/// the two tables without one.
pub fn emr_key(table: &str) -> &'static str {
    match table {
        "user_permissions" => "user_id, permission",
        "billing_links" => "user_id, system",
        _ => "id",
    }
}

/// Row identities of every EMR table, taken before a run.
pub struct Before {
    rows: BTreeMap<&'static str, BTreeSet<String>>,
}

/// Records every EMR row's identity.
pub fn before(db: &TestDb) -> Before {
    let mut rows = BTreeMap::new();
    for (table, _) in handover::store::sqlite::CONTRACT {
        rows.insert(*table, identities(db, table));
    }
    Before { rows }
}

fn identities(db: &TestDb, table: &str) -> BTreeSet<String> {
    let key = emr_key(table);
    db.query(&format!("SELECT {key} FROM {table}"), &[])
        .into_iter()
        .map(|row| {
            let cells: Vec<String> = row.iter().map(Value::to_string).collect();
            cells.join("/")
        })
        .collect()
}

/// Checks every invariant that holds whatever happened: no EMR row deleted
/// (1), every item owned by exactly one existing user (3), and the database
/// itself sound. (The audit trail, 5, is checked with `audit verify`.)
pub fn always(db: &TestDb, before: &Before) {
    for (table, rows) in &before.rows {
        let now = identities(db, table);
        let missing: Vec<&String> = rows.difference(&now).collect();
        assert!(
            missing.is_empty(),
            "rows deleted from `{table}`: {missing:?}"
        );
    }
    for (table, owner) in OWNED {
        let orphans = db.int(
            &format!(
                "SELECT count(*) FROM {table} t LEFT JOIN users u ON u.id = t.{owner} \
                 WHERE u.id IS NULL"
            ),
            &[],
        );
        assert_eq!(orphans, 0, "`{table}` rows without exactly one owner");
    }
    // SQLite checks its file; PostgreSQL has no such check to run from SQL
    // (its own crash recovery is the server's business).
    if db.backend() == Backend::Sqlite {
        let integrity = db.text("PRAGMA integrity_check", &[]);
        assert_eq!(integrity.as_deref(), Some("ok"));
    }
}

/// Invariant 2: after a plan is done, the leaver is inactive and owns no
/// future booked appointment, scheduled or sent qnaire, open message, lab
/// integration or connected billing link.
pub fn leaver_done(db: &TestDb, leaver: &str, now: &str) {
    let id = db.int("SELECT id FROM users WHERE username = ?1", &[leaver.into()]);
    let active = db.int("SELECT active FROM users WHERE id = ?1", &[id.into()]);
    assert_eq!(active, 0, "`{leaver}` is still active");
    let future = db.int(
        "SELECT count(*) FROM appointments \
         WHERE practitioner_id = ?1 AND status = 'booked' AND starts_at > ?2",
        &[id.into(), now.into()],
    );
    assert_eq!(
        future, 0,
        "`{leaver}` still owns future booked appointments"
    );
    let checks = [
        (
            "open qnaires",
            "SELECT count(*) FROM qnaires WHERE practitioner_id = ?1 AND status IN ('scheduled', 'sent')",
        ),
        (
            "open inbox messages",
            "SELECT count(*) FROM inbox_messages WHERE owner_id = ?1 AND archived = false",
        ),
        (
            "lab integrations",
            "SELECT count(*) FROM lab_integrations WHERE user_id = ?1",
        ),
    ];
    for (what, sql) in checks {
        let count = db.int(sql, &[id.into()]);
        assert_eq!(count, 0, "`{leaver}` still owns {what}");
    }
}

/// Invariant 5: every item id moved by a run is named in the audit trail.
pub fn audit_names(db: &TestDb, ids: &[i64]) {
    let named: BTreeSet<i64> = db
        .query("SELECT detail FROM handover_audit", &[])
        .into_iter()
        .flat_map(|row| ids_in(&serde_json::from_str(&row[0].text().unwrap()).unwrap()))
        .collect();
    for id in ids {
        assert!(
            named.contains(id),
            "item {id} is not named in the audit trail"
        );
    }
}

fn ids_in(value: &serde_json::Value) -> Vec<i64> {
    match value {
        serde_json::Value::Object(map) => map.values().flat_map(ids_in).collect(),
        serde_json::Value::Array(items) => items.iter().flat_map(ids_in).collect(),
        serde_json::Value::Number(number) => number.as_i64().into_iter().collect(),
        _ => Vec::new(),
    }
}
