//! Fisher's exact test (2 × 2) and the Fisher–Freeman–Halton exact test (r × c).
//!
//! The r × c p-value is the total probability, under independence with both
//! margins fixed, of every table whose probability is at most the observed
//! table's (times 1 + [`RELATIVE_TOLERANCE`], as R's `fisher.test`). It is
//! computed exactly by a network algorithm (Mehta & Patel 1983): columns are
//! filled one at a time, a node is the multiset of remaining row sums, and
//! for every node the most and least probable completions are known, so
//! whole sub-networks are counted (all completions qualify: their total
//! probability has a closed form) or dropped (none qualifies) without
//! enumerating them; paths reaching a node with the same probability are
//! merged. Above a step budget the p-value is estimated by Monte-Carlo
//! sampling of tables with the observed margins, with a stated seed and
//! number of draws.

use std::collections::{BTreeMap, HashMap};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::error::StatsError;
use super::table::{margins, LnFact};

/// Tables whose probability is at most the observed one × (1 + this) count as "as or more extreme" (R uses 1e-7).
pub const RELATIVE_TOLERANCE: f64 = 1e-7;
/// Default step budget of the exact enumeration before falling back to Monte-Carlo.
pub const DEFAULT_MAX_STEPS: u64 = 2_000_000;
/// Default number of Monte-Carlo draws.
pub const DEFAULT_DRAWS: u64 = 20_000;
/// Default Monte-Carlo seed.
pub const DEFAULT_SEED: u64 = 20_150_101;

/// How the Fisher–Freeman–Halton p-value is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExactMethodChoice {
    /// Exact enumeration within `max_steps`, Monte-Carlo beyond.
    #[default]
    Auto,
    /// Exact enumeration, however long it takes (ignores `max_steps`).
    Exact,
    /// Monte-Carlo estimate only.
    MonteCarlo,
}

/// Options of [`fisher_freeman_halton`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExactOptions {
    /// Exact, Monte-Carlo or automatic choice.
    pub method: ExactMethodChoice,
    /// Size limit of the exact computation, in enumeration steps (nodes, edges and merged paths visited).
    pub max_steps: u64,
    /// Number of random tables drawn for a Monte-Carlo estimate.
    pub draws: u64,
    /// Seed of the Monte-Carlo generator (`rand` 0.8 `StdRng::seed_from_u64`).
    pub seed: u64,
}

impl Default for ExactOptions {
    fn default() -> Self {
        ExactOptions {
            method: ExactMethodChoice::Auto,
            max_steps: DEFAULT_MAX_STEPS,
            draws: DEFAULT_DRAWS,
            seed: DEFAULT_SEED,
        }
    }
}

/// Which computation produced an exact-test p-value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PValueMethod {
    /// Exact: every table with the observed margins was accounted for.
    Exact {
        /// Enumeration steps used.
        steps: u64,
    },
    /// Monte-Carlo estimate p = (hits + 1) / (draws + 1).
    MonteCarlo {
        /// Random tables drawn.
        draws: u64,
        /// Seed of the generator.
        seed: u64,
        /// Drawn tables at most as probable as the observed one.
        hits: u64,
        /// Binomial standard error of the estimate, √(p(1 − p)/draws).
        standard_error: f64,
        /// Why Monte-Carlo was used.
        reason: String,
    },
}

/// Result of the Fisher–Freeman–Halton exact test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExactTest {
    /// The p-value (exact or estimated, see `method`).
    pub p_value: f64,
    /// Probability of the observed table under independence with fixed margins.
    pub observed_probability: f64,
    /// How the p-value was obtained.
    pub method: PValueMethod,
}

impl ExactTest {
    /// Whether the p-value is exact rather than a Monte-Carlo estimate.
    pub fn is_exact(&self) -> bool {
        matches!(self.method, PValueMethod::Exact { .. })
    }

