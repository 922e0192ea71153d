//! The review (`handover plan`) against small clinics built for each case:
//! every blocker and warning code, combinations, a mixed batch, the report
//! formats, privacy, and proof that a review changes nothing.

mod common;

use common::clinic::{Clinic, FUTURE, PAST, codes};
use common::{Backend, on_both_backends, run};

const READY: &str = "version: 1\nuser: leaver\ndefault_to: doc\n\
                     inbox: { forward_to: desk }\nlabs: { transfer_to: doc }\n";

/// A clinic where `leaver` holds one item of every kind and `READY` is ready.
struct Setup {
    clinic: Clinic,
    leaver: i64,
    doc: i64,
    desk: i64,
}

fn setup(backend: Backend) -> Setup {
    let clinic = Clinic::new(backend);
    let leaver = clinic.user("leaver", "practitioner");
    let doc = clinic.user("doc", "practitioner");
    let desk = clinic.user("desk", "staff");
    let admin = clinic.user("admin", "staff");
    clinic.grant(admin, "edit_other_users");
    clinic.user("clerk", "staff");
    let appointment = clinic.appointment(leaver, FUTURE, "booked");
    clinic.qnaire(leaver, "appointment", Some(appointment), "sent");
    clinic.qnaire(leaver, "recurring", None, "scheduled");
    clinic.qnaire(leaver, "sent", None, "sent");
    clinic.message(leaver, "Follow-up", true, false);
    clinic.lab("North Labs", leaver, false);
    clinic.billing_link(leaver, "mdbilling");
    clinic.configure_billing();
    Setup {
        clinic,
        leaver,
        doc,
        desk,
    }
}

/// Reviews one plan and returns its blocker and warning codes.
fn review_codes(setup: &Setup, plan: &str, args: &[&str]) -> (i32, Vec<String>, Vec<String>) {
    let path = setup.clinic.plan("plan.yaml", plan);
    let mut all = vec![path.to_str().unwrap()];
    all.extend_from_slice(args);
    let (result, json) = setup.clinic.review(&all);
    let plan = &json["plans"][0];
    (
        result.code,
        codes(plan, "blockers"),
        codes(plan, "warnings"),
    )
}

fn blockers(setup: &Setup, plan: &str) -> Vec<String> {
    review_codes(setup, plan, &["--operator", "admin"]).1
}

on_both_backends!(a_complete_plan_is_ready);
fn a_complete_plan_is_ready(backend: Backend) {
    let setup = setup(backend);
    let (code, blockers, warnings) = review_codes(&setup, READY, &["--operator", "admin"]);
    assert_eq!(code, 0);
    assert!(blockers.is_empty(), "{blockers:?}");
    assert_eq!(warnings, ["billing-disconnect"]);
}

on_both_backends!(user_not_found);
fn user_not_found(backend: Backend) {
    let setup = setup(backend);
    assert_eq!(
        blockers(&setup, &READY.replace("user: leaver", "user: ghost")),
        ["user-not-found"]
    );
}

on_both_backends!(user_inactive);
fn user_inactive(backend: Backend) {
    let setup = setup(backend);
    setup.clinic.deactivate(setup.leaver);
    assert_eq!(blockers(&setup, READY), ["user-inactive"]);
}

on_both_backends!(target_not_found);
fn target_not_found(backend: Backend) {
    let setup = setup(backend);
    assert_eq!(
        blockers(
            &setup,
            &READY.replace("forward_to: desk", "forward_to: nobody")
        ),
        ["target-not-found"]
    );
}

on_both_backends!(target_inactive);
fn target_inactive(backend: Backend) {
    let setup = setup(backend);
    setup.clinic.deactivate(setup.desk);
    assert_eq!(blockers(&setup, READY), ["target-inactive"]);
}

on_both_backends!(target_is_user);
fn target_is_user(backend: Backend) {
    let setup = setup(backend);
    assert_eq!(
        blockers(
            &setup,
            &READY.replace("forward_to: desk", "forward_to: leaver")
        ),
        ["target-is-user"]
    );
}

