//! The suggestion calls on a real SQLite file: the switch's automatic rule
//! and its audit, the fingerprint following the consensus layer only,
//! assignments, accepting as a normal coding in one transaction with its
//! decision, rejections remembered, and the per-coder counts.

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

fn path(s: &str) -> CodePath {
    CodePath::parse(s).unwrap()
}

/// A fresh database of the test's backend (kept alive by the first value).
async fn setup() -> (
    (tempfile::TempDir, TestDb),
    Box<dyn Store>,
    StudyId,
    Vec<QueueItem>,
) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("t.db")).await;
    let store = db.open().await.unwrap();
    let id = store.create_study(&example()).await.unwrap();
    let items = store
        .coding_queue(id, &k("zeynep"), &QueueFilter::default())
        .await
        .unwrap();
    ((dir, db), store, id, items)
}

fn whole(coder: &str, resp: ResponseId, code: &str) -> NewCoding {
    NewCoding {
        coder: k(coder),
        response: resp,
        code: path(code),
        span: None,
        memo: None,
    }
}

async fn audit(store: &dyn Store, id: StudyId, action: &str) -> Vec<String> {
    store
        .load_study(id)
        .await
        .unwrap()
        .audit
        .into_iter()
        .filter(|e| e.action == action)
        .map(|e| e.detail)
        .collect()
}

db_test! {
#[tokio::test]
async fn the_switch_is_automatic_unless_set_and_each_change_is_audited_once() {
    let (_d, store, id, _) = setup().await;
    let s = store.suggestion_setting(id).await.unwrap();
    assert_eq!(
        (s.explicit, s.blind, s.enabled(), s.mode()),
        (None, true, false, "auto")
    );
    store.set_blind(id, false, "ayse").await.unwrap();
    assert!(store.suggestion_setting(id).await.unwrap().enabled());
    store
        .set_suggestion_setting(id, Some(false), "ayse")
        .await
        .unwrap();
    store
        .set_suggestion_setting(id, Some(false), "ayse")
        .await
        .unwrap();
    let s = store.suggestion_setting(id).await.unwrap();
    assert_eq!((s.enabled(), s.mode()), (false, "off"));
    store.set_blind(id, true, "ayse").await.unwrap();
    store
        .set_suggestion_setting(id, Some(true), "ayse")
        .await
        .unwrap();
    assert!(store.suggestion_setting(id).await.unwrap().enabled());
    store
        .set_suggestion_setting(id, None, "ayse")
        .await
        .unwrap();
    assert!(!store.suggestion_setting(id).await.unwrap().enabled());
    assert_eq!(
        audit(store.as_ref(), id, "settings.suggestions").await,
        [
            "suggestions automatic (on: the study is unblinded) → off",
            "suggestions off → on",
            "suggestions on → automatic (off: the study is blind)"
        ]
    );
}
}

db_test! {
#[tokio::test]
async fn the_fingerprint_follows_the_consensus_layer_and_not_the_coders() {
    let (_d, store, id, items) = setup().await;
    let f0 = store.consensus_fingerprint(id).await.unwrap();
    assert_eq!(store.consensus_fingerprint(id).await.unwrap(), f0);
    assert!(f0.starts_with("638-"), "{f0}");
    // A coder's coding changes nothing the model learns from.
    let resp = items[0].id;
    store
        .add_coding(id, &whole("zeynep", resp, "Cause/Therapist"), "zeynep")
        .await
        .unwrap();
    assert_eq!(store.consensus_fingerprint(id).await.unwrap(), f0);
    // A consensus coding does; removing it again gives back the same rows
    // and so the same fingerprint.
    let row = store
        .add_coding(
            id,
            &whole(CONSENSUS, resp, "Cause/Therapist/Agenda"),
            "ayse",
        )
        .await
        .unwrap();
    let f1 = store.consensus_fingerprint(id).await.unwrap();
    assert_ne!(f1, f0);
    store
        .delete_coding(id, row.id, row.version, "ayse")
        .await
        .unwrap();
    assert_eq!(store.consensus_fingerprint(id).await.unwrap(), f0);
    // Another study of the same database has its own.
    let mut other = example();
    other.meta.key = k("other");
    other.codings.retain(|c| c.coder.as_str() != CONSENSUS);
    let id2 = store.create_study(&other).await.unwrap();
    assert!(store
        .consensus_fingerprint(id2)
        .await
        .unwrap()
        .starts_with("0-"));
}
}

