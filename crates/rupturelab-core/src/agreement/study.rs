//! Units of analysis built from a study, the per-code agreement table and the
//! pairwise coder matrix.
//!
//! **Which responses are units.** A response counts as "coded" by a coder when
//! that coder has at least one coding (of any code) on it. With
//! [`ResponseSelection::CodedByAny`] the units are the responses coded by at least
//! one of the chosen coders, and a chosen coder who left such a response without
//! codings is taken to have judged every code absent (so the data are complete).
//! With [`ResponseSelection::CodedByAll`] the units are the responses every chosen
//! coder coded. Responses are ordered by key. Defaults: response-level units use
//! `CodedByAny`; character-level units use `CodedByAll` (only text both/all coders
//! worked on is compared).
//!
//! **Values.** (a) presence: 1 when the coder applied the code or any code within
//! it (a theme counts its sub-codes), else 0; (b) code set: the set of code paths
//! the coder applied (optionally only those within a subtree), compared with MASI
//! or Jaccard; (c) code point: each code point of a selected open-text response is
//! a unit, 1 when a coding of the code (or a sub-code) by the coder covers it (a
//! coding without span covers the whole response). Responses without open text
//! have no code points. Code-point units are clustered by response, so the unit
//! bootstrap resamples responses.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::alpha::{krippendorff_alpha, AlphaResult, Metric};
use super::bootstrap::{bootstrap_alpha, AlphaBootstrap, BootstrapOptions};
use super::kappa::{
    cohen_kappa, fleiss_kappa_matrix, gwet_ac1_raters, pairwise_kappa, CohenKappa,
    ContingencyTable, FleissKappa, PairwiseKappa, Weights,
};
use super::matrix::{ReliabilityMatrix, Value};
use super::{AgreementError, Coefficient, Result, UnitOfAnalysis};
use crate::keys::CodePath;
use crate::model::{Answer, Coding, ResponseKey, StudyData};

/// Which responses are units (see the module notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseSelection {
    /// Responses coded by at least one chosen coder; an uncoded one counts as "absent".
    CodedByAny,
    /// Responses coded by every chosen coder.
    CodedByAll,
}

/// Options of the unit builders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UnitOptions {
    /// Which responses are units; `None` takes the builder's default.
    pub selection: Option<ResponseSelection>,
}

/// A unit response and each chosen coder's codings on it.
type UnitResponse<'a, 'b> = (&'a ResponseKey, &'b Vec<Vec<&'a Coding>>);

/// The chosen coders' codings, by response.
struct Index<'a> {
    coders: Vec<String>,
    /// For each response coded by a chosen coder: each coder's codings there.
    responses: BTreeMap<&'a ResponseKey, Vec<Vec<&'a Coding>>>,
}

impl<'a> Index<'a> {
    fn new(study: &'a StudyData, coders: &[&str]) -> Result<Self> {
        let known: BTreeSet<&str> = study
            .coders
            .iter()
            .map(|c| c.name.as_str())
            .chain(study.codings.iter().map(|c| c.coder.as_str()))
            .collect();
        let mut seen = HashSet::new();
        for &c in coders {
            if !known.contains(c) {
                return Err(AgreementError::UnknownCoder {
                    name: c.to_string(),
                    known: known.iter().copied().collect::<Vec<_>>().join(", "),
                });
            }
            if !seen.insert(c) {
                return Err(AgreementError::DuplicateCoder(c.to_string()));
            }
        }
        if coders.len() < 2 {
            return Err(AgreementError::TooFewCoders {
                statistic: "agreement",
                needed: 2,
                found: coders.len(),
            });
        }
        let pos: HashMap<&str, usize> = coders.iter().enumerate().map(|(i, &c)| (c, i)).collect();
        let mut responses: BTreeMap<&ResponseKey, Vec<Vec<&Coding>>> = BTreeMap::new();
        for c in &study.codings {
            if let Some(&i) = pos.get(c.coder.as_str()) {
                responses
                    .entry(&c.response)
                    .or_insert_with(|| vec![Vec::new(); coders.len()])[i]
                    .push(c);
            }
        }
        Ok(Index {
            coders: coders.iter().map(|s| s.to_string()).collect(),
            responses,
        })
    }

