//! The unit builders (a) presence, (b) code set, (c) code point, the per-code table
//! and the pairwise matrix, on a small hand-made study whose answers are worked out
//! by hand in the comments.

use rupturelab_core::agreement::*;
use rupturelab_core::{
    Answer, Code, CodePath, Coder, Coding, Key, Response, ResponseKey, Span, StudyData,
};

fn key(p: &str) -> ResponseKey {
    ResponseKey {
        participant: Key::parse(p).unwrap(),
        segment: Some(Key::parse("S1").unwrap()),
        question: Key::parse("Q1").unwrap(),
    }
}

fn path(s: &str) -> CodePath {
    CodePath::parse(s).unwrap()
}

fn study() -> StudyData {
    let mut s = StudyData::new(Key::parse("demo").unwrap(), "Demo");
    for (p, codable) in [
        ("Cause", false),
        ("Cause/Patient", true),
        ("Cause/Patient/Resistance", true),
        ("Cause/Therapist", true),
        ("Repair", true),
        ("Empty", false),
    ] {
        s.codes.push(Code {
            path: path(p),
            name: p.rsplit('/').next().unwrap().to_string(),
            codable,
            definition: None,
            inclusion: None,
            exclusion: None,
            example: None,
            colour: None,
        });
    }
    for c in ["ana", "ben", "cem", "consensus"] {
        s.coders.push(Coder {
            name: Key::parse(c).unwrap(),
        });
    }
    for (p, text) in [
        ("P01", "abcdefghij"),
        ("P02", "hello world"),
        ("P03", "xyz"),
        ("P04", "no codes"),
        ("P05", "ok"),
    ] {
        s.responses.push(Response {
            key: key(p),
            answer: Answer::Text(text.into()),
            created_at: None,
            updated_at: None,
        });
    }
    s.responses.push(Response {
        key: key("P06"),
        answer: Answer::Rating(3),
        created_at: None,
        updated_at: None,
    });
    let mut code = |coder: &str, p: &str, c: &str, span: Option<(usize, usize)>| {
        s.codings.push(Coding {
            coder: Key::parse(coder).unwrap(),
            response: key(p),
            code: path(c),
            span: span.map(|(start, end)| Span { start, end }),
            memo: None,
        });
    };
    // P01: ana marks "abcde" as Resistance, ben marks "cdef" as Patient (the theme).
    code("ana", "P01", "Cause/Patient/Resistance", Some((0, 5)));
    code("ben", "P01", "Cause/Patient", Some((2, 6)));
    code("cem", "P01", "Cause/Patient", None);
    code("consensus", "P01", "Cause/Patient/Resistance", Some((0, 5)));
    // P02: both Therapist.
    code("ana", "P02", "Cause/Therapist", None);
    code("ben", "P02", "Cause/Therapist", Some((0, 5)));
    // P03: only ana (Repair). P04: nobody.
    code("ana", "P03", "Repair", None);
    // P05: ana Therapist, ben Repair.
    code("ana", "P05", "Cause/Therapist", None);
    code("ben", "P05", "Repair", None);
    s
}

fn column(m: &ReliabilityMatrix, coder: usize) -> Vec<u32> {
    (0..m.n_units()).map(|u| m.get(coder, u).unwrap()).collect()
}

#[test]
fn presence_units_are_responses_coded_by_any_chosen_coder() {
    let s = study();
    let m = presence_matrix(&s, &["ana", "ben"], &path("Cause"), &UnitOptions::default()).unwrap();
    // Units P01, P02, P03, P05 (P04 and P06 were coded by nobody); ben's uncoded P03 is "absent".
    let ids: Vec<String> = (0..m.n_units()).map(|u| m.unit_id(u)).collect();
    assert_eq!(ids, ["P01/S1/Q1", "P02/S1/Q1", "P03/S1/Q1", "P05/S1/Q1"]);
    assert_eq!(
        column(&m, 0),
        [1, 1, 0, 1],
        "ana: a theme counts its sub-codes"
    );
    assert_eq!(column(&m, 1), [1, 1, 0, 0]);
    assert_eq!(
        m.unit_of_analysis(),
        &UnitOfAnalysis::ResponseCodePresence {
            code: path("Cause")
        }
    );
    // n = 8, n_1 = 5, o_11 = 4, o_00 = 2: α = 1 − 7·2/(64 − 25 − 9) = 8/15.
    let a = krippendorff_alpha(&m, &Metric::Nominal).unwrap();
    assert!((a.alpha.value().unwrap() - 8.0 / 15.0).abs() < 1e-12);
    assert_eq!(
        a.unit,
        UnitOfAnalysis::ResponseCodePresence {
            code: path("Cause")
        }
    );
    // p_o = 3/4, p_e = 1/2: κ = 1/2.
    let k = cohen_kappa(
        &ContingencyTable::from_matrix(&m, 0, 1).unwrap(),
        Weights::Unweighted,
        0.95,
    )
    .unwrap();
    assert!((k.kappa.value().unwrap() - 0.5).abs() < 1e-12);

    let all = UnitOptions {
        selection: Some(ResponseSelection::CodedByAll),
    };
    let m = presence_matrix(&s, &["ana", "ben"], &path("Cause"), &all).unwrap();
    assert_eq!(m.n_units(), 3, "P03 was not coded by ben");
}

