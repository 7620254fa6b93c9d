//! The coding JSON API under `/api/v1/studies/{study}/coding/…`: the queue,
//! one response with its question, transcript, numbered codebook and the
//! codings this user may see, creating/changing/removing codings (each edit
//! names the version it saw; a stale one is a 409), memos, undo/redo of the
//! caller's own steps, and the researcher's blind mode and assignments.
//!
//! Callers: any signed-in account (coder or researcher) by session cookie
//! (state changes need `X-CSRF-Token`) or bearer API token. A user codes as
//! the study's coder named like their user name. In blind mode a coder sees
//! only their own codings and memos — enforced here, not only in the page.
//!
//! Offsets: the browser counts UTF-16 code units, the store keeps Unicode
//! code points. Requests give `start16`/`end16` (UTF-16) or `start`/`end`
//! (code points); responses carry both. See [`offsets`].

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use rupturelab_core::{CodePath, Key, Span, CONSENSUS};
use rupturelab_store::{
    Assignment, CodingChange, CodingId, MemoOn, NewCoding, QueueFilter, QueueItem, ResponseId,
    Role, StoredCoding, StudyInfo, User,
};
use serde_json::{json, Value};

use crate::accounts::{token_hash, AuthSession};
use crate::console::study_by_key;
use crate::error::{ApiError, Error};
use crate::AppState;

/// Conversions between the browser's UTF-16 offsets and stored code points.
pub mod offsets {
    /// The UTF-16 offset of code point offset `cp` in `text` (clamped to the end).
    pub fn cp_to_utf16(text: &str, cp: usize) -> usize {
        text.chars().take(cp).map(char::len_utf16).sum()
    }

    /// The code point offset of UTF-16 offset `u16` in `text`; an error when
    /// it lies inside a surrogate pair (half an emoji) or past the end.
    pub fn utf16_to_cp(text: &str, u16: usize) -> Result<usize, String> {
        let mut units = 0;
        for (i, c) in text.chars().enumerate() {
            if units == u16 {
                return Ok(i);
            }
            units += c.len_utf16();
            if units > u16 {
                return Err(format!(
                    "UTF-16 offset {u16} falls inside a character (half of a surrogate pair)"
                ));
            }
        }
        if units == u16 {
            Ok(text.chars().count())
        } else {
            Err(format!(
                "UTF-16 offset {u16} is past the end of the text ({units} units)"
            ))
        }
    }
}

/// The coding API routes (full paths under `/api/v1`, merged at the top level).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/studies/{study}/coding/queue", get(queue))
        .route(
            "/api/v1/studies/{study}/coding/responses/{id}",
            get(response),
        )
        .route(
            "/api/v1/studies/{study}/coding/responses/{id}/codings",
            post(add_coding),
        )
        .route(
            "/api/v1/studies/{study}/coding/responses/{id}/memo",
            put(response_memo),
        )
        .route("/api/v1/studies/{study}/coding/code-memo", put(code_memo))
        .route(
            "/api/v1/studies/{study}/coding/codings/{cid}",
            axum::routing::patch(update_coding).delete(delete_coding),
        )
        .route("/api/v1/studies/{study}/coding/undo", post(undo))
        .route("/api/v1/studies/{study}/coding/redo", post(redo))
        .route("/api/v1/studies/{study}/coding/setup", get(setup))
        .route("/api/v1/studies/{study}/coding/blind", put(set_blind))
        .route(
            "/api/v1/studies/{study}/coding/assignments/{coder}",
            put(set_assignment),
        )
}

type ApiResult = Result<Response, ApiError>;

/// Any signed-in account calling the API (session cookie or bearer token).
pub(crate) struct ApiUser(pub User);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = if let Some(token) = crate::security::bearer_token(&parts.headers) {
            let ip = parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_default();
            if state.token_limiter.blocked(&ip).await {
                return Err(Error::TooManyRequests.into());
            }
            let user = state.store.user_by_api_token(&token_hash(&token)).await?;
            if user.is_none() {
                state.token_limiter.fail(&ip).await;
            }
            user
        } else {
            AuthSession::from_request_parts(parts, state)
                .await
                .map_err(|_| Error::Internal("no auth layer".into()))?
                .user
                .map(|u| u.0)
        };
        user.map(ApiUser).ok_or_else(|| Error::Unauthorized.into())
    }
}

