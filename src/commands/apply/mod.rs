//! `handover apply PATH… --operator NAME`: authenticate the operator, take
//! the runner lock, review every plan again, confirm, then run the ready
//! plans step by step and report how each ended. With `--workers`, the lock
//! is shared with other workers and the plans are claimed one at a time
//! (`crate::apply::workers`), each reviewed again right before it runs.

mod workers;

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::Exit;
use crate::apply::{Outcome, PlanResult, Runner, Shift, decide};
use crate::cli::{Format, GlobalArgs};
use crate::commands::plan::{context, fail};
use crate::commands::store_failure;
use crate::config::Config;
use crate::operator::{self, Denied};
use crate::output::Printer;
use crate::plan::{self, Plan};
use crate::review::{self, Code, Finding, PlanReview, Status};
use crate::store::{self, Access, LockHolder, Store, Worker};

/// What `apply` was asked to do.
pub struct Request<'a> {
    pub paths: &'a [PathBuf],
    pub operator: &'a str,
    pub password_file: Option<&'a Path>,
    pub yes: bool,
    pub reviewed: Option<&'a Path>,
    pub fail_fast: bool,
    /// Share the batch with other workers (`--workers`), with this lease.
    pub workers: Option<Duration>,
}

pub fn run(printer: &Printer, global: &GlobalArgs, request: Request) -> Exit {
    match apply(printer, global, &request) {
        Ok(exit) | Err(exit) => exit,
    }
}

fn apply(printer: &Printer, global: &GlobalArgs, request: &Request) -> Result<Exit, Exit> {
    if !request.yes && !std::io::stdin().is_terminal() {
        crate::output::error(
            "`apply` needs a confirmation and there is no terminal to ask on",
            Some("pass `--yes` to apply without asking (for cron and scripts)"),
        );
        return Err(Exit::Invalid);
    }
    let config = Config::load(global.config.as_deref()).map_err(|err| fail(Exit::Invalid, err))?;
    config.check_tokens().map_err(|message| {
        let file = global
            .config
            .as_deref()
            .unwrap_or(Path::new(crate::config::DEFAULT_FILE));
        fail(
            Exit::Invalid,
            format!(
                "could not use the configuration `{}`: {message}",
                file.display()
            ),
        )
    })?;
    let loaded = plan::load(request.paths);
    if !loaded.diagnostics.is_empty() {
        crate::commands::validate::report(&loaded);
        return Err(Exit::Invalid);
    }
    let saved = request.reviewed.map(SavedReview::read).transpose()?;
    let mut store = open_for_changes(global)?;
    let operator = authenticate(&*store, request.operator, request.password_file)?;
    let me = worker();
    match request.workers {
        Some(_) => share_lock(&mut *store, &me)?,
        None => lock(&mut *store)?,
    }
    let context = context(&*store, &config, Some(request.operator))?;
    let mut reviews = review::review_plans(&*store, &loaded.plans, &context)
        .map_err(|err| store_failure(&err))?;
    if let Some(saved) = &saved {
        saved.hold_to(&mut reviews, &*store)?;
    }
    if !confirm(request, &reviews) {
        crate::output::error("nothing applied: not confirmed", None);
        return Ok(Exit::Success);
    }
    let mut runner = Runner {
        store: &mut *store,
        operator: &operator,
        now: context.now,
        fence: None,
    };
    if let Some(lease) = request.workers {
        let shift = Shift {
            me,
            lease,
            fail_fast: request.fail_fast,
        };
        let batch = workers::Batch {
            config: &config,
            plans: &loaded.plans,
            context: &context,
            saved: saved.as_ref(),
        };
        return workers::work_share(printer, &mut runner, &shift, &batch);
    }
    let mut results = run_plans(
        &mut runner,
        &loaded.plans,
        &reviews,
        request,
        saved.as_ref(),
    );
    deliver(&mut runner, &config, &loaded.plans, &mut results);
    report(printer, &results, None);
    Ok(worst_of(&results))
}

/// The exit the worst of these outcomes calls for.
fn worst_of(results: &[PlanResult]) -> Exit {
    results.iter().fold(Exit::Success, |worst, result| {
        worst.worst(result.outcome.exit())
    })
}

/// Opens the database for changes, checked and migrated.
pub(crate) fn open_for_changes(global: &GlobalArgs) -> Result<Box<dyn Store>, Exit> {
    let mut store = store::open(&global.db, Access::Write).map_err(|err| store_failure(&err))?;
    store.check_clinic().map_err(|err| store_failure(&err))?;
    let now = crate::commands::now()?;
    store.migrate(now).map_err(|err| store_failure(&err))?;
    Ok(store)
}

/// Authenticates the operator or exits denied.
pub(crate) fn authenticate(
    store: &dyn Store,
    name: &str,
    password_file: Option<&Path>,
) -> Result<crate::store::User, Exit> {
    let denied = |err: Denied| match err {
        Denied::Store(err) => store_failure(&err),
        Denied::NoPassword(_) => {
            let hint = "use `--password-file`, `HANDOVER_PASSWORD` or a terminal";
            crate::output::error(&err.to_string(), Some(hint));
            Exit::Denied
        }
        other => {
            crate::output::error(&format!("denied: {other}"), None);
            Exit::Denied
        }
    };
    let password = operator::read_password(name, password_file).map_err(denied)?;
    operator::authenticate(store, name, &password).map_err(denied)
}

