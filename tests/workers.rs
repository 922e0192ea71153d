//! `apply --workers`: several runner processes (the real binary) share one
//! batch. One worker is killed mid-way (SIGKILL while it is inside a
//! step); its plan is taken over once its lease ends. Every plan is then
//! done exactly once — one run per leaver, each checkpoint and audit entry
//! once — and the clinic ends exactly as a single runner leaves an
//! identical one. On PostgreSQL (from `HANDOVER_TEST_POSTGRES_URL`) the
//! worker dies with a step's transaction open; on SQLite, where an open
//! transaction would stop every other writer, between two steps. Also:
//! workers and a sole runner keep each other out, and `--lease-secs`
//! needs `--workers`.

mod common;
#[path = "support/pg.rs"]
mod pg;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{NOW, run};
use pg::{TestDb, postgres_dump, sqlite_dump};

#[cfg(not(feature = "failpoints"))]
#[test]
fn worker_tests_need_the_failpoints_feature() {
    panic!("the worker tests need failpoints: run `cargo nextest run --features failpoints`");
}

const SEED: &[&str] = &[
    "db",
    "seed",
    "--admin-password",
    "admin-password",
    "--seed",
    "7",
    "--practitioners",
    "150",
    "--appointments",
    "6000",
    "--messages",
    "3000",
    "--qnaires",
    "1500",
    "--claims",
    "0",
];

/// How many plans the shared batch holds.
const PLANS: usize = 60;

/// A batch of `PLANS` leavers outside Ontario (no billing link, so no
/// endpoint needed), everything to `apatel`, inboxes to `reception`.
fn write_batch(dir: &Path, leavers: &[String]) -> std::path::PathBuf {
    let mut yaml = String::from(
        "version: 1\ndefaults:\n  reason: Clinic closing\n  default_to: apatel\n  \
         inbox: { forward_to: reception }\nplans:\n",
    );
    for leaver in leavers {
        yaml.push_str(&format!("  - user: {leaver}\n"));
    }
    let path = dir.join("batch.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

/// `handover apply BATCH --workers` on `url` as a child process.
fn worker(dir: &Path, url: &str, batch: &Path, failpoints: Option<&str>) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_handover"));
    command
        .current_dir(dir)
        .args(["--db", url, "--format", "json", "apply"])
        .arg(batch)
        .args([
            "--operator",
            "admin",
            "--yes",
            "--workers",
            "--lease-secs",
            "2",
        ])
        .env("HANDOVER_PASSWORD", "admin-password")
        .env("HANDOVER_NOW", NOW)
        .env_remove("HANDOVER_DB")
        .env_remove("FAILPOINTS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(failpoints) = failpoints {
        command.env("FAILPOINTS", failpoints);
    }
    command.spawn().expect("handover starts")
}

fn finish(child: Child) -> (i32, String, String) {
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Waits until `ready` holds, failing the test after `limit`.
fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The clinic the workers share, or the reference a single runner uses.
enum Clinic {
    Postgres(Box<TestDb>),
    Sqlite(PathBuf),
}

impl Clinic {
    fn url(&self) -> String {
        match self {
            Clinic::Postgres(db) => db.url.clone(),
            Clinic::Sqlite(path) => path.display().to_string(),
        }
    }

    /// The first column of every row of `sql` (written for both backends).
    fn texts(&self, sql: &str) -> Vec<String> {
        match self {
            Clinic::Postgres(db) => db.texts(sql),
            Clinic::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).unwrap();
                let mut statement = conn.prepare(sql).unwrap();
                statement
                    .query_map([], |row| row.get::<_, Option<String>>(0))
                    .unwrap()
                    .map(|value| value.unwrap().unwrap_or("NULL".into()))
                    .collect()
            }
        }
    }

    fn text(&self, sql: &str) -> String {
        self.texts(sql).remove(0)
    }

    fn dump(&self) -> String {
        match self {
            Clinic::Postgres(db) => postgres_dump(db),
            Clinic::Sqlite(path) => sqlite_dump(path),
        }
    }

    /// `handover --db THIS` in `dir`.
    fn handover(&self, dir: &Path) -> assert_cmd::Command {
        let mut command = common::handover(dir);
        command.arg("--db").arg(self.url());
        command
    }
}

