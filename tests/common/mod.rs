//! Shared helpers for the integration tests: the real binary with a clean
//! environment, a temporary working directory per test, a test database on
//! either backend, and [`on_both_backends!`] to run a test on each.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub mod clinic;
pub mod db;
pub mod invariants;

#[allow(unused_imports)]
pub use db::Backend;

/// Runs the test function `name(backend: Backend)` once per backend, as
/// the tests `name::sqlite` and `name::postgres`, which nextest lists and
/// runs apart. Attributes (such as a `cfg`) apply to both.
///
/// ```ignore
/// on_both_backends!(apply_hands_everything_over);
/// fn apply_hands_everything_over(backend: Backend) { … }
/// ```
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($(#[$attribute:meta])* $name:ident) => {
        $(#[$attribute])*
        mod $name {
            #[test]
            fn sqlite() {
                super::$name($crate::common::Backend::Sqlite)
            }

            #[test]
            fn postgres() {
                super::$name($crate::common::Backend::Postgres)
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use on_both_backends;

/// The fixed clock every test runs at, unless it sets its own.
pub const NOW: &str = "2026-12-01T09:00:00Z";

/// The `handover` binary in `dir`, with no inherited settings (no database
/// either: use `Clinic::handover` to run it on a clinic).
pub fn handover(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("handover").expect("the handover binary is built");
    command
        .current_dir(dir)
        .env_remove("HANDOVER_DB")
        .env_remove("HANDOVER_PASSWORD")
        .env_remove("RUST_LOG")
        .env("HANDOVER_NOW", NOW)
        .env("NO_COLOR", "1");
    command
}

/// The repository root, for fixtures and example plans.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture path under `tests/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

/// The output of a finished command as text.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(command: &mut Command) -> Run {
    let output = command.output().expect("the handover binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
