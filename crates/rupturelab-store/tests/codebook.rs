//! Codebook editing on a real database (SQLite and PostgreSQL, `db_test!`): renames, moves, merges and
//! deletions (with undo) keep every path derived from the tree and every
//! coding on its code; every change is audited and versioned, and the
//! codebook as of a date is the one that was current then.

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

async fn setup() -> (
    (tempfile::TempDir, TestDb),
    Box<dyn Store>,
    StudyId,
    StudyData,
) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("t.db")).await;
    let store = db.open().await.unwrap();
    let data = example();
    let id = store.create_study(&data).await.unwrap();
    ((dir, db), store, id, data)
}

async fn id_of(store: &dyn Store, id: StudyId, path: &str) -> CodeId {
    store
        .codebook(id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.code.path.as_str() == path)
        .unwrap_or_else(|| panic!("no code {path}"))
        .id
}

/// Every path is its parent's path plus its key, parents come first, the
/// editor's order is the loaded order, and every coding's code exists.
async fn assert_consistent(store: &dyn Store, id: StudyId) -> StudyData {
    let data = store.load_study(id).await.unwrap();
    let tree = store.codebook(id).await.unwrap();
    assert_eq!(
        tree.iter().map(|c| c.code.clone()).collect::<Vec<_>>(),
        data.codes
    );
    let by_id: BTreeMap<CodeId, &StoredCode> = tree.iter().map(|c| (c.id, c)).collect();
    let mut seen = std::collections::HashSet::new();
    for c in &tree {
        match c.parent {
            Some(p) => {
                let parent = by_id[&p];
                assert!(seen.contains(&p), "{} before its parent", c.code.path);
                assert_eq!(
                    c.code.path.parent().unwrap(),
                    parent.code.path,
                    "path of {}",
                    c.code.path
                );
            }
            None => assert_eq!(c.code.path.depth(), 1),
        }
        seen.insert(c.id);
    }
    for c in &data.codings {
        assert!(data.code(c.code.as_str()).is_some(), "{} lost", c.code);
    }
    let total: i64 = tree.iter().map(|c| c.codings).sum();
    assert_eq!(total as usize, data.codings.len());
    data
}

fn coding_keys(d: &StudyData) -> Vec<(String, String, String, Option<Span>)> {
    let mut v: Vec<_> = d
        .codings
        .iter()
        .map(|c| {
            (
                c.coder.to_string(),
                c.response.to_string(),
                c.code.to_string(),
                c.span,
            )
        })
        .collect();
    v.sort();
    v
}

