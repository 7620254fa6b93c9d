//! Copy, backup and restore: a whole study with its web rows moves between
//! SQLite and PostgreSQL both ways unchanged, and a backup taken while a
//! participant keeps autosaving is one consistent snapshot that restores.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rupturelab_core::folder::parse_folder;
use rupturelab_core::*;
use rupturelab_store::db_test;
use rupturelab_store::testing::{Backend, TestDb};
use rupturelab_store::transfer::copy;
use rupturelab_store::*;

fn example() -> StudyData {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/rupture-study");
    let mut files = rupturelab_core::folder::FolderFiles::new();
    for sub in ["", "segments/"] {
        for e in std::fs::read_dir(format!("{dir}/{sub}")).unwrap() {
            let e = e.unwrap();
            let rel = format!("{sub}{}", e.file_name().to_string_lossy());
            if e.file_type().unwrap().is_file() && rupturelab_core::folder::is_study_file(&rel) {
                files.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    parse_folder(&files).unwrap()
}

fn k(s: &str) -> Key {
    Key::parse(s).unwrap()
}

/// The example study plus every kind of web row: accounts, an API token, an
/// invitation (and a revoked one), consent, progress, an assigned order and autosaves.
async fn populate(store: &dyn Store) -> (StudyId, ParticipantId) {
    let sid = store.create_study(&example()).await.unwrap();
    let uid = store
        .create_user("ayse", Role::Researcher, "$argon2id$v=19$fake")
        .await
        .unwrap();
    store
        .create_user("can", Role::Coder, "$argon2id$v=19$other")
        .await
        .unwrap();
    store
        .add_api_token(uid, "tokenhash", "laptop")
        .await
        .unwrap();
    let pid = store
        .add_participant(
            sid,
            &Participant {
                code: k("W01"),
                status: ParticipantStatus::Invited,
                order: Vec::new(),
                attributes: BTreeMap::new(),
            },
        )
        .await
        .unwrap();
    store.issue_invitation(pid, "inv-1").await.unwrap();
    store.issue_invitation(pid, "inv-2").await.unwrap();
    store
        .record_consent(pid, true, "I agree — ğüşıöç")
        .await
        .unwrap();
    store
        .assign_order(
            pid,
            &OrderAssignment {
                mode: OrderMode::LatinSquare,
                row: Some(1),
                order: vec![k("S2"), k("S1"), k("S3"), k("S4"), k("S5"), k("S6")],
            },
        )
        .await
        .unwrap();
    store.set_step(pid, "segment:1").await.unwrap();
    store
        .save_response(
            pid,
            Some(&k("S2")),
            &k("Q1"),
            &Answer::Text("Ruptures — «quoted»\nsecond line".into()),
            Timestamp(1_700_000_000_123),
        )
        .await
        .unwrap();
    (sid, pid)
}

db_test! {
#[tokio::test]
async fn a_study_with_its_web_rows_is_copied_both_ways_unchanged() {
    // SQLite → (this test's backend) → SQLite: on the postgres variant that
    // is SQLite → PostgreSQL → SQLite.
    let dir = tempfile::tempdir().unwrap();
    let a = TestDb::create_for(Backend::Sqlite, &dir.path().join("a.db")).await;
    let b = TestDb::create(&dir.path().join("b.db")).await;
    let c = TestDb::create_for(Backend::Sqlite, &dir.path().join("c.db")).await;
    let (a, b, c) = (a.open().await.unwrap(), b.open().await.unwrap(), c.open().await.unwrap());
    let (sid, pid) = populate(a.as_ref()).await;

    let report = copy(a.as_ref(), b.as_ref(), None).await.unwrap();
    assert_eq!(report.studies, vec!["rupture-study".to_string()]);
    assert_eq!(report.users, 2);
    assert_eq!(report.responses, 361);
    copy(b.as_ref(), c.as_ref(), Some("rupture-study")).await.unwrap();

    let original = a.export_database(None).await.unwrap();
    assert_eq!(original.studies[0].invitations.len(), 2);
    assert_eq!(original.studies[0].consents.len(), 1);
    assert_eq!(original.studies[0].progress.len(), 1);
    assert_eq!(b.export_database(None).await.unwrap(), original);
    assert_eq!(c.export_database(None).await.unwrap(), original);
    assert_eq!(
        c.load_study(c.list_studies().await.unwrap()[0].id).await.unwrap(),
        a.load_study(sid).await.unwrap()
    );
    // The copy works: the participant's link and the API token find them.
    let rec = b.participant_by_token("inv-2").await.unwrap().unwrap();
    assert_eq!((rec.code.as_str(), rec.consent, rec.step.as_deref()), ("W01", Some(true), Some("segment:1")));
    assert!(b.participant_by_token("inv-1").await.unwrap().is_none());
    assert_eq!(b.user_by_api_token("tokenhash").await.unwrap().unwrap().username, "ayse");
    assert_eq!(
        b.participant_responses(rec.id).await.unwrap(),
        a.participant_responses(pid).await.unwrap()
    );

    // A second copy into the same target is refused and changes nothing.
    assert!(matches!(copy(a.as_ref(), b.as_ref(), None).await, Err(StoreError::StudyExists(_))));
    assert_eq!(b.export_database(None).await.unwrap(), original);
    for s in [a, b, c] {
        s.close().await;
    }
}
}

db_test! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_during_autosaves_is_consistent_and_restores() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("live.db")).await;
    let store: Arc<dyn Store> = Arc::from(db.open().await.unwrap());
    let (sid, pid) = populate(store.as_ref()).await;

    // A participant autosaves continuously; after each answer, one audit
    // event (another table) records it. In any consistent snapshot the
    // number of audit events is the answer's number or one more.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop) = (store.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) && i < 100_000 {
                store
                    .save_response(pid, Some(&k("S1")), &k("Q1"), &Answer::Text(format!("{i}")), Timestamp(i as i64))
                    .await
                    .unwrap();
                store
                    .record_audit(sid, &AuditEvent {
                        at: Timestamp(i as i64),
                        actor: "test".into(),
                        action: "autosave.test".into(),
                        entity: "W01".into(),
                        detail: format!("{i}"),
                    })
                    .await
                    .unwrap();
                i += 1;
            }
            i
        })
    };
    let mut last = None;
    for n in 0..4 {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        let out = dir.path().join(format!("backup-{n}.rupturelab"));
        store.backup_into(&out).await.unwrap();
        last = Some(out);
    }
    stop.store(true, Ordering::Relaxed);
    let written = writer.await.unwrap();
    assert!(written > 0);

    let backup_path = last.unwrap();
    // A backup file is never overwritten.
    assert!(store.backup_into(&backup_path).await.is_err());
    for n in 0..4 {
        let path = dir.path().join(format!("backup-{n}.rupturelab"));
        let backup = rupturelab_store::open(path.to_str().unwrap()).await.unwrap();
        let s = backup.load_study(backup.list_studies().await.unwrap()[0].id).await.unwrap();
        let answer: u64 = s
            .responses
            .iter()
            .find(|r| r.key.participant.as_str() == "W01" && r.key.segment.as_ref().map(|x| x.as_str()) == Some("S1"))
            .map(|r| r.answer.text().unwrap().parse().unwrap())
            .unwrap_or(u64::MAX);
        let audits = s.audit.iter().filter(|a| a.action == "autosave.test").count() as u64;
        if answer == u64::MAX {
            assert_eq!(audits, 0, "backup {n}: audit events without their answer");
        } else {
            assert!(audits == answer || audits == answer + 1, "backup {n}: answer {answer} but {audits} audit events: not one snapshot");
        }
        backup.close().await;
    }

    // Restore the last backup into a fresh database of this backend.
    let backup = rupturelab_store::open(backup_path.to_str().unwrap()).await.unwrap();
    let target_db = TestDb::create(&dir.path().join("restored.db")).await;
    let target = target_db.open().await.unwrap();
    copy(backup.as_ref(), target.as_ref(), None).await.unwrap();
    assert_eq!(target.export_database(None).await.unwrap(), backup.export_database(None).await.unwrap());
    assert!(target.participant_by_token("inv-2").await.unwrap().is_some());
    store.close().await;
}
}
