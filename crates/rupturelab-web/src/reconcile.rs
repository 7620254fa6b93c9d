//! Reconciliation: the researcher's list of disagreements between chosen
//! coders (per response: who applied which code to which span, side by side
//! with the answer text) and the consensus layer (the coder named
//! `consensus`, which analyses use by default). Per response the researcher
//! accepts one coder's version, merges them (union), or writes the consensus
//! directly; the discussion note is kept as the consensus layer's memo on
//! the response (exported with the study). Every write is one
//! `Store::save_consensus` call: codings, note and audit event in one
//! transaction.
//!
//! A response is a disagreement when at least two of the chosen coders coded
//! it and their sets of codes differ. Spans are code points here and in the
//! API.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use rupturelab_core::{CodePath, Coding, Key, MemoTarget, ResponseKey, Span, StudyData, CONSENSUS};
use rupturelab_store::ConsensusCoding;
use serde_json::{json, Value};
use tower_sessions::Session;

use crate::accounts::{ApiResearcher, Researcher};
use crate::console::{shell, study_by_key, Shell};
use crate::error::{ApiError, Error};
use crate::views::{render, url_encode};
use crate::AppState;

/// At most this many disagreements on one page.
const PAGE_SIZE: usize = 50;

/// The reconciliation routes: the console page and its form, and the API
/// (full paths under `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/static/reconcile.js", get(script))
        .route("/studies/{study}/reconcile", get(page).post(save_form))
        .route("/api/v1/studies/{study}/disagreements", get(api_list))
        .route("/api/v1/studies/{study}/consensus", put(api_save))
}

async fn script() -> Response {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../static/reconcile.js"),
    )
        .into_response()
}

/// One response as reconciliation sees it.
struct Item<'a> {
    key: &'a ResponseKey,
    text: &'a str,
    /// The chosen coders' codings (every chosen coder, maybe empty).
    layers: Vec<(&'a Key, Vec<&'a Coding>)>,
    consensus: Vec<&'a Coding>,
    note: Option<&'a str>,
    agree: bool,
}

/// The study's coders other than the consensus layer, in order.
fn human_coders(data: &StudyData) -> Vec<Key> {
    let mut v: Vec<Key> = data
        .coders
        .iter()
        .filter(|c| !c.is_consensus())
        .map(|c| c.name.clone())
        .collect();
    for c in &data.codings {
        if c.coder.as_str() != CONSENSUS && !v.contains(&c.coder) {
            v.push(c.coder.clone());
        }
    }
    v
}

