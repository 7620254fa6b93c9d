//! The participant study runner at `/p/{token}`: welcome and consent →
//! demographics → each segment in the participant's order → once-questions →
//! review → submit → thank-you. Works without JavaScript (answers save on
//! Next/Back); `static/autosave.js` adds debounced autosave through the API.
//! A participant reaches only their own record: everything is looked up from
//! the SHA-256 of the token in the path.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use rupturelab_core::{
    Answer, AttrValue, AttributeType, Key, ParticipantStatus, Question, QuestionKind,
    QuestionScope, Response as Resp, Segment,
};
use rupturelab_store::{ParticipantRecord, StudyDesign};
use tower_sessions::Session;

use crate::accounts::token_hash;
use crate::error::Error;
use crate::i18n::{self, Catalog};
use crate::security::csrf_token;
use crate::views::{fmt_ms, render};
use crate::AppState;

/// The participant routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/p/{token}", get(resume))
        .route("/p/{token}/welcome", get(welcome))
        .route("/p/{token}/consent", post(consent))
        .route("/p/{token}/declined", get(declined))
        .route("/p/{token}/about", get(about).post(about_post))
        .route("/p/{token}/s/{n}", get(segment_page).post(segment_post))
        .route("/p/{token}/final", get(final_page).post(final_post))
        .route("/p/{token}/review", get(review))
        .route("/p/{token}/submit", post(submit))
        .route("/p/{token}/thanks", get(thanks))
}

/// What every participant request knows once the token checks out.
pub(crate) struct Ctx {
    pub rec: ParticipantRecord,
    pub design: StudyDesign,
    pub t: &'static Catalog,
    pub token: String,
}

/// Finds the participant of a token, rate-limiting unknown tokens per client.
pub(crate) async fn load_ctx(
    state: &AppState,
    addr: SocketAddr,
    token: &str,
) -> Result<Ctx, Error> {
    let ip = addr.ip().to_string();
    if state.token_limiter.blocked(&ip).await {
        return Err(Error::TooManyRequests);
    }
    let well_formed = token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit());
    let rec = if well_formed {
        state.store.participant_by_token(&token_hash(token)).await?
    } else {
        None
    };
    let Some(rec) = rec else {
        state.token_limiter.fail(&ip).await;
        return Err(Error::UnknownLink);
    };
    let design = state.store.study_design(rec.study_id).await?;
    Ok(Ctx {
        t: i18n::catalog(design.meta.language),
        rec,
        design,
        token: token.to_string(),
    })
}

/// A page of the runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Welcome,
    About,
    Segment(usize),
    Final,
    Review,
}

impl Step {
    fn name(self) -> String {
        match self {
            Step::Welcome => "welcome".into(),
            Step::About => "about".into(),
            Step::Segment(n) => format!("segment:{n}"),
            Step::Final => "final".into(),
            Step::Review => "review".into(),
        }
    }
    fn parse(s: &str) -> Option<Step> {
        Some(match s {
            "welcome" => Step::Welcome,
            "about" => Step::About,
            "final" => Step::Final,
            "review" => Step::Review,
            other => Step::Segment(other.strip_prefix("segment:")?.parse().ok()?),
        })
    }
    fn url(self, token: &str) -> String {
        match self {
            Step::Welcome => format!("/p/{token}/welcome"),
            Step::About => format!("/p/{token}/about"),
            Step::Segment(n) => format!("/p/{token}/s/{n}"),
            Step::Final => format!("/p/{token}/final"),
            Step::Review => format!("/p/{token}/review"),
        }
    }
}

/// The participant's pages in order.
fn steps(design: &StudyDesign, segments: usize) -> Vec<Step> {
    let mut s = vec![Step::Welcome];
    if !design.attributes.is_empty() {
        s.push(Step::About);
    }
    if design
        .questions
        .iter()
        .any(|q| q.scope == QuestionScope::Segment)
    {
        s.extend((1..=segments).map(Step::Segment));
    }
    if design
        .questions
        .iter()
        .any(|q| q.scope == QuestionScope::Once)
    {
        s.push(Step::Final);
    }
    s.push(Step::Review);
    s
}

