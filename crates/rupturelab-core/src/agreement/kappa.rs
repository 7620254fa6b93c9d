//! Two-rater coefficients on a contingency table (Cohen's κ, Scott's π,
//! Brennan–Prediger, Gwet's AC1, percent agreement), Fleiss' κ, Gwet's AC1 for
//! many raters with missing data, and the pairwise coder matrix.
//!
//! Categories: unless the table is marked as holding the full category list,
//! categories that neither rater used are dropped first, so weights go by position
//! among the observed categories and q counts observed categories (as sklearn,
//! R irr and irrCAC do).

use super::matrix::{ReliabilityMatrix, Value, MISSING};
use super::{
    check_level, normal_p_two_sided, normal_quantile, t_quantile, AgreementError, Coefficient,
    Result, Undefined, UnitOfAnalysis,
};

/// Agreement weights of weighted κ, by category position i, j among q categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Weights {
    /// [i == j].
    #[default]
    Unweighted,
    /// 1 − |i − j|/(q − 1) (Cicchetti–Allison).
    Linear,
    /// 1 − (i − j)²/(q − 1)² (Fleiss–Cohen).
    Quadratic,
}

impl Weights {
    /// The name used in tables.
    pub fn name(self) -> &'static str {
        match self {
            Weights::Unweighted => "unweighted",
            Weights::Linear => "linear",
            Weights::Quadratic => "quadratic",
        }
    }

    fn w(self, i: usize, j: usize, q: usize) -> f64 {
        if i == j {
            return 1.0;
        }
        let d = i.abs_diff(j) as f64;
        let span = (q - 1) as f64;
        match self {
            Weights::Unweighted => 0.0,
            Weights::Linear => 1.0 - d / span,
            Weights::Quadratic => 1.0 - (d * d) / (span * span),
        }
    }
}

/// A q × q table of two raters' joint ratings (rows rater A, columns rater B).
#[derive(Debug, Clone, PartialEq)]
pub struct ContingencyTable {
    categories: Vec<String>,
    counts: Vec<u64>,
    full: bool,
    unit: UnitOfAnalysis,
}

impl ContingencyTable {
    /// A table from rows of counts; categories are labelled `0`, `1`, … and only observed ones count.
    pub fn from_counts(rows: &[Vec<u64>]) -> Result<Self> {
        let q = rows.len();
        if q == 0 {
            return Err(AgreementError::EmptyTable("the table has no rows"));
        }
        if let Some(r) = rows.iter().position(|r| r.len() != q) {
            return Err(AgreementError::Shape(format!(
                "the table must be square: row {} has {} cells, expected {q}",
                r + 1,
                rows[r].len()
            )));
        }
        Ok(ContingencyTable {
            categories: (0..q).map(|i| i.to_string()).collect(),
            counts: rows.iter().flatten().copied().collect(),
            full: false,
            unit: UnitOfAnalysis::user(""),
        })
    }

    /// A table from two raters' labels (pairs where either is missing are skipped).
    ///
    /// Without `categories`, the observed labels are the categories, in numeric order
    /// when all are numbers and alphabetical order otherwise; with it, its order gives
    /// the weight positions and unused categories count.
    pub fn from_ratings<S: AsRef<str>>(
        a: &[Option<S>],
        b: &[Option<S>],
        categories: Option<&[&str]>,
    ) -> Result<Self> {
        if a.len() != b.len() {
            return Err(AgreementError::Shape(format!(
                "rater A has {} ratings, rater B {}",
                a.len(),
                b.len()
            )));
        }
        let pairs: Vec<(&str, &str)> = a
            .iter()
            .zip(b)
            .filter_map(|(x, y)| Some((x.as_ref()?.as_ref(), y.as_ref()?.as_ref())))
            .collect();
        let (cats, full): (Vec<String>, bool) = match categories {
            Some(list) => {
                for (i, c) in list.iter().enumerate() {
                    if list[..i].contains(c) {
                        return Err(AgreementError::DuplicateCategory(c.to_string()));
                    }
                }
                (list.iter().map(|s| s.to_string()).collect(), true)
            }
            None => {
                let mut seen: Vec<&str> = pairs.iter().flat_map(|&(x, y)| [x, y]).collect();
                seen.sort_unstable();
                seen.dedup();
                let nums: Option<Vec<f64>> =
                    seen.iter().map(|s| s.trim().parse::<f64>().ok()).collect();
                if let Some(nums) = nums {
                    let mut idx: Vec<usize> = (0..seen.len()).collect();
                    idx.sort_by(|&i, &j| nums[i].total_cmp(&nums[j]));
                    (
                        idx.into_iter().map(|i| seen[i].to_string()).collect(),
                        false,
                    )
                } else {
                    (seen.into_iter().map(str::to_string).collect(), false)
                }
            }
        };
        let q = cats.len();
        let pos = |s: &str| {
            cats.iter()
                .position(|c| c == s)
                .ok_or_else(|| AgreementError::UnknownCategory(s.to_string()))
        };
        let mut counts = vec![0u64; q * q];
        for (x, y) in pairs {
            counts[pos(x)? * q + pos(y)?] += 1;
        }
        Ok(ContingencyTable {
            categories: cats,
            counts,
            full,
            unit: UnitOfAnalysis::user(""),
        })
    }

