//! The agreement page `/studies/{study}/agreement` (researchers only: it
//! shows every coder's agreement, which blind coders must not see).
//!
//! The numbers come from `rupturelab_core::agreement` exactly as the CLI's
//! `rupturelab agreement` gets them: `agreement_coders` (the default coders),
//! `code_agreement_table` (per code) and `overall_masi` (response × set of
//! codes); this module only formats them. Query: `coders` (repeated, at
//! least two), `unit` (`presence`, `masi` or `character`), `bootstrap`
//! (replicates for the CIs, 0 = none) and `seed`.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rupturelab_core::agreement::{
    agreement_coders, code_agreement_table, overall_masi, BootstrapMethod, BootstrapOptions,
    CodeAgreementOptions, CodeFlag, CodeUnit, Coefficient, KappaValue,
};
use rupturelab_core::StudyData;
use tower_sessions::Session;

use crate::accounts::Researcher;
use crate::console::{shell, study_by_key, Shell};
use crate::error::Error;
use crate::views::render;
use crate::AppState;

/// Default bootstrap replicates (as the CLI).
pub const DEFAULT_REPLICATES: usize = 1000;
/// The most bootstrap replicates the page computes.
pub const MAX_REPLICATES: usize = 5000;
/// Default bootstrap seed (as the CLI).
pub const DEFAULT_SEED: u64 = 20070101;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/studies/{study}/agreement", get(page))
}

/// The unit of analysis chosen on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageUnit {
    /// Response × code presence (per code).
    Presence,
    /// Response × set of codes, MASI distance (overall).
    Masi,
    /// Character (code point) × code (per code).
    Character,
}

impl PageUnit {
    fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "" | "presence" => Ok(PageUnit::Presence),
            "masi" => Ok(PageUnit::Masi),
            "character" => Ok(PageUnit::Character),
            o => Err(Error::Invalid(format!(
                "unit: `{o}` is not a unit of analysis; use presence, masi or character"
            ))),
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            PageUnit::Presence => "presence",
            PageUnit::Masi => "masi",
            PageUnit::Character => "character",
        }
    }
    fn describe(self) -> &'static str {
        match self {
            PageUnit::Presence => "response × code presence: each response coded by at least one of the coders is a unit; its value per coder is whether that coder applied the code (a theme counts its sub-codes)",
            PageUnit::Masi => "response × set of codes: each response coded by at least one of the coders is a unit; its value per coder is the set of codes applied, compared with the MASI distance",
            PageUnit::Character => "character × code: each character (code point) of the responses all coders coded is a unit; its value per coder is whether one of that coder's spans with the code covers it",
        }
    }
}

/// The page's choices, from the query string.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// Coders (empty = the default).
    pub coders: Vec<String>,
    /// Unit of analysis.
    pub unit: PageUnit,
    /// Bootstrap replicates (0 = no CIs).
    pub replicates: usize,
    /// Bootstrap seed.
    pub seed: u64,
}

fn parse_query(raw: Option<&str>) -> Result<Choice, Error> {
    let mut c = Choice {
        coders: Vec::new(),
        unit: PageUnit::Presence,
        replicates: DEFAULT_REPLICATES,
        seed: DEFAULT_SEED,
    };
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "coders" if !v.is_empty() && !c.coders.iter().any(|x| *x == v) => {
                c.coders.push(v.into_owned())
            }
            "unit" => c.unit = PageUnit::parse(&v)?,
            "bootstrap" if !v.is_empty() => {
                c.replicates = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n <= MAX_REPLICATES)
                    .ok_or_else(|| {
                        Error::Invalid(format!(
                        "bootstrap: `{v}` is not a number of replicates from 0 to {MAX_REPLICATES}"
                    ))
                    })?
            }
            "seed" if !v.is_empty() => {
                c.seed = v
                    .parse::<u64>()
                    .map_err(|_| Error::Invalid(format!("seed: `{v}` is not a whole number ≥ 0")))?
            }
            _ => {}
        }
    }
    Ok(c)
}

