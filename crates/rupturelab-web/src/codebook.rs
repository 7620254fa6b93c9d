//! The codebook editor: a researcher page (`/studies/{study}/codebook`,
//! driven by `static/codebook.js` through the JSON API) and the API under
//! `/api/v1/studies/{study}/codebook`: the tree of codes with add, edit and
//! rename, keyboard moves, merge, delete with undo, templates, `.qdc` import
//! and export, and the codebook's versions ("as of" any date). Every change
//! goes through one `Store` call that writes the audit event and the
//! version snapshot in the same transaction.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use axum::{Form, Json, Router};
use rupturelab_core::templates::CodebookTemplate;
use rupturelab_core::{Code, Key, StudyData, Timestamp};
use rupturelab_interop::qdc::{self, CodebookOptions};
use rupturelab_store::{CodeEdit, CodeId, CodeMove, NewCode, StoredCode, StudyId, StudyInfo};
use serde_json::{json, Value};
use tower_sessions::Session;

use crate::accounts::{ApiResearcher, Researcher};
use crate::console::{shell, study_by_key, Shell};
use crate::error::{ApiError, Error};
use crate::views::{render, url_encode};
use crate::AppState;

const CODEBOOK_JS: &str = include_str!("../static/codebook.js");
const CODEBOOK_CSS: &str = include_str!("../static/codebook.css");

/// The codebook routes: the console page and forms, and the JSON API
/// (full paths under `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/static/codebook.js", get(script))
        .route("/static/codebook.css", get(style))
        .route("/studies/{study}/codebook", get(page))
        .route("/studies/{study}/codebook.qdc", get(export_page))
        .route("/studies/{study}/codebook/template", post(template_form))
        .route("/studies/{study}/codebook/import", post(import_form))
        .route("/api/v1/studies/{study}/codebook", get(api_codebook))
        .route("/api/v1/studies/{study}/codebook/codes", post(api_add))
        .route(
            "/api/v1/studies/{study}/codebook/codes/{id}",
            put(api_edit).delete(api_delete),
        )
        .route(
            "/api/v1/studies/{study}/codebook/codes/{id}/impact",
            get(api_impact),
        )
        .route(
            "/api/v1/studies/{study}/codebook/codes/{id}/move",
            post(api_move),
        )
        .route(
            "/api/v1/studies/{study}/codebook/codes/{id}/merge",
            post(api_merge),
        )
        .route(
            "/api/v1/studies/{study}/codebook/deletions/{id}/undo",
            post(api_undo),
        )
        .route(
            "/api/v1/studies/{study}/codebook/template",
            post(api_template),
        )
        .route(
            "/api/v1/studies/{study}/codebook/versions",
            get(api_versions),
        )
        .route(
            "/api/v1/studies/{study}/codebook/qdc",
            get(api_export).put(api_import),
        )
}

async fn script() -> Response {
    static_asset(CODEBOOK_JS, "text/javascript; charset=utf-8")
}

async fn style() -> Response {
    static_asset(CODEBOOK_CSS, "text/css; charset=utf-8")
}

