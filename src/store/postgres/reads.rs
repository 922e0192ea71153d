//! Queries that read the clinic on PostgreSQL: users, a leaver's items per
//! category of DESIGN §1, schedule collisions, and handover's own state.
//! The same questions as the SQLite backend asks, with `$n` parameters and
//! timestamps passed as `timestamptz`.

use jiff::Timestamp;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Error, GenericClient, Row};

use super::unsigned;
use crate::store::{
    AuditEntry, BillingLink, Inventory, LabIntegration, LockHolder, OutboxEntry, Overlap, Role,
    Run, Step, User,
};

const USER_COLUMNS: &str = "u.id, u.username, u.full_name, u.role, u.province, u.active,
    u.deactivated_at, b.username, u.password_hash
    FROM users u LEFT JOIN users b ON b.id = u.deactivated_by";

fn user_row(row: &Row) -> User {
    let role: String = row.get(3);
    User {
        id: row.get(0),
        username: row.get(1),
        full_name: row.get(2),
        role: Role::parse(&role).unwrap_or(Role::Staff),
        province: row.get(4),
        active: row.get(5),
        deactivated_at: row.get(6),
        deactivated_by: row.get(7),
        password_hash: row.get(8),
    }
}

pub async fn find_user<C: GenericClient>(
    client: &C,
    username: &str,
) -> Result<Option<User>, Error> {
    let sql = format!("SELECT {USER_COLUMNS} WHERE u.username = $1");
    let row = client.query_opt(&sql, &[&username]).await?;
    Ok(row.as_ref().map(user_row))
}

pub async fn users<C: GenericClient>(client: &C) -> Result<Vec<User>, Error> {
    let sql = format!("SELECT {USER_COLUMNS} ORDER BY u.username");
    let rows = client.query(&sql, &[]).await?;
    Ok(rows.iter().map(user_row).collect())
}

pub async fn has_permission<C: GenericClient>(
    client: &C,
    user_id: i64,
    permission: &str,
) -> Result<bool, Error> {
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM user_permissions WHERE user_id = $1 AND permission = $2)",
            &[&user_id, &permission],
        )
        .await?;
    Ok(row.get(0))
}

/// Future booked appointments of a practitioner (`$1` = user, `$2` = now).
pub const FUTURE_APPOINTMENTS: &str = "SELECT id FROM appointments
    WHERE practitioner_id = $1 AND status = 'booked' AND starts_at > $2";

/// Open appointment qnaires of those appointments.
pub const APPOINTMENT_QNAIRES: &str = "SELECT q.id FROM qnaires q
    JOIN appointments a ON a.id = q.appointment_id
    WHERE a.practitioner_id = $1 AND a.status = 'booked' AND a.starts_at > $2
      AND q.kind = 'appointment' AND q.status IN ('scheduled', 'sent')";

/// Open qnaires of a kind (`$1` = user, `$2` = kind, `$3` = open status).
pub const OPEN_QNAIRES: &str = "SELECT id FROM qnaires
    WHERE practitioner_id = $1 AND kind = $2 AND status = $3";

/// Open inbox messages of a user.
pub const OPEN_INBOX: &str = "SELECT id FROM inbox_messages WHERE owner_id = $1 AND NOT archived";

/// Lab integrations backed by a user.
pub const LABS_OF: &str = "SELECT id FROM lab_integrations WHERE user_id = $1";

pub async fn inventory<C: GenericClient>(
    client: &C,
    user: i64,
    now: Timestamp,
) -> Result<Inventory, Error> {
    Ok(Inventory {
        appointments: ids(client, FUTURE_APPOINTMENTS, &[&user, &now]).await?,
        appointment_qnaires: ids(client, APPOINTMENT_QNAIRES, &[&user, &now]).await?,
        recurring_qnaires: ids(client, OPEN_QNAIRES, &[&user, &"recurring", &"scheduled"]).await?,
        sent_qnaires: ids(client, OPEN_QNAIRES, &[&user, &"sent", &"sent"]).await?,
        inbox_messages: ids(client, OPEN_INBOX, &[&user]).await?,
        snoozed_messages: count(
            client,
            "SELECT count(*) FROM inbox_messages
             WHERE owner_id = $1 AND NOT archived AND snoozed_until IS NOT NULL",
            user,
        )
        .await?,
        lab_integrations: labs(client, user).await?,
        billing_links: billing_links(client, user).await?,
        pending_claims: count(
            client,
            "SELECT count(*) FROM billing_claims
             WHERE practitioner_id = $1 AND status IN ('draft', 'ready', 'rejected')",
            user,
        )
        .await?,
    })
}

