//! The "code all hits" calls on a real SQLite file: many codings as ONE undo
//! step (undo/redo all or nothing, surviving a reopen and the log's trimming),
//! duplicates skipped, bad input refused with nothing written, and
//! concurrent coders never losing a coding.

use rupturelab_core::*;
use rupturelab_store::db_test;
use rupturelab_store::testing::TestDb;
use rupturelab_store::*;

fn example() -> StudyData {
    rupturelab_store::testing::example_study("rupture-study")
}

fn k(s: &str) -> Key {
    Key::parse(s).unwrap()
}

const CODE: &str = "Cause/Patient/Resistance";

fn code() -> CodePath {
    CodePath::parse(CODE).unwrap()
}

/// Whole-response and [0, 3) places on the first `n` open answers.
async fn places(store: &dyn Store, id: StudyId, n: usize) -> Vec<HitCoding> {
    let rs = store.codable_responses(id, &k("zeynep")).await.unwrap();
    assert!(rs.len() >= n);
    rs.iter()
        .take(n)
        .flat_map(|r| {
            [
                HitCoding {
                    response: r.id,
                    span: None,
                },
                HitCoding {
                    response: r.id,
                    span: Some(Span { start: 0, end: 3 }),
                },
            ]
        })
        .collect()
}

async fn mine(store: &dyn Store, id: StudyId, coder: &str) -> usize {
    store
        .coder_code_places(id, &k(coder), &code())
        .await
        .unwrap()
        .len()
}

db_test! {
#[tokio::test]
async fn a_batch_is_one_step_that_undo_and_redo_take_whole_even_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.db");
    let db = TestDb::create(&file).await;
    let store = db.open().await.unwrap();
    let id = store.create_study(&example()).await.unwrap();
    let p = places(&*store, id, 10).await;
    // A single coding first, then the batch (which repeats it: skipped).
    store
        .add_coding(
            id,
            &NewCoding {
                coder: k("zeynep"),
                response: p[0].response,
                code: code(),
                span: None,
                memo: None,
            },
            "zeynep",
        )
        .await
        .unwrap();
    let mut given = p.clone();
    given.push(p[3]); // the same place twice: added once
    let out = store
        .add_hit_codings(id, &k("zeynep"), &code(), &given, "homework", "zeynep")
        .await
        .unwrap();
    assert_eq!(out.added.len(), 19);
    assert_eq!(out.skipped, vec![p[0], p[3]]);
    assert_eq!((out.undo_left, out.redo_left), (2, 0));
    assert!(out
        .added
        .iter()
        .all(|c| c.version == 1 && c.coder == k("zeynep")));
    assert_eq!(mine(&*store, id, "zeynep").await, 20);
    store.close().await;

    let store = db.open().await.unwrap();
    let u = store
        .undo_coding(id, &k("zeynep"), "zeynep")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.action, "coding.add_hits");
    assert_eq!((u.undo_left, u.redo_left), (1, 1));
    assert_eq!(mine(&*store, id, "zeynep").await, 1);
    let r = store
        .redo_coding(id, &k("zeynep"), "zeynep")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.action, "coding.add_hits");
    assert_eq!(mine(&*store, id, "zeynep").await, 20);
    // Audit: 19 adds (+1 single), 19 undos, 19 redos, one summary.
    let count = |a: &'static str| {
        let store = &store;
        async move {
            let f = AuditFilter {
                action: Some(a.into()),
                ..Default::default()
            };
            store.audit_page(id, &f, 0, 1).await.unwrap().1
        }
    };
    assert_eq!(count("coding.add").await, 20);
    assert_eq!(count("coding.undo").await, 19);
    assert_eq!(count("coding.redo").await, 19);
    assert_eq!(count("coding.add_hits").await, 1);
    store.close().await;
}
}

