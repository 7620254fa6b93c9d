//! The audit trail: `/studies/{study}/audit` (a filterable, paged list of
//! the study's `audit_events`) and `/studies/{study}/audit.csv` (the same
//! filter as CSV). Researchers only.
//!
//! The CSV is quoted by the `csv` crate and safe to open in a spreadsheet:
//! a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is
//! prefixed with `'` so it is never run as a formula.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rupturelab_core::Timestamp;
use rupturelab_store::AuditFilter;
use tower_sessions::Session;

use crate::accounts::Researcher;
use crate::console::{shell, study_by_key, Shell};
use crate::error::Error;
use crate::views::render;
use crate::AppState;

/// Events per page.
pub const PAGE_SIZE: i64 = 50;
/// The most events one CSV export holds.
pub const CSV_LIMIT: i64 = 1_000_000;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/studies/{study}/audit", get(page))
        .route("/studies/{study}/audit.csv", get(csv_export))
}

/// The query string of both routes.
#[derive(serde::Deserialize, Default)]
struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    entity: Option<String>,
    /// A date, `YYYY-MM-DD` (from its start, UTC).
    from: Option<String>,
    /// A date, `YYYY-MM-DD` (to its end, UTC).
    to: Option<String>,
    page: Option<String>,
}

fn date(field: &str, s: &Option<String>, end_of_day: bool) -> Result<Option<Timestamp>, Error> {
    let Some(s) = s.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let ok = s.len() == 10
        && s.char_indices().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    let t = ok
        .then(|| Timestamp::parse_rfc3339(&format!("{s}T00:00:00Z")).ok())
        .flatten()
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{field}: `{s}` is not a date; use YYYY-MM-DD, e.g. 2026-03-01"
            ))
        })?;
    Ok(Some(if end_of_day {
        Timestamp(t.0 + 86_400_000)
    } else {
        t
    }))
}

impl AuditQuery {
    fn filter(&self) -> Result<AuditFilter, Error> {
        let text = |o: &Option<String>| {
            o.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        Ok(AuditFilter {
            actor: text(&self.actor),
            action: text(&self.action),
            entity: text(&self.entity),
            from: date("from", &self.from, false)?,
            to: date("to", &self.to, true)?,
        })
    }

    fn page(&self) -> Result<i64, Error> {
        match self
            .page
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Ok(1),
            Some(p) => match p.parse::<i64>() {
                Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
                _ => Err(Error::Invalid(format!(
                    "page: `{p}` is not a page number (1, 2, …)"
                ))),
            },
        }
    }

    /// The filter as a query string (for paging and export links).
    fn query_string(&self, page: Option<i64>) -> String {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("actor", &self.actor),
            ("action", &self.action),
            ("entity", &self.entity),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(v) = v.as_deref().filter(|s| !s.is_empty()) {
                ser.append_pair(k, v);
            }
        }
        if let Some(p) = page {
            ser.append_pair("page", &p.to_string());
        }
        ser.finish()
    }
}

struct Row {
    at: String,
    actor: String,
    action: String,
    entity: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    title: String,
    s: Shell,
    rows: Vec<Row>,
    actors: Vec<String>,
    actions: Vec<String>,
    f_actor: String,
    f_action: String,
    f_entity: String,
    f_from: String,
    f_to: String,
    total: i64,
    page: i64,
    pages: i64,
    prev: Option<String>,
    next: Option<String>,
    csv: String,
}

async fn page(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path(study): Path<String>,
    Query(q): Query<AuditQuery>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let filter = q.filter()?;
    let page = q.page()?;
    let (events, total) = state
        .store
        .audit_page(info.id, &filter, (page - 1) * PAGE_SIZE, PAGE_SIZE)
        .await?;
    let facets = state.store.audit_facets(info.id).await?;
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let page = AuditPage {
        title: format!("Audit trail — {}", info.title),
        rows: events
            .into_iter()
            .map(|e| Row {
                at: e.at.to_rfc3339(),
                actor: e.actor,
                action: e.action,
                entity: e.entity,
                detail: e.detail,
            })
            .collect(),
        actors: facets.actors,
        actions: facets.actions,
        f_actor: q.actor.clone().unwrap_or_default(),
        f_action: q.action.clone().unwrap_or_default(),
        f_entity: q.entity.clone().unwrap_or_default(),
        f_from: q.from.clone().unwrap_or_default(),
        f_to: q.to.clone().unwrap_or_default(),
        total,
        page,
        pages,
        prev: (page > 1).then(|| q.query_string(Some(page - 1))),
        next: (page < pages).then(|| q.query_string(Some(page + 1))),
        csv: q.query_string(None),
        s: shell(&session, &user, Some(&info)).await?,
    };
    Ok(render(&page)?.into_response())
}

/// A cell that a spreadsheet will not run as a formula.
pub fn safe_cell(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

async fn csv_export(
    State(state): State<AppState>,
    Researcher(_user): Researcher,
    Path(study): Path<String>,
    Query(q): Query<AuditQuery>,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let filter = q.filter()?;
    let (events, _) = state
        .store
        .audit_page(info.id, &filter, 0, CSV_LIMIT)
        .await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| Error::Internal(format!("csv: {e}"));
    w.write_record(["at", "actor", "action", "entity", "detail"])
        .map_err(internal)?;
    for e in &events {
        let at = e.at.to_rfc3339();
        w.write_record([
            safe_cell(&at).as_ref(),
            safe_cell(&e.actor).as_ref(),
            safe_cell(&e.action).as_ref(),
            safe_cell(&e.entity).as_ref(),
            safe_cell(&e.detail).as_ref(),
        ])
        .map_err(internal)?;
    }
    let body = w
        .into_inner()
        .map_err(|e| Error::Internal(format!("csv: {e}")))?;
    let name: String = info
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
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"audit-{name}.csv\""),
            ),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_defused() {
        for s in ["=1+1", "+A1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(safe_cell(s), format!("'{s}"));
        }
        assert_eq!(safe_cell("coding.add"), "coding.add");
        assert_eq!(safe_cell(""), "");
    }

    #[test]
    fn dates_are_checked_and_name_the_field() {
        assert_eq!(date("from", &None, false).unwrap(), None);
        let t = date("from", &Some("2026-03-01".into()), false)
            .unwrap()
            .unwrap();
        let end = date("to", &Some("2026-03-01".into()), true)
            .unwrap()
            .unwrap();
        assert_eq!(end.0 - t.0, 86_400_000);
        let e = date("to", &Some("01/03/2026".into()), true).unwrap_err();
        assert!(e.to_string().starts_with("to: "), "{e}");
        assert!(date("from", &Some("2026-13-45".into()), false).is_err());
    }
}
