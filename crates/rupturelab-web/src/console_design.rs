//! The console's design pages: the segment list, the segment editor (rupture
//! metadata, 3RS markers with salience, media window, transcript pasted as
//! `SPEAKER: text` lines) and the question editor (open, Likert with anchors,
//! single choice; per segment or once).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use rupturelab_core::{
    AttributeDef, AttributeType, Key, Marker, Media, Question, QuestionKind, QuestionScope,
    RuptureType, Salience, Segment, Turn,
};
use rupturelab_store::Ordered;
use tower_sessions::Session;

use crate::accounts::Researcher;
use crate::console::{shell, study_by_key, Shell};
use crate::error::Error;
use crate::views::{fmt_ms, render};
use crate::AppState;

struct SegRow {
    key: String,
    label: String,
    patient: String,
    rupture: &'static str,
    turns: usize,
}

struct ARow {
    name: String,
    label: String,
    kind: &'static str,
    spec: String,
    bands: String,
    required: bool,
}

fn attribute_spec_text(k: &AttributeType) -> String {
    let num = |min: Option<String>, max: Option<String>| {
        if min.is_none() && max.is_none() {
            String::new()
        } else {
            format!("{}-{}", min.unwrap_or_default(), max.unwrap_or_default())
        }
    };
    match k {
        AttributeType::Category { values } => values.join("\n"),
        AttributeType::Integer { min, max } => {
            num(min.map(|v| v.to_string()), max.map(|v| v.to_string()))
        }
        AttributeType::Number { min, max } => {
            num(min.map(|v| v.to_string()), max.map(|v| v.to_string()))
        }
        AttributeType::Text | AttributeType::Boolean => String::new(),
    }
}

struct QRow {
    key: String,
    kind: &'static str,
    scope: &'static str,
    prompt: String,
    options: String,
}

#[derive(Template)]
#[template(path = "design.html")]
struct DesignPage {
    title: String,
    s: Shell,
    segments: Vec<SegRow>,
    questions: Vec<QRow>,
    attributes: Vec<ARow>,
}

fn question_options(k: &QuestionKind) -> String {
    match k {
        QuestionKind::Open => String::new(),
        QuestionKind::Likert { min, max, anchors } => {
            let mut lines = vec![format!("{min}-{max}")];
            lines.extend(anchors.iter().map(|(v, l)| format!("{v} = {l}")));
            lines.join("\n")
        }
        QuestionKind::Choice { choices } => choices.join("\n"),
    }
}

