//! Training mode (supervision exercises, issue 9).
//!
//! Supervisor side (researcher accounts, under `/studies/{study}/training`):
//! create a module from a study (segments, questions, feedback to show,
//! reflection prompts starting from the built-in English/Turkish texts),
//! invite trainees by private link (shown once, stored as SHA-256), and the
//! dashboard: each trainee's attribution and resolution profile, first-vs-
//! last change with McNemar's test, the group beside the panel, CSV export.
//!
//! Trainee side (`/t/{token}`, no account): read a segment, answer the
//! module's questions, optionally mark what the answer addressed, then the
//! feedback page: the answer with the model's codes (labelled automatic),
//! the trainee's marks, the panel's distribution of causes and resolutions
//! overall and by orientation (inline SVG bars rendered server-side), a few
//! anonymised panel quotes per theme, and the reflection prompt. A trainee
//! reaches only their own exercises; the panel appears only in aggregate.
//! Trainee answers are stored apart from the study's responses.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use rupturelab_core::suggest::{SuggestOptions, Suggester};
use rupturelab_core::training::{
    asked_by_question, choose_prompts, panel_profile, panel_quotes, panel_shares, pre_post,
    starter_prompts, trainee_profile, Asked, ExerciseFoci, Focus, PanelProfile, PromptKind, Source,
};
use rupturelab_core::{
    Answer, Key, Language, Question, QuestionKind, QuestionScope, StudyData, Timestamp, CONSENSUS,
};
use rupturelab_store::training::{
    AutoCode, Exercise, ExerciseAnswer, FeedbackOptions, ModuleId, NewModule, TraineeAccount,
    TraineeId, TraineeRecord, TrainingModule,
};
use rupturelab_store::{StudyDesign, StudyInfo};
use tower_sessions::Session;

use crate::accounts::{hash_password, new_token, token_hash, Researcher};
use crate::console::{base_url, shell, study_by_key, Shell};
use crate::error::Error;
use crate::participant::parse_answer;
use crate::security::csrf_token;
use crate::trainee_login::SignedInTrainee;
use crate::views::render;
use crate::AppState;

/// The attribute the panel is grouped by on the feedback page.
pub const ORIENTATION: &str = "orientation";
/// Quotes per theme on the feedback page, and their length cap.
const QUOTES_PER_THEME: usize = 3;
const QUOTE_CHARS: usize = 280;
/// The longest module title and prompt text accepted.
const MAX_TITLE: usize = 200;
const MAX_PROMPT: usize = 4000;

/// The training routes (supervisor and trainee).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/studies/{study}/training",
            get(modules_page).post(create_module),
        )
        .route("/studies/{study}/training/{module}", get(dashboard))
        .route(
            "/studies/{study}/training/{module}/trainees",
            post(add_trainees),
        )
        .route(
            "/studies/{study}/training/{module}/trainees/{code}",
            get(trainee_page),
        )
        .route(
            "/studies/{study}/training/{module}/trainees/{code}/invite",
            post(reissue),
        )
        .route(
            "/studies/{study}/training/{module}/trainees/{code}/revoke",
            post(revoke),
        )
        .route(
            "/studies/{study}/training/{module}/trainees/{code}/password",
            post(reset_password),
        )
        .route(
            "/studies/{study}/training/{module}/accounts",
            post(enrol_accounts),
        )
        .route(
            "/studies/{study}/training/{module}/export.csv",
            get(export_csv),
        )
        .route("/t/{token}", get(link_home))
        .route(
            "/t/{token}/s/{n}",
            get(link_exercise).post(link_exercise_post),
        )
        .route("/t/{token}/s/{n}/feedback", get(link_feedback))
        .route("/training/m/{enrolment}", get(account_home))
        .route(
            "/training/m/{enrolment}/s/{n}",
            get(account_exercise).post(account_exercise_post),
        )
        .route(
            "/training/m/{enrolment}/s/{n}/feedback",
            get(account_feedback),
        )
}

// ================================================================ supervisor

struct SegOpt {
    key: String,
    label: String,
}

struct QOpt {
    key: String,
    prompt: String,
    checked: bool,
}

struct PromptField {
    kind: &'static str,
    when: &'static str,
    text: String,
}

struct ModuleRow {
    id: i64,
    title: String,
    segments: usize,
    questions: String,
}

#[derive(Template)]
#[template(path = "training_list.html")]
struct ModulesPage {
    title: String,
    s: Shell,
    modules: Vec<ModuleRow>,
    segments: Vec<SegOpt>,
    questions: Vec<QOpt>,
    prompts: Vec<PromptField>,
    error: Option<String>,
    form_title: String,
}

fn segment_questions(design: &StudyDesign) -> impl Iterator<Item = &Question> {
    design
        .questions
        .iter()
        .filter(|q| q.scope == QuestionScope::Segment)
}

