//! HTTP tests of the search page and API, the audit trail and the agreement
//! page (issue 6): results, highlighting, authorisation of each route for
//! researcher, coder and anonymous clients, and the agreement page's numbers
//! against the core engine.

mod common;

use common::*;
use rupturelab_core::agreement::{
    agreement_coders, code_agreement_table, overall_masi, BootstrapMethod, BootstrapOptions,
    CodeAgreementOptions, CodeUnit,
};
use rupturelab_core::{Answer, AuditEvent, Key, Timestamp};
use rupturelab_web::accounts;

fn k(s: &str) -> Key {
    Key::parse(s).unwrap()
}

async fn coder(app: &TestApp) -> reqwest::Client {
    let c = app.client();
    app.login(&c, CODER).await;
    c
}

async fn bearer(app: &TestApp) -> String {
    let u = app.store.user_by_name(RESEARCHER.0).await.unwrap().unwrap();
    accounts::create_api_token(app.store.as_ref(), u.id, "t")
        .await
        .unwrap()
}

async fn api_json(app: &TestApp, token: &str, path: &str) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(serde_json::Value::Null))
}

fn chars(text: &str, s: usize, e: usize) -> String {
    text.chars().skip(s).take(e - s).collect()
}

// ------------------------------------------------------------------- search

