//! Changes inside one READ COMMITTED transaction on PostgreSQL: the moves
//! of DESIGN §1 (each selects the ids it is about to touch `FOR UPDATE`,
//! then updates exactly those), and handover's runs, checkpoints, audit
//! trail, outbox, runner lock and claims. Every step first locks the
//! leaver's `users` row (see [`Writer::hold_user`]). Nothing here deletes
//! an EMR row.

use std::time::Duration;

use jiff::Timestamp;
use tokio::runtime::Runtime;
use tokio_postgres::Transaction;
use tokio_postgres::types::ToSql;

use super::reads::{
    self, APPOINTMENT_QNAIRES, AUDIT_COLUMNS, FUTURE_APPOINTMENTS, LABS_OF, OPEN_INBOX,
    OPEN_QNAIRES,
};
use super::{AUDIT_KEY, claims, whole_seconds};
use crate::store::{
    AuditEntry, Found, Inventory, LockHolder, Moved, NewAuditEntry, NewOutboxEntry, NewRun,
    PlanKey, QnaireKind, Worker, Writer,
};

/// A [`Writer`] over an open transaction, blocking on the store's runtime.
pub struct PostgresWriter<'a> {
    runtime: &'a Runtime,
    tx: &'a Transaction<'a>,
}

impl<'a> PostgresWriter<'a> {
    pub fn new(runtime: &'a Runtime, tx: &'a Transaction<'a>) -> PostgresWriter<'a> {
        PostgresWriter { runtime, tx }
    }

    /// Runs one statement and returns how many rows it touched.
    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> anyhow::Result<u64> {
        Ok(self.runtime.block_on(self.tx.execute(sql, params))?)
    }

    /// The ids a query selects, sorted and locked for this transaction.
    fn lock(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> anyhow::Result<Vec<i64>> {
        Ok(self
            .runtime
            .block_on(reads::locked_ids(self.tx, sql, params))?)
    }

    /// Runs `update` (`$1` = the ids, `$2` = a value when given) once for
    /// exactly these ids.
    fn update(&self, update: &str, ids: &[i64], value: Option<i64>) -> anyhow::Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids = ids.to_vec();
        match value {
            Some(value) => self.execute(update, &[&ids, &value])?,
            None => self.execute(update, &[&ids])?,
        };
        Ok(())
    }

    fn future_bookings(&self, from: i64, now: Timestamp) -> anyhow::Result<Moved> {
        Ok(Moved {
            appointments: self.lock(FUTURE_APPOINTMENTS, &[&from, &now])?,
            qnaires: self.lock(APPOINTMENT_QNAIRES, &[&from, &now])?,
        })
    }

    fn open_qnaires(&self, from: i64, kind: QnaireKind) -> anyhow::Result<Vec<i64>> {
        self.lock(OPEN_QNAIRES, &[&from, &kind.kind(), &kind.open_status()])
    }
}

impl Writer for PostgresWriter<'_> {
    fn move_appointments(&mut self, from: i64, to: i64, now: Timestamp) -> anyhow::Result<Moved> {
        let moved = self.future_bookings(from, now)?;
        self.update(
            "UPDATE appointments SET practitioner_id = $2 WHERE id = ANY($1)",
            &moved.appointments,
            Some(to),
        )?;
        self.update(
            "UPDATE qnaires SET practitioner_id = $2 WHERE id = ANY($1)",
            &moved.qnaires,
            Some(to),
        )?;
        Ok(moved)
    }

    fn cancel_appointments(&mut self, from: i64, now: Timestamp) -> anyhow::Result<Moved> {
        let cancelled = self.future_bookings(from, now)?;
        self.update(
            "UPDATE appointments SET status = 'cancelled' WHERE id = ANY($1)",
            &cancelled.appointments,
            None,
        )?;
        self.update(
            "UPDATE qnaires SET status = 'removed' WHERE id = ANY($1)",
            &cancelled.qnaires,
            None,
        )?;
        Ok(cancelled)
    }

    fn move_qnaires(&mut self, from: i64, to: i64, kind: QnaireKind) -> anyhow::Result<Vec<i64>> {
        let ids = self.open_qnaires(from, kind)?;
        self.update(
            "UPDATE qnaires SET practitioner_id = $2 WHERE id = ANY($1)",
            &ids,
            Some(to),
        )?;
        Ok(ids)
    }

    fn remove_qnaires(&mut self, from: i64, kind: QnaireKind) -> anyhow::Result<Vec<i64>> {
        let ids = self.open_qnaires(from, kind)?;
        self.update(
            "UPDATE qnaires SET status = 'removed' WHERE id = ANY($1)",
            &ids,
            None,
        )?;
        Ok(ids)
    }

