//! The plan JSON Schema: generated from the types in `model`, printed by
//! `handover schema`, committed as `schemas/plan.schema.json`, and used to
//! validate every plan file before it is read into Rust types.

use std::sync::OnceLock;

use schemars::Schema;
use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use serde_json::Value;

use super::model::PlanDocument;

/// The schema's `$id`, so editors can tell it apart from others.
const SCHEMA_ID: &str = "https://handover.invalid/schemas/plan.schema.json";

/// The plan JSON Schema, as JSON.
pub fn plan_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(generate)
}

/// The schema as pretty JSON, exactly as committed in `schemas/`.
pub fn plan_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(plan_schema()).unwrap_or_default();
    text.push('\n');
    text
}

fn generate() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .for_deserialize()
        .with_transform(RecursiveTransform(drop_null))
        .into_generator();
    let mut schema = generator.into_root_schema_for::<PlanDocument>();
    schema.insert("$id".into(), SCHEMA_ID.into());
    schema.to_value()
}

/// Optional fields may be left out but never set to `null`: a plan that
/// says `move_to: ~` is a mistake worth reporting.
fn drop_null(schema: &mut Schema) {
    if let Some(Value::Array(types)) = schema.get_mut("type") {
        types.retain(|kind| kind != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            schema.insert("type".into(), only);
        }
    }
    for keyword in ["anyOf", "oneOf"] {
        let Some(Value::Array(branches)) = schema.get_mut(keyword) else {
            continue;
        };
        branches.retain(|branch| branch.get("type").and_then(Value::as_str) != Some("null"));
        if keyword == "anyOf" && branches.len() == 1 {
            let only = branches.remove(0);
            schema.remove("anyOf");
            if let Value::Object(fields) = only {
                for (key, value) in fields {
                    schema.insert(key, value);
                }
            }
        }
    }
}

/// A compiled validator for one of the schema's two document shapes.
pub fn validator(shape: Shape) -> &'static jsonschema::Validator {
    static BATCH: OnceLock<jsonschema::Validator> = OnceLock::new();
    static PLAN: OnceLock<jsonschema::Validator> = OnceLock::new();
    let (cell, name) = match shape {
        Shape::Batch => (&BATCH, "BatchFile"),
        Shape::Plan => (&PLAN, "PlanFile"),
    };
    cell.get_or_init(|| compile(name))
}

/// Which top-level shape a document claims to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Batch,
    Plan,
}

impl Shape {
    /// A document with a `plans` key is a batch; anything else is read as a
    /// single plan, so that its errors speak of plan fields.
    pub fn of(value: &Value) -> Shape {
        match value.get("plans") {
            Some(_) => Shape::Batch,
            None => Shape::Plan,
        }
    }
}

fn compile(definition: &str) -> jsonschema::Validator {
    let mut schema = plan_schema().clone();
    if let Value::Object(root) = &mut schema {
        root.remove("anyOf");
        root.remove("oneOf");
        root.insert("$ref".into(), format!("#/$defs/{definition}").into());
    }
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the generated plan schema compiles")
}

/// The property names a schema object allows at `pointer` in a document of
/// `shape`, for suggesting the right spelling of a misspelled field.
pub fn known_fields(shape: Shape, parent: &str) -> Vec<String> {
    let schema = plan_schema();
    let definitions = &schema["$defs"];
    let mut current = match shape {
        Shape::Batch => &definitions["BatchFile"],
        Shape::Plan => &definitions["PlanFile"],
    };
    for segment in parent.split('/').skip(1) {
        current = resolve(definitions, current);
        current = if segment.parse::<usize>().is_ok() && current.get("items").is_some() {
            &current["items"]
        } else {
            match field_schema(definitions, current, segment) {
                Some(found) => found,
                None => return Vec::new(),
            }
        };
    }
    property_names(definitions, resolve(definitions, current))
}

fn resolve<'a>(definitions: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap_or_default();
            resolve(definitions, &definitions[name])
        }
        None => schema,
    }
}

fn field_schema<'a>(definitions: &'a Value, schema: &'a Value, name: &str) -> Option<&'a Value> {
    if let Some(found) = schema.get("properties").and_then(|props| props.get(name)) {
        return Some(found);
    }
    let parts = schema.get("allOf").and_then(Value::as_array)?;
    parts
        .iter()
        .find_map(|part| field_schema(definitions, resolve(definitions, part), name))
}

fn property_names(definitions: &Value, schema: &Value) -> Vec<String> {
    let mut names: Vec<String> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| props.keys().cloned().collect())
        .unwrap_or_default();
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        for part in parts {
            names.extend(property_names(definitions, resolve(definitions, part)));
        }
    }
    names
}
