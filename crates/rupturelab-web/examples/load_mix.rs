//! Load benchmark of issue 8 (`bench/load.sh` runs it): N participants
//! autosaving once a second (and loading a page every fifth second) plus C
//! coders coding at once through the coding API (open a response, add a
//! coding, change its memo, remove it — one step a second each), against a
//! running `rupturelab serve`. Prints a Markdown table of throughput and
//! p50/p99 latency per route, errors, and the server's RSS (sampled every
//! second when given its pid). Talks only to the address it is given.
//!
//! cargo run --release -p rupturelab-web --example load_mix -- BASE_URL RESEARCHER PASSWORD \
//!     [--participants 200] [--coders 10] [--coder-prefix coder] [--coder-password P]
//!     [--seconds 30] [--pid PID]

#[path = "common/stats.rs"]
mod stats;
use stats::pct;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
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
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// Latencies (ms) and errors per route.
#[derive(Default)]
struct Stats {
    ms: BTreeMap<&'static str, Vec<f64>>,
    errors: BTreeMap<&'static str, u64>,
}

impl Stats {
    fn add(&mut self, route: &'static str, t0: Instant, ok: bool) {
        self.ms
            .entry(route)
            .or_default()
            .push(t0.elapsed().as_secs_f64() * 1000.0);
        if !ok {
            *self.errors.entry(route).or_default() += 1;
        }
    }
    fn merge(&mut self, other: Stats) {
        for (k, v) in other.ms {
            self.ms.entry(k).or_default().extend(v);
        }
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
    }
}

