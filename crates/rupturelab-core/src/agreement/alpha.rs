//! Krippendorff's α over a reliability matrix (coincidence-matrix form, Krippendorff 2011).
//!
//! Units with fewer than two values are not pairable and are dropped completely.
//! Work is O(N·m) to count values plus O(N·k_u²) for units with k_u distinct values;
//! only a V × V coincidence accumulator is kept (a hash map when V > 1024), never a
//! units × V × V array. Nominal data take an exact integer path: per unit only the
//! number of values and of agreeing pairs is needed.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use super::matrix::{ReliabilityMatrix, Value, MISSING};
use super::{AgreementError, Coefficient, Result, Undefined, UnitOfAnalysis};

/// A custom distance between two values, used as α's d² **as given** (not squared).
pub type DistanceFn = Arc<dyn Fn(&Value, &Value) -> f64 + Send + Sync>;

/// The level of measurement, i.e. α's difference function.
#[derive(Clone)]
pub enum Metric {
    /// 0 if equal, else 1.
    Nominal,
    /// Rank-based: (Σ_{g=c..k} n_g − (n_c + n_k)/2)²; numbers by value, labels in list order.
    Ordinal,
    /// (c − k)² on numbers.
    Interval,
    /// ((c − k)/(c + k))² on non-negative numbers (0 when c + k = 0).
    Ratio,
    /// MASI distance on label sets (Passonneau 2006), not squared.
    Masi,
    /// Jaccard distance on label sets, not squared.
    Jaccard,
    /// A distance of the caller's, not squared; finite, ≥ 0, and 0 for equal values.
    Custom {
        /// Name shown in results.
        name: String,
        /// The distance.
        distance: DistanceFn,
    },
}

impl fmt::Debug for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Metric {
    /// The metric's name (`nominal`, `ordinal`, …, or the custom name).
    pub fn name(&self) -> &str {
        match self {
            Metric::Nominal => "nominal",
            Metric::Ordinal => "ordinal",
            Metric::Interval => "interval",
            Metric::Ratio => "ratio",
            Metric::Masi => "masi",
            Metric::Jaccard => "jaccard",
            Metric::Custom { name, .. } => name,
        }
    }

    /// Parses `nominal`, `ordinal`, `interval`, `ratio`, `masi` or `jaccard`.
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "nominal" => Metric::Nominal,
            "ordinal" => Metric::Ordinal,
            "interval" => Metric::Interval,
            "ratio" => Metric::Ratio,
            "masi" => Metric::Masi,
            "jaccard" => Metric::Jaccard,
            other => {
                return Err(AgreementError::InvalidOption(format!(
                "unknown level `{other}`; use nominal, ordinal, interval, ratio, masi or jaccard"
            )))
            }
        })
    }
}

/// MASI distance 1 − J·M between two sets (M = 1 equal, 2/3 subset, 1/3 overlap, 0 disjoint).
pub fn masi_distance<T: Ord>(a: &BTreeSet<T>, b: &BTreeSet<T>) -> f64 {
    let inter = a.intersection(b).count();
    let union = a.len() + b.len() - inter;
    if union == 0 {
        return 0.0;
    }
    let j = inter as f64 / union as f64;
    let m = if inter == a.len() && inter == b.len() {
        1.0
    } else if inter == a.len() || inter == b.len() {
        2.0 / 3.0
    } else if inter > 0 {
        1.0 / 3.0
    } else {
        0.0
    };
    1.0 - j * m
}

/// Jaccard distance 1 − |A ∩ B| / |A ∪ B| (0 for two empty sets).
pub fn jaccard_distance<T: Ord>(a: &BTreeSet<T>, b: &BTreeSet<T>) -> f64 {
    let inter = a.intersection(b).count();
    let union = a.len() + b.len() - inter;
    if union == 0 {
        0.0
    } else {
        1.0 - inter as f64 / union as f64
    }
}

/// Krippendorff's α with its counts and disagreements.
#[derive(Debug, Clone, PartialEq)]
pub struct AlphaResult {
    /// What a unit is.
    pub unit: UnitOfAnalysis,
    /// The metric's name.
    pub metric: String,
    /// α, or undefined when expected disagreement is 0.
    pub alpha: Coefficient,
    /// Number of coders (matrix rows).
    pub n_coders: usize,
    /// Number of units in the matrix, pairable or not.
    pub n_units: usize,
    /// Units with at least two values (the ones α uses).
    pub n_pairable_units: usize,
    /// n: the number of pairable values.
    pub n_pairable_values: u64,
    /// n_c for each value id (pairable values only).
    pub value_counts: Vec<u64>,
    /// D_o, observed disagreement.
    pub observed_disagreement: f64,
    /// D_e, expected disagreement.
    pub expected_disagreement: f64,
}

