//! The review for people: one block per plan (blockers first, each with its
//! hint, then warnings, then a table of changes) and a summary line. Colour
//! only when the printer says so.

use anstyle::{AnsiColor, Style};
use comfy_table::{CellAlignment, Table, presets};

use super::{CHANGE_KEYS, Change, PlanReview, Review, Status, Summary};

/// Renders the whole review as text.
pub fn render(review: &Review, color: bool) -> String {
    let paint = Paint { color };
    let mut out = String::new();
    for plan in &review.plans {
        out.push_str(&plan_block(plan, &paint));
        out.push('\n');
    }
    out.push_str(&summary_line(&review.summary));
    out.push('\n');
    out
}

struct Paint {
    color: bool,
}

impl Paint {
    fn apply(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }

    fn status(&self, status: Status) -> String {
        let color = match status {
            Status::Ready => AnsiColor::Green,
            Status::Blocked => AnsiColor::Red,
            Status::Done => AnsiColor::Blue,
            Status::NotDue | Status::InProgress => AnsiColor::Yellow,
        };
        self.apply(
            Style::new().bold().fg_color(Some(color.into())),
            status.as_str(),
        )
    }
}

fn plan_block(plan: &PlanReview, paint: &Paint) -> String {
    let bold = Style::new().bold();
    let mut out = format!(
        "{}  {}  ({}:{}, fingerprint {})\n",
        paint.apply(bold, &plan.user),
        paint.status(plan.status),
        plan.file,
        plan.line,
        &plan.fingerprint[..12.min(plan.fingerprint.len())],
    );
    if let (Status::NotDue, Some(date)) = (plan.status, plan.not_before) {
        out.push_str(&format!("  not before {date}\n"));
    }
    let red = Style::new().fg_color(Some(AnsiColor::Red.into()));
    let yellow = Style::new().fg_color(Some(AnsiColor::Yellow.into()));
    for blocker in &plan.blockers {
        let code = paint.apply(red, &format!("blocker {}", blocker.code.as_str()));
        out.push_str(&format!("  {code}: {}\n", blocker.message));
        out.push_str(&format!("    hint: {}\n", blocker.hint));
    }
    for warning in &plan.warnings {
        let code = paint.apply(yellow, &format!("warning {}", warning.code.as_str()));
        out.push_str(&format!("  {code}: {}\n", warning.message));
    }
    if plan.status != Status::Done {
        out.push_str(&changes_table(plan));
    }
    out
}

fn changes_table(plan: &PlanReview) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_header(["category", "items", "action", "to"]);
    for key in CHANGE_KEYS {
        let Some(change) = plan.changes.get(key) else {
            continue;
        };
        table.add_row([
            key.replace('_', " "),
            change.count.to_string(),
            change.action.to_string(),
            recipient(change),
        ]);
    }
    if let Some(column) = table.column_mut(1) {
        column.set_cell_alignment(CellAlignment::Right);
    }
    table
        .lines()
        .map(|line| format!("  {}\n", line.trim_end()))
        .collect()
}

/// The "to" column: the recipient, plus what else a reviewer should see.
pub fn recipient(change: &Change) -> String {
    let mut parts = Vec::new();
    if let Some(to) = &change.to {
        parts.push(to.clone());
    }
    if let Some(snoozed) = change.snoozed.filter(|&n| n > 0) {
        parts.push(format!("({snoozed} snoozed)"));
    }
    if let Some(main) = &change.main {
        parts.push(format!("(main: {main})"));
    }
    if let Some(systems) = change
        .systems
        .as_ref()
        .filter(|systems| !systems.is_empty())
    {
        parts.push(systems.join(", "));
    }
    parts.join(" ")
}

/// `5 plans: 2 ready, 1 blocked, 1 done, 1 not due`.
pub fn summary_line(summary: &Summary) -> String {
    let counts = [
        (summary.ready, "ready"),
        (summary.blocked, "blocked"),
        (summary.in_progress, "in progress"),
        (summary.done, "done"),
        (summary.not_due, "not due"),
    ];
    let parts: Vec<String> = counts
        .iter()
        .filter(|(count, _)| *count > 0)
        .map(|(count, name)| format!("{count} {name}"))
        .collect();
    let plural = if summary.plans == 1 { "" } else { "s" };
    format!("{} plan{plural}: {}", summary.plans, parts.join(", "))
}
