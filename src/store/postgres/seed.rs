//! Bulk loading of a synthetic clinic on PostgreSQL with binary `COPY … FROM
//! STDIN`, inside the caller's single transaction. Rows are buffered per
//! table and copied in dependency order whenever the buffers fill and at the
//! end, so a referenced row is always in before the rows that reference it.
//! Ids are given here, counting on from the largest present, as SQLite would
//! give them; the identity sequences are moved past them at the end.
//! Handover's own indexes are dropped for the load and built again once.

use std::pin::pin;

use jiff::Timestamp;
use jiff::civil::Date;
use tokio::runtime::Runtime;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Error, Transaction};

use super::schema::{IDENTITY_TABLES, INDEXES};
use super::whole_seconds;
use crate::store::{
    NewAppointment, NewBillingLink, NewClaim, NewMessage, NewQnaire, NewUser, SeedSink,
};

/// How many buffered rows, over all tables, trigger a copy.
const BATCH_ROWS: usize = 50_000;

/// Runs `fill` against a sink that copies into the EMR tables.
pub fn load(
    runtime: &Runtime,
    tx: &Transaction<'_>,
    fill: &mut dyn FnMut(&mut dyn SeedSink) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    runtime.block_on(drop_indexes(tx))?;
    let next_ids = runtime.block_on(next_ids(tx))?;
    let mut sink = Sink {
        runtime,
        tx,
        next_ids,
        buffers: Buffers::default(),
    };
    fill(&mut sink)?;
    sink.flush()?;
    runtime.block_on(finish(tx))?;
    Ok(())
}

async fn drop_indexes(tx: &Transaction<'_>) -> Result<(), Error> {
    for (name, _) in INDEXES {
        tx.batch_execute(&format!("DROP INDEX IF EXISTS {name}"))
            .await?;
    }
    Ok(())
}

/// The next free id of each identity table, in [`IDENTITY_TABLES`] order.
async fn next_ids(tx: &Transaction<'_>) -> Result<[i64; 6], Error> {
    let mut next = [1; 6];
    for (slot, table) in next.iter_mut().zip(IDENTITY_TABLES) {
        let sql = format!("SELECT coalesce(max(id), 0)::bigint + 1 FROM {table}");
        *slot = tx.query_one(&sql, &[]).await?.get(0);
    }
    Ok(next)
}

/// Moves each identity sequence past the ids given here, and builds the
/// indexes again.
async fn finish(tx: &Transaction<'_>) -> Result<(), Error> {
    for table in IDENTITY_TABLES {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                           coalesce(max(id), 0) + 1, false) FROM {table}"
        );
        tx.batch_execute(&sql).await?;
    }
    for (_, sql) in INDEXES {
        tx.batch_execute(sql).await?;
    }
    Ok(())
}

/// One table's rows as binary COPY sees them.
trait CopyRow {
    fn statement() -> &'static str;
    fn types() -> Vec<Type>;
    fn values(&self) -> Vec<&(dyn ToSql + Sync)>;
}

async fn copy<R: CopyRow>(tx: &Transaction<'_>, rows: &mut Vec<R>) -> Result<(), Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let sink = tx.copy_in(R::statement()).await?;
    let mut writer = pin!(BinaryCopyInWriter::new(sink, &R::types()));
    for row in rows.iter() {
        writer.as_mut().write(&row.values()).await?;
    }
    writer.finish().await?;
    rows.clear();
    Ok(())
}

struct UserRow {
    id: i64,
    username: String,
    full_name: String,
    role: &'static str,
    province: Option<String>,
    password_hash: Option<String>,
    active: bool,
    deactivated_at: Option<Timestamp>,
    deactivated_by: Option<i64>,
}

impl CopyRow for UserRow {
    fn statement() -> &'static str {
        "COPY users (id, username, full_name, role, province, password_hash, active,
            deactivated_at, deactivated_by) FROM STDIN (FORMAT binary)"
    }
    fn types() -> Vec<Type> {
        let (int, text) = (Type::INT8, Type::TEXT);
        vec![
            int.clone(),
            text.clone(),
            text.clone(),
            text.clone(),
            text.clone(),
            text,
            Type::BOOL,
            Type::TIMESTAMPTZ,
            int,
        ]
    }
    fn values(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![
            &self.id,
            &self.username,
            &self.full_name,
            &self.role,
            &self.province,
            &self.password_hash,
            &self.active,
            &self.deactivated_at,
            &self.deactivated_by,
        ]
    }
}

struct PermissionRow {
    user_id: i64,
    permission: String,
}

