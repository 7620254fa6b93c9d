//! HTTP integration tests against the real server (port 0, fresh database):
//! one test per security item of issue 5, and the participant and console
//! flows without JavaScript.

mod common;

use rupturelab_store::db_test;

use common::*;
use rupturelab_core::{Answer, Key, ParticipantStatus};
use rupturelab_store::Role;
use rupturelab_web::accounts::{self, token_hash};

fn k(s: &str) -> Key {
    Key::parse(s).unwrap()
}

// ------------------------------------------------------------------ serving

db_test! {
#[tokio::test]
async fn security_headers_are_on_every_response() {
    let app = spawn_app().await;
    let c = app.client();
    let (token,) = {
        let t = app.invite(STUDY, &["H01"]).await;
        (t[0].1.clone(),)
    };
    for path in [
        "/login".to_string(),
        "/static/app.css".into(),
        "/static/autosave.js".into(),
        "/no-such-page".into(),
        "/api/v1/openapi.json".into(),
        format!("/p/{token}/welcome"),
        "/studies".into(),
    ] {
        let r = app.get(&c, &path).await;
        let h = r.headers();
        let csp = h.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}");
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert_eq!(
            h.get("x-content-type-options").unwrap(),
            "nosniff",
            "{path}"
        );
        assert_eq!(h.get("x-frame-options").unwrap(), "DENY", "{path}");
        assert_eq!(h.get("referrer-policy").unwrap(), "same-origin", "{path}");
    }
    // Participant pages are never cached; pages carry no inline script.
    let r = app.get(&c, &format!("/p/{token}/welcome")).await;
    assert_eq!(r.headers().get("cache-control").unwrap(), "no-store");
    let body = r.text().await.unwrap();
    assert!(!body.contains("<script>") && !body.contains("onclick"));
}
}

