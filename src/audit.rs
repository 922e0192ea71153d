//! The audit trail: append-only and hash-chained. Each entry's hash covers
//! its own fields and the previous entry's hash, so that editing, removing
//! or reordering any entry breaks the chain from that entry on; and every
//! finished step of a run must have its entry, so that cutting the tail of
//! the trail is noticed too.

use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::plan::fingerprint::hex;
use crate::store::{AuditEntry, NewAuditEntry, Writer};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "genesis";

/// What an entry says, before it is chained.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub at: Timestamp,
    pub operator: &'a str,
    pub user: &'a str,
    pub fingerprint: &'a str,
    pub step: &'a str,
    /// JSON: which item ids went where. Ids only, never patient data.
    pub detail: serde_json::Value,
}

/// Appends an entry chained to the last one, inside the caller's transaction.
pub fn append(writer: &mut dyn Writer, record: &Record) -> anyhow::Result<i64> {
    let (seq, prev_hash) = match writer.last_audit()? {
        Some(last) => (last.seq + 1, last.hash),
        None => (1, GENESIS.to_string()),
    };
    let detail = record.detail.to_string();
    let entry = NewAuditEntry {
        at: record.at,
        operator: record.operator.to_string(),
        user: record.user.to_string(),
        fingerprint: record.fingerprint.to_string(),
        step: record.step.to_string(),
        hash: entry_hash(seq, &prev_hash, record, &detail),
        detail,
        prev_hash,
    };
    writer.append_audit(&entry)
}

fn entry_hash(seq: i64, prev_hash: &str, record: &Record, detail: &str) -> String {
    let fields = [
        seq.to_string(),
        prev_hash.to_string(),
        crate::clock::to_db_text(record.at),
        record.operator.to_string(),
        record.user.to_string(),
        record.fingerprint.to_string(),
        record.step.to_string(),
        detail.to_string(),
    ];
    let mut hasher = Sha256::new();
    for field in fields {
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hex(&hasher.finalize())
}

/// How many item ids an entry's detail names (under `items`, at any depth).
pub fn items_named(detail: &serde_json::Value) -> usize {
    use serde_json::Value;
    match detail {
        Value::Object(map) => map
            .iter()
            .map(|(key, value)| match (key.as_str(), value) {
                ("items", Value::Object(kinds)) => kinds
                    .values()
                    .filter_map(Value::as_array)
                    .map(Vec::len)
                    .sum(),
                _ => items_named(value),
            })
            .sum(),
        _ => 0,
    }
}

/// The first entry that breaks the chain, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    pub seq: i64,
    pub reason: String,
}

/// Checks the whole trail: sequence numbers without gaps, each entry's hash,
/// and each entry's link to the one before.
pub fn verify(entries: &[AuditEntry]) -> Result<usize, Break> {
    let mut prev_hash = GENESIS.to_string();
    for (index, entry) in entries.iter().enumerate() {
        let expected_seq = index as i64 + 1;
        if entry.seq != expected_seq {
            return Err(Break {
                seq: expected_seq.min(entry.seq),
                reason: format!("entry {expected_seq} is missing (found {} next)", entry.seq),
            });
        }
        if entry.prev_hash != prev_hash {
            return Err(Break {
                seq: entry.seq,
                reason: "it does not follow the entry before it".to_string(),
            });
        }
        let record = Record {
            at: entry.at,
            operator: &entry.operator,
            user: &entry.user,
            fingerprint: &entry.fingerprint,
            step: &entry.step,
            detail: serde_json::Value::Null,
        };
        if entry_hash(entry.seq, &entry.prev_hash, &record, &entry.detail) != entry.hash {
            return Err(Break {
                seq: entry.seq,
                reason: "its content was altered".to_string(),
            });
        }
        prev_hash = entry.hash.clone();
    }
    Ok(entries.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, prev_hash: &str, step: &str) -> AuditEntry {
        let record = Record {
            at: "2026-12-01T09:00:00Z".parse().unwrap(),
            operator: "admin",
            user: "jsmith",
            fingerprint: "f",
            step,
            detail: serde_json::json!({"ids": [1, 2]}),
        };
        let detail = record.detail.to_string();
        AuditEntry {
            seq,
            at: record.at,
            operator: "admin".into(),
            user: "jsmith".into(),
            fingerprint: "f".into(),
            step: step.into(),
            hash: entry_hash(seq, prev_hash, &record, &detail),
            detail,
            prev_hash: prev_hash.into(),
        }
    }

    fn chain() -> Vec<AuditEntry> {
        let first = entry(1, GENESIS, "appointments");
        let second = entry(2, &first.hash, "inbox");
        let third = entry(3, &second.hash, "deactivate");
        vec![first, second, third]
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify(&chain()), Ok(3));
    }

    #[test]
    fn an_edit_is_found() {
        let mut entries = chain();
        entries[1].detail = r#"{"ids":[1,3]}"#.into();
        assert_eq!(verify(&entries).unwrap_err().seq, 2);
    }

    #[test]
    fn a_removal_is_found() {
        let mut entries = chain();
        entries.remove(1);
        assert_eq!(verify(&entries).unwrap_err().seq, 2);
    }

    #[test]
    fn a_swap_is_found() {
        let mut entries = chain();
        entries.swap(0, 1);
        let (a, b) = (entries[0].seq, entries[1].seq);
        entries[0].seq = b;
        entries[1].seq = a;
        assert_eq!(verify(&entries).unwrap_err().seq, 1);
    }
}
