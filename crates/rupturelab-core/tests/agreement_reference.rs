//! One test per reference case in `shared/reference/agreement/*.json`: the expected
//! value within its tolerance, the intermediates where given, and the published
//! value within `tolerance_vs_published`. The files are read at run time.

use std::collections::BTreeSet;

use rupturelab_core::agreement::*;
use serde_json::Value as Json;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/agreement/"
);

fn load(name: &str) -> Json {
    let path = format!("{DIR}{name}.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

fn f(j: &Json) -> f64 {
    match j {
        Json::Number(n) => n.as_f64().unwrap(),
        Json::String(s) => s.parse().unwrap(),
        other => panic!("not a number: {other}"),
    }
}

#[track_caller]
fn close(what: &str, actual: f64, expected: f64, tol: f64) {
    assert!(
        (actual - expected).abs() <= tol,
        "{what}: got {actual}, expected {expected} (tolerance {tol}, off by {})",
        (actual - expected).abs()
    );
}

fn fraction(j: &Json) -> f64 {
    let s = j.as_str().unwrap();
    let (a, b) = s.split_once('/').unwrap();
    a.parse::<f64>().unwrap() / b.parse::<f64>().unwrap()
}

fn table(case: &Json) -> ContingencyTable {
    let rows: Vec<Vec<u64>> = case["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect()
        })
        .collect();
    ContingencyTable::from_counts(&rows).unwrap()
}

fn raw_table(case: &Json) -> ContingencyTable {
    let labels = |k: &str| -> Vec<Option<String>> {
        case[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                Some(
                    x.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| x.to_string()),
                )
            })
            .collect()
    };
    ContingencyTable::from_ratings(&labels("raw_rater_A"), &labels("raw_rater_B"), None).unwrap()
}

fn check_cohen(name: &str, weights: Weights) {
    let case = load(name);
    let tol = f(&case["tolerance"]);
    let expected = f(&case["expected"]);
    let k = cohen_kappa(&table(&case), weights, 0.95).unwrap();
    let kappa = k.kappa.value().expect("κ defined");
    close("κ", kappa, expected, tol);
    if let Some(fr) = case.get("expected_exact_fraction") {
        close("κ exact", kappa, fraction(fr), 1e-12);
    }
    let im = &case["intermediates"];
    close("ASE", k.ase.unwrap(), f(&im["ase"]), 1e-9);
    close("ASE0", k.ase0.unwrap(), f(&im["ase_H0"]), 1e-9);
    close("CI lower", k.ci.unwrap().0, f(&im["ci95_wald"][0]), 1e-9);
    close("CI upper", k.ci.unwrap().1, f(&im["ci95_wald"][1]), 1e-9);
    close("z", k.z.unwrap(), f(&im["z"]), 1e-8);
    if let Some(p) = im.get("p_o") {
        close("p_o", k.p_o, f(p), 1e-12);
        close("p_e", k.p_e, f(&im["p_e"]), 1e-12);
    }
    // The raw label vectors give the same table and κ.
    let raw = cohen_kappa(&raw_table(&case), weights, 0.95).unwrap();
    close(
        "κ from raw ratings",
        raw.kappa.value().unwrap(),
        expected,
        tol,
    );
    // Published (SAS) printout, to its precision.
    if let Some(p) = case["published_value"].as_object() {
        let tp = f(&case["tolerance_vs_published"]);
        close("published κ", kappa, f(&p["kappa"]), tp);
        close("published ASE", k.ase.unwrap(), f(&p["ase"]), tp);
        close("published lower", k.ci.unwrap().0, f(&p["low"]), tp);
        close("published upper", k.ci.unwrap().1, f(&p["upp"]), tp);
        close("published ASE0", k.ase0.unwrap(), f(&p["ase0"]), tp);
        close("published z", k.z.unwrap(), f(&p["z"]), tp);
    } else if let Some(p) = case["published_value"].as_f64() {
        close("published κ", kappa, p, tol);
    }
}

#[test]
fn cohen_sas3x3_unweighted() {
    check_cohen("cohen_sas3x3_unweighted", Weights::Unweighted);
}

#[test]
fn cohen_sas3x3_linear() {
    check_cohen("cohen_sas3x3_linear", Weights::Linear);
}

#[test]
fn cohen_sas3x3_quadratic() {
    check_cohen("cohen_sas3x3_quadratic", Weights::Quadratic);
}

