//! The web application's fine-grained store calls on a real SQLite file:
//! accounts, invitations by token hash, orders, autosave upserts and locking.

use std::collections::BTreeMap;

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

db_test! {
#[tokio::test]
async fn sessions_load_with_their_user_and_a_deleted_session_is_never_saved_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("s.db")).await;
    let store = db.open().await.unwrap();
    let uid = store.create_user("ayse", Role::Coder, "h").await.unwrap();
    let row = |data: &str, user: Option<i64>| SessionRow {
        id: "sid".into(),
        data: data.into(),
        expires_at: 2_000,
        user_id: user,
    };
    assert!(store.session_create(&row("{}", None)).await.unwrap());
    assert!(!store.session_create(&row("{}", None)).await.unwrap(), "id taken");
    store.session_save(&row("{\"a\":1}", Some(uid.0))).await.unwrap();
    let s = store.session_load("sid", 1_000).await.unwrap().unwrap();
    assert_eq!((s.data.as_str(), s.expires_at), ("{\"a\":1}", 2_000));
    assert_eq!(s.user.unwrap().username, "ayse");
    // An unknown account is not stored as the session's user.
    store.session_save(&row("{}", Some(uid.0 + 99))).await.unwrap();
    assert!(store.session_load("sid", 1_000).await.unwrap().unwrap().user.is_none());
    // Expired sessions are not loaded.
    assert!(store.session_load("sid", 2_000).await.unwrap().is_none());
    // A save after a sign-out deleted the session does not bring it back.
    store.session_delete("sid").await.unwrap();
    store.session_save(&row("{}", Some(uid.0))).await.unwrap();
    assert!(store.session_load("sid", 1_000).await.unwrap().is_none());
    store.close().await;
}
}

db_test! {
#[tokio::test]
async fn users_are_unique_and_found_by_name_id_and_api_token_hash() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("t.db")).await;
    let store = db.open().await.unwrap();
    assert_eq!(store.count_users(Role::Researcher).await.unwrap(), 0);
    let id = store
        .create_user("ayse", Role::Researcher, "$argon2id$x")
        .await
        .unwrap();
    assert!(matches!(
        store.create_user("ayse", Role::Coder, "h").await,
        Err(StoreError::UserExists(_))
    ));
    let u = store.user_by_name("ayse").await.unwrap().unwrap();
    assert_eq!((u.id, u.role), (id, Role::Researcher));
    assert_eq!(
        store.user_by_id(id).await.unwrap().unwrap().username,
        "ayse"
    );
    store.add_api_token(id, "abc", "laptop").await.unwrap();
    assert_eq!(
        store.user_by_api_token("abc").await.unwrap().unwrap().id,
        id
    );
    assert!(store.user_by_api_token("abd").await.unwrap().is_none());
    assert_eq!(store.count_users(Role::Researcher).await.unwrap(), 1);
    store.close().await;
}
}

