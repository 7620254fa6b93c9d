//! Code co-occurrence within responses and the segment × theme profile.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::error::StatsError;
use super::select::{check_layer, code_presence, is_codable, select_codes, CodeSelection};
use crate::model::{Code, StudyData};

/// A code with its overall counts in the layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodeInfo {
    /// Code path.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Responses carrying it (or a sub-code).
    pub responses: u64,
    /// Participants with at least one such response.
    pub participants: u64,
}

/// Co-occurrence of two codes within responses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CooccurrencePair {
    /// First code path.
    pub a: String,
    /// Second code path.
    pub b: String,
    /// Responses carrying both.
    pub both: u64,
    /// Responses carrying either.
    pub either: u64,
    /// Jaccard index both / either; `None` when neither code occurs.
    pub jaccard: Option<f64>,
}

/// Co-occurrence counts of the selected codes within responses of one layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cooccurrence {
    /// The coding layer.
    pub layer: String,
    /// Responses considered (open answers or answers coded in the layer).
    pub responses: u64,
    /// The codes, in order.
    pub codes: Vec<CodeInfo>,
    /// Symmetric matrix of responses carrying both codes; the diagonal is each code's response count.
    pub counts: Vec<Vec<u64>>,
    /// Every pair (i < j) with counts and Jaccard index.
    pub pairs: Vec<CooccurrencePair>,
}

fn code_info(code: &Code) -> CodeInfo {
    CodeInfo {
        code: code.path.as_str().to_string(),
        name: code.name.clone(),
        responses: 0,
        participants: 0,
    }
}

/// How often each pair of selected codes is applied to the same response (e.g. `CodeSelection::Depth(2)` for themes).
pub fn cooccurrence(
    study: &StudyData,
    layer: &str,
    selection: &CodeSelection,
) -> Result<Cooccurrence, StatsError> {
    check_layer(study, layer)?;
    let codes = select_codes(study, selection)?;
    let presence = code_presence(study, layer, &codes);
    let k = codes.len();
    let mut counts = vec![vec![0u64; k]; k];
    let mut participants: Vec<BTreeSet<&str>> = vec![BTreeSet::new(); k];
    let mut responses = 0;
    for r in study.responses.iter().filter(|r| is_codable(r, &presence)) {
        responses += 1;
        let Some(has) = presence.get(&r.key) else {
            continue;
        };
        for i in (0..k).filter(|&i| has[i]) {
            participants[i].insert(r.key.participant.as_str());
            for j in (0..k).filter(|&j| has[j]) {
                counts[i][j] += 1;
            }
        }
    }
    let infos: Vec<CodeInfo> = codes
        .iter()
        .enumerate()
        .map(|(i, c)| CodeInfo {
            responses: counts[i][i],
            participants: participants[i].len() as u64,
            ..code_info(c)
        })
        .collect();
    let mut pairs = Vec::new();
    for i in 0..k {
        for j in i + 1..k {
            let both = counts[i][j];
            let either = counts[i][i] + counts[j][j] - both;
            pairs.push(CooccurrencePair {
                a: infos[i].code.clone(),
                b: infos[j].code.clone(),
                both,
                either,
                jaccard: (either > 0).then(|| both as f64 / either as f64),
            });
        }
    }
    Ok(Cooccurrence {
        layer: layer.to_string(),
        responses,
        codes: infos,
        counts,
        pairs,
    })
}

/// A segment with the number of participants and responses about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileSegment {
    /// Segment key.
    pub key: String,
    /// Segment label.
    pub label: String,
    /// Patient key.
    pub patient: String,
    /// Rupture type.
    pub rupture: String,
    /// Participants who answered about it.
    pub participants: u64,
    /// Responses about it (open answers or answers coded in the layer).
    pub responses: u64,
}

/// How many participants and responses expressed one code about one segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileCell {
    /// Participants with at least one answer about the segment carrying the code.
    pub participants: u64,
    /// 100 · participants / participants who answered about the segment.
    pub participants_pct: f64,
    /// Responses about the segment carrying the code.
    pub responses: u64,
}

/// Segment × code profile of one layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentProfile {
    /// The coding layer.
    pub layer: String,
    /// Segments in study order.
    pub segments: Vec<ProfileSegment>,
    /// The codes, in order, with overall counts.
    pub codes: Vec<CodeInfo>,
    /// `cells[segment][code]`.
    pub cells: Vec<Vec<ProfileCell>>,
}

/// For each segment, how many participants and responses expressed each selected code.
pub fn segment_profile(
    study: &StudyData,
    layer: &str,
    selection: &CodeSelection,
) -> Result<SegmentProfile, StatsError> {
    check_layer(study, layer)?;
    let codes = select_codes(study, selection)?;
    let presence = code_presence(study, layer, &codes);
    let k = codes.len();
    let seg_index: HashMap<&str, usize> = study
        .segments
        .iter()
        .enumerate()
        .map(|(i, s)| (s.key.as_str(), i))
        .collect();
    let ns = study.segments.len();
    let mut answered: Vec<BTreeSet<&str>> = vec![BTreeSet::new(); ns];
    let mut seg_responses = vec![0u64; ns];
    let mut cell_participants: Vec<Vec<BTreeSet<&str>>> = vec![vec![BTreeSet::new(); k]; ns];
    let mut cell_responses = vec![vec![0u64; k]; ns];
    let mut code_participants: Vec<BTreeSet<&str>> = vec![BTreeSet::new(); k];
    let mut code_responses = vec![0u64; k];
    for r in &study.responses {
        let Some(&s) = r
            .key
            .segment
            .as_ref()
            .and_then(|s| seg_index.get(s.as_str()))
        else {
            continue;
        };
        let p = r.key.participant.as_str();
        answered[s].insert(p);
        if !is_codable(r, &presence) {
            continue;
        }
        seg_responses[s] += 1;
        let Some(has) = presence.get(&r.key) else {
            continue;
        };
        for c in (0..k).filter(|&c| has[c]) {
            cell_participants[s][c].insert(p);
            cell_responses[s][c] += 1;
            code_participants[c].insert(p);
            code_responses[c] += 1;
        }
    }
    let segments = study
        .segments
        .iter()
        .enumerate()
        .map(|(i, s)| ProfileSegment {
            key: s.key.as_str().to_string(),
            label: s.label.clone(),
            patient: s.patient.as_str().to_string(),
            rupture: s.rupture.as_str().to_string(),
            participants: answered[i].len() as u64,
            responses: seg_responses[i],
        })
        .collect();
    let cells = (0..ns)
        .map(|s| {
            (0..k)
                .map(|c| {
                    let n = answered[s].len() as u64;
                    let has = cell_participants[s][c].len() as u64;
                    ProfileCell {
                        participants: has,
                        participants_pct: if n == 0 {
                            0.0
                        } else {
                            100.0 * has as f64 / n as f64
                        },
                        responses: cell_responses[s][c],
                    }
                })
                .collect()
        })
        .collect();
    let infos = codes
        .iter()
        .enumerate()
        .map(|(i, c)| CodeInfo {
            responses: code_responses[i],
            participants: code_participants[i].len() as u64,
            ..code_info(c)
        })
        .collect();
    Ok(SegmentProfile {
        layer: layer.to_string(),
        segments,
        codes: infos,
        cells,
    })
}
