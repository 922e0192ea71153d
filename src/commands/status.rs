//! `handover status [--since DATE]`: the runs, each plan's steps with their
//! times, the billing deliveries still queued, and the claims of `apply
//! --workers` (which worker holds or handled each plan of a shared batch),
//! with counts by status for a scheduler or a dashboard.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Value, json};

use crate::Exit;
use crate::cli::{Format, GlobalArgs};
use crate::commands::store_failure;
use crate::output::Printer;
use crate::store::{self, Access, Claim, OutboxEntry, Run, Step, Store};

pub fn run(printer: &Printer, global: &GlobalArgs, since: Option<Date>) -> Exit {
    match gather(global, since) {
        Ok(status) => {
            print(printer, &status);
            Exit::Success
        }
        Err(exit) => exit,
    }
}

struct Status {
    runs: Vec<(Run, Vec<Step>)>,
    deliveries: Vec<OutboxEntry>,
    users: BTreeMap<i64, String>,
    claims: Vec<Claim>,
}

fn gather(global: &GlobalArgs, since: Option<Date>) -> Result<Status, Exit> {
    let store = store::open(&global.db, Access::Read).map_err(|err| store_failure(&err))?;
    store.check_clinic().map_err(|err| store_failure(&err))?;
    let fail = |err| store_failure(&err);
    let since: Option<Timestamp> = since
        .and_then(|date| date.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|zoned| zoned.timestamp());
    let mut runs = Vec::new();
    for run in store.runs(None).map_err(fail)? {
        if since.is_some_and(|since| {
            run.started_at < since && run.finished_at.is_some_and(|at| at < since)
        }) {
            continue;
        }
        let steps = store.steps(run.id).map_err(fail)?;
        runs.push((run, steps));
    }
    let deliveries = store.outbox(false).map_err(fail)?;
    let users = names(&*store).map_err(fail)?;
    let claims = store.claims().map_err(fail)?;
    Ok(Status {
        runs,
        deliveries,
        users,
        claims,
    })
}

fn names(store: &dyn Store) -> Result<BTreeMap<i64, String>, crate::store::StoreError> {
    Ok(store
        .users()?
        .into_iter()
        .map(|user| (user.id, user.username))
        .collect())
}

fn print(printer: &Printer, status: &Status) {
    if printer.format == Format::Json {
        printer.json(&to_json(status));
        return;
    }
    let mut out = String::new();
    out.push_str(&format!("runs: {}\n", status.runs.len()));
    for (run, steps) in &status.runs {
        let finished = run
            .finished_at
            .map(crate::clock::to_db_text)
            .unwrap_or_else(|| "-".into());
        out.push_str(&format!(
            "{}  {}  by {}  started {}  finished {}\n",
            run.user,
            run.status,
            run.operator,
            crate::clock::to_db_text(run.started_at),
            finished
        ));
        if let Some(error) = run.last_error.as_ref().filter(|_| run.status != "done") {
            out.push_str(&format!("    last failure: {error}\n"));
        }
        for step in steps {
            out.push_str(&format!(
                "    {:<18} {:>6} {:<5}  {}\n",
                step.step,
                step.items,
                crate::output::noun(step.items, "item"),
                crate::clock::to_db_text(step.finished_at)
            ));
        }
    }
    let pending: Vec<&OutboxEntry> = status
        .deliveries
        .iter()
        .filter(|entry| entry.status != "delivered")
        .collect();
    out.push_str(&format!("queued billing deliveries: {}\n", pending.len()));
    for entry in pending {
        out.push_str(&format!(
            "    {}  {}  {}  attempts {}  last error: {}\n",
            status.users.get(&entry.user_id).map_or("?", String::as_str),
            entry.system,
            entry.status,
            entry.attempts,
            entry.last_error.as_deref().unwrap_or("-")
        ));
    }
    out.push_str(&claims_text(&status.claims));
    printer.text(&out);
}

/// The claims of `apply --workers`, when there are any: one line a plan.
fn claims_text(claims: &[Claim]) -> String {
    if claims.is_empty() {
        return String::new();
    }
    let held = claims.iter().filter(|claim| claim.released_at.is_none());
    let mut out = format!("worker claims: {} ({} held)\n", claims.len(), held.count());
    for claim in claims {
        let state = match (&claim.outcome, claim.released_at) {
            (Some(outcome), Some(at)) => format!("{outcome} at {}", crate::clock::to_db_text(at)),
            _ if claim.expired => format!(
                "held, lease ended {}",
                crate::clock::to_db_text(claim.lease_until)
            ),
            _ => format!("held until {}", crate::clock::to_db_text(claim.lease_until)),
        };
        out.push_str(&format!(
            "    {}  {}  by process {} on `{}`",
            claim.plan.user, state, claim.worker.pid, claim.worker.host
        ));
        match claim.takeovers {
            0 => {}
            1 => out.push_str("  (taken over once from a worker whose lease ended)"),
            n => out.push_str(&format!(
                "  (taken over {n} times from workers whose lease ended)"
            )),
        }
        out.push('\n');
    }
    out
}

fn claim_json(claim: &Claim) -> Value {
    json!({
        "user": claim.plan.user,
        "fingerprint": claim.plan.fingerprint,
        "host": claim.worker.host,
        "pid": claim.worker.pid,
        "claimed_at": crate::clock::to_db_text(claim.claimed_at),
        "lease_until": crate::clock::to_db_text(claim.lease_until),
        "lease_ended": claim.expired,
        "released_at": claim.released_at.map(crate::clock::to_db_text),
        "outcome": claim.outcome,
        "takeovers": claim.takeovers,
    })
}

fn to_json(status: &Status) -> Value {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (run, _) in &status.runs {
        *counts.entry(run.status.clone()).or_default() += 1;
    }
    let runs: Vec<Value> = status
        .runs
        .iter()
        .map(|(run, steps)| {
            json!({
                "id": run.id,
                "user": run.user,
                "status": run.status,
                "operator": run.operator,
                "fingerprint": run.fingerprint,
                "started_at": crate::clock::to_db_text(run.started_at),
                "finished_at": run.finished_at.map(crate::clock::to_db_text),
                "steps": steps.iter().map(|step| json!({
                    "step": step.step,
                    "items": step.items,
                    "finished_at": crate::clock::to_db_text(step.finished_at),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let deliveries: Vec<Value> = status
        .deliveries
        .iter()
        .map(|entry| {
            json!({
                "user": status.users.get(&entry.user_id),
                "system": entry.system,
                "status": entry.status,
                "attempts": entry.attempts,
                "last_error": entry.last_error,
                "delivered_at": entry.delivered_at.map(crate::clock::to_db_text),
            })
        })
        .collect();
    let failures: Vec<Value> = status
        .runs
        .iter()
        .filter(|(run, _)| run.last_error.is_some() && run.status != "done")
        .map(|(run, _)| {
            json!({
                "user": run.user,
                "run": run.id,
                "error": run.last_error,
                "failed_at": run.failed_at.map(crate::clock::to_db_text),
            })
        })
        .chain(
            status
                .deliveries
                .iter()
                .filter(|entry| entry.status != "delivered" && entry.last_error.is_some())
                .map(|entry| {
                    json!({
                        "user": status.users.get(&entry.user_id),
                        "delivery": entry.system,
                        "error": entry.last_error,
                        "attempts": entry.attempts,
                    })
                }),
        )
        .collect();
    let claims: Vec<Value> = status.claims.iter().map(claim_json).collect();
    json!({
        "counts": counts,
        "runs": runs,
        "deliveries": deliveries,
        "failures": failures,
        "claims": claims,
    })
}
