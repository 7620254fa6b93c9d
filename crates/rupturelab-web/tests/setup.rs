//! First start: the one-time setup link creates the first researcher
//! account, signs them in, and then stops working.

mod common;

use std::sync::Arc;

use common::csrf_in;
use rupturelab_store::db_test;
use rupturelab_store::testing::TestDb;
use rupturelab_store::{Role, Store};
use rupturelab_web::{Application, Config};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

db_test! {
#[tokio::test]
async fn the_setup_link_creates_the_first_researcher_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("t.rupturelab")).await;
    let store: Arc<dyn Store> = Arc::from(db.open().await.unwrap());
    let app = Application::build(store.clone(), Config::new("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let path = app.setup_path().expect("no researcher: a setup link");
    assert!(path.starts_with("/setup/") && path.len() > 30, "{path}");
    let base = format!("http://{}", app.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    let url = |p: &str| format!("{base}{p}");
    let c = client();

    // A wrong token is an ordinary 404.
    let r = c
        .get(url("/setup/0123456789abcdef0123456789abcdef"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    // The right one shows the form.
    let body = c
        .get(url(&path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("Create the first researcher account"),
        "{body}"
    );
    let csrf = csrf_in(&body).unwrap();
    // Without the CSRF token nothing happens.
    let r = c
        .post(url(&path))
        .form(&[
            ("username", "lead"),
            ("password", "a-long-password"),
            ("again", "a-long-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // Two different passwords, then a short one: a clear message, the link still works.
    let r = c
        .post(url(&path))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "lead"),
            ("password", "a-long-password"),
            ("again", "another-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("The two passwords differ"));
    let r = c
        .post(url(&path))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "lead"),
            ("password", "short"),
            ("again", "short"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("The password is too short"), "{body}");
    assert!(body.contains("value=\"lead\""), "the name is kept: {body}");
    assert_eq!(store.count_users(Role::Researcher).await.unwrap(), 0);
    // A good form creates the account and signs in.
    let r = c
        .post(url(&path))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "lead"),
            ("password", "a-long-password"),
            ("again", "a-long-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/studies");
    let r = c.get(url("/studies")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "signed in");
    let u = store.user_by_name("lead").await.unwrap().unwrap();
    assert_eq!(u.role, Role::Researcher);
    assert!(u.password_hash.starts_with("$argon2id$"));
    // The link is spent, for everyone.
    for c in [&c, &client()] {
        let r = c.get(url(&path)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 404);
    }
    let _ = tx.send(());
    server.await.unwrap().unwrap();

    // A server started on a database with a researcher makes no link.
    let store: Arc<dyn Store> = Arc::from(db.open().await.unwrap());
    let app = Application::build(store, Config::new("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(app.setup_path(), None);
}
}
