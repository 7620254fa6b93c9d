//! The report's quote pins and exclusions stored per study: validated
//! against the study, listed pins first, each change audited in the same
//! transaction, gone with the study.

use rupturelab_core::*;
use rupturelab_store::db_test;
use rupturelab_store::testing::TestDb;
use rupturelab_store::*;

fn example() -> StudyData {
    rupturelab_store::testing::example_study("rupture-study")
}

fn rule(kind: QuoteRuleKind, theme: Option<&str>, response: &str) -> QuoteRule {
    let p: Vec<&str> = response.split('/').collect();
    QuoteRule {
        kind,
        theme: theme.map(|t| CodePath::parse(t).unwrap()),
        response: ResponseKey {
            participant: Key::parse(p[0]).unwrap(),
            segment: (!p[1].is_empty()).then(|| Key::parse(p[1]).unwrap()),
            question: Key::parse(p[2]).unwrap(),
        },
    }
}

db_test! {
#[tokio::test]
async fn quote_rules_are_validated_stored_audited_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("t.db")).await;
    let store = db.open().await.unwrap();
    let id = store.create_study(&example()).await.unwrap();
    let audit_before = store.load_study(id).await.unwrap().audit.len();
    assert!(store.quote_rules(id).await.unwrap().is_empty());

    let pin = rule(QuoteRuleKind::Pin, Some("Cause/Patient"), "P01/S1/Q1");
    let excl_all = rule(QuoteRuleKind::Exclude, None, "P02/S1/Q1");
    let excl_one = rule(QuoteRuleKind::Exclude, Some("Cause/Therapist"), "P03/S2/Q1");
    assert!(store.add_quote_rule(id, &excl_all, "cli:t").await.unwrap());
    assert!(store.add_quote_rule(id, &pin, "cli:t").await.unwrap());
    assert!(store
        .add_quote_rule(id, &excl_one, "web:ayse")
        .await
        .unwrap());
    // The same rule again changes nothing and is not audited twice.
    assert!(!store.add_quote_rule(id, &pin, "cli:t").await.unwrap());
    assert_eq!(
        store.quote_rules(id).await.unwrap(),
        vec![pin.clone(), excl_all.clone(), excl_one.clone()],
        "pins first, then exclusions in the order added"
    );

    // Every change is in the audit trail, with who and before → after.
    let audit = store.load_study(id).await.unwrap().audit;
    let new: Vec<_> = audit[audit_before..].iter().collect();
    assert_eq!(new.len(), 3);
    assert_eq!(new[1].action, "quote.pin");
    assert_eq!(new[1].entity, "quote Cause/Patient=P01/S1/Q1");
    assert_eq!(new[1].detail, "— → pinned");
    assert_eq!(new[2].actor, "web:ayse");

    // Pinning an excluded answer (same theme) replaces the exclusion.
    let pin3 = rule(QuoteRuleKind::Pin, Some("Cause/Therapist"), "P03/S2/Q1");
    assert!(store.add_quote_rule(id, &pin3, "cli:t").await.unwrap());
    assert_eq!(
        store.quote_rules(id).await.unwrap(),
        vec![pin.clone(), pin3.clone(), excl_all.clone()]
    );
    let last = store.load_study(id).await.unwrap().audit.pop().unwrap();
    assert_eq!(last.detail, "excluded → pinned");

    // Errors name what is wrong; nothing is stored.
    let e = store
        .add_quote_rule(
            id,
            &rule(QuoteRuleKind::Pin, Some("Cause/Patient"), "P99/S1/Q1"),
            "t",
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("no answer P99/S1/Q1"), "{e}");
    let e = store
        .add_quote_rule(
            id,
            &rule(QuoteRuleKind::Pin, Some("Cause/Nope"), "P01/S1/Q1"),
            "t",
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("no code `Cause/Nope`"), "{e}");
    let e = store
        .add_quote_rule(
            id,
            &rule(
                QuoteRuleKind::Pin,
                Some("Cause/Patient/Resistance"),
                "P01/S1/Q1",
            ),
            "t",
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("is not a theme"), "{e}");
    let e = store
        .add_quote_rule(id, &rule(QuoteRuleKind::Pin, None, "P01/S1/Q1"), "t")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("THEME=P01/S1/Q1"), "{e}");
    assert_eq!(store.quote_rules(id).await.unwrap().len(), 3);

    // Removing: one rule, then all.
    assert!(store.remove_quote_rule(id, &pin, "cli:t").await.unwrap());
    assert!(!store.remove_quote_rule(id, &pin, "cli:t").await.unwrap());
    let last = store.load_study(id).await.unwrap().audit.pop().unwrap();
    assert_eq!(
        (last.action.as_str(), last.detail.as_str()),
        ("quote.unpin", "pinned → —")
    );
    assert_eq!(store.clear_quote_rules(id, "cli:t").await.unwrap(), 2);
    assert!(store.quote_rules(id).await.unwrap().is_empty());
    let last = store.load_study(id).await.unwrap().audit.pop().unwrap();
    assert_eq!(
        (last.action.as_str(), last.detail.as_str()),
        ("quote.clear", "1 pinned, 1 excluded → none")
    );
    assert_eq!(store.clear_quote_rules(id, "cli:t").await.unwrap(), 0);

    // The rules belong to the study: deleting it deletes them.
    assert!(store.add_quote_rule(id, &pin, "cli:t").await.unwrap());
    store.delete_study(id).await.unwrap();
    let id2 = store.create_study(&example()).await.unwrap();
    assert!(store.quote_rules(id2).await.unwrap().is_empty());
}
}
