//! HTTP tests of training mode (issue 9): the supervisor creates a module and
//! invites trainees, a trainee answers and reads the feedback, and the
//! authorisation around both (trainees see the panel only in aggregate and
//! anonymised, never another trainee's answers; unknown or revoked links are
//! 404; CSRF; coders and anonymous visitors never reach supervisor pages).

mod common;

use common::*;
use rupturelab_core::training::{starter_prompts, PromptKind};
use rupturelab_core::Language;
use rupturelab_store::db_test;
use rupturelab_store::training::ModuleId;
use rupturelab_web::accounts::token_hash;

const MODULE_TITLE: &str = "Ruptures <em>& repair</em>";

/// Creates a module of the example study (segments S1, S2, S3; Q1, Q2;
/// all feedback) and returns its dashboard path.
async fn create_module(app: &TestApp, c: &reqwest::Client) -> String {
    let path = "/studies/rupture-study/training";
    let csrf = app.csrf(c, path).await;
    let prompts = starter_prompts(Language::En);
    let mut form: Vec<(String, String)> =
        vec![("csrf".into(), csrf), ("title".into(), MODULE_TITLE.into())];
    for s in ["S1", "S2", "S3"] {
        form.push(("segment".into(), s.into()));
    }
    for q in ["Q1", "Q2"] {
        form.push(("question".into(), q.into()));
    }
    for f in ["model_codes", "panel", "by_orientation", "quotes", "prompt"] {
        form.push(("feedback".into(), f.into()));
    }
    for p in PromptKind::ALL {
        form.push((format!("prompt_{}", p.as_str()), prompts[&p].clone()));
    }
    let r = c.post(app.url(path)).form(&form).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let at = location(&r);
    assert!(at.starts_with("/studies/rupture-study/training/"), "{at}");
    at
}

