//! Findings about input files, reported the way editors and people both read
//! them: `path:line:col: error: field: message`, an optional hint on its own
//! line, and on a terminal the offending source line with a pointer.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource};

/// One finding about one place in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: u64,
    pub column: u64,
    /// The field path in the document (`plans[2].appointments.move_to`),
    /// empty for the document as a whole.
    pub field: String,
    /// A stable code for findings about a plan's meaning (`duplicate-user`).
    pub code: Option<&'static str>,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A finding about a whole file, reported at its first line.
    pub fn file(file: &Path, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.to_path_buf(),
            line: 1,
            column: 1,
            field: String::new(),
            code: None,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_code(mut self, code: &'static str) -> Diagnostic {
        self.code = Some(code);
        self
    }

    /// Renders the diagnostic for stderr; with `source`, adds the offending
    /// line underlined, as people see it on a terminal.
    pub fn render(&self, source: Option<&Arc<String>>) -> String {
        let mut text = format!("{self}\n");
        if let Some(hint) = &self.hint {
            text.push_str(&format!("  hint: {hint}\n"));
        }
        if let Some(source) = source {
            text.push_str(&self.snippet(source));
        }
        text
    }

    fn snippet(&self, source: &Arc<String>) -> String {
        let Some(offset) = byte_offset(source, self.line, self.column) else {
            return String::new();
        };
        let length = token_length(&source[offset..]);
        let report = MietteDiagnostic::new(self.message.clone())
            .with_label(LabeledSpan::at(offset..offset + length, "here"));
        let named = NamedSource::new(self.file.display().to_string(), source.to_string());
        let report = miette::Report::new(report).with_source_code(named);
        let mut out = String::new();
        let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
            .with_context_lines(1)
            .with_footer(String::new());
        if handler.render_report(&mut out, report.as_ref()).is_err() {
            return String::new();
        }
        snippet_only(&out)
    }
}

impl fmt::Display for Diagnostic {
    /// `path:line:col: error: field: message [code]`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: error: ",
            self.file.display(),
            self.line,
            self.column
        )?;
        if !self.field.is_empty() {
            write!(f, "`{}`: ", self.field)?;
        }
        write!(f, "{}", self.message)?;
        if let Some(code) = self.code {
            write!(f, " [{code}]")?;
        }
        Ok(())
    }
}

/// Keeps the source excerpt of a miette report and drops its heading, which
/// repeats what our first line already says.
fn snippet_only(report: &str) -> String {
    let lines: Vec<&str> = report.lines().collect();
    let start = lines
        .iter()
        .position(|line| line.contains('['))
        .unwrap_or(0);
    let mut out: String = lines[start..]
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| format!("  {}\n", line.trim_end()))
        .collect();
    if out.is_empty() {
        out = String::new();
    }
    out
}

/// The byte offset of a 1-based line and column (counted in characters).
fn byte_offset(source: &str, line: u64, column: u64) -> Option<usize> {
    let start: usize = source
        .split_inclusive('\n')
        .take(usize::try_from(line).ok()?.checked_sub(1)?)
        .map(str::len)
        .sum();
    let rest = source.get(start..)?;
    let within = rest
        .char_indices()
        .nth(usize::try_from(column).ok()?.saturating_sub(1))
        .map(|(index, _)| index)
        .unwrap_or(0);
    Some(start + within)
}

/// How far the pointer under an error extends: to the end of the word.
fn token_length(rest: &str) -> usize {
    let end = rest
        .char_indices()
        .find(|(_, ch)| ch.is_whitespace() || matches!(ch, ':' | ',' | '}' | ']'))
        .map(|(index, _)| index)
        .unwrap_or(rest.len());
    end.max(1).min(rest.len())
}

/// Turns a JSON pointer (`/plans/2/inbox`) into a field path people read
/// (`plans[2].inbox`).
pub fn field_path(pointer: &str) -> String {
    let mut path = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment.parse::<usize>().is_ok() {
            path.push_str(&format!("[{segment}]"));
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&segment);
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_read_like_code() {
        assert_eq!(field_path(""), "");
        assert_eq!(
            field_path("/plans/2/appointments/move_to"),
            "plans[2].appointments.move_to"
        );
        assert_eq!(field_path("/a~1b"), "a/b");
    }

    #[test]
    fn offsets_count_characters_from_one() {
        let source = "ab\ncdé f\n";
        assert_eq!(byte_offset(source, 1, 1), Some(0));
        assert_eq!(byte_offset(source, 2, 5), Some(8));
    }

    #[test]
    fn display_is_editor_friendly() {
        let diagnostic = Diagnostic {
            file: "jobs/a.yaml".into(),
            line: 3,
            column: 5,
            field: "plans[0].user".into(),
            code: Some("duplicate-user"),
            message: "`jsmith` is planned twice".into(),
            hint: None,
        };
        assert_eq!(
            diagnostic.to_string(),
            "jobs/a.yaml:3:5: error: `plans[0].user`: `jsmith` is planned twice [duplicate-user]"
        );
    }
}
