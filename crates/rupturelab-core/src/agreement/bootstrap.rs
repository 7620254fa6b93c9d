//! Bootstrap confidence intervals for Krippendorff's α.
//!
//! * [`BootstrapMethod::Units`] (default): resample the pairable units with
//!   replacement and recompute α. Units with identical value multisets are pooled
//!   into patterns first, so a replicate costs O(N) draws plus O(patterns + V²).
//!   Replicates in which α is undefined (no variation) are left out and counted.
//!   When the matrix groups units into clusters ([`ReliabilityMatrix::with_clusters`],
//!   e.g. the code points of one response), whole clusters are resampled.
//! * [`BootstrapMethod::KrippendorffPairs`]: Krippendorff's algorithm (Hayes &
//!   Krippendorff 2007, as ported in R `kripp.boot`): draw M = min(25·q, (m−1)·n/2)
//!   pairs from the coincidence distribution, α* = 1 − Σd/(M·D_e) clamped at −1, and
//!   reset round(B·Σ_c (o_cc/n)^M) of the α* = 1 draws to 0.
//!
//! Percentiles follow `kripp.boot`: with B sorted replicates, the lower limit is
//! the max(⌊p·B⌋, 1)-th and the upper the min(⌊(1−p)·B⌋ + 1, B)-th, p = (1 − level)/2.
//! The pair bootstrap does not model clusters.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::alpha::{
    krippendorff_alpha, unit_runs, CoincidenceStore, Coincidences, Distance, Metric,
};
use super::matrix::ReliabilityMatrix;
use super::{check_level, AgreementError, Result, UnitOfAnalysis};

/// The α_min values for which P(α < α_min) is reported.
pub const ALPHA_MINIMA: [f64; 2] = [0.667, 0.8];

/// How α is resampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BootstrapMethod {
    /// Resample units with replacement (nonparametric bootstrap).
    #[default]
    Units,
    /// Krippendorff's pair bootstrap from the coincidence matrix (KALPHA).
    KrippendorffPairs,
}

impl BootstrapMethod {
    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            BootstrapMethod::Units => "unit bootstrap",
            BootstrapMethod::KrippendorffPairs => "Krippendorff pair bootstrap",
        }
    }
}

/// Options of the bootstrap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapOptions {
    /// Resampling method.
    pub method: BootstrapMethod,
    /// Number of replicates B.
    pub replicates: usize,
    /// Seed of the `StdRng`; the same seed gives the same interval.
    pub seed: u64,
    /// Confidence level of the percentile interval.
    pub confidence: f64,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        BootstrapOptions {
            method: BootstrapMethod::Units,
            replicates: 1000,
            seed: 20070101,
            confidence: 0.95,
        }
    }
}

/// A bootstrap distribution of α, summarised.
#[derive(Debug, Clone, PartialEq)]
pub struct AlphaBootstrap {
    /// What a unit is.
    pub unit: UnitOfAnalysis,
    /// The metric's name.
    pub metric: String,
    /// Resampling method.
    pub method: BootstrapMethod,
    /// Replicates asked for (B).
    pub replicates: usize,
    /// Seed used.
    pub seed: u64,
    /// Confidence level.
    pub confidence: f64,
    /// The point estimate of α.
    pub alpha: f64,
    /// Percentile interval (lower, upper).
    pub ci: (f64, f64),
    /// Mean of the replicates.
    pub mean: f64,
    /// (α_min, P(α* < α_min)) for each α_min of [`ALPHA_MINIMA`].
    pub p_below: Vec<(f64, f64)>,
    /// Units (or clusters) drawn per replicate, or M pairs for the pair bootstrap.
    pub resample_size: usize,
    /// Units: replicates left out as undefined; pairs: α* = 1 draws reset to 0.
    pub adjusted_replicates: usize,
}