#[cfg(feature = "failpoints")]
#[test]
fn on_postgres_three_workers_one_killed_in_a_step_do_every_plan_once() {
    let shared = TestDb::new();
    let reference = TestDb::new();
    // The doomed worker stops inside the inbox step of its third plan,
    // its transaction open, until it is killed.
    three_workers_one_killed(
        Clinic::Postgres(Box::new(shared)),
        Clinic::Postgres(Box::new(reference)),
        "apply::inbox::during=2*off->sleep(600000)",
    );
}

#[cfg(feature = "failpoints")]
#[test]
fn on_sqlite_three_workers_one_killed_between_steps_do_every_plan_once() {
    let dir = tempfile::tempdir().unwrap();
    three_workers_one_killed(
        Clinic::Sqlite(dir.path().join("shared.db")),
        Clinic::Sqlite(dir.path().join("reference.db")),
        "apply::inbox::before=2*off->sleep(600000)",
    );
}

fn three_workers_one_killed(shared: Clinic, reference: Clinic, doom: &str) {
    let dir = tempfile::tempdir().unwrap();
    for clinic in [&shared, &reference] {
        let seed = run(clinic.handover(dir.path()).args(SEED));
        assert_eq!(seed.code, 0, "{}", seed.stderr);
    }
    let leavers = shared.texts(&format!(
        "SELECT username FROM users
         WHERE username LIKE 'p%' AND role = 'practitioner' AND province <> 'ON'
         ORDER BY username LIMIT {PLANS}"
    ));
    assert_eq!(leavers.len(), PLANS, "the seeded clinic has enough leavers");
    let batch = write_batch(dir.path(), &leavers);

    let started = Instant::now();
    let url = shared.url();
    // The doomed worker runs two plans alone, then gets stuck in its third
    // (three checkpoints, twice in a row); the others join it then.
    let mut doomed = worker(dir.path(), &url, &batch, Some(doom));
    let doomed_pid = doomed.id();
    let stuck = format!(
        "SELECT CAST(count(*) AS TEXT) FROM handover_claims c
         JOIN handover_runs r ON r.username = c.username
         JOIN handover_steps s ON s.run_id = r.id
         WHERE c.pid = {doomed_pid} AND c.released_at IS NULL"
    );
    let limit = Duration::from_secs(120);
    wait_for("the doomed worker stuck in its third plan", limit, || {
        if let Ok(Some(status)) = doomed.try_wait() {
            panic!("the doomed worker ended by itself ({status})");
        }
        shared.text(&stuck) == "3" && {
            std::thread::sleep(Duration::from_millis(200));
            shared.text(&stuck) == "3"
        }
    });
    let survivors = [
        worker(dir.path(), &url, &batch, None),
        worker(dir.path(), &url, &batch, None),
    ];
    wait_for("a third of the batch done", limit, || {
        let done =
            shared.text("SELECT CAST(count(*) AS TEXT) FROM handover_runs WHERE status = 'done'");
        done.parse::<usize>().unwrap() >= PLANS / 3
    });
    doomed.kill().unwrap();
    doomed.wait().unwrap();
    for survivor in survivors {
        let (code, stdout, stderr) = finish(survivor);
        assert_eq!(code, 0, "a surviving worker succeeds: {stderr}");
        let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let plans = report["plans"].as_array().unwrap();
        assert!(
            plans.iter().all(|plan| plan["outcome"] == "done"),
            "{stdout}"
        );
        let by_others = report["summary"]["by_other_workers"].as_u64().unwrap() as usize;
        assert_eq!(
            plans.len() + by_others,
            PLANS,
            "each plan handled once: {stdout}"
        );
    }
    println!(
        "three workers, one killed, {PLANS} plans: {:?}",
        started.elapsed()
    );

    assert_exactly_once(&shared);
    let taken_over = shared.text("SELECT CAST(sum(takeovers) AS TEXT) FROM handover_claims");
    assert_eq!(
        taken_over, "1",
        "the killed worker's plan was taken over once"
    );
    let verify = run(shared.handover(dir.path()).args(["audit", "verify"]));
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    let status = run(shared.handover(dir.path()).args(["status"]));
    assert!(
        status
            .stdout
            .contains(&format!("worker claims: {PLANS} (0 held)")),
        "{}",
        status.stdout
    );

    let started = Instant::now();
    let single = run(reference
        .handover(dir.path())
        .arg("apply")
        .arg(&batch)
        .args(["--operator", "admin", "--yes", "-q"])
        .env("HANDOVER_PASSWORD", "admin-password"));
    assert_eq!(single.code, 0, "{}", single.stderr);
    println!("a single runner, {PLANS} plans: {:?}", started.elapsed());
    let (workers, single) = (shared.dump(), reference.dump());
    let differ = workers
        .lines()
        .zip(single.lines())
        .find(|(ours, theirs)| ours != theirs);
    assert_eq!(
        differ, None,
        "the workers leave the clinic as a single runner does"
    );
    assert_eq!(workers.lines().count(), single.lines().count());
}

