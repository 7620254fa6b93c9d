//! Copy, backup and restore: a whole study with its web rows moves between
//! SQLite and PostgreSQL both ways unchanged, and a backup taken while a
//! participant keeps autosaving is one consistent snapshot that restores.
//! `every_table_of_the_schema_is_carried` fails when a migration adds a
//! table that the copy does not carry (or that the fixture does not fill).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rupturelab_core::training::{starter_prompts, Focus};
use rupturelab_core::*;
use rupturelab_store::db_test;
use rupturelab_store::testing::{Backend, TestDb};
use rupturelab_store::training::*;
use rupturelab_store::transfer::copy;
use rupturelab_store::*;

fn example() -> StudyData {
    rupturelab_store::testing::example_study("rupture-study")
}

fn example_with_key(key: &str) -> StudyData {
    let mut s = example();
    s.meta.key = Key::parse(key).unwrap();
    s
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
    populate_coding(store, sid).await;
    (sid, pid)
}

fn path(s: &str) -> CodePath {
    CodePath::parse(s).unwrap()
}

/// A codable leaf of the example codebook other than the two the codings use.
fn spare_leaf() -> CodePath {
    let codes = example().codes;
    codes
        .iter()
        .filter(|c| {
            c.codable
                && !codes
                    .iter()
                    .any(|d| d.path.parent().as_ref() == Some(&c.path))
        })
        .map(|c| c.path.clone())
        .find(|p| !["Cause/Patient/Resistance", "Cause/Patient/Pathology"].contains(&p.as_str()))
        .unwrap()
}

/// Rows of the tables later migrations added: codings with versions and an
/// undo log (a step on the redo stack, steps about a deleted coding and a
/// deleted code), a codebook deletion and versions, blind mode, a share
/// assignment, a quote rule, a training module with a trainee, two links and
/// an exercise, a memo.
async fn populate_coding(store: &dyn Store, sid: StudyId) {
    let zeynep = k("zeynep");
    let queue = store
        .coding_queue(sid, &zeynep, &QueueFilter::default())
        .await
        .unwrap();
    let new = |i: usize, code: &str| NewCoding {
        coder: zeynep.clone(),
        response: queue[i].id,
        code: path(code),
        span: None,
        memo: Some("ilk — not".into()),
    };
    let c1 = store
        .add_coding(sid, &new(0, "Cause/Patient/Resistance"), "zeynep")
        .await
        .unwrap();
    let leaf = spare_leaf();
    store
        .add_coding(sid, &new(2, leaf.as_str()), "zeynep")
        .await
        .unwrap();
    let leaf_id = store
        .codebook(sid)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.code.path == leaf)
        .unwrap()
        .id;
    store.delete_code(sid, leaf_id, "ayse").await.unwrap();
    let c2 = store
        .add_coding(sid, &new(1, "Cause/Patient/Pathology"), "zeynep")
        .await
        .unwrap();
    store
        .delete_coding(sid, c2.id, c2.version, "zeynep")
        .await
        .unwrap();
    // "Code all hits": one undo step with its codings in coding_undo_batch.
    let hits = [3, 4].map(|i| HitCoding {
        response: queue[i].id,
        span: None,
    });
    let out = store
        .add_hit_codings(
            sid,
            &zeynep,
            &path("Cause/Patient/Resistance"),
            &hits,
            "kaç",
            "zeynep",
        )
        .await
        .unwrap();
    assert_eq!(out.added.len(), 2);
    let change = CodingChange {
        memo: Some(Some("kaçınma".into())),
        ..CodingChange::default()
    };
    store
        .update_coding(sid, c1.id, c1.version, &change, "zeynep")
        .await
        .unwrap();
    let u = store
        .undo_coding(sid, &zeynep, "zeynep")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.action, "coding.update");
    store
        .set_memo(sid, &MemoOn::Response(queue[0].id), "zeynep", "bir not")
        .await
        .unwrap();
    store.set_blind(sid, false, "ayse").await.unwrap();
    store
        .set_suggestion_setting(sid, Some(true), "ayse")
        .await
        .unwrap();
    store
        .reject_suggestion(
            sid,
            &zeynep,
            queue[5].id,
            &path("Cause/Patient/Pathology"),
            0.62,
            "zeynep",
        )
        .await
        .unwrap();
    store
        .set_assignment(
            sid,
            &k("mert"),
            Assignment::Share {
                percent: 20.0,
                seed: 7,
            },
            "ayse",
        )
        .await
        .unwrap();
    store
        .add_quote_rule(
            sid,
            &QuoteRule {
                kind: QuoteRuleKind::Exclude,
                theme: None,
                response: queue[0].key.clone(),
            },
            "ayse",
        )
        .await
        .unwrap();
    let module = NewModule {
        title: "Withdrawal ruptures".into(),
        segments: vec![k("S3"), k("S1")],
        questions: vec![k("Q1")],
        feedback: FeedbackOptions::default(),
        prompts: starter_prompts(Language::Tr),
    };
    let mid = store
        .create_training_module(sid, &module, "ayse")
        .await
        .unwrap();
    let t = store
        .add_trainee(mid, "T01", "thash-1", "ayse")
        .await
        .unwrap();
    store
        .set_trainee_link(t, Some("thash-2"), "ayse")
        .await
        .unwrap();
    store
        .enrol_trainee_account(mid, "deniz", "phc-deniz", "ayse")
        .await
        .unwrap();
    store
        .save_exercise(
            t,
            &Exercise {
                segment: k("S3"),
                answers: vec![ExerciseAnswer {
                    question: k("Q1"),
                    answer: Answer::Text("Terapist çok zorladı".into()),
                    auto_codes: vec![AutoCode {
                        code: path("Cause/Patient/Resistance"),
                        confidence: 0.71,
                    }],
                }],
                marks: vec![Focus::Therapist],
                submitted_at: Timestamp(2000),
            },
        )
        .await
        .unwrap();
}

