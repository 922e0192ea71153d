//! Changes inside one `IMMEDIATE` transaction: the moves of DESIGN §1 (each
//! selects the ids it is about to touch, then updates exactly those), and
//! handover's runs, checkpoints, audit trail, outbox, runner lock and
//! claims.
//! Nothing here deletes an EMR row.

use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension};

use super::claims;
use super::reads::{self, APPOINTMENT_QNAIRES, FUTURE_APPOINTMENTS, OPEN_INBOX, OPEN_QNAIRES};
use crate::clock::to_db_text;
use crate::store::{
    AuditEntry, Found, Inventory, LockHolder, Moved, NewAuditEntry, NewOutboxEntry, NewRun,
    PlanKey, QnaireKind, Worker, Writer,
};

/// A [`Writer`] over the connection of an open transaction.
pub struct SqliteWriter<'a> {
    conn: &'a Connection,
}

impl<'a> SqliteWriter<'a> {
    pub fn new(conn: &'a Connection) -> SqliteWriter<'a> {
        SqliteWriter { conn }
    }

    /// Runs `update` with `?1` bound to each id in turn.
    fn each(&self, update: &str, ids: &[i64], value: Option<i64>) -> rusqlite::Result<()> {
        let mut statement = self.conn.prepare_cached(update)?;
        for id in ids {
            match value {
                Some(value) => statement.execute((id, value))?,
                None => statement.execute([id])?,
            };
        }
        Ok(())
    }

    fn future_bookings(&self, from: i64, now: Timestamp) -> rusqlite::Result<Moved> {
        let now = to_db_text(now);
        Ok(Moved {
            appointments: reads::ids(self.conn, FUTURE_APPOINTMENTS, (from, &now))?,
            qnaires: reads::ids(self.conn, APPOINTMENT_QNAIRES, (from, &now))?,
        })
    }

    fn open_qnaires(&self, from: i64, kind: QnaireKind) -> rusqlite::Result<Vec<i64>> {
        reads::ids(
            self.conn,
            OPEN_QNAIRES,
            (from, kind.kind(), kind.open_status()),
        )
    }
}

impl Writer for SqliteWriter<'_> {
    fn move_appointments(&mut self, from: i64, to: i64, now: Timestamp) -> anyhow::Result<Moved> {
        let moved = self.future_bookings(from, now)?;
        self.each(
            "UPDATE appointments SET practitioner_id = ?2 WHERE id = ?1",
            &moved.appointments,
            Some(to),
        )?;
        self.each(
            "UPDATE qnaires SET practitioner_id = ?2 WHERE id = ?1",
            &moved.qnaires,
            Some(to),
        )?;
        Ok(moved)
    }

    fn cancel_appointments(&mut self, from: i64, now: Timestamp) -> anyhow::Result<Moved> {
        let cancelled = self.future_bookings(from, now)?;
        self.each(
            "UPDATE appointments SET status = 'cancelled' WHERE id = ?1",
            &cancelled.appointments,
            None,
        )?;
        self.each(
            "UPDATE qnaires SET status = 'removed' WHERE id = ?1",
            &cancelled.qnaires,
            None,
        )?;
        Ok(cancelled)
    }

    fn move_qnaires(&mut self, from: i64, to: i64, kind: QnaireKind) -> anyhow::Result<Vec<i64>> {
        let ids = self.open_qnaires(from, kind)?;
        self.each(
            "UPDATE qnaires SET practitioner_id = ?2 WHERE id = ?1",
            &ids,
            Some(to),
        )?;
        Ok(ids)
    }

    fn remove_qnaires(&mut self, from: i64, kind: QnaireKind) -> anyhow::Result<Vec<i64>> {
        let ids = self.open_qnaires(from, kind)?;
        self.each(
            "UPDATE qnaires SET status = 'removed' WHERE id = ?1",
            &ids,
            None,
        )?;
        Ok(ids)
    }

    fn forward_inbox(&mut self, from: i64, to: i64) -> anyhow::Result<Vec<i64>> {
        let ids = reads::ids(self.conn, OPEN_INBOX, [from])?;
        let mut statement = self.conn.prepare_cached(
            "UPDATE inbox_messages SET owner_id = ?2, forwarded_from = ?3 WHERE id = ?1",
        )?;
        for id in &ids {
            statement.execute((id, to, from))?;
        }
        Ok(ids)
    }

    fn discard_inbox(&mut self, from: i64) -> anyhow::Result<Vec<i64>> {
        let ids = reads::ids(self.conn, OPEN_INBOX, [from])?;
        self.each(
            "UPDATE inbox_messages SET archived = 1 WHERE id = ?1",
            &ids,
            None,
        )?;
        Ok(ids)
    }

    fn transfer_labs(&mut self, from: i64, to: i64) -> anyhow::Result<Vec<i64>> {
        let ids = reads::ids(
            self.conn,
            "SELECT id FROM lab_integrations WHERE user_id = ?1",
            [from],
        )?;
        self.each(
            "UPDATE lab_integrations SET user_id = ?2 WHERE id = ?1",
            &ids,
            Some(to),
        )?;
        Ok(ids)
    }