on_both_backends!(target_leaving_in_the_same_batch);
fn target_leaving_in_the_same_batch(backend: Backend) {
    let setup = setup(backend);
    let batch = "version: 1\nplans:\n  - user: leaver\n    default_to: doc\n    inbox: { forward_to: desk }\n\
                 \x20   labs: { transfer_to: doc }\n  - user: doc\n    default_to: clerk\n";
    let (_, _, _) = review_codes(&setup, batch, &[]);
    let (_, json) = setup.clinic.review(&["plan.yaml", "--operator", "admin"]);
    let codes = codes(&json["plans"][0], "blockers");
    assert_eq!(codes, ["target-leaving"]);
    let message = json["plans"][0]["blockers"][0]["message"].as_str().unwrap();
    assert_eq!(
        message,
        "`appointments`, `recurring_qnaires`, `sent_qnaires`, `labs` would go to `doc`, who is leaving in the same batch"
    );
}

on_both_backends!(target_leaving_with_an_unfinished_run);
fn target_leaving_with_an_unfinished_run(backend: Backend) {
    let setup = setup(backend);
    setup.clinic.run_record("doc", "0123", "running", false);
    assert_eq!(blockers(&setup, READY), ["target-leaving"]);
}

on_both_backends!(target_not_practitioner);
fn target_not_practitioner(backend: Backend) {
    let setup = setup(backend);
    let plan = READY.replace(
        "default_to: doc",
        "default_to: doc\nappointments: { move_to: desk }",
    );
    assert_eq!(blockers(&setup, &plan), ["target-not-practitioner"]);
}

on_both_backends!(each_unassigned_category_blocks);
fn each_unassigned_category_blocks(backend: Backend) {
    let setup = setup(backend);
    let plan = "version: 1\nuser: leaver\n";
    assert_eq!(
        blockers(&setup, plan),
        [
            "appointments-unassigned",
            "recurring-qnaires-unassigned",
            "sent-qnaires-unassigned",
            "inbox-unforwarded",
            "lab-unassigned"
        ]
    );
}

on_both_backends!(an_empty_category_needs_no_assignment);
fn an_empty_category_needs_no_assignment(backend: Backend) {
    let setup = setup(backend);
    let other = setup.clinic.user("newcomer", "practitioner");
    let _ = other;
    let plan = "version: 1\nuser: newcomer\n";
    assert!(blockers(&setup, plan).is_empty());
}

on_both_backends!(main_lab_needs_support);
fn main_lab_needs_support(backend: Backend) {
    let setup = setup(backend);
    setup.clinic.lab("Main Labs", setup.leaver, true);
    assert_eq!(blockers(&setup, READY), ["main-lab-needs-support"]);
    let with_ticket = READY.replace(
        "transfer_to: doc }",
        "transfer_to: doc, support_ticket: SR-1 }",
    );
    assert!(blockers(&setup, &with_ticket).is_empty());
}

on_both_backends!(pending_claims);
fn pending_claims(backend: Backend) {
    let setup = setup(backend);
    setup.clinic.claim(setup.leaver, "ready");
    setup.clinic.claim(setup.leaver, "paid");
    assert_eq!(blockers(&setup, READY), ["pending-claims"]);
    let allowed = format!("{READY}billing: {{ allow_pending_claims: true }}\n");
    assert!(blockers(&setup, &allowed).is_empty());
}

on_both_backends!(billing_endpoint_missing);
fn billing_endpoint_missing(backend: Backend) {
    let setup = setup(backend);
    std::fs::remove_file(setup.clinic.path().join("handover.toml")).unwrap();
    assert_eq!(blockers(&setup, READY), ["billing-endpoint-missing"]);
}