    /// The table of two coders (by row number) of a reliability matrix, over units both rated.
    ///
    /// Categories are the matrix's values in their order (numbers ascending); they are the
    /// full list when the matrix says so.
    pub fn from_matrix(matrix: &ReliabilityMatrix, a: usize, b: usize) -> Result<Self> {
        let m = matrix.n_coders();
        if a >= m || b >= m {
            return Err(AgreementError::Shape(format!(
                "no coder number {}",
                a.max(b)
            )));
        }
        let order = matrix.value_order();
        let q = order.len();
        // Branch-free: a missing cell maps to an extra category q, whose row and column are dropped.
        let mut pos = vec![q; q + 1];
        for (p, &id) in order.iter().enumerate() {
            pos[id as usize] = p;
        }
        let slot = q as u32;
        let mut wide = vec![0u64; (q + 1) * (q + 1)];
        for unit in matrix.cells().chunks_exact(m) {
            let x = pos[unit[a].min(slot) as usize];
            let y = pos[unit[b].min(slot) as usize];
            wide[x * (q + 1) + y] += 1;
        }
        let counts = (0..q * q)
            .map(|i| wide[(i / q) * (q + 1) + i % q])
            .collect();
        let label = |v: &Value| v.to_string();
        Ok(ContingencyTable {
            categories: order
                .iter()
                .map(|&id| label(&matrix.values()[id as usize]))
                .collect(),
            counts,
            full: matrix.categories_complete(),
            unit: matrix.unit_of_analysis().clone(),
        })
    }

    /// Names the categories (one per row, in order).
    pub fn with_labels(mut self, labels: Vec<String>) -> Result<Self> {
        if labels.len() != self.categories.len() {
            return Err(AgreementError::Shape(format!(
                "{} labels for {} categories",
                labels.len(),
                self.categories.len()
            )));
        }
        self.categories = labels;
        Ok(self)
    }

    /// Declares the table's categories the full category list (unused ones then count).
    pub fn with_full_categories(mut self) -> Self {
        self.full = true;
        self
    }

    /// Names the unit of analysis.
    pub fn with_unit(mut self, unit: UnitOfAnalysis) -> Self {
        self.unit = unit;
        self
    }

    /// Number of categories in the table.
    pub fn q(&self) -> usize {
        self.categories.len()
    }

    /// Category labels, in order.
    pub fn categories(&self) -> &[String] {
        &self.categories
    }

    /// The count of units rated `i` by A and `j` by B.
    pub fn count(&self, i: usize, j: usize) -> u64 {
        self.counts[i * self.q() + j]
    }