/// Takes the runner lock, or exits busy naming who holds it.
pub(crate) fn lock(store: &mut dyn Store) -> Result<(), Exit> {
    let me = holder(&worker())?;
    let held = store.lock_runner(&me).map_err(|err| store_failure(&err))?;
    busy_unless_free(store, held)
}

/// Takes the runner lock shared with the other workers of `--workers`, or
/// exits busy naming the sole runner that holds it.
fn share_lock(store: &mut dyn Store, me: &Worker) -> Result<(), Exit> {
    let me = holder(me)?;
    let held = store
        .share_runner_lock(&me)
        .map_err(|err| store_failure(&err))?;
    busy_unless_free(store, held)
}

/// This process as a worker: a new id, the host and the process id.
fn worker() -> Worker {
    Worker {
        id: uuid::Uuid::now_v7().to_string(),
        host: hostname(),
        pid: std::process::id(),
    }
}

fn holder(me: &Worker) -> Result<LockHolder, Exit> {
    let now = crate::commands::now()?;
    Ok(LockHolder {
        holder: me.id.clone(),
        pid: me.pid,
        host: me.host.clone(),
        acquired_at: now,
        heartbeat: now,
    })
}

fn busy_unless_free(store: &dyn Store, held: Option<LockHolder>) -> Result<(), Exit> {
    match held {
        None => Ok(()),
        Some(held) => {
            let message = format!(
                "another runner holds `{}`: process {} on `{}` since {}",
                store.name(),
                held.pid,
                held.host,
                held.acquired_at
            );
            crate::output::error(&message, Some("try again when it has finished"));
            Err(Exit::Busy)
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_else(|_| "localhost".to_string())
}

/// Asks on the terminal unless `--yes`; true when the plans may run.
fn confirm(request: &Request, reviews: &[PlanReview]) -> bool {
    if request.yes {
        return true;
    }
    let runnable = reviews
        .iter()
        .filter(|review| matches!(review.status, Status::Ready | Status::InProgress))
        .count();
    if runnable == 0 {
        return true;
    }
    eprint!(
        "apply {runnable} plan{} as `{}`? [y/N] ",
        if runnable == 1 { "" } else { "s" },
        request.operator
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes")
}

fn run_plans(
    runner: &mut Runner,
    plans: &[Plan],
    reviews: &[PlanReview],
    request: &Request,
    saved: Option<&SavedReview>,
) -> Vec<PlanResult> {
    let progress = crate::output::progress(plans.len() as u64);
    let mut results: Vec<PlanResult> = Vec::new();
    for (plan, review) in plans.iter().zip(reviews) {
        let stop = request.fail_fast
            && results
                .iter()
                .any(|done| matches!(done.outcome, Outcome::Blocked | Outcome::Failed));
        let result = if stop {
            PlanResult::without_run(review, Outcome::Skipped, Some("--fail-fast".into()))
        } else if saved.is_some_and(|saved| !saved.covers(review)) {
            let why = "not in the `--reviewed` review".to_string();
            PlanResult::without_run(review, Outcome::Skipped, Some(why))
        } else {
            match decide(review) {
                Some(outcome) => PlanResult::without_run(review, outcome, None),
                None => runner.run(plan),
            }
        };
        tracing::info!(
            plan = %result.user,
            outcome = result.outcome.as_str(),
            steps = result.steps.len(),
            items = result.items,
            "plan finished"
        );
        progress.inc(1);
        results.push(result);
    }
    progress.finish_and_clear();
    results
}

/// Step 7 for the plans that reached it, then finishes those whose
/// disconnects are all delivered.
fn deliver(runner: &mut Runner, config: &Config, plans: &[Plan], results: &mut [PlanResult]) {
    let waiting: Vec<usize> = (0..results.len())
        .filter(|&index| results[index].outcome == Outcome::InProgress)
        .collect();
    if waiting.is_empty() {
        return;
    }
    let leavers: Vec<i64> = waiting
        .iter()
        .filter_map(|&index| runner.leaver_id(&plans[index]))
        .collect();
    let deliveries = crate::billing::deliver_pending(runner.store, config, &leavers, runner.now);
    for delivery in &deliveries {
        if let Some(warning) = &delivery.warning {
            tracing::warn!(system = %delivery.system, "{warning}");
        }
    }
    for index in waiting {
        runner.finish(&plans[index], &mut results[index]);
        let leaver = runner.leaver_id(&plans[index]);
        let result = &mut results[index];
        if result.outcome == Outcome::InProgress && result.error.is_none() {
            result.error = undelivered(&deliveries, leaver);
        }
    }
}

/// Why a leaver's disconnects are still undelivered, if this run says.
fn undelivered(deliveries: &[crate::billing::Delivery], leaver: Option<i64>) -> Option<String> {
    let causes: Vec<String> = deliveries
        .iter()
        .filter(|delivery| Some(delivery.user_id) == leaver)
        .filter_map(|delivery| {
            let error = delivery.error.as_ref()?;
            Some(format!(
                "billing `{}` {}: {error}",
                delivery.system, delivery.outcome
            ))
        })
        .collect();
    (!causes.is_empty()).then(|| causes.join("; "))
}

/// The results of this apply; a worker also says how many plans other
/// workers handled (`by_others`).
fn report(printer: &Printer, results: &[PlanResult], by_others: Option<usize>) {
    if printer.format == Format::Json {
        let mut summary = summary(results);
        if let (Some(count), Some(fields)) = (by_others, summary.as_object_mut()) {
            fields.insert("by_other_workers".into(), count.into());
        }
        printer.json(&serde_json::json!({ "plans": results, "summary": summary }));
        return;
    }
    let idle = results
        .iter()
        .all(|result| matches!(result.outcome, Outcome::Done | Outcome::NotDue))
        && results.iter().all(|result| result.steps.is_empty());
    if printer.quiet && idle {
        return;
    }
    let mut out = String::new();
    for result in results {
        out.push_str(&line(result));
    }
    out.push_str(&summary_text(results));
    if let Some(count) = by_others {
        out.push_str(&format!("; {count} handled by other workers"));
    }
    out.push('\n');
    printer.text(&out);
}

fn line(result: &PlanResult) -> String {
    let mut line = format!("{}  {}", result.user, result.outcome.as_str());
    if !result.steps.is_empty() {
        line.push_str(&format!(
            "  ({}; steps: {})",
            crate::output::counted(result.items, "item"),
            result.steps.join(", ")
        ));
    }
    if !result.blockers.is_empty() {
        let codes: Vec<&str> = result.blockers.iter().map(|b| b.code.as_str()).collect();
        line.push_str(&format!("  blockers: {}", codes.join(", ")));
    }
    if let Some(error) = &result.error {
        line.push_str(&format!("  ({error})"));
    }
    line.push('\n');
    line
}

fn summary(results: &[PlanResult]) -> serde_json::Value {
    let mut counts = serde_json::Map::new();
    counts.insert("plans".into(), results.len().into());
    for outcome in [
        Outcome::Done,
        Outcome::NotDue,
        Outcome::Blocked,
        Outcome::InProgress,
        Outcome::Failed,
        Outcome::Skipped,
    ] {
        let count = results
            .iter()
            .filter(|result| result.outcome == outcome)
            .count();
        counts.insert(outcome.as_str().replace('-', "_"), count.into());
    }
    serde_json::Value::Object(counts)
}

fn summary_text(results: &[PlanResult]) -> String {
    let summary = summary(results);
    let parts: Vec<String> = summary
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(key, count)| *key != "plans" && count.as_u64() > Some(0))
        .map(|(key, count)| format!("{count} {}", key.replace('_', " ")))
        .collect();
    let plans = results.len();
    let noun = if plans == 1 { "plan" } else { "plans" };
    if parts.is_empty() {
        return format!("{plans} {noun}");
    }
    format!("{plans} {noun}: {}", parts.join(", "))
}

/// A review saved by `handover plan --out`: what support reviewed.
#[derive(Debug, Deserialize)]
struct SavedReview {
    plans: Vec<SavedPlan>,
}

#[derive(Debug, Deserialize)]
struct SavedPlan {
    user: String,
    fingerprint: String,
    items_digest: String,
}

impl SavedReview {
    fn read(path: &Path) -> Result<SavedReview, Exit> {
        let text = std::fs::read_to_string(path).map_err(|err| {
            let message = format!(
                "could not read the review `{}`: {}",
                path.display(),
                crate::plan::source::describe_io(&err)
            );
            fail(Exit::Invalid, message)
        })?;
        serde_json::from_str(&text).map_err(|err| {
            let message = format!("`{}` is not a saved review: {err}", path.display());
            fail(Exit::Invalid, message)
        })
    }

    fn covers(&self, review: &PlanReview) -> bool {
        self.plans.iter().any(|plan| plan.user == review.user)
    }

    /// Blocks (`review-stale`) each plan whose content or set of items
    /// differs from what was reviewed. A run already under way is held to
    /// its content only: its items have started to move.
    fn hold_to(&self, reviews: &mut [PlanReview], store: &dyn Store) -> Result<(), Exit> {
        for review in reviews.iter_mut() {
            let Some(saved) = self.plans.iter().find(|plan| plan.user == review.user) else {
                continue;
            };
            let runs = store
                .runs(Some(&review.user))
                .map_err(|err| store_failure(&err))?;
            let started = crate::review::current_run(runs)
                .is_some_and(|run| run.fingerprint == review.fingerprint);
            let stale = saved.fingerprint != review.fingerprint
                || (!started && saved.items_digest != review.items_digest);
            if stale && !matches!(review.status, Status::Done | Status::NotDue) {
                let message = "the plan or its items changed since the review was saved";
                review
                    .blockers
                    .push(Finding::new(Code::ReviewStale, message));
                review.status = Status::Blocked;
            }
        }
        Ok(())
    }
}
