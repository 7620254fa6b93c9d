//! Test helpers: `spawn_app()` starts the real server on 127.0.0.1 port 0
//! with a fresh temporary database holding the example study, a researcher
//! and a coder (zero-to-production's pattern), and returns typed helpers.
#![allow(dead_code)]

pub mod browser;

use std::net::SocketAddr;
use std::sync::Arc;

use rupturelab_core::StudyData;
use rupturelab_store::testing::TestDb;
use rupturelab_store::{Role, Store};
use rupturelab_web::{accounts, Application, Config};
use tokio::sync::oneshot;

pub const RESEARCHER: (&str, &str) = ("ayse", "researcher-password-1");
pub const CODER: (&str, &str) = ("can", "coder-password-123");
pub const STUDY: &str = "rupture-study";

#[allow(unused_imports)]
pub use rupturelab_store::testing::example_files;

/// A parsed example study.
pub fn example(name: &str) -> StudyData {
    rupturelab_store::testing::example_study(name)
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub store: Arc<dyn Store>,
    pub dir: tempfile::TempDir,
    /// The database: a SQLite file in `dir`, or a fresh PostgreSQL database
    /// under `db_test!`'s PostgreSQL variant (dropped with the app).
    pub db: TestDb,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
    pub config: Config,
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

/// Starts the app with a changed configuration.
pub async fn spawn_with(change: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("test.rupturelab")).await;
    let store: Arc<dyn Store> = Arc::from(db.open().await.unwrap());
    store.create_study(&example("rupture-study")).await.unwrap();
    store
        .create_study(&example("ornek-calisma-tr"))
        .await
        .unwrap();
    accounts::create_user(store.as_ref(), RESEARCHER.0, Role::Researcher, RESEARCHER.1)
        .await
        .unwrap();
    accounts::create_user(store.as_ref(), CODER.0, Role::Coder, CODER.1)
        .await
        .unwrap();
    let mut config = Config::new("127.0.0.1:0".parse().unwrap());
    change(&mut config);
    let mut app = TestApp {
        addr: config.bind,
        store,
        dir,
        db,
        shutdown: None,
        handle: None,
        config,
    };
    app.start().await;
    app
}

impl TestApp {
    async fn start(&mut self) {
        let app = Application::build(self.store.clone(), self.config.clone())
            .await
            .unwrap();
        self.addr = app.local_addr();
        let (tx, rx) = oneshot::channel();
        self.shutdown = Some(tx);
        self.handle = Some(tokio::spawn(async move {
            app.run_until(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        }));
    }

    /// Stops the server gracefully (closing the database) and starts a new
    /// process-like instance on the same port and database file.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.store = Arc::from(self.db.open().await.unwrap());
        self.config.bind = self.addr;
        self.start().await;
    }

    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.unwrap();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A fresh browser-like client: its own cookie jar, no redirects followed.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    pub async fn get(&self, c: &reqwest::Client, path: &str) -> reqwest::Response {
        c.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_text(&self, c: &reqwest::Client, path: &str) -> (u16, String) {
        let r = self.get(c, path).await;
        let s = r.status().as_u16();
        (s, r.text().await.unwrap())
    }

    /// GETs a page and returns the CSRF token in its forms.
    pub async fn csrf(&self, c: &reqwest::Client, path: &str) -> String {
        let (_, body) = self.get_text(c, path).await;
        csrf_in(&body).unwrap_or_else(|| panic!("no csrf field on {path}"))
    }

    pub async fn post_form(
        &self,
        c: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        c.post(self.url(path)).form(form).send().await.unwrap()
    }

    /// Signs a client in; panics unless it works.
    pub async fn login(&self, c: &reqwest::Client, who: (&str, &str)) {
        let csrf = self.csrf(c, "/login").await;
        let r = self
            .post_form(
                c,
                "/login",
                &[("csrf", &csrf), ("username", who.0), ("password", who.1)],
            )
            .await;
        assert_eq!(r.status().as_u16(), 303, "login of {} failed", who.0);
    }

    /// A signed-in researcher client.
    pub async fn researcher(&self) -> reqwest::Client {
        let c = self.client();
        self.login(&c, RESEARCHER).await;
        c
    }

    /// Adds participants to the study through the console and returns their
    /// invitation tokens (code, token).
    pub async fn invite(&self, study: &str, codes: &[&str]) -> Vec<(String, String)> {
        let c = self.researcher().await;
        let path = format!("/studies/{study}/participants");
        let csrf = self.csrf(&c, &path).await;
        let list = codes.join("\n");
        let r = self
            .post_form(
                &c,
                &path,
                &[("csrf", &csrf), ("list", &list), ("invite", "1")],
            )
            .await;
        assert_eq!(r.status().as_u16(), 200);
        let body = r.text().await.unwrap();
        let links = links_in(&body);
        assert_eq!(links.len(), codes.len(), "{body}");
        codes
            .iter()
            .zip(links)
            .map(|(c, l)| (c.to_string(), l.rsplit('/').next().unwrap().to_string()))
            .collect()
    }
}

/// The CSRF token of the first form in a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let i = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(html[i..i + 32].to_string())
}

/// The invitation links shown on a page.
pub fn links_in(html: &str) -> Vec<String> {
    html.split("<code class=\"invite-link\">")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_string())
        .collect()
}

/// The value of the `Location` header.
pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// A signed-in client and its session's CSRF token (for the X-CSRF-Token
/// header), read from the coding screen.
pub async fn signed_in(app: &TestApp, who: (&str, &str)) -> (reqwest::Client, String) {
    signed_in_on(app, who, "/coding").await
}

/// [`signed_in`], reading the CSRF token from the page `page`.
pub async fn signed_in_on(
    app: &TestApp,
    who: (&str, &str),
    page: &str,
) -> (reqwest::Client, String) {
    let c = app.client();
    app.login(&c, who).await;
    let csrf = app.csrf(&c, page).await;
    (c, csrf)
}

/// A JSON API call: the status and the body (`Null` if it is not JSON).
/// An empty `csrf` sends no X-CSRF-Token header.
pub async fn call(
    app: &TestApp,
    c: &reqwest::Client,
    csrf: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut rb = c.request(m, app.url(path));
    if !csrf.is_empty() {
        rb = rb.header("x-csrf-token", csrf);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    let s = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        s,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}