on_both_backends!(operator_lacks_permission);
fn operator_lacks_permission(backend: Backend) {
    let setup = setup(backend);
    let (_, found, _) = review_codes(&setup, READY, &["--operator", "clerk"]);
    assert_eq!(found, ["operator-lacks-permission"]);
    let (_, found, _) = review_codes(&setup, READY, &["--operator", "nobody"]);
    assert_eq!(found, ["operator-lacks-permission"]);
}

on_both_backends!(operator_is_user);
fn operator_is_user(backend: Backend) {
    let setup = setup(backend);
    setup.clinic.grant(setup.leaver, "edit_other_users");
    let (_, found, _) = review_codes(&setup, READY, &["--operator", "leaver"]);
    assert_eq!(found, ["operator-is-user"]);
}

on_both_backends!(duplicate_user);
fn duplicate_user(backend: Backend) {
    let setup = setup(backend);
    setup.clinic.plan("again.yaml", READY);
    setup.clinic.plan("plan.yaml", READY);
    let (result, json) = setup
        .clinic
        .review(&["plan.yaml", "again.yaml", "--operator", "admin"]);
    assert_eq!(result.code, 3);
    assert_eq!(codes(&json["plans"][0], "blockers"), ["duplicate-user"]);
    assert_eq!(codes(&json["plans"][1], "blockers"), ["duplicate-user"]);
}

on_both_backends!(plan_changed);
fn plan_changed(backend: Backend) {
    let setup = setup(backend);
    setup
        .clinic
        .run_record("leaver", "an-older-fingerprint", "running", false);
    assert_eq!(blockers(&setup, READY), ["plan-changed"]);
}

on_both_backends!(warnings_of_cancelling_and_discarding);
fn warnings_of_cancelling_and_discarding(backend: Backend) {
    let setup = setup(backend);
    let plan = "version: 1\nuser: leaver\nappointments: { cancel: true }\n\
                recurring_qnaires: { cancel: true }\nsent_qnaires: { cancel: true }\n\
                inbox: { discard: true }\nlabs: { transfer_to: doc }\n";
    let (code, found, warnings) = review_codes(&setup, plan, &[]);
    assert_eq!(code, 0, "{found:?}");
    assert_eq!(
        warnings,
        [
            "appointments-cancelled",
            "qnaires-removed",
            "inbox-discarded",
            "billing-disconnect",
            "operator-unknown"
        ]
    );
}

on_both_backends!(schedule_overlap_counts_collisions_and_names_the_first);
fn schedule_overlap_counts_collisions_and_names_the_first(backend: Backend) {
    let setup = setup(backend);
    setup
        .clinic
        .appointment(setup.doc, "2026-12-10T10:15:00Z", "booked");
    setup
        .clinic
        .appointment(setup.doc, "2026-12-10T11:00:00Z", "booked");
    setup
        .clinic
        .appointment(setup.doc, "2026-12-10T10:00:00Z", "cancelled");
    let path = setup.clinic.plan("plan.yaml", READY);
    let (_, json) = setup.clinic.review(&[path.to_str().unwrap()]);
    let warnings = &json["plans"][0]["warnings"];
    assert_eq!(warnings[0]["code"], "schedule-overlap");
    let message = warnings[0]["message"].as_str().unwrap();
    assert!(message.starts_with("1 moved appointment"), "{message}");
    assert!(message.contains("2026-12-10T10:00:00Z"), "{message}");
}

on_both_backends!(several_blockers_are_all_reported);
fn several_blockers_are_all_reported(backend: Backend) {
    let setup = setup(backend);
    setup.clinic.lab("Main Labs", setup.leaver, true);
    setup.clinic.claim(setup.leaver, "draft");
    setup.clinic.deactivate(setup.doc);
    let plan = "version: 1\nuser: leaver\ndefault_to: doc\n";
    let (code, found, _) = review_codes(&setup, plan, &["--operator", "clerk"]);
    assert_eq!(code, 3);
    assert_eq!(
        found,
        [
            "target-inactive",
            "main-lab-needs-support",
            "pending-claims",
            "operator-lacks-permission"
        ]
    );
}

