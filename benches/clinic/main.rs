//! The clinic benchmark (`cargo bench --bench clinic`): seeds a clinic,
//! writes batches of plans, and times what users run — the release
//! `handover` binary as a child process — for seeding, the review, apply
//! and billing delivery against a local endpoint with a set latency. Apply
//! is set beside a hand-written SQL script making the same row changes in
//! one transaction through `sqlite3`, after checking that both end in the
//! same rows. Each figure is the median of several runs with its spread;
//! peak memory is each child's maximum resident set size, from GNU time.
//!
//! `BENCH_RUNS` (default 5) sets the runs per figure, `BENCH_SCALE`
//! divides the clinic's rows for a quick look (`BENCH_SCALE=10`), and
//! `BENCH_FACTOR` (default 10) sizes the larger clinic.

mod baseline;
mod batch;
mod endpoint;
mod measure;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use batch::Batch;
use endpoint::Endpoints;
use measure::{Figure, Sample, Scratch};

const HANDOVER: &str = env!("CARGO_BIN_EXE_handover");
const NOW: &str = "2026-12-01T09:00:00Z";
const OPERATOR: &str = "admin";
const PASSWORD: &str = "bench";

fn env_or(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|text| text.parse().ok())
        .filter(|&value| value > 0)
        .unwrap_or(default)
}

/// The size of a seeded clinic.
#[derive(Debug, Clone, Copy)]
struct Size {
    practitioners: u64,
    staff: u64,
    appointments: u64,
    messages: u64,
    qnaires: u64,
    claims: u64,
}

impl Size {
    /// The clinic, its rows divided by `scale`.
    fn base(scale: u64) -> Size {
        Size {
            practitioners: 500,
            staff: 50,
            appointments: 1_000_000 / scale,
            messages: 1_000_000 / scale,
            qnaires: 200_000 / scale,
            claims: 50_000 / scale,
        }
    }

    /// `factor` times the clinic: its people as well as its rows, so that
    /// each leaver holds about as much.
    fn times(self, factor: u64) -> Size {
        Size {
            practitioners: self.practitioners * factor,
            staff: self.staff * factor,
            appointments: self.appointments * factor,
            messages: self.messages * factor,
            qnaires: self.qnaires * factor,
            claims: self.claims * factor,
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} practitioners, {} staff, {} appointments, {} messages, {} qnaires, {} claims",
            self.practitioners,
            self.staff,
            self.appointments,
            self.messages,
            self.qnaires,
            self.claims
        )
    }

    fn args(&self) -> Vec<String> {
        let pairs = [
            ("--practitioners", self.practitioners),
            ("--staff", self.staff),
            ("--appointments", self.appointments),
            ("--messages", self.messages),
            ("--qnaires", self.qnaires),
            ("--claims", self.claims),
        ];
        let mut args = Vec::new();
        for (flag, value) in pairs {
            args.push(flag.to_string());
            args.push(value.to_string());
        }
        args
    }
}

/// The benchmark's working files and settings.
struct Bench {
    dir: PathBuf,
    runs: usize,
    endpoints: Endpoints,
    password_file: PathBuf,
    peak_file: PathBuf,
    scratch: Scratch,
}

impl Bench {
    /// `handover --db DB --config CONFIG`, under GNU time, at a fixed now.
    fn handover(&self, db: &Path, config: &Path) -> Command {
        let mut command = measure::timed(Path::new(HANDOVER), &self.peak_file);
        command
            .arg("--db")
            .arg(db)
            .arg("--config")
            .arg(config)
            .env("HANDOVER_NOW", NOW)
            .env(endpoint::TOKEN_VAR, "bench-token")
            .env_remove("RUST_LOG");
        command
    }

    fn run(&self, command: &mut Command, expected: i32) -> anyhow::Result<Sample> {
        measure::run(command, &self.peak_file, expected).map(|(sample, _)| sample)
    }

