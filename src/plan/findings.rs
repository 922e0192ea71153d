//! Turning JSON Schema errors into findings people can act on: the field
//! named, the value's problem said in plan words, and for a misspelled field
//! the spelling that was probably meant.

use jsonschema::ValidationError;
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use super::schema::{Shape, known_fields};

/// A schema finding before it is given a file and a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// JSON pointer of the field concerned.
    pub pointer: String,
    /// Whether the finding is about the key (an unknown field) rather than its value.
    pub at_key: bool,
    pub message: String,
    pub hint: Option<String>,
}

/// All schema findings about `document`, most useful first and without the
/// echoes that a more precise finding makes redundant.
pub fn schema_findings(shape: Shape, document: &Value) -> Vec<Finding> {
    let validator = super::schema::validator(shape);
    let mut findings: Vec<Finding> = Vec::new();
    for error in validator.iter_errors(document) {
        findings.extend(translate(shape, document, &error));
    }
    drop_echoes(&mut findings);
    findings
}

/// A `oneOf` complaint about an object that also has an unknown field is an
/// echo of that field: keep only the unknown field.
fn drop_echoes(findings: &mut Vec<Finding>) {
    let unknown_parents: Vec<String> = findings
        .iter()
        .filter(|finding| finding.at_key)
        .map(|finding| parent(&finding.pointer).to_string())
        .collect();
    findings.retain(|finding| {
        finding.at_key || !finding.message.starts_with("needs ") || {
            !unknown_parents.contains(&finding.pointer)
        }
    });
    findings.dedup();
}

fn parent(pointer: &str) -> &str {
    pointer.rfind('/').map_or("", |cut| &pointer[..cut])
}

fn last_segment(pointer: &str) -> &str {
    pointer.rsplit('/').next().unwrap_or_default()
}

fn translate(shape: Shape, document: &Value, error: &ValidationError) -> Vec<Finding> {
    let pointer = error.instance_path().as_str().to_string();
    let value = document.pointer(&pointer).unwrap_or(&Value::Null);
    let field = last_segment(&pointer);
    let plain = |message: String| {
        vec![Finding {
            pointer: pointer.clone(),
            at_key: false,
            message,
            hint: None,
        }]
    };
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|name| unknown_field(shape, &pointer, name))
            .collect(),
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            vec![Finding {
                pointer: pointer.clone(),
                at_key: false,
                message: format!("missing field `{name}`"),
                hint: required_hint(name),
            }]
        }
        ValidationErrorKind::Type { .. } => vec![wrong_type(&pointer, field, value)],
        ValidationErrorKind::Constant { .. } => vec![wrong_constant(&pointer, field, value)],
        ValidationErrorKind::OneOfNotValid { .. } => vec![choice(&pointer, field, false)],
        ValidationErrorKind::OneOfMultipleValid { .. } => vec![choice(&pointer, field, true)],
        ValidationErrorKind::Pattern { .. } if field == "not_before" => {
            plain(format!("{} is not a date written YYYY-MM-DD", show(value)))
        }
        ValidationErrorKind::Pattern { .. } => vec![Finding {
            pointer: pointer.clone(),
            at_key: false,
            message: format!("{} is not a valid username", show(value)),
            hint: Some("usernames have 1 to 64 letters, digits, `.`, `_`, `-` or `@`".to_string()),
        }],
        ValidationErrorKind::Format { .. } => {
            plain(format!("{} is not a calendar date", show(value)))
        }
        ValidationErrorKind::MinItems { .. } if field == "plans" => {
            plain("a batch needs at least one plan".to_string())
        }
        ValidationErrorKind::MaxItems { limit } => {
            plain(format!("at most {limit} entries are allowed here"))
        }
        ValidationErrorKind::MinLength { .. } => plain("must not be empty".to_string()),
        ValidationErrorKind::MaxLength { limit } => {
            plain(format!("is longer than {limit} characters"))
        }
        _ => plain(error.to_string().to_lowercase()),
    }
}

fn unknown_field(shape: Shape, parent: &str, name: &str) -> Finding {
    let known = known_fields(shape, parent);
    let pointer = format!("{parent}/{}", name.replace('~', "~0").replace('/', "~1"));
    let hint = match closest(name, &known) {
        Some(best) => Some(format!("did you mean `{best}`?")),
        None if known.is_empty() => None,
        None => Some(format!("expected one of {}", list(&known))),
    };
    Finding {
        pointer,
        at_key: true,
        message: format!("unknown field `{name}`"),
        hint,
    }
}