/// Who is coding: the user, their coder key and what they may see.
pub(crate) struct Coder {
    pub user: User,
    pub key: Key,
    pub researcher: bool,
}

impl Coder {
    pub(crate) fn of(user: User) -> Result<Self, Error> {
        let key = Key::parse(&user.username).map_err(|e| {
            Error::Forbidden(format!(
                "the user name cannot be a coder's name: it {e}; ask the researcher for an account with a simpler name"
            ))
        })?;
        if key.as_str() == CONSENSUS {
            return Err(Error::Forbidden(
                "`consensus` is the consensus layer's name; a user of that name cannot code".into(),
            ));
        }
        Ok(Coder {
            researcher: user.role == Role::Researcher,
            user,
            key,
        })
    }
    /// Whether this user sees every coder's codings (researchers always;
    /// coders only when the study is not blind).
    async fn sees_all(&self, state: &AppState, study: &StudyInfo) -> Result<bool, Error> {
        Ok(self.researcher || !state.store.coding_blind(study.id).await?)
    }
}

fn researcher_only(c: &Coder) -> Result<(), Error> {
    if c.researcher {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only a researcher can change blind mode and assignments".into(),
        ))
    }
}

fn parse_key(s: &str, field: &str) -> Result<Key, Error> {
    Key::parse(s).map_err(|e| Error::Invalid(format!("{field}: the key {e}")))
}

fn parse_code(s: &str) -> Result<CodePath, Error> {
    CodePath::parse(s).map_err(|e| Error::Invalid(format!("code: {e}")))
}

/// The queue's query string.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct QueueQuery {
    /// Segment key, or `-` for questions asked once.
    pub segment: Option<String>,
    pub question: Option<String>,
    pub attribute: Option<String>,
    pub value: Option<String>,
    /// `all` (default), `uncoded` (by me), `mine` (coded by me), `disputed`.
    pub state: Option<String>,
}

