//! Where the benchmark's clinics live: SQLite files (the default) or
//! databases on a PostgreSQL server (`BENCH_DB=postgres://…`). The rest of
//! the benchmark sees only [`Backend`]: an empty clinic to seed, fresh
//! copies of a seeded one, the baseline's tool and dialect, and the rows
//! read back to check and count.

use std::path::Path;
use std::process::Command;

use crate::baseline::Dialect;
use crate::{postgres, sqlite};

/// One clinic database of the benchmark.
#[derive(Debug, Clone)]
pub struct Clinic {
    /// The backend's own name for it: a file path or a database name.
    pub name: String,
    /// What `handover --db` takes: the same path, or a URL.
    pub db: String,
}

pub trait Backend {
    /// Where the clinics are, for the report.
    fn describe(&self) -> anyhow::Result<String>;

    /// The baseline's tool, as the report names it.
    fn tool(&self) -> &'static str;

    /// The dialect of the baseline script.
    fn dialect(&self) -> Dialect;

    /// A new, empty clinic called `name`, replacing any left from before.
    fn empty(&self, name: &str) -> anyhow::Result<Clinic>;

    /// What the backend does to a freshly seeded clinic before it is
    /// measured, said in a few words; `None` when it does nothing.
    fn settle(&self, clinic: &Clinic) -> anyhow::Result<Option<&'static str>>;

    /// A fresh copy of `from` called `name`, replacing any left from before.
    fn copy(&self, from: &Clinic, name: &str) -> anyhow::Result<Clinic>;

    /// Removes the clinic.
    fn remove(&self, clinic: &Clinic) -> anyhow::Result<()>;

    /// The baseline tool running `script` on `clinic`, under GNU time.
    fn baseline(&self, clinic: &Clinic, script: &Path, peak_file: &Path)
    -> anyhow::Result<Command>;

    /// The sha256 of every row of the EMR tables, and how many rows.
    fn emr_digest(&self, clinic: &Clinic) -> anyhow::Result<(String, u64)>;

    /// How many billing disconnects wait in handover's outbox.
    fn pending_disconnects(&self, clinic: &Clinic) -> anyhow::Result<u64>;
}

/// PostgreSQL when `BENCH_DB` holds a `postgres://` URL, else SQLite files
/// in `dir`.
pub fn from_env(dir: &Path) -> anyhow::Result<Box<dyn Backend>> {
    match std::env::var("BENCH_DB") {
        Ok(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Box::new(postgres::Postgres::connect(&url)?))
        }
        Ok(other) if !other.is_empty() => {
            anyhow::bail!("`BENCH_DB` must be a `postgres://` URL, not `{other}`")
        }
        _ => Ok(Box::new(sqlite::Sqlite::new(dir))),
    }
}

/// Hex digits of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
