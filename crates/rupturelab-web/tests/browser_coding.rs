//! The coding screen end to end in headless Chromium (Debian's chromium +
//! chromedriver, driven by fantoccini): a coder makes a real DOM selection
//! in an answer with an emoji and Turkish letters, applies a code with the
//! keyboard, reloads and still sees it, undoes and redoes it with Ctrl+Z /
//! Ctrl+Shift+Z, codes the whole response with Shift+2; a second coder, the
//! study being blind, sees none of it. Screenshots go to
//! `target/tmp/browser-screenshots-coding`. The test fails (never skips)
//! when the browser is missing: `scripts/test` installs it.

mod common;

use std::time::{Duration, Instant};

use common::browser::*;
use common::*;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key as WdKey;
use rupturelab_core::{Answer, Key, Participant, ParticipantStatus, Timestamp};
use rupturelab_store::{Role, StudyId};
use rupturelab_web::accounts;

const TEXT: &str = "İyi 😀 günler, ığdır 🇹🇷 sonu";
const SECOND: (&str, &str) = ("deniz", "coder-password-456");

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
            start.elapsed() < Duration::from_secs(15),
            "waited in vain for {what}; status: {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Presses keys (held modifiers first, released last) through WebDriver
/// actions, which reach the focused element like real key strokes.
async fn press(c: &Client, modifiers: &[WdKey], key: char) {
    let mut ka = KeyActions::new("keyboard".into());
    for m in modifiers {
        ka = ka.then(KeyAction::Down { value: (*m).into() });
    }
    ka = ka
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    for m in modifiers.iter().rev() {
        ka = ka.then(KeyAction::Up { value: (*m).into() });
    }
    c.perform_actions(ka).await.unwrap();
}

const LOADED: &str = TEXT_LOADED;