    /// A one-line description of the method for reports.
    pub fn describe(&self) -> String {
        match &self.method {
            PValueMethod::Exact { .. } => "exact (complete enumeration)".to_string(),
            PValueMethod::MonteCarlo { draws, seed, standard_error, reason, .. } => format!(
                "Monte-Carlo estimate from {draws} random tables with the observed margins, seed {seed}, SE {standard_error:.4} ({reason})"
            ),
        }
    }
}

/// Fisher's exact test on a 2 × 2 table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FisherExact2x2 {
    /// Two-sided p-value: the probability of tables no more probable than the observed one (as R and scipy).
    pub p_value: f64,
    /// One-sided p-value for an odds ratio below 1 (P(X ≤ a)).
    pub p_less: f64,
    /// One-sided p-value for an odds ratio above 1 (P(X ≥ a)).
    pub p_greater: f64,
    /// Sample odds ratio ad / bc (infinite when bc = 0 < ad, NaN when both are 0), as scipy; R reports the conditional MLE instead.
    pub odds_ratio: f64,
}

/// Fisher's exact test of `[[a, b], [c, d]]` (two-sided and both one-sided p-values).
pub fn fisher_exact_2x2(table: [[u64; 2]; 2]) -> FisherExact2x2 {
    let [[a, b], [c, d]] = table;
    let r1 = a + b;
    let c1 = a + c;
    let n = a + b + c + d;
    let odds_ratio = {
        let num = a as f64 * d as f64;
        let den = b as f64 * c as f64;
        if den == 0.0 {
            if num == 0.0 {
                f64::NAN
            } else {
                f64::INFINITY
            }
        } else {
            num / den
        }
    };
    let lnf = LnFact::new(n.min(1 << 16));
    let lo = (r1 + c1).saturating_sub(n);
    let hi = r1.min(c1);
    let base = lnf.get(r1) + lnf.get(n - r1) + lnf.get(c1) + lnf.get(n - c1) - lnf.get(n);
    let log_pmf =
        |x: u64| base - lnf.get(x) - lnf.get(r1 - x) - lnf.get(c1 - x) - lnf.get(n + x - r1 - c1);
    let observed = log_pmf(a);
    let threshold = observed + RELATIVE_TOLERANCE.ln_1p();
    let (mut two, mut less, mut greater) = (0.0, 0.0, 0.0);
    for x in lo..=hi {
        let p = log_pmf(x).exp();
        if x <= a {
            less += p;
        }
        if x >= a {
            greater += p;
        }
        if log_pmf(x) <= threshold {
            two += p;
        }
    }
    FisherExact2x2 {
        p_value: two.min(1.0),
        p_less: less.min(1.0),
        p_greater: greater.min(1.0),
        odds_ratio,
    }
}

