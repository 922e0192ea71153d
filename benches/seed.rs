//! Seeding speed and memory: 1,000,000 appointments and 1,000,000 messages
//! into a fresh SQLite file, timed once, with the process's peak resident
//! memory. Run with `cargo bench --bench seed`; sizes can be changed with
//! `SEED_BENCH_APPOINTMENTS` and `SEED_BENCH_MESSAGES`.

use std::time::Instant;

use handover::seed::{SeedSize, seed_clinic};
use handover::store::{self, Access};

fn size_from(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

/// Peak resident memory in MiB, from `/proc/self/status` (Linux only).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.db");
    let size = SeedSize {
        practitioners: 200,
        staff: 50,
        appointments: size_from("SEED_BENCH_APPOINTMENTS", 1_000_000),
        messages: size_from("SEED_BENCH_MESSAGES", 1_000_000),
        qnaires: 0,
        claims: 0,
        seed: 1,
    };
    let now = "2026-12-01T09:00:00Z".parse()?;
    let hash = handover::password::hash_password("bench")?;

    let started = Instant::now();
    let mut store = store::open(&path.to_string_lossy(), Access::Create)?;
    store.init_clinic()?;
    store.migrate(now)?;
    let summary = seed_clinic(store.as_mut(), &size, now, &hash)?;
    let elapsed = started.elapsed().as_secs_f64();

    let file_mib = std::fs::metadata(&path)?.len() as f64 / (1024.0 * 1024.0);
    println!(
        "seeded {} appointments and {} messages in {elapsed:.2} s; peak RSS {:.1} MiB; file {file_mib:.0} MiB",
        summary.appointments,
        summary.messages,
        peak_rss_mib().unwrap_or(f64::NAN),
    );
    Ok(())
}