/// Computes Krippendorff's α of a reliability matrix at the given level of measurement.
///
/// Errors: [`AgreementError::NoPairableUnits`] when no unit has two values; a metric
/// that does not fit the values (e.g. interval on labels) says so. When D_e = 0, α is
/// [`Coefficient::Undefined`].
pub fn krippendorff_alpha(matrix: &ReliabilityMatrix, metric: &Metric) -> Result<AlphaResult> {
    let dist = Distance::new(matrix, metric)?;
    if matches!(metric, Metric::Nominal) {
        return nominal_alpha(matrix);
    }
    let co = Coincidences::count(matrix);
    if co.n_pairable_units == 0 {
        return Err(AgreementError::NoPairableUnits);
    }
    let ctx = dist.with_counts(&co.n_c);
    let mut do_sum = 0.0;
    co.o.for_each(|c, k, o| do_sum += o * ctx.d(c, k));
    let de_sum = ctx.expected_sum(&co.n_c, co.n);
    if !do_sum.is_finite() || !de_sum.is_finite() || do_sum < 0.0 || de_sum < 0.0 {
        return Err(AgreementError::InvalidOption(format!(
            "the {} distance gave a negative or non-finite disagreement; a distance must be finite and ≥ 0",
            metric.name()
        )));
    }
    Ok(finish(
        matrix,
        metric.name(),
        co.n_pairable_units,
        co.n,
        co.n_c,
        do_sum,
        de_sum,
    ))
}

/// Builds the result from Σ o·d and Σ n_c n_k d.
pub(super) fn finish(
    matrix: &ReliabilityMatrix,
    metric: &str,
    pairable_units: usize,
    n: u64,
    n_c: Vec<u64>,
    do_sum: f64,
    de_sum: f64,
) -> AlphaResult {
    let nf = n as f64;
    let alpha = if de_sum > 0.0 {
        Coefficient::Value(1.0 - (nf - 1.0) * do_sum / de_sum)
    } else {
        Coefficient::Undefined(Undefined::NoVariation)
    };
    AlphaResult {
        unit: matrix.unit_of_analysis().clone(),
        metric: metric.to_string(),
        alpha,
        n_coders: matrix.n_coders(),
        n_units: matrix.n_units(),
        n_pairable_units: pairable_units,
        n_pairable_values: n,
        value_counts: n_c,
        observed_disagreement: do_sum / nf,
        expected_disagreement: de_sum / (nf * (nf - 1.0)),
    }
}

/// The exact nominal path: per unit only m_u and the number of agreeing pairs matter.
fn nominal_alpha(matrix: &ReliabilityMatrix) -> Result<AlphaResult> {
    let m = matrix.n_coders();
    let v = matrix.values().len();
    let mut n_c = vec![0u64; v];
    let mut eq_by_mu = vec![0u64; m + 1];
    let cells = matrix.cells();
    let pairable = match m {
        1 => 0,
        2 => count_nominal_fixed::<2>(cells, &mut n_c, &mut eq_by_mu),
        3 => count_nominal_fixed::<3>(cells, &mut n_c, &mut eq_by_mu),
        4 => count_nominal_fixed::<4>(cells, &mut n_c, &mut eq_by_mu),
        5 => count_nominal_fixed::<5>(cells, &mut n_c, &mut eq_by_mu),
        6 => count_nominal_fixed::<6>(cells, &mut n_c, &mut eq_by_mu),
        7 => count_nominal_fixed::<7>(cells, &mut n_c, &mut eq_by_mu),
        8 => count_nominal_fixed::<8>(cells, &mut n_c, &mut eq_by_mu),
        _ => count_nominal_dyn(cells, m, &mut n_c, &mut eq_by_mu),
    } as usize;
    if pairable == 0 {
        return Err(AgreementError::NoPairableUnits);
    }
    let n: u64 = n_c.iter().sum();
    // Σ_c o_cc = Σ_u 2·(agreeing pairs)/(m_u − 1).
    let diag: f64 = eq_by_mu
        .iter()
        .enumerate()
        .skip(2)
        .map(|(mu, &eq)| 2.0 * eq as f64 / (mu as f64 - 1.0))
        .sum();
    let sum_sq: u128 = n_c.iter().map(|&x| x as u128 * x as u128).sum();
    let de_int = n as u128 * n as u128 - sum_sq;
    let do_sum = n as f64 - diag;
    let de_sum = if de_int == 0 { 0.0 } else { de_int as f64 };
    Ok(finish(matrix, "nominal", pairable, n, n_c, do_sum, de_sum))
}