impl CopyRow for PermissionRow {
    fn statement() -> &'static str {
        "COPY user_permissions (user_id, permission) FROM STDIN (FORMAT binary)"
    }
    fn types() -> Vec<Type> {
        vec![Type::INT8, Type::TEXT]
    }
    fn values(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![&self.user_id, &self.permission]
    }
}

struct AppointmentRow {
    id: i64,
    row: NewAppointment,
    starts_at: Timestamp,
    ends_at: Timestamp,
}

impl CopyRow for AppointmentRow {
    fn statement() -> &'static str {
        "COPY appointments (id, practitioner_id, patient_id, starts_at, ends_at, status)
         FROM STDIN (FORMAT binary)"
    }
    fn types() -> Vec<Type> {
        let (int, at) = (Type::INT8, Type::TIMESTAMPTZ);
        vec![int.clone(), int.clone(), int, at.clone(), at, Type::TEXT]
    }
    fn values(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![
            &self.id,
            &self.row.practitioner_id,
            &self.row.patient_id,
            &self.starts_at,
            &self.ends_at,
            &self.row.status,
        ]
    }
}

struct QnaireRow {
    id: i64,
    row: NewQnaire,
}

impl CopyRow for QnaireRow {
    fn statement() -> &'static str {
        "COPY qnaires (id, practitioner_id, patient_id, kind, appointment_id, status)
         FROM STDIN (FORMAT binary)"
    }
    fn types() -> Vec<Type> {
        let (int, text) = (Type::INT8, Type::TEXT);
        vec![
            int.clone(),
            int.clone(),
            int.clone(),
            text.clone(),
            int,
            text,
        ]
    }
    fn values(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![
            &self.id,
            &self.row.practitioner_id,
            &self.row.patient_id,
            &self.row.kind,
            &self.row.appointment_id,
            &self.row.status,
        ]
    }
}

struct MessageRow {
    id: i64,
    owner_id: i64,
    subject: String,
    received_at: Timestamp,
    snoozed_until: Option<Timestamp>,
    archived: bool,
}

impl CopyRow for MessageRow {
    fn statement() -> &'static str {
        "COPY inbox_messages (id, owner_id, subject, received_at, snoozed_until, archived)
         FROM STDIN (FORMAT binary)"
    }
    fn types() -> Vec<Type> {
        let (int, at) = (Type::INT8, Type::TIMESTAMPTZ);
        vec![int.clone(), int, Type::TEXT, at.clone(), at, Type::BOOL]
    }
    fn values(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![
            &self.id,
            &self.owner_id,
            &self.subject,
            &self.received_at,
            &self.snoozed_until,
            &self.archived,
        ]
    }
}

struct LabRow {
    id: i64,
    lab: String,
    user_id: i64,
    is_main: bool,
}

impl CopyRow for LabRow {
    fn statement() -> &'static str {
        "COPY lab_integrations (id, lab, user_id, is_main) FROM STDIN (FORMAT binary)"
    }
    fn types() -> Vec<Type> {
        vec![Type::INT8, Type::TEXT, Type::INT8, Type::BOOL]
    }
    fn values(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![&self.id, &self.lab, &self.user_id, &self.is_main]
    }
}

struct LinkRow {
    user_id: i64,
    system: String,
    billing_number: String,
    connected: bool,
}

impl CopyRow for LinkRow {
    fn statement() -> &'static str {
        "COPY billing_links (user_id, system, billing_number, connected)
         FROM STDIN (FORMAT binary)"
    }
    fn types() -> Vec<Type> {
        vec![Type::INT8, Type::TEXT, Type::TEXT, Type::BOOL]
    }
    fn values(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![
            &self.user_id,
            &self.system,
            &self.billing_number,
            &self.connected,
        ]
    }
}

struct ClaimRow {
    id: i64,
    practitioner_id: i64,
    status: &'static str,
    service_date: Date,
}

impl CopyRow for ClaimRow {
    fn statement() -> &'static str {
        "COPY billing_claims (id, practitioner_id, status, service_date)
         FROM STDIN (FORMAT binary)"
    }
    fn types() -> Vec<Type> {
        vec![Type::INT8, Type::INT8, Type::TEXT, Type::DATE]
    }
    fn values(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![
            &self.id,
            &self.practitioner_id,
            &self.status,
            &self.service_date,
        ]
    }
}

#[derive(Default)]
struct Buffers {
    users: Vec<UserRow>,
    permissions: Vec<PermissionRow>,
    appointments: Vec<AppointmentRow>,
    qnaires: Vec<QnaireRow>,
    messages: Vec<MessageRow>,
    labs: Vec<LabRow>,
    links: Vec<LinkRow>,
    claims: Vec<ClaimRow>,
}

