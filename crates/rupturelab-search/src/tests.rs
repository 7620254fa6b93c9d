//! Index tests: build, search, staleness, reopening.

use rupturelab_core::{Answer, Key, Language, Response, ResponseKey, Segment, StudyData, Turn};

use super::*;

fn k(s: &str) -> Key {
    Key::parse(s).unwrap()
}

fn study(key: &str, language: Language, answers: &[(&str, &str)]) -> StudyData {
    let mut s = StudyData::new(k(key), "t");
    s.meta.language = language;
    for (p, text) in answers {
        s.responses.push(Response {
            key: ResponseKey {
                participant: k(p),
                segment: Some(k("S1")),
                question: k("Q1"),
            },
            answer: Answer::Text(text.to_string()),
            created_at: None,
            updated_at: None,
        });
    }
    s.segments.push(Segment {
        key: k("S1"),
        label: String::new(),
        patient: k("A"),
        session: None,
        rupture: rupturelab_core::RuptureType::parse("withdrawal").unwrap(),
        markers: vec![],
        media: None,
        notes: None,
        turns: vec![
            Turn {
                speaker: "T".into(),
                text: "You seem far away today.".into(),
                start_ms: None,
                end_ms: None,
            },
            Turn {
                speaker: "P".into(),
                text: "I felt judged by you last week.".into(),
                start_ms: None,
                end_ms: None,
            },
        ],
    });
    s
}

#[test]
fn finds_responses_and_turns_with_spans_and_keys() {
    let idx = SearchIndex::in_memory().unwrap();
    let s = study(
        "s1",
        Language::En,
        &[
            ("P01", "The patient felt judged."),
            ("P02", "Nothing here."),
        ],
    );
    let stats = idx.index_study(&s, "fp1").unwrap();
    assert_eq!(
        stats,
        IndexStats {
            responses: 2,
            turns: 2
        }
    );
    assert_eq!(idx.fingerprint("s1").unwrap().as_deref(), Some("fp1"));
    let hits = search(&idx, &s, "\"feel judged\"", 50).unwrap();
    // "felt" does not stem to "feel": the phrase needs the same stems.
    assert!(hits.is_empty());
    let mut hits = search(&idx, &s, "judging", 50).unwrap();
    hits.sort_by(|a, b| a.target.cmp(&b.target));
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert_eq!(
        hits[0].target,
        Target::Response {
            participant: k("P01"),
            segment: Some(k("S1")),
            question: k("Q1")
        }
    );
    assert_eq!(hits[0].spans, vec![(17, 23)]);
    assert_eq!(
        hits[1].target,
        Target::Turn {
            segment: k("S1"),
            turn: 1
        }
    );
    assert_eq!(hits[1].speaker.as_deref(), Some("P"));
    let hits = search(&idx, &s, "\"felt judged\" pat*", 50).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].spans, vec![(4, 11), (12, 23)]);
}

#[test]
fn turkish_study_folds_before_indexing() {
    let idx = SearchIndex::in_memory().unwrap();
    let s = study(
        "tr1",
        Language::Tr,
        &[("P01", "İSTANBUL'da terapistime kızdım."), ("P02", "ISLAK")],
    );
    idx.index_study(&s, "x").unwrap();
    let hits = search(&idx, &s, "istanbul", 10).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].spans, vec![(0, 8)]);
    // Dotless: "ıslak" matches ISLAK, "islak" does not.
    assert_eq!(search(&idx, &s, "ıslak", 10).unwrap().len(), 1);
    assert_eq!(search(&idx, &s, "islak", 10).unwrap().len(), 0);
    assert_eq!(search(&idx, &s, "kız*", 10).unwrap().len(), 1);
}

#[test]
fn studies_are_separate_and_a_stale_index_never_shows_old_text() {
    let idx = SearchIndex::in_memory().unwrap();
    let a = study("a", Language::En, &[("P01", "angry at the therapist")]);
    let b = study("b", Language::En, &[("P01", "angry too")]);
    idx.index_study(&a, "1").unwrap();
    idx.index_study(&b, "1").unwrap();
    assert_eq!(search(&idx, &a, "angry", 10).unwrap().len(), 1);
    // The answer changed after indexing: the hit is dropped, not shown with old text.
    let mut changed = a.clone();
    changed.responses[0].answer = Answer::Text("calm now".into());
    assert!(search(&idx, &changed, "angry", 10).unwrap().is_empty());
    // Removing a response: gone from results even before reindexing.
    let mut removed = a.clone();
    removed.responses.clear();
    assert!(search(&idx, &removed, "angry", 10).unwrap().is_empty());
    // Reindexing replaces the study's documents only.
    idx.index_study(&changed, "2").unwrap();
    assert_eq!(search(&idx, &changed, "calm", 10).unwrap().len(), 1);
    assert_eq!(search(&idx, &b, "angry", 10).unwrap().len(), 1);
    idx.remove_study("b").unwrap();
    assert!(search(&idx, &b, "angry", 10).unwrap().is_empty());
    assert_eq!(idx.fingerprint("b").unwrap(), None);
}

#[test]
fn an_index_directory_survives_reopening_and_is_locked_while_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.rupturelab.index");
    let s = study("s", Language::En, &[("P01", "withdrawal and silence")]);
    {
        let idx = SearchIndex::open(&path).unwrap();
        idx.index_study(&s, "fp").unwrap();
        assert!(matches!(
            SearchIndex::open(&path),
            Err(SearchError::Busy(_))
        ));
    }
    let idx = SearchIndex::open(&path).unwrap();
    assert_eq!(idx.fingerprint("s").unwrap().as_deref(), Some("fp"));
    assert_eq!(search(&idx, &s, "silenc*", 10).unwrap().len(), 1);
    // A directory that is not an index is replaced.
    let junk = dir.path().join("junk.index");
    std::fs::create_dir_all(&junk).unwrap();
    std::fs::write(junk.join("x"), b"not an index").unwrap();
    let idx = SearchIndex::open(&junk).unwrap();
    assert_eq!(idx.fingerprint("s").unwrap(), None);
}

#[test]
fn index_dir_sits_beside_the_database_file() {
    assert_eq!(
        index_dir_for("data/study.rupturelab"),
        Some(std::path::PathBuf::from("data/study.rupturelab.index"))
    );
    assert_eq!(
        index_dir_for("sqlite://x.db?mode=rwc"),
        Some(std::path::PathBuf::from("x.db.index"))
    );
    assert_eq!(index_dir_for(":memory:"), None);
    assert_eq!(index_dir_for("sqlite::memory:"), None);
}

#[test]
fn bad_queries_are_reported() {
    let idx = SearchIndex::in_memory().unwrap();
    let s = study("s", Language::En, &[]);
    let e = search(&idx, &s, "  ", 10).unwrap_err();
    assert!(e.to_string().contains("no words"), "{e}");
}