async fn modules_view(
    state: &AppState,
    user: &rupturelab_store::User,
    session: &Session,
    info: &StudyInfo,
    error: Option<String>,
    prompts: Option<BTreeMap<PromptKind, String>>,
    form_title: String,
) -> Result<ModulesPage, Error> {
    let design = state.store.study_design(info.id).await?;
    let segments = state.store.study_segments(info.id).await?;
    let modules = state
        .store
        .training_modules(info.id)
        .await?
        .into_iter()
        .map(|m| ModuleRow {
            id: m.id.0,
            title: m.spec.title,
            segments: m.spec.segments.len(),
            questions: m
                .spec
                .questions
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    let starter = starter_prompts(design.meta.language);
    let prompts = prompts.unwrap_or(starter);
    Ok(ModulesPage {
        title: format!("Training — {}", info.title),
        s: shell(session, user, Some(info)).await?,
        modules,
        segments: segments
            .iter()
            .map(|s| SegOpt {
                key: s.key.to_string(),
                label: s.label.clone(),
            })
            .collect(),
        questions: segment_questions(&design)
            .map(|q| QOpt {
                key: q.key.to_string(),
                prompt: q.prompt.clone(),
                checked: matches!(q.kind, QuestionKind::Open),
            })
            .collect(),
        prompts: PromptKind::ALL
            .into_iter()
            .map(|p| PromptField {
                kind: p.as_str(),
                when: p.when(),
                text: prompts.get(&p).cloned().unwrap_or_default(),
            })
            .collect(),
        error,
        form_title,
    })
}

async fn modules_page(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path(study): Path<String>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let page = modules_view(&state, &user, &session, &info, None, None, String::new()).await?;
    Ok(render(&page)?.into_response())
}

/// Reads the module form; an error names the field and what to do.
fn parse_module_form(
    form: &[(String, String)],
    design: &StudyDesign,
    segments: &[Key],
) -> (
    Result<NewModule, String>,
    BTreeMap<PromptKind, String>,
    String,
) {
    let values = |name: &str| -> Vec<&str> {
        form.iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let title = values("title").first().map(|t| t.trim()).unwrap_or("");
    let mut prompts = BTreeMap::new();
    for p in PromptKind::ALL {
        let text = values(&format!("prompt_{}", p.as_str()))
            .first()
            .map(|t| rupturelab_core::text::normalize(t.trim()))
            .unwrap_or_default();
        prompts.insert(p, text);
    }
    let result = (|| {
        if title.is_empty() {
            return Err("Title: give the module a title.".to_string());
        }
        if title.chars().count() > MAX_TITLE {
            return Err(format!("Title: use at most {MAX_TITLE} characters."));
        }
        let mut chosen_segments = Vec::new();
        for v in values("segment") {
            let k = segments
                .iter()
                .find(|k| k.as_str() == v)
                .ok_or_else(|| format!("Segments: the study has no segment `{v}`."))?;
            if !chosen_segments.contains(k) {
                chosen_segments.push(k.clone());
            }
        }
        if chosen_segments.is_empty() {
            return Err("Segments: choose at least one segment.".to_string());
        }
        let mut questions = Vec::new();
        for v in values("question") {
            let q = segment_questions(design)
                .find(|q| q.key.as_str() == v)
                .ok_or_else(|| {
                    format!("Questions: `{v}` is not a per-segment question of the study.")
                })?;
            if !questions.contains(&q.key) {
                questions.push(q.key.clone());
            }
        }
        if questions.is_empty() {
            return Err("Questions: choose at least one question.".to_string());
        }
        let on = |name: &str| values("feedback").contains(&name);
        let mut texts = BTreeMap::new();
        for (p, text) in &prompts {
            if text.is_empty() {
                return Err(format!(
                    "Prompt “{}”: write a text (or keep the starter text).",
                    p.when()
                ));
            }
            if text.chars().count() > MAX_PROMPT {
                return Err(format!(
                    "Prompt “{}”: use at most {MAX_PROMPT} characters.",
                    p.when()
                ));
            }
            texts.insert(*p, text.clone());
        }
        Ok(NewModule {
            title: title.to_string(),
            segments: chosen_segments,
            questions,
            feedback: FeedbackOptions {
                model_codes: on("model_codes"),
                panel: on("panel"),
                by_orientation: on("by_orientation"),
                quotes: on("quotes"),
                prompt: on("prompt"),
            },
            prompts: texts,
        })
    })();
    (result, prompts, title.to_string())
}

async fn create_module(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path(study): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let design = state.store.study_design(info.id).await?;
    let segments: Vec<Key> = state
        .store
        .study_segments(info.id)
        .await?
        .into_iter()
        .map(|s| s.key)
        .collect();
    let (parsed, prompts, title) = parse_module_form(&form, &design, &segments);
    match parsed {
        Ok(m) => {
            let id = state
                .store
                .create_training_module(info.id, &m, &user.username)
                .await?;
            Ok(Redirect::to(&format!("/studies/{}/training/{}", info.key, id.0)).into_response())
        }
        Err(msg) => {
            let page = modules_view(
                &state,
                &user,
                &session,
                &info,
                Some(msg),
                Some(prompts),
                title,
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
    }
}

/// The module of a study named in the path (404 otherwise).
async fn module_of(
    state: &AppState,
    info: &StudyInfo,
    module: &str,
) -> Result<TrainingModule, Error> {
    let id: i64 = module.parse().map_err(|_| Error::NotFound)?;
    state
        .store
        .training_module(ModuleId(id))
        .await?
        .filter(|m| m.study_id == info.id)
        .ok_or(Error::NotFound)
}

/// The study, module and trainee named in a supervisor URL (404 unless the
/// module belongs to the study and the trainee to the module).
async fn trainee_of(
    state: &AppState,
    study: &str,
    module: &str,
    code: &str,
) -> Result<(StudyInfo, TrainingModule, TraineeId), Error> {
    let info = study_by_key(state, study).await?;
    let m = module_of(state, &info, module).await?;
    let id = state
        .store
        .trainee_id(m.id, code)
        .await?
        .ok_or(Error::NotFound)?;
    Ok((info, m, id))
}

#[derive(serde::Deserialize)]
struct SourceQuery {
    source: Option<String>,
}

struct Cell {
    text: String,
    title: String,
}

/// Secrets shown once on the dashboard after an action.
#[derive(Default)]
struct Issued {
    /// New private links: (trainee code, link).
    links: Vec<(String, String)>,
    /// New accounts or passwords: (user name, password).
    accounts: Vec<(String, String)>,
    /// Where account trainees sign in.
    sign_in: String,
}

impl Issued {
    fn new(state: &AppState, headers: &HeaderMap) -> Self {
        Issued {
            sign_in: format!("{}/training", base_url(state, headers)),
            ..Issued::default()
        }
    }
}

struct TraineeRow {
    code: String,
    account: bool,
    active: bool,
    exercises: i64,
    shares: Vec<Cell>,
    change: Vec<Cell>,
}

struct PrePostRow {
    label: &'static str,
    pairs: usize,
    first: String,
    last: String,
    b: u64,
    c: u64,
    p: String,
}

struct CompareRow {
    label: &'static str,
    group: String,
    panel: String,
}

#[derive(Template)]
#[template(path = "training_module.html")]
struct DashboardPage {
    title: String,
    s: Shell,
    module: ModuleView,
    issued: Issued,
    message: Option<String>,
    source: &'static str,
    sources: Vec<(&'static str, &'static str)>,
    focus_labels: Vec<&'static str>,
    trainees: Vec<TraineeRow>,
    pre_post: Vec<PrePostRow>,
    compare: Vec<CompareRow>,
    compare_chart: Chart,
    group_n: usize,
    panel_n: usize,
}

struct ModuleView {
    id: i64,
    title: String,
    segments: String,
    questions: String,
    feedback: String,
}

fn module_view(m: &TrainingModule) -> ModuleView {
    let f = &m.spec.feedback;
    let shown: Vec<&str> = [
        (f.model_codes, "model codes"),
        (f.panel, "panel distribution"),
        (f.by_orientation, "by orientation"),
        (f.quotes, "panel quotes"),
        (f.prompt, "reflection prompt"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, l)| *l)
    .collect();
    ModuleView {
        id: m.id.0,
        title: m.spec.title.clone(),
        segments: m
            .spec
            .segments
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        questions: m
            .spec
            .questions
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        feedback: if shown.is_empty() {
            "only the trainee's own answer".into()
        } else {
            shown.join(", ")
        },
    }
}

/// The foci of a stored exercise.
fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

fn p_value(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".into()
    } else {
        format!("{p:.3}")
    }
}

/// The module's dashboard after a supervisor's action, with its message.
async fn dashboard_after(
    state: &AppState,
    (user, session): (&rupturelab_store::User, &Session),
    (info, m): (&StudyInfo, &TrainingModule),
    issued: Issued,
    message: String,
) -> Result<Response, Error> {
    let page = dashboard_view(
        state,
        user,
        session,
        info,
        m,
        Source::Either,
        issued,
        Some(message),
    )
    .await?;
    Ok(render(&page)?.into_response())
}

#[allow(clippy::too_many_arguments)]
async fn dashboard_view(
    state: &AppState,
    user: &rupturelab_store::User,
    session: &Session,
    info: &StudyInfo,
    m: &TrainingModule,
    source: Source,
    issued: Issued,
    message: Option<String>,
) -> Result<DashboardPage, Error> {
    let overview = state.store.trainee_overview(m.id).await?;
    let per = rupturelab_store::training::exercises_by_trainee(state.store.as_ref(), m.id).await?;
    let study = state.store.load_study(info.id).await?;
    let lang = Language::En;
    let trainees = overview
        .iter()
        .map(|t| {
            let ex = per.get(&t.code).cloned().unwrap_or_default();
            let prof = trainee_profile(&ex, source);
            TraineeRow {
                code: t.code.clone(),
                account: t.account,
                active: t.active_link,
                exercises: t.exercises,
                shares: Focus::ALL
                    .iter()
                    .map(|f| Cell {
                        text: if prof.all.n == 0 {
                            "—".into()
                        } else {
                            format!("{}/{}", prof.all.counts[f.index()], prof.all.n)
                        },
                        title: f.label(lang).into(),
                    })
                    .collect(),
                change: Focus::ALL
                    .iter()
                    .map(|f| {
                        let mark = |s: &Option<BTreeSet<Focus>>| match s {
                            Some(s) if s.contains(f) => "✓",
                            Some(_) => "✗",
                            None => "·",
                        };
                        Cell {
                            text: if prof.last.is_some() {
                                format!("{}→{}", mark(&prof.first), mark(&prof.last))
                            } else {
                                "—".into()
                            },
                            title: format!("{}: first → last exercise", f.label(lang)),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let all: Vec<Vec<ExerciseFoci>> = per.values().cloned().collect();
    let pre_post_rows = pre_post(&all, source)
        .into_iter()
        .map(|pp| PrePostRow {
            label: pp.focus.label(lang),
            pairs: pp.pairs,
            first: if pp.pairs == 0 {
                "—".into()
            } else {
                pct(pp.first_share())
            },
            last: if pp.pairs == 0 {
                "—".into()
            } else {
                pct(pp.last_share())
            },
            b: pp.table[0][1],
            c: pp.table[1][0],
            p: pp
                .test
                .as_ref()
                .map(|t| p_value(t.exact_p))
                .unwrap_or_else(|| "—".into()),
        })
        .collect();
    let flat: Vec<ExerciseFoci> = all.iter().flatten().cloned().collect();
    let group = rupturelab_core::training::shares(&flat, source);
    let panel = panel_shares(&study, &m.spec.segments, CONSENSUS);
    let compare = Focus::ALL
        .iter()
        .map(|f| CompareRow {
            label: f.label(lang),
            group: if group.n == 0 {
                "—".into()
            } else {
                pct(group.share(*f))
            },
            panel: if panel.n == 0 {
                "—".into()
            } else {
                pct(panel.share(*f))
            },
        })
        .collect();
    let compare_chart = Chart::paired(
        "Trainees and panel, share of answers addressing each focus",
        Focus::ALL
            .iter()
            .map(|f| (f.label(lang).to_string(), group.share(*f), panel.share(*f)))
            .collect(),
        ("Trainees", "Panel"),
    );
    Ok(DashboardPage {
        title: format!("{} — training", m.spec.title),
        s: shell(session, user, Some(info)).await?,
        module: module_view(m),
        issued,
        message,
        source: source.as_str(),
        sources: vec![
            ("either", "model or own marks"),
            ("model", "model codes only"),
            ("marks", "own marks only"),
        ],
        focus_labels: Focus::ALL.iter().map(|f| f.label(lang)).collect(),
        trainees,
        pre_post: pre_post_rows,
        compare,
        compare_chart,
        group_n: group.n,
        panel_n: panel.n,
    })
}

fn source_of(q: &SourceQuery) -> Result<Source, Error> {
    match q.source.as_deref() {
        None | Some("") => Ok(Source::Either),
        Some(s) => Source::parse(s)
            .ok_or_else(|| Error::BadRequest("source must be either, model or marks".into())),
    }
}

async fn dashboard(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path((study, module)): Path<(String, String)>,
    Query(q): Query<SourceQuery>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let m = module_of(&state, &info, &module).await?;
    let page = dashboard_view(
        &state,
        &user,
        &session,
        &info,
        &m,
        source_of(&q)?,
        Issued::default(),
        None,
    )
    .await?;
    Ok(render(&page)?.into_response())
}

/// A trainee code: like a participant code, 1–40 letters, digits, `_` or `-`.
fn trainee_code(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty()
        || s.chars().count() > 40
        || !s
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "Trainee codes: `{s}` is not valid; use 1–40 letters, digits, _ or - (a pseudonym, not a name)"
        ));
    }
    Ok(s.to_string())
}

#[derive(serde::Deserialize)]
struct TraineesForm {
    list: String,
}

/// The trainee codes (or account names) of a one-per-line list, each valid,
/// listed once and new in the module.
async fn new_codes(state: &AppState, m: &TrainingModule, list: &str) -> Result<Vec<String>, Error> {
    let mut codes = Vec::new();
    for line in list.lines().filter(|l| !l.trim().is_empty()) {
        let code = trainee_code(line).map_err(Error::Invalid)?;
        if codes.contains(&code) {
            return Err(Error::Invalid(format!(
                "Trainee codes: `{code}` is listed twice"
            )));
        }
        codes.push(code);
    }
    if codes.is_empty() {
        return Err(Error::Invalid(
            "Trainee codes: write at least one code, one per line".into(),
        ));
    }
    let existing = state.store.trainee_overview(m.id).await?;
    if let Some(dup) = existing.iter().find(|e| codes.contains(&e.code)) {
        let what = if dup.account {
            "they sign in with their account; to give them a new password use “Reset password”"
        } else {
            "to send them a new link use “New link”"
        };
        return Err(Error::Invalid(format!(
            "Trainee codes: `{}` already exists in this module; {what}",
            dup.code
        )));
    }
    Ok(codes)
}

/// A new password for a trainee account: 16 random hex characters (64 bits),
/// shown once to the supervisor.
fn new_password() -> String {
    crate::accounts::random_hex(8)
}

/// Enrols trainee accounts (creating those that do not exist yet, with a
/// password shown once) in the module.
async fn enrol_accounts(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    headers: HeaderMap,
    Path((study, module)): Path<(String, String)>,
    Form(form): Form<TraineesForm>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let m = module_of(&state, &info, &module).await?;
    let names = new_codes(&state, &m, &form.list).await?;
    let mut issued = Issued::new(&state, &headers);
    let mut existing = Vec::new();
    for name in names {
        let known = state.store.trainee_account_by_name(&name).await?.is_some();
        let password = new_password();
        // An existing account keeps its password: no need to hash one.
        let hash = if known {
            String::new()
        } else {
            hash_password(password.clone()).await?
        };
        let e = state
            .store
            .enrol_trainee_account(m.id, &name, &hash, &user.username)
            .await?;
        if e.created {
            issued.accounts.push((name, password));
        } else {
            existing.push(name);
        }
    }
    let mut msg = format!(
        "Enrolled {} trainee account(s).",
        issued.accounts.len() + existing.len()
    );
    if !existing.is_empty() {
        msg.push_str(&format!(
            " Already had an account (they sign in with their own password): {}.",
            existing.join(", ")
        ));
    }
    dashboard_after(&state, (&user, &session), (&info, &m), issued, msg).await
}

/// Gives a trainee account a new password (shown once); its sessions end.
async fn reset_password(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    headers: HeaderMap,
    Path((study, module, code)): Path<(String, String, String)>,
) -> Result<Response, Error> {
    let (info, m, id) = trainee_of(&state, &study, &module, &code).await?;
    let account = state
        .store
        .trainee(id)
        .await?
        .and_then(|r| r.account)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "`{code}` uses a private link, not an account; to replace it use “New link”"
            ))
        })?;
    let password = new_password();
    state
        .store
        .set_trainee_password(account, &hash_password(password.clone()).await?)
        .await?;
    // Who reset whose password, and when; never the password. The new
    // password is set already: a failed audit write is logged, and the
    // researcher still gets the password to hand on.
    if let Err(e) = state
        .store
        .record_audit(
            info.id,
            &rupturelab_core::AuditEvent {
                at: rupturelab_core::Timestamp::now(),
                actor: user.username.clone(),
                action: "training.trainee.password".into(),
                entity: format!("trainee {code} of module {module}"),
                detail: "new password issued; its open sessions ended".into(),
            },
        )
        .await
    {
        tracing::error!(cause = %e, "trainee password reset: the audit event was not recorded");
    }
    let mut issued = Issued::new(&state, &headers);
    issued.accounts.push((code.clone(), password));
    dashboard_after(&state, (&user, &session), (&info, &m), issued, format!(
            "New password for {code}; the old one no longer works and their open sessions have ended."
        )).await
}

/// Refuses link actions on a trainee who signs in with an account.
async fn link_trainee(state: &AppState, id: TraineeId, code: &str) -> Result<(), Error> {
    if state
        .store
        .trainee(id)
        .await?
        .is_some_and(|r| r.account.is_some())
    {
        return Err(Error::Invalid(format!(
            "`{code}` signs in with an account, not a link; to give them a new password use “Reset password”"
        )));
    }
    Ok(())
}

async fn add_trainees(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    headers: HeaderMap,
    Path((study, module)): Path<(String, String)>,
    Form(form): Form<TraineesForm>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let m = module_of(&state, &info, &module).await?;
    let codes = new_codes(&state, &m, &form.list).await?;
    let base = base_url(&state, &headers);
    let mut issued = Issued::new(&state, &headers);
    for code in codes {
        let token = new_token();
        state
            .store
            .add_trainee(m.id, &code, &token_hash(&token), &user.username)
            .await?;
        issued.links.push((code, format!("{base}/t/{token}")));
    }
    let msg = format!("Added {} trainee(s).", issued.links.len());
    dashboard_after(&state, (&user, &session), (&info, &m), issued, msg).await
}

async fn reissue(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    headers: HeaderMap,
    Path((study, module, code)): Path<(String, String, String)>,
) -> Result<Response, Error> {
    let (info, m, id) = trainee_of(&state, &study, &module, &code).await?;
    link_trainee(&state, id, &code).await?;
    let token = new_token();
    state
        .store
        .set_trainee_link(id, Some(&token_hash(&token)), &user.username)
        .await?;
    let link = format!("{}/t/{token}", base_url(&state, &headers));
    let issued = Issued {
        links: vec![(code.clone(), link)],
        ..Issued::default()
    };
    let msg = format!("New link for {code}; any earlier link of {code} no longer works.");
    dashboard_after(&state, (&user, &session), (&info, &m), issued, msg).await
}

async fn revoke(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path((study, module, code)): Path<(String, String, String)>,
) -> Result<Response, Error> {
    let (info, m, id) = trainee_of(&state, &study, &module, &code).await?;
    link_trainee(&state, id, &code).await?;
    state
        .store
        .set_trainee_link(id, None, &user.username)
        .await?;
    let msg = format!("The link of {code} no longer works.");
    dashboard_after(
        &state,
        (&user, &session),
        (&info, &m),
        Issued::default(),
        msg,
    )
    .await
}

struct ExerciseRow {
    n: usize,
    segment: String,
    submitted: String,
    answers: Vec<AnswerView>,
    marks: String,
}

#[derive(Template)]
#[template(path = "training_trainee.html")]
struct TraineePage {
    title: String,
    s: Shell,
    module_id: i64,
    code: String,
    exercises: Vec<ExerciseRow>,
}

/// One trainee's exercises with their answers, the model's codes and their
/// marks, for the supervisor.
async fn trainee_page(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path((study, module, code)): Path<(String, String, String)>,
) -> Result<Response, Error> {
    let (info, m, id) = trainee_of(&state, &study, &module, &code).await?;
    let study_data = state.store.load_study(info.id).await?;
    let code_name = |c: &rupturelab_core::CodePath| {
        study_data
            .code(c.as_str())
            .map(|x| x.name.clone())
            .unwrap_or_else(|| c.to_string())
    };
    let exercises = state
        .store
        .trainee_exercises(id)
        .await?
        .iter()
        .enumerate()
        .map(|(i, e)| ExerciseRow {
            n: i + 1,
            segment: study_data
                .segments
                .iter()
                .find(|s| s.key == e.segment)
                .map(|s| format!("{} — {}", s.key, s.label))
                .unwrap_or_else(|| e.segment.to_string()),
            submitted: e.submitted_at.to_rfc3339(),
            answers: e
                .answers
                .iter()
                .map(|a| AnswerView {
                    prompt: a.question.to_string(),
                    text: answer_text(&a.answer),
                    codes: a
                        .auto_codes
                        .iter()
                        .map(|c| (code_name(&c.code), pct(c.confidence)))
                        .collect(),
                })
                .collect(),
            marks: e
                .marks
                .iter()
                .map(|f| f.label(Language::En))
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    let page = TraineePage {
        title: format!("{code} — {}", m.spec.title),
        s: shell(&session, &user, Some(&info)).await?,
        module_id: m.id.0,
        code,
        exercises,
    };
    Ok(render(&page)?.into_response())
}

/// A CSV cell that a spreadsheet will not run as a formula.
pub(crate) fn safe_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

async fn export_csv(
    State(state): State<AppState>,
    Researcher(_user): Researcher,
    Path((study, module)): Path<(String, String)>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let m = module_of(&state, &info, &module).await?;
    let rows = state.store.module_exercises(m.id).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut head = vec![
        "trainee".to_string(),
        "exercise".into(),
        "segment".into(),
        "submitted_at".into(),
    ];
    for f in Focus::ALL {
        head.push(format!("model_{}", f.as_str()));
    }
    for f in Focus::ALL {
        head.push(format!("marked_{}", f.as_str()));
    }
    head.push("model_codes".into());
    let csv_err = |e: csv::Error| Error::Internal(e.to_string());
    w.write_record(&head).map_err(csv_err)?;
    let mut n = 0;
    let mut last = String::new();
    for (code, e) in rows {
        if code != last {
            n = 0;
            last = code.clone();
        }
        n += 1;
        let foci = e.foci();
        let mut rec = vec![
            safe_cell(&code),
            n.to_string(),
            safe_cell(e.segment.as_str()),
            e.submitted_at.to_rfc3339(),
        ];
        for f in Focus::ALL {
            rec.push(u8::from(foci.model.contains(&f)).to_string());
        }
        for f in Focus::ALL {
            rec.push(u8::from(foci.marks.contains(&f)).to_string());
        }
        let codes: BTreeSet<&str> = e
            .answers
            .iter()
            .flat_map(|a| a.auto_codes.iter().map(|c| c.code.as_str()))
            .collect();
        rec.push(safe_cell(&codes.into_iter().collect::<Vec<_>>().join(";")));
        w.write_record(&rec).map_err(csv_err)?;
    }
    let body = w.into_inner().map_err(|e| Error::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"training-{}-{}.csv\"",
                    info.key, m.id.0
                ),
            ),
        ],
        body,
    )
        .into_response())
}

// ================================================================== charts

/// A horizontal bar chart drawn as inline SVG by the template (numbers are
/// computed here; labels are escaped by askama).
pub(crate) struct Chart {
    title: String,
    width: u32,
    height: u32,
    rows: Vec<Bar>,
    legend: Vec<(String, &'static str)>,
}

struct Bar {
    label: String,
    y: u32,
    /// (x, y, width, colour class, value text, text x) of each bar of the row.
    bars: Vec<(u32, u32, u32, &'static str, String, u32)>,
    heading: bool,
}

const BAR_MAX: u32 = 200;

impl Chart {
    /// One bar per row, under its label (labels get the full width, so long
    /// theme names are never cut); rows with `None` are category headings.
    fn single(title: &str, rows: Vec<(String, Option<(usize, usize)>)>) -> Chart {
        let mut y = 0;
        let mut out = Vec::new();
        for (label, v) in rows {
            match v {
                None => {
                    out.push(Bar {
                        label,
                        y: y + 14,
                        bars: Vec::new(),
                        heading: true,
                    });
                    y += 20;
                }
                Some((k, n)) => {
                    let share = if n == 0 { 0.0 } else { k as f64 / n as f64 };
                    let w = (share * BAR_MAX as f64).round() as u32;
                    out.push(Bar {
                        label,
                        y: y + 11,
                        bars: vec![(
                            0,
                            y + 15,
                            w,
                            "bar",
                            format!("{k}/{n} · {}", pct(share)),
                            w + 4,
                        )],
                        heading: false,
                    });
                    y += 32;
                }
            }
        }
        Chart {
            title: title.to_string(),
            width: BAR_MAX + 80,
            height: y + 2,
            rows: out,
            legend: Vec::new(),
        }
    }

    /// Two bars per row under its label (e.g. trainees beside the panel).
    fn paired(title: &str, rows: Vec<(String, f64, f64)>, names: (&str, &str)) -> Chart {
        let mut y = 0;
        let mut out = Vec::new();
        for (label, a, b) in rows {
            let wa = (a * BAR_MAX as f64).round() as u32;
            let wb = (b * BAR_MAX as f64).round() as u32;
            out.push(Bar {
                label,
                y: y + 11,
                bars: vec![
                    (0, y + 15, wa, "bar", pct(a), wa + 4),
                    (0, y + 28, wb, "bar alt", pct(b), wb + 4),
                ],
                heading: false,
            });
            y += 46;
        }
        Chart {
            title: title.to_string(),
            width: BAR_MAX + 60,
            height: y + 2,
            rows: out,
            legend: vec![
                (names.0.to_string(), "bar"),
                (names.1.to_string(), "bar alt"),
            ],
        }
    }
}

/// A chart of a panel group: the themes under their categories.
fn group_chart(
    title: &str,
    profile: &PanelProfile,
    g: &rupturelab_core::training::GroupCounts,
) -> Chart {
    let mut rows = Vec::new();
    let mut category = None;
    for (i, t) in profile.themes.iter().enumerate() {
        if category.as_ref() != Some(&t.category) {
            rows.push((t.category.clone(), None));
            category = Some(t.category.clone());
        }
        rows.push((t.name.clone(), Some((g.counts[i], g.n))));
    }
    Chart::single(&format!("{title} (n = {})", g.n), rows)
}

// ================================================================= trainee

/// The trainee pages' texts in the study's language.
pub(crate) struct Ui {
    lang: &'static str,
    exercises: &'static str,
    intro: &'static str,
    done: &'static str,
    todo: &'static str,
    open: &'static str,
    see_feedback: &'static str,
    transcript: &'static str,
    recording: &'static str,
    questions: &'static str,
    marks_legend: &'static str,
    marks_hint: &'static str,
    submit: &'static str,
    submit_hint: &'static str,
    empty_answer: &'static str,
    feedback: &'static str,
    your_answer: &'static str,
    auto_codes: &'static str,
    auto_note: &'static str,
    no_auto: &'static str,
    confidence: &'static str,
    your_marks: &'static str,
    no_marks: &'static str,
    panel: &'static str,
    panel_note: &'static str,
    overall: &'static str,
    by_orientation: &'static str,
    quotes: &'static str,
    quotes_note: &'static str,
    reflect: &'static str,
    back: &'static str,
    next: &'static str,
    progress: &'static str,
    not_given: &'static str,
    signed_in_as: &'static str,
    my_modules: &'static str,
}

const UI_EN: Ui = Ui {
    lang: "en",
    exercises: "Exercises",
    intro: "Read each segment, answer the questions as you would in supervision, then compare your answer with how experienced therapists answered. Your answers are seen only by your supervisor.",
    done: "done",
    todo: "to do",
    open: "Start",
    see_feedback: "See feedback",
    transcript: "Transcript",
    recording: "Recording",
    questions: "Your answer",
    marks_legend: "What did your answer address? (optional)",
    marks_hint: "Tick what you think your answer covered; the feedback compares it with the automatic coding.",
    submit: "Submit and see feedback",
    submit_hint: "Once submitted, the answer cannot be changed.",
    empty_answer: "Write an answer to at least one question before submitting.",
    feedback: "Feedback",
    your_answer: "Your answer",
    auto_codes: "Automatic codes",
    auto_note: "Proposed by a model trained on the study's consensus codings — automatic, and it can be wrong.",
    no_auto: "The model found none of the themes it knows in this answer.",
    confidence: "confidence",
    your_marks: "Your own marks",
    no_marks: "You marked nothing.",
    panel: "How the study's panel answered this segment",
    panel_note: "Share of the panel's therapists whose answers were coded with each theme (consensus coding).",
    overall: "All therapists",
    by_orientation: "By orientation",
    quotes: "What some therapists wrote",
    quotes_note: "Anonymised quotes from the panel, a few per theme.",
    reflect: "For reflection",
    back: "All exercises",
    next: "Next exercise",
    progress: "Exercise {n} of {total}",
    not_given: "(not given)",
    signed_in_as: "Signed in as",
    my_modules: "All your modules",
};

const UI_TR: Ui = Ui {
    lang: "tr",
    exercises: "Alıştırmalar",
    intro: "Her bölümü okuyun, soruları süpervizyonda cevaplayacağınız gibi cevaplayın, sonra cevabınızı deneyimli terapistlerin cevaplarıyla karşılaştırın. Cevaplarınızı yalnızca süpervizörünüz görür.",
    done: "tamamlandı",
    todo: "yapılacak",
    open: "Başla",
    see_feedback: "Geri bildirimi gör",
    transcript: "Döküm",
    recording: "Kayıt",
    questions: "Cevabınız",
    marks_legend: "Cevabınız neyi ele aldı? (isteğe bağlı)",
    marks_hint: "Cevabınızın neleri kapsadığını düşünüyorsanız işaretleyin; geri bildirim bunu otomatik kodlamayla karşılaştırır.",
    submit: "Gönder ve geri bildirimi gör",
    submit_hint: "Gönderdikten sonra cevap değiştirilemez.",
    empty_answer: "Göndermeden önce en az bir soruyu cevaplayın.",
    feedback: "Geri bildirim",
    your_answer: "Cevabınız",
    auto_codes: "Otomatik kodlar",
    auto_note: "Çalışmanın uzlaşı kodlamalarıyla eğitilmiş bir model tarafından önerildi — otomatiktir ve yanılabilir.",
    no_auto: "Model bu cevapta tanıdığı temalardan hiçbirini bulmadı.",
    confidence: "güven",
    your_marks: "Kendi işaretleriniz",
    no_marks: "Hiçbir şey işaretlemediniz.",
    panel: "Çalışmanın paneli bu bölümü nasıl cevapladı",
    panel_note: "Cevapları her temayla kodlanan panel terapistlerinin oranı (uzlaşı kodlaması).",
    overall: "Tüm terapistler",
    by_orientation: "Yönelime göre",
    quotes: "Bazı terapistlerin yazdıkları",
    quotes_note: "Panelden anonimleştirilmiş alıntılar, her tema için birkaç tane.",
    reflect: "Düşünmek için",
    back: "Tüm alıştırmalar",
    next: "Sonraki alıştırma",
    progress: "Alıştırma {n} / {total}",
    not_given: "(belirtilmemiş)",
    signed_in_as: "Oturum açan",
    my_modules: "Tüm modülleriniz",
};

fn ui(lang: Language) -> &'static Ui {
    match lang {
        Language::En => &UI_EN,
        Language::Tr => &UI_TR,
    }
}

/// What every trainee page needs (the names `p_base.html` uses).
pub(crate) struct TCommon {
    pub(crate) lang: &'static str,
    pub(crate) title: String,
    pub(crate) progress: String,
}

impl TCommon {
    /// A page in `lang` without an exercise progress line.
    pub(crate) fn new(lang: &'static str, title: String) -> Self {
        TCommon {
            lang,
            title,
            progress: String::new(),
        }
    }
}

struct TCtx {
    rec: TraineeRecord,
    module: TrainingModule,
    design: StudyDesign,
    lang: Language,
    u: &'static Ui,
    /// The path the trainee's pages live under: `/t/{token}` (link) or
    /// `/training/m/{enrolment}` (account).
    base: String,
}

/// The module, study design and language of a trainee.
async fn trainee_ctx(state: &AppState, rec: TraineeRecord, base: String) -> Result<TCtx, Error> {
    let module = state
        .store
        .training_module(rec.module_id)
        .await?
        .ok_or(Error::UnknownLink)?;
    let design = state.store.study_design(rec.study_id).await?;
    let lang = design.meta.language;
    Ok(TCtx {
        rec,
        module,
        design,
        lang,
        u: ui(lang),
        base,
    })
}

/// The enrolment `id` of a signed-in trainee account; another account's
/// enrolment (or none) is a plain 404, so ids reveal nothing.
async fn load_enrolled(
    state: &AppState,
    account: &TraineeAccount,
    id: &str,
) -> Result<TCtx, Error> {
    let id: i64 = id.parse().map_err(|_| Error::NotFound)?;
    let rec = state
        .store
        .trainee(TraineeId(id))
        .await?
        .filter(|r| r.account == Some(account.id))
        .ok_or(Error::NotFound)?;
    trainee_ctx(state, rec, format!("/training/m/{id}")).await
}

/// Finds the trainee of a token, rate-limiting unknown tokens per client
/// (the same limiter as participant links).
async fn load_trainee(state: &AppState, addr: SocketAddr, token: &str) -> Result<TCtx, Error> {
    let ip = addr.ip().to_string();
    if state.token_limiter.blocked(&ip).await {
        return Err(Error::TooManyRequests);
    }
    let well_formed = token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit());
    let rec = if well_formed {
        state.store.trainee_by_token(&token_hash(token)).await?
    } else {
        None
    };
    let Some(rec) = rec else {
        state.token_limiter.fail(&ip).await;
        return Err(Error::UnknownLink);
    };
    trainee_ctx(state, rec, format!("/t/{token}")).await
}

fn tcommon(ctx: &TCtx, progress: String) -> TCommon {
    TCommon {
        lang: ctx.u.lang,
        title: ctx.module.spec.title.clone(),
        progress,
    }
}

fn progress(ctx: &TCtx, n: usize) -> String {
    ctx.u
        .progress
        .replace("{n}", &n.to_string())
        .replace("{total}", &ctx.module.spec.segments.len().to_string())
}

struct HomeRow {
    n: usize,
    label: String,
    done: bool,
}

#[derive(Template)]
#[template(path = "t_home.html")]
struct HomePage {
    c: TCommon,
    u: &'static Ui,
    base: String,
    rows: Vec<HomeRow>,
    /// The signed-in account's name (account trainees only).
    account: Option<String>,
}

async fn link_home(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
) -> Result<Response, Error> {
    let ctx = load_trainee(&state, addr, &token).await?;
    trainee_home(&state, ctx, None).await
}

async fn account_home(
    State(state): State<AppState>,
    SignedInTrainee(account): SignedInTrainee,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let ctx = load_enrolled(&state, &account, &id).await?;
    trainee_home(&state, ctx, Some(account.username)).await
}

async fn trainee_home(
    state: &AppState,
    ctx: TCtx,
    account: Option<String>,
) -> Result<Response, Error> {
    let done: BTreeSet<Key> = state
        .store
        .trainee_exercises(ctx.rec.id)
        .await?
        .into_iter()
        .map(|e| e.segment)
        .collect();
    let segments = state.store.study_segments(ctx.rec.study_id).await?;
    let rows = ctx
        .module
        .spec
        .segments
        .iter()
        .enumerate()
        .map(|(i, k)| HomeRow {
            n: i + 1,
            label: segments
                .iter()
                .find(|s| &s.key == k)
                .map(|s| s.label.clone())
                .unwrap_or_else(|| k.to_string()),
            done: done.contains(k),
        })
        .collect();
    let page = HomePage {
        c: tcommon(&ctx, String::new()),
        u: ctx.u,
        base: ctx.base.clone(),
        rows,
        account,
    };
    Ok(render(&page)?.into_response())
}

/// The segment key of exercise `n` (1-based) of the module.
fn nth_segment(ctx: &TCtx, n: &str) -> Result<(usize, Key), Error> {
    let n: usize = n.parse().map_err(|_| Error::NotFound)?;
    let key = ctx
        .module
        .spec
        .segments
        .get(n.wrapping_sub(1))
        .cloned()
        .ok_or(Error::NotFound)?;
    Ok((n, key))
}

fn module_questions(ctx: &TCtx) -> Vec<&Question> {
    ctx.module
        .spec
        .questions
        .iter()
        .filter_map(|k| ctx.design.questions.iter().find(|q| &q.key == k))
        .collect()
}

struct TurnView {
    speaker: String,
    text: String,
}

/// The segment's recording, as the participant runner shows it: a player
/// for a web or site-local reference (start/end as a media fragment), the
/// reference as text otherwise.
struct MediaV {
    src: Option<String>,
    reference: String,
    audio: bool,
}

fn media_view(m: &rupturelab_core::Media) -> MediaV {
    let playable = m.reference.starts_with("https://")
        || m.reference.starts_with("http://")
        || (m.reference.starts_with('/') && !m.reference.starts_with("//"));
    let frag = match (m.start_ms, m.end_ms) {
        (Some(a), Some(b)) => format!("#t={},{}", a as f64 / 1000.0, b as f64 / 1000.0),
        (Some(a), None) => format!("#t={}", a as f64 / 1000.0),
        _ => String::new(),
    };
    let lower = m.reference.to_ascii_lowercase();
    MediaV {
        src: playable.then(|| format!("{}{frag}", m.reference)),
        reference: m.reference.clone(),
        audio: [".mp3", ".wav", ".m4a", ".ogg", ".oga", ".flac"]
            .iter()
            .any(|e| lower.ends_with(e)),
    }
}

struct QView {
    name: String,
    prompt: String,
    open: bool,
    options: Vec<(String, String, bool)>,
    value: String,
}

struct MarkView {
    value: &'static str,
    label: &'static str,
    checked: bool,
}

#[derive(Template)]
#[template(path = "t_exercise.html")]
struct ExercisePage {
    c: TCommon,
    u: &'static Ui,
    base: String,
    n: usize,
    label: String,
    media: Option<MediaV>,
    turns: Vec<TurnView>,
    csrf: String,
    questions: Vec<QView>,
    marks: Vec<MarkView>,
    error: Option<String>,
}

fn q_views(questions: &[&Question], values: &BTreeMap<String, String>) -> Vec<QView> {
    questions
        .iter()
        .map(|q| {
            let name = format!("q_{}", q.key);
            let value = values.get(&name).cloned().unwrap_or_default();
            let options = match &q.kind {
                QuestionKind::Open => Vec::new(),
                QuestionKind::Likert { min, max, anchors } => (*min..=*max)
                    .map(|v| {
                        let label = match anchors.get(&v) {
                            Some(a) => format!("{v} {a}"),
                            None => v.to_string(),
                        };
                        (v.to_string(), label, value == v.to_string())
                    })
                    .collect(),
                QuestionKind::Choice { choices } => choices
                    .iter()
                    .map(|c| (c.clone(), c.clone(), *c == value))
                    .collect(),
            };
            QView {
                prompt: q.prompt.clone(),
                open: matches!(q.kind, QuestionKind::Open),
                options,
                value,
                name,
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn exercise_view(
    state: &AppState,
    ctx: &TCtx,
    session: &Session,
    n: usize,
    key: &Key,
    values: &BTreeMap<String, String>,
    marks: &BTreeSet<Focus>,
    error: Option<String>,
) -> Result<ExercisePage, Error> {
    let segment = state
        .store
        .segment(ctx.rec.study_id, key)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(ExercisePage {
        c: tcommon(ctx, progress(ctx, n)),
        u: ctx.u,
        base: ctx.base.clone(),
        n,
        label: segment.label.clone(),
        media: segment.media.as_ref().map(media_view),
        turns: segment
            .turns
            .iter()
            .map(|t| TurnView {
                speaker: t.speaker.clone(),
                text: t.text.clone(),
            })
            .collect(),
        csrf: csrf_token(session).await?,
        questions: q_views(&module_questions(ctx), values),
        marks: Focus::ALL
            .iter()
            .map(|f| MarkView {
                value: f.as_str(),
                label: f.label(ctx.lang),
                checked: marks.contains(f),
            })
            .collect(),
        error,
    })
}

async fn done_exercise(state: &AppState, ctx: &TCtx, key: &Key) -> Result<Option<Exercise>, Error> {
    Ok(state
        .store
        .trainee_exercises(ctx.rec.id)
        .await?
        .into_iter()
        .find(|e| &e.segment == key))
}

async fn link_exercise(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((token, n)): Path<(String, String)>,
    session: Session,
) -> Result<Response, Error> {
    let ctx = load_trainee(&state, addr, &token).await?;
    exercise_page(&state, ctx, &n, &session).await
}

async fn account_exercise(
    State(state): State<AppState>,
    SignedInTrainee(account): SignedInTrainee,
    Path((id, n)): Path<(String, String)>,
    session: Session,
) -> Result<Response, Error> {
    let ctx = load_enrolled(&state, &account, &id).await?;
    exercise_page(&state, ctx, &n, &session).await
}

async fn exercise_page(
    state: &AppState,
    ctx: TCtx,
    n: &str,
    session: &Session,
) -> Result<Response, Error> {
    let (n, key) = nth_segment(&ctx, n)?;
    if done_exercise(state, &ctx, &key).await?.is_some() {
        return Ok(Redirect::to(&format!("{}/s/{n}/feedback", ctx.base)).into_response());
    }
    let page = exercise_view(
        state,
        &ctx,
        session,
        n,
        &key,
        &BTreeMap::new(),
        &BTreeSet::new(),
        None,
    )
    .await?;
    Ok(render(&page)?.into_response())
}

/// Trains the study's suggester and codes the open answers, off the async
/// runtime (the example study trains in well under a second).
async fn auto_code(
    study: StudyData,
    answers: Vec<(Key, String)>,
) -> Result<Vec<Vec<AutoCode>>, Error> {
    tokio::task::spawn_blocking(move || {
        let suggester = Suggester::train(&study, &SuggestOptions::default());
        answers
            .iter()
            .map(|(q, text)| {
                suggester
                    .suggest(q, text)
                    .into_iter()
                    .map(|s| AutoCode {
                        code: s.code,
                        confidence: s.confidence,
                    })
                    .collect()
            })
            .collect()
    })
    .await
    .map_err(|e| Error::Internal(format!("coding a trainee answer: {e}")))
}

async fn link_exercise_post(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((token, n)): Path<(String, String)>,
    session: Session,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Error> {
    let ctx = load_trainee(&state, addr, &token).await?;
    exercise_post(&state, ctx, &n, &session, form).await
}

async fn account_exercise_post(
    State(state): State<AppState>,
    SignedInTrainee(account): SignedInTrainee,
    Path((id, n)): Path<(String, String)>,
    session: Session,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Error> {
    let ctx = load_enrolled(&state, &account, &id).await?;
    exercise_post(&state, ctx, &n, &session, form).await
}

async fn exercise_post(
    state: &AppState,
    ctx: TCtx,
    n: &str,
    session: &Session,
    form: Vec<(String, String)>,
) -> Result<Response, Error> {
    let (n, key) = nth_segment(&ctx, n)?;
    if done_exercise(state, &ctx, &key).await?.is_some() {
        return Err(Error::Conflict(
            "this exercise was submitted already; its answer cannot change".into(),
        ));
    }
    let mut marks = BTreeSet::new();
    for (k, v) in form.iter().filter(|(k, _)| k == "mark") {
        let f = Focus::parse(v).ok_or_else(|| {
            Error::BadRequest(format!("{k}: `{v}` is not a mark this page offers"))
        })?;
        marks.insert(f);
    }
    let questions = module_questions(&ctx);
    let mut values = BTreeMap::new();
    let mut answers = Vec::new();
    let mut error = None;
    for q in &questions {
        let field = format!("q_{}", q.key);
        let raw = form
            .iter()
            .find(|(k, _)| *k == field)
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        values.insert(field, raw.to_string());
        match parse_answer(q, raw) {
            Ok(Some(a)) if !a.text().is_some_and(|t| t.trim().is_empty()) => {
                answers.push((q.key.clone(), a))
            }
            Ok(_) => {}
            Err(msg) => error = Some(msg),
        }
    }
    if error.is_none() && answers.is_empty() {
        error = Some(ctx.u.empty_answer.to_string());
    }
    if let Some(msg) = error {
        let page = exercise_view(state, &ctx, session, n, &key, &values, &marks, Some(msg)).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    let study = state.store.load_study(ctx.rec.study_id).await?;
    let open: Vec<(Key, String)> = answers
        .iter()
        .filter_map(|(q, a)| a.text().map(|t| (q.clone(), t.to_string())))
        .collect();
    let mut codes = auto_code(study, open.clone()).await?.into_iter();
    let exercise = Exercise {
        segment: key,
        answers: answers
            .into_iter()
            .map(|(question, answer)| {
                let auto_codes = if answer.text().is_some() {
                    codes.next().unwrap_or_default()
                } else {
                    Vec::new()
                };
                ExerciseAnswer {
                    question,
                    answer,
                    auto_codes,
                }
            })
            .collect(),
        marks: marks.into_iter().collect(),
        submitted_at: Timestamp::now(),
    };
    state.store.save_exercise(ctx.rec.id, &exercise).await?;
    Ok(Redirect::to(&format!("{}/s/{n}/feedback", ctx.base)).into_response())
}

struct AnswerView {
    prompt: String,
    text: String,
    codes: Vec<(String, String)>,
}

struct QuoteGroup {
    theme: String,
    quotes: Vec<String>,
}

#[derive(Template)]
#[template(path = "t_feedback.html")]
struct FeedbackPage {
    c: TCommon,
    u: &'static Ui,
    base: String,
    label: String,
    show_codes: bool,
    answers: Vec<AnswerView>,
    marks: Vec<&'static str>,
    overall: Option<Chart>,
    groups: Vec<Chart>,
    quotes: Vec<QuoteGroup>,
    prompts: Vec<String>,
    next: Option<usize>,
}

fn answer_text(a: &Answer) -> String {
    match a {
        Answer::Text(t) => t.clone(),
        Answer::Rating(r) => r.to_string(),
        Answer::Choice(c) => c.clone(),
    }
}

async fn link_feedback(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((token, n)): Path<(String, String)>,
) -> Result<Response, Error> {
    let ctx = load_trainee(&state, addr, &token).await?;
    feedback_page(&state, ctx, &n).await
}

async fn account_feedback(
    State(state): State<AppState>,
    SignedInTrainee(account): SignedInTrainee,
    Path((id, n)): Path<(String, String)>,
) -> Result<Response, Error> {
    let ctx = load_enrolled(&state, &account, &id).await?;
    feedback_page(&state, ctx, &n).await
}

async fn feedback_page(state: &AppState, ctx: TCtx, n: &str) -> Result<Response, Error> {
    let (n, key) = nth_segment(&ctx, n)?;
    let Some(ex) = done_exercise(state, &ctx, &key).await? else {
        return Ok(Redirect::to(&format!("{}/s/{n}", ctx.base)).into_response());
    };
    let study = state.store.load_study(ctx.rec.study_id).await?;
    let fb = ctx.module.spec.feedback;
    let code_name = |c: &rupturelab_core::CodePath| {
        study
            .code(c.as_str())
            .map(|x| x.name.clone())
            .unwrap_or_else(|| c.to_string())
    };
    let answers = ex
        .answers
        .iter()
        .map(|a| AnswerView {
            prompt: ctx
                .design
                .questions
                .iter()
                .find(|q| q.key == a.question)
                .map(|q| q.prompt.clone())
                .unwrap_or_else(|| a.question.to_string()),
            text: answer_text(&a.answer),
            codes: a
                .auto_codes
                .iter()
                .map(|c| (code_name(&c.code), pct(c.confidence)))
                .collect(),
        })
        .collect();
    let mut overall = None;
    let mut groups = Vec::new();
    if fb.panel {
        let group_by =
            (fb.by_orientation && study.attribute(ORIENTATION).is_some()).then_some(ORIENTATION);
        let profile = panel_profile(&study, &key, CONSENSUS, group_by);
        overall = Some(group_chart(ctx.u.overall, &profile, &profile.overall));
        for g in &profile.groups {
            let label = if g.label == "(not given)" {
                ctx.u.not_given.to_string()
            } else {
                g.label.clone()
            };
            groups.push(group_chart(&label, &profile, g));
        }
    }
    let quotes = if fb.quotes {
        panel_quotes(&study, &key, CONSENSUS, QUOTES_PER_THEME, QUOTE_CHARS)
            .into_iter()
            .map(|(code, quotes)| QuoteGroup {
                theme: code_name(&code),
                quotes,
            })
            .collect()
    } else {
        Vec::new()
    };
    let prompts = if fb.prompt {
        let foci = ex.foci();
        let covered = foci.covered(Source::Either);
        let by_q = asked_by_question(&study, CONSENSUS);
        let mut asked = Asked::default();
        for q in &ctx.module.spec.questions {
            if let Some(a) = by_q.get(q) {
                asked.cause |= a.cause;
                asked.resolution |= a.resolution;
            }
        }
        if asked == Asked::default() {
            // The study's codings say nothing about these questions (no
            // consensus yet): consider both causes and resolutions.
            asked = Asked {
                cause: true,
                resolution: true,
            };
        }
        let starter = starter_prompts(ctx.lang);
        choose_prompts(&covered, asked)
            .into_iter()
            .filter_map(|p| {
                ctx.module
                    .spec
                    .prompts
                    .get(&p)
                    .or_else(|| starter.get(&p))
                    .cloned()
            })
            .collect()
    } else {
        Vec::new()
    };
    let next = (n < ctx.module.spec.segments.len()).then_some(n + 1);
    let page = FeedbackPage {
        c: tcommon(&ctx, progress(&ctx, n)),
        u: ctx.u,
        base: ctx.base.clone(),
        label: state
            .store
            .segment(ctx.rec.study_id, &key)
            .await?
            .map(|s| s.label)
            .unwrap_or_else(|| key.to_string()),
        show_codes: fb.model_codes,
        answers,
        marks: ex.marks.iter().map(|f| f.label(ctx.lang)).collect(),
        overall,
        groups,
        quotes,
        prompts,
        next,
    };
    Ok(render(&page)?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_never_start_a_formula() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("+1"), "'+1");
        assert_eq!(safe_cell("-1"), "'-1");
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("T01"), "T01");
    }

    #[test]
    fn trainee_codes_are_pseudonyms_without_spaces() {
        assert_eq!(trainee_code(" T01 ").unwrap(), "T01");
        assert!(trainee_code("Ayşe Yılmaz").is_err());
        assert!(trainee_code("").is_err());
        assert!(trainee_code("<b>").is_err());
    }

    #[test]
    fn charts_scale_bars_to_the_share() {
        let c = Chart::single(
            "t",
            vec![
                ("Cause".into(), None),
                ("Patient".into(), Some((1, 3))),
                ("Therapist".into(), Some((0, 0))),
            ],
        );
        assert!(c.rows[0].heading);
        assert_eq!(c.rows[1].bars[0].2, 67); // 200 / 3 rounds to 67
        assert_eq!(c.rows[1].bars[0].4, "1/3 · 33%");
        assert_eq!(c.rows[2].bars[0].2, 0);
    }
}
