//! Theme prevalence and CQR frequency labels, computed from one coding layer.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::keys::{CodePath, Key};
use crate::model::{ResponseKey, StudyData};

/// CQR frequency label (Hill et al. 2005).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CqrLabel {
    /// All cases or all but one.
    General,
    /// More than half, up to the general cut-off.
    Typical,
    /// At least two (four when N > 15), up to half.
    Variant,
    /// Two or three cases, when N > 15.
    Rare,
    /// Fewer than two cases.
    None,
}

impl CqrLabel {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CqrLabel::General => "general",
            CqrLabel::Typical => "typical",
            CqrLabel::Variant => "variant",
            CqrLabel::Rare => "rare",
            CqrLabel::None => "—",
        }
    }
}

/// The CQR label of a theme named by `count` of `n` cases.
pub fn cqr_label(count: usize, n: usize) -> CqrLabel {
    if n == 0 || count == 0 {
        return CqrLabel::None;
    }
    if count + 1 >= n && n >= 2 || count == n {
        CqrLabel::General
    } else if 2 * count > n {
        CqrLabel::Typical
    } else if n > 15 && (2..=3).contains(&count) {
        CqrLabel::Rare
    } else if count >= 2 {
        CqrLabel::Variant
    } else {
        CqrLabel::None
    }
}

/// Prevalence of one code (a theme counts its sub-codes).
#[derive(Debug, Clone, PartialEq)]
pub struct PrevalenceRow {
    /// The code.
    pub code: CodePath,
    /// Its display name.
    pub name: String,
    /// Depth: 1 category, 2 theme, 3 sub-theme.
    pub depth: usize,
    /// Participants who expressed it at least once.
    pub participants: usize,
    /// Share of the participants who answered (0–100).
    pub participants_pct: f64,
    /// Responses that carry it.
    pub responses: usize,
    /// Segments about which someone expressed it.
    pub segments: usize,
    /// CQR label from the participant count.
    pub cqr: CqrLabel,
}

/// The response keys that carry each code in `layer` (a coding of a
/// sub-code also counts for its theme and category).
pub fn responses_by_code<'a>(
    study: &'a StudyData,
    layer: &str,
) -> HashMap<&'a str, BTreeSet<&'a ResponseKey>> {
    // A coding counts for every codebook code that is its code or an ancestor
    // of it: look its path's prefixes up instead of testing every code.
    let index: HashMap<&str, &str> = study
        .codes
        .iter()
        .map(|c| (c.path.as_str(), c.path.as_str()))
        .collect();
    let mut map: HashMap<&str, BTreeSet<&ResponseKey>> = HashMap::new();
    for c in study.codings.iter().filter(|c| c.coder.as_str() == layer) {
        let path = c.code.as_str();
        let prefixes = path
            .match_indices('/')
            .map(|(i, _)| &path[..i])
            .chain(std::iter::once(path));
        for prefix in prefixes {
            if let Some(&code) = index.get(prefix) {
                map.entry(code).or_default().insert(&c.response);
            }
        }
    }
    map
}

/// Number of participants with at least one response: the N of prevalence.
pub fn participants_answered(study: &StudyData) -> usize {
    study
        .responses
        .iter()
        .map(|r| &r.key.participant)
        .collect::<HashSet<&Key>>()
        .len()
}

/// Prevalence of every code of the codebook in one layer, in codebook order.
///
/// Counts the same sets as [`responses_by_code`], on interned ids (a large
/// study has hundreds of thousands of codings).
pub fn prevalence(study: &StudyData, layer: &str) -> Vec<PrevalenceRow> {
    let n = participants_answered(study);
    let code_index: HashMap<&str, usize> = study
        .codes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.path.as_str(), i))
        .collect();
    // Interned responses: response id → (participant id, segment id).
    let mut response_ids: HashMap<&ResponseKey, u32> = HashMap::new();
    let mut participant_ids: HashMap<&Key, u32> = HashMap::new();
    let mut segment_ids: HashMap<&Key, u32> = HashMap::new();
    let mut response_of: Vec<(u32, Option<u32>)> = Vec::new();
    let mut per_code: Vec<Vec<u32>> = vec![Vec::new(); study.codes.len()];
    for c in study.codings.iter().filter(|c| c.coder.as_str() == layer) {
        let next = response_ids.len() as u32;
        let rid = *response_ids.entry(&c.response).or_insert_with(|| {
            let np = participant_ids.len() as u32;
            let p = *participant_ids.entry(&c.response.participant).or_insert(np);
            let s = c.response.segment.as_ref().map(|s| {
                let ns = segment_ids.len() as u32;
                *segment_ids.entry(s).or_insert(ns)
            });
            response_of.push((p, s));
            next
        });
        let path = c.code.as_str();
        let prefixes = path
            .match_indices('/')
            .map(|(i, _)| &path[..i])
            .chain(std::iter::once(path));
        for prefix in prefixes {
            if let Some(&i) = code_index.get(prefix) {
                per_code[i].push(rid);
            }
        }
    }
    let distinct = |mut v: Vec<u32>| {
        v.sort_unstable();
        v.dedup();
        v.len()
    };
    study
        .codes
        .iter()
        .zip(per_code)
        .map(|(code, mut rids)| {
            rids.sort_unstable();
            rids.dedup();
            let participants = distinct(rids.iter().map(|&r| response_of[r as usize].0).collect());
            let segments = distinct(
                rids.iter()
                    .filter_map(|&r| response_of[r as usize].1)
                    .collect(),
            );
            PrevalenceRow {
                code: code.path.clone(),
                name: code.name.clone(),
                depth: code.path.depth(),
                participants,
                participants_pct: if n == 0 {
                    0.0
                } else {
                    100.0 * participants as f64 / n as f64
                },
                responses: rids.len(),
                segments,
                cqr: cqr_label(participants, n),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cqr_cutoffs_for_twenty_cases_match_domain_notes() {
        let l = |c| cqr_label(c, 20);
        for c in 19..=20 {
            assert_eq!(l(c), CqrLabel::General, "{c}");
        }
        for c in 11..=18 {
            assert_eq!(l(c), CqrLabel::Typical, "{c}");
        }
        for c in 4..=10 {
            assert_eq!(l(c), CqrLabel::Variant, "{c}");
        }
        for c in 2..=3 {
            assert_eq!(l(c), CqrLabel::Rare, "{c}");
        }
        assert_eq!(l(1), CqrLabel::None);
        assert_eq!(l(0), CqrLabel::None);
    }

    #[test]
    fn cqr_small_n_has_no_rare_band() {
        // N = 10: general 9–10, typical 6–8, variant 2–5.
        assert_eq!(cqr_label(9, 10), CqrLabel::General);
        assert_eq!(cqr_label(6, 10), CqrLabel::Typical);
        assert_eq!(cqr_label(5, 10), CqrLabel::Variant);
        assert_eq!(cqr_label(2, 10), CqrLabel::Variant);
        assert_eq!(cqr_label(1, 10), CqrLabel::None);
    }
}
