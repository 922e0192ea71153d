//! One module per subcommand: each turns its arguments into library calls
//! and the outcome into results on stdout and an [`crate::Exit`].

pub mod apply;
pub mod audit;
pub mod db;
pub mod demo;
pub mod import;
pub mod plan;
pub mod reactivate;
pub mod schema;
pub mod status;
pub mod users;
pub mod validate;

use crate::Exit;
use crate::store::StoreError;

/// Reports a database problem on stderr and gives its exit code.
pub fn store_failure(err: &StoreError) -> Exit {
    crate::output::error(&err.to_string(), err.hint().as_deref());
    err.exit()
}

/// The current time, or an invalid-input exit when `HANDOVER_NOW` is bad.
pub fn now() -> Result<jiff::Timestamp, Exit> {
    crate::clock::now().map_err(|err| {
        crate::output::error(
            &err.to_string(),
            Some("use an RFC 3339 time such as `2026-12-01T09:00:00Z`"),
        );
        Exit::Invalid
    })
}
