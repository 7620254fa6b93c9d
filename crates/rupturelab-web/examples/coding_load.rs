//! Write-path load client for `bench/coding_vs_taguette.py` (issue 6): K
//! coder accounts sign in (each its own session and CSRF token), then
//! create N distinct span codings between them, all at once, through
//! `POST /api/v1/studies/{study}/coding/responses/{id}/codings`. Prints one
//! JSON line: wall time, writes/s, latency median/p90/p99 (ms), errors.
//! A Rust client costs far less CPU per request than the Python one, so on a
//! small machine it measures the server rather than the clients.
//!
//! cargo run --release -p rupturelab-web --example coding_load -- \
//!     http://127.0.0.1:8080 PASSWORD USER1,USER2,… [--codings 2000] [--offset 2]

#[path = "common/stats.rs"]
mod stats;
use stats::pct;

use std::time::Instant;

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn csrf_in(html: &str) -> String {
    let i = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[i..i + 32].to_string()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn login(base: &str, user: &str, password: &str) -> (reqwest::Client, String) {
    let c = client();
    let page = c
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = c
        .post(format!("{base}/login"))
        .form(&[
            ("csrf", csrf_in(&page).as_str()),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "login of {user}");
    let page = c
        .get(format!("{base}/coding"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&page);
    (c, csrf)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: coding_load BASE_URL PASSWORD USER1,USER2,… [--codings N] [--offset K]");
        std::process::exit(2);
    }
    let (base, password) = (args[1].clone(), args[2].clone());
    let users: Vec<String> = args[3].split(',').map(str::to_string).collect();
    let n: usize = arg(&args, "--codings", 2000);
    let offset: usize = arg(&args, "--offset", 2);
    let api = format!("{base}/api/v1/studies/rupture-study/coding");

    // The jobs: distinct (response, code, span) triples, as the Python client makes them.
    let (c, _) = login(&base, &users[0], &password).await;
    let queue: serde_json::Value = c
        .get(format!("{api}/queue"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items: Vec<i64> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    let first: serde_json::Value = c
        .get(format!("{api}/responses/{}", items[0]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let codes: Vec<String> = first["codebook"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["codable"] == true)
        .map(|k| k["path"].as_str().unwrap().to_string())
        .collect();
    let jobs: Vec<(i64, String, usize, usize)> = (0..n)
        .map(|i| {
            let item = items[i % items.len()];
            let k = i / items.len();
            let code = codes[(k + offset) % codes.len()].clone();
            let start = (k / codes.len()) % 20;
            (item, code, start, start + 5 + offset)
        })
        .collect();

    let mut sessions = Vec::new();
    for u in &users {
        sessions.push(login(&base, u, &password).await);
    }
    let k = sessions.len();
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for (w, (c, csrf)) in sessions.into_iter().enumerate() {
        let mine: Vec<_> = jobs.iter().skip(w).step_by(k).cloned().collect();
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(mine.len());
            let mut errors = 0u64;
            for (rid, code, a, b) in mine {
                let t = Instant::now();
                let r = c
                    .post(format!("{api}/responses/{rid}/codings"))
                    .header("x-csrf-token", &csrf)
                    .json(&serde_json::json!({"code": code, "start": a, "end": b}))
                    .send()
                    .await;
                let ok = match r {
                    Ok(r) => {
                        let s = r.status().as_u16();
                        let _ = r.bytes().await;
                        s == 201
                    }
                    Err(_) => false,
                };
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                if !ok {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        lat.extend(l);
        errors += e;
    }
    let wall = t0.elapsed().as_secs_f64();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "{}",
        serde_json::json!({
            "clients": k,
            "codings": n,
            "wall_s": wall,
            "writes_per_s": n as f64 / wall,
            "median_ms": pct(&lat, 50.0),
            "p90_ms": pct(&lat, 90.0),
            "p99_ms": pct(&lat, 99.0),
            "errors": errors,
        })
    );
}