    /// The unit responses under `selection`, in key order.
    fn units(&self, selection: ResponseSelection) -> Result<Vec<UnitResponse<'a, '_>>> {
        let units: Vec<_> = self
            .responses
            .iter()
            .filter(|(_, per)| match selection {
                ResponseSelection::CodedByAny => true,
                ResponseSelection::CodedByAll => per.iter().all(|c| !c.is_empty()),
            })
            .map(|(k, v)| (*k, v))
            .collect();
        if units.is_empty() {
            return Err(AgreementError::NoUnits(match selection {
                ResponseSelection::CodedByAny => {
                    format!("none of {} has coded a response", self.coders.join(", "))
                }
                ResponseSelection::CodedByAll => {
                    format!(
                        "no response was coded by every one of {}",
                        self.coders.join(", ")
                    )
                }
            }));
        }
        Ok(units)
    }
}

fn check_code(study: &StudyData, code: &CodePath) -> Result<()> {
    if study.code(code.as_str()).is_none() {
        return Err(AgreementError::UnknownCode(code.to_string()));
    }
    Ok(())
}

fn presence_values() -> Vec<Value> {
    vec![
        Value::Label("absent".into()),
        Value::Label("present".into()),
    ]
}

/// (a) Response × code presence: one unit per response, value absent/present (sub-codes count).
pub fn presence_matrix(
    study: &StudyData,
    coders: &[&str],
    code: &CodePath,
    opts: &UnitOptions,
) -> Result<ReliabilityMatrix> {
    check_code(study, code)?;
    let index = Index::new(study, coders)?;
    let units = index.units(opts.selection.unwrap_or(ResponseSelection::CodedByAny))?;
    let m = coders.len();
    let mut cells = Vec::with_capacity(units.len() * m);
    for (_, per) in &units {
        cells.extend(
            per.iter()
                .map(|cs| cs.iter().any(|c| c.code.is_within(code)) as u32),
        );
    }
    let ids = units.iter().map(|(k, _)| k.to_string()).collect();
    Ok(
        ReliabilityMatrix::new(index.coders.clone(), Some(ids), cells, presence_values())?
            .with_complete_categories(true)
            .with_unit(UnitOfAnalysis::ResponseCodePresence { code: code.clone() }),
    )
}

/// (b) Response × set of codes: one unit per response, value the set of codes applied (for MASI α).
pub fn code_set_matrix(
    study: &StudyData,
    coders: &[&str],
    within: Option<&CodePath>,
    opts: &UnitOptions,
) -> Result<ReliabilityMatrix> {
    if let Some(w) = within {
        check_code(study, w)?;
    }
    let index = Index::new(study, coders)?;
    let units = index.units(opts.selection.unwrap_or(ResponseSelection::CodedByAny))?;
    let rows: Vec<Vec<Option<Value>>> = (0..coders.len())
        .map(|i| {
            units
                .iter()
                .map(|(_, per)| {
                    let set = per[i]
                        .iter()
                        .filter(|c| within.is_none_or(|w| c.code.is_within(w)))
                        .map(|c| c.code.to_string())
                        .collect();
                    Some(Value::Set(set))
                })
                .collect()
        })
        .collect();
    let ids = units.iter().map(|(k, _)| k.to_string()).collect();
    Ok(
        ReliabilityMatrix::from_coder_rows(index.coders.clone(), Some(ids), &rows)?.with_unit(
            UnitOfAnalysis::ResponseCodeSet {
                within: within.cloned(),
            },
        ),
    )
}

/// (c) Character level: one unit per code point of each selected open-text response, value absent/present.
pub fn code_point_matrix(
    study: &StudyData,
    coders: &[&str],
    code: &CodePath,
    opts: &UnitOptions,
) -> Result<ReliabilityMatrix> {
    check_code(study, code)?;
    let index = Index::new(study, coders)?;
    let units = index.units(opts.selection.unwrap_or(ResponseSelection::CodedByAll))?;
    let texts: HashMap<&ResponseKey, &str> = study
        .responses
        .iter()
        .filter_map(|r| match &r.answer {
            Answer::Text(t) => Some((&r.key, t.as_str())),
            _ => None,
        })
        .collect();
    let m = coders.len();
    let mut cells = Vec::new();
    let mut clusters = Vec::new();
    let mut covered = Vec::new();
    for (cluster, (key, per)) in units.iter().enumerate() {
        let Some(text) = texts.get(key) else { continue };
        let len = text.chars().count();
        let start = cells.len();
        cells.resize(start + len * m, 0u32);
        clusters.resize(clusters.len() + len, cluster as u32);
        for (i, cs) in per.iter().enumerate() {
            covered.clear();
            covered.resize(len, false);
            for c in cs.iter().filter(|c| c.code.is_within(code)) {
                let (s, e) = c
                    .span
                    .map(|s| (s.start.min(len), s.end.min(len)))
                    .unwrap_or((0, len));
                covered[s..e.max(s)].iter_mut().for_each(|x| *x = true);
            }
            for (p, &cov) in covered.iter().enumerate() {
                cells[start + p * m + i] = cov as u32;
            }
        }
    }
    if cells.is_empty() {
        return Err(AgreementError::NoUnits(
            "no selected response has open text with code points".into(),
        ));
    }
    ReliabilityMatrix::new(index.coders.clone(), None, cells, presence_values())?
        .with_complete_categories(true)
        .with_unit(UnitOfAnalysis::CodePoint { code: code.clone() })
        .with_clusters(clusters)
}

