//! The researcher edits a transcript turn by turn in headless Chromium:
//! adds a turn by keyboard, moves it, renames a speaker everywhere, deletes
//! and undoes, saves; the store then holds exactly that, and turn times the
//! editor did not touch are kept.

mod common;

use common::browser::*;
use common::*;
use fantoccini::key::Key as K;
use rupturelab_core::Key;

async fn turn_texts(c: &Client) -> Vec<String> {
    let mut v = Vec::new();
    for e in c
        .find_all(Locator::Css("li.turn textarea.said"))
        .await
        .unwrap()
    {
        v.push(e.prop("value").await.unwrap().unwrap_or_default());
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn researcher_edits_a_transcript_turn_by_turn_in_chromium() {
    let app = spawn_app().await;
    let sid = app
        .store
        .list_studies()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.key == STUDY)
        .unwrap()
        .id;
    let s1 = Key::parse("S1").unwrap();
    let mut seg = app.store.segment(sid, &s1).await.unwrap().unwrap();
    seg.turns[0].start_ms = Some(1000);
    seg.turns[0].end_ms = Some(4000);
    app.store.upsert_segment(sid, &seg).await.unwrap();
    let n = seg.turns.len();
    let first_speaker = seg.turns[0].speaker.clone();

    let mut shots = Shots::new("transcript-editor");
    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = start_browser(profile.path()).await;
    c.set_window_size(1280, 1000).await.unwrap();
    let run = async {
        c.goto(&app.url("/login")).await.unwrap();
        fill_sign_in(&c, RESEARCHER).await;
        click_to(&c, "sign-in", "/studies").await;
        c.goto(&app.url("/studies/rupture-study/segments/S1"))
            .await
            .unwrap();
        let rows = wait_count(&c, "li.turn", n).await;
        assert!(!c
            .find(Locator::Id("transcript"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap());
        assert_eq!(turn_texts(&c).await[0], seg.turns[0].text);
        shots.take(&c, "turns").await;

        // Ctrl+Enter in turn 2 adds turn 3, with the other speaker, focused.
        let said = rows[1].find(Locator::Css("textarea.said")).await.unwrap();
        said.send_keys(&(K::Control + &K::Enter.to_string()))
            .await
            .unwrap();
        let rows = wait_count(&c, "li.turn", n + 1).await;
        let new_said = rows[2].find(Locator::Css("textarea.said")).await.unwrap();
        new_said.send_keys("A new turn: İyi mi? 🙂").await.unwrap();
        let sp = rows[2].find(Locator::Css("input.speaker")).await.unwrap();
        let sp1 = rows[1].find(Locator::Css("input.speaker")).await.unwrap();
        assert_ne!(
            sp.prop("value").await.unwrap(),
            sp1.prop("value").await.unwrap(),
            "a new turn takes the other speaker"
        );
        // Alt+↑ moves it above turn 2.
        new_said
            .send_keys(&(K::Alt + &K::Up.to_string()))
            .await
            .unwrap();
        let texts = turn_texts(&c).await;
        assert_eq!(texts[1], "A new turn: İyi mi? 🙂");
        assert_eq!(texts[2], seg.turns[1].text);

        // Rename the first speaker everywhere.
        let rename = c
            .find(Locator::Css(&format!(
                "input.speaker-name[data-speaker='{first_speaker}']"
            )))
            .await
            .unwrap();
        let erase = K::Backspace
            .to_string()
            .repeat(first_speaker.chars().count());
        rename
            .send_keys(&format!("{erase}{first_speaker}X\t"))
            .await
            .unwrap();

        // Delete the last turn, then undo it with the button.
        let rows = wait_count(&c, "li.turn", n + 1).await;
        rows[n]
            .find(Locator::Css("button[title='Delete']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_count(&c, "li.turn", n).await;
        c.find(Locator::Id("turn-undo"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_count(&c, "li.turn", n + 1).await;
        shots.take(&c, "edited").await;

        // Plain-text mode shows the same transcript, and back again.
        c.find(Locator::Id("transcript-mode"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let area = c.find(Locator::Id("transcript")).await.unwrap();
        assert!(area.is_displayed().await.unwrap());
        let text = area.prop("value").await.unwrap().unwrap();
        assert!(text.contains(&format!("{first_speaker}X: ")), "{text}");
        assert!(text.contains("A new turn: İyi mi? 🙂"));
        c.find(Locator::Id("transcript-mode"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_count(&c, "li.turn", n + 1).await;

        click_to(&c, "save-segment", "/studies/rupture-study/design").await;
    };
    run.await;
    c.close().await.unwrap();

    let saved = app.store.segment(sid, &s1).await.unwrap().unwrap();
    assert_eq!(saved.turns.len(), n + 1);
    assert_eq!(saved.turns[1].text, "A new turn: İyi mi? 🙂");
    assert_eq!(saved.turns[2].text, seg.turns[1].text);
    assert!(saved.turns.iter().all(|t| t.speaker != first_speaker));
    assert_eq!(saved.turns[0].speaker, format!("{first_speaker}X"));
    assert_eq!(
        (saved.turns[0].start_ms, saved.turns[0].end_ms),
        (Some(1000), Some(4000)),
        "times of an unchanged turn survive the editor"
    );
    assert_eq!(saved.turns[n].text, seg.turns[n - 1].text);
}
