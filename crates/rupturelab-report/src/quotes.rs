//! Illustrative quotes per theme: a documented, deterministic choice, with
//! pins and exclusions given by the researcher.
//!
//! **The rule.** For each theme (a code at depth 2) the candidates are the
//! codings of the report's layer (consensus by default) with that theme or
//! one of its sub-themes on an open-text answer. A candidate's text is the
//! coded span (the whole answer for a coding without a span) with runs of
//! white space collapsed; the same text on the same answer counts once.
//! Candidates of [`MIN_LEN`]–[`MAX_LEN`] characters are eligible (when none
//! is, every candidate is, cut to [`MAX_LEN`] characters at a word boundary).
//! Candidates are ranked by how far their length is from [`IDEAL_LEN`]
//! characters (a sentence: short, yet self-explaining), then by answer key
//! (participant, segment, question) and span start. Up to the maximum
//! (3 by default) are taken in three passes over the ranking: first only
//! quotes from a participant *and* a group (orientation) not yet quoted for
//! the theme, then from a participant not yet quoted, then any remaining.
//! Pinned quotes come first and count toward the maximum; excluded answers
//! are never chosen. Nothing random is involved, so the same study gives
//! the same quotes.
//!
//! **Pins and exclusions** are given as `THEME=PARTICIPANT/SEGMENT/QUESTION`
//! (`Cause/Patient=P03/S2/Q1`; the theme may be omitted for an exclusion, which
//! then applies to every theme), or in a `quotes.toml` file:
//!
//! ```toml
//! [[pin]]
//! theme = "Cause/Patient"
//! response = "P03/S2/Q1"
//!
//! [[exclude]]
//! response = "P07/S4/Q1"   # every theme; add `theme = "…"` for one
//! ```
//!
//! The study database stores them too (`rupturelab quotes pin|exclude`, the
//! web console's Report page); the report takes them as options, stored
//! rules first.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rupturelab_core::{Answer, CodePath, Key, ResponseKey, StudyData};
use serde::Deserialize;

use crate::ReportError;

/// Shortest eligible quote, in characters.
pub const MIN_LEN: usize = 20;
/// Longest eligible quote, in characters.
pub const MAX_LEN: usize = 280;
/// The length quotes are ranked toward, in characters.
pub const IDEAL_LEN: usize = 120;

/// An answer named by the researcher, optionally for one theme only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteRef {
    /// The theme (code path); `None` = every theme (exclusions only).
    pub theme: Option<String>,
    /// The answer.
    pub response: ResponseKey,
}

impl QuoteRef {
    /// Parses `[THEME=]PARTICIPANT/SEGMENT/QUESTION` (empty segment for a question asked once).
    pub fn parse(s: &str) -> Result<Self, ReportError> {
        let (theme, key) = match s.split_once('=') {
            Some((t, k)) => (Some(t.trim().to_string()), k.trim()),
            None => (None, s.trim()),
        };
        let parts: Vec<&str> = key.split('/').collect();
        let bad = || {
            ReportError::Quotes(format!(
                "`{s}` does not name an answer; write THEME=PARTICIPANT/SEGMENT/QUESTION, e.g. Cause/Patient=P03/S2/Q1"
            ))
        };
        if parts.len() != 3 {
            return Err(bad());
        }
        let participant = Key::parse(parts[0]).map_err(|_| bad())?;
        let segment = if parts[1].is_empty() {
            None
        } else {
            Some(Key::parse(parts[1]).map_err(|_| bad())?)
        };
        let question = Key::parse(parts[2]).map_err(|_| bad())?;
        Ok(QuoteRef {
            theme,
            response: ResponseKey {
                participant,
                segment,
                question,
            },
        })
    }
}

