//! Property tests of the agreement engine: invariances, identities and degenerate inputs.

use std::sync::Arc;

use proptest::prelude::*;
use rupturelab_core::agreement::*;

/// A numeric reliability matrix: (coders, units-major cells with MISSING, number of values).
fn matrix_strategy(missing: bool) -> impl Strategy<Value = (usize, Vec<u32>, u32)> {
    (2usize..=5, 1usize..=25, 1u32..=4).prop_flat_map(move |(m, n, v)| {
        let cell = if missing {
            prop_oneof![1 => Just(MISSING), 3 => 0..v].boxed()
        } else {
            (0..v).boxed()
        };
        (Just(m), proptest::collection::vec(cell, m * n), Just(v))
    })
}

fn numeric(m: usize, cells: Vec<u32>, v: u32) -> ReliabilityMatrix {
    let coders = (0..m).map(|i| format!("c{i}")).collect();
    let values = (0..v).map(|i| Value::Number(i as f64 + 1.0)).collect();
    ReliabilityMatrix::new(coders, None, cells, values).unwrap()
}

/// α as Ok(Some(value)), Ok(None) when undefined, or the error.
fn alpha(m: &ReliabilityMatrix, metric: &Metric) -> Result<Option<f64>, AgreementError> {
    krippendorff_alpha(m, metric).map(|r| r.alpha.value())
}

fn same(a: &Result<Option<f64>, AgreementError>, b: &Result<Option<f64>, AgreementError>) -> bool {
    match (a, b) {
        (Ok(Some(x)), Ok(Some(y))) => (x - y).abs() < 1e-9,
        (x, y) => x == y,
    }
}

fn metrics() -> Vec<Metric> {
    vec![
        Metric::Nominal,
        Metric::Ordinal,
        Metric::Interval,
        Metric::Ratio,
    ]
}