/// The coder's codings of the response, from the store: (code, span).
async fn stored(app: &TestApp, coder: &str) -> Vec<(String, Option<(usize, usize)>)> {
    let s = app.store.load_study(StudyId(1)).await.unwrap();
    s.codings
        .iter()
        .filter(|c| c.coder.as_str() == coder && c.response.participant.as_str() == "E1")
        .map(|c| (c.code.to_string(), c.span.map(|s| (s.start, s.end))))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coder_selects_and_codes_by_keyboard_reloads_undoes_and_a_blind_second_coder_sees_nothing()
{
    let app = spawn_app().await;
    let pid = app
        .store
        .add_participant(
            StudyId(1),
            &Participant {
                code: Key::parse("E1").unwrap(),
                status: ParticipantStatus::Invited,
                order: vec![],
                attributes: Default::default(),
            },
        )
        .await
        .unwrap();
    app.store
        .save_response(
            pid,
            Some(&Key::parse("S1").unwrap()),
            &Key::parse("Q1").unwrap(),
            &Answer::Text(TEXT.into()),
            Timestamp::now(),
        )
        .await
        .unwrap();
    accounts::create_user(app.store.as_ref(), SECOND.0, Role::Coder, SECOND.1)
        .await
        .unwrap();
    let codebook = app.store.coding_codebook(StudyId(1)).await.unwrap();
    let codable: Vec<String> = codebook
        .iter()
        .filter(|c| c.codable)
        .map(|c| c.path.to_string())
        .collect();

    let mut shots = Shots::new("coding");
    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = start_browser(profile.path()).await;
    c.set_window_size(1280, 900).await.unwrap();
    let run = async {
        sign_in_as(&c, &app, CODER, "/coding").await;
        c.goto(&app.url("/coding/rupture-study?segment=S1&question=Q1"))
            .await
            .unwrap();
        wait_for(&c, LOADED, "the first response").await;
        // Go to E1's answer with the keyboard (n = next) until it shows.
        let mut steps = 0;
        while js(&c, "document.getElementById('text').textContent").await != TEXT {
            press(&c, &[], 'n').await;
            steps += 1;
            assert!(steps < 40, "E1's answer is not in the queue");
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        wait_for(
            &c,
            "document.getElementById('position').textContent.includes('/')",
            "the position",
        )
        .await;
        shots.take(&c, "response").await;

        // A real DOM selection of "günler": UTF-16 offsets 7..13 (the emoji counts two).
        let selected = js(
            &c,
            "(() => { const t = document.getElementById('text').firstChild; const r = document.createRange(); \
             r.setStart(t, 7); r.setEnd(t, 13); const s = window.getSelection(); s.removeAllRanges(); s.addRange(r); \
             document.getElementById('text').dispatchEvent(new MouseEvent('mouseup', {bubbles: true})); return s.toString(); })()",
        )
        .await;
        assert_eq!(selected, "günler");
        press(&c, &[], '1').await;
        wait_for(
            &c,
            "document.querySelectorAll('#text .coded').length === 1",
            "the coded span",
        )
        .await;
        assert_eq!(
            js(&c, "document.querySelector('#text .coded').textContent").await,
            "günler"
        );
        assert_eq!(
            stored(&app, CODER.0).await,
            [(codable[0].clone(), Some((6, 12)))]
        );
        shots.take(&c, "coded-by-keyboard").await;

        // Reload: the coding is still there.
        c.refresh().await.unwrap();
        wait_for(
            &c,
            "document.querySelectorAll('#text .coded').length === 1",
            "the span after a reload",
        )
        .await;
        assert_eq!(
            js(&c, "document.querySelector('#text .coded').textContent").await,
            "günler"
        );
        assert_eq!(
            js(&c, "document.getElementById('text').textContent").await,
            TEXT
        );
        shots.take(&c, "after-reload").await;

        // Ctrl+Z undoes (on the server), Ctrl+Shift+Z redoes.
        press(&c, &[WdKey::Control], 'z').await;
        wait_for(
            &c,
            "document.querySelectorAll('#text .coded').length === 0",
            "the undo",
        )
        .await;
        assert!(stored(&app, CODER.0).await.is_empty());
        shots.take(&c, "undone").await;
        press(&c, &[WdKey::Control, WdKey::Shift], 'z').await;
        wait_for(
            &c,
            "document.querySelectorAll('#text .coded').length === 1",
            "the redo",
        )
        .await;
        assert_eq!(stored(&app, CODER.0).await.len(), 1);

        // Shift+2 codes the whole response with code 2; clicking the span shows its codes.
        press(&c, &[WdKey::Shift], '2').await;
        wait_for(
            &c,
            "document.querySelectorAll('#whole .chip').length === 1",
            "the whole-response chip",
        )
        .await;
        assert!(stored(&app, CODER.0)
            .await
            .contains(&(codable[1].clone(), None)));
        c.find(Locator::Css("#text .coded"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for(
            &c,
            "!document.getElementById('span-panel').hidden",
            "the span panel",
        )
        .await;
        press(&c, &[], '?').await;
        wait_for(
            &c,
            "!document.getElementById('help').hidden",
            "the keyboard help",
        )
        .await;
        shots.take(&c, "span-panel-and-help").await;
        let progress = js(&c, "document.getElementById('progress').value").await;
        assert_eq!(progress, 1);

        // Esc closes the help and the panel.
        press(&c, &[], WdKey::Escape.into()).await;
        wait_for(&c, "document.getElementById('help').hidden && document.getElementById('span-panel').hidden", "Esc").await;

        // Sign out; the second coder (blind by default) sees the answer uncoded.
        c.find(Locator::Id("logout"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let start = Instant::now();
        while path_of(&c).await != "/login" {
            assert!(start.elapsed() < Duration::from_secs(15), "logout");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        sign_in_as(&c, &app, SECOND, "/coding").await;
        let rid = app
            .store
            .coding_queue(
                StudyId(1),
                &Key::parse("deniz").unwrap(),
                &Default::default(),
            )
            .await
            .unwrap()
            .into_iter()
            .find(|i| i.key.participant.as_str() == "E1")
            .unwrap()
            .id;
        c.goto(&app.url(&format!("/coding/rupture-study?r={}", rid.0)))
            .await
            .unwrap();
        wait_for(&c, LOADED, "the second coder's view").await;
        assert_eq!(
            js(&c, "document.getElementById('text').textContent").await,
            TEXT
        );
        assert_eq!(
            js(
                &c,
                "document.querySelectorAll('#text .coded, #whole .chip').length"
            )
            .await,
            0
        );
        shots.take(&c, "blind-second-coder").await;
    };
    run.await;
    c.close().await.unwrap();
    assert_eq!(shots.n, 6);
}
