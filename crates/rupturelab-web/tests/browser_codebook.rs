//! End to end in headless Chromium (Debian's chromium + chromedriver, driven
//! by fantoccini; helpers copied from `browser.rs`): a researcher edits the
//! codebook with the keyboard (Alt+↑ reorders, Delete shows the impact,
//! Undo restores) and reconciles a disagreement between two coders; the
//! database then holds the consensus. Screenshots go to
//! `target/tmp/browser-screenshots-codebook`. The test fails (never skips)
//! when the browser is missing: `scripts/test` installs it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use rupturelab_core::{StudyData, CONSENSUS};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_browser(profile: &Path) -> (Driver, Client) {
    for bin in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(bin).exists(),
            "{bin} is missing: install Debian's chromium and chromium-driver (scripts/test does)"
        );
    }
    let port = free_port();
    let driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                format!("--user-data-dir={}", profile.display()),
                "--window-size=414,900", "--lang=tr-TR",
            ]
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a chromedriver session");
    (driver, client)
}

struct Shots {
    dir: PathBuf,
    n: usize,
}

impl Shots {
    async fn take(&mut self, c: &Client, name: &str) {
        self.n += 1;
        let png = c.screenshot().await.unwrap();
        std::fs::write(self.dir.join(format!("{:02}-{name}.png", self.n)), png).unwrap();
    }
}

async fn path_of(c: &Client) -> String {
    c.current_url().await.unwrap().path().to_string()
}

