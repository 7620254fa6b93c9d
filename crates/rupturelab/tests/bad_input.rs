//! Bad input at scale (issue 8), against a real `rupturelab serve`: a 50 MB
//! answer (declared and streamed), 10,000 fields in a form and 10,000
//! answers in one autosave, malformed JSON, invalid UTF-8 (JSON, form, path),
//! and slowloris-style clients trickling headers or a body. Each gets a
//! clear 4xx (with a message) or is timed out and disconnected — never a
//! 5xx — while another participant keeps autosaving quickly the whole time.

mod harness;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harness::*;
use rupturelab_store::db_test;
use rupturelab_store::testing::TestDb;
use serde_json::{json, Value};

/// The server's limits (crates/rupturelab-web/src/limits.rs), plus slack.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
const BODY_TIMEOUT: Duration = Duration::from_secs(15);
const SLACK: Duration = Duration::from_secs(5);
/// How fast the bystander's requests must stay (a debug build on a busy 2-core machine).
const FAST: Duration = Duration::from_secs(2);

/// Sends `head` (and `body`) on a raw connection and reads the whole answer.
fn raw(port: u16, head: &str, body: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn status_of(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// A slowloris client: sends a request line and then one header byte every
/// 500 ms, never finishing; returns how long until the server hung up.
fn slow_headers(port: u16) -> Duration {
    let start = Instant::now();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .unwrap();
    let mut buf = [0u8; 256];
    loop {
        if start.elapsed() > HEADER_TIMEOUT + SLACK * 2 {
            return start.elapsed();
        }
        if s.write_all(b"a").is_err() {
            return start.elapsed();
        }
        match s.read(&mut buf) {
            Ok(0) => return start.elapsed(),
            Ok(_) => return start.elapsed(), // an error status, then the close
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return start.elapsed(),
        }
    }
}

/// A client that sends complete headers and then trickles the body; returns
/// the answer and how long it took.
fn slow_body(port: u16, token: &str, csrf: &str, cookie: &str) -> (String, Duration) {
    let start = Instant::now();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    write!(
        s,
        "PUT /api/v1/p/{token}/answers HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         X-CSRF-Token: {csrf}\r\nCookie: {cookie}\r\nContent-Length: 1000\r\n\r\n{{\"answers\": ["
    )
    .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while start.elapsed() < BODY_TIMEOUT + SLACK * 2 {
        let _ = s.write_all(b" ");
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
        if !out.is_empty() && out.windows(4).any(|w| w == b"\r\n\r\n") {
            // Read the rest of the (short) answer.
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let _ = s.read_to_end(&mut out);
            break;
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), start.elapsed())
}

/// A 50 MB body streamed without a declared length (chunked), 64 KiB at a
/// time, while another thread reads the answer.
fn streamed_50mb(port: u16, token: &str, csrf: &str, cookie: &str) -> (String, usize) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut reader = s.try_clone().unwrap();
    reader
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::new(AtomicBool::new(false));
    let (g, d) = (got.clone(), done.clone());
    let t = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            g.lock().unwrap().extend_from_slice(&buf[..n]);
            d.store(true, Ordering::Relaxed);
        }
        d.store(true, Ordering::Relaxed);
    });
    write!(
        s,
        "PUT /api/v1/p/{token}/answers HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         X-CSRF-Token: {csrf}\r\nCookie: {cookie}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0;
    while sent < 50 * 1024 * 1024 && !done.load(Ordering::Relaxed) {
        let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
        if s.write_all(&frame).is_err() {
            break;
        }
        sent += chunk.len();
    }
    t.join().unwrap();
    let out = String::from_utf8_lossy(&got.lock().unwrap()).into_owned();
    (out, sent)
}

