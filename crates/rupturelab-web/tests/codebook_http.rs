//! The codebook editor's page and JSON API on the real server: who may use
//! them, CSRF, every route's effect (add, edit/rename, move, merge, delete
//! and undo, templates, .qdc import/export, versions "as of" a date), audit.

mod common;

use common::*;
use rupturelab_store::db_test;
use rupturelab_store::{StudyId, StudyInfo};
use serde_json::{json, Value};

const API: &str = "/api/v1/studies/rupture-study/codebook";
const PAGE: &str = "/studies/rupture-study/codebook";

async fn study(app: &TestApp) -> StudyInfo {
    app.store
        .list_studies()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.key == STUDY)
        .unwrap()
}

/// A researcher client and its session's CSRF token.
async fn researcher(app: &TestApp) -> (reqwest::Client, String) {
    let c = app.researcher().await;
    let csrf = app.csrf(&c, PAGE).await;
    (c, csrf)
}

async fn send(
    app: &TestApp,
    c: &reqwest::Client,
    csrf: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = c
        .request(method, app.url(&format!("{API}{path}")))
        .header("x-csrf-token", csrf);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let s = r.status().as_u16();
    let text = r.text().await.unwrap();
    (s, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn codes(app: &TestApp, c: &reqwest::Client) -> Vec<Value> {
    let v: Value = c
        .get(app.url(API))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["codes"].as_array().unwrap().clone()
}

fn find<'a>(codes: &'a [Value], path: &str) -> Option<&'a Value> {
    codes.iter().find(|c| c["path"] == path)
}

fn id(codes: &[Value], path: &str) -> i64 {
    find(codes, path).unwrap_or_else(|| panic!("no code {path}"))["id"]
        .as_i64()
        .unwrap()
}