/// Adds trainees to a module; returns (code, token).
async fn add_trainees(
    app: &TestApp,
    c: &reqwest::Client,
    module: &str,
    codes: &[&str],
) -> Vec<(String, String)> {
    let csrf = app.csrf(c, module).await;
    let list = codes.join("\n");
    let r = app
        .post_form(
            c,
            &format!("{module}/trainees"),
            &[("csrf", &csrf), ("list", &list)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let body = r.text().await.unwrap();
    let links = links_in(&body);
    assert_eq!(links.len(), codes.len(), "{body}");
    codes
        .iter()
        .zip(links)
        .map(|(c, l)| {
            assert!(l.contains("/t/"), "{l}");
            (c.to_string(), l.rsplit('/').next().unwrap().to_string())
        })
        .collect()
}

const PATIENT_ONLY: &str = "She is avoiding the homework because she is ashamed; her depression and hopelessness make the thought records feel pointless, classic avoidance.";
const TECHNICAL: &str =
    "I would simplify the homework and explain the rationale of thought records again.";

/// A trainee answers exercise `n`; returns the response.
async fn answer(
    app: &TestApp,
    c: &reqwest::Client,
    token: &str,
    n: usize,
    q1: &str,
    q2: &str,
    marks: &[&str],
) -> reqwest::Response {
    answer_at(app, c, &format!("/t/{token}"), n, q1, q2, marks).await
}

/// A trainee answers exercise `n` of the pages under `base` (`/t/{token}`
/// or `/training/m/{enrolment}`); returns the response.
async fn answer_at(
    app: &TestApp,
    c: &reqwest::Client,
    base: &str,
    n: usize,
    q1: &str,
    q2: &str,
    marks: &[&str],
) -> reqwest::Response {
    let path = format!("{base}/s/{n}");
    let csrf = app.csrf(c, &path).await;
    let mut form = vec![("csrf", csrf.as_str()), ("q_Q1", q1), ("q_Q2", q2)];
    for m in marks {
        form.push(("mark", m));
    }
    app.post_form(c, &path, &form).await
}

db_test! {
#[tokio::test]
async fn a_trainee_answers_and_gets_feedback_with_model_codes_panel_and_prompt() {
    let app = spawn_app().await;
    let sup = app.researcher().await;
    let module = create_module(&app, &sup).await;
    let tokens = add_trainees(&app, &sup, &module, &["T01"]).await;
    let token = &tokens[0].1;
    let responses_before = app
        .store
        .load_study(rupturelab_store::StudyId(1))
        .await
        .unwrap()
        .responses
        .len();

    let t = app.client();
    let (s, home) = app.get_text(&t, &format!("/t/{token}")).await;
    assert_eq!(s, 200);
    // The supervisor's title is escaped.
    assert!(
        home.contains("Ruptures &#60;em&#62;&#38; repair&#60;/em&#62;"),
        "{home}"
    );
    assert!(!home.contains("<em>"));
    assert!(home.contains(&format!("/t/{token}/s/1")));
    let (s, page) = app.get_text(&t, &format!("/t/{token}/s/1")).await;
    assert_eq!(s, 200);
    assert!(page.contains("class=\"turn\""), "transcript turns shown");
    assert!(page.contains("name=\"q_Q1\"") && page.contains("name=\"q_Q2\""));
    assert!(
        !page.contains("name=\"q_Q3\""),
        "only the module's questions"
    );
    assert!(page.contains("name=\"mark\" value=\"therapist\""));

    // An empty answer is refused with a clear message.
    let r = answer(&app, &t, token, 1, "  ", "", &[]).await;
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("at least one question"));

    let r = answer(&app, &t, token, 1, PATIENT_ONLY, TECHNICAL, &["patient"]).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), format!("/t/{token}/s/1/feedback"));
    let (s, fb) = app.get_text(&t, &format!("/t/{token}/s/1/feedback")).await;
    assert_eq!(s, 200);
    // Their answer, the model's codes labelled automatic with a confidence.
    assert!(fb.contains("She is avoiding the homework"));
    assert!(fb.contains("Automatic codes") && fb.contains("automatic, and it can be wrong"));
    // (The example study's consensus names the patient in almost every
    // cause answer, so no patient model exists; the technical resolution is
    // modelled.)
    assert!(
        fb.contains("<li>Technical resolution <span class=\"hint\">(confidence "),
        "{fb}"
    );
    // Their own mark.
    assert!(
        fb.contains("<li>Patient&#39;s contribution</li>")
            || fb.contains("<li>Patient's contribution</li>"),
        "{fb}"
    );
    // The panel as SVG charts, overall and by orientation.
    assert!(fb.contains("<svg viewBox="));
    assert!(fb.contains("All therapists (n = 20)"), "{fb}");
    assert!(fb.contains("CBT (n = "), "{fb}");
    assert!(fb.contains("Psychodynamic (n = "), "{fb}");
    assert!(!fb.contains("<script"), "no inline script");
    // Anonymised quotes: some text, never a participant code.
    assert!(fb.contains("<blockquote class=\"said\">"));
    for p in 1..=20 {
        let code = format!("P{p:02}");
        assert!(
            !fb.contains(&code),
            "participant code {code} on the feedback page"
        );
    }
    for coder in ["Ayla", "Burak"] {
        assert!(!fb.contains(coder), "{coder} on the feedback page");
    }
    // A patient-only cause answer gets the therapist's-part prompt; a
    // technical-only resolution the relational one.
    assert!(fb.contains("metacommunication"), "{fb}");
    assert!(fb.contains("What could the therapist say about the relationship itself"));

    // The exercise is locked; the page now leads to the feedback.
    let r = app.get(&t, &format!("/t/{token}/s/1")).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), format!("/t/{token}/s/1/feedback"));
    let csrf = csrf_in(&page).unwrap();
    let r = app
        .post_form(
            &t,
            &format!("/t/{token}/s/1"),
            &[("csrf", &csrf), ("q_Q1", "again")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 409);

    // Trainee answers never enter the study's responses.
    let study = app
        .store
        .load_study(rupturelab_store::StudyId(1))
        .await
        .unwrap();
    assert_eq!(study.responses.len(), responses_before);
    assert!(!study
        .responses
        .iter()
        .any(|r| r.answer.text() == Some(PATIENT_ONLY)));
    // But they are stored as the trainee's exercise.
    let rec = app
        .store
        .trainee_by_token(&token_hash(token))
        .await
        .unwrap()
        .unwrap();
    let ex = app.store.trainee_exercises(rec.id).await.unwrap();
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].answers.len(), 2);
    assert_eq!(ex[0].answers[0].question.as_str(), "Q1");
    assert!(ex[0].answers[1]
        .auto_codes
        .iter()
        .any(|c| c.code.as_str() == "Resolution/Technical" && c.confidence >= 0.5));
    assert_eq!(ex[0].marks, vec![rupturelab_core::training::Focus::Patient]);

    // Exercise numbers outside the module are 404.
    for n in ["0", "4", "x", "99999999999999999999"] {
        let (s, _) = app.get_text(&t, &format!("/t/{token}/s/{n}")).await;
        assert_eq!(s, 404, "{n}");
    }
}
}