struct Nav {
    all: Vec<Step>,
    index: usize,
}

impl Nav {
    fn new(design: &StudyDesign, segments: usize, at: Step) -> Result<Nav, Error> {
        let all = steps(design, segments);
        let index = all.iter().position(|s| *s == at).ok_or(Error::NotFound)?;
        Ok(Nav { all, index })
    }
    fn progress(&self, t: &Catalog) -> String {
        t.fmt2(
            "progress",
            "n",
            &(self.index + 1).to_string(),
            "total",
            &self.all.len().to_string(),
        )
    }
    fn prev(&self) -> Step {
        self.all[self.index.saturating_sub(1)]
    }
    fn next(&self) -> Step {
        self.all[(self.index + 1).min(self.all.len() - 1)]
    }
}

fn redirect(url: String) -> Response {
    Redirect::to(&url).into_response()
}

/// Sends a participant who may not see `at` where they belong: the thank-you
/// page after submitting, the welcome page before consenting.
fn gate(ctx: &Ctx, at: Step) -> Option<Response> {
    if ctx.rec.status == ParticipantStatus::Completed {
        return Some(redirect(format!("/p/{}/thanks", ctx.token)));
    }
    if at != Step::Welcome && ctx.rec.consent != Some(true) {
        return Some(redirect(Step::Welcome.url(&ctx.token)));
    }
    None
}

/// A POST after submission: refused with the localized "locked" message.
fn locked(ctx: &Ctx) -> Result<(), Error> {
    if ctx.rec.status == ParticipantStatus::Completed {
        return Err(Error::Conflict(ctx.t.get("locked").to_string()));
    }
    if ctx.rec.consent != Some(true) {
        return Err(Error::Forbidden(ctx.t.get("consent-needed").to_string()));
    }
    Ok(())
}

/// Fields every participant template uses.
pub(crate) struct Common {
    t: &'static Catalog,
    lang: &'static str,
    title: String,
    token: String,
    csrf: String,
    progress: String,
}

fn common(ctx: &Ctx, csrf: String, progress: String) -> Common {
    Common {
        t: ctx.t,
        lang: ctx.design.meta.language.as_str(),
        title: ctx.t.fmt1("page-title", "study", &ctx.design.meta.title),
        token: ctx.token.clone(),
        csrf,
        progress,
    }
}

async fn resume(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
) -> Result<Response, Error> {
    let ctx = load_ctx(&state, addr, &token).await?;
    if ctx.rec.status == ParticipantStatus::Completed {
        return Ok(redirect(format!("/p/{token}/thanks")));
    }
    match ctx.rec.consent {
        None => return Ok(redirect(Step::Welcome.url(&token))),
        Some(false) => return Ok(redirect(format!("/p/{token}/declined"))),
        Some(true) => {}
    }
    let segments = state.store.participant_order(ctx.rec.id).await?.len();
    let all = steps(&ctx.design, segments);
    let at = ctx
        .rec
        .step
        .as_deref()
        .and_then(Step::parse)
        .filter(|s| all.contains(s) && *s != Step::Welcome)
        .unwrap_or(all[1.min(all.len() - 1)]);
    Ok(redirect(at.url(&token)))
}

#[derive(Template)]
#[template(path = "p_welcome.html")]
struct WelcomePage {
    c: Common,
    welcome: Option<String>,
    consent: Option<String>,
    accepted: bool,
    next_url: String,
}

async fn welcome(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    session: Session,
) -> Result<Response, Error> {
    let ctx = load_ctx(&state, addr, &token).await?;
    if let Some(r) = gate(&ctx, Step::Welcome) {
        return Ok(r);
    }
    let segments = state.store.participant_order(ctx.rec.id).await?.len();
    let nav = Nav::new(&ctx.design, segments, Step::Welcome)?;
    let page = WelcomePage {
        welcome: ctx.design.settings.welcome_text.clone(),
        consent: ctx.design.settings.consent_text.clone(),
        accepted: ctx.rec.consent == Some(true),
        next_url: nav.next().url(&token),
        c: common(&ctx, csrf_token(&session).await?, nav.progress(ctx.t)),
    };
    Ok(render(&page)?.into_response())
}

