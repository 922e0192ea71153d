//! Crash recovery: the process dies at every step boundary and in the
//! middle of every step (failpoints), or is SIGKILLed at random moments of
//! a batch; every rerun must end in exactly the state of an uninterrupted
//! run. Also one runner at a time, and no lock left behind by a dead one.
//! These tests need `--features failpoints` and say so loudly without it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::invariants;
use common::{NOW, handover, root, run};

#[cfg(not(feature = "failpoints"))]
#[test]
fn crash_tests_need_the_failpoints_feature() {
    panic!("the crash tests need failpoints: run `cargo nextest run --features failpoints`");
}

/// A seeded clinic in `dir`, with the example plans beside it.
fn seeded(dir: &Path, appointments: u32) -> PathBuf {
    let seed = run(handover(dir).args([
        "db",
        "seed",
        "--admin-password",
        "admin-password",
        "--appointments",
        &appointments.to_string(),
        "--messages",
        &appointments.to_string(),
    ]));
    assert_eq!(seed.code, 0, "{}", seed.stderr);
    dir.join("clinic.db")
}

/// `handover apply jobs` as a child process, with extra environment.
fn apply_child(dir: &Path, env: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_handover"));
    command
        .current_dir(dir)
        .args(["apply"])
        .arg(root().join("jobs"))
        .args(["--operator", "admin", "--yes", "-q"])
        .env("HANDOVER_PASSWORD", "admin-password")
        .env("HANDOVER_NOW", NOW)
        .env_remove("HANDOVER_DB")
        .env_remove("FAILPOINTS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    command.spawn().expect("handover starts")
}

fn finish(child: Child) -> (i32, String) {
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn emr_dump(db: &Path) -> String {
    common::clinic::dump_of(&rusqlite::Connection::open(db).unwrap())
}

/// A seeded clinic to copy from, and the state an uninterrupted run leaves
/// on a copy of it: the reference for every crash.
fn pristine(appointments: u32) -> (tempfile::TempDir, String, Duration) {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path(), appointments);
    let copy = copy_of(dir.path());
    let started = Instant::now();
    let (code, stderr) = finish(apply_child(copy.path(), &[]));
    let took = started.elapsed();
    assert_eq!(code, 3, "two example plans are blocked by design: {stderr}");
    let expected = emr_dump(&copy.path().join("clinic.db"));
    (dir, expected, took)
}

/// A new directory holding a copy of the clinic in `from`.
fn copy_of(from: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(from.join("clinic.db"), dir.path().join("clinic.db")).unwrap();
    dir
}

#[cfg(feature = "failpoints")]
#[test]
fn a_crash_at_any_step_boundary_or_mid_step_recovers_exactly() {
    let (source, expected, _) = pristine(400);
    let steps = [
        "appointments",
        "recurring-qnaires",
        "sent-qnaires",
        "inbox",
        "labs",
        "deactivate",
    ];
    for step in steps {
        for position in ["before", "during", "after"] {
            let dir = copy_of(source.path());
            let db = dir.path().join("clinic.db");
            let before = invariants::before(&rusqlite::Connection::open(&db).unwrap());
            let point = format!("apply::{step}::{position}=return");
            let (code, _) = finish(apply_child(dir.path(), &[("FAILPOINTS", &point)]));
            assert_eq!(code, -1, "{point}: the process was killed by abort");
            let conn = rusqlite::Connection::open(&db).unwrap();
            invariants::always(&conn, &before);
            let (code, stderr) = finish(apply_child(dir.path(), &[]));
            assert_eq!(code, 3, "{point}: rerun: {stderr}");
            assert_eq!(
                emr_dump(&db),
                expected,
                "{point}: the rerun differs from a clean run"
            );
            invariants::always(&conn, &before);
            let verify = run(handover(dir.path()).args(["audit", "verify"]));
            assert_eq!(verify.code, 0, "{point}: {}", verify.stderr);
        }
    }
}

#[cfg(feature = "failpoints")]
#[test]
fn a_plan_edited_after_its_run_began_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path(), 200);
    let jobs = dir.path().join("jobs");
    std::fs::create_dir(&jobs).unwrap();
    let plan = std::fs::read_to_string(root().join("jobs/03-rnguyen-cancel.yaml")).unwrap();
    std::fs::write(jobs.join("plan.yaml"), &plan).unwrap();
    let crash = run(handover(dir.path())
        .args(["apply", "jobs", "--operator", "admin", "--yes"])
        .env("HANDOVER_PASSWORD", "admin-password")
        .env("FAILPOINTS", "apply::inbox::before=return"));
    assert_ne!(crash.code, 0);
    std::fs::write(
        jobs.join("plan.yaml"),
        plan.replace("Locum contract ended", "Changed my mind"),
    )
    .unwrap();
    let rerun = run(handover(dir.path())
        .args(["apply", "jobs", "--operator", "admin", "--yes"])
        .env("HANDOVER_PASSWORD", "admin-password"));
    assert_eq!(rerun.code, 3, "{}", rerun.stderr);
    assert!(
        rerun.stdout.contains("blockers: plan-changed"),
        "{}",
        rerun.stdout
    );
}