fn nominal_custom() -> Metric {
    Metric::Custom {
        name: "nominal as custom".into(),
        distance: Arc::new(|a, b| (a != b) as u8 as f64),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn permuting_coders_or_units_changes_nothing(
        (m, cells, v) in matrix_strategy(true),
        seed in any::<u64>(),
    ) {
        let mat = numeric(m, cells, v);
        let n = mat.n_units();
        // Deterministic permutations from the seed.
        let mut coders: Vec<usize> = (0..m).collect();
        let mut units: Vec<usize> = (0..n).collect();
        let mut s = seed | 1;
        let mut next = || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; s };
        for i in (1..m).rev() { let j = (next() % (i as u64 + 1)) as usize; coders.swap(i, j); }
        for i in (1..n).rev() { let j = (next() % (i as u64 + 1)) as usize; units.swap(i, j); }
        let pc = mat.select_coders(&coders).unwrap();
        let pu = mat.select_units(&units).unwrap();
        for metric in metrics() {
            let a = alpha(&mat, &metric);
            prop_assert!(same(&a, &alpha(&pc, &metric)), "{metric:?} coders {a:?}");
            prop_assert!(same(&a, &alpha(&pu, &metric)), "{metric:?} units {a:?}");
        }
        let g = |x: &ReliabilityMatrix| gwet_ac1_raters(x, 0.95).map(|r| (r.value.value(), r.p_a, r.se));
        match (g(&mat), g(&pc), g(&pu)) {
            (Ok(a), Ok(b), Ok(c)) => {
                for o in [b, c] {
                    prop_assert_eq!(a.0.is_some(), o.0.is_some());
                    if let (Some(x), Some(y)) = (a.0, o.0) { prop_assert!((x - y).abs() < 1e-9); }
                    prop_assert!((a.1 - o.1).abs() < 1e-9);
                }
            }
            (a, b, c) => { prop_assert!(a.is_err() && b.is_err() && c.is_err()); }
        }
        let k = |x: &ReliabilityMatrix| fleiss_kappa_matrix(x).map(|r| r.kappa.value());
        let (a, b, c) = (k(&mat), k(&pc), k(&pu));
        prop_assert_eq!(a.is_ok(), b.is_ok());
        prop_assert_eq!(a.is_ok(), c.is_ok());
        if let (Ok(Some(x)), Ok(Some(y)), Ok(Some(z))) = (a, b, c) {
            prop_assert!((x - y).abs() < 1e-9 && (x - z).abs() < 1e-9);
        }
    }

    #[test]
    fn perfect_agreement_gives_one(
        m in 2usize..=5,
        units in proptest::collection::vec((0u32..4, proptest::collection::vec(any::<bool>(), 5)), 1..20),
    ) {
        // Each unit has one value; some coders are missing.
        let mut cells = Vec::new();
        for (value, present) in &units {
            for (c, &p) in present.iter().enumerate().take(m) { cells.push(if p || c < 2 { *value } else { MISSING }); }
        }
        let mat = numeric(m, cells, 4);
        let distinct: std::collections::BTreeSet<u32> = units.iter().map(|(v, _)| *v).collect();
        for metric in metrics() {
            let a = alpha(&mat, &metric).unwrap();
            if distinct.len() >= 2 {
                prop_assert!((a.unwrap() - 1.0).abs() < 1e-12, "{metric:?} {a:?}");
            } else {
                prop_assert_eq!(a, None, "one value: α undefined");
            }
        }
        if distinct.len() >= 2 {
            let t = ContingencyTable::from_matrix(&mat, 0, 1).unwrap();
            for w in [Weights::Unweighted, Weights::Linear, Weights::Quadratic] {
                prop_assert!((cohen_kappa(&t, w, 0.95).unwrap().kappa.value().unwrap() - 1.0).abs() < 1e-12);
            }
            prop_assert!((scott_pi(&t, 0.95).unwrap().value.value().unwrap() - 1.0).abs() < 1e-12);
            prop_assert!((gwet_ac1_raters(&mat, 0.95).unwrap().value.value().unwrap() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn alpha_equals_fleiss_identity_for_complete_data((m, cells, v) in matrix_strategy(false)) {
        let mat = numeric(m, cells, v);
        let n = mat.n_units() as f64;
        let a = krippendorff_alpha(&mat, &Metric::Nominal).unwrap().alpha;
        let k = fleiss_kappa_matrix(&mat).unwrap().kappa;
        match (a.value(), k.value()) {
            (Some(a), Some(k)) => {
                let nm = n * m as f64;
                prop_assert!((a - (1.0 - (1.0 - k) * (nm - 1.0) / nm)).abs() < 1e-9, "α {a} κ {k}");
            }
            (a, k) => prop_assert!(a.is_none() && k.is_none(), "α {a:?} κ {k:?}"),
        }
    }

    #[test]
    fn alpha_equals_scott_identity_for_two_coders(
        cells in proptest::collection::vec(0u32..4, 2..60).prop_filter("even", |c| c.len() % 2 == 0),
    ) {
        let mat = numeric(2, cells, 4);
        let n = mat.n_units() as f64;
        let a = krippendorff_alpha(&mat, &Metric::Nominal).unwrap().alpha;
        let t = ContingencyTable::from_matrix(&mat, 0, 1).unwrap();
        let pi = scott_pi(&t, 0.95).unwrap().value;
        match (a.value(), pi.value()) {
            (Some(a), Some(p)) => {
                prop_assert!((a - (1.0 - (1.0 - p) * (2.0 * n - 1.0) / (2.0 * n))).abs() < 1e-9, "α {a} π {p}");
            }
            (a, p) => prop_assert!(a.is_none() && p.is_none(), "α {a:?} π {p:?}"),
        }
    }

    #[test]
    fn nominal_fast_path_equals_general_path((m, cells, v) in matrix_strategy(true)) {
        let mat = numeric(m, cells, v);
        let fast = krippendorff_alpha(&mat, &Metric::Nominal);
        let slow = krippendorff_alpha(&mat, &nominal_custom());
        match (fast, slow) {
            (Ok(f), Ok(s)) => {
                prop_assert_eq!(f.alpha.value().is_some(), s.alpha.value().is_some());
                if let (Some(x), Some(y)) = (f.alpha.value(), s.alpha.value()) { prop_assert!((x - y).abs() < 1e-9); }
                prop_assert_eq!(f.value_counts, s.value_counts);
                prop_assert_eq!(f.n_pairable_units, s.n_pairable_units);
                prop_assert!((f.observed_disagreement - s.observed_disagreement).abs() < 1e-9);
                prop_assert!((f.expected_disagreement - s.expected_disagreement).abs() < 1e-9);
            }
            (f, s) => prop_assert_eq!(f.err(), s.err()),
        }
    }

    #[test]
    fn wide_matrices_take_the_general_paths_and_agree((m, cells, v) in matrix_strategy(true), extra in 4usize..=7) {
        // Coders with no ratings change nothing, but more than 8 coders leave the fixed-width
        // counting loops for the sorting ones.
        let mat = numeric(m, cells.clone(), v);
        let wide_m = m + extra;
        let mut wide = Vec::with_capacity(mat.n_units() * wide_m);
        for unit in cells.chunks_exact(m) {
            wide.extend_from_slice(unit);
            wide.extend(std::iter::repeat_n(MISSING, extra));
        }
        let wide = numeric(wide_m, wide, v);
        for metric in metrics().into_iter().chain([nominal_custom()]) {
            prop_assert!(same(&alpha(&mat, &metric), &alpha(&wide, &metric)), "{metric:?} m = {wide_m}");
        }
    }

    #[test]
    fn interval_closed_form_equals_pairwise_sum((m, cells, v) in matrix_strategy(true)) {
        let mat = numeric(m, cells, v);
        let custom = Metric::Custom {
            name: "squared difference".into(),
            distance: Arc::new(|a, b| (a.as_number().unwrap() - b.as_number().unwrap()).powi(2)),
        };
        prop_assert!(same(&alpha(&mat, &Metric::Interval), &alpha(&mat, &custom)));
    }

    #[test]
    fn ordinal_alpha_depends_only_on_rank((m, cells, v) in matrix_strategy(true)) {
        let mat = numeric(m, cells.clone(), v);
        let coders = mat.coders().to_vec();
        let stretched = (0..v).map(|i| Value::Number((i as f64).powi(3) * 7.0 - 2.0)).collect();
        let other = ReliabilityMatrix::new(coders, None, cells, stretched).unwrap();
        prop_assert!(same(&alpha(&mat, &Metric::Ordinal), &alpha(&other, &Metric::Ordinal)));
    }

    #[test]
    fn csv_round_trip_in_both_layouts((m, cells, v) in matrix_strategy(true)) {
        let mat = numeric(m, cells, v);
        let cell = |c: usize, u: usize| mat.get(c, u).map(|id| mat.values()[id as usize].to_string()).unwrap_or_default();
        let mut by_coder = String::from("coder");
        for u in 0..mat.n_units() { by_coder.push_str(&format!(",u{u}")); }
        for c in 0..m {
            by_coder.push_str(&format!("\n{}", mat.coders()[c]));
            for u in 0..mat.n_units() { by_coder.push_str(&format!(",{}", cell(c, u))); }
        }
        let mut by_unit = format!("unit,{}", mat.coders().join(","));
        for u in 0..mat.n_units() {
            by_unit.push_str(&format!("\nu{u}"));
            for c in 0..m { by_unit.push_str(&format!(",{}", cell(c, u))); }
        }
        let a = parse_matrix_csv(&by_coder, MatrixLayout::CodersAsRows, ValueKind::Numbers);
        let b = parse_matrix_csv(&by_unit, MatrixLayout::UnitsAsRows, ValueKind::Numbers);
        match (a, b) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(a.cells(), b.cells());
                for metric in metrics() {
                    prop_assert!(same(&alpha(&mat, &metric), &alpha(&a, &metric)));
                }
            }
            // A matrix with no value at all has no values to intern: both layouts agree it is empty.
            (a, b) => prop_assert!(a.is_ok() == b.is_ok()),
        }
    }

    #[test]
    fn degenerate_inputs_give_the_documented_answers(m in 2usize..=6, n in 1usize..=10, value in 0u32..3) {
        // All missing: no pairable unit.
        let empty = numeric(m, vec![MISSING; m * n], 3);
        for metric in metrics() {
            prop_assert_eq!(alpha(&empty, &metric), Err(AgreementError::NoPairableUnits));
        }
        prop_assert_eq!(gwet_ac1_raters(&empty, 0.95).unwrap_err(), AgreementError::NoPairableUnits);
        // Each unit rated by one coder only: no pairable unit.
        let mut single = vec![MISSING; m * n];
        for u in 0..n { single[u * m + u % m] = value; }
        let single = numeric(m, single, 3);
        prop_assert_eq!(alpha(&single, &Metric::Nominal), Err(AgreementError::NoPairableUnits));
        // One value everywhere: α undefined (never 1 or NaN), κ undefined, no bootstrap.
        let one = numeric(m, vec![value; m * n], 3);
        for metric in metrics() {
            let r = krippendorff_alpha(&one, &metric).unwrap();
            prop_assert_eq!(r.alpha, Coefficient::Undefined(Undefined::NoVariation));
        }
        prop_assert_eq!(
            bootstrap_alpha(&one, &Metric::Nominal, &BootstrapOptions::default()).unwrap_err(),
            AgreementError::AlphaUndefined
        );
        prop_assert!(fleiss_kappa_matrix(&one).unwrap().kappa.is_undefined());
        let t = ContingencyTable::from_matrix(&one, 0, 1).unwrap();
        prop_assert!(cohen_kappa(&t, Weights::Unweighted, 0.95).unwrap().kappa.is_undefined());
        // One unit with two differing values: α is defined, and 0.
        let mut two = vec![MISSING; m];
        two[0] = 0;
        two[1] = 1;
        let r = krippendorff_alpha(&numeric(m, two, 2), &Metric::Nominal).unwrap();
        prop_assert_eq!(r.alpha, Coefficient::Value(0.0));
    }

    #[test]
    fn unequal_ratings_make_fleiss_refuse((m, cells, v) in matrix_strategy(true)) {
        let mat = numeric(m, cells, v);
        let counts: std::collections::BTreeSet<usize> = (0..mat.n_units())
            .map(|u| mat.unit(u).iter().filter(|&&x| x != MISSING).count())
            .filter(|&k| k > 0)
            .collect();
        match fleiss_kappa_matrix(&mat) {
            Err(AgreementError::UnequalRatings { .. }) => prop_assert!(counts.len() > 1),
            Err(AgreementError::TooFewCoders { .. }) => prop_assert!(counts.iter().all(|&k| k < 2)),
            Err(AgreementError::EmptyTable(_)) => prop_assert!(counts.is_empty()),
            Err(e) => prop_assert!(false, "unexpected {e}"),
            Ok(_) => prop_assert!(counts.len() == 1),
        }
    }
}

#[test]
fn unit_bootstrap_with_singleton_clusters_equals_plain_unit_bootstrap() {
    let mut cells = Vec::new();
    for u in 0..80u32 {
        cells.extend([
            u % 3,
            if u % 5 == 0 { (u + 1) % 3 } else { u % 3 },
            if u % 9 == 0 { MISSING } else { u % 3 },
        ]);
    }
    let plain = ReliabilityMatrix::from_codes(3, cells, 3).unwrap();
    let clustered = plain.clone().with_clusters((0..80).collect()).unwrap();
    let opts = BootstrapOptions {
        replicates: 300,
        ..Default::default()
    };
    let a = bootstrap_alpha(&plain, &Metric::Nominal, &opts).unwrap();
    let b = bootstrap_alpha(&clustered, &Metric::Nominal, &opts).unwrap();
    assert_eq!(a.ci, b.ci);
    // Clusters of 4 units: fewer, larger draws.
    let grouped = plain
        .with_clusters((0..80).map(|u| u / 4).collect())
        .unwrap();
    let c = bootstrap_alpha(&grouped, &Metric::Nominal, &opts).unwrap();
    assert_eq!(c.resample_size, 20);
}