fn static_asset(body: &'static str, ctype: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// Parses an "as of" date: RFC 3339, `YYYY-MM-DDTHH:MM[:SS]` (UTC, what a
/// `datetime-local` field sends) or `YYYY-MM-DD` (the end of that day, UTC).
pub(crate) fn parse_as_of(s: &str) -> Result<Timestamp, Error> {
    let s = s.trim();
    let bytes = s.as_bytes();
    let candidate = if s.len() == 10 {
        format!("{s}T23:59:59.999Z")
    } else if s.len() == 16 && bytes.get(10) == Some(&b'T') {
        format!("{s}:59.999Z")
    } else if s.len() == 19 && bytes.get(10) == Some(&b'T') {
        format!("{s}.999Z")
    } else {
        s.to_string()
    };
    Timestamp::parse_rfc3339(&candidate).map_err(|_| {
        Error::Invalid(format!(
            "as_of: `{s}` is not a date; write e.g. 2026-03-01 or 2026-03-01T10:15:00Z"
        ))
    })
}

fn code_json(c: &Code) -> Value {
    json!({
        "path": c.path.as_str(), "key": c.path.leaf(), "name": c.name, "codable": c.codable,
        "definition": c.definition, "inclusion": c.inclusion, "exclusion": c.exclusion,
        "example": c.example, "colour": c.colour,
    })
}

fn stored_json(c: &StoredCode) -> Value {
    let mut v = code_json(&c.code);
    v["id"] = json!(c.id.0);
    v["parent"] = json!(c.parent.map(|p| p.0));
    v["codings"] = json!(c.codings);
    v
}

fn key_field(s: &str) -> Result<Key, Error> {
    Key::parse(s.trim()).map_err(|e| {
        Error::Invalid(format!(
            "key: {e} (a key is the code's short name in its path)"
        ))
    })
}

fn opt(s: Option<String>) -> Option<String> {
    s.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

fn template_of(name: &str) -> Result<(CodebookTemplate, &'static str), Error> {
    match CodebookTemplate::parse(name.trim()) {
        Ok(CodebookTemplate::CauseResolution) => Ok((
            CodebookTemplate::CauseResolution,
            "the cause & resolution template",
        )),
        Ok(CodebookTemplate::ThreeRs) => Ok((CodebookTemplate::ThreeRs, "the 3RS template")),
        _ => Err(Error::Invalid(format!(
            "template: `{name}` is not a template; choose cause-resolution or 3rs"
        ))),
    }
}

/// The study's codebook now, or as of a date.
async fn codes_as_of(
    state: &AppState,
    id: StudyId,
    as_of: Option<&str>,
) -> Result<(Vec<Code>, Option<Timestamp>), Error> {
    match as_of.filter(|s| !s.trim().is_empty()) {
        None => Ok((
            state
                .store
                .codebook(id)
                .await?
                .into_iter()
                .map(|c| c.code)
                .collect(),
            None,
        )),
        Some(s) => {
            let at = parse_as_of(s)?;
            let codes = state.store.codebook_as_of(id, at).await?.ok_or_else(|| {
                Error::Invalid(format!(
                    "as_of: the study did not exist yet on {}",
                    at.to_rfc3339()
                ))
            })?;
            Ok((codes, Some(at)))
        }
    }
}

fn qdc_response(info: &StudyInfo, codes: Vec<Code>) -> Result<Response, Error> {
    let key = Key::parse(&info.key).map_err(|e| Error::Internal(format!("study key {e}")))?;
    let mut data = StudyData::new(key, &info.title);
    data.codes = codes;
    let xml = qdc::export_qdc(&data);
    let file: String = info
        .key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/xml; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}-codebook.qdc\""),
            ),
        ],
        xml,
    )
        .into_response())
}

/// Reads a `.qdc` and replaces the codebook with it (all or nothing).
async fn import_qdc(
    state: &AppState,
    info: &StudyInfo,
    bytes: &[u8],
    label: &str,
    actor: &str,
) -> Result<(usize, Vec<String>), Error> {
    if bytes.is_empty() {
        return Err(Error::Invalid(
            "file: choose a REFI-QDA codebook (.qdc) to import".into(),
        ));
    }
    let imp = qdc::import_qdc(
        bytes,
        &CodebookOptions {
            label: label.to_string(),
            ..Default::default()
        },
    )
    .map_err(|e| Error::Invalid(e.to_string()))?;
    let n = imp.codes.len();
    state
        .store
        .replace_codebook(
            info.id,
            &imp.codes,
            &format!("REFI-QDA codebook {label}"),
            actor,
        )
        .await?;
    tracing::info!(study = %info.key, codes = n, "codebook imported");
    Ok((n, imp.warnings))
}

// ---- the page ----

struct Row {
    id: i64,
    depth: usize,
    key: String,
    path: String,
    name: String,
    codable: bool,
    definition: String,
    inclusion: String,
    exclusion: String,
    example: String,
    colour: String,
    codings: String,
}

