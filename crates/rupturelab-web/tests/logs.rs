//! The request log never holds answer text, invitation tokens or passwords,
//! even at debug level: requests are logged by route template.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_name_routes_but_never_answers_tokens_or_passwords() {
    let buf = Buf::default();
    let writer = buf.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let app = spawn_app().await;
    let tokens = app.invite(STUDY, &["L01"]).await;
    let t = &tokens[0].1;
    let c = app.client();
    let csrf = app.csrf(&c, &format!("/p/{t}/welcome")).await;
    app.post_form(
        &c,
        &format!("/p/{t}/consent"),
        &[("csrf", &csrf), ("decision", "accept")],
    )
    .await;
    let secret_form = "SECRET-ANSWER-FORM-Ğİ";
    let secret_api = "SECRET-ANSWER-API-şı";
    let r = app
        .post_form(
            &c,
            &format!("/p/{t}/s/1"),
            &[("csrf", &csrf), ("q_Q1", secret_form), ("nav", "next")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let r = c
        .put(app.url(&format!("/api/v1/p/{t}/answers")))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"answers": [{"segment": "S2", "question": "Q1", "text": secret_api}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // A failing save and a failed login are logged too, still without content.
    app.post_form(
        &c,
        &format!("/p/{t}/s/1"),
        &[
            ("csrf", &csrf),
            ("q_Q3", "SECRET-BAD-RATING"),
            ("nav", "next"),
        ],
    )
    .await;
    let lc = app.client();
    let lcsrf = app.csrf(&lc, "/login").await;
    app.post_form(
        &lc,
        "/login",
        &[
            ("csrf", &lcsrf),
            ("username", RESEARCHER.0),
            ("password", "SECRET-PASSWORD-x"),
        ],
    )
    .await;
    app.store.close().await;
    let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("route=/p/{token}/s/{n}"),
        "requests are logged by route:\n{log}"
    );
    assert!(log.contains("status=303"));
    for secret in [
        secret_form,
        secret_api,
        "SECRET-BAD-RATING",
        "SECRET-PASSWORD",
        t.as_str(),
        RESEARCHER.1,
    ] {
        assert!(!log.contains(secret), "the log contains `{secret}`");
    }
}