    /// Number of units.
    pub fn n(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The unit of analysis.
    pub fn unit(&self) -> &UnitOfAnalysis {
        &self.unit
    }

    /// Proportions over the categories in play.
    fn probs(&self) -> Result<Probs> {
        let q0 = self.q();
        let n = self.n();
        if n == 0 {
            return Err(AgreementError::EmptyTable(
                "no unit was rated by both raters",
            ));
        }
        let keep: Vec<usize> = (0..q0)
            .filter(|&i| self.full || (0..q0).any(|j| self.count(i, j) > 0 || self.count(j, i) > 0))
            .collect();
        let q = keep.len();
        let nf = n as f64;
        let mut p = vec![0.0; q * q];
        for (a, &i) in keep.iter().enumerate() {
            for (b, &j) in keep.iter().enumerate() {
                p[a * q + b] = self.count(i, j) as f64 / nf;
            }
        }
        let row = (0..q).map(|i| (0..q).map(|j| p[i * q + j]).sum()).collect();
        let col = (0..q).map(|j| (0..q).map(|i| p[i * q + j]).sum()).collect();
        Ok(Probs {
            q,
            n: nf,
            p,
            row,
            col,
        })
    }
}

struct Probs {
    q: usize,
    n: f64,
    p: Vec<f64>,
    row: Vec<f64>,
    col: Vec<f64>,
}

impl Probs {
    fn p(&self, i: usize, j: usize) -> f64 {
        self.p[i * self.q + j]
    }
    fn pa(&self) -> f64 {
        (0..self.q).map(|k| self.p(k, k)).sum()
    }
    fn pi(&self) -> Vec<f64> {
        self.row
            .iter()
            .zip(&self.col)
            .map(|(r, c)| (r + c) / 2.0)
            .collect()
    }
}

/// Cohen's κ (optionally weighted) with Fleiss–Cohen–Everitt (1969) standard errors.
#[derive(Debug, Clone, PartialEq)]
pub struct CohenKappa {
    /// What a unit is.
    pub unit: UnitOfAnalysis,
    /// Weights used.
    pub weights: Weights,
    /// Number of units.
    pub n_units: u64,
    /// Number of categories in play.
    pub q: usize,
    /// Observed (weighted) agreement p_o.
    pub p_o: f64,
    /// Chance (weighted) agreement p_e.
    pub p_e: f64,
    /// κ, or undefined when p_e = 1.
    pub kappa: Coefficient,
    /// Asymptotic standard error (SAS "ASE").
    pub ase: Option<f64>,
    /// Wald interval κ ± z·ASE.
    pub ci: Option<(f64, f64)>,
    /// Confidence level of `ci`.
    pub confidence: f64,
    /// Standard error under H0: κ = 0.
    pub ase0: Option<f64>,
    /// z = κ / ASE0.
    pub z: Option<f64>,
    /// Two-sided p-value of z.
    pub p_value: Option<f64>,
}

/// Cohen's κ of a two-rater table, with ASE, Wald CI at `confidence`, and z under H0.
pub fn cohen_kappa(
    table: &ContingencyTable,
    weights: Weights,
    confidence: f64,
) -> Result<CohenKappa> {
    check_level(confidence)?;
    let pr = table.probs()?;
    let q = pr.q;
    let w = |i, j| weights.w(i, j, q);
    let mut p_o = 0.0;
    let mut p_e = 0.0;
    for i in 0..q {
        for j in 0..q {
            p_o += w(i, j) * pr.p(i, j);
            p_e += w(i, j) * pr.row[i] * pr.col[j];
        }
    }
    let mut out = CohenKappa {
        unit: table.unit.clone(),
        weights,
        n_units: pr.n as u64,
        q,
        p_o,
        p_e,
        kappa: Coefficient::Undefined(Undefined::NoVariation),
        ase: None,
        ci: None,
        confidence,
        ase0: None,
        z: None,
        p_value: None,
    };
    if q < 2 || p_e >= 1.0 {
        return Ok(out);
    }
    let kappa = (p_o - p_e) / (1.0 - p_e);
    out.kappa = Coefficient::Value(kappa);
    let wi: Vec<f64> = (0..q)
        .map(|i| (0..q).map(|j| pr.col[j] * w(i, j)).sum())
        .collect();
    let wj: Vec<f64> = (0..q)
        .map(|j| (0..q).map(|i| pr.row[i] * w(i, j)).sum())
        .collect();
    let mut s = 0.0;
    let mut s0 = 0.0;
    for (i, &wi_i) in wi.iter().enumerate() {
        for (j, &wj_j) in wj.iter().enumerate() {
            s += pr.p(i, j) * (w(i, j) * (1.0 - p_e) - (wi_i + wj_j) * (1.0 - p_o)).powi(2);
            s0 += pr.row[i] * pr.col[j] * (w(i, j) - (wi_i + wj_j)).powi(2);
        }
    }
    let var = (s - (p_o * p_e - 2.0 * p_e + p_o).powi(2)) / (pr.n * (1.0 - p_e).powi(4));
    let var0 = (s0 - p_e * p_e) / (pr.n * (1.0 - p_e).powi(2));
    let ase = var.max(0.0).sqrt();
    let z = normal_quantile(confidence);
    out.ase = Some(ase);
    out.ci = Some((kappa - z * ase, kappa + z * ase));
    if var0 > 0.0 {
        let ase0 = var0.sqrt();
        out.ase0 = Some(ase0);
        out.z = Some(kappa / ase0);
        out.p_value = Some(normal_p_two_sided(kappa / ase0));
    }
    Ok(out)
}

/// A coefficient (p_a − p_e)/(1 − p_e) with Gwet's (2014) linearised standard error.
#[derive(Debug, Clone, PartialEq)]
pub struct ChanceCorrected {
    /// The coefficient's name.
    pub name: &'static str,
    /// What a unit is.
    pub unit: UnitOfAnalysis,
    /// Number of units used.
    pub n_units: u64,
    /// Number of categories q.
    pub q: usize,
    /// Observed agreement p_a.
    pub p_a: f64,
    /// Chance agreement p_e.
    pub p_e: f64,
    /// The coefficient, or undefined when p_e = 1 or q < 2.
    pub value: Coefficient,
    /// Standard error (infinite population).
    pub se: Option<f64>,
    /// value ± t_{n−1}·se, the upper limit capped at 1 (as irrCAC).
    pub ci: Option<(f64, f64)>,
    /// Confidence level of `ci`.
    pub confidence: f64,
}

/// The ingredients common to every chance-corrected coefficient.
struct Basis<'a> {
    name: &'static str,
    unit: &'a UnitOfAnalysis,
    n: f64,
    q: usize,
    p_a: f64,
    p_e: f64,
    confidence: f64,
}

