//! `handover schema`: print the plan JSON Schema.

use crate::Exit;
use crate::output::Printer;
use crate::plan::schema::plan_schema_text;

pub fn run(printer: &Printer) -> Exit {
    printer.text(&plan_schema_text());
    Exit::Success
}
