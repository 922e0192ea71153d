//! The PostgreSQL backend of the benchmark (`BENCH_DB=postgres://…`): each
//! clinic is a database named `handover_bench_…` on that server, made and
//! dropped through the database the URL names. A seeded clinic is copied
//! with `CREATE DATABASE … TEMPLATE` (file copy, so no session may be open
//! on it meanwhile), the baseline script runs through `psql` in one
//! transaction, and every database the benchmark made is dropped at the end.

use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};
use tokio::runtime::Runtime;
use tokio_postgres::{Client, NoTls};

use crate::backend::{self, Backend, Clinic};
use crate::baseline::{Dialect, EMR_TABLES};
use crate::measure;

const PSQL: &str = "/usr/bin/psql";

/// The names of the benchmark's databases start with this.
const PREFIX: &str = "handover_bench_";

/// Rows fetched at once while reading a table for its digest.
const DIGEST_ROWS: i32 = 10_000;

pub struct Postgres {
    runtime: Runtime,
    /// The URL given; its database is where the others are made and dropped.
    url: String,
}

impl Postgres {
    /// Checks that the server answers at `url`.
    pub fn connect(url: &str) -> anyhow::Result<Postgres> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let postgres = Postgres {
            runtime,
            url: url.to_string(),
        };
        postgres.admin("SELECT 1")?;
        Ok(postgres)
    }

    /// Runs `work` in a session on the database at `url`, then closes the
    /// session and waits until it has ended.
    fn session<T>(
        &self,
        url: &str,
        work: impl AsyncFnOnce(&mut Client) -> Result<T, tokio_postgres::Error>,
    ) -> anyhow::Result<T> {
        self.runtime.block_on(async {
            let (mut client, connection) = tokio_postgres::connect(url, NoTls).await?;
            let session = tokio::spawn(connection);
            let outcome = work(&mut client).await;
            drop(client);
            session.await??;
            Ok(outcome?)
        })
    }

    /// Statements run on the database the URL names.
    fn admin(&self, sql: &str) -> anyhow::Result<()> {
        self.session(&self.url, async |client| client.batch_execute(sql).await)
    }

    fn clinic(&self, name: &str) -> anyhow::Result<Clinic> {
        let database = format!("{PREFIX}{name}");
        let db = with_database(&self.url, &database)?;
        Ok(Clinic { name: database, db })
    }

    /// The databases this benchmark made, by their prefix.
    fn made(&self) -> anyhow::Result<Vec<String>> {
        let pattern = format!("{}%", PREFIX.replace('_', "\\_"));
        self.session(&self.url, async |client| {
            let sql = "SELECT datname::text FROM pg_database WHERE datname LIKE $1";
            let rows = client.query(sql, &[&pattern]).await?;
            Ok(rows.iter().map(|row| row.get(0)).collect())
        })
    }

    fn drop_database(&self, database: &str) -> anyhow::Result<()> {
        self.admin(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
    }
}

/// `url` naming `database` instead, its other parts kept.
fn with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let scheme = url
        .find("://")
        .ok_or_else(|| anyhow::anyhow!("`{url}` is not a URL"))?
        + 3;
    let rest = &url[scheme..];
    let authority = rest.find(['/', '?']).unwrap_or(rest.len());
    let (head, tail) = url.split_at(scheme + authority);
    let query = tail.find('?').map_or("", |at| &tail[at..]);
    Ok(format!("{head}/{database}{query}"))
}

impl Backend for Postgres {
    fn describe(&self) -> anyhow::Result<String> {
        let version: String = self.session(&self.url, async |client| {
            let row = client.query_one("SHOW server_version", &[]).await?;
            Ok(row.get(0))
        })?;
        Ok(format!("PostgreSQL {version}, databases {PREFIX}…"))
    }

    fn tool(&self) -> &'static str {
        "psql"
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn empty(&self, name: &str) -> anyhow::Result<Clinic> {
        let clinic = self.clinic(name)?;
        self.drop_database(&clinic.name)?;
        self.admin(&format!("CREATE DATABASE {}", clinic.name))?;
        Ok(clinic)
    }

    /// The server here runs without autovacuum, and a seeded clinic has no
    /// planner statistics until something analyses it; a live clinic's
    /// server would have done so.
    fn settle(&self, clinic: &Clinic) -> anyhow::Result<Option<&'static str>> {
        self.session(&clinic.db, async |client| {
            client.batch_execute("VACUUM (ANALYZE)").await
        })?;
        Ok(Some("VACUUM (ANALYZE)"))
    }

    fn copy(&self, from: &Clinic, name: &str) -> anyhow::Result<Clinic> {
        let to = self.clinic(name)?;
        self.drop_database(&to.name)?;
        self.admin(&format!(
            "CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY",
            to.name, from.name
        ))?;
        Ok(to)
    }

    fn remove(&self, clinic: &Clinic) -> anyhow::Result<()> {
        self.drop_database(&clinic.name)
    }

    fn baseline(
        &self,
        clinic: &Clinic,
        script: &Path,
        peak_file: &Path,
    ) -> anyhow::Result<Command> {
        let mut command = measure::timed(Path::new(PSQL), peak_file);
        command
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f"])
            .arg(script)
            .arg("-d")
            .arg(&clinic.db);
        Ok(command)
    }

    /// Table by table in primary-key order, each row as PostgreSQL writes
    /// it as text.
    fn emr_digest(&self, clinic: &Clinic) -> anyhow::Result<(String, u64)> {
        let (digest, rows) = self.session(&clinic.db, async |client| {
            let mut hasher = Sha256::new();
            let mut rows = 0;
            let tx = client.transaction().await?;
            for (table, key) in EMR_TABLES {
                hasher.update(table.as_bytes());
                let sql = format!("SELECT t::text FROM {table} t ORDER BY {key}");
                let portal = tx.bind(&sql, &[]).await?;
                loop {
                    let batch = tx.query_portal(&portal, DIGEST_ROWS).await?;
                    if batch.is_empty() {
                        break;
                    }
                    for row in &batch {
                        let text: &str = row.get(0);
                        hasher.update((text.len() as u64).to_le_bytes());
                        hasher.update(text.as_bytes());
                    }
                    rows += batch.len() as u64;
                }
            }
            tx.commit().await?;
            Ok((hasher.finalize(), rows))
        })?;
        Ok((backend::hex(&digest), rows))
    }

    fn pending_disconnects(&self, clinic: &Clinic) -> anyhow::Result<u64> {
        let sql = "SELECT count(*) FROM handover_outbox WHERE status <> 'delivered'";
        let count: i64 = self.session(&clinic.db, async |client| {
            Ok(client.query_one(sql, &[]).await?.get(0))
        })?;
        Ok(count.unsigned_abs())
    }
}

/// Drops whatever databases of the benchmark are left, even after a
/// failure.
impl Drop for Postgres {
    fn drop(&mut self) {
        let dropped = self.made().and_then(|made| {
            made.iter()
                .try_for_each(|database| self.drop_database(database))
        });
        if let Err(err) = dropped {
            eprintln!("could not drop the benchmark's databases: {err:#}");
        }
    }
}