/// Bootstraps α (seeded) and reports the percentile CI and P(α < α_min).
///
/// Errors as [`krippendorff_alpha`], plus [`AgreementError::AlphaUndefined`] when α
/// itself is undefined and [`AgreementError::InvalidOption`] for B = 0 or a bad level.
pub fn bootstrap_alpha(
    matrix: &ReliabilityMatrix,
    metric: &Metric,
    opts: &BootstrapOptions,
) -> Result<AlphaBootstrap> {
    check_level(opts.confidence)?;
    if opts.replicates == 0 {
        return Err(AgreementError::InvalidOption(
            "the bootstrap needs at least one replicate".into(),
        ));
    }
    let point = krippendorff_alpha(matrix, metric)?;
    let alpha = point.alpha.value().ok_or(AgreementError::AlphaUndefined)?;
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let (mut reps, resample_size, adjusted) = match opts.method {
        BootstrapMethod::Units => unit_bootstrap(matrix, metric, opts.replicates, &mut rng)?,
        BootstrapMethod::KrippendorffPairs => {
            pair_bootstrap(matrix, metric, opts.replicates, &mut rng)?
        }
    };
    if reps.is_empty() {
        return Err(AgreementError::AlphaUndefined);
    }
    reps.sort_by(f64::total_cmp);
    let b = reps.len();
    let p = (1.0 - opts.confidence) / 2.0;
    let lo = ((p * b as f64).floor() as usize).max(1);
    let hi = (((1.0 - p) * b as f64).floor() as usize + 1).min(b);
    let p_below = ALPHA_MINIMA
        .iter()
        .map(|&a| (a, reps.iter().filter(|&&x| x < a).count() as f64 / b as f64))
        .collect();
    Ok(AlphaBootstrap {
        unit: point.unit,
        metric: point.metric,
        method: opts.method,
        replicates: opts.replicates,
        seed: opts.seed,
        confidence: opts.confidence,
        alpha,
        ci: (reps[lo - 1], reps[hi - 1]),
        mean: reps.iter().sum::<f64>() / b as f64,
        p_below,
        resample_size,
        adjusted_replicates: adjusted,
    })
}

/// Distinct unit patterns (value multisets) and, per cluster, how often each occurs.
struct Patterns {
    runs: Vec<Vec<(u32, u64)>>,
    mu: Vec<usize>,
    clusters: Vec<Vec<(u32, u64)>>,
}

fn patterns(matrix: &ReliabilityMatrix) -> Patterns {
    let mut index: HashMap<Vec<(u32, u64)>, u32> = HashMap::new();
    let mut p = Patterns {
        runs: Vec::new(),
        mu: Vec::new(),
        clusters: Vec::new(),
    };
    let mut cluster_index: HashMap<u32, usize> = HashMap::new();
    let mut buf = Vec::new();
    let mut runs = Vec::new();
    for u in 0..matrix.n_units() {
        if !unit_runs(matrix.unit(u), &mut buf, &mut runs) {
            continue;
        }
        let id = match index.get(&runs) {
            Some(&id) => id,
            None => {
                let id = p.runs.len() as u32;
                index.insert(runs.clone(), id);
                p.runs.push(runs.clone());
                p.mu.push(buf.len());
                id
            }
        };
        match matrix.clusters() {
            None => p.clusters.push(vec![(id, 1)]),
            Some(cl) => {
                let next = p.clusters.len();
                let ci = *cluster_index.entry(cl[u]).or_insert(next);
                if ci == next {
                    p.clusters.push(Vec::new());
                }
                let list = &mut p.clusters[ci];
                match list.iter_mut().find(|(pid, _)| *pid == id) {
                    Some((_, cnt)) => *cnt += 1,
                    None => list.push((id, 1)),
                }
            }
        }
    }
    p
}

