//! Property tests of the stats module: p-values in [0, 1], monotone adjustments,
//! the exact test against brute-force enumeration, invariances, seeded Monte-Carlo.

/// Grouped under `stats` so that `cargo test stats` selects these tests.
mod stats {
    use proptest::prelude::*;
    use rupturelab_core::stats::{
        benjamini_hochberg, chi_square_test, cochran_q, fisher_freeman_halton, holm, mcnemar,
        ExactMethodChoice, ExactOptions, RELATIVE_TOLERANCE,
    };

    /// FFH p-value by visiting every table with the margins of `t`, cell by cell.
    fn brute_force(t: &[Vec<u64>]) -> f64 {
        let (r, c) = (t.len(), t[0].len());
        let rows: Vec<u64> = t.iter().map(|x| x.iter().sum()).collect();
        let cols: Vec<u64> = (0..c).map(|j| t.iter().map(|x| x[j]).sum()).collect();
        let n: u64 = rows.iter().sum();
        let lf = |k: u64| (1..=k).map(|i| (i as f64).ln()).sum::<f64>();
        let k = rows.iter().map(|&x| lf(x)).sum::<f64>() + cols.iter().map(|&x| lf(x)).sum::<f64>()
            - lf(n);
        let obs = k - t.iter().flatten().map(|&x| lf(x)).sum::<f64>();
        let thr = obs + RELATIVE_TOLERANCE.ln_1p();
        let mut rl = rows.clone();
        let mut cl = cols.clone();
        let mut p = 0.0;
        struct Ctx<'a> {
            r: usize,
            c: usize,
            lf: &'a dyn Fn(u64) -> f64,
            k: f64,
            thr: f64,
        }
        fn go(i: usize, acc: f64, rl: &mut [u64], cl: &mut [u64], x: &Ctx, p: &mut f64) {
            if i == x.r * x.c {
                let lp = x.k + acc;
                if lp <= x.thr {
                    *p += lp.exp();
                }
                return;
            }
            let (row, col) = (i / x.c, i % x.c);
            let last_col = col == x.c - 1;
            let last_row = row == x.r - 1;
            let range = if last_col && last_row {
                if rl[row] != cl[col] {
                    return;
                }
                rl[row]..=rl[row]
            } else if last_col {
                if rl[row] > cl[col] {
                    return;
                }
                rl[row]..=rl[row]
            } else if last_row {
                if cl[col] > rl[row] {
                    return;
                }
                cl[col]..=cl[col]
            } else {
                0..=rl[row].min(cl[col])
            };
            for v in range {
                rl[row] -= v;
                cl[col] -= v;
                go(i + 1, acc - (x.lf)(v), rl, cl, x, p);
                rl[row] += v;
                cl[col] += v;
            }
        }
        let ctx = Ctx {
            r,
            c,
            lf: &lf,
            k,
            thr,
        };
        go(0, 0.0, &mut rl, &mut cl, &ctx, &mut p);
        p.min(1.0)
    }

    fn table_strategy() -> impl Strategy<Value = Vec<Vec<u64>>> {
        (2usize..=3, 2usize..=4)
            .prop_flat_map(|(r, c)| prop::collection::vec(prop::collection::vec(0u64..=5, c), r))
    }

    fn p_values() -> impl Strategy<Value = Vec<f64>> {
        prop::collection::vec(
            prop_oneof![0.0..=1.0f64, Just(0.0), Just(1.0), Just(0.05)],
            0..25,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn ffh_equals_brute_force_and_lies_in_unit_interval(t in table_strategy()) {
            let exact = fisher_freeman_halton(&t, &ExactOptions::default()).unwrap();
            prop_assert!(exact.is_exact());
            prop_assert!((0.0..=1.0).contains(&exact.p_value));
            prop_assert!(exact.p_value + 1e-12 >= exact.observed_probability);
            let nonzero_rows = t.iter().filter(|r| r.iter().sum::<u64>() > 0).count();
            let nonzero_cols = (0..t[0].len()).filter(|&j| t.iter().map(|r| r[j]).sum::<u64>() > 0).count();
            if nonzero_rows >= 2 && nonzero_cols >= 2 {
                let b = brute_force(&t);
                prop_assert!((exact.p_value - b).abs() <= 1e-9 * b.max(1e-12), "{:?}: {} vs {}", t, exact.p_value, b);
            } else {
                prop_assert_eq!(exact.p_value, 1.0);
            }
        }

        #[test]
        fn ffh_ignores_row_order_and_transposition(t in table_strategy()) {
            let o = ExactOptions::default();
            let p = fisher_freeman_halton(&t, &o).unwrap().p_value;
            let mut rev = t.clone();
            rev.reverse();
            let tr: Vec<Vec<u64>> = (0..t[0].len()).map(|j| t.iter().map(|r| r[j]).collect()).collect();
            prop_assert!((fisher_freeman_halton(&rev, &o).unwrap().p_value - p).abs() < 1e-12);
            prop_assert!((fisher_freeman_halton(&tr, &o).unwrap().p_value - p).abs() < 1e-12);
        }

        #[test]
        fn chi_square_p_and_v_lie_in_unit_interval(t in table_strategy()) {
            if let Ok(r) = chi_square_test(&t) {
                prop_assert!((0.0..=1.0).contains(&r.p_value));
                prop_assert!((0.0..=1.0).contains(&r.cramers_v));
                prop_assert!(r.statistic >= 0.0);
            }
        }

        #[test]
        fn monte_carlo_is_reproducible(t in table_strategy(), seed in any::<u64>()) {
            let o = ExactOptions { method: ExactMethodChoice::MonteCarlo, draws: 200, seed, ..Default::default() };
            let a = fisher_freeman_halton(&t, &o).unwrap();
            prop_assert_eq!(&a, &fisher_freeman_halton(&t, &o).unwrap());
            prop_assert!(a.p_value > 0.0 && a.p_value <= 1.0);
        }

        #[test]
        fn adjustments_are_monotone_bounded_and_ordered(p in p_values()) {
            let h = holm(&p).unwrap();
            let b = benjamini_hochberg(&p).unwrap();
            for i in 0..p.len() {
                prop_assert!(h[i] >= p[i] && h[i] <= 1.0);
                prop_assert!(b[i] >= p[i] - 1e-15 && b[i] <= 1.0);
                prop_assert!(b[i] <= h[i] + 1e-15, "BH is never above Holm");
                for j in 0..p.len() {
                    if p[i] <= p[j] {
                        prop_assert!(h[i] <= h[j] && b[i] <= b[j], "order is kept");
                    }
                }
            }
        }

        #[test]
        fn adjustments_follow_a_permutation_of_the_input(p in p_values()) {
            let mut rev = p.clone();
            rev.reverse();
            let mut h = holm(&rev).unwrap();
            h.reverse();
            prop_assert_eq!(h, holm(&p).unwrap());
            let mut b = benjamini_hochberg(&rev).unwrap();
            b.reverse();
            prop_assert_eq!(b, benjamini_hochberg(&p).unwrap());
        }

        #[test]
        fn cochran_q_with_two_conditions_is_mcnemar(pairs in prop::collection::vec((any::<bool>(), any::<bool>()), 1..40)) {
            let data: Vec<Vec<bool>> = pairs.iter().map(|(a, b)| vec![*a, *b]).collect();
            let mut t = [[0u64; 2]; 2];
            for (a, b) in &pairs {
                t[usize::from(!a)][usize::from(!b)] += 1;
            }
            let m = mcnemar(t);
            match (cochran_q(&data), m.chi_square) {
                (Ok(q), Some(chi)) => {
                    prop_assert!((q.statistic - chi.statistic).abs() < 1e-9);
                    prop_assert!((q.p_value - chi.p_value).abs() < 1e-9);
                }
                (Err(_), None) => {}
                (q, chi) => prop_assert!(false, "Q {:?} but McNemar {:?}", q, chi),
            }
            prop_assert!((0.0..=1.0).contains(&m.exact_p));
        }
    }
}