#[test]
fn cohen_wikipedia_2x2() {
    check_cohen("cohen_wikipedia_2x2", Weights::Unweighted);
}

#[test]
fn fleiss_wikipedia() {
    let case = load("fleiss_wikipedia");
    let rows: Vec<Vec<u64>> = case["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect()
        })
        .collect();
    let k = fleiss_kappa(&rows).unwrap();
    let tol = f(&case["tolerance"]);
    let kappa = k.kappa.value().unwrap();
    close("κ", kappa, f(&case["expected"]), tol);
    close(
        "κ exact",
        kappa,
        fraction(&case["expected_exact_fraction"]),
        1e-12,
    );
    close(
        "published κ",
        kappa,
        f(&case["published_value"]),
        f(&case["tolerance_vs_published"]),
    );
    let im = &case["intermediates"];
    close("P̄", k.p_bar, f(&im["P_bar"]), 1e-12);
    close("P_e", k.p_e, f(&im["P_e"]), 1e-12);
    close("se0", k.se0.unwrap(), f(&im["se0_H0"]), 1e-10);
    close("z", k.z.unwrap(), f(&im["z"]), 1e-8);
    assert_eq!(k.raters_per_unit, 14);
    assert_eq!(k.n_units, 10);
}

#[test]
fn gwet_abstractors_3x3() {
    let case = load("gwet_abstractors_3x3");
    let cats: Vec<String> = case["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let t = table(&case).with_labels(cats).unwrap();
    let tol = f(&case["tolerance"]);
    let tol_se = f(&case["tolerance_se"]);
    let e = &case["expected"];
    let se = &case["expected_se"];
    let s = two_rater_summary(&t, Weights::Unweighted, 0.95).unwrap();

    close(
        "AC1",
        s.gwet_ac1.value.value().unwrap(),
        f(&e["gwet_ac1"]),
        tol,
    );
    close(
        "AC1 exact",
        s.gwet_ac1.value.value().unwrap(),
        fraction(&case["expected_exact_fraction"]["gwet_ac1"]),
        1e-12,
    );
    close("AC1 p_e", s.gwet_ac1.p_e, f(&e["gwet_ac1_pe"]), tol);
    close("AC1 se", s.gwet_ac1.se.unwrap(), f(&se["gwet"]), tol_se);
    close(
        "Scott",
        s.scott.value.value().unwrap(),
        f(&e["scott_pi"]),
        tol,
    );
    close(
        "Scott exact",
        s.scott.value.value().unwrap(),
        fraction(&case["expected_exact_fraction"]["scott_pi"]),
        1e-12,
    );
    close("Scott p_e", s.scott.p_e, f(&e["scott_pe"]), tol);
    close("Scott se", s.scott.se.unwrap(), f(&se["scott"]), tol_se);
    close(
        "percent agreement",
        s.percent_agreement.value.value().unwrap(),
        f(&e["percent_agreement"]),
        tol,
    );
    close(
        "percent agreement se",
        s.percent_agreement.se.unwrap(),
        f(&se["pa2"]),
        tol_se,
    );
    close(
        "Cohen",
        s.cohen.kappa.value().unwrap(),
        f(&e["cohen_kappa"]),
        tol,
    );
    close(
        "Cohen exact",
        s.cohen.kappa.value().unwrap(),
        fraction(&case["expected_exact_fraction"]["cohen_kappa"]),
        1e-12,
    );
    close(
        "Cohen se (FCE 1969 ASE)",
        s.cohen.ase.unwrap(),
        f(&se["cohen"]),
        tol_se,
    );
    close(
        "Brennan–Prediger",
        s.brennan_prediger.value.value().unwrap(),
        f(&e["brennan_prediger"]),
        tol,
    );
    close(
        "Brennan–Prediger se",
        s.brennan_prediger.se.unwrap(),
        f(&se["bp"]),
        tol_se,
    );

    // irrCAC's printed intervals (t_{n−1}, 5 decimals).
    let pv = &case["package_values"]["irrCAC(py).table.CAC"];
    for (name, c) in [
        ("gwet", &s.gwet_ac1),
        ("scott", &s.scott),
        ("bp", &s.brennan_prediger),
        ("pa2", &s.percent_agreement),
    ] {
        let ci = c.ci.unwrap();
        close(
            &format!("{name} CI lower"),
            ci.0,
            f(&pv[name]["confidence_interval"][0]),
            6e-6,
        );
        close(
            &format!("{name} CI upper"),
            ci.1,
            f(&pv[name]["confidence_interval"][1]),
            6e-6,
        );
    }

    // Raw ratings of the same table: the many-rater AC1 gives the same value and p_a,
    // and nominal α obeys the two-coder identity α = 1 − (1 − π)(2N − 1)/(2N),
    // which is Gwet's "Krippendorff" 0.7972585 (irrCAC prints 0.79726).
    let mut cells = Vec::new();
    for i in 0..3u32 {
        for j in 0..3u32 {
            for _ in 0..t.count(i as usize, j as usize) {
                cells.extend([i, j]);
            }
        }
    }
    let m = ReliabilityMatrix::from_codes(2, cells, 3).unwrap();
    let raters = gwet_ac1_raters(&m, 0.95).unwrap();
    close(
        "AC1 (raw, many-rater form)",
        raters.value.value().unwrap(),
        f(&e["gwet_ac1"]),
        tol,
    );
    // irrCAC's raw-data variance divides by n(n − 1) where the table form divides by n²:
    // the two SEs differ by exactly √(n/(n − 1)).
    close(
        "AC1 (raw) se",
        raters.se.unwrap(),
        s.gwet_ac1.se.unwrap() * (100.0f64 / 99.0).sqrt(),
        1e-12,
    );
    let alpha = krippendorff_alpha(&m, &Metric::Nominal)
        .unwrap()
        .alpha
        .value()
        .unwrap();
    let n = 100.0;
    close(
        "α identity",
        alpha,
        1.0 - (1.0 - f(&e["scott_pi"])) * (2.0 * n - 1.0) / (2.0 * n),
        1e-12,
    );
    close(
        "α vs irrCAC",
        alpha,
        f(&pv["krippendorff"]["coefficient_value"]),
        6e-6,
    );
    close("α vs 0.7972585", alpha, 0.7972585, 1e-7);
}

fn kripp_matrix(case: &Json) -> ReliabilityMatrix {
    let rows: Vec<Vec<Option<Value>>> = case["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().map(Value::Number))
                .collect()
        })
        .collect();
    let coders = (0..rows.len())
        .map(|i| ((b'A' + i as u8) as char).to_string())
        .collect();
    ReliabilityMatrix::from_coder_rows(coders, None, &rows).unwrap()
}