db_test! {
#[tokio::test]
async fn rename_and_moves_rewrite_paths_below_and_keep_codings() {
    let (_d, store, id, data) = setup().await;
    let patient = id_of(store.as_ref(), id, "Cause/Patient").await;
    let before = data
        .codings
        .iter()
        .filter(|c| c.code.as_str() == "Cause/Patient/Resistance")
        .count();
    assert!(before > 0);
    let old = store
        .codebook(id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.id == patient)
        .unwrap();
    let edit = CodeEdit {
        key: k("Client"),
        name: "Client's contribution".into(),
        codable: true,
        definition: old.code.definition.clone(),
        inclusion: old.code.inclusion.clone(),
        exclusion: old.code.exclusion.clone(),
        example: old.code.example.clone(),
        colour: Some("#112233".into()),
    };
    let saved = store.edit_code(id, patient, &edit, "ayse").await.unwrap();
    assert_eq!(saved.code.path.as_str(), "Cause/Client");
    let d = assert_consistent(store.as_ref(), id).await;
    assert!(d.code("Cause/Patient/Resistance").is_none());
    assert_eq!(
        d.codings
            .iter()
            .filter(|c| c.code.as_str() == "Cause/Client/Resistance")
            .count(),
        before
    );
    assert_eq!(d.codings.len(), data.codings.len());

    // Keyboard moves: indent under the previous sibling, outdent, up, down.
    let therapist = id_of(store.as_ref(), id, "Cause/Therapist").await;
    store
        .move_code(id, therapist, CodeMove::Indent, "ayse")
        .await
        .unwrap();
    let d = assert_consistent(store.as_ref(), id).await;
    assert!(d.code("Cause/Client/Therapist/EmpathicFailure").is_some());
    store
        .move_code(id, therapist, CodeMove::Outdent, "ayse")
        .await
        .unwrap();
    let d = assert_consistent(store.as_ref(), id).await;
    assert!(d.code("Cause/Therapist/EmpathicFailure").is_some());
    let pos = |d: &StudyData, p: &str| d.codes.iter().position(|c| c.path.as_str() == p);
    assert!(pos(&d, "Cause/Client") < pos(&d, "Cause/Therapist"));
    store
        .move_code(id, therapist, CodeMove::Up, "ayse")
        .await
        .unwrap();
    let d = assert_consistent(store.as_ref(), id).await;
    assert!(pos(&d, "Cause/Therapist") < pos(&d, "Cause/Client"));
    store
        .move_code(id, therapist, CodeMove::Down, "ayse")
        .await
        .unwrap();
    // Moving across categories, by drag-and-drop style target.
    let resolution = id_of(store.as_ref(), id, "Resolution").await;
    let clarify = id_of(store.as_ref(), id, "Resolution/Technical/Clarify").await;
    store
        .move_code(
            id,
            clarify,
            CodeMove::To {
                parent: Some(resolution),
                position: 0,
            },
            "ayse",
        )
        .await
        .unwrap();
    let d = assert_consistent(store.as_ref(), id).await;
    assert_eq!(
        d.codes
            .iter()
            .find(|c| c.path.parent().is_some_and(|p| p.as_str() == "Resolution"))
            .unwrap()
            .path
            .as_str(),
        "Resolution/Clarify"
    );
    assert_eq!(d.codings.len(), data.codings.len());

    // Refusals change nothing.
    let cause = id_of(store.as_ref(), id, "Cause").await;
    let e = store
        .move_code(
            id,
            cause,
            CodeMove::To {
                parent: Some(therapist),
                position: 0,
            },
            "ayse",
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("under itself"), "{e}");
    let e = store
        .move_code(id, cause, CodeMove::Up, "ayse")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("first"), "{e}");
    let mut dup = edit.clone();
    dup.key = k("Therapist");
    let e = store
        .edit_code(id, patient, &dup, "ayse")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("two codes `Cause/Therapist`"), "{e}");
    let mut bad = edit.clone();
    bad.colour = Some("red".into());
    let e = store
        .edit_code(id, patient, &bad, "ayse")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("#RRGGBB"), "{e}");
    let resistance = id_of(store.as_ref(), id, "Cause/Client/Resistance").await;
    let mut uncodable = edit.clone();
    uncodable.key = k("Resistance");
    uncodable.codable = false;
    let e = store
        .edit_code(id, resistance, &uncodable, "ayse")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("must stay codable"), "{e}");
    assert_eq!(assert_consistent(store.as_ref(), id).await, d);

    // Each change is one audit event.
    let audit: Vec<_> = d
        .audit
        .iter()
        .filter(|a| a.action.starts_with("codebook."))
        .map(|a| a.action.as_str())
        .collect();
    assert_eq!(
        audit,
        [
            "codebook.rename",
            "codebook.move",
            "codebook.move",
            "codebook.move",
            "codebook.move",
            "codebook.move"
        ]
    );
    let rename = d
        .audit
        .iter()
        .find(|a| a.action == "codebook.rename")
        .unwrap();
    assert!(rename.detail.contains("`Cause/Patient` → `Cause/Client`"));
    assert_eq!(rename.actor, "ayse");
}
}

