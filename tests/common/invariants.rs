//! DESIGN §8 as checks, run after every apply scenario.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;

/// The EMR tables and the column that says who owns each row.
const OWNED: [(&str, &str); 5] = [
    ("appointments", "practitioner_id"),
    ("qnaires", "practitioner_id"),
    ("inbox_messages", "owner_id"),
    ("lab_integrations", "user_id"),
    ("billing_links", "user_id"),
];

const EMR_TABLES: [&str; 8] = [
    "users",
    "user_permissions",
    "appointments",
    "qnaires",
    "inbox_messages",
    "lab_integrations",
    "billing_links",
    "billing_claims",
];

/// Row identities of every EMR table, taken before a run.
pub struct Before {
    rows: BTreeMap<&'static str, BTreeSet<String>>,
}

/// Records every EMR row's identity.
pub fn before(conn: &Connection) -> Before {
    let mut rows = BTreeMap::new();
    for table in EMR_TABLES {
        rows.insert(table, identities(conn, table));
    }
    Before { rows }
}

fn identities(conn: &Connection, table: &str) -> BTreeSet<String> {
    let key = match table {
        "user_permissions" => "user_id || '/' || permission",
        "billing_links" => "user_id || '/' || system",
        _ => "id",
    };
    let mut statement = conn.prepare(&format!("SELECT {key} FROM {table}")).unwrap();
    statement
        .query_map([], |row| row.get::<_, rusqlite::types::Value>(0))
        .unwrap()
        .map(|value| format!("{:?}", value.unwrap()))
        .collect()
}

/// Checks every invariant that holds whatever happened: no EMR row deleted
/// (1), every item owned by exactly one existing user (3), and the database
/// itself sound. (The audit trail, 5, is checked with `audit verify`.)
pub fn always(conn: &Connection, before: &Before) {
    for (table, rows) in &before.rows {
        let now = identities(conn, table);
        let missing: Vec<&String> = rows.difference(&now).collect();
        assert!(
            missing.is_empty(),
            "rows deleted from `{table}`: {missing:?}"
        );
    }
    for (table, owner) in OWNED {
        let orphans: i64 = conn
            .query_row(
                &format!(
                    "SELECT count(*) FROM {table} t LEFT JOIN users u ON u.id = t.{owner} \
                     WHERE u.id IS NULL"
                ),
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(orphans, 0, "`{table}` rows without exactly one owner");
    }
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
}

/// Invariant 2: after a plan is done, the leaver is inactive and owns no
/// future booked appointment, scheduled or sent qnaire, open message, lab
/// integration or connected billing link.
pub fn leaver_done(conn: &Connection, leaver: &str, now: &str) {
    let id: i64 = conn
        .query_row(
            "SELECT id FROM users WHERE username = ?1",
            [leaver],
            |row| row.get(0),
        )
        .unwrap();
    let active: i64 = conn
        .query_row("SELECT active FROM users WHERE id = ?1", [id], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(active, 0, "`{leaver}` is still active");
    let checks = [
        (
            "future booked appointments",
            "SELECT count(*) FROM appointments WHERE practitioner_id = ?1 AND status = 'booked' AND starts_at > ?2",
        ),
        (
            "open qnaires",
            "SELECT count(*) FROM qnaires WHERE practitioner_id = ?1 AND status IN ('scheduled', 'sent') AND ?2 IS NOT NULL",
        ),
        (
            "open inbox messages",
            "SELECT count(*) FROM inbox_messages WHERE owner_id = ?1 AND archived = 0 AND ?2 IS NOT NULL",
        ),
        (
            "lab integrations",
            "SELECT count(*) FROM lab_integrations WHERE user_id = ?1 AND ?2 IS NOT NULL",
        ),
    ];
    for (what, sql) in checks {
        let count: i64 = conn
            .query_row(sql, rusqlite::params![id, now], |row| row.get(0))
            .unwrap();
        assert_eq!(count, 0, "`{leaver}` still owns {what}");
    }
}

/// Invariant 5: every item id moved by a run is named in the audit trail.
pub fn audit_names(conn: &Connection, ids: &[i64]) {
    let details: Vec<String> = conn
        .prepare("SELECT detail FROM handover_audit")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let named: BTreeSet<i64> = details
        .iter()
        .flat_map(|detail| ids_in(&serde_json::from_str(detail).unwrap()))
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
