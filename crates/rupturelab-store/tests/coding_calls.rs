//! The coding calls on a real SQLite file: codings as rows guarded by a
//! version (stale edits refused), audit events in the same transaction,
//! undo/redo surviving a reopen, memos, the queue, blind mode, assignments.

use rupturelab_core::*;
use rupturelab_store::coding::UNDO_DEPTH;
use rupturelab_store::db_test;
use rupturelab_store::testing::TestDb;
use rupturelab_store::*;

fn example() -> StudyData {
    rupturelab_store::testing::example_study("rupture-study")
}

fn k(s: &str) -> Key {
    Key::parse(s).unwrap()
}

fn path(s: &str) -> CodePath {
    CodePath::parse(s).unwrap()
}

/// A fresh database of the test's backend (kept alive by the first value).
async fn setup() -> ((tempfile::TempDir, TestDb), Box<dyn Store>, StudyId) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("t.db")).await;
    let store = db.open().await.unwrap();
    let id = store.create_study(&example()).await.unwrap();
    ((dir, db), store, id)
}

async fn first_open(store: &dyn Store, id: StudyId) -> QueueItem {
    store
        .coding_queue(id, &k("zeynep"), &QueueFilter::default())
        .await
        .unwrap()
        .remove(0)
}

fn new(resp: ResponseId, code: &str, span: Option<(usize, usize)>) -> NewCoding {
    NewCoding {
        coder: k("zeynep"),
        response: resp,
        code: path(code),
        span: span.map(|(start, end)| Span { start, end }),
        memo: None,
    }
}

