#!/usr/bin/env bash
# Web benchmark of issue 5: 50 simulated participants autosaving every second
# plus page loads, on SQLite, against a release build of `rupturelab serve`
# on 127.0.0.1. Prints requests/s and p50/p90/p99 latency for autosave and
# page loads, and the server's RSS. Target: p99 < 25 ms, RSS < 100 MB.
#
#   bench/web-load.sh [PARTICIPANTS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-50}"
SECONDS_="${2:-30}"
cargo build --release -q -p rupturelab --bin rupturelab
cargo build --release -q -p rupturelab-web --example loadgen
BIN=target/release/rupturelab
WORK="$(mktemp -d)"
DB="$WORK/bench.rupturelab"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$BIN" demo --db "$DB" >/dev/null
echo "bench-password-1" | "$BIN" user add bench --role researcher --db "$DB" >/dev/null
RUST_LOG=warn "$BIN" serve --db "$DB" --bind "127.0.0.1:$PORT" 2>"$WORK/server.log" &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
  sleep 0.1
done
echo "server pid $SERVER on 127.0.0.1:$PORT, RSS at start: $(awk '/VmRSS/ {print int($2/1024)" MiB"}' /proc/$SERVER/status)"
target/release/examples/loadgen "http://127.0.0.1:$PORT" bench bench-password-1 \
  --participants "$N" --seconds "$SECONDS_" --pid "$SERVER"
