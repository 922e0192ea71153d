//! `handover plan PATH…`: the review (dry run). Reads the database, changes
//! nothing, and reports each plan's status, blockers, warnings and changes
//! as text, JSON or Markdown; `--out` saves the JSON review for apply.

use std::path::{Path, PathBuf};

use crate::Exit;
use crate::cli::{Format, GlobalArgs};
use crate::commands::store_failure;
use crate::config::Config;
use crate::output::Printer;
use crate::plan;
use crate::review::{self, Context, Operator, Review};
use crate::store::{self, Access};

/// What `plan` was asked to do.
pub struct Request<'a> {
    pub paths: &'a [PathBuf],
    pub operator: Option<&'a str>,
    pub out: Option<&'a Path>,
}

pub fn run(printer: &Printer, global: &GlobalArgs, request: Request) -> Exit {
    match review(global, &request) {
        Ok(review) => report(printer, &review, request.out),
        Err(exit) => exit,
    }
}

/// Loads config and plans, opens the database read-only and reviews.
fn review(global: &GlobalArgs, request: &Request) -> Result<Review, Exit> {
    let config = Config::load(global.config.as_deref()).map_err(|err| fail(Exit::Invalid, err))?;
    let loaded = plan::load(request.paths);
    if !loaded.diagnostics.is_empty() {
        crate::commands::validate::report(&loaded);
        return Err(Exit::Invalid);
    }
    let store = store::open(&global.db, Access::Read).map_err(|err| store_failure(&err))?;
    store.check_clinic().map_err(|err| store_failure(&err))?;
    let context = context(&*store, &config, request.operator)?;
    let plans = review::review_plans(&*store, &loaded.plans, &context)
        .map_err(|err| store_failure(&err))?;
    let operator = request.operator.map(str::to_string);
    Ok(Review::new(
        context.now,
        store.name().to_string(),
        operator,
        plans,
    ))
}

/// The facts shared by every plan of a review.
pub fn context(
    store: &dyn store::Store,
    config: &Config,
    operator: Option<&str>,
) -> Result<Context, Exit> {
    let now = crate::commands::now()?;
    let zone = config.time_zone().map_err(|err| fail(Exit::Invalid, err))?;
    Ok(Context {
        now,
        today: now.to_zoned(zone).date(),
        operator: Operator::find(store, operator).map_err(|err| store_failure(&err))?,
        billing_systems: config.billing.keys().cloned().collect(),
    })
}

fn report(printer: &Printer, review: &Review, out: Option<&Path>) -> Exit {
    if let Some(out) = out
        && let Err(err) = save(review, out)
    {
        let message = format!("could not save the review to `{}`: {err}", out.display());
        crate::output::error(&message, None);
        return Exit::Failure;
    }
    match printer.format {
        Format::Json => printer.json(&serde_json::to_value(review).unwrap_or_default()),
        Format::Markdown => printer.text(&review::markdown::render(review)),
        Format::Text if !printer.quiet => {
            printer.text(&review::text::render(review, printer.color))
        }
        Format::Text => {}
    }
    if review.any_blocked() {
        Exit::Blocked
    } else {
        Exit::Success
    }
}

fn save(review: &Review, out: &Path) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(review).map_err(std::io::Error::other)?;
    text.push('\n');
    std::fs::write(out, text)
}

/// Prints an error in the one message style and gives its exit.
pub fn fail(exit: Exit, err: impl std::fmt::Display) -> Exit {
    crate::output::error(&err.to_string(), None);
    exit
}
