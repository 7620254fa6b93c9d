//! The study-level pieces every agreement view shares (the CLI's
//! `agreement`, the web's agreement page): which coders are compared by
//! default, and the overall table of MASI α over each response's set of codes.

use super::{
    bootstrap_alpha, code_set_matrix, krippendorff_alpha, AlphaResult, BootstrapOptions, Metric,
    UnitOptions,
};
use crate::keys::CodePath;
use crate::model::StudyData;

/// The coders an agreement compares by default: every coder with codings,
/// except the consensus layer, in the study's coder order.
pub fn agreement_coders(study: &StudyData) -> Vec<String> {
    study
        .coders
        .iter()
        .filter(|c| !c.is_consensus() && study.codings.iter().any(|x| x.coder == c.name))
        .map(|c| c.name.to_string())
        .collect()
}

/// One row of the overall table: response × set of codes, MASI α.
#[derive(Debug, Clone, PartialEq)]
pub struct OverallRow {
    /// `None` = all codes; `Some(category)` = only codes within a top-level category.
    pub within: Option<CodePath>,
    /// Krippendorff's α with the MASI distance.
    pub alpha: AlphaResult,
    /// Its bootstrap CI, when asked for and α is defined.
    pub ci: Option<(f64, f64)>,
}

/// MASI α over each response's set of codes: over all codes, then within
/// each top-level category (rows whose matrix has no pairable unit are left out).
pub fn overall_masi(
    study: &StudyData,
    coders: &[&str],
    bootstrap: Option<&BootstrapOptions>,
) -> Vec<OverallRow> {
    let tops = std::iter::once(None).chain(
        study
            .codes
            .iter()
            .filter(|c| c.path.depth() == 1)
            .map(|c| Some(c.path.clone())),
    );
    let mut out = Vec::new();
    for within in tops {
        let Ok(m) = code_set_matrix(study, coders, within.as_ref(), &UnitOptions::default()) else {
            continue;
        };
        let Ok(alpha) = krippendorff_alpha(&m, &Metric::Masi) else {
            continue;
        };
        let ci = match (bootstrap, alpha.alpha.value()) {
            (Some(o), Some(_)) => bootstrap_alpha(&m, &Metric::Masi, o).ok().map(|b| b.ci),
            _ => None,
        };
        out.push(OverallRow { within, alpha, ci });
    }
    out
}