    fn deactivate(&mut self, user: i64, by: i64, now: Timestamp) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE users SET active = 0, deactivated_at = ?2, deactivated_by = ?3 WHERE id = ?1",
            (user, to_db_text(now), by),
        )?;
        Ok(())
    }

    fn reactivate(&mut self, user: i64) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE users SET active = 1, deactivated_at = NULL, deactivated_by = NULL
             WHERE id = ?1",
            [user],
        )?;
        Ok(())
    }

    fn disconnect_billing(&mut self, user: i64, system: &str) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE billing_links SET connected = 0 WHERE user_id = ?1 AND system = ?2",
            (user, system),
        )?;
        Ok(())
    }

    fn start_run(&mut self, run: &NewRun, now: Timestamp) -> anyhow::Result<i64> {
        self.conn.execute(
            "INSERT INTO handover_runs (username, fingerprint, operator, started_at, status)
             VALUES (?1, ?2, ?3, ?4, 'running')",
            (&run.user, &run.fingerprint, &run.operator, to_db_text(now)),
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn record_run_error(&mut self, run: i64, error: &str, now: Timestamp) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE handover_runs SET last_error = ?2, failed_at = ?3 WHERE id = ?1",
            (run, error, to_db_text(now)),
        )?;
        Ok(())
    }

    fn finish_run(&mut self, run: i64, status: &str, now: Timestamp) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE handover_runs SET status = ?2, finished_at = ?3 WHERE id = ?1",
            (run, status, to_db_text(now)),
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
        self.conn.execute(
            "INSERT INTO handover_steps (run_id, step, finished_at, items) VALUES (?1, ?2, ?3, ?4)",
            (run, step, to_db_text(now), i64::try_from(items)?),
        )?;
        Ok(())
    }

    fn last_audit(&mut self) -> anyhow::Result<Option<AuditEntry>> {
        let entry = self
            .conn
            .query_row(
                "SELECT seq, at, operator, username, fingerprint, step, detail, prev_hash, hash
                 FROM handover_audit ORDER BY seq DESC LIMIT 1",
                [],
                reads::audit_row,
            )
            .optional()?;
        Ok(entry)
    }

    fn append_audit(&mut self, entry: &NewAuditEntry) -> anyhow::Result<i64> {
        self.conn.execute(
            "INSERT INTO handover_audit
                (at, operator, username, fingerprint, step, detail, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            (
                to_db_text(entry.at),
                &entry.operator,
                &entry.user,
                &entry.fingerprint,
                &entry.step,
                &entry.detail,
                &entry.prev_hash,
                &entry.hash,
            ),
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn enqueue_outbox(&mut self, entry: &NewOutboxEntry) -> anyhow::Result<i64> {
        self.conn.execute(
            "INSERT INTO handover_outbox
                (user_id, system, billing_number, idempotency_key, reason, effective_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (idempotency_key) DO NOTHING",
            (
                entry.user_id,
                &entry.system,
                &entry.billing_number,
                &entry.idempotency_key,
                &entry.reason,
                to_db_text(entry.effective_at),
            ),
        )?;
        let id = self.conn.query_row(
            "SELECT id FROM handover_outbox WHERE idempotency_key = ?1",
            [&entry.idempotency_key],
            |row| row.get(0),
        )?;
        Ok(id)
    }

    fn record_attempt(&mut self, id: i64, error: &str) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE handover_outbox SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
            (id, error),
        )?;
        Ok(())
    }

    fn mark_delivered(&mut self, id: i64, now: Timestamp) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE handover_outbox
             SET status = 'delivered', attempts = attempts + 1, delivered_at = ?2
             WHERE id = ?1",
            (id, to_db_text(now)),
        )?;
        Ok(())
    }

    fn inventory(&mut self, user_id: i64, now: Timestamp) -> anyhow::Result<Inventory> {
        Ok(reads::inventory(self.conn, user_id, now)?)
    }

    fn record_lock_holder(&mut self, holder: &LockHolder) -> anyhow::Result<()> {
        self.conn.execute(
            "INSERT INTO handover_lock (id, holder, pid, host, acquired_at, heartbeat)
             VALUES (1, ?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET
                holder = excluded.holder, pid = excluded.pid, host = excluded.host,
                acquired_at = excluded.acquired_at, heartbeat = excluded.heartbeat",
            (
                &holder.holder,
                holder.pid,
                &holder.host,
                to_db_text(holder.acquired_at),
                to_db_text(holder.heartbeat),
            ),
        )?;
        Ok(())
    }

    /// Nothing to do: an `IMMEDIATE` transaction already keeps every other
    /// writer, a booking included, out until it ends.
    fn hold_user(&mut self, _user: i64) -> anyhow::Result<()> {
        Ok(())
    }

    fn claim(&mut self, plan: &PlanKey) -> anyhow::Result<Found> {
        Ok(claims::find(self.conn, plan)?)
    }

    fn insert_claim(
        &mut self,
        plan: &PlanKey,
        worker: &Worker,
        lease: Duration,
    ) -> anyhow::Result<bool> {
        Ok(claims::insert(self.conn, plan, worker, lease)?)
    }

    fn replace_claim(
        &mut self,
        plan: &PlanKey,
        worker: &Worker,
        lease: Duration,
        takeover: bool,
    ) -> anyhow::Result<()> {
        Ok(claims::replace(self.conn, plan, worker, lease, takeover)?)
    }

    fn renew_claim(
        &mut self,
        plan: &PlanKey,
        worker: &Worker,
        lease: Duration,
    ) -> anyhow::Result<bool> {
        Ok(claims::renew(self.conn, plan, worker, lease)?)
    }

    fn release_claim(
        &mut self,
        plan: &PlanKey,
        worker: &Worker,
        outcome: &str,
    ) -> anyhow::Result<bool> {
        Ok(claims::release(self.conn, plan, worker, outcome)?)
    }
}
