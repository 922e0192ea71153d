//! What can go wrong with the clinic database, worded for the person at the
//! terminal, and the exit code each problem ends the command with.

use crate::Exit;

/// A problem with the clinic database. The message names the database by
/// its file path or by its URL with the password removed, and never holds
/// patient data.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("could not open the clinic database `{db}`: no such file")]
    NotFound { db: String },

    #[error("could not open the clinic database `{db}`: the directory `{dir}` does not exist")]
    MissingDirectory { db: String, dir: String },

    #[error("could not open the clinic database `{db}`: it is not a SQLite database")]
    NotADatabase { db: String },

    #[error("could not use the clinic database `{db}`: missing EMR {}", missing_list(.missing))]
    Contract { db: String, missing: Vec<String> },

    #[error(
        "could not use the clinic database `{db}`: it was migrated by a newer handover \
         (schema version {found}; this handover knows up to {supported})"
    )]
    TooNew {
        db: String,
        found: i64,
        supported: i64,
    },

    #[error(
        "could not use the clinic database `{db}`: it stayed locked by another process for {waited_ms} ms"
    )]
    Busy { db: String, waited_ms: u64 },

    #[error("could not change the clinic database `{db}`: it is read-only")]
    ReadOnly { db: String },

    #[error("could not read the database URL: unknown scheme `{scheme}`")]
    UnknownScheme { scheme: String },

    #[error("could not connect to the PostgreSQL database `{db}`: {cause}")]
    Unreachable { db: String, cause: String },

    #[error("could not {action} in `{db}`: {source}")]
    Backend {
        db: String,
        action: &'static str,
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The work handed to [`crate::store::Store::write`] failed; its
    /// transaction was rolled back.
    #[error(transparent)]
    Work(anyhow::Error),
}

impl StoreError {
    /// The exit code of DESIGN §7 this problem ends a command with.
    pub fn exit(&self) -> Exit {
        match self {
            StoreError::UnknownScheme { .. } => Exit::Invalid,
            _ => Exit::Failure,
        }
    }

    /// What the person at the terminal can do about it, when there is
    /// something to say.
    pub fn hint(&self) -> Option<String> {
        let hint = match self {
            StoreError::NotFound { .. } => "run `handover db init` first, or check `--db`",
            StoreError::MissingDirectory { .. } => "create the directory, or check `--db`",
            StoreError::NotADatabase { .. } => "check `--db` and `HANDOVER_DB`",
            StoreError::Contract { .. } => {
                "the EMR owns these tables; handover never changes their structure"
            }
            StoreError::TooNew { .. } => "use the handover release that migrated this database",
            StoreError::Busy { .. } => {
                "another process is writing; try again, or raise `HANDOVER_BUSY_TIMEOUT_MS`"
            }
            StoreError::ReadOnly { .. } => {
                "check the file's permissions, and drop `mode=ro` from the URL if set"
            }
            StoreError::Unreachable { .. } => {
                "check that the server is running and that `--db` names the right host, \
                 port, database and user"
            }
            StoreError::UnknownScheme { .. } => {
                "use a file path, `sqlite://PATH` or `postgres://…`"
            }
            _ => return None,
        };
        Some(hint.to_string())
    }
}

fn missing_list(missing: &[String]) -> String {
    let names: Vec<String> = missing.iter().map(|name| format!("`{name}`")).collect();
    let noun = if missing.len() == 1 {
        "table or column"
    } else {
        "tables or columns"
    };
    format!("{noun} {}", names.join(", "))
}