/// A number as shown and as computed (`data-value`, for checks).
pub struct Num {
    shown: String,
    raw: String,
}

fn coef(c: Coefficient) -> Num {
    match c.value() {
        Some(v) => Num {
            shown: format!("{v:.3}"),
            raw: format!("{v:?}"),
        },
        None => Num {
            shown: "undefined".into(),
            raw: "undefined".into(),
        },
    }
}

fn ci(ci: Option<(f64, f64)>) -> String {
    ci.map(|(a, b)| format!("[{a:.3}, {b:.3}]"))
        .unwrap_or_default()
}

struct CodeRow {
    indent: usize,
    name: String,
    path: String,
    units: usize,
    agree: String,
    kappa: Num,
    kappa_ci: String,
    alpha: Num,
    alpha_ci: String,
    flag: &'static str,
    below: bool,
}

struct OverallLine {
    within: String,
    units: usize,
    alpha: Num,
    alpha_ci: String,
}

/// What the page shows (computed off the async runtime).
struct Tables {
    coders: Vec<String>,
    threshold: f64,
    kappa_name: &'static str,
    n_units: Option<usize>,
    codes: Vec<CodeRow>,
    overall: Vec<OverallLine>,
}

fn compute(study: &StudyData, c: &Choice) -> Result<Tables, Error> {
    let coders = if c.coders.is_empty() {
        agreement_coders(study)
    } else {
        c.coders.clone()
    };
    for name in &coders {
        if !study.coders.iter().any(|x| x.name.as_str() == name) {
            return Err(Error::Invalid(format!(
                "coders: `{name}` is not a coder of this study"
            )));
        }
    }
    if coders.len() < 2 {
        return Err(Error::Invalid(format!(
            "coders: agreement needs at least two coders with codings; {} chosen",
            if coders.is_empty() {
                "none is".to_string()
            } else {
                format!("only {} is", coders.join(", "))
            }
        )));
    }
    let names: Vec<&str> = coders.iter().map(String::as_str).collect();
    let bootstrap = (c.replicates > 0).then(|| BootstrapOptions {
        method: BootstrapMethod::Units,
        replicates: c.replicates,
        seed: c.seed,
        ..BootstrapOptions::default()
    });
    let mut t = Tables {
        threshold: study.settings.agreement_threshold,
        kappa_name: if names.len() == 2 {
            "Cohen's κ"
        } else {
            "Fleiss' κ"
        },
        n_units: None,
        codes: Vec::new(),
        overall: Vec::new(),
        coders: coders.clone(),
    };
    let unit = match c.unit {
        PageUnit::Presence => Some(CodeUnit::Response),
        PageUnit::Character => Some(CodeUnit::CodePoint),
        PageUnit::Masi => None,
    };
    if let Some(unit) = unit {
        let opts = CodeAgreementOptions {
            unit,
            selection: None,
            threshold: None,
            bootstrap,
        };
        let table = code_agreement_table(study, &names, &opts)
            .map_err(|e| Error::Invalid(format!("coders: {e}")))?;
        t.threshold = table.threshold;
        t.n_units = table.rows.first().map(|r| r.n_units);
        for row in &table.rows {
            let kci = match &row.kappa {
                KappaValue::Cohen(k) => k.ci,
                KappaValue::Fleiss(_) => None,
            };
            t.codes.push(CodeRow {
                indent: row.depth.saturating_sub(1),
                name: row.name.clone(),
                path: row.code.to_string(),
                units: row.n_units,
                agree: format!("{:.1}", row.percent_agreement * 100.0),
                kappa: coef(row.kappa.value()),
                kappa_ci: ci(kci),
                alpha: coef(row.alpha.alpha),
                alpha_ci: ci(row.alpha_ci.as_ref().map(|b| b.ci)),
                flag: match row.flag {
                    CodeFlag::Ok => "",
                    CodeFlag::BelowThreshold => "below threshold",
                    CodeFlag::Undefined => "undefined (no variation)",
                },
                below: row.flag == CodeFlag::BelowThreshold,
            });
        }
    }
    for row in overall_masi(study, &names, bootstrap.as_ref()) {
        if c.unit == PageUnit::Masi && row.within.is_none() {
            t.n_units = Some(row.alpha.n_pairable_units);
        }
        t.overall.push(OverallLine {
            within: row
                .within
                .map(|p| format!("within {p}"))
                .unwrap_or_else(|| "all codes".into()),
            units: row.alpha.n_pairable_units,
            alpha: coef(row.alpha.alpha),
            alpha_ci: ci(row.ci),
        });
    }
    Ok(t)
}