    /// Seeds a clinic into `db` (a new file) `runs` times, keeping the last.
    fn seed(&self, size: &Size, db: &Path, runs: usize) -> anyhow::Result<Figure> {
        let mut figure = Figure::default();
        for _ in 0..runs {
            if db.exists() {
                std::fs::remove_file(db)?;
            }
            let mut command = self.handover(db, &self.endpoints.instant);
            command
                .args(["db", "seed", "--seed", "1", "--admin-password", PASSWORD])
                .args(size.args());
            figure.samples.push(self.run(&mut command, 0)?);
        }
        Ok(figure)
    }

    /// The review of a batch: `handover plan BATCH --format json`. Returns
    /// the figure and how many items the leavers hold.
    fn review(&self, db: &Path, batch: &Batch) -> anyhow::Result<(Figure, u64)> {
        let mut figure = Figure::default();
        let mut items = 0;
        for _ in 0..self.runs {
            let mut command = self.handover(db, &self.endpoints.instant);
            command
                .arg("plan")
                .arg(&batch.path)
                .args(["--operator", OPERATOR, "--format", "json"]);
            let (sample, output) = measure::run(&mut command, &self.peak_file, 0)?;
            items = leaver_items(&output)?;
            figure.samples.push(sample);
        }
        Ok((figure, items))
    }

    /// `handover apply BATCH --operator admin --password-file F --yes` on
    /// a fresh copy of `db`; returns the copy.
    fn apply_once(
        &self,
        db: &Path,
        batch: &Batch,
        config: &Path,
        scratch: &Scratch,
        expected: i32,
    ) -> anyhow::Result<(Sample, PathBuf)> {
        let copy = scratch.copy_of(db)?;
        let mut command = self.handover(&copy, config);
        command
            .arg("apply")
            .arg(&batch.path)
            .args(["--operator", OPERATOR, "--yes", "--password-file"])
            .arg(&self.password_file);
        Ok((self.run(&mut command, expected)?, copy))
    }

    /// Apply of the batch, billing delivered to the instant endpoint.
    fn apply(&self, db: &Path, batch: &Batch) -> anyhow::Result<Figure> {
        let mut figure = Figure::default();
        for _ in 0..self.runs {
            let config = &self.endpoints.instant;
            let (sample, _) = self.apply_once(db, batch, config, &self.scratch, 0)?;
            figure.samples.push(sample);
        }
        Ok(figure)
    }

    /// The SQL script run by `sqlite3` on a fresh copy of `db`.
    fn sql_once(&self, db: &Path, script: &Path, scratch: &Scratch) -> anyhow::Result<Sample> {
        let copy = scratch.copy_of(db)?;
        let mut command = measure::timed(Path::new(baseline::SQLITE3), &self.peak_file);
        command
            .arg("-bail")
            .arg(&copy)
            .stdin(std::fs::File::open(script)?);
        self.run(&mut command, 0)
    }

    fn sql(&self, db: &Path, script: &Path) -> anyhow::Result<Figure> {
        let mut figure = Figure::default();
        for _ in 0..self.runs {
            figure
                .samples
                .push(self.sql_once(db, script, &self.scratch)?);
        }
        Ok(figure)
    }

    /// Applies the batch and runs the script on two copies of `db`, and
    /// checks that their EMR tables end in the same rows (and changed).
    fn same_rows(&self, db: &Path, batch: &Batch, script: &Path) -> anyhow::Result<String> {
        let (before, _) = baseline::emr_digest(db)?;
        let by_apply = Scratch {
            dir: self.dir.join("by-apply"),
        };
        let by_sql = Scratch {
            dir: self.dir.join("by-sql"),
        };
        let instant = &self.endpoints.instant;
        let (_, applied) = self.apply_once(db, batch, instant, &by_apply, 0)?;
        self.sql_once(db, script, &by_sql)?;
        let (after_apply, rows) = baseline::emr_digest(&applied)?;
        let (after_sql, _) = baseline::emr_digest(&by_sql.dir.join("clinic.db"))?;
        std::fs::remove_dir_all(&by_apply.dir)?;
        std::fs::remove_dir_all(&by_sql.dir)?;
        anyhow::ensure!(after_apply != before, "apply changed no EMR row");
        anyhow::ensure!(
            after_apply == after_sql,
            "apply and the SQL script end in different EMR rows"
        );
        Ok(format!(
            "same EMR rows after apply and after the script: {rows} rows, sha256 {}…",
            &after_apply[..16]
        ))
    }

