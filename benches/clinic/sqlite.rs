//! The default backend: each clinic is a SQLite file in the benchmark's
//! temporary directory, copied (with its log) for each run, and the
//! baseline script runs through the `sqlite3` tool.

use std::path::{Path, PathBuf};
use std::process::Command;

use rusqlite::types::ValueRef;
use sha2::{Digest, Sha256};

use crate::backend::{self, Backend, Clinic};
use crate::baseline::{Dialect, EMR_TABLES};
use crate::measure;

const SQLITE3: &str = "/usr/bin/sqlite3";

/// The sides of a database file in WAL mode.
const SIDES: [&str; 2] = ["-wal", "-shm"];

pub struct Sqlite {
    dir: PathBuf,
}

impl Sqlite {
    pub fn new(dir: &Path) -> Sqlite {
        Sqlite {
            dir: dir.to_path_buf(),
        }
    }

    fn clinic(&self, name: &str) -> Clinic {
        let path = self.dir.join(format!("{name}.db"));
        let path = path.display().to_string();
        Clinic {
            name: path.clone(),
            db: path,
        }
    }
}

/// The file and its sides, whichever exist.
fn files(clinic: &Clinic) -> impl Iterator<Item = (&'static str, PathBuf)> + '_ {
    let suffixes = std::iter::once("").chain(SIDES);
    suffixes
        .map(|suffix| (suffix, PathBuf::from(format!("{}{suffix}", clinic.name))))
        .filter(|(_, path)| path.exists())
}

impl Backend for Sqlite {
    fn describe(&self) -> anyhow::Result<String> {
        Ok(format!("SQLite files in {}", self.dir.display()))
    }

    fn tool(&self) -> &'static str {
        "sqlite3"
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn empty(&self, name: &str) -> anyhow::Result<Clinic> {
        let clinic = self.clinic(name);
        self.remove(&clinic)?;
        Ok(clinic)
    }

    fn settle(&self, _: &Clinic) -> anyhow::Result<Option<&'static str>> {
        Ok(None)
    }

    fn copy(&self, from: &Clinic, name: &str) -> anyhow::Result<Clinic> {
        let to = self.empty(name)?;
        for (suffix, path) in files(from) {
            std::fs::copy(path, format!("{}{suffix}", to.name))?;
        }
        Ok(to)
    }

    fn remove(&self, clinic: &Clinic) -> anyhow::Result<()> {
        for (_, path) in files(clinic) {
            std::fs::remove_file(path)?;
        }
        Ok(())
    }

    fn baseline(
        &self,
        clinic: &Clinic,
        script: &Path,
        peak_file: &Path,
    ) -> anyhow::Result<Command> {
        let mut command = measure::timed(Path::new(SQLITE3), peak_file);
        command
            .arg("-bail")
            .arg(&clinic.name)
            .stdin(std::fs::File::open(script)?);
        Ok(command)
    }

    /// Table by table in rowid order.
    fn emr_digest(&self, clinic: &Clinic) -> anyhow::Result<(String, u64)> {
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
        let conn = rusqlite::Connection::open_with_flags(&clinic.name, flags)?;
        let mut hasher = Sha256::new();
        let mut rows = 0;
        for (table, _) in EMR_TABLES {
            hasher.update(table.as_bytes());
            let mut statement = conn.prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))?;
            let columns = statement.column_count();
            let mut cursor = statement.query([])?;
            while let Some(row) = cursor.next()? {
                for index in 0..columns {
                    hash_value(&mut hasher, row.get_ref(index)?);
                }
                rows += 1;
            }
        }
        Ok((backend::hex(&hasher.finalize()), rows))
    }

    fn pending_disconnects(&self, clinic: &Clinic) -> anyhow::Result<u64> {
        let conn = rusqlite::Connection::open(&clinic.name)?;
        let sql = "SELECT count(*) FROM handover_outbox WHERE status <> 'delivered'";
        let count: i64 = conn.query_row(sql, [], |row| row.get(0))?;
        Ok(count.unsigned_abs())
    }
}

fn hash_value(hasher: &mut Sha256, value: ValueRef<'_>) {
    match value {
        ValueRef::Null => hasher.update([0]),
        ValueRef::Integer(int) => {
            hasher.update([1]);
            hasher.update(int.to_le_bytes());
        }
        ValueRef::Real(real) => {
            hasher.update([2]);
            hasher.update(real.to_le_bytes());
        }
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
            hasher.update([3]);
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        }
    }
}
