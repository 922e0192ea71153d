//! `handover users [--deactivated]`: the active users, or the deactivated
//! ones with when and by whom.

use serde_json::{Value, json};

use crate::Exit;
use crate::cli::{Format, GlobalArgs};
use crate::commands::store_failure;
use crate::output::Printer;
use crate::store::{self, Access, User};

pub fn run(printer: &Printer, global: &GlobalArgs, deactivated: bool) -> Exit {
    match list(&global.db, deactivated) {
        Ok(users) => {
            print(printer, &users, deactivated);
            Exit::Success
        }
        Err(exit) => exit,
    }
}

fn list(db: &str, deactivated: bool) -> Result<Vec<User>, Exit> {
    let store = store::open(db, Access::Read).map_err(|err| store_failure(&err))?;
    store.check_clinic().map_err(|err| store_failure(&err))?;
    let users = store.users().map_err(|err| store_failure(&err))?;
    Ok(users
        .into_iter()
        .filter(|user| user.active != deactivated)
        .collect())
}

fn print(printer: &Printer, users: &[User], deactivated: bool) {
    let key = if deactivated { "deactivated" } else { "active" };
    if printer.format == Format::Json {
        let list: Vec<Value> = users.iter().map(user_json).collect();
        printer.json(&json!({ key: list }));
        return;
    }
    if users.is_empty() {
        if !printer.quiet {
            printer.text(&format!("no {key} users"));
        }
        return;
    }
    printer.text(&format!("{key} users: {}", users.len()));
    printer.text(&crate::output::table(
        &header(deactivated),
        &rows(users, deactivated),
    ));
}

fn user_json(user: &User) -> Value {
    let mut value = json!({
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role.as_str(),
        "province": user.province,
        "active": user.active,
    });
    if !user.active {
        value["deactivated_at"] = json!(user.deactivated_at.map(crate::clock::to_db_text));
        value["deactivated_by"] = json!(user.deactivated_by);
    }
    value
}

fn header(deactivated: bool) -> Vec<&'static str> {
    let mut header = vec!["USERNAME", "FULL NAME", "ROLE", "PROVINCE"];
    if deactivated {
        header.extend(["DEACTIVATED AT", "BY"]);
    }
    header
}

fn rows(users: &[User], deactivated: bool) -> Vec<Vec<String>> {
    users
        .iter()
        .map(|user| {
            let mut row = vec![
                user.username.clone(),
                user.full_name.clone(),
                user.role.as_str().to_string(),
                user.province.clone().unwrap_or_else(|| "-".to_string()),
            ];
            if deactivated {
                let at = user.deactivated_at.map(crate::clock::to_db_text);
                row.push(at.unwrap_or_else(|| "-".to_string()));
                row.push(
                    user.deactivated_by
                        .clone()
                        .unwrap_or_else(|| "-".to_string()),
                );
            }
            row
        })
        .collect()
}
