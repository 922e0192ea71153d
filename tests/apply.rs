//! `handover apply` and what goes with it (audit, reactivate, status)
//! through the real binary on small clinics built for each case. After
//! every scenario the invariants of DESIGN §8 are checked.

mod common;

use common::clinic::{Clinic, FUTURE, PAST};
use common::invariants;
use common::{Backend, NOW, on_both_backends, run};

const PLAN: &str = "version: 1\nuser: leaver\nreason: Moved away\ndefault_to: doc\n\
                    inbox: { forward_to: desk }\nlabs: { transfer_to: doc }\n";

struct Setup {
    clinic: Clinic,
    leaver: i64,
    doc: i64,
    desk: i64,
    /// Ids that must move: future appointment, its qnaire, recurring,
    /// sent, two open messages, lab.
    moving: Vec<i64>,
    past: i64,
    archived: i64,
    before: invariants::Before,
}

/// Every scenario ends with the invariants that hold whatever happened.
impl Drop for Setup {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            invariants::always(&self.clinic.db, &self.before);
        }
    }
}

fn setup(backend: Backend) -> Setup {
    let clinic = Clinic::new(backend);
    let leaver = clinic.user("leaver", "practitioner");
    let doc = clinic.user("doc", "practitioner");
    let desk = clinic.user("desk", "staff");
    clinic.operator("admin", "admin-password");
    let clerk = clinic.user("clerk", "staff");
    clinic.password(clerk, "clerk-password");
    let future = clinic.appointment(leaver, FUTURE, "booked");
    let past = clinic.appointment(leaver, PAST, "completed");
    let moving = vec![
        future,
        clinic.qnaire(leaver, "appointment", Some(future), "scheduled"),
        clinic.qnaire(leaver, "recurring", None, "scheduled"),
        clinic.qnaire(leaver, "sent", None, "sent"),
        clinic.message(leaver, "Follow-up", true, false),
        clinic.message(leaver, "Lab result", false, false),
        clinic.lab("North Labs", leaver, false),
    ];
    let archived = clinic.message(leaver, "Old news", false, true);
    clinic.plan("plan.yaml", PLAN);
    let before = invariants::before(&clinic.db);
    Setup {
        clinic,
        leaver,
        doc,
        desk,
        moving,
        past,
        archived,
        before,
    }
}

fn owner(setup: &Setup, table: &str, column: &str, id: i64) -> i64 {
    setup.clinic.db.int(
        &format!("SELECT {column} FROM {table} WHERE id = ?1"),
        &[id.into()],
    )
}

on_both_backends!(apply_hands_everything_over_and_keeps_every_invariant);
fn apply_hands_everything_over_and_keeps_every_invariant(backend: Backend) {
    let setup = setup(backend);
    let before = invariants::before(&setup.clinic.db);
    let result = setup.clinic.apply(&["plan.yaml"]);
    assert_eq!(result.code, 0, "{}{}", result.stdout, result.stderr);
    assert!(
        result.stdout.starts_with("leaver  done"),
        "{}",
        result.stdout
    );
    invariants::always(&setup.clinic.db, &before);
    invariants::leaver_done(&setup.clinic.db, "leaver", NOW);
    invariants::audit_names(&setup.clinic.db, &setup.moving);
    assert_eq!(
        owner(&setup, "appointments", "practitioner_id", setup.moving[0]),
        setup.doc
    );
    assert_eq!(
        owner(&setup, "qnaires", "practitioner_id", setup.moving[1]),
        setup.doc
    );
    assert_eq!(
        owner(&setup, "inbox_messages", "owner_id", setup.moving[4]),
        setup.desk
    );
    assert_eq!(
        owner(&setup, "inbox_messages", "forwarded_from", setup.moving[4]),
        setup.leaver
    );
    let snoozed = setup.clinic.db.text(
        "SELECT snoozed_until FROM inbox_messages WHERE id = ?1",
        &[setup.moving[4].into()],
    );
    assert_eq!(snoozed.as_deref(), Some(FUTURE), "snooze is kept");
    assert_eq!(
        owner(&setup, "appointments", "practitioner_id", setup.past),
        setup.leaver,
        "the past stays"
    );
    assert_eq!(
        owner(&setup, "inbox_messages", "owner_id", setup.archived),
        setup.leaver
    );
    let deactivated_by = setup.clinic.db.text(
        "SELECT b.username FROM users u JOIN users b ON b.id = u.deactivated_by WHERE u.id = ?1",
        &[setup.leaver.into()],
    );
    assert_eq!(deactivated_by.as_deref(), Some("admin"));
    let verify = run(setup.clinic.handover().args(["audit", "verify"]));
    assert_eq!(verify.code, 0, "{}", verify.stderr);
}

