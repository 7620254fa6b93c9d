//! "Code all hits": apply one code to every hit of a search — each hit's
//! span, or each whole response — after a preview, as ONE undoable step of
//! the coder's log (Undo on the coding screen or `POST …/coding/undo`
//! removes them all; redo restores them).
//!
//! * `GET  /api/v1/studies/{study}/search/code-hits?q=…&code=…&scope=spans|whole`
//!   — the preview (nothing changes).
//! * `POST /api/v1/studies/{study}/search/code-hits` (JSON, CSRF header or
//!   bearer token) — applies it.
//! * `GET  /studies/{study}/search/code-hits?…` and `POST` of the same
//!   path (form with the CSRF field) — the page versions.
//!
//! The plan is always recomputed on the server from the query: only open
//! answers the caller may code (their assigned share, if they have one) are
//! coded; places where the caller already applied the code are skipped, and
//! only the caller's own codings are looked at, so blind mode holds.
//! Transcript turns are found by the search but are not codable here.

use std::collections::HashSet;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use rupturelab_core::{CodePath, ResponseKey, Span};
use rupturelab_search::Target;
use rupturelab_store::{HitCoding, ResponseId, StudyInfo, User};
use serde_json::{json, Value};
use tower_sessions::Session;

use crate::accounts::AnyUser;
use crate::coding_api::{ApiUser, Coder};
use crate::console::{shell, study_by_key, Shell};
use crate::error::{ApiError, Error};
use crate::search_page::{highlight, Seen, MAX_HITS};
use crate::views::render;
use crate::AppState;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/studies/{study}/search/code-hits",
            get(api_preview).post(api_apply),
        )
        .route(
            "/studies/{study}/search/code-hits",
            get(page_preview).post(page_apply),
        )
}

/// The codes that can be applied, as (path, name), in codebook order.
pub(crate) async fn codable_codes(
    state: &AppState,
    info: &StudyInfo,
) -> Result<Vec<(String, String)>, Error> {
    Ok(state
        .store
        .coding_codebook(info.id)
        .await?
        .into_iter()
        .filter(|c| c.codable)
        .map(|c| (c.path.to_string(), c.name))
        .collect())
}

/// What to code: the query, the code and the scope.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct CodeHitsIn {
    q: Option<String>,
    code: Option<String>,
    /// `spans` (default): each hit's span; `whole`: each hit's whole response.
    scope: Option<String>,
}

impl CodeHitsIn {
    fn parts(&self) -> Result<(String, CodePath, bool), Error> {
        let q = self.q.as_deref().map(str::trim).unwrap_or_default();
        if q.is_empty() {
            return Err(Error::Invalid(
                "q: give the search whose hits to code, e.g. judged or \"felt judged\"".into(),
            ));
        }
        let code = self.code.as_deref().map(str::trim).unwrap_or_default();
        if code.is_empty() {
            return Err(Error::Invalid(
                "code: choose the code to apply to the hits".into(),
            ));
        }
        let code = CodePath::parse(code).map_err(|e| Error::Invalid(format!("code: {e}")))?;
        let whole = match self.scope.as_deref().map(str::trim).unwrap_or("") {
            "" | "spans" => false,
            "whole" => true,
            other => {
                return Err(Error::Invalid(format!(
                    "scope: `{other}` is not a scope; give `spans` (each hit's words) or `whole` (each hit's whole response)"
                )))
            }
        };
        Ok((q.to_string(), code, whole))
    }
}

/// One place the plan would code.
struct Place {
    hit: HitCoding,
    /// The caller has applied the code here already: skipped.
    skip: bool,
}

/// One response with hits.
struct PlanItem {
    id: ResponseId,
    key: ResponseKey,
    text: String,
    spans: Vec<(usize, usize)>,
    places: Vec<Place>,
}

/// What "code all hits" would do.
struct Plan {
    q: String,
    code: CodePath,
    whole: bool,
    items: Vec<PlanItem>,
    /// Hits in transcripts or in answers the caller is not assigned: not coded.
    left_out: usize,
}