db_test! {
#[tokio::test]
async fn merge_moves_codings_to_the_survivor_and_collapses_duplicates() {
    let (_d, store, _id, data) = setup().await;
    // Make one exact duplicate: a consensus coding of Pathology on a
    // response where the consensus already has Resistance (whole response).
    let target = data
        .codings
        .iter()
        .find(|c| c.code.as_str() == "Cause/Patient/Resistance" && c.coder.as_str() == "consensus")
        .unwrap()
        .clone();
    let mut d0 = data.clone();
    d0.codings
        .retain(|c| c.response != target.response || c.coder.as_str() != "consensus");
    d0.codings.push(Coding {
        code: CodePath::parse("Cause/Patient/Resistance").unwrap(),
        span: None,
        ..target.clone()
    });
    d0.codings.push(Coding {
        code: CodePath::parse("Cause/Patient/Pathology").unwrap(),
        span: None,
        ..target.clone()
    });
    store.replace_study(&d0).await.unwrap();
    let id = store.list_studies().await.unwrap()[0].id;
    let _ = data;
    let count = |d: &StudyData, p: &str| d.codings.iter().filter(|c| c.code.as_str() == p).count();
    let res = count(&d0, "Cause/Patient/Resistance");
    let path = count(&d0, "Cause/Patient/Pathology");
    let union: std::collections::HashSet<_> = d0
        .codings
        .iter()
        .filter(|c| {
            c.code.as_str().starts_with("Cause/Patient/Resistance")
                || c.code.as_str() == "Cause/Patient/Pathology"
        })
        .map(|c| (c.coder.clone(), c.response.clone(), c.span))
        .collect();
    let from = id_of(store.as_ref(), id, "Cause/Patient/Pathology").await;
    let into = id_of(store.as_ref(), id, "Cause/Patient/Resistance").await;
    let out = store.merge_codes(id, from, into, "ayse").await.unwrap();
    assert_eq!(out.moved as usize + out.collapsed as usize, path);
    assert!(out.collapsed >= 1);
    let d = assert_consistent(store.as_ref(), id).await;
    assert!(d.code("Cause/Patient/Pathology").is_none());
    assert_eq!(count(&d, "Cause/Patient/Resistance"), union.len());
    assert_eq!(union.len(), res + path - out.collapsed as usize);
    assert_eq!(d.codings.len(), d0.codings.len() - out.collapsed as usize);
    let ev = d
        .audit
        .iter()
        .find(|a| a.action == "codebook.merge")
        .unwrap();
    assert!(ev.detail.contains("duplicates collapsed"), "{}", ev.detail);

    // A category with sub-codes merges into another: the sub-codes move.
    let from = id_of(store.as_ref(), id, "Cause/Relationship").await;
    let into = id_of(store.as_ref(), id, "Cause/Therapist").await;
    store.merge_codes(id, from, into, "ayse").await.unwrap();
    let d = assert_consistent(store.as_ref(), id).await;
    assert!(d.code("Cause/Therapist/GoalMismatch").is_some());
    // Into its own sub-code: refused.
    let cause = id_of(store.as_ref(), id, "Cause").await;
    let e = store
        .merge_codes(id, cause, into, "ayse")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("own sub-codes"), "{e}");
}
}

