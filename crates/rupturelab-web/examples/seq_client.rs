//! Sequential write client for `bench/coding_vs_taguette.py` (issue 6): one
//! keep-alive HTTP/1.1 connection over a plain `TcpStream`, one request at a
//! time, so its own cost per request is a few microseconds and the same for
//! every server it measures. The benchmark signs in to each server itself
//! (RuptureLab: /login and the CSRF token; Taguette: its token URL and the
//! `_xsrf` cookie) and hands this client the session's headers and the jobs.
//!
//! seq_client 127.0.0.1:PORT JOBS_FILE --expect 201 [--header 'Name: value']…
//!
//! JOBS_FILE: one request per line, `METHOD<TAB>PATH<TAB>JSON BODY` (the
//! body may be empty). Prints one JSON line: requests, wall time, latency
//! median/p90/p99 in ms, and errors (answers other than `--expect`, with the
//! first one's status and body start).

#[path = "common/stats.rs"]
mod stats;
use stats::pct;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn open(addr: &str) -> std::io::Result<Conn> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        Ok(Conn {
            reader: BufReader::new(s.try_clone()?),
            writer: s,
        })
    }

    /// Sends one request and reads the whole answer: (status, body).
    fn call(&mut self, request: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
        self.writer.write_all(request)?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let (mut length, mut chunked) = (None, false);
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::Error::other("connection closed in the headers"));
            }
            let h = line.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((name, value)) = h.split_once(':') {
                let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
                if name == "content-length" {
                    length = value.parse::<usize>().ok();
                } else if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
                    chunked = true;
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line)?;
                let size =
                    usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                        .map_err(|_| std::io::Error::other(format!("bad chunk size {line:?}")))?;
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk)?;
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            self.reader.read_exact(&mut body)?;
        }
        Ok((status, body))
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!(
            "usage: seq_client HOST:PORT JOBS_FILE --expect STATUS [--header 'Name: value']…"
        );
        std::process::exit(2);
    }
    let (addr, jobs_file) = (&args[1], &args[2]);
    let mut expect = 200u16;
    let mut headers = format!("Host: {addr}\r\n");
    let mut i = 3;
    while i + 1 < args.len() {
        match args[i].as_str() {
            "--expect" => expect = args[i + 1].parse().expect("--expect: a status code"),
            "--header" => headers.push_str(&format!("{}\r\n", args[i + 1])),
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    let text = std::fs::read_to_string(jobs_file).expect("the jobs file");
    let requests: Vec<Vec<u8>> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut f = l.splitn(3, '\t');
            let (method, path, body) = (
                f.next().unwrap(),
                f.next().expect("a path"),
                f.next().unwrap_or(""),
            );
            let mut r = format!("{method} {path} HTTP/1.1\r\n{headers}");
            if !body.is_empty() {
                r.push_str(&format!(
                    "Content-Type: application/json\r\nContent-Length: {}\r\n",
                    body.len()
                ));
            }
            r.push_str("\r\n");
            r.push_str(body);
            r.into_bytes()
        })
        .collect();
    let mut conn = Conn::open(addr).expect("connect");
    let mut lat = Vec::with_capacity(requests.len());
    let (mut errors, mut first_error) = (0u64, None);
    let t0 = Instant::now();
    for r in &requests {
        let t = Instant::now();
        let (status, body) = conn.call(r).expect("a complete answer");
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        if status != expect {
            errors += 1;
            first_error.get_or_insert_with(|| {
                format!(
                    "{status}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(200)])
                )
            });
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    lat.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{}",
        serde_json::json!({
            "requests": requests.len(),
            "wall_s": wall,
            "median_ms": pct(&lat, 50.0),
            "p90_ms": pct(&lat, 90.0),
            "p99_ms": pct(&lat, 99.0),
            "errors": errors,
            "first_error": first_error,
        })
    );
}
