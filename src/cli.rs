//! The command line.

use clap::{Parser, Subcommand};

use crate::Exit;

#[derive(Debug, Parser)]
#[command(name = "handover", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the plan JSON Schema.
    Schema,
}

pub fn dispatch(cli: Cli) -> Exit {
    match cli.command {
        Command::Schema => {
            print!("{}", crate::plan::schema::plan_schema_text());
            Exit::Success
        }
    }
}
