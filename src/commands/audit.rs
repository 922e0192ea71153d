//! `handover audit [--user NAME]` shows the audit trail; `handover audit
//! verify` checks the whole hash chain and that every finished step of
//! every run has its entry, and names the first entry that fails.

use serde_json::{Value, json};

use crate::Exit;
use crate::audit::{self, Break};
use crate::cli::{Format, GlobalArgs};
use crate::commands::store_failure;
use crate::output::Printer;
use crate::store::{self, Access, AuditEntry, Store};

/// Lists the trail, or only the entries about one user.
pub fn list(printer: &Printer, global: &GlobalArgs, user: Option<&str>) -> Exit {
    let entries =
        match open(global).and_then(|store| store.audit(user).map_err(|err| store_failure(&err))) {
            Ok(entries) => entries,
            Err(exit) => return exit,
        };
    if printer.format == Format::Json {
        let list: Vec<Value> = entries.iter().map(entry_json).collect();
        printer.json(&json!({ "entries": list }));
        return Exit::Success;
    }
    let rows: Vec<Vec<String>> = entries.iter().map(entry_row).collect();
    let header = ["SEQ", "AT", "OPERATOR", "USER", "STEP", "ITEMS", "TO"];
    printer.text(&format!("audit entries: {}", entries.len()));
    if !rows.is_empty() {
        printer.text(&crate::output::table(&header, &rows));
    }
    Exit::Success
}

/// Verifies the whole trail.
pub fn verify(printer: &Printer, global: &GlobalArgs) -> Exit {
    let store = match open(global) {
        Ok(store) => store,
        Err(exit) => return exit,
    };
    match check(&*store) {
        Ok(Ok(count)) => {
            printer.text(&format!(
                "the audit trail verifies: {count} entries, chain intact"
            ));
            Exit::Success
        }
        Ok(Err(broken)) => {
            let message = format!(
                "the audit trail is broken at entry {}: {}",
                broken.seq, broken.reason
            );
            crate::output::error(&message, Some("restore the audit table from a backup"));
            Exit::Failure
        }
        Err(exit) => exit,
    }
}

fn check(store: &dyn Store) -> Result<Result<usize, Break>, Exit> {
    let entries = store.audit(None).map_err(|err| store_failure(&err))?;
    if let Err(broken) = audit::verify(&entries) {
        return Ok(Err(broken));
    }
    Ok(steps_have_entries(store, &entries)?.map(|()| entries.len()))
}

/// Every checkpoint of every run has its audit entry: a trail cut short at
/// its end still chains, but leaves steps without entries.
fn steps_have_entries(
    store: &dyn Store,
    entries: &[AuditEntry],
) -> Result<Result<(), Break>, Exit> {
    for run in store.runs(None).map_err(|err| store_failure(&err))? {
        for step in store.steps(run.id).map_err(|err| store_failure(&err))? {
            let found = entries.iter().any(|entry| {
                entry.user == run.user
                    && entry.fingerprint == run.fingerprint
                    && entry.step == step.step
            });
            if !found {
                return Ok(Err(Break {
                    seq: entries.len() as i64 + 1,
                    reason: format!(
                        "entry for step `{}` of `{}`'s run is missing",
                        step.step, run.user
                    ),
                }));
            }
        }
    }
    Ok(Ok(()))
}

fn open(global: &GlobalArgs) -> Result<Box<dyn Store>, Exit> {
    let store = store::open(&global.db, Access::Read).map_err(|err| store_failure(&err))?;
    store.check_clinic().map_err(|err| store_failure(&err))?;
    Ok(store)
}

fn entry_json(entry: &AuditEntry) -> Value {
    json!({
        "seq": entry.seq,
        "at": crate::clock::to_db_text(entry.at),
        "operator": entry.operator,
        "user": entry.user,
        "fingerprint": entry.fingerprint,
        "step": entry.step,
        "detail": serde_json::from_str::<Value>(&entry.detail).unwrap_or(Value::Null),
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    })
}

fn entry_row(entry: &AuditEntry) -> Vec<String> {
    let detail: Value = serde_json::from_str(&entry.detail).unwrap_or(Value::Null);
    vec![
        entry.seq.to_string(),
        crate::clock::to_db_text(entry.at),
        entry.operator.clone(),
        entry.user.clone(),
        entry.step.clone(),
        audit::items_named(&detail).to_string(),
        detail["to"].as_str().unwrap_or("-").to_string(),
    ]
}
