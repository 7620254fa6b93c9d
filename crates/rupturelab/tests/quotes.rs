//! Quote pins and exclusions stored with the study (`rupturelab quotes`),
//! applied by `rupturelab report` by default; and the web console's Report
//! download giving the same bytes as the command line.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

fn rupturelab() -> Command {
    Command::cargo_bin("rupturelab").unwrap()
}

/// A temp dir with the example study imported into `t.rupturelab`.
fn imported() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.rupturelab");
    rupturelab()
        .arg("import")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/rupture-study"))
        .arg("--db")
        .arg(&db)
        .assert()
        .success();
    (dir, db)
}

fn quotes(db: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    rupturelab()
        .arg("quotes")
        .args(args)
        .arg("--db")
        .arg(db)
        .env("USER", "tester")
        .assert()
}

fn report_md(db: &Path, out: &Path, extra: &[&str]) -> String {
    rupturelab()
        .args([
            "report",
            "--date",
            "2026-05-01",
            "--format",
            "md",
            "--bootstrap",
            "0",
        ])
        .arg("--db")
        .arg(db)
        .arg("--out")
        .arg(out)
        .args(extra)
        .assert()
        .success();
    std::fs::read_to_string(out).unwrap()
}

/// The participants quoted in the themes table row of a theme.
fn quoted_in(md: &str, theme_name: &str) -> String {
    md.lines()
        .find(|l| l.starts_with(&format!("| **{theme_name}** |")) && l.contains('“'))
        .unwrap_or_else(|| panic!("no quotes row for {theme_name}"))
        .to_string()
}

#[test]
fn stored_pins_and_exclusions_change_the_report_until_cleared() {
    let (dir, db) = imported();
    let out = dir.path().join("r.md");
    let plain = report_md(&db, &out, &[]);
    assert!(!quoted_in(&plain, "Relational resolution").contains("(P20, "));

    quotes(&db, &["pin", "Resolution/Relational=P20/S6/Q2"])
        .success()
        .stdout(contains("Changed: 1"))
        .stdout(contains("Resolution/Relational"));
    quotes(&db, &["pin", "Resolution/Relational=P20/S6/Q2"])
        .success()
        .stdout(contains("was already pinned"));
    let pinned = report_md(&db, &out, &[]);
    assert!(
        quoted_in(&pinned, "Relational resolution").contains("(P20, "),
        "stored pin applies"
    );
    assert!(pinned.contains("Pinned quotes: 1; excluded answers: 0."));
    // --no-stored-quotes ignores them (only the audit appendix, which counts the changes, differs).
    let ignored = report_md(&db, &out, &["--no-stored-quotes"]);
    assert_eq!(
        quoted_in(&ignored, "Relational resolution"),
        quoted_in(&plain, "Relational resolution")
    );
    assert!(!ignored.contains("Pinned quotes:"));

    quotes(&db, &["unpin", "Resolution/Relational=P20/S6/Q2"]).success();
    quotes(&db, &["list"])
        .success()
        .stdout(contains("rule"))
        .stdout(contains("P20/S6/Q2").not());

    // The audit trail names who did what.
    rupturelab()
        .args(["export-folder"])
        .arg(dir.path().join("out"))
        .arg("--db")
        .arg(&db)
        .assert()
        .success();
    let audit = std::fs::read_to_string(dir.path().join("out/audit.csv")).unwrap();
    assert!(
        audit.contains("cli:tester,quote.pin,quote Resolution/Relational=P20/S6/Q2,— → pinned"),
        "{audit}"
    );
    assert!(audit.contains("quote.unpin"), "{audit}");

    // Exclusion for every theme, then clear.
    quotes(&db, &["exclude", "P20/S6/Q2", "P01/S1/Q1"])
        .success()
        .stdout(contains("Changed: 2"))
        .stdout(contains("(every theme)"));
    let excluded = report_md(&db, &out, &[]);
    assert!(excluded.contains("Pinned quotes: 0; excluded answers: 2."));
    quotes(&db, &["clear"])
        .success()
        .stdout(contains("Removed: 2"));
    let cleared = report_md(&db, &out, &[]);
    assert_eq!(
        quoted_in(&cleared, "Relational resolution"),
        quoted_in(&plain, "Relational resolution")
    );
    assert!(!cleared.contains("Pinned quotes:"));
}

#[test]
fn quotes_commands_explain_bad_arguments_and_change_nothing() {
    let (_dir, db) = imported();
    quotes(&db, &["pin", "P20/S6/Q2"])
        .failure()
        .stderr(contains("a pin names its theme"));
    quotes(&db, &["pin", "Resolution/Relational=P99/S6/Q2"])
        .failure()
        .stderr(contains("no answer P99/S6/Q2"));
    quotes(&db, &["exclude", "Nope=P20/S6/Q2"])
        .failure()
        .stderr(contains("no code `Nope`"));
    quotes(&db, &["exclude", "P20-S6"])
        .failure()
        .stderr(contains("PARTICIPANT/SEGMENT/QUESTION"));
    // All arguments are checked before any is stored.
    quotes(&db, &["exclude", "P01/S1/Q1", "bad"]).failure();
    quotes(&db, &["list"])
        .success()
        .stdout(contains("P01/S1/Q1").not());
}

/// The CSRF token in a page's first form.
fn csrf_in(html: &str) -> String {
    let i = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    html[i..i + 32].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_report_download_is_the_command_lines_report_byte_for_byte() {
    use std::sync::Arc;
    let (dir, db) = imported();
    quotes(&db, &["pin", "Resolution/Relational=P20/S6/Q2"]).success();
    let store: Arc<dyn rupturelab_store::Store> =
        Arc::from(rupturelab_store::open(db.to_str().unwrap()).await.unwrap());
    rupturelab_web::accounts::create_user(
        store.as_ref(),
        "ayse",
        rupturelab_store::Role::Researcher,
        "researcher-password-1",
    )
    .await
    .unwrap();
    let app = rupturelab_web::Application::build(
        store.clone(),
        rupturelab_web::Config::new("127.0.0.1:0".parse().unwrap()),
    )
    .await
    .unwrap();
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = c
        .get(format!("http://{addr}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = c
        .post(format!("http://{addr}/login"))
        .form(&[
            ("csrf", csrf_in(&login).as_str()),
            ("username", "ayse"),
            ("password", "researcher-password-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);

    for (format, lang, layer) in [("html", "en", "consensus"), ("docx", "tr", "Ayla")] {
        let web = c
            .get(format!(
                "http://{addr}/studies/rupture-study/report/download?format={format}&lang={lang}&layer={layer}&date=2026-05-01"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(web.status().as_u16(), 200);
        let web = web.bytes().await.unwrap();
        let out = dir.path().join(format!("cli.{format}"));
        rupturelab()
            .args([
                "report", "--format", format, "--lang", lang, "--layer", layer,
            ])
            .args(["--date", "2026-05-01", "--db"])
            .arg(&db)
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
        let cli = std::fs::read(&out).unwrap();
        assert!(
            web.as_ref() == cli.as_slice(),
            "{format}: the web download ({} bytes) differs from the CLI's report ({} bytes)",
            web.len(),
            cli.len()
        );
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
