//! The error type of the statistics module.

/// Why a statistic could not be computed; every message says what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    /// The table has no cells.
    #[error("the table is empty; a contingency table needs at least one row and one column")]
    EmptyTable,
    /// Rows of different lengths.
    #[error(
        "row {row} of the table has {found} cells but row 1 has {expected}; every row needs the same number of columns"
    )]
    RaggedTable {
        /// 1-based row number.
        row: usize,
        /// Cells in that row.
        found: usize,
        /// Cells in row 1.
        expected: usize,
    },
    /// A test that needs at least a 2 × 2 table got a smaller one.
    #[error("{test} needs a table of at least 2 × 2; this one is {rows} × {cols}")]
    TooSmall {
        /// Name of the test.
        test: &'static str,
        /// Rows.
        rows: usize,
        /// Columns.
        cols: usize,
    },
    /// A row or column with no counts makes expected counts zero.
    #[error(
        "{what} {index} of the table sums to zero, so its expected counts are 0 and {test} is undefined; drop that {what} first"
    )]
    ZeroMargin {
        /// Name of the test.
        test: &'static str,
        /// `row` or `column`.
        what: &'static str,
        /// 1-based index.
        index: usize,
    },
    /// The table total is too large to handle.
    #[error("the table total {total} is larger than {max}, the most these tests handle")]
    TooLarge {
        /// The table total.
        total: u64,
        /// The limit.
        max: u64,
    },
    /// A p-value outside [0, 1] or not a number.
    #[error("p-value {index} is {value}; p-values must be numbers in [0, 1]")]
    InvalidPValue {
        /// 1-based position in the input.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A Monte-Carlo estimate was asked for with zero draws.
    #[error("the Monte-Carlo draw count is 0; use at least 1 draw (10,000 or more for a usable p-value)")]
    NoDraws,
    /// Repeated-measures data with rows of different lengths or too few conditions.
    #[error("{test}: {message}")]
    BadRepeatedMeasures {
        /// Name of the test.
        test: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Cochran's Q with no within-subject variation.
    #[error(
        "Cochran's Q is undefined: every subject has the same value in every condition, so there is no within-subject variation to test"
    )]
    NoVariation,
    /// The attribute named for a cross-tab does not exist.
    #[error("no participant attribute `{name}`{hint}; the study's attributes are: {available}")]
    UnknownAttribute {
        /// The name given.
        name: String,
        /// A "did you mean" hint, or empty.
        hint: String,
        /// The study's attribute names.
        available: String,
    },
    /// A numeric attribute without bands or cut points.
    #[error(
        "attribute `{name}` is numeric and has no bands; give cut points (e.g. 5, 10, 20) or set `bands` for it in study.toml"
    )]
    NoBands {
        /// The attribute.
        name: String,
    },
    /// Cut points given for a non-numeric attribute.
    #[error("attribute `{name}` is a {kind} attribute; cut points only apply to integer and number attributes")]
    CutsOnNonNumeric {
        /// The attribute.
        name: String,
        /// Its type name.
        kind: &'static str,
    },
    /// Cut points that are not strictly ascending finite numbers.
    #[error(
        "cut points [{cuts}] must be finite numbers in strictly ascending order, e.g. 5, 10, 20"
    )]
    BadCuts {
        /// The cut points as given.
        cuts: String,
    },
    /// The coding layer has no codings.
    #[error("coding layer `{layer}` has no codings; layers with codings: {available}")]
    EmptyLayer {
        /// The layer asked for.
        layer: String,
        /// Layers that do have codings.
        available: String,
    },
    /// A code path not in the codebook.
    #[error("no code `{path}` in the codebook{hint}")]
    UnknownCode {
        /// The path given.
        path: String,
        /// A "did you mean" hint, or empty.
        hint: String,
    },
    /// A code selection that selects nothing.
    #[error("no codes to analyse: {0}")]
    NoCodes(String),
}
