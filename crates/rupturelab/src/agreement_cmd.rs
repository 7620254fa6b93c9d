//! `rupturelab agreement`: agreement between coders of a study, or on any
//! reliability matrix given as CSV (`--matrix`).

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use rupturelab_core::agreement::{
    agreement_coders, bootstrap_alpha, code_agreement_table, cohen_kappa, fleiss_kappa_matrix,
    gwet_ac1_raters, krippendorff_alpha, overall_masi, pairwise_kappa, parse_matrix_csv,
    study_pairwise_kappa, two_rater_summary, BootstrapMethod, BootstrapOptions, ChanceCorrected,
    CodeAgreementOptions, CodeFlag, CodeUnit, Coefficient, ContingencyTable, MatrixLayout, Metric,
    UnitOptions, ValueKind, Weights,
};
use rupturelab_core::{StudyData, CONSENSUS};

use crate::output::{Cell, Report, Table};

/// Unit of analysis for a study's agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Unit {
    /// Each response is a unit; per code, whether each coder applied it (or a sub-code).
    Response,
    /// Each character (code point) of the coded responses is a unit; per code, whether each coder's spans cover it.
    Character,
}

/// Layout of a `--matrix` CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Layout {
    /// One row per coder: first column the coder's name, header row the unit ids.
    CodersAsRows,
    /// One row per unit: first column the unit id, header row the coder names.
    UnitsAsRows,
}

/// Level of measurement of a `--matrix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Level {
    /// Unordered categories (labels or numbers).
    Nominal,
    /// Ordered categories (numbers).
    Ordinal,
    /// Numbers with meaningful differences.
    Interval,
    /// Non-negative numbers with a meaningful zero.
    Ratio,
}

/// Options of `rupturelab agreement`.
#[derive(Args, Debug)]
pub struct AgreementArgs {
    /// Coders to compare, comma-separated (default: every coder with codings, except `consensus`).
    #[arg(long, value_delimiter = ',')]
    coders: Vec<String>,
    /// Unit of analysis for the per-code table.
    #[arg(long, value_enum, default_value_t = Unit::Response)]
    unit: Unit,
    /// Only responses to this question (e.g. Q1), so that codes are judged where they can occur.
    #[arg(long)]
    question: Option<String>,
    /// Flag codes whose α is below this (default: the study's threshold).
    #[arg(long)]
    threshold: Option<f64>,
    /// Bootstrap replicates for α's confidence interval (0 = none).
    #[arg(long, default_value_t = 1000)]
    bootstrap: usize,
    /// Seed of the bootstrap (results are reproducible for a given seed).
    #[arg(long, default_value_t = 20070101)]
    seed: u64,
    /// Use Krippendorff's pair bootstrap instead of resampling units.
    #[arg(long)]
    pair_bootstrap: bool,
    /// Compute agreement on a reliability matrix in a CSV file instead of a study (no database needed).
    #[arg(long, value_name = "FILE")]
    matrix: Option<PathBuf>,
    /// Layout of the --matrix file.
    #[arg(long, value_enum, default_value_t = Layout::CodersAsRows)]
    layout: Layout,
    /// Level of measurement of the --matrix values.
    #[arg(long, value_enum, default_value_t = Level::Nominal)]
    level: Level,
}

impl AgreementArgs {
    /// Whether this run works on a matrix file (no database).
    pub fn is_matrix(&self) -> bool {
        self.matrix.is_some()
    }

    fn bootstrap_options(&self) -> Option<BootstrapOptions> {
        (self.bootstrap > 0).then(|| BootstrapOptions {
            method: if self.pair_bootstrap {
                BootstrapMethod::KrippendorffPairs
            } else {
                BootstrapMethod::Units
            },
            replicates: self.bootstrap,
            seed: self.seed,
            ..BootstrapOptions::default()
        })
    }
}

fn coef(c: Coefficient) -> Cell {
    match c.value() {
        Some(v) => Cell::Num(v, 3),
        None => Cell::Text("undefined".into()),
    }
}

fn coef_json(c: Coefficient) -> serde_json::Value {
    match c.value() {
        Some(v) => serde_json::json!(v),
        None => serde_json::json!("undefined"),
    }
}

fn ci(ci: Option<(f64, f64)>) -> Cell {
    ci.map(|(a, b)| Cell::Text(format!("[{a:.3}, {b:.3}]")))
        .unwrap_or(Cell::Empty)
}

