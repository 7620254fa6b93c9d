//! The console's Report page: researchers only, downloads in three formats,
//! quote pins and exclusions stored (CSRF-checked, audited) and applied.

mod common;

use common::*;
use rupturelab_store::db_test;
use rupturelab_store::{QuoteRuleKind, StudyId};

const PAGE: &str = "/studies/rupture-study/report";

db_test! {
#[tokio::test]
async fn only_researchers_reach_the_report_page_download_and_quote_changes() {
    let app = spawn_app().await;
    // Anonymous: sent to the login page, nothing computed.
    let anon = app.client();
    for path in [PAGE.to_string(), format!("{PAGE}/download?format=html")] {
        let r = app.get(&anon, &path).await;
        assert_eq!(r.status().as_u16(), 303, "{path}");
        assert!(location(&r).starts_with("/login?next="), "{path}");
    }
    // A coder: 403, and a quote change is refused and not stored.
    let coder = app.client();
    app.login(&coder, CODER).await;
    for path in [PAGE.to_string(), format!("{PAGE}/download?format=docx")] {
        assert_eq!(
            app.get(&coder, &path).await.status().as_u16(),
            403,
            "{path}"
        );
    }
    let csrf = app.csrf(&coder, "/coding").await;
    let r = app
        .post_form(
            &coder,
            &format!("{PAGE}/quotes"),
            &[
                ("csrf", &csrf),
                ("action", "pin"),
                ("theme", "Cause/Patient"),
                ("response", "P01/S1/Q1"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);
    assert!(app.store.quote_rules(StudyId(1)).await.unwrap().is_empty());
}
}

db_test! {
#[tokio::test]
async fn a_researcher_pins_and_excludes_quotes_on_the_page_and_downloads_reports() {
    let app = spawn_app().await;
    let c = app.researcher().await;
    let (s, body) = app.get_text(&c, PAGE).await;
    assert_eq!(s, 200);
    assert!(
        body.contains("href=\"/studies/rupture-study/report\""),
        "nav link"
    );
    for expected in [
        "name=\"format\"",
        "value=\"docx\"",
        "value=\"Ayla\"",
        "value=\"tr\"",
        "Patient&#39;s negative contribution",
        "None yet.",
    ] {
        assert!(body.contains(expected), "page lacks {expected}");
    }
    // A state change without the CSRF token is refused.
    let r = app
        .post_form(
            &c,
            &format!("{PAGE}/quotes"),
            &[
                ("action", "pin"),
                ("theme", "Cause/Patient"),
                ("response", "P20/S6/Q1"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);
    assert!(app.store.quote_rules(StudyId(1)).await.unwrap().is_empty());

    let csrf = csrf_in(&body).unwrap();
    let post = |action: &'static str, theme: &'static str, response: &'static str| {
        let (c, csrf, app) = (&c, csrf.clone(), &app);
        async move {
            app.post_form(
                c,
                &format!("{PAGE}/quotes"),
                &[
                    ("csrf", csrf.as_str()),
                    ("action", action),
                    ("theme", theme),
                    ("response", response),
                    ("layer", "consensus"),
                ],
            )
            .await
        }
    };
    let r = post("pin", "Resolution/Relational", "P20/S6/Q2").await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        location(&r),
        "/studies/rupture-study/report?layer=consensus"
    );
    let r = post("exclude", "", "P01/S1/Q1").await;
    assert_eq!(r.status().as_u16(), 303);
    let rules = app.store.quote_rules(StudyId(1)).await.unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].kind, QuoteRuleKind::Pin);
    assert_eq!(rules[1].to_string(), "P01/S1/Q1");
    let study = app.store.load_study(StudyId(1)).await.unwrap();
    let last = study.audit.last().unwrap();
    assert_eq!(
        (last.actor.as_str(), last.action.as_str()),
        ("web:ayse", "quote.exclude")
    );

    // The page shows the pin (first among the theme's quotes) and the stored rules.
    let (_, body) = app.get_text(&c, &location(&r)).await;
    assert!(body.contains("Excluded P01/S1/Q1."), "flash message");
    let (_, again) = app.get_text(&c, PAGE).await;
    assert!(
        !again.contains("Excluded P01/S1/Q1."),
        "the message is shown once"
    );
    assert!(body.contains("P20/S6/Q2 <strong>(pinned)</strong>"));
    assert!(body.contains("<td>(every theme)</td>"));
    assert!(
        !body.contains("<td>P01/S1/Q1</td>\n<td>“"),
        "an excluded answer is not offered as a quote"
    );

    // Bad input is named.
    let r = post("pin", "Resolution/Relational", "P99/S6/Q2").await;
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("no answer P99/S6/Q2"));
    let r = post("pin", "", "P20/S6/Q2").await;
    assert_eq!(r.status().as_u16(), 422);
    let r = post("shout", "", "P20/S6/Q2").await;
    assert_eq!(r.status().as_u16(), 422);

    // Downloads in each format, with the stored pin applied.
    for (format, ctype, magic) in [
        ("html", "text/html", &b"<!DOCTYPE html>"[..]),
        ("md", "text/markdown", &b"# "[..]),
        (
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            &b"PK"[..],
        ),
    ] {
        let r = app
            .get(
                &c,
                &format!("{PAGE}/download?format={format}&layer=consensus&lang=en&date=2026-05-01"),
            )
            .await;
        assert_eq!(r.status().as_u16(), 200, "{format}");
        let h = r.headers().clone();
        assert!(h
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with(ctype));
        assert_eq!(
            h.get("content-disposition").unwrap().to_str().unwrap(),
            format!("attachment; filename=\"rupture-study-report.{format}\"")
        );
        let bytes = r.bytes().await.unwrap();
        assert!(bytes.starts_with(magic), "{format}");
        if format == "md" {
            let md = String::from_utf8(bytes.to_vec()).unwrap();
            assert!(
                md.contains("Pinned quotes: 1; excluded answers: 1."),
                "{md}"
            );
        }
    }
    for (query, err) in [
        ("format=pdf", "format: `pdf`"),
        ("lang=de", "lang: `de`"),
        ("layer=Nobody", "layer: `Nobody`"),
        ("date=May", "date:"),
    ] {
        let (s, body) = app.get_text(&c, &format!("{PAGE}/download?{query}")).await;
        assert_eq!(s, 422, "{query}");
        assert!(body.contains(err), "{query}: {body}");
    }

    // Removing a rule from the page.
    let r = post("unpin", "Resolution/Relational", "P20/S6/Q2").await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(app.store.quote_rules(StudyId(1)).await.unwrap().len(), 1);
}
}