db_test! {
#[tokio::test]
async fn only_researchers_reach_the_codebook_page_and_api() {
    let app = spawn_app().await;
    let tokens = app.invite(STUDY, &["Z01"]).await;
    // Anonymous: the page sends to the login, the API says 401.
    let anon = app.client();
    let r = app.get(&anon, PAGE).await;
    assert_eq!(r.status().as_u16(), 303);
    assert!(location(&r).starts_with("/login"));
    for path in [API, &format!("{API}/versions"), &format!("{API}/qdc")] {
        assert_eq!(app.get(&anon, path).await.status().as_u16(), 401, "{path}");
    }
    // A participant's invitation token is no API credential.
    let r = anon
        .get(app.url(API))
        .bearer_auth(&tokens[0].1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // A coder cannot see or edit the codebook.
    let coder = app.client();
    app.login(&coder, CODER).await;
    let csrf = app.csrf(&coder, "/coding").await;
    assert_eq!(app.get(&coder, PAGE).await.status().as_u16(), 403);
    assert_eq!(
        app.get(&coder, "/studies/rupture-study/codebook.qdc")
            .await
            .status()
            .as_u16(),
        403
    );
    assert_eq!(app.get(&coder, API).await.status().as_u16(), 403);
    let before = app.store.codebook(study(&app).await.id).await.unwrap();
    let (s, _) = send(
        &app,
        &coder,
        &csrf,
        reqwest::Method::POST,
        "/codes",
        Some(json!({"parent": null, "key": "Sneaky"})),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = send(
        &app,
        &coder,
        &csrf,
        reqwest::Method::DELETE,
        &format!("/codes/{}", before[0].id.0),
        None,
    )
    .await;
    assert_eq!(s, 403);
    let r = app
        .post_form(
            &coder,
            "/studies/rupture-study/codebook/template",
            &[("csrf", &csrf), ("template", "3rs")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(
        app.store.codebook(study(&app).await.id).await.unwrap(),
        before
    );
}
}

db_test! {
#[tokio::test]
async fn codebook_changes_need_the_csrf_token() {
    let app = spawn_app().await;
    let (c, csrf) = researcher(&app).await;
    let info = study(&app).await;
    let before = app.store.codebook(info.id).await.unwrap();
    // API call with the session but no token, or a wrong one.
    let r = c
        .post(app.url(&format!("{API}/codes")))
        .json(&json!({"parent": null, "key": "X"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let (s, _) = send(
        &app,
        &c,
        "00000000000000000000000000000000",
        reqwest::Method::POST,
        "/codes",
        Some(json!({"parent": null, "key": "X"})),
    )
    .await;
    assert_eq!(s, 403);
    // A cross-site request with the right token.
    let r = c
        .delete(app.url(&format!("{API}/codes/{}", before[0].id.0)))
        .header("x-csrf-token", &csrf)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // The template form without its token, the import without the token in its URL.
    let r = app
        .post_form(
            &c,
            "/studies/rupture-study/codebook/template",
            &[("template", "3rs")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"<CodeBook/>".to_vec()).file_name("x.qdc"),
    );
    let r = c
        .post(app.url("/studies/rupture-study/codebook/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(app.store.codebook(info.id).await.unwrap(), before);
    // With the token it works.
    let (s, v) = send(
        &app,
        &c,
        &csrf,
        reqwest::Method::POST,
        "/codes",
        Some(json!({"parent": null, "key": "X"})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
}
}

db_test! {
#[tokio::test]
async fn a_researcher_edits_the_tree_through_the_api_and_every_change_is_audited() {
    let app = spawn_app().await;
    let (c, csrf) = researcher(&app).await;
    let info = study(&app).await;
    let data = app.store.load_study(info.id).await.unwrap();
    use reqwest::Method as M;

    // Add a category and a sub-code.
    let (s, cat) = send(
        &app,
        &c,
        &csrf,
        M::POST,
        "/codes",
        Some(json!({"parent": null, "key": "Other", "name": "Other <things>", "codable": false})),
    )
    .await;
    assert_eq!(s, 201, "{cat}");
    assert_eq!(cat["path"], "Other");
    let (s, sub) = send(
        &app,
        &c,
        &csrf,
        M::POST,
        "/codes",
        Some(json!({"parent": cat["id"], "key": "Misc"})),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(sub["path"], "Other/Misc");
    // Invalid keys and duplicates name the field.
    let (s, e) = send(
        &app,
        &c,
        &csrf,
        M::POST,
        "/codes",
        Some(json!({"parent": null, "key": "a/b"})),
    )
    .await;
    assert_eq!(s, 422);
    assert!(e["error"].as_str().unwrap().starts_with("key:"), "{e}");
    let (s, e) = send(
        &app,
        &c,
        &csrf,
        M::POST,
        "/codes",
        Some(json!({"parent": cat["id"], "key": "Misc"})),
    )
    .await;
    assert_eq!(s, 422);
    assert!(
        e["error"].as_str().unwrap().contains("exists already"),
        "{e}"
    );

    // Rename a theme with sub-themes: paths below follow, codings stay.
    let all = codes(&app, &c).await;
    let patient = id(&all, "Cause/Patient");
    let (s, v) = send(
        &app,
        &c,
        &csrf,
        M::PUT,
        &format!("/codes/{patient}"),
        Some(json!({
        "key": "Client", "name": "Client", "codable": true, "definition": "Client side.",
        "inclusion": "", "exclusion": null, "example": "x", "colour": "#123456"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["path"], "Cause/Client");
    let all = codes(&app, &c).await;
    let res = find(&all, "Cause/Client/Resistance").unwrap();
    let expected = data
        .codings
        .iter()
        .filter(|c| c.code.as_str() == "Cause/Patient/Resistance")
        .count();
    assert_eq!(res["codings"].as_u64().unwrap() as usize, expected);
    assert_eq!(find(&all, "Cause/Client").unwrap()["colour"], "#123456");
    assert_eq!(
        find(&all, "Cause/Client").unwrap()["inclusion"],
        Value::Null
    );
    let (s, e) = send(
        &app,
        &c,
        &csrf,
        M::PUT,
        &format!("/codes/{patient}"),
        Some(json!({"key": "Client", "codable": true, "colour": "blue"})),
    )
    .await;
    assert_eq!(s, 422);
    assert!(e["error"].as_str().unwrap().contains("#RRGGBB"), "{e}");

    // Keyboard moves and a drag-style move.
    let misc = sub["id"].as_i64().unwrap();
    let (s, _) = send(
        &app,
        &c,
        &csrf,
        M::POST,
        &format!("/codes/{misc}/move"),
        Some(json!({"direction": "outdent"})),
    )
    .await;
    assert_eq!(s, 204);
    assert!(find(&codes(&app, &c).await, "Misc").is_some());
    let (s, _) = send(
        &app,
        &c,
        &csrf,
        M::POST,
        &format!("/codes/{misc}/move"),
        Some(json!({"direction": "up"})),
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = send(
        &app,
        &c,
        &csrf,
        M::POST,
        &format!("/codes/{misc}/move"),
        Some(json!({"direction": "indent"})),
    )
    .await;
    assert_eq!(s, 204);
    let all = codes(&app, &c).await;
    let misc_path = find(&all, "Resolution/Misc")
        .map(|_| "Resolution/Misc")
        .unwrap();
    let (s, e) = send(
        &app,
        &c,
        &csrf,
        M::POST,
        &format!("/codes/{misc}/move"),
        Some(json!({"direction": "sideways"})),
    )
    .await;
    assert_eq!(s, 422);
    assert!(
        e["error"].as_str().unwrap().starts_with("direction:"),
        "{e}"
    );
    let (s, _) = send(
        &app,
        &c,
        &csrf,
        M::POST,
        &format!("/codes/{misc}/move"),
        Some(json!({"parent": cat["id"], "position": 0})),
    )
    .await;
    assert_eq!(s, 204);
    let all = codes(&app, &c).await;
    assert!(find(&all, misc_path).is_none());
    assert!(find(&all, "Other/Misc").is_some());

    // Merge: codings move to the survivor.
    let from = id(&all, "Cause/Client/Pathology");
    let into = id(&all, "Cause/Client/Resistance");
    let n_from = find(&all, "Cause/Client/Pathology").unwrap()["codings"]
        .as_i64()
        .unwrap();
    let n_into = find(&all, "Cause/Client/Resistance").unwrap()["codings"]
        .as_i64()
        .unwrap();
    let (s, m) = send(
        &app,
        &c,
        &csrf,
        M::POST,
        &format!("/codes/{from}/merge"),
        Some(json!({"into": into})),
    )
    .await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(
        m["moved"].as_i64().unwrap() + m["collapsed"].as_i64().unwrap(),
        n_from
    );
    let all = codes(&app, &c).await;
    assert!(find(&all, "Cause/Client/Pathology").is_none());
    assert_eq!(
        find(&all, "Cause/Client/Resistance").unwrap()["codings"]
            .as_i64()
            .unwrap(),
        n_into + m["moved"].as_i64().unwrap()
    );

    // Delete shows its impact first; undo brings everything back.
    let therapist = id(&all, "Cause/Therapist");
    let (s, imp) = send(
        &app,
        &c,
        &csrf,
        M::GET,
        &format!("/codes/{therapist}/impact"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(imp["codes"], 6);
    let n_codings = data
        .codings
        .iter()
        .filter(|c| c.code.as_str().starts_with("Cause/Therapist"))
        .count();
    assert_eq!(imp["codings"].as_u64().unwrap() as usize, n_codings);
    let before_delete = app.store.load_study(info.id).await.unwrap();
    let (s, d) = send(
        &app,
        &c,
        &csrf,
        M::DELETE,
        &format!("/codes/{therapist}"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(d["codings"], imp["codings"]);
    assert!(find(&codes(&app, &c).await, "Cause/Therapist").is_none());
    let (s, u) = send(
        &app,
        &c,
        &csrf,
        M::POST,
        &format!("/deletions/{}/undo", d["deletion"]),
        None,
    )
    .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["path"], "Cause/Therapist");
    let after_undo = app.store.load_study(info.id).await.unwrap();
    assert_eq!(after_undo.codes, before_delete.codes);
    assert_eq!(after_undo.codings.len(), before_delete.codings.len());
    let (s, _) = send(
        &app,
        &c,
        &csrf,
        M::POST,
        &format!("/deletions/{}/undo", d["deletion"]),
        None,
    )
    .await;
    assert_eq!(s, 422);
    // Unknown ids are clear errors, not crashes.
    let (s, e) = send(&app, &c, &csrf, M::DELETE, "/codes/999999", None).await;
    assert_eq!(s, 422);
    assert!(e["error"]
        .as_str()
        .unwrap()
        .contains("no code with id 999999"));

    // Versions and audit: one per change, by the researcher.
    let (s, versions) = send(&app, &c, &csrf, M::GET, "/versions", None).await;
    assert_eq!(s, 200);
    let actions: Vec<&str> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "codebook.baseline",
            "codebook.add",
            "codebook.add",
            "codebook.rename",
            "codebook.move",
            "codebook.move",
            "codebook.move",
            "codebook.move",
            "codebook.merge",
            "codebook.delete",
            "codebook.restore"
        ]
    );
    let audit: Vec<_> = after_undo
        .audit
        .iter()
        .filter(|a| a.action.starts_with("codebook."))
        .collect();
    assert_eq!(audit.len(), actions.len() - 1);
    assert!(audit.iter().all(|a| a.actor == RESEARCHER.0));

    // The codebook as of the baseline is the imported one, without ids.
    let base = versions[0]["at"].as_str().unwrap();
    let v: Value = c
        .get(app.url(&format!("{API}?as_of={}", base.replace('+', "%2B"))))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let old: Vec<&str> = v["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        old,
        data.codes
            .iter()
            .map(|c| c.path.as_str())
            .collect::<Vec<_>>()
    );
    let (s, e) = send(&app, &c, &csrf, M::GET, "?as_of=yesterday", None).await;
    assert_eq!(s, 422);
    assert!(e["error"].as_str().unwrap().starts_with("as_of:"), "{e}");
    let (s, _) = send(&app, &c, &csrf, M::GET, "?as_of=1999-01-01", None).await;
    assert_eq!(s, 422);

    // The page shows the tree (escaped), the versions and a past version read-only.
    let (s, html) = app.get_text(&c, PAGE).await;
    assert_eq!(s, 200);
    assert!(
        html.contains("Other &lt;things&gt;") || html.contains("Other &#60;things&#62;"),
        "name not escaped"
    );
    assert!(!html.contains("Other <things>"));
    assert!(html.contains("data-path=\"Cause/Client/Resistance\""));
    assert!(html.contains("<table id=\"versions\">"));
    let (s, html) = app
        .get_text(&c, &format!("{PAGE}?as_of={}", base.replace('+', "%2B")))
        .await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"as-of\""));
    assert!(html.contains("data-path=\"Cause/Patient/Resistance\""));
    assert!(!html.contains("id=\"editor\""));
    let (s, html) = app.get_text(&c, &format!("{PAGE}?as_of=nonsense")).await;
    assert_eq!(s, 422);
    assert!(html.contains("as_of:"));
}
}

db_test! {
#[tokio::test]
async fn templates_and_qdc_import_export_replace_the_codebook_all_or_nothing() {
    let app = spawn_app().await;
    let (c, csrf) = researcher(&app).await;
    let info = study(&app).await;
    let before = app.store.load_study(info.id).await.unwrap();
    use reqwest::Method as M;

    // The 3RS template would orphan the example's codings: refused.
    let (s, e) = send(
        &app,
        &c,
        &csrf,
        M::POST,
        "/template",
        Some(json!({"template": "3rs"})),
    )
    .await;
    assert_eq!(s, 422);
    assert!(e["error"].as_str().unwrap().contains("codings use"), "{e}");
    let r = app
        .post_form(
            &c,
            "/studies/rupture-study/codebook/template",
            &[("csrf", &csrf), ("template", "3rs")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("codings use"));
    let (s, e) = send(
        &app,
        &c,
        &csrf,
        M::POST,
        "/template",
        Some(json!({"template": "nope"})),
    )
    .await;
    assert_eq!(s, 422);
    assert!(e["error"].as_str().unwrap().starts_with("template:"));
    assert_eq!(
        app.store.load_study(info.id).await.unwrap().codes,
        before.codes
    );

    // Export, as the page's link and through the API.
    let r = app.get(&c, "/studies/rupture-study/codebook.qdc").await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("rupture-study-codebook.qdc"));
    let xml = r.text().await.unwrap();
    assert!(xml.contains("<CodeBook"));
    let api_xml = c
        .get(app.url(&format!("{API}/qdc")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(api_xml, xml);

    // An empty study: start from a template (form), then import the
    // exported codebook (API) and get the example's codes back exactly.
    let empty =
        rupturelab_core::StudyData::new(rupturelab_core::Key::parse("blank").unwrap(), "Blank");
    let bid: StudyId = app.store.create_study(&empty).await.unwrap();
    let r = app
        .post_form(
            &c,
            "/studies/blank/codebook/template",
            &[("csrf", &csrf), ("template", "cause-resolution")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, page) = app.get_text(&c, &location(&r)).await;
    assert!(
        page.contains("cause &amp; resolution template")
            || page.contains("cause &#38; resolution template"),
        "{page}"
    );
    assert_eq!(
        app.store.load_study(bid).await.unwrap().codes,
        rupturelab_core::templates::CodebookTemplate::CauseResolution.codes()
    );
    let r = c
        .put(app.url("/api/v1/studies/blank/codebook/qdc"))
        .header("x-csrf-token", &csrf)
        .body(xml.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["codes"].as_u64().unwrap() as usize, before.codes.len());
    assert_eq!(app.store.load_study(bid).await.unwrap().codes, before.codes);

    // A broken file changes nothing, through the page form too.
    let r = c
        .put(app.url("/api/v1/studies/blank/codebook/qdc"))
        .header("x-csrf-token", &csrf)
        .body("<Project><broken")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"<NotACodebook/>".to_vec()).file_name("bad.qdc"),
    );
    let r = c
        .post(app.url(&format!("/studies/blank/codebook/import?csrf={csrf}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("bad.qdc"));
    assert_eq!(app.store.load_study(bid).await.unwrap().codes, before.codes);
    // A good file through the page form.
    let three = {
        let mut d = rupturelab_core::StudyData::new(rupturelab_core::Key::parse("x").unwrap(), "x");
        d.codes = rupturelab_core::templates::CodebookTemplate::ThreeRs.codes();
        rupturelab_interop::qdc::export_qdc(&d)
    };
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(three.into_bytes()).file_name("3rs.qdc"),
    );
    let r = c
        .post(app.url(&format!("/studies/blank/codebook/import?csrf={csrf}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        app.store.load_study(bid).await.unwrap().codes,
        rupturelab_core::templates::CodebookTemplate::ThreeRs.codes()
    );
    let audit = app.store.load_study(bid).await.unwrap().audit;
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.action == "codebook.replace")
            .count(),
        3
    );
}
}
