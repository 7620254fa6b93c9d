//! Suggestions in the coding screen: codes proposed for the current response
//! by a model trained on the study's consensus codings
//! ([`rupturelab_core::suggest::Suggester`]).
//!
//! * `GET  /api/v1/studies/{study}/coding/responses/{id}/suggestions` — the
//!   proposals for the calling coder: codes they already applied (or a
//!   sub-code of) and suggestions they rejected are left out.
//! * `POST …/suggestions/accept` `{code}` — a normal coding of the whole
//!   response by the caller, through the coding store path (undo step,
//!   `coding.add` audit event noting `from suggestion, confidence 0.83`).
//! * `POST …/suggestions/reject` `{code}` — remembered per coder × response
//!   × code, so it stays hidden on reload.
//! * `GET`/`PUT /api/v1/studies/{study}/coding/suggestions` — the
//!   researcher's switch (`auto`, `on`, `off`) and how many suggestions each
//!   coder accepted; the same switch as a form on `/coding/{study}/setup`.
//!
//! The switch: a researcher's explicit `on`/`off` wins; `auto` (the
//! default) means on unless the study is blind, so blind double coding for
//! reliability keeps suggestions off unless a researcher turns them on.
//!
//! Who may call: the researcher, or a coder assigned the response (every
//! response, unless their share assignment leaves it out). State changes
//! need the session's CSRF token like every coding call (the global guard).
//!
//! The model is trained off the async runtime (`spawn_blocking`) and kept
//! in this process's memory per study, keyed by the store's fingerprint of
//! the consensus codings, codebook paths and open answers: when consensus
//! changes, the next request retrains. Several server processes each keep
//! their own cache; nothing depends on them agreeing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use rupturelab_core::suggest::{SuggestOptions, Suggester, Suggestion};
use rupturelab_core::CodePath;
use rupturelab_store::{
    CodingTarget, NewCoding, ResponseId, StudyId, StudyInfo, SuggestionSetting, SuggestionUse,
};
use serde_json::{json, Value};

use crate::accounts::Researcher;
use crate::coding_api::{coding_json, ApiUser, Coder};
use crate::console::study_by_key;
use crate::error::{ApiError, Error};
use crate::views::url_encode;
use crate::AppState;

/// The suggestion routes (full paths, merged at the top level).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/studies/{study}/coding/responses/{id}/suggestions",
            get(suggestions),
        )
        .route(
            "/api/v1/studies/{study}/coding/responses/{id}/suggestions/accept",
            post(accept),
        )
        .route(
            "/api/v1/studies/{study}/coding/responses/{id}/suggestions/reject",
            post(reject),
        )
        .route(
            "/api/v1/studies/{study}/coding/suggestions",
            get(settings).put(set_settings),
        )
        .route("/coding/{study}/setup/suggestions", post(set_settings_form))
}

/// A trained model and what it was trained on.
pub(crate) struct Trained {
    fingerprint: String,
    suggester: Suggester,
    /// How long training took, in milliseconds.
    pub trained_ms: f64,
}

/// Each study's model, kept in this process's memory.
#[derive(Default)]
pub(crate) struct SuggestCache {
    models: Mutex<HashMap<StudyId, Arc<Trained>>>,
    /// One training at a time (two requests after a consensus change would
    /// otherwise both train the same model).
    training: tokio::sync::Mutex<()>,
}

impl SuggestCache {
    fn get(&self, id: StudyId, fingerprint: &str) -> Option<Arc<Trained>> {
        let models = self.models.lock().unwrap_or_else(|p| p.into_inner());
        models
            .get(&id)
            .filter(|t| t.fingerprint == fingerprint)
            .cloned()
    }
}