impl Buffers {
    fn len(&self) -> usize {
        self.users.len()
            + self.permissions.len()
            + self.appointments.len()
            + self.qnaires.len()
            + self.messages.len()
            + self.labs.len()
            + self.links.len()
            + self.claims.len()
    }

    /// Copies every buffer, referenced tables first.
    async fn copy_all(&mut self, tx: &Transaction<'_>) -> Result<(), Error> {
        copy(tx, &mut self.users).await?;
        copy(tx, &mut self.permissions).await?;
        copy(tx, &mut self.appointments).await?;
        copy(tx, &mut self.qnaires).await?;
        copy(tx, &mut self.messages).await?;
        copy(tx, &mut self.labs).await?;
        copy(tx, &mut self.links).await?;
        copy(tx, &mut self.claims).await
    }
}

/// Slots of [`Sink::next_ids`], in [`IDENTITY_TABLES`] order.
const USERS: usize = 0;
const APPOINTMENTS: usize = 1;
const QNAIRES: usize = 2;
const MESSAGES: usize = 3;
const LABS: usize = 4;
const CLAIMS: usize = 5;

struct Sink<'a, 't> {
    runtime: &'a Runtime,
    tx: &'a Transaction<'t>,
    next_ids: [i64; 6],
    buffers: Buffers,
}

impl Sink<'_, '_> {
    fn id(&mut self, slot: usize) -> i64 {
        let id = self.next_ids[slot];
        self.next_ids[slot] += 1;
        id
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        self.runtime.block_on(self.buffers.copy_all(self.tx))?;
        Ok(())
    }

    fn added(&mut self) -> anyhow::Result<()> {
        if self.buffers.len() >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }
}

impl SeedSink for Sink<'_, '_> {
    fn user(&mut self, user: &NewUser<'_>) -> anyhow::Result<i64> {
        let id = self.id(USERS);
        self.buffers.users.push(UserRow {
            id,
            username: user.username.to_string(),
            full_name: user.full_name.to_string(),
            role: user.role.as_str(),
            province: user.province.map(str::to_string),
            password_hash: user.password_hash.map(str::to_string),
            active: user.deactivated.is_none(),
            deactivated_at: user.deactivated.map(|(at, _)| whole_seconds(at)),
            deactivated_by: user.deactivated.map(|(_, by)| by),
        });
        self.added()?;
        Ok(id)
    }

    fn permission(&mut self, user_id: i64, permission: &str) -> anyhow::Result<()> {
        self.buffers.permissions.push(PermissionRow {
            user_id,
            permission: permission.to_string(),
        });
        self.added()
    }

    fn appointment(&mut self, row: &NewAppointment) -> anyhow::Result<i64> {
        let id = self.id(APPOINTMENTS);
        self.buffers.appointments.push(AppointmentRow {
            id,
            row: *row,
            starts_at: whole_seconds(row.starts_at),
            ends_at: whole_seconds(row.ends_at),
        });
        self.added()?;
        Ok(id)
    }

    fn qnaire(&mut self, row: &NewQnaire) -> anyhow::Result<()> {
        let id = self.id(QNAIRES);
        self.buffers.qnaires.push(QnaireRow { id, row: *row });
        self.added()
    }

    fn message(&mut self, row: &NewMessage<'_>) -> anyhow::Result<()> {
        let id = self.id(MESSAGES);
        self.buffers.messages.push(MessageRow {
            id,
            owner_id: row.owner_id,
            subject: row.subject.to_string(),
            received_at: whole_seconds(row.received_at),
            snoozed_until: row.snoozed_until.map(whole_seconds),
            archived: row.archived,
        });
        self.added()
    }

    fn lab(&mut self, lab: &str, user_id: i64, is_main: bool) -> anyhow::Result<()> {
        let id = self.id(LABS);
        self.buffers.labs.push(LabRow {
            id,
            lab: lab.to_string(),
            user_id,
            is_main,
        });
        self.added()
    }

    fn billing_link(&mut self, link: &NewBillingLink<'_>) -> anyhow::Result<()> {
        self.buffers.links.push(LinkRow {
            user_id: link.user_id,
            system: link.system.to_string(),
            billing_number: link.billing_number.to_string(),
            connected: link.connected,
        });
        self.added()
    }

    fn claim(&mut self, row: &NewClaim<'_>) -> anyhow::Result<()> {
        let id = self.id(CLAIMS);
        let service_date: Date = row.service_date.parse()?;
        self.buffers.claims.push(ClaimRow {
            id,
            practitioner_id: row.practitioner_id,
            status: row.status,
            service_date,
        });
        self.added()
    }
}