fn chance_corrected(b: Basis<'_>, var: impl FnOnce(f64) -> f64) -> ChanceCorrected {
    let Basis {
        name,
        unit,
        n,
        q,
        p_a,
        p_e,
        confidence,
    } = b;
    let mut out = ChanceCorrected {
        name,
        unit: unit.clone(),
        n_units: n as u64,
        q,
        p_a,
        p_e,
        value: Coefficient::Undefined(if q < 2 {
            Undefined::SingleCategory
        } else {
            Undefined::NoVariation
        }),
        se: None,
        ci: None,
        confidence,
    };
    if q < 2 || p_e >= 1.0 {
        return out;
    }
    let v = (p_a - p_e) / (1.0 - p_e);
    out.value = Coefficient::Value(v);
    let var = var(v);
    if var.is_finite() && n >= 2.0 {
        let se = var.max(0.0).sqrt();
        let t = t_quantile(confidence, n - 1.0);
        out.se = Some(se);
        out.ci = Some((v - t * se, (v + t * se).min(1.0)));
    }
    out
}

/// Percent agreement p_a (share of units on which the raters agree), with SE √(p_a(1−p_a)/n).
pub fn percent_agreement(table: &ContingencyTable, confidence: f64) -> Result<ChanceCorrected> {
    check_level(confidence)?;
    let pr = table.probs()?;
    let pa = pr.pa();
    let basis = Basis {
        name: "percent agreement",
        unit: &table.unit,
        n: pr.n,
        q: pr.q.max(2),
        p_a: pa,
        p_e: 0.0,
        confidence,
    };
    let mut out = chance_corrected(basis, |_| (pa - pa * pa) / pr.n);
    out.q = pr.q;
    Ok(out)
}

/// Scott's π: chance agreement Σ π_k² from the pooled margins π_k = (p_k. + p_.k)/2.
pub fn scott_pi(table: &ContingencyTable, confidence: f64) -> Result<ChanceCorrected> {
    check_level(confidence)?;
    let pr = table.probs()?;
    let pi = pr.pi();
    let pa = pr.pa();
    let pe: f64 = pi.iter().map(|x| x * x).sum();
    let q = pr.q;
    let basis = Basis {
        name: "Scott's π",
        unit: &table.unit,
        n: pr.n,
        q,
        p_a: pa,
        p_e: pe,
        confidence,
    };
    Ok(chance_corrected(basis, |v| {
        let mut s = 0.0;
        for k in 0..q {
            for l in 0..q {
                let w = (k == l) as u8 as f64;
                s += pr.p(k, l) * (w - (1.0 - v) * (pi[k] + pi[l])).powi(2);
            }
        }
        (s - (pa - 2.0 * (1.0 - v) * pe).powi(2)) / (pr.n * (1.0 - pe).powi(2))
    }))
}

/// Brennan–Prediger coefficient: chance agreement 1/q.
pub fn brennan_prediger(table: &ContingencyTable, confidence: f64) -> Result<ChanceCorrected> {
    check_level(confidence)?;
    let pr = table.probs()?;
    let pa = pr.pa();
    let q = pr.q;
    let pe = 1.0 / q as f64;
    let basis = Basis {
        name: "Brennan–Prediger",
        unit: &table.unit,
        n: pr.n,
        q,
        p_a: pa,
        p_e: pe,
        confidence,
    };
    Ok(chance_corrected(basis, |_| {
        (pa - pa * pa) / (pr.n * (1.0 - pe).powi(2))
    }))
}

/// Gwet's AC1 for two raters: chance agreement Σ π_k(1 − π_k)/(q − 1).
pub fn gwet_ac1(table: &ContingencyTable, confidence: f64) -> Result<ChanceCorrected> {
    check_level(confidence)?;
    let pr = table.probs()?;
    let pi = pr.pi();
    let pa = pr.pa();
    let q = pr.q;
    let qm1 = q as f64 - 1.0;
    let pe: f64 = pi.iter().map(|x| x * (1.0 - x)).sum::<f64>() / qm1;
    let basis = Basis {
        name: "Gwet's AC1",
        unit: &table.unit,
        n: pr.n,
        q,
        p_a: pa,
        p_e: pe,
        confidence,
    };
    Ok(chance_corrected(basis, |v| {
        let mut s = 0.0;
        for k in 0..q {
            for l in 0..q {
                let w = (k == l) as u8 as f64;
                s += pr.p(k, l)
                    * (w - 2.0 * (1.0 - v) * (1.0 - (pi[k] + pi[l]) / 2.0) / qm1).powi(2);
            }
        }
        (s - (pa - 2.0 * (1.0 - v) * pe).powi(2)) / (pr.n * (1.0 - pe).powi(2))
    }))
}

