//! `rupturelab copy`, `backup` and `restore` through the binary: the demo
//! study, with rows in the tables later migrations added (coding with undo
//! steps and a "code all hits" batch, a deleted code, blind mode, a share
//! assignment, a quote rule, a training module with a trainee and an
//! exercise, suggestion settings and a rejection), goes SQLite → (SQLite or
//! PostgreSQL) → SQLite and stays the same; a backup restores into an empty
//! database with all of it.

use assert_cmd::Command;
use rupturelab_core::training::{starter_prompts, Focus};
use rupturelab_core::*;
use rupturelab_store::db_test;
use rupturelab_store::testing::TestDb;
use rupturelab_store::training::*;
use rupturelab_store::*;

fn rl() -> Command {
    let mut c = Command::cargo_bin("rupturelab").unwrap();
    c.env_remove("RUPTURELAB_DB");
    c
}

fn summary(db: &str) -> String {
    let out = rl().args(["summary", "--db", db]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn k(s: &str) -> Key {
    Key::parse(s).unwrap()
}

/// Rows in every table the later migrations added, through the store.
async fn fill(db: &str) {
    let store = rupturelab_store::open(db).await.unwrap();
    let sid = store.list_studies().await.unwrap()[0].id;
    let zeynep = k("zeynep");
    let queue = store
        .coding_queue(sid, &zeynep, &QueueFilter::default())
        .await
        .unwrap();
    let codes = store.codebook(sid).await.unwrap();
    let leaves: Vec<&StoredCode> = codes
        .iter()
        .filter(|c| c.code.codable && !codes.iter().any(|d| d.parent == Some(c.id)))
        .collect();
    let (keep, gone) = (leaves[0], leaves[leaves.len() - 1]);
    let new = |i: usize, code: &CodePath| NewCoding {
        coder: zeynep.clone(),
        response: queue[i].id,
        code: code.clone(),
        span: None,
        memo: Some("not".into()),
    };
    let c1 = store
        .add_coding(sid, &new(0, &keep.code.path), "zeynep")
        .await
        .unwrap();
    store
        .add_coding(sid, &new(1, &gone.code.path), "zeynep")
        .await
        .unwrap();
    store.delete_code(sid, gone.id, "ayse").await.unwrap();
    let hits = [2, 3].map(|i| HitCoding {
        response: queue[i].id,
        span: None,
    });
    store
        .add_hit_codings(sid, &zeynep, &keep.code.path, &hits, "q", "zeynep")
        .await
        .unwrap();
    let change = CodingChange {
        memo: Some(Some("kaçınma".into())),
        ..CodingChange::default()
    };
    store
        .update_coding(sid, c1.id, c1.version, &change, "zeynep")
        .await
        .unwrap();
    store
        .undo_coding(sid, &zeynep, "zeynep")
        .await
        .unwrap()
        .unwrap();
    store.set_blind(sid, false, "ayse").await.unwrap();
    store
        .set_assignment(
            sid,
            &k("mert"),
            Assignment::Share {
                percent: 30.0,
                seed: 3,
            },
            "ayse",
        )
        .await
        .unwrap();
    store
        .set_suggestion_setting(sid, Some(false), "ayse")
        .await
        .unwrap();
    store
        .reject_suggestion(sid, &zeynep, queue[4].id, &keep.code.path, 0.5, "zeynep")
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
    let segment = queue[0].key.segment.clone().unwrap();
    let module = NewModule {
        title: "Ruptures".into(),
        segments: vec![segment.clone()],
        questions: vec![queue[0].key.question.clone()],
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
    let exercise = Exercise {
        segment,
        answers: vec![ExerciseAnswer {
            question: queue[0].key.question.clone(),
            answer: Answer::Text("zorladı".into()),
            auto_codes: vec![AutoCode {
                code: keep.code.path.clone(),
                confidence: 0.7,
            }],
        }],
        marks: vec![Focus::Therapist],
        submitted_at: Timestamp(2000),
    };
    store.save_exercise(t, &exercise).await.unwrap();
    store.close().await;
}

/// Everything a copy carries, read through the store.
async fn everything(db: &str) -> rupturelab_store::transfer::DatabaseExport {
    let store = rupturelab_store::open(db).await.unwrap();
    let all = store.export_database(None).await.unwrap();
    store.close().await;
    all
}

db_test! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_moves_a_study_there_and_back_and_backup_restores_it() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.rupturelab");
    let a = a.to_str().unwrap();
    rl().args(["demo", "--db", a]).assert().success();
    fill(a).await;
    let original = everything(a).await;
    let s = &original.studies[0];
    assert!(s.blind.is_some() && s.suggestions.is_some() && !s.assignments.is_empty());
    assert!(!s.assigned.is_empty() && !s.quote_rules.is_empty() && !s.codebook_deletions.is_empty());
    assert!(s.undo.iter().any(|u| u.undone) && s.undo.iter().any(|u| !u.batch.is_empty()));
    assert!(!s.training[0].trainees[0].exercises.is_empty() && !s.suggestion_decisions.is_empty());
    // The middle database is this variant's backend (a PostgreSQL database on `postgres`).
    let b = TestDb::create(&dir.path().join("b.rupturelab")).await;
    let c = dir.path().join("c.rupturelab");
    let c = c.to_str().unwrap();

    let out = rl().args(["copy", "--from", a, "--to", &b.location]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("Copied and verified") && said.contains("rupture-study"), "{said}");
    if let Some(password) = b
        .location
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, p)| p)
    {
        assert!(!said.contains(&format!(":{password}@")), "a password was printed: {said}");
    }
    rl().args(["copy", "--from", &b.location, "--to", c]).assert().success();
    assert_eq!(summary(c), summary(a));
    assert_eq!(summary(&b.location), summary(a));
    assert_eq!(everything(c).await, original);
    assert_eq!(everything(&b.location).await, original);
    // Copying again is refused: the study exists there.
    let again = rl().args(["copy", "--from", a, "--to", c]).output().unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // backup of the middle database, restore into a new SQLite file.
    let backup = dir.path().join("backup.rupturelab");
    let backup = backup.to_str().unwrap();
    rl().args(["backup", backup, "--db", &b.location]).assert().success();
    let exists = rl().args(["backup", backup, "--db", &b.location]).output().unwrap();
    assert!(!exists.status.success(), "an existing backup must not be overwritten");
    let restored = dir.path().join("restored.rupturelab");
    let restored = restored.to_str().unwrap();
    rl().args(["restore", backup, "--db", restored]).assert().success();
    assert_eq!(summary(restored), summary(a));
    assert_eq!(everything(restored).await, original);
    assert_eq!(everything(backup).await, original);
    // A SQLite backup (VACUUM INTO) is the whole file, and restores likewise.
    let backup_a = dir.path().join("backup-a.rupturelab");
    let backup_a = backup_a.to_str().unwrap();
    rl().args(["backup", backup_a, "--db", a]).assert().success();
    let restored_a = TestDb::create(&dir.path().join("restored-a.rupturelab")).await;
    rl().args(["restore", backup_a, "--db", &restored_a.location]).assert().success();
    assert_eq!(everything(backup_a).await, original);
    assert_eq!(everything(&restored_a.location).await, original);
}
}
