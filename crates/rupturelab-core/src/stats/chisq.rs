//! Pearson's χ² test of independence and Cramér's V.

use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::error::StatsError;
use super::table::margins;

/// Result of Pearson's χ² test of independence on an r × c table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChiSquareTest {
    /// Pearson's X² = Σ (O − E)² / E, without continuity correction.
    pub statistic: f64,
    /// Degrees of freedom, (r − 1)(c − 1).
    pub df: u64,
    /// Upper-tail p-value from the χ² distribution with `df` degrees of freedom.
    pub p_value: f64,
    /// Cramér's V = √(X² / (n · (min(r, c) − 1))).
    pub cramers_v: f64,
    /// Table total.
    pub n: u64,
    /// Expected counts under independence, row × column.
    pub expected: Vec<Vec<f64>>,
    /// The smallest expected count.
    pub min_expected: f64,
    /// Number of cells with an expected count below 5.
    pub cells_expected_below_5: usize,
    /// Whether any expected count is below 5 (the χ² approximation is then doubtful; read the exact p).
    pub small_expected: bool,
}

/// Pearson's χ² test of independence (no continuity correction, as `scipy.stats.chi2_contingency(correction=False)`).
///
/// Errors when the table is smaller than 2 × 2 or a row or column sums to zero.
pub fn chi_square_test(table: &[Vec<u64>]) -> Result<ChiSquareTest, StatsError> {
    const TEST: &str = "the χ² test";
    let m = margins(table)?;
    if m.rows < 2 || m.cols < 2 {
        return Err(StatsError::TooSmall {
            test: TEST,
            rows: m.rows,
            cols: m.cols,
        });
    }
    if let Some(i) = m.row_sums.iter().position(|&s| s == 0) {
        return Err(StatsError::ZeroMargin {
            test: TEST,
            what: "row",
            index: i + 1,
        });
    }
    if let Some(j) = m.col_sums.iter().position(|&s| s == 0) {
        return Err(StatsError::ZeroMargin {
            test: TEST,
            what: "column",
            index: j + 1,
        });
    }
    let n = m.total as f64;
    let mut statistic = 0.0;
    let mut expected = Vec::with_capacity(m.rows);
    let mut min_expected = f64::INFINITY;
    let mut below = 0;
    for (i, row) in table.iter().enumerate() {
        let mut erow = Vec::with_capacity(m.cols);
        for (j, &o) in row.iter().enumerate() {
            let e = m.row_sums[i] as f64 * m.col_sums[j] as f64 / n;
            let d = o as f64 - e;
            statistic += d * d / e;
            min_expected = min_expected.min(e);
            if e < 5.0 {
                below += 1;
            }
            erow.push(e);
        }
        expected.push(erow);
    }
    let df = ((m.rows - 1) * (m.cols - 1)) as u64;
    let p_value = chi_square_sf(statistic, df as f64);
    let k = m.rows.min(m.cols) as f64 - 1.0;
    let cramers_v = (statistic / (n * k)).sqrt().min(1.0);
    Ok(ChiSquareTest {
        statistic,
        df,
        p_value,
        cramers_v,
        n: m.total,
        expected,
        min_expected,
        cells_expected_below_5: below,
        small_expected: below > 0,
    })
}

/// Upper tail P(X ≥ x) of the χ² distribution with `df` > 0 degrees of freedom, clamped to [0, 1].
pub(crate) fn chi_square_sf(x: f64, df: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    match ChiSquared::new(df) {
        Ok(d) => d.sf(x).clamp(0.0, 1.0),
        Err(_) => f64::NAN,
    }
}