struct VersionRow {
    at: String,
    actor: String,
    action: String,
    detail: String,
    codes: usize,
}

#[derive(Template)]
#[template(path = "codebook.html")]
struct CodebookPage {
    title: String,
    s: Shell,
    api: String,
    rows: Vec<Row>,
    as_of: Option<String>,
    as_of_input: String,
    versions: Vec<VersionRow>,
    message: Option<String>,
    error: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct AsOfQuery {
    as_of: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

fn rows_of(codes: &[Code], stored: Option<&[StoredCode]>) -> Vec<Row> {
    codes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let s = stored.and_then(|s| s.get(i));
            let f = |o: &Option<String>| o.clone().unwrap_or_default();
            Row {
                id: s.map(|s| s.id.0).unwrap_or(0),
                depth: c.path.depth().min(6),
                key: c.path.leaf().to_string(),
                path: c.path.to_string(),
                name: c.name.clone(),
                codable: c.codable,
                definition: f(&c.definition),
                inclusion: f(&c.inclusion),
                exclusion: f(&c.exclusion),
                example: f(&c.example),
                colour: f(&c.colour),
                codings: s.map(|s| s.codings.to_string()).unwrap_or_default(),
            }
        })
        .collect()
}

async fn render_page(
    state: &AppState,
    user: &rupturelab_store::User,
    session: &Session,
    info: &StudyInfo,
    q: &AsOfQuery,
    error: Option<String>,
) -> Result<Response, Error> {
    let (rows, as_of) = match q.as_of.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(_) => {
            let (codes, at) = codes_as_of(state, info.id, q.as_of.as_deref()).await?;
            (rows_of(&codes, None), at)
        }
        None => {
            let stored = state.store.codebook(info.id).await?;
            let codes: Vec<Code> = stored.iter().map(|c| c.code.clone()).collect();
            (rows_of(&codes, Some(&stored)), None)
        }
    };
    let versions = state
        .store
        .codebook_versions(info.id)
        .await?
        .into_iter()
        .rev()
        .take(50)
        .map(|v| VersionRow {
            at: v.at.to_rfc3339(),
            actor: v.actor,
            action: v.action.trim_start_matches("codebook.").to_string(),
            detail: v.detail,
            codes: v.codes,
        })
        .collect();
    let page = CodebookPage {
        title: format!("Codebook — {}", info.title),
        api: format!("/api/v1/studies/{}/codebook", url_encode(&info.key)),
        rows,
        as_of_input: q.as_of.clone().unwrap_or_default(),
        as_of: as_of.map(|t| t.to_rfc3339()),
        versions,
        message: q.message.clone().filter(|m| m.len() < 300),
        error,
        s: shell(session, user, Some(info)).await?,
    };
    Ok(render(&page)?.into_response())
}

async fn page(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path(study): Path<String>,
    Query(q): Query<AsOfQuery>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    match render_page(&state, &user, &session, &info, &q, None).await {
        Err(Error::Invalid(m)) => {
            let q = AsOfQuery::default();
            let r = render_page(&state, &user, &session, &info, &q, Some(m)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, r).into_response())
        }
        other => other,
    }
}

fn back(study: &str, message: &str) -> Response {
    Redirect::to(&format!(
        "/studies/{}/codebook?message={}",
        url_encode(study),
        url_encode(message)
    ))
    .into_response()
}

async fn export_page(
    State(state): State<AppState>,
    Researcher(_user): Researcher,
    Path(study): Path<String>,
    Query(q): Query<AsOfQuery>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let (codes, _) = codes_as_of(&state, info.id, q.as_of.as_deref()).await?;
    qdc_response(&info, codes)
}

#[derive(serde::Deserialize)]
struct TemplateForm {
    template: String,
}

