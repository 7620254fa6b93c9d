//! The errors of the agreement engine, each with a message that says what to do.

use thiserror::Error;

/// Why an agreement statistic could not be computed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AgreementError {
    /// No unit has values from two or more coders.
    #[error(
        "no unit has values from two or more coders, so there is nothing to compare; \
         agreement needs at least one unit rated by at least two coders"
    )]
    NoPairableUnits,

    /// Fleiss' κ was asked for data whose units have different numbers of ratings.
    #[error(
        "Fleiss' κ is not defined when units have different numbers of ratings \
         (unit {first_unit} has {expected}, unit {unit} has {found}); \
         use Krippendorff's α (nominal), which allows missing ratings"
    )]
    UnequalRatings {
        /// The first unit, whose number of ratings sets the expectation.
        first_unit: String,
        /// Its number of ratings.
        expected: u64,
        /// The first unit that differs.
        unit: String,
        /// Its number of ratings.
        found: u64,
    },

    /// A statistic needs at least this many coders.
    #[error("{statistic} needs at least {needed} coders, but {found} were given")]
    TooFewCoders {
        /// The statistic.
        statistic: &'static str,
        /// How many it needs.
        needed: usize,
        /// How many were given.
        found: usize,
    },

    /// A count table has no counts (or no rows).
    #[error("the table is empty: {0}")]
    EmptyTable(&'static str),

    /// A table or matrix has inconsistent dimensions.
    #[error("malformed input: {0}")]
    Shape(String),

    /// A value id in a matrix is outside its value list.
    #[error("cell {cell} holds value id {id}, but the matrix has only {n_values} values (use MISSING for an empty cell)")]
    ValueOutOfRange {
        /// Index of the cell.
        cell: usize,
        /// The id found.
        id: u32,
        /// Number of values in the matrix.
        n_values: usize,
    },

    /// A metric needs a kind of value the matrix does not hold.
    #[error("the {metric} metric needs {needed}, but value `{value}` is not; {hint}")]
    WrongValueKind {
        /// The metric.
        metric: &'static str,
        /// What it needs.
        needed: &'static str,
        /// The offending value, as text.
        value: String,
        /// How to fix it.
        hint: &'static str,
    },

    /// The ratio metric got a negative value.
    #[error(
        "the ratio metric assumes non-negative values, but {0} occurs; use the interval metric"
    )]
    NegativeRatio(f64),

    /// A label given as the full category list does not cover an observed value.
    #[error("value `{0}` does not occur in the category list given")]
    UnknownCategory(String),

    /// A category list repeats a category.
    #[error("the category list names `{0}` twice")]
    DuplicateCategory(String),

    /// The reliability-matrix CSV is malformed.
    #[error("matrix CSV, line {line}: {message}")]
    Csv {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },

    /// A coder name is not one of the study's coders.
    #[error("unknown coder `{name}`; the study's coders are: {known}")]
    UnknownCoder {
        /// The name given.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },

    /// A coder was named twice.
    #[error("coder `{0}` is listed twice; name each coder once")]
    DuplicateCoder(String),

    /// A code path is not in the codebook.
    #[error("unknown code `{0}`; it is not in the study's codebook")]
    UnknownCode(String),

    /// No response qualifies as a unit.
    #[error("no unit of analysis: {0}")]
    NoUnits(String),

    /// Krippendorff's α is undefined, so it has no bootstrap distribution.
    #[error(
        "Krippendorff's α is undefined for these data (expected disagreement is 0: every pairable value \
         is the same), so it has no confidence interval"
    )]
    AlphaUndefined,

    /// A bootstrap or confidence option is out of range.
    #[error("invalid option: {0}")]
    InvalidOption(String),
}
