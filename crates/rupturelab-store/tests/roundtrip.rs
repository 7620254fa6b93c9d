//! Folder → database → folder → database gives equal data, for random studies
//! full of awkward text (Unicode, emoji, commas, quotes, newlines).

use std::collections::BTreeMap;

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rupturelab_core::folder::{parse_folder, write_folder};
use rupturelab_core::*;
use rupturelab_store::db_test;
use rupturelab_store::testing::{set_backend, Backend, TestDb};

const WORDS: &[&str] = &[
    "rupture",
    "İstanbul",
    "ılık",
    "IŞIK",
    "şey",
    "ğ",
    "çok",
    "öz",
    "über",
    "naïve",
    "🙂",
    "👩‍⚕️",
    "\"quoted\"",
    "a,b",
    "x;y",
    "T:",
    "—",
    "can't",
    "50%",
    "<b>",
    "&amp;",
    "#hash",
    "[1]",
    "the",
    "patient",
    "withdraws",
    "=",
    "日本語",
];

fn words(rng: &mut StdRng, min: usize, max: usize) -> String {
    let n = rng.gen_range(min..=max);
    (0..n)
        .map(|_| *WORDS.choose(rng).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Multi-line text (answers, memos, descriptions).
fn para(rng: &mut StdRng) -> String {
    let mut s = words(rng, 1, 12);
    if rng.gen_bool(0.2) {
        s.push('\n');
        s.push_str(&words(rng, 1, 5));
    }
    if rng.gen_bool(0.1) {
        s = format!("  {s}");
    }
    s
}

fn key(rng: &mut StdRng, prefix: &str, i: usize) -> Key {
    let extra = ["", "İ", "ş", "-x", "_1", " b", "é"];
    Key::parse(&format!("{prefix}{i}{}", extra.choose(rng).unwrap())).unwrap()
}

fn opt_text(rng: &mut StdRng) -> Option<String> {
    rng.gen_bool(0.5).then(|| words(rng, 1, 6))
}

fn random_study(seed: u64) -> StudyData {
    let rng = &mut StdRng::seed_from_u64(seed);
    let mut s = StudyData::new(key(rng, "study", 1), &words(rng, 1, 4));
    s.meta.description = if rng.gen_bool(0.5) {
        para(rng)
    } else {
        String::new()
    };
    s.meta.language = if rng.gen_bool(0.5) {
        Language::En
    } else {
        Language::Tr
    };
    s.meta.synthetic = rng.gen_bool(0.5);
    s.settings.presentation_order = *[OrderMode::Fixed, OrderMode::Random, OrderMode::LatinSquare]
        .choose(rng)
        .unwrap();
    s.settings.agreement = rng.gen_bool(0.7);
    s.settings.agreement_threshold = rng.gen_range(0..=1000) as f64 / 1000.0;
    s.settings.consent_text = rng.gen_bool(0.5).then(|| para(rng));
    s.settings.welcome_text = opt_text(rng);
    s.settings.thanks_text = opt_text(rng);

    s.attributes.push(AttributeDef {
        name: Key::parse("orientation").unwrap(),
        label: "Orientation, primary".into(),
        kind: AttributeType::Category {
            values: vec!["CBT".into(), "Şema".into(), "a, b".into()],
        },
        bands: vec![],
        required: rng.gen_bool(0.5),
    });
    s.attributes.push(AttributeDef {
        name: Key::parse("years").unwrap(),
        label: "years".into(),
        kind: AttributeType::Integer {
            min: Some(0),
            max: Some(60),
        },
        bands: vec![5.0, 10.0, 20.0],
        required: false,
    });
    s.attributes.push(AttributeDef {
        name: Key::parse("score").unwrap(),
        label: "Score".into(),
        kind: AttributeType::Number {
            min: None,
            max: Some(1e6),
        },
        bands: vec![0.5, 2.25],
        required: false,
    });
    s.attributes.push(AttributeDef {
        name: Key::parse("note İ").unwrap(),
        label: "note İ".into(),
        kind: AttributeType::Text,
        bands: vec![],
        required: false,
    });
    s.attributes.push(AttributeDef {
        name: Key::parse("trained").unwrap(),
        label: "trained".into(),
        kind: AttributeType::Boolean,
        bands: vec![],
        required: false,
    });

    let nq = rng.gen_range(1..=4);
    for i in 0..nq {
        let kind = match rng.gen_range(0..3) {
            0 => QuestionKind::Open,
            1 => QuestionKind::Likert {
                min: 1,
                max: 5,
                anchors: if rng.gen_bool(0.5) {
                    BTreeMap::from([(1, "Low, very".to_string()), (5, "High".to_string())])
                } else {
                    BTreeMap::new()
                },
            },
            _ => QuestionKind::Choice {
                choices: vec!["Yes".into(), "No, never".into(), "İ".into()],
            },
        };
        let scope = if rng.gen_bool(0.75) {
            QuestionScope::Segment
        } else {
            QuestionScope::Once
        };
        s.questions.push(Question {
            key: key(rng, "Q", i),
            kind,
            scope,
            prompt: words(rng, 2, 8),
        });
    }
    // Make sure there is an open question for codings.
    s.questions[0].kind = QuestionKind::Open;

    for i in 0..rng.gen_range(1..=3) {
        s.patients.push(Patient {
            key: key(rng, "PT", i),
            description: if rng.gen_bool(0.5) {
                para(rng)
            } else {
                String::new()
            },
        });
    }
    for i in 0..rng.gen_range(1..=4) {
        let markers = (0..rng.gen_range(0..3))
            .map(|j| Marker {
                name: format!(
                    "Marker {j} {}",
                    ["İ", "ş", "and/or", "(x)"].choose(rng).unwrap()
                ),
                salience: rng
                    .gen_bool(0.7)
                    .then(|| Salience::new(rng.gen_range(1..=5)).unwrap()),
            })
            .collect();
        let media = rng.gen_bool(0.5).then(|| {
            let timed = rng.gen_bool(0.5);
            let a = rng.gen_range(0..4_000_000);
            Media {
                reference: format!("sessions/s{i}.mp4"),
                start_ms: timed.then_some(a),
                end_ms: timed.then_some(a + rng.gen_range(0..400_000)),
            }
        });
        let turns = (0..rng.gen_range(0..6))
            .map(|_| {
                let timed = rng.gen_bool(0.3);
                let a = rng.gen_range(0..1_000_000);
                Turn {
                    speaker: ["T", "P", "Danışan", "Therapist 2"]
                        .choose(rng)
                        .unwrap()
                        .to_string(),
                    text: words(rng, 1, 10),
                    start_ms: timed.then_some(a),
                    end_ms: timed.then_some(a + 1500),
                }
            })
            .collect();
        s.segments.push(Segment {
            key: key(rng, "S", i),
            label: words(rng, 1, 4),
            patient: s.patients.choose(rng).unwrap().key.clone(),
            session: rng.gen_bool(0.7).then(|| rng.gen_range(1..40)),
            rupture: *[
                RuptureType::Withdrawal,
                RuptureType::Confrontation,
                RuptureType::Both,
                RuptureType::Unspecified,
            ]
            .choose(rng)
            .unwrap(),
            markers,
            media,
            notes: opt_text(rng),
            turns,
        });
    }

    for i in 0..rng.gen_range(0..6) {
        let mut order: Vec<Key> = s.segments.iter().map(|x| x.key.clone()).collect();
        order.shuffle(rng);
        order.truncate(rng.gen_range(0..=order.len()));
        let mut attributes = BTreeMap::new();
        attributes.insert(
            "orientation".into(),
            AttrValue::Text(["CBT", "Şema", "a, b"].choose(rng).unwrap().to_string()),
        );
        if rng.gen_bool(0.7) {
            attributes.insert("years".into(), AttrValue::Integer(rng.gen_range(0..=60)));
        }
        if rng.gen_bool(0.7) {
            attributes.insert(
                "score".into(),
                AttrValue::Number(rng.gen_range(-1000..1000) as f64 / 7.0),
            );
        }
        if rng.gen_bool(0.5) {
            attributes.insert("note İ".into(), AttrValue::Text(words(rng, 1, 3)));
        }
        if rng.gen_bool(0.5) {
            attributes.insert("trained".into(), AttrValue::Bool(rng.gen_bool(0.5)));
        }
        s.participants.push(Participant {
            code: key(rng, "P", i),
            status: *[
                ParticipantStatus::Invited,
                ParticipantStatus::Started,
                ParticipantStatus::Completed,
            ]
            .choose(rng)
            .unwrap(),
            order,
            attributes,
        });
    }

    for p in &s.participants {
        for q in &s.questions {
            let segs: Vec<Option<Key>> = match q.scope {
                QuestionScope::Once => vec![None],
                QuestionScope::Segment => s.segments.iter().map(|x| Some(x.key.clone())).collect(),
            };
            for seg in segs {
                if rng.gen_bool(0.3) {
                    continue;
                }
                let answer = match &q.kind {
                    QuestionKind::Open => Answer::Text(if rng.gen_bool(0.05) {
                        String::new()
                    } else {
                        para(rng)
                    }),
                    QuestionKind::Likert { min, max, .. } => {
                        Answer::Rating(rng.gen_range(*min..=*max))
                    }
                    QuestionKind::Choice { choices } => {
                        Answer::Choice(choices.choose(rng).unwrap().clone())
                    }
                };
                let created = rng
                    .gen_bool(0.5)
                    .then(|| Timestamp(rng.gen_range(1_500_000_000_000..1_900_000_000_000)));
                s.responses.push(Response {
                    key: ResponseKey {
                        participant: p.code.clone(),
                        segment: seg,
                        question: q.key.clone(),
                    },
                    answer,
                    created_at: created,
                    updated_at: created.map(|t| Timestamp(t.0 + rng.gen_range(0..100_000))),
                });
            }
        }
    }
    s.responses.shuffle(rng);

    for i in 0..rng.gen_range(1..=3) {
        let cat = CodePath::parse(&format!("Cat{i}")).unwrap();
        s.codes.push(Code {
            path: cat.clone(),
            name: words(rng, 1, 3),
            codable: rng.gen_bool(0.3),
            definition: opt_text(rng),
            inclusion: None,
            exclusion: None,
            example: None,
            colour: None,
        });
        for j in 0..rng.gen_range(0..=3) {
            let theme = CodePath::parse(&format!("{cat}/Theme {j}İ")).unwrap();
            s.codes.push(Code {
                path: theme.clone(),
                name: words(rng, 1, 3),
                codable: true,
                definition: opt_text(rng).map(|d| format!("{d}\nsecond line")),
                inclusion: opt_text(rng),
                exclusion: opt_text(rng),
                example: opt_text(rng),
                colour: rng
                    .gen_bool(0.5)
                    .then(|| format!("#{:06X}", rng.gen_range(0..0xFFFFFF))),
            });
            for k in 0..rng.gen_range(0..=2) {
                s.codes.push(Code {
                    path: CodePath::parse(&format!("{theme}/Sub{k}")).unwrap(),
                    name: format!("Sub {k}"),
                    codable: true,
                    definition: None,
                    inclusion: None,
                    exclusion: None,
                    example: None,
                    colour: None,
                });
            }
        }
    }

    s.coders = vec![
        Coder {
            name: Key::parse("Ayla").unwrap(),
        },
        Coder {
            name: Key::parse("Burak Ş").unwrap(),
        },
        Coder {
            name: Key::parse(CONSENSUS).unwrap(),
        },
    ];
    s.coders.truncate(rng.gen_range(0..=3));
    let codable: Vec<CodePath> = s
        .codes
        .iter()
        .filter(|c| c.codable)
        .map(|c| c.path.clone())
        .collect();
    let texts: Vec<(ResponseKey, usize)> = s
        .responses
        .iter()
        .filter_map(|r| r.answer.text().map(|t| (r.key.clone(), t.chars().count())))
        .collect();
    if !s.coders.is_empty() && !codable.is_empty() && !texts.is_empty() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..rng.gen_range(0..30) {
            let (rk, len) = texts.choose(rng).unwrap().clone();
            let span = if len > 0 && rng.gen_bool(0.8) {
                let a = rng.gen_range(0..len);
                Some(Span {
                    start: a,
                    end: rng.gen_range(a + 1..=len),
                })
            } else {
                None
            };
            let c = Coding {
                coder: s.coders.choose(rng).unwrap().name.clone(),
                response: rk,
                code: codable.choose(rng).unwrap().clone(),
                span,
                memo: rng.gen_bool(0.2).then(|| para(rng)),
            };
            if seen.insert((c.coder.clone(), c.response.clone(), c.code.clone(), c.span)) {
                s.codings.push(c);
            }
        }
    }
    if let Some(r) = s.responses.first() {
        s.memos.push(Memo {
            author: "Ayla".into(),
            target: MemoTarget::Response(r.key.clone()),
            text: para(rng),
            created_at: None,
        });
    }
    s.memos.push(Memo {
        author: "PI, İ".into(),
        target: MemoTarget::Study,
        text: para(rng),
        created_at: Some(Timestamp(1_700_000_000_123)),
    });
    if let Some(c) = s.codes.first() {
        s.memos.push(Memo {
            author: "x".into(),
            target: MemoTarget::Code(c.path.clone()),
            text: "n".into(),
            created_at: None,
        });
    }
    s.audit.push(AuditEvent {
        at: Timestamp(1_700_000_000_000),
        actor: "cli:ayla".into(),
        action: "import".into(),
        entity: "study".into(),
        detail: "from folder \"x, y\"\nline 2".into(),
    });
    s
}

async fn through_db(study: &StudyData) -> StudyData {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("t.rupturelab")).await;
    let store = db.open().await.unwrap();
    let id = store.create_study(study).await.unwrap();
    let back = store.load_study(id).await.unwrap();
    store.close().await;
    back
}

