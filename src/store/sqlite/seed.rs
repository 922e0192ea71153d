//! Bulk loading of a synthetic clinic: one prepared statement per table,
//! reused for every row, inside the caller's single transaction. Handover's
//! own indexes on the EMR tables are dropped for the load and built again
//! once at the end, which is much faster than growing them row by row.

use jiff::Timestamp;
use rusqlite::{Connection, Statement};

use super::schema;
use crate::clock::to_db_text;
use crate::store::{
    NewAppointment, NewBillingLink, NewClaim, NewMessage, NewQnaire, NewUser, SeedSink,
};

/// Runs `fill` against a sink that inserts into the EMR tables.
pub fn load(
    conn: &Connection,
    fill: &mut dyn FnMut(&mut dyn SeedSink) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    for (name, _) in schema::INDEXES {
        conn.execute_batch(&format!("DROP INDEX IF EXISTS {name}"))?;
    }
    let mut sink = Sink::prepare(conn)?;
    fill(&mut sink)?;
    drop(sink);
    for (_, sql) in schema::INDEXES {
        conn.execute_batch(sql)?;
    }
    Ok(())
}

struct Sink<'c> {
    users: Statement<'c>,
    permissions: Statement<'c>,
    appointments: Statement<'c>,
    qnaires: Statement<'c>,
    messages: Statement<'c>,
    labs: Statement<'c>,
    links: Statement<'c>,
    claims: Statement<'c>,
}

impl<'c> Sink<'c> {
    fn prepare(conn: &'c Connection) -> rusqlite::Result<Sink<'c>> {
        Ok(Sink {
            users: conn.prepare(
                "INSERT INTO users (username, full_name, role, province, password_hash,
                    active, deactivated_at, deactivated_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?,
            permissions: conn
                .prepare("INSERT INTO user_permissions (user_id, permission) VALUES (?1, ?2)")?,
            appointments: conn.prepare(
                "INSERT INTO appointments (practitioner_id, patient_id, starts_at, ends_at, status)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?,
            qnaires: conn.prepare(
                "INSERT INTO qnaires (practitioner_id, patient_id, kind, appointment_id, status)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?,
            messages: conn.prepare(
                "INSERT INTO inbox_messages (owner_id, subject, received_at, snoozed_until, archived)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?,
            labs: conn.prepare(
                "INSERT INTO lab_integrations (lab, user_id, is_main) VALUES (?1, ?2, ?3)",
            )?,
            links: conn.prepare(
                "INSERT INTO billing_links (user_id, system, billing_number, connected)
                 VALUES (?1, ?2, ?3, ?4)",
            )?,
            claims: conn.prepare(
                "INSERT INTO billing_claims (practitioner_id, status, service_date)
                 VALUES (?1, ?2, ?3)",
            )?,
        })
    }
}

fn text(at: Option<Timestamp>) -> Option<String> {
    at.map(to_db_text)
}

impl SeedSink for Sink<'_> {
    fn user(&mut self, user: &NewUser<'_>) -> anyhow::Result<i64> {
        let (deactivated_at, deactivated_by) = match user.deactivated {
            Some((at, by)) => (Some(to_db_text(at)), Some(by)),
            None => (None, None),
        };
        let id = self.users.insert((
            user.username,
            user.full_name,
            user.role.as_str(),
            user.province,
            user.password_hash,
            user.deactivated.is_none(),
            deactivated_at,
            deactivated_by,
        ))?;
        Ok(id)
    }

    fn permission(&mut self, user_id: i64, permission: &str) -> anyhow::Result<()> {
        self.permissions.execute((user_id, permission))?;
        Ok(())
    }

    fn appointment(&mut self, row: &NewAppointment) -> anyhow::Result<i64> {
        let id = self.appointments.insert((
            row.practitioner_id,
            row.patient_id,
            to_db_text(row.starts_at),
            to_db_text(row.ends_at),
            row.status,
        ))?;
        Ok(id)
    }

    fn qnaire(&mut self, row: &NewQnaire) -> anyhow::Result<()> {
        self.qnaires.execute((
            row.practitioner_id,
            row.patient_id,
            row.kind,
            row.appointment_id,
            row.status,
        ))?;
        Ok(())
    }

    fn message(&mut self, row: &NewMessage<'_>) -> anyhow::Result<()> {
        self.messages.execute((
            row.owner_id,
            row.subject,
            to_db_text(row.received_at),
            text(row.snoozed_until),
            row.archived,
        ))?;
        Ok(())
    }

    fn lab(&mut self, lab: &str, user_id: i64, is_main: bool) -> anyhow::Result<()> {
        self.labs.execute((lab, user_id, is_main))?;
        Ok(())
    }

    fn billing_link(&mut self, link: &NewBillingLink<'_>) -> anyhow::Result<()> {
        self.links.execute((
            link.user_id,
            link.system,
            link.billing_number,
            link.connected,
        ))?;
        Ok(())
    }

    fn claim(&mut self, row: &NewClaim<'_>) -> anyhow::Result<()> {
        self.claims
            .execute((row.practitioner_id, row.status, row.service_date))?;
        Ok(())
    }
}