#[derive(Template)]
#[template(path = "agreement.html")]
struct AgreementPage {
    title: String,
    s: Shell,
    enabled: bool,
    all_coders: Vec<(String, bool)>,
    unit: &'static str,
    unit_text: &'static str,
    replicates: usize,
    seed: u64,
    error: Option<String>,
    tables: Option<Tables>,
    /// Per coder: suggestions accepted and rejected (a reviewer must know
    /// whether a coder's codings were model-assisted).
    suggestions: Vec<rupturelab_store::SuggestionUse>,
}

async fn page(
    State(state): State<AppState>,
    Researcher(user): Researcher,
    session: Session,
    Path(study): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Error> {
    let info = study_by_key(&state, &study).await?;
    let choice = parse_query(raw.as_deref())?;
    let data = state.store.load_study(info.id).await?;
    let suggestions = state.store.suggestions_used(info.id).await?;
    let enabled = data.settings.agreement;
    let chosen = if choice.coders.is_empty() {
        agreement_coders(&data)
    } else {
        choice.coders.clone()
    };
    let all_coders = data
        .coders
        .iter()
        .filter(|c| !c.is_consensus())
        .map(|c| {
            (
                c.name.to_string(),
                chosen.iter().any(|x| x == c.name.as_str()),
            )
        })
        .collect();
    let (tables, error) = if enabled {
        let c = choice.clone();
        let result = tokio::task::spawn_blocking(move || compute(&data, &c))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        match result {
            Ok(t) => (Some(t), None),
            Err(Error::Invalid(m)) => (None, Some(m)),
            Err(e) => return Err(e),
        }
    } else {
        (None, None)
    };
    let page = AgreementPage {
        title: format!("Agreement — {}", info.title),
        enabled,
        all_coders,
        unit: choice.unit.as_str(),
        unit_text: choice.unit.describe(),
        replicates: choice.replicates,
        seed: choice.seed,
        error,
        tables,
        suggestions,
        s: shell(&session, &user, Some(&info)).await?,
    };
    Ok(render(&page)?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_parsed_with_repeated_coders_and_checked() {
        let c = parse_query(Some("coders=A&coders=B&coders=A&unit=masi&bootstrap=0")).unwrap();
        assert_eq!(c.coders, vec!["A", "B"]);
        assert_eq!(c.unit, PageUnit::Masi);
        assert_eq!(c.replicates, 0);
        assert_eq!(parse_query(None).unwrap().replicates, DEFAULT_REPLICATES);
        let e = parse_query(Some("unit=word")).unwrap_err().to_string();
        assert!(e.starts_with("unit:"), "{e}");
        let e = parse_query(Some("bootstrap=99999"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("bootstrap:"), "{e}");
    }

    #[test]
    fn undefined_is_shown_as_undefined_never_a_number() {
        let n = coef(Coefficient::Undefined(
            rupturelab_core::agreement::Undefined::NoVariation,
        ));
        assert_eq!(n.shown, "undefined");
        assert_eq!(n.raw, "undefined");
        assert_eq!(coef(Coefficient::Value(0.8126)).shown, "0.813");
    }
}
