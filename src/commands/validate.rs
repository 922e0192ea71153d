//! `handover validate PATH…`: YAML syntax, JSON Schema and the plans' meaning
//! across all files given, without any database.

use std::path::PathBuf;

use crate::Exit;
use crate::output::Printer;

pub fn run(_printer: &Printer, _paths: &[PathBuf]) -> Exit {
    Exit::Invalid
}
