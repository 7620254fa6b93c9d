//! Encodings shared by every backend: how typed model values become columns.

use std::collections::BTreeMap;

use rupturelab_core::{AttributeType, Key, QuestionKind};
use serde_json::{json, Value};

/// Encodes an attribute type's constraints as JSON.
pub(crate) fn attribute_spec(kind: &AttributeType) -> String {
    match kind {
        AttributeType::Category { values } => json!({ "values": values }),
        AttributeType::Integer { min, max } => json!({ "min": min, "max": max }),
        AttributeType::Number { min, max } => json!({ "min": min, "max": max }),
        AttributeType::Text | AttributeType::Boolean => json!({}),
    }
    .to_string()
}

/// Decodes an attribute type from its kind name and JSON constraints.
pub(crate) fn attribute_type(kind: &str, spec: &str) -> Result<AttributeType, String> {
    let v: Value = serde_json::from_str(spec).map_err(|e| e.to_string())?;
    Ok(match kind {
        "category" => AttributeType::Category {
            values: v["values"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
        },
        "integer" => AttributeType::Integer {
            min: v["min"].as_i64(),
            max: v["max"].as_i64(),
        },
        "number" => AttributeType::Number {
            min: v["min"].as_f64(),
            max: v["max"].as_f64(),
        },
        "text" => AttributeType::Text,
        "boolean" => AttributeType::Boolean,
        o => return Err(format!("unknown attribute kind `{o}`")),
    })
}

/// Encodes a question kind's constraints as JSON.
pub(crate) fn question_spec(kind: &QuestionKind) -> String {
    match kind {
        QuestionKind::Open => json!({}),
        QuestionKind::Likert { min, max, anchors } => {
            let a: BTreeMap<String, &String> =
                anchors.iter().map(|(k, v)| (k.to_string(), v)).collect();
            json!({ "min": min, "max": max, "anchors": a })
        }
        QuestionKind::Choice { choices } => json!({ "choices": choices }),
    }
    .to_string()
}

/// Decodes a question kind.
pub(crate) fn question_kind(kind: &str, spec: &str) -> Result<QuestionKind, String> {
    let v: Value = serde_json::from_str(spec).map_err(|e| e.to_string())?;
    Ok(match kind {
        "open" => QuestionKind::Open,
        "likert" => QuestionKind::Likert {
            min: v["min"].as_i64().unwrap_or(1),
            max: v["max"].as_i64().unwrap_or(5),
            anchors: v["anchors"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter_map(|(k, v)| Some((k.parse().ok()?, v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default(),
        },
        "choice" => QuestionKind::Choice {
            choices: v["choices"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
        },
        o => return Err(format!("unknown question kind `{o}`")),
    })
}

/// Encodes the band cut points.
pub(crate) fn bands(b: &[f64]) -> String {
    json!(b).to_string()
}

/// Decodes the band cut points.
pub(crate) fn parse_bands(s: &str) -> Vec<f64> {
    serde_json::from_str(s).unwrap_or_default()
}

/// A store error for data that breaks a rule.
pub(crate) fn invalid(msg: impl Into<String>) -> crate::StoreError {
    crate::StoreError::Invalid(msg.into())
}

/// Decodes a stored key.
pub(crate) fn key(s: String) -> crate::Result<Key> {
    key_str(&s)
}

/// Decodes a stored key from a borrowed column.
pub(crate) fn key_str(s: &str) -> crate::Result<Key> {
    Key::parse(s).map_err(|e| invalid(format!("stored key {e}")))
}
