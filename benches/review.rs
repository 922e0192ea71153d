//! Review speed: the same 50 plans reviewed against a seeded clinic of
//! 1,000,000 appointments and 1,000,000 messages, and against one ten times
//! larger with ten times the practitioners (so each leaver holds about as
//! much). The review's time should follow the leavers' items, not the size
//! of the clinic; a last row gives the leavers five times the items in the
//! smaller clinic. Run with `cargo bench --bench review`;
//! `REVIEW_BENCH_ROWS` sets the smaller clinic's size and
//! `REVIEW_BENCH_FACTOR` the ratio.

use std::path::Path;
use std::time::{Duration, Instant};

use handover::review::{self, Context, Operator};
use handover::seed::{SeedSize, seed_clinic};
use handover::store::{self, Access};

const PLANS: usize = 50;

fn env_or(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

/// Seeds a clinic of `rows` appointments and `rows` messages.
fn build(path: &Path, rows: u64, practitioners: u64) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let now = "2026-12-01T09:00:00Z".parse()?;
    let mut store = store::open(&path.to_string_lossy(), Access::Create)?;
    store.init_clinic()?;
    store.migrate(now)?;
    let size = SeedSize {
        practitioners,
        staff: practitioners / 4,
        appointments: rows,
        messages: rows,
        qnaires: rows / 5,
        claims: rows / 20,
        seed: 1,
    };
    seed_clinic(
        store.as_mut(),
        &size,
        now,
        &handover::password::hash_password("bench")?,
    )?;
    Ok(started.elapsed())
}

/// One batch of 50 plans: `p00001`… leave, each to the practitioner 50 on.
fn batch(dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    let mut text = String::from(
        "version: 1\ndefaults:\n  inbox: { forward_to: reception }\n  \
         billing: { allow_pending_claims: true }\nplans:\n",
    );
    for index in 1..=PLANS {
        text.push_str(&format!(
            "  - user: p{index:05}\n    default_to: p{:05}\n    \
             labs: {{ transfer_to: p{:05}, support_ticket: SR-1 }}\n",
            index + PLANS,
            index + PLANS
        ));
    }
    let path = dir.join("batch.yaml");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// The median of five reviews of the batch, and the leavers' items.
fn review(db: &Path, plans: &Path) -> anyhow::Result<(Duration, u64)> {
    let loaded = handover::plan::load(&[plans.to_path_buf()]);
    anyhow::ensure!(
        loaded.diagnostics.is_empty(),
        "the benchmark's plans are invalid"
    );
    let store = store::open(&db.to_string_lossy(), Access::Read)?;
    let now: jiff::Timestamp = "2026-12-01T09:00:00Z".parse()?;
    let context = Context {
        now,
        today: now.to_zoned(jiff::tz::TimeZone::UTC).date(),
        operator: Operator::Unnamed,
        billing_systems: ["mdbilling".to_string()].into(),
    };
    let mut times = Vec::new();
    let mut items = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let reviews = review::review_plans(&*store, &loaded.plans, &context)?;
        times.push(started.elapsed());
        items = reviews
            .iter()
            .flat_map(|plan| plan.changes.values())
            .map(|c| c.count)
            .sum();
    }
    times.sort();
    Ok((times[2], items))
}

fn main() -> anyhow::Result<()> {
    let rows = env_or("REVIEW_BENCH_ROWS", 1_000_000);
    let factor = env_or("REVIEW_BENCH_FACTOR", 10);
    let dir = tempfile::tempdir()?;
    let plans = batch(dir.path())?;
    println!(
        "{:>12} {:>14} {:>10} {:>14} {:>12}",
        "appointments", "practitioners", "seeded", "leaver items", "review"
    );
    let clinics = [(rows, 1000), (rows * factor, 1000 * factor), (rows, 200)];
    for (rows, practitioners) in clinics {
        let db = dir.path().join(format!("clinic-{rows}.db"));
        let seeded = build(&db, rows, practitioners)?;
        let (took, items) = review(&db, &plans)?;
        println!(
            "{rows:>12} {practitioners:>14} {:>9.1}s {items:>14} {:>10.1}ms",
            seeded.as_secs_f64(),
            took.as_secs_f64() * 1000.0
        );
        std::fs::remove_file(&db)?;
    }
    println!("({PLANS} plans; median of 5 reviews; messages as many as appointments)");
    Ok(())
}