impl Plan {
    fn places(&self) -> impl Iterator<Item = &Place> {
        self.items.iter().flat_map(|i| i.places.iter())
    }
    fn to_add(&self) -> Vec<HitCoding> {
        self.places().filter(|p| !p.skip).map(|p| p.hit).collect()
    }
    fn skipped(&self) -> usize {
        self.places().filter(|p| p.skip).count()
    }
    fn scope(&self) -> &'static str {
        if self.whole {
            "whole"
        } else {
            "spans"
        }
    }
}

/// Works out the plan for `user` (as coder `c`).
async fn plan(
    state: &AppState,
    info: &StudyInfo,
    user: &User,
    c: &Coder,
    input: &CodeHitsIn,
) -> Result<Plan, Error> {
    let (q, code, whole) = input.parts()?;
    if !codable_codes(state, info)
        .await?
        .iter()
        .any(|(p, _)| p == code.as_str())
    {
        return Err(Error::Invalid(format!(
            "code: the codebook has no code `{code}` that can be applied; choose one of the codebook's codes"
        )));
    }
    let data = state.store.load_study(info.id).await?;
    let seen = Seen::of(state, info, user).await?;
    let hits = state
        .search
        .run(info, &data, &seen, &q, MAX_HITS + 1)
        .await?;
    if hits.len() > MAX_HITS {
        return Err(Error::Invalid(format!(
            "q: more than {MAX_HITS} texts match; narrow the search (a phrase in quotes, more words) before coding all hits"
        )));
    }
    let mine: std::collections::HashMap<ResponseKey, ResponseId> = state
        .store
        .codable_responses(info.id, &c.key)
        .await?
        .into_iter()
        .map(|r| (r.key, r.id))
        .collect();
    let done: HashSet<HitCoding> = state
        .store
        .coder_code_places(info.id, &c.key, &code)
        .await?
        .into_iter()
        .collect();
    let mut items = Vec::new();
    let mut left_out = 0;
    for h in hits {
        let Target::Response {
            participant,
            segment,
            question,
        } = &h.target
        else {
            left_out += 1;
            continue;
        };
        let key = ResponseKey {
            participant: participant.clone(),
            segment: segment.clone(),
            question: question.clone(),
        };
        let Some(&id) = mine.get(&key) else {
            left_out += 1;
            continue;
        };
        let spans: Vec<Option<Span>> = if whole {
            vec![None]
        } else {
            h.spans
                .iter()
                .map(|&(start, end)| Some(Span { start, end }))
                .collect()
        };
        let places = spans
            .into_iter()
            .map(|span| {
                let hit = HitCoding { response: id, span };
                Place {
                    skip: done.contains(&hit),
                    hit,
                }
            })
            .collect();
        items.push(PlanItem {
            id,
            key,
            text: h.text,
            spans: h.spans,
            places,
        });
    }
    Ok(Plan {
        q,
        code,
        whole,
        items,
        left_out,
    })
}

