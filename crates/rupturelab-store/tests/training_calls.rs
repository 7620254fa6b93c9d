//! Training mode's store calls on both backends (`db_test!`): modules round-trip,
//! trainee links by hash (reissue and revoke), exercises lock once written,
//! stay out of the study's responses, and go with their study.

use rupturelab_core::training::{starter_prompts, Focus, PromptKind};
use rupturelab_core::*;
use rupturelab_store::db_test;
use rupturelab_store::testing::TestDb;
use rupturelab_store::training::*;
use rupturelab_store::*;

fn example() -> StudyData {
    rupturelab_store::testing::example_study("rupture-study")
}

fn k(s: &str) -> Key {
    Key::parse(s).unwrap()
}

fn spec() -> NewModule {
    NewModule {
        title: "Withdrawal ruptures".into(),
        segments: vec![k("S3"), k("S1")],
        questions: vec![k("Q1"), k("Q2")],
        feedback: FeedbackOptions {
            quotes: false,
            ..FeedbackOptions::default()
        },
        prompts: starter_prompts(Language::Tr),
    }
}

fn exercise(segment: &str, at: i64) -> Exercise {
    Exercise {
        segment: k(segment),
        answers: vec![
            ExerciseAnswer {
                question: k("Q1"),
                answer: Answer::Text("Terapist çok zorladı; \"ilişki\" koptu.".into()),
                auto_codes: vec![AutoCode {
                    code: CodePath::parse("Cause/Therapist").unwrap(),
                    confidence: 0.71,
                }],
            },
            ExerciseAnswer {
                question: k("Q3"),
                answer: Answer::Rating(4),
                auto_codes: Vec::new(),
            },
        ],
        marks: vec![Focus::Therapist, Focus::Relational],
        submitted_at: Timestamp(at),
    }
}

db_test! {
#[tokio::test]
async fn modules_trainees_and_exercises_round_trip_apart_from_responses() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("t.db")).await;
    let store = db.open().await.unwrap();
    let sid = store.create_study(&example()).await.unwrap();
    let before = store.load_study(sid).await.unwrap();

    let mid = store
        .create_training_module(sid, &spec(), "ayse")
        .await
        .unwrap();
    let m = store.training_module(mid).await.unwrap().unwrap();
    assert_eq!(m.study_id, sid);
    assert_eq!(m.spec, spec());
    assert_eq!(m.spec.prompts.len(), PromptKind::ALL.len());
    assert_eq!(store.training_modules(sid).await.unwrap().len(), 1);
    assert!(store.training_module(ModuleId(99)).await.unwrap().is_none());
    assert!(store
        .create_training_module(StudyId(99), &spec(), "ayse")
        .await
        .is_err());

    let t1 = store
        .add_trainee(mid, "T01", "hash-1", "ayse")
        .await
        .unwrap();
    assert!(matches!(
        store.add_trainee(mid, "T01", "hash-2", "ayse").await,
        Err(StoreError::Invalid(m)) if m.contains("T01")
    ));
    let rec = store.trainee_by_token("hash-1").await.unwrap().unwrap();
    assert_eq!((rec.id, rec.module_id, rec.study_id), (t1, mid, sid));
    assert_eq!(rec.code, "T01");
    assert_eq!(store.trainee_id(mid, "T01").await.unwrap(), Some(t1));

    // Reissue revokes the old link; revoke leaves none.
    store
        .set_trainee_link(t1, Some("hash-3"), "ayse")
        .await
        .unwrap();
    assert!(store.trainee_by_token("hash-1").await.unwrap().is_none());
    assert!(store.trainee_by_token("hash-3").await.unwrap().is_some());
    store.set_trainee_link(t1, None, "ayse").await.unwrap();
    assert!(store.trainee_by_token("hash-3").await.unwrap().is_none());
    let o = store.trainee_overview(mid).await.unwrap();
    assert_eq!(o.len(), 1);
    assert!(!o[0].active_link);
    assert_eq!(o[0].links_issued, 2);

    // Exercises: stored in submission order, locked once written.
    store
        .save_exercise(t1, &exercise("S3", 2000))
        .await
        .unwrap();
    store
        .save_exercise(t1, &exercise("S1", 1000))
        .await
        .unwrap();
    assert!(matches!(
        store.save_exercise(t1, &exercise("S1", 3000)).await,
        Err(StoreError::Locked)
    ));
    let ex = store.trainee_exercises(t1).await.unwrap();
    assert_eq!(ex, vec![exercise("S1", 1000), exercise("S3", 2000)]);
    let all = store.module_exercises(mid).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|(c, _)| c == "T01"));
    assert_eq!(store.trainee_overview(mid).await.unwrap()[0].exercises, 2);

    // The study's own data is unchanged except for the audit trail.
    let after = store.load_study(sid).await.unwrap();
    assert_eq!(after.responses, before.responses);
    assert_eq!(after.codings, before.codings);
    let actions: Vec<&str> = after.audit[before.audit.len()..]
        .iter()
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "training.module.add",
            "training.trainee.add",
            "training.link.issue",
            "training.link.revoke"
        ]
    );
    assert!(after.audit.iter().all(|e| !e.detail.contains("hash-")));

    // Deleting the study deletes its modules, trainees and exercises.
    store.delete_study(sid).await.unwrap();
    assert!(store.training_module(mid).await.unwrap().is_none());
    assert!(store.trainee_by_token("hash-3").await.unwrap().is_none());
}
}