on_both_backends!(a_batch_mixes_ready_blocked_done_and_not_due);
fn a_batch_mixes_ready_blocked_done_and_not_due(backend: Backend) {
    let setup = setup(backend);
    let gone = setup.clinic.user("gone", "practitioner");
    setup.clinic.user("later", "practitioner");
    let batch = "version: 1\ndefaults: { default_to: doc, inbox: { forward_to: desk } }\nplans:\n\
                 \x20 - user: leaver\n    labs: { transfer_to: doc }\n\
                 \x20 - user: gone\n  - user: later\n    not_before: 2027-03-01\n  - user: ghost\n";
    setup.clinic.plan("batch.yaml", batch);
    let (_, first) = setup.clinic.review(&["batch.yaml"]);
    let gone_fingerprint = first["plans"][1]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    setup
        .clinic
        .run_record("gone", &gone_fingerprint, "done", true);
    setup.clinic.deactivate(gone);
    let (result, json) = setup.clinic.review(&["batch.yaml", "--operator", "admin"]);
    assert_eq!(result.code, 3);
    let statuses: Vec<&str> = json["plans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|plan| plan["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["ready", "done", "not-due", "blocked"]);
    let summary = &json["summary"];
    assert_eq!(
        (
            summary["plans"].as_u64(),
            summary["ready"].as_u64(),
            summary["done"].as_u64()
        ),
        (Some(4), Some(1), Some(1))
    );
    assert_eq!(
        (summary["not_due"].as_u64(), summary["blocked"].as_u64()),
        (Some(1), Some(1))
    );
}