fn plan_json(p: &Plan) -> Value {
    json!({
        "query": p.q,
        "code": p.code.as_str(),
        "scope": p.scope(),
        "responses": p.items.len(),
        "places": p.places().count(),
        "add": p.places().filter(|x| !x.skip).count(),
        "skip": p.skipped(),
        "left_out": p.left_out,
        "items": p.items.iter().map(|i| json!({
            "response": i.id.0,
            "participant": i.key.participant.as_str(),
            "segment": i.key.segment.as_ref().map(|s| s.as_str()),
            "question": i.key.question.as_str(),
            "text": i.text,
            "spans": i.spans.iter().map(|&(s, e)| [s, e]).collect::<Vec<_>>(),
            "places": i.places.iter().map(|x| json!({
                "start": x.hit.span.map(|s| s.start),
                "end": x.hit.span.map(|s| s.end),
                "skip": x.skip,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// Applies the plan; returns (added, skipped, undo, redo).
async fn apply(
    state: &AppState,
    info: &StudyInfo,
    c: &Coder,
    p: &Plan,
) -> Result<rupturelab_store::HitCodingOutcome, Error> {
    let places: Vec<HitCoding> = p.places().map(|x| x.hit).collect();
    let out = state
        .store
        .add_hit_codings(info.id, &c.key, &p.code, &places, &p.q, &c.user.username)
        .await?;
    tracing::info!(study = %info.key, added = out.added.len(), skipped = out.skipped.len(), "coded all hits of a search");
    Ok(out)
}

async fn api_preview(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(study): Path<String>,
    Query(input): Query<CodeHitsIn>,
) -> Result<Response, ApiError> {
    let c = Coder::of(user.clone())?;
    let info = study_by_key(&state, &study).await?;
    let p = plan(&state, &info, &user, &c, &input).await?;
    Ok(Json(plan_json(&p)).into_response())
}

async fn api_apply(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(study): Path<String>,
    Json(input): Json<CodeHitsIn>,
) -> Result<Response, ApiError> {
    let c = Coder::of(user.clone())?;
    let info = study_by_key(&state, &study).await?;
    let p = plan(&state, &info, &user, &c, &input).await?;
    let out = apply(&state, &info, &c, &p).await?;
    let status = if out.added.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let body = json!({
        "query": p.q,
        "code": p.code.as_str(),
        "scope": p.scope(),
        "added": out.added.len(),
        "skipped": out.skipped.len(),
        "responses": out.added.iter().map(|x| x.response).collect::<HashSet<_>>().len(),
        "codings": out.added.iter().map(|x| json!({
            "id": x.id.0, "response": x.response.0,
            "start": x.span.map(|s| s.start), "end": x.span.map(|s| s.end),
            "version": x.version,
        })).collect::<Vec<_>>(),
        "undo": out.undo_left,
        "redo": out.redo_left,
    });
    Ok((status, Json(body)).into_response())
}

/// One response on the preview page.
struct Row {
    place: String,
    link: String,
    html: String,
    add: usize,
    skip: usize,
}

#[derive(Template)]
#[template(path = "code_hits.html")]
struct CodeHitsPage {
    title: String,
    s: Shell,
    q: String,
    code: String,
    whole: bool,
    rows: Vec<Row>,
    add: usize,
    skip: usize,
    left_out: usize,
    error: Option<String>,
    message: Option<String>,
}

async fn render_page(
    state: &AppState,
    session: &Session,
    user: &User,
    info: &StudyInfo,
    input: &CodeHitsIn,
    message: Option<String>,
) -> Result<Response, Error> {
    let c = Coder::of(user.clone())?;
    let (p, error) = match plan(state, info, user, &c, input).await {
        Ok(p) => (Some(p), None),
        Err(Error::Invalid(m)) => (None, Some(m)),
        Err(e) => return Err(e),
    };
    let page = CodeHitsPage {
        title: format!("Code all hits — {}", info.title),
        q: input.q.clone().unwrap_or_default(),
        code: input.code.clone().unwrap_or_default(),
        whole: input.scope.as_deref() == Some("whole"),
        rows: p
            .as_ref()
            .map(|p| {
                p.items
                    .iter()
                    .map(|i| Row {
                        place: format!(
                            "{} · {} · {}",
                            i.key.participant,
                            i.key
                                .segment
                                .as_ref()
                                .map(|s| s.as_str())
                                .unwrap_or("asked once"),
                            i.key.question
                        ),
                        link: format!("/coding/{}?r={}", info.key, i.id.0),
                        html: highlight(&i.text, &i.spans),
                        add: i.places.iter().filter(|x| !x.skip).count(),
                        skip: i.places.iter().filter(|x| x.skip).count(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        add: p.as_ref().map(|p| p.to_add().len()).unwrap_or(0),
        skip: p.as_ref().map(Plan::skipped).unwrap_or(0),
        left_out: p.as_ref().map(|p| p.left_out).unwrap_or(0),
        error,
        message,
        s: shell(session, user, Some(info)).await?,
    };
    Ok(render(&page)?.into_response())
}

async fn page_preview(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    session: Session,
    Path(study): Path<String>,
    Query(input): Query<CodeHitsIn>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    render_page(&state, &session, &user, &info, &input, None).await
}

async fn page_apply(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    session: Session,
    Path(study): Path<String>,
    Form(input): Form<CodeHitsIn>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let c = Coder::of(user.clone())?;
    let p = plan(&state, &info, &user, &c, &input).await?;
    let out = apply(&state, &info, &c, &p).await?;
    let message = if out.added.is_empty() {
        "Nothing was added: every hit already has this code from you.".to_string()
    } else {
        format!(
            "Added {} coding(s) of {} ({} skipped). Undo on the coding screen removes them all in one step.",
            out.added.len(),
            p.code,
            out.skipped.len()
        )
    };
    render_page(&state, &session, &user, &info, &input, Some(message)).await
}

/// The OpenAPI paths of this module (merged by `search_page::with_paths`).
pub fn openapi_paths() -> Value {
    let err = json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let params = json!([
        {"name": "study", "in": "path", "required": true, "schema": {"type": "string"}, "description": "study key"},
    ]);
    let input_props = json!({
        "q": {"type": "string", "description": "the search (same language as GET /studies/{study}/search)"},
        "code": {"type": "string", "description": "path of a codable code, e.g. Cause/Patient/Resistance"},
        "scope": {"enum": ["spans", "whole"], "default": "spans", "description": "spans: one coding per hit span (code points); whole: one whole-response coding per answer with a hit"}
    });
    let mut query_params = params.clone();
    for (name, required) in [("q", true), ("code", true), ("scope", false)] {
        query_params.as_array_mut().unwrap().push(json!({
            "name": name, "in": "query", "required": required, "schema": input_props[name].clone()
        }));
    }
    json!({
        "/studies/{study}/search/code-hits": {
            "get": {
                "summary": "Preview of \"code all hits\": which answers and spans the code would be applied to, and which are skipped because the caller applied it there already",
                "description": "Researchers and coders. Only open answers the caller may code (their assigned share, if any) are included; transcript turns and other answers are counted in `left_out`. Only the caller's own codings are consulted (blind mode holds). Spans are code points, end exclusive. At most 500 matching texts; a broader search gets 422.",
                "parameters": query_params,
                "responses": {
                    "200": {"description": "the plan", "content": {"application/json": {"schema": {"type": "object", "properties": {
                        "query": {"type": "string"}, "code": {"type": "string"}, "scope": {"enum": ["spans", "whole"]},
                        "responses": {"type": "integer"}, "places": {"type": "integer"}, "add": {"type": "integer"}, "skip": {"type": "integer"}, "left_out": {"type": "integer"},
                        "items": {"type": "array", "items": {"type": "object", "properties": {
                            "response": {"type": "integer"}, "participant": {"type": "string"}, "segment": {"type": ["string", "null"]}, "question": {"type": "string"},
                            "text": {"type": "string"}, "spans": {"type": "array"},
                            "places": {"type": "array", "items": {"type": "object", "properties": {"start": {"type": ["integer", "null"]}, "end": {"type": ["integer", "null"]}, "skip": {"type": "boolean"}}}}}}}}}}}},
                    "401": err, "403": err, "404": err, "422": err
                }
            },
            "post": {
                "summary": "Code all hits: apply the code to every place of the preview in one transaction, as ONE undo step of the caller (POST /studies/{study}/coding/undo removes them all, redo restores them)",
                "description": "The plan is recomputed from the query on the server. One `coding.add` audit event per coding plus one `coding.add_hits` summary. Places the caller already coded with this code are skipped. Needs the X-CSRF-Token header with a session (not with a bearer token).",
                "parameters": params,
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["q", "code"], "properties": input_props}}}},
                "responses": {
                    "201": {"description": "codings added", "content": {"application/json": {"schema": {"type": "object", "properties": {
                        "added": {"type": "integer"}, "skipped": {"type": "integer"}, "responses": {"type": "integer"},
                        "codings": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"}, "response": {"type": "integer"}, "start": {"type": ["integer", "null"]}, "end": {"type": ["integer", "null"]}, "version": {"type": "integer"}}}},
                        "undo": {"type": "integer"}, "redo": {"type": "integer"}}}}}},
                    "200": {"description": "nothing to add (every place already coded)"},
                    "401": err, "403": err, "404": err, "422": err
                }
            }
        }
    })
}
