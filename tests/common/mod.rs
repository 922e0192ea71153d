//! Shared helpers for the integration tests: the real binary with a clean
//! environment, and a temporary working directory per test.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub mod clinic;
pub mod invariants;

/// The fixed clock every test runs at, unless it sets its own.
pub const NOW: &str = "2026-12-01T09:00:00Z";

/// The `handover` binary in `dir`, with no inherited settings.
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
