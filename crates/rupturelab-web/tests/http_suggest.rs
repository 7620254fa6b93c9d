//! Suggestions in the coding screen, on the real server: the model learns
//! from the consensus codings (none before them, some after, retrained when
//! consensus changes), accepting creates a normal coding by the coder with
//! an audit event saying it came from a suggestion, rejecting is remembered,
//! the per-study switch (automatic = off while blind) and who may call.

mod common;

use common::*;
use rupturelab_core::{Key, CONSENSUS};
use rupturelab_store::{NewCoding, QueueFilter, Role, StudyId};
use rupturelab_web::accounts;
use serde_json::{json, Value};

const BASE: &str = "/api/v1/studies/rupture-study/coding";
const SECOND: (&str, &str) = ("deniz", "coder-password-456");

/// Switches blind mode (researcher).
async fn set_blind(app: &TestApp, blind: bool) {
    let (r, csrf) = signed_in(app, RESEARCHER).await;
    let (s, b) = call(
        app,
        &r,
        &csrf,
        "PUT",
        &format!("{BASE}/blind"),
        Some(json!({ "blind": blind })),
    )
    .await;
    assert_eq!(s, 204, "{b}");
}

/// The first response of the queue with at least `n` suggestions for this
/// client: (response id, suggestions).
async fn suggested(app: &TestApp, c: &reqwest::Client, csrf: &str, n: usize) -> (i64, Vec<Value>) {
    let (s, q) = call(app, c, csrf, "GET", &format!("{BASE}/queue"), None).await;
    assert_eq!(s, 200, "{q}");
    for item in q["items"].as_array().unwrap() {
        let id = item["id"].as_i64().unwrap();
        let (s, b) = call(
            app,
            c,
            csrf,
            "GET",
            &format!("{BASE}/responses/{id}/suggestions"),
            None,
        )
        .await;
        assert_eq!(s, 200, "{b}");
        let list = b["suggestions"].as_array().unwrap().clone();
        if list.len() >= n {
            return (id, list);
        }
    }
    panic!("no response has {n} suggestions");
}