#[tokio::test]
async fn the_search_api_returns_hits_with_code_point_spans_in_answers_and_transcripts() {
    let app = spawn_app().await;
    let token = bearer(&app).await;
    let (s, v) = api_json(
        &app,
        &token,
        "/api/v1/studies/rupture-study/search?q=homework&limit=500",
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let hits = v["hits"].as_array().unwrap();
    assert!(hits.iter().all(|h| h["kind"] == "response"));
    for h in hits {
        let text = h["text"].as_str().unwrap();
        let spans = h["spans"].as_array().unwrap();
        assert!(!spans.is_empty());
        for sp in spans {
            let (a, b) = (
                sp[0].as_u64().unwrap() as usize,
                sp[1].as_u64().unwrap() as usize,
            );
            assert!(
                chars(text, a, b).to_lowercase().starts_with("homework"),
                "{text} {a}..{b}"
            );
        }
    }
    // Transcript turns are searched too.
    let (_, v) = api_json(
        &app,
        &token,
        "/api/v1/studies/rupture-study/search?q=shrugs",
    )
    .await;
    let h = &v["hits"][0];
    assert_eq!(
        (
            h["kind"].as_str(),
            h["segment"].as_str(),
            h["speaker"].as_str()
        ),
        (Some("turn"), Some("S1"), Some("P")),
        "{v}"
    );
    assert_eq!(
        chars(
            h["text"].as_str().unwrap(),
            h["spans"][0][0].as_u64().unwrap() as usize,
            h["spans"][0][1].as_u64().unwrap() as usize
        ),
        "shrugs"
    );
    // Phrase and prefix.
    let (_, v) = api_json(
        &app,
        &token,
        "/api/v1/studies/rupture-study/search?q=%22thought%20record%22",
    )
    .await;
    let hits = v["hits"].as_array().unwrap();
    assert!(!hits.is_empty());
    for h in hits {
        let text = h["text"].as_str().unwrap();
        let sp = &h["spans"][0];
        let got = chars(
            text,
            sp[0].as_u64().unwrap() as usize,
            sp[1].as_u64().unwrap() as usize,
        );
        assert!(got.to_lowercase().starts_with("thought record"), "{got}");
    }
    let (_, v) = api_json(
        &app,
        &token,
        "/api/v1/studies/rupture-study/search?q=therap*&limit=3",
    )
    .await;
    assert_eq!(v["hits"].as_array().unwrap().len(), 3);
    // A bad query names the parameter.
    let (s, v) = api_json(
        &app,
        &token,
        "/api/v1/studies/rupture-study/search?q=%22%22",
    )
    .await;
    assert_eq!(s, 422);
    assert!(v["error"].as_str().unwrap().starts_with("q:"), "{v}");
    let (s, v) = api_json(
        &app,
        &token,
        "/api/v1/studies/rupture-study/search?q=x&limit=0",
    )
    .await;
    assert_eq!(s, 422);
    assert!(v["error"].as_str().unwrap().starts_with("limit:"), "{v}");
    let (s, _) = api_json(&app, &token, "/api/v1/studies/nope/search?q=x").await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn turkish_search_folds_dotted_and_dotless_i_and_spans_count_code_points() {
    let app = spawn_app().await;
    let token = bearer(&app).await;
    // Upper-case DANIŞAN folds to "danışan" only with Turkish rules (English gives "danişan").
    let (s, v) = api_json(
        &app,
        &token,
        "/api/v1/studies/ornek-calisma-tr/search?q=DANI%C5%9EAN",
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["language"], "tr");
    let hits = v["hits"].as_array().unwrap();
    assert!(!hits.is_empty(), "{v}");
    for h in hits {
        let text = h["text"].as_str().unwrap();
        for sp in h["spans"].as_array().unwrap() {
            let got = chars(
                text,
                sp[0].as_u64().unwrap() as usize,
                sp[1].as_u64().unwrap() as usize,
            );
            assert!(
                got.starts_with("anı") || got.starts_with("Danış") || got.starts_with("danış"),
                "{got}"
            );
        }
    }
    // An answer with an emoji before the hit: code points and UTF-16 units differ by one.
    app.invite("ornek-calisma-tr", &["Z01"]).await;
    let pid = app
        .store
        .participant_id(
            app.store
                .list_studies()
                .await
                .unwrap()
                .iter()
                .find(|s| s.key == "ornek-calisma-tr")
                .unwrap()
                .id,
            "Z01",
        )
        .await
        .unwrap()
        .unwrap();
    app.store
        .save_response(
            pid,
            Some(&k("S1")),
            &k("Q1"),
            &Answer::Text("🙂 İSTANBUL'da ışık".into()),
            Timestamp::now(),
        )
        .await
        .unwrap();
    let (_, v) = api_json(
        &app,
        &token,
        "/api/v1/studies/ornek-calisma-tr/search?q=istanbul",
    )
    .await;
    let h = &v["hits"][0];
    assert_eq!(h["participant"], "Z01", "{v}");
    assert_eq!(h["spans"][0], serde_json::json!([2, 10]));
    assert_eq!(h["spans_utf16"][0], serde_json::json!([3, 11]));
    let (_, v) = api_json(
        &app,
        &token,
        "/api/v1/studies/ornek-calisma-tr/search?q=I%C5%9EIK",
    )
    .await;
    assert_eq!(v["hits"][0]["spans"][0], serde_json::json!([14, 18]), "{v}");
}

#[tokio::test]
async fn a_changed_answer_is_found_at_once_and_its_old_text_is_never_shown() {
    let app = spawn_app().await;
    let token = bearer(&app).await;
    let study = app
        .store
        .list_studies()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.key == STUDY)
        .unwrap();
    app.invite(STUDY, &["Z01"]).await;
    let pid = app
        .store
        .participant_id(study.id, "Z01")
        .await
        .unwrap()
        .unwrap();
    let path = "/api/v1/studies/rupture-study/search?q=zebrafish";
    assert!(api_json(&app, &token, path).await.1["hits"]
        .as_array()
        .unwrap()
        .is_empty());
    app.store
        .save_response(
            pid,
            Some(&k("S1")),
            &k("Q1"),
            &Answer::Text("A zebrafish appeared.".into()),
            Timestamp::now(),
        )
        .await
        .unwrap();
    let (_, v) = api_json(&app, &token, path).await;
    assert_eq!(v["hits"].as_array().unwrap().len(), 1, "{v}");
    app.store
        .save_response(
            pid,
            Some(&k("S1")),
            &k("Q1"),
            &Answer::Text("Gone.".into()),
            Timestamp::now(),
        )
        .await
        .unwrap();
    let (_, v) = api_json(&app, &token, path).await;
    assert!(v["hits"].as_array().unwrap().is_empty(), "{v}");
}

#[tokio::test]
async fn the_search_page_highlights_hits_with_escaped_html() {
    let app = spawn_app().await;
    let study = app
        .store
        .list_studies()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.key == STUDY)
        .unwrap();
    app.invite(STUDY, &["Z02"]).await;
    let pid = app
        .store
        .participant_id(study.id, "Z02")
        .await
        .unwrap()
        .unwrap();
    app.store
        .save_response(
            pid,
            Some(&k("S1")),
            &k("Q1"),
            &Answer::Text("<script>alert(1)</script> quokka & co".into()),
            Timestamp::now(),
        )
        .await
        .unwrap();
    let c = app.researcher().await;
    let (s, body) = app
        .get_text(&c, "/studies/rupture-study/search?q=quokka")
        .await;
    assert_eq!(s, 200);
    assert!(
        body.contains("&lt;script&gt;alert(1)&lt;/script&gt; <mark>quokka</mark> &amp; co"),
        "{body}"
    );
    assert!(!body.contains("<script>alert"));
    assert!(body.contains("Z02 · S1 · Q1"));
    // The query is echoed escaped; an empty query shows no result list.
    let (_, body) = app
        .get_text(&c, "/studies/rupture-study/search?q=%3Cb%3E")
        .await;
    assert!(body.contains("value=\"&#60;b&#62;\""), "{body}");
    let (_, body) = app.get_text(&c, "/studies/rupture-study/search").await;
    assert!(!body.contains("id=\"hits\""));
    // The rebuild button needs the CSRF token.
    let r = app
        .post_form(&c, "/studies/rupture-study/search/reindex", &[])
        .await;
    assert_eq!(r.status().as_u16(), 403);
    let csrf = app.csrf(&c, "/studies/rupture-study/search").await;
    let r = app
        .post_form(
            &c,
            "/studies/rupture-study/search/reindex",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("was rebuilt"));
}