#[test]
fn code_set_units_give_masi_alpha() {
    let s = study();
    let m = code_set_matrix(&s, &["ana", "ben"], None, &UnitOptions::default()).unwrap();
    assert_eq!(m.n_units(), 4);
    let set = |c: usize, u: usize| m.values()[m.get(c, u).unwrap() as usize].to_string();
    assert_eq!(set(0, 0), "{Cause/Patient/Resistance}");
    assert_eq!(set(1, 2), "{}", "ben left P03 uncoded: the empty set");
    // Every disagreement is between disjoint sets (d = 1), so MASI α = nominal α on sets:
    // n = 8, Σ o_cc = 2, Σ n_c² = 16: α = 1 − 7·6/48 = 1/8.
    let a = krippendorff_alpha(&m, &Metric::Masi).unwrap();
    assert!(
        (a.alpha.value().unwrap() - 0.125).abs() < 1e-12,
        "{:?}",
        a.alpha
    );
    assert_eq!(a.unit, UnitOfAnalysis::ResponseCodeSet { within: None });
    let within = code_set_matrix(
        &s,
        &["ana", "ben"],
        Some(&path("Cause/Patient")),
        &UnitOptions::default(),
    )
    .unwrap();
    assert_eq!(
        within.values()[within.get(0, 1).unwrap() as usize].to_string(),
        "{}"
    );
}

