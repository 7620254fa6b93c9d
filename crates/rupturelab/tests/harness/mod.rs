//! Shared by the fault, concurrency and bad-input tests: a real
//! `rupturelab serve` child process on 127.0.0.1 (so it can be killed with
//! SIGKILL and restarted on the same port and database), a database
//! prepared through the command line (`demo`, `user add`), and HTTP helpers
//! that sign in, invite participants and consent the way a browser does.
#![allow(dead_code)]

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const RESEARCHER: (&str, &str) = ("ayse", "researcher-password-1");
pub const STUDY: &str = "rupture-study";

pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("rupturelab")
}

/// A free TCP port on the loopback interface (the server is restarted on it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs the command line on `db`; panics with its stderr unless it succeeds.
pub fn rl(args: &[&str], db: &str, stdin: Option<&str>) -> String {
    let mut c = Command::new(bin())
        .args(args)
        .args(["--db", db])
        .env_remove("RUPTURELAB_DB")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut input = c.stdin.take().unwrap();
        if let Some(s) = stdin {
            writeln!(input, "{s}").unwrap();
        }
    }
    let out = c.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "rupturelab {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The demo study, a researcher and the given coder accounts.
pub fn prepare(db: &str, coders: &[(&str, &str)]) {
    rl(&["demo"], db, None);
    rl(
        &["user", "add", RESEARCHER.0, "--role", "researcher"],
        db,
        Some(RESEARCHER.1),
    );
    for (name, pw) in coders {
        rl(&["user", "add", name, "--role", "coder"], db, Some(pw));
    }
}

/// A `rupturelab serve` child process; killed when dropped.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    db: String,
    log: PathBuf,
    starts: usize,
}

