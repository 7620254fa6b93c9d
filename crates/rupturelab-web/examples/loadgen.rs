//! Load generator for the web benchmark (issue 5): N simulated participants
//! on a running `rupturelab serve`, each autosaving an answer every second
//! and loading a page every few seconds, for a bounded time. Prints
//! throughput and latency percentiles per request kind, and the server's
//! RSS when given its pid. Only talks to the address it is given (loopback
//! in `bench/web-load.sh`).
//!
//! cargo run --release -p rupturelab-web --example loadgen -- \
//!     http://127.0.0.1:8080 USER PASSWORD [--participants 50] [--seconds 30] [--pid PID]

#[path = "common/stats.rs"]
mod stats;
use stats::pct;

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

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

fn rss_kib(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[derive(Default)]
struct Samples {
    autosave: Vec<f64>,
    page: Vec<f64>,
    errors: u64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!(
            "usage: loadgen BASE_URL USER PASSWORD [--participants N] [--seconds S] [--pid PID]"
        );
        std::process::exit(2);
    }
    let (base, user, password) = (args[1].clone(), args[2].clone(), args[3].clone());
    let n: usize = arg(&args, "--participants", 50);
    let seconds: u64 = arg(&args, "--seconds", 30).min(600);
    let pid: u32 = arg(&args, "--pid", 0);
    let study = "rupture-study";

    // A researcher invites N fresh participants through the API.
    let r = client();
    let login = r
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let resp = r
        .post(format!("{base}/login"))
        .form(&[
            ("csrf", csrf_in(&login).as_str()),
            ("username", &user),
            ("password", &password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303, "login failed");
    let page = r
        .get(format!("{base}/studies"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&page);
    let tag = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let list: Vec<String> = (0..n).map(|i| format!("L{tag}-{i:03}")).collect();
    let links: serde_json::Value = r
        .post(format!("{base}/api/v1/studies/{study}/participants"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"list": list.join("\n"), "invite": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tokens: Vec<String> = links
        .as_array()
        .expect("links")
        .iter()
        .map(|l| {
            l["link"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();

    // Each participant consents and gives demographics, then the measured phase.
    let samples = std::sync::Arc::new(Mutex::new(Samples::default()));
    let start_at = Instant::now() + Duration::from_secs(2);
    let mut tasks = Vec::new();
    for (i, token) in tokens.into_iter().enumerate() {
        let base = base.clone();
        let samples = samples.clone();
        tasks.push(tokio::spawn(async move {
            let c = client();
            let p = format!("{base}/p/{token}");
            let welcome = c.get(format!("{p}/welcome")).send().await.unwrap().text().await.unwrap();
            let csrf = csrf_in(&welcome);
            c.post(format!("{p}/consent")).form(&[("csrf", csrf.as_str()), ("decision", "accept")]).send().await.unwrap();
            c.post(format!("{p}/about"))
                .form(&[("csrf", csrf.as_str()), ("a_orientation", "CBT"), ("a_experience_years", "6"), ("nav", "next")])
                .send()
                .await
                .unwrap();
            tokio::time::sleep_until(tokio::time::Instant::from_std(start_at + Duration::from_millis((i as u64 * 997) % 1000))).await;
            let end = start_at + Duration::from_secs(seconds);
            let segments = ["S1", "S2", "S3", "S4", "S5", "S6"];
            let mut text = String::new();
            let mut tick = 0u64;
            let mut local = Samples::default();
            while Instant::now() < end {
                tick += 1;
                let seg = segments[((tick / 20) as usize) % 6];
                text.push_str("Danışan geri çekiliyor; terapist gündemi zorluyor. ");
                if text.len() > 2000 {
                    text.clear();
                }
                let t0 = Instant::now();
                let ok = c
                    .put(format!("{base}/api/v1/p/{token}/answers"))
                    .header("x-csrf-token", &csrf)
                    .json(&serde_json::json!({"answers": [{"segment": seg, "question": "Q1", "text": text}]}))
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false);
                local.autosave.push(t0.elapsed().as_secs_f64() * 1000.0);
                local.errors += u64::from(!ok);
                if tick.is_multiple_of(5) {
                    let n = 1 + (tick / 20) % 6;
                    let t0 = Instant::now();
                    let ok = match c.get(format!("{p}/s/{n}")).send().await {
                        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    local.page.push(t0.elapsed().as_secs_f64() * 1000.0);
                    local.errors += u64::from(!ok);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            let mut s = samples.lock().await;
            s.autosave.extend(local.autosave);
            s.page.extend(local.page);
            s.errors += local.errors;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut s = samples.lock().await;
    s.autosave.sort_by(f64::total_cmp);
    s.page.sort_by(f64::total_cmp);
    println!("participants {n}, measured for {seconds} s");
    for (name, v) in [("autosave", &s.autosave), ("page load", &s.page)] {
        println!(
            "{name:<10} {:>6} requests  {:>6.1}/s  p50 {:>6.2} ms  p90 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms",
            v.len(),
            v.len() as f64 / seconds as f64,
            pct(v, 50.0),
            pct(v, 90.0),
            pct(v, 99.0),
            v.last().copied().unwrap_or(f64::NAN)
        );
    }
    println!("errors     {}", s.errors);
    if pid != 0 {
        println!(
            "server RSS {} MiB now, peak {} MiB",
            rss_kib(pid, "VmRSS:").unwrap_or(0) / 1024,
            rss_kib(pid, "VmHWM:").unwrap_or(0) / 1024
        );
    }
}