db_test! {
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_gets_a_clear_4xx_or_a_timeout_and_everyone_else_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("bad.rupturelab")).await;
    prepare(&db.location, &[]);
    let server = Server::start(&db.location, 0, dir.path()).await;
    let base = server.base();
    let port = server.port;
    let researcher = login(&base, RESEARCHER).await;
    let tokens = invite(&base, &researcher, &["B1".into(), "B2".into()]).await;
    // B1 sends the bad input, over raw sockets too: its session cookie and token.
    participant(&base, &tokens[0].1).await;
    let t1 = tokens[0].1.clone();
    let (cookie, csrf1) = session_cookie(&base, &t1).await;

    // The bystander: another participant autosaving every 100 ms throughout.
    let (p2, csrf2) = participant(&base, &tokens[1].1).await;
    let t2 = tokens[1].1.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let bystander = {
        let (stop, base) = (stop.clone(), base.clone());
        tokio::spawn(async move {
            let (mut n, mut worst) = (0u32, Duration::ZERO);
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let start = Instant::now();
                let r = p2
                    .put(format!("{base}/api/v1/p/{t2}/answers"))
                    .header("x-csrf-token", &csrf2)
                    .json(&json!({"answers": [{"segment": "S1", "question": "Q1", "text": format!("still here {n}")}]}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 200, "the bystander's autosave {n}");
                worst = worst.max(start.elapsed());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (n, worst)
        })
    };

    // Slowloris: 40 connections trickling headers, and one trickling a body.
    let mut slow = vec![];
    for _ in 0..40 {
        slow.push(tokio::task::spawn_blocking(move || slow_headers(port)));
    }
    let slow_put = {
        let (t, c, k) = (t1.clone(), csrf1.clone(), cookie.clone());
        tokio::task::spawn_blocking(move || slow_body(port, &t, &c, &k))
    };

    let answers = format!("{base}/api/v1/p/{t1}/answers");
    let c = client();
    let put_raw = |body: Vec<u8>| {
        c.put(&answers)
            .header("x-csrf-token", &csrf1)
            .header("cookie", &cookie)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let clear = |what: &str, status: u16, body: &str, want: u16, words: &str| {
        assert_eq!(status, want, "{what}: {body}");
        let v: Value = serde_json::from_str(body).unwrap_or(Value::String(body.into()));
        let msg = v["error"].as_str().map(str::to_string).unwrap_or_else(|| body.to_string());
        assert!(msg.contains(words), "{what}: the message should say `{words}`: {body}");
    };

    // A 50 MB answer with its length declared: refused before it is sent.
    let head = format!(
        "PUT /api/v1/p/{t1}/answers HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         X-CSRF-Token: {csrf1}\r\nCookie: {cookie}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        50 * 1024 * 1024
    );
    let r = tokio::task::spawn_blocking(move || raw(port, &head, b"")).await.unwrap();
    let body = r.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    clear("50 MB declared", status_of(&r), body, 413, "too large");
    // The same streamed in chunks: cut off after the limit, answered 413.
    let (t, k, s) = (t1.clone(), cookie.clone(), csrf1.clone());
    let (r, sent) = tokio::task::spawn_blocking(move || streamed_50mb(port, &t, &s, &k)).await.unwrap();
    assert!(sent < 50 * 1024 * 1024, "the server read all 50 MB");
    if !r.is_empty() {
        assert_eq!(status_of(&r), 413, "50 MB streamed: {r}");
    }
    // The same through an HTTP client that sends it all (a JSON string of 50 MB).
    let big = format!(
        "{{\"answers\": [{{\"segment\": \"S1\", \"question\": \"Q1\", \"text\": \"{}\"}}]}}",
        "a".repeat(50 * 1024 * 1024)
    );
    match put_raw(big.into_bytes()).await {
        Ok(r) => {
            let s = r.status().as_u16();
            clear("50 MB via client", s, &r.text().await.unwrap_or_default(), 413, "too large");
        }
        // The server may answer and close while the client is still sending.
        Err(e) => assert!(!e.is_timeout(), "50 MB via client timed out: {e}"),
    }

    // 10,000 answers in one autosave; 10,000 fields in a form.
    let many: Vec<Value> = (0..10_000)
        .map(|i| json!({"segment": "S1", "question": "Q1", "text": format!("a{i}")}))
        .collect();
    let r = put_raw(serde_json::to_vec(&json!({"answers": many})).unwrap()).await.unwrap();
    let s = r.status().as_u16();
    clear("10,000 answers", s, &r.text().await.unwrap(), 400, "at most 200 answers");
    let mut form = vec![("csrf".to_string(), csrf1.clone())];
    form.extend((0..10_000).map(|i| (format!("f{i}"), "x".to_string())));
    let r = c
        .post(format!("{base}/p/{t1}/s/1"))
        .header("cookie", &cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    clear("10,000 form fields", s, &r.text().await.unwrap(), 413, "10001 fields");

    // Malformed JSON, the wrong shape, invalid UTF-8 inside JSON.
    for (what, body, want, words) in [
        ("truncated JSON", b"{\"answers\": [{\"segment\": \"S1\",".to_vec(), 400, "JSON"),
        ("not JSON at all", b"<xml/>".to_vec(), 400, "JSON"),
        ("wrong shape", b"{\"answers\": \"all of them\"}".to_vec(), 422, "answers"),
        (
            "invalid UTF-8",
            b"{\"answers\": [{\"segment\": \"S1\", \"question\": \"Q1\", \"text\": \"\xff\xfe\xc3\"}]}".to_vec(),
            400,
            "JSON",
        ),
    ] {
        let r = put_raw(body).await.unwrap();
        let s = r.status().as_u16();
        clear(what, s, &r.text().await.unwrap(), want, words);
    }
    // Invalid UTF-8 in a form (raw and percent-encoded) and in a path: no 5xx,
    // and whatever is stored is valid text.
    for body in [
        format!("csrf={csrf1}&Q1=%FF%FE%C3").into_bytes(),
        [format!("csrf={csrf1}&Q1=").as_bytes(), b"\xff\xfe\xc3"].concat(),
    ] {
        let r = c
            .post(format!("{base}/p/{t1}/s/1"))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        assert!((300..500).contains(&s), "invalid UTF-8 in a form: {s}");
    }
    let r = c.get(format!("{base}/p/%FF%FE%C3/welcome")).send().await.unwrap();
    assert!(r.status().is_client_error(), "invalid UTF-8 in a path: {}", r.status());
    let r = c.get(format!("{base}/api/v1/p/%FF%FE")).send().await.unwrap();
    assert!(r.status().is_client_error(), "invalid UTF-8 in an API path: {}", r.status());

    // The slow clients were cut off in time.
    for h in slow {
        let took = h.await.unwrap();
        assert!(
            took <= HEADER_TIMEOUT + SLACK,
            "a client trickling its headers was still connected after {took:?}"
        );
    }
    let (r, took) = slow_put.await.unwrap();
    assert!(took <= BODY_TIMEOUT + SLACK, "a client trickling its body took {took:?}: {r}");
    let body = r.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    clear("slow body", status_of(&r), body, 408, "did not arrive within");

    stop.store(true, Ordering::Relaxed);
    let (n, worst) = bystander.await.unwrap();
    println!("the bystander autosaved {n} times meanwhile, the slowest in {worst:?}");
    assert!(n >= 50, "the bystander got only {n} autosaves through");
    assert!(worst < FAST, "the bystander waited {worst:?} for an autosave");

    // Nothing of the refused requests was stored; the server log has no panic.
    let v: Value = client()
        .get(format!("{base}/api/v1/p/{t1}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for a in v["answers"].as_array().unwrap() {
        let text = a["answer"].as_str().unwrap_or_default();
        assert!(text.len() < 1024, "a refused answer was stored: {} bytes", text.len());
    }
    let log = server.log_text();
    assert!(!log.contains("panicked") && !log.contains(" 500 "), "{log}");
}
}

/// A fresh session for a consented participant's link (a new browser opening it):
/// `name=value` of its cookie and the page's CSRF token.
async fn session_cookie(base: &str, token: &str) -> (String, String) {
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // (After consent the welcome page redirects; the first segment's page has a form.)
    let r = c.get(format!("{base}/p/{token}/s/1")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("rupturelab_session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = r.text().await.unwrap();
    (
        cookie,
        csrf_in(&page).expect("a CSRF token on the welcome page"),
    )
}
