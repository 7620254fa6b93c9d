//! Full-text search: the console page `/studies/{study}/search` (researchers
//! and coders), the API route `GET /api/v1/studies/{study}/search?q=…`
//! (researchers), and the index's upkeep.
//!
//! The index ([`rupturelab_search::SearchIndex`]) lives in `<database>.index/`
//! (or in memory). It is brought up to date
//! * at start, for every study, in the background;
//! * before every search, for the study searched, when the store's
//!   [`search_fingerprint`](rupturelab_store::Store::search_fingerprint)
//!   differs from the one the study was indexed with (any answer saved,
//!   transcript edited or study re-imported changes it);
//! * on request (the researcher's "Rebuild" button; `rupturelab reindex`).
//!
//! Hits are resolved against the study as loaded for this request, so a
//! stale index never shows text that is gone; [`visible`] then checks each
//! hit against the user's role.

use std::collections::HashSet;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rupturelab_core::{Key, ResponseKey, StudyData};
use rupturelab_search::{Hit, SearchIndex, Target};
use rupturelab_store::{Role, Store, StudyInfo, User};
use serde_json::{json, Value};
use tower_sessions::Session;

use crate::accounts::{AnyUser, ApiResearcher, Researcher};
use crate::console::{shell, study_by_key, Shell};
use crate::error::{ApiError, Error};
use crate::views::render;
use crate::AppState;

/// The most hits a search returns.
pub const MAX_HITS: usize = 500;
/// Hits returned when no `limit` is given.
pub const DEFAULT_HITS: usize = 100;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/studies/{study}/search", get(page))
        .route("/studies/{study}/search/reindex", post(reindex))
        .route("/api/v1/studies/{study}/search", get(api))
}

/// The server's search index and its upkeep.
pub struct Search {
    index: Arc<SearchIndex>,
    store: Arc<dyn Store>,
    /// Serialises rebuilds so that two searches do not index a study twice.
    rebuild: tokio::sync::Mutex<()>,
}