/// The study's model, trained now if the consensus changed since it was cached.
pub(crate) async fn model(state: &AppState, id: StudyId) -> Result<Arc<Trained>, Error> {
    let cache = &state.suggest;
    let fingerprint = state.store.consensus_fingerprint(id).await?;
    if let Some(t) = cache.get(id, &fingerprint) {
        return Ok(t);
    }
    let _one = cache.training.lock().await;
    if let Some(t) = cache.get(id, &fingerprint) {
        return Ok(t);
    }
    let study = state.store.load_study(id).await?;
    let trained = tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let suggester = Suggester::train(&study, &SuggestOptions::default());
        Trained {
            fingerprint,
            suggester,
            trained_ms: start.elapsed().as_secs_f64() * 1000.0,
        }
    })
    .await
    .map_err(|e| Error::Internal(format!("training the suggestion model: {e}")))?;
    tracing::info!(
        study = id.0,
        codes = trained.suggester.codes().len(),
        ms = trained.trained_ms,
        "trained the suggestion model"
    );
    let trained = Arc::new(trained);
    cache
        .models
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id, trained.clone());
    Ok(trained)
}

/// The response, and whether the caller may see its suggestions.
async fn authorised(
    state: &AppState,
    info: &StudyInfo,
    c: &Coder,
    id: i64,
) -> Result<CodingTarget, Error> {
    let t = state
        .store
        .coding_target(info.id, ResponseId(id))
        .await?
        .ok_or_else(|| {
            Error::NotFoundMsg(format!(
                "response: the study has no open answer with id {id}"
            ))
        })?;
    if !c.researcher && !state.store.assigned_to(info.id, &c.key, t.id).await? {
        return Err(Error::Forbidden(
            "this response is not among those assigned to you; only its coders and the researcher see its suggestions".into(),
        ));
    }
    Ok(t)
}

/// The suggestions the caller has not yet applied or rejected.
async fn open_suggestions(
    state: &AppState,
    info: &StudyInfo,
    c: &Coder,
    t: &CodingTarget,
) -> Result<Vec<Suggestion>, Error> {
    let trained = model(state, info.id).await?;
    let applied: Vec<CodePath> = state
        .store
        .response_codings(info.id, t.id)
        .await?
        .into_iter()
        .filter(|x| x.coder == c.key)
        .map(|x| x.code)
        .collect();
    let rejected = state
        .store
        .rejected_suggestions(info.id, &c.key, t.id)
        .await?;
    let codable: Vec<CodePath> = state
        .store
        .coding_codebook(info.id)
        .await?
        .into_iter()
        .filter(|k| k.codable)
        .map(|k| k.path)
        .collect();
    let covered = |s: &Suggestion| {
        let below = format!("{}/", s.code.as_str());
        applied
            .iter()
            .any(|a| *a == s.code || a.as_str().starts_with(&below))
    };
    Ok(trained
        .suggester
        .suggest(&t.key.question, &t.text)
        .into_iter()
        .filter(|s| codable.contains(&s.code))
        .filter(|s| !covered(s) && !rejected.contains(&s.code))
        .collect())
}

fn setting_json(s: &SuggestionSetting) -> Value {
    json!({"enabled": s.enabled(), "mode": s.mode(), "blind": s.blind})
}

async fn suggestions(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path((study, id)): Path<(String, i64)>,
) -> Result<Response, ApiError> {
    let c = Coder::of(user)?;
    let info = study_by_key(&state, &study).await?;
    let t = authorised(&state, &info, &c, id).await?;
    let setting = state.store.suggestion_setting(info.id).await?;
    let mut body = setting_json(&setting);
    body["response"] = json!(t.id.0);
    body["suggestions"] = if setting.enabled() {
        json!(open_suggestions(&state, &info, &c, &t)
            .await?
            .iter()
            .map(|s| json!({
                "code": s.code.as_str(),
                "name": s.name,
                "confidence": s.confidence,
                "percent": (s.confidence * 100.0).round() as i64,
            }))
            .collect::<Vec<_>>())
    } else {
        json!([])
    };
    Ok(Json(body).into_response())
}

#[derive(Debug, serde::Deserialize)]
struct DecisionIn {
    code: String,
}