db_test! {
#[tokio::test]
async fn delete_counts_what_goes_and_undo_restores_codes_and_codings() {
    let (_d, store, id, data) = setup().await;
    let therapist = id_of(store.as_ref(), id, "Cause/Therapist").await;
    let imp = store.delete_impact(id, therapist).await.unwrap();
    let expected = data
        .codings
        .iter()
        .filter(|c| c.code.as_str().starts_with("Cause/Therapist"))
        .count();
    assert!(expected > 0);
    assert_eq!(imp.codes, 6);
    assert_eq!(imp.codings as usize, expected);
    let del = store.delete_code(id, therapist, "ayse").await.unwrap();
    assert_eq!(del.impact, imp);
    let d = assert_consistent(store.as_ref(), id).await;
    assert!(d.code("Cause/Therapist").is_none());
    assert_eq!(d.codings.len(), data.codings.len() - expected);
    // Undo: the code is back in its place, with its codings.
    let path = store.undo_delete_code(id, del.id, "ayse").await.unwrap();
    assert_eq!(path.as_str(), "Cause/Therapist");
    let d = assert_consistent(store.as_ref(), id).await;
    assert_eq!(d.codes, data.codes);
    assert_eq!(coding_keys(&d), coding_keys(&data));
    // Twice: refused.
    let e = store
        .undo_delete_code(id, del.id, "ayse")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("undone already"), "{e}");
    // Undo after the parent was renamed: restored under the new path.
    let therapist = id_of(store.as_ref(), id, "Cause/Therapist/Agenda").await;
    let del = store.delete_code(id, therapist, "ayse").await.unwrap();
    let cause = id_of(store.as_ref(), id, "Cause/Therapist").await;
    let c = d.code("Cause/Therapist").unwrap();
    store
        .edit_code(
            id,
            cause,
            &CodeEdit {
                key: k("Clinician"),
                name: c.name.clone(),
                codable: c.codable,
                definition: None,
                inclusion: None,
                exclusion: None,
                example: None,
                colour: None,
            },
            "ayse",
        )
        .await
        .unwrap();
    let path = store.undo_delete_code(id, del.id, "ayse").await.unwrap();
    assert_eq!(path.as_str(), "Cause/Clinician/Agenda");
    let d = assert_consistent(store.as_ref(), id).await;
    assert_eq!(d.codings.len(), data.codings.len());
    let actions: Vec<_> = d.audit.iter().map(|a| a.action.as_str()).collect();
    assert!(actions.contains(&"codebook.delete") && actions.contains(&"codebook.restore"));
}
}

db_test! {
#[tokio::test]
async fn the_codebook_as_of_a_date_is_the_version_current_then() {
    let (_d, store, id, data) = setup().await;
    let created = Timestamp::now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let cause = id_of(store.as_ref(), id, "Cause").await;
    let added = store
        .add_code(
            id,
            &NewCode {
                parent: Some(cause),
                key: k("Other"),
                name: "Other cause".into(),
                codable: true,
            },
            "ayse",
        )
        .await
        .unwrap();
    assert_eq!(added.code.path.as_str(), "Cause/Other");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let after_add = Timestamp::now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    store.delete_code(id, added.id, "ayse").await.unwrap();
    let now = Timestamp::now();

    let v = store.codebook_versions(id).await.unwrap();
    let actions: Vec<_> = v.iter().map(|v| v.action.as_str()).collect();
    assert_eq!(
        actions,
        ["codebook.baseline", "codebook.add", "codebook.delete"]
    );
    assert_eq!(v[1].codes, data.codes.len() + 1);
    let at = |t| store.codebook_as_of(id, t);
    assert_eq!(at(created).await.unwrap().unwrap(), data.codes);
    let then = at(after_add).await.unwrap().unwrap();
    assert_eq!(then.len(), data.codes.len() + 1);
    assert!(then.iter().any(|c| c.path.as_str() == "Cause/Other"));
    // The snapshot is in tree order: the new code comes right after Cause's
    // last sub-code, before Resolution.
    let pos = |p: &str| then.iter().position(|c| c.path.as_str() == p).unwrap();
    assert!(pos("Cause/Other") < pos("Resolution"));
    assert_eq!(at(now).await.unwrap().unwrap(), data.codes);
    assert_eq!(at(Timestamp(0)).await.unwrap(), None);
}
}

