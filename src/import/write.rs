//! Writing the generated plan files into the output directory: existing
//! files are refused unless forced, and each file is written to a temporary
//! name in the same directory, then renamed, so no half-written plan exists.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::Problem;
use crate::plan::source::describe_io;

/// A plan file to write: its path in the output directory and its text.
#[derive(Debug, Clone)]
pub struct PlanFile {
    pub path: PathBuf,
    pub text: String,
}

/// The files of `plans` that already exist.
pub fn existing(plans: &[PlanFile]) -> Vec<PathBuf> {
    plans
        .iter()
        .filter(|plan| fs::symlink_metadata(&plan.path).is_ok())
        .map(|plan| plan.path.clone())
        .collect()
}

/// Creates `dir` when missing.
pub fn prepare(dir: &Path) -> Result<(), Problem> {
    fs::create_dir_all(dir).map_err(|err| {
        Problem::new(format!(
            "could not create `{}`: {}",
            dir.display(),
            describe_io(&err)
        ))
    })
}

/// Writes `plan` atomically: a temporary file beside it, then a rename.
pub fn write(plan: &PlanFile) -> Result<(), Problem> {
    let temporary = temporary_path(&plan.path);
    let written =
        write_new(&temporary, &plan.text).and_then(|()| fs::rename(&temporary, &plan.path));
    written.map_err(|err| {
        let _ = fs::remove_file(&temporary);
        Problem::new(format!(
            "could not write `{}`: {}",
            plan.path.display(),
            describe_io(&err)
        ))
    })
}

fn write_new(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// `.NAME.tmp-PID` beside `path`: hidden, and not a `*.yaml` plan file.
fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}