fn check_kripp(name: &str, metric: Metric) {
    let case = load(name);
    let m = kripp_matrix(&case);
    let r = krippendorff_alpha(&m, &metric).unwrap();
    let alpha = r.alpha.value().expect("α defined");
    close("α", alpha, f(&case["expected"]), f(&case["tolerance"]));
    close(
        "α exact",
        alpha,
        fraction(&case["expected_exact_fraction"]),
        1e-12,
    );
    close(
        "published α",
        alpha,
        f(&case["published_value"]),
        f(&case["tolerance_vs_published"]),
    );
    let im = &case["intermediates"];
    assert_eq!(r.n_pairable_values, f(&im["n_pairable"]) as u64);
    for (label, count) in im["n_c"].as_object().unwrap() {
        let v: f64 = label.parse().unwrap();
        let id = m
            .values()
            .iter()
            .position(|x| *x == Value::Number(v))
            .unwrap();
        assert_eq!(r.value_counts[id], f(count) as u64, "n_c of {label}");
    }
    close(
        "D_o",
        r.observed_disagreement,
        f(&im["D_o"]),
        1e-9 * f(&im["D_o"]).max(1.0),
    );
    close(
        "D_e",
        r.expected_disagreement,
        f(&im["D_e"]),
        1e-9 * f(&im["D_e"]).max(1.0),
    );
    assert_eq!(r.n_units, 12);
    assert_eq!(
        r.n_pairable_units, 11,
        "unit 12 has one value and is dropped"
    );
    // The package value with an explicit value domain 1..5 is the same.
    let full = m
        .clone()
        .with_categories((1..=5).map(|v| Value::Number(v as f64)).collect())
        .unwrap();
    close(
        "α, domain 1..5",
        krippendorff_alpha(&full, &metric)
            .unwrap()
            .alpha
            .value()
            .unwrap(),
        alpha,
        1e-12,
    );
}

