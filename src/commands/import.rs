//! `handover import FILE.csv --out DIR`: turns an HR leavers list into plan
//! files, reporting ignored columns, bad rows and refused files on stderr;
//! with `--format json`, the files written and the columns ignored on stdout.

use std::path::Path;

use serde_json::json;

use crate::Exit;
use crate::cli::Format;
use crate::import::{self, Failure, Request, quoted_list};
use crate::output::{Printer, error};

pub fn run(printer: &Printer, request: Request) -> Exit {
    let outcome = import::import(request);
    if !outcome.ignored.is_empty() && !printer.quiet {
        let names = quoted_list(outcome.ignored.iter().map(String::as_str));
        let noun = if outcome.ignored.len() == 1 {
            "column"
        } else {
            "columns"
        };
        eprintln!("warning: ignoring {noun} {names}");
    }
    match outcome.result {
        Ok(written) => {
            if printer.format == Format::Json {
                printer.json(&json!({
                    "written": written,
                    "ignored_columns": outcome.ignored,
                }));
            } else if !printer.quiet {
                printer.text(&summary(request, &written));
            }
            Exit::Success
        }
        Err(failure) => {
            report(request, &failure);
            failure.exit()
        }
    }
}

fn summary(request: Request, written: &[std::path::PathBuf]) -> String {
    if written.is_empty() {
        return format!(
            "no leavers in `{}`: nothing written",
            request.list.display()
        );
    }
    let mut text: String = written
        .iter()
        .map(|path| format!("wrote `{}`\n", path.display()))
        .collect();
    let noun = if written.len() == 1 { "plan" } else { "plans" };
    text.push_str(&format!(
        "wrote {} {noun} to `{}`\n",
        written.len(),
        shown_dir(request.out)
    ));
    text
}

/// A directory as shown: with a final `/`.
fn shown_dir(dir: &Path) -> String {
    let text = dir.display().to_string();
    match text.ends_with('/') {
        true => text,
        false => format!("{text}/"),
    }
}

fn report(request: Request, failure: &Failure) {
    let list = request.list.display();
    match failure {
        Failure::List(problem) => error(&problem.message, problem.hint.as_deref()),
        Failure::Rows(rows) => {
            for row in rows {
                eprint!("{}", row.render(request.list));
            }
            let mut lines: Vec<u64> = rows.iter().map(|row| row.line).collect();
            lines.dedup();
            let noun = if lines.len() == 1 { "row" } else { "rows" };
            error(
                &format!(
                    "could not import `{list}`: {} bad {noun}; no plan written",
                    lines.len()
                ),
                None,
            );
        }
        Failure::Exists(paths) => {
            let names: Vec<String> = paths
                .iter()
                .map(|path| path.display().to_string())
                .collect();
            let names = quoted_list(names.iter().map(String::as_str));
            error(
                &format!("could not import `{list}`: {names} already exist; no plan written"),
                Some("check them, then run again with `--force` to replace them"),
            );
        }
        Failure::SelfCheck(diagnostics) => {
            for diagnostic in diagnostics {
                eprint!("{}", diagnostic.render(None));
            }
            error(
                &format!(
                    "could not import `{list}`: a generated plan does not load; no plan written"
                ),
                Some("this is a bug in `handover import`; please report it with the lines above"),
            );
        }
        Failure::Write { problem, written } => {
            let hint = (!written.is_empty()).then(|| {
                format!(
                    "the {} plan files written before it are whole; fix the cause, then run again with `--force`",
                    written.len()
                )
            });
            error(&problem.message, hint.as_deref());
        }
    }
}