    /// Delivery: the batch applied once against a refusing endpoint leaves
    /// every disconnect queued (exit 4); then each run applies again, on a
    /// fresh copy of that, against the slow endpoint, which only delivers.
    fn delivery(&self, db: &Path, batch: &Batch) -> anyhow::Result<(Figure, u64)> {
        let base = Scratch {
            dir: self.dir.join("queued"),
        };
        let refusing = &self.endpoints.refusing;
        let (_, queued) = self.apply_once(db, batch, refusing, &base, 4)?;
        let pending = pending_disconnects(&queued)?;
        let mut figure = Figure::default();
        for _ in 0..self.runs {
            let slow = &self.endpoints.slow;
            let (sample, _) = self.apply_once(&queued, batch, slow, &self.scratch, 0)?;
            figure.samples.push(sample);
        }
        std::fs::remove_dir_all(&base.dir)?;
        Ok((figure, pending))
    }
}

/// The items a JSON review counts for every plan.
fn leaver_items(output: &Output) -> anyhow::Result<u64> {
    let review: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let plans = review["plans"].as_array().into_iter().flatten();
    let changes = plans.filter_map(|plan| plan["changes"].as_object());
    Ok(changes
        .flat_map(|changes| changes.values())
        .filter_map(|change| change["count"].as_u64())
        .sum())
}

fn pending_disconnects(db: &Path) -> anyhow::Result<u64> {
    let conn = rusqlite::Connection::open(db)?;
    let sql = "SELECT count(*) FROM handover_outbox WHERE status <> 'delivered'";
    let count: i64 = conn.query_row(sql, [], |row| row.get(0))?;
    Ok(count.unsigned_abs())
}

/// The lines of the report, printed as they come and again at the end.
#[derive(Default)]
struct Report {
    lines: Vec<String>,
}

impl Report {
    fn figure(&mut self, what: &str, figure: &Figure) {
        self.line(format!(
            "{what:<44} {:<34} peak {:>6.1} MiB",
            figure.time_text(),
            figure.peak_mib()
        ));
    }

    fn ratio(&mut self, what: &str, numerator: &Figure, denominator: &Figure) {
        let ratio = numerator.median() / denominator.median();
        self.line(format!("{what:<44} {ratio:.2}×"));
    }

    fn line(&mut self, line: String) {
        eprintln!("{line}");
        self.lines.push(line);
    }
}

fn main() -> anyhow::Result<()> {
    let runs = env_or("BENCH_RUNS", 5) as usize;
    let scale = env_or("BENCH_SCALE", 1);
    let factor = env_or("BENCH_FACTOR", 10);
    let dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let endpoints = runtime.block_on(Endpoints::start(dir.path()))?;
    let password_file = dir.path().join("password");
    std::fs::write(&password_file, format!("{PASSWORD}\n"))?;
    let bench = Bench {
        dir: dir.path().to_path_buf(),
        runs,
        endpoints,
        password_file,
        peak_file: dir.path().join("peak"),
        scratch: Scratch {
            dir: dir.path().join("run"),
        },
    };
    let mut report = Report::default();
    measure_all(&bench, &mut report, Size::base(scale), factor)?;
    println!("\n{}", report.lines.join("\n"));
    Ok(())
}