#[tokio::test]
async fn suggestions_come_from_consensus_accepting_codes_by_the_coder_and_rejecting_is_remembered()
{
    let app = spawn_app().await;
    set_blind(&app, false).await;
    let (c, csrf) = signed_in(&app, CODER).await;
    let (id, list) = suggested(&app, &c, &csrf, 2).await;
    // Clearly proposals with a confidence, most confident first.
    for s in &list {
        let p = s["confidence"].as_f64().unwrap();
        assert!((0.5..=1.0).contains(&p), "{s}");
        assert_eq!(s["percent"].as_i64().unwrap(), (p * 100.0).round() as i64);
        assert!(!s["name"].as_str().unwrap().is_empty());
    }
    assert!(list[0]["confidence"].as_f64() >= list[1]["confidence"].as_f64());
    let path = format!("{BASE}/responses/{id}/suggestions");

    // Accept: a normal whole-response coding by `can`, audited as from a suggestion.
    let code = list[0]["code"].as_str().unwrap().to_string();
    let (s, coding) = call(
        &app,
        &c,
        &csrf,
        "POST",
        &format!("{path}/accept"),
        Some(json!({ "code": code })),
    )
    .await;
    assert_eq!(s, 201, "{coding}");
    assert_eq!(coding["coder"], "can");
    assert_eq!(coding["code"], code.as_str());
    assert_eq!(coding["whole"], true);
    let (_, body) = call(
        &app,
        &c,
        &csrf,
        "GET",
        &format!("{BASE}/responses/{id}"),
        None,
    )
    .await;
    assert!(body["codings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["code"] == code.as_str() && x["mine"] == true));
    let study = app.store.load_study(StudyId(1)).await.unwrap();
    let ev = study
        .audit
        .iter()
        .rev()
        .find(|e| e.action == "coding.add")
        .unwrap();
    assert_eq!(ev.actor, "can");
    let pct = format!("{:.2}", list[0]["confidence"].as_f64().unwrap());
    assert!(
        ev.detail.contains(&code)
            && ev.detail.contains("by can")
            && ev
                .detail
                .contains(&format!("from suggestion, confidence {pct}")),
        "{}",
        ev.detail
    );
    // It is a normal coding: undo removes it like any other step.
    let (s, u) = call(&app, &c, &csrf, "POST", &format!("{BASE}/undo"), None).await;
    assert_eq!((s, u["action"].as_str()), (200, Some("coding.add")), "{u}");
    let (s, u) = call(&app, &c, &csrf, "POST", &format!("{BASE}/redo"), None).await;
    assert_eq!(s, 200, "{u}");

    // The accepted code is no longer suggested; accepting it again is a conflict.
    let (_, after) = call(&app, &c, &csrf, "GET", &path, None).await;
    let codes: Vec<&str> = after["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert!(!codes.contains(&code.as_str()), "{after}");
    let (s, _) = call(
        &app,
        &c,
        &csrf,
        "POST",
        &format!("{path}/accept"),
        Some(json!({ "code": code })),
    )
    .await;
    assert_eq!(s, 409);

    // Reject: hidden on reload, remembered in the database (and across a restart).
    let other = list[1]["code"].as_str().unwrap().to_string();
    assert!(codes.contains(&other.as_str()));
    let (s, b) = call(
        &app,
        &c,
        &csrf,
        "POST",
        &format!("{path}/reject"),
        Some(json!({ "code": other })),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let mut app = app;
    app.restart().await;
    let (c, csrf) = signed_in(&app, CODER).await;
    let (_, again) = call(&app, &c, &csrf, "GET", &path, None).await;
    assert!(
        !again["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["code"] == other.as_str() || s["code"] == code.as_str()),
        "{again}"
    );
    let study = app.store.load_study(StudyId(1)).await.unwrap();
    assert!(study
        .audit
        .iter()
        .any(|e| e.action == "suggestion.reject" && e.detail.contains(&other)));
    // Another coder still sees both.
    accounts::create_user(app.store.as_ref(), SECOND.0, Role::Coder, SECOND.1)
        .await
        .unwrap();
    let (d, dcsrf) = signed_in(&app, SECOND).await;
    let (_, theirs) = call(&app, &d, &dcsrf, "GET", &path, None).await;
    let theirs: Vec<&str> = theirs["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert!(theirs.contains(&code.as_str()) && theirs.contains(&other.as_str()));

    // The researcher sees who used suggestions: the API, the store and the setup page.
    let (r, rcsrf) = signed_in(&app, RESEARCHER).await;
    let (s, used) = call(
        &app,
        &r,
        &rcsrf,
        "GET",
        &format!("{BASE}/suggestions"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{used}");
    let can = used["coders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["coder"] == "can")
        .unwrap();
    assert_eq!(
        (&can["accepted"], &can["rejected"], &can["used"]),
        (&json!(1), &json!(1), &json!(true))
    );
    let per = app.store.suggestions_used(StudyId(1)).await.unwrap();
    assert!(per
        .iter()
        .any(|u| u.coder.as_str() == "can" && u.accepted == 1));
    assert!(per
        .iter()
        .all(|u| u.coder.as_str() == "can" || u.accepted == 0));
    assert!(per.iter().all(|u| u.coder.as_str() != CONSENSUS));
    let (_, page) = app.get_text(&r, "/coding/rupture-study/setup").await;
    assert!(page.contains("Suggestions used by each coder"), "{page}");
    assert!(
        page.contains(
            "<tr><td>can</td><td>yes</td><td class=\"num\">1</td><td class=\"num\">1</td></tr>"
        ),
        "{page}"
    );
    // The agreement page says so too, beside the coefficients.
    let (_, page) = app.get_text(&r, "/studies/rupture-study/agreement").await;
    assert!(page.contains("id=\"suggestions-used\""), "{page}");
    assert!(
        page.contains(
            "<tr data-coder=\"can\"><td>can</td><td>yes</td><td class=\"num\">1</td><td class=\"num\">1</td></tr>"
        ),
        "{page}"
    );
}

#[tokio::test]
async fn no_suggestions_before_consensus_and_the_model_is_retrained_when_consensus_arrives() {
    let app = spawn_app().await;
    // A copy of the example study without its consensus layer.
    let mut bare = example("rupture-study");
    let consensus: Vec<_> = bare
        .codings
        .iter()
        .filter(|c| c.coder.as_str() == CONSENSUS)
        .cloned()
        .collect();
    bare.codings.retain(|c| c.coder.as_str() != CONSENSUS);
    bare.meta.key = Key::parse("bare").unwrap();
    let sid = app.store.create_study(&bare).await.unwrap();
    let (r, rcsrf) = signed_in(&app, RESEARCHER).await;
    let base = "/api/v1/studies/bare/coding";
    let (s, _) = call(
        &app,
        &r,
        &rcsrf,
        "PUT",
        &format!("{base}/suggestions"),
        Some(json!({"mode": "on"})),
    )
    .await;
    assert_eq!(s, 204);
    let items = app
        .store
        .coding_queue(sid, &Key::parse("ayse").unwrap(), &QueueFilter::default())
        .await
        .unwrap();
    let mut any = 0;
    for i in &items {
        let (s, b) = call(
            &app,
            &r,
            &rcsrf,
            "GET",
            &format!("{base}/responses/{}/suggestions", i.id.0),
            None,
        )
        .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["enabled"], true);
        any += b["suggestions"].as_array().unwrap().len();
    }
    assert_eq!(any, 0, "no consensus, no model, no suggestions");
    // The consensus arrives (through the store, as reconciling would write it).
    for c in &consensus {
        let id = items.iter().find(|i| i.key == c.response).unwrap().id;
        let new = NewCoding {
            coder: c.coder.clone(),
            response: id,
            code: c.code.clone(),
            span: c.span,
            memo: None,
        };
        let _ = app.store.add_coding(sid, &new, "ayse").await;
    }
    let mut any = 0;
    for i in &items {
        let (_, b) = call(
            &app,
            &r,
            &rcsrf,
            "GET",
            &format!("{base}/responses/{}/suggestions", i.id.0),
            None,
        )
        .await;
        any += b["suggestions"].as_array().unwrap().len();
    }
    assert!(
        any > items.len() / 2,
        "{any} suggestions over {} responses",
        items.len()
    );
}

#[tokio::test]
async fn blind_studies_default_to_off_and_the_researcher_switch_wins() {
    let app = spawn_app().await;
    let (c, csrf) = signed_in(&app, CODER).await;
    let (_, q) = call(&app, &c, &csrf, "GET", &format!("{BASE}/queue"), None).await;
    let id = q["items"][0]["id"].as_i64().unwrap();
    let path = format!("{BASE}/responses/{id}/suggestions");
    // A new study is blind: automatic means off, and the API says so.
    let (s, b) = call(&app, &c, &csrf, "GET", &path, None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (&b["enabled"], &b["mode"], &b["blind"]),
        (&json!(false), &json!("auto"), &json!(true))
    );
    assert_eq!(b["suggestions"], json!([]));
    // Unblinded, automatic turns them on.
    set_blind(&app, false).await;
    let (id, list) = suggested(&app, &c, &csrf, 1).await;
    let path = format!("{BASE}/responses/{id}/suggestions");
    // Switched off (the setup form, with its CSRF token): none, and accepting is refused.
    let r = app.researcher().await;
    let setup = "/coding/rupture-study/setup";
    let token = app.csrf(&r, setup).await;
    let resp = app
        .post_form(
            &r,
            &format!("{setup}/suggestions"),
            &[("csrf", &token), ("mode", "off")],
        )
        .await;
    assert_eq!(resp.status().as_u16(), 303);
    let (_, page) = app.get_text(&r, &location(&resp)).await;
    assert!(page.contains("Suggestions are off now."), "{page}");
    let (_, b) = call(&app, &c, &csrf, "GET", &path, None).await;
    assert_eq!((&b["enabled"], &b["mode"]), (&json!(false), &json!("off")));
    assert_eq!(b["suggestions"], json!([]));
    let (s, e) = call(
        &app,
        &c,
        &csrf,
        "POST",
        &format!("{path}/accept"),
        Some(json!({"code": list[0]["code"]})),
    )
    .await;
    assert_eq!(s, 403, "{e}");
    assert!(e["error"].as_str().unwrap().contains("switched off"), "{e}");
    // Blind again, but a researcher explicitly turns them on: on.
    set_blind(&app, true).await;
    let (rc, rcsrf) = signed_in(&app, RESEARCHER).await;
    let (s, _) = call(
        &app,
        &rc,
        &rcsrf,
        "PUT",
        &format!("{BASE}/suggestions"),
        Some(json!({"mode": "on"})),
    )
    .await;
    assert_eq!(s, 204);
    let (_, b) = call(&app, &c, &csrf, "GET", &path, None).await;
    assert_eq!(
        (&b["enabled"], &b["mode"], &b["blind"]),
        (&json!(true), &json!("on"), &json!(true))
    );
    assert!(!b["suggestions"].as_array().unwrap().is_empty());
    // Back to automatic: off again while blind. Every change is audited.
    let (s, _) = call(
        &app,
        &rc,
        &rcsrf,
        "PUT",
        &format!("{BASE}/suggestions"),
        Some(json!({"mode": "auto"})),
    )
    .await;
    assert_eq!(s, 204);
    let (_, b) = call(&app, &c, &csrf, "GET", &path, None).await;
    assert_eq!(b["enabled"], false);
    let (s, e) = call(
        &app,
        &rc,
        &rcsrf,
        "PUT",
        &format!("{BASE}/suggestions"),
        Some(json!({"mode": "sometimes"})),
    )
    .await;
    assert_eq!(s, 422);
    assert!(e["error"].as_str().unwrap().starts_with("mode:"), "{e}");
    let study = app.store.load_study(StudyId(1)).await.unwrap();
    let changes: Vec<&str> = study
        .audit
        .iter()
        .filter(|e| e.action == "settings.suggestions")
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(
        changes,
        [
            "suggestions automatic (on: the study is unblinded) → off",
            "suggestions off → on",
            "suggestions on → automatic (off: the study is blind)"
        ]
    );
}

#[tokio::test]
async fn only_the_responses_coders_and_researchers_may_call_and_changes_need_the_csrf_token() {
    let app = spawn_app().await;
    set_blind(&app, false).await;
    let (c, csrf) = signed_in(&app, CODER).await;
    let (id, list) = suggested(&app, &c, &csrf, 2).await;
    let path = format!("{BASE}/responses/{id}/suggestions");
    let code = list[0]["code"].clone();
    // Anonymous and a participant (who holds only an invitation link): 401.
    let tokens = app.invite(STUDY, &["X1"]).await;
    let p = app.client();
    app.get(&p, &format!("/p/{}/welcome", tokens[0].1)).await;
    for who in [app.client(), p] {
        for (m, u) in [
            ("GET", path.clone()),
            ("POST", format!("{path}/accept")),
            ("POST", format!("{path}/reject")),
            ("GET", format!("{BASE}/suggestions")),
        ] {
            let (s, _) = call(&app, &who, "", m, &u, Some(json!({"code": code}))).await;
            assert!(s == 401 || s == 403, "{m} {u}: {s}");
            let (s, _) = call(&app, &who, "", "GET", &u, None).await;
            assert!(s == 401 || s == 405, "{u}: {s}");
        }
    }
    // A coder whose share assignment leaves this response out: 403.
    accounts::create_user(app.store.as_ref(), SECOND.0, Role::Coder, SECOND.1)
        .await
        .unwrap();
    let (r, rcsrf) = signed_in(&app, RESEARCHER).await;
    let mut seed = 1;
    loop {
        let (s, b) = call(
            &app,
            &r,
            &rcsrf,
            "PUT",
            &format!("{BASE}/assignments/deniz"),
            Some(json!({"mode": "share", "percent": 5, "seed": seed})),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        let (d, dcsrf) = signed_in(&app, SECOND).await;
        let (_, q) = call(&app, &d, &dcsrf, "GET", &format!("{BASE}/queue"), None).await;
        if !q["items"].as_array().unwrap().iter().any(|i| i["id"] == id) {
            break;
        }
        seed += 1;
    }
    let (d, dcsrf) = signed_in(&app, SECOND).await;
    let (s, e) = call(&app, &d, &dcsrf, "GET", &path, None).await;
    assert_eq!(s, 403, "{e}");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("not among those assigned"),
        "{e}"
    );
    for act in ["accept", "reject"] {
        let (s, _) = call(
            &app,
            &d,
            &dcsrf,
            "POST",
            &format!("{path}/{act}"),
            Some(json!({"code": code})),
        )
        .await;
        assert_eq!(s, 403);
    }
    // Coders cannot read or change the switch.
    let (s, _) = call(&app, &c, &csrf, "GET", &format!("{BASE}/suggestions"), None).await;
    assert_eq!(s, 403);
    let (s, _) = call(
        &app,
        &c,
        &csrf,
        "PUT",
        &format!("{BASE}/suggestions"),
        Some(json!({"mode": "off"})),
    )
    .await;
    assert_eq!(s, 403);
    let form = app
        .post_form(
            &c,
            "/coding/rupture-study/setup/suggestions",
            &[("csrf", &csrf), ("mode", "on")],
        )
        .await;
    assert_eq!(form.status().as_u16(), 403);
    // The researcher may look at any response's suggestions.
    let (s, _) = call(&app, &r, &rcsrf, "GET", &path, None).await;
    assert_eq!(s, 200);
    // CSRF: no token, a wrong token, a foreign origin: 403 and nothing stored.
    let accept = format!("{path}/accept");
    let r1 = c
        .post(app.url(&accept))
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(r1.status().as_u16(), 403);
    let (s, _) = call(
        &app,
        &c,
        "0123456789abcdef0123456789abcdef",
        "POST",
        &accept,
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(s, 403);
    let r2 = c
        .post(app.url(&format!("{path}/reject")))
        .header("x-csrf-token", &csrf)
        .header("origin", "http://evil.example")
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(r2.status().as_u16(), 403);
    let r3 = r
        .put(app.url(&format!("{BASE}/suggestions")))
        .json(&json!({"mode": "off"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r3.status().as_u16(), 403);
    let used = app.store.suggestions_used(StudyId(1)).await.unwrap();
    assert!(
        used.iter().all(|u| u.accepted == 0 && u.rejected == 0),
        "{used:?}"
    );
    assert_eq!(
        app.store
            .suggestion_setting(StudyId(1))
            .await
            .unwrap()
            .mode(),
        "auto"
    );
    // Unknown codes and responses are named.
    let (s, e) = call(
        &app,
        &c,
        &csrf,
        "POST",
        &accept,
        Some(json!({"code": "No/Such"})),
    )
    .await;
    assert_eq!(s, 409, "{e}");
    let (s, e) = call(
        &app,
        &c,
        &csrf,
        "POST",
        &accept,
        Some(json!({"code": "///"})),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    let (s, _) = call(
        &app,
        &c,
        &csrf,
        "GET",
        &format!("{BASE}/responses/999999/suggestions"),
        None,
    )
    .await;
    assert_eq!(s, 404);
    // The OpenAPI document lists the routes.
    let (_, doc) = call(&app, &r, "", "GET", "/api/v1/openapi.json", None).await;
    for p in [
        "/studies/{study}/coding/responses/{id}/suggestions",
        "/studies/{study}/coding/responses/{id}/suggestions/accept",
        "/studies/{study}/coding/responses/{id}/suggestions/reject",
        "/studies/{study}/coding/suggestions",
    ] {
        assert!(
            doc["paths"][p].is_object(),
            "{p} missing from the OpenAPI document"
        );
    }
}
