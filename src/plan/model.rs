//! The plan file format as Rust types. These types are the single source of
//! the JSON Schema (`handover schema`) and of what a file may contain; their
//! doc comments become the schema's descriptions, which editors show on hover.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The pattern every username must match: letters, digits, `.`, `_`, `-`
/// and `@`, from 1 to 64 characters.
pub const USERNAME_PATTERN: &str = r"^[A-Za-z0-9._@-]{1,64}$";

/// A username in the clinic's EMR: letters, digits, `.`, `_`, `-` and `@`,
/// at most 64 characters.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
#[schemars(extend("pattern" = r"^[A-Za-z0-9._@-]{1,64}$", "minLength" = 1, "maxLength" = 64))]
pub struct Username(pub String);

impl Username {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A plan file: one plan, or a batch of plans sharing defaults.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
#[schemars(title = "handover plan file")]
pub enum PlanDocument {
    /// A batch: several leavers in one file.
    Batch(BatchFile),
    /// A single leaver.
    Plan(PlanFile),
}

/// A file holding one plan.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(extend("additionalProperties" = false))]
pub struct PlanFile {
    /// The version of the plan format; must be 1.
    #[schemars(extend("const" = 1))]
    pub version: u32,
    /// Username of the person leaving.
    pub user: Username,
    #[serde(flatten)]
    pub fields: PlanFields,
}

/// A file holding several plans that share `defaults`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchFile {
    /// The version of the plan format; must be 1.
    #[schemars(extend("const" = 1))]
    pub version: u32,
    /// Fields every plan of the batch takes unless it sets them itself.
    /// A plan's own field replaces the default field whole.
    #[serde(default)]
    pub defaults: PlanFields,
    /// The plans, one per leaver.
    #[schemars(length(min = 1, max = 10000))]
    pub plans: Vec<BatchEntry>,
}

/// One plan within a batch.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(extend("additionalProperties" = false))]
pub struct BatchEntry {
    /// Username of the person leaving.
    pub user: Username,
    #[serde(flatten)]
    pub fields: PlanFields,
}

/// Everything a plan says besides who leaves.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanFields {
    /// Why the person leaves; recorded in the audit trail and sent with the
    /// billing disconnect. No patient information here.
    #[schemars(length(max = 500))]
    pub reason: Option<String>,
    /// The plan is not applied before this date (YYYY-MM-DD, clinic time).
    #[schemars(extend("format" = "date", "pattern" = r"^\d{4}-\d{2}-\d{2}$"))]
    pub not_before: Option<String>,
    /// Recipient of every category this plan does not set itself.
    pub default_to: Option<Username>,
    /// Future booked appointments; their appointment qnaires go with them.
    pub appointments: Option<Reassign>,
    /// Recurring scheduled qnaires.
    pub recurring_qnaires: Option<Reassign>,
    /// Sent qnaires still awaiting the patient.
    pub sent_qnaires: Option<Reassign>,
    /// Open inbox messages, snoozed ones included.
    pub inbox: Option<Forward>,
    /// Lab integrations that use the leaver's details.
    pub labs: Option<LabTransfer>,
    /// The leaver's billing links.
    pub billing: Option<BillingPolicy>,
}

/// Move the items to a practitioner, or cancel them.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [{"required": ["move_to"]}, {"required": ["cancel"]}]))]
pub struct Reassign {
    /// Username of the practitioner who takes the items over.
    pub move_to: Option<Username>,
    /// `true` cancels the items instead (cancelled appointments take their
    /// qnaires with them).
    #[schemars(extend("const" = true))]
    pub cancel: Option<bool>,
}

/// Forward the open messages to a user, or discard them.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [{"required": ["forward_to"]}, {"required": ["discard"]}]))]
pub struct Forward {
    /// Username of the user who receives the messages (snooze is kept).
    pub forward_to: Option<Username>,
    /// `true` lets the messages go with the account instead.
    #[schemars(extend("const" = true))]
    pub discard: Option<bool>,
}

/// Transfer the lab integrations to another user.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LabTransfer {
    /// Username of the user whose details the integrations will use.
    pub transfer_to: Username,
    /// The EMR vendor's support ticket; required when the leaver backs the
    /// clinic's main lab integration.
    #[schemars(length(min = 1, max = 64))]
    pub support_ticket: Option<String>,
}

/// How to treat the leaver's billing.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BillingPolicy {
    /// Deactivate even though claims are still pending (they are lost to
    /// billing). Default `false`.
    #[serde(default)]
    pub allow_pending_claims: bool,
}
