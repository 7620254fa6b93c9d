//! What the load clients share: the percentile of their latencies.

/// The `p`th percentile (nearest rank) of sorted values; NaN if there are none.
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((p / 100.0) * (sorted.len() - 1) as f64).round() as usize]
}
