//! Concurrency on PostgreSQL: bookings made for a leaver while `apply`
//! runs all end with the recipient, never stranded with a deactivated
//! practitioner; and of two runners reaching for the runner lock at once,
//! exactly one gets it, a thousand times over. The server comes from
//! `HANDOVER_TEST_POSTGRES_URL`.

mod common;
#[path = "support/pg.rs"]
mod pg;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{NOW, run};
use handover::store::postgres::PostgresStore;
use handover::store::{Access, LockHolder, Store};
use pg::TestDb;

const SEED: &[&str] = &[
    "db",
    "seed",
    "--admin-password",
    "admin-password",
    "--seed",
    "3",
    "--practitioners",
    "40",
    "--appointments",
    "4000",
    "--messages",
    "1000",
    "--qnaires",
    "500",
    "--claims",
    "0",
];

/// The EMR's own booking path as a careful EMR writes it: lock the
/// practitioner's row, book only while they are active. Returns the new
/// appointment's id, or `None` once the practitioner is deactivated.
async fn book(client: &mut tokio_postgres::Client, practitioner: i64, slot: u32) -> Option<i64> {
    let tx = client.transaction().await.unwrap();
    let active: bool = tx
        .query_one(
            "SELECT active FROM users WHERE id = $1 FOR SHARE",
            &[&practitioner],
        )
        .await
        .unwrap()
        .get(0);
    if !active {
        return None;
    }
    let row = tx
        .query_one(
            "INSERT INTO appointments (practitioner_id, patient_id, starts_at, ends_at, status)
             VALUES ($1, 4242, timestamptz '2027-02-01T08:00:00Z' + make_interval(mins => $2),
                     timestamptz '2027-02-01T08:30:00Z' + make_interval(mins => $2), 'booked')
             RETURNING id",
            &[&practitioner, &(slot as i32 * 30)],
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    Some(row.get(0))
}

#[cfg(feature = "failpoints")]
#[test]
fn bookings_made_while_apply_runs_end_with_the_recipient_never_stranded() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let seed = run(db.handover(dir.path()).args(SEED));
    assert_eq!(seed.code, 0, "{}", seed.stderr);
    let leaver = db.text(
        "SELECT username FROM users WHERE username LIKE 'p%' AND province <> 'ON'
         ORDER BY username LIMIT 1",
    );
    let leaver_id: i64 = db
        .text(&format!(
            "SELECT id::text FROM users WHERE username = '{leaver}'"
        ))
        .parse()
        .unwrap();
    let plan = dir.path().join("plan.yaml");
    std::fs::write(
        &plan,
        format!(
            "version: 1\nuser: {leaver}\ndefault_to: apatel\ninbox: {{ forward_to: reception }}\n"
        ),
    )
    .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let booker = {
        let (stop, url) = (stop.clone(), db.url.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let mut client = pg::connect(&runtime, &url);
            let mut booked = Vec::new();
            let mut slot = 0;
            while !stop.load(Ordering::SeqCst) {
                if let Some(id) = runtime.block_on(book(&mut client, leaver_id, slot)) {
                    booked.push(id);
                }
                slot += 1;
            }
            booked
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    // Slow steps widen every window a booking could slip through: inside
    // step 1 after its moves, and in step 6 between the sweep and the
    // deactivation.
    let apply = run(db
        .handover(dir.path())
        .arg("apply")
        .arg(&plan)
        .args(["--operator", "admin", "--yes", "-q"])
        .env("HANDOVER_PASSWORD", "admin-password")
        .env(
            "FAILPOINTS",
            "apply::appointments::during=sleep(300);apply::deactivate::swept=sleep(300)",
        ));
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::SeqCst);
    let booked = booker.join().unwrap();
    assert_eq!(apply.code, 0, "{}", apply.stderr);

    assert!(booked.len() > 10, "bookings were made during the apply");
    let stranded = db.text(&format!(
        "SELECT count(*)::text FROM appointments
         WHERE practitioner_id = {leaver_id} AND status = 'booked' AND starts_at > '{NOW}'"
    ));
    assert_eq!(
        stranded, "0",
        "no future booking left with the deactivated leaver"
    );
    let ids: Vec<String> = booked.iter().map(i64::to_string).collect();
    let owners = db.texts(&format!(
        "SELECT DISTINCT u.username FROM appointments a JOIN users u ON u.id = a.practitioner_id
         WHERE a.id IN ({})",
        ids.join(", ")
    ));
    assert_eq!(
        owners,
        ["apatel"],
        "every booking made went to the recipient"
    );
    let swept = db.text(&format!(
        "SELECT detail FROM handover_audit WHERE username = '{leaver}' AND step = 'deactivate'"
    ));
    let swept: serde_json::Value = serde_json::from_str(&swept).unwrap();
    assert!(
        swept["swept"]["appointments"].is_object(),
        "bookings made after step 1 were swept by step 6: {swept}"
    );
}

fn holder(name: &str) -> LockHolder {
    let now: jiff::Timestamp = NOW.parse().unwrap();
    LockHolder {
        holder: name.into(),
        pid: std::process::id(),
        host: "test".into(),
        acquired_at: now,
        heartbeat: now,
    }
}

#[test]
fn of_two_runners_at_once_exactly_one_gets_the_lock_a_thousand_times() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let init = run(db.handover(dir.path()).args(["db", "init"]));
    assert_eq!(init.code, 0, "{}", init.stderr);
    let started = Instant::now();
    for pair in 0..1000 {
        let barrier = Arc::new(Barrier::new(2));
        let runners: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|name| {
                let store = PostgresStore::open(&db.url, Access::Write).unwrap();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let mut store = store;
                    barrier.wait();
                    let held = store.lock_runner(&holder(name)).unwrap();
                    (store, held.is_none())
                })
            })
            .collect();
        let outcomes: Vec<(PostgresStore, bool)> = runners
            .into_iter()
            .map(|runner| runner.join().unwrap())
            .collect();
        let working = outcomes.iter().filter(|(_, took)| *took).count();
        assert_eq!(working, 1, "pair {pair}: exactly one runner works");
        drop(outcomes);
        let released = Instant::now();
        while db.advisory_locks() > 0 {
            assert!(
                released.elapsed() < Duration::from_secs(10),
                "pair {pair}: the lock outlived its runner"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    println!("1,000 pairs of runners: {:?}", started.elapsed());
}