#[test]
fn code_point_units_are_characters_of_responses_all_coders_coded() {
    let s = study();
    let m = code_point_matrix(
        &s,
        &["ana", "ben"],
        &path("Cause/Patient"),
        &UnitOptions::default(),
    )
    .unwrap();
    // P01 (10) + P02 (11) + P05 (2) code points; P03 was not coded by ben.
    assert_eq!(m.n_units(), 23);
    assert_eq!(&column(&m, 0)[..10], [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
    assert_eq!(&column(&m, 1)[..10], [0, 0, 1, 1, 1, 1, 0, 0, 0, 0]);
    assert_eq!(m.clusters().unwrap()[22], 2, "clustered by response");
    assert_eq!(
        m.unit_of_analysis(),
        &UnitOfAnalysis::CodePoint {
            code: path("Cause/Patient")
        }
    );
    // Table (1,1)=3, (1,0)=2, (0,1)=1, (0,0)=17: κ = 98/167.
    let k = cohen_kappa(
        &ContingencyTable::from_matrix(&m, 0, 1).unwrap(),
        Weights::Unweighted,
        0.95,
    )
    .unwrap();
    assert!((k.kappa.value().unwrap() - 98.0 / 167.0).abs() < 1e-12);
    // The bootstrap resamples the 3 responses.
    let b = bootstrap_alpha(
        &m,
        &Metric::Nominal,
        &BootstrapOptions {
            replicates: 200,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(b.resample_size, 3);
}

#[test]
fn per_code_table_flags_codes_below_the_threshold() {
    let s = study();
    let t = code_agreement_table(&s, &["ana", "ben"], &CodeAgreementOptions::default()).unwrap();
    let codes: Vec<&str> = t.rows.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "Cause",
            "Cause/Patient",
            "Cause/Patient/Resistance",
            "Cause/Therapist",
            "Repair"
        ]
    );
    assert_eq!(t.threshold, 0.667);
    let cause = &t.rows[0];
    assert_eq!(cause.n_units, 4);
    assert_eq!(cause.present, [3, 2]);
    assert!((cause.percent_agreement - 0.75).abs() < 1e-12);
    assert!(
        matches!(&cause.kappa, KappaValue::Cohen(k) if (k.kappa.value().unwrap() - 0.5).abs() < 1e-12)
    );
    assert!((cause.alpha.alpha.value().unwrap() - 8.0 / 15.0).abs() < 1e-12);
    assert_eq!(cause.flag, CodeFlag::BelowThreshold);
    assert!(cause.alpha_ci.is_some());
    assert_eq!(
        cause.unit,
        UnitOfAnalysis::ResponseCodePresence {
            code: path("Cause")
        }
    );
    let patient = &t.rows[1];
    assert_eq!(patient.alpha.alpha, Coefficient::Value(1.0));
    assert_eq!(patient.flag, CodeFlag::Ok);
    // Resistance: n_1 = 1 of 8 values, α = 1 − 7·2/14 = 0.
    assert_eq!(
        t.rows[2].alpha.alpha.value().map(|a| a.abs() < 1e-12),
        Some(true)
    );

    // Character level: Patient has κ 98/167; Repair was never coded on text both coded.
    let opts = CodeAgreementOptions {
        unit: CodeUnit::CodePoint,
        ..Default::default()
    };
    let t = code_agreement_table(&s, &["ana", "ben"], &opts).unwrap();
    assert_eq!(t.selection, ResponseSelection::CodedByAll);
    let repair = t.rows.iter().find(|r| r.code.as_str() == "Repair").unwrap();
    assert_eq!(
        repair.flag,
        CodeFlag::BelowThreshold,
        "ben's Repair on P05 vs ana's nothing"
    );
    let patient = t
        .rows
        .iter()
        .find(|r| r.code.as_str() == "Cause/Patient")
        .unwrap();
    assert!((patient.kappa.value().value().unwrap() - 98.0 / 167.0).abs() < 1e-12);

    // Three coders: Fleiss' κ, and α obeys the complete-data identity.
    let t = code_agreement_table(
        &s,
        &["ana", "ben", "cem"],
        &CodeAgreementOptions {
            bootstrap: None,
            ..Default::default()
        },
    )
    .unwrap();
    for row in &t.rows {
        let KappaValue::Fleiss(k) = &row.kappa else {
            panic!("three coders use Fleiss' κ")
        };
        if let (Some(a), Some(k)) = (row.alpha.alpha.value(), k.kappa.value()) {
            let nm = (row.n_units * 3) as f64;
            assert!((a - (1.0 - (1.0 - k) * (nm - 1.0) / nm)).abs() < 1e-12);
        }
        assert!(row.alpha_ci.is_none());
    }
}

#[test]
fn a_code_nobody_applied_is_undefined_not_one() {
    let mut s = study();
    s.codes.push(Code {
        path: path("Unused"),
        name: "Unused".into(),
        codable: true,
        definition: None,
        inclusion: None,
        exclusion: None,
        example: None,
        colour: None,
    });
    let t = code_agreement_table(&s, &["ana", "ben"], &CodeAgreementOptions::default()).unwrap();
    let row = t.rows.iter().find(|r| r.code.as_str() == "Unused").unwrap();
    assert_eq!(row.flag, CodeFlag::Undefined);
    assert!(row.alpha.alpha.is_undefined());
    assert!(row.kappa.value().is_undefined());
    assert!(row.alpha_ci.is_none());
}

#[test]
fn pairwise_matrix_covers_every_pair() {
    let s = study();
    let p =
        study_pairwise_kappa(&s, &["ana", "ben", "cem"], None, &UnitOptions::default()).unwrap();
    assert_eq!(p.pairs.len(), 3);
    assert_eq!(p.unit, UnitOfAnalysis::ResponseCodePair);
    // 4 responses × 4 codable codes.
    assert_eq!(p.get(1, 0).unwrap().n_units, 16);
    let by_code = study_pairwise_kappa(
        &s,
        &["ana", "ben"],
        Some(&path("Cause")),
        &UnitOptions::default(),
    )
    .unwrap();
    assert!(
        (by_code
            .get(0, 1)
            .unwrap()
            .kappa
            .as_ref()
            .unwrap()
            .kappa
            .value()
            .unwrap()
            - 0.5)
            .abs()
            < 1e-12
    );
    // A coder against the consensus layer.
    let c = study_pairwise_kappa(
        &s,
        &["ana", "consensus"],
        Some(&path("Cause")),
        &UnitOptions::default(),
    )
    .unwrap();
    assert_eq!(c.coders, ["ana", "consensus"]);
}

#[test]
fn bad_requests_say_what_is_wrong() {
    let s = study();
    let o = UnitOptions::default();
    let e = presence_matrix(&s, &["ana", "zoe"], &path("Cause"), &o).unwrap_err();
    assert!(
        matches!(&e, AgreementError::UnknownCoder { name, known } if name == "zoe" && known.contains("ben")),
        "{e}"
    );
    let e = presence_matrix(&s, &["ana"], &path("Cause"), &o).unwrap_err();
    assert!(matches!(e, AgreementError::TooFewCoders { found: 1, .. }));
    let e = presence_matrix(&s, &["ana", "ana"], &path("Cause"), &o).unwrap_err();
    assert_eq!(e, AgreementError::DuplicateCoder("ana".into()));
    let e = presence_matrix(&s, &["ana", "ben"], &path("Nope"), &o).unwrap_err();
    assert_eq!(e, AgreementError::UnknownCode("Nope".into()));
    let mut s2 = study();
    s2.codings.retain(|c| c.coder.as_str() == "ana");
    let all = UnitOptions {
        selection: Some(ResponseSelection::CodedByAll),
    };
    let e = presence_matrix(&s2, &["ana", "ben"], &path("Cause"), &all).unwrap_err();
    assert!(matches!(e, AgreementError::NoUnits(_)), "{e}");
}
