//! Timing a child process and reading its peak memory, and the figures made
//! of several such runs: median, spread and the largest peak.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

/// GNU time: `-f %M` writes the child's maximum resident set size in KiB,
/// from the `rusage` the kernel keeps for that one process.
const GNU_TIME: &str = "/usr/bin/time";

/// One run of a child: its wall time and peak resident memory.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub secs: f64,
    pub peak_mib: f64,
}

/// A command run under GNU time, which writes the peak into `peak_file`.
pub fn timed(program: &Path, peak_file: &Path) -> Command {
    let mut command = Command::new(GNU_TIME);
    command
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(peak_file)
        .arg(program);
    command
}

/// Runs `command` (made by [`timed`]) and checks it exits with `expected`.
/// Returns the run's figures and what it printed.
pub fn run(
    command: &mut Command,
    peak_file: &Path,
    expected: i32,
) -> anyhow::Result<(Sample, Output)> {
    let started = Instant::now();
    let output = command.output()?;
    let secs = started.elapsed().as_secs_f64();
    check_exit(command, &output, expected)?;
    let sample = Sample {
        secs,
        peak_mib: peak_kib(peak_file)? / 1024.0,
    };
    Ok((sample, output))
}

fn check_exit(command: &Command, output: &Output, expected: i32) -> anyhow::Result<()> {
    if output.status.code() == Some(expected) {
        return Ok(());
    }
    anyhow::bail!(
        "{:?} exited {:?}, expected {expected}\n{}{}",
        command.get_args().collect::<Vec<_>>(),
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The last line GNU time wrote (it may say first that the exit was not 0).
fn peak_kib(peak_file: &Path) -> anyhow::Result<f64> {
    let text = std::fs::read_to_string(peak_file)?;
    let line = text.lines().rev().find(|line| !line.trim().is_empty());
    let kib = line.and_then(|line| line.trim().parse().ok());
    kib.ok_or_else(|| anyhow::anyhow!("GNU time wrote no peak memory: {text:?}"))
}

/// The runs of one measurement.
#[derive(Debug, Clone, Default)]
pub struct Figure {
    pub samples: Vec<Sample>,
}

impl Figure {
    /// The median wall time in seconds.
    pub fn median(&self) -> f64 {
        let mut secs: Vec<f64> = self.samples.iter().map(|s| s.secs).collect();
        secs.sort_by(f64::total_cmp);
        let middle = secs.len() / 2;
        if secs.len() % 2 == 1 {
            secs[middle]
        } else {
            (secs[middle - 1] + secs[middle]) / 2.0
        }
    }

    fn fastest(&self) -> f64 {
        self.samples.iter().map(|s| s.secs).fold(f64::MAX, f64::min)
    }

    fn slowest(&self) -> f64 {
        self.samples.iter().map(|s| s.secs).fold(0.0, f64::max)
    }

    /// The largest peak memory of the runs, in MiB.
    pub fn peak_mib(&self) -> f64 {
        self.samples.iter().map(|s| s.peak_mib).fold(0.0, f64::max)
    }

    /// `0.214 s (0.205–0.230, 5 runs)`.
    pub fn time_text(&self) -> String {
        format!(
            "{} ({}–{}, {} run{})",
            seconds(self.median()),
            seconds(self.fastest()),
            seconds(self.slowest()),
            self.samples.len(),
            if self.samples.len() == 1 { "" } else { "s" }
        )
    }
}

/// Seconds with three significant decimals below ten seconds.
pub fn seconds(secs: f64) -> String {
    if secs < 10.0 {
        format!("{secs:.3} s")
    } else {
        format!("{secs:.1} s")
    }
}