/// Branch-free count for M coders: a missing cell goes to an extra slot `v`, and each
/// coder has its own histogram so that increments do not wait on each other.
fn count_nominal_fixed<const M: usize>(
    cells: &[u32],
    n_c: &mut [u64],
    eq_by_mu: &mut [u64],
) -> u64 {
    let v = n_c.len();
    let slot = v as u32;
    let stride = v + 1;
    let mut hist = vec![0u64; M * stride];
    let mut pairable = 0u64;
    for unit in cells.chunks_exact(M) {
        let unit: &[u32; M] = unit.try_into().expect("chunk of M cells");
        let mu: usize = unit.iter().map(|&x| (x != MISSING) as usize).sum();
        let p = (mu >= 2) as u64;
        pairable += p;
        let mut eq = 0u64;
        for (i, &vi) in unit.iter().enumerate() {
            let present = vi != MISSING;
            for &vj in &unit[i + 1..] {
                eq += ((vj == vi) & present) as u64;
            }
            hist[i * stride + vi.min(slot) as usize] += p;
        }
        // A unit with fewer than two values has no agreeing pair, so eq = 0 there.
        eq_by_mu[mu] += eq;
    }
    for h in hist.chunks_exact(stride) {
        for (n, &x) in n_c.iter_mut().zip(h) {
            *n += x;
        }
    }
    pairable
}

fn count_nominal_dyn(cells: &[u32], m: usize, n_c: &mut [u64], eq_by_mu: &mut [u64]) -> u64 {
    let mut pairable = 0;
    let mut buf = Vec::with_capacity(m);
    for unit in cells.chunks_exact(m) {
        buf.clear();
        buf.extend(unit.iter().copied().filter(|&x| x != MISSING));
        if buf.len() < 2 {
            continue;
        }
        pairable += 1;
        buf.sort_unstable();
        let mut eq = 0u64;
        for run in buf.chunk_by(|a, b| a == b) {
            let k = run.len() as u64;
            n_c[run[0] as usize] += k;
            eq += k * (k - 1) / 2;
        }
        eq_by_mu[buf.len()] += eq;
    }
    pairable
}

/// Above this many values the coincidences and distance tables are kept sparse.
const DENSE_LIMIT: usize = 1024;

/// The coincidence matrix o_ck, dense (V ≤ 1024) or sparse.
pub(super) enum CoincidenceStore {
    Dense { v: usize, o: Vec<f64> },
    Sparse(HashMap<(u32, u32), f64>),
}

impl CoincidenceStore {
    pub(super) fn new(v: usize) -> Self {
        if v <= DENSE_LIMIT {
            CoincidenceStore::Dense {
                v,
                o: vec![0.0; v * v],
            }
        } else {
            CoincidenceStore::Sparse(HashMap::new())
        }
    }

    #[inline]
    pub(super) fn add(&mut self, c: u32, k: u32, w: f64) {
        match self {
            CoincidenceStore::Dense { v, o } => o[c as usize * *v + k as usize] += w,
            CoincidenceStore::Sparse(map) => *map.entry((c, k)).or_insert(0.0) += w,
        }
    }

    /// Calls `f(c, k, o_ck)` for every non-zero cell.
    pub(super) fn for_each(&self, mut f: impl FnMut(u32, u32, f64)) {
        match self {
            CoincidenceStore::Dense { v, o } => {
                for (i, &x) in o.iter().enumerate() {
                    if x != 0.0 {
                        f((i / v) as u32, (i % v) as u32, x);
                    }
                }
            }
            CoincidenceStore::Sparse(map) => {
                let mut cells: Vec<_> = map.iter().filter(|(_, &x)| x != 0.0).collect();
                cells.sort_by_key(|(k, _)| **k);
                for (&(c, k), &x) in cells {
                    f(c, k, x);
                }
            }
        }
    }
}

