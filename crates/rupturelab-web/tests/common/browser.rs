//! Headless Chromium for end-to-end tests (Debian's chromium + chromedriver,
//! driven by fantoccini): start a browser, take numbered screenshots, click
//! and wait for the next page. A missing browser fails the test (never a
//! skip): `scripts/test` installs it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use fantoccini::{Client, ClientBuilder, Locator};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn start_browser(profile: &Path) -> (Driver, Client) {
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

pub struct Shots {
    pub dir: PathBuf,
    pub n: usize,
}

impl Shots {
    pub async fn take(&mut self, c: &Client, name: &str) {
        self.n += 1;
        let png = c.screenshot().await.unwrap();
        std::fs::write(self.dir.join(format!("{:02}-{name}.png", self.n)), png).unwrap();
    }
}

pub async fn save_state(c: &Client) -> String {
    c.find(Locator::Css(".save-state"))
        .await
        .unwrap()
        .attr("data-state")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// Waits until the autosave script reports "saved".
pub async fn wait_saved(c: &Client) {
    let start = Instant::now();
    loop {
        if save_state(c).await == "saved" {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "autosave never reported saved"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn path_of(c: &Client) -> String {
    c.current_url().await.unwrap().path().to_string()
}

/// Clicks the element with `id` and waits for the page it leads to.
pub async fn click_to(c: &Client, id: &str, path: &str) {
    click_css_to(c, &format!("#{id}"), path).await;
}

/// Clicks the element matching `css` and waits for the page it leads to.
pub async fn click_css_to(c: &Client, css: &str, path: &str) {
    let old = c.find(Locator::Css("html")).await.unwrap();
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_new_page(c, old, path, css).await;
}

/// Waits for a new document at `path`. Every click this follows submits a
/// form, so the old document (`old`, its `<html>` element) must be gone —
/// stale — before the new one counts: a form that posts back to its own
/// path would otherwise match before it loads.
pub async fn wait_new_page(c: &Client, old: fantoccini::elements::Element, path: &str, what: &str) {
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

impl Shots {
    /// A fresh screenshot folder under the test target's tmp dir (printed).
    pub fn new(name: &str) -> Self {
        let dir =
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("browser-screenshots-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        println!("screenshots: {}", dir.display());
        Shots { dir, n: 0 }
    }
}

/// Polls until `css` matches exactly `n` elements (15 s at most).
pub async fn wait_count(c: &Client, css: &str, n: usize) -> Vec<fantoccini::elements::Element> {
    let start = Instant::now();
    loop {
        let found = c.find_all(Locator::Css(css)).await.unwrap();
        if found.len() == n {
            return found;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{css}: {} elements, not {n}",
            found.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Types a user name and a password into the sign-in form of the page.
pub async fn fill_sign_in(c: &Client, who: (&str, &str)) {
    for (field, value) in [("username", who.0), ("password", who.1)] {
        c.find(Locator::Id(field))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
}

/// Signs `who` in through the login page and waits for `landing`.
pub async fn sign_in_as(c: &Client, app: &super::TestApp, who: (&str, &str), landing: &str) {
    c.goto(&app.url("/login")).await.unwrap();
    fill_sign_in(c, who).await;
    click_to(c, "sign-in", landing).await;
}

/// A script that is true once the coding screen shows a response's text.
pub const TEXT_LOADED: &str =
    "document.querySelector('#text') && document.querySelector('#text').textContent.length > 0";