/// One finished run per leaver, each step checkpointed once and audited
/// once, every claim let go as done.
fn assert_exactly_once(db: &Clinic) {
    let runs = db.texts("SELECT username || ' ' || status FROM handover_runs ORDER BY username");
    assert_eq!(runs.len(), PLANS, "one run per leaver: {runs:?}");
    assert!(runs.iter().all(|run| run.ends_with(" done")), "{runs:?}");
    let steps = db.text("SELECT CAST(count(*) AS TEXT) FROM handover_steps");
    assert_eq!(steps, (PLANS * 7).to_string(), "seven checkpoints per plan");
    let doubled = db.texts(
        "SELECT username || ' ' || step FROM handover_audit
         GROUP BY username, step HAVING count(*) > 1",
    );
    assert!(doubled.is_empty(), "audit entries doubled: {doubled:?}");
    let audited = db.text("SELECT CAST(count(*) AS TEXT) FROM handover_audit");
    assert_eq!(audited, (PLANS * 7).to_string());
    let claims = db.texts(
        "SELECT username || ' ' || CAST(pid AS TEXT) || ' ' || coalesce(outcome, 'held')
            || ' ' || CAST(takeovers AS TEXT) || ' ' || claimed_at || ' ' || lease_until
         FROM handover_claims ORDER BY claimed_at",
    );
    assert_eq!(claims.len(), PLANS);
    assert!(
        claims.iter().all(|claim| claim.contains(" done ")),
        "{claims:#?}"
    );
}

