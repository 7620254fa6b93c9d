//! The study model: every entity of a rupture study, as plain validated data.
//!
//! Entities refer to each other by their human keys (participant code,
//! segment key, code path, coder name), never by database ids, so the same
//! [`StudyData`] can come from a study folder, a database or a REFI-QDA file.

use std::collections::BTreeMap;
use std::fmt;

use crate::keys::{CodePath, Key};

/// Milliseconds since the Unix epoch (UTC); how every timestamp is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Parses an RFC 3339 timestamp such as `2026-03-01T10:15:00Z`.
    pub fn parse_rfc3339(s: &str) -> Result<Self, String> {
        chrono::DateTime::parse_from_rfc3339(s.trim())
            .map(|d| Timestamp(d.timestamp_millis()))
            .map_err(|e| {
                format!("`{s}` is not an RFC 3339 timestamp ({e}); write e.g. 2026-03-01T10:15:00Z")
            })
    }

    /// The current time.
    pub fn now() -> Self {
        Timestamp(chrono::Utc::now().timestamp_millis())
    }

    /// Formats as RFC 3339 in UTC, with milliseconds only when non-zero.
    pub fn to_rfc3339(self) -> String {
        let dt = chrono::DateTime::from_timestamp_millis(self.0).unwrap_or_default();
        if self.0.rem_euclid(1000) == 0 {
            dt.format("%Y-%m-%dT%H:%M:%SZ").to_string()
        } else {
            dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// Language of the participant pages and of text folding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// English.
    #[default]
    En,
    /// Turkish (İ/i and I/ı fold the Turkish way).
    Tr,
}

impl Language {
    /// Parses `en` or `tr`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "en" => Ok(Language::En),
            "tr" => Ok(Language::Tr),
            other => Err(format!("unknown language `{other}`; use \"en\" or \"tr\"")),
        }
    }
    /// The ISO 639-1 code.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Tr => "tr",
        }
    }
}

/// How segments are ordered for each participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderMode {
    /// Everyone sees the study's order.
    #[default]
    Fixed,
    /// A random order per participant.
    Random,
    /// A balanced Latin square (Williams design).
    LatinSquare,
}

impl OrderMode {
    /// Parses `fixed`, `random` or `latin-square`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "fixed" => Ok(OrderMode::Fixed),
            "random" => Ok(OrderMode::Random),
            "latin-square" => Ok(OrderMode::LatinSquare),
            other => Err(format!(
                "unknown presentation order `{other}`; use \"fixed\", \"random\" or \"latin-square\""
            )),
        }
    }
    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderMode::Fixed => "fixed",
            OrderMode::Random => "random",
            OrderMode::LatinSquare => "latin-square",
        }
    }
}

/// Study metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyMeta {
    /// Short unique key of the study.
    pub key: Key,
    /// Human title.
    pub title: String,
    /// Longer description.
    pub description: String,
    /// Language of participant pages.
    pub language: Language,
    /// Whether the data is synthetic (example or test data).
    pub synthetic: bool,
}

/// Study settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Presentation order mode.
    pub presentation_order: OrderMode,
    /// Whether agreement statistics are computed (off for reflexive TA).
    pub agreement: bool,
    /// Codes whose agreement is below this are flagged.
    pub agreement_threshold: f64,
    /// Consent text shown to participants.
    pub consent_text: Option<String>,
    /// Welcome text.
    pub welcome_text: Option<String>,
    /// Thank-you text.
    pub thanks_text: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            presentation_order: OrderMode::Fixed,
            agreement: true,
            agreement_threshold: 0.667,
            consent_text: None,
            welcome_text: None,
            thanks_text: None,
        }
    }
}

/// Type of a participant attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeType {
    /// One of a list of values.
    Category {
        /// Allowed values, in display order.
        values: Vec<String>,
    },
    /// A whole number, optionally bounded and banded.
    Integer {
        /// Lower bound.
        min: Option<i64>,
        /// Upper bound.
        max: Option<i64>,
    },
    /// A real number, optionally bounded.
    Number {
        /// Lower bound.
        min: Option<f64>,
        /// Upper bound.
        max: Option<f64>,
    },
    /// Free text.
    Text,
    /// Yes / no.
    Boolean,
}

impl AttributeType {
    /// The name used in files.
    pub fn name(&self) -> &'static str {
        match self {
            AttributeType::Category { .. } => "category",
            AttributeType::Integer { .. } => "integer",
            AttributeType::Number { .. } => "number",
            AttributeType::Text => "text",
            AttributeType::Boolean => "boolean",
        }
    }
}