db_test! {
#[tokio::test]
async fn undo_of_a_batch_is_refused_whole_when_one_coding_changed_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("t.db")).await;
    let store = db.open().await.unwrap();
    let id = store.create_study(&example()).await.unwrap();
    let p = places(&*store, id, 5).await;
    let out = store
        .add_hit_codings(id, &k("zeynep"), &code(), &p, "q", "zeynep")
        .await
        .unwrap();
    let sql = "UPDATE codings SET memo = 'edited elsewhere', version = version + 1 WHERE id = $1";
    match store.pool() {
        DbPool::Sqlite(pool) => {
            sqlx::query(sql).bind(out.added[4].id.0).execute(&pool).await.unwrap();
        }
        DbPool::Postgres(pool) => {
            sqlx::query(sql).bind(out.added[4].id.0).execute(&pool).await.unwrap();
        }
    }
    match store.undo_coding(id, &k("zeynep"), "zeynep").await {
        Err(StoreError::Conflict(m)) => assert!(m.contains("cannot be undone together"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(mine(&*store, id, "zeynep").await, 10, "nothing was removed");
    assert_eq!(store.undo_depth(id, &k("zeynep")).await.unwrap(), (1, 0));
    store.close().await;
}
}

db_test! {
#[tokio::test]
async fn bad_places_and_codes_are_refused_with_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("t.db")).await;
    let store = db.open().await.unwrap();
    let id = store.create_study(&example()).await.unwrap();
    let mut p = places(&*store, id, 3).await;
    p.push(HitCoding {
        response: p[0].response,
        span: Some(Span {
            start: 0,
            end: 1_000_000,
        }),
    });
    match store
        .add_hit_codings(id, &k("zeynep"), &code(), &p, "q", "zeynep")
        .await
    {
        Err(StoreError::Invalid(m)) => assert!(m.starts_with("span:"), "{m}"),
        other => panic!("{other:?}"),
    }
    p.pop();
    p.push(HitCoding {
        response: ResponseId(987_654),
        span: None,
    });
    assert!(matches!(
        store
            .add_hit_codings(id, &k("zeynep"), &code(), &p, "q", "zeynep")
            .await,
        Err(StoreError::NotFound(_))
    ));
    p.pop();
    match store
        .add_hit_codings(
            id,
            &k("zeynep"),
            &CodePath::parse("Cause").unwrap(),
            &p,
            "q",
            "zeynep",
        )
        .await
    {
        Err(StoreError::Invalid(m)) => assert!(m.starts_with("code:"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(store
        .add_hit_codings(id, &k(CONSENSUS), &code(), &p, "q", "zeynep")
        .await
        .is_err());
    assert_eq!(mine(&*store, id, "zeynep").await, 0);
    assert_eq!(store.undo_depth(id, &k("zeynep")).await.unwrap(), (0, 0));
    store.close().await;
}
}

db_test! {
#[tokio::test]
async fn the_log_keeps_the_batch_as_one_of_its_steps_when_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("t.db")).await;
    let store = db.open().await.unwrap();
    let id = store.create_study(&example()).await.unwrap();
    let p = places(&*store, id, 40).await;
    store
        .add_hit_codings(id, &k("zeynep"), &code(), &p, "q", "zeynep")
        .await
        .unwrap();
    // UNDO_DEPTH - 1 single steps after it: the batch is the oldest kept step.
    let rs = store.codable_responses(id, &k("zeynep")).await.unwrap();
    let other = CodePath::parse("Cause/Patient/Pathology").unwrap();
    let mut n = 0;
    'outer: for r in rs.iter().skip(40) {
        for s in 0..3 {
            if n == 199 {
                break 'outer;
            }
            store
                .add_coding(
                    id,
                    &NewCoding {
                        coder: k("zeynep"),
                        response: r.id,
                        code: other.clone(),
                        span: Some(Span {
                            start: s,
                            end: s + 1,
                        }),
                        memo: None,
                    },
                    "zeynep",
                )
                .await
                .unwrap();
            n += 1;
        }
    }
    assert_eq!(store.undo_depth(id, &k("zeynep")).await.unwrap(), (200, 0));
    for _ in 0..199 {
        store.undo_coding(id, &k("zeynep"), "zeynep").await.unwrap();
    }
    let u = store
        .undo_coding(id, &k("zeynep"), "zeynep")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.action, "coding.add_hits");
    assert_eq!(mine(&*store, id, "zeynep").await, 0);
    store.close().await;
}
}

db_test! {
#[tokio::test]
async fn sixteen_coders_coding_hits_at_once_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("t.db")).await;
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::from(db.open().await.unwrap());
    let id = store.create_study(&example()).await.unwrap();
    let p = places(&*store, id, 8).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (store, p) = (store.clone(), p.clone());
        tasks.push(tokio::spawn(async move {
            let coder = k(&format!("coder{i}"));
            for chunk in p.chunks(4) {
                store
                    .add_hit_codings(id, &coder, &code(), chunk, "q", coder.as_str())
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for i in 0..16 {
        assert_eq!(mine(&*store, id, &format!("coder{i}")).await, 16);
    }
}
}