/// Every two-rater coefficient of one table.
#[derive(Debug, Clone, PartialEq)]
pub struct TwoRaterSummary {
    /// Percent agreement.
    pub percent_agreement: ChanceCorrected,
    /// Cohen's κ (with the weights asked for).
    pub cohen: CohenKappa,
    /// Scott's π.
    pub scott: ChanceCorrected,
    /// Brennan–Prediger.
    pub brennan_prediger: ChanceCorrected,
    /// Gwet's AC1.
    pub gwet_ac1: ChanceCorrected,
}

/// Computes every two-rater coefficient of a table.
pub fn two_rater_summary(
    table: &ContingencyTable,
    weights: Weights,
    confidence: f64,
) -> Result<TwoRaterSummary> {
    Ok(TwoRaterSummary {
        percent_agreement: percent_agreement(table, confidence)?,
        cohen: cohen_kappa(table, weights, confidence)?,
        scott: scott_pi(table, confidence)?,
        brennan_prediger: brennan_prediger(table, confidence)?,
        gwet_ac1: gwet_ac1(table, confidence)?,
    })
}

/// Fleiss' κ with the Fleiss–Nee–Landis (1979) standard error under H0.
#[derive(Debug, Clone, PartialEq)]
pub struct FleissKappa {
    /// What a unit is.
    pub unit: UnitOfAnalysis,
    /// Units used (units rated by nobody are ignored).
    pub n_units: usize,
    /// Ratings per unit (the same for every unit).
    pub raters_per_unit: u64,
    /// Number of categories.
    pub q: usize,
    /// P̄, mean agreement per unit.
    pub p_bar: f64,
    /// P_e = Σ p_j².
    pub p_e: f64,
    /// κ, or undefined when P_e = 1.
    pub kappa: Coefficient,
    /// Standard error under H0: κ = 0.
    pub se0: Option<f64>,
    /// z = κ / se0.
    pub z: Option<f64>,
    /// Two-sided p-value of z.
    pub p_value: Option<f64>,
}

/// Fleiss' κ of a units × categories count table whose rows all have the same sum.
///
/// Rows that sum to 0 (units nobody rated) are ignored; rows with different sums give
/// [`AgreementError::UnequalRatings`], which points to Krippendorff's α.
pub fn fleiss_kappa(counts: &[Vec<u64>]) -> Result<FleissKappa> {
    let ids: Vec<String> = (1..=counts.len()).map(|i| i.to_string()).collect();
    fleiss_core(counts, &ids, UnitOfAnalysis::user(""))
}

/// Fleiss' κ of a reliability matrix (nominal); every rated unit needs the same number of ratings.
pub fn fleiss_kappa_matrix(matrix: &ReliabilityMatrix) -> Result<FleissKappa> {
    // Streams over the units: no per-unit allocation, so 1M units cost O(V) memory.
    let v = matrix.values().len();
    let mut sums = FleissSums {
        k: v,
        n: 0,
        units: 0,
        totals: vec![0; v],
        p_sum: 0.0,
    };
    let mut first: Option<usize> = None;
    let mut row = vec![0u64; v];
    for u in 0..matrix.n_units() {
        row.iter_mut().for_each(|x| *x = 0);
        for &c in matrix.unit(u) {
            if c != MISSING {
                row[c as usize] += 1;
            }
        }
        let s: u64 = row.iter().sum();
        if s == 0 {
            continue;
        }
        match first {
            None => {
                first = Some(u);
                sums.n = s;
            }
            Some(f) if sums.n != s => {
                return Err(AgreementError::UnequalRatings {
                    first_unit: matrix.unit_id(f),
                    expected: sums.n,
                    unit: matrix.unit_id(u),
                    found: s,
                })
            }
            _ => {}
        }
        sums.add(&row);
    }
    fleiss_from_sums(sums, matrix.unit_of_analysis().clone())
}

/// Running sums of Fleiss' κ over units with the same number of ratings `n`.
struct FleissSums {
    k: usize,
    n: u64,
    units: usize,
    totals: Vec<u64>,
    /// Σ_i (Σ_j n_ij² − n) / (n(n − 1)).
    p_sum: f64,
}