/// Clicks the element with `id` and waits until the browser is at `path`.
/// Clicks the element and waits for the page it leads to. Every click
/// this is used for submits a form, so the old document must be gone
/// (its `<html>` element stale) before the new one counts: a form that
/// posts back to its own path would otherwise match before it loads.
async fn click_to(c: &Client, id: &str, path: &str) {
    let old = c.find(Locator::Css("html")).await.unwrap();
    c.find(Locator::Id(id))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let start = Instant::now();
    loop {
        let at = path_of(c).await;
        if at == path && old.tag_name().await.is_err() && c.find(Locator::Css("body")).await.is_ok()
        {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "after #{id} at {at}, not {path}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Clicks the element matching `css` and waits for a new document at `path`.
async fn click_css_to(c: &Client, css: &str, path: &str) {
    let old = c.find(Locator::Css("html")).await.unwrap();
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_new_page(c, old, path, css).await;
}

async fn wait_new_page(c: &Client, old: fantoccini::elements::Element, path: &str, what: &str) {
    let start = Instant::now();
    loop {
        let at = path_of(c).await;
        if at == path && old.tag_name().await.is_err() && c.find(Locator::Css("body")).await.is_ok()
        {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "after {what} at {at}, not {path}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn study_data(app: &TestApp) -> StudyData {
    let info = app
        .store
        .list_studies()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.key == STUDY)
        .unwrap();
    app.store.load_study(info.id).await.unwrap()
}

fn position(d: &StudyData, path: &str) -> usize {
    d.codes
        .iter()
        .position(|c| c.path.as_str() == path)
        .unwrap()
}

async fn sign_in(c: &Client, app: &TestApp, path: &str) {
    c.goto(&app.url(path)).await.unwrap();
    assert_eq!(path_of(c).await, "/login");
    c.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys(RESEARCHER.0)
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(RESEARCHER.1)
        .await
        .unwrap();
    click_to(c, "sign-in", path).await;
}

async fn status_text(c: &Client) -> String {
    c.find(Locator::Id("status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Waits until the status line says something containing `what`.
async fn wait_status(c: &Client, what: &str) -> String {
    let start = Instant::now();
    loop {
        if let Ok(t) = c.find(Locator::Id("status")).await {
            let t = t.text().await.unwrap_or_default();
            if t.contains(what) {
                return t;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "status never said {what:?} (says {:?})",
            status_text(c).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn researcher_edits_the_codebook_by_keyboard_and_reconciles_a_disagreement_in_chromium() {
    let app = spawn_app().await;
    let shots_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots-codebook");
    let _ = std::fs::remove_dir_all(&shots_dir);
    std::fs::create_dir_all(&shots_dir).unwrap();
    println!("screenshots: {}", shots_dir.display());
    let mut shots = Shots {
        dir: shots_dir,
        n: 0,
    };
    let before = study_data(&app).await;
    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = start_browser(profile.path()).await;
    c.set_window_size(1280, 1000).await.unwrap();
    let page = "/studies/rupture-study/codebook";
    let run = async {
        sign_in(&c, &app, page).await;
        shots.take(&c, "codebook").await;
        // Select Cause/Therapist and move it up with Alt+↑.
        let li = c
            .find(Locator::Css("li[data-path='Cause/Therapist']"))
            .await
            .unwrap();
        li.click().await.unwrap();
        let title = c
            .find(Locator::Id("editor-title"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(title, "Cause/Therapist");
        let old = c.find(Locator::Css("html")).await.unwrap();
        li.send_keys(&format!("{}{}{}", Key::Alt, Key::Up, Key::Null))
            .await
            .unwrap();
        wait_new_page(&c, old, page, "Alt+Up").await;
        wait_status(&c, "Moved Cause/Therapist up").await;
        let d = study_data(&app).await;
        assert!(position(&d, "Cause/Therapist") < position(&d, "Cause/Patient"));
        // The selection survives the reload.
        let sel = c
            .find(Locator::Css("li[aria-selected=true]"))
            .await
            .unwrap();
        assert_eq!(
            sel.attr("data-path").await.unwrap().as_deref(),
            Some("Cause/Therapist")
        );
        shots.take(&c, "moved").await;

        // Rename it in the editor: the paths below follow.
        let key = c
            .find(Locator::Css("#editor input[name=key]"))
            .await
            .unwrap();
        key.clear().await.unwrap();
        key.send_keys("Clinician").await.unwrap();
        let old = c.find(Locator::Css("html")).await.unwrap();
        c.find(Locator::Id("save"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_new_page(&c, old, page, "save").await;
        wait_status(&c, "Saved Cause/Clinician").await;
        assert!(c
            .find(Locator::Css(
                "li[data-path='Cause/Clinician/EmpathicFailure']"
            ))
            .await
            .is_ok());

        // Delete shows what goes with it; Undo brings it back.
        let n = before
            .codings
            .iter()
            .filter(|x| x.code.as_str().starts_with("Cause/Therapist"))
            .count();
        c.find(Locator::Css("li[aria-selected=true]"))
            .await
            .unwrap()
            .send_keys(&Key::Delete.to_string())
            .await
            .unwrap();
        let impact = c
            .wait()
            .for_element(Locator::Css("#confirm-delete:not([hidden]) #impact"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(impact.contains(&format!("{n} coding(s)")), "{impact}");
        shots.take(&c, "delete-impact").await;
        let old = c.find(Locator::Css("html")).await.unwrap();
        c.find(Locator::Id("delete-yes"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_new_page(&c, old, page, "delete").await;
        wait_status(&c, "Deleted Cause/Clinician").await;
        assert_eq!(
            study_data(&app).await.codings.len(),
            before.codings.len() - n
        );
        shots.take(&c, "deleted").await;
        let old = c.find(Locator::Css("html")).await.unwrap();
        c.find(Locator::Id("undo"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_new_page(&c, old, page, "undo").await;
        wait_status(&c, "Restored Cause/Clinician").await;
        assert_eq!(study_data(&app).await.codings.len(), before.codings.len());

        // Reconcile the first disagreement: accept Ayla's version with a note.
        let rpage = "/studies/rupture-study/reconcile";
        c.goto(&app.url(rpage)).await.unwrap();
        let section = c.find(Locator::Css("section.disagreement")).await.unwrap();
        // Rendered text: badges may be upper-cased by the style sheet.
        let h2 = section
            .find(Locator::Css("h2"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .to_lowercase();
        shots.take(&c, "reconcile").await;
        let p = section
            .find(Locator::Css("input[name=participant]"))
            .await
            .unwrap()
            .attr("value")
            .await
            .unwrap()
            .unwrap();
        let s = section
            .find(Locator::Css("input[name=segment]"))
            .await
            .unwrap()
            .attr("value")
            .await
            .unwrap()
            .unwrap();
        let q = section
            .find(Locator::Css("input[name=question]"))
            .await
            .unwrap()
            .attr("value")
            .await
            .unwrap()
            .unwrap();
        section
            .find(Locator::Css("textarea[name=note]"))
            .await
            .unwrap()
            .send_keys("Ayla's reading fits the transcript.")
            .await
            .unwrap();
        click_css_to(
            &c,
            "section.disagreement button[value='accept:Ayla']",
            rpage,
        )
        .await;
        let msg = c
            .find(Locator::Id("message"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(msg.starts_with("Consensus of"), "{msg}");
        let again = c.find(Locator::Css("section.disagreement")).await.unwrap();
        assert_eq!(
            again
                .find(Locator::Css("h2"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
                .to_lowercase(),
            format!("{} reconciled", h2.trim_end_matches(" reconciled"))
        );
        let note = again
            .find(Locator::Css("textarea[name=note]"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap();
        assert_eq!(note.as_deref(), Some("Ayla's reading fits the transcript."));
        assert!(again.find(Locator::Css(".layer.consensus")).await.is_ok());
        shots.take(&c, "reconciled").await;
        let d = study_data(&app).await;
        let layer = |coder: &str| {
            let mut v: Vec<_> = d
                .codings
                .iter()
                .filter(|x| {
                    x.coder.as_str() == coder
                        && x.response.participant.as_str() == p
                        && x.response
                            .segment
                            .as_ref()
                            .map(|k| k.to_string())
                            .unwrap_or_default()
                            == s
                        && x.response.question.as_str() == q
                })
                .map(|x| (x.code.to_string(), x.span))
                .collect();
            v.sort();
            v
        };
        assert!(!layer("Ayla").is_empty());
        assert_eq!(layer(CONSENSUS), layer("Ayla"));
    };
    run.await;
    c.close().await.unwrap();
}