fn nonempty(o: &Option<String>) -> Option<&str> {
    o.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl QueueQuery {
    fn filter(&self) -> Result<QueueFilter, Error> {
        let segment = match nonempty(&self.segment) {
            None => None,
            Some("-") => Some(None),
            Some(s) => Some(Some(parse_key(s, "segment")?)),
        };
        let question = nonempty(&self.question)
            .map(|q| parse_key(q, "question"))
            .transpose()?;
        let attribute = match (nonempty(&self.attribute), nonempty(&self.value)) {
            (Some(a), Some(v)) => Some((a.to_string(), v.to_string())),
            (None, None) => None,
            _ => {
                return Err(Error::Invalid(
                    "attribute and value: give both (an attribute name and the value to match) or neither"
                        .into(),
                ))
            }
        };
        Ok(QueueFilter {
            segment,
            question,
            attribute,
        })
    }
    fn state(&self) -> Result<&str, Error> {
        match nonempty(&self.state).unwrap_or("all") {
            s @ ("all" | "uncoded" | "mine" | "disputed") => Ok(s),
            o => Err(Error::Invalid(format!(
                "state: `{o}` is not a queue state; use all, uncoded, mine or disputed"
            ))),
        }
    }
}

fn item_json(i: &QueueItem, sees_all: bool) -> Value {
    let mut v = json!({
        "id": i.id.0,
        "participant": i.key.participant.as_str(),
        "segment": i.key.segment.as_ref().map(|s| s.as_str()),
        "question": i.key.question.as_str(),
        "coded_by_me": i.coded_by_me,
    });
    if sees_all {
        v["coders"] = json!(i.coders.iter().map(|c| c.as_str()).collect::<Vec<_>>());
        v["disputed"] = json!(i.disputed);
        v["has_consensus"] = json!(i.has_consensus);
    }
    v
}

async fn queue(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(study): Path<String>,
    Query(q): Query<QueueQuery>,
) -> ApiResult {
    let c = Coder::of(user)?;
    let info = study_by_key(&state, &study).await?;
    let filter = q.filter()?;
    let st = q.state()?;
    let sees_all = c.sees_all(&state, &info).await?;
    if st == "disputed" && !sees_all {
        return Err(Error::Forbidden(
            "the study is blind: disputes between coders are hidden until the researcher unblinds it"
                .into(),
        )
        .into());
    }
    let items = state.store.coding_queue(info.id, &c.key, &filter).await?;
    let total = items.len();
    let coded = items.iter().filter(|i| i.coded_by_me).count();
    let listed: Vec<Value> = items
        .iter()
        .filter(|i| match st {
            "uncoded" => !i.coded_by_me,
            "mine" => i.coded_by_me,
            "disputed" => i.disputed,
            _ => true,
        })
        .map(|i| item_json(i, sees_all))
        .collect();
    Ok(Json(json!({
        "study": info.key,
        "coder": c.key.as_str(),
        "blind": !sees_all,
        "total": total,
        "coded_by_me": coded,
        "state": st,
        "items": listed,
    }))
    .into_response())
}

pub(crate) fn coding_json(c: &StoredCoding, text: &str, me: &Key) -> Value {
    use offsets::cp_to_utf16;
    json!({
        "id": c.id.0,
        "coder": c.coder.as_str(),
        "mine": &c.coder == me,
        "code": c.code.as_str(),
        "whole": c.span.is_none(),
        "start": c.span.map(|s| s.start),
        "end": c.span.map(|s| s.end),
        "start16": c.span.map(|s| cp_to_utf16(text, s.start)),
        "end16": c.span.map(|s| cp_to_utf16(text, s.end)),
        "memo": c.memo,
        "version": c.version,
    })
}

/// The response's text (404 when the study has no such open answer).
async fn target_text(state: &AppState, info: &StudyInfo, id: i64) -> Result<String, Error> {
    Ok(state
        .store
        .coding_target(info.id, ResponseId(id))
        .await?
        .ok_or_else(|| {
            Error::NotFoundMsg(format!(
                "response: the study has no open answer with id {id}"
            ))
        })?
        .text)
}

async fn response(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path((study, id)): Path<(String, i64)>,
) -> ApiResult {
    let c = Coder::of(user)?;
    let info = study_by_key(&state, &study).await?;
    let body = response_body(&state, &info, &c, id).await?;
    Ok(Json(body).into_response())
}

/// Everything the coding screen shows for one response.
pub(crate) async fn response_body(
    state: &AppState,
    info: &StudyInfo,
    c: &Coder,
    id: i64,
) -> Result<Value, Error> {
    let t = state
        .store
        .coding_target(info.id, ResponseId(id))
        .await?
        .ok_or_else(|| {
            Error::NotFoundMsg(format!(
                "response: the study has no open answer with id {id}"
            ))
        })?;
    let sees_all = c.sees_all(state, info).await?;
    let codebook = state.store.coding_codebook(info.id).await?;
    let mut number = 0;
    let codes: Vec<Value> = codebook
        .iter()
        .map(|k| {
            let n = if k.codable {
                number += 1;
                Some(number)
            } else {
                None
            };
            json!({
                "number": n,
                "path": k.path.as_str(),
                "name": k.name,
                "depth": k.path.depth(),
                "codable": k.codable,
                "colour": k.colour,
                "definition": k.definition,
                "inclusion": k.inclusion,
                "exclusion": k.exclusion,
                "example": k.example,
            })
        })
        .collect();
    let codings: Vec<Value> = state
        .store
        .response_codings(info.id, t.id)
        .await?
        .iter()
        .filter(|x| sees_all || x.coder == c.key)
        .map(|x| coding_json(x, &t.text, &c.key))
        .collect();
    let memos: Vec<Value> = state
        .store
        .memos_on(info.id, &MemoOn::Response(t.id))
        .await?
        .into_iter()
        .filter(|m| sees_all || m.author == c.user.username)
        .map(|m| json!({"author": m.author, "text": m.text, "mine": m.author == c.user.username, "at": m.at.to_rfc3339()}))
        .collect();
    let code_memos: Vec<Value> = state
        .store
        .code_memos(info.id)
        .await?
        .into_iter()
        .filter(|m| sees_all || m.author == c.user.username)
        .filter_map(|m| match m.on {
            MemoOn::Code(p) => Some(json!({"code": p.as_str(), "author": m.author, "text": m.text, "mine": m.author == c.user.username})),
            MemoOn::Response(_) => None,
        })
        .collect();
    let segment = match &t.key.segment {
        Some(k) => state.store.segment(info.id, k).await?.map(|s| {
            json!({
                "key": s.key.as_str(),
                "label": s.label,
                "turns": s.turns.iter().map(|x| json!({"speaker": x.speaker, "text": x.text})).collect::<Vec<_>>(),
            })
        }),
        None => None,
    };
    let (undo, redo) = state.store.undo_depth(info.id, &c.key).await?;
    Ok(json!({
        "id": t.id.0,
        "participant": t.key.participant.as_str(),
        "segment": segment,
        "question": {"key": t.key.question.as_str(), "prompt": t.prompt},
        "text": t.text,
        "length": rupturelab_core::text::char_len(&t.text),
        "length16": t.text.encode_utf16().count(),
        "codebook": codes,
        "codings": codings,
        "memos": memos,
        "code_memos": code_memos,
        "me": c.key.as_str(),
        "blind": !sees_all,
        "undo": undo,
        "redo": redo,
    }))
}

/// A span in a request: UTF-16 (`start16`/`end16`, what browsers count) or
/// code points (`start`/`end`); none = the whole response.
#[derive(Debug, Default, serde::Deserialize)]
struct SpanIn {
    start: Option<i64>,
    end: Option<i64>,
    start16: Option<i64>,
    end16: Option<i64>,
}

impl SpanIn {
    fn given(&self) -> bool {
        self.start.is_some() || self.end.is_some() || self.start16.is_some() || self.end16.is_some()
    }
    fn resolve(&self, text: &str) -> Result<Option<Span>, Error> {
        let nonneg = |v: i64, f: &str| {
            usize::try_from(v)
                .map_err(|_| Error::Invalid(format!("{f}: {v} is negative; offsets count from 0")))
        };
        let span = match (self.start, self.end, self.start16, self.end16) {
            (None, None, None, None) => return Ok(None),
            (Some(a), Some(b), None, None) => (nonneg(a, "start")?, nonneg(b, "end")?),
            (None, None, Some(a), Some(b)) => {
                let conv = |v: i64, f: &str| {
                    offsets::utf16_to_cp(text, nonneg(v, f)?)
                        .map_err(|e| Error::Invalid(format!("{f}: {e}")))
                };
                (conv(a, "start16")?, conv(b, "end16")?)
            }
            _ => {
                return Err(Error::Invalid(
                    "span: give start16 and end16 (UTF-16 units), or start and end (code points), or neither for the whole response"
                        .into(),
                ))
            }
        };
        Ok(Some(Span {
            start: span.0,
            end: span.1,
        }))
    }
}

#[derive(Debug, serde::Deserialize)]
struct AddIn {
    code: String,
    #[serde(flatten)]
    span: SpanIn,
    memo: Option<String>,
}

async fn add_coding(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path((study, id)): Path<(String, i64)>,
    Json(b): Json<AddIn>,
) -> ApiResult {
    let c = Coder::of(user)?;
    // The hot path of coding: the store finds the study by its key, reads
    // the response, checks the assignment rule (403), resolves the span
    // against the text and writes, all in one transaction.
    let new = NewCoding {
        coder: c.key.clone(),
        response: ResponseId(id),
        code: parse_code(&b.code)?,
        span: None,
        memo: b.memo,
    };
    let span = |text: &str| b.span.resolve(text).map_err(|e| e.to_string());
    let added = state
        .store
        .add_coding_by_key(&study, &new, &span, &c.user.username)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(coding_json(&added.coding, &added.text, &c.key)),
    )
        .into_response())
}