#[tokio::test]
async fn search_authorisation_researcher_coder_and_anonymous() {
    let app = spawn_app().await;
    // Anonymous: the page sends to the login, the API says 401.
    let anon = app.client();
    let r = app
        .get(&anon, "/studies/rupture-study/search?q=homework")
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert!(location(&r).starts_with("/login"));
    let r = app
        .get(&anon, "/api/v1/studies/rupture-study/search?q=homework")
        .await;
    assert_eq!(r.status().as_u16(), 401);
    // A coder may search the texts they code, never rebuild the index or use the researcher API.
    let c = coder(&app).await;
    let (s, body) = app
        .get_text(&c, "/studies/rupture-study/search?q=homework")
        .await;
    assert_eq!(s, 200);
    assert!(body.contains("<mark>"), "{body}");
    assert!(!body.contains("id=\"reindex\""));
    assert!(
        !body.contains("href=\"participants/"),
        "coders get no links to researcher pages"
    );
    let csrf = app.csrf(&c, "/studies/rupture-study/search").await;
    let r = app
        .post_form(
            &c,
            "/studies/rupture-study/search/reindex",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);
    let r = app
        .get(&c, "/api/v1/studies/rupture-study/search?q=homework")
        .await;
    assert_eq!(r.status().as_u16(), 403);
    // The researcher sees the links.
    let rc = app.researcher().await;
    let (_, body) = app
        .get_text(&rc, "/studies/rupture-study/search?q=homework")
        .await;
    assert!(body.contains("href=\"participants/P01\""));
}

#[tokio::test]
async fn the_openapi_document_describes_the_search_route() {
    let app = spawn_app().await;
    let doc: serde_json::Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let op = &doc["paths"]["/studies/{study}/search"]["get"];
    assert!(op["summary"].as_str().unwrap().contains("search"));
    assert!(op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "q"));
    // The earlier routes are still there.
    assert!(doc["paths"]["/studies/{study}/responses"]["get"].is_object());
}

// -------------------------------------------------------------------- audit