db_test! {
#[tokio::test]
async fn a_trainee_never_sees_another_trainees_answers() {
    let app = spawn_app().await;
    let sup = app.researcher().await;
    let module = create_module(&app, &sup).await;
    let tokens = add_trainees(&app, &sup, &module, &["T01", "T02"]).await;
    let (a, b) = (app.client(), app.client());
    let secret = "Only trainee one wrote this sentence about the therapist's agenda.";
    let r = answer(&app, &a, &tokens[0].1, 1, secret, TECHNICAL, &[]).await;
    assert_eq!(r.status().as_u16(), 303);
    // T02 has not answered: their feedback page sends them to the exercise.
    let r = app
        .get(&b, &format!("/t/{}/s/1/feedback", tokens[1].1))
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), format!("/t/{}/s/1", tokens[1].1));
    let r = answer(&app, &b, &tokens[1].1, 1, PATIENT_ONLY, TECHNICAL, &[]).await;
    assert_eq!(r.status().as_u16(), 303);
    for path in ["", "/s/1", "/s/1/feedback", "/s/2"] {
        let (s, body) = app.get_text(&b, &format!("/t/{}{path}", tokens[1].1)).await;
        assert!(s == 200 || s == 303, "{path}: {s}");
        assert!(!body.contains("Only trainee one"), "{path}");
        assert!(!body.contains("T01"), "{path}");
    }
    // Even with T01's session cookie, T02's link shows T02's answer only.
    let (_, body) = app
        .get_text(&a, &format!("/t/{}/s/1/feedback", tokens[1].1))
        .await;
    assert!(body.contains("She is avoiding") && !body.contains("Only trainee one"));
}
}