fn unit_bootstrap(
    matrix: &ReliabilityMatrix,
    metric: &Metric,
    b: usize,
    rng: &mut StdRng,
) -> Result<(Vec<f64>, usize, usize)> {
    let dist = Distance::new(matrix, metric)?;
    let pats = patterns(matrix);
    let n_clusters = pats.clusters.len();
    let v = matrix.values().len();
    let ordinal = matches!(metric, Metric::Ordinal);
    // Observed disagreement of each pattern, for metrics whose d does not depend on counts.
    let zero = vec![0u64; v];
    let fixed = dist.with_counts(&zero);
    let do_pattern: Vec<f64> = if ordinal {
        Vec::new()
    } else {
        pats.runs
            .iter()
            .zip(&pats.mu)
            .map(|(runs, &mu)| {
                let mut s = 0.0;
                for &(c, nc) in runs {
                    for &(k, nk) in runs {
                        let pairs = if c == k { nc * (nc - 1) } else { nc * nk };
                        s += pairs as f64 * fixed.d(c, k);
                    }
                }
                s / (mu as f64 - 1.0)
            })
            .collect()
    };
    let mut counts = vec![0u64; pats.runs.len()];
    let mut reps = Vec::with_capacity(b);
    let mut undefined = 0;
    for _ in 0..b {
        counts.iter_mut().for_each(|c| *c = 0);
        for _ in 0..n_clusters {
            for &(p, cnt) in &pats.clusters[rng.gen_range(0..n_clusters)] {
                counts[p as usize] += cnt;
            }
        }
        let (n, do_sum, de) = if ordinal {
            let mut co = Coincidences {
                o: CoincidenceStore::new(v),
                n_c: vec![0; v],
                n: 0,
                n_pairable_units: 0,
            };
            for (p, &cnt) in counts.iter().enumerate() {
                if cnt > 0 {
                    co.add_unit(&pats.runs[p], pats.mu[p], cnt);
                }
            }
            let bound = dist.with_counts(&co.n_c);
            let mut do_sum = 0.0;
            co.o.for_each(|c, k, o| do_sum += o * bound.d(c, k));
            (co.n, do_sum, bound.expected_sum(&co.n_c, co.n))
        } else {
            let mut n_c = vec![0u64; v];
            let mut n = 0u64;
            let mut do_sum = 0.0;
            for (p, &cnt) in counts.iter().enumerate() {
                if cnt == 0 {
                    continue;
                }
                for &(c, nc) in &pats.runs[p] {
                    n_c[c as usize] += nc * cnt;
                }
                n += pats.mu[p] as u64 * cnt;
                do_sum += do_pattern[p] * cnt as f64;
            }
            (n, do_sum, fixed.expected_sum(&n_c, n))
        };
        if de > 0.0 {
            reps.push(1.0 - (n as f64 - 1.0) * do_sum / de);
        } else {
            undefined += 1;
        }
    }
    Ok((reps, n_clusters, undefined))
}

