//! The serde shapes of `study.toml` and `codebook.toml`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

fn is_false(b: &bool) -> bool {
    !*b
}
fn is_true(b: &bool) -> bool {
    *b
}
fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StudyToml {
    pub format: String,
    pub study: StudySection,
    #[serde(default)]
    pub settings: SettingsSection,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<AttributeSection>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub questions: Vec<QuestionSection>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patients: Vec<PatientSection>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coders: Vec<CoderSection>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StudySection {
    pub key: String,
    #[serde(default)]
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default = "default_language")]
    pub language: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub synthetic: bool,
}

fn default_language() -> String {
    "en".into()
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettingsSection {
    #[serde(default = "default_order")]
    pub presentation_order: String,
    #[serde(default = "yes")]
    pub agreement: bool,
    #[serde(default = "default_threshold")]
    pub agreement_threshold: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thanks_text: Option<String>,
}

impl Default for SettingsSection {
    fn default() -> Self {
        SettingsSection {
            presentation_order: default_order(),
            agreement: true,
            agreement_threshold: default_threshold(),
            consent_text: None,
            welcome_text: None,
            thanks_text: None,
        }
    }
}

fn default_order() -> String {
    "fixed".into()
}
fn default_threshold() -> f64 {
    0.667
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AttributeSection {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<toml::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<toml::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bands: Vec<toml::Value>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuestionSection {
    pub key: String,
    #[serde(default = "default_kind")]
    pub kind: String,
    #[serde(default = "default_scope")]
    pub scope: String,
    pub prompt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub anchors: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
}

fn default_kind() -> String {
    "open".into()
}
fn default_scope() -> String {
    "segment".into()
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatientSection {
    pub key: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CoderSection {
    pub name: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CodebookToml {
    #[serde(default)]
    pub code: Vec<CodeSection>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CodeSection {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub codable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
}