/// The design overview.
pub async fn design(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path(study): Path<String>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let d = state.store.study_design(info.id).await?;
    let segments = state.store.study_segments(info.id).await?;
    let page = DesignPage {
        title: format!("Design — {}", info.title),
        segments: segments
            .iter()
            .map(|s| SegRow {
                key: s.key.to_string(),
                label: s.label.clone(),
                patient: s.patient.to_string(),
                rupture: s.rupture.as_str(),
                turns: s.turns.len(),
            })
            .collect(),
        questions: d
            .questions
            .iter()
            .map(|q| QRow {
                key: q.key.to_string(),
                kind: q.kind.name(),
                scope: q.scope.as_str(),
                prompt: q.prompt.clone(),
                options: question_options(&q.kind),
            })
            .collect(),
        attributes: d
            .attributes
            .iter()
            .map(|a| ARow {
                name: a.name.to_string(),
                label: a.label.clone(),
                kind: a.kind.name(),
                spec: attribute_spec_text(&a.kind),
                bands: a
                    .bands
                    .iter()
                    .map(|b| b.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                required: a.required,
            })
            .collect(),
        s: shell(&session, &user, Some(&info)).await?,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "segment_edit.html")]
struct SegmentPage {
    title: String,
    s: Shell,
    key: String,
    label: String,
    patient: String,
    session_no: String,
    rupture: &'static str,
    markers: String,
    media_ref: String,
    media_start: String,
    media_end: String,
    notes: String,
    transcript: String,
    /// The turns as JSON for the turn-by-turn editor (`static/transcript.js`).
    turns_json: String,
    is_new: bool,
}

/// The segment editor (an unknown key opens an empty form to create it).
pub async fn segment_form(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path((study, key)): Path<(String, String)>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    Key::parse(&key).map_err(|e| Error::Invalid(format!("the segment key {e}")))?;
    let seg = state
        .store
        .study_segments(info.id)
        .await?
        .into_iter()
        .find(|s| s.key.as_str() == key);
    let is_new = seg.is_none();
    let s = seg.unwrap_or_else(|| Segment {
        key: Key::parse(&key).expect("checked"),
        label: String::new(),
        patient: Key::parse("PT1").expect("valid"),
        session: None,
        rupture: RuptureType::Unspecified,
        markers: Vec::new(),
        media: None,
        notes: None,
        turns: Vec::new(),
    });
    let page = SegmentPage {
        title: format!("Segment {key} — {}", info.title),
        key: s.key.to_string(),
        label: s.label.clone(),
        patient: s.patient.to_string(),
        session_no: s.session.map(|v| v.to_string()).unwrap_or_default(),
        rupture: s.rupture.as_str(),
        markers: s
            .markers
            .iter()
            .map(|m| match m.salience {
                Some(v) => format!("{} = {}", m.name, v.get()),
                None => m.name.clone(),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        media_ref: s
            .media
            .as_ref()
            .map(|m| m.reference.clone())
            .unwrap_or_default(),
        media_start: s
            .media
            .as_ref()
            .and_then(|m| m.start_ms)
            .map(fmt_ms)
            .unwrap_or_default(),
        media_end: s
            .media
            .as_ref()
            .and_then(|m| m.end_ms)
            .map(fmt_ms)
            .unwrap_or_default(),
        notes: s.notes.clone().unwrap_or_default(),
        transcript: s
            .turns
            .iter()
            .map(|t| format!("{}: {}", t.speaker, t.text))
            .collect::<Vec<_>>()
            .join("\n"),
        turns_json: turns_to_json(&s.turns),
        is_new,
        s: shell(&session, &user, Some(&info)).await?,
    };
    Ok(render(&page)?.into_response())
}

#[derive(serde::Deserialize)]
pub struct NewSegment {
    key: String,
}

/// Opens the editor for a new segment key.
pub async fn new_segment(
    Researcher(_user): Researcher,
    Path(study): Path<String>,
    Form(f): Form<NewSegment>,
) -> Result<Response, Error> {
    let key =
        Key::parse(f.key.trim()).map_err(|e| Error::Invalid(format!("the segment key {e}")))?;
    Ok(Redirect::to(&format!(
        "/studies/{}/segments/{}",
        crate::views::url_encode(&study),
        crate::views::url_encode(key.as_str())
    ))
    .into_response())
}

/// Parses a pasted transcript: `SPEAKER: text` lines; a line without a
/// speaker prefix continues the previous turn.
pub fn parse_transcript(text: &str) -> Result<Vec<Turn>, Error> {
    let mut turns: Vec<Turn> = Vec::new();
    for (i, line) in rupturelab_core::text::normalize(text).lines().enumerate() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        let speaker = line.split_once(':').and_then(|(s, rest)| {
            let s = s.trim();
            (!s.is_empty() && s.chars().count() <= 24 && !s.contains(char::is_whitespace))
                .then(|| (s.to_string(), rest.trim().to_string()))
        });
        match speaker {
            Some((speaker, said)) => turns.push(Turn {
                speaker,
                text: said,
                start_ms: None,
                end_ms: None,
            }),
            None => match turns.last_mut() {
                Some(t) => {
                    t.text.push('\n');
                    t.text.push_str(line.trim());
                }
                None => {
                    return Err(Error::Invalid(format!(
                        "transcript line {}: start a turn with the speaker, e.g. `T: …` or `P: …`",
                        i + 1
                    )))
                }
            },
        }
    }
    Ok(turns)
}

/// One turn as the turn-by-turn editor sends and receives it.
#[derive(serde::Serialize, serde::Deserialize)]
struct TurnJson {
    speaker: String,
    text: String,
    #[serde(default)]
    start_ms: Option<i64>,
    #[serde(default)]
    end_ms: Option<i64>,
}

fn turns_to_json(turns: &[Turn]) -> String {
    let v: Vec<TurnJson> = turns
        .iter()
        .map(|t| TurnJson {
            speaker: t.speaker.clone(),
            text: t.text.clone(),
            start_ms: t.start_ms,
            end_ms: t.end_ms,
        })
        .collect();
    serde_json::to_string(&v).unwrap_or_else(|_| "[]".into())
}

/// Parses the turn-by-turn editor's turns: every turn needs a speaker label
/// (1–24 characters, no spaces or colon) and some text; times are kept.
pub fn parse_turns_json(json: &str) -> Result<Vec<Turn>, Error> {
    let turns: Vec<TurnJson> = serde_json::from_str(json).map_err(|e| {
        Error::BadRequest(format!(
            "the transcript editor sent malformed turns ({e}); reload the page"
        ))
    })?;
    turns
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let n = i + 1;
            let speaker = t.speaker.trim();
            if speaker.is_empty()
                || speaker.chars().count() > 24
                || speaker.contains(char::is_whitespace)
                || speaker.contains(':')
            {
                return Err(Error::Invalid(format!(
                    "turn {n}: the speaker is a short label without spaces or colon, e.g. `T` or `P`"
                )));
            }
            let text = rupturelab_core::text::normalize(t.text.trim());
            if text.is_empty() {
                return Err(Error::Invalid(format!(
                    "turn {n} has no text; type what was said or delete the turn"
                )));
            }
            match (t.start_ms, t.end_ms) {
                (Some(a), _) | (_, Some(a)) if a < 0 => {
                    return Err(Error::Invalid(format!("turn {n}: times cannot be negative")))
                }
                (Some(a), Some(b)) if b < a => {
                    return Err(Error::Invalid(format!("turn {n} ends before it starts")))
                }
                _ => {}
            }
            Ok(Turn {
                speaker: speaker.to_string(),
                text,
                start_ms: t.start_ms,
                end_ms: t.end_ms,
            })
        })
        .collect()
}

