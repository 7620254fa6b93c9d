//! End to end in headless Chromium (Debian's chromium + chromedriver, driven
//! by fantoccini): a participant completes a Turkish study, with the server
//! restarted in the middle and the link resumed; the database then holds
//! exactly the typed answers, under the segments of the assigned order.
//! Screenshots of each participant page go to a folder the test prints.
//! The test fails (never skips) when the browser is missing: `scripts/test`
//! installs it.

mod common;

use std::collections::BTreeSet;

use common::browser::*;
use common::*;
use fantoccini::Locator;
use rupturelab_core::{
    Answer, Key, Language, OrderMode, ParticipantStatus, Question, QuestionKind, QuestionScope,
    Segment, Turn,
};
use rupturelab_web::accounts::token_hash;

fn k(s: &str) -> Key {
    Key::parse(s).unwrap()
}

const STUDY_TR: &str = "ornek-calisma-tr";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participant_completes_a_turkish_study_in_chromium_across_a_server_restart() {
    let mut app = spawn_app().await;
    let sid = app
        .store
        .list_studies()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.key == STUDY_TR)
        .unwrap()
        .id;
    // A second segment, a once-question and a Latin-square order.
    let s2 = Segment {
        key: k("S2"),
        label: "İkinci bölüm".into(),
        patient: k("HA1"),
        session: Some(5),
        rupture: rupturelab_core::RuptureType::Confrontation,
        markers: Vec::new(),
        media: None,
        notes: None,
        turns: vec![
            Turn {
                speaker: "D".into(),
                text: "Bu ödevler işe yaramıyor, açıkçası.".into(),
                start_ms: None,
                end_ms: None,
            },
            Turn {
                speaker: "T".into(),
                text: "Işığı kapatıp konuşalım mı? İçinizden ne geçiyor?".into(),
                start_ms: None,
                end_ms: None,
            },
        ],
    };
    app.store.upsert_segment(sid, &s2).await.unwrap();
    app.store
        .upsert_question(
            sid,
            &Question {
                key: k("Q3"),
                kind: QuestionKind::Likert {
                    min: 1,
                    max: 5,
                    anchors: [(1, "Çok hafif".to_string()), (5, "Çok ağır".to_string())].into(),
                },
                scope: QuestionScope::Once,
                prompt: "Kopmalar genel olarak ne kadar ağırdı?".into(),
            },
        )
        .await
        .unwrap();
    let mut design = app.store.study_design(sid).await.unwrap();
    design.settings.presentation_order = OrderMode::LatinSquare;
    app.store
        .update_settings(sid, Language::Tr, &design.settings)
        .await
        .unwrap();
    // The second invitee gets Williams row 1: S2 before S1.
    let tokens = app.invite(STUDY_TR, &["W01", "W02"]).await;
    let token = tokens[1].1.clone();
    let pid = app
        .store
        .participant_by_token(&token_hash(&token))
        .await
        .unwrap()
        .unwrap()
        .id;
    let order: Vec<Key> = app
        .store
        .participant_segments(pid)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.key)
        .collect();
    assert_eq!(order, vec![k("S2"), k("S1")]);

    let mut shots = Shots::new("participant");
    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = start_browser(profile.path()).await;

    let typed = [
        (
            "S2",
            "Q1",
            "Danışan ödevlerin işe yaramadığını söylüyor; İlişkide bir gerginlik var.",
        ),
        (
            "S2",
            "Q2",
            "Işık tutarak, birlikte ne olduğunu konuşurdum (metakomünikasyon).",
        ),
        (
            "S1",
            "Q1",
            "Terapist gündemi fazla zorladı; danışan çekildi.",
        ),
        (
            "S1",
            "Q2",
            "Kendi payımı kabul eder, danışanın duygusunu doğrulardım.",
        ),
    ];

    let run = async {
        let link = app.url(&format!("/p/{token}"));
        c.goto(&link).await.unwrap();
        assert_eq!(path_of(&c).await, format!("/p/{token}/welcome"));
        let lang = c
            .find(Locator::Css("html"))
            .await
            .unwrap()
            .attr("lang")
            .await
            .unwrap();
        assert_eq!(lang.as_deref(), Some("tr"));
        let h1 = c
            .find(Locator::Css("h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(h1, "Hoş geldiniz");
        shots.take(&c, "welcome").await;
        click_to(&c, "consent-accept", &format!("/p/{token}/about")).await;

        // Demographics: a required field left empty is refused, in Turkish.
        c.find(Locator::Id("next"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let err = c
            .wait()
            .for_element(Locator::Css(".field-error"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(err, "Lütfen bu soruyu yanıtlayın.");
        c.find(Locator::Id("a_yonelim"))
            .await
            .unwrap()
            .select_by_value("Şema")
            .await
            .unwrap();
        let years = c.find(Locator::Id("a_deneyim_yili")).await.unwrap();
        years.clear().await.unwrap();
        years.send_keys("7").await.unwrap();
        shots.take(&c, "about").await;
        click_to(&c, "next", &format!("/p/{token}/s/1")).await;

        // First segment of the order (S2): type, let autosave store it.
        let said = c
            .find(Locator::Css(".turn .said"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(said, "Bu ödevler işe yaramıyor, açıkçası.");
        c.find(Locator::Css("textarea[name=q_Q1]"))
            .await
            .unwrap()
            .send_keys(typed[0].2)
            .await
            .unwrap();
        c.find(Locator::Css("textarea[name=q_Q2]"))
            .await
            .unwrap()
            .send_keys(typed[1].2)
            .await
            .unwrap();
        wait_saved(&c).await;
        let status = c
            .find(Locator::Css(".save-state"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(status, "Kaydedildi");
        shots.take(&c, "segment-1-saved").await;
        let saved = app.store.participant_responses(pid).await.unwrap();
        assert_eq!(saved.len(), 2, "autosave stored both answers before Next");
    };
    run.await;

    // The server restarts; the participant opens their link again.
    app.restart().await;
    let pid = app
        .store
        .participant_by_token(&token_hash(&token))
        .await
        .unwrap()
        .unwrap()
        .id;

    let run = async {
        c.goto(&app.url(&format!("/p/{token}"))).await.unwrap();
        assert_eq!(
            path_of(&c).await,
            format!("/p/{token}/s/1"),
            "resumed where they left off"
        );
        let kept = c
            .find(Locator::Css("textarea[name=q_Q1]"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap();
        assert_eq!(kept.as_deref(), Some(typed[0].2));
        shots.take(&c, "segment-1-resumed").await;
        click_to(&c, "next", &format!("/p/{token}/s/2")).await;

        // Second segment (S1): the form post saves, with no wait for autosave.
        c.find(Locator::Css("textarea[name=q_Q1]"))
            .await
            .unwrap()
            .send_keys(typed[2].2)
            .await
            .unwrap();
        c.find(Locator::Css("textarea[name=q_Q2]"))
            .await
            .unwrap()
            .send_keys(typed[3].2)
            .await
            .unwrap();
        shots.take(&c, "segment-2").await;
        click_to(&c, "next", &format!("/p/{token}/final")).await;

        // The once-question: a Likert radio, autosaved.
        c.find(Locator::Css("input[name=q_Q3][value='4']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_saved(&c).await;
        shots.take(&c, "final").await;
        click_to(&c, "next", &format!("/p/{token}/review")).await;

        let review = c
            .find(Locator::Css("main"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for (_, _, text) in typed {
            assert!(review.contains(text), "review shows {text}");
        }
        shots.take(&c, "review").await;
        click_to(&c, "submit", &format!("/p/{token}/thanks")).await;
        let h1 = c
            .find(Locator::Css("h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(h1, "Teşekkürler");
        shots.take(&c, "thanks").await;
        // Reopening the link after submitting shows the thank-you page.
        c.goto(&app.url(&format!("/p/{token}/s/1"))).await.unwrap();
        assert_eq!(path_of(&c).await, format!("/p/{token}/thanks"));
    };
    run.await;
    c.close().await.unwrap();

    // Exactly the typed answers, under the segments of the assigned order.
    let rs = app.store.participant_responses(pid).await.unwrap();
    let got: BTreeSet<(Option<String>, String, String)> = rs
        .iter()
        .map(|r| {
            let a = match &r.answer {
                Answer::Text(t) => t.clone(),
                Answer::Rating(v) => v.to_string(),
                Answer::Choice(c) => c.clone(),
            };
            (
                r.key.segment.as_ref().map(|s| s.to_string()),
                r.key.question.to_string(),
                a,
            )
        })
        .collect();
    let mut want: BTreeSet<(Option<String>, String, String)> = typed
        .iter()
        .map(|(s, q, t)| (Some(s.to_string()), q.to_string(), t.to_string()))
        .collect();
    want.insert((None, "Q3".into(), "4".into()));
    assert_eq!(got, want);
    let rec = app
        .store
        .participant_by_token(&token_hash(&token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.status, ParticipantStatus::Completed);
    assert_eq!(rec.consent, Some(true));
    let attrs = app.store.participant_attributes(pid).await.unwrap();
    assert_eq!(attrs["yonelim"].to_string(), "Şema");
    assert_eq!(attrs["deneyim_yili"].to_string(), "7");
    assert_eq!(shots.n, 8);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn researcher_signs_in_invites_and_reads_the_dashboard_in_chromium() {
    let app = spawn_app().await;
    let mut shots = Shots::new("console");
    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = start_browser(profile.path()).await;
    c.set_window_size(1280, 900).await.unwrap();
    let run = async {
        c.goto(&app.url("/studies/rupture-study")).await.unwrap();
        assert_eq!(path_of(&c).await, "/login");
        fill_sign_in(&c, RESEARCHER).await;
        shots.take(&c, "login").await;
        click_to(&c, "sign-in", "/studies/rupture-study").await;
        let done = c
            .find(Locator::Id("n-completed"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(done, "20");
        shots.take(&c, "dashboard").await;
        c.goto(&app.url("/studies/rupture-study/participants"))
            .await
            .unwrap();
        c.find(Locator::Id("list"))
            .await
            .unwrap()
            .send_keys("P21\nP22")
            .await
            .unwrap();
        click_to(&c, "add", "/studies/rupture-study/participants").await;
        let links = wait_count(&c, "code.invite-link", 2).await;
        let link = links[0].text().await.unwrap();
        assert!(link.starts_with(&app.url("/p/")), "{link}");
        shots.take(&c, "invited").await;
        c.goto(&app.url("/studies/rupture-study/responses?segment=S2&question=Q1"))
            .await
            .unwrap();
        let rows = c
            .find_all(Locator::Css("#responses tbody tr"))
            .await
            .unwrap();
        assert_eq!(rows.len(), 20);
        shots.take(&c, "responses").await;
        c.goto(&app.url("/studies/rupture-study/design"))
            .await
            .unwrap();
        shots.take(&c, "design").await;
        click_to(&c, "logout", "/login").await;
    };
    run.await;
    c.close().await.unwrap();
}