db_test! {
#[tokio::test]
async fn invitation_order_autosave_and_submit_lock() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("t.db")).await;
    let store = db.open().await.unwrap();
    let sid = store.create_study(&example()).await.unwrap();
    let before = store.load_study(sid).await.unwrap();

    let new = Participant {
        code: k("W01"),
        status: ParticipantStatus::Invited,
        order: Vec::new(),
        attributes: BTreeMap::new(),
    };
    let pid = store.add_participant(sid, &new).await.unwrap();
    assert!(matches!(
        store.add_participant(sid, &new).await,
        Err(StoreError::ParticipantExists(_))
    ));
    store.issue_invitation(pid, "hash-1").await.unwrap();
    store.issue_invitation(pid, "hash-2").await.unwrap();
    assert!(
        store
            .participant_by_token("hash-1")
            .await
            .unwrap()
            .is_none(),
        "reissue revokes"
    );
    let rec = store.participant_by_token("hash-2").await.unwrap().unwrap();
    assert_eq!((rec.id, rec.status), (pid, ParticipantStatus::Invited));

    let order = vec![k("S3"), k("S1"), k("S2"), k("S6"), k("S4"), k("S5")];
    store
        .assign_order(
            pid,
            &OrderAssignment {
                mode: OrderMode::LatinSquare,
                row: Some(2),
                order: order.clone(),
            },
        )
        .await
        .unwrap();
    let segs = store.participant_segments(pid).await.unwrap();
    assert_eq!(
        segs.iter().map(|s| s.key.clone()).collect::<Vec<_>>(),
        order
    );
    assert!(!segs[0].turns.is_empty());
    assert_eq!(store.participant_order(pid).await.unwrap(), order);
    assert_eq!(
        store.segment(sid, &k("S3")).await.unwrap().as_ref(),
        Some(&segs[0])
    );
    assert!(store.segment(sid, &k("S99")).await.unwrap().is_none());
    assert_eq!(store.count_assigned_orders(sid).await.unwrap(), 1);

    store
        .record_consent(pid, true, "consent text")
        .await
        .unwrap();
    let mut attrs = BTreeMap::new();
    attrs.insert("orientation".to_string(), AttrValue::Text("CBT".into()));
    attrs.insert("experience_years".to_string(), AttrValue::Integer(4));
    store.set_attributes(pid, &attrs).await.unwrap();
    store.set_step(pid, "segment:1").await.unwrap();
    let rec = store.participant_by_token("hash-2").await.unwrap().unwrap();
    assert_eq!(rec.status, ParticipantStatus::Started);
    assert_eq!(rec.consent, Some(true));
    assert_eq!(store.participant_attributes(pid).await.unwrap(), attrs);

    // Autosave: the same key twice is one response with the latest text.
    store
        .save_response(
            pid,
            Some(&k("S3")),
            &k("Q1"),
            &Answer::Text("first".into()),
            Timestamp(1),
        )
        .await
        .unwrap();
    store
        .save_response(
            pid,
            Some(&k("S3")),
            &k("Q1"),
            &Answer::Text("second".into()),
            Timestamp(2),
        )
        .await
        .unwrap();
    store
        .save_response(
            pid,
            Some(&k("S3")),
            &k("Q3"),
            &Answer::Rating(4),
            Timestamp(3),
        )
        .await
        .unwrap();
    let rs = store.participant_responses(pid).await.unwrap();
    assert_eq!(rs.len(), 2);
    assert_eq!(rs[0].answer, Answer::Text("second".into()));
    assert_eq!(
        (rs[0].created_at, rs[0].updated_at),
        (Some(Timestamp(1)), Some(Timestamp(2)))
    );
    // Several answers in one transaction: all of them, or none when one
    // names something the study does not have.
    let batch = |q2: &str| {
        vec![
            (Some(k("S3")), k("Q1"), Answer::Text("third".into())),
            (Some(k("S1")), k(q2), Answer::Text("new one".into())),
        ]
    };
    assert!(matches!(
        store.save_responses(pid, &batch("Q9"), Timestamp(5)).await,
        Err(StoreError::Invalid(m)) if m.contains("Q9")
    ));
    let rs = store.participant_responses(pid).await.unwrap();
    assert_eq!(rs.len(), 2);
    assert_eq!(rs[0].answer, Answer::Text("second".into()));
    store.save_responses(pid, &batch("Q1"), Timestamp(6)).await.unwrap();
    let rs = store.participant_responses(pid).await.unwrap();
    assert_eq!(rs.len(), 3);
    assert!(rs.iter().any(|r| r.answer == Answer::Text("third".into())));
    assert!(rs.iter().any(|r| r.answer == Answer::Text("new one".into())));
    store.save_responses(pid, &[], Timestamp(7)).await.unwrap();

    store.submit(pid).await.unwrap();
    assert!(matches!(
        store.save_responses(pid, &batch("Q1"), Timestamp(8)).await,
        Err(StoreError::Locked)
    ));
    assert!(matches!(
        store
            .save_response(
                pid,
                Some(&k("S3")),
                &k("Q1"),
                &Answer::Text("late".into()),
                Timestamp(4)
            )
            .await,
        Err(StoreError::Locked)
    ));
    let after = store.load_study(sid).await.unwrap();
    assert_eq!(after.participants.len(), before.participants.len() + 1);
    assert_eq!(after.responses.len(), before.responses.len() + 3);
    let p = after
        .participants
        .iter()
        .find(|p| p.code.as_str() == "W01")
        .unwrap();
    assert_eq!(
        (p.status, p.order.clone()),
        (ParticipantStatus::Completed, order)
    );

    let ov = store.participant_overview(sid).await.unwrap();
    let w = ov.iter().find(|o| o.code.as_str() == "W01").unwrap();
    assert_eq!(
        (w.answers, w.consent, w.order_row),
        (3, Some(true), Some(2))
    );
    store.revoke_invitation(pid).await.unwrap();
    assert!(store
        .participant_by_token("hash-2")
        .await
        .unwrap()
        .is_none());
    let prog = store.study_progress(sid).await.unwrap();
    assert_eq!(prog.completed, 21);
    store.close().await;
}
}

