//! `rupturelab serve` and `rupturelab user add` as a user runs them: the
//! first start without a researcher says how to create one, the server
//! answers, and SIGTERM stops it cleanly (exit 0, database closed).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("rupturelab")
}

fn http_get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serve_prints_a_one_time_setup_link_serves_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.rupturelab");
    let mut child = Command::new(bin())
        .args(["serve", "--demo", "--bind", "127.0.0.1:0", "--db"])
        .arg(&db)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let (mut addr, mut link, mut seen) = (String::new(), String::new(), String::new());
    let start = Instant::now();
    while (link.is_empty() || addr.is_empty() || !seen.contains("user add"))
        && start.elapsed() < Duration::from_secs(60)
    {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
        if let Some(rest) = line.split("at http://").nth(1) {
            addr = rest.split_whitespace().next().unwrap().to_string();
        }
        if let Some(rest) = line.trim().strip_prefix("http://") {
            if rest.contains("/setup/") {
                link = rest.split_once('/').unwrap().1.to_string();
            }
        }
    }
    assert!(
        seen.contains("one-time link")
            && seen.contains("rupturelab user add NAME --role researcher"),
        "no hint about creating a researcher in: {seen}"
    );
    assert!(!link.is_empty(), "no setup link in: {seen}");
    let page = http_get(&addr, &format!("/{link}"));
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("Create the first researcher account"));
    let page = http_get(&addr, "/login");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("There is no researcher account yet"));
    let page = http_get(&addr, "/healthz");
    assert!(page.ends_with("ok"));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit {exit:?}: {rest}");
    assert!(rest.contains("closed cleanly"), "{rest}");
    // Request logs name the route, never a participant token or query.
    assert!(
        rest.contains("route=/login") || seen.contains("route=/login"),
        "{rest}"
    );
}

#[test]
fn user_add_reads_the_password_from_stdin_and_refuses_duplicates_and_short_ones() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("u.rupturelab");
    let add = |name: &str, pw: &str| {
        let mut c = Command::new(bin())
            .args(["user", "add", name, "--role", "coder", "--db"])
            .arg(&db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(c.stdin.take().unwrap(), "{pw}").unwrap();
        c.wait_with_output().unwrap()
    };
    let out = add("deniz", "a sufficiently long one");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("deniz (coder)"));
    let out = add("deniz", "a sufficiently long one");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = add("ece", "short");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 10 characters"));
}
