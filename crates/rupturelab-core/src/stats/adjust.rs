//! Multiple-comparison adjustments of a family of p-values (as R's `p.adjust`).

use super::error::StatsError;

fn check(p: &[f64]) -> Result<(), StatsError> {
    match p.iter().position(|v| !(0.0..=1.0).contains(v)) {
        Some(i) => Err(StatsError::InvalidPValue {
            index: i + 1,
            value: p[i],
        }),
        None => Ok(()),
    }
}

/// Indices of `p` in ascending order of p-value (stable for ties).
fn ascending(p: &[f64]) -> Vec<usize> {
    let mut o: Vec<usize> = (0..p.len()).collect();
    o.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    o
}

/// Holm's step-down adjusted p-values (family-wise error rate), in input order.
///
/// With p₍₁₎ ≤ … ≤ p₍ₘ₎: p̃₍ᵢ₎ = min(1, maxⱼ≤ᵢ (m − j + 1) p₍ⱼ₎).
pub fn holm(p: &[f64]) -> Result<Vec<f64>, StatsError> {
    check(p)?;
    let m = p.len();
    let mut out = vec![0.0; m];
    let mut running = 0.0f64;
    for (rank, &i) in ascending(p).iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    Ok(out)
}

/// Benjamini–Hochberg adjusted p-values (false discovery rate), in input order.
///
/// With p₍₁₎ ≤ … ≤ p₍ₘ₎: p̃₍ᵢ₎ = min(1, minⱼ≥ᵢ m p₍ⱼ₎ / j).
pub fn benjamini_hochberg(p: &[f64]) -> Result<Vec<f64>, StatsError> {
    check(p)?;
    let m = p.len();
    let mut out = vec![0.0; m];
    let mut running = 1.0f64;
    for (rank, &i) in ascending(p).iter().enumerate().rev() {
        running = running.min(m as f64 / (rank + 1) as f64 * p[i]);
        out[i] = running;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn holm_by_hand() {
        // sorted 0.01, 0.02, 0.03, 0.04 → 4·0.01, max(.04, 3·.02), max(.06, 2·.03), max(.06, .04)
        close(
            &holm(&[0.03, 0.01, 0.04, 0.02]).unwrap(),
            &[0.06, 0.04, 0.06, 0.06],
        );
        close(&holm(&[0.5, 0.001]).unwrap(), &[0.5, 0.002]);
        close(&holm(&[0.9, 0.8]).unwrap(), &[1.0, 1.0]);
    }

    #[test]
    fn bh_by_hand() {
        // sorted .01 .02 .03 .04, m = 4: 4·.01/1 = .04, 4·.02/2 = .04, 4·.03/3 = .04, 4·.04/4 = .04
        close(
            &benjamini_hochberg(&[0.03, 0.01, 0.04, 0.02]).unwrap(),
            &[0.04; 4],
        );
        // .01 .04 .05: 3·.05/3 = .05, min(.05, 3·.04/2 = .06) = .05, 3·.01 = .03
        close(
            &benjamini_hochberg(&[0.05, 0.01, 0.04]).unwrap(),
            &[0.05, 0.03, 0.05],
        );
    }

    #[test]
    fn empty_and_single_families() {
        assert!(holm(&[]).unwrap().is_empty());
        assert!(benjamini_hochberg(&[]).unwrap().is_empty());
        close(&holm(&[0.2]).unwrap(), &[0.2]);
        close(&benjamini_hochberg(&[0.2]).unwrap(), &[0.2]);
    }

    #[test]
    fn invalid_p_values_are_rejected() {
        assert!(matches!(
            holm(&[0.1, 1.5]),
            Err(StatsError::InvalidPValue { index: 2, .. })
        ));
        assert!(matches!(
            benjamini_hochberg(&[f64::NAN]),
            Err(StatsError::InvalidPValue { index: 1, .. })
        ));
    }
}
