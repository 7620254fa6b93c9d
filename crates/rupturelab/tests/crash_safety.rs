//! Crash safety (issue 8): 20 participants autosave continuously through
//! `PUT /api/v1/p/{token}/answers` while the `rupturelab serve` process is
//! killed with SIGKILL at seeded random moments and restarted, several
//! rounds; afterwards every autosave the server acknowledged (200) must be
//! stored — the stored version is at least the last acknowledged one and at
//! most the last one sent — and every stored answer must be intact (its
//! checksum matches). On SQLite and on PostgreSQL (`db_test!`).
//!
//! With PostgreSQL, a second test stops the database server itself (a
//! private cluster: `pg_ctl stop -m immediate`, i.e. a crash) under a
//! running server: while it is down requests fail with 503 and
//! `Retry-After` (never 500), the server reconnects by itself once it is
//! back, and nothing acknowledged is lost.

mod harness;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harness::*;
use rupturelab_store::db_test;
use rupturelab_store::testing::TestDb;
use serde_json::{json, Value};

const PARTICIPANTS: usize = 20;
/// The (segment, question) pairs every autosave writes.
const KEYS: [&str; 2] = ["S1", "S2"];

/// What one participant sent and what the server acknowledged.
#[derive(Default, Debug, Clone)]
struct Ledger {
    code: String,
    token: String,
    /// The last version sent (acknowledged or not).
    sent: u64,
    /// The last version acknowledged with 200 and a well-formed body.
    acked: u64,
    acks: u64,
    /// Non-200 statuses seen (with whether a Retry-After came along).
    statuses: Vec<(u16, bool)>,
    /// 200 responses whose body was not the expected JSON.
    bad_bodies: Vec<String>,
}

/// The answer text of version `n`: Turkish letters and emoji of varying
/// length, ending in a checksum of everything before it.
fn answer(code: &str, seg: &str, n: u64) -> String {
    let body = format!(
        "{code}|{seg}|{n}|{}",
        "İyi günler, ığdır 😀 ".repeat(1 + (n % 9) as usize)
    );
    format!("{body}|{:016x}", fnv(&body))
}

/// The version of an intact stored answer, or why it is not intact.
fn parse_answer(code: &str, seg: &str, text: &str) -> Result<u64, String> {
    let (body, sum) = text
        .rsplit_once('|')
        .ok_or_else(|| format!("no checksum in {text:?}"))?;
    if format!("{:016x}", fnv(body)) != sum {
        return Err(format!("checksum mismatch: {text:?}"));
    }
    let mut parts = body.splitn(4, '|');
    let (c, s, n) = (parts.next(), parts.next(), parts.next());
    if c != Some(code) || s != Some(seg) {
        return Err(format!(
            "answer of another participant or segment: {text:?}"
        ));
    }
    let n: u64 = n
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no version in {text:?}"))?;
    if answer(code, seg, n) != text {
        return Err(format!("altered answer: {text:?}"));
    }
    Ok(n)
}