#[test]
fn kripp2011_nominal() {
    check_kripp("kripp2011_nominal", Metric::Nominal);
}

#[test]
fn kripp2011_ordinal() {
    check_kripp("kripp2011_ordinal", Metric::Ordinal);
}

#[test]
fn kripp2011_interval() {
    check_kripp("kripp2011_interval", Metric::Interval);
}

#[test]
fn kripp2011_ratio() {
    check_kripp("kripp2011_ratio", Metric::Ratio);
}

/// FORMULAS.md §5: Gwet's AC1 for many raters with missing data on the 2011 matrix
/// (irrCAC raw4raters): p_a = 0.8181818, p_e = 0.1903212, AC1 = 0.77544.
/// SE and CI: Python `irrCAC` 0.4.4 (PyPI), `CAC(irrCAC.datasets.raw_4raters()).gwet()`
/// gives se = 0.14295, confidence_interval = (0.46081, 1) (rounded to 5 decimals).
#[test]
fn kripp2011_gwet_ac1_many_raters() {
    let m = kripp_matrix(&load("kripp2011_nominal"));
    let r = gwet_ac1_raters(&m, 0.95).unwrap();
    close("p_a", r.p_a, 0.8181818, 1e-7);
    close("p_e", r.p_e, 0.1903212, 1e-7);
    close("AC1", r.value.value().unwrap(), 0.77544, 6e-6);
    close("AC1 SE", r.se.unwrap(), 0.14295, 6e-6);
    let (lo, hi) = r.ci.unwrap();
    close("AC1 CI lower", lo, 0.46081, 6e-6);
    close("AC1 CI upper", hi, 1.0, 1e-12);
    assert_eq!(r.n_units, 12, "unit 12 (one rating) counts for π_k");
    // Fleiss' κ refuses these data and points to α.
    let e = fleiss_kappa_matrix(&m).unwrap_err();
    assert!(matches!(e, AgreementError::UnequalRatings { .. }));
    assert!(e.to_string().contains("Krippendorff's α"), "{e}");
}

#[test]
fn masi_setvalued_alpha() {
    let case = load("masi_setvalued_alpha");
    let rows: Vec<Vec<Option<Value>>> = case["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|cell| {
                    cell.as_array().map(|labels| {
                        Value::Set(
                            labels
                                .iter()
                                .map(|l| l.as_str().unwrap().to_string())
                                .collect(),
                        )
                    })
                })
                .collect()
        })
        .collect();
    let coders = (1..=rows.len()).map(|i| i.to_string()).collect();
    let m = ReliabilityMatrix::from_coder_rows(coders, None, &rows).unwrap();
    let masi = krippendorff_alpha(&m, &Metric::Masi)
        .unwrap()
        .alpha
        .value()
        .unwrap();
    close("α MASI", masi, f(&case["expected"]), f(&case["tolerance"]));
    close(
        "α MASI exact",
        masi,
        fraction(&case["expected_exact_fraction"]),
        1e-12,
    );
    let jac = krippendorff_alpha(&m, &Metric::Jaccard)
        .unwrap()
        .alpha
        .value()
        .unwrap();
    close(
        "α Jaccard",
        jac,
        f(&case["also"]["alpha_jaccard_distance"]),
        f(&case["tolerance"]),
    );
    close(
        "α Jaccard exact",
        jac,
        fraction(&case["also"]["alpha_jaccard_exact"]),
        1e-12,
    );
    let a: BTreeSet<u32> = [1, 2].into();
    let b: BTreeSet<u32> = [1, 2, 3, 4].into();
    close(
        "masi({1,2},{1,2,3,4})",
        masi_distance(&a, &b),
        f(&case["also"]["masi_distance({1,2},{1,2,3,4})"]),
        1e-15,
    );
    // A custom distance is used as given (not squared): MASI through Metric::Custom agrees.
    let custom = Metric::Custom {
        name: "masi (custom)".into(),
        distance: std::sync::Arc::new(|x: &Value, y: &Value| {
            masi_distance(x.as_set().unwrap(), y.as_set().unwrap())
        }),
    };
    close(
        "α custom MASI",
        krippendorff_alpha(&m, &custom)
            .unwrap()
            .alpha
            .value()
            .unwrap(),
        masi,
        1e-12,
    );
}
