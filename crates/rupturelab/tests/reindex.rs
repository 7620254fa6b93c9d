//! `rupturelab reindex`: builds `<db>.index/` from the study and the index
//! finds what the study says (checked through the search crate).

use std::path::Path;

use assert_cmd::Command;
use predicates::str::contains;

fn rupturelab(db: &Path) -> Command {
    let mut c = Command::cargo_bin("rupturelab").unwrap();
    c.arg("--db").arg(db).env_remove("RUPTURELAB_DB");
    c
}

#[test]
fn reindex_builds_the_index_beside_the_database_and_search_finds_answers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("study.rupturelab");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/rupture-study");
    rupturelab(&db)
        .arg("import")
        .arg(example)
        .assert()
        .success();
    let out = rupturelab(&db)
        .args(["reindex", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let text = v.to_string();
    assert!(text.contains("rupture-study"), "{text}");
    let index_dir = dir.path().join("study.rupturelab.index");
    assert!(index_dir.join("meta.json").exists());

    // The index holds every open answer and transcript turn of the study.
    let study = {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let store = rupturelab_store::open(db.to_str().unwrap()).await.unwrap();
            let info = rupturelab_store::find_study(store.as_ref(), None)
                .await
                .unwrap();
            let s = store.load_study(info.id).await.unwrap();
            store.close().await;
            s
        })
    };
    let idx = rupturelab_search::SearchIndex::open(&index_dir).unwrap();
    let hits = rupturelab_search::search(&idx, &study, "homework", 1000).unwrap();
    let by_text = study
        .responses
        .iter()
        .filter(|r| {
            r.answer
                .text()
                .is_some_and(|t| t.to_lowercase().contains("homework"))
        })
        .count();
    let responses = hits
        .iter()
        .filter(|h| matches!(h.target, rupturelab_search::Target::Response { .. }))
        .count();
    assert_eq!(responses, by_text);
    drop(idx);

    // Reindexing one study, and a clear error for an unknown one.
    rupturelab(&db)
        .args(["reindex", "--study", "rupture-study"])
        .assert()
        .success()
        .stdout(contains("rupture-study"));
    rupturelab(&db)
        .args(["reindex", "--study", "nope"])
        .assert()
        .failure()
        .stderr(contains("no study `nope`"));
    // A missing database is named.
    rupturelab(&dir.path().join("missing.rupturelab"))
        .arg("reindex")
        .assert()
        .failure()
        .stderr(contains("missing.rupturelab"));
}
