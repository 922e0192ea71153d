//! From a row of the leavers list to a leaver: the checks of one row (the
//! username, the last day, each recipient), then those across rows (the
//! same leaver twice, a recipient who leaves in the same list).

use std::collections::HashMap;

use jiff::civil::Date;

use super::BadRow;
use super::list::{List, Row};

/// The longest `reason` a plan takes.
const MAX_REASON_CHARS: usize = 500;
/// The longest `support_ticket` a plan takes.
const MAX_TICKET_CHARS: usize = 64;

/// The columns that name a recipient, in the order a plan lists them.
pub const RECIPIENT_COLUMNS: [&str; 6] = [
    "default_to",
    "appointments_to",
    "recurring_qnaires_to",
    "sent_qnaires_to",
    "inbox_to",
    "labs_to",
];

/// One leaver of the list, checked, ready to become a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaver {
    pub line: u64,
    pub user: String,
    pub reason: Option<String>,
    pub not_before: Date,
    /// The recipients given, by column, in the order of [`RECIPIENT_COLUMNS`].
    pub recipients: Vec<(&'static str, String)>,
    pub support_ticket: Option<String>,
}

impl Leaver {
    /// The recipient named in `column`, if any.
    pub fn recipient(&self, column: &str) -> Option<&str> {
        named(&self.recipients, column)
    }

    /// Who the lab integrations go to in the plan's `labs` field: `labs_to`,
    /// or with a support ticket and no `labs_to`, `default_to` (the ticket
    /// can only be given in `labs`). `None` leaves labs to `default_to`.
    pub fn labs_to(&self) -> Option<&str> {
        labs_recipient(&self.recipients, &self.support_ticket)
    }
}

/// The recipient in `column` among `recipients`, if any.
fn named<'a>(recipients: &'a [(&'static str, String)], column: &str) -> Option<&'a str> {
    recipients
        .iter()
        .find(|(name, _)| *name == column)
        .map(|(_, to)| to.as_str())
}

/// See [`Leaver::labs_to`].
fn labs_recipient<'a>(
    recipients: &'a [(&'static str, String)],
    support_ticket: &Option<String>,
) -> Option<&'a str> {
    match (named(recipients, "labs_to"), support_ticket) {
        (Some(to), _) => Some(to),
        (None, Some(_)) => named(recipients, "default_to"),
        (None, None) => None,
    }
}

/// A row read as far as it goes: a value that is missing or wrong is `None`,
/// with a problem saying why.
#[derive(Debug)]
struct Draft {
    line: u64,
    user: Option<String>,
    not_before: Option<Date>,
    reason: Option<String>,
    recipients: Vec<(&'static str, String)>,
    support_ticket: Option<String>,
    problems: Vec<BadRow>,
}

impl Draft {
    fn problem(&mut self, message: String, hint: Option<&'static str>) {
        self.problems.push(BadRow {
            line: self.line,
            message,
            hint,
        });
    }

    /// The value of a check, or `None` and its problem.
    fn take<T>(&mut self, checked: Result<T, String>, hint: Option<&'static str>) -> Option<T> {
        checked.map_err(|message| self.problem(message, hint)).ok()
    }

    /// The leaver, when the row has no problem.
    fn finish(self) -> Result<Leaver, Vec<BadRow>> {
        match (self.user, self.not_before, self.problems.is_empty()) {
            (Some(user), Some(not_before), true) => Ok(Leaver {
                line: self.line,
                user,
                reason: self.reason,
                not_before,
                recipients: self.recipients,
                support_ticket: self.support_ticket,
            }),
            _ => Err(self.problems),
        }
    }
}

/// Every leaver of the list, or every bad row found, in line order.
pub fn leavers(list: &List) -> Result<Vec<Leaver>, Vec<BadRow>> {
    let mut drafts: Vec<Draft> = list.rows.iter().map(|row| draft(list, row)).collect();
    across(&mut drafts);
    let mut leavers = Vec::new();
    let mut bad = Vec::new();
    for draft in drafts {
        match draft.finish() {
            Ok(leaver) => leavers.push(leaver),
            Err(problems) => bad.extend(problems),
        }
    }
    bad.sort_by_key(|problem| problem.line);
    match bad.is_empty() {
        true => Ok(leavers),
        false => Err(bad),
    }
}

/// Reads and checks one row on its own.
fn draft(list: &List, row: &Row) -> Draft {
    let mut draft = Draft {
        line: row.line,
        user: None,
        not_before: None,
        reason: None,
        recipients: Vec::new(),
        support_ticket: None,
        problems: Vec::new(),
    };
    if row.fields.len() != list.width() {
        let message = format!(
            "the row has {} fields where the header has {}",
            row.fields.len(),
            list.width()
        );
        draft.problem(
            message,
            Some("a comma inside a value needs the value in double quotes"),
        );
        return draft;
    }
    draft.user = draft.take(username(list, row), Some(USERNAME_HINT));
    draft.not_before = draft.take(last_day(list, row), None);
    draft.recipients = recipients(list, row, &mut draft.problems);
    draft.reason = limited(list, row, "reason", MAX_REASON_CHARS, &mut draft);
    draft.support_ticket = limited(list, row, "support_ticket", MAX_TICKET_CHARS, &mut draft);
    own_problems(&mut draft);
    draft
}

/// The value of `column`, which must be at most `most` characters.
fn limited(list: &List, row: &Row, column: &str, most: usize, draft: &mut Draft) -> Option<String> {
    let value = list.get(row, column)?;
    if value.chars().count() > most {
        draft.problem(format!("`{column}` is longer than {most} characters"), None);
    }
    Some(value.to_string())
}

const USERNAME_HINT: &str =
    "a username has letters, digits, `.`, `_`, `-` and `@`, at most 64 characters";

fn username(list: &List, row: &Row) -> Result<String, String> {
    let Some(user) = list.get(row, "username") else {
        return Err("`username` is empty".to_string());
    };
    match is_username(user) {
        true => Ok(user.to_string()),
        false => Err(format!(
            "`username` {} is not a valid username",
            shown(user)
        )),
    }
}

/// The day after the last working day: the plan's `not_before`.
fn last_day(list: &List, row: &Row) -> Result<Date, String> {
    let Some(text) = list.get(row, "last_day") else {
        return Err("`last_day` is empty".to_string());
    };
    let not_a_date = || {
        format!(
            "`last_day` {} is not a date in the form YYYY-MM-DD",
            shown(text)
        )
    };
    if !is_iso_date_shape(text) {
        return Err(not_a_date());
    }
    let day: Date = text.parse().map_err(|_| not_a_date())?;
    day.tomorrow()
        .map_err(|_| format!("`last_day` {} has no next day", shown(text)))
}

/// Whether `text` looks like `YYYY-MM-DD`, and nothing else.
fn is_iso_date_shape(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            4 | 7 => *byte == b'-',
            _ => byte.is_ascii_digit(),
        })
}

