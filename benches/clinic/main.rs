//! The clinic benchmark (`cargo bench --bench clinic`): seeds a clinic,
//! writes batches of plans, and times what users run — the release
//! `handover` binary as a child process — for seeding, the review, apply
//! and billing delivery against a local endpoint with a set latency. Apply
//! is set beside a hand-written SQL script making the same row changes in
//! one transaction through `sqlite3` (or `psql`), after checking that both
//! end in the same rows. Each figure is the median of several runs with its
//! spread; peak memory is each child's maximum resident set size, from GNU
//! time.
//!
//! The clinics are SQLite files unless `BENCH_DB` holds a `postgres://`
//! URL: then they are databases on that server. `BENCH_RUNS` (default 5)
//! sets the runs per figure, `BENCH_SCALE` divides the clinic's rows for a
//! quick look (`BENCH_SCALE=10`), and `BENCH_FACTOR` (default 10) sizes the
//! larger clinic.

mod backend;
mod baseline;
mod batch;
mod endpoint;
mod measure;
mod postgres;
mod sqlite;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use backend::{Backend, Clinic};
use batch::Batch;
use endpoint::Endpoints;
use measure::{Figure, Sample};

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

/// The benchmark's clinics, working files and settings.
struct Bench {
    backend: Box<dyn Backend>,
    runs: usize,
    endpoints: Endpoints,
    password_file: PathBuf,
    peak_file: PathBuf,
}