    fn forward_inbox(&mut self, from: i64, to: i64) -> anyhow::Result<Vec<i64>> {
        let ids = self.lock(OPEN_INBOX, &[&from])?;
        if !ids.is_empty() {
            self.execute(
                "UPDATE inbox_messages SET owner_id = $2, forwarded_from = $3 WHERE id = ANY($1)",
                &[&ids, &to, &from],
            )?;
        }
        Ok(ids)
    }

    fn discard_inbox(&mut self, from: i64) -> anyhow::Result<Vec<i64>> {
        let ids = self.lock(OPEN_INBOX, &[&from])?;
        self.update(
            "UPDATE inbox_messages SET archived = true WHERE id = ANY($1)",
            &ids,
            None,
        )?;
        Ok(ids)
    }

    fn transfer_labs(&mut self, from: i64, to: i64) -> anyhow::Result<Vec<i64>> {
        let ids = self.lock(LABS_OF, &[&from])?;
        self.update(
            "UPDATE lab_integrations SET user_id = $2 WHERE id = ANY($1)",
            &ids,
            Some(to),
        )?;
        Ok(ids)
    }

    fn deactivate(&mut self, user: i64, by: i64, now: Timestamp) -> anyhow::Result<()> {
        self.execute(
            "UPDATE users SET active = false, deactivated_at = $2, deactivated_by = $3
             WHERE id = $1",
            &[&user, &whole_seconds(now), &by],
        )?;
        Ok(())
    }

    fn reactivate(&mut self, user: i64) -> anyhow::Result<()> {
        self.execute(
            "UPDATE users SET active = true, deactivated_at = NULL, deactivated_by = NULL
             WHERE id = $1",
            &[&user],
        )?;
        Ok(())
    }

    fn disconnect_billing(&mut self, user: i64, system: &str) -> anyhow::Result<()> {
        self.execute(
            "UPDATE billing_links SET connected = false WHERE user_id = $1 AND system = $2",
            &[&user, &system],
        )?;
        Ok(())
    }

    fn start_run(&mut self, run: &NewRun, now: Timestamp) -> anyhow::Result<i64> {
        let row = self.runtime.block_on(self.tx.query_one(
            "INSERT INTO handover_runs (username, fingerprint, operator, started_at, status)
             VALUES ($1, $2, $3, $4, 'running') RETURNING id",
            &[
                &run.user,
                &run.fingerprint,
                &run.operator,
                &whole_seconds(now),
            ],
        ))?;
        Ok(row.get(0))
    }

    fn record_run_error(&mut self, run: i64, error: &str, now: Timestamp) -> anyhow::Result<()> {
        self.execute(
            "UPDATE handover_runs SET last_error = $2, failed_at = $3 WHERE id = $1",
            &[&run, &error, &whole_seconds(now)],
        )?;
        Ok(())
    }

    fn finish_run(&mut self, run: i64, status: &str, now: Timestamp) -> anyhow::Result<()> {
        self.execute(
            "UPDATE handover_runs SET status = $2, finished_at = $3 WHERE id = $1",
            &[&run, &status, &whole_seconds(now)],
        )?;
        Ok(())
    }

    fn record_step(
        &mut self,
        run: i64,
        step: &str,
        items: u64,
        now: Timestamp,
    ) -> anyhow::Result<()> {
        self.execute(
            "INSERT INTO handover_steps (run_id, step, finished_at, items) VALUES ($1, $2, $3, $4)",
            &[&run, &step, &whole_seconds(now), &i64::try_from(items)?],
        )?;
        Ok(())
    }