/// The recipients given in the row; a bad username is a problem of the row.
fn recipients(list: &List, row: &Row, problems: &mut Vec<BadRow>) -> Vec<(&'static str, String)> {
    let mut found = Vec::new();
    for column in RECIPIENT_COLUMNS {
        let Some(to) = list.get(row, column) else {
            continue;
        };
        if is_username(to) {
            found.push((column, to.to_string()));
        } else {
            problems.push(BadRow {
                line: row.line,
                message: format!("`{column}` {} is not a valid username", shown(to)),
                hint: Some(USERNAME_HINT),
            });
        }
    }
    found
}

/// Finds a lone support ticket with nowhere to go, and recipients who are
/// the leaver.
fn own_problems(draft: &mut Draft) {
    if draft.support_ticket.is_some()
        && labs_recipient(&draft.recipients, &draft.support_ticket).is_none()
    {
        let message = "`support_ticket` needs `labs_to` or `default_to`".to_string();
        draft.problem(message, None);
    }
    let Some(user) = draft.user.clone() else {
        return;
    };
    let own: Vec<&'static str> = draft
        .recipients
        .iter()
        .filter(|(_, to)| *to == user)
        .map(|(column, _)| *column)
        .collect();
    for column in own {
        let message = format!("`{column}` is the leaver `{user}`");
        draft.problem(message, Some("name someone who stays"));
    }
}

/// Findings across rows: a leaver listed twice, a recipient who also leaves.
fn across(drafts: &mut [Draft]) {
    let mut first: HashMap<String, u64> = HashMap::new();
    for draft in drafts.iter_mut() {
        let Some(user) = draft.user.clone() else {
            continue;
        };
        match first.get(&user) {
            Some(&line) => {
                let message = format!(
                    "`{user}` is listed twice, on lines {line} and {}",
                    draft.line
                );
                draft.problem(message, Some("keep one row per leaver"));
            }
            None => {
                first.insert(user, draft.line);
            }
        }
    }
    for draft in drafts.iter_mut() {
        leaving_recipients(draft, &first);
    }
}

fn leaving_recipients(draft: &mut Draft, leaving: &HashMap<String, u64>) {
    let found: Vec<(&'static str, String, u64)> = draft
        .recipients
        .iter()
        .filter(|(_, to)| Some(to) != draft.user.as_ref())
        .filter_map(|(column, to)| leaving.get(to).map(|&line| (*column, to.clone(), line)))
        .collect();
    for (column, to, line) in found {
        let message = format!("`{column}` `{to}` is leaving too (line {line})");
        draft.problem(message, Some("name someone who stays"));
    }
}

/// Whether `text` is a username: the rule of
/// [`crate::plan::model::USERNAME_PATTERN`].
pub fn is_username(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"._@-".contains(&byte))
}

/// A value as shown in a message: in backticks, control characters replaced,
/// long values cut.
fn shown(value: &str) -> String {
    let mut text: String = value
        .chars()
        .take(40)
        .map(|ch| {
            if ch.is_control() || ch == '`' {
                '?'
            } else {
                ch
            }
        })
        .collect();
    if value.chars().count() > 40 {
        text.push('…');
    }
    format!("`{text}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_plan_pattern() {
        assert_eq!(
            crate::plan::model::USERNAME_PATTERN,
            r"^[A-Za-z0-9._@-]{1,64}$"
        );
        assert!(is_username("j.smith@clinic-1_a"));
        assert!(!is_username("j smith"));
        assert!(!is_username(""));
        assert!(!is_username(&"a".repeat(65)));
    }

    #[test]
    fn only_iso_dates_are_dates() {
        assert!(is_iso_date_shape("2026-12-31"));
        for text in ["20261231", "31/12/2026", "2026-1-31", "2026-12-31T00:00"] {
            assert!(!is_iso_date_shape(text), "{text}");
        }
    }
}