/// Agreement on a reliability matrix from a CSV file.
pub fn matrix(args: &AgreementArgs) -> Result<Report> {
    let path = args.matrix.as_ref().expect("matrix mode");
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let layout = match args.layout {
        Layout::CodersAsRows => MatrixLayout::CodersAsRows,
        Layout::UnitsAsRows => MatrixLayout::UnitsAsRows,
    };
    let (kind, metric) = match args.level {
        Level::Nominal => (ValueKind::Labels, Metric::Nominal),
        Level::Ordinal => (ValueKind::Numbers, Metric::Ordinal),
        Level::Interval => (ValueKind::Numbers, Metric::Interval),
        Level::Ratio => (ValueKind::Numbers, Metric::Ratio),
    };
    let m =
        parse_matrix_csv(&text, layout, kind).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let alpha = krippendorff_alpha(&m, &metric)?;
    let mut r = Report::default();
    r.fact(
        "unit",
        "Unit of analysis",
        format!(
            "the units of {} (user-supplied reliability matrix)",
            path.display()
        ),
    );
    r.fact("coders", "Coders", m.coders().join(", "));
    r.fact(
        "units",
        "Units",
        format!(
            "{} ({} pairable, {} pairable values)",
            m.n_units(),
            alpha.n_pairable_units,
            alpha.n_pairable_values
        ),
    );
    r.fact("metric", "Level", alpha.metric.clone());
    r.fact("alpha", "Krippendorff's α", coef_json(alpha.alpha));
    if let (Some(opts), Some(_)) = (args.bootstrap_options(), alpha.alpha.value()) {
        let b = bootstrap_alpha(&m, &metric, &opts)?;
        r.fact(
            "alpha_ci",
            &format!(
                "α {:.0}% CI ({}, {} replicates, seed {})",
                b.confidence * 100.0,
                b.method.name(),
                b.replicates,
                b.seed
            ),
            serde_json::json!([b.ci.0, b.ci.1]),
        );
        r.fact("bootstrap", "Bootstrap", b.method.name());
        r.fact("bootstrap_replicates", "Replicates", b.replicates);
        r.fact("seed", "Seed", b.seed);
        for (min, p) in &b.p_below {
            r.fact(
                &format!("p_alpha_below_{min}"),
                &format!("P(α < {min})"),
                serde_json::json!(p),
            );
        }
    }
    if args.level == Level::Nominal {
        let mut t = Table::new(
            "coefficients",
            "Chance-corrected coefficients (nominal; 95% intervals)",
            &[
                "coefficient",
                "units",
                "value",
                "SE",
                "95% CI",
                "z",
                "p",
                "note",
            ],
        );
        if m.n_coders() == 2 {
            let table = ContingencyTable::from_matrix(&m, 0, 1)?;
            match two_rater_summary(&table, Weights::Unweighted, 0.95) {
                Ok(s) => {
                    let k = &s.cohen;
                    t.row(vec![
                        "Cohen's κ".into(),
                        (k.n_units as usize).into(),
                        coef(k.kappa),
                        num(k.ase),
                        ci(k.ci),
                        num(k.z),
                        num(k.p_value),
                        "asymptotic SE (Fleiss–Cohen–Everitt), Wald CI; z and p under H0: κ = 0"
                            .into(),
                    ]);
                    for (c, note) in [
                        (&s.percent_agreement, "share of units both coded alike"),
                        (
                            &s.scott,
                            "chance from pooled margins; Gwet's linearised SE, t interval",
                        ),
                        (
                            &s.brennan_prediger,
                            "chance = 1/q; Gwet's linearised SE, t interval",
                        ),
                        (&s.gwet_ac1, "Gwet's linearised SE, t interval"),
                    ] {
                        t.row(chance_row(c, note));
                    }
                }
                Err(e) => t.row(not_computed("Cohen's κ", &e)),
            }
        } else {
            match fleiss_kappa_matrix(&m) {
                Ok(f) => t.row(vec![
                    "Fleiss' κ".into(),
                    f.n_units.into(),
                    coef(f.kappa),
                    num(f.se0),
                    Cell::Empty,
                    num(f.z),
                    num(f.p_value),
                    format!(
                        "{} ratings per unit; SE under H0: κ = 0 (Fleiss–Nee–Landis), z and p from it",
                        f.raters_per_unit
                    )
                    .into(),
                ]),
                Err(e) => t.row(not_computed("Fleiss' κ", &e)),
            }
            match gwet_ac1_raters(&m, 0.95) {
                Ok(ac1) => t.row(chance_row(
                    &ac1,
                    "many raters, missing ratings allowed; Gwet's variance, t interval",
                )),
                Err(e) => t.row(not_computed("Gwet's AC1", &e)),
            }
        }
        r.tables.push(t);
        if m.n_coders() > 2 {
            let pk = pairwise_kappa(&m, Weights::Unweighted)?;
            let mut t = Table::new(
                "pairwise",
                "Pairwise Cohen's κ (units both coders rated)",
                &["coder", "with", "units", "% agree", "κ", "SE", "κ 95% CI"],
            );
            for p in &pk.pairs {
                t.row(vec![
                    pk.coders[p.a].clone().into(),
                    pk.coders[p.b].clone().into(),
                    (p.n_units as usize).into(),
                    p.percent_agreement
                        .map(|v| Cell::Num(v * 100.0, 1))
                        .unwrap_or(Cell::Empty),
                    p.kappa
                        .as_ref()
                        .map(|k| coef(k.kappa))
                        .unwrap_or(Cell::Empty),
                    num(p.kappa.as_ref().and_then(|k| k.ase)),
                    ci(p.kappa.as_ref().and_then(|k| k.ci)),
                ]);
            }
            r.tables.push(t);
        }
    } else if m.n_coders() == 2 {
        // Ordered values, two coders: weighted κ over the values in ascending order.
        let table = ContingencyTable::from_matrix(&m, 0, 1)?;
        let mut t = Table::new(
            "coefficients",
            "Weighted Cohen's κ (categories in ascending order; 95% intervals)",
            &[
                "coefficient",
                "units",
                "value",
                "SE",
                "95% CI",
                "z",
                "p",
                "note",
            ],
        );
        for (weights, name) in [
            (Weights::Linear, "Cohen's κ, linear weights"),
            (Weights::Quadratic, "Cohen's κ, quadratic weights"),
        ] {
            match cohen_kappa(&table, weights, 0.95) {
                Ok(k) => t.row(vec![
                    name.into(),
                    (k.n_units as usize).into(),
                    coef(k.kappa),
                    num(k.ase),
                    ci(k.ci),
                    num(k.z),
                    num(k.p_value),
                    "asymptotic SE (Fleiss–Cohen–Everitt), Wald CI; z and p under H0: κ = 0".into(),
                ]),
                Err(e) => t.row(not_computed(name, &e)),
            }
        }
        r.tables.push(t);
    }
    Ok(r)
}

