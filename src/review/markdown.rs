//! The review as a self-contained Markdown report that a support agent can
//! paste into a ticket: what was reviewed, when, against which database, and
//! for each plan its status, blockers with fixes, warnings and changes.

use super::text::{recipient, summary_line};
use super::{CHANGE_KEYS, PlanReview, Review, Status};

/// Renders the whole review as Markdown.
pub fn render(review: &Review) -> String {
    let mut out = String::from("# handover review\n\n");
    out.push_str(&format!(
        "Reviewed {} against `{}`; operator {}.\n\n",
        review.generated_at,
        review.database,
        review
            .operator
            .as_deref()
            .map_or("not named".to_string(), |name| format!("`{name}`")),
    ));
    out.push_str(&format!("**{}**\n\n", summary_line(&review.summary)));
    for plan in &review.plans {
        out.push_str(&plan_section(plan));
    }
    out.push_str(
        "---\nCounts only: this report holds no message subject and no patient identifier.\n",
    );
    out
}

fn plan_section(plan: &PlanReview) -> String {
    let mut out = format!("## `{}`: {}\n\n", plan.user, plan.status.as_str());
    out.push_str(&format!(
        "Plan `{}` line {}, fingerprint `{}`.",
        plan.file, plan.line, plan.fingerprint
    ));
    if let Some(date) = plan.not_before {
        out.push_str(&format!(" Not before {date}."));
    }
    out.push_str("\n\n");
    if !plan.blockers.is_empty() {
        out.push_str("**Blockers**\n\n");
        for blocker in &plan.blockers {
            out.push_str(&format!(
                "- `{}`: {} *Fix:* {}\n",
                blocker.code.as_str(),
                sentence(&blocker.message),
                sentence(&blocker.hint)
            ));
        }
        out.push('\n');
    }
    if !plan.warnings.is_empty() {
        out.push_str("**Warnings**\n\n");
        for warning in &plan.warnings {
            out.push_str(&format!(
                "- `{}`: {}\n",
                warning.code.as_str(),
                sentence(&warning.message)
            ));
        }
        out.push('\n');
    }
    if plan.status != Status::Done {
        out.push_str(&changes_table(plan));
    }
    out
}

fn changes_table(plan: &PlanReview) -> String {
    let mut out = String::from("| category | items | action | to |\n|---|---:|---|---|\n");
    for key in CHANGE_KEYS {
        let Some(change) = plan.changes.get(key) else {
            continue;
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            key.replace('_', " "),
            change.count,
            change.action,
            recipient(change)
        ));
    }
    out.push('\n');
    out
}

/// A message as a sentence: capitalised, with a full stop.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let first = chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>())
        .unwrap_or_default();
    let rest: String = chars.collect();
    let stop = if rest.ends_with('.') { "" } else { "." };
    format!("{first}{rest}{stop}")
}