/// A worker alive but stuck inside a step (a hung machine, say) holds
/// its plan only for a lease: the server ends its idle transaction, the
/// other worker takes the plan over, and the stuck one, when it wakes,
/// can change nothing.
#[cfg(feature = "failpoints")]
#[test]
fn on_postgres_a_worker_stuck_in_a_step_loses_its_plan_after_its_lease() {
    let db = TestDb::new();
    let db = Clinic::Postgres(Box::new(db));
    let dir = tempfile::tempdir().unwrap();
    let seed = run(db.handover(dir.path()).args(SEED));
    assert_eq!(seed.code, 0, "{}", seed.stderr);
    let leavers = db.texts(&format!(
        "SELECT username FROM users
         WHERE username LIKE 'p%' AND role = 'practitioner' AND province <> 'ON'
         ORDER BY username LIMIT {PLANS}"
    ));
    let batch = write_batch(dir.path(), &leavers);
    let url = db.url();
    let stuck = worker(
        dir.path(),
        &url,
        &batch,
        // Asleep long enough for the other worker to finish the batch even on
        // a loaded machine: were it to wake first, its plan would end failed
        // and be left for the next round rather than taken over.
        Some("apply::inbox::during=sleep(20000)"),
    );
    let pid = stuck.id();
    wait_for(
        "the worker stuck in its first plan",
        Duration::from_secs(30),
        || {
            db.text(&format!(
                "SELECT CAST(count(*) AS TEXT) FROM handover_claims c
             JOIN handover_runs r ON r.username = c.username
             JOIN handover_steps s ON s.run_id = r.id
             WHERE c.pid = {pid} AND c.released_at IS NULL"
            )) == "3"
        },
    );
    let (code, stdout, stderr) = finish(worker(dir.path(), &url, &batch, None));
    assert_eq!(code, 0, "the other worker does the whole batch: {stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["plans"].as_array().unwrap().len(), PLANS, "{stdout}");
    let (code, stdout, stderr) = finish(stuck);
    assert_eq!(code, 1, "the stuck worker's plan failed for it: {stderr}");
    println!("the stuck worker said: {stdout}");
    assert_exactly_once(&db);
    let taken_over = db.text("SELECT CAST(sum(takeovers) AS TEXT) FROM handover_claims");
    assert_eq!(taken_over, "1");
}

/// `handover apply jobs` on the clinic `url`, as a child.
fn apply_jobs(dir: &Path, url: &str, workers: bool, failpoints: &str) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_handover"));
    command
        .current_dir(dir)
        .args(["--db", url, "apply"])
        .arg(common::root().join("jobs"))
        .args(["--operator", "admin", "--yes", "-q"])
        .args(if workers { &["--workers"][..] } else { &[][..] })
        .env("HANDOVER_PASSWORD", "admin-password")
        .env("HANDOVER_NOW", NOW)
        .env("FAILPOINTS", failpoints)
        .env_remove("HANDOVER_DB")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command.spawn().expect("handover starts")
}

#[cfg(feature = "failpoints")]
#[test]
fn on_sqlite_workers_and_a_sole_runner_keep_each_other_out() {
    let dir = tempfile::tempdir().unwrap();
    keep_each_other_out(Clinic::Sqlite(dir.path().join("clinic.db")));
}

#[cfg(feature = "failpoints")]
#[test]
fn on_postgres_workers_and_a_sole_runner_keep_each_other_out() {
    keep_each_other_out(Clinic::Postgres(Box::new(TestDb::new())));
}

/// A sole runner keeps workers out (exit 6), and a worker a sole runner.
fn keep_each_other_out(db: Clinic) {
    let dir = tempfile::tempdir().unwrap();
    let seed =
        run(db
            .handover(dir.path())
            .args(["db", "seed", "--admin-password", "admin-password"]));
    assert_eq!(seed.code, 0, "{}", seed.stderr);
    let (url, pause) = (db.url(), "apply::appointments::before=sleep(30000)");
    for (holder_is_worker, second_is_worker) in [(false, true), (true, false)] {
        let mut holder = apply_jobs(dir.path(), &url, holder_is_worker, pause);
        let pid = holder.id().to_string();
        wait_for(
            "the first runner to hold the lock",
            Duration::from_secs(30),
            || db.texts("SELECT CAST(pid AS TEXT) FROM handover_lock") == [pid.clone()],
        );
        let (code, _, stderr) = finish(apply_jobs(dir.path(), &url, second_is_worker, ""));
        assert_eq!(code, 6, "the second runner is busy: {stderr}");
        assert!(stderr.contains("another runner holds"), "{stderr}");
        holder.kill().unwrap();
        holder.wait().unwrap();
    }
}

#[test]
fn a_lease_without_workers_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = common::root().join("jobs");
    let output = run(common::handover(dir.path()).arg("apply").arg(jobs).args([
        "--operator",
        "admin",
        "--yes",
        "--lease-secs",
        "5",
    ]));
    assert_eq!(output.code, 2, "{}", output.stderr);
    assert!(output.stderr.contains("--workers"), "{}", output.stderr);
}
