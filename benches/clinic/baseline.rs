//! The baseline for apply: a hand-written SQL script that makes the same
//! row changes for a batch in one transaction, in the dialect of the
//! backend whose tool runs it (`sqlite3` or `psql`).

use std::fmt::Write as _;

use crate::batch::Batch;

/// The EMR tables of DESIGN §1, each with its primary key (the order the
/// digests read rows in); `handover_*` tables are handover's own.
pub const EMR_TABLES: [(&str, &str); 8] = [
    ("users", "id"),
    ("user_permissions", "user_id, permission"),
    ("appointments", "id"),
    ("qnaires", "id"),
    ("inbox_messages", "id"),
    ("lab_integrations", "id"),
    ("billing_links", "user_id, system"),
    ("billing_claims", "id"),
];

/// What differs in the script between the two backends.
#[derive(Debug, Clone, Copy)]
pub enum Dialect {
    /// Flags are 0/1; the script opens and commits its own transaction.
    Sqlite,
    /// Flags are booleans; `psql -1` wraps the script in one transaction.
    Postgres,
}

impl Dialect {
    fn flag(self, on: bool) -> &'static str {
        match (self, on) {
            (Dialect::Sqlite, true) => "1",
            (Dialect::Sqlite, false) => "0",
            (Dialect::Postgres, true) => "true",
            (Dialect::Postgres, false) => "false",
        }
    }

    fn begin(self) -> &'static str {
        match self {
            Dialect::Sqlite => "PRAGMA synchronous = FULL;\nBEGIN IMMEDIATE;\n",
            Dialect::Postgres => "",
        }
    }

    fn commit(self) -> &'static str {
        match self {
            Dialect::Sqlite => "COMMIT;\n",
            Dialect::Postgres => "",
        }
    }
}

/// The script: for each leaver, what apply's steps 1–7 change, with the
/// same `now` (`deactivated_at`) and operator (`deactivated_by`). Step 7's
/// end state is the link disconnected, as after a delivered disconnect.
pub fn script(batch: &Batch, now: &str, operator: &str, dialect: Dialect) -> String {
    let mut sql = String::from(dialect.begin());
    let (yes, no) = (dialect.flag(true), dialect.flag(false));
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
  WHERE owner_id = {l} AND archived = {no};
UPDATE lab_integrations SET user_id = {r} WHERE user_id = {l};
UPDATE users SET active = {no}, deactivated_at = '{now}', deactivated_by = {by} WHERE id = {l};
UPDATE billing_links SET connected = {no} WHERE user_id = {l} AND connected = {yes};
"
        );
    }
    sql.push_str(dialect.commit());
    sql
}