#[cfg(feature = "failpoints")]
#[test]
fn two_runners_started_together_one_works_the_other_exits_busy() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path(), 200);
    let slow = [("FAILPOINTS", "apply::appointments::before=sleep(1500)")];
    let first = apply_child(dir.path(), &slow);
    let second = apply_child(dir.path(), &slow);
    let ((a, a_err), (b, b_err)) = (finish(first), finish(second));
    let mut codes = [a, b];
    codes.sort();
    assert_eq!(
        codes,
        [3, 6],
        "exactly one works (3: two examples are blocked), one is busy"
    );
    let busy = if a == 6 { a_err } else { b_err };
    assert!(busy.contains("another runner holds"), "{busy}");
    assert!(busy.contains(" since "), "{busy}");
}

#[cfg(feature = "failpoints")]
#[test]
fn a_killed_runner_leaves_no_lock_behind() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path(), 200);
    let mut holder = apply_child(
        dir.path(),
        &[("FAILPOINTS", "apply::appointments::before=sleep(20000)")],
    );
    std::thread::sleep(Duration::from_millis(700));
    let busy = finish(apply_child(dir.path(), &[]));
    assert_eq!(busy.0, 6, "the holder is alive: {}", busy.1);
    holder.kill().unwrap();
    holder.wait().unwrap();
    let started = Instant::now();
    let (code, stderr) = finish(apply_child(dir.path(), &[]));
    assert_eq!(code, 3, "the next run proceeds: {stderr}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// SIGKILLs the real binary at random moments of a batch, at least 50 times
/// in all; each chain of reruns must end like an uninterrupted run, with a
/// sound database after every kill.
#[test]
fn random_kills_during_a_batch_never_lose_or_double_anything() {
    let (source, expected, took) = pristine(4000);
    let window = took.as_millis() as u64 + 1;
    let mut random = fastrand::Rng::with_seed(7);
    let mut kills = 0;
    let mut chains = 0;
    while kills < 50 {
        chains += 1;
        let dir = copy_of(source.path());
        let copy = dir.path().join("clinic.db");
        let before = invariants::before(&rusqlite::Connection::open(&copy).unwrap());
        loop {
            let mut child = apply_child(dir.path(), &[]);
            std::thread::sleep(Duration::from_millis(random.u64(0..window)));
            let killed = child.try_wait().unwrap().is_none();
            if killed {
                child.kill().unwrap();
                kills += 1;
            }
            let (code, stderr) = finish(child);
            let conn = rusqlite::Connection::open(&copy).unwrap();
            invariants::always(&conn, &before);
            if !killed {
                assert_eq!(code, 3, "a completed run: {stderr}");
                break;
            }
        }
        assert_eq!(
            emr_dump(&copy),
            expected,
            "chain {chains} ended differently"
        );
        let verify = run(handover(dir.path()).args(["audit", "verify"]));
        assert_eq!(verify.code, 0, "chain {chains}: {}", verify.stderr);
    }
    eprintln!("{kills} kills over {chains} chains; a whole run takes {took:?}");
}

/// Items that reach the leaver after the review, in a category the plan
/// does not place, stop the deactivation: the plan fails (exit 1), the
/// leaver stays active, and `status` says why.
#[cfg(feature = "failpoints")]
#[test]
fn items_arriving_mid_run_that_the_plan_cannot_place_stop_the_deactivation() {
    let clinic = common::clinic::Clinic::new();
    clinic.operator("admin", "admin-password");
    let leaver = clinic.user("leaver", "practitioner");
    clinic.user("desk", "staff");
    clinic.message(leaver, "Before", false, false);
    clinic.plan(
        "plan.yaml",
        "version: 1\nuser: leaver\ninbox: { forward_to: desk }\n",
    );
    let child = Command::new(env!("CARGO_BIN_EXE_handover"))
        .current_dir(clinic.path())
        .args(["apply", "plan.yaml", "--operator", "admin", "--yes"])
        .env("HANDOVER_PASSWORD", "admin-password")
        .env("HANDOVER_NOW", NOW)
        .env("FAILPOINTS", "apply::labs::before=sleep(1500)")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    clinic.appointment(leaver, common::clinic::FUTURE, "booked");
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("leaver  failed"), "{stdout}");
    let active: i64 = clinic
        .conn
        .query_row("SELECT active FROM users WHERE id = ?1", [leaver], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(active, 1, "not deactivated with an unplaced appointment");
    let status = run(handover(clinic.path()).args(["status", "--format", "json"]));
    let json: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let error = json["failures"][0]["error"].as_str().unwrap();
    assert!(error.contains("1 appointments"), "{error}");
}