/// Parses the chosen coders (`A,B`); none = every coder.
fn chosen_coders(data: &StudyData, list: Option<&str>) -> Result<Vec<Key>, Error> {
    let all = human_coders(data);
    let names: Vec<&str> = list
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() {
        return Ok(all);
    }
    let mut out = Vec::new();
    for n in names {
        let k = all.iter().find(|k| k.as_str() == n).ok_or_else(|| {
            Error::Invalid(format!(
                "coders: `{n}` is not a coder of this study; choose among {}",
                all.iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if !out.contains(k) {
            out.push(k.clone());
        }
    }
    Ok(out)
}

fn items<'a>(data: &'a StudyData, coders: &'a [Key], include_agreements: bool) -> Vec<Item<'a>> {
    let mut by_response: HashMap<&ResponseKey, Vec<&Coding>> = HashMap::new();
    for c in &data.codings {
        by_response.entry(&c.response).or_default().push(c);
    }
    let mut notes: HashMap<&ResponseKey, &str> = HashMap::new();
    for m in &data.memos {
        if let MemoTarget::Response(k) = &m.target {
            if m.author == CONSENSUS {
                notes.insert(k, m.text.as_str());
            }
        }
    }
    let mut out = Vec::new();
    for r in &data.responses {
        let Some(text) = r.answer.text() else {
            continue;
        };
        let Some(all) = by_response.get(&r.key) else {
            continue;
        };
        let layers: Vec<(&Key, Vec<&Coding>)> = coders
            .iter()
            .map(|k| (k, all.iter().copied().filter(|c| &c.coder == k).collect()))
            .collect();
        let coded: Vec<BTreeSet<&str>> = layers
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(_, v)| v.iter().map(|c| c.code.as_str()).collect())
            .collect();
        if coded.len() < 2 {
            continue;
        }
        let agree = coded.windows(2).all(|w| w[0] == w[1]);
        if agree && !include_agreements {
            continue;
        }
        out.push(Item {
            key: &r.key,
            text,
            layers,
            consensus: all
                .iter()
                .copied()
                .filter(|c| c.coder.as_str() == CONSENSUS)
                .collect(),
            note: notes.get(&r.key).copied(),
            agree,
        });
    }
    out
}

/// Merges the spans one code got from several coders: the whole response
/// wins; overlapping or touching spans join.
fn union_spans(spans: &[Option<Span>]) -> Vec<Option<Span>> {
    if spans.iter().any(|s| s.is_none()) {
        return vec![None];
    }
    let mut v: Vec<Span> = spans.iter().flatten().copied().collect();
    v.sort();
    let mut out: Vec<Span> = Vec::new();
    for s in v {
        match out.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => out.push(s),
        }
    }
    out.into_iter().map(Some).collect()
}

/// How the consensus of one response is decided.
enum Decision {
    /// One coder's version as it is.
    Accept(Key),
    /// Every chosen coder's codes, spans of the same code joined.
    Union,
    /// These codes, each with the chosen coders' spans joined (the whole
    /// response when no coder applied it).
    Codes(Vec<CodePath>),
    /// Exactly these codings (API).
    Codings(Vec<ConsensusCoding>),
}

fn decide(
    data: &StudyData,
    key: &ResponseKey,
    coders: &[Key],
    d: Decision,
) -> Result<Vec<ConsensusCoding>, Error> {
    if data.response(key).is_none() {
        return Err(Error::Invalid(format!(
            "response: there is no response {key} in this study"
        )));
    }
    let of = |pred: &dyn Fn(&Coding) -> bool| -> Vec<&Coding> {
        data.codings
            .iter()
            .filter(|c| &c.response == key && pred(c))
            .collect()
    };
    let joined = |codes: &[&Coding]| -> Vec<ConsensusCoding> {
        let mut by_code: BTreeMap<&CodePath, Vec<Option<Span>>> = BTreeMap::new();
        for c in codes {
            by_code.entry(&c.code).or_default().push(c.span);
        }
        by_code
            .into_iter()
            .flat_map(|(code, spans)| {
                union_spans(&spans)
                    .into_iter()
                    .map(|span| ConsensusCoding {
                        code: code.clone(),
                        span,
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    Ok(match d {
        Decision::Accept(coder) => {
            let mine = of(&|c| c.coder == coder);
            if mine.is_empty() && !coders.contains(&coder) {
                return Err(Error::Invalid(format!(
                    "coder: `{coder}` did not code response {key}"
                )));
            }
            mine.iter()
                .map(|c| ConsensusCoding {
                    code: c.code.clone(),
                    span: c.span,
                })
                .collect()
        }
        Decision::Union => joined(&of(&|c| coders.contains(&c.coder))),
        Decision::Codes(paths) => {
            let mut out = Vec::new();
            for p in paths {
                let theirs = of(&|c| coders.contains(&c.coder) && c.code == p);
                if theirs.is_empty() {
                    out.push(ConsensusCoding {
                        code: p,
                        span: None,
                    });
                } else {
                    out.extend(joined(&theirs));
                }
            }
            out
        }
        Decision::Codings(v) => v,
    })
}

fn response_key(participant: &str, segment: &str, question: &str) -> Result<ResponseKey, Error> {
    let k = |s: &str, what: &str| {
        Key::parse(s.trim()).map_err(|e| Error::Invalid(format!("{what}: {e}")))
    };
    Ok(ResponseKey {
        participant: k(participant, "participant")?,
        segment: if segment.trim().is_empty() {
            None
        } else {
            Some(k(segment, "segment")?)
        },
        question: k(question, "question")?,
    })
}

fn quote(text: &str, span: Option<Span>) -> String {
    match span {
        None => String::new(),
        Some(s) => text
            .chars()
            .skip(s.start)
            .take(s.end.saturating_sub(s.start))
            .collect(),
    }
}

// ---- the page ----

/// A piece of the answer text, marked when a span of this layer covers it.
struct Piece {
    text: String,
    marked: bool,
    codes: String,
}

struct CodingView {
    code: String,
    name: String,
    quote: String,
}

struct LayerView {
    coder: String,
    pieces: Vec<Piece>,
    codings: Vec<CodingView>,
}

struct CodeChoice {
    path: String,
    checked: bool,
}

struct ItemView {
    anchor: String,
    participant: String,
    segment: String,
    question: String,
    prompt: String,
    agree: bool,
    layers: Vec<LayerView>,
    consensus: Option<LayerView>,
    note: String,
    choices: Vec<CodeChoice>,
}

#[derive(Template)]
#[template(path = "reconcile.html")]
struct ReconcilePage {
    title: String,
    s: Shell,
    coders: Vec<(String, bool)>,
    chosen: String,
    all: bool,
    pending: bool,
    total: usize,
    reconciled: usize,
    shown_from: usize,
    items: Vec<ItemView>,
    prev: Option<String>,
    next: Option<String>,
    codable: Vec<String>,
    message: Option<String>,
    error: Option<String>,
}

fn pieces(text: &str, codings: &[&Coding]) -> Vec<Piece> {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    let mut bounds: BTreeSet<usize> = [0, n].into_iter().collect();
    for c in codings {
        if let Some(s) = c.span {
            bounds.insert(s.start.min(n));
            bounds.insert(s.end.min(n));
        }
    }
    let b: Vec<usize> = bounds.into_iter().collect();
    b.windows(2)
        .filter(|w| w[0] < w[1])
        .map(|w| {
            let covering: Vec<&str> = codings
                .iter()
                .filter(|c| c.span.is_some_and(|s| s.start <= w[0] && s.end >= w[1]))
                .map(|c| c.code.as_str())
                .collect();
            Piece {
                text: chars[w[0]..w[1]].iter().collect(),
                marked: !covering.is_empty(),
                codes: covering.join(", "),
            }
        })
        .collect()
}

fn layer_view(data: &StudyData, coder: &str, text: &str, codings: &[&Coding]) -> LayerView {
    let mut sorted: Vec<&Coding> = codings.to_vec();
    sorted.sort_by_key(|c| (c.span.map(|s| s.start), c.code.clone()));
    LayerView {
        coder: coder.to_string(),
        pieces: pieces(text, &sorted),
        codings: sorted
            .iter()
            .map(|c| CodingView {
                code: c.code.to_string(),
                name: data
                    .code(c.code.as_str())
                    .map(|k| k.name.clone())
                    .unwrap_or_default(),
                quote: if c.span.is_none() {
                    "(whole response)".into()
                } else {
                    quote(text, c.span)
                },
            })
            .collect(),
    }
}

#[derive(serde::Deserialize, Default)]
struct ListQuery {
    coders: Option<String>,
    #[serde(default)]
    all: Option<String>,
    #[serde(default)]
    pending: Option<String>,
    #[serde(default)]
    from: Option<usize>,
    #[serde(default)]
    message: Option<String>,
}

fn flag(v: Option<&str>) -> bool {
    v.is_some_and(|v| !v.is_empty() && v != "0")
}

fn page_url(study: &str, coders: &str, all: bool, pending: bool, from: usize) -> String {
    format!(
        "/studies/{}/reconcile?coders={}{}{}&from={from}",
        url_encode(study),
        url_encode(coders),
        if all { "&all=1" } else { "" },
        if pending { "&pending=1" } else { "" }
    )
}

async fn render_page(
    user: &rupturelab_store::User,
    session: &Session,
    info: &rupturelab_store::StudyInfo,
    data: &StudyData,
    q: &ListQuery,
    error: Option<String>,
) -> Result<Response, Error> {
    let coders = chosen_coders(data, q.coders.as_deref())?;
    let all = flag(q.all.as_deref());
    let pending = flag(q.pending.as_deref());
    let mut list = items(data, &coders, all);
    if pending {
        list.retain(|i| i.consensus.is_empty());
    }
    let total = list.len();
    let reconciled = list.iter().filter(|i| !i.consensus.is_empty()).count();
    let from = q.from.unwrap_or(0).min(total.saturating_sub(1));
    let chosen = coders
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let prompts: HashMap<&str, &str> = data
        .questions
        .iter()
        .map(|q| (q.key.as_str(), q.prompt.as_str()))
        .collect();
    let views = list
        .iter()
        .enumerate()
        .skip(from)
        .take(PAGE_SIZE)
        .map(|(i, it)| {
            let applied: BTreeSet<&str> = it
                .layers
                .iter()
                .flat_map(|(_, v)| v.iter().map(|c| c.code.as_str()))
                .collect();
            let sets: Vec<BTreeSet<&str>> = it
                .layers
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(_, v)| v.iter().map(|c| c.code.as_str()).collect())
                .collect();
            let base: BTreeSet<&str> = if it.consensus.is_empty() {
                // Pre-check what every coder applied.
                sets.iter()
                    .skip(1)
                    .fold(sets.first().cloned().unwrap_or_default(), |a, b| {
                        a.intersection(b).copied().collect()
                    })
            } else {
                it.consensus.iter().map(|c| c.code.as_str()).collect()
            };
            let mut choices: Vec<CodeChoice> = applied
                .iter()
                .chain(base.iter())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .map(|p| CodeChoice {
                    path: p.to_string(),
                    checked: base.contains(p),
                })
                .collect();
            choices.sort_by(|a, b| a.path.cmp(&b.path));
            ItemView {
                anchor: format!("r{i}"),
                participant: it.key.participant.to_string(),
                segment: it
                    .key
                    .segment
                    .as_ref()
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                question: it.key.question.to_string(),
                prompt: prompts
                    .get(it.key.question.as_str())
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                agree: it.agree,
                layers: it
                    .layers
                    .iter()
                    .map(|(k, v)| layer_view(data, k.as_str(), it.text, v))
                    .collect(),
                consensus: (!it.consensus.is_empty())
                    .then(|| layer_view(data, CONSENSUS, it.text, &it.consensus)),
                note: it.note.unwrap_or_default().to_string(),
                choices,
            }
        })
        .collect();
    let page = ReconcilePage {
        title: format!("Reconciliation — {}", info.title),
        coders: human_coders(data)
            .into_iter()
            .map(|k| {
                let on = coders.contains(&k);
                (k.to_string(), on)
            })
            .collect(),
        all,
        pending,
        total,
        reconciled,
        shown_from: from + 1,
        prev: (from > 0).then(|| {
            page_url(
                &info.key,
                &chosen,
                all,
                pending,
                from.saturating_sub(PAGE_SIZE),
            )
        }),
        next: (from + PAGE_SIZE < total)
            .then(|| page_url(&info.key, &chosen, all, pending, from + PAGE_SIZE)),
        chosen,
        items: views,
        codable: data
            .codes
            .iter()
            .filter(|c| c.codable)
            .map(|c| c.path.to_string())
            .collect(),
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
    Query(q): Query<ListQuery>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let data = state.store.load_study(info.id).await?;
    match render_page(&user, &session, &info, &data, &q, None).await {
        Err(Error::Invalid(m)) => {
            let r = render_page(
                &user,
                &session,
                &info,
                &data,
                &ListQuery::default(),
                Some(m),
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, r).into_response())
        }
        other => other,
    }
}

/// The page's form: `mode` is `accept:CODER`, `union` or `codes` (the
/// checked `code` fields plus an optional `extra` code).
async fn save_form(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path(study): Path<String>,
    body: Bytes,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let data = state.store.load_study(info.id).await?;
    let mut f: HashMap<String, String> = HashMap::new();
    let mut codes: Vec<String> = Vec::new();
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "code" => codes.push(v.into_owned()),
            "extra" if !v.trim().is_empty() => codes.push(v.into_owned()),
            _ => {
                f.insert(k.into_owned(), v.into_owned());
            }
        }
    }
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let q = ListQuery {
        coders: Some(get("coders").to_string()),
        all: Some(get("all").to_string()),
        pending: Some(get("pending").to_string()),
        from: get("from").parse().ok(),
        message: None,
    };
    let result = async {
        let coders = chosen_coders(&data, Some(get("coders")))?;
        let key = response_key(get("participant"), get("segment"), get("question"))?;
        let mode = get("mode");
        let decision = if let Some(c) = mode.strip_prefix("accept:") {
            Decision::Accept(
                coders
                    .iter()
                    .find(|k| k.as_str() == c)
                    .cloned()
                    .ok_or_else(|| Error::Invalid(format!("mode: `{c}` is not a chosen coder")))?,
            )
        } else if mode == "union" {
            Decision::Union
        } else if mode == "codes" {
            let mut paths = Vec::new();
            for c in &codes {
                let p = CodePath::parse(c).map_err(|e| Error::Invalid(format!("code: {e}")))?;
                if !paths.contains(&p) {
                    paths.push(p);
                }
            }
            Decision::Codes(paths)
        } else {
            return Err(Error::Invalid(
                "mode: choose accept, merge or write the consensus".into(),
            ));
        };
        let set = decide(&data, &key, &coders, decision)?;
        state
            .store
            .save_consensus(info.id, &key, &set, get("note"), &user.username)
            .await?;
        tracing::info!(study = %info.key, codings = set.len(), "consensus saved");
        Ok::<_, Error>((key, set.len()))
    }
    .await;
    match result {
        Ok((key, n)) => {
            let url = format!(
                "{}&message={}",
                page_url(
                    &info.key,
                    get("coders"),
                    flag(q.all.as_deref()),
                    flag(q.pending.as_deref()),
                    q.from.unwrap_or(0)
                ),
                url_encode(&format!("Consensus of {key} saved ({n} codings)."))
            );
            Ok(Redirect::to(&url).into_response())
        }
        Err(Error::Invalid(m)) => {
            let r = render_page(&user, &session, &info, &data, &q, Some(m)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, r).into_response())
        }
        Err(e) => Err(e),
    }
}

// ---- the API ----

fn coding_json(text: &str, code: &CodePath, span: Option<Span>) -> Value {
    json!({
        "code": code.as_str(),
        "span": span.map(|s| json!({"start": s.start, "end": s.end})),
        "quote": quote(text, span),
    })
}

#[derive(serde::Deserialize)]
struct ApiListQuery {
    coders: Option<String>,
    all: Option<bool>,
    pending: Option<bool>,
}

async fn api_list(
    State(state): State<AppState>,
    ApiResearcher(_u): ApiResearcher,
    Path(study): Path<String>,
    Query(q): Query<ApiListQuery>,
) -> Result<Response, ApiError> {
    let info = study_by_key(&state, &study).await?;
    let data = state.store.load_study(info.id).await?;
    let coders = chosen_coders(&data, q.coders.as_deref())?;
    let list: Vec<Value> = items(&data, &coders, q.all.unwrap_or(false))
        .iter()
        .filter(|it| !q.pending.unwrap_or(false) || it.consensus.is_empty())
        .map(|it| {
            let layers: serde_json::Map<String, Value> = it
                .layers
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        Value::Array(v.iter().map(|c| coding_json(it.text, &c.code, c.span)).collect()),
                    )
                })
                .collect();
            json!({
                "participant": it.key.participant.as_str(),
                "segment": it.key.segment.as_ref().map(|s| s.as_str()),
                "question": it.key.question.as_str(),
                "text": it.text,
                "agree": it.agree,
                "codings": layers,
                "consensus": it.consensus.iter().map(|c| coding_json(it.text, &c.code, c.span)).collect::<Vec<_>>(),
                "note": it.note,
            })
        })
        .collect();
    Ok(Json(json!({
        "coders": coders.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        "disagreements": list,
    }))
    .into_response())
}

