//! Concurrency (issue 8): 10 coders code the same responses at the same
//! moment through the coding JSON API of a real `rupturelab serve`. Every
//! coder double-submits each coding (two tabs, a double click) and races
//! edits of one coding from five tabs that all saw the same version:
//! exactly one of each race wins, the others get 409 with a message, no
//! coding is duplicated and no acknowledged change is lost or overwritten
//! by a stale one. On SQLite and on PostgreSQL (`db_test!`).

mod harness;

use std::collections::HashMap;
use std::sync::Arc;

use harness::*;
use rupturelab_store::db_test;
use rupturelab_store::testing::TestDb;
use serde_json::{json, Value};

const CODERS: usize = 10;
const RESPONSES: usize = 5;
const TABS: usize = 5;
const BASE: &str = "/api/v1/studies/rupture-study/coding";

fn coder(i: usize) -> (String, String) {
    (format!("coder{i:02}"), format!("coder-password-{i:02}"))
}

async fn call(
    c: &reqwest::Client,
    csrf: &str,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = c.request(method, url).header("x-csrf-token", csrf);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    let s = r.status().as_u16();
    let text = r.text().await.unwrap();
    (s, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Runs all futures at once and returns their results in order.
async fn all<T: Send + 'static>(
    futs: Vec<impl std::future::Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let handles: Vec<_> = futs.into_iter().map(tokio::spawn).collect();
    let mut out = vec![];
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

db_test! {
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_coders_at_once_no_lost_update_no_duplicate_conflicts_are_409() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("conc.rupturelab")).await;
    let accounts: Vec<(String, String)> = (1..=CODERS).map(coder).collect();
    let refs: Vec<(&str, &str)> = accounts.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    prepare(&db.location, &refs);
    let server = Server::start(&db.location, 0, dir.path()).await;
    let base = Arc::new(server.base());
    let researcher = login(&base, RESEARCHER).await;
    let mut coders = vec![];
    for who in &refs {
        coders.push(Arc::new(login(&base, *who).await));
    }
    let (s, q) = call(&researcher.0, "", reqwest::Method::GET, format!("{base}{BASE}/queue"), None).await;
    assert_eq!(s, 200, "{q}");
    let ids: Vec<i64> = q["items"]
        .as_array()
        .unwrap()
        .iter()
        .take(RESPONSES)
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), RESPONSES);

    // 1. Every coder adds the same coding to every response, twice, all at once.
    let mut futs = vec![];
    for (ci, c) in coders.iter().enumerate() {
        for &id in &ids {
            for _tab in 0..2 {
                let (c, base) = (c.clone(), base.clone());
                futs.push(async move {
                    let (s, v) = call(
                        &c.0,
                        &c.1,
                        reqwest::Method::POST,
                        format!("{base}{BASE}/responses/{id}/codings"),
                        Some(json!({"code": "Cause/Patient/Resistance", "memo": "first"})),
                    )
                    .await;
                    (ci, id, s, v)
                });
            }
        }
    }
    let results = all(futs).await;
    // (coder, response) -> the coding id that was created.
    let mut created: HashMap<(usize, i64), i64> = HashMap::new();
    for (ci, id, s, v) in &results {
        match s {
            201 => {
                let prev = created.insert((*ci, *id), v["id"].as_i64().unwrap());
                assert!(prev.is_none(), "coder {ci} got two codings on response {id}");
                assert_eq!(v["version"], 1, "{v}");
            }
            409 => assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}"),
            _ => panic!("coder {ci} response {id}: {s} {v}\n{}", server.log_text()),
        }
    }
    assert_eq!(created.len(), CODERS * RESPONSES, "one coding per coder and response");
    let conflicts = results.iter().filter(|r| r.2 == 409).count();
    assert_eq!(conflicts, CODERS * RESPONSES, "every second submission is a 409");

    // 2. Every coder edits each of their codings from five tabs that all saw version 1.
    let mut futs = vec![];
    for (&(ci, id), &cid) in &created {
        for tab in 0..TABS {
            let (c, base) = (coders[ci].clone(), base.clone());
            futs.push(async move {
                let (s, v) = call(
                    &c.0,
                    &c.1,
                    reqwest::Method::PATCH,
                    format!("{base}{BASE}/codings/{cid}"),
                    Some(json!({"version": 1, "memo": format!("tab {tab} of coder {ci}")})),
                )
                .await;
                (ci, id, tab, s, v)
            });
        }
    }
    let results = all(futs).await;
    let mut winners: HashMap<(usize, i64), String> = HashMap::new();
    for (ci, id, tab, s, v) in &results {
        match s {
            200 => {
                assert_eq!(v["version"], 2, "{v}");
                let prev = winners.insert((*ci, *id), format!("tab {tab} of coder {ci}"));
                assert!(prev.is_none(), "two stale edits of one coding both won: {v}");
            }
            409 => {
                let e = v["error"].as_str().unwrap_or_default();
                assert!(e.contains("changed") && e.contains("reload"), "{v}");
            }
            _ => panic!("coder {ci} response {id} tab {tab}: {s} {v}\n{}", server.log_text()),
        }
    }
    assert_eq!(winners.len(), CODERS * RESPONSES, "exactly one edit of each coding wins");

    // 3. A stale delete racing a current edit: exactly one of them wins.
    let mut futs = vec![];
    for (&(ci, id), &cid) in &created {
        let (c, base) = (coders[ci].clone(), base.clone());
        futs.push(async move {
            let del = call(&c.0, &c.1, reqwest::Method::DELETE, format!("{base}{BASE}/codings/{cid}?version=2"), None);
            let edit = call(
                &c.0,
                &c.1,
                reqwest::Method::PATCH,
                format!("{base}{BASE}/codings/{cid}"),
                Some(json!({"version": 2, "code": "Cause/Patient/Expectations"})),
            );
            let (d, e) = tokio::join!(del, edit);
            (ci, id, d.0, e.0)
        });
    }
    let mut deleted: HashMap<(usize, i64), bool> = HashMap::new();
    for (ci, id, d, e) in all(futs).await {
        let outcome = match (d, e) {
            (204 | 200, 409 | 404) => true,
            (409, 200) => false,
            other => panic!("coder {ci} response {id}: delete/edit race gave {other:?}"),
        };
        deleted.insert((ci, id), outcome);
    }

    // What is stored is exactly what the winners were told.
    for &id in &ids {
        let (s, r) = call(&researcher.0, "", reqwest::Method::GET, format!("{base}{BASE}/responses/{id}"), None).await;
        assert_eq!(s, 200, "{r}");
        let codings = r["codings"].as_array().unwrap();
        for ci in 0..CODERS {
            let name = &accounts[ci].0;
            let mine: Vec<&Value> = codings.iter().filter(|c| c["coder"] == name.as_str()).collect();
            if deleted[&(ci, id)] {
                assert!(mine.is_empty(), "{name} on {id}: deleted, yet {mine:?}");
            } else {
                assert_eq!(mine.len(), 1, "{name} on {id}: {mine:?}");
                assert_eq!(mine[0]["version"], 3, "{:?}", mine[0]);
                assert_eq!(mine[0]["code"], "Cause/Patient/Expectations");
                assert_eq!(mine[0]["memo"], winners[&(ci, id)].as_str(), "the winning memo is kept");
            }
        }
        // (The demo study's own coders' codings are there too; count ours.)
        let ours = codings
            .iter()
            .filter(|c| c["coder"].as_str().is_some_and(|n| n.starts_with("coder")))
            .count();
        assert_eq!(
            ours,
            (0..CODERS).filter(|ci| !deleted[&(*ci, id)]).count(),
            "no duplicate and no stray coding on {id}: {codings:?}"
        );
    }
    println!(
        "{} codings, {} double submissions refused, {} stale edits refused, {} deleted in races",
        CODERS * RESPONSES,
        CODERS * RESPONSES,
        CODERS * RESPONSES * (TABS - 1),
        deleted.values().filter(|d| **d).count()
    );
}
}