/// The known name closest to a misspelling, if any is close enough.
fn closest<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
    known
        .iter()
        .map(|candidate| (strsim::jaro_winkler(name, candidate), candidate))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate.as_str())
}

fn list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    quoted.join(", ")
}

fn required_hint(name: &str) -> Option<String> {
    match name {
        "user" => Some("name the person leaving, e.g. `user: jsmith`".to_string()),
        "version" => Some("start the file with `version: 1`".to_string()),
        "transfer_to" => Some("name who takes the lab integrations over".to_string()),
        _ => None,
    }
}

fn wrong_type(pointer: &str, field: &str, value: &Value) -> Finding {
    let expected = match field {
        "" => "a mapping (a plan with `version` and `user`, or a batch with `plans`)",
        "plans" => "a list of plans",
        "appointments" | "recurring_qnaires" | "sent_qnaires" => {
            "a mapping such as `{ move_to: USER }` or `{ cancel: true }`"
        }
        "inbox" => "a mapping such as `{ forward_to: USER }` or `{ discard: true }`",
        "labs" => "a mapping such as `{ transfer_to: USER }`",
        "billing" | "defaults" => "a mapping",
        "version" => "the number 1",
        "cancel" | "discard" | "allow_pending_claims" => "`true` or `false`",
        _ if field.parse::<usize>().is_ok() => "a plan (a mapping with `user`)",
        _ => "text",
    };
    Finding {
        pointer: pointer.to_string(),
        at_key: false,
        message: format!("expected {expected}, found {}", kind_of(value)),
        hint: None,
    }
}

fn wrong_constant(pointer: &str, field: &str, value: &Value) -> Finding {
    let (message, hint) = match field {
        "version" => (
            format!("unsupported plan format version {}", show(value)),
            "this handover reads `version: 1`",
        ),
        "cancel" => (
            "`cancel: false` does not say what happens to the items".to_string(),
            "write `move_to: USER` to move them, or `cancel: true` to cancel them",
        ),
        _ => (
            "`discard: false` does not say what happens to the messages".to_string(),
            "write `forward_to: USER` to forward them, or `discard: true`",
        ),
    };
    Finding {
        pointer: pointer.to_string(),
        at_key: false,
        message,
        hint: Some(hint.to_string()),
    }
}

fn choice(pointer: &str, field: &str, both: bool) -> Finding {
    let (keep, drop) = match field {
        "inbox" => ("forward_to", "discard"),
        _ => ("move_to", "cancel"),
    };
    let message = if both {
        format!("has both `{keep}` and `{drop}`")
    } else {
        format!("needs `{keep}` or `{drop}: true`")
    };
    Finding {
        pointer: pointer.to_string(),
        at_key: false,
        message,
        hint: Some(format!("choose one: `{keep}: USER` or `{drop}: true`")),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// A value quoted for a message; long values are cut.
fn show(value: &Value) -> String {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let cut: String = text.chars().take(40).collect();
    if cut.len() < text.len() {
        format!("`{cut}…`")
    } else {
        format!("`{cut}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(document: Value) -> Vec<String> {
        schema_findings(Shape::of(&document), &document)
            .into_iter()
            .map(|finding| format!("{} {}", finding.pointer, finding.message))
            .collect()
    }

    #[test]
    fn a_valid_plan_has_no_findings() {
        let plan = json!({"version": 1, "user": "jsmith", "default_to": "apatel"});
        assert!(messages(plan).is_empty());
    }

    #[test]
    fn unknown_fields_get_a_suggestion() {
        let plan = json!({"version": 1, "user": "jsmith", "appointments": {"move_tp": "a"}});
        let findings = schema_findings(Shape::Plan, &plan);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].pointer, "/appointments/move_tp");
        assert_eq!(findings[0].hint.as_deref(), Some("did you mean `move_to`?"));
    }

    #[test]
    fn categories_need_exactly_one_choice() {
        let both =
            json!({"version": 1, "user": "a", "appointments": {"move_to": "b", "cancel": true}});
        assert_eq!(
            messages(both),
            ["/appointments has both `move_to` and `cancel`"]
        );
        let neither = json!({"version": 1, "user": "a", "inbox": {}});
        assert_eq!(
            messages(neither),
            ["/inbox needs `forward_to` or `discard: true`"]
        );
    }

    #[test]
    fn every_error_of_a_document_is_listed() {
        let plan = json!({"version": 2, "usr": "a", "not_before": "2026-02-30"});
        assert_eq!(messages(plan).len(), 4);
    }
}
