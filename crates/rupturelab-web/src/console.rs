//! The researcher console: sign in/out, studies, dashboard, participants and
//! invitations, responses, settings, and the design (segments, questions).
//! Every page requires a signed-in researcher ([`Researcher`]); coders get a
//! 403. State changes are POST forms carrying the session's CSRF token.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use rupturelab_core::order::assign_order;
use rupturelab_core::{
    AttrValue, Key, Language, OrderMode, Participant, ParticipantStatus, StudyData,
};
use rupturelab_store::{OrderAssignment, ParticipantId, Role, StudyId, StudyInfo};
use tower_sessions::Session;

use crate::accounts::{self, AnyUser, AuthSession, Credentials, Researcher};
use crate::error::Error;
use crate::security::csrf_token;
use crate::views::{local_path, render};
use crate::AppState;

/// The console routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/account", get(account))
        .route("/account/token", post(new_api_token))
        .route("/studies", get(studies))
        .route("/studies/{study}", get(dashboard))
        .route(
            "/studies/{study}/participants",
            get(participants).post(add_participants),
        )
        .route(
            "/studies/{study}/participants/{code}",
            get(participant_record),
        )
        .route("/studies/{study}/participants/{code}/invite", post(invite))
        .route("/studies/{study}/participants/{code}/revoke", post(revoke))
        .route("/studies/{study}/invite-all", post(invite_all))
        .route("/studies/{study}/responses", get(responses))
        .route(
            "/studies/{study}/settings",
            get(settings).post(save_settings),
        )
        .route(
            "/studies/{study}/design",
            get(crate::console_design::design),
        )
        .route(
            "/studies/{study}/segments/{key}",
            get(crate::console_design::segment_form).post(crate::console_design::save_segment),
        )
        .route(
            "/studies/{study}/segments",
            post(crate::console_design::new_segment),
        )
        .route(
            "/studies/{study}/questions",
            post(crate::console_design::save_question),
        )
        .route(
            "/studies/{study}/attributes",
            post(crate::console_design::save_attribute),
        )
        .route(
            "/studies/{study}/attributes/defaults",
            post(crate::console_design::default_attributes),
        )
        .route(
            "/studies/{study}/segments/{key}/transcript",
            post(crate::console_design::upload_transcript),
        )
        .route(
            "/studies/{study}/move",
            post(crate::console_design::move_item),
        )
}

/// The navigation bar and CSRF token every console page has.
pub(crate) struct Shell {
    pub user: String,
    pub csrf: String,
    pub study: Option<StudyLink>,
}

/// The current study in the navigation bar.
pub(crate) struct StudyLink {
    pub key: String,
    pub title: String,
}

pub(crate) async fn shell(
    session: &Session,
    user: &rupturelab_store::User,
    study: Option<&StudyInfo>,
) -> Result<Shell, Error> {
    Ok(Shell {
        user: user.username.clone(),
        csrf: csrf_token(session).await?,
        study: study.map(|s| StudyLink {
            key: s.key.clone(),
            title: s.title.clone(),
        }),
    })
}

/// Finds a study by key (404 otherwise).
pub(crate) async fn study_by_key(state: &AppState, key: &str) -> Result<StudyInfo, Error> {
    state
        .store
        .list_studies()
        .await?
        .into_iter()
        .find(|s| s.key == key)
        .ok_or(Error::NotFound)
}

async fn home(auth: AuthSession) -> Response {
    match auth.user {
        Some(u) if u.0.role == Role::Researcher => Redirect::to("/studies").into_response(),
        Some(_) => Redirect::to("/coding").into_response(),
        None => Redirect::to("/login").into_response(),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    title: String,
    csrf: String,
    next: String,
    error: Option<String>,
    no_researcher: bool,
}

#[derive(serde::Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<NextQuery>,
) -> Result<Response, Error> {
    let page = LoginPage {
        title: "Sign in — RuptureLab".into(),
        csrf: csrf_token(&session).await?,
        next: local_path(q.next.as_deref()),
        error: None,
        no_researcher: state.store.count_users(Role::Researcher).await? == 0,
    };
    Ok(render(&page)?.into_response())
}