/// The Fisher–Freeman–Halton exact test of independence on an r × c table.
///
/// Rows and columns that sum to zero are dropped; a table with fewer than two
/// non-empty rows or columns has p = 1. With [`ExactMethodChoice::Auto`] the
/// exact computation stops after `max_steps` steps and the p-value is then
/// estimated by Monte-Carlo; the result says which was used.
pub fn fisher_freeman_halton(
    table: &[Vec<u64>],
    options: &ExactOptions,
) -> Result<ExactTest, StatsError> {
    let m = margins(table)?;
    if options.method != ExactMethodChoice::Exact && options.draws == 0 {
        return Err(StatsError::NoDraws);
    }
    let keep_rows: Vec<usize> = (0..m.rows).filter(|&i| m.row_sums[i] > 0).collect();
    let keep_cols: Vec<usize> = (0..m.cols).filter(|&j| m.col_sums[j] > 0).collect();
    if keep_rows.len() < 2 || keep_cols.len() < 2 {
        return Ok(ExactTest {
            p_value: 1.0,
            observed_probability: 1.0,
            method: PValueMethod::Exact { steps: 0 },
        });
    }
    // Reduced table, transposed so that rows are the shorter dimension.
    let mut t: Vec<Vec<u64>> = keep_rows
        .iter()
        .map(|&i| keep_cols.iter().map(|&j| table[i][j]).collect())
        .collect();
    if t.len() > t[0].len() {
        t = (0..t[0].len())
            .map(|j| t.iter().map(|row| row[j]).collect())
            .collect();
    }
    let row_sums: Vec<u64> = t.iter().map(|r| r.iter().sum()).collect();
    let col_sums: Vec<u64> = (0..t[0].len())
        .map(|j| t.iter().map(|r| r[j]).sum())
        .collect();
    let n = m.total;
    let lnf = LnFact::new(n);
    let constant = row_sums.iter().map(|&r| lnf.get(r)).sum::<f64>()
        + col_sums.iter().map(|&c| lnf.get(c)).sum::<f64>()
        - lnf.get(n);
    let observed_score: f64 = -t.iter().flatten().map(|&x| lnf.get(x)).sum::<f64>();
    let threshold = observed_score + RELATIVE_TOLERANCE.ln_1p();
    let observed_probability = (constant + observed_score).exp();

    let monte_carlo = |reason: String| {
        let hits = monte_carlo_hits(
            &row_sums,
            &col_sums,
            &lnf,
            threshold,
            options.draws,
            options.seed,
        );
        let p = (hits as f64 + 1.0) / (options.draws as f64 + 1.0);
        ExactTest {
            p_value: p,
            observed_probability,
            method: PValueMethod::MonteCarlo {
                draws: options.draws,
                seed: options.seed,
                hits,
                standard_error: (p * (1.0 - p) / options.draws as f64).sqrt(),
                reason,
            },
        }
    };
    let max_steps = match options.method {
        ExactMethodChoice::MonteCarlo => {
            return Ok(monte_carlo("Monte-Carlo was requested".to_string()))
        }
        ExactMethodChoice::Exact => u64::MAX,
        ExactMethodChoice::Auto => options.max_steps,
    };
    let mut cols = col_sums.clone();
    cols.sort_unstable_by(|a, b| b.cmp(a));
    let mut net = Network {
        lnf: &lnf,
        cols,
        memo: HashMap::new(),
        steps: 0,
        max_steps,
    };
    match net.p_value(&row_sums, constant, threshold) {
        Ok(p) => Ok(ExactTest {
            p_value: p,
            observed_probability,
            method: PValueMethod::Exact { steps: net.steps },
        }),
        Err(OverBudget) => Ok(monte_carlo(format!(
            "exact enumeration exceeds the limit of {max_steps} steps"
        ))),
    }
}

/// The step budget ran out.
struct OverBudget;

/// The network of partially filled tables.
struct Network<'a> {
    lnf: &'a LnFact,
    /// Column sums in processing order.
    cols: Vec<u64>,
    /// (stage, remaining row sums) → (max, min) score of the completions.
    memo: HashMap<(usize, Vec<u64>), (f64, f64)>,
    steps: u64,
    max_steps: u64,
}