db_test! {
#[tokio::test]
async fn trainee_accounts_enrol_in_several_modules_and_sign_in_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("t.db")).await;
    let store = db.open().await.unwrap();
    let sid = store.create_study(&example()).await.unwrap();
    let m1 = store.create_training_module(sid, &spec(), "ayse").await.unwrap();
    let m2 = store.create_training_module(sid, &spec(), "ayse").await.unwrap();

    // The first enrolment creates the account with the given hash; the
    // second finds it and keeps its password.
    let e1 = store.enrol_trainee_account(m1, "deniz", "phc-1", "ayse").await.unwrap();
    assert!(e1.created);
    let e2 = store.enrol_trainee_account(m2, "deniz", "phc-other", "ayse").await.unwrap();
    assert!(!e2.created);
    assert_eq!(e1.account, e2.account);
    assert_ne!(e1.trainee, e2.trainee);
    let acc = store.trainee_account_by_name("deniz").await.unwrap().unwrap();
    assert_eq!((acc.id, acc.username.as_str(), acc.password_hash.as_str()), (e1.account, "deniz", "phc-1"));
    assert_eq!(store.trainee_account(e1.account).await.unwrap(), Some(acc.clone()));
    assert!(store.trainee_account_by_name("DENIZ").await.unwrap().is_none());

    // Enrolled twice in one module: refused, nothing changes.
    assert!(matches!(
        store.enrol_trainee_account(m1, "deniz", "phc-3", "ayse").await,
        Err(StoreError::Invalid(m)) if m.contains("deniz")
    ));
    // A link trainee's code blocks the same name, and a failed enrolment
    // creates no account.
    store.add_trainee(m1, "T01", "hash-1", "ayse").await.unwrap();
    assert!(store.enrol_trainee_account(m1, "T01", "phc-4", "ayse").await.is_err());
    assert!(store.trainee_account_by_name("T01").await.unwrap().is_none());

    let mine = store.trainee_enrolments(e1.account).await.unwrap();
    assert_eq!(mine.iter().map(|r| (r.id, r.module_id)).collect::<Vec<_>>(), [(e1.trainee, m1), (e2.trainee, m2)]);
    assert!(mine.iter().all(|r| r.account == Some(e1.account) && r.code == "deniz" && r.study_id == sid));
    let link = store.trainee_by_token("hash-1").await.unwrap().unwrap();
    assert_eq!(link.account, None);
    assert_eq!(store.trainee(e1.trainee).await.unwrap(), Some(mine[0].clone()));
    assert!(store.trainee(TraineeId(9999)).await.unwrap().is_none());
    let o = store.trainee_overview(m1).await.unwrap();
    assert_eq!(o.iter().map(|t| (t.code.as_str(), t.account)).collect::<Vec<_>>(), [("T01", false), ("deniz", true)]);

    store.set_trainee_password(e1.account, "phc-new").await.unwrap();
    assert_eq!(store.trainee_account(e1.account).await.unwrap().unwrap().password_hash, "phc-new");
    assert!(matches!(
        store.set_trainee_password(TraineeAccountId(9999), "x").await,
        Err(StoreError::NotFound(_))
    ));

    let audit = store.load_study(sid).await.unwrap().audit;
    let enrols: Vec<&str> = audit.iter().filter(|e| e.action == "training.trainee.enrol").map(|e| e.detail.as_str()).collect();
    assert_eq!(enrols, ["∅ → deniz (account created)", "∅ → deniz (existing account)"]);
    assert!(audit.iter().all(|e| !e.detail.contains("phc-")));

    // Deleting the study removes the enrolments, not the account.
    store.delete_study(sid).await.unwrap();
    assert!(store.trainee_enrolments(e1.account).await.unwrap().is_empty());
    assert!(store.trainee_account(e1.account).await.unwrap().is_some());
}
}
