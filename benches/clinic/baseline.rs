//! The baseline for apply: a hand-written SQL script that makes the same
//! row changes for a batch in one transaction, run by the `sqlite3` tool;
//! and the digest of the EMR tables that shows both end in the same rows.

use std::fmt::Write as _;
use std::path::Path;

use rusqlite::types::ValueRef;
use sha2::{Digest, Sha256};

use crate::batch::Batch;

pub const SQLITE3: &str = "/usr/bin/sqlite3";

/// The EMR tables of DESIGN §1; `handover_*` tables are handover's own.
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

/// The script: for each leaver, what apply's steps 1–7 change, with the
/// same `now` (`deactivated_at`) and operator (`deactivated_by`). Step 7's
/// end state is the link disconnected, as after a delivered disconnect.
pub fn script(batch: &Batch, now: &str, operator: &str) -> String {
    let mut sql = String::from("PRAGMA synchronous = FULL;\nBEGIN IMMEDIATE;\n");
    for (leaver, recipient) in batch.pairs() {
        let user = |name: &str| format!("(SELECT id FROM users WHERE username = '{name}')");
        let (l, r) = (user(&leaver), user(&recipient));
        let (inbox, by) = (user(batch.inbox_to), user(operator));
        let future = format!("practitioner_id = {l} AND status = 'booked' AND starts_at > '{now}'");
        let _ = write!(
            sql,
            "UPDATE qnaires SET practitioner_id = {r} WHERE kind = 'appointment'
  AND status IN ('scheduled', 'sent')
  AND appointment_id IN (SELECT id FROM appointments WHERE {future});
UPDATE appointments SET practitioner_id = {r} WHERE {future};
UPDATE qnaires SET practitioner_id = {r}
  WHERE practitioner_id = {l} AND kind = 'recurring' AND status = 'scheduled';
UPDATE qnaires SET practitioner_id = {r}
  WHERE practitioner_id = {l} AND kind = 'sent' AND status = 'sent';
UPDATE inbox_messages SET owner_id = {inbox}, forwarded_from = {l}
  WHERE owner_id = {l} AND archived = 0;
UPDATE lab_integrations SET user_id = {r} WHERE user_id = {l};
UPDATE users SET active = 0, deactivated_at = '{now}', deactivated_by = {by} WHERE id = {l};
UPDATE billing_links SET connected = 0 WHERE user_id = {l} AND connected = 1;
"
        );
    }
    sql.push_str("COMMIT;\n");
    sql
}

/// The sha256 of every row of the EMR tables, table by table in rowid
/// order, and how many rows that is.
pub fn emr_digest(db: &Path) -> anyhow::Result<(String, u64)> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut hasher = Sha256::new();
    let mut rows = 0;
    for table in EMR_TABLES {
        hasher.update(table.as_bytes());
        let mut statement = conn.prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))?;
        let columns = statement.column_count();
        let mut cursor = statement.query([])?;
        while let Some(row) = cursor.next()? {
            for index in 0..columns {
                hash_value(&mut hasher, row.get_ref(index)?);
            }
            rows += 1;
        }
    }
    let digest = hasher.finalize();
    let hex = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok((hex, rows))
}

fn hash_value(hasher: &mut Sha256, value: ValueRef<'_>) {
    match value {
        ValueRef::Null => hasher.update([0]),
        ValueRef::Integer(int) => {
            hasher.update([1]);
            hasher.update(int.to_le_bytes());
        }
        ValueRef::Real(real) => {
            hasher.update([2]);
            hasher.update(real.to_le_bytes());
        }
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
            hasher.update([3]);
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        }
    }
}