impl FleissSums {
    fn add(&mut self, row: &[u64]) {
        let nf = self.n as f64;
        for (t, x) in self.totals.iter_mut().zip(row) {
            *t += x;
        }
        self.p_sum += (row.iter().map(|&x| (x * x) as f64).sum::<f64>() - nf) / (nf * (nf - 1.0));
        self.units += 1;
    }
}

fn fleiss_core(counts: &[Vec<u64>], ids: &[String], unit: UnitOfAnalysis) -> Result<FleissKappa> {
    let k = counts.first().map(|r| r.len()).unwrap_or(0);
    if let Some(r) = counts.iter().position(|r| r.len() != k) {
        return Err(AgreementError::Shape(format!(
            "row {} has {} categories, the first row {k}",
            r + 1,
            counts[r].len()
        )));
    }
    let mut first: Option<(usize, u64)> = None;
    let mut rows = Vec::new();
    for (i, r) in counts.iter().enumerate() {
        let s: u64 = r.iter().sum();
        if s == 0 {
            continue;
        }
        match first {
            None => first = Some((i, s)),
            Some((f, n)) if n != s => {
                return Err(AgreementError::UnequalRatings {
                    first_unit: ids[f].clone(),
                    expected: n,
                    unit: ids[i].clone(),
                    found: s,
                })
            }
            _ => {}
        }
        rows.push(r);
    }
    let (_, n) = first.ok_or(AgreementError::EmptyTable("no unit has a rating"))?;
    let mut sums = FleissSums {
        k,
        n,
        units: 0,
        totals: vec![0; k],
        p_sum: 0.0,
    };
    for r in rows {
        sums.add(r);
    }
    fleiss_from_sums(sums, unit)
}

/// Sorts a unit's non-missing values into `(value, count)` runs in `buf`; returns the number of values.
fn unit_runs_into(cells: &[u32], buf: &mut Vec<(u32, u64)>) -> u64 {
    let mut vals: [u32; 16] = [MISSING; 16];
    let mut owned;
    let vals: &mut [u32] = if cells.len() <= 16 {
        let mut k = 0;
        for &c in cells.iter().filter(|&&c| c != MISSING) {
            vals[k] = c;
            k += 1;
        }
        &mut vals[..k]
    } else {
        owned = cells
            .iter()
            .copied()
            .filter(|&c| c != MISSING)
            .collect::<Vec<_>>();
        &mut owned[..]
    };
    vals.sort_unstable();
    buf.clear();
    for run in vals.chunk_by(|a, b| a == b) {
        buf.push((run[0], run.len() as u64));
    }
    vals.len() as u64
}

/// Fleiss' κ, its SE under H0 and z from the running sums.
fn fleiss_from_sums(sums: FleissSums, unit: UnitOfAnalysis) -> Result<FleissKappa> {
    let FleissSums {
        k,
        n,
        units,
        totals,
        p_sum,
    } = sums;
    if units == 0 {
        return Err(AgreementError::EmptyTable("no unit has a rating"));
    }
    if n < 2 {
        return Err(AgreementError::TooFewCoders {
            statistic: "Fleiss' κ",
            needed: 2,
            found: n as usize,
        });
    }
    let big_n = units as f64;
    let nf = n as f64;
    let p: Vec<f64> = totals.iter().map(|&t| t as f64 / (big_n * nf)).collect();
    let p_bar = p_sum / big_n;
    let p_e: f64 = p.iter().map(|x| x * x).sum();
    let mut out = FleissKappa {
        unit,
        n_units: units,
        raters_per_unit: n,
        q: k,
        p_bar,
        p_e,
        kappa: Coefficient::Undefined(Undefined::NoVariation),
        se0: None,
        z: None,
        p_value: None,
    };
    if p_e >= 1.0 {
        return Ok(out);
    }
    let kappa = (p_bar - p_e) / (1.0 - p_e);
    out.kappa = Coefficient::Value(kappa);
    let spq: f64 = p.iter().map(|x| x * (1.0 - x)).sum();
    let spqqp: f64 = p.iter().map(|x| x * (1.0 - x) * (1.0 - 2.0 * x)).sum();
    let var0 = 2.0 / (big_n * nf * (nf - 1.0)) * (spq * spq - spqqp) / (spq * spq);
    if var0 > 0.0 {
        let se0 = var0.sqrt();
        out.se0 = Some(se0);
        out.z = Some(kappa / se0);
        out.p_value = Some(normal_p_two_sided(kappa / se0));
    }
    Ok(out)
}