fn measure_all(bench: &Bench, report: &mut Report, size: Size, factor: u64) -> anyhow::Result<()> {
    let big = size.times(factor);
    report.line(format!("1× clinic: {}", size.describe()));
    report.line(format!("{factor}× clinic: {}", big.describe()));
    report.line(format!(
        "handover_now {NOW}; median (fastest–slowest, runs)"
    ));
    let batches = [10, 50, 100].map(|leavers| Batch::write(&bench.dir, leavers));
    let [ten, fifty, hundred] = batches;
    let (ten, fifty, hundred) = (ten?, fifty?, hundred?);
    let script = bench.dir.join("batch-50.sql");
    std::fs::write(&script, baseline::script(&fifty, NOW, OPERATOR))?;

    let small = bench.dir.join("clinic-1x.db");
    let seeded = bench.seed(&size, &small, bench.runs.min(3))?;
    report.figure("seed, 1× clinic", &seeded);
    let (review_50, items) = bench.review(&small, &fifty)?;
    report.figure(
        &format!("review, 50 leavers ({items} items), 1×"),
        &review_50,
    );
    let (review_10, items) = bench.review(&small, &ten)?;
    report.figure(
        &format!("review, 10 leavers ({items} items), 1×"),
        &review_10,
    );
    let (review_100, items) = bench.review(&small, &hundred)?;
    report.figure(
        &format!("review, 100 leavers ({items} items), 1×"),
        &review_100,
    );

    report.line(bench.same_rows(&small, &fifty, &script)?);
    let apply_50 = bench.apply(&small, &fifty)?;
    report.figure("apply, 50 leavers, 1× (billing at 0 ms)", &apply_50);
    let sql_50 = bench.sql(&small, &script)?;
    report.figure("sqlite3 script, 50 leavers, 1×", &sql_50);
    let apply_10 = bench.apply(&small, &ten)?;
    report.figure("apply, 10 leavers, 1×", &apply_10);
    let apply_100 = bench.apply(&small, &hundred)?;
    report.figure("apply, 100 leavers, 1×", &apply_100);
    let (delivery, pending) = bench.delivery(&small, &fifty)?;
    report.figure(
        &format!("delivery, {pending} disconnects at {:?}", endpoint::LATENCY),
        &delivery,
    );
    let ideal =
        pending.div_ceil(endpoint::CONCURRENCY as u64) as f64 * endpoint::LATENCY.as_secs_f64();
    report.line(format!(
        "  (ideal at {} at once: {})",
        endpoint::CONCURRENCY,
        measure::seconds(ideal)
    ));
    std::fs::remove_file(&small)?;

    let large = bench.dir.join("clinic-large.db");
    let seeded_big = bench.seed(&big, &large, 1)?;
    report.figure(&format!("seed, {factor}× clinic"), &seeded_big);
    let (review_big, items) = bench.review(&large, &fifty)?;
    report.figure(
        &format!("review, 50 leavers ({items} items), {factor}×"),
        &review_big,
    );
    let apply_big = bench.apply(&large, &fifty)?;
    report.figure(&format!("apply, 50 leavers, {factor}×"), &apply_big);
    let sql_big = bench.sql(&large, &script)?;
    report.figure(&format!("sqlite3 script, 50 leavers, {factor}×"), &sql_big);
    std::fs::remove_file(&large)?;

    report.ratio(
        "apply ÷ sqlite3 script (50 leavers, 1×)",
        &apply_50,
        &sql_50,
    );
    report.ratio(&format!("review {factor}× ÷ 1×"), &review_big, &review_50);
    report.ratio(&format!("apply {factor}× ÷ 1×"), &apply_big, &apply_50);
    let what = format!("apply ÷ sqlite3 script (50 leavers, {factor}×)");
    report.ratio(&what, &apply_big, &sql_big);
    report.ratio(&format!("sqlite3 script {factor}× ÷ 1×"), &sql_big, &sql_50);
    report.ratio("review 50 ÷ 10 leavers", &review_50, &review_10);
    report.ratio("review 100 ÷ 10 leavers", &review_100, &review_10);
    report.ratio("apply 50 ÷ 10 leavers", &apply_50, &apply_10);
    report.ratio("apply 100 ÷ 10 leavers", &apply_100, &apply_10);
    Ok(())
}