db_test! {
#[tokio::test]
async fn replacing_the_codebook_is_all_or_nothing() {
    let (_d, store, id, data) = setup().await;
    let three_rs = rupturelab_core::templates::CodebookTemplate::ThreeRs.codes();
    let e = store
        .replace_codebook(id, &three_rs, "the 3RS template", "ayse")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("codings use `Cause/Patient"), "{e}");
    assert_eq!(store.load_study(id).await.unwrap().codes, data.codes);
    // Adding to the codebook keeps the codes in use (same ids, same codings).
    let mut more = data.codes.clone();
    more.push(Code {
        path: CodePath::parse("Extra").unwrap(),
        name: "Extra".into(),
        codable: true,
        definition: None,
        inclusion: None,
        exclusion: None,
        example: None,
        colour: None,
    });
    store
        .replace_codebook(id, &more, "a file", "ayse")
        .await
        .unwrap();
    let d = assert_consistent(store.as_ref(), id).await;
    assert_eq!(d.codes, more);
    assert_eq!(coding_keys(&d), coding_keys(&data));
    // An empty study takes a template.
    let empty = StudyData::new(k("empty"), "Empty");
    let eid = store.create_study(&empty).await.unwrap();
    store
        .replace_codebook(eid, &three_rs, "the 3RS template", "ayse")
        .await
        .unwrap();
    let d = assert_consistent(store.as_ref(), eid).await;
    assert_eq!(d.codes, three_rs);
    assert_eq!(d.audit.last().unwrap().action, "codebook.replace");
}
}

db_test! {
#[tokio::test]
async fn consensus_of_a_response_is_replaced_with_its_note_and_audited() {
    let (_d, store, id, data) = setup().await;
    let resp = data.codings[0].response.clone();
    let text_len = data
        .response(&resp)
        .unwrap()
        .answer
        .text()
        .unwrap()
        .chars()
        .count();
    let want = vec![
        ConsensusCoding {
            code: CodePath::parse("Cause/Patient/Transference").unwrap(),
            span: Some(Span { start: 0, end: 4 }),
        },
        ConsensusCoding {
            code: CodePath::parse("Cause/Therapist/Agenda").unwrap(),
            span: None,
        },
    ];
    store
        .save_consensus(id, &resp, &want, "We agreed after discussion.", "ayse")
        .await
        .unwrap();
    let d = assert_consistent(store.as_ref(), id).await;
    let mut cons: Vec<_> = d
        .codings
        .iter()
        .filter(|c| c.response == resp && c.coder.as_str() == CONSENSUS)
        .map(|c| (c.code.to_string(), c.span))
        .collect();
    cons.sort();
    assert_eq!(
        cons,
        [
            (
                "Cause/Patient/Transference".to_string(),
                Some(Span { start: 0, end: 4 })
            ),
            ("Cause/Therapist/Agenda".to_string(), None)
        ]
    );
    // Other responses' consensus and other coders are untouched.
    let others = |d: &StudyData| {
        d.codings
            .iter()
            .filter(|c| c.response != resp || c.coder.as_str() != CONSENSUS)
            .count()
    };
    assert_eq!(others(&d), others(&data));
    let note = d
        .memos
        .iter()
        .find(|m| m.author == CONSENSUS && m.target == MemoTarget::Response(resp.clone()))
        .unwrap();
    assert_eq!(note.text, "We agreed after discussion.");
    let ev = d.audit.last().unwrap();
    assert_eq!(ev.action, "consensus.save");
    assert!(
        ev.detail.contains("Cause/Therapist/Agenda"),
        "{}",
        ev.detail
    );
    assert!(ev.detail.contains("note added"));
    // Refusals: a span past the end, a category, an unknown code.
    for (c, msg) in [
        (
            ConsensusCoding {
                code: CodePath::parse("Cause/Therapist/Agenda").unwrap(),
                span: Some(Span {
                    start: 0,
                    end: text_len + 1,
                }),
            },
            "not within the answer",
        ),
        (
            ConsensusCoding {
                code: CodePath::parse("Cause").unwrap(),
                span: None,
            },
            "not codable",
        ),
        (
            ConsensusCoding {
                code: CodePath::parse("Nope").unwrap(),
                span: None,
            },
            "no code `Nope`",
        ),
    ] {
        let e = store
            .save_consensus(id, &resp, &[c], "", "ayse")
            .await
            .unwrap_err();
        assert!(e.to_string().contains(msg), "{e}");
    }
    assert_eq!(store.load_study(id).await.unwrap().codings, d.codings);
}
}
