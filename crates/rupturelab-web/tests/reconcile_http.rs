//! Reconciliation on the real server: who may use it, CSRF, the list of
//! disagreements between chosen coders, and each way of deciding the
//! consensus (accept a coder, merge, write it) with its discussion note,
//! stored as the consensus layer and audited.

mod common;

use std::collections::BTreeSet;

use common::*;
use rupturelab_core::{Coding, ResponseKey, StudyData, CONSENSUS};
use rupturelab_store::db_test;
use serde_json::{json, Value};

const API: &str = "/api/v1/studies/rupture-study";
const PAGE: &str = "/studies/rupture-study/reconcile";

async fn data(app: &TestApp) -> StudyData {
    let info = app
        .store
        .list_studies()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.key == STUDY)
        .unwrap();
    app.store.load_study(info.id).await.unwrap()
}

fn layer(
    d: &StudyData,
    key: &ResponseKey,
    coder: &str,
) -> BTreeSet<(String, Option<(usize, usize)>)> {
    d.codings
        .iter()
        .filter(|c: &&Coding| &c.response == key && c.coder.as_str() == coder)
        .map(|c| (c.code.to_string(), c.span.map(|s| (s.start, s.end))))
        .collect()
}

fn key_of(v: &Value) -> ResponseKey {
    let k = |s: &str| rupturelab_core::Key::parse(s).unwrap();
    ResponseKey {
        participant: k(v["participant"].as_str().unwrap()),
        segment: v["segment"].as_str().map(k),
        question: k(v["question"].as_str().unwrap()),
    }
}

