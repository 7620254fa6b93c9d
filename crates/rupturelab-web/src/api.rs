//! The JSON API under `/api/v1`: what the console pages do, for scripts
//! (session cookie + `X-CSRF-Token`, or `Authorization: Bearer <API token>`),
//! and the participant autosave (authorised by the invitation token in the
//! path). Described by the OpenAPI document at `/api/v1/openapi.json`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use rupturelab_core::{Answer, AttrValue};
use serde_json::{json, Value};

use crate::accounts::ApiResearcher;
use crate::console::{
    apply_settings, base_url, filter_responses, issue_link, parse_participant_list, study_by_key,
    ResponseFilter, SettingsForm,
};
use crate::error::{ApiError, Error};
use crate::participant::{load_ctx, own_record, save_api_answers, AnswerIn};
use crate::AppState;

/// The API routes (nested under `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/me", get(me))
        .route("/studies", get(studies))
        .route("/studies/{study}", get(study))
        .route(
            "/studies/{study}/participants",
            get(participants).post(add_participants),
        )
        .route(
            "/studies/{study}/participants/{code}/invitation",
            post(invite).delete(revoke),
        )
        .route("/studies/{study}/responses", get(responses))
        .route("/studies/{study}/settings", put(settings))
        .route(
            "/studies/{study}/segments/{key}",
            get(get_segment).put(put_segment),
        )
        .route("/studies/{study}/questions/{key}", put(put_question))
        .route("/studies/{study}/attributes/{key}", put(put_attribute))
        .route("/studies/{study}/order/{what}", put(put_order))
        .route("/p/{token}", get(participant_record))
        .route("/p/{token}/answers", put(participant_answers))
}

type ApiResult = Result<Response, ApiError>;

async fn me(ApiResearcher(user): ApiResearcher) -> ApiResult {
    Ok(Json(json!({"username": user.username, "role": user.role.as_str()})).into_response())
}

async fn studies(State(state): State<AppState>, ApiResearcher(_u): ApiResearcher) -> ApiResult {
    let list: Vec<Value> = state
        .store
        .list_studies()
        .await?
        .into_iter()
        .map(|s| json!({"key": s.key, "title": s.title, "synthetic": s.synthetic}))
        .collect();
    Ok(Json(list).into_response())
}

async fn study(
    State(state): State<AppState>,
    ApiResearcher(_u): ApiResearcher,
    Path(key): Path<String>,
) -> ApiResult {
    let info = study_by_key(&state, &key).await?;
    let d = state.store.study_design(info.id).await?;
    let segs = state.store.study_segments(info.id).await?;
    let p = state.store.study_progress(info.id).await?;
    Ok(Json(json!({
        "key": info.key,
        "title": d.meta.title,
        "language": d.meta.language.as_str(),
        "presentation_order": d.settings.presentation_order.as_str(),
        "consent_text": d.settings.consent_text,
        "welcome_text": d.settings.welcome_text,
        "thanks_text": d.settings.thanks_text,
        "segments": segs.iter().map(|s| json!({"key": s.key.as_str(), "label": s.label, "patient": s.patient.as_str(), "rupture": s.rupture.as_str(), "turns": s.turns.len()})).collect::<Vec<_>>(),
        "questions": d.questions.iter().map(|q| json!({"key": q.key.as_str(), "kind": q.kind.name(), "scope": q.scope.as_str(), "prompt": q.prompt})).collect::<Vec<_>>(),
        "attributes": d.attributes.iter().map(|a| json!({"name": a.name.as_str(), "label": a.label, "type": a.kind.name(), "required": a.required})).collect::<Vec<_>>(),
        "progress": {
            "invited": p.invited, "started": p.started, "completed": p.completed,
            "answers_per_segment": p.answers_per_segment.iter().map(|(k, n)| (k.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
            "answers_once": p.answers_once,
        }
    }))
    .into_response())
}

async fn participants(
    State(state): State<AppState>,
    ApiResearcher(_u): ApiResearcher,
    Path(key): Path<String>,
) -> ApiResult {
    let info = study_by_key(&state, &key).await?;
    let list: Vec<Value> = state
        .store
        .participant_overview(info.id)
        .await?
        .into_iter()
        .map(|p| {
            json!({
                "code": p.code.as_str(),
                "status": p.status.as_str(),
                "link_active": p.invited_at.is_some(),
                "invited_at": p.invited_at.map(|t| t.to_rfc3339()),
                "consent": p.consent,
                "answers": p.answers,
                "step": p.step,
                "order": p.order.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
                "order_mode": p.order_mode,
                "order_row": p.order_row,
            })
        })
        .collect();
    Ok(Json(list).into_response())
}

#[derive(serde::Deserialize)]
struct AddBody {
    /// One code per line, or CSV with a `code` header and attribute columns.
    list: String,
    #[serde(default)]
    invite: bool,
}

async fn add_participants(
    State(state): State<AppState>,
    ApiResearcher(_u): ApiResearcher,
    headers: HeaderMap,
    Path(key): Path<String>,
    Json(body): Json<AddBody>,
) -> ApiResult {
    let info = study_by_key(&state, &key).await?;
    let design = state.store.study_design(info.id).await?;
    let list = parse_participant_list(&body.list, &design)?;
    for p in &list {
        if state
            .store
            .participant_id(info.id, p.code.as_str())
            .await?
            .is_some()
        {
            return Err(Error::Conflict(format!(
                "participant `{}` exists; nothing was added",
                p.code
            ))
            .into());
        }
    }
    let base = base_url(&state, &headers);
    let mut out = Vec::new();
    for p in &list {
        let pid = state.store.add_participant(info.id, p).await?;
        let link = if body.invite {
            Some(issue_link(&state, info.id, pid, p.code.as_str(), &base).await?)
        } else {
            None
        };
        out.push(json!({"code": p.code.as_str(), "link": link}));
    }
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

async fn invite(
    State(state): State<AppState>,
    ApiResearcher(_u): ApiResearcher,
    headers: HeaderMap,
    Path((key, code)): Path<(String, String)>,
) -> ApiResult {
    let info = study_by_key(&state, &key).await?;
    let pid = state
        .store
        .participant_id(info.id, &code)
        .await?
        .ok_or(Error::NotFound)?;
    let link = issue_link(&state, info.id, pid, &code, &base_url(&state, &headers)).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"code": code, "link": link})),
    )
        .into_response())
}