async fn seed_audit(app: &TestApp) {
    let study = app
        .store
        .list_studies()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.key == STUDY)
        .unwrap();
    let day = 86_400_000i64;
    let base = Timestamp::parse_rfc3339("2026-03-01T10:00:00Z").unwrap().0;
    for i in 0..120i64 {
        let (actor, action) = match i % 3 {
            0 => ("Ayla", "coding.add"),
            1 => ("Burak", "coding.remove"),
            _ => ("ayse", "codebook.rename"),
        };
        app.store
            .record_audit(
                study.id,
                &AuditEvent {
                    at: Timestamp(base + (i / 10) * day + i),
                    actor: actor.into(),
                    action: action.into(),
                    entity: format!("P{:02}/S1/Q1", i % 7),
                    detail: if i == 4 {
                        "=HYPERLINK(\"http://x\") → \"quoted\", comma".into()
                    } else {
                        format!("before {i} → after {i}")
                    },
                },
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn the_audit_trail_filters_pages_and_escapes() {
    let app = spawn_app().await;
    seed_audit(&app).await;
    let c = app.researcher().await;
    let (s, body) = app.get_text(&c, "/studies/rupture-study/audit").await;
    assert_eq!(s, 200);
    let total = |b: &str| -> i64 {
        let i = b.find("id=\"audit-total\">").unwrap() + "id=\"audit-total\">".len();
        b[i..].split('<').next().unwrap().parse().unwrap()
    };
    let all = total(&body);
    assert!(all >= 120, "{all}");
    assert_eq!(body.matches("<tr><td>").count(), 50, "one page of 50");
    assert!(body.contains("rel=\"next\""));
    // Filters: actor, action family, entity, date range (inclusive days).
    let (_, b) = app
        .get_text(&c, "/studies/rupture-study/audit?actor=Ayla")
        .await;
    assert_eq!(total(&b), 40);
    let (_, b) = app
        .get_text(&c, "/studies/rupture-study/audit?action=coding")
        .await;
    assert_eq!(total(&b), 80);
    let (_, b) = app
        .get_text(
            &c,
            "/studies/rupture-study/audit?action=coding.add&entity=P03",
        )
        .await;
    assert!(total(&b) > 0 && total(&b) < 40);
    let (_, b) = app
        .get_text(
            &c,
            "/studies/rupture-study/audit?from=2026-03-02&to=2026-03-03&actor=Burak",
        )
        .await;
    // Days 2 and 3: events 10..29, a third of them Burak's (i % 3 == 1): 11,14,…,28.
    assert_eq!(total(&b), 7);
    let (_, b) = app
        .get_text(&c, "/studies/rupture-study/audit?actor=Ayla&page=2")
        .await;
    assert!(b.contains("rel=\"prev\"") && !b.contains("rel=\"next\""));
    // Detail text is escaped.
    let (_, b) = app
        .get_text(
            &c,
            "/studies/rupture-study/audit?entity=P04&action=coding.remove",
        )
        .await;
    assert!(b.contains("HYPERLINK") && !b.contains("\"quoted\""), "{b}");
    // Bad input names the field.
    let (s, b) = app
        .get_text(&c, "/studies/rupture-study/audit?from=yesterday")
        .await;
    assert_eq!(s, 422);
    assert!(b.contains("from: "), "{b}");
    let (s, b) = app
        .get_text(&c, "/studies/rupture-study/audit?page=0")
        .await;
    assert_eq!(s, 422);
    assert!(b.contains("page: "), "{b}");
}

#[tokio::test]
async fn the_audit_csv_is_quoted_and_formula_safe() {
    let app = spawn_app().await;
    seed_audit(&app).await;
    let c = app.researcher().await;
    let r = app
        .get(&c, "/studies/rupture-study/audit.csv?actor=Burak")
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("audit-rupture-study.csv"));
    let body = r.text().await.unwrap();
    let mut rdr = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        rdr.headers().unwrap(),
        vec!["at", "actor", "action", "entity", "detail"]
    );
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 40);
    assert!(rows.iter().all(|r| &r[1] == "Burak"));
    // Event 4 (Burak's): a formula is defused, quotes and commas survive.
    let r5 = rows.iter().find(|r| r[4].contains("HYPERLINK")).unwrap();
    assert_eq!(&r5[4], "'=HYPERLINK(\"http://x\") → \"quoted\", comma");
    // Every cell that a spreadsheet would run is defused.
    for r in &rows {
        for cell in r.iter() {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell}");
        }
    }
}

#[tokio::test]
async fn the_audit_trail_is_for_researchers_only() {
    let app = spawn_app().await;
    let anon = app.client();
    for path in [
        "/studies/rupture-study/audit",
        "/studies/rupture-study/audit.csv",
    ] {
        let r = app.get(&anon, path).await;
        assert_eq!(r.status().as_u16(), 303, "{path}");
        let c = coder(&app).await;
        assert_eq!(app.get(&c, path).await.status().as_u16(), 403, "{path}");
    }
}

// ---------------------------------------------------------------- agreement

fn data_values(html: &str, table_id: &str, class: &str) -> Vec<String> {
    let start = html
        .find(&format!("<table id=\"{table_id}\""))
        .unwrap_or_else(|| panic!("no table {table_id}"));
    let table = &html[start..start + html[start..].find("</table>").unwrap()];
    let marker = format!("class=\"num {class}\" data-value=\"");
    table
        .split(&marker)
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect()
}

fn raw(c: rupturelab_core::agreement::Coefficient) -> String {
    c.value()
        .map(|v| format!("{v:?}"))
        .unwrap_or_else(|| "undefined".into())
}