/// Coincidences and margins of the pairable units.
pub(super) struct Coincidences {
    pub(super) o: CoincidenceStore,
    pub(super) n_c: Vec<u64>,
    pub(super) n: u64,
    pub(super) n_pairable_units: usize,
}

impl Coincidences {
    /// Counts the coincidences of every pairable unit.
    pub(super) fn count(matrix: &ReliabilityMatrix) -> Self {
        let v = matrix.values().len();
        let mut co = Coincidences {
            o: CoincidenceStore::new(v),
            n_c: vec![0; v],
            n: 0,
            n_pairable_units: 0,
        };
        let m = matrix.n_coders();
        let cells = matrix.cells();
        if (2..=8).contains(&m) && (m + 1) * (v + 1) * (v + 1) <= PAIR_TABLE_LIMIT {
            let (pairs, pairable) = match m {
                2 => count_pairs_fixed::<2>(cells, &mut co.n_c),
                3 => count_pairs_fixed::<3>(cells, &mut co.n_c),
                4 => count_pairs_fixed::<4>(cells, &mut co.n_c),
                5 => count_pairs_fixed::<5>(cells, &mut co.n_c),
                6 => count_pairs_fixed::<6>(cells, &mut co.n_c),
                7 => count_pairs_fixed::<7>(cells, &mut co.n_c),
                _ => count_pairs_fixed::<8>(cells, &mut co.n_c),
            };
            // o_ck = Σ_{m_u} (P[c][k] + P[k][c]) / (m_u − 1), P counting coder pairs i < j.
            let stride = v + 1;
            let plane = stride * stride;
            for mu in 2..=m {
                let p = &pairs[mu * plane..(mu + 1) * plane];
                let w = 1.0 / (mu as f64 - 1.0);
                for c in 0..v {
                    for k in 0..v {
                        let x = p[c * stride + k] + p[k * stride + c];
                        if x > 0 {
                            co.o.add(c as u32, k as u32, x as f64 * w);
                        }
                    }
                }
            }
            co.n = co.n_c.iter().sum();
            co.n_pairable_units = pairable as usize;
            return co;
        }
        let mut buf = Vec::with_capacity(m);
        let mut runs = Vec::with_capacity(m);
        for u in 0..matrix.n_units() {
            if unit_runs(matrix.unit(u), &mut buf, &mut runs) {
                co.add_unit(&runs, buf.len(), 1);
            }
        }
        co
    }

    /// Adds one unit (its distinct values with counts, m_u values) `times` times.
    pub(super) fn add_unit(&mut self, runs: &[(u32, u64)], mu: usize, times: u64) {
        let w = times as f64 / (mu as f64 - 1.0);
        for (i, &(c, nc)) in runs.iter().enumerate() {
            self.n_c[c as usize] += nc * times;
            if nc > 1 {
                self.o.add(c, c, (nc * (nc - 1)) as f64 * w);
            }
            for &(k, nk) in &runs[i + 1..] {
                let x = (nc * nk) as f64 * w;
                self.o.add(c, k, x);
                self.o.add(k, c, x);
            }
        }
        self.n += mu as u64 * times;
        self.n_pairable_units += times as usize;
    }
}

/// Largest (m + 1)·(V + 1)² for which coder pairs are counted in a dense integer table.
const PAIR_TABLE_LIMIT: usize = 1 << 16;

/// Branch-free pair count for M coders: P[m_u][c][k] counts coder pairs i < j with values
/// (c, k) in units with m_u values (missing = slot V); fills the margins n_c of pairable units.
fn count_pairs_fixed<const M: usize>(cells: &[u32], n_c: &mut [u64]) -> (Vec<u64>, u64) {
    let v = n_c.len();
    let slot = v as u32;
    let stride = v + 1;
    let plane = stride * stride;
    let mut pairs = vec![0u64; (M + 1) * plane];
    let mut hist = vec![0u64; M * stride];
    let mut pairable = 0u64;
    for unit in cells.chunks_exact(M) {
        let unit: &[u32; M] = unit.try_into().expect("chunk of M cells");
        let idx: [usize; M] = std::array::from_fn(|i| unit[i].min(slot) as usize);
        let mu: usize = unit.iter().map(|&x| (x != MISSING) as usize).sum();
        let p = (mu >= 2) as u64;
        pairable += p;
        let base = mu * plane;
        for (i, &a) in idx.iter().enumerate() {
            for &b in &idx[i + 1..] {
                pairs[base + a * stride + b] += 1;
            }
            hist[i * stride + a] += p;
        }
    }
    for h in hist.chunks_exact(stride) {
        for (n, &x) in n_c.iter_mut().zip(h) {
            *n += x;
        }
    }
    (pairs, pairable)
}

