//! The digest of the exact set of items a plan would touch, so that apply
//! can tell whether the live state still matches what was reviewed.

use sha2::{Digest, Sha256};

use crate::plan::fingerprint::hex;
use crate::store::Inventory;

/// sha256 over the sorted item ids of every category, in a fixed order.
pub fn items_digest(inventory: &Inventory) -> String {
    let labs: Vec<i64> = inventory
        .lab_integrations
        .iter()
        .map(|lab| lab.id)
        .collect();
    let links: Vec<String> = inventory
        .billing_links
        .iter()
        .map(|link| format!("{}/{}", link.system, link.billing_number))
        .collect();
    let mut text = String::new();
    for (name, ids) in [
        ("appointments", &inventory.appointments),
        ("appointment_qnaires", &inventory.appointment_qnaires),
        ("recurring_qnaires", &inventory.recurring_qnaires),
        ("sent_qnaires", &inventory.sent_qnaires),
        ("inbox_messages", &inventory.inbox_messages),
        ("lab_integrations", &labs),
    ] {
        let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
        text.push_str(&format!("{name}:{};", ids.join(",")));
    }
    text.push_str(&format!("billing_links:{};", links.join(",")));
    hex(&Sha256::digest(text.as_bytes()))
}