fn parse_markers(text: &str) -> Result<Vec<Marker>, Error> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match l.rsplit_once('=') {
            Some((name, sal)) => {
                let v: i64 = sal.trim().parse().map_err(|_| {
                    Error::Invalid(format!(
                        "marker `{l}`: the salience after `=` is a number 1–5"
                    ))
                })?;
                Ok(Marker {
                    name: name.trim().to_string(),
                    salience: Some(Salience::new(v).map_err(Error::Invalid)?),
                })
            }
            None => Ok(Marker {
                name: l.to_string(),
                salience: None,
            }),
        })
        .collect()
}

fn opt_time(s: &str, field: &str) -> Result<Option<i64>, Error> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    rupturelab_core::folder::parse_time(s)
        .map(Some)
        .map_err(|e| Error::Invalid(format!("{field}: {e}")))
}

#[derive(serde::Deserialize)]
pub struct SegmentForm {
    label: String,
    patient: String,
    session_no: String,
    rupture: String,
    markers: String,
    media_ref: String,
    media_start: String,
    media_end: String,
    notes: String,
    transcript: String,
    /// Set by the turn-by-turn editor; when present it replaces `transcript`
    /// (and keeps each turn's times, which the plain-text form cannot carry).
    #[serde(default)]
    turns_json: String,
}

