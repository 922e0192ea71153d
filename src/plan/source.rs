//! Finding and reading plan files: directories expand to their `*.yaml` and
//! `*.yml` files in name order; every file is size-checked before it is read
//! and must be UTF-8 text.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::Diagnostic;

/// The largest plan file accepted, checked before parsing.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The plan files named by `paths`, or a diagnostic for each path that
/// names none.
pub fn expand(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        match fs::metadata(path) {
            Err(err) => problems.push(Diagnostic::file(path, describe_io(&err))),
            Ok(meta) if meta.is_dir() => match plan_files_in(path) {
                Ok(found) if found.is_empty() => problems.push(
                    Diagnostic::file(path, "no plan files in this directory")
                        .with_hint("plan files end in `.yaml` or `.yml`"),
                ),
                Ok(found) => files.extend(found),
                Err(err) => problems.push(Diagnostic::file(path, describe_io(&err))),
            },
            Ok(_) => files.push(path.clone()),
        }
    }
    (files, problems)
}

fn plan_files_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let is_plan = matches!(
            path.extension().and_then(|ext| ext.to_str()),
            Some("yaml" | "yml")
        );
        if is_plan && path.is_file() {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// Reads a plan file as text, refusing large, non-UTF-8 and empty files.
pub fn read(path: &Path) -> Result<Arc<String>, Diagnostic> {
    let meta = fs::metadata(path).map_err(|err| Diagnostic::file(path, describe_io(&err)))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large(path, meta.len()));
    }
    let mut bytes = Vec::new();
    fs::File::open(path)
        .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|err| Diagnostic::file(path, describe_io(&err)))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(path, bytes.len() as u64));
    }
    let text = String::from_utf8(bytes).map_err(|err| not_utf8(path, &err))?;
    if is_blank(&text) {
        return Err(Diagnostic::file(path, "the file is empty")
            .with_hint("a plan file holds `version: 1` and `user`, or `version: 1` and `plans`"));
    }
    Ok(Arc::new(text))
}

/// Whether a YAML text holds nothing but blank lines and comments.
fn is_blank(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line == "---" || line == "..."
    })
}

fn too_large(path: &Path, bytes: u64) -> Diagnostic {
    Diagnostic::file(
        path,
        format!(
            "the file is {:.1} MiB; plan files are limited to 1 MiB",
            bytes as f64 / (1024.0 * 1024.0)
        ),
    )
    .with_hint("split a large batch into several files in one directory")
}

fn not_utf8(path: &Path, err: &std::string::FromUtf8Error) -> Diagnostic {
    let good = &err.as_bytes()[..err.utf8_error().valid_up_to()];
    let text = String::from_utf8_lossy(good);
    let line = text.matches('\n').count() as u64 + 1;
    let column = text
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count()) as u64
        + 1;
    let mut diagnostic = Diagnostic::file(path, "the file is not UTF-8 text");
    diagnostic.line = line;
    diagnostic.column = column;
    diagnostic.with_hint("save the plan as UTF-8")
}

/// An I/O error in our message style, without the OS error number.
pub fn describe_io(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => {
            let text = err.to_string();
            match text.find(" (os error") {
                Some(cut) => text[..cut].to_lowercase(),
                None => text.to_lowercase(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_blank;

    #[test]
    fn comments_only_is_blank() {
        assert!(is_blank("# nothing\n\n---\n"));
        assert!(!is_blank("version: 1\n"));
    }
}