/// A researcher-defined participant attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeDef {
    /// Machine name (column name in participants.csv).
    pub name: Key,
    /// Display label.
    pub label: String,
    /// Type and constraints.
    pub kind: AttributeType,
    /// Cut points for banding a numeric attribute (ascending).
    pub bands: Vec<f64>,
    /// Whether every participant must have a value.
    pub required: bool,
}

impl AttributeDef {
    /// Parses a raw cell into a typed value, checking constraints.
    pub fn parse_value(&self, raw: &str) -> Result<AttrValue, String> {
        let raw = raw.trim();
        match &self.kind {
            AttributeType::Category { values } => {
                if values.iter().any(|v| v == raw) {
                    Ok(AttrValue::Text(raw.to_string()))
                } else {
                    let hint = crate::text::did_you_mean(raw, values.iter().map(String::as_str))
                        .map(|s| format!("did you mean `{s}`? "))
                        .unwrap_or_default();
                    Err(format!(
                        "`{raw}` is not an allowed value of `{}`; {hint}allowed: {}",
                        self.name,
                        values.join(", ")
                    ))
                }
            }
            AttributeType::Integer { min, max } => {
                let v: i64 = raw.parse().map_err(|_| {
                    format!("`{raw}` is not a whole number (attribute `{}`)", self.name)
                })?;
                if min.is_some_and(|m| v < m) || max.is_some_and(|m| v > m) {
                    return Err(format!(
                        "{v} is outside the range {}..{} of `{}`",
                        min.map(|m| m.to_string()).unwrap_or_default(),
                        max.map(|m| m.to_string()).unwrap_or_default(),
                        self.name
                    ));
                }
                Ok(AttrValue::Integer(v))
            }
            AttributeType::Number { min, max } => {
                let v: f64 = raw
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite())
                    .ok_or_else(|| {
                        format!("`{raw}` is not a number (attribute `{}`)", self.name)
                    })?;
                if min.is_some_and(|m| v < m) || max.is_some_and(|m| v > m) {
                    return Err(format!(
                        "{v} is outside the allowed range of `{}`",
                        self.name
                    ));
                }
                Ok(AttrValue::Number(v))
            }
            AttributeType::Text => Ok(AttrValue::Text(raw.to_string())),
            AttributeType::Boolean => match raw.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Ok(AttrValue::Bool(true)),
                "false" | "no" | "0" => Ok(AttrValue::Bool(false)),
                _ => Err(format!(
                    "`{raw}` is not a yes/no value (attribute `{}`); use true or false",
                    self.name
                )),
            },
        }
    }

    /// The band label of a numeric value (`0–4`, `5–9`, `20+`), if bands are set.
    pub fn band_of(&self, value: &AttrValue) -> Option<String> {
        let v = value.as_f64()?;
        self.band_label(v)
    }

    /// All band labels in order (empty without bands).
    pub fn band_labels(&self) -> Vec<String> {
        if self.bands.is_empty() {
            return Vec::new();
        }
        std::iter::once(f64::NEG_INFINITY)
            .chain(self.bands.iter().copied())
            .filter_map(|v| self.band_label(v))
            .collect()
    }

    fn band_label(&self, v: f64) -> Option<String> {
        let cuts = &self.bands;
        if cuts.is_empty() {
            return None;
        }
        let integer_min = match &self.kind {
            AttributeType::Integer { min, .. } => Some(min.unwrap_or(0) as f64),
            _ => None,
        };
        let idx = cuts.iter().take_while(|c| v >= **c).count();
        Some(match (idx, integer_min) {
            (0, Some(lo)) if lo <= cuts[0] - 1.0 => {
                format!("{}–{}", fmt_num(lo), fmt_num(cuts[0] - 1.0))
            }
            (0, _) => format!("<{}", fmt_num(cuts[0])),
            (i, _) if i == cuts.len() => format!("{}+", fmt_num(cuts[i - 1])),
            (i, Some(_)) => format!("{}–{}", fmt_num(cuts[i - 1]), fmt_num(cuts[i] - 1.0)),
            (i, None) => format!("{}–<{}", fmt_num(cuts[i - 1]), fmt_num(cuts[i])),
        })
    }
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A typed participant attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// A category or free-text value.
    Text(String),
    /// A whole number.
    Integer(i64),
    /// A real number.
    Number(f64),
    /// Yes / no.
    Bool(bool),
}

