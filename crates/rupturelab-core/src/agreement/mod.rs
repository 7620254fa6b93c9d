//! Agreement between coders: every coefficient, its standard error and confidence interval.
//!
//! Everything here is a pure function over plain data (no IO, no async):
//!
//! * [`ReliabilityMatrix`] holds coders × units of value ids (dense, units-major,
//!   [`MISSING`] for an empty cell); [`parse_matrix_csv`] reads one from CSV.
//! * [`krippendorff_alpha`] computes α for nominal, ordinal, interval, ratio and
//!   set-valued (MASI, Jaccard, custom) data; [`bootstrap_alpha`] gives its
//!   bootstrap CI and P(α < α_min).
//! * [`cohen_kappa`], [`scott_pi`], [`brennan_prediger`], [`percent_agreement`] and
//!   [`gwet_ac1`] work on a two-rater [`ContingencyTable`]; [`fleiss_kappa`],
//!   [`fleiss_kappa_matrix`] and [`gwet_ac1_raters`] on many raters.
//! * [`presence_matrix`], [`code_set_matrix`] and [`code_point_matrix`] build the
//!   units of analysis from a [`crate::StudyData`]; [`code_agreement_table`] and
//!   [`pairwise_kappa`] make the per-code table and the coder × coder matrix.
//!
//! Every result names its [`UnitOfAnalysis`]. A coefficient that is 0/0 is
//! reported as [`Coefficient::Undefined`], never as 1 or NaN. Formulas follow
//! `shared/reference/agreement/FORMULAS.md`.

mod alpha;
mod bootstrap;
mod error;
mod kappa;
mod matrix;
mod overall;
mod study;

use std::fmt;

use crate::keys::CodePath;

pub use alpha::{
    jaccard_distance, krippendorff_alpha, masi_distance, AlphaResult, DistanceFn, Metric,
};
pub use bootstrap::{
    bootstrap_alpha, AlphaBootstrap, BootstrapMethod, BootstrapOptions, ALPHA_MINIMA,
};
pub use error::AgreementError;
pub use kappa::{
    brennan_prediger, cohen_kappa, fleiss_kappa, fleiss_kappa_matrix, gwet_ac1, gwet_ac1_raters,
    pairwise_kappa, percent_agreement, scott_pi, two_rater_summary, ChanceCorrected, CohenKappa,
    ContingencyTable, FleissKappa, PairCell, PairwiseKappa, TwoRaterSummary, Weights,
};
pub use matrix::{parse_matrix_csv, MatrixLayout, ReliabilityMatrix, Value, ValueKind, MISSING};
pub use overall::{agreement_coders, overall_masi, OverallRow};
pub use study::{
    code_agreement_table, code_point_matrix, code_set_matrix, presence_matrix,
    study_pairwise_kappa, CodeAgreementOptions, CodeAgreementRow, CodeAgreementTable, CodeFlag,
    CodeUnit, KappaValue, ResponseSelection, UnitOptions,
};

/// Shorthand for results of this module.
pub(crate) type Result<T> = std::result::Result<T, AgreementError>;

/// A coefficient's value, or the statement that it has none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Coefficient {
    /// The coefficient's value.
    Value(f64),
    /// The coefficient is 0/0 and has no value; the reason says why.
    Undefined(Undefined),
}

/// Why a coefficient is undefined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undefined {
    /// Expected disagreement (or 1 − chance agreement) is 0: all values are the same.
    NoVariation,
    /// Only one category is in play, so chance agreement cannot be separated from agreement.
    SingleCategory,
}

impl Coefficient {
    /// The value, if defined.
    pub fn value(self) -> Option<f64> {
        match self {
            Coefficient::Value(v) => Some(v),
            Coefficient::Undefined(_) => None,
        }
    }

    /// Whether the coefficient is undefined.
    pub fn is_undefined(self) -> bool {
        matches!(self, Coefficient::Undefined(_))
    }
}

impl fmt::Display for Coefficient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Coefficient::Value(v) => write!(f, "{v:.3}"),
            Coefficient::Undefined(u) => write!(f, "undefined ({u})"),
        }
    }
}

impl fmt::Display for Undefined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Undefined::NoVariation => "no variation: every value is the same",
            Undefined::SingleCategory => "only one category",
        })
    }
}

/// What one unit of an agreement statistic is, and what value each coder gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitOfAnalysis {
    /// Each response; a coder's value is whether they applied the code (or one of its sub-codes).
    ResponseCodePresence {
        /// The code.
        code: CodePath,
    },
    /// Each response; a coder's value is the set of codes they applied to it.
    ResponseCodeSet {
        /// Only codes within this one count, if given.
        within: Option<CodePath>,
    },
    /// Each code point of a response; a coder's value is whether a coding of the code covers it.
    CodePoint {
        /// The code.
        code: CodePath,
    },
    /// Each response × codable code pair; a coder's value is whether they applied that code.
    ResponseCodePair,
    /// Units supplied by the user (a reliability matrix or a contingency table).
    UserUnits {
        /// What the units are, in the user's words (may be empty).
        description: String,
    },
}

impl UnitOfAnalysis {
    /// Units supplied by the user, described in their words.
    pub fn user(description: &str) -> Self {
        UnitOfAnalysis::UserUnits {
            description: description.to_string(),
        }
    }
}

impl fmt::Display for UnitOfAnalysis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnitOfAnalysis::ResponseCodePresence { code } => {
                write!(
                    f,
                    "response (value: `{code}` present or absent, sub-codes included)"
                )
            }
            UnitOfAnalysis::ResponseCodeSet { within: None } => {
                f.write_str("response (value: the set of codes applied)")
            }
            UnitOfAnalysis::ResponseCodeSet { within: Some(c) } => {
                write!(f, "response (value: the set of codes within `{c}` applied)")
            }
            UnitOfAnalysis::CodePoint { code } => {
                write!(
                    f,
                    "character (code point) of a response (value: covered by `{code}` or not)"
                )
            }
            UnitOfAnalysis::ResponseCodePair => {
                f.write_str("response × code (value: code applied or not)")
            }
            UnitOfAnalysis::UserUnits { description } if description.is_empty() => {
                f.write_str("units given by the user")
            }
            UnitOfAnalysis::UserUnits { description } => write!(f, "{description}"),
        }
    }
}

/// Two-sided normal quantile z_{1−(1−level)/2}, e.g. 1.959964 for 0.95.
pub(crate) fn normal_quantile(level: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    let n = Normal::new(0.0, 1.0).expect("standard normal");
    n.inverse_cdf(1.0 - (1.0 - level) / 2.0)
}

/// Two-sided Student t quantile with `df` degrees of freedom.
pub(crate) fn t_quantile(level: f64, df: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    match StudentsT::new(0.0, 1.0, df) {
        Ok(t) => t.inverse_cdf(1.0 - (1.0 - level) / 2.0),
        Err(_) => f64::INFINITY,
    }
}

/// Two-sided p-value of a standard normal z.
pub(crate) fn normal_p_two_sided(z: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    let n = Normal::new(0.0, 1.0).expect("standard normal");
    2.0 * n.sf(z.abs())
}

/// Checks that a confidence level lies strictly between 0 and 1.
pub(crate) fn check_level(level: f64) -> Result<()> {
    if level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(AgreementError::InvalidOption(format!(
            "confidence level {level} must lie strictly between 0 and 1 (e.g. 0.95)"
        )))
    }
}