    /// Waits for any other transaction appending to the trail, so that the
    /// entry chained to this one is still the last when it is appended.
    fn last_audit(&mut self) -> anyhow::Result<Option<AuditEntry>> {
        self.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_KEY])?;
        let sql = format!("SELECT {AUDIT_COLUMNS} FROM handover_audit ORDER BY seq DESC LIMIT 1");
        let row = self.runtime.block_on(self.tx.query_opt(&sql, &[]))?;
        Ok(row.as_ref().map(reads::audit_row))
    }

    /// The sequence number is the next after the last, with no gap even if
    /// an earlier transaction rolled back: the chain's hashes include it.
    fn append_audit(&mut self, entry: &NewAuditEntry) -> anyhow::Result<i64> {
        self.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_KEY])?;
        let row = self.runtime.block_on(self.tx.query_one(
            "INSERT INTO handover_audit
                (seq, at, operator, username, fingerprint, step, detail, prev_hash, hash)
             SELECT coalesce(max(seq), 0) + 1, $1, $2, $3, $4, $5, $6, $7, $8
             FROM handover_audit
             RETURNING seq",
            &[
                &whole_seconds(entry.at),
                &entry.operator,
                &entry.user,
                &entry.fingerprint,
                &entry.step,
                &entry.detail,
                &entry.prev_hash,
                &entry.hash,
            ],
        ))?;
        Ok(row.get(0))
    }

    fn enqueue_outbox(&mut self, entry: &NewOutboxEntry) -> anyhow::Result<i64> {
        self.execute(
            "INSERT INTO handover_outbox
                (user_id, system, billing_number, idempotency_key, reason, effective_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (idempotency_key) DO NOTHING",
            &[
                &entry.user_id,
                &entry.system,
                &entry.billing_number,
                &entry.idempotency_key,
                &entry.reason,
                &whole_seconds(entry.effective_at),
            ],
        )?;
        let row = self.runtime.block_on(self.tx.query_one(
            "SELECT id FROM handover_outbox WHERE idempotency_key = $1",
            &[&entry.idempotency_key],
        ))?;
        Ok(row.get(0))
    }

    fn record_attempt(&mut self, id: i64, error: &str) -> anyhow::Result<()> {
        self.execute(
            "UPDATE handover_outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1",
            &[&id, &error],
        )?;
        Ok(())
    }

    fn mark_delivered(&mut self, id: i64, now: Timestamp) -> anyhow::Result<()> {
        self.execute(
            "UPDATE handover_outbox
             SET status = 'delivered', attempts = attempts + 1, delivered_at = $2
             WHERE id = $1",
            &[&id, &whole_seconds(now)],
        )?;
        Ok(())
    }

    fn inventory(&mut self, user_id: i64, now: Timestamp) -> anyhow::Result<Inventory> {
        Ok(self
            .runtime
            .block_on(reads::inventory(self.tx, user_id, now))?)
    }

    fn record_lock_holder(&mut self, holder: &LockHolder) -> anyhow::Result<()> {
        self.execute(
            "INSERT INTO handover_lock (id, holder, pid, host, acquired_at, heartbeat)
             VALUES (1, $1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET
                holder = excluded.holder, pid = excluded.pid, host = excluded.host,
                acquired_at = excluded.acquired_at, heartbeat = excluded.heartbeat",
            &[
                &holder.holder,
                &i64::from(holder.pid),
                &holder.host,
                &whole_seconds(holder.acquired_at),
                &whole_seconds(holder.heartbeat),
            ],
        )?;
        Ok(())
    }

    /// At READ COMMITTED a step's `SELECT … FOR UPDATE` sees only bookings
    /// committed before it; one committed between step 6's sweep and its
    /// deactivation would be left with an inactive practitioner. `FOR
    /// UPDATE` on the user's row conflicts with the `FOR KEY SHARE` lock
    /// that the foreign key check of any insert or move naming the user
    /// takes (and with a booking path's own `FOR SHARE`): such a booking
    /// waits for the step to commit, or the step waits for the booking and
    /// its later statements see it.
    fn hold_user(&mut self, user: i64) -> anyhow::Result<()> {
        self.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", &[&user])?;
        Ok(())
    }

    fn claim(&mut self, plan: &PlanKey) -> anyhow::Result<Found> {
        Ok(self.runtime.block_on(claims::locked(self.tx, plan))?)
    }

    fn insert_claim(
        &mut self,
        plan: &PlanKey,
        worker: &Worker,
        lease: Duration,
    ) -> anyhow::Result<bool> {
        Ok(self
            .runtime
            .block_on(claims::insert(self.tx, plan, worker, lease))?)
    }

    fn replace_claim(
        &mut self,
        plan: &PlanKey,
        worker: &Worker,
        lease: Duration,
        takeover: bool,
    ) -> anyhow::Result<()> {
        Ok(self
            .runtime
            .block_on(claims::replace(self.tx, plan, worker, lease, takeover))?)
    }

    fn renew_claim(
        &mut self,
        plan: &PlanKey,
        worker: &Worker,
        lease: Duration,
    ) -> anyhow::Result<bool> {
        Ok(self
            .runtime
            .block_on(claims::renew(self.tx, plan, worker, lease))?)
    }

    fn release_claim(
        &mut self,
        plan: &PlanKey,
        worker: &Worker,
        outcome: &str,
    ) -> anyhow::Result<bool> {
        Ok(self
            .runtime
            .block_on(claims::release(self.tx, plan, worker, outcome))?)
    }
}