impl Network<'_> {
    fn tick(&mut self, n: u64) -> Result<(), OverBudget> {
        self.steps = self.steps.saturating_add(n);
        if self.steps > self.max_steps {
            Err(OverBudget)
        } else {
            Ok(())
        }
    }

    /// Score of a column: −Σ ln xᵢ! (the table's probability is exp(constant + Σ scores)).
    fn score(&self, x: &[u64]) -> f64 {
        -x.iter().map(|&v| self.lnf.get(v)).sum::<f64>()
    }

    /// Highest and lowest total score of the ways to fill columns `k..` given remaining row sums.
    fn bounds(&mut self, k: usize, state: &[u64]) -> Result<(f64, f64), OverBudget> {
        if k + 1 == self.cols.len() {
            let s = self.score(state);
            return Ok((s, s));
        }
        let key = (k, state.to_vec());
        if let Some(&b) = self.memo.get(&key) {
            return Ok(b);
        }
        let mut best = (f64::NEG_INFINITY, f64::INFINITY);
        let mut comp = Compositions::new(state, self.cols[k]);
        let mut child = Vec::with_capacity(state.len());
        while let Some(x) = comp.next() {
            self.tick(1)?;
            let sx = self.score(x);
            child_state(state, x, &mut child);
            let (hi, lo) = self.bounds(k + 1, &child)?;
            best.0 = best.0.max(sx + hi);
            best.1 = best.1.min(sx + lo);
        }
        self.memo.insert(key, best);
        Ok(best)
    }

    /// Σ P(T) over tables with score ≤ `threshold`.
    fn p_value(
        &mut self,
        row_sums: &[u64],
        constant: f64,
        threshold: f64,
    ) -> Result<f64, OverBudget> {
        let c = self.cols.len();
        // suffix[k] = Σ_{j ≥ k} cols[j]; ln_suffix[k] = Σ_{j ≥ k} ln cols[j]!
        let mut suffix = vec![0u64; c + 1];
        let mut ln_suffix = vec![0.0; c + 1];
        for k in (0..c).rev() {
            suffix[k] = suffix[k + 1] + self.cols[k];
            ln_suffix[k] = ln_suffix[k + 1] + self.lnf.get(self.cols[k]);
        }
        let mut start = Vec::new();
        let zero = vec![0u64; row_sums.len()];
        child_state(row_sums, &zero, &mut start);
        type Pasts = BTreeMap<i64, (f64, f64)>;
        let mut stage: BTreeMap<Vec<u64>, Pasts> = BTreeMap::new();
        stage.entry(start).or_default().insert(0, (0.0, 1.0));
        let mut p = 0.0;
        let mut child = Vec::new();
        for k in 0..c {
            let mut next: BTreeMap<Vec<u64>, Pasts> = BTreeMap::new();
            for (state, pasts) in stage {
                let (hi, lo) = self.bounds(k, &state)?;
                // ln Σ over completions of exp(score) = ln N! − Σ ln rᵢ! − Σ ln cⱼ!
                let ln_total = self.lnf.get(suffix[k])
                    - state.iter().map(|&r| self.lnf.get(r)).sum::<f64>()
                    - ln_suffix[k];
                let mut expand = Vec::new();
                self.tick(pasts.len() as u64)?;
                for (_, (past, mult)) in pasts {
                    if past + hi <= threshold {
                        p += mult * (constant + past + ln_total).exp();
                    } else if past + lo <= threshold {
                        expand.push((past, mult));
                    }
                }
                if expand.is_empty() {
                    continue;
                }
                let mut comp = Compositions::new(&state, self.cols[k]);
                while let Some(x) = comp.next() {
                    self.tick(1 + expand.len() as u64)?;
                    let sx = self.score(x);
                    child_state(&state, x, &mut child);
                    let entry = next.entry(child.clone()).or_default();
                    for &(past, mult) in &expand {
                        let v = past + sx;
                        let e = entry.entry((v * 1e9).round() as i64).or_insert((v, 0.0));
                        e.1 += mult;
                    }
                }
            }
            stage = next;
        }
        Ok(p.min(1.0))
    }
}

/// `state − x` without zeros, sorted in descending order (the node's canonical form).
fn child_state(state: &[u64], x: &[u64], out: &mut Vec<u64>) {
    out.clear();
    out.extend(state.iter().zip(x).map(|(r, x)| r - x).filter(|&v| v > 0));
    out.sort_unstable_by(|a, b| b.cmp(a));
}

/// All vectors x with Σx = total and 0 ≤ xᵢ ≤ boundsᵢ, in decreasing lexicographic order.
struct Compositions {
    bounds: Vec<u64>,
    cur: Vec<u64>,
    total: u64,
    started: bool,
}