/// Gwet's AC1 for any number of raters with missing ratings (Gwet 2014; irrCAC `gwet.ac1.raw`).
///
/// Units nobody rated are dropped; p_a averages over units with ≥ 2 ratings, π_k over
/// units with ≥ 1. q is the matrix's value count when it holds the full category list,
/// otherwise the number of categories observed. The variance is Gwet's linearisation
/// (infinite population); the CI uses t_{n−1} and is capped at 1.
pub fn gwet_ac1_raters(matrix: &ReliabilityMatrix, confidence: f64) -> Result<ChanceCorrected> {
    check_level(confidence)?;
    let v = matrix.values().len();
    // Two streaming passes over the units (no per-unit allocation): this one for
    // p_a and π, the variance closure below for the second.
    let mut buf = Vec::new();
    let (mut n_units, mut n_pairable) = (0usize, 0usize);
    let mut counts = vec![0.0; v];
    let mut pa_sum = 0.0;
    for u in 0..matrix.n_units() {
        let r = unit_runs_into(matrix.unit(u), &mut buf);
        if r == 0 {
            continue;
        }
        n_units += 1;
        let rf = r as f64;
        if r >= 2 {
            n_pairable += 1;
        }
        for &(c, k) in &buf {
            counts[c as usize] += k as f64 / rf;
            if r >= 2 {
                pa_sum += (k * (k - 1)) as f64 / (rf * (rf - 1.0));
            }
        }
    }
    let n = n_units as f64;
    let n2 = n_pairable as f64;
    if n2 == 0.0 {
        return Err(AgreementError::NoPairableUnits);
    }
    let pi: Vec<f64> = counts.iter().map(|c| c / n).collect();
    let pa = pa_sum / n2;
    let q = if matrix.categories_complete() {
        v
    } else {
        pi.iter().filter(|&&x| x > 0.0).count()
    };
    let qm1 = q as f64 - 1.0;
    let pe = if q >= 2 {
        pi.iter().map(|x| x * (1.0 - x)).sum::<f64>() / qm1
    } else {
        1.0
    };
    let basis = Basis {
        name: "Gwet's AC1",
        unit: matrix.unit_of_analysis(),
        n,
        q,
        p_a: pa,
        p_e: pe,
        confidence,
    };
    Ok(chance_corrected(basis, |ac1| {
        if n < 2.0 {
            return f64::NAN;
        }
        let mut s = 0.0;
        let mut buf = Vec::new();
        for u in 0..matrix.n_units() {
            let r = unit_runs_into(matrix.unit(u), &mut buf);
            if r == 0 {
                continue;
            }
            let runs = &buf;
            let rf = r as f64;
            let (pa_i, pe_ind) = if r >= 2 {
                (
                    runs.iter().map(|&(_, k)| (k * (k - 1)) as f64).sum::<f64>()
                        / (rf * (rf - 1.0)),
                    pe,
                )
            } else {
                (0.0, 0.0)
            };
            let ac1_i = (n / n2) * (pa_i - pe_ind) / (1.0 - pe);
            let pe_i = runs
                .iter()
                .map(|&(c, k)| k as f64 * (1.0 - pi[c as usize]))
                .sum::<f64>()
                / rf
                / qm1;
            let x = ac1_i - 2.0 * (1.0 - ac1) * (pe_i - pe) / (1.0 - pe);
            s += (x - ac1).powi(2);
        }
        s / (n * (n - 1.0))
    }))
}

/// κ of one pair of coders in a pairwise matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct PairCell {
    /// First coder (row number).
    pub a: usize,
    /// Second coder (row number).
    pub b: usize,
    /// Units both coders rated.
    pub n_units: u64,
    /// Share of those units on which they agree (None without shared units).
    pub percent_agreement: Option<f64>,
    /// Cohen's κ over those units (None without shared units).
    pub kappa: Option<CohenKappa>,
}

/// Cohen's κ for every pair of coders.
#[derive(Debug, Clone, PartialEq)]
pub struct PairwiseKappa {
    /// What a unit is.
    pub unit: UnitOfAnalysis,
    /// Coder names.
    pub coders: Vec<String>,
    /// Weights used.
    pub weights: Weights,
    /// One cell per pair a < b.
    pub pairs: Vec<PairCell>,
}

impl PairwiseKappa {
    /// The cell of coders `a` and `b` (in either order).
    pub fn get(&self, a: usize, b: usize) -> Option<&PairCell> {
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        self.pairs.iter().find(|p| p.a == a && p.b == b)
    }
}