async fn revoke(
    State(state): State<AppState>,
    ApiResearcher(_u): ApiResearcher,
    Path((key, code)): Path<(String, String)>,
) -> ApiResult {
    let info = study_by_key(&state, &key).await?;
    let pid = state
        .store
        .participant_id(info.id, &code)
        .await?
        .ok_or(Error::NotFound)?;
    state.store.revoke_invitation(pid).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn answer_json(a: &Answer) -> Value {
    match a {
        Answer::Text(t) => json!({"text": t}),
        Answer::Rating(r) => json!({"rating": r}),
        Answer::Choice(c) => json!({"choice": c}),
    }
}

fn attr_json(v: &AttrValue) -> Value {
    match v {
        AttrValue::Text(s) => json!(s),
        AttrValue::Integer(i) => json!(i),
        AttrValue::Number(n) => json!(n),
        AttrValue::Bool(b) => json!(b),
    }
}

async fn responses(
    State(state): State<AppState>,
    ApiResearcher(_u): ApiResearcher,
    Path(key): Path<String>,
    Query(f): Query<ResponseFilter>,
) -> ApiResult {
    let info = study_by_key(&state, &key).await?;
    let data = state.store.load_study(info.id).await?;
    let list: Vec<Value> = filter_responses(&data, &f)
        .into_iter()
        .map(|r| {
            let attrs = data
                .participants
                .iter()
                .find(|p| p.code == r.key.participant)
                .map(|p| {
                    p.attributes
                        .iter()
                        .map(|(k, v)| (k.clone(), attr_json(v)))
                        .collect::<serde_json::Map<_, _>>()
                })
                .unwrap_or_default();
            json!({
                "participant": r.key.participant.as_str(),
                "segment": r.key.segment.as_ref().map(|s| s.as_str()),
                "question": r.key.question.as_str(),
                "answer": answer_json(&r.answer),
                "updated_at": r.updated_at.map(|t| t.to_rfc3339()),
                "attributes": attrs,
            })
        })
        .collect();
    Ok(Json(list).into_response())
}

async fn settings(
    State(state): State<AppState>,
    ApiResearcher(_u): ApiResearcher,
    Path(key): Path<String>,
    Json(body): Json<SettingsForm>,
) -> ApiResult {
    let info = study_by_key(&state, &key).await?;
    apply_settings(&state, info.id, &body).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn key(s: &str, what: &str) -> Result<rupturelab_core::Key, Error> {
    rupturelab_core::Key::parse(s).map_err(|e| Error::Invalid(format!("the {what} {e}")))
}

async fn get_segment(
    State(state): State<AppState>,
    ApiResearcher(_u): ApiResearcher,
    Path((study, k)): Path<(String, String)>,
) -> ApiResult {
    let info = study_by_key(&state, &study).await?;
    let s = state
        .store
        .segment(info.id, &key(&k, "segment key")?)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(Json(json!({
        "key": s.key.as_str(),
        "label": s.label,
        "patient": s.patient.as_str(),
        "session": s.session,
        "rupture": s.rupture.as_str(),
        "markers": s.markers.iter().map(|m| json!({"name": m.name, "salience": m.salience.map(|v| v.get())})).collect::<Vec<_>>(),
        "media": s.media.as_ref().map(|m| json!({"reference": m.reference, "start_ms": m.start_ms, "end_ms": m.end_ms})),
        "notes": s.notes,
        "turns": s.turns.iter().map(|t| json!({"speaker": t.speaker, "text": t.text, "start_ms": t.start_ms, "end_ms": t.end_ms})).collect::<Vec<_>>(),
    }))
    .into_response())
}

#[derive(serde::Deserialize)]
struct MarkerIn {
    name: String,
    salience: Option<i64>,
}

#[derive(serde::Deserialize)]
struct MediaIn {
    reference: String,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
}

#[derive(serde::Deserialize)]
struct TurnIn {
    speaker: String,
    text: String,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
}

#[derive(serde::Deserialize)]
struct SegmentIn {
    #[serde(default)]
    label: String,
    patient: String,
    session: Option<u32>,
    #[serde(default)]
    rupture: String,
    #[serde(default)]
    markers: Vec<MarkerIn>,
    media: Option<MediaIn>,
    notes: Option<String>,
    #[serde(default)]
    turns: Vec<TurnIn>,
}

async fn put_segment(
    State(state): State<AppState>,
    ApiResearcher(_u): ApiResearcher,
    Path((study, k)): Path<(String, String)>,
    Json(b): Json<SegmentIn>,
) -> ApiResult {
    use rupturelab_core::text::normalize;
    let info = study_by_key(&state, &study).await?;
    let mut markers = Vec::new();
    for m in b.markers {
        markers.push(rupturelab_core::Marker {
            name: m.name,
            salience: m
                .salience
                .map(rupturelab_core::Salience::new)
                .transpose()
                .map_err(Error::Invalid)?,
        });
    }
    let seg = rupturelab_core::Segment {
        key: key(&k, "segment key")?,
        label: b.label,
        patient: key(&b.patient, "patient key")?,
        session: b.session,
        rupture: rupturelab_core::RuptureType::parse(&b.rupture).map_err(Error::Invalid)?,
        markers,
        media: b.media.map(|m| rupturelab_core::Media {
            reference: m.reference,
            start_ms: m.start_ms,
            end_ms: m.end_ms,
        }),
        notes: b.notes,
        turns: b
            .turns
            .into_iter()
            .map(|t| rupturelab_core::Turn {
                speaker: t.speaker,
                text: normalize(&t.text),
                start_ms: t.start_ms,
                end_ms: t.end_ms,
            })
            .collect(),
    };
    state.store.upsert_segment(info.id, &seg).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(serde::Deserialize)]
struct QuestionIn {
    kind: String,
    scope: String,
    prompt: String,
    min: Option<i64>,
    max: Option<i64>,
    #[serde(default)]
    anchors: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    choices: Vec<String>,
}

async fn put_question(
    State(state): State<AppState>,
    ApiResearcher(_u): ApiResearcher,
    Path((study, k)): Path<(String, String)>,
    Json(b): Json<QuestionIn>,
) -> ApiResult {
    use rupturelab_core::{QuestionKind, QuestionScope};
    let info = study_by_key(&state, &study).await?;
    let kind = match b.kind.as_str() {
        "open" => QuestionKind::Open,
        "likert" => {
            let (min, max) = (b.min.unwrap_or(1), b.max.unwrap_or(5));
            if min >= max {
                return Err(Error::Invalid("min must be below max".into()).into());
            }
            let mut anchors = std::collections::BTreeMap::new();
            for (p, l) in b.anchors {
                let p: i64 = p
                    .parse()
                    .map_err(|_| Error::Invalid(format!("anchor point `{p}` is not a number")))?;
                anchors.insert(p, l);
            }
            QuestionKind::Likert { min, max, anchors }
        }
        "choice" if b.choices.len() >= 2 => QuestionKind::Choice { choices: b.choices },
        "choice" => {
            return Err(
                Error::Invalid("a choice question needs at least two choices".into()).into(),
            )
        }
        o => return Err(Error::Invalid(format!("unknown question kind `{o}`")).into()),
    };
    let q = rupturelab_core::Question {
        key: key(&k, "question key")?,
        kind,
        scope: match b.scope.as_str() {
            "segment" => QuestionScope::Segment,
            "once" => QuestionScope::Once,
            o => return Err(Error::Invalid(format!("unknown scope `{o}`")).into()),
        },
        prompt: rupturelab_core::text::normalize(b.prompt.trim()),
    };
    state.store.upsert_question(info.id, &q).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(serde::Deserialize)]
struct AttributeIn {
    #[serde(default)]
    label: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    values: Vec<String>,
    min: Option<f64>,
    max: Option<f64>,
    #[serde(default)]
    bands: Vec<f64>,
    #[serde(default)]
    required: bool,
}

async fn put_attribute(
    State(state): State<AppState>,
    ApiResearcher(_u): ApiResearcher,
    Path((study, k)): Path<(String, String)>,
    Json(b): Json<AttributeIn>,
) -> ApiResult {
    use rupturelab_core::AttributeType;
    let info = study_by_key(&state, &study).await?;
    let whole = |v: Option<f64>| -> Result<Option<i64>, Error> {
        v.map(|x| {
            if x.fract() == 0.0 {
                Ok(x as i64)
            } else {
                Err(Error::Invalid(format!("{x} is not a whole number")))
            }
        })
        .transpose()
    };
    let kind = match b.kind.as_str() {
        "category" if !b.values.is_empty() => AttributeType::Category { values: b.values },
        "category" => return Err(Error::Invalid("a category attribute needs values".into()).into()),
        "integer" => AttributeType::Integer {
            min: whole(b.min)?,
            max: whole(b.max)?,
        },
        "number" => AttributeType::Number {
            min: b.min,
            max: b.max,
        },
        "text" => AttributeType::Text,
        "boolean" => AttributeType::Boolean,
        o => return Err(Error::Invalid(format!("unknown attribute type `{o}`")).into()),
    };
    if b.bands.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::Invalid("band cut points must be ascending".into()).into());
    }
    let a = rupturelab_core::AttributeDef {
        name: key(&k, "attribute name")?,
        label: if b.label.is_empty() {
            k.clone()
        } else {
            b.label
        },
        kind,
        bands: b.bands,
        required: b.required,
    };
    state.store.upsert_attribute(info.id, &a).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(serde::Deserialize)]