impl Server {
    /// Starts the server on `port` (0 = a free one) and waits until it answers.
    pub async fn start(db: &str, port: u16, logdir: &Path) -> Server {
        let port = if port == 0 { free_port() } else { port };
        let mut s = Server {
            child: None,
            port,
            db: db.to_string(),
            log: logdir.join(format!("server-{port}.log")),
            starts: 0,
        };
        s.restart().await;
        s
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// (Re)starts the process on the same port and database.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is still running");
        self.starts += 1;
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(bin())
            .args(["serve", "--bind", &format!("127.0.0.1:{}", self.port)])
            .args(["--db", &self.db])
            .env_remove("RUPTURELAB_DB")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        self.child = Some(child);
        let client = reqwest::Client::new();
        let start = Instant::now();
        loop {
            let ok = client
                .get(format!("{}/healthz", self.base()))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("the server exited ({status}) at start: {}", self.log_text());
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the server did not answer /healthz within 60 s: {}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no graceful shutdown, no chance to flush anything.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// SIGTERM and wait (graceful shutdown); returns whether it exited 0.
    pub fn terminate(&mut self) -> bool {
        let Some(mut c) = self.child.take() else {
            return true;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        c.wait().unwrap().success()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Resident set size of the server process in KiB (from /proc).
    pub fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The CSRF token of the first form in a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let i = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(html.get(i..i + 32)?.to_string())
}

pub async fn csrf(c: &reqwest::Client, url: &str) -> String {
    let body = c.get(url).send().await.unwrap().text().await.unwrap();
    csrf_in(&body).unwrap_or_else(|| panic!("no csrf field on {url}: {body}"))
}

/// A signed-in client and its CSRF token (for `X-CSRF-Token`).
pub async fn login(base: &str, who: (&str, &str)) -> (reqwest::Client, String) {
    let c = client();
    let token = csrf(&c, &format!("{base}/login")).await;
    let r = c
        .post(format!("{base}/login"))
        .form(&[
            ("csrf", token.as_str()),
            ("username", who.0),
            ("password", who.1),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "login of {} failed", who.0);
    // /coding is open to coders and researchers alike.
    let token = csrf(&c, &format!("{base}/coding")).await;
    (c, token)
}

/// Adds participants through the API and returns (code, invitation token).
pub async fn invite(
    base: &str,
    researcher: &(reqwest::Client, String),
    codes: &[String],
) -> Vec<(String, String)> {
    let (c, csrf) = researcher;
    let r = c
        .post(format!("{base}/api/v1/studies/{STUDY}/participants"))
        .header("x-csrf-token", csrf)
        .json(&serde_json::json!({"list": codes.join("\n"), "invite": true}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body.as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let link = l["link"].as_str().unwrap();
            (
                l["code"].as_str().unwrap().to_string(),
                link.rsplit('/').next().unwrap().to_string(),
            )
        })
        .collect()
}

/// A participant who opened their link and consented: their client and CSRF token.
pub async fn participant(base: &str, token: &str) -> (reqwest::Client, String) {
    let c = client();
    let csrf = csrf(&c, &format!("{base}/p/{token}/welcome")).await;
    let r = c
        .post(format!("{base}/p/{token}/consent"))
        .form(&[("csrf", csrf.as_str()), ("decision", "accept")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "consent of {token}");
    (c, csrf)
}

/// A small deterministic generator (xorshift64*), so a failing run can be
/// repeated with the seed it prints.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A number in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// The seed: `RUPTURELAB_FAULT_SEED` or a fixed default (printed either way).
pub fn seed(default: u64) -> u64 {
    let s = std::env::var("RUPTURELAB_FAULT_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    println!("seed {s} (set RUPTURELAB_FAULT_SEED to repeat another run)");
    s
}

/// FNV-1a, to tell a stored answer from a corrupted one.
pub fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A private PostgreSQL cluster in a temporary folder on a free port (as
/// `scripts/test` starts one), for tests that stop and start the database
/// server under a running `rupturelab serve` — never the shared test cluster.
pub struct PrivatePg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    /// postgres://rupturelab:…@127.0.0.1:PORT/rupturelab
    pub url: String,
}

impl PrivatePg {
    fn as_pg(&self, program: &str) -> Command {
        as_postgres(&self.bin.join(program))
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn start() -> PrivatePg {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL server programs under /usr/lib/postgresql (Debian's postgresql package; scripts/test installs it)")
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin"))
            .filter(|p| p.join("initdb").exists())
            .max_by_key(|p| {
                p.parent()
                    .and_then(|v| v.file_name())
                    .and_then(|v| v.to_str())
                    .and_then(|v| v.parse::<u32>().ok())
                    .unwrap_or(0)
            })
            .expect("no initdb under /usr/lib/postgresql/*/bin");
        let dir = tempfile::tempdir().unwrap();
        let _ = Command::new("chmod").arg("755").arg(dir.path()).status();
        if is_root() {
            let ok = Command::new("chown")
                .arg("postgres:")
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(ok.success(), "chown postgres: {}", dir.path().display());
        }
        let mut pg = PrivatePg {
            dir,
            bin,
            port: free_port(),
            url: String::new(),
        };
        let out = pg
            .as_pg("initdb")
            .arg("-D")
            .arg(pg.data())
            .args(["-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg.pg_start();
        let password = format!("faults-{}", std::process::id());
        let out = pg
            .as_pg("psql")
            .args(["-q", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(pg.dir.path())
            .args([
                "-p",
                &pg.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
            ])
            .args([
                "-c",
                &format!("CREATE ROLE rupturelab LOGIN PASSWORD '{password}'"),
            ])
            .args(["-c", "CREATE DATABASE rupturelab OWNER rupturelab"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = format!(
            "postgres://rupturelab:{password}@127.0.0.1:{}/rupturelab",
            pg.port
        );
        pg.url = url;
        pg
    }

    /// Starts the cluster (again) and waits until it accepts connections.
    pub fn pg_start(&self) {
        let out = self
            .as_pg("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .args(["-w", "-t", "60", "-o"])
            .arg(format!(
                "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={}",
                self.port,
                self.dir.path().display()
            ))
            .arg("start")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {} {}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
        );
    }

    /// Stops the cluster like a crash (`-m immediate`: no checkpoint, every
    /// connection cut; recovery replays the WAL at the next start).
    pub fn pg_stop_immediate(&self) {
        let out = self
            .as_pg("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = self
            .as_pg("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// PostgreSQL refuses to run as root: run its programs as `postgres` then.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}
