//! `handover reactivate USER --operator NAME`: the same operator rules as
//! apply; makes the account active again, records it in the audit trail,
//! and says plainly what stays as it is.

use std::path::Path;

use serde_json::json;

use crate::Exit;
use crate::audit::{self, Record};
use crate::cli::GlobalArgs;
use crate::commands::apply::{authenticate, lock, open_for_changes};
use crate::commands::store_failure;
use crate::output::Printer;
use crate::review::{REACTIVATED, current_run};
use crate::store::{Store, User};

pub fn run(
    printer: &Printer,
    global: &GlobalArgs,
    user: &str,
    operator: &str,
    password_file: Option<&Path>,
) -> Exit {
    match reactivate(printer, global, user, operator, password_file) {
        Ok(exit) | Err(exit) => exit,
    }
}

fn reactivate(
    printer: &Printer,
    global: &GlobalArgs,
    name: &str,
    operator: &str,
    password_file: Option<&Path>,
) -> Result<Exit, Exit> {
    let mut store = open_for_changes(global)?;
    let operator = authenticate(&*store, operator, password_file)?;
    lock(&mut *store)?;
    let user = store.find_user(name).map_err(|err| store_failure(&err))?;
    let Some(user) = user.filter(|user| !user.active) else {
        let message = format!("`{name}` is not a deactivated user");
        crate::output::error(&message, Some("`handover users --deactivated` lists them"));
        return Err(Exit::Invalid);
    };
    let now = crate::commands::now()?;
    write(&mut *store, &user, &operator, now).map_err(|err| store_failure(&err))?;
    printer.text(&what_stays(&*store, &user).map_err(|err| store_failure(&err))?);
    Ok(Exit::Success)
}

fn write(
    store: &mut dyn Store,
    user: &User,
    operator: &User,
    now: jiff::Timestamp,
) -> Result<(), crate::store::StoreError> {
    let run = current_run(store.runs(Some(&user.username))?);
    store.write(&mut |writer| {
        writer.reactivate(user.id)?;
        if let Some(run) = &run {
            writer.finish_run(run.id, REACTIVATED, now)?;
        }
        let record = Record {
            at: now,
            operator: &operator.username,
            user: &user.username,
            fingerprint: run.as_ref().map_or("-", |run| run.fingerprint.as_str()),
            step: "reactivate",
            detail: json!({ "reactivated_by": operator.username }),
        };
        audit::append(writer, &record)?;
        Ok(())
    })
}

/// What reactivation does not undo: the handed-over items and the billing
/// disconnect.
fn what_stays(store: &dyn Store, user: &User) -> Result<String, crate::store::StoreError> {
    let moved: usize = store
        .audit(Some(&user.username))?
        .iter()
        .filter_map(|entry| serde_json::from_str::<serde_json::Value>(&entry.detail).ok())
        .map(|detail| audit::items_named(&detail))
        .sum();
    let disconnected: Vec<String> = store
        .outbox(false)?
        .into_iter()
        .filter(|entry| entry.user_id == user.id && entry.status == "delivered")
        .map(|entry| entry.system)
        .collect();
    let mut text = format!("reactivated `{}`\n", user.username);
    text.push_str(&format!(
        "not undone: the {moved} items moved or cancelled stay as they are; \
         move them back by hand if needed\n"
    ));
    if !disconnected.is_empty() {
        text.push_str(&format!(
            "not undone: the billing link stays disconnected from {}; reconnect it there\n",
            disconnected.join(", ")
        ));
    }
    Ok(text)
}