db_test! {
#[tokio::test]
async fn assignments_decide_who_may_see_a_responses_suggestions() {
    let (_d, store, id, items) = setup().await;
    assert!(store
        .assigned_to(id, &k("zeynep"), items[0].id)
        .await
        .unwrap());
    store
        .set_assignment(
            id,
            &k("zeynep"),
            Assignment::Share {
                percent: 10.0,
                seed: 3,
            },
            "ayse",
        )
        .await
        .unwrap();
    let mine = store
        .coding_queue(id, &k("zeynep"), &QueueFilter::default())
        .await
        .unwrap();
    for i in &items {
        let assigned = mine.iter().any(|m| m.id == i.id);
        assert_eq!(
            store.assigned_to(id, &k("zeynep"), i.id).await.unwrap(),
            assigned
        );
    }
    assert!(mine.len() < items.len());
}
}

db_test! {
#[tokio::test]
async fn accepting_is_a_normal_coding_with_its_decision_and_rejections_are_remembered() {
    let (_d, store, id, items) = setup().await;
    let resp = items[1].id;
    let row = store
        .accept_suggestion(
            id,
            &whole("zeynep", resp, "Cause/Relationship"),
            0.834,
            "zeynep",
        )
        .await
        .unwrap();
    assert_eq!((row.coder.as_str(), row.span), ("zeynep", None));
    let adds = audit(store.as_ref(), id, "coding.add").await;
    assert!(
        adds.last()
            .unwrap()
            .ends_with("by zeynep (from suggestion, confidence 0.83)"),
        "{adds:?}"
    );
    assert_eq!(store.undo_depth(id, &k("zeynep")).await.unwrap(), (1, 0));
    // Accepting the same again is refused and records nothing (one transaction).
    let err = store
        .accept_suggestion(
            id,
            &whole("zeynep", resp, "Cause/Relationship"),
            0.9,
            "zeynep",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    // Nonsense confidences are refused before anything is written.
    for bad in [f64::NAN, -0.1, 1.5] {
        let err = store
            .accept_suggestion(id, &whole("zeynep", resp, "Cause/Patient"), bad, "zeynep")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("confidence"), "{err}");
    }
    // Rejections: remembered per coder × response × code, audited once.
    for _ in 0..2 {
        store
            .reject_suggestion(
                id,
                &k("zeynep"),
                resp,
                &path("Cause/Patient"),
                0.61,
                "zeynep",
            )
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .rejected_suggestions(id, &k("zeynep"), resp)
            .await
            .unwrap(),
        [path("Cause/Patient")]
    );
    assert!(store
        .rejected_suggestions(id, &k("zeynep"), items[2].id)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .rejected_suggestions(id, &k("Ayla"), resp)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(audit(store.as_ref(), id, "suggestion.reject").await.len(), 1);
    let err = store
        .reject_suggestion(id, &k("zeynep"), resp, &path("No/Such"), 0.6, "zeynep")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("No/Such"), "{err}");
    // Counts per coder, every coder listed, consensus not.
    let used = store.suggestions_used(id).await.unwrap();
    let names: Vec<&str> = used.iter().map(|u| u.coder.as_str()).collect();
    assert_eq!(names, ["Ayla", "Burak", "zeynep"]);
    assert_eq!((used[2].accepted, used[2].rejected), (1, 1));
    assert_eq!((used[0].accepted, used[0].rejected), (0, 0));
}
}