impl Compositions {
    fn new(bounds: &[u64], total: u64) -> Self {
        Compositions {
            bounds: bounds.to_vec(),
            cur: vec![0; bounds.len()],
            total,
            started: false,
        }
    }

    /// Greedy fill of positions `from..` with `left`; false if it does not fit.
    fn fill(&mut self, from: usize, mut left: u64) -> bool {
        for j in from..self.cur.len() {
            let v = self.bounds[j].min(left);
            self.cur[j] = v;
            left -= v;
        }
        left == 0
    }

    fn next(&mut self) -> Option<&[u64]> {
        if !self.started {
            self.started = true;
            return if self.fill(0, self.total) {
                Some(&self.cur)
            } else {
                None
            };
        }
        let mut free_right = 0u64;
        let mut sum_right = 0u64;
        for i in (0..self.cur.len()).rev() {
            if self.cur[i] > 0 && free_right > 0 {
                self.cur[i] -= 1;
                self.fill(i + 1, sum_right + 1);
                return Some(&self.cur);
            }
            free_right += self.bounds[i] - self.cur[i];
            sum_right += self.cur[i];
        }
        None
    }
}

/// Number of random tables (margins `rows` × `cols`, drawn under independence) with score ≤ `threshold`.
fn monte_carlo_hits(
    rows: &[u64],
    cols: &[u64],
    lnf: &LnFact,
    threshold: f64,
    draws: u64,
    seed: u64,
) -> u64 {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut col_left = vec![0u64; cols.len()];
    let mut hits = 0;
    for _ in 0..draws {
        let score = random_table_score(rows, cols, lnf, &mut rng, &mut col_left);
        if score <= threshold {
            hits += 1;
        }
    }
    hits
}

/// Draws one table with the given margins (uniform over arrangements of the units) and returns its score.
///
/// Row by row, the row's units are split among the columns by sequential
/// hypergeometric draws from the units still unassigned: this is the
/// multivariate hypergeometric law of the table under independence.
fn random_table_score(
    rows: &[u64],
    cols: &[u64],
    lnf: &LnFact,
    rng: &mut StdRng,
    col_left: &mut [u64],
) -> f64 {
    col_left.copy_from_slice(cols);
    let mut remaining: u64 = cols.iter().sum();
    let mut score = 0.0;
    let last_row = rows.len() - 1;
    for (i, &r) in rows.iter().enumerate() {
        if i == last_row {
            score -= col_left.iter().map(|&c| lnf.get(c)).sum::<f64>();
            break;
        }
        let mut need = r;
        let mut pop = remaining;
        let last_col = col_left.len() - 1;
        for (j, left) in col_left.iter_mut().enumerate() {
            let x = if j == last_col {
                need
            } else {
                hypergeometric(rng, pop, *left, need, lnf)
            };
            score -= lnf.get(x);
            pop -= *left;
            *left -= x;
            need -= x;
        }
        remaining -= r;
    }
    score
}

