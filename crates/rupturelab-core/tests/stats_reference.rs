//! The stats module against reference values computed with scipy / statsmodels
//! (fixtures/crosstab_reference.json; its "command" field regenerates it).

/// Grouped under `stats` so that `cargo test stats` selects these tests.
mod stats {
    use rupturelab_core::stats::{
        benjamini_hochberg, chi_square_test, cochran_q, fisher_exact_2x2, fisher_freeman_halton,
        holm, mcnemar, ExactMethodChoice, ExactOptions, PValueMethod,
    };
    use serde_json::Value;

    fn fixture() -> Value {
        let text = include_str!("fixtures/crosstab_reference.json");
        serde_json::from_str(text).expect("fixture is valid JSON")
    }

    fn table_of(v: &Value) -> Vec<Vec<u64>> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|row| {
                row.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap())
                    .collect()
            })
            .collect()
    }

    fn f(v: &Value) -> f64 {
        v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
    }

    /// |a − b| ≤ rel · max(|a|, |b|) + abs.
    fn close(what: &str, got: f64, want: f64, rel: f64, abs: f64) {
        let tol = rel * got.abs().max(want.abs()) + abs;
        assert!(
            (got - want).abs() <= tol,
            "{what}: got {got}, want {want} (tolerance {tol})"
        );
    }

    #[test]
    fn fixture_has_the_promised_tables_and_command() {
        let fx = fixture();
        assert!(fx["command"]
            .as_str()
            .unwrap()
            .contains("make_crosstab_reference.py"));
        let shapes: Vec<(usize, usize)> = fx["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let t = table_of(&t["table"]);
                (t.len(), t[0].len())
            })
            .collect();
        for shape in [(2, 2), (2, 3), (3, 2), (2, 6)] {
            assert!(shapes.contains(&shape), "missing a {shape:?} table");
        }
        assert!(fx["tables"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["monte_carlo_check"].as_bool().unwrap()));
    }

    #[test]
    fn chi_square_matches_scipy() {
        for t in fixture()["tables"].as_array().unwrap() {
            let name = t["name"].as_str().unwrap();
            let r = chi_square_test(&table_of(&t["table"])).unwrap();
            let want = &t["chi2"];
            close(
                &format!("{name} X²"),
                r.statistic,
                f(&want["statistic"]),
                1e-12,
                1e-12,
            );
            assert_eq!(r.df, want["df"].as_u64().unwrap(), "{name} df");
            close(
                &format!("{name} p"),
                r.p_value,
                f(&want["p_value"]),
                1e-9,
                1e-14,
            );
            close(
                &format!("{name} V"),
                r.cramers_v,
                f(&want["cramers_v"]),
                1e-12,
                1e-12,
            );
            close(
                &format!("{name} min E"),
                r.min_expected,
                f(&want["min_expected"]),
                1e-12,
                0.0,
            );
            assert_eq!(
                r.small_expected,
                f(&want["min_expected"]) < 5.0,
                "{name} small-expected flag"
            );
            for (row, wrow) in r.expected.iter().zip(want["expected"].as_array().unwrap()) {
                for (e, w) in row.iter().zip(wrow.as_array().unwrap()) {
                    close(&format!("{name} expected"), *e, f(w), 1e-12, 1e-12);
                }
            }
        }
    }

    #[test]
    fn fisher_2x2_matches_scipy() {
        let mut seen = 0;
        for t in fixture()["tables"].as_array().unwrap() {
            let want = &t["fisher_2x2"];
            if want.is_null() {
                continue;
            }
            seen += 1;
            let name = t["name"].as_str().unwrap();
            let tb = table_of(&t["table"]);
            let r = fisher_exact_2x2([[tb[0][0], tb[0][1]], [tb[1][0], tb[1][1]]]);
            close(
                &format!("{name} two-sided"),
                r.p_value,
                f(&want["p_two_sided"]),
                1e-10,
                1e-15,
            );
            close(
                &format!("{name} less"),
                r.p_less,
                f(&want["p_less"]),
                1e-10,
                1e-15,
            );
            close(
                &format!("{name} greater"),
                r.p_greater,
                f(&want["p_greater"]),
                1e-10,
                1e-15,
            );
            match want["odds_ratio"].as_f64() {
                Some(or) => close(&format!("{name} OR"), r.odds_ratio, or, 1e-12, 0.0),
                None => assert!(!r.odds_ratio.is_finite()),
            }
        }
        assert!(seen >= 3);
    }

    #[test]
    fn ffh_exact_matches_reference_enumeration() {
        for t in fixture()["tables"].as_array().unwrap() {
            let name = t["name"].as_str().unwrap();
            let want = &t["ffh"];
            let r =
                fisher_freeman_halton(&table_of(&t["table"]), &ExactOptions::default()).unwrap();
            assert!(
                r.is_exact(),
                "{name}: expected an exact p-value under the default step limit, got {:?}",
                r.method
            );
            let tol = want["tolerance"].as_f64().unwrap_or(0.0);
            close(
                &format!("{name} FFH p"),
                r.p_value,
                f(&want["p_value"]),
                1e-9,
                tol,
            );
            if let Some(po) = want["observed_probability"].as_f64() {
                close(
                    &format!("{name} P(observed)"),
                    r.observed_probability,
                    po,
                    1e-9,
                    0.0,
                );
            }
            assert!((0.0..=1.0).contains(&r.p_value));
        }
    }

    #[test]
    fn ffh_is_invariant_to_transposition() {
        for t in fixture()["tables"].as_array().unwrap() {
            let tb = table_of(&t["table"]);
            let tr: Vec<Vec<u64>> = (0..tb[0].len())
                .map(|j| tb.iter().map(|r| r[j]).collect())
                .collect();
            let a = fisher_freeman_halton(&tb, &ExactOptions::default())
                .unwrap()
                .p_value;
            let b = fisher_freeman_halton(&tr, &ExactOptions::default())
                .unwrap()
                .p_value;
            close("transposed", a, b, 1e-12, 0.0);
        }
    }

    #[test]
    fn monte_carlo_is_seeded_and_close_to_the_exact_p() {
        for t in fixture()["tables"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["monte_carlo_check"].as_bool().unwrap())
        {
            let name = t["name"].as_str().unwrap();
            let tb = table_of(&t["table"]);
            let exact = f(&t["ffh"]["p_value"]);
            let opts = ExactOptions {
                method: ExactMethodChoice::MonteCarlo,
                draws: 20_000,
                seed: 7,
                ..Default::default()
            };
            let a = fisher_freeman_halton(&tb, &opts).unwrap();
            let b = fisher_freeman_halton(&tb, &opts).unwrap();
            assert_eq!(a, b, "{name}: same seed, same result");
            let PValueMethod::MonteCarlo {
                draws,
                seed,
                hits,
                standard_error,
                ..
            } = a.method.clone()
            else {
                panic!("{name}: expected a Monte-Carlo result")
            };
            assert_eq!((draws, seed), (20_000, 7));
            assert!((a.p_value - (hits as f64 + 1.0) / 20_001.0).abs() < 1e-15);
            let se = (exact * (1.0 - exact) / 20_000.0).sqrt();
            assert!(
                (a.p_value - exact).abs() < 4.5 * se,
                "{name}: MC {} vs exact {exact} (SE {se})",
                a.p_value
            );
            assert!((standard_error - se).abs() < 0.2 * se);
            let other = fisher_freeman_halton(
                &tb,
                &ExactOptions {
                    seed: 8,
                    ..opts.clone()
                },
            )
            .unwrap();
            assert_ne!(
                a.method, other.method,
                "{name}: a different seed draws different tables"
            );
            // Auto falls back to Monte-Carlo above the step limit and says why.
            let auto = fisher_freeman_halton(
                &tb,
                &ExactOptions {
                    max_steps: 50,
                    ..ExactOptions::default()
                },
            )
            .unwrap();
            assert!(!auto.is_exact());
            assert!(
                auto.describe().contains("seed") && auto.describe().contains("50 steps"),
                "{}",
                auto.describe()
            );
        }
    }

    #[test]
    fn mcnemar_matches_statsmodels() {
        for m in fixture()["mcnemar"].as_array().unwrap() {
            let tb = table_of(&m["table"]);
            let r = mcnemar([[tb[0][0], tb[0][1]], [tb[1][0], tb[1][1]]]);
            let chi = r.chi_square.clone().unwrap();
            let cor = r.corrected.clone().unwrap();
            close("McNemar χ²", chi.statistic, f(&m["chi2"]), 1e-12, 1e-12);
            close("McNemar p", chi.p_value, f(&m["chi2_p"]), 1e-9, 1e-14);
            close(
                "McNemar corrected χ²",
                cor.statistic,
                f(&m["corrected"]),
                1e-12,
                1e-12,
            );
            close(
                "McNemar corrected p",
                cor.p_value,
                f(&m["corrected_p"]),
                1e-9,
                1e-14,
            );
            close("McNemar exact p", r.exact_p, f(&m["exact_p"]), 1e-10, 1e-15);
        }
    }

    #[test]
    fn cochran_q_matches_statsmodels() {
        for c in fixture()["cochran_q"].as_array().unwrap() {
            let data: Vec<Vec<bool>> = c["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    r.as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_u64().unwrap() == 1)
                        .collect()
                })
                .collect();
            let r = cochran_q(&data).unwrap();
            close("Q", r.statistic, f(&c["statistic"]), 1e-12, 1e-12);
            assert_eq!(r.df, c["df"].as_u64().unwrap());
            close("Q p", r.p_value, f(&c["p_value"]), 1e-9, 1e-14);
        }
    }

    #[test]
    fn holm_and_bh_match_statsmodels() {
        for a in fixture()["p_adjust"].as_array().unwrap() {
            let p: Vec<f64> = a["p"].as_array().unwrap().iter().map(f).collect();
            for (got, key) in [
                (holm(&p).unwrap(), "holm"),
                (benjamini_hochberg(&p).unwrap(), "bh"),
            ] {
                for (g, w) in got.iter().zip(a[key].as_array().unwrap()) {
                    close(key, *g, f(w), 1e-12, 1e-15);
                }
            }
        }
    }
}
