//! Loading plan files through the layers of validation: the file itself,
//! YAML syntax, the JSON Schema, then resolution. Every problem of a file is
//! reported, not just the first; later layers run only on what passed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::findings::{Finding, schema_findings};
use super::model::PlanDocument;
use super::resolve::resolve;
use super::resolved::Plan;
use super::schema::Shape;
use super::source;
use super::yaml::{self, Positions};
use crate::diagnostic::Diagnostic;

/// What loading a set of paths gave: the plans of every valid file, the
/// findings about the others, and the text of each file read (for showing
/// the offending line).
#[derive(Debug, Default)]
pub struct Loaded {
    pub plans: Vec<Plan>,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: BTreeMap<PathBuf, Arc<String>>,
}

/// Loads every plan file named by `paths` (files or directories).
pub fn load(paths: &[PathBuf]) -> Loaded {
    let (files, problems) = source::expand(paths);
    let mut loaded = Loaded {
        diagnostics: problems,
        ..Loaded::default()
    };
    for file in files {
        let text = match source::read(&file) {
            Ok(text) => text,
            Err(problem) => {
                loaded.diagnostics.push(problem);
                continue;
            }
        };
        loaded.sources.insert(file.clone(), text.clone());
        match load_text(&file, &text) {
            Ok(plans) => loaded.plans.extend(plans),
            Err(problems) => loaded.diagnostics.extend(problems),
        }
    }
    loaded
}

/// Loads the plans of one file's text.
pub fn load_text(file: &Path, text: &str) -> Result<Vec<Plan>, Vec<Diagnostic>> {
    let document = yaml::parse(text).map_err(|err| {
        let mut diagnostic = Diagnostic::file(file, err.message);
        diagnostic.line = err.position.line;
        diagnostic.column = err.position.column;
        vec![diagnostic]
    })?;
    let shape = Shape::of(&document.value);
    let findings = schema_findings(shape, &document.value);
    if !findings.is_empty() {
        let mut problems: Vec<Diagnostic> = findings
            .into_iter()
            .map(|finding| locate(file, &document.positions, finding))
            .collect();
        problems.sort_by_key(|problem| (problem.line, problem.column));
        return Err(problems);
    }
    let typed: PlanDocument = serde_json::from_value(document.value).map_err(|err| {
        vec![Diagnostic::file(
            file,
            format!("could not read the plan: {err}"),
        )]
    })?;
    resolve(Arc::new(file.to_path_buf()), &typed, &document.positions)
}

fn locate(file: &Path, positions: &Positions, finding: Finding) -> Diagnostic {
    let position = match finding.at_key {
        true => positions.key(&finding.pointer),
        false => positions.value(&finding.pointer),
    };
    Diagnostic {
        file: file.to_path_buf(),
        line: position.line,
        column: position.column,
        field: crate::diagnostic::field_path(&finding.pointer),
        code: None,
        message: finding.message,
        hint: finding.hint,
    }
}
