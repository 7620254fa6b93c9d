#!/usr/bin/env bash
# Benchmark of the interop paths the issue sets targets for (issue 4):
#   import of a generated 100,000-response CSV (10 attribute columns): < 3 s, < 300 MB
#   export of the same study to .qdpx: < 5 s
# Builds the release binary, generates the data (bench/gen_responses.py),
# and reports wall time and peak memory from /usr/bin/time -v.
# Usage: bench/interop.sh [PARTICIPANTS]   (default 10000 → 100,000 responses)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-10000}"
cargo build --release -q -p rupturelab
BIN="$PWD/target/release/rupturelab"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
python3 bench/gen_responses.py "$WORK" "$N"
"$BIN" import "$WORK/study" --db "$WORK/bench.db" >/dev/null

measure() { # label, command...
  local label="$1"; shift
  /usr/bin/time -v "$@" >"$WORK/out.txt" 2>"$WORK/time.txt" || { cat "$WORK/out.txt" "$WORK/time.txt"; exit 1; }
  local wall rss
  wall=$(grep "Elapsed (wall clock)" "$WORK/time.txt" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$WORK/time.txt" | awk '{print $NF}')
  printf '%-44s wall %8s   peak RSS %6d MB\n' "$label" "$wall" "$((rss / 1024))"
}

echo "responses: $((N * 10)) ($(du -h "$WORK/answers.csv" | cut -f1) CSV), 10 attribute columns"
measure "import-responses --dry-run (read + map only)" "$BIN" import-responses "$WORK/answers.csv" --db "$WORK/bench.db" --dry-run
measure "import-responses (CSV → database)" "$BIN" import-responses "$WORK/answers.csv" --db "$WORK/bench.db"
measure "participants list (loading the study only)" "$BIN" participants list --db "$WORK/bench.db"
measure "export-qdpx (database → .qdpx)" "$BIN" export-qdpx "$WORK/bench.qdpx" --db "$WORK/bench.db"
echo "qdpx size: $(du -h "$WORK/bench.qdpx" | cut -f1)"
measure "import-qdpx (.qdpx → new database)" "$BIN" import-qdpx "$WORK/bench.qdpx" --db "$WORK/back.db"
measure "export-table --out all.xlsx" "$BIN" export-table --out "$WORK/all.xlsx" --db "$WORK/bench.db"
