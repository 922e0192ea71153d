//! Reading an HR leavers list: the file itself (size, UTF-8, byte-order
//! mark), then its CSV records, with the header mapped to the columns
//! `handover import` knows and every record kept with its line number.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use csv::StringRecord;

use super::Problem;
use crate::plan::source::describe_io;

/// The largest leavers list accepted, checked before parsing.
pub const MAX_LIST_BYTES: u64 = 5 * 1024 * 1024;

/// The columns a list must have.
pub const REQUIRED: [&str; 2] = ["username", "last_day"];

/// The columns a list may have.
pub const OPTIONAL: [&str; 8] = [
    "default_to",
    "appointments_to",
    "recurring_qnaires_to",
    "sent_qnaires_to",
    "inbox_to",
    "labs_to",
    "support_ticket",
    "reason",
];

/// A parsed leavers list: where each known column is, the columns ignored,
/// and the records that hold something.
#[derive(Debug)]
pub struct List {
    columns: HashMap<&'static str, usize>,
    pub ignored: Vec<String>,
    pub rows: Vec<Row>,
}

/// One record of the list and the line it starts on (the header is line 1).
#[derive(Debug)]
pub struct Row {
    pub line: u64,
    pub fields: StringRecord,
}

impl List {
    /// The value of `column` in `row`, or `None` when the cell is empty or
    /// the column absent.
    pub fn get<'a>(&self, row: &'a Row, column: &str) -> Option<&'a str> {
        let index = *self.columns.get(column)?;
        row.fields.get(index).filter(|value| !value.is_empty())
    }

    /// How many fields each record must have.
    pub fn width(&self) -> usize {
        self.columns.len() + self.ignored.len()
    }
}

/// Reads and parses the list in `file`.
pub fn read(file: &Path) -> Result<List, Problem> {
    let text = read_text(file)?;
    parse(&text).map_err(|mut problem| {
        problem.message = format!("could not import `{}`: {}", file.display(), problem.message);
        problem
    })
}

/// The list's text, without a byte-order mark.
fn read_text(file: &Path) -> Result<String, Problem> {
    let cannot = |err: std::io::Error| {
        Problem::new(format!(
            "could not read `{}`: {}",
            file.display(),
            describe_io(&err)
        ))
    };
    let meta = std::fs::metadata(file).map_err(cannot)?;
    if meta.len() > MAX_LIST_BYTES {
        return Err(too_large(file));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .and_then(|handle| handle.take(MAX_LIST_BYTES + 1).read_to_end(&mut bytes))
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_LIST_BYTES {
        return Err(too_large(file));
    }
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&bytes)
        .to_vec();
    String::from_utf8(bytes).map_err(|err| not_utf8(file, &err))
}

fn too_large(file: &Path) -> Problem {
    Problem::new(format!(
        "could not read `{}`: leavers lists are limited to 5 MiB",
        file.display()
    ))
    .with_hint("split the list into several files and import each")
}

fn not_utf8(file: &Path, err: &std::string::FromUtf8Error) -> Problem {
    let good = &err.as_bytes()[..err.utf8_error().valid_up_to()];
    let line = good.iter().filter(|&&byte| byte == b'\n').count() + 1;
    Problem::new(format!(
        "could not read `{}`: line {line} is not UTF-8 text",
        file.display()
    ))
    .with_hint("export the list as \"CSV UTF-8\"")
}

/// Parses the CSV text: the header, then every record that holds something.
fn parse(text: &str) -> Result<List, Problem> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        // Record widths are checked by `import` itself, so that every bad
        // row is reported and a line of mere spaces counts as blank.
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|err| Problem::new(format!("the header cannot be read: {err}")))?
        .clone();
    let mut list = columns(&header)?;
    for record in reader.records() {
        let fields =
            record.map_err(|err| Problem::new(format!("the list cannot be read: {err}")))?;
        if fields.iter().all(str::is_empty) {
            continue;
        }
        let line = fields.position().map_or(0, |at| start_line(text, at));
        list.rows.push(Row { line, fields });
    }
    Ok(list)
}

/// The line a record starts on. The reader's position is where it began
/// looking for the record, before the line ends it skipped (blank lines, and
/// the `\n` of a CRLF), so those are counted on top of its line.
fn start_line(text: &str, at: &csv::Position) -> u64 {
    let from = usize::try_from(at.byte()).unwrap_or(usize::MAX);
    let skipped = text
        .as_bytes()
        .get(from..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&byte| byte == b'\r' || byte == b'\n')
        .filter(|&&byte| byte == b'\n')
        .count();
    at.line() + skipped as u64
}

/// Maps the header's names, compared without case, to the known columns.
fn columns(header: &StringRecord) -> Result<List, Problem> {
    let known = REQUIRED.iter().chain(OPTIONAL.iter());
    let mut list = List {
        columns: HashMap::new(),
        ignored: Vec::new(),
        rows: Vec::new(),
    };
    for (index, name) in header.iter().enumerate() {
        let lower = name.to_lowercase();
        match known.clone().find(|column| **column == lower) {
            Some(column) if list.columns.contains_key(column) => {
                return Err(Problem::new(format!(
                    "the column `{column}` appears twice in the header"
                ))
                .with_hint("keep one column of each name"));
            }
            Some(column) => {
                list.columns.insert(column, index);
            }
            None if name.is_empty() => list.ignored.push(format!("(column {})", index + 1)),
            None => list.ignored.push(name.to_string()),
        }
    }
    let missing: Vec<&str> = REQUIRED
        .into_iter()
        .filter(|column| !list.columns.contains_key(column))
        .collect();
    match missing.is_empty() {
        true => Ok(list),
        false => Err(missing_columns(&missing)),
    }
}

fn missing_columns(missing: &[&str]) -> Problem {
    let names = super::quoted_list(missing.iter().copied());
    let noun = if missing.len() == 1 {
        "column"
    } else {
        "columns"
    };
    Problem::new(format!("the list has no {names} {noun}"))
        .with_hint("the first line must name the columns, `username` and `last_day` among them")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_without_case_or_spaces() {
        let list = parse(" UserName ,Last_Day,Department\r\njsmith,2026-12-31,Lab\r\n").unwrap();
        assert_eq!(list.ignored, ["Department"]);
        assert_eq!(list.get(&list.rows[0], "username"), Some("jsmith"));
        assert_eq!(list.rows[0].line, 2);
    }

    #[test]
    fn blank_records_are_skipped_and_lines_kept() {
        let list = parse("username,last_day\n\n  \n,\nbob,2026-01-01\n").unwrap();
        assert_eq!(list.rows.len(), 1);
        assert_eq!(list.rows[0].line, 5);
    }

    #[test]
    fn lines_count_crlf_blank_and_multiline_records() {
        let text = "username,last_day,reason\r\n\r\n\r\na,2026-01-01,\"two\r\nlines\"\r\nb,2026-01-01,\r\n\nc,2026-01-01,\n";
        let list = parse(text).unwrap();
        let lines: Vec<u64> = list.rows.iter().map(|row| row.line).collect();
        assert_eq!(lines, [4, 6, 8]);
    }

    #[test]
    fn a_column_named_twice_is_refused() {
        let problem = parse("username,Username,last_day\n").unwrap_err();
        assert_eq!(
            problem.message,
            "the column `username` appears twice in the header"
        );
    }

    #[test]
    fn a_missing_column_is_named() {
        let problem = parse("username,leaving\n").unwrap_err();
        assert!(
            problem.message.contains("`last_day`"),
            "{}",
            problem.message
        );
    }
}