/// The suggestion the caller decides on (refused when switched off or not suggested).
async fn decided(
    state: &AppState,
    info: &StudyInfo,
    c: &Coder,
    t: &CodingTarget,
    code: &str,
) -> Result<Suggestion, Error> {
    if !state.store.suggestion_setting(info.id).await?.enabled() {
        return Err(Error::Forbidden(
            "suggestions are switched off for this study; a researcher can switch them on in the coding setup".into(),
        ));
    }
    let code = CodePath::parse(code).map_err(|e| Error::Invalid(format!("code: {e}")))?;
    open_suggestions(state, info, c, t)
        .await?
        .into_iter()
        .find(|s| s.code == code)
        .ok_or_else(|| {
            Error::Conflict(format!(
                "code: `{code}` is not (or no longer) suggested to you for this response; reload the suggestions"
            ))
        })
}

async fn accept(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path((study, id)): Path<(String, i64)>,
    Json(b): Json<DecisionIn>,
) -> Result<Response, ApiError> {
    let c = Coder::of(user)?;
    let info = study_by_key(&state, &study).await?;
    let t = authorised(&state, &info, &c, id).await?;
    let s = decided(&state, &info, &c, &t, &b.code).await?;
    let new = NewCoding {
        coder: c.key.clone(),
        response: t.id,
        code: s.code,
        span: None,
        memo: None,
    };
    let row = state
        .store
        .accept_suggestion(info.id, &new, s.confidence, &c.user.username)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(coding_json(&row, &t.text, &c.key)),
    )
        .into_response())
}

async fn reject(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path((study, id)): Path<(String, i64)>,
    Json(b): Json<DecisionIn>,
) -> Result<Response, ApiError> {
    let c = Coder::of(user)?;
    let info = study_by_key(&state, &study).await?;
    let t = authorised(&state, &info, &c, id).await?;
    let s = decided(&state, &info, &c, &t, &b.code).await?;
    state
        .store
        .reject_suggestion(
            info.id,
            &c.key,
            t.id,
            &s.code,
            s.confidence,
            &c.user.username,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn uses_json(used: &[SuggestionUse]) -> Value {
    json!(used
        .iter()
        .map(|u| json!({"coder": u.coder.as_str(), "accepted": u.accepted, "rejected": u.rejected, "used": u.accepted > 0}))
        .collect::<Vec<_>>())
}

async fn settings(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(study): Path<String>,
) -> Result<Response, ApiError> {
    let c = Coder::of(user)?;
    researcher_only(&c)?;
    let info = study_by_key(&state, &study).await?;
    let setting = state.store.suggestion_setting(info.id).await?;
    let mut body = setting_json(&setting);
    body["coders"] = uses_json(&state.store.suggestions_used(info.id).await?);
    Ok(Json(body).into_response())
}

fn researcher_only(c: &Coder) -> Result<(), Error> {
    if c.researcher {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only a researcher can see and change the suggestion setting".into(),
        ))
    }
}

fn parse_mode(mode: &str) -> Result<Option<bool>, Error> {
    match mode.trim() {
        "auto" => Ok(None),
        "on" => Ok(Some(true)),
        "off" => Ok(Some(false)),
        o => Err(Error::Invalid(format!(
            "mode: `{o}` is not a suggestion setting; use auto (on unless the study is blind), on or off"
        ))),
    }
}

#[derive(Debug, serde::Deserialize)]
struct ModeIn {
    mode: String,
}