impl Bench {
    /// `handover --db DB --config CONFIG`, under GNU time, at a fixed now.
    fn handover(&self, clinic: &Clinic, config: &Path) -> Command {
        let mut command = measure::timed(Path::new(HANDOVER), &self.peak_file);
        command
            .arg("--db")
            .arg(&clinic.db)
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

    /// Seeds a clinic called `name` (a new one each time) `runs` times,
    /// keeping the last.
    fn seed(&self, size: &Size, name: &str, runs: usize) -> anyhow::Result<(Figure, Clinic)> {
        let mut figure = Figure::default();
        let mut clinic = None;
        for _ in 0..runs {
            let empty = self.backend.empty(name)?;
            let mut command = self.handover(&empty, &self.endpoints.instant);
            command
                .args(["db", "seed", "--seed", "1", "--admin-password", PASSWORD])
                .args(size.args());
            figure.samples.push(self.run(&mut command, 0)?);
            clinic = Some(empty);
        }
        let clinic = clinic.ok_or_else(|| anyhow::anyhow!("no seeding run"))?;
        Ok((figure, clinic))
    }

    /// What the backend does to a seeded clinic before measuring, timed.
    fn settle(&self, clinic: &Clinic) -> anyhow::Result<Option<String>> {
        let started = std::time::Instant::now();
        let settled = self.backend.settle(clinic)?;
        let secs = started.elapsed().as_secs_f64();
        Ok(settled.map(|what| format!("then {what}: {}", measure::seconds(secs))))
    }

    /// The review of a batch: `handover plan BATCH --format json`. Returns
    /// the figure and how many items the leavers hold.
    fn review(&self, clinic: &Clinic, batch: &Batch) -> anyhow::Result<(Figure, u64)> {
        let mut figure = Figure::default();
        let mut items = 0;
        for _ in 0..self.runs {
            let mut command = self.handover(clinic, &self.endpoints.instant);
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
    /// a fresh copy of `clinic` called `copy`; returns the copy.
    fn apply_once(
        &self,
        clinic: &Clinic,
        batch: &Batch,
        config: &Path,
        copy: &str,
        expected: i32,
    ) -> anyhow::Result<(Sample, Clinic)> {
        let copy = self.backend.copy(clinic, copy)?;
        let mut command = self.handover(&copy, config);
        command
            .arg("apply")
            .arg(&batch.path)
            .args(["--operator", OPERATOR, "--yes", "--password-file"])
            .arg(&self.password_file);
        Ok((self.run(&mut command, expected)?, copy))
    }

    /// Apply of the batch, billing delivered to the instant endpoint.
    fn apply(&self, clinic: &Clinic, batch: &Batch) -> anyhow::Result<Figure> {
        let mut figure = Figure::default();
        for _ in 0..self.runs {
            let config = &self.endpoints.instant;
            let (sample, copy) = self.apply_once(clinic, batch, config, "run", 0)?;
            self.backend.remove(&copy)?;
            figure.samples.push(sample);
        }
        Ok(figure)
    }

    /// The SQL script run by the backend's tool on a fresh copy of
    /// `clinic` called `copy`; returns the copy.
    fn sql_once(
        &self,
        clinic: &Clinic,
        script: &Path,
        copy: &str,
    ) -> anyhow::Result<(Sample, Clinic)> {
        let copy = self.backend.copy(clinic, copy)?;
        let mut command = self.backend.baseline(&copy, script, &self.peak_file)?;
        Ok((self.run(&mut command, 0)?, copy))
    }

    fn sql(&self, clinic: &Clinic, script: &Path) -> anyhow::Result<Figure> {
        let mut figure = Figure::default();
        for _ in 0..self.runs {
            let (sample, copy) = self.sql_once(clinic, script, "run")?;
            self.backend.remove(&copy)?;
            figure.samples.push(sample);
        }
        Ok(figure)
    }

    /// Applies the batch and runs the script on two copies of `clinic`,
    /// and checks that their EMR tables end in the same rows (and changed).
    fn same_rows(&self, clinic: &Clinic, batch: &Batch, script: &Path) -> anyhow::Result<String> {
        let (before, _) = self.backend.emr_digest(clinic)?;
        let instant = &self.endpoints.instant;
        let (_, applied) = self.apply_once(clinic, batch, instant, "by_apply", 0)?;
        let (_, scripted) = self.sql_once(clinic, script, "by_sql")?;
        let (after_apply, rows) = self.backend.emr_digest(&applied)?;
        let (after_sql, _) = self.backend.emr_digest(&scripted)?;
        self.backend.remove(&applied)?;
        self.backend.remove(&scripted)?;
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
    fn delivery(&self, clinic: &Clinic, batch: &Batch) -> anyhow::Result<(Figure, u64)> {
        let refusing = &self.endpoints.refusing;
        let (_, queued) = self.apply_once(clinic, batch, refusing, "queued", 4)?;
        let pending = self.backend.pending_disconnects(&queued)?;
        let mut figure = Figure::default();
        for _ in 0..self.runs {
            let slow = &self.endpoints.slow;
            let (sample, copy) = self.apply_once(&queued, batch, slow, "run", 0)?;
            self.backend.remove(&copy)?;
            figure.samples.push(sample);
        }
        self.backend.remove(&queued)?;
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
        backend: backend::from_env(dir.path())?,
        runs,
        endpoints,
        password_file,
        peak_file: dir.path().join("peak"),
    };
    let mut report = Report::default();
    measure_all(&bench, dir.path(), &mut report, Size::base(scale), factor)?;
    println!("\n{}", report.lines.join("\n"));
    Ok(())
}

/// The batches of 10, 50 and 100 leavers, and the script of the 50.
struct Batches {
    ten: Batch,
    fifty: Batch,
    hundred: Batch,
    script: PathBuf,
}

impl Batches {
    fn write(bench: &Bench, dir: &Path) -> anyhow::Result<Batches> {
        let [ten, fifty, hundred] = [10, 50, 100].map(|leavers| Batch::write(dir, leavers));
        let (ten, fifty, hundred) = (ten?, fifty?, hundred?);
        let script = dir.join("batch-50.sql");
        let dialect = bench.backend.dialect();
        std::fs::write(&script, baseline::script(&fifty, NOW, OPERATOR, dialect))?;
        Ok(Batches {
            ten,
            fifty,
            hundred,
            script,
        })
    }
}

/// The 1× clinic's figures that the ratios use.
struct Measured {
    review_10: Figure,
    review_50: Figure,
    review_100: Figure,
    apply_10: Figure,
    apply_50: Figure,
    apply_100: Figure,
    sql_50: Figure,
}

fn measure_all(
    bench: &Bench,
    dir: &Path,
    report: &mut Report,
    size: Size,
    factor: u64,
) -> anyhow::Result<()> {
    let big = size.times(factor);
    report.line(format!("clinics: {}", bench.backend.describe()?));
    report.line(format!("1× clinic: {}", size.describe()));
    report.line(format!("{factor}× clinic: {}", big.describe()));
    report.line(format!(
        "handover_now {NOW}; median (fastest–slowest, runs)"
    ));
    let batches = Batches::write(bench, dir)?;
    let small = measure_small(bench, report, &size, &batches)?;
    measure_large(bench, report, &big, factor, &batches, &small)?;
    report.ratio("review 50 ÷ 10 leavers", &small.review_50, &small.review_10);
    report.ratio(
        "review 100 ÷ 10 leavers",
        &small.review_100,
        &small.review_10,
    );
    report.ratio("apply 50 ÷ 10 leavers", &small.apply_50, &small.apply_10);
    report.ratio("apply 100 ÷ 10 leavers", &small.apply_100, &small.apply_10);
    Ok(())
}

/// Everything on the 1× clinic.
fn measure_small(
    bench: &Bench,
    report: &mut Report,
    size: &Size,
    batches: &Batches,
) -> anyhow::Result<Measured> {
    let tool = bench.backend.tool();
    let (seeded, small) = bench.seed(size, "clinic_1x", bench.runs.min(3))?;
    report.figure("seed, 1× clinic", &seeded);
    if let Some(settled) = bench.settle(&small)? {
        report.line(format!("  ({settled})"));
    }
    let review = |batch: &Batch, report: &mut Report| -> anyhow::Result<Figure> {
        let (figure, items) = bench.review(&small, batch)?;
        let leavers = batch.size;
        report.figure(
            &format!("review, {leavers} leavers ({items} items), 1×"),
            &figure,
        );
        Ok(figure)
    };
    let review_50 = review(&batches.fifty, report)?;
    let review_10 = review(&batches.ten, report)?;
    let review_100 = review(&batches.hundred, report)?;

    report.line(bench.same_rows(&small, &batches.fifty, &batches.script)?);
    let apply_50 = bench.apply(&small, &batches.fifty)?;
    report.figure("apply, 50 leavers, 1× (billing at 0 ms)", &apply_50);
    let sql_50 = bench.sql(&small, &batches.script)?;
    report.figure(&format!("{tool} script, 50 leavers, 1×"), &sql_50);
    let apply_10 = bench.apply(&small, &batches.ten)?;
    report.figure("apply, 10 leavers, 1×", &apply_10);
    let apply_100 = bench.apply(&small, &batches.hundred)?;
    report.figure("apply, 100 leavers, 1×", &apply_100);
    delivery(bench, report, &small, &batches.fifty)?;
    bench.backend.remove(&small)?;
    Ok(Measured {
        review_10,
        review_50,
        review_100,
        apply_10,
        apply_50,
        apply_100,
        sql_50,
    })
}

fn delivery(
    bench: &Bench,
    report: &mut Report,
    clinic: &Clinic,
    batch: &Batch,
) -> anyhow::Result<()> {
    let (delivery, pending) = bench.delivery(clinic, batch)?;
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
    Ok(())
}

/// The 50 leavers on the larger clinic, and the ratios to the 1× clinic.
fn measure_large(
    bench: &Bench,
    report: &mut Report,
    big: &Size,
    factor: u64,
    batches: &Batches,
    small: &Measured,
) -> anyhow::Result<()> {
    let tool = bench.backend.tool();
    let (seeded_big, large) = bench.seed(big, "clinic_large", 1)?;
    report.figure(&format!("seed, {factor}× clinic"), &seeded_big);
    if let Some(settled) = bench.settle(&large)? {
        report.line(format!("  ({settled})"));
    }
    let (review_big, items) = bench.review(&large, &batches.fifty)?;
    report.figure(
        &format!("review, 50 leavers ({items} items), {factor}×"),
        &review_big,
    );
    let apply_big = bench.apply(&large, &batches.fifty)?;
    report.figure(&format!("apply, 50 leavers, {factor}×"), &apply_big);
    let sql_big = bench.sql(&large, &batches.script)?;
    report.figure(&format!("{tool} script, 50 leavers, {factor}×"), &sql_big);
    bench.backend.remove(&large)?;

    let what = format!("apply ÷ {tool} script (50 leavers, 1×)");
    report.ratio(&what, &small.apply_50, &small.sql_50);
    report.ratio(
        &format!("review {factor}× ÷ 1×"),
        &review_big,
        &small.review_50,
    );
    report.ratio(
        &format!("apply {factor}× ÷ 1×"),
        &apply_big,
        &small.apply_50,
    );
    let what = format!("apply ÷ {tool} script (50 leavers, {factor}×)");
    report.ratio(&what, &apply_big, &sql_big);
    let what = format!("{tool} script {factor}× ÷ 1×");
    report.ratio(&what, &sql_big, &small.sql_50);
    Ok(())
}
