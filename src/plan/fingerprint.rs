//! The plan fingerprint: a sha256 of a resolved plan written in one canonical
//! form. It ignores how the file is written (comments, key order, layout,
//! defaults versus own fields, `default_to` versus naming each recipient)
//! and changes with anything the plan means.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::resolved::{CATEGORIES, Handling, Plan};

/// The fingerprint of a plan, as 64 lowercase hex digits.
pub fn fingerprint(plan: &Plan) -> String {
    let canonical = canonical(plan).to_string();
    hex(&Sha256::digest(canonical.as_bytes()))
}

/// The canonical form: fixed keys in a fixed order, every category spelled out.
fn canonical(plan: &Plan) -> Value {
    let mut categories = serde_json::Map::new();
    for category in CATEGORIES {
        let handling = match plan.handling(category) {
            Handling::Unassigned => Value::Null,
            Handling::Cancel => json!("cancel"),
            Handling::MoveTo(to) => json!({ "to": to.value.as_str() }),
        };
        categories.insert(category.field().to_string(), handling);
    }
    json!({
        "format": 1,
        "user": plan.user.value.as_str(),
        "reason": plan.reason,
        "not_before": plan.not_before.map(|date| date.to_string()),
        "categories": categories,
        "support_ticket": plan.support_ticket,
        "allow_pending_claims": plan.allow_pending_claims,
    })
}

/// Lowercase hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