fn roundtrip(seed: u64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let original = random_study(seed);
    let folder1 = write_folder(&original);
    let parsed1 = parse_folder(&folder1).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    // The folder keeps everything: what is written reads back as the same study.
    assert_eq!(
        parsed1, original,
        "seed {seed}: folder round trip changed the data"
    );
    let db1 = rt.block_on(through_db(&parsed1));
    assert_eq!(
        db1, original,
        "seed {seed}: database round trip changed the data"
    );
    let folder2 = write_folder(&db1);
    assert_eq!(
        folder2, folder1,
        "seed {seed}: the second export differs from the first"
    );
    let db2 = rt.block_on(through_db(&parse_folder(&folder2).unwrap()));
    assert_eq!(db2, db1, "seed {seed}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn folder_db_folder_db_round_trip_is_lossless(seed in any::<u64>()) {
        set_backend(Backend::Sqlite);
        roundtrip(seed);
    }
}

// The same property on PostgreSQL (fewer cases: each one creates two databases).
proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    #[cfg_attr(not(rupturelab_test_pg), ignore = "RUPTURELAB_TEST_PG was not set when the tests were built; scripts/test sets it")]
    fn folder_db_folder_db_round_trip_is_lossless_on_postgres(seed in any::<u64>()) {
        set_backend(Backend::Postgres);
        roundtrip(seed);
    }
}