impl AttrValue {
    /// The value as a number, if numeric.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AttrValue::Integer(i) => Some(*i as f64),
            AttrValue::Number(n) => Some(*n),
            _ => None,
        }
    }
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::Text(s) => f.write_str(s),
            AttrValue::Integer(i) => write!(f, "{i}"),
            AttrValue::Number(n) => write!(f, "{n}"),
            AttrValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// The kind of a question and its answer constraints.
#[derive(Debug, Clone, PartialEq)]
pub enum QuestionKind {
    /// Open text.
    Open,
    /// A rating from `min` to `max` with optional anchor labels.
    Likert {
        /// Lowest value.
        min: i64,
        /// Highest value.
        max: i64,
        /// Labels of some points.
        anchors: BTreeMap<i64, String>,
    },
    /// One of several choices.
    Choice {
        /// The choices, in order.
        choices: Vec<String>,
    },
}

impl QuestionKind {
    /// The name used in files.
    pub fn name(&self) -> &'static str {
        match self {
            QuestionKind::Open => "open",
            QuestionKind::Likert { .. } => "likert",
            QuestionKind::Choice { .. } => "choice",
        }
    }
}

/// Whether a question is asked for each segment or once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionScope {
    /// Asked after every segment.
    Segment,
    /// Asked once per participant.
    Once,
}

impl QuestionScope {
    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionScope::Segment => "segment",
            QuestionScope::Once => "once",
        }
    }
}

/// A question put to participants.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// Short key (`Q1`).
    pub key: Key,
    /// Kind and constraints.
    pub kind: QuestionKind,
    /// Per segment or once.
    pub scope: QuestionScope,
    /// The question text.
    pub prompt: String,
}

/// A (pseudonymous) patient whose sessions supply segments.
#[derive(Debug, Clone, PartialEq)]
pub struct Patient {
    /// Pseudonymous key.
    pub key: Key,
    /// Description.
    pub description: String,
}

/// Rupture type of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, PartialOrd, Ord)]
pub enum RuptureType {
    /// The patient moves away from the therapist or the work.
    Withdrawal,
    /// The patient moves against the therapist.
    Confrontation,
    /// Both kinds of markers.
    Both,
    /// Not stated.
    #[default]
    Unspecified,
}

impl RuptureType {
    /// Parses the file form.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "withdrawal" => Ok(RuptureType::Withdrawal),
            "confrontation" => Ok(RuptureType::Confrontation),
            "both" => Ok(RuptureType::Both),
            "unspecified" | "" => Ok(RuptureType::Unspecified),
            other => Err(format!(
                "unknown rupture type `{other}`; use withdrawal, confrontation, both or unspecified"
            )),
        }
    }
    /// The file form.
    pub fn as_str(self) -> &'static str {
        match self {
            RuptureType::Withdrawal => "withdrawal",
            RuptureType::Confrontation => "confrontation",
            RuptureType::Both => "both",
            RuptureType::Unspecified => "unspecified",
        }
    }
}

/// A 3RS marker noted in a segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Marker name (e.g. "Minimal response").
    pub name: String,
    /// Salience 1–5, if rated.
    pub salience: Option<crate::keys::Salience>,
}

/// A media file or link with an optional time window.
#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    /// Path or URL.
    pub reference: String,
    /// Start in milliseconds.
    pub start_ms: Option<i64>,
    /// End in milliseconds.
    pub end_ms: Option<i64>,
}

/// One speaker turn of a transcript.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// Speaker label (`T`, `P`, …).
    pub speaker: String,
    /// What was said.
    pub text: String,
    /// Start time in ms.
    pub start_ms: Option<i64>,
    /// End time in ms.
    pub end_ms: Option<i64>,
}

/// A rupture segment shown to participants.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Key (`S1`).
    pub key: Key,
    /// Short label.
    pub label: String,
    /// Patient key.
    pub patient: Key,
    /// Session number.
    pub session: Option<u32>,
    /// Rupture type.
    pub rupture: RuptureType,
    /// 3RS markers.
    pub markers: Vec<Marker>,
    /// Media reference.
    pub media: Option<Media>,
    /// Free notes.
    pub notes: Option<String>,
    /// The transcript.
    pub turns: Vec<Turn>,
}

/// Where a participant is in the study.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParticipantStatus {
    /// Invited, not started.
    Invited,
    /// Started, not submitted.
    Started,
    /// Submitted.
    Completed,
}