on_both_backends!(an_in_progress_run_is_reported_as_such);
fn an_in_progress_run_is_reported_as_such(backend: Backend) {
    let setup = setup(backend);
    let path = setup.clinic.plan("plan.yaml", READY);
    let (_, first) = setup.clinic.review(&[path.to_str().unwrap()]);
    let fingerprint = first["plans"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    setup
        .clinic
        .run_record("leaver", &fingerprint, "running", false);
    setup.clinic.deactivate(setup.leaver);
    let (result, json) = setup.clinic.review(&[path.to_str().unwrap()]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(json["plans"][0]["status"], "in-progress");
    assert!(codes(&json["plans"][0], "blockers").is_empty());
}

on_both_backends!(the_json_review_has_every_documented_field);
fn the_json_review_has_every_documented_field(backend: Backend) {
    let setup = setup(backend);
    let path = setup.clinic.plan("plan.yaml", READY);
    let (result, json) = setup
        .clinic
        .review(&[path.to_str().unwrap(), "--operator", "admin"]);
    assert_eq!(result.code, 0);
    assert_eq!(json["format"], 1);
    assert_eq!(json["generated_at"], common::NOW);
    assert_eq!(json["operator"], "admin");
    assert_eq!(json["database"], setup.clinic.url().as_str());
    let plan = &json["plans"][0];
    assert_eq!(plan["user"], "leaver");
    assert_eq!(plan["status"], "ready");
    assert_eq!(plan["line"], 2);
    assert_eq!(plan["fingerprint"].as_str().unwrap().len(), 64);
    assert_eq!(plan["items_digest"].as_str().unwrap().len(), 64);
    assert_eq!(plan["not_before"], serde_json::Value::Null);
    assert_eq!(plan["blockers"], serde_json::json!([]));
    assert_eq!(plan["warnings"][0]["code"], "billing-disconnect");
    let changes = &plan["changes"];
    let expect = [
        ("appointments", 1, "move", Some("doc")),
        ("appointment_qnaires", 1, "move", Some("doc")),
        ("recurring_qnaires", 1, "move", Some("doc")),
        ("sent_qnaires", 1, "move", Some("doc")),
        ("inbox_messages", 1, "forward", Some("desk")),
        ("lab_integrations", 1, "transfer", Some("doc")),
        ("billing_links", 1, "disconnect", None),
    ];
    assert_eq!(changes.as_object().unwrap().len(), expect.len());
    for (key, count, action, to) in expect {
        let change = &changes[key];
        assert_eq!(change["count"], count, "{key}");
        assert_eq!(change["action"], action, "{key}");
        assert_eq!(change["to"].as_str(), to, "{key}");
    }
    assert_eq!(changes["inbox_messages"]["snoozed"], 1);
    assert_eq!(
        changes["billing_links"]["systems"],
        serde_json::json!(["mdbilling"])
    );
    let summary = &json["summary"];
    assert_eq!(
        summary,
        &serde_json::json!({
            "plans": 1, "ready": 1, "blocked": 0, "done": 0, "not_due": 0, "in_progress": 0
        })
    );
}

on_both_backends!(the_main_lab_is_named_in_the_changes);
fn the_main_lab_is_named_in_the_changes(backend: Backend) {
    let setup = setup(backend);
    setup.clinic.lab("Main Labs", setup.leaver, true);
    let plan = READY.replace(
        "transfer_to: doc }",
        "transfer_to: doc, support_ticket: SR-9 }",
    );
    let path = setup.clinic.plan("plan.yaml", &plan);
    let (_, json) = setup.clinic.review(&[path.to_str().unwrap()]);
    assert_eq!(
        json["plans"][0]["changes"]["lab_integrations"]["main"],
        "Main Labs"
    );
    assert_eq!(json["plans"][0]["changes"]["lab_integrations"]["count"], 2);
}

on_both_backends!(text_and_markdown_reports_read_well);
fn text_and_markdown_reports_read_well(backend: Backend) {
    let setup = setup(backend);
    setup.clinic.claim(setup.leaver, "draft");
    setup.clinic.plan("plan.yaml", READY);
    setup.clinic.plan(
        "cancel.yaml",
        "version: 1\nuser: doc\nappointments: { cancel: true }\n",
    );
    let text = run(setup
        .clinic
        .handover()
        .args(["plan", "plan.yaml", "cancel.yaml"]));
    assert_eq!(text.code, 3);
    insta::assert_snapshot!("review_text", setup.clinic.redact(&text.stdout));
    let markdown = run(setup.clinic.handover().args([
        "plan",
        "plan.yaml",
        "cancel.yaml",
        "--format",
        "markdown",
    ]));
    assert_eq!(markdown.code, 3);
    insta::assert_snapshot!("review_markdown", setup.clinic.redact(&markdown.stdout));
}

on_both_backends!(colour_only_on_request);
fn colour_only_on_request(backend: Backend) {
    let setup = setup(backend);
    setup.clinic.plan("plan.yaml", READY);
    let piped = run(setup
        .clinic
        .handover()
        .args(["plan", "plan.yaml"])
        .env_remove("NO_COLOR"));
    assert!(!piped.stdout.contains('\u{1b}'), "no colour when piped");
}

on_both_backends!(the_saved_review_holds_fingerprints_and_digests);
fn the_saved_review_holds_fingerprints_and_digests(backend: Backend) {
    let setup = setup(backend);
    setup.clinic.plan("plan.yaml", READY);
    let result = run(setup
        .clinic
        .handover()
        .args(["plan", "plan.yaml", "--out", "review.json"]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    let saved: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(setup.clinic.path().join("review.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(saved["plans"][0]["user"], "leaver");
    assert_eq!(saved["plans"][0]["fingerprint"].as_str().unwrap().len(), 64);
    let digest = saved["plans"][0]["items_digest"]
        .as_str()
        .unwrap()
        .to_string();
    setup.clinic.message(setup.leaver, "Another", false, false);
    run(setup
        .clinic
        .handover()
        .args(["plan", "plan.yaml", "--out", "review.json"]));
    let again: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(setup.clinic.path().join("review.json")).unwrap(),
    )
    .unwrap();
    assert_ne!(
        again["plans"][0]["items_digest"].as_str().unwrap(),
        digest,
        "a new item changes the digest"
    );
}

/// SQLite only: it holds SQLite's file write lock. PostgreSQL's review runs
/// in read-only sessions, proved in `tests/postgres.rs`.
#[test]
fn a_review_changes_nothing_and_opens_no_write_transaction() {
    let setup = setup(Backend::Sqlite);
    setup.clinic.plan("plan.yaml", READY);
    let before = setup.clinic.dump();
    // Hold the write lock for the whole review: a review that tried to write
    // would time out and fail.
    setup
        .clinic
        .db
        .sqlite()
        .execute_batch("BEGIN IMMEDIATE")
        .unwrap();
    let result = run(setup
        .clinic
        .handover()
        .args(["plan", "plan.yaml", "--operator", "admin"])
        .env("HANDOVER_BUSY_TIMEOUT_MS", "200"));
    setup.clinic.db.sqlite().execute_batch("COMMIT").unwrap();
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(setup.clinic.dump(), before);
}

on_both_backends!(invalid_plans_exit_2_and_a_missing_database_exits_1);
fn invalid_plans_exit_2_and_a_missing_database_exits_1(backend: Backend) {
    let setup = setup(backend);
    setup
        .clinic
        .plan("bad.yaml", "version: 1\nuser: leaver\ninbx: {}\n");
    let result = run(setup.clinic.handover().args(["plan", "bad.yaml"]));
    assert_eq!(result.code, 2);
    assert!(result.stderr.contains("did you mean `inbox`?"));
    setup.clinic.plan("plan.yaml", READY);
    let missing = match backend {
        Backend::Sqlite => "missing.db".to_string(),
        Backend::Postgres => format!("{}_missing", setup.clinic.url()),
    };
    let result = run(setup
        .clinic
        .handover()
        .args(["plan", "plan.yaml", "--db", &missing]));
    assert_eq!(result.code, 1);
    assert!(result.stderr.starts_with("error: "), "{}", result.stderr);
}

on_both_backends!(no_patient_data_in_any_output_or_log);
fn no_patient_data_in_any_output_or_log(backend: Backend) {
    let setup = setup(backend);
    let secret_subject = "Biopsy result for Jane Q. Patient";
    setup
        .clinic
        .message(setup.leaver, secret_subject, false, false);
    setup
        .clinic
        .message(setup.leaver, secret_subject, true, false);
    setup.clinic.plan("plan.yaml", READY);
    let patient = "900001";
    for format in ["text", "json", "markdown"] {
        let result = run(setup
            .clinic
            .handover()
            .args([
                "plan",
                "plan.yaml",
                "--format",
                format,
                "-vvv",
                "--out",
                "saved.json",
            ])
            .env("RUST_LOG", "trace"));
        let saved = std::fs::read_to_string(setup.clinic.path().join("saved.json")).unwrap();
        for output in [&result.stdout, &result.stderr, &saved] {
            assert!(!output.contains("Biopsy"), "{format}: subject leaked");
            assert!(!output.contains(patient), "{format}: patient id leaked");
        }
        assert!(
            !result.stderr.is_empty() || format != "text",
            "trace logs were produced"
        );
    }
    let _ = PAST;
}

on_both_backends!(a_long_booking_that_began_earlier_still_collides);
fn a_long_booking_that_began_earlier_still_collides(backend: Backend) {
    let setup = setup(backend);
    setup.clinic.db.execute(
        "INSERT INTO appointments (practitioner_id, patient_id, starts_at, ends_at, status)
         VALUES (?1, 1, '2026-12-10T06:00:00Z', '2026-12-10T10:10:00Z', 'booked')",
        &[setup.doc.into()],
    );
    setup
        .clinic
        .appointment(setup.doc, "2026-12-10T09:00:00Z", "booked");
    let path = setup.clinic.plan("plan.yaml", READY);
    let (_, json) = setup.clinic.review(&[path.to_str().unwrap()]);
    let warning = &json["plans"][0]["warnings"][0];
    assert_eq!(warning["code"], "schedule-overlap");
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .starts_with("1 moved appointment")
    );
}
