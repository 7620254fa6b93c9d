#!/usr/bin/env bash
# API fuzzing (issue 8): schemathesis (from PyPI, in a throwaway venv)
# against /api/v1/openapi.json of a local `rupturelab serve` holding the demo
# study, authenticated with a researcher's API token. Checks: no 5xx, and
# every response conforms to the schema (status codes, content types,
# bodies). Exits non-zero on any finding. The server is started with
# --token-attempts raised, since schemathesis tries many unknown participant
# links and tokens (which otherwise lock its address out with 429).
#
#   scripts/schemathesis.sh [MAX_EXAMPLES]        (default 50 per operation)
#
# Environment: RUPTURELAB_BIN (default: a debug build, built here),
# SCHEMATHESIS_VERSION (default pinned below), RUPTURELAB_DB (a PostgreSQL
# URL of an EMPTY database to fuzz that backend; default: a temporary SQLite file).
set -euo pipefail
cd "$(dirname "$0")/.."
MAX_EXAMPLES="${1:-50}"
ST_VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"

if [ -z "${RUPTURELAB_BIN:-}" ]; then
  cargo build -q -p rupturelab --bin rupturelab
  RUPTURELAB_BIN=target/debug/rupturelab
fi
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rupturelab-st.XXXXXX")"
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill -TERM "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$ST_VERSION"

DB="${RUPTURELAB_DB:-$WORK/st.rupturelab}"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
PASSWORD="fuzz-password-$RANDOM$RANDOM"
env -u RUPTURELAB_DB "$RUPTURELAB_BIN" demo --db "$DB" >/dev/null
echo "$PASSWORD" | env -u RUPTURELAB_DB "$RUPTURELAB_BIN" user add fuzz --role researcher --db "$DB" >/dev/null
RUST_LOG=warn env -u RUPTURELAB_DB "$RUPTURELAB_BIN" serve --db "$DB" --bind "127.0.0.1:$PORT" --token-attempts 1000000 2>"$WORK/server.log" &
SERVER=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 100); do
  curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

# Sign in and create an API token on the Account page.
JAR="$WORK/cookies"
csrf() { sed -n 's/.*name="csrf" value="\([0-9a-f]\{32\}\)".*/\1/p' | head -n 1; }
TOKEN_CSRF=$(curl -fsS -c "$JAR" -b "$JAR" "$BASE/login" | csrf)
curl -fsS -o /dev/null -c "$JAR" -b "$JAR" --data-urlencode "csrf=$TOKEN_CSRF" \
  --data-urlencode "username=fuzz" --data-urlencode "password=$PASSWORD" "$BASE/login"
TOKEN_CSRF=$(curl -fsS -c "$JAR" -b "$JAR" "$BASE/account" | csrf)
API_TOKEN=$(curl -fsS -c "$JAR" -b "$JAR" --data-urlencode "csrf=$TOKEN_CSRF" "$BASE/account/token" \
  | sed -n 's/.*<code id="api-token">\([^<]*\)<.*/\1/p')
[ -n "$API_TOKEN" ] || { echo "schemathesis.sh: could not create an API token" >&2; exit 1; }

echo "schemathesis $ST_VERSION against $BASE/api/v1/openapi.json ($MAX_EXAMPLES examples per operation)"
set +e
# (Run in the temporary folder: schemathesis writes its cache into the current one.)
cd "$WORK"
"$WORK/venv/bin/schemathesis" run "$BASE/api/v1/openapi.json" \
  --url "$BASE/api/v1" \
  -H "Authorization: Bearer $API_TOKEN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --max-examples "$MAX_EXAMPLES" \
  --seed 1 \
  --no-color \
  --suppress-health-check all
STATUS=$?
set -e
if grep -q "panicked" "$WORK/server.log"; then
  echo "schemathesis.sh: the server panicked:" >&2
  grep -A5 "panicked" "$WORK/server.log" >&2
  STATUS=1
fi
exit "$STATUS"
