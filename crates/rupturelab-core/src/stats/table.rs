//! Validation and margins of a contingency table, and a log-factorial table.

use super::error::StatsError;

/// Largest table total accepted (keeps log-factorial tables small and counts exact in f64).
pub(crate) const MAX_TOTAL: u64 = 1 << 40;

/// A validated table with its margins.
pub(crate) struct Margins {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Row sums.
    pub row_sums: Vec<u64>,
    /// Column sums.
    pub col_sums: Vec<u64>,
    /// Grand total.
    pub total: u64,
}

/// Checks that `table` is non-empty and rectangular and computes its margins.
pub(crate) fn margins(table: &[Vec<u64>]) -> Result<Margins, StatsError> {
    let rows = table.len();
    let cols = table.first().map(Vec::len).unwrap_or(0);
    if rows == 0 || cols == 0 {
        return Err(StatsError::EmptyTable);
    }
    for (i, row) in table.iter().enumerate() {
        if row.len() != cols {
            return Err(StatsError::RaggedTable {
                row: i + 1,
                found: row.len(),
                expected: cols,
            });
        }
    }
    let mut col_sums = vec![0u64; cols];
    let mut row_sums = Vec::with_capacity(rows);
    let mut total: u64 = 0;
    for row in table {
        let mut s: u64 = 0;
        for (j, &x) in row.iter().enumerate() {
            s = s.saturating_add(x);
            col_sums[j] = col_sums[j].saturating_add(x);
        }
        row_sums.push(s);
        total = total.saturating_add(s);
    }
    if total > MAX_TOTAL {
        return Err(StatsError::TooLarge {
            total,
            max: MAX_TOTAL,
        });
    }
    Ok(Margins {
        rows,
        cols,
        row_sums,
        col_sums,
        total,
    })
}

/// `ln k!`, tabulated up to a bound and computed beyond it.
pub(crate) struct LnFact(Vec<f64>);

impl LnFact {
    /// Tabulates `ln k!` for `k ≤ min(n, 2²⁰)`.
    pub(crate) fn new(n: u64) -> Self {
        let m = n.min(1 << 20);
        LnFact(
            (0..=m)
                .map(statrs::function::factorial::ln_factorial)
                .collect(),
        )
    }

    /// `ln k!`.
    #[inline]
    pub(crate) fn get(&self, k: u64) -> f64 {
        match self.0.get(k as usize) {
            Some(v) => *v,
            None => statrs::function::factorial::ln_factorial(k),
        }
    }
}