#[derive(serde::Deserialize)]
struct ConsentForm {
    decision: String,
}

async fn consent(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    Form(form): Form<ConsentForm>,
) -> Result<Response, Error> {
    let ctx = load_ctx(&state, addr, &token).await?;
    if ctx.rec.status == ParticipantStatus::Completed {
        return Err(Error::Conflict(ctx.t.get("locked").to_string()));
    }
    let accepted = match form.decision.as_str() {
        "accept" => true,
        "decline" => false,
        _ => {
            return Err(Error::BadRequest(
                "decision must be accept or decline".into(),
            ))
        }
    };
    let text = ctx.design.settings.consent_text.clone().unwrap_or_default();
    state
        .store
        .record_consent(ctx.rec.id, accepted, &text)
        .await?;
    if !accepted {
        return Ok(redirect(format!("/p/{token}/declined")));
    }
    let segments = state.store.participant_order(ctx.rec.id).await?.len();
    let next = Nav::new(&ctx.design, segments, Step::Welcome)?.next();
    state.store.set_step(ctx.rec.id, &next.name()).await?;
    Ok(redirect(next.url(&token)))
}

#[derive(Template)]
#[template(path = "p_declined.html")]
struct DeclinedPage {
    c: Common,
}

async fn declined(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
) -> Result<Response, Error> {
    let ctx = load_ctx(&state, addr, &token).await?;
    let page = DeclinedPage {
        c: common(&ctx, String::new(), String::new()),
    };
    Ok(render(&page)?.into_response())
}

// ---------------------------------------------------------------- demographics

struct AttrField {
    name: String,
    label: String,
    kind: &'static str,
    options: Vec<Opt>,
    value: String,
    required: bool,
    min: String,
    max: String,
    error: Option<String>,
}

struct Opt {
    value: String,
    label: String,
    checked: bool,
}