async fn template_form(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path(study): Path<String>,
    Form(f): Form<TemplateForm>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let result = match template_of(&f.template) {
        Ok((t, label)) => state
            .store
            .replace_codebook(info.id, &t.codes(), label, &user.username)
            .await
            .map(|_| label)
            .map_err(Error::from),
        Err(e) => Err(e),
    };
    match result {
        Ok(label) => Ok(back(&study, &format!("The codebook now holds {label}."))),
        Err(Error::Invalid(m)) => {
            let r = render_page(
                &state,
                &user,
                &session,
                &info,
                &AsOfQuery::default(),
                Some(m),
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, r).into_response())
        }
        Err(e) => Err(e),
    }
}

async fn import_form(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path(study): Path<String>,
    mut multipart: axum::extract::Multipart,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let mut file = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| Error::BadRequest(format!("the upload is malformed: {e}")))?
    {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("codebook.qdc").to_string();
            let bytes = field
                .bytes()
                .await
                .map_err(|e| Error::BadRequest(format!("the upload is malformed: {e}")))?;
            file = Some((name, bytes));
        }
    }
    let (name, bytes) = file.unwrap_or_default();
    match import_qdc(&state, &info, &bytes, &name, &user.username).await {
        Ok((n, warnings)) => {
            let mut m = format!("Imported {n} codes from {name}.");
            if !warnings.is_empty() {
                m.push_str(&format!(
                    " {} warning(s): {}",
                    warnings.len(),
                    warnings.join("; ")
                ));
            }
            let m: String = m.chars().take(290).collect();
            Ok(back(&study, &m))
        }
        Err(Error::Invalid(m)) => {
            let r = render_page(
                &state,
                &user,
                &session,
                &info,
                &AsOfQuery::default(),
                Some(m),
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, r).into_response())
        }
        Err(e) => Err(e),
    }
}

// ---- the API ----

type ApiResult = Result<Response, ApiError>;