db_test! {
#[tokio::test]
async fn codings_are_rows_with_versions_and_stale_edits_conflict() {
    let (_d, store, id) = setup().await;
    let item = first_open(store.as_ref(), id).await;
    assert_eq!(item.key.to_string(), "P01/S1/Q1");
    assert_eq!(store.coding_codebook(id).await.unwrap(), example().codes);
    let audit_before = store.load_study(id).await.unwrap().audit.len();

    let c = store
        .add_coding(
            id,
            &new(item.id, "Cause/Patient/Resistance", Some((4, 9))),
            "zeynep",
        )
        .await
        .unwrap();
    assert_eq!((c.version, c.coder.as_str()), (1, "zeynep"));
    // The same code on the same span twice is a conflict, not a second row.
    assert!(matches!(
        store
            .add_coding(
                id,
                &new(item.id, "Cause/Patient/Resistance", Some((4, 9))),
                "zeynep"
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    // A category, an unknown code, a span past the end: refused with the field named.
    for (code, span) in [
        ("Cause", Some((0, 3))),
        ("Cause/Nope", None),
        ("Cause/Patient/Pathology", Some((3, 100_000))),
        ("Cause/Patient/Pathology", Some((5, 5))),
    ] {
        match store
            .add_coding(id, &new(item.id, code, span), "zeynep")
            .await
        {
            Err(StoreError::Invalid(m)) => {
                assert!(m.starts_with("code") || m.starts_with("span"), "{m}")
            }
            other => panic!("{code} {span:?}: {other:?}"),
        }
    }

    let change = CodingChange {
        code: Some(path("Cause/Patient/Pathology")),
        ..Default::default()
    };
    let c2 = store
        .update_coding(id, c.id, 1, &change, "zeynep")
        .await
        .unwrap();
    assert_eq!(
        (c2.version, c2.code.as_str()),
        (2, "Cause/Patient/Pathology")
    );
    // A second client that still holds version 1 is refused, and nothing changes.
    let stale = CodingChange {
        span: Some(None),
        ..Default::default()
    };
    match store.update_coding(id, c.id, 1, &stale, "other-tab").await {
        Err(StoreError::Conflict(m)) => {
            assert!(m.contains("version 2") && m.contains("reload"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        store.delete_coding(id, c.id, 1, "x").await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.coding(id, c.id).await.unwrap().unwrap(), c2);
    let gone = store.delete_coding(id, c.id, 2, "zeynep").await.unwrap();
    assert_eq!(gone.id, c.id);
    assert!(matches!(
        store.delete_coding(id, c.id, 2, "zeynep").await,
        Err(StoreError::NotFound(_))
    ));

    let s = store.load_study(id).await.unwrap();
    let actions: Vec<&str> = s.audit[audit_before..]
        .iter()
        .map(|a| a.action.as_str())
        .collect();
    assert_eq!(actions, ["coding.add", "coding.update", "coding.delete"]);
    let add = &s.audit[audit_before];
    assert_eq!(add.entity, format!("coding {} on P01/S1/Q1", c.id.0));
    assert!(
        add.detail
            .contains("(none) → Cause/Patient/Resistance [4, 9)"),
        "{}",
        add.detail
    );
    assert!(s.audit[audit_before + 1]
        .detail
        .contains("Resistance [4, 9) → Cause/Patient/Pathology [4, 9)"));
    store.close().await;
}
}

db_test! {
#[tokio::test]
async fn undo_and_redo_walk_sixty_steps_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("t.db")).await;
    let store = db.open().await.unwrap();
    let id = store.create_study(&example()).await.unwrap();
    let item = first_open(store.as_ref(), id).await;
    let mut last = None;
    for i in 0..60usize {
        last = Some(
            store
                .add_coding(
                    id,
                    &new(item.id, "Cause/Patient/Resistance", Some((i, i + 1))),
                    "zeynep",
                )
                .await
                .unwrap(),
        );
    }
    let last = last.unwrap();
    store
        .update_coding(
            id,
            last.id,
            1,
            &CodingChange {
                memo: Some(Some("kaçınma".into())),
                ..Default::default()
            },
            "zeynep",
        )
        .await
        .unwrap();
    store.delete_coding(id, last.id, 2, "zeynep").await.unwrap();
    store.close().await;

    let store = db.open().await.unwrap();
    let mine = |v: Vec<StoredCoding>| {
        v.into_iter()
            .filter(|c| c.coder.as_str() == "zeynep")
            .collect::<Vec<_>>()
    };
    assert_eq!(
        mine(store.response_codings(id, item.id).await.unwrap()).len(),
        59
    );
    assert_eq!(store.undo_depth(id, &k("zeynep")).await.unwrap(), (62, 0));
    // Undo the delete: the coding comes back with its memo.
    let u = store
        .undo_coding(id, &k("zeynep"), "zeynep")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.action, "coding.delete");
    let back = u.coding.unwrap();
    assert_eq!(back.memo.as_deref(), Some("kaçınma"));
    // Undo the memo change, then the add (the log follows the restored row's new id).
    let u = store
        .undo_coding(id, &k("zeynep"), "zeynep")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (u.action.as_str(), u.coding.as_ref().unwrap().memo.clone()),
        ("coding.update", None)
    );
    for _ in 0..55 {
        let u = store
            .undo_coding(id, &k("zeynep"), "zeynep")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(u.action, "coding.add");
        assert!(u.coding.is_none());
    }
    assert_eq!(
        mine(store.response_codings(id, item.id).await.unwrap()).len(),
        5
    );
    assert_eq!(store.undo_depth(id, &k("zeynep")).await.unwrap(), (5, 57));
    for _ in 0..3 {
        store
            .redo_coding(id, &k("zeynep"), "zeynep")
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(
        mine(store.response_codings(id, item.id).await.unwrap()).len(),
        8
    );
    // A new action clears the redo stack.
    store
        .add_coding(id, &new(item.id, "Cause/Patient/Pathology", None), "zeynep")
        .await
        .unwrap();
    assert_eq!(store.undo_depth(id, &k("zeynep")).await.unwrap(), (9, 0));
    assert!(store
        .redo_coding(id, &k("zeynep"), "zeynep")
        .await
        .unwrap()
        .is_none());
    let s = store.load_study(id).await.unwrap();
    assert!(s.audit.iter().any(|a| a.action == "coding.undo"));
    assert!(s.audit.iter().any(|a| a.action == "coding.redo"));
    store.close().await;
}
}

db_test! {
#[tokio::test]
async fn undo_refuses_when_the_coding_changed_outside_the_coders_log() {
    let (_d, store, id) = setup().await;
    let item = first_open(store.as_ref(), id).await;
    let c = store
        .add_coding(
            id,
            &new(item.id, "Cause/Patient/Resistance", None),
            "zeynep",
        )
        .await
        .unwrap();
    // Another writer changes the row without a step in zeynep's log.
    let sql = "UPDATE codings SET memo = 'edited elsewhere', version = version + 1 WHERE id = $1";
    match store.pool() {
        DbPool::Sqlite(pool) => {
            sqlx::query(sql).bind(c.id.0).execute(&pool).await.unwrap();
        }
        DbPool::Postgres(pool) => {
            sqlx::query(sql).bind(c.id.0).execute(&pool).await.unwrap();
        }
    }
    match store.undo_coding(id, &k("zeynep"), "zeynep").await {
        Err(StoreError::Conflict(m)) => assert!(m.contains("changed since"), "{m}"),
        other => panic!("{other:?}"),
    }
    // Nothing was undone, and the step is still there.
    assert!(store.coding(id, c.id).await.unwrap().is_some());
    assert_eq!(store.undo_depth(id, &k("zeynep")).await.unwrap(), (1, 0));
    store.close().await;
}
}

db_test! {
#[tokio::test]
async fn memos_on_responses_and_codes_are_per_author_and_audited() {
    let (_d, store, id) = setup().await;
    let item = first_open(store.as_ref(), id).await;
    let on = MemoOn::Response(item.id);
    store
        .set_memo(id, &on, "zeynep", "  ilk düşünce ")
        .await
        .unwrap();
    store
        .set_memo(id, &on, "zeynep", "İkinci düşünce")
        .await
        .unwrap();
    store.set_memo(id, &on, "ayla", "other view").await.unwrap();
    let memos = store.memos_on(id, &on).await.unwrap();
    let texts: Vec<(&str, &str)> = memos
        .iter()
        .map(|m| (m.author.as_str(), m.text.as_str()))
        .collect();
    assert_eq!(
        texts,
        [("zeynep", "İkinci düşünce"), ("ayla", "other view")]
    );
    let code = MemoOn::Code(path("Cause/Patient/Resistance"));
    store
        .set_memo(id, &code, "zeynep", "boundary with Pathology?")
        .await
        .unwrap();
    assert_eq!(store.code_memos(id).await.unwrap().len(), 1);
    store.set_memo(id, &code, "zeynep", "").await.unwrap();
    assert!(store.code_memos(id).await.unwrap().is_empty());
    assert!(matches!(
        store
            .set_memo(id, &MemoOn::Code(path("Nope")), "zeynep", "x")
            .await,
        Err(StoreError::Invalid(_))
    ));
    let s = store.load_study(id).await.unwrap();
    let memo_events: Vec<&AuditEvent> = s.audit.iter().filter(|a| a.action == "memo.set").collect();
    assert_eq!(memo_events.len(), 5);
    assert_eq!(memo_events[1].detail, "“ilk düşünce” → “İkinci düşünce”");
    store.close().await;
}
}

db_test! {
#[tokio::test]
async fn queue_filters_disputes_blind_mode_and_seeded_assignments() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("t.db")).await;
    let store = db.open().await.unwrap();
    let mut study = example();
    study.codings.clear();
    let id = store.create_study(&study).await.unwrap();
    let all = store
        .coding_queue(id, &k("zeynep"), &QueueFilter::default())
        .await
        .unwrap();
    // The example's open answers with text (Q1, Q2 per segment, and PT1…).
    assert!(all.len() > 100, "{}", all.len());
    assert!(all.iter().all(|i| !i.coded_by_me));
    let q1 = store
        .coding_queue(
            id,
            &k("zeynep"),
            &QueueFilter {
                segment: Some(Some(k("S2"))),
                question: Some(k("Q1")),
                attribute: Some(("orientation".into(), "CBT".into())),
            },
        )
        .await
        .unwrap();
    assert!(!q1.is_empty());
    assert!(q1
        .iter()
        .all(|i| i.key.segment == Some(k("S2")) && i.key.question == k("Q1")));
    let s = store.load_study(id).await.unwrap();
    for i in &q1 {
        let p = s
            .participants
            .iter()
            .find(|p| p.code == i.key.participant)
            .unwrap();
        assert_eq!(p.attributes["orientation"].to_string(), "CBT");
    }
    let once = store
        .coding_queue(
            id,
            &k("zeynep"),
            &QueueFilter {
                segment: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(once.iter().all(|i| i.key.segment.is_none()));

    // Two coders disagreeing on a response make it disputed until consensus exists.
    let r = all
        .iter()
        .find(|i| i.coders.is_empty() && !i.has_consensus && !i.disputed)
        .expect("an uncoded response")
        .id;
    let mut a = new(r, "Cause/Patient/Resistance", None);
    store.add_coding(id, &a, "zeynep").await.unwrap();
    a.coder = k("mert");
    a.code = path("Cause/Patient/Pathology");
    store.add_coding(id, &a, "mert").await.unwrap();
    let item = |v: Vec<QueueItem>| v.into_iter().find(|i| i.id == r).unwrap();
    let it = item(
        store
            .coding_queue(id, &k("zeynep"), &QueueFilter::default())
            .await
            .unwrap(),
    );
    assert!(it.coded_by_me);
    assert!(it.coders.contains(&k("mert")) && it.coders.contains(&k("zeynep")));
    assert!(it.disputed);
    a.coder = k(CONSENSUS);
    store.add_coding(id, &a, "researcher").await.unwrap();
    let it = item(
        store
            .coding_queue(id, &k("zeynep"), &QueueFilter::default())
            .await
            .unwrap(),
    );
    assert!(!it.disputed && it.has_consensus);

    // Blind by default; the researcher unblinds (audited).
    assert!(store.coding_setup(id).await.unwrap().blind);
    store.set_blind(id, false, "researcher").await.unwrap();
    assert!(!store.coding_setup(id).await.unwrap().blind);
    assert!(!store.coding_blind(id).await.unwrap());

    // A 20% share with a seed: reproducible, and the queue shows only it.
    let n = store
        .set_assignment(
            id,
            &k("mert"),
            Assignment::Share {
                percent: 20.0,
                seed: 7,
            },
            "researcher",
        )
        .await
        .unwrap();
    assert_eq!(n as usize, (all.len() as f64 * 0.2).ceil() as usize);
    let mine = store
        .coding_queue(id, &k("mert"), &QueueFilter::default())
        .await
        .unwrap();
    assert_eq!(mine.len() as i64, n);
    store
        .set_assignment(
            id,
            &k("ece"),
            Assignment::Share {
                percent: 20.0,
                seed: 7,
            },
            "researcher",
        )
        .await
        .unwrap();
    let hers = store
        .coding_queue(id, &k("ece"), &QueueFilter::default())
        .await
        .unwrap();
    assert_eq!(
        mine.iter().map(|i| i.id).collect::<Vec<_>>(),
        hers.iter().map(|i| i.id).collect::<Vec<_>>()
    );
    let setup = store.coding_setup(id).await.unwrap();
    let mert = setup
        .coders
        .iter()
        .find(|c| c.name.as_str() == "mert")
        .unwrap();
    assert_eq!(
        mert.assignment,
        Assignment::Share {
            percent: 20.0,
            seed: 7
        }
    );
    assert_eq!(mert.assigned, n);
    assert!(setup.coders.iter().all(|c| c.name.as_str() != CONSENSUS));
    assert!(matches!(
        store
            .set_assignment(
                id,
                &k("mert"),
                Assignment::Share {
                    percent: 0.0,
                    seed: 1
                },
                "r"
            )
            .await,
        Err(StoreError::Invalid(_))
    ));
    store
        .set_assignment(id, &k("mert"), Assignment::All, "researcher")
        .await
        .unwrap();
    assert_eq!(
        store
            .coding_queue(id, &k("mert"), &QueueFilter::default())
            .await
            .unwrap()
            .len(),
        all.len()
    );
    let s = store.load_study(id).await.unwrap();
    assert!(s
        .audit
        .iter()
        .any(|a| a.action == "settings.blind" && a.detail == "blind → unblinded"));
    assert_eq!(
        s.audit
            .iter()
            .filter(|a| a.action == "settings.assignment")
            .count(),
        3
    );
    // The consensus coding and the new coders round-trip through the whole-study load.
    assert!(s.coders.iter().any(|c| c.name.as_str() == "ece"));
    store.close().await;
}
}

db_test! {
#[tokio::test]
async fn sixteen_concurrent_writers_never_lose_a_coding() {
    let (_d, store, id) = setup().await;
    let store = std::sync::Arc::new(store);
    let items = store
        .coding_queue(id, &k("zeynep"), &QueueFilter::default())
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for (w, item) in items.iter().take(16).enumerate() {
        let store = store.clone();
        let r = item.id;
        tasks.push(tokio::spawn(async move {
            for i in 0..10usize {
                let mut n = new(r, "Cause/Patient/Resistance", Some((i, i + 1)));
                n.coder = k(&format!("writer-{w}"));
                store.add_coding(id, &n, "x").await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut total = 0;
    for item in items.iter().take(16) {
        total += store
            .response_codings(id, item.id)
            .await
            .unwrap()
            .iter()
            .filter(|c| c.coder.as_str().starts_with("writer-"))
            .count();
    }
    assert_eq!(total, 160);
}
}

db_test! {
#[tokio::test]
async fn a_coder_with_a_share_adds_codings_only_to_assigned_responses() {
    let (_d, store, id) = setup().await;
    let all = store
        .coding_queue(id, &k("mert"), &QueueFilter::default())
        .await
        .unwrap();
    store
        .set_assignment(
            id,
            &k("mert"),
            Assignment::Share {
                percent: 20.0,
                seed: 7,
            },
            "ayse",
        )
        .await
        .unwrap();
    let mine = store
        .coding_queue(id, &k("mert"), &QueueFilter::default())
        .await
        .unwrap();
    let assigned = mine[0].id;
    let other = all
        .iter()
        .find(|i| mine.iter().all(|m| m.id != i.id))
        .expect("a response outside the share")
        .id;
    let mert = |resp| NewCoding {
        coder: k("mert"),
        ..new(resp, "Cause/Patient/Resistance", None)
    };
    let audit_before = store.load_study(id).await.unwrap().audit.len();

    // Not assigned: refused with what to do, and nothing written.
    let err = store.add_coding(id, &mert(other), "mert").await.unwrap_err();
    match &err {
        StoreError::Forbidden(m) => assert!(
            m.contains(&format!("response {}", other.0))
                && m.contains("not among the responses assigned to mert")
                && m.contains("ask the researcher"),
            "{m}"
        ),
        e => panic!("expected Forbidden, got {e:?}"),
    }
    assert!(store
        .response_codings(id, other)
        .await
        .unwrap()
        .iter()
        .all(|c| c.coder.as_str() != "mert"));
    assert_eq!(store.undo_depth(id, &k("mert")).await.unwrap(), (0, 0));
    // A suggestion accepted for it goes through the same rule.
    assert!(matches!(
        store.accept_suggestion(id, &mert(other), 0.8, "mert").await,
        Err(StoreError::Forbidden(_))
    ));

    // Assigned: added, with its undo step and audit event.
    let c = store.add_coding(id, &mert(assigned), "mert").await.unwrap();
    assert_eq!((c.coder.as_str(), c.response), ("mert", assigned));
    assert_eq!(store.undo_depth(id, &k("mert")).await.unwrap(), (1, 0));
    let s = store.load_study(id).await.unwrap();
    assert_eq!(s.audit.len(), audit_before + 1);
    assert_eq!(s.audit.last().unwrap().action, "coding.add");

    // Researchers and the consensus layer are not bound by the share.
    store
        .create_user("ayse", Role::Researcher, "not-a-real-hash")
        .await
        .unwrap();
    store.add_coding(id, &mert(other), "ayse").await.unwrap();
    let consensus = NewCoding {
        coder: k(CONSENSUS),
        ..new(other, "Cause/Patient/Resistance", None)
    };
    store.add_coding(id, &consensus, "ayse").await.unwrap();

    // Back to all responses: the rule no longer applies.
    store
        .set_assignment(id, &k("mert"), Assignment::All, "ayse")
        .await
        .unwrap();
    let third = all
        .iter()
        .find(|i| i.id != other && mine.iter().all(|m| m.id != i.id))
        .unwrap()
        .id;
    store.add_coding(id, &mert(third), "mert").await.unwrap();
}
}

db_test! {
#[tokio::test]
async fn the_undo_log_is_trimmed_to_its_depth_by_adds() {
    let (_d, store, id) = setup().await;
    let items = store
        .coding_queue(id, &k("zeynep"), &QueueFilter::default())
        .await
        .unwrap();
    let codes: Vec<CodePath> = store
        .coding_codebook(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.codable)
        .map(|c| c.path)
        .collect();
    // A coder new to the study, so every add is a fresh step.
    let deniz = |resp, code: &str, span| NewCoding {
        coder: k("deniz"),
        ..new(resp, code, span)
    };
    let mut n = 0;
    'outer: for i in &items {
        for c in &codes {
            if n == UNDO_DEPTH + 3 {
                break 'outer;
            }
            // Both adds, the API's by-key one and the plain one, keep the log.
            if n % 2 == 0 {
                store
                    .add_coding(id, &deniz(i.id, c.as_str(), None), "deniz")
                    .await
                    .unwrap();
            } else {
                store
                    .add_coding_by_key("rupture-study", &deniz(i.id, c.as_str(), None), &|_: &str| Ok(None), "deniz")
                    .await
                    .unwrap();
            }
            n += 1;
        }
    }
    assert_eq!(n, UNDO_DEPTH + 3, "enough responses × codes for the test");
    assert_eq!(
        store.undo_depth(id, &k("deniz")).await.unwrap(),
        (UNDO_DEPTH, 0)
    );
    // An undo, then a new add: the redo stack is cleared, the depth kept.
    store.undo_coding(id, &k("deniz"), "deniz").await.unwrap();
    assert_eq!(
        store.undo_depth(id, &k("deniz")).await.unwrap(),
        (UNDO_DEPTH - 1, 1)
    );
    let last = items.last().unwrap().id;
    store
        .add_coding_by_key(
            "rupture-study",
            &deniz(last, codes[0].as_str(), None),
            &|_: &str| Ok(Some(Span { start: 0, end: 1 })),
            "deniz",
        )
        .await
        .unwrap();
    assert_eq!(
        store.undo_depth(id, &k("deniz")).await.unwrap(),
        (UNDO_DEPTH, 0)
    );
}
}

db_test! {
#[tokio::test]
async fn adding_by_study_key_checks_and_writes_as_add_coding_does() {
    let (_d, store, id) = setup().await;
    let item = first_open(store.as_ref(), id).await;
    let book = store.coding_codebook(id).await.unwrap();
    let code = book.iter().find(|c| c.codable).unwrap().path.clone();
    let category = book.iter().find(|c| !c.codable).unwrap().path.clone();
    let text = store.coding_target(id, item.id).await.unwrap().unwrap().text;
    let whole = |_: &str| Ok(None);
    let deniz = |resp, code: &str| NewCoding {
        coder: k("deniz"),
        ..new(resp, code, None)
    };
    let before = coding_events(store.as_ref(), id).await;

    // Refusals, in the order of add_coding's checks; nothing is written.
    let e = store
        .add_coding_by_key("no-such-study", &deniz(item.id, code.as_str()), &whole, "deniz")
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NoSuchStudy(_)), "{e}");
    let e = store
        .add_coding_by_key("rupture-study", &deniz(ResponseId(999_999), code.as_str()), &whole, "deniz")
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound(_)), "{e}");
    let e = store
        .add_coding_by_key("rupture-study", &deniz(item.id, code.as_str()), &|_: &str| Err("start16: half an emoji".into()), "deniz")
        .await
        .unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(m) if m == "start16: half an emoji"), "{e}");
    let past = text.chars().count() + 1;
    let e = store
        .add_coding_by_key("rupture-study", &deniz(item.id, code.as_str()), &move |_: &str| Ok(Some(Span { start: 0, end: past })), "deniz")
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Invalid(_)), "{e}");
    for bad in [category.as_str(), "No/Such/Code"] {
        let e = store
            .add_coding_by_key("rupture-study", &deniz(item.id, bad), &whole, "deniz")
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Invalid(_)), "{bad}: {e}");
    }
    assert_eq!(coding_events(store.as_ref(), id).await, before);
    assert!(!store.coders(id).await.unwrap().contains(&k("deniz")), "no coder made by a refusal");

    // A new coder's first coding: the coder, the row, the text, the audit
    // event and the undo step.
    let seen = std::sync::Mutex::new(String::new());
    let span = |t: &str| {
        *seen.lock().unwrap() = t.to_string();
        Ok(Some(Span { start: 1, end: 4 }))
    };
    let added = store
        .add_coding_by_key("rupture-study", &deniz(item.id, code.as_str()), &span, "deniz")
        .await
        .unwrap();
    assert_eq!(added.study, id);
    assert_eq!(added.text, text);
    assert_eq!(*seen.lock().unwrap(), text, "the span is resolved against the response's text");
    assert_eq!(added.coding.span, Some(Span { start: 1, end: 4 }));
    assert_eq!(store.coding(id, added.coding.id).await.unwrap(), Some(added.coding.clone()));
    assert_eq!(store.undo_depth(id, &k("deniz")).await.unwrap(), (1, 0));
    let f = AuditFilter {
        action: Some("coding.add".into()),
        actor: Some("deniz".into()),
        ..AuditFilter::default()
    };
    let (events, n) = store.audit_page(id, &f, 0, 10).await.unwrap();
    assert_eq!(n, 1);
    assert_eq!(events[0].entity, format!("coding {} on {}", added.coding.id.0, item.key));
    assert_eq!(events[0].detail, format!("(none) → {code} [1, 4) by deniz"));

    // The same code on the same span again: a conflict that writes nothing.
    let after = coding_events(store.as_ref(), id).await;
    let e = store
        .add_coding_by_key("rupture-study", &deniz(item.id, code.as_str()), &span, "deniz")
        .await
        .unwrap_err();
    assert!(matches!(&e, StoreError::Conflict(m) if m.contains("already applied")), "{e}");
    assert_eq!(coding_events(store.as_ref(), id).await, after);
    assert_eq!(store.undo_depth(id, &k("deniz")).await.unwrap(), (1, 0));
    assert_eq!(store.response_codings(id, item.id).await.unwrap().iter().filter(|c| c.coder == k("deniz")).count(), 1);

    // A whole-response coding is a duplicate of itself only, not of a span.
    let whole_one = store
        .add_coding_by_key("rupture-study", &deniz(item.id, code.as_str()), &whole, "deniz")
        .await
        .unwrap();
    assert_eq!(whole_one.coding.span, None);
    let e = store
        .add_coding_by_key("rupture-study", &deniz(item.id, code.as_str()), &whole, "deniz")
        .await
        .unwrap_err();
    assert!(matches!(&e, StoreError::Conflict(m) if m.contains("to this response")), "{e}");
    store.undo_coding(id, &k("deniz"), "deniz").await.unwrap();
    assert_eq!(store.undo_depth(id, &k("deniz")).await.unwrap(), (1, 1));

    // Its undo step takes it away again.
    store.undo_coding(id, &k("deniz"), "deniz").await.unwrap();
    assert_eq!(store.coding(id, added.coding.id).await.unwrap(), None);
}
}

/// How many `coding.*` audit events the study has.
async fn coding_events(store: &dyn Store, id: StudyId) -> i64 {
    let f = AuditFilter {
        action: Some("coding".into()),
        ..AuditFilter::default()
    };
    store.audit_page(id, &f, 0, 10).await.unwrap().1
}