db_test! {
#[tokio::test]
async fn unknown_pages_get_a_clear_404_and_internal_errors_an_opaque_500() {
    let app = spawn_app().await;
    let c = app.client();
    let (s, body) = app.get_text(&c, "/no/such/page").await;
    assert_eq!(s, 404);
    assert!(body.contains("404") && body.contains("not found"));
    let (s, body) = app
        .get_text(&c, "/p/0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!(s, 404);
    assert!(body.contains("This study link is not valid") && body.contains("geçerli değil"));
    let r = c.get(app.url("/api/v1/studies")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["status"], 401);
    // Break the database: the page says only that something went wrong.
    app.store.close().await;
    let (s, body) = app.get_text(&c, "/login").await;
    assert_eq!(s, 500);
    assert!(body.contains("Reference"), "{body}");
    for leak in ["pool", "sqlx", "closed", "database"] {
        assert!(
            !body.to_lowercase().contains(leak),
            "500 page leaks `{leak}`: {body}"
        );
    }
}
}

db_test! {
#[tokio::test]
async fn request_bodies_over_the_limit_are_refused() {
    let app = spawn_app().await;
    let c = app.researcher().await;
    let big = "x".repeat(rupturelab_web::BODY_LIMIT + 10);
    let r = c
        .post(app.url("/studies/rupture-study/settings"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("welcome_text={big}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
}
}

// ----------------------------------------------------------------- accounts

db_test! {
#[tokio::test]
async fn passwords_are_stored_as_argon2id_hashes() {
    let app = spawn_app().await;
    let u = app.store.user_by_name(RESEARCHER.0).await.unwrap().unwrap();
    assert!(
        u.password_hash.starts_with("$argon2id$"),
        "{}",
        u.password_hash
    );
    assert!(!u.password_hash.contains(RESEARCHER.1));
    let short = accounts::create_user(app.store.as_ref(), "x", Role::Coder, "short").await;
    assert!(short.is_err());
}
}

db_test! {
#[tokio::test]
async fn login_sets_an_httponly_samesite_lax_session_cookie_and_logout_ends_it() {
    let app = spawn_app().await;
    let c = app.client();
    let r = app.get(&c, "/login").await;
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http: no Secure flag ({cookie})"
    );
    assert_eq!(app.get(&c, "/studies").await.status().as_u16(), 303);
    let csrf = csrf_in(&r.text().await.unwrap()).unwrap();
    let r = app
        .post_form(
            &c,
            "/login",
            &[
                ("csrf", &csrf),
                ("username", RESEARCHER.0),
                ("password", "wrong-password"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 401);
    app.login(&c, RESEARCHER).await;
    let (s, body) = app.get_text(&c, "/studies").await;
    assert_eq!(s, 200);
    assert!(body.contains("rupture-study"));
    let csrf = csrf_in(&body).unwrap();
    let r = app.post_form(&c, "/logout", &[("csrf", &csrf)]).await;
    assert_eq!(location(&r), "/login");
    let r = app.get(&c, "/studies").await;
    assert_eq!(r.status().as_u16(), 303);
    assert!(location(&r).starts_with("/login?next="));
}
}

db_test! {
#[tokio::test]
async fn cookies_are_secure_when_served_over_https() {
    let app = spawn_with(|c| c.base_url = Some("https://study.example.org".into())).await;
    let r = app.get(&app.client(), "/login").await;
    let cookie = r.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
}
}

db_test! {
#[tokio::test]
async fn sessions_live_in_the_database_and_survive_a_restart() {
    let mut app = spawn_app().await;
    let c = app.researcher().await;
    app.restart().await;
    assert_eq!(app.get(&c, "/studies").await.status().as_u16(), 200);
}
}

db_test! {
#[tokio::test]
async fn login_is_rate_limited_per_client_address() {
    let app = spawn_with(|c| c.login_attempts = 3).await;
    let c = app.client();
    let csrf = app.csrf(&c, "/login").await;
    for _ in 0..3 {
        let r = app
            .post_form(
                &c,
                "/login",
                &[
                    ("csrf", &csrf),
                    ("username", RESEARCHER.0),
                    ("password", "nope-nope-nope"),
                ],
            )
            .await;
        assert_eq!(r.status().as_u16(), 401);
    }
    let r = app
        .post_form(
            &c,
            "/login",
            &[
                ("csrf", &csrf),
                ("username", RESEARCHER.0),
                ("password", RESEARCHER.1),
            ],
        )
        .await;
    assert_eq!(
        r.status().as_u16(),
        429,
        "even the right password waits out the window"
    );
}
}

db_test! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colleagues_signing_in_at_once_from_one_address_are_not_refused() {
    // A lab behind one address: twelve coders sign in at the same moment,
    // with a limit of 3 attempts. Attempts are counted per user name, so
    // none of them is refused (they were, when the count was per address).
    let app = spawn_with(|c| c.login_attempts = 3).await;
    let names: Vec<String> = (0..12).map(|i| format!("coder-{i}")).collect();
    for n in &names {
        accounts::create_user(app.store.as_ref(), n, Role::Coder, "a long password")
            .await
            .unwrap();
    }
    let mut clients = Vec::new();
    for _ in &names {
        let c = app.client();
        let csrf = app.csrf(&c, "/login").await;
        clients.push((c, csrf));
    }
    // Each request is its own task, so they run at once.
    let post = |c: &reqwest::Client, csrf: &str, name: &str, password: &str| {
        let form = [
            ("csrf", csrf.to_string()),
            ("username", name.to_string()),
            ("password", password.to_string()),
        ];
        let rb = c.post(app.url("/login")).form(&form);
        tokio::spawn(async move { rb.send().await.unwrap().status().as_u16() })
    };
    let mut tasks = Vec::new();
    for (n, (c, csrf)) in names.iter().zip(&clients) {
        tasks.push(post(c, csrf, n, "a long password"));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");

    // Concurrent guesses at one account are counted before the password
    // check: of eight at once, at most three are checked.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let c = app.client();
        let csrf = app.csrf(&c, "/login").await;
        tasks.push(post(&c, &csrf, RESEARCHER.0, &format!("guess {i}")));
    }
    let mut guesses = Vec::new();
    for t in tasks {
        guesses.push(t.await.unwrap());
    }
    assert!(guesses.iter().filter(|s| **s == 401).count() <= 3, "{guesses:?}");
    assert!(guesses.iter().all(|s| *s == 401 || *s == 429), "{guesses:?}");
}
}

db_test! {
#[tokio::test]
async fn unknown_participant_tokens_are_rate_limited() {
    let app = spawn_with(|c| c.token_attempts = 5).await;
    let c = app.client();
    for i in 0..5 {
        let (s, _) = app.get_text(&c, &format!("/p/{:032x}", i)).await;
        assert_eq!(s, 404);
    }
    let (s, _) = app.get_text(&c, &format!("/p/{:032x}", 99)).await;
    assert_eq!(s, 429);
}
}

db_test! {
#[tokio::test]
async fn wrong_api_tokens_are_rate_limited() {
    let app = spawn_with(|c| c.token_attempts = 3).await;
    let c = reqwest::Client::new();
    for _ in 0..3 {
        let r = c
            .get(app.url("/api/v1/studies"))
            .bearer_auth("rl_guess")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
    }
    let r = c
        .get(app.url("/api/v1/studies"))
        .bearer_auth("rl_guess")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
}
}

db_test! {
#[tokio::test]
async fn state_changing_requests_without_the_csrf_token_get_403() {
    let app = spawn_app().await;
    let tokens = app.invite(STUDY, &["C01"]).await;
    let c = app.researcher().await;
    let path = "/studies/rupture-study/settings";
    let csrf = app.csrf(&c, path).await;
    let form = |t: &'static str| {
        vec![
            ("language", "en"),
            ("presentation_order", "fixed"),
            ("csrf", t),
        ]
    };
    // Missing token.
    let r = app.post_form(&c, path, &form("")[..2]).await;
    assert_eq!(r.status().as_u16(), 403);
    // Wrong token.
    let r = app
        .post_form(&c, path, &form("00000000000000000000000000000000"))
        .await;
    assert_eq!(r.status().as_u16(), 403);
    // Right token from a foreign origin, or a cross-site fetch.
    let ok: Vec<(&str, &str)> = vec![
        ("language", "en"),
        ("presentation_order", "fixed"),
        ("csrf", &csrf),
    ];
    let r = c
        .post(app.url(path))
        .header("origin", "http://evil.example")
        .form(&ok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let r = c
        .post(app.url(path))
        .header("sec-fetch-site", "cross-site")
        .form(&ok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // Logout, participant forms and the autosave API need it too.
    assert_eq!(
        app.post_form(&c, "/logout", &[]).await.status().as_u16(),
        403
    );
    let p = app.client();
    let token = &tokens[0].1;
    app.get(&p, &format!("/p/{token}/welcome")).await;
    let r = app
        .post_form(
            &p,
            &format!("/p/{token}/consent"),
            &[("decision", "accept")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);
    let r = p
        .put(app.url(&format!("/api/v1/p/{token}/answers")))
        .json(&serde_json::json!({"answers": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // With the token it works.
    let r = app.post_form(&c, path, &ok).await;
    assert_eq!(r.status().as_u16(), 200);
}
}

db_test! {
#[tokio::test]
async fn coders_cannot_reach_the_researcher_console_or_api() {
    let app = spawn_app().await;
    let c = app.client();
    app.login(&c, CODER).await;
    for path in [
        "/studies",
        "/studies/rupture-study",
        "/studies/rupture-study/participants",
        "/studies/rupture-study/participants/P01",
        "/studies/rupture-study/responses",
        "/studies/rupture-study/settings",
        "/studies/rupture-study/design",
        "/api/v1/studies",
        "/api/v1/studies/rupture-study/responses",
    ] {
        let (s, body) = app.get_text(&c, path).await;
        assert_eq!(s, 403, "{path}");
        assert!(!body.contains("P01,"), "{path}");
    }
    let csrf = app.csrf(&c, "/coding").await;
    let r = app
        .post_form(
            &c,
            "/studies/rupture-study/participants",
            &[("csrf", &csrf), ("list", "X1")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);
    assert!(app
        .store
        .participant_id(rupturelab_store::StudyId(1), "X1")
        .await
        .unwrap()
        .is_none());
}
}

db_test! {
#[tokio::test]
async fn the_api_accepts_a_bearer_token_and_refuses_a_wrong_one() {
    let app = spawn_app().await;
    let u = app.store.user_by_name(RESEARCHER.0).await.unwrap().unwrap();
    let token = accounts::create_api_token(app.store.as_ref(), u.id, "test")
        .await
        .unwrap();
    let c = reqwest::Client::new();
    let r = c
        .get(app.url("/api/v1/studies"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v[0]["key"], "rupture-study");
    let r = c
        .get(app.url("/api/v1/studies"))
        .bearer_auth("rl_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // A bearer call needs no CSRF token.
    let r = c
        .put(app.url("/api/v1/studies/rupture-study/settings"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"language": "tr", "presentation_order": "random"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let d = app
        .store
        .study_design(rupturelab_store::StudyId(1))
        .await
        .unwrap();
    assert_eq!(d.meta.language.as_str(), "tr");
}
}

// ------------------------------------------------------------- participants

db_test! {
#[tokio::test]
async fn invitation_tokens_are_128_bit_random_and_stored_only_hashed() {
    let app = spawn_app().await;
    let tokens = app.invite(STUDY, &["T01", "T02"]).await;
    for (_, t) in &tokens {
        assert_eq!(t.len(), 32);
        assert!(t.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(app
            .store
            .participant_by_token(&token_hash(t))
            .await
            .unwrap()
            .is_some());
        assert!(app.store.participant_by_token(t).await.unwrap().is_none());
    }
    assert_ne!(tokens[0].1, tokens[1].1);
    // The token itself is nowhere in the database: not in any row a copy or
    // backup carries (both backends) …
    let everything = format!("{:?}", app.store.export_database(None).await.unwrap());
    assert!(everything.contains(&token_hash(&tokens[0].1)));
    for (_, t) in &tokens {
        assert!(!everything.contains(t.as_str()), "token stored in clear");
    }
    // … nor anywhere in the database files (SQLite).
    app.store.close().await;
    for entry in std::fs::read_dir(app.dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for (_, t) in &tokens {
            assert!(
                !bytes.windows(32).any(|w| w == t.as_bytes()),
                "token stored in clear"
            );
        }
    }
}
}

db_test! {
#[tokio::test]
async fn a_participant_reaches_only_their_own_record() {
    let app = spawn_app().await;
    let tokens = app.invite(STUDY, &["A01", "B01"]).await;
    let (a, b) = (&tokens[0].1, &tokens[1].1);
    let pa = app.client();
    let csrf = app.csrf(&pa, &format!("/p/{a}/welcome")).await;
    app.post_form(
        &pa,
        &format!("/p/{a}/consent"),
        &[("csrf", &csrf), ("decision", "accept")],
    )
    .await;
    // A's session and CSRF token do not open B's record.
    let b_id = app
        .store
        .participant_by_token(&token_hash(b))
        .await
        .unwrap()
        .unwrap()
        .id;
    let mut wrong = b.clone();
    wrong.replace_range(0..1, if b.starts_with('0') { "1" } else { "0" });
    for t in [wrong.as_str(), "P01", "1"] {
        let r = pa
            .get(app.url(&format!("/api/v1/p/{t}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 404, "{t}");
        let r = pa
            .put(app.url(&format!("/api/v1/p/{t}/answers")))
            .header("x-csrf-token", &csrf)
            .json(
                &serde_json::json!({"answers": [{"segment": "S1", "question": "Q1", "text": "x"}]}),
            )
            .send()
            .await
            .unwrap();
        assert!(
            matches!(r.status().as_u16(), 404 | 405),
            "{t}: {}",
            r.status()
        );
    }
    // Naming another participant in the body changes nothing: the token decides.
    let r = pa
        .put(app.url(&format!("/api/v1/p/{a}/answers")))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"participant": "B01", "answers": [{"segment": "S1", "question": "Q1", "text": "mine"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(app
        .store
        .participant_responses(b_id)
        .await
        .unwrap()
        .is_empty());
    // A participant's cookie does not open the console or other participants' pages.
    for path in [
        "/studies/rupture-study/participants/B01",
        "/studies/rupture-study/responses",
    ] {
        assert_eq!(app.get(&pa, path).await.status().as_u16(), 303, "{path}");
    }
    // Revoked and reissued links stop working.
    let c = app.researcher().await;
    let csrf_r = app.csrf(&c, "/studies/rupture-study/participants").await;
    app.post_form(
        &c,
        "/studies/rupture-study/participants/B01/revoke",
        &[("csrf", &csrf_r)],
    )
    .await;
    assert_eq!(
        app.get(&pa, &format!("/p/{b}")).await.status().as_u16(),
        404
    );
    let r = app
        .post_form(
            &c,
            "/studies/rupture-study/participants/A01/invite",
            &[("csrf", &csrf_r)],
        )
        .await;
    let new = links_in(&r.text().await.unwrap());
    assert_eq!(new.len(), 1);
    assert_eq!(
        app.get(&pa, &format!("/p/{a}")).await.status().as_u16(),
        404
    );
    let fresh = new[0].rsplit('/').next().unwrap();
    assert_eq!(
        app.get(&pa, &format!("/p/{fresh}")).await.status().as_u16(),
        303
    );
}
}

const XSS: [&str; 2] = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
];

fn assert_escaped(page: &str, body: &str) {
    assert!(!body.contains("<script>alert"), "{page} has a raw <script>");
    assert!(!body.contains("<img src=x"), "{page} has a raw <img>");
    assert!(
        !body.contains("\"><img"),
        "{page} breaks out of an attribute"
    );
}

db_test! {
#[tokio::test]
async fn user_provided_text_is_escaped_in_every_page() {
    let app = spawn_app().await;
    // A participant code, answers and settings texts carrying markup.
    let code = XSS[1];
    let tokens = app.invite(STUDY, &[code]).await;
    let t = &tokens[0].1;
    let c = app.researcher().await;
    let csrf = app.csrf(&c, "/studies/rupture-study/settings").await;
    let r = app
        .post_form(
            &c,
            "/studies/rupture-study/settings",
            &[
                ("csrf", &csrf),
                ("language", "en"),
                ("presentation_order", "latin-square"),
                ("consent_text", XSS[0]),
                ("welcome_text", XSS[1]),
                ("thanks_text", XSS[0]),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let csrf_d = app.csrf(&c, "/studies/rupture-study/design").await;
    let r = app
        .post_form(
            &c,
            "/studies/rupture-study/questions",
            &[
                ("csrf", &csrf_d),
                ("key", "Q9"),
                ("kind", "choice"),
                ("scope", "once"),
                ("prompt", XSS[0]),
                ("options", &format!("{}\n{}", XSS[0], XSS[1])),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let pid = app
        .store
        .participant_by_token(&token_hash(t))
        .await
        .unwrap()
        .unwrap()
        .id;
    app.store.record_consent(pid, true, "x").await.unwrap();
    let now = rupturelab_core::Timestamp::now();
    let segs = app.store.participant_segments(pid).await.unwrap();
    app.store
        .save_response(
            pid,
            Some(&segs[0].key),
            &k("Q1"),
            &Answer::Text(XSS[0].into()),
            now,
        )
        .await
        .unwrap();
    app.store
        .save_response(
            pid,
            Some(&segs[0].key),
            &k("Q2"),
            &Answer::Text(XSS[1].into()),
            now,
        )
        .await
        .unwrap();
    app.store
        .save_response(pid, None, &k("Q9"), &Answer::Choice(XSS[1].into()), now)
        .await
        .unwrap();
    let p = app.client();
    let enc = rupturelab_web_url(code);
    let pages = [
        format!("/p/{t}/welcome"),
        format!("/p/{t}/s/1"),
        format!("/p/{t}/final"),
        format!("/p/{t}/review"),
    ];
    for page in &pages {
        let (s, body) = app.get_text(&p, page).await;
        assert_eq!(s, 200, "{page}");
        assert_escaped(page, &body);
    }
    let console = [
        "/studies".to_string(),
        "/studies/rupture-study".into(),
        "/studies/rupture-study/participants".into(),
        format!("/studies/rupture-study/participants/{enc}"),
        "/studies/rupture-study/responses".into(),
        format!("/studies/rupture-study/responses?participant={enc}"),
        "/studies/rupture-study/settings".into(),
        "/studies/rupture-study/design".into(),
    ];
    for page in &console {
        let (s, body) = app.get_text(&c, page).await;
        assert_eq!(s, 200, "{page}");
        assert_escaped(page, &body);
    }
    let (_, body) = app.get_text(&c, "/studies/rupture-study/responses").await;
    assert!(body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
    // After submitting, the thank-you page shows the researcher's text escaped.
    let csrf_p = app.csrf(&p, &format!("/p/{t}/review")).await;
    app.post_form(&p, &format!("/p/{t}/submit"), &[("csrf", &csrf_p)])
        .await;
    let (s, body) = app.get_text(&p, &format!("/p/{t}/thanks")).await;
    assert_eq!(s, 200);
    assert_escaped("thanks", &body);
    // Error pages escape what they echo.
    let (_, body) = app
        .get_text(&c, &format!("/studies/{}", rupturelab_web_url(XSS[0])))
        .await;
    assert_escaped("404", &body);
}
}

fn rupturelab_web_url(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Posts a participant page's form with the given fields plus its CSRF token.
async fn participant_post(
    app: &TestApp,
    c: &reqwest::Client,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let (s, body) = app.get_text(c, page).await;
    assert_eq!(s, 200, "{page}");
    let csrf = csrf_in(&body).unwrap();
    let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf)];
    form.extend_from_slice(fields);
    app.post_form(c, action, &form).await
}

db_test! {
#[tokio::test]
async fn participant_completes_the_study_without_javascript_and_the_answers_lock() {
    let app = spawn_app().await;
    // Two participants so the second gets the next Latin-square row.
    let tokens = app.invite(STUDY, &["N01", "N02"]).await;
    let t = &tokens[1].1;
    let c = app.client();
    let r = app.get(&c, &format!("/p/{t}")).await;
    assert_eq!(location(&r), format!("/p/{t}/welcome"));
    let (_, body) = app.get_text(&c, &format!("/p/{t}/welcome")).await;
    assert!(
        body.contains("synthetic example study"),
        "consent text shown"
    );
    // Declining is recorded and shown; accepting goes on.
    let r = participant_post(
        &app,
        &c,
        &format!("/p/{t}/welcome"),
        &format!("/p/{t}/consent"),
        &[("decision", "decline")],
    )
    .await;
    assert_eq!(location(&r), format!("/p/{t}/declined"));
    let r = app.get(&c, &format!("/p/{t}/about")).await;
    assert_eq!(
        location(&r),
        format!("/p/{t}/welcome"),
        "no pages before consent"
    );
    let r = participant_post(
        &app,
        &c,
        &format!("/p/{t}/welcome"),
        &format!("/p/{t}/consent"),
        &[("decision", "accept")],
    )
    .await;
    assert_eq!(location(&r), format!("/p/{t}/about"));
    // Required demographics.
    let r = participant_post(
        &app,
        &c,
        &format!("/p/{t}/about"),
        &format!("/p/{t}/about"),
        &[("nav", "next")],
    )
    .await;
    assert_eq!(r.status().as_u16(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Please answer this question."));
    let r = participant_post(
        &app,
        &c,
        &format!("/p/{t}/about"),
        &format!("/p/{t}/about"),
        &[
            ("a_orientation", "Schema"),
            ("a_experience_years", "12"),
            ("a_rupture_training", "true"),
            ("nav", "next"),
        ],
    )
    .await;
    assert_eq!(location(&r), format!("/p/{t}/s/1"));
    // The assigned order is Williams row 1 for the second participant.
    let rec = app
        .store
        .participant_by_token(&token_hash(t))
        .await
        .unwrap()
        .unwrap();
    let order: Vec<String> = app
        .store
        .participant_segments(rec.id)
        .await
        .unwrap()
        .iter()
        .map(|s| s.key.to_string())
        .collect();
    let keys: Vec<Key> = ["S1", "S2", "S3", "S4", "S5", "S6"]
        .iter()
        .map(|s| k(s))
        .collect();
    let want =
        rupturelab_core::order::assign_order(rupturelab_core::OrderMode::LatinSquare, &keys, 1, 0);
    assert_eq!(
        order,
        want.order.iter().map(|k| k.to_string()).collect::<Vec<_>>()
    );
    let ov = app.store.participant_overview(rec.study_id).await.unwrap();
    assert_eq!(
        ov.iter()
            .find(|p| p.code.as_str() == "N02")
            .unwrap()
            .order_row,
        Some(1)
    );
    // Segment pages: transcript as turns, then the questions; answers save on Next.
    for n in 1..=6 {
        let page = format!("/p/{t}/s/{n}");
        let (s, body) = app.get_text(&c, &page).await;
        assert_eq!(s, 200);
        assert!(body.contains("class=\"speaker\""), "turns shown");
        assert!(body.contains(&format!("Segment {n} of 6")));
        let text = format!("answer {n} – çğıöşü İ");
        let r = participant_post(
            &app,
            &c,
            &page,
            &page,
            &[
                ("q_Q1", &text),
                ("q_Q2", "relational"),
                ("q_Q3", "4"),
                ("nav", "next"),
            ],
        )
        .await;
        let next = if n < 6 {
            format!("/p/{t}/s/{}", n + 1)
        } else {
            format!("/p/{t}/review")
        };
        assert_eq!(location(&r), next);
    }
    // Back keeps the answers; resuming goes to the last page.
    let (_, body) = app.get_text(&c, &format!("/p/{t}/s/3")).await;
    assert!(body.contains("answer 3 – çğıöşü İ"));
    let r = app.get(&app.client(), &format!("/p/{t}")).await;
    assert_eq!(
        location(&r),
        format!("/p/{t}/s/3"),
        "resume where they left off, even in a new browser"
    );
    let (_, body) = app.get_text(&c, &format!("/p/{t}/review")).await;
    assert!(body.contains("answer 6 – çğıöşü İ"));
    // Invalid rating is refused.
    let r = participant_post(
        &app,
        &c,
        &format!("/p/{t}/s/1"),
        &format!("/p/{t}/s/1"),
        &[("q_Q3", "9"), ("nav", "next")],
    )
    .await;
    assert_eq!(r.status().as_u16(), 422);
    let r = participant_post(
        &app,
        &c,
        &format!("/p/{t}/review"),
        &format!("/p/{t}/submit"),
        &[],
    )
    .await;
    assert_eq!(location(&r), format!("/p/{t}/thanks"));
    let rs = app.store.participant_responses(rec.id).await.unwrap();
    assert_eq!(rs.len(), 18);
    assert!(rs
        .iter()
        .any(|r| r.answer == Answer::Text("answer 2 – çğıöşü İ".into())));
    let rec = app
        .store
        .participant_by_token(&token_hash(t))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.status, ParticipantStatus::Completed);
    assert_eq!(rec.consent, Some(true));
    // Locked: the link shows the thank-you page; writes get 409.
    let r = app.get(&c, &format!("/p/{t}/s/1")).await;
    assert_eq!(location(&r), format!("/p/{t}/thanks"));
    let csrf = app.csrf(&c, "/login").await;
    let r = app
        .post_form(
            &c,
            &format!("/p/{t}/s/1"),
            &[("csrf", &csrf), ("q_Q1", "late"), ("nav", "next")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 409);
    let r = c
        .put(app.url(&format!("/api/v1/p/{t}/answers")))
        .header("x-csrf-token", &csrf)
        .json(
            &serde_json::json!({"answers": [{"segment": "S1", "question": "Q1", "text": "late"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 409);
    assert_eq!(app.store.participant_responses(rec.id).await.unwrap(), rs);
    // The dashboard counts them.
    let rc = app.researcher().await;
    let (_, body) = app.get_text(&rc, "/studies/rupture-study").await;
    assert!(body.contains("id=\"n-completed\">21<"), "{body}");
}
}

db_test! {
#[tokio::test]
async fn autosave_upserts_one_answer_per_key_and_checks_it() {
    let app = spawn_app().await;
    let tokens = app.invite(STUDY, &["S01"]).await;
    let t = &tokens[0].1;
    let c = app.client();
    let put = |csrf: String, body: serde_json::Value| {
        let c = c.clone();
        let url = app.url(&format!("/api/v1/p/{t}/answers"));
        async move {
            c.put(url)
                .header("x-csrf-token", csrf)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let csrf = app.csrf(&c, &format!("/p/{t}/welcome")).await;
    let one =
        serde_json::json!({"answers": [{"segment": "S2", "question": "Q1", "text": "draft"}]});
    assert_eq!(
        put(csrf.clone(), one.clone()).await.status().as_u16(),
        403,
        "consent first"
    );
    app.post_form(
        &c,
        &format!("/p/{t}/consent"),
        &[("csrf", &csrf), ("decision", "accept")],
    )
    .await;
    assert_eq!(put(csrf.clone(), one).await.status().as_u16(), 200);
    let r = put(
        csrf.clone(),
        serde_json::json!({"answers": [
        {"segment": "S2", "question": "Q1", "text": "final text"},
        {"segment": "S2", "question": "Q3", "value": "2"}]}),
    )
    .await;
    assert_eq!(r.status().as_u16(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["saved"], 2);
    for bad in [
        serde_json::json!({"answers": [{"segment": "S2", "question": "Q3", "value": "7"}]}),
        serde_json::json!({"answers": [{"segment": "S99", "question": "Q1", "text": "x"}]}),
        serde_json::json!({"answers": [{"segment": null, "question": "Q1", "text": "x"}]}),
        serde_json::json!({"answers": [{"segment": "S2", "question": "Q77", "text": "x"}]}),
    ] {
        assert_eq!(put(csrf.clone(), bad).await.status().as_u16(), 422);
    }
    let r = c
        .get(app.url(&format!("/api/v1/p/{t}")))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["code"], "S01");
    assert_eq!(v["answers"].as_array().unwrap().len(), 2);
    assert_eq!(v["answers"][0]["answer"], "final text");
}
}

// -------------------------------------------------------------------- console

db_test! {
#[tokio::test]
async fn researcher_adds_participants_by_csv_paste_and_sees_links_once() {
    let app = spawn_app().await;
    let c = app.researcher().await;
    let path = "/studies/rupture-study/participants";
    let csrf = app.csrf(&c, path).await;
    let csv = "code,orientation,experience_years\nX01,CBT,3\nX02,Schema,25";
    let r = app
        .post_form(&c, path, &[("csrf", &csrf), ("list", csv), ("invite", "1")])
        .await;
    let body = r.text().await.unwrap();
    assert_eq!(links_in(&body).len(), 2);
    // Shown once: the list page does not show them again.
    let (_, body) = app.get_text(&c, path).await;
    assert!(links_in(&body).is_empty());
    assert!(body.contains("X02"));
    // Invite-all reaches only those never invited (not X01, X02, nor a revoked link).
    let r = app
        .post_form(&c, path, &[("csrf", &csrf), ("list", "Y01\nY02")])
        .await;
    assert_eq!(links_in(&r.text().await.unwrap()).len(), 0);
    app.post_form(
        &c,
        "/studies/rupture-study/participants/X01/revoke",
        &[("csrf", &csrf)],
    )
    .await;
    let r = app
        .post_form(&c, "/studies/rupture-study/invite-all", &[("csrf", &csrf)])
        .await;
    let body = r.text().await.unwrap();
    assert_eq!(links_in(&body).len(), 2, "{body}");
    assert!(body.contains(">Y01<") && body.contains(">Y02<"));
    // Bad CSV: a clear 422 and nothing added.
    let r = app
        .post_form(
            &c,
            path,
            &[("csrf", &csrf), ("list", "code,orientation\nX03,Jungian")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("not an allowed value"));
    let r = app
        .post_form(&c, path, &[("csrf", &csrf), ("list", "X01")])
        .await;
    assert_eq!(r.status().as_u16(), 409);
    let data = app
        .store
        .load_study(rupturelab_store::StudyId(1))
        .await
        .unwrap();
    let x2 = data
        .participants
        .iter()
        .find(|p| p.code.as_str() == "X02")
        .unwrap();
    assert_eq!(
        x2.attributes["experience_years"],
        rupturelab_core::AttrValue::Integer(25)
    );
    assert_eq!(x2.order.len(), 6, "order assigned at invitation");
}
}

db_test! {
#[tokio::test]
async fn responses_table_filters_by_segment_question_and_attribute() {
    let app = spawn_app().await;
    let c = app.researcher().await;
    let (_, all) = app.get_text(&c, "/studies/rupture-study/responses").await;
    assert!(all.contains("360 of 360"));
    let (_, some) = app.get_text(&c, "/studies/rupture-study/responses?segment=S2&question=Q1&attribute=orientation&value=CBT").await;
    let n: usize = some
        .split(" of 360")
        .next()
        .unwrap()
        .rsplit('>')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(n > 0 && n < 20, "{n}");
}
}

db_test! {
#[tokio::test]
async fn researcher_edits_settings_segments_and_questions() {
    let app = spawn_app().await;
    let c = app.researcher().await;
    let csrf = app.csrf(&c, "/studies/rupture-study/design").await;
    let r = app
        .post_form(
            &c,
            "/studies/rupture-study/segments",
            &[("csrf", &csrf), ("key", "S7")],
        )
        .await;
    assert_eq!(location(&r), "/studies/rupture-study/segments/S7");
    let r = app
        .post_form(
            &c,
            "/studies/rupture-study/segments/S7",
            &[
                ("csrf", &csrf),
                ("label", "New one"),
                ("patient", "PT2"),
                ("session_no", "3"),
                ("rupture", "both"),
                ("markers", "Denial = 4\nMinimal response"),
                ("media_ref", "https://media.example/s7.mp4"),
                ("media_start", "1:05"),
                ("media_end", "2:00"),
                ("notes", ""),
                ("transcript", "T: How was that?\nP: Fine.\nIt was fine."),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let segs = app
        .store
        .study_segments(rupturelab_store::StudyId(1))
        .await
        .unwrap();
    let s7 = segs.last().unwrap();
    assert_eq!(
        (s7.key.as_str(), s7.turns.len(), s7.markers.len()),
        ("S7", 2, 2)
    );
    assert_eq!(s7.media.as_ref().unwrap().start_ms, Some(65_000));
    let r = app
        .post_form(
            &c,
            "/studies/rupture-study/questions",
            &[
                ("csrf", &csrf),
                ("key", "Q4"),
                ("kind", "likert"),
                ("scope", "once"),
                ("prompt", "How hard?"),
                ("options", "1-7\n1 = easy"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let r = app
        .post_form(
            &c,
            "/studies/rupture-study/questions",
            &[
                ("csrf", &csrf),
                ("key", "Q1"),
                ("kind", "choice"),
                ("scope", "segment"),
                ("prompt", "x"),
                ("options", "a\nb"),
            ],
        )
        .await;
    assert_eq!(
        r.status().as_u16(),
        422,
        "an answered question keeps its kind"
    );
    let csrf = app.csrf(&c, "/studies/rupture-study/settings").await;
    let r = app
        .post_form(
            &c,
            "/studies/rupture-study/settings",
            &[
                ("csrf", &csrf),
                ("language", "tr"),
                ("presentation_order", "random"),
                ("consent_text", "Onam metni"),
                ("welcome_text", ""),
                ("thanks_text", "Sağ olun"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let d = app
        .store
        .study_design(rupturelab_store::StudyId(1))
        .await
        .unwrap();
    assert_eq!(d.settings.thanks_text.as_deref(), Some("Sağ olun"));
    assert_eq!(d.settings.welcome_text, None);
    assert_eq!(
        d.settings.presentation_order,
        rupturelab_core::OrderMode::Random
    );
    // The participant pages now speak Turkish.
    let tokens = app.invite(STUDY, &["TR1"]).await;
    let p = app.client();
    let (_, body) = app
        .get_text(&p, &format!("/p/{}/welcome", tokens[0].1))
        .await;
    assert!(body.contains("lang=\"tr\"") && body.contains("Katılmayı kabul ediyorum"));
}
}

db_test! {
#[tokio::test]
async fn openapi_document_describes_every_api_route() {
    let app = spawn_app().await;
    let tokens = app.invite(STUDY, &["O01"]).await;
    let u = app.store.user_by_name(RESEARCHER.0).await.unwrap().unwrap();
    let bearer = accounts::create_api_token(app.store.as_ref(), u.id, "t")
        .await
        .unwrap();
    let c = reqwest::Client::new();
    let doc: serde_json::Value = c
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 9);
    for (path, ops) in paths {
        let concrete = path
            .replace("{study}", "rupture-study")
            .replace("{code}", "O01")
            .replace("{token}", &tokens[0].1)
            .replace("{key}", "S1")
            .replace("{what}", "segments");
        for method in ops.as_object().unwrap().keys() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = c
                .request(m, app.url(&format!("/api/v1{concrete}")))
                .bearer_auth(&bearer)
                .send()
                .await
                .unwrap();
            let s = r.status().as_u16();
            assert!(s != 404 && s != 405, "{method} {path} -> {s}");
        }
    }
}
}

db_test! {
#[tokio::test]
async fn researcher_edits_the_attribute_schema_and_reorders_segments_and_questions() {
    let app = spawn_app().await;
    let c = app.researcher().await;
    let design = "/studies/ornek-calisma-tr/design";
    let csrf = app.csrf(&c, design).await;
    let r = app
        .post_form(
            &c,
            "/studies/ornek-calisma-tr/attributes",
            &[
                ("csrf", &csrf),
                ("name", "egitim"),
                ("label", "Eğitim düzeyi"),
                ("kind", "category"),
                ("spec", "Lisans\nYüksek lisans\nDoktora"),
                ("bands", ""),
                ("required", "1"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let r = app
        .post_form(
            &c,
            "/studies/ornek-calisma-tr/attributes/defaults",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let sid = app
        .store
        .list_studies()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.key == "ornek-calisma-tr")
        .unwrap()
        .id;
    let d = app.store.study_design(sid).await.unwrap();
    let names: Vec<&str> = d.attributes.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(&names[..3], &["yonelim", "deneyim_yili", "egitim"]);
    assert!(
        names.contains(&"orientation") && names.contains(&"age"),
        "{names:?}"
    );
    assert!(d.attributes[2].required);
    // A bad range is a clear 422.
    let r = app
        .post_form(
            &c,
            "/studies/ornek-calisma-tr/attributes",
            &[
                ("csrf", &csrf),
                ("name", "yas"),
                ("label", ""),
                ("kind", "integer"),
                ("spec", "a-b"),
                ("bands", ""),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    // Move egitim up; move Q2 up.
    for (what, key) in [("attributes", "egitim"), ("questions", "Q2")] {
        let r = app
            .post_form(
                &c,
                "/studies/ornek-calisma-tr/move",
                &[("csrf", &csrf), ("what", what), ("key", key), ("dir", "up")],
            )
            .await;
        assert_eq!(r.status().as_u16(), 303);
    }
    let d = app.store.study_design(sid).await.unwrap();
    assert_eq!(d.attributes[1].name.as_str(), "egitim");
    assert_eq!(d.questions[0].key.as_str(), "Q2");
    let r = app
        .post_form(
            &c,
            "/studies/rupture-study/move",
            &[
                ("csrf", &csrf),
                ("what", "segments"),
                ("key", "S1"),
                ("dir", "down"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let segs = app
        .store
        .study_segments(rupturelab_store::StudyId(1))
        .await
        .unwrap();
    assert_eq!((segs[0].key.as_str(), segs[1].key.as_str()), ("S2", "S1"));
    let (s, body) = app.get_text(&c, design).await;
    assert_eq!(s, 200);
    assert!(body.contains("Eğitim düzeyi"));
}
}

db_test! {
#[tokio::test]
async fn the_api_edits_the_design_segments_questions_attributes_and_order() {
    let app = spawn_app().await;
    let u = app.store.user_by_name(RESEARCHER.0).await.unwrap().unwrap();
    let bearer = accounts::create_api_token(app.store.as_ref(), u.id, "t")
        .await
        .unwrap();
    let c = reqwest::Client::new();
    let put = |path: &str, body: serde_json::Value| {
        c.put(app.url(&format!("/api/v1/studies/rupture-study{path}")))
            .bearer_auth(&bearer)
            .json(&body)
            .send()
    };
    let r = put(
        "/segments/S9",
        serde_json::json!({
        "label": "API", "patient": "PT1", "rupture": "withdrawal",
        "markers": [{"name": "Denial", "salience": 2}],
        "media": {"reference": "https://media.example/a.mp3", "start_ms": 1000, "end_ms": 5000},
        "turns": [{"speaker": "T", "text": "Merhaba"}, {"speaker": "P", "text": "…"}]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let r = put(
        "/segments/S9",
        serde_json::json!({"patient": "PT1", "markers": [{"name": "x", "salience": 9}]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let r = put("/questions/Q5", serde_json::json!({"kind": "likert", "scope": "segment", "prompt": "Şiddet?", "min": 1, "max": 7, "anchors": {"1": "az"}})).await.unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let r = put(
        "/attributes/age",
        serde_json::json!({"type": "integer", "min": 18, "bands": [30, 50]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let keys = ["S9", "S1", "S2", "S3", "S4", "S5", "S6"];
    let r = put("/order/segments", serde_json::json!({"keys": keys}))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let r = put("/order/segments", serde_json::json!({"keys": ["S1"]}))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let v: serde_json::Value = c
        .get(app.url("/api/v1/studies/rupture-study"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["segments"][0]["key"], "S9");
    assert_eq!(v["segments"][0]["turns"], 2);
    assert_eq!(
        v["questions"].as_array().unwrap().last().unwrap()["key"],
        "Q5"
    );
    assert_eq!(
        v["attributes"].as_array().unwrap().last().unwrap()["name"],
        "age"
    );
    let seg: serde_json::Value = c
        .get(app.url("/api/v1/studies/rupture-study/segments/S9"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seg["turns"][0]["text"], "Merhaba");
    assert_eq!(seg["markers"][0]["salience"], 2);
    assert_eq!(seg["media"]["start_ms"], 1000);
}
}

db_test! {
#[tokio::test]
async fn a_transcript_file_upload_replaces_the_turns_and_needs_the_csrf_token() {
    let app = spawn_app().await;
    let c = app.researcher().await;
    let csrf = app.csrf(&c, "/studies/rupture-study/segments/S1").await;
    let file = "label: x\npatient: PT1\n---\nT: Bugün nasılsınız?\nD: İyiyim.\nGerçekten.\n"
        .as_bytes()
        .to_vec();
    let form = || {
        reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(file.clone())
                .file_name("s1.txt")
                .mime_str("text/plain")
                .unwrap(),
        )
    };
    let url = "/studies/rupture-study/segments/S1/transcript";
    let r = c.post(app.url(url)).multipart(form()).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403, "no token");
    let r = c
        .post(app.url(&format!("{url}?csrf={csrf}")))
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let s1 = app
        .store
        .study_segments(rupturelab_store::StudyId(1))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(s1.turns.len(), 2);
    assert_eq!(s1.turns[1].text, "İyiyim.\nGerçekten.");
    let bad = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(vec![0xff, 0xfe, 0x41]),
    );
    let r = c
        .post(app.url(&format!("{url}?csrf={csrf}")))
        .multipart(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
}
}