/// The row id of the `i`th answer in zeynep's coding queue.
async fn rec_response(store: &dyn Store, sid: StudyId, i: usize) -> ResponseId {
    store
        .coding_queue(sid, &k("zeynep"), &QueueFilter::default())
        .await
        .unwrap()[i]
        .id
}

/// The tables of the migrated schema (every migration), by name.
async fn tables(store: &dyn Store) -> Vec<String> {
    let mut t: Vec<String> = match store.pool() {
        DbPool::Sqlite(p) => sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(&p)
        .await
        .unwrap(),
        DbPool::Postgres(p) => sqlx::query_scalar(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()",
        )
        .fetch_all(&p)
        .await
        .unwrap(),
    };
    t.sort();
    t
}

async fn count(store: &dyn Store, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    match store.pool() {
        DbPool::Sqlite(p) => sqlx::query_scalar(&sql).fetch_one(&p).await.unwrap(),
        DbPool::Postgres(p) => sqlx::query_scalar(&sql).fetch_one(&p).await.unwrap(),
    }
}

/// Tables a copy deliberately leaves alone: the target's own migration
/// bookkeeping; `web_sessions`, the web server's sign-ins (a copy or a
/// restore starts without any); `rate_limits`, the web server's
/// failed-attempt counters of the last minutes: transient, per server
/// database, like the sessions.
const NOT_CARRIED: &[&str] = &["_sqlx_migrations", "rate_limits", "web_sessions"];

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
    assert_eq!(report.trainee_accounts, 1);
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

    // The later migrations' rows arrived and work in the copy.
    let bsid = b.list_studies().await.unwrap()[0].id;
    let zeynep = k("zeynep");
    assert_eq!(b.undo_depth(bsid, &zeynep).await.unwrap(), a.undo_depth(sid, &zeynep).await.unwrap());
    assert!(!b.coding_blind(bsid).await.unwrap());
    let setup = |s: CodingSetup| {
        s.coders.into_iter().map(|c| (c.name.to_string(), c.assignment, c.assigned)).collect::<Vec<_>>()
    };
    assert_eq!(setup(b.coding_setup(bsid).await.unwrap()), setup(a.coding_setup(sid).await.unwrap()));
    assert_eq!(b.quote_rules(bsid).await.unwrap(), a.quote_rules(sid).await.unwrap());
    assert_eq!(b.codebook_versions(bsid).await.unwrap().len(), a.codebook_versions(sid).await.unwrap().len());
    let trainee = b.trainee_by_token("thash-2").await.unwrap().unwrap();
    assert!(b.trainee_by_token("thash-1").await.unwrap().is_none());
    assert_eq!(b.trainee_exercises(trainee.id).await.unwrap().len(), 1);
    // The redo stack refers to the copied coding: redo brings the memo back,
    // in the copy as in the original.
    for (s, id) in [(&a, sid), (&b, bsid)] {
        let redo = s.redo_coding(id, &zeynep, "zeynep").await.unwrap().unwrap();
        assert_eq!(redo.coding.unwrap().memo.as_deref(), Some("kaçınma"));
    }
    assert_eq!(b.suggestion_setting(bsid).await.unwrap(), a.suggestion_setting(sid).await.unwrap());
    assert_eq!(
        b.rejected_suggestions(bsid, &zeynep, rec_response(b.as_ref(), bsid, 5).await).await.unwrap(),
        vec![path("Cause/Patient/Pathology")]
    );
    // Undo in the copy: the update, then the whole "code all hits" batch.
    let codings = b.load_study(bsid).await.unwrap().codings.len();
    b.undo_coding(bsid, &zeynep, "zeynep").await.unwrap().unwrap();
    b.undo_coding(bsid, &zeynep, "zeynep").await.unwrap().unwrap();
    assert_eq!(b.load_study(bsid).await.unwrap().codings.len(), codings - 2);
    b.redo_coding(bsid, &zeynep, "zeynep").await.unwrap().unwrap();
    assert_eq!(b.load_study(bsid).await.unwrap().codings.len(), codings);
    // A deleted code comes back in the copy with its coding.
    let path_of = |v: Vec<StoredCode>| v.into_iter().map(|c| c.code.path).collect::<Vec<_>>();
    assert!(!path_of(b.codebook(bsid).await.unwrap()).contains(&spare_leaf()));
    let del = match b.pool() {
        DbPool::Sqlite(p) => sqlx::query_scalar::<_, i64>("SELECT id FROM codebook_deletions").fetch_one(&p).await.unwrap(),
        DbPool::Postgres(p) => sqlx::query_scalar::<_, i64>("SELECT id FROM codebook_deletions").fetch_one(&p).await.unwrap(),
    };
    assert_eq!(b.undo_delete_code(bsid, del, "ayse").await.unwrap(), spare_leaf());
    let restored = b.codebook(bsid).await.unwrap().into_iter().find(|c| c.code.path == spare_leaf()).unwrap();
    assert!(restored.codings >= 1);

    // A second copy into the same target is refused and changes nothing.
    let b_now = b.export_database(None).await.unwrap();
    assert!(matches!(copy(a.as_ref(), b.as_ref(), None).await, Err(StoreError::StudyExists(_))));
    assert_eq!(b.export_database(None).await.unwrap(), b_now);
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

