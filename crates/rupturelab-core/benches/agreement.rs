//! Krippendorff's α and Cohen's κ at 10k / 100k / 1M units: 5 coders, 8 categories,
//! 20% missing, fixed seed (the benchmark data). Run with
//! `cargo bench -p rupturelab-core --bench agreement`.

use divan::{black_box, Bencher};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rupturelab_core::agreement::{
    cohen_kappa, krippendorff_alpha, ContingencyTable, Metric, ReliabilityMatrix, Value, Weights,
    MISSING,
};

const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];
const CODERS: usize = 5;
const CATEGORIES: u32 = 8;

fn main() {
    divan::main();
}

/// 5 coders × `units`, 8 categories, 20% missing; coders agree with a unit's true value 70% of the time.
fn matrix(units: usize) -> ReliabilityMatrix {
    let mut rng = StdRng::seed_from_u64(20240601);
    let mut cells = Vec::with_capacity(units * CODERS);
    for _ in 0..units {
        let truth = rng.gen_range(0..CATEGORIES);
        for _ in 0..CODERS {
            cells.push(if rng.gen_bool(0.2) {
                MISSING
            } else if rng.gen_bool(0.7) {
                truth
            } else {
                rng.gen_range(0..CATEGORIES)
            });
        }
    }
    let coders = (1..=CODERS).map(|c| c.to_string()).collect();
    let values = (0..CATEGORIES)
        .map(|v| Value::Number(v as f64 + 1.0))
        .collect();
    ReliabilityMatrix::new(coders, None, cells, values).expect("valid matrix")
}

#[divan::bench(args = SIZES)]
fn alpha_nominal(bencher: Bencher, units: usize) {
    let m = matrix(units);
    bencher.bench(|| krippendorff_alpha(black_box(&m), &Metric::Nominal).unwrap());
}

#[divan::bench(args = SIZES)]
fn alpha_ordinal(bencher: Bencher, units: usize) {
    let m = matrix(units);
    bencher.bench(|| krippendorff_alpha(black_box(&m), &Metric::Ordinal).unwrap());
}

#[divan::bench(args = SIZES)]
fn alpha_interval(bencher: Bencher, units: usize) {
    let m = matrix(units);
    bencher.bench(|| krippendorff_alpha(black_box(&m), &Metric::Interval).unwrap());
}

/// Cohen's κ of coders 1 and 2, including building their table from the matrix.
#[divan::bench(args = SIZES)]
fn cohen_kappa_unweighted(bencher: Bencher, units: usize) {
    let m = matrix(units);
    bencher.bench(|| {
        let t = ContingencyTable::from_matrix(black_box(&m), 0, 1).unwrap();
        cohen_kappa(&t, Weights::Unweighted, 0.95).unwrap()
    });
}