impl ParticipantStatus {
    /// Parses the file form.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "invited" => Ok(Self::Invited),
            "started" => Ok(Self::Started),
            "completed" => Ok(Self::Completed),
            o => Err(format!(
                "unknown status `{o}`; use invited, started or completed"
            )),
        }
    }
    /// The file form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::Started => "started",
            Self::Completed => "completed",
        }
    }
}

/// A participant (therapist or trainee), pseudonymous.
#[derive(Debug, Clone, PartialEq)]
pub struct Participant {
    /// Pseudonymous code (`P07`).
    pub code: Key,
    /// Progress.
    pub status: ParticipantStatus,
    /// Presentation order (segment keys); empty = study order.
    pub order: Vec<Key>,
    /// Attribute values by attribute name.
    pub attributes: BTreeMap<String, AttrValue>,
}

/// Identifies a response: participant × segment (none for once-questions) × question.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResponseKey {
    /// Participant code.
    pub participant: Key,
    /// Segment key; `None` for a question asked once.
    pub segment: Option<Key>,
    /// Question key.
    pub question: Key,
}

impl fmt::Display for ResponseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}",
            self.participant,
            self.segment.as_ref().map(|s| s.as_str()).unwrap_or(""),
            self.question
        )
    }
}

/// An answer's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Open text (NFC, LF line ends).
    Text(String),
    /// A Likert rating.
    Rating(i64),
    /// A chosen option.
    Choice(String),
}

impl Answer {
    /// The text of an open answer, if any.
    pub fn text(&self) -> Option<&str> {
        match self {
            Answer::Text(t) => Some(t),
            _ => None,
        }
    }
    /// The value column form (ratings and choices).
    pub fn value_string(&self) -> Option<String> {
        match self {
            Answer::Text(_) => None,
            Answer::Rating(v) => Some(v.to_string()),
            Answer::Choice(c) => Some(c.clone()),
        }
    }
}

/// One participant's answer to one question about one segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The key.
    pub key: ResponseKey,
    /// The answer.
    pub answer: Answer,
    /// When first saved.
    pub created_at: Option<Timestamp>,
    /// When last saved.
    pub updated_at: Option<Timestamp>,
}

/// A code of the codebook.
#[derive(Debug, Clone, PartialEq)]
pub struct Code {
    /// Path from the top (`Cause/Patient/Resistance`).
    pub path: CodePath,
    /// Display name.
    pub name: String,
    /// Whether codings may apply it (false for pure categories).
    pub codable: bool,
    /// Definition.
    pub definition: Option<String>,
    /// Inclusion criteria.
    pub inclusion: Option<String>,
    /// Exclusion criteria.
    pub exclusion: Option<String>,
    /// An example.
    pub example: Option<String>,
    /// Display colour `#RRGGBB`.
    pub colour: Option<String>,
}

/// The name of the consensus layer.
pub const CONSENSUS: &str = "consensus";

/// A coder (the consensus layer is a coder named [`CONSENSUS`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Coder {
    /// Name.
    pub name: Key,
}

impl Coder {
    /// Whether this is the consensus layer.
    pub fn is_consensus(&self) -> bool {
        self.name.as_str() == CONSENSUS
    }
}

/// A span of a response, in code points, end exclusive; never empty (start < end).
///
/// Build it with [`Span::new`] or [`Span::within`], which check the bounds. (The
/// fields stay public because the store and the web layer read and write them
/// directly; code that builds a span from user input must use the constructors.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// First code point.
    pub start: usize,
    /// One past the last code point.
    pub end: usize,
}

/// Why a span is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SpanError {
    /// The end is not after the start (an empty or inverted span).
    #[error("end ({end}) must be greater than start ({start})")]
    NotAfterStart {
        /// The start given.
        start: usize,
        /// The end given.
        end: usize,
    },
    /// The end lies past the end of the text.
    #[error("end {end} is past the end of the answer ({len} characters); offsets count characters (code points) from 0")]
    PastEnd {
        /// The end given.
        end: usize,
        /// The text's length in code points.
        len: usize,
    },
}

impl Span {
    /// A span from `start` (inclusive) to `end` (exclusive) code points; `start < end`.
    pub fn new(start: usize, end: usize) -> Result<Span, SpanError> {
        if start < end {
            Ok(Span { start, end })
        } else {
            Err(SpanError::NotAfterStart { start, end })
        }
    }

    /// A span checked also against a text of `len` code points (`end <= len`).
    pub fn within(start: usize, end: usize, len: usize) -> Result<Span, SpanError> {
        let span = Span::new(start, end)?;
        if end > len {
            return Err(SpanError::PastEnd { end, len });
        }
        Ok(span)
    }

