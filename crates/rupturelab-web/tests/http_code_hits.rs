//! "Code all hits" on the real server (issue 6): the preview, applying it as
//! ONE undo step (undo removes every coding, redo restores them, through the
//! coding screen's own undo route), skipping places already coded, the audit
//! trail, authorisation and CSRF, a coder's assigned share limiting search
//! and coding, and blind mode holding in the preview.

mod common;

use std::collections::HashSet;

use common::*;
use rupturelab_core::{CodePath, Key, Span};
use rupturelab_store::{
    Assignment, AuditFilter, NewCoding, ResponseId, Role, StoredCoding, StudyId,
};
use rupturelab_web::accounts;
use serde_json::{json, Value};

const HITS: &str = "/api/v1/studies/rupture-study/search/code-hits";
const CODING: &str = "/api/v1/studies/rupture-study/coding";
const HITS_PAGE: &str = "/studies/rupture-study/search?q=homework";
const CODE: &str = "Cause/Patient/Resistance";
const SECOND: (&str, &str) = ("deniz", "coder-password-456");

fn k(s: &str) -> Key {
    Key::parse(s).unwrap()
}

async fn preview(app: &TestApp, c: &reqwest::Client, q: &str, code: &str, scope: &str) -> Value {
    let url = format!(
        "{HITS}?q={}&code={}&scope={scope}",
        urlencode(q),
        urlencode(code)
    );
    let (s, v) = call(app, c, "", "GET", &url, None).await;
    assert_eq!(s, 200, "{v}");
    v
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Every coding of `coder` with `code` in the study.
async fn codings_of(app: &TestApp, coder: &str, code: &str) -> Vec<StoredCoding> {
    let mut out = Vec::new();
    for r in app
        .store
        .codable_responses(StudyId(1), &k(RESEARCHER.0))
        .await
        .unwrap()
    {
        for c in app.store.response_codings(StudyId(1), r.id).await.unwrap() {
            if c.coder.as_str() == coder && c.code.as_str() == code {
                out.push(c);
            }
        }
    }
    out
}

async fn audit_count(app: &TestApp, action: &str) -> i64 {
    let f = AuditFilter {
        action: Some(action.to_string()),
        ..Default::default()
    };
    app.store.audit_page(StudyId(1), &f, 0, 1).await.unwrap().1
}

#[tokio::test]
async fn preview_then_apply_adds_every_hit_span_as_one_step_that_undo_and_redo_treat_whole() {
    let app = spawn_app().await;
    let (c, csrf) = signed_in_on(&app, CODER, HITS_PAGE).await;
    let p = preview(&app, &c, "homework", CODE, "spans").await;
    let items = p["items"].as_array().unwrap();
    assert!(items.len() >= 5, "{p}");
    let places = p["places"].as_u64().unwrap();
    assert!(places >= items.len() as u64);
    assert_eq!(p["skip"], 0);
    assert_eq!(p["add"].as_u64().unwrap(), places);
    // Spans are code points of the text and cover the hit word.
    for i in items {
        let text: Vec<char> = i["text"].as_str().unwrap().chars().collect();
        for pl in i["places"].as_array().unwrap() {
            let (s, e) = (
                pl["start"].as_u64().unwrap() as usize,
                pl["end"].as_u64().unwrap() as usize,
            );
            let word: String = text[s..e].iter().collect();
            assert!(word.to_lowercase().starts_with("homework"), "{word}");
        }
    }
    // The coder codes one hit by hand first: the preview skips it.
    let first = &items[0];
    let rid = first["response"].as_i64().unwrap();
    let (s0, e0) = (
        first["places"][0]["start"].as_u64().unwrap() as usize,
        first["places"][0]["end"].as_u64().unwrap() as usize,
    );
    let manual = app
        .store
        .add_coding(
            StudyId(1),
            &NewCoding {
                coder: k(CODER.0),
                response: ResponseId(rid),
                code: CodePath::parse(CODE).unwrap(),
                span: Some(Span { start: s0, end: e0 }),
                memo: None,
            },
            CODER.0,
        )
        .await
        .unwrap();
    let p = preview(&app, &c, "homework", CODE, "spans").await;
    assert_eq!(p["skip"], 1);
    assert_eq!(p["add"].as_u64().unwrap(), places - 1);
    assert_eq!(p["items"][0]["places"][0]["skip"], true);
    let adds_before = audit_count(&app, "coding.add").await;

    // Apply: every place but the skipped one, in one go.
    let (s, out) = call(
        &app,
        &c,
        &csrf,
        "POST",
        HITS,
        Some(json!({"q": "homework", "code": CODE, "scope": "spans"})),
    )
    .await;
    assert_eq!(s, 201, "{out}");
    assert_eq!(out["added"].as_u64().unwrap(), places - 1);
    assert_eq!(out["skipped"], 1);
    assert_eq!(codings_of(&app, CODER.0, CODE).await.len() as u64, places);
    // One audit event per coding plus one summary.
    assert_eq!(
        audit_count(&app, "coding.add").await - adds_before,
        (places - 1) as i64
    );
    assert_eq!(audit_count(&app, "coding.add_hits").await, 1);

    // ONE undo removes them all (the hand-made coding stays: its own step).
    let (s, u) = call(&app, &c, &csrf, "POST", &format!("{CODING}/undo"), None).await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["done"], true);
    assert_eq!(u["action"], "coding.add_hits");
    let left = codings_of(&app, CODER.0, CODE).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, manual.id);
    assert_eq!(audit_count(&app, "coding.undo").await, (places - 1) as i64);
    // ONE redo restores them all.
    let (s, r) = call(&app, &c, &csrf, "POST", &format!("{CODING}/redo"), None).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["action"], "coding.add_hits");
    assert_eq!(codings_of(&app, CODER.0, CODE).await.len() as u64, places);
    assert_eq!(r["redo"], 0);
    // Undo twice: the batch, then the hand-made coding.
    call(&app, &c, &csrf, "POST", &format!("{CODING}/undo"), None).await;
    let (_, u2) = call(&app, &c, &csrf, "POST", &format!("{CODING}/undo"), None).await;
    assert_eq!(u2["action"], "coding.add");
    assert!(codings_of(&app, CODER.0, CODE).await.is_empty());
    let (_, u3) = call(&app, &c, &csrf, "POST", &format!("{CODING}/undo"), None).await;
    assert_eq!(u3["done"], false);
}

