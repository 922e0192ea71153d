//! `handover validate PATH…`: YAML syntax, JSON Schema and the plans' meaning
//! across all files given, without any database.

use std::path::PathBuf;

use crate::Exit;
use crate::output::{Printer, stderr_wants_color};
use crate::plan::{self, Loaded, meaning};

pub fn run(printer: &Printer, paths: &[PathBuf]) -> Exit {
    let mut loaded = plan::load(paths);
    let findings = meaning::check(&loaded.plans);
    loaded
        .diagnostics
        .extend(findings.iter().map(|finding| finding.diagnostic()));
    report(&loaded);
    if loaded.diagnostics.is_empty() {
        if !printer.quiet {
            printer.text(&summary(&loaded));
        }
        Exit::Success
    } else {
        let count = loaded.diagnostics.len();
        let plural = if count == 1 { "" } else { "s" };
        crate::output::error(
            &format!("{count} problem{plural} found in plan files"),
            None,
        );
        Exit::Invalid
    }
}

/// Prints every diagnostic on stderr, with the source line on a terminal.
pub fn report(loaded: &Loaded) {
    let show_source = stderr_wants_color() || std::env::var_os("HANDOVER_SNIPPETS").is_some();
    for diagnostic in &loaded.diagnostics {
        let source = show_source
            .then(|| loaded.sources.get(&diagnostic.file))
            .flatten();
        eprint!("{}", diagnostic.render(source));
    }
}

fn summary(loaded: &Loaded) -> String {
    let files = loaded.sources.len();
    let plans = loaded.plans.len();
    format!(
        "{plans} plan{} in {files} file{}: valid",
        if plans == 1 { "" } else { "s" },
        if files == 1 { "" } else { "s" }
    )
}