/// Fills `runs` with the distinct values of a unit and their counts; false if unpairable.
pub(super) fn unit_runs(cells: &[u32], buf: &mut Vec<u32>, runs: &mut Vec<(u32, u64)>) -> bool {
    buf.clear();
    buf.extend(cells.iter().copied().filter(|&x| x != MISSING));
    if buf.len() < 2 {
        return false;
    }
    buf.sort_unstable();
    runs.clear();
    runs.extend(buf.chunk_by(|a, b| a == b).map(|r| (r[0], r.len() as u64)));
    true
}

/// A metric bound to a matrix's values.
pub(super) enum Distance<'a> {
    Nominal,
    Ordinal {
        rank: Vec<usize>,
    },
    Interval {
        x: Vec<f64>,
    },
    Ratio {
        x: Vec<f64>,
    },
    Table {
        v: usize,
        d: Vec<f64>,
    },
    Sets {
        sets: Vec<&'a BTreeSet<String>>,
        masi: bool,
    },
    Custom {
        values: &'a [Value],
        f: &'a DistanceFn,
    },
}

fn numbers(matrix: &ReliabilityMatrix, metric: &'static str) -> Result<Vec<f64>> {
    matrix
        .values()
        .iter()
        .map(|v| {
            v.as_number().ok_or_else(|| AgreementError::WrongValueKind {
                metric,
                needed: "numbers",
                value: v.to_string(),
                hint: "read the matrix as numbers (ValueKind::Numbers) or use the nominal level",
            })
        })
        .collect()
}

