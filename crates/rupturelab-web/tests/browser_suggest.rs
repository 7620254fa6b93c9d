//! Suggestions in the coding screen, in headless Chromium: a coder sees a
//! clearly-marked proposal ("Suggested: … 83%", with screen reader labels),
//! accepts it with `a` and sees the whole-response coding, rejects the next
//! with `r`, and after a reload the rejected one stays hidden. Screenshots
//! go to `target/tmp/browser-screenshots-suggest`. The test fails (never
//! skips) when the browser is missing: `scripts/test` installs it.

mod common;

use std::time::{Duration, Instant};

use common::browser::*;
use common::*;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use rupturelab_store::StudyId;

/// Evaluates a JavaScript expression in the page.
async fn js(c: &Client, expr: &str) -> serde_json::Value {
    c.execute(&format!("return ({expr});"), vec![])
        .await
        .unwrap()
}

/// Waits until a JavaScript expression is true.
async fn wait_for(c: &Client, expr: &str, what: &str) {
    let start = Instant::now();
    loop {
        if js(c, expr).await == serde_json::Value::Bool(true) {
            return;
        }
        let status = js(c, "document.getElementById('status') ? document.getElementById('status').textContent : ''").await;
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "waited in vain for {what}; status: {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Presses one key through WebDriver actions (reaches the page like a real key stroke).
async fn press(c: &Client, key: char) {
    let ka = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    c.perform_actions(ka).await.unwrap();
}

const LOADED: &str = TEXT_LOADED;
const SHOWN: &str = "!document.getElementById('suggestions').hidden && document.querySelectorAll('#suggestion-list li').length >= 2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coder_accepts_a_suggestion_by_keyboard_and_sees_the_coding_then_rejects_one() {
    let app = spawn_app().await;
    // Unblinded, so the automatic setting shows suggestions.
    app.store
        .set_blind(StudyId(1), false, "ayse")
        .await
        .unwrap();
    let mut shots = Shots::new("suggest");
    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = start_browser(profile.path()).await;
    c.set_window_size(1280, 900).await.unwrap();
    let run = async {
        sign_in_as(&c, &app, CODER, "/coding").await;
        c.goto(&app.url("/coding/rupture-study")).await.unwrap();
        wait_for(&c, LOADED, "the first response").await;
        // Move on (n) until a response with two suggestions shows.
        let mut steps = 0;
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if js(&c, SHOWN).await == serde_json::Value::Bool(true) {
                break;
            }
            press(&c, 'n').await;
            steps += 1;
            assert!(steps < 40, "no response with two suggestions");
        }
        let rid = js(&c, "Number(new URL(location.href).searchParams.get('r'))")
            .await
            .as_i64()
            .unwrap();
        // Clearly marked proposals with a confidence and screen reader labels.
        let label = js(
            &c,
            "document.querySelector('#suggestion-list li .suggested').textContent",
        )
        .await;
        let label = label.as_str().unwrap().to_string();
        assert!(
            label.starts_with("Suggested: ") && label.ends_with('%'),
            "{label}"
        );
        let aria = js(
            &c,
            "document.querySelector('#suggestion-list li .accept').getAttribute('aria-label')",
        )
        .await;
        assert!(
            aria.as_str().unwrap().starts_with("Accept the suggestion "),
            "{aria}"
        );
        let aria = js(
            &c,
            "document.querySelector('#suggestion-list li .reject').getAttribute('aria-label')",
        )
        .await;
        assert!(
            aria.as_str().unwrap().starts_with("Reject the suggestion "),
            "{aria}"
        );
        let first = js(
            &c,
            "document.querySelector('#suggestion-list li').dataset.code",
        )
        .await;
        let first = first.as_str().unwrap().to_string();
        let second = js(
            &c,
            "document.querySelectorAll('#suggestion-list li')[1].dataset.code",
        )
        .await;
        let second = second.as_str().unwrap().to_string();
        let chips_before = js(&c, "document.querySelectorAll('#whole .chip').length")
            .await
            .as_i64()
            .unwrap();
        shots.take(&c, "suggested").await;

        // `a` accepts the first: a whole-response coding by this coder.
        press(&c, 'a').await;
        wait_for(
            &c,
            &format!(
                "document.querySelectorAll('#whole .chip').length === {}",
                chips_before + 1
            ),
            "the accepted coding",
        )
        .await;
        let name = label
            .trim_start_matches("Suggested: ")
            .rsplit_once(' ')
            .unwrap()
            .0
            .to_string();
        let chips = js(
            &c,
            "[...document.querySelectorAll('#whole .chip')].map(x => x.textContent).join('|')",
        )
        .await;
        assert!(
            chips
                .as_str()
                .unwrap()
                .contains(&format!("Whole response: {name}")),
            "{chips}"
        );
        let status = js(&c, "document.getElementById('status').textContent").await;
        assert!(
            status.as_str().unwrap().contains("Accepted the suggestion"),
            "{status}"
        );
        let rows = app
            .store
            .response_codings(StudyId(1), rupturelab_store::ResponseId(rid))
            .await
            .unwrap();
        assert!(rows
            .iter()
            .any(|r| r.coder.as_str() == CODER.0 && r.code.as_str() == first && r.span.is_none()));
        wait_for(
            &c,
            &format!("![...document.querySelectorAll('#suggestion-list li')].some(li => li.dataset.code === {first:?})"),
            "the accepted suggestion to go",
        )
        .await;
        shots.take(&c, "accepted").await;

        // `r` rejects the next one; a reload does not bring it back.
        wait_for(
            &c,
            &format!("document.querySelector('#suggestion-list li') && document.querySelector('#suggestion-list li').dataset.code === {second:?}"),
            "the second suggestion first in line",
        )
        .await;
        press(&c, 'r').await;
        let gone = format!("![...document.querySelectorAll('#suggestion-list li')].some(li => li.dataset.code === {second:?})");
        wait_for(&c, &gone, "the rejected suggestion to go").await;
        c.refresh().await.unwrap();
        wait_for(&c, LOADED, "the reload").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(js(&c, &gone).await, serde_json::Value::Bool(true));
        // The keyboard help lists the keys.
        press(&c, '?').await;
        wait_for(&c, "!document.getElementById('help').hidden", "the help").await;
        let help = js(&c, "document.getElementById('help').textContent").await;
        assert!(help.as_str().unwrap().contains("a / r"), "{help}");
        shots.take(&c, "rejected-and-help").await;
        let used = app.store.suggestions_used(StudyId(1)).await.unwrap();
        let can = used.iter().find(|u| u.coder.as_str() == CODER.0).unwrap();
        assert_eq!((can.accepted, can.rejected), (1, 1));
    };
    run.await;
    c.close().await.unwrap();
    assert_eq!(shots.n, 3);
}
