//! `handover import`: an HR leavers list (CSV) becomes one plan file per
//! leaver. Every row is checked before anything is written, every generated
//! plan is loaded back as a self-check, and the files are written atomically.

pub mod emit;
pub mod leaver;
pub mod list;
pub mod write;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::Exit;
use crate::diagnostic::Diagnostic;
use crate::plan::{load::load_text, meaning};
use write::PlanFile;

/// What to import and where.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The leavers list (CSV).
    pub list: &'a Path,
    /// The directory that receives the plan files.
    pub out: &'a Path,
    /// Replace plan files that already exist.
    pub force: bool,
}

/// How an import went: the columns ignored (known as soon as the header is
/// read) and the files written, or why none were.
#[derive(Debug)]
pub struct Outcome {
    pub ignored: Vec<String>,
    pub result: Result<Vec<PathBuf>, Failure>,
}

/// Why an import wrote nothing, or stopped part way.
#[derive(Debug)]
pub enum Failure {
    /// The list could not be read, or its header lacks a required column.
    List(Problem),
    /// Rows of the list that cannot become plans.
    Rows(Vec<BadRow>),
    /// Plan files that exist already, without `--force`.
    Exists(Vec<PathBuf>),
    /// A generated plan failed to load: a bug of `import`.
    SelfCheck(Vec<Diagnostic>),
    /// Writing failed after the files listed were written.
    Write {
        problem: Problem,
        written: Vec<PathBuf>,
    },
}

impl Failure {
    pub fn exit(&self) -> Exit {
        match self {
            Failure::List(_) | Failure::Rows(_) | Failure::Exists(_) => Exit::Invalid,
            Failure::SelfCheck(_) | Failure::Write { .. } => Exit::Failure,
        }
    }
}

/// A problem with a message and an optional hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    pub fn new(message: impl Into<String>) -> Problem {
        Problem {
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Problem {
        self.hint = Some(hint.into());
        self
    }
}

/// A row that cannot become a plan, by the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    pub message: String,
    pub hint: Option<&'static str>,
}

impl BadRow {
    /// `FILE:LINE: error: message`, then the hint on its own line.
    pub fn render(&self, list: &Path) -> String {
        let mut text = format!("{}:{}: error: {self}\n", list.display(), self.line);
        if let Some(hint) = self.hint {
            text.push_str(&format!("  hint: {hint}\n"));
        }
        text
    }
}

impl fmt::Display for BadRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Imports the list of `request`.
pub fn import(request: Request) -> Outcome {
    let list = match list::read(request.list) {
        Ok(list) => list,
        Err(problem) => {
            return Outcome {
                ignored: Vec::new(),
                result: Err(Failure::List(problem)),
            };
        }
    };
    Outcome {
        ignored: list.ignored.clone(),
        result: plans(request, &list).and_then(|plans| write_all(request, &plans)),
    }
}

/// The plan files of every leaver, each loaded back as a self-check.
fn plans(request: Request, list: &list::List) -> Result<Vec<PlanFile>, Failure> {
    let leavers = leaver::leavers(list).map_err(Failure::Rows)?;
    let files: Vec<PlanFile> = leavers
        .iter()
        .map(|leaver| PlanFile {
            path: request.out.join(format!("{}.yaml", leaver.user)),
            text: emit::plan_text(request.list, leaver),
        })
        .collect();
    self_check(&files)?;
    Ok(files)
}

/// Loads every generated text as `handover validate` would, meaning across
/// the files included.
fn self_check(files: &[PlanFile]) -> Result<(), Failure> {
    let mut loaded = Vec::new();
    let mut problems = Vec::new();
    for file in files {
        match load_text(&file.path, &file.text) {
            Ok(plans) => loaded.extend(plans),
            Err(found) => problems.extend(found),
        }
    }
    problems.extend(
        meaning::check(&loaded)
            .iter()
            .map(|finding| finding.diagnostic()),
    );
    match problems.is_empty() {
        true => Ok(()),
        false => Err(Failure::SelfCheck(problems)),
    }
}

/// Writes every plan file, after refusing existing ones unless forced.
fn write_all(request: Request, files: &[PlanFile]) -> Result<Vec<PathBuf>, Failure> {
    let existing = write::existing(files);
    if !request.force && !existing.is_empty() {
        return Err(Failure::Exists(existing));
    }
    let mut written = Vec::new();
    if files.is_empty() {
        return Ok(written);
    }
    write::prepare(request.out).map_err(|problem| Failure::Write {
        problem,
        written: Vec::new(),
    })?;
    for file in files {
        if let Err(problem) = write::write(file) {
            return Err(Failure::Write { problem, written });
        }
        written.push(file.path.clone());
    }
    Ok(written)
}

/// Names as a list people read: `` `a`, `b` ``.
pub fn quoted_list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