/// Saves a segment (creates it when new).
pub async fn save_segment(
    State(state): State<AppState>,
    Researcher(_user): Researcher,
    Path((study, key)): Path<(String, String)>,
    Form(f): Form<SegmentForm>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let key = Key::parse(&key).map_err(|e| Error::Invalid(format!("the segment key {e}")))?;
    let media = if f.media_ref.trim().is_empty() {
        None
    } else {
        Some(Media {
            reference: f.media_ref.trim().to_string(),
            start_ms: opt_time(&f.media_start, "media start")?,
            end_ms: opt_time(&f.media_end, "media end")?,
        })
    };
    let seg = Segment {
        key,
        label: f.label.trim().to_string(),
        patient: Key::parse(f.patient.trim())
            .map_err(|e| Error::Invalid(format!("the patient key {e}")))?,
        session: match f.session_no.trim() {
            "" => None,
            s => Some(
                s.parse()
                    .map_err(|_| Error::Invalid("the session is a whole number".into()))?,
            ),
        },
        rupture: RuptureType::parse(&f.rupture).map_err(Error::Invalid)?,
        markers: parse_markers(&f.markers)?,
        media,
        notes: Some(f.notes.trim().to_string()).filter(|n| !n.is_empty()),
        turns: if f.turns_json.trim().is_empty() {
            parse_transcript(&f.transcript)?
        } else {
            parse_turns_json(&f.turns_json)?
        },
    };
    state.store.upsert_segment(info.id, &seg).await?;
    tracing::info!(study = %info.key, segment = %seg.key, "segment saved");
    Ok(Redirect::to(&format!(
        "/studies/{}/design",
        crate::views::url_encode(&study)
    ))
    .into_response())
}

#[derive(serde::Deserialize)]
pub struct QuestionForm {
    key: String,
    kind: String,
    scope: String,
    prompt: String,
    #[serde(default)]
    options: String,
}

/// Parses the options box of a question form: nothing for open questions;
/// `min-max` then `value = label` anchors for Likert; one choice per line.
pub fn parse_question_kind(kind: &str, options: &str) -> Result<QuestionKind, Error> {
    let lines: Vec<&str> = options
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    match kind {
        "open" => Ok(QuestionKind::Open),
        "likert" => {
            let range = lines.first().copied().unwrap_or("1-5");
            let (a, b) = range
                .split_once('-')
                .and_then(|(a, b)| {
                    Some((a.trim().parse::<i64>().ok()?, b.trim().parse::<i64>().ok()?))
                })
                .filter(|(a, b)| a < b && b - a <= 20)
                .ok_or_else(|| {
                    Error::Invalid(format!("the scale `{range}` should look like 1-5"))
                })?;
            let mut anchors = BTreeMap::new();
            for l in lines.iter().skip(1) {
                let (v, label) = l.split_once('=').ok_or_else(|| {
                    Error::Invalid(format!("anchor `{l}` should look like `1 = Very mild`"))
                })?;
                let v: i64 = v
                    .trim()
                    .parse()
                    .map_err(|_| Error::Invalid(format!("anchor `{l}`: the point is a number")))?;
                anchors.insert(v, label.trim().to_string());
            }
            Ok(QuestionKind::Likert {
                min: a,
                max: b,
                anchors,
            })
        }
        "choice" => {
            if lines.len() < 2 {
                return Err(Error::Invalid(
                    "a choice question needs at least two choices, one per line".into(),
                ));
            }
            Ok(QuestionKind::Choice {
                choices: lines.iter().map(|s| s.to_string()).collect(),
            })
        }
        o => Err(Error::Invalid(format!("unknown question kind `{o}`"))),
    }
}

/// Creates or updates a question.
pub async fn save_question(
    State(state): State<AppState>,
    Researcher(_user): Researcher,
    Path(study): Path<String>,
    Form(f): Form<QuestionForm>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let q = Question {
        key: Key::parse(f.key.trim())
            .map_err(|e| Error::Invalid(format!("the question key {e}")))?,
        kind: parse_question_kind(&f.kind, &f.options)?,
        scope: match f.scope.as_str() {
            "once" => QuestionScope::Once,
            "segment" => QuestionScope::Segment,
            o => return Err(Error::Invalid(format!("unknown scope `{o}`"))),
        },
        prompt: rupturelab_core::text::normalize(f.prompt.trim()),
    };
    if q.prompt.is_empty() {
        return Err(Error::Invalid("the question text is empty".into()));
    }
    state.store.upsert_question(info.id, &q).await?;
    tracing::info!(study = %info.key, question = %q.key, "question saved");
    Ok(Redirect::to(&format!(
        "/studies/{}/design",
        crate::views::url_encode(&study)
    ))
    .into_response())
}