/// A draw from the hypergeometric law: successes in `draws` draws without replacement from `pop` items of which `succ` are successes.
///
/// Inversion starting at the mode and stepping outwards, with pmf ratios.
fn hypergeometric(rng: &mut StdRng, pop: u64, succ: u64, draws: u64, lnf: &LnFact) -> u64 {
    let lo = (draws + succ).saturating_sub(pop);
    let hi = draws.min(succ);
    if lo >= hi {
        return lo;
    }
    let fail = pop - succ;
    let mode =
        (((draws + 1) as f64 * (succ + 1) as f64 / (pop + 2) as f64).floor() as u64).clamp(lo, hi);
    let ln_pmf = |k: u64| {
        lnf.get(succ) - lnf.get(k) - lnf.get(succ - k) + lnf.get(fail)
            - lnf.get(draws - k)
            - lnf.get(fail + k - draws)
            - (lnf.get(pop) - lnf.get(draws) - lnf.get(pop - draws))
    };
    let p_mode = ln_pmf(mode).exp();
    let mut u: f64 = rng.gen();
    if u < p_mode {
        return mode;
    }
    u -= p_mode;
    let (mut up, mut down) = (mode, mode);
    let (mut p_up, mut p_down) = (p_mode, p_mode);
    let (s, f, d) = (succ as f64, fail as f64, draws as f64);
    loop {
        let mut moved = false;
        if up < hi {
            let k = up as f64;
            p_up *= (s - k) * (d - k) / ((k + 1.0) * (f - d + k + 1.0));
            up += 1;
            if u < p_up {
                return up;
            }
            u -= p_up;
            moved = true;
        }
        if down > lo {
            let k = down as f64;
            p_down *= k * (f - d + k) / ((s - k + 1.0) * (d - k + 1.0));
            down -= 1;
            if u < p_down {
                return down;
            }
            u -= p_down;
            moved = true;
        }
        if !moved {
            return mode;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force: every table with the margins, by recursion over cells.
    fn brute_force_p(table: &[Vec<u64>]) -> f64 {
        let r = table.len();
        let c = table[0].len();
        let rows: Vec<u64> = table.iter().map(|x| x.iter().sum()).collect();
        let cols: Vec<u64> = (0..c).map(|j| table.iter().map(|x| x[j]).sum()).collect();
        let n: u64 = rows.iter().sum();
        let lnf = LnFact::new(n);
        let k = rows.iter().map(|&x| lnf.get(x)).sum::<f64>()
            + cols.iter().map(|&x| lnf.get(x)).sum::<f64>()
            - lnf.get(n);
        let lp = |t: &[u64]| k - t.iter().map(|&x| lnf.get(x)).sum::<f64>();
        let obs: Vec<u64> = table.iter().flatten().copied().collect();
        let thr = lp(&obs) + RELATIVE_TOLERANCE.ln_1p();
        let mut cells = vec![0u64; r * c];
        let mut p = 0.0;
        #[allow(clippy::too_many_arguments)]
        fn rec(
            i: usize,
            r: usize,
            c: usize,
            rl: &mut Vec<u64>,
            cl: &mut Vec<u64>,
            cells: &mut Vec<u64>,
            f: &dyn Fn(&[u64]) -> f64,
            thr: f64,
            p: &mut f64,
        ) {
            if i == r * c {
                let v = f(cells);
                if v <= thr {
                    *p += v.exp();
                }
                return;
            }
            let (row, col) = (i / c, i % c);
            let (lo, hi) = if col == c - 1 || row == r - 1 {
                if col == c - 1 && rl[row] > cl[col] || row == r - 1 && cl[col] > rl[row] {
                    return;
                }
                let v = if col == c - 1 { rl[row] } else { cl[col] };
                (v, v)
            } else {
                (0, rl[row].min(cl[col]))
            };
            for v in lo..=hi {
                cells[i] = v;
                rl[row] -= v;
                cl[col] -= v;
                rec(i + 1, r, c, rl, cl, cells, f, thr, p);
                rl[row] += v;
                cl[col] += v;
            }
        }
        let (mut rl, mut cl) = (rows.clone(), cols.clone());
        rec(0, r, c, &mut rl, &mut cl, &mut cells, &lp, thr, &mut p);
        p.min(1.0)
    }

    #[test]
    fn compositions_enumerate_each_bounded_vector_once() {
        let mut comp = Compositions::new(&[2, 0, 3, 1], 3);
        let mut seen = Vec::new();
        while let Some(x) = comp.next() {
            assert_eq!(x.iter().sum::<u64>(), 3);
            assert!(x.iter().zip([2, 0, 3, 1]).all(|(a, b)| *a <= b));
            seen.push(x.to_vec());
        }
        let mut brute = Vec::new();
        for a in 0..=2 {
            for c in 0..=3 {
                for d in 0..=1 {
                    if a + c + d == 3 {
                        brute.push(vec![a, 0, c, d]);
                    }
                }
            }
        }
        assert_eq!(seen.len(), brute.len());
        let mut s = seen.clone();
        s.sort();
        s.dedup();
        assert_eq!(s.len(), seen.len());
    }

    #[test]
    fn network_matches_brute_force_on_small_tables() {
        let tables: Vec<Vec<Vec<u64>>> = vec![
            vec![vec![3, 1, 0], vec![1, 3, 4]],
            vec![vec![2, 0, 1], vec![0, 3, 1], vec![1, 1, 4]],
            vec![vec![1, 2, 0, 3], vec![2, 0, 2, 1], vec![0, 1, 1, 2]],
            vec![vec![5, 0], vec![0, 5], vec![2, 2]],
            vec![vec![1, 1], vec![1, 1], vec![1, 1], vec![1, 1]],
        ];
        for t in tables {
            let exact = fisher_freeman_halton(&t, &ExactOptions::default()).unwrap();
            assert!(exact.is_exact());
            let b = brute_force_p(&t);
            assert!(
                (exact.p_value - b).abs() < 1e-10 * b.max(1e-300).max(1.0),
                "{t:?}: {} vs {b}",
                exact.p_value
            );
        }
    }

    #[test]
    fn ffh_on_2x2_equals_fisher_two_sided() {
        for t in [
            [[8, 2], [1, 5]],
            [[3, 1], [1, 3]],
            [[0, 5], [6, 1]],
            [[10, 10], [10, 10]],
        ] {
            let f = fisher_exact_2x2(t);
            let table: Vec<Vec<u64>> = t.iter().map(|r| r.to_vec()).collect();
            let h = fisher_freeman_halton(&table, &ExactOptions::default()).unwrap();
            assert!((f.p_value - h.p_value).abs() < 1e-12, "{t:?}");
        }
    }

    #[test]
    fn hypergeometric_draws_have_the_right_mean() {
        let lnf = LnFact::new(100);
        let mut rng = StdRng::seed_from_u64(7);
        let (pop, succ, draws) = (50, 20, 15);
        let n = 20_000;
        let sum: u64 = (0..n)
            .map(|_| hypergeometric(&mut rng, pop, succ, draws, &lnf))
            .sum();
        let mean = sum as f64 / n as f64;
        let expected = draws as f64 * succ as f64 / pop as f64; // 6
        assert!((mean - expected).abs() < 0.05, "{mean}");
    }

    #[test]
    fn degenerate_tables_have_p_one() {
        let o = ExactOptions::default();
        assert_eq!(
            fisher_freeman_halton(&[vec![3, 0], vec![2, 0]], &o)
                .unwrap()
                .p_value,
            1.0
        );
        assert_eq!(
            fisher_freeman_halton(&[vec![3, 4, 5]], &o).unwrap().p_value,
            1.0
        );
        assert_eq!(
            fisher_freeman_halton(&[vec![0, 0], vec![0, 0]], &o)
                .unwrap()
                .p_value,
            1.0
        );
        assert!(matches!(
            fisher_freeman_halton(&[], &o),
            Err(StatsError::EmptyTable)
        ));
        let no_draws = ExactOptions {
            draws: 0,
            ..ExactOptions::default()
        };
        assert!(matches!(
            fisher_freeman_halton(&[vec![1, 2], vec![3, 4]], &no_draws),
            Err(StatsError::NoDraws)
        ));
    }

    #[test]
    fn budget_exhaustion_falls_back_to_monte_carlo() {
        let t = vec![vec![3, 1, 2, 4], vec![1, 3, 4, 2], vec![2, 2, 1, 3]];
        let o = ExactOptions {
            max_steps: 10,
            draws: 2000,
            ..ExactOptions::default()
        };
        let r = fisher_freeman_halton(&t, &o).unwrap();
        assert!(!r.is_exact());
        assert!(
            r.describe().contains("limit of 10 steps"),
            "{}",
            r.describe()
        );
    }
}
