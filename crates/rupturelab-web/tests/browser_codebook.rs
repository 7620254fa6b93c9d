//! End to end in headless Chromium (Debian's chromium + chromedriver, driven
//! by fantoccini; helpers copied from `browser.rs`): a researcher edits the
//! codebook with the keyboard (Alt+↑ reorders, Delete shows the impact,
//! Undo restores) and reconciles a disagreement between two coders; the
//! database then holds the consensus. Screenshots go to
//! `target/tmp/browser-screenshots-codebook`. The test fails (never skips)
//! when the browser is missing: `scripts/test` installs it.

mod common;

use std::time::{Duration, Instant};

use common::browser::*;
use common::*;
use fantoccini::key::Key;
use rupturelab_core::{StudyData, CONSENSUS};

async fn study_data(app: &TestApp) -> StudyData {
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

fn position(d: &StudyData, path: &str) -> usize {
    d.codes
        .iter()
        .position(|c| c.path.as_str() == path)
        .unwrap()
}

async fn sign_in(c: &Client, app: &TestApp, path: &str) {
    c.goto(&app.url(path)).await.unwrap();
    assert_eq!(path_of(c).await, "/login");
    fill_sign_in(c, RESEARCHER).await;
    click_to(c, "sign-in", path).await;
}

async fn status_text(c: &Client) -> String {
    c.find(Locator::Id("status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Waits until the status line says something containing `what`.
async fn wait_status(c: &Client, what: &str) -> String {
    let start = Instant::now();
    loop {
        if let Ok(t) = c.find(Locator::Id("status")).await {
            let t = t.text().await.unwrap_or_default();
            if t.contains(what) {
                return t;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "status never said {what:?} (says {:?})",
            status_text(c).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn researcher_edits_the_codebook_by_keyboard_and_reconciles_a_disagreement_in_chromium() {
    let app = spawn_app().await;
    let mut shots = Shots::new("codebook");
    let before = study_data(&app).await;
    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = start_browser(profile.path()).await;
    c.set_window_size(1280, 1000).await.unwrap();
    let page = "/studies/rupture-study/codebook";
    let run = async {
        sign_in(&c, &app, page).await;
        shots.take(&c, "codebook").await;
        // Select Cause/Therapist and move it up with Alt+↑.
        let li = c
            .find(Locator::Css("li[data-path='Cause/Therapist']"))
            .await
            .unwrap();
        li.click().await.unwrap();
        let title = c
            .find(Locator::Id("editor-title"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(title, "Cause/Therapist");
        let old = c.find(Locator::Css("html")).await.unwrap();
        li.send_keys(&format!("{}{}{}", Key::Alt, Key::Up, Key::Null))
            .await
            .unwrap();
        wait_new_page(&c, old, page, "Alt+Up").await;
        wait_status(&c, "Moved Cause/Therapist up").await;
        let d = study_data(&app).await;
        assert!(position(&d, "Cause/Therapist") < position(&d, "Cause/Patient"));
        // The selection survives the reload.
        let sel = c
            .find(Locator::Css("li[aria-selected=true]"))
            .await
            .unwrap();
        assert_eq!(
            sel.attr("data-path").await.unwrap().as_deref(),
            Some("Cause/Therapist")
        );
        shots.take(&c, "moved").await;

        // Rename it in the editor: the paths below follow.
        let key = c
            .find(Locator::Css("#editor input[name=key]"))
            .await
            .unwrap();
        key.clear().await.unwrap();
        key.send_keys("Clinician").await.unwrap();
        let old = c.find(Locator::Css("html")).await.unwrap();
        c.find(Locator::Id("save"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_new_page(&c, old, page, "save").await;
        wait_status(&c, "Saved Cause/Clinician").await;
        assert!(c
            .find(Locator::Css(
                "li[data-path='Cause/Clinician/EmpathicFailure']"
            ))
            .await
            .is_ok());

        // Delete shows what goes with it; Undo brings it back.
        let n = before
            .codings
            .iter()
            .filter(|x| x.code.as_str().starts_with("Cause/Therapist"))
            .count();
        c.find(Locator::Css("li[aria-selected=true]"))
            .await
            .unwrap()
            .send_keys(&Key::Delete.to_string())
            .await
            .unwrap();
        let impact = c
            .wait()
            .for_element(Locator::Css("#confirm-delete:not([hidden]) #impact"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(impact.contains(&format!("{n} coding(s)")), "{impact}");
        shots.take(&c, "delete-impact").await;
        let old = c.find(Locator::Css("html")).await.unwrap();
        c.find(Locator::Id("delete-yes"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_new_page(&c, old, page, "delete").await;
        wait_status(&c, "Deleted Cause/Clinician").await;
        assert_eq!(
            study_data(&app).await.codings.len(),
            before.codings.len() - n
        );
        shots.take(&c, "deleted").await;
        let old = c.find(Locator::Css("html")).await.unwrap();
        c.find(Locator::Id("undo"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_new_page(&c, old, page, "undo").await;
        wait_status(&c, "Restored Cause/Clinician").await;
        assert_eq!(study_data(&app).await.codings.len(), before.codings.len());

        // Reconcile the first disagreement: accept Ayla's version with a note.
        let rpage = "/studies/rupture-study/reconcile";
        c.goto(&app.url(rpage)).await.unwrap();
        let section = c.find(Locator::Css("section.disagreement")).await.unwrap();
        // Rendered text: badges may be upper-cased by the style sheet.
        let h2 = section
            .find(Locator::Css("h2"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .to_lowercase();
        shots.take(&c, "reconcile").await;
        let p = section
            .find(Locator::Css("input[name=participant]"))
            .await
            .unwrap()
            .attr("value")
            .await
            .unwrap()
            .unwrap();
        let s = section
            .find(Locator::Css("input[name=segment]"))
            .await
            .unwrap()
            .attr("value")
            .await
            .unwrap()
            .unwrap();
        let q = section
            .find(Locator::Css("input[name=question]"))
            .await
            .unwrap()
            .attr("value")
            .await
            .unwrap()
            .unwrap();
        section
            .find(Locator::Css("textarea[name=note]"))
            .await
            .unwrap()
            .send_keys("Ayla's reading fits the transcript.")
            .await
            .unwrap();
        click_css_to(
            &c,
            "section.disagreement button[value='accept:Ayla']",
            rpage,
        )
        .await;
        let msg = c
            .find(Locator::Id("message"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(msg.starts_with("Consensus of"), "{msg}");
        let again = c.find(Locator::Css("section.disagreement")).await.unwrap();
        assert_eq!(
            again
                .find(Locator::Css("h2"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
                .to_lowercase(),
            format!("{} reconciled", h2.trim_end_matches(" reconciled"))
        );
        let note = again
            .find(Locator::Css("textarea[name=note]"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap();
        assert_eq!(note.as_deref(), Some("Ayla's reading fits the transcript."));
        assert!(again.find(Locator::Css(".layer.consensus")).await.is_ok());
        shots.take(&c, "reconciled").await;
        let d = study_data(&app).await;
        let layer = |coder: &str| {
            let mut v: Vec<_> = d
                .codings
                .iter()
                .filter(|x| {
                    x.coder.as_str() == coder
                        && x.response.participant.as_str() == p
                        && x.response
                            .segment
                            .as_ref()
                            .map(|k| k.to_string())
                            .unwrap_or_default()
                            == s
                        && x.response.question.as_str() == q
                })
                .map(|x| (x.code.to_string(), x.span))
                .collect();
            v.sort();
            v
        };
        assert!(!layer("Ayla").is_empty());
        assert_eq!(layer(CONSENSUS), layer("Ayla"));
    };
    run.await;
    c.close().await.unwrap();
}