/// Response × codable code pairs: value 1 when the coder applied exactly that code.
fn response_code_pair_matrix(
    study: &StudyData,
    coders: &[&str],
    opts: &UnitOptions,
) -> Result<ReliabilityMatrix> {
    let index = Index::new(study, coders)?;
    let units = index.units(opts.selection.unwrap_or(ResponseSelection::CodedByAny))?;
    let codable: Vec<&CodePath> = study
        .codes
        .iter()
        .filter(|c| c.codable)
        .map(|c| &c.path)
        .collect();
    let m = coders.len();
    let mut cells = Vec::with_capacity(units.len() * codable.len() * m);
    let mut ids = Vec::new();
    for (key, per) in &units {
        for code in &codable {
            cells.extend(
                per.iter()
                    .map(|cs| cs.iter().any(|c| &c.code == *code) as u32),
            );
            ids.push(format!("{key} × {code}"));
        }
    }
    Ok(
        ReliabilityMatrix::new(index.coders.clone(), Some(ids), cells, presence_values())?
            .with_complete_categories(true)
            .with_unit(UnitOfAnalysis::ResponseCodePair),
    )
}

/// Cohen's κ of every pair of coders, per code (presence) or pooled over response × codable code.
///
/// With `code`, the units are those of [`presence_matrix`]; without, every selected
/// response × codable code pair is a unit whose value is whether the coder applied
/// exactly that code.
pub fn study_pairwise_kappa(
    study: &StudyData,
    coders: &[&str],
    code: Option<&CodePath>,
    opts: &UnitOptions,
) -> Result<PairwiseKappa> {
    let matrix = match code {
        Some(c) => presence_matrix(study, coders, c, opts)?,
        None => response_code_pair_matrix(study, coders, opts)?,
    };
    pairwise_kappa(&matrix, Weights::Unweighted)
}

/// The unit of the per-code table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CodeUnit {
    /// Response × code presence (unit (a)).
    #[default]
    Response,
    /// Code points of responses (unit (c)).
    CodePoint,
}

/// Options of the per-code table.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeAgreementOptions {
    /// Unit of analysis.
    pub unit: CodeUnit,
    /// Which responses are units; `None` takes the unit's default.
    pub selection: Option<ResponseSelection>,
    /// Flag codes whose α is below this; `None` takes the study's threshold.
    pub threshold: Option<f64>,
    /// Bootstrap for α's CI; `None` skips it.
    pub bootstrap: Option<BootstrapOptions>,
}

impl Default for CodeAgreementOptions {
    fn default() -> Self {
        CodeAgreementOptions {
            unit: CodeUnit::Response,
            selection: None,
            threshold: None,
            bootstrap: Some(BootstrapOptions::default()),
        }
    }
}

/// κ of a per-code row: Cohen's for two coders, Fleiss' for more.
#[derive(Debug, Clone, PartialEq)]
pub enum KappaValue {
    /// Cohen's κ (two coders).
    Cohen(CohenKappa),
    /// Fleiss' κ (three or more coders).
    Fleiss(FleissKappa),
}

impl KappaValue {
    /// The coefficient.
    pub fn value(&self) -> Coefficient {
        match self {
            KappaValue::Cohen(k) => k.kappa,
            KappaValue::Fleiss(k) => k.kappa,
        }
    }

    /// "Cohen's κ" or "Fleiss' κ".
    pub fn name(&self) -> &'static str {
        match self {
            KappaValue::Cohen(_) => "Cohen's κ",
            KappaValue::Fleiss(_) => "Fleiss' κ",
        }
    }
}

/// How a code fares against the threshold (judged on α).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeFlag {
    /// α is at or above the threshold.
    Ok,
    /// α is below the threshold.
    BelowThreshold,
    /// α is undefined (no variation, e.g. nobody applied the code).
    Undefined,
}