/// Cohen's κ (95% Wald CI) of every pair of coders of a matrix, over the units both rated.
pub fn pairwise_kappa(matrix: &ReliabilityMatrix, weights: Weights) -> Result<PairwiseKappa> {
    let m = matrix.n_coders();
    if m < 2 {
        return Err(AgreementError::TooFewCoders {
            statistic: "a pairwise κ matrix",
            needed: 2,
            found: m,
        });
    }
    let mut pairs = Vec::new();
    for a in 0..m {
        for b in a + 1..m {
            let table = ContingencyTable::from_matrix(matrix, a, b)?;
            let n = table.n();
            let (pa, kappa) = if n == 0 {
                (None, None)
            } else {
                let agree: u64 = (0..table.q()).map(|i| table.count(i, i)).sum();
                (
                    Some(agree as f64 / n as f64),
                    Some(cohen_kappa(&table, weights, 0.95)?),
                )
            };
            pairs.push(PairCell {
                a,
                b,
                n_units: n,
                percent_agreement: pa,
                kappa,
            });
        }
    }
    Ok(PairwiseKappa {
        unit: matrix.unit_of_analysis().clone(),
        coders: matrix.coders().to_vec(),
        weights,
        pairs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observed_categories_set_the_weights_unless_the_list_is_given() {
        // Category 3 unused: 2 and 4 are adjacent unless the full list is given.
        let a = [
            Some("1"),
            Some("2"),
            Some("4"),
            Some("4"),
            Some("1"),
            Some("2"),
            Some("1"),
        ];
        let b = [
            Some("2"),
            Some("4"),
            Some("2"),
            Some("4"),
            Some("1"),
            Some("1"),
            Some("1"),
        ];
        let obs = ContingencyTable::from_ratings(&a, &b, None).unwrap();
        let full = ContingencyTable::from_ratings(&a, &b, Some(&["1", "2", "3", "4"])).unwrap();
        assert_eq!(obs.q(), 3);
        let k_obs = cohen_kappa(&obs, Weights::Linear, 0.95)
            .unwrap()
            .kappa
            .value()
            .unwrap();
        let k_full = cohen_kappa(&full, Weights::Linear, 0.95)
            .unwrap()
            .kappa
            .value()
            .unwrap();
        // The full list as a table: same κ as the table of observed categories with weights 1/3 apart.
        let manual = {
            let pos = |s: &str| s.parse::<f64>().unwrap() - 1.0;
            let (mut po, mut pe) = (0.0, 0.0);
            for (x, y) in a.iter().zip(&b) {
                po += 1.0 - (pos(x.unwrap()) - pos(y.unwrap())).abs() / 3.0;
            }
            for x in &a {
                for y in &b {
                    pe += 1.0 - (pos(x.unwrap()) - pos(y.unwrap())).abs() / 3.0;
                }
            }
            let (po, pe) = (po / 7.0, pe / 49.0);
            (po - pe) / (1.0 - pe)
        };
        assert!((k_full - manual).abs() < 1e-12, "{k_full} {manual}");
        assert!((k_obs - 4.0 / 11.0).abs() < 1e-12, "{k_obs}");
        assert!((k_full - 0.34375).abs() < 1e-12, "{k_full}");
        let e = ContingencyTable::from_ratings(&a, &b, Some(&["4", "6", "4"])).unwrap_err();
        assert_eq!(e, AgreementError::DuplicateCategory("4".into()));
    }

    #[test]
    fn numeric_labels_sort_by_value() {
        let a = [Some("10"), Some("9"), Some("2")];
        let t = ContingencyTable::from_ratings(&a, &a, None).unwrap();
        assert_eq!(t.categories(), ["2", "9", "10"]);
    }

    #[test]
    fn a_single_category_leaves_kappa_undefined() {
        let t = ContingencyTable::from_counts(&[vec![5, 0], vec![0, 0]]).unwrap();
        let k = cohen_kappa(&t, Weights::Unweighted, 0.95).unwrap();
        assert_eq!(k.kappa, Coefficient::Undefined(Undefined::NoVariation));
        assert_eq!(
            gwet_ac1(&t, 0.95).unwrap().value,
            Coefficient::Undefined(Undefined::SingleCategory)
        );
        // With the full list {0, 1}, AC1 and BP are 1.
        let t = t.with_full_categories();
        assert_eq!(gwet_ac1(&t, 0.95).unwrap().value, Coefficient::Value(1.0));
        assert_eq!(
            brennan_prediger(&t, 0.95).unwrap().value,
            Coefficient::Value(1.0)
        );
    }

    #[test]
    fn fleiss_refuses_unequal_ratings_and_points_to_alpha() {
        let e = fleiss_kappa(&[vec![2, 1], vec![1, 1], vec![0, 0]]).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("Krippendorff"), "{msg}");
        assert!(msg.contains("different numbers of ratings"), "{msg}");
        assert!(matches!(
            e,
            AgreementError::UnequalRatings {
                expected: 3,
                found: 2,
                ..
            }
        ));
    }
}
