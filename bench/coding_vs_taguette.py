#!/usr/bin/env python3
"""Benchmark: creating span codings over HTTP in RuptureLab and in Taguette 1.5.2.

In one run, on the same machine, both servers on 127.0.0.1:

* 2,000 span codings created one after another by one client (median and
  p90/p99 latency per request), then 2,000 more by 16 concurrent clients
  (separate processes, each with its own session and CSRF token): writes/s.
* RuptureLab only: the server time to render the coding screen's data for a
  response carrying 200 codings (GET /api/v1/.../coding/responses/{id}, the
  latency the server logs for that route), and the client-side time.

RuptureLab: a release build (`cargo build --release -p rupturelab`), the
bundled example study (`rupturelab demo`), coder accounts made with
`rupturelab user add`; each client signs in through /login and sends the
session's token in X-CSRF-Token.

Taguette 1.5.2 is installed from PyPI into a throwaway virtual environment
under /tmp and started in single-user mode through a wrapper that replaces
`Application.check_messages` with a no-op, so it never contacts
msg.taguette.org. Each client signs in with the single-user token, takes the
`_xsrf` cookie and sends it in X-XSRFToken. Its documents are HTML (no
Calibre needed); highlights carry one tag each, like a RuptureLab coding.

    python3 bench/coding_vs_taguette.py [--codings 2000] [--clients 16] [--keep] [--no-taguette]

If target/release/examples/seq_client exists (cargo build --release -p
rupturelab-web --example seq_client), a second sequential run of 2,000 more
codings per server goes through that one lean Rust client, the same for both
servers (one keep-alive connection, a few microseconds of client time per
request), with the session each Python client signed in: the ratio of server
latencies without the Python client's own ≈0.2 ms per request. Its floor, a
GET /healthz of RuptureLab, is reported beside it. Both ratios are reported.

If target/release/examples/coding_load exists (cargo build --release -p
rupturelab-web --example coding_load), the 16-client write phase is also run
by that Rust client (16 sessions in one process): far less client CPU per
request than 16 Python processes, so on a small machine it measures the
server rather than the clients. Both rows are reported.
"""
import argparse
import http.client
import json
import multiprocessing as mp
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import venv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "rupturelab")
LOAD = os.path.join(ROOT, "target", "release", "examples", "coding_load")
SEQ = os.path.join(ROOT, "target", "release", "examples", "seq_client")
TAGUETTE = "taguette==1.5.2"
PASSWORD = "bench-password-1"

TAGUETTE_WRAPPER = r'''
import sys
import taguette.web.base as base
base.Application.check_messages = lambda self: None   # no call to msg.taguette.org
from taguette.main import main
sys.argv = ["taguette"] + sys.argv[1:]
main()
'''


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, what, secs=60):
    t0 = time.time()
    while time.time() - t0 < secs:
        if proc.poll() is not None:
            sys.exit(f"{what} exited early with code {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{what} did not start on port {port}")