impl<'a> Distance<'a> {
    /// Binds `metric` to the values of `matrix`, checking that they fit.
    pub(super) fn new(matrix: &'a ReliabilityMatrix, metric: &'a Metric) -> Result<Self> {
        let values = matrix.values();
        Ok(match metric {
            Metric::Nominal => Distance::Nominal,
            Metric::Ordinal => {
                if let Some(v) = values.iter().find(|v| matches!(v, Value::Set(_))) {
                    return Err(AgreementError::WrongValueKind {
                        metric: "ordinal",
                        needed: "ordered labels or numbers",
                        value: v.to_string(),
                        hint: "use MASI or Jaccard distance for sets",
                    });
                }
                let order = matrix.value_order();
                let mut rank = vec![0; values.len()];
                for (r, &id) in order.iter().enumerate() {
                    rank[id as usize] = r;
                }
                Distance::Ordinal { rank }
            }
            Metric::Interval => Distance::Interval {
                x: numbers(matrix, "interval")?,
            },
            Metric::Ratio => {
                let x = numbers(matrix, "ratio")?;
                if let Some(&neg) = x.iter().find(|&&v| v < 0.0) {
                    return Err(AgreementError::NegativeRatio(neg));
                }
                Distance::Ratio { x }
            }
            Metric::Masi | Metric::Jaccard => {
                let name = if matches!(metric, Metric::Masi) {
                    "MASI"
                } else {
                    "Jaccard"
                };
                let sets = values
                    .iter()
                    .map(|v| {
                        v.as_set().ok_or_else(|| AgreementError::WrongValueKind {
                            metric: name,
                            needed: "sets of labels",
                            value: v.to_string(),
                            hint: "build the matrix from set values (Value::Set)",
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let d = Distance::Sets {
                    sets,
                    masi: matches!(metric, Metric::Masi),
                };
                d.tabulate(values.len())
            }
            Metric::Custom { distance, .. } => Distance::Custom {
                values,
                f: distance,
            }
            .tabulate(values.len()),
        })
    }

    /// Precomputes a V × V table for costly distances when V is small.
    fn tabulate(self, v: usize) -> Self {
        if v > DENSE_LIMIT {
            return self;
        }
        let mut d = vec![0.0; v * v];
        for c in 0..v {
            for k in 0..v {
                d[c * v + k] = self.raw(c as u32, k as u32);
            }
        }
        Distance::Table { v, d }
    }

    fn raw(&self, c: u32, k: u32) -> f64 {
        let (ci, ki) = (c as usize, k as usize);
        match self {
            Distance::Nominal => (c != k) as u8 as f64,
            Distance::Interval { x } => (x[ci] - x[ki]).powi(2),
            Distance::Ratio { x } => {
                let s = x[ci] + x[ki];
                if s == 0.0 {
                    0.0
                } else {
                    ((x[ci] - x[ki]) / s).powi(2)
                }
            }
            Distance::Table { v, d } => d[ci * v + ki],
            Distance::Sets { sets, masi: true } => masi_distance(sets[ci], sets[ki]),
            Distance::Sets { sets, masi: false } => jaccard_distance(sets[ci], sets[ki]),
            Distance::Custom { values, f } => f(&values[ci], &values[ki]),
            Distance::Ordinal { .. } => unreachable!("ordinal distance needs counts"),
        }
    }

    /// Binds the value counts n_c (needed by the ordinal metric).
    pub(super) fn with_counts<'b>(&'b self, n_c: &[u64]) -> BoundDistance<'b, 'a> {
        let cum = match self {
            Distance::Ordinal { rank } => {
                let mut by_rank = vec![0.0; rank.len()];
                for (id, &r) in rank.iter().enumerate() {
                    by_rank[r] = n_c[id] as f64;
                }
                let mut cum = Vec::with_capacity(rank.len() + 1);
                cum.push(0.0);
                let mut s = 0.0;
                for x in by_rank {
                    s += x;
                    cum.push(s);
                }
                cum
            }
            _ => Vec::new(),
        };
        BoundDistance {
            dist: self,
            cum,
            n_c: n_c.iter().map(|&x| x as f64).collect(),
        }
    }
}

/// A distance with its counts bound: d(c, k) is O(1) for every metric.
pub(super) struct BoundDistance<'b, 'a> {
    dist: &'b Distance<'a>,
    cum: Vec<f64>,
    n_c: Vec<f64>,
}

impl BoundDistance<'_, '_> {
    /// d²(c, k).
    #[inline]
    pub(super) fn d(&self, c: u32, k: u32) -> f64 {
        match self.dist {
            Distance::Ordinal { rank } => {
                let (rc, rk) = (rank[c as usize], rank[k as usize]);
                let (lo, hi) = if rc <= rk { (rc, rk) } else { (rk, rc) };
                let between = self.cum[hi + 1] - self.cum[lo];
                (between - (self.n_c[c as usize] + self.n_c[k as usize]) / 2.0).powi(2)
            }
            other => other.raw(c, k),
        }
    }

    /// Σ_{c,k} n_c n_k d²(c, k) over the values that occur.
    pub(super) fn expected_sum(&self, n_c: &[u64], n: u64) -> f64 {
        match self.dist {
            Distance::Nominal => {
                let sq: u128 = n_c.iter().map(|&x| x as u128 * x as u128).sum();
                (n as u128 * n as u128 - sq) as f64
            }
            Distance::Interval { x } => {
                // Σ n_c n_k (x_c − x_k)² = 2n Σ n_c x_c² − 2 (Σ n_c x_c)², summed around the mean for accuracy.
                let nf = n as f64;
                let mean = n_c.iter().zip(x).map(|(&c, &v)| c as f64 * v).sum::<f64>() / nf;
                let ss: f64 = n_c
                    .iter()
                    .zip(x)
                    .map(|(&c, &v)| c as f64 * (v - mean).powi(2))
                    .sum();
                2.0 * nf * ss
            }
            _ => {
                let active: Vec<u32> = (0..n_c.len() as u32)
                    .filter(|&c| n_c[c as usize] > 0)
                    .collect();
                let mut s = 0.0;
                for &c in &active {
                    let nc = n_c[c as usize] as f64;
                    for &k in &active {
                        s += nc * n_c[k as usize] as f64 * self.d(c, k);
                    }
                }
                s
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kripp2011() -> ReliabilityMatrix {
        let rows: [[Option<f64>; 12]; 4] = [
            [
                Some(1.),
                Some(2.),
                Some(3.),
                Some(3.),
                Some(2.),
                Some(1.),
                Some(4.),
                Some(1.),
                Some(2.),
                None,
                None,
                None,
            ],
            [
                Some(1.),
                Some(2.),
                Some(3.),
                Some(3.),
                Some(2.),
                Some(2.),
                Some(4.),
                Some(1.),
                Some(2.),
                Some(5.),
                None,
                Some(3.),
            ],
            [
                None,
                Some(3.),
                Some(3.),
                Some(3.),
                Some(2.),
                Some(3.),
                Some(4.),
                Some(2.),
                Some(2.),
                Some(5.),
                Some(1.),
                None,
            ],
            [
                Some(1.),
                Some(2.),
                Some(3.),
                Some(3.),
                Some(2.),
                Some(4.),
                Some(4.),
                Some(1.),
                Some(2.),
                Some(5.),
                Some(1.),
                None,
            ],
        ];
        let rows: Vec<Vec<Option<Value>>> = rows
            .iter()
            .map(|r| r.iter().map(|v| v.map(Value::Number)).collect())
            .collect();
        ReliabilityMatrix::from_coder_rows(
            vec!["A".into(), "B".into(), "C".into(), "D".into()],
            None,
            &rows,
        )
        .unwrap()
    }

    #[test]
    fn nominal_fast_path_equals_general_path() {
        let m = kripp2011();
        let fast = krippendorff_alpha(&m, &Metric::Nominal).unwrap();
        let general = Metric::Custom {
            name: "nominal (custom)".into(),
            distance: Arc::new(|a, b| (a != b) as u8 as f64),
        };
        let slow = krippendorff_alpha(&m, &general).unwrap();
        assert!((fast.alpha.value().unwrap() - 113.0 / 152.0).abs() < 1e-12);
        assert!((fast.alpha.value().unwrap() - slow.alpha.value().unwrap()).abs() < 1e-12);
        assert_eq!(fast.value_counts, slow.value_counts);
        assert_eq!(fast.n_pairable_values, 40);
        assert_eq!(fast.n_pairable_units, 11);
    }

    #[test]
    fn masi_matches_nltk_doctest() {
        let a: BTreeSet<i32> = [1, 2].into();
        let b: BTreeSet<i32> = [1, 2, 3, 4].into();
        assert!((masi_distance(&a, &b) - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(masi_distance(&a, &a), 0.0);
        assert_eq!(masi_distance(&a, &[3].into()), 1.0);
        assert!((masi_distance(&a, &[2, 3].into()) - (1.0 - 1.0 / 9.0)).abs() < 1e-15);
        assert_eq!(
            jaccard_distance(&BTreeSet::<i32>::new(), &BTreeSet::new()),
            0.0
        );
    }

    #[test]
    fn wrong_value_kinds_are_refused_with_a_hint() {
        let m = ReliabilityMatrix::from_coder_rows(
            vec!["A".into(), "B".into()],
            None,
            &[vec![Some("x".into())], vec![Some("y".into())]],
        )
        .unwrap();
        let e = krippendorff_alpha(&m, &Metric::Interval).unwrap_err();
        assert!(e.to_string().contains("numbers"), "{e}");
        assert!(krippendorff_alpha(&m, &Metric::Masi).is_err());
        let neg = ReliabilityMatrix::from_coder_rows(
            vec!["A".into(), "B".into()],
            None,
            &[vec![Some((-1.0).into())], vec![Some(2.0.into())]],
        )
        .unwrap();
        assert_eq!(
            krippendorff_alpha(&neg, &Metric::Ratio).unwrap_err(),
            AgreementError::NegativeRatio(-1.0)
        );
    }

    #[test]
    fn a_bad_custom_distance_is_an_error_not_nan() {
        let m = kripp2011();
        let bad = Metric::Custom {
            name: "broken".into(),
            distance: Arc::new(|_, _| f64::NAN),
        };
        let e = krippendorff_alpha(&m, &bad).unwrap_err();
        assert!(e.to_string().contains("broken"), "{e}");
    }

    #[test]
    fn many_coders_take_the_dynamic_path() {
        // 10 coders, 3 units: exact value by the general path.
        let mut cells = Vec::new();
        for u in 0..3u32 {
            for c in 0..10u32 {
                cells.push(if c == 9 { MISSING } else { (u + c / 4) % 3 });
            }
        }
        let m = ReliabilityMatrix::from_codes(10, cells, 3).unwrap();
        let fast = krippendorff_alpha(&m, &Metric::Nominal)
            .unwrap()
            .alpha
            .value()
            .unwrap();
        let general = Metric::Custom {
            name: "n".into(),
            distance: Arc::new(|a, b| (a != b) as u8 as f64),
        };
        let slow = krippendorff_alpha(&m, &general)
            .unwrap()
            .alpha
            .value()
            .unwrap();
        assert!((fast - slow).abs() < 1e-12, "{fast} {slow}");
    }
}