#[derive(serde::Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    mut auth: AuthSession,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Result<Response, Error> {
    let ip = addr.ip().to_string();
    let attempt = state.login_limiter.begin(&ip, &form.username).await?;
    let user = auth
        .authenticate(Credentials {
            username: form.username.clone(),
            password: form.password,
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    let Some(user) = user else {
        state.login_limiter.failed(attempt).await;
        tracing::info!(client = %ip, "failed login");
        let page = LoginPage {
            title: "Sign in — RuptureLab".into(),
            csrf: csrf_token(&session).await?,
            next: local_path(form.next.as_deref()),
            error: Some("The user name or the password is wrong.".into()),
            no_researcher: false,
        };
        return Ok((axum::http::StatusCode::UNAUTHORIZED, render(&page)?).into_response());
    };
    state.login_limiter.succeeded(attempt).await;
    auth.login(&user)
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    // A fresh CSRF token for the signed-in session.
    let _ = session.remove::<String>("csrf").await;
    tracing::info!(user = %user.0.username, "signed in");
    let default = if user.0.role == Role::Researcher {
        "/studies"
    } else {
        "/coding"
    };
    let next = match form.next.as_deref() {
        Some("/") | None => default.to_string(),
        other => local_path(other),
    };
    Ok(Redirect::to(&next).into_response())
}

async fn logout(mut auth: AuthSession) -> Result<Response, Error> {
    auth.logout()
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(Redirect::to("/login").into_response())
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    title: String,
    s: Shell,
    role: &'static str,
    new_token: Option<String>,
}

async fn account(AnyUser(user): AnyUser, session: Session) -> Result<Response, Error> {
    let page = AccountPage {
        title: "Account — RuptureLab".into(),
        s: shell(&session, &user, None).await?,
        role: user.role.as_str(),
        new_token: None,
    };
    Ok(render(&page)?.into_response())
}

async fn new_api_token(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
) -> Result<Response, Error> {
    let token = accounts::create_api_token(state.store.as_ref(), user.id, "console").await?;
    let page = AccountPage {
        title: "Account — RuptureLab".into(),
        s: shell(&session, &user, None).await?,
        role: user.role.as_str(),
        new_token: Some(token),
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "studies.html")]
struct StudiesPage {
    title: String,
    s: Shell,
    studies: Vec<StudyInfo>,
}

async fn studies(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
) -> Result<Response, Error> {
    let page = StudiesPage {
        title: "Studies — RuptureLab".into(),
        s: shell(&session, &user, None).await?,
        studies: state.store.list_studies().await?,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    title: String,
    s: Shell,
    description: String,
    language: &'static str,
    order: &'static str,
    synthetic: bool,
    segments: usize,
    questions: usize,
    attributes: usize,
    invited: i64,
    started: i64,
    completed: i64,
    per_segment: Vec<(String, i64)>,
    once: i64,
    recent: Vec<(String, String, String)>,
}

async fn dashboard(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path(study): Path<String>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let design = state.store.study_design(info.id).await?;
    let segments = state.store.study_segments(info.id).await?;
    let progress = state.store.study_progress(info.id).await?;
    let mut recent: Vec<_> = state
        .store
        .participant_overview(info.id)
        .await?
        .into_iter()
        .filter_map(|p| {
            p.updated_at
                .map(|t| (t, p.code.to_string(), p.status.as_str().to_string()))
        })
        .collect();
    recent.sort_by_key(|r| std::cmp::Reverse(r.0));
    let page = DashboardPage {
        title: format!("{} — RuptureLab", info.title),
        description: design.meta.description.clone(),
        language: design.meta.language.as_str(),
        order: design.settings.presentation_order.as_str(),
        synthetic: design.meta.synthetic,
        segments: segments.len(),
        questions: design.questions.len(),
        attributes: design.attributes.len(),
        invited: progress.invited,
        started: progress.started,
        completed: progress.completed,
        per_segment: progress
            .answers_per_segment
            .iter()
            .map(|(k, n)| (k.to_string(), *n))
            .collect(),
        once: progress.answers_once,
        recent: recent
            .into_iter()
            .take(10)
            .map(|(t, c, s)| (t.to_rfc3339(), c, s))
            .collect(),
        s: shell(&session, &user, Some(&info)).await?,
    };
    Ok(render(&page)?.into_response())
}

/// One row of the participant table.
struct PRow {
    code: String,
    status: &'static str,
    invited: String,
    consent: &'static str,
    answers: i64,
    step: String,
    order: String,
}

#[derive(Template)]
#[template(path = "participants.html")]
struct ParticipantsPage {
    title: String,
    s: Shell,
    rows: Vec<PRow>,
    attributes: Vec<String>,
    links: Vec<(String, String)>,
    links_csv: String,
    message: Option<String>,
}

async fn participants_page(
    state: &AppState,
    user: &rupturelab_store::User,
    session: &Session,
    info: &StudyInfo,
    links: Vec<(String, String)>,
    message: Option<String>,
) -> Result<Response, Error> {
    let design = state.store.study_design(info.id).await?;
    let rows = state
        .store
        .participant_overview(info.id)
        .await?
        .into_iter()
        .map(|p| PRow {
            code: p.code.to_string(),
            status: p.status.as_str(),
            invited: p.invited_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            consent: match p.consent {
                Some(true) => "yes",
                Some(false) => "declined",
                None => "",
            },
            answers: p.answers,
            step: p.step.unwrap_or_default(),
            order: match (p.order_mode.as_deref(), p.order_row) {
                (Some(m), Some(r)) => format!("{} ({m} row {})", join(&p.order), r + 1),
                (Some(m), None) => format!("{} ({m})", join(&p.order)),
                _ => join(&p.order),
            },
        })
        .collect();
    let links_csv = std::iter::once("code,link".to_string())
        .chain(links.iter().map(|(c, l)| format!("{c},{l}")))
        .collect::<Vec<_>>()
        .join("\n");
    let page = ParticipantsPage {
        title: format!("Participants — {}", info.title),
        s: shell(session, user, Some(info)).await?,
        rows,
        attributes: design
            .attributes
            .iter()
            .map(|a| a.name.to_string())
            .collect(),
        links,
        links_csv,
        message,
    };
    Ok(render(&page)?.into_response())
}

fn join(keys: &[Key]) -> String {
    keys.iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

async fn participants(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path(study): Path<String>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    participants_page(&state, &user, &session, &info, Vec::new(), None).await
}

/// Parses pasted participants: one code per line, or CSV with a `code`
/// header and attribute columns.
pub(crate) fn parse_participant_list(
    text: &str,
    design: &rupturelab_store::StudyDesign,
) -> Result<Vec<Participant>, Error> {
    let text = text.trim();
    let mut out = Vec::new();
    let first = text.lines().next().unwrap_or("");
    if first.split(',').next().map(str::trim) == Some("code") {
        let mut rdr = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers = rdr
            .headers()
            .map_err(|e| Error::Invalid(format!("the CSV header: {e}")))?
            .clone();
        for name in headers.iter().skip(1) {
            if !design.attributes.iter().any(|a| a.name.as_str() == name) {
                return Err(Error::Invalid(format!(
                    "column `{name}` is not an attribute of this study; the attributes are: {}",
                    design
                        .attributes
                        .iter()
                        .map(|a| a.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| Error::Invalid(format!("line {}: {e}", i + 2)))?;
            let code = Key::parse(rec.get(0).unwrap_or(""))
                .map_err(|e| Error::Invalid(format!("line {}: the code {e}", i + 2)))?;
            let mut attributes = BTreeMap::new();
            for (name, raw) in headers.iter().zip(rec.iter()).skip(1) {
                if raw.is_empty() {
                    continue;
                }
                let def = design
                    .attributes
                    .iter()
                    .find(|a| a.name.as_str() == name)
                    .expect("checked above");
                let v: AttrValue = def
                    .parse_value(raw)
                    .map_err(|e| Error::Invalid(format!("line {}, column {name}: {e}", i + 2)))?;
                attributes.insert(name.to_string(), v);
            }
            out.push(Participant {
                code,
                status: ParticipantStatus::Invited,
                order: Vec::new(),
                attributes,
            });
        }
    } else {
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let code = Key::parse(line)
                .map_err(|e| Error::Invalid(format!("line {}: the code {e}", i + 1)))?;
            out.push(Participant {
                code,
                status: ParticipantStatus::Invited,
                order: Vec::new(),
                attributes: BTreeMap::new(),
            });
        }
    }
    let mut seen = std::collections::HashSet::new();
    for p in &out {
        if !seen.insert(p.code.clone()) {
            return Err(Error::Invalid(format!("code `{}` appears twice", p.code)));
        }
    }
    if out.is_empty() {
        return Err(Error::Invalid("no participant codes were given".into()));
    }
    Ok(out)
}

/// The public base URL for links: the configured one, or this request's host.
pub(crate) fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(b) = &state.config.base_url {
        return b.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// Issues (or reissues) a participant's invitation; assigns their order the
/// first time. Returns the link, which is shown once and stored only hashed.
pub(crate) async fn issue_link(
    state: &AppState,
    study: StudyId,
    pid: ParticipantId,
    code: &str,
    base: &str,
) -> Result<String, Error> {
    let overview = state.store.participant_overview(study).await?;
    let assigned = overview
        .iter()
        .find(|p| p.code.as_str() == code)
        .is_some_and(|p| p.order_mode.is_some() || !p.order.is_empty());
    if !assigned {
        let design = state.store.study_design(study).await?;
        let segments: Vec<Key> = state
            .store
            .study_segments(study)
            .await?
            .into_iter()
            .map(|s| s.key)
            .collect();
        let index = state.store.count_assigned_orders(study).await?;
        let mut seed = [0u8; 8];
        getrandom::fill(&mut seed).map_err(|e| Error::Internal(e.to_string()))?;
        let mode = design.settings.presentation_order;
        let a = assign_order(mode, &segments, index, u64::from_le_bytes(seed));
        state
            .store
            .assign_order(
                pid,
                &OrderAssignment {
                    mode,
                    row: a.row,
                    order: a.order,
                },
            )
            .await?;
    }
    let token = accounts::new_token();
    state
        .store
        .issue_invitation(pid, &accounts::token_hash(&token))
        .await?;
    tracing::info!(participant = %code, "invitation link issued");
    Ok(format!("{base}/p/{token}"))
}

#[derive(serde::Deserialize)]
struct AddForm {
    list: String,
    invite: Option<String>,
}

async fn add_participants(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    headers: HeaderMap,
    Path(study): Path<String>,
    Form(form): Form<AddForm>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let design = state.store.study_design(info.id).await?;
    let list = parse_participant_list(&form.list, &design)?;
    for p in &list {
        if state
            .store
            .participant_id(info.id, p.code.as_str())
            .await?
            .is_some()
        {
            return Err(Error::Conflict(format!(
                "a participant with code `{}` already exists; nothing was added",
                p.code
            )));
        }
    }
    let base = base_url(&state, &headers);
    let mut links = Vec::new();
    for p in &list {
        let pid = state.store.add_participant(info.id, p).await?;
        if form.invite.is_some() {
            links.push((
                p.code.to_string(),
                issue_link(&state, info.id, pid, p.code.as_str(), &base).await?,
            ));
        }
    }
    let msg = format!("Added {} participant(s).", list.len());
    participants_page(&state, &user, &session, &info, links, Some(msg)).await
}

async fn invite(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    headers: HeaderMap,
    Path((study, code)): Path<(String, String)>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let pid = state
        .store
        .participant_id(info.id, &code)
        .await?
        .ok_or(Error::NotFound)?;
    let link = issue_link(&state, info.id, pid, &code, &base_url(&state, &headers)).await?;
    participants_page(
        &state,
        &user,
        &session,
        &info,
        vec![(code.clone(), link)],
        Some(format!(
            "New link for {code}; any earlier link of {code} no longer works."
        )),
    )
    .await
}

async fn invite_all(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    headers: HeaderMap,
    Path(study): Path<String>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let base = base_url(&state, &headers);
    let mut links = Vec::new();
    for p in state.store.participant_overview(info.id).await? {
        // Never-invited participants only: a revoked link stays revoked.
        if p.links_issued == 0 && p.status == ParticipantStatus::Invited {
            let pid = state
                .store
                .participant_id(info.id, p.code.as_str())
                .await?
                .ok_or(Error::NotFound)?;
            links.push((
                p.code.to_string(),
                issue_link(&state, info.id, pid, p.code.as_str(), &base).await?,
            ));
        }
    }
    let msg = format!(
        "Issued {} link(s) to participants without one.",
        links.len()
    );
    participants_page(&state, &user, &session, &info, links, Some(msg)).await
}

async fn revoke(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path((study, code)): Path<(String, String)>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let pid = state
        .store
        .participant_id(info.id, &code)
        .await?
        .ok_or(Error::NotFound)?;
    state.store.revoke_invitation(pid).await?;
    tracing::info!(participant = %code, "invitation link revoked");
    participants_page(
        &state,
        &user,
        &session,
        &info,
        Vec::new(),
        Some(format!("The link of {code} was revoked.")),
    )
    .await
}

/// A response row for the console table.
struct RRow {
    participant: String,
    segment: String,
    question: String,
    answer: String,
    updated: String,
}

fn answer_text(a: &rupturelab_core::Answer) -> String {
    match a {
        rupturelab_core::Answer::Text(t) => t.clone(),
        rupturelab_core::Answer::Rating(r) => r.to_string(),
        rupturelab_core::Answer::Choice(c) => c.clone(),
    }
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct ResponseFilter {
    pub segment: Option<String>,
    pub question: Option<String>,
    pub attribute: Option<String>,
    pub value: Option<String>,
    pub participant: Option<String>,
}

/// Filters a loaded study's responses.
pub(crate) fn filter_responses<'a>(
    data: &'a StudyData,
    f: &ResponseFilter,
) -> Vec<&'a rupturelab_core::Response> {
    let nonempty = |o: &Option<String>| o.as_deref().filter(|s| !s.is_empty()).map(str::to_string);
    let (seg, q, attr, val, part) = (
        nonempty(&f.segment),
        nonempty(&f.question),
        nonempty(&f.attribute),
        nonempty(&f.value),
        nonempty(&f.participant),
    );
    data.responses
        .iter()
        .filter(|r| match &seg {
            Some(s) if s == "-" => r.key.segment.is_none(),
            Some(s) => r.key.segment.as_ref().is_some_and(|k| k.as_str() == s),
            None => true,
        })
        .filter(|r| q.as_ref().is_none_or(|q| r.key.question.as_str() == q))
        .filter(|r| {
            part.as_ref()
                .is_none_or(|p| r.key.participant.as_str() == p)
        })
        .filter(|r| match (&attr, &val) {
            (Some(a), Some(v)) => data
                .participants
                .iter()
                .find(|p| p.code == r.key.participant)
                .and_then(|p| p.attributes.get(a))
                .is_some_and(|x| x.to_string() == *v),
            _ => true,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "responses.html")]
struct ResponsesPage {
    title: String,
    s: Shell,
    rows: Vec<RRow>,
    segments: Vec<String>,
    questions: Vec<String>,
    attributes: Vec<String>,
    f_segment: String,
    f_question: String,
    f_attribute: String,
    f_value: String,
    f_participant: String,
    total: usize,
}

async fn responses(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path(study): Path<String>,
    Query(f): Query<ResponseFilter>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let data = state.store.load_study(info.id).await?;
    let rows = filter_responses(&data, &f)
        .into_iter()
        .map(|r| RRow {
            participant: r.key.participant.to_string(),
            segment: r
                .key
                .segment
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_default(),
            question: r.key.question.to_string(),
            answer: answer_text(&r.answer),
            updated: r.updated_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        })
        .collect();
    let page = ResponsesPage {
        title: format!("Responses — {}", info.title),
        rows,
        segments: data.segments.iter().map(|s| s.key.to_string()).collect(),
        questions: data.questions.iter().map(|q| q.key.to_string()).collect(),
        attributes: data.attributes.iter().map(|a| a.name.to_string()).collect(),
        f_segment: f.segment.unwrap_or_default(),
        f_question: f.question.unwrap_or_default(),
        f_attribute: f.attribute.unwrap_or_default(),
        f_value: f.value.unwrap_or_default(),
        f_participant: f.participant.unwrap_or_default(),
        total: data.responses.len(),
        s: shell(&session, &user, Some(&info)).await?,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "participant.html")]
struct ParticipantRecordPage {
    title: String,
    s: Shell,
    code: String,
    status: String,
    attributes: Vec<(String, String)>,
    order: String,
    answers: Vec<RRow>,
}

async fn participant_record(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path((study, code)): Path<(String, String)>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let data = state.store.load_study(info.id).await?;
    let p = data
        .participants
        .iter()
        .find(|p| p.code.as_str() == code)
        .ok_or(Error::NotFound)?;
    let f = ResponseFilter {
        participant: Some(code.clone()),
        ..Default::default()
    };
    let page = ParticipantRecordPage {
        title: format!("{code} — {}", info.title),
        code: code.clone(),
        status: p.status.as_str().into(),
        attributes: data
            .attributes
            .iter()
            .map(|a| {
                (
                    a.label.clone(),
                    p.attributes
                        .get(a.name.as_str())
                        .map(|v| v.to_string())
                        .unwrap_or_default(),
                )
            })
            .collect(),
        order: join(&p.order),
        answers: filter_responses(&data, &f)
            .into_iter()
            .map(|r| RRow {
                participant: code.clone(),
                segment: r
                    .key
                    .segment
                    .as_ref()
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                question: r.key.question.to_string(),
                answer: answer_text(&r.answer),
                updated: r.updated_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            })
            .collect(),
        s: shell(&session, &user, Some(&info)).await?,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    title: String,
    s: Shell,
    language: &'static str,
    order: &'static str,
    consent: String,
    welcome: String,
    thanks: String,
    message: Option<String>,
}

async fn settings_page(
    state: &AppState,
    user: &rupturelab_store::User,
    session: &Session,
    info: &StudyInfo,
    message: Option<String>,
) -> Result<Response, Error> {
    let d = state.store.study_design(info.id).await?;
    let page = SettingsPage {
        title: format!("Settings — {}", info.title),
        language: d.meta.language.as_str(),
        order: d.settings.presentation_order.as_str(),
        consent: d.settings.consent_text.clone().unwrap_or_default(),
        welcome: d.settings.welcome_text.clone().unwrap_or_default(),
        thanks: d.settings.thanks_text.clone().unwrap_or_default(),
        message,
        s: shell(session, user, Some(info)).await?,
    };
    Ok(render(&page)?.into_response())
}

async fn settings(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path(study): Path<String>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    settings_page(&state, &user, &session, &info, None).await
}

/// The settings form (also the API's settings body).
#[derive(serde::Deserialize)]
pub(crate) struct SettingsForm {
    pub language: String,
    pub presentation_order: String,
    pub consent_text: Option<String>,
    pub welcome_text: Option<String>,
    pub thanks_text: Option<String>,
}

/// Applies a settings form to a study.
pub(crate) async fn apply_settings(
    state: &AppState,
    study: StudyId,
    form: &SettingsForm,
) -> Result<(), Error> {
    let language = Language::parse(&form.language).map_err(Error::Invalid)?;
    let order = OrderMode::parse(&form.presentation_order).map_err(Error::Invalid)?;
    let mut d = state.store.study_design(study).await?;
    let text = |s: &Option<String>| {
        s.as_deref()
            .map(rupturelab_core::text::normalize)
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
    };
    d.settings.presentation_order = order;
    d.settings.consent_text = text(&form.consent_text);
    d.settings.welcome_text = text(&form.welcome_text);
    d.settings.thanks_text = text(&form.thanks_text);
    state
        .store
        .update_settings(study, language, &d.settings)
        .await?;
    Ok(())
}

async fn save_settings(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path(study): Path<String>,
    Form(form): Form<SettingsForm>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    apply_settings(&state, info.id, &form).await?;
    tracing::info!(study = %info.key, "settings changed");
    settings_page(
        &state,
        &user,
        &session,
        &info,
        Some("Settings saved.".into()),
    )
    .await
}