on_both_backends!(rerunning_resumes_nothing_and_reports_done);
fn rerunning_resumes_nothing_and_reports_done(backend: Backend) {
    let setup = setup(backend);
    assert_eq!(setup.clinic.apply(&["plan.yaml"]).code, 0);
    let dump = setup.clinic.emr_dump();
    let again = setup.clinic.apply(&["plan.yaml"]);
    assert_eq!(again.code, 0);
    assert_eq!(again.stdout, "leaver  done\n1 plan: 1 done\n");
    assert_eq!(setup.clinic.emr_dump(), dump);
}

on_both_backends!(a_wrong_password_or_unknown_operator_is_denied_alike);
fn a_wrong_password_or_unknown_operator_is_denied_alike(backend: Backend) {
    let setup = setup(backend);
    let dump = setup.clinic.dump();
    let wrong = run(setup
        .clinic
        .handover()
        .args(["apply", "plan.yaml", "--operator", "admin", "--yes"])
        .env("HANDOVER_PASSWORD", "guess"));
    let unknown = run(setup
        .clinic
        .handover()
        .args(["apply", "plan.yaml", "--operator", "nobody", "--yes"])
        .env("HANDOVER_PASSWORD", "admin-password"));
    assert_eq!((wrong.code, unknown.code), (5, 5));
    assert_eq!(
        wrong.stderr, unknown.stderr,
        "the message does not tell which was wrong"
    );
    assert_eq!(
        wrong.stderr,
        "error: denied: operator name or password is wrong\n"
    );
    assert_eq!(setup.clinic.dump(), dump);
}

on_both_backends!(the_password_can_come_from_a_file);
fn the_password_can_come_from_a_file(backend: Backend) {
    let setup = setup(backend);
    std::fs::write(setup.clinic.path().join("pw"), "admin-password\n").unwrap();
    let result = run(setup.clinic.handover().args([
        "apply",
        "plan.yaml",
        "--operator",
        "admin",
        "--yes",
        "--password-file",
        "pw",
    ]));
    assert_eq!(result.code, 0, "{}", result.stderr);
}

on_both_backends!(an_operator_without_permission_is_denied);
fn an_operator_without_permission_is_denied(backend: Backend) {
    let setup = setup(backend);
    let dump = setup.clinic.dump();
    let result = run(setup
        .clinic
        .handover()
        .args(["apply", "plan.yaml", "--operator", "clerk", "--yes"])
        .env("HANDOVER_PASSWORD", "clerk-password"));
    assert_eq!(result.code, 5);
    assert!(
        result.stderr.contains("lacks `edit_other_users`"),
        "{}",
        result.stderr
    );
    assert_eq!(setup.clinic.dump(), dump);
}

on_both_backends!(nobody_deactivates_themselves);
fn nobody_deactivates_themselves(backend: Backend) {
    let setup = setup(backend);
    setup.clinic.password(setup.leaver, "leaver-password");
    setup.clinic.grant(setup.leaver, "edit_other_users");
    let dump = setup.clinic.emr_dump();
    let result = run(setup
        .clinic
        .handover()
        .args(["apply", "plan.yaml", "--operator", "leaver", "--yes"])
        .env("HANDOVER_PASSWORD", "leaver-password"));
    assert_eq!(result.code, 3);
    assert!(
        result.stdout.contains("blockers: operator-is-user"),
        "{}",
        result.stdout
    );
    assert_eq!(setup.clinic.emr_dump(), dump);
}

on_both_backends!(without_a_terminal_yes_is_required);
fn without_a_terminal_yes_is_required(backend: Backend) {
    let setup = setup(backend);
    let result = run(setup
        .clinic
        .handover()
        .args(["apply", "plan.yaml", "--operator", "admin"])
        .env("HANDOVER_PASSWORD", "admin-password"));
    assert_eq!(result.code, 2);
    assert!(
        result.stderr.contains("hint: pass `--yes`"),
        "{}",
        result.stderr
    );
}