class Client:
    """A keep-alive HTTP/1.1 client with a cookie jar (one connection)."""

    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies = {}

    def request(self, method, path, body=None, headers=None):
        h = {"Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        h.update(headers or {})
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if attempt:
                    raise
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data

    def json(self, method, path, obj, headers=None):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        return self.request(method, path, json.dumps(obj).encode(), h)


# ---------------------------------------------------------------- RuptureLab

def rl_login(port, user):
    c = Client(port)
    s, _, body = c.request("GET", "/login")
    csrf = re.search(rb'name="csrf" value="([0-9a-f]{32})"', body).group(1).decode()
    form = urllib.parse.urlencode({"csrf": csrf, "username": user, "password": PASSWORD})
    s, h, _ = c.request("POST", "/login", form.encode(),
                        {"Content-Type": "application/x-www-form-urlencoded"})
    assert s == 303, f"login of {user}: {s}"
    s, _, body = c.request("GET", "/coding")
    c.csrf = re.search(rb'name="csrf" value="([0-9a-f]{32})"', body).group(1).decode()
    return c


def rl_jobs(port, n, offset):
    """n distinct (response id, code, start, end) span codings."""
    c = rl_login(port, "bench0")
    s, _, body = c.request("GET", "/api/v1/studies/rupture-study/coding/queue")
    items = json.loads(body)["items"]
    s, _, body = c.request("GET", f"/api/v1/studies/rupture-study/coding/responses/{items[0]['id']}")
    codes = [k["path"] for k in json.loads(body)["codebook"] if k["codable"]]
    jobs = []
    i = 0
    while len(jobs) < n:
        item = items[i % len(items)]
        k = i // len(items)
        code = codes[(k + offset) % len(codes)]
        start = (k // len(codes)) % 20
        jobs.append((item["id"], code, start, start + 5 + offset))
        i += 1
    return jobs


def rl_worker(args):
    port, user, jobs, barrier = args
    c = signed_in_or_abort(lambda: rl_login(port, user), barrier)
    lat = []
    for rid, code, a, b in jobs:
        t = time.perf_counter()
        s, _, body = c.json("POST", f"/api/v1/studies/rupture-study/coding/responses/{rid}/codings",
                            {"code": code, "start": a, "end": b}, {"X-CSRF-Token": c.csrf})
        lat.append(time.perf_counter() - t)
        if s != 201:
            raise SystemExit(f"RuptureLab answered {s}: {body[:200]!r}")
    return lat


# ------------------------------------------------------------------ Taguette

def tg_login(port, token):
    c = Client(port)
    s, _, _ = c.request("GET", f"/?token={token}")
    assert s in (302, 303), f"taguette token login: {s}"
    s, _, body = c.request("GET", "/project/new")
    assert s == 200, f"taguette /project/new: {s}"
    assert "_xsrf" in c.cookies, "no _xsrf cookie"
    c.xsrf = urllib.parse.unquote(c.cookies["_xsrf"])
    return c


def tg_setup(port, token, texts):
    c = tg_login(port, token)
    form = urllib.parse.urlencode({"name": "bench", "description": "", "_xsrf": c.xsrf})
    s, h, _ = c.request("POST", "/project/new", form.encode(),
                        {"Content-Type": "application/x-www-form-urlencoded"})
    assert s in (302, 303), f"taguette project: {s}"
    project = int(re.search(r"/project/(\d+)", h["location"]).group(1))
    docs = []
    for i, text in enumerate(texts):
        boundary = "----rupturelabbench%d" % i
        html = "<p>" + text.replace("&", "&amp;").replace("<", "&lt;") + "</p>"
        parts = []
        for name, value in [("name", f"doc{i}"), ("description", ""), ("text_direction", "LEFT_TO_RIGHT")]:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n')
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="doc{i}.html"\r\n'
                     f"Content-Type: text/html\r\n\r\n{html}\r\n--{boundary}--\r\n")
        s, _, body = c.request("POST", f"/api/project/{project}/document/new", "".join(parts).encode(),
                               {"Content-Type": f"multipart/form-data; boundary={boundary}",
                                "X-XSRFToken": c.xsrf})
        assert s == 200, f"taguette document: {s} {body[:200]!r}"
        docs.append(json.loads(body)["created"])
    tags = []
    for i in range(20):
        s, _, body = c.json("POST", f"/api/project/{project}/tag/new",
                            {"path": f"code{i}", "description": ""}, {"X-XSRFToken": c.xsrf})
        assert s == 200, f"taguette tag: {s} {body[:200]!r}"
        tags.append(json.loads(body)["id"])
    return project, docs, tags


def tg_worker(args):
    port, token, project, jobs, barrier = args
    c = signed_in_or_abort(lambda: tg_login(port, token), barrier)
    lat = []
    for doc, tag, a, b in jobs:
        t = time.perf_counter()
        s, _, body = c.json("POST", f"/api/project/{project}/document/{doc}/highlight/new",
                            {"start_offset": a, "end_offset": b, "tags": [tag]},
                            {"X-XSRFToken": c.xsrf})
        lat.append(time.perf_counter() - t)
        if s != 200:
            raise SystemExit(f"Taguette answered {s}: {body[:200]!r}")
    return lat


# ------------------------------------------------------------------- driver

def seq_client(port, lines, expect, client, headers):
    """The same lean Rust client for both servers: one keep-alive connection,
    one request at a time, the session's cookies and CSRF header given by the
    Python client that signed in. Returns its JSON summary."""
    with tempfile.NamedTemporaryFile("w", suffix=".jobs", delete=False) as f:
        f.write("\n".join(lines) + "\n")
    try:
        cmd = [SEQ, f"127.0.0.1:{port}", f.name, "--expect", str(expect)]
        if client.cookies:
            cmd += ["--header", "Cookie: " + "; ".join(f"{k}={v}" for k, v in client.cookies.items())]
        for k, v in headers.items():
            cmd += ["--header", f"{k}: {v}"]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    finally:
        os.unlink(f.name)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["errors"] == 0, res
    return res


def stats(lat):
    lat = sorted(lat)
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
    return statistics.median(lat) * 1000, pick(0.90), pick(0.99)


def signed_in_or_abort(login, barrier):
    """Signs a concurrent client in, then waits for the others. A client that
    cannot sign in breaks the barrier, so the run stops with its error
    instead of waiting for ever."""
    try:
        c = login()
    except BaseException:
        if barrier is not None:
            barrier.abort()
        raise
    if barrier is not None:
        barrier.wait(timeout=600)
    return c


def concurrent(worker, make_args, clients):
    ctx = mp.get_context("fork")
    barrier = ctx.Manager().Barrier(clients + 1)
    with ctx.Pool(clients) as pool:
        res = pool.map_async(worker, [make_args(i, barrier) for i in range(clients)])
        try:
            barrier.wait(timeout=600)
        except Exception:
            res.get(timeout=60)  # the client's own error, if it has one
            raise
        t0 = time.perf_counter()
        lats = res.get()
        wall = time.perf_counter() - t0
    return wall, [x for l in lats for x in l]


def chunks(jobs, k):
    return [jobs[i::k] for i in range(k)]


def run_taguette(args, work, procs):
    """Taguette 1.5.2 on the same machine: (sequential, wall, concurrent, contacted)."""
    vdir = os.path.join("/tmp", "taguette-venv")
    if not os.path.exists(os.path.join(vdir, "bin", "taguette")):
        venv.create(vdir, with_pip=True)
        subprocess.run([os.path.join(vdir, "bin", "pip"), "install", "-q", TAGUETTE], check=True)
    wrapper = os.path.join(work, "taguette_offline.py")
    with open(wrapper, "w") as f:
        f.write(TAGUETTE_WRAPPER)
    tport = free_port()
    tlog_path = os.path.join(work, "taguette.log")
    tlog = open(tlog_path, "w")
    tg = subprocess.Popen([os.path.join(vdir, "bin", "python"), wrapper, "--no-browser",
                           "--database", os.path.join(work, "taguette.sqlite3"),
                           "-p", str(tport), "-b", "127.0.0.1"],
                          stdout=tlog, stderr=subprocess.STDOUT)
    procs.append(tg)
    wait_port(tport, tg, "taguette")
    token = None
    for _ in range(100):
        m = re.search(r"\?token=([0-9a-f]+)", open(tlog_path).read())
        if m:
            token = m.group(1)
            break
        time.sleep(0.1)
    assert token, "taguette printed no token"
    texts = [("The patient avoided the homework because facing her thoughts was frightening, "
              "and the therapist pushed on with the agenda. ") * 3] * 10
    project, docs, tags = tg_setup(tport, token, texts)

    def tg_jobs(n, offset):
        out = []
        for i in range(n):
            a = (i * 7 + offset * 3) % 300
            out.append((docs[i % len(docs)], tags[(i // len(docs) + offset) % len(tags)], a, a + 5 + offset))
        return out

    tg_seq = tg_worker((tport, token, project, tg_jobs(args.codings, 0), None))
    tg_lean = None
    if os.path.exists(SEQ):
        c = tg_login(tport, token)
        lines = [f"POST\t/api/project/{project}/document/{doc}/highlight/new\t"
                 + json.dumps({"start_offset": a, "end_offset": b, "tags": [tag]})
                 for doc, tag, a, b in tg_jobs(args.codings, 2)]
        tg_lean = seq_client(tport, lines, 200, c, {"X-XSRFToken": c.xsrf})
    tparts = chunks(tg_jobs(args.codings, 1), args.clients)
    tg_wall, tg_conc = concurrent(
        tg_worker, lambda i, b: (tport, token, project, tparts[i], b), args.clients)
    contacted = "msg.taguette.org" in open(tlog_path).read()
    tg.send_signal(signal.SIGINT)
    try:
        tg.wait(timeout=10)
    except subprocess.TimeoutExpired:
        tg.kill()

    return tg_seq, tg_wall, tg_conc, contacted, tg_lean


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--codings", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--no-taguette", action="store_true", help="measure RuptureLab only")
    args = ap.parse_args()
    if not os.path.exists(BIN):
        sys.exit("build first: cargo build --release -p rupturelab")
    work = tempfile.mkdtemp(prefix="coding-bench-")
    procs = []
    try:
        # ---- RuptureLab
        db = os.path.join(work, "bench.rupturelab")
        subprocess.run([BIN, "demo", "--db", db], check=True, capture_output=True)
        users = (["bench0"] + [f"bench{i + 1}" for i in range(args.clients)] + ["render"]
                 + [f"rust{i + 1}" for i in range(args.clients)] + ["lean"])
        for u in users:
            subprocess.run([BIN, "user", "add", u, "--role", "coder", "--db", db],
                           input=PASSWORD + "\n", text=True, check=True, capture_output=True)
        port = free_port()
        log = open(os.path.join(work, "rupturelab.log"), "w")
        env = dict(os.environ, RUST_LOG="warn")
        rl = subprocess.Popen([BIN, "serve", "--db", db, "--bind", f"127.0.0.1:{port}"],
                              stdout=log, stderr=log, env=env)
        procs.append(rl)
        wait_port(port, rl, "rupturelab serve")
        seq_jobs = rl_jobs(port, args.codings, 0)
        rl_seq = rl_worker((port, "bench0", seq_jobs, None))
        rl_lean = floor = None
        if os.path.exists(SEQ):
            c = rl_login(port, "lean")
            lines = [f"POST\t/api/v1/studies/rupture-study/coding/responses/{rid}/codings\t"
                     + json.dumps({"code": code, "start": a, "end": b})
                     for rid, code, a, b in rl_jobs(port, args.codings, 3)]
            rl_lean = seq_client(port, lines, 201, c, {"X-CSRF-Token": c.csrf})
            # The client and loopback alone: a route that does nothing.
            floor = seq_client(port, ["GET\t/healthz\t"] * args.codings, 200, c, {})
        conc_jobs = rl_jobs(port, args.codings, 1)
        parts = chunks(conc_jobs, args.clients)
        rl_wall, rl_conc = concurrent(
            rl_worker, lambda i, b: (port, f"bench{i + 1}", parts[i], b), args.clients)
        rust = None
        if os.path.exists(LOAD):
            out = subprocess.run([LOAD, f"http://127.0.0.1:{port}", PASSWORD,
                                  ",".join(f"rust{i + 1}" for i in range(args.clients)),
                                  "--codings", str(args.codings), "--offset", "2"],
                                 check=True, capture_output=True, text=True)
            rust = json.loads(out.stdout.strip().splitlines()[-1])
            assert rust["errors"] == 0, rust
        rl.send_signal(signal.SIGTERM)
        rl.wait()

        # The coding screen of a response with 200 codings: restart with
        # request logs on and read the latency the server logs for the route.
        log2path = os.path.join(work, "rupturelab-render.log")
        log2 = open(log2path, "w")
        env = dict(os.environ, RUST_LOG="warn,tower_http=info,rupturelab_web=info", NO_COLOR="1")
        rl = subprocess.Popen([BIN, "serve", "--db", db, "--bind", f"127.0.0.1:{port}"],
                              stdout=log2, stderr=log2, env=env)
        procs.append(rl)
        wait_port(port, rl, "rupturelab serve (render)")
        c = rl_login(port, "render")
        s, _, body = c.request("GET", "/api/v1/studies/rupture-study/coding/queue")
        rid = json.loads(body)["items"][-1]["id"]
        s, _, body = c.request("GET", f"/api/v1/studies/rupture-study/coding/responses/{rid}")
        resp = json.loads(body)
        codes = [k["path"] for k in resp["codebook"] if k["codable"]]
        n = 0
        for code in codes:
            for a in range(0, max(1, resp["length"] - 10)):
                if n == 200:
                    break
                s, _, b = c.json("POST", f"/api/v1/studies/rupture-study/coding/responses/{rid}/codings",
                                 {"code": code, "start": a, "end": a + 10}, {"X-CSRF-Token": c.csrf})
                assert s == 201, b
                n += 1
        client_ms = []
        for _ in range(50):
            t = time.perf_counter()
            s, _, b = c.request("GET", f"/api/v1/studies/rupture-study/coding/responses/{rid}")
            client_ms.append((time.perf_counter() - t) * 1000)
            assert s == 200 and len(json.loads(b)["codings"]) == 200
        rl.send_signal(signal.SIGTERM)
        rl.wait()
        log2.close()
        server_us = []
        for line in open(log2path):
            if "coding/responses/{id}" in line and "GET" in line and "latency=" in line:
                m = re.search(r"latency=(\d+) (\S+)", line)
                if m:
                    v = int(m.group(1))
                    server_us.append(v * 1000 if m.group(2) == "ms" else v)
        server_us = server_us[-50:]

        # ---- Taguette
        tg = None if args.no_taguette else run_taguette(args, work, procs)

        # ---- report
        rs = stats(rl_seq)
        print(f"\n{args.codings} span codings over HTTP, 127.0.0.1, {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f}\n")
        print(f"| tool | sequential median / p90 / p99 | {args.clients} clients: wall, writes/s, median / p99 |")
        print("|---|---|---|")
        rows = [("RuptureLab (SQLite), Python clients", rs, rl_wall, rl_conc)]
        if tg:
            rows.append(("Taguette 1.5.2 (SQLite)", stats(tg[0]), tg[1], tg[2]))
        for name, s, wall, conc in rows:
            cs = stats(conc)
            print(f"| {name} | {s[0]:.2f} / {s[1]:.2f} / {s[2]:.2f} ms | {wall:.2f} s, "
                  f"{len(conc) / wall:,.0f}/s, {cs[0]:.2f} / {cs[2]:.2f} ms |")
        if rust:
            print(f"| RuptureLab (SQLite), Rust client | | {rust['wall_s']:.2f} s, "
                  f"{rust['writes_per_s']:,.0f}/s, {rust['median_ms']:.2f} / {rust['p99_ms']:.2f} ms |")
        if tg:
            print(f"\nsequential median ratio, Python client: Taguette / RuptureLab = "
                  f"{stats(tg[0])[0] / rs[0]:.1f}x (target >= 20x)")
        if rl_lean:
            print(f"\nsame lean Rust client (examples/seq_client) for both, sequential median / p90 / p99:")
            print(f"  RuptureLab {rl_lean['median_ms']:.3f} / {rl_lean['p90_ms']:.3f} / {rl_lean['p99_ms']:.3f} ms"
                  f" (client + loopback alone, GET /healthz: {floor['median_ms']:.3f} ms)")
            if tg and tg[4]:
                tl = tg[4]
                print(f"  Taguette   {tl['median_ms']:.3f} / {tl['p90_ms']:.3f} / {tl['p99_ms']:.3f} ms")
                print(f"  sequential median ratio: Taguette / RuptureLab = "
                      f"{tl['median_ms'] / rl_lean['median_ms']:.1f}x (target >= 20x)")
        print(f"{args.clients}-client throughput: RuptureLab {len(rl_conc) / rl_wall:,.0f} writes/s with Python "
              f"clients" + (f", {rust['writes_per_s']:,.0f} writes/s with the Rust client" if rust else "")
              + " (target >= 2,000)" + (f"; Taguette {len(tg[2]) / tg[1]:,.0f} writes/s" if tg else ""))
        if server_us:
            print(f"coding screen data of a response with 200 codings: server time median "
                  f"{statistics.median(server_us) / 1000:.2f} ms, max {max(server_us) / 1000:.2f} ms "
                  f"({len(server_us)} requests; target < 50 ms); client-side median "
                  f"{statistics.median(client_ms):.2f} ms")
        else:
            print(f"coding screen data of a response with 200 codings: client-side median "
                  f"{statistics.median(client_ms):.2f} ms (no server latency lines found)")
        if tg:
            print(f"Taguette contacted msg.taguette.org: {'yes' if tg[3] else 'no'}")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
