//! Reading plan YAML safely: tight parser budgets, no anchors, aliases, merge
//! keys or duplicate keys, and a map from every JSON pointer in the document
//! back to the line and column it came from, so that later layers (the JSON
//! Schema, the plans' meaning) can point at the source.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use serde_saphyr::{Budget, DuplicateKeyPolicy, MergeKeyPolicy, Options, Spanned};

/// The deepest nesting a plan file may have. The schema needs four levels
/// (`plans`, an entry, a category, a field); the margin keeps errors about
/// structure coming from the schema, which explains them better.
pub const MAX_DEPTH: usize = 8;

/// A line and column, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub line: u64,
    pub column: u64,
}

/// Where each node and each mapping key of a document stands in its file,
/// keyed by JSON pointer (`/plans/0/user`).
#[derive(Debug, Default)]
pub struct Positions {
    values: HashMap<String, Position>,
    keys: HashMap<String, Position>,
}

impl Positions {
    /// The position of the value at `pointer`, or of its nearest ancestor.
    pub fn value(&self, pointer: &str) -> Position {
        self.nearest(&self.values, pointer)
    }

    /// The position of the key that names the member at `pointer`, falling
    /// back to its value.
    pub fn key(&self, pointer: &str) -> Position {
        match self.keys.get(pointer) {
            Some(position) => *position,
            None => self.value(pointer),
        }
    }

    fn nearest(&self, table: &HashMap<String, Position>, pointer: &str) -> Position {
        let mut pointer = pointer;
        loop {
            if let Some(position) = table.get(pointer) {
                return *position;
            }
            match pointer.rfind('/') {
                Some(cut) => pointer = &pointer[..cut],
                None => return Position { line: 1, column: 1 },
            }
        }
    }
}

/// A YAML document turned into JSON, with its positions.
#[derive(Debug)]
pub struct Document {
    pub value: Value,
    pub positions: Positions,
}

/// A YAML syntax or safety error, with where it happened when known.
#[derive(Debug)]
pub struct SyntaxError {
    pub message: String,
    pub position: Position,
}

/// Parses one YAML document under the plan-file budgets.
pub fn parse(text: &str) -> Result<Document, SyntaxError> {
    let root: Spanned<Node> =
        serde_saphyr::from_str_with_options(text, options()).map_err(syntax_error)?;
    let mut positions = Positions::default();
    let value = into_json(root, String::new(), &mut positions);
    Ok(Document { value, positions })
}

fn options() -> Options {
    let mut budget = Budget::default();
    budget.max_events = 100_000;
    budget.max_aliases = 0;
    budget.max_anchors = 0;
    budget.max_depth = MAX_DEPTH;
    budget.max_documents = 1;
    budget.max_nodes = 50_000;
    budget.max_total_scalar_bytes = 1 << 20;
    budget.max_merge_keys = 0;
    let mut options = Options::default();
    options.budget = Some(budget);
    options.duplicate_keys = DuplicateKeyPolicy::Error;
    options.merge_keys = MergeKeyPolicy::Error;
    options.strict_booleans = true;
    options.with_snippet = false;
    options
}

fn syntax_error(error: serde_saphyr::Error) -> SyntaxError {
    let position = error
        .location()
        .map(|at| Position {
            line: at.line().max(1),
            column: at.column().max(1),
        })
        .unwrap_or(Position { line: 1, column: 1 });
    SyntaxError {
        message: plain_message(&error),
        position,
    }
}

/// The parser's message without its own location suffix, in our style:
/// one lowercase line.
fn plain_message(error: &serde_saphyr::Error) -> String {
    let text = error.without_snippet().to_string();
    let first = text.lines().next().unwrap_or("invalid YAML").trim();
    let first = match first.find(" at line ") {
        Some(cut) => &first[..cut],
        None => first,
    };
    let lower = first.to_lowercase();
    if lower.contains("anchor") || lower.contains("alias") {
        return "anchors and aliases are not allowed in plan files".to_string();
    }
    if lower.contains("merge") {
        return "merge keys (`<<`) are not allowed in plan files".to_string();
    }
    if lower.contains("depth") {
        return format!("nesting is deeper than a plan allows ({MAX_DEPTH} levels)");
    }
    first.trim_end_matches('.').to_string()
}

/// One YAML node as read, before it becomes JSON.
enum Node {
    Null,
    Bool(bool),
    Number(Number),
    Text(String),
    List(Vec<Spanned<Node>>),
    Mapping(Vec<(Spanned<String>, Spanned<Node>)>),
}

fn into_json(node: Spanned<Node>, pointer: String, positions: &mut Positions) -> Value {
    let at = &node.referenced;
    let position = Position {
        line: at.line().max(1),
        column: at.column().max(1),
    };
    positions.values.insert(pointer.clone(), position);
    match node.value {
        Node::Null => Value::Null,
        Node::Bool(flag) => Value::Bool(flag),
        Node::Number(number) => Value::Number(number),
        Node::Text(text) => Value::String(text),
        Node::List(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(index, item)| into_json(item, format!("{pointer}/{index}"), positions))
                .collect(),
        ),
        Node::Mapping(entries) => {
            let mut map = Map::new();
            for (key, item) in entries {
                let child = format!("{pointer}/{}", escape(&key.value));
                let key_at = &key.referenced;
                let key_position = Position {
                    line: key_at.line().max(1),
                    column: key_at.column().max(1),
                };
                positions.keys.insert(child.clone(), key_position);
                map.insert(key.value, into_json(item, child, positions));
            }
            Value::Object(map)
        }
    }
}

/// Escapes a mapping key as a JSON pointer segment (RFC 6901).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a YAML value")
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_bool<E>(self, flag: bool) -> Result<Node, E> {
        Ok(Node::Bool(flag))
    }

    fn visit_i64<E>(self, number: i64) -> Result<Node, E> {
        Ok(Node::Number(number.into()))
    }

    fn visit_u64<E>(self, number: u64) -> Result<Node, E> {
        Ok(Node::Number(number.into()))
    }

    fn visit_f64<E: de::Error>(self, number: f64) -> Result<Node, E> {
        Number::from_f64(number)
            .map(Node::Number)
            .ok_or_else(|| E::custom("numbers must be finite"))
    }

    fn visit_str<E>(self, text: &str) -> Result<Node, E> {
        Ok(Node::Text(text.to_string()))
    }

    fn visit_string<E>(self, text: String) -> Result<Node, E> {
        Ok(Node::Text(text))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key()? {
            entries.push((key, map.next_value()?));
        }
        Ok(Node::Mapping(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_positions_of_values_and_keys() {
        let text = "version: 1\nplans:\n  - user: jsmith\n    inbox: { forward_to: ann }\n";
        let doc = parse(text).unwrap();
        assert_eq!(doc.value["plans"][0]["user"], "jsmith");
        assert_eq!(
            doc.positions.value("/plans/0/user"),
            Position {
                line: 3,
                column: 11
            }
        );
        assert_eq!(
            doc.positions.key("/plans/0/inbox"),
            Position { line: 4, column: 5 }
        );
        assert_eq!(doc.positions.value("/plans/0/inbox/forward_to").line, 4);
    }

    #[test]
    fn refuses_anchors_aliases_merges_and_duplicates() {
        for text in [
            "a: &x 1\nb: *x\n",
            "base: &b { x: 1 }\nother:\n  <<: *b\n",
            "user: a\nuser: b\n",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn refuses_deep_nesting() {
        let deep = "[".repeat(40) + &"]".repeat(40);
        assert!(parse(&deep).is_err());
    }
}