/// The researcher's pins and exclusions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuoteRules {
    /// Quotes to show first (each names its theme).
    pub pins: Vec<QuoteRef>,
    /// Answers never to quote (for one theme, or every theme).
    pub excludes: Vec<QuoteRef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlRef {
    theme: Option<String>,
    response: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlRules {
    #[serde(default)]
    pin: Vec<TomlRef>,
    #[serde(default)]
    exclude: Vec<TomlRef>,
}

impl QuoteRules {
    /// Parses a `quotes.toml` file (see the module notes).
    pub fn from_toml(text: &str) -> Result<Self, ReportError> {
        let raw: TomlRules =
            toml::from_str(text).map_err(|e| ReportError::Quotes(format!("quotes file: {e}")))?;
        let conv = |r: TomlRef| -> Result<QuoteRef, ReportError> {
            let mut q = QuoteRef::parse(&r.response)?;
            q.theme = r.theme;
            Ok(q)
        };
        Ok(QuoteRules {
            pins: raw.pin.into_iter().map(conv).collect::<Result<_, _>>()?,
            excludes: raw
                .exclude
                .into_iter()
                .map(conv)
                .collect::<Result<_, _>>()?,
        })
    }

    /// Adds the rules of `other` after these.
    pub fn extend(&mut self, other: QuoteRules) {
        self.pins.extend(other.pins);
        self.excludes.extend(other.excludes);
    }

    fn excluded(&self, theme: &str, key: &ResponseKey) -> bool {
        self.excludes
            .iter()
            .any(|e| &e.response == key && e.theme.as_deref().is_none_or(|t| t == theme))
    }
}

/// One illustrative quote.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    /// The answer quoted.
    pub response: ResponseKey,
    /// The code the quoted span was coded with (the theme or a sub-theme).
    pub code: CodePath,
    /// The quoted text.
    pub text: String,
    /// The participant's group (e.g. orientation), when the study has the attribute.
    pub group: Option<String>,
    /// Whether the researcher pinned it.
    pub pinned: bool,
}

struct Candidate<'a> {
    /// Rank of the answer's key among all answer keys (so sorting compares integers).
    rank: u32,
    key: &'a ResponseKey,
    code: &'a CodePath,
    start: usize,
    end: usize,
    len: usize,
    text: &'a str,
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let head: String = s.chars().take(max).collect();
    let head = match head.rfind(' ') {
        Some(i) if i > max / 2 => head[..i].to_string(),
        _ => head,
    };
    format!("{}…", head.trim_end_matches([',', ';', ':', ' ']))
}

fn span_text(text: &str, start: usize, end: usize) -> String {
    collapse(
        &text
            .chars()
            .skip(start)
            .take(end - start)
            .collect::<String>(),
    )
}