fn pair_bootstrap(
    matrix: &ReliabilityMatrix,
    metric: &Metric,
    b: usize,
    rng: &mut StdRng,
) -> Result<(Vec<f64>, usize, usize)> {
    let dist = Distance::new(matrix, metric)?;
    let co = Coincidences::count(matrix);
    if co.n_pairable_units == 0 {
        return Err(AgreementError::NoPairableUnits);
    }
    let bound = dist.with_counts(&co.n_c);
    let nf = co.n as f64;
    let de = bound.expected_sum(&co.n_c, co.n) / (nf * (nf - 1.0));
    // Distribution over unordered cells c <= k: p_cc = o_cc/n, p_ck = 2 o_ck/n.
    let mut cum = Vec::new();
    let mut delta = Vec::new();
    let mut q = 0usize;
    let mut diag_nonzero = 0usize;
    let mut diag_p = Vec::new();
    let mut total = 0.0;
    co.o.for_each(|c, k, o| {
        q += 1;
        if c == k {
            diag_nonzero += 1;
            diag_p.push(o / nf);
        }
        if c <= k {
            total += if c == k { o / nf } else { 2.0 * o / nf };
            cum.push(total);
            delta.push(bound.d(c, k));
        }
    });
    let m = matrix.n_coders() as f64;
    let big_m = ((25 * q) as f64).min((m - 1.0) * nf / 2.0).floor().max(1.0) as usize;
    let mut reps = Vec::with_capacity(b);
    let mut ones = Vec::new();
    for i in 0..b {
        let mut sum = 0.0;
        for _ in 0..big_m {
            let u: f64 = rng.gen::<f64>() * total;
            let j = cum.partition_point(|&c| c <= u).min(cum.len() - 1);
            sum += delta[j];
        }
        let mut a = (1.0 - sum / (big_m as f64 * de)).max(-1.0);
        if sum == 0.0 {
            if diag_nonzero == 1 {
                a = 0.0;
            } else {
                ones.push(i);
            }
        }
        reps.push(a);
    }
    // Resamples without variation leave α undefined, not 1: reset about B·Σ(o_cc/n)^M of them.
    let nx = (b as f64 * diag_p.iter().map(|p| p.powi(big_m as i32)).sum::<f64>()).round() as usize;
    let reset = nx.min(ones.len());
    for &i in &ones[..reset] {
        reps[i] = 0.0;
    }
    Ok((reps, big_m, reset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agreement::ReliabilityMatrix;

    fn data() -> ReliabilityMatrix {
        // 3 coders, 60 units, mostly agreeing on 3 categories.
        let mut cells = Vec::new();
        for u in 0..60u32 {
            let v = u % 3;
            cells.extend([
                v,
                if u % 7 == 0 { (v + 1) % 3 } else { v },
                if u % 11 == 0 {
                    super::super::MISSING
                } else {
                    v
                },
            ]);
        }
        ReliabilityMatrix::from_codes(3, cells, 3).unwrap()
    }

    #[test]
    fn bootstraps_are_seeded_and_bracket_alpha() {
        let m = data();
        for method in [BootstrapMethod::Units, BootstrapMethod::KrippendorffPairs] {
            let opts = BootstrapOptions {
                method,
                replicates: 500,
                seed: 7,
                confidence: 0.95,
            };
            let a = bootstrap_alpha(&m, &Metric::Nominal, &opts).unwrap();
            let b = bootstrap_alpha(&m, &Metric::Nominal, &opts).unwrap();
            assert_eq!(a, b);
            assert!(a.ci.0 <= a.alpha && a.alpha <= a.ci.1 + 1e-12, "{a:?}");
            assert!(a.ci.1 <= 1.0 && a.ci.0 >= -1.0);
            assert_eq!(a.p_below.len(), 2);
            assert!(a.p_below[0].1 <= a.p_below[1].1);
            let other =
                bootstrap_alpha(&m, &Metric::Nominal, &BootstrapOptions { seed: 8, ..opts })
                    .unwrap();
            assert_ne!(a.ci, other.ci);
        }
    }

    #[test]
    fn unit_bootstrap_handles_ordinal_and_interval() {
        let d = data();
        let values = vec![1.0.into(), 2.0.into(), 3.0.into()];
        let m =
            ReliabilityMatrix::new(d.coders().to_vec(), None, d.cells().to_vec(), values).unwrap();
        for metric in [Metric::Ordinal, Metric::Interval] {
            let a = bootstrap_alpha(
                &m,
                &metric,
                &BootstrapOptions {
                    replicates: 200,
                    ..Default::default()
                },
            )
            .unwrap();
            assert!(a.ci.0 <= a.alpha && a.alpha <= a.ci.1, "{metric:?} {a:?}");
        }
    }

    #[test]
    fn undefined_alpha_has_no_bootstrap() {
        let m = ReliabilityMatrix::from_codes(2, vec![0, 0, 0, 0], 1).unwrap();
        let e = bootstrap_alpha(&m, &Metric::Nominal, &BootstrapOptions::default()).unwrap_err();
        assert_eq!(e, AgreementError::AlphaUndefined);
        let e = bootstrap_alpha(
            &data(),
            &Metric::Nominal,
            &BootstrapOptions {
                replicates: 0,
                ..Default::default()
            },
        );
        assert!(matches!(e, Err(AgreementError::InvalidOption(_))));
    }
}