/// A coefficient's row when it could not be computed, saying why.
fn not_computed(name: &str, e: &dyn std::fmt::Display) -> Vec<Cell> {
    let mut row = vec![name.into()];
    row.extend(std::iter::repeat_n(Cell::Empty, 6));
    row.push(format!("not computed: {e}").into());
    row
}

fn num(x: Option<f64>) -> Cell {
    x.map(|v| Cell::Num(v, 4)).unwrap_or(Cell::Empty)
}

/// A row of the coefficients table for a chance-corrected coefficient.
fn chance_row(c: &ChanceCorrected, note: &str) -> Vec<Cell> {
    let name = if c.name == "percent agreement" {
        "Percent agreement"
    } else {
        c.name
    };
    vec![
        name.into(),
        (c.n_units as usize).into(),
        coef(c.value),
        num(c.se),
        ci(c.ci),
        Cell::Empty,
        Cell::Empty,
        note.into(),
    ]
}

/// Agreement between the coders of a study.
pub fn study(study: &StudyData, args: &AgreementArgs) -> Result<Report> {
    if !study.settings.agreement {
        bail!("agreement statistics are switched off for this study (reflexive thematic analysis); set `agreement = true` in study.toml to compute them");
    }
    let coders = if args.coders.is_empty() {
        agreement_coders(study)
    } else {
        args.coders.clone()
    };
    if coders.len() < 2 {
        bail!(
            "agreement needs at least two coders with codings; this study has {} (use --coders A,B to choose)",
            if coders.is_empty() { "none".to_string() } else { coders.join(", ") }
        );
    }
    let mut filtered;
    let study = match &args.question {
        Some(q) => {
            if !study.questions.iter().any(|x| x.key.as_str() == q) {
                bail!("there is no question `{q}` in this study");
            }
            filtered = study.clone();
            filtered.responses.retain(|r| r.key.question.as_str() == q);
            filtered
                .codings
                .retain(|c| c.response.question.as_str() == q);
            &filtered
        }
        None => study,
    };
    let names: Vec<&str> = coders.iter().map(String::as_str).collect();
    let opts = CodeAgreementOptions {
        unit: match args.unit {
            Unit::Response => CodeUnit::Response,
            Unit::Character => CodeUnit::CodePoint,
        },
        selection: None,
        threshold: args.threshold,
        bootstrap: args.bootstrap_options(),
    };
    let table = code_agreement_table(study, &names, &opts)?;
    let mut r = Report::default();
    let unit_text = match args.unit {
        Unit::Response => "response × code presence: each response coded by at least one of the coders is a unit; its value per coder is whether that coder applied the code (a theme counts its sub-codes)",
        Unit::Character => "character × code: each character (code point) of the responses all coders coded is a unit; its value per coder is whether one of that coder's spans with the code covers it",
    };
    r.fact("unit", "Unit of analysis", unit_text);
    if let Some(q) = &args.question {
        r.fact("question", "Responses", format!("to question {q} only"));
    }
    r.fact("coders", "Coders", coders.join(", "));
    r.fact(
        "threshold",
        "Flag below α",
        serde_json::json!(table.threshold),
    );
    match &opts.bootstrap {
        Some(b) => {
            r.fact("bootstrap", "Bootstrap of α", b.method.name());
            r.fact("bootstrap_replicates", "Replicates", b.replicates);
            r.fact("seed", "Seed", b.seed);
        }
        None => r.fact("bootstrap", "Bootstrap of α", "none (--bootstrap 0)"),
    }
    let kappa_name = if coders.len() == 2 {
        "Cohen κ"
    } else {
        "Fleiss κ"
    };
    let ci_name = match &opts.bootstrap {
        Some(b) => format!("α {:.0}% CI", b.confidence * 100.0),
        None => "α CI".into(),
    };
    let mut t = Table::new(
        "codes",
        &format!("Agreement per code ({} coders)", coders.len()),
        &[
            "code",
            "path",
            "units",
            "% agree",
            kappa_name,
            "κ 95% CI",
            "α",
            &ci_name,
            "P(α<.667)",
            "P(α<.800)",
            "flag",
        ],
    );
    for row in &table.rows {
        let kci = match &row.kappa {
            rupturelab_core::agreement::KappaValue::Cohen(k) => k.ci,
            rupturelab_core::agreement::KappaValue::Fleiss(_) => None,
        };
        let p_below = |min: f64| {
            row.alpha_ci.as_ref().and_then(|b| {
                b.p_below
                    .iter()
                    .find(|(m, _)| (*m - min).abs() < 1e-9)
                    .map(|(_, p)| Cell::Num(*p, 3))
            })
        };
        t.row(vec![
            format!("{}{}", "  ".repeat(row.depth - 1), row.name).into(),
            row.code.to_string().into(),
            row.n_units.into(),
            Cell::Num(row.percent_agreement * 100.0, 1),
            coef(row.kappa.value()),
            ci(kci),
            coef(row.alpha.alpha),
            ci(row.alpha_ci.as_ref().map(|b| b.ci)),
            p_below(0.667).unwrap_or(Cell::Empty),
            p_below(0.8).unwrap_or(Cell::Empty),
            match row.flag {
                CodeFlag::Ok => "",
                CodeFlag::BelowThreshold => "below threshold",
                CodeFlag::Undefined => "undefined (no variation)",
            }
            .into(),
        ]);
    }
    r.tables.push(t);

    // Overall: MASI α over each response's set of codes, per category and over all codes.
    let mut t = Table::new(
        "overall",
        "Overall: response × set of codes (Krippendorff's α with MASI distance)",
        &["codes", "units", "α (MASI)", "α 95% CI"],
    );
    for row in overall_masi(study, &names, args.bootstrap_options().as_ref()) {
        t.row(vec![
            row.within
                .map(|p| format!("within {p}"))
                .unwrap_or_else(|| "all codes".into())
                .into(),
            row.alpha.n_pairable_units.into(),
            coef(row.alpha.alpha),
            ci(row.ci),
        ]);
    }
    r.tables.push(t);

    // Pairwise κ for every pair of the chosen coders and the consensus layer.
    let mut all: Vec<&str> = names.clone();
    if study.coders.iter().any(|c| c.is_consensus()) && !all.contains(&CONSENSUS) {
        all.push(CONSENSUS);
    }
    if let Ok(pk) = study_pairwise_kappa(study, &all, None, &UnitOptions::default()) {
        let mut t = Table::new(
            "pairwise",
            "Pairwise Cohen's κ (unit: response × code pair, whether each coder applied exactly that code)",
            &["coder", "with", "units", "% agree", "κ", "κ 95% CI"],
        );
        for p in &pk.pairs {
            t.row(vec![
                pk.coders[p.a].clone().into(),
                pk.coders[p.b].clone().into(),
                (p.n_units as usize).into(),
                p.percent_agreement
                    .map(|v| Cell::Num(v * 100.0, 1))
                    .unwrap_or(Cell::Empty),
                p.kappa
                    .as_ref()
                    .map(|k| coef(k.kappa))
                    .unwrap_or(Cell::Empty),
                ci(p.kappa.as_ref().and_then(|k| k.ci)),
            ]);
        }
        r.tables.push(t);
    }
    let below: Vec<&str> = table
        .rows
        .iter()
        .filter(|x| x.flag == CodeFlag::BelowThreshold)
        .map(|x| x.code.as_str())
        .collect();
    if !below.is_empty() {
        r.hints.push(format!(
            "{} code(s) below α = {}: {}",
            below.len(),
            table.threshold,
            below.join(", ")
        ));
    }
    Ok(r)
}