/// Chooses up to `max` quotes for each theme of `themes` (see the module notes).
///
/// Returns the quotes per theme path and warnings for pins that name no
/// coding of the theme in the layer.
pub fn choose_quotes(
    study: &StudyData,
    layer: &str,
    themes: &[&CodePath],
    group_attribute: Option<&str>,
    rules: &QuoteRules,
    max: usize,
) -> (BTreeMap<String, Vec<Quote>>, Vec<String>) {
    let mut open: Vec<(&ResponseKey, &str)> = study
        .responses
        .iter()
        .filter_map(|r| match &r.answer {
            Answer::Text(t) if !t.trim().is_empty() => Some((&r.key, t.as_str())),
            _ => None,
        })
        .collect();
    open.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let texts: HashMap<&ResponseKey, (u32, &str)> = open
        .iter()
        .enumerate()
        .map(|(i, (k, t))| (*k, (i as u32, *t)))
        .collect();
    let group_of: HashMap<&str, String> = match group_attribute {
        Some(a) => study
            .participants
            .iter()
            .filter_map(|p| {
                p.attributes
                    .get(a)
                    .map(|v| (p.code.as_str(), v.to_string()))
            })
            .collect(),
        None => HashMap::new(),
    };
    let theme_index: HashMap<&str, usize> = themes
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let mut candidates: Vec<Vec<Candidate>> = (0..themes.len()).map(|_| Vec::new()).collect();
    for c in study.codings.iter().filter(|c| c.coder.as_str() == layer) {
        // The theme: the path up to its second `/` (or all of it at depth 2).
        let path = c.code.as_str();
        let theme = match path.match_indices('/').nth(1) {
            Some((i, _)) => &path[..i],
            None if path.contains('/') => path,
            None => continue,
        };
        let Some(&ti) = theme_index.get(theme) else {
            continue;
        };
        let Some(&(rank, text)) = texts.get(&c.response) else {
            continue;
        };
        let (start, end, len) = match c.span {
            Some(s) if s.end > s.start => (s.start, s.end, s.end - s.start),
            _ => {
                let n = text.chars().count();
                (0, n, n)
            }
        };
        candidates[ti].push(Candidate {
            rank,
            key: &c.response,
            code: &c.code,
            start,
            end,
            len,
            text,
        });
    }

    let mut warnings = Vec::new();
    let mut out = BTreeMap::new();
    for (ti, theme) in themes.iter().enumerate() {
        let theme_s = theme.as_str();
        let cands = &mut candidates[ti];
        // The ranking (see the module notes); a total order, so the result does not depend on storage order.
        cands.sort_unstable_by(|a, b| {
            a.len
                .abs_diff(IDEAL_LEN)
                .cmp(&b.len.abs_diff(IDEAL_LEN))
                .then(a.rank.cmp(&b.rank))
                .then(a.start.cmp(&b.start))
                .then(a.end.cmp(&b.end))
                .then_with(|| a.code.cmp(b.code))
        });
        let mut chosen: Vec<Quote> = Vec::new();
        let mut seen_text: BTreeSet<(ResponseKey, String)> = BTreeSet::new();
        let quote_of = |c: &Candidate, pinned: bool| -> Quote {
            Quote {
                response: c.key.clone(),
                code: c.code.clone(),
                text: cut(&span_text(c.text, c.start, c.end), MAX_LEN),
                group: group_of.get(c.key.participant.as_str()).cloned(),
                pinned,
            }
        };
        for pin in rules
            .pins
            .iter()
            .filter(|p| p.theme.as_deref() == Some(theme_s))
        {
            if chosen.len() >= max {
                warnings.push(format!(
                    "more than {max} quotes pinned for `{theme_s}`; {} is left out",
                    pin.response
                ));
                continue;
            }
            match cands.iter().find(|c| c.key == &pin.response) {
                Some(c) => {
                    let q = quote_of(c, true);
                    if seen_text.insert((q.response.clone(), q.text.clone())) {
                        chosen.push(q);
                    }
                }
                None => warnings.push(format!(
                    "pinned quote {} has no coding of `{theme_s}` in layer `{layer}`; it is left out",
                    pin.response
                )),
            }
        }
        let eligible: Vec<&Candidate> = {
            let ok: Vec<&Candidate> = cands
                .iter()
                .filter(|c| !rules.excluded(theme_s, c.key))
                .collect();
            let in_range: Vec<&Candidate> = ok
                .iter()
                .copied()
                .filter(|c| (MIN_LEN..=MAX_LEN).contains(&c.len))
                .collect();
            if in_range.is_empty() {
                ok
            } else {
                in_range
            }
        };
        let ranked = eligible;
        for pass in 0..3 {
            for c in &ranked {
                if chosen.len() >= max {
                    break;
                }
                let participant_new = !chosen
                    .iter()
                    .any(|q| q.response.participant == c.key.participant);
                let group = group_of.get(c.key.participant.as_str());
                let group_new =
                    group.is_none_or(|g| !chosen.iter().any(|q| q.group.as_ref() == Some(g)));
                let ok = match pass {
                    0 => participant_new && group_new,
                    1 => participant_new,
                    _ => true,
                };
                if !ok {
                    continue;
                }
                let q = quote_of(c, false);
                if seen_text.insert((q.response.clone(), q.text.clone())) {
                    chosen.push(q);
                }
            }
        }
        out.insert(theme_s.to_string(), chosen);
    }
    for pin in &rules.pins {
        match &pin.theme {
            None => warnings.push(format!(
                "pinned quote {} names no theme; write THEME={}",
                pin.response, pin.response
            )),
            Some(t) if !theme_index.contains_key(t.as_str()) => warnings.push(format!(
                "pinned quote {}: `{t}` is not a theme (a code at the second level of the codebook)",
                pin.response
            )),
            _ => {}
        }
    }
    (out, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_refs_parse_with_and_without_theme() {
        let q = QuoteRef::parse("Cause/Patient=P03/S2/Q1").unwrap();
        assert_eq!(q.theme.as_deref(), Some("Cause/Patient"));
        assert_eq!(q.response.to_string(), "P03/S2/Q1");
        let q = QuoteRef::parse("P03//Q9").unwrap();
        assert_eq!(q.theme, None);
        assert_eq!(q.response.segment, None);
        assert!(QuoteRef::parse("P03/S2").is_err());
    }

    #[test]
    fn quotes_toml_reads_pins_and_exclusions() {
        let r = QuoteRules::from_toml(
            "[[pin]]\ntheme = \"Cause/Patient\"\nresponse = \"P03/S2/Q1\"\n[[exclude]]\nresponse = \"P07/S4/Q1\"\n",
        )
        .unwrap();
        assert_eq!(r.pins.len(), 1);
        assert_eq!(r.pins[0].theme.as_deref(), Some("Cause/Patient"));
        assert_eq!(r.excludes[0].theme, None);
        assert!(QuoteRules::from_toml("[[pin]]\nresponse = 3\n").is_err());
    }

    #[test]
    fn long_quotes_are_cut_at_a_word() {
        let s = "word ".repeat(100);
        let c = cut(s.trim(), 30);
        assert!(c.ends_with('…'));
        assert!(c.chars().count() <= 31);
    }
}
