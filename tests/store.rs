//! The store interface used the way review and apply will use it: a seeded
//! clinic, a leaver's inventory, the moves, and handover's own state.

mod common;

use common::db::TestDb;
use common::{Backend, on_both_backends};
use handover::seed::{SeedSize, seed_clinic};
use handover::store::{self, Access, NewAuditEntry, NewOutboxEntry, NewRun, QnaireKind, Store};
use jiff::Timestamp;

const TABLES: &[&str] = &[
    "users",
    "user_permissions",
    "appointments",
    "qnaires",
    "inbox_messages",
    "lab_integrations",
    "billing_links",
    "billing_claims",
];

fn now() -> Timestamp {
    "2026-12-01T09:00:00Z".parse().unwrap()
}

/// A seeded clinic: the test database (kept for looking at the rows
/// directly, and dropped last) and the store opened on it.
fn seeded(backend: Backend) -> (tempfile::TempDir, TestDb, Box<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend, dir.path());
    let mut store = store::open(&db.url(), Access::Create).unwrap();
    store.init_clinic().unwrap();
    store.migrate(now()).unwrap();
    let size = SeedSize {
        practitioners: 5,
        staff: 2,
        appointments: 400,
        messages: 400,
        qnaires: 300,
        claims: 60,
        seed: 3,
    };
    seed_clinic(store.as_mut(), &size, now(), "$argon2id$stub").unwrap();
    (dir, db, store)
}

fn row_counts(db: &TestDb) -> Vec<i64> {
    TABLES
        .iter()
        .map(|table| db.int(&format!("SELECT count(*) FROM {table}"), &[]))
        .collect()
}

fn id(store: &dyn Store, username: &str) -> i64 {
    store.find_user(username).unwrap().unwrap().id
}

on_both_backends!(a_leavers_items_move_to_their_recipients_and_no_row_is_deleted);
fn a_leavers_items_move_to_their_recipients_and_no_row_is_deleted(backend: Backend) {
    let (_dir, db, mut store) = seeded(backend);
    let [jsmith, apatel, reception, admin] =
        ["jsmith", "apatel", "reception", "admin"].map(|name| id(store.as_ref(), name));
    let before = store.inventory(jsmith, now()).unwrap();
    assert!(!before.appointments.is_empty() && !before.appointment_qnaires.is_empty());
    assert!(before.snoozed_messages > 0 && before.pending_claims > 0);
    assert_eq!(before.billing_links[0].system, "mdbilling");
    assert_eq!(
        store.schedule_overlap(jsmith, apatel, now()).unwrap().count,
        1
    );
    let counts = row_counts(&db);

    store
        .write(&mut |writer| {
            let moved = writer.move_appointments(jsmith, apatel, now())?;
            assert_eq!(moved.appointments, before.appointments);
            assert_eq!(moved.qnaires, before.appointment_qnaires);
            writer.move_qnaires(jsmith, apatel, QnaireKind::Recurring)?;
            writer.remove_qnaires(jsmith, QnaireKind::Sent)?;
            assert_eq!(
                writer.forward_inbox(jsmith, reception)?,
                before.inbox_messages
            );
            writer.transfer_labs(jsmith, apatel)?;
            writer.deactivate(jsmith, admin, now())
        })
        .unwrap();

    let after = store.inventory(jsmith, now()).unwrap();
    assert!(after.appointments.is_empty() && after.appointment_qnaires.is_empty());
    assert!(after.recurring_qnaires.is_empty() && after.sent_qnaires.is_empty());
    assert!(after.inbox_messages.is_empty() && after.lab_integrations.is_empty());
    let recipient = store.inventory(apatel, now()).unwrap();
    assert!(
        before
            .appointments
            .iter()
            .all(|id| recipient.appointments.contains(id))
    );
    let leaver = store.find_user("jsmith").unwrap().unwrap();
    assert!(!leaver.active);
    assert_eq!(leaver.deactivated_by.as_deref(), Some("admin"));
    assert_eq!(row_counts(&db), counts);
}

on_both_backends!(a_failed_write_changes_nothing);
fn a_failed_write_changes_nothing(backend: Backend) {
    let (_dir, _db, mut store) = seeded(backend);
    let jsmith = id(store.as_ref(), "jsmith");
    let before = store.inventory(jsmith, now()).unwrap();
    let result = store.write(&mut |writer| {
        writer.discard_inbox(jsmith)?;
        anyhow::bail!("the billing step failed")
    });
    assert!(
        result
            .unwrap_err()
            .to_string()
            .contains("billing step failed")
    );
    assert_eq!(store.inventory(jsmith, now()).unwrap(), before);
}

on_both_backends!(runs_steps_audit_outbox_and_lock_holder_round_trip);
fn runs_steps_audit_outbox_and_lock_holder_round_trip(backend: Backend) {
    let (_dir, _db, mut store) = seeded(backend);
    let holder = store::LockHolder {
        holder: "runner-1".into(),
        pid: 42,
        host: "host".into(),
        acquired_at: now(),
        heartbeat: now(),
    };
    store
        .write(&mut |writer| {
            let run = writer.start_run(
                &NewRun {
                    user: "jsmith".into(),
                    fingerprint: "f1".into(),
                    operator: "admin".into(),
                },
                now(),
            )?;
            writer.record_step(run, "appointments", 3, now())?;
            writer.append_audit(&NewAuditEntry {
                at: now(),
                operator: "admin".into(),
                user: "jsmith".into(),
                fingerprint: "f1".into(),
                step: "appointments".into(),
                detail: "{}".into(),
                prev_hash: "0".into(),
                hash: "h1".into(),
            })?;
            let entry = NewOutboxEntry {
                user_id: 2,
                system: "mdbilling".into(),
                billing_number: "100074".into(),
                idempotency_key: "k1".into(),
                reason: "left".into(),
                effective_at: now(),
            };
            let first = writer.enqueue_outbox(&entry)?;
            assert_eq!(writer.enqueue_outbox(&entry)?, first);
            writer.record_lock_holder(&holder)?;
            Ok(())
        })
        .unwrap();
    let runs = store.runs(Some("jsmith")).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(store.steps(runs[0].id).unwrap()[0].items, 3);
    assert_eq!(store.audit(None).unwrap()[0].hash, "h1");
    assert_eq!(store.outbox(true).unwrap().len(), 1);
    assert_eq!(store.lock_holder().unwrap().unwrap().holder, "runner-1");
}