#[tokio::test]
async fn the_agreement_page_shows_the_engines_numbers_for_the_example_study() {
    let app = spawn_app().await;
    let c = app.researcher().await;
    let data = example("rupture-study");
    let coders = agreement_coders(&data);
    assert_eq!(coders, vec!["Ayla", "Burak"]);
    let names: Vec<&str> = coders.iter().map(String::as_str).collect();
    let boot = BootstrapOptions {
        method: BootstrapMethod::Units,
        replicates: 200,
        seed: 7,
        ..BootstrapOptions::default()
    };
    for (unit, code_unit) in [
        ("presence", Some(CodeUnit::Response)),
        ("character", Some(CodeUnit::CodePoint)),
        ("masi", None),
    ] {
        let (s, body) = app
            .get_text(
                &c,
                &format!("/studies/rupture-study/agreement?unit={unit}&bootstrap=200&seed=7"),
            )
            .await;
        assert_eq!(s, 200, "{body}");
        assert!(
            body.contains("id=\"unit\""),
            "the unit of analysis is stated"
        );
        if let Some(cu) = code_unit {
            let table = code_agreement_table(
                &data,
                &names,
                &CodeAgreementOptions {
                    unit: cu,
                    selection: None,
                    threshold: None,
                    bootstrap: Some(boot),
                },
            )
            .unwrap();
            let want: Vec<String> = table.rows.iter().map(|r| raw(r.alpha.alpha)).collect();
            assert_eq!(data_values(&body, "codes", "alpha"), want, "{unit} α");
            let want: Vec<String> = table.rows.iter().map(|r| raw(r.kappa.value())).collect();
            assert_eq!(data_values(&body, "codes", "kappa"), want, "{unit} κ");
            for r in &table.rows {
                if let Some(b) = &r.alpha_ci {
                    assert!(
                        body.contains(&format!("[{:.3}, {:.3}]", b.ci.0, b.ci.1)),
                        "{unit} CI of {}",
                        r.code
                    );
                }
            }
            assert!(body.contains(&format!("id=\"n-units\">{}<", table.rows[0].n_units)));
            assert!(body.contains(&format!("id=\"threshold\">{}<", table.threshold)));
            // Undefined α is shown as "undefined", never as 1 or NaN.
            assert!(!body.contains("NaN"));
            for r in table
                .rows
                .iter()
                .filter(|r| r.alpha.alpha.value().is_none())
            {
                assert!(body.contains(&format!("data-code=\"{}\"", r.code)));
            }
        } else {
            assert!(!body.contains("<table id=\"codes\""));
        }
        let overall = overall_masi(&data, &names, Some(&boot));
        let want: Vec<String> = overall.iter().map(|r| raw(r.alpha.alpha)).collect();
        assert_eq!(
            data_values(&body, "overall", "alpha"),
            want,
            "{unit} overall"
        );
        for r in overall.iter().filter_map(|r| r.ci) {
            assert!(body.contains(&format!("[{:.3}, {:.3}]", r.0, r.1)));
        }
    }
}

#[tokio::test]
async fn the_agreement_page_checks_its_choices_and_is_researcher_only() {
    let app = spawn_app().await;
    let c = app.researcher().await;
    let (s, body) = app
        .get_text(
            &c,
            "/studies/rupture-study/agreement?coders=Ayla&bootstrap=0",
        )
        .await;
    assert_eq!(s, 200);
    assert!(
        body.contains("id=\"agreement-error\">coders: agreement needs at least two coders"),
        "{body}"
    );
    let (_, body) = app
        .get_text(
            &c,
            "/studies/rupture-study/agreement?coders=Ayla&coders=Nobody&bootstrap=0",
        )
        .await;
    assert!(body.contains("coders: `Nobody` is not a coder"), "{body}");
    let (s, body) = app
        .get_text(&c, "/studies/rupture-study/agreement?unit=words")
        .await;
    assert_eq!(s, 422);
    assert!(body.contains("unit: "));
    // Coders must not see other coders' agreement (blind coding); anonymous users sign in first.
    let cc = coder(&app).await;
    assert_eq!(
        app.get(&cc, "/studies/rupture-study/agreement")
            .await
            .status()
            .as_u16(),
        403
    );
    let anon = app.client();
    assert_eq!(
        app.get(&anon, "/studies/rupture-study/agreement")
            .await
            .status()
            .as_u16(),
        303
    );
}
