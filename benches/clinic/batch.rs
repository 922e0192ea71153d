//! A batch of leavers: `p00001`… leave, each handing everything to the
//! practitioner `size` places on (so no recipient is leaving), the inbox
//! to `reception`.

use std::path::{Path, PathBuf};

pub struct Batch {
    pub size: usize,
    pub inbox_to: &'static str,
    /// The batch file.
    pub path: PathBuf,
}

impl Batch {
    /// Writes the batch file of `size` leavers into `dir`.
    pub fn write(dir: &Path, size: usize) -> anyhow::Result<Batch> {
        let batch = Batch {
            size,
            inbox_to: "reception",
            path: dir.join(format!("batch-{size}.yaml")),
        };
        let mut text = format!(
            "version: 1\ndefaults:\n  reason: Benchmark\n  inbox: {{ forward_to: {} }}\n  \
             billing: {{ allow_pending_claims: true }}\nplans:\n",
            batch.inbox_to
        );
        for (leaver, recipient) in batch.pairs() {
            text.push_str(&format!(
                "  - user: {leaver}\n    default_to: {recipient}\n    \
                 labs: {{ transfer_to: {recipient}, support_ticket: SR-1 }}\n"
            ));
        }
        std::fs::write(&batch.path, text)?;
        Ok(batch)
    }

    /// (leaver, recipient) usernames.
    pub fn pairs(&self) -> impl Iterator<Item = (String, String)> + '_ {
        (1..=self.size).map(|index| (format!("p{index:05}"), format!("p{:05}", index + self.size)))
    }
}
