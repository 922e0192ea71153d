//! The `handover` binary: parse the command line, run it, exit with its code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Crash tests configure failpoints through `FAILPOINTS`; only builds
    // with the `failpoints` feature read it.
    #[cfg(feature = "failpoints")]
    let _failpoints = fail::FailScenario::setup();
    let cli = handover::cli::Cli::parse();
    let exit = handover::run(cli);
    ExitCode::from(exit.code())
}
