//! The `handover` binary: parse the command line, run it, exit with its code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = handover::cli::Cli::parse();
    let exit = handover::run(cli);
    ExitCode::from(exit.code())
}
