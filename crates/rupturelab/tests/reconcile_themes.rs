//! Reconciling through the web API changes what `rupturelab themes` reports:
//! the web application runs in-process on a database the binary imported,
//! a researcher (API token) saves a consensus for one response, and the
//! binary, run again on the same file, counts it in the consensus layer.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::Command;
use rupturelab_core::{CodePath, CONSENSUS};
use rupturelab_store::sqlite::SqliteStore;
use rupturelab_store::{Role, Store};
use rupturelab_web::{accounts, Application, Config};

fn rupturelab(db: &Path) -> Command {
    let mut c = Command::cargo_bin("rupturelab").unwrap();
    c.env_remove("RUPTURELAB_DB").arg("--db").arg(db);
    c
}

fn themes(db: &Path) -> serde_json::Value {
    let out = rupturelab(db)
        .args(["themes", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

/// One HTTP/1.1 request with a bearer token; returns (status, body).
fn request(addr: SocketAddr, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consensus_saved_through_the_web_api_appears_in_rupturelab_themes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.rupturelab");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/rupture-study");
    rupturelab(&db)
        .arg("import")
        .arg(&example)
        .assert()
        .success();
    let before = themes(&db);

    // The web application on the same file, a researcher with an API token.
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).await.unwrap());
    accounts::create_user(
        store.as_ref(),
        "ayse",
        Role::Researcher,
        "a-long-password-1",
    )
    .await
    .unwrap();
    let user = store.user_by_name("ayse").await.unwrap().unwrap();
    let token = accounts::create_api_token(store.as_ref(), user.id, "test")
        .await
        .unwrap();
    let app = Application::build(store.clone(), Config::new("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));

    // A disagreement of the two coders, and a theme its participant does not
    // have yet in the consensus of that segment.
    let t = token.clone();
    let (status, body) = tokio::task::spawn_blocking(move || {
        request(
            addr,
            "GET",
            "/api/v1/studies/rupture-study/disagreements",
            &t,
            "",
        )
    })
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    let info = rupturelab_store::find_study(store.as_ref(), None)
        .await
        .unwrap();
    let data = store.load_study(info.id).await.unwrap();
    let themes_of = |p: &str, s: &str| -> Vec<String> {
        data.codings
            .iter()
            .filter(|c| {
                c.coder.as_str() == CONSENSUS
                    && c.response.participant.as_str() == p
                    && c.response.segment.as_ref().map(|k| k.as_str()) == Some(s)
            })
            .filter_map(|c| c.code.ancestor(2).map(|a| a.to_string()))
            .collect()
    };
    let (item, theme, code) = list["disagreements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["segment"].is_string())
        .find_map(|i| {
            let (p, s) = (i["participant"].as_str()?, i["segment"].as_str()?);
            let have = themes_of(p, s);
            data.codes
                .iter()
                .filter(|c| c.path.depth() == 2 && !have.contains(&c.path.to_string()))
                .find_map(|t| {
                    let code: &CodePath = &data
                        .codes
                        .iter()
                        .find(|c| c.codable && c.path.depth() == 3 && c.path.is_within(&t.path))?
                        .path;
                    Some((i.clone(), t.path.to_string(), code.to_string()))
                })
        })
        .expect("a disagreement whose participant lacks a theme");
    // Keep the response's consensus and add the new code (whole response).
    let mut codings: Vec<serde_json::Value> = item["consensus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| serde_json::json!({"code": c["code"], "span": c["span"]}))
        .collect();
    codings.push(serde_json::json!({"code": code, "span": null}));
    let body = serde_json::json!({
        "participant": item["participant"], "segment": item["segment"], "question": item["question"],
        "mode": "codings", "codings": codings, "note": "agreed in the team meeting",
    })
    .to_string();
    let t = token.clone();
    let (status, resp) = tokio::task::spawn_blocking(move || {
        request(
            addr,
            "PUT",
            "/api/v1/studies/rupture-study/consensus",
            &t,
            &body,
        )
    })
    .await
    .unwrap();
    assert_eq!(status, 200, "{resp}");
    let _ = stop.send(());
    server.await.unwrap().unwrap();

    // The binary sees the new consensus.
    let after = themes(&db);
    let seg = item["segment"].as_str().unwrap();
    let count = |v: &serde_json::Value| {
        v["profile"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["segment"] == seg)
            .unwrap()[&theme]
            .as_i64()
            .unwrap_or(0)
    };
    assert_eq!(count(&after), count(&before) + 1, "{theme} in {seg}");
    // And the note travels with the study.
    let out = dir.path().join("out");
    rupturelab(&db)
        .arg("export-folder")
        .arg(&out)
        .assert()
        .success();
    let memos = std::fs::read_to_string(out.join("memos.csv")).unwrap();
    assert!(memos.contains("agreed in the team meeting"), "{memos}");
}