#[tokio::test]
async fn whole_response_scope_codes_each_answer_once_and_a_second_run_adds_nothing() {
    let app = spawn_app().await;
    let (c, csrf) = signed_in_on(&app, CODER, HITS_PAGE).await;
    let p = preview(&app, &c, "homework", CODE, "whole").await;
    let n = p["items"].as_array().unwrap().len() as u64;
    assert_eq!(p["places"].as_u64().unwrap(), n);
    assert!(p["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["places"].as_array().unwrap().len() == 1 && i["places"][0]["start"].is_null()));
    let body = json!({"q": "homework", "code": CODE, "scope": "whole"});
    let (s, out) = call(&app, &c, &csrf, "POST", HITS, Some(body.clone())).await;
    assert_eq!(s, 201, "{out}");
    assert_eq!(out["added"].as_u64().unwrap(), n);
    assert_eq!(out["responses"].as_u64().unwrap(), n);
    let mine = codings_of(&app, CODER.0, CODE).await;
    assert_eq!(mine.len() as u64, n);
    assert!(mine.iter().all(|c| c.span.is_none()));
    // Again: everything is skipped, nothing is added, no new undo step.
    let (_, before) = call(&app, &c, &csrf, "POST", &format!("{CODING}/undo"), None).await;
    assert_eq!(before["action"], "coding.add_hits");
    call(&app, &c, &csrf, "POST", &format!("{CODING}/redo"), None).await;
    let (s, again) = call(&app, &c, &csrf, "POST", HITS, Some(body)).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["added"], 0);
    assert_eq!(again["skipped"].as_u64().unwrap(), n);
    assert_eq!(codings_of(&app, CODER.0, CODE).await.len() as u64, n);
    assert_eq!(audit_count(&app, "coding.add_hits").await, 1);
}

#[tokio::test]
async fn a_member_removed_and_restored_in_between_is_still_undone_with_its_batch() {
    let app = spawn_app().await;
    let (c, csrf) = signed_in_on(&app, CODER, HITS_PAGE).await;
    let (s, out) = call(
        &app,
        &c,
        &csrf,
        "POST",
        HITS,
        Some(json!({"q": "homework", "code": CODE})),
    )
    .await;
    assert_eq!(s, 201, "{out}");
    let n = out["added"].as_u64().unwrap();
    let one = &out["codings"][1];
    // Remove one of them, then undo that removal: it comes back as a new row.
    let (s, e) = call(
        &app,
        &c,
        &csrf,
        "DELETE",
        &format!("{CODING}/codings/{}?version={}", one["id"], one["version"]),
        None,
    )
    .await;
    assert_eq!(s, 200, "{e}");
    assert_eq!(codings_of(&app, CODER.0, CODE).await.len() as u64, n - 1);
    let (_, u) = call(&app, &c, &csrf, "POST", &format!("{CODING}/undo"), None).await;
    assert_eq!(u["action"], "coding.delete");
    let now = codings_of(&app, CODER.0, CODE).await;
    assert_eq!(now.len() as u64, n);
    assert!(now.iter().all(|x| x.id.0 != one["id"].as_i64().unwrap()));
    // The batch's undo still removes all of them, the restored one included.
    let (s, u) = call(&app, &c, &csrf, "POST", &format!("{CODING}/undo"), None).await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["action"], "coding.add_hits");
    assert!(codings_of(&app, CODER.0, CODE).await.is_empty());
    let (_, r) = call(&app, &c, &csrf, "POST", &format!("{CODING}/redo"), None).await;
    assert_eq!(r["action"], "coding.add_hits");
    assert_eq!(codings_of(&app, CODER.0, CODE).await.len() as u64, n);
}

