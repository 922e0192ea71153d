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
    /// The whole story on a sample clinic in a fresh SQLite file: build it,
    /// review the example plans, apply the ready ones, show the result.
    Demo {
        /// Where to build the sample clinic (emptied first); a new
        /// temporary directory by default.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Check plan files (YAML, schema, meaning across files) without a database.
    Validate {
        /// Plan files or directories of plan files.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Print the plan JSON Schema.
    Schema,
    /// Review plans against the clinic database (a dry run that changes nothing).
    Plan {
        /// Plan files or directories of plan files.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Check that this operator may carry the plans out (no password asked).
        #[arg(long, value_name = "NAME")]
        operator: Option<String>,
        /// Also save the review as JSON, for `apply --reviewed`.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Carry plans out: authenticate, review again, confirm, run step by step.
    Apply {
        /// Plan files or directories of plan files.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// The operator carrying the plans out (needs `edit_other_users`).
        #[arg(long, value_name = "NAME")]
        operator: String,
        /// Read the operator's password from the first line of this file.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Do not ask for confirmation (needed without a terminal).
        #[arg(long)]
        yes: bool,
        /// Apply only plans in this saved review, refusing any that changed.
        #[arg(long, value_name = "FILE")]
        reviewed: Option<PathBuf>,
        /// Stop at the first blocked or failed plan.
        #[arg(long)]
        fail_fast: bool,
        /// Share the batch with other runners started the same way, on this
        /// machine or others: each claims one plan at a time.
        #[arg(long)]
        workers: bool,
        /// With `--workers`: seconds a claimed plan stays a worker's without
        /// renewal (each step renews it); a dead worker's plan is taken over
        /// once it ends.
        #[arg(long, value_name = "SECS", default_value_t = DEFAULT_LEASE_SECS,
              value_parser = clap::value_parser!(u64).range(1..=3600), requires = "workers")]
        lease_secs: u64,
    },
    /// Show the audit trail, or `audit verify` to check it end to end.
    Audit {
        #[command(subcommand)]
        command: Option<AuditCommand>,
        /// Only the entries about this user.
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
    },
    /// Runs, their steps and times, and queued billing deliveries.
    Status {
        /// Only runs active on or after this date (YYYY-MM-DD, UTC).
        #[arg(long, value_name = "DATE")]
        since: Option<jiff::civil::Date>,
    },
    /// Reactivate a deactivated user (same operator rules as apply).
    Reactivate {
        /// The user to reactivate.
        user: String,
        /// The operator (needs `edit_other_users`).
        #[arg(long, value_name = "NAME")]
        operator: String,
        /// Read the operator's password from the first line of this file.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Create, check or seed the clinic database.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// List the active users, or with `--deactivated` the deactivated ones
    /// with when and by whom.
    Users {
        /// List the deactivated users instead of the active ones.
        #[arg(long)]
        deactivated: bool,
    },
    /// Turn an HR leavers list (CSV) into one plan file per leaver; nothing
    /// is written when any row is bad.
    Import {
        /// The leavers list: a CSV file with a header line.
        #[arg(value_name = "FILE.csv")]
        file: PathBuf,
        /// The directory that receives the plan files (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Replace plan files that already exist.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the whole hash chain; exit 1 naming the first bad entry.
    Verify,
}

/// How long a worker's claim on a plan lasts without renewal, by default.
pub const DEFAULT_LEASE_SECS: u64 = 60;

/// The most rows `db seed` makes of any one kind.
pub const MAX_SEED_ROWS: u64 = 50_000_000;
/// The most users `db seed` generates of one role.
pub const MAX_SEED_USERS: u64 = 100_000;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create the EMR tables and indexes if absent, or check an existing
    /// database's tables and columns (changing nothing when one is missing);
    /// then apply handover's own migrations. Safe to run again.
    Init,
    /// Fill a new database with a deterministic synthetic clinic: the named
    /// cast of the demo (`admin`, `jsmith`, `apatel`, …) plus generated users
    /// and items. The same sizes, `--seed` and day (`HANDOVER_NOW`) give the
    /// same rows. Refuses (exit 1) a database that already has users.
    Seed(SeedArgs),
}

/// Accepts a count of generated users up to [`MAX_SEED_USERS`].
fn users_limit() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(..=MAX_SEED_USERS)
}

/// Accepts a count of rows up to [`MAX_SEED_ROWS`].
fn rows_limit() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(..=MAX_SEED_ROWS)
}

/// Sizes and secrets of a seeded clinic.
#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// Generated practitioners beyond the named cast.
    #[arg(long, default_value_t = 20, value_parser = users_limit())]
    pub practitioners: u64,
    /// Generated staff beyond the named cast.
    #[arg(long, default_value_t = 5, value_parser = users_limit())]
    pub staff: u64,
    /// Appointments, past and future.
    #[arg(long, default_value_t = 2_000, value_parser = rows_limit())]
    pub appointments: u64,
    /// Inbox messages, some snoozed, about half archived.
    #[arg(long, default_value_t = 2_000, value_parser = rows_limit())]
    pub messages: u64,
    /// Qnaires of all three kinds.
    #[arg(long, default_value_t = 800, value_parser = rows_limit())]
    pub qnaires: u64,
    /// Billing claims, some pending.
    #[arg(long, default_value_t = 300, value_parser = rows_limit())]
    pub claims: u64,
    /// The random seed: the same seed gives the same clinic.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The password of the operator `admin`; a random one is generated and
    /// printed once when not given.
    #[arg(long, env = "HANDOVER_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
}

/// Runs the parsed command.
pub fn dispatch(cli: Cli) -> Exit {
    crate::logging::init(&cli.global);
    let printer = crate::output::Printer::new(&cli.global);
    match cli.command {
        Command::Demo { dir } => commands::demo::run(&printer, &cli.global, dir.as_deref()),
        Command::Validate { paths } => commands::validate::run(&printer, &paths),
        Command::Schema => commands::schema::run(&printer),
        Command::Apply {
            paths,
            operator,
            password_file,
            yes,
            reviewed,
            fail_fast,
            workers,
            lease_secs,
        } => {
            let request = commands::apply::Request {
                paths: &paths,
                operator: &operator,
                password_file: password_file.as_deref(),
                yes,
                reviewed: reviewed.as_deref(),
                fail_fast,
                workers: workers.then(|| std::time::Duration::from_secs(lease_secs)),
            };
            commands::apply::run(&printer, &cli.global, request)
        }
        Command::Plan {
            paths,
            operator,
            out,
        } => {
            let request = commands::plan::Request {
                paths: &paths,
                operator: operator.as_deref(),
                out: out.as_deref(),
            };
            commands::plan::run(&printer, &cli.global, request)
        }
        Command::Audit {
            command: Some(AuditCommand::Verify),
            ..
        } => commands::audit::verify(&printer, &cli.global),
        Command::Audit {
            command: None,
            user,
        } => commands::audit::list(&printer, &cli.global, user.as_deref()),
        Command::Status { since } => commands::status::run(&printer, &cli.global, since),
        Command::Reactivate {
            user,
            operator,
            password_file,
        } => commands::reactivate::run(
            &printer,
            &cli.global,
            &user,
            &operator,
            password_file.as_deref(),
        ),
        Command::Db { command } => commands::db::run(&printer, &cli.global, command),
        Command::Users { deactivated } => commands::users::run(&printer, &cli.global, deactivated),
        Command::Import { file, out, force } => {
            let request = crate::import::Request {
                list: &file,
                out: &out,
                force,
            };
            commands::import::run(&printer, request)
        }
    }
}