db_test! {
#[tokio::test]
async fn settings_segments_and_questions_can_be_edited() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("t.db")).await;
    let store = db.open().await.unwrap();
    let sid = store.create_study(&example()).await.unwrap();
    let mut design = store.study_design(sid).await.unwrap();
    design.settings.presentation_order = OrderMode::Random;
    design.settings.thanks_text = Some("Sağ olun".into());
    store
        .update_settings(sid, Language::Tr, &design.settings)
        .await
        .unwrap();
    let d2 = store.study_design(sid).await.unwrap();
    assert_eq!(
        (d2.meta.language, d2.settings.clone()),
        (Language::Tr, design.settings)
    );

    let mut seg = store.study_segments(sid).await.unwrap()[0].clone();
    seg.label = "edited".into();
    seg.turns.truncate(1);
    store.upsert_segment(sid, &seg).await.unwrap();
    let mut s7 = seg.clone();
    s7.key = k("S7");
    s7.patient = k("PT9");
    store.upsert_segment(sid, &s7).await.unwrap();
    let segs = store.study_segments(sid).await.unwrap();
    assert_eq!(segs.len(), 7);
    assert_eq!(segs[0], seg);
    assert_eq!(segs[6], s7);

    let q = Question {
        key: k("Q1"),
        kind: QuestionKind::Choice {
            choices: vec!["a".into()],
        },
        scope: QuestionScope::Segment,
        prompt: "p".into(),
    };
    assert!(
        store.upsert_question(sid, &q).await.is_err(),
        "answered question keeps its kind"
    );
    let q4 = Question { key: k("Q4"), ..q };
    store.upsert_question(sid, &q4).await.unwrap();
    assert_eq!(
        store
            .study_design(sid)
            .await
            .unwrap()
            .questions
            .last()
            .unwrap(),
        &q4
    );
    // The whole study still loads.
    assert_eq!(store.load_study(sid).await.unwrap().segments.len(), 7);
    store.close().await;
}
}

db_test! {
#[tokio::test]
async fn attributes_are_upserted_and_items_reordered() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("t.db")).await;
    let store = db.open().await.unwrap();
    let sid = store.create_study(&example()).await.unwrap();
    let mut d = store.study_design(sid).await.unwrap();
    let mut orient = d.attributes[0].clone();
    orient.label = "Orientation".into();
    store.upsert_attribute(sid, &orient).await.unwrap();
    orient.kind = AttributeType::Text;
    assert!(
        store.upsert_attribute(sid, &orient).await.is_err(),
        "values exist"
    );
    let age = AttributeDef {
        name: k("age"),
        label: "Age".into(),
        kind: AttributeType::Integer {
            min: Some(18),
            max: None,
        },
        bands: vec![30.0, 50.0],
        required: false,
    };
    store.upsert_attribute(sid, &age).await.unwrap();
    d = store.study_design(sid).await.unwrap();
    assert_eq!(d.attributes[0].label, "Orientation");
    assert_eq!(d.attributes.last().unwrap(), &age);

    let order = vec![k("S6"), k("S1"), k("S2"), k("S3"), k("S4"), k("S5")];
    store.reorder(sid, Ordered::Segments, &order).await.unwrap();
    let segs: Vec<Key> = store
        .study_segments(sid)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.key)
        .collect();
    assert_eq!(segs, order);
    assert!(store
        .reorder(sid, Ordered::Segments, &order[1..])
        .await
        .is_err());
    store
        .reorder(sid, Ordered::Questions, &[k("Q3"), k("Q1"), k("Q2")])
        .await
        .unwrap();
    assert_eq!(
        store.study_design(sid).await.unwrap().questions[0].key,
        k("Q3")
    );
    // The whole study still loads in the new order.
    let s = store.load_study(sid).await.unwrap();
    assert_eq!(s.segments[0].key, k("S6"));
    store.close().await;
}
}

db_test! {
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_autosaves_of_many_participants_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("t.db")).await;
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::from(db.open().await.unwrap());
    let sid = store.create_study(&example()).await.unwrap();
    let mut pids = Vec::new();
    for i in 0..20 {
        let p = Participant {
            code: k(&format!("C{i:02}")),
            status: ParticipantStatus::Invited,
            order: Vec::new(),
            attributes: BTreeMap::new(),
        };
        pids.push(store.add_participant(sid, &p).await.unwrap());
    }
    let mut tasks = Vec::new();
    for pid in pids.clone() {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..15 {
                store
                    .save_response(
                        pid,
                        Some(&k("S1")),
                        &k("Q1"),
                        &Answer::Text(format!("draft {n}")),
                        Timestamp(n),
                    )
                    .await
                    .unwrap();
                store.set_step(pid, "segment:1").await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for pid in pids {
        let rs = store.participant_responses(pid).await.unwrap();
        assert_eq!(rs.len(), 1);
        assert_eq!(rs[0].answer, Answer::Text("draft 14".into()));
    }
    store.close().await;
}
}