struct OrderIn {
    keys: Vec<String>,
}

async fn put_order(
    State(state): State<AppState>,
    ApiResearcher(_u): ApiResearcher,
    Path((study, what)): Path<(String, String)>,
    Json(b): Json<OrderIn>,
) -> ApiResult {
    use rupturelab_store::Ordered;
    let info = study_by_key(&state, &study).await?;
    let what = match what.as_str() {
        "segments" => Ordered::Segments,
        "questions" => Ordered::Questions,
        "attributes" => Ordered::Attributes,
        _ => return Err(Error::NotFound.into()),
    };
    let keys = b
        .keys
        .iter()
        .map(|k| key(k, "key"))
        .collect::<Result<Vec<_>, _>>()?;
    state.store.reorder(info.id, what, &keys).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn participant_record(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
) -> ApiResult {
    let ctx = load_ctx(&state, addr, &token).await?;
    Ok(Json(own_record(&state, &ctx).await?).into_response())
}

#[derive(serde::Deserialize)]
struct AnswersBody {
    answers: Vec<AnswerIn>,
}

async fn participant_answers(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    Json(body): Json<AnswersBody>,
) -> ApiResult {
    let ctx = load_ctx(&state, addr, &token).await?;
    if body.answers.len() > 200 {
        return Err(Error::BadRequest("at most 200 answers per request".into()).into());
    }
    let saved = save_api_answers(&state, &ctx, &body.answers).await?;
    Ok(
        Json(json!({"saved": saved, "saved_at": rupturelab_core::Timestamp::now().to_rfc3339()}))
            .into_response(),
    )
}

/// The OpenAPI 3.1 document of this API.
pub fn openapi_document() -> Value {
    let err = json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let study_param = json!({"name": "study", "in": "path", "required": true, "schema": {"type": "string"}, "description": "study key"});
    let code_param = json!({"name": "code", "in": "path", "required": true, "schema": {"type": "string"}, "description": "participant code"});
    let key_param = json!({"name": "key", "in": "path", "required": true, "schema": {"type": "string"}, "description": "segment or question key, or attribute name"});
    let token_param = json!({"name": "token", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}, "description": "the participant's invitation token"});
    let ok = |schema: Value| json!({"description": "OK", "content": {"application/json": {"schema": schema}}});
    crate::suggest_api::with_paths(crate::search_page::with_paths(
        crate::reconcile::with_openapi(crate::codebook::with_openapi(
            crate::coding_api::with_paths(json!({
                "openapi": "3.1.0",
                "info": {
                    "title": "RuptureLab API",
                    "version": "1",
                    "description": "Researcher endpoints accept the session cookie (state-changing calls then need the X-CSRF-Token header) or `Authorization: Bearer <API token>` (create one on the Account page). Participant endpoints are authorised by the invitation token in the path."
                },
                "servers": [{"url": "/api/v1"}],
                "security": [{"bearer": []}, {"session": []}],
                "components": {
                    "securitySchemes": {
                        "bearer": {"type": "http", "scheme": "bearer"},
                        "session": {"type": "apiKey", "in": "cookie", "name": "rupturelab_session"}
                    },
                    "schemas": {
                        "Error": {"type": "object", "required": ["error", "status"], "properties": {"error": {"type": "string"}, "status": {"type": "integer"}, "reference": {"type": ["string", "null"]}}},
                        "Answer": {"type": "object", "required": ["question"], "properties": {
                            "segment": {"type": ["string", "null"], "description": "segment key; null for a question asked once"},
                            "question": {"type": "string"},
                            "text": {"type": "string", "description": "open answer"},
                            "value": {"type": "string", "description": "Likert point or choice"}}},
                        "Settings": {"type": "object", "required": ["language", "presentation_order"], "properties": {
                            "language": {"enum": ["en", "tr"]},
                            "presentation_order": {"enum": ["fixed", "random", "latin-square"]},
                            "consent_text": {"type": ["string", "null"]},
                            "welcome_text": {"type": ["string", "null"]},
                            "thanks_text": {"type": ["string", "null"]}}},
                        "Link": {"type": "object", "properties": {"code": {"type": "string"}, "link": {"type": ["string", "null"], "description": "the invitation link, shown only in this response"}}}
                    }
                },
                "paths": {
                    "/me": {"get": {"summary": "The calling user", "responses": {"200": ok(json!({"type": "object"})), "401": err}}},
                    "/studies": {"get": {"summary": "List studies", "responses": {"200": ok(json!({"type": "array"})), "401": err, "403": err}}},
                    "/studies/{study}": {"get": {"summary": "A study's design and progress", "parameters": [study_param], "responses": {"200": ok(json!({"type": "object"})), "404": err}}},
                    "/studies/{study}/participants": {
                        "get": {"summary": "Participants with status, order and answer counts", "parameters": [study_param], "responses": {"200": ok(json!({"type": "array"})), "404": err}},
                        "post": {"summary": "Add participants (codes one per line, or CSV with a code header); optionally issue links", "parameters": [study_param],
                            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["list"], "properties": {"list": {"type": "string"}, "invite": {"type": "boolean"}}}}}},
                            "responses": {"201": ok(json!({"type": "array", "items": {"$ref": "#/components/schemas/Link"}})), "409": err, "422": err}}
                    },
                    "/studies/{study}/participants/{code}/invitation": {
                        "post": {"summary": "Issue (or reissue) the invitation link; earlier links stop working", "parameters": [study_param, code_param], "responses": {"201": ok(json!({"$ref": "#/components/schemas/Link"})), "404": err}},
                        "delete": {"summary": "Revoke the invitation link", "parameters": [study_param, code_param], "responses": {"204": {"description": "revoked"}, "404": err}}
                    },
                    "/studies/{study}/responses": {"get": {"summary": "Responses, filtered", "parameters": [study_param,
                        {"name": "segment", "in": "query", "schema": {"type": "string"}, "description": "segment key, or - for once-questions"},
                        {"name": "question", "in": "query", "schema": {"type": "string"}},
                        {"name": "participant", "in": "query", "schema": {"type": "string"}},
                        {"name": "attribute", "in": "query", "schema": {"type": "string"}},
                        {"name": "value", "in": "query", "schema": {"type": "string"}}],
                        "responses": {"200": ok(json!({"type": "array"})), "404": err}}},
                    "/studies/{study}/settings": {"put": {"summary": "Change language, presentation order and texts", "parameters": [study_param],
                        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Settings"}}}},
                        "responses": {"204": {"description": "saved"}, "422": err}}},
                    "/studies/{study}/segments/{key}": {"get": {"summary": "A segment with its markers, media window and transcript turns (same shape as the PUT body)", "parameters": [study_param, key_param], "responses": {"200": ok(json!({"type": "object"})), "404": err}},
                        "put": {"summary": "Create or replace a segment (metadata, 3RS markers, media window, transcript turns)", "parameters": [study_param, key_param],
                        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["patient"], "properties": {
                            "label": {"type": "string"}, "patient": {"type": "string"}, "session": {"type": ["integer", "null"]},
                            "rupture": {"enum": ["withdrawal", "confrontation", "both", "unspecified", ""]},
                            "markers": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "salience": {"type": ["integer", "null"], "minimum": 1, "maximum": 5}}}},
                            "media": {"type": ["object", "null"], "properties": {"reference": {"type": "string"}, "start_ms": {"type": ["integer", "null"]}, "end_ms": {"type": ["integer", "null"]}}},
                            "notes": {"type": ["string", "null"]},
                            "turns": {"type": "array", "items": {"type": "object", "required": ["speaker", "text"], "properties": {"speaker": {"type": "string"}, "text": {"type": "string"}, "start_ms": {"type": ["integer", "null"]}, "end_ms": {"type": ["integer", "null"]}}}}}}}}},
                        "responses": {"204": {"description": "saved"}, "422": err}}},
                    "/studies/{study}/questions/{key}": {"put": {"summary": "Create or replace a question (its kind is fixed once it has answers)", "parameters": [study_param, key_param],
                        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["kind", "scope", "prompt"], "properties": {
                            "kind": {"enum": ["open", "likert", "choice"]}, "scope": {"enum": ["segment", "once"]}, "prompt": {"type": "string"},
                            "min": {"type": "integer"}, "max": {"type": "integer"}, "anchors": {"type": "object", "additionalProperties": {"type": "string"}},
                            "choices": {"type": "array", "items": {"type": "string"}}}}}}},
                        "responses": {"204": {"description": "saved"}, "422": err}}},
                    "/studies/{study}/attributes/{key}": {"put": {"summary": "Create or replace a participant attribute (its type is fixed once participants have values)", "parameters": [study_param, key_param],
                        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["type"], "properties": {
                            "label": {"type": "string"}, "type": {"enum": ["category", "integer", "number", "text", "boolean"]},
                            "values": {"type": "array", "items": {"type": "string"}}, "min": {"type": ["number", "null"]}, "max": {"type": ["number", "null"]},
                            "bands": {"type": "array", "items": {"type": "number"}}, "required": {"type": "boolean"}}}}}},
                        "responses": {"204": {"description": "saved"}, "422": err}}},
                    "/studies/{study}/order/{what}": {"put": {"summary": "Reorder segments, questions or attributes", "parameters": [study_param,
                            {"name": "what", "in": "path", "required": true, "schema": {"enum": ["segments", "questions", "attributes"]}}],
                        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array", "items": {"type": "string"}, "description": "every key exactly once"}}}}}},
                        "responses": {"204": {"description": "saved"}, "422": err}}},
                    "/p/{token}": {"get": {"summary": "The participant's own record", "security": [], "parameters": [token_param], "responses": {"200": ok(json!({"type": "object"})), "404": err, "429": err}}},
                    "/p/{token}/answers": {"put": {"summary": "Autosave answers (insert or update each by segment × question), in one transaction: all of them are saved, or none when one is invalid", "security": [], "parameters": [token_param],
                        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["answers"], "properties": {"answers": {"type": "array", "maxItems": 200, "items": {"$ref": "#/components/schemas/Answer"}}}}}}},
                        "responses": {"200": ok(json!({"type": "object", "properties": {"saved": {"type": "integer"}, "saved_at": {"type": "string"}}})), "403": err, "404": err, "409": err, "422": err}}}
                }
            })),
        )),
    ))
}

async fn openapi() -> Json<Value> {
    Json(crate::limits::with_common_errors(openapi_document()))
}
