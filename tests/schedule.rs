//! Dated plans and scheduled runs: `not_before` in the clinic's time zone,
//! a clock tests can set (`HANDOVER_NOW`), and a cron-like loop of
//! `apply -q` over a directory that grows, where each plan is applied
//! exactly once and an idle run prints nothing.

mod common;

use common::clinic::{Clinic, FUTURE};
use common::{Backend, on_both_backends, run};

fn clinic_with_leavers(backend: Backend, names: &[&str]) -> Clinic {
    let clinic = Clinic::new(backend);
    clinic.operator("admin", "admin-password");
    clinic.user("doc", "practitioner");
    for name in names {
        let id = clinic.user(name, "practitioner");
        clinic.appointment(id, FUTURE, "booked");
    }
    clinic
}

fn plan(name: &str, not_before: Option<&str>) -> String {
    let date = not_before
        .map(|date| format!("not_before: {date}\n"))
        .unwrap_or_default();
    format!("version: 1\nuser: {name}\ndefault_to: doc\n{date}")
}

/// `apply -q` at a given instant, as cron would run it.
fn cron_run(clinic: &Clinic, now: &str, path: &str) -> common::Run {
    run(clinic
        .handover()
        .args(["apply", path, "--operator", "admin", "--yes", "-q"])
        .env("HANDOVER_PASSWORD", "admin-password")
        .env("HANDOVER_NOW", now))
}

fn active(clinic: &Clinic, name: &str) -> bool {
    clinic.db.int(
        "SELECT active FROM users WHERE username = ?1",
        &[name.into()],
    ) == 1
}

on_both_backends!(a_dated_plan_waits_and_is_taken_by_the_first_run_on_or_after_its_date);
fn a_dated_plan_waits_and_is_taken_by_the_first_run_on_or_after_its_date(backend: Backend) {
    let clinic = clinic_with_leavers(backend, &["leaver"]);
    std::fs::write(
        clinic.path().join("handover.toml"),
        "[clinic]\ntime_zone = \"UTC\"\n",
    )
    .unwrap();
    clinic.plan("plan.yaml", &plan("leaver", Some("2026-12-05")));
    for day in ["2026-12-03T06:00:00Z", "2026-12-04T23:59:00Z"] {
        let result = cron_run(&clinic, day, "plan.yaml");
        assert_eq!(
            (result.code, result.stdout.as_str()),
            (0, ""),
            "{day}: {}",
            result.stderr
        );
        assert!(active(&clinic, "leaver"), "{day}: not yet");
    }
    // The run of the 5th was missed; the 6th picks the plan up.
    let result = cron_run(&clinic, "2026-12-06T06:00:00Z", "plan.yaml");
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(
        result.stdout.starts_with("leaver  done"),
        "{}",
        result.stdout
    );
    assert!(!active(&clinic, "leaver"));
    let result = cron_run(&clinic, "2026-12-07T06:00:00Z", "plan.yaml");
    assert_eq!((result.code, result.stdout.as_str()), (0, ""));
}

on_both_backends!(not_before_is_a_date_in_the_clinics_time_zone);
fn not_before_is_a_date_in_the_clinics_time_zone(backend: Backend) {
    let clinic = clinic_with_leavers(backend, &["leaver"]);
    std::fs::write(
        clinic.path().join("handover.toml"),
        "[clinic]\ntime_zone = \"America/Toronto\"\n",
    )
    .unwrap();
    clinic.plan("plan.yaml", &plan("leaver", Some("2026-12-05")));
    // 03:00 UTC on the 5th is still the 4th in Toronto.
    let early = cron_run(&clinic, "2026-12-05T03:00:00Z", "plan.yaml");
    assert_eq!(
        (early.code, early.stdout.as_str()),
        (0, ""),
        "{}",
        early.stderr
    );
    assert!(active(&clinic, "leaver"));
    let due = cron_run(&clinic, "2026-12-05T06:00:00Z", "plan.yaml");
    assert_eq!(due.code, 0, "{}", due.stderr);
    assert!(!active(&clinic, "leaver"));
}

on_both_backends!(an_unknown_time_zone_is_invalid_configuration);
fn an_unknown_time_zone_is_invalid_configuration(backend: Backend) {
    let clinic = clinic_with_leavers(backend, &["leaver"]);
    std::fs::write(
        clinic.path().join("handover.toml"),
        "[clinic]\ntime_zone = \"Mars/Olympus\"\n",
    )
    .unwrap();
    clinic.plan("plan.yaml", &plan("leaver", None));
    let result = cron_run(&clinic, common::NOW, "plan.yaml");
    assert_eq!(result.code, 2);
    assert!(
        result.stderr.contains("`clinic.time_zone`"),
        "{}",
        result.stderr
    );
}

on_both_backends!(a_cron_loop_applies_each_plan_exactly_once_and_is_silent_when_idle);
fn a_cron_loop_applies_each_plan_exactly_once_and_is_silent_when_idle(backend: Backend) {
    let names = ["ann", "bob", "cy", "dee"];
    let clinic = clinic_with_leavers(backend, &names);
    std::fs::write(
        clinic.path().join("handover.toml"),
        "[clinic]\ntime_zone = \"UTC\"\n",
    )
    .unwrap();
    let plans = clinic.path().join("plans");
    std::fs::create_dir(&plans).unwrap();
    std::fs::write(plans.join("00-later.yaml"), plan("dee", Some("2027-06-01"))).unwrap();
    let mut added = 0;
    for minute in 0..10 {
        let now = format!("2026-12-01T09:{minute:02}:00Z");
        let new = minute % 2 == 0 && added < 3;
        if new {
            let name = names[added];
            std::fs::write(plans.join(format!("{name}.yaml")), plan(name, None)).unwrap();
            added += 1;
        }
        let result = cron_run(&clinic, &now, "plans");
        assert_eq!(result.code, 0, "{now}: {}", result.stderr);
        assert_eq!(result.stderr, "", "{now}");
        if new {
            let name = names[added - 1];
            assert!(
                result.stdout.contains(&format!("{name}  done")),
                "{now}: {}",
                result.stdout
            );
        } else {
            assert_eq!(result.stdout, "", "{now}: an idle run prints nothing");
        }
    }
    for name in &names[..3] {
        let runs = clinic.db.int(
            "SELECT count(*) FROM handover_runs WHERE username = ?1",
            &[(*name).into()],
        );
        let entries = clinic.db.int(
            "SELECT count(*) FROM handover_audit WHERE username = ?1",
            &[(*name).into()],
        );
        assert_eq!((runs, entries), (1, 7), "`{name}` applied exactly once");
    }
    assert!(active(&clinic, "dee"), "not due yet");
    let status =
        run(clinic
            .handover()
            .args(["status", "--since", "2026-12-01", "--format", "json"]));
    let json: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(json["counts"]["done"], 3);
    assert_eq!(json["failures"], serde_json::json!([]));
    let later =
        run(clinic
            .handover()
            .args(["status", "--since", "2026-12-02", "--format", "json"]));
    let json: serde_json::Value = serde_json::from_str(&later.stdout).unwrap();
    assert_eq!(
        json["runs"],
        serde_json::json!([]),
        "runs before the date are left out"
    );
}