on_both_backends!(a_stale_review_is_refused);
fn a_stale_review_is_refused(backend: Backend) {
    let setup = setup(backend);
    let saved = run(setup
        .clinic
        .handover()
        .args(["plan", "plan.yaml", "--out", "review.json"]));
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    setup
        .clinic
        .message(setup.leaver, "Arrived after the review", false, false);
    let dump = setup.clinic.emr_dump();
    let result = setup
        .clinic
        .apply(&["plan.yaml", "--reviewed", "review.json"]);
    assert_eq!(result.code, 3);
    assert!(
        result.stdout.contains("blockers: review-stale"),
        "{}",
        result.stdout
    );
    assert_eq!(setup.clinic.emr_dump(), dump);
}

on_both_backends!(only_reviewed_plans_run);
fn only_reviewed_plans_run(backend: Backend) {
    let setup = setup(backend);
    setup.clinic.user("other", "practitioner");
    setup.clinic.plan("other.yaml", "version: 1\nuser: other\n");
    let saved = run(setup
        .clinic
        .handover()
        .args(["plan", "other.yaml", "--out", "review.json"]));
    assert_eq!(saved.code, 0);
    let result = setup
        .clinic
        .apply(&["plan.yaml", "other.yaml", "--reviewed", "review.json"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(
        result.stdout.contains("leaver  skipped"),
        "{}",
        result.stdout
    );
    assert!(result.stdout.contains("other  done"), "{}", result.stdout);
}

on_both_backends!(a_batch_goes_on_past_a_blocked_plan_unless_fail_fast);
fn a_batch_goes_on_past_a_blocked_plan_unless_fail_fast(backend: Backend) {
    let setup = setup(backend);
    let batch = format!(
        "version: 1\nplans:\n  - user: ghost\n  - {}",
        PLAN.replace("version: 1\n", "").replace('\n', "\n    ")
    );
    setup.clinic.plan("batch.yaml", &batch);
    let fast = setup.clinic.apply(&["batch.yaml", "--fail-fast"]);
    assert_eq!(fast.code, 3, "{}", fast.stdout);
    assert!(fast.stdout.contains("ghost  blocked"), "{}", fast.stdout);
    assert!(fast.stdout.contains("leaver  skipped"), "{}", fast.stdout);
    let on = setup.clinic.apply(&["batch.yaml"]);
    assert_eq!(on.code, 3);
    assert!(on.stdout.contains("leaver  done"), "{}", on.stdout);
    invariants::leaver_done(&setup.clinic.db, "leaver", NOW);
}

on_both_backends!(reactivation_says_what_stays_and_a_new_departure_starts_afresh);
fn reactivation_says_what_stays_and_a_new_departure_starts_afresh(backend: Backend) {
    let setup = setup(backend);
    assert_eq!(setup.clinic.apply(&["plan.yaml"]).code, 0);
    let result = run(setup
        .clinic
        .handover()
        .args(["reactivate", "leaver", "--operator", "admin"])
        .env("HANDOVER_PASSWORD", "admin-password"));
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(
        result
            .stdout
            .starts_with("reactivated `leaver`\nnot undone: the 7 items"),
        "{}",
        result.stdout
    );
    let active = setup.clinic.db.int(
        "SELECT active FROM users WHERE id = ?1",
        &[setup.leaver.into()],
    );
    assert_eq!(active, 1);
    assert_eq!(
        run(setup.clinic.handover().args(["audit", "verify"])).code,
        0
    );
    let (_, review) = setup.clinic.review(&["plan.yaml"]);
    assert_eq!(
        review["plans"][0]["status"], "ready",
        "the old run no longer counts"
    );
    let wrong = run(setup
        .clinic
        .handover()
        .args(["reactivate", "leaver", "--operator", "admin"])
        .env("HANDOVER_PASSWORD", "nope"));
    assert_eq!(wrong.code, 5);
}

fn tamper(setup: &Setup, sql: &str) -> common::Run {
    assert_eq!(setup.clinic.apply(&["plan.yaml"]).code, 0);
    // Whoever tampers with the trail first lifts the triggers that keep it
    // append-only, each backend's own way.
    let lift = match setup.clinic.backend() {
        Backend::Sqlite => {
            "DROP TRIGGER handover_audit_no_update; DROP TRIGGER handover_audit_no_delete;"
        }
        Backend::Postgres => "ALTER TABLE handover_audit DISABLE TRIGGER USER;",
    };
    setup.clinic.db.batch(&format!("{lift}\n{sql}"));
    run(setup.clinic.handover().args(["audit", "verify"]))
}

on_both_backends!(an_edited_audit_entry_is_found);
fn an_edited_audit_entry_is_found(backend: Backend) {
    let setup = setup(backend);
    let result = tamper(
        &setup,
        "UPDATE handover_audit SET detail = '{}' WHERE seq = 2;",
    );
    assert_eq!(result.code, 1);
    assert!(
        result
            .stderr
            .contains("broken at entry 2: its content was altered"),
        "{}",
        result.stderr
    );
}

on_both_backends!(a_removed_audit_entry_is_found);
fn a_removed_audit_entry_is_found(backend: Backend) {
    let setup = setup(backend);
    let result = tamper(&setup, "DELETE FROM handover_audit WHERE seq = 3;");
    assert_eq!(result.code, 1);
    assert!(
        result.stderr.contains("broken at entry 3"),
        "{}",
        result.stderr
    );
}

on_both_backends!(swapped_audit_entries_are_found);
fn swapped_audit_entries_are_found(backend: Backend) {
    let setup = setup(backend);
    let result = tamper(
        &setup,
        "UPDATE handover_audit SET seq = 100 WHERE seq = 2;
         UPDATE handover_audit SET seq = 2 WHERE seq = 3;
         UPDATE handover_audit SET seq = 3 WHERE seq = 100;",
    );
    assert_eq!(result.code, 1);
    assert!(
        result.stderr.contains("broken at entry 2"),
        "{}",
        result.stderr
    );
}

on_both_backends!(a_trail_cut_at_its_end_is_found);
fn a_trail_cut_at_its_end_is_found(backend: Backend) {
    let setup = setup(backend);
    let result = tamper(
        &setup,
        "DELETE FROM handover_audit WHERE seq = (SELECT max(seq) FROM handover_audit);",
    );
    assert_eq!(result.code, 1);
    assert!(
        result
            .stderr
            .contains("entry for step `billing` of `leaver`'s run is missing"),
        "{}",
        result.stderr
    );
}

on_both_backends!(the_audit_trail_lists_who_moved_what);
fn the_audit_trail_lists_who_moved_what(backend: Backend) {
    let setup = setup(backend);
    assert_eq!(setup.clinic.apply(&["plan.yaml"]).code, 0);
    let listed = run(setup
        .clinic
        .handover()
        .args(["audit", "--user", "leaver", "--format", "json"]));
    assert_eq!(listed.code, 0);
    let json: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let entries = json["entries"].as_array().unwrap();
    let steps: Vec<&str> = entries
        .iter()
        .map(|entry| entry["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "appointments",
            "recurring-qnaires",
            "sent-qnaires",
            "inbox",
            "labs",
            "deactivate",
            "billing"
        ]
    );
    assert_eq!(entries[0]["operator"], "admin");
    assert_eq!(entries[0]["detail"]["to"], "doc");
    assert_eq!(
        entries[0]["detail"]["items"]["appointments"],
        serde_json::json!([setup.moving[0]])
    );
    assert_eq!(entries[0]["fingerprint"].as_str().unwrap().len(), 64);
}

on_both_backends!(each_step_logs_one_structured_event);
fn each_step_logs_one_structured_event(backend: Backend) {
    let setup = setup(backend);
    let result = run(setup
        .clinic
        .handover()
        .args([
            "apply",
            "plan.yaml",
            "--operator",
            "admin",
            "--yes",
            "-v",
            "--log-format",
            "json",
        ])
        .env("HANDOVER_PASSWORD", "admin-password"));
    assert_eq!(result.code, 0, "{}", result.stderr);
    let events: Vec<serde_json::Value> = result
        .stderr
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .filter(|event: &serde_json::Value| event["message"] == "step finished")
        .collect();
    assert_eq!(events.len(), 6, "{}", result.stderr);
    for event in &events {
        assert_eq!(event["plan"], "leaver");
        assert!(
            event["step"].is_string() && event["items"].is_u64() && event["elapsed_ms"].is_u64()
        );
    }
    assert!(
        !result.stderr.contains("Follow-up"),
        "no message subject in logs"
    );
}

on_both_backends!(status_shows_runs_and_steps);
fn status_shows_runs_and_steps(backend: Backend) {
    let setup = setup(backend);
    assert_eq!(setup.clinic.apply(&["plan.yaml"]).code, 0);
    let status = run(setup.clinic.handover().args(["status", "--format", "json"]));
    assert_eq!(status.code, 0);
    let json: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(json["runs"][0]["user"], "leaver");
    assert_eq!(json["runs"][0]["status"], "done");
    assert_eq!(json["runs"][0]["steps"].as_array().unwrap().len(), 7);
    assert_eq!(json["counts"]["done"], 1);
}