async fn disagreements(app: &TestApp, c: &reqwest::Client, query: &str) -> Value {
    c.get(app.url(&format!("{API}/disagreements{query}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

db_test! {
#[tokio::test]
async fn only_researchers_reconcile_and_writes_need_the_csrf_token() {
    let app = spawn_app().await;
    let anon = app.client();
    let r = app.get(&anon, PAGE).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        app.get(&anon, &format!("{API}/disagreements"))
            .await
            .status()
            .as_u16(),
        401
    );
    let coder = app.client();
    app.login(&coder, CODER).await;
    let csrf = app.csrf(&coder, "/coding").await;
    assert_eq!(app.get(&coder, PAGE).await.status().as_u16(), 403);
    assert_eq!(
        app.get(&coder, &format!("{API}/disagreements"))
            .await
            .status()
            .as_u16(),
        403
    );
    let before = data(&app).await.codings;
    let body = json!({"participant": "P01", "segment": "S1", "question": "Q1", "mode": "accept", "coder": "Ayla"});
    let r = coder
        .put(app.url(&format!("{API}/consensus")))
        .header("x-csrf-token", &csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let form = [
        ("csrf", csrf.as_str()),
        ("participant", "P01"),
        ("segment", "S1"),
        ("question", "Q1"),
        ("mode", "accept:Ayla"),
        ("coders", ""),
    ];
    assert_eq!(
        app.post_form(&coder, PAGE, &form).await.status().as_u16(),
        403
    );
    // A researcher without the token.
    let c = app.researcher().await;
    let r = c
        .put(app.url(&format!("{API}/consensus")))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(
        app.post_form(&c, PAGE, &form[1..]).await.status().as_u16(),
        403
    );
    assert_eq!(data(&app).await.codings, before);
}
}

db_test! {
#[tokio::test]
async fn the_list_shows_what_each_chosen_coder_applied_where_they_differ() {
    let app = spawn_app().await;
    let c = app.researcher().await;
    let d = data(&app).await;
    let v = disagreements(&app, &c, "").await;
    assert_eq!(v["coders"], json!(["Ayla", "Burak"]));
    let list = v["disagreements"].as_array().unwrap();
    assert!(!list.is_empty());
    for it in list {
        let k = key_of(it);
        let sets: Vec<BTreeSet<String>> = ["Ayla", "Burak"]
            .iter()
            .map(|c| layer(&d, &k, c).into_iter().map(|x| x.0).collect())
            .collect();
        assert!(!sets[0].is_empty() && !sets[1].is_empty());
        assert_ne!(sets[0], sets[1], "{k} listed but they agree");
        assert_eq!(it["agree"], false);
        // Quotes are the text at the spans.
        let text: Vec<char> = it["text"].as_str().unwrap().chars().collect();
        for c in it["codings"]["Ayla"].as_array().unwrap() {
            if let Some(s) = c["span"].as_object() {
                let (a, b) = (
                    s["start"].as_u64().unwrap() as usize,
                    s["end"].as_u64().unwrap() as usize,
                );
                assert_eq!(
                    c["quote"].as_str().unwrap(),
                    text[a..b].iter().collect::<String>()
                );
            }
        }
    }
    // Only those without a consensus yet.
    let pending = disagreements(&app, &c, "?pending=true").await;
    let pending = pending["disagreements"].as_array().unwrap();
    let without = list
        .iter()
        .filter(|i| i["consensus"].as_array().unwrap().is_empty())
        .count();
    assert_eq!(pending.len(), without);
    assert!(pending
        .iter()
        .all(|i| i["consensus"].as_array().unwrap().is_empty()));
    let (_, html) = app.get_text(&c, &format!("{PAGE}?pending=1")).await;
    assert!(html.contains(&format!("{without} response(s) listed, 0 with a consensus")));
    // With agreements too, the list is longer; with one coder, empty.
    let all = disagreements(&app, &c, "?all=true").await;
    assert!(all["disagreements"].as_array().unwrap().len() > list.len());
    let one = disagreements(&app, &c, "?coders=Ayla").await;
    assert!(one["disagreements"].as_array().unwrap().is_empty());
    let r = c
        .get(app.url(&format!("{API}/disagreements?coders=Nobody")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let e: Value = r.json().await.unwrap();
    assert!(e["error"].as_str().unwrap().starts_with("coders:"), "{e}");
    // The page lists the same number, side by side.
    let (s, html) = app.get_text(&c, PAGE).await;
    assert_eq!(s, 200);
    assert!(
        html.contains(&format!("{} response(s) listed", list.len())),
        "summary"
    );
    assert!(html.contains("data-coder=\"Ayla\"") && html.contains("data-coder=\"Burak\""));
    assert!(html.contains("<mark class=\"span\""));
    let (s, html) = app.get_text(&c, &format!("{PAGE}?coders=Nobody")).await;
    assert_eq!(s, 422);
    assert!(html.contains("coders:"));
}
}

db_test! {
#[tokio::test]
async fn accepting_merging_and_writing_the_consensus_store_the_consensus_layer_with_its_note() {
    let app = spawn_app().await;
    let c = app.researcher().await;
    let csrf = app.csrf(&c, PAGE).await;
    let d0 = data(&app).await;
    let v = disagreements(&app, &c, "").await;
    let list = v["disagreements"].as_array().unwrap().clone();
    let (k1, k2, k3) = (key_of(&list[0]), key_of(&list[1]), key_of(&list[2]));
    let seg = |k: &ResponseKey| {
        k.segment
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_default()
    };

    // 1. Accept Ayla's version through the page, with a note.
    let s1 = seg(&k1);
    let r = app
        .post_form(
            &c,
            PAGE,
            &[
                ("csrf", csrf.as_str()),
                ("coders", "Ayla,Burak"),
                ("all", ""),
                ("from", "0"),
                ("participant", k1.participant.as_str()),
                ("segment", &s1),
                ("question", k1.question.as_str()),
                ("note", "Ayla's <reading> fits the transcript."),
                ("mode", "accept:Ayla"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let d = data(&app).await;
    assert_eq!(layer(&d, &k1, CONSENSUS), layer(&d0, &k1, "Ayla"));
    let note = d
        .memos
        .iter()
        .find(|m| {
            m.author == CONSENSUS && m.target == rupturelab_core::MemoTarget::Response(k1.clone())
        })
        .unwrap();
    assert_eq!(note.text, "Ayla's <reading> fits the transcript.");
    let ev = d.audit.last().unwrap();
    assert_eq!(
        (ev.action.as_str(), ev.actor.as_str()),
        ("consensus.save", RESEARCHER.0)
    );
    assert_eq!(ev.entity, format!("response:{k1}"));
    // The page shows the note again (escaped) and the consensus column.
    let (_, html) = app.get_text(&c, &location(&r)).await;
    assert!(html.contains("Consensus of"), "message");
    assert!(
        html.contains("&#60;reading&#62; fits") || html.contains("&lt;reading&gt; fits"),
        "note shown again, escaped"
    );
    assert!(!html.contains("<reading>"));
    assert!(html.contains("data-coder=\"consensus\""));

    // 2. Merge (union) through the API: every code of both coders.
    let r = c
        .put(app.url(&format!("{API}/consensus")))
        .header("x-csrf-token", &csrf)
        .json(&json!({"participant": k2.participant.as_str(), "segment": k2.segment.as_ref().map(|s| s.as_str()),
                      "question": k2.question.as_str(), "mode": "union", "note": "merged"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let d = data(&app).await;
    let codes = |s: &BTreeSet<(String, Option<(usize, usize)>)>| {
        s.iter().map(|x| x.0.clone()).collect::<BTreeSet<_>>()
    };
    let union: BTreeSet<String> = codes(&layer(&d0, &k2, "Ayla"))
        .union(&codes(&layer(&d0, &k2, "Burak")))
        .cloned()
        .collect();
    assert_eq!(codes(&layer(&d, &k2, CONSENSUS)), union);
    // Spans of one code never overlap after a merge.
    let cons: Vec<_> = layer(&d, &k2, CONSENSUS).into_iter().collect();
    for w in cons.windows(2) {
        if w[0].0 == w[1].0 {
            if let (Some(a), Some(b)) = (w[0].1, w[1].1) {
                assert!(a.1 < b.0, "{w:?}");
            }
        }
    }

    // 3. Write the consensus directly through the page: one coder's code
    // (with its span) plus a code nobody applied (the whole response).
    let ayla: Vec<_> = layer(&d0, &k3, "Ayla").into_iter().collect();
    let extra = "Resolution/Relational/SelfDisclose";
    assert!(!layer(&d0, &k3, "Ayla")
        .iter()
        .chain(layer(&d0, &k3, "Burak").iter())
        .any(|x| x.0 == extra));
    let s3 = seg(&k3);
    let r = app
        .post_form(
            &c,
            PAGE,
            &[
                ("csrf", csrf.as_str()),
                ("coders", "Ayla,Burak"),
                ("from", "0"),
                ("participant", k3.participant.as_str()),
                ("segment", &s3),
                ("question", k3.question.as_str()),
                ("note", ""),
                ("code", &ayla[0].0),
                ("extra", extra),
                ("mode", "codes"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let d = data(&app).await;
    let got = layer(&d, &k3, CONSENSUS);
    assert_eq!(
        codes(&got),
        [ayla[0].0.clone(), extra.to_string()].into_iter().collect()
    );
    assert!(got.contains(&(extra.to_string(), None)));

    // Refusals: a category, a span past the end, a bad mode; nothing changes.
    let before = data(&app).await.codings;
    for (body, msg) in [
        (
            json!({"participant": k3.participant.as_str(), "segment": s3, "question": k3.question.as_str(), "mode": "codes", "codes": ["Cause"]}),
            "not codable",
        ),
        (
            json!({"participant": k3.participant.as_str(), "segment": s3, "question": k3.question.as_str(), "mode": "codings",
                "codings": [{"code": extra, "span": {"start": 0, "end": 100000}}]}),
            "not within the answer",
        ),
        (
            json!({"participant": k3.participant.as_str(), "segment": s3, "question": k3.question.as_str(), "mode": "vote"}),
            "mode:",
        ),
        (
            json!({"participant": "NOPE", "segment": s3, "question": k3.question.as_str(), "mode": "union"}),
            "no response",
        ),
    ] {
        let r = c
            .put(app.url(&format!("{API}/consensus")))
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 422, "{body}");
        let e: Value = r.json().await.unwrap();
        assert!(e["error"].as_str().unwrap().contains(msg), "{e}");
    }
    assert_eq!(data(&app).await.codings, before);
    // The API list now carries the consensus and the note.
    let v = disagreements(&app, &c, "").await;
    let it = v["disagreements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| key_of(i) == k1)
        .unwrap();
    assert_eq!(it["note"], "Ayla's <reading> fits the transcript.");
    assert!(!it["consensus"].as_array().unwrap().is_empty());
}
}
