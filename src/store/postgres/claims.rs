//! Claims of `apply --workers` on PostgreSQL: one row per plan in
//! `handover_claims`, read `FOR UPDATE SKIP LOCKED` so that a worker never
//! waits on a plan another worker is inside a step of, and leases computed
//! with the server's `now()` so that every worker uses the same clock.

use std::time::Duration;

use tokio_postgres::{Error, GenericClient, Row};

use super::unsigned;
use crate::store::{Claim, Found, PlanKey, Worker};

const CLAIM_COLUMNS: &str = "username, fingerprint, worker, host, pid, claimed_at,
    lease_until, released_at, outcome, takeovers, lease_until < now()";

/// A lease's length as the `float8` seconds `make_interval` takes.
fn seconds(lease: Duration) -> f64 {
    lease.as_secs_f64()
}

fn claim_row(row: &Row) -> Claim {
    Claim {
        plan: PlanKey {
            user: row.get(0),
            fingerprint: row.get(1),
        },
        worker: Worker {
            id: row.get(2),
            host: row.get(3),
            pid: u32::try_from(row.get::<_, i64>(4)).unwrap_or(0),
        },
        claimed_at: row.get(5),
        lease_until: row.get(6),
        released_at: row.get(7),
        outcome: row.get(8),
        takeovers: unsigned(row.get(9)),
        expired: row.get(10),
    }
}

/// Every claim, by leaver; none when the table is not there yet.
pub async fn all<C: GenericClient>(client: &C) -> Result<Vec<Claim>, Error> {
    let exists: bool = client
        .query_one("SELECT to_regclass('handover_claims') IS NOT NULL", &[])
        .await?
        .get(0);
    if !exists {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT {CLAIM_COLUMNS} FROM handover_claims ORDER BY username, fingerprint");
    let rows = client.query(&sql, &[]).await?;
    Ok(rows.iter().map(claim_row).collect())
}

/// The claim on a plan, locked for this transaction. One that another
/// transaction holds is skipped and reported busy, not waited for: a step
/// of its worker holds it, and an insert would wait for that step too.
pub async fn locked<C: GenericClient>(client: &C, plan: &PlanKey) -> Result<Found, Error> {
    let sql = format!(
        "SELECT {CLAIM_COLUMNS} FROM handover_claims
         WHERE username = $1 AND fingerprint = $2 FOR UPDATE SKIP LOCKED"
    );
    let key: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&plan.user, &plan.fingerprint];
    if let Some(row) = client.query_opt(&sql, &key).await? {
        return Ok(Found::Claim(claim_row(&row)));
    }
    let exists: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM handover_claims WHERE username = $1 AND fingerprint = $2)",
            &key,
        )
        .await?
        .get(0);
    Ok(if exists {
        Found::Busy
    } else {
        Found::Unclaimed
    })
}

pub async fn insert<C: GenericClient>(
    client: &C,
    plan: &PlanKey,
    worker: &Worker,
    lease: Duration,
) -> Result<bool, Error> {
    let inserted = client
        .execute(
            "INSERT INTO handover_claims
                (username, fingerprint, worker, host, pid, claimed_at, lease_until)
             VALUES ($1, $2, $3, $4, $5, now(), now() + make_interval(secs => $6::float8))
             ON CONFLICT (username, fingerprint) DO NOTHING",
            &[
                &plan.user,
                &plan.fingerprint,
                &worker.id,
                &worker.host,
                &i64::from(worker.pid),
                &seconds(lease),
            ],
        )
        .await?;
    Ok(inserted == 1)
}

pub async fn replace<C: GenericClient>(
    client: &C,
    plan: &PlanKey,
    worker: &Worker,
    lease: Duration,
    takeover: bool,
) -> Result<(), Error> {
    client
        .execute(
            "UPDATE handover_claims SET worker = $3, host = $4, pid = $5, claimed_at = now(),
                lease_until = now() + make_interval(secs => $6::float8),
                released_at = NULL, outcome = NULL, takeovers = takeovers + $7
             WHERE username = $1 AND fingerprint = $2",
            &[
                &plan.user,
                &plan.fingerprint,
                &worker.id,
                &worker.host,
                &i64::from(worker.pid),
                &seconds(lease),
                &i64::from(takeover),
            ],
        )
        .await?;
    Ok(())
}

/// Extends the lease; waits for a worker's claiming transaction on the
/// row, then sees whether the plan is still this worker's. The step's
/// transaction now holds the claim's row, which other workers skip as
/// busy: should this worker's machine die inside the step, the server
/// ends the session once it has sat idle in the transaction for a lease,
/// so that the plan can be taken over (a dead process's session ends at
/// once; a dead machine's would otherwise last until TCP gives up).
pub async fn renew<C: GenericClient>(
    client: &C,
    plan: &PlanKey,
    worker: &Worker,
    lease: Duration,
) -> Result<bool, Error> {
    let idle = format!(
        "SET LOCAL idle_in_transaction_session_timeout = {}",
        lease.as_millis().max(1)
    );
    client.batch_execute(&idle).await?;
    let renewed = client
        .execute(
            "UPDATE handover_claims
             SET lease_until = now() + make_interval(secs => $4::float8)
             WHERE username = $1 AND fingerprint = $2 AND worker = $3 AND released_at IS NULL",
            &[&plan.user, &plan.fingerprint, &worker.id, &seconds(lease)],
        )
        .await?;
    Ok(renewed == 1)
}

pub async fn release<C: GenericClient>(
    client: &C,
    plan: &PlanKey,
    worker: &Worker,
    outcome: &str,
) -> Result<bool, Error> {
    let released = client
        .execute(
            "UPDATE handover_claims SET released_at = now(), outcome = $4
             WHERE username = $1 AND fingerprint = $2 AND worker = $3 AND released_at IS NULL",
            &[&plan.user, &plan.fingerprint, &worker.id, &outcome],
        )
        .await?;
    Ok(released == 1)
}