db_test! {
#[tokio::test]
async fn every_table_of_the_schema_is_carried() {
    // SQLite → this backend → SQLite. Every table of every migration (minus
    // NOT_CARRIED) must be filled by the fixture and arrive with as many rows:
    // a new migration's table fails here until the copy carries it.
    let dir = tempfile::tempdir().unwrap();
    let a = TestDb::create_for(Backend::Sqlite, &dir.path().join("a.db")).await;
    let b = TestDb::create(&dir.path().join("b.db")).await;
    let c = TestDb::create_for(Backend::Sqlite, &dir.path().join("c.db")).await;
    let (a, b, c) = (a.open().await.unwrap(), b.open().await.unwrap(), c.open().await.unwrap());
    populate(a.as_ref()).await;
    copy(a.as_ref(), b.as_ref(), None).await.unwrap();
    copy(b.as_ref(), c.as_ref(), None).await.unwrap();
    let names = tables(a.as_ref()).await;
    assert_eq!(tables(b.as_ref()).await, names, "both backends' migrations create the same tables");
    assert!(names.len() >= 30, "{names:?}");
    let mut missing = Vec::new();
    for t in names.iter().filter(|t| !NOT_CARRIED.contains(&t.as_str())) {
        let n = count(a.as_ref(), t).await;
        assert!(n > 0, "the fixture leaves table `{t}` empty: fill it in populate() so the copy is checked");
        for (which, s) in [("copy", &b), ("copy back", &c)] {
            let m = count(s.as_ref(), t).await;
            if m != n {
                missing.push(format!("{t}: {n} rows, {m} after the {which}"));
            }
        }
    }
    assert!(missing.is_empty(), "tables not carried by copy/backup: {missing:?}");
    for s in [a, b, c] {
        s.close().await;
    }
}
}