/// The ids a query selects, sorted.
pub async fn ids<C: GenericClient>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<i64>, Error> {
    let rows = client.query(&format!("{sql} ORDER BY 1"), params).await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// The ids a query selects, sorted, each row locked until the transaction
/// ends: a concurrent writer waits, then sees what this one did.
pub async fn locked_ids<C: GenericClient>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<i64>, Error> {
    let rows = client
        .query(&format!("{sql} ORDER BY 1 FOR UPDATE"), params)
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

async fn count<C: GenericClient>(client: &C, sql: &str, user: i64) -> Result<u64, Error> {
    let row = client.query_one(sql, &[&user]).await?;
    Ok(unsigned(row.get(0)))
}

async fn labs<C: GenericClient>(client: &C, user: i64) -> Result<Vec<LabIntegration>, Error> {
    let rows = client
        .query(
            "SELECT id, lab, is_main FROM lab_integrations WHERE user_id = $1 ORDER BY id",
            &[&user],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| LabIntegration {
            id: row.get(0),
            lab: row.get(1),
            is_main: row.get(2),
        })
        .collect())
}

async fn billing_links<C: GenericClient>(client: &C, user: i64) -> Result<Vec<BillingLink>, Error> {
    let rows = client
        .query(
            "SELECT system, billing_number FROM billing_links
             WHERE user_id = $1 AND connected ORDER BY system",
            &[&user],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| BillingLink {
            system: row.get(0),
            billing_number: row.get(1),
        })
        .collect())
}

pub async fn schedule_overlap<C: GenericClient>(
    client: &C,
    leaver: i64,
    recipient: i64,
    now: Timestamp,
) -> Result<Overlap, Error> {
    let moving = intervals(client, leaver, "starts_at > $2", now).await?;
    let own = intervals(client, recipient, "ends_at > $2", now).await?;
    let (count, earliest) = crate::store::overlap::collisions(&moving, &own);
    Ok(Overlap { count, earliest })
}

/// A practitioner's booked appointments as (start, end), by start.
async fn intervals<C: GenericClient>(
    client: &C,
    practitioner: i64,
    condition: &str,
    now: Timestamp,
) -> Result<Vec<(Timestamp, Timestamp)>, Error> {
    let sql = format!(
        "SELECT starts_at, ends_at FROM appointments
         WHERE practitioner_id = $1 AND status = 'booked' AND {condition} ORDER BY starts_at"
    );
    let rows = client.query(&sql, &[&practitioner, &now]).await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

pub async fn runs<C: GenericClient>(client: &C, user: Option<&str>) -> Result<Vec<Run>, Error> {
    let rows = client
        .query(
            "SELECT id, username, fingerprint, operator, started_at, finished_at, status,
                    last_error, failed_at
             FROM handover_runs WHERE $1::text IS NULL OR username = $1 ORDER BY id",
            &[&user],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| Run {
            id: row.get(0),
            user: row.get(1),
            fingerprint: row.get(2),
            operator: row.get(3),
            started_at: row.get(4),
            finished_at: row.get(5),
            status: row.get(6),
            last_error: row.get(7),
            failed_at: row.get(8),
        })
        .collect())
}

pub async fn steps<C: GenericClient>(client: &C, run: i64) -> Result<Vec<Step>, Error> {
    let rows = client
        .query(
            "SELECT run_id, step, finished_at, items FROM handover_steps
             WHERE run_id = $1 ORDER BY finished_at, ordinal",
            &[&run],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| Step {
            run: row.get(0),
            step: row.get(1),
            finished_at: row.get(2),
            items: unsigned(row.get(3)),
        })
        .collect())
}

pub const AUDIT_COLUMNS: &str =
    "seq, at, operator, username, fingerprint, step, detail, prev_hash, hash";

pub async fn audit<C: GenericClient>(
    client: &C,
    user: Option<&str>,
) -> Result<Vec<AuditEntry>, Error> {
    let sql = format!(
        "SELECT {AUDIT_COLUMNS} FROM handover_audit
         WHERE $1::text IS NULL OR username = $1 ORDER BY seq"
    );
    let rows = client.query(&sql, &[&user]).await?;
    Ok(rows.iter().map(audit_row).collect())
}

pub fn audit_row(row: &Row) -> AuditEntry {
    AuditEntry {
        seq: row.get(0),
        at: row.get(1),
        operator: row.get(2),
        user: row.get(3),
        fingerprint: row.get(4),
        step: row.get(5),
        detail: row.get(6),
        prev_hash: row.get(7),
        hash: row.get(8),
    }
}

pub async fn outbox<C: GenericClient>(
    client: &C,
    pending: bool,
) -> Result<Vec<OutboxEntry>, Error> {
    let rows = client
        .query(
            "SELECT id, user_id, system, billing_number, idempotency_key, reason, effective_at,
                    status, attempts, last_error, delivered_at
             FROM handover_outbox WHERE NOT $1 OR status <> 'delivered' ORDER BY id",
            &[&pending],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| OutboxEntry {
            id: row.get(0),
            user_id: row.get(1),
            system: row.get(2),
            billing_number: row.get(3),
            idempotency_key: row.get(4),
            reason: row.get(5),
            effective_at: row.get(6),
            status: row.get(7),
            attempts: unsigned(row.get(8)),
            last_error: row.get(9),
            delivered_at: row.get(10),
        })
        .collect())
}

pub async fn lock_holder<C: GenericClient>(client: &C) -> Result<Option<LockHolder>, Error> {
    let row = client
        .query_opt(
            "SELECT holder, pid, host, acquired_at, heartbeat FROM handover_lock WHERE id = 1",
            &[],
        )
        .await?;
    Ok(row.map(|row| LockHolder {
        holder: row.get(0),
        pid: u32::try_from(row.get::<_, i64>(1)).unwrap_or(0),
        host: row.get(2),
        acquired_at: row.get(3),
        heartbeat: row.get(4),
    }))
}