#[derive(Debug, serde::Deserialize)]
struct UpdateIn {
    /// The version the client saw.
    version: i64,
    code: Option<String>,
    #[serde(flatten)]
    span: SpanIn,
    /// `true` makes the coding apply to the whole response.
    #[serde(default)]
    whole: bool,
    /// A new memo (empty removes it); absent = unchanged.
    memo: Option<String>,
}

/// The coding, if it is the caller's own (403 otherwise, 404 if absent).
async fn own_coding(
    state: &AppState,
    info: &StudyInfo,
    c: &Coder,
    cid: i64,
) -> Result<StoredCoding, Error> {
    let row = state
        .store
        .coding(info.id, CodingId(cid))
        .await?
        .ok_or_else(|| {
            Error::NotFoundMsg(format!(
                "coding {cid} does not exist (it was removed, perhaps in another tab); reload"
            ))
        })?;
    if row.coder != c.key {
        // In blind mode, another coder's coding is not even acknowledged.
        if !c.sees_all(state, info).await? {
            return Err(Error::NotFoundMsg(format!(
                "coding {cid} does not exist (it was removed, perhaps in another tab); reload"
            )));
        }
        return Err(Error::Forbidden(format!(
            "coding {cid} is {}'s; you can change only your own codings",
            row.coder
        )));
    }
    Ok(row)
}