async fn set_settings(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(study): Path<String>,
    Json(b): Json<ModeIn>,
) -> Result<Response, ApiError> {
    let c = Coder::of(user)?;
    researcher_only(&c)?;
    let info = study_by_key(&state, &study).await?;
    let explicit = parse_mode(&b.mode)?;
    state
        .store
        .set_suggestion_setting(info.id, explicit, &c.user.username)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn set_settings_form(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    Path(study): Path<String>,
    Form(f): Form<ModeIn>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let explicit = parse_mode(&f.mode)?;
    state
        .store
        .set_suggestion_setting(info.id, explicit, &user.username)
        .await?;
    let s = state.store.suggestion_setting(info.id).await?;
    let msg = format!(
        "Suggestions are {} now.",
        if s.enabled() { "on" } else { "off" }
    );
    Ok(Redirect::to(&format!(
        "/coding/{}/setup?done={}",
        url_encode(&info.key),
        url_encode(&msg)
    ))
    .into_response())
}

/// What the coding setup page shows about suggestions.
pub(crate) struct SetupView {
    /// `auto`, `on` or `off`.
    pub mode: &'static str,
    /// Whether they are shown now.
    pub enabled: bool,
    /// Per coder: name, accepted, rejected.
    pub used: Vec<(String, i64, i64)>,
}

/// The setup page's suggestion section.
pub(crate) async fn setup_view(state: &AppState, id: StudyId) -> Result<SetupView, Error> {
    let s = state.store.suggestion_setting(id).await?;
    Ok(SetupView {
        mode: s.mode(),
        enabled: s.enabled(),
        used: state
            .store
            .suggestions_used(id)
            .await?
            .into_iter()
            .map(|u| (u.coder.to_string(), u.accepted, u.rejected))
            .collect(),
    })
}

/// Adds the suggestion paths to the OpenAPI document (called by `api::openapi_document`).
pub fn with_paths(mut doc: Value) -> Value {
    if let (Some(paths), Value::Object(mine)) = (doc["paths"].as_object_mut(), openapi_paths()) {
        paths.extend(mine);
    }
    doc
}

fn openapi_paths() -> Value {
    let err = json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let ok = |schema: Value| json!({"description": "OK", "content": {"application/json": {"schema": schema}}});
    let study = json!({"name": "study", "in": "path", "required": true, "schema": {"type": "string"}, "description": "study key"});
    let id = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}, "description": "response id (from the queue)"});
    let setting = json!({
        "enabled": {"type": "boolean", "description": "whether suggestions are shown"},
        "mode": {"enum": ["auto", "on", "off"], "description": "auto = on unless the study is blind"},
        "blind": {"type": "boolean"}});
    let mut list = setting.clone();
    list["response"] = json!({"type": "integer"});
    list["suggestions"] = json!({"type": "array", "items": {"type": "object", "properties": {
        "code": {"type": "string"}, "name": {"type": "string"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1}, "percent": {"type": "integer"}}}});
    let mut used = setting;
    used["coders"] = json!({"type": "array", "items": {"type": "object", "properties": {
        "coder": {"type": "string"}, "accepted": {"type": "integer"}, "rejected": {"type": "integer"}, "used": {"type": "boolean"}}}});
    let decision = json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["code"], "properties": {"code": {"type": "string", "description": "a suggested code's path"}}}}}});
    json!({
        "/studies/{study}/coding/responses/{id}/suggestions": {"get": {"summary": "Codes the study's model (trained on the consensus codings) suggests for this response, most confident first, leaving out codes you applied and suggestions you rejected; empty when suggestions are off. For the response's coders and researchers.",
            "parameters": [study, id], "responses": {"200": ok(json!({"type": "object", "properties": list})), "401": err, "403": err, "404": err}}},
        "/studies/{study}/coding/responses/{id}/suggestions/accept": {"post": {"summary": "Accept a suggestion: a coding of the whole response by you, audited as coding.add `from suggestion (confidence …)`",
            "parameters": [study, id], "requestBody": decision.clone(),
            "responses": {"201": ok(json!({"type": "object", "description": "the new coding, as in the coding calls"})), "401": err, "403": err, "404": err, "409": err, "422": err}}},
        "/studies/{study}/coding/responses/{id}/suggestions/reject": {"post": {"summary": "Reject a suggestion: it is not shown to you on this response again",
            "parameters": [study, id], "requestBody": decision,
            "responses": {"204": {"description": "remembered"}, "401": err, "403": err, "404": err, "409": err, "422": err}}},
        "/studies/{study}/coding/suggestions": {
            "get": {"summary": "The suggestion setting and, per coder, how many suggestions they accepted and rejected (researchers)",
                "parameters": [study], "responses": {"200": ok(json!({"type": "object", "properties": used})), "403": err}},
            "put": {"summary": "Switch suggestions: auto (on unless the study is blind), on or off (researchers; audited as settings.suggestions)",
                "parameters": [study],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["mode"], "properties": {"mode": {"enum": ["auto", "on", "off"]}}}}}},
                "responses": {"204": {"description": "saved"}, "403": err, "422": err}}}
    })
}