    /// Number of code points covered (at least 1 for a checked span).
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// Whether the span covers nothing (only possible for a span built without the checks).
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// One code applied by one coder to a response (a span or the whole).
#[derive(Debug, Clone, PartialEq)]
pub struct Coding {
    /// Coder name (or `consensus`).
    pub coder: Key,
    /// The response.
    pub response: ResponseKey,
    /// The code.
    pub code: CodePath,
    /// The span; `None` = the whole response.
    pub span: Option<Span>,
    /// A note on this coding.
    pub memo: Option<String>,
}

/// What a memo is about.
#[derive(Debug, Clone, PartialEq)]
pub enum MemoTarget {
    /// The study as a whole.
    Study,
    /// A response.
    Response(ResponseKey),
    /// A code.
    Code(CodePath),
}

/// A memo written by a coder or researcher.
#[derive(Debug, Clone, PartialEq)]
pub struct Memo {
    /// Author name.
    pub author: String,
    /// Target.
    pub target: MemoTarget,
    /// Text.
    pub text: String,
    /// When written.
    pub created_at: Option<Timestamp>,
}

/// One event of the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: String,
    /// What kind of change (`import`, `coding.add`, …).
    pub action: String,
    /// What it touched.
    pub entity: String,
    /// Details (before → after).
    pub detail: String,
}

/// A whole study in memory: what a folder holds and what a store saves.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyData {
    /// Metadata.
    pub meta: StudyMeta,
    /// Settings.
    pub settings: Settings,
    /// Participant attribute schema.
    pub attributes: Vec<AttributeDef>,
    /// Questions, in order.
    pub questions: Vec<Question>,
    /// Patients.
    pub patients: Vec<Patient>,
    /// Segments, in study order.
    pub segments: Vec<Segment>,
    /// Participants.
    pub participants: Vec<Participant>,
    /// Responses.
    pub responses: Vec<Response>,
    /// The codebook (parents before children).
    pub codes: Vec<Code>,
    /// Coders (including `consensus` when it has codings).
    pub coders: Vec<Coder>,
    /// Codings of all layers.
    pub codings: Vec<Coding>,
    /// Memos.
    pub memos: Vec<Memo>,
    /// The audit trail.
    pub audit: Vec<AuditEvent>,
}

impl StudyData {
    /// An empty study with the given key and title.
    pub fn new(key: Key, title: &str) -> Self {
        StudyData {
            meta: StudyMeta {
                key,
                title: title.to_string(),
                description: String::new(),
                language: Language::En,
                synthetic: false,
            },
            settings: Settings::default(),
            attributes: Vec::new(),
            questions: Vec::new(),
            patients: Vec::new(),
            segments: Vec::new(),
            participants: Vec::new(),
            responses: Vec::new(),
            codes: Vec::new(),
            coders: Vec::new(),
            codings: Vec::new(),
            memos: Vec::new(),
            audit: Vec::new(),
        }
    }

    /// Looks up a response by key.
    pub fn response(&self, key: &ResponseKey) -> Option<&Response> {
        self.responses.iter().find(|r| &r.key == key)
    }

    /// Looks up an attribute definition.
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes.iter().find(|a| a.name.as_str() == name)
    }

    /// Looks up a code.
    pub fn code(&self, path: &str) -> Option<&Code> {
        self.codes.iter().find(|c| c.path.as_str() == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_bands_label_closed_ranges() {
        let def = AttributeDef {
            name: Key::parse("experience_years").unwrap(),
            label: "x".into(),
            kind: AttributeType::Integer {
                min: Some(0),
                max: Some(60),
            },
            bands: vec![5.0, 10.0, 20.0],
            required: false,
        };
        let b = |v| def.band_of(&AttrValue::Integer(v)).unwrap();
        assert_eq!(b(0), "0–4");
        assert_eq!(b(4), "0–4");
        assert_eq!(b(5), "5–9");
        assert_eq!(b(19), "10–19");
        assert_eq!(b(20), "20+");
        assert_eq!(b(30), "20+");
        assert_eq!(def.band_labels(), vec!["0–4", "5–9", "10–19", "20+"]);
    }

    #[test]
    fn timestamps_round_trip_rfc3339() {
        let t = Timestamp::parse_rfc3339("2026-03-01T10:15:00Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-03-01T10:15:00Z");
        let t = Timestamp::parse_rfc3339("2026-03-01T12:15:00.250+02:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-03-01T10:15:00.250Z");
        assert!(Timestamp::parse_rfc3339("yesterday").is_err());
    }
}