/// Replaces a segment's transcript with an uploaded UTF-8 text file of
/// `SPEAKER: text` lines (a study-folder segment file works too: its header
/// up to the `---` line is skipped).
pub async fn upload_transcript(
    State(state): State<AppState>,
    Researcher(_user): Researcher,
    Path((study, key)): Path<(String, String)>,
    mut multipart: axum::extract::Multipart,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let mut seg = state
        .store
        .study_segments(info.id)
        .await?
        .into_iter()
        .find(|s| s.key.as_str() == key)
        .ok_or(Error::NotFound)?;
    let mut bytes = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| Error::BadRequest(format!("the upload is malformed: {e}")))?
    {
        if field.name() == Some("file") {
            bytes = Some(
                field
                    .bytes()
                    .await
                    .map_err(|e| Error::BadRequest(format!("the upload is malformed: {e}")))?,
            );
        }
    }
    let bytes = bytes.ok_or_else(|| Error::Invalid("choose a transcript file to upload".into()))?;
    let text = rupturelab_core::text::decode_file(&bytes).map_err(|(line, col)| {
        Error::Invalid(format!(
            "the file is not UTF-8 text (line {line}, column {col}); save it as UTF-8 and upload it again"
        ))
    })?;
    let body = match text.split_once("\n---\n") {
        Some((head, rest)) if head.lines().all(|l| l.contains(':') || l.trim().is_empty()) => rest,
        _ => text.as_str(),
    };
    let turns = parse_transcript(body)?;
    if turns.is_empty() {
        return Err(Error::Invalid(
            "the file holds no `SPEAKER: text` lines".into(),
        ));
    }
    seg.turns = turns;
    state.store.upsert_segment(info.id, &seg).await?;
    tracing::info!(study = %info.key, segment = %seg.key, turns = seg.turns.len(), "transcript uploaded");
    Ok(Redirect::to(&format!(
        "/studies/{}/segments/{}",
        crate::views::url_encode(&study),
        crate::views::url_encode(&key)
    ))
    .into_response())
}

fn design_url(study: &str) -> String {
    format!("/studies/{}/design", crate::views::url_encode(study))
}

#[derive(serde::Deserialize)]
pub struct AttributeForm {
    name: String,
    label: String,
    kind: String,
    #[serde(default)]
    spec: String,
    #[serde(default)]
    bands: String,
    required: Option<String>,
}

