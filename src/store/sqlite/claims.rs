//! Claims of `apply --workers` on SQLite: one row per plan in
//! `handover_claims`. Every writing transaction is `IMMEDIATE`, so reading
//! a claim and taking it cannot interleave with another worker's; leases
//! are computed with SQLite's own clock, to the millisecond (times of
//! other tables are whole seconds; every time in this table has the same
//! form, so text order is still time order).

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row};

use super::{optional_timestamp, timestamp, unsigned};
use crate::store::{Claim, Found, PlanKey, Worker};

/// Now, as stored text, by SQLite's clock.
pub const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/// Now plus the lease (`?6`, a `strftime` modifier), as stored text.
const LEASE_END: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?6)";

const CLAIM_COLUMNS: &str = "username, fingerprint, worker, host, pid, claimed_at,
    lease_until, released_at, outcome, takeovers,
    lease_until < strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/// A lease's length as a `strftime` modifier, at least one second.
fn modifier(lease: Duration) -> String {
    format!("+{} seconds", lease.as_secs().max(1))
}

fn claim_row(row: &Row) -> rusqlite::Result<Claim> {
    Ok(Claim {
        plan: PlanKey {
            user: row.get(0)?,
            fingerprint: row.get(1)?,
        },
        worker: Worker {
            id: row.get(2)?,
            host: row.get(3)?,
            pid: row.get(4)?,
        },
        claimed_at: timestamp(&row.get::<_, String>(5)?)?,
        lease_until: timestamp(&row.get::<_, String>(6)?)?,
        released_at: optional_timestamp(row.get(7)?)?,
        outcome: row.get(8)?,
        takeovers: unsigned(row.get(9)?),
        expired: row.get(10)?,
    })
}

/// Every claim, by leaver; none when the table is not there yet.
pub fn all(conn: &Connection) -> rusqlite::Result<Vec<Claim>> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'handover_claims')",
        [],
        |row| row.get(0),
    )?;
    if !exists {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT {CLAIM_COLUMNS} FROM handover_claims ORDER BY username, fingerprint");
    let mut statement = conn.prepare(&sql)?;
    statement.query_map([], claim_row)?.collect()
}

/// The claim on a plan; never busy, since the transaction is `IMMEDIATE`.
pub fn find(conn: &Connection, plan: &PlanKey) -> rusqlite::Result<Found> {
    let sql = format!(
        "SELECT {CLAIM_COLUMNS} FROM handover_claims WHERE username = ?1 AND fingerprint = ?2"
    );
    let claim = conn
        .query_row(&sql, (&plan.user, &plan.fingerprint), claim_row)
        .optional()?;
    Ok(claim.map_or(Found::Unclaimed, Found::Claim))
}

pub fn insert(
    conn: &Connection,
    plan: &PlanKey,
    worker: &Worker,
    lease: Duration,
) -> rusqlite::Result<bool> {
    let sql = format!(
        "INSERT INTO handover_claims
            (username, fingerprint, worker, host, pid, claimed_at, lease_until)
         VALUES (?1, ?2, ?3, ?4, ?5, {NOW}, {LEASE_END})
         ON CONFLICT (username, fingerprint) DO NOTHING"
    );
    let inserted = conn.execute(
        &sql,
        (
            &plan.user,
            &plan.fingerprint,
            &worker.id,
            &worker.host,
            worker.pid,
            modifier(lease),
        ),
    )?;
    Ok(inserted == 1)
}

pub fn replace(
    conn: &Connection,
    plan: &PlanKey,
    worker: &Worker,
    lease: Duration,
    takeover: bool,
) -> rusqlite::Result<()> {
    let sql = format!(
        "UPDATE handover_claims SET worker = ?3, host = ?4, pid = ?5, claimed_at = {NOW},
            lease_until = {LEASE_END},
            released_at = NULL, outcome = NULL, takeovers = takeovers + ?7
         WHERE username = ?1 AND fingerprint = ?2"
    );
    conn.execute(
        &sql,
        (
            &plan.user,
            &plan.fingerprint,
            &worker.id,
            &worker.host,
            worker.pid,
            modifier(lease),
            i64::from(takeover),
        ),
    )?;
    Ok(())
}

pub fn renew(
    conn: &Connection,
    plan: &PlanKey,
    worker: &Worker,
    lease: Duration,
) -> rusqlite::Result<bool> {
    let renewed = conn.execute(
        "UPDATE handover_claims SET lease_until = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?4)
         WHERE username = ?1 AND fingerprint = ?2 AND worker = ?3 AND released_at IS NULL",
        (&plan.user, &plan.fingerprint, &worker.id, modifier(lease)),
    )?;
    Ok(renewed == 1)
}

pub fn release(
    conn: &Connection,
    plan: &PlanKey,
    worker: &Worker,
    outcome: &str,
) -> rusqlite::Result<bool> {
    let sql = format!(
        "UPDATE handover_claims SET released_at = {NOW}, outcome = ?4
         WHERE username = ?1 AND fingerprint = ?2 AND worker = ?3 AND released_at IS NULL"
    );
    let released = conn.execute(&sql, (&plan.user, &plan.fingerprint, &worker.id, outcome))?;
    Ok(released == 1)
}