impl Search {
    /// Opens the index (in `dir`, else in memory; in memory also when the
    /// directory is held by another process) and brings every study up to
    /// date in the background.
    pub fn start(store: Arc<dyn Store>, dir: Option<&std::path::Path>) -> Arc<Search> {
        let index = match dir.map(SearchIndex::open) {
            Some(Ok(i)) => i,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "search index kept in memory instead");
                SearchIndex::in_memory().expect("an in-memory index can always be created")
            }
            None => SearchIndex::in_memory().expect("an in-memory index can always be created"),
        };
        let search = Arc::new(Search {
            index: Arc::new(index),
            store,
            rebuild: tokio::sync::Mutex::new(()),
        });
        let s = search.clone();
        tokio::spawn(async move {
            match s.store.list_studies().await {
                Ok(list) => {
                    for info in list {
                        if let Err(e) = s.freshen(&info, None).await {
                            tracing::warn!(study = %info.key, error = %e, "indexing for search failed");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "indexing for search failed"),
            }
        });
        search
    }

    /// Re-indexes the study if its answers or transcripts changed since it
    /// was indexed (or unconditionally with `force`). `data` is the study as
    /// loaded by the caller, if it has it.
    async fn freshen_with(
        &self,
        info: &StudyInfo,
        data: Option<&StudyData>,
        force: bool,
    ) -> Result<(), Error> {
        let _guard = self.rebuild.lock().await;
        let fingerprint = self.store.search_fingerprint(info.id).await?;
        let index = self.index.clone();
        let key = info.key.clone();
        let current = tokio::task::spawn_blocking(move || index.fingerprint(&key))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
            .map_err(|e| Error::Internal(e.to_string()))?;
        if !force && current.as_deref() == Some(fingerprint.as_str()) {
            return Ok(());
        }
        let data = match data {
            Some(d) => d.clone(),
            None => self.store.load_study(info.id).await?,
        };
        let index = self.index.clone();
        let stats = tokio::task::spawn_blocking(move || index.index_study(&data, &fingerprint))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
            .map_err(|e| Error::Internal(e.to_string()))?;
        tracing::info!(study = %info.key, responses = stats.responses, turns = stats.turns, "indexed for search");
        Ok(())
    }

    async fn freshen(&self, info: &StudyInfo, data: Option<&StudyData>) -> Result<(), Error> {
        self.freshen_with(info, data, false).await
    }

    /// Runs a query on a study: freshens the index, takes the candidates
    /// back to `data` (the study as loaded now) and keeps what `seen` allows.
    pub(crate) async fn run(
        &self,
        info: &StudyInfo,
        data: &StudyData,
        seen: &Seen,
        q: &str,
        limit: usize,
    ) -> Result<Vec<Hit>, Error> {
        self.freshen(info, Some(data)).await?;
        let analyzer = rupturelab_search::Analyzer::new(data.meta.language);
        let query = rupturelab_search::Query::parse(q, &analyzer)
            .map_err(|e| Error::Invalid(format!("q: {e}")))?;
        let index = self.index.clone();
        let key = info.key.clone();
        let language = data.meta.language;
        let query2 = query.clone();
        let candidates = tokio::task::spawn_blocking(move || {
            // Ask for more than the limit: some candidates may be stale.
            index.candidates(&key, language, &query2, limit.saturating_mul(2).max(50))
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|e| Error::Internal(e.to_string()))?;
        let mut hits: Vec<Hit> = rupturelab_search::resolve(data, &query, &candidates)
            .into_iter()
            .filter(|h| visible(seen, h))
            .collect();
        hits.truncate(limit);
        Ok(hits)
    }
}

/// What a user may see of a study's texts.
pub(crate) enum Seen {
    /// Researchers: every text.
    All,
    /// Coders: the open answers assigned to them (every one without a share
    /// assignment) and the transcripts of those answers' segments.
    Only {
        responses: HashSet<ResponseKey>,
        segments: HashSet<Key>,
    },
}

impl Seen {
    /// What `user` may see in the study.
    pub(crate) async fn of(state: &AppState, info: &StudyInfo, user: &User) -> Result<Seen, Error> {
        if user.role == Role::Researcher {
            return Ok(Seen::All);
        }
        // A user whose name cannot be a coder's is assigned nothing.
        let Ok(coder) = Key::parse(&user.username) else {
            return Ok(Seen::Only {
                responses: HashSet::new(),
                segments: HashSet::new(),
            });
        };
        let mine = state.store.codable_responses(info.id, &coder).await?;
        Ok(Seen::Only {
            segments: mine.iter().filter_map(|r| r.key.segment.clone()).collect(),
            responses: mine.into_iter().map(|r| r.key).collect(),
        })
    }
}

/// Whether a hit may be shown. Researchers see every text of a study;
/// coders see the open answers they are assigned (only answers that still
/// exist: hits are resolved against the current study) and the transcripts
/// of their segments. Hits never carry codings, so blind coding is
/// unaffected.
pub(crate) fn visible(seen: &Seen, hit: &Hit) -> bool {
    match seen {
        Seen::All => true,
        Seen::Only {
            responses,
            segments,
        } => match &hit.target {
            Target::Response {
                participant,
                segment,
                question,
            } => responses.contains(&ResponseKey {
                participant: participant.clone(),
                segment: segment.clone(),
                question: question.clone(),
            }),
            Target::Turn { segment, .. } => segments.contains(segment),
        },
    }
}

/// Escapes text for HTML.
pub(crate) fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// The text with every span wrapped in `<mark>`, everything escaped. Spans
/// are code-point offsets (sorted, non-overlapping); out-of-range spans are
/// clipped.
pub fn highlight(text: &str, spans: &[(usize, usize)]) -> String {
    let bytes: Vec<usize> = text
        .char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(text.len()))
        .collect();
    let n = bytes.len() - 1;
    let mut out = String::with_capacity(text.len() + spans.len() * 13);
    let mut at = 0usize;
    for &(s, e) in spans {
        let (s, e) = (s.clamp(at, n), e.min(n));
        if e <= s {
            continue;
        }
        escape(&text[bytes[at]..bytes[s]], &mut out);
        out.push_str("<mark>");
        escape(&text[bytes[s]..bytes[e]], &mut out);
        out.push_str("</mark>");
        at = e;
    }
    escape(&text[bytes[at]..], &mut out);
    out
}

