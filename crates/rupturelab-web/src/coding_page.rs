//! The coding pages: `/coding` (the studies to code), `/coding/{study}` (the
//! coding screen, driven by `static/coding.js` through the coding API) and
//! `/coding/{study}/setup` (the researcher's blind mode and assignments, as
//! plain forms with the session's CSRF token).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use rupturelab_store::{Assignment, StudyInfo};
use tower_sessions::Session;

use crate::accounts::{AnyUser, Researcher};
use crate::coding_api::{AssignIn, Coder, QueueQuery};
use crate::console::{shell, study_by_key, Shell};
use crate::error::Error;
use crate::views::{render, url_encode};
use crate::AppState;

/// The coding page routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/coding", get(index))
        .route("/coding/{study}", get(screen))
        .route("/coding/{study}/setup", get(setup))
        .route("/coding/{study}/setup/blind", post(set_blind))
        .route("/coding/{study}/setup/assign", post(assign))
}

#[derive(Template)]
#[template(path = "coding.html")]
struct IndexPage {
    title: String,
    s: Shell,
    studies: Vec<StudyInfo>,
    researcher: bool,
}

async fn index(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    session: Session,
) -> Result<Response, Error> {
    let page = IndexPage {
        title: "Coding — RuptureLab".into(),
        s: shell(&session, &user, None).await?,
        studies: state.store.list_studies().await?,
        researcher: user.role == rupturelab_store::Role::Researcher,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "coding_screen.html")]
struct ScreenPage {
    title: String,
    s: Shell,
    study: String,
    me: String,
    segments: Vec<(String, String)>,
    questions: Vec<String>,
    attributes: Vec<String>,
    states: Vec<(String, String)>,
    f_segment: String,
    f_question: String,
    f_attribute: String,
    f_value: String,
    f_state: String,
}

async fn screen(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    session: Session,
    Path(study): Path<String>,
    Query(q): Query<QueueQuery>,
) -> Result<Response, Error> {
    let c = Coder::of(user)?;
    let info = study_by_key(&state, &study).await?;
    let design = state.store.study_design(info.id).await?;
    let segments = state.store.study_segments(info.id).await?;
    let blind = !c.researcher && state.store.coding_blind(info.id).await?;
    let mut states = vec![
        ("all".to_string(), "all responses".to_string()),
        ("uncoded".into(), "not coded by me".into()),
        ("mine".into(), "coded by me".into()),
    ];
    if !blind {
        states.push(("disputed".into(), "disputed".into()));
    }
    let text = |o: &Option<String>| o.clone().unwrap_or_default();
    let page = ScreenPage {
        title: format!("Coding {} — RuptureLab", info.title),
        s: shell(&session, &c.user, None).await?,
        study: info.key.clone(),
        me: c.key.to_string(),
        segments: segments
            .iter()
            .map(|s| (s.key.to_string(), s.label.clone()))
            .collect(),
        questions: design
            .questions
            .iter()
            .filter(|q| q.kind.name() == "open")
            .map(|q| q.key.to_string())
            .collect(),
        attributes: design
            .attributes
            .iter()
            .map(|a| a.name.to_string())
            .collect(),
        states,
        f_segment: text(&q.segment),
        f_question: text(&q.question),
        f_attribute: text(&q.attribute),
        f_value: text(&q.value),
        f_state: q.state.clone().unwrap_or_else(|| "all".into()),
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "coding_setup.html")]
struct SetupPage {
    title: String,
    s: Shell,
    study: String,
    blind: bool,
    coders: Vec<(String, String, i64, i64)>,
    message: Option<String>,
    suggestions: crate::suggest_api::SetupView,
}

#[derive(serde::Deserialize)]
struct MessageQuery {
    done: Option<String>,
}

async fn setup(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path(study): Path<String>,
    Query(m): Query<MessageQuery>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let setup = state.store.coding_setup(info.id).await?;
    let page = SetupPage {
        title: format!("Coders of {} — RuptureLab", info.title),
        s: shell(&session, &user, Some(&info)).await?,
        study: info.key.clone(),
        blind: setup.blind,
        coders: setup
            .coders
            .iter()
            .map(|c| {
                let a = match c.assignment {
                    Assignment::All => "all responses".to_string(),
                    Assignment::Share { percent, seed } => {
                        format!("{percent}% share, seed {seed}")
                    }
                };
                (c.name.to_string(), a, c.assigned, c.coded)
            })
            .collect(),
        message: m.done,
        suggestions: crate::suggest_api::setup_view(&state, info.id).await?,
    };
    Ok(render(&page)?.into_response())
}

#[derive(serde::Deserialize)]
struct BlindForm {
    blind: String,
}

async fn set_blind(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    Path(study): Path<String>,
    Form(f): Form<BlindForm>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let blind = match f.blind.as_str() {
        "true" => true,
        "false" => false,
        o => {
            return Err(Error::Invalid(format!(
                "blind: `{o}` is neither true nor false"
            )))
        }
    };
    state
        .store
        .set_blind(info.id, blind, &user.username)
        .await?;
    let msg = if blind {
        "The study is blind now."
    } else {
        "The study is unblinded now."
    };
    Ok(Redirect::to(&format!(
        "/coding/{}/setup?done={}",
        url_encode(&info.key),
        url_encode(msg)
    ))
    .into_response())
}

#[derive(serde::Deserialize)]
struct AssignForm {
    coder: String,
    mode: String,
    percent: Option<String>,
    seed: Option<String>,
}

async fn assign(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    Path(study): Path<String>,
    Form(f): Form<AssignForm>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let coder = rupturelab_core::Key::parse(f.coder.trim())
        .map_err(|e| Error::Invalid(format!("coder: the name {e}")))?;
    fn nonempty(o: &Option<String>) -> Option<&str> {
        o.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    let a = AssignIn {
        mode: f.mode,
        percent: nonempty(&f.percent)
            .map(|p| {
                p.parse::<f64>()
                    .map_err(|_| Error::Invalid(format!("percent: `{p}` is not a number")))
            })
            .transpose()?,
        seed: nonempty(&f.seed)
            .map(|p| {
                p.parse::<u64>().map_err(|_| {
                    Error::Invalid(format!("seed: `{p}` is not a whole number of 0 or more"))
                })
            })
            .transpose()?,
    };
    let n = state
        .store
        .set_assignment(info.id, &coder, a.assignment()?, &user.username)
        .await?;
    let msg = format!("{coder} is assigned {n} responses.");
    Ok(Redirect::to(&format!(
        "/coding/{}/setup?done={}",
        url_encode(&info.key),
        url_encode(&msg)
    ))
    .into_response())
}
