#!/bin/bash
# Measures the coding screen's suggestion model: training time on the demo
# database (`rupturelab demo`, the bundled example study) through the real
# server, and the cached requests after it. Build first:
#   cargo build --release -p rupturelab && bench/suggest-timing.sh
# Prints the three request times, the first response's suggestions and the
# server's log line `trained the suggestion model … ms=…`.
set -e
BIN=${BIN:-$(cd "$(dirname "$0")/.." && pwd)/target/release/rupturelab}
D=${TMPDIR:-/tmp}/rupturelab-suggest-timing; rm -rf $D; mkdir -p $D; cd $D
$BIN demo > demo.out
DB=rupturelab-demo.rupturelab
echo "researcher-password-1" | $BIN user add ayse --role researcher --db $DB > /dev/null
PORT=18473
$BIN serve --db $DB --bind 127.0.0.1:$PORT 2> serve.log &
SPID=$!
trap 'kill $SPID 2>/dev/null || true' EXIT
sleep 2
J=$D/jar
CSRF=$(curl -s -c $J -b $J http://127.0.0.1:$PORT/login | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//;s/"//')
curl -s -o /dev/null -c $J -b $J -d "csrf=$CSRF&username=ayse&password=researcher-password-1" http://127.0.0.1:$PORT/login
CSRF=$(curl -s -c $J -b $J http://127.0.0.1:$PORT/coding | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//;s/"//')
[ -n "$CSRF" ] || CSRF=$(curl -s -c $J -b $J http://127.0.0.1:$PORT/coding/rupture-study/setup | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//;s/"//')
B=http://127.0.0.1:$PORT/api/v1/studies/rupture-study/coding
curl -s -b $J -X PUT -H "x-csrf-token: $CSRF" -H 'content-type: application/json' -d '{"blind": false}' $B/blind -w "blind %{http_code}\n"
ID=$(curl -s -b $J "$B/queue" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][8]["id"])')
for i in 1 2 3; do
  curl -s -b $J "$B/responses/$ID/suggestions" -o out$i.json -w "GET suggestions #$i: %{http_code} in %{time_total}s\n"
done
python3 -c "import json; d=json.load(open('out1.json')); print([ (s['code'], s['percent']) for s in d['suggestions']])"
kill $SPID
wait $SPID 2>/dev/null || true
grep "trained the suggestion model" serve.log
