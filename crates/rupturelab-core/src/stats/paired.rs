//! Tests for the same subjects measured more than once: McNemar and Cochran's Q.

use serde::Serialize;

use super::chisq::chi_square_sf;
use super::error::StatsError;
use super::table::LnFact;

/// A χ² statistic with one degree of freedom and its p-value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct McNemarChiSquare {
    /// The statistic.
    pub statistic: f64,
    /// Degrees of freedom (1).
    pub df: u64,
    /// Upper-tail p-value.
    pub p_value: f64,
}

/// McNemar's test of a paired 2 × 2 table `[[a, b], [c, d]]` (b and c are the discordant pairs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct McNemar {
    /// Pairs with yes in the first condition and no in the second.
    pub b: u64,
    /// Pairs with no in the first condition and yes in the second.
    pub c: u64,
    /// (b − c)² / (b + c); `None` without discordant pairs.
    pub chi_square: Option<McNemarChiSquare>,
    /// With continuity correction, (|b − c| − 1)² / (b + c) as R's `mcnemar.test`; `None` without discordant pairs.
    pub corrected: Option<McNemarChiSquare>,
    /// Exact two-sided binomial p-value: min(1, 2 · P(X ≤ min(b, c))), X ~ Bin(b + c, ½); 1 without discordant pairs.
    pub exact_p: f64,
}

/// McNemar's test, with and without continuity correction, and its exact binomial version.
pub fn mcnemar(table: [[u64; 2]; 2]) -> McNemar {
    let (b, c) = (table[0][1], table[1][0]);
    let n = b + c;
    if n == 0 {
        return McNemar {
            b,
            c,
            chi_square: None,
            corrected: None,
            exact_p: 1.0,
        };
    }
    let diff = b.abs_diff(c) as f64;
    let make = |statistic: f64| McNemarChiSquare {
        statistic,
        df: 1,
        p_value: chi_square_sf(statistic, 1.0),
    };
    let lnf = LnFact::new(n.min(1 << 16));
    let k = b.min(c);
    let ln_half_n = n as f64 * 0.5f64.ln();
    let tail: f64 = (0..=k)
        .map(|i| (lnf.get(n) - lnf.get(i) - lnf.get(n - i) + ln_half_n).exp())
        .sum();
    McNemar {
        b,
        c,
        chi_square: Some(make(diff * diff / n as f64)),
        corrected: Some(make((diff - 1.0) * (diff - 1.0) / n as f64)),
        exact_p: (2.0 * tail).min(1.0),
    }
}

/// Cochran's Q test that k related proportions are equal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CochranQ {
    /// Q = (k − 1)(k ΣCⱼ² − T²) / (k T − ΣRᵢ²).
    pub statistic: f64,
    /// Degrees of freedom, k − 1.
    pub df: u64,
    /// Upper-tail p-value from χ²(k − 1).
    pub p_value: f64,
    /// Number of subjects (rows).
    pub subjects: usize,
    /// Proportion of subjects with "yes" in each condition.
    pub proportions: Vec<f64>,
}

/// Cochran's Q on subjects × conditions binary data (every subject observed in every condition).
pub fn cochran_q(data: &[Vec<bool>]) -> Result<CochranQ, StatsError> {
    const TEST: &str = "Cochran's Q";
    let k = data.first().map(Vec::len).unwrap_or(0);
    if data.is_empty() {
        return Err(StatsError::BadRepeatedMeasures {
            test: TEST,
            message: "there are no subjects".into(),
        });
    }
    if k < 2 {
        return Err(StatsError::BadRepeatedMeasures {
            test: TEST,
            message: format!("it needs at least 2 conditions per subject; got {k}"),
        });
    }
    if let Some(i) = data.iter().position(|r| r.len() != k) {
        return Err(StatsError::BadRepeatedMeasures {
            test: TEST,
            message: format!(
                "subject {} has {} values but subject 1 has {k}; give every subject one value per condition",
                i + 1,
                data[i].len()
            ),
        });
    }
    let mut col = vec![0f64; k];
    let mut sum_row_sq = 0.0;
    let mut total = 0.0;
    for row in data {
        let r = row.iter().filter(|&&v| v).count() as f64;
        sum_row_sq += r * r;
        total += r;
        for (j, &v) in row.iter().enumerate() {
            if v {
                col[j] += 1.0;
            }
        }
    }
    let kf = k as f64;
    let denominator = kf * total - sum_row_sq;
    if denominator <= 0.0 {
        return Err(StatsError::NoVariation);
    }
    let sum_col_sq: f64 = col.iter().map(|c| c * c).sum();
    let statistic = ((kf - 1.0) * (kf * sum_col_sq - total * total) / denominator).max(0.0);
    let df = (k - 1) as u64;
    Ok(CochranQ {
        statistic,
        df,
        p_value: chi_square_sf(statistic, df as f64),
        subjects: data.len(),
        proportions: col.iter().map(|c| c / data.len() as f64).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcnemar_by_hand() {
        // b = 10, c = 2: (8²)/12 = 5.333…, corrected 7²/12 = 4.0833…
        let m = mcnemar([[5, 10], [2, 7]]);
        let chi = m.chi_square.unwrap();
        assert!((chi.statistic - 64.0 / 12.0).abs() < 1e-12);
        assert!((m.corrected.unwrap().statistic - 49.0 / 12.0).abs() < 1e-12);
        // exact: 2 · (1 + 12 + 66) / 4096
        assert!((m.exact_p - 2.0 * 79.0 / 4096.0).abs() < 1e-12);
    }

    #[test]
    fn mcnemar_without_discordant_pairs() {
        let m = mcnemar([[4, 0], [0, 6]]);
        assert!(m.chi_square.is_none() && m.corrected.is_none());
        assert_eq!(m.exact_p, 1.0);
    }

    #[test]
    fn cochran_with_two_conditions_is_uncorrected_mcnemar() {
        // 3 (yes, no), 1 (no, yes), 2 (yes, yes), 4 (no, no)
        let mut data = Vec::new();
        data.extend(std::iter::repeat_n(vec![true, false], 3));
        data.extend(std::iter::repeat_n(vec![false, true], 1));
        data.extend(std::iter::repeat_n(vec![true, true], 2));
        data.extend(std::iter::repeat_n(vec![false, false], 4));
        let q = cochran_q(&data).unwrap();
        let m = mcnemar([[2, 3], [1, 4]]);
        assert!((q.statistic - m.chi_square.unwrap().statistic).abs() < 1e-12);
        assert_eq!(q.df, 1);
    }

    #[test]
    fn cochran_errors() {
        assert!(matches!(
            cochran_q(&[]),
            Err(StatsError::BadRepeatedMeasures { .. })
        ));
        assert!(matches!(
            cochran_q(&[vec![true]]),
            Err(StatsError::BadRepeatedMeasures { .. })
        ));
        assert!(matches!(
            cochran_q(&[vec![true, false], vec![true]]),
            Err(StatsError::BadRepeatedMeasures { .. })
        ));
        assert!(matches!(
            cochran_q(&[vec![true, true], vec![false, false]]),
            Err(StatsError::NoVariation)
        ));
    }
}
