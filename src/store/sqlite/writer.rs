//! Changes inside one `IMMEDIATE` transaction: the moves of DESIGN §1 (each
//! one `UPDATE` of the rows the review's query selects, returning their
//! ids for the audit), and handover's runs, checkpoints, audit trail,
//! outbox, runner lock and claims.
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

    /// Sets `change` on the rows of `table` whose ids `select` gives, in
    /// one statement, and returns those ids, sorted. `select` is the same
    /// query the review counts with, so what moves is what was counted.
    fn update<P: rusqlite::Params>(
        &self,
        table: &str,
        change: &str,
        select: &str,
        params: P,
    ) -> rusqlite::Result<Vec<i64>> {
        let sql = format!("UPDATE {table} SET {change} WHERE id IN ({select}) RETURNING id");
        let mut statement = self.conn.prepare_cached(&sql)?;
        let mut ids = statement
            .query_map(params, |row| row.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        ids.sort_unstable();
        Ok(ids)
    }

    /// Changes a leaver's future bookings (`?1` = leaver, `?2` = now): their
    /// open qnaires first, while the appointments still select them, then
    /// the appointments.
    fn future_bookings<P: rusqlite::Params + Copy>(
        &self,
        params: P,
        (appointment, qnaire): (&str, &str),
    ) -> rusqlite::Result<Moved> {
        let qnaires = self.update("qnaires", qnaire, APPOINTMENT_QNAIRES, params)?;
        let appointments = self.update("appointments", appointment, FUTURE_APPOINTMENTS, params)?;
        Ok(Moved {
            appointments,
            qnaires,
        })
    }
}

impl Writer for SqliteWriter<'_> {
    fn move_appointments(&mut self, from: i64, to: i64, now: Timestamp) -> anyhow::Result<Moved> {
        let (now, change) = (to_db_text(now), "practitioner_id = ?3");
        Ok(self.future_bookings((from, &now, to), (change, change))?)
    }

    fn cancel_appointments(&mut self, from: i64, now: Timestamp) -> anyhow::Result<Moved> {
        let changes = ("status = 'cancelled'", "status = 'removed'");
        Ok(self.future_bookings((from, &to_db_text(now)), changes)?)
    }

    fn move_qnaires(&mut self, from: i64, to: i64, kind: QnaireKind) -> anyhow::Result<Vec<i64>> {
        let params = (from, kind.kind(), kind.open_status(), to);
        Ok(self.update("qnaires", "practitioner_id = ?4", OPEN_QNAIRES, params)?)
    }

    fn remove_qnaires(&mut self, from: i64, kind: QnaireKind) -> anyhow::Result<Vec<i64>> {
        let params = (from, kind.kind(), kind.open_status());
        Ok(self.update("qnaires", "status = 'removed'", OPEN_QNAIRES, params)?)
    }

    fn forward_inbox(&mut self, from: i64, to: i64) -> anyhow::Result<Vec<i64>> {
        let change = "owner_id = ?2, forwarded_from = ?1";
        Ok(self.update("inbox_messages", change, OPEN_INBOX, (from, to))?)
    }

    fn discard_inbox(&mut self, from: i64) -> anyhow::Result<Vec<i64>> {
        Ok(self.update("inbox_messages", "archived = 1", OPEN_INBOX, [from])?)
    }

    fn transfer_labs(&mut self, from: i64, to: i64) -> anyhow::Result<Vec<i64>> {
        let select = "SELECT id FROM lab_integrations WHERE user_id = ?1";
        Ok(self.update("lab_integrations", "user_id = ?2", select, (from, to))?)
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