async fn login(
    base: &str,
    user: &str,
    password: &str,
    csrf_page: &str,
) -> (reqwest::Client, String) {
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
    assert_eq!(r.status().as_u16(), 303, "login of {user} failed");
    let page = c
        .get(format!("{base}{csrf_page}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (c, csrf_in(&page))
}

/// Whether the answer is a success, its body read completely.
async fn ok(r: Result<reqwest::Response, reqwest::Error>) -> (bool, Value) {
    match r {
        Ok(r) => {
            let s = r.status().is_success();
            let v = r.json::<Value>().await.unwrap_or(Value::Null);
            (s, v)
        }
        Err(_) => (false, Value::Null),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: load_mix BASE_URL RESEARCHER PASSWORD [--participants N] [--coders C] [--coder-prefix P] [--coder-password PW] [--seconds S] [--pid PID]");
        std::process::exit(2);
    }
    let (base, user, password) = (args[1].clone(), args[2].clone(), args[3].clone());
    let n: usize = arg(&args, "--participants", 200);
    let coders: usize = arg(&args, "--coders", 10);
    let prefix: String = arg(&args, "--coder-prefix", "coder".to_string());
    let coder_pw: String = arg(&args, "--coder-password", "coder-password-1".to_string());
    let seconds: u64 = arg(&args, "--seconds", 30).min(600);
    let pid: u32 = arg(&args, "--pid", 0);
    let study = "rupture-study";

    // A researcher invites N fresh participants through the API.
    let (r, csrf) = login(&base, &user, &password, "/studies").await;
    let tag = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let list: Vec<String> = (0..n).map(|i| format!("M{tag}-{i:03}")).collect();
    let links: Value = r
        .post(format!("{base}/api/v1/studies/{study}/participants"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"list": list.join("\n"), "invite": true}))
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
    let queue: Value = r
        .get(format!("{base}/api/v1/studies/{study}/coding/queue"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<i64> = queue["items"]
        .as_array()
        .expect("a coding queue")
        .iter()
        .filter_map(|i| i["id"].as_i64())
        .collect();
    assert!(!ids.is_empty(), "nothing to code");

    let stats = Arc::new(Mutex::new(Stats::default()));
    let start_at = Instant::now() + Duration::from_secs(3);
    let end = start_at + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for (i, token) in tokens.into_iter().enumerate() {
        let (base, stats) = (base.clone(), stats.clone());
        tasks.push(tokio::spawn(async move {
            let c = client();
            let p = format!("{base}/p/{token}");
            let welcome = c
                .get(format!("{p}/welcome"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let csrf = csrf_in(&welcome);
            c.post(format!("{p}/consent"))
                .form(&[("csrf", csrf.as_str()), ("decision", "accept")])
                .send()
                .await
                .unwrap();
            let offset = Duration::from_millis((i as u64 * 997) % 1000);
            tokio::time::sleep_until((start_at + offset).into()).await;
            let segments = ["S1", "S2", "S3", "S4", "S5", "S6"];
            let (mut text, mut tick, mut local) = (String::new(), 0u64, Stats::default());
            let mut next = start_at + offset;
            while Instant::now() < end {
                tick += 1;
                let seg = segments[((tick / 20) as usize) % 6];
                text.push_str("Danışan geri çekiliyor; terapist gündemi zorluyor. ");
                if text.len() > 2000 {
                    text.clear();
                }
                let t0 = Instant::now();
                let (good, _) = ok(c
                    .put(format!("{base}/api/v1/p/{token}/answers"))
                    .header("x-csrf-token", &csrf)
                    .json(&json!({"answers": [{"segment": seg, "question": "Q1", "text": text}]}))
                    .send()
                    .await)
                .await;
                local.add("PUT /api/v1/p/{token}/answers", t0, good);
                if tick.is_multiple_of(5) {
                    let n = 1 + (tick / 20) % 6;
                    let t0 = Instant::now();
                    let good = match c.get(format!("{p}/s/{n}")).send().await {
                        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    local.add("GET /p/{token}/s/{n}", t0, good);
                }
                next += Duration::from_secs(1);
                tokio::time::sleep_until(next.into()).await;
            }
            stats.lock().await.merge(local);
        }));
    }
    for k in 0..coders {
        let (base, stats, ids) = (base.clone(), stats.clone(), ids.clone());
        let name = format!("{prefix}{:02}", k + 1);
        let pw = coder_pw.clone();
        tasks.push(tokio::spawn(async move {
            let (c, csrf) = login(&base, &name, &pw, "/coding").await;
            let api = format!("{base}/api/v1/studies/rupture-study/coding");
            let offset = Duration::from_millis((k as u64 * 331) % 1000);
            let mut next = start_at + offset;
            tokio::time::sleep_until(next.into()).await;
            let (mut local, mut step, mut current): (Stats, usize, Option<(i64, i64)>) =
                (Stats::default(), 0, None);
            let codes = [
                "Cause/Patient/Resistance",
                "Cause/Patient/Expectations",
                "Cause/Patient/Pathology",
            ];
            while Instant::now() < end {
                let id = ids[(k * 7 + step / 4) % ids.len()];
                let t0 = Instant::now();
                match step % 4 {
                    0 => {
                        let (good, _) =
                            ok(c.get(format!("{api}/responses/{id}")).send().await).await;
                        local.add("GET coding/responses/{id}", t0, good);
                    }
                    1 => {
                        let code = codes[(k + step) % codes.len()];
                        let (good, v) = ok(c
                            .post(format!("{api}/responses/{id}/codings"))
                            .header("x-csrf-token", &csrf)
                            .json(&json!({"code": code, "memo": "load"}))
                            .send()
                            .await)
                        .await;
                        // 409 (this coder applied it already) counts as answered, not failed.
                        current = v["id"].as_i64().zip(v["version"].as_i64());
                        local.add(
                            "POST coding/responses/{id}/codings",
                            t0,
                            good || v["status"] == 409,
                        );
                    }
                    2 => {
                        if let Some((cid, version)) = current {
                            let (good, v) = ok(c
                                .patch(format!("{api}/codings/{cid}"))
                                .header("x-csrf-token", &csrf)
                                .json(&json!({"version": version, "memo": format!("step {step}")}))
                                .send()
                                .await)
                            .await;
                            current = v["version"].as_i64().map(|v| (cid, v));
                            local.add("PATCH coding/codings/{cid}", t0, good);
                        }
                    }
                    _ => {
                        if let Some((cid, version)) = current.take() {
                            let (good, _) = ok(c
                                .delete(format!("{api}/codings/{cid}?version={version}"))
                                .header("x-csrf-token", &csrf)
                                .send()
                                .await)
                            .await;
                            local.add("DELETE coding/codings/{cid}", t0, good);
                        }
                    }
                }
                step += 1;
                next += Duration::from_secs(1);
                tokio::time::sleep_until(next.into()).await;
            }
            stats.lock().await.merge(local);
        }));
    }
    // RSS, sampled every second while the load runs.
    let sampler = tokio::spawn(async move {
        let mut peak = 0;
        while pid != 0 && Instant::now() < end {
            peak = peak.max(rss_kib(pid, "VmRSS:"));
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        peak
    });
    for t in tasks {
        t.await.unwrap();
    }
    let peak = sampler.await.unwrap();
    let mut s = stats.lock().await;
    println!("{n} participants + {coders} coders, measured for {seconds} s\n");
    println!("| route | requests | per s | p50 ms | p99 ms | max ms | errors |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut all = Vec::new();
    let errors = s.errors.clone();
    for (route, v) in s.ms.iter_mut() {
        v.sort_by(f64::total_cmp);
        all.extend_from_slice(v);
        println!(
            "| {route} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {} |",
            v.len(),
            v.len() as f64 / seconds as f64,
            pct(v, 50.0),
            pct(v, 99.0),
            v.last().copied().unwrap_or(f64::NAN),
            errors.get(route).copied().unwrap_or(0)
        );
    }
    all.sort_by(f64::total_cmp);
    println!(
        "| **all** | {} | {:.1} | {:.2} | {:.2} | {:.2} | {} |",
        all.len(),
        all.len() as f64 / seconds as f64,
        pct(&all, 50.0),
        pct(&all, 99.0),
        all.last().copied().unwrap_or(f64::NAN),
        errors.values().sum::<u64>()
    );
    if pid != 0 {
        println!(
            "\nserver RSS: peak while loaded {} MiB (VmHWM {} MiB), now {} MiB",
            peak / 1024,
            rss_kib(pid, "VmHWM:") / 1024,
            rss_kib(pid, "VmRSS:") / 1024
        );
    }
}
