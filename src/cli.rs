//! The command line: global options, subcommands, and the dispatch from a
//! parsed command to the module that carries it out.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::Exit;
use crate::commands;

/// Offboard people from a clinic's EMR, declaratively and safely.
#[derive(Debug, Parser)]
#[command(name = "handover", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted before or after any subcommand.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// The clinic database: a SQLite file path, `sqlite://PATH` or `postgres://…`.
    #[arg(long, global = true, env = "HANDOVER_DB", default_value = "clinic.db")]
    pub db: String,
    /// Configuration file (TOML); `handover.toml` is read if present.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format of results.
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,
    /// More diagnostics on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print nothing on stdout when there is nothing to report; errors only on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Format of the diagnostics written to stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How results are printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

/// How diagnostics are written on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check plan files (YAML, schema, meaning across files) without a database.
    Validate {
        /// Plan files or directories of plan files.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Print the plan JSON Schema.
    Schema,
}

/// Runs the parsed command.
pub fn dispatch(cli: Cli) -> Exit {
    crate::logging::init(&cli.global);
    let printer = crate::output::Printer::new(&cli.global);
    match cli.command {
        Command::Validate { paths } => commands::validate::run(&printer, &paths),
        Command::Schema => commands::schema::run(&printer),
    }
}
