//! `handover db init` and `handover db seed`: create or check the clinic
//! database, and fill a new one with a synthetic clinic.

use serde_json::json;

use crate::Exit;
use crate::cli::{DbCommand, Format, GlobalArgs, SeedArgs};
use crate::commands::{now, store_failure};
use crate::output::Printer;
use crate::seed::{SeedSize, SeedSummary, seed_clinic};
use crate::store::{self, Access, InitReport, MigrationReport, Store};

pub fn run(printer: &Printer, global: &GlobalArgs, command: DbCommand) -> Exit {
    let outcome = match command {
        DbCommand::Init => init(printer, &global.db),
        DbCommand::Seed(args) => seed(printer, &global.db, &args),
    };
    outcome.unwrap_or_else(|exit| exit)
}

/// Opens the database (creating the file), creates or checks the EMR
/// tables, and applies handover's migrations.
fn prepare(db: &str) -> Result<(Box<dyn Store>, InitReport, MigrationReport), Exit> {
    let now = now()?;
    let mut store = store::open(db, Access::Create).map_err(|err| store_failure(&err))?;
    let init = store.init_clinic().map_err(|err| store_failure(&err))?;
    let migration = store.migrate(now).map_err(|err| store_failure(&err))?;
    Ok((store, init, migration))
}

fn init(printer: &Printer, db: &str) -> Result<Exit, Exit> {
    let (store, init, migration) = prepare(db)?;
    tracing::info!(
        tables = init.created_tables.len(),
        indexes = init.created_indexes.len(),
        migrations = migration.applied.len(),
        "initialised the clinic database"
    );
    if printer.format == Format::Json {
        printer.json(&json!({
            "database": store.name(),
            "created_tables": init.created_tables,
            "created_indexes": init.created_indexes,
            "migrations_applied": migration.applied,
            "version": migration.version,
        }));
    } else if !(printer.quiet && nothing_done(&init, &migration)) {
        printer.text(&init_text(store.name(), &init, &migration));
    }
    Ok(Exit::Success)
}

fn nothing_done(init: &InitReport, migration: &MigrationReport) -> bool {
    init.created_tables.is_empty()
        && init.created_indexes.is_empty()
        && migration.applied.is_empty()
}

fn init_text(name: &str, init: &InitReport, migration: &MigrationReport) -> String {
    if nothing_done(init, migration) {
        return format!(
            "`{name}` already holds the EMR tables and handover's state (version {}); nothing changed",
            migration.version
        );
    }
    format!(
        "initialised `{name}`: EMR tables created: {}, indexes created: {}, \
         migrations applied: {} (version {})",
        init.created_tables.len(),
        init.created_indexes.len(),
        migration.applied.len(),
        migration.version
    )
}

fn seed(printer: &Printer, db: &str, args: &SeedArgs) -> Result<Exit, Exit> {
    let now = now()?;
    let password = admin_password(args)?;
    let (mut store, _, _) = prepare(db)?;
    if store.has_users().map_err(|err| store_failure(&err))? {
        crate::output::error(
            &format!("could not seed `{}`: it already has users", store.name()),
            Some("seed a new database file, e.g. `--db demo.db`"),
        );
        return Err(Exit::Failure);
    }
    let hash = crate::password::hash_password(&password.text).map_err(|err| {
        crate::output::error(&err.to_string(), None);
        Exit::Failure
    })?;
    let size = seed_size(args);
    let summary =
        seed_clinic(store.as_mut(), &size, now, &hash).map_err(|err| store_failure(&err))?;
    print_seeded(printer, store.name(), &summary, &password);
    Ok(Exit::Success)
}

/// The admin's password and whether handover made it up.
struct AdminPassword {
    text: String,
    generated: bool,
}

fn admin_password(args: &SeedArgs) -> Result<AdminPassword, Exit> {
    match &args.admin_password {
        Some(text) if text.is_empty() => {
            crate::output::error("could not use `--admin-password`: it is empty", None);
            Err(Exit::Invalid)
        }
        Some(text) => Ok(AdminPassword {
            text: text.clone(),
            generated: false,
        }),
        None => Ok(AdminPassword {
            text: crate::password::generate_password(),
            generated: true,
        }),
    }
}

fn seed_size(args: &SeedArgs) -> SeedSize {
    SeedSize {
        practitioners: args.practitioners,
        staff: args.staff,
        appointments: args.appointments,
        messages: args.messages,
        qnaires: args.qnaires,
        claims: args.claims,
        seed: args.seed,
    }
}

fn print_seeded(printer: &Printer, name: &str, summary: &SeedSummary, password: &AdminPassword) {
    let generated = password.generated.then_some(password.text.as_str());
    if printer.format == Format::Json {
        printer.json(&json!({
            "database": name,
            "users": summary.users,
            "deactivated_users": summary.deactivated_users,
            "appointments": summary.appointments,
            "qnaires": summary.qnaires,
            "inbox_messages": summary.messages,
            "lab_integrations": summary.lab_integrations,
            "billing_links": summary.billing_links,
            "billing_claims": summary.claims,
            "admin_password": generated,
        }));
        return;
    }
    printer.text(&format!(
        "seeded `{name}`: {} users ({} deactivated), {} appointments, {} qnaires, \
         {} inbox messages, {} lab integrations, {} billing links, {} billing claims",
        summary.users,
        summary.deactivated_users,
        summary.appointments,
        summary.qnaires,
        summary.messages,
        summary.lab_integrations,
        summary.billing_links,
        summary.claims,
    ));
    if let Some(text) = generated {
        printer.text(&format!("password of `admin` (shown once): {text}"));
    }
}
