//! Crash recovery: the process dies at every step boundary and in the
//! middle of every step (failpoints), or is SIGKILLed at random moments of
//! a batch; every rerun must end in exactly the state of an uninterrupted
//! run. Also one runner at a time, and no lock left behind by a dead one.
//! These tests need `--features failpoints` and say so loudly without it.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::clinic::Clinic;
use common::invariants;
use common::{Backend, NOW, on_both_backends, root, run};

#[cfg(not(feature = "failpoints"))]
#[test]
fn crash_tests_need_the_failpoints_feature() {
    panic!("the crash tests need failpoints: run `cargo nextest run --features failpoints`");
}

/// A seeded clinic, with the example plans beside it.
fn seeded(backend: Backend, appointments: u32) -> Clinic {
    let clinic = Clinic::empty(backend);
    let seed = run(clinic.handover().args([
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
    clinic
}

/// `handover apply jobs` on the clinic as a child process, with extra
/// environment.
fn apply_child(clinic: &Clinic, env: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_handover"));
    command
        .current_dir(clinic.path())
        .args(["apply"])
        .arg(root().join("jobs"))
        .args(["--operator", "admin", "--yes", "-q"])
        .env("HANDOVER_PASSWORD", "admin-password")
        .env("HANDOVER_NOW", NOW)
        .env("HANDOVER_DB", clinic.url())
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

/// A seeded clinic to copy from, and the state an uninterrupted run leaves
/// on a copy of it: the reference for every crash.
fn pristine(backend: Backend, appointments: u32) -> (Clinic, String, Duration) {
    let source = seeded(backend, appointments);
    let copy = source.copy();
    let started = Instant::now();
    let (code, stderr) = finish(apply_child(&copy, &[]));
    let took = started.elapsed();
    assert_eq!(code, 3, "two example plans are blocked by design: {stderr}");
    let expected = copy.emr_dump();
    (source, expected, took)
}

on_both_backends!(
    #[cfg(feature = "failpoints")]
    a_crash_at_any_step_boundary_or_mid_step_recovers_exactly
);
#[cfg(feature = "failpoints")]
fn a_crash_at_any_step_boundary_or_mid_step_recovers_exactly(backend: Backend) {
    let (source, expected, _) = pristine(backend, 400);
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
            let clinic = source.copy();
            let before = invariants::before(&clinic.db);
            let point = format!("apply::{step}::{position}=return");
            let (code, _) = finish(apply_child(&clinic, &[("FAILPOINTS", &point)]));
            assert_eq!(code, -1, "{point}: the process was killed by abort");
            clinic.db.settle();
            invariants::always(&clinic.db, &before);
            let (code, stderr) = finish(apply_child(&clinic, &[]));
            assert_eq!(code, 3, "{point}: rerun: {stderr}");
            assert_eq!(
                clinic.emr_dump(),
                expected,
                "{point}: the rerun differs from a clean run"
            );
            invariants::always(&clinic.db, &before);
            let verify = run(clinic.handover().args(["audit", "verify"]));
            assert_eq!(verify.code, 0, "{point}: {}", verify.stderr);
        }
    }
}

on_both_backends!(
    #[cfg(feature = "failpoints")]
    a_plan_edited_after_its_run_began_is_refused
);
#[cfg(feature = "failpoints")]
fn a_plan_edited_after_its_run_began_is_refused(backend: Backend) {
    let clinic = seeded(backend, 200);
    let jobs = clinic.path().join("jobs");
    std::fs::create_dir(&jobs).unwrap();
    let plan = std::fs::read_to_string(root().join("jobs/03-rnguyen-cancel.yaml")).unwrap();
    std::fs::write(jobs.join("plan.yaml"), &plan).unwrap();
    let crash = run(clinic
        .handover()
        .args(["apply", "jobs", "--operator", "admin", "--yes"])
        .env("HANDOVER_PASSWORD", "admin-password")
        .env("FAILPOINTS", "apply::inbox::before=return"));
    assert_ne!(crash.code, 0);
    clinic.db.settle();
    std::fs::write(
        jobs.join("plan.yaml"),
        plan.replace("Locum contract ended", "Changed my mind"),
    )
    .unwrap();
    let rerun = run(clinic
        .handover()
        .args(["apply", "jobs", "--operator", "admin", "--yes"])
        .env("HANDOVER_PASSWORD", "admin-password"));
    assert_eq!(rerun.code, 3, "{}", rerun.stderr);
    assert!(
        rerun.stdout.contains("blockers: plan-changed"),
        "{}",
        rerun.stdout
    );
}

on_both_backends!(
    #[cfg(feature = "failpoints")]
    two_runners_started_together_one_works_the_other_exits_busy
);
#[cfg(feature = "failpoints")]
fn two_runners_started_together_one_works_the_other_exits_busy(backend: Backend) {
    let clinic = seeded(backend, 200);
    let slow = [("FAILPOINTS", "apply::appointments::before=sleep(1500)")];
    let first = apply_child(&clinic, &slow);
    let second = apply_child(&clinic, &slow);
    let ((a, a_err), (b, b_err)) = (finish(first), finish(second));
    let mut codes = [a, b];
    codes.sort();
    assert_eq!(
        codes,
        [3, 6],
        "exactly one works (3: two examples are blocked), one is busy: {a_err} {b_err}"
    );
    let busy = if a == 6 { a_err } else { b_err };
    assert!(busy.contains("another runner holds"), "{busy}");
    assert!(busy.contains(" since "), "{busy}");
}

on_both_backends!(
    #[cfg(feature = "failpoints")]
    a_killed_runner_leaves_no_lock_behind
);
#[cfg(feature = "failpoints")]
fn a_killed_runner_leaves_no_lock_behind(backend: Backend) {
    let clinic = seeded(backend, 200);
    let mut holder = apply_child(
        &clinic,
        &[("FAILPOINTS", "apply::appointments::before=sleep(20000)")],
    );
    std::thread::sleep(Duration::from_millis(1000));
    let busy = finish(apply_child(&clinic, &[]));
    assert_eq!(busy.0, 6, "the holder is alive: {}", busy.1);
    holder.kill().unwrap();
    holder.wait().unwrap();
    let started = Instant::now();
    let (code, stderr) = finish(apply_child(&clinic, &[]));
    assert_eq!(code, 3, "the next run proceeds: {stderr}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

on_both_backends!(random_kills_during_a_batch_never_lose_or_double_anything);
/// SIGKILLs the real binary at random moments of a batch, at least 50 times
/// in all; each chain of reruns must end like an uninterrupted run, with a
/// sound database after every kill.
fn random_kills_during_a_batch_never_lose_or_double_anything(backend: Backend) {
    let (source, expected, took) = pristine(backend, 4000);
    let window = took.as_millis() as u64 + 1;
    let mut random = fastrand::Rng::with_seed(7);
    let mut kills = 0;
    let mut chains = 0;
    while kills < 50 {
        chains += 1;
        let clinic = source.copy();
        let before = invariants::before(&clinic.db);
        loop {
            let mut child = apply_child(&clinic, &[]);
            std::thread::sleep(Duration::from_millis(random.u64(0..window)));
            let killed = child.try_wait().unwrap().is_none();
            if killed {
                child.kill().unwrap();
                kills += 1;
            }
            let (code, stderr) = finish(child);
            clinic.db.settle();
            invariants::always(&clinic.db, &before);
            if !killed {
                assert_eq!(code, 3, "a completed run: {stderr}");
                break;
            }
        }
        assert_eq!(
            clinic.emr_dump(),
            expected,
            "chain {chains} ended differently"
        );
        let verify = run(clinic.handover().args(["audit", "verify"]));
        assert_eq!(verify.code, 0, "chain {chains}: {}", verify.stderr);
    }
    eprintln!("{kills} kills over {chains} chains; a whole run takes {took:?}");
}

on_both_backends!(
    #[cfg(feature = "failpoints")]
    items_arriving_mid_run_that_the_plan_cannot_place_stop_the_deactivation
);
/// Items that reach the leaver after the review, in a category the plan
/// does not place, stop the deactivation: the plan fails (exit 1), the
/// leaver stays active, and `status` says why.
#[cfg(feature = "failpoints")]
fn items_arriving_mid_run_that_the_plan_cannot_place_stop_the_deactivation(backend: Backend) {
    let clinic = Clinic::new(backend);
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
        .env("HANDOVER_DB", clinic.url())
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
    let active = clinic
        .db
        .int("SELECT active FROM users WHERE id = ?1", &[leaver.into()]);
    assert_eq!(active, 1, "not deactivated with an unplaced appointment");
    let status = run(clinic.handover().args(["status", "--format", "json"]));
    let json: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let error = json["failures"][0]["error"].as_str().unwrap();
    assert!(error.contains("1 appointments"), "{error}");
}