/// Code-point spans as UTF-16 unit spans (what a browser's selection API counts).
fn utf16_spans(text: &str, spans: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut units = Vec::with_capacity(text.len() + 1);
    let mut u = 0usize;
    for c in text.chars() {
        units.push(u);
        u += c.len_utf16();
    }
    units.push(u);
    spans
        .iter()
        .map(|&(s, e)| (units[s.min(units.len() - 1)], units[e.min(units.len() - 1)]))
        .collect()
}

#[derive(serde::Deserialize)]
struct SearchParams {
    q: Option<String>,
    limit: Option<String>,
}

fn limit(p: &SearchParams) -> Result<usize, Error> {
    match p.limit.as_deref().filter(|s| !s.is_empty()) {
        None => Ok(DEFAULT_HITS),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=MAX_HITS).contains(&n) => Ok(n),
            _ => Err(Error::Invalid(format!(
                "limit: `{s}` is not a number from 1 to {MAX_HITS}"
            ))),
        },
    }
}

/// One hit on the page.
struct HitRow {
    place: String,
    link: Option<String>,
    html: String,
    count: usize,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    title: String,
    s: Shell,
    q: String,
    language: &'static str,
    researcher: bool,
    searched: bool,
    hits: Vec<HitRow>,
    limit: usize,
    error: Option<String>,
    message: Option<String>,
    /// The codes that can be applied (path, name) for "code all hits".
    codes: Vec<(String, String)>,
}

fn place(h: &Hit) -> (String, Option<String>) {
    match &h.target {
        Target::Response {
            participant,
            segment,
            question,
        } => (
            format!(
                "{participant} · {} · {question}",
                segment.as_ref().map(|s| s.as_str()).unwrap_or("asked once")
            ),
            Some(format!("participants/{participant}")),
        ),
        Target::Turn { segment, turn } => (
            format!(
                "{segment} transcript, turn {}{}",
                turn + 1,
                h.speaker
                    .as_deref()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default()
            ),
            None,
        ),
    }
}

async fn page_for(
    state: &AppState,
    user: &User,
    session: &Session,
    info: &StudyInfo,
    params: &SearchParams,
    message: Option<String>,
) -> Result<Response, Error> {
    let q = params.q.clone().unwrap_or_default();
    let limit = limit(params)?;
    let data = state.store.load_study(info.id).await?;
    let researcher = user.role == Role::Researcher;
    let (hits, error) = if q.trim().is_empty() {
        (Vec::new(), None)
    } else {
        let seen = Seen::of(state, info, user).await?;
        match state.search.run(info, &data, &seen, &q, limit).await {
            Ok(h) => (h, None),
            Err(Error::Invalid(m)) => (Vec::new(), Some(m)),
            Err(e) => return Err(e),
        }
    };
    let page = SearchPage {
        title: format!("Search — {}", info.title),
        language: data.meta.language.as_str(),
        researcher,
        searched: !q.trim().is_empty() && error.is_none(),
        hits: hits
            .iter()
            .map(|h| {
                let (place, link) = place(h);
                HitRow {
                    place,
                    link: link.filter(|_| researcher),
                    html: highlight(&h.text, &h.spans),
                    count: h.spans.len(),
                }
            })
            .collect(),
        q,
        limit,
        error,
        message,
        codes: crate::code_hits::codable_codes(state, info).await?,
        s: shell(session, user, Some(info)).await?,
    };
    Ok(render(&page)?.into_response())
}

async fn page(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    session: Session,
    Path(study): Path<String>,
    Query(params): Query<SearchParams>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    page_for(&state, &user, &session, &info, &params, None).await
}

async fn reindex(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path(study): Path<String>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    state.search.freshen_with(&info, None, true).await?;
    tracing::info!(study = %info.key, "search index rebuilt on request");
    let params = SearchParams {
        q: None,
        limit: None,
    };
    page_for(
        &state,
        &user,
        &session,
        &info,
        &params,
        Some("The search index of this study was rebuilt.".into()),
    )
    .await
}