db_test! {
#[tokio::test]
async fn unknown_and_revoked_trainee_links_are_404_and_rate_limited() {
    let app = spawn_with(|c| c.token_attempts = 4).await;
    let sup = app.researcher().await;
    let module = create_module(&app, &sup).await;
    let tokens = add_trainees(&app, &sup, &module, &["T01"]).await;
    let old = tokens[0].1.clone();
    assert_eq!(old.len(), 32);
    assert!(app.store.trainee_by_token(&old).await.unwrap().is_none());
    let t = app.client();
    assert_eq!(app.get_text(&t, &format!("/t/{old}")).await.0, 200);
    // Reissue: the old link stops working, the new one works.
    let csrf = app.csrf(&sup, &module).await;
    let r = app
        .post_form(
            &sup,
            &format!("{module}/trainees/T01/invite"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let links = links_in(&r.text().await.unwrap());
    let new = links[0].rsplit('/').next().unwrap().to_string();
    assert_ne!(new, old);
    assert_eq!(app.get_text(&t, &format!("/t/{old}")).await.0, 404);
    assert_eq!(app.get_text(&t, &format!("/t/{new}")).await.0, 200);
    // Revoke.
    let r = app
        .post_form(
            &sup,
            &format!("{module}/trainees/T01/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let (s, body) = app.get_text(&t, &format!("/t/{new}/s/1")).await;
    assert_eq!(s, 404);
    assert!(!body.contains(MODULE_TITLE));
    // Malformed and unknown tokens: 404, then 429 for this client.
    assert_eq!(app.get_text(&t, "/t/not-a-token").await.0, 404);
    assert_eq!(app.get_text(&t, &format!("/t/{:032x}", 7)).await.0, 404);
    assert_eq!(app.get_text(&t, &format!("/t/{:032x}", 8)).await.0, 429);
    // A participant link is not a trainee link.
    let p = app.invite(STUDY, &["C01"]).await;
    assert!(app
        .store
        .trainee_by_token(&token_hash(&p[0].1))
        .await
        .unwrap()
        .is_none());
}
}

db_test! {
#[tokio::test]
async fn trainee_and_supervisor_posts_need_the_csrf_token() {
    let app = spawn_app().await;
    let sup = app.researcher().await;
    let module = create_module(&app, &sup).await;
    let tokens = add_trainees(&app, &sup, &module, &["T01"]).await;
    let t = app.client();
    let path = format!("/t/{}/s/1", tokens[0].1);
    let _ = app.csrf(&t, &path).await;
    let r = app
        .post_form(
            &t,
            &path,
            &[
                ("q_Q1", PATIENT_ONLY),
                ("csrf", "0123456789abcdef0123456789abcdef"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);
    let r = app.post_form(&t, &path, &[("q_Q1", PATIENT_ONLY)]).await;
    assert_eq!(r.status().as_u16(), 403);
    let rec = app
        .store
        .trainee_by_token(&token_hash(&tokens[0].1))
        .await
        .unwrap()
        .unwrap();
    assert!(app
        .store
        .trainee_exercises(rec.id)
        .await
        .unwrap()
        .is_empty());
    // The supervisor's forms too.
    let r = app
        .post_form(&sup, &format!("{module}/trainees"), &[("list", "T09")])
        .await;
    assert_eq!(r.status().as_u16(), 403);
    let r = app
        .post_form(&sup, "/studies/rupture-study/training", &[("title", "x")])
        .await;
    assert_eq!(r.status().as_u16(), 403);
}
}

db_test! {
#[tokio::test]
async fn coders_and_anonymous_visitors_cannot_reach_supervisor_pages() {
    let app = spawn_app().await;
    let sup = app.researcher().await;
    let module = create_module(&app, &sup).await;
    add_trainees(&app, &sup, &module, &["T01"]).await;
    let coder = app.client();
    app.login(&coder, CODER).await;
    let anon = app.client();
    for path in [
        "/studies/rupture-study/training".to_string(),
        module.clone(),
        format!("{module}/export.csv"),
    ] {
        let (s, body) = app.get_text(&coder, &path).await;
        assert_eq!(s, 403, "{path}");
        assert!(!body.contains("T01"), "{path}");
        let r = app.get(&anon, &path).await;
        assert_eq!(r.status().as_u16(), 303, "{path}");
        assert!(location(&r).starts_with("/login"), "{path}");
    }
    let csrf = app.csrf(&coder, "/coding").await;
    let r = app
        .post_form(
            &coder,
            &format!("{module}/trainees"),
            &[("csrf", &csrf), ("list", "X9")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);
    let r = app
        .post_form(
            &coder,
            &format!("{module}/trainees/T01/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);
    let id: i64 = module.rsplit('/').next().unwrap().parse().unwrap();
    let list = app.store.trainee_overview(ModuleId(id)).await.unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].active_link);
    // A module is reachable only under its own study.
    let other = module.replace("rupture-study", "ornek-calisma-tr");
    assert_eq!(app.get_text(&sup, &other).await.0, 404);
}
}

db_test! {
#[tokio::test]
async fn module_form_errors_name_the_field() {
    let app = spawn_app().await;
    let sup = app.researcher().await;
    let path = "/studies/rupture-study/training";
    let (s, page) = app.get_text(&sup, path).await;
    assert_eq!(s, 200);
    // Starter prompts are offered in the study's language.
    assert!(page.contains("metacommunication"));
    let (_, tr) = app
        .get_text(&sup, "/studies/ornek-calisma-tr/training")
        .await;
    assert!(tr.contains("üst-iletişim"), "{tr}");
    let csrf = csrf_in(&page).unwrap();
    let r = app
        .post_form(
            &sup,
            path,
            &[("csrf", &csrf), ("title", "M"), ("question", "Q1")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Segments: choose at least one segment"));
    let r = app
        .post_form(
            &sup,
            path,
            &[
                ("csrf", &csrf),
                ("title", "M"),
                ("segment", "S1"),
                ("question", "Q9"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("`Q9` is not a per-segment question"));
    let r = app
        .post_form(
            &sup,
            path,
            &[
                ("csrf", &csrf),
                ("title", "M"),
                ("segment", "S1"),
                ("question", "Q1"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Prompt “no therapist or relationship contribution named”: write a text"),
        "{body}"
    );
    // The title typed is kept.
    assert!(body.contains("value=\"M\""));
    // Trainee codes are pseudonyms.
    let module = create_module(&app, &sup).await;
    let csrf = app.csrf(&sup, &module).await;
    let r = app
        .post_form(
            &sup,
            &format!("{module}/trainees"),
            &[("csrf", &csrf), ("list", "Ayşe Yılmaz")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("Trainee codes:"));
    // The module creation is in the audit trail.
    let study = app
        .store
        .load_study(rupturelab_store::StudyId(1))
        .await
        .unwrap();
    assert!(study
        .audit
        .iter()
        .any(|e| e.action == "training.module.add" && e.actor == RESEARCHER.0));
}
}

db_test! {
#[tokio::test]
async fn the_dashboard_shows_profiles_change_and_the_panel_and_exports_safe_csv() {
    let app = spawn_app().await;
    let sup = app.researcher().await;
    let module = create_module(&app, &sup).await;
    let tokens = add_trainees(&app, &sup, &module, &["-T1", "T02"]).await;
    let c1 = app.client();
    // -T1: first exercise patient only, last names the therapist and the relationship.
    let r = answer(&app, &c1, &tokens[0].1, 1, PATIENT_ONLY, TECHNICAL, &[]).await;
    assert_eq!(r.status().as_u16(), 303);
    let r = answer(
        &app,
        &c1,
        &tokens[0].1,
        3,
        "The therapist pushed her own agenda and missed the patient's withdrawal.",
        "I would metacommunicate about what just happened between us.",
        &["therapist", "relationship", "relational"],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    let (s, page) = app.get_text(&sup, &module).await;
    assert_eq!(s, 200);
    assert!(page.contains("id=\"t--T1\""));
    // -T1's therapist column: not in the first, in the last.
    assert!(page.contains("✗→✓"), "{page}");
    // Pre/post: one pair.
    assert!(
        page.contains("<td>Therapist&#39;s contribution</td><td class=\"num\">1</td>")
            || page.contains("<td>Therapist's contribution</td><td class=\"num\">1</td>"),
        "{page}"
    );
    assert!(page.contains("McNemar exact p"));
    // Group beside panel, with a chart.
    assert!(page.contains("id=\"compare\""));
    assert!(
        page.contains("Trainees: 2 exercise(s). Panel: 60 answer(s)"),
        "{page}"
    );
    assert!(page.contains("class=\"bar alt\""));
    // Counting only marks: the first exercise had none.
    let (s, marks) = app.get_text(&sup, &format!("{module}?source=marks")).await;
    assert_eq!(s, 200);
    assert!(marks.contains("selected>own marks only"));
    assert_eq!(
        app.get_text(&sup, &format!("{module}?source=nope")).await.0,
        400
    );

    let r = app.get(&sup, &format!("{module}/export.csv")).await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = r.text().await.unwrap();
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("trainee,exercise,segment,submitted_at,model_patient,"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(rows.iter().all(|r| r.starts_with("'-T1,")), "{csv}");
    assert!(rows[0].starts_with("'-T1,1,S1,"));
    assert!(rows[1].starts_with("'-T1,2,S3,"));
    // No answer text leaves in the export.
    assert!(!csv.contains("avoiding"));

    // The supervisor reads one trainee's exercises; a coder cannot.
    let (s, page) = app.get_text(&sup, &format!("{module}/trainees/-T1")).await;
    assert_eq!(s, 200);
    assert!(page.contains("She is avoiding the homework"));
    assert!(
        page.contains("Therapist&#39;s contribution, Relationship, Relational resolution")
            || page.contains("Therapist's contribution, Relationship, Relational resolution"),
        "{page}"
    );
    assert_eq!(
        app.get_text(&sup, &format!("{module}/trainees/T99"))
            .await
            .0,
        404
    );
    let coder = app.client();
    app.login(&coder, CODER).await;
    let (s, body) = app
        .get_text(&coder, &format!("{module}/trainees/-T1"))
        .await;
    assert_eq!(s, 403);
    assert!(!body.contains("avoiding"));
}
}

db_test! {
#[tokio::test]
async fn a_turkish_module_speaks_turkish_and_the_marks_steer_the_prompt() {
    let app = spawn_app().await;
    let sup = app.researcher().await;
    let path = "/studies/ornek-calisma-tr/training";
    let (_, page) = app.get_text(&sup, path).await;
    let csrf = csrf_in(&page).unwrap();
    let prompts = starter_prompts(Language::Tr);
    let mut form: Vec<(String, String)> = vec![
        ("csrf".into(), csrf),
        ("title".into(), "Kopma alıştırmaları".into()),
        ("segment".into(), "S1".into()),
        ("question".into(), "Q1".into()),
        ("question".into(), "Q2".into()),
        ("feedback".into(), "model_codes".into()),
        ("feedback".into(), "panel".into()),
        ("feedback".into(), "prompt".into()),
    ];
    for p in PromptKind::ALL {
        form.push((format!("prompt_{}", p.as_str()), prompts[&p].clone()));
    }
    let r = sup.post(app.url(path)).form(&form).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let module = location(&r);
    let tokens = add_trainees(&app, &sup, &module, &["S01"]).await;
    // The segment's recording is shown as in the participant runner.
    let sid = rupturelab_store::find_study(app.store.as_ref(), Some("ornek-calisma-tr"))
        .await
        .unwrap()
        .id;
    let s1 = rupturelab_core::Key::parse("S1").unwrap();
    let mut seg = app.store.segment(sid, &s1).await.unwrap().unwrap();
    seg.media = Some(rupturelab_core::Media {
        reference: "https://media.example.org/s1.mp3".into(),
        start_ms: Some(2000),
        end_ms: None,
    });
    app.store.upsert_segment(sid, &seg).await.unwrap();
    let t = app.client();
    let (_, ex) = app.get_text(&t, &format!("/t/{}/s/1", tokens[0].1)).await;
    assert!(
        ex.contains(
            "<audio controls preload=\"metadata\" src=\"https://media.example.org/s1.mp3#t=2\">"
        ),
        "{ex}"
    );
    assert!(ex.contains("<h2>Kayıt</h2>"));
    let (_, home) = app.get_text(&t, &format!("/t/{}", tokens[0].1)).await;
    assert!(home.contains("<html lang=\"tr\">") && home.contains("Alıştırmalar"));
    let r = answer(
        &app,
        &t,
        &tokens[0].1,
        1,
        "Terapist danışanı fazla zorladı.",
        "Olanı birlikte konuşurduk.",
        &["therapist", "relational"],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    let (s, fb) = app
        .get_text(&t, &format!("/t/{}/s/1/feedback", tokens[0].1))
        .await;
    assert_eq!(s, 200);
    assert!(fb.contains("Otomatik kodlar") && fb.contains("Kendi işaretleriniz"));
    assert!(fb.contains("<li>Terapistin katkısı</li>"), "{fb}");
    // Therapist only → what the patient brings; relational only → the task.
    assert!(fb.contains("Danışan bu âna neler getiriyor"), "{fb}");
    assert!(fb.contains("görevde, hedeflerde"), "{fb}");
    assert!(!fb.contains("üst-iletişim"));
    // The panel overall; quotes and orientation were not chosen.
    assert!(fb.contains("Tüm terapistler (n = "), "{fb}");
    assert!(!fb.contains("id=\"quotes\""));
    assert!(!fb.contains("Yönelime göre"));
}
}

/// Enrols trainee accounts in a module; returns the page and the (name,
/// password) pairs it shows once.
async fn enrol(
    app: &TestApp,
    c: &reqwest::Client,
    module: &str,
    names: &[&str],
) -> (u16, String, Vec<(String, String)>) {
    let csrf = app.csrf(c, module).await;
    let list = names.join("\n");
    let r = app
        .post_form(
            c,
            &format!("{module}/accounts"),
            &[("csrf", &csrf), ("list", &list)],
        )
        .await;
    let status = r.status().as_u16();
    let body = r.text().await.unwrap();
    (status, body.clone(), passwords_in(&body))
}

fn passwords_in(body: &str) -> Vec<(String, String)> {
    body.split("<tr><td>")
        .skip(1)
        .filter_map(|row| {
            let name = row.split('<').next()?.to_string();
            let tag = "<code class=\"new-password\">";
            let i = row.find(tag)? + tag.len();
            Some((name, row[i..].split('<').next()?.to_string()))
        })
        .collect()
}

/// Signs a trainee account in at /training; returns the response.
async fn trainee_login(
    app: &TestApp,
    c: &reqwest::Client,
    name: &str,
    password: &str,
    next: &str,
) -> reqwest::Response {
    let csrf = app.csrf(c, "/training").await;
    app.post_form(
        c,
        "/training/login",
        &[
            ("csrf", &csrf),
            ("username", name),
            ("password", password),
            ("next", next),
        ],
    )
    .await
}

/// The enrolment paths (`/training/m/N`) listed on a trainee's module list.
fn enrolments_in(body: &str) -> Vec<String> {
    body.split("href=\"/training/m/")
        .skip(1)
        .map(|s| format!("/training/m/{}", s.split('"').next().unwrap()))
        .collect()
}

db_test! {
#[tokio::test]
async fn trainee_accounts_sign_in_see_all_their_modules_and_only_their_own_work() {
    let app = spawn_app().await;
    let sup = app.researcher().await;
    let m1 = create_module(&app, &sup).await;
    let m2 = create_module(&app, &sup).await;

    // New names get an account and a password shown once; an existing
    // account is enrolled without a new password.
    let (s, _, first) = enrol(&app, &sup, &m1, &["deniz"]).await;
    assert_eq!(s, 200);
    assert_eq!(first.len(), 1);
    let deniz_pw = first[0].1.clone();
    assert_eq!((first[0].0.as_str(), deniz_pw.len()), ("deniz", 16));
    let (s, body, second) = enrol(&app, &sup, &m2, &["deniz", "elif"]).await;
    assert_eq!(s, 200);
    assert_eq!(second.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(), ["elif"]);
    let elif_pw = second[0].1.clone();
    assert!(body.contains("Already had an account") && body.contains("deniz"), "{body}");
    assert!(body.contains("/training</code>"), "the sign-in address is shown");
    // Stored only as argon2id hashes.
    let acc = app.store.trainee_account_by_name("deniz").await.unwrap().unwrap();
    assert!(acc.password_hash.starts_with("$argon2id$") && !acc.password_hash.contains(&deniz_pw));
    // Bad names and names already in the module are refused with the reason.
    for (list, why) in [("no spaces", "not valid"), ("deniz", "already exists"), ("x\nx", "listed twice")] {
        let (s, body, _) = enrol(&app, &sup, &m1, &[list]).await;
        assert_eq!(s, 422, "{list}");
        assert!(body.contains(why), "{list}: {body}");
    }

    // Not signed in: the trainee pages send to the trainee sign-in.
    let d = app.client();
    let r = app.get(&d, "/training/m/1/s/1").await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), "/training?next=%2Ftraining%2Fm%2F1%2Fs%2F1");
    let (s, body) = app.get_text(&d, "/training").await;
    assert_eq!(s, 200);
    assert!(body.contains("id=\"trainee-login\""));
    let r = trainee_login(&app, &d, "deniz", "wrong password", "").await;
    assert_eq!(r.status().as_u16(), 401);
    let r = trainee_login(&app, &d, "deniz", &deniz_pw, "https://evil.example/").await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), "/training");
    let (s, body) = app.get_text(&d, "/training").await;
    assert_eq!(s, 200);
    let mine = enrolments_in(&body);
    assert_eq!(mine.len(), 2, "{body}");
    assert!(body.contains("0 of 3 exercises done"));
    assert!(body.contains("Ruptures &#60;em&#62;&#38; repair&#60;/em&#62;"), "titles are escaped");

    // Deniz does exercise 1 of the first module and reads the feedback.
    let (s, home) = app.get_text(&d, &mine[0]).await;
    assert_eq!(s, 200);
    assert!(home.contains("id=\"account-name\">deniz<"));
    assert!(home.contains(&format!("href=\"{}/s/1\"", mine[0])));
    let r = answer_at(&app, &d, &mine[0], 1, PATIENT_ONLY, TECHNICAL, &["patient"]).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), format!("{}/s/1/feedback", mine[0]));
    let (s, fb) = app.get_text(&d, &format!("{}/s/1/feedback", mine[0])).await;
    assert_eq!(s, 200);
    assert!(fb.contains("She is avoiding"));
    // The supervisor sees it under the account's name.
    let (_, dash) = app.get_text(&sup, &m1).await;
    assert!(dash.contains("id=\"t-deniz\"") && dash.contains("Reset password"));
    let (_, page) = app.get_text(&sup, &format!("{m1}/trainees/deniz")).await;
    assert!(page.contains("She is avoiding"));

    // Elif signs in: she sees her one module and never deniz's work.
    let e = app.client();
    assert_eq!(trainee_login(&app, &e, "elif", &elif_pw, "").await.status().as_u16(), 303);
    let (_, body) = app.get_text(&e, "/training").await;
    let hers = enrolments_in(&body);
    assert_eq!(hers.len(), 1);
    assert!(!mine.contains(&hers[0]));
    for path in [mine[0].clone(), format!("{}/s/1", mine[0]), format!("{}/s/1/feedback", mine[0]), mine[1].clone()] {
        let (s, body) = app.get_text(&e, &path).await;
        assert_eq!(s, 404, "{path}");
        assert!(!body.contains("She is avoiding"), "{path}");
    }
    let r = answer_at(&app, &e, &hers[0], 1, TECHNICAL, TECHNICAL, &[]).await;
    assert_eq!(r.status().as_u16(), 303);
    // A trainee account is no staff account: console and coding stay closed.
    for path in ["/studies", "/coding", "/studies/rupture-study/training"] {
        let r = app.get(&e, path).await;
        assert_eq!(r.status().as_u16(), 303, "{path}");
        assert!(location(&r).starts_with("/login"), "{path}");
    }

    // Link actions do not apply to accounts; a reset ends deniz's sessions.
    let csrf = app.csrf(&sup, &m1).await;
    let r = app.post_form(&sup, &format!("{m1}/trainees/deniz/invite"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status().as_u16(), 422);
    let r = app.post_form(&sup, &format!("{m1}/trainees/deniz/password"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status().as_u16(), 200);
    let reset = passwords_in(&r.text().await.unwrap());
    assert_eq!(reset.len(), 1);
    assert_ne!(reset[0].1, deniz_pw);
    let r = app.get(&d, &mine[0]).await;
    assert_eq!(r.status().as_u16(), 303, "the old session ended");
    assert_eq!(trainee_login(&app, &d, "deniz", &deniz_pw, "").await.status().as_u16(), 401);
    let r = trainee_login(&app, &d, "deniz", &reset[0].1, &format!("{}/s/1/feedback", mine[0])).await;
    assert_eq!(location(&r), format!("{}/s/1/feedback", mine[0]), "back where they were");
    // Link trainees have no password to reset.
    add_trainees(&app, &sup, &m1, &["T01"]).await;
    let r = app.post_form(&sup, &format!("{m1}/trainees/T01/password"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status().as_u16(), 422);

    // Deniz changes the password: errors say what to fix; afterwards only
    // the new one works, and this session stays signed in.
    let csrf = app.csrf(&d, "/training/password").await;
    let change = |cur: String, new: &'static str, rep: &'static str| {
        let csrf = csrf.clone();
        let (app, d) = (&app, &d);
        async move {
            let r = app
                .post_form(d, "/training/password", &[("csrf", &csrf), ("current", &cur), ("new", new), ("repeat", rep)])
                .await;
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (s, body) = change("nope".into(), "a long new secret", "a long new secret").await;
    assert!(s == 422 && body.contains("current password is wrong"), "{body}");
    let (s, body) = change(reset[0].1.clone(), "short", "short").await;
    assert!(s == 422 && body.contains("too short"), "{body}");
    let (s, body) = change(reset[0].1.clone(), "a long new secret", "another one!!").await;
    assert!(s == 422 && body.contains("differ"), "{body}");
    let (s, body) = change(reset[0].1.clone(), "a long new secret", "a long new secret").await;
    assert!(s == 200 && body.contains("id=\"changed\""), "{body}");
    assert_eq!(app.get(&d, &mine[0]).await.status().as_u16(), 200);
    let other = app.client();
    assert_eq!(trainee_login(&app, &other, "deniz", &reset[0].1, "").await.status().as_u16(), 401);
    assert_eq!(trainee_login(&app, &other, "deniz", "a long new secret", "").await.status().as_u16(), 303);

    // Sign-out; the sign-in form needs its CSRF token.
    let csrf = app.csrf(&d, "/training").await;
    let r = app.post_form(&d, "/training/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(app.get(&d, &mine[0]).await.status().as_u16(), 303);
    let r = app
        .post_form(&app.client(), "/training/login", &[("username", "deniz"), ("password", "a long new secret")])
        .await;
    assert_eq!(r.status().as_u16(), 403);
    // Nothing secret in the audit trail.
    let audit = app.store.load_study(rupturelab_store::StudyId(1)).await.unwrap().audit;
    assert_eq!(audit.iter().filter(|e| e.action == "training.trainee.enrol").count(), 3);
    let resets: Vec<_> = audit.iter().filter(|e| e.action == "training.trainee.password").collect();
    assert_eq!(resets.len(), 1, "the reset is in the audit trail");
    assert_eq!(resets[0].actor, RESEARCHER.0);
    assert!(resets[0].entity.starts_with("trainee deniz of module "), "{}", resets[0].entity);
    assert!(audit.iter().all(|e| {
        [&deniz_pw, &elif_pw, &reset[0].1].iter().all(|pw| !e.detail.contains(pw.as_str()) && !e.entity.contains(pw.as_str()))
    }));
}
}

db_test! {
#[tokio::test]
async fn the_study_report_has_a_training_section_once_a_module_has_exercises() {
    let app = spawn_app().await;
    let sup = app.researcher().await;
    let (_, before) = app
        .get_text(&sup, "/studies/rupture-study/report/download?format=md&date=2026-11-28")
        .await;
    assert!(!before.contains("# Training modules"));
    let module = create_module(&app, &sup).await;
    let tokens = add_trainees(&app, &sup, &module, &["trainee-zq9"]).await;
    let t = app.client();
    for n in [1, 2] {
        let text = format!("Zyxwv answer {n}: the therapist pushed too hard.");
        let r = answer(&app, &t, &tokens[0].1, n, &text, TECHNICAL, &["therapist"]).await;
        assert_eq!(r.status().as_u16(), 303);
    }
    let (s, md) = app
        .get_text(&sup, "/studies/rupture-study/report/download?format=md&date=2026-11-28")
        .await;
    assert_eq!(s, 200);
    assert!(md.contains("# Training modules"), "{md}");
    assert!(md.contains("1 trainee(s) submitted 2 exercise(s)"), "{md}");
    assert!(md.contains("| Therapist's contribution | 2 (100%) |"), "{md}");
    assert!(!md.contains("trainee-zq9"), "trainee codes are not printed");
    assert!(!md.contains("Zyxwv"), "nor their answers");
}
}

db_test! {
#[tokio::test]
async fn a_trainee_sign_in_never_clears_failed_staff_sign_ins() {
    let app = spawn_with(|c| c.login_attempts = 3).await;
    let sup = app.researcher().await;
    let module = create_module(&app, &sup).await;
    let (_, _, pw) = enrol(&app, &sup, &module, &["deniz"]).await;
    let c = app.client();
    let staff = |password: &'static str| {
        let (app, c) = (&app, &c);
        async move {
            let csrf = app.csrf(c, "/login").await;
            app.post_form(c, "/login", &[("csrf", &csrf), ("username", RESEARCHER.0), ("password", password)])
                .await
                .status()
                .as_u16()
        }
    };
    assert_eq!(staff("wrong one").await, 401);
    assert_eq!(staff("wrong two").await, 401);
    // A trainee signs in from the same address: staff failures still count.
    assert_eq!(trainee_login(&app, &c, "deniz", &pw[0].1, "").await.status().as_u16(), 303);
    assert_eq!(staff("wrong three").await, 401);
    assert_eq!(staff(RESEARCHER.1).await, 429);
    // And trainees have their own limit: staff failures do not lock them out.
    let t = app.client();
    assert_eq!(trainee_login(&app, &t, "deniz", &pw[0].1, "").await.status().as_u16(), 303);
}
}
