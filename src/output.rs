//! The one place results are printed: stdout, in the format asked for, with
//! colour only on a terminal and never under `NO_COLOR`.

use std::io::{IsTerminal, Write};

use crate::cli::{Format, GlobalArgs};

/// Prints command results to stdout.
#[derive(Debug, Clone)]
pub struct Printer {
    pub format: Format,
    pub quiet: bool,
    pub color: bool,
}

impl Printer {
    pub fn new(global: &GlobalArgs) -> Printer {
        Printer {
            format: global.format.unwrap_or(Format::Text),
            quiet: global.quiet,
            color: stdout_wants_color(),
        }
    }

    /// Prints text as it is, adding a final newline when missing.
    pub fn text(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        if !text.is_empty() && !text.ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
    }

    /// Prints a JSON value, pretty, on its own.
    pub fn json(&self, value: &serde_json::Value) {
        let text = serde_json::to_string_pretty(value).unwrap_or_default();
        self.text(&text);
    }
}

/// Colour on stdout only when it is a terminal and `NO_COLOR` is unset.
pub fn stdout_wants_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Colour on stderr only when it is a terminal and `NO_COLOR` is unset.
pub fn stderr_wants_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Reports a failure on stderr in the one message style: `error: could not
/// …: cause`, then `hint: …` on its own line when there is one.
pub fn error(message: &str, hint: Option<&str>) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "error: {message}");
    if let Some(hint) = hint {
        let _ = writeln!(err, "hint: {hint}");
    }
}

/// A progress bar on stderr for `len` units of work, shown only on a
/// terminal; elsewhere it draws nothing.
pub fn progress(len: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() || len < 2 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} plans {msg}") {
        bar.set_style(style);
    }
    bar
}

/// A plain table for people: a header row and left-aligned columns, two
/// spaces apart, no borders.
pub fn table<S: AsRef<str>>(header: &[&str], rows: &[Vec<S>]) -> String {
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::NOTHING)
        .set_header(header.to_vec());
    for row in rows {
        table.add_row(row.iter().map(AsRef::as_ref).collect::<Vec<&str>>());
    }
    table
        .lines()
        .map(|line| format!("{}\n", line.trim()))
        .collect()
}

/// `count` and `word`, with an `s` unless the count is one: "1 item",
/// "3 items".
pub fn counted(count: u64, word: &str) -> String {
    format!("{count} {}", noun(count, word))
}

/// `word` as many `count` call for: "item" for one, "items" otherwise.
pub fn noun(count: u64, word: &str) -> String {
    if count == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::counted;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(counted(0, "item"), "0 items");
        assert_eq!(counted(1, "item"), "1 item");
        assert_eq!(counted(41, "item"), "41 items");
    }
}
