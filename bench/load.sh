#!/usr/bin/env bash
# Load benchmark of issue 8: 200 participants autosaving once a second (and
# loading a page every fifth second) plus 10 coders coding through the
# coding API, against a release build of `rupturelab serve` on 127.0.0.1 —
# on SQLite, then on PostgreSQL. Prints per-route throughput and p50/p99
# latency, errors and the server's RSS for each. Target: p99 < 50 ms.
#
#   bench/load.sh [PARTICIPANTS] [CODERS] [SECONDS] [sqlite|postgres|both]
#
# PostgreSQL: RUPTURELAB_BENCH_PG=postgres://… names an EMPTY database to use;
# otherwise a throwaway cluster is started in a temporary folder on a free
# port (as scripts/test does; as the postgres user when run as root), with
# PostgreSQL's default durability settings (fsync and synchronous_commit on).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-200}"
CODERS="${2:-10}"
SECS="${3:-30}"
WHICH="${4:-both}"
# RUPTURELAB_BIN / LOAD_MIX: use these binaries instead of building them.
[ -n "${RUPTURELAB_BIN:-}" ] || cargo build --release -q -p rupturelab --bin rupturelab
[ -n "${LOAD_MIX:-}" ] || cargo build --release -q -p rupturelab-web --example load_mix
BIN="${RUPTURELAB_BIN:-target/release/rupturelab}"
LOAD_MIX="${LOAD_MIX:-target/release/examples/load_mix}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rupturelab-load.XXXXXX")"
chmod 755 "$WORK"
SERVER=""
PG_BIN=""; AS_PG=()
cleanup() {
  if [ -n "$SERVER" ]; then kill -TERM "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  if [ -n "$PG_BIN" ]; then "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m immediate -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run() { # DB LABEL
  local db="$1" label="$2" port
  port="$(free_port)"
  env -u RUPTURELAB_DB "$BIN" demo --db "$db" >/dev/null
  echo "bench-password-1" | env -u RUPTURELAB_DB "$BIN" user add bench --role researcher --db "$db" >/dev/null
  for i in $(seq -f "%02g" 1 "$CODERS"); do
    echo "coder-password-1" | env -u RUPTURELAB_DB "$BIN" user add "coder$i" --role coder --db "$db" >/dev/null
  done
  RUST_LOG=warn env -u RUPTURELAB_DB "$BIN" serve --db "$db" --bind "127.0.0.1:$port" 2>"$WORK/server-$label.log" &
  SERVER=$!
  for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  echo
  echo "## $label (server pid $SERVER, RSS at start $(awk '/VmRSS/ {print int($2/1024)" MiB"}' /proc/$SERVER/status))"
  echo
  "$LOAD_MIX" "http://127.0.0.1:$port" bench bench-password-1 \
    --participants "$N" --coders "$CODERS" --coder-password coder-password-1 \
    --seconds "$SECS" --pid "$SERVER"
  kill -TERM "$SERVER"; wait "$SERVER" || true; SERVER=""
  if grep -q "ERROR\|panicked" "$WORK/server-$label.log"; then
    echo "server errors:"; grep -m 5 "ERROR\|panicked" "$WORK/server-$label.log"
  fi
}

if [ "$WHICH" = sqlite ] || [ "$WHICH" = both ]; then
  run "$WORK/load.rupturelab" sqlite
fi
if [ "$WHICH" = postgres ] || [ "$WHICH" = both ]; then
  PG_URL="${RUPTURELAB_BENCH_PG:-}"
  if [ -z "$PG_URL" ]; then
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -x "$PG_BIN/initdb" ] || { echo "bench/load.sh: no PostgreSQL under /usr/lib/postgresql" >&2; exit 1; }
    mkdir -p "$WORK/pg"; chmod 755 "$WORK/pg"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$WORK/pg"; AS_PG=(runuser -u postgres --); fi
    PG_PORT="$(free_port)"
    "${AS_PG[@]}" "$PG_BIN/initdb" -D "$WORK/pg/data" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >"$WORK/pg/initdb.log" 2>&1
    "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$WORK/pg" start >/dev/null
    "${AS_PG[@]}" "$PG_BIN/psql" -q -v ON_ERROR_STOP=1 -h "$WORK/pg" -p "$PG_PORT" -U postgres -d postgres \
      -c "CREATE ROLE rupturelab LOGIN PASSWORD 'bench-pg-password'" \
      -c "CREATE DATABASE rupturelab OWNER rupturelab"
    PG_URL="postgres://rupturelab:bench-pg-password@127.0.0.1:$PG_PORT/rupturelab"
  fi
  run "$PG_URL" postgresql
fi