#[tokio::test]
async fn code_hits_needs_a_signed_in_user_the_csrf_token_and_valid_choices() {
    let app = spawn_app().await;
    let anon = app.client();
    let (s, _) = call(
        &app,
        &anon,
        "",
        "GET",
        &format!("{HITS}?q=homework&code={CODE}"),
        None,
    )
    .await;
    assert_eq!(s, 401);
    let r = app
        .get(&anon, "/studies/rupture-study/search/code-hits?q=homework")
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let (c, csrf) = signed_in_on(&app, CODER, HITS_PAGE).await;
    let body = json!({"q": "homework", "code": CODE});
    // No token, wrong token: refused, nothing added.
    let (s, _) = call(&app, &c, "", "POST", HITS, Some(body.clone())).await;
    assert_eq!(s, 403);
    let (s, _) = call(
        &app,
        &c,
        "0123456789abcdef0123456789abcdef",
        "POST",
        HITS,
        Some(body.clone()),
    )
    .await;
    assert_eq!(s, 403);
    let r = app
        .post_form(
            &c,
            "/studies/rupture-study/search/code-hits",
            &[("q", "homework"), ("code", CODE)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);
    assert!(codings_of(&app, CODER.0, CODE).await.is_empty());
    // Bad choices name the field.
    for (b, field) in [
        (json!({"q": "", "code": CODE}), "q:"),
        (json!({"q": "homework"}), "code:"),
        (json!({"q": "homework", "code": "Cause"}), "code:"),
        (json!({"q": "homework", "code": "No/Such"}), "code:"),
        (
            json!({"q": "homework", "code": CODE, "scope": "turns"}),
            "scope:",
        ),
    ] {
        let (s, e) = call(&app, &c, &csrf, "POST", HITS, Some(b.clone())).await;
        assert_eq!(s, 422, "{b}: {e}");
        assert!(
            e["error"].as_str().unwrap_or_default().starts_with(field)
                || e.to_string().contains(field),
            "{b}: {e}"
        );
    }
    assert!(codings_of(&app, CODER.0, CODE).await.is_empty());
    // A researcher's bearer token needs no CSRF token; the researcher codes as themself.
    let u = app.store.user_by_name(RESEARCHER.0).await.unwrap().unwrap();
    let token = accounts::create_api_token(app.store.as_ref(), u.id, "t")
        .await
        .unwrap();
    let r = reqwest::Client::new()
        .post(app.url(HITS))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    assert!(!codings_of(&app, RESEARCHER.0, CODE).await.is_empty());
    assert!(codings_of(&app, CODER.0, CODE).await.is_empty());
    // The OpenAPI document describes both methods.
    let doc: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let op = &doc["paths"]["/studies/{study}/search/code-hits"];
    assert!(op["get"]["summary"].as_str().unwrap().contains("Preview"));
    assert!(op["post"]["summary"]
        .as_str()
        .unwrap()
        .contains("ONE undo step"));
    assert!(doc["paths"]["/studies/{study}/search"]["get"].is_object());
}

#[tokio::test]
async fn a_coder_with_a_20_percent_share_finds_and_codes_only_their_answers() {
    let app = spawn_app().await;
    let n = app
        .store
        .set_assignment(
            StudyId(1),
            &k(CODER.0),
            Assignment::Share {
                percent: 20.0,
                seed: 11,
            },
            RESEARCHER.0,
        )
        .await
        .unwrap();
    let mine: HashSet<i64> = app
        .store
        .codable_responses(StudyId(1), &k(CODER.0))
        .await
        .unwrap()
        .iter()
        .map(|r| r.id.0)
        .collect();
    assert_eq!(mine.len() as i64, n);
    let everything = app
        .store
        .codable_responses(StudyId(1), &k(RESEARCHER.0))
        .await
        .unwrap();
    assert!(everything.len() > mine.len() * 3);
    let place_of = |id: i64| {
        everything
            .iter()
            .find(|r| r.id.0 == id)
            .map(|r| r.key.participant.to_string())
            .unwrap()
    };

    // The researcher finds more answers than the coder is assigned.
    let rc = app.researcher().await;
    let rp = preview(&app, &rc, "the", CODE, "whole").await;
    let all_hits = rp["items"].as_array().unwrap().len();
    let (c, csrf) = signed_in_on(&app, CODER, HITS_PAGE).await;
    let p = preview(&app, &c, "the", CODE, "whole").await;
    let items = p["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.len() < all_hits, "{} vs {all_hits}", items.len());
    assert!(items
        .iter()
        .all(|i| mine.contains(&i["response"].as_i64().unwrap())));
    assert!(p["left_out"].as_u64().unwrap() > 0);

    // The search page lists only assigned answers (and their segments' transcripts).
    let (s, page) = app
        .get_text(&c, "/studies/rupture-study/search?q=the&limit=500")
        .await;
    assert_eq!(s, 200);
    let assigned_participants: HashSet<String> = mine.iter().map(|&id| place_of(id)).collect();
    let shown = page.matches("<li><div class=\"place\">").count();
    assert!(shown > 0);
    for li in page.split("<li><div class=\"place\">").skip(1) {
        let place = &li[..li.find(" · ").unwrap()];
        if !place.contains("transcript") {
            assert!(
                assigned_participants.contains(place),
                "{place} not assigned"
            );
        }
    }
    let (_, rpage) = app
        .get_text(&rc, "/studies/rupture-study/search?q=the&limit=500")
        .await;
    assert!(rpage.matches("<li><div class=\"place\">").count() > shown);

    // Applying codes the assigned answers only.
    let (s, out) = call(
        &app,
        &c,
        &csrf,
        "POST",
        HITS,
        Some(json!({"q": "the", "code": CODE, "scope": "whole"})),
    )
    .await;
    assert_eq!(s, 201, "{out}");
    let coded = codings_of(&app, CODER.0, CODE).await;
    assert_eq!(coded.len(), items.len());
    assert!(coded.iter().all(|x| mine.contains(&x.response.0)));

    // The one-coding API refuses a response outside the share too.
    let other = everything
        .iter()
        .find(|r| !mine.contains(&r.id.0))
        .unwrap()
        .id
        .0;
    let (s, out) = call(
        &app,
        &c,
        &csrf,
        "POST",
        &format!("/api/v1/studies/rupture-study/coding/responses/{other}/codings"),
        Some(json!({"code": CODE})),
    )
    .await;
    assert_eq!(s, 403, "{out}");
    assert!(
        out.to_string().contains("not among the responses assigned"),
        "{out}"
    );
    let first = *mine.iter().next().unwrap();
    let (s, out) = call(
        &app,
        &c,
        &csrf,
        "POST",
        &format!("/api/v1/studies/rupture-study/coding/responses/{first}/codings"),
        Some(json!({"code": "Cause/Patient/Pathology"})),
    )
    .await;
    assert_eq!(s, 201, "an assigned response is open to the coder: {out}");
}

#[tokio::test]
async fn in_blind_mode_the_preview_never_reveals_another_coders_codings() {
    let app = spawn_app().await;
    accounts::create_user(app.store.as_ref(), SECOND.0, Role::Coder, SECOND.1)
        .await
        .unwrap();
    assert!(app.store.coding_blind(StudyId(1)).await.unwrap());
    let (a, acsrf) = signed_in_on(&app, CODER, HITS_PAGE).await;
    let (s, out) = call(
        &app,
        &a,
        &acsrf,
        "POST",
        HITS,
        Some(json!({"q": "homework", "code": CODE})),
    )
    .await;
    assert_eq!(s, 201, "{out}");
    let n = out["added"].as_u64().unwrap();
    // The second coder's preview: nothing skipped, no coder names, no ids of A's codings.
    let (b, bcsrf) = signed_in_on(&app, SECOND, HITS_PAGE).await;
    let p = preview(&app, &b, "homework", CODE, "spans").await;
    assert_eq!(p["skip"], 0);
    assert_eq!(p["add"].as_u64().unwrap(), n);
    let text = p.to_string();
    assert!(!text.contains("\"coder\""), "{text}");
    let (_, page) = app
        .get_text(
            &b,
            &format!("/studies/rupture-study/search/code-hits?q=homework&code={CODE}"),
        )
        .await;
    assert!(page.contains("id=\"code-hits-skip\">0<"), "{page}");
    // B applies their own; A's stay untouched, and B's undo does not touch A's.
    let (s, out) = call(
        &app,
        &b,
        &bcsrf,
        "POST",
        HITS,
        Some(json!({"q": "homework", "code": CODE})),
    )
    .await;
    assert_eq!(s, 201, "{out}");
    assert_eq!(out["added"].as_u64().unwrap(), n);
    call(&app, &b, &bcsrf, "POST", &format!("{CODING}/undo"), None).await;
    assert!(codings_of(&app, SECOND.0, CODE).await.is_empty());
    assert_eq!(codings_of(&app, CODER.0, CODE).await.len() as u64, n);
}

#[tokio::test]
async fn the_search_page_offers_code_all_hits_with_a_preview_page_and_a_csrf_form() {
    let app = spawn_app().await;
    let (c, _) = signed_in_on(&app, CODER, HITS_PAGE).await;
    let (s, page) = app
        .get_text(&c, "/studies/rupture-study/search?q=homework")
        .await;
    assert_eq!(s, 200);
    assert!(page.contains("id=\"code-hits-form\""), "{page}");
    assert!(page.contains(&format!("<option value=\"{CODE}\">")));
    assert!(
        !page.contains("<option value=\"Cause\">"),
        "categories are not offered"
    );
    let (s, pv) = app
        .get_text(
            &c,
            &format!("/studies/rupture-study/search/code-hits?q=homework&code={CODE}&scope=spans"),
        )
        .await;
    assert_eq!(s, 200);
    assert!(pv.contains("id=\"code-hits-apply\""), "{pv}");
    assert!(pv.contains("<mark>"));
    assert!(pv.contains("href=\"/coding/rupture-study?r="));
    let add: u64 = {
        let i = pv.find("id=\"code-hits-add\">").unwrap() + "id=\"code-hits-add\">".len();
        pv[i..i + pv[i..].find('<').unwrap()].parse().unwrap()
    };
    assert!(add > 0);
    let csrf = csrf_in(&pv).unwrap();
    let r = app
        .post_form(
            &c,
            "/studies/rupture-study/search/code-hits",
            &[
                ("csrf", &csrf),
                ("q", "homework"),
                ("code", CODE),
                ("scope", "spans"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let done = r.text().await.unwrap();
    assert!(done.contains(&format!("Added {add} coding(s)")), "{done}");
    assert!(done.contains("id=\"code-hits-skip\">"));
    assert!(
        !done.contains("id=\"code-hits-apply\""),
        "nothing left to add"
    );
    assert_eq!(codings_of(&app, CODER.0, CODE).await.len() as u64, add);
    // A bad choice is shown on the page, not as a crash.
    let (s, bad) = app
        .get_text(
            &c,
            "/studies/rupture-study/search/code-hits?q=homework&code=Cause",
        )
        .await;
    assert_eq!(s, 200);
    assert!(bad.contains("id=\"code-hits-error\""), "{bad}");
}
