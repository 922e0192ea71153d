//! `apply --workers`: several runner processes (the real binary) share one
//! batch. One worker is killed mid-way (SIGKILL while it is inside a
//! step); its plan is taken over once its lease ends. Every plan is then
//! done exactly once — one run per leaver, each checkpoint and audit entry
//! once — and the clinic ends exactly as a single runner leaves an
//! identical one. PostgreSQL comes from `HANDOVER_TEST_POSTGRES_URL`.

mod common;
#[path = "support/pg.rs"]
mod pg;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{NOW, run};
use pg::{TestDb, postgres_dump};

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

#[test]
fn three_workers_one_killed_do_every_plan_exactly_once_as_a_single_runner_would() {
    let Some(shared) = TestDb::new("three_workers") else {
        return;
    };
    let reference = TestDb::new("three_workers_reference").unwrap();
    let dir = tempfile::tempdir().unwrap();
    for db in [&shared, &reference] {
        let seed = run(db.handover(dir.path()).args(SEED));
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
    // The third worker runs five plans, then stops inside the inbox step
    // of its sixth (its transaction open) until it is killed.
    let doomed = worker(
        dir.path(),
        &shared.url,
        &batch,
        Some("apply::inbox::during=5*off->sleep(600000)"),
    );
    let doomed_pid = doomed.id();
    let survivors = [
        worker(dir.path(), &shared.url, &batch, None),
        worker(dir.path(), &shared.url, &batch, None),
    ];
    let done = || {
        shared
            .text("SELECT count(*)::text FROM handover_runs WHERE status = 'done'")
            .parse::<usize>()
            .unwrap()
    };
    wait_for(
        "a third of the batch and the doomed worker stuck",
        Duration::from_secs(120),
        || {
            let held = shared.text(&format!(
                "SELECT count(*)::text FROM handover_claims
             WHERE pid = {doomed_pid} AND released_at IS NULL"
            ));
            done() >= PLANS / 3 && held == "1"
        },
    );
    let mut doomed = doomed;
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
    let took = started.elapsed();
    println!("three workers, one killed, {PLANS} plans: {took:?}");

    assert_exactly_once(&shared);
    let taken_over = shared.text("SELECT sum(takeovers)::text FROM handover_claims");
    assert_eq!(
        taken_over, "1",
        "the killed worker's plan was taken over once"
    );
    let verify = run(shared.handover(dir.path()).args(["audit", "verify"]));
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);

    let started = Instant::now();
    let single = run(reference
        .handover(dir.path())
        .arg("apply")
        .arg(&batch)
        .args(["--operator", "admin", "--yes", "-q"])
        .env("HANDOVER_PASSWORD", "admin-password"));
    assert_eq!(single.code, 0, "{}", single.stderr);
    println!("a single runner, {PLANS} plans: {:?}", started.elapsed());
    assert_eq!(
        postgres_dump(&shared),
        postgres_dump(&reference),
        "the workers leave the clinic as a single runner does"
    );
}

/// One finished run per leaver, each step checkpointed once and audited
/// once, every claim let go as done.
fn assert_exactly_once(db: &TestDb) {
    let runs = db.texts("SELECT username || ' ' || status FROM handover_runs ORDER BY username");
    assert_eq!(runs.len(), PLANS, "one run per leaver: {runs:?}");
    assert!(runs.iter().all(|run| run.ends_with(" done")), "{runs:?}");
    let steps = db.text("SELECT count(*)::text FROM handover_steps");
    assert_eq!(steps, (PLANS * 7).to_string(), "seven checkpoints per plan");
    let doubled = db.texts(
        "SELECT username || ' ' || step FROM handover_audit
         GROUP BY username, step HAVING count(*) > 1",
    );
    assert!(doubled.is_empty(), "audit entries doubled: {doubled:?}");
    let audited = db.text("SELECT count(*)::text FROM handover_audit");
    assert_eq!(audited, (PLANS * 7).to_string());
    let claims = db.texts("SELECT coalesce(outcome, 'held') FROM handover_claims");
    assert_eq!(claims.len(), PLANS);
    assert!(claims.iter().all(|outcome| outcome == "done"), "{claims:?}");
}
