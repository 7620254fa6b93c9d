//! One supervision exercise end to end in headless Chromium: the supervisor
//! creates a training module and invites a trainee; the trainee opens the
//! private link, reads the segment, answers and marks what the answer
//! addressed, and reads the feedback (automatic codes, the panel's charts
//! overall and by orientation, quotes, the reflection prompt); the
//! supervisor's dashboard then counts the exercise. A second test does the
//! same with a trainee account: enrolled with a password shown once, signed
//! in at /training, the module list, one exercise. Screenshots are kept.

mod common;

use common::browser::*;
use common::*;

async fn scroll_to(c: &Client, css: &str) {
    let e = c.find(Locator::Css(css)).await.unwrap();
    c.execute(
        "arguments[0].scrollIntoView({block: 'start'});",
        vec![serde_json::to_value(&e).unwrap()],
    )
    .await
    .unwrap();
}

async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The supervisor (a researcher) signs in and creates module 1 of the
/// example study.
async fn create_module(c: &Client, app: &TestApp, shots: &mut Shots) {
    c.goto(&app.url("/login")).await.unwrap();
    fill_sign_in(c, RESEARCHER).await;
    click_to(c, "sign-in", "/studies").await;
    c.goto(&app.url("/studies/rupture-study")).await.unwrap();
    c.find(Locator::LinkText("Training"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_count(c, "#new-module", 1).await;
    assert_eq!(path_of(c).await, "/studies/rupture-study/training");
    c.find(Locator::Id("title"))
        .await
        .unwrap()
        .send_keys("Withdrawal ruptures")
        .await
        .unwrap();
    shots.take(c, "new-module").await;
    click_to(c, "create-module", "/studies/rupture-study/training/1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trainee_does_one_exercise_from_answer_to_feedback_in_chromium() {
    let app = spawn_app().await;
    let mut shots = Shots::new("training");
    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = start_browser(profile.path()).await;
    let run = async {
        // The supervisor (a researcher) creates a module and invites T01.
        c.set_window_size(1280, 1000).await.unwrap();
        create_module(&c, &app, &mut shots).await;
        c.find(Locator::Id("list"))
            .await
            .unwrap()
            .send_keys("T01")
            .await
            .unwrap();
        click_to(
            &c,
            "add-trainees",
            "/studies/rupture-study/training/1/trainees",
        )
        .await;
        let links = wait_count(&c, "code.invite-link", 1).await;
        let link = links[0].text().await.unwrap();
        assert!(link.contains("/t/"), "{link}");
        shots.take(&c, "trainee-link-shown-once").await;

        // The trainee, on a phone-sized window, opens the private link.
        c.set_window_size(414, 900).await.unwrap();
        c.goto(&link).await.unwrap();
        let token = link.rsplit('/').next().unwrap().to_string();
        wait_count(&c, "ol.exercises li", 6).await;
        shots.take(&c, "trainee-home").await;
        c.find(Locator::Css("#ex-1 a"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_count(&c, "#exercise", 1).await;
        assert_eq!(path_of(&c).await, format!("/t/{token}/s/1"));
        let turns = c.find_all(Locator::Css(".transcript .turn")).await.unwrap();
        assert!(turns.len() >= 4, "{} turns", turns.len());
        shots.take(&c, "segment").await;
        c.find(Locator::Css("textarea[name=q_Q1]"))
            .await
            .unwrap()
            .send_keys("She is avoiding the homework because she is ashamed of not having done it; her hopelessness makes the thought records feel pointless.")
            .await
            .unwrap();
        c.find(Locator::Css("textarea[name=q_Q2]"))
            .await
            .unwrap()
            .send_keys("I would simplify the homework and explain the rationale of the thought record again.")
            .await
            .unwrap();
        c.find(Locator::Css("input[name=mark][value=patient]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.find(Locator::Css("input[name=mark][value=technical]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        scroll_to(&c, "fieldset.marks").await;
        shots.take(&c, "answered").await;
        click_to(&c, "submit", &format!("/t/{token}/s/1/feedback")).await;

        // The feedback page.
        shots.take(&c, "feedback-answer").await;
        let answer = text_of(&c, ".feedback-answer").await;
        assert!(answer.contains("She is avoiding the homework"), "{answer}");
        assert!(answer.contains("Automatic codes"), "{answer}");
        assert!(
            answer.contains("Technical resolution (confidence"),
            "{answer}"
        );
        assert!(answer.contains("Patient's contribution"), "{answer}");
        let reflection = text_of(&c, "#reflection").await;
        assert!(reflection.contains("metacommunication"), "{reflection}");
        scroll_to(&c, "#reflection").await;
        shots.take(&c, "feedback-reflection").await;
        // One chart for everyone and one per orientation, each with bars.
        let charts = c.find_all(Locator::Css("#panel svg.bars")).await.unwrap();
        assert!(charts.len() >= 3, "{} charts", charts.len());
        let bars = c
            .find_all(Locator::Css("#panel svg.bars rect.bar"))
            .await
            .unwrap();
        assert!(bars.len() >= 3 * 5);
        let width: f64 = bars[0]
            .attr("width")
            .await
            .unwrap()
            .unwrap()
            .parse()
            .unwrap();
        assert!(width > 0.0);
        scroll_to(&c, "#panel").await;
        shots.take(&c, "feedback-panel").await;
        scroll_to(&c, "#panel h3").await;
        shots.take(&c, "feedback-by-orientation").await;
        let quotes = c
            .find_all(Locator::Css("#quotes blockquote"))
            .await
            .unwrap();
        assert!(!quotes.is_empty());
        scroll_to(&c, "#quotes").await;
        shots.take(&c, "feedback-quotes").await;
        let page = c.source().await.unwrap();
        assert!(!page.contains("P01") && !page.contains("Ayla"));
        // The next exercise.
        click_to(&c, "next", &format!("/t/{token}/s/2")).await;

        // The supervisor's dashboard counts the exercise.
        c.set_window_size(1280, 1000).await.unwrap();
        c.goto(&app.url("/studies/rupture-study/training/1"))
            .await
            .unwrap();
        let row = text_of(&c, "#t-T01").await;
        assert!(row.contains("T01"), "{row}");
        assert!(row.contains("1/1"), "{row}");
        shots.take(&c, "dashboard").await;
        scroll_to(&c, "#pre-post").await;
        shots.take(&c, "dashboard-panel").await;
    };
    let result = tokio::time::timeout(std::time::Duration::from_secs(180), run).await;
    c.close().await.unwrap();
    result.expect("the exercise finishes within 3 minutes");
    assert!(shots.n >= 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trainee_account_signs_in_and_does_an_exercise_in_chromium() {
    let app = spawn_app().await;
    let mut shots = Shots::new("training-account");
    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = start_browser(profile.path()).await;
    let run = async {
        c.set_window_size(1280, 1000).await.unwrap();
        create_module(&c, &app, &mut shots).await;
        c.find(Locator::Id("account-list"))
            .await
            .unwrap()
            .send_keys("deniz")
            .await
            .unwrap();
        click_to(
            &c,
            "enrol-accounts",
            "/studies/rupture-study/training/1/accounts",
        )
        .await;
        let pw = wait_count(&c, "code.new-password", 1).await[0]
            .text()
            .await
            .unwrap();
        assert_eq!(pw.len(), 16, "{pw}");
        let sign_in = text_of(&c, "#sign-in-url").await;
        assert!(sign_in.ends_with("/training"), "{sign_in}");
        shots.take(&c, "account-password-shown-once").await;
        // The supervisor signs out; the trainee signs in on the same browser.
        c.delete_all_cookies().await.unwrap();

        c.set_window_size(414, 900).await.unwrap();
        c.goto(&sign_in).await.unwrap();
        wait_count(&c, "#trainee-login", 1).await;
        fill_sign_in(&c, ("deniz", &pw)).await;
        shots.take(&c, "trainee-sign-in").await;
        click_to(&c, "sign-in", "/training").await;
        let modules = wait_count(&c, "#modules li", 1).await;
        let row = modules[0].text().await.unwrap();
        assert!(
            row.contains("Withdrawal ruptures") && row.contains("0 of"),
            "{row}"
        );
        shots.take(&c, "trainee-modules").await;
        c.find(Locator::Css("#modules li a"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_count(&c, "ol.exercises li", 6).await;
        let base = path_of(&c).await;
        assert!(base.starts_with("/training/m/"), "{base}");
        assert_eq!(text_of(&c, "#account-name").await, "deniz");
        c.find(Locator::Css("#ex-1 a"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_count(&c, "#exercise", 1).await;
        c.find(Locator::Css("textarea[name=q_Q1]"))
            .await
            .unwrap()
            .send_keys("The therapist pushed the agenda and missed that she felt judged; the alliance broke there.")
            .await
            .unwrap();
        c.find(Locator::Css("input[name=mark][value=therapist]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        click_to(&c, "submit", &format!("{base}/s/1/feedback")).await;
        let answer = text_of(&c, ".feedback-answer").await;
        assert!(answer.contains("missed that she felt judged"), "{answer}");
        assert!(answer.contains("Automatic codes"), "{answer}");
        shots.take(&c, "account-feedback").await;
        click_to(&c, "all", &base).await;
        c.find(Locator::Id("my-modules"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let modules = wait_count(&c, "#modules li", 1).await;
        let row = modules[0].text().await.unwrap();
        assert!(row.contains("1 of"), "{row}");
        shots.take(&c, "trainee-modules-after").await;
        click_to(&c, "sign-out", "/training").await;
        wait_count(&c, "#trainee-login", 1).await;
    };
    let result = tokio::time::timeout(std::time::Duration::from_secs(180), run).await;
    c.close().await.unwrap();
    result.expect("the exercise finishes within 3 minutes");
    assert!(shots.n >= 6);
}