/// Parses the attribute form: category values one per line; `min-max` (either
/// side optional) for numbers; comma-separated band cut points.
pub fn parse_attribute(f: &AttributeForm) -> Result<AttributeDef, Error> {
    let name =
        Key::parse(f.name.trim()).map_err(|e| Error::Invalid(format!("the attribute name {e}")))?;
    let spec = f.spec.trim();
    let range = |s: &str| -> Result<(Option<String>, Option<String>), Error> {
        if s.is_empty() {
            return Ok((None, None));
        }
        let (a, b) = s
            .split_once('-')
            .filter(|(a, _)| !a.trim().starts_with('-'))
            .ok_or_else(|| Error::Invalid(format!("the range `{s}` should look like 0-60")))?;
        let o = |x: &str| Some(x.trim().to_string()).filter(|x| !x.is_empty());
        Ok((o(a), o(b)))
    };
    let kind = match f.kind.as_str() {
        "category" => {
            let values: Vec<String> = spec
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect();
            if values.is_empty() {
                return Err(Error::Invalid(
                    "a category attribute needs its values, one per line".into(),
                ));
            }
            AttributeType::Category { values }
        }
        "integer" => {
            let (a, b) = range(spec)?;
            let p = |x: Option<String>| {
                x.map(|v| {
                    v.parse::<i64>()
                        .map_err(|_| Error::Invalid(format!("`{v}` is not a whole number")))
                })
                .transpose()
            };
            AttributeType::Integer {
                min: p(a)?,
                max: p(b)?,
            }
        }
        "number" => {
            let (a, b) = range(spec)?;
            let p = |x: Option<String>| {
                x.map(|v| {
                    v.parse::<f64>()
                        .map_err(|_| Error::Invalid(format!("`{v}` is not a number")))
                })
                .transpose()
            };
            AttributeType::Number {
                min: p(a)?,
                max: p(b)?,
            }
        }
        "text" => AttributeType::Text,
        "boolean" => AttributeType::Boolean,
        o => return Err(Error::Invalid(format!("unknown attribute type `{o}`"))),
    };
    let mut bands = Vec::new();
    for b in f.bands.split(',').map(str::trim).filter(|b| !b.is_empty()) {
        bands.push(
            b.parse::<f64>()
                .map_err(|_| Error::Invalid(format!("band cut point `{b}` is not a number")))?,
        );
    }
    if bands.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::Invalid("band cut points must be ascending".into()));
    }
    Ok(AttributeDef {
        name,
        label: Some(f.label.trim().to_string())
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| f.name.trim().to_string()),
        kind,
        bands,
        required: f.required.is_some(),
    })
}

/// Creates or updates a participant attribute.
pub async fn save_attribute(
    State(state): State<AppState>,
    Researcher(_user): Researcher,
    Path(study): Path<String>,
    Form(f): Form<AttributeForm>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let a = parse_attribute(&f)?;
    state.store.upsert_attribute(info.id, &a).await?;
    tracing::info!(study = %info.key, attribute = %a.name, "attribute saved");
    Ok(Redirect::to(&design_url(&study)).into_response())
}

/// Adds the DOMAIN.md default attributes the study does not have yet.
pub async fn default_attributes(
    State(state): State<AppState>,
    Researcher(_user): Researcher,
    Path(study): Path<String>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let have = state.store.study_design(info.id).await?.attributes;
    let mut files = rupturelab_core::folder::FolderFiles::new();
    files.insert(
        "study.toml".into(),
        rupturelab_core::templates::DEFAULT_STUDY_TOML
            .as_bytes()
            .to_vec(),
    );
    let defaults = rupturelab_core::folder::parse_folder(&files)
        .map_err(|e| Error::Internal(format!("built-in study template: {e}")))?
        .attributes;
    for a in defaults
        .iter()
        .filter(|a| !have.iter().any(|h| h.name == a.name))
    {
        state.store.upsert_attribute(info.id, a).await?;
    }
    Ok(Redirect::to(&design_url(&study)).into_response())
}

#[derive(serde::Deserialize)]
pub struct MoveForm {
    what: String,
    key: String,
    dir: String,
}