async fn update_coding(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path((study, cid)): Path<(String, i64)>,
    Json(b): Json<UpdateIn>,
) -> ApiResult {
    let c = Coder::of(user)?;
    let info = study_by_key(&state, &study).await?;
    let row = own_coding(&state, &info, &c, cid).await?;
    let text = target_text(&state, &info, row.response.0).await?;
    let span = if b.whole {
        if b.span.given() {
            return Err(Error::Invalid(
                "whole: a coding of the whole response takes no start or end".into(),
            )
            .into());
        }
        Some(None)
    } else if b.span.given() {
        Some(b.span.resolve(&text)?)
    } else {
        None
    };
    let change = CodingChange {
        code: b.code.as_deref().map(parse_code).transpose()?,
        span,
        memo: b.memo.map(|m| Some(m).filter(|m| !m.trim().is_empty())),
    };
    let row = state
        .store
        .update_coding(info.id, row.id, b.version, &change, &c.user.username)
        .await?;
    Ok(Json(coding_json(&row, &text, &c.key)).into_response())
}

#[derive(Debug, serde::Deserialize)]
struct VersionQuery {
    version: Option<i64>,
}

async fn delete_coding(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path((study, cid)): Path<(String, i64)>,
    Query(v): Query<VersionQuery>,
) -> ApiResult {
    let c = Coder::of(user)?;
    let info = study_by_key(&state, &study).await?;
    let Some(version) = v.version else {
        return Err(Error::Invalid(
            "version: give the version of the coding you saw (?version=N), so a change made since is not lost"
                .into(),
        )
        .into());
    };
    let row = own_coding(&state, &info, &c, cid).await?;
    let text = target_text(&state, &info, row.response.0).await?;
    let gone = state
        .store
        .delete_coding(info.id, row.id, version, &c.user.username)
        .await?;
    Ok(Json(coding_json(&gone, &text, &c.key)).into_response())
}

async fn undo_redo(state: AppState, user: User, study: String, redo: bool) -> ApiResult {
    let c = Coder::of(user)?;
    let info = study_by_key(&state, &study).await?;
    let out = if redo {
        state
            .store
            .redo_coding(info.id, &c.key, &c.user.username)
            .await?
    } else {
        state
            .store
            .undo_coding(info.id, &c.key, &c.user.username)
            .await?
    };
    let Some(o) = out else {
        let (undo, redo_left) = state.store.undo_depth(info.id, &c.key).await?;
        return Ok(Json(json!({
            "done": false,
            "message": if redo { "nothing to redo" } else { "nothing to undo" },
            "undo": undo, "redo": redo_left,
        }))
        .into_response());
    };
    let text = state
        .store
        .coding_target(info.id, o.response)
        .await?
        .map(|t| t.text)
        .unwrap_or_default();
    Ok(Json(json!({
        "done": true,
        "action": o.action,
        "response": o.response.0,
        "coding": o.coding.as_ref().map(|x| coding_json(x, &text, &c.key)),
        "undo": o.undo_left,
        "redo": o.redo_left,
    }))
    .into_response())
}

async fn undo(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(study): Path<String>,
) -> ApiResult {
    undo_redo(state, user, study, false).await
}

async fn redo(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(study): Path<String>,
) -> ApiResult {
    undo_redo(state, user, study, true).await
}

#[derive(Debug, serde::Deserialize)]
struct MemoIn {
    #[serde(default)]
    text: String,
    code: Option<String>,
}