fn attr_fields(
    design: &StudyDesign,
    t: &Catalog,
    values: &BTreeMap<String, String>,
    errors: &BTreeMap<String, String>,
) -> Vec<AttrField> {
    design
        .attributes
        .iter()
        .map(|a| {
            let name = a.name.to_string();
            let value = values.get(&name).cloned().unwrap_or_default();
            let (kind, options, min, max) = match &a.kind {
                AttributeType::Category { values } => (
                    "category",
                    values
                        .iter()
                        .map(|v| Opt {
                            value: v.clone(),
                            label: v.clone(),
                            checked: *v == value,
                        })
                        .collect(),
                    String::new(),
                    String::new(),
                ),
                AttributeType::Integer { min, max } => (
                    "integer",
                    Vec::new(),
                    min.map(|v| v.to_string()).unwrap_or_default(),
                    max.map(|v| v.to_string()).unwrap_or_default(),
                ),
                AttributeType::Number { min, max } => (
                    "number",
                    Vec::new(),
                    min.map(|v| v.to_string()).unwrap_or_default(),
                    max.map(|v| v.to_string()).unwrap_or_default(),
                ),
                AttributeType::Text => ("text", Vec::new(), String::new(), String::new()),
                AttributeType::Boolean => (
                    "boolean",
                    [("true", "yes"), ("false", "no")]
                        .iter()
                        .map(|(v, k)| Opt {
                            value: v.to_string(),
                            label: t.get(k).to_string(),
                            checked: value == *v,
                        })
                        .collect(),
                    String::new(),
                    String::new(),
                ),
            };
            AttrField {
                error: errors.get(&name).cloned(),
                name,
                label: a.label.clone(),
                kind,
                options,
                value,
                required: a.required,
                min,
                max,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "p_about.html")]
struct AboutPage {
    c: Common,
    fields: Vec<AttrField>,
}

fn stored_values(values: &BTreeMap<String, AttrValue>) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect()
}

/// Records the page a participant is on, writing only when it changed.
async fn step_to(state: &AppState, ctx: &Ctx, step: Step) -> Result<(), Error> {
    let name = step.name();
    if ctx.rec.step.as_deref() != Some(name.as_str()) {
        state.store.set_step(ctx.rec.id, &name).await?;
    }
    Ok(())
}

async fn about(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    session: Session,
) -> Result<Response, Error> {
    let ctx = load_ctx(&state, addr, &token).await?;
    if let Some(r) = gate(&ctx, Step::About) {
        return Ok(r);
    }
    let segments = state.store.participant_order(ctx.rec.id).await?.len();
    let nav = Nav::new(&ctx.design, segments, Step::About)?;
    step_to(&state, &ctx, Step::About).await?;
    let page = AboutPage {
        fields: attr_fields(
            &ctx.design,
            ctx.t,
            &stored_values(&state.store.participant_attributes(ctx.rec.id).await?),
            &BTreeMap::new(),
        ),
        c: common(&ctx, csrf_token(&session).await?, nav.progress(ctx.t)),
    };
    Ok(render(&page)?.into_response())
}

async fn about_post(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    session: Session,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Error> {
    let ctx = load_ctx(&state, addr, &token).await?;
    locked(&ctx)?;
    let going_back = form.iter().any(|(k, v)| k == "nav" && v == "back");
    let stored = state.store.participant_attributes(ctx.rec.id).await?;
    let mut raw = stored_values(&stored);
    let mut parsed = BTreeMap::new();
    let mut errors = BTreeMap::new();
    for def in &ctx.design.attributes {
        let name = def.name.to_string();
        let given = form
            .iter()
            .find(|(k, _)| k.strip_prefix("a_") == Some(name.as_str()))
            .map(|(_, v)| v.trim().to_string());
        if let Some(v) = &given {
            raw.insert(name.clone(), v.clone());
        }
        match given.as_deref() {
            Some("") | None => {
                if def.required && !going_back && !stored.contains_key(&name) {
                    errors.insert(name, ctx.t.get("field-required").to_string());
                }
            }
            Some(v) => match def.parse_value(v) {
                Ok(val) => {
                    parsed.insert(name, val);
                }
                Err(_) => {
                    errors.insert(name, ctx.t.get("field-invalid").to_string());
                }
            },
        }
    }
    state.store.set_attributes(ctx.rec.id, &parsed).await?;
    let segments = state.store.participant_order(ctx.rec.id).await?.len();
    let nav = Nav::new(&ctx.design, segments, Step::About)?;
    if !errors.is_empty() && !going_back {
        let page = AboutPage {
            fields: attr_fields(&ctx.design, ctx.t, &raw, &errors),
            c: common(&ctx, csrf_token(&session).await?, nav.progress(ctx.t)),
        };
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    let to = if going_back { nav.prev() } else { nav.next() };
    state.store.set_step(ctx.rec.id, &to.name()).await?;
    Ok(redirect(to.url(&token)))
}

// ------------------------------------------------------------------- answers

struct QField {
    name: String,
    key: String,
    segment: String,
    prompt: String,
    kind: &'static str,
    options: Vec<Opt>,
    hint: String,
    value: String,
}

fn answer_string(a: &Answer) -> String {
    match a {
        Answer::Text(t) => t.clone(),
        Answer::Rating(r) => r.to_string(),
        Answer::Choice(c) => c.clone(),
    }
}

fn q_fields(
    questions: &[&Question],
    segment: Option<&Key>,
    responses: &[Resp],
    t: &Catalog,
) -> Vec<QField> {
    questions
        .iter()
        .map(|q| {
            let value = responses
                .iter()
                .find(|r| r.key.question == q.key && r.key.segment.as_ref() == segment)
                .map(|r| answer_string(&r.answer))
                .unwrap_or_default();
            let (kind, options, hint) = match &q.kind {
                QuestionKind::Open => ("open", Vec::new(), String::new()),
                QuestionKind::Likert { min, max, anchors } => (
                    "likert",
                    (*min..=*max)
                        .map(|v| Opt {
                            value: v.to_string(),
                            label: anchors.get(&v).cloned().unwrap_or_default(),
                            checked: value == v.to_string(),
                        })
                        .collect(),
                    t.fmt2(
                        "scale-hint",
                        "min",
                        &min.to_string(),
                        "max",
                        &max.to_string(),
                    ),
                ),
                QuestionKind::Choice { choices } => (
                    "choice",
                    choices
                        .iter()
                        .map(|c| Opt {
                            value: c.clone(),
                            label: c.clone(),
                            checked: *c == value,
                        })
                        .collect(),
                    String::new(),
                ),
            };
            QField {
                name: format!("q_{}", q.key),
                key: q.key.to_string(),
                segment: segment.map(|s| s.to_string()).unwrap_or_default(),
                prompt: q.prompt.clone(),
                kind,
                options,
                hint,
                value,
            }
        })
        .collect()
}

/// Parses a raw answer for a question: `None` for an empty rating/choice,
/// an error message for a value the question does not allow.
pub(crate) fn parse_answer(q: &Question, raw: &str) -> Result<Option<Answer>, String> {
    match &q.kind {
        QuestionKind::Open => Ok(Some(Answer::Text(rupturelab_core::text::normalize(raw)))),
        _ if raw.trim().is_empty() => Ok(None),
        QuestionKind::Likert { min, max, .. } => match raw.trim().parse::<i64>() {
            Ok(v) if (*min..=*max).contains(&v) => Ok(Some(Answer::Rating(v))),
            _ => Err(format!(
                "`{}` needs a whole number from {min} to {max}",
                q.key
            )),
        },
        QuestionKind::Choice { choices } => {
            if choices.iter().any(|c| c == raw) {
                Ok(Some(Answer::Choice(raw.to_string())))
            } else {
                Err(format!(
                    "`{}` is not one of the choices of `{}`",
                    raw, q.key
                ))
            }
        }
    }
}

/// Saves the answers of a form (fields `q_{question}`) for one segment or the
/// once-questions. An empty open answer is saved only over an existing one.
async fn save_form(
    state: &AppState,
    ctx: &Ctx,
    segment: Option<&Key>,
    questions: &[&Question],
    form: &[(String, String)],
    existing: &[Resp],
) -> Result<(), Error> {
    let mut batch = Vec::new();
    for q in questions {
        let field = format!("q_{}", q.key);
        let Some((_, raw)) = form.iter().find(|(k, _)| *k == field) else {
            continue;
        };
        let answer = parse_answer(q, raw).map_err(Error::Invalid)?;
        let had = existing
            .iter()
            .any(|r| r.key.question == q.key && r.key.segment.as_ref() == segment);
        if let Some(a) = answer {
            if a.text().is_some_and(str::is_empty) && !had {
                continue;
            }
            batch.push((segment.cloned(), q.key.clone(), a));
        }
    }
    if !batch.is_empty() {
        // One transaction: the page's answers are saved together or not at all.
        state
            .store
            .save_responses(ctx.rec.id, &batch, rupturelab_core::Timestamp::now())
            .await?;
    }
    Ok(())
}

struct SegView {
    turns: Vec<TurnView>,
    media: Option<MediaView>,
}

struct TurnView {
    speaker: String,
    text: String,
}

struct MediaView {
    src: Option<String>,
    reference: String,
    audio: bool,
    window: Option<String>,
}

fn seg_view(s: &Segment, t: &Catalog) -> SegView {
    SegView {
        turns: s
            .turns
            .iter()
            .map(|tn| TurnView {
                speaker: tn.speaker.clone(),
                text: tn.text.clone(),
            })
            .collect(),
        media: s.media.as_ref().map(|m| {
            let playable = m.reference.starts_with("https://")
                || m.reference.starts_with("http://")
                || (m.reference.starts_with('/') && !m.reference.starts_with("//"));
            let frag = match (m.start_ms, m.end_ms) {
                (Some(a), Some(b)) => format!("#t={},{}", a as f64 / 1000.0, b as f64 / 1000.0),
                (Some(a), None) => format!("#t={}", a as f64 / 1000.0),
                _ => String::new(),
            };
            let lower = m.reference.to_ascii_lowercase();
            MediaView {
                src: playable.then(|| format!("{}{frag}", m.reference)),
                reference: m.reference.clone(),
                audio: [".mp3", ".wav", ".m4a", ".ogg", ".oga", ".flac"]
                    .iter()
                    .any(|e| lower.ends_with(e)),
                window: match (m.start_ms, m.end_ms) {
                    (Some(a), Some(b)) => {
                        Some(t.fmt2("recording-window", "start", &fmt_ms(a), "end", &fmt_ms(b)))
                    }
                    _ => None,
                },
            }
        }),
    }
}

#[derive(Template)]
#[template(path = "p_questions.html")]
struct QuestionsPage {
    c: Common,
    heading: String,
    segment: Option<SegView>,
    questions: Vec<QField>,
    action: String,
    save_url: String,
}

async fn segment_page(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((token, n)): Path<(String, usize)>,
    session: Session,
) -> Result<Response, Error> {
    let ctx = load_ctx(&state, addr, &token).await?;
    if let Some(r) = gate(&ctx, Step::Segment(n)) {
        return Ok(r);
    }
    let segments = state.store.participant_order(ctx.rec.id).await?;
    let nav = Nav::new(&ctx.design, segments.len(), Step::Segment(n))?;
    let seg = state
        .store
        .segment(ctx.rec.study_id, &segments[n - 1])
        .await?
        .ok_or(Error::NotFound)?;
    let seg = &seg;
    step_to(&state, &ctx, Step::Segment(n)).await?;
    let responses = state.store.participant_responses(ctx.rec.id).await?;
    let qs: Vec<&Question> = ctx
        .design
        .questions
        .iter()
        .filter(|q| q.scope == QuestionScope::Segment)
        .collect();
    let page = QuestionsPage {
        heading: ctx.t.fmt2(
            "segment-title",
            "n",
            &n.to_string(),
            "total",
            &segments.len().to_string(),
        ),
        segment: Some(seg_view(seg, ctx.t)),
        questions: q_fields(&qs, Some(&seg.key), &responses, ctx.t),
        action: Step::Segment(n).url(&token),
        save_url: format!("/api/v1/p/{token}/answers"),
        c: common(&ctx, csrf_token(&session).await?, nav.progress(ctx.t)),
    };
    Ok(render(&page)?.into_response())
}

async fn segment_post(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((token, n)): Path<(String, usize)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Error> {
    let ctx = load_ctx(&state, addr, &token).await?;
    locked(&ctx)?;
    let segments = state.store.participant_order(ctx.rec.id).await?;
    let nav = Nav::new(&ctx.design, segments.len(), Step::Segment(n))?;
    let seg_key = &segments[n - 1];
    let qs: Vec<&Question> = ctx
        .design
        .questions
        .iter()
        .filter(|q| q.scope == QuestionScope::Segment)
        .collect();
    let existing = state.store.participant_responses(ctx.rec.id).await?;
    save_form(&state, &ctx, Some(seg_key), &qs, &form, &existing).await?;
    let to = if form.iter().any(|(k, v)| k == "nav" && v == "back") {
        nav.prev()
    } else {
        nav.next()
    };
    state.store.set_step(ctx.rec.id, &to.name()).await?;
    Ok(redirect(to.url(&token)))
}

async fn final_page(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    session: Session,
) -> Result<Response, Error> {
    let ctx = load_ctx(&state, addr, &token).await?;
    if let Some(r) = gate(&ctx, Step::Final) {
        return Ok(r);
    }
    let segments = state.store.participant_order(ctx.rec.id).await?.len();
    let nav = Nav::new(&ctx.design, segments, Step::Final)?;
    step_to(&state, &ctx, Step::Final).await?;
    let responses = state.store.participant_responses(ctx.rec.id).await?;
    let qs: Vec<&Question> = ctx
        .design
        .questions
        .iter()
        .filter(|q| q.scope == QuestionScope::Once)
        .collect();
    let page = QuestionsPage {
        heading: ctx.t.get("once-title").to_string(),
        segment: None,
        questions: q_fields(&qs, None, &responses, ctx.t),
        action: Step::Final.url(&token),
        save_url: format!("/api/v1/p/{token}/answers"),
        c: common(&ctx, csrf_token(&session).await?, nav.progress(ctx.t)),
    };
    Ok(render(&page)?.into_response())
}

async fn final_post(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Error> {
    let ctx = load_ctx(&state, addr, &token).await?;
    locked(&ctx)?;
    let segments = state.store.participant_order(ctx.rec.id).await?.len();
    let nav = Nav::new(&ctx.design, segments, Step::Final)?;
    let qs: Vec<&Question> = ctx
        .design
        .questions
        .iter()
        .filter(|q| q.scope == QuestionScope::Once)
        .collect();
    let existing = state.store.participant_responses(ctx.rec.id).await?;
    save_form(&state, &ctx, None, &qs, &form, &existing).await?;
    let to = if form.iter().any(|(k, v)| k == "nav" && v == "back") {
        nav.prev()
    } else {
        nav.next()
    };
    state.store.set_step(ctx.rec.id, &to.name()).await?;
    Ok(redirect(to.url(&token)))
}

struct ReviewItem {
    prompt: String,
    answer: Option<String>,
}

struct ReviewGroup {
    heading: String,
    change_url: String,
    items: Vec<ReviewItem>,
}

#[derive(Template)]
#[template(path = "p_review.html")]
struct ReviewPage {
    c: Common,
    groups: Vec<ReviewGroup>,
    back_url: String,
}

async fn review(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    session: Session,
) -> Result<Response, Error> {
    let ctx = load_ctx(&state, addr, &token).await?;
    if let Some(r) = gate(&ctx, Step::Review) {
        return Ok(r);
    }
    let segments = state.store.participant_order(ctx.rec.id).await?;
    let nav = Nav::new(&ctx.design, segments.len(), Step::Review)?;
    step_to(&state, &ctx, Step::Review).await?;
    let responses = state.store.participant_responses(ctx.rec.id).await?;
    let find = |seg: Option<&Key>, q: &Question| {
        responses
            .iter()
            .find(|r| r.key.question == q.key && r.key.segment.as_ref() == seg)
            .map(|r| answer_string(&r.answer))
            .filter(|s| !s.is_empty())
    };
    let mut groups = Vec::new();
    let per_seg: Vec<&Question> = ctx
        .design
        .questions
        .iter()
        .filter(|q| q.scope == QuestionScope::Segment)
        .collect();
    if !per_seg.is_empty() {
        for (i, s) in segments.iter().enumerate() {
            groups.push(ReviewGroup {
                heading: ctx.t.fmt2(
                    "segment-title",
                    "n",
                    &(i + 1).to_string(),
                    "total",
                    &segments.len().to_string(),
                ),
                change_url: Step::Segment(i + 1).url(&token),
                items: per_seg
                    .iter()
                    .map(|q| ReviewItem {
                        prompt: q.prompt.clone(),
                        answer: find(Some(s), q),
                    })
                    .collect(),
            });
        }
    }
    let once: Vec<&Question> = ctx
        .design
        .questions
        .iter()
        .filter(|q| q.scope == QuestionScope::Once)
        .collect();
    if !once.is_empty() {
        groups.push(ReviewGroup {
            heading: ctx.t.get("once-title").to_string(),
            change_url: Step::Final.url(&token),
            items: once
                .iter()
                .map(|q| ReviewItem {
                    prompt: q.prompt.clone(),
                    answer: find(None, q),
                })
                .collect(),
        });
    }
    let page = ReviewPage {
        groups,
        back_url: nav.prev().url(&token),
        c: common(&ctx, csrf_token(&session).await?, nav.progress(ctx.t)),
    };
    Ok(render(&page)?.into_response())
}

async fn submit(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
) -> Result<Response, Error> {
    let ctx = load_ctx(&state, addr, &token).await?;
    locked(&ctx)?;
    state.store.submit(ctx.rec.id).await?;
    tracing::info!(participant = %ctx.rec.code, "participant submitted");
    Ok(redirect(format!("/p/{token}/thanks")))
}

#[derive(Template)]
#[template(path = "p_thanks.html")]
struct ThanksPage {
    c: Common,
    thanks: Option<String>,
}

async fn thanks(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
) -> Result<Response, Error> {
    let ctx = load_ctx(&state, addr, &token).await?;
    if ctx.rec.status != ParticipantStatus::Completed {
        return Ok(redirect(format!("/p/{token}")));
    }
    let page = ThanksPage {
        thanks: ctx.design.settings.thanks_text.clone(),
        c: common(&ctx, String::new(), String::new()),
    };
    Ok(render(&page)?.into_response())
}

/// Values for the API's view of a participant's own record.
pub(crate) async fn own_record(state: &AppState, ctx: &Ctx) -> Result<serde_json::Value, Error> {
    let segments = state.store.participant_order(ctx.rec.id).await?;
    let responses = state.store.participant_responses(ctx.rec.id).await?;
    Ok(serde_json::json!({
        "code": ctx.rec.code.as_str(),
        "status": ctx.rec.status.as_str(),
        "consent": ctx.rec.consent,
        "language": ctx.design.meta.language.as_str(),
        "segments": segments.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "attributes": state.store.participant_attributes(ctx.rec.id).await?.iter().map(|(k, v)| (k.clone(), attr_json(v))).collect::<serde_json::Map<_, _>>(),
        "answers": responses.iter().map(|r| serde_json::json!({
            "segment": r.key.segment.as_ref().map(|s| s.as_str()),
            "question": r.key.question.as_str(),
            "answer": answer_string(&r.answer),
            "updated_at": r.updated_at.map(|t| t.to_rfc3339()),
        })).collect::<Vec<_>>(),
    }))
}

fn attr_json(v: &AttrValue) -> serde_json::Value {
    match v {
        AttrValue::Text(s) => s.clone().into(),
        AttrValue::Integer(i) => (*i).into(),
        AttrValue::Number(n) => (*n).into(),
        AttrValue::Bool(b) => (*b).into(),
    }
}

/// One answer sent by the autosave script.
#[derive(serde::Deserialize)]
pub(crate) struct AnswerIn {
    pub segment: Option<String>,
    pub question: String,
    pub text: Option<String>,
    pub value: Option<String>,
}

/// Saves answers sent through the API for the participant of `ctx`; each
/// must name a question of their study and, for per-segment questions, one
/// of their own segments.
pub(crate) async fn save_api_answers(
    state: &AppState,
    ctx: &Ctx,
    answers: &[AnswerIn],
) -> Result<usize, Error> {
    locked(ctx)?;
    let mut batch = Vec::new();
    for a in answers {
        let q = ctx
            .design
            .questions
            .iter()
            .find(|q| q.key.as_str() == a.question)
            .ok_or_else(|| Error::Invalid(format!("no question `{}` in this study", a.question)))?;
        let seg = match (&a.segment, q.scope) {
            // The store refuses a segment that is not in the study.
            (Some(s), QuestionScope::Segment) => {
                Some(Key::parse(s).map_err(|e| Error::Invalid(format!("the segment key {e}")))?)
            }
            (None, QuestionScope::Once) => None,
            _ => {
                return Err(Error::Invalid(format!(
                    "question `{}` is asked {}; check the segment",
                    q.key,
                    if q.scope == QuestionScope::Once {
                        "once"
                    } else {
                        "per segment"
                    }
                )))
            }
        };
        let raw = a.text.as_deref().or(a.value.as_deref()).unwrap_or("");
        if let Some(ans) = parse_answer(q, raw).map_err(Error::Invalid)? {
            batch.push((seg, q.key.clone(), ans));
        }
    }
    // One transaction, one commit per autosave: all of its answers or, on
    // any error, none of them.
    if !batch.is_empty() {
        state
            .store
            .save_responses(ctx.rec.id, &batch, rupturelab_core::Timestamp::now())
            .await?;
    }
    Ok(batch.len())
}
