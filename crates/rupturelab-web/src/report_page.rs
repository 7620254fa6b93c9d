//! The researcher console's Report page: choose format (HTML, Markdown,
//! Word), coding layer, language and date, and download the same report
//! `rupturelab report` writes; see the quotes each theme would get and pin or
//! exclude them (stored in the database, audited, and applied by the command
//! line too). Researchers only; the quote changes are CSRF-checked POSTs.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use rupturelab_core::{CodePath, Key, Language, ResponseKey, StudyData, Timestamp};
use rupturelab_report::{QuoteRef, QuoteRules, ReportOptions};
use rupturelab_store::{QuoteRule, QuoteRuleKind, StudyInfo};
use tower_sessions::Session;

use crate::accounts::Researcher;
use crate::console::{shell, study_by_key, Shell};
use crate::error::Error;
use crate::views::{render, url_encode};
use crate::AppState;

/// The Report page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/studies/{study}/report", get(page))
        .route("/studies/{study}/report/download", get(download))
        .route("/studies/{study}/report/quotes", post(change_quote))
}

/// One quote the report would print.
struct QuoteRow {
    response: String,
    text: String,
    group: String,
    pinned: bool,
}

/// A theme and its quotes.
struct ThemeRow {
    path: String,
    name: String,
    quotes: Vec<QuoteRow>,
}

/// A stored pin or exclusion.
struct RuleRow {
    kind: &'static str,
    theme: String,
    response: String,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    title: String,
    s: Shell,
    layers: Vec<String>,
    layer: String,
    date: String,
    themes: Vec<ThemeRow>,
    rules: Vec<RuleRow>,
    message: Option<String>,
    warnings: Vec<String>,
}

#[derive(serde::Deserialize)]
struct PageQuery {
    layer: Option<String>,
}

/// The session key of the message shown once after a quote change.
const FLASH: &str = "report_flash";

/// The stored rules as the report's pins and exclusions.
fn report_rules(rules: &[QuoteRule]) -> QuoteRules {
    let mut out = QuoteRules::default();
    for r in rules {
        let q = QuoteRef {
            theme: r.theme.as_ref().map(|t| t.to_string()),
            response: r.response.clone(),
        };
        match r.kind {
            QuoteRuleKind::Pin => out.pins.push(q),
            QuoteRuleKind::Exclude => out.excludes.push(q),
        }
    }
    out
}

/// `consensus` (when it has codings or no coder does) and the coders.
fn layers(study: &StudyData) -> Vec<String> {
    let mut out = vec![rupturelab_core::CONSENSUS.to_string()];
    for c in &study.coders {
        if c.name.as_str() != rupturelab_core::CONSENSUS {
            out.push(c.name.to_string());
        }
    }
    out
}

fn check_layer(study: &StudyData, layer: &str) -> Result<(), Error> {
    if layers(study).iter().any(|l| l == layer) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "layer: `{layer}` is neither `consensus` nor a coder of this study"
        )))
    }
}

async fn load(state: &AppState, info: &StudyInfo) -> Result<(StudyData, Vec<QuoteRule>), Error> {
    let study = state.store.load_study(info.id).await?;
    let rules = state.store.quote_rules(info.id).await?;
    Ok((study, rules))
}

async fn page(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path(study_key): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study_key).await?;
    let (study, rules) = load(&state, &info).await?;
    let layer = q
        .layer
        .unwrap_or_else(|| rupturelab_core::CONSENSUS.to_string());
    check_layer(&study, &layer)?;
    let report_rules = report_rules(&rules);
    let rule_rows = rules
        .iter()
        .map(|r| RuleRow {
            kind: r.kind.as_str(),
            theme: r.theme.as_ref().map(|t| t.to_string()).unwrap_or_default(),
            response: r.response.to_string(),
        })
        .collect();
    let layer_list = layers(&study);
    let layer2 = layer.clone();
    // Choosing quotes reads every coding: off the async threads.
    let (themes, warnings) = tokio::task::spawn_blocking(move || {
        let opts = ReportOptions::new(&study, "2000-01-01");
        let attr = rupturelab_report::model::quote_attribute(&study, &opts.by);
        let themes: Vec<&CodePath> = study
            .codes
            .iter()
            .filter(|c| c.path.depth() == 2)
            .map(|c| &c.path)
            .collect();
        let (mut quotes, warnings) = rupturelab_report::quotes::choose_quotes(
            &study,
            &layer2,
            &themes,
            attr.as_deref(),
            &report_rules,
            opts.max_quotes,
        );
        let rows: Vec<ThemeRow> = study
            .codes
            .iter()
            .filter(|c| c.path.depth() == 2)
            .map(|c| ThemeRow {
                path: c.path.to_string(),
                name: c.name.clone(),
                quotes: quotes
                    .remove(c.path.as_str())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|q| QuoteRow {
                        response: q.response.to_string(),
                        text: q.text,
                        group: q.group.unwrap_or_default(),
                        pinned: q.pinned,
                    })
                    .collect(),
            })
            .collect();
        (rows, warnings)
    })
    .await
    .map_err(|e| Error::Internal(format!("choosing quotes: {e}")))?;
    let page = ReportPage {
        title: format!("Report — {} — RuptureLab", info.title),
        s: shell(&session, &user, Some(&info)).await?,
        layers: layer_list,
        layer,
        date: Timestamp::now().to_rfc3339()[..10].to_string(),
        themes,
        rules: rule_rows,
        message: session.remove::<String>(FLASH).await.ok().flatten(),
        warnings,
    };
    Ok(render(&page)?.into_response())
}