/// Moves a segment, question or attribute one place up or down.
pub async fn move_item(
    State(state): State<AppState>,
    Researcher(_user): Researcher,
    Path(study): Path<String>,
    Form(f): Form<MoveForm>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let (what, mut keys): (Ordered, Vec<Key>) = match f.what.as_str() {
        "segments" => (
            Ordered::Segments,
            state
                .store
                .study_segments(info.id)
                .await?
                .into_iter()
                .map(|s| s.key)
                .collect(),
        ),
        "questions" => (
            Ordered::Questions,
            state
                .store
                .study_design(info.id)
                .await?
                .questions
                .into_iter()
                .map(|q| q.key)
                .collect(),
        ),
        "attributes" => (
            Ordered::Attributes,
            state
                .store
                .study_design(info.id)
                .await?
                .attributes
                .into_iter()
                .map(|a| a.name)
                .collect(),
        ),
        o => return Err(Error::BadRequest(format!("cannot reorder `{o}`"))),
    };
    let i = keys
        .iter()
        .position(|k| k.as_str() == f.key)
        .ok_or(Error::NotFound)?;
    let j = match f.dir.as_str() {
        "up" if i > 0 => i - 1,
        "down" if i + 1 < keys.len() => i + 1,
        _ => i,
    };
    keys.swap(i, j);
    state.store.reorder(info.id, what, &keys).await?;
    Ok(Redirect::to(&design_url(&study)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_turns_keep_times_and_name_the_bad_turn() {
        let t = parse_turns_json(
            r#"[{"speaker":"T","text":" Hello ","start_ms":1000,"end_ms":2500},
                {"speaker":"P","text":"Note: a line\nthat looks like a speaker"}]"#,
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(
            (t[0].text.as_str(), t[0].start_ms, t[0].end_ms),
            ("Hello", Some(1000), Some(2500))
        );
        assert_eq!(t[1].text, "Note: a line\nthat looks like a speaker");
        let back = parse_turns_json(&turns_to_json(&t)).unwrap();
        assert_eq!(back, t);
        for (json, needle) in [
            (
                r#"[{"speaker":"T","text":"a"},{"speaker":"","text":"b"}]"#,
                "turn 2: the speaker",
            ),
            (r#"[{"speaker":"T x","text":"a"}]"#, "turn 1: the speaker"),
            (r#"[{"speaker":"T","text":"  "}]"#, "turn 1 has no text"),
            (
                r#"[{"speaker":"T","text":"a","start_ms":5,"end_ms":2}]"#,
                "ends before it starts",
            ),
            (r#"[{"speaker":"T","text":"a","start_ms":-5}]"#, "negative"),
            ("not json", "malformed"),
        ] {
            let e = parse_turns_json(json).unwrap_err().to_string();
            assert!(e.contains(needle), "{json}: {e}");
        }
    }

    #[test]
    fn transcripts_parse_speaker_lines_and_continuations() {
        let t = parse_transcript("T: Hello.\nP: Hi\nstill me\n\nT: Okay").unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(
            (t[1].speaker.as_str(), t[1].text.as_str()),
            ("P", "Hi\nstill me")
        );
        assert!(parse_transcript("no speaker here").is_err());
    }

    #[test]
    fn question_options_parse_for_each_kind() {
        match parse_question_kind("likert", "1-7\n1 = low\n7 = high").unwrap() {
            QuestionKind::Likert { min, max, anchors } => {
                assert_eq!((min, max, anchors.len()), (1, 7, 2))
            }
            _ => panic!(),
        }
        assert!(parse_question_kind("choice", "only one").is_err());
        assert!(parse_question_kind("likert", "5-1").is_err());
        assert_eq!(parse_question_kind("open", "").unwrap(), QuestionKind::Open);
    }

    fn form(kind: &str, spec: &str, bands: &str) -> AttributeForm {
        AttributeForm {
            name: "x".into(),
            label: "".into(),
            kind: kind.into(),
            spec: spec.into(),
            bands: bands.into(),
            required: Some("on".into()),
        }
    }

    #[test]
    fn attribute_forms_parse_each_type() {
        let a = parse_attribute(&form("integer", "0-60", "5, 10, 20")).unwrap();
        assert_eq!(
            a.kind,
            AttributeType::Integer {
                min: Some(0),
                max: Some(60)
            }
        );
        assert_eq!(
            (a.bands.len(), a.required, a.label.as_str()),
            (3, true, "x")
        );
        assert_eq!(
            parse_attribute(&form("number", "-5", "")).unwrap().kind,
            AttributeType::Number {
                min: None,
                max: Some(5.0)
            }
        );
        assert!(parse_attribute(&form("category", "", "")).is_err());
        assert!(parse_attribute(&form("integer", "", "10, 5")).is_err());
        assert_eq!(
            attribute_spec_text(&parse_attribute(&form("category", "a\nb", "")).unwrap().kind),
            "a\nb"
        );
    }
}
