//! Queries that read the clinic: users, a leaver's items per category of
//! DESIGN §1, schedule collisions, and handover's own state.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row};

use super::{optional_timestamp, timestamp, unsigned};
use crate::clock::to_db_text;
use crate::store::{
    AuditEntry, BillingLink, Inventory, LabIntegration, LockHolder, OutboxEntry, Overlap, Role,
    Run, Step, User,
};

const USER_COLUMNS: &str = "u.id, u.username, u.full_name, u.role, u.province, u.active,
    u.deactivated_at, b.username, u.password_hash
    FROM users u LEFT JOIN users b ON b.id = u.deactivated_by";

fn user_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get(3)?;
    Ok(User {
        id: row.get(0)?,
        username: row.get(1)?,
        full_name: row.get(2)?,
        role: Role::parse(&role).unwrap_or(Role::Staff),
        province: row.get(4)?,
        active: row.get(5)?,
        deactivated_at: optional_timestamp(row.get(6)?)?,
        deactivated_by: row.get(7)?,
        password_hash: row.get(8)?,
    })
}

pub fn find_user(conn: &Connection, username: &str) -> rusqlite::Result<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} WHERE u.username = ?1");
    conn.query_row(&sql, [username], user_row).optional()
}

pub fn users(conn: &Connection) -> rusqlite::Result<Vec<User>> {
    let sql = format!("SELECT {USER_COLUMNS} ORDER BY u.username");
    let mut statement = conn.prepare(&sql)?;
    let rows = statement.query_map([], user_row)?;
    rows.collect()
}

pub fn has_permission(conn: &Connection, user_id: i64, permission: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM user_permissions WHERE user_id = ?1 AND permission = ?2)",
        (user_id, permission),
        |row| row.get(0),
    )
}

/// Future booked appointments of a practitioner (`?1` = user, `?2` = now).
pub const FUTURE_APPOINTMENTS: &str = "SELECT id FROM appointments
    WHERE practitioner_id = ?1 AND status = 'booked' AND starts_at > ?2";

/// Open appointment qnaires of those appointments.
pub const APPOINTMENT_QNAIRES: &str = "SELECT q.id FROM qnaires q
    JOIN appointments a ON a.id = q.appointment_id
    WHERE a.practitioner_id = ?1 AND a.status = 'booked' AND a.starts_at > ?2
      AND q.kind = 'appointment' AND q.status IN ('scheduled', 'sent')";

/// Open qnaires of a kind (`?1` = user, `?2` = kind, `?3` = open status).
pub const OPEN_QNAIRES: &str = "SELECT id FROM qnaires
    WHERE practitioner_id = ?1 AND kind = ?2 AND status = ?3";

/// Open inbox messages of a user.
pub const OPEN_INBOX: &str = "SELECT id FROM inbox_messages WHERE owner_id = ?1 AND archived = 0";

pub fn inventory(conn: &Connection, user: i64, now: Timestamp) -> rusqlite::Result<Inventory> {
    let now = to_db_text(now);
    let (inbox_messages, snoozed_messages) = open_inbox(conn, user)?;
    Ok(Inventory {
        appointments: ids(conn, FUTURE_APPOINTMENTS, (user, &now))?,
        appointment_qnaires: ids(conn, APPOINTMENT_QNAIRES, (user, &now))?,
        recurring_qnaires: ids(conn, OPEN_QNAIRES, (user, "recurring", "scheduled"))?,
        sent_qnaires: ids(conn, OPEN_QNAIRES, (user, "sent", "sent"))?,
        inbox_messages,
        snoozed_messages,
        lab_integrations: labs(conn, user)?,
        billing_links: billing_links(conn, user)?,
        pending_claims: count(
            conn,
            "SELECT count(*) FROM billing_claims
             WHERE practitioner_id = ?1 AND status IN ('draft', 'ready', 'rejected')",
            user,
        )?,
    })
}

/// The open messages' ids, sorted, and how many of them are snoozed, in
/// one pass over the owner's index.
fn open_inbox(conn: &Connection, user: i64) -> rusqlite::Result<(Vec<i64>, u64)> {
    let mut statement = conn.prepare_cached(
        "SELECT id, snoozed_until IS NOT NULL FROM inbox_messages
         WHERE owner_id = ?1 AND archived = 0 ORDER BY id",
    )?;
    let mut ids = Vec::new();
    let mut snoozed = 0;
    let mut rows = statement.query([user])?;
    while let Some(row) = rows.next()? {
        ids.push(row.get(0)?);
        snoozed += u64::from(row.get::<_, bool>(1)?);
    }
    Ok((ids, snoozed))
}

/// The ids a query selects, sorted.
pub fn ids<P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> rusqlite::Result<Vec<i64>> {
    let mut statement = conn.prepare_cached(&format!("{sql} ORDER BY 1"))?;
    let rows = statement.query_map(params, |row| row.get(0))?;
    rows.collect()
}

fn count(conn: &Connection, sql: &str, user: i64) -> rusqlite::Result<u64> {
    conn.prepare_cached(sql)?
        .query_row([user], |row| row.get::<_, i64>(0))
        .map(unsigned)
}

fn labs(conn: &Connection, user: i64) -> rusqlite::Result<Vec<LabIntegration>> {
    let mut statement = conn.prepare_cached(
        "SELECT id, lab, is_main FROM lab_integrations WHERE user_id = ?1 ORDER BY id",
    )?;
    let rows = statement.query_map([user], |row| {
        Ok(LabIntegration {
            id: row.get(0)?,
            lab: row.get(1)?,
            is_main: row.get(2)?,
        })
    })?;
    rows.collect()
}

