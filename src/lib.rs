//! `handover`: declarative, reviewable and crash-safe offboarding of users
//! from a clinic's EMR. The binary is a thin shell around [`run`].

pub mod apply;
pub mod audit;
pub mod billing;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod diagnostic;
pub mod exit;
pub mod import;
pub mod logging;
pub mod operator;
pub mod output;
pub mod password;
pub mod plan;
pub mod review;
pub mod seed;
pub mod store;

pub use exit::Exit;

/// Runs a parsed command line and says how it ended.
pub fn run(cli: cli::Cli) -> Exit {
    cli::dispatch(cli)
}
