//! Choosing the codes to analyse and reading code presence from one coding layer.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::error::StatsError;
use crate::model::{Answer, Code, Response, ResponseKey, StudyData};

/// Which codes of the codebook to analyse; a code always counts its sub-codes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum CodeSelection {
    /// Every code at this depth (1 category, 2 theme, 3 sub-theme).
    Depth(usize),
    /// The direct children of this code (e.g. the themes of `Cause`).
    ChildrenOf(String),
    /// These codes, in this order.
    List(Vec<String>),
}

impl Default for CodeSelection {
    fn default() -> Self {
        CodeSelection::Depth(2)
    }
}

fn unknown_code(study: &StudyData, path: &str) -> StatsError {
    let hint = crate::text::did_you_mean(path, study.codes.iter().map(|c| c.path.as_str()))
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default();
    StatsError::UnknownCode {
        path: path.to_string(),
        hint,
    }
}

/// The selected codes, in codebook order (or list order).
pub(crate) fn select_codes<'a>(
    study: &'a StudyData,
    sel: &CodeSelection,
) -> Result<Vec<&'a Code>, StatsError> {
    let codes: Vec<&Code> = match sel {
        CodeSelection::Depth(0) => {
            return Err(StatsError::NoCodes(
                "depth 0 selects nothing; use 1 (categories), 2 (themes) or 3 (sub-themes)".into(),
            ))
        }
        CodeSelection::Depth(d) => {
            let v: Vec<&Code> = study
                .codes
                .iter()
                .filter(|c| c.path.depth() == *d)
                .collect();
            if v.is_empty() {
                return Err(StatsError::NoCodes(format!(
                    "the codebook has no codes at depth {d}"
                )));
            }
            v
        }
        CodeSelection::ChildrenOf(parent) => {
            let p = study
                .code(parent)
                .ok_or_else(|| unknown_code(study, parent))?;
            let v: Vec<&Code> = study
                .codes
                .iter()
                .filter(|c| c.path.parent().as_ref() == Some(&p.path))
                .collect();
            if v.is_empty() {
                return Err(StatsError::NoCodes(format!(
                    "code `{parent}` has no sub-codes"
                )));
            }
            v
        }
        CodeSelection::List(list) => {
            if list.is_empty() {
                return Err(StatsError::NoCodes("the list of codes is empty".into()));
            }
            list.iter()
                .map(|p| study.code(p).ok_or_else(|| unknown_code(study, p)))
                .collect::<Result<_, _>>()?
        }
    };
    Ok(codes)
}

/// Errors unless some coding belongs to `layer`.
pub(crate) fn check_layer(study: &StudyData, layer: &str) -> Result<(), StatsError> {
    if study.codings.iter().any(|c| c.coder.as_str() == layer) {
        return Ok(());
    }
    let layers: BTreeSet<&str> = study.codings.iter().map(|c| c.coder.as_str()).collect();
    Err(StatsError::EmptyLayer {
        layer: layer.to_string(),
        available: if layers.is_empty() {
            "none (the study has no codings yet)".to_string()
        } else {
            layers.into_iter().collect::<Vec<_>>().join(", ")
        },
    })
}

/// For every response carrying at least one coding in `layer`: which of `codes` it carries (a sub-code counts).
pub(crate) fn code_presence<'a>(
    study: &'a StudyData,
    layer: &str,
    codes: &[&Code],
) -> HashMap<&'a ResponseKey, Vec<bool>> {
    let mut map: HashMap<&ResponseKey, Vec<bool>> = HashMap::new();
    for c in study.codings.iter().filter(|c| c.coder.as_str() == layer) {
        let row = map
            .entry(&c.response)
            .or_insert_with(|| vec![false; codes.len()]);
        for (i, code) in codes.iter().enumerate() {
            if c.code.is_within(&code.path) {
                row[i] = true;
            }
        }
    }
    map
}

/// Whether a response is a unit of response-level counting: an open-text answer or one the layer coded.
pub(crate) fn is_codable(r: &Response, presence: &HashMap<&ResponseKey, Vec<bool>>) -> bool {
    matches!(r.answer, Answer::Text(_)) || presence.contains_key(&r.key)
}