const MEMO_MAX: usize = 20_000;

fn check_memo(text: &str) -> Result<(), Error> {
    if text.chars().count() > MEMO_MAX {
        return Err(Error::Invalid(format!(
            "text: a memo is at most {MEMO_MAX} characters; shorten it"
        )));
    }
    Ok(())
}

async fn response_memo(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path((study, id)): Path<(String, i64)>,
    Json(b): Json<MemoIn>,
) -> ApiResult {
    let c = Coder::of(user)?;
    let info = study_by_key(&state, &study).await?;
    check_memo(&b.text)?;
    state
        .store
        .set_memo(
            info.id,
            &MemoOn::Response(ResponseId(id)),
            &c.user.username,
            &b.text,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn code_memo(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(study): Path<String>,
    Json(b): Json<MemoIn>,
) -> ApiResult {
    let c = Coder::of(user)?;
    let info = study_by_key(&state, &study).await?;
    check_memo(&b.text)?;
    let code = parse_code(
        b.code
            .as_deref()
            .ok_or_else(|| Error::Invalid("code: name the code the memo is about".into()))?,
    )?;
    state
        .store
        .set_memo(info.id, &MemoOn::Code(code), &c.user.username, &b.text)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn setup(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(study): Path<String>,
) -> ApiResult {
    let c = Coder::of(user)?;
    researcher_only(&c)?;
    let info = study_by_key(&state, &study).await?;
    let s = state.store.coding_setup(info.id).await?;
    Ok(Json(json!({
        "blind": s.blind,
        "coders": s.coders.iter().map(|x| {
            let (mode, percent, seed) = match x.assignment {
                Assignment::All => ("all", None, None),
                Assignment::Share { percent, seed } => ("share", Some(percent), Some(seed)),
            };
            json!({"name": x.name.as_str(), "mode": mode, "percent": percent, "seed": seed, "assigned": x.assigned, "coded": x.coded})
        }).collect::<Vec<_>>(),
    }))
    .into_response())
}

#[derive(Debug, serde::Deserialize)]
struct BlindIn {
    blind: bool,
}

async fn set_blind(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(study): Path<String>,
    Json(b): Json<BlindIn>,
) -> ApiResult {
    let c = Coder::of(user)?;
    researcher_only(&c)?;
    let info = study_by_key(&state, &study).await?;
    state
        .store
        .set_blind(info.id, b.blind, &c.user.username)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct AssignIn {
    /// `all` or `share`.
    pub mode: String,
    pub percent: Option<f64>,
    pub seed: Option<u64>,
}

impl AssignIn {
    pub(crate) fn assignment(&self) -> Result<Assignment, Error> {
        match self.mode.as_str() {
            "all" => Ok(Assignment::All),
            "share" => Ok(Assignment::Share {
                percent: self.percent.ok_or_else(|| {
                    Error::Invalid("percent: give the share of responses, e.g. 20".into())
                })?,
                seed: self.seed.unwrap_or(1),
            }),
            o => Err(Error::Invalid(format!(
                "mode: `{o}` is not an assignment; use all or share"
            ))),
        }
    }
}

async fn set_assignment(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path((study, coder)): Path<(String, String)>,
    Json(b): Json<AssignIn>,
) -> ApiResult {
    let c = Coder::of(user)?;
    researcher_only(&c)?;
    let info = study_by_key(&state, &study).await?;
    let coder = parse_key(&coder, "coder")?;
    let n = state
        .store
        .set_assignment(info.id, &coder, b.assignment()?, &c.user.username)
        .await?;
    Ok(Json(json!({"coder": coder.as_str(), "assigned": n})).into_response())
}

/// Adds the coding paths to the OpenAPI document (called by `api::openapi_document`).
pub fn with_paths(mut doc: Value) -> Value {
    if let (Some(paths), Value::Object(mine)) = (doc["paths"].as_object_mut(), openapi_paths()) {
        paths.extend(mine);
    }
    doc
}

/// The coding paths of the OpenAPI document.
fn openapi_paths() -> Value {
    let err = json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let ok = |schema: Value| json!({"description": "OK", "content": {"application/json": {"schema": schema}}});
    let study = json!({"name": "study", "in": "path", "required": true, "schema": {"type": "string"}, "description": "study key"});
    let id = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}, "description": "response id (from the queue)"});
    let cid = json!({"name": "cid", "in": "path", "required": true, "schema": {"type": "integer"}, "description": "coding id"});
    let coding = json!({"type": "object", "description": "A coding. start/end are Unicode code points, start16/end16 UTF-16 units (null for the whole response).", "properties": {
        "id": {"type": "integer"}, "coder": {"type": "string"}, "mine": {"type": "boolean"}, "code": {"type": "string"},
        "whole": {"type": "boolean"}, "start": {"type": ["integer", "null"]}, "end": {"type": ["integer", "null"]},
        "start16": {"type": ["integer", "null"]}, "end16": {"type": ["integer", "null"]},
        "memo": {"type": ["string", "null"]}, "version": {"type": "integer"}}});
    let span_props = json!({
        "start16": {"type": "integer", "description": "UTF-16 offset (what a browser selection counts)"},
        "end16": {"type": "integer", "description": "UTF-16 offset, exclusive"},
        "start": {"type": "integer", "description": "code point offset (instead of start16)"},
        "end": {"type": "integer", "description": "code point offset, exclusive"}});
    let mut add_props = span_props.clone();
    add_props["code"] = json!({"type": "string", "description": "code path"});
    add_props["memo"] = json!({"type": ["string", "null"]});
    let mut upd_props = span_props;
    upd_props["version"] = json!({"type": "integer", "description": "the version you saw; a stale one is refused with 409"});
    upd_props["code"] = json!({"type": "string"});
    upd_props["whole"] = json!({"type": "boolean", "description": "apply to the whole response"});
    upd_props["memo"] = json!({"type": "string", "description": "new memo; empty removes it"});
    let step = ok(
        json!({"type": "object", "properties": {"done": {"type": "boolean"}, "action": {"type": "string"}, "response": {"type": "integer"}, "coding": {"type": ["object", "null"]}, "undo": {"type": "integer"}, "redo": {"type": "integer"}}}),
    );
    json!({
        "/studies/{study}/coding/queue": {"get": {"summary": "The responses to code, in study order, with progress. Coders with a share assignment see only it; in blind mode a coder sees no other coders and cannot ask for disputes (403).",
            "parameters": [study,
                {"name": "segment", "in": "query", "schema": {"type": "string"}, "description": "segment key, or - for questions asked once"},
                {"name": "question", "in": "query", "schema": {"type": "string"}},
                {"name": "attribute", "in": "query", "schema": {"type": "string"}, "description": "participant attribute name (with value)"},
                {"name": "value", "in": "query", "schema": {"type": "string"}},
                {"name": "state", "in": "query", "schema": {"enum": ["all", "uncoded", "mine", "disputed"]}}],
            "responses": {"200": ok(json!({"type": "object", "properties": {"total": {"type": "integer"}, "coded_by_me": {"type": "integer"}, "blind": {"type": "boolean"}, "items": {"type": "array"}}})), "401": err, "403": err, "404": err, "422": err}}},
        "/studies/{study}/coding/responses/{id}": {"get": {"summary": "One response for coding: question, text, segment transcript, numbered codebook, the codings and memos this user may see, undo/redo depth",
            "parameters": [study, id], "responses": {"200": ok(json!({"type": "object", "properties": {"text": {"type": "string"}, "codings": {"type": "array", "items": coding}, "codebook": {"type": "array"}}})), "401": err, "404": err}}},
        "/studies/{study}/coding/responses/{id}/codings": {"post": {"summary": "Apply a code to a span (start16/end16 or start/end) or to the whole response (no offsets), as the calling user's coder",
            "parameters": [study, id],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["code"], "properties": add_props}}}},
            "responses": {"201": ok(coding.clone()), "401": err, "403": err, "404": err, "409": err, "422": err}}},
        "/studies/{study}/coding/codings/{cid}": {
            "patch": {"summary": "Change one of your codings (code, span, memo); refused with 409 if it changed since the version you saw",
                "parameters": [study, cid],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["version"], "properties": upd_props}}}},
                "responses": {"200": ok(coding.clone()), "403": err, "404": err, "409": err, "422": err}},
            "delete": {"summary": "Remove one of your codings; refused with 409 if it changed since the version you saw",
                "parameters": [study, cid, {"name": "version", "in": "query", "required": true, "schema": {"type": "integer"}}],
                "responses": {"200": ok(coding.clone()), "403": err, "404": err, "409": err, "422": err}}},
        "/studies/{study}/coding/undo": {"post": {"summary": "Undo your last coding step (kept server-side, 200 steps)", "parameters": [study], "responses": {"200": step.clone(), "409": err}}},
        "/studies/{study}/coding/redo": {"post": {"summary": "Redo your last undone step", "parameters": [study], "responses": {"200": step, "409": err}}},
        "/studies/{study}/coding/responses/{id}/memo": {"put": {"summary": "Write your memo on a response (empty text removes it)", "parameters": [study, id],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {"text": {"type": "string", "maxLength": MEMO_MAX}}}}}},
            "responses": {"204": {"description": "saved"}, "404": err, "422": err}}},
        "/studies/{study}/coding/code-memo": {"put": {"summary": "Write your memo on a code (empty text removes it)", "parameters": [study],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}, "text": {"type": "string", "maxLength": MEMO_MAX}}}}}},
            "responses": {"204": {"description": "saved"}, "422": err}}},
        "/studies/{study}/coding/setup": {"get": {"summary": "Blind mode and each coder's assignment and progress (researchers)", "parameters": [study], "responses": {"200": ok(json!({"type": "object"})), "403": err}}},
        "/studies/{study}/coding/blind": {"put": {"summary": "Turn blind mode on or off (researchers)", "parameters": [study],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["blind"], "properties": {"blind": {"type": "boolean"}}}}}},
            "responses": {"204": {"description": "saved"}, "403": err}}},
        "/studies/{study}/coding/assignments/{coder}": {"put": {"summary": "Assign a coder all responses or a seeded random share (the same seed and share give the same responses, so coders overlap on it) (researchers)",
            "parameters": [study, {"name": "coder", "in": "path", "required": true, "schema": {"type": "string"}}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["mode"], "properties": {"mode": {"enum": ["all", "share"]}, "percent": {"type": "number", "exclusiveMinimum": 0, "maximum": 100}, "seed": {"type": "integer", "minimum": 0}}}}}},
            "responses": {"200": ok(json!({"type": "object", "properties": {"coder": {"type": "string"}, "assigned": {"type": "integer"}}})), "403": err, "422": err}}}
    })
}