/// One participant autosaving until `stop`, each request waiting at most `timeout`.
async fn autosave_loop(
    base: String,
    client: reqwest::Client,
    csrf: String,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
    timeout: Duration,
) {
    let (code, token) = {
        let l = ledger.lock().unwrap();
        (l.code.clone(), l.token.clone())
    };
    let url = format!("{base}/api/v1/p/{token}/answers");
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        ledger.lock().unwrap().sent = n;
        let answers: Vec<Value> = KEYS
            .iter()
            .map(|s| json!({"segment": s, "question": "Q1", "text": answer(&code, s, n)}))
            .collect();
        let sent = client
            .put(&url)
            .header("x-csrf-token", &csrf)
            .json(&json!({ "answers": answers }))
            .timeout(timeout)
            .send()
            .await;
        let Ok(r) = sent else {
            // Connection refused or cut: the server is down; not acknowledged.
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let status = r.status().as_u16();
        let retry_after = r.headers().contains_key("retry-after");
        // A body cut off by the kill is no acknowledgement either.
        let Ok(bytes) = r.bytes().await else { continue };
        if status == 200 {
            let mut l = ledger.lock().unwrap();
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(v) if v["saved"] == 2 && v["saved_at"].is_string() => {
                    l.acked = n;
                    l.acks += 1;
                }
                _ => l
                    .bad_bodies
                    .push(String::from_utf8_lossy(&bytes).chars().take(200).collect()),
            }
        } else {
            ledger.lock().unwrap().statuses.push((status, retry_after));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

struct Crowd {
    ledgers: Vec<Arc<Mutex<Ledger>>>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Crowd {
    /// Invites `PARTICIPANTS` participants, consents and starts their autosave loops.
    async fn start(base: &str, timeout: Duration) -> Crowd {
        let researcher = login(base, RESEARCHER).await;
        let codes: Vec<String> = (1..=PARTICIPANTS).map(|i| format!("K{i:02}")).collect();
        let tokens = invite(base, &researcher, &codes).await;
        let stop = Arc::new(AtomicBool::new(false));
        let mut ledgers = vec![];
        let mut tasks = vec![];
        for (code, token) in tokens {
            let (c, csrf) = participant(base, &token).await;
            let ledger = Arc::new(Mutex::new(Ledger {
                code,
                token,
                ..Ledger::default()
            }));
            ledgers.push(ledger.clone());
            tasks.push(tokio::spawn(autosave_loop(
                base.to_string(),
                c,
                csrf,
                ledger,
                stop.clone(),
                timeout,
            )));
        }
        Crowd {
            ledgers,
            stop,
            tasks,
        }
    }

    fn acks(&self) -> u64 {
        self.ledgers.iter().map(|l| l.lock().unwrap().acks).sum()
    }

    /// Waits until `more` further autosaves were acknowledged (at most `within`).
    async fn wait_acks(&self, more: u64, within: Duration, what: &str) {
        let target = self.acks() + more;
        let start = Instant::now();
        while self.acks() < target {
            assert!(
                start.elapsed() < within,
                "{what}: only {} of {target} autosaves acknowledged after {within:?}",
                self.acks()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn finish(self) -> Vec<Ledger> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.unwrap();
        }
        self.ledgers
            .iter()
            .map(|l| l.lock().unwrap().clone())
            .collect()
    }
}

/// Every acknowledged autosave is stored and intact; returns the totals.
async fn verify(base: &str, ledgers: &[Ledger]) -> (u64, u64) {
    let c = client();
    let (mut acks, mut sent) = (0, 0);
    for l in ledgers {
        assert!(
            l.bad_bodies.is_empty(),
            "{}: malformed 200 bodies {:?}",
            l.code,
            l.bad_bodies
        );
        let r = c
            .get(format!("{base}/api/v1/p/{}", l.token))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let v: Value = r.json().await.unwrap();
        for seg in KEYS {
            let stored = v["answers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["segment"] == seg && a["question"] == "Q1");
            let Some(stored) = stored else {
                assert_eq!(
                    l.acked, 0,
                    "{} {seg}: acknowledged v{} but nothing stored",
                    l.code, l.acked
                );
                continue;
            };
            let text = stored["answer"].as_str().unwrap();
            let n = parse_answer(&l.code, seg, text)
                .unwrap_or_else(|e| panic!("{} {seg}: corrupted answer: {e}", l.code));
            assert!(
                n >= l.acked && n <= l.sent,
                "{} {seg}: stored v{n}, but v{} was acknowledged and v{} was the last sent",
                l.code,
                l.acked,
                l.sent
            );
        }
        acks += l.acks;
        sent += l.sent;
    }
    (acks, sent)
}

db_test! {
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_autosave_survives_kill_9_of_the_server() {
    let mut rng = Rng(seed(0x5eed_c4a5_4001));
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("crash.rupturelab")).await;
    prepare(&db.location, &[]);
    let mut server = Server::start(&db.location, 0, dir.path()).await;
    let base = server.base();
    let crowd = Crowd::start(&base, Duration::from_secs(10)).await;
    const ROUNDS: usize = 5;
    for round in 1..=ROUNDS {
        // Some work acknowledged in this round, then a kill at a random moment.
        crowd
            .wait_acks(PARTICIPANTS as u64, Duration::from_secs(20), &format!("round {round}"))
            .await;
        tokio::time::sleep(Duration::from_millis(rng.range(0, 1500))).await;
        server.kill9();
        println!("round {round}: killed after {} acknowledged autosaves", crowd.acks());
        tokio::time::sleep(Duration::from_millis(rng.range(20, 400))).await;
        server.restart().await;
    }
    crowd
        .wait_acks(PARTICIPANTS as u64, Duration::from_secs(20), "after the last restart")
        .await;
    let ledgers = crowd.finish().await;
    let (acks, sent) = verify(&base, &ledgers).await;
    println!("{acks} acknowledged of {sent} autosaves sent over {ROUNDS} kills: all stored and intact");
    for l in &ledgers {
        assert!(
            l.statuses.iter().all(|(s, _)| *s < 500),
            "{}: server errors {:?}\n{}",
            l.code,
            l.statuses,
            server.log_text()
        );
    }
    assert!(server.terminate(), "a clean stop after the kills");
}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(rupturelab_test_pg),
    ignore = "RUPTURELAB_TEST_PG was not set when the tests were built; scripts/test sets it"
)]
async fn postgres_restarted_under_the_server_gives_503_then_reconnects_and_loses_nothing() {
    // A private cluster, since this test stops and starts it.
    let pg = PrivatePg::start();
    let dir = tempfile::tempdir().unwrap();
    prepare(&pg.url, &[]);
    let server = Server::start(&pg.url, 0, dir.path()).await;
    let base = server.base();
    // Requests may wait for the pool (10 s) before they fail: a long client timeout.
    let crowd = Crowd::start(&base, Duration::from_secs(30)).await;
    crowd
        .wait_acks(
            2 * PARTICIPANTS as u64,
            Duration::from_secs(20),
            "before the stop",
        )
        .await;
    pg.pg_stop_immediate();
    let down_at = Instant::now();
    // Down for longer than the pool waits for a connection, so requests fail.
    let unavailable = |crowd: &Crowd| -> usize {
        crowd
            .ledgers
            .iter()
            .map(|l| {
                l.lock()
                    .unwrap()
                    .statuses
                    .iter()
                    .filter(|(s, _)| *s == 503)
                    .count()
            })
            .sum()
    };
    while unavailable(&crowd) < PARTICIPANTS {
        assert!(
            down_at.elapsed() < Duration::from_secs(40),
            "no 503 answers while the database was down: {:?}\n{}",
            crowd.ledgers[0].lock().unwrap().statuses,
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "{} requests got 503 in {:?} of downtime",
        unavailable(&crowd),
        down_at.elapsed()
    );
    pg.pg_start();
    let up_at = Instant::now();
    crowd
        .wait_acks(
            2 * PARTICIPANTS as u64,
            Duration::from_secs(30),
            "after the database came back",
        )
        .await;
    println!(
        "autosaves acknowledged again {:?} after the database came back",
        up_at.elapsed()
    );
    let ledgers = crowd.finish().await;
    let (acks, sent) = verify(&base, &ledgers).await;
    println!("{acks} acknowledged of {sent} sent: all stored and intact");
    for l in &ledgers {
        for (s, retry_after) in &l.statuses {
            assert!(
                *s == 503 && *retry_after,
                "{}: while the database was down only 503 with Retry-After is right, got {s} (Retry-After: {retry_after})\n{}",
                l.code,
                server.log_text()
            );
        }
    }
}