#[derive(serde::Deserialize)]
struct SpanIn {
    start: usize,
    end: usize,
}

#[derive(serde::Deserialize)]
struct CodingIn {
    code: String,
    span: Option<SpanIn>,
}

#[derive(serde::Deserialize)]
struct ConsensusIn {
    participant: String,
    segment: Option<String>,
    question: String,
    mode: String,
    coder: Option<String>,
    coders: Option<Vec<String>>,
    #[serde(default)]
    codes: Vec<String>,
    #[serde(default)]
    codings: Vec<CodingIn>,
    #[serde(default)]
    note: String,
}

async fn api_save(
    State(state): State<AppState>,
    ApiResearcher(u): ApiResearcher,
    Path(study): Path<String>,
    Json(b): Json<ConsensusIn>,
) -> Result<Response, ApiError> {
    let info = study_by_key(&state, &study).await?;
    let data = state.store.load_study(info.id).await?;
    let key = response_key(
        &b.participant,
        b.segment.as_deref().unwrap_or(""),
        &b.question,
    )?;
    let coders = chosen_coders(&data, b.coders.map(|v| v.join(",")).as_deref())?;
    let path = |s: &str| CodePath::parse(s).map_err(|e| Error::Invalid(format!("code: {e}")));
    let decision = match b.mode.as_str() {
        "accept" => {
            let c = b.coder.unwrap_or_default();
            Decision::Accept(Key::parse(&c).map_err(|e| Error::Invalid(format!("coder: {e}")))?)
        }
        "union" => Decision::Union,
        "codes" => Decision::Codes(b.codes.iter().map(|c| path(c)).collect::<Result<_, _>>()?),
        "codings" => {
            let mut v = Vec::new();
            for c in &b.codings {
                v.push(ConsensusCoding {
                    code: path(&c.code)?,
                    span: c.span.as_ref().map(|s| Span {
                        start: s.start,
                        end: s.end,
                    }),
                });
            }
            Decision::Codings(v)
        }
        o => {
            return Err(Error::Invalid(format!(
                "mode: `{o}` is not accept, union, codes or codings"
            ))
            .into())
        }
    };
    let set = decide(&data, &key, &coders, decision)?;
    state
        .store
        .save_consensus(info.id, &key, &set, &b.note, &u.username)
        .await?;
    let text = data
        .response(&key)
        .and_then(|r| r.answer.text())
        .unwrap_or("");
    Ok(Json(json!({
        "consensus": set.iter().map(|c| coding_json(text, &c.code, c.span)).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// Adds the reconciliation paths to the API's OpenAPI document.
pub fn with_openapi(mut doc: Value) -> Value {
    let err = json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let study = json!({"name": "study", "in": "path", "required": true, "schema": {"type": "string"}, "description": "study key"});
    let span = json!({"type": ["object", "null"], "description": "code point offsets, end exclusive; null = the whole response", "properties": {"start": {"type": "integer"}, "end": {"type": "integer"}}});
    let coding = json!({"type": "object", "properties": {"code": {"type": "string"}, "span": span, "quote": {"type": "string"}}});
    let paths = json!({
        "/studies/{study}/disagreements": {"get": {"summary": "Responses on which the chosen coders disagree (at least two coded it, with different sets of codes): each coder's codings with spans and quotes, the current consensus and its discussion note",
            "parameters": [study,
                {"name": "coders", "in": "query", "schema": {"type": "string"}, "description": "comma-separated coder names; default every coder"},
                {"name": "all", "in": "query", "schema": {"type": "boolean"}, "description": "also list responses on which they agree"},
                {"name": "pending", "in": "query", "schema": {"type": "boolean"}, "description": "only responses without a consensus yet"}],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object", "properties": {
                "coders": {"type": "array", "items": {"type": "string"}},
                "disagreements": {"type": "array", "items": {"type": "object", "properties": {
                    "participant": {"type": "string"}, "segment": {"type": ["string", "null"]}, "question": {"type": "string"}, "text": {"type": "string"}, "agree": {"type": "boolean"},
                    "codings": {"type": "object", "additionalProperties": {"type": "array", "items": coding}},
                    "consensus": {"type": "array", "items": coding}, "note": {"type": ["string", "null"]}}}}}}}}},
                "404": err, "422": err}}},
        "/studies/{study}/consensus": {"put": {"summary": "Set the consensus codings of one response (the consensus layer analyses use by default) and its discussion note: accept one coder's version, merge the chosen coders' (union; spans of the same code join), take these codes (with the coders' spans), or exactly these codings. Audited.",
            "parameters": [study],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["participant", "question", "mode"], "properties": {
                "participant": {"type": "string"}, "segment": {"type": ["string", "null"]}, "question": {"type": "string"},
                "mode": {"enum": ["accept", "union", "codes", "codings"]},
                "coder": {"type": "string", "description": "for accept"},
                "coders": {"type": "array", "items": {"type": "string"}, "description": "for union and codes; default every coder"},
                "codes": {"type": "array", "items": {"type": "string"}, "description": "for codes"},
                "codings": {"type": "array", "items": {"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}, "span": span}}, "description": "for codings"},
                "note": {"type": "string", "description": "the discussion note; empty removes it"}}}}}},
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object", "properties": {"consensus": {"type": "array", "items": coding}}}}}}, "404": err, "422": err}}}
    });
    if let (Some(target), Some(add)) = (doc["paths"].as_object_mut(), paths.as_object()) {
        for (k, v) in add {
            target.insert(k.clone(), v.clone());
        }
    }
    doc
}