fn billing_links(conn: &Connection, user: i64) -> rusqlite::Result<Vec<BillingLink>> {
    let mut statement = conn.prepare_cached(
        "SELECT system, billing_number FROM billing_links
         WHERE user_id = ?1 AND connected = 1 ORDER BY system",
    )?;
    let rows = statement.query_map([user], |row| {
        Ok(BillingLink {
            system: row.get(0)?,
            billing_number: row.get(1)?,
        })
    })?;
    rows.collect()
}

pub fn schedule_overlap(
    conn: &Connection,
    leaver: i64,
    recipient: i64,
    now: Timestamp,
) -> rusqlite::Result<Overlap> {
    let now = to_db_text(now);
    let moving = intervals(conn, leaver, "starts_at > ?2", &now)?;
    let own = intervals(conn, recipient, "ends_at > ?2", &now)?;
    let (count, earliest) = crate::store::overlap::collisions(&moving, &own);
    Ok(Overlap {
        count,
        earliest: optional_timestamp(earliest)?,
    })
}

/// A practitioner's booked appointments as (start, end), by start. The
/// UTC text form sorts in time order.
fn intervals(
    conn: &Connection,
    practitioner: i64,
    condition: &str,
    now: &str,
) -> rusqlite::Result<Vec<(String, String)>> {
    let sql = format!(
        "SELECT starts_at, ends_at FROM appointments
         WHERE practitioner_id = ?1 AND status = 'booked' AND {condition} ORDER BY starts_at"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map((practitioner, now), |row| Ok((row.get(0)?, row.get(1)?)))?;
    rows.collect()
}

pub fn runs(conn: &Connection, user: Option<&str>) -> rusqlite::Result<Vec<Run>> {
    let mut statement = conn.prepare(
        "SELECT id, username, fingerprint, operator, started_at, finished_at, status,
                last_error, failed_at
         FROM handover_runs WHERE ?1 IS NULL OR username = ?1 ORDER BY id",
    )?;
    let rows = statement.query_map([user], |row| {
        Ok(Run {
            id: row.get(0)?,
            user: row.get(1)?,
            fingerprint: row.get(2)?,
            operator: row.get(3)?,
            started_at: timestamp(&row.get::<_, String>(4)?)?,
            finished_at: optional_timestamp(row.get(5)?)?,
            status: row.get(6)?,
            last_error: row.get(7)?,
            failed_at: optional_timestamp(row.get(8)?)?,
        })
    })?;
    rows.collect()
}

pub fn steps(conn: &Connection, run: i64) -> rusqlite::Result<Vec<Step>> {
    let mut statement = conn.prepare(
        "SELECT run_id, step, finished_at, items FROM handover_steps
         WHERE run_id = ?1 ORDER BY finished_at, rowid",
    )?;
    let rows = statement.query_map([run], |row| {
        Ok(Step {
            run: row.get(0)?,
            step: row.get(1)?,
            finished_at: timestamp(&row.get::<_, String>(2)?)?,
            items: unsigned(row.get(3)?),
        })
    })?;
    rows.collect()
}

pub fn audit(conn: &Connection, user: Option<&str>) -> rusqlite::Result<Vec<AuditEntry>> {
    let mut statement = conn.prepare(
        "SELECT seq, at, operator, username, fingerprint, step, detail, prev_hash, hash
         FROM handover_audit WHERE ?1 IS NULL OR username = ?1 ORDER BY seq",
    )?;
    let rows = statement.query_map([user], audit_row)?;
    rows.collect()
}

pub fn audit_row(row: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        seq: row.get(0)?,
        at: timestamp(&row.get::<_, String>(1)?)?,
        operator: row.get(2)?,
        user: row.get(3)?,
        fingerprint: row.get(4)?,
        step: row.get(5)?,
        detail: row.get(6)?,
        prev_hash: row.get(7)?,
        hash: row.get(8)?,
    })
}

pub fn outbox(conn: &Connection, pending: bool) -> rusqlite::Result<Vec<OutboxEntry>> {
    let mut statement = conn.prepare(
        "SELECT id, user_id, system, billing_number, idempotency_key, reason, effective_at,
                status, attempts, last_error, delivered_at
         FROM handover_outbox WHERE ?1 = 0 OR status <> 'delivered' ORDER BY id",
    )?;
    let rows = statement.query_map([pending], |row| {
        Ok(OutboxEntry {
            id: row.get(0)?,
            user_id: row.get(1)?,
            system: row.get(2)?,
            billing_number: row.get(3)?,
            idempotency_key: row.get(4)?,
            reason: row.get(5)?,
            effective_at: timestamp(&row.get::<_, String>(6)?)?,
            status: row.get(7)?,
            attempts: unsigned(row.get(8)?),
            last_error: row.get(9)?,
            delivered_at: optional_timestamp(row.get(10)?)?,
        })
    })?;
    rows.collect()
}

pub fn lock_holder(conn: &Connection) -> rusqlite::Result<Option<LockHolder>> {
    conn.query_row(
        "SELECT holder, pid, host, acquired_at, heartbeat FROM handover_lock WHERE id = 1",
        [],
        |row| {
            Ok(LockHolder {
                holder: row.get(0)?,
                pid: row.get(1)?,
                host: row.get(2)?,
                acquired_at: timestamp(&row.get::<_, String>(3)?)?,
                heartbeat: timestamp(&row.get::<_, String>(4)?)?,
            })
        },
    )
    .optional()
}