/// A hit as JSON.
fn hit_json(h: &Hit) -> Value {
    let spans: Vec<[usize; 2]> = h.spans.iter().map(|&(s, e)| [s, e]).collect();
    let spans16: Vec<[usize; 2]> = utf16_spans(&h.text, &h.spans)
        .into_iter()
        .map(|(s, e)| [s, e])
        .collect();
    let mut v = match &h.target {
        Target::Response {
            participant,
            segment,
            question,
        } => json!({
            "kind": "response",
            "participant": participant.as_str(),
            "segment": segment.as_ref().map(|s| s.as_str()),
            "question": question.as_str(),
        }),
        Target::Turn { segment, turn } => json!({
            "kind": "turn",
            "segment": segment.as_str(),
            "turn": turn,
            "speaker": h.speaker,
        }),
    };
    v["text"] = json!(h.text);
    v["spans"] = json!(spans);
    v["spans_utf16"] = json!(spans16);
    v
}

async fn api(
    State(state): State<AppState>,
    ApiResearcher(user): ApiResearcher,
    Path(study): Path<String>,
    Query(params): Query<SearchParams>,
) -> Result<Response, ApiError> {
    let info = study_by_key(&state, &study).await?;
    let q = params.q.clone().unwrap_or_default();
    if q.trim().is_empty() {
        return Err(Error::Invalid(
            "q: give a query, e.g. ?q=judged or ?q=%22felt%20judged%22 or ?q=therap*".into(),
        )
        .into());
    }
    let limit = limit(&params)?;
    let data = state.store.load_study(info.id).await?;
    let seen = Seen::of(&state, &info, &user).await?;
    let hits = state.search.run(&info, &data, &seen, &q, limit).await?;
    Ok(Json(json!({
        "query": q,
        "language": data.meta.language.as_str(),
        "limit": limit,
        "hits": hits.iter().map(hit_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// The OpenAPI paths of this module (merged into the API's document).
pub fn openapi_paths() -> Value {
    let err = json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let span = json!({"type": "array", "items": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}});
    json!({
        "/studies/{study}/search": {"get": {
            "summary": "Full-text search over the study's open answers and transcript turns, with the spans of every hit",
            "description": "Words match by stem in the study's language (English, or Turkish with Turkish case folding of İ/i and I/ı); \"quoted phrases\" match adjacent words in order; word* matches words starting with word. Every part must match. Spans are [start, end) offsets in Unicode code points (`spans`) and in UTF-16 units (`spans_utf16`).",
            "parameters": [
                {"name": "study", "in": "path", "required": true, "schema": {"type": "string"}, "description": "study key"},
                {"name": "q", "in": "query", "required": true, "schema": {"type": "string"}, "description": "the query"},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_HITS, "default": DEFAULT_HITS}}
            ],
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "query": {"type": "string"}, "language": {"enum": ["en", "tr"]}, "limit": {"type": "integer"},
                    "hits": {"type": "array", "items": {"type": "object", "required": ["kind", "text", "spans"], "properties": {
                        "kind": {"enum": ["response", "turn"]},
                        "participant": {"type": "string"}, "segment": {"type": ["string", "null"]}, "question": {"type": "string"},
                        "turn": {"type": "integer", "description": "0-based turn of the segment's transcript"}, "speaker": {"type": ["string", "null"]},
                        "text": {"type": "string"}, "spans": span, "spans_utf16": span}}}}}}}},
                "401": err, "403": err, "404": err, "422": err
            }
        }}
    })
}

/// The API's OpenAPI document with this module's paths added.
pub fn with_paths(mut doc: Value) -> Value {
    for more in [openapi_paths(), crate::code_hits::openapi_paths()] {
        if let (Some(paths), Value::Object(mine)) = (doc["paths"].as_object_mut(), more) {
            paths.extend(mine);
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlight_escapes_and_marks_code_point_spans() {
        let t = "😡 <b>kızgın</b> & \"ok\"";
        // "kızgın" starts at code point 5 (emoji, space, <, b, >).
        assert_eq!(
            highlight(t, &[(5, 11)]),
            "😡 &lt;b&gt;<mark>kızgın</mark>&lt;/b&gt; &amp; &quot;ok&quot;"
        );
        assert_eq!(highlight("abc", &[(1, 99), (0, 1)]), "a<mark>bc</mark>");
        assert_eq!(highlight("", &[(0, 3)]), "");
    }

    #[test]
    fn utf16_spans_count_surrogate_pairs() {
        assert_eq!(utf16_spans("😡 ab", &[(2, 4)]), vec![(3, 5)]);
    }
}
