//! `handover demo`: the whole story on a sample clinic in a fresh SQLite
//! file, with no server and no network. It builds the clinic, has support
//! review the example plans (one of them blocked, to show how a blocker
//! reads), applies the ready ones as `admin`, and shows the result.

use std::path::{Path, PathBuf};

use crate::Exit;
use crate::cli::{DbCommand, GlobalArgs, SeedArgs};
use crate::commands::{apply, audit, db, plan, status, users};
use crate::output::Printer;

/// The example plans of `jobs/`, built in so the demo runs from anywhere.
const EXAMPLES: [(&str, &str); 5] = [
    ("01-jsmith.yaml", include_str!("../../jobs/01-jsmith.yaml")),
    (
        "02-batch-end-of-term.yaml",
        include_str!("../../jobs/02-batch-end-of-term.yaml"),
    ),
    (
        "03-rnguyen-cancel.yaml",
        include_str!("../../jobs/03-rnguyen-cancel.yaml"),
    ),
    (
        "04-mlopez-main-lab.yaml",
        include_str!("../../jobs/04-mlopez-main-lab.yaml"),
    ),
    (
        "05-kwong-scheduled.yaml",
        include_str!("../../jobs/05-kwong-scheduled.yaml"),
    ),
];

/// The sample operator's password, written to a file the demo passes on.
const DEMO_PASSWORD: &str = "demo-only-password";

pub fn run(printer: &Printer, global: &GlobalArgs, dir: Option<&Path>) -> Exit {
    match demo(printer, global, dir) {
        Ok(()) => Exit::Success,
        Err(exit) => exit,
    }
}

fn demo(printer: &Printer, global: &GlobalArgs, dir: Option<&Path>) -> Result<(), Exit> {
    let dir = prepare(dir)?;
    let mut global = global.clone();
    global.db = dir.join("clinic.db").display().to_string();
    let jobs = vec![dir.join("jobs")];
    let password_file = dir.join("operator-password");
    let review_file = dir.join("review.json");

    heading(printer, &format!("1. a sample clinic in `{}`", global.db));
    expect(db::run(printer, &global, DbCommand::Init), &[Exit::Success])?;
    expect(
        db::run(printer, &global, DbCommand::Seed(seed_args())),
        &[Exit::Success],
    )?;

    heading(
        printer,
        "2. support reviews the plans (a dry run: nothing changes)",
    );
    let review = plan::Request {
        paths: &jobs,
        operator: Some("admin"),
        out: Some(&review_file),
    };
    expect(
        plan::run(printer, &global, review),
        &[Exit::Success, Exit::Blocked],
    )?;

    heading(
        printer,
        "3. the ready plans are applied as `admin`; blocked ones wait",
    );
    let request = apply::Request {
        paths: &jobs,
        operator: "admin",
        password_file: Some(&password_file),
        yes: true,
        reviewed: Some(&review_file),
        fail_fast: false,
        workers: None,
    };
    expect(
        apply::run(printer, &global, request),
        &[Exit::Success, Exit::Blocked],
    )?;

    heading(printer, "4. the result");
    expect(users::run(printer, &global, true), &[Exit::Success])?;
    expect(status::run(printer, &global, None), &[Exit::Success])?;
    expect(audit::verify(printer, &global), &[Exit::Success])?;
    heading(
        printer,
        "done: rerun `handover apply` any time; finished plans stay done",
    );
    Ok(())
}

/// A fresh directory with the example plans and the operator's password.
fn prepare(dir: Option<&Path>) -> Result<PathBuf, Exit> {
    let dir = match dir {
        Some(dir) => dir.to_path_buf(),
        None => std::env::temp_dir().join(format!("handover-demo-{}", std::process::id())),
    };
    let written = (|| -> std::io::Result<()> {
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(dir.join("jobs"))?;
        for (name, text) in EXAMPLES {
            std::fs::write(dir.join("jobs").join(name), text)?;
        }
        std::fs::write(dir.join("operator-password"), DEMO_PASSWORD)
    })();
    written.map_err(|err| {
        let message = format!("could not prepare the demo in `{}`: {err}", dir.display());
        crate::output::error(&message, Some("pass `--dir` to use another directory"));
        Exit::Failure
    })?;
    Ok(dir)
}

fn seed_args() -> SeedArgs {
    SeedArgs {
        practitioners: 20,
        staff: 5,
        appointments: 2_000,
        messages: 2_000,
        qnaires: 800,
        claims: 300,
        seed: 1,
        admin_password: Some(DEMO_PASSWORD.to_string()),
    }
}

fn heading(printer: &Printer, text: &str) {
    printer.text(&format!("\n== {text}\n"));
}

/// Goes on when a part of the demo ended as it should.
fn expect(exit: Exit, allowed: &[Exit]) -> Result<(), Exit> {
    if allowed.contains(&exit) {
        Ok(())
    } else {
        crate::output::error("the demo stopped: a step did not end as expected", None);
        Err(Exit::Failure)
    }
}