db_test! {
#[tokio::test]
async fn a_trainee_account_of_the_same_name_in_the_target_is_kept_only_if_it_is_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let a = TestDb::create_for(Backend::Sqlite, &dir.path().join("a.db")).await;
    let b = TestDb::create(&dir.path().join("b.db")).await;
    let (a, b) = (a.open().await.unwrap(), b.open().await.unwrap());
    populate(a.as_ref()).await;
    // The target has another person's account called deniz.
    let other = b.create_study(&example_with_key("other-study")).await.unwrap();
    let m = b
        .create_training_module(other, &NewModule {
            title: "Other".into(),
            segments: vec![k("S1")],
            questions: vec![k("Q1")],
            feedback: FeedbackOptions::default(),
            prompts: BTreeMap::new(),
        }, "x")
        .await
        .unwrap();
    b.enrol_trainee_account(m, "deniz", "phc-someone-else", "x").await.unwrap();
    b.enrol_trainee_account(m, "elif", "phc-elif", "x").await.unwrap();
    let before = b.export_database(None).await.unwrap();
    let err = copy(a.as_ref(), b.as_ref(), None).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m.contains("`deniz`")), "{err}");
    assert_eq!(b.export_database(None).await.unwrap(), before, "a failed copy changes nothing");
    // The same account (same hash) is kept, and the enrolment joins it.
    b.set_trainee_password(b.trainee_account_by_name("deniz").await.unwrap().unwrap().id, "phc-deniz")
        .await
        .unwrap();
    let report = copy(a.as_ref(), b.as_ref(), None).await.unwrap();
    assert_eq!(report.trainee_accounts, 0);
    assert_eq!(report.trainee_accounts_kept, ["deniz"]);
    let acc = b.trainee_account_by_name("deniz").await.unwrap().unwrap();
    assert_eq!(b.trainee_enrolments(acc.id).await.unwrap().len(), 2);
    // A one-study export carries only that study's trainee accounts.
    let copied = b.list_studies().await.unwrap().into_iter().find(|s| s.key == "rupture-study").unwrap();
    let names = |e: &rupturelab_store::transfer::DatabaseExport| {
        e.trainee_accounts.iter().map(|a| a.username.clone()).collect::<Vec<_>>()
    };
    assert_eq!(names(&b.export_database(Some(copied.id)).await.unwrap()), ["deniz"]);
    assert_eq!(names(&b.export_database(Some(other)).await.unwrap()), ["deniz", "elif"]);
    a.close().await;
    b.close().await;
}
}