db_test! {
#[test]
fn example_study_round_trips_through_folder_and_db() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/rupture-study");
    let mut files = rupturelab_core::folder::FolderFiles::new();
    for entry in walk(std::path::Path::new(dir)) {
        let rel = entry
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .trim_start_matches('/')
            .to_string();
        if rupturelab_core::folder::is_study_file(&rel) {
            files.insert(rel, std::fs::read(&entry).unwrap());
        }
    }
    let study = parse_folder(&files).unwrap();
    assert_eq!(study.responses.len(), 360);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = rt.block_on(through_db(&study));
    assert_eq!(db, study);
    let again = parse_folder(&write_folder(&db)).unwrap();
    assert_eq!(again, study);
}
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

db_test! {
#[test]
fn a_large_study_is_written_in_batches_and_reads_back_whole() {
    // 300 participants × 20 segments × 1 question = 6,000 responses: many multi-row statements.
    let mut s = StudyData::new(Key::parse("big").unwrap(), "big");
    s.questions.push(Question {
        key: Key::parse("Q1").unwrap(),
        kind: QuestionKind::Open,
        scope: QuestionScope::Segment,
        prompt: "?".into(),
    });
    s.patients.push(Patient {
        key: Key::parse("PT").unwrap(),
        description: String::new(),
    });
    s.attributes.push(AttributeDef {
        name: Key::parse("years").unwrap(),
        label: "years".into(),
        kind: AttributeType::Integer {
            min: None,
            max: None,
        },
        bands: vec![],
        required: false,
    });
    for i in 0..20 {
        s.segments.push(Segment {
            key: Key::parse(&format!("S{i}")).unwrap(),
            label: "x".into(),
            patient: Key::parse("PT").unwrap(),
            session: None,
            rupture: RuptureType::Both,
            markers: vec![],
            media: None,
            notes: None,
            turns: vec![],
        });
    }
    s.codes.push(Code {
        path: CodePath::parse("C").unwrap(),
        name: "C".into(),
        codable: true,
        definition: None,
        inclusion: None,
        exclusion: None,
        example: None,
        colour: None,
    });
    s.coders.push(Coder {
        name: Key::parse("A").unwrap(),
    });
    for p in 0..300 {
        let code = Key::parse(&format!("P{p}")).unwrap();
        s.participants.push(Participant {
            code: code.clone(),
            status: ParticipantStatus::Completed,
            order: s.segments.iter().map(|x| x.key.clone()).collect(),
            attributes: BTreeMap::from([("years".to_string(), AttrValue::Integer(p))]),
        });
        for seg in 0..20 {
            let key = ResponseKey {
                participant: code.clone(),
                segment: Some(Key::parse(&format!("S{seg}")).unwrap()),
                question: Key::parse("Q1").unwrap(),
            };
            s.responses.push(Response {
                key: key.clone(),
                answer: Answer::Text(format!("answer {p} {seg}")),
                created_at: None,
                updated_at: None,
            });
            s.codings.push(Coding {
                coder: Key::parse("A").unwrap(),
                response: key,
                code: CodePath::parse("C").unwrap(),
                span: Some(Span { start: 0, end: 6 }),
                memo: None,
            });
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let back = rt.block_on(through_db(&s));
    assert_eq!(back.responses.len(), 6000);
    assert_eq!(back, s);
}
}
