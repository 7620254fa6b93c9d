//! Two `serve` processes on one database (as behind a load balancer): a
//! participant's and a researcher's requests alternate between them and
//! nothing depends on which process answers — sessions, CSRF tokens and
//! autosaves live in the database. Runs on SQLite and on PostgreSQL.

mod common;

use std::sync::Arc;

use common::*;
use rupturelab_store::{db_test, Store};
use rupturelab_web::{Application, Config};
use tokio::sync::oneshot;

db_test! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_serve_the_same_people_alternately() {
    let a = spawn_app().await;
    // The second server: its own store and pool on the same database.
    let store_b: Arc<dyn Store> = Arc::from(a.db.open().await.unwrap());
    let b = Application::build(store_b.clone(), Config::new("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let base_b = format!("http://{}", b.local_addr());
    let (stop_b, stopped) = oneshot::channel::<()>();
    let handle_b = tokio::spawn(async move {
        b.run_until(async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let bases = [a.url(""), base_b.clone()];

    // A participant: the session starts on A, consent goes to B, the
    // autosaves alternate A, B, A, … with the CSRF token from A's page.
    let tokens = a.invite(STUDY, &["M01"]).await;
    let t = &tokens[0].1;
    let c = a.client();
    let csrf = a.csrf(&c, &format!("/p/{t}/welcome")).await;
    let r = c
        .post(format!("{base_b}/p/{t}/consent"))
        .form(&[("csrf", csrf.as_str()), ("decision", "accept")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "consent on the other server");
    for i in 0..20 {
        let base = &bases[i % 2];
        let r = c
            .put(format!("{base}/api/v1/p/{t}/answers"))
            .header("x-csrf-token", &csrf)
            .json(&serde_json::json!({"answers": [
                {"segment": "S1", "question": "Q1", "text": format!("draft {i}")},
                {"segment": "S2", "question": "Q1", "text": format!("other {i}")}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "autosave {i} on {base}");
    }
    for base in &bases {
        let v: serde_json::Value = c
            .get(format!("{base}/api/v1/p/{t}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let answers = v["answers"].as_array().unwrap();
        assert_eq!(answers.len(), 2, "{v}");
        assert!(answers.iter().any(|x| x["answer"] == "draft 19"), "{v}");
        assert!(answers.iter().any(|x| x["answer"] == "other 19"), "{v}");
    }

    // A researcher signs in on B and works on A with the same session.
    let r = a.client();
    let login = {
        let body = r.get(format!("{base_b}/login")).send().await.unwrap().text().await.unwrap();
        csrf_in(&body).unwrap()
    };
    let res = r
        .post(format!("{base_b}/login"))
        .form(&[("csrf", login.as_str()), ("username", RESEARCHER.0), ("password", RESEARCHER.1)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    for base in &bases {
        let res = r
            .get(format!("{base}/studies/{STUDY}/participants"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "the console on {base}");
        assert!(res.text().await.unwrap().contains("M01"));
    }
    // Signed out on A is signed out on B.
    let page = r.get(a.url("/studies")).send().await.unwrap().text().await.unwrap();
    let token = csrf_in(&page).unwrap();
    let out = r.post(a.url("/logout")).form(&[("csrf", token.as_str())]).send().await.unwrap();
    assert_eq!(out.status().as_u16(), 303);
    let res = r
        .get(format!("{base_b}/studies/{STUDY}/participants"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303, "the session ended everywhere");
    let _ = stop_b.send(());
    handle_b.await.unwrap();
    store_b.close().await;
}
}

db_test! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_count_across_both_servers() {
    let a = spawn_with(|c| c.login_attempts = 3).await;
    let store_b: Arc<dyn Store> = Arc::from(a.db.open().await.unwrap());
    let mut config_b = Config::new("127.0.0.1:0".parse().unwrap());
    config_b.login_attempts = 3;
    let b = Application::build(store_b.clone(), config_b).await.unwrap();
    let base_b = format!("http://{}", b.local_addr());
    let (stop_b, stopped) = oneshot::channel::<()>();
    let handle_b = tokio::spawn(async move {
        b.run_until(async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    // Wrong passwords, alternating A, B, A: three failures in all, although
    // neither server saw three by itself.
    let c = a.client();
    for (i, base) in [a.url(""), base_b.clone(), a.url("")].iter().enumerate() {
        let page = c.get(format!("{base}/login")).send().await.unwrap().text().await.unwrap();
        let csrf = csrf_in(&page).unwrap();
        let r = c
            .post(format!("{base}/login"))
            .form(&[("csrf", csrf.as_str()), ("username", RESEARCHER.0), ("password", "wrong")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401, "attempt {i} on {base}");
    }
    // Now B refuses even the right password, and so does A.
    for base in [base_b.clone(), a.url("")] {
        let page = c.get(format!("{base}/login")).send().await.unwrap().text().await.unwrap();
        let csrf = csrf_in(&page).unwrap();
        let r = c
            .post(format!("{base}/login"))
            .form(&[("csrf", csrf.as_str()), ("username", RESEARCHER.0), ("password", RESEARCHER.1)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 429, "{base}");
    }
    let _ = stop_b.send(());
    handle_b.await.unwrap();
    store_b.close().await;
}
}
