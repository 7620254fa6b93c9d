//! Cross-tabs, co-occurrence and segment profiles on a small hand-made study.

/// Grouped under `stats` so that `cargo test stats` selects these tests.
mod stats {
    use std::collections::BTreeMap;

    use rupturelab_core::stats::{
        chi_square_test, cochran_q, cooccurrence, crosstab, fisher_freeman_halton, segment_profile,
        CodeSelection, CountingUnit, CrosstabOptions, GroupBy, StatsError,
    };
    use rupturelab_core::{
        Answer, AttrValue, AttributeDef, AttributeType, Code, CodePath, Coder, Coding, Key,
        Participant, ParticipantStatus, Patient, Question, QuestionKind, QuestionScope, Response,
        ResponseKey, RuptureType, Segment, StudyData, CONSENSUS,
    };

    fn key(s: &str) -> Key {
        Key::parse(s).unwrap()
    }

    fn code(path: &str) -> Code {
        let p = CodePath::parse(path).unwrap();
        Code {
            name: p.leaf().to_string(),
            path: p,
            codable: true,
            definition: None,
            inclusion: None,
            exclusion: None,
            example: None,
            colour: None,
        }
    }

    fn rk(p: &str, s: Option<&str>, q: &str) -> ResponseKey {
        ResponseKey {
            participant: key(p),
            segment: s.map(key),
            question: key(q),
        }
    }

    /// Seven participants, three segments (S1, S2 of patient A; S3 of patient B).
    ///
    /// Consensus codings (theme = depth 2):
    /// P01: S1 Cause/Patient/Resistance + Cause/Therapist, S2 Cause/Patient (two answers, one participant)
    /// P02: S1 Cause/Patient          P03: S3 Cause/Therapist
    /// P04: S1 Cause/Patient/Resistance + Resolution/Relational
    /// P05: S2 Resolution/Relational  P06: nothing   P07 (no orientation): S1 Cause/Patient
    /// Coder `ana`: P05 S1 Cause/Patient.
    fn study() -> StudyData {
        let mut s = StudyData::new(key("demo"), "Demo");
        s.attributes = vec![
            AttributeDef {
                name: key("orientation"),
                label: "Orientation".into(),
                kind: AttributeType::Category {
                    values: vec![
                        "CBT".into(),
                        "psychodynamic".into(),
                        "humanistic".into(),
                        "systemic".into(),
                    ],
                },
                bands: vec![],
                required: false,
            },
            AttributeDef {
                name: key("experience_years"),
                label: "Years".into(),
                kind: AttributeType::Integer {
                    min: Some(0),
                    max: Some(60),
                },
                bands: vec![5.0, 10.0],
                required: false,
            },
            AttributeDef {
                name: key("age"),
                label: "Age".into(),
                kind: AttributeType::Number {
                    min: None,
                    max: None,
                },
                bands: vec![],
                required: false,
            },
        ];
        s.questions = vec![
            Question {
                key: key("Q1"),
                kind: QuestionKind::Open,
                scope: QuestionScope::Segment,
                prompt: "Why?".into(),
            },
            Question {
                key: key("Q2"),
                kind: QuestionKind::Open,
                scope: QuestionScope::Once,
                prompt: "Overall?".into(),
            },
        ];
        s.patients = vec![
            Patient {
                key: key("A"),
                description: "Patient A".into(),
            },
            Patient {
                key: key("B"),
                description: "Patient B".into(),
            },
        ];
        s.segments = ["S1", "S2", "S3"]
            .iter()
            .map(|k| Segment {
                key: key(k),
                label: format!("Segment {k}"),
                patient: key(if *k == "S3" { "B" } else { "A" }),
                session: None,
                rupture: RuptureType::Withdrawal,
                markers: vec![],
                media: None,
                notes: None,
                turns: vec![],
            })
            .collect();
        let people = [
            ("P01", Some("CBT"), 3),
            ("P02", Some("CBT"), 12),
            ("P03", Some("psychodynamic"), 7),
            ("P04", Some("psychodynamic"), 2),
            ("P05", Some("humanistic"), 15),
            ("P06", Some("humanistic"), 8),
            ("P07", None, 4),
        ];
        for (code, orientation, years) in people {
            let mut attributes = BTreeMap::new();
            if let Some(o) = orientation {
                attributes.insert("orientation".to_string(), AttrValue::Text(o.into()));
            }
            attributes.insert("experience_years".to_string(), AttrValue::Integer(years));
            s.participants.push(Participant {
                code: key(code),
                status: ParticipantStatus::Completed,
                order: vec![],
                attributes,
            });
            for seg in ["S1", "S2", "S3"] {
                s.responses.push(Response {
                    key: rk(code, Some(seg), "Q1"),
                    answer: Answer::Text(format!("{code} on {seg}")),
                    created_at: None,
                    updated_at: None,
                });
            }
        }
        s.responses.push(Response {
            key: rk("P01", None, "Q2"),
            answer: Answer::Text("overall".into()),
            created_at: None,
            updated_at: None,
        });
        s.codes = [
            "Cause",
            "Cause/Patient",
            "Cause/Patient/Resistance",
            "Cause/Therapist",
            "Cause/Other",
            "Resolution",
            "Resolution/Relational",
        ]
        .iter()
        .map(|p| code(p))
        .collect();
        s.coders = vec![
            Coder {
                name: key(CONSENSUS),
            },
            Coder { name: key("ana") },
        ];
        let codings = [
            (CONSENSUS, "P01", "S1", "Cause/Patient/Resistance"),
            (CONSENSUS, "P01", "S1", "Cause/Therapist"),
            (CONSENSUS, "P01", "S2", "Cause/Patient"),
            (CONSENSUS, "P02", "S1", "Cause/Patient"),
            (CONSENSUS, "P03", "S3", "Cause/Therapist"),
            (CONSENSUS, "P04", "S1", "Cause/Patient/Resistance"),
            (CONSENSUS, "P04", "S1", "Resolution/Relational"),
            (CONSENSUS, "P05", "S2", "Resolution/Relational"),
            (CONSENSUS, "P07", "S1", "Cause/Patient"),
            ("ana", "P05", "S1", "Cause/Patient"),
        ];
        for (coder, p, seg, c) in codings {
            s.codings.push(Coding {
                coder: key(coder),
                response: rk(p, Some(seg), "Q1"),
                code: CodePath::parse(c).unwrap(),
                span: None,
                memo: None,
            });
        }
        s
    }