#[cfg(test)]
mod tests {
    use super::offsets::*;

    #[test]
    fn utf16_and_code_points_convert_both_ways_with_emoji_and_turkish() {
        // "İyi 😀 günler, ığdır" — İ and ı are one code point and one UTF-16 unit;
        // 😀 is one code point and two UTF-16 units.
        let t = "İyi 😀 günler, ığdır";
        let emoji_cp = 4;
        assert_eq!(cp_to_utf16(t, emoji_cp), 4);
        assert_eq!(cp_to_utf16(t, emoji_cp + 1), 6);
        assert_eq!(utf16_to_cp(t, 6), Ok(5));
        assert!(utf16_to_cp(t, 5)
            .unwrap_err()
            .contains("inside a character"));
        let n16 = t.encode_utf16().count();
        let ncp = t.chars().count();
        assert_eq!(n16, ncp + 1);
        assert_eq!(utf16_to_cp(t, n16), Ok(ncp));
        assert!(utf16_to_cp(t, n16 + 1)
            .unwrap_err()
            .contains("past the end"));
        // Every boundary round-trips.
        for cp in 0..=ncp {
            assert_eq!(utf16_to_cp(t, cp_to_utf16(t, cp)), Ok(cp));
        }
        // The word after the emoji: "günler" is code points 6..12, UTF-16 7..13.
        let s: String = t.chars().skip(6).take(6).collect();
        assert_eq!(s, "günler");
        assert_eq!((cp_to_utf16(t, 6), cp_to_utf16(t, 12)), (7, 13));
        let u: Vec<u16> = t.encode_utf16().collect();
        assert_eq!(String::from_utf16(&u[7..13]).unwrap(), "günler");
    }
}