async fn api_codebook(
    State(state): State<AppState>,
    ApiResearcher(_u): ApiResearcher,
    Path(study): Path<String>,
    Query(q): Query<AsOfQuery>,
) -> ApiResult {
    let info = study_by_key(&state, &study).await?;
    if q.as_of.as_deref().is_some_and(|s| !s.trim().is_empty()) {
        let (codes, at) = codes_as_of(&state, info.id, q.as_of.as_deref()).await?;
        return Ok(Json(json!({
            "as_of": at.map(|t| t.to_rfc3339()),
            "codes": codes.iter().map(code_json).collect::<Vec<_>>(),
        }))
        .into_response());
    }
    let codes = state.store.codebook(info.id).await?;
    Ok(Json(json!({
        "as_of": null,
        "codes": codes.iter().map(stored_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

#[derive(serde::Deserialize)]
struct AddIn {
    parent: Option<i64>,
    key: String,
    #[serde(default)]
    name: String,
    #[serde(default = "yes")]
    codable: bool,
}

fn yes() -> bool {
    true
}

async fn api_add(
    State(state): State<AppState>,
    ApiResearcher(u): ApiResearcher,
    Path(study): Path<String>,
    Json(b): Json<AddIn>,
) -> ApiResult {
    let info = study_by_key(&state, &study).await?;
    let new = NewCode {
        parent: b.parent.map(CodeId),
        key: key_field(&b.key)?,
        name: b.name,
        codable: b.codable,
    };
    let c = state.store.add_code(info.id, &new, &u.username).await?;
    Ok((StatusCode::CREATED, Json(stored_json(&c))).into_response())
}

#[derive(serde::Deserialize)]
struct EditIn {
    key: String,
    #[serde(default)]
    name: String,
    codable: bool,
    definition: Option<String>,
    inclusion: Option<String>,
    exclusion: Option<String>,
    example: Option<String>,
    colour: Option<String>,
}

async fn api_edit(
    State(state): State<AppState>,
    ApiResearcher(u): ApiResearcher,
    Path((study, id)): Path<(String, i64)>,
    Json(b): Json<EditIn>,
) -> ApiResult {
    let info = study_by_key(&state, &study).await?;
    let edit = CodeEdit {
        key: key_field(&b.key)?,
        name: b.name,
        codable: b.codable,
        definition: opt(b.definition),
        inclusion: opt(b.inclusion),
        exclusion: opt(b.exclusion),
        example: opt(b.example),
        colour: opt(b.colour),
    };
    let c = state
        .store
        .edit_code(info.id, CodeId(id), &edit, &u.username)
        .await?;
    Ok(Json(stored_json(&c)).into_response())
}

#[derive(serde::Deserialize)]
struct MoveIn {
    direction: Option<String>,
    parent: Option<i64>,
    position: Option<usize>,
}

async fn api_move(
    State(state): State<AppState>,
    ApiResearcher(u): ApiResearcher,
    Path((study, id)): Path<(String, i64)>,
    Json(b): Json<MoveIn>,
) -> ApiResult {
    let info = study_by_key(&state, &study).await?;
    let to = match (b.direction.as_deref(), b.position) {
        (Some("up"), _) => CodeMove::Up,
        (Some("down"), _) => CodeMove::Down,
        (Some("indent"), _) => CodeMove::Indent,
        (Some("outdent"), _) => CodeMove::Outdent,
        (Some(o), _) => {
            return Err(Error::Invalid(format!(
                "direction: `{o}` is not up, down, indent or outdent"
            ))
            .into())
        }
        (None, Some(position)) => CodeMove::To {
            parent: b.parent.map(CodeId),
            position,
        },
        (None, None) => {
            return Err(Error::Invalid(
                "give a direction (up, down, indent, outdent) or a parent and a position".into(),
            )
            .into())
        }
    };
    state
        .store
        .move_code(info.id, CodeId(id), to, &u.username)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(serde::Deserialize)]
struct MergeIn {
    into: i64,
}

async fn api_merge(
    State(state): State<AppState>,
    ApiResearcher(u): ApiResearcher,
    Path((study, id)): Path<(String, i64)>,
    Json(b): Json<MergeIn>,
) -> ApiResult {
    let info = study_by_key(&state, &study).await?;
    let out = state
        .store
        .merge_codes(info.id, CodeId(id), CodeId(b.into), &u.username)
        .await?;
    Ok(Json(json!({"moved": out.moved, "collapsed": out.collapsed})).into_response())
}

async fn api_impact(
    State(state): State<AppState>,
    ApiResearcher(_u): ApiResearcher,
    Path((study, id)): Path<(String, i64)>,
) -> ApiResult {
    let info = study_by_key(&state, &study).await?;
    let i = state.store.delete_impact(info.id, CodeId(id)).await?;
    Ok(Json(json!({"codes": i.codes, "codings": i.codings, "memos": i.memos})).into_response())
}

async fn api_delete(
    State(state): State<AppState>,
    ApiResearcher(u): ApiResearcher,
    Path((study, id)): Path<(String, i64)>,
) -> ApiResult {
    let info = study_by_key(&state, &study).await?;
    let d = state
        .store
        .delete_code(info.id, CodeId(id), &u.username)
        .await?;
    Ok(Json(json!({
        "deletion": d.id, "path": d.path.as_str(),
        "codes": d.impact.codes, "codings": d.impact.codings, "memos": d.impact.memos,
    }))
    .into_response())
}

async fn api_undo(
    State(state): State<AppState>,
    ApiResearcher(u): ApiResearcher,
    Path((study, id)): Path<(String, i64)>,
) -> ApiResult {
    let info = study_by_key(&state, &study).await?;
    let path = state
        .store
        .undo_delete_code(info.id, id, &u.username)
        .await?;
    Ok(Json(json!({"path": path.as_str()})).into_response())
}

#[derive(serde::Deserialize)]
struct TemplateIn {
    template: String,
}

async fn api_template(
    State(state): State<AppState>,
    ApiResearcher(u): ApiResearcher,
    Path(study): Path<String>,
    Json(b): Json<TemplateIn>,
) -> ApiResult {
    let info = study_by_key(&state, &study).await?;
    let (t, label) = template_of(&b.template)?;
    state
        .store
        .replace_codebook(info.id, &t.codes(), label, &u.username)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn api_versions(
    State(state): State<AppState>,
    ApiResearcher(_u): ApiResearcher,
    Path(study): Path<String>,
) -> ApiResult {
    let info = study_by_key(&state, &study).await?;
    let list: Vec<Value> = state
        .store
        .codebook_versions(info.id)
        .await?
        .into_iter()
        .map(|v| {
            json!({"id": v.id, "at": v.at.to_rfc3339(), "actor": v.actor, "action": v.action,
                   "detail": v.detail, "codes": v.codes})
        })
        .collect();
    Ok(Json(list).into_response())
}

async fn api_export(
    State(state): State<AppState>,
    ApiResearcher(_u): ApiResearcher,
    Path(study): Path<String>,
    Query(q): Query<AsOfQuery>,
) -> ApiResult {
    let info = study_by_key(&state, &study).await?;
    let (codes, _) = codes_as_of(&state, info.id, q.as_of.as_deref()).await?;
    Ok(qdc_response(&info, codes)?)
}

async fn api_import(
    State(state): State<AppState>,
    ApiResearcher(u): ApiResearcher,
    Path(study): Path<String>,
    body: Bytes,
) -> ApiResult {
    let info = study_by_key(&state, &study).await?;
    let (n, warnings) = import_qdc(&state, &info, &body, "codebook.qdc", &u.username).await?;
    Ok(Json(json!({"codes": n, "warnings": warnings})).into_response())
}

/// Adds the codebook paths to the API's OpenAPI document.
pub fn with_openapi(mut doc: Value) -> Value {
    let err = json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let study = json!({"name": "study", "in": "path", "required": true, "schema": {"type": "string"}, "description": "study key"});
    let id = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}, "description": "the code's id (from GET codebook)"});
    let as_of = json!({"name": "as_of", "in": "query", "schema": {"type": "string"}, "description": "a date (2026-03-01, the end of that day UTC) or an RFC 3339 time: the codebook as it was then"});
    let ok = |schema: Value| json!({"description": "OK", "content": {"application/json": {"schema": schema}}});
    let body = |schema: Value| json!({"required": true, "content": {"application/json": {"schema": schema}}});
    let code_schema = json!({"type": "object", "properties": {
        "id": {"type": "integer"}, "parent": {"type": ["integer", "null"]}, "path": {"type": "string"},
        "key": {"type": "string"}, "name": {"type": "string"}, "codable": {"type": "boolean"},
        "definition": {"type": ["string", "null"]}, "inclusion": {"type": ["string", "null"]},
        "exclusion": {"type": ["string", "null"]}, "example": {"type": ["string", "null"]},
        "colour": {"type": ["string", "null"], "pattern": "^#[0-9A-Fa-f]{6}$"}, "codings": {"type": "integer"}}});
    let paths = json!({
        "/studies/{study}/codebook": {"get": {"summary": "The codebook in tree order (parents first), each code with its id, parent and number of codings; with as_of, the codebook as it was then (no ids)",
            "parameters": [study, as_of], "responses": {"200": ok(json!({"type": "object", "properties": {"as_of": {"type": ["string", "null"]}, "codes": {"type": "array", "items": code_schema}}})), "404": err, "422": err}}},
        "/studies/{study}/codebook/codes": {"post": {"summary": "Add a code as the last child of parent (null: a new top-level category)", "parameters": [study],
            "requestBody": body(json!({"type": "object", "required": ["key"], "properties": {"parent": {"type": ["integer", "null"]}, "key": {"type": "string"}, "name": {"type": "string"}, "codable": {"type": "boolean", "default": true}}})),
            "responses": {"201": ok(code_schema.clone()), "422": err}}},
        "/studies/{study}/codebook/codes/{id}": {
            "put": {"summary": "Edit a code; a new key renames it and every path below it", "parameters": [study, id],
                "requestBody": body(json!({"type": "object", "required": ["key", "codable"], "properties": {"key": {"type": "string"}, "name": {"type": "string"}, "codable": {"type": "boolean"},
                    "definition": {"type": ["string", "null"]}, "inclusion": {"type": ["string", "null"]}, "exclusion": {"type": ["string", "null"]}, "example": {"type": ["string", "null"]}, "colour": {"type": ["string", "null"]}}})),
                "responses": {"200": ok(code_schema.clone()), "422": err}},
            "delete": {"summary": "Delete a code, the codes below it and their codings and memos; undo with the returned deletion id", "parameters": [study, id],
                "responses": {"200": ok(json!({"type": "object", "properties": {"deletion": {"type": "integer"}, "path": {"type": "string"}, "codes": {"type": "integer"}, "codings": {"type": "integer"}, "memos": {"type": "integer"}}})), "422": err}}},
        "/studies/{study}/codebook/codes/{id}/impact": {"get": {"summary": "What deleting the code would remove", "parameters": [study, id],
            "responses": {"200": ok(json!({"type": "object", "properties": {"codes": {"type": "integer"}, "codings": {"type": "integer"}, "memos": {"type": "integer"}}})), "422": err}}},
        "/studies/{study}/codebook/codes/{id}/move": {"post": {"summary": "Move a code with everything below it: a direction, or a new parent and position", "parameters": [study, id],
            "requestBody": body(json!({"type": "object", "properties": {"direction": {"enum": ["up", "down", "indent", "outdent"]}, "parent": {"type": ["integer", "null"]}, "position": {"type": "integer", "minimum": 0}}})),
            "responses": {"204": {"description": "moved"}, "422": err}}},
        "/studies/{study}/codebook/codes/{id}/merge": {"post": {"summary": "Merge this code into another: codings, memos and sub-codes move; duplicate codings collapse", "parameters": [study, id],
            "requestBody": body(json!({"type": "object", "required": ["into"], "properties": {"into": {"type": "integer"}}})),
            "responses": {"200": ok(json!({"type": "object", "properties": {"moved": {"type": "integer"}, "collapsed": {"type": "integer"}}})), "422": err}}},
        "/studies/{study}/codebook/deletions/{id}/undo": {"post": {"summary": "Undo a deletion: the codes return to their place with their codings and memos",
            "parameters": [study, {"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}, "description": "the deletion id"}],
            "responses": {"200": ok(json!({"type": "object", "properties": {"path": {"type": "string"}}})), "422": err}}},
        "/studies/{study}/codebook/template": {"post": {"summary": "Replace the codebook with a built-in template (refused if codings use codes it lacks)", "parameters": [study],
            "requestBody": body(json!({"type": "object", "required": ["template"], "properties": {"template": {"enum": ["cause-resolution", "3rs"]}}})),
            "responses": {"204": {"description": "replaced"}, "422": err}}},
        "/studies/{study}/codebook/versions": {"get": {"summary": "The codebook's versions, oldest first (one per change)", "parameters": [study],
            "responses": {"200": ok(json!({"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"}, "at": {"type": "string"}, "actor": {"type": "string"}, "action": {"type": "string"}, "detail": {"type": "string"}, "codes": {"type": "integer"}}}})), "404": err}}},
        "/studies/{study}/codebook/qdc": {
            "get": {"summary": "The codebook (or, with as_of, a past version) as a REFI-QDA codebook (.qdc)", "parameters": [study, as_of],
                "responses": {"200": {"description": "the .qdc XML", "content": {"application/xml": {}}}, "422": err}},
            "put": {"summary": "Replace the codebook with a REFI-QDA codebook (the .qdc XML as the body); all or nothing", "parameters": [study],
                "requestBody": {"required": true, "content": {"application/xml": {"schema": {"type": "string"}}}},
                "responses": {"200": ok(json!({"type": "object", "properties": {"codes": {"type": "integer"}, "warnings": {"type": "array", "items": {"type": "string"}}}})), "422": err}}}
    });
    if let (Some(target), Some(add)) = (doc["paths"].as_object_mut(), paths.as_object()) {
        for (k, v) in add {
            target.insert(k.clone(), v.clone());
        }
    }
    doc
}