    fn by_orientation() -> CrosstabOptions {
        CrosstabOptions::new(GroupBy::Attribute {
            name: "orientation".into(),
            cuts: None,
        })
    }

    fn cells(row: &rupturelab_core::stats::CrosstabRow) -> Vec<(u64, u64)> {
        row.cells.iter().map(|c| (c.has, c.n)).collect()
    }

    #[test]
    fn participant_level_counts_each_participant_once() {
        let x = crosstab(&study(), &by_orientation()).unwrap();
        assert_eq!(x.layer, CONSENSUS);
        assert!(x.independent_groups);
        assert!(!x.within_participants);
        let groups: Vec<&str> = x.groups.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(groups, ["CBT", "psychodynamic", "humanistic"]);
        assert_eq!(x.empty_groups, ["systemic"]);
        assert_eq!(x.excluded, ["P07"]);
        let codes: Vec<&str> = x.rows.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "Cause/Patient",
                "Cause/Therapist",
                "Cause/Other",
                "Resolution/Relational"
            ]
        );
        // P01 has Cause/Patient in two answers (one via the sub-code Resistance): counted once.
        assert_eq!(cells(&x.rows[0]), [(2, 2), (1, 2), (0, 2)]);
        assert_eq!((x.rows[0].has, x.rows[0].n), (3, 6));
        assert!((x.rows[0].cells[0].pct - 100.0).abs() < 1e-12);
        assert_eq!(cells(&x.rows[1]), [(1, 2), (1, 2), (0, 2)]);
        assert_eq!(cells(&x.rows[3]), [(0, 2), (1, 2), (1, 2)]);
    }

    #[test]
    fn each_tested_code_gets_chi_square_exact_and_adjusted_p() {
        let x = crosstab(&study(), &by_orientation()).unwrap();
        let row = &x.rows[0];
        let table = row.table();
        assert_eq!(table, vec![vec![2, 0], vec![1, 1], vec![0, 2]]);
        let chi = row.chi_square.as_ref().unwrap();
        assert_eq!(chi, &chi_square_test(&table).unwrap());
        assert_eq!(chi.df, 2);
        assert!(chi.small_expected);
        let exact = row.exact.as_ref().unwrap();
        assert!(exact.is_exact());
        assert_eq!(
            exact.p_value,
            fisher_freeman_halton(&table, &x.exact_options)
                .unwrap()
                .p_value
        );
        // The code nobody has is not tested and not part of the families.
        let other = &x.rows[2];
        assert!(other.chi_square.is_none() && other.exact.is_none());
        assert!(other
            .skipped
            .as_deref()
            .unwrap()
            .contains("no participant has this code"));
        assert!(other.adjusted.exact.is_none());
        let tested: Vec<_> = x.rows.iter().filter(|r| r.exact.is_some()).collect();
        assert_eq!(tested.len(), 3);
        let min_p = tested
            .iter()
            .map(|r| r.exact.as_ref().unwrap().p_value)
            .fold(1.0, f64::min);
        for r in &tested {
            let p = r.exact.as_ref().unwrap().p_value;
            let adj = r.adjusted.exact.unwrap();
            assert!(adj.holm >= p && adj.bh >= p && adj.bh <= adj.holm + 1e-15 && adj.holm <= 1.0);
            if p == min_p {
                assert!(
                    (adj.holm - (3.0 * p).min(1.0)).abs() < 1e-12,
                    "smallest p is multiplied by m = 3"
                );
            }
            let chi = r.adjusted.chi_square.unwrap();
            assert!(chi.holm >= r.chi_square.as_ref().unwrap().p_value);
            assert!(r.within.is_none());
        }
        assert!(x
            .notes
            .iter()
            .any(|n| n.contains("each participant counts once")));
        assert!(x
            .notes
            .iter()
            .any(|n| n.contains("expected counts are below 5")));
    }

    #[test]
    fn response_level_says_responses_are_not_independent() {
        let opts = CrosstabOptions {
            unit: CountingUnit::Response,
            ..by_orientation()
        };
        let x = crosstab(&study(), &opts).unwrap();
        assert!(!x.independent_groups);
        // Not independent, but not a within-participant design either: χ² and FFH are the
        // tests (with the caveat), and there is no Cochran's Q.
        assert!(!x.within_participants);
        assert!(x
            .rows
            .iter()
            .any(|r| r.chi_square.is_some() && r.exact.is_some()));
        assert!(x.rows.iter().all(|r| r.within.is_none()));
        assert!(x.notes.iter().any(|n| n.contains("NOT independent")));
        // CBT: P01 (3 segment answers + 1 once-answer) and P02 (3): Cause/Patient in P01 S1, P01 S2, P02 S1.
        assert_eq!(cells(&x.rows[0]), [(3, 7), (1, 6), (0, 6)]);
    }

    #[test]
    fn numeric_attributes_are_banded_by_study_bands_or_user_cuts() {
        let by = |cuts| {
            CrosstabOptions::new(GroupBy::Attribute {
                name: "experience_years".into(),
                cuts,
            })
        };
        let x = crosstab(&study(), &by(None)).unwrap();
        let groups: Vec<(&str, u64)> = x.groups.iter().map(|g| (g.key.as_str(), g.n)).collect();
        assert_eq!(groups, [("0–4", 3), ("5–9", 2), ("10+", 2)]);
        assert!(x.by.contains("0–4, 5–9, 10+"));
        assert_eq!(cells(&x.rows[0]), [(3, 3), (0, 2), (1, 2)]);
        let x = crosstab(&study(), &by(Some(vec![10.0]))).unwrap();
        let groups: Vec<(&str, u64)> = x.groups.iter().map(|g| (g.key.as_str(), g.n)).collect();
        assert_eq!(groups, [("0–9", 5), ("10+", 2)]);
        assert_eq!(cells(&x.rows[0]), [(3, 5), (1, 2)]);
        assert!(matches!(
            crosstab(&study(), &by(Some(vec![10.0, 5.0]))),
            Err(StatsError::BadCuts { .. })
        ));
        assert!(matches!(
            crosstab(&study(), &by(Some(vec![]))),
            Err(StatsError::BadCuts { .. })
        ));
    }

    #[test]
    fn grouping_errors_explain_themselves() {
        let s = study();
        let attr = |name: &str, cuts| {
            CrosstabOptions::new(GroupBy::Attribute {
                name: name.into(),
                cuts,
            })
        };
        let e = crosstab(&s, &attr("orientaton", None)).unwrap_err();
        assert!(e.to_string().contains("did you mean `orientation`"), "{e}");
        assert!(matches!(
            crosstab(&s, &attr("orientation", Some(vec![1.0]))),
            Err(StatsError::CutsOnNonNumeric { .. })
        ));
        let e = crosstab(&s, &attr("age", None)).unwrap_err();
        assert!(matches!(e, StatsError::NoBands { .. }));
        assert!(e.to_string().contains("cut points"));
        let e = crosstab(
            &s,
            &CrosstabOptions {
                layer: "bob".into(),
                ..by_orientation()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("ana, consensus"), "{e}");
        let e = crosstab(
            &s,
            &CrosstabOptions {
                codes: CodeSelection::List(vec!["Cause/Patnt".into()]),
                ..by_orientation()
            },
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("did you mean `Cause/Patient`"),
            "{e}"
        );
        assert!(matches!(
            crosstab(
                &s,
                &CrosstabOptions {
                    codes: CodeSelection::Depth(4),
                    ..by_orientation()
                }
            ),
            Err(StatsError::NoCodes(_))
        ));
    }

    #[test]
    fn the_layer_is_a_parameter() {
        let x = crosstab(
            &study(),
            &CrosstabOptions {
                layer: "ana".into(),
                ..by_orientation()
            },
        )
        .unwrap();
        assert_eq!(x.layer, "ana");
        assert_eq!(cells(&x.rows[0]), [(0, 2), (0, 2), (1, 2)]);
        assert!(
            x.rows[1].skipped.is_some(),
            "ana never coded Cause/Therapist"
        );
    }

    #[test]
    fn code_selection_children_and_categories() {
        let opts = CrosstabOptions {
            codes: CodeSelection::ChildrenOf("Resolution".into()),
            ..by_orientation()
        };
        let x = crosstab(&study(), &opts).unwrap();
        assert_eq!(x.rows.len(), 1);
        assert_eq!(x.rows[0].code, "Resolution/Relational");
        let opts = CrosstabOptions {
            codes: CodeSelection::Depth(1),
            ..by_orientation()
        };
        let x = crosstab(&study(), &opts).unwrap();
        // A category counts all its sub-codes: P03 has Cause via Cause/Therapist.
        assert_eq!(cells(&x.rows[0]), [(2, 2), (2, 2), (0, 2)]);
    }

    #[test]
    fn by_segment_uses_a_within_participant_test() {
        let x = crosstab(&study(), &CrosstabOptions::new(GroupBy::Segment)).unwrap();
        assert!(!x.independent_groups);
        assert!(x.within_participants, "Cochran's Q is the test");
        assert_eq!(x.unit_description, "participant × segment");
        let groups: Vec<(&str, u64)> = x.groups.iter().map(|g| (g.key.as_str(), g.n)).collect();
        assert_eq!(groups, [("S1", 7), ("S2", 7), ("S3", 7)]);
        assert!(x.notes.iter().any(|n| n.contains("Cochran's Q")));
        assert!(x.notes.iter().any(|n| n.contains("asked once")));
        let row = &x.rows[0];
        assert_eq!(cells(row), [(4, 7), (1, 7), (0, 7)]);
        let within = row.within.as_ref().unwrap();
        assert_eq!((within.subjects, within.dropped_incomplete), (7, 0));
        // P01: S1, S2; P02, P04, P07: S1 only; others none.
        let data: Vec<Vec<bool>> = [
            [true, true, false],
            [true, false, false],
            [false, false, false],
            [true, false, false],
            [false, false, false],
            [false, false, false],
            [true, false, false],
        ]
        .iter()
        .map(|r| r.to_vec())
        .collect();
        assert_eq!(
            within.cochran_q.as_ref().unwrap(),
            &cochran_q(&data).unwrap()
        );
        assert!(within.mcnemar.is_none());
        assert!(row.adjusted.within.is_some());
    }

    #[test]
    fn by_patient_with_two_patients_adds_mcnemar() {
        let x = crosstab(&study(), &CrosstabOptions::new(GroupBy::Patient)).unwrap();
        let row = &x.rows[0];
        assert_eq!(cells(row), [(4, 7), (0, 7)]);
        let m = row.within.as_ref().unwrap().mcnemar.as_ref().unwrap();
        assert_eq!((m.b, m.c), (4, 0));
        assert!((m.exact_p - 2.0 / 16.0).abs() < 1e-12);
    }

    #[test]
    fn cooccurrence_counts_and_jaccard() {
        let c = cooccurrence(&study(), CONSENSUS, &CodeSelection::Depth(2)).unwrap();
        assert_eq!(c.responses, 22);
        let codes: Vec<(&str, u64, u64)> = c
            .codes
            .iter()
            .map(|i| (i.code.as_str(), i.responses, i.participants))
            .collect();
        assert_eq!(
            codes,
            [
                ("Cause/Patient", 5, 4),
                ("Cause/Therapist", 2, 2),
                ("Cause/Other", 0, 0),
                ("Resolution/Relational", 2, 2)
            ]
        );
        assert_eq!(c.counts[0][1], 1);
        assert_eq!(c.counts[1][0], 1);
        assert_eq!(c.pairs.len(), 6);
        let pair = |a: &str, b: &str| c.pairs.iter().find(|p| p.a == a && p.b == b).unwrap();
        let pt = pair("Cause/Patient", "Cause/Therapist");
        assert_eq!((pt.both, pt.either), (1, 6));
        assert!((pt.jaccard.unwrap() - 1.0 / 6.0).abs() < 1e-12);
        assert_eq!(pair("Cause/Patient", "Resolution/Relational").both, 1);
        assert_eq!(
            pair("Cause/Therapist", "Resolution/Relational").jaccard,
            Some(0.0)
        );
        assert_eq!(
            pair("Cause/Other", "Resolution/Relational").jaccard,
            Some(0.0)
        );
        let c3 = cooccurrence(&study(), CONSENSUS, &CodeSelection::Depth(3)).unwrap();
        assert_eq!(c3.counts, vec![vec![2]]);
        assert!(c3.pairs.is_empty());
    }

    #[test]
    fn segment_profile_counts_participants_and_responses() {
        let p = segment_profile(&study(), CONSENSUS, &CodeSelection::Depth(2)).unwrap();
        assert_eq!(p.segments.len(), 3);
        assert_eq!(
            (p.segments[0].participants, p.segments[0].responses),
            (7, 7)
        );
        assert_eq!(p.segments[2].patient, "B");
        let cell = |s: usize, c: usize| (p.cells[s][c].participants, p.cells[s][c].responses);
        assert_eq!(cell(0, 0), (4, 4));
        assert_eq!(cell(1, 0), (1, 1));
        assert_eq!(cell(1, 3), (1, 1));
        assert_eq!(cell(2, 1), (1, 1));
        assert!((p.cells[0][0].participants_pct - 400.0 / 7.0).abs() < 1e-12);
        assert_eq!(p.codes[0].participants, 4);
    }

    #[test]
    fn results_serialize_to_json() {
        let x = crosstab(&study(), &by_orientation()).unwrap();
        let v = serde_json::to_value(&x).unwrap();
        assert_eq!(v["rows"][0]["exact"]["method"]["kind"], "exact");
        assert_eq!(v["unit"], "participant");
    }
}