#[derive(serde::Deserialize)]
struct DownloadQuery {
    format: Option<String>,
    layer: Option<String>,
    lang: Option<String>,
    date: Option<String>,
}

async fn download(
    State(state): State<AppState>,
    Researcher(_user): Researcher,
    Path(study_key): Path<String>,
    Query(q): Query<DownloadQuery>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study_key).await?;
    let (format, ext, mime) = match q.format.as_deref().unwrap_or("html") {
        "html" => (
            rupturelab_report::Format::Html,
            "html",
            "text/html; charset=utf-8",
        ),
        "md" => (
            rupturelab_report::Format::Markdown,
            "md",
            "text/markdown; charset=utf-8",
        ),
        "docx" => (
            rupturelab_report::Format::Docx,
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        other => {
            return Err(Error::Invalid(format!(
                "format: `{other}` is not a report format; choose html, md or docx"
            )))
        }
    };
    let lang = match q.lang.as_deref().unwrap_or("en") {
        "en" => Language::En,
        "tr" => Language::Tr,
        other => {
            return Err(Error::Invalid(format!(
                "lang: `{other}` is not a report language; choose en or tr"
            )))
        }
    };
    let date = match q.date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => d.to_string(),
        None => Timestamp::now().to_rfc3339()[..10].to_string(),
    };
    rupturelab_report::check_date(&date).map_err(|e| Error::Invalid(format!("date: {e}")))?;
    let (study, rules) = load(&state, &info).await?;
    let layer = q
        .layer
        .unwrap_or_else(|| rupturelab_core::CONSENSUS.to_string());
    check_layer(&study, &layer)?;
    let quotes = report_rules(&rules);
    let training =
        rupturelab_store::training::study_training(state.store.as_ref(), info.id).await?;
    let bytes = tokio::task::spawn_blocking(move || {
        let mut opts = ReportOptions::new(&study, &date);
        opts.layer = layer;
        opts.lang = lang;
        opts.quotes = quotes;
        opts.training = training;
        rupturelab_report::render(&study, opts, format)
    })
    .await
    .map_err(|e| Error::Internal(format!("report: {e}")))?
    .map_err(|e| Error::Invalid(e.to_string()))?;
    tracing::info!(study = %info.key, format = ext, "report downloaded");
    let name = format!("{}-report.{ext}", info.key);
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}\"",
                    name.replace(['"', '\\'], "_")
                ),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[derive(serde::Deserialize)]
struct QuoteForm {
    action: String,
    theme: Option<String>,
    response: String,
    layer: Option<String>,
}

/// Reads `P/S/Q` (segment empty for a question asked once).
fn response_key(s: &str) -> Result<ResponseKey, Error> {
    rupturelab_report::QuoteRef::parse(s.trim())
        .ok()
        .filter(|q| q.theme.is_none())
        .map(|q| q.response)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "response: `{s}` does not name an answer; write PARTICIPANT/SEGMENT/QUESTION, e.g. P03/S2/Q1"
            ))
        })
}

async fn change_quote(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path(study_key): Path<String>,
    Form(form): Form<QuoteForm>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study_key).await?;
    let (kind, add) = match form.action.as_str() {
        "pin" => (QuoteRuleKind::Pin, true),
        "exclude" => (QuoteRuleKind::Exclude, true),
        "unpin" => (QuoteRuleKind::Pin, false),
        "unexclude" => (QuoteRuleKind::Exclude, false),
        other => {
            return Err(Error::Invalid(format!(
                "action: `{other}` is not one of pin, exclude, unpin, unexclude"
            )))
        }
    };
    let theme = match form
        .theme
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(t) => Some(CodePath::parse(t).map_err(|e| Error::Invalid(format!("theme: {e}")))?),
        None => None,
    };
    let rule = QuoteRule {
        kind,
        theme,
        response: response_key(&form.response)?,
    };
    let actor = format!("web:{}", user.username);
    let changed = if add {
        state.store.add_quote_rule(info.id, &rule, &actor).await?
    } else {
        state
            .store
            .remove_quote_rule(info.id, &rule, &actor)
            .await?
    };
    let message = match (add, changed, kind) {
        (true, true, QuoteRuleKind::Pin) => format!("Pinned {rule}."),
        (true, true, QuoteRuleKind::Exclude) => format!("Excluded {rule}."),
        (true, false, _) => format!("{rule} was already {}.", past(kind)),
        (false, true, _) => format!("{rule} is no longer {}.", past(kind)),
        (false, false, _) => format!("{rule} was not {}.", past(kind)),
    };
    tracing::info!(study = %info.key, action = %form.action, "quote rule changed");
    session
        .insert(FLASH, message)
        .await
        .map_err(|e| Error::Internal(format!("session: {e}")))?;
    let mut to = format!("/studies/{}/report", url_encode(&info.key));
    if let Some(l) = form.layer.filter(|l| Key::parse(l).is_ok()) {
        to.push_str(&format!("?layer={}", url_encode(&l)));
    }
    Ok(Redirect::to(&to).into_response())
}

fn past(kind: QuoteRuleKind) -> &'static str {
    match kind {
        QuoteRuleKind::Pin => "pinned",
        QuoteRuleKind::Exclude => "excluded",
    }
}
