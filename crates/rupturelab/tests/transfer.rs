//! `rupturelab copy`, `backup` and `restore` through the binary: the demo
//! study goes SQLite → (SQLite or PostgreSQL) → SQLite and stays the same;
//! a backup restores into an empty database.

use assert_cmd::Command;
use rupturelab_store::db_test;
use rupturelab_store::testing::TestDb;

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

db_test! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_moves_a_study_there_and_back_and_backup_restores_it() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.rupturelab");
    let a = a.to_str().unwrap();
    rl().args(["demo", "--db", a]).assert().success();
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
}
}