/// Agreement on one code.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeAgreementRow {
    /// The code.
    pub code: CodePath,
    /// Its display name.
    pub name: String,
    /// Depth: 1 category, 2 theme, 3 sub-theme.
    pub depth: usize,
    /// Whether codings may apply it directly.
    pub codable: bool,
    /// What a unit is.
    pub unit: UnitOfAnalysis,
    /// Number of units.
    pub n_units: usize,
    /// Units each coder marked present, in coder order.
    pub present: Vec<usize>,
    /// Share of agreeing coder pairs over units (for two coders: of units).
    pub percent_agreement: f64,
    /// Cohen's or Fleiss' κ.
    pub kappa: KappaValue,
    /// Krippendorff's α (nominal).
    pub alpha: AlphaResult,
    /// Bootstrap CI of α, when asked for and α is defined.
    pub alpha_ci: Option<AlphaBootstrap>,
    /// α against the threshold.
    pub flag: CodeFlag,
}

/// The per-code agreement table.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeAgreementTable {
    /// The coders compared.
    pub coders: Vec<String>,
    /// Unit of analysis of every row.
    pub unit: CodeUnit,
    /// Which responses were units.
    pub selection: ResponseSelection,
    /// Threshold for the flag.
    pub threshold: f64,
    /// One row per codable code and per code that has codable sub-codes, in codebook order.
    pub rows: Vec<CodeAgreementRow>,
}

/// Agreement per code: n units, % agreement, κ (Cohen or Fleiss), α nominal with CI, flag.
///
/// Rows: every codable code and every code with a codable code below it (themes and
/// categories count their sub-codes), in codebook order.
pub fn code_agreement_table(
    study: &StudyData,
    coders: &[&str],
    opts: &CodeAgreementOptions,
) -> Result<CodeAgreementTable> {
    let threshold = opts.threshold.unwrap_or(study.settings.agreement_threshold);
    let selection = opts.selection.unwrap_or(match opts.unit {
        CodeUnit::Response => ResponseSelection::CodedByAny,
        CodeUnit::CodePoint => ResponseSelection::CodedByAll,
    });
    let unit_opts = UnitOptions {
        selection: Some(selection),
    };
    let mut rows = Vec::new();
    for code in &study.codes {
        let has_codable_below = study
            .codes
            .iter()
            .any(|c| c.codable && c.path.is_within(&code.path));
        if !has_codable_below {
            continue;
        }
        let matrix = match opts.unit {
            CodeUnit::Response => presence_matrix(study, coders, &code.path, &unit_opts)?,
            CodeUnit::CodePoint => code_point_matrix(study, coders, &code.path, &unit_opts)?,
        };
        rows.push(code_row(code, &matrix, threshold, opts.bootstrap.as_ref())?);
    }
    Ok(CodeAgreementTable {
        coders: coders.iter().map(|s| s.to_string()).collect(),
        unit: opts.unit,
        selection,
        threshold,
        rows,
    })
}

fn code_row(
    code: &crate::model::Code,
    matrix: &ReliabilityMatrix,
    threshold: f64,
    bootstrap: Option<&BootstrapOptions>,
) -> Result<CodeAgreementRow> {
    let m = matrix.n_coders();
    let mut present = vec![0usize; m];
    for unit in matrix.cells().chunks_exact(m) {
        for (i, &v) in unit.iter().enumerate() {
            present[i] += (v == 1) as usize;
        }
    }
    let alpha = krippendorff_alpha(matrix, &Metric::Nominal)?;
    let kappa = if m == 2 {
        KappaValue::Cohen(cohen_kappa(
            &ContingencyTable::from_matrix(matrix, 0, 1)?,
            Weights::Unweighted,
            0.95,
        )?)
    } else {
        KappaValue::Fleiss(fleiss_kappa_matrix(matrix)?)
    };
    let percent_agreement = gwet_ac1_raters(matrix, 0.95)?.p_a;
    let alpha_ci = match (bootstrap, alpha.alpha) {
        (Some(b), Coefficient::Value(_)) => Some(bootstrap_alpha(matrix, &Metric::Nominal, b)?),
        _ => None,
    };
    let flag = match alpha.alpha {
        Coefficient::Value(a) if a < threshold => CodeFlag::BelowThreshold,
        Coefficient::Value(_) => CodeFlag::Ok,
        Coefficient::Undefined(_) => CodeFlag::Undefined,
    };
    Ok(CodeAgreementRow {
        code: code.path.clone(),
        name: code.name.clone(),
        depth: code.path.depth(),
        codable: code.codable,
        unit: matrix.unit_of_analysis().clone(),
        n_units: matrix.n_units(),
        present,
        percent_agreement,
        kappa,
        alpha,
        alpha_ci,
        flag,
    })
}
